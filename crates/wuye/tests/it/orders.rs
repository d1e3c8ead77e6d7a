//! Work orders: the closed loop, routing, idempotency, who may take which step, and the
//! escalation sweep (exactly once, also with two sweepers at once; a fixed clock, no sleeps).

use time::OffsetDateTime;
use time::macros::datetime;
use wuye::auth::Actor;
use wuye::orders::{self, NewOrder, OrderError};
use wuye_model::{Action, Role, Satisfaction, SlaPolicy, WorkCalendar};

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
    let (cal, sla) = (WorkCalendar::shipped(), SlaPolicy::default());
    // Monday 2026-11-16, 10:00 in China.
    let now = datetime!(2026-11-16 10:00 +8);
    let (xq1, xq2) = (compound_id(&t.db, "XQ1").await, compound_id(&t.db, "XQ2").await);
    let resident = owner(t, "13800138000", now).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let hongda = actor(t, "hongda", Role::CompanyStaff, "91110108551385082Q").await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;

    // Routed to the contracted company, deadlines on the working-day calendar, flagged emergency.
    let (id, created) = orders::submit(&t.db, &resident, &new_order(xq1), Some("k-1"), &cal, &sla, now)
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
        orders::submit(&t.db, &resident, &new_order(xq1), Some("k-1"), &cal, &sla, now)
            .await
            .unwrap(),
        (id, false)
    );
    // A compound in community custody: the community handles it.
    let (id2, _) = orders::submit(&t.db, &resident, &new_order(xq2), None, &cal, &sla, now)
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
        orders::act(&t.db, &hongda, id, &Action::Sign, "", &cal, &sla, now).await,
        Err(OrderError::Denied(wuye::auth::Denied::Hidden))
    ));
    assert!(matches!(
        orders::act(&t.db, &resident, id, &Action::Sign, "", &cal, &sla, now).await,
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
        orders::act(&t.db, who, id, &action, "", &cal, &sla, now)
            .await
            .unwrap();
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
        &cal,
        &sla,
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
        &cal,
        &sla,
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
                &cal,
                &sla,
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
        &cal,
        &sla,
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
            &cal,
            &sla,
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
        &cal,
        &sla,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (o.state.as_str(), o.rehandles, o.supervision_level),
        ("in_progress", 1, 0)
    );
    orders::act(&t.db, &anju, id, &Action::Reply, "", &cal, &sla, now)
        .await
        .unwrap();
    orders::act(
        &t.db,
        &street,
        id,
        &Action::Review { approved: true },
        "",
        &cal,
        &sla,
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
        &cal,
        &sla,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (o.rehandles, o.supervision_level, o.supervising_region_code),
        (2, 1, 370_705_001_000)
    );
    orders::act(&t.db, &anju, id, &Action::Reply, "", &cal, &sla, now)
        .await
        .unwrap();
    orders::act(
        &t.db,
        &street,
        id,
        &Action::Review { approved: true },
        "",
        &cal,
        &sla,
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
        &cal,
        &sla,
        now,
    )
    .await
    .unwrap();
    orders::act(
        &t.db,
        &street,
        id,
        &Action::ReturnVisit,
        "电话回访，业主认可",
        &cal,
        &sla,
        now,
    )
    .await
    .unwrap();
    let o = orders::act(&t.db, &street, id, &Action::Close, "", &cal, &sla, now)
        .await
        .unwrap();
    assert_eq!(
        (o.state.as_str(), o.satisfaction.as_deref()),
        ("closed", Some("basic"))
    );
    let illegal = orders::act(&t.db, &anju, id, &Action::Reply, "", &cal, &sla, now).await;
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
                &WorkCalendar::shipped(),
                &SlaPolicy::default(),
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
    let cal = WorkCalendar::shipped();
    let sla = SlaPolicy::default();
    let filed = datetime!(2026-11-16 10:00 +8);
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", filed).await;
    let (late, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cal, &sla, filed)
        .await
        .unwrap();
    let (answered, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cal, &sla, filed)
        .await
        .unwrap();
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    for a in [Action::Sign, Action::Dispatch, Action::Start, Action::Reply] {
        orders::act(&t.db, &anju, answered, &a, "", &cal, &sla, filed)
            .await
            .unwrap();
    }
    let admin = Actor::cli();
    let due = datetime!(2026-11-24 00:00 +8);
    assert_eq!(
        orders::sweep(&t.db, &cal, due - time::Duration::seconds(1))
            .await
            .unwrap(),
        0,
        "not yet"
    );
    // The same instant written in another offset compares the same (SQLite compares text).
    assert_eq!(
        orders::sweep(&t.db, &cal, datetime!(2026-11-23 20:00 +8))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        orders::sweep(&t.db, &cal, datetime!(2026-11-23 15:59:59 UTC))
            .await
            .unwrap(),
        0
    );
    // Two sweepers at once after the deadline (say, two instances after downtime): one escalation.
    let at = due + time::Duration::hours(30);
    let (a, b) = tokio::join!(orders::sweep(&t.db, &cal, at), orders::sweep(&t.db, &cal, at));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(orders::sweep(&t.db, &cal, at).await.unwrap(), 0, "exactly once");
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
        orders::sweep(&t.db, &cal, datetime!(2026-12-01 00:00 +8))
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
        orders::sweep(&t.db, &cal, datetime!(2027-01-31 00:00 +8))
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
        orders::sweep(&t.db, &cal, datetime!(2027-06-01 00:00 +8))
            .await
            .unwrap(),
        0,
        "level 3 is the top"
    );
    let (_, timeline) = orders::get(&t.db, &admin, late).await.unwrap();
    assert_eq!(timeline.iter().filter(|e| e.action == "escalate").count(), 3);
    // An order whose three deadlines all passed while no instance ran: one sweep, three levels.
    let (forgotten, _) = orders::submit(&t.db, &resident, &new_order(xq1), None, &cal, &sla, filed)
        .await
        .unwrap();
    assert_eq!(
        orders::sweep(&t.db, &cal, datetime!(2027-06-01 00:00 +8))
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
    let (cal, sla) = (WorkCalendar::shipped(), SlaPolicy::default());
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", datetime!(2025-11-03 09:00 +8)).await;
    let anju = actor(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let street = actor(t, "street", Role::StreetOfficer, "370705001").await;
    let file = |at: OffsetDateTime| {
        let (db, resident) = (t.db.clone(), resident.clone());
        async move {
            orders::submit(
                &db,
                &resident,
                &new_order(xq1),
                None,
                &WorkCalendar::shipped(),
                &SlaPolicy::default(),
                at,
            )
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
            orders::act(
                &db,
                &who,
                id,
                &a,
                "",
                &WorkCalendar::shipped(),
                &SlaPolicy::default(),
                at,
            )
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
    orders::sweep(&t.db, &cal, datetime!(2026-11-11 09:00 +8))
        .await
        .unwrap();
    let _ = sla;

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
    let (cal, sla) = (WorkCalendar::shipped(), SlaPolicy::default());
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
                &WorkCalendar::shipped(),
                &SlaPolicy::default(),
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
    let _ = (cal, sla);
});

storage_test!(photos_are_checked_and_stripped, |t| {
    seed(&t.db).await;
    let now = OffsetDateTime::now_utc();
    let xq1 = compound_id(&t.db, "XQ1").await;
    let resident = owner(t, "13800138000", now).await;
    let (id, _) = orders::submit(
        &t.db,
        &resident,
        &new_order(xq1),
        None,
        &WorkCalendar::shipped(),
        &SlaPolicy::default(),
        now,
    )
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
