//! Telling a live WebSocket from a dead one. A connection whose peer
//! vanished (a host that lost power, a NAT that forgot the flow) stays
//! silent forever: no error ever comes from reading it. So every stream
//! and terminal sends a WebSocket Ping after [`Limits::ping_every`] without
//! a frame from the server, and gives up when nothing at all (the Pong, or
//! any other frame) arrives within [`Limits::answer_within`] after it, as
//! the Python SDK does (20 s and 20 s).
//!
//! [`Keepalive`] is only the clock and the decision; the socket's owner
//! sends the Ping and reports the failure.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite;

use crate::error::Error;

/// How long a connection may stay quiet before it is pinged, and how long
/// it then has to show a sign of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) ping_every: Duration,
    pub(crate) answer_within: Duration,
}

/// The limits of every stream and terminal.
pub(crate) const LIMITS: Limits =
    Limits { ping_every: Duration::from_secs(20), answer_within: Duration::from_secs(20) };

impl Limits {
    /// The longest a single send may take: a send blocked that long means
    /// the peer takes no data at all.
    pub(crate) fn send_limit(self) -> Duration {
        self.ping_every + self.answer_within
    }
}

/// What is due when the connection has been quiet too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Send a Ping now.
    Ping,
    /// A Ping went unanswered: the connection is dead.
    Dead,
}

/// The liveness clock of one connection.
#[derive(Debug)]
pub(crate) struct Keepalive {
    limits: Limits,
    timer: Pin<Box<Sleep>>,
    last_heard: Instant,
    pinged_at: Option<Instant>,
}

impl Keepalive {
    pub(crate) fn new(limits: Limits) -> Keepalive {
        let now = Instant::now();
        Keepalive {
            limits,
            timer: Box::pin(tokio::time::sleep_until(now + limits.ping_every)),
            last_heard: now,
            pinged_at: None,
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// A frame arrived (or the owner was busy elsewhere and could not
    /// listen): the quiet interval starts again. Cheap: the timer is only
    /// moved when it fires.
    pub(crate) fn heard(&mut self) {
        self.last_heard = Instant::now();
        self.pinged_at = None;
    }

    /// Ready when a Ping is due (it counts as sent from then on) or the
    /// connection is dead; pending otherwise.
    pub(crate) fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Due> {
        let deadline = match self.pinged_at {
            None => self.last_heard + self.limits.ping_every,
            Some(pinged_at) => pinged_at + self.limits.answer_within,
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        ready!(self.timer.as_mut().poll(cx));
        if self.pinged_at.is_some() {
            return Poll::Ready(Due::Dead);
        }
        self.pinged_at = Some(Instant::now());
        Poll::Ready(Due::Ping)
    }

    /// [`Keepalive::poll_due`] as a future.
    pub(crate) async fn due(&mut self) -> Due {
        std::future::poll_fn(|cx| self.poll_due(cx)).await
    }
}

/// The error of a connection that stopped answering.
pub(crate) fn dead(url: &str, limits: Limits) -> Error {
    let why = format!(
        "the connection is dead: nothing arrived within {} s of a ping (after {} s of silence)",
        limits.answer_within.as_secs_f32(),
        limits.ping_every.as_secs_f32()
    );
    timed_out(url, why)
}

/// The error of a send the peer did not take within the limit.
pub(crate) fn send_stalled(url: &str, limits: Limits) -> Error {
    timed_out(
        url,
        format!("the connection is dead: a send did not go out within {} s", limits.send_limit().as_secs_f32()),
    )
}

/// A WebSocket step that ran out of time, said as a timed-out I/O error.
pub(crate) fn timed_out(url: &str, why: String) -> Error {
    let source = tungstenite::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, why));
    Error::WebSocket { url: url.to_owned(), source: Box::new(source) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Limits = Limits { ping_every: Duration::from_millis(60), answer_within: Duration::from_millis(60) };

    #[tokio::test]
    async fn quiet_means_ping_then_dead_and_any_frame_starts_over() {
        let started = Instant::now();
        let mut keepalive = Keepalive::new(SHORT);
        assert_eq!(keepalive.due().await, Due::Ping);
        assert!(started.elapsed() >= SHORT.ping_every);
        keepalive.heard();
        let heard = Instant::now();
        assert_eq!(keepalive.due().await, Due::Ping, "a frame after the ping cancels the verdict");
        assert!(heard.elapsed() >= SHORT.ping_every);
        let pinged = Instant::now();
        assert_eq!(keepalive.due().await, Due::Dead);
        assert!(pinged.elapsed() >= SHORT.answer_within);
        assert_eq!(keepalive.due().await, Due::Dead, "dead stays dead");
    }

    #[test]
    fn errors_say_the_connection_is_dead() {
        let err = dead("ws://h/x", LIMITS);
        assert!(err.to_string().contains("ws://h/x"), "{err}");
        let mut text = err.to_string();
        if let Some(source) = std::error::Error::source(&err) {
            text.push_str(&source.to_string());
        }
        assert!(text.contains("the connection is dead"), "{text}");
        assert_eq!(LIMITS.send_limit(), Duration::from_secs(40));
    }
}
