//! Inspections and rectification (issue 6; docs/assessment.md §7 and §8): campaigns of a
//! region, inspections of a compound (`draft` → `submitted`; findings frozen after the submit
//! and only withdrawn with a reason), findings with photos, and rectification notices to the
//! compound's company with their timeline, working-day deadlines and escalation.
//!
//! Who may do what (§8): city administrators and district officers create campaigns;
//! regulators whose jurisdiction covers the compound inspect, issue, verify, reject and
//! withdraw (the issuer or an authority above it); the administrator and staff of the
//! notice's company respond; the company reads its own inspections and notices and the
//! committee those of its compound. Anything outside the caller's scope answers 404.
//!
//! **Architecture invariant:** overdue notices escalate exactly once per level: the sweep
//! claims each by a conditional UPDATE on `next_escalation_at`, and writes the timeline entry
//! and the notifications in the same transaction.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};
use utoipa::ToSchema;
use wuye_model::{RegionCode, RegionLevel, Role};

use crate::auth::{self, Actor, Denied, Scope};
use crate::clock::{CST, db_time};
use crate::db::{Db, DbError};
use crate::files::{FileError, FileStore, StoredFile};
use crate::settings::Settings;
use crate::sql::{Param, Sql};
use crate::{bind_params, db_read, db_run};

/// The top supervision level (the city).
pub const MAX_LEVEL: i64 = 3;
/// Photos per finding.
pub const MAX_PHOTOS: i64 = 9;

/// The finding categories (docs/assessment.md §1).
pub const CATEGORIES: [(&str, &str, &str); 10] = [
    ("cleaning", "保洁", "cleaning"),
    ("greening", "绿化", "greening"),
    ("security", "秩序维护", "security"),
    ("facilities", "设施设备", "facilities"),
    ("building", "房屋维护", "building"),
    ("fire_safety", "消防安全", "fire safety"),
    ("elevator", "电梯", "elevator"),
    ("disclosure", "信息公开", "disclosure"),
    ("fees", "收费", "fees"),
    ("other", "其他", "other"),
];

/// The severities, mildest first.
pub const SEVERITIES: [(&str, &str, &str); 3] = [
    ("minor", "一般", "minor"),
    ("major", "较重", "major"),
    ("serious", "严重", "serious"),
];

/// Why an inspection or rectification operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum InspectionError {
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A role that may act here, but not on this object (403).
    #[error("{0}")]
    Forbidden(String),
    /// A value of the named field is invalid (400).
    #[error("{1}")]
    Invalid(&'static str, String),
    /// Refused by the object's state (409).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Files(#[from] FileError),
}

impl From<sqlx::Error> for InspectionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

pub(crate) fn invalid(field: &'static str, en: &str, zh: &str) -> InspectionError {
    InspectionError::Invalid(field, format!("{en} / {zh}"))
}

pub(crate) fn refused(en: &str, zh: &str) -> InspectionError {
    InspectionError::Refused(format!("{en} / {zh}"))
}

pub(crate) fn forbidden(en: &str, zh: &str) -> InspectionError {
    InspectionError::Forbidden(format!("{en} / {zh}"))
}

/// A required free text of at most `max` characters, trimmed.
pub(crate) fn text(
    field: &'static str,
    value: &str,
    max: usize,
    en: &str,
    zh: &str,
) -> Result<String, InspectionError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(InspectionError::Invalid(
            field,
            format!("{en} (at most {max} characters) / {zh}（{max} 字以内）"),
        ));
    }
    Ok(v.to_owned())
}

/// An optional free text of at most `max` characters, trimmed.
pub(crate) fn opt_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<String, InspectionError> {
    let v = value.unwrap_or("").trim();
    if v.chars().count() > max {
        return Err(InspectionError::Invalid(
            field,
            format!("at most {max} characters / 最多 {max} 字"),
        ));
    }
    Ok(v.to_owned())
}

use crate::clock::china_date;

/// The instant a deadline date ends: 24:00 China time, in UTC.
pub fn deadline_end(day: Date) -> OffsetDateTime {
    let next = day.next_day().unwrap_or(day);
    next.midnight().assume_offset(CST).to_offset(UtcOffset::UTC)
}

/// The authority of a supervision level over a compound's community.
fn supervising_region(community: i64, level: i64) -> i64 {
    let at = match level {
        1 => RegionLevel::Street,
        2 => RegionLevel::District,
        _ => RegionLevel::City,
    };
    RegionCode::from_i64(community).map_or(community, |c| c.at_level(at).as_i64())
}

fn label(
    list: &[(&'static str, &'static str, &'static str)],
    key: &str,
) -> Option<(&'static str, &'static str)> {
    list.iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| (*zh, *en))
}

/// The zh and en labels of a category (the identifier if unknown).
pub fn category_label(key: &str) -> (&str, &str) {
    label(&CATEGORIES, key).unwrap_or((key, key))
}

/// The zh and en labels of a severity.
pub fn severity_label(key: &str) -> (&str, &str) {
    label(&SEVERITIES, key).unwrap_or((key, key))
}

/// The zh and en labels of a notice state.
pub fn state_label(state: &str) -> (&str, &str) {
    match state {
        "draft" => ("草稿", "draft"),
        "submitted" => ("已提交", "submitted"),
        "issued" => ("待整改", "issued"),
        "responded" => ("已回复", "responded"),
        "verified" => ("已验收", "verified"),
        "withdrawn" => ("已撤回", "withdrawn"),
        s => (s, s),
    }
}

// ---------------------------------------------------------------------------------------------
// Scope

/// Appends the predicate of the compounds `actor` reads (columns given: the compound's
/// community code, the compound id and the company id). Owners and the public read none.
pub(crate) fn push_scope(
    sql: &mut Sql,
    actor: &Actor,
    region_col: &str,
    compound_col: &str,
    company_col: &str,
) -> Result<(), Denied> {
    let role = actor.require_signed_in()?;
    match &actor.scope {
        Scope::All => {}
        Scope::Region { code } if role.is_regulator() => {
            let r = code.subtree();
            sql.push(" AND ")
                .push(region_col)
                .push(" BETWEEN ")
                .bind_i64(*r.start())
                .push(" AND ")
                .bind_i64(*r.end());
        }
        Scope::Company { company_id } if matches!(role, Role::CompanyAdmin | Role::CompanyStaff) => {
            sql.push(" AND ")
                .push(company_col)
                .push(" = ")
                .bind_i64(*company_id);
        }
        Scope::Compound { compound_id } if role == Role::CommitteeMember => {
            sql.push(" AND ")
                .push(compound_col)
                .push(" = ")
                .bind_i64(*compound_id);
        }
        _ => return Err(Denied::Role),
    }
    Ok(())
}

/// A regulator (or the shell) whose jurisdiction covers the community `region`; other roles
/// are refused by role, regulators elsewhere get 404.
fn require_regulator_over(actor: &Actor, region: i64) -> Result<(), InspectionError> {
    match actor.require_regulator()? {
        None => Ok(()),
        Some(code) if code.subtree().contains(&region) => Ok(()),
        Some(_) => Err(Denied::Hidden.into()),
    }
}

fn is_regulator(actor: &Actor) -> bool {
    actor.role.is_some_and(Role::is_regulator) || actor.scope == Scope::All
}

// ---------------------------------------------------------------------------------------------
// Campaigns

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    #[schema(value_type = String, format = Date)]
    pub starts_on: Date,
    #[schema(value_type = String, format = Date)]
    pub ends_on: Date,
    /// Comma-separated finding categories (empty: all).
    pub categories: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewCampaign {
    pub name: String,
    /// The campaign's scope: the caller's region or one below it.
    pub region_code: String,
    #[schema(value_type = String, format = Date)]
    pub starts_on: Date,
    #[schema(value_type = String, format = Date)]
    pub ends_on: Date,
    /// Finding categories (empty: all).
    #[serde(default)]
    pub categories: Vec<String>,
}

/// Creates a campaign: city administrators and district officers, within their region.
pub async fn create_campaign(
    db: &Db,
    actor: &Actor,
    new: &NewCampaign,
    now: OffsetDateTime,
) -> Result<Campaign, InspectionError> {
    let scope = actor.require_admin(true)?;
    let name = text(
        "name",
        &new.name,
        100,
        "a campaign needs a name",
        "请填写检查活动名称",
    )?;
    let region = RegionCode::parse(new.region_code.trim())
        .map_err(|e| InspectionError::Invalid("region_code", e.to_string()))?;
    if let Some(code) = scope
        && !code.contains(region)
    {
        return Err(invalid(
            "region_code",
            "the region is outside your jurisdiction",
            "该区划不在您的管辖范围内",
        ));
    }
    if new.ends_on < new.starts_on {
        return Err(invalid(
            "ends_on",
            "a campaign ends on or after its start",
            "结束日期不得早于开始日期",
        ));
    }
    for c in &new.categories {
        if label(&CATEGORIES, c).is_none() {
            return Err(invalid(
                "categories",
                "unknown finding category",
                "未知的问题类别",
            ));
        }
    }
    let categories = new.categories.join(",");
    let now = db_time(now);
    let sql = "INSERT INTO inspection_campaigns (name, region_code, starts_on, ends_on, categories, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    let (id,): (i64,) = db_run!(db, pool => sqlx::query_as(sql).bind(&name).bind(region.as_i64()).bind(new.starts_on).bind(new.ends_on)
        .bind(&categories).bind(actor.user_id).bind(now).fetch_one(pool).await)
    .map_err(|e| {
        let e = DbError::from(e);
        if e.is_constraint() {
            invalid("region_code", "unknown region", "区划不存在")
        } else {
            e.into()
        }
    })?;
    auth::audit(db, actor, "campaign.create", "inspection_campaign", &id.to_string(), None,
        Some(serde_json::json!({"name": name, "region_code": region.as_i64(), "starts_on": new.starts_on.to_string(), "ends_on": new.ends_on.to_string()})), now).await?;
    Ok(Campaign {
        id,
        name,
        region_code: region.as_i64(),
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        categories,
        created_at: now,
    })
}

/// The campaigns a regulator sees: those over, in or under their region.
pub async fn campaigns(db: &Db, actor: &Actor) -> Result<Vec<Campaign>, InspectionError> {
    let scope = actor.require_regulator()?;
    let mut sql = Sql::new(
        "SELECT id, name, region_code, starts_on, ends_on, categories, created_at FROM inspection_campaigns WHERE 1 = 1",
    );
    if let Some(code) = scope {
        let r = code.subtree();
        sql.push(" AND (region_code BETWEEN ")
            .bind_i64(*r.start())
            .push(" AND ")
            .bind_i64(*r.end());
        let mut c = code;
        while let Some(p) = c.parent() {
            sql.push(" OR region_code = ").bind_i64(p.as_i64());
            c = p;
        }
        sql.push(")");
    }
    sql.push(" ORDER BY starts_on DESC, id DESC LIMIT 200");
    let rows = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Inspections and findings

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Inspection {
    pub id: i64,
    pub campaign_id: Option<i64>,
    pub compound_id: i64,
    pub compound_name: String,
    /// The company in force on the day (none: no contract).
    pub company_id: Option<i64>,
    /// The compound's community.
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    #[schema(value_type = String, format = Date)]
    pub inspected_on: Date,
    pub inspector_user_id: Option<i64>,
    pub co_inspectors: String,
    /// `draft` or `submitted`.
    pub state: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<OffsetDateTime>,
    pub note: String,
    /// Findings not withdrawn.
    pub findings: i64,
}

const INSPECTION_SELECT: &str = "SELECT i.id, i.campaign_id, i.compound_id, c.name AS compound_name, i.company_id, i.region_code, \
    i.inspected_on, i.inspector_user_id, i.co_inspectors, i.state, i.submitted_at, i.note, \
    (SELECT count(*) FROM findings f WHERE f.inspection_id = i.id AND f.withdrawn_at IS NULL) AS findings \
    FROM inspections i JOIN compounds c ON c.id = i.compound_id WHERE 1 = 1";

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewInspection {
    pub compound_id: i64,
    pub campaign_id: Option<i64>,
    /// Default: today (China time).
    #[schema(value_type = Option<String>, format = Date)]
    pub inspected_on: Option<Date>,
    pub co_inspectors: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Finding {
    pub id: i64,
    pub inspection_id: i64,
    pub category: String,
    /// `minor`, `major` or `serious`.
    pub severity: String,
    pub description: String,
    pub place: String,
    pub fixed_on_site: bool,
    /// The notice covering it, if any.
    pub rectification_id: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub withdrawn_at: Option<OffsetDateTime>,
    pub withdraw_reason: Option<String>,
    /// Photos, numbered from 1.
    pub photos: i64,
}

const FINDING_SELECT: &str = "SELECT f.id, f.inspection_id, f.category, f.severity, f.description, f.place, f.fixed_on_site, \
    f.rectification_id, f.created_at, f.withdrawn_at, f.withdraw_reason, \
    (SELECT count(*) FROM finding_photos p WHERE p.finding_id = f.id) AS photos FROM findings f";

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewFinding {
    pub category: String,
    pub severity: String,
    pub description: String,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub fixed_on_site: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionDetail {
    pub inspection: Inspection,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct InspectionFilter {
    pub compound_id: Option<i64>,
    pub campaign_id: Option<i64>,
    /// `draft` or `submitted`.
    pub state: Option<String>,
}

/// Starts an inspection of a compound (a draft): regulators whose jurisdiction covers it.
pub async fn create_inspection(
    db: &Db,
    actor: &Actor,
    new: &NewInspection,
    now: OffsetDateTime,
) -> Result<Inspection, InspectionError> {
    actor.require_regulator()?;
    let compound: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT region_code FROM compounds WHERE id = $1")
        .bind(new.compound_id).fetch_optional(pool).await)?;
    let Some((region,)) = compound else {
        return Err(Denied::Hidden.into());
    };
    require_regulator_over(actor, region)?;
    let day = new.inspected_on.unwrap_or_else(|| china_date(now));
    if day > china_date(now) {
        return Err(invalid(
            "inspected_on",
            "an inspection cannot be dated in the future",
            "检查日期不得晚于今日",
        ));
    }
    if let Some(cid) = new.campaign_id {
        let c: Option<(i64, Date, Date)> = db_read!(db, pool => sqlx::query_as("SELECT region_code, starts_on, ends_on FROM inspection_campaigns WHERE id = $1")
            .bind(cid).fetch_optional(pool).await)?;
        let ok = c.is_some_and(|(r, s, e)| {
            RegionCode::from_i64(r).is_ok_and(|r| r.subtree().contains(&region)) && s <= day && day <= e
        });
        if !ok {
            return Err(invalid(
                "campaign_id",
                "the campaign does not cover this compound on that day",
                "该检查活动不包含此小区或此日期",
            ));
        }
    }
    let company: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT company_id FROM contracts WHERE compound_id = $1 AND start_date <= $2 AND end_date >= $2 ORDER BY start_date DESC, id DESC LIMIT 1")
        .bind(new.compound_id).bind(day).fetch_optional(pool).await)?;
    let co = opt_text("co_inspectors", new.co_inspectors.as_deref(), 200)?;
    let note = opt_text("note", new.note.as_deref(), 2000)?;
    let now = db_time(now);
    let sql = "INSERT INTO inspections (campaign_id, compound_id, company_id, region_code, inspected_on, inspector_user_id, co_inspectors, state, note, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9) RETURNING id";
    let (id,): (i64,) = db_run!(db, pool => sqlx::query_as(sql).bind(new.campaign_id).bind(new.compound_id).bind(company.map(|c| c.0))
        .bind(region).bind(day).bind(actor.user_id).bind(&co).bind(&note).bind(now).fetch_one(pool).await)?;
    auth::audit(
        db,
        actor,
        "inspection.create",
        "inspection",
        &id.to_string(),
        None,
        Some(serde_json::json!({"compound_id": new.compound_id, "inspected_on": day.to_string()})),
        now,
    )
    .await?;
    Ok(get_inspection(db, actor, id).await?.inspection)
}

/// The inspections the caller reads, newest first (at most 500).
pub async fn list_inspections(
    db: &Db,
    actor: &Actor,
    f: &InspectionFilter,
) -> Result<Vec<Inspection>, InspectionError> {
    let mut sql = Sql::new(INSPECTION_SELECT);
    push_scope(&mut sql, actor, "i.region_code", "i.compound_id", "i.company_id")?;
    if !is_regulator(actor) {
        // Companies and committees read submitted inspections only.
        sql.push(" AND i.state = 'submitted'");
    }
    if let Some(c) = f.compound_id {
        sql.push(" AND i.compound_id = ").bind_i64(c);
    }
    if let Some(c) = f.campaign_id {
        sql.push(" AND i.campaign_id = ").bind_i64(c);
    }
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        if !matches!(s, "draft" | "submitted") {
            return Err(invalid(
                "state",
                "the state is draft or submitted",
                "状态须为 draft 或 submitted",
            ));
        }
        sql.push(" AND i.state = ").bind_text(s);
    }
    sql.push(" ORDER BY i.inspected_on DESC, i.id DESC LIMIT 500");
    let rows = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    Ok(rows)
}

/// One inspection with its findings (withdrawn ones included, marked), for whoever reads it.
pub async fn get_inspection(db: &Db, actor: &Actor, id: i64) -> Result<InspectionDetail, InspectionError> {
    let mut sql = Sql::new(INSPECTION_SELECT);
    sql.push(" AND i.id = ").bind_i64(id);
    push_scope(&mut sql, actor, "i.region_code", "i.compound_id", "i.company_id")?;
    if !is_regulator(actor) {
        sql.push(" AND i.state = 'submitted'");
    }
    let row: Option<Inspection> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    let inspection = row.ok_or(Denied::Hidden)?;
    let q = format!("{FINDING_SELECT} WHERE f.inspection_id = $1 ORDER BY f.id");
    let findings =
        db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(id).fetch_all(pool).await)?;
    Ok(InspectionDetail { inspection, findings })
}

/// An inspection a regulator may act on: (state, community).
async fn inspection_for_regulator(db: &Db, actor: &Actor, id: i64) -> Result<(String, i64), InspectionError> {
    actor.require_regulator()?;
    let row: Option<(String, i64)> = db_read!(db, pool => sqlx::query_as("SELECT state, region_code FROM inspections WHERE id = $1")
        .bind(id).fetch_optional(pool).await)?;
    let (state, region) = row.ok_or(Denied::Hidden)?;
    require_regulator_over(actor, region)?;
    Ok((state, region))
}

/// Adds a finding with its photos (at most nine; JPEG, PNG or WebP, checked by content,
/// metadata stripped) to a draft inspection: regulators over the compound. Everything is
/// checked and the photos are stored before the finding is written, and the finding is written
/// with its photos in one transaction: a bad photo or a failure saves nothing (so resubmitting
/// the form cannot record the finding twice). A failure after the photos were stored leaves
/// them unreferenced in the file store.
pub async fn add_finding(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    inspection_id: i64,
    new: &NewFinding,
    photos: &[&[u8]],
    now: OffsetDateTime,
) -> Result<Finding, InspectionError> {
    let (state, _) = inspection_for_regulator(db, actor, inspection_id).await?;
    if state != "draft" {
        return Err(refused(
            "the inspection was submitted: its findings are frozen",
            "检查已提交，问题不可再增加",
        ));
    }
    if label(&CATEGORIES, &new.category).is_none() {
        return Err(invalid("category", "unknown finding category", "未知的问题类别"));
    }
    if label(&SEVERITIES, &new.severity).is_none() {
        return Err(invalid(
            "severity",
            "the severity is minor, major or serious",
            "严重程度须为一般、较重或严重",
        ));
    }
    let description = text(
        "description",
        &new.description,
        2000,
        "describe the problem",
        "请描述问题",
    )?;
    let place = opt_text("place", new.place.as_deref(), 200)?;
    if photos.len() as i64 > MAX_PHOTOS {
        return Err(invalid("photo", "at most nine photos", "最多 9 张照片"));
    }
    let mut cleaned = Vec::with_capacity(photos.len());
    for (i, p) in photos.iter().enumerate() {
        let n = i + 1;
        // The photo's own reason (too large, not a photo, damaged), as orders::add_photo gives it.
        let photo = crate::media::clean_photo(p).map_err(|e| {
            let e = e.to_string();
            let (en, zh) = e.split_once(" / ").unwrap_or((&e, &e));
            InspectionError::Invalid("photo", format!("photo {n}: {en} / 第 {n} 张照片：{zh}"))
        })?;
        cleaned.push(photo);
    }
    let mut stored = Vec::with_capacity(cleaned.len());
    for (ct, clean) in &cleaned {
        stored.push(files.put(clean, ct, now).await?);
    }
    let details = serde_json::json!({"inspection_id": inspection_id, "category": new.category, "severity": new.severity, "photos": stored.len()});
    let (id, audited): (i64, auth::AuditRow) = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let at = db_time(now);
        let (id,): (i64,) = sqlx::query_as("INSERT INTO findings (inspection_id, category, severity, description, place, fixed_on_site, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(inspection_id).bind(&new.category).bind(&new.severity).bind(&description).bind(&place).bind(new.fixed_on_site).bind(at)
            .fetch_one(&mut *tx).await?;
        for (position, file_id) in (1i64..).zip(&stored) {
            sqlx::query("INSERT INTO finding_photos (finding_id, position, file_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id).bind(position).bind(file_id).bind(actor.user_id).bind(at).execute(&mut *tx).await?;
        }
        let row = auth::AuditRow::new(actor, "finding.add", "finding", &id.to_string(), None, Some(details.clone()), now);
        crate::bind_audit!(sqlx::query(auth::AuditRow::INSERT), row).execute(&mut *tx).await?;
        tx.commit().await.map(|()| (id, row))
    }.await)?;
    audited.logged();
    finding(db, id).await
}

async fn finding(db: &Db, id: i64) -> Result<Finding, InspectionError> {
    let q = format!("{FINDING_SELECT} WHERE f.id = $1");
    let f: Option<Finding> =
        db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(pool).await)?;
    f.ok_or_else(|| Denied::Hidden.into())
}

/// Submits a draft inspection: its findings are frozen from now on.
pub async fn submit(
    db: &Db,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<Inspection, InspectionError> {
    let (state, _) = inspection_for_regulator(db, actor, id).await?;
    if state != "draft" {
        return Err(refused("the inspection was already submitted", "检查已提交"));
    }
    let now = db_time(now);
    let n = db_run!(db, pool => sqlx::query("UPDATE inspections SET state = 'submitted', submitted_at = $1 WHERE id = $2 AND state = 'draft'")
        .bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(refused("the inspection was already submitted", "检查已提交"));
    }
    auth::audit(
        db,
        actor,
        "inspection.submit",
        "inspection",
        &id.to_string(),
        None,
        None,
        now,
    )
    .await?;
    Ok(get_inspection(db, actor, id).await?.inspection)
}

/// Withdraws a finding with a reason (it no longer counts): regulators over the compound.
pub async fn withdraw_finding(
    db: &Db,
    actor: &Actor,
    finding_id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Finding, InspectionError> {
    actor.require_regulator()?;
    let row: Option<(i64, Option<OffsetDateTime>)> = db_read!(db, pool => sqlx::query_as(
        "SELECT i.region_code, f.withdrawn_at FROM findings f JOIN inspections i ON i.id = f.inspection_id WHERE f.id = $1")
        .bind(finding_id).fetch_optional(pool).await)?;
    let (region, withdrawn) = row.ok_or(Denied::Hidden)?;
    require_regulator_over(actor, region)?;
    let reason = text(
        "reason",
        reason,
        500,
        "a withdrawal needs a reason",
        "撤回须说明理由",
    )?;
    if withdrawn.is_some() {
        return Err(refused("the finding was already withdrawn", "该问题已撤回"));
    }
    let now = db_time(now);
    let n = db_run!(db, pool => sqlx::query("UPDATE findings SET withdrawn_at = $1, withdrawn_by = $2, withdraw_reason = $3 WHERE id = $4 AND withdrawn_at IS NULL")
        .bind(now).bind(actor.user_id).bind(&reason).bind(finding_id).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(refused("the finding was already withdrawn", "该问题已撤回"));
    }
    auth::audit(
        db,
        actor,
        "finding.withdraw",
        "finding",
        &finding_id.to_string(),
        None,
        Some(serde_json::json!({"reason": reason})),
        now,
    )
    .await?;
    finding(db, finding_id).await
}

/// Adds a photo (JPEG, PNG or WebP, checked by content, metadata stripped) to a finding of a
/// draft inspection; at most nine. Returns its position.
pub async fn add_photo(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    finding_id: i64,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<i64, InspectionError> {
    actor.require_regulator()?;
    let row: Option<(i64, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT i.region_code, i.state FROM findings f JOIN inspections i ON i.id = f.inspection_id WHERE f.id = $1")
        .bind(finding_id).fetch_optional(pool).await)?;
    let (region, state) = row.ok_or(Denied::Hidden)?;
    require_regulator_over(actor, region)?;
    if state != "draft" {
        return Err(refused(
            "the inspection was submitted: its findings are frozen",
            "检查已提交，问题不可再修改",
        ));
    }
    // The photo's own reason (too large, not a photo, damaged), as orders::add_photo gives it.
    let (ct, clean) =
        crate::media::clean_photo(bytes).map_err(|e| InspectionError::Invalid("photo", e.to_string()))?;
    let (count,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM finding_photos WHERE finding_id = $1")
        .bind(finding_id).fetch_one(pool).await)?;
    if count >= MAX_PHOTOS {
        return Err(refused(
            "a finding has at most nine photos",
            "每个问题最多 9 张照片",
        ));
    }
    let file_id = files.put(&clean, ct, now).await?;
    let now = db_time(now);
    let sql = "INSERT INTO finding_photos (finding_id, position, file_id, added_by, added_at) \
        SELECT $1, count(*) + 1, $2, $3, $4 FROM finding_photos WHERE finding_id = $1 HAVING count(*) < $5 RETURNING position";
    let row: Option<(i64,)> = db_run!(db, pool => sqlx::query_as(sql).bind(finding_id).bind(&file_id).bind(actor.user_id).bind(now).bind(MAX_PHOTOS).fetch_optional(pool).await)?;
    let (position,) =
        row.ok_or_else(|| refused("a finding has at most nine photos", "每个问题最多 9 张照片"))?;
    Ok(position)
}

/// A finding's photo, for whoever reads its inspection.
pub async fn photo(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    finding_id: i64,
    position: i64,
) -> Result<StoredFile, InspectionError> {
    let mut sql = Sql::new(
        "SELECT p.file_id FROM finding_photos p JOIN findings f ON f.id = p.finding_id JOIN inspections i ON i.id = f.inspection_id WHERE p.finding_id = ",
    );
    sql.bind_i64(finding_id)
        .push(" AND p.position = ")
        .bind_i64(position);
    push_scope(&mut sql, actor, "i.region_code", "i.compound_id", "i.company_id")?;
    if !is_regulator(actor) {
        sql.push(" AND i.state = 'submitted'");
    }
    let row: Option<(String,)> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    let (file_id,) = row.ok_or(Denied::Hidden)?;
    files.get(&file_id).await?.ok_or_else(|| Denied::Hidden.into())
}

// ---------------------------------------------------------------------------------------------
// Rectification notices

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Rectification {
    pub id: i64,
    /// `ZG-370705-2026-0042`.
    pub number: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub company_id: i64,
    pub company_name: String,
    pub inspection_id: Option<i64>,
    pub issued_by: Option<i64>,
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub issuing_region_code: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: OffsetDateTime,
    /// The last day (ending 24:00 China time).
    #[schema(value_type = String, format = Date)]
    pub deadline: Date,
    /// `issued`, `responded`, `verified` or `withdrawn`.
    pub state: String,
    pub rounds: i64,
    pub requirement: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_response_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<OffsetDateTime>,
    /// 0 (none) to 3 (the city).
    pub supervision_level: i64,
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub supervising_region_code: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_escalation_at: Option<OffsetDateTime>,
}

const NOTICE_SELECT: &str = "SELECT r.id, r.number, r.compound_id, c.name AS compound_name, r.company_id, co.name AS company_name, \
    r.inspection_id, r.issued_by, r.issuing_region_code, r.issued_at, r.deadline, r.state, r.rounds, r.requirement, \
    r.first_response_at, r.verified_at, r.supervision_level, r.supervising_region_code, r.next_escalation_at \
    FROM rectifications r JOIN compounds c ON c.id = r.compound_id JOIN companies co ON co.id = r.company_id WHERE 1 = 1";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct RectificationEvent {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// The account's login (`system` for the sweep).
    pub actor: String,
    /// `issue`, `respond`, `verify`, `reject`, `withdraw` or `escalate`.
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    /// A new deadline, when the step set one.
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<Date>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RectificationDetail {
    pub notice: Rectification,
    pub findings: Vec<Finding>,
    pub events: Vec<RectificationEvent>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRectification {
    /// A submitted inspection.
    pub inspection_id: i64,
    /// Findings of that inspection, not withdrawn and not on an open notice.
    pub finding_ids: Vec<i64>,
    /// Default: 15 working days on (ending 24:00 China time).
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<Date>,
    pub requirement: Option<String>,
}

/// A step on a notice.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NoticeStep {
    /// `respond` (the company), `verify`, `reject` or `withdraw` (regulators).
    pub action: String,
    /// The response, the reason of a rejection or withdrawal (required for those three).
    #[serde(default)]
    pub note: String,
    /// A rejection's new deadline (default: 15 working days on).
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<Date>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RectificationFilter {
    /// `issued`, `responded`, `verified` or `withdrawn`.
    pub state: Option<String>,
    pub compound_id: Option<i64>,
    pub inspection_id: Option<i64>,
}

/// The notices the caller reads, newest first (at most 500).
pub async fn list_notices(
    db: &Db,
    actor: &Actor,
    f: &RectificationFilter,
) -> Result<Vec<Rectification>, InspectionError> {
    let mut sql = Sql::new(NOTICE_SELECT);
    push_scope(&mut sql, actor, "c.region_code", "r.compound_id", "r.company_id")?;
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        if !matches!(s, "issued" | "responded" | "verified" | "withdrawn") {
            return Err(invalid("state", "unknown state", "未知状态"));
        }
        sql.push(" AND r.state = ").bind_text(s);
    }
    if let Some(c) = f.compound_id {
        sql.push(" AND r.compound_id = ").bind_i64(c);
    }
    if let Some(i) = f.inspection_id {
        sql.push(" AND r.inspection_id = ").bind_i64(i);
    }
    sql.push(" ORDER BY r.id DESC LIMIT 500");
    let rows = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    Ok(rows)
}

async fn notice_row(db: &Db, actor: &Actor, id: i64) -> Result<Rectification, InspectionError> {
    let mut sql = Sql::new(NOTICE_SELECT);
    sql.push(" AND r.id = ").bind_i64(id);
    push_scope(&mut sql, actor, "c.region_code", "r.compound_id", "r.company_id")?;
    let row: Option<Rectification> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    row.ok_or_else(|| Denied::Hidden.into())
}

/// One notice with its findings and timeline, for whoever reads it.
pub async fn get_notice(db: &Db, actor: &Actor, id: i64) -> Result<RectificationDetail, InspectionError> {
    let notice = notice_row(db, actor, id).await?;
    // Its own findings, also those a later notice took over after this one was withdrawn.
    let q = format!(
        "{FINDING_SELECT} WHERE f.id IN (SELECT finding_id FROM rectification_findings WHERE rectification_id = $1) ORDER BY f.id"
    );
    let findings =
        db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(id).fetch_all(pool).await)?;
    let events = db_read!(db, pool => sqlx::query_as(
        "SELECT id, at, actor, action, from_state, to_state, deadline, note FROM rectification_events WHERE rectification_id = $1 ORDER BY id")
        .bind(id).fetch_all(pool).await)?;
    Ok(RectificationDetail {
        notice,
        findings,
        events,
    })
}

/// The default deadline from a day: the city's `inspection.notice_days` working days on.
fn default_deadline(settings: &Settings, today: Date) -> Date {
    settings
        .calendar
        .add_working_days(today, settings.assessment.notice_days)
}

fn check_deadline(deadline: Option<Date>, settings: &Settings, today: Date) -> Result<Date, InspectionError> {
    match deadline {
        None => Ok(default_deadline(settings, today)),
        Some(d) if d > today => Ok(d),
        Some(_) => Err(invalid(
            "deadline",
            "the deadline must be after today",
            "整改期限须晚于今日",
        )),
    }
}

/// A notice to write.
struct NoticeRow<'a> {
    compound_id: i64,
    company_id: i64,
    /// The compound's community (the number carries its district).
    community: i64,
    inspection_id: Option<i64>,
    action_id: Option<i64>,
    issuing: i64,
    deadline: Date,
    requirement: &'a str,
    /// What the company is told, from the notice's number and deadline: (zh, en). Written in
    /// the notice's transaction, so a notice is never issued untold.
    tell: fn(&str, Date) -> (String, String),
    /// The audit entry's details (its number is added), written in the same transaction.
    audit: serde_json::Value,
}

/// Writes a notice with the next number of its district and year, its first timeline entry and
/// the company's notification and the audit entry, and claims `findings` for it in the same
/// transaction (two notices issued at once cannot
/// both take a finding). Its id and number; `None` when a finding could not be claimed. A number taken by a
/// concurrent issue is retried with the next one.
async fn insert_notice(
    db: &Db,
    actor: &Actor,
    n: NoticeRow<'_>,
    findings: &[i64],
    now: OffsetDateTime,
) -> Result<Option<(i64, String)>, InspectionError> {
    let prefix = format!("ZG-{}-{}-", n.community / 1_000_000, china_date(now).year());
    let audit = |id: i64, number: &str| {
        let mut after = n.audit.clone();
        if let Some(o) = after.as_object_mut() {
            o.insert("number".into(), number.into());
        }
        auth::AuditRow::new(
            actor,
            "rectification.issue",
            "rectification",
            &id.to_string(),
            None,
            Some(after),
            now,
        )
    };
    let now = db_time(now);
    let escalate_at = deadline_end(n.deadline);
    let login = actor.login.clone();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res: Result<Option<(i64, String, auth::AuditRow)>, sqlx::Error> = db_run!(db, pool => async {
            let mut tx = pool.begin().await?;
            let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM rectifications WHERE number LIKE $1")
                .bind(format!("{prefix}%")).fetch_one(&mut *tx).await?;
            let number = format!("{prefix}{:04}", count + 1);
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO rectifications (number, compound_id, company_id, inspection_id, action_id, issued_by, issuing_region_code, issued_at, deadline, state, rounds, requirement, supervision_level, next_escalation_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'issued', 1, $10, 0, $11) RETURNING id")
                .bind(&number).bind(n.compound_id).bind(n.company_id).bind(n.inspection_id).bind(n.action_id).bind(actor.user_id).bind(n.issuing)
                .bind(now).bind(n.deadline).bind(n.requirement).bind(escalate_at).fetch_one(&mut *tx).await?;
            for fid in findings {
                let claimed = sqlx::query("UPDATE findings SET rectification_id = $1 WHERE id = $2 AND inspection_id = $3 AND withdrawn_at IS NULL \
                    AND (rectification_id IS NULL OR rectification_id IN (SELECT id FROM rectifications WHERE state = 'withdrawn'))")
                    .bind(id).bind(fid).bind(n.inspection_id).execute(&mut *tx).await?.rows_affected();
                if claimed != 1 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                sqlx::query("INSERT INTO rectification_findings (rectification_id, finding_id) VALUES ($1, $2)")
                    .bind(id).bind(fid).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO rectification_events (rectification_id, at, actor_user_id, actor, action, from_state, to_state, deadline, note) \
                VALUES ($1, $2, $3, $4, 'issue', NULL, 'issued', $5, $6)")
                .bind(id).bind(now).bind(actor.user_id).bind(&login).bind(n.deadline).bind(n.requirement).execute(&mut *tx).await?;
            let (zh, en) = (n.tell)(&number, n.deadline);
            sqlx::query(crate::notify::TO_COMPANY).bind(n.company_id).bind("rectification_issued").bind(zh).bind(en).bind(now).bind(false)
                .execute(&mut *tx).await?;
            let row = audit(id, &number);
            crate::bind_audit!(sqlx::query(auth::AuditRow::INSERT), row).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some((id, number, row)))
        }.await);
        match res {
            Ok(issued) => {
                return Ok(issued.map(|(id, number, row)| {
                    row.logged();
                    (id, number)
                }));
            }
            Err(e) => {
                let e = DbError::from(e);
                // Only a number taken by a concurrent issue is retried with the next one.
                if attempt < 5 && e.is_unique_violation() {
                    continue;
                }
                return Err(e.into());
            }
        }
    }
}

/// The number of the notice an earlier try issued for action `action_id`, if any.
pub(crate) async fn notice_of_action(db: &Db, action_id: i64) -> Result<Option<String>, InspectionError> {
    let row: Option<(String,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT number FROM rectifications WHERE action_id = $1").bind(action_id).fetch_optional(pool).await)?;
    Ok(row.map(|(n,)| n))
}

/// Issues the notice of a bottom place's `rectification` action (no inspection; docs/assessment.md
/// §5): the items below the district mean as its requirement, the planned working days to its
/// deadline, issued for the compound's district. Returns its number; the company is told.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn issue_for_action(
    db: &Db,
    actor: &Actor,
    action_id: i64,
    compound_id: i64,
    company_id: i64,
    reason: &str,
    plan: &crate::supervision::RectificationPlan,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<String, InspectionError> {
    // Issued for the compound's district, whoever closed the month: the district supervises
    // it, hears the response and may withdraw it.
    let community = crate::supervision::community_of(db, compound_id).await?;
    let issuing = crate::supervision::district_of(community);
    let deadline = settings.calendar.add_working_days(china_date(now), plan.days);
    let requirement = format!("{reason}\n{}", plan.requirement);
    let (_, number) = insert_notice(
        db,
        actor,
        NoticeRow {
            compound_id,
            company_id,
            community,
            inspection_id: None,
            action_id: Some(action_id),
            issuing,
            deadline,
            requirement: &requirement,
            tell: |number, deadline| {
                (
                    format!("收到限期整改通知书 {number}（考核末位），请于 {deadline} 24:00 前整改并回复"),
                    format!("Rectification notice {number} received (bottom place in the assessment): rectify and respond by 24:00 on {deadline}"),
                )
            },
            audit: serde_json::json!({"deadline": deadline.to_string(), "action": action_id}),
        },
        &[],
        now,
    )
    .await?
    .ok_or_else(|| refused("the notice could not be written", "整改通知未能写入"))?;
    Ok(number)
}

/// Issues a notice covering findings of one submitted inspection: regulators over the
/// compound. The company in force on the inspection day receives it.
pub async fn issue(
    db: &Db,
    actor: &Actor,
    new: &NewRectification,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<RectificationDetail, InspectionError> {
    let (state, region) = inspection_for_regulator(db, actor, new.inspection_id).await?;
    if state != "submitted" {
        return Err(refused(
            "submit the inspection before issuing a notice",
            "请先提交检查，再下发整改通知",
        ));
    }
    let (compound_id, company_id): (i64, Option<i64>) = db_read!(db, pool => sqlx::query_as(
        "SELECT compound_id, company_id FROM inspections WHERE id = $1").bind(new.inspection_id).fetch_one(pool).await)?;
    let Some(company_id) = company_id else {
        return Err(refused(
            "no company managed this compound under a contract on the inspection day",
            "检查当日该小区没有在约的物业服务企业",
        ));
    };
    if new.finding_ids.is_empty() {
        return Err(invalid(
            "finding_ids",
            "a notice covers at least one finding",
            "整改通知至少包含一个问题",
        ));
    }
    // Each finding: of this inspection, not withdrawn, not on a notice still in force.
    for fid in &new.finding_ids {
        let row: Option<(i64, Option<OffsetDateTime>, Option<String>)> = db_read!(db, pool => sqlx::query_as(
            "SELECT f.inspection_id, f.withdrawn_at, r.state FROM findings f LEFT JOIN rectifications r ON r.id = f.rectification_id WHERE f.id = $1")
            .bind(fid).fetch_optional(pool).await)?;
        match row {
            Some((i, None, rs))
                if i == new.inspection_id && rs.as_deref().is_none_or(|s| s == "withdrawn") => {}
            _ => {
                return Err(invalid(
                    "finding_ids",
                    "every finding must be of this inspection, not withdrawn and not on another notice",
                    "问题须属于本次检查、未撤回且未列入其他整改通知",
                ));
            }
        }
    }
    let today = china_date(now);
    let deadline = check_deadline(new.deadline, settings, today)?;
    let requirement = opt_text("requirement", new.requirement.as_deref(), 2000)?;
    let issuing = match &actor.scope {
        Scope::Region { code } => code.as_i64(),
        _ => RegionCode::from_i64(region).map_or(region, |c| c.at_level(RegionLevel::City).as_i64()),
    };
    let (id, _) = insert_notice(
        db,
        actor,
        NoticeRow {
            compound_id,
            company_id,
            community: region,
            inspection_id: Some(new.inspection_id),
            action_id: None,
            issuing,
            deadline,
            requirement: &requirement,
            tell: |number, deadline| {
                (
                    format!("收到限期整改通知书 {number}，请于 {deadline} 24:00 前整改并回复"),
                    format!(
                        "Rectification notice {number} received: rectify and respond by 24:00 on {deadline}"
                    ),
                )
            },
            audit: serde_json::json!({"deadline": deadline.to_string(), "findings": new.finding_ids}),
        },
        &new.finding_ids,
        now,
    )
    .await?
    .ok_or_else(|| {
        invalid(
            "finding_ids",
            "every finding must be of this inspection, not withdrawn and not on another notice",
            "问题须属于本次检查、未撤回且未列入其他整改通知",
        )
    })?;
    get_notice(db, actor, id).await
}

/// Whether `actor` may take the step `action` on notice `n` now (docs/assessment.md §7): who —
/// the notice's company responds, regulators verify and reject, the issuer or an authority
/// above it withdraws — and when, by the notice's state. The one rule for [`act`] and for the
/// pages' forms.
pub fn may(actor: &Actor, n: &Rectification, action: &str) -> Result<(), InspectionError> {
    let (allowed, who_en, who_zh, state, when_en, when_zh) = match action {
        "respond" => (
            matches!(actor.role, Some(Role::CompanyAdmin | Role::CompanyStaff))
                && actor.scope
                    == (Scope::Company {
                        company_id: n.company_id,
                    }),
            "only the notice's company responds",
            "仅被通知企业可回复",
            "issued",
            "the notice is not awaiting a response",
            "该通知当前不可回复",
        ),
        "verify" | "reject" => (
            is_regulator(actor),
            "only regulators verify rectification",
            "仅监管部门可验收",
            "responded",
            "the notice has no response to check",
            "该通知尚无整改回复",
        ),
        "withdraw" => {
            let issuer = actor.user_id.is_some() && actor.user_id == n.issued_by;
            let above = match actor.require_regulator() {
                Ok(None) => true,
                Ok(Some(code)) => {
                    code.subtree().contains(&n.issuing_region_code) && code.as_i64() != n.issuing_region_code
                }
                Err(_) => false,
            };
            (
                issuer || above,
                "only the issuer or an authority above it withdraws a notice",
                "仅签发人或上级部门可撤回整改通知",
                "issued",
                "only a notice awaiting a response can be withdrawn",
                "仅待整改的通知可撤回",
            )
        }
        _ => {
            return Err(invalid(
                "action",
                "the action is respond, verify, reject or withdraw",
                "操作须为 respond、verify、reject 或 withdraw",
            ));
        }
    };
    actor.require_signed_in()?;
    if !allowed {
        return Err(forbidden(who_en, who_zh));
    }
    if n.state != state {
        return Err(refused(when_en, when_zh));
    }
    Ok(())
}

/// What a step changes besides the state.
enum Set {
    Respond,
    Verify,
    /// A rejection; `Some((level, region))` when supervision rises.
    Reject(Option<(i64, i64)>),
    Withdraw,
}

/// Takes a step on a notice (docs/assessment.md §7): `respond` (the company's administrator
/// or staff), `verify`, `reject` (a regulator over the compound), `withdraw` (the issuer or an
/// authority above it).
pub async fn act(
    db: &Db,
    actor: &Actor,
    id: i64,
    step: &NoticeStep,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<RectificationDetail, InspectionError> {
    let n = notice_row(db, actor, id).await?;
    may(actor, &n, &step.action)?;
    let today = china_date(now);
    let now = db_time(now);
    // (to state, SET clause, new deadline)
    let (to, set, deadline, note): (&str, Set, Option<Date>, String) = match step.action.as_str() {
        "respond" => {
            let note = text(
                "note",
                &step.note,
                2000,
                "describe what was rectified",
                "请说明整改情况",
            )?;
            ("responded", Set::Respond, None, note)
        }
        "verify" | "reject" => {
            if step.action == "verify" {
                let note = opt_text("note", Some(&step.note), 2000)?;
                ("verified", Set::Verify, None, note)
            } else {
                let note = text(
                    "note",
                    &step.note,
                    2000,
                    "a rejection needs a reason",
                    "驳回须说明理由",
                )?;
                let d = check_deadline(step.deadline, settings, today)?;
                // At the second rejection, supervision rises one level.
                let raise = if n.rounds + 1 >= 3 && n.supervision_level < MAX_LEVEL {
                    let level = n.supervision_level + 1;
                    let region = crate::supervision::community_of(db, n.compound_id).await?;
                    Some((level, supervising_region(region, level)))
                } else {
                    None
                };
                ("issued", Set::Reject(raise), Some(d), note)
            }
        }
        _ => {
            let note = text(
                "note",
                &step.note,
                500,
                "a withdrawal needs a reason",
                "撤回须说明理由",
            )?;
            ("withdrawn", Set::Withdraw, None, note)
        }
    };
    let from = n.state.clone();
    let login = actor.login.clone();
    let raised = match &set {
        Set::Reject(Some(r)) => Some(*r),
        _ => None,
    };
    let note = match raised {
        Some((level, _)) => format!("{note} · supervision raised to level {level} / 督办升至 {level} 级"),
        None => note,
    };
    let mut u = Sql::new("UPDATE rectifications SET state = ");
    u.bind_text(to);
    match set {
        Set::Respond => {
            u.push(", first_response_at = COALESCE(first_response_at, ")
                .bind(Param::Ts(now))
                .push("), next_escalation_at = NULL");
        }
        Set::Verify => {
            u.push(", verified_at = ")
                .bind(Param::Ts(now))
                .push(", verified_by = ")
                .bind(Param::OptI64(actor.user_id));
            u.push(", next_escalation_at = NULL");
        }
        Set::Reject(raise) => {
            u.push(", rounds = rounds + 1, deadline = ");
            if let Some(d) = deadline {
                u.bind(Param::Date(d))
                    .push(", next_escalation_at = ")
                    .bind(Param::Ts(deadline_end(d)));
            }
            if let Some((level, region)) = raise {
                u.push(", supervision_level = ")
                    .bind_i64(level)
                    .push(", supervising_region_code = ")
                    .bind_i64(region)
                    .push(", followup_claimed_at = ")
                    .bind(Param::Ts(now));
            }
        }
        Set::Withdraw => {
            u.push(", next_escalation_at = NULL");
        }
    }
    u.push(" WHERE id = ")
        .bind_i64(id)
        .push(" AND state = ")
        .bind_text(from.clone());
    // The other side is told in the step's own transaction: the issuer of a response, the
    // company of the rest, and, when a second rejection raised supervision, the new authority.
    let number = &n.number;
    let (szh, sen) = state_label(to);
    let zh = format!("整改通知 {number}：{szh}");
    let en = format!("Rectification notice {number}: {sen}");
    let kind = if step.action == "respond" {
        "rectification_responded".to_owned()
    } else {
        format!("rectification_{}", step.action)
    };
    let escalated = raised.map(|(level, region)| {
        let (lzh, len) = crate::notify::level_label(level);
        (
            region,
            format!("整改通知 {number} 第二次驳回，已升级为{lzh}（{level} 级）"),
            format!("Rectification notice {number} was rejected a second time and escalated to {len} (level {level})"),
        )
    });
    let audited = auth::AuditRow::new(
        actor,
        &format!("rectification.{}", step.action),
        "rectification",
        &id.to_string(),
        Some(serde_json::json!({"state": from})),
        Some(serde_json::json!({"state": to, "note": note})),
        now,
    );
    let done: bool = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let q = bind_params!(sqlx::query(sqlx::AssertSqlSafe(u.text.clone())), u.params);
        let changed = q.execute(&mut *tx).await?.rows_affected();
        if changed == 0 {
            return Ok::<bool, sqlx::Error>(false);
        }
        sqlx::query("INSERT INTO rectification_events (rectification_id, at, actor_user_id, actor, action, from_state, to_state, deadline, note) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(id).bind(now).bind(actor.user_id).bind(&login).bind(&step.action).bind(&from).bind(to).bind(deadline).bind(&note)
            .execute(&mut *tx).await?;
        if step.action == "respond" {
            sqlx::query(crate::notify::TO_REGION).bind(n.issuing_region_code).bind(&kind).bind(&zh).bind(&en).bind(now)
                .execute(&mut *tx).await?;
        } else {
            sqlx::query(crate::notify::TO_COMPANY).bind(n.company_id).bind(&kind).bind(&zh).bind(&en).bind(now).bind(false)
                .execute(&mut *tx).await?;
        }
        if let Some((region, zh, en)) = &escalated {
            sqlx::query(crate::notify::TO_REGION).bind(region).bind("rectification_escalated").bind(zh).bind(en).bind(now)
                .execute(&mut *tx).await?;
        }
        crate::bind_audit!(sqlx::query(auth::AuditRow::INSERT), audited).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }.await)?;
    if !done {
        return Err(refused(
            "the notice changed meanwhile; reload it",
            "通知状态已变化，请刷新",
        ));
    }
    // A second rejection raised supervision: the level's follow-up (an interview at 2, a
    // credit record at 3) happens as when the sweep raises it.
    if let Some((level, _)) = raised {
        let notice = FollowUp {
            id,
            number: number.clone(),
            company: n.company_id,
            compound: n.compound_id,
            community: crate::supervision::community_of(db, n.compound_id).await?,
        };
        follow_up(db, &notice, level, "rejected twice / 二次驳回", true, now).await;
    }
    audited.logged();
    get_notice(db, actor, id).await
}

/// Escalates overdue notices (docs/assessment.md §7): level 1 (the street) at the deadline
/// without a response, level 2 (the district) `inspection.escalate_days` working days later,
/// level 3 (the city) as many more. Each level is claimed by a conditional UPDATE on `next_escalation_at`, so it
/// happens exactly once however many instances sweep at once. Returns the escalations made.
///
/// The due notices are visited once each, in order of their escalation time: a notice whose
/// escalation fails is logged and left for the next sweep, and the sweep goes on with the
/// others (one bad row must not hold up every notice of the city behind it).
pub async fn sweep(db: &Db, settings: &Settings, now: OffsetDateTime) -> Result<u64, InspectionError> {
    let now = db_time(now);
    let mut total = 0;
    // Where the last page ended: `(next_escalation_at, id)`.
    let mut after = (OffsetDateTime::UNIX_EPOCH, 0_i64);
    loop {
        let due: Vec<(i64, OffsetDateTime, i64, i64, String, i64, i64)> = db_run!(db, pool => sqlx::query_as(
            "SELECT r.id, r.next_escalation_at, r.supervision_level, c.region_code, r.number, r.company_id, r.compound_id \
             FROM rectifications r JOIN compounds c ON c.id = r.compound_id \
             WHERE r.next_escalation_at <= $1 AND r.state = 'issued' AND r.supervision_level < $2 \
             AND (r.next_escalation_at > $3 OR (r.next_escalation_at = $3 AND r.id > $4)) \
             ORDER BY r.next_escalation_at, r.id LIMIT 500")
            .bind(now).bind(MAX_LEVEL).bind(after.0).bind(after.1).fetch_all(pool).await)?;
        if due.is_empty() {
            break;
        }
        for (id, at, level, community, number, company, compound) in due {
            after = (at, id);
            let new_level = (level + 1).min(MAX_LEVEL);
            let region = supervising_region(community, new_level);
            let next = (new_level < MAX_LEVEL).then(|| {
                settings
                    .calendar
                    .deadline(at - time::Duration::seconds(1), settings.assessment.escalate_days)
            });
            let (lzh, len) = crate::notify::level_label(new_level);
            let zh = format!("整改通知 {number} 逾期未回复，已升级为{lzh}（{new_level} 级）");
            let en = format!(
                "Rectification notice {number} is overdue without a response and escalated to {len} (level {new_level})"
            );
            let claimed: Result<bool, sqlx::Error> = db_run!(db, pool => async {
                let mut tx = pool.begin().await?;
                let row: Option<(i64,)> = sqlx::query_as(
                    "UPDATE rectifications SET supervision_level = $1, supervising_region_code = $2, next_escalation_at = $3, followup_claimed_at = $7 \
                     WHERE id = $4 AND next_escalation_at = $5 AND state = 'issued' AND supervision_level < $6 RETURNING id")
                    .bind(new_level).bind(region).bind(next).bind(id).bind(at).bind(MAX_LEVEL).bind(now).fetch_optional(&mut *tx).await?;
                if row.is_none() {
                    return Ok::<bool, sqlx::Error>(false);
                }
                sqlx::query("INSERT INTO rectification_events (rectification_id, at, actor_user_id, actor, action, from_state, to_state, deadline, note) \
                    VALUES ($1, $2, NULL, 'system', 'escalate', 'issued', 'issued', NULL, $3)")
                    .bind(id).bind(now).bind(format!("level {new_level}")).execute(&mut *tx).await?;
                sqlx::query(crate::notify::TO_REGION).bind(region).bind("rectification_escalated").bind(&zh).bind(&en).bind(now)
                    .execute(&mut *tx).await?;
                sqlx::query(crate::notify::TO_COMPANY).bind(company).bind("rectification_escalated").bind(&zh).bind(&en).bind(now).bind(false)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }.await);
            let claimed = claimed.unwrap_or_else(|e| {
                tracing::warn!(error = %e, notice = id, "escalation failed; left for the next sweep");
                false
            });
            if claimed {
                total += 1;
                let notice = FollowUp {
                    id,
                    number,
                    company,
                    compound,
                    community,
                };
                let cause = "overdue without a response / 逾期未回复";
                follow_up(db, &notice, new_level, cause, true, now).await;
            }
        }
    }
    if let Err(e) = retry_follow_ups(db, now).await {
        tracing::warn!(error = %e, "escalation follow-ups not retried");
    }
    Ok(total)
}

/// A notice whose escalation's follow-up is due: what [`follow_up`] needs.
struct FollowUp {
    id: i64,
    number: String,
    company: i64,
    compound: i64,
    community: i64,
}

/// How long an escalation or a retry holds a notice's follow-up before another retry may take
/// it on (the follow-up itself takes milliseconds; the sweeper runs every minute).
const FOLLOWUP_LEASE: time::Duration = time::Duration::minutes(10);

/// What a level brings besides the notice's new authority (docs/assessment.md §7): level 2
/// opens an interview of the company by the district; level 3 issues one `overdue_notice` bad
/// credit record (by the system, for the city). Made right after the escalation, and retried
/// by the sweep until it is made ([`retry_follow_ups`]); each is made once however often it is
/// tried (the interview's `rectification_id` is unique; an issued record is looked for first).
/// Written on the notice's timeline, and a failure too on the first try; the escalation stands.
/// Marks the level followed up when it (and every level below it) is. Returns whether it was made.
async fn follow_up(
    db: &Db,
    n: &FollowUp,
    level: i64,
    cause: &str,
    first_try: bool,
    now: OffsetDateTime,
) -> bool {
    let id = n.id;
    let number = &n.number;
    let system = Actor::system();
    let (cause_en, cause_zh) = cause.split_once(" / ").unwrap_or((cause, cause));
    let reason = format!(
        "rectification notice {number}: {cause_en} (level {level}) / 整改通知 {number}：{cause_zh}（{level} 级督办）"
    );
    let result: Result<Option<String>, InspectionError> = match level {
        2 => async {
            let opened: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM interviews WHERE rectification_id = $1")
                .bind(id).fetch_optional(pool).await)?;
            // Made by an earlier try whose note was already written: nothing to say again.
            let iv = match opened {
                Some(_) => return Ok(None),
                None => {
                    let opening = crate::supervision::Opening {
                        company_id: n.company,
                        compound_id: Some(n.compound),
                        region_code: supervising_region(n.community, 2),
                        origin: "rectification",
                        action_id: None,
                        rectification_id: Some(id),
                        reason,
                    };
                    crate::supervision::open_interview(db, &system, opening, now).await?
                }
            };
            Ok(Some(format!("interview {iv} opened / 已立约谈 {iv}")))
        }
        .await,
        3 => async {
            let reference = format!("rectification:{id}");
            let issued: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
                "SELECT id FROM credit_records WHERE source = 'rectification' AND source_ref = $1 AND item_key = 'overdue_notice'")
                .bind(&reference).fetch_optional(pool).await)?;
            let r = match issued {
                Some(_) => return Ok(None),
                None => {
                    let files = FileStore::new(db.clone(), crate::files::FileBackend::Database);
                    let new = crate::credit::NewRecord {
                        company_id: n.company,
                        compound_id: Some(n.compound),
                        item_key: "overdue_notice".into(),
                        points: None,
                        reason,
                        valid_from: None,
                        valid_to: None,
                    };
                    let source = crate::credit::Source {
                        kind: "rectification",
                        reference: Some(reference),
                    };
                    crate::credit::issue_from(db, &files, &system, &new, &source, &[], now)
                        .await
                        .map_err(|e| InspectionError::Refused(e.to_string()))?
                }
            };
            Ok(Some(format!("credit record {r} issued / 已记入信用记录 {r}")))
        }
        .await,
        _ => Ok(None),
    };
    let (note, made) = match result {
        Ok(note) => (note, true),
        Err(e) => {
            // The detail is for the log; the timeline, which the company reads, says what failed
            // (once: a retry that fails again adds nothing).
            tracing::warn!(error = %e, notice = id, level, first_try, "escalation follow-up failed");
            let note = first_try.then(|| {
                format!(
                    "the follow-up of level {level} could not be made yet; it is retried / {level} 级督办后续暂未完成，将自动重试"
                )
            });
            (note, false)
        }
    };
    let now = db_time(now);
    let written: Result<(), DbError> = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        if let Some(note) = &note {
            sqlx::query("INSERT INTO rectification_events (rectification_id, at, actor_user_id, actor, action, from_state, to_state, deadline, note) \
                VALUES ($1, $2, NULL, 'system', 'escalate', 'issued', 'issued', NULL, $3)")
                .bind(id).bind(now).bind(note).execute(&mut *tx).await?;
        }
        if made {
            sqlx::query("UPDATE rectifications SET followed_up_level = $2 WHERE id = $1 AND followed_up_level = $2 - 1")
                .bind(id).bind(level).execute(&mut *tx).await?;
        }
        tx.commit().await
    }.await.map_err(DbError::from));
    if let Err(e) = written {
        tracing::warn!(error = %e, notice = id, "escalation follow-up not recorded");
        return false;
    }
    made
}

/// Makes the follow-ups that failed after their escalation (or whose instance stopped), one
/// notice at a time, each level in order, once the last claim on them is older than
/// [`FOLLOWUP_LEASE`]. A notice that fails again waits for the next lease.
async fn retry_follow_ups(db: &Db, now: OffsetDateTime) -> Result<(), InspectionError> {
    let stale = now - FOLLOWUP_LEASE;
    let due: Vec<(i64, i64, i64, String, i64, i64, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT r.id, r.followed_up_level, r.supervision_level, r.number, r.company_id, r.compound_id, c.region_code \
         FROM rectifications r JOIN compounds c ON c.id = r.compound_id \
         WHERE r.followed_up_level < r.supervision_level AND (r.followup_claimed_at IS NULL OR r.followup_claimed_at < $1) \
         ORDER BY r.id LIMIT 500")
        .bind(stale).fetch_all(pool).await)?;
    for (id, done, level, number, company, compound, community) in due {
        // Exactly one retry at a time, on any number of instances.
        let claimed: Result<u64, sqlx::Error> = db_run!(db, pool => sqlx::query(
            "UPDATE rectifications SET followup_claimed_at = $2 WHERE id = $1 AND followed_up_level = $3 \
             AND (followup_claimed_at IS NULL OR followup_claimed_at < $4)")
            .bind(id).bind(now).bind(done).bind(stale).execute(pool).await.map(|r| r.rows_affected()));
        match claimed {
            Ok(1) => {}
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, notice = id, "escalation follow-up not retried");
                continue;
            }
        }
        let notice = FollowUp {
            id,
            number,
            company,
            compound,
            community,
        };
        for l in done + 1..=level {
            if !follow_up(db, &notice, l, "escalated / 升级督办", false, now).await {
                break;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Figures and assessment inputs

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub region_code: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// Distinct compounds with a submitted inspection in the period.
    pub compounds_inspected: i64,
    pub inspections: i64,
    /// Findings of those inspections, not withdrawn.
    pub problems_found: i64,
    /// Notices issued in the period (withdrawn ones included; see `notices_withdrawn`).
    pub notices_issued: i64,
    pub notices_withdrawn: i64,
    /// Notices whose first response came by the deadline they were issued with.
    pub responded_in_time: i64,
    pub verified: i64,
    /// Notices of the period that reached supervision level 1, 2 and 3 (their level now,
    /// whatever became of them since: a late response does not undo an escalation).
    pub overdue_level1: i64,
    pub overdue_level2: i64,
    pub overdue_level3: i64,
    /// "429 compounds inspected, 606 problems found, 251 notices issued".
    pub line_en: String,
    pub line_zh: String,
}

/// The inspection figures of a jurisdiction between two China dates (inclusive): regulators,
/// for their region or one inside it (default: their own).
pub async fn figures(
    db: &Db,
    actor: &Actor,
    region: Option<RegionCode>,
    from: Date,
    to: Date,
) -> Result<Figures, InspectionError> {
    let scope = actor.require_regulator()?;
    let region = match (scope, region) {
        (Some(s), Some(r)) if !s.contains(r) => {
            return Err(invalid(
                "region",
                "the region is outside your jurisdiction",
                "该区划不在您的管辖范围内",
            ));
        }
        (_, Some(r)) => Some(r),
        (s, None) => s,
    };
    if to < from {
        return Err(invalid(
            "to",
            "the period ends on or after its start",
            "结束日期不得早于开始日期",
        ));
    }
    let (lo, hi) = region
        .map(|r| (*r.subtree().start(), *r.subtree().end()))
        .unwrap_or((0, i64::MAX));
    let (compounds, inspections): (i64, i64) = db_read!(db, pool => sqlx::query_as(
        "SELECT count(DISTINCT compound_id), count(*) FROM inspections WHERE state = 'submitted' AND inspected_on BETWEEN $1 AND $2 AND region_code BETWEEN $3 AND $4")
        .bind(from).bind(to).bind(lo).bind(hi).fetch_one(pool).await)?;
    let (problems,): (i64,) = db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM findings f JOIN inspections i ON i.id = f.inspection_id WHERE i.state = 'submitted' AND f.withdrawn_at IS NULL \
         AND i.inspected_on BETWEEN $1 AND $2 AND i.region_code BETWEEN $3 AND $4")
        .bind(from).bind(to).bind(lo).bind(hi).fetch_one(pool).await)?;
    let start = from.midnight().assume_offset(CST).to_offset(UtcOffset::UTC);
    let end = deadline_end(to);
    let q = format!(
        "SELECT r.state, {ISSUED_DEADLINE}, r.first_response_at, r.supervision_level FROM rectifications r \
         JOIN compounds c ON c.id = r.compound_id WHERE r.issued_at >= $1 AND r.issued_at < $2 AND c.region_code BETWEEN $3 AND $4"
    );
    let notices: Vec<(String, Date, Option<OffsetDateTime>, i64)> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(start).bind(end).bind(lo).bind(hi).fetch_all(pool).await)?;
    let mut f = Figures {
        region_code: region.map(RegionCode::as_i64),
        from,
        to,
        compounds_inspected: compounds,
        inspections,
        problems_found: problems,
        notices_issued: notices.len() as i64,
        notices_withdrawn: 0,
        responded_in_time: 0,
        verified: 0,
        overdue_level1: 0,
        overdue_level2: 0,
        overdue_level3: 0,
        line_en: String::new(),
        line_zh: String::new(),
    };
    for (state, deadline, first, level) in &notices {
        match state.as_str() {
            "withdrawn" => f.notices_withdrawn += 1,
            "verified" => f.verified += 1,
            _ => {}
        }
        if first.is_some_and(|t| t <= deadline_end(*deadline)) {
            f.responded_in_time += 1;
        }
        match level {
            1 => f.overdue_level1 += 1,
            2 => f.overdue_level2 += 1,
            3 => f.overdue_level3 += 1,
            _ => {}
        }
    }
    f.line_en = format!(
        "{} compounds inspected, {} problems found, {} notices issued",
        f.compounds_inspected, f.problems_found, f.notices_issued
    );
    f.line_zh = format!(
        "检查小区 {} 个，发现问题 {} 个，下发整改通知 {} 份",
        f.compounds_inspected, f.problems_found, f.notices_issued
    );
    Ok(f)
}

/// One submitted inspection of a period, for the assessment engine: its findings not
/// withdrawn, counted by severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct InspectionFact {
    pub inspection_id: i64,
    pub compound_id: i64,
    pub company_id: i64,
    pub minor: i64,
    pub major: i64,
    pub serious: i64,
}

/// Every submitted inspection dated in `[starts_on, ends_on]` of a compound that had a company
/// in force that day, with its findings (not withdrawn) counted by severity; by id.
pub async fn assessment_facts(
    db: &Db,
    starts_on: Date,
    ends_on: Date,
) -> Result<Vec<InspectionFact>, InspectionError> {
    let rows = db_read!(db, pool => sqlx::query_as(
        "SELECT i.id AS inspection_id, i.compound_id, i.company_id, \
         count(CASE WHEN f.severity = 'minor' THEN 1 END) AS minor, \
         count(CASE WHEN f.severity = 'major' THEN 1 END) AS major, \
         count(CASE WHEN f.severity = 'serious' THEN 1 END) AS serious \
         FROM inspections i LEFT JOIN findings f ON f.inspection_id = i.id AND f.withdrawn_at IS NULL \
         WHERE i.state = 'submitted' AND i.company_id IS NOT NULL AND i.inspected_on BETWEEN $1 AND $2 \
         GROUP BY i.id, i.compound_id, i.company_id ORDER BY i.id")
        .bind(starts_on).bind(ends_on).fetch_all(pool).await)?;
    Ok(rows)
}

/// The deadline a notice `r` was issued with, from its `issue` event (every notice has one;
/// `r.deadline` stands in should one be missing): its first response is in time or late by it
/// (the deadline in force when it first responded: only a rejection, after a response, sets a
/// new one).
const ISSUED_DEADLINE: &str = "coalesce((SELECT min(e.deadline) FROM rectification_events e \
    WHERE e.rectification_id = r.id AND e.action = 'issue'), r.deadline)";

/// The notices whose deadline (the one they were issued with) fell in `[starts_on, ends_on]`
/// with no response by it (24:00 China time of the deadline), withdrawn ones excepted:
/// `(compound_id, company_id)` per notice, by notice id. A late response is still late, also
/// when a rejection later set a new deadline.
pub async fn overdue_notices(
    db: &Db,
    starts_on: Date,
    ends_on: Date,
) -> Result<Vec<(i64, i64)>, InspectionError> {
    let q = format!(
        "SELECT compound_id, company_id, issued_deadline, first_response_at FROM \
         (SELECT r.id, r.compound_id, r.company_id, r.first_response_at, {ISSUED_DEADLINE} AS issued_deadline \
          FROM rectifications r WHERE r.state <> 'withdrawn') n \
         WHERE issued_deadline BETWEEN $1 AND $2 ORDER BY id"
    );
    let rows: Vec<(i64, i64, Date, Option<OffsetDateTime>)> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(starts_on).bind(ends_on).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, d, first)| first.is_none_or(|t| t > deadline_end(*d)))
        .map(|(c, co, _, _)| (c, co))
        .collect())
}
