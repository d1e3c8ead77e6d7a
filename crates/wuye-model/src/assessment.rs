//! Assessment of property service (docs/assessment.md §2, §3, §5; DOMAIN.md R5.3–R5.5): the
//! rubric file, the scoring of projects and companies, and ranking with bottom places. The credit
//! ledger's derivation of scores, grades and red / black-list candidacy (§6, R5.1, R5.2, R5.6)
//! is in [`credit`].
//!
//! Everything here is pure: the `wuye` crate reads ratings, orders, inspections and the ledger
//! and hands their integer aggregates to these functions.
//!
//! **Units.** A score is an `i64` in hundredths of a point (87.50 → 8750); a weight or a
//! coverage is in basis points (45.00 % → 4500). Arithmetic is exact, in integers (`i128`
//! inside); the only roundings are those §3 names, to hundredths, half away from zero.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decimal::Area;
use crate::enums::{EnumError, Lang};
use crate::period::{Period, PeriodKind};

// ---------------------------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------------------------

vocabulary! {
    /// Where an `item` row of a rubric takes its value from (§2).
    ItemSource ("item source", "考核项数据来源") {
        OwnerRating = "owner_rating", "业主满意度评价", "Owner rating";
        CommitteeRating = "committee_rating", "业主委员会评价", "Owners' committee rating";
        AreaRating = "area_rating", "社区和街道评价", "Community and street rating";
        OrdersOnTime = "orders_on_time", "工单按时办结率", "Orders resolved on time";
        OrdersSatisfaction = "orders_satisfaction", "工单满意率", "Work-order satisfaction";
        OrdersReopen = "orders_reopen", "工单重办率", "Work-order reopen rate";
        OrdersPer100Households = "orders_per_100_households", "每百户工单量", "Orders per 100 households";
        Inspection = "inspection", "监督检查", "Inspection findings";
        Disclosure = "disclosure", "信息公开完整率", "Disclosure completeness";
    }
}

vocabulary! {
    /// What a `deduction` row of a rubric counts (§2).
    DeductionSource ("deduction source", "扣分来源") {
        OrdersEscalated = "orders_escalated", "工单升级督办", "Orders escalated";
        RectificationOverdue = "rectification_overdue", "整改逾期", "Overdue rectification notices";
        Manual = "manual", "监管扣分", "Regulator deductions";
    }
}

vocabulary! {
    /// Whether a project got a score (§3 step 6).
    ScoreStatus ("score status", "评分状态") {
        Rated = "rated", "已评分", "Rated";
        NotRated = "not_rated", "不予评分", "Not rated";
    }
}

vocabulary! {
    /// The pool whose bottom places are acted on (`assessment.bottom_scope`, §5).
    BottomScope ("bottom scope", "末位范围") {
        District = "district", "区县", "District";
        Street = "street", "街道", "Street";
    }
}

// ---------------------------------------------------------------------------------------------
// Small exact helpers
// ---------------------------------------------------------------------------------------------

/// `num ÷ den` rounded half away from zero; `den` must not be 0 (0 is returned then).
pub fn round_div(num: i128, den: i128) -> i128 {
    if den == 0 {
        return 0;
    }
    let (num, den) = if den < 0 {
        (num.saturating_neg(), den.saturating_neg())
    } else {
        (num, den)
    };
    // Quotient and remainder, then half away from zero; `r < den`, so nothing overflows even
    // at the ends of the range.
    let (q, r) = (num / den, (num % den).unsigned_abs());
    let den = den.unsigned_abs();
    if r >= den - r {
        if num >= 0 { q + 1 } else { q - 1 }
    } else {
        q
    }
}

fn to_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Hundredths as a decimal with two places ("87.50", "-3.00").
pub fn format_hundredths(h: i64) -> String {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Hundredths in the shortest exact form ("100", "12.5", "0.25"), as parameters are written.
fn format_short(h: i64) -> String {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    match a % 100 {
        0 => format!("{sign}{}", a / 100),
        f if f % 10 == 0 => format!("{sign}{}.{}", a / 100, f / 10),
        f => format!("{sign}{}.{f:02}", a / 100),
    }
}

// ---------------------------------------------------------------------------------------------
// Rule files: the seven columns shared by rubrics and credit schemes
// ---------------------------------------------------------------------------------------------

/// The columns of a rubric or credit-scheme file, in their canonical order.
pub const COLUMNS: [&str; 7] = [
    "section", "key", "name_zh", "name_en", "value", "source", "params",
];

/// One error in a rubric or credit-scheme file, named as a person finds it in the spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct RubricError {
    /// 1-based line of the file (the header is line 1); 0 for the file as a whole.
    pub line: u64,
    /// The column's name (one of [`COLUMNS`]).
    pub column: String,
    /// The refused value (empty when none applies).
    pub value: String,
    /// The reason, "English / 中文".
    pub message: String,
}

/// Joins errors one per line, for logs and the command line.
pub fn format_errors(errors: &[RubricError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Default)]
struct Check {
    errors: Vec<RubricError>,
}

impl Check {
    fn fail(&mut self, line: u64, column: &str, value: &str, message: String) {
        self.errors.push(RubricError {
            line,
            column: column.to_owned(),
            value: value.to_owned(),
            message,
        });
    }

    fn fail2(&mut self, line: u64, column: &str, value: &str, en: impl fmt::Display, zh: impl fmt::Display) {
        self.fail(line, column, value, format!("{en} / {zh}"));
    }
}

/// One data row of a rule file, fields trimmed, `section` lower-cased.
#[derive(Debug, Clone, Default)]
struct Row {
    line: u64,
    section: String,
    key: String,
    name_zh: String,
    name_en: String,
    value: String,
    source: String,
    params: String,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        match column {
            "section" => &self.section,
            "key" => &self.key,
            "name_zh" => &self.name_zh,
            "name_en" => &self.name_en,
            "value" => &self.value,
            "source" => &self.source,
            _ => &self.params,
        }
    }
}

/// Reads the header (the seven columns in any order, case-insensitive; other columns ignored;
/// a UTF-8 BOM accepted) and every non-blank row after it.
fn read_rows(text: &str, check: &mut Check) -> Vec<Row> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rec = csv::StringRecord::new();
    let mut cols: Option<[usize; 7]> = None;
    let mut rows = Vec::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                check.fail2(line, "", "", format_args!("unreadable CSV: {e}"), "CSV 格式错误");
                break;
            }
        }
        let line = rec.position().map_or(0, csv::Position::line);
        let fields: Vec<&str> = rec.iter().map(str::trim).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        let Some(c) = cols else {
            let mut found = [0; 7];
            let mut ok = true;
            for (slot, name) in found.iter_mut().zip(COLUMNS) {
                match fields.iter().position(|f| f.eq_ignore_ascii_case(name)) {
                    Some(i) => *slot = i,
                    None => {
                        ok = false;
                        check.fail2(
                            line,
                            name,
                            "",
                            format_args!("missing column {name}; the header is {}", COLUMNS.join(",")),
                            format_args!("缺少列 {name}，表头应为 {}", COLUMNS.join(",")),
                        );
                    }
                }
            }
            if !ok {
                return rows;
            }
            cols = Some(found);
            continue;
        };
        let get = |i: usize| fields.get(c[i]).copied().unwrap_or("").to_owned();
        rows.push(Row {
            line,
            section: get(0).to_ascii_lowercase(),
            key: get(1),
            name_zh: get(2),
            name_en: get(3),
            value: get(4),
            source: get(5),
            params: get(6),
        });
    }
    if cols.is_none() && check.errors.is_empty() {
        check.fail2(
            0,
            "section",
            "",
            format_args!("the file is empty; the header is {}", COLUMNS.join(",")),
            "文件为空",
        );
    }
    rows
}

/// The checks every row gets: a known section, a well-formed key unique in its section, and
/// both names. Returns false when the row is not worth reading further.
fn check_row_common(
    row: &Row,
    sections: &[&str],
    upper_keys: &[&str],
    seen: &mut BTreeMap<(String, String), u64>,
    check: &mut Check,
) -> bool {
    if !sections.contains(&row.section.as_str()) {
        check.fail2(
            row.line,
            "section",
            &row.section,
            format_args!("unknown section; expected one of {}", sections.join(", ")),
            format_args!("未知的分区，应为 {} 之一", sections.join("、")),
        );
        return false;
    }
    let upper = upper_keys.contains(&row.section.as_str());
    let key_ok = !row.key.is_empty()
        && row.key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || (upper && b.is_ascii_uppercase())
        });
    if !key_ok {
        let allowed = if upper { "[A-Za-z0-9_]+" } else { "[a-z0-9_]+" };
        check.fail2(
            row.line,
            "key",
            &row.key,
            format_args!("a key is made of {allowed}"),
            format_args!("编号只能由 {allowed} 组成"),
        );
    } else if let Some(first) = seen.insert((row.section.clone(), row.key.clone()), row.line) {
        seen.insert((row.section.clone(), row.key.clone()), first);
        check.fail2(
            row.line,
            "key",
            &row.key,
            format_args!("key already used in section {} on line {first}", row.section),
            format_args!("编号在 {} 分区第 {first} 行已使用", row.section),
        );
    }
    for column in ["name_zh", "name_en"] {
        if row.get(column).is_empty() {
            check.fail2(row.line, column, "", "a name is required", "名称不能为空");
        }
    }
    true
}

/// Refuses a value in a column the row's section does not use.
fn expect_empty(row: &Row, columns: &[&str], check: &mut Check) {
    for column in columns {
        let v = row.get(column);
        if !v.is_empty() {
            check.fail2(
                row.line,
                column,
                v,
                format_args!("not used in a {} row; leave it empty", row.section),
                format_args!("{} 行不使用此列，请留空", row.section),
            );
        }
    }
}

/// A two-decimal number in `[lo, hi]` (hundredths), or the reason.
fn decimal_in(text: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let v = Area::parse(text).map_err(|e| e.to_string())?.hundredths();
    if v < lo || v > hi {
        return Err(format!(
            "{} is outside {} – {} / 超出 {} 至 {} 的范围",
            format_short(v),
            format_short(lo),
            format_short(hi),
            format_short(lo),
            format_short(hi)
        ));
    }
    Ok(v)
}

/// A whole number in `[lo, hi]`, or the reason.
fn integer_in(text: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{t:?} is not a whole number / 不是非负整数"));
    }
    let v: i64 = t
        .parse()
        .map_err(|_| format!("{t:?} is not a whole number / 不是非负整数"))?;
    if v < lo || v > hi {
        return Err(format!("{v} is outside {lo} – {hi} / 超出 {lo} 至 {hi} 的范围"));
    }
    Ok(v)
}

/// What a parameter holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A whole number in a range.
    Int(i64, i64),
    /// A two-decimal number in a range of hundredths.
    Dec(i64, i64),
    /// A word.
    Text,
    /// A bare name without `=value`.
    Flag,
}

/// A parameter's value once read.
#[derive(Debug, Clone)]
enum Value {
    Num(i64),
    Text(String),
    Flag,
}

/// The parameters of a row, by name.
#[derive(Debug, Default)]
struct Params(BTreeMap<&'static str, Value>);

impl Params {
    fn num(&self, name: &str) -> Option<i64> {
        match self.0.get(name) {
            Some(Value::Num(v)) => Some(*v),
            _ => None,
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(Value::Text(v)) => Some(v),
            _ => None,
        }
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(Value::Flag))
    }
}

/// Reads `name=value;name;…` against `spec`; `None` when any part was refused (each reported).
fn read_params(row: &Row, spec: &[(&'static str, Kind)], check: &mut Check) -> Option<Params> {
    let mut out = Params::default();
    let mut ok = true;
    let names = || spec.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    for part in row.params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (part, None),
        };
        let mut fail = |en: String, zh: String| {
            ok = false;
            check.fail2(row.line, "params", part, en, zh);
        };
        let Some(&(name, kind)) = spec.iter().find(|(n, _)| *n == name) else {
            if spec.is_empty() {
                fail(
                    format!("parameter {name} is not used here"),
                    format!("此处不使用参数 {name}"),
                );
            } else {
                fail(
                    format!("unknown parameter {name}; expected {}", names()),
                    format!("未知参数 {name}，可用参数：{}", names()),
                );
            }
            continue;
        };
        if out.0.contains_key(name) {
            fail(
                format!("parameter {name} is given twice"),
                format!("参数 {name} 重复"),
            );
            continue;
        }
        let parsed = match (kind, value) {
            (Kind::Flag, None) => Ok(Value::Flag),
            (Kind::Flag, Some(_)) => Err(format!("{name} takes no value / {name} 不带取值")),
            (_, None) => Err(format!("{name} needs a value ({name}=…) / {name} 需要取值")),
            (Kind::Int(lo, hi), Some(v)) => integer_in(v, lo, hi).map(Value::Num),
            (Kind::Dec(lo, hi), Some(v)) => decimal_in(v, lo, hi).map(Value::Num),
            (Kind::Text, Some("")) => Err(format!("{name} needs a value / {name} 需要取值")),
            (Kind::Text, Some(v)) => Ok(Value::Text(v.to_owned())),
        };
        match parsed {
            Ok(v) => {
                out.0.insert(name, v);
            }
            Err(m) => {
                ok = false;
                check.fail(row.line, "params", part, format!("{name}: {m}"));
            }
        }
    }
    ok.then_some(out)
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> Cow<'_, str> {
    let needs = s.contains([',', '"', '\n', '\r'])
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace);
    if needs {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

fn write_row(out: &mut String, fields: [&str; 7]) {
    let line: Vec<Cow<'_, str>> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

/// A `param` row: a named number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The value in hundredths (a percentage or points).
    pub value: i64,
}

impl Setting {
    fn new(name_zh: &str, name_en: &str, value: i64) -> Self {
        Self {
            name_zh: name_zh.to_owned(),
            name_en: name_en.to_owned(),
            value,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rubric (§2)
// ---------------------------------------------------------------------------------------------

/// Points per owner rating level (hundredths), `owner_rating` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelPoints {
    /// 满意.
    pub satisfied: i64,
    /// 基本满意.
    pub basic: i64,
    /// 不满意.
    pub dissatisfied: i64,
}

impl LevelPoints {
    /// 100 / 60 / 0.
    pub const DEFAULT: Self = Self {
        satisfied: 10_000,
        basic: 6_000,
        dissatisfied: 0,
    };
}

/// Points a finding of each severity takes off an inspection's 100 (hundredths),
/// `inspection` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityPoints {
    /// A minor finding.
    pub minor: i64,
    /// A major finding.
    pub major: i64,
    /// A serious finding.
    pub serious: i64,
}

impl SeverityPoints {
    /// 2 / 5 / 10.
    pub const DEFAULT: Self = Self {
        minor: 200,
        major: 500,
        serious: 1_000,
    };
}

/// A linear mapping of the raw value: score = 100 × (worst − v) ÷ (worst − best), clamped to
/// 0–100. Both ends in hundredths of the raw value's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// The raw value scoring 100.
    pub best: i64,
    /// The raw value scoring 0.
    pub worst: i64,
}

/// The parameters of an `item` row, every default applied. A parameter left out of the file
/// takes its default, the value the default rubric writes ([`ItemSource::default_params`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemParams {
    /// The least sample `n` for the item to have data (`min_n ≥ 1`); `None` for
    /// `orders_per_100_households`, which has data when the households are known.
    pub min_n: Option<i64>,
    /// Shrinkage toward the district mean (`k ≥ 0`; 0 = none).
    pub k: i64,
    /// `owner_rating` only.
    pub levels: Option<LevelPoints>,
    /// `inspection` only.
    pub severities: Option<SeverityPoints>,
    /// The linear mapping, when the raw value is not already points.
    pub band: Option<Band>,
}

const MAX_COUNT: i64 = 1_000_000;
const MAX_POINTS: i64 = 10_000;
const MAX_BAND: i64 = 1_000_000;

impl ItemSource {
    /// The parameters the source accepts, in canonical order.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            Self::OwnerRating => &[
                "min_n",
                "k",
                "satisfied",
                "basic",
                "dissatisfied",
                "best",
                "worst",
            ],
            Self::Inspection => &["min_n", "k", "minor", "major", "serious", "best", "worst"],
            Self::OrdersPer100Households => &["best", "worst"],
            _ => &["min_n", "k", "best", "worst"],
        }
    }

    /// The parameters the canonical writer always writes; the others only when they differ from
    /// their default.
    fn core_params(self) -> &'static [&'static str] {
        match self {
            Self::OwnerRating => &["min_n", "k", "satisfied", "basic", "dissatisfied"],
            Self::CommitteeRating | Self::AreaRating | Self::Disclosure => &["min_n"],
            Self::OrdersOnTime | Self::OrdersSatisfaction => &["min_n", "k"],
            Self::OrdersReopen => &["min_n", "k", "best", "worst"],
            Self::OrdersPer100Households => &["best", "worst"],
            Self::Inspection => &["minor", "major", "serious"],
        }
    }

    fn param_kind(name: &str) -> Kind {
        match name {
            "min_n" => Kind::Int(1, MAX_COUNT),
            "k" => Kind::Int(0, MAX_COUNT),
            "best" | "worst" => Kind::Dec(0, MAX_BAND),
            _ => Kind::Dec(0, MAX_POINTS),
        }
    }

    /// The defaults: `min_n` 5 owners, 3 orders, else 1; `k` 10 for owners and the three order
    /// rates, else 0; owner points 100 / 60 / 0; severity points 2 / 5 / 10; the reopen rate and
    /// the orders per 100 households mapped from best 0 to worst 20.
    pub const fn default_params(self) -> ItemParams {
        let (min_n, k) = match self {
            Self::OwnerRating => (Some(5), 10),
            Self::OrdersOnTime | Self::OrdersSatisfaction | Self::OrdersReopen => (Some(3), 10),
            Self::OrdersPer100Households => (None, 0),
            _ => (Some(1), 0),
        };
        let band = match self {
            Self::OrdersReopen | Self::OrdersPer100Households => Some(Band {
                best: 0,
                worst: 2_000,
            }),
            _ => None,
        };
        ItemParams {
            min_n,
            k,
            levels: if matches!(self, Self::OwnerRating) {
                Some(LevelPoints::DEFAULT)
            } else {
                None
            },
            severities: if matches!(self, Self::Inspection) {
                Some(SeverityPoints::DEFAULT)
            } else {
                None
            },
            band,
        }
    }

    /// The raw value in hundredths of its unit is `scale × num ÷ den`: 1 for ratings and
    /// inspections (`num` already in hundredths of a point), 10,000 for rates (`num`, `den`
    /// counts, the value a percentage), 100 for orders per 100 households per 30 days.
    pub const fn scale(self) -> i64 {
        match self {
            Self::OwnerRating | Self::CommitteeRating | Self::AreaRating | Self::Inspection => 1,
            Self::OrdersPer100Households => 100,
            Self::OrdersOnTime | Self::OrdersSatisfaction | Self::OrdersReopen | Self::Disclosure => 10_000,
        }
    }
}

/// An `item` row: a weighted part of the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Identifier (`owners`).
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Weight in basis points (45.00 % → 4500), > 0.
    pub weight_bp: i64,
    /// Where the value comes from.
    pub source: ItemSource,
    /// The source's parameters.
    pub params: ItemParams,
}

/// A `deduction` row: points per event, capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductionRow {
    /// Identifier (`interview_orders`).
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// What is counted.
    pub source: DeductionSource,
    /// `orders_escalated`: the supervision level (1–3) an order must have reached.
    pub level: Option<u8>,
    /// Points per event (hundredths); `None` for `manual`, whose deductions carry their points.
    pub points: Option<i64>,
    /// The most the row takes off (hundredths).
    pub cap: i64,
}

impl DeductionSource {
    fn param_names(self) -> &'static [&'static str] {
        match self {
            Self::OrdersEscalated => &["level", "points", "cap"],
            Self::RectificationOverdue => &["points", "cap"],
            Self::Manual => &["cap"],
        }
    }

    /// The defaults: level 3, 1 point capped at 5; 2 points capped at 10; manual capped at 20.
    pub const fn default_row_params(self) -> (Option<u8>, Option<i64>, i64) {
        match self {
            Self::OrdersEscalated => (Some(3), Some(100), 500),
            Self::RectificationOverdue => (None, Some(200), 1_000),
            Self::Manual => (None, None, 2_000),
        }
    }
}

/// A `star` row: the stars of scores from `lower` (inclusive) up to the next band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarBand {
    /// Identifier: the number of stars (`5`).
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The number of stars.
    pub stars: u8,
    /// Inclusive lower bound (hundredths).
    pub lower: i64,
}

/// An `action` row of the bottom-place ladder (§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRow {
    /// Identifier (`first`).
    pub key: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The bottom streak from which the row applies.
    pub streak: u32,
    /// Listed on the public rankings page.
    pub public_notice: bool,
    /// An interview task for the district (or street).
    pub interview: bool,
    /// A rectification notice due this many working days after the close.
    pub rectification_days: Option<u32>,
    /// A `bad` credit record of this many points (hundredths).
    pub credit: Option<i64>,
    /// An exit case is proposed.
    pub exit: bool,
}

/// A validated rubric (§2). Built only by [`Rubric::parse`] (or from its JSON body, which is
/// validated the same way); every field is read through an accessor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RubricBody")]
pub struct Rubric {
    key: String,
    name_zh: String,
    name_en: String,
    min_coverage: Setting,
    items: Vec<Item>,
    deductions: Vec<DeductionRow>,
    stars: Vec<StarBand>,
    actions: Vec<ActionRow>,
}

/// The JSON body as stored, before validation.
#[derive(Deserialize)]
struct RubricBody {
    key: String,
    name_zh: String,
    name_en: String,
    min_coverage: Setting,
    items: Vec<Item>,
    deductions: Vec<DeductionRow>,
    stars: Vec<StarBand>,
    actions: Vec<ActionRow>,
}

impl TryFrom<RubricBody> for Rubric {
    type Error = String;

    /// Validates a stored body by writing it as CSV and parsing that.
    fn try_from(b: RubricBody) -> Result<Self, String> {
        let unchecked = Self {
            key: b.key,
            name_zh: b.name_zh,
            name_en: b.name_en,
            min_coverage: b.min_coverage,
            items: b.items,
            deductions: b.deductions,
            stars: b.stars,
            actions: b.actions,
        };
        Self::parse(&unchecked.to_csv()).map_err(|e| format_errors(&e))
    }
}

/// The default rubric file (every value a *setting*).
pub const DEFAULT_RUBRIC_CSV: &str = include_str!("../data/rubric-default.csv");

const RUBRIC_SECTIONS: [&str; 6] = ["rubric", "param", "item", "deduction", "star", "action"];

impl Rubric {
    /// The text of the default rubric, `data/rubric-default.csv`.
    pub const fn default_csv() -> &'static str {
        DEFAULT_RUBRIC_CSV
    }

    /// Parses and validates a rubric file, reporting every row error (§2): keys `[a-z0-9_]+`
    /// unique per section; one `rubric` row; weights > 0 summing to exactly 100.00; known
    /// sources and parameters in range (`min_n ≥ 1`, `k ≥ 0`, `best ≠ worst`); star bounds
    /// strictly falling to 0.00; action streaks rising from 1.
    pub fn parse(text: &str) -> Result<Self, Vec<RubricError>> {
        let mut check = Check::default();
        let rows = read_rows(text, &mut check);
        let mut seen = BTreeMap::new();
        let mut head: Option<&Row> = None;
        let mut min_coverage = Setting::new("最低数据覆盖率(%)", "Minimum coverage (%)", 6_000);
        let mut items = Vec::new();
        let mut deductions = Vec::new();
        let mut stars: Vec<(&Row, Option<i64>)> = Vec::new();
        let mut actions: Vec<(u64, ActionRow)> = Vec::new();
        let mut weights_ok = true;
        // Every valid weight counts toward the sum, also on a row refused for its source or
        // parameters: otherwise that row's error brings a second, false one about the sum.
        let mut total: i64 = 0;
        for row in &rows {
            if !check_row_common(row, &RUBRIC_SECTIONS, &[], &mut seen, &mut check) {
                continue;
            }
            match row.section.as_str() {
                "rubric" => {
                    expect_empty(row, &["value", "source", "params"], &mut check);
                    if let Some(first) = head {
                        check.fail2(
                            row.line,
                            "section",
                            &row.section,
                            format_args!("a second rubric row (the first is on line {})", first.line),
                            format_args!("rubric 行重复（第 {} 行已有）", first.line),
                        );
                    } else {
                        head = Some(row);
                    }
                }
                "param" => {
                    expect_empty(row, &["source", "params"], &mut check);
                    if row.key != "min_coverage" {
                        check.fail2(
                            row.line,
                            "key",
                            &row.key,
                            "unknown param; expected min_coverage",
                            "未知参数，应为 min_coverage",
                        );
                        continue;
                    }
                    match decimal_in(&row.value, 0, 10_000) {
                        Ok(v) => min_coverage = Setting::new(&row.name_zh, &row.name_en, v),
                        Err(m) => check.fail(row.line, "value", &row.value, m),
                    }
                }
                "item" => {
                    let weight = match decimal_in(&row.value, 1, 10_000) {
                        Ok(w) => {
                            total += w;
                            Some(w)
                        }
                        Err(m) => {
                            weights_ok = false;
                            check.fail(row.line, "value", &row.value, format!("weight (%): {m}"));
                            None
                        }
                    };
                    let source = match ItemSource::parse(&row.source) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            check.fail(row.line, "source", &row.source, e.to_string());
                            None
                        }
                    };
                    let params = source.and_then(|s| parse_item_params(row, s, &mut check));
                    if let (Some(weight_bp), Some(source), Some(params)) = (weight, source, params) {
                        items.push(Item {
                            key: row.key.clone(),
                            name_zh: row.name_zh.clone(),
                            name_en: row.name_en.clone(),
                            weight_bp,
                            source,
                            params,
                        });
                    }
                }
                "deduction" => {
                    expect_empty(row, &["value"], &mut check);
                    match DeductionSource::parse(&row.source) {
                        Ok(source) => {
                            if let Some(d) = parse_deduction(row, source, &mut check) {
                                deductions.push(d);
                            }
                        }
                        Err(e) => check.fail(row.line, "source", &row.source, e.to_string()),
                    }
                }
                "star" => {
                    expect_empty(row, &["source", "params"], &mut check);
                    let lower = decimal_in(&row.value, 0, 10_000)
                        .map_err(|m| check.fail(row.line, "value", &row.value, m))
                        .ok();
                    stars.push((row, lower));
                }
                _ => {
                    expect_empty(row, &["source"], &mut check);
                    let streak = integer_in(&row.value, 1, 1_000)
                        .map_err(|m| check.fail(row.line, "value", &row.value, format!("streak: {m}")))
                        .ok();
                    let params = parse_action_params(row, &mut check);
                    if let (Some(streak), Some(action)) = (streak, params) {
                        actions.push((
                            row.line,
                            ActionRow {
                                streak: u32::try_from(streak).unwrap_or(u32::MAX),
                                ..action
                            },
                        ));
                    }
                }
            }
        }
        if head.is_none() && !rows.is_empty() {
            check.fail2(
                0,
                "section",
                "",
                "no rubric row (its key and names identify the rubric)",
                "缺少 rubric 行（细则编号和名称）",
            );
        }
        if weights_ok && !rows.is_empty() && total != 10_000 {
            check.fail2(
                0,
                "value",
                &format_hundredths(total),
                format_args!("item weights sum to {}, not 100.00", format_hundredths(total)),
                format_args!("考核项权重合计为 {}，应为 100.00", format_hundredths(total)),
            );
        }
        let star_bands = check_stars(&stars, &rows, &mut check);
        check_actions(&actions, &mut check);
        if !check.errors.is_empty() {
            return Err(check.errors);
        }
        let (key, name_zh, name_en) = head.map_or_else(Default::default, |h| {
            (h.key.clone(), h.name_zh.clone(), h.name_en.clone())
        });
        Ok(Self {
            key,
            name_zh,
            name_en,
            min_coverage,
            items,
            deductions,
            stars: star_bands,
            actions: actions.into_iter().map(|(_, a)| a).collect(),
        })
    }

    /// The canonical CSV: header, then the rubric, param, item, deduction, star and action rows;
    /// values with two decimals, parameters in a fixed order. Parsing it gives the same rubric.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        write_row(&mut out, COLUMNS);
        write_row(
            &mut out,
            ["rubric", &self.key, &self.name_zh, &self.name_en, "", "", ""],
        );
        let m = &self.min_coverage;
        write_row(
            &mut out,
            [
                "param",
                "min_coverage",
                &m.name_zh,
                &m.name_en,
                &format_hundredths(m.value),
                "",
                "",
            ],
        );
        for i in &self.items {
            write_row(
                &mut out,
                [
                    "item",
                    &i.key,
                    &i.name_zh,
                    &i.name_en,
                    &format_hundredths(i.weight_bp),
                    i.source.as_str(),
                    &item_params_text(i.source, &i.params),
                ],
            );
        }
        for d in &self.deductions {
            let mut p = Vec::new();
            if let Some(l) = d.level {
                p.push(format!("level={l}"));
            }
            if let Some(pts) = d.points {
                p.push(format!("points={}", format_short(pts)));
            }
            p.push(format!("cap={}", format_short(d.cap)));
            write_row(
                &mut out,
                [
                    "deduction",
                    &d.key,
                    &d.name_zh,
                    &d.name_en,
                    "",
                    d.source.as_str(),
                    &p.join(";"),
                ],
            );
        }
        for s in &self.stars {
            write_row(
                &mut out,
                [
                    "star",
                    &s.key,
                    &s.name_zh,
                    &s.name_en,
                    &format_hundredths(s.lower),
                    "",
                    "",
                ],
            );
        }
        for a in &self.actions {
            let mut p = Vec::new();
            if a.public_notice {
                p.push("public_notice".to_owned());
            }
            if a.interview {
                p.push("interview".to_owned());
            }
            if let Some(d) = a.rectification_days {
                p.push(format!("rectification_days={d}"));
            }
            if let Some(c) = a.credit {
                p.push(format!("credit={}", format_hundredths(c)));
            }
            if a.exit {
                p.push("exit".to_owned());
            }
            write_row(
                &mut out,
                [
                    "action",
                    &a.key,
                    &a.name_zh,
                    &a.name_en,
                    &a.streak.to_string(),
                    "",
                    &p.join(";"),
                ],
            );
        }
        out
    }

    /// The identifier of the `rubric` row (`default_2026`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The rubric's Chinese name.
    pub fn name_zh(&self) -> &str {
        &self.name_zh
    }

    /// The rubric's English name.
    pub fn name_en(&self) -> &str {
        &self.name_en
    }

    /// The rubric's name in `lang`.
    pub fn name(&self, lang: Lang) -> &str {
        lang.pick(&self.name_zh, &self.name_en)
    }

    /// `min_coverage` in basis points (60.00 % → 6000).
    pub fn min_coverage_bp(&self) -> i64 {
        self.min_coverage.value
    }

    /// The `item` rows, in file order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The `deduction` rows, in file order.
    pub fn deductions(&self) -> &[DeductionRow] {
        &self.deductions
    }

    /// The `star` rows, highest bound first.
    pub fn stars(&self) -> &[StarBand] {
        &self.stars
    }

    /// The `action` rows, lowest streak first.
    pub fn actions(&self) -> &[ActionRow] {
        &self.actions
    }

    /// The stars of a score (hundredths): the first band whose lower bound ≤ the score.
    pub fn stars_for(&self, score: i64) -> Option<u8> {
        self.stars.iter().find(|s| s.lower <= score).map(|s| s.stars)
    }

    /// The action row that applies to a bottom streak: the one with the highest streak ≤ it.
    pub fn action_for(&self, streak: i64) -> Option<&ActionRow> {
        self.actions.iter().rev().find(|a| i64::from(a.streak) <= streak)
    }
}

fn parse_item_params(row: &Row, source: ItemSource, check: &mut Check) -> Option<ItemParams> {
    let spec: Vec<(&'static str, Kind)> = source
        .param_names()
        .iter()
        .map(|n| (*n, ItemSource::param_kind(n)))
        .collect();
    let got = read_params(row, &spec, check)?;
    let mut p = source.default_params();
    if let Some(v) = got.num("min_n") {
        p.min_n = Some(v);
    }
    if let Some(v) = got.num("k") {
        p.k = v;
    }
    if let Some(l) = p.levels.as_mut() {
        l.satisfied = got.num("satisfied").unwrap_or(l.satisfied);
        l.basic = got.num("basic").unwrap_or(l.basic);
        l.dissatisfied = got.num("dissatisfied").unwrap_or(l.dissatisfied);
    }
    if let Some(s) = p.severities.as_mut() {
        s.minor = got.num("minor").unwrap_or(s.minor);
        s.major = got.num("major").unwrap_or(s.major);
        s.serious = got.num("serious").unwrap_or(s.serious);
    }
    let (best, worst) = (got.num("best"), got.num("worst"));
    p.band = match (best, worst, p.band) {
        (None, None, band) => band,
        (b, w, Some(d)) => Some(Band {
            best: b.unwrap_or(d.best),
            worst: w.unwrap_or(d.worst),
        }),
        (Some(best), Some(worst), None) => Some(Band { best, worst }),
        _ => {
            check.fail2(
                row.line,
                "params",
                &row.params,
                "best and worst are given together",
                "best 和 worst 须同时给出",
            );
            return None;
        }
    };
    if let Some(b) = p.band
        && b.best == b.worst
    {
        check.fail2(
            row.line,
            "params",
            &row.params,
            "best and worst must differ",
            "best 与 worst 不能相等",
        );
        return None;
    }
    Some(p)
}

fn item_params_text(source: ItemSource, p: &ItemParams) -> String {
    let d = source.default_params();
    let core = source.core_params();
    let mut out: Vec<String> = Vec::new();
    let mut put = |name: &str, value: Option<i64>, default: Option<i64>, text: String| {
        if value.is_some() && (core.contains(&name) || value != default) {
            out.push(format!("{name}={text}"));
        }
    };
    if let Some(m) = p.min_n {
        put("min_n", Some(m), d.min_n, m.to_string());
    }
    if source.param_names().contains(&"k") {
        put("k", Some(p.k), Some(d.k), p.k.to_string());
    }
    if let Some(l) = p.levels {
        let dl = d.levels.unwrap_or(LevelPoints::DEFAULT);
        put(
            "satisfied",
            Some(l.satisfied),
            Some(dl.satisfied),
            format_short(l.satisfied),
        );
        put("basic", Some(l.basic), Some(dl.basic), format_short(l.basic));
        put(
            "dissatisfied",
            Some(l.dissatisfied),
            Some(dl.dissatisfied),
            format_short(l.dissatisfied),
        );
    }
    if let Some(s) = p.severities {
        let ds = d.severities.unwrap_or(SeverityPoints::DEFAULT);
        put("minor", Some(s.minor), Some(ds.minor), format_short(s.minor));
        put("major", Some(s.major), Some(ds.major), format_short(s.major));
        put(
            "serious",
            Some(s.serious),
            Some(ds.serious),
            format_short(s.serious),
        );
    }
    if let Some(b) = p.band {
        let db = d.band;
        put("best", Some(b.best), db.map(|x| x.best), format_short(b.best));
        put("worst", Some(b.worst), db.map(|x| x.worst), format_short(b.worst));
    }
    out.join(";")
}

fn parse_deduction(row: &Row, source: DeductionSource, check: &mut Check) -> Option<DeductionRow> {
    let spec: Vec<(&'static str, Kind)> = source
        .param_names()
        .iter()
        .map(|n| {
            let kind = if *n == "level" {
                Kind::Int(1, 3)
            } else {
                Kind::Dec(1, MAX_POINTS)
            };
            (*n, kind)
        })
        .collect();
    let got = read_params(row, &spec, check)?;
    let (level, points, cap) = source.default_row_params();
    Some(DeductionRow {
        key: row.key.clone(),
        name_zh: row.name_zh.clone(),
        name_en: row.name_en.clone(),
        source,
        level: got.num("level").and_then(|l| u8::try_from(l).ok()).or(level),
        points: got.num("points").or(points),
        cap: got.num("cap").unwrap_or(cap),
    })
}

fn parse_action_params(row: &Row, check: &mut Check) -> Option<ActionRow> {
    let spec = [
        ("public_notice", Kind::Flag),
        ("interview", Kind::Flag),
        ("rectification_days", Kind::Int(1, 365)),
        ("credit", Kind::Dec(1, MAX_POINTS)),
        ("exit", Kind::Flag),
    ];
    let got = read_params(row, &spec, check)?;
    if got.0.is_empty() {
        check.fail2(
            row.line,
            "params",
            "",
            "an action row needs at least one action (public_notice, interview, rectification_days=D, credit=X, exit)",
            "action 行至少要有一项措施",
        );
        return None;
    }
    Some(ActionRow {
        key: row.key.clone(),
        name_zh: row.name_zh.clone(),
        name_en: row.name_en.clone(),
        streak: 0,
        public_notice: got.flag("public_notice"),
        interview: got.flag("interview"),
        rectification_days: got.num("rectification_days").and_then(|d| u32::try_from(d).ok()),
        credit: got.num("credit"),
        exit: got.flag("exit"),
    })
}

/// Star bounds strictly falling to 0.00, keyed by their number of stars counting down to 1.
fn check_stars(stars: &[(&Row, Option<i64>)], rows: &[Row], check: &mut Check) -> Vec<StarBand> {
    if stars.is_empty() {
        if !rows.is_empty() {
            check.fail2(0, "section", "", "no star rows", "缺少星级（star）行");
        }
        return Vec::new();
    }
    if stars.len() > 10 {
        check.fail2(
            stars[10].0.line,
            "section",
            "star",
            "at most 10 star rows",
            "星级行最多 10 行",
        );
        return Vec::new();
    }
    let count = stars.len();
    let mut out = Vec::new();
    let mut previous: Option<i64> = None;
    for (i, (row, lower)) in stars.iter().enumerate() {
        let n = count - i;
        if row.key != n.to_string() {
            check.fail2(
                row.line,
                "key",
                &row.key,
                format_args!("star rows are keyed by their number of stars, {count} down to 1; expected {n}"),
                format_args!("星级行的编号为星数，自 {count} 递减至 1，此处应为 {n}"),
            );
        }
        let Some(lower) = *lower else { continue };
        if let Some(p) = previous
            && lower >= p
        {
            check.fail2(
                row.line,
                "value",
                &row.value,
                format_args!(
                    "star bounds must fall strictly (the row above has {})",
                    format_hundredths(p)
                ),
                format_args!("星级下限须逐行递减（上一行为 {}）", format_hundredths(p)),
            );
        }
        if i + 1 == count && lower != 0 {
            check.fail2(
                row.line,
                "value",
                &row.value,
                "the last star row's bound is 0.00",
                "最后一个星级的下限须为 0.00",
            );
        }
        previous = Some(lower);
        out.push(StarBand {
            key: row.key.clone(),
            name_zh: row.name_zh.clone(),
            name_en: row.name_en.clone(),
            stars: u8::try_from(n).unwrap_or(u8::MAX),
            lower,
        });
    }
    out
}

/// Action streaks rising from 1.
fn check_actions(actions: &[(u64, ActionRow)], check: &mut Check) {
    let mut previous: Option<u32> = None;
    for (line, a) in actions {
        let ok = match previous {
            None => a.streak == 1,
            Some(p) => a.streak > p,
        };
        if !ok {
            let v = a.streak.to_string();
            match previous {
                None => check.fail2(
                    *line,
                    "value",
                    &v,
                    "the first action row's streak is 1",
                    "第一个 action 行的连续末位次数须为 1",
                ),
                Some(p) => check.fail2(
                    *line,
                    "value",
                    &v,
                    format_args!("action streaks must rise (the row above has {p})"),
                    format_args!("连续末位次数须逐行递增（上一行为 {p}）"),
                ),
            }
        }
        previous = Some(a.streak);
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring (§3)
// ---------------------------------------------------------------------------------------------

/// Owners' ratings of a project by level (the latest per owner).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerLevels {
    /// 满意.
    pub satisfied: i64,
    /// 基本满意.
    pub basic: i64,
    /// 不满意.
    pub dissatisfied: i64,
}

/// The work orders of a project filed in the period (merged duplicates, declined and cancelled
/// orders left out), as counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCounts {
    /// Orders counted (`orders_per_100_households`).
    pub filed: i64,
    /// In the on-time denominator: replied, or `handle_due` passed at `as_of`.
    pub due: i64,
    /// Replied by `handle_due`.
    pub on_time: i64,
    /// Replied.
    pub replied: i64,
    /// Of the replied, reopened at least once.
    pub reopened: i64,
    /// With a satisfaction rating.
    pub rated: i64,
    /// Rated satisfied.
    pub satisfied: i64,
    /// Rated basically satisfied.
    pub basic: i64,
    /// Orders by the highest supervision level they reached (index 0–3).
    pub by_max_level: [i64; 4],
}

/// The findings (not withdrawn) of one submitted inspection, by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionFindings {
    /// Minor findings.
    pub minor: i64,
    /// Major findings.
    pub major: i64,
    /// Serious findings.
    pub serious: i64,
}

/// Disclosure items published in time of those due (R3.1); zero until the module exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureCounts {
    /// Items due in the period.
    pub due: i64,
    /// Of them, published in time.
    pub in_time: i64,
}

/// Everything the scoring needs to know about one project (a compound and the company whose
/// contract overlaps the period), already attributed (§3 step 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInput {
    /// The compound.
    pub compound_id: i64,
    /// The company.
    pub company_id: i64,
    /// The compound's district code (the pool of the priors and of district ranking).
    pub district_code: i64,
    /// The compound's street code.
    pub street_code: i64,
    /// Households; `None` when unknown (`orders_per_100_households` then has no data).
    pub households: Option<i64>,
    /// Residential rooms: the project's weight in its company's score when `households` is
    /// unknown.
    pub residential_rooms: i64,
    /// The days of the period the contract covers.
    pub tenure_days: i64,
    /// Owners' ratings by level.
    pub owners: OwnerLevels,
    /// The committee's score (hundredths, 0–10000), if it rated.
    pub committee: Option<i64>,
    /// The community's score (hundredths), if it rated.
    pub community: Option<i64>,
    /// The street's score (hundredths), if it rated.
    pub street: Option<i64>,
    /// Work orders filed in the period.
    pub orders: OrderCounts,
    /// One entry per submitted inspection in the period.
    pub inspections: Vec<InspectionFindings>,
    /// Disclosure items.
    pub disclosure: DisclosureCounts,
    /// Rectification notices whose deadline fell in the period with no response by it.
    pub overdue_notices: i64,
    /// Points (hundredths) of each manual deduction dated in the period and not revoked.
    pub manual_deductions: Vec<i64>,
}

impl ProjectInput {
    /// The project's weight in its company's score: households, else residential rooms.
    pub fn weight(&self) -> i64 {
        self.households.unwrap_or(self.residential_rooms)
    }
}

/// A district mean `num ÷ den` (`M_num = Σ num`, `M_den = Σ den`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prior {
    /// Σ num over the district's projects.
    pub num: i64,
    /// Σ den over the district's projects.
    pub den: i64,
}

/// The priors of every district and item (§3 step 3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priors(BTreeMap<i64, BTreeMap<String, Prior>>);

impl Priors {
    /// The prior of an item in a district (0 ÷ 0 when none).
    pub fn get(&self, district_code: i64, item_key: &str) -> Prior {
        self.0
            .get(&district_code)
            .and_then(|m| m.get(item_key))
            .copied()
            .unwrap_or_default()
    }

    /// Sets the prior of an item in a district.
    pub fn set(&mut self, district_code: i64, item_key: &str, prior: Prior) {
        self.0
            .entry(district_code)
            .or_default()
            .insert(item_key.to_owned(), prior);
    }
}

/// An item's integer aggregates (§3 step 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    /// The sample size.
    pub n: i64,
    /// Numerator of the raw value.
    pub num: i64,
    /// Denominator of the raw value.
    pub den: i64,
    /// Whether the item has data (§2 "has data when").
    pub has_data: bool,
}

/// Aggregates one item of one project over a period of `days` days.
pub fn aggregate(item: &Item, p: &ProjectInput, days: i64) -> Aggregate {
    let min_n = item.params.min_n.unwrap_or(1);
    let sample = |n: i64, num: i64, den: i64| Aggregate {
        n,
        num,
        den,
        has_data: n >= min_n && den > 0,
    };
    let o = &p.orders;
    match item.source {
        ItemSource::OwnerRating => {
            let l = item.params.levels.unwrap_or(LevelPoints::DEFAULT);
            let r = &p.owners;
            // Saturating throughout: counts and points come from outside (never a panic or a
            // wrapped sign on absurd inputs).
            let n = r.satisfied.saturating_add(r.basic).saturating_add(r.dissatisfied);
            let num = r
                .satisfied
                .saturating_mul(l.satisfied)
                .saturating_add(r.basic.saturating_mul(l.basic))
                .saturating_add(r.dissatisfied.saturating_mul(l.dissatisfied));
            sample(n, num, n)
        }
        ItemSource::CommitteeRating => match p.committee {
            Some(s) => sample(1, s, 1),
            None => sample(0, 0, 0),
        },
        ItemSource::AreaRating => {
            let scores: Vec<i64> = [p.community, p.street].into_iter().flatten().collect();
            let n = i64::try_from(scores.len()).unwrap_or(0);
            sample(n, scores.iter().fold(0, |a, s| a.saturating_add(*s)), n)
        }
        ItemSource::OrdersOnTime => sample(o.due, o.on_time, o.due),
        ItemSource::OrdersSatisfaction => sample(o.rated, o.satisfied.saturating_add(o.basic), o.rated),
        ItemSource::OrdersReopen => sample(o.replied, o.reopened, o.replied),
        ItemSource::OrdersPer100Households => {
            let households = p.households.unwrap_or(0);
            Aggregate {
                n: o.filed,
                num: o.filed.saturating_mul(100 * 30),
                den: households.saturating_mul(days).max(0),
                has_data: households > 0 && days > 0,
            }
        }
        ItemSource::Inspection => {
            let s = item.params.severities.unwrap_or(SeverityPoints::DEFAULT);
            let n = i64::try_from(p.inspections.len()).unwrap_or(0);
            let num = p
                .inspections
                .iter()
                .map(|f| {
                    let taken = f
                        .minor
                        .saturating_mul(s.minor)
                        .saturating_add(f.major.saturating_mul(s.major))
                        .saturating_add(f.serious.saturating_mul(s.serious));
                    10_000i64.saturating_sub(taken).max(0)
                })
                .fold(0, i64::saturating_add);
            sample(n, num, n)
        }
        ItemSource::Disclosure => sample(p.disclosure.due, p.disclosure.in_time, p.disclosure.due),
    }
}

/// The item score `s` (hundredths, 0–10000) of an aggregate with data: shrunk toward the prior
/// with `k` (§3 step 4), mapped through the band (§2), rounded half away from zero (step 5).
pub fn item_value(item: &Item, agg: Aggregate, prior: Prior) -> i64 {
    let scale = i128::from(item.source.scale());
    let k = i128::from(item.params.k);
    let (mut num, mut den) = (i128::from(agg.num), i128::from(agg.den));
    // Exact for any real count; saturating at the ends of i128 (absurd inputs get a value in
    // range, never a panic).
    if k > 0 && prior.den > 0 {
        let (m_num, m_den) = (i128::from(prior.num), i128::from(prior.den));
        num = num.saturating_mul(m_den).saturating_add(k.saturating_mul(m_num));
        den = den.saturating_add(k).saturating_mul(m_den);
    }
    let (n, d) = match item.params.band {
        Some(b) => {
            let (best, worst) = (i128::from(b.best), i128::from(b.worst));
            (
                worst
                    .saturating_mul(den)
                    .saturating_sub(scale.saturating_mul(num))
                    .saturating_mul(10_000),
                (worst - best).saturating_mul(den),
            )
        }
        None => (scale.saturating_mul(num), den),
    };
    to_i64(round_div(n, d).clamp(0, 10_000))
}

/// The sums of every item's `num` and `den` over each district's projects, those below
/// `min_n` included (§3 step 3).
pub fn district_priors(rubric: &Rubric, period: &Period, projects: &[ProjectInput]) -> Priors {
    let days = period.days();
    let mut sums: BTreeMap<i64, BTreeMap<String, Prior>> = BTreeMap::new();
    for p in projects {
        let district = sums.entry(p.district_code).or_default();
        for item in &rubric.items {
            let a = aggregate(item, p, days);
            let prior = district.entry(item.key.clone()).or_default();
            prior.num = prior.num.saturating_add(a.num);
            prior.den = prior.den.saturating_add(a.den);
        }
    }
    Priors(sums)
}

/// One item of a project's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemScore {
    /// The rubric item's key.
    pub key: String,
    /// Its source.
    pub source: ItemSource,
    /// Its weight (basis points).
    pub weight_bp: i64,
    /// Sample size.
    pub n: i64,
    /// Raw value numerator (see [`ItemSource::scale`]).
    pub num: i64,
    /// Raw value denominator.
    pub den: i64,
    /// The district prior's numerator.
    pub prior_num: i64,
    /// The district prior's denominator.
    pub prior_den: i64,
    /// Shrinkage used.
    pub k: i64,
    /// The item score (hundredths, 0–10000); `None` without data — never 0 or 100 then.
    pub value: Option<i64>,
    /// Why the item has no data, in English (empty when it has).
    pub reason_en: String,
    /// The same in Chinese.
    pub reason_zh: String,
}

impl ItemScore {
    /// Whether the item counted.
    pub fn has_data(&self) -> bool {
        self.value.is_some()
    }
}

/// One deduction row applied to a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductionScore {
    /// The rubric row's key.
    pub key: String,
    /// Its source.
    pub source: DeductionSource,
    /// Events counted.
    pub events: i64,
    /// Points taken off (hundredths), after the cap.
    pub points: i64,
}

/// A project's result (§3), with its ranks once [`rank_projects`] has run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectScore {
    /// The compound.
    pub compound_id: i64,
    /// The company.
    pub company_id: i64,
    /// District code.
    pub district_code: i64,
    /// Street code.
    pub street_code: i64,
    /// Households, if known.
    pub households: Option<i64>,
    /// The weight in the company score (households, else residential rooms).
    pub weight: i64,
    /// Days of the period the contract covers.
    pub tenure_days: i64,
    /// Rated or not.
    pub status: ScoreStatus,
    /// The missing items with their `n`, and for a project not rated its coverage against the
    /// minimum, in English ("owner ratings 3 (minimum 5); coverage 55.00 % < 60.00 %").
    pub reason_en: String,
    /// The same in Chinese.
    pub reason_zh: String,
    /// Σ weights of the items with data ÷ Σ weights (basis points).
    pub coverage_bp: i64,
    /// The weighted mean of the items with data (hundredths); `None` unless rated.
    pub weighted: Option<i64>,
    /// Σ of the deductions (hundredths).
    pub deducted: i64,
    /// max(0, weighted − deducted); `None` unless rated.
    pub score: Option<i64>,
    /// Stars; `None` unless rated.
    pub stars: Option<u8>,
    /// Every item of the rubric, in its order.
    pub items: Vec<ItemScore>,
    /// Every deduction row of the rubric, in its order.
    pub deductions: Vec<DeductionScore>,
    /// Rank in the street (rated projects only).
    pub rank_street: Option<u32>,
    /// Rated projects in the street.
    pub pool_street: u32,
    /// Rank in the district (rated projects only).
    pub rank_district: Option<u32>,
    /// Rated projects in the district.
    pub pool_district: u32,
    /// In a bottom place of its `bottom_scope` pool (month runs only).
    pub bottom: bool,
}

impl ProjectScore {
    /// The reason as one text, "English / 中文" (empty when there is nothing to say).
    pub fn reason(&self) -> String {
        if self.reason_en.is_empty() {
            String::new()
        } else {
            format!("{} / {}", self.reason_en, self.reason_zh)
        }
    }
}

/// Why an item has no data, in English and Chinese.
fn missing_reason(item: &Item, a: Aggregate) -> (String, String) {
    let min = item.params.min_n.unwrap_or(1);
    let n = a.n;
    match item.source {
        ItemSource::OwnerRating => (
            format!("owner ratings {n} (minimum {min})"),
            format!("业主评价 {n} 份（最少 {min} 份）"),
        ),
        ItemSource::CommitteeRating => (
            format!("committee ratings {n} (minimum {min})"),
            format!("业委会评价 {n} 份（最少 {min} 份）"),
        ),
        ItemSource::AreaRating => (
            format!("community and street ratings {n} (minimum {min})"),
            format!("社区和街道评价 {n} 份（最少 {min} 份）"),
        ),
        ItemSource::OrdersOnTime => (
            format!("orders due {n} (minimum {min})"),
            format!("应办结工单 {n} 件（最少 {min} 件）"),
        ),
        ItemSource::OrdersSatisfaction => (
            format!("rated orders {n} (minimum {min})"),
            format!("已评价工单 {n} 件（最少 {min} 件）"),
        ),
        ItemSource::OrdersReopen => (
            format!("replied orders {n} (minimum {min})"),
            format!("已答复工单 {n} 件（最少 {min} 件）"),
        ),
        ItemSource::OrdersPer100Households => ("households unknown".to_owned(), "户数未知".to_owned()),
        ItemSource::Inspection => (
            format!("inspections {n} (minimum {min})"),
            format!("检查 {n} 次（最少 {min} 次）"),
        ),
        ItemSource::Disclosure => (
            format!("disclosure items due {n} (minimum {min})"),
            format!("应公开事项 {n} 项（最少 {min} 项）"),
        ),
    }
}

/// Scores one project against its district's priors (§3 steps 4–8). Ranks are left empty.
pub fn score_project(rubric: &Rubric, period: &Period, p: &ProjectInput, priors: &Priors) -> ProjectScore {
    let days = period.days();
    let mut items = Vec::with_capacity(rubric.items.len());
    let (mut total_w, mut data_w, mut sum_ws) = (0i128, 0i128, 0i128);
    let (mut missing_en, mut missing_zh) = (Vec::new(), Vec::new());
    for item in &rubric.items {
        let a = aggregate(item, p, days);
        let prior = priors.get(p.district_code, &item.key);
        let value = a.has_data.then(|| item_value(item, a, prior));
        let (reason_en, reason_zh) = if a.has_data {
            (String::new(), String::new())
        } else {
            missing_reason(item, a)
        };
        total_w += i128::from(item.weight_bp);
        if let Some(s) = value {
            data_w += i128::from(item.weight_bp);
            sum_ws += i128::from(item.weight_bp) * i128::from(s);
        } else {
            missing_en.push(reason_en.clone());
            missing_zh.push(reason_zh.clone());
        }
        items.push(ItemScore {
            key: item.key.clone(),
            source: item.source,
            weight_bp: item.weight_bp,
            n: a.n,
            num: a.num,
            den: a.den,
            prior_num: prior.num,
            prior_den: prior.den,
            k: item.params.k,
            value,
            reason_en,
            reason_zh,
        });
    }
    let deductions: Vec<DeductionScore> = rubric.deductions.iter().map(|d| deduct(d, p)).collect();
    let deducted: i64 = deductions.iter().map(|d| d.points).sum();
    let coverage_bp = to_i64(round_div(data_w * 10_000, total_w));
    let rated = data_w > 0 && coverage_bp >= rubric.min_coverage_bp();
    if data_w == 0 {
        missing_en.push("no item has data".to_owned());
        missing_zh.push("没有任何考核项有数据".to_owned());
    } else if !rated {
        let (c, m) = (
            format_hundredths(coverage_bp),
            format_hundredths(rubric.min_coverage_bp()),
        );
        missing_en.push(format!("coverage {c} % < {m} %"));
        missing_zh.push(format!("数据覆盖率 {c}% 低于 {m}%"));
    }
    let weighted = rated.then(|| to_i64(round_div(sum_ws, data_w)));
    let score = weighted.map(|w| (w - deducted).max(0));
    ProjectScore {
        compound_id: p.compound_id,
        company_id: p.company_id,
        district_code: p.district_code,
        street_code: p.street_code,
        households: p.households,
        weight: p.weight(),
        tenure_days: p.tenure_days,
        status: if rated {
            ScoreStatus::Rated
        } else {
            ScoreStatus::NotRated
        },
        reason_en: missing_en.join("; "),
        reason_zh: missing_zh.join("；"),
        coverage_bp,
        weighted,
        deducted,
        score,
        stars: score.and_then(|s| rubric.stars_for(s)),
        items,
        deductions,
        rank_street: None,
        pool_street: 0,
        rank_district: None,
        pool_district: 0,
        bottom: false,
    }
}

fn deduct(d: &DeductionRow, p: &ProjectInput) -> DeductionScore {
    let per = d.points.unwrap_or(0);
    let (events, raw) = match d.source {
        DeductionSource::OrdersEscalated => {
            let from = usize::from(d.level.unwrap_or(3)).min(3);
            let events: i64 = p.orders.by_max_level[from..].iter().sum();
            (events, events.saturating_mul(per))
        }
        DeductionSource::RectificationOverdue => (p.overdue_notices, p.overdue_notices.saturating_mul(per)),
        DeductionSource::Manual => (
            i64::try_from(p.manual_deductions.len()).unwrap_or(0),
            p.manual_deductions.iter().sum(),
        ),
    };
    DeductionScore {
        key: d.key.clone(),
        source: d.source,
        events,
        points: raw.clamp(0, d.cap),
    }
}

/// Scores projects that use one rubric: district priors over all of them, then each project
/// (in input order). Pass every project of a district in the same call.
pub fn score_projects(rubric: &Rubric, period: &Period, projects: &[ProjectInput]) -> Vec<ProjectScore> {
    let priors = district_priors(rubric, period, projects);
    projects
        .iter()
        .map(|p| score_project(rubric, period, p, &priors))
        .collect()
}

/// A company's result (§3 step 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyScore {
    /// The company.
    pub company_id: i64,
    /// Its projects in the period.
    pub projects: i64,
    /// Of them, rated.
    pub rated: i64,
    /// Σ weights (households, else residential rooms) of the rated projects.
    pub households: i64,
    /// The households-weighted mean of the rated projects' scores (hundredths), rounded;
    /// `None` without a rated project.
    pub score: Option<i64>,
    /// Rank among the companies with a score (1, 2, 2, 4).
    pub rank: Option<u32>,
    /// Companies with a score.
    pub pool: u32,
}

/// Company scores from their projects' scores, by company id, ranked. A company whose rated
/// projects all weigh 0 gets their plain mean.
pub fn company_scores(projects: &[ProjectScore]) -> Vec<CompanyScore> {
    let mut by: BTreeMap<i64, Vec<&ProjectScore>> = BTreeMap::new();
    for p in projects {
        by.entry(p.company_id).or_default().push(p);
    }
    let mut out: Vec<CompanyScore> = by
        .into_iter()
        .map(|(company_id, ps)| {
            let rated: Vec<(i64, i64)> = ps
                .iter()
                .filter_map(|p| p.score.map(|s| (p.weight.max(0), s)))
                .collect();
            let w: i128 = rated.iter().map(|(w, _)| i128::from(*w)).sum();
            let score = if rated.is_empty() {
                None
            } else if w == 0 {
                let sum: i128 = rated.iter().map(|(_, s)| i128::from(*s)).sum();
                Some(to_i64(round_div(sum, i128::try_from(rated.len()).unwrap_or(1))))
            } else {
                let sum: i128 = rated.iter().map(|(w, s)| i128::from(*w) * i128::from(*s)).sum();
                Some(to_i64(round_div(sum, w)))
            };
            CompanyScore {
                company_id,
                projects: i64::try_from(ps.len()).unwrap_or(0),
                rated: i64::try_from(rated.len()).unwrap_or(0),
                households: to_i64(w),
                score,
                rank: None,
                pool: 0,
            }
        })
        .collect();
    let scored: Vec<usize> = (0..out.len()).filter(|&i| out[i].score.is_some()).collect();
    let scores: Vec<i64> = scored.iter().filter_map(|&i| out[i].score).collect();
    let ranks = competition_ranks(&scores);
    let pool = u32::try_from(scored.len()).unwrap_or(u32::MAX);
    for (i, r) in scored.into_iter().zip(ranks) {
        out[i].rank = Some(r);
    }
    for c in &mut out {
        c.pool = pool;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Ranking and bottom places (§5)
// ---------------------------------------------------------------------------------------------

/// Ranks, highest first; equal scores share a rank and the next rank skips (1, 2, 2, 4).
/// The result is in input order.
pub fn competition_ranks(scores: &[i64]) -> Vec<u32> {
    let mut sorted = scores.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    scores
        .iter()
        .map(|s| u32::try_from(sorted.partition_point(|x| x > s) + 1).unwrap_or(u32::MAX))
        .collect()
}

/// The number of bottom places of a pool of `rated` projects: `b = min(N, ⌊R ÷ 4⌋)`.
pub const fn bottom_places(rated: usize, bottom_n: usize) -> usize {
    let quarter = rated / 4;
    if quarter < bottom_n { quarter } else { bottom_n }
}

/// A rated project in a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contender {
    /// Its score (hundredths).
    pub score: i64,
    /// False when its tenure is too short to take a bottom place.
    pub eligible: bool,
}

/// A contender's rank and whether it is in a bottom place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placing {
    /// 1 = highest.
    pub rank: u32,
    /// Scores ≤ the b-th lowest score of the pool and is eligible.
    pub bottom: bool,
}

/// Ranks a pool of rated projects and marks its bottom places: `b = min(N, ⌊R ÷ 4⌋)` and every
/// project scoring ≤ the b-th lowest score is in a bottom place (ties at the cut all included),
/// except those not eligible (short tenure), which rank but never take one. The cut is the b-th
/// lowest score of the whole pool, so a place a short-tenure project would have held stays
/// empty rather than passing to the next project.
pub fn rank_pool(pool: &[Contender], bottom_n: u32) -> Vec<Placing> {
    let scores: Vec<i64> = pool.iter().map(|c| c.score).collect();
    let ranks = competition_ranks(&scores);
    let b = bottom_places(pool.len(), usize::try_from(bottom_n).unwrap_or(usize::MAX));
    let cut = if b == 0 {
        None
    } else {
        let mut ascending = scores;
        ascending.sort_unstable();
        ascending.get(b - 1).copied()
    };
    pool.iter()
        .zip(ranks)
        .map(|(c, rank)| Placing {
            rank,
            bottom: c.eligible && cut.is_some_and(|cut| c.score <= cut),
        })
        .collect()
}

/// Whether a contract covering `tenure_days` of a period of `period_days` days may take a bottom
/// place: tenure ≥ `min_tenure_bp` of the period (`assessment.bottom_min_tenure`, 50 %).
pub fn tenure_counts(tenure_days: i64, period_days: i64, min_tenure_bp: i64) -> bool {
    i128::from(tenure_days) * 10_000 >= i128::from(min_tenure_bp) * i128::from(period_days)
}

/// The city settings of ranking (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankSettings {
    /// `assessment.bottom_n` (5).
    pub bottom_n: u32,
    /// `assessment.bottom_scope` (district).
    pub bottom_scope: BottomScope,
    /// `assessment.bottom_min_tenure` in basis points (5000).
    pub bottom_min_tenure_bp: i64,
}

impl Default for RankSettings {
    fn default() -> Self {
        Self {
            bottom_n: 5,
            bottom_scope: BottomScope::District,
            bottom_min_tenure_bp: 5_000,
        }
    }
}

/// Ranks rated projects in their street and district pools and marks the bottom places of the
/// `bottom_scope` pools — for a month only (other kinds rank without bottom places).
pub fn rank_projects(scores: &mut [ProjectScore], period: &Period, settings: &RankSettings) {
    let monthly = period.kind() == PeriodKind::Month;
    let days = period.days();
    for s in scores.iter_mut() {
        s.bottom = false;
    }
    for scope in [BottomScope::Street, BottomScope::District] {
        let mut pools: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, s) in scores.iter().enumerate() {
            let code = match scope {
                BottomScope::Street => s.street_code,
                BottomScope::District => s.district_code,
            };
            pools.entry(code).or_default().push(i);
        }
        let acts = monthly && scope == settings.bottom_scope;
        for members in pools.values() {
            let rated: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| scores[i].score.is_some())
                .collect();
            let contenders: Vec<Contender> = rated
                .iter()
                .map(|&i| Contender {
                    score: scores[i].score.unwrap_or(0),
                    eligible: tenure_counts(scores[i].tenure_days, days, settings.bottom_min_tenure_bp),
                })
                .collect();
            let placings = rank_pool(&contenders, if acts { settings.bottom_n } else { 0 });
            let size = u32::try_from(rated.len()).unwrap_or(u32::MAX);
            for &i in members {
                match scope {
                    BottomScope::Street => scores[i].pool_street = size,
                    BottomScope::District => scores[i].pool_district = size,
                }
            }
            for (&i, pl) in rated.iter().zip(placings) {
                match scope {
                    BottomScope::Street => scores[i].rank_street = Some(pl.rank),
                    BottomScope::District => scores[i].rank_district = Some(pl.rank),
                }
                if acts {
                    scores[i].bottom = pl.bottom;
                }
            }
        }
    }
}

/// The bottom streak of a project this month: 1 + last month's streak when it is in a bottom
/// place now (`previous` = its `bottom_streak` in last month's final run, 0 when it was not in a
/// bottom place or not assessed), else 0.
pub const fn bottom_streak(bottom: bool, previous: i64) -> i64 {
    if bottom { previous.saturating_add(1) } else { 0 }
}

// ---------------------------------------------------------------------------------------------
// Credit (§6)
// ---------------------------------------------------------------------------------------------

pub mod credit {
    //! The credit ledger's derivation (docs/assessment.md §6; DOMAIN.md R5.1, R5.2, R5.6): a
    //! company's credit score and grade on a date, computed from its records, and its red /
    //! black-list candidacy.

    use super::*;
    use time::{Date, Month};

    vocabulary! {
        /// The kind of a credit record.
        CreditKind ("credit record kind", "信用信息类型") {
            Basic = "basic", "基础信息", "Basic information";
            Good = "good", "良好信息", "Good record";
            Bad = "bad", "不良信息", "Bad record";
        }
    }

    vocabulary! {
        /// How serious a bad record is.
        CreditSeverity ("credit severity", "失信程度") {
            Ordinary = "ordinary", "一般", "Ordinary";
            Serious = "serious", "严重", "Serious";
            Veto = "veto", "一票否决", "One-vote veto";
        }
    }

    vocabulary! {
        /// 红黑榜.
        RedBlack ("list", "红黑榜") {
            Red = "red", "红榜", "Red list";
            Black = "black", "黑榜", "Black list";
        }
    }

    /// A `grade` row: scores from `lower` (inclusive) up to the grade above.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct GradeBand {
        /// The grade (`AAA`).
        pub key: String,
        /// Chinese name.
        pub name_zh: String,
        /// English name.
        pub name_en: String,
        /// Inclusive lower bound (hundredths); the last row also catches every lower score.
        pub lower: i64,
        /// Last row only: the grade given instead when no bad record is active (`B`).
        pub below_without_bad: Option<String>,
    }

    /// An `item` row: a kind of record with its default points.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CreditItem {
        /// Identifier (`bottom_n`).
        pub key: String,
        /// Chinese name.
        pub name_zh: String,
        /// English name.
        pub name_en: String,
        /// basic, good or bad.
        pub kind: CreditKind,
        /// Default points (hundredths), > 0.
        pub points: i64,
        /// Severity of a bad record (ordinary for the others).
        pub severity: CreditSeverity,
    }

    /// A validated credit scheme (§6). Built only by [`CreditScheme::parse`] or from its
    /// validated JSON body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(try_from = "SchemeBody")]
    pub struct CreditScheme {
        key: String,
        name_zh: String,
        name_en: String,
        basic_cap: Setting,
        good_cap: Setting,
        grades: Vec<GradeBand>,
        items: Vec<CreditItem>,
    }

    #[derive(Deserialize)]
    struct SchemeBody {
        key: String,
        name_zh: String,
        name_en: String,
        basic_cap: Setting,
        good_cap: Setting,
        grades: Vec<GradeBand>,
        items: Vec<CreditItem>,
    }

    impl TryFrom<SchemeBody> for CreditScheme {
        type Error = String;

        fn try_from(b: SchemeBody) -> Result<Self, String> {
            let unchecked = Self {
                key: b.key,
                name_zh: b.name_zh,
                name_en: b.name_en,
                basic_cap: b.basic_cap,
                good_cap: b.good_cap,
                grades: b.grades,
                items: b.items,
            };
            Self::parse(&unchecked.to_csv()).map_err(|e| format_errors(&e))
        }
    }

    /// The default credit scheme file (Shandong bands, Yantai caps).
    pub const DEFAULT_CREDIT_CSV: &str = include_str!("../data/credit-default.csv");

    const SCHEME_SECTIONS: [&str; 4] = ["scheme", "param", "grade", "item"];

    impl CreditScheme {
        /// The text of the default scheme, `data/credit-default.csv`.
        pub const fn default_csv() -> &'static str {
            DEFAULT_CREDIT_CSV
        }

        /// Parses and validates a credit-scheme file, reporting every row error: one `scheme`
        /// row; params `basic_cap`, `good_cap` (default 80.00 and 40.00); grade bounds strictly
        /// falling, `below_without_bad` on the last row only, naming another grade; items with
        /// points > 0, source basic / good / bad, and `severity` on bad items only.
        pub fn parse(text: &str) -> Result<Self, Vec<RubricError>> {
            let mut check = Check::default();
            let rows = read_rows(text, &mut check);
            let mut seen = BTreeMap::new();
            let mut head: Option<&Row> = None;
            let mut basic_cap = Setting::new("基础信息分上限", "Cap on basic points", 8_000);
            let mut good_cap = Setting::new("良好信息分上限", "Cap on good records", 4_000);
            let mut grades: Vec<(&Row, Option<GradeBand>)> = Vec::new();
            let mut items = Vec::new();
            for row in &rows {
                if !check_row_common(row, &SCHEME_SECTIONS, &["grade"], &mut seen, &mut check) {
                    continue;
                }
                match row.section.as_str() {
                    "scheme" => {
                        expect_empty(row, &["value", "source", "params"], &mut check);
                        if let Some(first) = head {
                            check.fail2(
                                row.line,
                                "section",
                                &row.section,
                                format_args!("a second scheme row (the first is on line {})", first.line),
                                format_args!("scheme 行重复（第 {} 行已有）", first.line),
                            );
                        } else {
                            head = Some(row);
                        }
                    }
                    "param" => {
                        expect_empty(row, &["source", "params"], &mut check);
                        let slot = match row.key.as_str() {
                            "basic_cap" => &mut basic_cap,
                            "good_cap" => &mut good_cap,
                            _ => {
                                check.fail2(
                                    row.line,
                                    "key",
                                    &row.key,
                                    "unknown param; expected basic_cap or good_cap",
                                    "未知参数，应为 basic_cap 或 good_cap",
                                );
                                continue;
                            }
                        };
                        match decimal_in(&row.value, 0, 100_000) {
                            Ok(v) => *slot = Setting::new(&row.name_zh, &row.name_en, v),
                            Err(m) => check.fail(row.line, "value", &row.value, m),
                        }
                    }
                    "grade" => {
                        expect_empty(row, &["source"], &mut check);
                        let lower = decimal_in(&row.value, 0, 100_000)
                            .map_err(|m| check.fail(row.line, "value", &row.value, m))
                            .ok();
                        let params = read_params(row, &[("below_without_bad", Kind::Text)], &mut check);
                        let band = match (lower, params) {
                            (Some(lower), Some(p)) => Some(GradeBand {
                                key: row.key.clone(),
                                name_zh: row.name_zh.clone(),
                                name_en: row.name_en.clone(),
                                lower,
                                below_without_bad: p.text("below_without_bad").map(str::to_owned),
                            }),
                            _ => None,
                        };
                        grades.push((row, band));
                    }
                    _ => {
                        let points = decimal_in(&row.value, 1, 100_000)
                            .map_err(|m| check.fail(row.line, "value", &row.value, format!("points: {m}")))
                            .ok();
                        let kind = CreditKind::parse(&row.source)
                            .map_err(|e| check.fail(row.line, "source", &row.source, e.to_string()))
                            .ok();
                        let spec: &[(&'static str, Kind)] = if kind == Some(CreditKind::Bad) {
                            &[("severity", Kind::Text)]
                        } else {
                            &[]
                        };
                        let params = read_params(row, spec, &mut check);
                        let severity = match params.as_ref().and_then(|p| p.text("severity")) {
                            None => Some(CreditSeverity::Ordinary),
                            Some(s) => CreditSeverity::parse(s)
                                .map_err(|e| check.fail(row.line, "params", &row.params, e.to_string()))
                                .ok(),
                        };
                        if let (Some(points), Some(kind), Some(_), Some(severity)) =
                            (points, kind, params, severity)
                        {
                            items.push(CreditItem {
                                key: row.key.clone(),
                                name_zh: row.name_zh.clone(),
                                name_en: row.name_en.clone(),
                                kind,
                                points,
                                severity,
                            });
                        }
                    }
                }
            }
            if head.is_none() && !rows.is_empty() {
                check.fail2(
                    0,
                    "section",
                    "",
                    "no scheme row (its key and names identify the scheme)",
                    "缺少 scheme 行（方案编号和名称）",
                );
            }
            let bands = check_grades(&grades, &rows, &mut check);
            if !check.errors.is_empty() {
                return Err(check.errors);
            }
            let (key, name_zh, name_en) = head.map_or_else(Default::default, |h| {
                (h.key.clone(), h.name_zh.clone(), h.name_en.clone())
            });
            Ok(Self {
                key,
                name_zh,
                name_en,
                basic_cap,
                good_cap,
                grades: bands,
                items,
            })
        }

        /// The canonical CSV; parsing it gives the same scheme.
        pub fn to_csv(&self) -> String {
            let mut out = String::new();
            write_row(&mut out, COLUMNS);
            write_row(
                &mut out,
                ["scheme", &self.key, &self.name_zh, &self.name_en, "", "", ""],
            );
            for (key, s) in [("basic_cap", &self.basic_cap), ("good_cap", &self.good_cap)] {
                write_row(
                    &mut out,
                    [
                        "param",
                        key,
                        &s.name_zh,
                        &s.name_en,
                        &format_hundredths(s.value),
                        "",
                        "",
                    ],
                );
            }
            for g in &self.grades {
                let p = g
                    .below_without_bad
                    .as_ref()
                    .map(|b| format!("below_without_bad={b}"))
                    .unwrap_or_default();
                write_row(
                    &mut out,
                    [
                        "grade",
                        &g.key,
                        &g.name_zh,
                        &g.name_en,
                        &format_hundredths(g.lower),
                        "",
                        &p,
                    ],
                );
            }
            for i in &self.items {
                let p = if i.kind == CreditKind::Bad && i.severity != CreditSeverity::Ordinary {
                    format!("severity={}", i.severity)
                } else {
                    String::new()
                };
                write_row(
                    &mut out,
                    [
                        "item",
                        &i.key,
                        &i.name_zh,
                        &i.name_en,
                        &format_hundredths(i.points),
                        i.kind.as_str(),
                        &p,
                    ],
                );
            }
            out
        }

        /// The identifier of the `scheme` row (`shandong_2019`).
        pub fn key(&self) -> &str {
            &self.key
        }

        /// The scheme's name in `lang`.
        pub fn name(&self, lang: Lang) -> &str {
            lang.pick(&self.name_zh, &self.name_en)
        }

        /// The cap on basic points (hundredths).
        pub fn basic_cap(&self) -> i64 {
            self.basic_cap.value
        }

        /// The cap on good records (hundredths).
        pub fn good_cap(&self) -> i64 {
            self.good_cap.value
        }

        /// The grade rows, highest first.
        pub fn grades(&self) -> &[GradeBand] {
            &self.grades
        }

        /// The item rows.
        pub fn items(&self) -> &[CreditItem] {
            &self.items
        }

        /// The item row with this key.
        pub fn item(&self, key: &str) -> Option<&CreditItem> {
            self.items.iter().find(|i| i.key == key)
        }

        /// A company's credit on `on` from its records (§6 "Derivation").
        pub fn standing(&self, records: &[CreditRecord], on: Date) -> CreditStanding {
            let active: Vec<&CreditRecord> = records.iter().filter(|r| r.is_active(on)).collect();
            let sum = |kind: CreditKind| -> i64 {
                active
                    .iter()
                    .filter(|r| r.kind == kind)
                    .fold(0, |a, r| a.saturating_add(r.points))
            };
            let basic = sum(CreditKind::Basic).min(self.basic_cap.value);
            let good = sum(CreditKind::Good).min(self.good_cap.value);
            let bad = sum(CreditKind::Bad);
            let score = basic.saturating_add(good).saturating_sub(bad);
            let any = |f: &dyn Fn(&CreditRecord) -> bool| active.iter().any(|r| f(r));
            let enrolled = any(&|r| r.kind == CreditKind::Basic);
            let active_bad = any(&|r| r.kind == CreditKind::Bad);
            let active_serious = any(&|r| r.kind == CreditKind::Bad && r.severity == CreditSeverity::Serious);
            let active_veto = any(&|r| r.kind == CreditKind::Bad && r.severity == CreditSeverity::Veto);
            let last = self.grades.len().saturating_sub(1);
            let grade = if enrolled {
                let i = self.grades.iter().position(|g| g.lower <= score).unwrap_or(last);
                let band = self.grades.get(i);
                let key = match band.and_then(|b| b.below_without_bad.as_ref()) {
                    Some(instead) if i == last && !active_bad => instead.clone(),
                    _ => band.map(|b| b.key.clone()).unwrap_or_default(),
                };
                CreditGrade::Band(key)
            } else {
                CreditGrade::Missing
            };
            let top = self.grades.first().map(|g| g.key.as_str());
            let bottom = self.grades.last().map(|g| g.key.as_str());
            let candidacy = if active_veto {
                Some(ListCandidacy {
                    list: RedBlack::Black,
                    basis_en: "an active one-vote veto record".to_owned(),
                    basis_zh: "存在有效的一票否决记录".to_owned(),
                })
            } else if active_serious && (grade == CreditGrade::Missing || grade.band() == bottom) {
                Some(ListCandidacy {
                    list: RedBlack::Black,
                    basis_en: format!("grade {grade} with an active serious bad record"),
                    basis_zh: format!("信用等级 {grade} 且存在有效的严重不良记录"),
                })
            } else if !active_bad && grade.band().is_some() && grade.band() == top {
                Some(ListCandidacy {
                    list: RedBlack::Red,
                    basis_en: format!("grade {grade} with no active bad record"),
                    basis_zh: format!("信用等级 {grade} 且无有效不良记录"),
                })
            } else {
                None
            };
            CreditStanding {
                on,
                basic,
                good,
                bad,
                score,
                grade,
                active: active.iter().map(|r| r.id).collect(),
                active_bad,
                candidacy,
            }
        }
    }

    /// Grade bounds strictly falling; `below_without_bad` only on the last row, naming another
    /// grade.
    fn check_grades(grades: &[(&Row, Option<GradeBand>)], rows: &[Row], check: &mut Check) -> Vec<GradeBand> {
        if grades.is_empty() {
            if !rows.is_empty() {
                check.fail2(0, "section", "", "no grade rows", "缺少信用等级（grade）行");
            }
            return Vec::new();
        }
        let keys: BTreeSet<&str> = grades.iter().map(|(r, _)| r.key.as_str()).collect();
        let mut previous: Option<i64> = None;
        let mut out = Vec::new();
        for (i, (row, band)) in grades.iter().enumerate() {
            let Some(band) = band else { continue };
            if let Some(p) = previous
                && band.lower >= p
            {
                check.fail2(
                    row.line,
                    "value",
                    &row.value,
                    format_args!(
                        "grade bounds must fall strictly (the row above has {})",
                        format_hundredths(p)
                    ),
                    format_args!("信用等级下限须逐行递减（上一行为 {}）", format_hundredths(p)),
                );
            }
            previous = Some(band.lower);
            if let Some(instead) = &band.below_without_bad {
                if i + 1 != grades.len() {
                    check.fail2(
                        row.line,
                        "params",
                        &row.params,
                        "below_without_bad belongs on the last grade row",
                        "below_without_bad 只能用于最后一个信用等级",
                    );
                } else if instead == &row.key || !keys.contains(instead.as_str()) {
                    check.fail2(
                        row.line,
                        "params",
                        &row.params,
                        "below_without_bad must name another grade of the scheme",
                        "below_without_bad 须为本方案的另一个信用等级",
                    );
                }
            }
            out.push(band.clone());
        }
        out
    }

    /// Dates as `YYYY-MM-DD` text in JSON.
    mod date_text {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::{Date, Month};

        /// `YYYY-MM-DD`.
        pub fn parse(s: &str) -> Option<Date> {
            let mut it = s.split('-');
            let y: i32 = it.next()?.parse().ok()?;
            let m: u8 = it.next()?.parse().ok()?;
            let d: u8 = it.next()?.parse().ok()?;
            if it.next().is_some() {
                return None;
            }
            Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
        }

        fn parse_err<E: serde::de::Error>(s: &str) -> E {
            E::custom(format!(
                "{s:?} is not a date YYYY-MM-DD / 日期格式应为 YYYY-MM-DD"
            ))
        }

        pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(d)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
            let s = String::deserialize(d)?;
            parse(&s).ok_or_else(|| parse_err(&s))
        }

        pub mod option {
            use super::*;

            pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
                match d {
                    Some(d) => s.collect_str(d),
                    None => s.serialize_none(),
                }
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
                let s = Option::<String>::deserialize(d)?;
                s.map(|s| parse(&s).ok_or_else(|| parse_err(&s))).transpose()
            }
        }
    }

    /// A credit record as the derivation needs it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CreditRecord {
        /// The record's id.
        pub id: i64,
        /// basic, good or bad.
        pub kind: CreditKind,
        /// Points (hundredths), > 0.
        pub points: i64,
        /// Severity (bad records).
        pub severity: CreditSeverity,
        /// First day it counts.
        #[serde(with = "date_text")]
        pub valid_from: Date,
        /// First day it no longer counts (exclusive).
        #[serde(with = "date_text")]
        pub valid_to: Date,
        /// The day an appeal against it was upheld or partly upheld, if one was.
        #[serde(with = "date_text::option", default)]
        pub appeal_upheld_on: Option<Date>,
    }

    impl CreditRecord {
        /// Active on `d` ⇔ `valid_from ≤ d < valid_to` and no appeal against it was upheld or
        /// partly upheld on or before `d`.
        pub fn is_active(&self, d: Date) -> bool {
            self.valid_from <= d && d < self.valid_to && self.appeal_upheld_on.is_none_or(|u| d < u)
        }
    }

    /// The default end of validity: one year later, same month and day (29 Feb → 1 Mar);
    /// exclusive.
    pub fn default_valid_to(valid_from: Date) -> Date {
        let year = valid_from.year() + 1;
        valid_from
            .replace_year(year)
            .or_else(|_| Date::from_calendar_date(year, Month::March, 1))
            .unwrap_or(Date::MAX)
    }

    /// A credit grade: a band of the scheme, or `c_missing` for a company not enrolled (no
    /// basic record active).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub enum CreditGrade {
        /// A grade row's key (`AAA`), or the key the last row gives instead.
        Band(String),
        /// Not enrolled.
        Missing,
    }

    impl CreditGrade {
        /// The stored text (`AAA`, `c_missing`).
        pub fn as_str(&self) -> &str {
            match self {
                Self::Band(k) => k,
                Self::Missing => "c_missing",
            }
        }

        /// The band's key, `None` for `c_missing`.
        pub fn band(&self) -> Option<&str> {
            match self {
                Self::Band(k) => Some(k),
                Self::Missing => None,
            }
        }
    }

    impl fmt::Display for CreditGrade {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.as_str())
        }
    }

    impl Serialize for CreditGrade {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.as_str())
        }
    }

    impl<'de> Deserialize<'de> for CreditGrade {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            Ok(if s == "c_missing" {
                Self::Missing
            } else {
                Self::Band(s)
            })
        }
    }

    /// Why a company is a red- or black-list candidate.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ListCandidacy {
        /// Red or black.
        pub list: RedBlack,
        /// The rule that made it a candidate, in English.
        pub basis_en: String,
        /// The same in Chinese.
        pub basis_zh: String,
    }

    /// A company's credit on a date.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CreditStanding {
        /// The date.
        #[serde(with = "date_text")]
        pub on: Date,
        /// min(Σ active basic, basic_cap).
        pub basic: i64,
        /// min(Σ active good, good_cap).
        pub good: i64,
        /// Σ active bad.
        pub bad: i64,
        /// basic + good − bad (may be negative).
        pub score: i64,
        /// The grade.
        pub grade: CreditGrade,
        /// The ids of the active records, in input order (the records behind the score).
        pub active: Vec<i64>,
        /// Whether a bad record is active.
        pub active_bad: bool,
        /// Red list: grade of the top row and no active bad record. Black list: an active veto
        /// record, or the last grade / `c_missing` with an active serious record.
        pub candidacy: Option<ListCandidacy>,
    }
}

#[cfg(test)]
mod tests {
    use super::credit::*;
    use super::*;
    use time::macros::date;

    const DISTRICT: i64 = 370_705_000_000;
    const STREET: i64 = 370_705_001_000;

    fn rubric() -> Rubric {
        Rubric::parse(Rubric::default_csv()).unwrap()
    }

    fn october() -> Period {
        Period::parse("2026-10").unwrap()
    }

    fn item<'a>(s: &'a ProjectScore, key: &str) -> &'a ItemScore {
        s.items.iter().find(|i| i.key == key).unwrap()
    }

    /// The district priors of the worked example: owner points 80.00, on time 90 %, order
    /// satisfaction 92 %, reopen 5 %.
    fn example_priors() -> Priors {
        let mut p = Priors::default();
        p.set(DISTRICT, "owners", Prior { num: 8_000, den: 1 });
        p.set(DISTRICT, "on_time", Prior { num: 9, den: 10 });
        p.set(DISTRICT, "order_satisfaction", Prior { num: 23, den: 25 });
        p.set(DISTRICT, "reopen", Prior { num: 1, den: 20 });
        p
    }

    fn base(compound_id: i64, households: i64) -> ProjectInput {
        ProjectInput {
            compound_id,
            company_id: 7,
            district_code: DISTRICT,
            street_code: STREET,
            households: Some(households),
            residential_rooms: households,
            tenure_days: 31,
            ..ProjectInput::default()
        }
    }

    /// 福寿小区: every item with data.
    fn compound_a() -> ProjectInput {
        ProjectInput {
            owners: OwnerLevels {
                satisfied: 150,
                basic: 40,
                dissatisfied: 10,
            },
            committee: Some(8_500),
            community: Some(9_000),
            street: Some(8_000),
            orders: OrderCounts {
                filed: 40,
                due: 38,
                on_time: 36,
                replied: 36,
                reopened: 2,
                rated: 30,
                satisfied: 25,
                basic: 2,
                by_max_level: [40, 0, 0, 0],
            },
            inspections: vec![InspectionFindings {
                minor: 2,
                ..InspectionFindings::default()
            }],
            ..base(1, 600)
        }
    }

    /// 48 households, no committee, not inspected, 2 orders.
    fn compound_b() -> ProjectInput {
        ProjectInput {
            owners: OwnerLevels {
                satisfied: 6,
                ..OwnerLevels::default()
            },
            community: Some(7_000),
            orders: OrderCounts {
                filed: 2,
                due: 2,
                on_time: 2,
                replied: 2,
                rated: 1,
                satisfied: 1,
                by_max_level: [2, 0, 0, 0],
                ..OrderCounts::default()
            },
            ..base(2, 48)
        }
    }

    /// 3 owners rated; committee 95, area 90, orders and an inspection.
    fn compound_c() -> ProjectInput {
        ProjectInput {
            owners: OwnerLevels {
                satisfied: 2,
                basic: 1,
                dissatisfied: 0,
            },
            committee: Some(9_500),
            community: Some(9_000),
            street: Some(9_000),
            orders: OrderCounts {
                filed: 10,
                due: 10,
                on_time: 9,
                replied: 10,
                reopened: 1,
                rated: 8,
                satisfied: 7,
                basic: 1,
                by_max_level: [10, 0, 0, 0],
            },
            inspections: vec![InspectionFindings {
                major: 1,
                ..InspectionFindings::default()
            }],
            ..base(3, 300)
        }
    }

    // ----- rubric file ------------------------------------------------------------------------

    #[test]
    fn default_rubric_parses() {
        let r = rubric();
        assert_eq!(r.key(), "default_2026");
        assert_eq!(r.name(Lang::En), "Property service assessment (default)");
        assert_eq!(r.min_coverage_bp(), 6_000);
        let weights: Vec<(&str, i64)> = r.items().iter().map(|i| (i.key.as_str(), i.weight_bp)).collect();
        assert_eq!(
            weights,
            [
                ("owners", 4_500),
                ("committee", 1_500),
                ("area", 1_500),
                ("on_time", 500),
                ("order_satisfaction", 400),
                ("reopen", 300),
                ("complaints", 300),
                ("inspection", 1_000),
            ]
        );
        let owners = &r.items()[0];
        assert_eq!(owners.source, ItemSource::OwnerRating);
        assert_eq!(owners.params.min_n, Some(5));
        assert_eq!(owners.params.k, 10);
        assert_eq!(owners.params.levels, Some(LevelPoints::DEFAULT));
        let complaints = &r.items()[6];
        assert_eq!(complaints.params.min_n, None);
        assert_eq!(
            complaints.params.band,
            Some(Band {
                best: 0,
                worst: 2_000
            })
        );
        assert_eq!(r.items()[7].params.severities, Some(SeverityPoints::DEFAULT));
        let d: Vec<(DeductionSource, Option<u8>, Option<i64>, i64)> = r
            .deductions()
            .iter()
            .map(|d| (d.source, d.level, d.points, d.cap))
            .collect();
        assert_eq!(
            d,
            [
                (DeductionSource::OrdersEscalated, Some(3), Some(100), 500),
                (DeductionSource::RectificationOverdue, None, Some(200), 1_000),
                (DeductionSource::Manual, None, None, 2_000),
            ]
        );
        let stars: Vec<(u8, i64)> = r.stars().iter().map(|s| (s.stars, s.lower)).collect();
        assert_eq!(stars, [(5, 9_000), (4, 8_000), (3, 7_000), (2, 6_000), (1, 0)]);
        let a = r.actions();
        assert_eq!(a.len(), 3);
        assert_eq!(
            (
                a[0].streak,
                a[0].public_notice,
                a[0].interview,
                a[0].rectification_days,
                a[0].credit,
                a[0].exit
            ),
            (1, true, false, Some(15), Some(200), false)
        );
        assert_eq!(
            (
                a[1].streak,
                a[1].interview,
                a[1].rectification_days,
                a[1].credit,
                a[1].exit
            ),
            (2, true, Some(10), Some(300), false)
        );
        assert_eq!(
            (
                a[2].streak,
                a[2].interview,
                a[2].rectification_days,
                a[2].credit,
                a[2].exit
            ),
            (3, true, None, Some(500), true)
        );
    }

    #[test]
    fn rubric_round_trips_through_csv_and_json() {
        let r = rubric();
        assert_eq!(r.to_csv(), Rubric::default_csv());
        assert_eq!(Rubric::parse(&r.to_csv()).unwrap(), r);
        // A BOM, CRLF line ends, blank lines, reordered and upper-case headers are accepted.
        let reordered = Rubric::default_csv()
            .replacen(
                "section,key,name_zh,name_en,value,source,params",
                "Key,SECTION,name_zh,name_en,value,source,params,note",
                1,
            )
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    l.to_owned()
                } else {
                    let (section, rest) = l.split_once(',').unwrap();
                    let (key, rest) = rest.split_once(',').unwrap();
                    format!("{key},{section},{rest},")
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n\r\n");
        assert_eq!(Rubric::parse(&format!("\u{feff}{reordered}")).unwrap(), r);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Rubric>(&json).unwrap(), r);
        // A stored body is validated like a file.
        let tampered = json.replacen("\"weight_bp\":4500", "\"weight_bp\":4400", 1);
        let e = serde_json::from_str::<Rubric>(&tampered).unwrap_err().to_string();
        assert!(e.contains("item weights sum to 99.00, not 100.00"), "{e}");
    }

    #[test]
    fn params_take_defaults_and_the_canonical_form_writes_them() {
        let text = "section,key,name_zh,name_en,value,source,params\n\
            rubric,r,细则,Rubric,,,\n\
            item,owners,业主,Owners,60.00,owner_rating, basic = 50 ; min_n=3 \n\
            item,committee,业委会,Committee,20.50,committee_rating,k=2;best=0;worst=100\n\
            item,inspection,检查,Inspection,19.50,inspection,serious=12.5\n\
            deduction,esc,督办,Escalated,,orders_escalated,level=2\n\
            star,2,二星,2 stars,50,,\n\
            star,1,一星,1 star,0,,\n";
        let r = Rubric::parse(text).unwrap();
        assert_eq!(r.min_coverage_bp(), 6_000, "min_coverage defaults to 60.00");
        let p = r.items()[0].params;
        assert_eq!((p.min_n, p.k), (Some(3), 10));
        assert_eq!(
            p.levels,
            Some(LevelPoints {
                satisfied: 10_000,
                basic: 5_000,
                dissatisfied: 0
            })
        );
        assert_eq!(
            r.items()[1].params.band,
            Some(Band {
                best: 0,
                worst: 10_000
            })
        );
        assert_eq!(r.items()[2].params.severities.unwrap().serious, 1_250);
        assert_eq!(r.deductions()[0].level, Some(2));
        assert_eq!(r.deductions()[0].points, Some(100));
        assert!(r.actions().is_empty());
        let csv = r.to_csv();
        assert!(csv.contains(
            "item,owners,业主,Owners,60.00,owner_rating,min_n=3;k=10;satisfied=100;basic=50;dissatisfied=0\n"
        ));
        assert!(csv.contains(
            "item,committee,业委会,Committee,20.50,committee_rating,min_n=1;k=2;best=0;worst=100\n"
        ));
        assert!(
            csv.contains("item,inspection,检查,Inspection,19.50,inspection,minor=2;major=5;serious=12.5\n")
        );
        assert!(csv.contains("deduction,esc,督办,Escalated,,orders_escalated,level=2;points=1;cap=5\n"));
        assert!(csv.contains("param,min_coverage,最低数据覆盖率(%),Minimum coverage (%),60.00,,\n"));
        assert_eq!(Rubric::parse(&csv).unwrap(), r);
    }

    fn errors_of(text: &str) -> Vec<(u64, String, String)> {
        Rubric::parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.column, e.message))
            .collect()
    }

    fn assert_errors(found: &[(u64, String, String)], expected: &[(u64, &str, &str)]) {
        for (line, column, text) in expected {
            assert!(
                found
                    .iter()
                    .any(|(l, c, m)| l == line && c == column && m.contains(text)),
                "missing error line {line} column {column} {text:?} in {found:#?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (_, _, m) in found {
            assert!(m.contains(" / "), "bilingual: {m}");
        }
    }

    #[test]
    fn a_row_refused_for_its_source_brings_no_false_error_about_the_sum() {
        // The weights still add up to 100: only the source is wrong, and only it is reported.
        let text = Rubric::default_csv().replace("45.00,owner_rating", "45.00,owner_ratings");
        let found = errors_of(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].1, "source");
    }

    #[test]
    fn rubric_validation_reports_every_row_error() {
        let text = "section,key,name_zh,name_en,value,source,params\n\
            rubric,Bad Key,细则,Rubric,,,\n\
            param,min_cover,覆盖率,Coverage,60,,\n\
            item,owners,业主,Owners,45.00,owner_rating,min_n=0;k=10\n\
            item,owners,业委会,Committee,15.00,committee_rating,\n\
            item,area,社区,Area,15.00,area_ratings,\n\
            item,reopen,重办,Reopen,5.00,orders_reopen,best=20;worst=20\n\
            item,complaints,投诉,Complaints,3.00,orders_per_100_households,k=10\n\
            item,insp,检查,Inspection,0,inspection,\n\
            item,x,某项,,10.5.0,committee_rating,best=1\n\
            deduction,d1,督办,Escalated,,orders_escalated,level=4;points=1;points=2\n\
            deduction,d2,扣分,Manual,5,manual,\n\
            bonus,b,奖励,Bonus,,,\n\
            star,3,三星,3 stars,90.00,,\n\
            star,2,二星,2 stars,95.00,,\n\
            star,1,一星,1 star,10.00,,\n\
            action,first,首次,Once,2,,public_notice\n\
            action,second,两次,Twice,2,,interview=yes\n\
            action,third,三次,Thrice,3,x,\n";
        let found = errors_of(text);
        assert_errors(
            &found,
            &[
                (2, "key", "a key is made of [a-z0-9_]+"),
                (3, "key", "unknown param; expected min_coverage"),
                (4, "params", "min_n: 0 is outside 1 – 1000000"),
                (5, "key", "key already used in section item on line 4"),
                (6, "source", "is not a valid item source"),
                (7, "params", "best and worst must differ"),
                (8, "params", "unknown parameter k; expected best, worst"),
                (9, "value", "weight (%): 0 is outside 0.01 – 100"),
                (10, "name_en", "a name is required"),
                (10, "value", "not a number"),
                (10, "params", "best and worst are given together"),
                (11, "params", "level: 4 is outside 1 – 3"),
                (11, "params", "parameter points is given twice"),
                (12, "value", "not used in a deduction row"),
                (13, "section", "unknown section"),
                (15, "value", "star bounds must fall strictly"),
                (16, "value", "the last star row's bound is 0.00"),
                (17, "value", "the first action row's streak is 1"),
                (18, "params", "interview takes no value"),
                (19, "source", "not used in a action row"),
                (19, "params", "needs at least one action"),
            ],
        );
    }

    #[test]
    fn rubric_file_level_errors() {
        // Weights must sum to exactly 100.00.
        let text = Rubric::default_csv().replace(
            "Owner satisfaction rating,45.00",
            "Owner satisfaction rating,44.99",
        );
        assert_errors(
            &errors_of(&text),
            &[(0, "value", "item weights sum to 99.99, not 100.00")],
        );
        // No rubric row; a second rubric row.
        let text = Rubric::default_csv().replacen("rubric,default_2026", "rubric_x,default_2026", 1);
        let found = errors_of(&text);
        assert!(
            found
                .iter()
                .any(|(l, c, m)| *l == 0 && c == "section" && m.contains("no rubric row")),
            "{found:?}"
        );
        let text = format!("{}rubric,again,再次,Again,,,\n", Rubric::default_csv());
        assert_errors(
            &errors_of(&text),
            &[(23, "section", "a second rubric row (the first is on line 2)")],
        );
        // Star rows keyed by their number of stars.
        let text = Rubric::default_csv().replace("star,4,四星", "star,four,四星");
        assert_errors(&errors_of(&text), &[(16, "key", "expected 4")]);
        // Missing column, empty file.
        assert_errors(
            &errors_of("section,key,name_zh,name_en,value,params\n"),
            &[(1, "source", "missing column source")],
        );
        assert_errors(&errors_of(""), &[(0, "section", "the file is empty")]);
        assert_errors(
            &errors_of("\u{feff}\n,,,\n"),
            &[(0, "section", "the file is empty")],
        );
        // Quoted fields with commas survive the round trip.
        let text = Rubric::default_csv().replace(
            "Owner satisfaction rating",
            "\"Owner rating, \"\"satisfaction\"\"\"",
        );
        let r = Rubric::parse(&text).unwrap();
        assert_eq!(r.items()[0].name_en, "Owner rating, \"satisfaction\"");
        assert_eq!(r.to_csv(), text);
    }

    // ----- scoring: the worked example of §3 ------------------------------------------------

    #[test]
    fn worked_example_compound_a() {
        let r = rubric();
        let a = score_project(&r, &october(), &compound_a(), &example_priors());
        let values: Vec<(&str, Option<i64>)> = a.items.iter().map(|i| (i.key.as_str(), i.value)).collect();
        assert_eq!(
            values,
            [
                ("owners", Some(8_667)),
                ("committee", Some(8_500)),
                ("area", Some(8_500)),
                ("on_time", Some(9_375)),
                ("order_satisfaction", Some(9_050)),
                ("reopen", Some(7_283)),
                ("complaints", Some(6_774)),
                ("inspection", Some(9_600)),
            ]
        );
        let owners = item(&a, "owners");
        assert_eq!(
            (
                owners.n,
                owners.num,
                owners.den,
                owners.prior_num,
                owners.prior_den,
                owners.k
            ),
            (200, 1_740_000, 200, 8_000, 1, 10)
        );
        let on_time = item(&a, "on_time");
        assert_eq!((on_time.n, on_time.num, on_time.den), (38, 36, 38));
        let complaints = item(&a, "complaints");
        assert_eq!(
            (complaints.n, complaints.num, complaints.den),
            (40, 120_000, 18_600)
        );
        assert_eq!(a.status, ScoreStatus::Rated);
        assert_eq!(a.coverage_bp, 10_000);
        assert_eq!(a.weighted, Some(8_663));
        assert_eq!(a.deducted, 0);
        assert_eq!(a.score, Some(8_663));
        assert_eq!(a.stars, Some(4));
        assert_eq!(a.reason(), "");
    }

    #[test]
    fn worked_example_compound_b() {
        let r = rubric();
        let b = score_project(&r, &october(), &compound_b(), &example_priors());
        assert_eq!(item(&b, "owners").value, Some(8_750));
        assert_eq!(item(&b, "committee").value, None);
        assert_eq!(item(&b, "area").value, Some(7_000));
        assert_eq!(item(&b, "area").n, 1);
        for (key, n) in [("on_time", 2), ("order_satisfaction", 1), ("reopen", 2)] {
            assert_eq!((item(&b, key).value, item(&b, key).n), (None, n), "{key}");
        }
        assert_eq!(item(&b, "complaints").value, Some(7_984));
        assert_eq!(item(&b, "inspection").value, None);
        assert_eq!(b.coverage_bp, 6_300);
        assert_eq!(b.status, ScoreStatus::Rated);
        assert_eq!(b.weighted, Some(8_297));
        assert_eq!(b.score, Some(8_297));
        assert_eq!(b.stars, Some(4));
        assert_eq!(
            b.reason_en,
            "committee ratings 0 (minimum 1); orders due 2 (minimum 3); rated orders 1 (minimum 3); \
             replied orders 2 (minimum 3); inspections 0 (minimum 1)"
        );

        // Without shrinkage B would score 91.90 (5★), above A on six ratings.
        let no_k = Rubric::parse(&Rubric::default_csv().replace("min_n=5;k=10", "min_n=5;k=0")).unwrap();
        let b0 = score_project(&no_k, &october(), &compound_b(), &example_priors());
        assert_eq!(item(&b0, "owners").value, Some(10_000));
        assert_eq!((b0.score, b0.stars), (Some(9_190), Some(5)));
    }

    #[test]
    fn worked_example_compound_c_is_not_rated() {
        let r = rubric();
        let c = score_project(&r, &october(), &compound_c(), &example_priors());
        assert_eq!(c.status, ScoreStatus::NotRated);
        assert_eq!(c.coverage_bp, 5_500);
        assert_eq!((c.weighted, c.score, c.stars), (None, None, None));
        assert_eq!(item(&c, "owners").value, None);
        assert_eq!(item(&c, "owners").n, 3);
        assert_eq!(c.items.iter().filter(|i| i.has_data()).count(), 7);
        assert_eq!(
            c.reason_en,
            "owner ratings 3 (minimum 5); coverage 55.00 % < 60.00 %"
        );
        assert_eq!(
            c.reason_zh,
            "业主评价 3 份（最少 5 份）；数据覆盖率 55.00% 低于 60.00%"
        );
    }

    #[test]
    fn worked_example_company() {
        let r = rubric();
        let priors = example_priors();
        let scores: Vec<ProjectScore> = [compound_a(), compound_b(), compound_c()]
            .iter()
            .map(|p| score_project(&r, &october(), p, &priors))
            .collect();
        let companies = company_scores(&scores);
        assert_eq!(companies.len(), 1);
        let c = &companies[0];
        assert_eq!((c.projects, c.rated, c.households), (3, 2, 648));
        // (600 × 86.63 + 48 × 82.97) ÷ 648 = 86.36.
        assert_eq!(c.score, Some(8_636));
        assert_eq!((c.rank, c.pool), (Some(1), 1));
    }

    #[test]
    fn company_weights_fall_back_to_rooms_and_ranks_share() {
        let mk = |company_id, households, rooms, score| ProjectScore {
            company_id,
            weight: ProjectInput {
                households,
                residential_rooms: rooms,
                ..ProjectInput::default()
            }
            .weight(),
            score,
            ..score_project(&rubric(), &october(), &compound_a(), &example_priors())
        };
        let c = company_scores(&[
            mk(1, None, 100, Some(8_000)),
            mk(1, Some(300), 0, Some(9_000)),
            mk(2, Some(10), 10, Some(8_750)),
            mk(3, Some(10), 10, None),
            mk(4, Some(0), 0, Some(7_000)),
            mk(4, Some(0), 0, Some(7_001)),
        ]);
        let got: Vec<(i64, Option<i64>, Option<u32>)> =
            c.iter().map(|c| (c.company_id, c.score, c.rank)).collect();
        // Company 1: (100 × 80 + 300 × 90) ÷ 400 = 87.50; company 4: plain mean 70.005 → 70.01.
        assert_eq!(
            got,
            [
                (1, Some(8_750), Some(1)),
                (2, Some(8_750), Some(1)),
                (3, None, None),
                (4, Some(7_001), Some(3))
            ]
        );
        assert!(c.iter().all(|c| c.pool == 3));
    }

    /// §5.1: with prior 80.00 and k = 10, 200 raters averaging 90.00 give 89.52; six raters
    /// averaging 100.00 give 87.50, below.
    #[test]
    fn shrinkage_protects_small_samples() {
        let r = rubric();
        let owners = &r.items()[0];
        let prior = Prior { num: 8_000, den: 1 };
        let many = ProjectInput {
            owners: OwnerLevels {
                satisfied: 150,
                basic: 50,
                dissatisfied: 0,
            },
            ..ProjectInput::default()
        };
        let a = aggregate(owners, &many, 31);
        assert_eq!((a.num, a.den), (1_800_000, 200));
        assert_eq!(item_value(owners, a, prior), 8_952);
        let b = aggregate(owners, &compound_b(), 31);
        assert_eq!(item_value(owners, b, prior), 8_750);
    }

    #[test]
    fn priors_are_sums_over_the_whole_district() {
        let r = rubric();
        let projects = [compound_a(), compound_b(), compound_c()];
        let priors = district_priors(&r, &october(), &projects);
        // Owners: (1,740,000 + 60,000 + 26,000) ÷ (200 + 6 + 3) — C's three raters included.
        assert_eq!(
            priors.get(DISTRICT, "owners"),
            Prior {
                num: 1_826_000,
                den: 209
            }
        );
        assert_eq!(priors.get(DISTRICT, "on_time"), Prior { num: 47, den: 50 });
        assert_eq!(priors.get(DISTRICT, "committee"), Prior { num: 18_000, den: 2 });
        assert_eq!(priors.get(DISTRICT + 1_000_000, "owners"), Prior::default());
        let scores = score_projects(&r, &october(), &projects);
        assert_eq!(scores[0], score_project(&r, &october(), &projects[0], &priors));
        let owners = item(&scores[0], "owners");
        assert_eq!((owners.prior_num, owners.prior_den), (1_826_000, 209));
        // (1,740,000 × 209 + 10 × 1,826,000) ÷ (210 × 209) = 8,701.75…
        assert_eq!(owners.value, Some(8_702));
        // Another district has its own priors.
        let other = ProjectInput {
            district_code: DISTRICT + 1_000_000,
            ..compound_b()
        };
        let priors = district_priors(&r, &october(), &[compound_a(), other.clone()]);
        assert_eq!(
            priors.get(DISTRICT, "owners"),
            Prior {
                num: 1_740_000,
                den: 200
            }
        );
        assert_eq!(
            priors.get(other.district_code, "owners"),
            Prior { num: 60_000, den: 6 }
        );
    }

    #[test]
    fn missing_data_is_never_zero_or_a_hundred() {
        let r = rubric();
        let priors = example_priors();
        // Every other item perfect, but no owners' ratings: 55 % coverage, not rated.
        let silent = ProjectInput {
            owners: OwnerLevels::default(),
            committee: Some(10_000),
            community: Some(10_000),
            street: Some(10_000),
            ..compound_c()
        };
        let s = score_project(&r, &october(), &silent, &priors);
        assert_eq!(s.status, ScoreStatus::NotRated);
        assert_eq!((s.score, s.stars, s.weighted), (None, None, None));
        assert_eq!(item(&s, "owners").value, None);
        assert!(
            s.reason_en.starts_with("owner ratings 0 (minimum 5);"),
            "{}",
            s.reason_en
        );
        // Nothing at all.
        let nothing = ProjectInput {
            households: None,
            ..base(9, 0)
        };
        let n = score_project(&r, &october(), &nothing, &priors);
        assert_eq!(
            (n.status, n.coverage_bp, n.score),
            (ScoreStatus::NotRated, 0, None)
        );
        assert!(n.reason_en.contains("households unknown"), "{}", n.reason_en);
        assert!(n.reason_en.ends_with("no item has data"), "{}", n.reason_en);
        // A missing item's weight goes to the others: dropping B's committee changes nothing.
        let b = score_project(&r, &october(), &compound_b(), &priors);
        let with_committee = ProjectInput {
            committee: Some(0),
            ..compound_b()
        };
        let b0 = score_project(&r, &october(), &with_committee, &priors);
        assert_eq!(b.score, Some(8_297));
        assert!(
            b0.score < b.score,
            "a committee score of 0 counts; a missing one does not"
        );
        // Exactly at the minimum coverage is rated.
        let at_min = Rubric::parse(&Rubric::default_csv().replace(",60.00,,", ",63.00,,")).unwrap();
        assert_eq!(
            score_project(&at_min, &october(), &compound_b(), &priors).status,
            ScoreStatus::Rated
        );
        let above = Rubric::parse(&Rubric::default_csv().replace(",60.00,,", ",63.01,,")).unwrap();
        assert_eq!(
            score_project(&above, &october(), &compound_b(), &priors).status,
            ScoreStatus::NotRated
        );
    }

    #[test]
    fn deductions_are_capped_and_the_score_floors_at_zero() {
        let r = rubric();
        let p = ProjectInput {
            orders: OrderCounts {
                by_max_level: [30, 2, 1, 7],
                ..compound_a().orders
            },
            overdue_notices: 2,
            manual_deductions: vec![1_500, 1_000],
            ..compound_a()
        };
        let s = score_project(&r, &october(), &p, &example_priors());
        let d: Vec<(&str, i64, i64)> = s
            .deductions
            .iter()
            .map(|d| (d.key.as_str(), d.events, d.points))
            .collect();
        assert_eq!(
            d,
            [
                ("interview_orders", 7, 500),
                ("overdue_notices", 2, 400),
                ("regulator", 2, 2_000)
            ]
        );
        assert_eq!(s.deducted, 2_900);
        assert_eq!(s.weighted, Some(8_663));
        assert_eq!(s.score, Some(5_763));
        assert_eq!(s.stars, Some(1));
        let heavy = Rubric::parse(
            &Rubric::default_csv().replace("level=3;points=1;cap=5", "level=1;points=100;cap=100"),
        )
        .unwrap();
        let s = score_project(&heavy, &october(), &p, &example_priors());
        assert_eq!(s.deductions[0].events, 10);
        assert_eq!(s.score, Some(0));
        assert_eq!(s.stars, Some(1));
    }

    #[test]
    fn mapping_clamps_to_the_band() {
        let r = rubric();
        let complaints = &r.items()[6];
        // 200 orders for 10 households in 31 days: 1,935 per 100 households per 30 days.
        let p = ProjectInput {
            orders: OrderCounts {
                filed: 200,
                ..OrderCounts::default()
            },
            ..base(1, 10)
        };
        let a = aggregate(complaints, &p, 31);
        assert_eq!(item_value(complaints, a, Prior::default()), 0);
        let none = aggregate(complaints, &base(1, 10), 31);
        assert!(none.has_data);
        assert_eq!(item_value(complaints, none, Prior::default()), 10_000);
        // An inspection cannot go below 0.
        let insp = &r.items()[7];
        let p = ProjectInput {
            inspections: vec![
                InspectionFindings {
                    serious: 12,
                    ..InspectionFindings::default()
                },
                InspectionFindings::default(),
            ],
            ..base(1, 10)
        };
        assert_eq!(item_value(insp, aggregate(insp, &p, 31), Prior::default()), 5_000);
    }

    #[test]
    fn round_div_rounds_half_away_from_zero_for_every_sign() {
        for (num, den, q) in [
            (5, 2, 3),
            (-5, 2, -3),
            (5, -2, -3),
            (-5, -2, 3),
            (7, 2, 4),
            (-1, 2, -1),
            (1, 3, 0),
            (-1, 3, 0),
            (2, 3, 1),
            (-2, 3, -1),
            (6, 3, 2),
            (0, 7, 0),
            (9, 0, 0),
            (i128::MAX, 1, i128::MAX),
            (i128::MAX, 2, i128::MAX / 2 + 1),
            (i128::MIN + 1, 1, i128::MIN + 1),
            (i128::MAX, i128::MAX, 1),
            (i128::MAX / 2, i128::MAX, 0),
            (i128::MAX / 2 + 1, i128::MAX, 1),
        ] {
            assert_eq!(round_div(num, den), q, "{num} / {den}");
            // The formula it replaced (which overflowed at the ends) agrees on ordinary values.
            if den != 0 && num.abs() < 1 << 100 && den.abs() < 1 << 100 {
                let (n, d) = if den < 0 { (-num, -den) } else { (num, den) };
                let old = if n >= 0 {
                    (2 * n + d) / (2 * d)
                } else {
                    -((2 * -n + d) / (2 * d))
                };
                assert_eq!(q, old, "{num} / {den}");
            }
        }
    }

    #[test]
    fn absurd_counts_saturate_instead_of_panicking() {
        // Every count at its largest: each item still has a value in 0..=10000 (a debug build
        // panicked on the overflow; a release build wrapped the sign).
        let r = rubric();
        let max = i64::MAX;
        let p = ProjectInput {
            households: Some(max),
            owners: OwnerLevels {
                satisfied: max,
                basic: max,
                dissatisfied: max,
            },
            committee: Some(max),
            community: Some(max),
            street: Some(max),
            orders: OrderCounts {
                filed: max,
                due: max,
                on_time: max,
                replied: max,
                reopened: max,
                rated: max,
                satisfied: max,
                basic: max,
                ..OrderCounts::default()
            },
            inspections: vec![
                InspectionFindings {
                    minor: max,
                    major: max,
                    serious: max,
                };
                3
            ],
            disclosure: DisclosureCounts {
                due: max,
                in_time: max,
            },
            ..base(1, 10)
        };
        let prior = Prior { num: max, den: max };
        for item in r.items() {
            let v = item_value(item, aggregate(item, &p, 31), prior);
            assert!((0..=10_000).contains(&v), "{}: {v}", item.key);
        }
        assert_eq!(bottom_streak(true, max), max);
    }

    // ----- ranking (§5) -----------------------------------------------------------------------

    #[test]
    fn equal_scores_share_a_rank() {
        assert_eq!(competition_ranks(&[8_000, 9_000, 8_000, 7_000]), [2, 1, 2, 4]);
        assert_eq!(competition_ranks(&[5, 5, 5]), [1, 1, 1]);
        assert!(competition_ranks(&[]).is_empty());
    }

    fn pool(scores: &[i64]) -> Vec<Contender> {
        scores
            .iter()
            .map(|&score| Contender {
                score,
                eligible: true,
            })
            .collect()
    }

    #[test]
    fn bottom_places_worked_example() {
        // R = 18: b = min(5, ⌊18 ÷ 4⌋) = 4; the 4th lowest is 71.20, tied: five bottom places.
        let mut scores = vec![5_810, 6_340, 6_602, 7_120, 7_120, 7_205];
        scores.extend((0..12).map(|i| 7_500 + 100 * i));
        assert_eq!(scores.len(), 18);
        assert_eq!(bottom_places(18, 5), 4);
        let placings = rank_pool(&pool(&scores), 5);
        let bottom: Vec<i64> = scores
            .iter()
            .zip(&placings)
            .filter(|(_, p)| p.bottom)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(bottom, [5_810, 6_340, 6_602, 7_120, 7_120]);
        assert_eq!(placings[0].rank, 18);
        assert_eq!((placings[3].rank, placings[4].rank), (14, 14));
        // A street pool with R = 7 has b = 1; one with R = 3 has none.
        assert_eq!(bottom_places(7, 5), 1);
        let seven = rank_pool(&pool(&[9_000, 8_000, 7_000, 6_000, 8_500, 7_500, 6_500]), 5);
        assert_eq!(seven.iter().filter(|p| p.bottom).count(), 1);
        assert!(seven[3].bottom);
        assert_eq!(bottom_places(3, 5), 0);
        assert!(rank_pool(&pool(&[1, 2, 3]), 5).iter().all(|p| !p.bottom));
        // N caps b: R = 40 → min(5, 10) = 5.
        assert_eq!(bottom_places(40, 5), 5);
        assert_eq!(bottom_places(40, 0), 0);
    }

    #[test]
    fn short_tenure_ranks_but_never_takes_a_bottom_place() {
        let mut contenders = pool(&[5_000, 6_000, 7_000, 8_000, 9_000, 9_100, 9_200, 9_300]);
        contenders[0].eligible = false;
        let placings = rank_pool(&contenders, 5);
        // b = 2: the cut is the 2nd lowest score (60.00); the newcomer at 50.00 ranks last.
        assert_eq!(
            placings[0],
            Placing {
                rank: 8,
                bottom: false
            }
        );
        assert_eq!(
            placings[1],
            Placing {
                rank: 7,
                bottom: true
            }
        );
        assert_eq!(placings.iter().filter(|p| p.bottom).count(), 1);
        // 50 % of a 31-day month: 15.5 days.
        assert!(!tenure_counts(15, 31, 5_000));
        assert!(tenure_counts(16, 31, 5_000));
        assert!(tenure_counts(15, 30, 5_000));
    }

    fn scored(compound_id: i64, street_code: i64, score: Option<i64>, tenure_days: i64) -> ProjectScore {
        ProjectScore {
            compound_id,
            street_code,
            score,
            tenure_days,
            status: if score.is_some() {
                ScoreStatus::Rated
            } else {
                ScoreStatus::NotRated
            },
            ..score_project(&rubric(), &october(), &compound_a(), &example_priors())
        }
    }

    #[test]
    fn projects_rank_in_street_and_district_pools() {
        let s2 = STREET + 1_000;
        let mut scores = vec![
            scored(1, STREET, Some(9_000), 31),
            scored(2, STREET, Some(8_000), 31),
            scored(3, STREET, Some(7_000), 31),
            scored(4, STREET, None, 31),
            scored(5, s2, Some(8_500), 31),
            scored(6, s2, Some(6_000), 31),
            scored(7, s2, Some(8_000), 31),
            scored(8, s2, Some(9_500), 31),
        ];
        rank_projects(&mut scores, &october(), &RankSettings::default());
        type View = (Option<u32>, u32, Option<u32>, u32, bool);
        let view: Vec<View> = scores
            .iter()
            .map(|s| {
                (
                    s.rank_street,
                    s.pool_street,
                    s.rank_district,
                    s.pool_district,
                    s.bottom,
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                (Some(1), 3, Some(2), 7, false),
                (Some(2), 3, Some(4), 7, false),
                (Some(3), 3, Some(6), 7, false),
                (None, 3, None, 7, false),
                (Some(2), 4, Some(3), 7, false),
                (Some(4), 4, Some(7), 7, true),
                (Some(3), 4, Some(4), 7, false),
                (Some(1), 4, Some(1), 7, false),
            ]
        );
        // Street scope: the street of four has b = 1; the street of three has none.
        let street = RankSettings {
            bottom_scope: BottomScope::Street,
            ..RankSettings::default()
        };
        rank_projects(&mut scores, &october(), &street);
        let bottom: Vec<i64> = scores
            .iter()
            .filter(|s| s.bottom)
            .map(|s| s.compound_id)
            .collect();
        assert_eq!(bottom, [6]);
        // No bottom places outside month runs.
        rank_projects(
            &mut scores,
            &Period::parse("2026-Q4").unwrap(),
            &RankSettings::default(),
        );
        assert!(scores.iter().all(|s| !s.bottom));
        assert_eq!(scores[0].rank_district, Some(2));
        // A newcomer at the bottom ranks but takes no place.
        scores[5].tenure_days = 10;
        rank_projects(&mut scores, &october(), &RankSettings::default());
        assert_eq!(scores[5].rank_district, Some(7));
        assert!(scores.iter().all(|s| !s.bottom));
    }

    #[test]
    fn streaks_and_the_action_ladder() {
        assert_eq!(bottom_streak(true, 0), 1);
        assert_eq!(bottom_streak(true, 2), 3);
        assert_eq!(bottom_streak(false, 2), 0);
        let r = rubric();
        assert_eq!(r.action_for(0), None);
        assert_eq!(r.action_for(1).map(|a| a.key.as_str()), Some("first"));
        assert_eq!(r.action_for(2).map(|a| a.key.as_str()), Some("second"));
        assert_eq!(r.action_for(3).map(|a| a.key.as_str()), Some("third"));
        assert_eq!(r.action_for(7).map(|a| a.key.as_str()), Some("third"));
        assert_eq!(r.stars_for(9_000), Some(5));
        assert_eq!(r.stars_for(8_999), Some(4));
        assert_eq!(r.stars_for(0), Some(1));
    }

    // ----- credit (§6) ------------------------------------------------------------------------

    fn scheme() -> CreditScheme {
        CreditScheme::parse(CreditScheme::default_csv()).unwrap()
    }

    fn record(id: i64, kind: CreditKind, points: i64, from: time::Date) -> CreditRecord {
        CreditRecord {
            id,
            kind,
            points,
            severity: CreditSeverity::Ordinary,
            valid_from: from,
            valid_to: default_valid_to(from),
            appeal_upheld_on: None,
        }
    }

    #[test]
    fn default_credit_scheme_parses_and_round_trips() {
        let s = scheme();
        assert_eq!(s.key(), "shandong_2019");
        assert_eq!((s.basic_cap(), s.good_cap()), (8_000, 4_000));
        let grades: Vec<(&str, i64)> = s.grades().iter().map(|g| (g.key.as_str(), g.lower)).collect();
        assert_eq!(
            grades,
            [
                ("AAA", 8_500),
                ("AA", 8_000),
                ("A", 7_000),
                ("B", 6_000),
                ("C", 0)
            ]
        );
        assert_eq!(s.grades()[4].below_without_bad.as_deref(), Some("B"));
        let veto = s.item("veto").unwrap();
        assert_eq!(
            (veto.kind, veto.points, veto.severity),
            (CreditKind::Bad, 1_000, CreditSeverity::Veto)
        );
        assert_eq!(s.item("bottom_n").unwrap().points, 200);
        assert_eq!(s.item("enrolment").unwrap().kind, CreditKind::Basic);
        assert_eq!(s.to_csv(), CreditScheme::default_csv());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<CreditScheme>(&json).unwrap(), s);
        let tampered = json.replacen("\"lower\":8000", "\"lower\":9000", 1);
        assert!(serde_json::from_str::<CreditScheme>(&tampered).is_err());
    }

    #[test]
    fn credit_scheme_validation() {
        let text = "section,key,name_zh,name_en,value,source,params\n\
            scheme,s,方案,Scheme,,,\n\
            param,other_cap,上限,Cap,10,,\n\
            grade,AAA,AAA,AAA,85.00,,below_without_bad=B\n\
            grade,AA,AA,AA,90.00,,\n\
            grade,C,C,C,0,,below_without_bad=X\n\
            item,award,表彰,Award,5,good,severity=serious\n\
            item,bad_one,处罚,Penalty,0,bad,severity=awful\n\
            item,odd,其他,Odd,1,worse,\n";
        let found: Vec<(u64, String, String)> = CreditScheme::parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.column, e.message))
            .collect();
        assert_errors(
            &found,
            &[
                (3, "key", "expected basic_cap or good_cap"),
                (4, "params", "below_without_bad belongs on the last grade row"),
                (5, "value", "grade bounds must fall strictly"),
                (6, "params", "must name another grade"),
                (7, "params", "parameter severity is not used here"),
                (8, "value", "points: 0 is outside 0.01 – 1000"),
                (8, "params", "is not a valid credit severity"),
                (9, "source", "is not a valid credit record kind"),
            ],
        );
    }

    #[test]
    fn valid_to_defaults_to_one_year() {
        assert_eq!(default_valid_to(date!(2026 - 11 - 11)), date!(2027 - 11 - 11));
        assert_eq!(default_valid_to(date!(2028 - 02 - 29)), date!(2029 - 03 - 01));
        assert_eq!(default_valid_to(date!(2027 - 02 - 28)), date!(2028 - 02 - 28));
        let r = record(1, CreditKind::Bad, 200, date!(2026 - 11 - 11));
        assert!(!r.is_active(date!(2026 - 11 - 10)));
        assert!(r.is_active(date!(2026 - 11 - 11)));
        assert!(r.is_active(date!(2027 - 11 - 10)));
        assert!(!r.is_active(date!(2027 - 11 - 11)));
    }

    /// §6: company X on 2026-11-30 → 83.00 AA; the appeal against the 3.00 is upheld on
    /// 2026-12-05 → 86.00 AAA, yet no red-list candidate (a bad record is active).
    #[test]
    fn worked_example_company_x() {
        let s = scheme();
        let overdue = CreditRecord {
            appeal_upheld_on: Some(date!(2026 - 12 - 05)),
            ..record(6, CreditKind::Bad, 300, date!(2026 - 11 - 20))
        };
        let records = vec![
            record(1, CreditKind::Basic, 2_000, date!(2026 - 01 - 05)),
            record(2, CreditKind::Basic, 6_500, date!(2026 - 01 - 05)),
            record(3, CreditKind::Good, 500, date!(2026 - 06 - 01)),
            record(4, CreditKind::Good, 300, date!(2026 - 09 - 15)),
            CreditRecord {
                valid_to: date!(2027 - 11 - 11),
                ..record(5, CreditKind::Bad, 200, date!(2026 - 11 - 11))
            },
            overdue,
        ];
        let x = s.standing(&records, date!(2026 - 11 - 30));
        assert_eq!((x.basic, x.good, x.bad, x.score), (8_000, 800, 500, 8_300));
        assert_eq!(x.grade, CreditGrade::Band("AA".into()));
        assert_eq!(x.active, [1, 2, 3, 4, 5, 6]);
        assert_eq!(x.candidacy, None);
        let before = s.standing(&records, date!(2026 - 12 - 04));
        assert_eq!((before.score, before.grade.as_str()), (8_300, "AA"));
        let after = s.standing(&records, date!(2026 - 12 - 05));
        assert_eq!(
            (after.bad, after.score, after.grade.as_str()),
            (200, 8_600, "AAA")
        );
        assert!(after.active_bad);
        assert_eq!(after.candidacy, None, "a bad record is active");
        // Without the bottom_n record, AAA with no active bad record is a red-list candidate.
        let without: Vec<CreditRecord> = records.iter().filter(|r| r.id != 5).cloned().collect();
        let red = s.standing(&without, date!(2026 - 12 - 05));
        assert_eq!((red.score, red.grade.as_str()), (8_800, "AAA"));
        assert_eq!(red.candidacy.map(|c| c.list), Some(RedBlack::Red));
        assert_eq!(serde_json::to_value(&after).unwrap()["grade"], "AAA");
        assert_eq!(serde_json::to_value(&after).unwrap()["on"], "2026-12-05");
    }

    #[test]
    fn grades_c_b_missing_and_the_black_list() {
        let s = scheme();
        let on = date!(2026 - 11 - 30);
        let basic = record(1, CreditKind::Basic, 5_000, date!(2026 - 01 - 01));
        // 50.00 with no bad record: C becomes B.
        let b = s.standing(std::slice::from_ref(&basic), on);
        assert_eq!(
            (b.score, b.grade.as_str(), b.candidacy.clone()),
            (5_000, "B", None)
        );
        // 50.00 − 2.00 with an ordinary bad record: C, not black.
        let bad = record(2, CreditKind::Bad, 200, date!(2026 - 11 - 01));
        let c = s.standing(&[basic.clone(), bad.clone()], on);
        assert_eq!((c.score, c.grade.as_str(), c.candidacy), (4_800, "C", None));
        // A serious record with grade C: black-list candidate.
        let serious = CreditRecord {
            severity: CreditSeverity::Serious,
            ..record(3, CreditKind::Bad, 500, date!(2026 - 11 - 01))
        };
        let black = s.standing(&[basic.clone(), serious.clone()], on);
        assert_eq!(black.grade.as_str(), "C");
        assert_eq!(black.candidacy.as_ref().map(|c| c.list), Some(RedBlack::Black));
        assert!(black.candidacy.unwrap().basis_en.contains("serious"));
        // A serious record with a good grade is not enough.
        let high = record(4, CreditKind::Basic, 9_000, date!(2026 - 01 - 01));
        let fine = s.standing(&[high.clone(), serious.clone()], on);
        assert_eq!((fine.grade.as_str(), fine.candidacy), ("A", None));
        // A veto record always is.
        let veto = CreditRecord {
            severity: CreditSeverity::Veto,
            ..record(5, CreditKind::Bad, 100, date!(2026 - 11 - 01))
        };
        let vetoed = s.standing(&[high, veto.clone()], on);
        assert_eq!(vetoed.candidacy.map(|c| c.list), Some(RedBlack::Black));
        // Not enrolled: c_missing; with a serious record, black.
        let missing = s.standing(&[], on);
        assert_eq!((missing.grade.clone(), missing.score), (CreditGrade::Missing, 0));
        assert_eq!(missing.grade.as_str(), "c_missing");
        assert_eq!(missing.candidacy, None);
        let missing_serious = s.standing(&[serious], on);
        assert_eq!(missing_serious.grade, CreditGrade::Missing);
        assert_eq!(missing_serious.score, -500);
        assert_eq!(missing_serious.candidacy.map(|c| c.list), Some(RedBlack::Black));
        // A record not yet valid, expired, or with an upheld appeal does not count.
        let expired = record(6, CreditKind::Basic, 5_000, date!(2025 - 01 - 01));
        assert_eq!(s.standing(&[expired], on).grade, CreditGrade::Missing);
    }
}
