//! Test support: spawn_app and friends (see tests/api).
