//! City settings an administrator edits at run time: the SLA policy of each request category
//! (DOMAIN.md R4.2 defaults, overridable per category and for the whole city), the days
//! added to the shipped working-day calendar (a new year's State Council notice), and the
//! numbers of table `city_settings` (owners' decisions' durations, assessment and inspections).
//!
//! **Architecture invariant:** the database is the only source; each instance keeps a
//! read-only snapshot ([`Live`]) that it reloads after its own edits and at every sweeper tick
//! (60 s), so every instance behind a load balancer follows an edit within a minute. Code that
//! computes deadlines takes a `&Settings` snapshot, never the database, so one request uses one
//! consistent calendar and policy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use wuye_model::{DayKind, SlaPolicy, WorkCalendar};

use crate::auth::{self, Actor, Denied};
use crate::db::{Db, DbError};
use crate::orders::CATEGORIES;
use crate::{db_read, db_run};

/// The category key of the city-wide default row.
pub const CITY_DEFAULT: &str = "*";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for SettingsError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The policy of one category: its time limits and whether it is an emergency (R4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryPolicy {
    pub sign_days: u32,
    pub handle_days: u32,
    pub max_extension_days: u32,
    pub max_extensions: u32,
    pub return_days: u32,
    pub rate_days: u32,
    pub emergency: bool,
}

impl CategoryPolicy {
    pub fn sla(&self) -> SlaPolicy {
        SlaPolicy {
            sign_days: self.sign_days,
            handle_days: self.handle_days,
            max_extension_days: self.max_extension_days,
            max_extensions: self.max_extensions,
            return_days: self.return_days,
            rate_days: self.rate_days,
        }
    }

    fn from_sla(p: SlaPolicy, emergency: bool) -> Self {
        Self {
            sign_days: p.sign_days,
            handle_days: p.handle_days,
            max_extension_days: p.max_extension_days,
            max_extensions: p.max_extensions,
            return_days: p.return_days,
            rate_days: p.rate_days,
            emergency,
        }
    }

    /// Limits a person may set: whole working days, within reason.
    pub fn check(&self) -> Result<(), SettingsError> {
        let days = [
            ("sign_days", self.sign_days, 1),
            ("handle_days", self.handle_days, 1),
            ("max_extension_days", self.max_extension_days, 0),
            ("return_days", self.return_days, 1),
            ("rate_days", self.rate_days, 1),
        ];
        for (name, v, min) in days {
            if v < min || v > 60 {
                return Err(SettingsError::Invalid(format!(
                    "{name} must be {min} to 60 working days, not {v} / 时限须为 {min} 至 60 个工作日"
                )));
            }
        }
        if self.sign_days > self.handle_days {
            return Err(SettingsError::Invalid(
                "the time to sign cannot exceed the time to handle / 签收时限不能长于办理时限".into(),
            ));
        }
        if self.max_extensions > 5 {
            return Err(SettingsError::Invalid(
                "at most 5 extensions / 延期次数最多 5 次".into(),
            ));
        }
        Ok(())
    }
}

type PolicyRow = (String, i64, i64, i64, i64, i64, i64, bool);

/// Durations of an owners' decision that DOMAIN.md does not fix (issue 5 §1), in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionDays {
    /// The public check of the voter roll after the notice.
    pub roll_check: u32,
    /// Objections to the preliminary result after the close.
    pub objection: u32,
    /// How long the final result notice is shown.
    pub result_shown: u32,
    /// How far past its first closing day the organisers may extend a vote (DOMAIN.md §2.1:
    /// one city's rule is up to 3 months; UNVERIFIED). 0: no extensions.
    #[serde(default = "default_extension")]
    pub extension: u32,
}

fn default_extension() -> u32 {
    90
}

impl Default for DecisionDays {
    fn default() -> Self {
        Self {
            roll_check: 7,
            objection: 7,
            result_shown: 30,
            extension: default_extension(),
        }
    }
}

const DECISION_KEYS: [&str; 4] = [
    "decision.roll_check_days",
    "decision.objection_days",
    "decision.result_shown_days",
    "decision.extension_days",
];

/// The city's assessment and inspection settings (docs/assessment.md §4, §5, §7, §10; all our
/// choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AssessmentSettings {
    /// Bottom places per pool each month, 0 to 50 (R5.5: N configurable; 5).
    pub bottom_n: u32,
    /// The pool of bottom places: false the district, true the street (district).
    pub bottom_scope_street: bool,
    /// A project whose contract covered less than this percentage of the month ranks but
    /// never takes a bottom place, 0 to 100 (50).
    pub bottom_min_tenure_percent: u32,
    /// Days after a period's end before it may be closed, 0 to 60 and at least the rating
    /// grace (10).
    pub settle_days: u32,
    /// Days after a rating period's end during which its ratings may still be given or
    /// changed, 0 to 31 (5).
    pub rating_grace_days: u32,
    /// Working days a rectification notice gives by default, 1 to 60 (15;
    /// `inspection.notice_days`).
    pub notice_days: u32,
    /// Working days between the supervision levels of an overdue rectification notice
    /// (street, district, city), 1 to 30 (5; `inspection.escalate_days`).
    pub escalate_days: u32,
}

impl Default for AssessmentSettings {
    fn default() -> Self {
        Self {
            bottom_n: 5,
            bottom_scope_street: false,
            bottom_min_tenure_percent: 50,
            settle_days: 10,
            rating_grace_days: 5,
            notice_days: 15,
            escalate_days: 5,
        }
    }
}

const ASSESSMENT_KEYS: [&str; 7] = [
    "assessment.bottom_n",
    "assessment.bottom_scope_street",
    "assessment.bottom_min_tenure_percent",
    "assessment.settle_days",
    "assessment.rating_grace_days",
    "inspection.notice_days",
    "inspection.escalate_days",
];

/// One consistent snapshot of the city's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub calendar: WorkCalendar,
    pub decision_days: DecisionDays,
    pub assessment: AssessmentSettings,
    /// Rows the administrator set, by category (and [`CITY_DEFAULT`]).
    overrides: HashMap<String, CategoryPolicy>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::shipped()
    }
}

impl Settings {
    /// The shipped calendar and the R4.2 defaults, nothing overridden.
    pub fn shipped() -> Self {
        Self {
            calendar: WorkCalendar::shipped(),
            decision_days: DecisionDays::default(),
            assessment: AssessmentSettings::default(),
            overrides: HashMap::new(),
        }
    }

    /// The effective policy of a category: its own row, else the city default row, else R4.2
    /// with the category's built-in emergency flag.
    pub fn policy(&self, category: &str) -> CategoryPolicy {
        if let Some(p) = self.overrides.get(category) {
            return *p;
        }
        let emergency = CATEGORIES.iter().any(|c| c.0 == category && c.3);
        match self.overrides.get(CITY_DEFAULT) {
            Some(p) => CategoryPolicy { emergency, ..*p },
            None => CategoryPolicy::from_sla(SlaPolicy::default(), emergency),
        }
    }

    /// Whether a category's policy is the administrator's own row.
    pub fn is_overridden(&self, category: &str) -> bool {
        self.overrides.contains_key(category)
    }

    pub async fn load(db: &Db) -> Result<Self, SettingsError> {
        let rows: Vec<PolicyRow> = db_read!(db, pool => sqlx::query_as(
            "SELECT category, sign_days, handle_days, max_extension_days, max_extensions, return_days, rate_days, emergency FROM sla_policies")
            .fetch_all(pool).await)?;
        let days: Vec<(Date, String, String)> = db_read!(db, pool => sqlx::query_as(
            "SELECT day, kind, name FROM calendar_days ORDER BY day").fetch_all(pool).await)?;
        let mut calendar = WorkCalendar::shipped();
        for (day, kind, name) in days {
            let kind = if kind == "work" {
                DayKind::Work
            } else {
                DayKind::Off
            };
            calendar.insert(day, kind, name);
        }
        let u = |v: i64| u32::try_from(v).unwrap_or(0);
        let overrides = rows
            .into_iter()
            .map(|(c, s, h, me, mx, r, rate, e)| {
                let p = CategoryPolicy {
                    sign_days: u(s),
                    handle_days: u(h),
                    max_extension_days: u(me),
                    max_extensions: u(mx),
                    return_days: u(r),
                    rate_days: u(rate),
                    emergency: e,
                };
                (c, p)
            })
            .collect();
        let numbers: Vec<(String, i64)> = db_read!(db, pool => sqlx::query_as("SELECT key, value FROM city_settings").fetch_all(pool).await)?;
        let mut decision_days = DecisionDays::default();
        let mut assessment = AssessmentSettings::default();
        for (k, v) in numbers {
            let v = u32::try_from(v).unwrap_or(0);
            match k.as_str() {
                "decision.roll_check_days" => decision_days.roll_check = v,
                "decision.objection_days" => decision_days.objection = v,
                "decision.result_shown_days" => decision_days.result_shown = v,
                "decision.extension_days" => decision_days.extension = v,
                "assessment.bottom_n" => assessment.bottom_n = v,
                "assessment.bottom_scope_street" => assessment.bottom_scope_street = v != 0,
                "assessment.bottom_min_tenure_percent" => assessment.bottom_min_tenure_percent = v,
                "assessment.settle_days" => assessment.settle_days = v,
                "assessment.rating_grace_days" => assessment.rating_grace_days = v,
                "inspection.notice_days" => assessment.notice_days = v,
                "inspection.escalate_days" => assessment.escalate_days = v,
                _ => {}
            }
        }
        Ok(Self {
            calendar,
            decision_days,
            assessment,
            overrides,
        })
    }
}

/// The snapshot an instance serves from; see the module's invariant. It loads itself from the
/// database on first use.
#[derive(Debug, Default)]
pub struct Live {
    snapshot: RwLock<Arc<Settings>>,
    loaded: AtomicBool,
}

impl Live {
    /// The current snapshot (loaded from the database the first time).
    pub async fn get(&self, db: &Db) -> Arc<Settings> {
        if !self.loaded.load(Ordering::Acquire)
            && let Err(e) = self.reload(db).await
        {
            tracing::warn!(error = %e, "settings could not be loaded; using the shipped defaults");
        }
        match self.snapshot.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub async fn reload(&self, db: &Db) -> Result<(), SettingsError> {
        let fresh = Arc::new(Settings::load(db).await?);
        match self.snapshot.write() {
            Ok(mut g) => *g = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }
}

fn require_city_admin(actor: &Actor) -> Result<(), Denied> {
    match actor.require_admin(false)? {
        None => Ok(()),
        // A city administrator whose scope is the whole city (a region of city level).
        Some(code) if code.level() <= wuye_model::RegionLevel::City => Ok(()),
        Some(_) => Err(Denied::Role),
    }
}

/// Sets the policy of one category (or of the city, [`CITY_DEFAULT`]). Audited.
pub async fn set_policy(
    db: &Db,
    actor: &Actor,
    category: &str,
    p: &CategoryPolicy,
    now: OffsetDateTime,
) -> Result<(), SettingsError> {
    require_city_admin(actor)?;
    if category != CITY_DEFAULT && !CATEGORIES.iter().any(|c| c.0 == category) {
        return Err(SettingsError::Invalid(format!(
            "unknown category {category:?} / 诉求类别无效"
        )));
    }
    p.check()?;
    let now = crate::clock::db_time(now);
    let sql = "INSERT INTO sla_policies (category, sign_days, handle_days, max_extension_days, max_extensions, return_days, rate_days, \
        emergency, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (category) DO UPDATE SET \
        sign_days = excluded.sign_days, handle_days = excluded.handle_days, max_extension_days = excluded.max_extension_days, \
        max_extensions = excluded.max_extensions, return_days = excluded.return_days, rate_days = excluded.rate_days, \
        emergency = excluded.emergency, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
    db_run!(db, pool => sqlx::query(sql).bind(category).bind(i64::from(p.sign_days)).bind(i64::from(p.handle_days))
        .bind(i64::from(p.max_extension_days)).bind(i64::from(p.max_extensions)).bind(i64::from(p.return_days))
        .bind(i64::from(p.rate_days)).bind(p.emergency).bind(now).bind(&actor.login).execute(pool).await.map(|_| ()))?;
    auth::audit(
        db,
        actor,
        "sla_policy.set",
        "sla_policy",
        category,
        None,
        serde_json::to_value(p).ok(),
        now,
    )
    .await?;
    Ok(())
}

/// Adds calendar days from text in the shipped file's format (`YYYY-MM-DD,off|work,name`).
/// All or nothing: a bad line names its number and nothing is stored. Returns the day count.
pub async fn add_calendar_days(
    db: &Db,
    actor: &Actor,
    text: &str,
    now: OffsetDateTime,
) -> Result<usize, SettingsError> {
    require_city_admin(actor)?;
    let mut parsed = WorkCalendar::default();
    parsed
        .extend_csv(text)
        .map_err(|e| SettingsError::Invalid(format!("{e}: {}", e.reason)))?;
    let days: Vec<(Date, DayKind, String)> = parsed.listed().map(|(d, k, n)| (d, k, n.to_owned())).collect();
    if days.is_empty() {
        return Err(SettingsError::Invalid(
            "no days in the file / 文件中没有日期".into(),
        ));
    }
    let now = crate::clock::db_time(now);
    let sql = "INSERT INTO calendar_days (day, kind, name, added_at, added_by) VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, added_at = excluded.added_at, added_by = excluded.added_by";
    db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        for (day, kind, name) in &days {
            let kind = if *kind == DayKind::Work { "work" } else { "off" };
            sqlx::query(sql).bind(day).bind(kind).bind(name).bind(now).bind(&actor.login).execute(&mut *tx).await?;
        }
        tx.commit().await
    }.await)?;
    auth::audit(
        db,
        actor,
        "calendar.add",
        "calendar",
        &days.len().to_string(),
        None,
        Some(serde_json::json!({ "days": days.len() })),
        now,
    )
    .await?;
    Ok(days.len())
}

/// Sets the durations of owners' decisions (1 to 90 days each). City administrators; audited.
pub async fn set_decision_days(
    db: &Db,
    actor: &Actor,
    d: &DecisionDays,
    now: OffsetDateTime,
) -> Result<(), SettingsError> {
    require_city_admin(actor)?;
    for v in [d.roll_check, d.objection, d.result_shown] {
        if !(1..=90).contains(&v) {
            return Err(SettingsError::Invalid(format!(
                "each duration is 1 to 90 days, not {v} / 各期限须为 1 至 90 日"
            )));
        }
    }
    if d.extension > 366 {
        return Err(SettingsError::Invalid(format!(
            "a vote may be extended by 0 to 366 days, not {} / 延长期限须为 0 至 366 日",
            d.extension
        )));
    }
    let values = [d.roll_check, d.objection, d.result_shown, d.extension];
    write_numbers(
        db,
        actor,
        &DECISION_KEYS,
        &values,
        "decision",
        serde_json::to_value(d).ok(),
        now,
    )
    .await
}

/// Writes city settings (numbers) in one transaction and audits the change.
async fn write_numbers(
    db: &Db,
    actor: &Actor,
    keys: &[&str],
    values: &[u32],
    group: &str,
    audited: Option<serde_json::Value>,
    now: OffsetDateTime,
) -> Result<(), SettingsError> {
    let now = crate::clock::db_time(now);
    let sql = "INSERT INTO city_settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
    db_run!(db, pool => async {
        let mut tx = pool.begin().await?;
        for (k, v) in keys.iter().zip(values) {
            sqlx::query(sql).bind(*k).bind(i64::from(*v)).bind(now).bind(&actor.login).execute(&mut *tx).await?;
        }
        tx.commit().await
    }.await)?;
    let action = if group == "decision" {
        "settings.decision_days"
    } else {
        "settings.assessment"
    };
    auth::audit(db, actor, action, "city_settings", group, None, audited, now).await?;
    Ok(())
}

/// Sets the city's assessment and inspection settings, all seven at once (all or nothing).
/// City administrators only; audited.
pub async fn set_assessment(
    db: &Db,
    actor: &Actor,
    a: &AssessmentSettings,
    now: OffsetDateTime,
) -> Result<(), SettingsError> {
    require_city_admin(actor)?;
    let checks: [(&str, &str, u32, u32, u32); 6] = [
        ("bottom places", "末位数", a.bottom_n, 0, 50),
        (
            "minimum tenure %",
            "最短在管比例",
            a.bottom_min_tenure_percent,
            0,
            100,
        ),
        ("settle days", "结算等待日", a.settle_days, 0, 60),
        ("rating grace days", "评价宽限日", a.rating_grace_days, 0, 31),
        (
            "rectification notice working days",
            "整改期限工作日",
            a.notice_days,
            1,
            60,
        ),
        (
            "escalation working days",
            "逐级督办间隔工作日",
            a.escalate_days,
            1,
            30,
        ),
    ];
    for (en, zh, v, lo, hi) in checks {
        if !(lo..=hi).contains(&v) {
            return Err(SettingsError::Invalid(format!(
                "{en}: {lo} to {hi}, not {v} / {zh}须为 {lo} 至 {hi}，不能是 {v}"
            )));
        }
    }
    if a.settle_days < a.rating_grace_days {
        return Err(SettingsError::Invalid(
            "settle days must be at least the rating grace days / 结算等待日不得少于评价宽限日".into(),
        ));
    }
    let values = [
        a.bottom_n,
        u32::from(a.bottom_scope_street),
        a.bottom_min_tenure_percent,
        a.settle_days,
        a.rating_grace_days,
        a.notice_days,
        a.escalate_days,
    ];
    write_numbers(
        db,
        actor,
        &ASSESSMENT_KEYS,
        &values,
        "assessment",
        serde_json::to_value(a).ok(),
        now,
    )
    .await
}
