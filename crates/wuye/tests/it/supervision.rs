//! Supervision actions (docs/assessment.md §5–§7): the action ladder of a project bottom three
//! months running (a notice, then an interview, then an exit case), recording an interview,
//! deciding an exit case, and an exit case closed by the owners' Art. 278 vote — never by a
//! regulator.

use time::OffsetDateTime;
use time::macros::{date, datetime};
use wuye::assessment;
use wuye::auth::Actor;
use wuye::auth::Denied;
use wuye::decisions;
use wuye::inspections::InspectionError;
use wuye::settings::Settings;
use wuye::supervision::{self, ExitDecision, ExitVote, InterviewRecord, NewExitCase};
use wuye_model::{Period, Role};

use crate::assessment::bottom_fixture;
use crate::decisions::{new_decision, verified_owner, xq1};
use crate::http::staff;
use crate::storage_test;
use crate::support::{TestDb, mend, poison, rows, seed};

fn record(held_on: time::Date) -> InterviewRecord {
    InterviewRecord {
        held_on,
        place: "奎文区住建局 3 楼会议室".into(),
        attendees: "区物业科 王科长；宏达物业 总经理".into(),
        minutes: "企业承认服务不到位，承诺一个月内整改到位。".into(),
    }
}

/// Records an interview without a minutes file.
async fn record_as(
    t: &TestDb,
    actor: &Actor,
    id: i64,
    r: &InterviewRecord,
    now: OffsetDateTime,
) -> Result<supervision::Interview, InspectionError> {
    let files = wuye::files::FileStore::new(t.db.clone(), wuye::files::FileBackend::Database);
    supervision::record_interview(&t.db, &files, actor, id, r, None, now).await
}

/// The kinds and states of a run's actions, with whether each led to an interview or an exit
/// case.
async fn actions_of(t: &TestDb, run_id: i64) -> Vec<(String, String, bool, bool)> {
    let cli = Actor::cli();
    let f = wuye::supervision::ActionFilter {
        run_id: Some(run_id),
        ..Default::default()
    };
    let mut out: Vec<_> = supervision::actions(&t.db, &cli, &f)
        .await
        .unwrap()
        .into_iter()
        .map(|a| {
            (
                a.kind,
                a.state,
                a.interview_id.is_some(),
                a.exit_case_id.is_some(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pair(kind: &str, state: &str) -> (String, String, bool, bool) {
    (
        kind.to_owned(),
        state.to_owned(),
        kind == "interview",
        kind == "exit",
    )
}

storage_test!(three_months_at_the_bottom_climb_the_action_ladder, |t| {
    let (anju, hongda, _) = bottom_fixture(t).await;
    let db = &t.db;
    // The same owners' ratings every month: XQ6 stays at the bottom.
    for month in ["2026-11", "2026-12"] {
        wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, level, created_at) \
            SELECT $1, compound_id, company_id, rater_kind, rater_key, level, created_at FROM ratings WHERE rating_period = '2026-10' AND rater_kind = 'owner'")
            .bind(month).execute(pool).await.map(|_| ())).unwrap();
    }
    // The city administrator closes the months (as on the web page).
    let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
    let s = Settings::shipped();
    let mut runs = Vec::new();
    for (month, closed) in [
        ("2026-10", datetime!(2026-11-12 02:00 UTC)),
        ("2026-11", datetime!(2026-12-12 02:00 UTC)),
        ("2026-12", datetime!(2027-01-12 02:00 UTC)),
    ] {
        let r = assessment::run(&t.db, &admin, Period::parse(month).unwrap(), true, &s, closed)
            .await
            .unwrap();
        assert_eq!(r.bottom, 1, "{month}");
        runs.push(r.run_id);
    }
    // The default ladder: once — notice, rectification, credit; twice — and an interview;
    // three times — and the exit procedure (no rectification on that row).
    assert_eq!(
        actions_of(t, runs[0]).await,
        [
            pair("credit", "done"),
            pair("public_notice", "done"),
            pair("rectification", "done")
        ]
    );
    assert_eq!(
        actions_of(t, runs[1]).await,
        [
            pair("credit", "done"),
            pair("interview", "pending"),
            pair("public_notice", "done"),
            pair("rectification", "done")
        ]
    );
    assert_eq!(
        actions_of(t, runs[2]).await,
        [
            pair("credit", "done"),
            pair("exit", "pending"),
            pair("interview", "pending"),
            pair("public_notice", "done")
        ]
    );
    // The notices are the district's, whoever closed the month: it hears the response and may
    // withdraw them.
    let issuing: Vec<(i64,)> = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT issuing_region_code FROM rectifications WHERE action_id IS NOT NULL ORDER BY id").fetch_all(pool).await).unwrap();
    assert_eq!(issuing, [(370_705_000_000,), (370_705_000_000,)]);
    // Credit: 2 + 3 + 5 points of `bottom_n`.
    let (points,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT CAST(sum(points) AS BIGINT) FROM credit_records WHERE company_id = $1 AND item_key = 'bottom_n'").bind(hongda).fetch_one(pool).await).unwrap();
    assert_eq!(points, 1000);

    // The interviews: the district holds them; the street reads but may not record; the
    // company reads its own; another company sees nothing.
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let street = staff(t, "street", Role::StreetOfficer, "370705002").await;
    let hongda_admin = staff(t, "hongda", Role::CompanyAdmin, "91110108551385082Q").await;
    let anju_admin = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let ivs = supervision::interviews(&t.db, &district, Some("pending"))
        .await
        .unwrap();
    assert_eq!(ivs.len(), 2);
    assert!(
        ivs.iter()
            .all(|i| i.origin == "assessment" && i.company_id == hongda)
    );
    let first = ivs.iter().map(|i| i.id).min().unwrap();
    assert_eq!(
        supervision::interviews(&t.db, &street, None).await.unwrap().len(),
        2
    );
    assert_eq!(
        supervision::interviews(&t.db, &hongda_admin, None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        supervision::interviews(&t.db, &anju_admin, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        supervision::interview(&t.db, &anju_admin, first).await,
        Err(InspectionError::Denied(Denied::Hidden))
    ));
    let today = datetime!(2026-12-20 02:00 UTC);
    assert!(matches!(
        record_as(t, &street, first, &record(date!(2026 - 12 - 18)), today).await,
        Err(InspectionError::Forbidden(_))
    ));
    assert!(matches!(
        record_as(t, &hongda_admin, first, &record(date!(2026 - 12 - 18)), today).await,
        Err(InspectionError::Denied(Denied::Role))
    ));
    assert!(matches!(
        record_as(t, &district, first, &record(date!(2026 - 12 - 21)), today).await,
        Err(InspectionError::Invalid("held_on", _))
    ));
    let mut empty = record(date!(2026 - 12 - 18));
    empty.minutes = "  ".into();
    assert!(matches!(
        record_as(t, &district, first, &empty, today).await,
        Err(InspectionError::Invalid("minutes", _))
    ));
    assert_eq!(
        supervision::interview(&t.db, &district, first)
            .await
            .unwrap()
            .state,
        "pending",
        "refused records change nothing"
    );
    let held = record_as(t, &district, first, &record(date!(2026 - 12 - 18)), today)
        .await
        .unwrap();
    assert_eq!(
        (held.state.as_str(), held.held_on),
        ("held", Some(date!(2026 - 12 - 18)))
    );
    assert!(matches!(
        record_as(t, &district, first, &record(date!(2026 - 12 - 18)), today).await,
        Err(InspectionError::Refused(_))
    ));
    // Its action is done.
    assert_eq!(
        actions_of(t, runs[1]).await[1],
        ("interview".to_owned(), "done".to_owned(), true, false)
    );
    // The minutes' file: a PDF is kept; anything else is refused.
    let files = wuye::files::FileStore::new(t.db.clone(), wuye::files::FileBackend::Database);
    assert!(matches!(
        supervision::add_minutes_file(&t.db, &files, &district, first, "纪要", b"GIF89a", today).await,
        Err(InspectionError::Invalid("file", _))
    ));
    supervision::add_minutes_file(
        &t.db,
        &files,
        &district,
        first,
        "纪要",
        b"%PDF-1.7 minutes",
        today,
    )
    .await
    .unwrap();
    let (name, f) = supervision::minutes_file(&t.db, &files, &hongda_admin, first)
        .await
        .unwrap();
    assert_eq!(
        (name.as_str(), f.content_type.as_str()),
        ("纪要", "application/pdf")
    );

    // The exit case: proposed by the ladder; the company cannot decide it, nor can the street;
    // the district decides to proceed. Nothing has touched the contract.
    let cases = supervision::exit_cases(&t.db, &district).await.unwrap();
    assert_eq!(cases.len(), 1);
    let x = &cases[0];
    assert_eq!(
        (x.state.as_str(), x.origin.as_str(), x.company_id),
        ("proposed", "assessment", hongda)
    );
    let proceed = ExitDecision {
        decision: "proceed".into(),
        reason: "连续三个月考核末位，整改不力".into(),
    };
    assert!(matches!(
        supervision::decide_exit(&t.db, &hongda_admin, x.id, &proceed, today).await,
        Err(InspectionError::Denied(Denied::Role))
    ));
    assert!(matches!(
        supervision::decide_exit(&t.db, &street, x.id, &proceed, today).await,
        Err(InspectionError::Forbidden(_))
    ));
    let bad = ExitDecision {
        decision: "dismiss".into(),
        reason: "x".into(),
    };
    assert!(matches!(
        supervision::decide_exit(&t.db, &district, x.id, &bad, today).await,
        Err(InspectionError::Invalid("decision", _))
    ));
    let d = supervision::decide_exit(&t.db, &district, x.id, &proceed, today)
        .await
        .unwrap();
    assert_eq!(d.case.state, "decided");
    assert_eq!(d.events.len(), 2);
    let (contracts,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM contracts WHERE company_id = $1 AND end_date = '2099-12-31'").bind(hongda).fetch_one(pool).await).unwrap();
    assert_eq!(contracts, 1, "an exit case never changes a contract by itself");
    // A fourth month at the bottom does not open a second case while this one is open.
    wuye::db_run!(db, pool => sqlx::query("INSERT INTO ratings (rating_period, compound_id, company_id, rater_kind, rater_key, level, score, created_at) \
        SELECT '2027-01', compound_id, company_id, rater_kind, rater_key, level, score, created_at FROM ratings WHERE rating_period = '2026-12'")
        .execute(pool).await.map(|_| ())).unwrap();
    let jan = assessment::run(
        &t.db,
        &admin,
        Period::parse("2027-01").unwrap(),
        true,
        &s,
        datetime!(2027-02-12 02:00 UTC),
    )
    .await
    .unwrap();
    let exits: Vec<_> = supervision::actions(
        &t.db,
        &district,
        &wuye::supervision::ActionFilter {
            run_id: Some(jan.run_id),
            kind: Some("exit".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].state, "done");
    assert!(
        exits[0]
            .note
            .contains(&format!("exit case {} already open", x.id)),
        "{}",
        exits[0].note
    );
    assert_eq!(supervision::exit_cases(&t.db, &district).await.unwrap().len(), 1);

    // The second interview is cancelled with a reason: its action is cancelled too.
    let second = ivs.iter().map(|i| i.id).max().unwrap();
    assert!(matches!(
        supervision::cancel_interview(&t.db, &district, second, " ", today).await,
        Err(InspectionError::Invalid("reason", _))
    ));
    let c = supervision::cancel_interview(&t.db, &district, second, "已与首次约谈合并", today)
        .await
        .unwrap();
    assert_eq!(c.state, "cancelled");
    assert!(matches!(
        supervision::add_minutes_file(&t.db, &files, &district, second, "纪要", b"%PDF-1.7", today).await,
        Err(InspectionError::Refused(_))
    ));
    let interview_actions: Vec<String> = supervision::actions(
        &t.db,
        &district,
        &wuye::supervision::ActionFilter {
            kind: Some("interview".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|a| a.interview_id == Some(second))
    .map(|a| a.state)
    .collect();
    assert_eq!(interview_actions, ["cancelled"]);

    // A mistaken public listing is withdrawn by the district (not the street, not the company).
    let listed = supervision::actions(
        &t.db,
        &district,
        &wuye::supervision::ActionFilter {
            run_id: Some(runs[0]),
            kind: Some("public_notice".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let notice_action = listed[0].id;
    assert!(matches!(
        supervision::cancel_public_notice(&t.db, &street, notice_action, "误列", today).await,
        Err(InspectionError::Forbidden(_))
    ));
    assert!(matches!(
        supervision::cancel_public_notice(&t.db, &hongda_admin, notice_action, "误列", today).await,
        Err(InspectionError::Denied(_))
    ));
    assert_eq!(
        supervision::public_notices(&t.db, runs[0]).await.unwrap().len(),
        1
    );
    supervision::cancel_public_notice(&t.db, &district, notice_action, "数据有误，撤下", today)
        .await
        .unwrap();
    assert!(
        supervision::public_notices(&t.db, runs[0])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        supervision::cancel_public_notice(&t.db, &district, notice_action, "again", today).await,
        Err(InspectionError::Refused(_))
    ));
    let _ = anju;
});

/// Everyone in XQ1 votes (张三 and 李四 online, the developer on paper confirmed by a second
/// member) with `answers`; the committee closes and publishes. `notice` is the notice's time.
#[allow(clippy::too_many_arguments)]
async fn run_vote(
    t: &TestDb,
    committee: &Actor,
    second: &Actor,
    owners: [&Actor; 2],
    id: i64,
    answers: &[&str],
    notice: OffsetDateTime,
) {
    let answers: Vec<String> = answers.iter().map(|a| (*a).to_owned()).collect();
    let opened = notice + time::Duration::days(16);
    decisions::open(&t.db, committee, id, opened).await.unwrap();
    for o in owners {
        decisions::cast(&t.db, o, id, &answers, opened).await.unwrap();
    }
    decisions::enter_paper(
        &t.db,
        committee,
        id,
        dev_room(t, id).await,
        &answers,
        None,
        opened,
    )
    .await
    .unwrap();
    decisions::confirm_paper(&t.db, second, id, "developer", opened)
        .await
        .unwrap();
    let days = wuye::settings::DecisionDays::default();
    let last = decisions::find(&t.db, committee, id).await.unwrap().voting_closes;
    let closed = last
        .with_hms(20, 0, 0)
        .unwrap()
        .assume_offset(time::macros::offset!(+8));
    decisions::close(&t.db, committee, id, &days, closed)
        .await
        .unwrap();
    decisions::publish(&t.db, committee, id, &days, closed + time::Duration::days(8))
        .await
        .unwrap();
}

storage_test!(an_exit_case_closes_by_the_owners_vote_only, |t| {
    seed(&t.db).await;
    let xq1 = xq1(t).await;
    let db = &t.db;
    let (anju,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").fetch_one(pool).await).unwrap();
    let notice = datetime!(2026-11-02 09:00 +8);
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let community = staff(t, "community", Role::CommunityOfficer, "370705001001").await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let second = staff(t, "committee1b", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let li = verified_owner(t, "13800138001", "370705199102021235", notice).await;

    // Proposed by hand: the district may; the street and the community may not; one open case
    // at a time.
    let new = NewExitCase {
        company_id: anju,
        compound_id: xq1,
        reason: "多次整改逾期，业主投诉集中".into(),
    };
    for who in [&community, &street] {
        assert!(matches!(
            supervision::propose_exit(&t.db, who, &new, notice).await,
            Err(InspectionError::Forbidden(_))
        ));
    }
    let x = supervision::propose_exit(&t.db, &district, &new, notice)
        .await
        .unwrap()
        .case;
    assert_eq!((x.state.as_str(), x.origin.as_str()), ("proposed", "manual"));
    assert!(matches!(
        supervision::propose_exit(&t.db, &district, &new, notice).await,
        Err(InspectionError::Refused(_))
    ));
    // No action closes it; a new one may then be proposed.
    let none = ExitDecision {
        decision: "no_action".into(),
        reason: "企业已整改到位".into(),
    };
    let closed = supervision::decide_exit(&t.db, &district, x.id, &none, notice)
        .await
        .unwrap();
    assert_eq!(
        (closed.case.state.as_str(), closed.case.outcome.as_deref()),
        ("closed", Some("no_action"))
    );
    let x = supervision::propose_exit(&t.db, &district, &new, notice)
        .await
        .unwrap()
        .case;

    // The owners' vote: a ballot whose FIRST question is another matter and whose second is
    // the dismissal.
    let mut ballot = new_decision(xq1, &["select_or_dismiss_company"]);
    ballot.title = "物业服务事项表决".into();
    ballot.questions = vec!["物业费标准不变".into(), "解聘潍坊安居物业服务有限公司".into()];
    let vote = decisions::create(&t.db, &committee, &ballot, notice)
        .await
        .unwrap();
    let other = decisions::create(&t.db, &committee, &new_decision(xq1, &["covenant"]), notice)
        .await
        .unwrap();
    let (dismissal,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT position FROM decision_questions WHERE decision_id = $1 AND text LIKE '解聘%'").bind(vote).fetch_one(pool).await).unwrap();
    let link = |decision_id, question| ExitVote {
        decision_id,
        question,
    };
    // Not before a regulator decided to proceed.
    assert!(matches!(
        supervision::link_vote(&t.db, &committee, x.id, &link(vote, Some(dismissal)), notice).await,
        Err(InspectionError::Refused(_))
    ));
    let proceed = ExitDecision {
        decision: "proceed".into(),
        reason: "提请业主表决".into(),
    };
    supervision::decide_exit(&t.db, &district, x.id, &proceed, notice)
        .await
        .unwrap();
    // Only a vote on dismissing the company, only a yes/no question of it; an owner cannot link.
    assert!(matches!(
        supervision::link_vote(&t.db, &committee, x.id, &link(other, None), notice).await,
        Err(InspectionError::Invalid("decision_id", _))
    ));
    assert!(matches!(
        supervision::link_vote(&t.db, &committee, x.id, &link(vote, Some(99)), notice).await,
        Err(InspectionError::Invalid("question", _))
    ));
    assert!(matches!(
        supervision::link_vote(&t.db, &zhang, x.id, &link(vote, Some(dismissal)), notice).await,
        Err(InspectionError::Denied(_))
    ));
    let linked = supervision::link_vote(&t.db, &committee, x.id, &link(vote, Some(dismissal)), notice)
        .await
        .unwrap();
    assert_eq!(
        (linked.case.state.as_str(), linked.case.decision_id),
        ("voting", Some(vote))
    );

    // Everyone keeps the fee (yes) and rejects the dismissal (no): the first question passed,
    // yet the case reads its own question and the company is retained.
    run_vote(
        t,
        &committee,
        &second,
        [&zhang, &li],
        vote,
        &["yes", "no"],
        notice,
    )
    .await;
    let done = supervision::exit_case(&t.db, &district, x.id).await.unwrap();
    assert_eq!(
        (done.case.state.as_str(), done.case.outcome.as_deref()),
        ("closed", Some("retained"))
    );
    let steps: Vec<&str> = done.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(steps, ["propose", "decide", "vote", "close"]);

    // A later case, a vote that dismisses (its first proposal by default).
    let later = notice + time::Duration::days(40);
    let x = supervision::propose_exit(&t.db, &district, &new, later)
        .await
        .unwrap()
        .case;
    supervision::decide_exit(&t.db, &district, x.id, &proceed, later)
        .await
        .unwrap();
    let mut dismiss = new_decision(xq1, &["select_or_dismiss_company"]);
    dismiss.questions = vec!["解聘潍坊安居物业服务有限公司".into()];
    dismiss.voting_closes = (later + time::Duration::days(30)).date();
    let vote = decisions::create(&t.db, &committee, &dismiss, later)
        .await
        .unwrap();
    supervision::link_vote(&t.db, &committee, x.id, &link(vote, None), later)
        .await
        .unwrap();
    run_vote(t, &committee, &second, [&zhang, &li], vote, &["yes"], later).await;
    let done = supervision::exit_case(&t.db, &district, x.id).await.unwrap();
    assert_eq!(done.case.outcome.as_deref(), Some("dismissed"));
    let (told,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.kind = 'exit_case' AND u.scope_company = $1 AND n.text_en LIKE '%voted to dismiss%'")
        .bind(anju).fetch_one(pool).await).unwrap();
    let (accounts,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM users WHERE scope_company = $1 AND disabled = $2").bind(anju).bind(false).fetch_one(pool).await).unwrap();
    assert_eq!(told, accounts, "every account of the company is told");
    // The contract is untouched: a person records its end.
    let (in_force,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
        "SELECT count(*) FROM contracts WHERE company_id = $1 AND compound_id = $2 AND end_date > '2027-06-30'").bind(anju).bind(xq1).fetch_one(pool).await).unwrap();
    assert_eq!(in_force, 1);
});

storage_test!(a_missed_close_is_made_by_the_sweep, |t| {
    // A case voting on a decision published while the case could not be closed (simulated by
    // linking straight in the table) is closed by the supervision sweep.
    seed(&t.db).await;
    let xq1 = xq1(t).await;
    let db = &t.db;
    let (anju,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").fetch_one(pool).await).unwrap();
    let notice = datetime!(2026-11-02 09:00 +8);
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let second = staff(t, "committee1b", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let li = verified_owner(t, "13800138001", "370705199102021235", notice).await;
    let new = NewExitCase {
        company_id: anju,
        compound_id: xq1,
        reason: "矩阵".into(),
    };
    let x = supervision::propose_exit(&t.db, &district, &new, notice)
        .await
        .unwrap()
        .case;
    let mut dismiss = new_decision(xq1, &["select_or_dismiss_company"]);
    dismiss.questions = vec!["解聘".into()];
    let vote = decisions::create(&t.db, &committee, &dismiss, notice)
        .await
        .unwrap();
    run_vote(t, &committee, &second, [&zhang, &li], vote, &["yes"], notice).await;
    wuye::db_run!(db, pool => sqlx::query("UPDATE exit_cases SET state = 'voting', decision_id = $2 WHERE id = $1")
        .bind(x.id).bind(vote).execute(pool).await.map(|_| ())).unwrap();
    supervision::sweep(&t.db, &Settings::shipped(), datetime!(2026-12-20 02:00 UTC))
        .await
        .unwrap();
    let done = supervision::exit_case(&t.db, &district, x.id).await.unwrap();
    assert_eq!(
        (done.case.state.as_str(), done.case.outcome.as_deref()),
        ("closed", Some("dismissed"))
    );
});

/// The developer's room on a decision's roll.
async fn dev_room(t: &TestDb, id: i64) -> i64 {
    let rooms = decisions::roll_rooms(&t.db, id).await.unwrap();
    rooms.iter().find(|(_, l)| l.ends_with("-601")).unwrap().0
}

storage_test!(the_pages_record_an_interview_and_decide_an_exit_case, |t| {
    use crate::credit::{browser, multipart, page_get, page_post};
    seed(&t.db).await;
    let now = datetime!(2026-11-20 10:00 +8);
    let app = crate::http::app_with_clock(t, wuye::clock::Clock::fixed(now));
    let xq1 = xq1(t).await;
    let db = &t.db;
    let (anju,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").fetch_one(pool).await).unwrap();
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let company = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let iv = supervision::create_interview(
        &t.db,
        &district,
        &wuye::supervision::NewInterview {
            company_id: anju,
            compound_id: Some(xq1),
            reason: "业主投诉集中".into(),
        },
        now,
    )
    .await
    .unwrap();
    let x = supervision::propose_exit(
        &t.db,
        &district,
        &NewExitCase {
            company_id: anju,
            compound_id: xq1,
            reason: "多次整改逾期".into(),
        },
        now,
    )
    .await
    .unwrap()
    .case;
    let (cookie, csrf) = browser(t, &district).await;
    let (company_cookie, _) = browser(t, &company).await;
    const MP: &str = "multipart/form-data; boundary=B";

    let r = page_get(&app, &cookie, "/supervision").await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    assert!(r.text().contains(&format!("/supervision/interviews/{}", iv.id)));
    assert!(r.text().contains(&format!("/supervision/exits/{}", x.id)));

    // A file that is not a PDF or an image is refused before anything is written.
    let path = format!("/supervision/interviews/{}/record", iv.id);
    let fields = [
        ("csrf", csrf.as_str()),
        ("held_on", "2026-11-19"),
        ("place", "区住建局"),
        ("attendees", "区物业科；安居物业总经理"),
        ("minutes", "企业承诺限期整改"),
    ];
    let record =
        |file: &'static [u8]| page_post(&app, &cookie, &path, MP, multipart(&fields, &[("file", file)]));
    let state = || async {
        supervision::interview(&t.db, &district, iv.id)
            .await
            .unwrap()
            .state
    };
    let r = record(b"GIF89a").await;
    assert_eq!(r.status, axum::http::StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(state().await, "pending");
    // A file that cannot be stored, or an audit entry that cannot be written: the interview
    // is not recorded without it.
    for (table, when) in [
        ("files", "1 = 1"),
        ("audit_log", "NEW.action = 'interview.record'"),
    ] {
        poison(db, table, "INSERT", when).await;
        let r = record(b"%PDF-1.7 minutes").await;
        assert!(r.status.is_server_error(), "{table}: {} {}", r.status, r.text());
        assert_eq!(state().await, "pending");
        mend(db, table).await;
    }
    let r = record(b"%PDF-1.7 minutes").await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
    let held = supervision::interview(&t.db, &district, iv.id).await.unwrap();
    assert_eq!(
        (
            held.state.as_str(),
            held.held_on,
            held.minutes_file_name.as_deref()
        ),
        ("held", Some(date!(2026 - 11 - 19)), Some("minutes"))
    );
    // The company reads the record, without the forms.
    let r = page_get(
        &app,
        &company_cookie,
        &format!("/supervision/interviews/{}", iv.id),
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    assert!(r.text().contains("企业承诺限期整改") && !r.text().contains("name=\"attendees\""));
    let r = page_get(&app, &company_cookie, &format!("/supervision/exits/{}", x.id)).await;
    assert!(
        !r.text().contains("name=\"decision\""),
        "no decision form for the company"
    );

    // The district decides on the exit case's page.
    let r = page_post(
        &app,
        &cookie,
        &format!("/supervision/exits/{}/decide", x.id),
        "application/x-www-form-urlencoded",
        format!("csrf={csrf}&decision=no_action&reason=%E5%B7%B2%E6%95%B4%E6%94%B9").into_bytes(),
    )
    .await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
    let d = supervision::exit_case(&t.db, &district, x.id).await.unwrap();
    assert_eq!(d.case.outcome.as_deref(), Some("no_action"));
});

/// A published decision of `compound` whose only question had `outcome` (written straight to
/// the table: the sweep reads only its state and result).
async fn published(t: &TestDb, compound: i64, outcome: &str) -> i64 {
    let db = &t.db;
    let now = wuye::clock::db_time(OffsetDateTime::now_utc());
    let result = serde_json::json!({ "questions": [{ "statutory": { "outcome": outcome } }] }).to_string();
    let (id,): (i64,) = wuye::db_run!(db, pool => sqlx::query_as(
        "INSERT INTO decisions (compound_id, title, matters, class, form, mode, state, notice_at, voting_opens, voting_closes, salt, result, created_at) \
         VALUES ($1, 'exit', 'select_or_dismiss_company', 'ordinary', 'meeting', 'open', 'published', $2, $3, $3, $4, $5, $2) RETURNING id")
        .bind(compound).bind(now).bind(wuye::clock::china_date(now)).bind(format!("salt-{compound}-{outcome}")).bind(result)
        .fetch_one(pool).await).unwrap();
    id
}

storage_test!(an_exit_case_that_cannot_close_does_not_hold_up_the_others, |t| {
    seed(&t.db).await;
    let db = &t.db;
    let (anju,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").fetch_one(pool).await).unwrap();
    let (xq3,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM compounds WHERE code = 'XQ3'").fetch_one(pool).await).unwrap();
    let district = staff(t, "district", Role::DistrictOfficer, "370705").await;
    let now = OffsetDateTime::now_utc();
    let mut cases = Vec::new();
    // Two cases waiting on two published votes; the sweep visits the first one first.
    for compound in [xq1(t).await, xq3] {
        let new = NewExitCase {
            company_id: anju,
            compound_id: compound,
            reason: "末位".into(),
        };
        let x = supervision::propose_exit(db, &district, &new, now)
            .await
            .unwrap()
            .case;
        let vote = published(t, compound, "passed").await;
        wuye::db_run!(db, pool => sqlx::query("UPDATE exit_cases SET state = 'voting', decision_id = $2 WHERE id = $1")
            .bind(x.id).bind(vote).execute(pool).await.map(|_| ())).unwrap();
        cases.push(x.id);
    }
    let [first, second] = cases[..] else {
        unreachable!()
    };
    let state = |id| async move {
        let d = supervision::exit_case(db, &Actor::cli(), id).await.unwrap();
        let closes = d.events.iter().filter(|e| e.action == "close").count();
        (d.case.state, d.case.outcome, closes)
    };
    let told = |id: i64| async move {
        let (n,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as(
            "SELECT count(*) FROM notifications WHERE kind = 'exit_case' AND region_code IS NOT NULL AND text_en LIKE $1")
            .bind(format!("Exit case {id}:%")).fetch_one(pool).await).unwrap();
        n
    };
    let closed = || ("closed".to_owned(), Some("dismissed".to_owned()), 1);
    // The first case's closing event cannot be written.
    poison(
        db,
        "exit_case_events",
        "INSERT",
        &format!("NEW.exit_case_id = {first}"),
    )
    .await;
    let at = datetime!(2026-12-20 02:00 UTC);
    supervision::sweep(db, &Settings::shipped(), at).await.unwrap();
    assert_eq!(state(second).await, closed());
    assert_eq!(told(second).await, 1);
    // Nothing of the first was done by halves: it is still voting, untold.
    assert_eq!(state(first).await, ("voting".to_owned(), None, 0));
    assert_eq!(told(first).await, 0);
    // Mended, the next sweep closes it, once.
    mend(db, "exit_case_events").await;
    supervision::sweep(db, &Settings::shipped(), at).await.unwrap();
    supervision::sweep(db, &Settings::shipped(), at).await.unwrap();
    assert_eq!(state(first).await, closed());
    assert_eq!((told(first).await, told(second).await), (1, 1));
});

storage_test!(
    a_bottom_place_action_that_cannot_be_noted_does_not_hold_up_the_others,
    |t| {
        seed(&t.db).await;
        let db = &t.db;
        let (anju,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM companies WHERE uscc = '91350100M000100Y43'").fetch_one(pool).await).unwrap();
        let (xq3,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT id FROM compounds WHERE code = 'XQ3'").fetch_one(pool).await).unwrap();
        let now = wuye::clock::db_time(OffsetDateTime::now_utc());
        // A final run that left two interviews to open (written straight to the tables).
        let (run,): (i64,) = wuye::db_run!(db, pool => sqlx::query_as(
        "INSERT INTO assessment_runs (period, kind, as_of, settings, rubric_ids, projects, rated, inputs_sha256, scores_sha256, started_at, finished_at) \
         VALUES ('2026-10', 'final', $1, '{}', '[]', 2, 2, '', '', $1, $1) RETURNING id")
        .bind(now).fetch_one(pool).await).unwrap();
        let mut actions = Vec::new();
        for compound in [xq1(t).await, xq3] {
            let (a,): (i64,) = wuye::db_run!(db, pool => sqlx::query_as(
            "INSERT INTO assessment_actions (run_id, compound_id, company_id, streak, kind, state) VALUES ($1, $2, $3, 2, 'interview', 'pending') RETURNING id")
            .bind(run).bind(compound).bind(anju).fetch_one(pool).await).unwrap();
            actions.push(a);
        }
        let note = |id: i64| async move {
            let (n,): (String,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT note FROM assessment_actions WHERE id = $1")
            .bind(id).fetch_one(pool).await).unwrap();
            n
        };
        // The first action's note cannot be written.
        poison(
            db,
            "assessment_actions",
            "UPDATE",
            &format!("NEW.id = {}", actions[0]),
        )
        .await;
        supervision::sweep(db, &Settings::shipped(), OffsetDateTime::now_utc())
            .await
            .unwrap();
        assert!(
            note(actions[1]).await.contains("interview"),
            "{}",
            note(actions[1]).await
        );
        // Both interviews were opened; only the first note is missing.
        assert_eq!(note(actions[0]).await, "");
        let ivs = supervision::interviews(db, &Actor::cli(), None).await.unwrap();
        let mut opened: Vec<_> = ivs.iter().filter_map(|i| i.action_id).collect();
        opened.sort_unstable();
        assert_eq!(opened, actions);
        mend(db, "assessment_actions").await;
    }
);

storage_test!(
    a_bottom_place_credit_that_failed_is_issued_by_the_sweep_once,
    |t| {
        bottom_fixture(t).await;
        let db = &t.db;
        let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
        let s = Settings::shipped();
        let bottom_n = || {
            rows(
                db,
                "SELECT count(*) FROM credit_records WHERE source = 'bottom_n'",
            )
        };
        // The deduction cannot be written when the month closes: the close stands, the action waits.
        poison(db, "credit_records", "INSERT", "NEW.source = 'bottom_n'").await;
        let closed = datetime!(2026-11-12 02:00 UTC);
        let r = assessment::run(db, &admin, Period::parse("2026-10").unwrap(), true, &s, closed)
            .await
            .unwrap();
        assert_eq!(r.bottom, 1);
        assert!(actions_of(t, r.run_id).await.contains(&pair("credit", "pending")));
        assert_eq!(bottom_n().await, 0);
        // Mended, the sweep issues it, once however often it runs.
        mend(db, "credit_records").await;
        for _ in 0..2 {
            supervision::sweep(db, &s, closed + time::Duration::days(1))
                .await
                .unwrap();
        }
        assert!(actions_of(t, r.run_id).await.contains(&pair("credit", "done")));
        assert_eq!(bottom_n().await, 1);
        // Issued a day late, it is valid a year from the close all the same.
        let (record, valid_from): (i64, time::Date) = wuye::db_read!(db, pool => sqlx::query_as(
            "SELECT id, valid_from FROM credit_records WHERE source = 'bottom_n'").fetch_one(pool).await)
        .unwrap();
        assert_eq!(valid_from, date!(2026 - 11 - 12));
        // The company appeals; partly upheld, the replacement (same source) is written, and the
        // sweep does not take it for the deduction or issue another.
        let files = wuye::files::FileStore::new(db.clone(), wuye::files::FileBackend::Database);
        let hongda = staff(t, "hongda", Role::CompanyAdmin, "91110108551385082Q").await;
        let appealed = closed + time::Duration::days(3);
        let appeal = wuye::credit::appeal(db, &files, &hongda, record, "已整改", &[], appealed)
            .await
            .unwrap();
        let partly = wuye::credit::AppealDecision {
            outcome: "partly_upheld".into(),
            reason: "部分成立".into(),
            points: Some("1.00".into()),
        };
        let d = wuye::credit::decide(db, &admin, appeal, &partly, appealed)
            .await
            .unwrap();
        assert!(d.replacement_record_id.is_some());
        supervision::sweep(db, &s, appealed).await.unwrap();
        assert_eq!(bottom_n().await, 2, "the deduction and its replacement");
    }
);

storage_test!(a_month_closes_with_its_actions_or_not_at_all, |t| {
    bottom_fixture(t).await;
    let db = &t.db;
    let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
    let s = Settings::shipped();
    let october = || Period::parse("2026-10").unwrap();
    let closed = datetime!(2026-11-12 02:00 UTC);
    let finals = || {
        rows(
            db,
            "SELECT count(*) FROM assessment_runs WHERE period = '2026-10' AND kind = 'final'",
        )
    };
    // The actions cannot be written: the month is not closed without them.
    poison(db, "assessment_actions", "INSERT", "NEW.run_id > 0").await;
    assert!(
        assessment::run(db, &admin, october(), true, &s, closed)
            .await
            .is_err()
    );
    assert_eq!(finals().await, 0);
    // Mended, the close is written with them.
    mend(db, "assessment_actions").await;
    let r = assessment::run(db, &admin, october(), true, &s, closed)
        .await
        .unwrap();
    assert_eq!((r.bottom, finals().await), (1, 1));
    assert_eq!(
        actions_of(t, r.run_id).await,
        [
            pair("credit", "done"),
            pair("public_notice", "done"),
            pair("rectification", "done")
        ]
    );
});

storage_test!(
    a_notice_issued_for_an_action_whose_note_failed_is_found_not_issued_again,
    |t| {
        bottom_fixture(t).await;
        let db = &t.db;
        let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
        let s = Settings::shipped();
        let notices = || {
            rows(
                db,
                "SELECT count(*) FROM rectifications WHERE action_id IS NOT NULL",
            )
        };
        // The notice is issued at the close, but its action cannot be marked done.
        poison(
            db,
            "assessment_actions",
            "UPDATE",
            "NEW.kind = 'rectification' AND NEW.state = 'done'",
        )
        .await;
        let closed = datetime!(2026-11-12 02:00 UTC);
        let r = assessment::run(db, &admin, Period::parse("2026-10").unwrap(), true, &s, closed)
            .await
            .unwrap();
        assert!(
            actions_of(t, r.run_id)
                .await
                .contains(&pair("rectification", "pending"))
        );
        assert_eq!(notices().await, 1);
        // Mended, the sweep finds the notice and marks the action done; nothing is issued twice.
        mend(db, "assessment_actions").await;
        for _ in 0..2 {
            supervision::sweep(db, &s, closed + time::Duration::days(1))
                .await
                .unwrap();
        }
        assert!(
            actions_of(t, r.run_id)
                .await
                .contains(&pair("rectification", "done"))
        );
        assert_eq!(notices().await, 1);
    }
);

storage_test!(a_notice_is_never_issued_untold, |t| {
    bottom_fixture(t).await;
    let db = &t.db;
    let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
    // The bottom place is 宏达's; one of its accounts reads the notices.
    staff(t, "hongda", Role::CompanyAdmin, "91110108551385082Q").await;
    let s = Settings::shipped();
    let told = || {
        rows(
            db,
            "SELECT count(*) FROM notifications WHERE kind = 'rectification_issued'",
        )
    };
    let notices = || rows(db, "SELECT count(*) FROM rectifications");
    // The company cannot be told at the close: the notice is not issued either.
    poison(db, "notifications", "INSERT", "NEW.kind = 'rectification_issued'").await;
    let closed = datetime!(2026-11-12 02:00 UTC);
    let r = assessment::run(db, &admin, Period::parse("2026-10").unwrap(), true, &s, closed)
        .await
        .unwrap();
    assert!(
        actions_of(t, r.run_id)
            .await
            .contains(&pair("rectification", "pending"))
    );
    assert_eq!((notices().await, told().await), (0, 0));
    // Mended, the retry issues it and tells the company, once, and the action is done.
    mend(db, "notifications").await;
    for _ in 0..2 {
        supervision::sweep(db, &s, closed + time::Duration::days(1))
            .await
            .unwrap();
    }
    assert!(
        actions_of(t, r.run_id)
            .await
            .contains(&pair("rectification", "done"))
    );
    assert_eq!((notices().await, told().await), (1, 1));
});
