//! Serialisers that give database integers their public text form: region codes as 12
//! digits, areas and money as decimal strings with two places (never JSON floats).

use serde::Serializer;
use wuye_model::{Area, Money};

pub fn code<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:012}"))
}

pub fn opt_code<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => code(v, s),
        None => s.serialize_none(),
    }
}

pub fn area<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Area::from_hundredths(*v))
}

pub fn opt_area<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => area(v, s),
        None => s.serialize_none(),
    }
}

pub fn money<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Money::from_hundredths(*v))
}

/// Micro-degrees as a decimal number of degrees.
pub fn opt_e6<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&format_args!(
            "{}{}.{:06}",
            if *v < 0 { "-" } else { "" },
            v.unsigned_abs() / 1_000_000,
            v.unsigned_abs() % 1_000_000
        )),
        None => s.serialize_none(),
    }
}
