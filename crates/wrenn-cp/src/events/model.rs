//! What an event says, in the shape the SDK's `SSEEvent` model reads.
//!
//! The same JSON travels on the bus (the `payload` field of a Redis stream
//! entry) and on the `data:` line of `GET /v1/events/stream`, so a replica
//! forwards what it reads without re-encoding decisions. `team_id` rides
//! along for routing and filtering; the SDK ignores fields it does not know.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wrenn_types::TeamId;

/// The kinds the SDK accepts, with their exact wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// The sentinel an SSE stream opens with; never published on the bus.
    #[serde(rename = "connected")]
    Connected,
    #[serde(rename = "capsule.create")]
    CapsuleCreate,
    #[serde(rename = "capsule.pause")]
    CapsulePause,
    #[serde(rename = "capsule.resume")]
    CapsuleResume,
    #[serde(rename = "capsule.destroy")]
    CapsuleDestroy,
    /// A capsule moved between states; `metadata` holds `from` and `to`.
    #[serde(rename = "capsule.state.changed")]
    CapsuleStateChanged,
    #[serde(rename = "template.snapshot.create")]
    TemplateSnapshotCreate,
    #[serde(rename = "template.snapshot.delete")]
    TemplateSnapshotDelete,
    #[serde(rename = "host.up")]
    HostUp,
    #[serde(rename = "host.down")]
    HostDown,
}

impl EventKind {
    /// The wire name, also the SSE `event:` line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Connected => "connected",
            EventKind::CapsuleCreate => "capsule.create",
            EventKind::CapsulePause => "capsule.pause",
            EventKind::CapsuleResume => "capsule.resume",
            EventKind::CapsuleDestroy => "capsule.destroy",
            EventKind::CapsuleStateChanged => "capsule.state.changed",
            EventKind::TemplateSnapshotCreate => "template.snapshot.create",
            EventKind::TemplateSnapshotDelete => "template.snapshot.delete",
            EventKind::HostUp => "host.up",
            EventKind::HostDown => "host.down",
        }
    }

    /// Action events carry an `outcome`; state changes, host events and
    /// the sentinel do not.
    pub fn is_action(self) -> bool {
        matches!(
            self,
            EventKind::CapsuleCreate
                | EventKind::CapsulePause
                | EventKind::CapsuleResume
                | EventKind::CapsuleDestroy
                | EventKind::TemplateSnapshotCreate
                | EventKind::TemplateSnapshotDelete
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Error,
}

/// What the event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ResourceKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Sandbox,
    Snapshot,
    Host,
}

/// Who caused the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

impl Actor {
    /// The platform itself: a worker, the reconciler, the host monitor.
    pub fn system() -> Actor {
        Actor { kind: ActorKind::System, id: String::new(), name: String::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiKey,
    System,
}

/// A moment as unix milliseconds (the store's unit), written as RFC 3339
/// in UTC with a `Z` and milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix_ms(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub fn now() -> Timestamp {
        // Before 1970 or after year 292 million is a broken host; clamp.
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }

    pub fn unix_ms(self) -> i64 {
        self.0
    }

    fn system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(u64::try_from(self.0).unwrap_or(0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.system_time()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        let time = humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)?;
        let ms = time.duration_since(UNIX_EPOCH).map_err(serde::de::Error::custom)?.as_millis();
        Ok(Timestamp(i64::try_from(ms).unwrap_or(i64::MAX)))
    }
}

/// One event, as published and as streamed to the SDK.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event: EventKind,
    /// The owning team: subscribers see only their team's events. `None`
    /// (platform hosts) reaches only unfiltered subscribers.
    #[serde(default, with = "team_id_text", skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Why the action failed; only with `outcome: error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The capsule as the API renders it, for `capsule.*` events. The API
    /// layer owns that shape, so it arrives here already rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<serde_json::Value>,
    pub timestamp: Timestamp,
}

impl Event {
    /// An event of `kind` about `resource`, stamped now, with nothing else
    /// filled in.
    pub fn new(kind: EventKind, team_id: Option<TeamId>, resource: Resource, actor: Actor) -> Event {
        Event {
            event: kind,
            team_id,
            outcome: None,
            resource: Some(resource),
            actor: Some(actor),
            metadata: BTreeMap::new(),
            error: None,
            sandbox: None,
            timestamp: Timestamp::now(),
        }
    }

    /// The sentinel that opens an SSE stream.
    pub fn connected() -> Event {
        Event {
            event: EventKind::Connected,
            team_id: None,
            outcome: None,
            resource: None,
            actor: None,
            metadata: BTreeMap::new(),
            error: None,
            sandbox: None,
            timestamp: Timestamp::now(),
        }
    }
}

/// `team_id` in its text form (`team-…`); wrenn-types stays serde-free.
mod team_id_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use wrenn_types::TeamId;

    pub(super) fn serialize<S: Serializer>(team: &Option<TeamId>, serializer: S) -> Result<S::Ok, S::Error> {
        match team {
            Some(team) => serializer.collect_str(team),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<TeamId>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| text.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_the_sdk_model() {
        let team = TeamId::from_u128(7);
        let mut event = Event::new(
            EventKind::CapsuleStateChanged,
            Some(team),
            Resource { id: "cl-1".to_owned(), kind: ResourceKind::Sandbox },
            Actor::system(),
        );
        event.timestamp = Timestamp::from_unix_ms(1_790_000_000_123);
        event.metadata.insert("from".to_owned(), "starting".to_owned());
        event.metadata.insert("to".to_owned(), "running".to_owned());
        let json = serde_json::to_value(&event).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({
                "event": "capsule.state.changed",
                "team_id": team.to_string(),
                "resource": {"id": "cl-1", "type": "sandbox"},
                "actor": {"type": "system"},
                "metadata": {"from": "starting", "to": "running"},
                "timestamp": "2026-09-21T14:13:20.123Z",
            })
        );
        let back: Event = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, event);
    }

    #[test]
    fn every_kind_has_its_wire_name() {
        for kind in [
            EventKind::Connected,
            EventKind::CapsuleCreate,
            EventKind::CapsulePause,
            EventKind::CapsuleResume,
            EventKind::CapsuleDestroy,
            EventKind::CapsuleStateChanged,
            EventKind::TemplateSnapshotCreate,
            EventKind::TemplateSnapshotDelete,
            EventKind::HostUp,
            EventKind::HostDown,
        ] {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn the_sentinel_is_bare() {
        let mut event = Event::connected();
        event.timestamp = Timestamp::from_unix_ms(0);
        let json = serde_json::to_string(&event).expect("serialize");
        assert_eq!(json, r#"{"event":"connected","timestamp":"1970-01-01T00:00:00.000Z"}"#);
    }
}
