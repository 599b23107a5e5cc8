//! `GET /health`, `GET /metrics` and `GET /envs`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;

use crate::state::SharedState;
use crate::sys::stats;

#[derive(Debug, Serialize)]
struct Health {
    version: &'static str,
}

pub(crate) async fn health() -> impl IntoResponse {
    ([(http::header::CACHE_CONTROL, "no-store")], Json(Health { version: crate::VERSION }))
}

/// The capsule's resource use, as E2B's envd reports it.
#[derive(Debug, Serialize)]
struct Metrics {
    ts: i64,
    cpu_count: u32,
    cpu_used_pct: f64,
    mem_total_mib: u64,
    mem_used_mib: u64,
    mem_total: u64,
    mem_used: u64,
    disk_used: u64,
    disk_total: u64,
}

pub(crate) async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    let memory = stats::memory();
    let disk = stats::disk("/");
    let metrics = Metrics {
        ts: crate::auth::now_unix() as i64,
        cpu_count: stats::cpu_count(),
        cpu_used_pct: (state.cpu.used_pct() * 100.0).round() / 100.0,
        mem_total_mib: memory.total / (1024 * 1024),
        mem_used_mib: memory.used / (1024 * 1024),
        mem_total: memory.total,
        mem_used: memory.used,
        disk_used: disk.used,
        disk_total: disk.total,
    };
    ([(http::header::CACHE_CONTROL, "no-store")], Json(metrics))
}

pub(crate) async fn envs(State(state): State<SharedState>) -> Json<BTreeMap<String, String>> {
    Json(state.defaults().envs)
}
