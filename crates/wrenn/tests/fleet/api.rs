//! The control plane's API as the fleet test calls it: JSON in, status and
//! JSON out, and waiting for a state.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(base: String, key: &str) -> Api {
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("a client");
        Api { base, key: key.to_owned(), http }
    }

    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header("x-api-key", &self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|error| panic!("{path}: {error}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }

    pub(crate) async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    pub(crate) async fn capsule_status(&self, id: &str) -> String {
        self.ok("GET", &format!("/v1/capsules/{id}"), None).await["status"].as_str().expect("a status").to_owned()
    }

    /// Waits until every capsule has `status`; how long that took.
    pub(crate) async fn wait_capsules(&self, ids: &[String], status: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let mut all = true;
            for id in ids {
                all &= self.capsule_status(id).await == status;
            }
            if all {
                return started.elapsed();
            }
            assert!(started.elapsed() < limit, "capsules {ids:?} are not all {status} after {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn host_status(&self, id: &str) -> String {
        self.ok("GET", &format!("/v1/hosts/{id}"), None).await["status"].as_str().expect("a status").to_owned()
    }

    pub(crate) async fn wait_host(&self, id: &str, status: &str, limit: Duration) {
        let started = Instant::now();
        while self.host_status(id).await != status {
            assert!(started.elapsed() < limit, "host {id} is not {status} after {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The active capsules on a host.
    pub(crate) async fn capsules_on(&self, host: &str) -> Vec<String> {
        let preview = self.ok("GET", &format!("/v1/hosts/{host}/delete-preview"), None).await;
        preview["sandbox_ids"].as_array().expect("ids").iter().map(|id| id.as_str().unwrap().to_owned()).collect()
    }

    /// Runs `sh -c script` in a capsule; its stdout.
    pub(crate) async fn sh(&self, capsule: &str, script: &str) -> String {
        let body = json!({"cmd": "/bin/sh", "args": ["-c", script], "timeout_sec": 30});
        let answer = self.ok("POST", &format!("/v1/capsules/{capsule}/exec"), Some(body)).await;
        assert_eq!(answer["exit_code"], 0, "{script}: {answer}");
        answer["stdout"].as_str().expect("stdout").to_owned()
    }
}
