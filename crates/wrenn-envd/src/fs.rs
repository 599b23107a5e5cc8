//! Filesystem operations behind the `filesystem.Filesystem` service and `/files`.

pub(crate) mod watch;
