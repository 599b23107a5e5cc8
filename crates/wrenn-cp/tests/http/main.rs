//! The HTTP foundation's integration tests: a real server on 127.0.0.1:0
//! (`serve_with`) driven with reqwest and raw TCP. Tests that depend on
//! the store run on SQLite and PostgreSQL (the store tests' `both!`
//! harness); the rest run on SQLite.

#![allow(clippy::tests_outside_test_module, reason = "an integration test binary is all tests")]

#[path = "../store/harness.rs"]
#[allow(dead_code, reason = "the store tests' harness; this binary uses its database setup only")]
mod harness;
mod server;

mod auth;
mod errors;
mod extension;
mod hosts;
mod lifecycle;
mod logs;
mod openapi;
mod ports;
