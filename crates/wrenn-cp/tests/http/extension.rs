//! A program embedding the control plane: `Server` with an extension whose
//! route authenticates like the core's, whose middleware wraps every
//! answer, and whose worker writes to the audit log until the shutdown,
//! which waits for it (and aborts a worker that does not stop).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wrenn_cp::Store;
use wrenn_cp::background::BackgroundConfig;
use wrenn_cp::http::{AppState, AuthContext, Json, REQUEST_ID_HEADER, ServeConfig};
use wrenn_cp::server::{AuditLog, Extension, ExtensionContext, Server, Worker};
use wrenn_cp::store::{NewApiKey, NewAuditEntry, generate_api_key};
use wrenn_types::TeamId;

use crate::harness::{Ctx, team};
use crate::server::{client, error_body, json_of, sqlite, test_app};

sqlite! {
    an_extension_adds_routes_middleware_and_workers,
    shutdown_aborts_a_worker_that_ignores_it,
}

/// The header the extension's middleware puts on every answer.
const EXTENSION_HEADER: &str = "x-billing";
const METER: &str = "billing.meter";
const METER_STOPPED: &str = "billing.meter_stopped";

/// What a hosted edition might add: a billing route, a header, a meter.
struct Billing {
    team_id: TeamId,
    meter_stopped: Arc<AtomicBool>,
}

impl Extension for Billing {
    fn name(&self) -> &str {
        "billing"
    }

    fn routes(&self, _context: &ExtensionContext) -> Router<AppState> {
        Router::new().route("/v1/billing/account", get(account))
    }

    fn middleware(&self, _context: &ExtensionContext, router: Router) -> Router {
        router.layer(axum::middleware::from_fn(tag))
    }

    fn workers(&self, context: &ExtensionContext) -> Vec<Worker> {
        let (audit, team_id, meter_stopped) = (context.audit(), self.team_id, self.meter_stopped.clone());
        vec![Worker::new("meter", move |shutdown| async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = tick.tick() => record(&audit, team_id, METER).await,
                }
            }
            record(&audit, team_id, METER_STOPPED).await;
            meter_stopped.store(true, Ordering::SeqCst);
        })]
    }
}

/// A protected route that also reads the store through the core state.
async fn account(auth: AuthContext, State(state): State<AppState>) -> Json<Value> {
    let team = state.store().get_team(auth.team_id).await.expect("read the team").expect("the team exists");
    Json(json!({"team_id": team.id.to_string(), "team_name": team.name, "key_name": auth.key_name}))
}

async fn tag(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(EXTENSION_HEADER, HeaderValue::from_static("on"));
    response
}

async fn record(audit: &AuditLog, team_id: TeamId, action: &str) {
    let entry = NewAuditEntry {
        team_id,
        actor_type: "system".to_owned(),
        actor_id: None,
        actor_name: "billing".to_owned(),
        resource_type: "team".to_owned(),
        resource_id: Some(team_id.to_string()),
        action: action.to_owned(),
        scope: "admin".to_owned(),
        status: "info".to_owned(),
        metadata: json!({}),
    };
    audit.append(entry).await.expect("append an audit entry");
}

async fn an_extension_adds_routes_middleware_and_workers(ctx: Ctx) {
    let store = ctx.store.clone();
    let team = team(&store).await;
    let secret = generate_api_key().unwrap();
    store.create_api_key(NewApiKey { team_id: team.id, name: "ci", secret: &secret, created_by: None }).await.unwrap();
    let meter_stopped = Arc::new(AtomicBool::new(false));
    let server = Server::builder(test_app(store.clone()))
        .background(BackgroundConfig { tick: Duration::from_secs(3600), ..BackgroundConfig::default() })
        .serve_config(ServeConfig { shutdown_grace: Duration::from_secs(5), ..ServeConfig::standard() })
        .extension(Billing { team_id: team.id, meter_stopped: meter_stopped.clone() })
        .build();
    let running = Running::start(server).await;
    let client = client();
    let account = running.url("/v1/billing/account");

    let response = client.get(&account).send().await.unwrap();
    assert_eq!(response.headers()[EXTENSION_HEADER], "on");
    let (status, _, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, error_body("unauthorized", "missing API key: send it in the X-API-Key header"));

    let (status, headers, body) =
        json_of(client.get(&account).header("x-api-key", &secret).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"team_id": team.id.to_string(), "team_name": team.name, "key_name": "ci"}));
    assert_eq!(headers[EXTENSION_HEADER], "on");
    assert!(headers.contains_key(REQUEST_ID_HEADER), "extension routes get the core middleware");

    let health = client.get(running.url("/health")).send().await.unwrap();
    assert_eq!((health.status().as_u16(), &health.headers()[EXTENSION_HEADER]), (200, &HeaderValue::from_static("on")));
    let (status, headers, body) = json_of(client.get(running.url("/v1/billing/nothing")).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(headers[EXTENSION_HEADER], "on", "the middleware wraps the fallback too");
    let (status, _, _) = json_of(client.get(running.url("/v1/capsules")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the core API is served beside the extension");

    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&store, team.id, METER).await < 2 {
        assert!(Instant::now() < deadline, "the worker writes on its ticks");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!meter_stopped.load(Ordering::SeqCst));

    running.stop().await;
    assert!(meter_stopped.load(Ordering::SeqCst), "the shutdown waits for the worker to finish");
    assert_eq!(count(&store, team.id, METER_STOPPED).await, 1, "the worker finished its own way");
    let metered = count(&store, team.id, METER).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count(&store, team.id, METER).await, metered, "the worker no longer ticks");
}

/// An extension whose worker never looks at its token.
struct Stubborn {
    dropped: Arc<AtomicBool>,
}

impl Extension for Stubborn {
    fn name(&self) -> &str {
        "stubborn"
    }

    fn workers(&self, _context: &ExtensionContext) -> Vec<Worker> {
        let dropped = SetOnDrop(self.dropped.clone());
        vec![Worker::new("forever", move |_shutdown| async move {
            let _dropped = dropped;
            std::future::pending::<()>().await;
        })]
    }
}

/// Sets its flag when dropped: an aborted task drops its future.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn shutdown_aborts_a_worker_that_ignores_it(ctx: Ctx) {
    let dropped = Arc::new(AtomicBool::new(false));
    let grace = Duration::from_millis(300);
    let server = Server::builder(test_app(ctx.store.clone()))
        .serve_config(ServeConfig { shutdown_grace: grace, ..ServeConfig::standard() })
        .extension(Stubborn { dropped: dropped.clone() })
        .build();
    let running = Running::start(server).await;
    let response = client().get(running.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!dropped.load(Ordering::SeqCst));

    let took = running.stop().await;
    assert!(took >= grace, "the shutdown gives the worker the grace period ({took:?})");
    assert!(took < Duration::from_secs(5), "then stops without it ({took:?})");
    assert!(dropped.load(Ordering::SeqCst), "the worker was aborted");
}

/// A `Server` serving on 127.0.0.1:0 until [`Running::stop`].
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    async fn start(server: Server) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Running { addr, stop, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts down and waits until `serve` returned; how long that took.
    async fn stop(self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the server stops within 30 s")
            .expect("the server task does not panic");
        started.elapsed()
    }
}

async fn count(store: &Store, team_id: TeamId, action: &str) -> usize {
    let page = store.list_audit(team_id, 1000, None).await.unwrap();
    page.entries.iter().filter(|entry| entry.entry.action == action).count()
}
