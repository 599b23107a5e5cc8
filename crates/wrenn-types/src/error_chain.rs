//! One way to print an error with its causes: `outer: inner: root`.
//!
//! Error types keep their source out of their own message so messages
//! compose; this adapter joins the chain where an error is finally logged,
//! reported or stored as a reason. (envd has its own copy: it depends on
//! no workspace crate but `wrenn-proto`.)

use std::fmt;

/// Displays an error followed by each of its sources, separated by `: `.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("starting capsule")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("mounting the root")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn joins_every_source() {
        let err = Outer(Inner(std::io::Error::other("disk full")));
        assert_eq!(ErrorChain(&err).to_string(), "starting capsule: mounting the root: disk full");
        assert_eq!(ErrorChain(&std::io::Error::other("alone")).to_string(), "alone");
    }
}
