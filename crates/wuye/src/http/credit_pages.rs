//! The credit ledger's pages (maud; zh-CN by default with English; for a 360-px phone, no
//! script): a company's ledger with its standing (`/credit/{id}`), where regulators issue
//! records, decide appeals and list the company and where the company appeals; the public red
//! and black list (`/red-black-list`, candidates for regulators); the credit schemes
//! (`/credit/schemes`).
//!
//! Form posts check, in this order: signed in, role, scope, the form, its CSRF token — so a
//! caller who may not act learns nothing from the form.

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use wuye_model::assessment::credit::RedBlack;
use wuye_model::assessment::format_hundredths;
use wuye_model::{Lang, RegionCode, Role};

use super::AppState;
use super::credit_api::{OnParam, on_param};
use super::error::AppError;
use super::pages::{Ctx, OrPage, PQ, PageError, layout, read_multipart};
use crate::credit::{self, CreditError, Upload};
use crate::registry::Page;

/// The credit pages, each recorded as it is added so that tests can walk every one of them.
pub fn router() -> super::Listed {
    super::Listed::default()
        .get("/red-black-list", red_black_list)
        .get("/credit/schemes", schemes_page)
        .post("/credit/schemes", scheme_upload)
        .get("/credit/{id}", ledger_page)
        .post("/credit/{id}/records", record_issue)
        .post("/credit/{id}/list", list_add)
        .post("/credit/records/{id}/appeal", appeal_submit)
        .post("/credit/appeals/{id}/decide", appeal_decide)
        .post("/credit/list/{id}/revoke", list_revoke)
}

type PageResult = Result<Markup, PageError>;

fn signed_in(ctx: &Ctx) -> Result<Role, PageError> {
    ctx.actor.require_signed_in().or_page(ctx.lang)
}

/// Splits a stored "English / 中文" text and picks the visitor's half (free text as it is).
fn bilingual(lang: Lang, text: &str) -> &str {
    match text.rsplit_once(" / ") {
        Some((en, zh)) => lang.pick(zh, en),
        None => text,
    }
}

fn kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "basic" => lang.pick("基础信息", "Basic"),
        "good" => lang.pick("良好信息", "Good"),
        _ => lang.pick("不良信息", "Bad"),
    }
}

fn list_label(lang: Lang, list: &str) -> &'static str {
    if list == "red" {
        lang.pick("红榜", "Red list")
    } else {
        lang.pick("黑榜", "Black list")
    }
}

fn grade_label(lang: Lang, grade: &str) -> String {
    if grade == "c_missing" {
        lang.pick("C（未登记）", "C (not enrolled)").to_owned()
    } else {
        grade.to_owned()
    }
}

fn appeal_state_label(lang: Lang, state: &str) -> &'static str {
    match state {
        "pending" => lang.pick("申诉中", "Under appeal"),
        "upheld" => lang.pick("申诉成立", "Appeal upheld"),
        "partly_upheld" => lang.pick("申诉部分成立", "Appeal partly upheld"),
        _ => lang.pick("申诉驳回", "Appeal rejected"),
    }
}

fn entry_status_label(lang: Lang, status: &str) -> &'static str {
    match status {
        "active" => lang.pick("公示中", "Published"),
        "scheduled" => lang.pick("待生效", "Scheduled"),
        "expired" => lang.pick("已到期", "Expired"),
        _ => lang.pick("已撤销", "Revoked"),
    }
}

/// Signed points: a bad record takes away, the others add.
fn signed(kind: &str, points: i64) -> String {
    let sign = if kind == "bad" { "−" } else { "+" };
    format!("{sign}{}", format_hundredths(points))
}

fn evidence_links(lang: Lang, files: &[credit::EvidenceFile]) -> Markup {
    html! {
        @if !files.is_empty() {
            div.sub { (lang.pick("证据：", "Evidence: "))
                @for (i, f) in files.iter().enumerate() {
                    @if i > 0 { "、" }
                    a href=(f.url) { (f.name) } " " small.muted { (if f.content_type == "application/pdf" { "PDF" } else { lang.pick("图片", "image") }) }
                }
            }
        }
    }
}

fn evidence_input(lang: Lang) -> Markup {
    html! {
        label { (lang.pick("证据材料（PDF 或图片，每个 20 MB 以内，最多 9 个）", "Evidence (PDF or images, up to 20 MB each, nine at most)")) " "
            input type="file" name="evidence" multiple accept="application/pdf,image/jpeg,image/png,image/webp"; }
    }
}

/// A multipart form after the role and scope checks: its fields and its files.
async fn multipart_form(
    lang: Lang,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(HashMap<String, String>, Vec<Upload>), PageError> {
    let form = form
        .map_err(|e| {
            AppError::bad(
                "invalid_form",
                format!("the form is incomplete: {}", e.body_text()),
                "表单内容不完整",
            )
        })
        .or_page(lang)?;
    let (fields, files) = read_multipart(lang, form).await?;
    let uploads = files
        .into_iter()
        .map(|bytes| Upload {
            name: String::new(),
            bytes,
        })
        .collect();
    Ok((fields, uploads))
}

/// A URL-encoded form after the role and scope checks.
fn plain_form(
    lang: Lang,
    form: Result<axum::Form<HashMap<String, String>>, FormRejection>,
) -> Result<HashMap<String, String>, PageError> {
    form.map(|axum::Form(f)| f)
        .map_err(|e| {
            AppError::bad(
                "invalid_form",
                format!("the form is incomplete: {}", e.body_text()),
                "表单内容不完整",
            )
        })
        .or_page(lang)
}

fn opt_date(
    lang: Lang,
    field: &'static str,
    value: Option<&String>,
) -> Result<Option<time::Date>, PageError> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(v) => crate::io::table::parse_date(v)
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, "a date is YYYY-MM-DD / 日期格式应为 YYYY-MM-DD"))
            .or_page(lang),
        None => Ok(None),
    }
}

fn opt_id(lang: Lang, field: &'static str, value: Option<&String>) -> Result<Option<i64>, PageError> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid(field, "not a number / 不是有效编号"))
            .or_page(lang),
        None => Ok(None),
    }
}

fn back_to(company: i64) -> Response {
    Redirect::to(&format!("/credit/{company}")).into_response()
}

// ---------------------------------------------------------------------------------------------
// The ledger

async fn ledger_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PQ(q): PQ<OnParam>,
) -> PageResult {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    let on = on_param(&st, q.on.as_deref()).or_page(lang)?;
    let today = crate::clock::china_date(st.clock.now());
    let l = credit::ledger(&st.db, &ctx.actor, id, on, today)
        .await
        .or_page(lang)?;
    let issuer = credit::require_issuer(&ctx.actor).is_ok();
    let company_admin = credit::require_company_admin(&ctx.actor).is_ok();
    let contracts = if issuer {
        crate::registry::contracts_of_company(&st.db, id)
            .await
            .or_page(lang)?
    } else {
        Vec::new()
    };
    let mut compounds: Vec<(i64, String)> = contracts
        .iter()
        .map(|c| (c.compound_id, c.compound_name.clone()))
        .collect();
    compounds.sort();
    compounds.dedup();
    let item_name = |key: &str| -> String {
        l.items
            .iter()
            .find(|i| i.key == key)
            .map(|i| lang.pick(&i.name_zh, &i.name_en).to_owned())
            .unwrap_or_else(|| key.to_owned())
    };
    let s = &l.standing;
    let me = ctx.actor.user_id;
    let title = format!("{} · {}", l.company.name, lang.pick("信用档案", "credit ledger"));
    Ok(layout(
        &ctx,
        &title,
        "/companies",
        html! {
            div.meta { a href={ "/companies/" (l.company.id) } { (l.company.uscc) } }
            section.figures {
                div.figure { b { (format_hundredths(s.score)) } span { (lang.pick("信用分", "credit score")) } }
                div.figure { b { (grade_label(lang, &s.grade)) } span { (lang.pick("信用等级", "grade")) } }
            }
            dl.facts {
                dt { (lang.pick("日期", "On")) } dd { (s.on) }
                dt { (lang.pick("基础信息分", "Basic")) } dd { (format_hundredths(s.basic)) }
                dt { (lang.pick("良好信息分", "Good")) } dd { "+" (format_hundredths(s.good)) }
                dt { (lang.pick("不良信息扣分", "Bad")) } dd { "−" (format_hundredths(s.bad)) }
                dt { (lang.pick("评价方案", "Scheme")) } dd { (lang.pick(&s.scheme.name_zh, &s.scheme.name_en))
                    @if let Some(v) = s.scheme.version { " · " (lang.pick("第 ", "version ")) (v) (lang.pick(" 版", "")) } @else { " · " (lang.pick("默认", "default")) } }
                @if let Some(c) = &s.candidacy {
                    dt { (lang.pick("红黑榜", "List")) } dd { span.tag { (list_label(lang, &c.list)) (lang.pick("候选", " candidate")) } " " (lang.pick(&c.basis_zh, &c.basis_en)) }
                }
            }
            p.muted { (lang.pick("信用分和等级由下列记录在所选日期计算得出，不作人工修改；有效记录计入，申诉成立的记录自裁决之日起不再计入。", "The score and grade are computed from the records below on the chosen date and never edited by hand; records count while valid, and an upheld appeal ends a record's effect from the day of the decision.")) }
            form.filters method="get" action={ "/credit/" (l.company.id) } {
                input type="date" name="on" value=(s.on);
                button type="submit" { (lang.pick("按日期查看", "Show on this date")) }
            }
            h2 { (lang.pick("信用记录", "Records")) }
            @if l.records.is_empty() { p.muted { (lang.pick("暂无记录。", "No records yet.")) } }
            ul.cards { @for e in &l.records {
                @let r = &e.record;
                li.card.past[!e.active] {
                    div.title { "#" (r.id) " " (item_name(&r.item_key)) " " strong { (signed(&r.kind, r.points)) } }
                    div.sub { span.tag.alt { (kind_label(lang, &r.kind)) } " "
                        @if r.kind == "bad" && r.severity != "ordinary" { span.tag { (if r.severity == "veto" { lang.pick("一票否决", "veto") } else { lang.pick("严重", "serious") }) } " " }
                        (if e.active { lang.pick("计分中", "counts") } else { lang.pick("不计分", "does not count") }) }
                    div.sub { (r.reason) }
                    div.sub.muted { (lang.pick("有效期 ", "Valid ")) (r.valid_from) " — " (r.valid_to)
                        " · " (lang.pick("签发 ", "issued ")) (r.issued_on) @if let Some(n) = &r.issuer { " " (n) }
                        @if let Some(c) = &r.compound_name { " · " (c) }
                        @if let Some(p) = r.replaces_record_id { " · " (lang.pick("替代记录 #", "replaces #")) (p) } }
                    (evidence_links(lang, &e.evidence))
                    @if let Some(a) = &e.appeal {
                        div.sub { span.tag { (appeal_state_label(lang, &a.state)) } " " (a.grounds) }
                        (evidence_links(lang, &e.appeal_evidence))
                        @if let Some(reason) = &a.decision_reason { div.sub.muted { (lang.pick("裁决理由：", "Decision: ")) (reason) @if let Some(n) = &a.decided_by_name { "（" (n) "）" } } }
                        @if issuer && a.state == "pending" && (me.is_none() || me != r.issuer_user_id) {
                            form.import method="post" action={ "/credit/appeals/" (a.id) "/decide" } {
                                input type="hidden" name="csrf" value=(ctx.csrf());
                                label { (lang.pick("裁决", "Outcome")) " " select name="outcome" {
                                    option value="rejected" { (lang.pick("驳回", "Rejected")) }
                                    option value="upheld" { (lang.pick("成立（记录自今日起不再计分）", "Upheld (the record stops counting today)")) }
                                    option value="partly_upheld" { (lang.pick("部分成立（以较低分值替代）", "Partly upheld (replaced with fewer points)")) }
                                } }
                                label { (lang.pick("部分成立时的替代分值", "Points of the replacement (partly upheld)")) " " input type="text" name="points" inputmode="decimal" placeholder="1.00"; }
                                label { (lang.pick("裁决理由", "Reason")) " " textarea name="reason" rows="2" maxlength="4000" required {} }
                                button type="submit" { (lang.pick("提交裁决", "Decide")) }
                            }
                        }
                    }
                    @if company_admin { @if let Some(until) = e.appeal_until {
                        details.claim { summary { (lang.pick("提出申诉（截至 ", "Appeal (until ")) (until) (lang.pick("）", ")")) }
                            form.import method="post" action={ "/credit/records/" (r.id) "/appeal" } enctype="multipart/form-data" {
                                input type="hidden" name="csrf" value=(ctx.csrf());
                                label { (lang.pick("申诉理由", "Grounds")) " " textarea name="grounds" rows="3" maxlength="4000" required {} }
                                (evidence_input(lang))
                                button type="submit" { (lang.pick("提交申诉（每条记录一次）", "Appeal (once per record)")) }
                            }
                        }
                    } }
                }
            } }
            h2 { (lang.pick("红黑榜记录", "Red and black list")) }
            @if l.list_entries.is_empty() { p.muted { (lang.pick("未曾列入。", "Never listed.")) } }
            ul.cards { @for e in &l.list_entries {
                li.card.past[e.status != "active"] {
                    div.title { span.tag { (list_label(lang, &e.list)) } " " (e.starts_on) " — " (e.ends_on) " " small.muted { (entry_status_label(lang, &e.status)) } }
                    div.sub { (e.reason) }
                    div.sub.muted { (lang.pick("依据：", "Basis: ")) (bilingual(lang, &e.basis)) @if let Some(n) = &e.region_name { " · " (n) } }
                    @if let Some(r) = &e.revoke_reason { div.sub.muted { (lang.pick("撤销理由：", "Revoked: ")) (r) } }
                    (evidence_links(lang, &e.evidence))
                    @if issuer && e.revoked_at.is_none() && e.status != "expired" {
                        form.import method="post" action={ "/credit/list/" (e.id) "/revoke" } {
                            input type="hidden" name="csrf" value=(ctx.csrf());
                            label { (lang.pick("撤销理由", "Reason to revoke")) " " input type="text" name="reason" maxlength="2000" required; }
                            button type="submit" { (lang.pick("撤销", "Revoke")) }
                        }
                    }
                }
            } }
            @if issuer {
                h2 { (lang.pick("签发信用记录", "Issue a record")) }
                form.import method="post" action={ "/credit/" (l.company.id) "/records" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("项目", "Item")) " " select name="item_key" required {
                        @for i in &l.items { option value=(i.key) { (kind_label(lang, &i.kind)) " · " (lang.pick(&i.name_zh, &i.name_en)) " (" (signed(&i.kind, i.points)) ")" } }
                    } }
                    label { (lang.pick("分值（留空按项目默认）", "Points (empty: the item's)")) " " input type="text" name="points" inputmode="decimal" placeholder="3.00"; }
                    label { (lang.pick("涉及小区（留空为整个企业）", "Compound (empty: the whole company)")) " " select name="compound_id" {
                        option value="" { "—" }
                        @for (cid, name) in &compounds { option value=(cid) { (name) } }
                    } }
                    label { (lang.pick("事由", "Reason")) " " textarea name="reason" rows="2" maxlength="2000" required {} }
                    label { (lang.pick("生效日期（默认今日）", "Valid from (default today)")) " " input type="date" name="valid_from"; }
                    label { (lang.pick("失效日期（默认一年后）", "Valid until, exclusive (default a year later)")) " " input type="date" name="valid_to"; }
                    (evidence_input(lang))
                    button type="submit" { (lang.pick("签发（企业将收到通知）", "Issue (the company is told)")) }
                }
                h2 { (lang.pick("列入红黑榜", "Put on the red or black list")) }
                form.import method="post" action={ "/credit/" (l.company.id) "/list" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    @let preset = s.candidacy.as_ref().map(|c| c.list.as_str());
                    label { (lang.pick("榜单", "List")) " " select name="list" {
                        option value="red" selected[preset == Some("red")] { (lang.pick("红榜", "Red list")) }
                        option value="black" selected[preset == Some("black")] { (lang.pick("黑榜", "Black list")) }
                    } }
                    label { (lang.pick("事由", "Reason")) " " textarea name="reason" rows="2" maxlength="2000" required {} }
                    label { (lang.pick("依据（留空按候选条件）", "Basis (empty: the candidacy's)")) " " input type="text" name="basis" maxlength="2000"; }
                    label { (lang.pick("起始日期（默认今日）", "Starts on (default today)")) " " input type="date" name="starts_on"; }
                    label { (lang.pick("到期日期（默认一年后）", "Ends on, exclusive (default a year later)")) " " input type="date" name="ends_on"; }
                    (evidence_input(lang))
                    button type="submit" { (lang.pick("确认列入", "Confirm")) }
                }
            }
        },
    ))
}

async fn record_issue(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    credit::require_issuer(&ctx.actor).or_page(lang)?;
    credit::company(&st.db, &ctx.actor, id).await.or_page(lang)?;
    let (f, uploads) = multipart_form(lang, form).await?;
    ctx.check_csrf(f.get("csrf").map_or("", String::as_str))?;
    let new = credit::NewRecord {
        company_id: id,
        compound_id: opt_id(lang, "compound_id", f.get("compound_id"))?,
        item_key: f.get("item_key").cloned().unwrap_or_default(),
        points: f.get("points").cloned(),
        reason: f.get("reason").cloned().unwrap_or_default(),
        valid_from: opt_date(lang, "valid_from", f.get("valid_from"))?,
        valid_to: opt_date(lang, "valid_to", f.get("valid_to"))?,
    };
    credit::issue(&st.db, &st.files, &ctx.actor, &new, &uploads, st.clock.now())
        .await
        .or_page(lang)?;
    Ok(back_to(id))
}

async fn list_add(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    credit::require_issuer(&ctx.actor).or_page(lang)?;
    credit::company(&st.db, &ctx.actor, id).await.or_page(lang)?;
    let (f, uploads) = multipart_form(lang, form).await?;
    ctx.check_csrf(f.get("csrf").map_or("", String::as_str))?;
    let new = credit::NewListEntry {
        company_id: id,
        list: f.get("list").cloned().unwrap_or_default(),
        compound_id: opt_id(lang, "compound_id", f.get("compound_id"))?,
        reason: f.get("reason").cloned().unwrap_or_default(),
        basis: f.get("basis").cloned(),
        credit_record_id: opt_id(lang, "credit_record_id", f.get("credit_record_id"))?,
        starts_on: opt_date(lang, "starts_on", f.get("starts_on"))?,
        ends_on: opt_date(lang, "ends_on", f.get("ends_on"))?,
    };
    credit::add_to_list(&st.db, &st.files, &ctx.actor, &new, &uploads, st.clock.now())
        .await
        .or_page(lang)?;
    Ok(back_to(id))
}

async fn appeal_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    credit::require_company_admin(&ctx.actor).or_page(lang)?;
    let r = credit::record(&st.db, &ctx.actor, id).await.or_page(lang)?;
    let (f, uploads) = multipart_form(lang, form).await?;
    ctx.check_csrf(f.get("csrf").map_or("", String::as_str))?;
    let grounds = f.get("grounds").cloned().unwrap_or_default();
    credit::appeal(
        &st.db,
        &st.files,
        &ctx.actor,
        id,
        &grounds,
        &uploads,
        st.clock.now(),
    )
    .await
    .or_page(lang)?;
    Ok(back_to(r.company_id))
}

async fn appeal_decide(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<axum::Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    credit::require_issuer(&ctx.actor).or_page(lang)?;
    let a = credit::appeal_by_id(&st.db, &ctx.actor, id).await.or_page(lang)?;
    let f = plain_form(lang, form)?;
    ctx.check_csrf(f.get("csrf").map_or("", String::as_str))?;
    let d = credit::AppealDecision {
        outcome: f.get("outcome").cloned().unwrap_or_default(),
        reason: f.get("reason").cloned().unwrap_or_default(),
        points: f.get("points").cloned(),
    };
    credit::decide(&st.db, &ctx.actor, id, &d, st.clock.now())
        .await
        .or_page(lang)?;
    Ok(back_to(a.company_id))
}

async fn list_revoke(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<axum::Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    credit::require_issuer(&ctx.actor).or_page(lang)?;
    let today = crate::clock::china_date(st.clock.now());
    let e = credit::list_entry(&st.db, &ctx.actor, id, today)
        .await
        .or_page(lang)?;
    let f = plain_form(lang, form)?;
    ctx.check_csrf(f.get("csrf").map_or("", String::as_str))?;
    let reason = f.get("reason").cloned().unwrap_or_default();
    credit::revoke(&st.db, &ctx.actor, id, &reason, st.clock.now())
        .await
        .or_page(lang)?;
    Ok(back_to(e.company_id))
}

// ---------------------------------------------------------------------------------------------
// The public list

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub list: Option<String>,
    pub page: Option<u32>,
}

async fn red_black_list(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<ListQuery>) -> PageResult {
    let lang = ctx.lang;
    let list = match q.list.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => Some(
            RedBlack::parse(l)
                .map_err(|e| AppError::invalid("list", &e.to_string()))
                .or_page(lang)?,
        ),
        None => None,
    };
    let today = crate::clock::china_date(st.clock.now());
    let page = Page::new(q.page.unwrap_or(1), 50);
    let entries = credit::public_list(&st.db, list, None, today, &page)
        .await
        .or_page(lang)?;
    let regulator = ctx.actor.role.is_some_and(Role::is_regulator);
    let candidates = if regulator {
        Some(
            credit::candidates(&st.db, &ctx.actor, today)
                .await
                .or_page(lang)?,
        )
    } else {
        None
    };
    let tab = |value: Option<&str>, zh: &'static str, en: &'static str| {
        let on = list.map(|l| l.as_str()) == value;
        let href = match value {
            Some(v) => format!("/red-black-list?list={v}"),
            None => "/red-black-list".to_owned(),
        };
        html! { a.tag[on] href=(href) { (lang.pick(zh, en)) } }
    };
    let base = match list {
        Some(l) => format!("/red-black-list?list={}", l.as_str()),
        None => "/red-black-list".to_owned(),
    };
    Ok(layout(
        &ctx,
        lang.pick("红黑榜", "Red and black list"),
        "/red-black-list",
        html! {
            p.crumbs { (tab(None, "全部", "All")) " · " (tab(Some("red"), "红榜", "Red list")) " · " (tab(Some("black"), "黑榜", "Black list")) }
            p.muted { (lang.pick("红榜：信用等级最高且无有效不良记录；黑榜：存在一票否决记录，或等级最低且有严重不良记录。由区县或市级监管部门确认公布，到期后自动撤下。", "Red: the top grade with no active bad record. Black: a one-vote veto record, or the lowest grade with a serious bad record. Confirmed and published by the district or city regulator; entries leave this page when they expire.")) }
            @if entries.items.is_empty() { p.muted { (lang.pick("目前没有公示中的条目。", "No entries are published at present.")) } }
            ul.cards { @for e in &entries.items {
                li.card {
                    div.title { span class=(if e.list == "red" { "tag" } else { "tag alt" }) { (list_label(lang, &e.list)) } " " a href={ "/companies/" (e.company_id) } { (e.company_name) } }
                    div.sub.muted { (e.company_uscc) @if let Some(c) = &e.compound_name { " · " (c) } }
                    div.sub { (e.reason) }
                    div.sub.muted { (lang.pick("依据：", "Basis: ")) (bilingual(lang, &e.basis)) }
                    div.sub.muted { (e.starts_on) " — " (e.ends_on) @if let Some(n) = &e.region_name { " · " (n) (lang.pick(" 发布", "")) } }
                }
            } }
            (pager(lang, &base, entries.page, entries.has_more))
            @if let Some(c) = &candidates {
                h2 { (lang.pick("候选企业（", "Candidates (")) (c.on) (lang.pick("）", ")")) }
                @if c.candidates.is_empty() { p.muted { (lang.pick("辖区内暂无候选企业。", "No candidates in your jurisdiction.")) } }
                ul.cards { @for cand in &c.candidates {
                    @if let Some(k) = &cand.standing.candidacy {
                        li.card {
                            div.title { span.tag { (list_label(lang, &k.list)) } " " a href={ "/credit/" (cand.company.id) } { (cand.company.name) } }
                            div.sub { (format_hundredths(cand.standing.score)) " · " (grade_label(lang, &cand.standing.grade)) }
                            div.sub.muted { (lang.pick(&k.basis_zh, &k.basis_en)) }
                        }
                    }
                } }
                @if !c.review.is_empty() {
                    h2 { (lang.pick("依据已不成立、待复核的条目", "Entries whose basis no longer holds (review)")) }
                    ul.cards { @for r in &c.review {
                        li.card {
                            div.title { span.tag { (list_label(lang, &r.entry.list)) } " " a href={ "/credit/" (r.entry.company_id) } { (r.entry.company_name) } }
                            div.sub { (format_hundredths(r.standing.score)) " · " (grade_label(lang, &r.standing.grade)) }
                        }
                    } }
                }
            }
        },
    ))
}

fn pager(lang: Lang, base: &str, page: u32, has_more: bool) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        @if page > 1 || has_more {
            nav.pager {
                @if page > 1 { a href={ (base) (sep) "page=" (page - 1) } { "‹ " (lang.pick("上一页", "Previous")) } }
                span { (lang.pick("第 ", "Page ")) (page) (lang.pick(" 页", "")) }
                @if has_more { a href={ (base) (sep) "page=" (page + 1) } { (lang.pick("下一页", "Next")) " ›" } }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Schemes

async fn schemes_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    let schemes = credit::schemes(&st.db).await.or_page(lang)?;
    let issuer = credit::require_issuer(&ctx.actor).ok();
    let today = crate::clock::china_date(st.clock.now());
    Ok(layout(
        &ctx,
        lang.pick("信用评价方案", "Credit schemes"),
        "/red-black-list",
        html! {
            p.muted { (lang.pick("信用等级的分档、上限和项目分值是按区划发布的版本化数据；企业适用所在区县的最新版本，没有则适用市级版本，再没有则适用默认方案。", "Grade bands, caps and item points are versioned data published per region: a company is governed by its district's newest version, else its city's, else the default.")) }
            ul.cards { @for sc in &schemes {
                li.card {
                    div.title { (lang.pick(&sc.scheme.name_zh, &sc.scheme.name_en)) }
                    div.sub.muted {
                        @match (sc.scheme.region_code, sc.scheme.version) {
                            (Some(r), Some(v)) => { (format!("{r:012}")) " · " (lang.pick("第 ", "version ")) (v) (lang.pick(" 版", "")) }
                            _ => { (lang.pick("默认方案", "Default scheme")) }
                        }
                        @if let Some(f) = sc.scheme.effective_from { " · " (lang.pick("自 ", "from ")) (f) }
                    }
                    details { summary { (lang.pick("方案文件（CSV）", "Scheme file (CSV)")) } pre { (sc.csv) } }
                }
            } }
            @if let Some(code) = issuer {
                h2 { (lang.pick("发布新版本", "Publish a new version")) }
                form.import method="post" action="/credit/schemes" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("适用区划（市或区县代码）", "Region (a city or district code)")) " " input type="text" name="region" required value=[code.map(|c| c.short())]; }
                    label { (lang.pick("生效日期", "Effective from")) " " input type="date" name="effective_from" value=(today); }
                    label { (lang.pick("方案文件（CSV 或 .xlsx，列同上）", "File (CSV or .xlsx, the columns above)")) " " input type="file" name="file" required accept=".csv,.xlsx"; }
                    button type="submit" { (lang.pick("校验并发布", "Check and publish")) }
                }
            }
        },
    ))
}

async fn scheme_upload(
    State(st): State<AppState>,
    ctx: Ctx,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    signed_in(&ctx)?;
    credit::require_issuer(&ctx.actor).or_page(lang)?;
    let (f, uploads) = multipart_form(lang, form).await?;
    ctx.check_csrf(f.get("csrf").map_or("", String::as_str))?;
    let region = RegionCode::parse(f.get("region").map_or("", |r| r.trim()))
        .map_err(|e| AppError::invalid("region", &e.to_string()))
        .or_page(lang)?;
    let from = opt_date(lang, "effective_from", f.get("effective_from"))?
        .unwrap_or_else(|| crate::clock::china_date(st.clock.now()));
    let Some(file) = uploads.first() else {
        return Err(AppError::invalid("file", "choose a file / 请选择文件")).or_page(lang);
    };
    let r: Result<credit::SchemeRef, CreditError> = credit::upload_scheme(
        &st.db,
        &st.files,
        &ctx.actor,
        region,
        from,
        "scheme.csv",
        &file.bytes,
        st.clock.now(),
    )
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/credit/schemes").into_response()),
        Err(CreditError::Scheme(errors)) => {
            let body = html! {
                p.error { (lang.pick("方案文件有误，未做任何修改：", "The file was rejected; nothing was changed:")) }
                table.list {
                    thead { tr { th { (lang.pick("行", "Line")) } th { (lang.pick("列", "Column")) } th { (lang.pick("值", "Value")) } th { (lang.pick("原因", "Reason")) } } }
                    tbody { @for e in &errors { tr { td.num { (e.line) } td { (e.column) } td { (e.value) } td { (bilingual(lang, &e.message)) } } } }
                }
                p { a href="/credit/schemes" { (lang.pick("返回", "Back")) } }
            };
            let page = layout(
                &ctx,
                lang.pick("信用评价方案", "Credit schemes"),
                "/red-black-list",
                body,
            );
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e).or_page(lang),
    }
}
