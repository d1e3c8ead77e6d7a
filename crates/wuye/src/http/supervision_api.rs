//! The supervision API (docs/assessment.md §5–§7): bottom places' actions, interviews and
//! exit cases. Errors are the inspections' (`InspectionError` → `AppError`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{AppError, ErrorBody};
use super::extract::{J, Q, SignedIn};
use crate::supervision::{
    self, Action, ActionFilter, ExitCase, ExitCaseDetail, ExitDecision, ExitVote, Interview, InterviewRecord,
    NewExitCase, NewInterview,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_actions))
        .routes(routes!(cancel_public_notice))
        .routes(routes!(list_interviews, create_interview))
        .routes(routes!(get_interview))
        .routes(routes!(record_interview))
        .routes(routes!(cancel_interview))
        .routes(routes!(get_minutes_file, put_minutes_file))
        .routes(routes!(list_exit_cases, propose_exit_case))
        .routes(routes!(get_exit_case))
        .routes(routes!(decide_exit_case))
        .routes(routes!(link_exit_vote))
}

/// A reason, for a withdrawal or a cancellation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    pub reason: String,
}

/// The bottom places' actions the caller reads: regulators in their jurisdiction, a company
/// its own, a committee its compound's.
#[utoipa::path(get, path = "/api/v1/supervision/actions", tag = "assessment", params(ActionFilter),
    responses((status = 200, body = Vec<Action>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_actions(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(f): Q<ActionFilter>,
) -> Result<axum::Json<Vec<Action>>, AppError> {
    Ok(axum::Json(supervision::actions(&st.db, &actor, &f).await?))
}

/// Withdraw a bottom place from the public notice, with a reason (a regulator of the
/// compound's district or above).
#[utoipa::path(post, path = "/api/v1/supervision/actions/{id}/cancel", tag = "assessment", params(("id" = i64, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = Action), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_public_notice(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(b): J<ReasonBody>,
) -> Result<axum::Json<Action>, AppError> {
    Ok(axum::Json(
        supervision::cancel_public_notice(&st.db, &actor, id, &b.reason, st.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
struct InterviewQuery {
    /// pending, held or cancelled.
    state: Option<String>,
}

/// The interviews the caller reads, pending first.
#[utoipa::path(get, path = "/api/v1/interviews", tag = "assessment", params(InterviewQuery),
    responses((status = 200, body = Vec<Interview>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_interviews(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(q): Q<InterviewQuery>,
) -> Result<axum::Json<Vec<Interview>>, AppError> {
    Ok(axum::Json(
        supervision::interviews(&st.db, &actor, q.state.as_deref()).await?,
    ))
}

/// Open an interview of a company by hand (regulators over the compound or the company).
#[utoipa::path(post, path = "/api/v1/interviews", tag = "assessment", request_body = NewInterview,
    responses((status = 201, body = Interview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_interview(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewInterview>,
) -> Result<(StatusCode, axum::Json<Interview>), AppError> {
    let iv = supervision::create_interview(&st.db, &actor, &new, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(iv)))
}

/// One interview.
#[utoipa::path(get, path = "/api/v1/interviews/{id}", tag = "assessment", params(("id" = i64, Path)),
    responses((status = 200, body = Interview), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_interview(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<Interview>, AppError> {
    Ok(axum::Json(supervision::interview(&st.db, &actor, id).await?))
}

/// Record a pending interview as held (the holding authority or above).
#[utoipa::path(post, path = "/api/v1/interviews/{id}/record", tag = "assessment", params(("id" = i64, Path)),
    request_body = InterviewRecord,
    responses((status = 200, body = Interview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn record_interview(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(r): J<InterviewRecord>,
) -> Result<axum::Json<Interview>, AppError> {
    Ok(axum::Json(
        supervision::record_interview(&st.db, &st.files, &actor, id, &r, None, st.clock.now()).await?,
    ))
}

/// Cancel a pending interview with a reason (the holding authority or above).
#[utoipa::path(post, path = "/api/v1/interviews/{id}/cancel", tag = "assessment", params(("id" = i64, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = Interview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_interview(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(b): J<ReasonBody>,
) -> Result<axum::Json<Interview>, AppError> {
    Ok(axum::Json(
        supervision::cancel_interview(&st.db, &actor, id, &b.reason, st.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
struct FileName {
    /// The file's name as shown.
    name: Option<String>,
}

/// The file of an interview's minutes.
#[utoipa::path(get, path = "/api/v1/interviews/{id}/minutes-file", tag = "assessment", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_minutes_file(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (_, f) = supervision::minutes_file(&st.db, &st.files, &actor, id).await?;
    let mut resp = (StatusCode::OK, f.bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&f.content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

/// Attach the file of the minutes (a PDF or an image, the request body; replaces an earlier
/// one).
#[utoipa::path(put, path = "/api/v1/interviews/{id}/minutes-file", tag = "assessment", params(("id" = i64, Path), FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Interview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_minutes_file(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    Q(q): Q<FileName>,
    body: Bytes,
) -> Result<axum::Json<Interview>, AppError> {
    let name = q.name.unwrap_or_default();
    Ok(axum::Json(
        supervision::add_minutes_file(&st.db, &st.files, &actor, id, &name, &body, st.clock.now()).await?,
    ))
}

/// The exit cases the caller reads, open ones first.
#[utoipa::path(get, path = "/api/v1/exit-cases", tag = "assessment",
    responses((status = 200, body = Vec<ExitCase>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_exit_cases(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
) -> Result<axum::Json<Vec<ExitCase>>, AppError> {
    Ok(axum::Json(supervision::exit_cases(&st.db, &actor).await?))
}

/// Propose an exit case by hand (a district or city regulator over the compound).
#[utoipa::path(post, path = "/api/v1/exit-cases", tag = "assessment", request_body = NewExitCase,
    responses((status = 201, body = ExitCaseDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn propose_exit_case(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewExitCase>,
) -> Result<(StatusCode, axum::Json<ExitCaseDetail>), AppError> {
    let x = supervision::propose_exit(&st.db, &actor, &new, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(x)))
}

/// One exit case with its timeline.
#[utoipa::path(get, path = "/api/v1/exit-cases/{id}", tag = "assessment", params(("id" = i64, Path)),
    responses((status = 200, body = ExitCaseDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_exit_case(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<ExitCaseDetail>, AppError> {
    Ok(axum::Json(supervision::exit_case(&st.db, &actor, id).await?))
}

/// Decide a proposed case: proceed to the owners' vote, or no action (a regulator of its
/// district or above).
#[utoipa::path(post, path = "/api/v1/exit-cases/{id}/decide", tag = "assessment", params(("id" = i64, Path)),
    request_body = ExitDecision,
    responses((status = 200, body = ExitCaseDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decide_exit_case(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(d): J<ExitDecision>,
) -> Result<axum::Json<ExitCaseDetail>, AppError> {
    Ok(axum::Json(
        supervision::decide_exit(&st.db, &actor, id, &d, st.clock.now()).await?,
    ))
}

/// Link the owners' Art. 278 vote on dismissal (its committee, or a regulator over the
/// compound). The case closes when that decision's result is published.
#[utoipa::path(post, path = "/api/v1/exit-cases/{id}/vote", tag = "assessment", params(("id" = i64, Path)),
    request_body = ExitVote,
    responses((status = 200, body = ExitCaseDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn link_exit_vote(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
    J(v): J<ExitVote>,
) -> Result<axum::Json<ExitCaseDetail>, AppError> {
    Ok(axum::Json(
        supervision::link_vote(&st.db, &actor, id, &v, st.clock.now()).await?,
    ))
}
