//! The one error type of the HTTP layer: a stable snake_case code, an HTTP status and a
//! message in English and Chinese. API callers get it as JSON; pages render it as HTML.
//! Internal errors are logged once here and never shown in detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;
use crate::io::RowError;
use crate::registry::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{en}")]
    NotFound { en: String, zh: String },
    #[error("{en}")]
    BadRequest {
        code: &'static str,
        en: String,
        zh: String,
        field: Option<String>,
    },
    #[error("{en}")]
    Conflict { en: String, zh: String },
    #[error("{en}")]
    Unauthorized { en: String, zh: String },
    #[error("{en}")]
    Forbidden { en: String, zh: String },
    #[error("import rejected")]
    ImportRejected(Vec<RowError>),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON error body (docs/api.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_parameter`.
    pub code: String,
    /// English message.
    pub message: String,
    /// Chinese message.
    pub message_zh: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<RowError>,
}

/// Splits "English / 中文" into (en, zh).
pub(super) fn split(msg: &str) -> (String, String) {
    match msg.rsplit_once(" / ") {
        Some((en, zh)) => (en.to_owned(), zh.to_owned()),
        None => (msg.to_owned(), msg.to_owned()),
    }
}

impl AppError {
    pub fn not_found(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self::NotFound {
            en: en.into(),
            zh: zh.into(),
        }
    }

    pub fn bad(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            en: en.into(),
            zh: zh.into(),
            field: None,
        }
    }

    /// An invalid value of a named parameter; `msg` is "English / 中文".
    pub fn invalid(field: &str, msg: &str) -> Self {
        let (en, zh) = split(msg);
        Self::BadRequest {
            code: "invalid_parameter",
            en: format!("{field}: {en}"),
            zh: format!("{field}：{zh}"),
            field: Some(field.to_owned()),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::ImportRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (code, en, zh, field, details) = match self {
            Self::NotFound { en, zh } => ("not_found", en.clone(), zh.clone(), None, Vec::new()),
            Self::BadRequest { code, en, zh, field } => {
                (*code, en.clone(), zh.clone(), field.clone(), Vec::new())
            }
            Self::Conflict { en, zh } => ("conflict", en.clone(), zh.clone(), None, Vec::new()),
            Self::Unauthorized { en, zh } => ("sign_in_required", en.clone(), zh.clone(), None, Vec::new()),
            Self::Forbidden { en, zh } => ("forbidden", en.clone(), zh.clone(), None, Vec::new()),
            Self::ImportRejected(errors) => (
                "import_rejected",
                format!(
                    "the file was rejected with {} errors; nothing was changed",
                    errors.len()
                ),
                format!("文件有 {} 处错误，未做任何修改", errors.len()),
                None,
                errors.clone(),
            ),
            Self::Internal(_) => (
                "internal",
                "internal error; it has been logged".to_owned(),
                "服务器内部错误，已记录".to_owned(),
                None,
                Vec::new(),
            ),
        };
        ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: en,
                message_zh: zh,
                field,
                details,
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<crate::auth::Denied> for AppError {
    fn from(d: crate::auth::Denied) -> Self {
        use crate::auth::Denied;
        match d {
            Denied::SignIn => Self::Unauthorized {
                en: "sign-in required".into(),
                zh: "请先登录".into(),
            },
            Denied::Role => Self::Forbidden {
                en: "your role may not do this".into(),
                zh: "当前角色无此权限".into(),
            },
            Denied::Hidden => Self::not_found("not found", "不存在"),
        }
    }
}

impl From<crate::auth::AuthError> for AppError {
    fn from(e: crate::auth::AuthError) -> Self {
        match e {
            crate::auth::AuthError::Invalid(msg) => Self::invalid("account", &msg),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::orders::OrderError> for AppError {
    fn from(e: crate::orders::OrderError) -> Self {
        use crate::orders::OrderError;
        match e {
            OrderError::Denied(d) => d.into(),
            OrderError::Invalid(msg) => Self::invalid("order", &msg),
            OrderError::Step(step) => {
                let (en, zh) = split(&step.to_string());
                Self::Conflict { en, zh }
            }
            OrderError::Changed => {
                let (en, zh) = split(&OrderError::Changed.to_string());
                Self::Conflict { en, zh }
            }
            OrderError::Db(e) => e.into(),
        }
    }
}

impl From<crate::decisions::DecisionError> for AppError {
    fn from(e: crate::decisions::DecisionError) -> Self {
        use crate::decisions::DecisionError;
        match e {
            DecisionError::Denied(d) => d.into(),
            DecisionError::Invalid(msg) => Self::invalid("decision", &msg),
            DecisionError::Refused(msg) => {
                let (en, zh) = split(&msg);
                Self::Conflict { en, zh }
            }
            DecisionError::Db(e) => e.into(),
            DecisionError::Files(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<crate::notify::NotifyError> for AppError {
    fn from(e: crate::notify::NotifyError) -> Self {
        match e {
            crate::notify::NotifyError::Denied(d) => d.into(),
            crate::notify::NotifyError::Db(e) => e.into(),
        }
    }
}

impl From<crate::settings::SettingsError> for AppError {
    fn from(e: crate::settings::SettingsError) -> Self {
        use crate::settings::SettingsError;
        match e {
            SettingsError::Denied(d) => d.into(),
            SettingsError::Invalid(msg) => Self::invalid("settings", &msg),
            SettingsError::Db(e) => e.into(),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<WriteError> for AppError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Invalid { field, message } => Self::invalid(field, &message),
            WriteError::Conflict(msg) => {
                let (en, zh) = split(&msg);
                Self::Conflict { en, zh }
            }
            WriteError::Db(e) => e.into(),
        }
    }
}

impl From<crate::io::import::ImportError> for AppError {
    fn from(e: crate::io::import::ImportError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<crate::io::export::ExportError> for AppError {
    fn from(e: crate::io::export::ExportError) -> Self {
        match e {
            crate::io::export::ExportError::TooManyRows(_) => {
                let (en, zh) = split(&e.to_string());
                Self::bad("too_many_rows", en, zh)
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
