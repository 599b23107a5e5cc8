//! `FileEntry` as the SDK's model parses it: `type` is one of `file`,
//! `directory`, `symlink` (an unknown value would fail the SDK's
//! validation, so sockets, fifos and devices are reported as `file`),
//! `modified_at` in unix seconds, `symlink_target` only for symlinks.

use serde::Serialize;
use wrenn_proto::agent::hostagent as pb;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FileEntryView {
    pub(crate) name: String,
    pub(crate) path: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) size: i64,
    pub(crate) mode: u32,
    /// `ls -l` style, e.g. `-rwxr-xr-x`.
    pub(crate) permissions: String,
    pub(crate) owner: String,
    pub(crate) group: String,
    pub(crate) modified_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) symlink_target: Option<String>,
}

impl From<pb::FileEntry> for FileEntryView {
    fn from(entry: pb::FileEntry) -> FileEntryView {
        let symlink_target = entry.symlink_target.filter(|target| !target.is_empty());
        // envd (E2B's protocol) types a link by what it points to and names
        // the target; the API calls every link a symlink.
        let kind = match entry.r#type.as_str() {
            _ if symlink_target.is_some() => "symlink",
            "directory" => "directory",
            "symlink" => "symlink",
            _ => "file",
        };
        FileEntryView {
            name: entry.name,
            path: entry.path,
            kind,
            size: entry.size,
            mode: entry.mode,
            permissions: entry.permissions,
            owner: entry.owner,
            group: entry.group,
            modified_at: entry.modified_at_unix,
            symlink_target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_entry(kind: &str, symlink_target: Option<&str>) -> pb::FileEntry {
        pb::FileEntry {
            name: "run.sh".into(),
            path: "/home/user/run.sh".into(),
            r#type: kind.into(),
            size: 42,
            mode: 0o755,
            permissions: "-rwxr-xr-x".into(),
            owner: "user".into(),
            group: "user".into(),
            modified_at_unix: 1_700_000_000,
            symlink_target: symlink_target.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn an_entry_has_the_sdks_field_names() {
        let json = serde_json::to_value(FileEntryView::from(agent_entry("file", None))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "run.sh", "path": "/home/user/run.sh", "type": "file", "size": 42, "mode": 493,
                "permissions": "-rwxr-xr-x", "owner": "user", "group": "user", "modified_at": 1_700_000_000
            })
        );
    }

    #[test]
    fn types_stay_inside_the_sdks_enum() {
        for (agent, shown) in
            [("file", "file"), ("directory", "directory"), ("symlink", "symlink"), ("unknown", "file")]
        {
            assert_eq!(FileEntryView::from(agent_entry(agent, None)).kind, shown, "{agent}");
        }
        let link = FileEntryView::from(agent_entry("symlink", Some("/etc/hosts")));
        assert_eq!(serde_json::to_value(link).unwrap()["symlink_target"], "/etc/hosts");
        assert_eq!(FileEntryView::from(agent_entry("file", Some(""))).symlink_target, None);
        // A link to a file or a directory is typed by its target in envd.
        for agent in ["file", "directory"] {
            assert_eq!(FileEntryView::from(agent_entry(agent, Some("/etc"))).kind, "symlink", "{agent}");
        }
    }
}
