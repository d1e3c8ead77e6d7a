//! Export in the import layout (so an export re-imports unchanged), and download templates.
//!
//! Rows are read in keyset-paged batches, so exporting three million rooms to CSV holds one
//! batch in memory at a time; .xlsx uses the writer's constant-memory mode and is limited to
//! a worksheet's 1,048,575 data rows.

use rust_xlsxwriter::{Format, Workbook, Worksheet};
use sqlx::{AssertSqlSafe, Row};
use wuye_model::{CompoundClass, ContractKind, FeeModel, ManagementMode, OwnerKind, RegionCode, RoomKind};

use super::table::Kind;
use crate::db::{Db, DbError};
use crate::db_read;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    /// From a file name's extension.
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Self::Csv)
        } else if lower.ends_with(".xlsx") {
            Some(Self::Xlsx)
        } else {
            None
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
    pub fn ext(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "{0} rows do not fit one .xlsx worksheet (1,048,575 at most): export CSV instead / 行数超过 Excel 上限，请导出 CSV"
    )]
    TooManyRows(u64),
}

impl From<sqlx::Error> for ExportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Who an export is for: the region subtree of compound-linked rows (`None`: all) and whether
/// phone and ID numbers are shown in full (city and district administrators, the shell).
#[derive(Debug, Clone, Copy)]
pub struct Audience {
    pub reach: Option<RegionCode>,
    pub unmask: bool,
}

impl Audience {
    /// Everything, unmasked: the operator at the command line.
    pub const ALL: Audience = Audience {
        reach: None,
        unmask: true,
    };

    pub fn of(actor: &crate::auth::Actor) -> Result<Audience, crate::auth::Denied> {
        let reach = actor.require_regulator()?;
        let unmask = actor.require_admin(true).is_ok();
        Ok(Audience { reach, unmask })
    }
}

#[derive(Clone, Copy)]
enum Ty {
    Text,
    OptText,
    Code,
    OptCode,
    Int,
    Area,
    OptArea,
    Money,
    Degrees,
    Bool,
    Date,
    /// A phone or ID number, masked unless the audience may see it (`auth::mask`).
    Personal,
    Vocab(fn(&str) -> String),
}

fn label<T: Copy>(
    parse: fn(&str) -> Result<T, wuye_model::EnumError>,
    zh: fn(T) -> &'static str,
) -> impl Fn(&str) -> String {
    move |s| parse(s).map(zh).unwrap_or(s).to_owned()
}

fn mode_label(s: &str) -> String {
    label(ManagementMode::parse, ManagementMode::label_zh)(s)
}
fn class_label(s: &str) -> String {
    label(CompoundClass::parse, CompoundClass::label_zh)(s)
}
fn room_kind_label(s: &str) -> String {
    label(RoomKind::parse, RoomKind::label_zh)(s)
}
fn owner_kind_label(s: &str) -> String {
    label(OwnerKind::parse, OwnerKind::label_zh)(s)
}
fn contract_kind_label(s: &str) -> String {
    label(ContractKind::parse, ContractKind::label_zh)(s)
}
fn fee_model_label(s: &str) -> String {
    label(FeeModel::parse, FeeModel::label_zh)(s)
}

/// The SELECT of a kind: column 0 is the keyset key; the rest follow `Kind::columns()`.
/// `$1` is the last key seen, `$2` the batch size. Owners page by room-id ranges.
fn spec(kind: Kind) -> (&'static str, Vec<Ty>, bool) {
    use Ty::*;
    match kind {
        Kind::Regions => (
            "SELECT code, code, name, parent_code, urban_rural FROM regions WHERE code > $1 ORDER BY code LIMIT $2",
            vec![Code, Text, OptCode, OptText],
            false,
        ),
        Kind::Companies => (
            "SELECT id, uscc, name, legal_representative, contact_phone, address, region_code FROM companies \
             WHERE id > $1 ORDER BY id LIMIT $2",
            vec![Text, Text, Text, Text, Text, OptCode],
            false,
        ),
        Kind::Compounds => (
            "SELECT id, code, name, region_code, address, latitude_e6, longitude_e6, year_built, land_area, floor_area, \
             households, class, management_mode, is_old, designations FROM compounds c WHERE id > $1 AND c.region_code BETWEEN $3 AND $4 ORDER BY id LIMIT $2",
            vec![
                Text,
                Text,
                Code,
                Text,
                Degrees,
                Degrees,
                Int,
                OptArea,
                OptArea,
                Int,
                Vocab(class_label),
                Vocab(mode_label),
                Bool,
                Text,
            ],
            false,
        ),
        Kind::Buildings => (
            "SELECT b.id, c.code, b.name, b.floors, \
             (SELECT string_agg(e.name, ';' ORDER BY e.id) FROM entrances e WHERE e.building_id = b.id) \
             FROM buildings b JOIN compounds c ON c.id = b.compound_id WHERE b.id > $1 AND c.region_code BETWEEN $3 AND $4 ORDER BY b.id LIMIT $2",
            vec![Text, Text, Int, OptText],
            false,
        ),
        Kind::Rooms => (
            "SELECT rm.id, c.code, b.name, e.name, rm.number, rm.floor, rm.kind, rm.exclusive_area, rm.floor_area, rm.developer_held \
             FROM rooms rm JOIN compounds c ON c.id = rm.compound_id JOIN buildings b ON b.id = rm.building_id \
             JOIN entrances e ON e.id = rm.entrance_id WHERE rm.id > $1 AND c.region_code BETWEEN $3 AND $4 ORDER BY rm.id LIMIT $2",
            vec![
                Text,
                Text,
                Text,
                Text,
                Int,
                Vocab(room_kind_label),
                Area,
                OptArea,
                Bool,
            ],
            false,
        ),
        Kind::Owners => (
            "SELECT ro.room_id, c.code, b.name, e.name, rm.number, o.name, o.id_number, o.phone, o.kind, ro.share_bp \
             FROM room_owners ro JOIN owners o ON o.id = ro.owner_id JOIN rooms rm ON rm.id = ro.room_id \
             JOIN compounds c ON c.id = rm.compound_id JOIN buildings b ON b.id = rm.building_id \
             JOIN entrances e ON e.id = rm.entrance_id WHERE ro.room_id > $1 AND ro.room_id <= $1 + $2 AND c.region_code BETWEEN $3 AND $4 ORDER BY ro.room_id, ro.owner_id",
            vec![
                Text,
                Text,
                Text,
                Text,
                Text,
                Personal,
                Personal,
                Vocab(owner_kind_label),
                Area,
            ],
            true,
        ),
        Kind::Contracts => (
            "SELECT ct.id, c.code, co.uscc, ct.kind, ct.fee_model, ct.start_date, ct.end_date, ct.fee_standard \
             FROM contracts ct JOIN compounds c ON c.id = ct.compound_id JOIN companies co ON co.id = ct.company_id \
             WHERE ct.id > $1 AND c.region_code BETWEEN $3 AND $4 ORDER BY ct.id LIMIT $2",
            vec![
                Text,
                Text,
                Vocab(contract_kind_label),
                Vocab(fee_model_label),
                Date,
                Date,
                Money,
            ],
            false,
        ),
    }
}

fn cell<R: Row>(row: &R, i: usize, ty: Ty) -> Result<String, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<time::Date>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let int = |row: &R| row.try_get::<Option<i64>, _>(i);
    Ok(match ty {
        Ty::Text | Ty::OptText | Ty::Personal => row.try_get::<Option<String>, _>(i)?.unwrap_or_default(),
        Ty::Vocab(f) => f(&row.try_get::<Option<String>, _>(i)?.unwrap_or_default()),
        Ty::Code | Ty::OptCode => int(row)?.map(|v| format!("{v:012}")).unwrap_or_default(),
        Ty::Int => int(row)?.map(|v| v.to_string()).unwrap_or_default(),
        Ty::Area | Ty::OptArea | Ty::Money => int(row)?
            .map(|v| wuye_model::Area::from_hundredths(v).to_string())
            .unwrap_or_default(),
        Ty::Degrees => int(row)?
            .map(|v| {
                format!(
                    "{}{}.{:06}",
                    if v < 0 { "-" } else { "" },
                    v.unsigned_abs() / 1_000_000,
                    v.unsigned_abs() % 1_000_000
                )
            })
            .unwrap_or_default(),
        Ty::Bool => match row.try_get::<Option<bool>, _>(i)? {
            Some(true) => "是".to_owned(),
            Some(false) => "否".to_owned(),
            None => String::new(),
        },
        Ty::Date => row
            .try_get::<Option<time::Date>, _>(i)?
            .map(|d| d.to_string())
            .unwrap_or_default(),
    })
}

/// Where exported rows go.
enum Sink<'a, W: std::io::Write> {
    Csv(Box<csv::Writer<W>>),
    Xlsx(&'a mut Worksheet, u32),
}

impl<W: std::io::Write> Sink<'_, W> {
    fn row(&mut self, cells: &[String]) -> Result<(), ExportError> {
        match self {
            Sink::Csv(w) => w.write_record(cells)?,
            Sink::Xlsx(ws, n) => {
                if *n >= 1_048_575 {
                    return Err(ExportError::TooManyRows(u64::from(*n) + 1));
                }
                for (c, v) in cells.iter().enumerate() {
                    ws.write_string(*n, c as u16, v)?;
                }
                *n += 1;
            }
        }
        Ok(())
    }
}

const BATCH: i64 = 10_000;

async fn export_rows<W: std::io::Write>(
    db: &Db,
    kind: Kind,
    sink: &mut Sink<'_, W>,
    audience: Audience,
) -> Result<u64, ExportError> {
    let (sql, types, ranged) = spec(kind);
    // Kinds tied to compounds are limited to the caller's jurisdiction ($3..$4).
    let scoped = !matches!(kind, Kind::Regions | Kind::Companies);
    let (lo, hi) = audience
        .reach
        .map(|r| (*r.subtree().start(), *r.subtree().end()))
        .unwrap_or((0, i64::MAX));
    let max_key: i64 = if ranged {
        db_read!(db, pool => sqlx::query_as::<_, (Option<i64>,)>("SELECT max(room_id) FROM room_owners").fetch_one(pool).await)?.0.unwrap_or(0)
    } else {
        0
    };
    let mut last: i64 = 0;
    let mut count = 0u64;
    loop {
        let batch: Vec<(i64, Vec<String>)> = db_read!(db, pool => {
            let q = sqlx::query(AssertSqlSafe(sql)).bind(last).bind(BATCH);
            let q = if scoped { q.bind(lo).bind(hi) } else { q };
            let rows = q.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let key: i64 = r.try_get(0)?;
                let mut cells = Vec::with_capacity(types.len());
                for (i, t) in types.iter().enumerate() {
                    let v = cell(r, i + 1, *t)?;
                    cells.push(if matches!(t, Ty::Personal) && !audience.unmask { crate::auth::mask(&v) } else { v });
                }
                out.push((key, cells));
            }
            out
        });
        for (_, cells) in &batch {
            sink.row(cells)?;
            count += 1;
        }
        if ranged {
            last += BATCH;
            if last >= max_key {
                break;
            }
        } else {
            match batch.last() {
                Some((k, _)) if batch.len() as i64 == BATCH => last = *k,
                _ => break,
            }
        }
    }
    Ok(count)
}

fn headers(kind: Kind) -> Vec<String> {
    kind.columns().iter().map(|c| c.header()).collect()
}

/// Writes every row of `kind` as CSV (UTF-8 with a BOM, so Excel shows Chinese right).
pub async fn export_csv<W: std::io::Write>(
    db: &Db,
    kind: Kind,
    mut out: W,
    audience: Audience,
) -> Result<u64, ExportError> {
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(headers(kind))?;
    let mut sink: Sink<'_, W> = Sink::Csv(Box::new(w));
    let n = export_rows(db, kind, &mut sink, audience).await?;
    if let Sink::Csv(mut w) = sink {
        w.flush()?;
    }
    Ok(n)
}

/// Every row of `kind` as an .xlsx workbook.
pub async fn export_xlsx(db: &Db, kind: Kind, audience: Audience) -> Result<(Vec<u8>, u64), ExportError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(kind.label_zh())?;
    for (c, h) in headers(kind).iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
        ws.set_column_width(c as u16, 18)?;
    }
    let mut sink: Sink<'_, std::io::Sink> = Sink::Xlsx(ws, 1);
    let n = export_rows(db, kind, &mut sink, audience).await?;
    Ok((wb.save_to_buffer()?, n))
}

/// Exports to bytes in either format; `reach` limits compound-linked kinds to a region
/// subtree (`None`: everything).
pub async fn export_bytes(
    db: &Db,
    kind: Kind,
    format: FileFormat,
    audience: Audience,
) -> Result<(Vec<u8>, u64), ExportError> {
    match format {
        FileFormat::Csv => {
            let mut buf = Vec::new();
            let n = export_csv(db, kind, &mut buf, audience).await?;
            Ok((buf, n))
        }
        FileFormat::Xlsx => export_xlsx(db, kind, audience).await,
    }
}

/// A computed table (not a registry kind) as a file: CSV of the first sheet (UTF-8 with a BOM),
/// or an .xlsx workbook with every sheet. For reports such as an assessment's ranking.
pub fn write_sheets(format: FileFormat, sheets: &[Sheet]) -> Result<Vec<u8>, ExportError> {
    match format {
        FileFormat::Csv => {
            let mut buf = b"\xEF\xBB\xBF".to_vec();
            {
                let mut w = csv::Writer::from_writer(&mut buf);
                if let Some(sheet) = sheets.first() {
                    w.write_record(&sheet.headers)?;
                    for row in &sheet.rows {
                        w.write_record(row)?;
                    }
                }
                w.flush()?;
            }
            Ok(buf)
        }
        FileFormat::Xlsx => {
            let mut wb = Workbook::new();
            let bold = Format::new().set_bold();
            for sheet in sheets {
                if sheet.rows.len() >= 1_048_575 {
                    return Err(ExportError::TooManyRows(sheet.rows.len() as u64));
                }
                let ws = wb.add_worksheet();
                ws.set_name(&sheet.name)?;
                for (c, h) in sheet.headers.iter().enumerate() {
                    ws.write_string_with_format(0, c as u16, h, &bold)?;
                    ws.set_column_width(c as u16, 14)?;
                }
                for (r, row) in sheet.rows.iter().enumerate() {
                    for (c, v) in row.iter().enumerate() {
                        ws.write_string(r as u32 + 1, c as u16, v)?;
                    }
                }
            }
            Ok(wb.save_to_buffer()?)
        }
    }
}

/// One sheet of [`write_sheets`].
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// An empty import template: the header row, and in .xlsx a second sheet explaining each
/// column (required or not, an example, what it means).
pub fn template(kind: Kind, format: FileFormat) -> Result<Vec<u8>, ExportError> {
    match format {
        FileFormat::Csv => {
            let mut buf = b"\xEF\xBB\xBF".to_vec();
            {
                let mut w = csv::Writer::from_writer(&mut buf);
                w.write_record(headers(kind))?;
                w.flush()?;
            }
            Ok(buf)
        }
        FileFormat::Xlsx => {
            let mut wb = Workbook::new();
            let bold = Format::new().set_bold();
            let ws = wb.add_worksheet();
            ws.set_name(kind.label_zh())?;
            for (c, h) in headers(kind).iter().enumerate() {
                ws.write_string_with_format(0, c as u16, h, &bold)?;
                ws.set_column_width(c as u16, 20)?;
            }
            ws.set_freeze_panes(1, 0)?;
            let notes = wb.add_worksheet();
            notes.set_name("说明 Notes")?;
            for (c, h) in ["列 Column", "必填 Required", "示例 Example", "说明 Note"]
                .iter()
                .enumerate()
            {
                notes.write_string_with_format(0, c as u16, *h, &bold)?;
                notes.set_column_width(c as u16, if c == 3 { 60 } else { 24 })?;
            }
            for (r, col) in kind.columns().iter().enumerate() {
                let r = r as u32 + 1;
                notes.write_string(r, 0, col.header())?;
                notes.write_string(r, 1, if col.required { "是 yes" } else { "否 no" })?;
                notes.write_string(r, 2, col.example)?;
                notes.write_string(r, 3, col.note)?;
            }
            Ok(wb.save_to_buffer()?)
        }
    }
}
