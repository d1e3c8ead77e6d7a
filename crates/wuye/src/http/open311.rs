//! Open311 GeoReport v2 at `/open311/v2/` (../shared/OPEN311.md), JSON and XML, mapped onto
//! work-order categories (services) and work orders (service requests).
//!
//! Decisions: `jurisdiction_id` is a city's 12-digit division code, optional when the registry
//! holds one city; services are realtime; API keys are wuye's API tokens; `address_id` is a
//! compound code, `address_string` a compound's exact name, or `lat`/`long` the nearest
//! compound within [`NEAREST_METRES`]. Reads without a key show public fields only.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

use super::AppState;
use crate::auth;
use crate::orders::{CATEGORIES, NewOrder};

/// A position farther than this from every compound is not matched to one.
pub const NEAREST_METRES: i64 = 300;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Json,
    Xml,
}

/// Splits `name.json` / `name.xml`.
fn split(file: &str) -> Option<(&str, Fmt)> {
    let (name, ext) = file.rsplit_once('.')?;
    match ext {
        "json" => Some((name, Fmt::Json)),
        "xml" => Some((name, Fmt::Xml)),
        _ => None,
    }
}

/// The spec's error body: `[{"code", "description"}]` or `<errors><error>…`.
fn error(fmt: Fmt, status: StatusCode, description: &str) -> Response {
    let code = status.as_u16();
    match fmt {
        Fmt::Json => (
            status,
            axum::Json(json!([{ "code": code, "description": description }])),
        )
            .into_response(),
        Fmt::Xml => xml(
            status,
            html! { errors { error { code { (code) } description { (description) } } } },
        ),
    }
}

fn xml(status: StatusCode, body: Markup) -> Response {
    let text = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{}", body.into_string());
    let mut r = (status, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

/// Renders a JSON value as the spec's XML: an array of objects becomes repeated `item`
/// elements inside `list`; scalars become text.
fn to_xml(name: &str, v: &Value) -> Markup {
    let tag = |n: &str, inner: Markup| PreEscaped(format!("<{n}>{}</{n}>", inner.into_string()));
    match v {
        Value::Array(items) => {
            let item = match name {
                "services" => "service",
                "service_requests" => "request",
                "attributes" => "attribute",
                "values" => "value",
                "endpoints" => "endpoint",
                "formats" => "format",
                _ => "item",
            };
            tag(name, html! { @for i in items { (to_xml(item, i)) } })
        }
        Value::Object(map) => tag(name, html! { @for (k, x) in map { (to_xml(k, x)) } }),
        Value::Null => tag(name, html! {}),
        Value::String(s) => tag(name, html! { (s) }),
        other => tag(name, html! { (other.to_string()) }),
    }
}

fn respond(fmt: Fmt, root: &str, v: Value) -> Response {
    match fmt {
        Fmt::Json => axum::Json(v).into_response(),
        Fmt::Xml => xml(StatusCode::OK, to_xml(root, &v)),
    }
}

/// Checks `jurisdiction_id` against the cities of the registry: optional with one city,
/// required with several; an unknown one is 404. Returns the city's code.
async fn jurisdiction(st: &AppState, given: Option<&str>, fmt: Fmt) -> Result<i64, Response> {
    let cities: Vec<(i64,)> = crate::db_read!(&st.db, pool => sqlx::query_as("SELECT code FROM regions WHERE level = 'city' ORDER BY code")
        .fetch_all(pool).await).map_err(|e| error(fmt, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(j) => match wuye_model::RegionCode::parse(j) {
            Ok(code) if cities.iter().any(|c| c.0 == code.as_i64()) => Ok(code.as_i64()),
            _ => Err(error(
                fmt,
                StatusCode::NOT_FOUND,
                &format!("jurisdiction_id {j} not found / 辖区不存在"),
            )),
        },
        None if cities.len() == 1 => Ok(cities[0].0),
        None => Err(error(
            fmt,
            StatusCode::BAD_REQUEST,
            "jurisdiction_id is required / 缺少 jurisdiction_id",
        )),
    }
}

fn services() -> Value {
    Value::Array(
        CATEGORIES
            .iter()
            .map(|(code, zh, en, emergency)| {
                json!({
                    "service_code": code, "service_name": zh, "description": format!("{en} / {zh}{}", if *emergency { "（紧急）" } else { "" }),
                    "metadata": true, "type": "realtime", "keywords": format!("{code},{en}").to_lowercase(), "group": "物业服务",
                })
            })
            .collect(),
    )
}

fn definition(code: &str) -> Value {
    json!({
        "service_code": code,
        "attributes": [
            { "variable": true, "code": "place", "datatype": "string", "required": false, "datatype_description": "building, entrance or common area / 楼栋、单元或公共区域", "order": 1, "description": "Where exactly / 具体位置" },
            { "variable": true, "code": "emergency", "datatype": "singlevaluelist", "required": false, "datatype_description": "yes or no", "order": 2, "description": "Is it urgent? / 是否紧急",
              "values": [ { "key": "yes", "name": "是 yes" }, { "key": "no", "name": "否 no" } ] },
        ]
    })
}

/// `GET /open311/v2/{file}`: discovery, services and the request list.
pub async fn get_root(
    State(st): State<AppState>,
    Path(file): Path<String>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let Some((name, fmt)) = split(&file) else {
        return error(Fmt::Json, StatusCode::NOT_FOUND, "unknown resource");
    };
    let params: HashMap<String, String> = url_pairs(q.as_deref().unwrap_or("").as_bytes());
    match name {
        "discovery" => respond(
            fmt,
            "discovery",
            json!({
                "changeset": "2026-11-21T00:00:00Z",
                "contact": "The city's property supervision centre / 物业监督管理中心",
                "key_service": "API keys are issued by the city administrator (wuye token add) / 由市级管理员发放",
                "endpoints": [{
                    "specification": "http://wiki.open311.org/GeoReport_v2", "url": "/open311/v2", "changeset": "2026-11-21T00:00:00Z",
                    "type": "production", "formats": ["text/xml", "application/json"],
                }],
            }),
        ),
        "services" => match jurisdiction(&st, params.get("jurisdiction_id").map(String::as_str), fmt).await {
            Ok(_) => respond(fmt, "services", services()),
            Err(r) => r,
        },
        "requests" => match jurisdiction(&st, params.get("jurisdiction_id").map(String::as_str), fmt).await {
            Ok(city) => list_requests(&st, fmt, city, &params, None).await,
            Err(r) => r,
        },
        _ => error(fmt, StatusCode::NOT_FOUND, "unknown resource"),
    }
}

fn url_pairs(b: &[u8]) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(
        &format!("/?{}", String::from_utf8_lossy(b))
            .parse()
            .unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

/// `GET /open311/v2/services/{code}.{fmt}`.
pub async fn get_service(
    State(st): State<AppState>,
    Path(file): Path<String>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let Some((code, fmt)) = split(&file) else {
        return error(Fmt::Json, StatusCode::NOT_FOUND, "unknown resource");
    };
    let params = url_pairs(q.as_deref().unwrap_or("").as_bytes());
    if let Err(r) = jurisdiction(&st, params.get("jurisdiction_id").map(String::as_str), fmt).await {
        return r;
    }
    if !CATEGORIES.iter().any(|c| c.0 == code) {
        return error(
            fmt,
            StatusCode::NOT_FOUND,
            &format!("service_code {code} not found / 服务类别不存在"),
        );
    }
    respond(fmt, "service_definition", definition(code))
}

/// `GET /open311/v2/requests/{id}.{fmt}`.
pub async fn get_request(
    State(st): State<AppState>,
    Path(file): Path<String>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    let Some((id, fmt)) = split(&file) else {
        return error(Fmt::Json, StatusCode::NOT_FOUND, "unknown resource");
    };
    let params = url_pairs(q.as_deref().unwrap_or("").as_bytes());
    let city = match jurisdiction(&st, params.get("jurisdiction_id").map(String::as_str), fmt).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return error(
            fmt,
            StatusCode::NOT_FOUND,
            "service_request_id not found / 工单不存在",
        );
    };
    list_requests(&st, fmt, city, &HashMap::new(), Some(id)).await
}

/// `GET /open311/v2/tokens/{token}.{fmt}`: every wuye service is realtime, so no token exists.
pub async fn get_token(Path(file): Path<String>) -> Response {
    let fmt = split(&file).map(|x| x.1).unwrap_or(Fmt::Json);
    error(
        fmt,
        StatusCode::NOT_FOUND,
        "token not found: every service is realtime / 令牌不存在",
    )
}

#[derive(sqlx::FromRow)]
struct PublicRequest {
    id: i64,
    state: String,
    category: String,
    compound: String,
    address: String,
    lat: Option<i64>,
    lng: Option<i64>,
    company: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    handle_due: OffsetDateTime,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn degrees(v: Option<i64>) -> Value {
    v.map(|v| json!(v as f64 / 1_000_000.0)).unwrap_or(Value::Null)
}

async fn list_requests(
    st: &AppState,
    fmt: Fmt,
    city: i64,
    params: &HashMap<String, String>,
    one: Option<i64>,
) -> Response {
    let (lo, hi) = match wuye_model::RegionCode::from_i64(city) {
        Ok(c) => (*c.subtree().start(), *c.subtree().end()),
        Err(_) => return error(fmt, StatusCode::NOT_FOUND, "jurisdiction_id not found"),
    };
    let mut sql = crate::sql::Sql::new(
        "SELECT o.id, o.state, o.category, c.name AS compound, c.address, c.latitude_e6 AS lat, c.longitude_e6 AS lng, co.name AS company, \
         o.created_at, o.updated_at, o.handle_due FROM work_orders o JOIN compounds c ON c.id = o.compound_id \
         LEFT JOIN companies co ON co.id = o.handler_company_id WHERE c.region_code BETWEEN ",
    );
    sql.bind_i64(lo).push(" AND ").bind_i64(hi);
    let ids: Vec<i64> = match one {
        Some(id) => vec![id],
        None => params
            .get("service_request_id")
            .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
            .unwrap_or_default(),
    };
    if !ids.is_empty() {
        // A list of ids overrides every other filter.
        sql.push(" AND o.id IN (");
        for (i, id) in ids.iter().take(200).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_i64(*id);
        }
        sql.push(")");
    } else {
        if let Some(codes) = params.get("service_code").filter(|s| !s.is_empty()) {
            sql.push(" AND o.category IN (");
            for (i, c) in codes.split(',').take(50).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_text(c.trim());
            }
            sql.push(")");
        }
        let parse = |k: &str| {
            params
                .get(k)
                .filter(|s| !s.is_empty())
                .and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
        };
        let end = parse("end_date").unwrap_or(st.clock.now());
        let start = parse("start_date").unwrap_or(end - time::Duration::days(90));
        sql.push(" AND o.created_at >= ")
            .bind(crate::sql::Param::Ts(crate::clock::db_time(start)));
        sql.push(" AND o.created_at <= ")
            .bind(crate::sql::Param::Ts(crate::clock::db_time(end)));
        match params.get("status").map(String::as_str) {
            Some("open") => {
                sql.push(" AND o.state NOT IN ('closed', 'declined', 'cancelled')");
            }
            Some("closed") => {
                sql.push(" AND o.state IN ('closed', 'declined', 'cancelled')");
            }
            _ => {}
        }
    }
    sql.push(" ORDER BY o.id DESC LIMIT 1000");
    let rows: Result<Vec<PublicRequest>, sqlx::Error> = crate::db_read!(&st.db, pool => crate::bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await);
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return error(fmt, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if one.is_some() && rows.is_empty() {
        return error(
            fmt,
            StatusCode::NOT_FOUND,
            "service_request_id not found / 工单不存在",
        );
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let closed = matches!(r.state.as_str(), "closed" | "declined" | "cancelled");
            let name = CATEGORIES
                .iter()
                .find(|c| c.0 == r.category)
                .map(|c| c.1)
                .unwrap_or(&r.category);
            json!({
                "service_request_id": r.id.to_string(),
                "status": if closed { "closed" } else { "open" },
                "service_name": name,
                "service_code": r.category,
                "agency_responsible": r.company.clone().unwrap_or_else(|| "社区居委会 community".into()),
                "requested_datetime": rfc3339(r.created_at),
                "updated_datetime": rfc3339(r.updated_at),
                "expected_datetime": rfc3339(r.handle_due),
                "address": format!("{} {}", r.compound, r.address).trim().to_owned(),
                "lat": degrees(r.lat),
                "long": degrees(r.lng),
            })
        })
        .collect();
    respond(fmt, "service_requests", Value::Array(items))
}

/// `POST /open311/v2/requests.{fmt}` (form body, `api_key` required).
pub async fn post_request(
    State(st): State<AppState>,
    Path(file): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(("requests", fmt)) = split(&file) else {
        return error(Fmt::Json, StatusCode::NOT_FOUND, "unknown resource");
    };
    let p = url_pairs(&body);
    let key = p.get("api_key").map(String::as_str).unwrap_or("");
    let actor = match auth::token_actor(&st.db, key, "").await {
        Ok(Some(a)) if !key.is_empty() => a,
        Ok(_) => {
            return error(
                fmt,
                StatusCode::FORBIDDEN,
                "api_key is missing or invalid / 缺少或无效的 api_key",
            );
        }
        Err(e) => return error(fmt, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let city = match jurisdiction(&st, p.get("jurisdiction_id").map(String::as_str), fmt).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(code) = p.get("service_code").filter(|s| !s.is_empty()) else {
        return error(
            fmt,
            StatusCode::BAD_REQUEST,
            "service_code is required / 缺少 service_code",
        );
    };
    if !CATEGORIES.iter().any(|c| c.0 == code) {
        return error(
            fmt,
            StatusCode::NOT_FOUND,
            &format!("service_code {code} not found / 服务类别不存在"),
        );
    }
    let compound = match locate(&st, city, &p).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return error(
                fmt,
                StatusCode::BAD_REQUEST,
                "a location is required: address_id (a compound code), address_string (a compound's name) or lat and long within 300 m of a compound / 请提供位置",
            );
        }
        Err(e) => return error(fmt, StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let attr = |k: &str| p.get(&format!("attribute[{k}]")).cloned().unwrap_or_default();
    let new = NewOrder {
        compound_id: compound,
        room_id: None,
        place: attr("place"),
        category: code.clone(),
        description: p
            .get("description")
            .cloned()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| code.clone()),
        channel: Some("open311".into()),
        emergency: attr("emergency") == "yes",
        reporter_name: format!(
            "{}{}",
            p.get("last_name").cloned().unwrap_or_default(),
            p.get("first_name").cloned().unwrap_or_default()
        ),
        reporter_phone: p.get("phone").cloned().unwrap_or_default(),
    };
    match crate::orders::submit_grouped(
        &st.db,
        &st.orders,
        &actor,
        &new,
        None,
        &*st.settings().await,
        st.clock.now(),
    )
    .await
    {
        Ok((id, _)) => respond(
            fmt,
            "service_requests",
            json!([{ "service_request_id": id.to_string(), "service_notice": "已受理，将按时限办理 / received; it will be handled within the time limits" }]),
        ),
        Err(crate::orders::OrderError::Denied(_)) => error(
            fmt,
            StatusCode::FORBIDDEN,
            "this api_key may not file requests for that place / 该 api_key 无权为此位置提交",
        ),
        Err(crate::orders::OrderError::Invalid(m)) => error(fmt, StatusCode::BAD_REQUEST, &m),
        Err(e) => error(fmt, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// The compound a request is about: `address_id`, `address_string` or the nearest to
/// `lat`/`long` within [`NEAREST_METRES`], inside the city.
async fn locate(st: &AppState, city: i64, p: &HashMap<String, String>) -> Result<Option<i64>, String> {
    let (lo, hi) = wuye_model::RegionCode::from_i64(city)
        .map(|c| (*c.subtree().start(), *c.subtree().end()))
        .map_err(|e| e.to_string())?;
    let get = |k: &str| p.get(k).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(code) = get("address_id") {
        let r: Option<(i64,)> = crate::db_read!(&st.db, pool => sqlx::query_as("SELECT id FROM compounds WHERE code = $1 AND region_code BETWEEN $2 AND $3")
            .bind(code).bind(lo).bind(hi).fetch_optional(pool).await).map_err(|e| e.to_string())?;
        return Ok(r.map(|r| r.0));
    }
    if let Some(name) = get("address_string") {
        let r: Vec<(i64,)> = crate::db_read!(&st.db, pool => sqlx::query_as("SELECT id FROM compounds WHERE name = $1 AND region_code BETWEEN $2 AND $3 LIMIT 2")
            .bind(name).bind(lo).bind(hi).fetch_all(pool).await).map_err(|e| e.to_string())?;
        return Ok((r.len() == 1).then(|| r[0].0));
    }
    let (Some(lat), Some(lng)) = (
        get("lat").and_then(|s| s.parse::<f64>().ok()),
        get("long").and_then(|s| s.parse::<f64>().ok()),
    ) else {
        return Ok(None);
    };
    let rows: Vec<(i64, i64, i64)> = crate::db_read!(&st.db, pool => sqlx::query_as(
        "SELECT id, latitude_e6, longitude_e6 FROM compounds WHERE region_code BETWEEN $1 AND $2 AND latitude_e6 IS NOT NULL AND longitude_e6 IS NOT NULL")
        .bind(lo).bind(hi).fetch_all(pool).await).map_err(|e| e.to_string())?;
    // Equirectangular distance: exact enough at a few hundred metres.
    let metres = |la: f64, lo: f64| {
        let x = (lo - lng).to_radians() * ((la + lat) / 2.0).to_radians().cos();
        let y = (la - lat).to_radians();
        (x * x + y * y).sqrt() * 6_371_000.0
    };
    Ok(rows
        .into_iter()
        .map(|(id, la, lo)| (id, metres(la as f64 / 1e6, lo as f64 / 1e6)))
        .filter(|(_, d)| *d <= NEAREST_METRES as f64)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id))
}
