//! No acknowledged order is lost when the server dies mid-load (issue 4 §7): the real binary
//! takes concurrent submissions, is killed with SIGKILL, restarts on the same database, and
//! every order it acknowledged is there; retrying every key then files nothing twice.

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use wuye_model::Role;

use crate::http::token_for;
use crate::storage_test;
use crate::support::{TestDb, seed};

/// Starts `wuye serve` on a free port; returns the child and its base URL.
fn start(t: &TestDb) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wuye"));
    cmd.arg("--data-dir").arg(t.data_dir());
    if let Some(url) = t.url() {
        cmd.arg("--database-url").arg(url);
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wuye serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .expect("line");
        if let Some(rest) = line.split("serving on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (child, base)
}

async fn submit(client: &reqwest::Client, base: &str, token: &str, compound: i64, key: &str) -> Option<u16> {
    let r = client
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&serde_json::json!({"compound_id": compound, "category": "repair", "description": format!("压测 {key}"), "channel": "phone"}))
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

storage_test!(no_acknowledged_order_is_lost_when_the_server_is_killed, |t| {
    seed(&t.db).await;
    let token = token_for(t, "district", Role::DistrictOfficer, "370705").await;
    let q = wuye::registry::CompoundFilter {
        q: Some("XQ1".into()),
        ..Default::default()
    }
    .check()
    .unwrap();
    let xq1 = wuye::registry::list_compounds(&t.db, &q, &wuye::registry::Page::new(1, 1))
        .await
        .unwrap()
        .items[0]
        .id;
    let (mut child, base) = start(t);
    let client = reqwest::Client::new();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let tried = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (acked, tried) = (acked.clone(), tried.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let key = format!("crash-{w}-{i}");
                tried.lock().unwrap().push(key.clone());
                match submit(&client, &base, &token, xq1, &key).await {
                    Some(201 | 200) => acked.lock().unwrap().push(key),
                    Some(other) => panic!("unexpected status {other}"),
                    None => return, // the server is gone
                }
            }
        }));
    }
    // Kill it mid-load, once it has acknowledged a good number of orders.
    while acked.lock().unwrap().len() < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for w in workers {
        w.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    let tried: Vec<String> = tried.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    // Restart on the same database: every acknowledged order is there.
    let (mut child, base) = start(t);
    let stored: HashSet<String> = {
        let db = &t.db;
        let rows: Vec<(Option<String>,)> = wuye::db_read!(db, pool => sqlx::query_as("SELECT idempotency_key FROM work_orders").fetch_all(pool).await).unwrap();
        rows.into_iter().filter_map(|r| r.0).collect()
    };
    let lost: Vec<&String> = acked.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // A client retries every request it sent: nothing is filed twice.
    for key in &tried {
        assert!(matches!(
            submit(&client, &base, &token, xq1, key).await,
            Some(200 | 201)
        ));
    }
    let total = t.db.count("work_orders").await.unwrap();
    assert_eq!(
        total,
        tried.len() as i64,
        "one order per key, however often it was sent"
    );
    child.kill().ok();
    child.wait().ok();
});
