//! Exact fixed-point quantities: areas in hundredths of a square metre, money in fen.
//!
//! No binary floating point touches an area or an amount. Values are parsed from their decimal
//! text form ("123.45") straight into integers and summed as integers.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a decimal text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty value / 值为空")]
    Empty,
    #[error("not a number: {0:?} / 不是数字")]
    NotANumber(String),
    #[error("negative value {0} is not allowed / 不能为负数")]
    Negative(String),
    #[error("at most two decimal places: {0} / 最多两位小数")]
    TooPrecise(String),
    #[error("value too large: {0} / 数值过大")]
    TooLarge(String),
}

/// Parses a non-negative decimal with at most two fractional digits into hundredths.
fn parse_hundredths(text: &str) -> Result<i64, DecimalError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DecimalError::Empty);
    }
    if let Some(rest) = s.strip_prefix('-') {
        // Distinguish "-3" (negative) from "-" / "-x" (garbage).
        if rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
        {
            return Err(DecimalError::Negative(s.to_owned()));
        }
        return Err(DecimalError::NotANumber(s.to_owned()));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(DecimalError::NotANumber(text.trim().to_owned()));
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalError::NotANumber(text.trim().to_owned()));
    }
    // Trailing zeros beyond two places are harmless ("12.500").
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > 2 {
        return Err(DecimalError::TooPrecise(text.trim().to_owned()));
    }
    let too_large = || DecimalError::TooLarge(text.trim().to_owned());
    if int_part.len() > 15 {
        return Err(too_large());
    }
    let int: i64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| too_large())?
    };
    let mut frac: i64 = 0;
    for (i, b) in frac_trimmed.bytes().enumerate() {
        let d = i64::from(b - b'0');
        frac += if i == 0 { d * 10 } else { d };
    }
    int.checked_mul(100)
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(too_large)
}

fn write_hundredths(v: i64, out: &mut String) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(a / 100));
    out.push('.');
    let cents = (a % 100) as u8;
    out.push(char::from(b'0' + cents / 10));
    out.push(char::from(b'0' + cents % 10));
}

fn fmt_hundredths(v: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut s = String::with_capacity(24);
    write_hundredths(v, &mut s);
    f.write_str(&s)
}

macro_rules! fixed_point {
    ($(#[$doc:meta])* $name:ident, $unit_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(i64);

        impl $name {
            pub const ZERO: Self = Self(0);

            #[doc = concat!("From a count of ", $unit_doc, ".")]
            pub const fn from_hundredths(v: i64) -> Self {
                Self(v)
            }

            #[doc = concat!("The value as a count of ", $unit_doc, ".")]
            pub const fn hundredths(self) -> i64 {
                self.0
            }

            /// Parses a non-negative decimal text with at most two fractional digits.
            pub fn parse(text: &str) -> Result<Self, DecimalError> {
                parse_hundredths(text).map(Self)
            }

            /// Appends the `Display` text to `out` without the formatting machinery (the ballot
            /// log writes a million of them when it re-hashes an enrolment).
            pub fn write_to(self, out: &mut String) {
                write_hundredths(self.0, out);
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_hundredths(self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DecimalError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Add for $name {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }

        impl AddAssign for $name {
            fn add_assign(&mut self, rhs: Self) {
                self.0 += rhs.0;
            }
        }

        impl Sum for $name {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                Self(iter.map(|a| a.0).sum())
            }
        }

        /// Serialised as a decimal string ("1234.56") so that no JSON reader turns it into a float.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fixed_point!(
    /// An area in hundredths of a square metre (0.01 m²). 专有部分面积 and 建筑面积 are of this type.
    Area,
    "hundredths of a square metre"
);

fixed_point!(
    /// An amount of money in fen (0.01 yuan). Also used for rates such as 元/m²/月.
    Money,
    "fen (0.01 yuan)"
);

impl From<i64> for Area {
    fn from(v: i64) -> Self {
        Self(v)
    }
}

impl From<i64> for Money {
    fn from(v: i64) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_two_decimals() {
        for (v, text) in [
            (0, "0.00"),
            (9, "0.09"),
            (10, "0.10"),
            (101, "1.01"),
            (8950, "89.50"),
            (-1, "-0.01"),
            (-12345, "-123.45"),
            (i64::MAX, "92233720368547758.07"),
            (i64::MIN, "-92233720368547758.08"),
        ] {
            let mut s = String::from("x");
            Area::from_hundredths(v).write_to(&mut s);
            assert_eq!(s, format!("x{text}"), "{v}");
            assert_eq!(Area::from_hundredths(v).to_string(), text);
        }
    }

    #[test]
    fn parses_exact_decimals() {
        for (text, h) in [
            ("0", 0),
            ("89.5", 8950),
            ("89.50", 8950),
            ("89.500", 8950),
            ("123.45", 12345),
            (" 7 ", 700),
            (".5", 50),
            ("12.", 1200),
            ("+3.01", 301),
        ] {
            assert_eq!(Area::parse(text), Ok(Area::from_hundredths(h)), "{text}");
        }
    }

    #[test]
    fn refuses_bad_text() {
        assert_eq!(Area::parse(""), Err(DecimalError::Empty));
        assert_eq!(Area::parse("-3.2"), Err(DecimalError::Negative("-3.2".into())));
        assert!(matches!(Area::parse("1.234"), Err(DecimalError::TooPrecise(_))));
        assert!(matches!(Area::parse("abc"), Err(DecimalError::NotANumber(_))));
        assert!(matches!(Area::parse("1e3"), Err(DecimalError::NotANumber(_))));
        assert!(matches!(Area::parse("."), Err(DecimalError::NotANumber(_))));
        assert!(matches!(Area::parse("-"), Err(DecimalError::NotANumber(_))));
        assert!(matches!(
            Area::parse("99999999999999999999"),
            Err(DecimalError::TooLarge(_))
        ));
    }

    #[test]
    fn sums_without_float_error() {
        // 0.1 + 0.2 is the classic binary floating point failure.
        let total: Area = ["0.1", "0.2"].iter().map(|s| Area::parse(s).unwrap()).sum();
        assert_eq!(total.to_string(), "0.30");
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(h in 0i64..1_000_000_000_000) {
            let a = Area::from_hundredths(h);
            prop_assert_eq!(Area::parse(&a.to_string()), Ok(a));
        }
    }
}
