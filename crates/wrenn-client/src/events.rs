//! The team's live events (`GET /v1/events/stream`): capsules created,
//! paused, resumed, destroyed and changing state, snapshots made and
//! deleted. The server sends Server-Sent Events ([`sse`] reads the
//! framing); [`EventStream`] turns them into typed [`Event`]s.
//!
//! The stream has no overall time limit, but it does notice a dead
//! connection: the server sends a keepalive every 15 s, so a stream that
//! stays silent for [`DEFAULT_IDLE_TIMEOUT`] ends with an error instead of
//! hanging forever.

mod sse;

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::time::{Instant, Sleep};

use crate::capsules::Capsule;
use crate::client::{Client, transport_error};
use crate::error::Error;
use sse::SseParser;

/// How long the stream may stay silent (not even a keepalive) before it
/// counts as lost: three of the server's 15 s keepalives, and some slack.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// The kind of the event a stream opens with, once it is live.
pub const CONNECTED: &str = "connected";

/// One event. Every field but `event` is optional, and fields this client
/// does not know are ignored, so a newer server does not break it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The kind: `connected`, `capsule.create`, `capsule.pause`,
    /// `capsule.resume`, `capsule.destroy`, `capsule.state.changed`,
    /// `template.snapshot.create`, `template.snapshot.delete`, `host.up`,
    /// `host.down`, or one this client does not know yet.
    pub event: String,
    /// `success` or `error`, on actions (`capsule.*` but `state.changed`,
    /// `template.snapshot.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What the event is about.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// Who caused it.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// Details: `from` and `to` on state changes, `reason`, `host_ip`…
    #[serde(default, deserialize_with = "lenient_labels", skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Why the action failed (with `outcome: error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The capsule after the event, on `capsule.*` events.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Capsule>,
    /// When it happened (RFC 3339).
    #[serde(default)]
    pub timestamp: String,
}

impl Event {
    /// The id of the capsule the event is about, if it is about one.
    pub fn capsule_id(&self) -> Option<&str> {
        match &self.resource {
            Some(resource) if resource.kind == "sandbox" => Some(&resource.id),
            _ => self.sandbox.as_ref().map(|capsule| capsule.id.as_str()),
        }
    }

    /// True for the event a stream opens with.
    pub fn is_connected(&self) -> bool {
        self.event == CONNECTED
    }
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// A capsule id, a snapshot's name or a host id.
    #[serde(default)]
    pub id: String,
    /// `sandbox` (a capsule), `snapshot` or `host`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user`, `api_key` or `system`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The user's or key's id (empty for the system).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The user's or key's name (empty for the system).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// A part of an event this client cannot read is left out rather than
/// failing the whole event.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|value| serde_json::from_value(value).ok()))
}

/// Labels: `null` is none, and a value that is not a string keeps its JSON text.
fn lenient_labels<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    let labels = Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(labels
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => (key, text),
            other => (key, other.to_string()),
        })
        .collect())
}

/// The event routes.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    client: &'a Client,
    idle_timeout: Option<Duration>,
}

impl Client {
    /// The team's events.
    pub fn events(&self) -> Events<'_> {
        Events { client: self, idle_timeout: Some(DEFAULT_IDLE_TIMEOUT) }
    }
}

impl Events<'_> {
    /// How long the stream may stay silent before it ends with an error
    /// (default [`DEFAULT_IDLE_TIMEOUT`]); `None` waits forever, as the
    /// Python SDK does.
    pub fn idle_timeout(mut self, limit: Option<Duration>) -> Self {
        self.idle_timeout = limit;
        self
    }

    /// Opens the stream. It yields a [`CONNECTED`] event first, then each
    /// event of the key's team as it happens, and ends (`None`) when the
    /// server closes it (a restart, or a reader too slow for the server's
    /// buffer): reconnect to go on. A refused key or another error answer
    /// is an [`Error::Api`] here, before any event.
    ///
    /// An event that is not JSON is an `Err` item and the stream goes on;
    /// a broken connection, a silent one or an oversized line is a last
    /// `Err` item and the stream ends.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn demo(client: &wrenn_client::Client) -> Result<(), wrenn_client::Error> {
    /// let mut events = client.events().stream().await?;
    /// while let Some(event) = events.next().await {
    ///     let event = event?;
    ///     println!("{} {:?}", event.event, event.capsule_id());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stream(&self) -> Result<EventStream, Error> {
        let request = self
            .client
            .streaming_request(Method::GET, "v1/events/stream")
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let response = self.client.send(request).await?;
        let url = response.url().to_string();
        Ok(EventStream {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::default(),
            ready: VecDeque::new(),
            idle: self.idle_timeout.map(|limit| (limit, Box::pin(tokio::time::sleep(limit)))),
            url,
            finished: false,
        })
    }
}

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// The live events of a team; see [`Events::stream`].
pub struct EventStream {
    body: Body,
    parser: SseParser,
    /// Payloads read but not handed out yet.
    ready: VecDeque<String>,
    /// The silence limit and the timer that fires when it is reached.
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    url: String,
    finished: bool,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("url", &self.url)
            .field("ready", &self.ready.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// True once the stream has ended or will end after the items already
    /// read: an `Err` item seen while this is false was one bad event, and
    /// the stream goes on.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Ends the stream with a last error.
    fn fail(&mut self, error: Error) -> Poll<Option<Result<Event, Error>>> {
        self.finished = true;
        self.ready.clear();
        Poll::Ready(Some(Err(error)))
    }

    fn protocol(&self, detail: String) -> Error {
        Error::Protocol { url: self.url.clone(), detail }
    }
}

impl Stream for EventStream {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(payload) = this.ready.pop_front() {
                return Poll::Ready(Some(serde_json::from_str::<Event>(&payload).map_err(|err| {
                    let start: String = payload.chars().take(120).collect();
                    this.protocol(format!("an event is not valid: {err} (data: {start:?})"))
                })));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some((limit, timer)) = &mut this.idle {
                        timer.as_mut().reset(Instant::now() + *limit);
                    }
                    match this.parser.feed(&chunk) {
                        Ok(payloads) => this.ready.extend(payloads),
                        Err(err) => {
                            let error = this.protocol(err.to_string());
                            return this.fail(error);
                        }
                    }
                }
                Poll::Ready(Some(Err(source))) => {
                    let error = transport_error(this.url.clone(), source);
                    return this.fail(error);
                }
                Poll::Ready(None) => {
                    this.finished = true;
                }
                Poll::Pending => {
                    let Some((limit, timer)) = &mut this.idle else {
                        return Poll::Pending;
                    };
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let limit = *limit;
                    let error = this.protocol(format!("the stream was silent for {limit:?} (no event, no keepalive)"));
                    return this.fail(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
