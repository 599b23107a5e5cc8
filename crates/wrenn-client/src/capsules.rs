//! Capsules: create, list, inspect, pause, resume, destroy, and wait for a
//! state. The API answers 202 for changes that finish in the background;
//! [`Capsules::wait_for`] follows them to their end.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, segment};
use crate::error::Error;

/// A capsule as the API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capsule {
    /// Its id (`cl-…`).
    pub id: String,
    /// Where it is in its life.
    pub status: CapsuleStatus,
    /// The template it was made from.
    #[serde(default)]
    pub template: String,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: u32,
    /// Memory limit in MiB.
    #[serde(default)]
    pub memory_mb: u64,
    /// Disk size in MiB.
    #[serde(default)]
    pub disk_size_mb: u64,
    /// Seconds of inactivity before it is paused (0: never).
    #[serde(default)]
    pub timeout_sec: u64,
    /// Labels given at creation.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Whether its ports are reachable without credentials.
    #[serde(default)]
    pub public: bool,
    /// Why it is in its state, for failures and automatic changes.
    #[serde(default)]
    pub reason: String,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// When it first ran (RFC 3339).
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it was last used (RFC 3339).
    #[serde(default)]
    pub last_active_at: Option<String>,
    /// When its row last changed (RFC 3339).
    #[serde(default)]
    pub last_updated: String,
}

/// A capsule's state. Unknown states from a newer server are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CapsuleStatus {
    /// Admitted, not yet placed.
    Pending,
    /// Being started on its host.
    Starting,
    /// Running: commands, files and ports work.
    Running,
    /// Being paused.
    Pausing,
    /// Being checkpointed to disk.
    Hibernating,
    /// Paused: frozen, memory kept.
    Paused,
    /// Being snapshotted into a template.
    Snapshotting,
    /// Being resumed.
    Resuming,
    /// Being destroyed.
    Stopping,
    /// Checkpointed to disk, memory released.
    Hibernated,
    /// Destroyed.
    Stopped,
    /// Its host stopped answering.
    Missing,
    /// Failed; `reason` says why.
    Error,
    /// A state this client does not know.
    #[serde(untagged)]
    Other(String),
}

impl CapsuleStatus {
    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            CapsuleStatus::Pending => "pending",
            CapsuleStatus::Starting => "starting",
            CapsuleStatus::Running => "running",
            CapsuleStatus::Pausing => "pausing",
            CapsuleStatus::Hibernating => "hibernating",
            CapsuleStatus::Paused => "paused",
            CapsuleStatus::Snapshotting => "snapshotting",
            CapsuleStatus::Resuming => "resuming",
            CapsuleStatus::Stopping => "stopping",
            CapsuleStatus::Hibernated => "hibernated",
            CapsuleStatus::Stopped => "stopped",
            CapsuleStatus::Missing => "missing",
            CapsuleStatus::Error => "error",
            CapsuleStatus::Other(other) => other,
        }
    }

    /// A state that only an explicit call can leave, if any can.
    pub fn is_settled(&self) -> bool {
        matches!(
            self,
            CapsuleStatus::Running
                | CapsuleStatus::Paused
                | CapsuleStatus::Hibernated
                | CapsuleStatus::Stopped
                | CapsuleStatus::Missing
                | CapsuleStatus::Error
        )
    }
}

impl fmt::Display for CapsuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to create; every field is optional and the server fills defaults.
///
/// ```
/// let spec = wrenn_client::CreateCapsule::new().template("python").memory_mb(1024).label("job", "ci-42");
/// assert_eq!(spec.template.as_deref(), Some("python"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateCapsule {
    /// Template name (server default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Virtual CPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// Memory limit in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Disk size in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_mb: Option<u64>,
    /// Inactivity timeout in seconds (0: never paused for inactivity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_sec: Option<u64>,
    /// Labels (at most 20).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Whether its ports are reachable without credentials.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
}

impl CreateCapsule {
    /// All server defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the template.
    pub fn template(mut self, name: impl Into<String>) -> Self {
        self.template = Some(name.into());
        self
    }

    /// Sets the virtual CPUs.
    pub fn vcpus(mut self, vcpus: u32) -> Self {
        self.vcpus = Some(vcpus);
        self
    }

    /// Sets the memory limit in MiB.
    pub fn memory_mb(mut self, memory_mb: u64) -> Self {
        self.memory_mb = Some(memory_mb);
        self
    }

    /// Sets the disk size in MiB.
    pub fn disk_mb(mut self, disk_mb: u64) -> Self {
        self.disk_mb = Some(disk_mb);
        self
    }

    /// Sets the inactivity timeout in seconds.
    pub fn timeout_sec(mut self, timeout_sec: u64) -> Self {
        self.timeout_sec = Some(timeout_sec);
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Makes its ports reachable without credentials.
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }
}

/// How often [`Capsules::wait_for`] looks.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The capsule routes (`/v1/capsules`).
#[derive(Debug, Clone, Copy)]
pub struct Capsules<'a> {
    pub(crate) client: &'a Client,
}

impl Client {
    /// The capsule routes.
    pub fn capsules(&self) -> Capsules<'_> {
        Capsules { client: self }
    }
}

impl Capsules<'_> {
    /// Creates a capsule. It answers at once with the capsule `pending`;
    /// commands and files sent to it wait until it runs. Use
    /// [`Capsules::wait_for`] to wait for [`CapsuleStatus::Running`] yourself.
    ///
    /// ```no_run
    /// # async fn demo(client: &wrenn_client::Client) -> Result<(), wrenn_client::Error> {
    /// use wrenn_client::{CapsuleStatus, CreateCapsule};
    /// let capsule = client.capsules().create(&CreateCapsule::new().template("minimal")).await?;
    /// let capsule = client.capsules().wait_for(&capsule.id, CapsuleStatus::Running, std::time::Duration::from_secs(30)).await?;
    /// assert_eq!(capsule.status, CapsuleStatus::Running);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(&self, spec: &CreateCapsule) -> Result<Capsule, Error> {
        self.client.post_json("v1/capsules", spec).await
    }

    /// Every capsule of the key's team that is not stopped.
    pub async fn list(&self) -> Result<Vec<Capsule>, Error> {
        self.client.get_json("v1/capsules").await
    }

    /// One capsule.
    pub async fn get(&self, id: &str) -> Result<Capsule, Error> {
        self.client.get_json(&capsule_path(id, "")).await
    }

    /// Destroys a capsule (idempotent: destroying a stopped one succeeds).
    pub async fn destroy(&self, id: &str) -> Result<(), Error> {
        self.client.empty(self.client.request(Method::DELETE, &capsule_path(id, ""))).await
    }

    /// Pauses a running capsule; answers with the capsule `pausing`.
    pub async fn pause(&self, id: &str) -> Result<Capsule, Error> {
        self.client.json(self.client.request(Method::POST, &capsule_path(id, "/pause"))).await
    }

    /// Resumes a paused or hibernated capsule; answers with it `resuming`.
    pub async fn resume(&self, id: &str) -> Result<Capsule, Error> {
        self.client.json(self.client.request(Method::POST, &capsule_path(id, "/resume"))).await
    }

    /// Resets the capsule's inactivity timer.
    pub async fn ping(&self, id: &str) -> Result<(), Error> {
        self.client.empty(self.client.request(Method::POST, &capsule_path(id, "/ping"))).await
    }

    /// Issues a traffic token for the capsule's ports (shown once; send it
    /// as `X-Wrenn-Traffic-Token`).
    pub async fn traffic_token(&self, id: &str) -> Result<TrafficToken, Error> {
        self.client.json(self.client.request(Method::POST, &capsule_path(id, "/traffic-token"))).await
    }

    /// Polls until the capsule reaches `target`. Fails at once when it
    /// settles in another state it cannot leave by itself (e.g. `error`
    /// while waiting for `running`), and after `timeout`. Waiting for
    /// `stopped` also accepts `missing`; use [`Capsules::wait_gone`] when a
    /// capsule may disappear altogether.
    pub async fn wait_for(&self, id: &str, target: CapsuleStatus, timeout: Duration) -> Result<Capsule, Error> {
        self.wait_for_every(id, target, timeout, POLL_INTERVAL).await
    }

    /// [`Capsules::wait_for`], looking every `interval` instead of every
    /// 100 ms (a benchmark timing a state change wants a finer grain).
    pub async fn wait_for_every(
        &self,
        id: &str,
        target: CapsuleStatus,
        timeout: Duration,
        interval: Duration,
    ) -> Result<Capsule, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let capsule = self.get(id).await?;
            match wait_decision(&capsule.status, &target) {
                WaitDecision::Done => return Ok(capsule),
                WaitDecision::Failed => {
                    let why = if capsule.reason.is_empty() { String::new() } else { format!(": {}", capsule.reason) };
                    return Err(Error::Wait(format!(
                        "capsule {id} is {} while waiting for {target}{why}",
                        capsule.status
                    )));
                }
                WaitDecision::KeepWaiting => {}
            }
            if Instant::now() >= deadline {
                return Err(Error::Wait(format!(
                    "capsule {id} is still {} after {timeout:?} waiting for {target}",
                    capsule.status
                )));
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Polls until a destroyed capsule is `stopped` or `missing`, or no
    /// longer known (404), within `timeout`.
    pub async fn wait_gone(&self, id: &str, timeout: Duration) -> Result<(), Error> {
        match self.wait_for(id, CapsuleStatus::Stopped, timeout).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_not_found() => Ok(()),
            Err(err) => Err(err),
        }
    }
}

/// A traffic token for a capsule's ports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrafficToken {
    /// The capsule it admits traffic to.
    pub capsule_id: String,
    /// The token; the server keeps only its hash.
    pub traffic_token: String,
    /// The header to send it in.
    pub header: String,
}

/// What one look at a capsule means for a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitDecision {
    Done,
    KeepWaiting,
    Failed,
}

fn wait_decision(current: &CapsuleStatus, target: &CapsuleStatus) -> WaitDecision {
    if current == target || (*target == CapsuleStatus::Stopped && *current == CapsuleStatus::Missing) {
        WaitDecision::Done
    } else if current.is_settled() {
        WaitDecision::Failed
    } else {
        WaitDecision::KeepWaiting
    }
}

/// `v1/capsules/{id}{rest}` with the id escaped.
pub(crate) fn capsule_path(id: &str, rest: &str) -> String {
    format!("v1/capsules/{}{rest}", segment(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_end_on_the_target_or_a_settled_state() {
        use CapsuleStatus::*;
        let cases = [
            (Running, Running, WaitDecision::Done),
            (Starting, Running, WaitDecision::KeepWaiting),
            (Pending, Running, WaitDecision::KeepWaiting),
            (Error, Running, WaitDecision::Failed),
            (Stopped, Running, WaitDecision::Failed),
            (Pausing, Paused, WaitDecision::KeepWaiting),
            (Running, Paused, WaitDecision::Failed),
            (Missing, Stopped, WaitDecision::Done),
            (Stopping, Stopped, WaitDecision::KeepWaiting),
            (Other("new".into()), Running, WaitDecision::KeepWaiting),
        ];
        for (current, target, want) in cases {
            assert_eq!(wait_decision(&current, &target), want, "{current} → {target}");
        }
    }

    #[test]
    fn statuses_parse_and_keep_unknown_ones() {
        let parsed: Vec<CapsuleStatus> = serde_json::from_str(r#"["running","hibernating","warp"]"#).unwrap();
        assert_eq!(parsed, [CapsuleStatus::Running, CapsuleStatus::Hibernating, CapsuleStatus::Other("warp".into())]);
        assert_eq!(serde_json::to_string(&CapsuleStatus::Snapshotting).unwrap(), r#""snapshotting""#);
    }

    #[test]
    fn create_sends_only_what_is_set() {
        let body = serde_json::to_value(CreateCapsule::new().template("minimal").label("a", "b")).unwrap();
        assert_eq!(body, serde_json::json!({"template": "minimal", "metadata": {"a": "b"}}));
        assert_eq!(serde_json::to_value(CreateCapsule::new()).unwrap(), serde_json::json!({}));
    }
}
