"""Structural checks of docker-compose.yml where no Docker engine runs (CI, this machine):
what the issue asks of the local cluster, of Prometheus and Grafana watching the API (images
pinned, mounts present, the datasource, every dashboard query on a metric the functions
export), and that every variable it reads is documented."""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import yaml

root = os.path.join(os.path.dirname(__file__), "..", "..")
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


with open(os.path.join(root, "docker-compose.yml")) as f:
    text = f.read()
compose = yaml.safe_load(text)
services = compose["services"]

nodes = [name for name, s in services.items() if s.get("image") == "cassandra:4.1" and "healthcheck" in s]
check(nodes == ["cassandra-1", "cassandra-2", "cassandra-3"], f"three Cassandra 4.1 nodes, got {nodes}")
for name in nodes:
    node = services[name]
    test = " ".join(node["healthcheck"]["test"])
    check("nodetool" in test and " status" in test, f"{name}: healthcheck uses nodetool status")
    check("-pwf /etc/cassandra/jmxremote.password" in test, f"{name}: healthcheck's nodetool authenticates to JMX")
    check(node["environment"].get("LOCAL_JMX") == "no", f"{name}: JMX reachable for the roles job's repair")
    check(node["environment"]["CASSANDRA_SEEDS"] == "cassandra-1", f"{name}: cassandra-1 is the seed")
    entry = node["entrypoint"][0]
    check(entry == "/docker/cassandra-auth.sh", f"{name}: starts through the auth entrypoint")

with open(os.path.join(root, "docker", "cassandra-auth.sh")) as f:
    auth = f.read()
check("authenticator: PasswordAuthenticator" in auth, "PasswordAuthenticator is switched on")
check("authorizer: CassandraAuthorizer" in auth, "CassandraAuthorizer is switched on")

schema = services["schema"]
check(schema.get("restart") == "no", "schema job runs once")
check(schema["environment"]["STORE_REPLICATION"].endswith("=3"), "schema job uses replication factor 3")
check("store-schema" in schema["command"], "schema job runs store-schema")
for name in nodes:
    check(schema["depends_on"][name]["condition"] == "service_healthy", f"schema waits for {name} healthy")

roles = services["roles"]
check(roles["depends_on"]["schema"]["condition"] == "service_completed_successfully", "roles job runs after the schema job")
check(len(roles["environment"]["CASSANDRA_NODES"].split()) == len(nodes), "roles job repairs every node")
check(roles["environment"]["STORE_PASSWORD"].startswith("${CASSANDRA_API_PASSWORD"), "API password comes from CASSANDRA_API_PASSWORD")
# Compose's API credentials are not the functions' own variables: a .env written for compose
# must not hand make run a password without a username.
check("${STORE_PASSWORD" not in text and "${STORE_USERNAME" not in text, "compose reads no STORE_USERNAME/STORE_PASSWORD from .env")

api = services["api"]
check(api["command"][:3] == ["cargo", "lambda", "watch"], "API runs cargo lambda watch")
for name in nodes:
    check(api["depends_on"][name]["condition"] == "service_healthy", f"api waits for {name} healthy")
check(api["depends_on"]["roles"]["condition"] == "service_completed_successfully", "api waits for its role")
check(api["environment"]["STORE_CONSISTENCY"] == "LOCAL_QUORUM", "api writes at LOCAL_QUORUM")
check(api["environment"]["STORE_USERNAME"] != "${CASSANDRA_ADMIN_USER:-cassandra}", "api does not log in as superuser")

# The list-page cache: a Redis the api waits for and points at, evicting rather than refusing
# writes when full (a refused version bump would let stale pages be read until their TTL).
redis = services.get("redis", {})
check(str(redis.get("image", "")).startswith("redis:"), "a redis service on the official image")
check("allkeys-lru" in redis.get("command", []), "redis evicts when full (maxmemory-policy allkeys-lru)")
check(all(str(p).startswith("127.0.0.1:") for p in redis.get("ports", [])), "redis bound to 127.0.0.1 only")
check(api["depends_on"].get("redis", {}).get("condition") == "service_healthy", "api waits for redis healthy")
check(api["environment"].get("STORE_CACHE_URL", "").endswith("redis://redis:6379}"), "api caches list pages in the redis service")

# Every script the compose file mounts and runs exists and is executable.
for script in re.findall(r"/docker/([\w.-]+\.sh)", text):
    path = os.path.join(root, "docker", script)
    check(os.path.exists(path) and os.stat(path).st_mode & stat.S_IXUSR, f"docker/{script} exists and is executable")
for service in services.values():
    dockerfile = service.get("build", {}).get("dockerfile")
    if dockerfile:
        check(os.path.exists(os.path.join(root, dockerfile)), f"{dockerfile} exists")

# Every image is pinned to a version: `docker compose up` next month runs what was checked.
for name, service in services.items():
    image = service.get("image")
    if image:
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        check(tag and tag != "latest" and re.search(r"\d", tag), f"{name}: image {image} pinned to a version")

# Every file or directory a service mounts from the repository exists, except the metrics
# targets directory: the API's function processes create it and write their files there at
# run time (it is not committed), and Prometheus must mount that very directory.
api_env = services["api"]["environment"]
repo_mount = next(v.split(":")[1] for v in services["api"]["volumes"] if v.split(":")[0] == ".")
targets_in_api = api_env.get("STORE_METRICS_TARGETS_DIR", "")
check(targets_in_api.startswith(repo_mount + "/"), f"api writes its metrics targets inside the repository mount {repo_mount}")
targets_dir = "./" + targets_in_api[len(repo_mount) + 1:]
for name, service in services.items():
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./") and source != targets_dir:
            check(os.path.exists(os.path.join(root, source)), f"{name}: mounted {source} exists in the repository")

# The metrics path: the api's processes serve Prometheus text on any free port and announce
# api:<port>; Prometheus reads the announcements from the same directory, through the
# file_sd_configs of observability/prometheus.yml, which name paths relative to that file.
check(api_env.get("STORE_METRICS") == "prometheus", "api exports Prometheus metrics")
check(api_env.get("STORE_METRICS_ANNOUNCE_HOST") == "api", "api's function processes announce the api service's name")
check(api_env.get("STORE_METRICS_ADDR", "").startswith("0.0.0.0:"), "api's metrics listen beyond the container's loopback")
prom = services.get("prometheus", {})
check(str(prom.get("image", "")).startswith("prom/prometheus:"), "a prometheus service on the official image")
prom_mounts = dict(v.split(":")[:2] for v in prom.get("volumes", []))
config_in_container = next((a.split("=", 1)[1] for a in prom.get("command", []) if a.startswith("--config.file=")), "")
check(prom_mounts.get("./observability/prometheus.yml") == config_in_container,
      "prometheus runs with the repository's observability/prometheus.yml")
targets_in_prom = prom_mounts.get(targets_dir, "")
check(targets_in_prom != "", f"prometheus mounts the api's targets directory {targets_dir}")
prom_config_path = os.path.join(root, "observability", "prometheus.yml")
if os.path.exists(prom_config_path):
    with open(prom_config_path) as f:
        prom_config = yaml.safe_load(f)
    patterns = [p for job in prom_config.get("scrape_configs", []) for sd in job.get("file_sd_configs", [])
                for p in sd.get("files", [])]
    config_dir = os.path.dirname(config_in_container)
    resolved = [p if p.startswith("/") else f"{config_dir}/{p}" for p in patterns]
    check(any(os.path.dirname(p) == targets_in_prom for p in resolved),
          f"observability/prometheus.yml discovers targets in {targets_in_prom} (file_sd_configs: {patterns})")
for port in prom.get("ports", []):
    check(str(port).startswith("127.0.0.1:"), f"prometheus port {port} bound to 127.0.0.1 only")

# Grafana: provisioned from the repository, anonymous viewers only, on 127.0.0.1 only, its
# datasource the prometheus service, and a dashboard whose every query names metrics the
# functions export (the contract below) with labels they carry.
grafana = services.get("grafana", {})
check(str(grafana.get("image", "")).startswith("grafana/grafana:"), "a grafana service on the official image")
grafana_env = grafana.get("environment", {})
check(str(grafana_env.get("GF_AUTH_ANONYMOUS_ENABLED")).lower() == "true", "grafana lets anonymous viewers in")
check(grafana_env.get("GF_AUTH_ANONYMOUS_ORG_ROLE") == "Viewer", "anonymous grafana users may only view")
check(str(grafana_env.get("GF_SECURITY_ADMIN_PASSWORD", "")).startswith("${GRAFANA_ADMIN_PASSWORD:?"),
      "grafana's admin password comes from .env, never a default")
check(grafana.get("ports") and all(str(p).startswith("127.0.0.1:") for p in grafana["ports"]),
      "grafana bound to 127.0.0.1 only")
grafana_mounts = dict(v.split(":")[:2] for v in grafana.get("volumes", []))
check(grafana_mounts.get("./observability/grafana/provisioning") == "/etc/grafana/provisioning",
      "grafana provisioned from observability/grafana/provisioning")
dashboards_in_container = grafana_mounts.get("./observability/grafana/dashboards", "")

provisioning = os.path.join(root, "observability", "grafana", "provisioning")
datasources = []
for name in sorted(os.listdir(os.path.join(provisioning, "datasources"))):
    with open(os.path.join(provisioning, "datasources", name)) as f:
        datasources += yaml.safe_load(f).get("datasources", [])
prometheus_services = [n for n, s in services.items() if str(s.get("image", "")).startswith("prom/prometheus:")]
check(len(datasources) == 1 and datasources[0].get("type") == "prometheus", "one provisioned datasource, of type prometheus")
datasource_uids = {d.get("uid") for d in datasources}
for d in datasources:
    url = d.get("url", "")
    match = re.fullmatch(r"http://([\w-]+):(\d+)/?", url)
    check(match and match.group(1) in prometheus_services and match.group(2) == "9090",
          f"datasource {d.get('name')} points at the prometheus service's port 9090 (url {url})")
providers = []
for name in sorted(os.listdir(os.path.join(provisioning, "dashboards"))):
    with open(os.path.join(provisioning, "dashboards", name)) as f:
        providers += yaml.safe_load(f).get("providers", [])
check(any(p.get("type") == "file" and p.get("options", {}).get("path") == dashboards_in_container for p in providers),
      f"a dashboard provider reads {dashboards_in_container or 'the mounted dashboards directory'}")

# The metrics the functions export, and their labels (`function` is the target's label).
CONTRACT = {
    "http_requests_total": {"route", "status"},
    "http_request_duration_seconds": {"route"},
    "db_errors_total": {"kind"},
    "sku_conflicts_total": set(),
    "idempotent_replays_total": set(),
    "cold_starts_total": set(),
    "init_duration_seconds": set(),
    "db_connect_duration_seconds": set(),
}
HISTOGRAMS = {"http_request_duration_seconds", "init_duration_seconds", "db_connect_duration_seconds"}
TARGET_LABELS = {"function", "job", "instance"}


def metric_of(series):
    """The contract metric a series name belongs to (histograms have _bucket, _sum, _count)."""
    for base in HISTOGRAMS:
        if series in (f"{base}_bucket", f"{base}_sum", f"{base}_count"):
            return base
    return series if series in CONTRACT and series not in HISTOGRAMS else None


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def series_names(expr):
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, ranges and groupings are taken out, less function calls and keywords."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", bare):
        if not match.group(2) and match.group(1) not in PROMQL_WORDS:
            names.add(match.group(1))
    return names


dashboards_dir = os.path.join(root, "observability", "grafana", "dashboards")
dashboard_files = sorted(n for n in os.listdir(dashboards_dir) if n.endswith(".json"))
check("store-api.json" in dashboard_files, "observability/grafana/dashboards/store-api.json exists")
named = set()
queries = 0
all_exprs = []
for name in dashboard_files:
    with open(os.path.join(dashboards_dir, name)) as f:
        dashboard = json.load(f)
    for panel in dashboard.get("panels", []):
        title = panel.get("title")
        check(panel.get("targets"), f"{name}: panel {title!r} has queries")
        for target in panel.get("targets", []):
            queries += 1
            expr = target.get("expr", "")
            all_exprs.append(expr)
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            check(uid in datasource_uids, f"{name}: {title!r} queries the provisioned datasource (uid {uid})")
            selectors = series_names(expr)
            check(selectors, f"{name}: {title!r}: query selects no series: {expr}")
            for series in selectors:
                metric = metric_of(series)
                check(metric, f"{name}: {title!r} queries {series}, which the functions do not export")
                if metric:
                    named.add(metric)
                    allowed = CONTRACT[metric] | TARGET_LABELS | ({"le"} if metric in HISTOGRAMS else set())
                    for matchers in re.findall(re.escape(series) + r"\{([^}]*)\}", expr):
                        for label in re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers):
                            check(label in allowed, f"{name}: {title!r} matches label {label} that {metric} lacks")
            for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
                for label in (l.strip() for l in grouping.split(",") if l.strip()):
                    check(any(label in CONTRACT[m] | TARGET_LABELS | {"le"} for m in named | set(CONTRACT)),
                          f"{name}: {title!r} groups by {label}, a label no metric has")
            if "histogram_quantile" in expr:
                check("_bucket" in expr and re.search(r"\ble\b", expr), f"{name}: {title!r}: histogram_quantile over buckets by le")
# Where Prometheus's promtool is installed, it parses every query too (as recording rules,
# with Grafana's $__rate_interval given a value).
promtool = shutil.which("promtool")
if promtool and all_exprs:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as rules:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query{i}", "expr": e.replace("$__rate_interval", "1m").replace("$__range", "1h")}
            for i, e in enumerate(all_exprs)]}]}, rules)
    parsed = subprocess.run([promtool, "check", "rules", rules.name], capture_output=True, text=True)
    os.unlink(rules.name)
    check(parsed.returncode == 0, f"promtool parses every dashboard query: {parsed.stdout.strip()} {parsed.stderr.strip()}")
for metric in ["http_requests_total", "http_request_duration_seconds", "db_errors_total", "sku_conflicts_total",
               "idempotent_replays_total", "cold_starts_total"]:
    check(metric in named, f"the dashboard shows {metric}")

# Every ${VAR} the compose file reads is documented in .env.example.
with open(os.path.join(root, ".env.example")) as f:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", f.read(), re.M))
for var in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))):
    check(var in documented, f"${{{var}}} is documented in .env.example")

if failures:
    for failure in failures:
        print(f"compose check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print(f"docker-compose.yml: {len(services)} services checked; Grafana: {len(dashboard_files)} dashboard(s), {queries} queries on the exported metrics")
