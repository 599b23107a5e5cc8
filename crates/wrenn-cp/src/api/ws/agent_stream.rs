//! The agent's server streams as `futures` streams of their events, so a
//! session can `select!` on them: a `next()` that loses a race drops
//! nothing (the stream keeps its pending read), and messages without an
//! event are skipped. A stream ends after its first error.

use connectrpc::ConnectError;
use connectrpc::client::ServerStream;
use futures::StreamExt;
use futures::stream::BoxStream;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::exec_stream_response::Event as ExecEvent;
use wrenn_proto::agent::hostagent::__buffa::oneof::pty_attach_response::Event as PtyEvent;

type Body = hyper::body::Incoming;

/// `ExecStream` and `ConnectProcess` events.
pub(super) type ExecEvents = BoxStream<'static, Result<ExecEvent, ConnectError>>;

/// `PtyAttach` events.
pub(super) type PtyEvents = BoxStream<'static, Result<PtyEvent, ConnectError>>;

pub(super) fn exec_events(
    stream: ServerStream<Body, pb::__buffa::view::ExecStreamResponseView<'static>>,
) -> ExecEvents {
    futures::stream::unfold(Some(stream), |state| async move {
        let mut stream = state?;
        loop {
            match stream.message::<pb::ExecStreamResponse>().await {
                Ok(Some(message)) => {
                    if let Some(event) = message.to_owned_message().event {
                        return Some((Ok(event), Some(stream)));
                    }
                }
                Ok(None) => return None,
                Err(error) => return Some((Err(error), None)),
            }
        }
    })
    .boxed()
}

pub(super) fn pty_events(stream: ServerStream<Body, pb::__buffa::view::PtyAttachResponseView<'static>>) -> PtyEvents {
    futures::stream::unfold(Some(stream), |state| async move {
        let mut stream = state?;
        loop {
            match stream.message::<pb::PtyAttachResponse>().await {
                Ok(Some(message)) => {
                    if let Some(event) = message.to_owned_message().event {
                        return Some((Ok(event), Some(stream)));
                    }
                }
                Ok(None) => return None,
                Err(error) => return Some((Err(error), None)),
            }
        }
    })
    .boxed()
}
