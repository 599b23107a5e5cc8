//! Teams, the users of the bootstrap admin, team membership and team API
//! keys. API keys are stored as their SHA-256 and a short prefix; looking
//! one up also records its use.

use sqlx::any::AnyRow;
use wrenn_types::{ApiKeyId, TeamId, UserId};

use crate::store::secret::{random_u128, sha256_hex};
use crate::store::sql::{flag, flag_value, get, parse, parse_opt};
use crate::store::{Store, StoreError};

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub slug: String,
    /// Its capsules run only on its own BYOC hosts.
    pub is_byoc: bool,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

/// A user account (for now: the bootstrap admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub status: String,
    pub created_at: i64,
}

/// A team API key as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub team_id: TeamId,
    pub name: String,
    /// The first 10 characters of the secret (`wrn_` and 6 hex digits).
    pub key_prefix: String,
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A key to install; the secret is hashed before it reaches the database.
#[derive(Debug, Clone, Copy)]
pub struct NewApiKey<'a> {
    pub team_id: TeamId,
    pub name: &'a str,
    pub secret: &'a str,
    pub created_by: Option<UserId>,
}

/// Who an API key authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyMatch {
    pub key_id: ApiKeyId,
    pub team_id: TeamId,
    pub name: String,
}

const TEAM_COLUMNS: &str = "id, name, slug, is_byoc, created_at, deleted_at";
const KEY_COLUMNS: &str = "id, team_id, name, key_prefix, created_by, created_at, last_used_at";
const KEY_PREFIX_LEN: usize = 10;

impl Store {
    pub async fn create_team(&self, name: &str, slug: &str, is_byoc: bool) -> Result<Team, StoreError> {
        let team = Team {
            id: TeamId::from_u128(random_u128()?),
            name: name.to_owned(),
            slug: slug.to_owned(),
            is_byoc,
            created_at: self.now(),
            deleted_at: None,
        };
        sqlx::query("INSERT INTO teams (id, name, slug, is_byoc, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(team.id.to_string())
            .bind(&team.name)
            .bind(&team.slug)
            .bind(flag_value(team.is_byoc))
            .bind(team.created_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("creating a team"))?;
        Ok(team)
    }

    pub async fn get_team(&self, team_id: TeamId) -> Result<Option<Team>, StoreError> {
        let row = sqlx::query(&format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"))
            .bind(team_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("reading a team"))?;
        row.as_ref().map(team_from_row).transpose()
    }

    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        password_hash: Option<&str>,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        let user = User {
            id: UserId::from_u128(random_u128()?),
            email: email.to_owned(),
            name: name.to_owned(),
            password_hash: password_hash.map(str::to_owned),
            is_admin,
            status: "active".to_owned(),
            created_at: self.now(),
        };
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, is_admin, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.password_hash.clone())
        .bind(flag_value(user.is_admin))
        .bind(&user.status)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("creating a user"))?;
        Ok(user)
    }

    pub async fn get_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, name, password_hash, is_admin, status, created_at FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("reading a user"))?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn add_team_member(
        &self,
        team_id: TeamId,
        user_id: UserId,
        role: &str,
        is_default: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO team_members (team_id, user_id, role, is_default, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(team_id.to_string())
        .bind(user_id.to_string())
        .bind(role)
        .bind(flag_value(is_default))
        .bind(self.now())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("adding a team member"))?;
        Ok(())
    }

    /// Installs an API key (generated by [`generate_api_key`](crate::store::generate_api_key)
    /// or given by the operator); only its hash and prefix are kept.
    pub async fn create_api_key(&self, new: NewApiKey<'_>) -> Result<ApiKey, StoreError> {
        let key = ApiKey {
            id: ApiKeyId::from_u128(random_u128()?),
            team_id: new.team_id,
            name: new.name.to_owned(),
            key_prefix: new.secret.chars().take(KEY_PREFIX_LEN).collect(),
            created_by: new.created_by,
            created_at: self.now(),
            last_used_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, team_id, name, key_hash, key_prefix, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.to_string())
        .bind(key.team_id.to_string())
        .bind(&key.name)
        .bind(sha256_hex(new.secret))
        .bind(&key.key_prefix)
        .bind(key.created_by.map(|id| id.to_string()))
        .bind(key.created_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("creating an API key"))?;
        Ok(key)
    }

    pub async fn list_api_keys(&self, team_id: TeamId) -> Result<Vec<ApiKey>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE team_id = $1 ORDER BY created_at, id"))
                .bind(team_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query("listing API keys"))?;
        rows.iter().map(api_key_from_row).collect()
    }

    /// Whether the key existed (and now no longer does).
    pub async fn delete_api_key(&self, team_id: TeamId, key_id: ApiKeyId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND team_id = $2")
            .bind(key_id.to_string())
            .bind(team_id.to_string())
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("deleting an API key"))?;
        Ok(done.rows_affected() > 0)
    }

    /// The user who made a key and whether they are a platform admin
    /// (whose keys may manage the shared host fleet).
    pub async fn api_key_maker(&self, key_id: ApiKeyId) -> Result<Option<(UserId, bool)>, StoreError> {
        let row = sqlx::query(
            "SELECT users.id AS user_id, users.is_admin AS is_admin FROM api_keys \
             JOIN users ON users.id = api_keys.created_by WHERE api_keys.id = $1",
        )
        .bind(key_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("reading an API key's maker"))?;
        row.map(|row| Ok((parse(&row, "user_id")?, flag(&row, "is_admin")?))).transpose()
    }

    /// The key whose secret this is, if any and if its team still exists;
    /// records the use in the same statement.
    pub async fn authenticate_api_key(&self, secret: &str) -> Result<Option<ApiKeyMatch>, StoreError> {
        let row = sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1 \
             AND team_id IN (SELECT id FROM teams WHERE deleted_at IS NULL) RETURNING id, team_id, name",
        )
        .bind(sha256_hex(secret))
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("authenticating an API key"))?;
        row.map(|row| {
            Ok(ApiKeyMatch { key_id: parse(&row, "id")?, team_id: parse(&row, "team_id")?, name: get(&row, "name")? })
        })
        .transpose()
    }
}

pub(crate) fn team_from_row(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: parse(row, "id")?,
        name: get(row, "name")?,
        slug: get(row, "slug")?,
        is_byoc: flag(row, "is_byoc")?,
        created_at: get(row, "created_at")?,
        deleted_at: get(row, "deleted_at")?,
    })
}

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: parse(row, "id")?,
        email: get(row, "email")?,
        name: get(row, "name")?,
        password_hash: get(row, "password_hash")?,
        is_admin: flag(row, "is_admin")?,
        status: get(row, "status")?,
        created_at: get(row, "created_at")?,
    })
}

fn api_key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: parse(row, "id")?,
        team_id: parse(row, "team_id")?,
        name: get(row, "name")?,
        key_prefix: get(row, "key_prefix")?,
        created_by: parse_opt(row, "created_by")?,
        created_at: get(row, "created_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}
