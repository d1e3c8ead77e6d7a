//! What never reaches the log: passwords, one-time codes, owners' phone numbers.
//!
//! A test binary of its own because it installs a process-wide log subscriber, which the
//! shared integration binary (many tests logging from many threads) cannot do reliably.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use wuye::clock::Clock;
use wuye::files::{FileBackend, FileStore};

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<(String, String)>, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            v.to_str()
                .ok()?
                .split(';')
                .next()?
                .split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, cookies, body)
}

#[tokio::test]
async fn passwords_and_codes_never_reach_the_log() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .init();
    let t = support::TestDb::new(support::Engine::Sqlite).await.unwrap();
    support::seed(&t.db).await;
    let now = time::OffsetDateTime::now_utc();
    let password = "correct horse battery";
    let new = wuye::auth::NewUser {
        login: "street1".into(),
        display_name: "街道".into(),
        role: wuye_model::Role::StreetOfficer,
        scope: "370705001".into(),
        password: password.into(),
        phone: "13912345678".into(),
    };
    wuye::auth::create_user(&t.db, &new, &wuye::auth::Actor::cli(), now)
        .await
        .unwrap();
    let app = wuye::http::app(
        t.db.clone(),
        FileStore::new(t.db.clone(), FileBackend::Database),
        Clock::System,
        false,
    );

    let (_, cookies, _) = send(&app, Request::get("/login").body(Body::empty()).unwrap()).await;
    let csrf = cookies
        .iter()
        .find(|(k, _)| k == "wuye_login_csrf")
        .unwrap()
        .1
        .clone();
    let form = |uri: &str, body: String| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("wuye_login_csrf={csrf}"))
            .body(Body::from(body))
            .unwrap()
    };
    // A staff member: one wrong password, then the right one.
    let (status, _, _) = send(
        &app,
        form(
            "/login",
            format!("login=street1&password=a+wrong+secret&csrf={csrf}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(
        &app,
        form(
            "/login",
            format!(
                "login=street1&password={}&csrf={csrf}",
                password.replace(' ', "+")
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // An owner with a one-time code.
    let (status, _, _) = send(
        &app,
        form("/login/code", format!("phone=13800138000&csrf={csrf}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let outbox = wuye::otp::outbox(&t.db, 5).await.unwrap();
    let code = outbox[0]
        .body
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned();
    let (status, _, _) = send(
        &app,
        form(
            "/login/verify",
            format!("phone=13800138000&code={code}&csrf={csrf}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The log says what happened…
    assert!(
        logged.contains("message queued in the outbox") && logged.contains("138****8000"),
        "{logged}"
    );
    assert!(
        logged.contains("session.login_code") && logged.contains("session.login_failed"),
        "{logged}"
    );
    // …and none of the secrets.
    for secret in [
        password,
        "a wrong secret",
        "a+wrong+secret",
        code.as_str(),
        "13800138000",
        "13912345678",
    ] {
        let line = logged.lines().find(|l| l.contains(secret)).unwrap_or("");
        assert!(!logged.contains(secret), "{secret:?} was logged: {line}");
    }
}
