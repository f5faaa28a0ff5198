# The Rust toolchain plus cargo-lambda (which brings zig), for the compose file's schema job
# and API. The repository is mounted, not copied: `cargo lambda watch` rebuilds on change.
FROM rust:1.95-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && pip3 install --no-cache-dir --break-system-packages cargo-lambda
WORKDIR /src
