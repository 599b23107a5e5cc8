//! The event bus's one error type: which Redis operation failed, or which
//! payload could not be encoded. Decoding failures of entries read from a
//! stream are not errors of the caller: the bus logs and skips them.

#[derive(Debug, thiserror::Error)]
pub enum EventBusError {
    #[error("redis error while {context}")]
    Redis {
        context: &'static str,
        #[source]
        source: redis::RedisError,
    },
    #[error("cannot encode a {kind} event")]
    Encode {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid event bus option: {0}")]
    Options(&'static str),
}

impl EventBusError {
    pub(crate) fn redis(context: &'static str) -> impl FnOnce(redis::RedisError) -> EventBusError {
        move |source| EventBusError::Redis { context, source }
    }
}
