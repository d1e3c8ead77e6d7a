//! Uploaded files (photos, scans, documents, imported spreadsheets) behind one interface with
//! two backends: a folder in the data dir, or the database itself.
//!
//! Files are content-addressed by SHA-256, so storing the same bytes twice stores them once.
//! Metadata always lives in the `files` table; the bytes live where the backend says.
//! **Architecture invariant:** with several `wuye serve` instances on one PostgreSQL the
//! backend must be `database` (the default there), so no instance holds state of its own.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::db::{Db, DbError};
use crate::{db_read, db_run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileBackend {
    Folder(PathBuf),
    Database,
}

#[derive(Debug, Clone)]
pub struct FileStore {
    db: Db,
    backend: FileBackend,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("file storage io error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for FileError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// A stored file's bytes and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl FileStore {
    pub fn new(db: Db, backend: FileBackend) -> Self {
        Self { db, backend }
    }

    fn path_of(dir: &std::path::Path, id: &str) -> PathBuf {
        dir.join(&id[..2]).join(id)
    }

    /// Stores the bytes and returns their id (hex SHA-256).
    pub async fn put(
        &self,
        bytes: &[u8],
        content_type: &str,
        now: OffsetDateTime,
    ) -> Result<String, FileError> {
        let now = crate::clock::db_time(now);
        let id = hex(&Sha256::digest(bytes));
        let size = bytes.len() as i64;
        let (backend, data) = match &self.backend {
            FileBackend::Folder(dir) => {
                let path = Self::path_of(dir, &id);
                if !path.exists() {
                    if let Some(parent) = path.parent() {
                        tokio::fs::create_dir_all(parent).await?;
                    }
                    // Write beside, then rename: a reader never sees half a file.
                    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
                    tokio::fs::write(&tmp, bytes).await?;
                    tokio::fs::rename(&tmp, &path).await?;
                }
                ("folder", None)
            }
            FileBackend::Database => ("database", Some(bytes.to_vec())),
        };
        let sql = "INSERT INTO files (id, content_type, size, backend, data, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
            ON CONFLICT (id) DO NOTHING";
        db_run!(&self.db, pool => sqlx::query(sql).bind(&id).bind(content_type).bind(size).bind(backend).bind(data).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(id)
    }

    /// The file's bytes, from wherever its row says they were stored.
    pub async fn get(&self, id: &str) -> Result<Option<StoredFile>, FileError> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let row: Option<(String, String, Option<Vec<u8>>)> = db_read!(&self.db, pool => sqlx::query_as(
            "SELECT content_type, backend, data FROM files WHERE id = $1").bind(id).fetch_optional(pool).await)?;
        let Some((content_type, backend, data)) = row else {
            return Ok(None);
        };
        let bytes = match (backend.as_str(), data, &self.backend) {
            ("database", Some(d), _) => d,
            ("folder", _, FileBackend::Folder(dir)) => tokio::fs::read(Self::path_of(dir, id)).await?,
            _ => return Ok(None),
        };
        Ok(Some(StoredFile { content_type, bytes }))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
