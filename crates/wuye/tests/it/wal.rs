//! SQLite under serving load: checkpoints must happen while readers are active.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wuye::sql::{Param, insert_rows};

use crate::support::{Engine, TestDb, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_shrinks_after_a_burst_with_a_reader_open() {
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    let db = t.db.clone();
    seed(&db).await;
    // A reader that never stops querying while the writes happen.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (db, stop, reads) = (db.clone(), stop.clone(), reads.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let q = wuye::registry::CompoundQuery::default();
                wuye::registry::list_companies(&db, None, None, &wuye::registry::Page::new(3, 100))
                    .await
                    .unwrap();
                wuye::registry::list_compounds(&db, &q, &wuye::registry::Page::new(1, 50))
                    .await
                    .unwrap();
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let maintenance = db
        .spawn_maintenance(Duration::from_millis(50))
        .expect("sqlite has maintenance");
    // A burst of writes: 60 transactions of 1,000 wide rows (~40 MB of WAL frames).
    let now = time::OffsetDateTime::now_utc();
    let mut peak = 0u64;
    for batch in 0..60u32 {
        let rows: Vec<Vec<Param>> = (0..1000u32)
            .map(|i| {
                let n = batch * 1000 + i;
                let uscc = wuye_model::Uscc::with_check(&format!("91370705{n:09}"))
                    .unwrap()
                    .to_string();
                vec![
                    Param::Text(uscc),
                    Param::Text(format!("物业{n}")),
                    Param::Text("地址".repeat(100)),
                    Param::Ts(now),
                    Param::Ts(now),
                ]
            })
            .collect();
        insert_rows(
            &db,
            "companies",
            &["uscc", "name", "address", "created_at", "updated_at"],
            &rows,
        )
        .await
        .unwrap();
        peak = peak.max(db.wal_bytes());
    }
    // The reader is still running; within a few maintenance periods the WAL is truncated.
    let mut wal = db.wal_bytes();
    for _ in 0..200 {
        if wal < 1024 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        wal = db.wal_bytes();
    }
    assert!(reads.load(Ordering::Relaxed) > 0, "the reader ran");
    assert!(!reader.is_finished(), "the reader is still open");
    assert!(
        wal < 1024 * 1024,
        "WAL still {wal} bytes after the burst (peak {peak})"
    );
    assert!(peak > 1024 * 1024, "the burst grew the WAL (peak {peak})");
    assert!(
        peak <= 64 * 1024 * 1024,
        "WAL peaked at {peak} bytes during the burst"
    );
    stop.store(true, Ordering::Relaxed);
    reader.await.unwrap();
    maintenance.abort();
    assert_eq!(db.count("companies").await.unwrap(), 2 + 60_000);
}

#[tokio::test]
async fn backup_and_restore_round_trip() {
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    seed(&t.db).await;
    let backup = t.data_dir().join("backup.db");
    t.db.backup(&backup).await.unwrap();
    assert!(
        t.db.backup(&backup).await.is_err(),
        "an existing file is not overwritten"
    );
    let target = tempfile::tempdir().unwrap();
    let path = wuye::db::restore_sqlite(&backup, target.path()).await.unwrap();
    let restored = wuye::db::Db::open(&wuye::db::DbOptions {
        url: Some(format!("sqlite:{}", path.display())),
        data_dir: target.path().to_owned(),
        max_connections: 2,
    })
    .await
    .unwrap();
    assert_eq!(restored.count("rooms").await.unwrap(), 6);
    // Not a database: refused, nothing replaced.
    let junk = t.data_dir().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(wuye::db::restore_sqlite(&junk, target.path()).await.is_err());
    assert_eq!(restored.count("rooms").await.unwrap(), 6);
}
