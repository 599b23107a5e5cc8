//! Input checks shared by the lifecycle and the API: pure functions with
//! table tests, so every route refuses the same things the same way.

use std::collections::BTreeMap;

use wrenn_types::CapsuleId;

use crate::app::AppError;

/// Most vCPUs one capsule may ask for.
pub const MAX_VCPUS: u32 = 32;
/// Memory bounds of one capsule, MiB.
pub const MIN_MEMORY_MB: u64 = 128;
pub const MAX_MEMORY_MB: u64 = 256 * 1024;
/// Disk bounds of one capsule, MiB.
pub const MIN_DISK_MB: u64 = 256;
pub const MAX_DISK_MB: u64 = 1024 * 1024;
/// A positive inactivity timeout below this is raised to it.
pub const MIN_TIMEOUT_SEC: u64 = 60;
/// Longest inactivity timeout: a week.
pub const MAX_TIMEOUT_SEC: u64 = 7 * 24 * 3600;
/// Longest snapshot name: with the team prefix it must fit the agent's
/// 64-byte template names.
pub const MAX_SNAPSHOT_NAME: usize = 32;

const MAX_METADATA_KEYS: usize = 20;
const MAX_METADATA_KEY: usize = 64;
const MAX_METADATA_VALUE: usize = 64;
const RESERVED_METADATA_KEYS: [&str; 4] = ["kernel_version", "vmm_version", "agent_version", "envd_version"];

/// A capsule id from a path segment.
pub fn capsule_id(text: &str) -> Result<CapsuleId, AppError> {
    text.parse().map_err(|_| AppError::InvalidRequest(format!("{text:?} is not a capsule id (cl-…)")))
}

/// A host id from a path segment.
pub fn host_id(text: &str) -> Result<wrenn_types::HostId, AppError> {
    text.parse().map_err(|_| AppError::InvalidRequest(format!("{text:?} is not a host id (host-…)")))
}

/// Template names: what the agent accepts as a directory name.
pub fn template_name(name: &str) -> Result<(), AppError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(AppError::InvalidRequest(format!(
            "template name {name:?} is invalid: use 1-64 lowercase letters, digits, '-' or '_'"
        )))
    }
}

/// Snapshot names: template names short enough for the team prefix.
pub fn snapshot_name(name: &str) -> Result<(), AppError> {
    template_name(name)?;
    if name.len() > MAX_SNAPSHOT_NAME {
        return Err(AppError::InvalidRequest(format!(
            "snapshot name {name:?} is longer than {MAX_SNAPSHOT_NAME} characters"
        )));
    }
    Ok(())
}

pub fn vcpus(vcpus: u32) -> Result<u32, AppError> {
    if (1..=MAX_VCPUS).contains(&vcpus) {
        Ok(vcpus)
    } else {
        Err(AppError::InvalidRequest(format!("vcpus must be between 1 and {MAX_VCPUS}, not {vcpus}")))
    }
}

pub fn memory_mb(memory_mb: u64) -> Result<u64, AppError> {
    if (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb) {
        Ok(memory_mb)
    } else {
        Err(AppError::InvalidRequest(format!(
            "memory_mb must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB}, not {memory_mb}"
        )))
    }
}

pub fn disk_mb(disk_mb: u64) -> Result<u64, AppError> {
    if (MIN_DISK_MB..=MAX_DISK_MB).contains(&disk_mb) {
        Ok(disk_mb)
    } else {
        Err(AppError::InvalidRequest(format!("disk_mb must be between {MIN_DISK_MB} and {MAX_DISK_MB}, not {disk_mb}")))
    }
}

/// The inactivity timeout: 0 means never; a positive value below the
/// minimum is raised to it.
pub fn timeout_sec(timeout_sec: i64) -> Result<u64, AppError> {
    match u64::try_from(timeout_sec) {
        Ok(0) => Ok(0),
        Ok(secs) if secs <= MAX_TIMEOUT_SEC => Ok(secs.max(MIN_TIMEOUT_SEC)),
        _ => Err(AppError::InvalidRequest(format!(
            "timeout_sec must be between 0 and {MAX_TIMEOUT_SEC}, not {timeout_sec}"
        ))),
    }
}

/// Metadata labels: at most 20, keys `[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}`,
/// values at most 64 characters, no reserved key.
pub fn metadata(labels: &BTreeMap<String, String>) -> Result<(), AppError> {
    if labels.len() > MAX_METADATA_KEYS {
        return Err(AppError::InvalidRequest(format!("metadata has more than {MAX_METADATA_KEYS} keys")));
    }
    for (key, value) in labels {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_METADATA_KEY
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && key.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !key_ok {
            return Err(AppError::InvalidRequest(format!("metadata key {key:?} is invalid")));
        }
        if RESERVED_METADATA_KEYS.contains(&key.as_str()) {
            return Err(AppError::InvalidRequest(format!("metadata key {key:?} is reserved")));
        }
        if value.chars().count() > MAX_METADATA_VALUE {
            return Err(AppError::InvalidRequest(format!(
                "metadata value of {key:?} is longer than {MAX_METADATA_VALUE} characters"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names() {
        for good in ["minimal", "python", "a", "my-snap_2", &"x".repeat(64)] {
            assert!(template_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Minimal", "-x", "_x", "a/b", "a.b", "..", &"x".repeat(65), "é"] {
            assert!(template_name(bad).is_err(), "{bad}");
        }
        assert!(snapshot_name(&"x".repeat(32)).is_ok());
        assert!(snapshot_name(&"x".repeat(33)).is_err());
    }

    #[test]
    fn sizes() {
        assert!(vcpus(0).is_err());
        assert_eq!(vcpus(1).unwrap(), 1);
        assert!(vcpus(MAX_VCPUS + 1).is_err());
        assert!(memory_mb(127).is_err());
        assert_eq!(memory_mb(512).unwrap(), 512);
        assert!(memory_mb(MAX_MEMORY_MB + 1).is_err());
        assert!(disk_mb(0).is_err());
        assert_eq!(disk_mb(2048).unwrap(), 2048);
    }

    #[test]
    fn timeouts() {
        let cases = [(0, Some(0)), (1, Some(60)), (59, Some(60)), (60, Some(60)), (3600, Some(3600)), (-1, None)];
        for (given, want) in cases {
            assert_eq!(timeout_sec(given).ok(), want, "{given}");
        }
        assert!(timeout_sec(MAX_TIMEOUT_SEC as i64 + 1).is_err());
    }

    #[test]
    fn metadata_labels() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        assert!(metadata(&labels(&[("env", "prod"), ("a.b-c_d", "")])).is_ok());
        assert!(metadata(&labels(&[("-x", "1")])).is_err());
        assert!(metadata(&labels(&[("envd_version", "1")])).is_err());
        assert!(metadata(&labels(&[("k", &"v".repeat(65))])).is_err());
        let many: BTreeMap<String, String> = (0..21).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(metadata(&many).is_err());
    }

    #[test]
    fn capsule_ids() {
        assert!(capsule_id("nonsense").is_err());
        assert!(capsule_id("").is_err());
    }
}
