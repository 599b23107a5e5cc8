//! `/health`, `/metrics`, `/envs` and `/init`, including the access token
//! that `/init` sets and every later request must carry.

use crate::harness::TestEnvd;

#[tokio::test]
async fn health_metrics_and_envs() {
    let envd = TestEnvd::start().await;
    let http = envd.http();
    let health = http.get(envd.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["cache-control"], "no-store");
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));

    let metrics: serde_json::Value = http.get(envd.url("/metrics")).send().await.unwrap().json().await.unwrap();
    for field in [
        "ts",
        "cpu_count",
        "cpu_used_pct",
        "mem_total_mib",
        "mem_used_mib",
        "mem_total",
        "mem_used",
        "disk_used",
        "disk_total",
    ] {
        assert!(metrics[field].is_number(), "{field} missing in {metrics}");
    }
    assert!(metrics["cpu_count"].as_u64().unwrap() >= 1);
    assert!(metrics["mem_used"].as_u64().unwrap() <= metrics["mem_total"].as_u64().unwrap());
    assert!(metrics["disk_used"].as_u64().unwrap() <= metrics["disk_total"].as_u64().unwrap());
    assert!(metrics["mem_total"].as_u64().unwrap() > 0);

    let envs: serde_json::Value = http.get(envd.url("/envs")).send().await.unwrap().json().await.unwrap();
    assert_eq!(envs["E2B_SANDBOX"], "true");
    let response = http.post(envd.url("/init")).json(&serde_json::json!({"envVars": {"A": "1"}})).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let envs: serde_json::Value = http.get(envd.url("/envs")).send().await.unwrap().json().await.unwrap();
    assert_eq!(envs["A"], "1");
}

#[tokio::test]
async fn once_a_token_is_set_every_request_needs_it() {
    let envd = TestEnvd::start().await;
    let http = envd.http();
    let list = |token: Option<&'static str>| {
        let mut request =
            http.post(envd.url("/process.Process/List")).header("content-type", "application/json").body("{}");
        if let Some(token) = token {
            request = request.header("x-access-token", token);
        }
        request.send()
    };
    assert_eq!(list(None).await.unwrap().status(), 200, "open before a token is set");

    let init = http.post(envd.url("/init")).json(&serde_json::json!({"accessToken": "s3cret"})).send().await.unwrap();
    assert_eq!(init.status(), 204);
    assert_eq!(list(None).await.unwrap().status(), 401);
    assert_eq!(list(Some("wrong")).await.unwrap().status(), 401);
    assert_eq!(list(Some("s3cret")).await.unwrap().status(), 200);
    assert_eq!(http.get(envd.url("/health")).send().await.unwrap().status(), 200, "health stays open");
    assert_eq!(http.get(envd.url("/metrics")).send().await.unwrap().status(), 401);
    assert_eq!(http.get(envd.url("/files?path=x")).send().await.unwrap().status(), 401);

    // Changing the token needs the current one.
    let hijack = http.post(envd.url("/init")).json(&serde_json::json!({"accessToken": "mine"})).send().await.unwrap();
    assert_eq!(hijack.status(), 401);
    let rotate = http
        .post(envd.url("/init"))
        .header("x-access-token", "s3cret")
        .json(&serde_json::json!({"accessToken": "next"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotate.status(), 204);
    assert_eq!(list(Some("s3cret")).await.unwrap().status(), 401);
    assert_eq!(list(Some("next")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn init_rejects_bad_input_and_ignores_stale_replays() {
    let envd = TestEnvd::start().await;
    let http = envd.http();
    let init = |body: serde_json::Value| http.post(envd.url("/init")).json(&body).send();
    for bad in [
        serde_json::json!({"defaultWorkdir": "relative/dir"}),
        serde_json::json!({"envVars": {"A=B": "x"}}),
        serde_json::json!({"timestamp": "yesterday"}),
        serde_json::json!({"defaultUser": "no-such-user-anywhere"}),
    ] {
        assert_eq!(init(bad.clone()).await.unwrap().status(), 400, "{bad}");
    }
    let raw =
        http.post(envd.url("/init")).header("content-type", "application/json").body("{oops").send().await.unwrap();
    assert_eq!(raw.status(), 400);

    assert_eq!(init(serde_json::json!({"timestamp": 2000, "envVars": {"V": "new"}})).await.unwrap().status(), 204);
    // An older init arriving late must not roll the defaults back.
    assert_eq!(init(serde_json::json!({"timestamp": 1000, "envVars": {"V": "old"}})).await.unwrap().status(), 204);
    assert_eq!(
        init(serde_json::json!({"timestamp": "1970-01-01T00:20:00Z", "envVars": {"V": "old"}})).await.unwrap().status(),
        204
    );
    let envs: serde_json::Value = http.get(envd.url("/envs")).send().await.unwrap().json().await.unwrap();
    assert_eq!(envs["V"], "new");
}
