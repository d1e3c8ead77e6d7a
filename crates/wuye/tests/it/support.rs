//! Test support: a fresh database per test on either engine, and the `storage_test!` macro
//! that runs one test body on SQLite always and on PostgreSQL when `WUYE_TEST_DATABASE_URL`
//! names a server (each test creates and drops its own database there).

use std::path::PathBuf;

use wuye::db::{Db, DbOptions};

pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub db: Db,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>, // (admin url, database name)
}

fn admin_url() -> Option<String> {
    std::env::var("WUYE_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// True when PostgreSQL tests must run (CI); then a missing server fails the test.
fn pg_required() -> bool {
    std::env::var("WUYE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestDb {
    /// `None` when PostgreSQL is not configured and not required (the test is skipped loudly).
    pub async fn new(engine: Engine) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("tempdir");
        match engine {
            Engine::Sqlite => {
                let db = Db::open(&DbOptions {
                    url: None,
                    data_dir: dir.path().to_owned(),
                    max_connections: 4,
                })
                .await
                .expect("open sqlite");
                Some(TestDb { db, dir, pg: None })
            }
            Engine::Postgres => {
                let Some(admin) = admin_url() else {
                    if pg_required() {
                        panic!("WUYE_REQUIRE_POSTGRES=1 but WUYE_TEST_DATABASE_URL is not set");
                    }
                    eprintln!(
                        "\n!!! SKIPPING PostgreSQL test: set WUYE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run it !!!\n"
                    );
                    return None;
                };
                let (name, url) = match wuye::db::create_scratch_database(&admin, "wuye_t").await {
                    Ok(made) => made,
                    Err(e) => panic!("PostgreSQL at WUYE_TEST_DATABASE_URL is unreachable: {e}"),
                };
                let db = Db::open(&DbOptions {
                    url: Some(url),
                    data_dir: dir.path().to_owned(),
                    max_connections: 8,
                })
                .await
                .expect("open postgres");
                Some(TestDb {
                    db,
                    dir,
                    pg: Some((admin, name)),
                })
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// The PostgreSQL URL of this test's database (`None` on SQLite, whose file is in `dir`).
    pub fn url(&self) -> Option<String> {
        self.pg
            .as_ref()
            .map(|(admin, name)| wuye::db::url_with_database(admin, name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let db = self.db.clone();
            // Drop runs outside async: a small runtime of its own closes the pool and drops
            // the database.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    drop(db);
                    let _ = wuye::db::drop_scratch_database(&admin, &name).await;
                });
            })
            .join();
        }
    }
}

/// Writes one async test body twice: `<name>::sqlite` and `<name>::postgres`.
/// The body sees `t: &TestDb`.
#[macro_export]
macro_rules! storage_test {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($t: &$crate::support::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::support::TestDb::new($crate::support::Engine::Sqlite).await.expect("sqlite");
                body(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(t) = $crate::support::TestDb::new($crate::support::Engine::Postgres).await {
                    body(&t).await;
                }
            }
        }
    };
}

/// A small fixed place tree for tests: 山东省 › 潍坊市 › 奎文区 › two streets › communities.
pub const REGIONS_CSV: &str = "区划代码(code),名称(name)\n\
37,山东省\n\
3707,潍坊市\n\
370702,潍城区\n\
370705,奎文区\n\
370705001,东关街道\n\
370705002,大虞街道\n\
370705001001,河坝巷社区居委会\n\
370705001002,福寿社区居委会\n\
370705002001,胜利社区居委会\n";

pub const COMPANIES_CSV: &str = "uscc,name,legal_representative,region_code\n\
91350100M000100Y43,潍坊安居物业服务有限公司,王建国,370705\n\
91110108551385082Q,潍坊宏达物业服务有限公司,李红,370705\n";

pub const COMPOUNDS_CSV: &str = "code,name,region_code,class,management_mode,is_old,year_built,floor_area,households\n\
XQ1,福寿小区,370705001001,基础类,市场化物业,是,1998,86000.50,860\n\
XQ2,东关花园,370705001002,完善类,社区代管,否,2008,50000,400\n\
XQ3,胜利家园,370705002001,提升类,market,no,2015,,\n";

pub const BUILDINGS_CSV: &str = "compound_code,building,floors,entrances\n\
XQ1,1号楼,6,2\n\
XQ1,2号楼,6,1;2;3\n\
XQ2,A座,18,1\n\
XQ3,1号楼,11,2\n";

pub const ROOMS_CSV: &str = "compound_code,building,entrance,number,floor,exclusive_area,developer_held\n\
XQ1,1号楼,1,101,1,89.50,否\n\
XQ1,1号楼,1,102,1,76.25,否\n\
XQ1,1号楼,2,101,1,120,否\n\
XQ1,2号楼,3,601,6,0.10,是\n\
XQ2,A座,1,1801,18,150.20,否\n\
XQ3,1号楼,1,101,1,99.99,否\n";

pub const OWNERS_CSV: &str = "compound_code,building,entrance,number,owner_name,id_number,phone,share\n\
XQ1,1号楼,1,101,张三,370705199001011234,13800138000,50\n\
XQ1,1号楼,1,101,李四,370705199102021235,13800138001,50\n\
XQ1,1号楼,1,102,张三,370705199001011234,13800138000,100\n\
XQ2,A座,1,1801,王五,370705198003031236,,100\n";

pub const CONTRACTS_CSV: &str = "compound_code,company_uscc,kind,fee_model,start_date,end_date,fee_standard\n\
XQ1,91350100M000100Y43,物业服务合同,包干制,2024-01-01,2099-12-31,1.20\n\
XQ3,91110108551385082Q,preliminary,lump_sum,2020-01-01,2022-12-31,0.85\n\
XQ3,91350100M000100Y43,ordinary,cost_plus,2023-01-01,2099-12-31,1.85\n";

/// Imports the fixed registry above, asserting every file is applied.
pub async fn seed(db: &Db) {
    let now = time::OffsetDateTime::now_utc();
    for (kind, csv) in [
        (wuye::io::Kind::Regions, REGIONS_CSV),
        (wuye::io::Kind::Companies, COMPANIES_CSV),
        (wuye::io::Kind::Compounds, COMPOUNDS_CSV),
        (wuye::io::Kind::Buildings, BUILDINGS_CSV),
        (wuye::io::Kind::Rooms, ROOMS_CSV),
        (wuye::io::Kind::Owners, OWNERS_CSV),
        (wuye::io::Kind::Contracts, CONTRACTS_CSV),
    ] {
        let r = wuye::io::import_file(
            db,
            None,
            &wuye::auth::Actor::cli(),
            kind,
            &format!("{}.csv", kind.as_str()),
            csv.as_bytes(),
            now,
        )
        .await
        .expect("import");
        assert!(r.applied(), "{kind:?}: {:#?}", r.errors);
    }
}

/// Poisons rows: from now on the database refuses every `event` (`INSERT` or `UPDATE`) on
/// the rows of `table` for which `when` holds (SQL over `NEW`), whatever the code does. For
/// tests that one bad row does not hold up the work behind it. [`mend`] lifts it.
pub async fn poison(db: &Db, table: &str, event: &str, when: &str) {
    let r = match db {
        Db::Sqlite(x) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TRIGGER poison_{table} BEFORE {event} ON {table} WHEN {when} \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        )))
        .execute(&x.writer)
        .await
        .map(|_| ()),
        Db::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE FUNCTION poison_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF {when} THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$"
            )))
            .execute(p)
            .await
            .expect("poison function");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TRIGGER poison_{table} BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION poison_{table}()"
            )))
            .execute(p)
            .await
            .map(|_| ())
        }
    };
    r.expect("poison");
}

/// Lifts [`poison`] from `table`.
pub async fn mend(db: &Db, table: &str) {
    let r = match db {
        Db::Sqlite(x) => sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER poison_{table}")))
            .execute(&x.writer)
            .await
            .map(|_| ()),
        Db::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP TRIGGER poison_{table} ON {table}"
            )))
            .execute(p)
            .await
            .expect("mend");
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP FUNCTION poison_{table}()")))
                .execute(p)
                .await
                .map(|_| ())
        }
    };
    r.expect("mend");
}

/// The single number a query without parameters gives (`SELECT count(*) …`).
pub async fn rows(db: &Db, sql: &'static str) -> i64 {
    let (n,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(sql).fetch_one(pool).await).expect("count");
    n
}
