//! Identity and access: who is calling, and what they may see and do.
//!
//! **Architecture invariant:** authorization lives here. Handlers ask an [`Actor`] for a
//! permission (`require_*`) or hands its `Actor::scope` to the registry,
//! and the registry applies that predicate inside its queries, so a list filtered by
//! jurisdiction is filtered in SQL, never after loading.
//!
//! Secrets are never stored or logged in the clear: passwords as argon2id hashes, session
//! cookies and API tokens as SHA-256 digests.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use wuye_model::{RegionCode, Role, Uscc};

use crate::db::{Db, DbError};
use crate::files::hex;
use crate::{db_read, db_run};

/// A browser session lasts this long without use… and no longer than this in all.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// After this many wrong passwords in a row an account is locked for [`LOCKOUT`].
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);

/// What part of the registry an actor's role reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Not signed in: public information only.
    Public,
    /// The operator at the command line: everything.
    All,
    /// A regulator: the compounds in a region subtree.
    Region {
        #[schema(value_type = String)]
        code: RegionCode,
    },
    /// A company's people: the compounds under a contract in force with the company.
    Company { company_id: i64 },
    /// An owners' committee member: their compound.
    Compound { compound_id: i64 },
    /// An owner: the rooms their verified sign-in speaks for.
    Owner { user_id: i64 },
}

/// The caller of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub login: String,
    pub display_name: String,
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    pub scope: Scope,
    #[serde(skip)]
    pub ip: String,
    /// The session's CSRF token (cookie sessions only).
    #[serde(skip)]
    pub csrf: Option<String>,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Not signed in (401; pages redirect to the sign-in page).
    #[error("sign-in required / 请先登录")]
    SignIn,
    /// Signed in, but the role may not do this (403).
    #[error("your role may not do this / 当前角色无此权限")]
    Role,
    /// The object is outside the caller's scope: answered as if it did not exist (404).
    #[error("not found / 不存在")]
    Hidden,
}

impl Actor {
    pub fn anonymous(ip: String) -> Self {
        Self {
            user_id: None,
            login: String::new(),
            display_name: String::new(),
            role: None,
            scope: Scope::Public,
            ip,
            csrf: None,
        }
    }

    /// A command-line actor with full reach (imports from the shell are the operator's).
    pub fn cli() -> Self {
        Self {
            user_id: None,
            login: "cli".into(),
            display_name: "command line".into(),
            role: Some(Role::CityAdmin),
            scope: Scope::All,
            ip: String::new(),
            csrf: None,
        }
    }

    /// The platform itself acting (a sweep, a follow-up of a published result): the command
    /// line's reach, written as "system" in timelines and the audit log.
    pub fn system() -> Self {
        Self {
            login: "system".into(),
            display_name: "system".into(),
            ..Self::cli()
        }
    }

    pub fn signed_in(&self) -> bool {
        self.role.is_some()
    }

    pub fn require_signed_in(&self) -> Result<Role, Denied> {
        self.role.ok_or(Denied::SignIn)
    }

    /// Regulators only. Returns the subtree they reach (`None`: everything, the shell).
    pub fn require_regulator(&self) -> Result<Option<RegionCode>, Denied> {
        let role = self.require_signed_in()?;
        match (&self.scope, role.is_regulator()) {
            (Scope::Region { code }, true) => Ok(Some(*code)),
            (Scope::All, _) => Ok(None),
            _ => Err(Denied::Role),
        }
    }

    /// City administrators (and district officers when `or_district`).
    pub fn require_admin(&self, or_district: bool) -> Result<Option<RegionCode>, Denied> {
        let code = self.require_regulator()?;
        match self.role {
            Some(Role::CityAdmin) => Ok(code),
            Some(Role::DistrictOfficer) if or_district => Ok(code),
            _ => Err(Denied::Role),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Crypto(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A real argon2id hash to verify against when the login does not exist: an unparsable
/// stand-in would return at once and let timing tell which logins exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such account").unwrap_or_default())
}

/// 32 random bytes as hex.
pub fn random_token() -> Result<String, AuthError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Crypto(e.to_string()))?;
    Ok(hex(&buf))
}

pub fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A login as logs and pages show it: owners' logins are phone numbers, so they are masked.
pub fn display_login(login: &str) -> String {
    if crate::otp::valid_phone(login) {
        mask(login)
    } else {
        login.to_owned()
    }
}

/// Masks a phone number or an ID number for display: 138****8000, 370705********1234.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return "*".repeat(n);
    }
    let (keep_head, keep_tail) = if n == 11 {
        (3, 4)
    } else if n >= 15 {
        (6, 4)
    } else {
        (2, 2)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_head || i >= n - keep_tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Invalid(String),
    #[error("crypto failure: {0}")]
    Crypto(String),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

// ---------------------------------------------------------------------------------------------
// Accounts

#[derive(Debug, Clone, sqlx::FromRow)]
struct UserRow {
    id: i64,
    login: String,
    display_name: String,
    role: String,
    scope_region: Option<i64>,
    scope_company: Option<i64>,
    scope_compound: Option<i64>,
}

impl UserRow {
    fn actor(self, ip: String, csrf: Option<String>) -> Option<Actor> {
        let role = Role::parse(&self.role).ok()?;
        let scope = match role {
            r if r.is_regulator() => Scope::Region {
                code: RegionCode::from_i64(self.scope_region?).ok()?,
            },
            Role::CompanyAdmin | Role::CompanyStaff => Scope::Company {
                company_id: self.scope_company?,
            },
            Role::CommitteeMember => Scope::Compound {
                compound_id: self.scope_compound?,
            },
            Role::Owner => Scope::Owner { user_id: self.id },
            _ => Scope::Public,
        };
        Some(Actor {
            user_id: Some(self.id),
            login: self.login,
            display_name: self.display_name,
            role: Some(role),
            scope,
            ip,
            csrf,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct LoginRow {
    id: i64,
    password_hash: Option<String>,
    disabled: bool,
    locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    csrf: String,
}

const USER_COLS: &str =
    "u.id, u.login, u.display_name, u.role, u.scope_region, u.scope_company, u.scope_compound";

/// A new staff account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    /// A division code (regulators), a company's credit code (company roles) or a compound's
    /// code (committee members).
    pub scope: String,
    pub password: String,
    pub phone: String,
}

/// Checks a new account against the registry and returns its id.
pub async fn create_user(db: &Db, new: &NewUser, by: &Actor, now: OffsetDateTime) -> Result<i64, AuthError> {
    let now = crate::clock::db_time(now);
    let login = new.login.trim();
    if login.is_empty() || login.chars().count() > 64 {
        return Err(AuthError::Invalid(
            "login must be 1 to 64 characters / 登录名应为 1 至 64 个字符".into(),
        ));
    }
    if new.role == Role::Owner {
        return Err(AuthError::Invalid("owners sign in with their phone number and a one-time code; they have no password account / 业主使用手机号和验证码登录".into()));
    }
    if new.password.chars().count() < 10 {
        return Err(AuthError::Invalid(
            "the password must have at least 10 characters / 密码至少 10 个字符".into(),
        ));
    }
    let (mut region, mut company, mut compound) = (None, None, None);
    if let Some(level) = new.role.region_level() {
        let code = RegionCode::parse(&new.scope).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if code.level() != level {
            return Err(AuthError::Invalid(format!(
                "a {} is scoped to a {} code, not {code} / 范围应为{}代码",
                new.role.label_en(),
                level.label_en().to_lowercase(),
                level.label_zh()
            )));
        }
        let known: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT code FROM regions WHERE code = $1").bind(code.as_i64()).fetch_optional(pool).await)?;
        if known.is_none() {
            return Err(AuthError::Invalid(format!("unknown region {code} / 区划不存在")));
        }
        region = Some(code.as_i64());
    } else if matches!(new.role, Role::CompanyAdmin | Role::CompanyStaff) {
        let uscc = Uscc::parse(&new.scope).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let id: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = $1").bind(uscc.as_str()).fetch_optional(pool).await)?;
        company = Some(
            id.ok_or_else(|| AuthError::Invalid(format!("unknown company {uscc} / 企业未登记")))?
                .0,
        );
    } else {
        let id: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM compounds WHERE code = $1").bind(new.scope.trim()).fetch_optional(pool).await)?;
        compound = Some(
            id.ok_or_else(|| {
                AuthError::Invalid(format!("unknown compound {} / 小区不存在", new.scope.trim()))
            })?
            .0,
        );
    }
    // An administrator creates accounts only inside their own reach.
    if by.user_id.is_some() {
        let allowed = match (&by.scope, by.role) {
            (Scope::All, _) => true,
            (Scope::Region { code }, Some(r)) if r.administers_users() => match region {
                Some(reg) => {
                    code.contains(RegionCode::from_i64(reg).map_err(|e| AuthError::Invalid(e.to_string()))?)
                }
                None => true,
            },
            (Scope::Company { company_id }, Some(Role::CompanyAdmin)) => {
                new.role == Role::CompanyStaff && company == Some(*company_id)
            }
            _ => false,
        };
        if !allowed {
            return Err(AuthError::Invalid("outside your scope / 超出您的管理范围".into()));
        }
    }
    let hash = hash_password(&new.password)?;
    let sql = "INSERT INTO users (login, display_name, role, scope_region, scope_company, scope_compound, password_hash, phone, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (login) DO NOTHING";
    let inserted = db_run!(db, pool => sqlx::query(sql).bind(login).bind(new.display_name.trim()).bind(new.role.as_str())
        .bind(region).bind(company).bind(compound).bind(hash).bind(new.phone.trim()).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Err(AuthError::Invalid(format!(
            "the login {login:?} is taken / 登录名已存在"
        )));
    }
    let (id,): (i64,) = db_run!(db, pool => sqlx::query_as("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(pool).await)?;
    audit(
        db,
        by,
        "user.create",
        "user",
        &id.to_string(),
        None,
        Some(serde_json::json!({
            "login": login, "role": new.role.as_str(), "scope": new.scope, "phone": mask(&new.phone)
        })),
        now,
    )
    .await?;
    Ok(id)
}

/// The outcome of a password sign-in.
#[derive(Debug)]
pub enum Login {
    /// The cookie value (give it to the browser; only its digest is stored).
    Ok {
        token: String,
        actor: Actor,
    },
    Wrong,
    Locked {
        until: OffsetDateTime,
    },
}

/// Password sign-in with throttling: after [`MAX_FAILED_LOGINS`] wrong passwords in a row the
/// account is locked for [`LOCKOUT`] (the lock is in the database, so it holds across
/// instances). Unknown logins cost the same argon2 work as known ones.
pub async fn login(
    db: &Db,
    login: &str,
    password: &str,
    ip: &str,
    now: OffsetDateTime,
) -> Result<Login, AuthError> {
    let now = crate::clock::db_time(now);
    let row: Option<LoginRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, password_hash, disabled, locked_until FROM users WHERE login = $1")
        .bind(login.trim()).fetch_optional(pool).await)?;
    let Some(LoginRow {
        id,
        password_hash: hash,
        disabled,
        locked_until,
    }) = row
    else {
        // Same cost as a real check, so timing does not reveal which logins exist.
        let _ = verify_password(password, dummy_hash());
        return Ok(Login::Wrong);
    };
    if let Some(until) = locked_until.filter(|u| *u > now) {
        return Ok(Login::Locked { until });
    }
    let ok = !disabled && hash.as_deref().is_some_and(|h| verify_password(password, h));
    if !ok {
        let sql = "UPDATE users SET failed_logins = failed_logins + 1, \
            locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END WHERE id = $1 RETURNING failed_logins";
        let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(sql).bind(id).bind(MAX_FAILED_LOGINS).bind(now + LOCKOUT).fetch_all(pool).await
            .and_then(|mut v| v.pop().ok_or(sqlx::Error::RowNotFound)))?;
        let who = Actor {
            login: login.trim().to_owned(),
            ip: ip.to_owned(),
            ..Actor::anonymous(ip.to_owned())
        };
        audit(
            db,
            &who,
            "session.login_failed",
            "user",
            &id.to_string(),
            None,
            None,
            now,
        )
        .await?;
        if n >= MAX_FAILED_LOGINS {
            return Ok(Login::Locked { until: now + LOCKOUT });
        }
        return Ok(Login::Wrong);
    }
    db_run!(db, pool => sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
    let token = start_session(db, id, ip, now).await?;
    let actor = session_actor(db, &token, ip, now).await?.ok_or_else(|| {
        AuthError::Invalid("account has no valid role or scope / 账号角色或范围无效".into())
    })?;
    audit(
        db,
        &actor,
        "session.login",
        "user",
        &id.to_string(),
        None,
        None,
        now,
    )
    .await?;
    Ok(Login::Ok { token, actor })
}

/// Opens a session for an account; returns the cookie value (only its digest is stored).
pub async fn start_session(
    db: &Db,
    user_id: i64,
    ip: &str,
    now: OffsetDateTime,
) -> Result<String, AuthError> {
    let now = crate::clock::db_time(now);
    let token = random_token()?;
    let csrf = random_token()?;
    let sql = "INSERT INTO sessions (id, user_id, csrf, ip, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
    db_run!(db, pool => sqlx::query(sql).bind(digest(&token)).bind(user_id).bind(&csrf).bind(ip).bind(now).bind(now + SESSION_TTL).execute(pool).await.map(|_| ()))?;
    Ok(token)
}

/// The actor of a session cookie, if the session exists and has not expired.
pub async fn session_actor(
    db: &Db,
    token: &str,
    ip: &str,
    now: OffsetDateTime,
) -> Result<Option<Actor>, AuthError> {
    let now = crate::clock::db_time(now);
    let sql = format!(
        "SELECT {USER_COLS}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.expires_at > $2 AND u.disabled = $3"
    );
    let row: Option<SessionRow> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(digest(token)).bind(now).bind(false).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.user.actor(ip.to_owned(), Some(r.csrf))))
}

pub async fn logout(db: &Db, token: &str) -> Result<(), AuthError> {
    db_run!(db, pool => sqlx::query("DELETE FROM sessions WHERE id = $1").bind(digest(token)).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// The actor of a bearer token, if it exists and is not revoked.
pub async fn token_actor(db: &Db, token: &str, ip: &str) -> Result<Option<Actor>, AuthError> {
    let sql = format!(
        "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = $2"
    );
    let row: Option<UserRow> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(digest(token)).bind(false).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.actor(ip.to_owned(), None)))
}

/// Creates an API token acting as `login`'s account; returns the token (shown once).
pub async fn create_token(
    db: &Db,
    login: &str,
    name: &str,
    by: &Actor,
    now: OffsetDateTime,
) -> Result<String, AuthError> {
    let now = crate::clock::db_time(now);
    let user: Option<(i64,)> = db_read!(db, pool => sqlx::query_as("SELECT id FROM users WHERE login = $1").bind(login).fetch_optional(pool).await)?;
    let (user_id,) = user.ok_or_else(|| AuthError::Invalid(format!("no account {login:?} / 账号不存在")))?;
    let token = format!("wuye_{}", random_token()?);
    let sql = "INSERT INTO api_tokens (token_hash, name, user_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5)";
    db_run!(db, pool => sqlx::query(sql).bind(digest(&token)).bind(name).bind(user_id).bind(by.user_id).bind(now).execute(pool).await.map(|_| ()))?;
    audit(
        db,
        by,
        "token.create",
        "user",
        &user_id.to_string(),
        None,
        Some(serde_json::json!({ "name": name })),
        now,
    )
    .await?;
    Ok(token)
}

pub async fn revoke_token(db: &Db, name: &str, by: &Actor, now: OffsetDateTime) -> Result<u64, AuthError> {
    let now = crate::clock::db_time(now);
    let n = db_run!(db, pool => sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
        .bind(name).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    audit(db, by, "token.revoke", "api_token", name, None, None, now).await?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// Records a write: who, when, from where, what changed. `before`/`after` must already have
/// personal numbers masked ([`mask`]); passwords, codes and tokens never go in.
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    db: &Db,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let row = AuditRow::new(actor, action, entity, entity_id, before, after, now);
    db_run!(db, pool => crate::bind_audit!(sqlx::query(AuditRow::INSERT), row).execute(pool).await.map(|_| ()))?;
    row.logged();
    Ok(())
}

/// One audit entry, for a change that writes it in its own transaction (so that a change never
/// stands unaudited, nor is reported failed once made): `bind_audit!(sqlx::query(AuditRow::INSERT),
/// row)` on the transaction, then [`AuditRow::logged`] after the commit.
pub struct AuditRow {
    pub(crate) at: OffsetDateTime,
    pub(crate) user_id: Option<i64>,
    pub(crate) actor: String,
    pub(crate) ip: String,
    pub(crate) action: String,
    pub(crate) entity: String,
    pub(crate) entity_id: String,
    pub(crate) before: Option<String>,
    pub(crate) after: Option<String>,
}

/// Binds an [`AuditRow`] into a query of [`AuditRow::INSERT`], on either engine (inside
/// `db_run!`, whose body is written once for both).
#[macro_export]
macro_rules! bind_audit {
    ($q:expr, $row:expr) => {
        $q.bind($row.at)
            .bind($row.user_id)
            .bind(&$row.actor)
            .bind(&$row.ip)
            .bind(&$row.action)
            .bind(&$row.entity)
            .bind(&$row.entity_id)
            .bind(&$row.before)
            .bind(&$row.after)
    };
}

impl AuditRow {
    pub const INSERT: &str = "INSERT INTO audit_log (at, actor_user_id, actor, ip, action, entity, entity_id, before, after) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

    pub fn new(
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            at: crate::clock::db_time(now),
            user_id: actor.user_id,
            actor: if actor.login.is_empty() {
                "anonymous".to_owned()
            } else {
                actor.login.clone()
            },
            ip: actor.ip.clone(),
            action: action.to_owned(),
            entity: entity.to_owned(),
            entity_id: entity_id.to_owned(),
            before: before.map(|v| v.to_string()),
            after: after.map(|v| v.to_string()),
        }
    }

    /// The log line of the entry, once its transaction committed.
    pub fn logged(&self) {
        tracing::info!(audit.action = %self.action, audit.entity = %self.entity, audit.entity_id = %self.entity_id, actor = %display_login(&self.actor), "audit");
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub async fn audit_entries(db: &Db, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, DbError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT id, at, actor, ip, action, entity, entity_id, before, after FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2")
        .bind(limit).bind(offset).fetch_all(pool).await)?)
}

/// Deletes audit entries older than `keep` (at least six months: Cybersecurity Law Art. 21).
pub async fn prune_audit(db: &Db, now: OffsetDateTime, keep: Duration) -> Result<u64, DbError> {
    let now = crate::clock::db_time(now);
    let keep = keep.max(Duration::days(183));
    Ok(
        db_run!(db, pool => sqlx::query("DELETE FROM audit_log WHERE at < $1").bind(now - keep).execute(pool).await.map(|r| r.rows_affected()))?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_personal_numbers() {
        assert_eq!(mask("13800138000"), "138****8000");
        assert_eq!(mask("370705199001011234"), "370705********1234");
        assert_eq!(mask("0536-8888888"), "05********88");
        assert_eq!(mask("123"), "***");
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}

/// An account as administrators see it (phone masked).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct UserSummary {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: String,
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub scope_region: Option<i64>,
    pub scope_company: Option<i64>,
    pub scope_compound: Option<i64>,
    pub phone: String,
    pub disabled: bool,
}

/// The staff accounts an administrator manages: a city administrator all of them, a district
/// officer those scoped inside the district (and its compounds' committees), a company
/// administrator the company's. Filtered in SQL.
pub async fn list_users(db: &Db, by: &Actor) -> Result<Vec<UserSummary>, AuthError> {
    let base = "SELECT id, login, display_name, role, scope_region, scope_company, scope_compound, phone, disabled FROM users WHERE role <> 'owner'";
    let (sql, a, b): (String, i64, i64) = match (&by.scope, by.role) {
        (Scope::All, _) | (_, Some(Role::CityAdmin)) => (format!("{base} AND $1 = $2 ORDER BY id"), 0, 0),
        (Scope::Region { code }, Some(Role::DistrictOfficer)) => (
            format!(
                "{base} AND (scope_region BETWEEN $1 AND $2 OR scope_compound IN (SELECT id FROM compounds WHERE region_code BETWEEN $1 AND $2)) ORDER BY id"
            ),
            *code.subtree().start(),
            *code.subtree().end(),
        ),
        (Scope::Company { company_id }, Some(Role::CompanyAdmin)) => (
            format!("{base} AND scope_company = $1 AND $2 = $2 ORDER BY id"),
            *company_id,
            0,
        ),
        _ => {
            return Err(AuthError::Invalid(
                "your role does not manage accounts / 当前角色不能管理账号".into(),
            ));
        }
    };
    let mut rows: Vec<UserSummary> =
        db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(a).bind(b).fetch_all(pool).await)?;
    for r in &mut rows {
        r.phone = mask(&r.phone);
    }
    Ok(rows)
}
