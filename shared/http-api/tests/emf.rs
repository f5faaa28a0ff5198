//! The Lambda backend's output against the CloudWatch Embedded Metric Format specification
//! (docs.aws.amazon.com, "Specification: Embedded metric format"): each line is a JSON
//! object whose `_aws` has a millisecond `Timestamp` and `CloudWatchMetrics` directives
//! (`Namespace`, `Dimensions` as arrays of at most 30 names, `Metrics` of at most 100
//! `{Name, Unit}`), every dimension a string member of the root and every metric a number or
//! an array of at most 100 numbers there. Its own binary: the recorder is process-global.

use std::time::Duration;

use http_api::telemetry::{self, NAMESPACE, Telemetry};
use serde_json::Value;

const UNITS: &[&str] = &[
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
    "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
];

fn check_document(doc: &Value) -> Result<(), String> {
    let aws = doc.get("_aws").ok_or("no _aws")?;
    let ts = aws.get("Timestamp").and_then(Value::as_u64).ok_or("Timestamp is not an integer")?;
    if ts < 1_600_000_000_000 {
        return Err(format!("Timestamp {ts} is not in milliseconds"));
    }
    let directives = aws.get("CloudWatchMetrics").and_then(Value::as_array).ok_or("CloudWatchMetrics is not an array")?;
    if directives.is_empty() {
        return Err("no metric directive".into());
    }
    for d in directives {
        if d.get("Namespace").and_then(Value::as_str).is_none_or(|n| n.is_empty() || n.len() > 255) {
            return Err("Namespace".into());
        }
        for set in d.get("Dimensions").and_then(Value::as_array).ok_or("Dimensions is not an array")? {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("more than 30 dimensions".into());
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                if !doc.get(name).is_some_and(Value::is_string) {
                    return Err(format!("dimension {name} has no string value at the root"));
                }
            }
        }
        let metrics = d.get("Metrics").and_then(Value::as_array).ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics".into());
        }
        for m in metrics {
            let name = m.get("Name").and_then(Value::as_str).ok_or("a metric without Name")?;
            if let Some(unit) = m.get("Unit") {
                let unit = unit.as_str().ok_or("Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("{name}: unit {unit} is not a CloudWatch unit"));
                }
            }
            match doc.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values)) if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                other => return Err(format!("{name}: value {other:?} is not a number or up to 100 numbers")),
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn emf_lines_follow_the_specification_and_carry_the_function_dimension() {
    let vars = [("STORE_METRICS", "emf")];
    let telemetry = Telemetry::from_lookup("create-product", |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
        .await
        .expect("the EMF backend");
    let Telemetry::Emf(collector) = telemetry else { panic!("not the EMF backend") };
    telemetry::cold_start(Duration::from_millis(42));
    telemetry::request_answered("POST /products", 201, Duration::from_millis(12));
    telemetry::request_answered("POST /products", 201, Duration::from_millis(30));
    telemetry::request_answered("GET /products", 503, Duration::from_millis(5));
    store::telemetry::db_error("timeout");

    let mut out = Vec::new();
    collector.flush(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let docs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(!docs.is_empty(), "nothing flushed");
    let mut seen = std::collections::BTreeMap::new();
    for doc in &docs {
        check_document(doc).unwrap_or_else(|e| panic!("not EMF: {e}\n{doc}"));
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(doc["function"], "create-product");
        assert!(directive["Dimensions"][0].as_array().unwrap().contains(&Value::from("function")));
        for m in directive["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            let key = format!("{name} {} {}", doc.get("route").and_then(Value::as_str).unwrap_or("-"), doc.get("status").and_then(Value::as_str).unwrap_or("-"));
            seen.insert(key, (doc[name].clone(), m.get("Unit").cloned()));
        }
    }
    assert_eq!(seen["http_requests_total POST /products 201"].0, 2);
    assert_eq!(seen["http_requests_total GET /products 503"].0, 1);
    let latencies = &seen["http_request_duration_seconds POST /products -"];
    assert_eq!(latencies.0.as_array().map(Vec::len), Some(2), "{latencies:?}");
    assert_eq!(latencies.1, Some(Value::from("Seconds")));
    assert_eq!(seen["cold_starts_total - -"].0, 1);
    assert!(docs.iter().any(|d| d["kind"] == "timeout" && d["db_errors_total"] == 1));

    // Flushed per invocation: counters start again from zero.
    let mut again = Vec::new();
    collector.flush(&mut again).unwrap();
    assert!(!String::from_utf8(again).unwrap().contains("http_requests_total"), "a flush repeats the counts");
}
