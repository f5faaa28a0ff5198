"""Load test of the product API (`make load`, `make load-step`, scripts/checks/load_smoke.sh).

The mix of the course lab (Labo 04): two reads for one write, as Locust task weights.
- `GET /products`: a first page, with or without `limit`; half the time the next page is
  followed with the `next_cursor` the first one answered.
- `POST /products`: a random name, a SKU no one used before and a random price (sent as a
  JSON number or a string, as the API accepts both); some with an `Idempotency-Key`, some of
  those sent again with the same key and body (the answer must be the first 201 again, byte
  for byte), and a few re-sending a SKU this user already created (the API must answer 409).

Requests are named by route ("GET /products", "POST /products"), the same names as the API's
`http_requests_total{route}`, so Locust's figures and the dashboards are per route.

What counts as a failure: a 5xx, a connection error or a timeout (these are what a load test
is for), and any answer the API should not give to these well-formed requests (a 400, a 422,
a 409 for a fresh SKU, a replay that differs from the first answer). A 201 and the 409 of a
re-sent SKU are successes. Failure messages start with "HTTP <status>" or "connection", so
load/report.py can count the 5xx and connection errors apart from the rest. A 500 with
cargo lambda watch's own error body (it intermittently refuses a response the function
posts back: "Lambda Runtime API returned non-200 response" in the function's log) is a
failure too, named as the local router's.

Knobs (environment): LOAD_WAIT_MIN / LOAD_WAIT_MAX (seconds each user waits between two tasks,
default 0.5 and 1.5: about one task per user per second), LOAD_REQUEST_TIMEOUT (seconds, 30).
"""
import json
import os
import random
import string
import time
import uuid

from locust import HttpUser, between, events, task
from locust.runners import LocalRunner, MasterRunner

WAIT_MIN = float(os.environ.get("LOAD_WAIT_MIN", "0.5"))
WAIT_MAX = float(os.environ.get("LOAD_WAIT_MAX", "1.5"))
# Every request is bounded: a server that stops answering shows up as failures, not as users
# stuck forever.
REQUEST_TIMEOUT = float(os.environ.get("LOAD_REQUEST_TIMEOUT", "30"))

# The local router's own error body (cargo lambda watch), as opposed to the API's problems.
ROUTER_ERROR = '"type":"https://httpstatuses.com/500"'
ROUTER_500 = "from cargo lambda watch itself, not the API"

LIST = "GET /products"
CREATE = "POST /products"

WORDS = ["Green", "Black", "Oolong", "Mug", "Kettle", "Chair", "Desk", "Lamp", "Teapot", "Cup",
         "Spoon", "Notebook", "Pen", "Bag", "Scarf", "Hat", "Jar", "Box", "Plate", "Bowl"]


def classify(response, expected):
    """Marks a response caught with catch_response: success when its status is expected,
    otherwise a failure whose message starts with the status (or "connection")."""
    if response.status_code == 0:
        # No HTTP answer at all: refused, reset or timed out. One message per kind of error,
        # so the failures table groups them.
        response.failure(f"connection error: {type(response.error).__name__}")
        return False
    if response.status_code not in expected:
        if response.status_code == 500 and ROUTER_ERROR in response.text:
            # Not the API's answer (its errors are application/problem+json with its own
            # types): `cargo lambda watch` refusing the response the function sent it.
            response.failure(f"HTTP 500 {ROUTER_500}")
        else:
            response.failure(f"HTTP {response.status_code}: {response.text[:120]}")
        return False
    response.success()
    return True


class StoreUser(HttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self):
        # SKUs this user created, for the occasional duplicate (409).
        self.created_skus = []

    @task(2)
    def list_products(self):
        params = {}
        if random.random() < 0.5:
            params["limit"] = random.choice([5, 20, 50])
        with self.client.get("/products", params=params, name=LIST, timeout=REQUEST_TIMEOUT,
                             catch_response=True) as response:
            if not classify(response, {200}):
                return
            try:
                cursor = response.json().get("next_cursor")
            except ValueError:
                response.failure("HTTP 200 with a body that is not JSON")
                return
        if cursor and random.random() < 0.5:
            params["cursor"] = cursor
            with self.client.get("/products", params=params, name=LIST, timeout=REQUEST_TIMEOUT,
                                 catch_response=True) as response:
                classify(response, {200})

    @task(1)
    def create_product(self):
        if self.created_skus and random.random() < 0.05:
            # A SKU that exists: the API must refuse it with 409, naming the existing product.
            body = self.product(sku=random.choice(self.created_skus))
            with self.client.post("/products", json=body, name=CREATE, timeout=REQUEST_TIMEOUT,
                                  catch_response=True) as response:
                classify(response, {409})
            return
        body = self.product()
        headers = {}
        keyed = random.random() < 0.5
        if keyed:
            headers["Idempotency-Key"] = f"load-{uuid.uuid4()}"
        with self.client.post("/products", json=body, headers=headers, name=CREATE,
                              timeout=REQUEST_TIMEOUT, catch_response=True) as response:
            if not classify(response, {201}):
                return
            first = response.text
            self.created_skus.append(body["sku"])
            del self.created_skus[:-50]
        if keyed and random.random() < 0.3:
            # A client retrying after a lost answer: the same key and body replay the first 201.
            with self.client.post("/products", json=body, headers=headers, name=CREATE,
                                  timeout=REQUEST_TIMEOUT, catch_response=True) as response:
                if classify(response, {201}) and response.text != first:
                    response.failure("replay differs from the first answer")

    @staticmethod
    def product(sku=None):
        name = f"{random.choice(WORDS)} {random.choice(WORDS).lower()} {random.randint(1, 9999)}"
        # Unique across users and runs: the run's data stays in the store between runs.
        sku = sku or "LOAD-" + uuid.uuid4().hex[:20].upper()
        cents = random.randint(1, 99_999_99)
        # The API takes a JSON number or a string; never through a float that would round.
        price = f"{cents // 100}.{cents % 100:02d}"
        return {"name": name, "sku": sku, "price": price if random.random() < 0.5 else json.loads(price)}


@events.init.add_listener
def progress(environment, **_kwargs):
    """One compact line every LOAD_PROGRESS_SECS (default 5) instead of Locust's full table:
    long runs show they are alive and how they go."""
    if not isinstance(environment.runner, (LocalRunner, MasterRunner)):
        return
    period = float(os.environ.get("LOAD_PROGRESS_SECS", "5"))
    if period <= 0:
        return
    import gevent

    def loop():
        started = time.monotonic()
        while True:
            gevent.sleep(period)
            total = environment.runner.stats.total
            print(f"[load] {time.monotonic() - started:5.0f}s users={environment.runner.user_count} "
                  f"requests={total.num_requests} failures={total.num_failures} "
                  f"rps={total.current_rps:.1f} p99={total.get_current_response_time_percentile(0.99) or 0:.0f}ms",
                  flush=True)

    gevent.spawn(loop)
