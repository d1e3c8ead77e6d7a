//! The assessment API (docs/assessment.md §8): ratings, rubric versions, runs, scores with
//! their explanations, deductions, and the public rankings of closed periods.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wuye_model::{Period, RegionCode};

use super::AppState;
use super::error::{AppError, ErrorBody, split};
use super::extract::{J, Q, SignedIn};
use crate::assessment::{
    self, AssessError, CompanyRank, Explanation, NewDeduction, NewRating, RankedProject, RatingView,
    RubricVersion, RunReport, RunView,
};
use crate::auth::Actor;
use crate::io::table::RowError;

impl From<AssessError> for AppError {
    fn from(e: AssessError) -> Self {
        match e {
            AssessError::Denied(d) => d.into(),
            AssessError::Invalid(msg) => Self::invalid("assessment", &msg),
            AssessError::Refused(msg) => {
                let (en, zh) = split(&msg);
                Self::Conflict { en, zh }
            }
            AssessError::Rubric(rows) => Self::ImportRejected(
                rows.into_iter()
                    .map(|r| {
                        let (en, zh) = split(&r.message);
                        RowError {
                            sheet: "rubric".into(),
                            row: u32::try_from(r.line).unwrap_or(u32::MAX),
                            column: r.column,
                            value: r.value,
                            reason_zh: zh,
                            reason_en: en,
                        }
                    })
                    .collect(),
            ),
            AssessError::Db(e) => e.into(),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_ratings, give_rating))
        .routes(routes!(list_rubrics, draft_rubric))
        .routes(routes!(publish_rubric))
        .routes(routes!(list_runs, start_run))
        .routes(routes!(run_scores))
        .routes(routes!(run_companies))
        .routes(routes!(export_run))
        .routes(routes!(explain_score))
        .routes(routes!(add_deduction))
        .routes(routes!(public_rankings))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// A period: 2026-11-21, 2026-W47, 2026-10, 2026-Q4, 2026-H2 or 2026.
    pub period: Option<String>,
    /// Only projects in this region (a district, street or community code).
    pub region: Option<String>,
}

fn parse_period(p: &str) -> Result<Period, AppError> {
    Period::parse(p).map_err(|e| AppError::invalid("period", &e.to_string()))
}

/// An optional region code from a query (blank: none).
pub(super) fn parse_region(r: Option<&str>) -> Result<Option<RegionCode>, AppError> {
    r.map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| RegionCode::parse(r).map_err(|e| AppError::invalid("region", &e.to_string())))
        .transpose()
}

/// The caller's own current ratings of a rating period (default this month).
#[utoipa::path(get, path = "/api/v1/ratings", tag = "assessment", params(PeriodQuery),
    responses((status = 200, body = Vec<RatingView>), (status = 401, body = ErrorBody)))]
async fn my_ratings(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Q(q): Q<PeriodQuery>,
) -> Result<axum::Json<Vec<RatingView>>, AppError> {
    Ok(axum::Json(
        assessment::my_ratings(&st.db, &actor, q.period.as_deref(), st.clock.now()).await?,
    ))
}

/// Rate a compound's company for a rating period: a verified owner (a level), the committee,
/// the community or the street (points). A changed rating replaces the earlier one.
#[utoipa::path(post, path = "/api/v1/ratings", tag = "assessment", request_body = NewRating,
    responses((status = 201, body = RatingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn give_rating(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewRating>,
) -> Result<(StatusCode, axum::Json<RatingView>), AppError> {
    let settings = st.settings().await;
    let r = assessment::rate(&st.db, &actor, &new, &settings, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

/// Every rubric version (public: rubrics are published rules; drafts included, marked).
#[utoipa::path(get, path = "/api/v1/assessment/rubrics", tag = "assessment",
    responses((status = 200, body = Vec<RubricVersion>)))]
async fn list_rubrics(State(st): State<AppState>) -> Result<axum::Json<Vec<RubricVersion>>, AppError> {
    Ok(axum::Json(assessment::rubrics(&st.db).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRubric {
    /// The city or a district.
    pub region_code: String,
    /// Periods starting on or after this date use it once published.
    #[schema(value_type = String)]
    pub effective_from: time::Date,
    /// The rubric file (columns `section,key,name_zh,name_en,value,source,params`).
    pub csv: String,
}

/// Store a rubric file as the next draft version of a region (city administrators; district
/// officers for their district). A file with errors is refused with every row's error (422).
#[utoipa::path(post, path = "/api/v1/assessment/rubrics", tag = "assessment", request_body = NewRubric,
    responses((status = 201, body = RubricVersion), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn draft_rubric(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(new): J<NewRubric>,
) -> Result<(StatusCode, axum::Json<RubricVersion>), AppError> {
    let region =
        RegionCode::parse(&new.region_code).map_err(|e| AppError::invalid("region_code", &e.to_string()))?;
    let v = assessment::draft_rubric(
        &st.db,
        &actor,
        region,
        &new.csv,
        new.effective_from,
        st.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

/// Publish a draft rubric version: from then on it never changes.
#[utoipa::path(post, path = "/api/v1/assessment/rubrics/{id}/publish", tag = "assessment", params(("id" = i64, Path)),
    responses((status = 200, body = RubricVersion), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn publish_rubric(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<i64>,
) -> Result<axum::Json<RubricVersion>, AppError> {
    Ok(axum::Json(
        assessment::publish_rubric(&st.db, &actor, id, st.clock.now()).await?,
    ))
}

/// The runs the caller may see: final runs for everyone, provisional ones for regulators.
#[utoipa::path(get, path = "/api/v1/assessment/runs", tag = "assessment",
    responses((status = 200, body = Vec<RunView>)))]
async fn list_runs(State(st): State<AppState>, actor: Actor) -> Result<axum::Json<Vec<RunView>>, AppError> {
    Ok(axum::Json(assessment::runs(&st.db, &actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StartRun {
    /// 2026-11-21, 2026-W47, 2026-10, 2026-Q4, 2026-H2 or 2026.
    pub period: String,
    /// Make the final run and close the period.
    #[serde(default)]
    pub close: bool,
}

/// Run the assessment of a period (city administrators), as `wuye assess` does: provisional
/// for an open period, final with `close`; a closed period is recomputed and compared.
#[utoipa::path(post, path = "/api/v1/assessment/runs", tag = "assessment", request_body = StartRun,
    responses((status = 200, body = RunReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn start_run(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(body): J<StartRun>,
) -> Result<axum::Json<RunReport>, AppError> {
    let period = parse_period(&body.period)?;
    let settings = st.settings().await;
    Ok(axum::Json(
        assessment::run(&st.db, &actor, period, body.close, &settings, st.clock.now()).await?,
    ))
}

/// A run's projects, best first in each district (a region narrows them).
#[utoipa::path(get, path = "/api/v1/assessment/runs/{id}/scores", tag = "assessment", params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, body = Vec<RankedProject>), (status = 404, body = ErrorBody)))]
async fn run_scores(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    Q(q): Q<PeriodQuery>,
) -> Result<axum::Json<Vec<RankedProject>>, AppError> {
    let region = parse_region(q.region.as_deref())?;
    assessment::visible_run(&st.db, &actor, id).await?;
    Ok(axum::Json(assessment::ranking(&st.db, id, region).await?))
}

/// A run's company scores, best first.
#[utoipa::path(get, path = "/api/v1/assessment/runs/{id}/companies", tag = "assessment", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CompanyRank>), (status = 404, body = ErrorBody)))]
async fn run_companies(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<CompanyRank>>, AppError> {
    assessment::visible_run(&st.db, &actor, id).await?;
    Ok(axum::Json(assessment::company_ranking(&st.db, id).await?))
}

/// A run's ranking as a spreadsheet: every project with its score, stars, ranks, bottom place
/// and each item's score; the companies (final runs for everyone, provisional for regulators).
#[utoipa::path(get, path = "/api/v1/assessment/runs/{id}/export", tag = "assessment", params(("id" = i64, Path), super::api::FormatParam),
    responses((status = 200, description = "CSV or .xlsx file"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_run(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    Q(f): Q<super::api::FormatParam>,
) -> Result<axum::response::Response, AppError> {
    let format = super::api::format_param(&f)?;
    let run = assessment::visible_run(&st.db, &actor, id).await?;
    let sheets = assessment::ranking_sheets(&st.db, &run).await?;
    let bytes = crate::io::write_sheets(format, &sheets).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(super::api::download(
        bytes,
        format,
        &format!("ranking-{}", run.period),
    ))
}

/// One score explained: its inputs, every item with its sample, prior and value, the
/// deductions; the orders behind it for regulators and the company.
#[utoipa::path(get, path = "/api/v1/assessment/runs/{id}/scores/{compound}/{company}", tag = "assessment",
    params(("id" = i64, Path), ("compound" = i64, Path), ("company" = i64, Path)),
    responses((status = 200, body = Explanation), (status = 404, body = ErrorBody)))]
async fn explain_score(
    State(st): State<AppState>,
    actor: Actor,
    Path((id, compound, company)): Path<(i64, i64, i64)>,
) -> Result<axum::Json<Explanation>, AppError> {
    Ok(axum::Json(
        assessment::explain(&st.db, &actor, id, compound, company).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDeduction {
    pub id: i64,
}

/// Deduct points from a project (city, district and street regulators over the compound):
/// the rubric's `manual` deduction of the period the date falls in.
#[utoipa::path(post, path = "/api/v1/assessment/deductions", tag = "assessment", request_body = NewDeduction,
    responses((status = 201, body = CreatedDeduction), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn add_deduction(
    State(st): State<AppState>,
    SignedIn(actor): SignedIn,
    J(d): J<NewDeduction>,
) -> Result<(StatusCode, axum::Json<CreatedDeduction>), AppError> {
    let id = assessment::deduct(&st.db, &actor, &d, st.clock.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedDeduction { id })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRanking {
    pub period: String,
    pub run_id: i64,
    pub projects: Vec<RankedProject>,
    pub companies: Vec<CompanyRank>,
}

/// The published ranking of a closed period (no sign-in): every project with its score,
/// stars, ranks and bottom places; the companies. 404 until the period is closed.
#[utoipa::path(get, path = "/api/v1/rankings", tag = "assessment", params(PeriodQuery),
    responses((status = 200, body = PublicRanking), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn public_rankings(
    State(st): State<AppState>,
    Q(q): Q<PeriodQuery>,
) -> Result<axum::Json<PublicRanking>, AppError> {
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    let region = parse_region(q.region.as_deref())?;
    let Some(run_id) = assessment::final_run(&st.db, &period).await? else {
        return Err(AppError::NotFound {
            en: format!("{period} has no published ranking yet"),
            zh: format!("{period} 尚未发布排名"),
        });
    };
    Ok(axum::Json(PublicRanking {
        period: period.to_string(),
        run_id,
        projects: assessment::ranking(&st.db, run_id, region).await?,
        companies: assessment::company_ranking(&st.db, run_id).await?,
    }))
}
