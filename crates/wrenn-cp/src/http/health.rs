//! `GET /health`: unauthenticated liveness and the server's version, in the
//! shape the original control plane answers (`{"status":"ok","version"}`).
//! It does not touch the database: a load balancer asks it often, and a
//! database outage should show in the routes that need the database.

use serde::Serialize;

use crate::http::Json;

#[derive(Debug, Serialize)]
pub(crate) struct Health {
    status: &'static str,
    version: &'static str,
}

pub(crate) async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}
