//! Storage: one schema on SQLite (embedded default) and PostgreSQL, reached
//! through sqlx's `Any` driver so every query is written once. Queries use
//! `$N` placeholders, which both backends accept.

mod agents;
pub mod assessments;
pub mod asset_graph;
pub mod assets;
pub mod audit;
mod batches;
mod bulk;
mod catalog;
pub mod chain;
pub mod checks;
mod cli_findings;
pub mod control_checks;
pub mod controls;
mod enrollment;
mod evidence;
pub mod findings;
#[cfg(test)]
pub(crate) mod fixture;
pub mod fleet;
mod framework;
pub mod frameworks;
#[cfg(test)]
mod hardening_tests;
mod mapping;
pub mod mappings;
pub mod overview;
mod ownership;
pub mod page;
pub mod policies;
pub(crate) mod query;
pub(crate) mod results;
pub mod review;
pub mod reviewers;
pub mod scans;
pub mod scf;
pub(crate) mod sql;
#[cfg(test)]
pub(crate) mod testing;
pub mod users;

use sqlx::AnyPool;
use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

pub use agents::AgentSummary;
pub use audit::{AuditFilter, ChainReport};
pub use batches::{IngestOutcome, IngestSummary};
pub use catalog::{CatalogImportRow, ImportLog};
pub use cli_findings::TenantFinding;
pub use enrollment::{EnrollFailure, EnrolledAgent, TokenProblem};
pub use evidence::Revision;
pub use users::{
    ApiTokenRow, Credentials, GrantRow, SessionPolicy, TenantRow, ThrottlePolicy, UserRow,
};

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names a database we do not support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    Url(String),
    /// A batch id was reused for different content.
    #[error("batch {0} was already received with different content")]
    Conflict(String),
    /// A batch would write an asset or relationship that another, unrevoked
    /// agent of the tenant reports.
    #[error("{0}")]
    NotOwner(String),
    /// The batch does not continue its agent's chain.
    #[error(transparent)]
    Chain(#[from] chain::ChainRefusal),
    /// Stored data could not be read back (damaged or written by a broken version).
    #[error("stored data is unreadable: {0}")]
    Unreadable(String),
    /// The object to change does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// The object to create exists already.
    #[error("{0} exists already")]
    Exists(String),
    /// The object changed since the caller read it (its version differs
    /// from If-Match).
    #[error("the object changed since it was read")]
    Stale,
    /// The change is not allowed from the object's current state.
    #[error("{0}")]
    Refused(String),
    /// The request names something that does not exist or cannot be used
    /// (a requirement or control in a request body).
    #[error("{0}")]
    Invalid(String),
}

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The collector's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Wakes the SQLite checkpointer after a commit (SQLite only).
    checkpoint: Option<std::sync::Arc<tokio::sync::Notify>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

impl Store {
    /// Connect and bring the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            restrict_sqlite_file(url)?;
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        // SQLite takes one writer at a time; a small pool avoids lock churn.
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        };
        // Ingest runs a few statements over whole batches: seconds for a
        // million results is expected, not a warning.
        let options = AnyConnectOptions::from_str(url)?
            .log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Up to 256 MiB of page cache per connection (allocated as
                        // used; the ingest connection is the one that fills it): a
                        // 100,000-result batch dirties ~60 MB of pages, and with the
                        // earlier 64 MiB a large batch spilled them to the WAL
                        // mid-transaction and read them back (measured 5–10% of
                        // ingest time at 100,000 results, more at 1,000,000).
                        // Durability stays at SQLite's default (FULL): an accepted
                        // batch survives power loss.
                        sqlx::query("PRAGMA cache_size = -262144")
                            .execute(&mut *conn)
                            .await?;
                        // Ingest stages each batch's results in a temporary
                        // table; it never needs to touch the disk.
                        sqlx::query("PRAGMA temp_store = MEMORY")
                            .execute(&mut *conn)
                            .await?;
                        // Checkpoints run in the background (see `checkpointer`),
                        // not inside the commit of whichever batch crosses the
                        // WAL's size threshold.
                        sqlx::query("PRAGMA wal_autocheckpoint = 0")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            }
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        let checkpoint = (backend == Backend::Sqlite).then(|| checkpointer(pool.clone()));
        Ok(Self {
            pool,
            backend,
            checkpoint,
        })
    }

    /// The pool, for read-only queries by the API and tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads before it
    /// writes fails with SQLITE_BUSY_SNAPSHOT if another connection commits
    /// in between, where this one simply waits its turn.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Copy the whole write-ahead log into the database file now, so that the
    /// next write starts the log over, waiting for a background checkpoint in
    /// progress (SQLite; nothing
    /// on PostgreSQL). The benchmark runs it between batches, so that no batch
    /// is timed while the previous one is still being checkpointed.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        // A long-lived reader can keep the log busy indefinitely: give up
        // after a while (the log is then checkpointed in the background).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            // (busy, frames in the log, frames checkpointed): busy while the
            // background checkpointer holds the checkpoint lock.
            let row = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                .fetch_one(&self.pool)
                .await?;
            let busy: i64 = sqlx::Row::try_get(&row, 0)?;
            if busy == 0 || std::time::Instant::now() > deadline {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Close all connections.
    pub async fn close(&self) {
        self.pool.close().await;
        // Lets the checkpointer see the closed pool and end.
        self.committed();
    }

    /// A write transaction committed: let the checkpointer copy the WAL back.
    pub(crate) fn committed(&self) {
        if let Some(n) = &self.checkpoint {
            n.notify_one();
        }
    }
}

/// Copy SQLite's write-ahead log into the database file after commits, on a
/// connection of its own. With SQLite's automatic checkpoint the batch whose
/// commit crosses the WAL threshold pays for copying everything before it (a
/// third of ingest time for 100,000-result batches); here that work overlaps
/// with receiving and decoding the next batch. `PASSIVE` never blocks readers
/// or the writer; frames it cannot copy yet are copied next time.
fn checkpointer(pool: AnyPool) -> std::sync::Arc<tokio::sync::Notify> {
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    let wake = notify.clone();
    tokio::spawn(async move {
        loop {
            wake.notified().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "WAL checkpoint failed; retrying after the next commit.");
            }
        }
    });
    notify
}

/// Create a SQLite database file readable by its owner only (0600) before
/// SQLite does: it holds every tenant's findings and the password hashes,
/// and SQLite gives its WAL and shared-memory files the main file's mode.
/// An existing file is left as it is.
fn restrict_sqlite_file(url: &str) -> Result<(), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') || url.contains("mode=memory") {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Db(sqlx::Error::Io(e))),
    }
}

#[cfg(all(test, unix))]
mod permission_tests {
    #[tokio::test]
    async fn new_sqlite_databases_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let store = super::Store::open(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        store.close().await;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
