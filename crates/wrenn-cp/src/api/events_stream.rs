//! `GET /v1/events/stream`: the team's events as Server-Sent Events.
//!
//! A `connected` event first, then every event of the caller's team as one
//! `event: <kind>` / `data: <json>` frame, with a keepalive comment every
//! 15 s for intermediaries. A subscriber that falls behind the bus's
//! buffer, or a server that shuts down, ends the stream; clients reconnect.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event as SseFrame, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;

use crate::events::{Audience, Event};
use crate::http::{AppState, AuthContext, StreamGuard};

const KEEPALIVE: Duration = Duration::from_secs(15);

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/events/stream", get(stream))
}

async fn stream(
    State(state): State<AppState>,
    auth: AuthContext,
    guard: StreamGuard,
) -> Sse<impl Stream<Item = Result<SseFrame, Infallible>>> {
    let subscription = state.app().bus().subscribe(Audience::Team(auth.team_id));
    let frames = async_stream::stream! {
        let mut guard = guard;
        let mut subscription = subscription;
        yield Ok(frame(&Event::connected()));
        loop {
            tokio::select! {
                next = subscription.next() => match next {
                    Ok(event) => yield Ok(frame(&event)),
                    Err(end) => {
                        tracing::debug!(reason = %end, "event stream ends");
                        break;
                    }
                },
                () = guard.draining() => break,
            }
        }
    };
    Sse::new(frames).keep_alive(KeepAlive::new().interval(KEEPALIVE).text("keepalive"))
}

/// One SSE frame: the kind on the `event:` line, the JSON on `data:`.
fn frame(event: &Event) -> SseFrame {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    SseFrame::default().event(event.event.as_str()).data(data)
}
