//! The access matrix's rules for the assessment routes (docs/assessment.md §8). The matrix
//! closes 2025-12 before it walks the routes, so `{id}` of a run is that final run and
//! `{compound}/{company}` is XQ1 and 安居; rubric `{id}` is the shipped default (published).

use super::matrix::{Caller, Expect};
use wuye_model::Role;

pub(crate) fn rule(method: &str, path: &str, who: &Caller, _out_of_scope: bool) -> Option<Expect> {
    use Expect::*;
    let role = who.role;
    let signed = role.is_some();
    let gate = |allowed: bool| {
        if !signed {
            SignIn
        } else if allowed {
            Ok
        } else {
            Forbidden
        }
    };
    Some(match (method, path) {
        // Published results are public: closed periods' rankings and explanations, rubrics.
        (
            "GET",
            "/rankings"
            | "/api/v1/rankings"
            | "/api/v1/assessment/rubrics"
            | "/api/v1/assessment/runs"
            | "/api/v1/assessment/runs/{id}/scores"
            | "/api/v1/assessment/runs/{id}/companies"
            | "/api/v1/assessment/runs/{id}/export"
            | "/api/v1/assessment/runs/{id}/scores/{compound}/{company}"
            | "/assessment/runs/{id}"
            | "/assessment/runs/{id}/{compound}/{company}"
            | "/assessment/rubrics",
        ) => Ok,
        // The page form sends a file that is not a rubric: its errors come back (422).
        ("POST", "/assessment/rubrics") => {
            match gate(matches!(role, Some(Role::CityAdmin | Role::DistrictOfficer))) {
                Ok => Unprocessable,
                e => e,
            }
        }
        ("GET", "/api/v1/ratings") => gate(true),
        // Raters: the owner of XQ1 and the street over it; the committee is XQ2's and the
        // community officer's is another community (404); nobody else rates.
        ("POST", "/api/v1/ratings" | "/rate") => match role {
            None => SignIn,
            Some(Role::Owner | Role::StreetOfficer) => Ok,
            Some(Role::CommitteeMember | Role::CommunityOfficer) => NotFound,
            Some(_) => Forbidden,
        },
        ("GET", "/rate") => gate(matches!(
            role,
            Some(Role::Owner | Role::StreetOfficer | Role::CommitteeMember | Role::CommunityOfficer)
        )),
        ("GET", "/assessment") => gate(role.is_some_and(Role::is_regulator)),
        // The city administrator runs; 2025-12 is closed, so the run is a check.
        ("POST", "/api/v1/assessment/runs" | "/assessment/run") => gate(role == Some(Role::CityAdmin)),
        ("POST", "/api/v1/assessment/rubrics") => {
            gate(matches!(role, Some(Role::CityAdmin | Role::DistrictOfficer)))
        }
        // The shipped default rubric belongs to the top region (the province here), outside
        // the city administrator's and the district officer's reach (404).
        ("POST", "/api/v1/assessment/rubrics/{id}/publish" | "/assessment/rubrics/{id}/publish") => {
            match role {
                None => SignIn,
                Some(Role::CityAdmin | Role::DistrictOfficer) => NotFound,
                Some(_) => Forbidden,
            }
        }
        ("POST", "/api/v1/assessment/deductions") => gate(matches!(
            role,
            Some(Role::CityAdmin | Role::DistrictOfficer | Role::StreetOfficer)
        )),
        _ => return None,
    })
}
