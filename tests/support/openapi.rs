//! `openapi.yaml` as a checker: the status must be documented for the route, the content type
//! must match, and the body must validate against the documented schema (JSON Schema 2020-12,
//! as OpenAPI 3.1 uses, with `$ref`s resolved inside the document).

use std::sync::LazyLock;

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

use crate::app::TestResponse;

const DOC_URI: &str = "urn:store-manager:openapi";

pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("read openapi.yaml");
    serde_norway::from_str(&text).expect("openapi.yaml is YAML")
});

/// The documented response of `route`/`method`/`status`, following a `$ref` to components.
pub fn response_spec(route: &str, method: &str, status: u16) -> Option<Value> {
    let doc = &*DOCUMENT;
    let mut spec = doc["paths"][route][method]["responses"][status.to_string()].clone();
    if let Some(r) = spec.get("$ref").and_then(Value::as_str) {
        spec = resolve(r)?.clone();
    }
    spec.is_object().then_some(spec)
}

pub fn resolve(reference: &str) -> Option<&'static Value> {
    let pointer = reference.strip_prefix('#')?;
    DOCUMENT.pointer(pointer)
}

/// A validator for a schema that may `$ref` into the document.
pub fn validator(schema: &Value) -> Validator {
    let resource = Draft::Draft202012.create_resource(DOCUMENT.clone());
    let schema = rewrite_refs(schema);
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_resource(DOC_URI, resource)
        .build(&schema)
        .expect("a valid JSON Schema")
}

/// `#/components/...` inside a sub-schema means "in the document": make it absolute.
fn rewrite_refs(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("$ref", Value::String(r)) if r.starts_with('#') => (k.clone(), json!(format!("{DOC_URI}{r}"))),
                    _ => (k.clone(), rewrite_refs(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(rewrite_refs).collect()),
        other => other.clone(),
    }
}

/// Why `response` does not match the document, if it does not.
pub fn check(route: &str, method: &str, response: &TestResponse) -> Result<(), String> {
    let spec = response_spec(route, method, response.status)
        .ok_or_else(|| format!("{method} {route} answered {} which openapi.yaml does not list", response.status))?;
    let content_type = response.header("content-type").unwrap_or("");
    let media = &spec["content"][content_type];
    if !media.is_object() {
        return Err(format!("{method} {route} {}: content type {content_type:?} not documented", response.status));
    }
    for (name, header) in spec["headers"].as_object().into_iter().flatten() {
        if header["required"] == json!(true) && response.header(name).is_none() {
            return Err(format!("{method} {route} {}: header {name} missing", response.status));
        }
    }
    let v = validator(&media["schema"]);
    let errors: Vec<String> = v.iter_errors(&response.json).map(|e| format!("{e} at {}", e.instance_path)).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{method} {route} {} body {} does not match: {}", response.status, response.text, errors.join("; ")))
    }
}

pub fn assert_conforms(route: &str, method: &str, response: &TestResponse) {
    if let Err(e) = check(route, method, response) {
        panic!("OpenAPI conformance: {e}");
    }
}
