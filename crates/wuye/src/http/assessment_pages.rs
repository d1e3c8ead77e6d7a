//! Assessment pages (docs/assessment.md §8): the public rankings of closed periods, each
//! score's explanation down to its items and records, the regulators' runs, and the rating
//! form owners, committees, communities and streets use on a phone.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use wuye_model::{Lang, Period, Role};

use super::AppState;
use super::error::AppError;
use super::pages::{Ctx, OrPage, PForm, PQ, PageError, layout};
use crate::assessment::{self, Explanation, RankedProject};
use crate::auth::Scope;
use crate::{db_read, sql::Sql};

type PageResult = Result<Markup, PageError>;

pub fn router() -> super::Listed {
    super::Listed::default()
        .get("/rankings", rankings_page)
        .get("/assessment", runs_page)
        .post("/assessment/run", run_submit)
        .get("/assessment/runs/{id}", run_page)
        .get("/assessment/runs/{id}/{compound}/{company}", explain_page)
        .get("/assessment/rubrics", rubrics_page)
        .post("/assessment/rubrics", rubric_submit)
        .post("/assessment/rubrics/{id}/publish", rubric_publish)
        .get("/rate", rate_page)
        .post("/rate", rate_submit)
}

/// An instant as China time, to the minute.
fn cst(t: time::OffsetDateTime) -> String {
    t.to_offset(crate::clock::CST)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default()
}

/// Hundredths of a point as "86.63".
fn points(h: i64) -> String {
    wuye_model::assessment::format_hundredths(h)
}

fn stars(n: Option<i64>) -> String {
    let n = usize::try_from(n.unwrap_or(0).clamp(0, 5)).unwrap_or(0);
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

/// A score out of 100 as a bar (inline SVG; the width is the score itself, "71.58").
fn score_bar(score: Option<i64>) -> Markup {
    let w = points(score.unwrap_or(0).clamp(0, 10_000));
    html! {
        svg.bar viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(w) {
            rect x="0" y="0" width="100" height="8" fill="#e5e7eb" {}
            rect x="0" y="0" width=(w) height="8" fill="#15803d" {}
        }
    }
}

/// The projects of a run grouped by district, best first, with links to their explanations.
fn ranking_table(lang: Lang, run_id: i64, rows: &[RankedProject]) -> Markup {
    let mut districts: Vec<(i64, &str)> = rows
        .iter()
        .map(|r| (r.district_code, r.district_name.as_str()))
        .collect();
    districts.dedup();
    html! {
        @for (d, name) in &districts {
            h3 { (name) }
            div.scroll { table.list.ranking {
                thead { tr {
                    th.num { (lang.pick("名次", "Rank")) } th { (lang.pick("小区", "Compound")) } th { (lang.pick("物业企业", "Company")) }
                    th.num { (lang.pick("得分", "Score")) } th {} th { (lang.pick("星级", "Stars")) } th {}
                } }
                tbody { @for r in rows.iter().filter(|r| r.district_code == *d) {
                    tr.bottom[r.bottom] {
                        td.num { @if let Some(k) = r.rank_district { (k) "/" (r.pool_district) } @else { "—" } }
                        td { a href={ "/assessment/runs/" (run_id) "/" (r.compound_id) "/" (r.company_id) } { (r.compound_name) } }
                        td { (r.company_name) }
                        td.num { @if let Some(s) = r.score { (points(s)) } @else { "—" } }
                        td { (score_bar(r.score)) }
                        td { @if r.score.is_some() { (stars(r.stars)) } @else { span.muted { (lang.pick("不评定", "not rated")) } } }
                        td { @if r.bottom { span.tag.old { (lang.pick("末位", "bottom")) @if r.bottom_streak > 1 { " ×" (r.bottom_streak) } } } }
                    }
                } }
            } }
        }
    }
}

#[derive(Debug, Deserialize)]
struct RankingQuery {
    period: Option<String>,
    region: Option<String>,
}

/// The public rankings of closed periods (no sign-in).
async fn rankings_page(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<RankingQuery>) -> PageResult {
    let lang = ctx.lang;
    let public = crate::auth::Actor::anonymous(String::new());
    let runs: Vec<_> = assessment::runs(&st.db, &public)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let chosen = match q.period.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => {
            let p = Period::parse(p)
                .map_err(|e| AppError::invalid("period", &e.to_string()))
                .or_page(lang)?;
            runs.iter().find(|r| r.period == p.to_string())
        }
        None => runs.iter().find(|r| r.period.len() == 7),
    };
    let region = super::assessment_api::parse_region(q.region.as_deref()).or_page(lang)?;
    let (rows, companies, notices) = match chosen {
        Some(run) => (
            assessment::ranking(&st.db, run.id, region)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
            assessment::company_ranking(&st.db, run.id)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
            crate::supervision::public_notices(&st.db, run.id)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    Ok(layout(
        &ctx,
        lang.pick("物业服务考核排名", "Property service rankings"),
        "/rankings",
        html! {
            p.muted { (lang.pick("已结算考核期的正式结果。得分满分 100，按考核细则计算；业主评价少于最低样本的小区不评定，不按 0 分或 100 分计。点击小区查看得分明细。",
                "Final results of closed periods. Scores out of 100 by the published rubric; a compound with too few owners' ratings is not rated — never scored 0 or 100. Open a compound for its breakdown.")) }
            p { a href="/red-black-list" { (lang.pick("红黑名单", "Red and black list")) } }
            form.filters method="get" action="/rankings" {
                select name="period" {
                    @for r in &runs { option value=(r.period) selected[chosen.is_some_and(|c| c.id == r.id)] { (r.period) } }
                }
                input type="text" name="region" placeholder=(lang.pick("区划代码（可选）", "Region code (optional)")) value=(q.region.clone().unwrap_or_default());
                button type="submit" { (lang.pick("查看", "Show")) }
            }
            @match chosen {
                None => p.muted { (lang.pick("尚无已结算的考核期。", "No closed period yet.")) },
                Some(run) => {
                    h2 { (run.period) " · " (run.rated) "/" (run.projects) (lang.pick(" 个项目参与评定", " projects rated")) }
                    p { a href={ "/api/v1/assessment/runs/" (run.id) "/export?format=xlsx" } { (lang.pick("下载 Excel", "Download Excel")) } }
                    @if !notices.is_empty() {
                        h2 { (lang.pick("末位公示", "Public notice of bottom places")) }
                        p.muted { (lang.pick("以下项目本月考核排名末位（同分并列者一并列入），已采取右列措施。",
                            "These projects took the month's bottom places (ties at the cut included); the measures taken are listed beside them.")) }
                        div.scroll { table.list.notice {
                            thead { tr { th { (lang.pick("小区", "Compound")) } th { (lang.pick("物业企业", "Company")) } th.num { (lang.pick("连续末位", "Months running")) } th { (lang.pick("措施", "Measures")) } } }
                            tbody { @for n in &notices { tr {
                                td { a href={ "/assessment/runs/" (run.id) "/" (n.compound_id) "/" (n.company_id) } { (n.compound_name) } }
                                td { a href={ "/credit/" (n.company_id) } { (n.company_name) } }
                                td.num { (n.streak) }
                                td { @for (i, m) in n.measures.iter().enumerate() { @if i > 0 { "、" } (lang.pick(crate::supervision::action_label(m).0, crate::supervision::action_label(m).1)) } }
                            } } }
                        } }
                    }
                    (ranking_table(lang, run.id, &rows))
                    h2 { (lang.pick("企业综合得分", "Companies")) }
                    div.scroll { table.list {
                        thead { tr { th.num { (lang.pick("名次", "Rank")) } th { (lang.pick("企业", "Company")) } th.num { (lang.pick("项目", "Projects")) } th.num { (lang.pick("得分", "Score")) } } }
                        tbody { @for c in &companies { tr {
                            td.num { @if let Some(k) = c.rank { (k) } @else { "—" } }
                            td { a href={ "/credit/" (c.company_id) } { (c.company_name) } }
                            td.num { (c.rated) "/" (c.projects) }
                            td.num { @if let Some(s) = c.score { (points(s)) } @else { "—" } }
                        } } }
                    } }
                }
            }
        },
    ))
}

/// Runs: every period's runs for regulators (provisional ones included), the run form for the
/// city administrator.
async fn runs_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_regulator()
        .map_err(AppError::from)
        .or_page(lang)?;
    let runs = assessment::runs(&st.db, &ctx.actor)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let admin = ctx
        .actor
        .require_admin(false)
        .is_ok_and(|c| c.is_none_or(|c| c.level() <= wuye_model::RegionLevel::City));
    let s = st.settings().await;
    Ok(layout(
        &ctx,
        lang.pick("考核", "Assessment"),
        "/assessment",
        html! {
            @if admin {
                form.import method="post" action="/assessment/run" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("考核期", "Period")) " " input type="text" name="period" required placeholder="2026-10" pattern="[0-9]{4}(-[0-9WwQqHh0-9-]+)?"; }
                    label { input type="checkbox" name="close" value="true"; " " (lang.pick("正式结算（期末后 ", "Final: close the period (from its end plus ")) (s.assessment.settle_days) (lang.pick(" 日起）", " days)")) }
                    button type="submit" { (lang.pick("运行考核", "Run the assessment")) }
                }
                p.muted { (lang.pick("命令行：wuye assess --period 2026-10 [--close]。已结算的考核期再次运行只核对、不改写。", "Command line: wuye assess --period 2026-10 [--close]. Running a closed period again only checks it; nothing is rewritten.")) }
            }
            p { a href="/assessment/rubrics" { (lang.pick("考核细则（版本）", "Rubrics (versions)")) } " · " a href="/inspections" { (lang.pick("监督检查", "Inspections")) } " · " a href="/rectifications" { (lang.pick("整改通知", "Rectification notices")) } " · " a href="/supervision" { (lang.pick("约谈与清退", "Interviews and exits")) } }
            div.scroll { table.list {
                thead { tr { th { (lang.pick("考核期", "Period")) } th { (lang.pick("类型", "Kind")) } th { (lang.pick("截至", "As of")) } th.num { (lang.pick("评定/项目", "Rated/projects")) } } }
                tbody { @for r in &runs { tr {
                    td { a href={ "/assessment/runs/" (r.id) } { (r.period) } }
                    td { @if r.kind == "final" { span.tag { (lang.pick("正式", "final")) } } @else { span.tag.alt { (lang.pick("临时", "provisional")) } } }
                    td { (cst(r.as_of)) }
                    td.num { (r.rated) "/" (r.projects) }
                } } }
            } }
        },
    ))
}

#[derive(Debug, Deserialize)]
struct RunForm {
    csrf: String,
    period: String,
    #[serde(default)]
    close: Option<String>,
}

async fn run_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<RunForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    let period = Period::parse(&f.period)
        .map_err(|e| AppError::invalid("period", &e.to_string()))
        .or_page(lang)?;
    let settings = st.settings().await;
    let report = assessment::run(
        &st.db,
        &ctx.actor,
        period,
        f.close.is_some(),
        &settings,
        st.clock.now(),
    )
    .await
    .map_err(AppError::from)
    .or_page(lang)?;
    Ok(Redirect::to(&format!("/assessment/runs/{}", report.run_id)).into_response())
}

async fn run_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PQ(q): PQ<RankingQuery>,
) -> PageResult {
    let lang = ctx.lang;
    let run = assessment::visible_run(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let region = super::assessment_api::parse_region(q.region.as_deref()).or_page(lang)?;
    let rows = assessment::ranking(&st.db, id, region)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(layout(
        &ctx,
        &run.period,
        "/assessment",
        html! {
            p { @if run.kind == "final" { span.tag { (lang.pick("正式结果", "final")) } } @else { span.tag.alt { (lang.pick("临时结果，仅监管部门可见", "provisional: regulators only")) } }
                " " (lang.pick("截至 ", "as of ")) (cst(run.as_of)) }
            (ranking_table(lang, run.id, &rows))
        },
    ))
}

/// An item's raw value `scale × num ÷ den` in hundredths of its unit, or "—" without a sample.
fn raw(item: &serde_json::Value, num: &str, den: &str) -> String {
    let scale = serde_json::from_value::<wuye_model::assessment::ItemSource>(item["source"].clone())
        .map_or(1, |s| s.scale());
    let (n, d) = (item[num].as_i64().unwrap_or(0), item[den].as_i64().unwrap_or(0));
    if d == 0 {
        return "—".into();
    }
    let v = i128::from(scale) * i128::from(n);
    let d = i128::from(d);
    // Rounded half away from zero, as the model rounds.
    let h = (2 * v + d.signum() * v.signum() * d) / (2 * d);
    points(i64::try_from(h).unwrap_or(0))
}

async fn explain_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, compound, company)): Path<(i64, i64, i64)>,
) -> PageResult {
    let lang = ctx.lang;
    let e: Explanation = assessment::explain(&st.db, &ctx.actor, id, compound, company)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let p = &e.project;
    let empty = Vec::new();
    let items = e.items.get(0).and_then(|v| v.as_array()).unwrap_or(&empty);
    let deductions = e.items.get(1).and_then(|v| v.as_array()).unwrap_or(&empty);
    let num = |v: &serde_json::Value| v.as_i64().unwrap_or(0);
    // Items are named as the rubric version that scored them names them.
    let label = |v: &serde_json::Value| {
        let key = v["key"].as_str().unwrap_or("");
        e.names
            .iter()
            .find(|(k, _, _)| k == key)
            .map_or_else(|| key.to_owned(), |(_, zh, en)| lang.pick(zh, en).to_owned())
    };
    Ok(layout(
        &ctx,
        &p.compound_name,
        "/rankings",
        html! {
            p.crumbs { a href={ "/assessment/runs/" (e.run.id) } { (e.run.period) } " › " (p.compound_name) " · " (p.company_name) }
            div.figures {
                div.figure { b { @if let Some(s) = p.score { (points(s)) } @else { "—" } } span { (lang.pick("得分", "Score")) " " (stars(p.stars)) } }
                div.figure { b { (points(p.coverage_bp)) "%" } span { (lang.pick("数据覆盖（权重）", "Coverage (by weight)")) } }
                div.figure { b { @if let Some(k) = p.rank_district { (k) "/" (p.pool_district) } @else { "—" } } span { (lang.pick("区县名次", "District rank")) } }
                div.figure { b { @if let Some(k) = p.rank_street { (k) "/" (p.pool_street) } @else { "—" } } span { (lang.pick("街道名次", "Street rank")) } }
            }
            @if let Some((en, zh)) = p.reason.split_once(" / ") {
                p.notice { @if p.score.is_some() { (lang.pick("无数据的项目：", "Items without data: ")) } (lang.pick(zh, en)) }
            }
            p.muted { (lang.pick("计算：各项得分按权重加权平均（缺数据的项目不计 0 分，其权重按比例分给其他项目），减去扣分；样本少的项目向本区县均值收缩：v = (num + k·均值) ÷ (den + k)。定义见 docs/assessment.md。",
                "How: the weighted mean of the items with data (a missing item is never 0; its weight goes to the others in proportion), minus deductions; small samples shrink toward the district mean: v = (num + k·mean) ÷ (den + k). Definitions: docs/assessment.md.")) }
            div.scroll { table.list {
                thead { tr { th { (lang.pick("项目", "Item")) } th.num { (lang.pick("权重", "Weight")) } th.num { (lang.pick("样本", "Sample")) } th.num { (lang.pick("原始值", "Raw")) } th.num { (lang.pick("区县均值", "District mean")) } th.num { "k" } th.num { (lang.pick("得分", "Score")) } } }
                tbody { @for it in items { tr {
                    td { (label(it)) @if let Some(r) = it[lang.pick("reason_zh", "reason_en")].as_str().filter(|r| !r.is_empty()) { br; span.muted { (r) } } }
                    td.num { (points(num(&it["weight_bp"]))) "%" }
                    td.num { (num(&it["n"])) }
                    td.num { (raw(it, "num", "den")) }
                    td.num { (raw(it, "prior_num", "prior_den")) }
                    td.num { (num(&it["k"])) }
                    td.num { @if let Some(v) = it["value"].as_i64() { b { (points(v)) } } @else { span.muted { (lang.pick("无数据", "no data")) } } }
                } } }
            } }
            p.muted { (lang.pick("原始值：评价为平均分，工单为百分比，每百户工单量为每 30 日件数；得分为收缩和换算后的 0–100 分。",
                "Raw: ratings as mean points, order rates as percentages, orders per 100 households per 30 days; the score is after shrinkage and mapping to 0–100.")) }
            @if let Some(w) = e.weighted { p { (lang.pick("加权得分 ", "Weighted ")) b { (points(w)) } " − " (lang.pick("扣分 ", "deductions ")) b { (points(e.deducted)) } } }
            @if deductions.iter().any(|d| num(&d["points"]) > 0) {
                table.list { tbody { @for d in deductions.iter().filter(|d| num(&d["points"]) > 0) { tr {
                    td { (label(d)) } td.num { (num(&d["events"])) } td.num { "−" (points(num(&d["points"]))) }
                } } } }
            }
            h3 { (lang.pick("输入（评价按等级计数，不显示评价人）", "Inputs (ratings as counts per level; no rater is shown)")) }
            pre.inputs { (serde_json::to_string_pretty(&e.inputs).unwrap_or_default()) }
            @if !e.order_ids.is_empty() {
                h3 { (lang.pick("计入的工单", "Orders counted")) " (" (e.order_ids.len()) ")" }
                p { @for o in &e.order_ids { a href={ "/orders/" (o) } { "#" (o) } " " } }
            }
        },
    ))
}

/// The compounds the caller may rate, with their current rating if any.
async fn ratable(st: &AppState, ctx: &Ctx) -> Result<Vec<(i64, String)>, AppError> {
    let db = &st.db;
    let mut sql = Sql::new("SELECT c.id, c.name FROM compounds c WHERE ");
    match (&ctx.actor.scope, ctx.actor.role) {
        (Scope::Owner { user_id }, Some(Role::Owner)) => {
            sql.push("c.id IN (SELECT r.compound_id FROM user_owners uo JOIN room_owners ro ON ro.owner_id = uo.owner_id JOIN rooms r ON r.id = ro.room_id WHERE uo.user_id = ");
            sql.bind_i64(*user_id);
            sql.push(")");
        }
        (Scope::Compound { compound_id }, Some(Role::CommitteeMember)) => {
            sql.push("c.id = ");
            sql.bind_i64(*compound_id);
        }
        (Scope::Region { code }, Some(Role::CommunityOfficer | Role::StreetOfficer)) => {
            let r = code.subtree();
            sql.push("c.region_code BETWEEN ");
            sql.bind_i64(*r.start());
            sql.push(" AND ");
            sql.bind_i64(*r.end());
        }
        _ => return Err(crate::auth::Denied::Role.into()),
    }
    sql.push(" ORDER BY c.code LIMIT 500");
    Ok(
        db_read!(db, pool => crate::bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch_all(pool).await)?,
    )
}

#[derive(Debug, Deserialize)]
struct RateQuery {
    done: Option<i64>,
}

/// The rating form: owners choose one of three levels per compound, others give points.
async fn rate_page(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<RateQuery>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let compounds = ratable(&st, &ctx).await.or_page(lang)?;
    let mine = assessment::my_ratings(&st.db, &ctx.actor, None, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let owner = ctx.actor.role == Some(Role::Owner);
    let month = cst(st.clock.now());
    Ok(layout(
        &ctx,
        lang.pick("评价物业服务", "Rate the property service"),
        "/rate",
        html! {
            @if q.done.is_some() { p.ok { (lang.pick("评价已保存，本月内可以修改。", "Saved. You may change it until the month's rating closes.")) } }
            p.muted { (lang.pick("每月评价一次，以最后一次为准。评价计入物业服务企业考核，其他人看不到您的评价。", "Once a month; the last one counts. It feeds the company's assessment; nobody else sees your rating.")) " " (month.get(..7).unwrap_or("")) }
            @if compounds.is_empty() { p.muted { (lang.pick("您暂无可评价的小区。", "Nothing to rate for you.")) } }
            ul.cards { @for (id, name) in &compounds {
                @let current = mine.iter().find(|r| r.compound_id == *id);
                li.card {
                    div.title { (name) }
                    @if let Some(r) = current { div.meta { span.tag { (lang.pick("本月已评价：", "This month: ")) (r.level.clone().map(|l| level_label(lang, &l).to_owned()).or_else(|| r.score.map(points)).unwrap_or_default()) } } }
                    form.rate method="post" action="/rate" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="compound_id" value=(id);
                        @if owner {
                            @for l in ["satisfied", "basic", "dissatisfied"] {
                                button type="submit" name="level" value=(l) { (level_label(lang, l)) }
                            }
                        } @else {
                            input type="number" name="score" min="0" max="100" step="0.01" required placeholder=(lang.pick("分数 0–100", "Points 0–100"));
                            button type="submit" { (lang.pick("提交", "Submit")) }
                        }
                        input type="text" name="comment" maxlength="500" placeholder=(lang.pick("意见（可选）", "Comment (optional)"));
                    }
                }
            } }
        },
    ))
}

fn level_label(lang: Lang, l: &str) -> &'static str {
    match l {
        "satisfied" => lang.pick("满意", "Satisfied"),
        "basic" => lang.pick("基本满意", "Basically satisfied"),
        _ => lang.pick("不满意", "Dissatisfied"),
    }
}

#[derive(Debug, Deserialize)]
struct RateForm {
    csrf: String,
    compound_id: i64,
    level: Option<String>,
    score: Option<String>,
    #[serde(default)]
    comment: String,
}

async fn rate_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<RateForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    let settings = st.settings().await;
    let new = assessment::NewRating {
        compound_id: f.compound_id,
        level: f.level,
        score: f.score,
        comment: f.comment,
        period: None,
    };
    assessment::rate(&st.db, &ctx.actor, &new, &settings, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/rate?done={}", f.compound_id)).into_response())
}

/// Rubric versions (public: they are published rules), and for city administrators and
/// district officers a form to edit the newest as a new draft, and to publish drafts.
async fn rubrics_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    rubrics_markup(&st, &ctx, None, None).await
}

async fn rubrics_markup(
    st: &AppState,
    ctx: &Ctx,
    draft: Option<&RubricForm>,
    errors: Option<&[wuye_model::assessment::RubricError]>,
) -> PageResult {
    let lang = ctx.lang;
    let versions = assessment::rubrics(&st.db)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let editor = ctx.actor.require_admin(true).ok();
    let csv = draft
        .map(|d| d.csv.clone())
        .or_else(|| {
            versions
                .iter()
                .find(|v| v.state == "published")
                .map(|v| v.csv.clone())
        })
        .unwrap_or_else(|| wuye_model::assessment::Rubric::default_csv().to_owned());
    let region = draft
        .map(|d| d.region_code.clone())
        .or_else(|| editor.flatten().map(|r| r.to_string()))
        .unwrap_or_default();
    Ok(layout(
        ctx,
        lang.pick("考核细则", "Rubrics"),
        "/assessment",
        html! {
            p.muted { (lang.pick("考核细则是数据：每一版本一经发布不再修改；修改即形成新版本，自生效日起的考核期使用，旧结果保留其版本。列说明见 docs/assessment.md §2。",
                "A rubric is data: a published version never changes; an edit is a new version for periods from its effective date, and old results keep theirs. Columns: docs/assessment.md §2.")) }
            div.scroll { table.list {
                thead { tr { th { (lang.pick("区划", "Region")) } th.num { (lang.pick("版本", "Version")) } th { (lang.pick("名称", "Name")) } th { (lang.pick("生效", "From")) } th { (lang.pick("状态", "State")) } th {} } }
                tbody { @for v in &versions { tr {
                    td { (v.region_code) } td.num { (v.version) } td { (v.name) } td { (v.effective_from) }
                    td { @if v.state == "published" { span.tag { (lang.pick("已发布", "published")) } } @else { span.tag.alt { (lang.pick("草稿", "draft")) } } }
                    td { @if v.state == "draft" && editor.is_some() {
                        form method="post" action={ "/assessment/rubrics/" (v.id) "/publish" } {
                            input type="hidden" name="csrf" value=(ctx.csrf());
                            button type="submit" { (lang.pick("发布", "Publish")) }
                        }
                    } }
                } } }
            } }
            @if let Some(errors) = errors {
                div.error-box { p { (lang.pick("文件有误，未保存：", "Not saved; the file has errors:")) }
                    table.list { tbody { @for e in errors { tr { td.num { (e.line) } td { (e.column) } td { (e.value) } td { (e.message) } } } } }
                }
            }
            @if editor.is_some() {
                h2 { (lang.pick("编辑为新草稿", "Edit as a new draft")) }
                form.import method="post" action="/assessment/rubrics" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    label { (lang.pick("区划代码（市或区县）", "Region code (city or district)")) " " input type="text" name="region_code" required value=(region); }
                    label { (lang.pick("生效日期", "Effective from")) " " input type="date" name="effective_from" required value=(draft.map(|d| d.effective_from.clone()).unwrap_or_default()); }
                    textarea name="csv" rows="24" spellcheck="false" style="width:100%;font-family:monospace;font-size:.8rem" { (csv) }
                    button type="submit" { (lang.pick("保存草稿", "Save draft")) }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
struct RubricForm {
    csrf: String,
    region_code: String,
    effective_from: String,
    csv: String,
}

async fn rubric_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<RubricForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    ctx.actor
        .require_admin(true)
        .map_err(AppError::from)
        .or_page(lang)?;
    let region = wuye_model::RegionCode::parse(f.region_code.trim())
        .map_err(|e| AppError::invalid("region_code", &e.to_string()))
        .or_page(lang)?;
    let from = time::Date::parse(
        f.effective_from.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        AppError::invalid(
            "effective_from",
            "a date such as 2027-01-01 / 日期格式如 2027-01-01",
        )
    })
    .or_page(lang)?;
    match assessment::draft_rubric(&st.db, &ctx.actor, region, &f.csv, from, st.clock.now()).await {
        Ok(_) => Ok(Redirect::to("/assessment/rubrics").into_response()),
        Err(assessment::AssessError::Rubric(rows)) => {
            let page = rubrics_markup(&st, &ctx, Some(&f), Some(&rows)).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(AppError::from(e)).or_page(lang),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn rubric_publish(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<CsrfForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    assessment::publish_rubric(&st.db, &ctx.actor, id, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to("/assessment/rubrics").into_response())
}
