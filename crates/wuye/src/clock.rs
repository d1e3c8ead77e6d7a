//! Time is a parameter: the server reads it from a [`Clock`], and tests move a fixed clock
//! instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{OffsetDateTime, UtcOffset};

/// China Standard Time (UTC+8, no daylight saving): the offset of every local date wuye shows.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

#[derive(Debug, Clone)]
pub enum Clock {
    System,
    /// Unix seconds, shared so a test can move it.
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    pub fn fixed(at: OffsetDateTime) -> Self {
        Self::Fixed(Arc::new(AtomicI64::new(at.unix_timestamp())))
    }

    pub fn now(&self) -> OffsetDateTime {
        match self {
            Self::System => OffsetDateTime::now_utc(),
            Self::Fixed(t) => OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }

    pub fn advance(&self, seconds: i64) {
        if let Self::Fixed(t) = self {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

/// The form every stored instant takes: UTC, whole seconds. SQLite keeps instants as RFC 3339
/// text and compares them as text, which orders correctly only when every value has the same
/// offset and the same width; PostgreSQL's TIMESTAMPTZ does not care. Every function that
/// writes or compares an instant passes it through here.
pub fn db_time(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The China date of an instant (days, periods and deadlines are China dates).
pub fn china_date(t: OffsetDateTime) -> time::Date {
    t.to_offset(CST).date()
}
