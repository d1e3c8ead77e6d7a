//! The access matrix's rules for the supervision routes (docs/assessment.md §5–§8). The
//! matrix seeds a pending interview and a proposed exit case of 安居 at XQ1, held and decided
//! by 奎文区 (370705): the city, the district and the street read them, 安居 reads its own;
//! the community officer (another community), 鸿达 and XQ2's committee get 404; owners 403.
//! Only the holding authority or above (city, district) acts; the street is forbidden. JSON
//! writes with an empty body are refused as invalid after sign-in; page forms without the
//! session's CSRF token are refused (403).

use super::matrix::{Caller, Expect};
use wuye_model::Role;

pub(crate) fn rule(method: &str, path: &str, who: &Caller, _out_of_scope: bool) -> Option<Expect> {
    use Expect::*;
    let role = who.role;
    let signed = role.is_some();
    let reads = || match role {
        None => SignIn,
        Some(Role::Owner) => Forbidden,
        Some(Role::CityAdmin | Role::DistrictOfficer | Role::StreetOfficer | Role::CompanyAdmin) => Ok,
        Some(_) => NotFound,
    };
    // Who lists (their own scope): everyone signed in but owners.
    let lists = || match role {
        None => SignIn,
        Some(Role::Owner) => Forbidden,
        Some(_) => Ok,
    };
    Some(match (method, path) {
        (
            "GET",
            "/api/v1/interviews" | "/api/v1/exit-cases" | "/api/v1/supervision/actions" | "/supervision",
        ) => lists(),
        (
            "GET",
            "/api/v1/interviews/{id}"
            | "/api/v1/exit-cases/{id}"
            | "/supervision/interviews/{id}"
            | "/supervision/exits/{id}",
        ) => reads(),
        // No minutes file yet: 404 for whoever reads.
        ("GET", "/api/v1/interviews/{id}/minutes-file") => match reads() {
            Ok => NotFound,
            e => e,
        },
        // An empty file: the holding authority gets it refused as invalid; the street may not act;
        // the company reads but may not act.
        ("PUT", "/api/v1/interviews/{id}/minutes-file") => match role {
            None => SignIn,
            Some(Role::CityAdmin | Role::DistrictOfficer) => BadRequest,
            Some(Role::StreetOfficer | Role::CompanyAdmin | Role::Owner) => Forbidden,
            Some(_) => NotFound,
        },
        (
            "POST",
            "/api/v1/supervision/actions/{id}/cancel"
            | "/api/v1/interviews"
            | "/api/v1/interviews/{id}/record"
            | "/api/v1/interviews/{id}/cancel"
            | "/api/v1/exit-cases"
            | "/api/v1/exit-cases/{id}/decide"
            | "/api/v1/exit-cases/{id}/vote",
        ) => {
            if signed {
                BadRequest
            } else {
                SignIn
            }
        }
        (
            "POST",
            "/supervision/actions/{id}/cancel"
            | "/supervision/interviews"
            | "/supervision/interviews/{id}/record"
            | "/supervision/interviews/{id}/cancel"
            | "/supervision/exits"
            | "/supervision/exits/{id}/decide"
            | "/supervision/exits/{id}/vote",
        ) => {
            if signed {
                Forbidden
            } else {
                SignIn
            }
        }
        _ => return None,
    })
}
