"""Figures of a Locust run, from the CSV files it wrote (`--csv PREFIX`): one row per route with
requests, requests/s, p50/p95/p99 and error rate, then the failures by kind.

    python3 load/report.py table PREFIX            # print the table
    python3 load/report.py table PREFIX --check    # and fail (exit 1) on any failure or 5xx,
                                                   # or when a route of the mix got no request
                                                   # (cargo lambda watch's own 500s: up to 1%)
    python3 load/report.py step RESULT.json        # the breaking point of a step-load run

Only the standard library: it runs with any python3, in or out of the venv.
"""
import csv
import json
import re
import sys

ROUTES = ["GET /products", "POST /products"]
# locustfile.py's failure message for cargo lambda watch's own 500.
ROUTER_500 = "from cargo lambda watch itself, not the API"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def message_of(error):
    """locustfile.py's failure message, out of the exception repr Locust writes to the CSV
    (CatchResponseError('HTTP 503: ...'))."""
    match = re.fullmatch(r"\w+\((['\"])(.*)\1\)", error, re.S)
    return match.group(2) if match else error


def server_error(error):
    message = message_of(error)
    return message.startswith("HTTP 5") or message.startswith("connection")


def table(prefix, check):
    stats = read_csv(f"{prefix}_stats.csv")
    failures = read_csv(f"{prefix}_failures.csv")
    by_route = {}
    for f in failures:
        kinds = by_route.setdefault(f["Name"], {"server": 0, "other": 0})
        kinds["server" if server_error(f["Error"]) else "other"] += int(f["Occurrences"])

    header = ["route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "error rate", "5xx/conn"]
    rows = []
    for s in stats:
        name = "all routes" if s["Name"] == "Aggregated" else s["Name"]
        requests = int(s["Request Count"])
        failed = int(s["Failure Count"])
        if s["Name"] == "Aggregated":
            server = sum(k["server"] for k in by_route.values())
        else:
            server = by_route.get(s["Name"], {}).get("server", 0)
        rate = failed / requests if requests else 0.0
        rows.append([name, str(requests), f"{float(s['Requests/s']):.1f}", s["50%"], s["95%"], s["99%"],
                     str(failed), f"{rate:.2%}", str(server)])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(header))
    for r in rows:
        print(line(r))
    if failures:
        print("failures:")
        for f in failures:
            print(f"  {f['Occurrences']:>6}  {f['Name']}: {message_of(f['Error'])}")

    if not check:
        return 0
    problems = []
    seen = {s["Name"]: int(s["Request Count"]) for s in stats}
    for route in ROUTES:
        if seen.get(route, 0) == 0:
            problems.append(f"no request reached {route}")
    total = sum(int(s["Request Count"]) for s in stats if s["Name"] == "Aggregated")
    router = sum(int(f["Occurrences"]) for f in failures if ROUTER_500 in message_of(f["Error"]))
    api_failed = sum(int(f["Occurrences"]) for f in failures) - router
    if api_failed:
        problems.append(f"{api_failed} failed requests")
    # The local router's own intermittent 500s (not the API: its function answered) are
    # tolerated up to 1% of the requests, and named; more means something else broke.
    if router:
        print(f"note: {router} of {total} requests got cargo lambda watch's own 500, not the API's")
        if router > total * 0.01:
            problems.append(f"{router} of {total} requests got the local router's 500 (over 1%)")
    for p in problems:
        print(f"load check failed: {p}", file=sys.stderr)
    return 1 if problems else 0


def step(path):
    with open(path) as f:
        result = json.load(f)
    steps = result["steps"]
    limits = result["limits"]
    fmt = lambda s: (f"{s['users']} users: {s['rps']} req/s, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, "
                     f"errors {s['error_rate']:.2%} ({s['server_errors']} 5xx/connection)")
    print(f"breaking point (error rate over {limits['max_error_rate']:.0%} or p99 over {limits['max_p99_ms']:.0f} ms, "
          f"steps of {limits['step_seconds']:.0f} s):")
    good = [s for s in steps if not s["broke"]]
    broke = [s for s in steps if s["broke"]]
    print(f"  last good step: {fmt(good[-1]) if good else 'none (the first step already broke)'}")
    if broke:
        print(f"  breaking step:  {fmt(broke[0])}")
    else:
        print(f"  no breaking step within the bounds ({limits['max_users']} users, {limits['max_seconds']:.0f} s)")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "table":
        return table(argv[1], "--check" in argv[2:])
    if len(argv) == 2 and argv[0] == "step":
        return step(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
