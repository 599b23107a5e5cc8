//! The table of live processes, by pid, searchable by tag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::process::handle::ProcessHandle;

/// How a request names a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    Pid(u32),
    Tag(String),
}

/// Live processes. Cloning shares the table.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProcessTable {
    by_pid: Arc<Mutex<BTreeMap<u32, Arc<ProcessHandle>>>>,
}

impl ProcessTable {
    pub(crate) fn insert(&self, handle: Arc<ProcessHandle>) {
        self.by_pid.lock().unwrap_or_else(|e| e.into_inner()).insert(handle.pid, handle);
    }

    pub(crate) fn remove(&self, pid: u32) {
        self.by_pid.lock().unwrap_or_else(|e| e.into_inner()).remove(&pid);
    }

    /// The process a selector names; for a tag, the oldest (lowest pid is
    /// not age, so the first inserted wins by start time).
    pub(crate) fn get(&self, selector: &Selector) -> Option<Arc<ProcessHandle>> {
        let table = self.by_pid.lock().unwrap_or_else(|e| e.into_inner());
        match selector {
            Selector::Pid(pid) => table.get(pid).cloned(),
            Selector::Tag(tag) => table
                .values()
                .filter(|handle| handle.spec.tag.as_deref() == Some(tag.as_str()))
                .min_by_key(|handle| handle.started_at)
                .cloned(),
        }
    }

    pub(crate) fn list(&self) -> Vec<Arc<ProcessHandle>> {
        let mut handles: Vec<_> = self.by_pid.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        handles.sort_by_key(|handle| handle.started_at);
        handles
    }
}
