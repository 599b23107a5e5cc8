//! The first start of a control plane: a team, its admin user and an API
//! key, so that an SDK can be pointed at a fresh install at once.
//!
//! Every step is "ensure", not "create": a start that died half-way, or a
//! later start, completes what is missing and changes nothing else. The key
//! is `WRENN_BOOTSTRAP_API_KEY` when the operator set one (automation that
//! starts a server and then drives it needs to know the key up front, so a
//! set key is installed on later starts too), else a generated one. A
//! generated key is shown exactly once; the store keeps only its hash.
//!
//! The key file is written with mode 0600 from its creation on (a temporary
//! file opened with that mode, then renamed over the old one): an API key
//! is never readable by other users, not even for an instant.
//!
//! The store has no lookup of a team by slug yet, so a start that did not
//! create the team learns its id from the caller (`wrenn up` records it in
//! `node.json`) or from the installed bootstrap key.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use wrenn_cp::store::{NewApiKey, Store, StoreError};
use wrenn_types::{TeamId, UserId};

/// The team a fresh install gets.
pub(crate) const TEAM_NAME: &str = "default";
pub(crate) const TEAM_SLUG: &str = "default";
/// The admin user of a fresh install (no password: API keys only for now).
pub(crate) const ADMIN_EMAIL: &str = "admin@localhost";
/// The name of the key the bootstrap installs.
pub(crate) const KEY_NAME: &str = "bootstrap";

const MIN_KEY_LEN: usize = 20;
const MAX_KEY_LEN: usize = 256;

/// An operator-chosen API key (`WRENN_BOOTSTRAP_API_KEY`), checked: 20 to
/// 256 printable ASCII characters, no spaces (it travels in an HTTP header).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BootstrapKey(String);

/// Why an operator-chosen key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("the bootstrap API key has {len} characters; it needs {MIN_KEY_LEN} to {MAX_KEY_LEN}")]
    Length { len: usize },
    #[error("the bootstrap API key has a character that is not printable ASCII at position {position} (spaces count)")]
    NotPrintable { position: usize },
}

impl FromStr for BootstrapKey {
    type Err = KeyError;

    fn from_str(key: &str) -> Result<BootstrapKey, KeyError> {
        if let Some(position) = key.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(KeyError::NotPrintable { position });
        }
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
            return Err(KeyError::Length { len: key.len() });
        }
        Ok(BootstrapKey(key.to_owned()))
    }
}

impl BootstrapKey {
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BootstrapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BootstrapKey(..)")
    }
}

/// A key this start installed; its secret is shown to the operator once.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct InstalledKey {
    pub(crate) secret: String,
    /// Generated here (else: the operator's `WRENN_BOOTSTRAP_API_KEY`).
    pub(crate) generated: bool,
}

impl fmt::Debug for InstalledKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstalledKey").field("generated", &self.generated).finish_non_exhaustive()
    }
}

/// What the bootstrap found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bootstrap {
    /// The default team; `None` when an earlier start created it and
    /// nothing here tells its id (nothing needed it).
    pub(crate) team_id: Option<TeamId>,
    pub(crate) installed: Option<InstalledKey>,
}

/// Why the bootstrap failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BootstrapError {
    #[error("cannot {action}")]
    Store {
        action: &'static str,
        #[source]
        source: StoreError,
    },
    #[error(
        "cannot install WRENN_BOOTSTRAP_API_KEY: team {TEAM_SLUG:?} exists but its id is unknown to this start \
         (the store has no lookup by slug yet)"
    )]
    TeamUnknown,
    #[error("cannot write the API key to {path}")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn store_error(action: &'static str) -> impl FnOnce(StoreError) -> BootstrapError {
    move |source| BootstrapError::Store { action, source }
}

/// Ensures the default team, its admin and a key. `known_team` is the team
/// an earlier start created, if the caller recorded it; `wanted` the
/// operator's key.
pub(crate) async fn bootstrap(
    store: &Store,
    wanted: Option<&BootstrapKey>,
    known_team: Option<TeamId>,
) -> Result<Bootstrap, BootstrapError> {
    let team = match known_team {
        Some(team_id) => store
            .get_team(team_id)
            .await
            .map_err(store_error("read the default team"))?
            .filter(|team| team.deleted_at.is_none()),
        None => None,
    };
    let (team_id, created) = match team {
        Some(team) => (team.id, false),
        None => match store.create_team(TEAM_NAME, TEAM_SLUG, false).await {
            Ok(team) => {
                tracing::info!(team_id = %team.id, "created the default team");
                (team.id, true)
            }
            Err(StoreError::Conflict { .. }) => return team_of_wanted_key(store, wanted).await,
            Err(source) => return Err(BootstrapError::Store { action: "create the default team", source }),
        },
    };
    let admin = ensure_admin(store, team_id).await?;
    let installed = ensure_key(store, team_id, admin, wanted, created).await?;
    Ok(Bootstrap { team_id: Some(team_id), installed })
}

/// The default team exists but its id is unknown: fine unless a key must
/// be installed, and then only if that key is already in place.
async fn team_of_wanted_key(store: &Store, wanted: Option<&BootstrapKey>) -> Result<Bootstrap, BootstrapError> {
    let Some(wanted) = wanted else {
        tracing::info!("already bootstrapped");
        return Ok(Bootstrap { team_id: None, installed: None });
    };
    match store.authenticate_api_key(wanted.secret()).await.map_err(store_error("look up the bootstrap key"))? {
        Some(found) => Ok(Bootstrap { team_id: Some(found.team_id), installed: None }),
        None => Err(BootstrapError::TeamUnknown),
    }
}

/// The admin user, created and made the team's owner when missing.
async fn ensure_admin(store: &Store, team_id: TeamId) -> Result<UserId, BootstrapError> {
    let existing = store.get_user_by_email(ADMIN_EMAIL).await.map_err(store_error("read the admin user"))?;
    let admin = match existing {
        Some(user) => user,
        None => {
            let user = store
                .create_user(ADMIN_EMAIL, "admin", None, true)
                .await
                .map_err(store_error("create the admin user"))?;
            tracing::info!(user_id = %user.id, email = ADMIN_EMAIL, "created the admin user");
            user
        }
    };
    match store.add_team_member(team_id, admin.id, "owner", true).await {
        Ok(()) | Err(StoreError::Conflict { .. }) => Ok(admin.id),
        Err(source) => Err(BootstrapError::Store { action: "make the admin the team's owner", source }),
    }
}

/// Installs the operator's key unless it is in place; else generates a key
/// when the team has none (a fresh team, or a start that died before it
/// installed one).
async fn ensure_key(
    store: &Store,
    team_id: TeamId,
    admin: UserId,
    wanted: Option<&BootstrapKey>,
    team_created: bool,
) -> Result<Option<InstalledKey>, BootstrapError> {
    let (secret, generated) = match wanted {
        Some(wanted) => (wanted.secret().to_owned(), false),
        None => {
            let has_keys = !team_created
                && !store.list_api_keys(team_id).await.map_err(store_error("list the team's API keys"))?.is_empty();
            if has_keys {
                return Ok(None);
            }
            (wrenn_cp::store::generate_api_key().map_err(store_error("generate an API key"))?, true)
        }
    };
    let new = NewApiKey { team_id, name: KEY_NAME, secret: &secret, created_by: Some(admin) };
    match store.create_api_key(new).await {
        Ok(key) => {
            tracing::info!(key_id = %key.id, prefix = %key.key_prefix, generated, "installed the bootstrap API key");
            Ok(Some(InstalledKey { secret, generated }))
        }
        // The same secret is installed already (its hash is unique).
        Err(StoreError::Conflict { .. }) if !generated => Ok(None),
        Err(source) => Err(BootstrapError::Store { action: "install the bootstrap API key", source }),
    }
}

/// Writes `secret` to `path` with mode 0600, replacing the file atomically.
pub(crate) fn write_key_file(path: &Path, secret: &str) -> Result<(), BootstrapError> {
    let key_file_error = |source| BootstrapError::KeyFile { path: path.to_owned(), source };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // Left over by a start that died while writing.
    match std::fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(key_file_error(err)),
    }
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary).map_err(key_file_error)?;
    file.write_all(secret.as_bytes()).and_then(|()| file.sync_all()).map_err(key_file_error)?;
    std::fs::rename(&temporary, path).map_err(key_file_error)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn keys_of_20_to_256_printable_characters_are_accepted() {
        for key in ["a".repeat(20), "wrn_0123456789abcdef0123456789abcdef".to_owned(), "~!#$%^&*()_+{}|:<>?".repeat(2)]
        {
            assert_eq!(key.parse::<BootstrapKey>().map(|k| k.secret().to_owned()), Ok(key.clone()));
        }
        assert!("x".repeat(256).parse::<BootstrapKey>().is_ok());
    }

    #[test]
    fn short_long_and_unprintable_keys_are_refused() {
        assert_eq!("a".repeat(19).parse::<BootstrapKey>(), Err(KeyError::Length { len: 19 }));
        assert_eq!("a".repeat(257).parse::<BootstrapKey>(), Err(KeyError::Length { len: 257 }));
        assert_eq!("".parse::<BootstrapKey>(), Err(KeyError::Length { len: 0 }));
        assert_eq!("0123456789 0123456789".parse::<BootstrapKey>(), Err(KeyError::NotPrintable { position: 10 }));
        assert_eq!("0123456789\n0123456789".parse::<BootstrapKey>(), Err(KeyError::NotPrintable { position: 10 }));
        assert_eq!("é0123456789012345678901".parse::<BootstrapKey>(), Err(KeyError::NotPrintable { position: 0 }));
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let key: BootstrapKey = "wrn_0123456789abcdef0123456789abcdef".parse().unwrap();
        assert!(!format!("{key:?}").contains("0123"));
        let installed = InstalledKey { secret: key.secret().to_owned(), generated: false };
        assert!(!format!("{installed:?}").contains("0123"));
    }

    #[test]
    fn the_key_file_is_private_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-key");
        write_key_file(&path, "wrn_first_key_000000000").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "wrn_first_key_000000000");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

        // A stale temporary file from a crash, even a readable one, goes.
        std::fs::write(dir.path().join("api-key.tmp"), "junk").unwrap();
        write_key_file(&path, "wrn_second_key_0000000").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "wrn_second_key_0000000");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!dir.path().join("api-key.tmp").exists());
    }

    async fn store() -> Store {
        Store::connect("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn a_fresh_store_gets_a_team_an_admin_and_a_generated_key_once() {
        let store = store().await;
        let first = bootstrap(&store, None, None).await.unwrap();
        let team_id = first.team_id.unwrap();
        let installed = first.installed.unwrap();
        assert!(installed.generated);
        let found = store.authenticate_api_key(&installed.secret).await.unwrap().unwrap();
        assert_eq!((found.team_id, found.name.as_str()), (team_id, KEY_NAME));
        assert!(store.get_user_by_email(ADMIN_EMAIL).await.unwrap().unwrap().is_admin);

        // A later start that knows the team changes nothing.
        let again = bootstrap(&store, None, Some(team_id)).await.unwrap();
        assert_eq!(again, Bootstrap { team_id: Some(team_id), installed: None });
        assert_eq!(store.list_api_keys(team_id).await.unwrap().len(), 1);
        // Nor does one that does not know it.
        assert_eq!(bootstrap(&store, None, None).await.unwrap(), Bootstrap { team_id: None, installed: None });
    }

    #[tokio::test]
    async fn the_operators_key_is_installed_on_first_and_later_starts() {
        let store = store().await;
        let first_key: BootstrapKey = "wrn_operator_key_number_one".parse().unwrap();
        let first = bootstrap(&store, Some(&first_key), None).await.unwrap();
        let team_id = first.team_id.unwrap();
        assert_eq!(
            first.installed.map(|key| (key.secret, key.generated)),
            Some((first_key.secret().to_owned(), false))
        );

        // Already in place: nothing new, with or without the team's id.
        assert_eq!(bootstrap(&store, Some(&first_key), Some(team_id)).await.unwrap().installed, None);
        let unknown_team = bootstrap(&store, Some(&first_key), None).await.unwrap();
        assert_eq!(unknown_team, Bootstrap { team_id: Some(team_id), installed: None });

        // A new key set for a later start is installed beside the first.
        let second_key: BootstrapKey = "wrn_operator_key_number_two".parse().unwrap();
        let second = bootstrap(&store, Some(&second_key), Some(team_id)).await.unwrap();
        assert!(second.installed.is_some_and(|key| key.secret == second_key.secret()));
        for key in [&first_key, &second_key] {
            assert_eq!(store.authenticate_api_key(key.secret()).await.unwrap().unwrap().team_id, team_id);
        }
        // Without the team's id it cannot be placed, and says so.
        let third_key: BootstrapKey = "wrn_operator_key_number_three".parse().unwrap();
        let err = bootstrap(&store, Some(&third_key), None).await.unwrap_err();
        assert!(matches!(err, BootstrapError::TeamUnknown), "{err:?}");
    }
}
