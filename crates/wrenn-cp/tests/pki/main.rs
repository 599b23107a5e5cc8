//! The control plane's CA, end to end: CAs generated, stored and reloaded
//! (`ca`), and its certificates used for real mTLS between the control
//! plane's client configuration and the host agent's own RPC server
//! (`mtls`), on 127.0.0.1 only.
//!
//! `fixtures/openssl-ca*.pem` is an operator-style CA made outside Wrenn
//! (test material only), with a SEC1 key:
//! `openssl ecparam -name prime256v1 -genkey -noout -out openssl-ca-key.pem` and
//! `openssl req -x509 -new -key openssl-ca-key.pem -days 36500 -subj "/C=NL/O=Example Operator/CN=Operator CA"
//! -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out openssl-ca.pem`.

#![allow(clippy::tests_outside_test_module, reason = "an integration test binary is all tests")]

mod ca;
mod mtls;
