//! The credit ledger (docs/assessment.md §6, §8) on both engines: the worked example of §6
//! through the database, who sees and appeals what, the issuer who may not decide, records that
//! cannot be edited or deleted, the public list, schemes, evidence and validation errors.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::json;
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};
use wuye::auth::Actor;
use wuye::clock::Clock;
use wuye::credit::{self, AppealDecision, CreditError, NewListEntry, NewRecord, Upload};
use wuye::files::{FileBackend, FileStore};
use wuye_model::Role;

use crate::http::{app_with_clock, assert_error, get, get_as, json_as, send_as, staff_with_token as staff};
use crate::storage_test;
use crate::support::{TestDb, seed};

const ANJU: &str = "91350100M000100Y43";
const HONGDA: &str = "91110108551385082Q";

async fn company_id(t: &TestDb, uscc: &str) -> i64 {
    let db = &t.db;
    let (id,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = $1").bind(uscc).fetch_one(pool).await).unwrap();
    id
}

fn files(t: &TestDb) -> FileStore {
    FileStore::new(t.db.clone(), FileBackend::Database)
}

fn record(company: i64, item: &str, points: Option<&str>, from: Option<Date>, reason: &str) -> NewRecord {
    NewRecord {
        company_id: company,
        compound_id: None,
        item_key: item.into(),
        points: points.map(str::to_owned),
        reason: reason.into(),
        valid_from: from,
        valid_to: None,
    }
}

/// A company enrolled (80.00) and awarded (5.00) from `from`: 85.00 points, no bad record.
async fn enrol_and_award(
    t: &TestDb,
    files: &FileStore,
    by: &wuye::auth::Actor,
    company: i64,
    from: Option<Date>,
    now: time::OffsetDateTime,
) {
    for (item, points) in [("enrolment", "80.00"), ("award", "5.00")] {
        credit::issue(
            &t.db,
            files,
            by,
            &record(company, item, Some(points), from, "登记"),
            &[],
            now,
        )
        .await
        .unwrap();
    }
}

fn pdf() -> Upload {
    Upload {
        name: "处罚决定书".into(),
        bytes: b"%PDF-1.4\n% evidence\n".to_vec(),
    }
}

storage_test!(worked_example_83_aa_then_appeal_upheld_86_aaa, |t| {
    seed(&t.db).await;
    let files = files(t);
    let x = company_id(t, ANJU).await;
    let (_, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (_, admin) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let (_, anju) = staff(t, "anju", Role::CompanyAdmin, ANJU).await;
    let issued = datetime!(2026-11-20 10:00 +8);
    let jan = Some(date!(2026 - 01 - 01));
    // Basic records 85.00 (capped at 80.00); good: an award 5 + a volunteer record 3.
    for (item, points, reason) in [
        ("enrolment", "60.00", "企业信息登记"),
        ("enrolment", "25.00", "项目信息登记"),
        ("award", "5.00", "市级表彰"),
        ("award", "3.00", "志愿服务"),
    ] {
        credit::issue(
            &t.db,
            &files,
            &district,
            &record(x, item, Some(points), jan, reason),
            &[],
            issued,
        )
        .await
        .unwrap();
    }
    // Bad: bottom_n 2.00 valid 2026-11-11 – 2027-11-11 (the default year), overdue 3.00.
    let bottom = credit::issue(
        &t.db,
        &files,
        &admin,
        &record(
            x,
            "bottom_n",
            None,
            Some(date!(2026 - 11 - 11)),
            "2026-10 考核末位",
        ),
        &[],
        issued,
    )
    .await
    .unwrap();
    let overdue = credit::issue(
        &t.db,
        &files,
        &district,
        &record(
            x,
            "overdue_notice",
            None,
            Some(date!(2026 - 11 - 20)),
            "整改通知逾期未回复",
        ),
        &[pdf()],
        issued,
    )
    .await
    .unwrap();

    let s = credit::standing(&t.db, &district, x, date!(2026 - 11 - 30))
        .await
        .unwrap();
    assert_eq!((s.basic, s.good, s.bad, s.score), (8_000, 800, 500, 8_300));
    assert_eq!(s.grade, "AA");
    assert!(s.scheme.id.is_none(), "no scheme published: the shipped default");
    assert!(s.candidacy.is_none());

    // 安居's administrator appeals the 3.00 on 2026-11-25; the city administrator upholds it
    // on 2026-12-05 (the district officer issued it and may not decide).
    let appeal = credit::appeal(
        &t.db,
        &files,
        &anju,
        overdue,
        "已于期限内书面回复，附回执",
        &[pdf()],
        datetime!(2026-11-25 09:00 +8),
    )
    .await
    .unwrap();
    let decision = AppealDecision {
        outcome: "upheld".into(),
        reason: "回执属实".into(),
        points: None,
    };
    let refused = credit::decide(
        &t.db,
        &district,
        appeal,
        &decision,
        datetime!(2026-12-05 09:00 +8),
    )
    .await;
    assert!(matches!(refused, Err(CreditError::Forbidden(_))), "{refused:?}");
    let d = credit::decide(&t.db, &admin, appeal, &decision, datetime!(2026-12-05 09:00 +8))
        .await
        .unwrap();
    assert_eq!(d.state, "upheld");
    assert!(d.replacement_record_id.is_none());

    let before = credit::standing(&t.db, &anju, x, date!(2026 - 12 - 04))
        .await
        .unwrap();
    assert_eq!(
        (before.score, before.grade.as_str()),
        (8_300, "AA"),
        "not retroactive"
    );
    let after = credit::standing(&t.db, &anju, x, date!(2026 - 12 - 05))
        .await
        .unwrap();
    assert_eq!((after.score, after.grade.as_str()), (8_600, "AAA"));
    assert!(after.active_bad, "bottom_n is still active");
    assert!(after.candidacy.is_none(), "AAA, yet not a red-list candidate");
    assert!(after.active.contains(&bottom) && !after.active.contains(&overdue));

    // The ledger shows the records behind it, the appeal with its decision and the evidence.
    let l = credit::ledger(&t.db, &anju, x, date!(2026 - 12 - 05), date!(2026 - 12 - 05))
        .await
        .unwrap();
    assert_eq!(l.standing.score, 8_600);
    assert_eq!(l.records.len(), 6);
    let e = l.records.iter().find(|e| e.record.id == overdue).unwrap();
    assert!(!e.active);
    let a = e.appeal.as_ref().unwrap();
    assert_eq!(
        (a.state.as_str(), a.decision_reason.as_deref()),
        ("upheld", Some("回执属实"))
    );
    assert_eq!(e.evidence.len(), 1);
    assert_eq!(
        e.evidence[0].url,
        format!("/api/v1/credit/records/{overdue}/evidence/1")
    );
    assert_eq!(e.appeal_evidence.len(), 1);
    let v = serde_json::to_value(&l).unwrap();
    assert_eq!(v["standing"]["score"], "86.00");
    assert_eq!(v["standing"]["grade"], "AAA");
    assert_eq!(v["appeal_days"], 30);

    // The record itself was never touched.
    let db = &t.db;
    let (points, valid_to): (i64, Date) = wuye::db_read!(db, pool => sqlx::query_as("SELECT points, valid_to FROM credit_records WHERE id = $1").bind(overdue).fetch_one(pool).await).unwrap();
    assert_eq!((points, valid_to), (300, date!(2027 - 11 - 20)));
    // The audit log has the issue, the appeal and the decision.
    let (n,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM audit_log WHERE action LIKE 'credit%'").fetch_one(pool).await).unwrap();
    assert_eq!(n, 8);
});

storage_test!(
    partly_upheld_replaces_with_fewer_points_from_the_decision_day,
    |t| {
        seed(&t.db).await;
        let files = files(t);
        let x = company_id(t, ANJU).await;
        let (_, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
        let (_, admin) = staff(t, "admin", Role::CityAdmin, "370700").await;
        let (_, anju) = staff(t, "anju", Role::CompanyAdmin, ANJU).await;
        let issued = datetime!(2026-03-02 10:00 +8);
        credit::issue(
            &t.db,
            &files,
            &admin,
            &record(x, "enrolment", Some("80.00"), None, "登记"),
            &[],
            issued,
        )
        .await
        .unwrap();
        let bad = credit::issue(
            &t.db,
            &files,
            &district,
            &record(x, "penalty", None, None, "行政处罚"),
            &[],
            issued,
        )
        .await
        .unwrap();
        let appeal = credit::appeal(
            &t.db,
            &files,
            &anju,
            bad,
            "处罚已部分撤销",
            &[],
            issued + Duration::days(3),
        )
        .await
        .unwrap();
        let decided_at = datetime!(2026-03-10 15:00 +8);
        let too_many = AppealDecision {
            outcome: "partly_upheld".into(),
            reason: "部分成立".into(),
            points: Some("5.00".into()),
        };
        let r = credit::decide(&t.db, &admin, appeal, &too_many, decided_at).await;
        assert!(matches!(r, Err(CreditError::Invalid("points", _))), "{r:?}");
        let d = credit::decide(
            &t.db,
            &admin,
            appeal,
            &AppealDecision {
                points: Some("2.00".into()),
                ..too_many
            },
            decided_at,
        )
        .await
        .unwrap();
        let replacement = d.replacement_record_id.unwrap();
        // A second decision is refused.
        let again = AppealDecision {
            outcome: "rejected".into(),
            reason: "x".into(),
            points: None,
        };
        assert!(matches!(
            credit::decide(&t.db, &admin, appeal, &again, decided_at).await,
            Err(CreditError::Refused(_))
        ));
        let l = credit::ledger(&t.db, &admin, x, date!(2026 - 03 - 10), date!(2026 - 03 - 10))
            .await
            .unwrap();
        let rep = l.records.iter().find(|e| e.record.id == replacement).unwrap();
        assert_eq!(rep.record.replaces_record_id, Some(bad));
        assert_eq!(rep.record.points, 200);
        assert_eq!(rep.record.severity, "serious");
        assert_eq!(rep.record.valid_from, date!(2026 - 03 - 10));
        assert_eq!(
            rep.record.valid_to,
            date!(2027 - 03 - 02),
            "the same end of validity"
        );
        assert!(rep.appeal_until.is_none(), "a replacement is not appealed again");
        // Before the decision the original counts, from it the replacement: never both.
        let s = credit::standing(&t.db, &admin, x, date!(2026 - 03 - 09))
            .await
            .unwrap();
        assert_eq!(s.score, 8_000 - 500);
        let s = credit::standing(&t.db, &admin, x, date!(2026 - 03 - 10))
            .await
            .unwrap();
        assert_eq!(s.score, 8_000 - 200);
        assert_eq!(s.grade, "A");
        // Serious bad record, but not the lowest grade: no black-list candidacy.
        assert!(s.candidacy.is_none());
    }
);

storage_test!(a_company_sees_and_appeals_its_own_records_only, |t| {
    seed(&t.db).await;
    let now = datetime!(2026-11-20 10:00 +8);
    let app = app_with_clock(t, Clock::fixed(now));
    let anju_id = company_id(t, ANJU).await;
    let hongda_id = company_id(t, HONGDA).await;
    let (district, _) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (anju, _) = staff(t, "anju", Role::CompanyAdmin, ANJU).await;
    let (anju_staff, _) = staff(t, "anju_staff", Role::CompanyStaff, ANJU).await;
    let (hongda, _) = staff(t, "hongda", Role::CompanyAdmin, HONGDA).await;
    let (committee, _) = staff(t, "committee", Role::CommitteeMember, "XQ2").await;
    let (other_district, _) = staff(t, "weicheng", Role::DistrictOfficer, "370702").await;

    let issue =
        |company: i64, item: &str| json!({"company_id": company, "item_key": item, "reason": "检查发现问题"});
    let r = json_as(
        &app,
        "POST",
        "/api/v1/credit/records",
        &district,
        issue(anju_id, "overdue_notice"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let mine = r.json()["id"].as_i64().unwrap();
    let r = json_as(
        &app,
        "POST",
        "/api/v1/credit/records",
        &district,
        issue(hongda_id, "bottom_n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let theirs = r.json()["id"].as_i64().unwrap();
    // Evidence, by the regulator.
    let r = send_as(
        &app,
        "POST",
        &format!("/api/v1/credit/records/{mine}/evidence?name=%E7%85%A7%E7%89%87"),
        &district,
        Body::from(b"%PDF-1.7\nx".to_vec()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["position"], 1);

    // 安居 reads its own ledger with evidence; 宏达's is 404 for it, and 安居's for 宏达.
    let r = get_as(&app, &format!("/api/v1/credit/companies/{anju_id}"), &anju).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["records"][0]["record"]["id"], mine);
    assert_eq!(v["records"][0]["record"]["points"], "3.00");
    assert_eq!(v["records"][0]["record"]["issuer_region_code"], "370705000000");
    assert_eq!(v["records"][0]["appeal_until"], "2026-12-20");
    assert_eq!(v["records"][0]["evidence"][0]["name"], "照片");
    assert_eq!(v["standing"]["grade"], "c_missing");
    // The ledger as a spreadsheet: the same reach (404 for the other company).
    let r = get_as(&app, &format!("/api/v1/credit/companies/{anju_id}/export"), &anju).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("3.00") && r.text().contains("事由(reason)"),
        "{}",
        r.text()
    );
    let r = get_as(
        &app,
        &format!("/api/v1/credit/companies/{anju_id}/export?format=xlsx"),
        &anju,
    )
    .await;
    assert!(r.body.starts_with(b"PK"), "an .xlsx is a zip");
    assert_eq!(
        get_as(
            &app,
            &format!("/api/v1/credit/companies/{anju_id}/export"),
            &hongda
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let url = v["records"][0]["evidence"][0]["url"].as_str().unwrap().to_owned();
    let r = get_as(&app, &url, &anju).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with(b"%PDF-"));
    assert_error(
        &get_as(&app, &url, &hongda).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &get_as(&app, &url, &committee).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(
        get_as(&app, &format!("/api/v1/credit/companies/{anju_id}"), &anju_staff)
            .await
            .status,
        StatusCode::OK
    );
    for (who, company) in [
        (&anju, hongda_id),
        (&hongda, anju_id),
        (&committee, anju_id),
        (&other_district, anju_id),
    ] {
        let r = get_as(&app, &format!("/api/v1/credit/companies/{company}"), who).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(
        get(&app, &format!("/api/v1/credit/companies/{anju_id}"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // It appeals its own record, not 宏达's (404), once (409); its staff may not (403).
    let grounds = json!({"grounds": "已按期回复"});
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/records/{theirs}/appeal"),
        &anju,
        grounds.clone(),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/records/{mine}/appeal"),
        &anju_staff,
        grounds.clone(),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/records/{mine}/appeal"),
        &anju,
        grounds.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let appeal = r.json()["id"].as_i64().unwrap();
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/records/{mine}/appeal"),
        &anju,
        grounds.clone(),
    )
    .await;
    let v = assert_error(&r, StatusCode::CONFLICT, "conflict");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("once per record"),
        "{v}"
    );
    // Evidence on its pending appeal, not on someone else's.
    let r = send_as(
        &app,
        "POST",
        &format!("/api/v1/credit/appeals/{appeal}/evidence"),
        &anju,
        Body::from(b"%PDF-1.7\ny".to_vec()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = send_as(
        &app,
        "POST",
        &format!("/api/v1/credit/appeals/{appeal}/evidence"),
        &hongda,
        Body::from(b"%PDF-1.7\ny".to_vec()),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");

    // The issuer may not decide it (403); a district officer of another district cannot see it.
    let decision = json!({"outcome": "rejected", "reason": "回复超期"});
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/appeals/{appeal}/decide"),
        &district,
        decision.clone(),
    )
    .await;
    let v = assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert!(v["error"]["message"].as_str().unwrap().contains("issuer"), "{v}");
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/appeals/{appeal}/decide"),
        &other_district,
        decision.clone(),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let (admin, _) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/appeals/{appeal}/decide"),
        &admin,
        decision.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "rejected");

    // 安居 was told of the record and of the decision.
    let v = get_as(&app, "/api/v1/notifications", &anju).await.json();
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["credit_appeal_decided", "credit_record"]);

    // The page: 安居 sees its ledger; 宏达 gets 404; anonymous is sent to sign in.
    let session = |login: &'static str| async move {
        let db = &t.db;
        let (id,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(pool).await).unwrap();
        wuye::auth::start_session(&t.db, id, "", now).await.unwrap()
    };
    let page = |cookie: String, path: String| {
        let app = app.clone();
        async move {
            let req = axum::http::Request::get(path)
                .header(axum::http::header::COOKIE, format!("wuye_session={cookie}"))
                .body(Body::empty())
                .unwrap();
            crate::http::send(&app, req).await
        }
    };
    let r = page(session("anju").await, format!("/credit/{anju_id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("检查发现问题") && r.text().contains("申诉驳回"),
        "{}",
        r.text()
    );
    let r = page(session("hongda").await, format!("/credit/{anju_id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = get(&app, &format!("/credit/{anju_id}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
});

storage_test!(appeals_close_after_the_appeal_period, |t| {
    seed(&t.db).await;
    let files = files(t);
    let x = company_id(t, ANJU).await;
    let (_, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (_, anju) = staff(t, "anju", Role::CompanyAdmin, ANJU).await;
    let issued = datetime!(2026-11-20 10:00 +8);
    let bad = credit::issue(
        &t.db,
        &files,
        &district,
        &record(x, "bottom_n", None, None, "末位"),
        &[],
        issued,
    )
    .await
    .unwrap();
    let good = credit::issue(
        &t.db,
        &files,
        &district,
        &record(x, "award", None, None, "表彰"),
        &[],
        issued,
    )
    .await
    .unwrap();
    let r = credit::appeal(&t.db, &files, &anju, good, "x", &[], issued).await;
    assert!(
        matches!(r, Err(CreditError::Refused(_))),
        "only bad records: {r:?}"
    );
    let r = credit::appeal(&t.db, &files, &anju, bad, "x", &[], issued + Duration::days(31)).await;
    match r {
        Err(CreditError::Refused(m)) => assert!(m.contains("2026-12-20"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The city may lengthen the period (city administrators only).
    let (_, admin) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let s = credit::CreditSettings {
        appeal_days: 60,
        list_days: 365,
    };
    assert!(matches!(
        credit::set_settings(&t.db, &district, &s, issued).await,
        Err(CreditError::Denied(_))
    ));
    credit::set_settings(&t.db, &admin, &s, issued).await.unwrap();
    credit::appeal(&t.db, &files, &anju, bad, "x", &[], issued + Duration::days(31))
        .await
        .unwrap();
});

storage_test!(records_cannot_be_updated_or_deleted, |t| {
    seed(&t.db).await;
    let x = company_id(t, ANJU).await;
    let (_, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let id = credit::issue(
        &t.db,
        &files(t),
        &district,
        &record(x, "overdue_notice", None, None, "逾期"),
        &[],
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let db = &t.db;
    let update = wuye::db_run!(db, pool => sqlx::query("UPDATE credit_records SET points = 1 WHERE id = $1").bind(id).execute(pool).await.map(|r| r.rows_affected()));
    let e = update.unwrap_err().to_string();
    assert!(e.contains("never edited"), "{e}");
    let delete = wuye::db_run!(db, pool => sqlx::query("DELETE FROM credit_records WHERE id = $1").bind(id).execute(pool).await.map(|r| r.rows_affected()));
    let e = delete.unwrap_err().to_string();
    assert!(e.contains("never deleted"), "{e}");
    let (n, points): (i64, i64) = wuye::db_read!(db, pool => sqlx::query_as("SELECT count(*), max(points) FROM credit_records").fetch_one(pool).await).unwrap();
    assert_eq!((n, points), (1, 300));
});

storage_test!(the_public_list_shows_only_active_published_entries, |t| {
    seed(&t.db).await;
    let now = datetime!(2026-11-20 10:00 +8);
    let today = date!(2026 - 11 - 20);
    let app = app_with_clock(t, Clock::fixed(now));
    let files = files(t);
    let anju_id = company_id(t, ANJU).await;
    let hongda_id = company_id(t, HONGDA).await;
    let (district_token, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (street, _) = staff(t, "street", Role::StreetOfficer, "370705001").await;
    // 宏达: enrolled and awarded, no bad record: AAA, a red-list candidate.
    let jan = Some(date!(2026 - 01 - 01));
    enrol_and_award(t, &files, &district, hongda_id, jan, now).await;
    let bad = credit::issue(
        &t.db,
        &files,
        &district,
        &record(anju_id, "veto", None, None, "重大安全事故"),
        &[],
        now,
    )
    .await
    .unwrap();
    let c = credit::candidates(&t.db, &district, today).await.unwrap();
    let lists: Vec<(i64, &str)> = c
        .candidates
        .iter()
        .map(|c| (c.company.id, c.standing.candidacy.as_ref().unwrap().list.as_str()))
        .collect();
    assert_eq!(lists, [(anju_id, "black"), (hongda_id, "red")]);

    let entry = |company: i64, list: &str, starts: Option<Date>, ends: Option<Date>| NewListEntry {
        company_id: company,
        list: list.into(),
        compound_id: None,
        reason: format!("{list} 事由"),
        basis: None,
        credit_record_id: None,
        starts_on: starts,
        ends_on: ends,
    };
    // Confirmed from the candidacy (its basis), with evidence; ends a year on by default.
    let red = credit::add_to_list(
        &t.db,
        &files,
        &district,
        &entry(hongda_id, "red", None, None),
        &[pdf()],
        now,
    )
    .await
    .unwrap();
    // An expired one and a scheduled one of 宏达, a revoked one of 安居.
    credit::add_to_list(
        &t.db,
        &files,
        &district,
        &NewListEntry {
            basis: Some("2025 年度红榜".into()),
            ..entry(
                hongda_id,
                "red",
                Some(date!(2025 - 01 - 01)),
                Some(date!(2025 - 12 - 31)),
            )
        },
        &[],
        now,
    )
    .await
    .unwrap();
    credit::add_to_list(
        &t.db,
        &files,
        &district,
        &NewListEntry {
            basis: Some("预定".into()),
            ..entry(hongda_id, "red", Some(date!(2028 - 01 - 01)), None)
        },
        &[],
        now,
    )
    .await
    .unwrap();
    let black = credit::add_to_list(
        &t.db,
        &files,
        &district,
        &NewListEntry {
            credit_record_id: Some(bad),
            ..entry(anju_id, "black", None, None)
        },
        &[],
        now,
    )
    .await
    .unwrap();
    // Not a candidate for red without a basis; overlapping entries refused.
    let r = credit::add_to_list(
        &t.db,
        &files,
        &district,
        &entry(anju_id, "red", Some(date!(2029 - 01 - 01)), None),
        &[],
        now,
    )
    .await;
    assert!(matches!(r, Err(CreditError::Invalid("basis", _))), "{r:?}");
    let r = credit::add_to_list(
        &t.db,
        &files,
        &district,
        &NewListEntry {
            basis: Some("x".into()),
            ..entry(hongda_id, "red", None, None)
        },
        &[],
        now,
    )
    .await;
    assert!(matches!(r, Err(CreditError::Refused(_))), "{r:?}");
    // Revoking: the street may not (403); the district does, once.
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/list/{black}/revoke"),
        &street,
        json!({"reason": "x"}),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/list/{black}/revoke"),
        &district_token,
        json!({"reason": "事故责任另有认定"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = json_as(
        &app,
        "POST",
        &format!("/api/v1/credit/list/{black}/revoke"),
        &district_token,
        json!({"reason": "again"}),
    )
    .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    // The public sees 宏达's active red entry only: reasons, basis, dates, no evidence.
    let r = get(&app, "/api/v1/credit/list").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["id"], red);
    assert_eq!(items[0]["list"], "red");
    assert_eq!(items[0]["company_name"], "潍坊宏达物业服务有限公司");
    assert_eq!(items[0]["starts_on"], "2026-11-20");
    assert_eq!(items[0]["ends_on"], "2027-11-20");
    assert!(items[0]["basis"].as_str().unwrap().contains("AAA"));
    assert!(items[0].get("evidence").is_none() && items[0].get("created_by").is_none());
    assert!(
        get(&app, "/api/v1/credit/list?list=black").await.json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_error(
        &get(&app, "/api/v1/credit/list?list=grey").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
    );
    let page = get(&app, "/red-black-list").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("潍坊宏达物业服务有限公司") && !html.contains("潍坊安居物业服务有限公司"));
    assert!(!html.contains("/evidence/"), "no evidence on the public page");
    // The ledger keeps the history: 安居's revoked entry with its reason.
    let l = credit::ledger(&t.db, &district, anju_id, today, today)
        .await
        .unwrap();
    assert_eq!(l.list_entries.len(), 1);
    assert_eq!(l.list_entries[0].status, "revoked");
    let l = credit::ledger(&t.db, &district, hongda_id, today, today)
        .await
        .unwrap();
    let statuses: Vec<&str> = l.list_entries.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["scheduled", "expired", "active"]);
    assert_eq!(l.list_entries[2].evidence.len(), 1);
});

storage_test!(schemes_are_versioned_data_per_region, |t| {
    seed(&t.db).await;
    let now = datetime!(2026-11-20 10:00 +8);
    let app = app_with_clock(t, Clock::fixed(now));
    let files = files(t);
    let x = company_id(t, ANJU).await;
    let (district_token, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (admin, _) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let jan = Some(date!(2026 - 01 - 01));
    credit::issue(
        &t.db,
        &files,
        &district,
        &record(x, "enrolment", Some("80.00"), jan, "登记"),
        &[],
        now,
    )
    .await
    .unwrap();
    credit::issue(
        &t.db,
        &files,
        &district,
        &record(x, "award", Some("6.00"), jan, "表彰"),
        &[],
        now,
    )
    .await
    .unwrap();
    let on = date!(2026 - 11 - 20);
    assert_eq!(
        credit::standing(&t.db, &district, x, on).await.unwrap().grade,
        "AAA"
    );
    // The district publishes stricter bands: AAA from 90.
    let csv = wuye_model::assessment::credit::CreditScheme::default_csv()
        .replace("grade,AAA,AAA,AAA,85.00", "grade,AAA,AAA,AAA,90.00")
        .replace("shandong_2019", "kuiwen_2026");
    let r = send_as(
        &app,
        "POST",
        "/api/v1/credit/schemes?region=370705&effective_from=2026-11-01",
        &district_token,
        Body::from(csv.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["version"], 1);
    assert_eq!(r.json()["region_code"], "370705000000");
    let s = credit::standing(&t.db, &district, x, on).await.unwrap();
    assert_eq!(
        (s.grade.as_str(), s.scheme.key.as_str(), s.scheme.version),
        ("AA", "kuiwen_2026", Some(1))
    );
    // Before its effective date the default still governs.
    let s = credit::standing(&t.db, &district, x, date!(2026 - 10 - 31))
        .await
        .unwrap();
    assert_eq!((s.grade.as_str(), s.scheme.id), ("AAA", None));
    // A district officer cannot publish for the city; a bad file reports every row error.
    let r = send_as(
        &app,
        "POST",
        "/api/v1/credit/schemes?region=370700",
        &district_token,
        Body::from(csv.clone()),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let bad = csv
        .replace("grade,AA,AA,AA,80.00", "grade,AA,AA,AA,95.00")
        .replace("5.00,good", "0,good");
    let r = send_as(
        &app,
        "POST",
        "/api/v1/credit/schemes?region=370705",
        &admin,
        Body::from(bad),
    )
    .await;
    let v = assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "import_rejected");
    assert_eq!(v["error"]["details"].as_array().unwrap().len(), 2, "{v}");
    // Schemes are public.
    let v = get(&app, "/api/v1/credit/schemes").await.json();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(v[1]["csv"].as_str().unwrap().contains("90.00"));
    let r = send_as(
        &app,
        "POST",
        "/api/v1/credit/schemes?region=370705",
        &admin,
        Body::from(csv),
    )
    .await;
    assert_eq!(r.json()["version"], 2, "{}", r.text());
});

storage_test!(invalid_input_is_refused_with_a_clear_message, |t| {
    seed(&t.db).await;
    let app = app_with_clock(t, Clock::fixed(datetime!(2026-11-20 10:00 +8)));
    let anju_id = company_id(t, ANJU).await;
    let (district, _) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (street, _) = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let post = |body: serde_json::Value| json_as(&app, "POST", "/api/v1/credit/records", &district, body);
    let cases = [
        (
            json!({"company_id": anju_id, "item_key": "nonsense", "reason": "x"}),
            "item_key",
            "unknown item",
        ),
        (
            json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "x", "points": "-3"}),
            "points",
            "negative",
        ),
        (
            json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "x", "points": "0"}),
            "points",
            "more than 0",
        ),
        (
            json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "  "}),
            "reason",
            "give the reason",
        ),
        (
            json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "x", "valid_from": "2026-11-20", "valid_to": "2026-11-01"}),
            "valid_to",
            "must end after",
        ),
        (
            json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "x", "compound_id": 2}),
            "compound_id",
            "no contract",
        ),
    ];
    for (body, field, words) in cases {
        let r = post(body.clone()).await;
        let v = assert_error(&r, StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_eq!(v["error"]["field"], field, "{body} → {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(words),
            "{body} → {v}"
        );
    }
    let r = send_as(
        &app,
        "POST",
        "/api/v1/credit/records",
        &district,
        Body::from("{not json"),
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_body");
    // A street officer may not issue; an unknown company is 404 to a district officer.
    let r = json_as(
        &app,
        "POST",
        "/api/v1/credit/records",
        &street,
        json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "x"}),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = post(json!({"company_id": 999, "item_key": "bottom_n", "reason": "x"})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // Evidence must be a PDF or an image.
    let id = post(json!({"company_id": anju_id, "item_key": "bottom_n", "reason": "x"}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let r = send_as(
        &app,
        "POST",
        &format!("/api/v1/credit/records/{id}/evidence"),
        &district,
        Body::from("plain text"),
    )
    .await;
    let v = assert_error(&r, StatusCode::BAD_REQUEST, "invalid_parameter");
    assert!(v["error"]["message_zh"].as_str().unwrap().contains("PDF"), "{v}");
    // A decision names its outcome; list entries name their list.
    let r = json_as(
        &app,
        "POST",
        "/api/v1/credit/list",
        &district,
        json!({"company_id": anju_id, "list": "grey", "reason": "x"}),
    )
    .await;
    let v = assert_error(&r, StatusCode::BAD_REQUEST, "invalid_parameter");
    assert_eq!(v["error"]["field"], "list");
    let r = get_as(
        &app,
        &format!("/api/v1/credit/companies/{anju_id}?on=2026-13-01"),
        &district,
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_parameter");
    let r = json_as(
        &app,
        "PUT",
        "/api/v1/credit/settings",
        &district,
        json!({"appeal_days": 0, "list_days": 365}),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let (admin, _) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let r = json_as(
        &app,
        "PUT",
        "/api/v1/credit/settings",
        &admin,
        json!({"appeal_days": 0, "list_days": 365}),
    )
    .await;
    let v = assert_error(&r, StatusCode::BAD_REQUEST, "invalid_parameter");
    assert_eq!(v["error"]["field"], "appeal_days");
    let r = json_as(
        &app,
        "PUT",
        "/api/v1/credit/settings",
        &admin,
        json!({"appeal_days": 45, "list_days": 180}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        get(&app, "/api/v1/credit/settings").await.json()["appeal_days"],
        45
    );
});

/// A browser session of an account: its cookie and its CSRF token.
pub(crate) async fn browser(t: &TestDb, actor: &Actor) -> (String, String) {
    let now = OffsetDateTime::now_utc();
    let cookie = wuye::auth::start_session(&t.db, actor.user_id.unwrap(), "", now)
        .await
        .unwrap();
    let csrf = wuye::auth::session_actor(&t.db, &cookie, "", now)
        .await
        .unwrap()
        .unwrap()
        .csrf
        .unwrap();
    (cookie, csrf)
}

/// A multipart body: text fields, then files as `evidence` (or `file`).
pub(crate) fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for (name, bytes) in files {
        b.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\r\n")
                .as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"--B--\r\n");
    b
}

pub(crate) async fn page_post(
    app: &axum::Router,
    cookie: &str,
    path: &str,
    ctype: &str,
    body: Vec<u8>,
) -> crate::http::Resp {
    let req = axum::http::Request::post(path)
        .header(axum::http::header::COOKIE, format!("wuye_session={cookie}"))
        .header(axum::http::header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
        .unwrap();
    crate::http::send(app, req).await
}

pub(crate) async fn page_get(app: &axum::Router, cookie: &str, path: &str) -> crate::http::Resp {
    let req = axum::http::Request::get(path)
        .header(axum::http::header::COOKIE, format!("wuye_session={cookie}"))
        .body(Body::empty())
        .unwrap();
    crate::http::send(app, req).await
}

storage_test!(the_pages_issue_appeal_decide_list_and_revoke, |t| {
    seed(&t.db).await;
    let app = app_with_clock(t, Clock::fixed(datetime!(2026-11-20 10:00 +8)));
    let x = company_id(t, ANJU).await;
    let (_, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (_, admin) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let (_, anju) = staff(t, "anju", Role::CompanyAdmin, ANJU).await;
    let (district, district_csrf) = browser(t, &district).await;
    let (admin, admin_csrf) = browser(t, &admin).await;
    let (anju, anju_csrf) = browser(t, &anju).await;
    const MP: &str = "multipart/form-data; boundary=B";
    const FORM: &str = "application/x-www-form-urlencoded";
    let ledger = format!("/credit/{x}");

    let r = page_get(&app, &district, &ledger).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("签发信用记录") && r.text().contains("overdue_notice"));
    // Issue with evidence; a stale CSRF token is refused.
    let fields = [
        ("item_key", "overdue_notice"),
        ("reason", "整改通知逾期"),
        ("compound_id", ""),
        ("points", ""),
    ];
    let body = |csrf: &str| {
        let mut f = vec![("csrf", csrf)];
        f.extend_from_slice(&fields);
        multipart(&f, &[("evidence", b"%PDF-1.5\nz")])
    };
    let r = page_post(&app, &district, &format!("{ledger}/records"), MP, body("stale")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = page_post(
        &app,
        &district,
        &format!("{ledger}/records"),
        MP,
        body(&district_csrf),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers["location"], ledger.as_str());
    let l = credit::ledger(
        &t.db,
        &Actor::cli(),
        x,
        date!(2026 - 11 - 20),
        date!(2026 - 11 - 20),
    )
    .await
    .unwrap();
    let rid = l.records[0].record.id;
    assert_eq!(l.records[0].evidence.len(), 1);

    // The company appeals on its page.
    let r = page_get(&app, &anju, &ledger).await;
    assert!(
        r.text().contains(&format!("/credit/records/{rid}/appeal")),
        "the appeal form"
    );
    assert!(
        !r.text().contains("签发信用记录"),
        "no issue form for the company"
    );
    let b = multipart(
        &[("csrf", &anju_csrf), ("grounds", "已按期回复")],
        &[("evidence", b"%PDF-1.5\nw")],
    );
    let r = page_post(&app, &anju, &format!("/credit/records/{rid}/appeal"), MP, b).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let l = credit::ledger(
        &t.db,
        &Actor::cli(),
        x,
        date!(2026 - 11 - 20),
        date!(2026 - 11 - 20),
    )
    .await
    .unwrap();
    let aid = l.records[0].appeal.as_ref().unwrap().id;
    // The issuer gets no decision form; the city administrator does, and decides.
    let r = page_get(&app, &district, &ledger).await;
    assert!(r.text().contains("申诉中") && !r.text().contains("/decide"));
    let r = page_get(&app, &admin, &format!("{ledger}?lang=en")).await;
    assert!(r.text().contains(&format!("/credit/appeals/{aid}/decide")) && r.text().contains("Under appeal"));
    let b = format!("csrf={admin_csrf}&outcome=upheld&reason=ok&points=").into_bytes();
    let r = page_post(&app, &admin, &format!("/credit/appeals/{aid}/decide"), FORM, b).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // Listing on the black list directly (with a basis), then revoking it.
    let b = multipart(
        &[
            ("csrf", &admin_csrf),
            ("list", "black"),
            ("reason", "重大事故"),
            ("basis", "direct / 直接列入"),
            ("starts_on", ""),
            ("ends_on", ""),
        ],
        &[],
    );
    let r = page_post(&app, &admin, &format!("{ledger}/list"), MP, b).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let public = get(&app, "/red-black-list?list=black").await.text();
    assert!(public.contains("潍坊安居物业服务有限公司") && public.contains("直接列入"));
    let eid = credit::public_list(
        &t.db,
        None,
        None,
        date!(2026 - 11 - 20),
        &wuye::registry::Page::new(1, 10),
    )
    .await
    .unwrap()
    .items[0]
        .id;
    let r = page_post(
        &app,
        &admin,
        &format!("/credit/list/{eid}/revoke"),
        FORM,
        format!("csrf={admin_csrf}&reason=x").into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        !get(&app, "/red-black-list")
            .await
            .text()
            .contains("潍坊安居物业服务有限公司")
    );
    // Regulators see candidates on the list page.
    let r = page_get(&app, &district, "/red-black-list").await;
    assert!(r.text().contains("候选企业"));

    // Schemes: a district publishes from the page; a bad file shows its row errors.
    let csv = wuye_model::assessment::credit::CreditScheme::default_csv();
    let b = multipart(
        &[
            ("csrf", &district_csrf),
            ("region", "370705"),
            ("effective_from", "2026-11-01"),
        ],
        &[("file", csv.as_bytes())],
    );
    let r = page_post(&app, &district, "/credit/schemes", MP, b).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let bad = csv.replace("80.00,,\ngrade,A,", "90.00,,\ngrade,A,");
    let b = multipart(
        &[("csrf", &district_csrf), ("region", "370705")],
        &[("file", bad.as_bytes())],
    );
    let r = page_post(&app, &district, "/credit/schemes", MP, b).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("信用等级下限须逐行递减"), "{}", r.text());
    let r = get(&app, "/credit/schemes").await;
    assert!(r.text().contains("370705000000"));
});

storage_test!(a_district_scheme_takes_precedence_over_the_citys, |t| {
    seed(&t.db).await;
    let now = datetime!(2026-11-20 10:00 +8);
    let today = date!(2026 - 11 - 20);
    let files = files(t);
    let hongda_id = company_id(t, HONGDA).await;
    let (_, district) = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let (_, admin) = staff(t, "admin", Role::CityAdmin, "370700").await;
    let jan = Some(date!(2026 - 01 - 01));
    enrol_and_award(t, &files, &district, hongda_id, jan, now).await;
    // 85.00 points. Which scheme, which grade, and is 宏达 a red-list candidate?
    let check = |expect_region: Option<&'static str>, grade: &'static str, red: bool| {
        let district = &district;
        async move {
            let s = credit::standing(&t.db, district, hongda_id, today).await.unwrap();
            assert_eq!(
                (s.scheme.region_code, s.grade.as_str(),),
                (
                    expect_region.map(|r| wuye_model::RegionCode::parse(r).unwrap().as_i64()),
                    grade
                ),
                "{s:?}"
            );
            let c = credit::candidates(&t.db, district, today).await.unwrap();
            assert_eq!(
                c.candidates.iter().any(|c| c.company.id == hongda_id),
                red,
                "{:?}",
                c.candidates
            );
        }
    };
    // The shipped default: AAA from 85.00.
    check(None, "AAA", true).await;
    let scheme = |aaa: &str| {
        include_str!("../../../wuye-model/data/credit-default.csv")
            .replace("grade,AAA,AAA,AAA,85.00,,", &format!("grade,AAA,AAA,AAA,{aaa},,"))
    };
    // The city's own scheme asks 90.00 for AAA: 宏达 is AA, not a candidate.
    credit::upload_scheme(
        &t.db,
        &files,
        &admin,
        wuye_model::RegionCode::parse("3707").unwrap(),
        date!(2026 - 01 - 01),
        "city.csv",
        scheme("90.00").as_bytes(),
        now,
    )
    .await
    .unwrap();
    check(Some("3707"), "AA", false).await;
    // The district's scheme governs its companies over the city's.
    credit::upload_scheme(
        &t.db,
        &files,
        &district,
        wuye_model::RegionCode::parse("370705").unwrap(),
        date!(2026 - 01 - 01),
        "district.csv",
        scheme("84.00").as_bytes(),
        now,
    )
    .await
    .unwrap();
    check(Some("370705"), "AAA", true).await;
});

storage_test!(a_scheme_workbook_error_names_the_row_of_the_sheet, |t| {
    seed(&t.db).await;
    let (_, admin) = staff(t, "admin", Role::CityAdmin, "370700").await;
    // The default scheme in a workbook whose headers are on row 2, with a line break typed in
    // the scheme's name, a blank row after the fourth line and a bad AAA threshold, which
    // lands on row 7 of the sheet.
    let csv = include_str!("../../../wuye-model/data/credit-default.csv")
        .replace("grade,AAA,AAA,AAA,85.00,,", "grade,AAA,AAA,AAA,8x.00,,");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let mut row = 1u32;
    for (i, line) in csv.lines().enumerate() {
        for (c, v) in line.split(',').enumerate() {
            let v = v.replace("信用等级（默认）", "信用等级\r\n（默认）");
            ws.write_string(row, c as u16, &v).unwrap();
        }
        row += if i == 3 { 2 } else { 1 };
    }
    let bytes = wb.save_to_buffer().unwrap();
    let r = credit::upload_scheme(
        &t.db,
        &files(t),
        &admin,
        wuye_model::RegionCode::parse("3707").unwrap(),
        date!(2026 - 01 - 01),
        "scheme.xlsx",
        &bytes,
        datetime!(2026-11-20 10:00 +8),
    )
    .await;
    let Err(CreditError::Scheme(errors)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.line, e.value.as_str()))
            .collect::<Vec<_>>(),
        [(7, "8x.00")],
        "{errors:?}"
    );
});
