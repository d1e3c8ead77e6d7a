//! Ownership verification: an owner claims a room (optionally with a photo of the title
//! document); a committee member of the compound or the company managing it confirms — linking
//! the sign-in to the registry's owner record — or rejects with a reason.
//!
//! Only a verified sign-in may vote or rate; the electorate still counts every registered
//! owner (DOMAIN.md §1.3).

use serde::Serialize;
use time::OffsetDateTime;
use wuye_model::Role;

use crate::auth::{self, Actor, Denied, Scope};
use crate::db::{Db, DbError};
use crate::registry::{CompoundQuery, compound_in_scope};
use crate::{db_read, db_run};

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ClaimError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// A claim as listed to its owner or to a verifier.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Claim {
    pub id: i64,
    pub user_id: i64,
    pub claimant: String,
    pub room_id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub building: String,
    pub entrance: String,
    pub number: String,
    pub status: String,
    pub reason: String,
    pub document_file_id: Option<String>,
}

const CLAIM_SELECT: &str = "SELECT cl.id, cl.user_id, u.login AS claimant, cl.room_id, c.id AS compound_id, c.name AS compound_name, \
    b.name AS building, e.name AS entrance, rm.number, cl.status, cl.reason, cl.document_file_id \
    FROM ownership_claims cl JOIN users u ON u.id = cl.user_id JOIN rooms rm ON rm.id = cl.room_id \
    JOIN compounds c ON c.id = rm.compound_id JOIN buildings b ON b.id = rm.building_id JOIN entrances e ON e.id = rm.entrance_id";

/// An owner claims a room of a compound by building, entrance and number.
/// A room named as an owner knows it.
#[derive(Debug, Clone)]
pub struct RoomRef<'a> {
    pub compound_id: i64,
    pub building: &'a str,
    pub entrance: &'a str,
    pub number: &'a str,
}

pub async fn claim(
    db: &Db,
    actor: &Actor,
    room: RoomRef<'_>,
    document: Option<String>,
    now: OffsetDateTime,
) -> Result<i64, ClaimError> {
    let now = crate::clock::db_time(now);
    let RoomRef {
        compound_id,
        building,
        entrance,
        number,
    } = room;
    let (Some(Role::Owner), Scope::Owner { user_id }) = (actor.role, &actor.scope) else {
        return Err(Denied::Role.into());
    };
    let room: Option<(i64,)> = db_read!(db, pool => sqlx::query_as(
        "SELECT rm.id FROM rooms rm JOIN buildings b ON b.id = rm.building_id JOIN entrances e ON e.id = rm.entrance_id \
         WHERE rm.compound_id = $1 AND b.name = $2 AND e.name = $3 AND rm.number = $4")
        .bind(compound_id).bind(building.trim()).bind(entrance.trim()).bind(number.trim()).fetch_optional(pool).await)?;
    let Some((room_id,)) = room else {
        return Err(ClaimError::Invalid("no such room in this compound; check the building, entrance and number / 该小区没有此房屋，请核对楼栋、单元和房号".into()));
    };
    let open: (i64,) = db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM ownership_claims WHERE user_id = $1 AND room_id = $2 AND status IN ('pending', 'confirmed')")
        .bind(user_id).bind(room_id).fetch_one(pool).await)?;
    if open.0 > 0 {
        return Err(ClaimError::Invalid(
            "you have claimed this room already / 您已认领过此房屋".into(),
        ));
    }
    let sql = "INSERT INTO ownership_claims (user_id, room_id, document_file_id, status, created_at) VALUES ($1, $2, $3, 'pending', $4) RETURNING id";
    let rows: Vec<(i64,)> = db_run!(db, pool => sqlx::query_as(sql).bind(user_id).bind(room_id).bind(document).bind(now).fetch_all(pool).await)?;
    let id = rows.first().map(|r| r.0).unwrap_or(0);
    auth::audit(
        db,
        actor,
        "claim.create",
        "ownership_claim",
        &id.to_string(),
        None,
        Some(serde_json::json!({ "room_id": room_id })),
        now,
    )
    .await?;
    Ok(id)
}

/// The claims of the signed-in owner.
pub async fn my_claims(db: &Db, actor: &Actor) -> Result<Vec<Claim>, ClaimError> {
    let Scope::Owner { user_id } = actor.scope else {
        return Ok(Vec::new());
    };
    let sql = format!("{CLAIM_SELECT} WHERE cl.user_id = $1 ORDER BY cl.id DESC");
    Ok(db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(pool).await)?)
}

/// Who may decide claims: the compound's committee and the company managing it.
fn require_verifier(actor: &Actor) -> Result<(), Denied> {
    match actor.require_signed_in()? {
        Role::CommitteeMember | Role::CompanyAdmin | Role::CompanyStaff => Ok(()),
        _ => Err(Denied::Role),
    }
}

/// Pending claims in the verifier's compounds.
pub async fn pending(db: &Db, actor: &Actor) -> Result<Vec<Claim>, ClaimError> {
    require_verifier(actor)?;
    let q = CompoundQuery {
        scope: Some(actor.scope.clone()),
        ..Default::default()
    };
    let mut sql = crate::sql::Sql::new(&format!("{CLAIM_SELECT} WHERE cl.status = 'pending'"));
    q.push_scope(&mut sql);
    sql.push(" ORDER BY cl.id");
    Ok(
        db_read!(db, pool => crate::bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?,
    )
}

/// The registry owners of a claim's room (for the verifier to pick who the claimant is).
pub async fn room_owners(db: &Db, room_id: i64) -> Result<Vec<(i64, String, String)>, DbError> {
    Ok(db_read!(db, pool => sqlx::query_as(
        "SELECT o.id, o.name, o.phone FROM room_owners ro JOIN owners o ON o.id = ro.owner_id WHERE ro.room_id = $1 ORDER BY o.id")
        .bind(room_id).fetch_all(pool).await)?)
}

pub enum Decision {
    /// The claimant is this registry owner of the room.
    Confirm {
        owner_id: i64,
    },
    Reject {
        reason: String,
    },
}

/// Confirms or rejects a pending claim in the verifier's scope (404 outside it).
pub async fn decide(
    db: &Db,
    actor: &Actor,
    claim_id: i64,
    decision: Decision,
    now: OffsetDateTime,
) -> Result<(), ClaimError> {
    let now = crate::clock::db_time(now);
    require_verifier(actor)?;
    let sql = format!("{CLAIM_SELECT} WHERE cl.id = $1");
    let claim: Option<Claim> = db_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(claim_id).fetch_optional(pool).await)?;
    let Some(claim) = claim else {
        return Err(Denied::Hidden.into());
    };
    if !compound_in_scope(db, claim.compound_id, &actor.scope).await? {
        return Err(Denied::Hidden.into());
    }
    if claim.status != "pending" {
        return Err(ClaimError::Invalid(
            "this claim has been decided already / 该认领已处理".into(),
        ));
    }
    let (status, reason, owner) = match decision {
        Decision::Confirm { owner_id } => {
            let owners = room_owners(db, claim.room_id).await?;
            if !owners.iter().any(|o| o.0 == owner_id) {
                return Err(ClaimError::Invalid(
                    "that person is not an owner of this room / 此人不是该房屋的登记业主".into(),
                ));
            }
            ("confirmed", String::new(), Some(owner_id))
        }
        Decision::Reject { reason } => {
            if reason.trim().is_empty() {
                return Err(ClaimError::Invalid(
                    "give a reason for the rejection / 请填写驳回理由".into(),
                ));
            }
            ("rejected", reason.trim().to_owned(), None)
        }
    };
    db_run!(db, pool => {
        let mut tx = pool.begin().await?;
        let n = sqlx::query("UPDATE ownership_claims SET status = $2, reason = $3, decided_by = $4, decided_at = $5 WHERE id = $1 AND status = 'pending'")
            .bind(claim_id).bind(status).bind(&reason).bind(actor.user_id).bind(now).execute(&mut *tx).await?.rows_affected();
        if n == 1 && let Some(owner_id) = owner {
            sqlx::query("INSERT INTO user_owners (user_id, owner_id, verified_by, verified_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, owner_id) DO NOTHING")
                .bind(claim.user_id).bind(owner_id).bind(actor.user_id).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await
    })?;
    auth::audit(
        db,
        actor,
        &format!("claim.{status}"),
        "ownership_claim",
        &claim_id.to_string(),
        None,
        Some(serde_json::json!({ "room_id": claim.room_id, "owner_id": owner, "reason": reason })),
        now,
    )
    .await?;
    Ok(())
}

/// True when the account is a verified owner (of any room): the gate for ballots and ratings.
pub async fn is_verified_owner(db: &Db, user_id: i64) -> Result<bool, DbError> {
    let (n,): (i64,) = db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM user_owners WHERE user_id = $1").bind(user_id).fetch_one(pool).await)?;
    Ok(n > 0)
}
