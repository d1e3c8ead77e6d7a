//! The access matrix: every role × every route of the router (read from the router's own
//! route list, so a new route without a rule here fails the test), in and out of scope.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use wuye::auth::{self, Actor, NewUser};
use wuye_model::Role;

use crate::http::{PASSWORD, Resp, app, send};
use crate::storage_test;
use crate::support::seed;

/// Who calls, and how: API routes with a bearer token, pages with a session cookie and its
/// CSRF token (as browsers do).
pub(crate) struct Caller {
    pub(crate) name: &'static str,
    pub(crate) role: Option<Role>,
    token: String,
    session: String,
    csrf: String,
}

/// What a route should answer a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// 2xx or a redirect that is not to the sign-in page.
    Ok,
    /// 201 Created.
    Created,
    /// API 401, or a page redirect to /login.
    SignIn,
    Forbidden,
    NotFound,
    /// Refused as invalid input (a region outside the scope is "unknown").
    BadRequest,
    /// An illegal step on an object the caller may act on.
    Conflict,
    /// A file rejected with its row errors (422).
    Unprocessable,
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/v1/") && path != "/api/v1/openapi.json"
}

const REGULATORS: [Role; 4] = [
    Role::CityAdmin,
    Role::DistrictOfficer,
    Role::StreetOfficer,
    Role::CommunityOfficer,
];

/// The rule of each route. A route missing here fails the test.
fn rule(method: &str, path: &str, who: &Caller, out_of_scope: bool) -> Option<Expect> {
    if let Some(e) = crate::matrix_credit::rule(method, path, who, out_of_scope) {
        return Some(e);
    }
    if let Some(e) = crate::matrix_assessment::rule(method, path, who, out_of_scope) {
        return Some(e);
    }
    if let Some(e) = crate::matrix_inspections::rule(method, path, who, out_of_scope) {
        return Some(e);
    }
    if let Some(e) = crate::matrix_supervision::rule(method, path, who, out_of_scope) {
        return Some(e);
    }
    use Expect::*;
    let signed = who.role.is_some();
    let role = who.role;
    let regulator = role.is_some_and(|r| REGULATORS.contains(&r));
    let admin = role == Some(Role::CityAdmin);
    let admin_or_district = matches!(role, Some(Role::CityAdmin | Role::DistrictOfficer));
    let verifier = matches!(
        role,
        Some(Role::CommitteeMember | Role::CompanyAdmin | Role::CompanyStaff)
    );
    let gate = |allowed: bool| {
        if !signed {
            SignIn
        } else if allowed {
            Ok
        } else {
            Forbidden
        }
    };
    Some(match (method, path) {
        // Public information and the ways in.
        (
            "GET",
            "/"
            | "/regions"
            | "/regions/{code}"
            | "/compounds"
            | "/compounds/{id}"
            | "/companies"
            | "/companies/{id}"
            | "/lang"
            | "/login"
            | "/api/docs"
            | "/healthz"
            | "/readyz"
            | "/metrics"
            | "/static/app.css"
            | "/api/v1/openapi.json"
            | "/api/v1/regions"
            | "/api/v1/regions/{code}"
            | "/api/v1/compounds"
            | "/api/v1/compounds/{id}"
            | "/api/v1/companies"
            | "/api/v1/companies/{id}"
            | "/api/v1/coverage"
            | "/api/v1/templates/{kind}",
        ) => Ok,
        // The sign-in forms are CSRF-protected by a cookie set with the form: without it, refused.
        ("POST", "/login" | "/login/code" | "/login/verify") => Forbidden,
        // Signed in, any role.
        ("GET", "/account" | "/api/v1/me" | "/api/v1/rooms") => gate(true),
        ("POST", "/logout") => gate(true),
        // Regulators, within their jurisdiction.
        ("GET", "/api/v1/imports" | "/api/v1/exports/{kind}") => gate(regulator),
        ("POST", "/api/v1/compounds") => match gate(regulator) {
            Ok if out_of_scope => BadRequest,
            e => e,
        },
        ("PATCH", "/api/v1/compounds/{id}") => match gate(regulator) {
            Ok if out_of_scope => NotFound,
            e => e,
        },
        ("POST", "/api/v1/companies") => gate(admin_or_district),
        ("GET" | "POST", "/import") | ("POST", "/api/v1/imports/{kind}") => gate(admin_or_district),
        ("GET", "/audit" | "/outbox" | "/api/v1/audit" | "/api/v1/audit/export") => gate(admin),
        // Accounts: administrators within their administration.
        ("GET", "/users" | "/api/v1/users") => gate(role.is_some_and(Role::administers_users)),
        ("POST", "/users") => match gate(role.is_some_and(Role::administers_users)) {
            // The form creates a street officer in 370705001: outside a company's administration.
            Ok if role == Some(Role::CompanyAdmin) => BadRequest,
            e => e,
        },
        ("POST", "/api/v1/users") => match gate(role.is_some_and(Role::administers_users)) {
            Ok if role == Some(Role::CompanyAdmin) => BadRequest,
            e => e,
        },
        // Ownership claims: owners claim, the compound's committee or company decides.
        ("POST", "/claims") => gate(role == Some(Role::Owner)),
        ("GET", "/claims") => gate(verifier),
        ("POST", "/claims/{id}/decide") => match gate(verifier) {
            Ok if out_of_scope => NotFound,
            e => e,
        },
        // Work orders: everyone signed in files; each sees the orders in their scope.
        ("GET", "/api/v1/orders") => gate(true),
        ("POST", "/api/v1/orders") => match gate(true) {
            Ok if who.name == "hongda" => NotFound, // no compound in its care
            Ok => Created,
            e => e,
        },
        ("GET", "/api/v1/orders/{id}") => match gate(true) {
            Ok if !sees_order(who.name) => NotFound,
            e => e,
        },
        // Rating is the reporter's; the order has not been replied to yet, so it is illegal.
        ("POST", "/api/v1/orders/{id}/actions") => match gate(true) {
            Ok if !sees_order(who.name) => NotFound,
            Ok if role == Some(Role::Owner) => Conflict,
            Ok => Forbidden,
            e => e,
        },
        // Photos: added by those who may act on the order (an empty body is not a photo).
        ("POST", "/api/v1/orders/{id}/photos") => match gate(true) {
            Ok if !sees_order(who.name) => NotFound,
            Ok => BadRequest,
            e => e,
        },
        ("GET", "/api/v1/orders/{id}/photos/{position}") => match gate(true) {
            Ok => NotFound, // there is no photo yet; out of scope looks the same
            e => e,
        },
        ("POST", "/orders/{id}/photos") => match gate(true) {
            Ok if !sees_order(who.name) => NotFound,
            e => e,
        },
        // Rosters are people's data: signed in and in scope (XQ1 for most, XQ3 for the community officer).
        ("GET", "/api/v1/compounds/{id}/roster") => match gate(true) {
            Ok if matches!(who.name, "hongda" | "committee") => NotFound,
            e => e,
        },
        // Open311: public reads; writes need an api_key in the form (none here).
        ("GET", "/open311/v2/{file}" | "/open311/v2/services/{file}" | "/open311/v2/requests/{file}") => Ok,
        ("GET", "/open311/v2/tokens/{file}") => NotFound,
        ("POST", "/open311/v2/{file}") => Forbidden,
        // Figures: regulators, within their jurisdiction.
        ("GET", "/api/v1/orders/figures" | "/figures") => gate(regulator),
        // Work-order pages, as the API.
        ("GET", "/orders" | "/orders/new") => gate(true),
        ("POST", "/orders") => match gate(true) {
            Ok if who.name == "hongda" => NotFound,
            e => e,
        },
        ("GET", "/orders/{id}") => match gate(true) {
            Ok if !sees_order(who.name) => NotFound,
            e => e,
        },
        ("POST", "/orders/{id}/act") => match gate(true) {
            Ok if !sees_order(who.name) => NotFound,
            Ok if role == Some(Role::Owner) => Conflict,
            Ok => Forbidden,
            e => e,
        },
        // Notifications: everyone signed in reads their own.
        ("GET", "/notifications" | "/api/v1/notifications") => gate(true),
        ("POST", "/notifications/read" | "/api/v1/notifications/read") => gate(true),
        // City settings: everyone signed in reads the time limits; city administrators edit.
        ("GET", "/api/v1/settings/sla") => gate(true),
        ("GET", "/settings")
        | ("POST", "/settings/sla" | "/settings/calendar" | "/settings/decisions" | "/settings/assessment") => {
            gate(admin)
        }
        ("PUT", "/api/v1/settings/sla/{category}" | "/api/v1/settings/assessment")
        | ("POST", "/api/v1/settings/calendar") => gate(admin),
        // The assessment and inspection settings: city administrators and district officers read.
        ("GET", "/api/v1/settings/assessment") => gate(admin_or_district),
        // 12345 import: regulators; a ticket for a compound outside the jurisdiction is a row error.
        ("POST", "/api/v1/orders/import" | "/orders/import") => match gate(regulator) {
            Ok if who.name == "community" && path.starts_with("/api") => Unprocessable,
            e => e,
        },
        // Owners' decisions (XQ1's, under notice): organisers are the compound's committee and
        // the regulators over it; everyone in scope reads; nothing is exported before the close.
        ("GET", "/decisions" | "/api/v1/decisions") => gate(true),
        ("GET", "/decisions/new") | ("POST", "/decisions") => gate(organises(who.name)),
        ("POST", "/api/v1/decisions") => match gate(organises(who.name)) {
            Ok => Created,
            e => e,
        },
        ("GET", "/decisions/{id}" | "/api/v1/decisions/{id}") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            e => e,
        },
        // Opening before the 16th day is refused by the calendar (409) for organisers.
        ("POST", "/decisions/{id}/act") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            Ok if organises(who.name) => Conflict,
            Ok => Forbidden,
            e => e,
        },
        // Documents: organisers add them during the notice (the matrix sends a file that is
        // no PDF or image: 400); everyone who reads the decision downloads (none exists: 404).
        ("POST", "/decisions/{id}/documents") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            Ok if organises(who.name) => BadRequest,
            Ok => Forbidden,
            e => e,
        },
        ("GET", "/api/v1/decisions/{id}/documents/{position}") => match gate(true) {
            Ok => NotFound,
            e => e,
        },
        // Extending: organisers, only while voting is open (409 under notice).
        ("POST", "/api/v1/decisions/{id}/extend") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            Ok if organises(who.name) => Conflict,
            Ok => Forbidden,
            e => e,
        },
        // The enrolment audit: organisers only, and only after the close (409 before).
        ("GET", "/api/v1/decisions/{id}/audit") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            Ok if organises(who.name) => Conflict,
            Ok => Forbidden,
            e => e,
        },
        ("GET", "/decisions/{id}/export" | "/api/v1/decisions/{id}/export") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            Ok => Conflict,
            e => e,
        },
        // Only owners vote, and not before voting opens.
        ("POST", "/api/v1/decisions/{id}/ballots") => match gate(true) {
            Ok if !sees_decision(who.name) => NotFound,
            Ok if role == Some(Role::Owner) => Conflict,
            Ok => Forbidden,
            e => e,
        },
        _ => return None,
    })
}

/// Who sees the matrix's decision (XQ1's): regulators over it, its company, its verified owner.
fn sees_decision(name: &str) -> bool {
    matches!(name, "admin" | "district" | "street" | "anju" | "owner")
}

/// Who organises XQ1's decisions here: the regulators over it (its committee is not a caller).
fn organises(name: &str) -> bool {
    matches!(name, "admin" | "district" | "street")
}

/// Who sees the matrix's order (filed by the owner in XQ1, handled by 安居).
fn sees_order(name: &str) -> bool {
    matches!(name, "admin" | "district" | "street" | "anju" | "owner")
}

fn classify(path: &str, r: &Resp) -> Expect {
    let to_login =
        r.status == StatusCode::SEE_OTHER && r.headers.get(header::LOCATION).is_some_and(|l| l == "/login");
    match r.status {
        s if to_login || s == StatusCode::UNAUTHORIZED => {
            if is_api(path) {
                assert_eq!(
                    s,
                    StatusCode::UNAUTHORIZED,
                    "the API answers 401, never a redirect: {path}"
                );
            }
            Expect::SignIn
        }
        StatusCode::FORBIDDEN => Expect::Forbidden,
        StatusCode::NOT_FOUND => Expect::NotFound,
        StatusCode::BAD_REQUEST => Expect::BadRequest,
        StatusCode::CONFLICT => Expect::Conflict,
        StatusCode::UNPROCESSABLE_ENTITY => Expect::Unprocessable,
        StatusCode::CREATED => Expect::Created,
        s if s.is_success() || s.is_redirection() => Expect::Ok,
        s => panic!("{path}: unexpected status {s}: {}", r.text()),
    }
}

storage_test!(every_role_on_every_route, |t| {
    seed(&t.db).await;
    let app = app(t);
    let now = time::OffsetDateTime::now_utc();
    let cli = Actor::cli();
    let ids = crate::http::get(&app, "/api/v1/compounds").await.json();
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

    // One account per role; the owner is verified for 张三's rooms in XQ1.
    let accounts: [(&str, Role, &str); 7] = [
        ("admin", Role::CityAdmin, "370700"),
        ("district", Role::DistrictOfficer, "370705"),
        ("street", Role::StreetOfficer, "370705001"),
        ("community", Role::CommunityOfficer, "370705002001"),
        ("anju", Role::CompanyAdmin, "91350100M000100Y43"),
        ("hongda", Role::CompanyStaff, "91110108551385082Q"),
        ("committee", Role::CommitteeMember, "XQ2"),
    ];
    let mut callers = vec![Caller {
        name: "anonymous",
        role: None,
        token: String::new(),
        session: String::new(),
        csrf: String::new(),
    }];
    for (login, role, scope) in accounts {
        let new = NewUser {
            login: login.into(),
            display_name: login.into(),
            role,
            scope: scope.into(),
            password: PASSWORD.into(),
            phone: String::new(),
        };
        let id = auth::create_user(&t.db, &new, &cli, now).await.unwrap();
        let token = auth::create_token(&t.db, login, "m", &cli, now).await.unwrap();
        let session = auth::start_session(&t.db, id, "", now).await.unwrap();
        let csrf = auth::session_actor(&t.db, &session, "", now)
            .await
            .unwrap()
            .unwrap()
            .csrf
            .unwrap();
        callers.push(Caller {
            name: login,
            role: Some(role),
            token,
            session,
            csrf,
        });
    }
    wuye::otp::request_code(&t.db, &wuye::otp::Sender::Outbox, "13800138000", "", now)
        .await
        .unwrap();
    let code = crate::owners::last_code(&t.db, "13800138000").await;
    let owner = match wuye::otp::verify_code(&t.db, "13800138000", &code, "", now)
        .await
        .unwrap()
    {
        wuye::otp::Verified::Ok { token, actor } => (token, *actor),
        other => panic!("{other:?}"),
    };
    let owner_token = auth::create_token(&t.db, "13800138000", "m", &cli, now)
        .await
        .unwrap();
    callers.push(Caller {
        name: "owner",
        role: Some(Role::Owner),
        token: owner_token,
        session: owner.0.clone(),
        csrf: owner.1.csrf.clone().unwrap(),
    });
    // 张三 is verified through a confirmed claim, as in production.
    let claim = wuye::claims::claim(
        &t.db,
        &owner.1,
        wuye::claims::RoomRef {
            compound_id: xq1,
            building: "1号楼",
            entrance: "1",
            number: "102",
        },
        None,
        now,
    )
    .await
    .unwrap();
    let anju = auth::session_actor(&t.db, &callers[5].session, "", now)
        .await
        .unwrap()
        .unwrap();
    let zhang = wuye::claims::room_owners(
        &t.db,
        wuye::claims::my_claims(&t.db, &owner.1).await.unwrap()[0].room_id,
    )
    .await
    .unwrap()[0]
        .0;
    wuye::claims::decide(
        &t.db,
        &anju,
        claim,
        wuye::claims::Decision::Confirm { owner_id: zhang },
        now,
    )
    .await
    .unwrap();
    // A pending claim for the matrix to decide (in 安居's scope only).
    let claim = wuye::claims::claim(
        &t.db,
        &owner.1,
        wuye::claims::RoomRef {
            compound_id: xq1,
            building: "1号楼",
            entrance: "2",
            number: "101",
        },
        None,
        now,
    )
    .await
    .unwrap();

    // An order filed by the owner in XQ1 (handled by 安居).
    let new = wuye::orders::NewOrder {
        compound_id: xq1,
        room_id: None,
        place: "2号楼楼道".into(),
        category: "repair".into(),
        description: "楼道灯坏了".into(),
        channel: None,
        emergency: false,
        reporter_name: String::new(),
        reporter_phone: String::new(),
    };
    let (order, _) = wuye::orders::submit(
        &t.db,
        &owner.1,
        &new,
        None,
        &wuye::settings::Settings::shipped(),
        now,
    )
    .await
    .unwrap();
    // A decision of XQ1 under notice (voting opens 16 days on).
    let mut nd = crate::decisions::new_decision(xq1, &["covenant"]);
    nd.voting_closes = (now + time::Duration::days(40)).date();
    let decision = wuye::decisions::create(&t.db, &cli, &nd, now).await.unwrap();

    // A closed period (its final run) for the assessment routes.
    let closed = wuye::assessment::run(
        &t.db,
        &cli,
        wuye_model::Period::parse("2025-12").unwrap(),
        true,
        &wuye::settings::Settings::shipped(),
        now,
    )
    .await
    .unwrap();
    let anju_id = wuye::db_read!(&t.db, pool => sqlx::query_as::<_, (i64,)>("SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").fetch_one(pool).await).unwrap().0;
    let rubric_id = wuye::db_read!(&t.db, pool => sqlx::query_as::<_, (i64,)>("SELECT min(id) FROM rubrics").fetch_one(pool).await).unwrap().0;
    // A submitted inspection of XQ1 with a finding on an issued notice, for the inspection routes.
    let (inspection, finding, notice) = crate::inspections::seed_notice(&t.db, xq1).await;
    // A pending interview and a proposed exit case of 安居 at XQ1, for the supervision routes.
    let interview = wuye::supervision::create_interview(
        &t.db,
        &cli,
        &wuye::supervision::NewInterview {
            company_id: anju_id,
            compound_id: Some(xq1),
            reason: "矩阵".into(),
        },
        now,
    )
    .await
    .unwrap()
    .id;
    let exit_case = wuye::supervision::propose_exit(
        &t.db,
        &cli,
        &wuye::supervision::NewExitCase {
            company_id: anju_id,
            compound_id: xq1,
            reason: "矩阵".into(),
        },
        now,
    )
    .await
    .unwrap()
    .case
    .id;

    // The compound outside each regulator's jurisdiction (none for city and district).
    let outside = |name: &str| match name {
        "street" => Some((xq3, "370705002001")),
        "community" => Some((xq1, "370705001001")),
        _ => None,
    };
    let inside_region = |name: &str| {
        if name == "community" {
            "370705002001"
        } else {
            "370705001001"
        }
    };
    let mut routes = wuye::http::route_list();
    // Signing out ends the caller's session: walk it last.
    routes.sort_by_key(|(m, p)| (m == "POST" && p == "/logout", m.clone(), p.clone()));
    assert!(routes.len() > 35, "{routes:?}");
    let mut checked = 0;
    let mut serial = 0u32;
    for (method, template) in &routes {
        for who in &callers {
            let scoped_route = matches!(
                (method.as_str(), template.as_str()),
                ("POST", "/api/v1/compounds") | ("PATCH", "/api/v1/compounds/{id}")
            );
            let decide = template == "/claims/{id}/decide";
            for out in [false, true] {
                // Out-of-scope runs: regulators with a compound outside their jurisdiction.
                if out && !(scoped_route && outside(who.name).is_some()) {
                    continue;
                }
                // The pending claim is in 安居's compound: every other verifier is out of scope.
                let out = out || (decide && who.name != "anju");
                let Some(expect) = rule(method, template, who, out) else {
                    panic!("{method} {template} has no access rule in the matrix: add one");
                };
                serial += 1;
                // Fill in the path and the body for this caller.
                let compound = match (out, outside(who.name)) {
                    (true, Some((id, _))) => id,
                    _ if who.name == "community" => xq3,
                    _ => xq1,
                };
                let path = template
                    .replace("/api/v1/orders/{id}", &format!("/api/v1/orders/{order}"))
                    .replace(
                        "/inspections/findings/{id}",
                        &format!("/inspections/findings/{finding}"),
                    )
                    .replace("/inspections/{id}", &format!("/inspections/{inspection}"))
                    .replace("/rectifications/{id}", &format!("/rectifications/{notice}"))
                    .replace("/interviews/{id}", &format!("/interviews/{interview}"))
                    .replace("/exit-cases/{id}", &format!("/exit-cases/{exit_case}"))
                    .replace("/exits/{id}", &format!("/exits/{exit_case}"))
                    .replace("/orders/{id}", &format!("/orders/{order}"))
                    .replace("/orders/new", &format!("/orders/new?compound={xq1}"))
                    .replace("/decisions/new", &format!("/decisions/new?compound={xq1}"))
                    .replace("/decisions/{id}", &format!("/decisions/{decision}"))
                    .replace("/runs/{id}", &format!("/runs/{}", closed.run_id))
                    .replace("/{compound}/{company}", &format!("/{xq1}/{anju_id}"))
                    .replace("/rubrics/{id}", &format!("/rubrics/{rubric_id}"))
                    .replace("/api/v1/rankings", "/api/v1/rankings?period=2025-12")
                    .replace("/open311/v2/{file}", "/open311/v2/requests.json")
                    .replace("/open311/v2/services/{file}", "/open311/v2/services/repair.xml")
                    .replace(
                        "/open311/v2/requests/{file}",
                        &format!("/open311/v2/requests/{order}.json"),
                    )
                    .replace("/open311/v2/tokens/{file}", "/open311/v2/tokens/abc.json")
                    .replace("{position}", "1")
                    .replace("{category}", "repair")
                    .replace("{code}", "370705")
                    .replace("{kind}", "rooms")
                    .replace(
                        "{id}",
                        &if template.starts_with("/claims") {
                            claim.to_string()
                        } else if template.starts_with("/companies")
                            || template.starts_with("/api/v1/companies")
                        {
                            "1".into()
                        } else {
                            compound.to_string()
                        },
                    );
                let region = if out {
                    outside(who.name).map(|o| o.1).unwrap_or("370705001001")
                } else {
                    inside_region(who.name)
                };
                let (body, ctype): (String, &str) = match (method.as_str(), template.as_str()) {
                    ("POST", "/api/v1/compounds") => (serde_json::json!({"code": format!("M{serial}"), "name": "矩阵", "region_code": region, "class": "basic", "management_mode": "none"}).to_string(), "application/json"),
                    ("PATCH", _) => (r#"{"households": 123}"#.into(), "application/json"),
                    ("POST", "/api/v1/orders") => {
                        let c = match who.name { "community" => xq3, "committee" => xq2, _ => xq1 };
                        (serde_json::json!({"compound_id": c, "category": "repair", "description": "楼道灯不亮"}).to_string(), "application/json")
                    }
                    ("POST", "/orders") => {
                        let c = match who.name { "community" => xq3, "committee" => xq2, _ => xq1 };
                        let field = |k: &str, v: &str| format!("--B\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n");
                        let b = [field("csrf", &who.csrf), field("key", ""), field("compound_id", &c.to_string()), field("category", "repair"), field("description", "灯坏了")].concat() + "--B--\r\n";
                        (b, "multipart/form-data; boundary=B")
                    }
                    ("POST", "/decisions") => (format!("csrf={}&compound_id={xq1}&title=%E7%9F%A9%E9%98%B5&matters=covenant&form=meeting&voting_closes=2099-12-31", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/api/v1/decisions") => (serde_json::json!({"compound_id": xq1, "title": "矩阵", "matters": ["covenant"], "form": "meeting", "voting_closes": "2099-12-31"}).to_string(), "application/json"),
                    ("POST", "/decisions/{id}/act") => (format!("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nopen\r\n--B--\r\n", who.csrf), "multipart/form-data; boundary=B"),
                    ("POST", "/api/v1/decisions/{id}/extend") => (r#"{"voting_closes": "2099-12-31"}"#.into(), "application/json"),
                    ("POST", "/api/v1/decisions/{id}/ballots") => (r#"{"answers": ["yes"]}"#.into(), "application/json"),
                    ("POST", "/api/v1/ratings") => (serde_json::json!({"compound_id": xq1, "level": "satisfied", "score": "80"}).to_string(), "application/json"),
                    ("POST", "/rate") => (format!("csrf={}&compound_id={xq1}&level=satisfied&score=80", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/api/v1/assessment/runs") => (r#"{"period": "2025-12"}"#.into(), "application/json"),
                    ("POST", "/assessment/rubrics") => (format!("csrf={}&region_code=370705&effective_from=2027-01-01&csv=x", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/assessment/rubrics/{id}/publish") => (format!("csrf={}", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/assessment/run") => (format!("csrf={}&period=2025-12", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/api/v1/assessment/rubrics") => (serde_json::json!({"region_code": "370705", "effective_from": "2027-01-01", "csv": wuye_model::assessment::Rubric::default_csv()}).to_string(), "application/json"),
                    ("POST", "/api/v1/assessment/deductions") => (serde_json::json!({"compound_id": xq1, "company_id": anju_id, "dated_on": "2026-10-15", "points": "1", "reason": "矩阵"}).to_string(), "application/json"),
                    ("POST", "/settings/decisions") => (format!("csrf={}&roll_check=7&objection=7&result_shown=30&extension=90", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/notifications/read") => (format!("csrf={}", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/settings/sla") => (format!("csrf={}&category=repair&sign_days=1&handle_days=5&max_extension_days=10&max_extensions=1&return_days=2&rate_days=7", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/settings/calendar") => (format!("csrf={}&days=2027-01-01%2Coff%2C%E5%85%83%E6%97%A6", who.csrf), "application/x-www-form-urlencoded"),
                    ("PUT", "/api/v1/settings/sla/{category}") => (r#"{"sign_days":1,"handle_days":5,"max_extension_days":10,"max_extensions":1,"return_days":2,"rate_days":7,"emergency":false}"#.into(), "application/json"),
                    ("POST", "/api/v1/settings/calendar") => ("2027-01-01,off,元旦\n".into(), "text/csv"),
                    ("POST", "/settings/assessment") => (format!("csrf={}&bottom_n=5&bottom_scope=district&bottom_min_tenure_percent=50&settle_days=10&rating_grace_days=5&notice_days=15&escalate_days=5", who.csrf), "application/x-www-form-urlencoded"),
                    ("PUT", "/api/v1/settings/assessment") => (serde_json::to_string(&wuye::settings::AssessmentSettings::default()).unwrap(), "application/json"),
                    ("POST", "/api/v1/orders/import") => ("ticket,received_at,compound_code,category,description\nM-1,2026-11-16 10:00,XQ1,repair,灯坏了\n".into(), "text/csv"),
                    ("POST", "/orders/import") => {
                        let b = format!("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.csv\"\r\n\r\nticket,received_at,compound_code,category,description\nM-1,2026-11-16 10:00,XQ1,repair,灯坏了\n\r\n--B--\r\n", who.csrf);
                        (b, "multipart/form-data; boundary=B")
                    }
                    ("POST", "/orders/{id}/act") => (format!("csrf={}&action=rate&satisfaction=satisfied", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/api/v1/orders/{id}/actions") => (r#"{"action": "rate", "satisfaction": "satisfied"}"#.into(), "application/json"),
                    ("POST", "/api/v1/companies") => (serde_json::json!({"uscc": wuye_model::Uscc::with_check(&format!("91370705{:09}", 700_000 + serial)).unwrap().to_string(), "name": format!("矩阵物业{serial}")}).to_string(), "application/json"),
                    ("POST", "/api/v1/imports/{kind}") => ("compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,101,89.50\n".into(), "text/csv"),
                    ("POST", "/claims/{id}/decide") => (format!("csrf={}&decision=reject&reason=matrix", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/logout") => (format!("csrf={}", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/users") => (format!("csrf={}&login=u{serial}&display_name=x&role=street_officer&scope=370705001&password=long+enough+pw", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/api/v1/users") => (serde_json::json!({"login": format!("a{serial}"), "display_name": "x", "role": "street_officer", "scope": "370705001", "password": "long enough pw"}).to_string(), "application/json"),
                    ("POST", "/login") => (format!("login=admin&password=x&csrf={}", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/login/code" | "/login/verify") => (format!("phone=13800138000&code=123456&csrf={}", who.csrf), "application/x-www-form-urlencoded"),
                    ("POST", "/decisions/{id}/documents") => (format!("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf\"\r\n\r\nnot a pdf\r\n--B--\r\n", who.csrf), "multipart/form-data; boundary=B"),
                    ("POST", "/orders/{id}/photos") => (format!("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--B--\r\n", who.csrf), "multipart/form-data; boundary=B"),
                    ("POST", "/import" | "/claims") => {
                        let b = format!("--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"compound\"\r\n\r\n{xq1}\r\n--B\r\nContent-Disposition: form-data; name=\"building\"\r\n\r\n1号楼\r\n--B\r\nContent-Disposition: form-data; name=\"entrance\"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name=\"number\"\r\n\r\n101\r\n--B\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nrooms\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n\r\ncompound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,101,89.50\n\r\n--B--\r\n", who.csrf);
                        (b, "multipart/form-data; boundary=B")
                    }
                    _ => (String::new(), "application/x-www-form-urlencoded"),
                };
                let mut req = Request::builder()
                    .method(method.as_str())
                    .uri(&path)
                    .header(header::CONTENT_TYPE, ctype);
                if who.role.is_some() {
                    req = if is_api(template) {
                        req.header(header::AUTHORIZATION, format!("Bearer {}", who.token))
                    } else {
                        req.header(header::COOKIE, format!("wuye_session={}", who.session))
                    };
                }
                let r = send(&app, req.body(Body::from(body)).unwrap()).await;
                let got = match classify(template, &r) {
                    Expect::Created if expect != Expect::Created => Expect::Ok,
                    g => g,
                };
                assert_eq!(
                    got,
                    expect,
                    "{} {method} {path} (out of scope: {out}) → {}: {}",
                    who.name,
                    r.status,
                    r.text().chars().take(300).collect::<String>()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked}");

    // What each sees of people's data (rooms), by SQL scope.
    let rooms = |who: &Caller| {
        let app = app.clone();
        let token = who.token.clone();
        async move {
            let v = crate::http::get_as(&app, "/api/v1/rooms?per_page=200", &token)
                .await
                .json();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["compound_name"].as_str().unwrap().to_owned(),
                        r["number"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let names = |v: Vec<(String, String)>| {
        let mut n: Vec<String> = v.into_iter().map(|x| x.0).collect();
        n.dedup();
        n
    };
    assert_eq!(
        names(rooms(&callers[3]).await),
        ["福寿小区", "东关花园"],
        "street 370705001: its two compounds"
    );
    assert_eq!(
        names(rooms(&callers[4]).await),
        ["胜利家园"],
        "community 370705002001"
    );
    assert_eq!(
        names(rooms(&callers[5]).await),
        ["福寿小区", "胜利家园"],
        "安居: the compounds it manages"
    );
    assert!(
        rooms(&callers[6]).await.is_empty(),
        "宏达: its contract has ended"
    );
    assert_eq!(names(rooms(&callers[7]).await), ["东关花园"], "committee of XQ2");
    assert_eq!(
        rooms(&callers[8]).await,
        [
            ("福寿小区".to_owned(), "101".to_owned()),
            ("福寿小区".to_owned(), "102".to_owned())
        ],
        "the owner: 张三's rooms only"
    );
});
