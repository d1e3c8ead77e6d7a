//! The JSON API under `/api/v1` (conventions in docs/api.md). Each handler is annotated for
//! the OpenAPI document, which is generated from these annotations and frozen by a snapshot.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wuye_model::{RegionCode, RegionLevel};

use super::AppState;
use super::error::{AppError, ErrorBody};
use super::extract::{J, Q, SignedIn};
use crate::auth::{self, Actor, AuditEntry};
use crate::io::import::{ImportRun, recent_runs};
use crate::io::{FileFormat, ImportReport, Kind, export_bytes, import_file, template};
use crate::registry::{
    self, CompanyFilter, CompoundDetail, CompoundFilter, CompoundPatch, CompoundSummary, Contract, Coverage,
    Listing, NewCompany, NewCompound, Page, Region, RegionChildStats, RegionFilter, Room, RoomFilter,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_regions))
        .routes(routes!(get_region))
        .routes(routes!(list_compounds, create_compound))
        .routes(routes!(get_compound, update_compound))
        .routes(routes!(compound_roster))
        .routes(routes!(list_rooms))
        .routes(routes!(list_companies, create_company))
        .routes(routes!(get_company))
        .routes(routes!(get_coverage))
        .routes(routes!(import, list_imports))
        .routes(routes!(export))
        .routes(routes!(get_template))
        .routes(routes!(me))
        .routes(routes!(audit_log))
        .routes(routes!(audit_export))
        .routes(routes!(list_users, create_user))
        .routes(routes!(list_orders, submit_order))
        .routes(routes!(get_order))
        .routes(routes!(order_action))
        .routes(routes!(order_figures))
        .routes(routes!(add_order_photo))
        .routes(routes!(get_order_photo))
        .routes(routes!(import_hotline))
        .routes(routes!(list_notifications))
        .routes(routes!(read_notifications))
        .routes(routes!(list_sla))
        .routes(routes!(set_sla))
        .routes(routes!(add_calendar))
        .routes(routes!(get_assessment_settings, set_assessment_settings))
        .routes(routes!(list_decisions, create_decision))
        .routes(routes!(get_decision))
        .routes(routes!(cast_ballot))
        .routes(routes!(decision_export))
        .routes(routes!(decision_audit))
        .routes(routes!(extend_decision))
        .routes(routes!(decision_document))
}

/// Parses a division code from a path or query value.
pub fn region_param(field: &str, value: &str) -> Result<RegionCode, AppError> {
    RegionCode::parse(value).map_err(|e| AppError::invalid(field, &e.to_string()))
}

fn kind_param(value: &str) -> Result<Kind, AppError> {
    Kind::parse(value).ok_or_else(|| {
        AppError::bad(
            "invalid_kind",
            format!("unknown kind {value:?}; expected one of regions, companies, compounds, buildings, rooms, owners, contracts"),
            format!("未知的数据类型 {value:?}"),
        )
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// csv (default) or xlsx
    pub format: Option<String>,
}

pub(super) fn format_param(p: &FormatParam) -> Result<FileFormat, AppError> {
    match p.format.as_deref().unwrap_or("csv") {
        "csv" => Ok(FileFormat::Csv),
        "xlsx" => Ok(FileFormat::Xlsx),
        other => Err(AppError::bad(
            "invalid_format",
            format!("unknown format {other:?}: use csv or xlsx"),
            "格式应为 csv 或 xlsx",
        )),
    }
}

/// List regions: the children of `parent`, or the top of the tree.
#[utoipa::path(get, path = "/api/v1/regions", tag = "registry", params(RegionFilter, Page),
    responses((status = 200, body = Listing<Region>), (status = 400, body = ErrorBody)))]
async fn list_regions(
    State(st): State<AppState>,
    Q(f): Q<RegionFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<Region>>, AppError> {
    let parent = f
        .parent
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|p| region_param("parent", p))
        .transpose()?;
    let level = match f.level.as_deref().filter(|s| !s.is_empty()) {
        Some(l) => Some(RegionLevel::parse(l).ok_or_else(|| {
            AppError::invalid("level", "expected province, city, district, street or community / 层级应为 province、city、district、street 或 community")
        })?),
        None => None,
    };
    Ok(axum::Json(
        registry::list_regions(&st.db, parent, level, f.q.as_deref(), &page).await?,
    ))
}

/// A region with its path from the top, its children's figures and coverage.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionDetail {
    pub region: Region,
    pub path: Vec<Region>,
    pub children: Vec<RegionChildStats>,
    pub coverage: Coverage,
}

/// One region, with the compounds and professional-management coverage below it.
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "registry",
    params(("code" = String, Path, description = "division code, 2–12 digits")),
    responses((status = 200, body = RegionDetail), (status = 404, body = ErrorBody)))]
async fn get_region(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<axum::Json<RegionDetail>, AppError> {
    let code = region_param("code", &code)?;
    let Some(region) = registry::get_region(&st.db, code).await? else {
        return Err(AppError::not_found(
            format!("region {code} not found"),
            format!("区划 {code} 不存在"),
        ));
    };
    Ok(axum::Json(RegionDetail {
        path: registry::region_path(&st.db, code).await?,
        children: registry::region_children_stats(&st.db, Some(code)).await?,
        coverage: registry::coverage(&st.db, Some(code)).await?,
        region,
    }))
}

/// List compounds, filtered by jurisdiction, mode, class, age, company or name.
#[utoipa::path(get, path = "/api/v1/compounds", tag = "registry", params(CompoundFilter, Page),
    responses((status = 200, body = Listing<CompoundSummary>), (status = 400, body = ErrorBody)))]
async fn list_compounds(
    State(st): State<AppState>,
    Q(f): Q<CompoundFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<CompoundSummary>>, AppError> {
    let q = f.check()?;
    Ok(axum::Json(registry::list_compounds(&st.db, &q, &page).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Register a compound.
#[utoipa::path(post, path = "/api/v1/compounds", tag = "registry", request_body = NewCompound,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_compound(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewCompound>,
) -> Result<(StatusCode, axum::Json<Created>), AppError> {
    let reach = actor.require_regulator()?;
    // A region outside the caller's reach is answered as if it did not exist.
    if let (Some(reach), Ok(code)) = (reach, RegionCode::parse(&new.region_code))
        && !reach.contains(code)
    {
        return Err(AppError::invalid(
            "region_code",
            &format!("unknown region {code} / 区划代码不存在"),
        ));
    }
    let now = st.clock.now();
    let id = registry::create_compound(&st.db, &new, now).await?;
    let after = serde_json::json!({ "code": new.code, "name": new.name, "region_code": new.region_code, "management_mode": new.management_mode });
    auth::audit(
        &st.db,
        &actor,
        "compound.create",
        "compound",
        &id.to_string(),
        None,
        Some(after),
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

/// Change a compound's own attributes (name, address, class, management mode, old-compound
/// flag, households). Regulators within whose jurisdiction it lies only; elsewhere 404.
#[utoipa::path(patch, path = "/api/v1/compounds/{id}", tag = "registry", params(("id" = i64, Path)), request_body = CompoundPatch,
    responses((status = 200, body = registry::Compound), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_compound(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(patch): J<CompoundPatch>,
) -> Result<axum::Json<registry::Compound>, AppError> {
    actor.require_regulator()?;
    if !registry::compound_in_scope(&st.db, id, &actor.scope).await? {
        return Err(AppError::not_found(
            format!("compound {id} not found"),
            format!("小区 {id} 不存在"),
        ));
    }
    let now = st.clock.now();
    let (before, after) = registry::update_compound(&st.db, id, &patch, now).await?;
    let (b, a) = (
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
    );
    auth::audit(
        &st.db,
        &actor,
        "compound.update",
        "compound",
        &id.to_string(),
        b,
        a,
        now,
    )
    .await?;
    Ok(axum::Json(after))
}

/// A compound with its buildings, contracts and counts.
#[utoipa::path(get, path = "/api/v1/compounds/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = CompoundDetail), (status = 404, body = ErrorBody)))]
async fn get_compound(
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<CompoundDetail>, AppError> {
    registry::get_compound(&st.db, id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| AppError::not_found(format!("compound {id} not found"), format!("小区 {id} 不存在")))
}

/// List rooms, filtered by their compound's attributes, a compound or a building.
/// `total` is given only within one compound or building.
#[utoipa::path(get, path = "/api/v1/rooms", tag = "registry", params(CompoundFilter, RoomFilter, Page),
    responses((status = 200, body = Listing<Room>), (status = 400, body = ErrorBody)))]
async fn list_rooms(
    State(st): State<AppState>,
    actor: Actor,
    Q(f): Q<CompoundFilter>,
    Q(rf): Q<RoomFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<Room>>, AppError> {
    actor.require_signed_in()?;
    let mut q = f.check()?;
    q.scope = Some(actor.scope.clone());
    Ok(axum::Json(registry::list_rooms(&st.db, &q, &rf, &page).await?))
}

/// List property companies.
#[utoipa::path(get, path = "/api/v1/companies", tag = "registry", params(CompanyFilter, Page),
    responses((status = 200, body = Listing<registry::Company>), (status = 400, body = ErrorBody)))]
async fn list_companies(
    State(st): State<AppState>,
    Q(f): Q<CompanyFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<registry::Company>>, AppError> {
    let region = f
        .region
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|r| region_param("region", r))
        .transpose()?;
    Ok(axum::Json(
        registry::list_companies(&st.db, f.q.as_deref(), region, &page).await?,
    ))
}

/// Register a property company; its credit code's check character is verified.
#[utoipa::path(post, path = "/api/v1/companies", tag = "registry", request_body = NewCompany,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_company(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewCompany>,
) -> Result<(StatusCode, axum::Json<Created>), AppError> {
    actor.require_admin(true)?;
    let now = st.clock.now();
    let id = registry::create_company(&st.db, &new, now).await?;
    let after = serde_json::json!({ "uscc": new.uscc, "name": new.name });
    auth::audit(
        &st.db,
        &actor,
        "company.create",
        "company",
        &id.to_string(),
        None,
        Some(after),
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyDetail {
    pub company: registry::Company,
    pub contracts: Vec<Contract>,
}

/// A company with its contracts.
#[utoipa::path(get, path = "/api/v1/companies/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = CompanyDetail), (status = 404, body = ErrorBody)))]
async fn get_company(
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<CompanyDetail>, AppError> {
    let Some(company) = registry::get_company(&st.db, id).await? else {
        return Err(AppError::not_found(
            format!("company {id} not found"),
            format!("企业 {id} 不存在"),
        ));
    };
    let contracts = registry::contracts_of_company(&st.db, id).await?;
    Ok(axum::Json(CompanyDetail { company, contracts }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageParams {
    /// Division code; the whole registry when absent.
    pub region: Option<String>,
}

/// Professional-management coverage: compounds by mode, and the share under market or
/// public-welfare management.
#[utoipa::path(get, path = "/api/v1/coverage", tag = "figures", params(CoverageParams),
    responses((status = 200, body = Coverage), (status = 400, body = ErrorBody)))]
async fn get_coverage(
    State(st): State<AppState>,
    Q(p): Q<CoverageParams>,
) -> Result<axum::Json<Coverage>, AppError> {
    let region = p
        .region
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|r| region_param("region", r))
        .transpose()?;
    Ok(axum::Json(registry::coverage(&st.db, region).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The file's name, shown in reports (default "upload").
    pub file_name: Option<String>,
}

/// Import a file (CSV or .xlsx, as the raw request body). All-or-nothing: 200 with the
/// report when applied, 422 with every row error when rejected.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "import",
    params(("kind" = String, Path, description = "regions | companies | compounds | buildings | rooms | owners | contracts"), ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody)))]
async fn import(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(kind): Path<String>,
    Q(p): Q<ImportParams>,
    body: Bytes,
) -> Result<axum::Json<ImportReport>, AppError> {
    let kind = kind_param(&kind)?;
    require_import(&actor, kind)?;
    let name = p.file_name.unwrap_or_else(|| "upload".to_owned());
    let report = import_file(
        &st.db,
        Some(&st.files),
        &actor,
        kind,
        &name,
        &body,
        st.clock.now(),
    )
    .await?;
    if report.applied() {
        Ok(axum::Json(report))
    } else {
        Err(AppError::ImportRejected(report.errors))
    }
}

/// Who may import what: the region list and the company register are the city's; the
/// rest district officers may import within their district.
pub fn require_import(actor: &Actor, kind: Kind) -> Result<(), AppError> {
    match kind {
        Kind::Regions | Kind::Companies => actor.require_admin(false)?,
        _ => actor.require_admin(true)?,
    };
    Ok(())
}

/// The most recent imports.
#[utoipa::path(get, path = "/api/v1/imports", tag = "import", responses((status = 200, body = Vec<ImportRun>)))]
async fn list_imports(
    State(st): State<AppState>,
    actor: Actor,
) -> Result<axum::Json<Vec<ImportRun>>, AppError> {
    actor.require_regulator()?;
    Ok(axum::Json(recent_runs(&st.db, 50).await?))
}

pub(super) fn download(bytes: Vec<u8>, format: FileFormat, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.ext());
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Export every row of a kind in the import layout.
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "import", params(("kind" = String, Path), FormatParam),
    responses((status = 200, description = "CSV or .xlsx file"), (status = 400, body = ErrorBody)))]
async fn export(
    State(st): State<AppState>,
    actor: Actor,
    Path(kind): Path<String>,
    Q(f): Q<FormatParam>,
) -> Result<Response, AppError> {
    let audience = crate::io::Audience::of(&actor)?;
    let kind = kind_param(&kind)?;
    let format = format_param(&f)?;
    let (bytes, _) = export_bytes(&st.db, kind, format, audience).await?;
    Ok(download(bytes, format, kind.as_str()))
}

/// An empty import template (header row; .xlsx adds a sheet explaining each column).
#[utoipa::path(get, path = "/api/v1/templates/{kind}", tag = "import", params(("kind" = String, Path), FormatParam),
    responses((status = 200, description = "CSV or .xlsx file"), (status = 400, body = ErrorBody)))]
async fn get_template(Path(kind): Path<String>, Q(f): Q<FormatParam>) -> Result<Response, AppError> {
    let kind = kind_param(&kind)?;
    let format = format_param(&f)?;
    Ok(download(
        template(kind, format)?,
        format,
        &format!("{}-template", kind.as_str()),
    ))
}

/// The signed-in caller: account, role and scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "access", responses((status = 200, body = Actor), (status = 401, body = ErrorBody)))]
async fn me(actor: Actor) -> Result<axum::Json<Actor>, AppError> {
    actor.require_signed_in()?;
    Ok(axum::Json(actor))
}

/// The audit log, newest first (city administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "access", params(Page),
    responses((status = 200, body = Vec<AuditEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit_log(
    State(st): State<AppState>,
    actor: Actor,
    Q(page): Q<Page>,
) -> Result<axum::Json<Vec<AuditEntry>>, AppError> {
    actor.require_admin(false)?;
    Ok(axum::Json(
        auth::audit_entries(&st.db, i64::from(page.size()), page.offset()).await?,
    ))
}

/// Staff accounts within the caller's administration (city administrators, district officers,
/// company administrators).
#[utoipa::path(get, path = "/api/v1/users", tag = "access",
    responses((status = 200, body = Vec<auth::UserSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(st): State<AppState>,
    actor: Actor,
) -> Result<axum::Json<Vec<auth::UserSummary>>, AppError> {
    let role = actor.require_signed_in()?;
    if !role.administers_users() {
        return Err(auth::Denied::Role.into());
    }
    Ok(axum::Json(auth::list_users(&st.db, &actor).await?))
}

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserBody {
    pub login: String,
    pub display_name: String,
    /// city_admin | district_officer | street_officer | community_officer | company_admin | company_staff | committee_member
    pub role: String,
    /// A division code, a company's credit code or a compound's code, by role.
    pub scope: String,
    pub password: String,
    #[serde(default)]
    pub phone: String,
}

/// Create a staff account inside the caller's administration.
#[utoipa::path(post, path = "/api/v1/users", tag = "access", request_body = NewUserBody,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_user(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(b): J<NewUserBody>,
) -> Result<(StatusCode, axum::Json<Created>), AppError> {
    if !actor.role.is_some_and(wuye_model::Role::administers_users) {
        return Err(auth::Denied::Role.into());
    }
    let role = wuye_model::Role::parse(&b.role).map_err(|e| AppError::invalid("role", &e.to_string()))?;
    let new = auth::NewUser {
        login: b.login,
        display_name: b.display_name,
        role,
        scope: b.scope,
        password: b.password,
        phone: b.phone,
    };
    let id = auth::create_user(&st.db, &new, &actor, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

/// The whole audit log as CSV (UTF-8 with BOM), newest first (city administrators).
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "access",
    responses((status = 200, description = "CSV file"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit_export(State(st): State<AppState>, actor: Actor) -> Result<Response, AppError> {
    actor.require_admin(false)?;
    let mut buf = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record([
            "id",
            "at",
            "actor",
            "ip",
            "action",
            "entity",
            "entity_id",
            "before",
            "after",
        ])
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut offset = 0;
        loop {
            let batch = auth::audit_entries(&st.db, 5000, offset).await?;
            for e in &batch {
                let at =
                    e.at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                w.write_record([
                    e.id.to_string(),
                    at,
                    auth::display_login(&e.actor),
                    e.ip.clone(),
                    e.action.clone(),
                    e.entity.clone(),
                    e.entity_id.clone(),
                    e.before.clone().unwrap_or_default(),
                    e.after.clone().unwrap_or_default(),
                ])
                .map_err(|e| AppError::Internal(e.to_string()))?;
            }
            if batch.len() < 5000 {
                break;
            }
            offset += 5000;
        }
        w.flush().map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(download(buf, FileFormat::Csv, "audit-log"))
}

/// Orders the caller may see: regulators their jurisdiction's, a company those it handles,
/// a committee its compound's, an owner their own.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(crate::orders::OrderFilter, Page),
    responses((status = 200, body = Listing<crate::orders::Order>), (status = 401, body = ErrorBody)))]
async fn list_orders(
    State(st): State<AppState>,
    actor: Actor,
    Q(f): Q<crate::orders::OrderFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<crate::orders::Order>>, AppError> {
    Ok(axum::Json(crate::orders::list(&st.db, &actor, &f, &page).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmittedOrder {
    pub id: i64,
    /// False when an earlier request with the same Idempotency-Key created it.
    pub created: bool,
}

/// File a work order. Send an `Idempotency-Key` header: a retry with the same key returns the
/// order the first attempt created instead of making a second.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = crate::orders::NewOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "a client-chosen key, unique per request")),
    responses((status = 201, body = SubmittedOrder), (status = 200, body = SubmittedOrder), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn submit_order(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    headers: axum::http::HeaderMap,
    J(new): J<crate::orders::NewOrder>,
) -> Result<(StatusCode, axum::Json<SubmittedOrder>), AppError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200);
    let (id, created) = crate::orders::submit_grouped(
        &st.db,
        &st.orders,
        &actor,
        &new,
        key,
        &*st.settings().await,
        st.clock.now(),
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(SubmittedOrder { id, created })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    pub order: crate::orders::Order,
    pub timeline: Vec<crate::orders::OrderEvent>,
}

/// One order with its timeline (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<axum::Json<OrderDetail>, AppError> {
    let (order, timeline) = crate::orders::get(&st.db, &actor, id).await?;
    Ok(axum::Json(OrderDetail { order, timeline }))
}

/// Take a step on an order (sign, dispatch, reply, review, rate, …). An illegal step is 409
/// with the reason in both languages.
#[utoipa::path(post, path = "/api/v1/orders/{id}/actions", tag = "orders", params(("id" = i64, Path)), request_body = crate::orders::ActionBody,
    responses((status = 200, body = crate::orders::Order), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn order_action(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(body): J<crate::orders::ActionBody>,
) -> Result<axum::Json<crate::orders::Order>, AppError> {
    let settings = st.settings().await;
    Ok(axum::Json(
        crate::orders::apply(&st.db, &actor, id, &body, &settings, st.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresParams {
    /// YYYY-MM (China time); the current month when absent.
    pub month: Option<String>,
    /// Division code; the caller's whole jurisdiction when absent.
    pub region: Option<String>,
}

/// Work-order figures of a jurisdiction for a month (definitions: docs/figures.md).
#[utoipa::path(get, path = "/api/v1/orders/figures", tag = "figures", params(FiguresParams),
    responses((status = 200, body = crate::orders::Figures), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn order_figures(
    State(st): State<AppState>,
    actor: Actor,
    Q(p): Q<FiguresParams>,
) -> Result<axum::Json<crate::orders::Figures>, AppError> {
    let (region, month) = figures_scope(&st, &actor, p.region.as_deref(), p.month.as_deref())?;
    Ok(axum::Json(
        crate::orders::figures(&st.db, region, month, st.clock.now()).await?,
    ))
}

/// The region and month of a figures request: regulators only, within their reach (a region
/// outside it answers 404).
pub fn figures_scope(
    st: &AppState,
    actor: &Actor,
    region: Option<&str>,
    month: Option<&str>,
) -> Result<(Option<RegionCode>, (i32, u8)), AppError> {
    let reach = actor.require_regulator()?;
    let region = match region.filter(|r| !r.is_empty()) {
        Some(r) => {
            let code = region_param("region", r)?;
            if reach.is_some_and(|reach| !reach.contains(code)) {
                return Err(AppError::not_found(
                    format!("region {code} not found"),
                    format!("区划 {code} 不存在"),
                ));
            }
            Some(code)
        }
        None => reach,
    };
    let month = match month.filter(|m| !m.is_empty()) {
        Some(m) => crate::orders::parse_month(m)
            .ok_or_else(|| AppError::invalid("month", "month must be YYYY-MM / 月份格式应为 YYYY-MM"))?,
        None => {
            let d = st.clock.now().to_offset(crate::clock::CST).date();
            (d.year(), u8::from(d.month()))
        }
    };
    Ok((region, month))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoAdded {
    /// 1-based position; the photo is at `/api/v1/orders/{id}/photos/{position}`.
    pub position: i64,
}

/// Add a photo (JPEG, PNG or WebP, at most 10 MB, judged by content; location metadata is
/// removed) to an order: the reporter, the handling side or a regulator. Nine at most.
#[utoipa::path(post, path = "/api/v1/orders/{id}/photos", tag = "orders", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = PhotoAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_order_photo(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<PhotoAdded>), AppError> {
    let position = crate::orders::add_photo(&st.db, &st.files, &actor, id, &body, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(PhotoAdded { position })))
}

/// A photo of an order the caller can see.
#[utoipa::path(get, path = "/api/v1/orders/{id}/photos/{position}", tag = "orders", params(("id" = i64, Path), ("position" = i64, Path)),
    responses((status = 200, description = "the image"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_order_photo(
    State(st): State<AppState>,
    actor: Actor,
    Path((id, position)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    actor.require_signed_in()?;
    let f = crate::orders::photo(&st.db, &st.files, &actor, id, position).await?;
    let mut resp = (StatusCode::OK, f.bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&f.content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(resp)
}

/// The owners' committee in office and the building and entrance heads of a compound
/// (phones masked). Signed in, within scope; elsewhere 404.
#[utoipa::path(get, path = "/api/v1/compounds/{id}/roster", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<registry::RosterEntry>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn compound_roster(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<registry::RosterEntry>>, AppError> {
    actor.require_signed_in()?;
    if !registry::compound_in_scope(&st.db, id, &actor.scope).await? {
        return Err(AppError::not_found(
            format!("compound {id} not found"),
            format!("小区 {id} 不存在"),
        ));
    }
    Ok(axum::Json(registry::roster(&st.db, id).await?))
}

/// Import 12345 hotline tickets as work orders (CSV or .xlsx as the raw body; layout in
/// docs/import.md). Regulators, for compounds in their jurisdiction. All rows are checked
/// first: 422 with every row error when any is bad; a ticket imported before is not filed again.
#[utoipa::path(post, path = "/api/v1/orders/import", tag = "orders", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = crate::io::hotline::HotlineReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_hotline(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(p): Q<ImportParams>,
    body: Bytes,
) -> Result<axum::Json<crate::io::hotline::HotlineReport>, AppError> {
    let name = p.file_name.unwrap_or_else(|| "upload".to_owned());
    let settings = st.settings().await;
    let report = crate::io::hotline::import(&st.db, &actor, &name, &body, &settings, st.clock.now()).await?;
    if report.status == "applied" {
        Ok(axum::Json(report))
    } else {
        Err(AppError::ImportRejected(report.errors))
    }
}

/// The caller's notifications, newest first: their own, and their authority's (an order
/// escalated to it).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "access", params(Page),
    responses((status = 200, body = Listing<crate::notify::Notification>), (status = 401, body = ErrorBody)))]
async fn list_notifications(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<crate::notify::Notification>>, AppError> {
    Ok(axum::Json(crate::notify::list(&st.db, &actor, &page).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// Mark all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "access",
    responses((status = 200, body = Marked), (status = 401, body = ErrorBody)))]
async fn read_notifications(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
) -> Result<axum::Json<Marked>, AppError> {
    let marked = crate::notify::mark_read(&st.db, &actor, st.clock.now()).await?;
    Ok(axum::Json(Marked { marked }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaRow {
    /// A category identifier, or "*" for the city default.
    pub category: String,
    pub policy: crate::settings::CategoryPolicy,
    /// True when an administrator set this row; false when it follows the defaults.
    pub overridden: bool,
}

/// The effective time limits of every category (working days) and the city default.
#[utoipa::path(get, path = "/api/v1/settings/sla", tag = "orders",
    responses((status = 200, body = Vec<SlaRow>), (status = 401, body = ErrorBody)))]
async fn list_sla(
    State(st): State<AppState>,
    SignedIn(_actor): SignedIn,
) -> Result<axum::Json<Vec<SlaRow>>, AppError> {
    let s = st.settings().await;
    Ok(axum::Json(sla_rows(&s)))
}

pub fn sla_rows(s: &crate::settings::Settings) -> Vec<SlaRow> {
    std::iter::once(crate::settings::CITY_DEFAULT)
        .chain(crate::orders::CATEGORIES.iter().map(|c| c.0))
        .map(|c| SlaRow {
            category: c.to_owned(),
            policy: s.policy(c),
            overridden: s.is_overridden(c),
        })
        .collect()
}

/// Set one category's time limits ("*": the city default). City administrators. Takes effect
/// on this instance at once and on every other within a minute.
#[utoipa::path(put, path = "/api/v1/settings/sla/{category}", tag = "orders", params(("category" = String, Path)),
    request_body = crate::settings::CategoryPolicy,
    responses((status = 200, body = Vec<SlaRow>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn set_sla(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(category): Path<String>,
    J(p): J<crate::settings::CategoryPolicy>,
) -> Result<axum::Json<Vec<SlaRow>>, AppError> {
    crate::settings::set_policy(&st.db, &actor, &category, &p, st.clock.now()).await?;
    st.settings.reload(&st.db).await?;
    Ok(axum::Json(sla_rows(&*st.settings().await)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarAdded {
    pub days: usize,
}

/// Add public holidays and make-up working days (lines `YYYY-MM-DD,off|work,name`, the
/// shipped file's format) when a new year's State Council notice comes out. City administrators.
#[utoipa::path(post, path = "/api/v1/settings/calendar", tag = "orders",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = CalendarAdded), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_calendar(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    body: Bytes,
) -> Result<axum::Json<CalendarAdded>, AppError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("calendar", "the file must be UTF-8 text / 文件须为 UTF-8 文本"))?;
    let days = crate::settings::add_calendar_days(&st.db, &actor, text, st.clock.now()).await?;
    st.settings.reload(&st.db).await?;
    Ok(axum::Json(CalendarAdded { days }))
}

/// The city's assessment and inspection settings: bottom places, their pool and minimum
/// tenure, the days before a period closes and the rating grace, and the working days of
/// rectification notices and their escalation. City administrators and district officers.
#[utoipa::path(get, path = "/api/v1/settings/assessment", tag = "assessment",
    responses((status = 200, body = crate::settings::AssessmentSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_assessment_settings(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
) -> Result<axum::Json<crate::settings::AssessmentSettings>, AppError> {
    actor.require_admin(true)?;
    Ok(axum::Json(st.settings().await.assessment))
}

/// Set the city's assessment and inspection settings, all at once (a value out of range
/// changes nothing). City administrators. Takes effect on this instance at once and on every
/// other within a minute; returns the new settings.
#[utoipa::path(put, path = "/api/v1/settings/assessment", tag = "assessment",
    request_body = crate::settings::AssessmentSettings,
    responses((status = 200, body = crate::settings::AssessmentSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn set_assessment_settings(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(a): J<crate::settings::AssessmentSettings>,
) -> Result<axum::Json<crate::settings::AssessmentSettings>, AppError> {
    crate::settings::set_assessment(&st.db, &actor, &a, st.clock.now()).await?;
    st.settings.reload(&st.db).await?;
    Ok(axum::Json(st.settings().await.assessment))
}

/// Decisions the caller may see: regulators their jurisdiction's, committees and companies
/// their compound's, owners their compounds'.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "decisions", params(crate::decisions::DecisionFilter, Page),
    responses((status = 200, body = Listing<crate::decisions::Decision>), (status = 401, body = ErrorBody)))]
async fn list_decisions(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(f): Q<crate::decisions::DecisionFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<crate::decisions::Decision>>, AppError> {
    Ok(axum::Json(
        crate::decisions::list(&st.db, &actor, &f, &page).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDecision {
    pub id: i64,
}

/// Give notice of a decision (the compound's committee, or its street or community).
/// Voting may open from the 16th day after the notice (R2.3); mixing ordinary and special
/// matters is refused (R1.9).
#[utoipa::path(post, path = "/api/v1/decisions", tag = "decisions", request_body = crate::decisions::NewDecision,
    responses((status = 201, body = CreatedDecision), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_decision(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<crate::decisions::NewDecision>,
) -> Result<(StatusCode, axum::Json<CreatedDecision>), AppError> {
    let id = crate::decisions::create(&st.db, &actor, &new, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedDecision { id })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionDetail {
    pub decision: crate::decisions::Decision,
    /// The text of each ballot column in order (proposals, then candidates and bidders).
    pub questions: Vec<String>,
    /// The ballot's columns with their kinds: a ballot answers each with yes / no / abstain
    /// (an election allows at most `seats` yes; a selection one).
    pub ballot: Vec<crate::decisions::BallotColumn>,
    /// The documents the notice carries.
    pub documents: Vec<crate::decisions::DecisionDocument>,
    /// Participation by area and headcount (no choices) once voting has opened.
    pub turnout: Option<crate::decisions::Turnout>,
    /// Only once voting has closed.
    pub result: Option<crate::decisions::DecisionResult>,
}

/// One decision: its notice, questions, turnout, and the result once voting has closed.
#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 200, body = DecisionDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_decision(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<DecisionDetail>, AppError> {
    let decision = crate::decisions::find(&st.db, &actor, id).await?;
    let ballot = crate::decisions::ballot(&st.db, id).await?;
    let questions = ballot.iter().map(|c| c.text.clone()).collect();
    let documents = crate::decisions::documents(&st.db, id).await?;
    let turnout = if decision.state == "notice" {
        None
    } else {
        Some(crate::decisions::turnout(&st.db, id).await?)
    };
    let result = crate::decisions::result(&decision);
    Ok(axum::Json(DecisionDetail {
        decision,
        questions,
        ballot,
        documents,
        turnout,
        result,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BallotBody {
    /// yes, no or abstain, one per ballot column in order. An election takes at most its
    /// seats' number of yes; a selection one yes (the other bidders count as no, and no yes at
    /// all as an abstention on each).
    pub answers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Receipts {
    /// One receipt per voting subject the owner holds a title in: the hash of the ballot event.
    pub receipts: Vec<String>,
}

/// Cast (or change) the caller's ballot: verified owners on the roll, while voting is open.
/// The last ballot counts.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/ballots", tag = "decisions", params(("id" = i64, Path)), request_body = BallotBody,
    responses((status = 200, body = Receipts), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cast_ballot(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(b): J<BallotBody>,
) -> Result<axum::Json<Receipts>, AppError> {
    let r = crate::decisions::cast(&st.db, &actor, id, &b.answers, st.clock.now()).await?;
    Ok(axum::Json(Receipts {
        receipts: r.into_iter().map(|(_, h)| h.to_string()).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Extension {
    /// The new last day of voting (China time), after the current one and within the city's
    /// extension limit past the first one.
    #[schema(value_type = String, format = Date)]
    pub voting_closes: time::Date,
}

/// Extend an open vote short of turnout (organisers); every owner is told. 409 beyond the
/// city's limit or when voting is not open.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/extend", tag = "decisions", params(("id" = i64, Path)), request_body = Extension,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn extend_decision(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(e): J<Extension>,
) -> Result<StatusCode, AppError> {
    let days = st.settings().await.decision_days;
    crate::decisions::extend(&st.db, &actor, id, e.voting_closes, &days, st.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A document of a decision's notice, for whoever may read the decision.
#[utoipa::path(get, path = "/api/v1/decisions/{id}/documents/{position}", tag = "decisions", params(("id" = i64, Path), ("position" = i64, Path)),
    responses((status = 200, description = "the document (PDF or image)"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn decision_document(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((id, position)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let missing = || AppError::not_found("no such document", "没有该文件");
    let (file_id, content_type) = crate::decisions::document(&st.db, &actor, id, position)
        .await?
        .ok_or_else(missing)?;
    let f = st
        .files
        .get(&file_id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .ok_or_else(missing)?;
    let mut resp = (StatusCode::OK, f.bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(resp)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentAudit {
    /// The export verifies and enrols exactly the frozen roll's subjects, one each with its area.
    pub matches: bool,
    pub subjects: usize,
}

/// The organisers' audit of a closed decision's enrolment against the registration table
/// (for a secret ballot, its eligibility proof): 409 with the first difference when it does
/// not match, or while voting is open; 403 for anyone but the organisers and regulators.
#[utoipa::path(get, path = "/api/v1/decisions/{id}/audit", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 200, body = EnrolmentAudit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decision_audit(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<EnrolmentAudit>, AppError> {
    let subjects = crate::decisions::audit_enrolment(&st.db, &actor, id).await?;
    Ok(axum::Json(EnrolmentAudit {
        matches: true,
        subjects,
    }))
}

/// The public ballot export of a closed decision (docs/ballot-export.md): check it with
/// `wuye verify`. Refused (409) while voting is open.
#[utoipa::path(get, path = "/api/v1/decisions/{id}/export", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decision_export(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let text = crate::decisions::export(&st.db, &actor, id).await?;
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"decision-{id}-ballots.txt\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
