//! Import of work orders the city's 12345 hotline took (issue 4 §1): an Excel or CSV export
//! of the hotline system, one ticket per row. Every row is checked first; a file with any bad
//! row is rejected whole, naming row and column. A valid file files each ticket as an order
//! with channel `hotline`, its ticket number, and deadlines counted from the time the hotline
//! received it. The ticket number is the idempotency key (`hotline:<ticket>`), so importing
//! the same file again (or after an interruption) files nothing twice.

use std::collections::HashMap;

use serde::Serialize;
use time::{OffsetDateTime, PrimitiveDateTime};
use utoipa::ToSchema;

use super::table::{Col, Mapped, RowError, col, parse_bool, read_table};
use crate::auth::{Actor, Scope};
use crate::db::Db;
use crate::orders::{CATEGORIES, NewOrder, OrderError};
use crate::settings::Settings;
use crate::sql::Sql;
use crate::{bind_params, db_read};

/// The layout (documented in docs/import.md).
pub const COLUMNS: &[Col] = &[
    col(
        "ticket",
        "工单编号",
        true,
        "12345-20261116-0001",
        "热线系统的工单编号，唯一；重复导入不会重复建单",
    ),
    col(
        "received_at",
        "受理时间",
        true,
        "2026-11-16 10:05",
        "北京时间 YYYY-MM-DD HH:MM；办理时限从此刻起算",
    ),
    col("compound_code", "小区编码", true, "XQ1", "平台中的小区编码"),
    col(
        "category",
        "诉求类别",
        true,
        "repair",
        "类别标识或中文名称，如 repair 或 报修",
    ),
    col("description", "诉求内容", true, "3号楼电梯停运", "1 至 2000 字"),
    col("place", "位置", false, "3号楼", ""),
    col("caller_name", "来电人", false, "王先生", ""),
    col(
        "caller_phone",
        "来电号码",
        false,
        "13800138000",
        "页面上对无权查看者打码显示",
    ),
    col(
        "emergency",
        "紧急",
        false,
        "否",
        "是/否；电梯、消防通道类别自动视为紧急",
    ),
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotlineReport {
    /// applied | rejected
    pub status: String,
    pub rows_total: usize,
    /// Orders filed by this import.
    pub created: usize,
    /// Tickets filed by an earlier import.
    pub already: usize,
    pub errors: Vec<RowError>,
}

/// The receipt time: `YYYY-MM-DD HH:MM[:SS]` (China time) or an Excel serial date-time.
fn parse_received(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim().replace('/', "-").replace('T', " ");
    let formats = [
        time::macros::format_description!(
            "[year]-[month padding:none]-[day padding:none] [hour padding:none]:[minute]:[second]"
        ),
        time::macros::format_description!(
            "[year]-[month padding:none]-[day padding:none] [hour padding:none]:[minute]"
        ),
    ];
    for f in formats {
        if let Ok(t) = PrimitiveDateTime::parse(&s, &f) {
            return Some(t.assume_offset(crate::clock::CST));
        }
    }
    // Excel: days since 1899-12-30, the fraction is the time of day.
    let serial: f64 = s.parse().ok()?;
    if !(1.0..200_000.0).contains(&serial) {
        return None;
    }
    let base = time::macros::datetime!(1899-12-30 00:00).assume_offset(crate::clock::CST);
    Some(base + time::Duration::seconds((serial * 86_400.0).round() as i64))
}

fn category_of(s: &str) -> Option<&'static str> {
    let s = s.trim();
    CATEGORIES
        .iter()
        .find(|c| c.0 == s || c.1 == s || c.2.eq_ignore_ascii_case(s))
        .map(|c| c.0)
}

/// Imports a hotline file. Regulators only, for compounds in their jurisdiction.
pub async fn import(
    db: &Db,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<HotlineReport, OrderError> {
    actor.require_regulator()?;
    let rejected = |errors: Vec<RowError>| HotlineReport {
        status: "rejected".into(),
        rows_total: 0,
        created: 0,
        already: 0,
        errors,
    };
    let table = match read_table(bytes, file_name) {
        Ok(t) => t,
        Err(e) => return Ok(rejected(vec![*e])),
    };
    let m = match Mapped::with_columns(&table, COLUMNS, false) {
        Ok(m) => m,
        Err(errors) => return Ok(rejected(errors)),
    };
    // The compounds the file names, within the actor's reach.
    let codes: Vec<String> = table
        .rows
        .iter()
        .map(|(_, cells)| m.get(cells, "compound_code").to_owned())
        .filter(|c| !c.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut compounds: HashMap<String, i64> = HashMap::new();
    for chunk in codes.chunks(500) {
        let mut sql = Sql::new("SELECT code, id, region_code FROM compounds WHERE code IN (");
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_text(c.clone());
        }
        sql.push(")");
        let rows: Vec<(String, i64, i64)> = db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?;
        for (code, id, region) in rows {
            let within = match &actor.scope {
                Scope::All => true,
                Scope::Region { code } => code.subtree().contains(&region),
                _ => false,
            };
            if within {
                compounds.insert(code, id);
            }
        }
    }
    let mut errors = Vec::new();
    let mut tickets: HashMap<String, u32> = HashMap::new();
    let mut plan = Vec::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let ticket = m.required(cells, row, "ticket", &mut errors);
        if let Some(t) = ticket
            && let Some(first) = tickets.insert(t.to_owned(), row)
        {
            errors.push(m.error(
                row,
                "ticket",
                t,
                format!("与第 {first} 行工单编号重复"),
                format!("same ticket as row {first}"),
            ));
        }
        let received = m.required(cells, row, "received_at", &mut errors).and_then(|v| {
            let t = parse_received(v);
            if t.is_none() {
                errors.push(m.error(
                    row,
                    "received_at",
                    v,
                    "时间格式应为 YYYY-MM-DD HH:MM",
                    "time must be YYYY-MM-DD HH:MM",
                ));
            }
            t
        });
        let compound = m
            .required(cells, row, "compound_code", &mut errors)
            .and_then(|v| {
                let c = compounds.get(v).copied();
                if c.is_none() {
                    errors.push(m.error(
                        row,
                        "compound_code",
                        v,
                        "未找到该小区（或不在您的辖区内）",
                        "no such compound in your jurisdiction",
                    ));
                }
                c
            });
        let category = m.required(cells, row, "category", &mut errors).and_then(|v| {
            let c = category_of(v);
            if c.is_none() {
                errors.push(m.error(row, "category", v, "诉求类别无效", "unknown category"));
            }
            c
        });
        let description = m.required(cells, row, "description", &mut errors).and_then(|v| {
            if v.chars().count() > 2000 {
                errors.push(m.error(
                    row,
                    "description",
                    "",
                    "诉求内容超过 2000 字",
                    "description longer than 2,000 characters",
                ));
                None
            } else {
                Some(v.to_owned())
            }
        });
        let emergency = match parse_bool(m.get(cells, "emergency")) {
            Some(b) => b,
            None => {
                let v = m.get(cells, "emergency");
                errors.push(m.error(row, "emergency", v, "应填“是”或“否”", "must be yes or no"));
                false
            }
        };
        if let (Some(t), Some(at), Some(c), Some(cat), Some(d)) =
            (ticket, received, compound, category, description)
        {
            if at > now + time::Duration::minutes(5) {
                errors.push(m.error(
                    row,
                    "received_at",
                    m.get(cells, "received_at"),
                    "受理时间晚于当前时间",
                    "received in the future",
                ));
                continue;
            }
            let new = NewOrder {
                compound_id: c,
                room_id: None,
                place: m.get(cells, "place").to_owned(),
                category: cat.to_owned(),
                description: d,
                channel: Some("hotline".into()),
                emergency,
                reporter_name: m.get(cells, "caller_name").to_owned(),
                reporter_phone: m.get(cells, "caller_phone").to_owned(),
            };
            plan.push((t.to_owned(), at, new));
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
        return Ok(rejected(errors));
    }
    let (mut created, mut already) = (0, 0);
    for (ticket, at, new) in &plan {
        let key = format!("hotline:{ticket}");
        let (_, fresh) = crate::orders::submit_received(
            db,
            actor,
            new,
            Some(&key),
            Some((ticket, *at)),
            settings,
            None,
            now,
        )
        .await?;
        if fresh {
            created += 1;
        } else {
            already += 1;
        }
    }
    tracing::info!(rows = plan.len(), created, already, "12345 hotline import");
    crate::auth::audit(
        db,
        actor,
        "import.hotline_orders",
        "work_orders",
        file_name,
        None,
        Some(serde_json::json!({ "rows": plan.len(), "created": created, "already": already })),
        now,
    )
    .await?;
    Ok(HotlineReport {
        status: "applied".into(),
        rows_total: plan.len(),
        created,
        already,
        errors: Vec::new(),
    })
}
