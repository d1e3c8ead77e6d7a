//! Owners' decisions through the storage layer: notice, the statutory calendar, the frozen
//! roll, online and paper ballots (exactly one counts per subject, also at once), the close,
//! the result, the export that `wuye verify` checks, and that nothing shows the split before
//! the close.

use time::OffsetDateTime;
use time::macros::{date, datetime};
use wuye::auth::Actor;
use wuye::decisions::{self, DecisionError, NewDecision};
use wuye_model::Role;

use crate::http::{PASSWORD, staff, token_for};
use crate::storage_test;
use crate::support::{TestDb, seed};

/// An owner signed in by code and linked to the registry owner with this ID number.
pub async fn verified_owner(t: &TestDb, phone: &str, id_number: &str, now: OffsetDateTime) -> Actor {
    wuye::otp::request_code(&t.db, &wuye::otp::Sender::Outbox, phone, "", now)
        .await
        .unwrap();
    let code = crate::owners::last_code(&t.db, phone).await;
    let actor = match wuye::otp::verify_code(&t.db, phone, &code, "", now)
        .await
        .unwrap()
    {
        wuye::otp::Verified::Ok { actor, .. } => *actor,
        other => panic!("{other:?}"),
    };
    let db = &t.db;
    let uid = actor.user_id.unwrap();
    wuye::db_run!(db, pool => sqlx::query("INSERT INTO user_owners (user_id, owner_id, verified_at) SELECT $1, id, $2 FROM owners WHERE id_number = $3")
        .bind(uid).bind(now).bind(id_number).execute(pool).await.map(|_| ())).unwrap();
    actor
}

pub async fn xq1(t: &TestDb) -> i64 {
    let q = wuye::registry::CompoundFilter {
        q: Some("XQ1".into()),
        ..Default::default()
    }
    .check()
    .unwrap();
    wuye::registry::list_compounds(&t.db, &q, &wuye::registry::Page::new(1, 1))
        .await
        .unwrap()
        .items[0]
        .id
}

pub fn new_decision(compound_id: i64, matters: &[&str]) -> NewDecision {
    NewDecision {
        compound_id,
        title: "续聘安居物业".into(),
        body: "续聘三年，收费标准不变".into(),
        matters: matters.iter().map(|m| (*m).to_owned()).collect(),
        questions: vec!["续聘潍坊安居物业服务有限公司".into(), "物业费标准不变".into()],
        elections: Vec::new(),
        selections: Vec::new(),
        form: "meeting".into(),
        secret: false,
        silent_clause: true,
        voting_closes: date!(2026 - 11 - 30),
    }
}

storage_test!(a_decision_from_notice_to_verified_result, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let second = staff(t, "committee1b", Role::CommitteeMember, "XQ1").await;
    let company = staff(t, "anju", Role::CompanyAdmin, "91350100M000100Y43").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let li = verified_owner(t, "13800138001", "370705199102021235", notice).await;

    // Who may organise, and R1.9: one class per proposal.
    assert!(matches!(
        decisions::create(&t.db, &company, &new_decision(xq1, &["covenant"]), notice).await,
        Err(DecisionError::Denied(_))
    ));
    let mixed = decisions::create(
        &t.db,
        &committee,
        &new_decision(xq1, &["covenant", "raise_maintenance_fund"]),
        notice,
    )
    .await;
    assert!(
        matches!(mixed, Err(DecisionError::Invalid(m)) if m.contains("split")),
        "mixing classes is refused"
    );
    let mut early = new_decision(xq1, &["select_or_dismiss_company"]);
    early.voting_closes = date!(2026 - 11 - 17);
    assert!(
        matches!(decisions::create(&t.db, &committee, &early, notice).await, Err(DecisionError::Invalid(m)) if m.contains("2026-11-18"))
    );
    let id = decisions::create(
        &t.db,
        &committee,
        &new_decision(xq1, &["select_or_dismiss_company"]),
        notice,
    )
    .await
    .unwrap();
    let d = decisions::find(&t.db, &zhang, id).await.unwrap();
    assert_eq!(d.voting_opens, date!(2026 - 11 - 18), "R2.3: notice day + 16");
    let notes = wuye::notify::list(&t.db, &li, &wuye::registry::Page::new(1, 5))
        .await
        .unwrap();
    assert!(
        notes.items.iter().any(|n| n.text_zh.contains("表决公告")),
        "every owner hears of the notice"
    );

    // Not before the 16th day; voting before it opens is refused.
    assert!(matches!(
        decisions::open(&t.db, &committee, id, datetime!(2026-11-17 23:00 +8)).await,
        Err(DecisionError::Refused(_))
    ));
    assert!(matches!(
        decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], notice).await,
        Err(DecisionError::Refused(_))
    ));
    let opened = datetime!(2026-11-18 08:00 +8);
    decisions::open(&t.db, &committee, id, opened).await.unwrap();
    // The roll is frozen: a registry edit afterwards changes nothing.
    let db = &t.db;
    wuye::db_run!(db, pool => sqlx::query("UPDATE rooms SET exclusive_area = 99999 WHERE number = '102'").execute(pool).await.map(|_| ())).unwrap();
    let turnout = decisions::turnout(&t.db, id).await.unwrap();
    // 张三+李四 (89.50), 张三 (76.25), the developer (120 + 0.10): three subjects.
    assert_eq!(
        (
            turnout.total_heads,
            turnout.total_area.as_str(),
            turnout.voted_heads
        ),
        (3, "285.85", 0)
    );

    // 张三 votes for both subjects he holds a title in, then changes his mind: the last counts.
    let first = decisions::cast(&t.db, &zhang, id, &["no".into(), "yes".into()], opened)
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "one receipt per subject");
    decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], opened)
        .await
        .unwrap();
    // 李四 (co-owner of 101 only) twice at once: one ballot in force for that subject.
    let li_ballot: Vec<String> = vec!["yes".into(), "no".into()];
    let (a, b) = tokio::join!(
        decisions::cast(&t.db, &li, id, &li_ballot, opened),
        decisions::cast(&t.db, &li, id, &li_ballot, opened)
    );
    a.unwrap();
    b.unwrap();
    let turnout = decisions::turnout(&t.db, id).await.unwrap();
    assert_eq!((turnout.voted_heads, turnout.voted_area.as_str()), (2, "165.75"));
    // Bad input and outsiders change nothing.
    assert!(matches!(
        decisions::cast(&t.db, &zhang, id, &["maybe".into(), "yes".into()], opened).await,
        Err(DecisionError::Invalid(_))
    ));
    let stranger = {
        wuye::otp::request_code(&t.db, &wuye::otp::Sender::Outbox, "13900000000", "", opened)
            .await
            .unwrap();
        let code = crate::owners::last_code(&t.db, "13900000000").await;
        match wuye::otp::verify_code(&t.db, "13900000000", &code, "", opened)
            .await
            .unwrap()
        {
            wuye::otp::Verified::Ok { actor, .. } => *actor,
            other => panic!("{other:?}"),
        }
    };
    assert!(
        decisions::cast(&t.db, &stranger, id, &["yes".into(), "yes".into()], opened)
            .await
            .is_err(),
        "an unverified owner cannot vote"
    );

    // The developer's paper ballot: entered by one member, confirmed by another.
    let rooms = decisions::roll_rooms(&t.db, id).await.unwrap();
    let dev_room = rooms.iter().find(|(_, l)| l.ends_with("-601")).unwrap().0;
    decisions::enter_paper(
        &t.db,
        &committee,
        id,
        dev_room,
        &["abstain".into(), "no".into()],
        None,
        opened,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            decisions::confirm_paper(&t.db, &committee, id, "developer", opened).await,
            Err(DecisionError::Refused(_))
        ),
        "not by the same person"
    );
    assert_eq!(
        decisions::turnout(&t.db, id).await.unwrap().voted_heads,
        2,
        "pending paper does not count yet"
    );
    decisions::confirm_paper(&t.db, &second, id, "developer", opened)
        .await
        .unwrap();
    assert_eq!(decisions::turnout(&t.db, id).await.unwrap().voted_heads, 3);

    // Before the close: no result and no export, for anyone.
    let d = decisions::find(&t.db, &committee, id).await.unwrap();
    assert!(decisions::result(&d).is_none());
    assert!(matches!(
        decisions::export(&t.db, &committee, id).await,
        Err(DecisionError::Refused(_))
    ));

    // Close: the statutory result, and the rules-based one beside it.
    let closed = datetime!(2026-11-30 20:00 +8);
    // The city shortened the objection period to 3 days (a setting; default 7).
    let city_days = wuye::settings::DecisionDays {
        objection: 3,
        ..Default::default()
    };
    let r = decisions::close(&t.db, &committee, id, &city_days, closed)
        .await
        .unwrap();
    assert!(
        matches!(
            decisions::cast(&t.db, &zhang, id, &["no".into(), "no".into()], closed).await,
            Err(DecisionError::Refused(_))
        ),
        "after the close"
    );
    let q1 = &r.questions[0].statutory;
    // Yes: {张三} 76.25 and {张三,李四} 89.50 = 165.75 of 285.85 participating, 2 of 3 heads.
    assert_eq!(q1["outcome"], "passed", "{q1}");
    assert_eq!(
        (q1["yes_area"].as_str(), q1["yes_heads"].as_u64()),
        (Some("165.75"), Some(2))
    );
    assert_eq!(
        (q1["abstain_area"].as_str(), q1["participating_heads"].as_u64()),
        (Some("120.10"), Some(3))
    );
    let q2 = &r.questions[1].statutory;
    // Question 2: {张三} yes (76.25, 1 head); {张三,李四} counts its last ballot, 李四's (yes, no)
    // → no; the developer no.
    assert_eq!(q2["outcome"], "rejected", "{q2}");
    // Everyone voted, so nobody is deemed: the rules-based result, computed beside, equals the
    // statutory one figure for figure (both read the log's ballots in force the same way).
    for q in &r.questions {
        let rb = q
            .rules_based
            .as_ref()
            .expect("the silent-owner result is computed beside");
        for k in [
            "participating_area",
            "participating_heads",
            "yes_area",
            "yes_heads",
            "no_area",
            "abstain_heads",
            "outcome",
        ] {
            assert_eq!(rb[k], q.statutory[k], "{k}");
        }
    }

    // Publish after the objection period; the export verifies and matches the result.
    assert!(matches!(
        decisions::publish(&t.db, &committee, id, &city_days, closed).await,
        Err(DecisionError::Refused(_))
    ));
    decisions::publish(
        &t.db,
        &committee,
        id,
        &city_days,
        closed + time::Duration::days(4),
    )
    .await
    .unwrap();
    let export = decisions::export(&t.db, &zhang, id).await.unwrap();
    let report = wuye_model::verify(&export).unwrap();
    assert_eq!(report.head.to_string(), r.head_hash);
    assert_eq!(report.tallies[0].outcome.as_str(), "passed");
    assert!(
        !export.contains("张三")
            && !export.contains("13800138000")
            && !export.contains("号楼")
            && !export.contains("developer"),
        "no names, rooms or phones: {export}"
    );
    // 张三 finds his line by his receipt; the first ballot shows as replaced.
    let found = decisions::check_receipt(&t.db, &zhang, id, &first[0].1.to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(found.contains("replaced"), "{found}");
    // One changed byte and verify names the place.
    let tampered = export.replacen(" y", " n", 1);
    assert!(wuye_model::verify(&tampered).is_err());
});

storage_test!(an_election_and_a_firm_selection_on_one_ballot, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let second = staff(t, "committee1b", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let mut new = new_decision(xq1, &["elect_committee"]);
    new.questions = Vec::new();
    new.elections = vec![decisions::NewElection {
        title: "第二届业主委员会".into(),
        seats: 2,
        candidates: vec!["甲".into(), "乙".into(), "丙".into()],
    }];
    new.selections = vec![decisions::NewSelection {
        title: "选聘物业服务企业".into(),
        bidders: vec!["甲物业".into(), "乙物业".into()],
    }];
    // Each kind of item needs its matter.
    assert!(matches!(
        decisions::create(&t.db, &committee, &new, notice).await,
        Err(DecisionError::Invalid(m)) if m.contains("select_or_dismiss_company")
    ));
    new.matters.push("select_or_dismiss_company".into());
    let id = decisions::create(&t.db, &committee, &new, notice).await.unwrap();
    let ballot = decisions::ballot(&t.db, id).await.unwrap();
    assert_eq!(
        ballot
            .iter()
            .map(|c| (c.kind.as_str(), c.item, c.seats))
            .collect::<Vec<_>>(),
        vec![
            ("candidate", 1, 2),
            ("candidate", 1, 2),
            ("candidate", 1, 2),
            ("bidder", 2, 1),
            ("bidder", 2, 1)
        ]
    );
    let opened = datetime!(2026-11-18 08:00 +8);
    decisions::open(&t.db, &committee, id, opened).await.unwrap();
    let a = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();

    // Three yes for two seats is refused online, as is picking both bidders.
    assert!(matches!(
        decisions::cast(&t.db, &zhang, id, &a(&["yes", "yes", "yes", "no", "yes"]), opened).await,
        Err(DecisionError::Invalid(m)) if m.contains("2")
    ));
    assert!(matches!(
        decisions::cast(&t.db, &zhang, id, &a(&["yes", "no", "no", "yes", "yes"]), opened).await,
        Err(DecisionError::Invalid(_))
    ));
    assert_eq!(
        decisions::turnout(&t.db, id).await.unwrap().voted_heads,
        0,
        "refused ballots change nothing"
    );
    // 张三 (two subjects): 甲 and 乙, and 乙物业 (the other bidder counts as no).
    decisions::cast(
        &t.db,
        &zhang,
        id,
        &a(&["yes", "yes", "no", "abstain", "yes"]),
        opened,
    )
    .await
    .unwrap();
    // The developer's paper sheet over-votes the election: spoiled there (abstain on each
    // candidate, still a participation); it picks 甲物业.
    let rooms = decisions::roll_rooms(&t.db, id).await.unwrap();
    let dev_room = rooms.iter().find(|(_, l)| l.ends_with("-601")).unwrap().0;
    decisions::enter_paper(
        &t.db,
        &committee,
        id,
        dev_room,
        &a(&["yes", "yes", "yes", "yes", "no"]),
        None,
        opened,
    )
    .await
    .unwrap();
    decisions::confirm_paper(&t.db, &second, id, "developer", opened)
        .await
        .unwrap();

    let r = decisions::close(
        &t.db,
        &committee,
        id,
        &Default::default(),
        datetime!(2026-11-30 20:00 +8),
    )
    .await
    .unwrap();
    // Participation 285.85 m² and 3 heads. 甲 and 乙: yes 165.75 m² and 2 heads each, more
    // than half of both: they pass, equal on heads and area, so ballot order ranks them; both
    // seats are filled. 丙: no yes at all.
    let e = &r.items[0];
    assert_eq!(
        (e.kind.as_str(), e.chosen.clone(), e.vacant_seats),
        ("election", vec!["甲".to_owned(), "乙".to_owned()], 0)
    );
    let c = &r.questions[2].statutory;
    assert_eq!(
        (
            c["yes_heads"].as_u64(),
            c["abstain_area"].as_str(),
            c["outcome"].as_str()
        ),
        (Some(0), Some("120.10"), Some("rejected"))
    );
    // 乙物业: 165.75 m² and 2 heads of 285.85 and 3; 甲物业 the developer's 120.10 and 1.
    let f = &r.items[1];
    assert_eq!(
        (f.kind.as_str(), f.chosen.clone()),
        ("selection", vec!["乙物业".to_owned()])
    );
    let b1 = &r.questions[3].statutory;
    assert_eq!(
        (b1["yes_area"].as_str(), b1["no_area"].as_str()),
        (Some("120.10"), Some("165.75"))
    );
    // The export carries the columns; verify recomputes the same tallies.
    decisions::publish(
        &t.db,
        &committee,
        id,
        &Default::default(),
        datetime!(2026-12-08 20:00 +8),
    )
    .await
    .unwrap();
    let export = decisions::export(&t.db, &zhang, id).await.unwrap();
    let report = wuye_model::verify(&export).unwrap();
    assert_eq!(report.tallies.len(), 5);
    assert_eq!(report.tallies[4].yes_heads, 2);
});

storage_test!(a_secret_ballot_logs_no_voter_and_its_enrolment_is_audited, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let mut new = new_decision(xq1, &["covenant"]);
    new.secret = true;
    let id = decisions::create(&t.db, &committee, &new, notice).await.unwrap();
    let opened = datetime!(2026-11-18 08:00 +8);
    decisions::open(&t.db, &committee, id, opened).await.unwrap();
    let receipts = decisions::cast(&t.db, &zhang, id, &["yes".into(), "no".into()], opened)
        .await
        .unwrap();
    decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], opened)
        .await
        .unwrap();
    // Nothing to audit before the close (the export is not out yet).
    assert!(matches!(
        decisions::audit_enrolment(&t.db, &committee, id).await,
        Err(DecisionError::Refused(_))
    ));
    decisions::close(
        &t.db,
        &committee,
        id,
        &Default::default(),
        datetime!(2026-11-30 20:00 +8),
    )
    .await
    .unwrap();
    let export = decisions::export(&t.db, &zhang, id).await.unwrap();
    assert!(export.contains("\nmode secret\n"), "{export}");
    // Every ballot event names its subject's id and no voter: the `by` field is `-`.
    let ballots: Vec<&str> = export
        .lines()
        .filter(|l| l.starts_with("event ") && !l.contains(" enrol "))
        .collect();
    assert_eq!(ballots.len(), 4, "two subjects, each cast then changed: {export}");
    for l in &ballots {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f[8], "-", "a voter's identity in a secret ballot: {l}");
    }
    wuye_model::verify(&export).unwrap();
    // The owner still finds their own ballot by the receipt.
    assert!(
        decisions::check_receipt(&t.db, &zhang, id, &receipts[0].1.to_string())
            .await
            .unwrap()
            .is_some()
    );
    // The eligibility proof: the enrolled ids are exactly the frozen roll's subjects with
    // their areas, checked against the registration table, by the organisers only.
    assert_eq!(
        decisions::audit_enrolment(&t.db, &committee, id).await.unwrap(),
        3
    );
    assert!(matches!(
        decisions::audit_enrolment(&t.db, &zhang, id).await,
        Err(DecisionError::Denied(_))
    ));
    // A roll altered after the vote no longer matches what was enrolled.
    let db = &t.db;
    wuye::db_run!(db, pool => sqlx::query("UPDATE roll_rooms SET area = area + 100 WHERE decision_id = $1 AND subject_key = 'developer'")
        .bind(id).execute(pool).await.map(|_| ())).unwrap();
    let refused = decisions::audit_enrolment(&t.db, &committee, id).await;
    assert!(
        matches!(&refused, Err(DecisionError::Refused(m)) if m.contains("roll")),
        "{refused:?}"
    );
});

storage_test!(a_notice_carries_documents_until_voting_opens, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let files = wuye::files::FileStore::new(t.db.clone(), wuye::files::FileBackend::Database);
    let id = decisions::create(&t.db, &committee, &new_decision(xq1, &["covenant"]), notice)
        .await
        .unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
    let n = decisions::add_document(&t.db, &files, &committee, id, "管理规约（修订稿）", pdf, notice)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Checked by content, not by name; only organisers add; owners read.
    assert!(matches!(
        decisions::add_document(
            &t.db,
            &files,
            &committee,
            id,
            "a.pdf",
            b"MZ\x90\x00 not a pdf",
            notice
        )
        .await,
        Err(DecisionError::Invalid(_))
    ));
    assert!(matches!(
        decisions::add_document(&t.db, &files, &zhang, id, "mine", pdf, notice).await,
        Err(DecisionError::Denied(_))
    ));
    let docs = decisions::documents(&t.db, id).await.unwrap();
    assert_eq!(
        docs.iter()
            .map(|d| (d.position, d.name.as_str(), d.content_type.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "管理规约（修订稿）", "application/pdf")]
    );
    let (file, _) = decisions::document(&t.db, &zhang, id, 1).await.unwrap().unwrap();
    assert_eq!(files.get(&file).await.unwrap().unwrap().bytes, pdf.to_vec());
    // Once voting opens the notice is fixed.
    decisions::open(&t.db, &committee, id, datetime!(2026-11-18 08:00 +8))
        .await
        .unwrap();
    assert!(matches!(
        decisions::add_document(
            &t.db,
            &files,
            &committee,
            id,
            "late",
            pdf,
            datetime!(2026-11-18 09:00 +8)
        )
        .await,
        Err(DecisionError::Refused(_))
    ));
});

storage_test!(a_vote_short_of_turnout_is_extended_within_the_city_limit, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let id = decisions::create(&t.db, &committee, &new_decision(xq1, &["covenant"]), notice)
        .await
        .unwrap();
    let days = wuye::settings::DecisionDays::default();
    assert_eq!(days.extension, 90, "the default: one city's three months");
    let opened = datetime!(2026-11-18 08:00 +8);
    assert!(
        matches!(
            decisions::extend(&t.db, &committee, id, date!(2026 - 12 - 20), &days, notice).await,
            Err(DecisionError::Refused(_))
        ),
        "not before voting opens"
    );
    decisions::open(&t.db, &committee, id, opened).await.unwrap();
    assert!(matches!(
        decisions::extend(&t.db, &zhang, id, date!(2026 - 12 - 20), &days, opened).await,
        Err(DecisionError::Denied(_))
    ));
    // First close 2026-11-30; 90 days past it is 2027-02-28.
    let far = decisions::extend(&t.db, &committee, id, date!(2027 - 03 - 01), &days, opened).await;
    assert!(
        matches!(&far, Err(DecisionError::Refused(m)) if m.contains("2027-02-28")),
        "{far:?}"
    );
    decisions::extend(&t.db, &committee, id, date!(2026 - 12 - 20), &days, opened)
        .await
        .unwrap();
    // A ballot after the first last day now counts; the limit still counts from the first one.
    let late = datetime!(2026-12-10 10:00 +8);
    decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], late)
        .await
        .unwrap();
    decisions::extend(&t.db, &committee, id, date!(2027 - 02 - 28), &days, late)
        .await
        .unwrap();
    assert!(matches!(
        decisions::extend(&t.db, &committee, id, date!(2027 - 03 - 01), &days, late).await,
        Err(DecisionError::Refused(_))
    ));
    assert_eq!(
        decisions::find(&t.db, &zhang, id).await.unwrap().voting_closes,
        date!(2027 - 02 - 28)
    );
    // A city that allows no extension.
    let none = wuye::settings::DecisionDays { extension: 0, ..days };
    assert!(
        decisions::extend(&t.db, &committee, id, date!(2027 - 03 - 01), &none, late)
            .await
            .is_err()
    );
    let admin = staff(t, "cityadmin", Role::CityAdmin, "370700").await;
    let too_long = wuye::settings::DecisionDays {
        extension: 400,
        ..days
    };
    assert!(
        wuye::settings::set_decision_days(&t.db, &admin, &too_long, late)
            .await
            .is_err()
    );
});

storage_test!(nothing_shows_the_split_before_the_close, |t| {
    use axum::body::Body;
    use axum::http::{Request, header};
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let second = staff(t, "committee1b", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let id = decisions::create(
        &t.db,
        &committee,
        &new_decision(xq1, &["select_or_dismiss_company"]),
        notice,
    )
    .await
    .unwrap();
    let opened = datetime!(2026-11-18 08:00 +8);
    decisions::open(&t.db, &committee, id, opened).await.unwrap();
    // Yes: 张三's two subjects (76.25 + 89.50 = 165.75); no: the developer (120.10), on paper.
    decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], opened)
        .await
        .unwrap();
    let dev_room = decisions::roll_rooms(&t.db, id)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, l)| l.ends_with("-601"))
        .unwrap()
        .0;
    decisions::enter_paper(
        &t.db,
        &committee,
        id,
        dev_room,
        &["no".into(), "no".into()],
        None,
        opened,
    )
    .await
    .unwrap();
    decisions::confirm_paper(&t.db, &second, id, "developer", opened)
        .await
        .unwrap();
    assert_eq!(
        decisions::turnout(&t.db, id).await.unwrap().voted_area,
        "285.85",
        "everyone voted: turnout alone tells nothing"
    );

    // Every GET route of the router, as every kind of caller, during the vote.
    let app = crate::http::app(t);
    let admin = staff(t, "admin", Role::CityAdmin, "370700").await;
    let now = OffsetDateTime::now_utc();
    let mut callers = vec![(String::new(), String::new())];
    for a in [&admin, &committee, &zhang] {
        let session = wuye::auth::start_session(&t.db, a.user_id.unwrap(), "", now)
            .await
            .unwrap();
        let token = wuye::auth::create_token(&t.db, &a.login, "split", &Actor::cli(), now)
            .await
            .unwrap();
        callers.push((session, token));
    }
    let mut checked = 0;
    for (method, template) in wuye::http::route_list() {
        if method != "GET" {
            continue;
        }
        let path = template
            .replace("{id}", &id.to_string())
            .replace("{kind}", "rooms")
            .replace("{code}", "370705")
            .replace("{position}", "1")
            .replace("{file}", "requests.json")
            .replace("{category}", "repair");
        for (session, token) in &callers {
            let mut req = Request::get(&path);
            if !session.is_empty() {
                req = if path.starts_with("/api/") {
                    req.header(header::AUTHORIZATION, format!("Bearer {token}"))
                } else {
                    req.header(header::COOKIE, format!("wuye_session={session}"))
                };
            }
            let r = crate::http::send(&app, req.body(Body::empty()).unwrap()).await;
            let body = r.text();
            for secret in ["165.75", "120.10"] {
                assert!(
                    !body.contains(secret),
                    "GET {path} shows {secret:?} before the close: {}",
                    &body.chars().take(400).collect::<String>()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "walked {checked} requests");
    // The decision page itself was among them, and shows the turnout.
    let session = wuye::auth::start_session(&t.db, committee.user_id.unwrap(), "", now)
        .await
        .unwrap();
    let page = crate::http::send(
        &app,
        Request::get(format!("/decisions/{id}"))
            .header(header::COOKIE, format!("wuye_session={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(page.text().contains("285.85"), "turnout is shown");
    // After the close, the result is there.
    decisions::close(
        &t.db,
        &committee,
        id,
        &Default::default(),
        datetime!(2026-11-30 20:00 +8),
    )
    .await
    .unwrap();
    let page = crate::http::send(
        &app,
        Request::get(format!("/decisions/{id}"))
            .header(header::COOKIE, format!("wuye_session={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        page.text().contains("165.75"),
        "the split is published at the close"
    );
});

storage_test!(decision_durations_are_city_settings, |t| {
    seed(&t.db).await;
    let now = OffsetDateTime::now_utc();
    let street = staff(t, "street", Role::StreetOfficer, "370705001").await;
    let d = wuye::settings::DecisionDays {
        roll_check: 10,
        objection: 5,
        result_shown: 60,
        extension: 30,
    };
    assert!(matches!(
        wuye::settings::set_decision_days(&t.db, &street, &d, now).await,
        Err(wuye::settings::SettingsError::Denied(_))
    ));
    let bad = wuye::settings::DecisionDays { objection: 0, ..d };
    assert!(matches!(
        wuye::settings::set_decision_days(&t.db, &Actor::cli(), &bad, now).await,
        Err(wuye::settings::SettingsError::Invalid(_))
    ));
    assert_eq!(
        wuye::settings::Settings::load(&t.db).await.unwrap().decision_days,
        wuye::settings::DecisionDays::default()
    );
    wuye::settings::set_decision_days(&t.db, &Actor::cli(), &d, now)
        .await
        .unwrap();
    assert_eq!(
        wuye::settings::Settings::load(&t.db).await.unwrap().decision_days,
        d
    );
});

storage_test!(
    assessment_and_inspection_settings_on_the_api_and_the_settings_page,
    |t| {
        use crate::http::{app, assert_error, get, get_as, json_as, send};
        use axum::body::Body;
        use axum::http::{Request, StatusCode, header};
        use serde_json::json;
        use wuye::settings::{AssessmentSettings, Settings};
        seed(&t.db).await;
        let app = app(t);
        let now = OffsetDateTime::now_utc();
        let admin = token_for(t, "cityadmin", Role::CityAdmin, "370700").await;
        let district = token_for(t, "district", Role::DistrictOfficer, "370705").await;
        let street = token_for(t, "street", Role::StreetOfficer, "370705001").await;
        let stored = || async { Settings::load(&t.db).await.unwrap().assessment };
        let defaults = AssessmentSettings::default();
        assert_eq!((defaults.notice_days, defaults.escalate_days), (15, 5));

        // Reading: city administrators and district officers; a street officer is refused.
        let r = get_as(&app, "/api/v1/settings/assessment", &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(
            serde_json::from_value::<AssessmentSettings>(r.json()).unwrap(),
            defaults
        );
        let r = get_as(&app, "/api/v1/settings/assessment", &district).await;
        assert_eq!(r.json()["notice_days"], 15);
        assert_error(
            &get_as(&app, "/api/v1/settings/assessment", &street).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(
            get(&app, "/api/v1/settings/assessment").await.status,
            StatusCode::UNAUTHORIZED
        );

        // Writing: city administrators only; a refused write changes nothing.
        let changed = AssessmentSettings {
            bottom_n: 3,
            bottom_scope_street: true,
            bottom_min_tenure_percent: 40,
            settle_days: 12,
            rating_grace_days: 6,
            notice_days: 20,
            escalate_days: 3,
        };
        let body = serde_json::to_value(changed).unwrap();
        let put = |token: &str, body: serde_json::Value| {
            let app = app.clone();
            let token = token.to_owned();
            async move { json_as(&app, "PUT", "/api/v1/settings/assessment", &token, body).await }
        };
        assert_error(
            &put(&district, body.clone()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &put(&street, body.clone()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_eq!(stored().await, defaults);

        // Out of range: a bilingual 400 naming the value, and nothing stored.
        for (field, bad, en, zh) in [
            ("notice_days", 61, "1 to 60", "整改期限"),
            ("notice_days", 0, "1 to 60", "整改期限"),
            ("escalate_days", 31, "1 to 30", "督办"),
            ("escalate_days", 0, "1 to 30", "督办"),
            ("bottom_n", 51, "0 to 50", "末位数"),
        ] {
            let mut b = body.clone();
            b[field] = json!(bad);
            let v = assert_error(
                &put(&admin, b).await,
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
            );
            let (m, m_zh) = (
                v["error"]["message"].as_str().unwrap(),
                v["error"]["message_zh"].as_str().unwrap(),
            );
            assert!(m.contains(en) && m.contains(&format!("not {bad}")), "{v}");
            assert!(m_zh.contains(zh) && !m_zh.contains(" / "), "{v}");
            assert!(!m.contains(zh), "the English message is English: {v}");
            assert_eq!(stored().await, defaults, "{field} = {bad} stored nothing");
        }

        // The round trip: the answer, a fresh read and the database agree.
        let r = put(&admin, body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json(), body);
        assert_eq!(
            get_as(&app, "/api/v1/settings/assessment", &district)
                .await
                .json(),
            body
        );
        assert_eq!(stored().await, changed);
        // Every field is required: a body without the inspection fields is refused and
        // changes nothing (it would otherwise reset a city's own values).
        let mut partial = body.clone();
        partial.as_object_mut().unwrap().remove("notice_days");
        partial.as_object_mut().unwrap().remove("escalate_days");
        let r = put(&admin, partial).await;
        assert!(r.status.is_client_error(), "{} {}", r.status, r.text());
        assert_eq!(stored().await, changed);
        let mut b = body.clone();
        b["notice_days"] = json!(21);
        b["escalate_days"] = json!(4);
        assert_eq!(put(&admin, b).await.status, StatusCode::OK);

        // The /settings page shows the form with the stored values and saves it.
        let actor = match wuye::auth::login(&t.db, "cityadmin", PASSWORD, "", now)
            .await
            .unwrap()
        {
            wuye::auth::Login::Ok { actor, .. } => actor,
            other => panic!("{other:?}"),
        };
        let session = wuye::auth::start_session(&t.db, actor.user_id.unwrap(), "", now)
            .await
            .unwrap();
        let csrf = wuye::auth::session_actor(&t.db, &session, "", now)
            .await
            .unwrap()
            .unwrap()
            .csrf
            .unwrap();
        let page = |lang: &'static str| {
            let app = app.clone();
            let session = session.clone();
            async move {
                send(
                    &app,
                    Request::get(format!("/settings?lang={lang}"))
                        .header(header::COOKIE, format!("wuye_session={session}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
            }
        };
        let html = page("zh").await.text();
        assert!(html.contains("考核与督查"), "{html}");
        assert!(html.contains(r#"action="/settings/assessment""#));
        for (name, value) in [
            ("bottom_n", 3),
            ("bottom_min_tenure_percent", 40),
            ("settle_days", 12),
            ("rating_grace_days", 6),
            ("notice_days", 21),
            ("escalate_days", 4),
        ] {
            let input = html
                .split("<input")
                .find(|i| i.contains(&format!(r#"name="{name}""#)))
                .unwrap_or_else(|| panic!("no input {name}"));
            assert!(input.contains(&format!(r#"value="{value}""#)), "{name}: {input}");
        }
        assert!(
            html.contains(r#"<option value="street" selected>"#),
            "the street pool is chosen"
        );
        assert!(page("en").await.text().contains("Assessment and inspections"));
        let post = |form: String| {
            let app = app.clone();
            let session = session.clone();
            async move {
                send(
                    &app,
                    Request::post("/settings/assessment")
                        .header(header::COOKIE, format!("wuye_session={session}"))
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(form))
                        .unwrap(),
                )
                .await
            }
        };
        let form = |escalate: u32| {
            format!(
                "csrf={csrf}&bottom_n=4&bottom_scope=district&bottom_min_tenure_percent=60&settle_days=10&rating_grace_days=5&notice_days=30&escalate_days={escalate}"
            )
        };
        let before = stored().await;
        let r = post(form(31)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(
            r.text().contains("逐级督办间隔工作日"),
            "the error is shown: {}",
            r.text()
        );
        assert_eq!(stored().await, before, "nothing stored");
        let r = post(form(7)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(r.headers[header::LOCATION], "/settings");
        let after = AssessmentSettings {
            bottom_n: 4,
            bottom_scope_street: false,
            bottom_min_tenure_percent: 60,
            settle_days: 10,
            rating_grace_days: 5,
            notice_days: 30,
            escalate_days: 7,
        };
        assert_eq!(stored().await, after);
        assert_eq!(
            serde_json::from_value::<AssessmentSettings>(
                get_as(&app, "/api/v1/settings/assessment", &admin).await.json()
            )
            .unwrap(),
            after,
            "the page's write is the API's read at once"
        );
        assert!(
            page("zh")
                .await
                .text()
                .contains(r#"<option value="district" selected>"#)
        );
    }
);

storage_test!(owners_object_to_the_roll_during_its_public_check, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let id = decisions::create(&t.db, &committee, &new_decision(xq1, &["covenant"]), notice)
        .await
        .unwrap();
    let days = wuye::settings::DecisionDays::default();
    let preview = decisions::roll_preview(&t.db, id).await.unwrap();
    assert_eq!(preview.len(), 4);
    assert!(
        preview
            .iter()
            .any(|(r, a, who)| r.ends_with("-102") && a == "76.25" && who == "1")
    );
    assert!(
        !format!("{preview:?}").contains("张三"),
        "no names on the public roll"
    );
    assert!(matches!(
        decisions::object(&t.db, &committee, id, "x", &days, notice).await,
        Err(DecisionError::Denied(_))
    ));
    assert!(matches!(
        decisions::object(&t.db, &zhang, id, " ", &days, notice).await,
        Err(DecisionError::Invalid(_))
    ));
    decisions::object(
        &t.db,
        &zhang,
        id,
        "1号楼1单元102 面积应为 78.10",
        &days,
        notice + time::Duration::days(3),
    )
    .await
    .unwrap();
    assert!(matches!(
        decisions::object(
            &t.db,
            &zhang,
            id,
            "太晚了",
            &days,
            notice + time::Duration::days(8)
        )
        .await,
        Err(DecisionError::Refused(_))
    ));
    let objections = decisions::objections(&t.db, id).await.unwrap();
    assert_eq!(objections.len(), 1);
    assert_eq!(objections[0].1, "138****8000");
    assert!(objections[0].2.contains("78.10"));
});

/// A covenant vote of XQ1 opened on 2026-11-18, and its two verified owners.
struct OpenVote {
    id: i64,
    committee: Actor,
    zhang: Actor,
    li: Actor,
    opened: OffsetDateTime,
}

async fn open_vote(t: &TestDb) -> OpenVote {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = staff(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let li = verified_owner(t, "13800138001", "370705199102021235", notice).await;
    let id = decisions::create(&t.db, &committee, &new_decision(xq1, &["covenant"]), notice)
        .await
        .unwrap();
    let opened = datetime!(2026-11-18 08:00 +8);
    decisions::open(&t.db, &committee, id, opened).await.unwrap();
    OpenVote {
        id,
        committee,
        zhang,
        li,
        opened,
    }
}

storage_test!(a_ballot_that_waited_behind_a_later_one_is_recorded, |t| {
    // Two requests: 李四's arrives first but waits for its place while 张三's, a moment later,
    // is logged. Her ballot is logged at his time (the log's times never go back), not
    // refused for having waited (one request in tens of thousands was, under load).
    let OpenVote {
        id,
        zhang,
        li,
        opened,
        ..
    } = open_vote(t).await;
    let later = opened + time::Duration::seconds(5);
    decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], later)
        .await
        .unwrap();
    let receipt = decisions::cast(&t.db, &li, id, &["no".into(), "yes".into()], opened)
        .await
        .unwrap();
    assert_eq!(receipt.len(), 1);
    decisions::cast(&t.db, &li, id, &["yes".into(), "no".into()], opened)
        .await
        .unwrap();
});

storage_test!(no_ballot_is_recorded_that_the_close_did_not_count, |t| {
    // Two owners change their ballots as fast as they can while the committee closes the
    // vote. Every ballot that got a receipt must be in the tallied log: the published head is
    // the head of the stored log, and each receipt is in the export. Before the fix a ballot
    // written between the close's read and its update was stored, receipted and not counted;
    // and a close that merely checked for such ballots never got through while they flowed.
    let OpenVote {
        id,
        committee,
        zhang,
        li,
        opened,
    } = open_vote(t).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let caster = |who: Actor| {
        let (db, stop) = (t.db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut receipts = Vec::new();
            let mut k = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let choice = if k.is_multiple_of(2) { "yes" } else { "no" };
                k += 1;
                match decisions::cast(&db, &who, id, &[choice.into(), "yes".into()], opened).await {
                    Ok(r) => receipts.extend(r.into_iter().map(|(_, h)| h.to_string())),
                    Err(DecisionError::Refused(_)) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            receipts
        })
    };
    let (a, b) = (caster(zhang.clone()), caster(li.clone()));
    // Let ballots flow, then close while they still do: the close stops them first, so it
    // goes through at once, however fast they come.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let result = decisions::close(
        &t.db,
        &committee,
        id,
        &Default::default(),
        opened + time::Duration::hours(1),
    )
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let receipts: Vec<String> = [a.await.unwrap(), b.await.unwrap()].concat();
    assert!(receipts.len() > 2, "the owners voted while the vote was open");
    let export = decisions::export(&t.db, &committee, id).await.unwrap();
    let report = wuye_model::verify(&export).unwrap();
    assert_eq!(
        report.head.to_string(),
        result.head_hash,
        "the stored log is the tallied log"
    );
    for r in &receipts {
        assert!(export.contains(r.as_str()), "receipt {r} is in the counted log");
    }
    // After the close nothing more is taken.
    assert!(matches!(
        decisions::cast(&t.db, &zhang, id, &["no".into(), "no".into()], opened).await,
        Err(DecisionError::Refused(_))
    ));
});

storage_test!(a_close_refuses_a_stored_log_altered_behind_its_back, |t| {
    // The close re-plays the log from the database and recomputes every stored hash: a ballot
    // or an area changed in the tables is found, named, and nothing is decided; voting goes on.
    let OpenVote {
        id,
        committee,
        zhang,
        li,
        opened,
    } = open_vote(t).await;
    decisions::cast(&t.db, &zhang, id, &["yes".into(), "yes".into()], opened)
        .await
        .unwrap();
    decisions::cast(&t.db, &li, id, &["no".into(), "yes".into()], opened)
        .await
        .unwrap();
    let db = &t.db;
    let (first,): (i64,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT min(seq) FROM ballot_events WHERE decision_id = $1")
        .bind(id).fetch_one(pool).await).unwrap();
    let (answers,): (String,) = wuye::db_read!(db, pool => sqlx::query_as("SELECT answers FROM ballot_events WHERE decision_id = $1 AND seq = $2")
        .bind(id).bind(first).fetch_one(pool).await).unwrap();
    let set_answers = |a: String| async move {
        wuye::db_run!(db, pool => sqlx::query("UPDATE ballot_events SET answers = $3 WHERE decision_id = $1 AND seq = $2")
            .bind(id).bind(first).bind(a).execute(pool).await.map(|_| ())).unwrap();
    };
    let flipped = if answers.starts_with('y') { "nn" } else { "yy" };
    set_answers(flipped.to_owned()).await;
    let later = opened + time::Duration::hours(1);
    let close = decisions::close(&t.db, &committee, id, &Default::default(), later).await;
    assert!(
        matches!(&close, Err(DecisionError::Invalid(m)) if m.contains(&format!("broken at event {first}"))),
        "{close:?}"
    );
    let d = decisions::find(&t.db, &committee, id).await.unwrap();
    assert_eq!(
        (d.state.as_str(), d.closed_at),
        ("voting", None),
        "nothing was decided"
    );
    // An area changed on the frozen roll breaks the chain where the ballots hang from it.
    set_answers(answers).await;
    wuye::db_run!(db, pool => sqlx::query("UPDATE roll_subjects SET area = area + 1 WHERE decision_id = $1 AND subject_key = (SELECT min(subject_key) FROM roll_subjects WHERE decision_id = $1)")
        .bind(id).execute(pool).await.map(|_| ())).unwrap();
    let close = decisions::close(&t.db, &committee, id, &Default::default(), later).await;
    assert!(
        matches!(&close, Err(DecisionError::Invalid(m)) if m.contains(&format!("broken at event {first}"))),
        "{close:?}"
    );
    wuye::db_run!(db, pool => sqlx::query("UPDATE roll_subjects SET area = area - 1 WHERE decision_id = $1 AND subject_key = (SELECT min(subject_key) FROM roll_subjects WHERE decision_id = $1)")
        .bind(id).execute(pool).await.map(|_| ())).unwrap();
    // Put right, the log closes.
    let r = decisions::close(&t.db, &committee, id, &Default::default(), later)
        .await
        .unwrap();
    assert_eq!(
        decisions::find(&t.db, &committee, id).await.unwrap().state,
        "closed"
    );
    assert_eq!(r.head_hash.len(), 64);
});
