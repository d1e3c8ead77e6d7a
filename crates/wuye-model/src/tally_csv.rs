//! The offline tally for auditors, behind `wuye tally --rooms rooms.csv --ballots ballots.csv
//! --kind ordinary|special` (issue #5).
//!
//! * **rooms CSV** — header `room_id,exclusive_area,owner_ids` (columns in any order, names
//!   case-insensitive; a UTF-8 BOM is ignored). `exclusive_area` in m² with at most two decimals;
//!   `owner_ids` the title-holders' ids separated by `;`, or the word `developer` for a room the
//!   developer has not sold or not delivered. Rooms are grouped into voting subjects by the exact
//!   set of their holders (DOMAIN.md R1.6, see [`crate::SubjectKey`]); every room counts (there
//!   is no parking column: leave out parking spaces that the rules do not count).
//! * **ballots CSV** — header `voter_id,choice`; `choice` is `yes`, `no` or `abstain` (or 同意 /
//!   反对 / 弃权); an empty choice is an error (enter a blank paper ballot as `abstain`, R1.5). A voter's ballot counts for every voting subject they hold a title in; the
//!   developer votes as voter id `developer`. Two ballots reaching one subject (e.g. both
//!   spouses) are an error naming both lines.
//!
//! Values are trimmed; blank lines are skipped. Line numbers in errors are 1-based lines of the
//! file (the header is line 1).

use std::fmt;
use std::io::Read;

use serde::Serialize;

use crate::decimal::{Area, DecimalError};
use crate::decision::{
    CastError, Choice, HolderIdError, Roll, RollBuilder, RollError, RollSettings, RuleVersion, SubjectKey,
    Tally, ThresholdClass, TitleRef, tally,
};

/// Which input file an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvFile {
    Rooms,
    Ballots,
}

impl fmt::Display for CsvFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rooms => "rooms CSV",
            Self::Ballots => "ballots CSV",
        })
    }
}

const ROOMS_HEADER: [&str; 3] = ["room_id", "exclusive_area", "owner_ids"];
const BALLOTS_HEADER: [&str; 2] = ["voter_id", "choice"];

/// Why the input files could not be tallied. Every variant names the file and line(s).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TallyInputError {
    #[error("{file}: cannot read: {message} / 无法读取")]
    Io { file: CsvFile, message: String },
    #[error("{file} line {line}: {message} / CSV 格式错误")]
    Csv {
        file: CsvFile,
        line: u64,
        message: String,
    },
    #[error("{file} line 1: missing header, expected `{expected}`, found `{found}` / 缺少表头")]
    MissingHeader {
        file: CsvFile,
        expected: &'static str,
        found: String,
    },
    #[error("{file} line {line}: not UTF-8 / 不是 UTF-8 编码")]
    NotUtf8 { file: CsvFile, line: u64 },
    #[error("{file} line {line}: {found} fields, expected {expected} / 列数不对")]
    FieldCount {
        file: CsvFile,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("rooms CSV line {line}: empty room id / 房屋编号为空")]
    EmptyRoomId { line: u64 },
    #[error("rooms CSV line {line}: room {room:?} is already listed on line {first_line} / 房屋重复")]
    DuplicateRoom {
        room: String,
        first_line: u64,
        line: u64,
    },
    #[error("rooms CSV line {line}: bad exclusive area {value:?}: {error} / 专有部分面积无效")]
    BadArea {
        line: u64,
        value: String,
        error: DecimalError,
    },
    #[error("rooms CSV line {line}: bad owner ids {value:?}: {error} / 业主编号无效")]
    BadOwners {
        line: u64,
        value: String,
        error: HolderIdError,
    },
    #[error("rooms CSV line {line}: total area too large / 面积合计溢出")]
    AreaOverflow { line: u64 },
    #[error("rooms CSV: too many rooms / 房屋数量过多")]
    TooManyRooms,
    #[error("rooms CSV: no rooms / 没有房屋")]
    NoRooms,
    #[error("ballots CSV line {line}: bad choice {value:?}, expected yes, no or abstain / 表决意见无效")]
    BadChoice { line: u64, value: String },
    #[error("ballots CSV line {line}: voter {voter:?} holds no room on the roll / 投票人不在表决名册中")]
    UnknownVoter { line: u64, voter: String },
    #[error(
        "ballots CSV lines {first_line} and {second_line}: two ballots for voting subject {subject} / \
         同一表决主体有两张选票"
    )]
    DuplicateBallot {
        subject: String,
        first_line: u64,
        second_line: u64,
    },
}

/// The JSON the `wuye tally` command prints: the [`Tally`] fields (`outcome` = `passed` /
/// `rejected` / `quorum_not_met`, `quorum_met`, `total_area`, `total_heads`,
/// `participating_area`, …, `abstain_heads`, `reason`, `reason_en`, areas as decimal strings)
/// plus input counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TallyReport {
    #[serde(flatten)]
    pub tally: Tally,
    /// Data lines of the rooms file.
    pub rooms: u64,
    /// Voting subjects formed from them (`total_heads`).
    pub subjects: u64,
    /// Ballot lines accepted.
    pub ballots: u64,
}

/// Tallies under the Civil Code (the offline audit of a current decision).
pub fn tally_files(
    rooms: impl Read,
    ballots: impl Read,
    class: ThresholdClass,
) -> Result<TallyReport, TallyInputError> {
    tally_files_under(rooms, ballots, class, RuleVersion::CivilCode)
}

/// Tallies under the given rule version (R1.11).
pub fn tally_files_under(
    rooms: impl Read,
    ballots: impl Read,
    class: ThresholdClass,
    rule: RuleVersion,
) -> Result<TallyReport, TallyInputError> {
    let rooms = slurp(rooms, CsvFile::Rooms)?;
    let ballots = slurp(ballots, CsvFile::Ballots)?;
    // The ballots file is parsed on a second thread while the roll is built; ballots are cast
    // once both are done, so errors are reported as a single pass would (the rooms first).
    let (roll, parsed) = std::thread::scope(|s| {
        let parsed = s.spawn(|| parse_ballots(&ballots));
        (rooms_from(&rooms), parsed.join())
    });
    let roll = roll?;
    let parsed = parsed.map_err(|_| TallyInputError::Io {
        file: CsvFile::Ballots,
        message: "the ballots could not be read".into(),
    })??;
    let (choices, ballots) = cast_ballots(parsed, &roll)?;
    let tally = tally(&roll, &choices, class, rule).map_err(|_| TallyInputError::NoRooms)?;
    Ok(TallyReport {
        tally,
        rooms: roll.room_count() as u64,
        subjects: roll.total_heads(),
        ballots,
    })
}

fn slurp(mut r: impl Read, file: CsvFile) -> Result<Vec<u8>, TallyInputError> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf).map_err(|e| TallyInputError::Io {
        file,
        message: e.to_string(),
    })?;
    Ok(buf)
}

fn reader(buf: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(buf)
}

fn csv_error(file: CsvFile, e: &csv::Error) -> TallyInputError {
    TallyInputError::Csv {
        file,
        line: e.position().map_or(0, csv::Position::line),
        message: e.to_string(),
    }
}

/// Reads the header and returns the column of each expected name.
fn columns<const N: usize>(
    rdr: &mut csv::Reader<&[u8]>,
    rec: &mut csv::ByteRecord,
    file: CsvFile,
    expected: [&str; N],
    expected_text: &'static str,
) -> Result<[usize; N], TallyInputError> {
    let found: Vec<String> = if rdr.read_byte_record(rec).map_err(|e| csv_error(file, &e))? {
        rec.iter()
            .map(|f| {
                String::from_utf8_lossy(f)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_owned()
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut cols = [0; N];
    for (c, name) in cols.iter_mut().zip(expected) {
        *c = found
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
            .ok_or_else(|| TallyInputError::MissingHeader {
                file,
                expected: expected_text,
                found: found.join(","),
            })?;
    }
    Ok(cols)
}

fn field(rec: &csv::ByteRecord, col: usize, file: CsvFile, line: u64) -> Result<&str, TallyInputError> {
    let b = rec.get(col).unwrap_or_default();
    std::str::from_utf8(b)
        .map(str::trim)
        .map_err(|_| TallyInputError::NotUtf8 { file, line })
}

fn check_width(rec: &csv::ByteRecord, width: usize, file: CsvFile, line: u64) -> Result<(), TallyInputError> {
    if rec.len() == width {
        Ok(())
    } else {
        Err(TallyInputError::FieldCount {
            file,
            line,
            expected: width,
            found: rec.len(),
        })
    }
}

/// Rows read and processed together (see [`RollBuilder::warm`], [`crate::BallotBox::cast_batch`]).
const BATCH: usize = 32;

/// Reads up to [`BATCH`] records; returns how many.
fn read_batch(
    rdr: &mut csv::Reader<&[u8]>,
    recs: &mut [csv::ByteRecord],
    file: CsvFile,
) -> Result<usize, TallyInputError> {
    let mut n = 0;
    for r in recs.iter_mut() {
        if !rdr.read_byte_record(r).map_err(|e| csv_error(file, &e))? {
            break;
        }
        n += 1;
    }
    Ok(n)
}

/// Builds the roll from a rooms CSV (see the module documentation).
pub fn read_rooms(input: impl Read) -> Result<Roll, TallyInputError> {
    rooms_from(&slurp(input, CsvFile::Rooms)?)
}

fn rooms_from(buf: &[u8]) -> Result<Roll, TallyInputError> {
    const F: CsvFile = CsvFile::Rooms;
    let estimate = memchr_count(buf);
    let mut rdr = reader(buf);
    let mut recs: Vec<csv::ByteRecord> = (0..BATCH).map(|_| csv::ByteRecord::new()).collect();
    let (cols, width) = match recs.first_mut() {
        Some(rec) => (
            columns(&mut rdr, rec, F, ROOMS_HEADER, "room_id,exclusive_area,owner_ids")?,
            rec.len(),
        ),
        None => return Err(TallyInputError::NoRooms),
    };
    let [c_id, c_area, c_owners] = cols;
    let mut b = RollBuilder::with_capacity(RollSettings { parking_counts: true }, estimate);
    let mut lines: Vec<u64> = Vec::with_capacity(estimate);
    loop {
        let n = read_batch(&mut rdr, &mut recs, F)?;
        let batch = recs.get(..n).unwrap_or(&[]);
        // Warm the table slots of the batch's keys (single owners and the developer).
        let mut sink = 0;
        for rec in batch {
            let owners = rec
                .get(c_owners)
                .and_then(|f| std::str::from_utf8(f).ok())
                .map(str::trim);
            if let Some(o) = owners.filter(|o| !o.contains(';')) {
                sink ^= b.warm(if o.eq_ignore_ascii_case(SubjectKey::DEVELOPER) {
                    SubjectKey::DEVELOPER
                } else {
                    o
                });
            }
        }
        std::hint::black_box(sink);
        for rec in batch {
            let line = rec.position().map_or(0, csv::Position::line);
            check_width(rec, width, F, line)?;
            let id = field(rec, c_id, F, line)?;
            let area_text = field(rec, c_area, F, line)?;
            let owners = field(rec, c_owners, F, line)?;
            let area = Area::parse(area_text).map_err(|error| TallyInputError::BadArea {
                line,
                value: area_text.to_owned(),
                error,
            })?;
            let one;
            let multi: Vec<&str>; // only co-owned rooms allocate
            let title = if owners.eq_ignore_ascii_case(SubjectKey::DEVELOPER) {
                TitleRef::Developer
            } else if owners.contains(';') {
                multi = owners.split(';').map(str::trim).collect();
                TitleRef::Owners(&multi)
            } else {
                one = [owners];
                TitleRef::Owners(&one)
            };
            b.add_room(id, area, false, title).map_err(|e| match e {
                RollError::BadHolder { error, .. } => TallyInputError::BadOwners {
                    line,
                    value: owners.to_owned(),
                    error,
                },
                other => roll_error(other, &lines, line),
            })?;
            lines.push(line);
        }
        if n < BATCH {
            break;
        }
    }
    if b.rooms() == 0 {
        return Err(TallyInputError::NoRooms);
    }
    b.finish().map_err(|e| roll_error(e, &lines, 0))
}

fn roll_error(e: RollError, lines: &[u64], line: u64) -> TallyInputError {
    let line_of = |room: usize| lines.get(room).copied().unwrap_or(line);
    match e {
        RollError::EmptyRoomId { .. } => TallyInputError::EmptyRoomId { line },
        RollError::DuplicateRoom { room, first, second } => TallyInputError::DuplicateRoom {
            room,
            first_line: line_of(first),
            line: line_of(second),
        },
        RollError::BadHolder { error, .. } => TallyInputError::BadOwners {
            line,
            value: String::new(),
            error,
        },
        RollError::NegativeArea { .. } => TallyInputError::BadArea {
            line,
            value: String::new(),
            error: DecimalError::Negative(String::new()),
        },
        RollError::AreaOverflow => TallyInputError::AreaOverflow { line },
        RollError::TooManyRooms => TallyInputError::TooManyRooms,
    }
}

/// Reads a ballots CSV against `roll`: the choice per subject and the number of ballots.
pub fn read_ballots(input: impl Read, roll: &Roll) -> Result<(Vec<Option<Choice>>, u64), TallyInputError> {
    cast_ballots(parse_ballots(&slurp(input, CsvFile::Ballots)?)?, roll)
}

/// A ballots file parsed before any ballot is cast: its lines in order up to the first bad
/// one, and that line's error. `None`: the file is empty.
type ParsedBallots = Option<(Vec<(String, Choice, u64)>, Option<TallyInputError>)>;

fn parse_ballots(buf: &[u8]) -> Result<ParsedBallots, TallyInputError> {
    const F: CsvFile = CsvFile::Ballots;
    let mut rdr = reader(buf);
    let mut recs: Vec<csv::ByteRecord> = (0..BATCH).map(|_| csv::ByteRecord::new()).collect();
    let (cols, width) = match recs.first_mut() {
        Some(rec) => (
            columns(&mut rdr, rec, F, BALLOTS_HEADER, "voter_id,choice")?,
            rec.len(),
        ),
        None => return Ok(None),
    };
    let [c_voter, c_choice] = cols;
    let mut items: Vec<(String, Choice, u64)> = Vec::with_capacity(memchr_count(buf));
    loop {
        let n = match read_batch(&mut rdr, &mut recs, F) {
            Ok(n) => n,
            Err(e) => return Ok(Some((items, Some(e)))),
        };
        for rec in recs.get(..n).unwrap_or(&[]) {
            let line = rec.position().map_or(0, csv::Position::line);
            let parsed = check_width(rec, width, F, line).and_then(|()| {
                let voter = field(rec, c_voter, F, line)?;
                let text = field(rec, c_choice, F, line)?;
                let choice = Choice::parse(text).map_err(|_| TallyInputError::BadChoice {
                    line,
                    value: text.to_owned(),
                })?;
                Ok((voter.to_owned(), choice, line))
            });
            match parsed {
                Ok(item) => items.push(item),
                // A bad line ends the file: the ballots before it are still cast first, so
                // that an earlier duplicate is reported before it.
                Err(e) => return Ok(Some((items, Some(e)))),
            }
        }
        if n < BATCH {
            return Ok(Some((items, None)));
        }
    }
}

/// From this many ballots on, the two halves of a clean file are cast at once.
const PARALLEL_CAST: usize = 100_000;

/// Casts `items` in order into a new box; `None` at the first refusal.
fn cast_all<'r>(roll: &'r Roll, items: &[(String, Choice, u64)]) -> Option<crate::BallotBox<'r>> {
    let mut bbox = roll.ballot_box();
    let mut batch: Vec<(&str, Choice, u64)> = Vec::with_capacity(BATCH);
    for chunk in items.chunks(BATCH) {
        batch.clear();
        batch.extend(chunk.iter().map(|(v, c, l)| (v.as_str(), *c, *l)));
        bbox.cast_batch(&batch).ok()?;
    }
    Some(bbox)
}

fn cast_ballots(parsed: ParsedBallots, roll: &Roll) -> Result<(Vec<Option<Choice>>, u64), TallyInputError> {
    cast_ballots_from(parsed, roll, PARALLEL_CAST)
}

fn cast_ballots_from(
    parsed: ParsedBallots,
    roll: &Roll,
    parallel_from: usize,
) -> Result<(Vec<Option<Choice>>, u64), TallyInputError> {
    let Some((items, bad)) = parsed else {
        return Ok((vec![None; roll.len()], 0));
    };
    // A large clean file: each half on its own core, then merged. Any refusal, or a subject
    // reached from both halves, falls through to the cast in file order below, which reports
    // exactly what a single pass would.
    if bad.is_none() && items.len() >= parallel_from {
        let (first, second) = items.split_at(items.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let b = s.spawn(|| cast_all(roll, second));
            (cast_all(roll, first), b.join().ok().flatten())
        });
        if let (Some(mut a), Some(b)) = (a, b)
            && a.absorb(b)
        {
            let n = a.ballots();
            return Ok((a.into_choices(), n));
        }
    }
    let mut bbox = roll.ballot_box();
    let mut batch: Vec<(&str, Choice, u64)> = Vec::with_capacity(BATCH);
    for chunk in items.chunks(BATCH) {
        batch.clear();
        batch.extend(chunk.iter().map(|(v, c, l)| (v.as_str(), *c, *l)));
        bbox.cast_batch(&batch).map_err(|(k, e)| {
            let line = batch.get(k).map_or(0, |i| i.2);
            match e {
                CastError::UnknownVoter { voter } => TallyInputError::UnknownVoter { line, voter },
                CastError::Duplicate {
                    subject,
                    first,
                    second,
                } => TallyInputError::DuplicateBallot {
                    subject: subject.to_string(),
                    first_line: first,
                    second_line: second,
                },
            }
        })?;
    }
    if let Some(e) = bad {
        return Err(e);
    }
    let n = bbox.ballots();
    Ok((bbox.into_choices(), n))
}

/// Number of line feeds (an estimate of the rows, to size the tables once).
fn memchr_count(buf: &[u8]) -> usize {
    buf.iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DecisionOutcome;

    const ROOMS: &str = "\u{feff}room_id,exclusive_area,owner_ids
1-101,89.50,P;S
1-102,120,P
1-201,75.25,Q
1-202,75.25,R
1-301,100.00,T
1-302,100,T
1-401,150,developer
1-402,150,developer
";

    fn run(rooms: &str, ballots: &str, class: ThresholdClass) -> Result<TallyReport, TallyInputError> {
        tally_files(rooms.as_bytes(), ballots.as_bytes(), class)
    }

    #[test]
    fn happy_path_json() {
        // P's ballot counts for {P,S} and {P}; T's two flats are one head; the developer votes.
        let ballots = "voter_id,choice\nP,yes\nQ,no\n\"T\", Yes \ndeveloper,abstain\n";
        let r = run(ROOMS, ballots, ThresholdClass::Ordinary).unwrap();
        let json = serde_json::to_value(&r).unwrap();
        let get = |k: &str| json.get(k).cloned().unwrap_or_default();
        assert_eq!(get("outcome"), "passed");
        assert_eq!(get("quorum_met"), true);
        assert_eq!(get("total_area"), "860.00");
        assert_eq!(get("total_heads"), 6);
        assert_eq!(get("participating_area"), "784.75");
        assert_eq!(get("participating_heads"), 5);
        assert_eq!(get("yes_area"), "409.50");
        assert_eq!(get("yes_heads"), 3);
        assert_eq!(get("no_area"), "75.25");
        assert_eq!(get("no_heads"), 1);
        assert_eq!(get("abstain_area"), "300.00");
        assert_eq!(get("abstain_heads"), 1);
        assert_eq!(get("rule"), "civil_code_278");
        assert_eq!(get("class"), "ordinary");
        assert_eq!(
            (get("rooms"), get("subjects"), get("ballots")),
            (8.into(), 6.into(), 4.into())
        );
        assert!(
            get("reason")
                .as_str()
                .unwrap()
                .starts_with("参与表决面积 784.75/860.00")
        );
        assert!(
            get("reason_en")
                .as_str()
                .unwrap()
                .ends_with("Result: passed (Civil Code Art. 278, ordinary)")
        );
        // Special: 3/5 heads < 3/4.
        let r = run(ROOMS, ballots, ThresholdClass::Special).unwrap();
        assert_eq!(r.tally.outcome, DecisionOutcome::Rejected);
        // No ballots at all.
        let r = run(ROOMS, "voter_id,choice\n", ThresholdClass::Ordinary).unwrap();
        assert_eq!(r.tally.outcome, DecisionOutcome::QuorumNotMet);
        // Columns in another order, Chinese choices, blank lines.
        let r = run(
            "owner_ids,room_id,exclusive_area\nA,1,100\nB,2,100\n\nC,3,100\n",
            "choice,voter_id\n同意,A\n反对,B\n",
            ThresholdClass::Ordinary,
        )
        .unwrap();
        assert_eq!(
            (r.tally.yes_heads, r.tally.no_heads, r.tally.outcome),
            (1, 1, DecisionOutcome::Rejected)
        );
    }

    #[test]
    fn errors_name_file_and_lines() {
        use TallyInputError as E;
        let ok_ballots = "voter_id,choice\n";
        let cases: Vec<(String, String, E)> = vec![
            (
                "1-101,89.50,P\n".into(),
                ok_ballots.into(),
                E::MissingHeader {
                    file: CsvFile::Rooms,
                    expected: "room_id,exclusive_area,owner_ids",
                    found: "1-101,89.50,P".into(),
                },
            ),
            (
                ROOMS.into(),
                "P,yes\n".into(),
                E::MissingHeader {
                    file: CsvFile::Ballots,
                    expected: "voter_id,choice",
                    found: "P,yes".into(),
                },
            ),
            (
                format!("{ROOMS}1-102,50,Z\n"),
                ok_ballots.into(),
                E::DuplicateRoom {
                    room: "1-102".into(),
                    first_line: 3,
                    line: 10,
                },
            ),
            (
                "room_id,exclusive_area,owner_ids\nA,12.345,P\n".into(),
                ok_ballots.into(),
                E::BadArea {
                    line: 2,
                    value: "12.345".into(),
                    error: DecimalError::TooPrecise("12.345".into()),
                },
            ),
            (
                "room_id,exclusive_area,owner_ids\nA,1,P\nB,-5,Q\n".into(),
                ok_ballots.into(),
                E::BadArea {
                    line: 3,
                    value: "-5".into(),
                    error: DecimalError::Negative("-5".into()),
                },
            ),
            (
                "room_id,exclusive_area,owner_ids\nA,1,\n".into(),
                ok_ballots.into(),
                E::BadOwners {
                    line: 2,
                    value: String::new(),
                    error: HolderIdError::Empty,
                },
            ),
            (
                "room_id,exclusive_area,owner_ids\nA,1,P;developer\n".into(),
                ok_ballots.into(),
                E::BadOwners {
                    line: 2,
                    value: "P;developer".into(),
                    error: HolderIdError::Reserved,
                },
            ),
            (
                "room_id,exclusive_area,owner_ids\nA,1\n".into(),
                ok_ballots.into(),
                E::FieldCount {
                    file: CsvFile::Rooms,
                    line: 2,
                    expected: 3,
                    found: 2,
                },
            ),
            (
                "room_id,exclusive_area,owner_ids\n".into(),
                ok_ballots.into(),
                E::NoRooms,
            ),
            (
                ROOMS.into(),
                "voter_id,choice\nP,yes\nQ,maybe\n".into(),
                E::BadChoice {
                    line: 3,
                    value: "maybe".into(),
                },
            ),
            (
                ROOMS.into(),
                "voter_id,choice\nP,yes\nZ,no\n".into(),
                E::UnknownVoter {
                    line: 3,
                    voter: "Z".into(),
                },
            ),
            (
                // S co-owns 1-101 with P, whose ballot (line 3) already counts for it.
                ROOMS.into(),
                "voter_id,choice\nQ,no\nP,yes\nR,yes\nS,no\n".into(),
                E::DuplicateBallot {
                    subject: "P;S".into(),
                    first_line: 3,
                    second_line: 5,
                },
            ),
            (
                ROOMS.into(),
                "voter_id,choice\nT,yes\nT,no\n".into(),
                E::DuplicateBallot {
                    subject: "T".into(),
                    first_line: 2,
                    second_line: 3,
                },
            ),
            (
                ROOMS.into(),
                "voter_id,choice\nQ,yes\n\"R\nX\",no\n".into(),
                E::UnknownVoter {
                    line: 3,
                    voter: "R\nX".into(),
                },
            ),
        ];
        for (rooms, ballots, expected) in cases {
            let got = run(&rooms, &ballots, ThresholdClass::Ordinary).unwrap_err();
            assert_eq!(got, expected, "{rooms} / {ballots}");
        }
        let e = run(ROOMS, "voter_id,choice\nT,yes\nT,no\n", ThresholdClass::Ordinary).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("ballots CSV lines 2 and 3: two ballots for voting subject T"),
            "{e}"
        );
        let e = run(
            &format!("{ROOMS}1-102,50,Z\n"),
            ok_ballots,
            ThresholdClass::Ordinary,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("rooms CSV line 10: room \"1-102\" is already listed on line 3"),
            "{e}"
        );
        // Not UTF-8.
        let mut bad = b"room_id,exclusive_area,owner_ids\nA,1,".to_vec();
        bad.extend([0xff, b'\n']);
        assert_eq!(
            tally_files(&bad[..], ok_ballots.as_bytes(), ThresholdClass::Ordinary).unwrap_err(),
            E::NotUtf8 {
                file: CsvFile::Rooms,
                line: 2
            }
        );
    }

    #[test]
    fn a_bad_line_after_a_duplicate_reports_the_duplicate_first() {
        // Errors come in file order even across the internal batches.
        let mut ballots = String::from("voter_id,choice\n");
        let mut rooms = String::from("room_id,exclusive_area,owner_ids\n");
        for i in 0..100 {
            rooms.push_str(&format!("r{i},1,o{i}\n"));
        }
        for i in 0..40 {
            ballots.push_str(&format!("o{i},yes\n"));
        }
        ballots.push_str("o5,no\nbad,???\n");
        let e = run(&rooms, &ballots, ThresholdClass::Ordinary).unwrap_err();
        assert_eq!(
            e,
            TallyInputError::DuplicateBallot {
                subject: "o5".into(),
                first_line: 7,
                second_line: 42
            }
        );
        // Many rooms and ballots across batches.
        let mut ballots = String::from("voter_id,choice\n");
        for i in (0..100).rev() {
            ballots.push_str(&format!("o{i},{}\n", if i % 4 == 0 { "no" } else { "yes" }));
        }
        let r = run(&rooms, &ballots, ThresholdClass::Special).unwrap();
        assert_eq!((r.tally.yes_heads, r.tally.no_heads, r.ballots), (75, 25, 100));
        assert_eq!(r.tally.outcome, DecisionOutcome::Passed);
    }

    proptest::proptest! {
        /// Casting the two halves at once gives what casting in file order gives: the same
        /// choices and count, or the same error with the same lines.
        #[test]
        fn the_parallel_cast_equals_the_cast_in_order(
            rooms in proptest::collection::vec((0u8..12, 0u8..12, proptest::bool::ANY), 1..30),
            ballots in proptest::collection::vec((0u8..14, 0u8..3), 0..40),
        ) {
            let mut r = String::from("room_id,exclusive_area,owner_ids\n");
            for (i, (a, b, couple)) in rooms.iter().enumerate() {
                if *couple && a != b {
                    r.push_str(&format!("R{i},50.25,O{a};O{b}\n"));
                } else {
                    r.push_str(&format!("R{i},80,O{a}\n"));
                }
            }
            let mut b = String::from("voter_id,choice\n");
            for (v, c) in &ballots {
                let choice = ["yes", "no", "abstain"][usize::from(*c)];
                b.push_str(&format!("O{v},{choice}\n"));
            }
            let roll = rooms_from(r.as_bytes()).unwrap();
            let in_order = cast_ballots_from(parse_ballots(b.as_bytes()).unwrap(), &roll, usize::MAX);
            let halves = cast_ballots_from(parse_ballots(b.as_bytes()).unwrap(), &roll, 2);
            proptest::prop_assert_eq!(format!("{in_order:?}"), format!("{halves:?}"));
        }
    }
}
