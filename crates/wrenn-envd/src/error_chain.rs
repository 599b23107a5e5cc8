//! One way to print an error with its causes: `outer: inner: root`.
//!
//! Error types keep their source out of their own message (so messages
//! compose); this adapter joins the chain where an error is finally logged
//! or sent to a client.

use std::fmt;

/// Displays `err` followed by each of its sources, separated by `: `.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorChain<'a>(pub(crate) &'a dyn std::error::Error);

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
    #[error("reading config")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn joins_the_chain() {
        let err = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(ErrorChain(&err).to_string(), "reading config: disk on fire");
    }
}
