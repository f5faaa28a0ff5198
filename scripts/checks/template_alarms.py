"""The alarms and the dashboard of template.yaml, read after the SAM transform (the JSON that
sam_transformed.py writes): the API's 5xx rate and p99 latency on the HTTP API's own metrics,
Keyspaces throttling and system errors on the stack's keyspace, each notifying only the
topics it was given, and a dashboard whose body is valid JSON once CloudFormation substitutes
it, shows every alarm, and names only metrics that exist: AWS's (as documented for HTTP APIs,
Keyspaces and Lambda) and the functions' own EMF metrics (namespace StoreManager).
Usage: template_alarms.py TRANSFORMED.json"""
import json
import re
import sys

# The metrics each namespace publishes that this template may name (AWS's documentation:
# HTTP API metrics, Amazon Keyspaces metrics, Lambda function metrics), and the functions' EMF.
KNOWN = {
    "AWS/ApiGateway": {"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"},
    "AWS/Cassandra": {"ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors", "UserErrors",
                      "ConditionalCheckFailedRequests", "SuccessfulRequestLatency", "SuccessfulRequestCount",
                      "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReturnedItemCount",
                      "StoragePartitionThroughputCapacityExceeded", "PerConnectionRequestRateExceeded",
                      "BillableTableSizeInBytes"},
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
    "StoreManager": {"http_requests_total", "http_request_duration_seconds", "db_errors_total",
                     "sku_conflicts_total", "idempotent_replays_total", "cold_starts_total",
                     "init_duration_seconds", "db_connect_duration_seconds"},
}

with open(sys.argv[1]) as f:
    template = json.load(f)
resources = template["Resources"]
parameters = template["Parameters"]
conditions = template.get("Conditions", {})
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def of_type(kind):
    return {n: r for n, r in resources.items() if r["Type"] == kind}


def resolve(value, true_conditions):
    """The value with Fn::If resolved for the given set of true conditions, AWS::NoValue
    dropped (from lists, or as the whole value: None)."""
    if isinstance(value, dict):
        if "Fn::If" in value:
            name, yes, no = value["Fn::If"]
            return resolve(yes if name in true_conditions else no, true_conditions)
        if value == {"Ref": "AWS::NoValue"}:
            return None
        return {k: resolve(v, true_conditions) for k, v in value.items()}
    if isinstance(value, list):
        items = [resolve(v, true_conditions) for v in value]
        return [v for v in items if v is not None]
    return value


def metric_queries(alarm):
    """(namespace, metric name, dimensions, statistic) of every metric an alarm reads, and its
    expressions."""
    props = alarm["Properties"]
    metrics, expressions = [], []
    if "MetricName" in props:
        metrics.append((props["Namespace"], props["MetricName"], props.get("Dimensions", []),
                        props.get("ExtendedStatistic") or props.get("Statistic")))
    for m in props.get("Metrics", []):
        if "MetricStat" in m:
            stat = m["MetricStat"]
            metrics.append((stat["Metric"]["Namespace"], stat["Metric"]["MetricName"],
                            stat["Metric"].get("Dimensions", []), stat["Stat"]))
        if "Expression" in m:
            expressions.append(m["Expression"])
    return metrics, expressions


def sub_text(value):
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return value if isinstance(value, str) else ""


def insights(expression):
    """(metric, namespace, keyspace filter) of a Metrics Insights query, or None."""
    m = re.fullmatch(r"SELECT (?:SUM|AVG|MAX|MIN|COUNT)\((\w+)\) FROM \"([\w/]+)\"(?: WHERE Keyspace = '([^']*)')?",
                     expression.strip())
    return m.groups() if m else None


api_ref = {"Ref": "ProductsApi"}
check(resources.get("ProductsApi", {}).get("Type") == "AWS::ApiGatewayV2::Api", "ProductsApi is the HTTP API")
alarms = of_type("AWS::CloudWatch::Alarm")
found = {}
for name, alarm in alarms.items():
    props = alarm["Properties"]
    metrics, expressions = metric_queries(alarm)
    check(metrics or expressions, f"{name} reads no metric")
    for namespace, metric, dimensions, stat in metrics:
        check(metric in KNOWN.get(namespace, set()), f"{name}: {namespace} has no metric {metric}")
        if namespace == "AWS/ApiGateway":
            check(dimensions == [{"Name": "ApiId", "Value": api_ref}], f"{name}: {metric} of the HTTP API, by ApiId")
        found.setdefault((namespace, metric), []).append((name, stat))
    for expression in expressions:
        text = sub_text(expression)
        query = insights(text)
        if query:
            metric, namespace, keyspace = query
            check(metric in KNOWN.get(namespace, set()), f"{name}: {namespace} has no metric {metric}")
            check(keyspace == "${Keyspace}", f"{name}: the query is limited to the stack's keyspace")
            found.setdefault((namespace, metric), []).append((name, "Sum"))
    # A threshold the deployer sets, or a number.
    threshold = props.get("Threshold")
    check(isinstance(threshold, (int, float)) or (isinstance(threshold, dict) and threshold.get("Ref") in parameters),
          f"{name}: threshold is a number or a parameter")
    check(props.get("TreatMissingData") == "notBreaching", f"{name}: no traffic is no alarm")

    # Actions: none when neither AlarmEmail nor AlarmTopicArn is given; the stack's topic with
    # the e-mail; the given topic with the ARN.
    for key in ("AlarmActions", "OKActions"):
        actions = props.get(key)
        check(actions is not None, f"{name}: {key} follow the alarm parameters")
        check(resolve(actions, set()) in (None, []), f"{name}: {key} notify no one when no e-mail or topic is given")
        check(resolve(actions, {"HasAlarmEmail"}) == [{"Ref": "AlarmTopic"}], f"{name}: {key} notify the e-mail's topic")
        check(resolve(actions, {"HasAlarmTopicArn"}) == [{"Ref": "AlarmTopicArn"}], f"{name}: {key} notify the given topic")
        check(resolve(actions, {"HasAlarmEmail", "HasAlarmTopicArn"}) == [{"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}],
              f"{name}: {key} notify both")

# What the issue asks for.
five_xx = [n for n, _ in found.get(("AWS/ApiGateway", "5xx"), [])]
count = [n for n, _ in found.get(("AWS/ApiGateway", "Count"), [])]
rate_alarms = [n for n in five_xx if n in count and any("/" in sub_text(e) for e in metric_queries(alarms[n])[1])]
check(rate_alarms, "an alarm on the API's 5xx rate (metric math 5xx / Count)")
check(any(stat == "p99" for _, stat in found.get(("AWS/ApiGateway", "Latency"), [])), "an alarm on the API's p99 latency")
check(("AWS/Cassandra", "ReadThrottleEvents") in found and ("AWS/Cassandra", "WriteThrottleEvents") in found,
      "alarms on Keyspaces read and write throttling")
check(("AWS/Cassandra", "SystemErrors") in found, "an alarm on Keyspaces system errors")

for param in ("AlarmEmail", "AlarmTopicArn"):
    check(parameters.get(param, {}).get("Default") == "", f"parameter {param}, empty by default")
topic = resources.get("AlarmTopic", {})
check(topic.get("Type") == "AWS::SNS::Topic" and topic.get("Condition") == "HasAlarmEmail",
      "the alarm topic exists only with an AlarmEmail")
check(conditions.get("HasAlarmEmail") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
      "HasAlarmEmail: an e-mail was given")
check(conditions.get("HasAlarmTopicArn") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]},
      "HasAlarmTopicArn: a topic was given")

# The dashboard: substitute as CloudFormation would (placeholders), then read its widgets.
dashboards = of_type("AWS::CloudWatch::Dashboard")
check(len(dashboards) == 1, f"one CloudWatch dashboard, got {len(dashboards)}")
shown = set()
for name, dashboard in dashboards.items():
    body = dashboard["Properties"]["DashboardBody"]
    check(isinstance(body, dict) and "Fn::Sub" in body, f"{name}: body is an Fn::Sub")
    sub = body["Fn::Sub"]
    text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
    placeholders = {}

    def placeholder(match):
        key = match.group(1)
        if key in variables:
            return str(variables[key])
        if key.endswith(".Arn"):
            check(key[:-4] in alarms, f"{name}: ${{{key}}} is one of the alarms")
            placeholders.setdefault("alarms", set()).add(key[:-4])
            return f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{key[:-4]}"
        if key.startswith("AWS::"):
            return "eu-west-1"
        if key in parameters:
            return str(parameters[key].get("Default", "1")) or "1"
        check(key in resources, f"{name}: ${{{key}}} names no resource or parameter")
        return f"{key}-id"

    rendered = re.sub(r"\$\{([^}!]+)\}", placeholder, text)
    try:
        widgets = json.loads(rendered)["widgets"]
    except (ValueError, KeyError) as error:
        failures.append(f"{name}: the body is not dashboard JSON once substituted: {error}")
        widgets = []
    check(placeholders.get("alarms", set()) == set(alarms), f"{name} shows every alarm")
    check("StoreManager" in variables.values(), f"{name}: the functions' EMF namespace is StoreManager")
    for widget in widgets:
        if widget.get("type") != "metric":
            continue
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], dict):
                expression = row[0].get("expression", "")
                search = re.fullmatch(r"SEARCH\('Namespace=\"([\w/]+)\" MetricName=\"(\w+)\"', '(\w+)', (\d+)\)", expression)
                query = insights(expression)
                if search:
                    namespace, metric = search.group(1), search.group(2)
                elif query:
                    metric, namespace, _ = query
                else:
                    failures.append(f"{name}: unreadable expression {expression}")
                    continue
            else:
                namespace, metric = row[0], row[1]
                if namespace == "AWS/ApiGateway":
                    check(row[2:4] == ["ApiId", "ProductsApi-id"], f"{name}: {metric} of the HTTP API, by ApiId")
            check(metric in KNOWN.get(namespace, set()), f"{name}: {namespace} has no metric {metric}")
            shown.add((namespace, metric))
for metric in ("http_requests_total", "http_request_duration_seconds", "db_errors_total", "sku_conflicts_total",
               "idempotent_replays_total", "cold_starts_total"):
    check(("StoreManager", metric) in shown, f"the dashboard shows the functions' {metric}")
for key in [("AWS/ApiGateway", "5xx"), ("AWS/ApiGateway", "Latency"), ("AWS/Cassandra", "ReadThrottleEvents"),
            ("AWS/Cassandra", "WriteThrottleEvents"), ("AWS/Cassandra", "SystemErrors")]:
    check(key in shown, f"the dashboard shows {key[0]} {key[1]}")

if failures:
    for failure in failures:
        print(f"alarm check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print(f"template.yaml: {len(alarms)} alarms (API 5xx rate and p99, Keyspaces throttling and errors), "
      f"a dashboard of {len(shown)} metrics, all of them real")
