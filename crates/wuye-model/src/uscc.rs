//! Unified social credit code (统一社会信用代码), GB 32100-2015.
//!
//! Eighteen characters from the 31-character set `0-9 A-H J-N P-R T U W-Y` (no I, O, S, V, Z):
//! registration authority (1), organisation type (1), division code (6 digits),
//! organisation code (9), check character (1). The check character is
//! `31 - (Σ value(c_i) · w_i mod 31)` with weights `3^i mod 31`, where 31 maps to 0.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("credit code {0:?} must be 18 characters / 统一社会信用代码应为 18 位")]
    Length(String),
    #[error(
        "credit code {code:?}: character {ch:?} at position {pos} is not allowed / 第 {pos} 位字符 {ch:?} 不合法"
    )]
    Charset { code: String, ch: char, pos: usize },
    #[error(
        "credit code {code:?}: positions 3–8 must be a division code of 6 digits / 第 3–8 位应为 6 位行政区划代码"
    )]
    Division { code: String },
    #[error(
        "credit code {code:?}: check character is {found:?}, expected {expected:?} / 校验位错误：应为 {expected:?}，实为 {found:?}"
    )]
    Check {
        code: String,
        found: char,
        expected: char,
    },
}

fn value_of(b: u8) -> Option<u32> {
    CHARSET
        .iter()
        .position(|&c| c == b)
        .and_then(|p| u32::try_from(p).ok())
}

/// The check character for the first 17 characters (which must be from the charset).
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*b)? * w;
    }
    let c = (31 - sum % 31) % 31;
    CHARSET.get(c as usize).map(|&b| char::from(b))
}

/// A validated unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Validates length, charset, the division digits and the check character.
    /// Lower-case letters are accepted and upper-cased.
    pub fn parse(text: &str) -> Result<Self, UsccError> {
        let s = text.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(UsccError::Length(s));
        }
        let bytes = s.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if value_of(b).is_none() {
                return Err(UsccError::Charset {
                    code: s.clone(),
                    ch: char::from(b),
                    pos: i + 1,
                });
            }
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsccError::Division { code: s });
        }
        let expected = check_char(&bytes[..17]).unwrap_or('?');
        let found = char::from(bytes[17]);
        if expected != found {
            return Err(UsccError::Check {
                code: s,
                found,
                expected,
            });
        }
        Ok(Self(s))
    }

    /// Builds a valid code from its first 17 characters by appending the check character.
    pub fn with_check(first17: &str) -> Result<Self, UsccError> {
        let c = check_char(first17.as_bytes()).ok_or_else(|| UsccError::Length(first17.to_owned()))?;
        Self::parse(&format!("{first17}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uscc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on real business licences.
        for code in ["91350100M000100Y43", "91110108551385082Q", "91440300708461136T"] {
            assert!(Uscc::parse(code).is_ok(), "{code}: {:?}", Uscc::parse(code));
        }
        assert_eq!(
            Uscc::parse("91350100m000100y43").unwrap().as_str(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn refuses_bad_codes() {
        assert!(matches!(
            Uscc::parse("91350100M000100Y4"),
            Err(UsccError::Length(_))
        ));
        assert!(matches!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::Check { .. })
        ));
        assert!(matches!(
            Uscc::parse("91350100M00010OY43"),
            Err(UsccError::Charset { pos: 15, .. })
        ));
        assert!(matches!(
            Uscc::parse("9135A100M000100Y43"),
            Err(UsccError::Division { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_single_substitution_is_caught(pos in 0usize..18, idx in 0usize..31) {
            let good = "91350100M000100Y43";
            let mut b = good.as_bytes().to_vec();
            prop_assume!(b[pos] != CHARSET[idx]);
            b[pos] = CHARSET[idx];
            let s = String::from_utf8(b).unwrap();
            prop_assert!(Uscc::parse(&s).is_err());
        }
    }
}
