//! Assessment (issue 6, docs/assessment.md): ratings of the companies, rubric versions, and
//! runs that turn a period's facts into stored, explained scores and rankings.
//!
//! Data flow of a run: [`collect`] reads each source table once (projects from contracts,
//! ratings, work orders filed in the period, manual deductions) into one
//! [`ProjectInput`] per project; `wuye_model::assessment` scores, ranks and totals them (pure,
//! exact integers); [`run`] writes the run, its scores (with their inputs and items as JSON)
//! and the company scores in one transaction.
//!
//! **Invariants.** A closed period (one with a final run) is never written again: running it
//! again recomputes from the inputs the final run stored, with the rubric versions and settings
//! it pinned, and reports whether the result is identical. Published rubric versions are never
//! edited; scores keep the id of the version that produced them. Only final runs are public.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use wuye_model::assessment::{
    BottomScope, CompanyScore, OrderCounts, ProjectInput, ProjectScore, RankSettings, Rubric, RubricError,
    ScoreStatus, format_hundredths,
};
use wuye_model::{Period, PeriodKind, RegionCode, Role};

use crate::auth::{self, Actor, Denied, Scope};
use crate::db::{Db, DbError};
use crate::sql::{Param, Sql};
use crate::{bind_params, db_read, db_run};

#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0}")]
    Invalid(String),
    /// Refused by the period's state or the calendar (409).
    #[error("{0}")]
    Refused(String),
    /// A rubric file with its row errors (422).
    #[error("the rubric has errors / 考核细则有误")]
    Rubric(Vec<RubricError>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AssessError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

impl From<crate::inspections::InspectionError> for AssessError {
    fn from(e: crate::inspections::InspectionError) -> Self {
        match e {
            crate::inspections::InspectionError::Db(e) => Self::Db(e),
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for AssessError {
    fn from(e: serde_json::Error) -> Self {
        Self::Db(DbError::Unsupported(format!("stored assessment JSON: {e}")))
    }
}

fn refused(en: &str, zh: &str) -> AssessError {
    AssessError::Refused(format!("{en} / {zh}"))
}

fn invalid(en: &str, zh: &str) -> AssessError {
    AssessError::Invalid(format!("{en} / {zh}"))
}

use crate::clock::china_date;

/// The rating period (a month) containing a date.
fn month_of(d: Date) -> Result<Period, AssessError> {
    Period::containing(PeriodKind::Month, d).ok_or_else(|| {
        invalid(
            &format!("no rating period holds {d}"),
            &format!("{d} 不在任何评价期内"),
        )
    })
}

/// Parses a score given as points ("85", "85.5", "85.50") into hundredths, 0–100.
pub fn parse_points(text: &str) -> Option<i64> {
    // The registry's exact decimal parser (two places at most), bounded to 0–100 points.
    let v = wuye_model::Area::parse(text).ok()?.hundredths();
    (0..=10_000).contains(&v).then_some(v)
}

// ---------------------------------------------------------------------------------------------
// Ratings

/// A rating as given: owners choose a level, the committee, community and street give points.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRating {
    pub compound_id: i64,
    /// Owners: `satisfied`, `basic` or `dissatisfied`.
    #[serde(default)]
    pub level: Option<String>,
    /// Committee, community and street: points 0–100 with up to two decimals ("85.50").
    #[serde(default)]
    pub score: Option<String>,
    #[serde(default)]
    pub comment: String,
    /// The rating period (a month, `2026-10`); default the current one. The previous month
    /// may still be rated during the city's grace days.
    #[serde(default)]
    pub period: Option<String>,
}

/// A rating as stored (what its rater sees of it).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct RatingView {
    pub id: i64,
    pub rating_period: String,
    pub compound_id: i64,
    pub company_id: i64,
    pub rater_kind: String,
    pub level: Option<String>,
    /// Hundredths of a point.
    pub score: Option<i64>,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: OffsetDateTime,
    /// Whether this rating replaced an earlier one of the same rater.
    pub replaced: bool,
}

const LEVELS: [&str; 3] = ["satisfied", "basic", "dissatisfied"];

/// Who rates for which rater kind and key, or why not.
async fn rater(db: &Db, actor: &Actor, compound_id: i64) -> Result<(&'static str, i64, i64), AssessError> {
    let role = actor.require_signed_in()?;
    let row: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT region_code FROM compounds WHERE id = $1").bind(compound_id).fetch_optional(pool).await)?;
    let Some((community,)) = row else {
        return Err(Denied::Hidden.into());
    };
    let code = RegionCode::from_i64(community).map_err(|_| AssessError::Denied(Denied::Hidden))?;
    match (role, &actor.scope) {
        (Role::Owner, Scope::Owner { user_id }) => {
            let (n,): (i64,) = db_read!(db, pool => sqlx::query_as(
                "SELECT count(*) FROM user_owners uo JOIN room_owners ro ON ro.owner_id = uo.owner_id \
                 JOIN rooms r ON r.id = ro.room_id WHERE uo.user_id = $1 AND r.compound_id = $2")
                .bind(user_id).bind(compound_id).fetch_one(pool).await)?;
            if n == 0 {
                return Err(Denied::Hidden.into());
            }
            Ok(("owner", *user_id, community))
        }
        (Role::CommitteeMember, Scope::Compound { compound_id: c }) if *c == compound_id => {
            Ok(("committee", compound_id, community))
        }
        (Role::CommunityOfficer, Scope::Region { code: mine }) if mine.contains(code) => {
            Ok(("community", community, community))
        }
        (Role::StreetOfficer, Scope::Region { code: mine }) if mine.contains(code) => {
            let street = code.parent().map_or(community, RegionCode::as_i64);
            Ok(("street", street, community))
        }
        (Role::CommitteeMember | Role::CommunityOfficer | Role::StreetOfficer, _) => {
            Err(Denied::Hidden.into())
        }
        _ => Err(Denied::Role.into()),
    }
}

/// Rates a compound's company for a rating period: once per rater and period, a changed rating
/// replacing the earlier one (docs/assessment.md §1, §4).
pub async fn rate(
    db: &Db,
    actor: &Actor,
    new: &NewRating,
    settings: &crate::settings::Settings,
    now: OffsetDateTime,
) -> Result<RatingView, AssessError> {
    let now = crate::clock::db_time(now);
    let (kind, key, _) = rater(db, actor, new.compound_id).await?;
    let today = china_date(now);
    let period = match new.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => month_of(today)?,
        Some(p) => {
            let p = Period::parse(p).map_err(|e| AssessError::Invalid(e.to_string()))?;
            if p.kind() != PeriodKind::Month {
                return Err(invalid(
                    "ratings are given per month (2026-10)",
                    "评价按月进行（如 2026-10）",
                ));
            }
            p
        }
    };
    let grace = i64::from(settings.assessment.rating_grace_days);
    if today < period.starts_on() || today > period.ends_on() + time::Duration::days(grace) {
        return Err(refused(
            &format!("ratings for {period} are open from its first day until {grace} days after its end"),
            &format!("{period} 的评价期为当月首日至月末后 {grace} 日"),
        ));
    }
    let (level, score) = if kind == "owner" {
        let l = new.level.as_deref().map(str::trim).unwrap_or("");
        let Some(l) = LEVELS.iter().copied().find(|x| *x == l) else {
            return Err(invalid(
                "choose satisfied, basic or dissatisfied",
                "请选择满意、基本满意或不满意",
            ));
        };
        (Some(l), None)
    } else {
        let s = new.score.as_deref().and_then(parse_points).ok_or_else(|| {
            invalid(
                "give points from 0 to 100, up to two decimals",
                "请填写 0 至 100 分（最多两位小数）",
            )
        })?;
        (None, Some(s))
    };
    let comment = new.comment.trim();
    if comment.chars().count() > 500 {
        return Err(invalid("a comment has at most 500 characters", "评语最多 500 字"));
    }
    // The company in force on the period's last day rated, or today if earlier.
    let on = today.min(period.ends_on());
    let company: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT company_id FROM contracts WHERE compound_id = $1 AND start_date <= $2 AND end_date >= $2 \
         ORDER BY start_date DESC, id DESC LIMIT 1").bind(new.compound_id).bind(on).fetch_optional(pool).await)?;
    let Some((company_id,)) = company else {
        return Err(refused(
            "no company manages this compound under a contract: there is nobody to rate",
            "该小区没有在约的物业服务企业，无可评价对象",
        ));
    };
    let pname = period.to_string();
    let (id, replaced) = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let old = sqlx::query("UPDATE ratings SET superseded_at = $1 WHERE rating_period = $2 AND compound_id = $3 \
            AND rater_kind = $4 AND rater_key = $5 AND superseded_at IS NULL")
            .bind(now).bind(&pname).bind(new.compound_id).bind(kind).bind(key).execute(&mut *tx).await?.rows_affected();
        let (id,): (i64,) = sqlx::query_as("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, \
            user_id, level, score, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
            .bind(&pname).bind(new.compound_id).bind(company_id).bind(kind).bind(key).bind(actor.user_id)
            .bind(level).bind(score).bind(comment).bind(now).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((id, old > 0))
    }.await)?;
    if kind != "owner" {
        // Owners' ratings are not audited by name (nobody but the owner sees them).
        auth::audit(
            db,
            actor,
            "rating.give",
            "compound",
            &new.compound_id.to_string(),
            None,
            Some(serde_json::json!({ "period": pname, "kind": kind, "score": score })),
            now,
        )
        .await?;
    }
    Ok(RatingView {
        id,
        rating_period: pname,
        compound_id: new.compound_id,
        company_id,
        rater_kind: kind.to_owned(),
        level: level.map(str::to_owned),
        score,
        comment: comment.to_owned(),
        created_at: now,
        replaced,
    })
}

/// The caller's own current ratings of a rating period.
pub async fn my_ratings(
    db: &Db,
    actor: &Actor,
    period: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<RatingView>, AssessError> {
    actor.require_signed_in()?;
    let Some(user_id) = actor.user_id else {
        return Ok(Vec::new());
    };
    let period = match period {
        Some(p) => Period::parse(p).map_err(|e| AssessError::Invalid(e.to_string()))?,
        None => month_of(china_date(now))?,
    };
    let rows: Vec<RatingView> = db_read!(db, pool => sqlx::query_as(
        "SELECT id, rating_period, compound_id, company_id, rater_kind, level, score, comment, created_at, false AS replaced \
         FROM ratings WHERE user_id = $1 AND rating_period = $2 AND superseded_at IS NULL ORDER BY compound_id, rater_kind")
        .bind(user_id).bind(period.to_string()).fetch_all(pool).await)?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Rubrics

/// A rubric version as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RubricVersion {
    pub id: i64,
    pub region_code: i64,
    pub version: i64,
    pub rubric_key: String,
    pub name: String,
    #[schema(value_type = String)]
    pub effective_from: Date,
    pub state: String,
    pub sha256: String,
    /// The canonical CSV.
    pub csv: String,
}

const RUBRIC_SELECT: &str =
    "SELECT id, region_code, version, rubric_key, name, effective_from, state, sha256, csv FROM rubrics";

type RubricRow = (i64, i64, i64, String, String, Date, String, String, String);

fn rubric_version(r: RubricRow) -> RubricVersion {
    RubricVersion {
        id: r.0,
        region_code: r.1,
        version: r.2,
        rubric_key: r.3,
        name: r.4,
        effective_from: r.5,
        state: r.6,
        sha256: r.7,
        csv: r.8,
    }
}

/// Every rubric version, newest first (public: rubrics are published rules).
pub async fn rubrics(db: &Db) -> Result<Vec<RubricVersion>, AssessError> {
    let sql = format!("{RUBRIC_SELECT} ORDER BY region_code, version DESC");
    let rows: Vec<RubricRow> =
        db_read!(db, pool => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(rubric_version).collect())
}

/// Stores a rubric file as the next draft version of a region: city administrators for any
/// region, district officers for their district. A file with errors is refused with every
/// row's error.
pub async fn draft_rubric(
    db: &Db,
    actor: &Actor,
    region: RegionCode,
    csv: &str,
    effective_from: Date,
    now: OffsetDateTime,
) -> Result<RubricVersion, AssessError> {
    let reach = actor.require_admin(true)?;
    if reach.is_some_and(|r| !r.contains(region)) {
        return Err(Denied::Hidden.into());
    }
    if region.level() > wuye_model::RegionLevel::District {
        return Err(invalid(
            "a rubric belongs to the city or a district",
            "考核细则只能由市或区县制定",
        ));
    }
    let rubric = Rubric::parse(csv).map_err(AssessError::Rubric)?;
    insert_rubric(db, actor.user_id, region, &rubric, effective_from, "draft", now).await
}

async fn insert_rubric(
    db: &Db,
    by: Option<i64>,
    region: RegionCode,
    rubric: &Rubric,
    effective_from: Date,
    state: &str,
    now: OffsetDateTime,
) -> Result<RubricVersion, AssessError> {
    let now = crate::clock::db_time(now);
    let canonical = rubric.to_csv();
    let body = serde_json::to_string(rubric)?;
    let sha = crate::files::hex(&Sha256::digest(canonical.as_bytes()));
    let published_at = (state == "published").then_some(now);
    let published_by = if state == "published" { by } else { None };
    let id: (i64,) = db_run!(db, pool => sqlx::query_as(
        "INSERT INTO rubrics (region_code, version, rubric_key, name, effective_from, state, csv, body, sha256, created_by, created_at, \
         published_by, published_at) SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 \
         FROM rubrics WHERE region_code = $1 RETURNING id")
        .bind(region.as_i64()).bind(rubric.key()).bind(rubric.name_zh()).bind(effective_from).bind(state).bind(&canonical)
        .bind(&body).bind(&sha).bind(by).bind(now).bind(published_by).bind(published_at).fetch_one(pool).await)?;
    let sql = format!("{RUBRIC_SELECT} WHERE id = $1");
    let row: RubricRow =
        db_read!(db, pool => sqlx::query_as(AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await)?;
    Ok(rubric_version(row))
}

/// Publishes a draft: from then on it is the rubric of periods starting on or after its
/// effective date, and never changes.
pub async fn publish_rubric(
    db: &Db,
    actor: &Actor,
    id: i64,
    now: OffsetDateTime,
) -> Result<RubricVersion, AssessError> {
    let reach = actor.require_admin(true)?;
    let sql = format!("{RUBRIC_SELECT} WHERE id = $1");
    let row: Option<RubricRow> =
        db_read!(db, pool => sqlx::query_as(AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await)?;
    let Some(row) = row else {
        return Err(Denied::Hidden.into());
    };
    let region = RegionCode::from_i64(row.1).map_err(|_| AssessError::Denied(Denied::Hidden))?;
    if reach.is_some_and(|r| !r.contains(region)) {
        return Err(Denied::Hidden.into());
    }
    if row.6 != "draft" {
        return Err(refused("this version is already published", "该版本已发布"));
    }
    let now = crate::clock::db_time(now);
    db_run!(db, pool => sqlx::query("UPDATE rubrics SET state = 'published', published_by = $2, published_at = $3 WHERE id = $1 AND state = 'draft'")
        .bind(id).bind(actor.user_id).bind(now).execute(pool).await.map(|_| ()))?;
    auth::audit(
        db,
        actor,
        "rubric.publish",
        "rubric",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "region": row.1, "version": row.2, "sha256": row.7 })),
        now,
    )
    .await?;
    let row: RubricRow =
        db_read!(db, pool => sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_one(pool).await)?;
    Ok(rubric_version(row))
}

/// The published rubrics, with the shipped default published for the top regions when none
/// exists yet (a city that never uploaded one is assessed by the documented default).
async fn published_rubrics(
    db: &Db,
    now: OffsetDateTime,
) -> Result<Vec<(i64, RegionCode, Date, Rubric)>, AssessError> {
    let load = || async {
        let rows: Vec<(i64, i64, Date, String)> = db_read!(db, pool => sqlx::query_as(
            "SELECT id, region_code, effective_from, body FROM rubrics WHERE state = 'published' ORDER BY region_code, version DESC")
            .fetch_all(pool).await)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, region, from, body) in rows {
            let Ok(code) = RegionCode::from_i64(region) else {
                continue;
            };
            out.push((id, code, from, serde_json::from_str::<Rubric>(&body)?));
        }
        Ok::<_, AssessError>(out)
    };
    let found = load().await?;
    if !found.is_empty() {
        return Ok(found);
    }
    let tops: Vec<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT code FROM regions WHERE parent_code IS NULL ORDER BY code").fetch_all(pool).await)?;
    let shipped = Rubric::parse(Rubric::default_csv()).map_err(AssessError::Rubric)?;
    let from = Date::from_calendar_date(2000, time::Month::January, 1)
        .map_err(|e| invalid(&e.to_string(), "日期无效"))?;
    for (code,) in tops {
        if let Ok(code) = RegionCode::from_i64(code) {
            insert_rubric(db, None, code, &shipped, from, "published", now).await?;
        }
    }
    load().await
}

/// The rubric of a compound for a period: its district's newest published version in effect,
/// else the city's (the most specific region holding the compound).
fn rubric_for(
    rubrics: &[(i64, RegionCode, Date, Rubric)],
    community: RegionCode,
    starts_on: Date,
) -> Option<&(i64, RegionCode, Date, Rubric)> {
    rubrics
        .iter()
        .filter(|(_, region, from, _)| region.contains(community) && *from <= starts_on)
        .max_by_key(|(id, region, _, _)| (region.level().prefix_len(), *id))
}

// ---------------------------------------------------------------------------------------------
// Runs

/// What a run did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunReport {
    pub run_id: i64,
    pub period: String,
    /// `provisional` or `final`.
    pub kind: String,
    pub projects: i64,
    pub rated: i64,
    pub companies: i64,
    pub inputs_sha256: String,
    pub scores_sha256: String,
    /// For a closed period: whether recomputing from its stored inputs gave the stored result
    /// (nothing is written then).
    pub identical: Option<bool>,
    /// Bottom places acted on (a final month).
    pub bottom: i64,
}

/// The settings a run used, stored with it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct RunSettings {
    rank: RankSettings,
}

impl RunSettings {
    fn from(s: &crate::settings::AssessmentSettings) -> Self {
        Self {
            rank: RankSettings {
                bottom_n: s.bottom_n,
                bottom_scope: if s.bottom_scope_street {
                    BottomScope::Street
                } else {
                    BottomScope::District
                },
                bottom_min_tenure_bp: i64::from(s.bottom_min_tenure_percent) * 100,
            },
        }
    }
}

/// One project's inputs with the rubric it is scored by.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Project {
    rubric_id: i64,
    community: i64,
    input: ProjectInput,
}

/// Runs the assessment of a period (`wuye assess`, or the city administrator's button).
///
/// * An open period gets a provisional run, replacing its previous provisional run.
/// * `close` makes the final run (from `ends_on + settle_days`), which closes the period and,
///   for a month, records the bottom places' actions.
/// * A closed period is recomputed from its stored inputs and compared; nothing is written.
pub async fn run(
    db: &Db,
    actor: &Actor,
    period: Period,
    close: bool,
    settings: &crate::settings::Settings,
    now: OffsetDateTime,
) -> Result<RunReport, AssessError> {
    match actor.require_admin(false)? {
        None => {}
        Some(code) if code.level() <= wuye_model::RegionLevel::City => {}
        Some(_) => return Err(Denied::Role.into()),
    }
    let now = crate::clock::db_time(now);
    let pname = period.to_string();
    let fin: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM assessment_runs WHERE period = $1 AND kind = 'final'")
        .bind(&pname).fetch_optional(pool).await)?;
    if let Some((run_id,)) = fin {
        return check(db, run_id, period).await;
    }
    let today = china_date(now);
    if close {
        let from = period.ends_on() + time::Duration::days(i64::from(settings.assessment.settle_days));
        if today < from {
            return Err(refused(
                &format!(
                    "{pname} can be closed from {from} (its end plus {} settle days)",
                    settings.assessment.settle_days
                ),
                &format!(
                    "{pname} 须在 {from} 及以后结算（期末后 {} 日）",
                    settings.assessment.settle_days
                ),
            ));
        }
    } else if today < period.starts_on() {
        return Err(refused(
            &format!("{pname} has not begun"),
            &format!("{pname} 尚未开始"),
        ));
    }
    let rubrics = published_rubrics(db, now).await?;
    let projects = collect(db, &period, &rubrics, now).await?;
    let run_settings = RunSettings::from(&settings.assessment);
    let previous = previous_streaks(db, &period).await?;
    let (scores, companies) = compute(&rubrics, &period, &projects, &run_settings, &previous)?;
    let inputs_sha = sha_json(&projects)?;
    let scores_sha = sha_json(&(&scores, &companies))?;
    let kind = if close { "final" } else { "provisional" };
    let mut rubric_ids: Vec<i64> = projects.iter().map(|p| p.rubric_id).collect();
    rubric_ids.sort_unstable();
    rubric_ids.dedup();
    let rated = scores.iter().filter(|s| s.0.status == ScoreStatus::Rated).count() as i64;
    let (actions, bottom) = if close && period.kind() == PeriodKind::Month {
        plan_actions(&rubrics, &projects, &scores)
    } else {
        (Vec::new(), 0)
    };
    let follow = !actions.is_empty();
    let run_id = write_run(
        db,
        actor,
        &pname,
        kind,
        now,
        &run_settings,
        &rubric_ids,
        &projects,
        &scores,
        &companies,
        actions,
        rated,
        (&inputs_sha, &scores_sha),
    )
    .await?;
    // The follow-ups; what fails here stays pending and the daily sweep retries it.
    if follow
        && let Err(e) = crate::supervision::open_from_close(db, actor, Some(run_id), settings, now).await
    {
        tracing::warn!(error = %e, run = run_id, "bottom-place actions not all set in motion");
    }
    auth::audit(
        db,
        actor,
        if close {
            "assessment.close"
        } else {
            "assessment.run"
        },
        "assessment_run",
        &run_id.to_string(),
        None,
        Some(serde_json::json!({ "period": pname, "projects": projects.len(), "rated": rated })),
        now,
    )
    .await?;
    tracing::info!(period = %pname, kind, projects = projects.len(), rated, "assessment run");
    Ok(RunReport {
        run_id,
        period: pname,
        kind: kind.to_owned(),
        projects: projects.len() as i64,
        rated,
        companies: companies.len() as i64,
        inputs_sha256: inputs_sha,
        scores_sha256: scores_sha,
        identical: None,
        bottom,
    })
}

/// The scheduled run (daily analysis): once a day, a provisional run of the current month and
/// of the previous month while it is not closed. Closing stays a person's act. Cheap when
/// there is nothing to do (one read), so every instance may call it every minute.
pub async fn scheduled(
    db: &Db,
    settings: &crate::settings::Settings,
    now: OffsetDateTime,
) -> Result<u32, AssessError> {
    let today = china_date(now);
    let current = month_of(today)?;
    let mut done = 0;
    for period in [Some(current), current.previous()].into_iter().flatten() {
        let latest: Option<(String, OffsetDateTime)> = db_read!(db, pool => sqlx::query_as(
            "SELECT kind, as_of FROM assessment_runs WHERE period = $1 ORDER BY id DESC LIMIT 1")
            .bind(period.to_string()).fetch_optional(pool).await)?;
        let due = match latest {
            None => true,
            Some((kind, as_of)) => kind == "provisional" && china_date(as_of) < today,
        };
        if due {
            run(db, &Actor::cli(), period, false, settings, now).await?;
            done += 1;
        }
    }
    Ok(done)
}

fn sha_json<T: Serialize>(v: &T) -> Result<String, AssessError> {
    Ok(crate::files::hex(&Sha256::digest(serde_json::to_vec(v)?)))
}

/// A project's score with its bottom streak.
type Scored = (ProjectScore, i64);

/// Scores every project by its rubric, ranks them all, totals the companies.
fn compute(
    rubrics: &[(i64, RegionCode, Date, Rubric)],
    period: &Period,
    projects: &[Project],
    settings: &RunSettings,
    previous: &HashMap<(i64, i64), i64>,
) -> Result<(Vec<Scored>, Vec<CompanyScore>), AssessError> {
    let by_id: HashMap<i64, &Rubric> = rubrics.iter().map(|(id, _, _, r)| (*id, r)).collect();
    let mut groups: BTreeMap<i64, Vec<&Project>> = BTreeMap::new();
    for p in projects {
        groups.entry(p.rubric_id).or_default().push(p);
    }
    let mut scores: Vec<ProjectScore> = Vec::with_capacity(projects.len());
    for (rubric_id, group) in groups {
        let rubric = by_id
            .get(&rubric_id)
            .ok_or_else(|| invalid(&format!("rubric {rubric_id} is missing"), "考核细则缺失"))?;
        let inputs: Vec<ProjectInput> = group.iter().map(|p| p.input.clone()).collect();
        scores.extend(wuye_model::assessment::score_projects(rubric, period, &inputs));
    }
    scores.sort_by_key(|s| (s.compound_id, s.company_id));
    wuye_model::assessment::rank_projects(&mut scores, period, &settings.rank);
    let companies = wuye_model::assessment::company_scores(&scores);
    let scored = scores
        .into_iter()
        .map(|s| {
            let prev = previous.get(&(s.compound_id, s.company_id)).copied().unwrap_or(0);
            let streak = wuye_model::assessment::bottom_streak(s.bottom, prev);
            (s, streak)
        })
        .collect();
    Ok((scored, companies))
}

/// Last month's bottom streaks (final run), for a month.
async fn previous_streaks(db: &Db, period: &Period) -> Result<HashMap<(i64, i64), i64>, AssessError> {
    if period.kind() != PeriodKind::Month {
        return Ok(HashMap::new());
    }
    let Some(prev) = period.previous() else {
        return Ok(HashMap::new());
    };
    let rows: Vec<(i64, i64, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT s.compound_id, s.company_id, s.bottom_streak FROM scores s JOIN assessment_runs r ON r.id = s.run_id \
         WHERE r.period = $1 AND r.kind = 'final' AND s.bottom_streak > 0").bind(prev.to_string()).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|(c, co, s)| ((c, co), s)).collect())
}

/// The days of `[a, b]` (inclusive) that fall in the period.
fn overlap_days(period: &Period, a: Date, b: Date) -> i64 {
    let from = a.max(period.starts_on());
    let to = b.min(period.ends_on());
    if to < from {
        0
    } else {
        (to - from).whole_days() + 1
    }
}

/// Reads the period's facts, one statement per source, into one input per project.
async fn collect(
    db: &Db,
    period: &Period,
    rubrics: &[(i64, RegionCode, Date, Rubric)],
    as_of: OffsetDateTime,
) -> Result<Vec<Project>, AssessError> {
    // 1. Projects: every (compound, company) whose contract overlaps the period.
    type ContractRow = (i64, i64, Date, Date, i64, Option<i64>, i64);
    let contracts: Vec<ContractRow> = db_read!(db, pool => sqlx::query_as(
        "SELECT ct.compound_id, ct.company_id, ct.start_date, ct.end_date, c.region_code, c.households, \
         CASE WHEN c.households IS NULL THEN (SELECT count(*) FROM rooms r WHERE r.compound_id = c.id AND r.kind = 'residential') ELSE 0 END \
         FROM contracts ct JOIN compounds c ON c.id = ct.compound_id WHERE ct.start_date <= $1 AND ct.end_date >= $2 \
         ORDER BY ct.compound_id, ct.company_id, ct.start_date")
        .bind(period.ends_on()).bind(period.starts_on()).fetch_all(pool).await)?;
    let mut projects: BTreeMap<(i64, i64), Project> = BTreeMap::new();
    // The contracts of each compound, to attribute an order filed on a day to its company.
    let mut spans: HashMap<i64, Vec<(Date, Date, i64)>> = HashMap::new();
    for (compound, company, start, end, community, households, rooms) in contracts {
        let Ok(code) = RegionCode::from_i64(community) else {
            continue;
        };
        let Some((rubric_id, _, _, _)) = rubric_for(rubrics, code, period.starts_on()) else {
            continue;
        };
        let street = code.parent().map_or(community, RegionCode::as_i64);
        let district = code
            .parent()
            .and_then(RegionCode::parent)
            .map_or(street, RegionCode::as_i64);
        let days = overlap_days(period, start, end);
        spans.entry(compound).or_default().push((start, end, company));
        let p = projects.entry((compound, company)).or_insert_with(|| Project {
            rubric_id: *rubric_id,
            community,
            input: ProjectInput {
                compound_id: compound,
                company_id: company,
                district_code: district,
                street_code: street,
                households,
                residential_rooms: rooms,
                ..Default::default()
            },
        });
        p.input.tenure_days = (p.input.tenure_days + days).min(period.days());
    }
    // 2. Ratings: the latest per rater over the rating periods (months) the period overlaps.
    let months = period.months_overlapping();
    let first = months
        .first()
        .map(|(y, m)| format!("{y:04}-{m:02}"))
        .unwrap_or_default();
    let last = months
        .last()
        .map(|(y, m)| format!("{y:04}-{m:02}"))
        .unwrap_or_default();
    let rating_sql = if months.len() == 1 {
        "SELECT compound_id, company_id, rater_kind, level, count(*), CAST(coalesce(sum(score), 0) AS BIGINT) FROM ratings \
         WHERE rating_period = $1 AND rating_period = $2 AND superseded_at IS NULL GROUP BY compound_id, company_id, rater_kind, level"
    } else {
        "SELECT compound_id, company_id, rater_kind, level, count(*), CAST(coalesce(sum(score), 0) AS BIGINT) FROM \
         (SELECT compound_id, company_id, rater_kind, level, score, ROW_NUMBER() OVER (PARTITION BY compound_id, rater_kind, rater_key \
         ORDER BY rating_period DESC) AS rn FROM ratings WHERE rating_period BETWEEN $1 AND $2 AND superseded_at IS NULL) x \
         WHERE rn = 1 GROUP BY compound_id, company_id, rater_kind, level"
    };
    let ratings: Vec<(i64, i64, String, Option<String>, i64, i64)> =
        db_read!(db, pool => sqlx::query_as(rating_sql).bind(&first).bind(&last).fetch_all(pool).await)?;
    for (compound, company, kind, level, n, sum) in ratings {
        let Some(p) = projects.get_mut(&(compound, company)) else {
            continue;
        };
        let mean = (n > 0).then(|| (2 * sum + n) / (2 * n));
        match (kind.as_str(), level.as_deref()) {
            ("owner", Some("satisfied")) => p.input.owners.satisfied += n,
            ("owner", Some("basic")) => p.input.owners.basic += n,
            ("owner", Some("dissatisfied")) => p.input.owners.dissatisfied += n,
            ("committee", _) => p.input.committee = mean,
            ("community", _) => p.input.community = mean,
            ("street", _) => p.input.street = mean,
            _ => {}
        }
    }
    // 3. Work orders filed in the period (merged, declined and cancelled ones left out).
    let mut sql = Sql::new(
        "SELECT compound_id, handler_company_id, handle_due, replied_at, satisfaction, rehandles, supervision_level, created_at \
         FROM work_orders WHERE state NOT IN ('merged', 'declined', 'cancelled') AND merged_into IS NULL",
    );
    match period.month_keys() {
        Some((a, b)) => {
            sql.push(" AND created_month BETWEEN ");
            sql.bind_i64(a);
            sql.push(" AND ");
            sql.bind_i64(b);
        }
        None => {
            sql.push(" AND created_at >= ");
            sql.bind(Param::Ts(period.start_instant()));
            sql.push(" AND created_at < ");
            sql.bind(Param::Ts(period.end_instant()));
        }
    }
    type OrderRow = (
        i64,
        Option<i64>,
        OffsetDateTime,
        Option<OffsetDateTime>,
        Option<String>,
        i64,
        i64,
        OffsetDateTime,
    );
    let orders: Vec<OrderRow> = db_read!(db, pool => bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    for (compound, handler, due, replied, satisfaction, rehandles, level, created) in orders {
        let filed = china_date(created);
        let company = handler
            .filter(|h| projects.contains_key(&(compound, *h)))
            .or_else(|| {
                spans.get(&compound).and_then(|s| {
                    s.iter()
                        .find(|(a, b, _)| *a <= filed && filed <= *b)
                        .or_else(|| s.last())
                        .map(|(_, _, c)| *c)
                })
            });
        let Some(p) = company.and_then(|c| projects.get_mut(&(compound, c))) else {
            continue;
        };
        add_order(
            &mut p.input.orders,
            due,
            replied,
            satisfaction.as_deref(),
            rehandles,
            level,
            as_of,
        );
    }
    // 4. Manual deductions dated in the period and not revoked.
    let deductions: Vec<(i64, i64, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT compound_id, company_id, points FROM assessment_deductions WHERE dated_on BETWEEN $1 AND $2 AND revoked_at IS NULL ORDER BY id")
        .bind(period.starts_on()).bind(period.ends_on()).fetch_all(pool).await)?;
    for (compound, company, points) in deductions {
        if let Some(p) = projects.get_mut(&(compound, company)) {
            p.input.manual_deductions.push(points);
        }
    }
    // 5. Submitted inspections in the period (findings not withdrawn), and rectification
    // notices whose deadline fell in it with no response by then.
    let facts = crate::inspections::assessment_facts(db, period.starts_on(), period.ends_on()).await?;
    for f in facts {
        if let Some(p) = projects.get_mut(&(f.compound_id, f.company_id)) {
            p.input
                .inspections
                .push(wuye_model::assessment::InspectionFindings {
                    minor: f.minor,
                    major: f.major,
                    serious: f.serious,
                });
        }
    }
    for key in crate::inspections::overdue_notices(db, period.starts_on(), period.ends_on()).await? {
        if let Some(p) = projects.get_mut(&key) {
            p.input.overdue_notices += 1;
        }
    }
    // Disclosure: its module comes in a later issue; no data until then (never 0 or 100).
    Ok(projects.into_values().collect())
}

/// Adds one order to a project's counts (docs/assessment.md §2, figures.md).
fn add_order(
    c: &mut OrderCounts,
    due: OffsetDateTime,
    replied: Option<OffsetDateTime>,
    satisfaction: Option<&str>,
    rehandles: i64,
    level: i64,
    as_of: OffsetDateTime,
) {
    c.filed += 1;
    if replied.is_some() || due <= as_of {
        c.due += 1;
    }
    if let Some(r) = replied {
        c.replied += 1;
        if r <= due {
            c.on_time += 1;
        }
        if rehandles > 0 {
            c.reopened += 1;
        }
    }
    match satisfaction {
        Some("satisfied") => {
            c.rated += 1;
            c.satisfied += 1;
        }
        Some("basic") => {
            c.rated += 1;
            c.basic += 1;
        }
        Some("dissatisfied") => c.rated += 1,
        _ => {}
    }
    let l = usize::try_from(level.clamp(0, 3)).unwrap_or(0);
    c.by_max_level[l] += 1;
}

/// Writes a run, its scores and its company scores in one transaction (a provisional run
/// replaces the period's previous one).
#[allow(clippy::too_many_arguments)]
async fn write_run(
    db: &Db,
    actor: &Actor,
    period: &str,
    kind: &str,
    now: OffsetDateTime,
    settings: &RunSettings,
    rubric_ids: &[i64],
    projects: &[Project],
    scores: &[Scored],
    companies: &[CompanyScore],
    actions: Vec<Vec<Param>>,
    rated: i64,
    (inputs_sha, scores_sha): (&str, &str),
) -> Result<i64, AssessError> {
    let settings_json = serde_json::to_string(settings)?;
    let rubric_json = serde_json::to_string(rubric_ids)?;
    let inputs: HashMap<(i64, i64), &Project> = projects
        .iter()
        .map(|p| ((p.input.compound_id, p.input.company_id), p))
        .collect();
    // Build every statement before taking the writer; the run's id, known only inside the
    // transaction, goes into each row's first parameter.
    let mut score_rows = Vec::with_capacity(scores.len());
    for (s, streak) in scores {
        let p = inputs
            .get(&(s.compound_id, s.company_id))
            .ok_or_else(|| invalid("a score without its project", "得分缺少对应项目"))?;
        let status = if s.status == ScoreStatus::Rated {
            "rated"
        } else {
            "not_rated"
        };
        score_rows.push(vec![
            Param::I64(0),
            Param::I64(s.compound_id),
            Param::I64(s.company_id),
            Param::I64(p.rubric_id),
            Param::I64(p.community),
            Param::I64(s.street_code),
            Param::I64(s.district_code),
            Param::OptI64(s.households),
            Param::I64(s.tenure_days),
            Param::Text(status.to_owned()),
            Param::Text(s.reason()),
            Param::I64(s.coverage_bp),
            Param::OptI64(s.weighted),
            Param::I64(s.deducted),
            Param::OptI64(s.score),
            Param::OptI64(s.stars.map(i64::from)),
            Param::OptI64(s.rank_street.map(i64::from)),
            Param::I64(i64::from(s.pool_street)),
            Param::OptI64(s.rank_district.map(i64::from)),
            Param::I64(i64::from(s.pool_district)),
            Param::Bool(s.bottom),
            Param::I64(*streak),
            Param::Text(serde_json::to_string(&p.input)?),
            Param::Text(serde_json::to_string(&(&s.items, &s.deductions))?),
        ]);
    }
    let company_rows = companies.iter().map(|c| {
        vec![
            Param::I64(0),
            Param::I64(c.company_id),
            Param::I64(c.projects),
            Param::I64(c.rated),
            Param::I64(c.households),
            Param::OptI64(c.score),
            Param::OptI64(c.rank.map(i64::from)),
            Param::I64(i64::from(c.pool)),
        ]
    });
    let mut score_sqls = run_inserts(
        "INSERT INTO scores (run_id, compound_id, company_id, rubric_id, region_code, street_code, district_code, households, \
         tenure_days, status, reason, coverage, weighted, deducted, score, stars, rank_street, pool_street, rank_district, \
         pool_district, bottom, bottom_streak, inputs, items) VALUES ",
        score_rows,
        500,
    );
    let mut company_sqls = run_inserts(
        "INSERT INTO company_scores (run_id, company_id, projects, rated, households, score, rank, pool) VALUES ",
        company_rows.collect(),
        1000,
    );
    // A final run's actions are written with it: a close never stands without them.
    let mut action_sqls = run_inserts(
        "INSERT INTO assessment_actions (run_id, compound_id, company_id, streak, kind, state, detail, note, rectification_days, requirement) VALUES ",
        actions,
        500,
    );
    let id = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        {
            // A new run replaces the period's provisional one (the close too).
            sqlx::query("DELETE FROM scores WHERE run_id IN (SELECT id FROM assessment_runs WHERE period = $1 AND kind = 'provisional')")
                .bind(period).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM company_scores WHERE run_id IN (SELECT id FROM assessment_runs WHERE period = $1 AND kind = 'provisional')")
                .bind(period).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM assessment_runs WHERE period = $1 AND kind = 'provisional'").bind(period).execute(&mut *tx).await?;
        }
        let (id,): (i64,) = sqlx::query_as("INSERT INTO assessment_runs (period, kind, as_of, settings, rubric_ids, projects, rated, \
            inputs_sha256, scores_sha256, started_by, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id")
            .bind(period).bind(kind).bind(now).bind(&settings_json).bind(&rubric_json).bind(projects.len() as i64).bind(rated)
            .bind(inputs_sha).bind(scores_sha).bind(actor.user_id).bind(now).fetch_one(&mut *tx).await?;
        for (sql, slots) in score_sqls.iter_mut().chain(company_sqls.iter_mut()).chain(action_sqls.iter_mut()) {
            {
                for &k in slots.iter() {
                    sql.params[k] = Param::I64(id);
                }
                let text = sql.text_for(db);
                bind_params!(sqlx::query(AssertSqlSafe(text)), sql.params).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }.await)?;
    Ok(id)
}

/// Multi-row INSERTs of `per` rows each, with the parameter slot of each row's run id (its
/// first value), to be filled once the run's row exists.
fn run_inserts(head: &str, rows: Vec<Vec<Param>>, per: usize) -> Vec<(Sql, Vec<usize>)> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::new(head);
        let mut slots = Vec::with_capacity(per);
        for (i, row) in rows.by_ref().take(per).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            slots.push(sql.params.len());
            sql.values_row(row);
        }
        out.push((sql, slots));
    }
    out
}

/// At the close of a month: each bottom place's actions, by the rubric's action ladder, as
/// rows of `assessment_actions` (the run's id, unknown yet, in each row's first value), written
/// in the run's own transaction (`write_run`), and the number of bottom places. The public
/// notice is in force at once (listed on /rankings); the rest is set in motion by
/// [`crate::supervision::open_from_close`] once the run is written, and retried by the sweep
/// until it is: a credit deduction on the company's ledger (item `bottom_n`, the run as its
/// source, valid a year from the close, issued by whoever closed the period or, on a retry, by
/// the system), a rectification notice listing the items below the district mean, an
/// interview and an exit case waiting for a person.
fn plan_actions(
    rubrics: &[(i64, RegionCode, Date, Rubric)],
    projects: &[Project],
    scores: &[Scored],
) -> (Vec<Vec<Param>>, i64) {
    let by_id: HashMap<i64, &Rubric> = rubrics.iter().map(|(id, _, _, r)| (*id, r)).collect();
    let rubric_of: HashMap<(i64, i64), i64> = projects
        .iter()
        .map(|p| ((p.input.compound_id, p.input.company_id), p.rubric_id))
        .collect();
    let mut rows = Vec::new();
    let mut bottom = 0;
    let means = district_item_means(scores);
    for (s, streak) in scores.iter().filter(|(s, _)| s.bottom) {
        bottom += 1;
        let Some(rubric) = rubric_of
            .get(&(s.compound_id, s.company_id))
            .and_then(|id| by_id.get(id))
        else {
            continue;
        };
        let Some(action) = rubric.action_for(*streak) else {
            continue;
        };
        let mut kinds: Vec<(&str, String)> = Vec::new();
        if action.public_notice {
            kinds.push(("public_notice", String::new()));
        }
        if action.interview {
            kinds.push(("interview", String::new()));
        }
        if let Some(points) = action.credit {
            kinds.push(("credit", format_hundredths(points)));
        }
        if let Some(days) = action.rectification_days {
            kinds.push(("rectification", format!("{days} working days / {days} 个工作日")));
        }
        if action.exit {
            kinds.push(("exit", String::new()));
        }
        for (kind, detail) in kinds {
            let (state, note) = if kind == "public_notice" {
                (
                    "done",
                    "listed on the public rankings / 已在考核排名页公示".to_owned(),
                )
            } else {
                ("pending", String::new())
            };
            rows.push(vec![
                Param::I64(0),
                Param::I64(s.compound_id),
                Param::I64(s.company_id),
                Param::I64(*streak),
                Param::Text(kind.to_owned()),
                Param::Text(state.into()),
                Param::Text(detail),
                Param::Text(note),
                Param::OptI64(
                    (kind == "rectification")
                        .then_some(action.rectification_days)
                        .flatten()
                        .map(i64::from),
                ),
                Param::OptText((kind == "rectification").then(|| below_mean(rubric, s, &means))),
            ]);
        }
    }
    (rows, bottom)
}

/// The mean of each item's value over the rated projects of each district:
/// (district, item key) → (Σ values, count).
fn district_item_means(scores: &[Scored]) -> HashMap<(i64, &str), (i64, i64)> {
    let mut out: HashMap<(i64, &str), (i64, i64)> = HashMap::new();
    for (s, _) in scores.iter().filter(|(s, _)| s.status == ScoreStatus::Rated) {
        for item in &s.items {
            if let Some(v) = item.value {
                let e = out.entry((s.district_code, item.key.as_str())).or_default();
                e.0 = e.0.saturating_add(v);
                e.1 += 1;
            }
        }
    }
    out
}

/// A bottom place's rectification requirement: each item whose value is below its district's
/// mean, with both values ("owner satisfaction 62.10 (district mean 80.05)").
fn below_mean(rubric: &Rubric, s: &ProjectScore, means: &HashMap<(i64, &str), (i64, i64)>) -> String {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for item in &s.items {
        let (Some(v), Some(&(sum, n))) = (item.value, means.get(&(s.district_code, item.key.as_str())))
        else {
            continue;
        };
        let mean = i64::try_from(wuye_model::assessment::round_div(i128::from(sum), i128::from(n)))
            .unwrap_or(i64::MAX);
        if v < mean {
            let (name_zh, name_en) = rubric
                .items()
                .iter()
                .find(|i| i.key == item.key)
                .map_or((item.key.as_str(), item.key.as_str()), |i| {
                    (i.name_zh.as_str(), i.name_en.as_str())
                });
            let (v, mean) = (format_hundredths(v), format_hundredths(mean));
            zh.push(format!("{name_zh} {v}（区平均 {mean}）"));
            en.push(format!("{name_en} {v} (district mean {mean})"));
        }
    }
    if en.is_empty() {
        return "Rectify the service as a whole. / 请全面整改物业服务。".into();
    }
    format!(
        "Items below the district mean: {}. / 低于本区平均的项目：{}。",
        en.join("; "),
        zh.join("；")
    )
}

/// Recomputes a closed period from the inputs its final run stored, with its pinned rubrics
/// and settings, and compares.
async fn check(db: &Db, run_id: i64, period: Period) -> Result<RunReport, AssessError> {
    let (settings, rubric_ids, inputs_sha, scores_sha): (String, String, String, String) = db_read!(db, pool => sqlx::query_as(
        "SELECT settings, rubric_ids, inputs_sha256, scores_sha256 FROM assessment_runs WHERE id = $1").bind(run_id).fetch_one(pool).await)?;
    let settings: RunSettings = serde_json::from_str(&settings)?;
    let ids: Vec<i64> = serde_json::from_str(&rubric_ids)?;
    let mut rubrics = Vec::new();
    for id in ids {
        let (region, from, body): (i64, Date, String) = db_read!(db, pool => sqlx::query_as(
            "SELECT region_code, effective_from, body FROM rubrics WHERE id = $1").bind(id).fetch_one(pool).await)?;
        let code = RegionCode::from_i64(region).map_err(|e| AssessError::Invalid(e.to_string()))?;
        rubrics.push((id, code, from, serde_json::from_str::<Rubric>(&body)?));
    }
    let rows: Vec<(i64, i64, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT rubric_id, region_code, inputs FROM scores WHERE run_id = $1 ORDER BY compound_id, company_id").bind(run_id).fetch_all(pool).await)?;
    let mut projects = Vec::with_capacity(rows.len());
    for (rubric_id, community, input) in rows {
        projects.push(Project {
            rubric_id,
            community,
            input: serde_json::from_str(&input)?,
        });
    }
    let previous = previous_streaks(db, &period).await?;
    let (scores, companies) = compute(&rubrics, &period, &projects, &settings, &previous)?;
    let again_inputs = sha_json(&projects)?;
    let again_scores = sha_json(&(&scores, &companies))?;
    let rated = scores.iter().filter(|s| s.0.status == ScoreStatus::Rated).count() as i64;
    Ok(RunReport {
        run_id,
        period: period.to_string(),
        kind: "final".into(),
        projects: projects.len() as i64,
        rated,
        companies: companies.len() as i64,
        identical: Some(again_inputs == inputs_sha && again_scores == scores_sha),
        inputs_sha256: again_inputs,
        scores_sha256: again_scores,
        bottom: scores.iter().filter(|s| s.0.bottom).count() as i64,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading scores

/// A run as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub id: i64,
    pub period: String,
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub as_of: OffsetDateTime,
    pub projects: i64,
    pub rated: i64,
}

/// Who may see provisional runs (regulators); everyone sees final runs.
fn sees_provisional(actor: &Actor) -> bool {
    actor.require_regulator().is_ok()
}

/// The runs the caller may see, newest first.
pub async fn runs(db: &Db, actor: &Actor) -> Result<Vec<RunView>, AssessError> {
    let sql = if sees_provisional(actor) {
        "SELECT id, period, kind, as_of, projects, rated FROM assessment_runs ORDER BY id DESC LIMIT 200"
    } else {
        "SELECT id, period, kind, as_of, projects, rated FROM assessment_runs WHERE kind = 'final' ORDER BY id DESC LIMIT 200"
    };
    let rows: Vec<(i64, String, String, OffsetDateTime, i64, i64)> =
        db_read!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| RunView {
            id: r.0,
            period: r.1,
            kind: r.2,
            as_of: r.3,
            projects: r.4,
            rated: r.5,
        })
        .collect())
}

/// The run a caller may read: a final run, or a provisional one for regulators.
pub async fn visible_run(db: &Db, actor: &Actor, run_id: i64) -> Result<RunView, AssessError> {
    let row: Option<(i64, String, String, OffsetDateTime, i64, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT id, period, kind, as_of, projects, rated FROM assessment_runs WHERE id = $1").bind(run_id).fetch_optional(pool).await)?;
    match row {
        Some(r) if r.2 == "final" || sees_provisional(actor) => Ok(RunView {
            id: r.0,
            period: r.1,
            kind: r.2,
            as_of: r.3,
            projects: r.4,
            rated: r.5,
        }),
        _ => Err(Denied::Hidden.into()),
    }
}

/// The final run of a period, if it is closed.
pub async fn final_run(db: &Db, period: &Period) -> Result<Option<i64>, AssessError> {
    let row: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM assessment_runs WHERE period = $1 AND kind = 'final'")
        .bind(period.to_string()).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

/// One line of a ranking.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct RankedProject {
    pub compound_id: i64,
    pub compound_code: String,
    pub compound_name: String,
    pub company_id: i64,
    pub company_name: String,
    pub region_code: i64,
    pub street_code: i64,
    pub district_code: i64,
    pub district_name: String,
    pub status: String,
    pub reason: String,
    /// Hundredths of a point.
    pub score: Option<i64>,
    pub stars: Option<i64>,
    pub coverage_bp: i64,
    pub rank_street: Option<i64>,
    pub pool_street: i64,
    pub rank_district: Option<i64>,
    pub pool_district: i64,
    pub bottom: bool,
    pub bottom_streak: i64,
}

/// A run's projects in a region (a district or a street; default all), best first, not-rated
/// ones last. The caller must be allowed to see the run ([`visible_run`]).
pub async fn ranking(
    db: &Db,
    run_id: i64,
    region: Option<RegionCode>,
) -> Result<Vec<RankedProject>, AssessError> {
    ranking_where(db, run_id, region, None).await
}

async fn ranking_where(
    db: &Db,
    run_id: i64,
    region: Option<RegionCode>,
    only: Option<(i64, i64)>,
) -> Result<Vec<RankedProject>, AssessError> {
    let mut sql = Sql::new(
        "SELECT s.compound_id, c.code AS compound_code, c.name AS compound_name, s.company_id, co.name AS company_name, s.region_code, \
         s.street_code, s.district_code, coalesce(d.name, '') AS district_name, s.status, s.reason, s.score, s.stars, s.coverage AS coverage_bp, s.rank_street, s.pool_street, \
         s.rank_district, s.pool_district, s.bottom, s.bottom_streak \
         FROM scores s JOIN compounds c ON c.id = s.compound_id JOIN companies co ON co.id = s.company_id \
         LEFT JOIN regions d ON d.code = s.district_code WHERE s.run_id = ",
    );
    sql.bind_i64(run_id);
    if let Some(r) = region {
        let range = r.subtree();
        sql.push(" AND s.region_code BETWEEN ");
        sql.bind_i64(*range.start());
        sql.push(" AND ");
        sql.bind_i64(*range.end());
    }
    if let Some((compound, company)) = only {
        sql.push(" AND s.compound_id = ");
        sql.bind_i64(compound);
        sql.push(" AND s.company_id = ");
        sql.bind_i64(company);
    }
    sql.push(" ORDER BY s.district_code, CASE WHEN s.score IS NULL THEN 1 ELSE 0 END, s.score DESC, c.code");
    Ok(
        db_read!(db, pool => bind_params!(sqlx::query_as::<_, RankedProject>(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?,
    )
}

/// A score with everything behind it (docs/assessment.md §8: public for final runs).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explanation {
    pub run: RunView,
    pub project: RankedProject,
    pub rubric_id: i64,
    pub households: Option<i64>,
    pub tenure_days: i64,
    /// Hundredths.
    pub weighted: Option<i64>,
    pub deducted: i64,
    /// The inputs as counted (no rater is named: owners' ratings are counts per level).
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// Every item (key, source, weight, n, num, den, prior, k, value, reason) and deduction.
    #[schema(value_type = Object)]
    pub items: serde_json::Value,
    /// The orders filed in the period that fed the work-order items (ids), for those who may
    /// read them (regulators and the company).
    pub order_ids: Vec<i64>,
    /// The names of the rubric's items and deduction rows, by key: `(key, zh, en)`.
    pub names: Vec<(String, String, String)>,
}

/// Explains one project's score in a run.
pub async fn explain(
    db: &Db,
    actor: &Actor,
    run_id: i64,
    compound_id: i64,
    company_id: i64,
) -> Result<Explanation, AssessError> {
    let run = visible_run(db, actor, run_id).await?;
    let project = ranking_one(db, run_id, compound_id, company_id).await?;
    let (rubric_id, households, tenure_days, weighted, deducted, inputs, items): (
        i64,
        Option<i64>,
        i64,
        Option<i64>,
        i64,
        String,
        String,
    ) = db_read!(db, pool => sqlx::query_as("SELECT rubric_id, households, tenure_days, weighted, deducted, inputs, items FROM scores \
            WHERE run_id = $1 AND compound_id = $2 AND company_id = $3").bind(run_id).bind(compound_id).bind(company_id).fetch_one(pool).await)?;
    let records = match (&actor.scope, actor.require_regulator().is_ok()) {
        (_, true) => true,
        (Scope::Company { company_id: mine }, _) => *mine == company_id,
        (Scope::All, _) => true,
        _ => false,
    };
    let order_ids = if records {
        let period = Period::parse(&run.period).map_err(|e| AssessError::Invalid(e.to_string()))?;
        let mut sql = Sql::new("SELECT id FROM work_orders WHERE compound_id = ");
        sql.bind_i64(compound_id);
        sql.push(" AND created_at >= ");
        sql.bind(Param::Ts(period.start_instant()));
        sql.push(" AND created_at < ");
        sql.bind(Param::Ts(period.end_instant()));
        sql.push(" AND state NOT IN ('merged', 'declined', 'cancelled') ORDER BY id LIMIT 1000");
        let ids: Vec<(i64,)> = db_read!(db, pool => bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
        ids.into_iter().map(|r| r.0).collect()
    } else {
        Vec::new()
    };
    let (body,): (String,) = db_read!(db, pool => sqlx::query_as("SELECT body FROM rubrics WHERE id = $1").bind(rubric_id).fetch_one(pool).await)?;
    let rubric: Rubric = serde_json::from_str(&body)?;
    let names = rubric
        .items()
        .iter()
        .map(|i| (i.key.clone(), i.name_zh.clone(), i.name_en.clone()))
        .chain(
            rubric
                .deductions()
                .iter()
                .map(|d| (d.key.clone(), d.name_zh.clone(), d.name_en.clone())),
        )
        .collect();
    Ok(Explanation {
        names,
        run,
        project,
        rubric_id,
        households,
        tenure_days,
        weighted,
        deducted,
        inputs: serde_json::from_str(&inputs)?,
        items: serde_json::from_str(&items)?,
        order_ids,
    })
}

async fn ranking_one(
    db: &Db,
    run_id: i64,
    compound_id: i64,
    company_id: i64,
) -> Result<RankedProject, AssessError> {
    ranking_where(db, run_id, None, Some((compound_id, company_id)))
        .await?
        .into_iter()
        .next()
        .ok_or(AssessError::Denied(Denied::Hidden))
}

/// A run's company scores, best first.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct CompanyRank {
    pub company_id: i64,
    pub company_name: String,
    pub projects: i64,
    pub rated: i64,
    pub households: i64,
    pub score: Option<i64>,
    pub rank: Option<i64>,
    pub pool: i64,
}

pub async fn company_ranking(db: &Db, run_id: i64) -> Result<Vec<CompanyRank>, AssessError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT cs.company_id, co.name AS company_name, cs.projects, cs.rated, cs.households, cs.score, cs.rank, cs.pool FROM company_scores cs \
         JOIN companies co ON co.id = cs.company_id WHERE cs.run_id = $1 ORDER BY CASE WHEN cs.score IS NULL THEN 1 ELSE 0 END, cs.score DESC, co.name")
        .bind(run_id).fetch_all(pool).await)?)
}

/// A run's ranking as sheets: one row per project with every item's score (the columns of
/// its rubric), and one row per company. The caller must be allowed to see the run.
pub async fn ranking_sheets(db: &Db, run: &RunView) -> Result<Vec<crate::io::Sheet>, AssessError> {
    let rows = ranking(db, run.id, None).await?;
    let stored: Vec<(i64, i64, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT compound_id, company_id, items FROM scores WHERE run_id = $1").bind(run.id).fetch_all(pool).await)?;
    // Per project, its items' values by key.
    type Values = Vec<(String, Option<i64>)>;
    let mut items: HashMap<(i64, i64), Values> = HashMap::with_capacity(stored.len());
    let mut keys: Vec<String> = Vec::new();
    for (compound, company, json) in stored {
        let (list, _): (Vec<wuye_model::assessment::ItemScore>, serde_json::Value) =
            serde_json::from_str(&json)?;
        for it in &list {
            if !keys.contains(&it.key) {
                keys.push(it.key.clone());
            }
        }
        items.insert(
            (compound, company),
            list.into_iter().map(|i| (i.key, i.value)).collect(),
        );
    }
    let points = |h: Option<i64>| h.map(format_hundredths).unwrap_or_default();
    let rank = |r: Option<i64>, pool: i64| r.map(|r| format!("{r}/{pool}")).unwrap_or_default();
    let mut headers: Vec<String> = [
        "区县(district)",
        "街道(street)",
        "社区(community)",
        "小区编码(compound_code)",
        "小区(compound)",
        "物业企业(company)",
        "状态(status)",
        "得分(score)",
        "星级(stars)",
        "区县名次(district_rank)",
        "街道名次(street_rank)",
        "末位(bottom)",
        "连续末位(streak)",
        "覆盖率%(coverage)",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    headers.extend(keys.iter().cloned());
    headers.push("说明(reason)".into());
    let projects = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.district_name.clone(),
                r.street_code.to_string(),
                r.region_code.to_string(),
                r.compound_code.clone(),
                r.compound_name.clone(),
                r.company_name.clone(),
                r.status.clone(),
                points(r.score),
                r.stars.map(|s| s.to_string()).unwrap_or_default(),
                rank(r.rank_district, r.pool_district),
                rank(r.rank_street, r.pool_street),
                if r.bottom { "是" } else { "" }.to_owned(),
                r.bottom_streak.to_string(),
                points(Some(r.coverage_bp)),
            ];
            let mine = items.get(&(r.compound_id, r.company_id));
            for k in &keys {
                let v = mine
                    .and_then(|list| list.iter().find(|(key, _)| key == k))
                    .and_then(|(_, v)| *v);
                row.push(v.map_or_else(|| "无数据".to_owned(), |v| points(Some(v))));
            }
            row.push(r.reason.clone());
            row
        })
        .collect();
    let companies = company_ranking(db, run.id)
        .await?
        .into_iter()
        .map(|c| {
            vec![
                c.rank.map(|r| format!("{r}/{}", c.pool)).unwrap_or_default(),
                c.company_name,
                c.rated.to_string(),
                c.projects.to_string(),
                c.households.to_string(),
                points(c.score),
            ]
        })
        .collect();
    Ok(vec![
        crate::io::Sheet {
            name: format!("项目 {}", run.period),
            headers,
            rows: projects,
        },
        crate::io::Sheet {
            name: format!("企业 {}", run.period),
            headers: [
                "名次(rank)",
                "企业(company)",
                "评定项目(rated)",
                "项目(projects)",
                "户数(households)",
                "得分(score)",
            ]
            .iter()
            .map(|h| (*h).to_owned())
            .collect(),
            rows: companies,
        },
    ])
}

// ---------------------------------------------------------------------------------------------
// Deductions

/// A regulator's deduction from a project (the rubric's `manual` source).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewDeduction {
    pub compound_id: i64,
    pub company_id: i64,
    #[schema(value_type = String)]
    pub dated_on: Date,
    /// Points, up to two decimals ("2.50").
    pub points: String,
    pub reason: String,
}

/// Records a deduction: city, district and street regulators over the compound.
pub async fn deduct(
    db: &Db,
    actor: &Actor,
    d: &NewDeduction,
    now: OffsetDateTime,
) -> Result<i64, AssessError> {
    let reach = actor.require_regulator()?;
    if actor.role == Some(Role::CommunityOfficer) {
        return Err(Denied::Role.into());
    }
    let row: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT region_code FROM compounds WHERE id = $1").bind(d.compound_id).fetch_optional(pool).await)?;
    let Some((community,)) = row else {
        return Err(Denied::Hidden.into());
    };
    let code = RegionCode::from_i64(community).map_err(|_| AssessError::Denied(Denied::Hidden))?;
    if reach.is_some_and(|r| !r.contains(code)) {
        return Err(Denied::Hidden.into());
    }
    let points = parse_points(&d.points)
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid("points from 0.01 to 100", "扣分须为 0.01 至 100 分"))?;
    let reason = d.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(invalid(
            "give the reason (1 to 1,000 characters)",
            "请填写扣分理由（1 至 1000 字）",
        ));
    }
    let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM contracts WHERE compound_id = $1 AND company_id = $2")
        .bind(d.compound_id).bind(d.company_id).fetch_one(pool).await)?;
    if n == 0 {
        return Err(invalid(
            "the company never managed this compound",
            "该企业未在此小区提供服务",
        ));
    }
    let now = crate::clock::db_time(now);
    let (id,): (i64,) = db_run!(db, pool => sqlx::query_as("INSERT INTO assessment_deductions (compound_id, company_id, dated_on, points, reason, \
        issued_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(d.compound_id).bind(d.company_id).bind(d.dated_on).bind(points).bind(reason).bind(actor.user_id).bind(now).fetch_one(pool).await)?;
    auth::audit(db, actor, "assessment.deduct", "assessment_deduction", &id.to_string(), None,
        Some(serde_json::json!({ "compound": d.compound_id, "company": d.company_id, "points": points, "reason": reason })), now).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_to_hundredths() {
        assert_eq!(parse_points("85"), Some(8500));
        assert_eq!(parse_points("85.5"), Some(8550));
        assert_eq!(parse_points(" 0.01 "), Some(1));
        assert_eq!(parse_points("100"), Some(10_000));
        assert_eq!(parse_points("100.01"), None);
        assert_eq!(parse_points("-1"), None);
        assert_eq!(parse_points("85.555"), None);
        assert_eq!(parse_points("八十"), None);
        assert_eq!(parse_points(""), None);
    }

    #[test]
    fn overlap_counts_inclusive_days() {
        let p = Period::parse("2026-10").unwrap();
        let d = |m: time::Month, day: u8| Date::from_calendar_date(2026, m, day).unwrap();
        assert_eq!(
            overlap_days(&p, d(time::Month::January, 1), d(time::Month::December, 31)),
            31
        );
        assert_eq!(
            overlap_days(&p, d(time::Month::October, 16), d(time::Month::December, 31)),
            16
        );
        assert_eq!(
            overlap_days(&p, d(time::Month::November, 1), d(time::Month::December, 31)),
            0
        );
    }
}
