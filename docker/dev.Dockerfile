# The Rust toolchain plus cargo-lambda (which brings zig), for the compose file's schema job
# and API. The repository is mounted, not copied: `cargo lambda watch` rebuilds on change.
FROM rust:1.95-bookworm
# In a virtual environment, as on a developer's machine (Debian's Python is externally managed).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/tools \
 && /opt/tools/bin/pip install --no-cache-dir cargo-lambda
ENV PATH=/opt/tools/bin:$PATH
WORKDIR /src
