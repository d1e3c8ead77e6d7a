//! The access rules of the credit ledger's routes (docs/assessment.md §8), for the access
//! matrix (`matrix.rs`). The matrix fills `{id}` with XQ1's id (1) for every caller but the
//! community officer (XQ3's, 3): as a company that is 安居 (1), which the city, the district
//! and the street (安居 manages XQ1 in 370705001) reach, and 安居's own administrator; company
//! 3 does not exist. No record, appeal or list entry exists, and every body is empty.

use wuye_model::Role;

use super::matrix::{Caller, Expect};

pub(crate) fn rule(method: &str, path: &str, who: &Caller, _out_of_scope: bool) -> Option<Expect> {
    use Expect::*;
    let signed = who.role.is_some();
    let issuer = matches!(who.role, Some(Role::CityAdmin | Role::DistrictOfficer));
    let regulator = who.role.is_some_and(Role::is_regulator);
    let company_admin = who.role == Some(Role::CompanyAdmin);
    let gate = |allowed: bool| {
        if !signed {
            SignIn
        } else if allowed {
            Ok
        } else {
            Forbidden
        }
    };
    let reaches_anju = matches!(who.name, "admin" | "district" | "street" | "anju");
    Some(match (method, path) {
        // Public: the published list, the schemes, the settings.
        (
            "GET",
            "/red-black-list"
            | "/credit/schemes"
            | "/api/v1/credit/list"
            | "/api/v1/credit/schemes"
            | "/api/v1/credit/settings",
        ) => Ok,
        // The ledger: regulators over the company and its own people; everyone else 404.
        (
            "GET",
            "/credit/{id}" | "/api/v1/credit/companies/{id}" | "/api/v1/credit/companies/{id}/export",
        ) => match gate(true) {
            Ok if !reaches_anju => NotFound,
            e => e,
        },
        ("GET", "/api/v1/credit/candidates") => gate(regulator),
        // City administrators set the settings (an empty body is no settings).
        ("PUT", "/api/v1/credit/settings") => match gate(who.role == Some(Role::CityAdmin)) {
            Ok => BadRequest,
            e => e,
        },
        // Issuing, listing and schemes: city administrators and district officers; the role
        // is checked before the (empty) body or form is read.
        (
            "POST",
            "/api/v1/credit/schemes"
            | "/credit/schemes"
            | "/api/v1/credit/records"
            | "/api/v1/credit/list"
            | "/credit/{id}/records"
            | "/credit/{id}/list",
        ) => match gate(issuer) {
            Ok => BadRequest,
            e => e,
        },
        // On a record, appeal or list entry that does not exist.
        (
            "POST",
            "/api/v1/credit/records/{id}/evidence"
            | "/api/v1/credit/list/{id}/evidence"
            | "/api/v1/credit/appeals/{id}/decide"
            | "/api/v1/credit/list/{id}/revoke"
            | "/credit/appeals/{id}/decide"
            | "/credit/list/{id}/revoke",
        ) => match gate(issuer) {
            Ok => NotFound,
            e => e,
        },
        // Appeals: a company's administrator, on its own records only.
        (
            "POST",
            "/api/v1/credit/records/{id}/appeal"
            | "/api/v1/credit/appeals/{id}/evidence"
            | "/credit/records/{id}/appeal",
        ) => match gate(company_admin) {
            Ok => NotFound,
            e => e,
        },
        (
            "GET",
            "/api/v1/credit/records/{id}/evidence/{position}"
            | "/api/v1/credit/appeals/{id}/evidence/{position}"
            | "/api/v1/credit/list/{id}/evidence/{position}",
        ) => match gate(true) {
            Ok => NotFound,
            e => e,
        },
        _ => return None,
    })
}
