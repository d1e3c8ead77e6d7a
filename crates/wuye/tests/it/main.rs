//! The one integration-test binary of the `wuye` crate.

// A test fails by panicking: unwrap, expect and panic are how it says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod assessment;
mod browser;
mod cli;
mod crash;
mod credit;
mod decisions;
mod http;
mod inspections;
mod matrix;
mod matrix_assessment;
mod matrix_credit;
mod matrix_inspections;
mod matrix_supervision;
mod open311;
mod orders;
mod owners;
mod storage;
mod supervision;
mod support;
mod wal;
