//! Where the tests find the client tools they drive (python3 with the Cassandra driver, cqlsh):
//! the project's virtual environment first (`.venv/`, made by scripts/install-test-deps.sh),
//! so `cargo test` alone uses the same tools as `make test`, then PATH.

use std::path::PathBuf;

pub fn tool(name: &str) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin").join(name);
    if venv.is_file() {
        return venv;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is neither in .venv/bin nor on PATH: run scripts/install-test-deps.sh first"))
}
