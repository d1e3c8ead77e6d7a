//! Supervision pages (docs/assessment.md §5–§7): the bottom places' actions, interviews and
//! exit cases. Regulators see what lies in their jurisdiction and act as the holding
//! authority; a company reads its own; a committee its compound's and links the owners' vote.
//!
//! Every form is checked for the session's CSRF token before anything else.

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use wuye_model::Lang;

use super::AppState;
use super::error::AppError;
use super::inspections_pages::{checked, cst, field, opt_date, opt_i64, pick};
use super::pages::{Ctx, OrPage, PForm, PageError, csrf_multipart, layout};
use crate::supervision::{
    self, ActionFilter, ExitDecision, ExitVote, InterviewRecord, NewExitCase, NewInterview, action_label,
    state_label,
};

type PageResult = Result<Markup, PageError>;

pub fn router() -> super::Listed {
    super::Listed::default()
        .get("/supervision", supervision_page)
        .post("/supervision/actions/{id}/cancel", action_cancel)
        .post("/supervision/interviews", interview_create)
        .get("/supervision/interviews/{id}", interview_page)
        .post("/supervision/interviews/{id}/record", interview_record)
        .post("/supervision/interviews/{id}/cancel", interview_cancel)
        .post("/supervision/exits", exit_create)
        .get("/supervision/exits/{id}", exit_page)
        .post("/supervision/exits/{id}/decide", exit_decide)
        .post("/supervision/exits/{id}/vote", exit_vote)
}

fn origin_label(lang: Lang, origin: &str) -> &'static str {
    match origin {
        "assessment" => lang.pick("考核末位", "bottom place"),
        "rectification" => lang.pick("整改逾期", "overdue notice"),
        _ => lang.pick("监管部门提出", "by a regulator"),
    }
}

/// The part of a stored "English / 中文" text in the page's language.
fn bilingual(lang: Lang, text: &str) -> String {
    let (en, zh) = super::error::split(text);
    lang.pick(&zh, &en).to_owned()
}

fn is_regulator(ctx: &Ctx) -> bool {
    ctx.actor.require_regulator().is_ok()
}

/// The list of actions, interviews and exit cases, with the regulators' forms.
async fn supervision_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    let actions = supervision::actions(&st.db, &ctx.actor, &ActionFilter::default())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let interviews = supervision::interviews(&st.db, &ctx.actor, None)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let exits = supervision::exit_cases(&st.db, &ctx.actor)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let regulator = is_regulator(&ctx);
    // One card per bottom place (period, compound, company), its actions inside.
    let mut groups: Vec<Vec<&supervision::Action>> = Vec::new();
    for a in &actions {
        match groups.last_mut() {
            Some(g)
                if g[0].run_id == a.run_id
                    && g[0].compound_id == a.compound_id
                    && g[0].company_id == a.company_id =>
            {
                g.push(a)
            }
            _ => groups.push(vec![a]),
        }
    }
    Ok(layout(
        &ctx,
        lang.pick("督办：约谈与清退", "Supervision: interviews and exits"),
        "/assessment",
        html! {
            p.muted { (lang.pick(
                "考核月度末位的处理措施、逾期整改引起的约谈，以及清退程序。清退须经监管部门决定启动，并由业主依《民法典》第二百七十八条表决解聘；监管部门不能代替业主解聘。",
                "What a month's bottom places and overdue notices set in motion. An exit needs a regulator's decision to proceed and the owners' vote under Civil Code Art. 278; no regulator dismisses a company on the owners' behalf.")) }
            h2 { (lang.pick("约谈", "Interviews")) }
            @if interviews.is_empty() { p.muted { (lang.pick("暂无约谈。", "No interviews.")) } }
            ul.cards { @for i in &interviews { li.card {
                a href={ "/supervision/interviews/" (i.id) } { b { (lang.pick("约谈 ", "Interview ")) (i.id) } }
                " " span.tag { (pick(lang, state_label(&i.state))) }
                br; (i.company_name) @if let Some(c) = &i.compound_name { " · " (c) }
                br; span.muted { (origin_label(lang, &i.origin)) @if let Some(d) = i.held_on { " · " (d) } }
            } } }
            h2 { (lang.pick("清退案", "Exit cases")) }
            @if exits.is_empty() { p.muted { (lang.pick("暂无清退案。", "No exit cases.")) } }
            ul.cards { @for x in &exits { li.card {
                a href={ "/supervision/exits/" (x.id) } { b { (lang.pick("清退案 ", "Exit case ")) (x.id) } }
                " " span.tag { (pick(lang, state_label(&x.state))) }
                @if let Some(o) = &x.outcome { " · " (pick(lang, state_label(o))) }
                br; (x.company_name) " · " (x.compound_name)
            } } }
            h2 { (lang.pick("考核末位措施", "Bottom places' actions")) }
            @if groups.is_empty() { p.muted { (lang.pick("暂无。", "None.")) } }
            ul.cards { @for g in &groups {
                @let a = g[0];
                li.card {
                    b { (a.period) " · " (a.compound_name) }
                    br; span.muted { (a.company_name) " · " (lang.pick("连续末位 ", "bottom ")) (a.streak) (lang.pick(" 次", " running")) }
                    ul { @for a in g { li {
                        (pick(lang, action_label(&a.kind))) " · " (pick(lang, state_label(&a.state)))
                        @if let Some(i) = a.interview_id { " · " a href={ "/supervision/interviews/" (i) } { (lang.pick("约谈 ", "interview ")) (i) } }
                        @if let Some(x) = a.exit_case_id { " · " a href={ "/supervision/exits/" (x) } { (lang.pick("清退案 ", "exit case ")) (x) } }
                        @if let (Some(r), Some(n)) = (a.rectification_id, &a.rectification_number) { " · " a href={ "/rectifications/" (r) } { (n) } }
                        @if a.kind == "credit" && !a.detail.is_empty() { " · " (a.detail) (lang.pick(" 分", " points")) }
                        @if a.state == "cancelled" || (a.state == "pending" && a.note.starts_with("not ")) { br; span.muted { (bilingual(lang, &a.note)) } }
                        @if regulator && a.kind == "public_notice" && a.state == "done" {
                            details {
                                summary { (lang.pick("撤下公示…", "Withdraw from the notice…")) }
                                form.inline method="post" action={ "/supervision/actions/" (a.id) "/cancel" } {
                                    input type="hidden" name="csrf" value=(ctx.csrf());
                                    input type="text" name="reason" required placeholder=(lang.pick("撤下理由", "Reason to withdraw"));
                                    button type="submit" { (lang.pick("撤下", "Withdraw")) }
                                }
                            }
                        }
                    } } }
                }
            } }
            @if regulator {
                h2 { (lang.pick("提出约谈或清退", "Open an interview or an exit case")) }
                form.stack method="post" action="/supervision/interviews" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("企业编号", "Company id")) " " input type="number" name="company_id" required; }
                    label { (lang.pick("小区编号（可选）", "Compound id (optional)")) " " input type="number" name="compound_id"; }
                    textarea name="reason" required maxlength="1000" placeholder=(lang.pick("约谈事由", "Reason for the interview")) {}
                    button type="submit" { (lang.pick("立约谈", "Open interview")) }
                }
                form.stack method="post" action="/supervision/exits" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("企业编号", "Company id")) " " input type="number" name="company_id" required; }
                    label { (lang.pick("小区编号", "Compound id")) " " input type="number" name="compound_id" required; }
                    textarea name="reason" required maxlength="1000" placeholder=(lang.pick("提出清退的理由", "Reason for the exit procedure")) {}
                    button type="submit" { (lang.pick("提出清退", "Propose exit")) }
                }
            }
        },
    ))
}

async fn action_cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let f = checked(&ctx, f)?;
    supervision::cancel_public_notice(&st.db, &ctx.actor, id, field(&f, "reason"), st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(ctx.lang)?;
    Ok(Redirect::to("/supervision").into_response())
}

async fn interview_create(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let new = NewInterview {
        company_id: opt_i64(lang, "company_id", field(&f, "company_id"))?.unwrap_or(0),
        compound_id: opt_i64(lang, "compound_id", field(&f, "compound_id"))?,
        reason: field(&f, "reason").to_owned(),
    };
    let iv = supervision::create_interview(&st.db, &ctx.actor, &new, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/supervision/interviews/{}", iv.id)).into_response())
}

async fn interview_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang;
    let i = supervision::interview(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let may = supervision::may_act_for(&ctx.actor, i.region_code);
    let today = crate::clock::china_date(st.clock.now());
    Ok(layout(
        &ctx,
        &format!("{} {id}", lang.pick("约谈", "Interview")),
        "/assessment",
        html! {
            p.crumbs { a href="/supervision" { (lang.pick("督办", "Supervision")) } " › " (lang.pick("约谈 ", "Interview ")) (id) }
            div.figures {
                div.figure { b { (pick(lang, state_label(&i.state))) } span { (lang.pick("状态", "State")) } }
                div.figure { b { (origin_label(lang, &i.origin)) } span { (lang.pick("来由", "Origin")) } }
                div.figure { b { @if let Some(d) = i.held_on { (d) } @else { "—" } } span { (lang.pick("约谈日期", "Held on")) } }
            }
            p { (i.company_name) @if let Some(c) = &i.compound_name { " · " (c) }
                @if let (Some(r), Some(n)) = (i.rectification_id, &i.rectification_number) { " · " a href={ "/rectifications/" (r) } { (n) } } }
            p { (lang.pick("事由：", "Reason: ")) (bilingual(lang, &i.reason)) }
            @if i.state == "held" {
                dl {
                    dt { (lang.pick("地点", "Place")) } dd { (i.place) }
                    dt { (lang.pick("参加人员", "Attendees")) } dd { (i.attendees) }
                    dt { (lang.pick("纪要", "Minutes")) } dd.pre { (i.minutes) }
                }
            }
            @if let Some(name) = &i.minutes_file_name {
                p { a href={ "/api/v1/interviews/" (id) "/minutes-file" } { (lang.pick("纪要文件：", "Minutes file: ")) (name) } }
            }
            @if let Some(r) = &i.cancel_reason { p { (lang.pick("取消理由：", "Cancelled: ")) (r) } }
            @if may && i.state == "pending" {
                h3 { (lang.pick("记录约谈", "Record the interview")) }
                form.stack method="post" action={ "/supervision/interviews/" (id) "/record" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("约谈日期", "Held on")) " " input type="date" name="held_on" required max=(today); }
                    input type="text" name="place" maxlength="200" placeholder=(lang.pick("地点", "Place"));
                    textarea name="attendees" required maxlength="1000" placeholder=(lang.pick("参加人员（监管部门与企业）", "Attendees (authority and company)")) {}
                    textarea name="minutes" required maxlength="20000" rows="6" placeholder=(lang.pick("约谈纪要与企业承诺", "Minutes and the company's undertakings")) {}
                    label { (lang.pick("纪要文件（PDF 或图片，可选）", "Minutes file (PDF or image, optional)")) " " input type="file" name="file" accept="application/pdf,image/*"; }
                    button type="submit" { (lang.pick("保存记录", "Save the record")) }
                }
                form.stack method="post" action={ "/supervision/interviews/" (id) "/cancel" } {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    input type="text" name="reason" required maxlength="500" placeholder=(lang.pick("取消理由", "Reason to cancel"));
                    button type="submit" { (lang.pick("取消约谈", "Cancel the interview")) }
                }
            }
        },
    ))
}

async fn interview_record(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let (f, files) = csrf_multipart(&ctx, form).await?;
    let Some(held_on) = opt_date(lang, "held_on", field(&f, "held_on"))? else {
        return Err(AppError::invalid(
            "held_on",
            "give the day it was held / 请填写约谈日期",
        ))
        .or_page(lang);
    };
    let record = InterviewRecord {
        held_on,
        place: field(&f, "place").to_owned(),
        attendees: field(&f, "attendees").to_owned(),
        minutes: field(&f, "minutes").to_owned(),
    };
    // The record and its file are written together or not at all.
    let file = files.first().map(|f| f.as_ref());
    supervision::record_interview(&st.db, &st.files, &ctx.actor, id, &record, file, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/supervision/interviews/{id}")).into_response())
}

async fn interview_cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let f = checked(&ctx, f)?;
    supervision::cancel_interview(&st.db, &ctx.actor, id, field(&f, "reason"), st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(ctx.lang)?;
    Ok(Redirect::to(&format!("/supervision/interviews/{id}")).into_response())
}

async fn exit_create(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let new = NewExitCase {
        company_id: opt_i64(lang, "company_id", field(&f, "company_id"))?.unwrap_or(0),
        compound_id: opt_i64(lang, "compound_id", field(&f, "compound_id"))?.unwrap_or(0),
        reason: field(&f, "reason").to_owned(),
    };
    let x = supervision::propose_exit(&st.db, &ctx.actor, &new, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/supervision/exits/{}", x.case.id)).into_response())
}

async fn exit_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang;
    let d = supervision::exit_case(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let x = &d.case;
    let may_decide = supervision::may_act_for(&ctx.actor, x.region_code);
    let may_link = crate::decisions::require_organiser(&st.db, &ctx.actor, x.compound_id)
        .await
        .is_ok();
    let relink = x.state == "voting" && x.decision_state.as_deref() == Some("notice");
    let linkable = if may_link && (x.state == "decided" || relink) {
        supervision::linkable_decisions(&st.db, x.compound_id)
            .await
            .map_err(AppError::from)
            .or_page(lang)?
    } else {
        Vec::new()
    };
    Ok(layout(
        &ctx,
        &format!("{} {id}", lang.pick("清退案", "Exit case")),
        "/assessment",
        html! {
            p.crumbs { a href="/supervision" { (lang.pick("督办", "Supervision")) } " › " (lang.pick("清退案 ", "Exit case ")) (id) }
            div.figures {
                div.figure { b { (pick(lang, state_label(&x.state))) } span { (lang.pick("状态", "State")) } }
                div.figure { b { @if let Some(o) = &x.outcome { (pick(lang, state_label(o))) } @else { "—" } } span { (lang.pick("结果", "Outcome")) } }
            }
            p { (x.company_name) " · " (x.compound_name) " · " (origin_label(lang, &x.origin)) }
            p { (lang.pick("理由：", "Reason: ")) (bilingual(lang, &x.reason)) }
            @if let Some(r) = &x.decision_reason { p { (lang.pick("决定理由：", "Decision: ")) (r) } }
            @if let (Some(did), Some(t)) = (x.decision_id, &x.decision_title) {
                p { (lang.pick("业主表决：", "Owners' vote: ")) a href={ "/decisions/" (did) } { (t) }
                    @if let Some(s) = &x.decision_state { " · " (s) } }
            }
            @if x.outcome.as_deref() == Some("dismissed") {
                p.notice { (lang.pick("业主已表决解聘。请依法在登记册中记录合同终止（通知期不少于 60 日），并办理交接。",
                    "The owners voted to dismiss the company. Record the contract's end in the registry (at least 60 days' notice) and the handover.")) }
            }
            @if may_decide && x.state == "proposed" {
                h3 { (lang.pick("作出决定", "Decide")) }
                form.stack method="post" action={ "/supervision/exits/" (id) "/decide" } {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    select name="decision" {
                        option value="proceed" { (lang.pick("启动：提请业主表决解聘", "Proceed: put dismissal to the owners' vote")) }
                        option value="no_action" { (lang.pick("不启动：结案", "No action: close the case")) }
                    }
                    textarea name="reason" required maxlength="2000" placeholder=(lang.pick("决定理由", "Reason")) {}
                    button type="submit" { (lang.pick("提交决定", "Submit the decision")) }
                }
            }
            @if may_link && (x.state == "decided" || relink) {
                h3 { (lang.pick("关联业主表决", "Link the owners' vote")) }
                @if linkable.is_empty() {
                    p.muted { (lang.pick("请先在“业主表决”中发起事项为“选聘和解聘物业服务企业”、含解聘议题的表决，再回到此处关联。",
                        "First give notice of a decision on the matter \"select or dismiss the property company\" with the dismissal as a question, under Decisions, then link it here.")) }
                    p { a href="/decisions" { (lang.pick("前往业主表决", "Go to decisions")) } }
                } @else {
                    form.stack method="post" action={ "/supervision/exits/" (id) "/vote" } {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        select name="decision_id" { @for (did, t) in &linkable { option value=(did) { (did) " · " (t) } } }
                        label { (lang.pick("解聘议题序号（默认第一项议题）", "Position of the dismissal question (default: the first proposal)")) " " input type="number" name="question" min="0"; }
                        button type="submit" { (lang.pick("关联", "Link")) }
                    }
                }
            }
            h3 { (lang.pick("记录", "Timeline")) }
            ul.timeline { @for e in &d.events {
                li { (cst(e.at)) " · " (e.actor) " · " (e.action) " → " (pick(lang, state_label(&e.to_state)))
                    @if !e.note.is_empty() { br; span.muted { (e.note) } } }
            } }
        },
    ))
}

async fn exit_decide(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let f = checked(&ctx, f)?;
    let d = ExitDecision {
        decision: field(&f, "decision").to_owned(),
        reason: field(&f, "reason").to_owned(),
    };
    supervision::decide_exit(&st.db, &ctx.actor, id, &d, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(ctx.lang)?;
    Ok(Redirect::to(&format!("/supervision/exits/{id}")).into_response())
}

async fn exit_vote(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let f = checked(&ctx, f)?;
    let v = ExitVote {
        decision_id: opt_i64(lang, "decision_id", field(&f, "decision_id"))?.unwrap_or(0),
        question: opt_i64(lang, "question", field(&f, "question"))?,
    };
    supervision::link_vote(&st.db, &ctx.actor, id, &v, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/supervision/exits/{id}")).into_response())
}
