"""Step load (`make load-step`): the users of locustfile.py, raised in steps until the API
breaks (the error rate of a step passes LOAD_STEP_MAX_ERRORS, default 1%, or its p99 passes
LOAD_STEP_MAX_P99_MS, default 1000 ms), then stopped. One Locust run, so the HTML report's
charts show the whole climb.

Each step runs LOAD_STEP_TIME seconds at its user count; its figures are measured after the
first LOAD_STEP_SETTLE seconds (the users being spawned and the queue filling are not the
steady state), from Locust's own counters: requests/s, p50/p99 (exact over the step, from the
response-time histogram), error rate, 5xx and connection errors. Bounded: at most
LOAD_STEP_MAX_USERS users and LOAD_STEP_MAX_TIME seconds in all, whichever comes first.

The steps are printed as they end and written as JSON to LOAD_STEP_RESULT
(scripts/load.sh prints the breaking point from it).
"""
import json
import math
import os
import time

from locust import LoadTestShape

from locustfile import StoreUser  # noqa: F401  (the users this shape drives)


def env_number(name, default):
    return float(os.environ.get(name) or default)


START = int(env_number("LOAD_STEP_START", 25))
INCREMENT = int(env_number("LOAD_STEP_USERS", 25))
STEP_TIME = env_number("LOAD_STEP_TIME", 20)
SETTLE = env_number("LOAD_STEP_SETTLE", 5)
MAX_USERS = int(env_number("LOAD_STEP_MAX_USERS", 500))
MAX_TIME = env_number("LOAD_STEP_MAX_TIME", 600)
MAX_ERRORS = env_number("LOAD_STEP_MAX_ERRORS", 0.01)
MAX_P99_MS = env_number("LOAD_STEP_MAX_P99_MS", 1000)
RESULT = os.environ.get("LOAD_STEP_RESULT", "target/load/step.json")
if not 0 <= SETTLE < STEP_TIME:
    raise SystemExit("LOAD_STEP_SETTLE must be at least 0 and less than LOAD_STEP_TIME")


def percentile(histogram, fraction):
    """The response time (ms) below which `fraction` of the requests of `histogram`
    ({rounded ms: count}) fall, as Locust computes its own percentiles."""
    total = sum(histogram.values())
    if total == 0:
        return 0
    wanted = math.ceil(total * fraction)
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= wanted:
            return ms
    return max(histogram)


def server_errors(stats):
    """5xx answers and connection errors so far (locustfile.py's failure messages start with
    "HTTP <status>" or "connection"; Locust keeps the exception carrying them)."""
    return sum(e.occurrences for e in stats.errors.values()
               if str(e.error).startswith("HTTP 5") or str(e.error).startswith("connection"))


class StepLoad(LoadTestShape):
    def __init__(self):
        super().__init__()
        self.steps = []
        self.step = -1
        self.snapshot = None
        self.verdict = None

    def users_at(self, step):
        return START + step * INCREMENT

    def tick(self):
        now = self.get_run_time()
        step = int(now // STEP_TIME)
        if step != self.step:
            if self.step >= 0 and self.end_step():
                return None
            if self.users_at(step) > MAX_USERS or now + STEP_TIME > MAX_TIME:
                self.verdict = self.verdict or "bounds"
                self.finish()
                return None
            self.step = step
            self.snapshot = None
        if self.snapshot is None and now - self.step * STEP_TIME >= SETTLE:
            total = self.runner.stats.total
            self.snapshot = {
                "at": time.monotonic(),
                "requests": total.num_requests,
                "failures": total.num_failures,
                "server_errors": server_errors(self.runner.stats),
                "histogram": dict(total.response_times),
                "users": self.runner.user_count,
            }
        users = self.users_at(self.step)
        # Reach the step's users within its settle time (at least 1 user/s).
        return users, max(1.0, INCREMENT / max(SETTLE, 1.0), float(START))

    def end_step(self):
        """Figures of the step that just ended; True when it broke the API."""
        snap = self.snapshot
        if snap is None:
            return False
        stats = self.runner.stats
        total = stats.total
        seconds = time.monotonic() - snap["at"]
        requests = total.num_requests - snap["requests"]
        failures = total.num_failures - snap["failures"]
        histogram = {ms: n - snap["histogram"].get(ms, 0) for ms, n in total.response_times.items()}
        figures = {
            "users": snap["users"],
            "seconds": round(seconds, 1),
            "requests": requests,
            "rps": round(requests / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": percentile(histogram, 0.50),
            "p99_ms": percentile(histogram, 0.99),
            "error_rate": round(failures / requests, 4) if requests else 1.0,
            "server_errors": server_errors(stats) - snap["server_errors"],
        }
        broke = figures["error_rate"] > MAX_ERRORS or figures["p99_ms"] > MAX_P99_MS or requests == 0
        figures["broke"] = broke
        self.steps.append(figures)
        print(f"[step] users={figures['users']} rps={figures['rps']} p50={figures['p50_ms']}ms "
              f"p99={figures['p99_ms']}ms errors={figures['error_rate']:.2%} 5xx/conn={figures['server_errors']}"
              + ("  <- breaks" if broke else ""), flush=True)
        if broke:
            self.verdict = "broke"
            self.finish()
        return broke

    def finish(self):
        limits = {"max_error_rate": MAX_ERRORS, "max_p99_ms": MAX_P99_MS, "max_users": MAX_USERS,
                  "max_seconds": MAX_TIME, "step_seconds": STEP_TIME, "settle_seconds": SETTLE}
        os.makedirs(os.path.dirname(RESULT) or ".", exist_ok=True)
        with open(RESULT, "w") as f:
            json.dump({"verdict": self.verdict, "limits": limits, "steps": self.steps}, f, indent=1)
