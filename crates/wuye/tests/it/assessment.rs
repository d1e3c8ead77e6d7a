//! Assessment through the storage layer (docs/assessment.md): ratings by owners, the committee,
//! the community and the street; a month's run scored by hand; missing data; the close, the
//! re-run of a closed period that changes nothing; a new rubric version for later periods.

use time::OffsetDateTime;
use time::macros::{date, datetime};
use wuye::assessment::{self, AssessError, NewDeduction, NewRating};
use wuye::auth::Actor;
use wuye::settings::Settings;
use wuye_model::{Period, RegionCode, Role};

use crate::decisions::{verified_owner, xq1};
use crate::http::{staff, token_for};
use crate::storage_test;
use crate::support::{TestDb, seed};

async fn id_of(t: &TestDb, sql: &'static str) -> i64 {
    let db = &t.db;
    let (id,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(sql).fetch_one(pool).await).unwrap();
    id
}

/// Owners' ratings written straight to the table, as many as a test needs (the registry
/// fixture has two real owners).
async fn owner_ratings(t: &TestDb, compound: i64, company: i64, level: &str, n: i64, first_key: i64) {
    let db = &t.db;
    for k in 0..n {
        wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, level, created_at) \
            VALUES ('2026-10', $1, $2, 'owner', $3, $4, $5)")
            .bind(compound).bind(company).bind(first_key + k).bind(level).bind(datetime!(2026-10-10 02:00 UTC)).execute(pool).await.map(|_| ()))
            .unwrap();
    }
}

fn rating(compound_id: i64, level: Option<&str>, score: Option<&str>) -> NewRating {
    NewRating {
        compound_id,
        level: level.map(str::to_owned),
        score: score.map(str::to_owned),
        comment: String::new(),
        period: None,
    }
}

storage_test!(a_month_scored_by_hand_closed_and_checked, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let cli = Actor::cli();
    let xq1 = xq1(t).await;
    let xq3 = id_of(t, "SELECT id FROM compounds WHERE code = 'XQ3'").await;
    let anju = id_of(t, "SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").await;
    let rated_at = datetime!(2026-10-20 02:00 UTC);

    // Owners: XQ1 six satisfied (one through the real path), XQ3 four dissatisfied (< 5: no data).
    let owner = verified_owner(t, "13800138000", "370705199001011234", rated_at).await;
    let first = assessment::rate(
        &t.db,
        &owner,
        &rating(xq1, Some("dissatisfied"), None),
        &s,
        rated_at,
    )
    .await
    .unwrap();
    assert!(!first.replaced);
    let changed = assessment::rate(&t.db, &owner, &rating(xq1, Some("satisfied"), None), &s, rated_at)
        .await
        .unwrap();
    assert!(changed.replaced, "a changed rating replaces the earlier one");
    assert_eq!(changed.company_id, anju);
    owner_ratings(t, xq1, anju, "satisfied", 5, 1_000).await;
    owner_ratings(t, xq3, anju, "dissatisfied", 4, 2_000).await;
    // An owner of nothing in XQ3 cannot rate it; a company cannot rate itself.
    let e = assessment::rate(&t.db, &owner, &rating(xq3, Some("satisfied"), None), &s, rated_at)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AssessError::Denied(wuye::auth::Denied::Hidden)),
        "{e:?}"
    );
    let company = staff(t, "anju_admin", Role::CompanyAdmin, "91350100M000100Y43").await;
    let e = assessment::rate(&t.db, &company, &rating(xq1, None, Some("100")), &s, rated_at)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AssessError::Denied(wuye::auth::Denied::Role)),
        "{e:?}"
    );

    // The committee 80, the community 90, the street 70 → area rating 80.
    let committee = staff(t, "xq1_committee", Role::CommitteeMember, "XQ1").await;
    assessment::rate(&t.db, &committee, &rating(xq1, None, Some("80")), &s, rated_at)
        .await
        .unwrap();
    let community = staff(t, "fushou", Role::CommunityOfficer, "370705001001").await;
    assessment::rate(&t.db, &community, &rating(xq1, None, Some("90.00")), &s, rated_at)
        .await
        .unwrap();
    let street = staff(t, "dongguan", Role::StreetOfficer, "370705001").await;
    assessment::rate(&t.db, &street, &rating(xq1, None, Some("70")), &s, rated_at)
        .await
        .unwrap();
    let e = assessment::rate(&t.db, &street, &rating(xq1, None, Some("101")), &s, rated_at)
        .await
        .unwrap_err();
    assert!(matches!(e, AssessError::Invalid(_)), "{e:?}");
    // October's ratings close 5 days after its end.
    let late = datetime!(2026-11-06 02:00 UTC);
    let mut old = rating(xq1, None, Some("60"));
    old.period = Some("2026-10".into());
    let e = assessment::rate(&t.db, &street, &old, &s, late)
        .await
        .unwrap_err();
    assert!(matches!(e, AssessError::Refused(_)), "{e:?}");

    // A district deduction of 2.50 points dated in October.
    let district = staff(t, "kuiwen", Role::DistrictOfficer, "370705").await;
    let d = NewDeduction {
        compound_id: xq1,
        company_id: anju,
        dated_on: date!(2026 - 10 - 15),
        points: "2.50".into(),
        reason: "消防通道堵塞未及时处理".into(),
    };
    assessment::deduct(&t.db, &district, &d, rated_at).await.unwrap();
    assert!(matches!(
        assessment::deduct(&t.db, &community, &d, rated_at)
            .await
            .unwrap_err(),
        AssessError::Denied(_)
    ));

    // Provisional run. District prior for owners: (6 × 100 + 4 × 0) ÷ 10 = 60.00.
    // XQ1: owners (600 + 10 × 60) ÷ 16 = 75.00 (45), committee 80 (15), area 80 (15),
    // complaints 0 per 100 households → 100 (3); no orders (on time, satisfaction, reopen
    // missing), no inspection. (45×75 + 15×80 + 15×80 + 3×100) ÷ 78 = 77.88; − 2.50 = 75.38, 3★.
    let period = Period::parse("2026-10").unwrap();
    let r = assessment::run(&t.db, &cli, period, false, &s, datetime!(2026-11-05 02:00 UTC))
        .await
        .unwrap();
    assert_eq!(
        (r.kind.as_str(), r.projects, r.rated, r.companies),
        ("provisional", 2, 1, 1)
    );
    let ranking = assessment::ranking(&t.db, r.run_id, None).await.unwrap();
    let a = ranking.iter().find(|p| p.compound_id == xq1).unwrap();
    assert_eq!((a.score, a.stars, a.coverage_bp), (Some(7538), Some(3), 7800));
    assert_eq!((a.rank_district, a.pool_district, a.bottom), (Some(1), 1, false));
    let e = assessment::explain(&t.db, &cli, r.run_id, xq1, anju)
        .await
        .unwrap();
    assert_eq!((e.weighted, e.deducted), (Some(7788), 250));
    let items = e.items[0].as_array().unwrap();
    let owners = items.iter().find(|i| i["key"] == "owners").unwrap();
    assert_eq!(
        (owners["n"].as_i64(), owners["value"].as_i64()),
        (Some(6), Some(7500))
    );
    let on_time = items.iter().find(|i| i["key"] == "on_time").unwrap();
    assert!(on_time["value"].is_null(), "missing is never 0 or 100: {on_time}");
    // XQ3: four owners (< 5), no committee, no area rating, households unknown → not rated.
    let c = ranking.iter().find(|p| p.compound_id == xq3).unwrap();
    assert_eq!(
        (c.status.as_str(), c.score, c.stars, c.rank_district),
        ("not_rated", None, None, None)
    );
    assert!(c.reason.contains("owner ratings 4 (minimum 5)"), "{}", c.reason);
    let companies = assessment::company_ranking(&t.db, r.run_id).await.unwrap();
    assert_eq!((companies[0].company_id, companies[0].score), (anju, Some(7538)));
    // The public sees no provisional run.
    let public = Actor::anonymous(String::new());
    assert!(assessment::visible_run(&t.db, &public, r.run_id).await.is_err());

    // The close waits for the settle days (October 31 + 10).
    let e = assessment::run(&t.db, &cli, period, true, &s, datetime!(2026-11-09 02:00 UTC))
        .await
        .unwrap_err();
    assert!(matches!(e, AssessError::Refused(_)), "{e:?}");
    let fin = assessment::run(&t.db, &cli, period, true, &s, datetime!(2026-11-10 02:00 UTC))
        .await
        .unwrap();
    assert_eq!((fin.kind.as_str(), fin.rated), ("final", 1));
    assert_eq!(
        fin.scores_sha256, r.scores_sha256,
        "nothing changed between the runs"
    );
    assert!(assessment::visible_run(&t.db, &public, fin.run_id).await.is_ok());

    // A rating arriving now and a new rubric change nothing of a closed period.
    owner_ratings(t, xq3, anju, "satisfied", 3, 3_000).await;
    let mut csv =
        wuye_model::assessment::Rubric::default_csv().replace("45.00,owner_rating", "40.00,owner_rating");
    csv = csv.replace("10.00,inspection", "15.00,inspection");
    let kuiwen = RegionCode::parse("370705").unwrap();
    let v2 = assessment::draft_rubric(&t.db, &district, kuiwen, &csv, date!(2026 - 11 - 01), rated_at)
        .await
        .unwrap();
    assert_eq!((v2.version, v2.state.as_str()), (1, "draft"));
    assessment::publish_rubric(&t.db, &district, v2.id, rated_at)
        .await
        .unwrap();
    let again = assessment::run(&t.db, &cli, period, false, &s, datetime!(2026-12-01 02:00 UTC))
        .await
        .unwrap();
    assert_eq!(again.identical, Some(true));
    assert_eq!(
        (again.run_id, again.scores_sha256.as_str()),
        (fin.run_id, fin.scores_sha256.as_str())
    );
    let db = &t.db;
    let (runs,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT count(*) FROM assessment_runs").fetch_one(pool).await).unwrap();
    assert_eq!(
        runs, 1,
        "the close replaced the provisional run; the check wrote nothing"
    );
    // November is scored by the district's new version.
    let nov = assessment::run(
        &t.db,
        &cli,
        Period::parse("2026-11").unwrap(),
        false,
        &s,
        datetime!(2026-11-20 02:00 UTC),
    )
    .await
    .unwrap();
    let (rubric,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT DISTINCT rubric_id FROM scores WHERE run_id = $1").bind(nov.run_id).fetch_one(pool).await).unwrap();
    assert_eq!(rubric, v2.id);
    let (old_rubric,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT DISTINCT rubric_id FROM scores WHERE run_id = $1").bind(fin.run_id).fetch_one(pool).await).unwrap();
    assert_ne!(
        old_rubric, v2.id,
        "old results keep the version that produced them"
    );
});

storage_test!(a_rubric_file_with_errors_is_refused_row_by_row, |t| {
    seed(&t.db).await;
    let district = staff(t, "kuiwen", Role::DistrictOfficer, "370705").await;
    let kuiwen = RegionCode::parse("370705").unwrap();
    let bad = wuye_model::assessment::Rubric::default_csv()
        .replace("45.00,owner_rating", "50.00,owner_rating")
        .replace("star,3,三星,3 stars,70.00", "star,3,三星,3 stars,95.00");
    let e = assessment::draft_rubric(
        &t.db,
        &district,
        kuiwen,
        &bad,
        date!(2026 - 11 - 01),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_err();
    let AssessError::Rubric(rows) = e else {
        panic!("{e:?}")
    };
    assert!(rows.len() >= 2, "every error, not just the first: {rows:?}");
    // A district officer cannot draft for the other district; a street officer not at all.
    let weicheng = RegionCode::parse("370702").unwrap();
    let csv = wuye_model::assessment::Rubric::default_csv();
    assert!(
        assessment::draft_rubric(
            &t.db,
            &district,
            weicheng,
            csv,
            date!(2026 - 11 - 01),
            OffsetDateTime::now_utc()
        )
        .await
        .is_err()
    );
    let street = staff(t, "dongguan", Role::StreetOfficer, "370705001").await;
    assert!(matches!(
        assessment::draft_rubric(
            &t.db,
            &street,
            kuiwen,
            csv,
            date!(2026 - 11 - 01),
            OffsetDateTime::now_utc()
        )
        .await
        .unwrap_err(),
        AssessError::Denied(wuye::auth::Denied::Role)
    ));
});

storage_test!(ratings_runs_and_public_rankings_over_http, |t| {
    use crate::http::{app_with_clock, get, get_as, json_as};
    use axum::http::StatusCode;
    seed(&t.db).await;
    let clock = wuye::clock::Clock::fixed(datetime!(2026-10-20 02:00 UTC));
    let app = app_with_clock(t, clock.clone());
    let xq1 = xq1(t).await;
    let street = token_for(t, "dongguan", Role::StreetOfficer, "370705001").await;
    let admin = token_for(t, "admin", Role::CityAdmin, "370700").await;
    let company = token_for(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;

    // The street rates XQ1 (points); bad points are a 400 naming the rule; a company may not rate.
    let r = json_as(
        &app,
        "POST",
        "/api/v1/ratings",
        &street,
        serde_json::json!({"compound_id": xq1, "score": "72.5"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["score"], 7250);
    let r = json_as(
        &app,
        "POST",
        "/api/v1/ratings",
        &street,
        serde_json::json!({"compound_id": xq1, "score": "七十"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("0 至 100"), "{}", r.text());
    let r = json_as(
        &app,
        "POST",
        "/api/v1/ratings",
        &company,
        serde_json::json!({"compound_id": xq1, "score": "100"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mine = get_as(&app, "/api/v1/ratings", &street).await.json();
    assert_eq!(mine.as_array().map(Vec::len), Some(1));

    // A rubric with an error is a 422 listing its rows.
    let bad =
        wuye_model::assessment::Rubric::default_csv().replace("45.00,owner_rating", "44.00,owner_rating");
    let r = json_as(
        &app,
        "POST",
        "/api/v1/assessment/rubrics",
        &admin,
        serde_json::json!({"region_code": "370705", "effective_from": "2026-12-01", "csv": bad}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());

    // Provisional run: regulators see it, the public does not; no public ranking before the close.
    let r = json_as(
        &app,
        "POST",
        "/api/v1/assessment/runs",
        &admin,
        serde_json::json!({"period": "2026-10"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let run = r.json()["run_id"].as_i64().unwrap();
    assert_eq!(
        get(&app, &format!("/api/v1/assessment/runs/{run}/scores"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_as(&app, &format!("/api/v1/assessment/runs/{run}/scores"), &street)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, "/api/v1/rankings?period=2026-10").await.status,
        StatusCode::NOT_FOUND
    );
    let r = json_as(
        &app,
        "POST",
        "/api/v1/assessment/runs",
        &admin,
        serde_json::json!({"period": "2026-13"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = json_as(
        &app,
        "POST",
        "/api/v1/assessment/runs",
        &admin,
        serde_json::json!({"period": "2026-10", "close": true}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "the settle days have not passed: {}",
        r.text()
    );

    // Closed: the ranking is public, on the API and the page; XQ1 has no owners' ratings, so it
    // is listed as not rated (never 0), with the reason.
    clock.advance(30 * 86_400);
    let r = json_as(
        &app,
        "POST",
        "/api/v1/assessment/runs",
        &admin,
        serde_json::json!({"period": "2026-10", "close": true}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["kind"].as_str()),
        (StatusCode::OK, Some("final"))
    );
    let v = get(&app, "/api/v1/rankings?period=2026-10").await.json();
    let p = v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["compound_id"] == xq1)
        .unwrap()
        .clone();
    assert_eq!(
        (p["status"].as_str(), p["score"].is_null()),
        (Some("not_rated"), true)
    );
    assert!(p["reason"].as_str().unwrap().contains("owner ratings 0"), "{p}");
    let page = get(&app, "/rankings?period=2026-10").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("福寿小区") && page.text().contains("不评定"),
        "{}",
        page.text()
    );
    let fin = v["run_id"].as_i64().unwrap();
    let company_id = p["company_id"].as_i64().unwrap();
    // The ranking as a spreadsheet: a column per rubric item, "无数据" where an item has none.
    let csv = get(&app, &format!("/api/v1/assessment/runs/{fin}/export")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    assert!(
        text.contains("owners") && text.contains("福寿小区") && text.contains("无数据"),
        "{text}"
    );
    let xlsx = get(&app, &format!("/api/v1/assessment/runs/{fin}/export?format=xlsx")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body.clone())).unwrap();
    use calamine::Reader;
    assert_eq!(book.sheet_names(), ["项目 2026-10", "企业 2026-10"]);
    let sheet = book.worksheet_range("项目 2026-10").unwrap();
    assert_eq!(sheet.height(), 3, "a header and the two projects");
    assert_eq!(
        get(&app, &format!("/api/v1/assessment/runs/{fin}/export?format=pdf"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let explain = get(&app, &format!("/assessment/runs/{fin}/{xq1}/{company_id}")).await;
    assert_eq!(explain.status, StatusCode::OK);
    assert!(explain.text().contains("业主满意度评价") && explain.text().contains("无数据"));
});

storage_test!(the_scheduled_run_analyses_each_day_once, |t| {
    seed(&t.db).await;
    let s = Settings::shipped();
    let day = datetime!(2026-11-20 02:00 UTC);
    // The current month and the open previous one.
    assert_eq!(assessment::scheduled(&t.db, &s, day).await.unwrap(), 2);
    assert_eq!(
        assessment::scheduled(&t.db, &s, day + time::Duration::hours(3))
            .await
            .unwrap(),
        0,
        "once a day"
    );
    assert_eq!(
        assessment::scheduled(&t.db, &s, day + time::Duration::days(1))
            .await
            .unwrap(),
        2
    );
    let cli = Actor::cli();
    assessment::run(
        &t.db,
        &cli,
        Period::parse("2026-10").unwrap(),
        true,
        &s,
        day + time::Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(
        assessment::scheduled(&t.db, &s, day + time::Duration::days(2))
            .await
            .unwrap(),
        1,
        "a closed month is not run again"
    );
});

/// Four rated projects in 奎文区 (XQ1, XQ4, XQ5 of 安居; XQ6 of 宏达, rated worst) with owners'
/// ratings for October and community ratings for October to December. Returns the ids of
/// 安居 and 宏达 and of the compounds by code.
pub async fn bottom_fixture(t: &TestDb) -> (i64, i64, Vec<(String, i64)>) {
    seed(&t.db).await;
    let now = OffsetDateTime::now_utc();
    let cli = Actor::cli();
    // Three more compounds of 安居 in the district: four rated projects → one bottom place.
    for (kind, csv) in [
        (
            wuye::io::Kind::Compounds,
            "code,name,region_code,class,management_mode,is_old,year_built,floor_area,households\n\
            XQ4,和平里,370705001002,basic,market,no,2001,30000,300\nXQ5,新华苑,370705002001,basic,market,no,2005,40000,400\n\
            XQ6,北宫小区,370705002001,basic,market,no,1999,20000,200\n",
        ),
        (
            wuye::io::Kind::Contracts,
            "compound_code,company_uscc,kind,fee_model,start_date,end_date,fee_standard\n\
            XQ4,91350100M000100Y43,ordinary,lump_sum,2024-01-01,2099-12-31,1.00\n\
            XQ5,91350100M000100Y43,ordinary,lump_sum,2024-01-01,2099-12-31,1.00\n\
            XQ6,91110108551385082Q,ordinary,lump_sum,2024-01-01,2099-12-31,1.00\n",
        ),
    ] {
        let r = wuye::io::import_file(&t.db, None, &cli, kind, "x.csv", csv.as_bytes(), now)
            .await
            .unwrap();
        assert!(r.applied(), "{:#?}", r.errors);
    }
    let anju = id_of(t, "SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").await;
    let hongda = id_of(t, "SELECT id FROM companies WHERE uscc = '91110108551385082Q'").await;
    let db = &t.db;
    let ids: Vec<(String, i64)> = wuye::db_read!(db, pool => sqlx::query_as("SELECT code, id FROM compounds ORDER BY code").fetch_all(pool).await).unwrap();
    let id = |code: &str| ids.iter().find(|(c, _)| c == code).unwrap().1;
    owner_ratings(t, id("XQ1"), anju, "satisfied", 6, 1_000).await;
    owner_ratings(t, id("XQ4"), anju, "basic", 6, 2_000).await;
    owner_ratings(t, id("XQ5"), anju, "satisfied", 5, 3_000).await;
    owner_ratings(t, id("XQ6"), hongda, "dissatisfied", 8, 4_000).await;
    // Owners alone cover 48% of the default rubric (owners 45, complaints 3): below the 60%
    // minimum. The community's rating brings each to 63%.
    for (code, company) in [("XQ1", anju), ("XQ4", anju), ("XQ5", anju), ("XQ6", hongda)] {
        for month in ["2026-10", "2026-11", "2026-12"] {
            wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, score, created_at) \
                SELECT $1, id, $2, 'community', region_code, 8000, $3 FROM compounds WHERE code = $4")
                .bind(month).bind(company).bind(now).bind(code).execute(pool).await.map(|_| ())).unwrap();
        }
    }
    (anju, hongda, ids)
}

storage_test!(the_bottom_place_of_a_month_is_acted_on_at_the_close, |t| {
    let (anju, hongda, ids) = bottom_fixture(t).await;
    let id = |code: &str| ids.iter().find(|(c, _)| c == code).unwrap().1;
    let db = &t.db;
    let now = OffsetDateTime::now_utc();
    let cli = Actor::cli();
    let s = Settings::shipped();
    let fin = assessment::run(
        &t.db,
        &cli,
        Period::parse("2026-10").unwrap(),
        true,
        &s,
        datetime!(2026-11-12 02:00 UTC),
    )
    .await
    .unwrap();
    assert_eq!((fin.rated, fin.bottom), (4, 1));
    let ranking = assessment::ranking(&t.db, fin.run_id, None).await.unwrap();
    let bottom: Vec<_> = ranking
        .iter()
        .filter(|p| p.bottom)
        .map(|p| (p.compound_code.as_str(), p.bottom_streak))
        .collect();
    assert_eq!(bottom, [("XQ6", 1)]);
    // The default ladder's first row: public notice, rectification within 15 working days, 2.00 credit points.
    let actions: Vec<(String, String, String)> = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT kind, state, detail FROM assessment_actions WHERE run_id = $1 ORDER BY kind").bind(fin.run_id).fetch_all(pool).await).unwrap();
    let kinds: Vec<(&str, &str)> = actions.iter().map(|(k, s, _)| (k.as_str(), s.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("credit", "done"),
            ("public_notice", "done"),
            ("rectification", "done")
        ]
    );
    // The rectification action issued a notice without an inspection: 15 working days from the
    // close, listing the items below the district mean (the owners' satisfaction here).
    let (number, deadline, requirement, inspection): (String, time::Date, String, Option<i64>) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT r.number, r.deadline, r.requirement, r.inspection_id FROM rectifications r JOIN assessment_actions a ON a.id = r.action_id \
         WHERE a.run_id = $1 AND r.company_id = $2").bind(fin.run_id).bind(hongda).fetch_one(pool).await).unwrap();
    assert!(number.starts_with("ZG-370705-2026-"), "{number}");
    assert_eq!(
        deadline,
        s.calendar
            .add_working_days(time::macros::date!(2026 - 11 - 12), 15)
    );
    assert_eq!(inspection, None);
    assert!(
        requirement.contains("Items below the district mean: Owner satisfaction rating ")
            && requirement.contains("业主满意度评价 ")
            && !requirement.contains("Community and street rating"),
        "only the item below the mean: {requirement}"
    );
    // The public notice lists the bottom place with the measures taken.
    let notices = wuye::supervision::public_notices(&t.db, fin.run_id)
        .await
        .unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (notices[0].company_id, notices[0].measures.clone()),
        (hongda, vec!["credit".to_owned(), "rectification".to_owned()])
    );
    let (points, source, item): (i64, String, String) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT points, source_ref, item_key FROM credit_records WHERE company_id = $1").bind(hongda).fetch_one(pool).await).unwrap();
    assert_eq!(
        (points, source, item.as_str()),
        (200, format!("run:{}", fin.run_id), "bottom_n")
    );
    // Bottom again in November: the streak counts on.
    for k in 0..8 {
        wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, level, created_at) \
            SELECT '2026-11', compound_id, company_id, rater_kind, rater_key, level, created_at FROM ratings WHERE rating_period = '2026-10' AND rater_key = $1")
            .bind(4_000 + k).execute(pool).await.map(|_| ())).unwrap();
    }
    for (key, code, who) in [(1_000, "XQ1", anju), (2_000, "XQ4", anju), (3_000, "XQ5", anju)] {
        for k in 0..5 {
            wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, level, created_at) \
                VALUES ('2026-11', $1, $2, 'owner', $3, 'satisfied', $4)").bind(id(code)).bind(who).bind(key + 100 + k).bind(now).execute(pool).await.map(|_| ())).unwrap();
        }
    }
    let nov = assessment::run(
        &t.db,
        &cli,
        Period::parse("2026-11").unwrap(),
        false,
        &s,
        datetime!(2026-11-25 02:00 UTC),
    )
    .await
    .unwrap();
    let ranking = assessment::ranking(&t.db, nov.run_id, None).await.unwrap();
    let bottom: Vec<_> = ranking
        .iter()
        .filter(|p| p.bottom)
        .map(|p| (p.compound_code.as_str(), p.bottom_streak))
        .collect();
    assert_eq!(bottom, [("XQ6", 2)]);
});

storage_test!(inspections_and_overdue_notices_feed_the_score, |t| {
    use wuye::inspections::{self, NewFinding, NewInspection, NewRectification};
    seed(&t.db).await;
    let cli = Actor::cli();
    let s = Settings::shipped();
    let xq1 = xq1(t).await;
    let anju = id_of(t, "SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").await;
    owner_ratings(t, xq1, anju, "satisfied", 6, 1_000).await;
    let db = &t.db;
    wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, score, created_at) \
        VALUES ('2026-10', $1, $2, 'community', 370705001001, 8000, $3)").bind(xq1).bind(anju).bind(datetime!(2026-10-10 02:00 UTC)).execute(pool).await.map(|_| ())).unwrap();
    // An inspection on 10 October with two minor findings (2 points each), and a notice due
    // on 20 October that nobody answered.
    let at = datetime!(2026-10-10 02:00 UTC);
    let new = NewInspection {
        compound_id: xq1,
        inspected_on: Some(date!(2026 - 10 - 10)),
        ..Default::default()
    };
    let i = inspections::create_inspection(&t.db, &cli, &new, at)
        .await
        .unwrap();
    let mut findings = Vec::new();
    for _ in 0..2 {
        let f = NewFinding {
            category: "cleaning".into(),
            severity: "minor".into(),
            description: "楼道堆放杂物".into(),
            place: None,
            fixed_on_site: false,
        };
        findings.push(
            crate::inspections::add_finding(&t.db, &cli, i.id, &f, at)
                .await
                .unwrap()
                .id,
        );
    }
    inspections::submit(&t.db, &cli, i.id, at).await.unwrap();
    let n = NewRectification {
        inspection_id: i.id,
        finding_ids: findings,
        deadline: Some(date!(2026 - 10 - 20)),
        requirement: None,
    };
    inspections::issue(&t.db, &cli, &n, &s, at).await.unwrap();

    let r = assessment::run(
        &t.db,
        &cli,
        Period::parse("2026-10").unwrap(),
        false,
        &s,
        datetime!(2026-11-05 02:00 UTC),
    )
    .await
    .unwrap();
    let e = assessment::explain(&t.db, &cli, r.run_id, xq1, anju)
        .await
        .unwrap();
    let items = e.items[0].as_array().unwrap();
    let inspection = items.iter().find(|i| i["key"] == "inspection").unwrap();
    assert_eq!(
        (inspection["n"].as_i64(), inspection["value"].as_i64()),
        (Some(1), Some(9600)),
        "{inspection}"
    );
    let overdue = e.items[1]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "overdue_notices")
        .unwrap()
        .clone();
    assert_eq!(
        (overdue["events"].as_i64(), overdue["points"].as_i64()),
        (Some(1), Some(200)),
        "{overdue}"
    );
    assert_eq!(e.deducted, 200);
});
