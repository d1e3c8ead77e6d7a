//! Owners sign in with a phone number and a six-digit one-time code.
//!
//! Codes expire after [`CODE_TTL`], are single-use (a conditional UPDATE claims them, so two
//! requests racing with the same code cannot both win), allow [`MAX_ATTEMPTS`] wrong guesses,
//! and are rate-limited per phone and per IP with database counters that hold across
//! instances. Only a hash of each code is stored; the code itself exists in the message sent
//! and nowhere else — never in a log or the audit log.

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use wuye_model::Role;

use crate::auth::{self, Actor, AuthError};
use crate::db::{Db, DbError};
use crate::files::hex;
use crate::{db_read, db_run};

pub const CODE_TTL: Duration = Duration::minutes(5);
pub const MAX_ATTEMPTS: i64 = 5;
/// At most one code per phone per this many seconds…
pub const RESEND_SECONDS: i64 = 60;
/// …and this many per phone per hour…
pub const CODES_PER_PHONE_HOUR: i64 = 5;
/// …and this many per IP address per hour (requests and verifications each).
pub const PER_IP_HOUR: i64 = 30;

/// How messages reach people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// Write to the `outbox` table only: the product works with no SMS contract; an
    /// administrator reads the outbox page.
    Outbox,
    /// Also POST `{"phone", "text", "id"}` as JSON to the city's SMS gateway.
    Webhook(String),
}

/// Is this a mainland mobile number (11 digits, starting with 1)?
pub fn valid_phone(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())
}

fn code_hash(phone: &str, code: &str) -> String {
    hex(&Sha256::digest(format!("{phone}:{code}").as_bytes()))
}

/// Counts one event against `key` in the current fixed window; `false` when the limit was
/// already reached (the event is then not counted). Atomic on both engines: the increment is
/// a conditional upsert on one row.
pub async fn hit(
    db: &Db,
    key: &str,
    window_secs: i64,
    limit: i64,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let now = crate::clock::db_time(now);
    let start = now.unix_timestamp() - now.unix_timestamp().rem_euclid(window_secs);
    let sql = "INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
        ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 \
        WHERE rate_counters.count < $3 RETURNING count";
    let rows: Vec<(i64,)> =
        db_run!(db, pool => sqlx::query_as(sql).bind(key).bind(start).bind(limit).fetch_all(pool).await)?;
    Ok(!rows.is_empty())
}

/// Puts a message in the outbox and, with a webhook sender, posts it. Returns the outbox id.
pub async fn send(
    db: &Db,
    sender: &Sender,
    phone: &str,
    text: &str,
    now: OffsetDateTime,
) -> Result<i64, DbError> {
    let now = crate::clock::db_time(now);
    let sql =
        "INSERT INTO outbox (channel, recipient, body, created_at) VALUES ('sms', $1, $2, $3) RETURNING id";
    let rows: Vec<(i64,)> =
        db_run!(db, pool => sqlx::query_as(sql).bind(phone).bind(text).bind(now).fetch_all(pool).await)?;
    let id = rows.first().map(|r| r.0).unwrap_or(0);
    tracing::info!(outbox.id = id, phone = %auth::mask(phone), "message queued in the outbox");
    if let Sender::Webhook(url) = sender {
        let body = serde_json::json!({ "id": id, "phone": phone, "text": text });
        let outcome = match reqwest::Client::new()
            .post(url)
            .timeout(std::time::Duration::from_secs(10))
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("gateway answered {}", r.status())),
            Err(e) => Err(e.to_string()),
        };
        let (delivered, error) = match outcome {
            Ok(()) => (Some(now), None),
            Err(e) => {
                tracing::warn!(outbox.id = id, error = %e, "SMS webhook failed");
                (None, Some(e))
            }
        };
        db_run!(db, pool => sqlx::query("UPDATE outbox SET delivered_at = $2, error = $3 WHERE id = $1")
            .bind(id).bind(delivered).bind(error).execute(pool).await.map(|_| ()))?;
    }
    Ok(id)
}

/// Why a code was or was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    Sent,
    InvalidPhone,
    /// A code was sent less than [`RESEND_SECONDS`] ago.
    TooSoon,
    /// The hourly limit of this phone or this address is used up.
    TooMany,
}

/// Sends a new code to `phone`.
pub async fn request_code(
    db: &Db,
    sender: &Sender,
    phone: &str,
    ip: &str,
    now: OffsetDateTime,
) -> Result<Requested, AuthError> {
    let now = crate::clock::db_time(now);
    let phone = phone.trim();
    if !valid_phone(phone) {
        return Ok(Requested::InvalidPhone);
    }
    if !hit(db, &format!("otp-ip:{ip}"), 3600, PER_IP_HOUR, now).await? {
        return Ok(Requested::TooMany);
    }
    if !hit(db, &format!("otp-resend:{phone}"), RESEND_SECONDS, 1, now).await? {
        return Ok(Requested::TooSoon);
    }
    if !hit(db, &format!("otp-phone:{phone}"), 3600, CODES_PER_PHONE_HOUR, now).await? {
        return Ok(Requested::TooMany);
    }
    let mut buf = [0u8; 4];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Crypto(e.to_string()))?;
    let code = format!("{:06}", u32::from_le_bytes(buf) % 1_000_000);
    let sql =
        "INSERT INTO otp_codes (phone, code_hash, ip, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    db_run!(db, pool => sqlx::query(sql).bind(phone).bind(code_hash(phone, &code)).bind(ip).bind(now).bind(now + CODE_TTL)
        .execute(pool).await.map(|_| ()))?;
    let text = format!(
        "【物业】您的登录验证码是 {code}，5 分钟内有效。如非本人操作请忽略。Your wuye sign-in code is {code} (valid 5 minutes)."
    );
    send(db, sender, phone, &text, now).await?;
    Ok(Requested::Sent)
}

/// The outcome of entering a code.
#[derive(Debug)]
pub enum Verified {
    /// Signed in: the session cookie value.
    Ok {
        token: String,
        actor: Box<Actor>,
    },
    Wrong,
    Expired,
    Reused,
    TooManyAttempts,
    NoCode,
    /// This address has tried too often this hour.
    Throttled,
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: i64,
    code_hash: String,
    attempts: i64,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
}

/// Checks a code and, when right, signs the owner in (creating their account on first use).
pub async fn verify_code(
    db: &Db,
    phone: &str,
    code: &str,
    ip: &str,
    now: OffsetDateTime,
) -> Result<Verified, AuthError> {
    let now = crate::clock::db_time(now);
    let phone = phone.trim();
    if !hit(db, &format!("otp-verify-ip:{ip}"), 3600, PER_IP_HOUR * 4, now).await? {
        return Ok(Verified::Throttled);
    }
    let row: Option<CodeRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, code_hash, attempts, expires_at, used_at FROM otp_codes WHERE phone = $1 ORDER BY id DESC LIMIT 1")
        .bind(phone).fetch_optional(pool).await)?;
    let Some(row) = row else {
        return Ok(Verified::NoCode);
    };
    if row.used_at.is_some() {
        return Ok(Verified::Reused);
    }
    if row.expires_at <= now {
        return Ok(Verified::Expired);
    }
    if row.attempts >= MAX_ATTEMPTS {
        return Ok(Verified::TooManyAttempts);
    }
    if row.code_hash != code_hash(phone, code.trim()) {
        db_run!(db, pool => sqlx::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1").bind(row.id).execute(pool).await.map(|_| ()))?;
        return Ok(if row.attempts + 1 >= MAX_ATTEMPTS {
            Verified::TooManyAttempts
        } else {
            Verified::Wrong
        });
    }
    // Claim the code: only one request can turn used_at from NULL to now.
    let claimed = db_run!(db, pool => sqlx::query("UPDATE otp_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND attempts < $3")
        .bind(row.id).bind(now).bind(MAX_ATTEMPTS).execute(pool).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Ok(Verified::Reused);
    }
    let user_id = owner_account(db, phone, now).await?;
    let token = auth::start_session(db, user_id, ip, now).await?;
    let actor = auth::session_actor(db, &token, ip, now)
        .await?
        .ok_or_else(|| AuthError::Invalid("no session / 会话无效".into()))?;
    auth::audit(
        db,
        &actor,
        "session.login_code",
        "user",
        &user_id.to_string(),
        None,
        None,
        now,
    )
    .await?;
    Ok(Verified::Ok {
        token,
        actor: Box::new(actor),
    })
}

/// The owner account of a phone number, created on first sign-in.
async fn owner_account(db: &Db, phone: &str, now: OffsetDateTime) -> Result<i64, AuthError> {
    let sql = "INSERT INTO users (login, display_name, role, phone, created_at) VALUES ($1, $2, $3, $1, $4) ON CONFLICT (login) DO NOTHING";
    db_run!(db, pool => sqlx::query(sql).bind(phone).bind(auth::mask(phone)).bind(Role::Owner.as_str()).bind(now).execute(pool).await.map(|_| ()))?;
    let row: (i64, String) = db_run!(db, pool => sqlx::query_as("SELECT id, role FROM users WHERE login = $1").bind(phone).fetch_one(pool).await)?;
    if row.1 != Role::Owner.as_str() {
        return Err(AuthError::Invalid("this number belongs to a staff account: sign in with its password / 该号码为工作人员账号，请用密码登录".into()));
    }
    Ok(row.0)
}

/// One message of the outbox.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub recipient: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    pub error: Option<String>,
}

pub async fn outbox(db: &Db, limit: i64) -> Result<Vec<OutboxMessage>, DbError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT id, recipient, body, created_at, delivered_at, error FROM outbox ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(pool).await)?)
}
