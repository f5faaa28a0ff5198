"""Connects to the CQL node's Keyspaces profile with AWS's own SigV4 plugin for the Python
driver (PyPI `cassandra-sigv4`) over TLS verified against cassandra.<region>.amazonaws.com.
Prints `OK <release_version>` on success, `REFUSED <message>` when authentication fails."""
import ssl
import sys

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import RoundRobinPolicy
from cassandra_sigv4.auth import SigV4AuthProvider


def main():
    port, ca_file, region, key_id, secret = sys.argv[1:6]
    token = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
    host = "cassandra.%s.amazonaws.com" % region
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and host name
    context.load_verify_locations(ca_file)
    if key_id == "--service-user":
        auth = PlainTextAuthProvider(username=secret, password=token)
    else:
        auth = SigV4AuthProvider(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                 aws_session_token=token, region_name=region)
    cluster = Cluster(["127.0.0.1"], port=int(port), ssl_context=context,
                      ssl_options={"server_hostname": host}, auth_provider=auth,
                      protocol_version=4, load_balancing_policy=RoundRobinPolicy(),
                      connect_timeout=10, control_connection_timeout=10)
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local").one()
        print("OK %s" % row[0])
    except NoHostAvailable as e:
        print("REFUSED %s" % e)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
