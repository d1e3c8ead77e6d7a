//! The auditors' commands, run as the real binary: `wuye tally` from two CSV files and
//! `wuye verify` on a decision's public export.

use std::process::Command;

use time::macros::datetime;
use wuye_model::Role;

use crate::decisions::{new_decision, verified_owner, xq1};
use crate::storage_test;
use crate::support::seed;

fn wuye(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wuye"))
        .args(args)
        .output()
        .expect("run wuye");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tally_reads_two_csv_files_and_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rooms = dir.path().join("rooms.csv");
    let ballots = dir.path().join("ballots.csv");
    // DOMAIN.md E8 in small: owner X holds three rooms, four other owners one each; the
    // developer's unsold room counts once in heads.
    std::fs::write(
        &rooms,
        "room_id,exclusive_area,owner_ids\nr1,80,X\nr2,80,X\nr3,80,X\nr4,80,a\nr5,80,b\nr6,80,c\nr7,80.50,d;e\nr8,100,developer\n",
    )
    .unwrap();
    std::fs::write(
        &ballots,
        "voter_id,choice\nX,yes\na,no\nb,no\nc,abstain\nd,no\ndeveloper,yes\n",
    )
    .unwrap();
    let (code, out, err) = wuye(&[
        "tally",
        "--rooms",
        rooms.to_str().unwrap(),
        "--ballots",
        ballots.to_str().unwrap(),
        "--kind",
        "ordinary",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Heads: X, a, b, c, {d;e}, developer = 6, all took part; yes X + developer = 2 of 6.
    assert_eq!(
        (
            v["total_heads"].as_u64(),
            v["participating_heads"].as_u64(),
            v["yes_heads"].as_u64()
        ),
        (Some(6), Some(6), Some(2))
    );
    assert_eq!(
        (v["total_area"].as_str(), v["yes_area"].as_str()),
        (Some("660.50"), Some("340.00"))
    );
    assert_eq!(v["outcome"], "rejected");
    assert_eq!(v["quorum_met"], true);
    assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));

    // Two ballots for one subject (d and e co-own r7): bad input, both lines named, exit 2.
    std::fs::write(&ballots, "voter_id,choice\nd,yes\nX,no\ne,no\n").unwrap();
    let (code, _, err) = wuye(&[
        "tally",
        "--rooms",
        rooms.to_str().unwrap(),
        "--ballots",
        ballots.to_str().unwrap(),
        "--kind",
        "special",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains('2') && err.contains('4'), "both lines: {err}");
    std::fs::write(&ballots, "voter_id,choice\nnobody,yes\n").unwrap();
    let (code, _, err) = wuye(&[
        "tally",
        "--rooms",
        rooms.to_str().unwrap(),
        "--ballots",
        ballots.to_str().unwrap(),
        "--kind",
        "ordinary",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = wuye(&[
        "tally",
        "--rooms",
        rooms.to_str().unwrap(),
        "--ballots",
        ballots.to_str().unwrap(),
        "--kind",
        "weird",
    ]);
    assert_eq!(code, 2);
}

storage_test!(verify_checks_an_export_and_finds_a_receipt, |t| {
    seed(&t.db).await;
    let notice = datetime!(2026-11-02 09:00 +8);
    let xq1 = xq1(t).await;
    let committee = crate::http::token_for(t, "committee1", Role::CommitteeMember, "XQ1").await;
    let _ = committee;
    let committee = match wuye::auth::login(
        &t.db,
        "committee1",
        crate::http::PASSWORD,
        "",
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    {
        wuye::auth::Login::Ok { actor, .. } => actor,
        other => panic!("{other:?}"),
    };
    let zhang = verified_owner(t, "13800138000", "370705199001011234", notice).await;
    let id = wuye::decisions::create(&t.db, &committee, &new_decision(xq1, &["covenant"]), notice)
        .await
        .unwrap();
    let opened = datetime!(2026-11-18 08:00 +8);
    wuye::decisions::open(&t.db, &committee, id, opened)
        .await
        .unwrap();
    let receipts = wuye::decisions::cast(&t.db, &zhang, id, &["yes".into(), "no".into()], opened)
        .await
        .unwrap();
    wuye::decisions::close(
        &t.db,
        &committee,
        id,
        &Default::default(),
        datetime!(2026-11-30 20:00 +8),
    )
    .await
    .unwrap();
    let export = wuye::decisions::export(&t.db, &zhang, id).await.unwrap();
    let path = t.dir.path().join("export.txt");
    std::fs::write(&path, &export).unwrap();
    let receipt = receipts[0].1.to_string();
    let (code, out, err) = wuye(&["verify", path.to_str().unwrap(), "--receipt", &receipt]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("OK") && out.contains("receipt found at line"),
        "{out}"
    );
    // One changed byte: the verifier fails and names the line.
    let mut bytes = export.into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&path, &bytes).unwrap();
    let (code, out, _) = wuye(&["verify", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED: line "), "{out}");
});

/// `wuye assess` as the real binary on a SQLite data dir: a bad period is exit 2 naming the
/// forms; a past month closes; running it again checks it and writes nothing (exit 0).
#[test]
fn assess_runs_closes_and_checks_a_period() {
    let dir = std::env::temp_dir().join(format!("wuye-assess-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let (code, _, err) = wuye(&["--data-dir", d, "assess", "--period", "2026-13"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("2026-W47") && err.contains("2026-Q4"), "{err}");
    let (code, out, err) = wuye(&["--data-dir", d, "demo", "--scale", "tiny"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = wuye(&["--data-dir", d, "assess", "--period", "2025-06", "--close"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "final");
    assert!(v["projects"].as_i64().unwrap() > 0, "{v}");
    let (code, out, err) = wuye(&["--data-dir", d, "assess", "--period", "2025-06"]);
    assert_eq!(code, 0, "{out}{err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (again["identical"].as_bool(), &again["run_id"]),
        (Some(true), &v["run_id"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}
