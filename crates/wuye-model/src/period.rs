//! Assessment periods (docs/assessment.md §4): a day, an ISO week, a month, a quarter, a half
//! year or a year of China Standard Time dates.
//!
//! A period is written in exactly one of six forms — `2026-11-21`, `2026-W47`, `2026-10`,
//! `2026-Q4`, `2026-H2`, `2026` — with the letters in either case when parsed and in upper case
//! when printed. It covers the instants `[first day 00:00 +08:00, (last day + 1) 00:00 +08:00)`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset, Weekday};

use crate::calendar::CST;
use crate::enums::{EnumError, Lang};

vocabulary! {
    /// The length of an assessment period.
    PeriodKind ("period kind", "考核期类型") {
        Day = "day", "日", "Day";
        Week = "week", "周", "Week";
        Month = "month", "月", "Month";
        Quarter = "quarter", "季度", "Quarter";
        Half = "half", "半年", "Half year";
        Year = "year", "年", "Year";
    }
}

impl PeriodKind {
    /// True for the kinds made of whole calendar months (month, quarter, half, year): their
    /// orders are selected by `created_month`.
    pub const fn is_month_aligned(self) -> bool {
        !matches!(self, Self::Day | Self::Week)
    }
}

/// The first year a period may lie in.
pub const FIRST_YEAR: i32 = 2000;

/// Why a text is not a period. The message names the six accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a period; write a day 2026-11-21, an ISO week 2026-W47, a month 2026-10, a quarter \
     2026-Q4, a half year 2026-H2 or a year 2026 (from the year 2000) / {text:?} 不是有效的考核期，应写作：\
     日 2026-11-21、ISO 周 2026-W47、月 2026-10、季度 2026-Q4、半年 2026-H2 或年 2026（2000 年起）"
)]
pub struct PeriodError {
    /// The refused text.
    pub text: String,
}

/// An assessment period: a run of whole China dates of one [`PeriodKind`].
///
/// Ordered by first day, then last day, then kind, so that periods sort chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    starts_on: Date,
    ends_on: Date,
    kind: PeriodKind,
}

impl Period {
    /// Parses one of the six forms (letters in either case; surrounding blanks ignored).
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let err = || PeriodError {
            text: text.to_owned(),
        };
        let s = text.trim().as_bytes();
        if s.len() < 4 || !s[..4].iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let year = i32::from(digits(&s[..4]).ok_or_else(err)?);
        if year < FIRST_YEAR {
            return Err(err());
        }
        let rest = &s[4..];
        let period = match rest {
            [] => Self::year(year),
            [b'-', m1, m2] if m1.is_ascii_digit() => {
                let month = month_of(digits(&[*m1, *m2]).ok_or_else(err)?).ok_or_else(err)?;
                Self::month(year, month)
            }
            [b'-', m1, m2, b'-', d1, d2] => {
                let month = month_of(digits(&[*m1, *m2]).ok_or_else(err)?).ok_or_else(err)?;
                let day = u8::try_from(digits(&[*d1, *d2]).ok_or_else(err)?).map_err(|_| err())?;
                Date::from_calendar_date(year, month, day)
                    .ok()
                    .and_then(|d| Self::containing(PeriodKind::Day, d))
            }
            [b'-', b'W' | b'w', w1, w2] => {
                let week = u8::try_from(digits(&[*w1, *w2]).ok_or_else(err)?).map_err(|_| err())?;
                Self::week(year, week)
            }
            [b'-', b'Q' | b'q', q] => Self::quarter(year, digits(&[*q]).ok_or_else(err)?),
            [b'-', b'H' | b'h', h] => Self::half(year, digits(&[*h]).ok_or_else(err)?),
            _ => None,
        };
        period.ok_or_else(err)
    }

    /// The period of `kind` that contains `date`; `None` when it would lie before
    /// [`FIRST_YEAR`] or past the last representable date.
    pub fn containing(kind: PeriodKind, date: Date) -> Option<Self> {
        let (year, month) = (date.year(), u16::from(u8::from(date.month())));
        let p = match kind {
            PeriodKind::Day => Self::span(kind, date, date),
            PeriodKind::Week => {
                let (iso_year, week, _) = date.to_iso_week_date();
                Self::week(iso_year, week)
            }
            PeriodKind::Month => Self::month(year, date.month()),
            PeriodKind::Quarter => Self::quarter(year, (month - 1) / 3 + 1),
            PeriodKind::Half => Self::half(year, (month - 1) / 6 + 1),
            PeriodKind::Year => Self::year(year),
        }?;
        (p.label_year() >= FIRST_YEAR).then_some(p)
    }

    fn span(kind: PeriodKind, starts_on: Date, ends_on: Date) -> Option<Self> {
        Some(Self {
            starts_on,
            ends_on,
            kind,
        })
    }

    fn week(iso_year: i32, week: u8) -> Option<Self> {
        let monday = Date::from_iso_week_date(iso_year, week, Weekday::Monday).ok()?;
        let sunday = Date::from_iso_week_date(iso_year, week, Weekday::Sunday).ok()?;
        Self::span(PeriodKind::Week, monday, sunday)
    }

    fn month(year: i32, month: Month) -> Option<Self> {
        Self::months(PeriodKind::Month, year, u8::from(month), 1)
    }

    fn quarter(year: i32, q: u16) -> Option<Self> {
        let q = u8::try_from(q).ok().filter(|q| (1..=4).contains(q))?;
        Self::months(PeriodKind::Quarter, year, 3 * q - 2, 3)
    }

    fn half(year: i32, h: u16) -> Option<Self> {
        let h = u8::try_from(h).ok().filter(|h| (1..=2).contains(h))?;
        Self::months(PeriodKind::Half, year, 6 * h - 5, 6)
    }

    fn year(year: i32) -> Option<Self> {
        Self::months(PeriodKind::Year, year, 1, 12)
    }

    /// `count` whole months from month `first` (1–12) of `year`.
    fn months(kind: PeriodKind, year: i32, first: u8, count: u8) -> Option<Self> {
        let first_month = Month::try_from(first).ok()?;
        let last_month = Month::try_from(first + count - 1).ok()?;
        let start = Date::from_calendar_date(year, first_month, 1).ok()?;
        let end = Date::from_calendar_date(year, last_month, last_month.length(year)).ok()?;
        Self::span(kind, start, end)
    }

    /// The year written in the period's name (the ISO week-numbering year for a week).
    fn label_year(self) -> i32 {
        match self.kind {
            PeriodKind::Week => self.starts_on.to_iso_week_date().0,
            _ => self.starts_on.year(),
        }
    }

    /// The kind of the period.
    pub const fn kind(self) -> PeriodKind {
        self.kind
    }

    /// The first day (China date).
    pub const fn starts_on(self) -> Date {
        self.starts_on
    }

    /// The last day, inclusive (China date).
    pub const fn ends_on(self) -> Date {
        self.ends_on
    }

    /// The number of days, both ends included.
    pub fn days(self) -> i64 {
        (self.ends_on - self.starts_on).whole_days() + 1
    }

    /// The first instant, 00:00 China time of the first day, in UTC.
    pub fn start_instant(self) -> OffsetDateTime {
        self.starts_on
            .midnight()
            .assume_offset(CST)
            .to_offset(UtcOffset::UTC)
    }

    /// The first instant after the period, 00:00 China time of the day after the last, in UTC
    /// (the period is `[start_instant, end_instant)`).
    pub fn end_instant(self) -> OffsetDateTime {
        let last = self
            .ends_on
            .midnight()
            .assume_offset(CST)
            .to_offset(UtcOffset::UTC);
        // Always representable in UTC: 9999-12-31 + 1 day at 00:00 +08:00 is 9999-12-31T16:00Z.
        last.checked_add(Duration::DAY).unwrap_or(last)
    }

    /// True when `date` (a China date) is one of the period's days.
    pub fn contains_date(self, date: Date) -> bool {
        self.starts_on <= date && date <= self.ends_on
    }

    /// For the month-aligned kinds, the first and last month as keys `year × 100 + month`
    /// (`created_month` of work orders); `None` for a day or a week.
    pub fn month_keys(self) -> Option<(i64, i64)> {
        self.kind
            .is_month_aligned()
            .then(|| (month_key(self.starts_on), month_key(self.ends_on)))
    }

    /// Every calendar month `(year, month)` holding at least one day of the period, in order.
    pub fn months_overlapping(self) -> Vec<(i32, u8)> {
        let mut out = Vec::new();
        let (mut y, mut m) = (self.starts_on.year(), u8::from(self.starts_on.month()));
        let last = (self.ends_on.year(), u8::from(self.ends_on.month()));
        while (y, m) <= last {
            out.push((y, m));
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        out
    }

    /// The period of the same kind just before this one (`2026-01` → `2025-12`, `2026-W01` →
    /// `2025-W52`); `None` before the year 2000.
    pub fn previous(self) -> Option<Self> {
        Self::containing(self.kind, self.starts_on.previous_day()?)
    }

    /// The period of the same kind just after this one.
    pub fn next(self) -> Option<Self> {
        Self::containing(self.kind, self.ends_on.next_day()?)
    }

    /// The period's name in `lang`, e.g. "2026-Q4 (季度 2026-10-01 – 2026-12-31)".
    pub fn describe(self, lang: Lang) -> String {
        format!(
            "{self} ({} {} – {})",
            self.kind.label(lang),
            self.starts_on,
            self.ends_on
        )
    }
}

fn month_key(d: Date) -> i64 {
    i64::from(d.year()) * 100 + i64::from(u8::from(d.month()))
}

/// The value of a run of ASCII digits (at most 4), or `None`.
fn digits(b: &[u8]) -> Option<u16> {
    if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')))
}

fn month_of(m: u16) -> Option<Month> {
    Month::try_from(u8::try_from(m).ok()?).ok()
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.starts_on;
        let (y, m) = (s.year(), u8::from(s.month()));
        match self.kind {
            PeriodKind::Day => write!(f, "{y:04}-{m:02}-{:02}", s.day()),
            PeriodKind::Week => {
                let (iso_year, week, _) = s.to_iso_week_date();
                write!(f, "{iso_year:04}-W{week:02}")
            }
            PeriodKind::Month => write!(f, "{y:04}-{m:02}"),
            PeriodKind::Quarter => write!(f, "{y:04}-Q{}", (m - 1) / 3 + 1),
            PeriodKind::Half => write!(f, "{y:04}-H{}", (m - 1) / 6 + 1),
            PeriodKind::Year => write!(f, "{y:04}"),
        }
    }
}

impl std::str::FromStr for Period {
    type Err = PeriodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Serialised as its canonical name (`"2026-Q4"`).
impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn p(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    /// Every row of the table in docs/assessment.md §4.
    #[test]
    fn the_six_forms() {
        let rows = [
            (
                "2026-11-21",
                PeriodKind::Day,
                date!(2026 - 11 - 21),
                date!(2026 - 11 - 21),
                datetime!(2026-11-20 16:00 UTC),
                datetime!(2026-11-21 16:00 UTC),
                1,
            ),
            (
                "2026-W47",
                PeriodKind::Week,
                date!(2026 - 11 - 16),
                date!(2026 - 11 - 22),
                datetime!(2026-11-15 16:00 UTC),
                datetime!(2026-11-22 16:00 UTC),
                7,
            ),
            (
                "2026-10",
                PeriodKind::Month,
                date!(2026 - 10 - 01),
                date!(2026 - 10 - 31),
                datetime!(2026-09-30 16:00 UTC),
                datetime!(2026-10-31 16:00 UTC),
                31,
            ),
            (
                "2026-Q4",
                PeriodKind::Quarter,
                date!(2026 - 10 - 01),
                date!(2026 - 12 - 31),
                datetime!(2026-09-30 16:00 UTC),
                datetime!(2026-12-31 16:00 UTC),
                92,
            ),
            (
                "2026-H2",
                PeriodKind::Half,
                date!(2026 - 07 - 01),
                date!(2026 - 12 - 31),
                datetime!(2026-06-30 16:00 UTC),
                datetime!(2026-12-31 16:00 UTC),
                184,
            ),
            (
                "2026",
                PeriodKind::Year,
                date!(2026 - 01 - 01),
                date!(2026 - 12 - 31),
                datetime!(2025-12-31 16:00 UTC),
                datetime!(2026-12-31 16:00 UTC),
                365,
            ),
        ];
        for (text, kind, from, to, start, end, days) in rows {
            let period = p(text);
            assert_eq!(period.kind(), kind, "{text}");
            assert_eq!(period.starts_on(), from, "{text}");
            assert_eq!(period.ends_on(), to, "{text}");
            assert_eq!(period.start_instant(), start, "{text}");
            assert_eq!(period.end_instant(), end, "{text}");
            assert_eq!(period.start_instant().offset(), UtcOffset::UTC, "{text}");
            assert_eq!(period.days(), days, "{text}");
            assert_eq!(period.to_string(), text);
            assert_eq!(Period::containing(kind, to), Some(period), "{text}");
        }
        assert_eq!(p("2026-W47").starts_on().weekday(), Weekday::Monday);
    }

    #[test]
    fn letters_in_either_case_print_upper_case() {
        assert_eq!(p("2026-w47").to_string(), "2026-W47");
        assert_eq!(p("2026-q4").to_string(), "2026-Q4");
        assert_eq!(p("2026-h1").to_string(), "2026-H1");
        assert_eq!(p(" 2026-10 ").to_string(), "2026-10");
        assert_eq!("2026-Q1".parse::<Period>(), Ok(p("2026-q1")));
    }

    #[test]
    fn iso_week_one_and_fifty_three() {
        let w1 = p("2026-W01");
        assert_eq!(
            (w1.starts_on(), w1.ends_on()),
            (date!(2025 - 12 - 29), date!(2026 - 01 - 04))
        );
        // 2026 starts on a Thursday, so it has 53 ISO weeks.
        let w53 = p("2026-W53");
        assert_eq!(
            (w53.starts_on(), w53.ends_on()),
            (date!(2026 - 12 - 28), date!(2027 - 01 - 03))
        );
        assert_eq!(
            Period::containing(PeriodKind::Week, date!(2027 - 01 - 03)),
            Some(w53)
        );
        assert_eq!(
            Period::containing(PeriodKind::Week, date!(2025 - 12 - 29)),
            Some(w1)
        );
        assert_eq!(w53.months_overlapping(), vec![(2026, 12), (2027, 1)]);
        assert_eq!(w53.month_keys(), None);
    }

    #[test]
    fn refused_forms_name_the_six_forms() {
        for text in [
            "2025-W53",
            "2026-02-29",
            "2026-13",
            "2026-Q5",
            "2026-1",
            "1999",
            "1999-12",
            "1999-W10",
            "2026-00",
            "2026-Q0",
            "2026-H3",
            "2026-W00",
            "2026-W1",
            "2026-10-1",
            "2026-10-32",
            "26-10",
            "2026/10",
            "2026-M10",
            "",
            "２０２６",
            "+2026",
        ] {
            let e = Period::parse(text).unwrap_err();
            assert_eq!(e.text, text);
            let msg = e.to_string();
            for form in [
                "2026-11-21",
                "2026-W47",
                "2026-10",
                "2026-Q4",
                "2026-H2",
                "ISO 周",
                "季度",
            ] {
                assert!(msg.contains(form), "{msg}");
            }
        }
        assert!(Period::parse("2000-01").is_ok());
        assert!(Period::parse("2024-02-29").is_ok());
    }

    #[test]
    fn month_keys_and_overlapping_months() {
        assert_eq!(p("2026-10").month_keys(), Some((202_610, 202_610)));
        assert_eq!(p("2026-Q4").month_keys(), Some((202_610, 202_612)));
        assert_eq!(p("2026-H1").month_keys(), Some((202_601, 202_606)));
        assert_eq!(p("2026").month_keys(), Some((202_601, 202_612)));
        assert_eq!(p("2026-11-21").month_keys(), None);
        assert_eq!(p("2026-11-21").months_overlapping(), vec![(2026, 11)]);
        assert_eq!(
            p("2026-Q4").months_overlapping(),
            vec![(2026, 10), (2026, 11), (2026, 12)]
        );
        assert_eq!(p("2026").months_overlapping().len(), 12);
        // Week 44 of 2026 runs from Monday 26 October to Sunday 1 November.
        assert_eq!(p("2026-W44").months_overlapping(), vec![(2026, 10), (2026, 11)]);
    }

    #[test]
    fn contains_date() {
        let q4 = p("2026-Q4");
        assert!(q4.contains_date(date!(2026 - 10 - 01)));
        assert!(q4.contains_date(date!(2026 - 12 - 31)));
        assert!(!q4.contains_date(date!(2026 - 09 - 30)));
        assert!(!q4.contains_date(date!(2027 - 01 - 01)));
    }

    #[test]
    fn previous_and_next_periods() {
        for (now, before) in [
            ("2026-01", "2025-12"),
            ("2026-W01", "2025-W52"),
            ("2027-W01", "2026-W53"),
            ("2026-03-01", "2026-02-28"),
            ("2024-03-01", "2024-02-29"),
            ("2026-Q1", "2025-Q4"),
            ("2026-Q3", "2026-Q2"),
            ("2026-H1", "2025-H2"),
            ("2026", "2025"),
        ] {
            assert_eq!(p(now).previous(), Some(p(before)), "{now}");
            assert_eq!(p(before).next(), Some(p(now)), "{before}");
        }
        assert_eq!(p("2000-01").previous(), None);
        assert_eq!(p("2000").previous(), None);
        assert_eq!(p("2000-01-01").previous(), None);
    }

    #[test]
    fn serde_and_describe() {
        let q = p("2026-q4");
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"2026-Q4\"");
        assert_eq!(serde_json::from_str::<Period>("\"2026-Q4\"").unwrap(), q);
        assert!(serde_json::from_str::<Period>("\"2026-Q5\"").is_err());
        assert_eq!(q.describe(Lang::En), "2026-Q4 (Quarter 2026-10-01 – 2026-12-31)");
        assert_eq!(PeriodKind::Half.as_str(), "half");
        assert!(p("2026-10") < p("2026-11"));
    }

    #[test]
    fn far_future_does_not_panic() {
        assert!(Period::parse("9999-W52").is_err()); // its Sunday is in the year 10000
        let y = p("9999");
        assert_eq!(y.end_instant(), datetime!(9999-12-31 16:00 UTC));
        assert_eq!(y.next(), None);
    }
}
