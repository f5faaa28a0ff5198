"""Runs the TTL custom resource of template.yaml (EnableTtlFunction's inline code, the very
text CloudFormation deploys) against a local stand-in of the Keyspaces control plane: real
boto3 (its JSON protocol, SigV4 signing) over real HTTP to a server that answers GetTable and
UpdateTable as the Keyspaces API reference shows them, and a real HTTP receiver for the
response CloudFormation waits for. Keyspaces itself cannot run here.

Checks: a table without TTL gets one UpdateTable and is waited for until ACTIVE with TTL
ENABLED; a table that has it is left alone; Delete changes nothing; any error is reported to
CloudFormation as FAILED with its reason (never left unanswered)."""
import json
import os
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import yaml


class CfnLoader(yaml.SafeLoader):
    pass


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def inline_code():
    with open("template.yaml") as f:
        template = yaml.load(f, Loader=CfnLoader)
    return template["Resources"]["EnableTtlFunction"]["Properties"]["Code"]["ZipFile"]


class Keyspaces:
    """Tables by name: [status, ttl]; an update goes through UPDATING for `lag` reads."""

    def __init__(self, tables, lag=2):
        self.tables, self.lag, self.calls = tables, lag, []
        self.pending = {}


class ControlPlane(BaseHTTPRequestHandler):
    def do_POST(self):
        state = self.server.state
        target = self.headers["X-Amz-Target"].split(".")[-1]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        state.calls.append((target, body, "Credential=" in self.headers.get("Authorization", "")))
        table = body.get("tableName")
        if table not in state.tables:
            return self.answer(400, {"__type": "ResourceNotFoundException", "message": f"table {table} not found"})
        if target == "UpdateTable":
            state.tables[table] = ["UPDATING", state.tables[table][1]]
            state.pending[table] = state.lag
            return self.answer(200, {"resourceArn": f"arn:aws:cassandra:eu-west-1:1:/keyspace/store/table/{table}"})
        if target == "GetTable":
            if state.pending.get(table, 0) > 0:
                state.pending[table] -= 1
                if state.pending[table] == 0:
                    state.tables[table] = ["ACTIVE", "ENABLED"]
            status, ttl = state.tables[table]
            answer = {"keyspaceName": body["keyspaceName"], "tableName": table, "status": status}
            if ttl:
                answer["ttl"] = {"status": ttl}
            return self.answer(200, answer)
        self.answer(400, {"__type": "ValidationException", "message": target})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Receiver(BaseHTTPRequestHandler):
    def do_PUT(self):
        self.server.responses.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler, **attrs):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for k, v in attrs.items():
        setattr(server, k, v)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Context:
    def get_remaining_time_in_millis(self):
        return 600_000


def run(module, request_type, state, tables):
    control = serve(ControlPlane, state=state)
    receiver = serve(Receiver, responses=[])
    client = boto3.client(
        "keyspaces",
        endpoint_url=f"http://127.0.0.1:{control.server_port}",
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="local-stand-in-secret",
    )
    event = {
        "RequestType": request_type,
        "ResponseURL": f"http://127.0.0.1:{receiver.server_port}/response",
        "StackId": "arn:aws:cloudformation:eu-west-1:1:stack/store/1",
        "RequestId": "req-1",
        "LogicalResourceId": "TtlEnabled",
        "ResourceProperties": {"Keyspace": "store", "Tables": tables},
    }
    module.handler(event, Context(), client=client)
    control.shutdown()
    receiver.shutdown()
    return receiver.responses


failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


module = types.ModuleType("index")
exec(compile(inline_code(), "template.yaml:EnableTtlFunction", "exec"), module.__dict__)
module.POLL_SECONDS = 0

state = Keyspaces({"products_by_sku": ["ACTIVE", None], "idempotency_keys": ["ACTIVE", "ENABLED"]})
responses = run(module, "Create", state, ["products_by_sku", "idempotency_keys"])
updates = [c for c in state.calls if c[0] == "UpdateTable"]
check(len(responses) == 1 and responses[0]["Status"] == "SUCCESS", f"Create: answered {responses}")
check(updates == [("UpdateTable", {"keyspaceName": "store", "tableName": "products_by_sku", "ttl": {"status": "ENABLED"}}, True)],
      f"Create: one signed UpdateTable for the table without TTL, got {updates}")
check(state.tables["products_by_sku"] == ["ACTIVE", "ENABLED"], "Create answered before the table was ACTIVE with TTL")
check(responses and responses[0]["PhysicalResourceId"] == "TtlEnabled-ttl", f"physical id {responses}")

state = Keyspaces({"products_by_sku": ["ACTIVE", "ENABLED"]})
responses = run(module, "Update", state, ["products_by_sku"])
check(responses[0]["Status"] == "SUCCESS" and not [c for c in state.calls if c[0] == "UpdateTable"],
      "Update: a table with TTL must be left alone")

state = Keyspaces({})
responses = run(module, "Delete", state, ["products_by_sku"])
check(responses[0]["Status"] == "SUCCESS" and state.calls == [], "Delete: nothing to undo, nothing called")

state = Keyspaces({})
responses = run(module, "Create", state, ["missing_table"])
check(len(responses) == 1 and responses[0]["Status"] == "FAILED" and "not found" in responses[0]["Reason"],
      f"an error must reach CloudFormation as FAILED with its reason, got {responses}")

if failures:
    for failure in failures:
        print(f"TTL custom resource check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print("TTL custom resource: enables and waits, leaves enabled tables, answers Delete and failures")
