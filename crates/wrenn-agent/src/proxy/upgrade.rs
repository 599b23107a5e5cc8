//! Splicing an upgraded client connection to the upgraded upstream one.
//!
//! Runs in its own task because the 101 must reach the client before either
//! side's upgrade completes. While the connection is open the capsule is
//! touched every [`TOUCH_INTERVAL`]: an attached terminal or a live WebSocket
//! is activity even when quiet, and must not let the capsule be paused under
//! it.

use std::sync::Arc;
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::{Instant, interval_at};
use wrenn_types::CapsuleId;

use crate::proxy::CapsuleResolver;

const TOUCH_INTERVAL: Duration = Duration::from_secs(30);

pub(crate) fn spawn_bridge(
    client: OnUpgrade,
    upstream: OnUpgrade,
    capsule_id: CapsuleId,
    resolver: Arc<dyn CapsuleResolver>,
) {
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(err) => {
                tracing::debug!(%capsule_id, error = %err, "proxied upgrade did not complete");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        let copy = tokio::io::copy_bidirectional(&mut client, &mut upstream);
        tokio::pin!(copy);
        let mut ticker = interval_at(Instant::now() + TOUCH_INTERVAL, TOUCH_INTERVAL);
        loop {
            tokio::select! {
                result = &mut copy => {
                    match result {
                        Ok((to_upstream, to_client)) => {
                            tracing::debug!(%capsule_id, to_upstream, to_client, "proxied upgrade closed");
                        }
                        Err(err) => tracing::debug!(%capsule_id, error = %err, "proxied upgrade broke"),
                    }
                    break;
                }
                _ = ticker.tick() => resolver.touch(&capsule_id),
            }
        }
        resolver.touch(&capsule_id);
    });
}
