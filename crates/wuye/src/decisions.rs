//! Owners' decisions (issue 5): a committee (or the street or community, for a compound
//! without one) gives notice of a decision, voting opens no earlier than the 16th day after
//! the notice (R2.3) and freezes the roll, verified owners vote online (the last ballot
//! counts), the committee enters paper ballots that a second person confirms, and the close
//! computes the statutory result by Civil Code Art. 278 (and, where the compound's rules have
//! a silent-owner clause, a second, labelled result beside it).
//!
//! **Architecture invariant:** the choices exist only in `ballot_events`, the SHA-256 chained
//! log (`wuye_model::BallotLog`); nothing reads them before the close except the log's own
//! replay on append. Turnout (who has voted, by area and headcount) comes from `ballots`,
//! which holds no choice. So no page, export or API call can show the split before the close.
//!
//! **Architecture invariant:** every append re-plays the stored log and checks its head, then
//! adds the next event under the primary key `(decision, seq)`: two ballots arriving at once
//! cannot both take the same place, and the loser retries on the new head.
//!
//! **Architecture invariant:** a ballot with a receipt is a ballot the close counted: events
//! are written only while the decision is `voting`, in a transaction holding its row, and the
//! close checks in its own transaction that nothing was stored after what it tallied.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use wuye_model::{
    AnswerSheet, Area, BallotLog, BallotMode, Choice, EventKind, Hash, LogHeader, Matter, Role, Roll,
    RollSettings, RoomEntry, RuleVersion, Sid, SubjectKey, Tally, ThresholdClass, Title,
};

use crate::auth::{Actor, Denied, Scope};
use crate::db::{Db, DbError};
use crate::registry::{Listing, Page};
use crate::sql::Sql;
use crate::{bind_params, db_read, db_run};

use crate::settings::DecisionDays;

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0}")]
    Invalid(String),
    /// Refused by the decision's state or calendar (409).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The file store failed (a server fault, not the caller's).
    #[error(transparent)]
    Files(#[from] crate::files::FileError),
}

impl From<sqlx::Error> for DecisionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

fn refused(en: &str, zh: &str) -> DecisionError {
    DecisionError::Refused(format!("{en} / {zh}"))
}

/// An election of `seats` among `candidates`: each candidate passes or fails on its own double
/// majority; the rules order those who pass (DOMAIN.md R1.5, `wuye_model::elect`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewElection {
    pub title: String,
    pub seats: u32,
    pub candidates: Vec<String>,
}

/// The selection of one firm among `bidders`: one pick per ballot (`wuye_model::select_firm`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewSelection {
    pub title: String,
    pub bidders: Vec<String>,
}

/// One column of a ballot: a proposal, or one candidate of an election, or one bidder of a
/// selection. Every column is answered yes / no / abstain, so the ballot log and its export
/// have one shape; the columns of an election or selection share an `item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BallotColumn {
    /// 1-based position on the ballot (the answer's index).
    pub position: usize,
    /// proposal, candidate or bidder.
    pub kind: String,
    /// 1-based item number: a proposal is an item of its own.
    pub item: usize,
    /// The election's or selection's title (empty for a proposal).
    pub item_title: String,
    /// Seats of an election (0 otherwise).
    pub seats: usize,
    /// The proposal's text, or the candidate's or bidder's name.
    pub text: String,
}

/// Most columns on one ballot.
pub const MAX_COLUMNS: usize = 40;

/// The ballot's columns from a new decision's questions, elections and selections, checked.
fn ballot_columns(
    new: &NewDecision,
    title: &str,
    matters: &[Matter],
) -> Result<Vec<BallotColumn>, DecisionError> {
    let clean = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty())
            .collect()
    };
    let mut questions = clean(&new.questions);
    if questions.is_empty() && new.elections.is_empty() && new.selections.is_empty() {
        questions.push(title.to_owned());
    }
    let mut cols = Vec::new();
    let mut item = 0;
    for q in questions {
        item += 1;
        cols.push(("proposal", item, String::new(), 0, q));
    }
    let mut group =
        |kind: &'static str, title: &str, seats: usize, names: Vec<String>| -> Result<(), DecisionError> {
            let title = title.trim();
            if title.is_empty() {
                return Err(invalid(
                    "give each election and selection a title",
                    "请填写选举或选聘的标题",
                ));
            }
            if names.is_empty() {
                return Err(DecisionError::Invalid(format!(
                    "{title}: name at least one / 「{title}」至少需要一名候选人或投标人"
                )));
            }
            let unique: std::collections::HashSet<&String> = names.iter().collect();
            if unique.len() != names.len() {
                return Err(DecisionError::Invalid(format!(
                    "{title}: a name appears twice / 「{title}」中有重复的名字"
                )));
            }
            item += 1;
            for n in names {
                cols.push((kind, item, title.to_owned(), seats, n));
            }
            Ok(())
        };
    if !new.elections.is_empty() && !matters.contains(&Matter::ElectCommittee) {
        return Err(invalid(
            "an election needs the matter elect_committee",
            "选举须以“选举业主委员会或者更换业主委员会成员”为表决事项",
        ));
    }
    if !new.selections.is_empty() && !matters.contains(&Matter::SelectOrDismissCompany) {
        return Err(invalid(
            "a firm selection needs the matter select_or_dismiss_company",
            "选聘须以“选聘和解聘物业服务企业或者其他管理人”为表决事项",
        ));
    }
    for e in &new.elections {
        if e.seats == 0 {
            return Err(DecisionError::Invalid(format!(
                "{}: at least one seat / 「{}」至少一个席位",
                e.title.trim(),
                e.title.trim()
            )));
        }
        group("candidate", &e.title, e.seats as usize, clean(&e.candidates))?;
    }
    for sel in &new.selections {
        group("bidder", &sel.title, 1, clean(&sel.bidders))?;
    }
    if cols.len() > MAX_COLUMNS {
        return Err(DecisionError::Invalid(format!(
            "at most {MAX_COLUMNS} questions, candidates and bidders on one ballot / 一张选票最多 {MAX_COLUMNS} 项"
        )));
    }
    Ok(cols
        .into_iter()
        .enumerate()
        .map(|(i, (kind, item, item_title, seats, text))| BallotColumn {
            position: i + 1,
            kind: kind.to_owned(),
            item,
            item_title,
            seats,
            text,
        })
        .collect())
}

fn invalid(en: &str, zh: &str) -> DecisionError {
    DecisionError::Invalid(format!("{en} / {zh}"))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewDecision {
    pub compound_id: i64,
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// Matter identifiers (DOMAIN.md §1.1); all of one threshold class.
    pub matters: Vec<String>,
    /// One line per question on the ballot (yes / no / abstain each); the title when empty
    /// and the ballot has no election or selection.
    #[serde(default)]
    pub questions: Vec<String>,
    /// Elections on the ballot (needs the matter `elect_committee`).
    #[serde(default)]
    pub elections: Vec<NewElection>,
    /// Selections of one firm among bidders (needs the matter `select_or_dismiss_company`).
    #[serde(default)]
    pub selections: Vec<NewSelection>,
    /// meeting (online meeting) or written (written solicitation).
    pub form: String,
    #[serde(default)]
    pub secret: bool,
    /// The compound's adopted rules count delivered-but-silent owners with the majority (§1.4).
    #[serde(default)]
    pub silent_clause: bool,
    /// The last day of voting (China time).
    #[schema(value_type = String, format = Date)]
    pub voting_closes: Date,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Decision {
    pub id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub title: String,
    pub body: String,
    pub matters: String,
    pub class: String,
    pub form: String,
    pub mode: String,
    pub silent_clause: bool,
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub notice_at: OffsetDateTime,
    #[schema(value_type = String, format = Date)]
    pub voting_opens: Date,
    #[schema(value_type = String, format = Date)]
    pub voting_closes: Date,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<OffsetDateTime>,
    /// The ballot log's head at the close: publish it, and anyone can check the export.
    pub head_hash: Option<String>,
    #[serde(skip)]
    pub salt: String,
    #[serde(skip)]
    pub result: Option<String>,
}

const DECISION_SELECT: &str = "SELECT d.id, d.compound_id, c.name AS compound_name, d.title, d.body, d.matters, d.class, d.form, d.mode, \
    d.silent_clause, d.state, d.notice_at, d.voting_opens, d.voting_closes, d.closed_at, d.published_at, d.head_hash, d.salt, d.result \
    FROM decisions d JOIN compounds c ON c.id = d.compound_id";

/// The predicate of which decisions an actor sees (alias `d`, `c`): regulators their
/// jurisdiction's, committees and companies their compound's, owners those of the compounds
/// where they hold a verified room.
fn push_scope(sql: &mut Sql, actor: &Actor) -> Result<(), Denied> {
    actor.require_signed_in()?;
    match &actor.scope {
        Scope::All => {}
        Scope::Region { code } => {
            let r = code.subtree();
            sql.push(" AND c.region_code BETWEEN ")
                .bind_i64(*r.start())
                .push(" AND ")
                .bind_i64(*r.end());
        }
        Scope::Compound { compound_id } => {
            sql.push(" AND d.compound_id = ").bind_i64(*compound_id);
        }
        Scope::Company { company_id } => {
            sql.push(" AND d.compound_id IN (SELECT ct.compound_id FROM contracts ct WHERE ct.company_id = ")
                .bind_i64(*company_id)
                .push(")");
        }
        Scope::Owner { user_id } => {
            sql.push(" AND d.compound_id IN (SELECT r.compound_id FROM user_owners uo JOIN room_owners ro ON ro.owner_id = uo.owner_id \
                JOIN rooms r ON r.id = ro.room_id WHERE uo.user_id = ")
                .bind_i64(*user_id)
                .push(")");
        }
        Scope::Public => return Err(Denied::SignIn),
    }
    Ok(())
}

pub async fn find(db: &Db, actor: &Actor, id: i64) -> Result<Decision, DecisionError> {
    let mut sql = Sql::new(DECISION_SELECT);
    sql.push(" WHERE d.id = ").bind_i64(id);
    push_scope(&mut sql, actor)?;
    let row: Option<Decision> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    row.ok_or(DecisionError::Denied(Denied::Hidden))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionFilter {
    #[serde(default, deserialize_with = "crate::registry::empty_as_none")]
    #[param(value_type = Option<i64>)]
    pub compound: Option<i64>,
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    f: &DecisionFilter,
    page: &Page,
) -> Result<Listing<Decision>, DecisionError> {
    let mut sql = Sql::new(DECISION_SELECT);
    sql.push(" WHERE 1 = 1");
    push_scope(&mut sql, actor)?;
    if let Some(c) = f.compound {
        sql.push(" AND d.compound_id = ").bind_i64(c);
    }
    sql.push(" ORDER BY d.id DESC").paginate(page);
    let rows: Vec<Decision> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    Ok(Listing::from_rows(rows, page, None))
}

/// Who may run a compound's decisions: its committee, or the street or community officers of
/// its jurisdiction (a compound without a committee, e.g. the first assembly).
/// The decision, for one of its organisers, when it is in `state`; else refused with the
/// message given (English, Chinese).
async fn organise(
    db: &Db,
    actor: &Actor,
    id: i64,
    state: &str,
    en: &str,
    zh: &str,
) -> Result<Decision, DecisionError> {
    let d = find(db, actor, id).await?;
    require_organiser(db, actor, d.compound_id).await?;
    if d.state != state {
        return Err(refused(en, zh));
    }
    Ok(d)
}

pub(crate) async fn require_organiser(db: &Db, actor: &Actor, compound_id: i64) -> Result<(), DecisionError> {
    let role = actor.require_signed_in()?;
    let ok = match (&actor.scope, role) {
        (Scope::Compound { compound_id: c }, Role::CommitteeMember) => *c == compound_id,
        (Scope::Region { .. } | Scope::All, r) if r.is_regulator() => {
            crate::registry::compound_in_scope(db, compound_id, &actor.scope).await?
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(Denied::Role.into()) }
}

fn china_day(t: OffsetDateTime) -> Date {
    t.to_offset(crate::clock::CST).date()
}

/// Gives notice of a decision. Voting may open from the 16th day after the notice (R2.3).
pub async fn create(
    db: &Db,
    actor: &Actor,
    new: &NewDecision,
    now: OffsetDateTime,
) -> Result<i64, DecisionError> {
    let now = crate::clock::db_time(now);
    require_organiser(db, actor, new.compound_id).await?;
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("a title of 1 to 200 characters", "标题须为 1 至 200 字"));
    }
    let mut matters = Vec::new();
    for m in &new.matters {
        matters.push(Matter::parse(m).map_err(|e| DecisionError::Invalid(e.to_string()))?);
    }
    let class = wuye_model::proposal_class(&matters, RuleVersion::CivilCode)
        .map_err(|e| DecisionError::Invalid(e.to_string()))?;
    let form = match new.form.as_str() {
        f @ ("meeting" | "written") => f,
        _ => {
            return Err(invalid(
                "form must be meeting or written",
                "会议形式应为 meeting 或 written",
            ));
        }
    };
    let columns = ballot_columns(new, title, &matters)?;
    let opens = wuye_model::earliest_voting_day(china_day(now))
        .ok_or_else(|| invalid("no voting day after this notice", "无法计算投票开始日"))?;
    if new.voting_closes < opens {
        return Err(DecisionError::Invalid(format!(
            "voting can open on {opens} at the earliest (15 full days after the notice, R2.3), so it cannot close on {} / 投票最早于 {opens} 开始（公告后满 15 日），截止日不能早于此日",
            new.voting_closes
        )));
    }
    let salt = crate::auth::random_token().map_err(|e| DecisionError::Invalid(e.to_string()))?;
    let matters_text = matters.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",");
    let mode = if new.secret { "secret" } else { "open" };
    let id: i64 = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let rows: Vec<(i64,)> = sqlx::query_as("INSERT INTO decisions (compound_id, title, body, matters, class, form, mode, silent_clause, state, \
            notice_at, voting_opens, voting_closes, salt, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'notice', $9, $10, $11, $12, $13, $9) RETURNING id")
            .bind(new.compound_id).bind(title).bind(new.body.trim()).bind(&matters_text).bind(class.as_str()).bind(form).bind(mode)
            .bind(new.silent_clause).bind(now).bind(opens).bind(new.voting_closes).bind(&salt).bind(actor.user_id)
            .fetch_all(&mut *tx).await?;
        let id = rows.first().map(|r| r.0).unwrap_or(0);
        for c in &columns {
            sqlx::query("INSERT INTO decision_questions (decision_id, position, text, kind, item, item_title, seats) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id).bind(c.position as i64).bind(&c.text).bind(&c.kind).bind(c.item as i64).bind(&c.item_title).bind(c.seats as i64)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }.await)?;
    crate::auth::audit(
        db,
        actor,
        "decision.notice",
        "decision",
        &id.to_string(),
        None,
        Some(
            serde_json::json!({ "title": title, "matters": matters_text, "voting_opens": opens.to_string() }),
        ),
        now,
    )
    .await?;
    // Every owner of the compound with an account hears of it (issue 5 §1).
    notify_owners(
        db,
        id,
        &format!("表决公告：{title}，{opens} 起可投票"),
        &format!("Notice of a vote: {title}; voting from {opens}"),
        now,
    )
    .await?;
    Ok(id)
}

async fn notify_owners(db: &Db, id: i64, zh: &str, en: &str, now: OffsetDateTime) -> Result<(), DbError> {
    let sql = "INSERT INTO notifications (user_id, kind, text_zh, text_en, created_at) \
        SELECT DISTINCT uo.user_id, 'decision', $2, $3, $4 FROM decisions d JOIN rooms r ON r.compound_id = d.compound_id \
        JOIN room_owners ro ON ro.room_id = r.id JOIN user_owners uo ON uo.owner_id = ro.owner_id WHERE d.id = $1";
    db_run!(db, pool => sqlx::query(sql).bind(id).bind(zh).bind(en).bind(crate::clock::db_time(now)).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// The ballot's columns in order.
pub async fn ballot(db: &Db, id: i64) -> Result<Vec<BallotColumn>, DecisionError> {
    let rows: Vec<(i64, String, String, i64, String, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT position, text, kind, item, item_title, seats FROM decision_questions WHERE decision_id = $1 ORDER BY position")
        .bind(id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(position, text, kind, item, item_title, seats)| BallotColumn {
            position: usize::try_from(position).unwrap_or(0),
            kind,
            item: usize::try_from(item).unwrap_or(0),
            item_title,
            seats: usize::try_from(seats).unwrap_or(0),
            text,
        })
        .collect())
}

/// Opens voting: the roll is frozen from the registry as it stands (every room with its area
/// and title-holders, grouped into voting subjects by DOMAIN.md §1.3), and each subject is
/// enrolled in the ballot log. Later registry edits do not change it.
pub async fn open(db: &Db, actor: &Actor, id: i64, now: OffsetDateTime) -> Result<(), DecisionError> {
    let now = crate::clock::db_time(now);
    let d = organise(db, actor, id, "notice", "voting has already opened", "投票已开始").await?;
    if china_day(now) < d.voting_opens {
        return Err(DecisionError::Refused(format!(
            "voting may open on {} at the earliest (R2.3) / 投票最早于 {} 开始",
            d.voting_opens, d.voting_opens
        )));
    }
    if china_day(now) > d.voting_closes {
        return Err(refused("the voting window has passed", "投票期已过"));
    }
    type RoomRow = (i64, i64, String, bool, Option<i64>, Option<String>);
    let rows: Vec<RoomRow> = db_read!(db, pool => sqlx::query_as(
        "SELECT r.id, r.exclusive_area, r.kind, r.developer_held, ro.owner_id, o.kind FROM rooms r \
         LEFT JOIN room_owners ro ON ro.room_id = r.id LEFT JOIN owners o ON o.id = ro.owner_id WHERE r.compound_id = $1 ORDER BY r.id")
        .bind(d.compound_id).fetch_all(pool).await)?;
    let mut rooms: Vec<RoomEntry> = Vec::new();
    let mut last: Option<i64> = None;
    for (room, area, kind, developer_held, owner, owner_kind) in rows {
        if last != Some(room) {
            rooms.push(RoomEntry {
                id: room.to_string(),
                area: Area::from_hundredths(area),
                parking: kind == "parking",
                title: if developer_held {
                    Title::Developer
                } else {
                    Title::Owners(Vec::new())
                },
            });
            last = Some(room);
        }
        if let (Some(entry), Some(owner)) = (rooms.last_mut(), owner)
            && let Title::Owners(ids) = &mut entry.title
        {
            if owner_kind.as_deref() == Some("developer") {
                entry.title = Title::Developer;
            } else {
                ids.push(owner.to_string());
            }
        }
    }
    // A room nobody holds title to is the developer's (unsold or undelivered).
    for r in &mut rooms {
        if matches!(&r.title, Title::Owners(ids) if ids.is_empty()) {
            r.title = Title::Developer;
        }
    }
    let settings = RollSettings {
        parking_counts: false,
    };
    let roll = Roll::build(&rooms, settings).map_err(|e| DecisionError::Invalid(e.to_string()))?;
    if roll.is_empty() {
        return Err(refused(
            "the compound has no rooms on the register",
            "该小区尚未登记房屋",
        ));
    }
    let salt = d.salt.as_bytes();
    let subjects: Vec<(String, Sid, Area)> = roll
        .subjects()
        .map(|s| {
            (
                s.key.to_owned(),
                wuye_model::subject_pseudonym(salt, &s.owned_key()),
                s.area,
            )
        })
        .collect();
    let at = crate::clock::db_time(now);
    db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query("UPDATE decisions SET state = 'voting', opened_at = $2 WHERE id = $1 AND state = 'notice'")
            .bind(id).bind(at).execute(&mut *tx).await?.rows_affected();
        if n == 1 {
            for chunk in subjects.chunks(500) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO roll_subjects (decision_id, subject_key, sid, area) ");
                q.push_values(chunk, |mut b, (key, sid, area)| {
                    b.push_bind(id).push_bind(key.clone()).push_bind(sid.to_string()).push_bind(area.hundredths());
                });
                q.build().execute(&mut *tx).await?;
            }
            for r in &rooms {
                let key = match &r.title {
                    Title::Developer => SubjectKey::DEVELOPER.to_owned(),
                    Title::Owners(ids) => SubjectKey::of_holders(ids).map(|k| k.as_str().to_owned()).unwrap_or_default(),
                };
                let counted = settings.parking_counts || !r.parking;
                sqlx::query("INSERT INTO roll_rooms (decision_id, room_id, subject_key, area, counted) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id).bind(r.id.parse::<i64>().unwrap_or(0)).bind(&key).bind(r.area.hundredths()).bind(counted)
                    .execute(&mut *tx).await?;
                if counted && let Title::Owners(ids) = &r.title {
                    for o in ids {
                        sqlx::query("INSERT INTO roll_voters (decision_id, owner_id, subject_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                            .bind(id).bind(o.parse::<i64>().unwrap_or(0)).bind(&key).execute(&mut *tx).await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    }.await)?;
    crate::auth::audit(
        db,
        actor,
        "decision.open",
        "decision",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "subjects": subjects.len(), "total_area": roll.total_area().to_string() })),
        now,
    )
    .await?;
    notify_owners(
        db,
        id,
        &format!("表决已开始：{}，截止 {}", d.title, d.voting_closes),
        &format!("Voting is open: {}; until {}", d.title, d.voting_closes),
        now,
    )
    .await?;
    Ok(())
}

mod log_store;
use log_store::{Keys, broken, read_enrolment, read_events};

fn log_error(e: wuye_model::LogError) -> DecisionError {
    match e {
        wuye_model::LogError::Stored { seq, why } => {
            // The page names the event; the reason is for whoever looks into it.
            tracing::error!(event = seq, %why, "the stored ballot log was refused on re-play");
            match why {
                wuye_model::StoredFault::Unchecked => DecisionError::Invalid(
                    "the ballot log could not be checked; try again / 投票记录未能校验，请重试".into(),
                ),
                _ => broken(seq),
            }
        }
        e => DecisionError::Invalid(e.to_string()),
    }
}

/// The decision's ballot log, re-played from the database: every rule re-checked and every
/// stored hash recomputed (`BallotLog::restore`, on the blocking pool: a large vote keeps the
/// cores busy for a while). With `keys`, also each voting subject's key.
async fn load_log(db: &Db, d: &Decision, keys: bool) -> Result<(BallotLog, Keys), DecisionError> {
    let classes = vec![
        ThresholdClass::parse(&d.class).map_err(|e| DecisionError::Invalid(e.to_string()))?;
        ballot(db, d.id).await?.len()
    ];
    let header = LogHeader {
        decision: format!("wuye-decision-{}", d.id),
        rule: RuleVersion::CivilCode,
        mode: BallotMode::parse(&d.mode).map_err(|e| DecisionError::Invalid(e.to_string()))?,
        classes,
    };
    // The enrolment's chain is computed while the events are still being read.
    let opened = d.notice_at.unix_timestamp();
    let started = std::time::Instant::now();
    let enrolled = async {
        let (enrolment, keys) = read_enrolment(db, d.id, keys).await?;
        let roll_read = started.elapsed();
        let log = tokio::task::spawn_blocking(move || BallotLog::new(header, opened, enrolment))
            .await
            .map_err(replay_failed)?
            .map_err(log_error)?;
        Ok::<_, DecisionError>((log, keys, roll_read, started.elapsed()))
    };
    let events = async { Ok((read_events(db, d.id, 0).await?, started.elapsed())) };
    let ((log, keys, roll_read, enrolled_at), (stored, events_read)) = tokio::try_join!(enrolled, events)?;
    let log = tokio::task::spawn_blocking(move || log.extend_stored(stored))
        .await
        .map_err(replay_failed)?
        .map_err(log_error)?;
    // Where a slow close spends its time (docs/benchmarks.md, "the close").
    tracing::debug!(
        decision = d.id,
        events = log.events().len(),
        roll_read_ms = roll_read.as_millis(),
        enrolled_ms = enrolled_at.as_millis(),
        events_read_ms = events_read.as_millis(),
        replayed_ms = started.elapsed().as_millis(),
        "ballot log re-played from the database"
    );
    Ok((log, keys))
}

/// Re-plays the events stored after the ones `log` holds, checking each stored hash.
async fn catch_up(db: &Db, id: i64, log: BallotLog) -> Result<BallotLog, DecisionError> {
    let stored = read_events(db, id, log.events().len() as i64).await?;
    if stored.is_empty() {
        return Ok(log);
    }
    tokio::task::spawn_blocking(move || log.extend_stored(stored))
        .await
        .map_err(replay_failed)?
        .map_err(log_error)
}

fn replay_failed(e: tokio::task::JoinError) -> DecisionError {
    DecisionError::Invalid(format!("re-playing the ballot log failed: {e}"))
}

/// The re-played log of each decision this instance has appended to, keyed by the decision's
/// salt (unique per decision, also across databases). A cache only: every use first catches
/// up with the events stored since, so another instance's ballots are always included.
type Cached = Option<(BallotLog, Keys)>;
static LOGS: std::sync::OnceLock<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<Cached>>>>,
> = std::sync::OnceLock::new();

fn log_slot(salt: &str) -> std::sync::Arc<tokio::sync::Mutex<Cached>> {
    let map = LOGS.get_or_init(Default::default);
    let mut m = match map.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    if m.len() > 10_000 {
        m.clear();
    }
    m.entry(salt.to_owned()).or_default().clone()
}

/// Parses and checks the answers of a ballot, one of yes / no / abstain per column.
/// An election allows at most `seats` yes answers, a selection one pick (the bidder picked is
/// yes, the others no; no pick is an abstention on every bidder). Online, a ballot breaking
/// these is refused; a paper sheet that breaks them is spoiled for that item (it counts as a
/// participation with an abstention on each of its columns, R1.5).
pub fn parse_choices(
    answers: &[String],
    columns: &[BallotColumn],
    paper: bool,
) -> Result<Vec<Option<Choice>>, DecisionError> {
    let questions = columns.len();
    if answers.len() != questions {
        return Err(DecisionError::Invalid(format!(
            "answer each of the {questions} questions / 请对全部 {questions} 个议题表态"
        )));
    }
    let mut choices: Vec<Option<Choice>> = answers
        .iter()
        .map(|a| {
            Choice::parse(a).map(Some).map_err(|_| {
                invalid(
                    "each answer is yes, no or abstain",
                    "每项意见应为同意、反对或弃权",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut items: Vec<usize> = columns
        .iter()
        .filter(|c| c.kind != "proposal")
        .map(|c| c.item)
        .collect();
    items.dedup();
    for item in items {
        let idx: Vec<usize> = (0..questions).filter(|&i| columns[i].item == item).collect();
        let Some(first) = idx.first().map(|&i| &columns[i]) else {
            continue;
        };
        let yes: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| choices[i] == Some(Choice::Yes))
            .collect();
        let allowed = if first.kind == "bidder" { 1 } else { first.seats };
        if yes.len() > allowed {
            if !paper {
                return Err(DecisionError::Invalid(if first.kind == "bidder" {
                    format!(
                        "{}: pick one bidder at most / 「{}」只能选择一家",
                        first.item_title, first.item_title
                    )
                } else {
                    format!(
                        "{}: say yes to {allowed} candidates at most / 「{}」最多同意 {allowed} 人",
                        first.item_title, first.item_title
                    )
                }));
            }
            for &i in &idx {
                choices[i] = Some(Choice::Abstain);
            }
        } else if first.kind == "bidder" {
            for &i in &idx {
                choices[i] = Some(match yes.first() {
                    Some(&p) if p == i => Choice::Yes,
                    Some(_) => Choice::No,
                    None => Choice::Abstain,
                });
            }
        }
    }
    Ok(choices)
}

/// A ballot's answers from a form: `q<position>` for proposals and candidates, and for a
/// selection `s<item>` naming the picked bidder's position: yes for it, abstain elsewhere
/// ([`parse_choices`] makes the other bidders no when one is picked).
pub fn answers_from_form(columns: &[BallotColumn], get: impl Fn(&str) -> String) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            if c.kind != "bidder" {
                get(&format!("q{}", c.position))
            } else if get(&format!("s{}", c.item)).trim() == c.position.to_string() {
                "yes".to_owned()
            } else {
                "abstain".to_owned()
            }
        })
        .collect()
}

/// The events to append, planned from the re-played log: `(subject key, kind, answers)`.
type Planned = Vec<(String, EventKind, Option<Vec<Option<Choice>>>)>;
type Plan<'a> = dyn Fn(&BallotLog, &Keys) -> Result<Planned, DecisionError> + Sync + 'a;

/// Appends one event per `(subject, kind, answers)` after re-playing the log; retried when
/// another ballot took the next place meanwhile.
async fn append(
    db: &Db,
    d: &Decision,
    make: &Plan<'_>,
    by: Option<Sid>,
    ballot: (&str, &str, Option<i64>, Option<&str>),
    now: OffsetDateTime,
) -> Result<Vec<(String, Hash)>, DecisionError> {
    let (status, channel, entered_by, scan) = ballot;
    // One append at a time per decision on this instance, onto the cached log.
    let slot = log_slot(&d.salt);
    let mut cached = slot.lock().await;
    for _ in 0..20 {
        let (mut log, keys) = match cached.take() {
            Some((log, keys)) => (catch_up(db, d.id, log).await?, keys),
            None => load_log(db, d, true).await?,
        };
        let base = log.events().len() as i64;
        let plan = match make(&log, &keys) {
            Ok(p) => p,
            Err(e) => {
                *cached = Some((log, keys));
                return Err(e);
            }
        };
        let mut rows = Vec::new();
        // The request's time was taken before it waited for its place: one that waited behind
        // a later request is logged at that one's time, since the log's times never go back
        // (else a ballot would be refused for having waited).
        let at = now
            .unix_timestamp()
            .max(log.events().last().map_or(i64::MIN, |e| e.at));
        for (key, kind, answers) in &plan {
            let sid = *keys
                .get(key)
                .ok_or_else(|| invalid("not on the roll", "不在名册中"))?;
            let by = if d.mode == "open" { by } else { None };
            let hash = log
                .append(*kind, at, sid, answers.clone(), by)
                .map_err(|e| DecisionError::Refused(e.to_string()))?;
            rows.push((
                key.clone(),
                *kind,
                at,
                sid,
                answers.as_deref().map(wuye_model::answers_text),
                by,
                hash,
            ));
        }
        // The decision must still be voting when the events are written: a close that read
        // the log meanwhile would not count them. The conditional update holds the
        // decision's row until the commit, so the close's own update waits for it (and
        // SQLite's one writer runs the two transactions one after the other anyway).
        let stored = db_run!(db, pool => async {
            let mut tx = pool.begin().await?;
            let voting = sqlx::query("UPDATE decisions SET state = state WHERE id = $1 AND state = 'voting' AND closed_at IS NULL")
                .bind(d.id).execute(&mut *tx).await?.rows_affected();
            if voting == 0 {
                return Ok(false);
            }
            for (i, (key, kind, at, sid, answers, by, hash)) in rows.iter().enumerate() {
                sqlx::query("INSERT INTO ballot_events (decision_id, seq, kind, at, sid, answers, by_sid, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(d.id).bind(base + i as i64 + 1).bind(kind.as_str()).bind(at).bind(sid.to_string()).bind(answers)
                    .bind(by.map(|b| b.to_string())).bind(hash.to_string()).execute(&mut *tx).await?;
                let counted = if *kind == EventKind::PaperConfirmed { "counted" } else { status };
                sqlx::query("INSERT INTO ballots (decision_id, subject_key, status, channel, receipt, entered_by, scan_file_id, at) \
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (decision_id, subject_key) DO UPDATE SET status = excluded.status, \
                    channel = excluded.channel, receipt = CASE WHEN $9 THEN ballots.receipt ELSE excluded.receipt END, \
                    entered_by = coalesce(ballots.entered_by, excluded.entered_by), scan_file_id = coalesce(excluded.scan_file_id, ballots.scan_file_id), at = excluded.at")
                    .bind(d.id).bind(key).bind(counted).bind(channel).bind(hash.to_string()).bind(entered_by).bind(scan)
                    .bind(crate::clock::db_time(now)).bind(*kind == EventKind::PaperConfirmed).execute(&mut *tx).await?;
            }
            tx.commit().await.map(|()| true)
        }.await);
        match stored.map_err(DbError::from) {
            Ok(false) => {
                return Err(refused(
                    "voting has closed; the ballot was not recorded",
                    "投票已结束，选票未记录",
                ));
            }
            Ok(true) => {
                *cached = Some((log, keys));
                return Ok(rows.into_iter().map(|r| (r.0, r.6)).collect());
            }
            // Another instance took the place: re-play from the database and try again (the
            // in-memory log holds events that were not stored, so it is dropped).
            Err(e) if e.is_constraint() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(refused(
        "too many ballots at once; try again",
        "同时投票的人太多，请重试",
    ))
}

fn in_window(d: &Decision, now: OffsetDateTime) -> Result<(), DecisionError> {
    if d.state != "voting" || d.closed_at.is_some() {
        return Err(match d.state.as_str() {
            "notice" => refused("voting has not opened yet", "投票尚未开始"),
            _ => refused("voting has closed", "投票已结束"),
        });
    }
    if china_day(now) > d.voting_closes {
        return Err(refused("the voting window has passed", "投票期已过"));
    }
    Ok(())
}

/// A verified owner votes for every voting subject they hold a title in; a second ballot
/// replaces the first until the window closes (the last one counts). Returns the receipts.
pub async fn cast(
    db: &Db,
    actor: &Actor,
    id: i64,
    answers: &[String],
    now: OffsetDateTime,
) -> Result<Vec<(String, Hash)>, DecisionError> {
    let now = crate::clock::db_time(now);
    let d = find(db, actor, id).await?;
    let Scope::Owner { user_id } = actor.scope else {
        return Err(Denied::Role.into());
    };
    in_window(&d, now)?;
    let choices = parse_choices(answers, &ballot(db, id).await?, false)?;
    let keys: Vec<(String,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT DISTINCT rv.subject_key FROM roll_voters rv JOIN user_owners uo ON uo.owner_id = rv.owner_id \
         WHERE rv.decision_id = $1 AND uo.user_id = $2 ORDER BY rv.subject_key").bind(id).bind(user_id).fetch_all(pool).await)?;
    if keys.is_empty() {
        return Err(invalid(
            "only owners on this decision's roll with a verified room may vote (claim your room first)",
            "只有名册中、房屋已核验的业主可以投票（请先认领房屋）",
        ));
    }
    let voter = wuye_model::voter_pseudonym(d.salt.as_bytes(), &format!("user:{user_id}"));
    let make = |log: &BallotLog, all: &Keys| {
        Ok(keys
            .iter()
            .map(|(k,)| {
                let kind = if all.get(k).is_some_and(|s| log.has_ballot_in_force(s)) {
                    EventKind::Changed
                } else {
                    EventKind::Cast
                };
                (k.clone(), kind, Some(choices.clone()))
            })
            .collect())
    };
    append(
        db,
        &d,
        &make,
        Some(voter),
        ("counted", "online", actor.user_id, None),
        now,
    )
    .await
}

/// The committee enters a paper ballot for the subject holding `room_id` (with its scan);
/// it counts once a second person confirms it.
pub async fn enter_paper(
    db: &Db,
    actor: &Actor,
    id: i64,
    room_id: i64,
    answers: &[String],
    scan: Option<&str>,
    now: OffsetDateTime,
) -> Result<Hash, DecisionError> {
    let now = crate::clock::db_time(now);
    let d = find(db, actor, id).await?;
    require_organiser(db, actor, d.compound_id).await?;
    in_window(&d, now)?;
    let choices = parse_choices(answers, &ballot(db, id).await?, true)?;
    let key: Option<(String,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT subject_key FROM roll_rooms WHERE decision_id = $1 AND room_id = $2 AND counted = $3").bind(id).bind(room_id).bind(true).fetch_optional(pool).await)?;
    let Some((key,)) = key else {
        return Err(invalid(
            "the room is not on this decision's roll",
            "该房屋不在本次表决名册中",
        ));
    };
    let by = actor
        .user_id
        .map(|u| wuye_model::voter_pseudonym(d.salt.as_bytes(), &format!("user:{u}")));
    let make = |_: &BallotLog, _: &Keys| {
        Ok(vec![(
            key.clone(),
            EventKind::PaperEntered,
            Some(choices.clone()),
        )])
    };
    let out = append(db, &d, &make, by, ("pending", "paper", actor.user_id, scan), now).await?;
    out.into_iter()
        .next()
        .map(|o| o.1)
        .ok_or_else(|| refused("not recorded", "未记录"))
}

/// A second person confirms a pending paper ballot; the one who entered it may not.
pub async fn confirm_paper(
    db: &Db,
    actor: &Actor,
    id: i64,
    subject_key: &str,
    now: OffsetDateTime,
) -> Result<(), DecisionError> {
    let now = crate::clock::db_time(now);
    let d = find(db, actor, id).await?;
    require_organiser(db, actor, d.compound_id).await?;
    in_window(&d, now)?;
    let row: Option<(String, Option<i64>)> = db_read!(db, pool => sqlx::query_as(
        "SELECT status, entered_by FROM ballots WHERE decision_id = $1 AND subject_key = $2").bind(id).bind(subject_key).fetch_optional(pool).await)?;
    match row {
        Some((s, _)) if s != "pending" => {
            return Err(refused(
                "this ballot is not waiting for confirmation",
                "该选票无需复核",
            ));
        }
        Some((_, by)) if by == actor.user_id => {
            return Err(refused(
                "a second person must confirm a paper ballot",
                "纸质选票须由另一人复核",
            ));
        }
        None => {
            return Err(invalid(
                "no paper ballot for this subject",
                "没有该表决主体的纸质选票",
            ));
        }
        _ => {}
    }
    let by = actor
        .user_id
        .map(|u| wuye_model::voter_pseudonym(d.salt.as_bytes(), &format!("user:{u}")));
    let key = subject_key.to_owned();
    let make = |_: &BallotLog, _: &Keys| Ok(vec![(key.clone(), EventKind::PaperConfirmed, None)]);
    append(db, &d, &make, by, ("counted", "paper", actor.user_id, None), now).await?;
    Ok(())
}

/// The rooms on a decision's roll, labelled building-entrance-number (the paper-ballot picker).
pub async fn roll_rooms(db: &Db, id: i64) -> Result<Vec<(i64, String)>, DecisionError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT rr.room_id, b.name || '-' || e.name || '-' || r.number FROM roll_rooms rr JOIN rooms r ON r.id = rr.room_id \
         JOIN buildings b ON b.id = r.building_id JOIN entrances e ON e.id = r.entrance_id \
         WHERE rr.decision_id = $1 AND rr.counted = $2 ORDER BY b.name, e.name, r.number").bind(id).bind(true).fetch_all(pool).await)?)
}

/// Whether the actor organises the decision's compound (for the pages).
pub async fn organises(db: &Db, actor: &Actor, compound_id: i64) -> bool {
    require_organiser(db, actor, compound_id).await.is_ok()
}

/// The roll as it stands in the registry, for its public check during the notice: each room
/// with its area and whether an owner or the developer holds it (no names).
pub async fn roll_preview(db: &Db, id: i64) -> Result<Vec<(String, String, String)>, DecisionError> {
    let rows: Vec<(String, i64, bool, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT b.name || '-' || e.name || '-' || r.number, r.exclusive_area, r.developer_held, \
         (SELECT count(*) FROM room_owners ro WHERE ro.room_id = r.id) FROM decisions d JOIN rooms r ON r.compound_id = d.compound_id \
         JOIN buildings b ON b.id = r.building_id JOIN entrances e ON e.id = r.entrance_id WHERE d.id = $1 ORDER BY b.name, e.name, r.number")
        .bind(id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(label, area, dev, holders)| {
            let who = if dev || holders == 0 {
                "developer".to_owned()
            } else {
                format!("{holders}")
            };
            (label, Area::from_hundredths(area).to_string(), who)
        })
        .collect())
}

/// An owner of the compound objects to the roll during its public check (the city's
/// `roll_check` days after the notice).
pub async fn object(
    db: &Db,
    actor: &Actor,
    id: i64,
    text: &str,
    days: &DecisionDays,
    now: OffsetDateTime,
) -> Result<(), DecisionError> {
    let now = crate::clock::db_time(now);
    let d = find(db, actor, id).await?;
    if !matches!(actor.scope, Scope::Owner { .. }) {
        return Err(Denied::Role.into());
    }
    let until = d.notice_at + time::Duration::days(i64::from(days.roll_check));
    if d.state != "notice" || now > until {
        return Err(DecisionError::Refused(format!(
            "the roll's public check ended on {} / 名册公示已于 {} 结束",
            china_day(until),
            china_day(until)
        )));
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(invalid(
            "say what is wrong in 1 to 1,000 characters",
            "请用 1 至 1000 字说明",
        ));
    }
    db_run!(db, pool => sqlx::query("INSERT INTO roll_objections (decision_id, user_id, text, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id).bind(actor.user_id).bind(text).bind(now).execute(pool).await.map(|_| ()))?;
    audit(db, actor, "decision.roll_objection", id, now).await?;
    Ok(())
}

/// The objections to the roll, for the organisers: (when, who (masked), text).
pub async fn objections(db: &Db, id: i64) -> Result<Vec<(OffsetDateTime, String, String)>, DecisionError> {
    let rows: Vec<(OffsetDateTime, String, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT o.created_at, u.login, o.text FROM roll_objections o JOIN users u ON u.id = o.user_id WHERE o.decision_id = $1 ORDER BY o.id")
        .bind(id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(at, login, text)| (at, crate::auth::mask(&login), text))
        .collect())
}

/// An audit entry for a step on a decision that carries no data of its own.
async fn audit(db: &Db, actor: &Actor, action: &str, id: i64, now: OffsetDateTime) -> Result<(), DbError> {
    crate::auth::audit(db, actor, action, "decision", &id.to_string(), None, None, now).await
}

/// Paper ballots waiting for a second person.
pub async fn pending_paper(db: &Db, id: i64) -> Result<Vec<(String, String)>, DecisionError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT b.subject_key, coalesce(u.display_name, '') FROM ballots b LEFT JOIN users u ON u.id = b.entered_by \
         WHERE b.decision_id = $1 AND b.status = 'pending' ORDER BY b.subject_key").bind(id).fetch_all(pool).await)?)
}

/// Participation so far: area and headcount of the subjects with a ballot in force, overall
/// and by building. No choices: that is all anyone sees before the close.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Turnout {
    #[schema(value_type = String)]
    pub total_area: String,
    pub total_heads: i64,
    #[schema(value_type = String)]
    pub voted_area: String,
    pub voted_heads: i64,
    pub area_percent: Option<String>,
    pub heads_percent: Option<String>,
    /// (building, subjects with a room there that voted, subjects with a room there)
    pub by_building: Vec<(String, i64, i64)>,
}

pub async fn turnout(db: &Db, id: i64) -> Result<Turnout, DecisionError> {
    let (ta, th, va, vh): (i64, i64, i64, i64) = db_read!(db, pool => sqlx::query_as(
        "SELECT CAST(coalesce(sum(s.area), 0) AS BIGINT), count(*), \
         CAST(coalesce(sum(CASE WHEN b.status = 'counted' THEN s.area ELSE 0 END), 0) AS BIGINT), \
         CAST(coalesce(sum(CASE WHEN b.status = 'counted' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM roll_subjects s LEFT JOIN ballots b ON b.decision_id = s.decision_id AND b.subject_key = s.subject_key WHERE s.decision_id = $1")
        .bind(id).fetch_one(pool).await)?;
    let by_building: Vec<(String, i64, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT bd.name, count(DISTINCT CASE WHEN b.status = 'counted' THEN rr.subject_key END), count(DISTINCT rr.subject_key) \
         FROM roll_rooms rr JOIN rooms r ON r.id = rr.room_id JOIN buildings bd ON bd.id = r.building_id \
         LEFT JOIN ballots b ON b.decision_id = rr.decision_id AND b.subject_key = rr.subject_key \
         WHERE rr.decision_id = $1 AND rr.counted = $2 GROUP BY bd.name ORDER BY bd.name").bind(id).bind(true).fetch_all(pool).await)?;
    Ok(Turnout {
        total_area: Area::from_hundredths(ta).to_string(),
        total_heads: th,
        voted_area: Area::from_hundredths(va).to_string(),
        voted_heads: vh,
        area_percent: wuye_model::percent(va, ta),
        heads_percent: wuye_model::percent(vh, th),
        by_building,
    })
}

/// The result of one question: the statutory result, and the rules-based one beside it when
/// the compound's rules have a silent-owner clause (never merged, §1.4).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuestionResult {
    pub question: String,
    #[schema(value_type = Object)]
    pub statutory: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    pub rules_based: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionResult {
    /// preliminary (objection period) or final.
    pub status: String,
    pub rule: String,
    pub head_hash: String,
    /// Every column of the ballot: proposals, candidates and bidders, each with its tally.
    pub questions: Vec<QuestionResult>,
    /// The outcome of each election and selection on the ballot.
    #[serde(default)]
    pub items: Vec<ItemResult>,
}

fn tally_json(t: &Tally) -> serde_json::Value {
    serde_json::to_value(t).unwrap_or(serde_json::Value::Null)
}

/// The preliminary result of a decision whose ballots have stopped: the log re-played from
/// the database (every stored hash checked) and tallied.
async fn compute_result(db: &Db, d: &Decision) -> Result<(DecisionResult, i64), DecisionError> {
    let id = d.id;
    let columns = ballot(db, id).await?;
    // The roll and each subject's sheet serve the silent-owner result and the elections and
    // selections; a ballot of plain proposals under the statutory rule needs neither.
    let per_subject = d.silent_clause || columns.iter().any(|c| c.kind != "proposal");
    let (log, keys) = load_log(db, d, per_subject).await?;
    let statutory = log.tallies();
    let mut results = Vec::new();
    let (mut rules, mut items) = (None, Vec::new());
    if per_subject {
        let (roll, sheets) = roll_and_sheets(db, d, &log, &keys).await?;
        if d.silent_clause {
            rules = Some(rules_based(db, d, &roll, &sheets, columns.len()).await?);
        }
        items = item_results(&columns, &roll, &sheets)?;
    }
    for (i, c) in columns.iter().enumerate() {
        results.push(QuestionResult {
            question: c.text.clone(),
            statutory: statutory.get(i).map(tally_json).unwrap_or_default(),
            rules_based: rules.as_ref().and_then(|r| r.get(i)).map(tally_json),
        });
    }
    let result = DecisionResult {
        status: "preliminary".into(),
        rule: RuleVersion::CivilCode.as_str().into(),
        head_hash: log.head().to_string(),
        questions: results,
        items,
    };
    let logged = log.events().len() as i64;
    // Freeing a million-ballot log takes tens of milliseconds: not on the close's time.
    drop(tokio::task::spawn_blocking(move || drop((log, keys))));
    Ok((result, logged))
}

/// Closes voting and computes the result from the log (R1.10 keeps every figure); the result
/// is preliminary until published after the objection period.
pub async fn close(
    db: &Db,
    actor: &Actor,
    id: i64,
    days: &DecisionDays,
    now: OffsetDateTime,
) -> Result<DecisionResult, DecisionError> {
    let now = crate::clock::db_time(now);
    let d = organise(
        db,
        actor,
        id,
        "voting",
        "only an open vote can be closed",
        "只能结束进行中的表决",
    )
    .await?;
    // First stop the ballots: from this commit on an append is refused (it waits for the
    // ones being written, which hold the decision's row). Then the log is final.
    let marked = db_run!(db, pool => sqlx::query("UPDATE decisions SET closed_at = $2 WHERE id = $1 AND state = 'voting'")
        .bind(id).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    if marked == 0 {
        return Err(refused("the decision changed meanwhile", "表决状态已变化"));
    }
    let (result, read) = match compute_result(db, &d).await {
        Ok(r) => r,
        Err(e) => {
            // Nothing was decided: voting goes on.
            db_run!(db, pool => sqlx::query("UPDATE decisions SET closed_at = NULL WHERE id = $1 AND state = 'voting' AND closed_at = $2")
                .bind(id).bind(now).execute(pool).await.map(|_| ()))?;
            return Err(e);
        }
    };
    let json = serde_json::to_string(&result).unwrap_or_default();
    let objection_until = now + time::Duration::days(i64::from(days.objection));
    // The same close that stopped the ballots (a second close meanwhile took over), and no
    // event after the ones tallied (none can come: checked all the same, in the transaction).
    let closed = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query("UPDATE decisions SET state = 'closed', objection_until = $3, head_hash = $4, result = $5 WHERE id = $1 AND state = 'voting' AND closed_at = $2")
            .bind(id).bind(now).bind(objection_until).bind(&result.head_hash).bind(&json).execute(&mut *tx).await?.rows_affected();
        let (last,): (Option<i64>,) = sqlx::query_as("SELECT max(seq) FROM ballot_events WHERE decision_id = $1")
            .bind(id).fetch_one(&mut *tx).await?;
        if n == 0 || last.unwrap_or(0) > read {
            tx.rollback().await?;
            return Ok((n, false));
        }
        tx.commit().await.map(|()| (n, true))
    }.await)?;
    match closed {
        (0, _) => return Err(refused("the decision changed meanwhile", "表决状态已变化")),
        (_, false) => {
            tracing::error!(
                decision = id,
                "a ballot was stored after the close stopped the ballots"
            );
            return Err(refused(
                "ballots arrived while the result was being computed; close again",
                "计票时又收到选票，请重新结束表决",
            ));
        }
        _ => {}
    }
    crate::auth::audit(
        db,
        actor,
        "decision.close",
        "decision",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "head": result.head_hash })),
        now,
    )
    .await?;
    notify_owners(
        db,
        id,
        &format!("表决已结束，初步结果已公示：{}", d.title),
        &format!("Voting closed; preliminary result: {}", d.title),
        now,
    )
    .await?;
    Ok(result)
}

/// The frozen roll in the model's form, and per voting subject (in the roll's order) the
/// ballot in force as the log's own replay counts it (`None`: not returned).
async fn roll_and_sheets(
    db: &Db,
    d: &Decision,
    log: &BallotLog,
    keys: &Keys,
) -> Result<(Roll, Vec<Option<AnswerSheet>>), DecisionError> {
    let roll = frozen_roll(db, d).await?;
    let in_force: std::collections::HashMap<Sid, &wuye_model::Answers> = log.in_force().collect();
    let sheets = roll
        .subjects()
        .map(|s| {
            keys.get(s.key)
                .and_then(|sid| in_force.get(sid))
                .map(|a| a.to_vec())
        })
        .collect();
    Ok((roll, sheets))
}

/// The roll as frozen when voting opened, in the model's form.
async fn frozen_roll(db: &Db, d: &Decision) -> Result<Roll, DecisionError> {
    let rows: Vec<(i64, String, i64, bool)> = db_read!(db, pool => sqlx::query_as(
        "SELECT room_id, subject_key, area, counted FROM roll_rooms WHERE decision_id = $1 ORDER BY room_id").bind(d.id).fetch_all(pool).await)?;
    let rooms: Vec<RoomEntry> = rows
        .iter()
        .map(|(room, key, area, counted)| RoomEntry {
            id: room.to_string(),
            area: Area::from_hundredths(*area),
            parking: !counted,
            title: if key == SubjectKey::DEVELOPER {
                Title::Developer
            } else {
                Title::Owners(key.split(';').map(str::to_owned).collect())
            },
        })
        .collect();
    let roll = Roll::build(
        &rooms,
        RollSettings {
            parking_counts: false,
        },
    )
    .map_err(|e| DecisionError::Invalid(e.to_string()))?;
    Ok(roll)
}

/// Extends an open vote's window to `closes` (organisers, while voting is open): a vote short
/// of turnout may run on, up to the city's `extension` days past its first closing day
/// (DOMAIN.md §2.1, UNVERIFIED). Every owner is told.
pub async fn extend(
    db: &Db,
    actor: &Actor,
    id: i64,
    closes: Date,
    days: &DecisionDays,
    now: OffsetDateTime,
) -> Result<(), DecisionError> {
    let now = crate::clock::db_time(now);
    let d = organise(
        db,
        actor,
        id,
        "voting",
        "only an open vote can be extended",
        "只能延长进行中的表决",
    )
    .await?;
    in_window(&d, now)?;
    if closes <= d.voting_closes {
        return Err(DecisionError::Invalid(format!(
            "the new last day must be after {} / 新的截止日须晚于 {}",
            d.voting_closes, d.voting_closes
        )));
    }
    let (first,): (Option<Date>,) = db_read!(db, pool => sqlx::query_as("SELECT first_closes FROM decisions WHERE id = $1").bind(id).fetch_one(pool).await)?;
    let first = first.unwrap_or(d.voting_closes);
    let limit = first + time::Duration::days(i64::from(days.extension));
    if closes > limit {
        return Err(DecisionError::Refused(format!(
            "the city allows extending a vote by {} days past its first last day ({first}), so to {limit} at most / 本市规定投票期最多延长至首次截止日（{first}）后 {} 日，即 {limit}",
            days.extension, days.extension
        )));
    }
    let n = db_run!(db, pool => sqlx::query(
        "UPDATE decisions SET first_closes = coalesce(first_closes, voting_closes), voting_closes = $2 WHERE id = $1 AND state = 'voting' AND voting_closes = $3")
        .bind(id).bind(closes).bind(d.voting_closes).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(refused("the decision changed meanwhile", "表决状态已变化"));
    }
    crate::auth::audit(
        db,
        actor,
        "decision.extend",
        "decision",
        &id.to_string(),
        Some(serde_json::json!({ "voting_closes": d.voting_closes.to_string() })),
        Some(serde_json::json!({ "voting_closes": closes.to_string() })),
        now,
    )
    .await?;
    notify_owners(
        db,
        id,
        &format!("投票期延长至 {closes}：{}", d.title),
        &format!("Voting extended to {closes}: {}", d.title),
        now,
    )
    .await?;
    Ok(())
}

/// A document of a decision's notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionDocument {
    pub position: i64,
    pub name: String,
    pub content_type: String,
    /// Where to download it (signed in, in scope).
    pub url: String,
}

/// Most documents on one decision (each at most [`crate::media::MAX_DOCUMENT_BYTES`]).
pub const MAX_DOCUMENTS: i64 = 20;

/// Adds a document to a decision under notice (organisers only): a PDF, or a photo or scan
/// (JPEG, PNG, WebP; location metadata removed), checked by content, not by name.
pub async fn add_document(
    db: &Db,
    files: &crate::files::FileStore,
    actor: &Actor,
    id: i64,
    name: &str,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<i64, DecisionError> {
    let now = crate::clock::db_time(now);
    organise(
        db,
        actor,
        id,
        "notice",
        "documents are part of the notice: add them before voting opens",
        "文件属于表决公告，须在投票开始前上传",
    )
    .await?;
    let (content_type, clean) =
        crate::media::clean_document(bytes).map_err(|e| DecisionError::Invalid(e.to_string()))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(
            "name the document (up to 200 characters)",
            "请填写文件名称（200 字以内）",
        ));
    }
    let file_id = files.put(&clean, content_type, now).await?;
    let position: Option<i64> = db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM decision_documents WHERE decision_id = $1").bind(id).fetch_one(&mut *tx).await?;
        if n >= MAX_DOCUMENTS {
            return Ok::<_, sqlx::Error>(None);
        }
        sqlx::query("INSERT INTO decision_documents (decision_id, position, name, file_id, content_type, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(n + 1).bind(name).bind(&file_id).bind(content_type).bind(actor.user_id).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(n + 1))
    }.await)?;
    let position = position.ok_or_else(|| {
        invalid(
            &format!("at most {MAX_DOCUMENTS} documents on one decision"),
            &format!("每项表决最多 {MAX_DOCUMENTS} 个文件"),
        )
    })?;
    crate::auth::audit(
        db,
        actor,
        "decision.document",
        "decision",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "position": position, "name": name, "file": file_id })),
        now,
    )
    .await?;
    Ok(position)
}

/// The decision's documents, in the order they were added.
pub async fn documents(db: &Db, id: i64) -> Result<Vec<DecisionDocument>, DecisionError> {
    let rows: Vec<(i64, String, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT position, name, content_type FROM decision_documents WHERE decision_id = $1 ORDER BY position").bind(id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(position, name, content_type)| DecisionDocument {
            url: format!("/api/v1/decisions/{id}/documents/{position}"),
            position,
            name,
            content_type,
        })
        .collect())
}

/// One document's file id and content type, for whoever may read the decision.
pub async fn document(
    db: &Db,
    actor: &Actor,
    id: i64,
    position: i64,
) -> Result<Option<(String, String)>, DecisionError> {
    find(db, actor, id).await?;
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT file_id, content_type FROM decision_documents WHERE decision_id = $1 AND position = $2").bind(id).bind(position).fetch_optional(pool).await)?)
}

/// The organisers' audit of a closed decision's enrolment (the eligibility proof of a secret
/// ballot, DOMAIN.md R1.10): the public export must verify, and the subjects it enrolled
/// must be exactly the frozen roll's, one each with its area — checked against the
/// registration table (`roll_subjects`: subject → its id in the log), which only the
/// organisers and regulators over the compound may use. Returns the number of subjects.
pub async fn audit_enrolment(db: &Db, actor: &Actor, id: i64) -> Result<usize, DecisionError> {
    let d = find(db, actor, id).await?;
    require_organiser(db, actor, d.compound_id).await?;
    let export = export(db, actor, id).await?;
    let roll = frozen_roll(db, &d).await?;
    let rows: Vec<(String, String)> = db_read!(db, pool => sqlx::query_as(
        "SELECT subject_key, sid FROM roll_subjects WHERE decision_id = $1").bind(id).fetch_all(pool).await)?;
    let mut registrations = Vec::with_capacity(rows.len());
    for (key, sid) in rows {
        let key = SubjectKey::parse(&key).map_err(|e| DecisionError::Invalid(e.to_string()))?;
        let sid = Sid::parse(&sid)
            .ok_or_else(|| invalid("a stored subject id is malformed", "名册中的主体标识有误"))?;
        registrations.push((key, sid));
    }
    wuye_model::audit_enrolment(&export, &roll, &registrations).map_err(|e| {
        DecisionError::Refused(format!(
            "the enrolment does not match the roll: {e} / 登记与名册不符"
        ))
    })
}

async fn rules_based(
    db: &Db,
    d: &Decision,
    roll: &Roll,
    sheets: &[Option<AnswerSheet>],
    questions: usize,
) -> Result<Vec<Tally>, DecisionError> {
    // Proof of delivery: an owner with an account on the platform received the in-app notice.
    let delivered_keys: Vec<(String,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT DISTINCT rv.subject_key FROM roll_voters rv JOIN user_owners uo ON uo.owner_id = rv.owner_id WHERE rv.decision_id = $1")
        .bind(d.id).fetch_all(pool).await)?;
    let delivered_keys: std::collections::HashSet<String> =
        delivered_keys.into_iter().map(|(k,)| k).collect();
    let class = ThresholdClass::parse(&d.class).map_err(|e| DecisionError::Invalid(e.to_string()))?;
    let mut out = Vec::new();
    for q in 0..questions {
        let mut choices = Vec::with_capacity(roll.len());
        let mut delivered = Vec::new();
        for (i, (s, sheet)) in roll.subjects().zip(sheets).enumerate() {
            // A returned ballot with this question blank is an abstention, as in the tally.
            let c = sheet
                .as_ref()
                .map(|a| a.get(q).copied().flatten().unwrap_or(Choice::Abstain));
            if c.is_none() && delivered_keys.contains(s.key) {
                delivered.push(i);
            }
            choices.push(c);
        }
        let r =
            wuye_model::tally_with_silent_clause(roll, &choices, &delivered, class, RuleVersion::CivilCode)
                .map_err(|e| DecisionError::Invalid(e.to_string()))?;
        out.push(r.rules_based);
    }
    Ok(out)
}

/// The result of an election or a selection on the ballot, computed by the model from the
/// same ballots as the per-column tallies (`wuye_model::elect`, `wuye_model::select_firm`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemResult {
    /// election or selection.
    pub kind: String,
    pub item: usize,
    pub title: String,
    pub seats: usize,
    /// 1-based ballot positions of the item's candidates or bidders (their tallies are in
    /// `questions` at these positions).
    pub positions: Vec<usize>,
    /// Names elected in rank order, or the firm selected.
    pub chosen: Vec<String>,
    /// Candidates tied for the last seats (none of them elected), and those seats.
    pub tied: Vec<String>,
    pub tied_seats: usize,
    pub vacant_seats: usize,
    /// Why, in words (zh / en).
    pub reason: String,
}

fn item_results(
    columns: &[BallotColumn],
    roll: &Roll,
    sheets: &[Option<AnswerSheet>],
) -> Result<Vec<ItemResult>, DecisionError> {
    let mut items: Vec<usize> = columns
        .iter()
        .filter(|c| c.kind != "proposal")
        .map(|c| c.item)
        .collect();
    items.dedup();
    let mut out = Vec::new();
    for item in items {
        let cols: Vec<&BallotColumn> = columns.iter().filter(|c| c.item == item).collect();
        let Some(first) = cols.first() else { continue };
        let idx: Vec<usize> = cols.iter().map(|c| c.position - 1).collect();
        let slice: Vec<Option<AnswerSheet>> = sheets
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|a| idx.iter().map(|&i| a.get(i).copied().flatten()).collect())
            })
            .collect();
        let name = |p: usize| cols.get(p).map(|c| c.text.clone()).unwrap_or_default();
        let bad = |e: wuye_model::TallyError| DecisionError::Invalid(e.to_string());
        let r = if first.kind == "candidate" {
            let rules = wuye_model::ElectionRules::new(first.seats);
            let e =
                wuye_model::elect(roll, &slice, cols.len(), &rules, RuleVersion::CivilCode).map_err(bad)?;
            let chosen: Vec<String> = e.elected.iter().map(|&p| name(p)).collect();
            let tied: Vec<String> = e
                .tie
                .as_ref()
                .map(|t| t.candidates.iter().map(|&p| name(p)).collect())
                .unwrap_or_default();
            let tied_seats = e.tie.as_ref().map(|t| t.seats).unwrap_or(0);
            let mut reason = format!(
                "{} 人当选（每名候选人须获参与表决的专有面积与人数均过半同意；超过席位时依次按同意人数、同意面积、选票顺序排列）/ {} elected (each needs yes from more than half of the participating area and heads; more than the seats are ranked by yes heads, yes area, ballot order)",
                chosen.len(),
                chosen.len()
            );
            if tied_seats > 0 {
                reason.push_str(&format!("；{tied_seats} 个席位因票数完全相同未能确定，须另行选举 / {tied_seats} seat(s) tied on every key: none of the tied is elected, a new round decides"));
            }
            if e.vacant_seats > 0 {
                reason.push_str(&format!(
                    "；{} 个席位无人当选 / {} seat(s) left vacant",
                    e.vacant_seats, e.vacant_seats
                ));
            }
            ItemResult {
                kind: "election".into(),
                item,
                title: first.item_title.clone(),
                seats: first.seats,
                positions: cols.iter().map(|c| c.position).collect(),
                chosen,
                tied,
                tied_seats,
                vacant_seats: e.vacant_seats,
                reason,
            }
        } else {
            let picks: Vec<Option<wuye_model::FirmPick>> = slice
                .iter()
                .map(|s| {
                    s.as_ref()
                        .map(|a| match a.iter().position(|c| *c == Some(Choice::Yes)) {
                            Some(b) => wuye_model::FirmPick::Bidder(b),
                            None => wuye_model::FirmPick::Abstain,
                        })
                })
                .collect();
            let f = wuye_model::select_firm(roll, &picks, cols.len(), RuleVersion::CivilCode).map_err(bad)?;
            let chosen: Vec<String> = f.selected.map(name).into_iter().collect();
            let reason = match chosen.first() {
                Some(n) => format!("选定「{n}」：获参与表决的专有面积与人数均过半选择 / {n} selected: picked by more than half of the participating area and heads"),
                None => "无投标人获参与表决的专有面积与人数均过半选择（或未达参与门槛），未选定 / no bidder was picked by more than half of the participating area and heads (or the quorum failed): none selected".to_owned(),
            };
            ItemResult {
                kind: "selection".into(),
                item,
                title: first.item_title.clone(),
                seats: 1,
                positions: cols.iter().map(|c| c.position).collect(),
                chosen,
                tied: Vec::new(),
                tied_seats: 0,
                vacant_seats: 0,
                reason,
            }
        };
        out.push(r);
    }
    Ok(out)
}

/// Publishes the final result after the objection period; shown for the city's
/// `result_shown` days.
pub async fn publish(
    db: &Db,
    actor: &Actor,
    id: i64,
    days: &DecisionDays,
    now: OffsetDateTime,
) -> Result<(), DecisionError> {
    let now = crate::clock::db_time(now);
    let d = organise(
        db,
        actor,
        id,
        "closed",
        "only a closed vote's result can be published",
        "只能公布已结束表决的结果",
    )
    .await?;
    let until: Option<(Option<OffsetDateTime>,)> = db_read!(db, pool => sqlx::query_as("SELECT objection_until FROM decisions WHERE id = $1").bind(id).fetch_optional(pool).await)?;
    if let Some((Some(u),)) = until
        && now < u
    {
        return Err(DecisionError::Refused(format!(
            "the objection period runs until {} / 异议期至 {}",
            china_day(u),
            china_day(u)
        )));
    }
    let mut result = result(&d).ok_or_else(|| refused("no result", "无结果"))?;
    result.status = "final".into();
    let json = serde_json::to_string(&result).unwrap_or_default();
    db_run!(db, pool => sqlx::query("UPDATE decisions SET state = 'published', published_at = $2, shown_until = $3, result = $4 WHERE id = $1 AND state = 'closed'")
        .bind(id).bind(now).bind(now + time::Duration::days(i64::from(days.result_shown))).bind(json).execute(pool).await.map(|_| ()))?;
    audit(db, actor, "decision.publish", id, now).await?;
    // An exit case waiting on this vote closes by it (R5.5). Should that fail, the result
    // stands and the supervision sweep closes the case within a minute.
    if let Err(e) = crate::supervision::on_decision_published(db, id, now).await {
        tracing::warn!(error = %e, decision = id, "exit cases not closed by the published result");
    }
    notify_owners(
        db,
        id,
        &format!("表决结果公告：{}", d.title),
        &format!("Result published: {}", d.title),
        now,
    )
    .await?;
    Ok(())
}

/// The result, once voting has closed (never before).
pub fn result(d: &Decision) -> Option<DecisionResult> {
    if !matches!(d.state.as_str(), "closed" | "published") {
        return None;
    }
    d.result.as_deref().and_then(|r| serde_json::from_str(r).ok())
}

/// The public export of a closed decision (docs/ballot-export.md): pseudonymous subjects,
/// their areas and choices, the chained events. Refused before the close.
pub async fn export(db: &Db, actor: &Actor, id: i64) -> Result<String, DecisionError> {
    let d = find(db, actor, id).await?;
    if !matches!(d.state.as_str(), "closed" | "published") {
        return Err(refused(
            "the ballot export is published when voting closes",
            "投票结束后才公开投票记录",
        ));
    }
    let (log, _) = load_log(db, &d, false).await?;
    Ok(log.export())
}

/// Whether a receipt is in the record: before the close only "recorded" (no choice is
/// shown to anyone, the voter included, on a shared phone); after it, its line in the export.
pub async fn check_receipt(
    db: &Db,
    actor: &Actor,
    id: i64,
    receipt: &str,
) -> Result<Option<String>, DecisionError> {
    let d = find(db, actor, id).await?;
    let Some(hash) = Hash::parse(receipt.trim()) else {
        return Err(invalid(
            "a receipt is 64 hexadecimal characters",
            "回执应为 64 位十六进制",
        ));
    };
    if matches!(d.state.as_str(), "closed" | "published") {
        let (log, _) = load_log(db, &d, false).await?;
        return Ok(wuye_model::find_receipt(log.export(), &hash)
            .map_err(|e| DecisionError::Invalid(e.to_string()))?
            .map(|m| {
                format!(
                    "line {} of the export, event {} ({}){} / 在公开记录第 {} 行",
                    m.line,
                    m.seq,
                    m.kind.as_str(),
                    if m.in_force {
                        ", counted"
                    } else {
                        ", replaced later"
                    },
                    m.line
                )
            }));
    }
    let n: (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM ballot_events WHERE decision_id = $1 AND hash = $2")
        .bind(id).bind(hash.to_string()).fetch_one(pool).await)?;
    Ok((n.0 > 0).then(|| "recorded in the ballot log / 已记入投票记录".to_owned()))
}

/// The regulator's figure: in a jurisdiction, how many compounds made how many decisions
/// online, by matter class and outcome (only closed and published decisions count).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionFigures {
    pub compounds: i64,
    pub decisions: i64,
    /// (class, outcome of the first question, count)
    pub by_outcome: Vec<(String, String, i64)>,
}

pub async fn figures(db: &Db, actor: &Actor) -> Result<DecisionFigures, DecisionError> {
    actor.require_regulator()?;
    let mut sql = Sql::new(DECISION_SELECT);
    sql.push(" WHERE d.state IN ('closed', 'published')");
    push_scope(&mut sql, actor)?;
    let rows: Vec<Decision> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    let compounds = rows
        .iter()
        .map(|d| d.compound_id)
        .collect::<std::collections::HashSet<_>>()
        .len() as i64;
    let mut counts: std::collections::BTreeMap<(String, String), i64> = std::collections::BTreeMap::new();
    for d in &rows {
        let outcome = result(d)
            .and_then(|r| {
                r.questions.first().map(|q| {
                    q.statutory
                        .get("outcome")
                        .and_then(|o| o.as_str())
                        .unwrap_or("")
                        .to_owned()
                })
            })
            .unwrap_or_default();
        *counts.entry((d.class.clone(), outcome)).or_default() += 1;
    }
    Ok(DecisionFigures {
        compounds,
        decisions: rows.len() as i64,
        by_outcome: counts.into_iter().map(|((c, o), n)| (c, o, n)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(position: usize, kind: &str, item: usize, seats: usize) -> BallotColumn {
        BallotColumn {
            position,
            kind: kind.into(),
            item,
            item_title: format!("item {item}"),
            seats,
            text: format!("c{position}"),
        }
    }

    /// A proposal, an election of 2 among 3, a selection among 2.
    fn mixed() -> Vec<BallotColumn> {
        vec![
            col(1, "proposal", 1, 0),
            col(2, "candidate", 2, 2),
            col(3, "candidate", 2, 2),
            col(4, "candidate", 2, 2),
            col(5, "bidder", 3, 1),
            col(6, "bidder", 3, 1),
        ]
    }

    fn answers(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    fn choices(a: &[&str]) -> Vec<Option<Choice>> {
        a.iter().map(|s| Choice::parse(s).ok()).collect()
    }

    #[test]
    fn one_answer_per_question() {
        let one = [col(1, "proposal", 1, 0)];
        assert!(parse_choices(&answers(&["yes", "no"]), &one, false).is_err());
        assert!(parse_choices(&answers(&["maybe"]), &one, false).is_err());
        assert_eq!(
            parse_choices(&answers(&["no"]), &one, false).unwrap(),
            vec![Some(Choice::No)]
        );
    }

    #[test]
    fn an_election_takes_at_most_its_seats_in_yes() {
        let b = mixed();
        let ok = parse_choices(
            &answers(&["yes", "yes", "no", "yes", "abstain", "yes"]),
            &b,
            false,
        )
        .unwrap();
        assert_eq!(
            ok,
            choices(&["yes", "yes", "no", "yes", "no", "yes"]),
            "the one pick makes the other bidder a no"
        );
        // Three yes for two seats: refused online, spoiled on paper (abstain on every candidate).
        let over = answers(&["no", "yes", "yes", "yes", "yes", "no"]);
        let e = parse_choices(&over, &b, false).unwrap_err().to_string();
        assert!(e.contains("item 2") && e.contains("2"), "{e}");
        let spoiled = parse_choices(&over, &b, true).unwrap();
        assert_eq!(
            spoiled,
            choices(&["no", "abstain", "abstain", "abstain", "yes", "no"])
        );
    }

    #[test]
    fn a_selection_is_one_pick_or_none() {
        let b = mixed();
        let none = parse_choices(&answers(&["yes", "no", "no", "no", "no", "no"]), &b, false).unwrap();
        assert_eq!(
            none[4..],
            choices(&["abstain", "abstain"])[..],
            "no pick is an abstention on every bidder"
        );
        let two = answers(&["yes", "no", "no", "no", "yes", "yes"]);
        assert!(parse_choices(&two, &b, false).is_err());
        assert_eq!(
            parse_choices(&two, &b, true).unwrap()[4..],
            choices(&["abstain", "abstain"])[..]
        );
    }

    #[test]
    fn form_answers_map_a_pick_onto_the_bidders() {
        let b = mixed();
        let form = |k: &str| match k {
            "q1" => "yes".to_owned(),
            "q2" | "q3" => "yes".to_owned(),
            "q4" => "abstain".to_owned(),
            "s3" => "6".to_owned(),
            _ => String::new(),
        };
        let picked = answers_from_form(&b, form);
        assert_eq!(
            picked,
            answers(&["yes", "yes", "yes", "abstain", "abstain", "yes"])
        );
        assert_eq!(
            parse_choices(&picked, &b, false).unwrap(),
            choices(&["yes", "yes", "yes", "abstain", "no", "yes"]),
            "the bidder not picked is a no"
        );
        let none = answers_from_form(&b, |k| {
            if k.starts_with('q') {
                "no".to_owned()
            } else {
                String::new()
            }
        });
        assert_eq!(
            parse_choices(&none, &b, true).unwrap()[4..],
            choices(&["abstain", "abstain"])[..]
        );
    }
}
