//! The store's integration tests. Every test runs twice, against SQLite in
//! a temporary directory and against PostgreSQL in a database of its own
//! (`WRENN_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`,
//! names the server; without it reachable the PostgreSQL half skips, and
//! fails when `CI` is set).

#![allow(clippy::tests_outside_test_module, reason = "an integration test binary is all tests")]

mod harness;

mod audit;
mod capsules;
mod hosts;
mod teams;
mod templates;
