//! The schema migrations, embedded in the binary. The schema is written in
//! the SQL both backends share (see `migrations/0001_initial.sql`), so both
//! run the same files; a migration that ever needs backend-specific DDL
//! gets a per-backend entry here, not a second copy of the whole history.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::AnyPool;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::store::{Backend, StoreError};

/// `(version, description, sql)` in version order.
type Embedded = &'static [(i64, &'static str, &'static str)];

const MIGRATIONS: Embedded = &[
    (1, "initial", include_str!("../../migrations/0001_initial.sql")),
    (2, "traffic tokens", include_str!("../../migrations/0002_traffic_tokens.sql")),
    (3, "template host", include_str!("../../migrations/0003_template_host.sql")),
];

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let source = EmbeddedMigrations(MIGRATIONS);
    let migrator = Migrator::new(source).await.map_err(|source| StoreError::Migrate { backend, source })?;
    migrator.run(pool).await.map_err(|source| StoreError::Migrate { backend, source })
}

#[derive(Debug)]
struct EmbeddedMigrations(Embedded);

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}
