//! The inspections API (docs/assessment.md §7, §8): campaigns, inspections and their findings
//! with photos, rectification notices and their steps, and the inspection figures.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::assessment_api::parse_region;
use super::error::{AppError, ErrorBody, split};
use super::extract::{J, Q, SignedIn};
use crate::inspections::{
    self, Campaign, Figures, Finding, Inspection, InspectionDetail, InspectionError, InspectionFilter,
    NewCampaign, NewFinding, NewInspection, NewRectification, NoticeStep, Rectification, RectificationDetail,
    RectificationFilter,
};

impl From<InspectionError> for AppError {
    fn from(e: InspectionError) -> Self {
        match e {
            InspectionError::Denied(d) => d.into(),
            InspectionError::Forbidden(msg) => {
                let (en, zh) = split(&msg);
                Self::Forbidden { en, zh }
            }
            InspectionError::Invalid(field, msg) => Self::invalid(field, &msg),
            InspectionError::Refused(msg) => {
                let (en, zh) = split(&msg);
                Self::Conflict { en, zh }
            }
            InspectionError::Db(e) => e.into(),
            InspectionError::Files(e) => Self::Internal(e.to_string()),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(list_inspections, create_inspection))
        .routes(routes!(inspection_figures))
        .routes(routes!(get_inspection))
        .routes(routes!(add_finding))
        .routes(routes!(submit_inspection))
        .routes(routes!(withdraw_finding))
        .routes(routes!(add_photo))
        .routes(routes!(get_photo))
        .routes(routes!(list_rectifications, issue_rectification))
        .routes(routes!(get_rectification))
        .routes(routes!(act_rectification))
}

/// The campaigns over, in or under the caller's region (regulators).
#[utoipa::path(get, path = "/api/v1/inspection-campaigns", tag = "inspections",
    responses((status = 200, body = Vec<Campaign>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_campaigns(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
) -> Result<axum::Json<Vec<Campaign>>, AppError> {
    Ok(axum::Json(inspections::campaigns(&st.db, &actor).await?))
}

/// Create a campaign (city administrators; district officers for their district).
#[utoipa::path(post, path = "/api/v1/inspection-campaigns", tag = "inspections", request_body = NewCampaign,
    responses((status = 201, body = Campaign), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_campaign(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewCampaign>,
) -> Result<(StatusCode, axum::Json<Campaign>), AppError> {
    let c = inspections::create_campaign(&st.db, &actor, &new, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(c)))
}

/// The inspections the caller reads: regulators in their jurisdiction (drafts included), a
/// company its compounds', a committee its compound's (submitted only).
#[utoipa::path(get, path = "/api/v1/inspections", tag = "inspections", params(InspectionFilter),
    responses((status = 200, body = Vec<Inspection>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_inspections(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(f): Q<InspectionFilter>,
) -> Result<axum::Json<Vec<Inspection>>, AppError> {
    Ok(axum::Json(
        inspections::list_inspections(&st.db, &actor, &f).await?,
    ))
}

/// Start an inspection of a compound (a draft): regulators over the compound.
#[utoipa::path(post, path = "/api/v1/inspections", tag = "inspections", request_body = NewInspection,
    responses((status = 201, body = Inspection), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_inspection(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewInspection>,
) -> Result<(StatusCode, axum::Json<Inspection>), AppError> {
    let i = inspections::create_inspection(&st.db, &actor, &new, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(i)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FiguresQuery {
    /// A region inside the caller's (default: the caller's own).
    pub region: Option<String>,
    /// First day (China date; default: the first of this month).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<time::Date>,
    /// Last day, inclusive (default: today).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<time::Date>,
}

/// The inspection figures of a jurisdiction: compounds inspected, problems found, notices
/// issued (withdrawn beside), responded in time, verified, overdue by level (regulators).
#[utoipa::path(get, path = "/api/v1/inspections/figures", tag = "inspections", params(FiguresQuery),
    responses((status = 200, body = Figures), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn inspection_figures(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(q): Q<FiguresQuery>,
) -> Result<axum::Json<Figures>, AppError> {
    let region = parse_region(q.region.as_deref())?;
    let today = st.clock.now().to_offset(crate::clock::CST).date();
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or_else(|| to.replace_day(1).unwrap_or(to));
    Ok(axum::Json(
        inspections::figures(&st.db, &actor, region, from, to).await?,
    ))
}

/// One inspection with its findings.
#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "inspections", params(("id" = i64, Path)),
    responses((status = 200, body = InspectionDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_inspection(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<InspectionDetail>, AppError> {
    Ok(axum::Json(inspections::get_inspection(&st.db, &actor, id).await?))
}

/// Add a finding to a draft inspection (regulators over the compound).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/findings", tag = "inspections", params(("id" = i64, Path)), request_body = NewFinding,
    responses((status = 201, body = Finding), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_finding(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(new): J<NewFinding>,
) -> Result<(StatusCode, axum::Json<Finding>), AppError> {
    let f = inspections::add_finding(&st.db, &st.files, &actor, id, &new, &[], st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(f)))
}

/// Submit a draft inspection: its findings are frozen from then on.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/submit", tag = "inspections", params(("id" = i64, Path)),
    responses((status = 200, body = Inspection), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn submit_inspection(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<Inspection>, AppError> {
    Ok(axum::Json(
        inspections::submit(&st.db, &actor, id, st.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawBody {
    pub reason: String,
}

/// Withdraw a finding with a reason (regulators over the compound); it no longer counts.
#[utoipa::path(post, path = "/api/v1/inspections/findings/{id}/withdraw", tag = "inspections", params(("id" = i64, Path)), request_body = WithdrawBody,
    responses((status = 200, body = Finding), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn withdraw_finding(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(b): J<WithdrawBody>,
) -> Result<axum::Json<Finding>, AppError> {
    Ok(axum::Json(
        inspections::withdraw_finding(&st.db, &actor, id, &b.reason, st.clock.now()).await?,
    ))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct PhotoAdded {
    pub position: i64,
}

/// Add a photo (JPEG, PNG or WebP; at most nine) to a finding of a draft inspection.
#[utoipa::path(post, path = "/api/v1/inspections/findings/{id}/photos", tag = "inspections", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = PhotoAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_photo(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<PhotoAdded>), AppError> {
    let position = inspections::add_photo(&st.db, &st.files, &actor, id, &body, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(PhotoAdded { position })))
}

/// A finding's photo, for whoever reads its inspection.
#[utoipa::path(get, path = "/api/v1/inspections/findings/{id}/photos/{position}", tag = "inspections",
    params(("id" = i64, Path), ("position" = i64, Path)),
    responses((status = 200, description = "the photo"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_photo(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((id, position)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let f = inspections::photo(&st.db, &st.files, &actor, id, position).await?;
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

/// The rectification notices the caller reads: regulators in their jurisdiction, a company
/// its own, a committee its compound's.
#[utoipa::path(get, path = "/api/v1/rectifications", tag = "inspections", params(RectificationFilter),
    responses((status = 200, body = Vec<Rectification>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_rectifications(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(f): Q<RectificationFilter>,
) -> Result<axum::Json<Vec<Rectification>>, AppError> {
    Ok(axum::Json(inspections::list_notices(&st.db, &actor, &f).await?))
}

/// Issue a rectification notice covering findings of one submitted inspection (regulators
/// over the compound). The deadline defaults to 15 working days on, ending 24:00 China time.
#[utoipa::path(post, path = "/api/v1/rectifications", tag = "inspections", request_body = NewRectification,
    responses((status = 201, body = RectificationDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn issue_rectification(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewRectification>,
) -> Result<(StatusCode, axum::Json<RectificationDetail>), AppError> {
    let settings = st.settings().await;
    let d = inspections::issue(&st.db, &actor, &new, &settings, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(d)))
}

/// One notice with its findings and timeline.
#[utoipa::path(get, path = "/api/v1/rectifications/{id}", tag = "inspections", params(("id" = i64, Path)),
    responses((status = 200, body = RectificationDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_rectification(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<RectificationDetail>, AppError> {
    Ok(axum::Json(inspections::get_notice(&st.db, &actor, id).await?))
}

/// A step on a notice: `respond` (the company's administrator or staff), `verify` or `reject`
/// (regulators over the compound; a rejection sets a new deadline), `withdraw` (the issuer or
/// an authority above it, with a reason).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/actions", tag = "inspections", params(("id" = i64, Path)), request_body = NoticeStep,
    responses((status = 200, body = RectificationDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn act_rectification(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(step): J<NoticeStep>,
) -> Result<axum::Json<RectificationDetail>, AppError> {
    let settings = st.settings().await;
    Ok(axum::Json(
        inspections::act(&st.db, &actor, id, &step, &settings, st.clock.now()).await?,
    ))
}
