//! The tamper-evident ballot log of one decision, its public export and the verifier (issue #5,
//! DOMAIN.md R1.10). The full format is specified in `docs/ballot-export.md` of the repository;
//! the summary below is normative for the code.
//!
//! # Chain
//!
//! Every event serialises to one canonical line (the `event` line of the export without the
//! `event ` tag and without its trailing ` <hash>`):
//!
//! ```text
//! <seq> <kind> <at> <sid> <area|-> <answers|-> <ref|-> <by|->
//! ```
//!
//! and `hash = SHA-256(hex(prev) ‖ canonical line)`, where `hex(prev)` is the 64 lowercase hex
//! digits of the previous event's hash. The first event's `prev` is the **genesis**, the SHA-256
//! of the export's header lines (format, decision id, rule, mode, question classes, each with its
//! line feed), so a chain belongs to one decision.
//!
//! # Export `wuye-ballot-export/1`
//!
//! ```text
//! wuye-ballot-export/1
//! decision <decision id>                        1–128 of A–Z a–z 0–9 . _ : -
//! rule <civil_code_278|property_law_76>
//! mode <open|secret>
//! questions <ordinary|special>[,…]             one class per question on the ballot
//! genesis <64 hex>
//! subject <sid> <area> <answers|->              per enrolled subject, in enrolment order
//! tally <q> <outcome> quorum=<met|not_met> total_area=… total_heads=… participating_area=…
//!       participating_heads=… yes_area=… yes_heads=… no_area=… no_heads=… abstain_area=…
//!       abstain_heads=…                         per question (one line in the file)
//! event <seq> <kind> <at> <sid> <area|-> <answers|-> <ref|-> <by|-> <hash>
//! head <64 hex>                                 hash of the last event (genesis if none)
//! ```
//!
//! * `sid` — 32 lowercase hex digits. Open ballot: [`subject_pseudonym`] (SHA-256 of the decision's
//!   secret salt and the [`SubjectKey`], truncated). Secret ballot: the subject's
//!   [`eligibility_commitment`]. No names, rooms or phone numbers appear anywhere.
//! * `answers` — one letter per question: `y` yes, `n` no, `a` abstain, `_` blank (counted as an
//!   abstention, R1.5).
//! * `kind` — `enrol` (a subject and its area: the roll snapshot; all enrolments come first),
//!   `cast` (online ballot), `changed` (replaces the ballot in force; `ref` = its hash),
//!   `paper_entered` (a paper ballot keyed in; not in force yet), `paper_confirmed` (second check;
//!   `ref` = the entry, which comes into force), `superseded` (withdraws the ballot in force or a
//!   pending paper entry, `ref` = it).
//! * `at` — Unix seconds (UTC), never decreasing. `by` — open ballot: pseudonym of the person who
//!   acted ([`voter_pseudonym`]); secret ballot: always `-`.
//! * The `subject` lines hold each subject's area and the answers of its ballot in force (`-` if
//!   none); `tally` lines hold the statutory result per question. Both are recomputed by
//!   [`verify`] from the events.
//!
//! A **receipt** is the hash of the voter's ballot event (`cast`, `changed` or `paper_entered`);
//! [`find_receipt`] finds its line and says whether it is the ballot in force.
//!
//! **Secret ballots.** The subject's id in the log is a commitment `SHA-256(decision, token)` to a
//! random token handed to the subject when its eligibility is checked (sealed envelope, or made
//! on the owner's device and registered). The log carries no voter identity; the committee keeps
//! the registration table (subject key → commitment) and [`audit_enrolment`] proves to an
//! auditor that the enrolled commitments are exactly the roll's subjects with their areas. The
//! secrecy holds against the public, not against whoever holds that table; and with
//! area-weighted votes an unusual area can still identify a ballot.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::decimal::Area;
use crate::decision::{
    Choice, Counts, DecisionOutcome, Roll, RuleVersion, SubjectKey, Tally, ThresholdClass,
};
use crate::enums::{EnumError, Lang};

/// The first line of an export.
pub const FORMAT: &str = "wuye-ballot-export/1";

const HEADER_LINES: usize = 5;

// ---------------------------------------------------------------------------------------------
// Digests and ids
// ---------------------------------------------------------------------------------------------

fn write_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// The value of each lowercase hex digit; 0xff for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Exactly `2·N` lowercase hex digits. (A table lookup per digit: the close of a large vote
/// reads a hundred million of them.)
fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        if let [hi, lo] = pair {
            let (h, l) = (HEX_VALUE[usize::from(*hi)], HEX_VALUE[usize::from(*lo)]);
            bad |= (h | l) & 0xf0;
            *o = (h << 4) | (l & 0x0f);
        }
    }
    (bad == 0).then_some(out)
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $n:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// Exactly the lowercase hex form written by `Display`.
            pub fn parse(hex: &str) -> Option<Self> {
                parse_hex::<$n>(hex).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = String::with_capacity(2 * $n);
                write_hex(&self.0, &mut s);
                f.write_str(&s)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

hex_id!(
    /// A SHA-256 digest: event hashes, genesis, receipts.
    Hash,
    32
);

hex_id!(
    /// A pseudonymous subject (or person) id: 128 bits, 32 lowercase hex digits.
    Sid,
    16
);

/// SHA-256 over length-prefixed parts (so that no two part lists collide).
fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn sid_of(parts: &[&[u8]]) -> Sid {
    let d = digest(parts);
    let mut s = [0u8; 16];
    s.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    Sid(s)
}

/// The open-ballot id of a subject: `SHA-256(len‖"wuye-subject/1", len‖salt, len‖key)` cut to 128
/// bits. `salt` is the decision's secret random salt (not published), so ids cannot be guessed
/// from owner ids; the platform, which holds the salt, can map them back.
pub fn subject_pseudonym(salt: &[u8], key: &SubjectKey) -> Sid {
    sid_of(&[b"wuye-subject/1", salt, key.as_str().as_bytes()])
}

/// The pseudonym of the person who acted on an open ballot (same construction, own tag).
pub fn voter_pseudonym(salt: &[u8], voter_id: &str) -> Sid {
    sid_of(&[b"wuye-voter/1", salt, voter_id.as_bytes()])
}

/// A secret-ballot eligibility commitment: `SHA-256(len‖"wuye-eligibility/1", len‖decision,
/// len‖token)` cut to 128 bits. `token` is the subject's random secret (at least 16 bytes).
pub fn eligibility_commitment(decision: &str, token: &[u8]) -> Sid {
    sid_of(&[b"wuye-eligibility/1", decision.as_bytes(), token])
}

fn chain(prev: &Hash, canonical: &str) -> Hash {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 64];
    for (pair, b) in hex.chunks_exact_mut(2).zip(prev.0) {
        if let [hi, lo] = pair {
            *hi = DIGITS[usize::from(b >> 4)];
            *lo = DIGITS[usize::from(b & 0x0f)];
        }
    }
    let mut h = Sha256::new();
    h.update(hex);
    h.update(canonical.as_bytes());
    Hash(h.finalize().into())
}

/// Below this many events one core is quicker than starting threads.
const PARALLEL_FROM: usize = 50_000;

// ---------------------------------------------------------------------------------------------
// Vocabularies, header, events
// ---------------------------------------------------------------------------------------------

vocabulary! {
    /// 记名 / 不记名投票.
    BallotMode ("ballot mode", "投票方式") {
        Open = "open", "记名投票", "Open ballot";
        Secret = "secret", "不记名投票", "Secret ballot";
    }
}

vocabulary! {
    /// What happened in the ballot log.
    EventKind ("ballot event", "投票事件") {
        Enrol = "enrol", "登记表决主体", "Subject enrolled";
        Cast = "cast", "网上投票", "Cast online";
        Changed = "changed", "修改选票", "Ballot changed";
        PaperEntered = "paper_entered", "录入纸质选票", "Paper ballot entered";
        PaperConfirmed = "paper_confirmed", "复核纸质选票", "Paper ballot confirmed";
        Superseded = "superseded", "选票被取代作废", "Withdrawn as superseded";
    }
}

/// The fixed part of a log: what the genesis is computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHeader {
    /// The decision's id: 1–128 characters of `A–Z a–z 0–9 . _ : -`.
    pub decision: String,
    pub rule: RuleVersion,
    pub mode: BallotMode,
    /// The threshold class of each question on the ballot (at least one).
    pub classes: Vec<ThresholdClass>,
}

fn valid_decision_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

impl LogHeader {
    fn validate(&self) -> Result<(), LogError> {
        if !valid_decision_id(&self.decision) {
            return Err(LogError::BadDecisionId(self.decision.clone()));
        }
        if self.classes.is_empty() {
            return Err(LogError::NoQuestion);
        }
        Ok(())
    }

    /// The header lines, each with its line feed.
    fn render(&self) -> String {
        let classes: Vec<&str> = self.classes.iter().map(|c| c.as_str()).collect();
        format!(
            "{FORMAT}\ndecision {}\nrule {}\nmode {}\nquestions {}\n",
            self.decision,
            self.rule,
            self.mode,
            classes.join(",")
        )
    }

    /// `SHA-256` of the header lines.
    pub fn genesis(&self) -> Hash {
        Hash(Sha256::digest(self.render().as_bytes()).into())
    }
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// 1, 2, 3, …
    pub seq: u64,
    pub kind: EventKind,
    /// Unix seconds, UTC.
    pub at: i64,
    pub sid: Sid,
    /// `enrol` only.
    pub area: Option<Area>,
    /// `cast`, `changed`, `paper_entered` only.
    pub answers: Option<Answers>,
    /// `changed`, `paper_confirmed`, `superseded` only.
    pub refers_to: Option<Hash>,
    /// Open ballot: who acted (not on `enrol`). Secret ballot: never.
    pub by: Option<Sid>,
    pub hash: Hash,
}

fn answer_char(c: Option<Choice>) -> char {
    match c {
        Some(Choice::Yes) => 'y',
        Some(Choice::No) => 'n',
        Some(Choice::Abstain) => 'a',
        None => '_',
    }
}

/// A ballot's answers as stored and exported: one of `y`, `n`, `a`, `_` (blank) per question.
pub fn answers_text(a: &[Option<Choice>]) -> String {
    a.iter().map(|c| answer_char(*c)).collect()
}

/// The answers of one ballot: yes, no, abstain or blank (`None`) per question. Up to
/// [`Answers::PACKED`] questions are held in two bits each, without a heap allocation (the
/// close of a vote re-plays millions of ballots; a copy per ballot was a sixth of its time).
#[derive(Clone, PartialEq, Eq)]
pub struct Answers(Packing);

#[derive(Clone, PartialEq, Eq)]
enum Packing {
    /// Question `q` in bits `2q..2q+2`: 0 blank, 1 yes, 2 no, 3 abstain. Only when `len <= PACKED`.
    Short { len: u8, bits: u64 },
    /// Boxed so that `Answers` stays two words (a `Vec` or boxed slice would make it three, and
    /// every slot and event carries one).
    #[allow(clippy::box_collection)]
    Long(Box<Vec<Option<Choice>>>),
}

impl Answers {
    /// The most questions held without an allocation.
    pub const PACKED: usize = 32;

    fn code(c: Option<Choice>) -> u64 {
        match c {
            None => 0,
            Some(Choice::Yes) => 1,
            Some(Choice::No) => 2,
            Some(Choice::Abstain) => 3,
        }
    }

    fn choice(code: u64) -> Option<Choice> {
        match code & 3 {
            1 => Some(Choice::Yes),
            2 => Some(Choice::No),
            3 => Some(Choice::Abstain),
            _ => None,
        }
    }

    pub fn from_slice(a: &[Option<Choice>]) -> Self {
        match u8::try_from(a.len()) {
            Ok(len) if a.len() <= Self::PACKED => Self(Packing::Short {
                len,
                bits: a
                    .iter()
                    .enumerate()
                    .fold(0, |bits, (q, c)| bits | (Self::code(*c) << (2 * q))),
            }),
            _ => Self(Packing::Long(Box::new(a.to_vec()))),
        }
    }

    /// Reads the letters of [`answers_text`]; `None` when empty or on any other character.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.is_empty() {
            return None;
        }
        let code = |b: u8| match b {
            b'_' => Some(0),
            b'y' => Some(1),
            b'n' => Some(2),
            b'a' => Some(3),
            _ => None,
        };
        if s.len() <= Self::PACKED {
            let mut bits = 0;
            for (q, &b) in s.iter().enumerate() {
                bits |= code(b)? << (2 * q);
            }
            let len = u8::try_from(s.len()).ok()?;
            return Some(Self(Packing::Short { len, bits }));
        }
        let all: Option<Vec<_>> = s.iter().map(|&b| code(b).map(Self::choice)).collect();
        all.map(|a| Self(Packing::Long(Box::new(a))))
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Packing::Short { len, .. } => usize::from(*len),
            Packing::Long(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The answer to question `q` (`None`: blank or no such question).
    pub fn get(&self, q: usize) -> Option<Choice> {
        match &self.0 {
            Packing::Short { len, bits } if q < usize::from(*len) => Self::choice(bits >> (2 * q)),
            Packing::Short { .. } => None,
            Packing::Long(v) => v.get(q).copied().flatten(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<Choice>> + '_ {
        (0..self.len()).map(|q| self.get(q))
    }

    pub fn to_vec(&self) -> Vec<Option<Choice>> {
        self.iter().collect()
    }

    /// Appends the letters of [`answers_text`] to `out`.
    fn write(&self, out: &mut String) {
        out.extend(self.iter().map(answer_char));
    }
}

impl Default for Answers {
    fn default() -> Self {
        Self(Packing::Short { len: 0, bits: 0 })
    }
}

impl From<Vec<Option<Choice>>> for Answers {
    fn from(a: Vec<Option<Choice>>) -> Self {
        if a.len() <= Self::PACKED {
            Self::from_slice(&a)
        } else {
            Self(Packing::Long(Box::new(a)))
        }
    }
}

impl fmt::Display for Answers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.len());
        self.write(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Answers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Answers({self})")
    }
}

impl Serialize for Answers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The fields of an event's canonical line, borrowed from an [`Event`] or from a
/// [`StoredEvent`] and the `ref` its re-play derived.
struct Line<'a> {
    seq: u64,
    kind: EventKind,
    at: i64,
    sid: &'a Sid,
    area: Option<Area>,
    answers: Option<&'a Answers>,
    refers_to: Option<&'a Hash>,
    by: Option<&'a Sid>,
}

impl Line<'_> {
    /// Appends the canonical line to `out` (no allocation of its own: the close re-hashes
    /// millions of events).
    fn write(&self, out: &mut String) {
        let mut digits = itoa::Buffer::new();
        out.push_str(digits.format(self.seq));
        out.push(' ');
        out.push_str(self.kind.as_str());
        out.push(' ');
        out.push_str(digits.format(self.at));
        out.push(' ');
        write_hex(&self.sid.0, out);
        match self.area {
            Some(a) => {
                out.push(' ');
                a.write_to(out);
                out.push(' ');
            }
            None => out.push_str(" - "),
        }
        match self.answers {
            Some(a) => a.write(out),
            None => out.push('-'),
        }
        out.push(' ');
        match self.refers_to {
            Some(h) => write_hex(&h.0, out),
            None => out.push('-'),
        }
        out.push(' ');
        match self.by {
            Some(b) => write_hex(&b.0, out),
            None => out.push('-'),
        }
    }

    /// The hash of this event after `prev`, the line written into `buf` (reused between calls).
    fn hash_after(&self, prev: &Hash, buf: &mut String) -> Hash {
        buf.clear();
        self.write(buf);
        chain(prev, buf)
    }
}

impl Event {
    /// The canonical line that is hashed: `<seq> <kind> <at> <sid> <area|-> <answers|-> <ref|-> <by|->`.
    pub fn canonical(&self) -> String {
        let mut s = String::with_capacity(200);
        self.line().write(&mut s);
        s
    }

    fn line(&self) -> Line<'_> {
        Line {
            seq: self.seq,
            kind: self.kind,
            at: self.at,
            sid: &self.sid,
            area: self.area,
            answers: self.answers.as_ref(),
            refers_to: self.refers_to.as_ref(),
            by: self.by.as_ref(),
        }
    }

    fn export_line(&self) -> String {
        format!("event {} {}", self.canonical(), self.hash)
    }
}

// ---------------------------------------------------------------------------------------------
// Replay: the rules every log obeys (shared by the writer and the verifier)
// ---------------------------------------------------------------------------------------------

/// Why an event is not allowed at this point of the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("event number {found}, expected {expected} / 事件序号不连续")]
    Sequence { expected: u64, found: u64 },
    #[error("time {at} is before the previous event's {previous} / 事件时间倒退")]
    TimeGoesBack { previous: i64, at: i64 },
    #[error("{kind} needs `{field}` / 缺少字段 {field}")]
    MissingField { kind: EventKind, field: &'static str },
    #[error("{kind} must have `-` as `{field}` / 字段 {field} 应为 -")]
    UnexpectedField { kind: EventKind, field: &'static str },
    #[error("{found} answers for {expected} questions / 答案数与议题数不符")]
    AnswerCount { expected: usize, found: usize },
    #[error("enrolment after voting started / 投票开始后不能再登记表决主体")]
    EnrolAfterVoting,
    #[error("subject {0} enrolled twice / 表决主体重复登记")]
    DuplicateEnrol(Sid),
    #[error("subject {0} is not enrolled / 表决主体未登记")]
    NotEnrolled(Sid),
    #[error("subject {0} already has a ballot in force: change or supersede it / 已有有效选票")]
    AlreadyVoted(Sid),
    #[error("subject {0} has no ballot in force to change / 没有可修改的选票")]
    NothingToChange(Sid),
    #[error("subject {0} already has a paper ballot awaiting confirmation / 已有待复核的纸质选票")]
    PaperPending(Sid),
    #[error("subject {0} has no paper ballot awaiting confirmation / 没有待复核的纸质选票")]
    NothingToConfirm(Sid),
    #[error("subject {0} has no ballot to supersede / 没有可作废的选票")]
    NothingToSupersede(Sid),
    #[error("refers to {found}, but the ballot concerned is {expected} / 引用的选票不符")]
    WrongReference { expected: Hash, found: Hash },
    #[error("negative area / 面积不能为负数")]
    NegativeArea,
    #[error("total enrolled area too large / 登记面积合计溢出")]
    AreaOverflow,
}

#[derive(Debug, Clone)]
struct Ballot {
    hash: Hash,
    answers: Answers,
}

#[derive(Debug, Clone)]
struct Slot {
    sid: Sid,
    area: Area,
    in_force: Option<Ballot>,
    pending: Option<Ballot>,
}

/// Finds a subject's slot by its sid.
///
/// Every log this program writes enrols in ascending sid order (`BallotLog::new` sorts its
/// enrolment), and sids are hashes, spread evenly over their leading bits: a table of where
/// each leading-bits bucket starts (four bytes a subject, about one subject a bucket) finds a
/// slot with one read of the slot itself. A hash map costs a cache miss in its own table first,
/// and at a million subjects those misses were a fifth of the close. Within a bucket, and while
/// the table is stale during the enrolment, a binary search over the sorted slots finds it, so
/// chosen sids cost at most a logarithm. An enrolment in any other order (an export written by
/// someone else) switches to a hash map.
#[derive(Debug, Clone)]
enum SlotIndex {
    /// Slots in strictly ascending sid order; `starts` covers the first `covers` of them.
    Sorted {
        starts: Vec<u32>,
        shift: u32,
        covers: usize,
    },
    Map(HashMap<Sid, usize>),
}

impl Default for SlotIndex {
    fn default() -> Self {
        Self::Sorted {
            starts: Vec::new(),
            shift: 64,
            covers: usize::MAX,
        }
    }
}

/// The leading 64 bits of a sid, which order sids as their bytes do.
fn lead(sid: &Sid) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(sid.0.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(b)
}

impl SlotIndex {
    fn bucket(sid: &Sid, shift: u32) -> usize {
        usize::try_from(lead(sid).checked_shr(shift).unwrap_or(0)).unwrap_or(usize::MAX)
    }

    fn find(&self, slots: &[Slot], sid: &Sid) -> Option<usize> {
        let (lo, hi) = match self {
            Self::Map(m) => return m.get(sid).copied(),
            Self::Sorted {
                starts,
                shift,
                covers,
            } if *covers == slots.len() => {
                let b = Self::bucket(sid, *shift);
                let lo = starts.get(b).copied()?;
                (lo as usize, starts.get(b + 1).copied()? as usize)
            }
            Self::Sorted { .. } => match slots.last() {
                // The newest slot has the largest sid.
                Some(last) if last.sid < *sid => return None,
                _ => (0, slots.len()),
            },
        };
        let within = slots.get(lo..hi)?;
        within.binary_search_by(|s| s.sid.cmp(sid)).ok().map(|i| lo + i)
    }

    /// Records the slot just pushed (the last).
    fn pushed(&mut self, slots: &[Slot]) {
        let n = slots.len();
        match self {
            Self::Map(m) => {
                if let Some(s) = slots.last() {
                    m.insert(s.sid, n - 1);
                }
            }
            Self::Sorted { .. } => {
                let in_order = match slots {
                    [.., a, b] => a.sid < b.sid,
                    _ => true,
                };
                if !in_order {
                    *self = Self::Map(slots.iter().enumerate().map(|(i, s)| (s.sid, i)).collect());
                }
            }
        }
    }

    /// Builds the bucket table once the enrolment is complete (a no-op for a map, or when
    /// the table is current).
    fn build(&mut self, slots: &[Slot]) {
        let Self::Sorted {
            starts,
            shift,
            covers,
        } = self
        else {
            return;
        };
        let n = slots.len();
        if *covers == n || u32::try_from(n).is_err() {
            return;
        }
        // About one subject a bucket, at most 2^24 buckets (64 MiB).
        let bits = (usize::BITS - n.saturating_sub(1).leading_zeros()).min(24);
        *shift = 64 - bits;
        starts.clear();
        starts.reserve((1 << bits) + 1);
        let mut i = 0;
        for b in 0..=(1usize << bits) {
            while slots.get(i).is_some_and(|s| Self::bucket(&s.sid, *shift) < b) {
                i += 1;
            }
            starts.push(i as u32);
        }
        *covers = n;
    }
}

#[derive(Debug, Clone)]
struct Replay {
    questions: usize,
    mode: BallotMode,
    index: SlotIndex,
    slots: Vec<Slot>,
    next_seq: u64,
    last_at: Option<i64>,
    voting: bool,
    total_area: i64,
}

impl Replay {
    fn new(questions: usize, mode: BallotMode) -> Self {
        Self {
            questions,
            mode,
            index: SlotIndex::default(),
            slots: Vec::new(),
            next_seq: 1,
            last_at: None,
            voting: false,
            total_area: 0,
        }
    }

    fn slot(&self, sid: &Sid) -> Result<&Slot, ReplayError> {
        self.locate(sid)
            .and_then(|i| self.slots.get(i))
            .ok_or(ReplayError::NotEnrolled(*sid))
    }

    /// The `ref` the writer gives an event of `kind` on the subject in slot `at` (as
    /// [`Replay::locate`] found it): `changed` → the ballot in force, `paper_confirmed` → the
    /// pending paper entry, `superseded` → the ballot in force, or else the pending paper entry.
    fn reference_at(&self, kind: EventKind, at: Option<usize>) -> Option<Hash> {
        let slot = at.and_then(|i| self.slots.get(i));
        match kind {
            EventKind::Changed => slot.and_then(|s| s.in_force.as_ref()).map(|b| b.hash),
            EventKind::PaperConfirmed => slot.and_then(|s| s.pending.as_ref()).map(|b| b.hash),
            EventKind::Superseded => slot
                .and_then(|s| s.in_force.as_ref().or(s.pending.as_ref()))
                .map(|b| b.hash),
            _ => None,
        }
    }

    /// The slot of `sid`, if enrolled. A replay looks each event's subject up once and passes
    /// the slot to `reference_at`, `check_at` and `apply_at` (the lookups dominate the re-play
    /// of a large log: each is a cache miss).
    fn locate(&self, sid: &Sid) -> Option<usize> {
        self.index.find(&self.slots, sid)
    }

    /// Checks an event against the state; changes nothing.
    fn check(&self, e: &Event) -> Result<(), ReplayError> {
        self.check_at(e, self.locate(&e.sid))
    }

    /// [`Replay::check`] with the event's subject already located.
    fn check_at(&self, e: &Event, at: Option<usize>) -> Result<(), ReplayError> {
        use EventKind as K;
        if e.seq != self.next_seq {
            return Err(ReplayError::Sequence {
                expected: self.next_seq,
                found: e.seq,
            });
        }
        if let Some(previous) = self.last_at
            && e.at < previous
        {
            return Err(ReplayError::TimeGoesBack { previous, at: e.at });
        }
        let kind = e.kind;
        let need = |present: bool, wanted: bool, field: &'static str| match (present, wanted) {
            (false, true) => Err(ReplayError::MissingField { kind, field }),
            (true, false) => Err(ReplayError::UnexpectedField { kind, field }),
            _ => Ok(()),
        };
        need(e.area.is_some(), kind == K::Enrol, "area")?;
        need(
            e.answers.is_some(),
            matches!(kind, K::Cast | K::Changed | K::PaperEntered),
            "answers",
        )?;
        let by_wanted = kind != K::Enrol && self.mode == BallotMode::Open;
        need(e.by.is_some(), by_wanted, "by")?;
        if let Some(a) = &e.answers
            && a.len() != self.questions
        {
            return Err(ReplayError::AnswerCount {
                expected: self.questions,
                found: a.len(),
            });
        }
        let wants_ref = matches!(kind, K::Changed | K::PaperConfirmed | K::Superseded);
        if kind == K::Enrol {
            need(e.refers_to.is_some(), false, "ref")?;
            if self.voting {
                return Err(ReplayError::EnrolAfterVoting);
            }
            if at.is_some() {
                return Err(ReplayError::DuplicateEnrol(e.sid));
            }
            let area = e.area.map_or(0, Area::hundredths);
            if area < 0 {
                return Err(ReplayError::NegativeArea);
            }
            if self.total_area.checked_add(area).is_none() {
                return Err(ReplayError::AreaOverflow);
            }
            return Ok(());
        }
        let slot = at
            .and_then(|i| self.slots.get(i))
            .ok_or(ReplayError::NotEnrolled(e.sid))?;
        // The ballot an event must refer to, if any.
        let target = match kind {
            K::Cast => {
                if slot.in_force.is_some() {
                    return Err(ReplayError::AlreadyVoted(e.sid));
                }
                None
            }
            K::PaperEntered => {
                if slot.pending.is_some() {
                    return Err(ReplayError::PaperPending(e.sid));
                }
                None
            }
            K::Changed => Some(
                slot.in_force
                    .as_ref()
                    .ok_or(ReplayError::NothingToChange(e.sid))?
                    .hash,
            ),
            K::PaperConfirmed => {
                let p = slot
                    .pending
                    .as_ref()
                    .ok_or(ReplayError::NothingToConfirm(e.sid))?;
                if slot.in_force.is_some() {
                    return Err(ReplayError::AlreadyVoted(e.sid));
                }
                Some(p.hash)
            }
            K::Superseded => {
                let candidates = [slot.in_force.as_ref(), slot.pending.as_ref()];
                let first = candidates
                    .iter()
                    .flatten()
                    .next()
                    .ok_or(ReplayError::NothingToSupersede(e.sid))?
                    .hash;
                match e.refers_to {
                    Some(r) if candidates.iter().flatten().any(|b| b.hash == r) => Some(r),
                    _ => Some(first),
                }
            }
            K::Enrol => None,
        };
        need(e.refers_to.is_some(), wants_ref, "ref")?;
        if let (Some(expected), Some(found)) = (target, e.refers_to)
            && expected != found
        {
            return Err(ReplayError::WrongReference { expected, found });
        }
        Ok(())
    }

    /// Applies a checked event (its hash known, unless it is an enrolment).
    fn apply(&mut self, e: &Event) {
        self.apply_at(e, self.locate(&e.sid));
    }

    /// [`Replay::apply`] with the event's subject already located.
    fn apply_at(&mut self, e: &Event, at: Option<usize>) {
        use EventKind as K;
        self.next_seq += 1;
        self.last_at = Some(e.at);
        if e.kind == K::Enrol {
            let area = e.area.unwrap_or(Area::ZERO);
            self.total_area = self.total_area.saturating_add(area.hundredths());
            self.slots.push(Slot {
                sid: e.sid,
                area,
                in_force: None,
                pending: None,
            });
            self.index.pushed(&self.slots);
            return;
        }
        if !self.voting {
            self.voting = true;
            self.index.build(&self.slots);
        }
        let Some(slot) = at.and_then(|i| self.slots.get_mut(i)) else {
            return;
        };
        let ballot = || Ballot {
            hash: e.hash,
            answers: e.answers.clone().unwrap_or_default(),
        };
        match e.kind {
            K::Cast | K::Changed => slot.in_force = Some(ballot()),
            K::PaperEntered => slot.pending = Some(ballot()),
            K::PaperConfirmed => slot.in_force = slot.pending.take(),
            K::Superseded => {
                if slot.in_force.as_ref().map(|b| b.hash) == e.refers_to {
                    slot.in_force = None;
                } else {
                    slot.pending = None;
                }
            }
            K::Enrol => {}
        }
    }

    /// Checks and applies each of `stored` in turn, appending it to `events` with the `ref` it
    /// gets and handing that `ref` to `done` a chunk at a time, until one breaks a rule
    /// (returned; it is neither appended nor handed on).
    fn apply_stored(
        &mut self,
        stored: &[StoredEvent],
        events: &mut Vec<Event>,
        done: &mut dyn FnMut(Vec<Option<Hash>>),
    ) -> Option<LogError> {
        /// Events whose refs are handed on together (to the hashing core).
        const CHUNK: usize = 1 << 14;
        let mut chunk = Vec::with_capacity(CHUNK.min(stored.len()));
        let mut broken = None;
        for e in stored {
            let slot = self.locate(&e.sid);
            let refers_to = self.reference_at(e.kind, slot);
            let event = Event {
                seq: e.seq,
                kind: e.kind,
                at: e.at,
                sid: e.sid,
                area: None,
                answers: e.answers.clone(),
                refers_to,
                by: e.by,
                hash: e.hash,
            };
            if let Err(why) = self.check_at(&event, slot) {
                broken = Some(LogError::Stored {
                    seq: e.seq,
                    why: StoredFault::Rules(why),
                });
                break;
            }
            self.apply_at(&event, slot);
            events.push(event);
            chunk.push(refers_to);
            if chunk.len() == CHUNK {
                done(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
            }
        }
        done(chunk);
        broken
    }

    fn tallies(&self, classes: &[ThresholdClass], rule: RuleVersion) -> Vec<Tally> {
        let mut counts = vec![Counts::default(); classes.len()];
        for s in &self.slots {
            for (q, c) in counts.iter_mut().enumerate() {
                let ch = s
                    .in_force
                    .as_ref()
                    .map(|b| b.answers.get(q).unwrap_or(Choice::Abstain));
                c.add(s.area, ch);
            }
        }
        counts
            .iter()
            .zip(classes)
            .map(|(c, &class)| Tally::from_counts(c, class, rule))
            .collect()
    }
}

fn subject_line(s: &Slot) -> String {
    format!(
        "subject {} {} {}",
        s.sid,
        s.area,
        s.in_force
            .as_ref()
            .map_or_else(|| "-".to_owned(), |b| b.answers.to_string())
    )
}

fn tally_line(q: usize, t: &Tally) -> String {
    format!(
        "tally {q} {} quorum={} total_area={} total_heads={} participating_area={} participating_heads={} \
         yes_area={} yes_heads={} no_area={} no_heads={} abstain_area={} abstain_heads={}",
        t.outcome,
        if t.quorum_met { "met" } else { "not_met" },
        t.total_area,
        t.total_heads,
        t.participating_area,
        t.participating_heads,
        t.yes_area,
        t.yes_heads,
        t.no_area,
        t.no_heads,
        t.abstain_area,
        t.abstain_heads,
    )
}

// ---------------------------------------------------------------------------------------------
// The writer
// ---------------------------------------------------------------------------------------------

/// Why the log refused to be created or to take an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("decision id {0:?} must be 1–128 characters of A–Z a–z 0–9 . _ : - / 决定编号格式无效")]
    BadDecisionId(String),
    #[error("a ballot needs at least one question / 选票至少要有一个议题")]
    NoQuestion,
    #[error(
        "pseudonyms from the roll are for open ballots; a secret ballot enrols commitments / 不记名投票须登记承诺值"
    )]
    NotOpen,
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("stored event {seq}: {why}")]
    Stored { seq: u64, why: StoredFault },
}

/// What is wrong with a stored event (see [`BallotLog::restore`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredFault {
    #[error(transparent)]
    Rules(ReplayError),
    #[error("its hash does not match its content and the event before / 哈希值与内容不符")]
    Hash,
    #[error("its hash could not be checked (an internal error) / 哈希值未能校验")]
    Unchecked,
}

/// An event as the writer stored it: what [`BallotLog::append`] was given and the hash it
/// returned (`ref` is not stored: it follows from the events before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub kind: EventKind,
    pub at: i64,
    pub sid: Sid,
    pub answers: Option<Answers>,
    pub by: Option<Sid>,
    pub hash: Hash,
}

impl StoredEvent {
    fn line<'a>(&'a self, refers_to: Option<&'a Hash>) -> Line<'a> {
        Line {
            seq: self.seq,
            kind: self.kind,
            at: self.at,
            sid: &self.sid,
            area: None,
            answers: self.answers.as_ref(),
            refers_to,
            by: self.by.as_ref(),
        }
    }
}

/// The append-only ballot log of one decision.
#[derive(Debug, Clone)]
pub struct BallotLog {
    header: LogHeader,
    genesis: Hash,
    events: Vec<Event>,
    replay: Replay,
}

impl BallotLog {
    /// A log with its enrolment (the roll snapshot): `(sid, area)` per subject, enrolled in sid
    /// order so that the order reveals nothing about the roll.
    pub fn new(header: LogHeader, at: i64, enrolment: Vec<(Sid, Area)>) -> Result<Self, LogError> {
        Self::restore(header, at, enrolment, Vec::new())
    }

    /// The log [`BallotLog::new`] makes, followed by events stored from earlier appends (in
    /// order): every rule is re-checked, every `ref` re-derived and every stored hash
    /// recomputed, so a stored log that was altered anywhere is refused, naming the first event
    /// that is wrong. The result equals the log the appends built.
    ///
    /// A large log is re-played on one core while another computes the enrolment's chain and
    /// then checks each stored hash against the stored hash before it, as the re-play derives
    /// the `ref`s: the close of a vote re-plays millions.
    pub fn restore(
        header: LogHeader,
        at: i64,
        mut enrolment: Vec<(Sid, Area)>,
        stored: Vec<StoredEvent>,
    ) -> Result<Self, LogError> {
        header.validate()?;
        enrolment.sort_unstable_by_key(|(sid, _)| *sid);
        let mut log = Self {
            genesis: header.genesis(),
            replay: Replay::new(header.classes.len(), header.mode),
            header,
            events: Vec::with_capacity(enrolment.len() + stored.len()),
        };
        log.replay.slots.reserve(enrolment.len());
        log.enrol(at, &enrolment)?;
        log.replay.index.build(&log.replay.slots);
        log.replay_stored(true, stored)?;
        Ok(log)
    }

    /// The enrolment events (their hashes are computed by `replay_stored`).
    fn enrol(&mut self, at: i64, enrolment: &[(Sid, Area)]) -> Result<(), LogError> {
        let mut previous = None;
        for &(sid, area) in enrolment {
            let event = Event {
                seq: self.replay.next_seq,
                kind: EventKind::Enrol,
                at,
                sid,
                area: Some(area),
                answers: None,
                refers_to: None,
                by: None,
                hash: Hash([0; 32]),
            };
            // Sorted, a repeated subject follows itself: no lookup needed to find it.
            let slot = (previous == Some(sid)).then_some(0);
            previous = Some(sid);
            self.replay.check_at(&event, slot)?;
            self.replay.apply_at(&event, None);
            self.events.push(event);
        }
        Ok(())
    }

    /// Re-plays events stored after the ones this log holds (another instance's appends), with
    /// the checks of [`BallotLog::restore`]. Takes the log: on error it is gone (re-play it from
    /// the start).
    pub fn extend_stored(mut self, stored: Vec<StoredEvent>) -> Result<Self, LogError> {
        self.events.reserve(stored.len());
        self.replay_stored(false, stored)?;
        Ok(self)
    }

    /// Checks and applies `stored` after the events held, computes the chain of the events
    /// held if `hash_held` (a log just enrolled: enrolments' hashes are not stored) and checks every
    /// stored hash against its content and the stored hash before it. A rule broken at event
    /// `s` is reported unless a stored hash before `s` is already wrong (that event is then the
    /// first wrong one).
    ///
    /// A large log is re-played on one core while another hashes what the re-play has done
    /// (the canonical line needs the `ref` the re-play derives), a chunk at a time.
    fn replay_stored(&mut self, hash_held: bool, stored: Vec<StoredEvent>) -> Result<(), LogError> {
        let genesis = self.genesis;
        let Self { events, replay, .. } = self;
        // The events to hash are taken out (copying nothing), so that the re-play can append
        // to `events` meanwhile.
        let mut fresh = if hash_held {
            std::mem::take(events)
        } else {
            Vec::new()
        };
        events.reserve(stored.len());
        let held = events.len();
        let start = events.last().map_or(genesis, |e| e.hash);
        let chain_fresh = move |fresh: &mut [Event]| {
            let mut buf = String::with_capacity(200);
            let mut prev = start;
            for e in fresh.iter_mut() {
                e.hash = e.line().hash_after(&prev, &mut buf);
                prev = e.hash;
            }
            prev
        };
        let stored_ref = &stored;
        // The first stored hash that is wrong, each checked against the stored hash before it
        // as the re-play hands on the refs it derived (the first one is checked below).
        let check = move |chunks: &mut dyn Iterator<Item = Vec<Option<Hash>>>| {
            let mut buf = String::with_capacity(200);
            let mut i = 0usize;
            for chunk in chunks {
                for r in chunk {
                    if let (Some(prev), Some(e)) = (
                        i.checked_sub(1).and_then(|p| stored_ref.get(p)),
                        stored_ref.get(i),
                    ) && e.line(r.as_ref()).hash_after(&prev.hash, &mut buf) != e.hash
                    {
                        return Some(e.seq);
                    }
                    i += 1;
                }
            }
            None
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (last, broken, wrong) = if stored.len() < PARALLEL_FROM || cores < 2 {
            let last = chain_fresh(&mut fresh);
            let mut all = Vec::new();
            let broken = replay.apply_stored(&stored, events, &mut |chunk| all.push(chunk));
            let wrong = check(&mut all.into_iter());
            (last, broken, wrong)
        } else {
            std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::channel();
                let fresh = &mut fresh;
                let checker = s.spawn(move || {
                    let last = chain_fresh(fresh);
                    // After a wrong hash the re-play's later chunks are not needed (sending
                    // them fails, unnoticed).
                    (last, check(&mut rx.into_iter()))
                });
                let broken = replay.apply_stored(stored_ref, events, &mut |chunk| {
                    let _ = tx.send(chunk);
                });
                drop(tx);
                match checker.join() {
                    Ok((last, wrong)) => Ok((last, broken, wrong)),
                    // Hashing panicked (a bug): nothing is vouched for, and nothing is blamed
                    // on the stored log.
                    Err(_) => Err(LogError::Stored {
                        seq: stored_ref.first().map_or(0, |e| e.seq),
                        why: StoredFault::Unchecked,
                    }),
                }
            })?
        };
        // The first stored event follows the last fresh one (or the events held before).
        let first_wrong = stored.first().zip(events.get(held)).and_then(|(e, replayed)| {
            let mut buf = String::new();
            (e.line(replayed.refers_to.as_ref()).hash_after(&last, &mut buf) != e.hash).then_some(e.seq)
        });
        if hash_held {
            // The re-played events go after the ones just hashed.
            fresh.append(events);
            *events = fresh;
        }
        match first_wrong.or(wrong) {
            Some(seq) => Err(LogError::Stored {
                seq,
                why: StoredFault::Hash,
            }),
            None => broken.map_or(Ok(()), Err),
        }
    }

    /// An open-ballot log enrolling every subject of `roll` under its [`subject_pseudonym`].
    pub fn for_roll(header: LogHeader, at: i64, salt: &[u8], roll: &Roll) -> Result<Self, LogError> {
        if header.mode != BallotMode::Open {
            return Err(LogError::NotOpen);
        }
        let enrolment = roll
            .subjects()
            .map(|s| (subject_pseudonym(salt, &s.owned_key()), s.area))
            .collect();
        Self::new(header, at, enrolment)
    }

    /// Appends a ballot event and returns its hash (for `cast`, `changed` and `paper_entered`:
    /// the voter's receipt). `ref` is filled in from the state: `changed` → the ballot in force,
    /// `paper_confirmed` → the pending paper entry, `superseded` → the ballot in force, or else
    /// the pending paper entry. `answers` only for `cast`, `changed`, `paper_entered`; `by` only
    /// on open ballots.
    pub fn append(
        &mut self,
        kind: EventKind,
        at: i64,
        sid: Sid,
        answers: Option<Vec<Option<Choice>>>,
        by: Option<Sid>,
    ) -> Result<Hash, LogError> {
        let slot = self.replay.locate(&sid);
        let mut event = Event {
            seq: self.replay.next_seq,
            kind,
            at,
            sid,
            area: None,
            answers: answers.map(Answers::from),
            refers_to: self.replay.reference_at(kind, slot),
            by,
            hash: Hash([0; 32]),
        };
        self.replay.check_at(&event, slot)?;
        event.hash = event
            .line()
            .hash_after(&self.head(), &mut String::with_capacity(200));
        self.replay.apply_at(&event, slot);
        let hash = event.hash;
        self.events.push(event);
        Ok(hash)
    }

    pub fn header(&self) -> &LogHeader {
        &self.header
    }

    pub fn genesis(&self) -> Hash {
        self.genesis
    }

    /// The hash of the last event (the genesis when there is none): publish it to pin the log.
    pub fn head(&self) -> Hash {
        self.events.last().map_or(self.genesis, |e| e.hash)
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The ballot in force of every subject that has one: its answers, as the tally counts
    /// them (a blank answer on a returned ballot is an abstention there).
    pub fn in_force(&self) -> impl Iterator<Item = (Sid, &Answers)> + '_ {
        self.replay
            .slots
            .iter()
            .filter_map(|s| s.in_force.as_ref().map(|b| (s.sid, &b.answers)))
    }

    /// Whether `sid` has a ballot in force (a new one from it is a change).
    pub fn has_ballot_in_force(&self, sid: &Sid) -> bool {
        self.replay.slot(sid).is_ok_and(|s| s.in_force.is_some())
    }

    /// The statutory tally of every question from the ballots in force.
    pub fn tallies(&self) -> Vec<Tally> {
        self.replay.tallies(&self.header.classes, self.header.rule)
    }

    /// The public export (see the module documentation).
    pub fn export(&self) -> String {
        let mut out = self.header.render();
        out.push_str(&format!("genesis {}\n", self.genesis));
        for s in &self.replay.slots {
            out.push_str(&subject_line(s));
            out.push('\n');
        }
        for (q, t) in self.tallies().iter().enumerate() {
            out.push_str(&tally_line(q + 1, t));
            out.push('\n');
        }
        for e in &self.events {
            out.push_str(&e.export_line());
            out.push('\n');
        }
        out.push_str(&format!("head {}\n", self.head()));
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The verifier
// ---------------------------------------------------------------------------------------------

/// What is wrong at the place a [`VerifyError`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyErrorKind {
    #[error("not UTF-8 text / 不是 UTF-8 文本")]
    NotUtf8,
    #[error("the export must end with a line feed / 导出文件必须以换行结束")]
    NoFinalNewline,
    #[error("expected {0} / 此处应为 {0}")]
    Expected(&'static str),
    #[error("bad {0} / {0} 取值无效")]
    BadValue(&'static str),
    #[error("the line is not in canonical form / 该行不是规范格式")]
    NotCanonical,
    #[error(
        "genesis {declared} does not match the header lines 1–5, which give {computed} / 创世哈希与文件头不符"
    )]
    GenesisMismatch { declared: Hash, computed: Hash },
    #[error(
        "hash {declared} does not match the event, which gives {computed}: this event or the hash was altered / \
         事件哈希不符，该事件或其哈希被改动"
    )]
    HashMismatch { declared: Hash, computed: Hash },
    #[error(transparent)]
    Replay(ReplayError),
    #[error("subject line does not match the log: {0} / 表决主体行与日志不符")]
    SubjectMismatch(String),
    #[error("tally does not match the events; recomputed: `{0}` / 统计行与重新计算的结果不符")]
    TallyMismatch(String),
    #[error("head {declared} is not the last event's hash {computed} / 链尾哈希不符")]
    HeadMismatch { declared: Hash, computed: Hash },
    #[error("nothing may follow the head line / 链尾之后不应再有内容")]
    Trailing,
}

/// Where and why an export failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// 1-based line number in the export.
    pub line: usize,
    /// The event's sequence number, when the line is (or refers to) an event.
    pub event: Option<u64>,
    pub kind: VerifyErrorKind,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(e) = self.event {
            write!(f, " (event {e})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for VerifyError {}

/// What a verified export contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub header: LogHeader,
    pub genesis: Hash,
    pub head: Hash,
    pub subjects: usize,
    pub events: usize,
    /// Subjects with a ballot in force.
    pub ballots: usize,
    /// The recomputed statutory tally per question (equal to the export's `tally` lines).
    pub tallies: Vec<Tally>,
}

/// Where a receipt was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptMatch {
    pub line: usize,
    pub seq: u64,
    pub kind: EventKind,
    pub sid: Sid,
    pub answers: Vec<Option<Choice>>,
    /// The ballot is the subject's ballot in force at the end (not changed or superseded, and
    /// for paper: confirmed).
    pub in_force: bool,
}

struct Verified {
    report: VerifyReport,
    replay: Replay,
    receipt: Option<ReceiptMatch>,
}

fn err(line: usize, kind: VerifyErrorKind) -> VerifyError {
    VerifyError {
        line,
        event: None,
        kind,
    }
}

/// Splits `line` into `n` fields after `tag ` (single spaces).
fn fields<'a>(line: &'a str, tag: &str, n: usize) -> Option<Vec<&'a str>> {
    let rest = line.strip_prefix(tag)?.strip_prefix(' ')?;
    let v: Vec<&str> = rest.split(' ').collect();
    (v.len() == n).then_some(v)
}

fn dash<T>(s: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Option<T>> {
    if s == "-" { Some(None) } else { parse(s).map(Some) }
}

fn parse_event(line: &str) -> Result<Event, VerifyErrorKind> {
    use VerifyErrorKind::{BadValue, Expected};
    let f = fields(line, "event", 9).ok_or(Expected(
        "`event <seq> <kind> <at> <sid> <area> <answers> <ref> <by> <hash>`",
    ))?;
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    Ok(Event {
        seq: get(0).parse().map_err(|_| BadValue("event number"))?,
        kind: EventKind::parse(get(1)).map_err(|_| BadValue("event kind"))?,
        at: get(2).parse().map_err(|_| BadValue("time"))?,
        sid: Sid::parse(get(3)).ok_or(BadValue("subject id"))?,
        area: dash(get(4), |s| Area::parse(s).ok()).ok_or(BadValue("area"))?,
        answers: dash(get(5), Answers::parse).ok_or(BadValue("answers"))?,
        refers_to: dash(get(6), Hash::parse).ok_or(BadValue("ref"))?,
        by: dash(get(7), Sid::parse).ok_or(BadValue("by"))?,
        hash: Hash::parse(get(8)).ok_or(BadValue("hash"))?,
    })
}

struct SubjectLine {
    line: usize,
    text: String,
}

/// Checks the form of a `subject` line (its content is checked against the events later).
fn check_subject_line(line: &str) -> Result<(), VerifyErrorKind> {
    use VerifyErrorKind::{BadValue, Expected, NotCanonical};
    let f = fields(line, "subject", 3).ok_or(Expected("`subject <sid> <area> <answers>`"))?;
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    let sid = Sid::parse(get(0)).ok_or(BadValue("subject id"))?;
    let area = Area::parse(get(1)).map_err(|_| BadValue("area"))?;
    let answers = dash(get(2), Answers::parse).ok_or(BadValue("answers"))?;
    let canon = format!(
        "subject {sid} {area} {}",
        answers.map_or_else(|| "-".to_owned(), |a| a.to_string())
    );
    if canon == line { Ok(()) } else { Err(NotCanonical) }
}

const TALLY_KEYS: [&str; 10] = [
    "total_area",
    "total_heads",
    "participating_area",
    "participating_heads",
    "yes_area",
    "yes_heads",
    "no_area",
    "no_heads",
    "abstain_area",
    "abstain_heads",
];

/// Checks the form of a `tally` line (its figures are recomputed from the events later).
fn check_tally_line(line: &str) -> Result<(), VerifyErrorKind> {
    use VerifyErrorKind::{BadValue, Expected, NotCanonical};
    let f = fields(line, "tally", 13).ok_or(Expected("`tally <q> <outcome> quorum=… total_area=… …`"))?;
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    let q: usize = get(0).parse().map_err(|_| BadValue("question number"))?;
    let outcome = DecisionOutcome::parse(get(1)).map_err(|_| BadValue("outcome"))?;
    let quorum = match get(2) {
        "quorum=met" => "met",
        "quorum=not_met" => "not_met",
        _ => return Err(BadValue("quorum")),
    };
    let mut canon = format!("tally {q} {outcome} quorum={quorum}");
    for (i, key) in TALLY_KEYS.iter().enumerate() {
        let value = get(i + 3)
            .strip_prefix(key)
            .and_then(|v| v.strip_prefix('='))
            .ok_or(BadValue("tally field"))?;
        let value = if key.ends_with("_area") {
            Area::parse(value).map_err(|_| BadValue("area"))?.to_string()
        } else {
            value.parse::<u64>().map_err(|_| BadValue("count"))?.to_string()
        };
        canon.push_str(&format!(" {key}={value}"));
    }
    if canon == line { Ok(()) } else { Err(NotCanonical) }
}

fn verify_inner(bytes: &[u8], receipt: Option<&Hash>) -> Result<Verified, VerifyError> {
    use VerifyErrorKind as K;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes
            .get(..e.valid_up_to())
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1;
        err(line, K::NotUtf8)
    })?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err(err(text.split('\n').count(), K::NoFinalNewline));
    };
    let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l)).peekable();
    let mut next = |what: &'static str, after: usize| lines.next().ok_or(err(after + 1, K::Expected(what)));

    // Header.
    let (n, l) = next("the format line `wuye-ballot-export/1`", 0)?;
    if l != FORMAT {
        return Err(err(n, K::Expected("the format line `wuye-ballot-export/1`")));
    }
    let (n, l) = next("`decision <id>`", n)?;
    let decision = l
        .strip_prefix("decision ")
        .ok_or(err(n, K::Expected("`decision <id>`")))?;
    if !valid_decision_id(decision) {
        return Err(err(n, K::BadValue("decision id")));
    }
    let (n, l) = next("`rule <version>`", n)?;
    let rule = l
        .strip_prefix("rule ")
        .ok_or(err(n, K::Expected("`rule <version>`")))
        .and_then(|v| RuleVersion::parse(v).map_err(|_| err(n, K::BadValue("rule"))))?;
    let (n, l) = next("`mode open|secret`", n)?;
    let mode = l
        .strip_prefix("mode ")
        .ok_or(err(n, K::Expected("`mode open|secret`")))
        .and_then(|v| BallotMode::parse(v).map_err(|_| err(n, K::BadValue("mode"))))?;
    let (n, l) = next("`questions <class>,…`", n)?;
    let classes = l
        .strip_prefix("questions ")
        .ok_or(err(n, K::Expected("`questions <class>,…`")))?
        .split(',')
        .map(|c| ThresholdClass::parse(c).map_err(|_| err(n, K::BadValue("question class"))))
        .collect::<Result<Vec<_>, _>>()?;
    let header = LogHeader {
        decision: decision.to_owned(),
        rule,
        mode,
        classes,
    };
    // Any header line that parsed but is not written exactly as rendered is refused.
    for ((n, line), canon) in body
        .split('\n')
        .enumerate()
        .zip(header.render().split('\n'))
        .take(HEADER_LINES)
    {
        if line != canon {
            return Err(err(n + 1, K::NotCanonical));
        }
    }
    let (n, l) = next("`genesis <hash>`", n)?;
    let declared = l
        .strip_prefix("genesis ")
        .ok_or(err(n, K::Expected("`genesis <hash>`")))
        .and_then(|v| Hash::parse(v).ok_or(err(n, K::BadValue("genesis"))))?;
    let genesis = header.genesis();
    if declared != genesis {
        return Err(err(
            n,
            K::GenesisMismatch {
                declared,
                computed: genesis,
            },
        ));
    }
    let after_genesis = n;

    // Subject and tally lines are checked once the events are replayed.
    let mut subjects = Vec::new();
    while let Some((n, l)) = lines.next_if(|(_, l)| l.starts_with("subject ")) {
        check_subject_line(l).map_err(|k| err(n, k))?;
        subjects.push(SubjectLine {
            line: n,
            text: l.to_owned(),
        });
    }
    let mut tallies = Vec::new();
    while let Some((n, l)) = lines.next_if(|(_, l)| l.starts_with("tally ")) {
        check_tally_line(l).map_err(|k| err(n, k))?;
        tallies.push(SubjectLine {
            line: n,
            text: l.to_owned(),
        });
    }

    // Events: canonical form, hash chain, replay.
    let mut replay = Replay::new(header.classes.len(), header.mode);
    let mut prev = genesis;
    let mut events = 0;
    let mut found: Option<ReceiptMatch> = None;
    let mut last_line = tallies
        .last()
        .or(subjects.last())
        .map_or(after_genesis, |s| s.line);
    while let Some((n, l)) = lines.next_if(|(_, l)| l.starts_with("event ")) {
        last_line = n;
        let e = parse_event(l).map_err(|k| err(n, k))?;
        let at = |kind| VerifyError {
            line: n,
            event: Some(e.seq),
            kind,
        };
        if e.export_line() != l {
            return Err(at(K::NotCanonical));
        }
        let computed = chain(&prev, &e.canonical());
        if computed != e.hash {
            return Err(at(K::HashMismatch {
                declared: e.hash,
                computed,
            }));
        }
        replay.check(&e).map_err(|r| at(K::Replay(r)))?;
        replay.apply(&e);
        if receipt == Some(&e.hash) {
            found = Some(ReceiptMatch {
                line: n,
                seq: e.seq,
                kind: e.kind,
                sid: e.sid,
                answers: e.answers.as_ref().map(Answers::to_vec).unwrap_or_default(),
                in_force: false,
            });
        }
        prev = e.hash;
        events += 1;
    }

    // Head, then nothing.
    let (n, l) = lines.next().ok_or(err(
        last_line + 1,
        K::Expected("a subject, tally, event or `head <hash>` line"),
    ))?;
    let declared = l
        .strip_prefix("head ")
        .ok_or(err(
            n,
            K::Expected("a subject, tally, event or `head <hash>` line"),
        ))
        .and_then(|v| Hash::parse(v).ok_or(err(n, K::BadValue("head"))))?;
    if declared != prev {
        return Err(err(
            n,
            K::HeadMismatch {
                declared,
                computed: prev,
            },
        ));
    }
    if let Some((n, _)) = lines.next() {
        return Err(err(n, K::Trailing));
    }

    // Subject lines against the replayed log, in enrolment order.
    let first_non_subject = subjects.last().map_or(after_genesis, |s| s.line) + 1;
    for (i, slot) in replay.slots.iter().enumerate() {
        let Some(s) = subjects.get(i) else {
            return Err(err(
                first_non_subject,
                K::SubjectMismatch(format!("no subject line for enrolled subject {}", slot.sid)),
            ));
        };
        let expected = subject_line(slot);
        if s.text != expected {
            return Err(err(s.line, K::SubjectMismatch(format!("expected `{expected}`"))));
        }
    }
    if let Some(extra) = subjects.get(replay.slots.len()) {
        return Err(err(
            extra.line,
            K::SubjectMismatch("subject not enrolled in the events".to_owned()),
        ));
    }

    // Tally lines against the recomputed tally.
    let computed = replay.tallies(&header.classes, header.rule);
    let first_non_tally = tallies.last().map_or(first_non_subject, |t| t.line + 1);
    for (q, t) in computed.iter().enumerate() {
        let expected = tally_line(q + 1, t);
        match tallies.get(q) {
            Some(line) if line.text == expected => {}
            Some(line) => return Err(err(line.line, K::TallyMismatch(expected))),
            None => return Err(err(first_non_tally, K::TallyMismatch(expected))),
        }
    }
    if let Some(extra) = tallies.get(computed.len()) {
        return Err(err(extra.line, K::Expected("one tally line per question")));
    }

    if let Some(r) = found.as_mut() {
        r.in_force = replay
            .slot(&r.sid)
            .ok()
            .and_then(|s| s.in_force.as_ref())
            .is_some_and(|b| Some(&b.hash) == receipt);
    }
    let ballots = replay.slots.iter().filter(|s| s.in_force.is_some()).count();
    Ok(Verified {
        report: VerifyReport {
            subjects: replay.slots.len(),
            events,
            ballots,
            tallies: computed,
            genesis,
            head: prev,
            header,
        },
        replay,
        receipt: found,
    })
}

/// Verifies an export: canonical form of every line, the genesis against the header, every
/// event hash in the chain, the rules of the log (sequence, time, one ballot in force per
/// subject, references), every `subject` line and every `tally` line against the events, and
/// the head. The first failure is reported with its line (and event number).
///
/// Compare [`VerifyReport::head`] with the head the committee published to detect a log that
/// was rewritten as a whole.
pub fn verify(export: impl AsRef<[u8]>) -> Result<VerifyReport, VerifyError> {
    verify_inner(export.as_ref(), None).map(|v| v.report)
}

/// Verifies an export and finds the ballot event whose hash is `receipt`.
pub fn find_receipt(export: impl AsRef<[u8]>, receipt: &Hash) -> Result<Option<ReceiptMatch>, VerifyError> {
    verify_inner(export.as_ref(), Some(receipt)).map(|v| v.receipt)
}

/// Why the committee's registration table does not match an export's enrolment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("subject {0} is not on the roll / 表决主体不在名册中")]
    NotOnRoll(SubjectKey),
    #[error("subject {0} is registered twice / 表决主体重复登记")]
    RegisteredTwice(SubjectKey),
    #[error("commitment {0} is registered for two subjects / 承诺值重复")]
    CommitmentTwice(Sid),
    #[error("subject {0} has no registration / 表决主体未登记")]
    NotRegistered(SubjectKey),
    #[error("subject {key}: commitment {sid} is not enrolled in the export / 承诺值未在日志中登记")]
    NotEnrolled { key: SubjectKey, sid: Sid },
    #[error("subject {key}: enrolled with area {enrolled}, roll says {roll} / 登记面积与名册不符")]
    AreaDiffers {
        key: SubjectKey,
        roll: Area,
        enrolled: Area,
    },
    #[error("{0} enrolled in the export but registered for no subject / 日志中有未对应表决主体的登记")]
    Unregistered(Sid),
}

/// The committee's audit of an export's enrolment: `registrations` maps each roll subject to
/// its sid (secret ballot: its eligibility commitment; open ballot: its pseudonym). Passes iff
/// the export verifies and the enrolled sids are exactly the roll's subjects, one each, with
/// their areas. Returns the number of subjects.
pub fn audit_enrolment(
    export: impl AsRef<[u8]>,
    roll: &Roll,
    registrations: &[(SubjectKey, Sid)],
) -> Result<usize, AuditError> {
    let v = verify_inner(export.as_ref(), None)?;
    let mut by_subject: HashMap<&str, Sid> = HashMap::with_capacity(registrations.len());
    let mut seen: HashMap<Sid, ()> = HashMap::with_capacity(registrations.len());
    for (key, sid) in registrations {
        if roll.subject_index(key.as_str()).is_none() {
            return Err(AuditError::NotOnRoll(key.clone()));
        }
        if by_subject.insert(key.as_str(), *sid).is_some() {
            return Err(AuditError::RegisteredTwice(key.clone()));
        }
        if seen.insert(*sid, ()).is_some() {
            return Err(AuditError::CommitmentTwice(*sid));
        }
    }
    for s in roll.subjects() {
        let sid = *by_subject
            .get(s.key)
            .ok_or_else(|| AuditError::NotRegistered(s.owned_key()))?;
        let slot = v.replay.slot(&sid).map_err(|_| AuditError::NotEnrolled {
            key: s.owned_key(),
            sid,
        })?;
        if slot.area != s.area {
            return Err(AuditError::AreaDiffers {
                key: s.owned_key(),
                roll: s.area,
                enrolled: slot.area,
            });
        }
    }
    if let Some(extra) = v.replay.slots.iter().find(|s| !seen.contains_key(&s.sid)) {
        return Err(AuditError::Unregistered(extra.sid));
    }
    Ok(roll.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{RollSettings, RoomEntry, Title, tally_questions};

    const SALT: &[u8] = b"decision-salt-0123456789abcdef";

    fn room(id: &str, area: &str, owners: &[&str]) -> RoomEntry {
        RoomEntry {
            id: id.into(),
            area: Area::parse(area).unwrap(),
            parking: false,
            title: if owners.is_empty() {
                Title::Developer
            } else {
                Title::Owners(owners.iter().map(|s| (*s).to_owned()).collect())
            },
        }
    }

    fn roll() -> Roll {
        Roll::build(
            &[
                room("1-101", "89.50", &["P", "S"]),
                room("1-102", "120", &["P"]),
                room("1-201", "75.25", &["Q"]),
                room("1-202", "75.25", &["R"]),
                room("1-301", "100", &["T"]),
                room("1-302", "100", &["U"]),
                room("1-401", "300", &[]),
            ],
            RollSettings::default(),
        )
        .unwrap()
    }

    fn header(mode: BallotMode) -> LogHeader {
        LogHeader {
            decision: "cmp-42:2025-07.covenant".into(),
            rule: RuleVersion::CivilCode,
            mode,
            classes: vec![ThresholdClass::Ordinary, ThresholdClass::Special],
        }
    }

    fn ans(s: &str) -> Option<Vec<Option<Choice>>> {
        Answers::parse(s).map(|a| a.to_vec())
    }

    fn sid(key: &str) -> Sid {
        subject_pseudonym(SALT, &SubjectKey::parse(key).unwrap())
    }

    fn by(v: &str) -> Option<Sid> {
        Some(voter_pseudonym(SALT, v))
    }

    /// An open-ballot log with every kind of event; returns it and P's receipts.
    fn sample() -> (BallotLog, Hash, Hash) {
        let roll = roll();
        let mut log = BallotLog::for_roll(header(BallotMode::Open), 1_750_000_000, SALT, &roll).unwrap();
        let t = 1_750_100_000;
        let first = log
            .append(EventKind::Cast, t, sid("P;S"), ans("yy"), by("P"))
            .unwrap();
        let changed = log
            .append(EventKind::Changed, t + 5, sid("P;S"), ans("yn"), by("S"))
            .unwrap();
        log.append(EventKind::Cast, t + 6, sid("P"), ans("y_"), by("P"))
            .unwrap();
        log.append(EventKind::PaperEntered, t + 7, sid("Q"), ans("na"), by("clerk-1"))
            .unwrap();
        log.append(EventKind::PaperConfirmed, t + 8, sid("Q"), None, by("clerk-2"))
            .unwrap();
        log.append(EventKind::Cast, t + 9, sid("R"), ans("yy"), by("R"))
            .unwrap();
        // R's online ballot withdrawn in favour of a paper one.
        log.append(EventKind::Superseded, t + 10, sid("R"), None, by("clerk-1"))
            .unwrap();
        log.append(
            EventKind::PaperEntered,
            t + 11,
            sid("R"),
            ans("ny"),
            by("clerk-1"),
        )
        .unwrap();
        log.append(EventKind::PaperConfirmed, t + 12, sid("R"), None, by("clerk-2"))
            .unwrap();
        // A paper entry that is withdrawn before confirmation.
        log.append(
            EventKind::PaperEntered,
            t + 13,
            sid("T"),
            ans("yy"),
            by("clerk-1"),
        )
        .unwrap();
        log.append(EventKind::Superseded, t + 14, sid("T"), None, by("clerk-2"))
            .unwrap();
        log.append(
            EventKind::Cast,
            t + 15,
            sid("developer"),
            ans("nn"),
            by("developer"),
        )
        .unwrap();
        (log, first, changed)
    }

    #[test]
    fn export_verifies_and_matches_the_tally() {
        let (log, _, _) = sample();
        let text = log.export();
        let report = verify(&text).unwrap();
        assert_eq!(report.subjects, 7);
        assert_eq!(report.events, 7 + 12);
        assert_eq!(report.ballots, 5, "P;S, P, Q, R, developer");
        assert_eq!(report.head, log.head());
        assert_eq!(report.genesis, log.genesis());
        assert_eq!(report.tallies, log.tallies());
        // Same figures as tallying the answer sheets on the roll directly.
        let roll = roll();
        let final_answers = |key: &str| match key {
            "P;S" => ans("yn"),
            "P" => ans("y_"),
            "Q" => ans("na"),
            "R" => ans("ny"),
            "developer" => ans("nn"),
            _ => None,
        };
        let sheets: Vec<_> = roll.subjects().map(|s| final_answers(s.key)).collect();
        let direct = tally_questions(
            &roll,
            &sheets,
            &header(BallotMode::Open).classes,
            RuleVersion::CivilCode,
        )
        .unwrap();
        assert_eq!(report.tallies, direct);
        // No names, rooms or voter ids in the export.
        for secret in ["1-101", "89.50;", "P;S", "clerk", "developer "] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        assert!(text.starts_with("wuye-ballot-export/1\ndecision cmp-42:2025-07.covenant\n"));
    }

    fn line_of(text: &[u8], pos: usize) -> usize {
        text.iter().take(pos).filter(|&&b| b == b'\n').count() + 1
    }

    #[test]
    fn any_single_byte_change_fails_and_is_located() {
        let (log, _, _) = sample();
        let text = log.export().into_bytes();
        let genesis_line = HEADER_LINES + 1;
        for pos in 0..text.len() {
            for mask in [0x01u8, 0x20, 0x80] {
                let mut bad = text.clone();
                bad[pos] ^= mask;
                let e = verify(&bad).expect_err(&format!("byte {pos} ^ {mask:#x} went unnoticed"));
                let line = line_of(&text, pos);
                // A changed header field shows as a genesis mismatch.
                let ok = e.line == line || (line <= HEADER_LINES && e.line == genesis_line);
                assert!(
                    ok,
                    "byte {pos} {:?} (line {line}: {:?}) ^ {mask:#x}: reported {e}",
                    text[pos] as char,
                    String::from_utf8_lossy(text.split(|&b| b == b'\n').nth(line - 1).unwrap())
                );
            }
        }
    }

    #[test]
    fn errors_name_the_line_and_event() {
        let (log, _, _) = sample();
        let text = log.export();
        // Change R's paper answers in its event line: that event's hash no longer matches.
        let lines: Vec<&str> = text.lines().collect();
        let (n, l) = lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.starts_with("event ") && l.contains(" paper_entered ") && l.contains(" ny "))
            .unwrap();
        let forged = text.replace(l, &l.replace(" ny ", " yy "));
        let e = verify(&forged).unwrap_err();
        assert_eq!(e.line, n + 1);
        let seq: u64 = l.split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(e.event, Some(seq));
        assert!(matches!(e.kind, VerifyErrorKind::HashMismatch { .. }));
        assert!(
            e.to_string()
                .starts_with(&format!("line {} (event {seq}): hash", n + 1)),
            "{e}"
        );
        // Change a subject's summary: the subject line is named.
        let (n, l) = lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.starts_with("subject ") && l.ends_with(" na"))
            .unwrap();
        let e = verify(text.replace(l, &l.replace(" na", " ya"))).unwrap_err();
        assert_eq!(e.line, n + 1);
        assert!(matches!(e.kind, VerifyErrorKind::SubjectMismatch(_)));
        // Drop the last event: the head no longer matches.
        let last_event = lines.iter().rposition(|l| l.starts_with("event ")).unwrap();
        let mut cut: Vec<&str> = lines.clone();
        cut.remove(last_event);
        let e = verify(format!("{}\n", cut.join("\n"))).unwrap_err();
        assert!(matches!(e.kind, VerifyErrorKind::HeadMismatch { .. }), "{e}");
    }

    #[test]
    fn receipts_find_their_line() {
        let (log, first, changed) = sample();
        let text = log.export();
        let m = find_receipt(&text, &changed).unwrap().unwrap();
        assert_eq!(m.kind, EventKind::Changed);
        assert_eq!(m.sid, sid("P;S"));
        assert_eq!(Some(m.answers.clone()), ans("yn"));
        assert!(m.in_force);
        assert!(
            text.lines()
                .nth(m.line - 1)
                .unwrap()
                .ends_with(&changed.to_string())
        );
        let m = find_receipt(&text, &first).unwrap().unwrap();
        assert!(!m.in_force, "replaced by the change");
        assert_eq!(find_receipt(&text, &Hash([7; 32])).unwrap(), None);
    }

    #[test]
    fn the_log_enforces_its_rules() {
        let (mut log, _, _) = sample();
        let t = 1_750_200_000;
        let e = |r| Err(LogError::Replay(r));
        assert_eq!(
            log.append(EventKind::Cast, t, sid("P"), ans("nn"), by("P")),
            e(ReplayError::AlreadyVoted(sid("P")))
        );
        assert_eq!(
            log.append(EventKind::Changed, t, sid("U"), ans("nn"), by("U")),
            e(ReplayError::NothingToChange(sid("U")))
        );
        assert_eq!(
            log.append(EventKind::PaperConfirmed, t, sid("U"), None, by("c")),
            e(ReplayError::NothingToConfirm(sid("U")))
        );
        assert_eq!(
            log.append(EventKind::Superseded, t, sid("U"), None, by("c")),
            e(ReplayError::NothingToSupersede(sid("U")))
        );
        assert_eq!(
            log.append(EventKind::Cast, t, sid("U"), ans("n"), by("U")),
            e(ReplayError::AnswerCount {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            log.append(EventKind::Cast, t, sid("U"), ans("nn"), None),
            e(ReplayError::MissingField {
                kind: EventKind::Cast,
                field: "by"
            })
        );
        assert_eq!(
            log.append(EventKind::Cast, t, Sid([9; 16]), ans("nn"), by("x")),
            e(ReplayError::NotEnrolled(Sid([9; 16])))
        );
        assert_eq!(
            log.append(EventKind::Cast, 5, sid("U"), ans("nn"), by("U")),
            e(ReplayError::TimeGoesBack {
                previous: 1_750_100_015,
                at: 5
            })
        );
        assert!(matches!(
            log.append(EventKind::Enrol, t, Sid([1; 16]), None, None),
            Err(LogError::Replay(ReplayError::MissingField { .. }))
        ));
        // Refused events leave no trace.
        assert!(verify(log.export()).is_ok());
        let bad = LogHeader {
            decision: "has space".into(),
            ..header(BallotMode::Open)
        };
        assert_eq!(
            BallotLog::new(bad, 0, vec![]).unwrap_err(),
            LogError::BadDecisionId("has space".into())
        );
        assert_eq!(
            BallotLog::for_roll(header(BallotMode::Secret), 0, SALT, &roll()).unwrap_err(),
            LogError::NotOpen
        );
    }

    #[test]
    fn secret_ballot_carries_only_commitments() {
        let roll = roll();
        let decision = "cmp-42:2025-07.covenant";
        // The committee hands each subject a random token and keeps the registration table.
        let tokens: Vec<Vec<u8>> = (0..roll.len())
            .map(|i| format!("token-{i}-kq83hd92").into_bytes())
            .collect();
        let registrations: Vec<(SubjectKey, Sid)> = roll
            .subjects()
            .zip(&tokens)
            .map(|(s, t)| (s.owned_key(), eligibility_commitment(decision, t)))
            .collect();
        let enrolment = roll
            .subjects()
            .zip(&registrations)
            .map(|(s, (_, c))| (*c, s.area))
            .collect();
        let mut log = BallotLog::new(header(BallotMode::Secret), 1_750_000_000, enrolment).unwrap();
        let mine = eligibility_commitment(decision, &tokens[0]);
        let receipt = log
            .append(EventKind::Cast, 1_750_000_100, mine, ans("yy"), None)
            .unwrap();
        let other = eligibility_commitment(decision, &tokens[2]);
        log.append(EventKind::Cast, 1_750_000_200, other, ans("nn"), None)
            .unwrap();
        assert_eq!(
            log.append(
                EventKind::Cast,
                1_750_000_300,
                eligibility_commitment(decision, b"forged"),
                ans("yy"),
                None
            ),
            Err(LogError::Replay(ReplayError::NotEnrolled(
                eligibility_commitment(decision, b"forged")
            )))
        );
        assert_eq!(
            log.append(EventKind::Cast, 1_750_000_300, other, ans("yy"), by("x")),
            Err(LogError::Replay(ReplayError::UnexpectedField {
                kind: EventKind::Cast,
                field: "by"
            }))
        );
        let text = log.export();
        let report = verify(&text).unwrap();
        assert_eq!(report.header.mode, BallotMode::Secret);
        assert!(
            text.lines()
                .filter(|l| l.starts_with("event "))
                .all(|l| l.split(' ').nth(8) == Some("-"))
        );
        // The owner finds their ballot from the token alone.
        let m = find_receipt(&text, &receipt).unwrap().unwrap();
        assert_eq!((m.sid, m.in_force), (mine, true));
        // The committee's audit: the enrolled commitments are exactly the roll's subjects.
        assert_eq!(audit_enrolment(&text, &roll, &registrations), Ok(7));
        let mut wrong = registrations.clone();
        wrong[1].1 = Sid([3; 16]);
        assert!(matches!(
            audit_enrolment(&text, &roll, &wrong),
            Err(AuditError::NotEnrolled { .. })
        ));
        assert!(matches!(
            audit_enrolment(&text, &roll, &registrations[1..]),
            Err(AuditError::NotRegistered(_))
        ));
        let swapped: Vec<(SubjectKey, Sid)> = vec![
            (registrations[0].0.clone(), registrations[6].1),
            (registrations[6].0.clone(), registrations[0].1),
        ]
        .into_iter()
        .chain(registrations[1..6].iter().cloned())
        .collect();
        assert!(matches!(
            audit_enrolment(&text, &roll, &swapped),
            Err(AuditError::AreaDiffers { .. })
        ));
    }

    #[test]
    fn hex_ids_are_strict() {
        let h = Hash([0xab; 32]);
        assert_eq!(Hash::parse(&h.to_string()), Some(h));
        assert_eq!(Hash::parse(&h.to_string().to_uppercase()), None);
        assert_eq!(Sid::parse("00"), None);
        assert_eq!(
            ans("yna_"),
            Some(vec![
                Some(Choice::Yes),
                Some(Choice::No),
                Some(Choice::Abstain),
                None
            ])
        );
        assert_eq!(ans(""), None);
        assert_eq!(ans("x"), None);
    }

    /// The canonical line and the chain, pinned to values computed outside this code
    /// (Python's `hashlib`): the writer and the verifier share the line writer, so a change to
    /// it would pass every round trip and break every export already published.
    #[test]
    fn canonical_lines_and_chain_hashes_are_pinned() {
        let event = |seq, kind, at, area, answers: &str, refers_to, by| Event {
            seq,
            kind,
            at,
            sid: Sid([0x11; 16]),
            area,
            answers: Answers::parse(answers),
            refers_to,
            by,
            hash: Hash([0; 32]),
        };
        let prev = Hash([0x01; 32]);
        let enrol = event(
            1,
            EventKind::Enrol,
            1_751_000_000,
            Area::parse("89.5").ok(),
            "",
            None,
            None,
        );
        let sid = "11".repeat(16);
        assert_eq!(enrol.canonical(), format!("1 enrol 1751000000 {sid} 89.50 - - -"));
        assert_eq!(
            chain(&prev, &enrol.canonical()).to_string(),
            "7c97bf6b31dc4965388b8f9aee719cf566c118e281ca419043963299cc718a36"
        );
        let changed = event(
            7,
            EventKind::Changed,
            1_752_000_000,
            None,
            "yna_",
            Some(Hash([0xab; 32])),
            Some(Sid([0x22; 16])),
        );
        assert_eq!(
            changed.canonical(),
            format!(
                "7 changed 1752000000 {sid} - yna_ {} {}",
                "ab".repeat(32),
                "22".repeat(16)
            )
        );
        assert_eq!(
            chain(&prev, &changed.canonical()).to_string(),
            "0fad584b4d0801b8c32b7fc7d05ed91b3c3c2f208a3a4db5e28f8ed7da2c6bfd"
        );
    }

    #[test]
    fn answers_pack_short_ballots_and_keep_long_ones() {
        let letters = ["y", "yna_", &"yn".repeat(16), &"yna".repeat(11), &"_".repeat(200)];
        for text in letters {
            let a = Answers::parse(text).unwrap();
            assert_eq!(a.len(), text.len());
            assert_eq!(a.to_string(), text);
            assert_eq!(Answers::from(a.to_vec()), a, "{text}");
            assert_eq!(Answers::from_slice(&a.to_vec()), a, "{text}");
            let packed = matches!(a.0, Packing::Short { .. });
            assert_eq!(packed, text.len() <= Answers::PACKED, "{text}");
        }
        let a = Answers::parse("yna_").unwrap();
        assert_eq!(
            (a.get(0), a.get(1), a.get(2), a.get(3), a.get(4)),
            (
                Some(Choice::Yes),
                Some(Choice::No),
                Some(Choice::Abstain),
                None,
                None
            )
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"["yes","no","abstain",null]"#
        );
        assert_ne!(Answers::parse("y_"), Answers::parse("y"));
        assert_eq!(Answers::parse(""), None);
        assert_eq!(Answers::parse("yx"), None);
        assert_eq!(Answers::parse(&"y".repeat(40).replace("yy", "yZ")), None);
    }

    /// Sids in ascending order are found through the bucket table; one out of order switches
    /// the index to a map; either way every enrolled sid is found and no other.
    #[test]
    fn slot_index_finds_every_subject_whatever_the_enrolment_order() {
        let sids: Vec<Sid> = (0..3000)
            .map(|i| voter_pseudonym(SALT, &format!("v{i}")))
            .collect();
        let mut sorted = sids.clone();
        sorted.sort_unstable();
        // Chosen sids: many sharing one leading-bits bucket.
        let crowded: Vec<Sid> = (0..500u16)
            .map(|i| {
                let mut b = [0x42; 16];
                b[14..].copy_from_slice(&i.to_be_bytes());
                Sid(b)
            })
            .collect();
        let shuffled: Vec<Sid> = sids.iter().rev().copied().collect();
        for (order, map) in [(&sorted, false), (&crowded, false), (&shuffled, true)] {
            let mut r = Replay::new(1, BallotMode::Secret);
            for (i, sid) in order.iter().enumerate() {
                let e = Event {
                    seq: i as u64 + 1,
                    kind: EventKind::Enrol,
                    at: 1,
                    sid: *sid,
                    area: Some(Area::from_hundredths(100)),
                    answers: None,
                    refers_to: None,
                    by: None,
                    hash: Hash([0; 32]),
                };
                r.check(&e).unwrap();
                r.apply(&e);
                // Found while the enrolment is under way (the table is stale).
                assert_eq!(r.locate(sid), Some(i));
            }
            r.index.build(&r.slots);
            assert_eq!(matches!(r.index, SlotIndex::Map(_)), map);
            for (i, sid) in order.iter().enumerate() {
                assert_eq!(r.locate(sid), Some(i));
                let mut other = *sid;
                other.0[15] ^= 0x80;
                assert!(order.contains(&other) || r.locate(&other).is_none());
            }
            assert_eq!(r.locate(&Sid([0; 16])), None);
            assert_eq!(r.locate(&Sid([0xff; 16])), None);
        }
    }

    fn to_stored(e: &Event) -> StoredEvent {
        StoredEvent {
            seq: e.seq,
            kind: e.kind,
            at: e.at,
            sid: e.sid,
            answers: e.answers.clone(),
            by: e.by,
            hash: e.hash,
        }
    }

    /// The sample's enrolment and its stored (non-enrol) events.
    fn stored_sample() -> (BallotLog, Vec<(Sid, Area)>, Vec<StoredEvent>) {
        let (log, _, _) = sample();
        let enrolment = log
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::Enrol)
            .map(|e| (e.sid, e.area.unwrap_or(Area::ZERO)))
            .collect();
        let stored = log
            .events()
            .iter()
            .filter(|e| e.kind != EventKind::Enrol)
            .map(to_stored)
            .collect();
        (log, enrolment, stored)
    }

    #[test]
    fn restoring_stored_events_rebuilds_the_log_the_appends_built() {
        let (log, enrolment, stored) = stored_sample();
        let at = log.events()[0].at;
        let restored =
            BallotLog::restore(header(BallotMode::Open), at, enrolment.clone(), stored.clone()).unwrap();
        assert_eq!(restored.events(), log.events());
        assert_eq!(restored.head(), log.head());
        assert_eq!(restored.export(), log.export());
        // In two steps, as a cached log catches up with another instance's appends.
        let (a, b) = stored.split_at(5);
        let stepwise = BallotLog::restore(header(BallotMode::Open), at, enrolment, a.to_vec())
            .unwrap()
            .extend_stored(b.to_vec())
            .unwrap();
        assert_eq!(stepwise.export(), log.export());
    }

    #[test]
    fn a_stored_event_altered_anywhere_is_refused_naming_it() {
        let (log, enrolment, stored) = stored_sample();
        let at = log.events()[0].at;
        let restore = |stored: Vec<StoredEvent>, enrolment: Vec<(Sid, Area)>| {
            BallotLog::restore(header(BallotMode::Open), at, enrolment, stored)
        };
        let fault = |r: Result<BallotLog, LogError>| match r {
            Err(LogError::Stored { seq, why }) => (seq, matches!(why, StoredFault::Hash)),
            other => panic!("expected a stored-event error, got {other:?}"),
        };
        for i in 0..stored.len() {
            let seq = stored[i].seq;
            let alter = |f: &dyn Fn(&mut StoredEvent)| {
                let mut s = stored.clone();
                f(&mut s[i]);
                fault(restore(s, enrolment.clone()))
            };
            assert_eq!(alter(&|e| e.at += 1), (seq, true), "time of event {seq}");
            assert_eq!(
                alter(&|e| e.by = by("mallory")),
                (seq, true),
                "actor of event {seq}"
            );
            assert_eq!(alter(&|e| e.hash.0[31] ^= 1).0, seq, "hash of event {seq}");
            if let Some(a) = &stored[i].answers {
                let flipped = Answers::parse(if a.get(0) == Some(Choice::Yes) { "nn" } else { "yy" });
                assert_eq!(
                    alter(&|e| e.answers = flipped.clone()),
                    (seq, true),
                    "answers of event {seq}"
                );
            }
        }
        // A rule broken after an altered hash: the altered hash is the first wrong event.
        let mut s = stored.clone();
        s[1].hash.0[0] ^= 1;
        s[6].kind = EventKind::PaperConfirmed;
        assert_eq!(fault(restore(s, enrolment.clone())), (stored[1].seq, true));
        // A broken rule alone is reported as such.
        let mut s = stored.clone();
        s[0].kind = EventKind::Changed;
        assert_eq!(fault(restore(s, enrolment.clone())), (stored[0].seq, false));
        // An altered enrolment (one subject's area) changes the chain the first stored event
        // hangs from.
        let mut e = enrolment.clone();
        e[2].1 = Area::from_hundredths(e[2].1.hundredths() + 1);
        assert_eq!(fault(restore(stored.clone(), e)), (stored[0].seq, true));
        // Catching up refuses the same way.
        let (a, b) = stored.split_at(5);
        let mut b = b.to_vec();
        b[2].at += 1;
        let held = restore(a.to_vec(), enrolment).unwrap();
        assert_eq!(fault(held.extend_stored(b.clone())), (b[2].seq, true));
    }

    #[test]
    fn a_large_log_is_checked_on_several_cores_with_the_same_verdict() {
        // Enough events for the re-play to hand its refs to a second core that hashes them
        // (PARALLEL_FROM), in several chunks; changed ballots give some events a ref.
        let n = PARALLEL_FROM;
        let h = LogHeader {
            classes: vec![ThresholdClass::Ordinary],
            ..header(BallotMode::Open)
        };
        let enrolment: Vec<(Sid, Area)> = (0..n)
            .map(|i| (sid(&format!("o{i}")), Area::from_hundredths(5_000 + i as i64)))
            .collect();
        let mut log = BallotLog::new(h.clone(), 1_750_000_000, enrolment.clone()).unwrap();
        for (i, (s, _)) in enrolment.iter().enumerate() {
            let a = if i % 3 == 0 { ans("n") } else { ans("y") };
            log.append(EventKind::Cast, 1_750_000_100, *s, a, by(&format!("o{i}")))
                .unwrap();
        }
        for (i, (s, _)) in enrolment.iter().enumerate().step_by(7) {
            log.append(
                EventKind::Changed,
                1_750_000_200,
                *s,
                ans("a"),
                by(&format!("o{i}")),
            )
            .unwrap();
        }
        assert!(log.events().iter().filter(|e| e.refers_to.is_some()).count() > n / 8);
        let stored: Vec<StoredEvent> = log.events()[n..].iter().map(to_stored).collect();
        let m = stored.len();
        let restored =
            BallotLog::restore(h.clone(), 1_750_000_000, enrolment.clone(), stored.clone()).unwrap();
        assert_eq!(restored.events(), log.events());
        assert_eq!(restored.tallies(), log.tallies());
        // The independent verifier agrees with the chain hashed on several cores.
        assert_eq!(verify(restored.export()).unwrap().head, log.head());
        // A change turned into a cast, far into the log, breaks a rule (the subject already has
        // a ballot): it is named; a wrong hash before it is named first.
        let changed = m - 3;
        assert_eq!(stored[changed].kind, EventKind::Changed);
        let mut s = stored.clone();
        s[changed].kind = EventKind::Cast;
        match BallotLog::restore(h.clone(), 1_750_000_000, enrolment.clone(), s.clone()) {
            Err(LogError::Stored {
                seq,
                why: StoredFault::Rules(ReplayError::AlreadyVoted(_)),
            }) => assert_eq!(seq, stored[changed].seq),
            other => panic!("expected a broken rule at {}, got {other:?}", stored[changed].seq),
        }
        s[n / 3].hash.0[0] ^= 1;
        match BallotLog::restore(h.clone(), 1_750_000_000, enrolment.clone(), s) {
            Err(LogError::Stored {
                seq,
                why: StoredFault::Hash,
            }) => assert_eq!(seq, stored[n / 3].seq),
            other => panic!("expected a hash error at {}, got {other:?}", stored[n / 3].seq),
        }
        // One altered event (the first, one in the middle, a changed ballot whose ref the
        // re-play derives, the last), and another further on: the first is named.
        for i in [0, n / 2 + 17, n + 700, m - 1] {
            let mut s = stored.clone();
            s[i].at += 1;
            if i + 5 < m {
                s[i + 5].hash.0[3] ^= 1;
            }
            match BallotLog::restore(h.clone(), 1_750_000_000, enrolment.clone(), s) {
                Err(LogError::Stored {
                    seq,
                    why: StoredFault::Hash,
                }) => assert_eq!(seq, stored[i].seq),
                other => panic!("expected a hash error at {}, got {other:?}", stored[i].seq),
            }
        }
    }
}
