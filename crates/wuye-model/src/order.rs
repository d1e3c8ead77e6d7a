//! The work-order state machine (DOMAIN.md R4.1, R4.4) and SLA policy defaults (R4.2).
//!
//! **Architecture invariant:** every state change of a work order goes through [`step`]; an
//! illegal step is refused with a message in English and Chinese. Who may take a step
//! (company, community, owner) is decided by the caller's role elsewhere; this module decides
//! only whether the step is legal from the order's state and facts.

use crate::enums::EnumError;

macro_rules! states {
    ($($v:ident = $id:literal, $zh:literal, $en:literal;)+) => {
        /// Where a work order stands.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OrderState { $($v,)+ }

        impl OrderState {
            pub const ALL: &'static [OrderState] = &[$(OrderState::$v,)+];
            pub const fn as_str(self) -> &'static str { match self { $(OrderState::$v => $id,)+ } }
            pub const fn label_zh(self) -> &'static str { match self { $(OrderState::$v => $zh,)+ } }
            pub const fn label_en(self) -> &'static str { match self { $(OrderState::$v => $en,)+ } }
            pub fn parse(s: &str) -> Result<Self, EnumError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s.trim()).ok_or_else(|| EnumError {
                    what: "order state",
                    what_zh: "工单状态",
                    value: s.to_owned(),
                    expected: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
        }
    };
}

states! {
    Submitted = "submitted", "已提交", "Submitted";
    Signed = "signed", "已签收", "Signed for";
    Declined = "declined", "不予受理", "Not accepted";
    Dispatched = "dispatched", "已派单", "Dispatched";
    InProgress = "in_progress", "办理中", "In progress";
    Returned = "returned", "已退回", "Returned (misrouted)";
    Replied = "replied", "已答复", "Replied";
    Reviewed = "reviewed", "已审核", "Reviewed";
    Rated = "rated", "已评价", "Rated";
    ReturnVisited = "return_visited", "已回访", "Return-visited";
    Closed = "closed", "已办结", "Closed";
    Cancelled = "cancelled", "已撤销", "Cancelled";
    Merged = "merged", "已合并", "Merged into another";
}

impl OrderState {
    /// No step leads out of these.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Declined | Self::Closed | Self::Cancelled | Self::Merged
        )
    }

    /// The handling clock runs (an order in these states can become overdue).
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Signed | Self::Dispatched | Self::InProgress | Self::Returned
        )
    }
}

/// 满意 / 基本满意 / 不满意.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Satisfaction {
    Satisfied,
    Basic,
    Dissatisfied,
}

impl Satisfaction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::Basic => "basic",
            Self::Dissatisfied => "dissatisfied",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Satisfied, Self::Basic, Self::Dissatisfied]
            .into_iter()
            .find(|v| v.as_str() == s.trim())
    }
}

/// What a return visit (回访) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitOutcome {
    Solved,
    /// R4.4: "not solved" reopens the order like a dissatisfied rating.
    NotSolved,
    /// Nobody could be reached: recorded, the order stays where it is.
    Unreachable,
}

impl VisitOutcome {
    pub const ALL: [Self; 3] = [Self::Solved, Self::NotSolved, Self::Unreachable];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Solved => "solved",
            Self::NotSolved => "not_solved",
            Self::Unreachable => "unreachable",
        }
    }
    pub const fn label_zh(self) -> &'static str {
        match self {
            Self::Solved => "已解决",
            Self::NotSolved => "未解决",
            Self::Unreachable => "未联系上",
        }
    }
    pub const fn label_en(self) -> &'static str {
        match self {
            Self::Solved => "Solved",
            Self::NotSolved => "Not solved",
            Self::Unreachable => "Unreachable",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }
}

/// Time limits in working days (R4.2 defaults; a city may set its own, per category).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub sign_days: u32,
    pub handle_days: u32,
    pub max_extension_days: u32,
    pub max_extensions: u32,
    pub return_days: u32,
    /// A reviewed order nobody rates within this many working days closes as "not rated"
    /// (issue 4 §5; DOMAIN.md fixes no number, so it is a city setting).
    pub rate_days: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            sign_days: 1,
            handle_days: 5,
            max_extension_days: 10,
            max_extensions: 1,
            return_days: 2,
            rate_days: 7,
        }
    }
}

/// A step someone takes on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Sign,
    Decline {
        reason: String,
    },
    Dispatch,
    Return {
        reason: String,
    },
    Start,
    Extend {
        days: u32,
        reason: String,
    },
    Reply,
    Review {
        approved: bool,
    },
    Rate {
        satisfaction: Satisfaction,
    },
    ReturnVisit {
        outcome: VisitOutcome,
    },
    /// A duplicate joins the order it repeats; its reporter follows that order from now on.
    Merge {
        into: i64,
    },
    Close,
    /// The system closes an order nobody rated in time: "not rated", never "satisfied".
    CloseUnrated,
    Cancel {
        reason: String,
    },
}

impl Action {
    pub fn name(&self) -> (&'static str, &'static str) {
        match self {
            Action::Sign => ("sign for", "签收"),
            Action::Decline { .. } => ("decline", "不予受理"),
            Action::Dispatch => ("dispatch", "派单"),
            Action::Return { .. } => ("return", "退回"),
            Action::Start => ("start handling", "开始办理"),
            Action::Extend { .. } => ("extend", "延期"),
            Action::Reply => ("reply to", "答复"),
            Action::Review { .. } => ("review", "审核"),
            Action::Rate { .. } => ("rate", "评价"),
            Action::ReturnVisit { .. } => ("return-visit", "回访"),
            Action::Merge { .. } => ("merge", "合并"),
            Action::Close => ("close", "办结"),
            Action::CloseUnrated => ("close unrated", "超时未评价办结"),
            Action::Cancel { .. } => ("cancel", "撤销"),
        }
    }
}

/// The facts about an order that decide which steps are legal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFacts {
    pub state: OrderState,
    pub extensions_used: u32,
    /// Times the order was reopened after a dissatisfied rating (R4.4).
    pub rehandles: u32,
}

/// What a legal step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub next: OrderState,
    /// Extend the handling deadline by this many working days.
    pub extend_by: Option<u32>,
    /// The order was reopened after a dissatisfied rating: count a re-handling.
    pub rehandle: bool,
    /// A second (or later) dissatisfaction also escalates the order (issue 4 §5).
    pub escalate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("cannot {action} an order that is {state_en} / 工单当前状态为“{state_zh}”，不能{action_zh}")]
    Illegal {
        action: &'static str,
        action_zh: &'static str,
        state_en: &'static str,
        state_zh: &'static str,
    },
    #[error("a reason is required to {action} / {action_zh}须填写理由")]
    ReasonRequired {
        action: &'static str,
        action_zh: &'static str,
    },
    #[error("an extension is at most {max} working days / 延期最多 {max} 个工作日")]
    ExtensionTooLong { max: u32 },
    #[error("the order has been extended already / 该工单已延期过")]
    ExtensionUsed,
}

/// The one place where an order changes state.
pub fn step(facts: OrderFacts, action: &Action, policy: &SlaPolicy) -> Result<Outcome, StepError> {
    use OrderState::*;
    let (action_en, action_zh) = action.name();
    let illegal = || StepError::Illegal {
        action: action_en,
        action_zh,
        state_en: facts.state.label_en(),
        state_zh: facts.state.label_zh(),
    };
    let reason = |r: &str| {
        if r.trim().is_empty() {
            Err(StepError::ReasonRequired {
                action: action_en,
                action_zh,
            })
        } else {
            Ok(())
        }
    };
    let to = |next| {
        Ok(Outcome {
            next,
            extend_by: None,
            rehandle: false,
            escalate: false,
        })
    };
    match (facts.state, action) {
        (Submitted, Action::Sign) => to(Signed),
        (Submitted, Action::Decline { reason: r }) => reason(r).and_then(|()| to(Declined)),
        (Signed | Returned, Action::Dispatch) => to(Dispatched),
        (Signed | Dispatched, Action::Return { reason: r }) => reason(r).and_then(|()| to(Returned)),
        (Dispatched, Action::Start) => to(InProgress),
        (Signed | Dispatched | InProgress, Action::Extend { days, reason: r }) => {
            reason(r)?;
            if facts.extensions_used >= policy.max_extensions {
                return Err(StepError::ExtensionUsed);
            }
            if *days == 0 || *days > policy.max_extension_days {
                return Err(StepError::ExtensionTooLong {
                    max: policy.max_extension_days,
                });
            }
            Ok(Outcome {
                next: facts.state,
                extend_by: Some(*days),
                rehandle: false,
                escalate: false,
            })
        }
        (Dispatched | InProgress, Action::Reply) => to(Replied),
        (Replied, Action::Review { approved: true }) => to(Reviewed),
        (Replied, Action::Review { approved: false }) => to(InProgress),
        (
            Reviewed | ReturnVisited,
            Action::Rate {
                satisfaction: Satisfaction::Dissatisfied,
            },
        ) => Ok(Outcome {
            next: InProgress,
            extend_by: None,
            rehandle: true,
            escalate: facts.rehandles >= 1,
        }),
        (Reviewed | ReturnVisited, Action::Rate { .. }) => to(Rated),
        (
            Reviewed | Rated,
            Action::ReturnVisit {
                outcome: VisitOutcome::NotSolved,
            },
        ) => Ok(Outcome {
            next: InProgress,
            extend_by: None,
            rehandle: true,
            escalate: facts.rehandles >= 1,
        }),
        (Reviewed | Rated, Action::ReturnVisit { .. }) => to(ReturnVisited),
        (Submitted | Signed | Dispatched | InProgress | Returned, Action::Merge { .. }) => to(Merged),
        (Rated | ReturnVisited, Action::Close) => to(Closed),
        (Reviewed | ReturnVisited, Action::CloseUnrated) => to(Closed),
        (Submitted | Signed | Dispatched | InProgress | Returned, Action::Cancel { reason: r }) => {
            reason(r).and_then(|()| to(Cancelled))
        }
        _ => Err(illegal()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderState::*;

    fn facts(state: OrderState) -> OrderFacts {
        OrderFacts {
            state,
            extensions_used: 0,
            rehandles: 0,
        }
    }

    #[test]
    fn the_closed_loop() {
        let p = SlaPolicy::default();
        let mut f = facts(Submitted);
        for (a, next) in [
            (Action::Sign, Signed),
            (Action::Dispatch, Dispatched),
            (Action::Start, InProgress),
            (Action::Reply, Replied),
            (Action::Review { approved: true }, Reviewed),
            (
                Action::Rate {
                    satisfaction: Satisfaction::Basic,
                },
                Rated,
            ),
            (
                Action::ReturnVisit {
                    outcome: VisitOutcome::Solved,
                },
                ReturnVisited,
            ),
            (Action::Close, Closed),
        ] {
            let o = step(f, &a, &p).unwrap();
            assert_eq!(o.next, next, "{a:?}");
            f.state = o.next;
        }
        assert!(f.state.is_final());
    }

    #[test]
    fn illegal_steps_are_refused_in_both_languages() {
        let p = SlaPolicy::default();
        let e = step(facts(Closed), &Action::Reply, &p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot reply to an order that is Closed / 工单当前状态为“已办结”，不能答复"
        );
        assert!(
            step(
                facts(Submitted),
                &Action::Rate {
                    satisfaction: Satisfaction::Satisfied
                },
                &p
            )
            .is_err()
        );
        assert!(step(facts(Declined), &Action::Sign, &p).is_err());
        assert!(matches!(
            step(facts(Submitted), &Action::Decline { reason: " ".into() }, &p),
            Err(StepError::ReasonRequired { .. })
        ));
        // Every action from every final state is refused.
        for s in OrderState::ALL.iter().copied().filter(|s| s.is_final()) {
            for a in [
                Action::Sign,
                Action::Dispatch,
                Action::Start,
                Action::Reply,
                Action::Close,
                Action::ReturnVisit {
                    outcome: VisitOutcome::Solved,
                },
                Action::Merge { into: 1 },
            ] {
                assert!(step(facts(s), &a, &p).is_err(), "{s:?} {a:?}");
            }
        }
    }

    #[test]
    fn one_extension_of_at_most_ten_days() {
        let p = SlaPolicy::default();
        let ext = |days| Action::Extend {
            days,
            reason: "需更换电梯主板".into(),
        };
        assert_eq!(step(facts(InProgress), &ext(10), &p).unwrap().extend_by, Some(10));
        assert_eq!(
            step(facts(InProgress), &ext(11), &p),
            Err(StepError::ExtensionTooLong { max: 10 })
        );
        let used = OrderFacts {
            state: InProgress,
            extensions_used: 1,
            rehandles: 0,
        };
        assert_eq!(step(used, &ext(3), &p), Err(StepError::ExtensionUsed));
        assert!(
            step(
                facts(InProgress),
                &Action::Extend {
                    days: 3,
                    reason: String::new()
                },
                &p
            )
            .is_err()
        );
    }

    #[test]
    fn dissatisfied_reopens_and_the_second_time_escalates() {
        let p = SlaPolicy::default();
        let bad = Action::Rate {
            satisfaction: Satisfaction::Dissatisfied,
        };
        let first = step(facts(Reviewed), &bad, &p).unwrap();
        assert_eq!(
            (first.next, first.rehandle, first.escalate),
            (InProgress, true, false)
        );
        let again = OrderFacts {
            state: Reviewed,
            extensions_used: 0,
            rehandles: 1,
        };
        let second = step(again, &bad, &p).unwrap();
        assert_eq!(
            (second.next, second.rehandle, second.escalate),
            (InProgress, true, true)
        );
    }

    #[test]
    fn misrouted_orders_come_back_and_unrated_ones_close_as_unrated() {
        let p = SlaPolicy::default();
        assert_eq!(
            step(
                facts(Dispatched),
                &Action::Return {
                    reason: "非本单位职责".into()
                },
                &p
            )
            .unwrap()
            .next,
            Returned
        );
        assert_eq!(
            step(facts(Returned), &Action::Dispatch, &p).unwrap().next,
            Dispatched
        );
        assert_eq!(
            step(facts(Reviewed), &Action::CloseUnrated, &p).unwrap().next,
            Closed
        );
        assert!(step(facts(Rated), &Action::CloseUnrated, &p).is_err());
        assert_eq!(OrderState::parse("in_progress"), Ok(InProgress));
    }

    #[test]
    fn a_visit_that_finds_it_unsolved_reopens_and_duplicates_merge_while_open() {
        let p = SlaPolicy::default();
        let visit = |outcome| Action::ReturnVisit { outcome };
        let o = step(facts(Rated), &visit(VisitOutcome::NotSolved), &p).unwrap();
        assert_eq!((o.next, o.rehandle, o.escalate), (InProgress, true, false));
        assert_eq!(
            step(facts(Reviewed), &visit(VisitOutcome::Unreachable), &p)
                .unwrap()
                .next,
            ReturnVisited
        );
        assert_eq!(
            step(facts(InProgress), &Action::Merge { into: 7 }, &p)
                .unwrap()
                .next,
            Merged
        );
        assert!(step(facts(Replied), &Action::Merge { into: 7 }, &p).is_err());
        assert_eq!(VisitOutcome::parse("not_solved"), Some(VisitOutcome::NotSolved));
    }
}
