//! The event bus's integration tests. Every test runs twice, on the
//! in-process bus and on Redis Streams (`WRENN_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`, each test on a stream of its own); without
//! Redis reachable the Redis half skips, and fails when `CI` is set.

#![allow(clippy::tests_outside_test_module, reason = "an integration test binary is all tests")]

mod harness;

mod appliers;
mod subscribers;
