//! The credit ledger (issue 6; docs/assessment.md §6 and §8; DOMAIN.md R5.1, R5.2, R5.6): per
//! company, every basic, good and bad record with its reason, evidence, issuer, date and
//! validity; appeals with a decision; the score and grade derived from the ledger on a date
//! (`wuye_model::assessment::credit`), computed on demand and never stored; versioned credit
//! schemes per region; and the red and black list with reasons, bases, evidence and expiry.
//!
//! **Architecture invariant:** a credit record is never edited or deleted (database triggers
//! refuse both on SQLite and PostgreSQL). An appeal that is upheld makes its record inactive
//! from the day of the decision; a partly upheld one also issues a linked replacement with
//! fewer points. List entries are revoked with a reason, never deleted.
//!
//! Who may do what (§8): city administrators and district officers issue records and decide
//! appeals (never on a record they issued themselves), and confirm and revoke list entries,
//! within their jurisdiction; regulators read the ledger of the companies of their
//! jurisdiction (registered there, or with a contract on a compound there) with its
//! evidence; a company's own people read its ledger, and its administrator appeals; everyone
//! else gets 404. The public reads the published list only (no evidence).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize, Serializer};
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;
use wuye_model::assessment::credit::{
    CreditKind, CreditRecord, CreditScheme, CreditSeverity, CreditStanding, RedBlack, default_valid_to,
};
use wuye_model::assessment::{RubricError, format_hundredths};
use wuye_model::{Area, RegionCode, RegionLevel, Role};

use crate::auth::{self, Actor, Denied, Scope};
use crate::db::{Db, DbError};
use crate::files::{FileError, FileStore};
use crate::registry::{Listing, Page};
use crate::sql::{Param, Sql};
use crate::{bind_params, db_read, db_run};

/// Why a credit operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A role that may act here, but not on this object, for the reason given (403).
    #[error("{0}")]
    Forbidden(String),
    /// A value of the named field is invalid (400).
    #[error("{1}")]
    Invalid(&'static str, String),
    /// Refused by the object's state or the calendar (409).
    #[error("{0}")]
    Refused(String),
    /// A credit-scheme file with its row errors (422).
    #[error("the credit scheme file was rejected / 信用方案文件有误")]
    Scheme(Vec<RubricError>),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The file store failed (a server fault).
    #[error(transparent)]
    Files(#[from] FileError),
}

impl From<sqlx::Error> for CreditError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

fn invalid(field: &'static str, en: &str, zh: &str) -> CreditError {
    CreditError::Invalid(field, format!("{en} / {zh}"))
}

fn refused(en: &str, zh: &str) -> CreditError {
    CreditError::Refused(format!("{en} / {zh}"))
}

fn forbidden(en: &str, zh: &str) -> CreditError {
    CreditError::Forbidden(format!("{en} / {zh}"))
}

/// A stored value that does not parse is a server fault, not the caller's.
fn corrupt(what: &str) -> CreditError {
    CreditError::Db(DbError::Unsupported(format!("stored {what} is malformed")))
}

/// Points (hundredths) as their decimal text, "3.00".
fn pts<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_hundredths(*v))
}

use crate::clock::china_date;

/// Points given as a decimal ("3.00"), more than 0 and at most 1000.00.
pub fn parse_points(field: &'static str, text: &str) -> Result<i64, CreditError> {
    let v = Area::parse(text)
        .map_err(|e| CreditError::Invalid(field, e.to_string()))?
        .hundredths();
    if !(1..=100_000).contains(&v) {
        return Err(invalid(
            field,
            "points must be more than 0 and at most 1000.00",
            "分值须大于 0 且不超过 1000.00",
        ));
    }
    Ok(v)
}

/// A required free text of at most `max` characters, trimmed.
fn text(field: &'static str, value: &str, max: usize, en: &str, zh: &str) -> Result<String, CreditError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(CreditError::Invalid(
            field,
            format!("{en} (at most {max} characters) / {zh}（{max} 字以内）"),
        ));
    }
    Ok(v.to_owned())
}

// ---------------------------------------------------------------------------------------------
// City settings

/// The city's credit settings (docs/assessment.md §10; both *settings*, "no source").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditSettings {
    /// Days after `issued_on` within which a company may appeal a record (`credit.appeal_days`).
    pub appeal_days: u32,
    /// Default duration of a red or black list entry in days (`credit.list_days`).
    pub list_days: u32,
}

impl Default for CreditSettings {
    fn default() -> Self {
        Self {
            appeal_days: 30,
            list_days: 365,
        }
    }
}

const APPEAL_DAYS: &str = "credit.appeal_days";
const LIST_DAYS: &str = "credit.list_days";

/// The settings as stored in `city_settings` (the defaults where none is).
pub async fn settings(db: &Db) -> Result<CreditSettings, CreditError> {
    let rows: Vec<(String, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT key, value FROM city_settings WHERE key IN ($1, $2)").bind(APPEAL_DAYS).bind(LIST_DAYS).fetch_all(pool).await)?;
    let mut s = CreditSettings::default();
    for (k, v) in rows {
        let v = u32::try_from(v).unwrap_or(0);
        if k == APPEAL_DAYS {
            s.appeal_days = v;
        } else {
            s.list_days = v;
        }
    }
    Ok(s)
}

/// Sets the credit settings (appeals 1 to 365 days, list entries 1 to 3,650 days). City
/// administrators; audited.
pub async fn set_settings(
    db: &Db,
    actor: &Actor,
    s: &CreditSettings,
    now: OffsetDateTime,
) -> Result<(), CreditError> {
    match actor.require_admin(false)? {
        None => {}
        Some(code) if code.level() <= RegionLevel::City => {}
        Some(_) => return Err(Denied::Role.into()),
    }
    if !(1..=365).contains(&s.appeal_days) {
        return Err(invalid(
            "appeal_days",
            "the appeal period is 1 to 365 days",
            "申诉期限须为 1 至 365 日",
        ));
    }
    if !(1..=3650).contains(&s.list_days) {
        return Err(invalid(
            "list_days",
            "a list entry lasts 1 to 3650 days",
            "红黑榜期限须为 1 至 3650 日",
        ));
    }
    let now = crate::clock::db_time(now);
    let sql = "INSERT INTO city_settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
    db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        for (k, v) in [(APPEAL_DAYS, s.appeal_days), (LIST_DAYS, s.list_days)] {
            sqlx::query(sql).bind(k).bind(i64::from(v)).bind(now).bind(&actor.login).execute(&mut *tx).await?;
        }
        tx.commit().await
    }.await)?;
    auth::audit(
        db,
        actor,
        "settings.credit",
        "city_settings",
        "credit",
        None,
        serde_json::to_value(s).ok(),
        now,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Regions and reach

/// The authority a regulator acts for: their region; the command line acts for the city of
/// the company (or of `fallback`).
fn authority(actor: &Actor, fallback: Option<i64>) -> Result<i64, CreditError> {
    if let Scope::Region { code } = &actor.scope {
        return Ok(code.as_i64());
    }
    fallback
        .and_then(|r| RegionCode::from_i64(r).ok())
        .map(|r| r.at_level(RegionLevel::City).as_i64())
        .ok_or_else(|| {
            invalid(
                "company_id",
                "the company has no registered region to act for",
                "该企业没有登记区划，无法确定签发机关",
            )
        })
}

/// Appends the companies `actor` reaches (alias `co`): regulators those registered in their
/// region or with a contract (past or present) on a compound there; a company's people their
/// own; the shell all. Anyone else reaches none.
fn push_reach(sql: &mut Sql, actor: &Actor) -> Result<(), Denied> {
    actor.require_signed_in()?;
    let regulator = actor.role.is_some_and(Role::is_regulator);
    match &actor.scope {
        Scope::All => {}
        Scope::Region { code } if regulator => {
            let r = code.subtree();
            sql.push(" AND (co.region_code BETWEEN ")
                .bind_i64(*r.start())
                .push(" AND ")
                .bind_i64(*r.end())
                .push(
                    " OR EXISTS (SELECT 1 FROM contracts rct JOIN compounds rcc ON rcc.id = rct.compound_id \
                     WHERE rct.company_id = co.id AND rcc.region_code BETWEEN ",
                )
                .bind_i64(*r.start())
                .push(" AND ")
                .bind_i64(*r.end())
                .push("))");
        }
        Scope::Company { company_id } => {
            sql.push(" AND co.id = ").bind_i64(*company_id);
        }
        _ => {
            sql.push(" AND 1 = 0");
        }
    }
    Ok(())
}

/// A company as the ledger names it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CompanyRef {
    pub id: i64,
    pub name: String,
    pub uscc: String,
    /// Where it is registered.
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub region_code: Option<i64>,
}

/// The company if `actor` reaches it; 404 (as if it did not exist) otherwise.
pub async fn company(db: &Db, actor: &Actor, id: i64) -> Result<CompanyRef, CreditError> {
    let mut sql = Sql::new("SELECT co.id, co.name, co.uscc, co.region_code FROM companies co WHERE co.id = ");
    sql.bind_i64(id);
    push_reach(&mut sql, actor)?;
    let row: Option<CompanyRef> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    row.ok_or(CreditError::Denied(Denied::Hidden))
}

/// Only city administrators and district officers issue, decide and list (§8): their region
/// (`None`: the shell), 403 for everyone else.
pub fn require_issuer(actor: &Actor) -> Result<Option<RegionCode>, CreditError> {
    Ok(actor.require_admin(true)?)
}

/// Whether the acting authority is `region` or above it (`None`: the shell).
fn over(code: Option<RegionCode>, region: i64) -> bool {
    match (code, RegionCode::from_i64(region)) {
        (None, _) => true,
        (Some(c), Ok(r)) => c.contains(r),
        (Some(_), Err(_)) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Schemes

/// A credit scheme version as it is referred to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SchemeRef {
    /// `null`: the shipped default (no version is published for the region).
    pub id: Option<i64>,
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub region_code: Option<i64>,
    pub version: Option<i64>,
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Date>,
}

/// A published scheme with its canonical file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedScheme {
    pub scheme: SchemeRef,
    /// The canonical CSV (docs/assessment.md §6).
    pub csv: String,
}

fn shipped() -> Result<CreditScheme, CreditError> {
    CreditScheme::parse(CreditScheme::default_csv()).map_err(|_| corrupt("default credit scheme"))
}

fn scheme_ref(
    id: Option<i64>,
    region: Option<i64>,
    version: Option<i64>,
    from: Option<Date>,
    s: &CreditScheme,
) -> SchemeRef {
    SchemeRef {
        id,
        region_code: region,
        version,
        key: s.key().to_owned(),
        name_zh: s.name(wuye_model::Lang::Zh).to_owned(),
        name_en: s.name(wuye_model::Lang::En).to_owned(),
        effective_from: from,
    }
}

type SchemeRow = (i64, i64, i64, Date, String);

/// The scheme governing a company registered in `region` on `on`: the newest published
/// version with `effective_from ≤ on` of its district, else of its city, else the shipped
/// default.
pub async fn scheme_for(
    db: &Db,
    region: Option<i64>,
    on: Date,
) -> Result<(SchemeRef, CreditScheme), CreditError> {
    let Some(code) = region.and_then(|r| RegionCode::from_i64(r).ok()) else {
        let s = shipped()?;
        return Ok((scheme_ref(None, None, None, None, &s), s));
    };
    let district = code.at_level(RegionLevel::District).as_i64();
    let city = code.at_level(RegionLevel::City).as_i64();
    let rows: Vec<SchemeRow> = db_read!(db, pool => sqlx::query_as(
        "SELECT id, region_code, version, effective_from, body FROM credit_schemes \
         WHERE state = 'published' AND region_code IN ($1, $2) AND effective_from <= $3 ORDER BY version DESC")
        .bind(district).bind(city).bind(on).fetch_all(pool).await)?;
    let pick = rows
        .iter()
        .find(|r| r.1 == district)
        .or_else(|| rows.iter().find(|r| r.1 == city));
    match pick {
        Some((id, region, version, from, body)) => {
            let s: CreditScheme = serde_json::from_str(body).map_err(|_| corrupt("credit scheme"))?;
            Ok((
                scheme_ref(Some(*id), Some(*region), Some(*version), Some(*from), &s),
                s,
            ))
        }
        None => {
            let s = shipped()?;
            Ok((scheme_ref(None, None, None, None, &s), s))
        }
    }
}

/// Every published scheme, the shipped default first, then by region and newest version.
pub async fn schemes(db: &Db) -> Result<Vec<PublishedScheme>, CreditError> {
    let s = shipped()?;
    let mut out = vec![PublishedScheme {
        scheme: scheme_ref(None, None, None, None, &s),
        csv: s.to_csv(),
    }];
    let rows: Vec<SchemeRow> = db_read!(db, pool => sqlx::query_as(
        "SELECT id, region_code, version, effective_from, body FROM credit_schemes WHERE state = 'published' \
         ORDER BY region_code, version DESC").fetch_all(pool).await)?;
    for (id, region, version, from, body) in rows {
        let s: CreditScheme = serde_json::from_str(&body).map_err(|_| corrupt("credit scheme"))?;
        out.push(PublishedScheme {
            scheme: scheme_ref(Some(id), Some(region), Some(version), Some(from), &s),
            csv: s.to_csv(),
        });
    }
    Ok(out)
}

/// The text of an uploaded scheme: CSV (UTF-8 with or without BOM, or GBK), or the first
/// sheet of an .xlsx file in the same columns.
fn scheme_text(bytes: &[u8], file_name: &str) -> Result<String, CreditError> {
    let file_error = |e: &crate::io::RowError| RubricError {
        line: u64::from(e.row),
        column: e.column.clone(),
        value: e.value.clone(),
        message: format!("{} / {}", e.reason_en, e.reason_zh),
    };
    if bytes.starts_with(b"PK\x03\x04") {
        let t = crate::io::table::read_table(bytes, file_name)
            .map_err(|e| CreditError::Scheme(vec![file_error(&e)]))?;
        // Each row goes on the line of its row in the sheet (blank records stand in for the
        // rows above the headers and the blank rows, which the parser skips; a cell's line
        // breaks become spaces), so that an error names the row a person sees in the sheet.
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        let mut line = 0;
        let rows = std::iter::once((t.header_row, t.headers)).chain(t.rows);
        for (row, cells) in rows {
            while line + 1 < row {
                w.write_record([""])
                    .map_err(|e| CreditError::Db(DbError::Unsupported(e.to_string())))?;
                line += 1;
            }
            // A line break typed in a cell (Alt+Enter) would take a line of its own.
            w.write_record(cells.iter().map(|c| c.replace(['\r', '\n'], " ")))
                .map_err(|e| CreditError::Db(DbError::Unsupported(e.to_string())))?;
            line = row;
        }
        let out = w
            .into_inner()
            .map_err(|e| CreditError::Db(DbError::Unsupported(e.to_string())))?;
        return Ok(String::from_utf8_lossy(&out).into_owned());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => {
            let (s, _, bad) = encoding_rs::GBK.decode(bytes);
            if bad {
                return Err(CreditError::Scheme(vec![RubricError {
                    line: 0,
                    column: String::new(),
                    value: String::new(),
                    message: "the file is neither UTF-8 nor GBK text, nor an .xlsx workbook / 文件既不是 UTF-8 / GBK 文本，也不是 .xlsx 工作簿".into(),
                }]));
            }
            Ok(s.into_owned())
        }
    }
}

/// Publishes a new version of a region's credit scheme from a file, after validating it whole
/// (every row error is reported; nothing is stored then). City administrators for their city
/// and any district in it, district officers for their own district (§8). Returns the
/// version.
#[allow(clippy::too_many_arguments)]
pub async fn upload_scheme(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    region: RegionCode,
    effective_from: Date,
    file_name: &str,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<SchemeRef, CreditError> {
    let code = require_issuer(actor)?;
    if !matches!(region.level(), RegionLevel::City | RegionLevel::District) {
        return Err(invalid(
            "region",
            "a credit scheme governs a city or a district",
            "信用方案的适用范围须为市或区县",
        ));
    }
    if !over(code, region.as_i64()) {
        return Err(forbidden(
            "you may publish schemes for your own region only",
            "只能为本辖区发布信用方案",
        ));
    }
    let known: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT code FROM regions WHERE code = $1").bind(region.as_i64()).fetch_optional(pool).await)?;
    if known.is_none() {
        return Err(invalid("region", "unknown region", "区划不存在"));
    }
    let text = scheme_text(bytes, file_name)?;
    let scheme = CreditScheme::parse(&text).map_err(CreditError::Scheme)?;
    let now = crate::clock::db_time(now);
    let canonical = scheme.to_csv();
    let file_id = files
        .put(canonical.as_bytes(), "text/csv; charset=utf-8", now)
        .await?;
    let body = serde_json::to_string(&scheme).map_err(|_| corrupt("credit scheme"))?;
    let name = format!(
        "{} / {}",
        scheme.name(wuye_model::Lang::En),
        scheme.name(wuye_model::Lang::Zh)
    );
    let made: Result<(i64, i64), sqlx::Error> = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let (version,): (i64,) = sqlx::query_as("SELECT coalesce(max(version), 0) + 1 FROM credit_schemes WHERE region_code = $1")
            .bind(region.as_i64()).fetch_one(&mut *tx).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO credit_schemes (region_code, version, scheme_key, name, effective_from, state, file_id, body, sha256, \
             created_by, created_at, published_by, published_at) VALUES ($1, $2, $3, $4, $5, 'published', $6, $7, $6, $8, $9, $8, $9) RETURNING id")
            .bind(region.as_i64()).bind(version).bind(scheme.key()).bind(&name).bind(effective_from).bind(&file_id).bind(&body)
            .bind(actor.user_id).bind(now).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok((id, version))
    }.await);
    let (id, version) = match made {
        Ok(v) => v,
        Err(e) => {
            let e = DbError::from(e);
            if e.is_constraint() {
                return Err(refused(
                    "another version was published at the same time; try again",
                    "同时有另一版本发布，请重试",
                ));
            }
            return Err(e.into());
        }
    };
    auth::audit(
        db,
        actor,
        "credit_scheme.publish",
        "credit_scheme",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "region": region.to_string(), "version": version, "effective_from": effective_from.to_string(), "file": file_id })),
        now,
    )
    .await?;
    Ok(scheme_ref(
        Some(id),
        Some(region.as_i64()),
        Some(version),
        Some(effective_from),
        &scheme,
    ))
}

// ---------------------------------------------------------------------------------------------
// Evidence

/// What a piece of evidence belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceOf {
    Record,
    Appeal,
    ListEntry,
}

impl EvidenceOf {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Record => "credit_record",
            Self::Appeal => "credit_appeal",
            Self::ListEntry => "list_entry",
        }
    }

    const fn url_part(self) -> &'static str {
        match self {
            Self::Record => "records",
            Self::Appeal => "appeals",
            Self::ListEntry => "list",
        }
    }
}

/// An uploaded file: a PDF or an image (JPEG, PNG, WebP; location metadata removed).
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// What it is ("处罚决定书"); empty: named by its position.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A piece of evidence as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceFile {
    pub position: i64,
    pub name: String,
    pub content_type: String,
    /// Where it is downloaded (signed in, by those who read the ledger).
    pub url: String,
}

/// Most files per record, appeal or list entry.
pub const MAX_EVIDENCE: i64 = 9;

/// Checks uploads and stores their bytes (content-addressed, so a failure later leaves
/// nothing but an unreferenced file). Returns (name, file id, content type) each.
async fn store_uploads(
    files: &FileStore,
    uploads: &[Upload],
    already: i64,
    now: OffsetDateTime,
) -> Result<Vec<(String, String, &'static str)>, CreditError> {
    if already + uploads.len() as i64 > MAX_EVIDENCE {
        return Err(CreditError::Invalid(
            "evidence",
            format!("at most {MAX_EVIDENCE} evidence files / 证据材料最多 {MAX_EVIDENCE} 个"),
        ));
    }
    let mut checked = Vec::with_capacity(uploads.len());
    for (i, u) in uploads.iter().enumerate() {
        let (ct, clean) = crate::media::clean_document(&u.bytes)
            .map_err(|e| CreditError::Invalid("evidence", e.to_string()))?;
        let name = u.name.trim();
        if name.chars().count() > 200 {
            return Err(invalid(
                "evidence",
                "an evidence file's name is at most 200 characters",
                "证据名称不超过 200 字",
            ));
        }
        let name = if name.is_empty() {
            format!("evidence-{}", already + i as i64 + 1)
        } else {
            name.to_owned()
        };
        checked.push((name, ct, clean));
    }
    let mut out = Vec::with_capacity(checked.len());
    for (name, ct, clean) in checked {
        let id = files.put(&clean, ct, now).await?;
        out.push((name, id, ct));
    }
    Ok(out)
}

const EVIDENCE_INSERT: &str = "INSERT INTO credit_evidence (entity, entity_id, position, name, file_id, content_type, added_by, added_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The evidence of each of `ids`, in the order added.
async fn evidence_of(
    db: &Db,
    of: EvidenceOf,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<EvidenceFile>>, CreditError> {
    let mut out: HashMap<i64, Vec<EvidenceFile>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut sql =
        Sql::new("SELECT entity_id, position, name, content_type FROM credit_evidence WHERE entity = ");
    sql.bind_text(of.as_str()).push(" AND entity_id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_i64(*id);
    }
    sql.push(") ORDER BY entity_id, position");
    let text = sql.text_for(db);
    let rows: Vec<(i64, i64, String, String)> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?;
    for (id, position, name, content_type) in rows {
        out.entry(id).or_default().push(EvidenceFile {
            url: format!("/api/v1/credit/{}/{id}/evidence/{position}", of.url_part()),
            position,
            name,
            content_type,
        });
    }
    Ok(out)
}

/// The company an entity belongs to, and for an appeal whether it is pending.
async fn owner_of(db: &Db, of: EvidenceOf, id: i64) -> Result<Option<(i64, bool)>, CreditError> {
    let sql = match of {
        EvidenceOf::Record => "SELECT company_id, 1 = 1 FROM credit_records WHERE id = $1",
        EvidenceOf::Appeal => "SELECT company_id, state = 'pending' FROM credit_appeals WHERE id = $1",
        EvidenceOf::ListEntry => "SELECT company_id, revoked_at IS NULL FROM red_black_list WHERE id = $1",
    };
    Ok(db_read!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?)
}

/// Adds a file to the evidence of a record or a list entry (city administrators and district
/// officers over the company) or of a pending appeal (the company's administrator). Returns
/// its position.
pub async fn add_evidence(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    of: EvidenceOf,
    id: i64,
    upload: &Upload,
    now: OffsetDateTime,
) -> Result<i64, CreditError> {
    match of {
        EvidenceOf::Record | EvidenceOf::ListEntry => {
            require_issuer(actor)?;
        }
        EvidenceOf::Appeal => {
            require_company_admin(actor)?;
        }
    }
    let (company_id, open) = owner_of(db, of, id).await?.ok_or(Denied::Hidden)?;
    company(db, actor, company_id).await?;
    if of == EvidenceOf::Appeal && !open {
        return Err(refused(
            "the appeal has been decided: its evidence is closed",
            "申诉已裁决，不能再补充材料",
        ));
    }
    let now = crate::clock::db_time(now);
    let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM credit_evidence WHERE entity = $1 AND entity_id = $2")
        .bind(of.as_str()).bind(id).fetch_one(pool).await)?;
    let stored = store_uploads(files, std::slice::from_ref(upload), n, now).await?;
    let Some((name, file_id, ct)) = stored.into_iter().next() else {
        return Err(invalid("evidence", "choose a file", "请选择文件"));
    };
    let added: Result<i64, sqlx::Error> = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let (position,): (i64,) = sqlx::query_as("SELECT coalesce(max(position), 0) + 1 FROM credit_evidence WHERE entity = $1 AND entity_id = $2")
            .bind(of.as_str()).bind(id).fetch_one(&mut *tx).await?;
        sqlx::query(EVIDENCE_INSERT).bind(of.as_str()).bind(id).bind(position).bind(&name).bind(&file_id).bind(ct)
            .bind(actor.user_id).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(position)
    }.await);
    let position = match added {
        Ok(p) => p,
        Err(e) => {
            let e = DbError::from(e);
            if e.is_constraint() {
                return Err(refused(
                    "another file was added at the same time; try again",
                    "同时有其他文件上传，请重试",
                ));
            }
            return Err(e.into());
        }
    };
    auth::audit(
        db,
        actor,
        "credit.evidence",
        of.as_str(),
        &id.to_string(),
        None,
        Some(serde_json::json!({ "position": position, "name": name, "file": file_id })),
        now,
    )
    .await?;
    Ok(position)
}

/// One evidence file's id and content type, for whoever reads the company's ledger.
pub async fn evidence_file(
    db: &Db,
    actor: &Actor,
    of: EvidenceOf,
    id: i64,
    position: i64,
) -> Result<Option<(String, String)>, CreditError> {
    actor.require_signed_in()?;
    let Some((company_id, _)) = owner_of(db, of, id).await? else {
        return Ok(None);
    };
    company(db, actor, company_id).await?;
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT file_id, content_type FROM credit_evidence WHERE entity = $1 AND entity_id = $2 AND position = $3")
        .bind(of.as_str()).bind(id).bind(position).fetch_optional(pool).await)?)
}

// ---------------------------------------------------------------------------------------------
// Records

/// A record of the ledger.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Record {
    pub id: i64,
    pub company_id: i64,
    /// `null`: the record concerns the whole company.
    pub compound_id: Option<i64>,
    pub compound_name: Option<String>,
    /// basic, good or bad.
    pub kind: String,
    /// The scheme item (`overdue_notice`).
    pub item_key: String,
    /// Points, e.g. "3.00".
    #[serde(serialize_with = "pts")]
    #[schema(value_type = String)]
    pub points: i64,
    /// ordinary, serious or veto (bad records).
    pub severity: String,
    pub reason: String,
    /// manual, bottom_n, rectification or penalty.
    pub source: String,
    /// What produced it (`run:812`).
    pub source_ref: Option<String>,
    /// The scheme version in force when it was issued (`null`: the shipped default).
    pub scheme_id: Option<i64>,
    /// The record this one replaces after a partly upheld appeal.
    pub replaces_record_id: Option<i64>,
    #[serde(skip)]
    pub issuer_user_id: Option<i64>,
    /// The issuer's name.
    pub issuer: Option<String>,
    /// The issuing authority.
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub issuer_region_code: i64,
    #[schema(value_type = String, format = Date)]
    pub issued_on: Date,
    #[schema(value_type = String, format = Date)]
    pub valid_from: Date,
    /// The first day it no longer counts.
    #[schema(value_type = String, format = Date)]
    pub valid_to: Date,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

const RECORD_SELECT: &str = "SELECT r.id, r.company_id, r.compound_id, c.name AS compound_name, r.kind, r.item_key, r.points, \
    r.severity, r.reason, r.source, r.source_ref, r.scheme_id, r.replaces_record_id, r.issuer_user_id, u.display_name AS issuer, \
    r.issuer_region_code, r.issued_on, r.valid_from, r.valid_to, r.created_at \
    FROM credit_records r LEFT JOIN compounds c ON c.id = r.compound_id LEFT JOIN users u ON u.id = r.issuer_user_id";

/// An appeal against a record.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Appeal {
    pub id: i64,
    pub record_id: i64,
    pub company_id: i64,
    #[serde(skip)]
    pub filed_by: Option<i64>,
    pub filed_by_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub filed_at: OffsetDateTime,
    pub grounds: String,
    /// pending, upheld, partly_upheld or rejected.
    pub state: String,
    pub decided_by_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
    pub decision_reason: Option<String>,
    /// The replacement record of a partly upheld appeal.
    pub replacement_record_id: Option<i64>,
}

const APPEAL_SELECT: &str = "SELECT a.id, a.record_id, a.company_id, a.filed_by, f.display_name AS filed_by_name, a.filed_at, \
    a.grounds, a.state, d.display_name AS decided_by_name, a.decided_at, a.decision_reason, a.replacement_record_id \
    FROM credit_appeals a LEFT JOIN users f ON f.id = a.filed_by LEFT JOIN users d ON d.id = a.decided_by";

impl Appeal {
    /// The day the record stopped counting: an upheld or partly upheld appeal's decision day.
    fn upheld_on(&self) -> Option<Date> {
        match self.state.as_str() {
            "upheld" | "partly_upheld" => self.decided_at.map(china_date),
            _ => None,
        }
    }
}

/// The model's view of a record.
fn model_record(r: &Record, appeal: Option<&Appeal>) -> Result<CreditRecord, CreditError> {
    Ok(CreditRecord {
        id: r.id,
        kind: CreditKind::parse(&r.kind).map_err(|_| corrupt("credit record kind"))?,
        points: r.points,
        severity: CreditSeverity::parse(&r.severity).map_err(|_| corrupt("credit severity"))?,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        appeal_upheld_on: appeal.and_then(Appeal::upheld_on),
    })
}

/// A new record (city administrators and district officers, within their jurisdiction).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRecord {
    pub company_id: i64,
    /// The compound it concerns; omit for the whole company.
    #[serde(default)]
    pub compound_id: Option<i64>,
    /// An item of the company's credit scheme (`overdue_notice`); it gives the kind and
    /// severity.
    pub item_key: String,
    /// Points as a decimal ("3.00"); default: the item's points.
    #[serde(default)]
    pub points: Option<String>,
    pub reason: String,
    /// First day it counts (default: today).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_from: Option<Date>,
    /// First day it no longer counts (default: one year after `valid_from`).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_to: Option<Date>,
}

/// How a record came about (docs/assessment.md §1 `source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// manual, bottom_n, rectification or penalty.
    pub kind: &'static str,
    /// `run:812`.
    pub reference: Option<String>,
}

impl Source {
    pub const MANUAL: Source = Source {
        kind: "manual",
        reference: None,
    };
}

/// Issues a manual record with its evidence (`issue_from` with [`Source::MANUAL`]).
pub async fn issue(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    new: &NewRecord,
    evidence: &[Upload],
    now: OffsetDateTime,
) -> Result<i64, CreditError> {
    issue_from(db, files, actor, new, &Source::MANUAL, evidence, now).await
}

/// Issues a record: the item from the scheme governing the company today, points by default
/// the item's, valid for a year by default (`default_valid_to`). Audited; the company is
/// told. Returns its id.
pub async fn issue_from(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    new: &NewRecord,
    source: &Source,
    evidence: &[Upload],
    now: OffsetDateTime,
) -> Result<i64, CreditError> {
    require_issuer(actor)?;
    let co = company(db, actor, new.company_id).await?;
    let now = crate::clock::db_time(now);
    let today = china_date(now);
    if let Some(compound) = new.compound_id {
        if !crate::registry::compound_in_scope(db, compound, &actor.scope).await? {
            return Err(invalid(
                "compound_id",
                "unknown compound, or outside your jurisdiction",
                "小区不存在或不在辖区内",
            ));
        }
        let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM contracts WHERE compound_id = $1 AND company_id = $2")
            .bind(compound).bind(co.id).fetch_one(pool).await)?;
        if n == 0 {
            return Err(invalid(
                "compound_id",
                "the company has no contract for that compound",
                "该企业与该小区没有服务合同",
            ));
        }
    }
    let (scheme_ref, scheme) = scheme_for(db, co.region_code, today).await?;
    let key = new.item_key.trim();
    let Some(item) = scheme.item(key) else {
        let keys: Vec<&str> = scheme.items().iter().map(|i| i.key.as_str()).collect();
        return Err(CreditError::Invalid(
            "item_key",
            format!(
                "unknown item {key:?}; the scheme's items are {} / 信用方案中没有该项目，可选：{}",
                keys.join(", "),
                keys.join("、")
            ),
        ));
    };
    let points = match new.points.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => parse_points("points", p)?,
        None => item.points,
    };
    let reason = text("reason", &new.reason, 2000, "give the reason", "请填写事由")?;
    let valid_from = new.valid_from.unwrap_or(today);
    let valid_to = new.valid_to.unwrap_or_else(|| default_valid_to(valid_from));
    if valid_to <= valid_from {
        return Err(invalid(
            "valid_to",
            "the validity must end after it starts",
            "有效期截止日须晚于起始日",
        ));
    }
    let issuer_region = authority(actor, co.region_code)?;
    let stored = store_uploads(files, evidence, 0, now).await?;
    let kind = item.kind.as_str();
    let severity = if item.kind == CreditKind::Bad {
        item.severity.as_str()
    } else {
        CreditSeverity::Ordinary.as_str()
    };
    let id: i64 = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO credit_records (company_id, compound_id, kind, item_key, points, severity, reason, source, source_ref, scheme_id, \
             issuer_user_id, issuer_region_code, issued_on, valid_from, valid_to, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id")
            .bind(co.id).bind(new.compound_id).bind(kind).bind(key).bind(points).bind(severity).bind(&reason).bind(source.kind)
            .bind(source.reference.as_deref()).bind(scheme_ref.id).bind(actor.user_id).bind(issuer_region).bind(today)
            .bind(valid_from).bind(valid_to).bind(now).fetch_one(&mut *tx).await?;
        for (i, (name, file_id, ct)) in stored.iter().enumerate() {
            sqlx::query(EVIDENCE_INSERT).bind(EvidenceOf::Record.as_str()).bind(id).bind(i as i64 + 1).bind(name).bind(file_id).bind(*ct)
                .bind(actor.user_id).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }.await)?;
    auth::audit(
        db,
        actor,
        "credit_record.issue",
        "credit_record",
        &id.to_string(),
        None,
        Some(serde_json::json!({
            "company": co.id, "compound": new.compound_id, "kind": kind, "item": key, "points": format_hundredths(points),
            "severity": severity, "reason": reason, "source": source.kind, "source_ref": source.reference,
            "valid_from": valid_from.to_string(), "valid_to": valid_to.to_string(), "evidence": stored.len(),
        })),
        now,
    )
    .await?;
    let (zh_kind, en_kind) = match item.kind {
        CreditKind::Basic => ("基础信息", "basic"),
        CreditKind::Good => ("良好信息", "good"),
        CreditKind::Bad => ("不良信息", "bad"),
    };
    crate::notify::company(
        db,
        co.id,
        "credit_record",
        &format!(
            "贵企业新增一条信用{zh_kind}记录（{}，{} 分）：{reason}",
            item.name_zh,
            format_hundredths(points)
        ),
        &format!(
            "A {en_kind} credit record was issued to your company ({}, {} points): {reason}",
            item.name_en,
            format_hundredths(points)
        ),
        now,
    )
    .await?;
    Ok(id)
}

/// A record with what became of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub record: Record,
    /// Whether it counts on the ledger's date.
    pub active: bool,
    pub appeal: Option<Appeal>,
    /// The last day the company may appeal it (bad records not yet appealed).
    #[schema(value_type = Option<String>, format = Date)]
    pub appeal_until: Option<Date>,
    pub evidence: Vec<EvidenceFile>,
    /// The appeal's evidence.
    pub appeal_evidence: Vec<EvidenceFile>,
}

/// A company's credit on a date, derived from its ledger.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Standing {
    #[schema(value_type = String, format = Date)]
    pub on: Date,
    /// The scheme that gave the caps, the bands and the grade.
    pub scheme: SchemeRef,
    /// min(Σ active basic, basic cap).
    #[serde(serialize_with = "pts")]
    #[schema(value_type = String)]
    pub basic: i64,
    /// min(Σ active good, good cap).
    #[serde(serialize_with = "pts")]
    #[schema(value_type = String)]
    pub good: i64,
    /// Σ active bad.
    #[serde(serialize_with = "pts")]
    #[schema(value_type = String)]
    pub bad: i64,
    /// basic + good − bad (may be negative).
    #[serde(serialize_with = "pts")]
    #[schema(value_type = String)]
    pub score: i64,
    /// AAA … C, or `c_missing` (not enrolled: no basic record active).
    pub grade: String,
    pub active_bad: bool,
    /// The ids of the records behind the score.
    pub active: Vec<i64>,
    /// Red or black list candidacy (R5.6) and its basis.
    pub candidacy: Option<Candidacy>,
}

/// Why a company is a list candidate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidacy {
    /// red or black.
    pub list: String,
    pub basis_en: String,
    pub basis_zh: String,
}

fn standing_of(s: CreditStanding, scheme: SchemeRef) -> Standing {
    Standing {
        on: s.on,
        scheme,
        basic: s.basic,
        good: s.good,
        bad: s.bad,
        score: s.score,
        grade: s.grade.as_str().to_owned(),
        active_bad: s.active_bad,
        active: s.active,
        candidacy: s.candidacy.map(|c| Candidacy {
            list: c.list.as_str().to_owned(),
            basis_en: c.basis_en,
            basis_zh: c.basis_zh,
        }),
    }
}

/// An item of a scheme, for forms and clients.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SchemeItem {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    #[serde(serialize_with = "pts")]
    #[schema(value_type = String)]
    pub points: i64,
    pub severity: String,
}

/// A company's ledger with its standing on a date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ledger {
    pub company: CompanyRef,
    pub standing: Standing,
    /// The items of the scheme in force on the date.
    pub items: Vec<SchemeItem>,
    /// The city's appeal period in days.
    pub appeal_days: u32,
    /// Newest first.
    pub records: Vec<LedgerEntry>,
    /// The company's red and black list entries, current and past.
    pub list_entries: Vec<ListEntry>,
}

async fn records_of(db: &Db, company_ids: &[i64]) -> Result<Vec<(Record, Option<Appeal>)>, CreditError> {
    if company_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = |sql: &mut Sql, col: &str| {
        sql.push(&format!(" WHERE {col} IN ("));
        for (i, id) in company_ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_i64(*id);
        }
        sql.push(")");
    };
    let mut sql = Sql::new(RECORD_SELECT);
    ids(&mut sql, "r.company_id");
    sql.push(" ORDER BY r.id DESC");
    let text = sql.text_for(db);
    let records: Vec<Record> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?;
    let mut sql = Sql::new(APPEAL_SELECT);
    ids(&mut sql, "a.company_id");
    let text = sql.text_for(db);
    let appeals: Vec<Appeal> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?;
    let mut by_record: HashMap<i64, Appeal> = appeals.into_iter().map(|a| (a.record_id, a)).collect();
    Ok(records
        .into_iter()
        .map(|r| {
            let a = by_record.remove(&r.id);
            (r, a)
        })
        .collect())
}

/// The standing of a company on `on` from its records.
async fn standing_from(
    db: &Db,
    region: Option<i64>,
    rows: &[(Record, Option<Appeal>)],
    on: Date,
) -> Result<(Standing, CreditScheme), CreditError> {
    let (scheme_ref, scheme) = scheme_for(db, region, on).await?;
    Ok((standing_under(&scheme_ref, &scheme, rows, on)?, scheme))
}

/// The standing of a company's records under a scheme already read.
fn standing_under(
    scheme_ref: &SchemeRef,
    scheme: &CreditScheme,
    rows: &[(Record, Option<Appeal>)],
    on: Date,
) -> Result<Standing, CreditError> {
    let model: Vec<CreditRecord> = rows
        .iter()
        .map(|(r, a)| model_record(r, a.as_ref()))
        .collect::<Result<_, _>>()?;
    Ok(standing_of(scheme.standing(&model, on), scheme_ref.clone()))
}

/// A company's credit score and grade on `on`, derived from its ledger (for whoever reaches
/// the company).
pub async fn standing(db: &Db, actor: &Actor, company_id: i64, on: Date) -> Result<Standing, CreditError> {
    let co = company(db, actor, company_id).await?;
    let rows = records_of(db, &[co.id]).await?;
    Ok(standing_from(db, co.region_code, &rows, on).await?.0)
}

/// A company's ledger as sheets (the same reach as [`ledger`]): every record with its reason,
/// points, validity, issuer, source and appeal, and the standing on the date.
pub async fn ledger_sheets(
    db: &Db,
    actor: &Actor,
    company_id: i64,
    on: Date,
    today: Date,
) -> Result<Vec<crate::io::Sheet>, CreditError> {
    let l = ledger(db, actor, company_id, on, today).await?;
    let headers = [
        "编号(id)",
        "类别(kind)",
        "项目(item)",
        "分值(points)",
        "严重程度(severity)",
        "事由(reason)",
        "小区(compound)",
        "来源(source)",
        "出具人(issuer)",
        "出具单位(authority)",
        "出具日(issued_on)",
        "生效(valid_from)",
        "失效(valid_to)",
        "当日有效(active)",
        "申诉(appeal)",
        "申诉结果(appeal_decision)",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    let rows = l
        .records
        .iter()
        .map(|e| {
            let r = &e.record;
            vec![
                r.id.to_string(),
                r.kind.clone(),
                r.item_key.clone(),
                format_hundredths(r.points),
                r.severity.clone(),
                r.reason.clone(),
                r.compound_name.clone().unwrap_or_default(),
                match &r.source_ref {
                    Some(x) => format!("{} ({x})", r.source),
                    None => r.source.clone(),
                },
                r.issuer.clone().unwrap_or_default(),
                r.issuer_region_code.to_string(),
                r.issued_on.to_string(),
                r.valid_from.to_string(),
                r.valid_to.to_string(),
                if e.active { "是" } else { "否" }.to_owned(),
                e.appeal.as_ref().map(|a| a.state.clone()).unwrap_or_default(),
                e.appeal
                    .as_ref()
                    .and_then(|a| a.decision_reason.clone())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let standing = serde_json::to_value(&l.standing).unwrap_or_default();
    let summary = standing
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| vec![k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)])
                .collect()
        })
        .unwrap_or_default();
    Ok(vec![
        crate::io::Sheet {
            name: "信用记录".into(),
            headers,
            rows,
        },
        crate::io::Sheet {
            name: format!("信用状况 {on}"),
            headers: vec!["项(field)".into(), "值(value)".into()],
            rows: summary,
        },
    ])
}

/// A company's ledger with evidence and its standing on `on`: for regulators who reach it and
/// for its own people; 404 for everyone else.
pub async fn ledger(
    db: &Db,
    actor: &Actor,
    company_id: i64,
    on: Date,
    today: Date,
) -> Result<Ledger, CreditError> {
    let co = company(db, actor, company_id).await?;
    let rows = records_of(db, &[co.id]).await?;
    let (standing, scheme) = standing_from(db, co.region_code, &rows, on).await?;
    let settings = settings(db).await?;
    let record_ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let appeal_ids: Vec<i64> = rows
        .iter()
        .filter_map(|(_, a)| a.as_ref().map(|a| a.id))
        .collect();
    let mut evidence = evidence_of(db, EvidenceOf::Record, &record_ids).await?;
    let mut appeal_evidence = evidence_of(db, EvidenceOf::Appeal, &appeal_ids).await?;
    let records = rows
        .into_iter()
        .map(|(r, a)| {
            let active = model_record(&r, a.as_ref())?.is_active(on);
            let appeal_until = (r.kind == "bad" && a.is_none() && r.replaces_record_id.is_none())
                .then(|| r.issued_on + Duration::days(i64::from(settings.appeal_days)))
                .filter(|until| *until >= today);
            Ok(LedgerEntry {
                evidence: evidence.remove(&r.id).unwrap_or_default(),
                appeal_evidence: a
                    .as_ref()
                    .and_then(|a| appeal_evidence.remove(&a.id))
                    .unwrap_or_default(),
                record: r,
                active,
                appeal: a,
                appeal_until,
            })
        })
        .collect::<Result<Vec<_>, CreditError>>()?;
    let list_entries = list_entries_of(db, co.id, today).await?;
    Ok(Ledger {
        company: co,
        standing,
        items: scheme
            .items()
            .iter()
            .map(|i| SchemeItem {
                key: i.key.clone(),
                name_zh: i.name_zh.clone(),
                name_en: i.name_en.clone(),
                kind: i.kind.as_str().to_owned(),
                points: i.points,
                severity: i.severity.as_str().to_owned(),
            })
            .collect(),
        appeal_days: settings.appeal_days,
        records,
        list_entries,
    })
}

async fn record_by_id(db: &Db, id: i64) -> Result<Option<Record>, CreditError> {
    let sql = format!("{RECORD_SELECT} WHERE r.id = $1");
    Ok(db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?)
}

/// A record, for whoever reaches its company (404 otherwise).
pub async fn record(db: &Db, actor: &Actor, id: i64) -> Result<Record, CreditError> {
    let r = record_by_id(db, id).await?.ok_or(Denied::Hidden)?;
    company(db, actor, r.company_id).await?;
    Ok(r)
}

/// An appeal, for whoever reaches its company (404 otherwise).
pub async fn appeal_by_id(db: &Db, actor: &Actor, id: i64) -> Result<Appeal, CreditError> {
    let sql = format!("{APPEAL_SELECT} WHERE a.id = $1");
    let a: Appeal =
        db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?
            .ok_or(Denied::Hidden)?;
    company(db, actor, a.company_id).await?;
    Ok(a)
}

/// A list entry with its evidence, for whoever reaches its company (404 otherwise).
pub async fn list_entry(db: &Db, actor: &Actor, id: i64, today: Date) -> Result<ListEntry, CreditError> {
    let sql = format!("{LIST_SELECT} WHERE e.id = $1");
    let mut e: ListEntry =
        db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?
            .ok_or(Denied::Hidden)?;
    company(db, actor, e.company_id).await?;
    e.status = status(&e, today).to_owned();
    e.evidence = evidence_of(db, EvidenceOf::ListEntry, &[e.id])
        .await?
        .remove(&e.id)
        .unwrap_or_default();
    Ok(e)
}

// ---------------------------------------------------------------------------------------------
// Appeals

/// A company administrator's company (403 for everyone else).
pub fn require_company_admin(actor: &Actor) -> Result<i64, CreditError> {
    let role = actor.require_signed_in()?;
    match (&actor.scope, role) {
        (Scope::Company { company_id }, Role::CompanyAdmin) => Ok(*company_id),
        _ => Err(Denied::Role.into()),
    }
}

/// Files the company's appeal against one of its bad records, within the city's appeal period
/// of `issued_on`, once per record (its administrator). Audited; the issuer is told.
pub async fn appeal(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    record_id: i64,
    grounds: &str,
    evidence: &[Upload],
    now: OffsetDateTime,
) -> Result<i64, CreditError> {
    let company_id = require_company_admin(actor)?;
    let r = record_by_id(db, record_id)
        .await?
        .filter(|r| r.company_id == company_id)
        .ok_or(Denied::Hidden)?;
    let now = crate::clock::db_time(now);
    let today = china_date(now);
    if r.kind != "bad" {
        return Err(refused(
            "only bad records (deductions) can be appealed",
            "只能对不良信息记录（扣分）提出申诉",
        ));
    }
    if r.replaces_record_id.is_some() {
        return Err(refused(
            "this record is the decision of an appeal and cannot be appealed again",
            "该记录为申诉裁决后的替代记录，不能再次申诉",
        ));
    }
    let days = settings(db).await?.appeal_days;
    let until = r.issued_on + Duration::days(i64::from(days));
    if today > until {
        return Err(CreditError::Refused(format!(
            "the appeal period of {days} days ended on {until} / 申诉期限（{days} 日）已于 {until} 届满"
        )));
    }
    let grounds = text(
        "grounds",
        grounds,
        4000,
        "give the grounds of the appeal",
        "请填写申诉理由",
    )?;
    let stored = store_uploads(files, evidence, 0, now).await?;
    let id: Option<i64> = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let made: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO credit_appeals (record_id, company_id, filed_by, filed_at, grounds, state) VALUES ($1, $2, $3, $4, $5, 'pending') \
             ON CONFLICT (record_id) DO NOTHING RETURNING id")
            .bind(r.id).bind(company_id).bind(actor.user_id).bind(now).bind(&grounds).fetch_optional(&mut *tx).await?;
        let Some((id,)) = made else {
            return Ok::<_, sqlx::Error>(None);
        };
        for (i, (name, file_id, ct)) in stored.iter().enumerate() {
            sqlx::query(EVIDENCE_INSERT).bind(EvidenceOf::Appeal.as_str()).bind(id).bind(i as i64 + 1).bind(name).bind(file_id).bind(*ct)
                .bind(actor.user_id).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }.await)?;
    let id = id.ok_or_else(|| {
        refused(
            "this record has been appealed already (once per record)",
            "该记录已提出过申诉（每条记录只能申诉一次）",
        )
    })?;
    auth::audit(
        db,
        actor,
        "credit_appeal.file",
        "credit_appeal",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "record": r.id, "grounds": grounds, "evidence": stored.len() })),
        now,
    )
    .await?;
    if let Some(issuer) = r.issuer_user_id {
        crate::notify::user(
            db,
            issuer,
            "credit_appeal",
            None,
            &format!("企业对信用记录 #{} 提出申诉，请由签发机关或上级裁决", r.id),
            &format!(
                "The company appealed credit record #{}; the issuing authority or above decides",
                r.id
            ),
            now,
        )
        .await?;
    }
    Ok(id)
}

/// A regulator's decision on an appeal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AppealDecision {
    /// upheld, partly_upheld or rejected.
    pub outcome: String,
    pub reason: String,
    /// partly_upheld: the replacement record's points, fewer than the record's ("1.00").
    #[serde(default)]
    pub points: Option<String>,
}

/// What a decision produced.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decided {
    pub appeal_id: i64,
    pub state: String,
    /// The replacement record of a partly upheld appeal.
    pub replacement_record_id: Option<i64>,
}

/// Decides a pending appeal: a city administrator or district officer of the issuing region
/// or above, never the record's issuer. Upheld: the record is inactive from today; partly
/// upheld: also a linked replacement with fewer points, counting from today until the
/// record's end of validity (so no day counts both); rejected: it stays. Audited; the company
/// is told.
pub async fn decide(
    db: &Db,
    actor: &Actor,
    appeal_id: i64,
    d: &AppealDecision,
    now: OffsetDateTime,
) -> Result<Decided, CreditError> {
    let code = require_issuer(actor)?;
    let a = appeal_by_id(db, actor, appeal_id).await?;
    let r = record_by_id(db, a.record_id).await?.ok_or(Denied::Hidden)?;
    if !over(code, r.issuer_region_code) {
        return Err(forbidden(
            "only a regulator of the issuing authority or above decides this appeal",
            "只有签发机关或其上级可以裁决该申诉",
        ));
    }
    if actor.user_id.is_some() && actor.user_id == r.issuer_user_id {
        return Err(forbidden(
            "the issuer of a record cannot decide the appeal against it",
            "记录的签发人不能裁决针对该记录的申诉",
        ));
    }
    if a.state != "pending" {
        return Err(refused("the appeal has been decided already", "该申诉已裁决"));
    }
    let outcome = match d.outcome.trim() {
        o @ ("upheld" | "partly_upheld" | "rejected") => o,
        _ => {
            return Err(invalid(
                "outcome",
                "the outcome is upheld, partly_upheld or rejected",
                "裁决结果应为 upheld（成立）、partly_upheld（部分成立）或 rejected（驳回）",
            ));
        }
    };
    let reason = text(
        "reason",
        &d.reason,
        4000,
        "give the reason of the decision",
        "请填写裁决理由",
    )?;
    let now = crate::clock::db_time(now);
    let today = china_date(now);
    let replacement = if outcome == "partly_upheld" {
        let Some(p) = d.points.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
            return Err(invalid(
                "points",
                "a partly upheld appeal gives the replacement record's points",
                "部分成立须填写替代记录的分值",
            ));
        };
        let points = parse_points("points", p)?;
        if points >= r.points {
            return Err(CreditError::Invalid(
                "points",
                format!(
                    "the replacement has fewer points than the record's {} / 替代记录的分值须少于原记录的 {}",
                    format_hundredths(r.points),
                    format_hundredths(r.points)
                ),
            ));
        }
        let valid_from = r.valid_from.max(today);
        if valid_from >= r.valid_to {
            return Err(refused(
                "the record's validity has ended: there is nothing to replace; decide upheld or rejected",
                "原记录有效期已届满，无需替代记录，请裁决成立或驳回",
            ));
        }
        Some((points, valid_from))
    } else {
        None
    };
    let issuer_region = match code {
        Some(c) => c.as_i64(),
        None => r.issuer_region_code,
    };
    let done: Option<Option<i64>> = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let new_id = match replacement {
            Some((points, valid_from)) => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO credit_records (company_id, compound_id, kind, item_key, points, severity, reason, source, source_ref, scheme_id, \
                     replaces_record_id, issuer_user_id, issuer_region_code, issued_on, valid_from, valid_to, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id")
                    .bind(r.company_id).bind(r.compound_id).bind(&r.kind).bind(&r.item_key).bind(points).bind(&r.severity).bind(&r.reason)
                    .bind(&r.source).bind(r.source_ref.as_deref()).bind(r.scheme_id).bind(r.id).bind(actor.user_id).bind(issuer_region)
                    .bind(today).bind(valid_from).bind(r.valid_to).bind(now).fetch_one(&mut *tx).await?;
                Some(id)
            }
            None => None,
        };
        let n = sqlx::query(
            "UPDATE credit_appeals SET state = $2, decided_by = $3, decided_at = $4, decision_reason = $5, replacement_record_id = $6 \
             WHERE id = $1 AND state = 'pending'")
            .bind(a.id).bind(outcome).bind(actor.user_id).bind(now).bind(&reason).bind(new_id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok::<_, sqlx::Error>(None);
        }
        tx.commit().await?;
        Ok(Some(new_id))
    }.await)?;
    let replacement_record_id =
        done.ok_or_else(|| refused("the appeal has been decided already", "该申诉已裁决"))?;
    auth::audit(
        db,
        actor,
        "credit_appeal.decide",
        "credit_appeal",
        &a.id.to_string(),
        Some(serde_json::json!({ "state": "pending" })),
        Some(
            serde_json::json!({ "state": outcome, "reason": reason, "replacement": replacement_record_id,
            "points": replacement.map(|(p, _)| format_hundredths(p)) }),
        ),
        now,
    )
    .await?;
    let (zh, en) = match outcome {
        "upheld" => (
            "成立，原记录自今日起不再计分",
            "upheld: the record no longer counts from today",
        ),
        "partly_upheld" => (
            "部分成立，原记录由分值较低的替代记录取代",
            "partly upheld: a replacement with fewer points takes the record's place",
        ),
        _ => ("驳回，原记录继续有效", "rejected: the record stands"),
    };
    crate::notify::company(
        db,
        a.company_id,
        "credit_appeal_decided",
        &format!("对信用记录 #{} 的申诉已裁决：{zh}。理由：{reason}", r.id),
        &format!(
            "The appeal against credit record #{} was decided: {en}. Reason: {reason}",
            r.id
        ),
        now,
    )
    .await?;
    Ok(Decided {
        appeal_id: a.id,
        state: outcome.to_owned(),
        replacement_record_id,
    })
}

// ---------------------------------------------------------------------------------------------
// Red and black list

/// A red or black list entry with its history (for those who read the company's ledger).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ListEntry {
    pub id: i64,
    /// red or black.
    pub list: String,
    pub company_id: i64,
    pub company_name: String,
    pub company_uscc: String,
    pub compound_id: Option<i64>,
    pub compound_name: Option<String>,
    /// The authority that published it.
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    pub region_name: Option<String>,
    pub reason: String,
    /// The rule that made it a candidate ("English / 中文").
    pub basis: String,
    pub credit_record_id: Option<i64>,
    pub run_id: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub starts_on: Date,
    /// The first day it is no longer shown.
    #[schema(value_type = String, format = Date)]
    pub ends_on: Date,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoke_reason: Option<String>,
    /// scheduled, active, expired or revoked (on today's date).
    #[sqlx(skip)]
    pub status: String,
    #[sqlx(skip)]
    pub evidence: Vec<EvidenceFile>,
}

const LIST_SELECT: &str = "SELECT e.id, e.list, e.company_id, co.name AS company_name, co.uscc AS company_uscc, e.compound_id, \
    c.name AS compound_name, e.region_code, g.name AS region_name, e.reason, e.basis, e.credit_record_id, e.run_id, e.starts_on, \
    e.ends_on, e.created_at, e.revoked_at, e.revoke_reason \
    FROM red_black_list e JOIN companies co ON co.id = e.company_id LEFT JOIN compounds c ON c.id = e.compound_id \
    LEFT JOIN regions g ON g.code = e.region_code";

fn status(e: &ListEntry, today: Date) -> &'static str {
    if e.revoked_at.is_some() {
        "revoked"
    } else if today < e.starts_on {
        "scheduled"
    } else if today >= e.ends_on {
        "expired"
    } else {
        "active"
    }
}

async fn list_entries_of(db: &Db, company_id: i64, today: Date) -> Result<Vec<ListEntry>, CreditError> {
    let sql = format!("{LIST_SELECT} WHERE e.company_id = $1 ORDER BY e.id DESC");
    let mut rows: Vec<ListEntry> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(company_id).fetch_all(pool).await)?;
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let mut evidence = evidence_of(db, EvidenceOf::ListEntry, &ids).await?;
    for e in &mut rows {
        e.status = status(e, today).to_owned();
        e.evidence = evidence.remove(&e.id).unwrap_or_default();
    }
    Ok(rows)
}

/// A published entry as the public sees it: no evidence, no people.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct PublicEntry {
    pub id: i64,
    /// red or black.
    pub list: String,
    pub company_id: i64,
    pub company_name: String,
    pub company_uscc: String,
    pub compound_name: Option<String>,
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    pub region_name: Option<String>,
    pub reason: String,
    pub basis: String,
    #[schema(value_type = String, format = Date)]
    pub starts_on: Date,
    #[schema(value_type = String, format = Date)]
    pub ends_on: Date,
}

/// The public list's filter.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// red or black (default both).
    #[serde(default, deserialize_with = "crate::registry::empty_as_none")]
    #[param(value_type = Option<String>)]
    pub list: Option<String>,
    /// Entries published by this region's subtree (a division code).
    #[serde(default, deserialize_with = "crate::registry::empty_as_none")]
    #[param(value_type = Option<String>)]
    pub region: Option<String>,
}

/// The red and black list in force on `today`: published, not revoked, not expired. Public.
pub async fn public_list(
    db: &Db,
    list: Option<RedBlack>,
    region: Option<RegionCode>,
    today: Date,
    page: &Page,
) -> Result<Listing<PublicEntry>, CreditError> {
    let mut sql = Sql::new(
        "SELECT e.id, e.list, e.company_id, co.name AS company_name, co.uscc AS company_uscc, c.name AS compound_name, e.region_code, \
         g.name AS region_name, e.reason, e.basis, e.starts_on, e.ends_on \
         FROM red_black_list e JOIN companies co ON co.id = e.company_id LEFT JOIN compounds c ON c.id = e.compound_id \
         LEFT JOIN regions g ON g.code = e.region_code WHERE e.revoked_at IS NULL AND e.starts_on <= ",
    );
    sql.bind(Param::Date(today))
        .push(" AND e.ends_on > ")
        .bind(Param::Date(today));
    if let Some(l) = list {
        sql.push(" AND e.list = ").bind_text(l.as_str());
    }
    if let Some(r) = region {
        let range = r.subtree();
        sql.push(" AND e.region_code BETWEEN ")
            .bind_i64(*range.start())
            .push(" AND ")
            .bind_i64(*range.end());
    }
    sql.push(" ORDER BY e.list DESC, e.company_id, e.id")
        .paginate(page);
    let rows: Vec<PublicEntry> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    Ok(Listing::from_rows(rows, page, None))
}

/// A list entry to publish (city administrators and district officers over the company).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewListEntry {
    pub company_id: i64,
    /// red or black.
    pub list: String,
    /// The compound it concerns; omit for the company.
    #[serde(default)]
    pub compound_id: Option<i64>,
    pub reason: String,
    /// The rule it rests on; default: the company's candidacy for this list today (refused when
    /// it is not a candidate and no basis is given).
    #[serde(default)]
    pub basis: Option<String>,
    /// A record of the company's ledger behind it.
    #[serde(default)]
    pub credit_record_id: Option<i64>,
    /// Default: today.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<Date>,
    /// Expiry, exclusive; default: `starts_on` + the city's list duration.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<Date>,
}

/// Publishes a red or black list entry (confirming a candidate, or listing directly with a
/// basis). Refused while the company has an entry overlapping it. Audited; the company is
/// told. Returns its id.
pub async fn add_to_list(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    new: &NewListEntry,
    evidence: &[Upload],
    now: OffsetDateTime,
) -> Result<i64, CreditError> {
    require_issuer(actor)?;
    let co = company(db, actor, new.company_id).await?;
    let list = RedBlack::parse(new.list.trim()).map_err(|e| CreditError::Invalid("list", e.to_string()))?;
    let reason = text("reason", &new.reason, 2000, "give the reason", "请填写事由")?;
    let now = crate::clock::db_time(now);
    let today = china_date(now);
    let basis = match new.basis.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => text("basis", b, 2000, "the basis", "依据")?,
        None => {
            let rows = records_of(db, &[co.id]).await?;
            let (s, _) = standing_from(db, co.region_code, &rows, today).await?;
            match s.candidacy.filter(|c| c.list == list.as_str()) {
                Some(c) => format!("{} / {}", c.basis_en, c.basis_zh),
                None => {
                    return Err(invalid(
                        "basis",
                        "the company is not a candidate for this list today: give the basis of a direct listing",
                        "该企业目前不是该榜单的候选对象，直接列入须填写依据",
                    ));
                }
            }
        }
    };
    if let Some(compound) = new.compound_id {
        let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM contracts WHERE compound_id = $1 AND company_id = $2")
            .bind(compound).bind(co.id).fetch_one(pool).await)?;
        if n == 0 || !crate::registry::compound_in_scope(db, compound, &actor.scope).await? {
            return Err(invalid(
                "compound_id",
                "unknown compound, outside your jurisdiction, or without a contract with the company",
                "小区不存在、不在辖区内，或与该企业没有服务合同",
            ));
        }
    }
    if let Some(rec) = new.credit_record_id
        && record_by_id(db, rec).await?.is_none_or(|r| r.company_id != co.id)
    {
        return Err(invalid(
            "credit_record_id",
            "not a record of this company",
            "不是该企业的信用记录",
        ));
    }
    let starts_on = new.starts_on.unwrap_or(today);
    let days = settings(db).await?.list_days;
    let ends_on = new
        .ends_on
        .unwrap_or_else(|| starts_on + Duration::days(i64::from(days)));
    if ends_on <= starts_on {
        return Err(invalid(
            "ends_on",
            "the entry must end after it starts",
            "截止日须晚于起始日",
        ));
    }
    let overlapping: Option<(String, Date)> = db_read!(db, pool => sqlx::query_as(
        "SELECT list, ends_on FROM red_black_list WHERE company_id = $1 AND revoked_at IS NULL AND starts_on < $3 AND ends_on > $2 ORDER BY id LIMIT 1")
        .bind(co.id).bind(starts_on).bind(ends_on).fetch_optional(pool).await)?;
    if let Some((l, until)) = overlapping {
        let (zh, en) = if l == "red" {
            ("红榜", "red list")
        } else {
            ("黑榜", "black list")
        };
        return Err(CreditError::Refused(format!(
            "the company is on the {en} until {until}: revoke that entry first / 该企业在{zh}上至 {until}，请先撤销该条目"
        )));
    }
    let region = authority(actor, co.region_code)?;
    let stored = store_uploads(files, evidence, 0, now).await?;
    let id: i64 = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO red_black_list (list, company_id, compound_id, region_code, reason, basis, credit_record_id, starts_on, ends_on, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")
            .bind(list.as_str()).bind(co.id).bind(new.compound_id).bind(region).bind(&reason).bind(&basis).bind(new.credit_record_id)
            .bind(starts_on).bind(ends_on).bind(actor.user_id).bind(now).fetch_one(&mut *tx).await?;
        for (i, (name, file_id, ct)) in stored.iter().enumerate() {
            sqlx::query(EVIDENCE_INSERT).bind(EvidenceOf::ListEntry.as_str()).bind(id).bind(i as i64 + 1).bind(name).bind(file_id).bind(*ct)
                .bind(actor.user_id).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }.await)?;
    auth::audit(
        db,
        actor,
        "list.add",
        "list_entry",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "list": list.as_str(), "company": co.id, "compound": new.compound_id, "reason": reason,
            "basis": basis, "starts_on": starts_on.to_string(), "ends_on": ends_on.to_string(), "evidence": stored.len() })),
        now,
    )
    .await?;
    crate::notify::company(
        db,
        co.id,
        "credit_list",
        &format!(
            "贵企业被列入{}（{starts_on} 至 {ends_on}）：{reason}",
            list.label_zh()
        ),
        &format!(
            "Your company was put on the {} ({starts_on} to {ends_on}): {reason}",
            list.label_en().to_lowercase()
        ),
        now,
    )
    .await?;
    Ok(id)
}

/// Revokes a list entry with a reason (the publishing authority or above). Audited; the
/// company is told.
pub async fn revoke(
    db: &Db,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), CreditError> {
    let code = require_issuer(actor)?;
    let (company_id, region): (i64, i64) = db_read!(db, pool => sqlx::query_as(
        "SELECT company_id, region_code FROM red_black_list WHERE id = $1").bind(id).fetch_optional(pool).await)?
        .ok_or(Denied::Hidden)?;
    company(db, actor, company_id).await?;
    if !over(code, region) {
        return Err(forbidden(
            "only the publishing authority or above revokes this entry",
            "只有发布机关或其上级可以撤销该条目",
        ));
    }
    let reason = text(
        "reason",
        reason,
        2000,
        "give the reason of the revocation",
        "请填写撤销理由",
    )?;
    let now = crate::clock::db_time(now);
    let n = db_run!(db, pool => sqlx::query(
        "UPDATE red_black_list SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id).bind(now).bind(actor.user_id).bind(&reason).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(refused("the entry is revoked already", "该条目已撤销"));
    }
    auth::audit(
        db,
        actor,
        "list.revoke",
        "list_entry",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "reason": reason })),
        now,
    )
    .await?;
    crate::notify::company(
        db,
        company_id,
        "credit_list",
        &format!("红黑榜条目 #{id} 已撤销：{reason}"),
        &format!("List entry #{id} was revoked: {reason}"),
        now,
    )
    .await?;
    Ok(())
}

/// A company that the standing makes a list candidate, not listed on that list yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub company: CompanyRef,
    pub standing: Standing,
}

/// A list entry in force whose basis no longer holds (an appeal upheld, records expired): a
/// person reviews and revokes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    pub entry: ListEntry,
    pub standing: Standing,
}

/// Candidates and entries to review, on a date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidates {
    #[schema(value_type = String, format = Date)]
    pub on: Date,
    pub candidates: Vec<Candidate>,
    pub review: Vec<Review>,
}

/// Red and black list candidates among the companies a regulator reaches, from their standing
/// on `on` (R5.6), and the entries in force whose basis no longer holds.
pub async fn candidates(db: &Db, actor: &Actor, on: Date) -> Result<Candidates, CreditError> {
    actor.require_regulator()?;
    let mut sql = Sql::new("SELECT co.id, co.name, co.uscc, co.region_code FROM companies co WHERE 1 = 1");
    push_reach(&mut sql, actor)?;
    sql.push(" ORDER BY co.id");
    let companies: Vec<CompanyRef> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    let ids: Vec<i64> = companies.iter().map(|c| c.id).collect();
    let mut rows: BTreeMap<i64, Vec<(Record, Option<Appeal>)>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        for row in records_of(db, chunk).await? {
            rows.entry(row.0.company_id).or_default().push(row);
        }
    }
    let mut entries: HashMap<i64, Vec<ListEntry>> = HashMap::new();
    if !ids.is_empty() {
        let mut sql = Sql::new(LIST_SELECT);
        sql.push(" WHERE e.revoked_at IS NULL AND e.starts_on <= ")
            .bind(Param::Date(on))
            .push(" AND e.ends_on > ")
            .bind(Param::Date(on))
            .push(" ORDER BY e.id");
        let all: Vec<ListEntry> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
        for mut e in all {
            e.status = status(&e, on).to_owned();
            entries.entry(e.company_id).or_default().push(e);
        }
    }
    let mut out = Candidates {
        on,
        candidates: Vec::new(),
        review: Vec::new(),
    };
    // The scheme depends only on the company's district (and its city): read once each.
    let mut schemes: HashMap<Option<i64>, (SchemeRef, CreditScheme)> = HashMap::new();
    for co in companies {
        let recs = rows.remove(&co.id).unwrap_or_default();
        let district = co
            .region_code
            .and_then(|r| RegionCode::from_i64(r).ok())
            .map(|c| c.at_level(RegionLevel::District).as_i64());
        let (scheme_ref, scheme) = match schemes.entry(district) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(scheme_for(db, co.region_code, on).await?)
            }
        };
        let s = standing_under(scheme_ref, scheme, &recs, on)?;
        let listed = entries.remove(&co.id).unwrap_or_default();
        let list = s.candidacy.as_ref().map(|c| c.list.clone());
        for e in listed.iter().filter(|e| Some(&e.list) != list.as_ref()) {
            out.review.push(Review {
                entry: e.clone(),
                standing: s.clone(),
            });
        }
        if list.is_some() && !listed.iter().any(|e| Some(&e.list) == list.as_ref()) {
            out.candidates.push(Candidate {
                company: co,
                standing: s,
            });
        }
    }
    Ok(out)
}
