//! Pure domain types of wuye.
//!
//! **Architecture invariant:** this crate does no IO, knows no database, no HTTP and no clock
//! (the current time is always a parameter).
//! Everything here is a value with a validating constructor, so that a value of one of these
//! types is valid by construction wherever it travels.

// `enums` defines the `vocabulary!` macro used by later modules, so it comes first.
#[macro_use]
mod enums;

pub mod assessment;
mod ballot_log;
mod calendar;
mod decimal;
mod decision;
mod figures;
mod order;
pub mod period;
mod region;
mod similar;
mod tally_csv;
mod uscc;

pub use ballot_log::{
    Answers, AuditError, BallotLog, BallotMode, Event, EventKind, FORMAT as BALLOT_EXPORT_FORMAT, Hash,
    LogError, LogHeader, ReceiptMatch, ReplayError, Sid, StoredEvent, StoredFault, VerifyError,
    VerifyErrorKind, VerifyReport, answers_text, audit_enrolment, eligibility_commitment, find_receipt,
    subject_pseudonym, verify, voter_pseudonym,
};
pub use calendar::{CST, CalendarError, DayKind, WorkCalendar};
pub use decimal::{Area, DecimalError, Money};
pub use decision::{
    AnswerSheet, BallotBox, CandidateResult, CastError, Choice, Counts, DecisionOutcome, ElectionResult,
    ElectionRules, FirmPick, FirmSelection, HolderIdError, Matter, ProposalError, RankKey, Roll, RollBuilder,
    RollError, RollSettings, RoomEntry, RoomOnRoll, RuleVersion, SilentClauseResult, Subject, SubjectKey,
    Tally, TallyError, ThresholdClass, Tie, Title, TitleRef, earliest_voting_day, elect, proposal_class,
    select_firm, tally, tally_questions, tally_with_silent_clause,
};
pub use enums::{
    CommitteeRole, CompoundClass, ContractKind, EnumError, FeeModel, Lang, ManagementMode, OwnerKind, Role,
    RoomKind, VolunteerRole,
};
pub use figures::{change_percent, percent};
pub use order::{
    Action, OrderFacts, OrderState, Outcome, Satisfaction, SlaPolicy, StepError, VisitOutcome, step,
};
pub use period::{Period, PeriodError, PeriodKind};
pub use region::{RegionCode, RegionCodeError, RegionLevel};
pub use similar::similarity_permille;
pub use tally_csv::{
    CsvFile, TallyInputError, TallyReport, read_ballots, read_rooms, tally_files, tally_files_under,
};
pub use uscc::{Uscc, UsccError};
