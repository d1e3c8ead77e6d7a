//! Reading a decision's ballot log in bulk: the frozen enrolment (`roll_subjects`) and the
//! chained events (`ballot_events`), for `BallotLog::restore`.
//!
//! The close of a large vote reads a million rows of each, and decoding them one by one
//! through sqlx costs 3–6 µs a row (docs/benchmarks.md, "the close"). So:
//!
//! * **SQLite** is read with rusqlite on a connection of its own, opened read-only on the same
//!   file: rows are visited in place, without a copy per value. (A separate connection sees
//!   the last committed state, as a pooled reader would; the roll never changes once frozen,
//!   and the close checks that no event came after the ones it read.)
//! * **PostgreSQL** joins each piece of rows into one text in the server (`string_agg`), and
//!   the pieces are read at once on several connections.
//!
//! Both hand the same fields to the same parsers; every value is checked again by the
//! re-play (`BallotLog::restore`), which names the first event that is wrong.

use std::collections::HashMap;

use wuye_model::{Area, EventKind, Hash, Sid, StoredEvent};

use super::DecisionError;
use crate::db::{Db, DbError};

/// The voting subjects' keys and pseudonyms (the roll side of the log).
pub(super) type Keys = HashMap<String, Sid>;

/// Separates the records of a packed read: no stored field holds it (owner ids, and so
/// subject keys, exclude control characters; the other fields are hex, digits and letters).
const RECORD: &str = "\u{1e}";
/// PostgreSQL: ballot events are read this many at a time, the pieces at once.
const EVENT_PIECE: i64 = 100_000;

pub(super) fn broken(seq: impl std::fmt::Display) -> DecisionError {
    DecisionError::Invalid(format!(
        "the stored ballot log is broken at event {seq} / 投票记录第 {seq} 条已损坏"
    ))
}

fn broken_roll() -> DecisionError {
    DecisionError::Invalid("the stored roll is broken / 表决名册记录已损坏".into())
}

fn join_failed(e: tokio::task::JoinError) -> DecisionError {
    DecisionError::Invalid(format!("reading the ballot log failed: {e}"))
}

/// Collects the roll's rows: `(sid, area, key)`; the key only when asked for.
#[derive(Default)]
struct Enrolment {
    subjects: Vec<(Sid, Area)>,
    keys: Keys,
}

impl Enrolment {
    fn push(&mut self, sid: &str, area: i64, key: Option<&str>) -> Result<(), DecisionError> {
        let sid = Sid::parse(sid).ok_or_else(broken_roll)?;
        self.subjects.push((sid, Area::from_hundredths(area)));
        if let Some(key) = key {
            self.keys.insert(key.to_owned(), sid);
        }
        Ok(())
    }
}

/// One event's fields as stored: `seq kind at sid answers|- by|- hash` (`None` for SQL NULL).
fn parse_event(
    seq: i64,
    kind: &str,
    at: i64,
    sid: &str,
    answers: Option<&str>,
    by: Option<&str>,
    hash: &str,
) -> Result<StoredEvent, DecisionError> {
    let parsed = (|| {
        Some(StoredEvent {
            seq: u64::try_from(seq).ok()?,
            kind: EventKind::parse(kind).ok()?,
            at,
            sid: Sid::parse(sid)?,
            answers: match answers {
                None => None,
                Some(a) => Some(wuye_model::Answers::parse(a)?),
            },
            by: match by {
                None => None,
                Some(b) => Some(Sid::parse(b)?),
            },
            hash: Hash::parse(hash)?,
        })
    })();
    parsed.ok_or_else(|| broken(seq))
}

/// The frozen enrolment, `(sid, area)` per subject, and with `keys` each subject's key.
pub(super) async fn read_enrolment(
    db: &Db,
    id: i64,
    keys: bool,
) -> Result<(Vec<(Sid, Area)>, Keys), DecisionError> {
    let out = match db {
        Db::Sqlite(s) => {
            let path = s.path.clone();
            tokio::task::spawn_blocking(move || -> Result<Enrolment, DecisionError> {
                let conn = open(&path)?;
                let sql = if keys {
                    "SELECT sid, area, subject_key FROM roll_subjects WHERE decision_id = ?1"
                } else {
                    "SELECT sid, area FROM roll_subjects WHERE decision_id = ?1"
                };
                let mut st = conn.prepare(sql).map_err(DbError::from)?;
                let mut rows = st.query([id]).map_err(DbError::from)?;
                let mut out = Enrolment::default();
                while let Some(r) = rows.next().map_err(DbError::from)? {
                    let text = |i| {
                        r.get_ref(i)
                            .and_then(|v| Ok(v.as_str()?))
                            .map_err(|_| broken_roll())
                    };
                    let area: i64 = r.get(1).map_err(|_| broken_roll())?;
                    out.push(text(0)?, area, if keys { Some(text(2)?) } else { None })?;
                }
                Ok(out)
            })
            .await
            .map_err(join_failed)??
        }
        Db::Postgres(pool) => {
            let sql = if keys {
                "SELECT string_agg(sid || ' ' || area || ' ' || subject_key, $2) FROM roll_subjects WHERE decision_id = $1"
            } else {
                "SELECT string_agg(sid || ' ' || area, $2) FROM roll_subjects WHERE decision_id = $1"
            };
            let (packed,): (Option<String>,) =
                sqlx::query_as(sql).bind(id).bind(RECORD).fetch_one(pool).await?;
            let mut out = Enrolment::default();
            for record in packed.unwrap_or_default().split(RECORD).filter(|r| !r.is_empty()) {
                let mut f = record.splitn(3, ' ');
                let (sid, area, key) = (f.next(), f.next().and_then(|a| a.parse().ok()), f.next());
                let (Some(sid), Some(area)) = (sid, area) else {
                    return Err(broken_roll());
                };
                if keys && key.is_none() {
                    return Err(broken_roll());
                }
                out.push(sid, area, key)?;
            }
            out
        }
    };
    Ok((out.subjects, out.keys))
}

/// The ballot events stored after event `after`, in order (their numbers are checked by the
/// re-play).
pub(super) async fn read_events(db: &Db, id: i64, after: i64) -> Result<Vec<StoredEvent>, DecisionError> {
    // Usually nothing is new (a cached log catching up before an append): one look at the
    // index says so, on a pooled connection. (A connection of its own first reads the whole
    // schema, about 2 ms: per ballot that cost two thirds of the casting rate.) Two subqueries:
    // SQLite finds a lone min() or max() at one end of the index, but computes `min(seq),
    // max(seq)` together by visiting every row (0.1 s before the close of a million could
    // start reading).
    let (first, last): (Option<i64>, Option<i64>) = crate::db_read!(db, pool => sqlx::query_as(
        "SELECT (SELECT min(seq) FROM ballot_events WHERE decision_id = $1 AND seq > $2), \
                (SELECT max(seq) FROM ballot_events WHERE decision_id = $1 AND seq > $2)").bind(id).bind(after).fetch_one(pool).await)?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let expected = usize::try_from(last - first + 1).unwrap_or(0);
    match db {
        Db::Sqlite(s) => {
            let path = s.path.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<StoredEvent>, DecisionError> {
                let conn = open(&path)?;
                let mut st = conn
                    .prepare(
                        "SELECT seq, kind, at, sid, answers, by_sid, hash FROM ballot_events \
                         WHERE decision_id = ?1 AND seq > ?2 ORDER BY seq",
                    )
                    .map_err(DbError::from)?;
                let mut rows = st.query([id, after]).map_err(DbError::from)?;
                let mut out = Vec::with_capacity(expected);
                while let Some(r) = rows.next().map_err(DbError::from)? {
                    let seq: i64 = r.get(0).map_err(DbError::from)?;
                    let text = |i| {
                        r.get_ref(i)
                            .and_then(|v| Ok(v.as_str_or_null()?))
                            .map_err(|_| broken(seq))
                    };
                    let need = |i| text(i)?.ok_or_else(|| broken(seq));
                    let at: i64 = r.get(2).map_err(|_| broken(seq))?;
                    out.push(parse_event(
                        seq,
                        need(1)?,
                        at,
                        need(3)?,
                        text(4)?,
                        text(5)?,
                        need(6)?,
                    )?);
                }
                Ok(out)
            })
            .await
            .map_err(join_failed)?
        }
        Db::Postgres(pool) => {
            let mut pieces = tokio::task::JoinSet::new();
            for (k, lo) in (first - 1..last).step_by(EVENT_PIECE as usize).enumerate() {
                let pool = pool.clone();
                pieces.spawn(async move {
                    let (packed,): (Option<String>,) = sqlx::query_as(
                        "SELECT string_agg(concat_ws(' ', seq, kind, at, sid, coalesce(answers, '-'), coalesce(by_sid, '-'), hash), $4) \
                         FROM ballot_events WHERE decision_id = $1 AND seq > $2 AND seq <= $3",
                    )
                    .bind(id)
                    .bind(lo)
                    .bind(lo + EVENT_PIECE)
                    .bind(RECORD)
                    .fetch_one(&pool)
                    .await?;
                    let events = packed
                        .unwrap_or_default()
                        .split(RECORD)
                        .filter(|r| !r.is_empty())
                        .map(parse_record)
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok::<_, DecisionError>((k, events))
                });
            }
            let mut got = Vec::new();
            while let Some(piece) = pieces.join_next().await {
                got.push(piece.map_err(join_failed)??);
            }
            got.sort_unstable_by_key(|(k, _)| *k);
            // A piece's rows come in the order the server visits them: sort by number.
            let mut events = Vec::with_capacity(expected);
            events.extend(got.into_iter().flat_map(|(_, e)| e));
            events.sort_unstable_by_key(|e| e.seq);
            Ok(events)
        }
    }
}

/// One packed record: the fields of [`parse_event`] joined by spaces, `-` for NULL.
fn parse_record(record: &str) -> Result<StoredEvent, DecisionError> {
    let f: Vec<&str> = record.split(' ').collect();
    let first = f.first().copied().unwrap_or("?");
    let [seq, kind, at, sid, answers, by, hash] = f.as_slice() else {
        return Err(broken(first));
    };
    let seq: i64 = seq.parse().map_err(|_| broken(first))?;
    let at: i64 = at.parse().map_err(|_| broken(seq))?;
    fn or_null(s: &str) -> Option<&str> {
        (s != "-").then_some(s)
    }
    parse_event(seq, kind, at, sid, or_null(answers), or_null(by), hash)
}

/// A read-only connection of its own on the SQLite file (WAL: it reads the last commit).
fn open(path: &std::path::Path) -> Result<rusqlite::Connection, DbError> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}
