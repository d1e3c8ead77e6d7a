//! Inspections and rectification (docs/assessment.md §7): the whole loop from a campaign to a
//! verified notice, a rejection with a new deadline, escalation of an overdue notice by a
//! fixed clock exactly once, withdrawal, a company reading only its own notices, the figures.

use axum::http::StatusCode;
use time::OffsetDateTime;
use time::macros::{date, datetime};
use wuye::auth::Actor;
use wuye::inspections::{
    self, Finding, InspectionError, NewCampaign, NewFinding, NewInspection, NewRectification, NoticeStep,
};
use wuye::settings::Settings;
use wuye_model::{RegionCode, Role};

use crate::decisions::xq1;
use crate::http::{app, get_as, json_as, staff, token_for};
use crate::storage_test;
use crate::support::{TestDb, mend, poison, rows, seed};

/// Monday 2026-11-02, 10:00 China time.
const T0: OffsetDateTime = datetime!(2026-11-02 02:00 UTC);

fn finding(category: &str, severity: &str) -> NewFinding {
    NewFinding {
        category: category.into(),
        severity: severity.into(),
        description: "楼道堆放杂物".into(),
        place: Some("1号楼".into()),
        fixed_on_site: false,
    }
}

/// A finding without photos (the file store is not reached).
pub(crate) async fn add_finding(
    db: &wuye::db::Db,
    actor: &Actor,
    inspection: i64,
    f: &NewFinding,
    at: OffsetDateTime,
) -> Result<Finding, InspectionError> {
    let files = wuye::files::FileStore::new(db.clone(), wuye::files::FileBackend::Database);
    inspections::add_finding(db, &files, actor, inspection, f, &[], at).await
}

fn step(action: &str, note: &str) -> NoticeStep {
    NoticeStep {
        action: action.into(),
        note: note.into(),
        deadline: None,
    }
}

async fn count(t: &TestDb, sql: &'static str, id: i64) -> i64 {
    let db = &t.db;
    let (n,): (i64,) =
        wuye::db_read!(db, pool => sqlx::query_as(sql).bind(id).fetch_one(pool).await).unwrap();
    n
}

/// A submitted inspection of XQ1 by the street with the given findings; returns the
/// inspection and its finding ids.
async fn inspected(t: &TestDb, street: &Actor, severities: &[&str]) -> (i64, Vec<i64>) {
    let xq1 = xq1(t).await;
    let new = NewInspection {
        compound_id: xq1,
        ..Default::default()
    };
    let i = inspections::create_inspection(&t.db, street, &new, T0)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for s in severities {
        let f = add_finding(&t.db, street, i.id, &finding("cleaning", s), T0)
            .await
            .unwrap();
        ids.push(f.id);
    }
    inspections::submit(&t.db, street, i.id, T0).await.unwrap();
    (i.id, ids)
}

async fn notice(
    t: &TestDb,
    by: &Actor,
    inspection_id: i64,
    finding_ids: Vec<i64>,
    deadline: Option<time::Date>,
) -> i64 {
    let new = NewRectification {
        inspection_id,
        finding_ids,
        deadline,
        requirement: Some("限期清理".into()),
    };
    inspections::issue(&t.db, by, &new, &Settings::shipped(), T0)
        .await
        .unwrap()
        .notice
        .id
}

/// For the access matrix: a submitted inspection of `compound` with one finding on an issued
/// notice, by the command line. Returns (inspection, finding, notice).
pub(crate) async fn seed_notice(db: &wuye::db::Db, compound: i64) -> (i64, i64, i64) {
    let cli = Actor::cli();
    let now = OffsetDateTime::now_utc();
    let new = NewInspection {
        compound_id: compound,
        ..Default::default()
    };
    let i = inspections::create_inspection(db, &cli, &new, now).await.unwrap();
    let f = add_finding(db, &cli, i.id, &finding("security", "major"), now)
        .await
        .unwrap();
    inspections::submit(db, &cli, i.id, now).await.unwrap();
    let new = NewRectification {
        inspection_id: i.id,
        finding_ids: vec![f.id],
        deadline: None,
        requirement: None,
    };
    let n = inspections::issue(db, &cli, &new, &Settings::shipped(), now)
        .await
        .unwrap();
    (i.id, f.id, n.notice.id)
}

storage_test!(the_whole_loop_from_campaign_to_verified, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let xq1 = xq1(t).await;
    let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let anju = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;

    // A campaign of the city over the district; a street officer may not create one.
    let nc = NewCampaign {
        name: "11月专项检查".into(),
        region_code: "370705".into(),
        starts_on: date!(2026 - 11 - 01),
        ends_on: date!(2026 - 11 - 30),
        categories: vec!["cleaning".into(), "fire_safety".into()],
    };
    let campaign = inspections::create_campaign(&t.db, &admin, &nc, T0)
        .await
        .unwrap();
    assert!(matches!(
        inspections::create_campaign(&t.db, &street, &nc, T0).await,
        Err(InspectionError::Denied(_))
    ));
    assert_eq!(inspections::campaigns(&t.db, &street).await.unwrap().len(), 1);

    // An inspection in the campaign, three findings, one photo, submitted.
    let ni = NewInspection {
        compound_id: xq1,
        campaign_id: Some(campaign.id),
        ..Default::default()
    };
    let i = inspections::create_inspection(&t.db, &street, &ni, T0)
        .await
        .unwrap();
    assert_eq!(i.state, "draft");
    assert!(i.company_id.is_some(), "安居 is in force on the day");
    let mut ids = Vec::new();
    for sev in ["minor", "major", "serious"] {
        ids.push(
            add_finding(&t.db, &street, i.id, &finding("cleaning", sev), T0)
                .await
                .unwrap()
                .id,
        );
    }
    assert!(matches!(
        add_finding(&t.db, &street, i.id, &finding("nonsense", "minor"), T0).await,
        Err(InspectionError::Invalid("category", _))
    ));
    let files = wuye::files::FileStore::new(t.db.clone(), wuye::files::FileBackend::Database);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 9, 9, 0xFF, 0xD9];
    assert_eq!(
        inspections::add_photo(&t.db, &files, &street, ids[0], &jpeg, T0)
            .await
            .unwrap(),
        1
    );
    jpeg[0] = 0;
    assert!(matches!(
        inspections::add_photo(&t.db, &files, &street, ids[0], &jpeg, T0).await,
        Err(InspectionError::Invalid("photo", _))
    ));
    // The company does not see a draft.
    assert!(matches!(
        inspections::get_inspection(&t.db, &anju, i.id).await,
        Err(InspectionError::Denied(wuye::auth::Denied::Hidden))
    ));
    assert!(inspections::photo(&t.db, &files, &anju, ids[0], 1).await.is_err());
    inspections::submit(&t.db, &street, i.id, T0).await.unwrap();
    assert_eq!(
        inspections::photo(&t.db, &files, &anju, ids[0], 1)
            .await
            .unwrap()
            .content_type,
        "image/jpeg"
    );
    // Frozen: nothing is added; a finding is only withdrawn, with a reason.
    assert!(matches!(
        add_finding(&t.db, &street, i.id, &finding("other", "minor"), T0).await,
        Err(InspectionError::Refused(_))
    ));
    assert!(matches!(
        inspections::withdraw_finding(&t.db, &street, ids[0], " ", T0).await,
        Err(InspectionError::Invalid("reason", _))
    ));
    let w = inspections::withdraw_finding(&t.db, &street, ids[0], "重复记录", T0)
        .await
        .unwrap();
    assert!(w.withdrawn_at.is_some());
    let detail = inspections::get_inspection(&t.db, &anju, i.id).await.unwrap();
    assert_eq!(detail.inspection.findings, 2);
    assert_eq!(detail.findings.len(), 3);

    // The notice: its number, the default deadline of 15 working days, the company told.
    let d = inspections::issue(
        &t.db,
        &street,
        &NewRectification {
            inspection_id: i.id,
            finding_ids: vec![ids[1], ids[2]],
            deadline: None,
            requirement: None,
        },
        &s,
        T0,
    )
    .await
    .unwrap();
    assert_eq!(d.notice.number, "ZG-370705-2026-0001");
    assert_eq!(
        d.notice.deadline,
        s.calendar.add_working_days(date!(2026 - 11 - 02), 15)
    );
    assert_eq!(d.notice.state, "issued");
    assert_eq!(d.findings.len(), 2);
    let id = d.notice.id;
    // A withdrawn finding or one already on a notice cannot be put on another.
    for f in [ids[0], ids[1]] {
        let r = inspections::issue(
            &t.db,
            &street,
            &NewRectification {
                inspection_id: i.id,
                finding_ids: vec![f],
                deadline: None,
                requirement: None,
            },
            &s,
            T0,
        )
        .await;
        assert!(
            matches!(r, Err(InspectionError::Invalid("finding_ids", _))),
            "{r:?}"
        );
    }
    let told = count(
        t,
        "SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.scope_company = $1 AND n.kind = 'rectification_issued'",
        d.notice.company_id,
    )
    .await;
    assert_eq!(told, 1);

    // The company responds; the regulator may not respond, the company may not verify.
    assert!(matches!(
        inspections::act(&t.db, &street, id, &step("respond", "已整改"), &s, T0).await,
        Err(InspectionError::Forbidden(_))
    ));
    let later = T0 + time::Duration::days(3);
    let r = inspections::act(&t.db, &anju, id, &step("respond", "已清理完毕"), &s, later)
        .await
        .unwrap();
    assert_eq!(r.notice.state, "responded");
    assert!(r.notice.first_response_at.is_some());
    assert!(
        r.notice.next_escalation_at.is_none(),
        "the response stops escalation"
    );
    assert!(matches!(
        inspections::act(&t.db, &anju, id, &step("verify", ""), &s, later).await,
        Err(InspectionError::Forbidden(_))
    ));
    let v = inspections::act(&t.db, &street, id, &step("verify", "复查合格"), &s, later)
        .await
        .unwrap();
    assert_eq!(v.notice.state, "verified");
    let actions: Vec<&str> = v.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["issue", "respond", "verify"]);
    assert!(matches!(
        inspections::act(&t.db, &street, id, &step("verify", ""), &s, later).await,
        Err(InspectionError::Refused(_))
    ));

    // The assessment's inputs: one inspection with one major and one serious finding.
    let facts = inspections::assessment_facts(&t.db, date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        .await
        .unwrap();
    assert_eq!(facts.len(), 1);
    assert_eq!(
        (
            facts[0].compound_id,
            facts[0].minor,
            facts[0].major,
            facts[0].serious
        ),
        (xq1, 0, 1, 1)
    );
    assert!(
        inspections::overdue_notices(&t.db, date!(2026 - 11 - 01), date!(2026 - 12 - 31))
            .await
            .unwrap()
            .is_empty()
    );
});

storage_test!(a_rejection_sets_a_new_deadline, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let anju = staff(t, "staff1", Role::CompanyStaff, "91350100M000100Y43").await;
    let (i, ids) = inspected(t, &street, &["major"]).await;
    let id = notice(t, &street, i, ids, Some(date!(2026 - 11 - 20))).await;
    inspections::act(&t.db, &anju, id, &step("respond", "已整改"), &s, T0)
        .await
        .unwrap();
    assert!(matches!(
        inspections::act(&t.db, &street, id, &step("reject", ""), &s, T0).await,
        Err(InspectionError::Invalid("note", _))
    ));
    let mut rej = step("reject", "未整改到位");
    rej.deadline = Some(date!(2026 - 12 - 04));
    let r = inspections::act(&t.db, &street, id, &rej, &s, T0).await.unwrap();
    assert_eq!(r.notice.state, "issued");
    assert_eq!(r.notice.rounds, 2);
    assert_eq!(r.notice.deadline, date!(2026 - 12 - 04));
    assert_eq!(r.notice.supervision_level, 0);
    assert_eq!(r.notice.next_escalation_at, Some(datetime!(2026-12-04 16:00 UTC)));
    assert_eq!(r.events.last().unwrap().deadline, Some(date!(2026 - 12 - 04)));
    // The second rejection raises supervision one level (the street), default deadline.
    inspections::act(&t.db, &anju, id, &step("respond", "再次整改"), &s, T0)
        .await
        .unwrap();
    let r = inspections::act(&t.db, &street, id, &step("reject", "仍未到位"), &s, T0)
        .await
        .unwrap();
    assert_eq!(r.notice.rounds, 3);
    assert_eq!(r.notice.supervision_level, 1);
    assert_eq!(
        r.notice.supervising_region_code,
        Some(RegionCode::parse("370705001").unwrap().as_i64())
    );
    assert_eq!(
        r.notice.deadline,
        s.calendar.add_working_days(date!(2026 - 11 - 02), 15)
    );
    // The raise is on the timeline and the street is told.
    assert!(
        r.events
            .last()
            .unwrap()
            .note
            .contains("supervision raised to level 1"),
        "{:?}",
        r.events.last()
    );
    let told = count(
        t,
        "SELECT count(*) FROM notifications WHERE region_code = $1 AND kind = 'rectification_escalated'",
        RegionCode::parse("370705001").unwrap().as_i64(),
    )
    .await;
    assert_eq!(told, 1);
    // The first response time is kept.
    assert_eq!(r.notice.first_response_at, Some(T0));
    // A third rejection raises it to the district, which opens an interview of the company,
    // as when the sweep raises it.
    inspections::act(&t.db, &anju, id, &step("respond", "第三次整改"), &s, T0)
        .await
        .unwrap();
    let r = inspections::act(&t.db, &street, id, &step("reject", "仍未到位"), &s, T0)
        .await
        .unwrap();
    assert_eq!(r.notice.supervision_level, 2);
    let ivs = wuye::supervision::interviews(&t.db, &Actor::cli(), None)
        .await
        .unwrap();
    assert_eq!(
        ivs.iter()
            .map(|i| (
                i.rectification_id,
                i.origin.as_str(),
                i.reason.contains("rejected twice")
            ))
            .collect::<Vec<_>>(),
        [(Some(id), "rectification", true)]
    );
});

storage_test!(a_notice_that_cannot_escalate_does_not_hold_up_the_others, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let (i, ids) = inspected(t, &street, &["serious"]).await;
    let (j, jds) = inspected(t, &street, &["serious"]).await;
    let deadline = Some(date!(2026 - 11 - 06));
    // The same deadline: the sweep visits the first notice first.
    let (first, second) = (
        notice(t, &street, i, ids, deadline).await,
        notice(t, &street, j, jds, deadline).await,
    );
    let db = &t.db;
    let street = &street;
    let level = |id| async move {
        inspections::get_notice(db, street, id)
            .await
            .unwrap()
            .notice
            .supervision_level
    };
    let at = datetime!(2026-11-06 16:30 UTC);
    // The first notice's escalation fails in the database, whatever the sweep does.
    poison(db, "rectifications", "UPDATE", &format!("NEW.id = {first}")).await;
    assert_eq!(inspections::sweep(db, &s, at).await.unwrap(), 1);
    assert_eq!((level(first).await, level(second).await), (0, 1));
    // Mended, the next sweep escalates it.
    mend(db, "rectifications").await;
    assert_eq!(inspections::sweep(db, &s, at).await.unwrap(), 1);
    assert_eq!((level(first).await, level(second).await), (1, 1));
});

storage_test!(
    a_response_is_recorded_with_its_notification_and_audit_or_not_at_all,
    |t| {
        seed(&t.db).await;
        let db = &t.db;
        let s = Settings::shipped();
        let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
        let anju = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
        let (i, ids) = inspected(t, &street, &["serious"]).await;
        let id = notice(t, &street, i, ids, None).await;
        let state = || async {
            let n = inspections::get_notice(db, &street, id).await.unwrap().notice;
            let told = rows(
                db,
                "SELECT count(*) FROM notifications WHERE kind = 'rectification_responded'",
            );
            (n.state, told.await)
        };
        // The issuer cannot be told: the response is not recorded either.
        poison(
            db,
            "notifications",
            "INSERT",
            "NEW.kind = 'rectification_responded'",
        )
        .await;
        let respond = step("respond", "已清理");
        assert!(inspections::act(db, &anju, id, &respond, &s, T0).await.is_err());
        assert_eq!(state().await, ("issued".to_owned(), 0));
        mend(db, "notifications").await;
        // Nor without its audit entry.
        poison(db, "audit_log", "INSERT", "NEW.action = 'rectification.respond'").await;
        assert!(inspections::act(db, &anju, id, &respond, &s, T0).await.is_err());
        assert_eq!(state().await, ("issued".to_owned(), 0));
        mend(db, "audit_log").await;
        inspections::act(db, &anju, id, &respond, &s, T0).await.unwrap();
        assert_eq!(state().await, ("responded".to_owned(), 1));
    }
);

storage_test!(
    a_notice_is_issued_with_its_notification_and_audit_or_not_at_all,
    |t| {
        seed(&t.db).await;
        let db = &t.db;
        let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
        staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
        let (i, ids) = inspected(t, &street, &["serious"]).await;
        let new = NewRectification {
            inspection_id: i,
            finding_ids: ids,
            deadline: None,
            requirement: None,
        };
        let counts = || async {
            (
                rows(db, "SELECT count(*) FROM rectifications").await,
                rows(
                    db,
                    "SELECT count(*) FROM notifications WHERE kind = 'rectification_issued'",
                )
                .await,
            )
        };
        // The company cannot be told: the notice is not issued, and its finding stays free.
        poison(db, "notifications", "INSERT", "NEW.kind = 'rectification_issued'").await;
        assert!(
            inspections::issue(db, &street, &new, &Settings::shipped(), T0)
                .await
                .is_err()
        );
        assert_eq!(counts().await, (0, 0));
        mend(db, "notifications").await;
        // Nor without its audit entry.
        poison(db, "audit_log", "INSERT", "NEW.action = 'rectification.issue'").await;
        let refused = inspections::issue(db, &street, &new, &Settings::shipped(), T0).await;
        assert!(refused.is_err());
        assert_eq!(counts().await, (0, 0));
        mend(db, "audit_log").await;
        inspections::issue(db, &street, &new, &Settings::shipped(), T0)
            .await
            .unwrap();
        assert_eq!(counts().await, (1, 1));
    }
);

storage_test!(
    an_escalation_follow_up_that_failed_is_made_by_a_later_sweep,
    |t| {
        seed(&t.db).await;
        let db = &t.db;
        let s = Settings::shipped();
        let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
        let (i, ids) = inspected(t, &street, &["serious"]).await;
        let id = notice(t, &street, i, ids, Some(date!(2026 - 11 - 06))).await;
        let interviews = || async {
            wuye::supervision::interviews(db, &Actor::cli(), None)
                .await
                .unwrap()
                .iter()
                .filter(|iv| iv.rectification_id == Some(id))
                .count()
        };
        let noted = |like: &'static str| async move {
            let (n,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
            "SELECT count(*) FROM rectification_events WHERE rectification_id = $1 AND note LIKE $2")
            .bind(id).bind(like).fetch_one(pool).await)
            .unwrap();
            n
        };
        // The district's interview cannot be opened when the notice reaches it (level 2).
        poison(
            db,
            "interviews",
            "INSERT",
            &format!("NEW.rectification_id = {id}"),
        )
        .await;
        let s = &s;
        let sweep = |at| async move { inspections::sweep(db, s, at).await.unwrap() };
        assert_eq!(sweep(datetime!(2026-11-06 16:30 UTC)).await, 1);
        assert_eq!(sweep(datetime!(2026-11-13 16:30 UTC)).await, 1);
        let n = inspections::get_notice(db, &street, id).await.unwrap().notice;
        assert_eq!(n.supervision_level, 2, "the escalation stands");
        assert_eq!(interviews().await, 0);
        assert_eq!(noted("%retried%").await, 1);
        // Mended: while the escalation's claim is fresh nothing is retried; after it, the
        // interview is opened, once, however often the sweep runs.
        mend(db, "interviews").await;
        sweep(datetime!(2026-11-13 16:35 UTC)).await;
        assert_eq!(interviews().await, 0);
        sweep(datetime!(2026-11-13 16:45 UTC)).await;
        sweep(datetime!(2026-11-13 17:00 UTC)).await;
        assert_eq!(interviews().await, 1);
        assert_eq!(noted("interview % opened%").await, 1);
        assert_eq!(noted("%retried%").await, 1, "a retry adds no failure note");
    }
);

storage_test!(an_overdue_notice_escalates_once_per_level, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let anju = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let (i, ids) = inspected(t, &street, &["serious"]).await;
    // Deadline Friday 2026-11-06, ending 24:00 China time (16:00 UTC).
    let id = notice(t, &street, i, ids, Some(date!(2026 - 11 - 06))).await;
    let events =
        "SELECT count(*) FROM rectification_events WHERE rectification_id = $1 AND action = 'escalate'";

    assert_eq!(
        inspections::sweep(&t.db, &s, datetime!(2026-11-06 15:59 UTC))
            .await
            .unwrap(),
        0
    );
    // Two sweeps at once, then a third: one escalation.
    let at = datetime!(2026-11-06 16:30 UTC);
    let (a, b) = tokio::join!(
        inspections::sweep(&t.db, &s, at),
        inspections::sweep(&t.db, &s, at)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(inspections::sweep(&t.db, &s, at).await.unwrap(), 0);
    assert_eq!(count(t, events, id).await, 1);
    let n = inspections::get_notice(&t.db, &street, id).await.unwrap().notice;
    assert_eq!(n.supervision_level, 1);
    assert_eq!(
        n.supervising_region_code,
        Some(RegionCode::parse("370705001").unwrap().as_i64())
    );
    // Five working days on (11-13 ends 24:00 China time): the district.
    assert_eq!(n.next_escalation_at, Some(datetime!(2026-11-13 16:00 UTC)));
    let told = count(
        t,
        "SELECT count(*) FROM notifications WHERE region_code = $1 AND kind = 'rectification_escalated'",
        RegionCode::parse("370705001").unwrap().as_i64(),
    )
    .await;
    assert_eq!(told, 1);
    // The company's accounts were told too; a disabled account hears nothing more.
    let company_told = || {
        rows(
            &t.db,
            "SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE u.login = 'anju' AND n.kind = 'rectification_escalated'",
        )
    };
    assert_eq!(company_told().await, 1);
    let db = &t.db;
    wuye::db_run!(db, pool => sqlx::query("UPDATE users SET disabled = $1 WHERE login = 'anju'")
        .bind(true).execute(pool).await.map(|_| ()))
    .unwrap();

    // Much later, the district and then the city, each once; then nothing more.
    assert_eq!(
        inspections::sweep(&t.db, &s, datetime!(2026-11-30 00:00 UTC))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        inspections::sweep(&t.db, &s, datetime!(2027-06-30 00:00 UTC))
            .await
            .unwrap(),
        0
    );
    assert_eq!(company_told().await, 1, "not told while disabled");
    wuye::db_run!(db, pool => sqlx::query("UPDATE users SET disabled = $1 WHERE login = 'anju'")
        .bind(false).execute(pool).await.map(|_| ()))
    .unwrap();
    // Three levels, and the follow-ups of levels 2 and 3 on the timeline.
    assert_eq!(count(t, events, id).await, 5);
    // Level 2 opened one interview of the company by the district; level 3 issued one
    // `overdue_notice` credit record (3.00 points by the default scheme), by the system.
    let interviews = wuye::supervision::interviews(&t.db, &street, None).await.unwrap();
    assert_eq!(interviews.len(), 1);
    assert_eq!(
        (
            interviews[0].origin.as_str(),
            interviews[0].rectification_id,
            interviews[0].state.as_str(),
            interviews[0].region_code
        ),
        (
            "rectification",
            Some(id),
            "pending",
            RegionCode::parse("370705").unwrap().as_i64()
        )
    );
    let db = &t.db;
    let records: Vec<(String, i64, Option<i64>, String)> = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT item_key, points, issuer_user_id, source FROM credit_records WHERE source_ref = $1")
        .bind(format!("rectification:{id}")).fetch_all(pool).await)
    .unwrap();
    assert_eq!(
        records,
        [("overdue_notice".to_owned(), 300, None, "rectification".to_owned())]
    );
    assert_eq!(
        wuye::supervision::interviews(&t.db, &anju, None)
            .await
            .unwrap()
            .len(),
        1,
        "the company reads its own interview"
    );
    let n = inspections::get_notice(&t.db, &street, id).await.unwrap().notice;
    assert_eq!(n.supervision_level, 3);
    assert_eq!(
        n.supervising_region_code,
        Some(RegionCode::parse("370700").unwrap().as_i64())
    );
    assert!(n.next_escalation_at.is_none());

    // A late response is still late.
    inspections::act(
        &t.db,
        &anju,
        id,
        &step("respond", "已整改"),
        &s,
        datetime!(2026-12-01 00:00 UTC),
    )
    .await
    .unwrap();
    let overdue = inspections::overdue_notices(&t.db, date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        .await
        .unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].0, xq1(t).await);
    // Rejected at the top level with a new deadline that passes too: no fourth escalation and
    // no second credit record.
    inspections::act(
        &t.db,
        &street,
        id,
        &step("reject", "仍未到位"),
        &s,
        datetime!(2026-12-01 02:00 UTC),
    )
    .await
    .unwrap();
    assert_eq!(
        inspections::sweep(&t.db, &s, datetime!(2027-06-30 00:00 UTC))
            .await
            .unwrap(),
        0
    );
    let db = &t.db;
    let (credit,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM credit_records WHERE source_ref = $1").bind(format!("rectification:{id}")).fetch_one(pool).await).unwrap();
    assert_eq!(credit, 1);
});

storage_test!(a_notice_is_withdrawn_by_its_issuer_or_above, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let street2 = staff(t, "street2", Role::StreetOfficer, "370705001").await;
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let anju = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let (i, ids) = inspected(t, &street, &["minor", "major"]).await;
    let first = notice(t, &street, i, vec![ids[0]], None).await;
    let second = notice(t, &street, i, vec![ids[1]], None).await;

    assert!(matches!(
        inspections::act(&t.db, &street2, first, &step("withdraw", "误发"), &s, T0).await,
        Err(InspectionError::Forbidden(_))
    ));
    assert!(matches!(
        inspections::act(&t.db, &anju, first, &step("withdraw", "误发"), &s, T0).await,
        Err(InspectionError::Forbidden(_))
    ));
    assert!(matches!(
        inspections::act(&t.db, &street, first, &step("withdraw", ""), &s, T0).await,
        Err(InspectionError::Invalid("note", _))
    ));
    let w = inspections::act(&t.db, &street, first, &step("withdraw", "误发"), &s, T0)
        .await
        .unwrap();
    assert_eq!(w.notice.state, "withdrawn");
    assert!(w.notice.next_escalation_at.is_none());
    let w = inspections::act(&t.db, &district, second, &step("withdraw", "合并处理"), &s, T0)
        .await
        .unwrap();
    assert_eq!(w.notice.state, "withdrawn");
    // Final: nothing more happens to it, and the sweep leaves it alone.
    assert!(matches!(
        inspections::act(&t.db, &anju, first, &step("respond", "x"), &s, T0).await,
        Err(InspectionError::Refused(_))
    ));
    assert_eq!(
        inspections::sweep(&t.db, &s, datetime!(2027-06-30 00:00 UTC))
            .await
            .unwrap(),
        0
    );
    // The finding of a withdrawn notice may go on a new one.
    let again = notice(t, &street, i, vec![ids[0]], None).await;
    assert!(again > second);
    // The withdrawn notice still lists the finding it covered.
    let listed = |n: i64| {
        let street = &street;
        async move {
            inspections::get_notice(&t.db, street, n)
                .await
                .unwrap()
                .findings
                .iter()
                .map(|f| f.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(first).await, [ids[0]]);
    assert_eq!(listed(again).await, [ids[0]]);
    let f = inspections::figures(&t.db, &street, None, date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        .await
        .unwrap();
    assert_eq!((f.notices_issued, f.notices_withdrawn), (3, 2));
});

storage_test!(a_company_reads_only_its_own_notices, |t| {
    seed(&t.db).await;
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let (i, ids) = inspected(t, &street, &["major"]).await;
    let id = notice(t, &street, i, ids, None).await;
    let app = app(t);
    let anju = token_for(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let hongda = token_for(t, "hongda", Role::CompanyStaff, "91110108551385082Q").await;
    let community = token_for(t, "community", Role::CommunityOfficer, "370705002001").await;

    let r = get_as(&app, &format!("/api/v1/rectifications/{id}"), &anju).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["notice"]["number"], "ZG-370705-2026-0001");
    assert_eq!(
        get_as(&app, "/api/v1/rectifications", &anju)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for token in [&hongda, &community] {
        assert_eq!(
            get_as(&app, &format!("/api/v1/rectifications/{id}"), token)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get_as(&app, &format!("/api/v1/inspections/{i}"), token)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert!(
            get_as(&app, "/api/v1/rectifications", token)
                .await
                .json()
                .as_array()
                .unwrap()
                .is_empty()
        );
        let r = json_as(
            &app,
            "POST",
            &format!("/api/v1/rectifications/{id}/actions"),
            token,
            serde_json::json!({"action": "respond", "note": "x"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
    // The company responds through the API.
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/rectifications/{id}/actions"),
        &anju,
        serde_json::json!({"action": "respond", "note": "已整改"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["notice"]["state"], "responded");
});

storage_test!(the_figures_count_each_notice_by_what_became_of_it, |t| {
    seed(&t.db).await;
    let db = &t.db;
    let s = Settings::shipped();
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let anju = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let deadline = Some(date!(2026 - 11 - 06));
    let mut notices = Vec::new();
    for _ in 0..4 {
        let (i, ids) = inspected(t, &street, &["serious"]).await;
        notices.push(notice(t, &street, i, ids, deadline).await);
    }
    let [answered, withdrawn, ignored, late] = notices[..] else {
        unreachable!()
    };
    let act = |id, who, action: &'static str, note: &'static str, at| {
        let (s, step) = (&s, step(action, note));
        async move { inspections::act(db, who, id, &step, s, at).await.unwrap() }
    };
    // Answered in time and verified; withdrawn; ignored (escalated to the street); answered
    // after its deadline had passed and it was escalated, then rejected with a later deadline.
    act(answered, &anju, "respond", "已清理", T0).await;
    act(answered, &street, "verify", "", T0).await;
    act(withdrawn, &street, "withdraw", "误发", T0).await;
    assert_eq!(
        inspections::sweep(db, &s, datetime!(2026-11-06 16:30 UTC))
            .await
            .unwrap(),
        2
    );
    act(late, &anju, "respond", "已清理", datetime!(2026-11-09 02:00 UTC)).await;
    act(late, &street, "reject", "未到位", datetime!(2026-11-09 03:00 UTC)).await;
    let f = inspections::figures(db, &street, None, date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        .await
        .unwrap();
    assert_eq!(
        (
            f.notices_issued,
            f.notices_withdrawn,
            f.verified,
            f.responded_in_time,
            f.overdue_level1,
            f.overdue_level2,
            f.overdue_level3
        ),
        (4, 1, 1, 1, 2, 0, 0),
        "{f:?}"
    );
    let level = |id| async move {
        inspections::get_notice(db, &Actor::cli(), id)
            .await
            .unwrap()
            .notice
            .supervision_level
    };
    assert_eq!((level(ignored).await, level(late).await), (1, 1));
    // The assessment's overdue notices: the ignored one and the late one, whose rejection set
    // a later deadline (its late response is still late).
    let overdue = inspections::overdue_notices(db, date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        .await
        .unwrap();
    assert_eq!(overdue.len(), 2, "{overdue:?}");
});

storage_test!(the_figures_line, |t| {
    seed(&t.db).await;
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (i, ids) = inspected(t, &street, &["minor", "major", "serious"]).await;
    inspections::withdraw_finding(&t.db, &street, ids[0], "误记", T0)
        .await
        .unwrap();
    notice(t, &street, i, vec![ids[1], ids[2]], None).await;
    inspected(t, &street, &["minor"]).await;
    let f = inspections::figures(
        &t.db,
        &district,
        None,
        date!(2026 - 11 - 01),
        date!(2026 - 11 - 30),
    )
    .await
    .unwrap();
    assert_eq!(
        f.line_en,
        "1 compounds inspected, 3 problems found, 1 notices issued"
    );
    assert_eq!(f.line_zh, "检查小区 1 个，发现问题 3 个，下发整改通知 1 份");
    assert_eq!(f.inspections, 2);
    // Outside the period, nothing; a region outside the caller's is refused.
    let f = inspections::figures(
        &t.db,
        &district,
        None,
        date!(2026 - 10 - 01),
        date!(2026 - 10 - 31),
    )
    .await
    .unwrap();
    assert_eq!(
        (f.compounds_inspected, f.problems_found, f.notices_issued),
        (0, 0, 0)
    );
    assert!(matches!(
        inspections::figures(
            &t.db,
            &street,
            RegionCode::parse("370705002").ok(),
            date!(2026 - 11 - 01),
            date!(2026 - 11 - 30)
        )
        .await,
        Err(InspectionError::Invalid("region", _))
    ));
    let app = app(t);
    let token = token_for(t, "district2", Role::DistrictOfficer, "370705").await;
    let r = get_as(
        &app,
        "/api/v1/inspections/figures?from=2026-11-01&to=2026-11-30",
        &token,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["problems_found"], 3);
});

/// A page session: (cookie, CSRF token).
async fn session(t: &TestDb, login: &str, role: Role, scope: &str) -> (String, String) {
    let actor = staff(t, login, role, scope).await;
    let now = OffsetDateTime::now_utc();
    let s = wuye::auth::start_session(&t.db, actor.user_id.unwrap(), "", now)
        .await
        .unwrap();
    let csrf = wuye::auth::session_actor(&t.db, &s, "", now)
        .await
        .unwrap()
        .unwrap()
        .csrf
        .unwrap();
    (format!("wuye_session={s}"), csrf)
}

async fn page(
    app: &axum::Router,
    method: &str,
    uri: &str,
    cookie: &str,
    ctype: &str,
    body: String,
) -> crate::http::Resp {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(axum::http::header::COOKIE, cookie)
        .header(axum::http::header::CONTENT_TYPE, ctype)
        .body(axum::body::Body::from(body))
        .unwrap();
    crate::http::send(app, req).await
}

fn location(r: &crate::http::Resp) -> String {
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
    r.headers[axum::http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The smallest JPEG the photo check accepts.
const JPEG: [u8; 10] = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 9, 9, 0xFF, 0xD9];

/// Posts the add-finding form of inspection `id` with `photos`.
async fn post_finding(
    app: &axum::Router,
    cookie: &str,
    csrf: &str,
    id: i64,
    photos: &[&[u8]],
) -> crate::http::Resp {
    let mut body = Vec::new();
    for (k, v) in [
        ("csrf", csrf),
        ("category", "fire_safety"),
        ("severity", "serious"),
        ("description", "消防通道堵塞"),
        ("place", "2号楼"),
    ] {
        body.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for p in photos {
        body.extend_from_slice(b"--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--B--\r\n");
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/inspections/{id}/findings"))
        .header(axum::http::header::COOKIE, cookie)
        .header(
            axum::http::header::CONTENT_TYPE,
            "multipart/form-data; boundary=B",
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    crate::http::send(app, req).await
}

storage_test!(a_finding_has_at_most_nine_photos, |t| {
    seed(&t.db).await;
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let new = NewInspection {
        compound_id: xq1(t).await,
        ..Default::default()
    };
    let i = inspections::create_inspection(&t.db, &street, &new, T0)
        .await
        .unwrap()
        .id;
    let ids = [add_finding(&t.db, &street, i, &finding("cleaning", "minor"), T0)
        .await
        .unwrap()
        .id];
    let files = wuye::files::FileStore::new(t.db.clone(), wuye::files::FileBackend::Database);
    // Nine fit one by one; the tenth is refused.
    for n in 1..=9 {
        let p = inspections::add_photo(&t.db, &files, &street, ids[0], &JPEG, T0).await;
        assert_eq!(p.unwrap(), n);
    }
    assert!(matches!(
        inspections::add_photo(&t.db, &files, &street, ids[0], &JPEG, T0).await,
        Err(InspectionError::Refused(_))
    ));
    // A new finding with ten is refused whole; with nine it is written with them.
    let ten = vec![JPEG.as_slice(); 10];
    let f = finding("cleaning", "minor");
    assert!(matches!(
        inspections::add_finding(&t.db, &files, &street, i, &f, &ten, T0).await,
        Err(InspectionError::Invalid("photo", _))
    ));
    let nine = inspections::add_finding(&t.db, &files, &street, i, &f, &ten[1..], T0)
        .await
        .unwrap();
    assert_eq!(nine.photos, 9);
    let d = inspections::get_inspection(&t.db, &street, i).await.unwrap();
    assert_eq!(
        d.findings.len(),
        ids.len() + 1,
        "the refused finding was not written"
    );
});

storage_test!(a_finding_is_saved_with_all_its_photos_or_not_at_all, |t| {
    seed(&t.db).await;
    let xq1 = xq1(t).await;
    let app = app(t);
    let (street, csrf) = session(t, "street", Role::StreetOfficer, "370705001").await;
    let r = page(
        &app,
        "POST",
        "/inspections",
        &street,
        "application/x-www-form-urlencoded",
        format!("csrf={csrf}&compound_id={xq1}"),
    )
    .await;
    let id: i64 = location(&r).trim_start_matches("/inspections/").parse().unwrap();
    let findings = || async {
        let d = inspections::get_inspection(&t.db, &Actor::cli(), id)
            .await
            .unwrap();
        d.findings.iter().map(|f| f.photos).collect::<Vec<_>>()
    };
    // A bad second photo: nothing is saved, and the page says which photo.
    let r = post_finding(&app, &street, &csrf, id, &[&JPEG, b"%PDF-1.4"]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("第 2 张照片"), "{}", r.text());
    assert_eq!(findings().await, Vec::<i64>::new());
    // The second photo, or the audit entry, cannot be written: the finding is not saved
    // without it.
    for (table, when) in [
        ("finding_photos", "NEW.position = 2"),
        ("audit_log", "NEW.action = 'finding.add'"),
    ] {
        poison(&t.db, table, "INSERT", when).await;
        let r = post_finding(&app, &street, &csrf, id, &[&JPEG, &JPEG]).await;
        assert!(r.status.is_server_error(), "{table}: {}", r.status);
        assert_eq!(findings().await, Vec::<i64>::new());
        mend(&t.db, table).await;
    }
    // Mended, the same form saves the finding once, with both photos.
    let r = post_finding(&app, &street, &csrf, id, &[&JPEG, &JPEG]).await;
    assert_eq!(location(&r), format!("/inspections/{id}"));
    assert_eq!(findings().await, [2]);
});

storage_test!(the_loop_on_the_pages, |t| {
    seed(&t.db).await;
    let xq1 = xq1(t).await;
    let app = app(t);
    let form = "application/x-www-form-urlencoded";
    let (street, csrf) = session(t, "street", Role::StreetOfficer, "370705001").await;
    let (anju, anju_csrf) = session(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;

    let r = page(&app, "GET", "/inspections", &street, form, String::new()).await;
    assert!(r.text().contains("新建检查"), "{}", r.text());
    assert!(r.text().contains("检查小区"), "{}", r.text());
    let r = page(
        &app,
        "POST",
        "/inspections",
        &street,
        form,
        format!("csrf={csrf}&compound_id={xq1}"),
    )
    .await;
    let at = location(&r);
    let id: i64 = at.trim_start_matches("/inspections/").parse().unwrap();
    let r = post_finding(&app, &street, &csrf, id, &[&JPEG]).await;
    assert_eq!(location(&r), at);
    location(
        &page(
            &app,
            "POST",
            &format!("/inspections/{id}/submit"),
            &street,
            form,
            format!("csrf={csrf}"),
        )
        .await,
    );
    let d = inspections::get_inspection(&t.db, &Actor::cli(), id)
        .await
        .unwrap();
    assert_eq!(
        (
            d.inspection.state.as_str(),
            d.findings.len(),
            d.findings[0].photos
        ),
        ("submitted", 1, 1)
    );
    let r = page(&app, "GET", &at, &street, form, String::new()).await;
    assert!(
        r.text().contains("消防通道堵塞") && r.text().contains("下发限期整改通知书"),
        "{}",
        r.text()
    );
    let f = d.findings[0].id;
    let r = page(
        &app,
        "POST",
        &format!("/inspections/{id}/notice"),
        &street,
        form,
        format!("csrf={csrf}&f{f}=1&deadline=&requirement="),
    )
    .await;
    let notice_at = location(&r);
    assert!(notice_at.starts_with("/rectifications/"));

    // The company reads it (in English too) and responds.
    let r = page(&app, "GET", "/rectifications", &anju, form, String::new()).await;
    assert!(r.text().contains("ZG-370705-"), "{}", r.text());
    let r = page(
        &app,
        "GET",
        &format!("{notice_at}?lang=en"),
        &anju,
        form,
        String::new(),
    )
    .await;
    assert!(r.text().contains("Respond"), "{}", r.text());
    let r = page(
        &app,
        "POST",
        &format!("{notice_at}/act"),
        &anju,
        form,
        "csrf=wrong&action=respond&note=x".to_owned(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = page(
        &app,
        "POST",
        &format!("{notice_at}/act"),
        &anju,
        form,
        format!("csrf={anju_csrf}&action=respond&note=%E5%B7%B2%E6%95%B4%E6%94%B9"),
    )
    .await;
    assert_eq!(location(&r), notice_at);
    let r = page(&app, "GET", &notice_at, &street, form, String::new()).await;
    assert!(r.text().contains("验收通过"), "{}", r.text());
});
