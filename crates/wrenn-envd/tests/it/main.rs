//! Integration tests of envd: a real server on a loopback port, driven by
//! real clients (generated Connect clients and reqwest), one per test.

// The first lint is for unit tests: everything in an integration test binary
// is a test. Tests may print skip notes and start helper processes directly.
#![allow(clippy::tests_outside_test_module, clippy::print_stderr, clippy::disallowed_methods)]

mod files;
mod filesystem;
mod harness;
mod init;
mod process;
mod robustness;
mod status;
