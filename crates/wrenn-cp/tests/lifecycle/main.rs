//! The control plane's capsule lifecycle and reconciler against a real host
//! agent: `App` over a real store and event bus, talking mTLS (certificates
//! from a fresh CA) to a whole `wrenn_agent::daemon::Daemon` on 127.0.0.1
//! that runs real capsules from the `minimal` template.
//!
//! Every test runs twice (`harness::both!`): on SQLite with the in-process
//! bus, and on PostgreSQL (a database of its own, `WRENN_TEST_POSTGRES_URL`)
//! with the Redis bus (a stream of its own, `WRENN_TEST_REDIS_URL`).
//! The tests need root, the `wrenn-launch` and `envd` binaries that `cargo
//! test --workspace` builds, and `WRENN_TEST_TEMPLATE_CACHE`; without them
//! they skip, except when `CI` is set, where they fail. An agent's start
//! sweeps every stale `wrenn-*` network on the host, so each test holds the
//! privileged tests' lock file (`/tmp/wrenn-network-tests.lock`) from
//! before its agent starts until its capsules are gone.

#![allow(
    clippy::tests_outside_test_module,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "an integration test binary is all tests; skips say why; it reads its own environment and runs cp"
)]

mod harness;
mod host;
mod proxy;

mod create;
mod isolation;
mod ports;
mod races;
mod reconcile;
