//! The working-day calendar of mainland China and deadline arithmetic (DOMAIN.md R4.2).
//!
//! A day is a working day when it is a make-up working day (调休上班), or a Monday to Friday
//! that is not a public holiday. A limit of N working days ends at 24:00 of the N-th working
//! day after the day of receipt (that day itself is not counted, Civil Code Art. 201), in
//! China Standard Time. Years the calendar has no data for fall back to Monday–Friday and are
//! reported by [`WorkCalendar::knows_year`] so that pages can warn.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, Duration, OffsetDateTime, UtcOffset, Weekday};

/// China Standard Time, the offset of every local date and deadline.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The calendar file shipped with wuye (2025 and 2026).
pub const SHIPPED: &str = include_str!("../data/cn-holidays.csv");

/// What a listed day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A statutory public holiday (休).
    Off,
    /// A weekend day that is a working day (调休上班).
    Work,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar line {line}: {reason} / 日历第 {line} 行：格式错误")]
pub struct CalendarError {
    pub line: usize,
    pub reason: String,
}

/// Holidays and make-up working days by date.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    days: BTreeMap<Date, (DayKind, String)>,
    years: BTreeSet<i32>,
}

impl WorkCalendar {
    /// The shipped calendar.
    pub fn shipped() -> Self {
        let mut c = Self::default();
        // The shipped file is tested; a parse failure there is a build-time bug caught by tests.
        let _ = c.extend_csv(SHIPPED);
        c
    }

    /// Adds lines `YYYY-MM-DD,off|work,name` (lines starting with `#` are comments). A year
    /// with at least one line counts as known. Later lines override earlier ones.
    pub fn extend_csv(&mut self, text: &str) -> Result<usize, CalendarError> {
        let mut n = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| CalendarError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let mut parts = line.splitn(3, ',');
            let date = parts.next().map(str::trim).ok_or_else(|| err("missing date"))?;
            let kind = parts.next().map(str::trim).ok_or_else(|| err("missing kind"))?;
            let name = parts.next().map(str::trim).unwrap_or("").to_owned();
            let date = parse_date(date).ok_or_else(|| err("date must be YYYY-MM-DD"))?;
            let kind = match kind {
                "off" => DayKind::Off,
                "work" => DayKind::Work,
                _ => return Err(err("kind must be off or work")),
            };
            self.insert(date, kind, name);
            n += 1;
        }
        Ok(n)
    }

    pub fn insert(&mut self, date: Date, kind: DayKind, name: String) {
        self.years.insert(date.year());
        self.days.insert(date, (kind, name));
    }

    /// Every listed day in date order: the administrator's view of the calendar.
    pub fn listed(&self) -> impl Iterator<Item = (Date, DayKind, &str)> {
        self.days.iter().map(|(d, (k, n))| (*d, *k, n.as_str()))
    }

    /// The years whose arrangement the calendar holds.
    pub fn known_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// True when the calendar holds the year's holiday arrangement.
    pub fn knows_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        match self.days.get(&date) {
            Some((DayKind::Work, _)) => true,
            Some((DayKind::Off, _)) => false,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// The N-th working day after `date` (`date` itself not counted). N = 0 gives `date`.
    pub fn add_working_days(&self, date: Date, n: u32) -> Date {
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d.next_day().unwrap_or(d);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The deadline of a limit of `n` working days for something received at `received`:
    /// 24:00 China time of the N-th working day after the day of receipt (as a UTC instant).
    pub fn deadline(&self, received: OffsetDateTime, n: u32) -> OffsetDateTime {
        let day = received.to_offset(CST).date();
        let last = self.add_working_days(day, n);
        let next = last.next_day().unwrap_or(last);
        // Returned in UTC: instants are stored and compared in one offset.
        next.midnight().assume_offset(CST).to_offset(UtcOffset::UTC)
    }

    /// Working days left from `now` until `deadline`, the current day included when it is a
    /// working day (1 = "due today"). Once the deadline has passed it is −k while the k-th
    /// working day past the deadline is under way.
    pub fn working_days_left(&self, now: OffsetDateTime, deadline: OffsetDateTime) -> i64 {
        let today = now.to_offset(CST).date();
        let last = (deadline - Duration::seconds(1)).to_offset(CST).date();
        if now >= deadline {
            let mut n = 0;
            let mut d = last;
            while d < today {
                d = d.next_day().unwrap_or(d);
                if self.is_working_day(d) {
                    n -= 1;
                }
            }
            return n;
        }
        let mut n = 0;
        let mut d = today;
        while d <= last {
            if self.is_working_day(d) {
                n += 1;
            }
            d = match d.next_day() {
                Some(x) => x,
                None => break,
            };
        }
        n
    }
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn shipped_calendar_parses_and_knows_2025_and_2026() {
        let mut c = WorkCalendar::default();
        assert_eq!(c.extend_csv(SHIPPED), Ok(72));
        assert!(c.knows_year(2025) && c.knows_year(2026) && !c.knows_year(2027));
        // Every make-up working day falls on a weekend.
        for (d, (k, _)) in &c.days {
            if *k == DayKind::Work {
                assert!(matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday), "{d}");
            }
        }
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let mut c = WorkCalendar::default();
        let e = c
            .extend_csv("# ok\n2027-01-01,off,元旦\n2027-13-01,off,x\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(c.extend_csv("2027-01-02,maybe,x").is_err());
    }

    #[test]
    fn working_days() {
        let c = WorkCalendar::shipped();
        for (d, working) in [
            (date!(2026 - 11 - 20), true),  // Friday
            (date!(2026 - 11 - 21), false), // Saturday
            (date!(2026 - 10 - 01), false), // National Day
            (date!(2026 - 10 - 10), true),  // Saturday, make-up working day
            (date!(2026 - 09 - 20), true),  // Sunday, make-up working day
            (date!(2026 - 02 - 14), true),  // Saturday before the Spring Festival
            (date!(2026 - 02 - 23), false), // Monday, still Spring Festival
            (date!(2027 - 10 - 01), true),  // unknown year: Monday–Friday only (a Friday)
        ] {
            assert_eq!(c.is_working_day(d), working, "{d}");
        }
    }

    /// R4.2, table-driven: (received, limit in working days, deadline = 24:00 of this date).
    #[test]
    fn deadlines_across_weekends_holidays_and_make_up_days() {
        let c = WorkCalendar::shipped();
        let cases = [
            // An ordinary week: Monday + 5 → next Monday.
            (datetime!(2026-11-16 10:00 +8), 5, date!(2026 - 11 - 23)),
            // Friday + 1 → Monday (the weekend is skipped).
            (datetime!(2026-11-20 18:00 +8), 1, date!(2026 - 11 - 23)),
            // Received on Saturday: Monday is the first working day after it.
            (datetime!(2026-11-21 09:00 +8), 1, date!(2026 - 11 - 23)),
            // Late evening in UTC is the next morning in China: the day of receipt is Tuesday.
            (datetime!(2026-11-16 17:00 UTC), 1, date!(2026 - 11 - 18)),
            // Before National Day: Wednesday Sep 30 + 1 → Thursday Oct 8 (Oct 1–7 off).
            (datetime!(2026-09-30 10:00 +8), 1, date!(2026 - 10 - 08)),
            // … + 5 → Oct 8, 9, Sat 10 (make-up), 12, 13.
            (datetime!(2026-09-30 10:00 +8), 5, date!(2026 - 10 - 13)),
            // Friday Sep 18 + 1 → Sunday Sep 20, a make-up working day.
            (datetime!(2026-09-18 10:00 +8), 1, date!(2026 - 09 - 20)),
            // Mid-Autumn (Sep 25–27) then National Day: Sep 24 + 3 → 28, 29, 30.
            (datetime!(2026-09-24 10:00 +8), 3, date!(2026 - 09 - 30)),
            // Spring Festival 2026: Friday Feb 13 + 1 → Saturday Feb 14 (make-up).
            (datetime!(2026-02-13 10:00 +8), 1, date!(2026 - 02 - 14)),
            // … + 2 → Feb 14, then Feb 15–23 off → Tuesday Feb 24.
            (datetime!(2026-02-13 10:00 +8), 2, date!(2026 - 02 - 24)),
            // Extension of 10 working days from Feb 24: 25 26 27 (28 Sat make-up) Mar 2 3 4 5 6 9.
            (datetime!(2026-02-24 10:00 +8), 10, date!(2026 - 03 - 09)),
            // New Year 2026: Dec 31 + 1 → Sunday Jan 4 (make-up working day).
            (datetime!(2025-12-31 10:00 +8), 1, date!(2026 - 01 - 04)),
            // 2025 Labour Day: Apr 30 + 1 → May 6.
            (datetime!(2025-04-30 10:00 +8), 1, date!(2025 - 05 - 06)),
            // A year with no data falls back to Monday–Friday: Thursday Sep 30 2027 + 1 → Friday Oct 1.
            (datetime!(2027-09-30 10:00 +8), 1, date!(2027 - 10 - 01)),
        ];
        for (received, n, last_day) in cases {
            let d = c.deadline(received, n);
            let expected = last_day.next_day().unwrap().midnight().assume_offset(CST);
            assert_eq!(d, expected, "{received} + {n} working days");
        }
    }

    #[test]
    fn working_days_left_counts_down_and_goes_negative() {
        let c = WorkCalendar::shipped();
        let received = datetime!(2026-09-30 10:00 +8);
        let deadline = c.deadline(received, 5); // end of Oct 13
        assert_eq!(c.working_days_left(datetime!(2026-10-02 12:00 +8), deadline), 5);
        assert_eq!(c.working_days_left(datetime!(2026-10-13 23:59 +8), deadline), 1);
        assert_eq!(c.working_days_left(datetime!(2026-10-14 00:00 +8), deadline), -1);
        assert_eq!(c.working_days_left(datetime!(2026-10-15 09:00 +8), deadline), -2);
    }
}
