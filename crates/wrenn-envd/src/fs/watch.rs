//! PLACEHOLDER — being written.

#[derive(Debug, Default)]
pub(crate) struct WatcherRegistry {}
