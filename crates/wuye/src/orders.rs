//! Work orders (物业直通车, issue 4): submission with routing and deadlines, every step through
//! the model's state machine with the caller's authority checked here, and the escalation
//! sweep that runs exactly once per deadline on any number of instances.
//!
//! **Architecture invariant:** a step is applied with a compare-and-set on the order's state
//! (`WHERE state = <the state it was read in>`), and an escalation with a compare-and-set on
//! `next_escalation_at`; so two instances, or two people, can never both apply the same step.

use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use time::OffsetDateTime;
use utoipa::ToSchema;
use wuye_model::{
    Action, OrderFacts, OrderState, RegionCode, RegionLevel, Role, Satisfaction, VisitOutcome, step,
};

use crate::auth::{self, Actor, Denied, Scope};
use crate::db::{Db, DbError};
use crate::notify;
use crate::registry::{Listing, Page, today};
use crate::settings::Settings;
use crate::sql::{Param, Sql};
use crate::{bind_params, db_read, db_run};

/// Request categories (issue 4 §2), each with a default emergency flag (R4.5).
pub const CATEGORIES: &[(&str, &str, &str, bool)] = &[
    ("repair", "报修", "Repair", false),
    ("cleaning", "保洁", "Cleaning", false),
    ("greening", "绿化", "Greening", false),
    ("security", "安保门禁", "Security and access", false),
    ("parking", "停车", "Parking", false),
    ("fire_passage", "消防通道", "Fire passages", true),
    ("elevator", "电梯", "Elevators", true),
    ("water_leak", "漏水", "Water leaks", false),
    ("noise", "噪音", "Noise", false),
    ("fees", "收费", "Fees", false),
    ("attitude", "服务态度", "Service attitude", false),
    ("common_income", "公共收益", "Common-part income", false),
    ("other", "其他", "Other", false),
];

/// Supervision levels: 0 none, 1 daily supervision, 2 listed (挂牌), 3 interview (约谈).
pub const MAX_LEVEL: i64 = 3;
/// Working days between escalations once an order is overdue (R4.3, a city setting).
pub const ESCALATE_EVERY_DAYS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Step(#[from] wuye_model::StepError),
    #[error("the order changed meanwhile; reload it and try again / 工单已被他人更新，请刷新后重试")]
    Changed,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewOrder {
    pub compound_id: i64,
    pub room_id: Option<i64>,
    #[serde(default)]
    pub place: String,
    /// One of the category identifiers (repair, cleaning, …, other).
    pub category: String,
    pub description: String,
    /// web (default for owners), phone, walk_in, api, open311, hotline.
    pub channel: Option<String>,
    #[serde(default)]
    pub emergency: bool,
    #[serde(default)]
    pub reporter_name: String,
    #[serde(default)]
    pub reporter_phone: String,
}

/// An order as listed and shown (the reporter's phone masked).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Order {
    pub id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub room_id: Option<i64>,
    pub place: String,
    pub category: String,
    pub channel: String,
    pub description: String,
    pub reporter_user_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub state: String,
    pub emergency: bool,
    pub handler_company_id: Option<i64>,
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub supervising_region_code: i64,
    pub supervision_level: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub sign_due: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub handle_due: OffsetDateTime,
    pub extensions_used: i64,
    pub rehandles: i64,
    pub satisfaction: Option<String>,
    /// The company staff member handling it.
    pub assignee_user_id: Option<i64>,
    /// Set on a duplicate: the order it joined.
    pub merged_into: Option<i64>,
    /// What the return visit found: solved, not_solved, unreachable.
    pub visit_outcome: Option<String>,
    /// The 12345 hotline's ticket number, for orders imported from it.
    pub external_ref: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// One step on an order's timeline.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct OrderEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

const ORDER_SELECT: &str = "SELECT o.id, o.compound_id, c.name AS compound_name, o.room_id, o.place, o.category, o.channel, o.description, \
    o.reporter_user_id, o.reporter_name, o.reporter_phone, o.state, o.emergency, o.handler_company_id, o.supervising_region_code, \
    o.supervision_level, o.sign_due, o.handle_due, o.extensions_used, o.rehandles, o.satisfaction, o.assignee_user_id, \
    o.merged_into, o.visit_outcome, o.external_ref, o.created_at \
    FROM work_orders o JOIN compounds c ON c.id = o.compound_id";

fn category(id: &str) -> Option<&'static (&'static str, &'static str, &'static str, bool)> {
    CATEGORIES.iter().find(|c| c.0 == id.trim())
}

/// Files an order: routed to the compound's contracted company (or to the community when it
/// has none or is in community custody), with its sign and handling deadlines. With an
/// idempotency key, a retry returns the order the first attempt created: `(id, created)`.
pub async fn submit(
    db: &Db,
    actor: &Actor,
    new: &NewOrder,
    key: Option<&str>,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<(i64, bool), OrderError> {
    submit_received(db, actor, new, key, None, settings, None, now).await
}

/// [`submit`] through a group-commit [`OrderWriter`] (the server's path).
pub async fn submit_grouped(
    db: &Db,
    writer: &OrderWriter,
    actor: &Actor,
    new: &NewOrder,
    key: Option<&str>,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<(i64, bool), OrderError> {
    submit_received(db, actor, new, key, None, settings, Some(writer), now).await
}

/// [`submit`] for an order received earlier elsewhere (a 12345 ticket): its deadlines run from
/// `received.1`, and it keeps the hotline's ticket number `received.0`.
#[allow(clippy::too_many_arguments)]
pub async fn submit_received(
    db: &Db,
    actor: &Actor,
    new: &NewOrder,
    key: Option<&str>,
    received: Option<(&str, OffsetDateTime)>,
    settings: &Settings,
    writer: Option<&OrderWriter>,
    now: OffsetDateTime,
) -> Result<(i64, bool), OrderError> {
    let now = crate::clock::db_time(received.map(|r| r.1).unwrap_or(now));
    let role = actor.require_signed_in()?;
    let cat = category(&new.category).ok_or_else(|| {
        OrderError::Invalid(format!(
            "unknown category {:?}; expected one of {} / 诉求类别无效",
            new.category,
            CATEGORIES.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let description = new.description.trim();
    if description.is_empty() || description.chars().count() > 2000 {
        return Err(OrderError::Invalid(
            "describe the problem in 1 to 2,000 characters / 请用 1 至 2000 字描述问题".into(),
        ));
    }
    // One read routes the order and checks the reach: staff file orders only for compounds in
    // their reach; owners for any compound they report on. (A retried idempotency key is
    // caught by the insert itself, so the common path has no extra read for it.)
    let mut sql = Sql::new(
        "SELECT c.region_code, c.management_mode, (SELECT ct.company_id FROM contracts ct WHERE ct.compound_id = c.id \
         AND ct.start_date <= $1 AND ct.end_date >= $1 ORDER BY ct.start_date DESC, ct.id DESC LIMIT 1) FROM compounds c WHERE c.id = ",
    );
    sql.params.push(crate::sql::Param::Date(today()));
    sql.bind_i64(new.compound_id);
    if role != Role::Owner {
        let reach = crate::registry::CompoundQuery {
            scope: Some(actor.scope.clone()),
            ..Default::default()
        };
        reach.push_where(&mut sql, None);
    }
    let row: Option<(i64, String, Option<i64>)> = db_read!(db, pool => bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    let Some((region, mode, company)) = row else {
        return Err(Denied::Hidden.into());
    };
    let handler = if mode == "community_custody" {
        None
    } else {
        company
    };
    if let Some(room) = new.room_id {
        let ok: (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM rooms WHERE id = $1 AND compound_id = $2")
            .bind(room).bind(new.compound_id).fetch_one(pool).await)?;
        if ok.0 == 0 {
            return Err(OrderError::Invalid(
                "the room is not in this compound / 该房屋不属于此小区".into(),
            ));
        }
    }
    const CHANNELS: [&str; 6] = ["web", "phone", "walk_in", "api", "open311", "hotline"];
    let channel: &'static str = match new.channel.as_deref() {
        Some(c) if CHANNELS.contains(&c) => CHANNELS.iter().copied().find(|x| *x == c).unwrap_or("api"),
        Some(other) => {
            return Err(OrderError::Invalid(format!(
                "unknown channel {other:?} / 渠道无效"
            )));
        }
        None if role == Role::Owner => "web",
        None => "api",
    };
    let policy = settings.policy(cat.0);
    let sign_due = settings.calendar.deadline(now, policy.sign_days);
    let handle_due = settings.calendar.deadline(now, policy.handle_days);
    let (reporter_name, reporter_phone) = if role == Role::Owner {
        (auth::mask(&actor.login), actor.login.clone())
    } else {
        (
            new.reporter_name.trim().to_owned(),
            new.reporter_phone.trim().to_owned(),
        )
    };
    let row = OrderRow {
        compound_id: new.compound_id,
        room_id: new.room_id,
        place: new.place.trim().to_owned(),
        category: cat.0,
        channel,
        description: description.to_owned(),
        reporter_user_id: if role == Role::Owner { actor.user_id } else { None },
        reporter_name,
        reporter_phone,
        emergency: new.emergency || policy.emergency,
        handler,
        region,
        sign_due,
        handle_due,
        key: key.map(str::to_owned),
        now,
        external_ref: received.map(|r| r.0.to_owned()),
        actor_user_id: actor.user_id,
        actor_label: auth::display_login(&actor.login),
    };
    match writer {
        Some(w) => w.write(db, row).await,
        None => {
            write_batch(db, std::slice::from_ref(&row))
                .await
                .and_then(|mut r| r.pop().ok_or(OrderError::Changed))?
                .resolve(db)
                .await
        }
    }
}

/// A validated order, ready to be written.
#[derive(Debug, Clone)]
struct OrderRow {
    compound_id: i64,
    room_id: Option<i64>,
    place: String,
    category: &'static str,
    channel: &'static str,
    description: String,
    reporter_user_id: Option<i64>,
    reporter_name: String,
    reporter_phone: String,
    emergency: bool,
    handler: Option<i64>,
    region: i64,
    sign_due: OffsetDateTime,
    handle_due: OffsetDateTime,
    key: Option<String>,
    now: OffsetDateTime,
    external_ref: Option<String>,
    actor_user_id: Option<i64>,
    actor_label: String,
}

/// What writing one row did: created it, or found its key taken by an earlier order.
enum Written {
    Created(i64),
    KeyTaken(String),
}

impl Written {
    async fn resolve(self, db: &Db) -> Result<(i64, bool), OrderError> {
        match self {
            Written::Created(id) => Ok((id, true)),
            // The same key arrived twice at once: the other request created it.
            Written::KeyTaken(key) => by_key(db, &key)
                .await?
                .map(|id| (id, false))
                .ok_or(OrderError::Changed),
        }
    }
}

/// Writes orders and their first timeline entries in one transaction: nothing is
/// acknowledged before its commit. A row whose idempotency key is taken is skipped
/// (`ON CONFLICT DO NOTHING`, which aborts neither engine's transaction).
async fn write_batch(db: &Db, rows: &[OrderRow]) -> Result<Vec<Written>, OrderError> {
    let created: Vec<Option<i64>> = match db {
        Db::Postgres(pg) => write_batch_pg(pg, rows).await?,
        Db::Sqlite(s) => write_batch_sqlite(&s.writer, rows).await?,
    };
    Ok(rows
        .iter()
        .zip(created)
        .map(|(r, id)| match id {
            Some(id) => Written::Created(id),
            None => Written::KeyTaken(r.key.clone().unwrap_or_default()),
        })
        .collect())
}

/// The columns a new order is written with, in the order of [`order_values`].
const ORDER_COLUMNS: &str = "id, compound_id, room_id, place, category, channel, description, reporter_user_id, reporter_name, \
    reporter_phone, state, emergency, handler_company_id, supervising_region_code, sign_due, handle_due, next_escalation_at, \
    idempotency_key, created_at, updated_at, region_code, created_month, external_ref";

/// One new order's values for [`ORDER_COLUMNS`]: it escalates first when its handling is due.
fn order_values(id: i64, r: &OrderRow) -> [Param; 23] {
    [
        Param::I64(id),
        Param::I64(r.compound_id),
        Param::OptI64(r.room_id),
        Param::Text(r.place.clone()),
        Param::Text(r.category.to_owned()),
        Param::Text(r.channel.to_owned()),
        Param::Text(r.description.clone()),
        Param::OptI64(r.reporter_user_id),
        Param::Text(r.reporter_name.clone()),
        Param::Text(r.reporter_phone.clone()),
        Param::Text(OrderState::Submitted.as_str().to_owned()),
        Param::Bool(r.emergency),
        Param::OptI64(r.handler),
        Param::I64(r.region),
        Param::Ts(r.sign_due),
        Param::Ts(r.handle_due),
        Param::Ts(r.handle_due),
        Param::OptText(r.key.clone()),
        Param::Ts(r.now),
        Param::Ts(r.now),
        Param::I64(r.region),
        Param::I64(month_key(r.now)),
        Param::OptText(r.external_ref.clone()),
    ]
}

/// [`write_batch`] on SQLite: one multi-row INSERT for the batch and one for its timeline
/// entries. The ids are given explicitly (the next after the largest, read in the same
/// transaction on the one writer connection), so each row's id is known whether or not its
/// key conflicts: SQLite does not promise the order of `RETURNING` rows.
async fn write_batch_sqlite(
    pool: &sqlx::SqlitePool,
    rows: &[OrderRow],
) -> Result<Vec<Option<i64>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (top,): (i64,) = sqlx::query_as("SELECT coalesce(max(id), 0) FROM work_orders")
        .fetch_one(&mut *tx)
        .await?;
    let ids: Vec<i64> = (1..=rows.len() as i64).map(|k| top + k).collect();
    let mut insert = Sql::new(&format!("INSERT INTO work_orders ({ORDER_COLUMNS}) VALUES "));
    for (k, (id, r)) in ids.iter().zip(rows).enumerate() {
        if k > 0 {
            insert.push(", ");
        }
        insert.values_row(order_values(*id, r));
    }
    insert.push(" ON CONFLICT (idempotency_key) DO NOTHING RETURNING id");
    let text = insert.text_with_positional();
    let made: Vec<(i64,)> = bind_params!(sqlx::query_as(AssertSqlSafe(text)), insert.params)
        .fetch_all(&mut *tx)
        .await?;
    let made: std::collections::HashSet<i64> = made.into_iter().map(|m| m.0).collect();
    let created: Vec<Option<i64>> = ids.iter().map(|id| made.contains(id).then_some(*id)).collect();
    let mut events = Sql::new(
        "INSERT INTO order_events (order_id, at, actor_user_id, actor, action, from_state, to_state, note) VALUES ",
    );
    for (k, (id, r)) in created
        .iter()
        .zip(rows)
        .filter_map(|(id, r)| id.map(|id| (id, r)))
        .enumerate()
    {
        if k > 0 {
            events.push(", ");
        }
        events.values_row([
            Param::I64(id),
            Param::Ts(r.now),
            Param::OptI64(r.actor_user_id),
            Param::Text(r.actor_label.clone()),
            Param::Text("submit".into()),
            Param::OptText(None),
            Param::Text(OrderState::Submitted.as_str().to_owned()),
            Param::Text(submit_note(r).to_owned()),
        ]);
    }
    if !made.is_empty() {
        let text = events.text_with_positional();
        bind_params!(sqlx::query(AssertSqlSafe(text)), events.params)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(created)
}

/// The first timeline entry's note of a new order.
fn submit_note(r: &OrderRow) -> &'static str {
    if r.emergency { "emergency / 紧急" } else { "" }
}

/// [`write_batch`] on PostgreSQL: one statement for the whole batch, each column bound as an
/// array (`unnest`). Ids are drawn from the sequence before the insert, so each row's id is
/// known whether or not its key conflicts, and the timeline entries are written by the same
/// statement from the rows the insert returned.
async fn write_batch_pg(pg: &sqlx::PgPool, rows: &[OrderRow]) -> Result<Vec<Option<i64>>, sqlx::Error> {
    fn col<T>(rows: &[OrderRow], f: impl Fn(&OrderRow) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    let mut tx = pg.begin().await?;
    let ids: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "WITH src AS (SELECT nextval(pg_get_serial_sequence('work_orders', 'id')) AS id, u.* \
           FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], \
             $9::text[], $10::boolean[], $11::bigint[], $12::bigint[], $13::timestamptz[], $14::timestamptz[], $15::text[], \
             $16::timestamptz[], $17::bigint[], $18::text[], $19::bigint[], $20::text[], $21::text[]) WITH ORDINALITY \
           AS u (compound_id, room_id, place, category, channel, description, reporter_user_id, reporter_name, reporter_phone, \
             emergency, handler, region, sign_due, handle_due, key, at, month, external_ref, actor_user_id, actor, note, ord)), \
         ins AS (INSERT INTO work_orders (id, compound_id, room_id, place, category, channel, description, reporter_user_id, \
             reporter_name, reporter_phone, state, emergency, handler_company_id, supervising_region_code, sign_due, handle_due, \
             next_escalation_at, idempotency_key, created_at, updated_at, region_code, created_month, external_ref) \
           SELECT id, compound_id, room_id, place, category, channel, description, reporter_user_id, reporter_name, \
             reporter_phone, 'submitted', emergency, handler, region, sign_due, handle_due, handle_due, key, at, at, region, month, \
             external_ref FROM src \
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id), \
         ev AS (INSERT INTO order_events (order_id, at, actor_user_id, actor, action, from_state, to_state, note) \
           SELECT src.id, src.at, src.actor_user_id, src.actor, 'submit', NULL, 'submitted', src.note FROM src JOIN ins ON ins.id = src.id) \
         SELECT src.ord, ins.id FROM src LEFT JOIN ins ON ins.id = src.id ORDER BY src.ord",
    )
    .bind(col(rows, |r| r.compound_id))
    .bind(col(rows, |r| r.room_id))
    .bind(col(rows, |r| r.place.clone()))
    .bind(col(rows, |r| r.category))
    .bind(col(rows, |r| r.channel))
    .bind(col(rows, |r| r.description.clone()))
    .bind(col(rows, |r| r.reporter_user_id))
    .bind(col(rows, |r| r.reporter_name.clone()))
    .bind(col(rows, |r| r.reporter_phone.clone()))
    .bind(col(rows, |r| r.emergency))
    .bind(col(rows, |r| r.handler))
    .bind(col(rows, |r| r.region))
    .bind(col(rows, |r| r.sign_due))
    .bind(col(rows, |r| r.handle_due))
    .bind(col(rows, |r| r.key.clone()))
    .bind(col(rows, |r| r.now))
    .bind(col(rows, |r| month_key(r.now)))
    .bind(col(rows, |r| r.external_ref.clone()))
    .bind(col(rows, |r| r.actor_user_id))
    .bind(col(rows, |r| r.actor_label.clone()))
    .bind(col(rows, submit_note))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

type Reply = tokio::sync::oneshot::Sender<Result<(i64, bool), OrderError>>;

/// Group commit of order submissions: concurrent submissions wait in a queue and one task
/// writes whatever is waiting in one transaction (at most [`GROUP_MAX`]), then answers each.
/// One commit for many orders: the single SQLite writer (and PostgreSQL's fsync per commit)
/// stop being the bottleneck. Nothing is acknowledged before its commit; if a batch fails,
/// each of its orders is retried alone, so one bad row cannot fail the others.
#[derive(Debug, Default)]
pub struct OrderWriter {
    queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<(OrderRow, Reply)>>,
}

/// The most orders one group commit writes.
pub const GROUP_MAX: usize = 128;

impl OrderWriter {
    async fn write(&self, db: &Db, row: OrderRow) -> Result<(i64, bool), OrderError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(4 * GROUP_MAX);
            let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
            // SQLite has one writer connection; PostgreSQL commits two batches at once (each
            // writer holds a pooled connection while it commits; the rest serve the reads).
            let writers = match db {
                Db::Sqlite(_) => 1,
                Db::Postgres(_) => 2,
            };
            for _ in 0..writers {
                tokio::spawn(group_commit(db.clone(), rx.clone()));
            }
            tx
        });
        let (reply, answer) = tokio::sync::oneshot::channel();
        if queue.send((row.clone(), reply)).await.is_err() {
            // The writer task is gone (runtime shutting down): write it here.
            return match write_batch(db, std::slice::from_ref(&row)).await?.pop() {
                Some(w) => w.resolve(db).await,
                None => Err(OrderError::Changed),
            };
        }
        answer.await.map_err(|_| OrderError::Changed)?
    }
}

type Queue = std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<(OrderRow, Reply)>>>;

async fn group_commit(db: Db, queue: Queue) {
    loop {
        // Take whatever is waiting (at least one), then let another writer take the next batch.
        let batch = {
            let mut rx = queue.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < GROUP_MAX {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let rows: Vec<OrderRow> = batch.iter().map(|(r, _)| r.clone()).collect();
        match write_batch(&db, &rows).await {
            Ok(written) => {
                for ((_, reply), w) in batch.into_iter().zip(written) {
                    let _ = reply.send(w.resolve(&db).await);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, orders = rows.len(), "group commit failed; writing one by one");
                for (row, reply) in batch {
                    let one = match write_batch(&db, std::slice::from_ref(&row)).await {
                        Ok(mut w) => match w.pop() {
                            Some(w) => w.resolve(&db).await,
                            None => Err(OrderError::Changed),
                        },
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(one);
                }
            }
        }
    }
}

async fn by_key(db: &Db, key: &str) -> Result<Option<i64>, OrderError> {
    // The reader sees every committed order (WAL), and only committed orders were acknowledged.
    let row: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM work_orders WHERE idempotency_key = $1").bind(key).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

#[allow(clippy::too_many_arguments)]
async fn event(
    db: &Db,
    order: i64,
    actor: &Actor,
    action: &str,
    from: Option<OrderState>,
    to: OrderState,
    note: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let who = if actor.login.is_empty() {
        "system".to_owned()
    } else {
        auth::display_login(&actor.login)
    };
    let sql = "INSERT INTO order_events (order_id, at, actor_user_id, actor, action, from_state, to_state, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    db_run!(db, pool => sqlx::query(sql).bind(order).bind(now).bind(actor.user_id).bind(who).bind(action)
        .bind(from.map(OrderState::as_str)).bind(to.as_str()).bind(note).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// The predicate of which orders an actor sees, on alias `o` (and `c` for the compound).
fn push_order_scope(sql: &mut Sql, actor: &Actor) -> Result<(), Denied> {
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
        Scope::Company { company_id } => {
            sql.push(" AND o.handler_company_id = ").bind_i64(*company_id);
        }
        Scope::Compound { compound_id } => {
            sql.push(" AND o.compound_id = ").bind_i64(*compound_id);
        }
        Scope::Owner { user_id } => {
            // Their own orders, and those their duplicates were merged into (issue 4 §6).
            sql.push(" AND (o.reporter_user_id = ")
                .bind_i64(*user_id)
                .push(" OR o.id IN (SELECT m.merged_into FROM work_orders m WHERE m.reporter_user_id = ")
                .bind_i64(*user_id)
                .push(" AND m.merged_into IS NOT NULL))");
        }
        Scope::Public => return Err(Denied::SignIn),
    }
    Ok(())
}

/// Filters of the order list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// One state identifier.
    pub state: Option<String>,
    #[serde(default, deserialize_with = "crate::registry::empty_as_none")]
    #[param(value_type = Option<i64>)]
    pub compound: Option<i64>,
    /// Only orders under supervision (escalated).
    #[serde(default, deserialize_with = "crate::registry::empty_as_none")]
    #[param(value_type = Option<bool>)]
    pub escalated: Option<bool>,
    /// Only orders assigned to the caller.
    #[serde(default, deserialize_with = "crate::registry::empty_as_none")]
    #[param(value_type = Option<bool>)]
    pub mine: Option<bool>,
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    f: &OrderFilter,
    page: &Page,
) -> Result<Listing<Order>, OrderError> {
    let mut where_ = Sql::new(" WHERE 1 = 1");
    push_order_scope(&mut where_, actor)?;
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        let s = OrderState::parse(s).map_err(|e| OrderError::Invalid(e.to_string()))?;
        where_.push(" AND o.state = ").bind_text(s.as_str());
    }
    if let Some(c) = f.compound {
        where_.push(" AND o.compound_id = ").bind_i64(c);
    }
    if f.escalated == Some(true) {
        where_.push(" AND o.supervision_level > 0");
    }
    if f.mine == Some(true) {
        where_
            .push(" AND o.assignee_user_id = ")
            .bind_i64(actor.user_id.unwrap_or(-1));
    }
    let mut sql = Sql::new(ORDER_SELECT);
    sql.push(&where_.text);
    sql.params = where_.params.clone();
    sql.push(" ORDER BY o.id DESC").paginate(page);
    let count = format!(
        "SELECT count(*) FROM work_orders o JOIN compounds c ON c.id = o.compound_id{}",
        where_.text
    );
    let (mut rows, total): (Vec<Order>, i64) = db_read!(db, pool => {
        let rows = bind_params!(sqlx::query_as::<_, Order>(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await?;
        let (t,): (i64,) = bind_params!(sqlx::query_as(AssertSqlSafe(count)), where_.params).fetch_one(pool).await?;
        (rows, t)
    });
    mask_rows(&mut rows, actor);
    Ok(Listing::from_rows(rows, page, Some(total)))
}

fn mask_rows(rows: &mut [Order], actor: &Actor) {
    // Handlers need the reporter's number to call back; everyone else sees it masked.
    let handler = matches!(
        actor.role,
        Some(Role::CompanyAdmin | Role::CompanyStaff | Role::CommunityOfficer | Role::StreetOfficer)
    );
    if !handler {
        for r in rows {
            r.reporter_phone = auth::mask(&r.reporter_phone);
        }
    }
}

/// One order in the actor's scope (404 outside it) with its timeline.
pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<(Order, Vec<OrderEvent>), OrderError> {
    let order = find(db, actor, id).await?;
    let events: Vec<OrderEvent> = db_read!(db, pool => sqlx::query_as(
        "SELECT at, actor, action, from_state, to_state, note FROM order_events WHERE order_id = $1 ORDER BY id").bind(id).fetch_all(pool).await)?;
    Ok((order, events))
}

/// One order in the actor's scope (404 outside it), without its timeline.
pub async fn find(db: &Db, actor: &Actor, id: i64) -> Result<Order, OrderError> {
    let mut sql = Sql::new(ORDER_SELECT);
    sql.push(" WHERE o.id = ").bind_i64(id);
    push_order_scope(&mut sql, actor)?;
    let row: Option<Order> = db_read!(db, pool => bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_optional(pool).await)?;
    let Some(row) = row else {
        return Err(Denied::Hidden.into());
    };
    let mut v = [row];
    mask_rows(&mut v, actor);
    let [row] = v;
    Ok(row)
}

/// Who may take a step: the handling side (the company for its orders, regulators within
/// their jurisdiction), reviewers and return visitors (regulators), and the reporter (rate,
/// cancel).
pub fn may(actor: &Actor, order: &Order, action: &Action) -> bool {
    let reporter = order.reporter_user_id.is_some() && order.reporter_user_id == actor.user_id;
    let regulator = matches!(actor.scope, Scope::Region { .. } | Scope::All);
    let company =
        matches!(actor.scope, Scope::Company { company_id } if Some(company_id) == order.handler_company_id);
    match action {
        Action::Rate { .. } | Action::Cancel { .. } => reporter,
        Action::Review { .. } | Action::ReturnVisit { .. } | Action::Close | Action::CloseUnrated => {
            regulator
        }
        _ => company || regulator,
    }
}

/// Takes a step on an order.
pub async fn act(
    db: &Db,
    actor: &Actor,
    id: i64,
    action: &Action,
    note: &str,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<Order, OrderError> {
    let now = crate::clock::db_time(now);
    let order = find(db, actor, id).await?;
    if !may(actor, &order, action) {
        return Err(Denied::Role.into());
    }
    let state = OrderState::parse(&order.state).map_err(|e| OrderError::Invalid(e.to_string()))?;
    let facts = OrderFacts {
        state,
        extensions_used: order.extensions_used as u32,
        rehandles: order.rehandles as u32,
    };
    let policy = settings.policy(&order.category).sla();
    let calendar = &settings.calendar;
    let outcome = step(facts, action, &policy)?;
    // The order a duplicate joins, and the state it was read in (for its timeline entry).
    let merge_target = match action {
        Action::Merge { into } => Some((*into, check_merge_target(db, actor, &order, *into).await?)),
        _ => None,
    };
    let mut handle_due = order.handle_due;
    let mut next_escalation: Option<OffsetDateTime> = match outcome.next {
        s if s.is_open() => Some(order.handle_due),
        _ => None,
    };
    if let Some(days) = outcome.extend_by {
        handle_due = calendar.deadline(order.handle_due - time::Duration::seconds(1), days);
        next_escalation = Some(handle_due);
    }
    if outcome.rehandle {
        handle_due = calendar.deadline(now, policy.handle_days);
        next_escalation = Some(handle_due);
    }
    let (mut level, mut region) = (order.supervision_level, order.supervising_region_code);
    if outcome.escalate {
        (level, region) = escalate_one(level, region);
    }
    let satisfaction = match action {
        Action::Rate { satisfaction } => Some(satisfaction.as_str()),
        Action::CloseUnrated => Some("not_rated"),
        _ => None,
    };
    let visit = match action {
        Action::ReturnVisit { outcome } => Some(outcome.as_str()),
        _ => None,
    };
    let merged_into = match action {
        Action::Merge { into } => Some(*into),
        _ => None,
    };
    // Awaiting the owner's rating: the order closes itself unrated after `rate_days`.
    let rate_due = match outcome.next {
        OrderState::Reviewed if state != OrderState::Reviewed => {
            Some(calendar.deadline(now, policy.rate_days))
        }
        OrderState::Reviewed | OrderState::ReturnVisited => order_rate_due(db, id).await?,
        _ => None,
    };
    let sql = "UPDATE work_orders SET state = $3, handle_due = $4, next_escalation_at = $5, extensions_used = extensions_used + $6, \
        rehandles = rehandles + $7, supervision_level = $8, supervising_region_code = $9, satisfaction = coalesce($10, satisfaction), \
        updated_at = $11, closed_at = CASE WHEN $3 IN ('closed', 'declined', 'cancelled', 'merged') THEN $11 ELSE closed_at END, \
        signed_at = CASE WHEN $3 = 'signed' AND signed_at IS NULL THEN $11 ELSE signed_at END, \
        replied_at = CASE WHEN $3 = 'replied' AND replied_at IS NULL THEN $11 ELSE replied_at END, \
        visit_outcome = coalesce($12, visit_outcome), merged_into = coalesce($13, merged_into), rate_due = $14 \
        WHERE id = $1 AND state = $2";
    let n = db_run!(db, pool => sqlx::query(sql).bind(id).bind(state.as_str()).bind(outcome.next.as_str()).bind(handle_due)
        .bind(next_escalation).bind(i64::from(outcome.extend_by.is_some())).bind(i64::from(outcome.rehandle)).bind(level).bind(region)
        .bind(satisfaction).bind(now).bind(visit).bind(merged_into).bind(rate_due).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(OrderError::Changed);
    }
    let (name, name_zh) = action.name();
    let mut text = note.trim().to_owned();
    if let Action::Decline { reason }
    | Action::Return { reason }
    | Action::Cancel { reason }
    | Action::Extend { reason, .. } = action
    {
        text = reason.trim().to_owned();
    }
    if let Some(v) = visit
        && let Some(o) = VisitOutcome::parse(v)
    {
        text = format!("{} / {} {text}", o.label_zh(), o.label_en())
            .trim()
            .to_owned();
    }
    if let Some(into) = merged_into {
        text = format!("#{into} {text}").trim().to_owned();
    }
    event(db, id, actor, name, Some(state), outcome.next, &text, now).await?;
    if let Some((into, into_state)) = merge_target {
        event(
            db,
            into,
            actor,
            "merge in",
            Some(into_state),
            into_state,
            &format!("#{id}"),
            now,
        )
        .await?;
    }
    // Everyone who reported this problem hears of every step but their own.
    if !matches!(action, Action::Rate { .. } | Action::Cancel { .. }) {
        let (zh, en) = (outcome.next.label_zh(), outcome.next.label_en());
        notify::reporters(
            db,
            id,
            "order_step",
            &format!("您的工单 #{id} {name_zh}：{zh}"),
            &format!("Your order #{id}: {name} — now {en}"),
            now,
        )
        .await?;
    }
    if outcome.escalate {
        event(
            db,
            id,
            actor,
            "escalate",
            Some(outcome.next),
            outcome.next,
            &format!("level {level}, region {region:012}"),
            now,
        )
        .await?;
        notify::escalated(db, &[(id, level, region)], now).await?;
    }
    find(db, actor, id).await
}

async fn order_rate_due(db: &Db, id: i64) -> Result<Option<OffsetDateTime>, OrderError> {
    let row: Option<(Option<OffsetDateTime>,)> = db_read!(db, pool => sqlx::query_as("SELECT rate_due FROM work_orders WHERE id = $1")
        .bind(id).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.0))
}

/// A duplicate may join an open order of the same compound that the actor can see. Returns
/// the target's state.
async fn check_merge_target(
    db: &Db,
    actor: &Actor,
    dup: &Order,
    into: i64,
) -> Result<OrderState, OrderError> {
    let invalid = |en: &str, zh: &str| Err(OrderError::Invalid(format!("{en} / {zh}")));
    if into == dup.id {
        return invalid("an order cannot be merged into itself", "工单不能合并到自身");
    }
    let target = match find(db, actor, into).await {
        Ok(t) => t,
        Err(OrderError::Denied(Denied::Hidden)) => {
            return invalid(
                &format!("order #{into} was not found"),
                &format!("未找到工单 #{into}"),
            );
        }
        Err(e) => return Err(e),
    };
    if target.compound_id != dup.compound_id {
        return invalid(
            "only orders of the same compound can be merged",
            "只能合并同一小区的工单",
        );
    }
    match OrderState::parse(&target.state) {
        Ok(s) if !s.is_final() => Ok(s),
        _ => invalid(
            &format!("order #{into} is finished"),
            &format!("工单 #{into} 已结束"),
        ),
    }
}

/// Assigns an order to a staff member of its handling company (company administrators and
/// regulators); the staff member finds it under "mine". Not a state change: a timeline entry.
pub async fn assign(
    db: &Db,
    actor: &Actor,
    id: i64,
    user: i64,
    now: OffsetDateTime,
) -> Result<Order, OrderError> {
    let now = crate::clock::db_time(now);
    let order = find(db, actor, id).await?;
    let allowed = match actor.scope {
        Scope::Company { company_id } => {
            actor.role == Some(Role::CompanyAdmin) && Some(company_id) == order.handler_company_id
        }
        Scope::Region { .. } | Scope::All => true,
        _ => false,
    };
    if !allowed {
        return Err(Denied::Role.into());
    }
    let Some(company) = order.handler_company_id else {
        return Err(OrderError::Invalid(
            "the community handles this order; there is no company staff to assign / 该工单由社区办理，无企业人员可指派".into(),
        ));
    };
    let staff: Option<(String,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT login FROM users WHERE id = $1 AND role IN ('company_admin', 'company_staff') AND scope_company = $2 AND disabled = $3")
        .bind(user).bind(company).bind(false).fetch_optional(pool).await)?;
    let Some((login,)) = staff else {
        return Err(OrderError::Invalid(
            "choose a staff member of the handling company / 请选择承办企业的工作人员".into(),
        ));
    };
    let state = OrderState::parse(&order.state).map_err(|e| OrderError::Invalid(e.to_string()))?;
    if state.is_final() {
        return Err(OrderError::Invalid("the order is finished / 工单已结束".into()));
    }
    let n = db_run!(db, pool => sqlx::query("UPDATE work_orders SET assignee_user_id = $2, updated_at = $3 WHERE id = $1 AND state = $4")
        .bind(id).bind(user).bind(now).bind(state.as_str()).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(OrderError::Changed);
    }
    event(
        db,
        id,
        actor,
        "assign",
        Some(state),
        state,
        &auth::display_login(&login),
        now,
    )
    .await?;
    notify::user(
        db,
        user,
        "order_assigned",
        Some(id),
        &format!("工单 #{id} 已指派给您"),
        &format!("Order #{id} was assigned to you"),
        now,
    )
    .await?;
    find(db, actor, id).await
}

/// The staff an order can be assigned to: active accounts of its handling company.
pub async fn assignable(db: &Db, order: &Order) -> Result<Vec<(i64, String)>, OrderError> {
    let Some(company) = order.handler_company_id else {
        return Ok(Vec::new());
    };
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT id, display_name FROM users WHERE role IN ('company_admin', 'company_staff') AND scope_company = $1 AND disabled = $2 ORDER BY id")
        .bind(company).bind(false).fetch_all(pool).await)?)
}

/// One escalation: the level rises (to at most 3) and the supervising authority moves up the
/// jurisdiction chain community → street → district → city (R4.3: two separate fields).
fn escalate_one(level: i64, region: i64) -> (i64, i64) {
    let up = RegionCode::from_i64(region)
        .ok()
        .filter(|r| r.level() > RegionLevel::City)
        .and_then(RegionCode::parent)
        .map(RegionCode::as_i64)
        .unwrap_or(region);
    ((level + 1).min(MAX_LEVEL), up)
}

/// The periodic job of every instance: escalates overdue orders and closes the unrated ones.
/// Returns `(escalations, closed unrated)`.
pub async fn sweep_all(db: &Db, settings: &Settings, now: OffsetDateTime) -> Result<(u64, u64), OrderError> {
    Ok((sweep(db, settings, now).await?, close_unrated(db, now).await?))
}

/// The most due orders one pass of the sweep reads (and then claims in one transaction, or
/// on PostgreSQL in two halves at once).
const SWEEP_BATCH: i64 = 2000;

/// Escalates every open order whose escalation time has passed, exactly once per deadline,
/// also with several sweepers at once (each row is claimed by a compare-and-set on
/// `next_escalation_at`). Catches up after downtime. Returns how many escalations it made.
/// The new supervising authority is notified of each.
pub async fn sweep(db: &Db, settings: &Settings, now: OffsetDateTime) -> Result<u64, OrderError> {
    let now = crate::clock::db_time(now);
    let mut total = 0;
    loop {
        let due: Vec<(i64, OffsetDateTime, i64, i64)> = db_run!(db, pool => sqlx::query_as(
            "SELECT id, next_escalation_at, supervision_level, supervising_region_code FROM work_orders \
             WHERE next_escalation_at <= $1 ORDER BY next_escalation_at, id LIMIT $2").bind(now).bind(SWEEP_BATCH).fetch_all(pool).await)?;
        if due.is_empty() {
            break;
        }
        let work: Vec<Escalation> = due
            .iter()
            .map(|(id, at, level, region)| {
                let (new_level, new_region) = escalate_one(*level, *region);
                // The next escalation follows another period overdue, until the top level.
                let next = (new_level < MAX_LEVEL).then(|| {
                    settings
                        .calendar
                        .deadline(*at - time::Duration::seconds(1), ESCALATE_EVERY_DAYS)
                });
                (*id, *at, new_level, new_region, next)
            })
            .collect();
        // One transaction per batch: one compare-and-set UPDATE over the whole batch (a row
        // whose `next_escalation_at` moved meanwhile is not matched), then the timeline
        // entries and notifications of the rows it did claim, each as one multi-row INSERT.
        let mut update = Sql::new("WITH v (id, at, lvl, region, nxt) AS (VALUES ");
        for (i, (id, at, level, region, next)) in work.iter().enumerate() {
            if i > 0 {
                update.push(", ");
            }
            update
                .push("(")
                .bind_i64(*id)
                .push(", ")
                .bind(crate::sql::Param::Ts(*at));
            update
                .push(", ")
                .bind_i64(*level)
                .push(", ")
                .bind_i64(*region)
                .push(", ");
            update.bind(crate::sql::Param::OptTs(*next)).push(")");
        }
        update.push(
            ") UPDATE work_orders SET supervision_level = v.lvl, supervising_region_code = v.region, next_escalation_at = v.nxt, updated_at = ",
        );
        update.bind(crate::sql::Param::Ts(now));
        update.push(" FROM v WHERE work_orders.id = v.id AND work_orders.next_escalation_at = v.at \
            RETURNING work_orders.id, work_orders.supervision_level, work_orders.supervising_region_code, work_orders.state");
        let claimed: Vec<(i64, i64, i64, String)> = if let Db::Postgres(pg) = db {
            // Two halves at once on two connections: the rows are disjoint, and PostgreSQL
            // spends the time in the updates' index entries and WAL, which run in parallel.
            let (a, b) = work.split_at(work.len().div_ceil(2));
            let (a, b) = tokio::join!(claim_batch_pg(pg, a, now), claim_batch_pg(pg, b, now));
            let mut claimed = a?;
            claimed.extend(b?);
            claimed
        } else {
            db_run!(db, pool => async {
            let mut tx = pool.begin().await?;
            let claimed: Vec<(i64, i64, i64, String)> =
                bind_params!(sqlx::query_as(AssertSqlSafe(update.text_for(db))), update.params.clone()).fetch_all(&mut *tx).await?;
            if !claimed.is_empty() {
                let events = escalation_events(&claimed, now);
                bind_params!(sqlx::query(AssertSqlSafe(events.text_for(db))), events.params).execute(&mut *tx).await?;
                let notes = notify::escalation_rows(&claimed.iter().map(|c| (c.0, c.1, c.2)).collect::<Vec<_>>(), now);
                bind_params!(sqlx::query(AssertSqlSafe(notes.text_for(db))), notes.params).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(claimed)
        }.await)?
        };
        let done = claimed.len() as u64;
        total += done;
        // Loop while due orders remain: an order overdue for several periods (after downtime)
        // climbs one level per passed deadline, each exactly once. A pass that escalates
        // nothing (every row taken by another sweeper meanwhile) ends the run, so a row whose
        // compare-and-set can never match cannot keep the sweep spinning.
        if done == 0 {
            break;
        }
    }
    if total > 0 {
        tracing::info!(escalations = total, "escalation sweep");
    }
    Ok(total)
}

/// One planned escalation: order, its `next_escalation_at` as read, new level, new region,
/// the next escalation time.
type Escalation = (i64, OffsetDateTime, i64, i64, Option<OffsetDateTime>);

/// The sweep's batch on PostgreSQL: the same compare-and-set, timeline and notifications,
/// with each column bound as one array (`unnest`), so a batch of 2,000 binds 11 parameters
/// instead of 26,000.
async fn claim_batch_pg(
    pg: &sqlx::PgPool,
    work: &[Escalation],
    now: OffsetDateTime,
) -> Result<Vec<(i64, i64, i64, String)>, sqlx::Error> {
    let col = |f: fn(&Escalation) -> i64| work.iter().map(f).collect::<Vec<i64>>();
    let ats: Vec<OffsetDateTime> = work.iter().map(|w| w.1).collect();
    let nexts: Vec<Option<OffsetDateTime>> = work.iter().map(|w| w.4).collect();
    let mut tx = pg.begin().await?;
    let claimed: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "UPDATE work_orders SET supervision_level = v.lvl, supervising_region_code = v.region, next_escalation_at = v.nxt, updated_at = $6 \
         FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::timestamptz[]) AS v (id, at, lvl, region, nxt) \
         WHERE work_orders.id = v.id AND work_orders.next_escalation_at = v.at \
         RETURNING work_orders.id, work_orders.supervision_level, work_orders.supervising_region_code, work_orders.state",
    )
    .bind(col(|w| w.0)).bind(ats).bind(col(|w| w.2)).bind(col(|w| w.3)).bind(nexts).bind(now)
    .fetch_all(&mut *tx)
    .await?;
    if !claimed.is_empty() {
        let ids: Vec<i64> = claimed.iter().map(|c| c.0).collect();
        let states: Vec<String> = claimed.iter().map(|c| c.3.clone()).collect();
        let notes: Vec<String> = claimed
            .iter()
            .map(|(_, l, r, _)| format!("level {l}, region {r:012}"))
            .collect();
        sqlx::query(
            "INSERT INTO order_events (order_id, at, actor, action, from_state, to_state, note) \
             SELECT x.id, $2, 'system', 'escalate', x.st, x.st, x.note FROM unnest($1::bigint[], $3::text[], $4::text[]) AS x (id, st, note)",
        )
        .bind(&ids).bind(now).bind(states).bind(notes)
        .execute(&mut *tx)
        .await?;
        let regions: Vec<i64> = claimed.iter().map(|c| c.2).collect();
        let (zh, en): (Vec<String>, Vec<String>) = claimed
            .iter()
            .map(|(id, l, _, _)| notify::escalation_text(*id, *l))
            .unzip();
        sqlx::query(
            "INSERT INTO notifications (region_code, kind, order_id, text_zh, text_en, created_at) \
             SELECT x.r, 'order_escalated', x.id, x.zh, x.en, $5 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS x (r, id, zh, en)",
        )
        .bind(regions).bind(&ids).bind(zh).bind(en).bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

fn escalation_events(claimed: &[(i64, i64, i64, String)], now: OffsetDateTime) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO order_events (order_id, at, actor, action, from_state, to_state, note) VALUES ",
    );
    for (i, (id, level, region, state)) in claimed.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind_i64(*id)
            .push(", ")
            .bind(crate::sql::Param::Ts(now));
        sql.push(", 'system', 'escalate', ")
            .bind_text(state.clone())
            .push(", ")
            .bind_text(state.clone());
        sql.push(", ")
            .bind_text(format!("level {level}, region {region:012}"))
            .push(")");
    }
    sql
}

/// Closes every reviewed order whose owner did not rate it by its `rate_due`: state closed,
/// satisfaction "not_rated" (never counted as satisfied, R4.6). Exactly once per order, also
/// with several sweepers (compare-and-set on state and `rate_due`).
pub async fn close_unrated(db: &Db, now: OffsetDateTime) -> Result<u64, OrderError> {
    let now = crate::clock::db_time(now);
    let due: Vec<(i64, String, OffsetDateTime)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, state, rate_due FROM work_orders WHERE rate_due <= $1 AND state IN ('reviewed', 'return_visited') ORDER BY rate_due, id LIMIT 2000")
        .bind(now).fetch_all(pool).await)?;
    let (name, name_zh) = Action::CloseUnrated.name();
    let mut done = 0;
    for (id, state, at) in due {
        let n = db_run!(db, pool => async {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE work_orders SET state = 'closed', satisfaction = 'not_rated', rate_due = NULL, closed_at = $3, \
                updated_at = $3 WHERE id = $1 AND rate_due = $2 AND state = $4")
                .bind(id).bind(at).bind(now).bind(&state).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("INSERT INTO order_events (order_id, at, actor, action, from_state, to_state, note) \
                    VALUES ($1, $2, 'system', $3, $4, 'closed', $5)")
                    .bind(id).bind(now).bind(name).bind(&state).bind(format!("{name_zh} / not rated")).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        }.await)?;
        done += n;
    }
    if done > 0 {
        tracing::info!(closed_unrated = done, "unrated orders closed");
    }
    Ok(done)
}

/// Parses the action body of the API and the pages.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ActionBody {
    /// sign, decline, dispatch, return, start, extend, reply, review, rate, return_visit, close, cancel
    pub action: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub note: String,
    pub days: Option<u32>,
    pub approved: Option<bool>,
    /// satisfied, basic, dissatisfied
    pub satisfaction: Option<String>,
    /// return_visit: solved, not_solved, unreachable
    pub outcome: Option<String>,
    /// merge: the order this duplicate joins
    pub into: Option<i64>,
    /// assign: the staff member's user id
    pub assignee: Option<i64>,
}

/// Applies an action body: `assign` (not a state change) or a step.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    id: i64,
    body: &ActionBody,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<Order, OrderError> {
    if body.action == "assign" {
        let user = body
            .assignee
            .ok_or_else(|| OrderError::Invalid("choose a staff member / 请选择工作人员".into()))?;
        return assign(db, actor, id, user, now).await;
    }
    act(db, actor, id, &body.action()?, &body.note, settings, now).await
}

impl ActionBody {
    pub fn action(&self) -> Result<Action, OrderError> {
        let reason = self.reason.clone();
        Ok(match self.action.as_str() {
            "sign" => Action::Sign,
            "decline" => Action::Decline { reason },
            "dispatch" => Action::Dispatch,
            "return" => Action::Return { reason },
            "start" => Action::Start,
            "extend" => Action::Extend {
                days: self.days.unwrap_or(0),
                reason,
            },
            "reply" => Action::Reply,
            "review" => Action::Review {
                approved: self.approved.unwrap_or(true),
            },
            "rate" => Action::Rate {
                satisfaction: self
                    .satisfaction
                    .as_deref()
                    .and_then(Satisfaction::parse)
                    .ok_or_else(|| {
                        OrderError::Invalid(
                            "satisfaction must be satisfied, basic or dissatisfied / 请选择满意度".into(),
                        )
                    })?,
            },
            "return_visit" => Action::ReturnVisit {
                outcome: self
                    .outcome
                    .as_deref()
                    .and_then(VisitOutcome::parse)
                    .ok_or_else(|| {
                        OrderError::Invalid(
                            "outcome must be solved, not_solved or unreachable / 请选择回访结果".into(),
                        )
                    })?,
            },
            "merge" => Action::Merge {
                into: self.into.ok_or_else(|| {
                    OrderError::Invalid("give the order number to merge into / 请填写要合并到的工单号".into())
                })?,
            },
            "close" => Action::Close,
            "cancel" => Action::Cancel { reason },
            other => {
                return Err(OrderError::Invalid(format!(
                    "unknown action {other:?} / 未知操作"
                )));
            }
        })
    }
}

/// One month's volume.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthVolume {
    /// YYYY-MM (China time).
    pub month: String,
    pub volume: i64,
}

/// The work-order figures of a jurisdiction for one month. Every field is defined in
/// docs/figures.md; percentages come from `wuye_model::percent` and `change_percent`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    #[schema(value_type = Option<String>)]
    pub region: Option<String>,
    pub month: String,
    /// Thirteen months ending with `month`, oldest first.
    pub series: Vec<MonthVolume>,
    /// Orders filed in the month.
    pub volume: i64,
    pub mom_change_percent: Option<String>,
    pub yoy_change_percent: Option<String>,
    /// Signed for by the sign deadline ÷ orders signed or past their sign deadline.
    pub signed_on_time_percent: Option<String>,
    /// Replied to by the handling deadline ÷ orders replied or past their handling deadline.
    pub resolved_on_time_percent: Option<String>,
    /// Hours from filing to the first reply, over the orders replied to.
    pub mean_hours_to_reply: Option<String>,
    pub p90_hours_to_reply: Option<String>,
    pub rated: i64,
    pub not_rated: i64,
    /// (satisfied + basically satisfied) ÷ rated (R4.6).
    pub satisfaction_percent: Option<String>,
    /// satisfied ÷ rated, the strict share shown beside it.
    pub satisfied_only_percent: Option<String>,
    /// Orders reopened at least once ÷ orders replied to.
    pub reopen_percent: Option<String>,
    /// Orders whose supervision reached level 1, 2 and 3.
    pub escalated_by_level: [i64; 3],
}

/// YYYYMM of an instant in China time: the month an order was filed in.
pub fn month_key(t: OffsetDateTime) -> i64 {
    let d = t.to_offset(wuye_model::CST).date();
    i64::from(d.year()) * 100 + i64::from(u8::from(d.month()))
}

fn shift_month(year: i32, month: u8, by: i32) -> (i32, u8) {
    let idx = year * 12 + i32::from(month) - 1 + by;
    (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u8)
}

/// Parses "YYYY-MM".
pub fn parse_month(s: &str) -> Option<(i32, u8)> {
    let (y, m) = s.trim().split_once('-')?;
    let y: i32 = y.parse().ok()?;
    let m: u8 = m.parse().ok()?;
    (1..=12).contains(&m).then_some((y, m))
}

/// The figures of `month` over `region`'s subtree (`None`: everything), as of `now`.
pub async fn figures(
    db: &Db,
    region: Option<RegionCode>,
    month: (i32, u8),
    now: OffsetDateTime,
) -> Result<Figures, OrderError> {
    let now = crate::clock::db_time(now);
    let (lo, hi) = region
        .map(|r| (*r.subtree().start(), *r.subtree().end()))
        .unwrap_or((0, i64::MAX));
    if !(1..=12).contains(&month.1) {
        return Err(OrderError::Invalid(
            "month must be YYYY-MM / 月份格式应为 YYYY-MM".into(),
        ));
    }
    let months: Vec<(i32, u8)> = (-12..=0).map(|k| shift_month(month.0, month.1, k)).collect();
    // Volume per month: the month key and the region code are on the order, indexed together.
    let keys: Vec<i64> = months
        .iter()
        .map(|(y, m)| i64::from(*y) * 100 + i64::from(*m))
        .collect();
    let per_month: Vec<(i64, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT created_month, count(*) FROM work_orders WHERE created_month BETWEEN $1 AND $2 AND region_code BETWEEN $3 AND $4 GROUP BY created_month")
        .bind(keys[0]).bind(keys[12]).bind(lo).bind(hi).fetch_all(pool).await)?;
    let counts: Vec<i64> = keys
        .iter()
        .map(|k| per_month.iter().find(|(m, _)| m == k).map(|x| x.1).unwrap_or(0))
        .collect();
    let agg = "SELECT count(*), \
        CAST(coalesce(sum(CASE WHEN o.signed_at IS NOT NULL AND o.signed_at <= o.sign_due THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.signed_at IS NOT NULL OR o.sign_due <= $5 THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.replied_at IS NOT NULL AND o.replied_at <= o.handle_due THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.replied_at IS NOT NULL OR o.handle_due <= $5 THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.satisfaction = 'satisfied' THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.satisfaction = 'basic' THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.satisfaction = 'dissatisfied' THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.replied_at IS NOT NULL AND o.rehandles > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.replied_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.supervision_level >= 1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.supervision_level >= 2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN o.supervision_level >= 3 THEN 1 ELSE 0 END), 0) AS BIGINT) \
        FROM work_orders o WHERE o.region_code BETWEEN $1 AND $2 AND o.created_month = $3 AND $4 = $4";
    type Agg = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let a: Agg = db_read!(db, pool => sqlx::query_as(agg).bind(lo).bind(hi).bind(keys[12]).bind(0i64).bind(now).fetch_one(pool).await)?;
    let durations: Vec<(OffsetDateTime, OffsetDateTime)> = db_read!(db, pool => sqlx::query_as(
        "SELECT o.created_at, o.replied_at FROM work_orders o \
         WHERE o.region_code BETWEEN $1 AND $2 AND o.created_month = $3 AND o.replied_at IS NOT NULL")
        .bind(lo).bind(hi).bind(keys[12]).fetch_all(pool).await)?;
    let mut secs: Vec<i64> = durations
        .iter()
        .map(|(c, r)| (*r - *c).whole_seconds().max(0))
        .collect();
    secs.sort_unstable();
    let hours = |s: i64| wuye_model::percent(s, 3600 * 100);
    let mean = (!secs.is_empty())
        .then(|| secs.iter().sum::<i64>() / secs.len() as i64)
        .and_then(hours);
    // p90 by nearest rank: the smallest value with at least 90% of the values at or below it.
    let p90 = (!secs.is_empty())
        .then(|| secs[(secs.len() * 9).div_ceil(10) - 1])
        .and_then(hours);
    let (satisfied, basic, dissatisfied) = (a.5, a.6, a.7);
    let rated = satisfied + basic + dissatisfied;
    let volume = counts[12];
    Ok(Figures {
        region: region.map(|r| r.to_string()),
        month: format!("{:04}-{:02}", month.0, month.1),
        series: months
            .iter()
            .zip(&counts)
            .map(|((y, m), v)| MonthVolume {
                month: format!("{y:04}-{m:02}"),
                volume: *v,
            })
            .collect(),
        volume,
        mom_change_percent: wuye_model::change_percent(counts[11], volume),
        yoy_change_percent: wuye_model::change_percent(counts[0], volume),
        signed_on_time_percent: wuye_model::percent(a.1, a.2),
        resolved_on_time_percent: wuye_model::percent(a.3, a.4),
        mean_hours_to_reply: mean,
        p90_hours_to_reply: p90,
        rated,
        not_rated: a.0 - rated,
        satisfaction_percent: wuye_model::percent(satisfied + basic, rated),
        satisfied_only_percent: wuye_model::percent(satisfied, rated),
        reopen_percent: wuye_model::percent(a.8, a.9),
        escalated_by_level: [a.10, a.11, a.12],
    })
}

/// How close a text must be (per mille, `similarity_permille`) to be offered as a duplicate.
pub const DUPLICATE_SIMILARITY: u32 = 500;
/// Orders filed this close in time (either way) may be duplicates.
pub const DUPLICATE_WINDOW_HOURS: i64 = 48;

/// Possible duplicates of an order the actor can see: same compound and category, filed within
/// [`DUPLICATE_WINDOW_HOURS`], with similar text (or the same place). Most similar first.
pub async fn duplicates(db: &Db, actor: &Actor, id: i64) -> Result<Vec<(Order, u32)>, OrderError> {
    let order = find(db, actor, id).await?;
    let window = time::Duration::hours(DUPLICATE_WINDOW_HOURS);
    let mut sql = Sql::new(ORDER_SELECT);
    sql.push(" WHERE o.compound_id = ").bind_i64(order.compound_id);
    sql.push(" AND o.category = ").bind_text(order.category.clone());
    sql.push(" AND o.id <> ").bind_i64(id);
    sql.push(" AND o.created_at >= ")
        .bind(crate::sql::Param::Ts(order.created_at - window));
    sql.push(" AND o.created_at <= ")
        .bind(crate::sql::Param::Ts(order.created_at + window));
    push_order_scope(&mut sql, actor)?;
    sql.push(" ORDER BY o.id LIMIT 200");
    let rows: Vec<Order> = db_read!(db, pool => bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
    let mut out: Vec<(Order, u32)> = rows
        .into_iter()
        .map(|o| {
            let s = wuye_model::similarity_permille(&order.description, &o.description);
            let same_place = !order.place.is_empty() && order.place == o.place;
            (
                o,
                if same_place {
                    s.max(DUPLICATE_SIMILARITY)
                } else {
                    s
                },
            )
        })
        .filter(|(_, s)| *s >= DUPLICATE_SIMILARITY)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    let mut v: Vec<Order> = out.iter().map(|x| x.0.clone()).collect();
    mask_rows(&mut v, actor);
    Ok(v.into_iter().zip(out.into_iter().map(|x| x.1)).collect())
}

/// Photos per order at most.
pub const MAX_PHOTOS: i64 = 9;

/// Adds a photo to an order (the reporter, the handling side or a regulator in scope): checked
/// by content, stripped of metadata, stored in the file store. Returns its position (1-based).
pub async fn add_photo(
    db: &Db,
    files: &crate::files::FileStore,
    actor: &Actor,
    id: i64,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<i64, OrderError> {
    let now = crate::clock::db_time(now);
    let order = find(db, actor, id).await?;
    let reporter = order.reporter_user_id.is_some() && order.reporter_user_id == actor.user_id;
    if !(reporter || may(actor, &order, &Action::Reply)) {
        return Err(Denied::Role.into());
    }
    let (ct, clean) = crate::media::clean_photo(bytes).map_err(|e| OrderError::Invalid(e.to_string()))?;
    let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM order_photos WHERE order_id = $1").bind(id).fetch_one(pool).await)?;
    if n >= MAX_PHOTOS {
        return Err(OrderError::Invalid(
            "at most nine photos per order / 每个工单最多九张照片".into(),
        ));
    }
    let file_id = files
        .put(&clean, ct, now)
        .await
        .map_err(|e| OrderError::Db(DbError::Unsupported(e.to_string())))?;
    let sql = "INSERT INTO order_photos (order_id, position, file_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5)";
    db_run!(db, pool => sqlx::query(sql).bind(id).bind(n + 1).bind(&file_id).bind(actor.user_id).bind(now).execute(pool).await.map(|_| ()))
        .map_err(|e| {
            let e = DbError::from(e);
            // Two photos added at once took the same position: the second is asked to retry.
            if e.is_constraint() { OrderError::Changed } else { OrderError::Db(e) }
        })?;
    let state = OrderState::parse(&order.state).unwrap_or(OrderState::Submitted);
    event(
        db,
        id,
        actor,
        "photo",
        Some(state),
        state,
        &format!("#{}", n + 1),
        now,
    )
    .await?;
    Ok(n + 1)
}

/// The photo at `position` of an order the actor can see.
pub async fn photo(
    db: &Db,
    files: &crate::files::FileStore,
    actor: &Actor,
    id: i64,
    position: i64,
) -> Result<crate::files::StoredFile, OrderError> {
    find(db, actor, id).await?;
    let row: Option<(String,)> = db_read!(db, pool => sqlx::query_as("SELECT file_id FROM order_photos WHERE order_id = $1 AND position = $2")
        .bind(id).bind(position).fetch_optional(pool).await)?;
    let Some((file_id,)) = row else {
        return Err(Denied::Hidden.into());
    };
    files
        .get(&file_id)
        .await
        .map_err(|e| OrderError::Db(DbError::Unsupported(e.to_string())))?
        .ok_or_else(|| Denied::Hidden.into())
}

/// How many photos an order has.
pub async fn photo_count(db: &Db, id: i64) -> Result<i64, OrderError> {
    let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM order_photos WHERE order_id = $1").bind(id).fetch_one(pool).await)?;
    Ok(n)
}
