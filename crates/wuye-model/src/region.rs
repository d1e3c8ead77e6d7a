//! Statistical division codes (统计用区划代码), DOMAIN.md §7 and rules R7.1–R7.3.
//!
//! A code is twelve digits: province (2) · prefecture (2) · county (2) · township (3) ·
//! village (3). Codes as published with 2, 4, 6 or 9 digits are padded with zeros to 12.
//! The level is read from the code's trailing zeros (R7.2); the parent from its prefix (R7.3).

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The five levels of the region tree (glossary: `RegionLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionLevel {
    /// 省 — digits 3–12 all zero.
    Province,
    /// 市 (prefecture) — digits 5–12 all zero.
    City,
    /// 区县 (county level) — digits 7–12 all zero.
    District,
    /// 街道 / 镇 / 乡 (township level) — digits 10–12 zero.
    Street,
    /// 社区 / 村 (village level) — everything else.
    Community,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 5] = [
        Self::Province,
        Self::City,
        Self::District,
        Self::Street,
        Self::Community,
    ];

    /// How many leading digits are significant at this level.
    pub const fn prefix_len(self) -> u32 {
        match self {
            Self::Province => 2,
            Self::City => 4,
            Self::District => 6,
            Self::Street => 9,
            Self::Community => 12,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::City => "city",
            Self::District => "district",
            Self::Street => "street",
            Self::Community => "community",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            Self::Province => "省",
            Self::City => "市",
            Self::District => "区县",
            Self::Street => "街道",
            Self::Community => "社区",
        }
    }

    pub const fn label_en(self) -> &'static str {
        match self {
            Self::Province => "Province",
            Self::City => "City",
            Self::District => "District",
            Self::Street => "Street",
            Self::Community => "Community",
        }
    }
}

/// Why a text is not a division code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("division code {0:?} must be 2, 4, 6, 9 or 12 digits / 区划代码应为 2、4、6、9 或 12 位数字")]
    Shape(String),
    #[error("division code {0:?} has province digits 00 / 区划代码省级位不能为 00")]
    NoProvince(String),
    #[error(
        "division code {0:?} is not well formed: a non-zero segment follows a zero segment / 区划代码结构不合法（上级段为零而下级段非零）"
    )]
    Gap(String),
}

/// A 12-digit statistical division code. Stored as an integer (it always starts with 1–9) so
/// that a subtree is an integer range in SQL on both engines, whatever the collation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(u64);

const POW: [u64; 13] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
];

impl RegionCode {
    /// Parses a published code of 2, 4, 6, 9 or 12 digits, padding it to 12, and checks its
    /// structure: province digits not zero; no non-zero segment below a zero segment.
    pub fn parse(text: &str) -> Result<Self, RegionCodeError> {
        let s = text.trim();
        if !matches!(s.len(), 2 | 4 | 6 | 9 | 12) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::Shape(s.to_owned()));
        }
        let mut v: u64 = 0;
        for b in s.bytes() {
            v = v * 10 + u64::from(b - b'0');
        }
        v *= POW[12 - s.len()];
        Self::from_u64(v).map_err(|e| match e {
            RegionCodeError::Shape(_) => RegionCodeError::Shape(s.to_owned()),
            RegionCodeError::NoProvince(_) => RegionCodeError::NoProvince(s.to_owned()),
            RegionCodeError::Gap(_) => RegionCodeError::Gap(s.to_owned()),
        })
    }

    /// Checks a 12-digit integer code.
    pub fn from_u64(v: u64) -> Result<Self, RegionCodeError> {
        if v >= POW[12] {
            return Err(RegionCodeError::Shape(v.to_string()));
        }
        if v < POW[10] {
            return Err(RegionCodeError::NoProvince(format!("{v:012}")));
        }
        // Segments from the top: province(2) city(2) county(2) township(3) village(3).
        let segs = [
            v / POW[10],
            (v / POW[8]) % 100,
            (v / POW[6]) % 100,
            (v / POW[3]) % 1000,
            v % 1000,
        ];
        let mut seen_zero = false;
        for (i, s) in segs.into_iter().enumerate() {
            // A prefecture-level city without counties (东莞 4419, 中山 4420, 儋州 4604) has
            // its townships directly under it: county digits 00, township digits set, as the
            // NBS list publishes them (441900003 东城街道).
            let cityless_county = i == 2 && s == 0 && segs[1] != 0 && segs[3] != 0;
            if s == 0 && !cityless_county {
                seen_zero = true;
            } else if s != 0 && seen_zero {
                return Err(RegionCodeError::Gap(format!("{v:012}")));
            }
        }
        Ok(Self(v))
    }

    pub fn from_i64(v: i64) -> Result<Self, RegionCodeError> {
        u64::try_from(v)
            .map_err(|_| RegionCodeError::Shape(v.to_string()))
            .and_then(Self::from_u64)
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The code as a database integer (always fits: < 10^12).
    pub const fn as_i64(self) -> i64 {
        self.0 as i64
    }

    /// R7.2: level from trailing zeros.
    pub const fn level(self) -> RegionLevel {
        let v = self.0;
        if v.is_multiple_of(POW[10]) {
            RegionLevel::Province
        } else if v.is_multiple_of(POW[8]) {
            RegionLevel::City
        } else if v.is_multiple_of(POW[6]) {
            RegionLevel::District
        } else if v.is_multiple_of(POW[3]) {
            RegionLevel::Street
        } else {
            RegionLevel::Community
        }
    }

    /// R7.3: the parent code, `None` for a province. A county whose prefecture digits are
    /// `90` (province-administered) hangs directly under the province.
    pub const fn parent(self) -> Option<RegionCode> {
        let v = self.0;
        match self.level() {
            RegionLevel::Province => None,
            RegionLevel::City => Some(Self(v - v % POW[10])),
            RegionLevel::District => {
                let prefecture = (v / POW[8]) % 100;
                if prefecture == 90 {
                    Some(Self(v - v % POW[10]))
                } else {
                    Some(Self(v - v % POW[8]))
                }
            }
            RegionLevel::Street => Some(Self(v - v % POW[6])),
            RegionLevel::Community => Some(Self(v - v % POW[3])),
        }
    }

    /// The ancestor of this code at `level`: itself when it is at that level or above it.
    pub const fn at_level(self, level: RegionLevel) -> RegionCode {
        let mut c = self;
        while (c.level() as u8) > (level as u8) {
            match c.parent() {
                Some(p) => c = p,
                None => break,
            }
        }
        c
    }

    /// Every code in this code's subtree (itself included) as an inclusive integer range.
    /// Jurisdiction filters are this range as a SQL predicate.
    pub const fn subtree(self) -> RangeInclusive<i64> {
        let span = POW[(12 - self.level().prefix_len()) as usize];
        let lo = self.0 as i64;
        lo..=lo + span as i64 - 1
    }

    /// True when `other` lies in this code's subtree.
    pub fn contains(self, other: RegionCode) -> bool {
        self.subtree().contains(&other.as_i64())
    }

    /// The significant prefix as published (2, 4, 6, 9 or 12 digits).
    pub fn short(self) -> String {
        let full = self.to_string();
        full[..self.level().prefix_len() as usize].to_owned()
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl std::str::FromStr for RegionCode {
    type Err = RegionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<i64> for RegionCode {
    type Error = RegionCodeError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::from_i64(v)
    }
}

impl TryFrom<String> for RegionLevel {
    type Error = RegionCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or(RegionCodeError::Shape(s))
    }
}

impl Serialize for RegionLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn levels_follow_r7_2() {
        for (c, level) in [
            ("420000000000", RegionLevel::Province),
            ("420100000000", RegionLevel::City),
            ("420102000000", RegionLevel::District),
            ("310115015000", RegionLevel::Street),
            ("310115015001", RegionLevel::Community),
            ("220581102200", RegionLevel::Community),
        ] {
            assert_eq!(code(c).level(), level, "{c}");
        }
    }

    #[test]
    fn short_codes_are_padded() {
        assert_eq!(code("42").to_string(), "420000000000");
        assert_eq!(code("4201").to_string(), "420100000000");
        assert_eq!(code("420102").to_string(), "420102000000");
        assert_eq!(code("310115015").to_string(), "310115015000");
        assert_eq!(code("310115015").short(), "310115015");
    }

    #[test]
    fn ancestors_at_a_level() {
        let c = code("310115015001");
        assert_eq!(c.at_level(RegionLevel::Street), code("310115015000"));
        assert_eq!(c.at_level(RegionLevel::District), code("310115000000"));
        assert_eq!(c.at_level(RegionLevel::City), code("310100000000"));
        assert_eq!(c.at_level(RegionLevel::Community), c);
        // Already above the level: itself.
        assert_eq!(code("310115").at_level(RegionLevel::Street), code("310115"));
        // A province-administered county skips the prefecture.
        assert_eq!(
            code("429004001000").at_level(RegionLevel::City),
            code("420000000000")
        );
    }

    #[test]
    fn parents_follow_r7_3() {
        assert_eq!(code("310115015001").parent(), Some(code("310115015000")));
        assert_eq!(code("310115015000").parent(), Some(code("310115000000")));
        assert_eq!(code("310115000000").parent(), Some(code("310100000000")));
        assert_eq!(code("310100000000").parent(), Some(code("310000000000")));
        assert_eq!(code("310000000000").parent(), None);
        // Province-administered county-level unit: prefecture digits 90.
        assert_eq!(code("429004000000").parent(), Some(code("420000000000")));
        // A city without counties: its townships hang directly under it.
        assert_eq!(code("441900003").level(), RegionLevel::Street);
        assert_eq!(code("441900003").parent(), Some(code("4419")));
        assert_eq!(code("441900003001").parent(), Some(code("441900003")));
    }

    #[test]
    fn refuses_wrong_shapes() {
        for bad in [
            "",
            "1",
            "123",
            "12345",
            "1234567",
            "1234567890123",
            "42010a000000",
            " 4 2",
        ] {
            assert!(
                matches!(RegionCode::parse(bad), Err(RegionCodeError::Shape(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            RegionCode::parse("000000000000"),
            Err(RegionCodeError::NoProvince(_))
        ));
        assert!(matches!(
            RegionCode::parse("420000015000"),
            Err(RegionCodeError::Gap(_))
        ));
        assert!(matches!(
            RegionCode::parse("420102000001"),
            Err(RegionCodeError::Gap(_))
        ));
    }

    #[test]
    fn subtree_is_an_integer_range() {
        let street = code("310115015000");
        assert!(street.contains(code("310115015001")));
        assert!(street.contains(street));
        assert!(!street.contains(code("310115016001")));
        assert_eq!(street.subtree(), 310115015000..=310115015999);
        assert_eq!(code("31").subtree(), 310000000000..=319999999999);
    }
}
