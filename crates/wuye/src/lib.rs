//! wuye — the platform a Chinese city uses to supervise residential property management
//! and let owners govern their compounds together. See ARCHITECTURE.md for the map.

pub mod assessment;
pub mod auth;
pub mod bench;
pub mod claims;
pub mod clock;
pub mod credit;
pub mod db;
pub mod decisions;
pub mod demo;
pub mod files;
pub mod http;
pub mod inspections;
pub mod io;
pub mod media;
pub mod notify;
pub mod orders;
pub mod otp;
pub mod registry;
pub mod serde_fmt;
pub mod settings;
pub mod sql;
pub mod supervision;
