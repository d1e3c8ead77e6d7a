//! The registry (PRODUCT.md capability 1): regions, compounds, buildings, entrances, rooms,
//! owners and their shares, companies, contracts, committees and volunteers.
//!
//! Row structs double as API bodies: integer columns keep their database form in Rust and get
//! their public text form from `serde_fmt` (codes as 12 digits, areas as "123.45").
//! Vocabulary columns hold the stable identifiers of `wuye_model`'s enums and are guarded by
//! CHECK constraints in the schema.
//!
//! **Architecture invariant:** a jurisdiction filter is an integer range on `region_code`
//! inside the SQL (`RegionCode::subtree`), never a filter applied after loading rows.

use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use wuye_model::{Area, CompoundClass, ManagementMode, RegionCode, RegionLevel, Uscc};

use crate::db::{Db, DbError, DbResult};
use crate::sql::{Param, Sql, like_pattern};
use crate::{bind_params, db_read, db_run};

/// A 1-based page of a list. `per_page` is clamped to 1..=200.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1-based page number (default 1).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<u32>)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 200).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<u32>)]
    pub per_page: Option<u32>,
}

impl Page {
    pub const DEFAULT_PER_PAGE: u32 = 50;
    pub const MAX_PER_PAGE: u32 = 200;

    pub fn new(page: u32, per_page: u32) -> Self {
        Self {
            page: Some(page),
            per_page: Some(per_page),
        }
    }
    pub fn number(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn size(&self) -> u32 {
        self.per_page
            .unwrap_or(Self::DEFAULT_PER_PAGE)
            .clamp(1, Self::MAX_PER_PAGE)
    }
    pub fn offset(&self) -> i64 {
        i64::from(self.number() - 1) * i64::from(self.size())
    }
    /// One more than the page holds, to learn whether another page follows.
    pub fn limit_plus_one(&self) -> i64 {
        i64::from(self.size()) + 1
    }
}

/// A page of results: `has_more` always, `total` where counting is cheap (docs/api.md).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl<T> Listing<T> {
    pub(crate) fn from_rows(mut rows: Vec<T>, page: &Page, total: Option<i64>) -> Self {
        let has_more = rows.len() > page.size() as usize;
        rows.truncate(page.size() as usize);
        Self {
            items: rows,
            page: page.number(),
            per_page: page.size(),
            has_more,
            total,
        }
    }
}

/// Today's date in China (contracts and terms are local dates).
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(crate::clock::CST).date()
}

// ---------------------------------------------------------------------------------------------
// Regions

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Region {
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String, example = "370705001001")]
    pub code: i64,
    pub name: String,
    /// province | city | district | street | community
    pub level: String,
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub parent_code: Option<i64>,
    pub urban_rural: Option<String>,
    pub dataset: String,
    pub retired: bool,
}

impl Region {
    pub fn level(&self) -> Option<RegionLevel> {
        RegionLevel::parse(&self.level)
    }
    pub fn region_code(&self) -> Option<RegionCode> {
        RegionCode::from_i64(self.code).ok()
    }
}

/// Filters for the region list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionFilter {
    /// Children of this code; without it, the top of the tree (regions with no parent).
    pub parent: Option<String>,
    /// province | city | district | street | community
    pub level: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
}

const REGION_COLS: &str = "code, name, level, parent_code, urban_rural, dataset, retired";

pub async fn get_region(db: &Db, code: RegionCode) -> DbResult<Option<Region>> {
    let sql = format!("SELECT {REGION_COLS} FROM regions WHERE code = $1");
    Ok(
        db_read!(db, pool => sqlx::query_as::<_, Region>(AssertSqlSafe(sql)).bind(code.as_i64()).fetch_optional(pool).await)?,
    )
}

pub async fn list_regions(
    db: &Db,
    parent: Option<RegionCode>,
    level: Option<RegionLevel>,
    q: Option<&str>,
    page: &Page,
) -> DbResult<Listing<Region>> {
    let mut where_ = Sql::new(" WHERE 1 = 1");
    match (parent, level, q) {
        (Some(p), _, _) => {
            where_.push(" AND parent_code = ").bind_i64(p.as_i64());
        }
        (None, None, None) => {
            where_.push(" AND parent_code IS NULL");
        }
        _ => {}
    }
    if let Some(l) = level {
        where_.push(" AND level = ").bind_text(l.as_str());
    }
    if let Some(q) = q.filter(|q| !q.trim().is_empty()) {
        where_
            .push(" AND name LIKE ")
            .bind_text(like_pattern(q.trim()))
            .push(" ESCAPE '\\'");
    }
    let mut sql = Sql::new(&format!("SELECT {REGION_COLS} FROM regions"));
    sql.push(&where_.text);
    sql.params = where_.params.clone();
    sql.push(" ORDER BY code").paginate(page);
    let count = format!("SELECT count(*) FROM regions{}", where_.text);
    let (rows, total) = db_read!(db, pool => {
        let rows = bind_params!(sqlx::query_as::<_, Region>(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await?;
        let (total,): (i64,) = bind_params!(sqlx::query_as(AssertSqlSafe(count)), where_.params).fetch_one(pool).await?;
        (rows, total)
    });
    Ok(Listing::from_rows(rows, page, Some(total)))
}

/// The chain from the top of the tree down to `code` (itself included).
pub async fn region_path(db: &Db, code: RegionCode) -> DbResult<Vec<Region>> {
    let mut chain = Vec::new();
    let mut next = Some(code);
    while let Some(c) = next {
        match get_region(db, c).await? {
            Some(r) => {
                next = r.parent_code.and_then(|p| RegionCode::from_i64(p).ok());
                chain.push(r);
            }
            None => break,
        }
        if chain.len() > 6 {
            break;
        }
    }
    chain.reverse();
    Ok(chain)
}

/// Per-child figures of a region: compounds in the child's subtree and how many of them
/// are professionally managed (`ManagementMode::is_professional`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionChildStats {
    pub region: Region,
    pub compounds: i64,
    pub professional: i64,
}

pub async fn region_children_stats(db: &Db, parent: Option<RegionCode>) -> DbResult<Vec<RegionChildStats>> {
    let children = list_regions(db, parent, None, None, &Page::new(1, Page::MAX_PER_PAGE))
        .await?
        .items;
    let mut out = Vec::with_capacity(children.len());
    // One grouped query over the parent's subtree; a child's code is the compound's code
    // truncated to the child's level.
    let Some(first) = children.first().and_then(Region::level) else {
        return Ok(Vec::new());
    };
    let div: i64 = 10i64.pow(12 - first.prefix_len());
    let (lo, hi) = match parent {
        Some(p) => (*p.subtree().start(), *p.subtree().end()),
        None => (0, 999_999_999_999),
    };
    let sql = "SELECT (region_code / $1) * $1 AS child, count(*) AS n, \
        CAST(coalesce(sum(CASE WHEN management_mode IN ('market', 'public_welfare') THEN 1 ELSE 0 END), 0) AS BIGINT) AS p \
        FROM compounds WHERE region_code BETWEEN $2 AND $3 GROUP BY (region_code / $1) * $1";
    let rows: Vec<(i64, i64, i64)> =
        db_read!(db, pool => sqlx::query_as(sql).bind(div).bind(lo).bind(hi).fetch_all(pool).await)?;
    let counts: std::collections::HashMap<i64, (i64, i64)> =
        rows.into_iter().map(|(c, n, p)| (c, (n, p))).collect();
    for r in children {
        let (compounds, professional) = counts.get(&r.code).copied().unwrap_or((0, 0));
        out.push(RegionChildStats {
            region: r,
            compounds,
            professional,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Companies

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Company {
    pub id: i64,
    /// Unified social credit code (GB 32100-2015).
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub contact_phone: String,
    pub address: String,
    #[serde(serialize_with = "crate::serde_fmt::opt_code")]
    #[schema(value_type = Option<String>)]
    pub region_code: Option<i64>,
    /// Compounds under a contract in force today.
    pub compounds: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewCompany {
    pub uscc: String,
    pub name: String,
    #[serde(default)]
    pub legal_representative: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub address: String,
    pub region_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyFilter {
    /// Part of the name or the credit code.
    pub q: Option<String>,
    /// Companies registered in this region's subtree.
    pub region: Option<String>,
}

const COMPANY_SELECT: &str = "SELECT co.id, co.uscc, co.name, co.legal_representative, co.contact_phone, co.address, co.region_code, \
    (SELECT count(DISTINCT ct.compound_id) FROM contracts ct WHERE ct.company_id = co.id AND ct.start_date <= $1 AND ct.end_date >= $1) AS compounds \
    FROM companies co";

pub async fn list_companies(
    db: &Db,
    q: Option<&str>,
    region: Option<RegionCode>,
    page: &Page,
) -> DbResult<Listing<Company>> {
    let mut sql = Sql::new(COMPANY_SELECT);
    sql.params.push(Param::Date(today()));
    let push_filters = |sql: &mut Sql| {
        if let Some(q) = q.filter(|q| !q.trim().is_empty()) {
            sql.push(" AND (co.name LIKE ")
                .bind_text(like_pattern(q.trim()))
                .push(" ESCAPE '\\' OR co.uscc = ")
                .bind_text(q.trim().to_ascii_uppercase())
                .push(")");
        }
        if let Some(r) = region {
            let range = r.subtree();
            sql.push(" AND co.region_code BETWEEN ")
                .bind_i64(*range.start())
                .push(" AND ")
                .bind_i64(*range.end());
        }
    };
    sql.push(" WHERE 1 = 1");
    push_filters(&mut sql);
    sql.push(" ORDER BY co.id").paginate(page);
    let mut count = Sql::new("SELECT count(*) FROM companies co WHERE 1 = 1");
    push_filters(&mut count);
    let (rows, total) = db_read!(db, pool => {
        let rows = bind_params!(sqlx::query_as::<_, Company>(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await?;
        let (t,): (i64,) = bind_params!(sqlx::query_as(AssertSqlSafe(count.text)), count.params).fetch_one(pool).await?;
        (rows, t)
    });
    Ok(Listing::from_rows(rows, page, Some(total)))
}

pub async fn get_company(db: &Db, id: i64) -> DbResult<Option<Company>> {
    let sql = format!("{COMPANY_SELECT} WHERE co.id = $2");
    Ok(
        db_read!(db, pool => sqlx::query_as::<_, Company>(AssertSqlSafe(sql)).bind(today()).bind(id).fetch_optional(pool).await)?,
    )
}

/// Creates a company after validating its credit code. Errors name the field.
pub async fn create_company(db: &Db, new: &NewCompany, now: OffsetDateTime) -> Result<i64, WriteError> {
    let now = crate::clock::db_time(now);
    let uscc = Uscc::parse(&new.uscc).map_err(|e| WriteError::invalid("uscc", e.to_string()))?;
    let name = new.name.trim();
    if name.is_empty() {
        return Err(WriteError::invalid("name", "name is required / 名称不能为空"));
    }
    let region = match new.region_code.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let code = RegionCode::parse(s).map_err(|e| WriteError::invalid("region_code", e.to_string()))?;
            if get_region(db, code).await?.is_none() {
                return Err(WriteError::invalid(
                    "region_code",
                    format!("unknown region {code} / 区划代码不存在"),
                ));
            }
            Some(code.as_i64())
        }
        None => None,
    };
    let sql = "INSERT INTO companies (uscc, name, legal_representative, contact_phone, address, region_code, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id";
    let res: Result<(i64,), sqlx::Error> = db_run!(db, pool => sqlx::query_as(sql)
        .bind(uscc.as_str()).bind(name).bind(new.legal_representative.trim()).bind(new.contact_phone.trim())
        .bind(new.address.trim()).bind(region).bind(now).fetch_all(pool).await
        .and_then(|mut v| v.pop().ok_or(sqlx::Error::RowNotFound)));
    match res {
        Ok((id,)) => Ok(id),
        Err(e) => {
            let e = DbError::from(e);
            if e.is_constraint() {
                Err(WriteError::Conflict(format!(
                    "a company with credit code {uscc} exists already / 该统一社会信用代码已登记"
                )))
            } else {
                Err(e.into())
            }
        }
    }
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl WriteError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

// ---------------------------------------------------------------------------------------------
// Compounds

/// A compound as listed: its own attributes plus the company under the contract in force.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CompoundSummary {
    pub id: i64,
    pub code: String,
    pub name: String,
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    pub community: String,
    pub address: String,
    /// basic | improved | upgraded | premium
    pub class: String,
    /// market | public_welfare | self_managed | community_custody | none
    pub management_mode: String,
    pub is_old: bool,
    pub households: Option<i64>,
    pub year_built: Option<i64>,
    pub company_id: Option<i64>,
    pub company_name: Option<String>,
}

/// Filters for compound and room lists.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompoundFilter {
    /// Division code (any level): the compounds in its subtree.
    pub region: Option<String>,
    /// management mode identifier
    pub mode: Option<String>,
    /// compound class identifier
    pub class: Option<String>,
    /// old compounds only (true) or new only (false)
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<bool>)]
    pub old: Option<bool>,
    /// managed today by this company id
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<i64>)]
    pub company: Option<i64>,
    /// part of the name or the exact code
    pub q: Option<String>,
}

/// A [`CompoundFilter`] whose values have been checked.
#[derive(Debug, Clone, Default)]
pub struct CompoundQuery {
    /// The caller's reach (`auth::Actor::scope`); `None` applies no restriction and
    /// is only for public information.
    pub scope: Option<crate::auth::Scope>,
    pub region: Option<RegionCode>,
    pub mode: Option<ManagementMode>,
    pub class: Option<CompoundClass>,
    pub old: Option<bool>,
    pub company: Option<i64>,
    pub q: Option<String>,
}

impl CompoundFilter {
    pub fn check(&self) -> Result<CompoundQuery, WriteError> {
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(CompoundQuery {
            scope: None,
            region: nonempty(&self.region)
                .map(|s| RegionCode::parse(&s))
                .transpose()
                .map_err(|e| WriteError::invalid("region", e.to_string()))?,
            mode: nonempty(&self.mode)
                .map(|s| ManagementMode::parse(&s))
                .transpose()
                .map_err(|e| WriteError::invalid("mode", e.to_string()))?,
            class: nonempty(&self.class)
                .map(|s| CompoundClass::parse(&s))
                .transpose()
                .map_err(|e| WriteError::invalid("class", e.to_string()))?,
            old: self.old,
            company: self.company,
            q: nonempty(&self.q),
        })
    }
}

impl CompoundQuery {
    /// Appends `AND …` predicates on the compound alias `c`.
    pub(crate) fn push_where(&self, sql: &mut Sql, today_param: Option<usize>) {
        self.push_scope(sql);
        self.push_filters(sql, today_param);
    }

    /// Appends the caller's scope as an `AND …` predicate on the compound alias `c`.
    pub fn push_scope(&self, sql: &mut Sql) {
        match &self.scope {
            None | Some(crate::auth::Scope::All) => {}
            Some(crate::auth::Scope::Public) => {
                sql.push(" AND 1 = 0");
            }
            Some(crate::auth::Scope::Region { code }) => {
                let range = code.subtree();
                sql.push(" AND c.region_code BETWEEN ")
                    .bind_i64(*range.start())
                    .push(" AND ")
                    .bind_i64(*range.end());
            }
            Some(crate::auth::Scope::Compound { compound_id }) => {
                sql.push(" AND c.id = ").bind_i64(*compound_id);
            }
            Some(crate::auth::Scope::Owner { user_id }) => {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM rooms orm JOIN room_owners oro ON oro.room_id = orm.id \
                     JOIN user_owners ouo ON ouo.owner_id = oro.owner_id WHERE orm.compound_id = c.id AND ouo.user_id = ",
                )
                .bind_i64(*user_id)
                .push(")");
            }
            Some(crate::auth::Scope::Company { company_id }) => {
                sql.params.push(Param::Date(today()));
                let d = format!("${}", sql.params.len());
                sql.push(&format!(" AND EXISTS (SELECT 1 FROM contracts sc WHERE sc.compound_id = c.id AND sc.start_date <= {d} AND sc.end_date >= {d} AND sc.company_id = "))
                    .bind_i64(*company_id)
                    .push(")");
            }
        }
    }

    fn push_filters(&self, sql: &mut Sql, today_param: Option<usize>) {
        if let Some(r) = self.region {
            let range = r.subtree();
            sql.push(" AND c.region_code BETWEEN ")
                .bind_i64(*range.start())
                .push(" AND ")
                .bind_i64(*range.end());
        }
        if let Some(m) = self.mode {
            sql.push(" AND c.management_mode = ").bind_text(m.as_str());
        }
        if let Some(k) = self.class {
            sql.push(" AND c.class = ").bind_text(k.as_str());
        }
        if let Some(o) = self.old {
            sql.push(" AND c.is_old = ").bind(Param::Bool(o));
        }
        if let Some(q) = &self.q {
            sql.push(" AND (c.name LIKE ")
                .bind_text(like_pattern(q))
                .push(" ESCAPE '\\' OR c.code = ")
                .bind_text(q.clone())
                .push(")");
        }
        if let Some(co) = self.company {
            let d = match today_param {
                Some(i) => format!("${i}"),
                None => {
                    sql.params.push(Param::Date(today()));
                    format!("${}", sql.params.len())
                }
            };
            sql.push(&format!(" AND EXISTS (SELECT 1 FROM contracts ct WHERE ct.compound_id = c.id AND ct.start_date <= {d} AND ct.end_date >= {d} AND ct.company_id = "))
                .bind_i64(co)
                .push(")");
        }
    }
}

/// The company of the contract in force on `$1` for compound alias `c`.
const CURRENT_COMPANY_JOIN: &str = " LEFT JOIN companies co ON co.id = (SELECT ct.company_id FROM contracts ct \
    WHERE ct.compound_id = c.id AND ct.start_date <= $1 AND ct.end_date >= $1 ORDER BY ct.start_date DESC, ct.id DESC LIMIT 1)";

/// Compounds matching `f`, one page. The page's ids are chosen first on the compound table
/// alone (a "deferred join"), so rows skipped by OFFSET never pay for the joins.
pub async fn list_compounds(db: &Db, f: &CompoundQuery, page: &Page) -> DbResult<Listing<CompoundSummary>> {
    let mut sql = Sql::new(
        "SELECT c.id, c.code, c.name, c.region_code, r.name AS community, c.address, c.class, c.management_mode, \
         c.is_old, c.households, c.year_built, co.id AS company_id, co.name AS company_name \
         FROM (SELECT c.id FROM compounds c WHERE 1 = 1",
    );
    sql.params.push(Param::Date(today()));
    f.push_where(&mut sql, Some(1));
    sql.push(" ORDER BY c.id").paginate(page);
    sql.push(") pg JOIN compounds c ON c.id = pg.id JOIN regions r ON r.code = c.region_code");
    sql.push(CURRENT_COMPANY_JOIN).push(" ORDER BY c.id");
    let mut count = Sql::new("SELECT count(*) FROM compounds c WHERE 1 = 1");
    f.push_where(&mut count, None);
    let (rows, total) = db_read!(db, pool => {
        let rows = bind_params!(sqlx::query_as::<_, CompoundSummary>(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await?;
        let (t,): (i64,) = bind_params!(sqlx::query_as(AssertSqlSafe(count.text)), count.params).fetch_one(pool).await?;
        (rows, t)
    });
    Ok(Listing::from_rows(rows, page, Some(total)))
}

/// Every attribute of a compound.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Compound {
    pub id: i64,
    pub code: String,
    pub name: String,
    #[serde(serialize_with = "crate::serde_fmt::code")]
    #[schema(value_type = String)]
    pub region_code: i64,
    pub address: String,
    #[serde(rename = "latitude", serialize_with = "crate::serde_fmt::opt_e6")]
    #[schema(value_type = Option<String>)]
    pub latitude_e6: Option<i64>,
    #[serde(rename = "longitude", serialize_with = "crate::serde_fmt::opt_e6")]
    #[schema(value_type = Option<String>)]
    pub longitude_e6: Option<i64>,
    pub year_built: Option<i64>,
    #[serde(serialize_with = "crate::serde_fmt::opt_area")]
    #[schema(value_type = Option<String>, example = "52000.00")]
    pub land_area: Option<i64>,
    #[serde(serialize_with = "crate::serde_fmt::opt_area")]
    #[schema(value_type = Option<String>)]
    pub floor_area: Option<i64>,
    pub households: Option<i64>,
    pub class: String,
    pub management_mode: String,
    pub is_old: bool,
    pub designations: String,
}

/// A building with its counts.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct BuildingSummary {
    pub id: i64,
    pub name: String,
    pub floors: Option<i64>,
    pub entrances: i64,
    pub rooms: i64,
    #[serde(serialize_with = "crate::serde_fmt::area")]
    #[schema(value_type = String)]
    pub exclusive_area: i64,
}

/// A contract with the names of both parties.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Contract {
    pub id: i64,
    pub company_id: i64,
    pub company_name: String,
    pub company_uscc: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub kind: String,
    pub fee_model: String,
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    #[schema(value_type = String, format = Date)]
    pub end_date: Date,
    /// 元 per m² per month.
    #[serde(serialize_with = "crate::serde_fmt::money")]
    #[schema(value_type = String, example = "1.85")]
    pub fee_standard: i64,
}

impl Contract {
    pub fn in_force(&self, on: Date) -> bool {
        self.start_date <= on && on <= self.end_date
    }
}

/// The compound page: attributes, its place in the region tree, buildings, contracts and
/// the counts a regulator looks at first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompoundDetail {
    pub compound: Compound,
    /// From the top of the tree down to the community.
    pub regions: Vec<Region>,
    pub buildings: Vec<BuildingSummary>,
    pub contracts: Vec<Contract>,
    pub rooms: i64,
    #[serde(serialize_with = "crate::serde_fmt::area")]
    #[schema(value_type = String)]
    pub exclusive_area: i64,
    pub owners: i64,
    pub committee_members: i64,
    pub volunteers: i64,
}

const CONTRACT_SELECT: &str = "SELECT ct.id, ct.company_id, co.name AS company_name, co.uscc AS company_uscc, ct.compound_id, \
    c.name AS compound_name, ct.kind, ct.fee_model, ct.start_date, ct.end_date, ct.fee_standard \
    FROM contracts ct JOIN companies co ON co.id = ct.company_id JOIN compounds c ON c.id = ct.compound_id";

pub async fn get_compound(db: &Db, id: i64) -> DbResult<Option<CompoundDetail>> {
    let compound: Option<Compound> = db_read!(db, pool => sqlx::query_as(
        "SELECT id, code, name, region_code, address, latitude_e6, longitude_e6, year_built, land_area, floor_area, \
         households, class, management_mode, is_old, designations FROM compounds WHERE id = $1")
        .bind(id).fetch_optional(pool).await)?;
    let Some(compound) = compound else { return Ok(None) };
    let regions = match RegionCode::from_i64(compound.region_code) {
        Ok(code) => region_path(db, code).await?,
        Err(_) => Vec::new(),
    };
    let contracts_sql =
        format!("{CONTRACT_SELECT} WHERE ct.compound_id = $1 ORDER BY ct.start_date DESC, ct.id DESC");
    let (buildings, contracts, totals, owners, members, volunteers) = db_read!(db, pool => {
        let buildings: Vec<BuildingSummary> = sqlx::query_as(
            "SELECT b.id, b.name, b.floors, \
             (SELECT count(*) FROM entrances e WHERE e.building_id = b.id) AS entrances, \
             count(rm.id) AS rooms, CAST(coalesce(sum(rm.exclusive_area), 0) AS BIGINT) AS exclusive_area \
             FROM buildings b LEFT JOIN rooms rm ON rm.building_id = b.id \
             WHERE b.compound_id = $1 GROUP BY b.id, b.name, b.floors ORDER BY b.id")
            .bind(id).fetch_all(pool).await?;
        let contracts: Vec<Contract> = sqlx::query_as(AssertSqlSafe(contracts_sql)).bind(id).fetch_all(pool).await?;
        let totals: (i64, i64) = sqlx::query_as(
            "SELECT count(*), CAST(coalesce(sum(exclusive_area), 0) AS BIGINT) FROM rooms WHERE compound_id = $1")
            .bind(id).fetch_one(pool).await?;
        let (owners,): (i64,) = sqlx::query_as(
            "SELECT count(DISTINCT ro.owner_id) FROM room_owners ro JOIN rooms rm ON rm.id = ro.room_id WHERE rm.compound_id = $1")
            .bind(id).fetch_one(pool).await?;
        let (members,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM committee_members m JOIN committees cm ON cm.id = m.committee_id \
             WHERE cm.compound_id = $1 AND cm.term_start <= $2 AND cm.term_end >= $2")
            .bind(id).bind(today()).fetch_one(pool).await?;
        let (volunteers,): (i64,) = sqlx::query_as("SELECT count(*) FROM volunteers WHERE compound_id = $1")
            .bind(id).fetch_one(pool).await?;
        (buildings, contracts, totals, owners, members, volunteers)
    });
    Ok(Some(CompoundDetail {
        compound,
        regions,
        buildings,
        contracts,
        rooms: totals.0,
        exclusive_area: totals.1,
        owners,
        committee_members: members,
        volunteers,
    }))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewCompound {
    pub code: String,
    pub name: String,
    /// A community's 12-digit division code.
    pub region_code: String,
    #[serde(default)]
    pub address: String,
    pub year_built: Option<i64>,
    pub households: Option<i64>,
    /// m², up to two decimals, as a string.
    pub floor_area: Option<String>,
    pub class: String,
    pub management_mode: String,
    #[serde(default)]
    pub is_old: bool,
}

pub async fn create_compound(db: &Db, new: &NewCompound, now: OffsetDateTime) -> Result<i64, WriteError> {
    let now = crate::clock::db_time(now);
    let code = new.code.trim();
    if code.is_empty() {
        return Err(WriteError::invalid("code", "code is required / 小区编码不能为空"));
    }
    let name = new.name.trim();
    if name.is_empty() {
        return Err(WriteError::invalid("name", "name is required / 小区名称不能为空"));
    }
    let region =
        RegionCode::parse(&new.region_code).map_err(|e| WriteError::invalid("region_code", e.to_string()))?;
    match get_region(db, region).await?.and_then(|r| r.level()) {
        Some(RegionLevel::Community) => {}
        Some(_) => {
            return Err(WriteError::invalid(
                "region_code",
                "a compound belongs to a community / 小区须隶属于社区",
            ));
        }
        None => {
            return Err(WriteError::invalid(
                "region_code",
                format!("unknown region {region} / 区划代码不存在"),
            ));
        }
    }
    let class = CompoundClass::parse(&new.class).map_err(|e| WriteError::invalid("class", e.to_string()))?;
    let mode = ManagementMode::parse(&new.management_mode)
        .map_err(|e| WriteError::invalid("management_mode", e.to_string()))?;
    let floor_area = new
        .floor_area
        .as_deref()
        .map(Area::parse)
        .transpose()
        .map_err(|e| WriteError::invalid("floor_area", e.to_string()))?;
    if new.households.is_some_and(|h| h < 0) {
        return Err(WriteError::invalid(
            "households",
            "must not be negative / 户数不能为负",
        ));
    }
    let sql = "INSERT INTO compounds (code, name, region_code, address, year_built, households, floor_area, class, management_mode, is_old, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id";
    let res: Result<Vec<(i64,)>, sqlx::Error> = db_run!(db, pool => sqlx::query_as(sql)
        .bind(code).bind(name).bind(region.as_i64()).bind(new.address.trim()).bind(new.year_built).bind(new.households)
        .bind(floor_area.map(Area::hundredths)).bind(class.as_str()).bind(mode.as_str()).bind(new.is_old).bind(now)
        .fetch_all(pool).await);
    match res {
        Ok(v) => v
            .first()
            .map(|r| r.0)
            .ok_or_else(|| WriteError::Db(DbError::Sqlx(sqlx::Error::RowNotFound))),
        Err(e) => {
            let e = DbError::from(e);
            if e.is_constraint() {
                Err(WriteError::Conflict(format!(
                    "compound code {code} exists already / 小区编码已存在"
                )))
            } else {
                Err(e.into())
            }
        }
    }
}

/// A change to a compound's own attributes; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CompoundPatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub class: Option<String>,
    pub management_mode: Option<String>,
    pub is_old: Option<bool>,
    pub households: Option<i64>,
}

/// The compound's id if `scope` reaches it (the registry's one answer to "may this caller
/// touch this compound?").
pub async fn compound_in_scope(db: &Db, id: i64, scope: &crate::auth::Scope) -> DbResult<bool> {
    let q = CompoundQuery {
        scope: Some(scope.clone()),
        ..Default::default()
    };
    let mut sql = Sql::new("SELECT count(*) FROM compounds c WHERE c.id = ");
    sql.bind_i64(id);
    q.push_where(&mut sql, None);
    let (n,): (i64,) = db_read!(db, pool => bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params).fetch_one(pool).await)?;
    Ok(n == 1)
}

/// Applies a patch; returns the compound before and after (for the audit log).
pub async fn update_compound(
    db: &Db,
    id: i64,
    p: &CompoundPatch,
    now: OffsetDateTime,
) -> Result<(Compound, Compound), WriteError> {
    let now = crate::clock::db_time(now);
    let before = get_compound(db, id)
        .await?
        .ok_or_else(|| WriteError::invalid("id", "no such compound / 小区不存在"))?
        .compound;
    let class = p
        .class
        .as_deref()
        .map(CompoundClass::parse)
        .transpose()
        .map_err(|e| WriteError::invalid("class", e.to_string()))?;
    let mode = p
        .management_mode
        .as_deref()
        .map(ManagementMode::parse)
        .transpose()
        .map_err(|e| WriteError::invalid("management_mode", e.to_string()))?;
    if p.households.is_some_and(|h| h < 0) {
        return Err(WriteError::invalid(
            "households",
            "must not be negative / 户数不能为负",
        ));
    }
    if p.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(WriteError::invalid("name", "name is required / 小区名称不能为空"));
    }
    let sql = "UPDATE compounds SET name = coalesce($2, name), address = coalesce($3, address), class = coalesce($4, class), \
        management_mode = coalesce($5, management_mode), is_old = coalesce($6, is_old), households = coalesce($7, households), \
        updated_at = $8 WHERE id = $1";
    db_run!(db, pool => sqlx::query(sql).bind(id).bind(p.name.as_deref().map(str::trim)).bind(p.address.as_deref().map(str::trim))
        .bind(class.map(CompoundClass::as_str)).bind(mode.map(ManagementMode::as_str)).bind(p.is_old).bind(p.households).bind(now)
        .execute(pool).await.map(|_| ()))?;
    let after = get_compound(db, id)
        .await?
        .ok_or_else(|| WriteError::invalid("id", "no such compound / 小区不存在"))?
        .compound;
    Ok((before, after))
}

pub async fn contracts_of_company(db: &Db, company_id: i64) -> DbResult<Vec<Contract>> {
    let sql =
        format!("{CONTRACT_SELECT} WHERE ct.company_id = $1 ORDER BY ct.end_date DESC, ct.id DESC LIMIT 500");
    Ok(db_read!(db, pool => sqlx::query_as(AssertSqlSafe(sql)).bind(company_id).fetch_all(pool).await)?)
}

// ---------------------------------------------------------------------------------------------
// Rooms

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Room {
    pub id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub building: String,
    pub entrance: String,
    pub number: String,
    pub floor: Option<i64>,
    /// residential | commercial | parking | other
    pub kind: String,
    #[serde(serialize_with = "crate::serde_fmt::area")]
    #[schema(value_type = String, example = "89.50")]
    pub exclusive_area: i64,
    #[serde(serialize_with = "crate::serde_fmt::opt_area")]
    #[schema(value_type = Option<String>)]
    pub floor_area: Option<i64>,
    /// Unsold or undelivered by the developer.
    pub developer_held: bool,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomFilter {
    /// Only rooms of this compound.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<i64>)]
    pub compound: Option<i64>,
    /// Only rooms of this building.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<i64>)]
    pub building: Option<i64>,
}

/// A query value where an empty string (an HTML form's unselected option) means absent.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("{v:?}: {e}"))),
    }
}

/// Rooms, filtered by their compound's attributes and optionally one compound or building.
/// Ordered by compound, then room, so the compound filter drives the scan.
pub async fn list_rooms(db: &Db, f: &CompoundQuery, rf: &RoomFilter, page: &Page) -> DbResult<Listing<Room>> {
    let mut where_ = Sql::new(" WHERE 1 = 1");
    f.push_where(&mut where_, None);
    if let Some(c) = rf.compound {
        where_.push(" AND rm.compound_id = ").bind_i64(c);
    }
    // An owner sees the rooms they own, not their neighbours'.
    if let Some(crate::auth::Scope::Owner { user_id }) = &f.scope {
        where_
            .push(" AND EXISTS (SELECT 1 FROM room_owners oro JOIN user_owners ouo ON ouo.owner_id = oro.owner_id WHERE oro.room_id = rm.id AND ouo.user_id = ")
            .bind_i64(*user_id)
            .push(")");
    }
    if let Some(b) = rf.building {
        where_.push(" AND rm.building_id = ").bind_i64(b);
    }
    let mut sql = Sql::new(
        "SELECT rm.id, rm.compound_id, c.name AS compound_name, b.name AS building, e.name AS entrance, rm.number, rm.floor, \
         rm.kind, rm.exclusive_area, rm.floor_area, rm.developer_held \
         FROM (SELECT rm.id FROM compounds c JOIN rooms rm ON rm.compound_id = c.id",
    );
    sql.push(&where_.text);
    sql.params = where_.params.clone();
    sql.push(" ORDER BY c.id, rm.id").paginate(page);
    sql.push(
        ") pg JOIN rooms rm ON rm.id = pg.id JOIN compounds c ON c.id = rm.compound_id \
         JOIN buildings b ON b.id = rm.building_id JOIN entrances e ON e.id = rm.entrance_id ORDER BY c.id, rm.id",
    );
    // Counting every room of a city would cost more than the page: only within a compound.
    let count = (rf.compound.is_some() || rf.building.is_some()).then(|| {
        format!(
            "SELECT count(*) FROM compounds c JOIN rooms rm ON rm.compound_id = c.id{}",
            where_.text
        )
    });
    let (rows, total) = db_read!(db, pool => {
        let rows = bind_params!(sqlx::query_as::<_, Room>(AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await?;
        let total = match count {
            Some(c) => {
                let (t,): (i64,) = bind_params!(sqlx::query_as(AssertSqlSafe(c)), where_.params).fetch_one(pool).await?;
                Some(t)
            }
            None => None,
        };
        (rows, total)
    });
    Ok(Listing::from_rows(rows, page, total))
}

/// Coverage figures over a region's subtree (or the whole registry).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coverage {
    pub compounds: i64,
    pub professional: i64,
    /// `professional / compounds` in percent with two decimals; `None` when there are none.
    pub coverage_percent: Option<String>,
    pub by_mode: Vec<(String, i64)>,
}

pub async fn coverage(db: &Db, region: Option<RegionCode>) -> DbResult<Coverage> {
    let (lo, hi) = region
        .map(|r| (*r.subtree().start(), *r.subtree().end()))
        .unwrap_or((0, 999_999_999_999));
    let rows: Vec<(String, i64)> = db_read!(db, pool => sqlx::query_as(
        "SELECT management_mode, count(*) FROM compounds WHERE region_code BETWEEN $1 AND $2 GROUP BY management_mode ORDER BY management_mode")
        .bind(lo).bind(hi).fetch_all(pool).await)?;
    let compounds: i64 = rows.iter().map(|r| r.1).sum();
    let professional: i64 = rows
        .iter()
        .filter(|(m, _)| ManagementMode::parse(m).is_ok_and(ManagementMode::is_professional))
        .map(|r| r.1)
        .sum();
    Ok(Coverage {
        compounds,
        professional,
        coverage_percent: wuye_model::percent(professional, compounds),
        by_mode: rows,
    })
}

/// A person on a compound's roster: a committee member or a volunteer head.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct RosterEntry {
    /// chair | vice_chair | member | alternate | building_head | entrance_head
    pub role: String,
    pub name: String,
    /// Masked (138****8000).
    pub phone: String,
    pub party_member: bool,
    pub veteran: bool,
    /// The building a building or entrance head looks after.
    pub building: Option<String>,
}

/// The committee in office and the volunteer heads of a compound, with the composition the
/// regulators report (party members, veterans). People's data: the caller's scope must reach
/// the compound (`compound_in_scope`).
pub async fn roster(db: &Db, id: i64) -> DbResult<Vec<RosterEntry>> {
    let mut rows: Vec<RosterEntry> = db_read!(db, pool => sqlx::query_as(
        "SELECT m.role, m.name, m.phone, m.party_member, m.veteran, CAST(NULL AS TEXT) AS building \
         FROM committee_members m JOIN committees cm ON cm.id = m.committee_id \
         WHERE cm.compound_id = $1 AND cm.term_start <= $2 AND cm.term_end >= $2 \
         UNION ALL \
         SELECT v.role, v.name, v.phone, v.party_member, v.veteran, b.name AS building \
         FROM volunteers v LEFT JOIN buildings b ON b.id = v.building_id WHERE v.compound_id = $1 \
         ORDER BY 1, 2")
        .bind(id).bind(today()).fetch_all(pool).await)?;
    for r in &mut rows {
        r.phone = crate::auth::mask(&r.phone);
    }
    Ok(rows)
}
