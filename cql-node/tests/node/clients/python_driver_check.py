"""Drives the CQL node with the Python cassandra-driver at its DEFAULT settings: it opens with
protocol v5, must be told the node's protocol error and downgrade to v4 by itself, then loads
the full schema metadata. Prints one `OK ...` line per check; exits non-zero on the first failure.

Usage: python3 python_driver_check.py --host 127.0.0.1 --port 9042 [--user U --password P]
       [--expect-auth-failure]
"""

import argparse
import sys
import uuid

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.query import SimpleStatement


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--expect-auth-failure", action="store_true")
    args = parser.parse_args()

    kwargs = {}
    if args.user:
        kwargs["auth_provider"] = PlainTextAuthProvider(username=args.user, password=args.password)
    cluster = Cluster([args.host], port=args.port, **kwargs)

    if args.expect_auth_failure:
        try:
            cluster.connect()
        except NoHostAvailable as e:
            errors = " ".join(str(v) for v in e.errors.values())
            print("OK refused:", errors)
            return 0
        print("FAIL: connected with wrong credentials")
        return 1

    session = cluster.connect()
    print("OK connected, protocol version", cluster.protocol_version)
    if cluster.protocol_version != 4:
        print("FAIL: expected the driver to settle on v4")
        return 1

    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS pycheck WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute("CREATE TABLE IF NOT EXISTS pycheck.items (id uuid PRIMARY KEY, name text, qty int, tags set<text>)")
    insert = session.prepare("INSERT INTO pycheck.items (id, name, qty, tags) VALUES (?, ?, ?, ?)")
    ids = [uuid.uuid4() for _ in range(5)]
    for i, item_id in enumerate(ids):
        session.execute(insert, (item_id, "item%d" % i, i, {"a", "b%d" % i}))
    row = session.execute("SELECT name, qty, tags FROM pycheck.items WHERE id = %s", (ids[3],)).one()
    if row is None or row.name != "item3" or row.qty != 3 or set(row.tags) != {"a", "b3"}:
        print("FAIL: read back", row)
        return 1
    print("OK prepared insert and select:", row.name, row.qty, sorted(row.tags))

    # Two rows a page: the driver follows the paging state through three pages.
    paged = session.execute(SimpleStatement("SELECT id FROM pycheck.items", fetch_size=2))
    seen = [r.id for r in paged]
    if len(seen) != 5 or set(seen) != set(ids):
        print("FAIL: paged scan returned", seen)
        return 1
    print("OK full scan", len(seen))

    # Schema metadata, as the driver loads it from system_schema.
    cluster.refresh_schema_metadata()
    ks = cluster.metadata.keyspaces.get("pycheck")
    if ks is None or "items" not in ks.tables:
        print("FAIL: schema metadata lacks pycheck.items:", list(cluster.metadata.keyspaces))
        return 1
    columns = sorted(ks.tables["items"].columns)
    if columns != ["id", "name", "qty", "tags"]:
        print("FAIL: columns", columns)
        return 1
    print("OK schema metadata:", columns)
    print("OK describe:", ks.tables["items"].export_as_string().splitlines()[0])
    cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
