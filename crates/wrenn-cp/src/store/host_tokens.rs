//! Host credentials at rest: single-use registration tokens and rotating
//! refresh tokens. Only their SHA-256 is stored; using one is a guarded
//! update, so two concurrent uses of the same token cannot both succeed.

use sqlx::AnyConnection;
use wrenn_types::{HostId, HostTokenId, RefreshTokenId};

use crate::store::hosts::{Host, HostSpecs};
use crate::store::secret::{generate_token, random_u128, sha256_hex};
use crate::store::sql::parse;
use crate::store::{Store, StoreError};

/// A secret shown once to whoever asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSecret {
    pub secret: String,
    pub expires_at: i64,
}

/// How a registration attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Registration {
    Registered(Box<Host>),
    /// Unknown, expired or already used token.
    InvalidToken,
    /// The token was valid but its host is no longer `pending`; the token
    /// is left unused.
    HostNotPending(HostId),
}

impl Store {
    /// A new registration token for a host (e.g. after a failed
    /// registration consumed the first one).
    pub async fn create_registration_token(&self, host_id: HostId, ttl_ms: i64) -> Result<IssuedSecret, StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let token = insert_registration_token(&mut tx, host_id, self.now(), ttl_ms).await?;
        tx.commit().await.map_err(StoreError::query("committing a registration token"))?;
        Ok(token)
    }

    /// The host a live registration token is for, without using it: the
    /// host's certificate is issued before [`Store::register_host`]
    /// consumes the token (which a concurrent use can still win).
    pub async fn registration_token_host(&self, token: &str) -> Result<Option<HostId>, StoreError> {
        let row = sqlx::query(
            "SELECT host_id FROM host_registration_tokens \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(sha256_hex(token))
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("reading a registration token"))?;
        row.map(|row| parse(&row, "host_id")).transpose()
    }

    /// Consumes a registration token and registers its host, in one
    /// transaction: either both happen or neither.
    pub async fn register_host(&self, token: &str, specs: &HostSpecs) -> Result<Registration, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let row = sqlx::query(
            "UPDATE host_registration_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING host_id",
        )
        .bind(sha256_hex(token))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query("consuming a registration token"))?;
        let Some(row) = row else { return Ok(Registration::InvalidToken) };
        let host_id: HostId = parse(&row, "host_id")?;
        let Some(host) = self.register_pending_host(&mut tx, host_id, specs, now).await? else {
            return Ok(Registration::HostNotPending(host_id));
        };
        tx.commit().await.map_err(StoreError::query("committing a registration"))?;
        Ok(Registration::Registered(Box::new(host)))
    }

    /// A new refresh token for a host (at registration).
    pub async fn issue_refresh_token(&self, host_id: HostId, ttl_ms: i64) -> Result<IssuedSecret, StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let token = insert_refresh_token(&mut tx, host_id, self.now(), ttl_ms).await?;
        tx.commit().await.map_err(StoreError::query("committing a refresh token"))?;
        Ok(token)
    }

    /// Trades a live refresh token for a new one: the old one is revoked
    /// (guarded, so it works once) and the new one inserted in the same
    /// transaction. `None` when the token is unknown, expired or revoked.
    pub async fn rotate_refresh_token(
        &self,
        token: &str,
        ttl_ms: i64,
    ) -> Result<Option<(HostId, IssuedSecret)>, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let row = sqlx::query(
            "UPDATE host_refresh_tokens SET revoked_at = $2 \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING host_id",
        )
        .bind(sha256_hex(token))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query("revoking a refresh token"))?;
        let Some(row) = row else { return Ok(None) };
        let host_id: HostId = parse(&row, "host_id")?;
        let issued = insert_refresh_token(&mut tx, host_id, now, ttl_ms).await?;
        tx.commit().await.map_err(StoreError::query("committing a refresh token rotation"))?;
        Ok(Some((host_id, issued)))
    }
}

pub(crate) async fn insert_registration_token(
    conn: &mut AnyConnection,
    host_id: HostId,
    now: i64,
    ttl_ms: i64,
) -> Result<IssuedSecret, StoreError> {
    let secret = generate_token()?;
    let expires_at = now.saturating_add(ttl_ms);
    sqlx::query(
        "INSERT INTO host_registration_tokens (id, host_id, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(HostTokenId::from_u128(random_u128()?).to_string())
    .bind(host_id.to_string())
    .bind(sha256_hex(&secret))
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("creating a registration token"))?;
    Ok(IssuedSecret { secret, expires_at })
}

async fn insert_refresh_token(
    conn: &mut AnyConnection,
    host_id: HostId,
    now: i64,
    ttl_ms: i64,
) -> Result<IssuedSecret, StoreError> {
    let secret = generate_token()?;
    let expires_at = now.saturating_add(ttl_ms);
    sqlx::query(
        "INSERT INTO host_refresh_tokens (id, host_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(RefreshTokenId::from_u128(random_u128()?).to_string())
    .bind(host_id.to_string())
    .bind(sha256_hex(&secret))
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("creating a refresh token"))?;
    Ok(IssuedSecret { secret, expires_at })
}
