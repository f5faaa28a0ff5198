"""Structural checks of docker-compose.yml where no Docker engine runs (CI, this machine):
what the issue asks of the local cluster, and that every variable it reads is documented."""
import os
import re
import stat
import sys

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

# Every script the compose file mounts and runs exists and is executable.
for script in re.findall(r"/docker/([\w.-]+\.sh)", text):
    path = os.path.join(root, "docker", script)
    check(os.path.exists(path) and os.stat(path).st_mode & stat.S_IXUSR, f"docker/{script} exists and is executable")
for service in services.values():
    dockerfile = service.get("build", {}).get("dockerfile")
    if dockerfile:
        check(os.path.exists(os.path.join(root, dockerfile)), f"{dockerfile} exists")

# Every ${VAR} the compose file reads is documented in .env.example.
with open(os.path.join(root, ".env.example")) as f:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", f.read(), re.M))
for var in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))):
    check(var in documented, f"${{{var}}} is documented in .env.example")

if failures:
    for failure in failures:
        print(f"compose check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print(f"docker-compose.yml: {len(services)} services checked")
