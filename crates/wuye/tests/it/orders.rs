//! Work orders: the closed loop, routing, idempotency, who may take which step, and the
//! escalation sweep (exactly once, also with two sweepers at once; a fixed clock, no sleeps).

use time::OffsetDateTime;
use time::macros::datetime;
use wuye::auth::Actor;
use wuye::orders::{self, NewOrder, OrderError};
use wuye::settings::Settings;
use wuye_model::{Action, Role, Satisfaction, VisitOutcome};

use crate::http::{PASSWORD, token_for};
use crate::storage_test;
use crate::support::seed;

async fn actor(t: &crate::support::TestDb, login: &str, role: Role, scope: &str) -> Actor {
    token_for(t, login, role, scope).await;
    match wuye::auth::login(&t.db, login, PASSWORD, "", OffsetDateTime::now_utc())
        .await
        .unwrap()
    {
        wuye::auth::Login::Ok { actor, .. } => actor,
        other => panic!("{other:?}"),
    }
}

async fn owner(t: &crate::support::TestDb, phone: &str, now: OffsetDateTime) -> Actor {
    wuye::otp::request_code(&t.db, &wuye::otp::Sender::Outbox, phone, "", now)
        .await
        .unwrap();
    let code = crate::owners::last_code(&t.db, phone).await;
    match wuye::otp::verify_code(&t.db, phone, &code, "", now)
        .await
        .unwrap()
    {
        wuye::otp::Verified::Ok { actor, .. } => *actor,
        other => panic!("{other:?}"),
    }
}

fn new_order(compound_id: i64) -> NewOrder {
    NewOrder {
        compound_id,
        room_id: None,
        place: "3号楼电梯".into(),
        category: "elevator".into(),
        description: "电梯困人，已经十分钟".into(),
        channel: None,
        emergency: false,
        reporter_name: String::new(),
        reporter_phone: String::new(),
    }
}

async fn compound_id(db: &wuye::db::Db, code: &str) -> i64 {
    let q = wuye::registry::CompoundFilter {
        q: Some(code.into()),
        ..Default::default()
    }
    .check()
    .unwrap();
    wuye::registry::list_compounds(db, &q, &wuye::registry::Page::new(1, 5))
        .await
        .unwrap()
        .items[0]
        .id
}

storage_test!(the_closed_loop_with_its_rules, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    // Monday 2026-11-16, 10:00 in China.
    let now = datetime!(2026-11-16 10:00 +8);
    let (xq1, xq2) = (compound_id(&t.db, "XQ1").await, compound_id(&t.db, "XQ2").await);
    let resident = owner(t, "13800138000", now).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let hongda = actor(t, "hongda", Role::CompanyStaff, "91110108551385082Q").await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;

    // Routed to the contracted company, deadlines on the working-day calendar, flagged emergency.
    let (id, created) = orders::submit(&t.db, &resident, &new_order(xq1), Some("k-1"), &cfg, now)
        .await
        .unwrap();
    assert!(created);
    let (o, timeline) = orders::get(&t.db, &anju, id).await.unwrap();
    assert_eq!(o.handler_company_id, Some(1));
    assert_eq!(o.supervising_region_code, 370_705_001_001);
    assert!(o.emergency, "elevator orders are urgent (R4.5)");
    assert_eq!(
        o.sign_due,
        datetime!(2026-11-18 00:00 +8),
        "1 working day: end of Tuesday"
    );
    assert_eq!(
        o.handle_due,
        datetime!(2026-11-24 00:00 +8),
        "5 working days: end of next Monday"
    );
    assert_eq!(o.reporter_phone, "13800138000", "the handler may call back");
    assert_eq!(timeline.len(), 1);
    // The same key again returns the same order.
    assert_eq!(
        orders::submit(&t.db, &resident, &new_order(xq1), Some("k-1"), &cfg, now)
            .await
            .unwrap(),
        (id, false)
    );
    // A compound in community custody: the community handles it.
    let (id2, _) = orders::submit(&t.db, &resident, &new_order(xq2), None, &cfg, now)
        .await
        .unwrap();
    assert_eq!(
        orders::get(&t.db, &street, id2)
            .await
            .unwrap()
            .0
            .handler_company_id,
        None
    );

    // Who may do what.
    assert!(matches!(
        orders::act(&t.db, &hongda, id, &Action::Sign, "", &cfg, now).await,
        Err(OrderError::Denied(wuye::auth::Denied::Hidden))
    ));
    assert!(matches!(
        orders::act(&t.db, &resident, id, &Action::Sign, "", &cfg, now).await,
        Err(OrderError::Denied(wuye::auth::Denied::Role))
    ));
    assert_eq!(
        orders::get(&t.db, &street, id).await.unwrap().0.reporter_phone,
        "13800138000"
    );
    let committee = actor(t, "committee", Role::CommitteeMember, "XQ1").await;
    assert_eq!(
        orders::get(&t.db, &committee, id).await.unwrap().0.reporter_phone,
        "138****8000",
        "masked for others"
    );

    // The loop: sign, dispatch, start, extend once, reply, review, rate, return visit, close.
    for (who, action) in [
        (&anju, Action::Sign),
        (&anju, Action::Dispatch),
        (&anju, Action::Start),
        (
            &anju,
            Action::Extend {
                days: 10,
                reason: "需更换曳引机".into(),
            },
        ),
    ] {
        orders::act(&t.db, who, id, &action, "", &cfg, now).await.unwrap();
    }
    let o = orders::get(&t.db, &anju, id).await.unwrap().0;
    assert_eq!(
        o.handle_due,
        datetime!(2026-12-08 00:00 +8),
        "10 more working days after Monday 23rd"
    );
    let again = orders::act(
        &t.db,
        &anju,
        id,
        &Action::Extend {
            days: 1,
            reason: "x".into(),
        },
        "",
        &cfg,
        now,
    )
    .await;
    assert!(matches!(
        again,
        Err(OrderError::Step(wuye_model::StepError::ExtensionUsed))
    ));
    orders::act(
        &t.db,
        &anju,
        id,
        &Action::Reply,
        "已修复，更换了门机板",
        &cfg,
        now,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            orders::act(
                &t.db,
                &anju,
                id,
                &Action::Review { approved: true },
                "",
                &cfg,
                now
            )
            .await,
            Err(OrderError::Denied(_))
        ),
        "the company does not review itself"
    );
    orders::act(
        &t.db,
        &street,
        id,
        &Action::Review { approved: true },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    assert!(matches!(
        orders::act(
            &t.db,
            &street,
            id,
            &Action::Rate {
                satisfaction: Satisfaction::Satisfied
            },
            "",
            &cfg,
            now
        )
        .await,
        Err(OrderError::Denied(_))
    ));
    // Dissatisfied: reopened with a re-handling and a fresh deadline; the second time also escalates.
    let o = orders::act(
        &t.db,
        &resident,
        id,
        &Action::Rate {
            satisfaction: Satisfaction::Dissatisfied,
        },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (o.state.as_str(), o.rehandles, o.supervision_level),
        ("in_progress", 1, 0)
    );
    orders::act(&t.db, &anju, id, &Action::Reply, "", &cfg, now)
        .await
        .unwrap();
    orders::act(
        &t.db,
        &street,
        id,
        &Action::Review { approved: true },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    let o = orders::act(
        &t.db,
        &resident,
        id,
        &Action::Rate {
            satisfaction: Satisfaction::Dissatisfied,
        },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (o.rehandles, o.supervision_level, o.supervising_region_code),
        (2, 1, 370_705_001_000)
    );
    orders::act(&t.db, &anju, id, &Action::Reply, "", &cfg, now)
        .await
        .unwrap();
    orders::act(
        &t.db,
        &street,
        id,
        &Action::Review { approved: true },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    orders::act(
        &t.db,
        &resident,
        id,
        &Action::Rate {
            satisfaction: Satisfaction::Basic,
        },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    orders::act(
        &t.db,
        &street,
        id,
        &Action::ReturnVisit {
            outcome: VisitOutcome::Solved,
        },
        "电话回访，业主认可",
        &cfg,
        now,
    )
    .await
    .unwrap();
    let o = orders::act(&t.db, &street, id, &Action::Close, "", &cfg, now)
        .await
        .unwrap();
    assert_eq!(
        (o.state.as_str(), o.satisfaction.as_deref()),
        ("closed", Some("basic"))
    );
    let illegal = orders::act(&t.db, &anju, id, &Action::Reply, "", &cfg, now).await;
    assert_eq!(
        illegal.unwrap_err().to_string(),
        "cannot reply to an order that is Closed / 工单当前状态为“已办结”，不能答复"
    );
    let (_, timeline) = orders::get(&t.db, &resident, id).await.unwrap();
    let actions: Vec<&str> = timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.first(), Some(&"submit"));
    assert!(
        actions.contains(&"escalate") && actions.last() == Some(&"close"),
        "{actions:?}"
    );
    // The owner sees their orders only; the company those it handles.
    let page = wuye::registry::Page::new(1, 50);
    assert_eq!(
        orders::list(&t.db, &resident, &Default::default(), &page)
            .await
            .unwrap()
            .total,
        Some(2)
    );
    assert_eq!(
        orders::list(&t.db, &anju, &Default::default(), &page)
            .await
            .unwrap()
            .total,
        Some(1)
    );
    assert_eq!(
        orders::list(&t.db, &hongda, &Default::default(), &page)
            .await
            .unwrap()
            .total,
        Some(0)
    );
});

storage_test!(retries_never_make_a_second_order, |t| {
    seed(&t.db).await;
    let now = OffsetDateTime::now_utc();
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", now).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (db, resident) = (t.db.clone(), resident.clone());
        tasks.push(tokio::spawn(async move {
            orders::submit(
                &db,
                &resident,
                &new_order(xq1),
                Some("retry-7"),
                &Settings::shipped(),
                now,
            )
            .await
            .unwrap()
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let (id, c) = task.await.unwrap();
        ids.push(id);
        created += usize::from(c);
    }
    ids.dedup();
    assert_eq!((ids.len(), created), (1, 1));
    assert_eq!(t.db.count("work_orders").await.unwrap(), 1);
});

storage_test!(escalation_runs_exactly_once_per_deadline, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let filed = datetime!(2026-11-16 10:00 +8);
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", filed).await;
    let (late, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cfg, filed)
        .await
        .unwrap();
    let (answered, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cfg, filed)
        .await
        .unwrap();
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    for a in [Action::Sign, Action::Dispatch, Action::Start, Action::Reply] {
        orders::act(&t.db, &anju, answered, &a, "", &cfg, filed)
            .await
            .unwrap();
    }
    let admin = Actor::cli();
    let due = datetime!(2026-11-24 00:00 +8);
    assert_eq!(
        orders::sweep(&t.db, &cfg, due - time::Duration::seconds(1))
            .await
            .unwrap(),
        0,
        "not yet"
    );
    // The same instant written in another offset compares the same (SQLite compares text).
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2026-11-23 20:00 +8))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2026-11-23 15:59:59 UTC))
            .await
            .unwrap(),
        0
    );
    // Two sweepers at once after the deadline (say, two instances after downtime): one escalation.
    let at = due + time::Duration::hours(30);
    let (a, b) = tokio::join!(orders::sweep(&t.db, &cfg, at), orders::sweep(&t.db, &cfg, at));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(orders::sweep(&t.db, &cfg, at).await.unwrap(), 0, "exactly once");
    let o = orders::get(&t.db, &admin, late).await.unwrap().0;
    assert_eq!(
        (o.supervision_level, o.supervising_region_code),
        (1, 370_705_001_000),
        "level 1, the street supervises"
    );
    assert_eq!(
        orders::get(&t.db, &admin, answered)
            .await
            .unwrap()
            .0
            .supervision_level,
        0,
        "replied in time"
    );
    // Still unanswered five working days later: level 2, the district; then 3, the city; then no more.
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2026-12-01 00:00 +8))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        orders::get(&t.db, &admin, late)
            .await
            .unwrap()
            .0
            .supervising_region_code,
        370_705_000_000
    );
    // Downtime over both later deadlines: the sweep catches up one level per deadline, in order.
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2027-01-31 00:00 +8))
            .await
            .unwrap(),
        1
    );
    let o = orders::get(&t.db, &admin, late).await.unwrap().0;
    assert_eq!(
        (o.supervision_level, o.supervising_region_code),
        (3, 370_700_000_000)
    );
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2027-06-01 00:00 +8))
            .await
            .unwrap(),
        0,
        "level 3 is the top"
    );
    let (_, timeline) = orders::get(&t.db, &admin, late).await.unwrap();
    assert_eq!(timeline.iter().filter(|e| e.action == "escalate").count(), 3);
    // An order whose three deadlines all passed while no instance ran: one sweep, three levels.
    let (forgotten, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cfg, filed)
        .await
        .unwrap();
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2027-06-01 00:00 +8))
            .await
            .unwrap(),
        3
    );
    let o = orders::get(&t.db, &admin, forgotten).await.unwrap().0;
    assert_eq!(
        (o.supervision_level, o.supervising_region_code),
        (3, 370_700_000_000)
    );
});

storage_test!(monthly_figures_by_their_definitions, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", datetime!(2025-11-03 09:00 +8)).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;
    let file = |at: OffsetDateTime| {
        let (db, resident) = (t.db.clone(), resident.clone());
        async move {
            orders::submit(&db, &resident, &new_order(xq1), None, &Settings::shipped(), at)
                .await
                .unwrap()
                .0
        }
    };
    // November 2025: 5 orders; October 2026: 4; November 2026: 2.
    for d in 3..8 {
        file(datetime!(2025-11-01 09:00 +8).replace_day(d).unwrap()).await;
    }
    for d in 5..9 {
        file(datetime!(2026-10-01 09:00 +8).replace_day(d + 7).unwrap()).await;
    }
    let quick = file(datetime!(2026-11-02 09:00 +8)).await; // a Monday
    let slow = file(datetime!(2026-11-03 09:00 +8)).await;
    // The quick one: signed within the hour, replied 26 hours after filing, rated satisfied.
    let step = |who: &Actor, id: i64, a: Action, at: OffsetDateTime| {
        let (db, who) = (t.db.clone(), who.clone());
        async move {
            orders::act(&db, &who, id, &a, "", &Settings::shipped(), at)
                .await
                .unwrap()
        }
    };
    step(&anju, quick, Action::Sign, datetime!(2026-11-02 10:00 +8)).await;
    step(&anju, quick, Action::Dispatch, datetime!(2026-11-02 10:05 +8)).await;
    step(&anju, quick, Action::Start, datetime!(2026-11-02 10:10 +8)).await;
    step(&anju, quick, Action::Reply, datetime!(2026-11-03 11:00 +8)).await;
    step(
        &street,
        quick,
        Action::Review { approved: true },
        datetime!(2026-11-03 15:00 +8),
    )
    .await;
    step(
        &resident,
        quick,
        Action::Rate {
            satisfaction: Satisfaction::Satisfied,
        },
        datetime!(2026-11-04 08:00 +8),
    )
    .await;
    // The slow one: signed two working days late, never replied, escalated once.
    step(&anju, slow, Action::Sign, datetime!(2026-11-06 09:00 +8)).await;
    let now = datetime!(2026-11-21 12:00 +8);
    orders::sweep(&t.db, &cfg, datetime!(2026-11-11 09:00 +8))
        .await
        .unwrap();

    let f = orders::figures(
        &t.db,
        Some(wuye_model::RegionCode::parse("370705").unwrap()),
        (2026, 11),
        now,
    )
    .await
    .unwrap();
    assert_eq!(f.volume, 2);
    assert_eq!(f.series.len(), 13);
    assert_eq!((f.series[0].month.as_str(), f.series[0].volume), ("2025-11", 5));
    assert_eq!((f.series[11].month.as_str(), f.series[11].volume), ("2026-10", 4));
    assert_eq!(f.mom_change_percent.as_deref(), Some("-50.00"), "4 → 2");
    assert_eq!(f.yoy_change_percent.as_deref(), Some("-60.00"), "5 → 2");
    assert_eq!(f.signed_on_time_percent.as_deref(), Some("50.00"));
    assert_eq!(
        f.resolved_on_time_percent.as_deref(),
        Some("50.00"),
        "the slow one's deadline has passed unanswered"
    );
    assert_eq!(f.mean_hours_to_reply.as_deref(), Some("26.00"));
    assert_eq!(f.p90_hours_to_reply.as_deref(), Some("26.00"));
    assert_eq!(
        (f.rated, f.not_rated),
        (1, 1),
        "never-rated orders are counted apart, not as satisfied"
    );
    assert_eq!(f.satisfaction_percent.as_deref(), Some("100.00"));
    assert_eq!(f.reopen_percent.as_deref(), Some("0.00"));
    assert_eq!(f.escalated_by_level, [1, 0, 0]);
    // Another street's jurisdiction has none of them.
    let other = orders::figures(
        &t.db,
        Some(wuye_model::RegionCode::parse("370705002").unwrap()),
        (2026, 11),
        now,
    )
    .await
    .unwrap();
    assert_eq!((other.volume, other.satisfaction_percent), (0, None));
});

storage_test!(figures_page_shows_the_chart_and_definitions, |t| {
    seed(&t.db).await;
    let app = crate::http::app(t);
    let street = token_for(t, "street", Role::StreetOfficer, "370705001").await;
    let page = crate::http::get_as(&app, "/figures?month=2026-11", &street).await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("<svg class=\"chart\"")
            && html.contains("满意率")
            && html.contains("（满意 + 基本满意）÷ 已评价"),
        "{html}"
    );
    let api = crate::http::get_as(&app, "/api/v1/orders/figures?month=2026-11", &street)
        .await
        .json();
    assert_eq!(api["region"], "370705001000");
    assert_eq!(api["series"].as_array().unwrap().len(), 13);
    let outside = crate::http::get_as(&app, "/api/v1/orders/figures?region=370705002", &street).await;
    assert_eq!(outside.status, axum::http::StatusCode::NOT_FOUND);
});

storage_test!(duplicate_hints, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let xq1 = compound_id(&t.db, "XQ1").await;
    let now = datetime!(2026-11-16 10:00 +8);
    let a = owner(t, "13800138000", now).await;
    let b = owner(t, "13800138001", now).await;
    let mk = |d: &str, hours: i64, who: &Actor| {
        let mut n = new_order(xq1);
        n.description = d.into();
        n.place = String::new();
        let (db, who) = (t.db.clone(), who.clone());
        async move {
            orders::submit(
                &db,
                &who,
                &n,
                None,
                &Settings::shipped(),
                now + time::Duration::hours(hours),
            )
            .await
            .unwrap()
            .0
        }
    };
    let first = mk("3号楼电梯坏了，困人", 0, &a).await;
    let same = mk("3号楼的电梯又坏了", 2, &b).await;
    let other = mk("5号楼电梯按钮不亮", 3, &b).await;
    let late = mk("3号楼电梯坏了，困人", 72, &b).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let found: Vec<i64> = orders::duplicates(&t.db, &anju, first)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, _)| o.id)
        .collect();
    assert_eq!(
        found,
        [same],
        "similar and close in time; not {other} (different text) nor {late} (three days later)"
    );
    let _ = cfg;
});

storage_test!(photos_are_checked_and_stripped, |t| {
    seed(&t.db).await;
    let now = OffsetDateTime::now_utc();
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", now).await;
    let (id, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &Settings::shipped(), now)
        .await
        .unwrap();
    let files = wuye::files::FileStore::new(t.db.clone(), wuye::files::FileBackend::Database);
    // A JPEG whose EXIF holds a location.
    let exif = b"Exif\0\0GPS 36.7N";
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, (exif.len() + 2) as u8];
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 9, 9, 0xFF, 0xD9]);
    assert_eq!(
        orders::add_photo(&t.db, &files, &resident, id, &jpeg, now)
            .await
            .unwrap(),
        1
    );
    let stored = orders::photo(&t.db, &files, &resident, id, 1).await.unwrap();
    assert_eq!(stored.content_type, "image/jpeg");
    assert!(
        !stored.bytes.windows(3).any(|w| w == b"GPS"),
        "the location is gone"
    );
    assert!(matches!(
        orders::add_photo(&t.db, &files, &resident, id, b"%PDF-1.4", now).await,
        Err(OrderError::Invalid(_))
    ));
    for n in 2..=9 {
        let mut j = jpeg.clone();
        j.push(n as u8); // different bytes, different file
        assert_eq!(
            orders::add_photo(&t.db, &files, &resident, id, &j, now)
                .await
                .unwrap(),
            n
        );
    }
    assert!(
        matches!(
            orders::add_photo(&t.db, &files, &resident, id, &jpeg, now).await,
            Err(OrderError::Invalid(_))
        ),
        "nine at most"
    );
    // Someone who cannot see the order cannot see its photos.
    let hongda = actor(t, "hongda", Role::CompanyStaff, "91110108551385082Q").await;
    assert!(matches!(
        orders::photo(&t.db, &files, &hongda, id, 1).await,
        Err(OrderError::Denied(wuye::auth::Denied::Hidden))
    ));
});

storage_test!(city_settings_change_deadlines_and_only_admins_edit_them, |t| {
    seed(&t.db).await;
    let now = datetime!(2026-11-16 10:00 +8);
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", now).await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;
    let admin = Actor::cli();
    let mut repair = Settings::shipped().policy("repair");
    assert_eq!(
        (repair.sign_days, repair.handle_days, repair.emergency),
        (1, 5, false)
    );
    assert!(Settings::shipped().policy("elevator").emergency, "R4.5 default");
    repair.handle_days = 3;
    repair.emergency = true;
    assert!(matches!(
        wuye::settings::set_policy(&t.db, &street, "repair", &repair, now).await,
        Err(wuye::settings::SettingsError::Denied(_))
    ));
    wuye::settings::set_policy(&t.db, &admin, "repair", &repair, now)
        .await
        .unwrap();
    let bad = wuye::settings::CategoryPolicy {
        sign_days: 9,
        ..repair
    };
    assert!(matches!(
        wuye::settings::set_policy(&t.db, &admin, "repair", &bad, now).await,
        Err(wuye::settings::SettingsError::Invalid(m)) if m.contains("签收时限")
    ));
    // A bad calendar line is named and nothing is stored; a good one moves the deadline.
    let e = wuye::settings::add_calendar_days(&t.db, &admin, "2026-11-19,off,x\n2026-11-20,maybe,y", now)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    wuye::settings::add_calendar_days(&t.db, &admin, "# 测试\n2026-11-19,off,城市假日", now)
        .await
        .unwrap();
    let cfg = Settings::load(&t.db).await.unwrap();
    assert!(cfg.is_overridden("repair") && !cfg.is_overridden("cleaning"));
    let mut n = new_order(xq1);
    n.category = "repair".into();
    let (id, _) = orders::submit(&t.db, &resident, &n, None, &cfg, now)
        .await
        .unwrap();
    let o = orders::get(&t.db, &admin, id).await.unwrap().0;
    assert!(o.emergency, "the city made repairs urgent");
    // Three working days after Monday, skipping the city's Thursday holiday: end of Friday... of
    // Tue, Wed, Fri → 24:00 Friday.
    assert_eq!(o.handle_due, datetime!(2026-11-21 00:00 +8));
    n.category = "cleaning".into();
    let (id, _) = orders::submit(&t.db, &resident, &n, None, &cfg, now)
        .await
        .unwrap();
    let o = orders::get(&t.db, &admin, id).await.unwrap().0;
    assert!(!o.emergency);
    assert_eq!(
        o.handle_due,
        datetime!(2026-11-25 00:00 +8),
        "5 days, one of them a holiday"
    );
});

storage_test!(assignment_merging_visits_and_notices, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let now = datetime!(2026-11-16 10:00 +8);
    let xq1 = compound_id(&t.db, "XQ1").await;
    let first = owner(t, "13800138000", now).await;
    let second = owner(t, "13900139000", now).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let worker = actor(t, "anju-li", Role::CompanyStaff, "91350100M000100Y43").await;
    let other = actor(t, "hongda", Role::CompanyStaff, "91110108551385082Q").await;
    let community = actor(t, "community", Role::CommunityOfficer, "370705001001").await;
    let (a, _) = orders::submit(&t.db, &first, &new_order(xq1), None, &cfg, now)
        .await
        .unwrap();
    let (b, _) = orders::submit(&t.db, &second, &new_order(xq1), None, &cfg, now)
        .await
        .unwrap();

    // Assignment: to the company's own staff only; the staff member finds it under "mine".
    assert!(matches!(
        orders::assign(&t.db, &anju, a, other.user_id.unwrap(), now).await,
        Err(OrderError::Invalid(_))
    ));
    assert!(matches!(
        orders::assign(&t.db, &worker, a, worker.user_id.unwrap(), now).await,
        Err(OrderError::Denied(_))
    ));
    let o = orders::assign(&t.db, &anju, a, worker.user_id.unwrap(), now)
        .await
        .unwrap();
    assert_eq!(o.assignee_user_id, worker.user_id);
    let mine = orders::OrderFilter {
        mine: Some(true),
        ..Default::default()
    };
    let page = wuye::registry::Page::new(1, 10);
    let listed = orders::list(&t.db, &worker, &mine, &page).await.unwrap();
    assert_eq!(listed.items.iter().map(|o| o.id).collect::<Vec<_>>(), [a]);
    let notes = wuye::notify::list(&t.db, &worker, &page).await.unwrap();
    assert!(
        notes.items[0].text_zh.contains(&format!("#{a}")),
        "{:?}",
        notes.items
    );

    // Merging: the duplicate closes as merged; its reporter follows the order it joined.
    let merge = |into| Action::Merge { into };
    assert!(matches!(
        orders::act(&t.db, &anju, b, &merge(b), "", &cfg, now).await,
        Err(OrderError::Invalid(_))
    ));
    let o = orders::act(&t.db, &anju, b, &merge(a), "", &cfg, now)
        .await
        .unwrap();
    assert_eq!((o.state.as_str(), o.merged_into), ("merged", Some(a)));
    assert!(
        orders::act(&t.db, &anju, b, &Action::Sign, "", &cfg, now)
            .await
            .is_err()
    );
    assert_eq!(
        orders::get(&t.db, &second, a).await.unwrap().0.id,
        a,
        "the second reporter sees the joined order"
    );
    for step in [Action::Sign, Action::Dispatch, Action::Start, Action::Reply] {
        orders::act(&t.db, &worker, a, &step, "", &cfg, now)
            .await
            .unwrap();
    }
    for reporter in [&first, &second] {
        let notes = wuye::notify::list(&t.db, reporter, &page).await.unwrap();
        assert!(
            notes
                .items
                .iter()
                .any(|n| n.order_id == Some(a) && n.text_zh.contains("已答复")),
            "every reporter hears of the reply: {:?}",
            notes.items
        );
    }
    assert!(wuye::notify::unread(&t.db, &second).await.unwrap() > 0);
    wuye::notify::mark_read(&t.db, &second, now).await.unwrap();
    assert_eq!(wuye::notify::unread(&t.db, &second).await.unwrap(), 0);

    // A return visit that finds it unsolved reopens it; an unreachable one is recorded.
    orders::act(
        &t.db,
        &community,
        a,
        &Action::Review { approved: true },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    let visit = |outcome| Action::ReturnVisit { outcome };
    let o = orders::act(
        &t.db,
        &community,
        a,
        &visit(VisitOutcome::NotSolved),
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (o.state.as_str(), o.rehandles, o.visit_outcome.as_deref()),
        ("in_progress", 1, Some("not_solved"))
    );
});

storage_test!(unrated_orders_close_themselves_once_as_not_rated, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let now = datetime!(2026-11-16 10:00 +8);
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", now).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;
    let (id, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cfg, now)
        .await
        .unwrap();
    for step in [Action::Sign, Action::Dispatch, Action::Start, Action::Reply] {
        orders::act(&t.db, &anju, id, &step, "", &cfg, now).await.unwrap();
    }
    orders::act(
        &t.db,
        &street,
        id,
        &Action::Review { approved: true },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    // Seven working days from Monday 16th: end of Wednesday 25th.
    let due = datetime!(2026-11-26 00:00 +8);
    assert_eq!(
        orders::close_unrated(&t.db, due - time::Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    let (x, y) = tokio::join!(
        orders::close_unrated(&t.db, due),
        orders::close_unrated(&t.db, due)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1, "exactly once with two sweepers");
    let (o, timeline) = orders::get(&t.db, &street, id).await.unwrap();
    assert_eq!(
        (o.state.as_str(), o.satisfaction.as_deref()),
        ("closed", Some("not_rated"))
    );
    assert_eq!(timeline.last().unwrap().actor, "system");
    let f = orders::figures(&t.db, None, (2026, 11), due).await.unwrap();
    assert_eq!(
        (f.rated, f.not_rated),
        (0, 1),
        "never counted as satisfied (R4.6)"
    );
    assert_eq!(f.satisfaction_percent, None);
    // Rating closes the window: a rated order is not closed by the sweep.
    let (id2, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cfg, now)
        .await
        .unwrap();
    for step in [Action::Sign, Action::Dispatch, Action::Start, Action::Reply] {
        orders::act(&t.db, &anju, id2, &step, "", &cfg, now)
            .await
            .unwrap();
    }
    orders::act(
        &t.db,
        &street,
        id2,
        &Action::Review { approved: true },
        "",
        &cfg,
        now,
    )
    .await
    .unwrap();
    let rate = Action::Rate {
        satisfaction: Satisfaction::Basic,
    };
    orders::act(&t.db, &resident, id2, &rate, "", &cfg, now)
        .await
        .unwrap();
    assert_eq!(orders::close_unrated(&t.db, due).await.unwrap(), 0);
});

storage_test!(escalation_notifies_the_new_supervising_authority, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let now = datetime!(2026-11-16 10:00 +8);
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", now).await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;
    let community = actor(t, "community", Role::CommunityOfficer, "370705001001").await;
    let (id, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cfg, now)
        .await
        .unwrap();
    assert_eq!(
        orders::sweep(&t.db, &cfg, datetime!(2026-11-25 09:00 +8))
            .await
            .unwrap(),
        1
    );
    let page = wuye::registry::Page::new(1, 10);
    let notes = wuye::notify::list(&t.db, &street, &page).await.unwrap();
    assert_eq!(notes.items.len(), 1);
    assert_eq!(notes.items[0].order_id, Some(id));
    assert!(
        notes.items[0].text_zh.contains("日常督办"),
        "{}",
        notes.items[0].text_zh
    );
    assert!(
        wuye::notify::list(&t.db, &community, &page)
            .await
            .unwrap()
            .items
            .is_empty(),
        "the community below is not the supervising authority any more"
    );
});

storage_test!(hotline_tickets_import_once_with_their_times, |t| {
    seed(&t.db).await;
    let cfg = Settings::shipped();
    let now = datetime!(2026-11-20 10:00 +8);
    let district = actor(t, "district", Role::DistrictOfficer, "370705").await;
    let company = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let csv = "工单编号,受理时间,小区编码,诉求类别,诉求内容,来电人,来电号码,紧急\n\
        H-1,2026-11-16 10:05,XQ1,报修,3号楼楼道灯不亮,王先生,13700137000,否\n\
        H-2,2026/11/17 8:30,XQ1,elevator,电梯异响,,,\n";
    assert!(matches!(
        wuye::io::hotline::import(&t.db, &company, "h.csv", csv.as_bytes(), &cfg, now).await,
        Err(OrderError::Denied(_))
    ));
    let r = wuye::io::hotline::import(&t.db, &district, "h.csv", csv.as_bytes(), &cfg, now)
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.created, r.already),
        ("applied", 2, 0),
        "{:?}",
        r.errors
    );
    let again = wuye::io::hotline::import(&t.db, &district, "h.csv", csv.as_bytes(), &cfg, now)
        .await
        .unwrap();
    assert_eq!((again.created, again.already), (0, 2), "a ticket is filed once");
    let page = wuye::registry::Page::new(1, 10);
    let list = orders::list(&t.db, &district, &Default::default(), &page)
        .await
        .unwrap();
    assert_eq!(list.items.len(), 2);
    let h1 = list
        .items
        .iter()
        .find(|o| o.external_ref.as_deref() == Some("H-1"))
        .unwrap();
    assert_eq!((h1.channel.as_str(), h1.category.as_str()), ("hotline", "repair"));
    assert_eq!(
        h1.created_at,
        datetime!(2026-11-16 10:05 +8),
        "deadlines run from the call"
    );
    assert_eq!(h1.handle_due, datetime!(2026-11-24 00:00 +8));
    let h2 = list
        .items
        .iter()
        .find(|o| o.external_ref.as_deref() == Some("H-2"))
        .unwrap();
    assert!(h2.emergency, "elevators are urgent");
    // A bad file names row and column and files nothing.
    let bad = "工单编号,受理时间,小区编码,诉求类别,诉求内容\n\
        H-3,2026-11-18 09:00,XQ1,报修,好的一行\n\
        H-4,昨天,NOPE,飞行,\n\
        H-3,2026-11-18 09:00,XQ1,报修,重复编号\n";
    let r = wuye::io::hotline::import(&t.db, &district, "bad.csv", bad.as_bytes(), &cfg, now)
        .await
        .unwrap();
    assert_eq!(r.status, "rejected");
    let cells: Vec<(u32, String)> = r.errors.iter().map(|e| (e.row, e.column.clone())).collect();
    for (row, col) in [
        (3, "B 受理时间(received_at)"),
        (3, "C 小区编码(compound_code)"),
        (3, "D 诉求类别(category)"),
        (3, "E 诉求内容(description)"),
        (4, "A 工单编号(ticket)"),
    ] {
        assert!(cells.contains(&(row, col.to_owned())), "{row} {col} in {cells:?}");
    }
    assert_eq!(
        orders::list(&t.db, &district, &Default::default(), &page)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
});
