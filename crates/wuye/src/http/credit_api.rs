//! The credit ledger's JSON API under `/api/v1/credit` (docs/assessment.md §6, §8): schemes,
//! a company's ledger and standing, records, appeals and their decisions, the red and black
//! list. Writes check the caller's role before they read the body, so a caller who may not
//! act learns nothing from a malformed request.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wuye_model::RegionCode;
use wuye_model::assessment::credit::RedBlack;

use super::AppState;
use super::error::{AppError, ErrorBody, split};
use super::extract::{Q, SignedIn};
use crate::auth::Actor;
use crate::credit::{self, CreditError, EvidenceOf};
use crate::registry::{Listing, Page};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schemes, upload_scheme))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(company_ledger))
        .routes(routes!(export_ledger))
        .routes(routes!(issue_record))
        .routes(routes!(add_record_evidence))
        .routes(routes!(get_record_evidence))
        .routes(routes!(appeal_record))
        .routes(routes!(add_appeal_evidence))
        .routes(routes!(get_appeal_evidence))
        .routes(routes!(decide_appeal))
        .routes(routes!(list_candidates))
        .routes(routes!(public_list, add_list_entry))
        .routes(routes!(revoke_list_entry))
        .routes(routes!(add_list_evidence))
        .routes(routes!(get_list_evidence))
}

impl From<CreditError> for AppError {
    fn from(e: CreditError) -> Self {
        match e {
            CreditError::Denied(d) => d.into(),
            CreditError::Forbidden(msg) => {
                let (en, zh) = split(&msg);
                Self::Forbidden { en, zh }
            }
            CreditError::Invalid(field, msg) => Self::invalid(field, &msg),
            CreditError::Refused(msg) => {
                let (en, zh) = split(&msg);
                Self::Conflict { en, zh }
            }
            CreditError::Scheme(errors) => Self::ImportRejected(
                errors
                    .into_iter()
                    .map(|e| {
                        let (en, zh) = split(&e.message);
                        crate::io::RowError {
                            sheet: "credit scheme".into(),
                            row: u32::try_from(e.line).unwrap_or(u32::MAX),
                            column: e.column,
                            value: e.value,
                            reason_zh: zh,
                            reason_en: en,
                        }
                    })
                    .collect(),
            ),
            CreditError::Db(e) => e.into(),
            CreditError::Files(e) => Self::Internal(e.to_string()),
        }
    }
}

/// A JSON body, read after the caller's role was checked.
fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| {
        AppError::bad(
            "invalid_body",
            format!("invalid JSON body: {e}"),
            "请求体 JSON 无效",
        )
    })
}

/// Today's date in China by the server's clock.
fn today(st: &AppState) -> time::Date {
    crate::clock::china_date(st.clock.now())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnParam {
    /// The date (YYYY-MM-DD, China time) of the standing; default today.
    pub on: Option<String>,
}

/// The `on` date of a query, today by default.
pub fn on_param(st: &AppState, on: Option<&str>) -> Result<time::Date, AppError> {
    match on.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => crate::io::table::parse_date(s)
            .ok_or_else(|| AppError::invalid("on", "a date is YYYY-MM-DD / 日期格式应为 YYYY-MM-DD")),
        None => Ok(today(st)),
    }
}

fn file_response(bytes: Vec<u8>, content_type: &str) -> Response {
    let mut resp = (StatusCode::OK, bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    resp
}

async fn evidence_download(
    st: &AppState,
    actor: &Actor,
    of: EvidenceOf,
    id: i64,
    position: i64,
) -> Result<Response, AppError> {
    let missing = || AppError::not_found("no such evidence file", "没有该证据文件");
    let (file_id, content_type) = credit::evidence_file(&st.db, actor, of, id, position)
        .await?
        .ok_or_else(missing)?;
    let f = st
        .files
        .get(&file_id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .ok_or_else(missing)?;
    Ok(file_response(f.bytes, &content_type))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceAdded {
    /// 1-based position of the file in the evidence.
    pub position: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceParams {
    /// What the file is ("处罚决定书"); default: named by its position.
    pub name: Option<String>,
}

/// Every published credit scheme (grade bands, caps, item points), the shipped default
/// first. Public.
#[utoipa::path(get, path = "/api/v1/credit/schemes", tag = "credit",
    responses((status = 200, body = Vec<credit::PublishedScheme>)))]
async fn list_schemes(
    State(st): State<AppState>,
) -> Result<axum::Json<Vec<credit::PublishedScheme>>, AppError> {
    Ok(axum::Json(credit::schemes(&st.db).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SchemeParams {
    /// The city or district the scheme governs (a division code).
    pub region: Option<String>,
    /// From when it applies (YYYY-MM-DD); default today.
    pub effective_from: Option<String>,
    /// The uploaded file's name (for error reports).
    pub file_name: Option<String>,
}

/// Publish a new version of a region's credit scheme: the file (CSV in the columns of
/// docs/assessment.md §6, or .xlsx) as the raw body. City administrators for the city and its
/// districts, district officers for their own district. Every row error is reported (422) and
/// nothing is stored then.
#[utoipa::path(post, path = "/api/v1/credit/schemes", tag = "credit", params(SchemeParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = credit::SchemeRef), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_scheme(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(p): Q<SchemeParams>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<credit::SchemeRef>), AppError> {
    credit::require_issuer(&actor)?;
    let region = p
        .region
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| AppError::invalid("region", "name the city or district / 请填写适用的市或区县"))?;
    let region = RegionCode::parse(region.trim()).map_err(|e| AppError::invalid("region", &e.to_string()))?;
    let from = on_param(&st, p.effective_from.as_deref())
        .map_err(|_| AppError::invalid("effective_from", "a date is YYYY-MM-DD / 日期格式应为 YYYY-MM-DD"))?;
    let name = p.file_name.unwrap_or_else(|| "scheme.csv".to_owned());
    let s = credit::upload_scheme(
        &st.db,
        &st.files,
        &actor,
        region,
        from,
        &name,
        &body,
        st.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(s)))
}

/// The city's credit settings: the appeal period and the default duration of a list entry.
#[utoipa::path(get, path = "/api/v1/credit/settings", tag = "credit",
    responses((status = 200, body = credit::CreditSettings)))]
async fn get_settings(State(st): State<AppState>) -> Result<axum::Json<credit::CreditSettings>, AppError> {
    Ok(axum::Json(credit::settings(&st.db).await?))
}

/// Set the city's credit settings (appeal period 1–365 days, list entries 1–3650 days). City
/// administrators.
#[utoipa::path(put, path = "/api/v1/credit/settings", tag = "credit", request_body = credit::CreditSettings,
    responses((status = 200, body = credit::CreditSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_settings(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    body: Bytes,
) -> Result<axum::Json<credit::CreditSettings>, AppError> {
    actor.require_admin(false)?;
    let s: credit::CreditSettings = json(&body)?;
    credit::set_settings(&st.db, &actor, &s, st.clock.now()).await?;
    Ok(axum::Json(credit::settings(&st.db).await?))
}

/// A company's credit ledger (every record with its reason, evidence, issuer, validity and
/// appeal) and its score and grade on a date, derived from the ledger. Regulators over the
/// company and the company's own people; everyone else 404.
#[utoipa::path(get, path = "/api/v1/credit/companies/{id}", tag = "credit", params(("id" = i64, Path), OnParam),
    responses((status = 200, body = credit::Ledger), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn company_ledger(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    Q(p): Q<OnParam>,
) -> Result<axum::Json<credit::Ledger>, AppError> {
    let on = on_param(&st, p.on.as_deref())?;
    Ok(axum::Json(
        credit::ledger(&st.db, &actor, id, on, today(&st)).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LedgerExport {
    /// The standing's date (default today).
    pub on: Option<String>,
    /// csv (default; the records) or xlsx (the records and the standing, one sheet each)
    pub format: Option<String>,
}

/// A company's ledger as a spreadsheet (the same reach as the ledger).
#[utoipa::path(get, path = "/api/v1/credit/companies/{id}/export", tag = "credit", params(("id" = i64, Path), LedgerExport),
    responses((status = 200, description = "CSV or .xlsx file"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_ledger(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    Q(p): Q<LedgerExport>,
) -> Result<axum::response::Response, AppError> {
    let format = super::api::format_param(&super::api::FormatParam {
        format: p.format.clone(),
    })?;
    let on = on_param(&st, p.on.as_deref())?;
    let sheets = credit::ledger_sheets(&st.db, &actor, id, on, today(&st)).await?;
    let bytes = crate::io::write_sheets(format, &sheets).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(super::api::download(bytes, format, &format!("credit-{id}")))
}

/// Issue a credit record (a deduction, a good record or basic information) to a company:
/// city administrators and district officers over it. The item comes from the company's
/// scheme; the points default to the item's, the validity to one year. The company is told.
/// Evidence files are added with `POST /api/v1/credit/records/{id}/evidence`.
#[utoipa::path(post, path = "/api/v1/credit/records", tag = "credit", request_body = credit::NewRecord,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn issue_record(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Created>), AppError> {
    credit::require_issuer(&actor)?;
    let new: credit::NewRecord = json(&body)?;
    let id = credit::issue(&st.db, &st.files, &actor, &new, &[], st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

/// Add an evidence file (PDF, or a JPEG, PNG or WebP image; at most 20 MB, nine per record)
/// to a record: city administrators and district officers over the company.
#[utoipa::path(post, path = "/api/v1/credit/records/{id}/evidence", tag = "credit", params(("id" = i64, Path), EvidenceParams),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 201, body = EvidenceAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_record_evidence(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    Q(p): Q<EvidenceParams>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<EvidenceAdded>), AppError> {
    add_evidence(&st, &actor, EvidenceOf::Record, id, p, body).await
}

async fn add_evidence(
    st: &AppState,
    actor: &Actor,
    of: EvidenceOf,
    id: i64,
    p: EvidenceParams,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<EvidenceAdded>), AppError> {
    let upload = credit::Upload {
        name: p.name.unwrap_or_default(),
        bytes: body.to_vec(),
    };
    let position = credit::add_evidence(&st.db, &st.files, actor, of, id, &upload, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(EvidenceAdded { position })))
}

/// An evidence file of a record, for whoever reads the company's ledger.
#[utoipa::path(get, path = "/api/v1/credit/records/{id}/evidence/{position}", tag = "credit", params(("id" = i64, Path), ("position" = i64, Path)),
    responses((status = 200, description = "the file (PDF or image)"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_record_evidence(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((id, position)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    evidence_download(&st, &actor, EvidenceOf::Record, id, position).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AppealBody {
    pub grounds: String,
}

/// Appeal one of the company's bad records (its administrator), within the city's appeal
/// period after the record's issue, once per record. A pending appeal does not suspend the
/// record. Evidence files are added with `POST /api/v1/credit/appeals/{id}/evidence`.
#[utoipa::path(post, path = "/api/v1/credit/records/{id}/appeal", tag = "credit", params(("id" = i64, Path)), request_body = AppealBody,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn appeal_record(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Created>), AppError> {
    credit::require_company_admin(&actor)?;
    credit::record(&st.db, &actor, id).await?;
    let b: AppealBody = json(&body)?;
    let appeal = credit::appeal(&st.db, &st.files, &actor, id, &b.grounds, &[], st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id: appeal })))
}

/// Add an evidence file to a pending appeal (the company's administrator).
#[utoipa::path(post, path = "/api/v1/credit/appeals/{id}/evidence", tag = "credit", params(("id" = i64, Path), EvidenceParams),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 201, body = EvidenceAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_appeal_evidence(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    Q(p): Q<EvidenceParams>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<EvidenceAdded>), AppError> {
    add_evidence(&st, &actor, EvidenceOf::Appeal, id, p, body).await
}

/// An evidence file of an appeal, for whoever reads the company's ledger.
#[utoipa::path(get, path = "/api/v1/credit/appeals/{id}/evidence/{position}", tag = "credit", params(("id" = i64, Path), ("position" = i64, Path)),
    responses((status = 200, description = "the file (PDF or image)"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_appeal_evidence(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((id, position)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    evidence_download(&st, &actor, EvidenceOf::Appeal, id, position).await
}

/// Decide a pending appeal: a city administrator or district officer of the issuing region or
/// above, never the record's issuer (403). `upheld`: the record no longer counts from today;
/// `partly_upheld` with `points`: a linked replacement with fewer points counts instead until
/// the record's end of validity; `rejected`: the record stands. The company is told.
#[utoipa::path(post, path = "/api/v1/credit/appeals/{id}/decide", tag = "credit", params(("id" = i64, Path)), request_body = credit::AppealDecision,
    responses((status = 200, body = credit::Decided), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decide_appeal(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<axum::Json<credit::Decided>, AppError> {
    credit::require_issuer(&actor)?;
    credit::appeal_by_id(&st.db, &actor, id).await?;
    let d: credit::AppealDecision = json(&body)?;
    Ok(axum::Json(
        credit::decide(&st.db, &actor, id, &d, st.clock.now()).await?,
    ))
}

/// Red and black list candidates among the companies of the caller's jurisdiction, from their
/// standing on a date (R5.6: red = the top grade with no active bad record; black = an active
/// veto record, or the lowest grade or not enrolled with an active serious record), and the
/// entries in force whose basis no longer holds. Regulators.
#[utoipa::path(get, path = "/api/v1/credit/candidates", tag = "credit", params(OnParam),
    responses((status = 200, body = credit::Candidates), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_candidates(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(p): Q<OnParam>,
) -> Result<axum::Json<credit::Candidates>, AppError> {
    actor.require_regulator()?;
    let on = on_param(&st, p.on.as_deref())?;
    Ok(axum::Json(credit::candidates(&st.db, &actor, on).await?))
}

/// The red and black list in force today: published, not revoked, not expired; reasons, bases
/// and dates, no evidence. Public.
#[utoipa::path(get, path = "/api/v1/credit/list", tag = "credit", params(credit::ListFilter, Page),
    responses((status = 200, body = Listing<credit::PublicEntry>), (status = 400, body = ErrorBody)))]
async fn public_list(
    State(st): State<AppState>,
    Q(f): Q<credit::ListFilter>,
    Q(page): Q<Page>,
) -> Result<axum::Json<Listing<credit::PublicEntry>>, AppError> {
    let list = f
        .list
        .as_deref()
        .map(|l| RedBlack::parse(l.trim()).map_err(|e| AppError::invalid("list", &e.to_string())))
        .transpose()?;
    let region = f
        .region
        .as_deref()
        .map(|r| RegionCode::parse(r.trim()).map_err(|e| AppError::invalid("region", &e.to_string())))
        .transpose()?;
    Ok(axum::Json(
        credit::public_list(&st.db, list, region, today(&st), &page).await?,
    ))
}

/// Put a company on the red or black list (confirming a candidate, or directly with a basis):
/// city administrators and district officers over it. `ends_on` defaults to `starts_on` plus
/// the city's list duration. Refused (409) while an entry of the company overlaps it. Evidence
/// files are added with `POST /api/v1/credit/list/{id}/evidence`.
#[utoipa::path(post, path = "/api/v1/credit/list", tag = "credit", request_body = credit::NewListEntry,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_list_entry(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Created>), AppError> {
    credit::require_issuer(&actor)?;
    let new: credit::NewListEntry = json(&body)?;
    let id = credit::add_to_list(&st.db, &st.files, &actor, &new, &[], st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeBody {
    pub reason: String,
}

/// Revoke a list entry with a reason (never deleted): the publishing authority or above.
#[utoipa::path(post, path = "/api/v1/credit/list/{id}/revoke", tag = "credit", params(("id" = i64, Path)), request_body = RevokeBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn revoke_list_entry(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    credit::require_issuer(&actor)?;
    credit::list_entry(&st.db, &actor, id, today(&st)).await?;
    let b: RevokeBody = json(&body)?;
    credit::revoke(&st.db, &actor, id, &b.reason, st.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add an evidence file to a list entry: city administrators and district officers over the
/// company.
#[utoipa::path(post, path = "/api/v1/credit/list/{id}/evidence", tag = "credit", params(("id" = i64, Path), EvidenceParams),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 201, body = EvidenceAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_list_evidence(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    Q(p): Q<EvidenceParams>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<EvidenceAdded>), AppError> {
    add_evidence(&st, &actor, EvidenceOf::ListEntry, id, p, body).await
}

/// An evidence file of a list entry, for whoever reads the company's ledger (the public list
/// shows none).
#[utoipa::path(get, path = "/api/v1/credit/list/{id}/evidence/{position}", tag = "credit", params(("id" = i64, Path), ("position" = i64, Path)),
    responses((status = 200, description = "the file (PDF or image)"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_list_evidence(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((id, position)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    evidence_download(&st, &actor, EvidenceOf::ListEntry, id, position).await
}
