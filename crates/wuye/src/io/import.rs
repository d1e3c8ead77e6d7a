//! Bulk import: a file is parsed, every row validated against the file and the database, and
//! then either applied whole in one transaction or rejected whole with every error listed.
//!
//! **Architecture invariant:** nothing is written unless the whole file is valid, and a
//! re-import of the same file changes no row (upserts update only rows whose values differ).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::AssertSqlSafe;
use time::OffsetDateTime;
use utoipa::ToSchema;
use wuye_model::{
    Area, CompoundClass, ContractKind, FeeModel, ManagementMode, Money, OwnerKind, RegionCode, RegionLevel,
    RoomKind, Uscc,
};

use super::table::{Kind, Mapped, RowError, Table, parse_bool, parse_date, read_table};
use crate::auth::{Actor, Scope};
use crate::db::{Db, DbError};
use crate::files::{FileError, FileStore};
use crate::sql::Sql;
use crate::{bind_params, db_read, db_run};

/// The outcome of an import, shown on the import page and returned by the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub kind: Kind,
    pub file_name: String,
    /// applied | rejected
    pub status: String,
    pub rows_total: usize,
    /// Rows inserted or changed (0 on a re-import of the same file).
    pub rows_changed: u64,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    pub fn applied(&self) -> bool {
        self.status == "applied"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    File(#[from] FileError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The region-code range an import may touch.
#[derive(Debug, Clone, Copy)]
struct Reach(i64, i64);

/// An import that changes at least this many rows refreshes the planner's statistics.
const ANALYZE_AFTER: u64 = 10_000;
/// Rows per multi-row INSERT (SQLite allows 32,766 parameters per statement).
const CHUNK: usize = 1000;
/// Keys per `IN (…)` lookup.
const IN_CHUNK: usize = 900;

/// Imports one file. Validation errors are a rejected report, not an `Err`; `Err` is for
/// failures of the database itself. The file is kept in the file store for the record.
pub async fn import_file(
    db: &Db,
    files: Option<&FileStore>,
    actor: &Actor,
    kind: Kind,
    file_name: &str,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<ImportReport, ImportError> {
    let now = crate::clock::db_time(now);
    // Rows outside the actor's reach are treated as unknown: they cannot be touched.
    let reach = match &actor.scope {
        Scope::All => Reach(0, i64::MAX),
        Scope::Region { code } => Reach(*code.subtree().start(), *code.subtree().end()),
        _ => Reach(1, 0),
    };
    let outcome = match read_table(bytes, file_name) {
        Err(e) => Err(vec![*e]),
        Ok(table) => {
            let plan = match kind {
                Kind::Regions => regions(db, &table, file_name).await?,
                Kind::Companies => companies(db, &table).await?,
                Kind::Compounds => compounds(db, &table, reach).await?,
                Kind::Buildings => buildings(db, &table, reach).await?,
                Kind::Rooms => rooms(db, &table, reach).await?,
                Kind::Owners => owners(db, &table, reach).await?,
                Kind::Contracts => contracts(db, &table, reach).await?,
            };
            plan.map(|p| (table.rows.len(), p))
        }
    };
    let file_id = match files {
        Some(f) => Some(f.put(bytes, content_type_of(bytes), now).await?),
        None => None,
    };
    let report = match outcome {
        Ok((rows_total, plan)) => {
            let rows_changed = apply(db, plan, now).await?;
            if rows_changed >= ANALYZE_AFTER {
                db.analyze().await?;
            }
            ImportReport {
                kind,
                file_name: file_name.to_owned(),
                status: "applied".into(),
                rows_total,
                rows_changed,
                errors: Vec::new(),
            }
        }
        Err(mut errors) => {
            errors.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
            ImportReport {
                kind,
                file_name: file_name.to_owned(),
                status: "rejected".into(),
                rows_total: 0,
                rows_changed: 0,
                errors,
            }
        }
    };
    let run_id = record_run(db, &report, file_id, now).await?;
    crate::auth::audit(db, actor, &format!("import.{}", kind.as_str()), "import_run", &run_id.to_string(), None,
        Some(serde_json::json!({ "file": report.file_name, "status": report.status, "rows": report.rows_total, "changed": report.rows_changed })), now).await?;
    tracing::info!(import.kind = kind.as_str(), import.status = %report.status, import.rows = report.rows_total,
        import.changed = report.rows_changed, import.errors = report.errors.len(), "import");
    metrics::counter!("wuye_import_rows_total", "kind" => kind.as_str(), "status" => report.status.clone())
        .increment(report.rows_total as u64);
    Ok(report)
}

fn content_type_of(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"PK\x03\x04") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv"
    }
}

async fn record_run(
    db: &Db,
    r: &ImportReport,
    file_id: Option<String>,
    now: OffsetDateTime,
) -> Result<i64, ImportError> {
    let errors = serde_json::to_string(&r.errors).unwrap_or_else(|_| "[]".into());
    let sql = "INSERT INTO import_runs (kind, file_name, file_id, status, rows_total, rows_changed, errors, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    let rows: Vec<(i64,)> = db_run!(db, pool => sqlx::query_as(sql).bind(r.kind.as_str()).bind(&r.file_name).bind(file_id).bind(&r.status)
        .bind(r.rows_total as i64).bind(r.rows_changed as i64).bind(errors).bind(now).fetch_all(pool).await)?;
    Ok(rows.first().map(|r| r.0).unwrap_or(0))
}

/// A past import, for the import page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ImportRun {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub status: String,
    pub rows_total: i64,
    pub rows_changed: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn recent_runs(db: &Db, limit: i64) -> Result<Vec<ImportRun>, DbError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT id, kind, file_name, status, rows_total, rows_changed, created_at FROM import_runs ORDER BY id DESC LIMIT $1")
        .bind(limit).fetch_all(pool).await)?)
}

// ---------------------------------------------------------------------------------------------
// Validated rows, ready to write

struct RegionRec {
    code: i64,
    name: String,
    level: &'static str,
    parent: Option<i64>,
    urban_rural: Option<String>,
    dataset: String,
}

struct CompanyRec {
    uscc: String,
    name: String,
    legal: String,
    phone: String,
    address: String,
    region: Option<i64>,
}

struct CompoundRec {
    code: String,
    name: String,
    region: i64,
    address: String,
    lat: Option<i64>,
    lng: Option<i64>,
    year: Option<i64>,
    land: Option<i64>,
    floor: Option<i64>,
    households: Option<i64>,
    class: &'static str,
    mode: &'static str,
    is_old: bool,
    designations: String,
}

struct BuildingRec {
    compound_id: i64,
    name: String,
    floors: Option<i64>,
    entrances: Vec<String>,
}

/// Exposed for the demo generator and the import benchmark, which write through the same path.
pub struct RoomRec {
    pub compound_id: i64,
    pub building_id: i64,
    pub entrance_id: i64,
    pub number: String,
    pub floor: Option<i64>,
    pub kind: &'static str,
    pub exclusive_area: i64,
    pub floor_area: Option<i64>,
    pub developer_held: bool,
}

struct OwnerRec {
    room_id: i64,
    name: String,
    id_number: String,
    phone: String,
    kind: &'static str,
    share_bp: i64,
}

struct ContractRec {
    compound_id: i64,
    company_id: i64,
    kind: &'static str,
    fee_model: &'static str,
    start: time::Date,
    end: time::Date,
    fee: i64,
}

enum Plan {
    Regions(Vec<RegionRec>),
    Companies(Vec<CompanyRec>),
    Compounds(Vec<CompoundRec>),
    Buildings(Vec<BuildingRec>),
    Rooms(Vec<RoomRec>),
    Owners(Vec<OwnerRec>),
    Contracts(Vec<ContractRec>),
}

type Validated = Result<Result<Plan, Vec<RowError>>, ImportError>;

/// Matches a table's headers to a kind's layout, or returns the missing-column errors.
macro_rules! mapped {
    ($table:expr, $kind:expr) => {
        match Mapped::new($table, $kind) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        }
    };
}

/// A required cell parsed by `parse`; on failure the error is recorded against the cell.
fn required_parsed<'r, T, E: std::fmt::Display>(
    m: &Mapped<'_>,
    cells: &'r [String],
    row: u32,
    id: &str,
    errors: &mut Vec<RowError>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<(T, &'r str)> {
    let text = m.required(cells, row, id, errors)?;
    match parse(text) {
        Ok(v) => Some((v, text)),
        Err(e) => {
            errors.push(m.model_error(row, id, text, &e));
            None
        }
    }
}

fn finish(plan: Plan, errors: Vec<RowError>) -> Result<Plan, Vec<RowError>> {
    if errors.is_empty() { Ok(plan) } else { Err(errors) }
}

/// Flags the second and later rows with the same key.
fn check_duplicate<K: std::hash::Hash + Eq>(
    seen: &mut HashMap<K, u32>,
    key: K,
    row: u32,
    m: &Mapped<'_>,
    col: &str,
    value: &str,
    errors: &mut Vec<RowError>,
) -> bool {
    if let Some(first) = seen.get(&key) {
        errors.push(m.error(
            row,
            col,
            value,
            format!("与第 {first} 行重复"),
            format!("duplicates row {first}"),
        ));
        return false;
    }
    seen.insert(key, row);
    true
}

// ---------------------------------------------------------------------------------------------
// Lookups (all on the read side, chunked)

/// `key → id` for text keys, via `SELECT key, id FROM … WHERE key IN (…)`.
async fn ids_by_text(
    db: &Db,
    select: &str,
    keys: &HashSet<String>,
) -> Result<HashMap<String, i64>, ImportError> {
    let keys: Vec<&String> = keys.iter().collect();
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(IN_CHUNK) {
        let mut sql = Sql::new(select);
        sql.push(" IN (");
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_text(k.as_str());
        }
        sql.push(")");
        let rows: Vec<(String, i64)> = db_read!(db, pool =>
            bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Rows of `select … WHERE col IN (ids)` for integer ids.
async fn rows_by_ids<T>(db: &Db, select: &str, ids: &[i64]) -> Result<Vec<T>, ImportError>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let mut sql = Sql::new(select);
        sql.push(" IN (");
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_i64(*k);
        }
        sql.push(")");
        let rows: Vec<T> = db_read!(db, pool =>
            bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Compound ids by code for every `compound_code` cell, among the compounds within reach.
async fn compound_ids(db: &Db, m: &Mapped<'_>, reach: Reach) -> Result<HashMap<String, i64>, ImportError> {
    let codes: HashSet<String> = m
        .table
        .rows
        .iter()
        .map(|(_, c)| m.get(c, "compound_code").to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    // Both bounds are integers formatted here, never user text.
    let select = format!(
        "SELECT code, id FROM compounds WHERE region_code BETWEEN {} AND {} AND code",
        reach.0, reach.1
    );
    ids_by_text(db, &select, &codes).await
}

/// `(building_id, entrance name) → entrance id` and `(compound_id, building name) → building id`.
struct Places {
    buildings: HashMap<(i64, String), i64>,
    entrances: HashMap<(i64, String), i64>,
}

async fn places(db: &Db, compound_ids: &[i64]) -> Result<Places, ImportError> {
    let b: Vec<(i64, i64, String)> = rows_by_ids(
        db,
        "SELECT id, compound_id, name FROM buildings WHERE compound_id",
        compound_ids,
    )
    .await?;
    let bids: Vec<i64> = b.iter().map(|r| r.0).collect();
    let e: Vec<(i64, i64, String)> = rows_by_ids(
        db,
        "SELECT id, building_id, name FROM entrances WHERE building_id",
        &bids,
    )
    .await?;
    Ok(Places {
        buildings: b.into_iter().map(|(id, c, n)| ((c, n), id)).collect(),
        entrances: e.into_iter().map(|(id, b, n)| ((b, n), id)).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Validation per kind

async fn regions(db: &Db, table: &Table, file_name: &str) -> Validated {
    let m = mapped!(table, Kind::Regions);
    let mut errors = Vec::new();
    let mut recs = Vec::with_capacity(table.rows.len());
    let mut seen = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let Some((code, code_s)) = required_parsed(&m, cells, row, "code", &mut errors, RegionCode::parse)
        else {
            continue;
        };
        let Some(name) = m.required(cells, row, "name", &mut errors) else {
            continue;
        };
        if !check_duplicate(&mut seen, code.as_i64(), row, &m, "code", code_s, &mut errors) {
            continue;
        }
        let parent_s = m.get(cells, "parent_code");
        let parent = if parent_s.is_empty() {
            code.parent()
        } else {
            match RegionCode::parse(parent_s) {
                // A prefecture-level city without counties (东莞 4419, 中山 4420, 儋州 4604) is
                // listed again among the counties as 441900, which pads to the city's own code:
                // the same region, already imported from the cities file.
                Ok(p) if p == code => continue,
                Ok(p) if p.level() < code.level() && p.contains(code) => Some(p),
                Ok(_) => {
                    errors.push(m.error(
                        row,
                        "parent_code",
                        parent_s,
                        "上级代码与本级代码不相符",
                        "the parent code is not an ancestor of the code",
                    ));
                    continue;
                }
                Err(e) => {
                    errors.push(m.model_error(row, "parent_code", parent_s, &e));
                    continue;
                }
            }
        };
        let ur = m.get(cells, "urban_rural");
        recs.push(RegionRec {
            code: code.as_i64(),
            name: name.to_owned(),
            level: code.level().as_str(),
            parent: parent.map(RegionCode::as_i64),
            urban_rural: (!ur.is_empty()).then(|| ur.to_owned()),
            dataset: file_name.to_owned(),
        });
    }
    // Every parent must exist: in the database or earlier in this file.
    let in_file: HashSet<i64> = recs.iter().map(|r| r.code).collect();
    let wanted: Vec<i64> = recs
        .iter()
        .filter_map(|r| r.parent)
        .filter(|p| !in_file.contains(p))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let known: HashSet<i64> = rows_by_ids::<(i64,)>(db, "SELECT code FROM regions WHERE code", &wanted)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
    let row_of: HashMap<i64, u32> = table
        .rows
        .iter()
        .filter_map(|(row, cells)| {
            RegionCode::parse(m.get(cells, "code"))
                .ok()
                .map(|c| (c.as_i64(), *row))
        })
        .collect();
    for r in &recs {
        if let Some(p) = r.parent.filter(|p| !in_file.contains(p) && !known.contains(p)) {
            let row = row_of.get(&r.code).copied().unwrap_or(0);
            errors.push(m.error(
                row,
                "code",
                &format!("{:012}", r.code),
                format!("上级区划 {p:012} 不存在，请先导入上级区划"),
                format!("parent region {p:012} is unknown: import it first"),
            ));
        }
    }
    // Parents first (a parent's code is always smaller than its children's).
    recs.sort_by_key(|r| r.code);
    Ok(finish(Plan::Regions(recs), errors))
}

async fn companies(db: &Db, table: &Table) -> Validated {
    let m = mapped!(table, Kind::Companies);
    let mut errors = Vec::new();
    let mut recs = Vec::new();
    let mut seen = HashMap::new();
    let mut regions_wanted = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let Some((uscc, u)) = required_parsed(&m, cells, row, "uscc", &mut errors, Uscc::parse) else {
            continue;
        };
        let Some(name) = m.required(cells, row, "name", &mut errors) else {
            continue;
        };
        if !check_duplicate(
            &mut seen,
            uscc.as_str().to_owned(),
            row,
            &m,
            "uscc",
            u,
            &mut errors,
        ) {
            continue;
        }
        let rc = m.get(cells, "region_code");
        let region = if rc.is_empty() {
            None
        } else {
            match RegionCode::parse(rc) {
                Ok(c) => {
                    regions_wanted.entry(c.as_i64()).or_insert((row, rc.to_owned()));
                    Some(c.as_i64())
                }
                Err(e) => {
                    errors.push(m.model_error(row, "region_code", rc, &e));
                    continue;
                }
            }
        };
        recs.push(CompanyRec {
            uscc: uscc.as_str().to_owned(),
            name: name.to_owned(),
            legal: m.get(cells, "legal_representative").to_owned(),
            phone: m.get(cells, "contact_phone").to_owned(),
            address: m.get(cells, "address").to_owned(),
            region,
        });
    }
    let ids: Vec<i64> = regions_wanted.keys().copied().collect();
    let known: HashSet<i64> = rows_by_ids::<(i64,)>(db, "SELECT code FROM regions WHERE code", &ids)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
    for (code, (row, text)) in regions_wanted {
        if !known.contains(&code) {
            errors.push(m.error(
                row,
                "region_code",
                &text,
                "区划代码不存在",
                "unknown division code",
            ));
        }
    }
    Ok(finish(Plan::Companies(recs), errors))
}

fn opt_area(m: &Mapped<'_>, cells: &[String], row: u32, id: &str, errors: &mut Vec<RowError>) -> Option<i64> {
    let v = m.get(cells, id);
    if v.is_empty() {
        return None;
    }
    match Area::parse(v) {
        Ok(a) => Some(a.hundredths()),
        Err(e) => {
            errors.push(m.model_error(row, id, v, &e));
            None
        }
    }
}

fn opt_int(
    m: &Mapped<'_>,
    cells: &[String],
    row: u32,
    id: &str,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Vec<RowError>,
) -> Option<i64> {
    let v = m.get(cells, id);
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) if range.contains(&n) => Some(n),
        Ok(n) if n < 0 => {
            errors.push(m.error(row, id, v, "不能为负数", "must not be negative"));
            None
        }
        _ => {
            errors.push(m.error(
                row,
                id,
                v,
                format!("应为 {} 到 {} 之间的整数", range.start(), range.end()),
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            ));
            None
        }
    }
}

/// Degrees with up to six decimals → micro-degrees.
fn opt_degrees(
    m: &Mapped<'_>,
    cells: &[String],
    row: u32,
    id: &str,
    limit: i64,
    errors: &mut Vec<RowError>,
) -> Option<i64> {
    let v = m.get(cells, id);
    if v.is_empty() {
        return None;
    }
    let (neg, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v),
    };
    let (i, f) = body.split_once('.').unwrap_or((body, ""));
    let ok = !i.is_empty()
        && i.bytes().all(|b| b.is_ascii_digit())
        && f.len() <= 6
        && f.bytes().all(|b| b.is_ascii_digit());
    let value = ok
        .then(|| {
            let ip: i64 = i.parse().ok()?;
            let fp: i64 = format!("{f:0<6}").parse().ok()?;
            Some(ip * 1_000_000 + fp)
        })
        .flatten()
        .filter(|x| *x <= limit * 1_000_000);
    match value {
        Some(x) => Some(if neg { -x } else { x }),
        None => {
            errors.push(m.error(
                row,
                id,
                v,
                format!("应为 -{limit} 到 {limit} 之间、最多六位小数的度数"),
                format!("must be degrees between -{limit} and {limit} with at most six decimals"),
            ));
            None
        }
    }
}

fn vocab<T: Copy>(
    m: &Mapped<'_>,
    cells: &[String],
    row: u32,
    id: &str,
    default: Option<T>,
    parse: fn(&str) -> Result<T, wuye_model::EnumError>,
    errors: &mut Vec<RowError>,
) -> Option<T> {
    let v = m.get(cells, id);
    if v.is_empty() {
        if default.is_none() {
            errors.push(m.error(row, id, v, "必填项为空", "required value is empty"));
        }
        return default;
    }
    match parse(v) {
        Ok(x) => Some(x),
        Err(e) => {
            errors.push(m.model_error(row, id, v, &e));
            None
        }
    }
}

fn flag(m: &Mapped<'_>, cells: &[String], row: u32, id: &str, errors: &mut Vec<RowError>) -> bool {
    let v = m.get(cells, id);
    parse_bool(v).unwrap_or_else(|| {
        errors.push(m.error(row, id, v, "应为“是”或“否”", "must be yes or no"));
        false
    })
}

async fn compounds(db: &Db, table: &Table, reach: Reach) -> Validated {
    let m = mapped!(table, Kind::Compounds);
    let mut errors = Vec::new();
    let mut recs = Vec::new();
    let mut seen = HashMap::new();
    let mut region_rows: HashMap<i64, Vec<(u32, String)>> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let before = errors.len();
        let code = m.required(cells, row, "code", &mut errors);
        let name = m.required(cells, row, "name", &mut errors);
        let region =
            m.required(cells, row, "region_code", &mut errors)
                .and_then(|rc| match RegionCode::parse(rc) {
                    Ok(c) => {
                        region_rows
                            .entry(c.as_i64())
                            .or_default()
                            .push((row, rc.to_owned()));
                        Some(c.as_i64())
                    }
                    Err(e) => {
                        errors.push(m.model_error(row, "region_code", rc, &e));
                        None
                    }
                });
        let class = vocab(&m, cells, row, "class", None, CompoundClass::parse, &mut errors);
        let mode = vocab(
            &m,
            cells,
            row,
            "management_mode",
            None,
            ManagementMode::parse,
            &mut errors,
        );
        let rec = CompoundRec {
            code: code.unwrap_or_default().to_owned(),
            name: name.unwrap_or_default().to_owned(),
            region: region.unwrap_or_default(),
            address: m.get(cells, "address").to_owned(),
            lat: opt_degrees(&m, cells, row, "latitude", 90, &mut errors),
            lng: opt_degrees(&m, cells, row, "longitude", 180, &mut errors),
            year: opt_int(&m, cells, row, "year_built", 1900..=2100, &mut errors),
            land: opt_area(&m, cells, row, "land_area", &mut errors),
            floor: opt_area(&m, cells, row, "floor_area", &mut errors),
            households: opt_int(&m, cells, row, "households", 0..=1_000_000, &mut errors),
            class: class.map(CompoundClass::as_str).unwrap_or_default(),
            mode: mode.map(ManagementMode::as_str).unwrap_or_default(),
            is_old: flag(&m, cells, row, "is_old", &mut errors),
            designations: m.get(cells, "designations").to_owned(),
        };
        if errors.len() == before
            && check_duplicate(
                &mut seen,
                rec.code.clone(),
                row,
                &m,
                "code",
                &rec.code,
                &mut errors,
            )
        {
            recs.push(rec);
        }
    }
    let ids: Vec<i64> = region_rows.keys().copied().collect();
    let levels: HashMap<i64, String> =
        rows_by_ids::<(i64, String)>(db, "SELECT code, level FROM regions WHERE code", &ids)
            .await?
            .into_iter()
            .filter(|(c, _)| (reach.0..=reach.1).contains(c))
            .collect();
    // A code that names a compound outside the caller's reach cannot be overwritten from here.
    let codes: HashSet<String> = recs.iter().map(|r| r.code.clone()).collect();
    let existing = ids_by_text(
        db,
        &format!(
            "SELECT code, region_code FROM compounds WHERE region_code NOT BETWEEN {} AND {} AND code",
            reach.0, reach.1
        ),
        &codes,
    )
    .await?;
    for (row, cells) in &table.rows {
        let code = m.get(cells, "code");
        if existing.contains_key(code) {
            errors.push(m.error(
                *row,
                "code",
                code,
                "该小区编码属于您管理范围以外的小区",
                "this compound code belongs to a compound outside your area",
            ));
        }
    }
    for (code, rows) in region_rows {
        let problem = match levels.get(&code).map(String::as_str) {
            None => Some((
                "区划代码不存在，请先导入行政区划",
                "unknown division code: import the regions first",
            )),
            Some(l) if l != RegionLevel::Community.as_str() => Some((
                "小区须隶属于社区（12 位社区代码）",
                "a compound belongs to a community (a 12-digit community code)",
            )),
            Some(_) => None,
        };
        if let Some((zh, en)) = problem {
            for (row, text) in rows {
                errors.push(m.error(row, "region_code", &text, zh, en));
            }
        }
    }
    Ok(finish(Plan::Compounds(recs), errors))
}

/// Resolves the compound of a row, or records why not.
fn compound_of(
    m: &Mapped<'_>,
    cells: &[String],
    row: u32,
    ids: &HashMap<String, i64>,
    errors: &mut Vec<RowError>,
) -> Option<i64> {
    let code = m.required(cells, row, "compound_code", errors)?;
    match ids.get(code) {
        Some(id) => Some(*id),
        None => {
            errors.push(m.error(
                row,
                "compound_code",
                code,
                "小区编码不存在，请先导入小区",
                "unknown compound code: import the compound first",
            ));
            None
        }
    }
}

async fn buildings(db: &Db, table: &Table, reach: Reach) -> Validated {
    let m = mapped!(table, Kind::Buildings);
    let ids = compound_ids(db, &m, reach).await?;
    let mut errors = Vec::new();
    let mut recs = Vec::new();
    let mut seen = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let before = errors.len();
        let compound = compound_of(&m, cells, row, &ids, &mut errors);
        let name = m.required(cells, row, "building", &mut errors);
        let floors = opt_int(&m, cells, row, "floors", 0..=200, &mut errors);
        let ent = m.required(cells, row, "entrances", &mut errors).unwrap_or("");
        let entrances: Vec<String> = match ent.parse::<i64>() {
            Ok(n) if (1..=50).contains(&n) => (1..=n).map(|i| i.to_string()).collect(),
            Ok(_) => {
                errors.push(m.error(
                    row,
                    "entrances",
                    ent,
                    "单元数应为 1 到 50",
                    "entrance count must be 1 to 50",
                ));
                Vec::new()
            }
            Err(_) => ent
                .split([';', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if errors.len() > before {
            continue;
        }
        let (Some(compound_id), Some(name)) = (compound, name) else {
            continue;
        };
        if check_duplicate(
            &mut seen,
            (compound_id, name.to_owned()),
            row,
            &m,
            "building",
            name,
            &mut errors,
        ) {
            recs.push(BuildingRec {
                compound_id,
                name: name.to_owned(),
                floors,
                entrances,
            });
        }
    }
    Ok(finish(Plan::Buildings(recs), errors))
}

async fn rooms(db: &Db, table: &Table, reach: Reach) -> Validated {
    let m = mapped!(table, Kind::Rooms);
    let ids = compound_ids(db, &m, reach).await?;
    let mut cids: Vec<i64> = ids.values().copied().collect();
    cids.sort_unstable();
    let places = places(db, &cids).await?;
    let mut errors = Vec::new();
    let mut recs = Vec::with_capacity(table.rows.len());
    let mut seen: HashMap<(i64, String), u32> = HashMap::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let row = *row;
        let before = errors.len();
        let Some(compound_id) = compound_of(&m, cells, row, &ids, &mut errors) else {
            continue;
        };
        let bname = m.get(cells, "building");
        let Some(&building_id) = places.buildings.get(&(compound_id, bname.to_owned())) else {
            errors.push(m.error(
                row,
                "building",
                bname,
                "该小区下没有此楼栋，请先导入楼栋",
                "no such building in this compound: import the buildings first",
            ));
            continue;
        };
        let ename = m.get(cells, "entrance");
        let Some(&entrance_id) = places.entrances.get(&(building_id, ename.to_owned())) else {
            errors.push(m.error(
                row,
                "entrance",
                ename,
                "该楼栋下没有此单元",
                "no such entrance in this building",
            ));
            continue;
        };
        let number = m.required(cells, row, "number", &mut errors);
        let area_s = m.get(cells, "exclusive_area");
        let exclusive_area = match Area::parse(area_s) {
            Ok(a) => Some(a.hundredths()),
            Err(e) => {
                errors.push(m.model_error(row, "exclusive_area", area_s, &e));
                None
            }
        };
        let floor = opt_int(&m, cells, row, "floor", -10..=200, &mut errors);
        let kind = vocab(
            &m,
            cells,
            row,
            "kind",
            Some(RoomKind::Residential),
            RoomKind::parse,
            &mut errors,
        );
        let floor_area = opt_area(&m, cells, row, "floor_area", &mut errors);
        let developer_held = flag(&m, cells, row, "developer_held", &mut errors);
        if errors.len() > before {
            continue;
        }
        let (Some(number), Some(exclusive_area), Some(kind)) = (number, exclusive_area, kind) else {
            continue;
        };
        if check_duplicate(
            &mut seen,
            (entrance_id, number.to_owned()),
            row,
            &m,
            "number",
            number,
            &mut errors,
        ) {
            recs.push(RoomRec {
                compound_id,
                building_id,
                entrance_id,
                number: number.to_owned(),
                floor,
                kind: kind.as_str(),
                exclusive_area,
                floor_area,
                developer_held,
            });
        }
    }
    Ok(finish(Plan::Rooms(recs), errors))
}

async fn owners(db: &Db, table: &Table, reach: Reach) -> Validated {
    let m = mapped!(table, Kind::Owners);
    let ids = compound_ids(db, &m, reach).await?;
    let cids: Vec<i64> = ids.values().copied().collect();
    let places = places(db, &cids).await?;
    let room_rows: Vec<(i64, i64, String)> = rows_by_ids(
        db,
        "SELECT id, entrance_id, number FROM rooms WHERE compound_id",
        &cids,
    )
    .await?;
    let room_ids: HashMap<(i64, String), i64> =
        room_rows.into_iter().map(|(id, e, n)| ((e, n), id)).collect();
    let mut errors = Vec::new();
    let mut recs = Vec::new();
    let mut seen = HashMap::new();
    let mut share_sum: HashMap<i64, (i64, u32)> = HashMap::new();
    let mut names: HashMap<String, (String, u32)> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let before = errors.len();
        let Some(compound_id) = compound_of(&m, cells, row, &ids, &mut errors) else {
            continue;
        };
        let (b, e, n) = (
            m.get(cells, "building"),
            m.get(cells, "entrance"),
            m.get(cells, "number"),
        );
        let room = places
            .buildings
            .get(&(compound_id, b.to_owned()))
            .and_then(|bid| places.entrances.get(&(*bid, e.to_owned())))
            .and_then(|eid| room_ids.get(&(*eid, n.to_owned())));
        let Some(&room_id) = room else {
            errors.push(m.error(
                row,
                "number",
                &format!("{b} {e} {n}"),
                "房屋不存在，请先导入房屋",
                "no such room: import the rooms first",
            ));
            continue;
        };
        let name = m.required(cells, row, "owner_name", &mut errors);
        let id_number = m
            .required(cells, row, "id_number", &mut errors)
            .map(str::to_ascii_uppercase);
        let kind = vocab(
            &m,
            cells,
            row,
            "owner_kind",
            Some(OwnerKind::Person),
            OwnerKind::parse,
            &mut errors,
        );
        let share_s = m.get(cells, "share").trim_end_matches('%');
        let share_bp = if share_s.is_empty() {
            Some(10_000)
        } else {
            match Area::parse(share_s) {
                Ok(a) if a.hundredths() > 0 && a.hundredths() <= 10_000 => Some(a.hundredths()),
                _ => {
                    errors.push(m.error(
                        row,
                        "share",
                        share_s,
                        "份额应为大于 0、不超过 100 的百分数",
                        "share must be a percentage above 0 and at most 100",
                    ));
                    None
                }
            }
        };
        if errors.len() > before {
            continue;
        }
        let (Some(name), Some(id_number), Some(kind), Some(share_bp)) = (name, id_number, kind, share_bp)
        else {
            continue;
        };
        if let Some((other, first)) = names.get(&id_number)
            && other != name
        {
            errors.push(m.error(
                row,
                "owner_name",
                name,
                format!("同一证件号码在第 {first} 行的姓名为“{other}”"),
                format!("the same ID number has the name {other:?} on row {first}"),
            ));
            continue;
        }
        names.entry(id_number.clone()).or_insert((name.to_owned(), row));
        if !check_duplicate(
            &mut seen,
            (room_id, id_number.clone()),
            row,
            &m,
            "id_number",
            &id_number,
            &mut errors,
        ) {
            continue;
        }
        let sum = share_sum.entry(room_id).or_insert((0, row));
        sum.0 += share_bp;
        recs.push(OwnerRec {
            room_id,
            name: name.to_owned(),
            id_number,
            phone: m.get(cells, "phone").to_owned(),
            kind: kind.as_str(),
            share_bp,
        });
    }
    for (_, (sum, row)) in share_sum {
        if sum > 10_000 {
            errors.push(m.error(
                row,
                "share",
                &Area::from_hundredths(sum).to_string(),
                "同一房屋的份额合计超过 100%",
                "the shares of one room add up to more than 100%",
            ));
        }
    }
    Ok(finish(Plan::Owners(recs), errors))
}

async fn contracts(db: &Db, table: &Table, reach: Reach) -> Validated {
    let m = mapped!(table, Kind::Contracts);
    let ids = compound_ids(db, &m, reach).await?;
    let usccs: HashSet<String> = table
        .rows
        .iter()
        .map(|(_, c)| m.get(c, "company_uscc").to_ascii_uppercase())
        .collect();
    let companies = ids_by_text(db, "SELECT uscc, id FROM companies WHERE uscc", &usccs).await?;
    let mut errors = Vec::new();
    let mut recs = Vec::new();
    let mut seen = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let before = errors.len();
        let compound = compound_of(&m, cells, row, &ids, &mut errors);
        let u = m.get(cells, "company_uscc");
        let company = match Uscc::parse(u) {
            Ok(code) => match companies.get(code.as_str()) {
                Some(id) => Some(*id),
                None => {
                    errors.push(m.error(
                        row,
                        "company_uscc",
                        u,
                        "企业未登记，请先导入企业",
                        "unknown company: import the companies first",
                    ));
                    None
                }
            },
            Err(e) => {
                errors.push(m.model_error(row, "company_uscc", u, &e));
                None
            }
        };
        let kind = vocab(
            &m,
            cells,
            row,
            "kind",
            Some(ContractKind::Ordinary),
            ContractKind::parse,
            &mut errors,
        );
        let fee_model = vocab(
            &m,
            cells,
            row,
            "fee_model",
            Some(FeeModel::LumpSum),
            FeeModel::parse,
            &mut errors,
        );
        let date = |id: &str, errors: &mut Vec<RowError>| {
            let v = m.get(cells, id);
            let d = parse_date(v);
            if d.is_none() {
                errors.push(m.error(row, id, v, "日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD"));
            }
            d
        };
        let start = date("start_date", &mut errors);
        let end = date("end_date", &mut errors);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errors.push(m.error(
                row,
                "end_date",
                &e.to_string(),
                "截止日期早于起始日期",
                "the end date is before the start date",
            ));
        }
        let fee_s = m.get(cells, "fee_standard");
        let fee = match Money::parse(fee_s) {
            Ok(f) => Some(f.hundredths()),
            Err(e) => {
                errors.push(m.model_error(row, "fee_standard", fee_s, &e));
                None
            }
        };
        if errors.len() > before {
            continue;
        }
        let (
            Some(compound_id),
            Some(company_id),
            Some(kind),
            Some(fee_model),
            Some(start),
            Some(end),
            Some(fee),
        ) = (compound, company, kind, fee_model, start, end, fee)
        else {
            continue;
        };
        if check_duplicate(
            &mut seen,
            (compound_id, company_id, start),
            row,
            &m,
            "start_date",
            &start.to_string(),
            &mut errors,
        ) {
            recs.push(ContractRec {
                compound_id,
                company_id,
                kind: kind.as_str(),
                fee_model: fee_model.as_str(),
                start,
                end,
                fee,
            });
        }
    }
    Ok(finish(Plan::Contracts(recs), errors))
}

// ---------------------------------------------------------------------------------------------
// Writing: one transaction per file, multi-row upserts that touch only changed rows.

async fn apply(db: &Db, plan: Plan, now: OffsetDateTime) -> Result<u64, ImportError> {
    let changed = db_run!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut changed: u64 = 0;
        match &plan {
            Plan::Regions(recs) => {
                for chunk in recs.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO regions (code, name, level, parent_code, urban_rural, dataset) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.code).push_bind(r.name.clone()).push_bind(r.level).push_bind(r.parent)
                            .push_bind(r.urban_rural.clone()).push_bind(r.dataset.clone());
                    });
                    qb.push(" ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
                        parent_code = excluded.parent_code, urban_rural = coalesce(excluded.urban_rural, regions.urban_rural), \
                        dataset = excluded.dataset \
                        WHERE regions.name IS DISTINCT FROM excluded.name OR regions.parent_code IS DISTINCT FROM excluded.parent_code \
                        OR (excluded.urban_rural IS NOT NULL AND regions.urban_rural IS DISTINCT FROM excluded.urban_rural)");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            Plan::Companies(recs) => {
                for chunk in recs.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO companies (uscc, name, legal_representative, contact_phone, address, region_code, created_at, updated_at) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.uscc.clone()).push_bind(r.name.clone()).push_bind(r.legal.clone()).push_bind(r.phone.clone())
                            .push_bind(r.address.clone()).push_bind(r.region).push_bind(now).push_bind(now);
                    });
                    qb.push(" ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, legal_representative = excluded.legal_representative, \
                        contact_phone = excluded.contact_phone, address = excluded.address, region_code = excluded.region_code, \
                        updated_at = excluded.updated_at \
                        WHERE companies.name IS DISTINCT FROM excluded.name \
                        OR companies.legal_representative IS DISTINCT FROM excluded.legal_representative \
                        OR companies.contact_phone IS DISTINCT FROM excluded.contact_phone \
                        OR companies.address IS DISTINCT FROM excluded.address \
                        OR companies.region_code IS DISTINCT FROM excluded.region_code");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            Plan::Compounds(recs) => {
                for chunk in recs.chunks(CHUNK / 2) {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO compounds (code, name, region_code, address, latitude_e6, longitude_e6, year_built, land_area, \
                         floor_area, households, class, management_mode, is_old, designations, created_at, updated_at) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.code.clone()).push_bind(r.name.clone()).push_bind(r.region).push_bind(r.address.clone())
                            .push_bind(r.lat).push_bind(r.lng).push_bind(r.year).push_bind(r.land).push_bind(r.floor)
                            .push_bind(r.households).push_bind(r.class).push_bind(r.mode).push_bind(r.is_old)
                            .push_bind(r.designations.clone()).push_bind(now).push_bind(now);
                    });
                    qb.push(" ON CONFLICT (code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
                        address = excluded.address, latitude_e6 = excluded.latitude_e6, longitude_e6 = excluded.longitude_e6, \
                        year_built = excluded.year_built, land_area = excluded.land_area, floor_area = excluded.floor_area, \
                        households = excluded.households, class = excluded.class, management_mode = excluded.management_mode, \
                        is_old = excluded.is_old, designations = excluded.designations, updated_at = excluded.updated_at \
                        WHERE compounds.name IS DISTINCT FROM excluded.name OR compounds.region_code IS DISTINCT FROM excluded.region_code \
                        OR compounds.address IS DISTINCT FROM excluded.address OR compounds.latitude_e6 IS DISTINCT FROM excluded.latitude_e6 \
                        OR compounds.longitude_e6 IS DISTINCT FROM excluded.longitude_e6 OR compounds.year_built IS DISTINCT FROM excluded.year_built \
                        OR compounds.land_area IS DISTINCT FROM excluded.land_area OR compounds.floor_area IS DISTINCT FROM excluded.floor_area \
                        OR compounds.households IS DISTINCT FROM excluded.households OR compounds.class IS DISTINCT FROM excluded.class \
                        OR compounds.management_mode IS DISTINCT FROM excluded.management_mode OR compounds.is_old IS DISTINCT FROM excluded.is_old \
                        OR compounds.designations IS DISTINCT FROM excluded.designations");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            Plan::Buildings(recs) => {
                for chunk in recs.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO buildings (compound_id, name, floors) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.compound_id).push_bind(r.name.clone()).push_bind(r.floors);
                    });
                    qb.push(" ON CONFLICT (compound_id, name) DO UPDATE SET floors = excluded.floors \
                        WHERE buildings.floors IS DISTINCT FROM excluded.floors");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                // Entrances hang on the buildings' ids, read back inside the transaction.
                let cids: Vec<i64> = recs.iter().map(|r| r.compound_id).collect::<HashSet<_>>().into_iter().collect();
                let mut bid: HashMap<(i64, String), i64> = HashMap::new();
                for chunk in cids.chunks(IN_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("SELECT id, compound_id, name FROM buildings WHERE compound_id IN (");
                    let mut sep = qb.separated(", ");
                    for c in chunk {
                        sep.push_bind(*c);
                    }
                    qb.push(")");
                    let rows: Vec<(i64, i64, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                    bid.extend(rows.into_iter().map(|(id, c, n)| ((c, n), id)));
                }
                let pairs: Vec<(i64, &String)> = recs
                    .iter()
                    .filter_map(|r| bid.get(&(r.compound_id, r.name.clone())).map(|b| (*b, &r.entrances)))
                    .flat_map(|(b, es)| es.iter().map(move |e| (b, e)))
                    .collect();
                for chunk in pairs.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO entrances (building_id, name) ");
                    qb.push_values(chunk, |mut b, (bid, name)| {
                        b.push_bind(*bid).push_bind((*name).clone());
                    });
                    qb.push(" ON CONFLICT (building_id, name) DO NOTHING");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            Plan::Rooms(recs) => {
                for chunk in recs.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new(ROOM_INSERT);
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.compound_id).push_bind(r.building_id).push_bind(r.entrance_id).push_bind(r.number.clone())
                            .push_bind(r.floor).push_bind(r.kind).push_bind(r.exclusive_area).push_bind(r.floor_area)
                            .push_bind(r.developer_held);
                    });
                    qb.push(ROOM_UPSERT);
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            Plan::Owners(recs) => {
                let mut people: Vec<&OwnerRec> = Vec::new();
                let mut seen = HashSet::new();
                for r in recs {
                    if seen.insert(r.id_number.as_str()) {
                        people.push(r);
                    }
                }
                for chunk in people.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO owners (kind, name, id_number, phone, created_at) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.kind).push_bind(r.name.clone()).push_bind(r.id_number.clone()).push_bind(r.phone.clone()).push_bind(now);
                    });
                    qb.push(" ON CONFLICT (id_number) DO UPDATE SET kind = excluded.kind, name = excluded.name, phone = excluded.phone \
                        WHERE owners.kind IS DISTINCT FROM excluded.kind OR owners.name IS DISTINCT FROM excluded.name \
                        OR owners.phone IS DISTINCT FROM excluded.phone");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                let mut oid: HashMap<String, i64> = HashMap::new();
                for chunk in people.chunks(IN_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("SELECT id_number, id FROM owners WHERE id_number IN (");
                    let mut sep = qb.separated(", ");
                    for r in chunk {
                        sep.push_bind(r.id_number.clone());
                    }
                    qb.push(")");
                    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                    oid.extend(rows);
                }
                let links: Vec<(i64, i64, i64)> = recs.iter().filter_map(|r| oid.get(&r.id_number).map(|o| (r.room_id, *o, r.share_bp))).collect();
                for chunk in links.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO room_owners (room_id, owner_id, share_bp) ");
                    qb.push_values(chunk, |mut b, (room, owner, share)| {
                        b.push_bind(*room).push_bind(*owner).push_bind(*share);
                    });
                    qb.push(" ON CONFLICT (room_id, owner_id) DO UPDATE SET share_bp = excluded.share_bp \
                        WHERE room_owners.share_bp IS DISTINCT FROM excluded.share_bp");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            Plan::Contracts(recs) => {
                for chunk in recs.chunks(CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO contracts (company_id, compound_id, kind, fee_model, start_date, end_date, fee_standard, created_at) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.company_id).push_bind(r.compound_id).push_bind(r.kind).push_bind(r.fee_model)
                            .push_bind(r.start).push_bind(r.end).push_bind(r.fee).push_bind(now);
                    });
                    qb.push(" ON CONFLICT (compound_id, company_id, start_date) DO UPDATE SET kind = excluded.kind, \
                        fee_model = excluded.fee_model, end_date = excluded.end_date, fee_standard = excluded.fee_standard \
                        WHERE contracts.kind IS DISTINCT FROM excluded.kind OR contracts.fee_model IS DISTINCT FROM excluded.fee_model \
                        OR contracts.end_date IS DISTINCT FROM excluded.end_date OR contracts.fee_standard IS DISTINCT FROM excluded.fee_standard");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
        }
        tx.commit().await?;
        changed
    });
    Ok(changed)
}

pub const ROOM_INSERT: &str = "INSERT INTO rooms (compound_id, building_id, entrance_id, number, floor, kind, exclusive_area, floor_area, developer_held) ";
pub const ROOM_UPSERT: &str = " ON CONFLICT (entrance_id, number) DO UPDATE SET floor = excluded.floor, kind = excluded.kind, \
    exclusive_area = excluded.exclusive_area, floor_area = excluded.floor_area, developer_held = excluded.developer_held \
    WHERE rooms.floor IS DISTINCT FROM excluded.floor OR rooms.kind IS DISTINCT FROM excluded.kind \
    OR rooms.exclusive_area IS DISTINCT FROM excluded.exclusive_area OR rooms.floor_area IS DISTINCT FROM excluded.floor_area \
    OR rooms.developer_held IS DISTINCT FROM excluded.developer_held";
