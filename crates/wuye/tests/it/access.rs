//! Identity and access: sign-in, sessions, tokens, scopes, CSRF, the audit log.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use wuye::clock::Clock;
use wuye_model::Role;

use crate::http::{
    PASSWORD, Resp, app, app_with_clock, assert_error, get, get_as, json_as, send, send_as, token_for,
};
use crate::storage_test;
use crate::support::seed;

fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

/// Signs in through the form, as a browser does: returns the session cookie value.
pub async fn sign_in(app: &axum::Router, login: &str, password: &str) -> (StatusCode, Option<String>) {
    let page = get(app, "/login").await;
    let csrf = set_cookie(&page, "wuye_login_csrf").expect("the sign-in form sets a CSRF cookie");
    assert!(page.text().contains(&csrf), "the form carries the same token");
    let body = format!(
        "login={login}&password={}&csrf={csrf}&next=%2Faccount",
        password.replace(' ', "+")
    );
    let r = send(
        app,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("wuye_login_csrf={csrf}"))
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    (r.status, set_cookie(&r, "wuye_session").filter(|s| !s.is_empty()))
}

async fn get_cookie(app: &axum::Router, uri: &str, session: &str) -> Resp {
    send(
        app,
        Request::get(uri)
            .header(header::COOKIE, format!("wuye_session={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

storage_test!(staff_sign_in_sessions_and_lockout, |t| {
    seed(&t.db).await;
    let clock = Clock::fixed(time::OffsetDateTime::now_utc());
    let app = app_with_clock(t, clock.clone());
    token_for(t, "street1", Role::StreetOfficer, "370705001").await;

    // Right password: a session cookie, HttpOnly and SameSite.
    let page = get(&app, "/login").await;
    let csrf = set_cookie(&page, "wuye_login_csrf").unwrap();
    let body = format!(
        "login=street1&password={}&csrf={csrf}&next=%2Faccount",
        PASSWORD.replace(' ', "+")
    );
    let r = send(
        &app,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("wuye_login_csrf={csrf}"))
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/account");
    let raw = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("wuye_session="))
        .unwrap();
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && !raw.contains("Secure"));
    let session = set_cookie(&r, "wuye_session").unwrap();
    let account = get_cookie(&app, "/account", &session).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.text().contains("街道工作人员") && account.text().contains("370705001000"));
    let me = get_cookie(&app, "/api/v1/me", &session).await.json();
    assert_eq!(me["role"], "street_officer");
    assert_eq!(me["scope"]["code"], "370705001000");

    // A form without the cookie's token is refused; so is an API write without X-CSRF-Token.
    let forged = send(
        &app,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "login=street1&password={}&csrf=abc",
                PASSWORD.replace(' ', "+")
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let list = get(&app, "/api/v1/compounds?q=福寿").await.json();
    let xq1 = list["items"][0]["id"].as_i64().unwrap();
    let patch = send(
        &app,
        Request::patch(format!("/api/v1/compounds/{xq1}"))
            .header(header::COOKIE, format!("wuye_session={session}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"households": 900}"#))
            .unwrap(),
    )
    .await;
    assert_error(&patch, StatusCode::FORBIDDEN, "forbidden");

    // Wrong passwords: a clear message, no session; the fifth locks the account, and then even
    // the right password is refused until the lock ends.
    for i in 1..=4 {
        let (status, cookie) = crate::access::sign_in(&app, "street1", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(cookie.is_none());
    }
    let (status, _) = sign_in(&app, "street1", "wrong password!").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, cookie) = sign_in(&app, "street1", PASSWORD).await;
    assert_eq!((status, cookie.is_none()), (StatusCode::TOO_MANY_REQUESTS, true));
    clock.advance(16 * 60);
    let (status, cookie) = sign_in(&app, "street1", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let second = cookie.unwrap();
    // Unknown accounts look the same as wrong passwords.
    assert_eq!(
        sign_in(&app, "nobody", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Sessions expire; logout ends one at once.
    clock.advance(13 * 3600);
    assert_eq!(
        get_cookie(&app, "/account", &second).await.status,
        StatusCode::SEE_OTHER
    );
    let (_, third) = sign_in(&app, "street1", PASSWORD).await;
    let third = third.unwrap();
    let account = get_cookie(&app, "/account", &third).await.text();
    let csrf = account
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let out = send(
        &app,
        Request::post("/logout")
            .header(header::COOKIE, format!("wuye_session={third}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={csrf}")))
            .unwrap(),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get_cookie(&app, "/account", &third).await.status,
        StatusCode::SEE_OTHER
    );

    // Passwords never reach the audit log; login events do.
    let audit: Vec<(String, Option<String>, Option<String>)> = match &t.db {
        wuye::db::Db::Sqlite(s) => sqlx::query_as("SELECT action, before, after FROM audit_log")
            .fetch_all(&s.reader)
            .await
            .unwrap(),
        wuye::db::Db::Postgres(p) => sqlx::query_as("SELECT action, before, after FROM audit_log")
            .fetch_all(p)
            .await
            .unwrap(),
    };
    assert!(audit.iter().any(|(a, _, _)| a == "session.login"));
    assert!(audit.iter().any(|(a, _, _)| a == "session.login_failed"));
    for (_, b, a) in &audit {
        for text in [b, a].into_iter().flatten() {
            assert!(
                !text.contains(PASSWORD) && !text.contains("wrong password"),
                "{text}"
            );
            assert!(!text.contains("13800138000"), "phone numbers are masked: {text}");
        }
    }
});

storage_test!(scopes_are_enforced_in_sql, |t| {
    seed(&t.db).await;
    let app = app(t);
    let ids = get(&app, "/api/v1/compounds").await.json();
    let id_of = |code: &str| {
        ids["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (xq1, xq2, xq3) = (id_of("XQ1"), id_of("XQ2"), id_of("XQ3"));
    let rooms_of = |token: String| {
        let app = app.clone();
        async move {
            let v = get_as(&app, "/api/v1/rooms?per_page=200", &token).await.json();
            let mut ids: Vec<i64> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["compound_id"].as_i64().unwrap())
                .collect();
            ids.dedup();
            ids
        }
    };
    let street1 = token_for(t, "street1", Role::StreetOfficer, "370705001").await;
    let street2 = token_for(t, "street2", Role::StreetOfficer, "370705002").await;
    let district = token_for(t, "district", Role::DistrictOfficer, "370705").await;
    let anju = token_for(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let hongda = token_for(t, "hongda", Role::CompanyStaff, "91110108551385082Q").await;
    let committee = token_for(t, "committee2", Role::CommitteeMember, "XQ2").await;

    // Reading people's data: each sees their own jurisdiction, filtered in the query.
    assert_eq!(rooms_of(street1.clone()).await, [xq1, xq2]);
    assert_eq!(rooms_of(street2.clone()).await, [xq3]);
    assert_eq!(rooms_of(district.clone()).await, [xq1, xq2, xq3]);
    assert_eq!(rooms_of(anju.clone()).await, [xq1, xq3]);
    assert_eq!(rooms_of(hongda.clone()).await, Vec::<i64>::new()); // its contract ended
    assert_eq!(rooms_of(committee.clone()).await, [xq2]);
    // Asking for another street's compound by id finds nothing.
    let other = get_as(&app, &format!("/api/v1/rooms?compound={xq3}"), &street1)
        .await
        .json();
    assert_eq!(other["total"], 0);

    // Changing: in scope it works and is audited with before and after; out of scope it is 404.
    let ok = json_as(
        &app,
        "PATCH",
        &format!("/api/v1/compounds/{xq1}"),
        &street1,
        serde_json::json!({"management_mode": "public_welfare", "households": 870}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json()["management_mode"], "public_welfare");
    let hidden = json_as(
        &app,
        "PATCH",
        &format!("/api/v1/compounds/{xq3}"),
        &street1,
        serde_json::json!({"households": 1}),
    )
    .await;
    assert_error(&hidden, StatusCode::NOT_FOUND, "not_found");
    let missing = json_as(
        &app,
        "PATCH",
        "/api/v1/compounds/99999",
        &street1,
        serde_json::json!({"households": 1}),
    )
    .await;
    // Out of scope looks exactly like absent: same status, same code.
    assert_eq!(
        (missing.status, missing.json()["error"]["code"].clone()),
        (hidden.status, hidden.json()["error"]["code"].clone())
    );
    let company = json_as(
        &app,
        "PATCH",
        &format!("/api/v1/compounds/{xq1}"),
        &anju,
        serde_json::json!({"households": 1}),
    )
    .await;
    assert_error(&company, StatusCode::FORBIDDEN, "forbidden");
    let admin = token_for(t, "admin", Role::CityAdmin, "370700").await;
    let log = get_as(&app, "/api/v1/audit", &admin).await.json();
    let entry = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "compound.update")
        .unwrap();
    assert_eq!(entry["actor"], "street1");
    assert!(
        entry["before"]
            .as_str()
            .unwrap()
            .contains("\"management_mode\":\"market\"")
    );
    assert!(
        entry["after"]
            .as_str()
            .unwrap()
            .contains("\"management_mode\":\"public_welfare\"")
    );
    assert_error(
        &get_as(&app, "/api/v1/audit", &district).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Creating in another street: as if the region did not exist.
    let elsewhere = json_as(&app, "POST", "/api/v1/compounds", &street1, serde_json::json!({"code": "XQ60", "name": "外街小区", "region_code": "370705002001", "class": "basic", "management_mode": "none"})).await;
    assert_error(&elsewhere, StatusCode::BAD_REQUEST, "invalid_parameter");
    let here = json_as(&app, "POST", "/api/v1/compounds", &street1, serde_json::json!({"code": "XQ61", "name": "本街小区", "region_code": "370705001002", "class": "basic", "management_mode": "none"})).await;
    assert_eq!(here.status, StatusCode::CREATED);

    // Imports: a district officer's file may not reach outside the district; companies may not import.
    let outside = send_as(
        &app,
        "POST",
        "/api/v1/imports/rooms",
        &street1,
        Body::from("compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,109,80\n"),
    )
    .await;
    assert_error(&outside, StatusCode::FORBIDDEN, "forbidden");
    let district2 = token_for(t, "district2", Role::DistrictOfficer, "370702").await;
    let stolen = send_as(
        &app,
        "POST",
        "/api/v1/imports/rooms",
        &district2,
        Body::from("compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,109,80\n"),
    )
    .await;
    let v = assert_error(&stolen, StatusCode::UNPROCESSABLE_ENTITY, "import_rejected");
    assert!(
        v["error"]["details"][0]["reason_en"]
            .as_str()
            .unwrap()
            .contains("unknown compound code")
    );
    let moved = send_as(
        &app,
        "POST",
        "/api/v1/imports/compounds",
        &district2,
        Body::from("code,name,region_code,class,management_mode\nXQ1,抢来的,370705001001,basic,none\n"),
    )
    .await;
    assert_error(&moved, StatusCode::UNPROCESSABLE_ENTITY, "import_rejected");
    assert_error(
        &send_as(
            &app,
            "POST",
            "/api/v1/imports/regions",
            &district,
            Body::from("code,name\n37,山东省\n"),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &send_as(&app, "POST", "/api/v1/imports/rooms", &anju, Body::from("x")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // Exports are cut to the jurisdiction too.
    let exp = get_as(&app, "/api/v1/exports/rooms?format=csv", &district2).await;
    assert_eq!(exp.status, StatusCode::OK);
    assert_eq!(
        exp.text().lines().count(),
        1,
        "only the header: no rooms in 370702"
    );
});

storage_test!(anonymous_and_token_rules, |t| {
    seed(&t.db).await;
    let app = app(t);
    // Public information needs no account.
    for uri in [
        "/api/v1/compounds",
        "/api/v1/regions",
        "/api/v1/companies",
        "/api/v1/coverage",
        "/compounds",
        "/regions/370705",
    ] {
        assert_eq!(get(&app, uri).await.status, StatusCode::OK, "{uri}");
    }
    // People's data and every write need one: 401 from the API.
    for uri in [
        "/api/v1/rooms",
        "/api/v1/imports",
        "/api/v1/exports/owners",
        "/api/v1/me",
        "/api/v1/audit",
    ] {
        assert_error(
            &get(&app, uri).await,
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
        );
    }
    let post = send(
        &app,
        Request::post("/api/v1/companies")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_error(&post, StatusCode::UNAUTHORIZED, "sign_in_required");
    // A revoked or made-up token is refused outright.
    let token = token_for(t, "admin", Role::CityAdmin, "370700").await;
    assert_eq!(get_as(&app, "/api/v1/me", &token).await.status, StatusCode::OK);
    wuye::auth::revoke_token(
        &t.db,
        "test",
        &wuye::auth::Actor::cli(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert_error(
        &get_as(&app, "/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "sign_in_required",
    );
    assert_error(
        &get_as(&app, "/api/v1/rooms", "wuye_made_up").await,
        StatusCode::UNAUTHORIZED,
        "sign_in_required",
    );
    // Tokens are stored as digests only.
    let n: (i64,) = match &t.db {
        wuye::db::Db::Sqlite(s) => sqlx::query_as("SELECT count(*) FROM api_tokens WHERE token_hash = $1")
            .bind(&token)
            .fetch_one(&s.reader)
            .await
            .unwrap(),
        wuye::db::Db::Postgres(p) => sqlx::query_as("SELECT count(*) FROM api_tokens WHERE token_hash = $1")
            .bind(&token)
            .fetch_one(p)
            .await
            .unwrap(),
    };
    assert_eq!(n.0, 0);
    // Account rules: scopes must match the role and exist; owners have no password account.
    let cli = wuye::auth::Actor::cli();
    let now = time::OffsetDateTime::now_utc();
    for (role, scope) in [
        (Role::StreetOfficer, "370705"),
        (Role::CompanyAdmin, "91350100M000100Y44"),
        (Role::CommitteeMember, "XQ404"),
        (Role::Owner, ""),
    ] {
        let new = wuye::auth::NewUser {
            login: format!("x{role}"),
            display_name: "x".into(),
            role,
            scope: scope.into(),
            password: PASSWORD.into(),
            phone: String::new(),
        };
        assert!(
            wuye::auth::create_user(&t.db, &new, &cli, now).await.is_err(),
            "{role} {scope}"
        );
    }
});

storage_test!(import_page_needs_an_account_and_a_csrf_token, |t| {
    seed(&t.db).await;
    let app = app(t);
    token_for(t, "admin", Role::CityAdmin, "370700").await;
    let (_, session) = sign_in(&app, "admin", PASSWORD).await;
    let session = session.unwrap();
    let page = get_cookie(&app, "/import", &session).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let upload = |csrf: String| {
        let boundary = "XyZ";
        let csv = "compound_code,building,entrance,number,exclusive_area\nXQ1,9号楼,1,101,80\n";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nrooms\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rooms.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
        );
        Request::post("/import")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::COOKIE, format!("wuye_session={session}"))
            .body(Body::from(body))
            .unwrap()
    };
    let forged = send(&app, upload("not-the-token".into())).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let r = send(&app, upload(csrf)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(
        html.contains("该小区下没有此楼栋") && html.contains("rooms.csv") && html.contains("9号楼"),
        "{html}"
    );
});

storage_test!(audit_is_kept_at_least_six_months, |t| {
    let now = time::OffsetDateTime::now_utc();
    let cli = wuye::auth::Actor::cli();
    for days in [400, 200, 100, 1] {
        wuye::auth::audit(
            &t.db,
            &cli,
            "test.entry",
            "test",
            &days.to_string(),
            None,
            None,
            now - time::Duration::days(days),
        )
        .await
        .unwrap();
    }
    // Asking to keep only 30 days still keeps six months.
    let n = wuye::auth::prune_audit(&t.db, now, time::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(n, 2);
    let left: Vec<String> = wuye::auth::audit_entries(&t.db, 10, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entity_id)
        .collect();
    assert_eq!(left, ["1", "100"]);
});
