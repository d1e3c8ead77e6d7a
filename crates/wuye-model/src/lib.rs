//! Pure domain types of wuye.
//!
//! **Architecture invariant:** this crate does no IO, knows no database, no HTTP and no clock
//! (the current time is always a parameter).
//! Everything here is a value with a validating constructor, so that a value of one of these
//! types is valid by construction wherever it travels.

mod calendar;
mod decimal;
mod enums;
mod figures;
mod order;
mod region;
mod similar;
mod uscc;

pub use calendar::{CST, CalendarError, DayKind, WorkCalendar};
pub use decimal::{Area, DecimalError, Money};
pub use enums::{
    CommitteeRole, CompoundClass, ContractKind, EnumError, FeeModel, Lang, ManagementMode, OwnerKind, Role,
    RoomKind, VolunteerRole,
};
pub use figures::{change_percent, percent};
pub use order::{
    Action, OrderFacts, OrderState, Outcome, Satisfaction, SlaPolicy, StepError, VisitOutcome, step,
};
pub use region::{RegionCode, RegionCodeError, RegionLevel};
pub use similar::similarity_permille;
pub use uscc::{Uscc, UsccError};
