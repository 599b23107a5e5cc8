//! The host fleet over HTTP, on both backends: an operator creates a host,
//! an agent registers with the token, heartbeats, refreshes its
//! credentials (new token, refresh token and certificate; the old refresh
//! token is spent), reports an auto-pause, and the host is deleted with a
//! preview and `force`. No agent runs here: the multi-process test with
//! real agents is `crates/wrenn/tests/fleet.rs`.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use wrenn_cp::http::{self, AppState};
use wrenn_cp::store::{CapsuleOp, CapsuleStatus, HostReserve, NewApiKey, Store, generate_api_key};

use crate::harness::{Ctx, ask, both, team};
use crate::server::{client, json_of, test_app};

both! {
    hosts_register_heartbeat_refresh_and_go,
    only_admins_and_byoc_teams_manage_hosts,
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn start(store: Store) -> Api {
        let router = wrenn_cp::api::router(AppState::new(test_app(store)));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(http::serve(listener, router, std::future::pending()));
        Api { base, http: client() }
    }

    async fn call(&self, method: &str, path: &str, header: (&str, &str), body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header(header.0, header.1);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("an answer");
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return (StatusCode::NO_CONTENT, Value::Null);
        }
        let (status, _, body) = json_of(response).await;
        (status, body)
    }
}

/// A key of `team` made by a new user, admin or not.
async fn key_of(store: &Store, team_id: wrenn_types::TeamId, admin: bool) -> String {
    let email = format!("u{:x}@example.test", rand_suffix());
    let user = store.create_user(&email, "someone", None, admin).await.expect("a user");
    let secret = generate_api_key().expect("a key");
    let new = NewApiKey { team_id, name: "ops", secret: &secret, created_by: Some(user.id) };
    store.create_api_key(new).await.expect("store the key");
    secret
}

fn rand_suffix() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    u64::from_le_bytes(bytes)
}

async fn hosts_register_heartbeat_refresh_and_go(ctx: Ctx) {
    let store = ctx.store.clone();
    let team = team(&store).await;
    let admin = key_of(&store, team.id, true).await;
    let api = Api::start(store.clone()).await;
    let as_admin = ("x-api-key", admin.as_str());

    let (status, created) = api.call("POST", "/v1/hosts", as_admin, Some(json!({"type": "regular"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let host_id = created["host"]["id"].as_str().expect("a host id").to_owned();
    assert_eq!(created["host"]["status"], "pending");
    let token = created["registration_token"].as_str().expect("a token").to_owned();

    // Registration: bad token, unusable address, then the real thing.
    let register = |token: &str, address: &str| json!({"token": token, "address": address, "arch": "x86_64", "cpu_cores": 4, "memory_mb": 8192, "disk_mb": 40960});
    let none = ("x-none", "");
    let (status, body) = api.call("POST", "/v1/hosts/register", none, Some(register("nope", "127.0.0.1:1"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (status, _) = api.call("POST", "/v1/hosts/register", none, Some(register(&token, "0.0.0.0:7000"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a wildcard address cannot be dialled");
    let (status, first) = api.call("POST", "/v1/hosts/register", none, Some(register(&token, "127.0.0.1:1"))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!((first["host"]["id"].as_str(), first["host"]["status"].as_str()), (Some(&*host_id), Some("online")));
    assert_eq!(first["host"]["memory_mb"], 8192);
    for pem in ["cert_pem", "key_pem", "ca_cert_pem"] {
        assert!(first[pem].as_str().is_some_and(|pem| pem.starts_with("-----BEGIN")), "{pem}");
    }
    let (status, _) = api.call("POST", "/v1/hosts/register", none, Some(register(&token, "127.0.0.1:1"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a registration token works once");
    let (status, _) = api.call("POST", &format!("/v1/hosts/{host_id}/token"), as_admin, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only a pending host gets a new token");

    // Heartbeats with the access token.
    let beat = format!("/v1/hosts/{host_id}/heartbeat");
    let access = first["token"].as_str().expect("an access token").to_owned();
    assert_eq!(api.call("POST", &beat, none, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call("POST", &beat, ("x-host-token", "v1.x.1.00"), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call("POST", &beat, ("x-host-token", &access), None).await.0, StatusCode::NO_CONTENT);
    let other = format!("/v1/hosts/{}/heartbeat", wrenn_types::HostId::from_u128(1));
    assert_eq!(api.call("POST", &other, ("x-host-token", &access), None).await.0, StatusCode::FORBIDDEN);
    let stored = store.get_host(host_id.parse().unwrap()).await.unwrap().expect("the host");
    assert!(stored.last_heartbeat_at.is_some());

    // Refresh: everything new, the old refresh token spent.
    let old_refresh = first["refresh_token"].as_str().expect("a refresh token");
    let body = json!({"refresh_token": old_refresh});
    let (status, second) = api.call("POST", "/v1/hosts/auth/refresh", none, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    // The access token only names the host and its expiry: the same while the
    // (test) clock stands still.
    for field in ["refresh_token", "cert_pem", "key_pem"] {
        assert_ne!(first[field], second[field], "{field} is renewed");
    }
    let renewed = store.get_host(host_id.parse().unwrap()).await.unwrap().expect("the host");
    assert_ne!(renewed.cert_fingerprint, stored.cert_fingerprint, "the host row names the new certificate");
    let (status, _) = api.call("POST", "/v1/hosts/auth/refresh", none, Some(body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a refresh token works once");
    let access = second["token"].as_str().expect("an access token").to_owned();
    assert_eq!(api.call("POST", &beat, ("x-host-token", &access), None).await.0, StatusCode::NO_CONTENT);

    // A capsule on the host, auto-paused by the agent.
    let capsule = store
        .create_capsule(ask(team.id, 512, 1024), HostReserve { memory_mb: 512, disk_mb: 2048 })
        .await
        .expect("place a capsule");
    assert_eq!(capsule.host_id.to_string(), host_id);
    store.transition(capsule.id, CapsuleOp::Start, "").await.unwrap().expect("starting");
    store.transition(capsule.id, CapsuleOp::Started, "").await.unwrap().expect("running");
    let host_token = ("x-host-token", access.as_str());
    let events = json!({"events": [
        {"capsule_id": capsule.id.to_string(), "event": "auto_paused", "reason": "idle for 300 s"},
        {"capsule_id": wrenn_types::CapsuleId::from_u128(1).to_string(), "event": "auto_paused"},
    ]});
    let (status, applied) = api.call("POST", "/v1/hosts/sandbox-events", host_token, Some(events.clone())).await;
    assert_eq!((status, applied), (StatusCode::OK, json!({"applied": 1})));
    let paused = store.get_capsule(capsule.id).await.unwrap().expect("the capsule");
    assert_eq!((paused.status, paused.reason.as_str()), (CapsuleStatus::Paused, "idle for 300 s"));
    let (_, again) = api.call("POST", "/v1/hosts/sandbox-events", host_token, Some(events)).await;
    assert_eq!(again, json!({"applied": 0}), "a repeated report changes nothing");
    let bad = json!({"events": [{"capsule_id": capsule.id.to_string(), "event": "exploded"}]});
    assert_eq!(api.call("POST", "/v1/hosts/sandbox-events", host_token, Some(bad)).await.0, StatusCode::BAD_REQUEST);
    let (status, _) = api.call("POST", "/v1/hosts/sandbox-events", none, Some(json!({"events": []}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Tags.
    let tags = format!("/v1/hosts/{host_id}/tags");
    for _ in 0..2 {
        assert_eq!(api.call("POST", &tags, as_admin, Some(json!({"tag": "gpu"}))).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(api.call("POST", &tags, as_admin, Some(json!({"tag": "a b"}))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.call("GET", &tags, as_admin, None).await, (StatusCode::OK, json!(["gpu"])));
    assert_eq!(api.call("DELETE", &format!("{tags}/gpu"), as_admin, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", &tags, as_admin, None).await, (StatusCode::OK, json!([])));

    // Delete: the preview names the capsule; without force 409; with force gone.
    let (status, preview) = api.call("GET", &format!("/v1/hosts/{host_id}/delete-preview"), as_admin, None).await;
    assert_eq!(status, StatusCode::OK);
    let listed = preview["sandbox_ids"].as_array().expect("ids").clone();
    let path = format!("/v1/hosts/{host_id}");
    let (status, refused) = api.call("DELETE", &path, as_admin, None).await;
    if listed.is_empty() {
        assert_eq!(status, StatusCode::NO_CONTENT, "{refused}");
    } else {
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(refused["error"]["code"], "has_active_sandboxes");
        assert_eq!(refused["error"]["sandbox_ids"], Value::Array(listed));
        let (status, _) = api.call("DELETE", &format!("{path}?force=true"), as_admin, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert_eq!(api.call("GET", &path, as_admin, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("POST", &beat, host_token, None).await.0, StatusCode::NOT_FOUND, "the agent learns it is gone");
}

async fn only_admins_and_byoc_teams_manage_hosts(ctx: Ctx) {
    let store = ctx.store.clone();
    let plain = team(&store).await;
    let byoc = store.create_team("Own hosts", &format!("b-{:x}", rand_suffix()), true).await.expect("a BYOC team");
    let admin = key_of(&store, plain.id, true).await;
    let member = key_of(&store, plain.id, false).await;
    let byoc_key = key_of(&store, byoc.id, false).await;
    let api = Api::start(store.clone()).await;
    let (as_admin, as_member, as_byoc) =
        (("x-api-key", admin.as_str()), ("x-api-key", member.as_str()), ("x-api-key", byoc_key.as_str()));

    let regular = json!({"type": "regular"});
    let (status, body) = api.call("POST", "/v1/hosts", as_member, Some(regular.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    for bad in [json!({"type": "giant"}), json!({"type": "byoc"}), json!({"type": "regular", "team_id": "x"})] {
        assert_eq!(
            api.call("POST", "/v1/hosts", as_admin, Some(bad.clone())).await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    let for_plain = json!({"type": "byoc", "team_id": plain.id.to_string()});
    assert_eq!(api.call("POST", "/v1/hosts", as_admin, Some(for_plain)).await.0, StatusCode::FORBIDDEN);
    let for_byoc = json!({"type": "byoc", "team_id": byoc.id.to_string()});
    assert_eq!(api.call("POST", "/v1/hosts", as_member, Some(for_byoc.clone())).await.0, StatusCode::FORBIDDEN);
    let (status, own) = api.call("POST", "/v1/hosts", as_byoc, Some(for_byoc)).await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let (status, shared) = api.call("POST", "/v1/hosts", as_admin, Some(regular)).await;
    assert_eq!(status, StatusCode::CREATED);

    let ids = |hosts: &Value| -> Vec<String> {
        let mut ids: Vec<String> =
            hosts.as_array().expect("a list").iter().map(|host| host["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    let (own_id, shared_id) = (own["host"]["id"].as_str().unwrap(), shared["host"]["id"].as_str().unwrap());
    let (_, all) = api.call("GET", "/v1/hosts", as_admin, None).await;
    assert!(
        [own_id, shared_id].iter().all(|id| ids(&all).iter().any(|listed| listed == id)),
        "an admin sees every host"
    );
    assert_eq!(ids(&api.call("GET", "/v1/hosts", as_byoc, None).await.1), vec![own_id.to_owned()]);
    assert_eq!(ids(&api.call("GET", "/v1/hosts", as_member, None).await.1), Vec::<String>::new());
    assert_eq!(api.call("GET", &format!("/v1/hosts/{shared_id}"), as_byoc, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("DELETE", &format!("/v1/hosts/{shared_id}"), as_member, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("GET", "/v1/hosts/not-a-host", as_admin, None).await.0, StatusCode::BAD_REQUEST);
    let (status, token) = api.call("POST", &format!("/v1/hosts/{own_id}/token"), as_byoc, None).await;
    assert_eq!(status, StatusCode::CREATED, "a pending host gets a new token");
    assert_ne!(token["registration_token"], own["registration_token"]);
    assert_eq!(api.call("DELETE", &format!("/v1/hosts/{own_id}"), as_byoc, None).await.0, StatusCode::NO_CONTENT);
}
