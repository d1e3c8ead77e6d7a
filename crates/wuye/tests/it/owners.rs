//! Owners: one-time codes (expiry, single use, attempts, rate limits under a burst), the
//! outbox, ownership claims and verification, and what an owner may see.

use time::OffsetDateTime;
use wuye::auth::Actor;
use wuye::otp::{self, Requested, Sender, Verified};
use wuye_model::Role;

use crate::http::token_for;
use crate::storage_test;
use crate::support::seed;

/// The code in the newest outbox message to `phone`.
pub async fn last_code(db: &wuye::db::Db, phone: &str) -> String {
    let msgs = otp::outbox(db, 50).await.unwrap();
    let m = msgs
        .iter()
        .find(|m| m.recipient == phone)
        .expect("a message to this phone");
    m.body
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned()
}

async fn sign_in_owner(db: &wuye::db::Db, phone: &str, now: OffsetDateTime) -> Actor {
    assert_eq!(
        otp::request_code(db, &Sender::Outbox, phone, "10.0.0.1", now)
            .await
            .unwrap(),
        Requested::Sent
    );
    let code = last_code(db, phone).await;
    match otp::verify_code(db, phone, &code, "10.0.0.1", now).await.unwrap() {
        Verified::Ok { actor, .. } => *actor,
        other => panic!("{other:?}"),
    }
}

storage_test!(one_time_codes, |t| {
    let db = &t.db;
    let mut now = OffsetDateTime::now_utc();
    let phone = "13900001111";
    assert_eq!(
        otp::request_code(db, &Sender::Outbox, "12345", "ip", now)
            .await
            .unwrap(),
        Requested::InvalidPhone
    );
    assert!(matches!(
        otp::verify_code(db, phone, "000000", "ip", now).await.unwrap(),
        Verified::NoCode
    ));
    assert_eq!(
        otp::request_code(db, &Sender::Outbox, phone, "ip", now)
            .await
            .unwrap(),
        Requested::Sent
    );
    let code = last_code(db, phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        otp::verify_code(db, phone, wrong, "ip", now).await.unwrap(),
        Verified::Wrong
    ));
    let actor = match otp::verify_code(db, phone, &code, "ip", now).await.unwrap() {
        Verified::Ok { actor, .. } => actor,
        other => panic!("{other:?}"),
    };
    assert_eq!(actor.role, Some(Role::Owner));
    assert_eq!(actor.display_name, "139****1111");
    assert!(matches!(
        otp::verify_code(db, phone, &code, "ip", now).await.unwrap(),
        Verified::Reused
    ));
    // One code a minute.
    assert_eq!(
        otp::request_code(db, &Sender::Outbox, phone, "ip", now)
            .await
            .unwrap(),
        Requested::TooSoon
    );
    now += time::Duration::seconds(61);
    assert_eq!(
        otp::request_code(db, &Sender::Outbox, phone, "ip", now)
            .await
            .unwrap(),
        Requested::Sent
    );
    // Expired after five minutes.
    let code = last_code(db, phone).await;
    assert!(matches!(
        otp::verify_code(db, phone, &code, "ip", now + time::Duration::minutes(5))
            .await
            .unwrap(),
        Verified::Expired
    ));
    // Five wrong tries burn the code, even for the right one afterwards.
    now += time::Duration::seconds(61);
    otp::request_code(db, &Sender::Outbox, phone, "ip", now)
        .await
        .unwrap();
    let code = last_code(db, phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 1..=5 {
        let v = otp::verify_code(db, phone, wrong, "ip", now).await.unwrap();
        if i < 5 {
            assert!(matches!(v, Verified::Wrong), "try {i}: {v:?}")
        } else {
            assert!(matches!(v, Verified::TooManyAttempts), "{v:?}")
        }
    }
    assert!(matches!(
        otp::verify_code(db, phone, &code, "ip", now).await.unwrap(),
        Verified::TooManyAttempts
    ));
    // Codes are stored as hashes; the audit log never holds one.
    let hashes: Vec<(String,)> = match db {
        wuye::db::Db::Sqlite(s) => sqlx::query_as("SELECT code_hash FROM otp_codes")
            .fetch_all(&s.reader)
            .await
            .unwrap(),
        wuye::db::Db::Postgres(p) => sqlx::query_as("SELECT code_hash FROM otp_codes")
            .fetch_all(p)
            .await
            .unwrap(),
    };
    assert!(hashes.iter().all(|h| h.0.len() == 64 && h.0 != code));
    let audit = wuye::auth::audit_entries(db, 100, 0).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "session.login_code"));
    for e in audit {
        assert!(!format!("{e:?}").contains(&code));
    }
});

storage_test!(rate_limits_hold_under_a_burst, |t| {
    let now = OffsetDateTime::now_utc();
    // 100 parallel requests for one phone: exactly one code.
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            otp::request_code(&db, &Sender::Outbox, "13700000000", "10.1.1.1", now)
                .await
                .unwrap()
        }));
    }
    let mut sent = 0;
    for task in tasks {
        if task.await.unwrap() == Requested::Sent {
            sent += 1;
        }
    }
    assert_eq!(sent, 1);
    // 100 parallel requests from one address for 100 phones: exactly the hourly limit.
    let mut tasks = Vec::new();
    for i in 0..100 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            otp::request_code(&db, &Sender::Outbox, &format!("136{i:08}"), "10.2.2.2", now)
                .await
                .unwrap()
        }));
    }
    let mut sent = 0;
    for task in tasks {
        if task.await.unwrap() == Requested::Sent {
            sent += 1;
        }
    }
    assert_eq!(sent, otp::PER_IP_HOUR);
    assert_eq!(t.db.count("otp_codes").await.unwrap(), 1 + otp::PER_IP_HOUR);
    // 100 parallel guesses at one code: at most five are even checked, none can sign in with a wrong code.
    otp::request_code(&t.db, &Sender::Outbox, "13500000000", "10.3.3.3", now)
        .await
        .unwrap();
    let code = last_code(&t.db, "13500000000").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut tasks = Vec::new();
    for i in 0..100 {
        let db = t.db.clone();
        let wrong = wrong.to_owned();
        tasks.push(tokio::spawn(async move {
            otp::verify_code(
                &db,
                "13500000000",
                &wrong,
                &format!("10.4.{}.{}", i / 50, i % 50),
                now,
            )
            .await
            .unwrap()
        }));
    }
    for task in tasks {
        assert!(!matches!(task.await.unwrap(), Verified::Ok { .. }));
    }
    assert!(matches!(
        otp::verify_code(&t.db, "13500000000", &code, "10.5.5.5", now)
            .await
            .unwrap(),
        Verified::TooManyAttempts
    ));
});

storage_test!(claims_are_verified_in_scope, |t| {
    seed(&t.db).await;
    let now = OffsetDateTime::now_utc();
    let db = &t.db;
    let owner = sign_in_owner(db, "13800138000", now).await;
    let ids = wuye::registry::list_compounds(db, &Default::default(), &wuye::registry::Page::new(1, 10))
        .await
        .unwrap();
    let xq1 = ids.items.iter().find(|c| c.code == "XQ1").unwrap().id;
    // An owner sees no room before verification.
    let q = wuye::registry::CompoundQuery {
        scope: Some(owner.scope.clone()),
        ..Default::default()
    };
    assert!(
        wuye::registry::list_rooms(db, &q, &Default::default(), &wuye::registry::Page::new(1, 50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        wuye::claims::claim(
            db,
            &owner,
            wuye::claims::RoomRef {
                compound_id: xq1,
                building: "1号楼",
                entrance: "1",
                number: "999"
            },
            None,
            now
        )
        .await
        .is_err(),
        "no such room"
    );
    let claim = wuye::claims::claim(
        db,
        &owner,
        wuye::claims::RoomRef {
            compound_id: xq1,
            building: "1号楼",
            entrance: "1",
            number: "101",
        },
        None,
        now,
    )
    .await
    .unwrap();
    assert!(
        wuye::claims::claim(
            db,
            &owner,
            wuye::claims::RoomRef {
                compound_id: xq1,
                building: "1号楼",
                entrance: "1",
                number: "101"
            },
            None,
            now
        )
        .await
        .is_err(),
        "twice"
    );

    // Staff to decide: the committee of another compound cannot see or decide it; the company can.
    token_for(t, "committee2", Role::CommitteeMember, "XQ2").await;
    token_for(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    token_for(t, "street", Role::StreetOfficer, "370705001").await;
    let actor_of = |login: &'static str| async move {
        wuye::auth::login(db, login, crate::http::PASSWORD, "", now)
            .await
            .map(|l| match l {
                wuye::auth::Login::Ok { actor, .. } => actor,
                other => panic!("{other:?}"),
            })
            .unwrap()
    };
    let committee2 = actor_of("committee2").await;
    let anju = actor_of("anju").await;
    let street = actor_of("street").await;
    assert!(wuye::claims::pending(db, &committee2).await.unwrap().is_empty());
    assert!(matches!(
        wuye::claims::decide(
            db,
            &committee2,
            claim,
            wuye::claims::Decision::Reject { reason: "x".into() },
            now
        )
        .await,
        Err(wuye::claims::ClaimError::Denied(wuye::auth::Denied::Hidden))
    ));
    assert!(matches!(
        wuye::claims::pending(db, &street).await,
        Err(wuye::claims::ClaimError::Denied(wuye::auth::Denied::Role))
    ));
    let pending = wuye::claims::pending(db, &anju).await.unwrap();
    assert_eq!(pending.len(), 1);
    let owners = wuye::claims::room_owners(db, pending[0].room_id).await.unwrap();
    let zhang = owners.iter().find(|o| o.1 == "张三").unwrap().0;
    assert!(
        wuye::claims::decide(
            db,
            &anju,
            claim,
            wuye::claims::Decision::Reject { reason: " ".into() },
            now
        )
        .await
        .is_err(),
        "a reason is required"
    );
    assert!(
        !wuye::claims::is_verified_owner(db, owner.user_id.unwrap())
            .await
            .unwrap()
    );
    wuye::claims::decide(
        db,
        &anju,
        claim,
        wuye::claims::Decision::Confirm { owner_id: zhang },
        now,
    )
    .await
    .unwrap();
    assert!(
        wuye::claims::is_verified_owner(db, owner.user_id.unwrap())
            .await
            .unwrap()
    );
    assert!(
        wuye::claims::decide(
            db,
            &anju,
            claim,
            wuye::claims::Decision::Confirm { owner_id: zhang },
            now
        )
        .await
        .is_err(),
        "decided once"
    );

    // Verified: 张三's rooms (101, co-owned, and 102), and nobody else's.
    let rooms = wuye::registry::list_rooms(db, &q, &Default::default(), &wuye::registry::Page::new(1, 50))
        .await
        .unwrap();
    let mut numbers: Vec<String> = rooms
        .items
        .iter()
        .map(|r| format!("{}-{}", r.entrance, r.number))
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["1-101", "1-102"]);
});

storage_test!(webhook_sender_posts_and_records, |t| {
    use std::sync::{Arc, Mutex};
    // A stand-in for the city's SMS gateway on loopback.
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = received.clone();
    let gateway = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, gateway).await.unwrap() });
    let now = OffsetDateTime::now_utc();
    let sender = Sender::Webhook(format!("http://{addr}/sms"));
    assert_eq!(
        otp::request_code(&t.db, &sender, "13600000001", "ip", now)
            .await
            .unwrap(),
        Requested::Sent
    );
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["phone"], "13600000001");
    let code = last_code(&t.db, "13600000001").await;
    assert!(got[0]["text"].as_str().unwrap().contains(&code));
    let outbox = otp::outbox(&t.db, 5).await.unwrap();
    assert!(outbox[0].delivered_at.is_some() && outbox[0].error.is_none());
    // A gateway that is down: the message stays in the outbox with the error.
    let down = Sender::Webhook("http://127.0.0.1:9/sms".into());
    assert_eq!(
        otp::request_code(&t.db, &down, "13600000002", "ip", now)
            .await
            .unwrap(),
        Requested::Sent
    );
    let outbox = otp::outbox(&t.db, 5).await.unwrap();
    assert!(outbox[0].delivered_at.is_none() && outbox[0].error.is_some());
});

#[test]
fn documents_are_checked_by_content() {
    use wuye::media::image_type;
    assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
    assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
    assert_eq!(image_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
    assert_eq!(image_type(b"%PDF-1.7 pretending.jpg"), None);
    assert_eq!(image_type(b"GIF89a"), None);
}
