//! In-app notifications: to one person (a reporter, an assigned staff member, an owner called
//! to vote) or to the staff of one authority (a region: the supervising level an order
//! escalated to). Each person reads them at `/notifications` and `GET /api/v1/notifications`.
//! SMS or other channels plug in where a row is written (see ARCHITECTURE.md "seams").
//!
//! **Architecture invariant:** a notification is written in the same transaction as the event
//! it tells of when that event is a batch (the sweep), and right after it otherwise; it is
//! never the record of the event itself (that is the order's timeline).

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{Actor, Denied, Scope};
use crate::db::{Db, DbError};
use crate::registry::{Listing, Page};
use crate::sql::{Param, Sql};
use crate::{bind_params, db_read, db_run};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for NotifyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub order_id: Option<i64>,
    pub text_zh: String,
    pub text_en: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub read: bool,
}

/// To one person.
pub async fn user(
    db: &Db,
    user_id: i64,
    kind: &str,
    order_id: Option<i64>,
    zh: &str,
    en: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let now = crate::clock::db_time(now);
    db_run!(db, pool => sqlx::query("INSERT INTO notifications (user_id, kind, order_id, text_zh, text_en, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(user_id).bind(kind).bind(order_id).bind(zh).bind(en).bind(now).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// To every active account of a company (its administrators and staff).
pub async fn company(
    db: &Db,
    company_id: i64,
    kind: &str,
    zh: &str,
    en: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let now = crate::clock::db_time(now);
    db_run!(db, pool => sqlx::query(TO_COMPANY).bind(company_id).bind(kind).bind(zh).bind(en).bind(now).bind(false).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// [`company`]'s statement, for a caller that notifies inside its own transaction. Binds:
/// company id, kind, zh, en, time, `false`.
pub(crate) const TO_COMPANY: &str = "INSERT INTO notifications (user_id, kind, text_zh, text_en, created_at) \
    SELECT id, $2, $3, $4, $5 FROM users WHERE scope_company = $1 AND role IN ('company_admin', 'company_staff') AND disabled = $6";

/// [`region`]'s statement, for a caller that notifies inside its own transaction. Binds:
/// region code, kind, zh, en, time.
pub(crate) const TO_REGION: &str =
    "INSERT INTO notifications (region_code, kind, text_zh, text_en, created_at) VALUES ($1, $2, $3, $4, $5)";

/// To the staff of an authority (a region's inbox).
pub async fn region(
    db: &Db,
    region: i64,
    kind: &str,
    zh: &str,
    en: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let now = crate::clock::db_time(now);
    db_run!(db, pool => sqlx::query(TO_REGION)
        .bind(region).bind(kind).bind(zh).bind(en).bind(now).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// To everyone who reported an order: its own reporter and the reporters of every duplicate
/// merged into it (issue 4 §6: merging keeps every reporter informed).
pub async fn reporters(
    db: &Db,
    order_id: i64,
    kind: &str,
    zh: &str,
    en: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let now = crate::clock::db_time(now);
    let sql = "INSERT INTO notifications (user_id, kind, order_id, text_zh, text_en, created_at) \
        SELECT DISTINCT reporter_user_id, $2, $1, $3, $4, $5 FROM work_orders \
        WHERE (id = $1 OR merged_into = $1) AND reporter_user_id IS NOT NULL";
    db_run!(db, pool => sqlx::query(sql).bind(order_id).bind(kind).bind(zh).bind(en).bind(now).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// The level names of R4.3.
pub fn level_label(level: i64) -> (&'static str, &'static str) {
    match level {
        1 => ("日常督办", "daily supervision"),
        2 => ("挂牌督办", "listed supervision"),
        _ => ("约谈督办", "interview"),
    }
}

/// The text of an escalation notice, in both languages.
pub fn escalation_text(id: i64, level: i64) -> (String, String) {
    let (zh, en) = level_label(level);
    (
        format!("工单 #{id} 超期，已升级为{zh}（{level} 级），请督办"),
        format!("Order #{id} is overdue and escalated to {en} (level {level}); please supervise"),
    )
}

/// The rows telling each order's new supervising authority that it escalated: one multi-row
/// INSERT, for the sweep's transaction. `escalated` holds `(order, new level, new region)`.
pub fn escalation_rows(escalated: &[(i64, i64, i64)], now: OffsetDateTime) -> Sql {
    let now = crate::clock::db_time(now);
    let mut sql = Sql::new(
        "INSERT INTO notifications (region_code, kind, order_id, text_zh, text_en, created_at) VALUES ",
    );
    for (i, (id, level, region)) in escalated.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let (zh, en) = escalation_text(*id, *level);
        sql.push("(")
            .bind_i64(*region)
            .push(", 'order_escalated', ")
            .bind_i64(*id);
        sql.push(", ").bind_text(zh);
        sql.push(", ").bind_text(en);
        sql.push(", ").bind(Param::Ts(now)).push(")");
    }
    sql
}

/// [`escalation_rows`], written at once (an escalation outside the sweep).
pub async fn escalated(db: &Db, escalated: &[(i64, i64, i64)], now: OffsetDateTime) -> Result<(), DbError> {
    if escalated.is_empty() {
        return Ok(());
    }
    let sql = escalation_rows(escalated, now);
    db_run!(db, pool => bind_params!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.params).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// The predicate of what an actor reads: their own, and their authority's if they are staff of
/// a region (the authority is the region itself, not its subtree: a street's notices go to the
/// street's officers, not to every community below it).
fn push_recipient(sql: &mut Sql, actor: &Actor) -> Result<(), Denied> {
    actor.require_signed_in()?;
    let me = actor.user_id.unwrap_or(-1);
    sql.push(" WHERE (user_id = ").bind_i64(me);
    if let Scope::Region { code } = &actor.scope {
        sql.push(" OR region_code = ").bind_i64(code.as_i64());
    }
    sql.push(")");
    Ok(())
}

pub async fn list(db: &Db, actor: &Actor, page: &Page) -> Result<Listing<Notification>, NotifyError> {
    let mut sql = Sql::new(
        "SELECT id, kind, order_id, text_zh, text_en, created_at, read_at IS NOT NULL AS read FROM notifications",
    );
    push_recipient(&mut sql, actor)?;
    sql.push(" ORDER BY id DESC").paginate(page);
    let rows: Vec<Notification> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    Ok(Listing::from_rows(rows, page, None))
}

pub async fn unread(db: &Db, actor: &Actor) -> Result<i64, NotifyError> {
    let mut sql = Sql::new("SELECT count(*) FROM notifications");
    push_recipient(&mut sql, actor)?;
    sql.push(" AND read_at IS NULL");
    let (n,): (i64,) = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_one(pool).await)?;
    Ok(n)
}

/// Marks everything the actor can read as read. Returns how many were unread.
pub async fn mark_read(db: &Db, actor: &Actor, now: OffsetDateTime) -> Result<u64, NotifyError> {
    let mut sql = Sql::new("UPDATE notifications SET read_at = ");
    sql.bind(Param::Ts(crate::clock::db_time(now)));
    push_recipient(&mut sql, actor)?;
    sql.push(" AND read_at IS NULL");
    let n = db_run!(db, pool => bind_params!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.params).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n)
}
