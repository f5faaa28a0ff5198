"""The first deploy needs no manual step for TTLs: every table the store writes USING TTL (read
from shared/store/src/statements.rs) is one the stack's TtlEnabled custom resource enables,
its function may alter exactly those tables, the API is not served before it has run, and
template.yaml does not pretend to enable TTL with DefaultTimeToLive (0 enables nothing; above
0 it would expire committed rows too). And the custom resource is still needed: the
AWS::Cassandra::Table schema cfn-lint ships has no property that enables TTL without a
default; if one appears, this check says so, and the template should use it instead.
Usage: deploy_ttl.py TRANSFORMED.json (the template after the SAM transform)."""
import json
import os
import re
import sys

import cfnlint

failures = []
with open("shared/store/src/statements.rs") as f:
    statements = f.read()
names = dict(re.findall(r'pub const (\w+): &str = "(\w+)";', open("shared/store/src/schema.rs").read()))
ttl_tables = set()
# Each statement is one format!("...") literal naming its table as {ks}.{CONST}.
for text in re.findall(r'format!\(\s*"((?:[^"\\]|\\.)*)"', statements, re.S):
    table = re.search(r"\{ks\}\.\{(\w+)\}", text)
    if table and "USING TTL" in text:
        ttl_tables.add(names.get(table.group(1), table.group(1)))
if not ttl_tables:
    failures.append("no USING TTL found in statements.rs: is the parse out of date?")

with open(sys.argv[1]) as f:
    resources = json.load(f)["Resources"]
custom = [n for n, r in resources.items() if r["Type"] == "Custom::KeyspacesTimeToLive"]
if len(custom) != 1:
    failures.append(f"one Custom::KeyspacesTimeToLive expected, found {custom}")
else:
    props = resources[custom[0]]["Properties"]
    if set(props.get("Tables", [])) != ttl_tables:
        failures.append(f"{custom[0]} enables TTL on {sorted(props.get('Tables', []))}, the store writes TTLs to {sorted(ttl_tables)}")
    function = props["ServiceToken"]["Fn::GetAtt"][0]
    role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
    altered = set()
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "cassandra:Alter" in actions:
                for target in statement["Resource"]:
                    altered.add(re.search(r"/table/(\w+)$", target["Fn::Sub"]).group(1))
    if altered != ttl_tables:
        failures.append(f"{function} may alter {sorted(altered)}, needs exactly {sorted(ttl_tables)}")
    stages = [n for n, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    for stage in stages:
        depends = resources[stage].get("DependsOn", [])
        if custom[0] not in (depends if isinstance(depends, list) else [depends]):
            failures.append(f"{stage} does not wait for {custom[0]}: the API could serve creates before TTL is on")
    if not stages:
        failures.append("no AWS::ApiGatewayV2::Stage found")

if any("DefaultTimeToLive" in r.get("Properties", {}) for r in resources.values()):
    failures.append("template.yaml sets DefaultTimeToLive: it does not enable per-row TTL (0) or expires every row (> 0)")

# cfn-lint stores each resource schema once (resources/<hash>.json), indexed per region.
schemas = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")
schema = None
with open(os.path.join(schemas, "providers", "us-east-1.json")) as f:
    digest = json.load(f).get("AWS::Cassandra::Table")
if digest:
    with open(os.path.join(schemas, "resources", f"{digest}.json")) as f:
        schema = json.load(f)
if schema is None:
    failures.append("cfn-lint ships no AWS::Cassandra::Table schema to check against")
else:
    ttl_like = sorted(p for p in schema["properties"] if re.search(r"ttl|timetolive", p, re.I))
    if ttl_like != ["DefaultTimeToLive"]:
        failures.append(f"AWS::Cassandra::Table now has TTL properties {ttl_like}: use one instead of the custom resource")

with open("docs/DEPLOY.md") as f:
    if "post-deploy" in f.read():
        failures.append("docs/DEPLOY.md still asks for a post-deploy step")

if failures:
    for failure in failures:
        print(f"deploy TTL check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print(f"TTL tables {sorted(ttl_tables)}: enabled by the stack's custom resource before the API serves; "
      "AWS::Cassandra::Table has no property for it")
