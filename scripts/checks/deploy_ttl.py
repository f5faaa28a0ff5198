"""The deploy guide's TTL step stays true: every table the store writes USING TTL (read from
shared/store/src/statements.rs) is one scripts/post-deploy.sh enables and verifies, docs/DEPLOY.md
runs that script right after `sam deploy`, and template.yaml does not pretend to enable TTL
(DefaultTimeToLive: 0 enables nothing; above 0 it would expire committed rows too)."""
import re
import sys

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

with open("scripts/post-deploy.sh") as f:
    script = f.read()
listed = set(re.search(r"ttl_tables=\(([^)]*)\)", script).group(1).split())
if listed != ttl_tables:
    failures.append(f"post-deploy.sh enables TTL on {sorted(listed)}, the store writes TTLs to {sorted(ttl_tables)}")
with open("docs/DEPLOY.md") as f:
    guide = f.read()
deploy_at = guide.find("sam deploy --guided")
post_at = guide.find("scripts/post-deploy.sh", deploy_at)
if deploy_at < 0 or post_at < 0:
    failures.append("docs/DEPLOY.md does not run scripts/post-deploy.sh after sam deploy")
with open("template.yaml") as f:
    if re.search(r"^\s*DefaultTimeToLive:", f.read(), re.M):
        failures.append("template.yaml sets DefaultTimeToLive: it does not enable per-row TTL (0) or expires every row (> 0)")

if failures:
    for failure in failures:
        print(f"deploy TTL check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print(f"TTL tables {sorted(ttl_tables)}: enabled and verified by scripts/post-deploy.sh, run by docs/DEPLOY.md")
