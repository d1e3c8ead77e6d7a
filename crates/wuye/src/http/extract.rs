//! Extractors: query strings and JSON bodies whose rejections become [`AppError`] (so every
//! error has the same body), and the interface language.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use wuye_model::Lang;

use super::error::AppError;

/// `Query<T>` with a bilingual 400 on bad input.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(t)| Q(t))
            .map_err(|e| {
                AppError::bad(
                    "invalid_query",
                    format!("invalid query parameter: {}", e.body_text()),
                    "查询参数无效",
                )
            })
    }
}

/// `Json<T>` with a bilingual 400 on bad input.
pub struct J<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for J<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(t)) => Ok(J(t)),
            Err(e) => Err(AppError::bad(
                "invalid_body",
                format!("invalid JSON body: {}", e.body_text()),
                "请求体 JSON 无效",
            )),
        }
    }
}

/// The interface language: `?lang=`, then the `lang` cookie, then Accept-Language; zh-CN
/// by default.
#[derive(Debug, Clone, Copy)]
pub struct UiLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for UiLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(q) = parts.uri.query() {
            for pair in q.split('&') {
                if let Some(v) = pair.strip_prefix("lang=") {
                    return Ok(UiLang(Lang::negotiate(v)));
                }
            }
        }
        if let Some(cookies) = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) {
            for c in cookies.split(';') {
                if let Some(v) = c.trim().strip_prefix("lang=") {
                    return Ok(UiLang(Lang::negotiate(v)));
                }
            }
        }
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(UiLang(Lang::negotiate(accept)))
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wuye_session";
/// The pre-sign-in CSRF cookie (double-submit) of the sign-in form.
pub const LOGIN_CSRF_COOKIE: &str = "wuye_login_csrf";

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The peer address as the server saw it.
pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// Who is calling: a bearer token (API clients), a session cookie (browsers), or nobody.
/// A browser's API write must carry the session's CSRF token in `X-CSRF-Token`.
impl FromRequestParts<super::AppState> for crate::auth::Actor {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, st: &super::AppState) -> Result<Self, AppError> {
        let ip = client_ip(parts);
        if let Some(auth) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let token = auth.strip_prefix("Bearer ").map(str::trim).unwrap_or("");
            return match crate::auth::token_actor(&st.db, token, &ip)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
            {
                Some(a) => Ok(a),
                None => Err(AppError::Unauthorized {
                    en: "the API token is invalid or revoked".into(),
                    zh: "API 令牌无效或已吊销".into(),
                }),
            };
        }
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let now = st.clock.now();
            if let Some(actor) = crate::auth::session_actor(&st.db, token, &ip, now)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
            {
                let writes = !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
                if writes && parts.uri.path().starts_with("/api/") {
                    let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
                    if sent != actor.csrf.as_deref() {
                        return Err(AppError::Forbidden {
                            en: "missing or wrong X-CSRF-Token".into(),
                            zh: "缺少或错误的 CSRF 令牌".into(),
                        });
                    }
                }
                return Ok(actor);
            }
        }
        Ok(crate::auth::Actor::anonymous(ip))
    }
}

/// A signed-in caller: anonymous requests are refused with 401 before the body is read.
pub struct SignedIn(pub crate::auth::Actor);

impl FromRequestParts<super::AppState> for SignedIn {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, st: &super::AppState) -> Result<Self, AppError> {
        let actor = crate::auth::Actor::from_request_parts(parts, st).await?;
        actor.require_signed_in()?;
        Ok(SignedIn(actor))
    }
}
