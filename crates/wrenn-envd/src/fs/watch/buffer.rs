//! The bounded event queue of a polled watcher.
//!
//! A client that creates a watcher and stops polling must not make envd grow
//! without bound, so the queue keeps at most a number of events and of
//! bytes, dropping the oldest first (the newest state of a directory is the
//! most useful), and counts what it dropped so the loss can be reported.

use std::collections::VecDeque;

use crate::fs::watch::FsEvent;

#[derive(Debug)]
pub(crate) struct EventBuffer {
    events: VecDeque<FsEvent>,
    bytes: usize,
    max_events: usize,
    max_bytes: usize,
    n_dropped: u64,
    kernel_overflow: bool,
}

/// What one drain hands out.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) events: Vec<FsEvent>,
    /// Events discarded since the previous drain because the buffer was full.
    pub(crate) n_dropped: u64,
    /// Whether the kernel itself lost events since the previous drain.
    pub(crate) kernel_overflow: bool,
}

impl EventBuffer {
    pub(crate) fn new(max_events: usize, max_bytes: usize) -> EventBuffer {
        EventBuffer {
            events: VecDeque::new(),
            bytes: 0,
            max_events: max_events.max(1),
            max_bytes,
            n_dropped: 0,
            kernel_overflow: false,
        }
    }

    pub(crate) fn push(&mut self, event: FsEvent) {
        let size = event.approx_size();
        while !self.events.is_empty() && (self.events.len() >= self.max_events || self.bytes + size > self.max_bytes) {
            if let Some(old) = self.events.pop_front() {
                self.bytes -= old.approx_size();
                self.n_dropped += 1;
            }
        }
        self.bytes += size;
        self.events.push_back(event);
    }

    pub(crate) fn note_kernel_overflow(&mut self) {
        self.kernel_overflow = true;
    }

    pub(crate) fn drain(&mut self) -> Drained {
        self.bytes = 0;
        Drained {
            events: self.events.drain(..).collect(),
            n_dropped: std::mem::take(&mut self.n_dropped),
            kernel_overflow: std::mem::take(&mut self.kernel_overflow),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::watch::EventKind;

    fn event(name: &str) -> FsEvent {
        FsEvent { name: name.to_owned(), kind: EventKind::Create, entry: None }
    }

    fn names(drained: &Drained) -> Vec<&str> {
        drained.events.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_events_and_counts_the_dropped() {
        let mut buffer = EventBuffer::new(3, usize::MAX);
        for name in ["a", "b", "c", "d", "e"] {
            buffer.push(event(name));
        }
        let drained = buffer.drain();
        assert_eq!(names(&drained), ["c", "d", "e"]);
        assert_eq!(drained.n_dropped, 2);

        let drained = buffer.drain();
        assert!(drained.events.is_empty());
        assert_eq!(drained.n_dropped, 0, "the count resets on drain");
    }

    #[test]
    fn bounds_bytes_too() {
        let one = event("x").approx_size();
        let mut buffer = EventBuffer::new(1000, 2 * one);
        for name in ["a", "b", "c"] {
            buffer.push(event(name));
        }
        let drained = buffer.drain();
        assert_eq!(names(&drained), ["b", "c"]);
        assert_eq!(drained.n_dropped, 1);

        // An event larger than the whole budget still gets through alone.
        let mut tiny = EventBuffer::new(10, 1);
        tiny.push(event("big"));
        tiny.push(event("bigger"));
        assert_eq!(names(&tiny.drain()), ["bigger"]);
    }

    #[test]
    fn reports_kernel_overflow_once() {
        let mut buffer = EventBuffer::new(10, usize::MAX);
        buffer.note_kernel_overflow();
        assert!(buffer.drain().kernel_overflow);
        assert!(!buffer.drain().kernel_overflow);
    }
}
