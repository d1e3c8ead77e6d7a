//! The access matrix's rules for the inspection routes (docs/assessment.md §7, §8). The
//! matrix seeds a submitted inspection of XQ1 by the street with one finding on an issued
//! notice, so `{id}` of an inspection, a finding or a notice is in XQ1: the city, the district
//! and the street reach it, 安居 (XQ1's company) reads it; the community officer (another
//! community), 鸿达 and XQ2's committee get 404; owners and the public none of it. Writes with
//! an empty body are refused as invalid after sign-in (JSON bodies are read first); page forms
//! without the CSRF token are refused (403).

use super::matrix::{Caller, Expect};
use wuye_model::Role;

pub(crate) fn rule(method: &str, path: &str, who: &Caller, _out_of_scope: bool) -> Option<Expect> {
    use Expect::*;
    let role = who.role;
    let signed = role.is_some();
    let regulator = role.is_some_and(Role::is_regulator);
    let gate = |allowed: bool| {
        if !signed {
            SignIn
        } else if allowed {
            Ok
        } else {
            Forbidden
        }
    };
    // Who reads XQ1's inspection and notice.
    let reads = || match role {
        None => SignIn,
        Some(Role::Owner) => Forbidden,
        Some(Role::CityAdmin | Role::DistrictOfficer | Role::StreetOfficer | Role::CompanyAdmin) => Ok,
        Some(_) => NotFound,
    };
    Some(match (method, path) {
        ("GET", "/api/v1/inspection-campaigns" | "/api/v1/inspections/figures") => gate(regulator),
        ("GET", "/api/v1/inspections" | "/api/v1/rectifications") => gate(role != Some(Role::Owner)),
        ("GET", "/api/v1/inspections/{id}" | "/api/v1/rectifications/{id}") => reads(),
        // No photo was added: 404 for whoever may read.
        ("GET", "/api/v1/inspections/findings/{id}/photos/{position}") => match reads() {
            Ok => NotFound,
            e => e,
        },
        // The inspection is submitted: nothing more is added to it, nor submitted again.
        ("POST", "/api/v1/inspections/findings/{id}/photos" | "/api/v1/inspections/{id}/submit") => {
            match role {
                None => SignIn,
                Some(Role::CityAdmin | Role::DistrictOfficer | Role::StreetOfficer) => Conflict,
                Some(Role::CommunityOfficer) => NotFound,
                Some(_) => Forbidden,
            }
        }
        (
            "POST",
            "/api/v1/inspection-campaigns"
            | "/api/v1/inspections"
            | "/api/v1/inspections/{id}/findings"
            | "/api/v1/inspections/findings/{id}/withdraw"
            | "/api/v1/rectifications"
            | "/api/v1/rectifications/{id}/actions",
        ) => {
            if signed {
                BadRequest
            } else {
                SignIn
            }
        }
        // The pages, as the API.
        ("GET", "/inspections" | "/rectifications") => gate(role != Some(Role::Owner)),
        ("GET", "/inspections/{id}" | "/rectifications/{id}") => reads(),
        // Page forms without the session's CSRF token change nothing.
        (
            "POST",
            "/inspections"
            | "/inspections/{id}/findings"
            | "/inspections/{id}/submit"
            | "/inspections/{id}/notice"
            | "/inspections/findings/{id}/withdraw"
            | "/rectifications/{id}/act",
        ) => gate(false),
        _ => return None,
    })
}
