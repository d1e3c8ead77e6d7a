//! Bulk import and export in Excel (.xlsx) and CSV, with templates.
//!
//! Data flow: bytes → [`table::read_table`] (text cells with row numbers) →
//! per-kind validation against the file and the database (`import`) → one transaction of
//! multi-row upserts, or a rejected report listing sheet, row, column and reason (zh + en).

pub mod export;
pub mod hotline;
pub mod import;
pub mod table;

pub use export::{Audience, FileFormat, Sheet, export_bytes, export_csv, template, write_sheets};
pub use import::{ImportReport, import_file};
pub use table::{Kind, RowError};
