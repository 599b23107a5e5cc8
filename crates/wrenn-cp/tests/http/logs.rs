//! One structured log line per request, inside a span that carries the
//! request id, method, path and (once authenticated) the team.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wrenn_cp::store::{NewApiKey, generate_api_key};

use crate::harness::{Ctx, Kind, run, team};
use crate::server::{TestServer, client};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A current-thread runtime, so the server's tasks log into this test's
/// subscriber.
#[tokio::test]
async fn requests_are_logged_with_their_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    run(Kind::Sqlite, log_body).await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let request_line = |id: &str| {
        lines
            .iter()
            .find(|line| line["fields"]["message"] == "request" && line["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no request log for {id}: {text}"))
            .clone()
    };
    let health = request_line("log-health");
    assert_eq!((health["span"]["method"].as_str(), health["span"]["path"].as_str()), (Some("GET"), Some("/health")));
    assert_eq!(health["fields"]["status"], 200);
    assert!(health["fields"]["duration_ms"].as_f64().is_some(), "{health}");

    let protected = request_line("log-protected");
    assert_eq!(protected["fields"]["status"], 200);
    assert!(protected["span"]["team_id"].as_str().is_some_and(|id| id.starts_with("team-")), "{protected}");

    let missing = request_line("log-missing");
    assert_eq!(
        (missing["fields"]["status"].as_u64(), missing["fields"]["error_code"].as_str()),
        (Some(404), Some("not_found"))
    );
}

async fn log_body(ctx: Ctx) {
    let team = team(&ctx.store).await;
    let secret = generate_api_key().unwrap();
    let new = NewApiKey { team_id: team.id, name: "logs", secret: &secret, created_by: None };
    ctx.store.create_api_key(new).await.unwrap();
    let server = TestServer::standard(ctx.store).await;
    let client = client();
    for (id, path) in [("log-health", "/health"), ("log-protected", "/test/protected"), ("log-missing", "/nope")] {
        client.get(server.url(path)).header("x-request-id", id).header("x-api-key", &secret).send().await.unwrap();
    }
    server.stop().await;
}
