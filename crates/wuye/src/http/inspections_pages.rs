//! Inspection and rectification pages (docs/assessment.md §7, §8), for a phone on site:
//! regulators start an inspection, record findings with photos, submit, and issue a notice;
//! companies read their notices and respond; regulators verify, reject or withdraw.
//!
//! Every form is URL-encoded or multipart and checked for the session's CSRF token before
//! anything else, so a form without it changes nothing.

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use wuye_model::{Lang, Role};

use super::AppState;
use super::error::AppError;
use super::pages::{Ctx, OrPage, PForm, PQ, PageError, csrf_multipart, layout};
use crate::auth::Scope;
use crate::inspections::{
    self, CATEGORIES, Finding, InspectionFilter, NewFinding, NewInspection, NewRectification, NoticeStep,
    RectificationFilter, SEVERITIES, category_label, severity_label, state_label,
};
use crate::sql::Sql;
use crate::{bind_params, db_read};

type PageResult = Result<Markup, PageError>;

pub fn router() -> super::Listed {
    super::Listed::default()
        .get("/inspections", inspections_page)
        .post("/inspections", inspection_create)
        .get("/inspections/{id}", inspection_page)
        .post("/inspections/{id}/findings", finding_add)
        .post("/inspections/{id}/submit", inspection_submit)
        .post("/inspections/{id}/notice", notice_issue)
        .post("/inspections/findings/{id}/withdraw", finding_withdraw)
        .get("/rectifications", rectifications_page)
        .get("/rectifications/{id}", rectification_page)
        .post("/rectifications/{id}/act", rectification_act)
}

/// An instant as China time, to the minute.
pub(super) fn cst(t: time::OffsetDateTime) -> String {
    t.to_offset(crate::clock::CST)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default()
}

pub(super) fn pick<'a>(lang: Lang, (zh, en): (&'a str, &'a str)) -> &'a str {
    lang.pick(zh, en)
}

fn is_regulator(ctx: &Ctx) -> bool {
    ctx.actor.role.is_some_and(Role::is_regulator) || ctx.actor.scope == Scope::All
}

/// A URL-encoded form, its CSRF token checked first.
pub(super) fn checked(
    ctx: &Ctx,
    form: HashMap<String, String>,
) -> Result<HashMap<String, String>, PageError> {
    ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    Ok(form)
}

pub(super) fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("").trim()
}

pub(super) fn opt_date(lang: Lang, name: &'static str, v: &str) -> Result<Option<time::Date>, PageError> {
    if v.is_empty() {
        return Ok(None);
    }
    time::Date::parse(v, &time::macros::format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| AppError::invalid(name, "a date is written 2026-11-21 / 日期格式为 2026-11-21"))
        .or_page(lang)
}

pub(super) fn opt_i64(lang: Lang, name: &'static str, v: &str) -> Result<Option<i64>, PageError> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| AppError::invalid(name, "a number is expected / 须为数字"))
        .or_page(lang)
}

fn level_text(lang: Lang, level: i64) -> &'static str {
    match level {
        0 => lang.pick("未升级", "none"),
        1 => lang.pick("1 级（街道）", "1 (street)"),
        2 => lang.pick("2 级（区县）", "2 (district)"),
        _ => lang.pick("3 级（市）", "3 (city)"),
    }
}

// ---------------------------------------------------------------------------------------------
// Inspections

/// The compounds a regulator may inspect (at most 500, by code).
async fn inspectable(st: &AppState, ctx: &Ctx) -> Result<Vec<(i64, String, String)>, AppError> {
    let db = &st.db;
    let mut sql = Sql::new("SELECT id, code, name FROM compounds WHERE 1 = 1");
    if let Scope::Region { code } = &ctx.actor.scope {
        let r = code.subtree();
        sql.push(" AND region_code BETWEEN ")
            .bind_i64(*r.start())
            .push(" AND ")
            .bind_i64(*r.end());
    }
    sql.push(" ORDER BY code LIMIT 500");
    Ok(
        db_read!(db, pool => bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?,
    )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
}

async fn inspections_page(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<ListQuery>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let f = InspectionFilter {
        state: q.state.clone(),
        ..Default::default()
    };
    let rows = inspections::list_inspections(&st.db, &ctx.actor, &f)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let regulator = is_regulator(&ctx);
    // This month's figures of the caller's jurisdiction (regulators).
    let line = if regulator {
        let to = st.clock.now().to_offset(crate::clock::CST).date();
        let from = to.replace_day(1).unwrap_or(to);
        inspections::figures(&st.db, &ctx.actor, None, from, to)
            .await
            .ok()
            .map(|f| lang.pick(&f.line_zh, &f.line_en).to_owned())
    } else {
        None
    };
    let (compounds, campaigns) = if regulator {
        (
            inspectable(&st, &ctx).await.or_page(lang)?,
            inspections::campaigns(&st.db, &ctx.actor)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(layout(
        &ctx,
        lang.pick("检查与整改", "Inspections"),
        "/inspections",
        html! {
            @if let Some(l) = &line { p.notice { (lang.pick("本月：", "This month: ")) (l) } }
            p { a href="/rectifications" { (lang.pick("整改通知", "Rectification notices")) } }
            @if regulator {
                details.card open[rows.is_empty()] {
                    summary { (lang.pick("新建检查", "New inspection")) }
                    form.stack method="post" action="/inspections" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        label { (lang.pick("小区", "Compound")) " "
                            select name="compound_id" required {
                                @for (id, code, name) in &compounds { option value=(id) { (code) " " (name) } }
                            }
                        }
                        label { (lang.pick("检查活动（可选）", "Campaign (optional)")) " "
                            select name="campaign_id" {
                                option value="" { "—" }
                                @for c in &campaigns { option value=(c.id) { (c.name) " (" (c.starts_on) "–" (c.ends_on) ")" } }
                            }
                        }
                        label { (lang.pick("检查日期（默认今日）", "Date (default today)")) " " input type="date" name="inspected_on"; }
                        label { (lang.pick("同行检查人", "Co-inspectors")) " " input type="text" name="co_inspectors" maxlength="200"; }
                        label { (lang.pick("备注", "Note")) " " input type="text" name="note" maxlength="2000"; }
                        button type="submit" { (lang.pick("开始检查", "Start")) }
                    }
                }
            }
            form.filters method="get" action="/inspections" {
                select name="state" {
                    option value="" { (lang.pick("全部", "All")) }
                    @for s in ["draft", "submitted"] { option value=(s) selected[q.state.as_deref() == Some(s)] { (pick(lang, state_label(s))) } }
                }
                button type="submit" { (lang.pick("筛选", "Filter")) }
            }
            @if rows.is_empty() { p.muted { (lang.pick("暂无检查记录。", "No inspections.")) } }
            ul.cards { @for i in &rows {
                li.card {
                    div.title { a href={ "/inspections/" (i.id) } { (i.compound_name) } }
                    div.meta { (i.inspected_on) " · " span.tag { (pick(lang, state_label(&i.state))) } " · " (lang.pick("问题 ", "findings ")) (i.findings) }
                }
            } }
        },
    ))
}

async fn inspection_create(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let new = NewInspection {
        compound_id: opt_i64(lang, "compound_id", field(&f, "compound_id"))?.unwrap_or(0),
        campaign_id: opt_i64(lang, "campaign_id", field(&f, "campaign_id"))?,
        inspected_on: opt_date(lang, "inspected_on", field(&f, "inspected_on"))?,
        co_inspectors: Some(field(&f, "co_inspectors").to_owned()),
        note: Some(field(&f, "note").to_owned()),
    };
    let i = inspections::create_inspection(&st.db, &ctx.actor, &new, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/inspections/{}", i.id)).into_response())
}

fn finding_row(ctx: &Ctx, f: &Finding, frozen: bool, regulator: bool) -> Markup {
    let lang = ctx.lang;
    html! {
        li.card {
            div.title { (pick(lang, category_label(&f.category))) " · " span.tag { (pick(lang, severity_label(&f.severity))) }
                @if f.fixed_on_site { " " span.tag { (lang.pick("当场整改", "fixed on site")) } }
                @if f.withdrawn_at.is_some() { " " span.tag.old { (lang.pick("已撤回", "withdrawn")) } }
            }
            div { (f.description) }
            @if !f.place.is_empty() { div.meta { (lang.pick("位置：", "Place: ")) (f.place) } }
            @if let Some(r) = &f.withdraw_reason { div.meta { (lang.pick("撤回理由：", "Reason: ")) (r) } }
            @if let Some(r) = f.rectification_id { div.meta { a href={ "/rectifications/" (r) } { (lang.pick("整改通知", "Notice")) " #" (r) } } }
            @if f.photos > 0 { div.photos { @for n in 1..=f.photos {
                a href={ "/api/v1/inspections/findings/" (f.id) "/photos/" (n) } { img src={ "/api/v1/inspections/findings/" (f.id) "/photos/" (n) } alt=(n) loading="lazy" width="96"; }
            } } }
            @if frozen && regulator && f.withdrawn_at.is_none() {
                form.inline method="post" action={ "/inspections/findings/" (f.id) "/withdraw" } {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    input type="text" name="reason" required maxlength="500" placeholder=(lang.pick("撤回理由", "Reason to withdraw"));
                    button type="submit" { (lang.pick("撤回", "Withdraw")) }
                }
            }
        }
    }
}

async fn inspection_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang;
    let d = inspections::get_inspection(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let i = &d.inspection;
    let notice_days = st.settings().await.assessment.notice_days;
    let regulator = is_regulator(&ctx);
    let draft = i.state == "draft";
    let open: Vec<&Finding> = d
        .findings
        .iter()
        .filter(|f| f.withdrawn_at.is_none() && f.rectification_id.is_none())
        .collect();
    Ok(layout(
        &ctx,
        &i.compound_name,
        "/inspections",
        html! {
            p.crumbs { a href="/inspections" { (lang.pick("检查", "Inspections")) } " › " (i.compound_name) }
            p { (i.inspected_on) " · " span.tag { (pick(lang, state_label(&i.state))) }
                @if let Some(t) = i.submitted_at { " · " (lang.pick("提交于 ", "submitted ")) (cst(t)) } }
            @if !i.note.is_empty() { p.muted { (i.note) } }
            h3 { (lang.pick("问题", "Findings")) " (" (i.findings) ")" }
            ul.cards { @for f in &d.findings { (finding_row(&ctx, f, !draft, regulator)) } }
            @if draft && regulator {
                details.card open {
                    summary { (lang.pick("记录问题", "Add a finding")) }
                    form.stack method="post" action={ "/inspections/" (i.id) "/findings" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        label { (lang.pick("类别", "Category")) " " select name="category" { @for (k, zh, en) in CATEGORIES { option value=(k) { (lang.pick(zh, en)) } } } }
                        label { (lang.pick("严重程度", "Severity")) " " select name="severity" { @for (k, zh, en) in SEVERITIES { option value=(k) { (lang.pick(zh, en)) } } } }
                        label { (lang.pick("问题描述", "Description")) " " textarea name="description" required maxlength="2000" {} }
                        label { (lang.pick("位置", "Place")) " " input type="text" name="place" maxlength="200"; }
                        label { input type="checkbox" name="fixed_on_site" value="1"; " " (lang.pick("当场整改", "Fixed on site")) }
                        label { (lang.pick("照片（最多 9 张）", "Photos (up to nine)")) " " input type="file" name="photo" multiple accept="image/jpeg,image/png,image/webp" capture="environment"; }
                        button type="submit" { (lang.pick("保存", "Save")) }
                    }
                }
                form method="post" action={ "/inspections/" (i.id) "/submit" } {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    button type="submit" { (lang.pick("提交检查（提交后问题不可修改）", "Submit (findings are then frozen)")) }
                }
            }
            @if !draft && regulator && !open.is_empty() {
                details.card {
                    summary { (lang.pick("下发限期整改通知书", "Issue a rectification notice")) }
                    form.stack method="post" action={ "/inspections/" (i.id) "/notice" } {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        @for f in &open {
                            label { input type="checkbox" name={ "f" (f.id) } value="1" checked; " " (pick(lang, category_label(&f.category))) "：" (f.description) }
                        }
                        label { (lang.pick("整改期限（默认 ", "Deadline (default ")) (notice_days) (lang.pick(" 个工作日）", " working days)")) " " input type="date" name="deadline"; }
                        label { (lang.pick("整改要求", "Requirement")) " " textarea name="requirement" maxlength="2000" {} }
                        button type="submit" { (lang.pick("下发", "Issue")) }
                    }
                }
            }
        },
    ))
}

async fn finding_add(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let (f, photos) = csrf_multipart(&ctx, form).await?;
    let new = NewFinding {
        category: field(&f, "category").to_owned(),
        severity: field(&f, "severity").to_owned(),
        description: field(&f, "description").to_owned(),
        place: Some(field(&f, "place").to_owned()),
        fixed_on_site: !field(&f, "fixed_on_site").is_empty(),
    };
    // The finding and its photos are written together or not at all.
    let photos: Vec<&[u8]> = photos.iter().map(|p| p.as_ref()).collect();
    inspections::add_finding(&st.db, &st.files, &ctx.actor, id, &new, &photos, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/inspections/{id}")).into_response())
}

async fn inspection_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    checked(&ctx, f)?;
    inspections::submit(&st.db, &ctx.actor, id, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/inspections/{id}")).into_response())
}

async fn finding_withdraw(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let w = inspections::withdraw_finding(&st.db, &ctx.actor, id, field(&f, "reason"), st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/inspections/{}", w.inspection_id)).into_response())
}

async fn notice_issue(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let mut finding_ids: Vec<i64> = f
        .keys()
        .filter_map(|k| k.strip_prefix('f').and_then(|n| n.parse().ok()))
        .collect();
    finding_ids.sort_unstable();
    let new = NewRectification {
        inspection_id: id,
        finding_ids,
        deadline: opt_date(lang, "deadline", field(&f, "deadline"))?,
        requirement: Some(field(&f, "requirement").to_owned()),
    };
    let settings = st.settings().await;
    let d = inspections::issue(&st.db, &ctx.actor, &new, &settings, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/rectifications/{}", d.notice.id)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Rectification notices

async fn rectifications_page(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<ListQuery>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let f = RectificationFilter {
        state: q.state.clone(),
        ..Default::default()
    };
    let rows = inspections::list_notices(&st.db, &ctx.actor, &f)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let today = st.clock.now().to_offset(crate::clock::CST).date();
    Ok(layout(
        &ctx,
        lang.pick("整改通知", "Rectification notices"),
        "/inspections",
        html! {
            p { a href="/inspections" { (lang.pick("检查", "Inspections")) } }
            form.filters method="get" action="/rectifications" {
                select name="state" {
                    option value="" { (lang.pick("全部", "All")) }
                    @for s in ["issued", "responded", "verified", "withdrawn"] { option value=(s) selected[q.state.as_deref() == Some(s)] { (pick(lang, state_label(s))) } }
                }
                button type="submit" { (lang.pick("筛选", "Filter")) }
            }
            @if rows.is_empty() { p.muted { (lang.pick("暂无整改通知。", "No notices.")) } }
            ul.cards { @for r in &rows {
                li.card {
                    div.title { a href={ "/rectifications/" (r.id) } { (r.number) } " " span.tag { (pick(lang, state_label(&r.state))) } }
                    div.meta { (r.compound_name) " · " (r.company_name) }
                    div.meta {
                        (lang.pick("期限 ", "Deadline ")) (r.deadline)
                        @if r.state == "issued" && r.deadline < today { " " span.tag.old { (lang.pick("已逾期", "overdue")) } }
                        @if r.supervision_level > 0 { " · " (lang.pick("督办 ", "Supervision ")) (level_text(lang, r.supervision_level)) }
                    }
                }
            } }
        },
    ))
}

async fn rectification_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang;
    let d = inspections::get_notice(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let n = &d.notice;
    let notice_days = st.settings().await.assessment.notice_days;
    let may = |action: &str| inspections::may(&ctx.actor, n, action).is_ok();
    let form = |action: &'static str, label: &'static str, note: &'static str, deadline: bool| {
        html! {
            form.stack method="post" action={ "/rectifications/" (n.id) "/act" } {
                input type="hidden" name="csrf" value=(ctx.csrf());
                input type="hidden" name="action" value=(action);
                textarea name="note" maxlength="2000" placeholder=(note) {}
                @if deadline { label { (lang.pick("新期限（默认 ", "New deadline (default ")) (notice_days) (lang.pick(" 个工作日）", " working days)")) " " input type="date" name="deadline"; } }
                button type="submit" { (label) }
            }
        }
    };
    Ok(layout(
        &ctx,
        &n.number,
        "/inspections",
        html! {
            p.crumbs { a href="/rectifications" { (lang.pick("整改通知", "Notices")) } " › " (n.number) }
            div.figures {
                div.figure { b { (pick(lang, state_label(&n.state))) } span { (lang.pick("状态", "State")) } }
                div.figure { b { (n.deadline) } span { (lang.pick("整改期限（24:00 止）", "Deadline (ends 24:00)")) } }
                div.figure { b { (n.rounds) } span { (lang.pick("轮次", "Round")) } }
                div.figure { b { (level_text(lang, n.supervision_level)) } span { (lang.pick("督办级别", "Supervision")) } }
            }
            p { (n.compound_name) " · " (n.company_name)
                @if let Some(i) = n.inspection_id { " · " a href={ "/inspections/" (i) } { (lang.pick("检查记录", "Inspection")) } } }
            @if !n.requirement.is_empty() { p { (lang.pick("整改要求：", "Requirement: ")) (n.requirement) } }
            h3 { (lang.pick("问题", "Findings")) }
            ul.cards { @for f in &d.findings { (finding_row(&ctx, f, false, false)) } }
            @if may("respond") {
                (form("respond", lang.pick("提交整改回复", "Respond"), lang.pick("整改情况", "What was done"), false))
            }
            @if may("verify") {
                (form("verify", lang.pick("验收通过", "Verify"), lang.pick("验收意见（可选）", "Remarks (optional)"), false))
                (form("reject", lang.pick("驳回，重新整改", "Reject"), lang.pick("驳回理由", "Reason"), true))
            }
            @if may("withdraw") {
                (form("withdraw", lang.pick("撤回通知", "Withdraw"), lang.pick("撤回理由", "Reason"), false))
            }
            h3 { (lang.pick("记录", "Timeline")) }
            ul.timeline { @for e in &d.events {
                li { (cst(e.at)) " · " (e.actor) " · " (e.action) " → " (pick(lang, state_label(&e.to_state)))
                    @if let Some(dl) = e.deadline { " · " (lang.pick("期限 ", "deadline ")) (dl) }
                    @if !e.note.is_empty() { br; span.muted { (e.note) } } }
            } }
        },
    ))
}

async fn rectification_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let step = NoticeStep {
        action: field(&f, "action").to_owned(),
        note: field(&f, "note").to_owned(),
        deadline: opt_date(lang, "deadline", field(&f, "deadline"))?,
    };
    let settings = st.settings().await;
    inspections::act(&st.db, &ctx.actor, id, &step, &settings, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/rectifications/{id}")).into_response())
}
