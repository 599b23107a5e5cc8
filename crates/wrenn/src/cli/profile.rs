//! Saved profiles: a server URL and an API key under a name, in
//! `config.toml` of the user's config dir (`$WRENN_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/wrenn`, else `~/.config/wrenn`). The file holds keys,
//! so it is written whole (temporary file, then rename) with mode 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::CliError;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// One saved server and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub(crate) base_url: String,
    pub(crate) api_key: String,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profiles {
    /// The profile used when none is named (set by the last `wrenn login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) current: Option<String>,
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

impl Profiles {
    /// Where the file lives.
    pub(crate) fn path() -> Result<PathBuf, CliError> {
        let dir = if let Some(dir) = std::env::var_os("WRENN_CONFIG_DIR").filter(|dir| !dir.is_empty()) {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
            PathBuf::from(dir).join("wrenn")
        } else if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty()) {
            PathBuf::from(home).join(".config/wrenn")
        } else {
            return Err(CliError::new("cannot find a config dir: HOME is not set")
                .hint("set WRENN_CONFIG_DIR, or pass --base-url and --api-key"));
        };
        Ok(dir.join("config.toml"))
    }

    /// Reads the file; a missing file is no profiles.
    pub(crate) fn load(path: &Path) -> Result<Profiles, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Profiles::default()),
            Err(err) => return Err(CliError::new(format!("cannot read {}: {err}", path.display()))),
        };
        toml::from_str(&text).map_err(|err| {
            CliError::new(format!("{} is not a valid profiles file: {}", path.display(), err.message()))
                .hint("fix it by hand, or delete it and run `wrenn login` again")
        })
    }

    /// Writes the file whole, readable by its owner only.
    pub(crate) fn save(&self, path: &Path) -> Result<(), CliError> {
        let fail = |what: &str, err: std::io::Error| CliError::new(format!("cannot {what} {}: {err}", path.display()));
        let dir = path.parent().ok_or_else(|| CliError::new("the profiles path has no directory"))?;
        std::fs::create_dir_all(dir).map_err(|err| fail("create the directory of", err))?;
        let text =
            toml::to_string_pretty(self).map_err(|err| CliError::new(format!("cannot encode profiles: {err}")))?;
        let staging = path.with_extension("toml.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staging)
            .map_err(|err| fail("write", err))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|err| fail("protect", err))?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|err| fail("write", err))?;
        std::fs::rename(&staging, path).map_err(|err| fail("replace", err))
    }

    /// The profile to use: the one named, else the current one, else
    /// `default`. A named profile that does not exist is an error; an
    /// unnamed missing one is simply absent.
    pub(crate) fn select(&self, named: Option<&str>) -> Result<Option<(&str, &Profile)>, CliError> {
        match named {
            Some(name) => match self.profiles.get_key_value(name) {
                Some((name, profile)) => Ok(Some((name.as_str(), profile))),
                None => Err(CliError::new(format!("no profile named {name:?}"))
                    .hint(format!("`wrenn login --profile {name}` creates it"))),
            },
            None => {
                let name = self.current.as_deref().unwrap_or(DEFAULT_PROFILE);
                Ok(self.profiles.get_key_value(name).map(|(name, profile)| (name.as_str(), profile)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(url: &str) -> Profile {
        Profile { base_url: url.into(), api_key: "wrn_k".into() }
    }

    #[test]
    fn profiles_round_trip_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config.toml");
        assert_eq!(Profiles::load(&path).unwrap(), Profiles::default());
        let mut profiles = Profiles { current: Some("prod".into()), ..Profiles::default() };
        profiles.profiles.insert("prod".into(), profile("https://wrenn.example"));
        profiles.save(&path).unwrap();
        assert_eq!(Profiles::load(&path).unwrap(), profiles);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn selection_follows_name_then_current_then_default() {
        let mut profiles = Profiles::default();
        profiles.profiles.insert("default".into(), profile("http://a"));
        profiles.profiles.insert("prod".into(), profile("http://b"));
        assert_eq!(profiles.select(None).unwrap().unwrap().0, "default");
        profiles.current = Some("prod".into());
        assert_eq!(profiles.select(None).unwrap().unwrap().0, "prod");
        assert_eq!(profiles.select(Some("default")).unwrap().unwrap().1.base_url, "http://a");
        assert!(profiles.select(Some("nope")).is_err());
        assert!(Profiles::default().select(None).unwrap().is_none());
    }

    #[test]
    fn a_broken_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "profiles = 3").unwrap();
        assert!(Profiles::load(&path).unwrap_err().message().contains("not a valid profiles file"));
    }
}
