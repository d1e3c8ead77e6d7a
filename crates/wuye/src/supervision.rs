//! Supervision actions (issue 6; docs/assessment.md §5–§7): what a month's bottom places and
//! overdue rectification notices set in motion, and the two workflows behind them.
//!
//! - **Actions** (`assessment_actions`, planned at a month's close by
//!   `assessment::plan_actions` and written in the final run's transaction): `public_notice` is
//!   listed on the public rankings page at once; `credit` is issued to the ledger at once
//!   (retried by the sweep until it is); `rectification` issues a notice at once
//!   ([`crate::inspections::issue_for_action`]); `interview` opens an [`Interview`] and `exit`
//!   an [`ExitCase`], each waiting for a person. [`open_from_close`] is that one path.
//! - **Interviews (约谈)**: opened by an action, by a notice reaching supervision level 2, or
//!   by hand; held by the district (the holding authority or above records them) with date,
//!   place, attendees, minutes and a file of the minutes; or cancelled with a reason.
//! - **Exit cases (清退, R5.5)**: `proposed` → a district or city regulator decides `proceed`
//!   or `no_action` (which closes it) → `voting`: a decision of the compound on the matter
//!   `select_or_dismiss_company` is linked → `closed` by that decision's published result,
//!   `dismissed` when its first question passed, else `retained`. Nobody but the owners'
//!   vote dismisses a company; the case never changes a contract by itself.
//!
//! Who reads what: regulators whatever lies in their jurisdiction, a company its own, a
//! committee its compound's; the rest nothing (404 outside one's scope). Errors are the
//! inspections' ([`InspectionError`]): the same four outcomes.
//!
//! **Architecture invariant:** an action's follow-up is created exactly once: interviews and
//! exit cases are unique per action (`action_id UNIQUE`), a notice per escalated
//! rectification (`rectification_id UNIQUE`), and at most one exit case per compound and
//! company is open at a time (a partial unique index).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use wuye_model::{RegionCode, RegionLevel};

use crate::auth::{self, Actor, Denied};
use crate::clock::{china_date, db_time};
use crate::db::{Db, DbError};
use crate::files::{FileStore, StoredFile};
use crate::inspections::{InspectionError, invalid, opt_text, push_scope, refused, text};
use crate::settings::Settings;
use crate::sql::Sql;
use crate::{bind_params, db_read, db_run};

type Result<T, E = InspectionError> = std::result::Result<T, E>;

/// The district over a compound's community (the authority that holds interviews, decides
/// exit cases and issues a bottom place's notice).
pub(crate) fn district_of(community: i64) -> i64 {
    RegionCode::from_i64(community).map_or(community, |c| c.at_level(RegionLevel::District).as_i64())
}

/// A regulator whose jurisdiction contains `region` (or the shell). Regulators below it (a
/// street under the holding district) and other roles are refused.
fn require_authority_over(actor: &Actor, region: i64) -> Result<()> {
    match actor.require_regulator()? {
        None => Ok(()),
        Some(code) if code.subtree().contains(&region) => Ok(()),
        Some(_) => Err(InspectionError::Forbidden(
            "only the holding authority or one above it may do this / 仅主办机关或其上级可办理".into(),
        )),
    }
}

/// The zh and en labels of an action kind.
pub fn action_label(kind: &str) -> (&str, &str) {
    match kind {
        "public_notice" => ("公示", "public notice"),
        "interview" => ("约谈", "interview"),
        "credit" => ("信用扣分", "credit deduction"),
        "rectification" => ("限期整改", "rectification"),
        "exit" => ("清退程序", "exit procedure"),
        k => (k, k),
    }
}

/// The zh and en labels of a state of an action, interview or exit case, or an outcome.
pub fn state_label(state: &str) -> (&str, &str) {
    match state {
        "pending" => ("待办理", "pending"),
        "done" => ("已办理", "done"),
        "cancelled" => ("已取消", "cancelled"),
        "held" => ("已约谈", "held"),
        "proposed" => ("待决定", "proposed"),
        "decided" => ("决定启动", "decided to proceed"),
        "voting" => ("业主表决中", "owners voting"),
        "closed" => ("已结案", "closed"),
        "dismissed" => ("业主决定解聘", "dismissed by the owners"),
        "retained" => ("业主未决定解聘", "retained"),
        "no_action" => ("决定不启动", "no action"),
        "proceed" => ("启动", "proceed"),
        s => (s, s),
    }
}

// ---------------------------------------------------------------------------------------------
// Actions

/// An action of a bottom place, with what it led to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Action {
    pub id: i64,
    pub run_id: i64,
    /// The month (`2026-10`).
    pub period: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub company_id: i64,
    pub company_name: String,
    /// Months running in the bottom places.
    pub streak: i64,
    /// public_notice, interview, credit, rectification or exit.
    pub kind: String,
    /// pending, done or cancelled.
    pub state: String,
    pub detail: String,
    pub note: String,
    pub interview_id: Option<i64>,
    pub exit_case_id: Option<i64>,
    pub rectification_id: Option<i64>,
    pub rectification_number: Option<String>,
}

const ACTION_SELECT: &str = "SELECT a.id, a.run_id, r.period, a.compound_id, c.name AS compound_name, a.company_id, co.name AS company_name, \
    a.streak, a.kind, a.state, a.detail, a.note, iv.id AS interview_id, x.id AS exit_case_id, n.id AS rectification_id, n.number AS rectification_number \
    FROM assessment_actions a JOIN assessment_runs r ON r.id = a.run_id JOIN compounds c ON c.id = a.compound_id \
    JOIN companies co ON co.id = a.company_id LEFT JOIN interviews iv ON iv.action_id = a.id \
    LEFT JOIN exit_cases x ON x.action_id = a.id LEFT JOIN rectifications n ON n.action_id = a.id WHERE 1 = 1";

/// Filters of the action list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ActionFilter {
    /// pending, done or cancelled.
    pub state: Option<String>,
    /// An action kind.
    pub kind: Option<String>,
    /// One run's.
    pub run_id: Option<i64>,
}

/// The actions the caller reads, newest run first, each project's together (at most 500).
pub async fn actions(db: &Db, actor: &Actor, f: &ActionFilter) -> Result<Vec<Action>> {
    let mut sql = Sql::new(ACTION_SELECT);
    push_scope(&mut sql, actor, "c.region_code", "a.compound_id", "a.company_id")?;
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND a.state = ").bind_text(s.to_owned());
    }
    if let Some(k) = f.kind.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND a.kind = ").bind_text(k.to_owned());
    }
    if let Some(r) = f.run_id {
        sql.push(" AND a.run_id = ").bind_i64(r);
    }
    sql.push(" ORDER BY a.run_id DESC, a.compound_id, a.company_id, a.id LIMIT 500");
    let text = sql.text_for(db);
    Ok(
        db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?,
    )
}

/// A bottom place as the public notice lists it: the project and what was done about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicNotice {
    pub compound_id: i64,
    pub compound_name: String,
    pub company_id: i64,
    pub company_name: String,
    pub streak: i64,
    /// The other actions taken (kinds), not cancelled.
    pub measures: Vec<String>,
}

/// The public notice of a final month's bottom places (no sign-in): its `public_notice`
/// actions not cancelled, each with the other measures taken.
pub async fn public_notices(db: &Db, run_id: i64) -> Result<Vec<PublicNotice>> {
    let rows: Vec<Action> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ACTION_SELECT} AND a.run_id = $1 AND r.kind = 'final' AND a.state <> 'cancelled' ORDER BY c.region_code, a.compound_id, a.company_id, a.id")))
        .bind(run_id).fetch_all(pool).await)?;
    let mut out: Vec<PublicNotice> = Vec::new();
    let mut measures: HashMap<(i64, i64), Vec<String>> = HashMap::new();
    for a in &rows {
        if a.kind != "public_notice" {
            measures
                .entry((a.compound_id, a.company_id))
                .or_default()
                .push(a.kind.clone());
        }
    }
    for a in rows.into_iter().filter(|a| a.kind == "public_notice") {
        out.push(PublicNotice {
            measures: measures
                .remove(&(a.compound_id, a.company_id))
                .unwrap_or_default(),
            compound_id: a.compound_id,
            compound_name: a.compound_name,
            company_id: a.company_id,
            company_name: a.company_name,
            streak: a.streak,
        });
    }
    Ok(out)
}

/// Withdraws a bottom place from the public notice (a mistaken listing), with a reason: a
/// regulator of the compound's district or above. Audited; the action stays, `cancelled`.
pub async fn cancel_public_notice(
    db: &Db,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Action> {
    let a = action(db, actor, id).await?;
    let region = community_of(db, a.compound_id).await?;
    require_authority_over(actor, district_of(region))?;
    if a.kind != "public_notice" || a.state == "cancelled" {
        return Err(refused(
            "only a public notice in force can be withdrawn here",
            "此处只能撤下有效的公示",
        ));
    }
    let reason = text("reason", reason, 500, "give the reason", "请填写理由")?;
    let now = db_time(now);
    db_run!(db, pool => sqlx::query("UPDATE assessment_actions SET state = 'cancelled', note = $2, done_by = $3, done_at = $4 WHERE id = $1 AND state <> 'cancelled'")
        .bind(id).bind(format!("withdrawn: {reason} / 撤下：{reason}")).bind(actor.user_id).bind(now).execute(pool).await.map(|_| ()))?;
    auth::audit(
        db,
        actor,
        "assessment_action.cancel",
        "assessment_action",
        &id.to_string(),
        None,
        Some(serde_json::json!({"reason": reason})),
        now,
    )
    .await?;
    action(db, actor, id).await
}

async fn action(db: &Db, actor: &Actor, id: i64) -> Result<Action> {
    let mut sql = Sql::new(ACTION_SELECT);
    sql.push(" AND a.id = ").bind_i64(id);
    push_scope(&mut sql, actor, "c.region_code", "a.compound_id", "a.company_id")?;
    let text = sql.text_for(db);
    let row: Option<Action> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_optional(pool).await)?;
    row.ok_or_else(|| Denied::Hidden.into())
}

/// What the close plans for a bottom place's rectification action.
#[derive(Debug, Clone)]
pub struct RectificationPlan {
    /// Working days to the deadline.
    pub days: u32,
    /// The notice's requirement: the items below the district mean.
    pub requirement: String,
}

/// Sets closed months' pending actions in motion (the one path from a close to its
/// follow-ups), those of one run or, with `None`, every one still without its follow-up (the
/// daily retry): each `credit` issues the deduction ([`bottom_credit`]), each `interview` opens
/// an interview, each `exit` an exit case (or notes the one already open), each
/// `rectification` issues the notice planned at the close. A step that fails is logged and
/// leaves its action pending, to be tried again.
pub async fn open_from_close(
    db: &Db,
    actor: &Actor,
    run_id: Option<i64>,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<()> {
    type Row = (
        i64,
        i64,
        OffsetDateTime,
        i64,
        i64,
        i64,
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
    );
    let mut sql = Sql::new(
        "SELECT a.id, a.run_id, r.finished_at, a.compound_id, a.company_id, a.streak, a.kind, r.period, a.detail, a.rectification_days, a.requirement \
         FROM assessment_actions a JOIN assessment_runs r ON r.id = a.run_id \
         WHERE a.state = 'pending' AND a.kind IN ('credit', 'interview', 'rectification', 'exit') \
         AND NOT EXISTS (SELECT 1 FROM interviews i WHERE i.action_id = a.id) \
         AND NOT EXISTS (SELECT 1 FROM exit_cases x WHERE x.action_id = a.id)",
    );
    if let Some(r) = run_id {
        sql.push(" AND a.run_id = ").bind_i64(r);
    }
    sql.push(" ORDER BY a.id LIMIT 5000");
    let text = sql.text_for(db);
    let pending: Vec<Row> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?;
    for (id, run, closed, compound, company, streak, kind, period, detail, days, requirement) in pending {
        let reason = format!(
            "bottom place in the assessment of {period} ({streak} running) / {period} 考核排名末位（连续 {streak} 次）"
        );
        let step: Result<(&str, String)> = match kind.as_str() {
            "credit" => bottom_credit(db, actor, (run, closed), compound, company, &detail, &reason, now)
                .await
                .map(|r| ("done", format!("credit record {r} / 信用记录 {r}"))),
            "interview" => {
                async {
                    let region = community_of(db, compound).await?;
                    let opening = Opening {
                        company_id: company,
                        compound_id: Some(compound),
                        region_code: district_of(region),
                        origin: "assessment",
                        action_id: Some(id),
                        rectification_id: None,
                        reason: reason.clone(),
                    };
                    let iv = open_interview(db, actor, opening, now).await?;
                    Ok(("pending", format!("interview {iv} opened / 已立约谈 {iv}")))
                }
                .await
            }
            "exit" => open_exit(db, actor, compound, company, "assessment", Some(id), &reason, now)
                .await
                .map(|x| match x {
                    Opened::New(x) => ("pending", format!("exit case {x} proposed / 已提出清退案 {x}")),
                    Opened::Existing(x) => (
                        "done",
                        format!("exit case {x} already open / 清退案 {x} 已在办理"),
                    ),
                }),
            _ => {
                let plan = RectificationPlan {
                    days: days
                        .and_then(|d| u32::try_from(d).ok())
                        .unwrap_or(settings.assessment.notice_days),
                    requirement: requirement.unwrap_or_default(),
                };
                // A notice issued by an earlier try whose note was not written is found, not
                // issued again (the company was told with it, in its transaction).
                async {
                    if let Some(number) = crate::inspections::notice_of_action(db, id).await? {
                        return Ok(number);
                    }
                    crate::inspections::issue_for_action(
                        db, actor, id, compound, company, &reason, &plan, settings, now,
                    )
                    .await
                }
                .await
                .map(|number| {
                    (
                        "done",
                        format!("notice {number} issued / 已下发整改通知 {number}"),
                    )
                })
            }
        };
        let (state, note) = match step {
            Ok(s) => s,
            Err(e) => {
                // The detail is for the log; the note, which the company reads, says what to expect.
                tracing::warn!(error = %e, action = id, kind = %kind, "bottom-place action not set in motion");
                (
                    "pending",
                    "not started yet; retried daily / 尚未启动，每日重试".to_owned(),
                )
            }
        };
        let done_at = (state == "done").then(|| db_time(now));
        let noted = db_run!(db, pool => sqlx::query("UPDATE assessment_actions SET state = $2, note = $3, done_at = $4, done_by = $5 WHERE id = $1 AND state = 'pending'")
            .bind(id).bind(state).bind(&note).bind(done_at).bind(done_at.and(actor.user_id)).execute(pool).await.map(|_| ()));
        // One action whose note cannot be written does not hold up the others.
        if let Err(e) = noted {
            tracing::warn!(error = %e, action = id, "bottom-place action's state not recorded");
        }
    }
    Ok(())
}

/// The credit deduction of a bottom place (item `bottom_n`, `points` from the ladder, the run
/// as its source, valid a year from the day the run `closed`, however late it is issued):
/// issued once per run and project, whoever tries and however often (a unique index,
/// migration 0021); a record already issued is found and returned.
#[allow(clippy::too_many_arguments)]
async fn bottom_credit(
    db: &Db,
    actor: &Actor,
    (run, closed): (i64, OffsetDateTime),
    compound: i64,
    company: i64,
    points: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    let reference = format!("run:{run}");
    let issued = || async {
        let r: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
            "SELECT id FROM credit_records WHERE source = 'bottom_n' AND source_ref = $1 AND company_id = $2 AND compound_id = $3 \
             AND replaces_record_id IS NULL")
            .bind(&reference).bind(company).bind(compound).fetch_optional(pool).await)?;
        Ok::<_, InspectionError>(r.map(|(id,)| id))
    };
    if let Some(id) = issued().await? {
        return Ok(id);
    }
    let new = crate::credit::NewRecord {
        company_id: company,
        compound_id: Some(compound),
        item_key: "bottom_n".into(),
        points: Some(points.to_owned()),
        reason: reason.to_owned(),
        valid_from: Some(china_date(closed)),
        valid_to: None,
    };
    let source = crate::credit::Source {
        kind: "bottom_n",
        reference: Some(reference.clone()),
    };
    // The record carries no uploaded evidence (the run is the evidence): the store is not written.
    let files = FileStore::new(db.clone(), crate::files::FileBackend::Database);
    match crate::credit::issue_from(db, &files, actor, &new, &source, &[], now).await {
        Ok(id) => Ok(id),
        // Issued meanwhile by another try.
        Err(crate::credit::CreditError::Db(e)) if e.is_unique_violation() => {
            issued().await?.ok_or_else(|| InspectionError::Db(e))
        }
        Err(e) => Err(InspectionError::Refused(e.to_string())),
    }
}

/// The daily work of this module, from the sweeper: retries the follow-ups of bottom places
/// that failed, and closes exit cases whose owners' vote was published meanwhile (a publish
/// that could not close them at once).
pub async fn sweep(db: &Db, settings: &Settings, now: OffsetDateTime) -> Result<()> {
    open_from_close(db, &Actor::system(), None, settings, now).await?;
    let voted: Vec<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT DISTINCT x.decision_id FROM exit_cases x JOIN decisions d ON d.id = x.decision_id \
         WHERE x.state = 'voting' AND d.state = 'published' ORDER BY x.decision_id")
        .fetch_all(pool).await)?;
    // One decision that cannot close its cases does not hold up the others (it is retried
    // next time).
    for (d,) in voted {
        if let Err(e) = on_decision_published(db, d, now).await {
            tracing::warn!(error = %e, decision = d, "exit cases not closed by the published result");
        }
    }
    Ok(())
}

/// The community code of a compound.
pub(crate) async fn community_of(db: &Db, compound: i64) -> Result<i64> {
    let (r,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT region_code FROM compounds WHERE id = $1")
        .bind(compound).fetch_one(pool).await)?;
    Ok(r)
}

/// Marks the action behind an interview or exit case done (or cancelled) with a note.
async fn settle_action(
    db: &Db,
    action_id: Option<i64>,
    state: &str,
    note: &str,
    by: Option<i64>,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let Some(id) = action_id else {
        return Ok(());
    };
    db_run!(db, pool => sqlx::query(SETTLE).bind(id).bind(state).bind(note).bind(by).bind(db_time(now)).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// [`settle_action`]'s statement. Binds: action id, state, note, by, time.
const SETTLE: &str = "UPDATE assessment_actions SET state = $2, note = $3, done_by = $4, done_at = $5 WHERE id = $1 AND state = 'pending'";

// ---------------------------------------------------------------------------------------------
// Interviews

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Interview {
    pub id: i64,
    pub company_id: i64,
    pub company_name: String,
    pub compound_id: Option<i64>,
    pub compound_name: Option<String>,
    /// The holding authority (a district).
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    /// assessment, rectification or manual.
    pub origin: String,
    pub action_id: Option<i64>,
    pub rectification_id: Option<i64>,
    pub rectification_number: Option<String>,
    pub reason: String,
    /// pending, held or cancelled.
    pub state: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub held_on: Option<Date>,
    pub place: String,
    pub attendees: String,
    pub minutes: String,
    /// The minutes' file, if one was added (downloaded at `/api/v1/interviews/{id}/minutes-file`).
    pub minutes_file_name: Option<String>,
    pub cancel_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
}

const INTERVIEW_SELECT: &str = "SELECT i.id, i.company_id, co.name AS company_name, i.compound_id, c.name AS compound_name, i.region_code, i.origin, \
    i.action_id, i.rectification_id, n.number AS rectification_number, i.reason, i.state, i.held_on, i.place, i.attendees, i.minutes, \
    i.minutes_file_name, i.cancel_reason, i.created_at, i.closed_at \
    FROM interviews i JOIN companies co ON co.id = i.company_id LEFT JOIN compounds c ON c.id = i.compound_id \
    LEFT JOIN rectifications n ON n.id = i.rectification_id WHERE 1 = 1";

/// Where an interview comes from.
pub(crate) struct Opening {
    pub company_id: i64,
    pub compound_id: Option<i64>,
    pub region_code: i64,
    pub origin: &'static str,
    pub action_id: Option<i64>,
    pub rectification_id: Option<i64>,
    pub reason: String,
}

/// Opens an interview (pending) and tells the company and the holding authority. Returns its id.
pub(crate) async fn open_interview(db: &Db, actor: &Actor, o: Opening, now: OffsetDateTime) -> Result<i64> {
    let at = db_time(now);
    let (id,): (i64,) = db_run!(db, pool => sqlx::query_as(
        "INSERT INTO interviews (company_id, compound_id, region_code, origin, action_id, rectification_id, reason, state, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) RETURNING id")
        .bind(o.company_id).bind(o.compound_id).bind(o.region_code).bind(o.origin).bind(o.action_id).bind(o.rectification_id)
        .bind(&o.reason).bind(actor.user_id).bind(at).fetch_one(pool).await)?;
    auth::audit(db, actor, "interview.open", "interview", &id.to_string(), None,
        Some(serde_json::json!({"company": o.company_id, "compound": o.compound_id, "origin": o.origin, "reason": o.reason})), at).await?;
    crate::notify::company(
        db,
        o.company_id,
        "interview",
        &format!("贵企业将被约谈（约谈 {id}）：{}", o.reason),
        &format!("Your company is to be interviewed (interview {id}): {}", o.reason),
        at,
    )
    .await?;
    crate::notify::region(
        db,
        o.region_code,
        "interview",
        &format!("待约谈：约谈 {id}，{}", o.reason),
        &format!("Interview {id} to hold: {}", o.reason),
        at,
    )
    .await?;
    Ok(id)
}

/// A regulator's own interview of a company (any regulator over the compound; without a
/// compound, a regulator over the company's registered region). Held by the actor's district
/// (or the actor's own region above it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewInterview {
    pub company_id: i64,
    #[serde(default)]
    pub compound_id: Option<i64>,
    pub reason: String,
}

pub async fn create_interview(
    db: &Db,
    actor: &Actor,
    new: &NewInterview,
    now: OffsetDateTime,
) -> Result<Interview> {
    let code = actor.require_regulator()?;
    let reason = text("reason", &new.reason, 1000, "give the reason", "请填写约谈事由")?;
    let region = match new.compound_id {
        Some(compound) => {
            let row: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
                "SELECT c.region_code FROM compounds c WHERE c.id = $1 AND EXISTS (SELECT 1 FROM contracts k WHERE k.compound_id = c.id AND k.company_id = $2 \
                 AND k.start_date <= $3 AND k.end_date >= $3)")
                .bind(compound).bind(new.company_id).bind(china_date(now)).fetch_optional(pool).await)?;
            match row {
                Some((r,)) if code.is_none_or(|c| c.subtree().contains(&r)) => r,
                _ => {
                    return Err(invalid(
                        "compound_id",
                        "the company has no contract in force at that compound in your jurisdiction",
                        "该企业在辖区内该小区没有有效服务合同",
                    ));
                }
            }
        }
        None => {
            let row: Option<(Option<i64>,)> = db_read!(db, pool => sqlx::query_as("SELECT region_code FROM companies WHERE id = $1")
                .bind(new.company_id).fetch_optional(pool).await)?;
            match row {
                Some((Some(r),)) if code.is_none_or(|c| c.subtree().contains(&r)) => r,
                _ => {
                    return Err(invalid(
                        "company_id",
                        "unknown company, or not registered in your jurisdiction",
                        "企业不存在或未在辖区内登记",
                    ));
                }
            }
        }
    };
    // The district holds it, or the actor's own region when it is above the district.
    let holding = match code {
        Some(c) if c.level() < RegionLevel::District => c.as_i64(),
        _ => district_of(region),
    };
    let id = open_interview(
        db,
        actor,
        Opening {
            company_id: new.company_id,
            compound_id: new.compound_id,
            region_code: holding,
            origin: "manual",
            action_id: None,
            rectification_id: None,
            reason,
        },
        now,
    )
    .await?;
    interview(db, actor, id).await
}

/// The interviews the caller reads, pending first, newest first (at most 500).
pub async fn interviews(db: &Db, actor: &Actor, state: Option<&str>) -> Result<Vec<Interview>> {
    let mut sql = Sql::new(INTERVIEW_SELECT);
    push_scope(
        &mut sql,
        actor,
        "COALESCE(c.region_code, i.region_code)",
        "i.compound_id",
        "i.company_id",
    )?;
    if let Some(s) = state.filter(|s| !s.is_empty()) {
        sql.push(" AND i.state = ").bind_text(s.to_owned());
    }
    sql.push(" ORDER BY CASE WHEN i.state = 'pending' THEN 0 ELSE 1 END, i.id DESC LIMIT 500");
    let text = sql.text_for(db);
    Ok(
        db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?,
    )
}

/// One interview, for whoever reads it (404 otherwise).
pub async fn interview(db: &Db, actor: &Actor, id: i64) -> Result<Interview> {
    let mut sql = Sql::new(INTERVIEW_SELECT);
    sql.push(" AND i.id = ").bind_i64(id);
    push_scope(
        &mut sql,
        actor,
        "COALESCE(c.region_code, i.region_code)",
        "i.compound_id",
        "i.company_id",
    )?;
    let text = sql.text_for(db);
    let row: Option<Interview> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_optional(pool).await)?;
    row.ok_or_else(|| Denied::Hidden.into())
}

/// The record of a held interview.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct InterviewRecord {
    /// The day it was held (China time; not in the future).
    #[schema(value_type = String, format = Date)]
    pub held_on: Date,
    #[serde(default)]
    pub place: String,
    /// Who attended, for the authority and for the company.
    pub attendees: String,
    /// What was said and what the company undertook.
    pub minutes: String,
}

/// Records a pending interview as held, with the file of its signed minutes if given (PDF or
/// image, checked by content): the holding authority or one above it. The action behind it is
/// done. The file is stored first, then the record, the file, the action, the company's
/// notification and the audit entry are written in one transaction: a bad file or a failure
/// saves nothing.
#[allow(clippy::too_many_arguments)]
pub async fn record_interview(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    id: i64,
    r: &InterviewRecord,
    minutes_file: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Interview> {
    let iv = interview(db, actor, id).await?;
    require_authority_over(actor, iv.region_code)?;
    if iv.state != "pending" {
        return Err(refused(
            "only a pending interview can be recorded",
            "只能记录待约谈的约谈",
        ));
    }
    if r.held_on > china_date(now) {
        return Err(invalid(
            "held_on",
            "the interview cannot be recorded before it is held",
            "约谈日期不能晚于今日",
        ));
    }
    let attendees = text(
        "attendees",
        &r.attendees,
        1000,
        "list who attended",
        "请填写参加人员",
    )?;
    let minutes = text(
        "minutes",
        &r.minutes,
        20_000,
        "write the minutes",
        "请填写约谈纪要",
    )?;
    let place = opt_text("place", Some(&r.place), 200)?;
    let file = minutes_file
        .map(|bytes| {
            crate::media::clean_document(bytes).map_err(|e| InspectionError::Invalid("file", e.to_string()))
        })
        .transpose()?;
    let at = db_time(now);
    let file_id = match &file {
        Some((ct, clean)) => Some(files.put(clean, ct, at).await?),
        None => None,
    };
    let file_name = file_id.as_ref().map(|_| "minutes");
    let settled = format!("interview held on {} / {} 已约谈", r.held_on, r.held_on);
    let audited = auth::AuditRow::new(
        actor,
        "interview.record",
        "interview",
        &id.to_string(),
        Some(serde_json::json!({"state": "pending"})),
        Some(
            serde_json::json!({"state": "held", "held_on": r.held_on.to_string(), "attendees": attendees, "minutes_file": file_id}),
        ),
        at,
    );
    let (tzh, ten) = (
        format!("约谈 {id} 已记录（{}）", r.held_on),
        format!("Interview {id} was recorded (held on {})", r.held_on),
    );
    let recorded = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query("UPDATE interviews SET state = 'held', held_on = $2, place = $3, attendees = $4, minutes = $5, closed_by = $6, closed_at = $7, \
            minutes_file_id = coalesce($8, minutes_file_id), minutes_file_name = coalesce($9, minutes_file_name) WHERE id = $1 AND state = 'pending'")
            .bind(id).bind(r.held_on).bind(&place).bind(&attendees).bind(&minutes).bind(actor.user_id).bind(at).bind(&file_id).bind(file_name)
            .execute(&mut *tx).await?.rows_affected();
        if n != 1 {
            return Ok(false);
        }
        if let Some(action) = iv.action_id {
            sqlx::query(SETTLE).bind(action).bind("done").bind(&settled).bind(actor.user_id).bind(at).execute(&mut *tx).await?;
        }
        sqlx::query(crate::notify::TO_COMPANY).bind(iv.company_id).bind("interview").bind(&tzh).bind(&ten).bind(at).bind(false)
            .execute(&mut *tx).await?;
        crate::bind_audit!(sqlx::query(auth::AuditRow::INSERT), audited).execute(&mut *tx).await?;
        tx.commit().await.map(|()| true)
    }.await)?;
    if !recorded {
        return Err(refused(
            "the interview was recorded or cancelled meanwhile",
            "该约谈已被他人记录或取消",
        ));
    }
    audited.logged();
    interview(db, actor, id).await
}

/// Cancels a pending interview with a reason (the holding authority or above); its action is
/// cancelled too.
pub async fn cancel_interview(
    db: &Db,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Interview> {
    let iv = interview(db, actor, id).await?;
    require_authority_over(actor, iv.region_code)?;
    if iv.state != "pending" {
        return Err(refused(
            "only a pending interview can be cancelled",
            "只能取消待约谈的约谈",
        ));
    }
    let reason = text("reason", reason, 500, "give the reason", "请填写理由")?;
    let at = db_time(now);
    let n = db_run!(db, pool => sqlx::query("UPDATE interviews SET state = 'cancelled', cancel_reason = $2, closed_by = $3, closed_at = $4 WHERE id = $1 AND state = 'pending'")
        .bind(id).bind(&reason).bind(actor.user_id).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(refused(
            "the interview was recorded or cancelled meanwhile",
            "该约谈已被他人记录或取消",
        ));
    }
    settle_action(
        db,
        iv.action_id,
        "cancelled",
        &format!("interview cancelled: {reason} / 约谈取消：{reason}"),
        actor.user_id,
        now,
    )
    .await?;
    auth::audit(
        db,
        actor,
        "interview.cancel",
        "interview",
        &id.to_string(),
        None,
        Some(serde_json::json!({"reason": reason})),
        at,
    )
    .await?;
    interview(db, actor, id).await
}

/// Attaches the file of the minutes (a PDF or an image; replaces an earlier one) while the
/// interview is not cancelled: the holding authority or above.
pub async fn add_minutes_file(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    id: i64,
    name: &str,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<Interview> {
    let iv = interview(db, actor, id).await?;
    require_authority_over(actor, iv.region_code)?;
    if iv.state == "cancelled" {
        return Err(refused("the interview was cancelled", "该约谈已取消"));
    }
    let (ct, clean) =
        crate::media::clean_document(bytes).map_err(|e| InspectionError::Invalid("file", e.to_string()))?;
    let name = match name.trim() {
        "" => "minutes".to_owned(),
        n if n.chars().count() > 200 => {
            return Err(invalid(
                "name",
                "a file name is at most 200 characters",
                "文件名不超过 200 字",
            ));
        }
        n => n.to_owned(),
    };
    let at = db_time(now);
    let file_id = files.put(&clean, ct, at).await?;
    db_run!(db, pool => sqlx::query("UPDATE interviews SET minutes_file_id = $2, minutes_file_name = $3 WHERE id = $1")
        .bind(id).bind(&file_id).bind(&name).execute(pool).await.map(|_| ()))?;
    auth::audit(
        db,
        actor,
        "interview.minutes_file",
        "interview",
        &id.to_string(),
        None,
        Some(serde_json::json!({"name": name, "file": file_id})),
        at,
    )
    .await?;
    interview(db, actor, id).await
}

/// The minutes' file, for whoever reads the interview.
pub async fn minutes_file(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    id: i64,
) -> Result<(String, StoredFile)> {
    let iv = interview(db, actor, id).await?;
    let (file_id,): (Option<String>,) = db_read!(db, pool => sqlx::query_as("SELECT minutes_file_id FROM interviews WHERE id = $1")
        .bind(id).fetch_one(pool).await)?;
    let Some(file_id) = file_id else {
        return Err(Denied::Hidden.into());
    };
    let f = files.get(&file_id).await?.ok_or(Denied::Hidden)?;
    Ok((iv.minutes_file_name.unwrap_or_else(|| "minutes".into()), f))
}

// ---------------------------------------------------------------------------------------------
// Exit cases

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ExitCase {
    pub id: i64,
    pub company_id: i64,
    pub company_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    /// The deciding authority (a district).
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    /// assessment or manual.
    pub origin: String,
    pub action_id: Option<i64>,
    pub reason: String,
    /// proposed, decided, voting or closed.
    pub state: String,
    /// proceed or no_action, once decided.
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    /// The owners' vote.
    pub decision_id: Option<i64>,
    pub decision_title: Option<String>,
    pub decision_state: Option<String>,
    /// dismissed, retained or no_action, once closed.
    pub outcome: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ExitEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: String,
    /// propose, decide, vote or close.
    pub action: String,
    pub to_state: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExitCaseDetail {
    #[serde(flatten)]
    pub case: ExitCase,
    pub events: Vec<ExitEvent>,
}

const EXIT_SELECT: &str = "SELECT x.id, x.company_id, co.name AS company_name, x.compound_id, c.name AS compound_name, x.region_code, x.origin, \
    x.action_id, x.reason, x.state, x.decision, x.decision_reason, x.decision_id, d.title AS decision_title, d.state AS decision_state, \
    x.outcome, x.created_at, x.closed_at \
    FROM exit_cases x JOIN companies co ON co.id = x.company_id JOIN compounds c ON c.id = x.compound_id \
    LEFT JOIN decisions d ON d.id = x.decision_id WHERE 1 = 1";

enum Opened {
    New(i64),
    Existing(i64),
}

async fn event(
    db: &Db,
    case: i64,
    actor: &Actor,
    action: &str,
    to: &str,
    note: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let who = if actor.user_id.is_some() {
        actor.login.clone()
    } else {
        "system".into()
    };
    db_run!(db, pool => sqlx::query(EVENT)
        .bind(case).bind(db_time(now)).bind(actor.user_id).bind(who).bind(action).bind(to).bind(note).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// [`event`]'s statement. Binds: case, time, user id, actor, action, state, note.
const EVENT: &str = "INSERT INTO exit_case_events (exit_case_id, at, actor_user_id, actor, action, to_state, note) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Proposes an exit case unless one is open for the compound and company.
#[allow(clippy::too_many_arguments)]
async fn open_exit(
    db: &Db,
    actor: &Actor,
    compound: i64,
    company: i64,
    origin: &str,
    action_id: Option<i64>,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Opened> {
    let existing: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT id FROM exit_cases WHERE compound_id = $1 AND company_id = $2 AND state <> 'closed'")
        .bind(compound).bind(company).fetch_optional(pool).await)?;
    if let Some((id,)) = existing {
        return Ok(Opened::Existing(id));
    }
    let district = district_of(community_of(db, compound).await?);
    let at = db_time(now);
    let inserted: Result<(i64,), sqlx::Error> = db_run!(db, pool => sqlx::query_as(
        "INSERT INTO exit_cases (company_id, compound_id, region_code, origin, action_id, reason, state, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'proposed', $7, $8) RETURNING id")
        .bind(company).bind(compound).bind(district).bind(origin).bind(action_id).bind(reason).bind(actor.user_id).bind(at)
        .fetch_one(pool).await);
    let id = match inserted {
        Ok((id,)) => id,
        Err(e) => {
            let e = DbError::from(e);
            if e.is_constraint() {
                // Opened by someone else meanwhile.
                let (id,): (i64,) = db_read!(db, pool => sqlx::query_as(
                    "SELECT id FROM exit_cases WHERE compound_id = $1 AND company_id = $2 AND state <> 'closed'")
                    .bind(compound).bind(company).fetch_one(pool).await)?;
                return Ok(Opened::Existing(id));
            }
            return Err(e.into());
        }
    };
    event(db, id, actor, "propose", "proposed", reason, now).await?;
    auth::audit(
        db,
        actor,
        "exit_case.propose",
        "exit_case",
        &id.to_string(),
        None,
        Some(
            serde_json::json!({"company": company, "compound": compound, "origin": origin, "reason": reason}),
        ),
        at,
    )
    .await?;
    crate::notify::region(
        db,
        district,
        "exit_case",
        &format!("清退案 {id} 待决定：{reason}"),
        &format!("Exit case {id} awaits a decision: {reason}"),
        at,
    )
    .await?;
    crate::notify::company(
        db,
        company,
        "exit_case",
        &format!("已对贵企业在该小区的服务提出清退程序（清退案 {id}）：{reason}"),
        &format!("An exit procedure was proposed for your company at a compound (exit case {id}): {reason}"),
        at,
    )
    .await?;
    Ok(Opened::New(id))
}

/// A regulator's own proposal of an exit case.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewExitCase {
    pub company_id: i64,
    pub compound_id: i64,
    pub reason: String,
}

/// Proposes an exit case by hand: a district or city regulator over the compound, for the
/// company holding a contract there. Refused while one is open for the two.
pub async fn propose_exit(
    db: &Db,
    actor: &Actor,
    new: &NewExitCase,
    now: OffsetDateTime,
) -> Result<ExitCaseDetail> {
    let code = actor.require_regulator()?;
    let reason = text("reason", &new.reason, 1000, "give the reason", "请填写理由")?;
    let row: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT c.region_code FROM compounds c WHERE c.id = $1 AND EXISTS (SELECT 1 FROM contracts k WHERE k.compound_id = c.id AND k.company_id = $2 \
         AND k.start_date <= $3 AND k.end_date >= $3)")
        .bind(new.compound_id).bind(new.company_id).bind(china_date(now)).fetch_optional(pool).await)?;
    let region = match row {
        Some((r,)) if code.is_none_or(|c| c.subtree().contains(&r)) => r,
        _ => {
            return Err(invalid(
                "compound_id",
                "the company has no contract in force at that compound in your jurisdiction",
                "该企业在辖区内该小区没有有效服务合同",
            ));
        }
    };
    require_authority_over(actor, district_of(region))?;
    match open_exit(
        db,
        actor,
        new.compound_id,
        new.company_id,
        "manual",
        None,
        &reason,
        now,
    )
    .await?
    {
        Opened::New(id) => exit_case(db, actor, id).await,
        Opened::Existing(id) => Err(refused(
            &format!("exit case {id} is already open for this compound and company"),
            &format!("该小区与企业已有办理中的清退案 {id}"),
        )),
    }
}

/// The exit cases the caller reads, open ones first (at most 500).
pub async fn exit_cases(db: &Db, actor: &Actor) -> Result<Vec<ExitCase>> {
    let mut sql = Sql::new(EXIT_SELECT);
    push_scope(&mut sql, actor, "c.region_code", "x.compound_id", "x.company_id")?;
    sql.push(" ORDER BY CASE WHEN x.state = 'closed' THEN 1 ELSE 0 END, x.id DESC LIMIT 500");
    let text = sql.text_for(db);
    Ok(
        db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_all(pool).await)?,
    )
}

/// One exit case with its timeline, for whoever reads it (404 otherwise).
pub async fn exit_case(db: &Db, actor: &Actor, id: i64) -> Result<ExitCaseDetail> {
    let mut sql = Sql::new(EXIT_SELECT);
    sql.push(" AND x.id = ").bind_i64(id);
    push_scope(&mut sql, actor, "c.region_code", "x.compound_id", "x.company_id")?;
    let text = sql.text_for(db);
    let case: Option<ExitCase> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(text)), sql.params).fetch_optional(pool).await)?;
    let case = case.ok_or(Denied::Hidden)?;
    let events = db_read!(db, pool => sqlx::query_as("SELECT at, actor, action, to_state, note FROM exit_case_events WHERE exit_case_id = $1 ORDER BY id")
        .bind(id).fetch_all(pool).await)?;
    Ok(ExitCaseDetail { case, events })
}

/// A regulator's decision on a proposed exit case.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ExitDecision {
    /// proceed (to the owners' vote) or no_action (closes the case).
    pub decision: String,
    pub reason: String,
}

/// Decides a proposed case: a regulator of its district or above, never the company.
/// `proceed` waits for the owners' vote; `no_action` closes the case.
pub async fn decide_exit(
    db: &Db,
    actor: &Actor,
    id: i64,
    d: &ExitDecision,
    now: OffsetDateTime,
) -> Result<ExitCaseDetail> {
    let x = exit_case(db, actor, id).await?.case;
    require_authority_over(actor, x.region_code)?;
    let (state, outcome) = match d.decision.as_str() {
        "proceed" => ("decided", None),
        "no_action" => ("closed", Some("no_action")),
        _ => {
            return Err(invalid(
                "decision",
                "the decision is proceed or no_action",
                "决定须为启动或不启动",
            ));
        }
    };
    if x.state != "proposed" {
        return Err(refused(
            "only a proposed case can be decided",
            "只能对待决定的清退案作出决定",
        ));
    }
    let reason = text("reason", &d.reason, 2000, "give the reason", "请填写决定理由")?;
    let at = db_time(now);
    let n = db_run!(db, pool => sqlx::query("UPDATE exit_cases SET state = $2, decision = $3, decision_reason = $4, decided_by = $5, decided_at = $6, \
        outcome = $7, closed_at = $8 WHERE id = $1 AND state = 'proposed'")
        .bind(id).bind(state).bind(&d.decision).bind(&reason).bind(actor.user_id).bind(at).bind(outcome).bind(outcome.map(|_| at))
        .execute(pool).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(refused("the case was decided meanwhile", "该清退案已被他人决定"));
    }
    event(
        db,
        id,
        actor,
        "decide",
        state,
        &format!("{}: {reason}", d.decision),
        now,
    )
    .await?;
    if outcome.is_some() {
        settle_action(
            db,
            x.action_id,
            "done",
            &format!("exit case {id}: no action / 清退案 {id} 决定不启动"),
            actor.user_id,
            now,
        )
        .await?;
    }
    auth::audit(
        db,
        actor,
        "exit_case.decide",
        "exit_case",
        &id.to_string(),
        Some(serde_json::json!({"state": "proposed"})),
        Some(serde_json::json!({"state": state, "decision": d.decision, "reason": reason})),
        at,
    )
    .await?;
    let (zh, en) = if outcome.is_some() {
        (
            format!("清退案 {id}：决定不启动清退程序。{reason}"),
            format!("Exit case {id}: no action. {reason}"),
        )
    } else {
        (
            format!("清退案 {id}：决定启动清退程序，将由业主依法表决是否解聘。{reason}"),
            format!("Exit case {id}: to proceed; the owners will vote on dismissal. {reason}"),
        )
    };
    crate::notify::company(db, x.company_id, "exit_case", &zh, &en, at).await?;
    exit_case(db, actor, id).await
}

/// The owners' vote of a case.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ExitVote {
    /// A decision of the case's compound on the matter `select_or_dismiss_company`, under
    /// notice or voting, not linked to another open case.
    pub decision_id: i64,
    /// The position of its dismissal proposal on the ballot (default: its first proposal).
    #[serde(default)]
    pub question: Option<i64>,
}

/// Links the owners' vote on dismissal to a case decided to proceed: whoever may organise the
/// compound's decisions (its committee, or a regulator over it). While the linked vote is still
/// under notice (not yet open), another may replace it. The case closes by that decision's
/// published result, read on its dismissal proposal.
pub async fn link_vote(
    db: &Db,
    actor: &Actor,
    id: i64,
    v: &ExitVote,
    now: OffsetDateTime,
) -> Result<ExitCaseDetail> {
    let x = exit_case(db, actor, id).await?.case;
    crate::decisions::require_organiser(db, actor, x.compound_id)
        .await
        .map_err(|e| match e {
            crate::decisions::DecisionError::Db(e) => InspectionError::Db(e),
            _ => InspectionError::Denied(Denied::Role),
        })?;
    let relink = x.state == "voting" && x.decision_state.as_deref() == Some("notice");
    if x.state != "decided" && !relink {
        return Err(refused(
            "a vote is linked once a regulator decided to proceed, and replaced only before it opens",
            "须先由监管部门决定启动方可关联业主表决；表决开始后不能更换",
        ));
    }
    let row: Option<(i64, String, String)> = db_read!(db, pool => sqlx::query_as("SELECT compound_id, matters, state FROM decisions WHERE id = $1")
        .bind(v.decision_id).fetch_optional(pool).await)?;
    match row {
        Some((compound, matters, state))
            if compound == x.compound_id
                && matters
                    .split(',')
                    .any(|m| m.trim() == "select_or_dismiss_company")
                && matches!(state.as_str(), "notice" | "voting") => {}
        _ => {
            return Err(invalid(
                "decision_id",
                "link a decision of this compound on selecting or dismissing the company, under notice or voting",
                "须关联本小区“选聘和解聘物业服务企业”事项、处于公告或投票阶段的表决",
            ));
        }
    }
    let taken: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT id FROM exit_cases WHERE decision_id = $1 AND state <> 'closed' AND id <> $2")
        .bind(v.decision_id).bind(id).fetch_optional(pool).await)?;
    if let Some((other,)) = taken {
        return Err(invalid(
            "decision_id",
            &format!("that vote is already linked to exit case {other}"),
            &format!("该表决已关联清退案 {other}"),
        ));
    }
    // The dismissal proposal: a yes/no question of the ballot.
    let proposals: Vec<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT position FROM decision_questions WHERE decision_id = $1 AND kind = 'proposal' ORDER BY position")
        .bind(v.decision_id).fetch_all(pool).await)?;
    let question = match v.question {
        None => proposals.first().map(|p| p.0),
        Some(q) => proposals.iter().find(|p| p.0 == q).map(|p| p.0),
    }
    .ok_or_else(|| {
        invalid(
            "question",
            "the dismissal must be a yes/no proposal on that ballot",
            "解聘须为该表决中的一项赞成/反对议题",
        )
    })?;
    let at = db_time(now);
    let mut sql = Sql::new("UPDATE exit_cases SET state = 'voting', decision_id = ");
    sql.bind_i64(v.decision_id)
        .push(", question_position = ")
        .bind_i64(question)
        .push(" WHERE id = ")
        .bind_i64(id)
        .push(" AND state = ")
        .bind_text(x.state.clone());
    // Two links at once: the second finds the case changed.
    match x.decision_id {
        Some(old) => sql.push(" AND decision_id = ").bind_i64(old),
        None => sql.push(" AND decision_id IS NULL"),
    };
    let text = sql.text_for(db);
    let n = db_run!(db, pool => bind_params!(sqlx::query(sqlx::AssertSqlSafe(text)), sql.params).execute(pool).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(refused("the case changed meanwhile", "该清退案已被他人更新"));
    }
    event(
        db,
        id,
        actor,
        "vote",
        "voting",
        &format!("decision {}, question {question}", v.decision_id),
        now,
    )
    .await?;
    auth::audit(
        db,
        actor,
        "exit_case.vote",
        "exit_case",
        &id.to_string(),
        None,
        Some(serde_json::json!({"decision": v.decision_id, "question": question})),
        at,
    )
    .await?;
    exit_case(db, actor, id).await
}

/// An exit case waiting on a vote: id, company, region, action, question position.
type VotingCase = (i64, i64, i64, Option<i64>, Option<i64>);

/// Closes the cases voting on `decision_id` once its result is published (called by
/// `decisions::publish`, and by [`sweep`] for any it missed): `dismissed` when the case's
/// dismissal proposal passed under the statutory rule, else `retained`. The action behind a
/// case is done; the company and the district are told.
pub async fn on_decision_published(db: &Db, decision_id: i64, now: OffsetDateTime) -> Result<()> {
    let result: Option<(String, Option<String>)> = db_read!(db, pool => sqlx::query_as(
        "SELECT state, result FROM decisions WHERE id = $1").bind(decision_id).fetch_optional(pool).await)?;
    let Some(("published", Some(result))) = result.as_ref().map(|(s, r)| (s.as_str(), r.clone())) else {
        return Ok(());
    };
    let result: serde_json::Value = serde_json::from_str(&result).unwrap_or_default();
    let cases: Vec<VotingCase> = db_read!(db, pool => sqlx::query_as(
        "SELECT id, company_id, region_code, action_id, question_position FROM exit_cases WHERE decision_id = $1 AND state = 'voting'")
        .bind(decision_id).fetch_all(pool).await)?;
    // Each case on its own: one that cannot be closed does not hold up the others; the first
    // failure is returned once all were tried.
    let mut failed = None;
    for case in cases {
        if let Err(e) = close_by_vote(db, decision_id, &result, case, now).await {
            tracing::warn!(error = %e, case = case.0, decision = decision_id, "exit case not closed by the vote");
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Closes one case voting on `decision_id` by its published `result` (see
/// [`on_decision_published`]).
async fn close_by_vote(
    db: &Db,
    decision_id: i64,
    result: &serde_json::Value,
    (id, company, region, action, question): VotingCase,
    now: OffsetDateTime,
) -> Result<()> {
    let at = db_time(now);
    // The result lists the ballot's columns in position order.
    let (index,): (i64,) = db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM decision_questions WHERE decision_id = $1 AND position < $2")
        .bind(decision_id).bind(question.unwrap_or(0)).fetch_one(pool).await)?;
    let passed = usize::try_from(index)
        .ok()
        .and_then(|i| result["questions"].get(i))
        .and_then(|q| q["statutory"]["outcome"].as_str())
        == Some("passed");
    let outcome = if passed { "dismissed" } else { "retained" };
    let (zh, en) = state_label(outcome);
    let (tzh, ten) = if passed {
        (
            format!("清退案 {id}：业主表决通过解聘，请依法办理合同终止与交接。"),
            format!(
                "Exit case {id}: the owners voted to dismiss the company; record the contract's end and the handover."
            ),
        )
    } else {
        (
            format!("清退案 {id}：业主表决未通过解聘，结案。"),
            format!("Exit case {id}: the owners did not vote to dismiss; closed."),
        )
    };
    let (note, settled) = (
        format!("decision {decision_id}: {en}"),
        format!("exit case {id}: {en} / 清退案 {id}：{zh}"),
    );
    // The case closes with its event, the action behind it and both notices, or not at all
    // (it is then retried by the sweep: none of it is lost half done).
    db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query("UPDATE exit_cases SET state = 'closed', outcome = $2, closed_at = $3 WHERE id = $1 AND state = 'voting'")
            .bind(id).bind(outcome).bind(at).execute(&mut *tx).await?.rows_affected();
        if n != 1 {
            return Ok(());
        }
        sqlx::query(EVENT).bind(id).bind(at).bind(None::<i64>).bind("system").bind("close").bind("closed").bind(&note)
            .execute(&mut *tx).await?;
        if let Some(action) = action {
            sqlx::query(SETTLE).bind(action).bind("done").bind(&settled).bind(None::<i64>).bind(at)
                .execute(&mut *tx).await?;
        }
        sqlx::query(crate::notify::TO_REGION).bind(region).bind("exit_case").bind(&tzh).bind(&ten).bind(at)
            .execute(&mut *tx).await?;
        sqlx::query(crate::notify::TO_COMPANY).bind(company).bind("exit_case").bind(&tzh).bind(&ten).bind(at).bind(false)
            .execute(&mut *tx).await?;
        tx.commit().await
    }.await)?;
    Ok(())
}

/// The decisions of a compound that a case may link (for the case page's choice).
pub async fn linkable_decisions(db: &Db, compound_id: i64) -> Result<Vec<(i64, String)>> {
    let rows: Vec<(i64, String, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT d.id, d.title, d.matters FROM decisions d WHERE d.compound_id = $1 AND d.state IN ('notice', 'voting') \
         AND NOT EXISTS (SELECT 1 FROM exit_cases x WHERE x.decision_id = d.id AND x.state <> 'closed') ORDER BY d.id DESC")
        .bind(compound_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, m)| m.split(',').any(|m| m.trim() == "select_or_dismiss_company"))
        .map(|(id, t, _)| (id, t))
        .collect())
}

/// Whether the actor may act for the authority `region` (for pages to show forms; the same
/// rule as the functions that act).
pub fn may_act_for(actor: &Actor, region: i64) -> bool {
    require_authority_over(actor, region).is_ok()
}
