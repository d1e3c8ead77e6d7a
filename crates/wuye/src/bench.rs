//! `wuye bench …`: the speed and memory figures of docs/benchmarks.md, measured on this
//! machine. Tests never time anything; these do.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::db::{Db, DbOptions};
use crate::demo::{self, Scale};
use crate::files::{FileBackend, FileStore};
use crate::io::{Kind, import_file};
use crate::sql::{Param, insert_rows};

/// Latency percentiles of a set of samples, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Latency {
    pub requests: usize,
    pub errors: usize,
    /// The failed requests by HTTP status (`transport` when no answer came).
    pub errors_by_status: std::collections::BTreeMap<String, usize>,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn latency(
    mut samples: Vec<Duration>,
    errors_by_status: std::collections::BTreeMap<String, usize>,
    wall: Duration,
) -> Latency {
    samples.sort_unstable();
    let pick = |q: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i.min(samples.len() - 1)].as_secs_f64() * 1000.0
    };
    Latency {
        requests: samples.len(),
        errors: errors_by_status.values().sum(),
        errors_by_status,
        per_second: samples.len() as f64 / wall.as_secs_f64().max(1e-9),
        p50_ms: pick(0.50),
        p95_ms: pick(0.95),
        p99_ms: pick(0.99),
        max_ms: samples.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    }
}

async fn fresh_db(dir: &Path, url: Option<String>) -> anyhow::Result<Db> {
    Ok(Db::open(&DbOptions {
        url,
        data_dir: dir.to_owned(),
        max_connections: 8,
    })
    .await?)
}

/// A database for one benchmark run: SQLite in a temporary folder, or on PostgreSQL a new
/// database on the server `url` names (a benchmark fills its database with a demo city, so
/// it never uses the one it was given). [`Scratch::end`] removes it.
struct Scratch {
    db: Db,
    _dir: TempDir,
    pg: Option<(String, String)>, // (server url, database name)
}

impl Scratch {
    async fn new(tag: &str, url: Option<String>) -> anyhow::Result<Self> {
        let dir = TempDir::new(tag)?;
        let (url, pg) = match url {
            Some(server) => {
                let (name, url) = crate::db::create_scratch_database(&server, "wuye_bench").await?;
                (Some(url), Some((server, name)))
            }
            None => (None, None),
        };
        let db = fresh_db(&dir.0, url).await?;
        Ok(Self { db, _dir: dir, pg })
    }

    /// Closes the database and drops it (PostgreSQL) or its folder (SQLite).
    async fn end(self) {
        self.db.close().await;
        if let Some((server, name)) = &self.pg
            && let Err(e) = crate::db::drop_scratch_database(server, name).await
        {
            tracing::warn!(error = %e, database = %name, "could not drop the benchmark database");
        }
    }

    /// Runs `body` on the scratch database, then removes it whatever the outcome.
    async fn run<T, F>(self, body: impl FnOnce(Db) -> F) -> anyhow::Result<T>
    where
        F: std::future::Future<Output = anyhow::Result<T>>,
    {
        let out = body(self.db.clone()).await;
        self.end().await;
        out
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> std::io::Result<Self> {
        let p = std::env::temp_dir().join(format!(
            "wuye-bench-{tag}-{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bench import`: imports `rows` rooms from one CSV into SQLite (parse, validate, write in
/// one transaction) and reports rows/s; then imports the same file again (no change).
pub async fn import(rows: usize) -> anyhow::Result<serde_json::Value> {
    let tmp = TempDir::new("import")?;
    let db = fresh_db(&tmp.0, None).await?;
    let now = OffsetDateTime::now_utc();
    // Places: 1 community, compounds of 10 buildings × 2 entrances × 15 floors × 2 = 600 rooms.
    insert_rows(
        &db,
        "regions",
        &["code", "name", "level", "parent_code"],
        &[
            vec![
                Param::I64(370_000_000_000),
                Param::Text("山东省".into()),
                Param::Text("province".into()),
                Param::OptI64(None),
            ],
            vec![
                Param::I64(370_700_000_000),
                Param::Text("潍坊市".into()),
                Param::Text("city".into()),
                Param::OptI64(Some(370_000_000_000)),
            ],
            vec![
                Param::I64(370_705_000_000),
                Param::Text("奎文区".into()),
                Param::Text("district".into()),
                Param::OptI64(Some(370_700_000_000)),
            ],
            vec![
                Param::I64(370_705_001_000),
                Param::Text("东关街道".into()),
                Param::Text("street".into()),
                Param::OptI64(Some(370_705_000_000)),
            ],
            vec![
                Param::I64(370_705_001_001),
                Param::Text("河坝巷社区居委会".into()),
                Param::Text("community".into()),
                Param::OptI64(Some(370_705_001_000)),
            ],
        ],
    )
    .await?;
    let compounds = rows.div_ceil(600);
    let mut c = Vec::new();
    let mut b = Vec::new();
    let mut e = Vec::new();
    for k in 1..=compounds as i64 {
        c.push(vec![
            Param::I64(k),
            Param::Text(format!("B{k:07}")),
            Param::Text(format!("小区{k}")),
            Param::I64(370_705_001_001),
            Param::Text("basic".into()),
            Param::Text("market".into()),
            Param::Ts(now),
            Param::Ts(now),
        ]);
        for bi in 1..=10i64 {
            let bid = (k - 1) * 10 + bi;
            b.push(vec![
                Param::I64(bid),
                Param::I64(k),
                Param::Text(format!("{bi}号楼")),
            ]);
            for ei in 1..=2i64 {
                e.push(vec![
                    Param::I64((bid - 1) * 2 + ei),
                    Param::I64(bid),
                    Param::Text(ei.to_string()),
                ]);
            }
        }
    }
    insert_rows(
        &db,
        "compounds",
        &[
            "id",
            "code",
            "name",
            "region_code",
            "class",
            "management_mode",
            "created_at",
            "updated_at",
        ],
        &c,
    )
    .await?;
    insert_rows(&db, "buildings", &["id", "compound_id", "name"], &b).await?;
    insert_rows(&db, "entrances", &["id", "building_id", "name"], &e).await?;
    let mut csv = String::with_capacity(rows * 40);
    csv.push_str("compound_code,building,entrance,number,floor,kind,exclusive_area\n");
    let mut n = 0;
    'outer: for k in 1..=compounds {
        for bi in 1..=10 {
            for ei in 1..=2 {
                for f in 1..=15 {
                    for d in 1..=2 {
                        if n == rows {
                            break 'outer;
                        }
                        n += 1;
                        csv.push_str(&format!(
                            "B{k:07},{bi}号楼,{ei},{f}{d:02},{f},住宅,{}.{:02}\n",
                            50 + n % 110,
                            n % 100
                        ));
                    }
                }
            }
        }
    }
    let bytes = csv.into_bytes();
    let t = Instant::now();
    let report = import_file(
        &db,
        None,
        &crate::auth::Actor::cli(),
        Kind::Rooms,
        "rooms.csv",
        &bytes,
        now,
    )
    .await?;
    let first = t.elapsed();
    anyhow::ensure!(report.applied(), "import rejected: {:?}", report.errors.first());
    let t = Instant::now();
    let again = import_file(
        &db,
        None,
        &crate::auth::Actor::cli(),
        Kind::Rooms,
        "rooms.csv",
        &bytes,
        now,
    )
    .await?;
    let second = t.elapsed();
    let stored = db.count("rooms").await?;
    db.close().await;
    Ok(serde_json::json!({
        "benchmark": "import",
        "rows": rows,
        "csv_bytes": bytes.len(),
        "seconds": first.as_secs_f64(),
        "rows_per_second": rows as f64 / first.as_secs_f64(),
        "rows_changed": report.rows_changed,
        "reimport_seconds": second.as_secs_f64(),
        "reimport_rows_changed": again.rows_changed,
        "rooms_stored": stored,
        "target_rows_per_second": 100_000,
    }))
}

async fn start_server(db: Db) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let files = FileStore::new(db.clone(), FileBackend::Database);
    serve_app(crate::http::app(db, files, Clock::System, false)).await
}

/// Serves `app` on a free local port; returns its base URL and the server task.
async fn serve_app(app: axum::Router) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let h = tokio::spawn(async move {
        let _ = crate::http::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), h))
}

/// When a load run stops.
#[derive(Clone, Copy)]
enum Until {
    Requests(u64),
    Elapsed(Duration),
}

/// Runs `concurrency` workers sending the requests `request(i)` builds until `until`, and
/// times every successful answer. The one load generator of every API benchmark.
async fn drive<F>(concurrency: usize, until: Until, request: F) -> Latency
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, request) = (next.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = std::collections::BTreeMap::<String, usize>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let more = match until {
                    Until::Requests(n) => i < n,
                    Until::Elapsed(d) => start.elapsed() < d,
                };
                if !more {
                    break;
                }
                let t = Instant::now();
                match request(i).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        samples.push(t.elapsed());
                    }
                    Ok(r) => *errors.entry(r.status().as_u16().to_string()).or_default() += 1,
                    Err(_) => *errors.entry("transport".to_owned()).or_default() += 1,
                }
            }
            (samples, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = std::collections::BTreeMap::new();
    for t in tasks {
        if let Ok((s, e)) = t.await {
            all.extend(s);
            for (status, n) in e {
                *errors.entry(status).or_default() += n;
            }
        }
    }
    latency(all, errors, start.elapsed())
}

/// Sends `total` GETs to `url` from `concurrency` workers.
async fn load(client: &reqwest::Client, url: &str, concurrency: usize, total: usize) -> Latency {
    let (client, url) = (client.clone(), url.to_owned());
    drive(concurrency, Until::Requests(total as u64), move |_| {
        client.get(&url)
    })
    .await
}

/// `bench api`: list endpoints over the city-scale dataset (generated into `data_dir` when
/// it holds none), with a jurisdiction filter, a management-mode filter and page 100, at
/// `concurrency` connections.
pub async fn api(
    data_dir: &Path,
    url: Option<String>,
    concurrency: usize,
    requests: usize,
) -> anyhow::Result<serde_json::Value> {
    let db = fresh_db(data_dir, url).await?;
    let mut generated = None;
    if db.count("compounds").await? == 0 {
        let t = Instant::now();
        let s = demo::generate(&db, Scale::CITY, OffsetDateTime::now_utc()).await?;
        eprintln!(
            "generated the city-scale dataset in {:.1} s: {s:?}",
            t.elapsed().as_secs_f64()
        );
        generated = Some(t.elapsed().as_secs_f64());
    }
    let compounds = db.count("compounds").await?;
    let rooms = db.count("rooms").await?;
    let (base, server) = start_server(db.clone()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let cases = [
        (
            "compounds: city 370700, mode market, page 100",
            format!("{base}/api/v1/compounds?region=370700&mode=market&page=100"),
        ),
        (
            "compounds: district 370705, mode market, page 10",
            format!("{base}/api/v1/compounds?region=370705&mode=market&page=10"),
        ),
        (
            "rooms: district 370705, mode market, page 100",
            format!("{base}/api/v1/rooms?region=370705&mode=market&page=100"),
        ),
        (
            "rooms: street 370705001, mode market, page 20",
            format!("{base}/api/v1/rooms?region=370705001&mode=market&page=20"),
        ),
    ];
    let mut results = Vec::new();
    for (name, url) in &cases {
        let probe = client.get(url).send().await?;
        anyhow::ensure!(probe.status().is_success(), "{name}: {}", probe.status());
        let body: serde_json::Value = probe.json().await?;
        let items = body["items"].as_array().map(Vec::len).unwrap_or(0);
        let _ = load(&client, url, concurrency, requests / 10).await; // warm-up
        let l = load(&client, url, concurrency, requests).await;
        eprintln!("{name}: {l:?} ({items} items on the page)");
        results.push(serde_json::json!({ "case": name, "items_on_page": items, "latency": l }));
    }
    server.abort();
    Ok(serde_json::json!({
        "benchmark": "api",
        "engine": db.engine(),
        "compounds": compounds,
        "rooms": rooms,
        "generated_seconds": generated,
        "concurrency": concurrency,
        "cases": results,
        "target_p95_ms": 20,
    }))
}

/// `bench soak`: sustained API writes (new companies) with concurrent readers for
/// `seconds`, sampling the SQLite WAL size; reports the largest WAL seen.
pub async fn soak(seconds: u64, writers: usize, readers: usize) -> anyhow::Result<serde_json::Value> {
    let tmp = TempDir::new("soak")?;
    let db = fresh_db(&tmp.0, None).await?;
    demo::generate(&db, Scale::TINY, OffsetDateTime::now_utc()).await?;
    // Creating a company is a regulator's act: the writers use the demo administrator's token.
    let token = crate::auth::create_token(
        &db,
        "admin",
        "soak",
        &crate::auth::Actor::cli(),
        OffsetDateTime::now_utc(),
    )
    .await?;
    let maintenance = db.spawn_maintenance(crate::http::MAINTENANCE_EVERY);
    let (base, server) = start_server(db.clone()).await?;
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (client, base, stop, writes, failures, token) = (
            client.clone(),
            base.clone(),
            stop.clone(),
            writes.clone(),
            failures.clone(),
            token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let org = format!("{:09}", (w as u64) * 100_000_000 + i);
                let uscc = wuye_model::Uscc::with_check(&format!("91370705{org}")).map(|u| u.to_string()).unwrap_or_default();
                let body = serde_json::json!({ "uscc": uscc, "name": format!("压测物业{w}-{i}"), "address": "x".repeat(200) });
                match client.post(format!("{base}/api/v1/companies")).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => writes.fetch_add(1, Ordering::Relaxed),
                    _ => failures.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for _ in 0..readers {
        let (client, base, stop, reads, failures) = (
            client.clone(),
            base.clone(),
            stop.clone(),
            reads.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match client
                    .get(format!("{base}/api/v1/companies?per_page=100&page=2"))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        reads.fetch_add(1, Ordering::Relaxed)
                    }
                    _ => failures.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let start = Instant::now();
    let mut max_wal = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        max_wal = max_wal.max(db.wal_bytes());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let wall = start.elapsed().as_secs_f64();
    server.abort();
    if let Some(m) = maintenance {
        m.abort();
    }
    let stored = db.count("companies").await?;
    Ok(serde_json::json!({
        "benchmark": "soak",
        "seconds": wall,
        "writers": writers,
        "readers": readers,
        "writes": writes.load(Ordering::Relaxed),
        "writes_per_second": writes.load(Ordering::Relaxed) as f64 / wall,
        "reads_per_second": reads.load(Ordering::Relaxed) as f64 / wall,
        "failures": failures.load(Ordering::Relaxed),
        "companies_stored": stored,
        "max_wal_bytes": max_wal,
        "max_wal_mb": max_wal as f64 / 1_048_576.0,
        "target_max_wal_mb": 64,
    }))
}

/// Posts `body(i)` to `url` with a bearer token and a fresh idempotency key from
/// `concurrency` workers for `seconds`.
async fn post_load(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    concurrency: usize,
    seconds: u64,
    body: impl Fn(u64) -> serde_json::Value + Send + Sync + Clone + 'static,
) -> Latency {
    let (client, url, token) = (client.clone(), url.to_owned(), token.to_owned());
    drive(
        concurrency,
        Until::Elapsed(Duration::from_secs(seconds)),
        move |i| {
            client
                .post(&url)
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("bench-{i}"))
                .json(&body(i))
        },
    )
    .await
}

/// `bench orders`: order submission over HTTP next to a bare one-insert endpoint of the same
/// server (64 connections), the escalation sweep over 1,000,000 open orders of which 10,000
/// are due, and a month's figures over 1,000,000 orders.
pub async fn orders(
    url: Option<String>,
    concurrency: usize,
    seconds: u64,
    open_orders: usize,
) -> anyhow::Result<serde_json::Value> {
    Scratch::new("orders", url)
        .await?
        .run(|db| orders_on(db, concurrency, seconds, open_orders))
        .await
}

async fn orders_on(
    db: Db,
    concurrency: usize,
    seconds: u64,
    open_orders: usize,
) -> anyhow::Result<serde_json::Value> {
    let now = crate::clock::db_time(OffsetDateTime::now_utc());
    demo::generate(&db, Scale::DISTRICT, now).await?;
    let cli = crate::auth::Actor::cli();
    let token = crate::auth::create_token(&db, "admin", "bench", &cli, now).await?;
    // 1. The city's open orders (the sweep's and the figures' data, and the table new orders
    // go into: a benchmark of submissions into an empty table measures a table nobody has).
    let due_every = (open_orders / 10_000).max(1);
    let settings = crate::settings::Settings::shipped();
    let mut rows = Vec::with_capacity(50_000);
    let created = now - time::Duration::days(40);
    let cols = [
        "compound_id",
        "category",
        "channel",
        "description",
        "state",
        "supervising_region_code",
        "sign_due",
        "handle_due",
        "next_escalation_at",
        "created_at",
        "updated_at",
        "region_code",
        "created_month",
    ];
    let regions: Vec<(i64, i64)> = crate::db_read!(&db, pool => sqlx::query_as("SELECT id, region_code FROM compounds ORDER BY id").fetch_all(pool).await)?;
    for i in 0..open_orders {
        let (cid, region) = regions[i % regions.len()];
        // Spread over the past year for the figures; every `due_every`-th is overdue now.
        let made = created - time::Duration::hours((i % (24 * 330)) as i64);
        let due = if i % due_every == 0 {
            now - time::Duration::hours(1)
        } else {
            now + time::Duration::days(3)
        };
        rows.push(vec![
            Param::I64(cid),
            Param::Text("repair".into()),
            Param::Text("api".into()),
            Param::Text("楼道灯不亮".into()),
            Param::Text("in_progress".into()),
            Param::I64(region),
            Param::Ts(made),
            Param::Ts(due),
            Param::Ts(due),
            Param::Ts(made),
            Param::Ts(made),
            Param::I64(region),
            Param::I64(crate::orders::month_key(made)),
        ]);
        if rows.len() == 50_000 {
            insert_rows(&db, "work_orders", &cols, &rows).await?;
            rows.clear();
        }
    }
    if !rows.is_empty() {
        insert_rows(&db, "work_orders", &cols, &rows).await?;
    }
    db.analyze().await?;
    // Steady state: the server's maintenance keeps the WAL small, so neither the submissions
    // nor the sweep pay for checkpointing the million-row load that set the benchmark up.
    db.checkpoint().await?;
    // 2. Submission over HTTP, and the bare endpoint: one INSERT, no checks, same server.
    let files = FileStore::new(db.clone(), FileBackend::Database);
    let bare_db = db.clone();
    let app = crate::http::app(db.clone(), files, Clock::System, false).merge(axum::Router::new().route(
        "/bench/insert",
        axum::routing::post(move || {
            let db = bare_db.clone();
            async move {
                let r = crate::db_run!(&db, pool => sqlx::query("INSERT INTO outbox (channel, recipient, body, created_at) VALUES ('bench', '1', 'x', $1)")
                    .bind(crate::clock::db_time(OffsetDateTime::now_utc())).execute(pool).await.map(|_| ()));
                if r.is_ok() { axum::http::StatusCode::CREATED } else { axum::http::StatusCode::INTERNAL_SERVER_ERROR }
            }
        }),
    ));
    let (base, server) = serve_app(app).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let compounds: Vec<(i64,)> = crate::db_read!(&db, pool => sqlx::query_as("SELECT id FROM compounds ORDER BY id").fetch_all(pool).await)?;
    let ids: Arc<Vec<i64>> = Arc::new(compounds.into_iter().map(|c| c.0).collect());
    // The two loads alternate in rounds (bare, submissions, bare, …), each from a checkpointed
    // database, and the ratio is of the medians: on two shared cores one load's throughput
    // drifts by tens of percent from minute to minute, and a single pair of runs measured that
    // drift as much as the product.
    let rounds = 3u64;
    let each = (seconds / rounds).max(1);
    let (mut bares, mut submits) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        db.checkpoint().await?;
        bares.push(
            post_load(
                &client,
                &format!("{base}/bench/insert"),
                &token,
                concurrency,
                each,
                |_| serde_json::json!({}),
            )
            .await,
        );
        db.checkpoint().await?;
        let ids2 = ids.clone();
        let offset = round * 10_000_000;
        submits.push(
            post_load(&client, &format!("{base}/api/v1/orders"), &token, concurrency, each, move |i| {
                serde_json::json!({ "compound_id": ids2[(i as usize) % ids2.len()], "category": "repair", "description": format!("压测工单 {} 楼道灯不亮", i + offset) })
            })
            .await,
        );
    }
    let median = |v: &[Latency]| median(v.iter().map(|l| l.per_second).collect());
    let (bare_median, submit_median) = (median(&bares), median(&submits));
    server.abort();
    let submitted = db.count("work_orders").await? - open_orders as i64;

    // 3. The sweep: 10,000 of the open orders are due (the orders just submitted are not).
    db.checkpoint().await?;
    let t = Instant::now();
    let escalated = crate::orders::sweep(&db, &settings, now).await?;
    let sweep_seconds = t.elapsed().as_secs_f64();

    // 4. A month's figures for the whole city over all these orders.
    let month = {
        let d = (created - time::Duration::days(60))
            .to_offset(crate::clock::CST)
            .date();
        (d.year(), u8::from(d.month()))
    };
    let city = wuye_model::RegionCode::parse("370700")?;
    let t = Instant::now();
    let f = crate::orders::figures(&db, Some(city), month, now).await?;
    let figures_ms = t.elapsed().as_secs_f64() * 1000.0;
    let total = db.count("work_orders").await?;
    Ok(serde_json::json!({
        "benchmark": "orders",
        "engine": match &db { Db::Sqlite(_) => "sqlite", Db::Postgres(_) => "postgres" },
        "concurrency": concurrency,
        "rounds": rounds,
        "seconds_per_load": each,
        "bare_insert": bares,
        "order_submission": submits,
        "bare_per_second_median": bare_median,
        "submission_per_second_median": submit_median,
        "ratio_submission_to_bare": submit_median / bare_median.max(1e-9),
        "orders_submitted_over_http": submitted,
        "sweep": { "open_orders": open_orders, "escalated": escalated, "seconds": sweep_seconds, "target_seconds": 1.0 },
        "figures": { "orders_total": total, "month": f.month, "month_volume": f.volume, "milliseconds": figures_ms, "target_ms": 500 },
    }))
}

/// The middle value (the upper one of an even count; 0 for none).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// `bench decisions`: the offline tally of 1,000,000 ballots over 1,000,000 rooms (the code
/// behind `wuye tally` and the close), and ballots cast over HTTP at `concurrency`
/// connections by `owners` verified owners of one demo compound (each ballot after the first
/// is a change: the last counts), then the close of that vote.
pub async fn decisions(
    url: Option<String>,
    concurrency: usize,
    seconds: u64,
    owners: usize,
) -> anyhow::Result<serde_json::Value> {
    // 1. The tally: one owner per room, every tenth room a couple, 1% developer rooms.
    let n = 1_000_000usize;
    let mut rooms = String::with_capacity(n * 24);
    let mut ballots = String::with_capacity(n * 12);
    rooms.push_str("room_id,exclusive_area,owner_ids\n");
    ballots.push_str("voter_id,choice\n");
    for i in 0..n {
        let area = 60 + (i % 90);
        if i % 100 == 99 {
            rooms.push_str(&format!("r{i},{area}.50,developer\n"));
        } else if i % 10 == 0 {
            rooms.push_str(&format!("r{i},{area}.50,o{i};s{i}\n"));
            ballots.push_str(&format!("o{i},{}\n", ["yes", "no", "abstain"][i % 3]));
        } else {
            rooms.push_str(&format!("r{i},{area}.50,o{i}\n"));
            ballots.push_str(&format!("o{i},{}\n", ["yes", "no", "yes", "abstain"][i % 4]));
        }
    }
    ballots.push_str("developer,no\n");
    // Three rounds; the figure is their median (one run varies with the machine's other load).
    let mut rounds = Vec::with_capacity(3);
    let mut report = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = wuye_model::tally_files(
            rooms.as_bytes(),
            ballots.as_bytes(),
            wuye_model::ThresholdClass::Ordinary,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        rounds.push(t.elapsed().as_secs_f64());
        report = Some(r);
    }
    let report = report.ok_or_else(|| anyhow::anyhow!("no tally"))?;
    let tally_seconds = median(rounds.clone());

    // 2. Ballots over HTTP, and the close.
    let mut out = Scratch::new("decisions", url)
        .await?
        .run(|db| ballots_over_http(db, concurrency, seconds, owners))
        .await?;
    out["tally"] = serde_json::json!({ "rooms": n, "ballots": report.ballots, "subjects": report.subjects, "outcome": report.tally.outcome.as_str(), "seconds": tally_seconds, "rounds": rounds, "target_seconds": 1.0 });
    Ok(out)
}

/// The second half of `bench decisions`: ballots cast over HTTP by verified owners of the
/// largest demo compound, then the close of that vote.
async fn ballots_over_http(
    db: Db,
    concurrency: usize,
    seconds: u64,
    owners: usize,
) -> anyhow::Result<serde_json::Value> {
    let now = crate::clock::db_time(OffsetDateTime::now_utc());
    demo::generate(&db, Scale::DISTRICT, now).await?;
    let (compound,): (i64,) = crate::db_read!(&db, pool => sqlx::query_as(
        "SELECT compound_id FROM rooms GROUP BY compound_id ORDER BY count(*) DESC LIMIT 1").fetch_one(pool).await)?;
    let holders: Vec<(i64,)> = crate::db_read!(&db, pool => sqlx::query_as(
        "SELECT DISTINCT ro.owner_id FROM room_owners ro JOIN rooms r ON r.id = ro.room_id WHERE r.compound_id = $1 ORDER BY ro.owner_id LIMIT $2")
        .bind(compound).bind(owners as i64).fetch_all(pool).await)?;
    let cli = crate::auth::Actor::cli();
    let mut tokens = Vec::with_capacity(holders.len());
    for (k, (owner,)) in holders.iter().enumerate() {
        let login = format!("1990000{k:04}");
        let rows: Vec<(i64,)> = crate::db_run!(&db, pool => sqlx::query_as(
            "INSERT INTO users (login, display_name, role, created_at) VALUES ($1, $1, 'owner', $2) RETURNING id")
            .bind(&login).bind(now).fetch_all(pool).await)?;
        let uid = rows.first().map(|r| r.0).unwrap_or(0);
        crate::db_run!(&db, pool => sqlx::query("INSERT INTO user_owners (user_id, owner_id, verified_at) VALUES ($1, $2, $3)")
            .bind(uid).bind(owner).bind(now).execute(pool).await.map(|_| ()))?;
        tokens.push(crate::auth::create_token(&db, &login, "bench", &cli, now).await?);
    }
    let new = crate::decisions::NewDecision {
        compound_id: compound,
        title: "压测表决".into(),
        body: String::new(),
        matters: vec!["covenant".into()],
        questions: Vec::new(),
        elections: Vec::new(),
        selections: Vec::new(),
        form: "meeting".into(),
        secret: false,
        silent_clause: false,
        voting_closes: (now + time::Duration::days(30))
            .to_offset(crate::clock::CST)
            .date(),
    };
    let id = crate::decisions::create(&db, &cli, &new, now - time::Duration::days(20)).await?;
    crate::decisions::open(&db, &cli, id, now).await?;
    let subjects = db.count("roll_subjects").await?;
    let (base, server) = start_server(db.clone()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let tokens = Arc::new(tokens);
    let url = format!("{base}/api/v1/decisions/{id}/ballots");
    let cast = {
        let (client, tokens, url) = (client.clone(), tokens.clone(), url.clone());
        drive(
            concurrency,
            Until::Elapsed(Duration::from_secs(seconds)),
            move |i| {
                let token = &tokens[(i as usize) % tokens.len().max(1)];
                client
                    .post(&url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({ "answers": [if i % 3 == 0 { "no" } else { "yes" }] }))
            },
        )
        .await
    };
    server.abort();
    let events = db.count("ballot_events").await?;
    let t = Instant::now();
    crate::decisions::close(
        &db,
        &cli,
        id,
        &Default::default(),
        now + time::Duration::seconds(1),
    )
    .await?;
    let close_seconds = t.elapsed().as_secs_f64();
    let at_scale = close_at_scale(&db, compound, 1_000_000).await?;
    Ok(serde_json::json!({
        "benchmark": "decisions",
        "engine": match &db { Db::Sqlite(_) => "sqlite", Db::Postgres(_) => "postgres" },
        "ballots_over_http": { "concurrency": concurrency, "owners": tokens.len(), "subjects_on_roll": subjects, "events_logged": events, "latency": cast },
        "close": { "events": events, "seconds": close_seconds },
        "close_at_scale": at_scale,
    }))
}

/// The close of a vote stored in the database with `n` voting subjects on its roll, each
/// with one ballot online: the decision, its frozen roll and its chained ballot events are
/// written straight to the tables (as `open` and `cast` would leave them, built with the same
/// `BallotLog`), then `decisions::close` re-plays the log from the database, checks every
/// stored hash and tallies. Only the close is timed.
async fn close_at_scale(db: &Db, compound: i64, n: usize) -> anyhow::Result<serde_json::Value> {
    use wuye_model::{
        Area, BallotLog, BallotMode, Choice, EventKind, LogHeader, RuleVersion, SubjectKey, ThresholdClass,
    };
    let now = crate::clock::db_time(OffsetDateTime::now_utc());
    let notice = now - time::Duration::days(20);
    let today = crate::clock::china_date(now);
    let salt = "bench-close-at-scale";
    let rows: Vec<(i64,)> = crate::db_run!(db, pool => sqlx::query_as(
        "INSERT INTO decisions (compound_id, title, matters, class, form, mode, state, notice_at, voting_opens, voting_closes, opened_at, salt, created_at) \
         VALUES ($1, 'bench', 'covenant', 'ordinary', 'meeting', 'open', 'voting', $2, $3, $4, $5, $6, $2) RETURNING id")
        .bind(compound).bind(notice).bind(today - time::Duration::days(4)).bind(today).bind(now - time::Duration::days(4)).bind(salt)
        .fetch_all(pool).await)?;
    let id = rows
        .first()
        .map(|r| r.0)
        .ok_or_else(|| anyhow::anyhow!("no decision"))?;
    crate::db_run!(db, pool => sqlx::query("INSERT INTO decision_questions (decision_id, position, text) VALUES ($1, 1, 'bench')")
        .bind(id).execute(pool).await.map(|_| ()))?;
    let mut subjects = Vec::with_capacity(n);
    let mut enrolment = Vec::with_capacity(n);
    for i in 0..n {
        let key = SubjectKey::of_holders(&[format!("o{i}")]).map_err(|e| anyhow::anyhow!("{e}"))?;
        let sid = wuye_model::subject_pseudonym(salt.as_bytes(), &key);
        let area = Area::from_hundredths(6_000 + (i % 9_000) as i64);
        enrolment.push((sid, area));
        subjects.push(vec![
            Param::I64(id),
            Param::Text(key.as_str().to_owned()),
            Param::Text(sid.to_string()),
            Param::I64(area.hundredths()),
        ]);
    }
    let header = LogHeader {
        decision: format!("wuye-decision-{id}"),
        rule: RuleVersion::CivilCode,
        mode: BallotMode::Open,
        classes: vec![ThresholdClass::Ordinary],
    };
    let mut log = BallotLog::new(header, notice.unix_timestamp(), enrolment.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut events = Vec::with_capacity(n);
    let at = (now - time::Duration::days(1)).unix_timestamp();
    for (i, (sid, _)) in enrolment.iter().enumerate() {
        let answer = [Choice::Yes, Choice::No, Choice::Yes, Choice::Abstain][i % 4];
        // An open ballot names who cast it (the voter's own pseudonym).
        let by = wuye_model::voter_pseudonym(salt.as_bytes(), &format!("o{i}"));
        let hash = log
            .append(EventKind::Cast, at, *sid, Some(vec![Some(answer)]), Some(by))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        events.push(vec![
            Param::I64(id),
            Param::I64(log.events().len() as i64),
            Param::Text(EventKind::Cast.as_str().to_owned()),
            Param::I64(at),
            Param::Text(sid.to_string()),
            Param::Text(wuye_model::answers_text(&[Some(answer)])),
            Param::OptText(Some(by.to_string())),
            Param::Text(hash.to_string()),
        ]);
    }
    insert_rows(
        db,
        "roll_subjects",
        &["decision_id", "subject_key", "sid", "area"],
        &subjects,
    )
    .await?;
    insert_rows(
        db,
        "ballot_events",
        &[
            "decision_id",
            "seq",
            "kind",
            "at",
            "sid",
            "answers",
            "by_sid",
            "hash",
        ],
        &events,
    )
    .await?;
    // The closes should not pay for checkpointing the million-row load that set them up (a
    // vote's ballots arrive over days, checkpointed as they come: db.rs).
    db.checkpoint().await?;
    // Three closes, the vote re-opened between them; the figure is their median.
    let mut rounds = Vec::with_capacity(3);
    let mut result = None;
    for _ in 0..3 {
        crate::db_run!(db, pool => sqlx::query("UPDATE decisions SET state = 'voting', closed_at = NULL, result = NULL, head_hash = NULL WHERE id = $1")
            .bind(id).execute(pool).await.map(|_| ()))?;
        let t = Instant::now();
        let r = crate::decisions::close(db, &crate::auth::Actor::cli(), id, &Default::default(), now).await?;
        rounds.push(t.elapsed().as_secs_f64());
        result = Some(r);
    }
    let q = result
        .and_then(|r| r.questions.first().map(|q| q.statutory.clone()))
        .unwrap_or_default();
    Ok(
        serde_json::json!({ "subjects": n, "ballots": n, "outcome": q["outcome"], "participating_heads": q["participating_heads"], "seconds": median(rounds.clone()), "rounds": rounds, "target_seconds": 1.0, "machine": machine() }),
    )
}

/// What the close's floor depends on, measured in the same run: the close hashes about two
/// chained lines of ~200 bytes per ballot (docs/benchmarks.md, "the close"), and SHA-256 runs
/// several times faster on a processor with the SHA extensions. Figures from two machines are
/// compared through this.
fn machine() -> serde_json::Value {
    use sha2::{Digest, Sha256};
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    const N: u32 = 500_000;
    let mut line = [b'7'; 200];
    let t = Instant::now();
    for _ in 0..N {
        let h: [u8; 32] = Sha256::digest(line).into();
        line[..32].copy_from_slice(&h);
    }
    let ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(N);
    serde_json::json!({ "cpu": cpu, "sha256_200_bytes_ns": (ns * 10.0).round() / 10.0 })
}

/// `bench close`: only the close of a vote stored in the database with `subjects` voting
/// subjects, each with one online ballot (the last part of `bench decisions`).
pub async fn close(url: Option<String>, subjects: usize) -> anyhow::Result<serde_json::Value> {
    Scratch::new("close", url)
        .await?
        .run(|db| async move {
            let now = crate::clock::db_time(OffsetDateTime::now_utc());
            demo::generate(&db, Scale::TINY, now).await?;
            let (compound,): (i64,) = crate::db_read!(&db, pool => sqlx::query_as(
                "SELECT min(id) FROM compounds").fetch_one(pool).await)?;
            let mut out = close_at_scale(&db, compound, subjects).await?;
            out["benchmark"] = "close".into();
            out["engine"] = match &db {
                Db::Sqlite(_) => "sqlite",
                Db::Postgres(_) => "postgres",
            }
            .into();
            Ok(out)
        })
        .await
}

/// `bench assess`: the monthly assessment of a city — 10,000 compounds, 1,000,000 owners'
/// ratings, 100,000 work orders filed in the month — timed as a provisional run, the close
/// (the final run) and the check of the closed period (docs/assessment.md §9).
pub async fn assess(url: Option<String>, ratings: usize, orders: usize) -> anyhow::Result<serde_json::Value> {
    Scratch::new("assess", url)
        .await?
        .run(|db| assess_on(db, ratings, orders))
        .await
}

async fn assess_on(db: Db, ratings: usize, orders: usize) -> anyhow::Result<serde_json::Value> {
    let now = crate::clock::db_time(OffsetDateTime::now_utc());
    // The city's 10,000 compounds, with few rooms each: the assessment reads compounds and
    // contracts, not rooms.
    let scale = Scale {
        rooms_per_compound: 4,
        ..Scale::CITY
    };
    let t = Instant::now();
    demo::generate(&db, scale, now).await?;
    let period = wuye_model::Period::containing(
        wuye_model::PeriodKind::Month,
        (now.to_offset(crate::clock::CST).date().replace_day(1)?) - time::Duration::days(1),
    )
    .ok_or_else(|| anyhow::anyhow!("no previous month"))?;
    let on = period.ends_on();
    // The projects of the month: compounds under a contract then.
    let projects: Vec<(i64, i64, i64)> = crate::db_read!(&db, pool => sqlx::query_as(
        "SELECT ct.compound_id, ct.company_id, c.region_code FROM contracts ct JOIN compounds c ON c.id = ct.compound_id \
         WHERE ct.start_date <= $1 AND ct.end_date >= $1 ORDER BY ct.compound_id").bind(on).fetch_all(pool).await)?;
    anyhow::ensure!(!projects.is_empty(), "the demo city has no contracts in force");
    let month = period.to_string();
    let rated_at = crate::clock::db_time(period.start_instant() + time::Duration::days(10));
    let levels = [
        "satisfied",
        "satisfied",
        "basic",
        "satisfied",
        "dissatisfied",
        "basic",
        "satisfied",
    ];
    // 1,000,000 owners' ratings spread over the projects (a few compounds get fewer than the
    // minimum sample), and the committee, community and street ratings of most compounds.
    let cols = [
        "rating_period",
        "compound_id",
        "company_id",
        "rater_kind",
        "rater_key",
        "level",
        "score",
        "created_at",
    ];
    let mut rows: Vec<Vec<Param>> = Vec::with_capacity(50_000);
    for i in 0..ratings {
        let (cid, co, _) = projects[(i * 7919) % projects.len()];
        rows.push(vec![
            Param::Text(month.clone()),
            Param::I64(cid),
            Param::I64(co),
            Param::Text("owner".into()),
            Param::I64(i as i64 + 1),
            Param::Text(levels[(i / projects.len() + cid as usize) % levels.len()].into()),
            Param::OptI64(None),
            Param::Ts(rated_at),
        ]);
        if rows.len() == 50_000 {
            insert_rows(&db, "ratings", &cols, &rows).await?;
            rows.clear();
        }
    }
    for (k, (cid, co, region)) in projects.iter().enumerate() {
        for (kind, key, every) in [
            ("committee", *cid, 2),
            ("community", *region, 1),
            ("street", region / 1000, 3),
        ] {
            if k % every == 0 {
                rows.push(vec![
                    Param::Text(month.clone()),
                    Param::I64(*cid),
                    Param::I64(*co),
                    Param::Text(kind.into()),
                    Param::I64(key),
                    Param::OptText(None),
                    Param::OptI64(Some(6000 + ((k * 37) % 4000) as i64)),
                    Param::Ts(rated_at),
                ]);
            }
        }
        if rows.len() >= 50_000 {
            insert_rows(&db, "ratings", &cols, &rows).await?;
            rows.clear();
        }
    }
    if !rows.is_empty() {
        insert_rows(&db, "ratings", &cols, &rows).await?;
        rows.clear();
    }
    // 100,000 work orders filed in the month: replied on time or late, rated, reopened,
    // escalated, in the proportions a city sees.
    let cols = [
        "compound_id",
        "category",
        "channel",
        "description",
        "state",
        "supervising_region_code",
        "supervision_level",
        "sign_due",
        "handle_due",
        "created_at",
        "updated_at",
        "region_code",
        "created_month",
        "handler_company_id",
        "replied_at",
        "satisfaction",
        "rehandles",
    ];
    let month_key = crate::orders::month_key(rated_at);
    for i in 0..orders {
        let (cid, co, region) = projects[(i * 104_729) % projects.len()];
        let filed = crate::clock::db_time(
            period.start_instant() + time::Duration::minutes((i % (28 * 24 * 60)) as i64),
        );
        let due = filed + time::Duration::days(7);
        let replied = match i % 10 {
            0 => None,
            1 => Some(due + time::Duration::days(2)),
            _ => Some(filed + time::Duration::days(2)),
        };
        let satisfaction = match i % 6 {
            0..=2 => Some("satisfied"),
            3 => Some("basic"),
            4 => Some("dissatisfied"),
            _ => None,
        };
        rows.push(vec![
            Param::I64(cid),
            Param::Text("repair".into()),
            Param::Text("web".into()),
            Param::Text("楼道灯不亮".into()),
            Param::Text(
                if replied.is_some() {
                    "closed"
                } else {
                    "in_progress"
                }
                .into(),
            ),
            Param::I64(region),
            Param::I64(if i % 50 == 0 { 3 } else { (i % 3) as i64 / 2 }),
            Param::Ts(filed),
            Param::Ts(due),
            Param::Ts(filed),
            Param::Ts(filed),
            Param::I64(region),
            Param::I64(month_key),
            Param::I64(co),
            Param::OptTs(replied),
            Param::OptText(satisfaction.map(str::to_owned)),
            Param::I64(i64::from(i % 17 == 0)),
        ]);
        if rows.len() == 50_000 {
            insert_rows(&db, "work_orders", &cols, &rows).await?;
            rows.clear();
        }
    }
    if !rows.is_empty() {
        insert_rows(&db, "work_orders", &cols, &rows).await?;
    }
    db.analyze().await?;
    db.checkpoint().await?;
    let setup_seconds = t.elapsed().as_secs_f64();

    let cli = crate::auth::Actor::cli();
    let settings = crate::settings::Settings::shipped();
    let t = Instant::now();
    let provisional = crate::assessment::run(&db, &cli, period, false, &settings, now).await?;
    let provisional_seconds = t.elapsed().as_secs_f64();
    let close_at = period.start_instant() + time::Duration::days(period.days() + 11);
    let t = Instant::now();
    let fin = crate::assessment::run(&db, &cli, period, true, &settings, close_at).await?;
    let close_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let check = crate::assessment::run(&db, &cli, period, false, &settings, close_at).await?;
    let check_seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(check.identical == Some(true), "the closed period's check differs");
    let (stored,): (i64,) =
        crate::db_read!(&db, pool => sqlx::query_as("SELECT count(*) FROM ratings").fetch_one(pool).await)?;
    Ok(serde_json::json!({
        "benchmark": "assess",
        "engine": match &db { Db::Sqlite(_) => "sqlite", Db::Postgres(_) => "postgres" },
        "period": period.to_string(),
        "compounds": scale.compounds,
        "projects": fin.projects,
        "rated": fin.rated,
        "companies": fin.companies,
        "ratings": stored,
        "orders": orders,
        "setup_seconds": setup_seconds,
        "provisional_seconds": provisional_seconds,
        "close_seconds": close_seconds,
        "check_seconds": check_seconds,
        "check_identical": check.identical,
        "provisional_rated": provisional.rated,
        "target_seconds": 5.0,
    }))
}
