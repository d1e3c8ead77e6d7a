//! The HTTP layer in-process (no socket): API bodies and errors, pages in both languages,
//! health, metrics, and the OpenAPI document frozen by a snapshot.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wuye::clock::Clock;
use wuye::files::{FileBackend, FileStore};
use wuye_model::Role;

use crate::storage_test;
use crate::support::{TestDb, seed};

pub fn app(t: &TestDb) -> Router {
    app_with_clock(t, Clock::System)
}

pub fn app_with_clock(t: &TestDb, clock: Clock) -> Router {
    let files = FileStore::new(t.db.clone(), FileBackend::Database);
    wuye::http::app(t.db.clone(), files, clock, false)
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// A staff account signed in: its API token and its actor.
pub async fn staff_with_token(
    t: &TestDb,
    login: &str,
    role: Role,
    scope: &str,
) -> (String, wuye::auth::Actor) {
    let token = token_for(t, login, role, scope).await;
    match wuye::auth::login(&t.db, login, PASSWORD, "", time::OffsetDateTime::now_utc())
        .await
        .unwrap()
    {
        wuye::auth::Login::Ok { actor, .. } => (token, actor),
        other => panic!("{other:?}"),
    }
}

/// A staff account signed in, as its actor.
pub async fn staff(t: &TestDb, login: &str, role: Role, scope: &str) -> wuye::auth::Actor {
    staff_with_token(t, login, role, scope).await.1
}

/// A staff account and an API token acting as it.
pub async fn token_for(t: &TestDb, login: &str, role: Role, scope: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let new = wuye::auth::NewUser {
        login: login.into(),
        display_name: format!("{login} 测试"),
        role,
        scope: scope.into(),
        password: PASSWORD.into(),
        phone: "13800138000".into(),
    };
    wuye::auth::create_user(&t.db, &new, &wuye::auth::Actor::cli(), now)
        .await
        .unwrap();
    wuye::auth::create_token(&t.db, login, "test", &wuye::auth::Actor::cli(), now)
        .await
        .unwrap()
}

pub async fn get(app: &Router, uri: &str) -> Resp {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn get_as(app: &Router, uri: &str, token: &str) -> Resp {
    send(
        app,
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub async fn send_as(app: &Router, method: &str, uri: &str, token: &str, body: Body) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(body)
        .unwrap();
    send(app, req).await
}

pub async fn json_as(app: &Router, method: &str, uri: &str, token: &str, body: Value) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, req).await
}

async fn get_lang(app: &Router, uri: &str, accept: &str) -> Resp {
    send(
        app,
        Request::get(uri)
            .header(header::ACCEPT_LANGUAGE, accept)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub fn assert_error(r: &Resp, status: StatusCode, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(v["error"]["message_zh"].as_str().is_some_and(|m| !m.is_empty()));
    v
}

storage_test!(api_lists_filters_and_errors, |t| {
    seed(&t.db).await;
    let app = app(t);
    let admin = token_for(t, "admin", Role::CityAdmin, "370700").await;
    let r = get(&app, "/api/v1/compounds?region=370705001&mode=market").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["code"], "XQ1");
    assert_eq!(v["items"][0]["region_code"], "370705001001");
    assert_eq!(v["items"][0]["company_name"], "潍坊安居物业服务有限公司");
    let id = v["items"][0]["id"].as_i64().unwrap();
    let d = get(&app, &format!("/api/v1/compounds/{id}")).await.json();
    assert_eq!(d["exclusive_area"], "285.85");
    assert_eq!(d["compound"]["floor_area"], "86000.50");
    assert_eq!(d["contracts"][0]["fee_standard"], "1.20");
    assert_eq!(
        d["contracts"][0]["start_date"], "2024-01-01",
        "dates are YYYY-MM-DD in JSON, as the OpenAPI document says"
    );
    let rooms = get_as(
        &app,
        &format!("/api/v1/rooms?compound={id}&per_page=2&page=2"),
        &admin,
    )
    .await
    .json();
    assert_eq!(rooms["total"], 4);
    assert_eq!(rooms["items"].as_array().unwrap().len(), 2);
    assert_eq!(rooms["has_more"], false);
    let reg = get(&app, "/api/v1/regions/370705").await.json();
    assert_eq!(reg["coverage"]["coverage_percent"], "66.67");
    assert_eq!(reg["children"][0]["region"]["name"], "东关街道");
    let roots = get(&app, "/api/v1/regions").await.json();
    assert_eq!(roots["items"][0]["code"], "370000000000");
    let kids = get(&app, "/api/v1/regions?parent=370705001").await.json();
    assert_eq!(kids["total"], 2);
    let cos = get(&app, "/api/v1/companies?q=安居").await.json();
    assert_eq!(cos["total"], 1);
    let co = get(&app, &format!("/api/v1/companies/{}", cos["items"][0]["id"]))
        .await
        .json();
    assert_eq!(co["contracts"].as_array().unwrap().len(), 2);
    let cov = get(&app, "/api/v1/coverage").await.json();
    assert_eq!(cov["compounds"], 3);

    // Errors: one body shape, both languages, the right status.
    assert_error(
        &get(&app, "/api/v1/compounds?region=12345").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    );
    assert_error(
        &get(&app, "/api/v1/compounds?mode=nonsense").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    );
    assert_error(
        &get(&app, "/api/v1/compounds?page=abc").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &get(&app, "/api/v1/compounds/99999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &get(&app, "/api/v1/regions/370705009").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &get(&app, "/api/v1/companies/0").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &get_as(&app, "/api/v1/exports/ghosts", &admin).await,
        StatusCode::BAD_REQUEST,
        "invalid_kind",
    );
    // per_page is clamped, never unbounded.
    assert_eq!(
        get(&app, "/api/v1/compounds?per_page=100000").await.json()["per_page"],
        200
    );
});

storage_test!(api_writes_validate_and_conflict, |t| {
    seed(&t.db).await;
    let app = app(t);
    let admin = token_for(t, "admin", Role::CityAdmin, "370700").await;
    let post = |uri: &'static str, body: Value| {
        let (app, admin) = (app.clone(), admin.clone());
        async move { json_as(&app, "POST", uri, &admin, body).await }
    };
    let bad = post(
        "/api/v1/companies",
        serde_json::json!({"uscc": "91350100M000100Y44", "name": "坏"}),
    )
    .await;
    let v = assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_parameter");
    assert_eq!(v["error"]["field"], "uscc");
    assert!(v["error"]["message_zh"].as_str().unwrap().contains("校验位"));
    let dup = post(
        "/api/v1/companies",
        serde_json::json!({"uscc": "91350100M000100Y43", "name": "重复"}),
    )
    .await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    let ok = post(
        "/api/v1/companies",
        serde_json::json!({"uscc": "91440300708461136T", "name": "深圳物业", "region_code": "370705"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    let garbage = send_as(&app, "POST", "/api/v1/companies", &admin, Body::from("{not json")).await;
    assert_error(&garbage, StatusCode::BAD_REQUEST, "invalid_body");
    let c = post("/api/v1/compounds", serde_json::json!({"code": "XQ50", "name": "新建小区", "region_code": "370705002001", "class": "premium", "management_mode": "self_managed", "floor_area": "1000.5"})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text());
    let street = post("/api/v1/compounds", serde_json::json!({"code": "XQ51", "name": "x", "region_code": "370705002", "class": "basic", "management_mode": "none"})).await;
    assert_error(&street, StatusCode::BAD_REQUEST, "invalid_parameter");
    let neg = post("/api/v1/compounds", serde_json::json!({"code": "XQ52", "name": "x", "region_code": "370705002001", "class": "basic", "management_mode": "none", "floor_area": "-1"})).await;
    assert_error(&neg, StatusCode::BAD_REQUEST, "invalid_parameter");

    // Import over the API: 422 with every row error, nothing changed.
    let before = t.db.count("rooms").await.unwrap();
    let body =
        "compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,105,80\nXQ1,9号楼,1,101,-3\n";
    let r = send_as(
        &app,
        "POST",
        "/api/v1/imports/rooms?file_name=rooms.csv",
        &admin,
        Body::from(body),
    )
    .await;
    let v = assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "import_rejected");
    assert_eq!(v["error"]["details"][0]["row"], 3);
    assert_eq!(v["error"]["details"][0]["sheet"], "rooms.csv");
    assert_eq!(t.db.count("rooms").await.unwrap(), before);
    let good = send_as(
        &app,
        "POST",
        "/api/v1/imports/rooms",
        &admin,
        Body::from("compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,105,80\n"),
    )
    .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.text());
    assert_eq!(good.json()["rows_changed"], 1);
    assert_eq!(t.db.count("rooms").await.unwrap(), before + 1);
    let runs = get_as(&app, "/api/v1/imports", &admin).await.json();
    assert_eq!(runs[0]["status"], "applied");
    assert_eq!(runs[1]["status"], "rejected");
    // The uploaded files are kept in the file store.
    assert!(t.db.count("files").await.unwrap() >= 2);

    // Templates (public) and exports (regulators) download as real files.
    let x = get(&app, "/api/v1/templates/rooms?format=xlsx").await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.body.starts_with(b"PK\x03\x04"));
    assert!(
        x.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("rooms-template.xlsx")
    );
    let c = get(&app, "/api/v1/templates/rooms?format=csv").await;
    assert!(c.text().contains("专有部分面积(exclusive_area)"));
    let e = get_as(&app, "/api/v1/exports/compounds?format=csv", &admin).await;
    assert!(e.text().contains("福寿小区"));
    assert_error(
        &get_as(&app, "/api/v1/exports/compounds?format=pdf", &admin).await,
        StatusCode::BAD_REQUEST,
        "invalid_format",
    );
});

storage_test!(pages_render_in_both_languages, |t| {
    seed(&t.db).await;
    let app = app(t);
    let zh = get(&app, "/compounds").await;
    assert_eq!(zh.status, StatusCode::OK);
    let html = zh.text();
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("共 3 个小区") && html.contains("福寿小区"),
        "{html}"
    );
    let en = get_lang(&app, "/compounds?mode=market", "en-US,en;q=0.9")
        .await
        .text();
    assert!(en.contains("<html lang=\"en\">") && en.contains("2 compounds") && !en.contains("东关花园"));
    let cookie = send(
        &app,
        Request::get("/compounds")
            .header(header::COOKIE, "lang=en")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(cookie.contains("Compounds"));
    let set = get(&app, "/lang?to=en").await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert!(
        set.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("lang=en")
    );

    let list = get(&app, "/api/v1/compounds?q=福寿").await.json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let page = get(&app, &format!("/compounds/{id}")).await.text();
    for want in [
        "福寿小区",
        "潍坊安居物业服务有限公司",
        "市场化物业",
        "基础类",
        "285.85",
        "1号楼",
        "河坝巷社区居委会",
        "1.20 元/㎡·月",
    ] {
        assert!(page.contains(want), "compound page lacks {want}");
    }
    let region = get(&app, "/regions/370705").await.text();
    assert!(region.contains("奎文区") && region.contains("东关街道") && region.contains("66.67%"));
    let home = get(&app, "/").await.text();
    assert!(home.contains("66.67%"));
    assert!(
        get(&app, "/companies")
            .await
            .text()
            .contains("91350100M000100Y43")
    );
    let co = get(&app, "/companies/1").await;
    assert_eq!(co.status, StatusCode::OK);
    // The import page needs an account: anonymous visitors are sent to sign in.
    let import = get(&app, "/import").await;
    assert_eq!(import.status, StatusCode::SEE_OTHER);
    assert_eq!(import.headers[header::LOCATION], "/login");
    // Unknown pages and ids: a 404 page in the visitor's language.
    let missing = get(&app, "/compounds/424242").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("小区不存在"));
    let nowhere = get_lang(&app, "/nowhere", "en").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.text().contains("page not found"));
    let bad = get(&app, "/regions/12x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
});

storage_test!(health_and_metrics, |t| {
    let app = app(t);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    let _ = get(&app, "/api/v1/compounds").await;
    let m = get(&app, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.text();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/compounds\""));
    assert!(text.contains("http_request_duration_seconds_bucket"));
    let css = get(&app, "/static/app.css").await;
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let docs = get(&app, "/api/docs").await.text();
    assert!(docs.contains("/api/v1/compounds") && docs.contains("CompoundSummary"));
});

#[test]
fn openapi_document_is_frozen() {
    wuye::http::prometheus();
    let doc = serde_json::to_value(wuye::http::openapi()).unwrap();
    // Every API route of the router is documented.
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for p in [
        "/api/v1/compounds",
        "/api/v1/compounds/{id}",
        "/api/v1/rooms",
        "/api/v1/regions",
        "/api/v1/regions/{code}",
        "/api/v1/companies",
        "/api/v1/companies/{id}",
        "/api/v1/imports/{kind}",
        "/api/v1/exports/{kind}",
        "/api/v1/templates/{kind}",
        "/api/v1/coverage",
        "/api/v1/imports",
        "/api/v1/me",
        "/api/v1/audit",
    ] {
        assert!(paths.iter().any(|x| x.as_str() == p), "{p} missing from OpenAPI");
    }
    insta::assert_json_snapshot!("openapi", doc);
}

storage_test!(demo_accounts_are_listed_in_demo_mode_only, |t| {
    wuye::demo::generate(&t.db, wuye::demo::Scale::TINY, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let files = FileStore::new(t.db.clone(), FileBackend::Database);
    let demo = wuye::http::app(t.db.clone(), files.clone(), Clock::System, true);
    let page = get(&demo, "/login").await.text();
    assert!(
        page.contains("演示账号")
            && page.contains(wuye::demo::DEMO_PASSWORD)
            && page.contains("company-admin")
    );
    let logins = wuye::demo::demo_logins(&t.db).await.unwrap();
    assert_eq!(logins.len(), 8, "one account per role: {logins:?}");
    // Every demo account signs in (staff with the password, the owner is verified already).
    for (login, role) in &logins {
        if role == "owner" {
            let id: (i64,) = match &t.db {
                wuye::db::Db::Sqlite(s) => sqlx::query_as("SELECT count(*) FROM user_owners uo JOIN users u ON u.id = uo.user_id WHERE u.login = $1").bind(login).fetch_one(&s.reader).await.unwrap(),
                wuye::db::Db::Postgres(p) => sqlx::query_as("SELECT count(*) FROM user_owners uo JOIN users u ON u.id = uo.user_id WHERE u.login = $1").bind(login).fetch_one(p).await.unwrap(),
            };
            assert_eq!(id.0, 1);
        } else {
            let l = wuye::auth::login(
                &t.db,
                login,
                wuye::demo::DEMO_PASSWORD,
                "",
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
            assert!(matches!(l, wuye::auth::Login::Ok { .. }), "{login}");
        }
    }
    let real = wuye::http::app(t.db.clone(), files, Clock::System, false);
    let page = get(&real, "/login").await.text();
    assert!(!page.contains("演示账号") && !page.contains(wuye::demo::DEMO_PASSWORD));
});

storage_test!(rosters_are_people_data, |t| {
    wuye::demo::generate(&t.db, wuye::demo::Scale::TINY, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let app = app(t);
    // A compound with a committee in office.
    let id: (i64,) = match &t.db {
        wuye::db::Db::Sqlite(s) => sqlx::query_as("SELECT compound_id FROM committees ORDER BY id LIMIT 1")
            .fetch_one(&s.reader)
            .await
            .unwrap(),
        wuye::db::Db::Postgres(p) => sqlx::query_as("SELECT compound_id FROM committees ORDER BY id LIMIT 1")
            .fetch_one(p)
            .await
            .unwrap(),
    };
    let admin = token_for(t, "root", Role::CityAdmin, "370700").await;
    let r = get_as(&app, &format!("/api/v1/compounds/{}/roster", id.0), &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let list = v.as_array().unwrap();
    assert!(list.iter().any(|e| e["role"] == "chair"), "{v}");
    assert!(
        list.iter().all(|e| e["phone"].as_str().unwrap().contains("****")),
        "phones are masked"
    );
    assert_error(
        &get(&app, &format!("/api/v1/compounds/{}/roster", id.0)).await,
        StatusCode::UNAUTHORIZED,
        "sign_in_required",
    );
    let page = send(
        &app,
        Request::get(format!("/compounds/{}", id.0))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(page.contains("业委会与楼长、单元长") && page.contains("主任"));
    assert!(
        !get(&app, &format!("/compounds/{}", id.0))
            .await
            .text()
            .contains("业委会与楼长、单元长"),
        "not for the public"
    );
});
