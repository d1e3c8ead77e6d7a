//! The web server: JSON API, server-rendered pages, health, metrics and API docs.
//!
//! Request flow: axum router → (metrics + trace layers) → handler → `registry`/`io`
//! functions → `Db`. Handlers hold no state between requests: everything lives in the
//! database, so several instances can serve one PostgreSQL behind a load balancer.

pub mod api;
mod assessment_api;
mod assessment_pages;
mod credit_api;
mod credit_pages;
pub mod docs;
pub mod error;
pub mod extract;
mod inspections_api;
mod inspections_pages;
pub mod open311;
pub mod pages;
mod supervision_api;
mod supervision_pages;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::db::Db;
use crate::files::FileStore;

/// Shared, immutable per-process state. Cloned into every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub files: FileStore,
    pub clock: Clock,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    pub demo: bool,
    /// How one-time codes and notices reach people.
    pub sender: crate::otp::Sender,
    /// The city's calendar and work-order time limits (a snapshot of the database).
    pub settings: Arc<crate::settings::Live>,
    /// Group commit of order submissions.
    pub orders: Arc<crate::orders::OrderWriter>,
}

impl AppState {
    /// The settings snapshot for this request.
    pub async fn settings(&self) -> Arc<crate::settings::Settings> {
        self.settings.get(&self.db).await
    }
}

/// The largest request body (imports of big files).
pub const BODY_LIMIT: usize = 256 * 1024 * 1024;

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                    ],
                )
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The OpenAPI document generated from the API handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().1
}

fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(title = "wuye API", description = "Registry of regions, compounds, rooms, owners, companies and contracts; import and export. Conventions: docs/api.md.", version = "1"),
        tags((name = "registry", description = "Places, people and companies"), (name = "import", description = "Bulk import and export"), (name = "figures", description = "Figures for regulators"), (name = "access", description = "Accounts, tokens and the audit log"),
            (name = "orders", description = "Work orders: the closed loop"), (name = "decisions", description = "Owners' decisions: notice, roll, ballots, result"), (name = "assessment", description = "Ratings, rubrics, assessment runs, scores and rankings"), (name = "credit", description = "Credit ledger, grades, appeals, red and black list"), (name = "inspections", description = "Inspections, findings and rectification notices")),
        modifiers(&BearerAuth)
    )]
    struct ApiDoc;
    struct BearerAuth;
    impl utoipa::Modify for BearerAuth {
        fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
            use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
            let components = doc.components.get_or_insert_with(Default::default);
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::router())
        .merge(assessment_api::router())
        .merge(inspections_api::router())
        .merge(credit_api::router())
        .merge(supervision_api::router())
        .split_for_parts()
}

/// The whole application.
pub fn app(db: Db, files: FileStore, clock: Clock, demo: bool) -> Router {
    app_with_sender(db, files, clock, demo, crate::otp::Sender::Outbox)
}

/// The whole application, with a chosen message sender.
pub fn app_with_sender(
    db: Db,
    files: FileStore,
    clock: Clock,
    demo: bool,
    sender: crate::otp::Sender,
) -> Router {
    app_with_settings(db, files, clock, demo, sender, Arc::default())
}

/// The whole application, sharing its settings snapshot with the caller (the sweeper).
pub fn app_with_settings(
    db: Db,
    files: FileStore,
    clock: Clock,
    demo: bool,
    sender: crate::otp::Sender,
    settings: Arc<crate::settings::Live>,
) -> Router {
    prometheus();
    let (api, doc) = api_router();
    let state = AppState {
        db,
        files,
        clock,
        openapi: Arc::new(doc),
        demo,
        sender,
        settings,
        orders: Arc::default(),
    };
    Router::new()
        .merge(api)
        .merge(pages::router().router)
        .merge(assessment_pages::router().router)
        .merge(inspections_pages::router().router)
        .merge(credit_pages::router().router)
        .merge(supervision_pages::router().router)
        .merge(system_routes().router)
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(track))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), route = %route)
        }))
        .with_state(state)
}

/// A router that records every (method, path) it routes: the route list the access-matrix
/// test walks, so a new route cannot be left out of it.
#[derive(Default)]
pub struct Listed {
    pub router: Router<AppState>,
    pub routes: Vec<(&'static str, &'static str)>,
}

impl Listed {
    pub fn get<H: axum::handler::Handler<T, AppState>, T: 'static>(
        mut self,
        path: &'static str,
        h: H,
    ) -> Self {
        self.routes.push(("GET", path));
        self.router = self.router.route(path, get(h));
        self
    }

    pub fn post<H: axum::handler::Handler<T, AppState>, T: 'static>(
        mut self,
        path: &'static str,
        h: H,
    ) -> Self {
        self.routes.push(("POST", path));
        self.router = self.router.route(path, axum::routing::post(h));
        self
    }
}

fn system_routes() -> Listed {
    Listed::default()
        .get("/open311/v2/{file}", open311::get_root)
        .post("/open311/v2/{file}", open311::post_request)
        .get("/open311/v2/services/{file}", open311::get_service)
        .get("/open311/v2/requests/{file}", open311::get_request)
        .get("/open311/v2/tokens/{file}", open311::get_token)
        .get("/api/v1/openapi.json", openapi_json)
        .get("/api/docs", docs::page)
        .get("/healthz", || async { "ok" })
        .get("/readyz", readyz)
        .get("/metrics", metrics_text)
        .get("/static/app.css", css)
}

/// Every route of the application as (method, path template): the JSON API from its OpenAPI
/// document, the pages and the system routes from their `Listed` routers.
pub fn route_list() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let doc = serde_json::to_value(openapi()).unwrap_or_default();
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for (path, item) in paths {
            for method in item
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    for (m, p) in pages::router()
        .routes
        .into_iter()
        .chain(assessment_pages::router().routes)
        .chain(inspections_pages::router().routes)
        .chain(credit_pages::router().routes)
        .chain(supervision_pages::router().routes)
        .chain(system_routes().routes)
    {
        out.push((m.to_owned(), p.to_owned()));
    }
    out.sort();
    out
}

async fn openapi_json(State(st): State<AppState>) -> Response {
    axum::Json(st.openapi.as_ref().clone()).into_response()
}

async fn readyz(State(st): State<AppState>) -> Response {
    match st.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics_text(State(st): State<AppState>) -> Response {
    metrics::gauge!("wuye_sqlite_wal_bytes").set(st.db.wal_bytes() as f64);
    let body = prometheus().map(PrometheusHandle::render).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

const CSS: &str = include_str!("../../static/app.css");

async fn css() -> Response {
    let mut r = CSS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// Counts requests and times them by route template (low cardinality).
async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// How often the SQLite WAL is checked.
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(2);
