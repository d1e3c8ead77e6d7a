//! Storage: one schema on two engines.
//!
//! [`Db`] is an enum of native sqlx pools. SQL is written once with `$N` placeholders (the
//! SQLite driver binds them by number too) and [`db_run!`] expands one body into both arms,
//! so each arm is type-checked against its own driver. Dialect-specific SQL lives only in
//! this module (backup, checkpoints) and is labelled as such.
//!
//! **Architecture invariant:** SQLite has exactly one writer connection. Writes queue on it
//! instead of fighting over the file lock, and readers use a separate pool, so a long read
//! never blocks a write. A maintenance task truncates the WAL when it grows (see
//! `TOOLCHAIN.md`: readers overlapping writers starve SQLite's own checkpoints).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The bulk reads of a ballot log on SQLite (`decisions::log_store`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Unsupported(String),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

impl DbError {
    /// A unique key taken (by a concurrent insert, say): the one conflict worth retrying.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::UniqueViolation)
    }

    /// True when the error is a uniqueness, foreign-key, check or not-null violation, i.e.
    /// caused by the input.
    pub fn is_constraint(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) => matches!(
                e.kind(),
                sqlx::error::ErrorKind::UniqueViolation
                    | sqlx::error::ErrorKind::ForeignKeyViolation
                    | sqlx::error::ErrorKind::CheckViolation
                    | sqlx::error::ErrorKind::NotNullViolation
            ),
            _ => false,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// The SQLite side: one writer connection and a pool of readers on the same file.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pub writer: SqlitePool,
    pub reader: SqlitePool,
    pub path: PathBuf,
}

/// A database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// Runs one body against whichever engine `$db` is, with `$pool` bound to its *writer* pool
/// (the only pool on PostgreSQL). Use [`db_read!`] for reads.
#[macro_export]
macro_rules! db_run {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(__s) => {
                let $pool = &__s.writer;
                $body
            }
            $crate::db::Db::Postgres(__p) => {
                let $pool = __p;
                $body
            }
        }
    };
}

/// Like [`db_run!`] but on SQLite binds the reader pool.
#[macro_export]
macro_rules! db_read {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(__s) => {
                let $pool = &__s.reader;
                $body
            }
            $crate::db::Db::Postgres(__p) => {
                let $pool = __p;
                $body
            }
        }
    };
}

/// How to open the database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// `postgres://…` selects PostgreSQL; `None` selects SQLite in `data_dir`.
    pub url: Option<String>,
    pub data_dir: PathBuf,
    /// Reader connections for SQLite, connections for PostgreSQL.
    pub max_connections: u32,
}

pub const SQLITE_FILE: &str = "wuye.db";
/// The maintenance task truncates the WAL when it passes this size.
pub const WAL_SOFT_LIMIT: u64 = 1024 * 1024;
/// SQLite truncates the WAL to at most this after each of its own checkpoints
/// (`journal_size_limit`).
pub const WAL_JOURNAL_LIMIT: u64 = 4 * 1024 * 1024;

fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("journal_size_limit", WAL_JOURNAL_LIMIT.to_string())
        .pragma("cache_size", "-32768")
        .pragma("temp_store", "memory")
        .pragma("mmap_size", "268435456")
        // SQLite's own checkpoint every 10,000 pages (40 MB) instead of 1,000: under a stream of
        // small commits the default checkpointed ~20 times a second, rewriting hot pages each
        // time (order submissions +15%, docs/benchmarks.md). The maintenance task still
        // truncates the WAL whenever it passes WAL_SOFT_LIMIT.
        .pragma("wal_autocheckpoint", "10000")
}

impl Db {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(opts: &DbOptions) -> DbResult<Db> {
        let db = match opts.url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let o = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(o)
                    .await?;
                Db::Postgres(pool)
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = PathBuf::from(url.trim_start_matches("sqlite://").trim_start_matches("sqlite:"));
                Self::open_sqlite(&path, opts.max_connections).await?
            }
            Some(other) => {
                return Err(DbError::Unsupported(format!(
                    "unsupported database URL {other:?}: use postgres://… or sqlite:PATH / 不支持的数据库地址"
                )));
            }
            None => {
                std::fs::create_dir_all(&opts.data_dir)?;
                Self::open_sqlite(&opts.data_dir.join(SQLITE_FILE), opts.max_connections).await?
            }
        };
        db.migrate().await?;
        if let Db::Sqlite(s) = &db {
            // Lets SQLite refresh statistics that have gone stale since the last run.
            sqlx::query("PRAGMA optimize=0x10002").execute(&s.writer).await?;
        }
        Ok(db)
    }

    async fn open_sqlite(path: &Path, readers: u32) -> DbResult<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // An embedded connection cannot go stale: skip the ping (a round trip to the
            // connection's thread) before each use.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(sqlite_options(path))
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(readers.max(1))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(sqlite_options(path).read_only(true))
            .await?;
        Ok(Db::Sqlite(SqliteDb {
            writer,
            reader,
            path: path.to_owned(),
        }))
    }

    /// Runs pending migrations (idempotent).
    pub async fn migrate(&self) -> DbResult<()> {
        match self {
            Db::Sqlite(s) => sqlx::migrate!("./migrations/sqlite").run(&s.writer).await?,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A cheap query that proves the database answers (for `/readyz`).
    pub async fn ping(&self) -> DbResult<()> {
        db_read!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Size of the SQLite write-ahead log in bytes (0 on PostgreSQL or when absent).
    pub fn wal_bytes(&self) -> u64 {
        match self {
            Db::Sqlite(s) => {
                let mut wal = s.path.clone().into_os_string();
                wal.push("-wal");
                std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
            }
            Db::Postgres(_) => 0,
        }
    }

    /// SQLite only: `PRAGMA wal_checkpoint(TRUNCATE)` on the writer. It waits (busy timeout)
    /// for readers to finish their current statement, copies the WAL into the database and
    /// truncates it. Returns `(busy, log_pages, checkpointed_pages)`.
    pub async fn checkpoint(&self) -> DbResult<Option<(i64, i64, i64)>> {
        match self {
            Db::Sqlite(s) => {
                let row: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&s.writer)
                    .await?;
                Ok(Some(row))
            }
            Db::Postgres(_) => Ok(None),
        }
    }

    /// Keeps the WAL bounded under serving load: checks its size every `every` and truncates
    /// it past [`WAL_SOFT_LIMIT`]. Runs until the returned handle is aborted.
    pub fn spawn_maintenance(&self, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let Db::Sqlite(_) = self else { return None };
        let db = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let wal = db.wal_bytes();
                metrics::gauge!("wuye_sqlite_wal_bytes").set(wal as f64);
                if wal > WAL_SOFT_LIMIT {
                    match db.checkpoint().await {
                        Ok(r) => tracing::debug!(wal.bytes = wal, result = ?r, "wal checkpoint"),
                        Err(e) => tracing::warn!(error = %e, "wal checkpoint failed"),
                    }
                }
            }
        }))
    }

    /// SQLite only: a consistent copy of the live database (`VACUUM INTO`), safe while the
    /// server runs.
    pub async fn backup(&self, to: &Path) -> DbResult<()> {
        match self {
            Db::Sqlite(s) => {
                if to.exists() {
                    return Err(DbError::Unsupported(format!(
                        "{} exists already; choose a new file / 目标文件已存在",
                        to.display()
                    )));
                }
                sqlx::query("VACUUM INTO $1")
                    .bind(to.to_string_lossy().into_owned())
                    .execute(&s.writer)
                    .await?;
                Ok(())
            }
            Db::Postgres(_) => Err(DbError::Unsupported(PG_BACKUP_ADVICE.to_owned())),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(s) => {
                s.reader.close().await;
                s.writer.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

pub const PG_BACKUP_ADVICE: &str = "On PostgreSQL use the server's own tools: \
`pg_dump --format=custom --file=wuye.dump \"$WUYE_DATABASE_URL\"` to back up and \
`pg_restore --clean --if-exists --dbname \"$WUYE_DATABASE_URL\" wuye.dump` to restore \
(with continuous archiving for point-in-time recovery). \
PostgreSQL 请使用 pg_dump / pg_restore 备份与恢复。";

/// The URL of database `name` on the server of `url` (its path replaced, its query kept).
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let cut = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..cut])
}

/// Creates a new, empty PostgreSQL database named `prefix_<pid>_<n>_<t>` on the server of
/// `server_url` (for tests and benchmarks, which must never fill a database someone gave
/// them); returns its name and URL. [`drop_scratch_database`] removes it.
pub async fn create_scratch_database(server_url: &str, prefix: &str) -> DbResult<(String, String)> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000
    );
    let admin = sqlx::PgPool::connect(server_url).await?;
    let made = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await;
    admin.close().await;
    made?;
    let url = url_with_database(server_url, &name);
    Ok((name, url))
}

/// Drops a database made by [`create_scratch_database`], closing its other connections.
pub async fn drop_scratch_database(server_url: &str, name: &str) -> DbResult<()> {
    let admin = sqlx::PgPool::connect(server_url).await?;
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
    dropped?;
    Ok(())
}

/// Restores a SQLite backup into `data_dir`, replacing the database there. The server must
/// be stopped. The backup is checked (`PRAGMA integrity_check`, and that it is a wuye
/// database) before anything is replaced; the previous file is kept beside it.
pub async fn restore_sqlite(backup: &Path, data_dir: &Path) -> DbResult<PathBuf> {
    let opts = SqliteConnectOptions::new().filename(backup).read_only(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&pool).await?;
    let is_wuye: Option<(i64,)> =
        sqlx::query_as("SELECT count(*) FROM sqlite_master WHERE name = 'compounds'")
            .fetch_optional(&pool)
            .await?;
    pool.close().await;
    if check != "ok" {
        return Err(DbError::Unsupported(format!(
            "backup failed integrity check: {check} / 备份文件已损坏"
        )));
    }
    if !matches!(is_wuye, Some((1,))) {
        return Err(DbError::Unsupported(
            "not a wuye database / 不是 wuye 数据库文件".to_owned(),
        ));
    }
    std::fs::create_dir_all(data_dir)?;
    let target = data_dir.join(SQLITE_FILE);
    if target.exists() {
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let kept = data_dir.join(format!("{SQLITE_FILE}.before-restore-{stamp}"));
        std::fs::rename(&target, &kept)?;
        for ext in ["-wal", "-shm"] {
            let mut p = target.clone().into_os_string();
            p.push(ext);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    std::fs::copy(backup, &target)?;
    Ok(target)
}

impl Db {
    /// PostgreSQL only (dialect-specific): after rows were inserted with explicit ids, moves
    /// each table's identity sequence past the largest id. A no-op on SQLite.
    pub async fn reset_identity(&self, tables: &[&str]) -> DbResult<()> {
        if let Db::Postgres(p) = self {
            for t in tables {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), coalesce((SELECT max(id) FROM {t}), 0) + 1, false)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await?;
            }
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics after a bulk load (`ANALYZE` on both
    /// engines). Without them SQLite may pick a poor index for combined filters.
    pub async fn analyze(&self) -> DbResult<()> {
        db_run!(self, pool => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Rows in a table (for `serve --demo`'s "already holds data" check and for reports).
    pub async fn count(&self, table: &'static str) -> DbResult<i64> {
        let sql = format!("SELECT count(*) FROM {table}");
        let (n,): (i64,) =
            db_read!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await)?;
        Ok(n)
    }
}
