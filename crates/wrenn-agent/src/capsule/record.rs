//! The small file that lets a restarted agent take a capsule back: its id,
//! network slot, spec and whether it was paused or hibernated.
//!
//! Written into the runtime's capsule dir (`Layout::capsule_record`) once
//! the runtime has created the capsule, rewritten on pause, resume and
//! hibernate, and removed with the capsule dir. Writes go through a
//! temporary file and a rename, so a crash never leaves half a record; a
//! capsule without a readable record is destroyed on recovery (it was still
//! being created).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Current record format; others are not adopted.
pub(crate) const RECORD_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapsuleRecord {
    pub(crate) format: u32,
    pub(crate) id: String,
    pub(crate) slot: u16,
    /// Host uid of root in the capsule (`uid_range::UidRange::for_slot`).
    pub(crate) uid_base: u32,
    pub(crate) template: String,
    pub(crate) vcpus: u32,
    pub(crate) memory_mb: u64,
    pub(crate) disk_mb: u64,
    pub(crate) timeout_sec: u64,
    pub(crate) default_user: Option<String>,
    pub(crate) default_env: BTreeMap<String, String>,
    /// Seconds since the Unix epoch.
    pub(crate) created_at: u64,
    pub(crate) init_pid: u32,
    pub(crate) paused: bool,
    /// Written to disk by the runtime; no process runs. Absent in records
    /// of agents before hibernate existed.
    #[serde(default)]
    pub(crate) hibernated: bool,
}

impl CapsuleRecord {
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }

    /// The record at `path`, if it is readable and of the current format.
    pub(crate) fn read(path: &Path) -> Option<CapsuleRecord> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice::<CapsuleRecord>(&bytes).ok().filter(|record| record.format == RECORD_FORMAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capsule.json");
        let record = CapsuleRecord {
            format: RECORD_FORMAT,
            id: "cl-000000000000000000000000z".into(),
            slot: 7,
            uid_base: 1_507_328,
            template: "minimal".into(),
            vcpus: 2,
            memory_mb: 512,
            disk_mb: 1024,
            timeout_sec: 300,
            default_user: Some("root".into()),
            default_env: BTreeMap::from([("A".into(), "b".into())]),
            created_at: 1_790_000_000,
            init_pid: 4242,
            paused: false,
            hibernated: true,
        };
        record.write(&path).unwrap();
        assert_eq!(CapsuleRecord::read(&path), Some(record.clone()));
        assert!(!path.with_extension("json.tmp").exists());
        std::fs::write(&path, b"{\"format\":1").unwrap();
        assert_eq!(CapsuleRecord::read(&path), None);
        let future = CapsuleRecord { format: 2, ..record.clone() };
        future.write(&path).unwrap();
        assert_eq!(CapsuleRecord::read(&path), None);
        assert_eq!(CapsuleRecord::read(&dir.path().join("missing.json")), None);
        // Records from before hibernate existed are adopted as not hibernated.
        let mut json: serde_json::Value = serde_json::to_value(&record).unwrap();
        json.as_object_mut().unwrap().remove("hibernated");
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(CapsuleRecord::read(&path), Some(CapsuleRecord { hibernated: false, ..record }));
    }
}
