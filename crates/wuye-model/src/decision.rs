//! Owners' collective decisions (业主共同决定, Civil Code Art. 278; DOMAIN.md §1, R1.1–R1.11,
//! R2.3, R2.9): the nine matters and their threshold class, the roll of voting subjects and the
//! exact tally.
//!
//! **Counting (DOMAIN.md §1.3, R1.6, R1.7).** Every room (exclusive part) belongs to exactly one
//! voting subject. The grouping key ([`SubjectKey`]) is the *exact* sorted set of the room's
//! title-holders, so a couple `{P, S}` and `P` alone are two different subjects; all rooms of the
//! developer (unsold, or sold but not delivered) form one subject. A subject counts one head and
//! the sum of its rooms' areas. Parking spaces and stalls count only when
//! [`RollSettings::parking_counts`] is set — and then an owner of only a parking space is a head.
//!
//! **Arithmetic.** Areas are integer hundredths of m² ([`Area`]); every threshold is an integer
//! cross-multiplication in `i128` (`3·Pa ≥ 2·A`, `2·Ya > Pa`, …), never a division or a float.
//!
//! **Rule versions (R1.11).** A decision whose voting closed before 2021-01-01 is judged under
//! Property Law (物权法) Art. 76 ([`RuleVersion::PropertyLaw`]); otherwise under Civil Code
//! Art. 278 ([`RuleVersion::CivilCode`]). The version is stored in every [`Tally`].

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration};

use crate::decimal::Area;
use crate::enums::{EnumError, Lang};
use crate::figures::percent;

// ---------------------------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------------------------

vocabulary! {
    /// 表决事项 — the nine matters of Civil Code Art. 278 ¶1 (DOMAIN.md §1.1), in statutory order.
    Matter ("matter", "表决事项") {
        RulesOfProcedure = "rules_of_procedure", "制定和修改业主大会议事规则", "Make or amend the rules of procedure";
        Covenant = "covenant", "制定和修改管理规约", "Make or amend the management covenant";
        ElectCommittee = "elect_committee", "选举业主委员会或者更换业主委员会成员", "Elect or replace the owners' committee";
        SelectOrDismissCompany = "select_or_dismiss_company", "选聘和解聘物业服务企业或者其他管理人", "Select or dismiss the property company or other manager";
        UseMaintenanceFund = "use_maintenance_fund", "使用建筑物及其附属设施的维修资金", "Use the maintenance fund";
        RaiseMaintenanceFund = "raise_maintenance_fund", "筹集建筑物及其附属设施的维修资金", "Raise the maintenance fund";
        AlterOrRebuild = "alter_or_rebuild", "改建、重建建筑物及其附属设施", "Alter or rebuild buildings and facilities";
        CommonPartUse = "common_part_use", "改变共有部分的用途或者利用共有部分从事经营活动", "Change the use of common parts or use them for business";
        OtherMajorMatter = "other_major_matter", "有关共有和共同管理权利的其他重大事项", "Other major matter of common ownership or management";
    }
}

vocabulary! {
    /// 表决门槛类别: ordinary matters need more than half of the participants, special matters
    /// three quarters (Civil Code Art. 278 ¶2); under Property Law Art. 76, more than half and
    /// two thirds of *all* owners.
    ThresholdClass ("threshold class", "表决门槛类别") {
        Ordinary = "ordinary", "一般事项", "Ordinary";
        Special = "special", "特别事项", "Special";
    }
}

vocabulary! {
    /// 表决意见 — yes / no / abstain. An abstention is a participation (R1.5).
    Choice ("choice", "表决意见") {
        Yes = "yes", "同意", "Yes";
        No = "no", "反对", "No";
        Abstain = "abstain", "弃权", "Abstain";
    }
}

vocabulary! {
    /// The result of a decision (R1.4): quorum not met is distinct from rejected.
    DecisionOutcome ("decision outcome", "表决结果") {
        Passed = "passed", "通过", "Passed";
        Rejected = "rejected", "未通过", "Rejected";
        QuorumNotMet = "quorum_not_met", "未达到参与表决门槛", "Quorum not met";
    }
}

vocabulary! {
    /// Which statute's counting rule a decision is judged by (R1.11).
    RuleVersion ("rule version", "表决规则版本") {
        CivilCode = "civil_code_278", "民法典第二百七十八条", "Civil Code Art. 278";
        PropertyLaw = "property_law_76", "物权法第七十六条", "Property Law Art. 76";
    }
}

impl RuleVersion {
    /// The Civil Code is in force from this day.
    pub const CIVIL_CODE_IN_FORCE: Date = time::macros::date!(2021 - 01 - 01);

    /// R1.11: voting closed (last voting day) before 2021-01-01 ⇒ Property Law Art. 76; a vote
    /// still open on that day falls under the Civil Code.
    pub fn for_closing_date(closed_on: Date) -> Self {
        if closed_on < Self::CIVIL_CODE_IN_FORCE {
            Self::PropertyLaw
        } else {
            Self::CivilCode
        }
    }
}

impl Matter {
    /// The item number in Civil Code Art. 278 ¶1 (1–9).
    pub const fn item(self) -> u8 {
        match self {
            Self::RulesOfProcedure => 1,
            Self::Covenant => 2,
            Self::ElectCommittee => 3,
            Self::SelectOrDismissCompany => 4,
            Self::UseMaintenanceFund => 5,
            Self::RaiseMaintenanceFund => 6,
            Self::AlterOrRebuild => 7,
            Self::CommonPartUse => 8,
            Self::OtherMajorMatter => 9,
        }
    }

    /// The threshold class under the Civil Code (R1.2, R1.3): items 6, 7 and 8 are special.
    pub const fn class(self) -> ThresholdClass {
        self.class_under(RuleVersion::CivilCode)
    }

    /// The threshold class under `rule`. Property Law Art. 76 put raising **and using** the fund
    /// and altering/rebuilding in its two-thirds class; changing the use of common parts was an
    /// "other major matter" then (SPC-BDO Art. 7, 2009 text), so ordinary.
    pub const fn class_under(self, rule: RuleVersion) -> ThresholdClass {
        match (rule, self) {
            (
                RuleVersion::CivilCode,
                Self::RaiseMaintenanceFund | Self::AlterOrRebuild | Self::CommonPartUse,
            )
            | (
                RuleVersion::PropertyLaw,
                Self::UseMaintenanceFund | Self::RaiseMaintenanceFund | Self::AlterOrRebuild,
            ) => ThresholdClass::Special,
            _ => ThresholdClass::Ordinary,
        }
    }
}

/// Why a proposal's matters were refused (R1.9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    #[error("a proposal needs at least one matter / 议题至少要有一项表决事项")]
    NoMatter,
    #[error(
        "{ordinary} is an ordinary matter and {special} a special one; split the proposal (R1.9) / \
         一般事项与特别事项不能合并表决，请拆分议题"
    )]
    MixedClasses { ordinary: Matter, special: Matter },
}

/// R1.9: the threshold class of a proposal, derived from its matters (never entered by hand);
/// a proposal mixing ordinary and special matters is refused.
pub fn proposal_class(matters: &[Matter], rule: RuleVersion) -> Result<ThresholdClass, ProposalError> {
    let first = matters.first().ok_or(ProposalError::NoMatter)?;
    let class = first.class_under(rule);
    match matters.iter().find(|m| m.class_under(rule) != class) {
        None => Ok(class),
        Some(other) => {
            let (ordinary, special) = if class == ThresholdClass::Ordinary {
                (*first, *other)
            } else {
                (*other, *first)
            };
            Err(ProposalError::MixedClasses { ordinary, special })
        }
    }
}

/// R2.3: the earliest day voting may open after a meeting notice published on `notice_day`:
/// 15 full days must pass, the notice day not counted (Civil Code Art. 201) — day D + 16.
pub fn earliest_voting_day(notice_day: Date) -> Option<Date> {
    notice_day.checked_add(Duration::days(16))
}

// ---------------------------------------------------------------------------------------------
// The roll (表决名册)
// ---------------------------------------------------------------------------------------------

/// The grouping key, and stable id, of a voting subject (R1.6, DOMAIN.md §1.3).
///
/// It is `developer` for the developer's subject, or the title-holder ids sorted (byte order),
/// de-duplicated and joined by `;` — `"o17;o18"` for a couple, `"o17"` for one of them alone:
/// two different subjects. It is derivable from the holders alone, so a voter's ballot is mapped
/// to every subject whose key contains the voter's id. Owner ids therefore may not contain `;`,
/// be empty, carry surrounding whitespace or control characters, or be the word `developer`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectKey(Arc<str>);

impl SubjectKey {
    /// The developer's key, and the voter id the developer votes under.
    pub const DEVELOPER: &'static str = "developer";
    /// Separates the holder ids in a key.
    pub const SEPARATOR: char = ';';

    /// The developer's subject.
    pub fn developer() -> Self {
        Self(Arc::from(Self::DEVELOPER))
    }

    /// The key of a set of title-holders given in any order, possibly repeated.
    pub fn of_holders<S: AsRef<str>>(ids: &[S]) -> Result<Self, HolderIdError> {
        let mut v: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        for id in &v {
            check_holder_id(id)?;
        }
        v.sort_unstable();
        v.dedup();
        if v.is_empty() {
            return Err(HolderIdError::NoHolder);
        }
        Ok(Self(Arc::from(v.join(";"))))
    }

    /// Reads a key written as on the roll: `developer`, or owner ids joined by `;` (in any order;
    /// the result is sorted and de-duplicated).
    pub fn parse(text: &str) -> Result<Self, HolderIdError> {
        if text == Self::DEVELOPER {
            Ok(Self::developer())
        } else {
            Self::of_holders(&text.split(Self::SEPARATOR).collect::<Vec<_>>())
        }
    }

    /// The key as text (`developer` or `id;id;…`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_developer(&self) -> bool {
        &*self.0 == Self::DEVELOPER
    }

    /// The title-holder ids, sorted; none for the developer.
    pub fn holders(&self) -> impl Iterator<Item = &str> {
        let s: &str = if self.is_developer() { "" } else { &self.0 };
        s.split(Self::SEPARATOR).filter(|p| !p.is_empty())
    }
}

impl Borrow<str> for SubjectKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectKey({:?})", &*self.0)
    }
}

impl Serialize for SubjectKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Why an owner id cannot be part of a [`SubjectKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolderIdError {
    #[error("no title-holder / 没有产权人")]
    NoHolder,
    #[error("empty owner id / 业主编号为空")]
    Empty,
    #[error(
        "owner id {0:?} contains ';', whitespace at its ends or a control character / 业主编号含非法字符"
    )]
    BadCharacter(String),
    #[error("owner id \"developer\" is reserved for the developer / \"developer\" 保留给建设单位")]
    Reserved,
}

fn check_holder_id(id: &str) -> Result<(), HolderIdError> {
    if id.is_empty() {
        return Err(HolderIdError::Empty);
    }
    if id == SubjectKey::DEVELOPER {
        return Err(HolderIdError::Reserved);
    }
    if id.contains(SubjectKey::SEPARATOR) || id.trim() != id || id.chars().any(char::is_control) {
        return Err(HolderIdError::BadCharacter(id.to_owned()));
    }
    Ok(())
}

/// Who holds title to a room (owned form, for [`Roll::build`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Title {
    /// Unsold, or sold but not delivered: all such rooms form one subject (R1.6).
    Developer,
    /// The title-holders' owner ids, in any order.
    Owners(Vec<String>),
}

/// Who holds title to a room (borrowed form, for [`RollBuilder::add_room`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleRef<'a> {
    Developer,
    Owners(&'a [&'a str]),
}

/// One room (exclusive part) as input to the roll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    pub id: String,
    /// Exclusive area by R1.8 precedence (register > survey > contract), chosen by the caller.
    pub area: Area,
    /// A parking space or stall (车位、摊位): counted only if [`RollSettings::parking_counts`].
    pub parking: bool,
    pub title: Title,
}

/// Per-compound settings of the roll (R1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollSettings {
    /// Parking spaces and stalls count toward area and heads (the assembly's rules decide;
    /// default: they do not). When they do not, an owner of only parking spaces is not on the
    /// roll (their ballot is refused as from an unknown voter).
    pub parking_counts: bool,
}

/// One voting subject as shown on the roll: one head, the sum of its rooms' areas (R1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subject<'a> {
    /// Its [`SubjectKey`] as text: the grouping key shown on the roll.
    pub key: &'a str,
    pub area: Area,
    /// How many counted rooms it holds.
    pub rooms: u32,
}

impl Subject<'_> {
    /// The key as an owned [`SubjectKey`].
    pub fn owned_key(&self) -> SubjectKey {
        SubjectKey(Arc::from(self.key))
    }

    pub fn is_developer(&self) -> bool {
        self.key == SubjectKey::DEVELOPER
    }

    /// The title-holder ids, sorted; none for the developer.
    pub fn holders(&self) -> impl Iterator<Item = &str> {
        let s = if self.is_developer() { "" } else { self.key };
        s.split(SubjectKey::SEPARATOR).filter(|p| !p.is_empty())
    }
}

/// A room as recorded on the roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomOnRoll<'a> {
    pub id: &'a str,
    pub area: Area,
    pub parking: bool,
    /// Index of its subject on the roll; `None` for an excluded parking space or stall.
    pub subject: Option<usize>,
}

/// Why a room was refused by the roll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollError {
    #[error("room #{position}: empty room id / 房屋编号为空")]
    EmptyRoomId { position: usize },
    #[error("room {room:?} (#{second}) is already listed as #{first} / 房屋重复")]
    DuplicateRoom {
        room: String,
        first: usize,
        second: usize,
    },
    #[error("room {room:?}: {error}")]
    BadHolder { room: String, error: HolderIdError },
    #[error("room {room:?}: negative area / 面积不能为负数")]
    NegativeArea { room: String },
    #[error("total area too large / 面积合计溢出")]
    AreaOverflow,
    #[error("too many rooms or too much text / 房屋数量过多")]
    TooManyRooms,
}

// --- bulk storage: strings in one buffer, looked up by a seeded 64-bit hash ----------------------

/// Strings stored end to end in one buffer (no allocation per string).
#[derive(Debug, Clone, Default)]
struct Arena {
    buf: String,
    ends: Vec<usize>,
}

impl Arena {
    fn with_capacity(strings: usize) -> Self {
        Self {
            buf: String::with_capacity(strings * 10),
            ends: Vec::with_capacity(strings),
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        self.ends.push(self.buf.len());
    }

    fn get(&self, i: usize) -> &str {
        let start = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.buf.get(start..end).unwrap_or("")
    }
}

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// A fast keyed 64-bit hash of a string (not cryptographic; the seed is random per roll so
/// collisions cannot be prepared in advance, and [`StrIndex`] stays exact on a collision).
fn hash64(seed: u64, s: &[u8]) -> u64 {
    let mut h = seed ^ (s.len() as u64).wrapping_mul(MIX);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(MIX).rotate_left(29);
    }
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(chunks.remainder()) {
        *d = *s;
    }
    h = (h ^ u64::from_le_bytes(b)).wrapping_mul(MIX);
    // murmur3 finaliser
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// An exact map from the strings of an [`Arena`] to their index: an open-addressing table of
/// `(tag, index)` pairs (8 bytes) with linear probing, so that a lookup costs one cache line —
/// which is what makes a million rooms fast. The slot is chosen by the low bits of a seeded
/// 64-bit hash, the tag is its high 32 bits; a tag match is confirmed by comparing the string.
#[derive(Debug, Clone)]
struct StrIndex {
    seed: u64,
    /// `(tag, index)`; tag 0 marks an empty slot. Length a power of two, at most 3/4 full.
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl StrIndex {
    fn with_capacity(n: usize) -> Self {
        Self {
            seed: RandomState::new().hash_one(0x5eed_u64),
            slots: vec![(0, 0); (2 * n).max(16).next_power_of_two()],
            len: 0,
        }
    }

    /// (first slot, tag) of a string.
    fn locate(&self, s: &str) -> (usize, u32) {
        let h = hash64(self.seed, s.as_bytes());
        let tag = ((h >> 32) as u32).max(1);
        ((h as usize) & (self.slots.len() - 1), tag)
    }

    /// Reads the first slot of `s` (to have it in cache when [`Self::find`] runs soon after);
    /// returns its content so that the read is not optimised away.
    fn touch(&self, s: &str) -> u32 {
        let (i, _) = self.locate(s);
        self.slots.get(i).map_or(0, |&(t, v)| t ^ v)
    }

    /// The first entry whose tag matches (almost always the string's own), without reading
    /// the arena: for warming caches.
    fn candidate(&self, s: &str) -> Option<u32> {
        let (mut i, tag) = self.locate(s);
        let mask = self.slots.len() - 1;
        loop {
            match self.slots.get(i) {
                Some(&(t, v)) if t == tag => return Some(v),
                Some(&(0, _)) | None => return None,
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    fn find(&self, arena: &Arena, s: &str) -> Option<u32> {
        let (mut i, tag) = self.locate(s);
        let mask = self.slots.len() - 1;
        loop {
            match self.slots.get(i) {
                Some(&(t, v)) if t == tag && arena.get(v as usize) == s => return Some(v),
                Some(&(0, _)) | None => return None,
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// Adds `s` (which must not be present) as index `v`; `arena` holds the strings already
    /// indexed, to re-place them when the table grows.
    fn insert(&mut self, arena: &Arena, s: &str, v: u32) {
        if 4 * (self.len + 1) > 3 * self.slots.len() {
            let bigger = vec![(0, 0); 2 * self.slots.len()];
            let old = std::mem::replace(&mut self.slots, bigger);
            self.len = 0;
            for (_, v) in old.into_iter().filter(|&(t, _)| t != 0) {
                let (i, tag) = self.locate(arena.get(v as usize));
                self.place(i, tag, v);
            }
        }
        let (i, tag) = self.locate(s);
        self.place(i, tag, v);
    }

    fn place(&mut self, mut i: usize, tag: u32, v: u32) {
        let mask = self.slots.len() - 1;
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.0 == 0 {
                *slot = (tag, v);
                self.len += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }
}

const NO_SUBJECT: u32 = u32::MAX;
/// Flag of [`NameMeta::voter`]: the rest is an index into `Roll::voter_lists`.
const MULTI: u32 = 1 << 31;

/// What a name (a subject key, a voter id, or both: `"o17"` is the key of o17's own subject and
/// o17's voter id) stands for. 8 bytes, so that a million of them stay cache-friendly.
#[derive(Debug, Clone, Copy)]
struct NameMeta {
    /// The subject whose key this is, or `NO_SUBJECT`.
    subject: u32,
    /// As a voter: `NO_SUBJECT` (none), the one subject they hold a title in, or
    /// `MULTI | i` for the list `voter_lists[i]`.
    voter: u32,
}

/// Builds a [`Roll`] room by room. Bulk path (used by [`crate::tally_files`]): strings go to
/// arenas, so nothing is allocated per room except the holder list of a co-owned room.
#[derive(Debug, Clone)]
pub struct RollBuilder {
    roll: Roll,
    /// `(hash of room id, room number)`, checked for duplicates by sorting in [`Self::finish`].
    room_hashes: Vec<(u64, u32)>,
    room_seed: u64,
    key_buf: String,
}

impl RollBuilder {
    pub fn new(settings: RollSettings) -> Self {
        Self::with_capacity(settings, 0)
    }

    /// Pre-sizes the tables for about `rooms` rooms.
    pub fn with_capacity(settings: RollSettings, rooms: usize) -> Self {
        Self {
            roll: Roll {
                settings,
                room_ids: Arena::with_capacity(rooms),
                room_area: Vec::with_capacity(rooms),
                room_parking: Vec::with_capacity(rooms),
                room_subject: Vec::with_capacity(rooms),
                names: Arena::with_capacity(rooms),
                name_index: StrIndex::with_capacity(rooms),
                name_meta: Vec::with_capacity(rooms),
                voter_lists: Vec::new(),
                subject_name: Vec::with_capacity(rooms),
                areas: Vec::with_capacity(rooms),
                room_counts: Vec::with_capacity(rooms),
                total_area: Area::ZERO,
            },
            room_hashes: Vec::with_capacity(rooms),
            room_seed: RandomState::new().hash_one(0x0123_u64),
            key_buf: String::new(),
        }
    }

    /// Rooms added so far.
    pub fn rooms(&self) -> usize {
        self.roll.room_area.len()
    }

    /// Reads the table slot of a subject key about to be added (bulk path: warming the slots of
    /// a batch of rooms first lets their cache misses overlap). Returns a value only so that
    /// the read is kept.
    pub(crate) fn warm(&self, key: &str) -> u32 {
        self.roll.name_index.touch(key)
    }

    /// Adds one room. Nothing is changed when it is refused. Duplicate room ids are reported by
    /// [`Self::finish`].
    pub fn add_room(
        &mut self,
        id: &str,
        area: Area,
        parking: bool,
        title: TitleRef<'_>,
    ) -> Result<(), RollError> {
        let r = &mut self.roll;
        let position = r.room_area.len();
        if id.is_empty() {
            return Err(RollError::EmptyRoomId { position });
        }
        let room_no = u32::try_from(position).map_err(|_| RollError::TooManyRooms)?;
        let bad = |error| RollError::BadHolder {
            room: id.to_owned(),
            error,
        };

        // The sorted, de-duplicated holders (borrowed; allocates only for co-owned rooms).
        let sorted_multi: Vec<&str>;
        let holders: &[&str] = match title {
            TitleRef::Developer => &[],
            TitleRef::Owners(ids) => {
                if ids.is_empty() {
                    return Err(bad(HolderIdError::NoHolder));
                }
                for h in ids {
                    check_holder_id(h).map_err(bad)?;
                }
                if ids.len() == 1 {
                    ids
                } else {
                    let mut v = ids.to_vec();
                    v.sort_unstable();
                    v.dedup();
                    sorted_multi = v;
                    &sorted_multi
                }
            }
        };

        let mut subject = NO_SUBJECT;
        if !parking || r.settings.parking_counts {
            let total = r
                .total_area
                .hundredths()
                .checked_add(area.hundredths())
                .ok_or(RollError::AreaOverflow)?;
            self.key_buf.clear();
            if holders.is_empty() {
                self.key_buf.push_str(SubjectKey::DEVELOPER);
            } else {
                for (n, h) in holders.iter().enumerate() {
                    if n > 0 {
                        self.key_buf.push(SubjectKey::SEPARATOR);
                    }
                    self.key_buf.push_str(h);
                }
            }
            let key = self.key_buf.as_str();
            let name = r.name(key)?;
            let existing = r.name_meta.get(name as usize).map_or(NO_SUBJECT, |m| m.subject);
            subject = if existing == NO_SUBJECT {
                let s = u32::try_from(r.areas.len())
                    .ok()
                    .filter(|&s| s < MULTI - 1 && r.voter_lists.len() < (MULTI - 1) as usize)
                    .ok_or(RollError::TooManyRooms)?;
                if let Some(m) = r.name_meta.get_mut(name as usize) {
                    m.subject = s;
                }
                if holders.len() <= 1 {
                    // The key is the voter id (or `developer`).
                    r.add_voter_subject(name, s);
                } else {
                    for h in holders {
                        let v = r.name(h)?;
                        r.add_voter_subject(v, s);
                    }
                }
                r.subject_name.push(name);
                r.areas.push(area);
                r.room_counts.push(1);
                s
            } else {
                let su = existing as usize;
                let (Some(a), Some(n)) = (r.areas.get_mut(su), r.room_counts.get_mut(su)) else {
                    return Err(RollError::TooManyRooms);
                };
                *a = Area::from_hundredths(
                    a.hundredths()
                        .checked_add(area.hundredths())
                        .ok_or(RollError::AreaOverflow)?,
                );
                *n = n.saturating_add(1);
                existing
            };
            r.total_area = Area::from_hundredths(total);
        }
        self.room_hashes
            .push((hash64(self.room_seed, id.as_bytes()), room_no));
        r.room_ids.push(id);
        r.room_area.push(area);
        r.room_parking.push(parking);
        r.room_subject.push(subject);
        Ok(())
    }

    /// The roll, or the first duplicate room id (the pair with the earliest second occurrence).
    pub fn finish(mut self) -> Result<Roll, RollError> {
        self.room_hashes.sort_unstable();
        let mut dup: Option<(u32, u32)> = None;
        let mut i = 0;
        while let Some(&(h, _)) = self.room_hashes.get(i) {
            let mut j = i + 1;
            while self.room_hashes.get(j).is_some_and(|&(hj, _)| hj == h) {
                j += 1;
            }
            // Rooms i..j share a hash (almost always j = i + 1): compare their ids.
            let group = self.room_hashes.get(i..j).unwrap_or(&[]);
            for (a, &(_, ra)) in group.iter().enumerate() {
                for &(_, rb) in group.get(a + 1..).unwrap_or(&[]) {
                    if self.roll.room_ids.get(ra as usize) == self.roll.room_ids.get(rb as usize)
                        && dup.is_none_or(|(_, second)| rb < second)
                    {
                        dup = Some((ra, rb));
                    }
                }
            }
            i = j;
        }
        if let Some((first, second)) = dup {
            return Err(RollError::DuplicateRoom {
                room: self.roll.room_ids.get(first as usize).to_owned(),
                first: first as usize,
                second: second as usize,
            });
        }
        Ok(self.roll)
    }
}

/// The electorate of a decision: voting subjects with their areas, totals `A` and `N`, and the
/// map from each voter id (owner id, or `developer`) to every subject they hold a title in.
///
/// Subjects are listed in the order their first room was added; the index of a subject is its
/// position in [`Roll::subjects`]. Its stable identity across rolls is its [`SubjectKey`].
#[derive(Debug, Clone)]
pub struct Roll {
    settings: RollSettings,
    room_ids: Arena,
    room_area: Vec<Area>,
    room_parking: Vec<bool>,
    room_subject: Vec<u32>,
    /// Subject keys and voter ids.
    names: Arena,
    name_index: StrIndex,
    name_meta: Vec<NameMeta>,
    voter_lists: Vec<Vec<u32>>,
    subject_name: Vec<u32>,
    areas: Vec<Area>,
    room_counts: Vec<u32>,
    total_area: Area,
}

impl Roll {
    /// Builds the roll from rooms and their title-holders.
    pub fn build<'a>(
        rooms: impl IntoIterator<Item = &'a RoomEntry>,
        settings: RollSettings,
    ) -> Result<Self, RollError> {
        let mut b = RollBuilder::new(settings);
        for r in rooms {
            match &r.title {
                Title::Developer => b.add_room(&r.id, r.area, r.parking, TitleRef::Developer)?,
                Title::Owners(ids) => {
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    b.add_room(&r.id, r.area, r.parking, TitleRef::Owners(&ids))?;
                }
            }
        }
        b.finish()
    }

    /// The number of `name`, added if new.
    fn name(&mut self, name: &str) -> Result<u32, RollError> {
        if let Some(n) = self.name_index.find(&self.names, name) {
            return Ok(n);
        }
        let n = u32::try_from(self.names.len()).map_err(|_| RollError::TooManyRooms)?;
        self.name_index.insert(&self.names, name, n);
        self.names.push(name);
        self.name_meta.push(NameMeta {
            subject: NO_SUBJECT,
            voter: NO_SUBJECT,
        });
        Ok(n)
    }

    /// Records that voter `name` holds a title in subject `s`.
    fn add_voter_subject(&mut self, name: u32, s: u32) {
        let lists = self.voter_lists.len() as u32;
        let Some(m) = self.name_meta.get_mut(name as usize) else {
            return;
        };
        if m.voter == NO_SUBJECT {
            m.voter = s;
        } else if m.voter & MULTI == 0 {
            self.voter_lists.push(vec![m.voter, s]);
            m.voter = MULTI | lists;
        } else if let Some(list) = self.voter_lists.get_mut((m.voter & !MULTI) as usize) {
            list.push(s);
        }
    }

    /// The subjects of the voter with name number `name`.
    fn voter_subjects(&self, name: u32) -> &[u32] {
        match self.name_meta.get(name as usize) {
            None => &[],
            Some(m) if m.voter == NO_SUBJECT => &[],
            Some(m) if m.voter & MULTI == 0 => std::slice::from_ref(&m.voter),
            Some(m) => self
                .voter_lists
                .get((m.voter & !MULTI) as usize)
                .map_or(&[], Vec::as_slice),
        }
    }

    fn key_of(&self, subject: usize) -> &str {
        self.subject_name
            .get(subject)
            .map_or("", |&n| self.names.get(n as usize))
    }

    pub fn settings(&self) -> RollSettings {
        self.settings
    }

    /// The voting subjects, in roll order.
    pub fn subjects(&self) -> impl ExactSizeIterator<Item = Subject<'_>> + '_ {
        (0..self.areas.len()).map(|i| Subject {
            key: self.key_of(i),
            area: self.areas.get(i).copied().unwrap_or(Area::ZERO),
            rooms: self.room_counts.get(i).copied().unwrap_or(0),
        })
    }

    /// Subject `i` of the roll.
    pub fn subject(&self, i: usize) -> Option<Subject<'_>> {
        Some(Subject {
            key: self.key_of(i),
            area: *self.areas.get(i)?,
            rooms: self.room_counts.get(i).copied().unwrap_or(0),
        })
    }

    /// The area of every subject, in roll order.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// Number of subjects, `N`.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Total exclusive area `A` of the counted rooms.
    pub fn total_area(&self) -> Area {
        self.total_area
    }

    /// Total headcount `N`.
    pub fn total_heads(&self) -> u64 {
        self.areas.len() as u64
    }

    /// The index of the subject with this key (`developer`, or `id;id;…` sorted).
    pub fn subject_index(&self, key: &str) -> Option<usize> {
        let n = self.name_index.find(&self.names, key)?;
        let s = self.name_meta.get(n as usize)?.subject;
        (s != NO_SUBJECT).then_some(s as usize)
    }

    fn voter_slice(&self, voter: &str) -> Option<&[u32]> {
        let n = self.name_index.find(&self.names, voter)?;
        let s = self.voter_subjects(n);
        (!s.is_empty()).then_some(s)
    }

    /// The subjects a voter (owner id, or `developer`) holds a title in; empty if none.
    pub fn subjects_of(&self, voter: &str) -> impl Iterator<Item = usize> + '_ {
        self.voter_slice(voter).unwrap_or(&[]).iter().map(|&i| i as usize)
    }

    /// Number of rooms, including excluded parking spaces.
    pub fn room_count(&self) -> usize {
        self.room_area.len()
    }

    /// All rooms in input order, including excluded parking spaces.
    pub fn rooms(&self) -> impl Iterator<Item = RoomOnRoll<'_>> {
        (0..self.room_area.len()).map(|i| RoomOnRoll {
            id: self.room_ids.get(i),
            area: self.room_area.get(i).copied().unwrap_or(Area::ZERO),
            parking: self.room_parking.get(i).copied().unwrap_or(false),
            subject: self
                .room_subject
                .get(i)
                .copied()
                .filter(|&s| s != NO_SUBJECT)
                .map(|s| s as usize),
        })
    }

    /// An empty ballot box for this roll.
    pub fn ballot_box(&self) -> BallotBox<'_> {
        BallotBox {
            roll: self,
            marks: vec![Mark::default(); self.len()],
            ballots: 0,
        }
    }
}

/// Why a voter's ballot was refused by the [`BallotBox`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CastError {
    #[error("voter {voter:?} holds no title on the roll / 投票人不在表决名册中")]
    UnknownVoter { voter: String },
    #[error("two ballots for voting subject {subject} (at {first} and {second}) / 同一表决主体有两张选票")]
    Duplicate {
        subject: SubjectKey,
        first: u64,
        second: u64,
    },
}

/// A subject's choice and where it came from (kept together: one memory access per subject).
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    at: u64,
    choice: Option<Choice>,
}

/// Collects one ballot per voter; a voter's ballot counts for every subject they hold a title in.
/// A second ballot reaching a subject is refused with the positions of both.
#[derive(Debug, Clone)]
pub struct BallotBox<'r> {
    roll: &'r Roll,
    marks: Vec<Mark>,
    ballots: u64,
}

impl BallotBox<'_> {
    /// Records `voter`'s ballot; `at` is its position (a line number) used in errors. Returns the
    /// number of subjects it counts for. Nothing is recorded when it is refused.
    pub fn cast(&mut self, voter: &str, choice: Choice, at: u64) -> Result<usize, CastError> {
        let subjects = self
            .roll
            .voter_slice(voter)
            .ok_or_else(|| CastError::UnknownVoter {
                voter: voter.to_owned(),
            })?;
        for &i in subjects {
            if let Some(m) = self.marks.get(i as usize)
                && m.choice.is_some()
            {
                return Err(CastError::Duplicate {
                    subject: SubjectKey(Arc::from(self.roll.key_of(i as usize))),
                    first: m.at,
                    second: at,
                });
            }
        }
        for &i in subjects {
            if let Some(m) = self.marks.get_mut(i as usize) {
                *m = Mark {
                    at,
                    choice: Some(choice),
                };
            }
        }
        self.ballots += 1;
        Ok(subjects.len())
    }

    /// Casts a batch of `(voter, choice, at)` exactly as [`Self::cast`] would one by one, but
    /// first reads the memory each will need, batch-wide, so that the cache misses overlap
    /// (the bulk path for a million ballots). Stops at the first refusal: `(its index, error)`.
    pub fn cast_batch(&mut self, batch: &[(&str, Choice, u64)]) -> Result<(), (usize, CastError)> {
        let roll = self.roll;
        let mut sink = 0u64;
        // 1. the first table slot of each voter
        for (voter, _, _) in batch {
            sink ^= u64::from(roll.name_index.touch(voter));
        }
        // 2. the name entry of each (its end offsets and meta)
        for (voter, _, _) in batch {
            if let Some(v) = roll.name_index.candidate(voter) {
                let v = v as usize;
                sink ^= roll.names.ends.get(v).map_or(0, |&e| e as u64);
                sink ^= v
                    .checked_sub(1)
                    .and_then(|p| roll.names.ends.get(p))
                    .map_or(0, |&e| e as u64);
                sink ^= roll.name_meta.get(v).map_or(0, |m| u64::from(m.voter));
            }
        }
        // 3. the name's text and the mark of its first subject
        for (voter, _, _) in batch {
            if let Some(v) = roll.name_index.candidate(voter) {
                sink ^= roll.names.get(v as usize).len() as u64;
                if let Some(&s) = roll.voter_subjects(v).first() {
                    sink ^= self.marks.get(s as usize).map_or(0, |m| m.at);
                }
            }
        }
        std::hint::black_box(sink);
        for (k, &(voter, choice, at)) in batch.iter().enumerate() {
            self.cast(voter, choice, at).map_err(|e| (k, e))?;
        }
        Ok(())
    }

    /// Takes in the ballots of another box over the same roll, cast from a later part of the
    /// same file (the tally casts two halves at once). `false`, leaving `self` partly merged,
    /// when a subject has a ballot in both: the caller casts again in order to report it.
    pub fn absorb(&mut self, other: BallotBox<'_>) -> bool {
        if !std::ptr::eq(self.roll, other.roll) || self.marks.len() != other.marks.len() {
            return false;
        }
        for (m, o) in self.marks.iter_mut().zip(other.marks) {
            if o.choice.is_some() {
                if m.choice.is_some() {
                    return false;
                }
                *m = o;
            }
        }
        self.ballots += other.ballots;
        true
    }

    /// Ballots accepted.
    pub fn ballots(&self) -> u64 {
        self.ballots
    }

    /// The choice per subject, in roll order (`None` = did not take part).
    pub fn choices(&self) -> Vec<Option<Choice>> {
        self.marks.iter().map(|m| m.choice).collect()
    }

    pub fn into_choices(self) -> Vec<Option<Choice>> {
        self.choices()
    }
}

// ---------------------------------------------------------------------------------------------
// Tally
// ---------------------------------------------------------------------------------------------

/// The raw figures of one question: totals, and area/heads per choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub total_area: Area,
    pub total_heads: u64,
    pub yes_area: Area,
    pub yes_heads: u64,
    pub no_area: Area,
    pub no_heads: u64,
    pub abstain_area: Area,
    pub abstain_heads: u64,
}

fn add_area(a: Area, b: Area) -> Area {
    Area::from_hundredths(a.hundredths().saturating_add(b.hundredths()))
}

impl Counts {
    /// Counts one subject of `area` with its choice (`None` = did not take part).
    pub fn add(&mut self, area: Area, choice: Option<Choice>) {
        self.total_area = add_area(self.total_area, area);
        self.total_heads += 1;
        let (a, h) = match choice {
            None => return,
            Some(Choice::Yes) => (&mut self.yes_area, &mut self.yes_heads),
            Some(Choice::No) => (&mut self.no_area, &mut self.no_heads),
            Some(Choice::Abstain) => (&mut self.abstain_area, &mut self.abstain_heads),
        };
        *a = add_area(*a, area);
        *h += 1;
    }

    /// `Pa`: yes + no + abstain area.
    pub fn participating_area(&self) -> Area {
        add_area(add_area(self.yes_area, self.no_area), self.abstain_area)
    }

    /// `Pn`: yes + no + abstain heads.
    pub fn participating_heads(&self) -> u64 {
        self.yes_heads + self.no_heads + self.abstain_heads
    }
}

/// The result of one question, with every figure R1.10 asks to store and a reason in words.
///
/// Serialised (JSON) with the field names below; areas as decimal strings ("1234.56").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub outcome: DecisionOutcome,
    pub quorum_met: bool,
    pub rule: RuleVersion,
    pub class: ThresholdClass,
    pub total_area: Area,
    pub total_heads: u64,
    pub participating_area: Area,
    pub participating_heads: u64,
    pub yes_area: Area,
    pub yes_heads: u64,
    pub no_area: Area,
    pub no_heads: u64,
    pub abstain_area: Area,
    pub abstain_heads: u64,
    /// The participation test on area / on heads.
    pub quorum_area_met: bool,
    pub quorum_heads_met: bool,
    /// The agreement test on area / on heads (evaluated even when the quorum fails).
    pub yes_area_met: bool,
    pub yes_heads_met: bool,
    /// The reason in Chinese.
    pub reason: String,
    /// The reason in English.
    pub reason_en: String,
}

fn area128(a: Area) -> i128 {
    i128::from(a.hundredths())
}

fn heads128(n: u64) -> i128 {
    i128::from(n)
}

fn pct(part: i128, whole: i128) -> String {
    match (i64::try_from(part), i64::try_from(whole)) {
        (Ok(p), Ok(w)) => percent(p, w).map_or_else(|| "—".to_owned(), |s| format!("{s}%")),
        _ => "—".to_owned(),
    }
}

impl Tally {
    /// Applies `rule` and `class` to the figures.
    ///
    /// * Civil Code (R1.1–R1.3): quorum ⇔ `3·Pa ≥ 2·A` and `3·Pn ≥ 2·N`; ordinary passes ⇔
    ///   `2·Ya > Pa` and `2·Yn > Pn`; special ⇔ `4·Ya ≥ 3·Pa` and `4·Yn ≥ 3·Pn`.
    /// * Property Law Art. 76 (R1.11): quorum (PMR Art. 12 attendance) ⇔ `2·Pa > A` and
    ///   `2·Pn > N`; ordinary passes ⇔ `2·Ya > A` and `2·Yn > N`; special ⇔ `3·Ya ≥ 2·A` and
    ///   `3·Yn ≥ 2·N` (of **all** owners).
    ///
    /// An empty roll (`N = 0`) never meets the quorum.
    pub fn from_counts(c: &Counts, class: ThresholdClass, rule: RuleVersion) -> Self {
        let (ta, tn) = (area128(c.total_area), heads128(c.total_heads));
        let (pa, pn) = (area128(c.participating_area()), heads128(c.participating_heads()));
        let (ya, yn) = (area128(c.yes_area), heads128(c.yes_heads));
        let (quorum_area_met, quorum_heads_met, yes_area_met, yes_heads_met) = match (rule, class) {
            (RuleVersion::CivilCode, ThresholdClass::Ordinary) => {
                (3 * pa >= 2 * ta, 3 * pn >= 2 * tn, 2 * ya > pa, 2 * yn > pn)
            }
            (RuleVersion::CivilCode, ThresholdClass::Special) => (
                3 * pa >= 2 * ta,
                3 * pn >= 2 * tn,
                4 * ya >= 3 * pa,
                4 * yn >= 3 * pn,
            ),
            (RuleVersion::PropertyLaw, ThresholdClass::Ordinary) => {
                (2 * pa > ta, 2 * pn > tn, 2 * ya > ta, 2 * yn > tn)
            }
            (RuleVersion::PropertyLaw, ThresholdClass::Special) => {
                (2 * pa > ta, 2 * pn > tn, 3 * ya >= 2 * ta, 3 * yn >= 2 * tn)
            }
        };
        let quorum_met = tn > 0 && quorum_area_met && quorum_heads_met;
        let outcome = if !quorum_met {
            DecisionOutcome::QuorumNotMet
        } else if yes_area_met && yes_heads_met {
            DecisionOutcome::Passed
        } else {
            DecisionOutcome::Rejected
        };
        let mut t = Self {
            outcome,
            quorum_met,
            rule,
            class,
            total_area: c.total_area,
            total_heads: c.total_heads,
            participating_area: c.participating_area(),
            participating_heads: c.participating_heads(),
            yes_area: c.yes_area,
            yes_heads: c.yes_heads,
            no_area: c.no_area,
            no_heads: c.no_heads,
            abstain_area: c.abstain_area,
            abstain_heads: c.abstain_heads,
            quorum_area_met,
            quorum_heads_met,
            yes_area_met,
            yes_heads_met,
            reason: String::new(),
            reason_en: String::new(),
        };
        t.reason = t.explain(Lang::Zh);
        t.reason_en = t.explain(Lang::En);
        t
    }

    /// The figures back as [`Counts`].
    pub fn counts(&self) -> Counts {
        Counts {
            total_area: self.total_area,
            total_heads: self.total_heads,
            yes_area: self.yes_area,
            yes_heads: self.yes_heads,
            no_area: self.no_area,
            no_heads: self.no_heads,
            abstain_area: self.abstain_area,
            abstain_heads: self.abstain_heads,
        }
    }

    /// The reason in `lang`.
    pub fn reason(&self, lang: Lang) -> &str {
        lang.pick(&self.reason, &self.reason_en)
    }

    fn explain(&self, lang: Lang) -> String {
        let (a, n) = (self.total_area, self.total_heads);
        let (pa, pn) = (self.participating_area, self.participating_heads);
        let (ya, yn) = (self.yes_area, self.yes_heads);
        let op = |ok: bool, yes: &'static str, no: &'static str| if ok { yes } else { no };
        let (qa, qn) = (self.quorum_area_met, self.quorum_heads_met);
        let (sa, sn) = (self.yes_area_met, self.yes_heads_met);
        let civil = self.rule == RuleVersion::CivilCode;
        let special = self.class == ThresholdClass::Special;
        let pa_pct = pct(area128(pa), area128(a));
        let pn_pct = pct(heads128(pn), heads128(n));
        // Agreement is measured against participants (Civil Code) or against all (Property Law).
        let (da, dn) = if civil { (pa, pn) } else { (a, n) };
        let ya_pct = pct(area128(ya), area128(da));
        let yn_pct = pct(heads128(yn), heads128(dn));
        let zh = lang == Lang::Zh;
        let quorum = if civil {
            if zh {
                format!(
                    "参与表决面积 {pa}/{a}（{pa_pct}）{} 2/3，参与人数 {pn}/{n}（{pn_pct}）{} 2/3",
                    op(qa, "≥", "<"),
                    op(qn, "≥", "<")
                )
            } else {
                format!(
                    "participating area {pa}/{a} ({pa_pct}) {} 2/3, participating owners {pn}/{n} ({pn_pct}) {} 2/3",
                    op(qa, "≥", "<"),
                    op(qn, "≥", "<")
                )
            }
        } else if zh {
            format!(
                "参加面积 {pa}/{a}（{pa_pct}）{} 1/2，参加人数 {pn}/{n}（{pn_pct}）{} 1/2",
                op(qa, ">", "≤"),
                op(qn, ">", "≤")
            )
        } else {
            format!(
                "participating area {pa}/{a} ({pa_pct}) {} 1/2, participating owners {pn}/{n} ({pn_pct}) {} 1/2",
                op(qa, ">", "≤"),
                op(qn, ">", "≤")
            )
        };
        let agree = match (civil, special, zh) {
            (true, false, true) => format!(
                "同意面积 {ya}/{pa}（{ya_pct}）{} 参与面积的一半，同意人数 {yn}/{pn}（{yn_pct}）{} 参与人数的一半",
                op(sa, ">", "≤"),
                op(sn, ">", "≤")
            ),
            (true, true, true) => format!(
                "同意面积 {ya}/{pa}（{ya_pct}）{} 参与面积的 3/4，同意人数 {yn}/{pn}（{yn_pct}）{} 参与人数的 3/4",
                op(sa, "≥", "<"),
                op(sn, "≥", "<")
            ),
            (false, false, true) => format!(
                "同意面积 {ya}/{a}（{ya_pct}）{} 总面积的一半，同意人数 {yn}/{n}（{yn_pct}）{} 总人数的一半",
                op(sa, ">", "≤"),
                op(sn, ">", "≤")
            ),
            (false, true, true) => format!(
                "同意面积 {ya}/{a}（{ya_pct}）{} 总面积的 2/3，同意人数 {yn}/{n}（{yn_pct}）{} 总人数的 2/3",
                op(sa, "≥", "<"),
                op(sn, "≥", "<")
            ),
            (true, false, false) => format!(
                "yes area {ya}/{pa} ({ya_pct}) {} half of the participating area, yes owners {yn}/{pn} ({yn_pct}) {} half of the participating owners",
                op(sa, ">", "≤"),
                op(sn, ">", "≤")
            ),
            (true, true, false) => format!(
                "yes area {ya}/{pa} ({ya_pct}) {} 3/4 of the participating area, yes owners {yn}/{pn} ({yn_pct}) {} 3/4 of the participating owners",
                op(sa, "≥", "<"),
                op(sn, "≥", "<")
            ),
            (false, false, false) => format!(
                "yes area {ya}/{a} ({ya_pct}) {} half of the total area, yes owners {yn}/{n} ({yn_pct}) {} half of all owners",
                op(sa, ">", "≤"),
                op(sn, ">", "≤")
            ),
            (false, true, false) => format!(
                "yes area {ya}/{a} ({ya_pct}) {} 2/3 of the total area, yes owners {yn}/{n} ({yn_pct}) {} 2/3 of all owners",
                op(sa, "≥", "<"),
                op(sn, "≥", "<")
            ),
        };
        let basis = if zh {
            format!("{}，{}", self.rule.label_zh(), self.class.label_zh())
        } else {
            format!(
                "{}, {}",
                self.rule.label_en(),
                self.class.label_en().to_lowercase()
            )
        };
        match (self.outcome, zh) {
            (DecisionOutcome::QuorumNotMet, true) => {
                format!("{quorum}。结论：未达到参与表决门槛，不能形成决定（{basis}）")
            }
            (DecisionOutcome::QuorumNotMet, false) => {
                format!("{quorum}. Result: quorum not met, no decision is made ({basis})")
            }
            (o, true) => format!("{quorum}；{agree}。结论：{}（{basis}）", o.label_zh()),
            (o, false) => format!(
                "{quorum}; {agree}. Result: {} ({basis})",
                o.label_en().to_lowercase()
            ),
        }
    }
}

/// Why a tally could not be computed from its inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TallyError {
    #[error("{got} entries for a roll of {expected} subjects / 表决意见数与表决主体数不符")]
    WrongLength { expected: usize, got: usize },
    #[error("subject #{0} is not on the roll / 表决主体不在名册中")]
    UnknownSubject(usize),
    #[error("subject #{subject}: {got} answers on a ballot of {questions} questions / 答案数多于议题数")]
    TooManyAnswers {
        subject: usize,
        got: usize,
        questions: usize,
    },
    #[error("subject #{subject} picked bidder #{bidder} of {bidders} / 所选投标人不存在")]
    UnknownBidder {
        subject: usize,
        bidder: usize,
        bidders: usize,
    },
    #[error("an election needs at least one seat and one candidate / 应选名额与候选人不能为零")]
    NothingToElect,
}

fn check_len<T>(roll: &Roll, v: &[T]) -> Result<(), TallyError> {
    if v.len() == roll.len() {
        Ok(())
    } else {
        Err(TallyError::WrongLength {
            expected: roll.len(),
            got: v.len(),
        })
    }
}

/// The statutory tally of one question: `choices[i]` is the choice of subject `i` of the roll
/// (`None` = did not take part).
pub fn tally(
    roll: &Roll,
    choices: &[Option<Choice>],
    class: ThresholdClass,
    rule: RuleVersion,
) -> Result<Tally, TallyError> {
    check_len(roll, choices)?;
    let mut c = Counts::default();
    for (area, ch) in roll.areas().iter().zip(choices) {
        c.add(*area, *ch);
    }
    Ok(Tally::from_counts(&c, class, rule))
}

// ---------------------------------------------------------------------------------------------
// Silent-owner clause (§1.4, R2.9)
// ---------------------------------------------------------------------------------------------

/// The statutory result and, separately, the result under a "delivered but silent = agrees with
/// the majority" clause of the compound's rules (DOMAIN.md §1.4, R2.9). The statutory result is
/// the primary one; the two are never merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilentClauseResult {
    /// Actual participants only. This is the decision's result.
    pub statutory: Tally,
    /// The side the silent subjects were added to: `Yes` or `No` when it leads the other in both
    /// heads and area among the ballots cast; `None` (nothing added) otherwise.
    pub majority_side: Option<Choice>,
    /// Silent subjects with proof of delivery, added to the majority side.
    pub deemed_heads: u64,
    pub deemed_area: Area,
    /// With the deemed subjects counted as participants on the majority side.
    pub rules_based: Tally,
    pub label: &'static str,
    pub label_en: &'static str,
}

/// Computes both results. `delivered` lists roll indexes of subjects with proof of delivery of
/// the ballot and warning of the consequence; those among them that did not vote are deemed to
/// vote with the majority side in the rules-based result. Repeated indexes count once.
pub fn tally_with_silent_clause(
    roll: &Roll,
    choices: &[Option<Choice>],
    delivered: &[usize],
    class: ThresholdClass,
    rule: RuleVersion,
) -> Result<SilentClauseResult, TallyError> {
    let statutory = tally(roll, choices, class, rule)?;
    let mut deemed = vec![false; roll.len()];
    for &d in delivered {
        let slot = deemed.get_mut(d).ok_or(TallyError::UnknownSubject(d))?;
        *slot = choices.get(d).copied().flatten().is_none();
    }
    let majority_side = if statutory.yes_heads > statutory.no_heads && statutory.yes_area > statutory.no_area
    {
        Some(Choice::Yes)
    } else if statutory.no_heads > statutory.yes_heads && statutory.no_area > statutory.yes_area {
        Some(Choice::No)
    } else {
        None
    };
    let mut c = Counts::default();
    let (mut deemed_heads, mut deemed_area) = (0, Area::ZERO);
    for ((&area, ch), d) in roll.areas().iter().zip(choices).zip(&deemed) {
        let ch = match (*ch, *d, majority_side) {
            (None, true, Some(side)) => {
                deemed_heads += 1;
                deemed_area = add_area(deemed_area, area);
                Some(side)
            }
            (ch, _, _) => ch,
        };
        c.add(area, ch);
    }
    Ok(SilentClauseResult {
        rules_based: Tally::from_counts(&c, class, rule),
        statutory,
        majority_side,
        deemed_heads,
        deemed_area,
        label: "依议事规则“送达未表决视为同意多数意见”条款计算的结果，仅供参考，不是法定结果",
        label_en: "Result under the rules' \"delivered but silent = with the majority\" clause; \
                   for information, not the statutory result",
    })
}

// ---------------------------------------------------------------------------------------------
// Several questions on one ballot; elections; firm selection
// ---------------------------------------------------------------------------------------------

/// One returned ballot sheet: an answer per question, `None` = left blank.
pub type AnswerSheet = Vec<Option<Choice>>;

/// Tallies several questions on one ballot, each independently against the same participation:
/// a subject that returned its sheet (`Some`) participates in every question, and a blank answer
/// counts as an abstention (R1.5 default). `classes[q]` is the class of question `q`.
pub fn tally_questions(
    roll: &Roll,
    sheets: &[Option<AnswerSheet>],
    classes: &[ThresholdClass],
    rule: RuleVersion,
) -> Result<Vec<Tally>, TallyError> {
    check_len(roll, sheets)?;
    for (subject, s) in sheets.iter().enumerate() {
        if let Some(s) = s
            && s.len() > classes.len()
        {
            return Err(TallyError::TooManyAnswers {
                subject,
                got: s.len(),
                questions: classes.len(),
            });
        }
    }
    let mut counts = vec![Counts::default(); classes.len()];
    for (&area, sheet) in roll.areas().iter().zip(sheets) {
        for (q, c) in counts.iter_mut().enumerate() {
            let ch = sheet
                .as_ref()
                .map(|a| a.get(q).copied().flatten().unwrap_or(Choice::Abstain));
            c.add(area, ch);
        }
    }
    Ok(counts
        .iter()
        .zip(classes)
        .map(|(c, &class)| Tally::from_counts(c, class, rule))
        .collect())
}

/// A criterion for ordering candidates who all passed when they outnumber the seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RankKey {
    /// More yes heads first.
    YesHeads,
    /// More yes area first.
    YesArea,
    /// Earlier on the ballot first (always resolves a tie).
    BallotPosition,
}

/// The seat-filling rule of an election (a setting of the rules of procedure, DOMAIN.md §2.2).
///
/// Default order: **yes heads, then yes area, then ballot position** — so with the default every
/// tie is resolved; drop `BallotPosition` to have exact ties reported instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElectionRules {
    pub seats: usize,
    pub order: Vec<RankKey>,
    /// A sheet with more yes answers than seats is spoiled: it still counts as a participation,
    /// with an abstention on every candidate (R1.5). Default: true.
    pub over_vote_spoils: bool,
}

impl ElectionRules {
    pub const DEFAULT_ORDER: [RankKey; 3] = [RankKey::YesHeads, RankKey::YesArea, RankKey::BallotPosition];

    pub fn new(seats: usize) -> Self {
        Self {
            seats,
            order: Self::DEFAULT_ORDER.to_vec(),
            over_vote_spoils: true,
        }
    }
}

/// One candidate's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateResult {
    /// Position on the ballot (0-based).
    pub position: usize,
    /// The candidate's own double-majority tally.
    pub tally: Tally,
    pub elected: bool,
}

/// Candidates who cannot be ordered by the rules for the last seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tie {
    /// Ballot positions of the tied candidates.
    pub candidates: Vec<usize>,
    /// Seats still to fill among them.
    pub seats: usize,
}

/// The result of an election.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElectionResult {
    pub candidates: Vec<CandidateResult>,
    /// Ballot positions of the elected, in rank order.
    pub elected: Vec<usize>,
    /// Seats left for an unresolved tie (none elected from it).
    pub tie: Option<Tie>,
    /// Seats nobody passed for.
    pub vacant_seats: usize,
    /// Sheets spoiled by over-voting.
    pub spoiled_sheets: u64,
}

/// Elects `rules.seats` among `candidates`: each candidate is a question of its own (yes / no /
/// abstain), passing on its own double majority (Art. 278 item 3, ordinary). When more pass
/// than there are seats they are ordered by `rules.order`; candidates equal on every key across
/// the last seat form a [`Tie`] and none of them is elected.
pub fn elect(
    roll: &Roll,
    sheets: &[Option<AnswerSheet>],
    candidates: usize,
    rules: &ElectionRules,
    rule: RuleVersion,
) -> Result<ElectionResult, TallyError> {
    if rules.seats == 0 || candidates == 0 {
        return Err(TallyError::NothingToElect);
    }
    let mut spoiled_sheets = 0;
    let cleaned: Vec<Option<AnswerSheet>> = sheets
        .iter()
        .map(|s| {
            s.as_ref().map(|a| {
                let yes = a.iter().filter(|c| **c == Some(Choice::Yes)).count();
                if rules.over_vote_spoils && yes > rules.seats {
                    spoiled_sheets += 1;
                    vec![Some(Choice::Abstain); a.len()]
                } else {
                    a.clone()
                }
            })
        })
        .collect();
    let class = Matter::ElectCommittee.class_under(rule);
    let tallies = tally_questions(roll, &cleaned, &vec![class; candidates], rule)?;
    let mut passed: Vec<usize> = (0..candidates)
        .filter(|&c| {
            tallies
                .get(c)
                .is_some_and(|t| t.outcome == DecisionOutcome::Passed)
        })
        .collect();
    let cmp = |x: &usize, y: &usize| {
        let (tx, ty) = (tallies.get(*x), tallies.get(*y));
        for key in &rules.order {
            let o = match key {
                RankKey::YesHeads => ty.map(|t| t.yes_heads).cmp(&tx.map(|t| t.yes_heads)),
                RankKey::YesArea => ty.map(|t| t.yes_area).cmp(&tx.map(|t| t.yes_area)),
                RankKey::BallotPosition => x.cmp(y),
            };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    };
    passed.sort_by(cmp);
    let (elected, tie, vacant_seats) = if passed.len() <= rules.seats {
        let vacant = rules.seats - passed.len();
        (passed, None, vacant)
    } else {
        match (passed.get(rules.seats - 1), passed.get(rules.seats)) {
            (Some(last_in), Some(first_out)) if cmp(last_in, first_out).is_eq() => {
                let boundary = *last_in;
                let start = passed.iter().position(|c| cmp(c, &boundary).is_eq()).unwrap_or(0);
                let group: Vec<usize> = passed
                    .iter()
                    .copied()
                    .filter(|c| cmp(c, &boundary).is_eq())
                    .collect();
                let elected: Vec<usize> = passed.get(..start).map(<[usize]>::to_vec).unwrap_or_default();
                let tie = Tie {
                    candidates: group,
                    seats: rules.seats - elected.len(),
                };
                (elected, Some(tie), 0)
            }
            _ => {
                passed.truncate(rules.seats);
                (passed, None, 0)
            }
        }
    };
    let candidates = tallies
        .into_iter()
        .enumerate()
        .map(|(position, tally)| CandidateResult {
            position,
            tally,
            elected: elected.contains(&position),
        })
        .collect();
    Ok(ElectionResult {
        candidates,
        elected,
        tie,
        vacant_seats,
        spoiled_sheets,
    })
}

/// A returned ballot in a firm selection: one bidder, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FirmPick {
    /// Position of the bidder on the ballot (0-based).
    Bidder(usize),
    /// Returned without a pick: counts as a participation, and as an abstention for every bidder.
    Abstain,
}

/// The result of selecting one property company among bidders (Art. 278 item 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmSelection {
    /// Per bidder: yes = ballots picking it; no = ballots picking another bidder; abstain =
    /// ballots picking none; participants = every returned ballot.
    pub bidders: Vec<Tally>,
    /// The bidder that alone has the double majority of participants (more than half of the
    /// participating area **and** heads picked it). With one pick per ballot at most one
    /// bidder can have it; `None` when no bidder does (or the quorum fails) — no firm is selected
    /// and a new round is the assembly's business.
    pub selected: Option<usize>,
}

/// Tallies a one-pick firm selection. `picks[i]` is subject `i`'s ballot (`None` = not returned).
pub fn select_firm(
    roll: &Roll,
    picks: &[Option<FirmPick>],
    bidders: usize,
    rule: RuleVersion,
) -> Result<FirmSelection, TallyError> {
    check_len(roll, picks)?;
    for (subject, p) in picks.iter().enumerate() {
        if let Some(FirmPick::Bidder(b)) = p
            && *b >= bidders
        {
            return Err(TallyError::UnknownBidder {
                subject,
                bidder: *b,
                bidders,
            });
        }
    }
    let class = Matter::SelectOrDismissCompany.class_under(rule);
    let mut counts = vec![Counts::default(); bidders];
    for (&area, p) in roll.areas().iter().zip(picks) {
        for (b, c) in counts.iter_mut().enumerate() {
            let ch = p.map(|p| match p {
                FirmPick::Bidder(x) if x == b => Choice::Yes,
                FirmPick::Bidder(_) => Choice::No,
                FirmPick::Abstain => Choice::Abstain,
            });
            c.add(area, ch);
        }
    }
    let tallies: Vec<Tally> = counts
        .iter()
        .map(|c| Tally::from_counts(c, class, rule))
        .collect();
    let passing: Vec<usize> = (0..bidders)
        .filter(|&b| {
            tallies
                .get(b)
                .is_some_and(|t| t.outcome == DecisionOutcome::Passed)
        })
        .collect();
    let selected = match passing.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    Ok(FirmSelection {
        bidders: tallies,
        selected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn a(text: &str) -> Area {
        Area::parse(text).unwrap()
    }

    fn room(id: impl Into<String>, area: &str, owners: &[&str]) -> RoomEntry {
        RoomEntry {
            id: id.into(),
            area: a(area),
            parking: false,
            title: Title::Owners(owners.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn dev_room(id: impl Into<String>, area: &str) -> RoomEntry {
        RoomEntry {
            id: id.into(),
            area: a(area),
            parking: false,
            title: Title::Developer,
        }
    }

    /// `n` rooms of `area`, room `r{i}` owned by `o{i}`.
    fn uniform(n: usize, area: &str) -> Vec<RoomEntry> {
        (0..n)
            .map(|i| room(format!("r{i}"), area, &[&format!("o{i}")]))
            .collect()
    }

    /// The first `yes` voters vote yes, the next `no` no, the next `abstain` abstain.
    fn ballots(voters: &[String], yes: usize, no: usize, abstain: usize) -> Vec<(String, Choice)> {
        let choices = std::iter::repeat_n(Choice::Yes, yes)
            .chain(std::iter::repeat_n(Choice::No, no))
            .chain(std::iter::repeat_n(Choice::Abstain, abstain));
        voters.iter().cloned().zip(choices).collect()
    }

    fn owners(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("{prefix}{i}")).collect()
    }

    fn cast_all(roll: &Roll, ballots: &[(String, Choice)]) -> Vec<Option<Choice>> {
        let mut b = roll.ballot_box();
        for (line, (voter, choice)) in ballots.iter().enumerate() {
            b.cast(voter, *choice, line as u64 + 2).unwrap();
        }
        b.into_choices()
    }

    struct Case {
        name: &'static str,
        rooms: Vec<RoomEntry>,
        ballots: Vec<(String, Choice)>,
        matter: Matter,
        closed: Date,
        outcome: DecisionOutcome,
        quorum: bool,
        /// A, N, Pa, Pn, Ya, Yn
        figures: (&'static str, u64, &'static str, u64, &'static str, u64),
    }

    fn run(c: &Case) -> Tally {
        let roll = Roll::build(&c.rooms, RollSettings::default()).unwrap();
        let rule = RuleVersion::for_closing_date(c.closed);
        let class = proposal_class(&[c.matter], rule).unwrap();
        tally(&roll, &cast_all(&roll, &c.ballots), class, rule).unwrap()
    }

    const CLOSED: Date = date!(2025 - 06 - 30);

    /// DOMAIN.md §1.7, E1–E10 (E11 below), each roll built from rooms and owners.
    fn worked_examples() -> Vec<Case> {
        use DecisionOutcome::{Passed, QuorumNotMet, Rejected};
        let o300 = owners("o", 0..300);
        let o400 = owners("o", 0..400);
        let o200 = owners("o", 0..200);
        // E7: 100 flats × 90 + a mall of 11 000 owned by M.
        let mut e7_rooms = uniform(100, "90");
        e7_rooms.push(room("mall", "11000", &["M"]));
        let mut e7_ballots = vec![("M".to_owned(), Choice::Yes)];
        e7_ballots.extend(ballots(&owners("o", 0..67), 20, 47, 0));
        // E8: 120 units × 80; X holds r0..r20, o21..o119 one each.
        let e8_rooms: Vec<RoomEntry> = (0..120)
            .map(|i| {
                let o = if i < 21 { "X".to_owned() } else { format!("o{i}") };
                room(format!("r{i}"), "80", &[&o])
            })
            .collect();
        let mut e8_ballots = vec![("X".to_owned(), Choice::Yes)];
        e8_ballots.extend(ballots(&owners("o", 21..87), 30, 36, 0));
        // E9: 30 developer units, 40 couple-owned, 130 single-owned; all × 100.
        let mut e9_rooms: Vec<RoomEntry> = (0..30).map(|i| dev_room(format!("r{i}"), "100")).collect();
        e9_rooms
            .extend((30..70).map(|i| room(format!("r{i}"), "100", &[&format!("h{i}"), &format!("w{i}")])));
        e9_rooms.extend((70..200).map(|i| room(format!("r{i}"), "100", &[&format!("o{i}")])));
        let mut e9_ballots = ballots(&owners("h", 30..70), 40, 0, 0); // husbands vote for couples
        e9_ballots.extend(ballots(&owners("o", 70..144), 40, 34, 0));
        vec![
            Case {
                name: "E1 hire company",
                rooms: uniform(300, "100"),
                ballots: ballots(&o300, 120, 80, 10),
                matter: Matter::SelectOrDismissCompany,
                closed: CLOSED,
                outcome: Passed,
                quorum: true,
                figures: ("30000", 300, "21000", 210, "12000", 120),
            },
            Case {
                name: "E2 covenant, exactly 2/3",
                rooms: uniform(300, "100"),
                ballots: ballots(&o300, 101, 99, 0),
                matter: Matter::Covenant,
                closed: CLOSED,
                outcome: Passed,
                quorum: true,
                figures: ("30000", 300, "20000", 200, "10100", 101),
            },
            Case {
                name: "E3 dismiss company, exactly half is not 过半数",
                rooms: uniform(300, "100"),
                ballots: ballots(&o300, 100, 100, 0),
                matter: Matter::SelectOrDismissCompany,
                closed: CLOSED,
                outcome: Rejected,
                quorum: true,
                figures: ("30000", 300, "20000", 200, "10000", 100),
            },
            Case {
                name: "E4 elect committee, 66 of 100",
                rooms: uniform(100, "90"),
                ballots: ballots(&owners("o", 0..100), 66, 0, 0),
                matter: Matter::ElectCommittee,
                closed: CLOSED,
                outcome: QuorumNotMet,
                quorum: false,
                figures: ("9000", 100, "5940", 66, "5940", 66),
            },
            Case {
                name: "E5 raise fund, exactly 3/4",
                rooms: uniform(400, "100"),
                ballots: ballots(&o400, 210, 70, 0),
                matter: Matter::RaiseMaintenanceFund,
                closed: CLOSED,
                outcome: Passed,
                quorum: true,
                figures: ("40000", 400, "28000", 280, "21000", 210),
            },
            Case {
                name: "E5 with 209 yes",
                rooms: uniform(400, "100"),
                ballots: ballots(&o400, 209, 71, 0),
                matter: Matter::RaiseMaintenanceFund,
                closed: CLOSED,
                outcome: Rejected,
                quorum: true,
                figures: ("40000", 400, "28000", 280, "20900", 209),
            },
            Case {
                name: "E6 lease roof, abstentions count",
                rooms: uniform(200, "100"),
                ballots: ballots(&o200, 110, 20, 20),
                matter: Matter::CommonPartUse,
                closed: CLOSED,
                outcome: Rejected,
                quorum: true,
                figures: ("20000", 200, "15000", 150, "11000", 110),
            },
            Case {
                name: "E6 had the abstainers stayed away",
                rooms: uniform(200, "100"),
                ballots: ballots(&o200, 110, 20, 0),
                matter: Matter::CommonPartUse,
                closed: CLOSED,
                outcome: QuorumNotMet,
                quorum: false,
                figures: ("20000", 200, "13000", 130, "11000", 110),
            },
            Case {
                name: "E7 mall: area passes, heads fail",
                rooms: e7_rooms,
                ballots: e7_ballots,
                matter: Matter::OtherMajorMatter,
                closed: CLOSED,
                outcome: Rejected,
                quorum: true,
                figures: ("20000", 101, "17030", 68, "12800", 21),
            },
            Case {
                name: "E8 owner of 21 units is one head",
                rooms: e8_rooms,
                ballots: e8_ballots,
                matter: Matter::SelectOrDismissCompany,
                closed: CLOSED,
                outcome: Rejected,
                quorum: true,
                figures: ("9600", 100, "6960", 67, "4080", 31),
            },
            Case {
                name: "E9 developer and couples",
                rooms: e9_rooms,
                ballots: e9_ballots,
                matter: Matter::RulesOfProcedure,
                closed: CLOSED,
                outcome: QuorumNotMet,
                quorum: false,
                figures: ("20000", 171, "11400", 114, "8000", 80),
            },
            Case {
                name: "E10 fund use for a lift, both exactly 2/3",
                rooms: uniform(60, "95"),
                ballots: ballots(&owners("o", 0..60), 21, 19, 0),
                matter: Matter::UseMaintenanceFund,
                closed: CLOSED,
                outcome: Passed,
                quorum: true,
                figures: ("5700", 60, "3800", 40, "1995", 21),
            },
            Case {
                name: "E10 closed in 2020: Property Law Art. 76 (2/3 of all)",
                rooms: uniform(60, "95"),
                ballots: ballots(&owners("o", 0..60), 21, 19, 0),
                matter: Matter::UseMaintenanceFund,
                closed: date!(2020 - 12 - 31),
                outcome: Rejected,
                quorum: true,
                figures: ("5700", 60, "3800", 40, "1995", 21),
            },
        ]
    }

    #[test]
    fn worked_examples_e1_to_e10() {
        for c in worked_examples() {
            let t = run(&c);
            let (ta, tn, pa, pn, ya, yn) = c.figures;
            assert_eq!(t.outcome, c.outcome, "{}: {}", c.name, t.reason_en);
            assert_eq!(t.quorum_met, c.quorum, "{}", c.name);
            assert_eq!(
                (
                    t.total_area,
                    t.total_heads,
                    t.participating_area,
                    t.participating_heads,
                    t.yes_area,
                    t.yes_heads
                ),
                (a(ta), tn, a(pa), pn, a(ya), yn),
                "{}",
                c.name
            );
            assert_eq!(
                t.no_heads + t.abstain_heads + t.yes_heads,
                t.participating_heads,
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn e7_and_e10_details() {
        let cases = worked_examples();
        let e7 = run(cases.iter().find(|c| c.name.starts_with("E7")).unwrap());
        assert!(
            e7.yes_area_met && !e7.yes_heads_met,
            "25 600 > 17 030 but 42 ≤ 68"
        );
        let e10_old = run(cases.iter().find(|c| c.name.contains("2020")).unwrap());
        assert_eq!(e10_old.rule, RuleVersion::PropertyLaw);
        assert_eq!(
            e10_old.class,
            ThresholdClass::Special,
            "fund use was a 2/3 matter before 2021"
        );
        assert!(e10_old.reason.contains("物权法第七十六条"), "{}", e10_old.reason);
    }

    #[test]
    fn e8_naive_per_unit_counting_would_wrongly_pass() {
        // Each of X's 21 units treated as its own owner: N = 120, P = 87, Y = 51.
        let rooms: Vec<RoomEntry> = (0..120)
            .map(|i| {
                let o = if i < 21 { format!("X{i}") } else { format!("o{i}") };
                room(format!("r{i}"), "80", &[&o])
            })
            .collect();
        let mut b = ballots(&owners("X", 0..21), 21, 0, 0);
        b.extend(ballots(&owners("o", 21..87), 30, 36, 0));
        let roll = Roll::build(&rooms, RollSettings::default()).unwrap();
        let t = tally(
            &roll,
            &cast_all(&roll, &b),
            ThresholdClass::Ordinary,
            RuleVersion::CivilCode,
        )
        .unwrap();
        assert_eq!((t.total_heads, t.participating_heads, t.yes_heads), (120, 87, 51));
        assert_eq!(t.outcome, DecisionOutcome::Passed);
    }

    #[test]
    fn e9_couples_are_one_head_and_vote_once() {
        let c = worked_examples()
            .into_iter()
            .find(|c| c.name.starts_with("E9"))
            .unwrap();
        let roll = Roll::build(&c.rooms, RollSettings::default()).unwrap();
        assert_eq!(roll.total_heads(), 171, "not 211 (spouses counted separately)");
        assert_eq!(
            roll.subjects_of("h30").collect::<Vec<_>>(),
            roll.subjects_of("w30").collect::<Vec<_>>()
        );
        let dev = roll.subject_index("developer").unwrap();
        assert_eq!(roll.subject(dev).unwrap().area, a("3000"));
        assert_eq!(roll.subject(dev).unwrap().rooms, 30);
        let mut b = roll.ballot_box();
        b.cast("h30", Choice::Yes, 2).unwrap();
        assert_eq!(
            b.cast("w30", Choice::No, 9),
            Err(CastError::Duplicate {
                subject: SubjectKey::of_holders(&["w30", "h30"]).unwrap(),
                first: 2,
                second: 9
            })
        );
    }

    #[test]
    fn e11_rules_based_second_result() {
        let rooms = uniform(1291, "100");
        let roll = Roll::build(&rooms, RollSettings::default()).unwrap();
        let choices = cast_all(&roll, &ballots(&owners("o", 0..703), 417, 278, 8));
        // 588 did not return a ballot; 584 of them (o703..o1286) have proof of delivery.
        let delivered: Vec<usize> = (703..1287)
            .map(|i| roll.subject_index(&format!("o{i}")).unwrap())
            .collect();
        let r = tally_with_silent_clause(
            &roll,
            &choices,
            &delivered,
            ThresholdClass::Ordinary,
            RuleVersion::CivilCode,
        )
        .unwrap();
        assert_eq!(
            r.statutory.outcome,
            DecisionOutcome::QuorumNotMet,
            "703·3 = 2109 < 2582"
        );
        assert_eq!(r.statutory.participating_heads, 703);
        assert_eq!(r.majority_side, Some(Choice::Yes));
        assert_eq!((r.deemed_heads, r.deemed_area), (584, a("58400")));
        assert_eq!(r.rules_based.outcome, DecisionOutcome::Passed);
        assert_eq!(
            (r.rules_based.participating_heads, r.rules_based.yes_heads),
            (1287, 1001)
        );
        // The statutory result is untouched by the clause.
        assert_eq!(
            r.statutory,
            tally(&roll, &choices, ThresholdClass::Ordinary, RuleVersion::CivilCode).unwrap()
        );
        // Voters are never deemed; indexes are checked.
        let voted = roll.subject_index("o0").unwrap();
        let r2 = tally_with_silent_clause(
            &roll,
            &choices,
            &[voted],
            ThresholdClass::Ordinary,
            RuleVersion::CivilCode,
        )
        .unwrap();
        assert_eq!(r2.deemed_heads, 0);
        assert_eq!(
            tally_with_silent_clause(
                &roll,
                &choices,
                &[5000],
                ThresholdClass::Ordinary,
                RuleVersion::CivilCode
            ),
            Err(TallyError::UnknownSubject(5000))
        );
    }

    #[test]
    fn reason_in_words() {
        let t = run(&worked_examples()[0]);
        assert_eq!(
            t.reason,
            "参与表决面积 21000.00/30000.00（70.00%）≥ 2/3，参与人数 210/300（70.00%）≥ 2/3；\
             同意面积 12000.00/21000.00（57.14%）> 参与面积的一半，同意人数 120/210（57.14%）> 参与人数的一半。\
             结论：通过（民法典第二百七十八条，一般事项）"
        );
        assert_eq!(
            t.reason_en,
            "participating area 21000.00/30000.00 (70.00%) ≥ 2/3, participating owners 210/300 (70.00%) ≥ 2/3; \
             yes area 12000.00/21000.00 (57.14%) > half of the participating area, yes owners 120/210 (57.14%) > \
             half of the participating owners. Result: passed (Civil Code Art. 278, ordinary)"
        );
        let e4 = run(&worked_examples()[3]);
        assert!(e4.reason.contains("人数 66/100（66.00%）< 2/3") && e4.reason.contains("未达到参与表决门槛"));
        assert_eq!(e4.reason(Lang::En), e4.reason_en);
    }

    #[test]
    fn matters_and_classes() {
        assert_eq!(Matter::ALL.len(), 9);
        for (i, m) in Matter::ALL.iter().enumerate() {
            assert_eq!(usize::from(m.item()), i + 1);
            let special = matches!(m.item(), 6..=8);
            assert_eq!(m.class() == ThresholdClass::Special, special, "{m}");
        }
        assert_eq!(
            Matter::parse("筹集建筑物及其附属设施的维修资金"),
            Ok(Matter::RaiseMaintenanceFund)
        );
        assert_eq!(
            proposal_class(
                &[Matter::Covenant, Matter::RulesOfProcedure],
                RuleVersion::CivilCode
            ),
            Ok(ThresholdClass::Ordinary)
        );
        assert_eq!(
            proposal_class(
                &[Matter::AlterOrRebuild, Matter::Covenant],
                RuleVersion::CivilCode
            ),
            Err(ProposalError::MixedClasses {
                ordinary: Matter::Covenant,
                special: Matter::AlterOrRebuild
            })
        );
        assert_eq!(
            proposal_class(&[], RuleVersion::CivilCode),
            Err(ProposalError::NoMatter)
        );
        // Under Property Law fund use was special, so this mix was refused then.
        assert!(
            proposal_class(
                &[Matter::UseMaintenanceFund, Matter::Covenant],
                RuleVersion::CivilCode
            )
            .is_ok()
        );
        assert!(
            proposal_class(
                &[Matter::UseMaintenanceFund, Matter::Covenant],
                RuleVersion::PropertyLaw
            )
            .is_err()
        );
        assert_eq!(
            Matter::CommonPartUse.class_under(RuleVersion::PropertyLaw),
            ThresholdClass::Ordinary
        );
    }

    #[test]
    fn rule_version_by_closing_date_and_notice_period() {
        assert_eq!(
            RuleVersion::for_closing_date(date!(2020 - 12 - 31)),
            RuleVersion::PropertyLaw
        );
        assert_eq!(
            RuleVersion::for_closing_date(date!(2021 - 01 - 01)),
            RuleVersion::CivilCode
        );
        // R2.3: notice on 1 March → voting from 17 March.
        assert_eq!(
            earliest_voting_day(date!(2025 - 03 - 01)),
            Some(date!(2025 - 03 - 17))
        );
    }

    #[test]
    fn grouping_key_is_the_exact_set_of_holders() {
        let mut rooms = vec![
            room("101", "90", &["P", "S"]),
            room("102", "80", &["P"]),
            room("103", "70", &["S", "P", "S"]),
            dev_room("104", "60"),
            dev_room("105", "50"),
        ];
        rooms.push(RoomEntry {
            parking: true,
            ..room("B1-07", "12.5", &["Q"])
        });
        let roll = Roll::build(&rooms, RollSettings::default()).unwrap();
        let keys: Vec<(&str, Area, u32)> = roll.subjects().map(|s| (s.key, s.area, s.rooms)).collect();
        assert_eq!(
            keys,
            vec![
                ("P;S", a("160"), 2),
                ("P", a("80"), 1),
                ("developer", a("110"), 2)
            ]
        );
        assert_eq!((roll.total_area(), roll.total_heads()), (a("350"), 3));
        assert_eq!(roll.subject(0).unwrap().holders().collect::<Vec<_>>(), ["P", "S"]);
        assert!(roll.subject(2).unwrap().is_developer());
        assert_eq!(
            roll.subjects_of("P").collect::<Vec<_>>(),
            [0, 1],
            "P's ballot counts for both"
        );
        assert_eq!(roll.subjects_of("developer").collect::<Vec<_>>(), [2]);
        assert_eq!(
            roll.rooms().last().unwrap().subject,
            None,
            "parking excluded by default"
        );
        let mut b = roll.ballot_box();
        assert_eq!(
            b.cast("Q", Choice::Yes, 7),
            Err(CastError::UnknownVoter { voter: "Q".into() })
        );
        assert_eq!(b.cast("P", Choice::Yes, 2), Ok(2));
        assert!(matches!(
            b.cast("S", Choice::No, 3),
            Err(CastError::Duplicate {
                first: 2,
                second: 3,
                ..
            })
        ));
        // With parking counted, Q is a head.
        let roll = Roll::build(&rooms, RollSettings { parking_counts: true }).unwrap();
        assert_eq!((roll.total_area(), roll.total_heads()), (a("362.50"), 4));
        assert_eq!(SubjectKey::of_holders(&["S", "P", "P"]).unwrap().as_str(), "P;S");
        assert_eq!(SubjectKey::parse("S;P").unwrap().as_str(), "P;S");
        assert!(SubjectKey::parse("developer").unwrap().is_developer());
        assert_eq!(SubjectKey::parse("P;developer"), Err(HolderIdError::Reserved));
    }

    #[test]
    fn refuses_bad_rooms() {
        let dup = Roll::build(
            &[
                room("1", "1", &["a"]),
                room("2", "1", &["b"]),
                room("1", "1", &["c"]),
            ],
            RollSettings::default(),
        );
        assert_eq!(
            dup.unwrap_err(),
            RollError::DuplicateRoom {
                room: "1".into(),
                first: 0,
                second: 2
            }
        );
        for (owners, error) in [
            (vec![""], HolderIdError::Empty),
            (vec!["developer"], HolderIdError::Reserved),
            (vec!["a;b"], HolderIdError::BadCharacter("a;b".into())),
            (vec![" a"], HolderIdError::BadCharacter(" a".into())),
            (vec![], HolderIdError::NoHolder),
        ] {
            let r = Roll::build(&[room("1", "1", &owners)], RollSettings::default());
            assert_eq!(
                r.unwrap_err(),
                RollError::BadHolder {
                    room: "1".into(),
                    error
                }
            );
        }
        let huge = Area::from_hundredths(i64::MAX);
        let mut big = room("1", "1", &["a"]);
        big.area = huge;
        assert_eq!(
            Roll::build(
                &[
                    big.clone(),
                    RoomEntry {
                        id: "2".into(),
                        ..big
                    }
                ],
                RollSettings::default()
            )
            .unwrap_err(),
            RollError::AreaOverflow
        );
    }

    #[test]
    fn the_index_grows_and_stays_exact() {
        // Start small so the open-addressing table has to grow several times.
        let mut b = RollBuilder::new(RollSettings::default());
        for i in 0..5000 {
            b.add_room(
                &format!("r{i}"),
                a("1"),
                false,
                TitleRef::Owners(&[&format!("o{}", i / 2)]),
            )
            .unwrap();
        }
        let roll = b.finish().unwrap();
        assert_eq!(roll.len(), 2500);
        for i in (0..2500).step_by(97) {
            assert_eq!(roll.subject_index(&format!("o{i}")), Some(i));
            assert_eq!(roll.subject(i).unwrap().area, a("2"));
        }
        assert_eq!(roll.subject_index("o2500"), None);
        assert_eq!(roll.subject_index("r1"), None, "room ids are not names");
    }

    #[test]
    fn several_questions_share_participation() {
        let roll = Roll::build(&uniform(10, "100"), RollSettings::default()).unwrap();
        let mut sheets: Vec<Option<AnswerSheet>> = vec![None; 10];
        for (i, s) in sheets.iter_mut().enumerate().take(8) {
            // Question 1: yes from all 8; question 2: 6 yes, 2 blank (= abstain).
            *s = Some(vec![
                Some(Choice::Yes),
                if i < 6 { Some(Choice::Yes) } else { None },
            ]);
        }
        let classes = [ThresholdClass::Ordinary, ThresholdClass::Special];
        let t = tally_questions(&roll, &sheets, &classes, RuleVersion::CivilCode).unwrap();
        assert_eq!(t[0].participating_heads, 8);
        assert_eq!(t[1].participating_heads, 8);
        assert_eq!((t[1].yes_heads, t[1].abstain_heads), (6, 2));
        assert_eq!(t[0].outcome, DecisionOutcome::Passed);
        assert_eq!(t[1].outcome, DecisionOutcome::Passed, "6/8 = 3/4 exactly");
        sheets[0] = Some(vec![None; 3]);
        assert_eq!(
            tally_questions(&roll, &sheets, &classes, RuleVersion::CivilCode),
            Err(TallyError::TooManyAnswers {
                subject: 0,
                got: 3,
                questions: 2
            })
        );
        assert!(matches!(
            tally(&roll, &[None], ThresholdClass::Ordinary, RuleVersion::CivilCode),
            Err(TallyError::WrongLength { expected: 10, got: 1 })
        ));
    }

    fn sheet(answers: &str) -> Option<AnswerSheet> {
        Some(
            answers
                .chars()
                .map(|c| match c {
                    'y' => Some(Choice::Yes),
                    'n' => Some(Choice::No),
                    'a' => Some(Choice::Abstain),
                    _ => None,
                })
                .collect(),
        )
    }

    #[test]
    fn election_fills_seats_by_the_written_order() {
        // 10 owners; candidate areas differ so that yes-area can break a head tie.
        let rooms: Vec<RoomEntry> = (0..10)
            .map(|i| room(format!("r{i}"), &format!("{}", 100 + i), &[&format!("o{i}")]))
            .collect();
        let roll = Roll::build(&rooms, RollSettings::default()).unwrap();
        // Candidates A B C D E; 2 seats. A: 9 yes; B: 7 yes (o0..o6); C: 7 yes (o3..o9, more area);
        // D: 6 yes; E: 2 yes (fails).
        let sheets: Vec<Option<AnswerSheet>> = vec![
            sheet("yynyn"),
            sheet("yynyn"),
            sheet("yynyy"),
            sheet("nyyyy"),
            sheet("yyyyn"),
            sheet("yyyyn"),
            sheet("yyynn"),
            sheet("ynynn"),
            sheet("ynynn"),
            sheet("ynynn"),
        ];
        let rules = ElectionRules {
            over_vote_spoils: false,
            ..ElectionRules::new(2)
        };
        let r = elect(&roll, &sheets, 5, &rules, RuleVersion::CivilCode).unwrap();
        let passed: Vec<usize> = r
            .candidates
            .iter()
            .filter(|c| c.tally.outcome == DecisionOutcome::Passed)
            .map(|c| c.position)
            .collect();
        assert_eq!(passed, [0, 1, 2, 3]);
        // A (9 heads) first, then B and C tie on 7 heads; C has more yes area.
        assert_eq!(r.elected, [0, 2]);
        assert_eq!((r.tie.as_ref(), r.vacant_seats), (None, 0));
        // Heads only: B and C cannot be ordered → a tie for the last seat.
        let heads_only = ElectionRules {
            order: vec![RankKey::YesHeads],
            ..rules.clone()
        };
        let r = elect(&roll, &sheets, 5, &heads_only, RuleVersion::CivilCode).unwrap();
        assert_eq!(r.elected, [0]);
        assert_eq!(
            r.tie,
            Some(Tie {
                candidates: vec![1, 2],
                seats: 1
            })
        );
        // Over-voting spoils a sheet (it still participates, as abstentions).
        let r = elect(&roll, &sheets, 5, &ElectionRules::new(2), RuleVersion::CivilCode).unwrap();
        assert_eq!(r.spoiled_sheets, 7, "sheets with more than 2 yes");
        assert!(r.elected.is_empty());
        assert_eq!(r.vacant_seats, 2);
        assert_eq!(r.candidates[0].tally.participating_heads, 10);
        assert_eq!(
            elect(&roll, &sheets, 5, &ElectionRules::new(0), RuleVersion::CivilCode),
            Err(TallyError::NothingToElect)
        );
    }

    #[test]
    fn firm_selection_needs_a_double_majority_of_participants() {
        let roll = Roll::build(&uniform(12, "100"), RollSettings::default()).unwrap();
        let pick = |b| Some(FirmPick::Bidder(b));
        let mut picks = vec![pick(0); 6];
        picks.extend([pick(1), pick(1), pick(2), Some(FirmPick::Abstain), None, None]);
        let r = select_firm(&roll, &picks, 3, RuleVersion::CivilCode).unwrap();
        // 10 participants; bidder 0 has 6 > 5 heads and area.
        assert_eq!(r.selected, Some(0));
        assert_eq!(
            (
                r.bidders[0].yes_heads,
                r.bidders[0].no_heads,
                r.bidders[0].abstain_heads
            ),
            (6, 3, 1)
        );
        // 5 of 10 is not more than half.
        picks[5] = pick(2);
        let r = select_firm(&roll, &picks, 3, RuleVersion::CivilCode).unwrap();
        assert_eq!(r.selected, None);
        assert!(r.bidders.iter().all(|t| t.outcome == DecisionOutcome::Rejected));
        picks[0] = pick(3);
        assert!(matches!(
            select_firm(&roll, &picks, 3, RuleVersion::CivilCode),
            Err(TallyError::UnknownBidder {
                subject: 0,
                bidder: 3,
                ..
            })
        ));
    }

    // --- properties ---------------------------------------------------------------------------

    fn arb_rooms() -> impl Strategy<Value = Vec<RoomEntry>> {
        prop::collection::vec((1i64..50_000, prop::collection::vec(0u8..12, 0..3)), 1..30).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (area, owners))| RoomEntry {
                    id: format!("r{i}"),
                    area: Area::from_hundredths(area),
                    parking: false,
                    title: if owners.is_empty() {
                        Title::Developer
                    } else {
                        Title::Owners(owners.iter().map(|o| format!("p{o}")).collect())
                    },
                })
                .collect()
        })
    }

    fn arb_choice() -> impl Strategy<Value = Choice> {
        prop_oneof![Just(Choice::Yes), Just(Choice::No), Just(Choice::Abstain)]
    }

    /// Ballots of the voters `p0..p11` and `developer`, keeping only those that do not collide.
    fn accepted(roll: &Roll, wanted: &[(u8, Choice)]) -> Vec<(String, Choice)> {
        let mut b = roll.ballot_box();
        let mut ok = Vec::new();
        for (v, c) in wanted {
            let voter = if *v == 12 {
                "developer".to_owned()
            } else {
                format!("p{v}")
            };
            if b.cast(&voter, *c, 0).is_ok() {
                ok.push((voter, *c));
            }
        }
        ok
    }

    fn class_of(special: bool) -> ThresholdClass {
        if special {
            ThresholdClass::Special
        } else {
            ThresholdClass::Ordinary
        }
    }

    proptest! {
        #[test]
        fn tally_does_not_depend_on_ballot_order(
            rooms in arb_rooms(),
            wanted in prop::collection::vec((0u8..13, arb_choice()), 0..20),
            seed in any::<u64>(),
            special in any::<bool>(),
        ) {
            let roll = Roll::build(&rooms, RollSettings::default()).unwrap();
            let ballots = accepted(&roll, &wanted);
            let mut shuffled = ballots.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let class = class_of(special);
            let t1 = tally(&roll, &cast_all(&roll, &ballots), class, RuleVersion::CivilCode).unwrap();
            let t2 = tally(&roll, &cast_all(&roll, &shuffled), class, RuleVersion::CivilCode).unwrap();
            prop_assert_eq!(t1, t2);
        }

        #[test]
        fn a_new_silent_owner_can_only_break_the_quorum(
            rooms in arb_rooms(),
            wanted in prop::collection::vec((0u8..13, arb_choice()), 0..20),
            extra in 0i64..100_000,
            special in any::<bool>(),
        ) {
            let roll = Roll::build(&rooms, RollSettings::default()).unwrap();
            let ballots = accepted(&roll, &wanted);
            let class = class_of(special);
            let before = tally(&roll, &cast_all(&roll, &ballots), class, RuleVersion::CivilCode).unwrap();
            let mut more = rooms.clone();
            more.push(RoomEntry {
                id: "new-room".into(),
                area: Area::from_hundredths(extra),
                parking: false,
                title: Title::Owners(vec!["newcomer".into()]),
            });
            let roll = Roll::build(&more, RollSettings::default()).unwrap();
            let after = tally(&roll, &cast_all(&roll, &ballots), class, RuleVersion::CivilCode).unwrap();
            prop_assert_eq!(after.total_heads, before.total_heads + 1);
            prop_assert!(
                after.outcome == before.outcome || after.outcome == DecisionOutcome::QuorumNotMet,
                "{:?} -> {:?}", before.outcome, after.outcome
            );
        }

        #[test]
        fn thresholds_match_exact_rational_comparison(
            total in 1u64..500, p in 0u64..500, y in 0u64..500,
        ) {
            // Uniform areas: the area tests equal the head tests; compare with a direct count.
            let p = p.min(total);
            let y = y.min(p);
            let c = Counts {
                total_area: Area::from_hundredths(100 * total as i64),
                total_heads: total,
                yes_area: Area::from_hundredths(100 * y as i64),
                yes_heads: y,
                no_area: Area::from_hundredths(100 * (p - y) as i64),
                no_heads: p - y,
                ..Counts::default()
            };
            let t = Tally::from_counts(&c, ThresholdClass::Special, RuleVersion::CivilCode);
            let quorum = p * 3 >= total * 2;
            prop_assert_eq!(t.quorum_met, quorum);
            prop_assert_eq!(t.outcome == DecisionOutcome::Passed, quorum && y * 4 >= p * 3);
        }
    }
}
