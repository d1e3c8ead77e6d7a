//! Server-rendered pages (maud), zh-CN by default with English, built for a 360-px phone:
//! no script, one small stylesheet, links and forms only.

use axum::extract::{FromRequestParts, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use wuye_model::{
    Area, CompoundClass, ContractKind, FeeModel, Lang, ManagementMode, Money, RegionCode, RoomKind,
};

use super::AppState;
use super::error::AppError;
use super::extract::{LOGIN_CSRF_COOKIE, Q, SESSION_COOKIE, UiLang, cookie};
use crate::auth::{self, Actor};
use crate::io::import::recent_runs;
use crate::io::{ImportReport, Kind, import_file};
use crate::registry::{self, CompanyFilter, CompoundFilter, Page, Region, RoomFilter};

/// `Query<T>` for pages: a bad query string is an error page in the visitor's language.
pub struct PQ<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PQ<T> {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &S) -> Result<Self, PageError> {
        let Ok(UiLang(lang)) = UiLang::from_request_parts(parts, st).await;
        match Q::<T>::from_request_parts(parts, st).await {
            Ok(Q(t)) => Ok(PQ(t)),
            Err(e) => Err(PageError(lang, e)),
        }
    }
}

/// `Form<T>` for pages: a malformed form is an error page, not a bare 422.
pub struct PForm<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequest<S> for PForm<T> {
    type Rejection = PageError;
    async fn from_request(req: axum::extract::Request, st: &S) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let Ok(UiLang(lang)) = UiLang::from_request_parts(&mut parts, st).await;
        let req = axum::extract::Request::from_parts(parts, body);
        match axum::Form::<T>::from_request(req, st).await {
            Ok(axum::Form(t)) => Ok(PForm(t)),
            Err(e) => Err(PageError(
                lang,
                AppError::bad(
                    "invalid_form",
                    format!("the form is incomplete: {}", e.body_text()),
                    "表单内容不完整",
                ),
            )),
        }
    }
}

/// The page routes, each recorded as it is added so that tests can walk every one of them.
pub fn router() -> super::Listed {
    super::Listed::default()
        .get("/", home)
        .get("/regions", regions_root)
        .get("/regions/{code}", region_page)
        .get("/compounds", compounds)
        .get("/compounds/{id}", compound_page)
        .get("/companies", companies)
        .get("/companies/{id}", company_page)
        .get("/import", import_page)
        .post("/import", import_upload)
        .get("/lang", set_lang)
        .get("/login", login_page)
        .post("/login", login_submit)
        .post("/logout", logout)
        .get("/account", account_page)
        .post("/login/code", code_request)
        .post("/login/verify", code_verify)
        .get("/claims", claims_page)
        .post("/claims", claim_submit)
        .post("/claims/{id}/decide", claim_decide)
        .get("/outbox", outbox_page)
        .get("/audit", audit_page)
        .get("/users", users_page)
        .get("/figures", figures_page)
        .get("/orders", orders_page)
        .post("/orders", order_submit)
        .get("/orders/new", order_form)
        .get("/orders/{id}", order_page)
        .post("/orders/{id}/act", order_act)
        .post("/orders/{id}/photos", order_photos_upload)
        .post("/users", users_create)
        .post("/orders/import", orders_import)
        .get("/notifications", notifications_page)
        .post("/notifications/read", notifications_read)
        .get("/settings", settings_page)
        .get("/decisions", decisions_page)
        .get("/decisions/new", decision_form)
        .post("/decisions", decision_create)
        .get("/decisions/{id}", decision_page)
        .post("/decisions/{id}/act", decision_act)
        .post("/decisions/{id}/documents", decision_document_upload)
        .get("/decisions/{id}/export", decision_export_page)
        .post("/settings/sla", settings_sla)
        .post("/settings/calendar", settings_calendar)
        .post("/settings/decisions", settings_decisions)
        .post("/settings/assessment", settings_assessment)
}

/// A rendered page, or an error page in the visitor's language.
type PageResult = Result<Markup, PageError>;

pub struct PageError(Lang, AppError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let PageError(lang, err) = self;
        let status = err.status();
        if status.is_server_error() {
            tracing::error!(error = %err, "page failed");
        }
        let body = err.body().error;
        let msg = lang.pick(&body.message_zh, &body.message).to_owned();
        if matches!(err, AppError::Unauthorized { .. }) {
            // A page that needs an account: sign in, then come back.
            return Redirect::to("/login").into_response();
        }
        let page = chrome(
            lang,
            None,
            lang.pick("出错了", "Something went wrong"),
            "",
            html! {
                div.error-box { h2 { (status.as_u16()) } p { (msg) } p { a href="/" { (lang.pick("返回首页", "Back to the start")) } } }
            },
        );
        (status, page).into_response()
    }
}

pub(super) trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<AppError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError(lang, e.into()))
    }
}

pub async fn not_found(UiLang(lang): UiLang) -> Response {
    PageError(lang, AppError::not_found("page not found", "页面不存在")).into_response()
}

/// What every page knows about its visitor: language and account.
pub struct Ctx {
    pub lang: Lang,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = PageError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, PageError> {
        let Ok(UiLang(lang)) = UiLang::from_request_parts(parts, st).await;
        let actor = Actor::from_request_parts(parts, st)
            .await
            .map_err(|e| PageError(lang, e))?;
        Ok(Ctx { lang, actor })
    }
}

impl Ctx {
    /// The session's CSRF token for forms ("" when not signed in).
    pub fn csrf(&self) -> &str {
        self.actor.csrf.as_deref().unwrap_or("")
    }

    /// Refuses a form from someone not signed in (sent to sign in) or whose CSRF token is not
    /// the session's. Every page form that changes something passes through here.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        self.actor
            .require_signed_in()
            .map_err(|d| PageError(self.lang, d.into()))?;
        match self.actor.csrf.as_deref() {
            Some(t) if !t.is_empty() && t == sent => Ok(()),
            _ => Err(PageError(
                self.lang,
                AppError::Forbidden {
                    en: "the form expired; reload the page and try again".into(),
                    zh: "表单已失效，请刷新页面后重试".into(),
                },
            )),
        }
    }
}

pub(super) fn layout(ctx: &Ctx, title: &str, active: &str, body: Markup) -> Markup {
    chrome(ctx.lang, Some(ctx), title, active, body)
}

fn chrome(lang: Lang, ctx: Option<&Ctx>, title: &str, active: &str, body: Markup) -> Markup {
    let who = ctx.filter(|c| c.actor.signed_in());
    let nav = [
        ("/regions", "区划", "Regions"),
        ("/compounds", "小区", "Compounds"),
        ("/companies", "企业", "Companies"),
        ("/rankings", "排名", "Rankings"),
        ("/api/docs", "API", "API"),
    ];
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh-CN", "中文"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.pick("物业监管与共治平台", "wuye property supervision")) }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                header.top {
                    a.brand href="/" { "物业 wuye" }
                    nav {
                        @for (href, zh, en) in nav {
                            a href=(href) class=[(active == href).then_some("on")] { (lang.pick(zh, en)) }
                        }
                        a.lang href={ "/lang?to=" (other.0) } { (other.1) }
                        @if let Some(c) = who {
                            @if matches!(c.actor.role, Some(wuye_model::Role::CityAdmin | wuye_model::Role::DistrictOfficer)) {
                                a href="/import" class=[(active == "/import").then_some("on")] { (lang.pick("导入", "Import")) }
                            }
                            @if c.actor.role.is_some_and(wuye_model::Role::is_regulator) {
                                a href="/assessment" class=[(active == "/assessment").then_some("on")] { (lang.pick("考核", "Assessment")) }
                            }
                            @if matches!(c.actor.role, Some(wuye_model::Role::Owner | wuye_model::Role::CommitteeMember | wuye_model::Role::CommunityOfficer | wuye_model::Role::StreetOfficer)) {
                                a href="/rate" class=[(active == "/rate").then_some("on")] { (lang.pick("评价物业", "Rate")) }
                            }
                            @if matches!(c.actor.role, Some(wuye_model::Role::CommitteeMember | wuye_model::Role::CompanyAdmin | wuye_model::Role::CompanyStaff)) {
                                a href="/claims" class=[(active == "/claims").then_some("on")] { (lang.pick("认领核验", "Claims")) }
                            }
                            @if matches!(c.actor.role, Some(wuye_model::Role::CompanyAdmin | wuye_model::Role::CompanyStaff)) {
                                a href="/rectifications" class=[(active == "/inspections").then_some("on")] { (lang.pick("整改", "Notices")) }
                                a href="/supervision" class=[(active == "/assessment").then_some("on")] { (lang.pick("督办", "Supervision")) }
                            }
                            @if c.actor.role == Some(wuye_model::Role::CityAdmin) {
                                a href="/audit" class=[(active == "/audit").then_some("on")] { (lang.pick("审计", "Audit")) }
                                a href="/outbox" class=[(active == "/outbox").then_some("on")] { (lang.pick("发件箱", "Outbox")) }
                                a href="/settings" class=[(active == "/settings").then_some("on")] { (lang.pick("设置", "Settings")) }
                            }
                            @if c.actor.role.is_some_and(wuye_model::Role::administers_users) {
                                a href="/users" class=[(active == "/users").then_some("on")] { (lang.pick("账号", "Accounts")) }
                            }
                            a href="/orders" class=[(active == "/orders").then_some("on")] { (lang.pick("工单", "Orders")) }
                            @if matches!(c.actor.scope, auth::Scope::Region { .. } | auth::Scope::All) {
                                a href="/figures" class=[(active == "/figures").then_some("on")] { (lang.pick("统计", "Figures")) }
                            }
                            a href="/decisions" class=[(active == "/decisions").then_some("on")] { (lang.pick("表决", "Votes")) }
                            a href="/notifications" class=[(active == "/notifications").then_some("on")] { (lang.pick("通知", "Notices")) }
                            a href="/account" { (c.actor.display_name) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(c.csrf());
                                button.link type="submit" { (lang.pick("退出", "Sign out")) }
                            }
                        } @else {
                            a href="/login" class=[(active == "/login").then_some("on")] { (lang.pick("登录", "Sign in")) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
                footer { (lang.pick("物业监管与共治平台 · 数据以登记为准", "wuye · figures come from the registry")) }
            }
        }
    }
}

#[derive(Deserialize)]
struct LangParam {
    to: Option<String>,
}

/// Sets the language cookie and goes back where the visitor came from.
async fn set_lang(Q(p): Q<LangParam>, headers: axum::http::HeaderMap) -> Response {
    let lang = Lang::negotiate(p.to.as_deref().unwrap_or("zh-CN"));
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_owned()))
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned());
    let mut resp = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.as_str()
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn mode_label(lang: Lang, id: &str) -> String {
    ManagementMode::parse(id)
        .map(|m| m.label(lang).to_owned())
        .unwrap_or_else(|_| id.to_owned())
}

fn class_label(lang: Lang, id: &str) -> String {
    CompoundClass::parse(id)
        .map(|m| m.label(lang).to_owned())
        .unwrap_or_else(|_| id.to_owned())
}

fn area(h: i64) -> String {
    Area::from_hundredths(h).to_string()
}

fn percent(part: i64, whole: i64) -> String {
    wuye_model::percent(part, whole)
        .map(|p| format!("{p}%"))
        .unwrap_or_else(|| "—".into())
}

/// A horizontal bar for a share, as inline SVG (no script, prints well).
fn bar(part: i64, whole: i64) -> Markup {
    let w = if whole > 0 {
        (part * 100 / whole).clamp(0, 100)
    } else {
        0
    };
    html! {
        svg.bar viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(percent(part, whole)) {
            rect x="0" y="0" width="100" height="8" fill="#e5e7eb" {}
            rect x="0" y="0" width=(w) height="8" fill="#15803d" {}
        }
    }
}

fn pager(lang: Lang, base: &str, page: u32, has_more: bool, total: Option<i64>, per_page: u32) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    let pages = total.map(|t| ((t + i64::from(per_page) - 1) / i64::from(per_page)).max(1));
    html! {
        nav.pager {
            @if page > 1 { a href={ (base) (sep) "page=" (page - 1) } { "‹ " (lang.pick("上一页", "Previous")) } }
            span { (lang.pick("第 ", "Page ")) (page) @if let Some(p) = pages { " / " (p) } (lang.pick(" 页", "")) }
            @if has_more { a href={ (base) (sep) "page=" (page + 1) } { (lang.pick("下一页", "Next")) " ›" } }
        }
    }
}

fn region_children(lang: Lang, stats: &[registry::RegionChildStats]) -> Markup {
    html! {
        @if stats.is_empty() {
            p.muted { (lang.pick("没有下级区划。", "No subdivisions.")) }
        } @else {
            table.list {
                thead { tr { th { (lang.pick("名称", "Name")) } th.num { (lang.pick("小区", "Compounds")) } th { (lang.pick("专业化覆盖率", "Professional coverage")) } } }
                tbody {
                    @for s in stats {
                        tr {
                            td { a href={ "/regions/" (format!("{:012}", s.region.code)) } { (s.region.name) } br; small.muted { (format!("{:012}", s.region.code)) } }
                            td.num { a href={ "/compounds?region=" (format!("{:012}", s.region.code)) } { (s.compounds) } }
                            td { (bar(s.professional, s.compounds)) small { (percent(s.professional, s.compounds)) } }
                        }
                    }
                }
            }
        }
    }
}

async fn home(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    let cov = registry::coverage(&st.db, None).await.or_page(lang)?;
    let stats = registry::region_children_stats(&st.db, None)
        .await
        .or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("物业监管与共治平台", "Property supervision and co-governance"),
        "/",
        html! {
            section.figures {
                div.figure { b { (cov.compounds) } span { (lang.pick("登记小区", "compounds registered")) } }
                div.figure { b { (cov.coverage_percent.as_deref().map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())) } span { (lang.pick("专业化物业覆盖率", "professional-management coverage")) } }
            }
            p.muted { (lang.pick("覆盖率 = 市场化物业与公益托管小区数 ÷ 登记小区总数。", "Coverage = compounds under market or public-welfare management ÷ all registered compounds.")) }
            @if st.demo { p.notice { (lang.pick("演示数据：区划、小区、企业均为生成的示例。", "Demo data: regions, compounds and companies are generated examples.")) } }
            h2 { (lang.pick("区划", "Regions")) }
            (region_children(lang, &stats))
        },
    ))
}

async fn regions_root(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    let stats = registry::region_children_stats(&st.db, None)
        .await
        .or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("行政区划", "Regions"),
        "/regions",
        region_children(lang, &stats),
    ))
}

fn breadcrumb(lang: Lang, path: &[Region]) -> Markup {
    html! {
        nav.crumbs {
            a href="/regions" { (lang.pick("全部", "All")) }
            @for r in path { " › " a href={ "/regions/" (format!("{:012}", r.code)) } { (r.name) } }
        }
    }
}

async fn region_page(State(st): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> PageResult {
    let lang = ctx.lang;
    let code = RegionCode::parse(&code)
        .map_err(|e| AppError::invalid("code", &e.to_string()))
        .or_page(lang)?;
    let region = registry::get_region(&st.db, code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError(lang, AppError::not_found("region not found", "区划不存在")))?;
    let path = registry::region_path(&st.db, code).await.or_page(lang)?;
    let stats = registry::region_children_stats(&st.db, Some(code))
        .await
        .or_page(lang)?;
    let cov = registry::coverage(&st.db, Some(code)).await.or_page(lang)?;
    let level = region
        .level()
        .map(|l| lang.pick(l.label_zh(), l.label_en()))
        .unwrap_or("");
    Ok(layout(
        &ctx,
        &region.name,
        "/regions",
        html! {
            (breadcrumb(lang, &path[..path.len().saturating_sub(1)]))
            p.muted { (level) " · " (code) }
            section.figures {
                div.figure { b { a href={ "/compounds?region=" (code) } { (cov.compounds) } } span { (lang.pick("小区", "compounds")) } }
                div.figure { b { (cov.coverage_percent.as_deref().map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())) } span { (lang.pick("专业化覆盖率", "professional coverage")) } }
            }
            @if !cov.by_mode.is_empty() {
                table.list {
                    thead { tr { th { (lang.pick("管理模式", "Management mode")) } th.num { (lang.pick("小区数", "Compounds")) } th {} } }
                    tbody { @for (m, n) in &cov.by_mode {
                        tr { td { a href={ "/compounds?region=" (code) "&mode=" (m) } { (mode_label(lang, m)) } } td.num { (n) } td { (bar(*n, cov.compounds)) } }
                    } }
                }
            }
            h2 { (lang.pick("下级区划", "Subdivisions")) }
            (region_children(lang, &stats))
        },
    ))
}

fn select(name: &str, current: Option<&str>, any: &str, options: &[(&str, String)]) -> Markup {
    html! {
        select name=(name) {
            option value="" { (any) }
            @for (v, label) in options { option value=(v) selected[current == Some(*v)] { (label) } }
        }
    }
}

async fn compounds(
    State(st): State<AppState>,
    ctx: Ctx,
    PQ(f): PQ<CompoundFilter>,
    PQ(page): PQ<Page>,
) -> PageResult {
    let lang = ctx.lang;
    let q = f.check().map_err(AppError::from).or_page(lang)?;
    let list = registry::list_compounds(&st.db, &q, &page).await.or_page(lang)?;
    let modes: Vec<(&str, String)> = ManagementMode::ALL
        .iter()
        .map(|m| (m.as_str(), m.label(lang).to_owned()))
        .collect();
    let classes: Vec<(&str, String)> = CompoundClass::ALL
        .iter()
        .map(|m| (m.as_str(), m.label(lang).to_owned()))
        .collect();
    let mut base = String::from("/compounds?");
    for (k, v) in [
        ("region", &f.region),
        ("mode", &f.mode),
        ("class", &f.class),
        ("q", &f.q),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            base.push_str(&format!("{k}={}&", urlencode(v)));
        }
    }
    if let Some(o) = f.old {
        base.push_str(&format!("old={o}&"));
    }
    let base = base.trim_end_matches(['&', '?']).to_owned();
    let region_path = match q.region {
        Some(r) => registry::region_path(&st.db, r).await.or_page(lang)?,
        None => Vec::new(),
    };
    Ok(layout(
        &ctx,
        lang.pick("小区", "Compounds"),
        "/compounds",
        html! {
            @if !region_path.is_empty() { (breadcrumb(lang, &region_path)) }
            form.filters method="get" action="/compounds" {
                input type="search" name="q" value=[f.q.as_deref()] placeholder=(lang.pick("名称或编码", "Name or code"));
                input type="text" name="region" inputmode="numeric" value=[f.region.as_deref()] placeholder=(lang.pick("区划代码", "Division code"));
                (select("mode", f.mode.as_deref(), lang.pick("全部管理模式", "Any mode"), &modes))
                (select("class", f.class.as_deref(), lang.pick("全部分类", "Any class"), &classes))
                select name="old" {
                    option value="" { (lang.pick("新旧不限", "Old or new")) }
                    option value="true" selected[f.old == Some(true)] { (lang.pick("老旧小区", "Old compounds")) }
                    option value="false" selected[f.old == Some(false)] { (lang.pick("非老旧小区", "Not old")) }
                }
                button type="submit" { (lang.pick("筛选", "Filter")) }
            }
            p.muted.count { (lang.pick("共 ", "")) (list.total.unwrap_or(0)) (lang.pick(" 个小区", " compounds")) }
            ul.cards {
                @for c in &list.items {
                    li.card {
                        a.title href={ "/compounds/" (c.id) } { (c.name) }
                        div.meta {
                            span.tag { (mode_label(lang, &c.management_mode)) }
                            span.tag.alt { (class_label(lang, &c.class)) }
                            @if c.is_old { span.tag.old { (lang.pick("老旧", "Old")) } }
                        }
                        div.sub { (c.community) " · " (c.company_name.as_deref().unwrap_or(lang.pick("无物业服务企业", "no company"))) }
                        @if let Some(h) = c.households { div.sub { (h) (lang.pick(" 户", " households")) } }
                    }
                }
            }
            @if list.items.is_empty() { p.muted { (lang.pick("没有符合条件的小区。", "No compound matches.")) } }
            (pager(lang, &base, list.page, list.has_more, list.total, list.per_page))
        },
    ))
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn compound_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PQ(page): PQ<Page>,
) -> PageResult {
    let lang = ctx.lang;
    let d = registry::get_compound(&st.db, id)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError(lang, AppError::not_found("compound not found", "小区不存在")))?;
    let c = &d.compound;
    let today = registry::today();
    let current = d.contracts.iter().find(|ct| ct.in_force(today));
    let rooms = registry::list_rooms(
        &st.db,
        &registry::CompoundQuery::default(),
        &RoomFilter {
            compound: Some(id),
            building: None,
        },
        &Page {
            page: page.page,
            per_page: Some(20),
        },
    )
    .await
    .or_page(lang)?;
    // People's data: only for those whose scope reaches the compound.
    let roster = if ctx.actor.signed_in()
        && registry::compound_in_scope(&st.db, id, &ctx.actor.scope)
            .await
            .or_page(lang)?
    {
        registry::roster(&st.db, id).await.or_page(lang)?
    } else {
        Vec::new()
    };
    let na = lang.pick("未登记", "not recorded");
    Ok(layout(
        &ctx,
        &c.name,
        "/compounds",
        html! {
            (breadcrumb(lang, &d.regions))
            dl.facts {
                dt { (lang.pick("小区编码", "Code")) } dd { (c.code) }
                dt { (lang.pick("管理模式", "Management mode")) } dd { span.tag { (mode_label(lang, &c.management_mode)) } }
                dt { (lang.pick("小区分类", "Class")) } dd { (class_label(lang, &c.class)) }
                dt { (lang.pick("老旧小区", "Old compound")) } dd { (if c.is_old { lang.pick("是", "Yes") } else { lang.pick("否", "No") }) }
                dt { (lang.pick("物业服务企业", "Property company")) } dd {
                    @if let Some(ct) = current {
                        a href={ "/companies/" (ct.company_id) } { (ct.company_name) }
                    } @else { (lang.pick("无", "None")) }
                }
                @if let Some(ct) = current {
                    dt { (lang.pick("合同", "Contract")) } dd {
                        (ContractKind::parse(&ct.kind).map(|k| k.label(lang)).unwrap_or(&ct.kind)) " · "
                        (ct.start_date) " — " (ct.end_date) " · "
                        (Money::from_hundredths(ct.fee_standard)) (lang.pick(" 元/㎡·月", " yuan/m²/month")) " · "
                        (FeeModel::parse(&ct.fee_model).map(|k| k.label(lang)).unwrap_or(&ct.fee_model))
                    }
                }
                dt { (lang.pick("地址", "Address")) } dd { (if c.address.is_empty() { na } else { &c.address }) }
                dt { (lang.pick("建成年份", "Year built")) } dd { (c.year_built.map(|y| y.to_string()).unwrap_or_else(|| na.to_owned())) }
                dt { (lang.pick("户数", "Households")) } dd { (c.households.map(|y| y.to_string()).unwrap_or_else(|| na.to_owned())) }
                dt { (lang.pick("总建筑面积", "Floor area")) } dd { (c.floor_area.map(|a| format!("{} ㎡", area(a))).unwrap_or_else(|| na.to_owned())) }
                dt { (lang.pick("房屋", "Rooms")) } dd { (d.rooms) (lang.pick(" 套，专有面积 ", " rooms, exclusive area ")) (area(d.exclusive_area)) " ㎡" }
                dt { (lang.pick("业主", "Owners")) } dd { (d.owners) (lang.pick(" 人", "")) }
                dt { (lang.pick("业委会成员", "Committee members")) } dd { (d.committee_members) }
                dt { (lang.pick("楼长、单元长", "Building and entrance heads")) } dd { (d.volunteers) }
            }
            p { a.button href={ "/orders/new?compound=" (c.id) } { (lang.pick("报修 / 投诉", "Report a problem")) } " " a href={ "/decisions?compound=" (c.id) } { (lang.pick("业主共同决定", "Owners' decisions")) } }
        @if !roster.is_empty() {
            h2 { (lang.pick("业委会与楼长、单元长", "Committee and volunteer heads")) }
            table.list.roster { tbody { @for r in &roster {
                tr {
                    td { (wuye_model::CommitteeRole::parse(&r.role).map(|x| x.label(lang)).or_else(|_| wuye_model::VolunteerRole::parse(&r.role).map(|x| x.label(lang))).unwrap_or(&r.role)) }
                    td { (r.name) @if r.party_member { " " span.tag { (lang.pick("党员", "Party member")) } } @if r.veteran { " " span.tag.alt { (lang.pick("退役军人", "Veteran")) } } }
                    td { (r.building.as_deref().unwrap_or("")) }
                    td { (r.phone) }
                }
            } } }
        }
        @if ctx.actor.role == Some(wuye_model::Role::Owner) {
            details.claim open[d.rooms > 0] {
                summary { (lang.pick("认领我在本小区的房屋", "Claim my room in this compound")) }
                form.import method="post" action="/claims" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    input type="hidden" name="compound" value=(c.id);
                    label { (lang.pick("楼栋", "Building")) " " input type="text" name="building" placeholder="1号楼" required; }
                    label { (lang.pick("单元", "Entrance")) " " input type="text" name="entrance" placeholder="1" required; }
                    label { (lang.pick("房号", "Room number")) " " input type="text" name="number" placeholder="101" required; }
                    label { (lang.pick("不动产权证照片（可选）", "Title document photo (optional)")) " " input type="file" name="document" accept="image/*"; }
                    button type="submit" { (lang.pick("提交认领", "Submit the claim")) }
                }
            }
        }
        h2 { (lang.pick("楼栋", "Buildings")) }
            table.list {
                thead { tr { th { (lang.pick("楼栋", "Building")) } th.num { (lang.pick("层数", "Floors")) } th.num { (lang.pick("单元", "Entrances")) } th.num { (lang.pick("房屋", "Rooms")) } th.num { (lang.pick("专有面积㎡", "Area m²")) } } }
                tbody { @for b in &d.buildings {
                    tr { td { (b.name) } td.num { (b.floors.map(|f| f.to_string()).unwrap_or_default()) } td.num { (b.entrances) } td.num { (b.rooms) } td.num { (area(b.exclusive_area)) } }
                } }
            }
            h2 { (lang.pick("房屋", "Rooms")) }
            table.list {
                thead { tr { th { (lang.pick("房屋", "Room")) } th { (lang.pick("用途", "Use")) } th.num { (lang.pick("专有面积㎡", "Area m²")) } } }
                tbody { @for r in &rooms.items {
                    tr {
                        td { (r.building) " " (r.entrance) (lang.pick("单元 ", "-")) (r.number) @if r.developer_held { " " span.tag.old { (lang.pick("开发商", "developer")) } } }
                        td { (RoomKind::parse(&r.kind).map(|k| k.label(lang)).unwrap_or(&r.kind)) }
                        td.num { (area(r.exclusive_area)) }
                    }
                } }
            }
            (pager(lang, &format!("/compounds/{id}"), rooms.page, rooms.has_more, rooms.total, rooms.per_page))
            @if d.contracts.len() > 1 {
                h2 { (lang.pick("合同记录", "Contract history")) }
                ul { @for ct in &d.contracts { li { (ct.company_name) " · " (ct.start_date) " — " (ct.end_date) } } }
            }
        },
    ))
}

async fn companies(
    State(st): State<AppState>,
    ctx: Ctx,
    PQ(f): PQ<CompanyFilter>,
    PQ(page): PQ<Page>,
) -> PageResult {
    let lang = ctx.lang;
    let region = match f.region.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(
            RegionCode::parse(r)
                .map_err(|e| AppError::invalid("region", &e.to_string()))
                .or_page(lang)?,
        ),
        None => None,
    };
    let list = registry::list_companies(&st.db, f.q.as_deref(), region, &page)
        .await
        .or_page(lang)?;
    let base = match f.q.as_deref().filter(|s| !s.is_empty()) {
        Some(q) => format!("/companies?q={}", urlencode(q)),
        None => "/companies".to_owned(),
    };
    Ok(layout(
        &ctx,
        lang.pick("物业服务企业", "Property companies"),
        "/companies",
        html! {
            form.filters method="get" action="/companies" {
                input type="search" name="q" value=[f.q.as_deref()] placeholder=(lang.pick("企业名称或统一社会信用代码", "Name or credit code"));
                button type="submit" { (lang.pick("搜索", "Search")) }
            }
            p.muted.count { (lang.pick("共 ", "")) (list.total.unwrap_or(0)) (lang.pick(" 家企业", " companies")) }
            ul.cards { @for c in &list.items {
                li.card {
                    a.title href={ "/companies/" (c.id) } { (c.name) }
                    div.sub { (c.uscc) }
                    div.sub { (lang.pick("在管小区 ", "Compounds managed: ")) (c.compounds) }
                }
            } }
            (pager(lang, &base, list.page, list.has_more, list.total, list.per_page))
        },
    ))
}

async fn company_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang;
    let c = registry::get_company(&st.db, id)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError(lang, AppError::not_found("company not found", "企业不存在")))?;
    let contracts = registry::contracts_of_company(&st.db, id).await.or_page(lang)?;
    let today = registry::today();
    Ok(layout(
        &ctx,
        &c.name,
        "/companies",
        html! {
            dl.facts {
                dt { (lang.pick("统一社会信用代码", "Credit code")) } dd { (c.uscc) }
                dt { (lang.pick("法定代表人", "Legal representative")) } dd { (c.legal_representative) }
                dt { (lang.pick("地址", "Address")) } dd { (c.address) }
                dt { (lang.pick("在管小区", "Compounds managed")) } dd { (c.compounds) }
            }
            p { a href={ "/credit/" (c.id) } { (lang.pick("信用记录与等级", "Credit ledger and grade")) } " · " a href="/rankings" { (lang.pick("考核排名", "Rankings")) } }
            h2 { (lang.pick("服务合同", "Contracts")) }
            table.list {
                thead { tr { th { (lang.pick("小区", "Compound")) } th { (lang.pick("期限", "Term")) } th.num { (lang.pick("元/㎡·月", "yuan/m²/mo")) } } }
                tbody { @for ct in &contracts {
                    tr class=[(!ct.in_force(today)).then_some("past")] {
                        td { a href={ "/compounds/" (ct.compound_id) } { (ct.compound_name) } }
                        td { (ct.start_date) " — " (ct.end_date) }
                        td.num { (Money::from_hundredths(ct.fee_standard)) }
                    }
                } }
            }
        },
    ))
}

fn import_form(ctx: &Ctx) -> Markup {
    let lang = ctx.lang;
    html! {
        form.import method="post" action="/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(ctx.csrf());
            label { (lang.pick("数据类型", "Kind")) " "
                select name="kind" { @for k in Kind::ALL { option value=(k.as_str()) { (lang.pick(k.label_zh(), k.label_en())) } } }
            }
            label { (lang.pick("文件（.xlsx 或 .csv）", "File (.xlsx or .csv)")) " " input type="file" name="file" accept=".xlsx,.csv" required; }
            button type="submit" { (lang.pick("导入", "Import")) }
        }
        p.muted { (lang.pick("整个文件要么全部导入，要么全部不导入；重复导入同一文件不会产生变化。", "A file is applied whole or not at all; importing the same file again changes nothing.")) }
        h2 { (lang.pick("模板下载", "Templates")) }
        table.list { tbody { @for k in Kind::ALL {
            tr { td { (lang.pick(k.label_zh(), k.label_en())) }
                 td { a href={ "/api/v1/templates/" (k.as_str()) "?format=xlsx" } { "Excel" } " · " a href={ "/api/v1/templates/" (k.as_str()) "?format=csv" } { "CSV" } }
                 td { a href={ "/api/v1/exports/" (k.as_str()) "?format=csv" } { (lang.pick("导出", "Export")) } } }
        } } }
    }
}

async fn import_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_admin(true)
        .map_err(AppError::from)
        .or_page(lang)?;
    let runs = recent_runs(&st.db, 20).await.or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("批量导入", "Bulk import"),
        "/import",
        html! {
            (import_form(&ctx))
            h2 { (lang.pick("最近导入", "Recent imports")) }
            table.list {
                thead { tr { th { (lang.pick("时间", "When")) } th { (lang.pick("文件", "File")) } th { (lang.pick("结果", "Result")) } th.num { (lang.pick("行数/变更", "Rows/changed")) } } }
                tbody { @for r in &runs {
                    tr { td { (r.created_at.to_offset(crate::clock::CST).date()) } td { (r.kind) " · " (r.file_name) }
                         td { (if r.status == "applied" { lang.pick("已导入", "applied") } else { lang.pick("已拒绝", "rejected") }) }
                         td.num { (r.rows_total) " / " (r.rows_changed) } }
                } }
            }
        },
    ))
}

fn report_markup(lang: Lang, r: &ImportReport) -> Markup {
    html! {
        @if r.applied() {
            p.ok { (lang.pick("导入成功：", "Imported: ")) (r.file_name) " — " (r.rows_total) (lang.pick(" 行，变更 ", " rows, changed ")) (r.rows_changed) }
        } @else {
            p.error-box { (lang.pick("文件未导入，数据库没有任何改变。请修正以下错误后重新上传：", "The file was not imported and nothing changed. Fix these errors and upload again:")) }
            table.list.errors {
                thead { tr { th { (lang.pick("工作表", "Sheet")) } th.num { (lang.pick("行", "Row")) } th { (lang.pick("列", "Column")) } th { (lang.pick("值", "Value")) } th { (lang.pick("原因", "Reason")) } } }
                tbody { @for e in &r.errors {
                    tr { td { (e.sheet) } td.num { (e.row) } td { (e.column) } td { code { (e.value) } } td { (lang.pick(&e.reason_zh, &e.reason_en)) } }
                } }
            }
        }
    }
}

async fn import_upload(
    State(st): State<AppState>,
    ctx: Ctx,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_admin(true)
        .map_err(AppError::from)
        .or_page(lang)?;
    let mut kind = None;
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| {
            AppError::bad(
                "invalid_form",
                format!("unreadable upload: {e}"),
                "上传内容无法读取",
            )
        })
        .or_page(lang)?
    {
        match field.name() {
            Some("kind") => kind = field.text().await.ok().and_then(|k| Kind::parse(&k)),
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| {
                        AppError::bad("invalid_form", format!("unreadable file: {e}"), "文件无法读取")
                    })
                    .or_page(lang)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let (Some(kind), Some((name, bytes))) = (kind, file) else {
        return Err(PageError(
            lang,
            AppError::bad("invalid_form", "choose a kind and a file", "请选择数据类型和文件"),
        ));
    };
    ctx.check_csrf(&csrf)?;
    super::api::require_import(&ctx.actor, kind).or_page(lang)?;
    let report = import_file(
        &st.db,
        Some(&st.files),
        &ctx.actor,
        kind,
        &name,
        &bytes,
        st.clock.now(),
    )
    .await
    .or_page(lang)?;
    let status = if report.applied() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = layout(
        &ctx,
        lang.pick("导入结果", "Import result"),
        "/import",
        html! {
            (report_markup(lang, &report))
            (import_form(&ctx))
        },
    );
    Ok((status, page).into_response())
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only a path on this site (never `//host` or a full URL) may be a redirect target.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

fn cookie_header(name: &str, value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// Cookies are Secure when the request came over TLS (directly or through a proxy that says so).
fn is_tls(headers: &axum::http::HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

use crate::demo::DEMO_PASSWORD;

fn login_form(
    lang: Lang,
    csrf: &str,
    next: &str,
    message: Option<&str>,
    demo: Option<&[(String, String)]>,
) -> Markup {
    html! {
        @if let Some(m) = message { p.error-box { (m) } }
        form.import method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="next" value=(next);
            label { (lang.pick("登录名", "Login")) " " input type="text" name="login" autocomplete="username" required; }
            label { (lang.pick("密码", "Password")) " " input type="password" name="password" autocomplete="current-password" required; }
            button type="submit" { (lang.pick("登录", "Sign in")) }
        }
        p.muted { (lang.pick("监管部门、物业企业与业委会人员使用账号密码登录。", "Regulators, company staff and committee members sign in with their account.")) }
        h2 { (lang.pick("业主登录", "Owners")) }
        form.import.owner method="post" action="/login/code" {
            input type="hidden" name="csrf" value=(csrf);
            label { (lang.pick("手机号", "Mobile number")) " " input type="tel" name="phone" inputmode="numeric" autocomplete="tel" maxlength="11" required; }
            button type="submit" { (lang.pick("获取验证码", "Send me a code")) }
        }
        @if let Some(accounts) = demo {
            h2 { (lang.pick("演示账号", "Demo accounts")) }
            p.notice { (lang.pick("仅演示模式显示。工作人员演示账号的密码均为 ", "Shown in demo mode only. The staff accounts' password is ")) code { (DEMO_PASSWORD) } }
            table.list.demo { tbody { @for (login, role) in accounts { tr { td { code { (login) } } td { (role) } } } } }
        }
    }
}

async fn demo_accounts(st: &AppState, lang: Lang) -> Vec<(String, String)> {
    if !st.demo {
        return Vec::new();
    }
    crate::demo::demo_logins(&st.db)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(login, role): (String, String)| {
            let label = wuye_model::Role::parse(&role)
                .map(|r| r.label(lang).to_owned())
                .unwrap_or(role);
            (login, label)
        })
        .collect()
}

async fn login_page(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    PQ(p): PQ<NextParam>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let token = match cookie(&headers, LOGIN_CSRF_COOKIE) {
        Some(t) if t.len() == 64 => t.to_owned(),
        _ => auth::random_token().map_err(AppError::from).or_page(lang)?,
    };
    let next = safe_next(p.next.as_deref().unwrap_or("/")).to_owned();
    let demo = demo_accounts(&st, lang).await;
    let page = layout(
        &ctx,
        lang.pick("登录", "Sign in"),
        "/login",
        login_form(lang, &token, &next, None, st.demo.then_some(&demo[..])),
    );
    let mut resp = page.into_response();
    if let Some(v) = cookie_header(LOGIN_CSRF_COOKIE, &token, 3600, is_tls(&headers)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn login_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    PForm(f): PForm<LoginForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    // Double-submit check: the form's token must equal the cookie set with the form.
    if cookie(&headers, LOGIN_CSRF_COOKIE) != Some(f.csrf.as_str()) || f.csrf.is_empty() {
        return Err(PageError(
            lang,
            AppError::Forbidden {
                en: "the form expired; reload the page and try again".into(),
                zh: "表单已失效，请刷新页面后重试".into(),
            },
        ));
    }
    let now = st.clock.now();
    let outcome = auth::login(&st.db, &f.login, &f.password, &ctx.actor.ip, now)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let demo = demo_accounts(&st, lang).await;
    let retry = |status: StatusCode, msg: &str| {
        let page = layout(
            &ctx,
            lang.pick("登录", "Sign in"),
            "/login",
            login_form(lang, &f.csrf, &f.next, Some(msg), st.demo.then_some(&demo[..])),
        );
        (status, page).into_response()
    };
    match outcome {
        auth::Login::Ok { token, .. } => {
            let mut resp = Redirect::to(safe_next(&f.next)).into_response();
            if let Some(v) = cookie_header(
                SESSION_COOKIE,
                &token,
                auth::SESSION_TTL.whole_seconds(),
                is_tls(&headers),
            ) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        auth::Login::Wrong => Ok(retry(
            StatusCode::UNAUTHORIZED,
            lang.pick("登录名或密码错误。", "Wrong login or password."),
        )),
        auth::Login::Locked { until } => {
            let at = until.to_offset(crate::clock::CST);
            let msg = match lang {
                Lang::Zh => format!(
                    "连续输错密码次数过多，账号已锁定至 {:02}:{:02}。",
                    at.hour(),
                    at.minute()
                ),
                Lang::En => format!(
                    "Too many wrong passwords: the account is locked until {:02}:{:02} (China time).",
                    at.hour(),
                    at.minute()
                ),
            };
            Ok(retry(StatusCode::TOO_MANY_REQUESTS, &msg))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    PForm(f): PForm<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        auth::logout(&st.db, token)
            .await
            .map_err(AppError::from)
            .or_page(ctx.lang)?;
        auth::audit(
            &st.db,
            &ctx.actor,
            "session.logout",
            "user",
            &ctx.actor.user_id.unwrap_or_default().to_string(),
            None,
            None,
            st.clock.now(),
        )
        .await
        .or_page(ctx.lang)?;
    }
    let mut resp = Redirect::to("/").into_response();
    if let Some(v) = cookie_header(SESSION_COOKIE, "", 0, is_tls(&headers)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn account_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    let role = ctx
        .actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let scope = match &ctx.actor.scope {
        auth::Scope::Region { code } => format!("{} {code}", lang.pick("区划", "Region")),
        auth::Scope::Company { company_id } => format!("{} #{company_id}", lang.pick("企业", "Company")),
        auth::Scope::Compound { compound_id } => format!("{} #{compound_id}", lang.pick("小区", "Compound")),
        auth::Scope::Owner { .. } => lang
            .pick("本人名下已核验的房屋", "Your verified rooms")
            .to_owned(),
        auth::Scope::All => lang.pick("全部", "Everything").to_owned(),
        auth::Scope::Public => lang.pick("公开信息", "Public information").to_owned(),
    };
    let (rooms, claims) = if role == wuye_model::Role::Owner {
        let q = registry::CompoundQuery {
            scope: Some(ctx.actor.scope.clone()),
            ..Default::default()
        };
        let rooms = registry::list_rooms(&st.db, &q, &RoomFilter::default(), &Page::new(1, 200))
            .await
            .or_page(lang)?
            .items;
        let claims = crate::claims::my_claims(&st.db, &ctx.actor)
            .await
            .map_err(claim_error)
            .or_page(lang)?;
        (rooms, claims)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(layout(
        &ctx,
        lang.pick("我的账号", "My account"),
        "/account",
        html! {
            dl.facts {
                dt { (lang.pick("姓名", "Name")) } dd { (ctx.actor.display_name) }
                dt { (lang.pick("登录名", "Login")) } dd { (auth::mask(&ctx.actor.login)) }
                dt { (lang.pick("角色", "Role")) } dd { (role.label(lang)) }
                dt { (lang.pick("管理范围", "Scope")) } dd { (scope) }
            }
            @if role == wuye_model::Role::Owner {
                h2 { (lang.pick("我的房屋", "My rooms")) }
                @if rooms.is_empty() {
                    p.muted { (lang.pick("还没有核验过的房屋。打开您所在小区的页面，点“认领房屋”，由业委会或物业服务企业核验。", "No verified room yet. Open your compound's page and claim your room; the committee or the company verifies it.")) }
                }
                ul.cards { @for r in &rooms {
                    li.card { a.title href={ "/compounds/" (r.compound_id) } { (r.compound_name) } div.sub { (r.building) " " (r.entrance) (lang.pick("单元 ", "-")) (r.number) " · " (area(r.exclusive_area)) " ㎡" } }
                } }
                @if !claims.is_empty() {
                    h2 { (lang.pick("认领记录", "My claims")) }
                    table.list { tbody { @for c in &claims {
                        tr { td { (c.compound_name) " " (c.building) " " (c.entrance) "-" (c.number) } td { (claim_status(lang, &c.status)) } td { (c.reason) } }
                    } } }
                }
            }
        },
    ))
}

fn claim_status(lang: Lang, status: &str) -> &'static str {
    match status {
        "pending" => lang.pick("待核验", "pending"),
        "confirmed" => lang.pick("已核验", "confirmed"),
        _ => lang.pick("已驳回", "rejected"),
    }
}

fn claim_error(e: crate::claims::ClaimError) -> AppError {
    match e {
        crate::claims::ClaimError::Denied(d) => d.into(),
        crate::claims::ClaimError::Invalid(msg) => AppError::invalid("claim", &msg),
        crate::claims::ClaimError::Db(e) => e.into(),
    }
}

#[derive(Deserialize)]
pub struct PhoneForm {
    phone: String,
    csrf: String,
    #[serde(default)]
    code: String,
}

fn login_csrf_ok(headers: &axum::http::HeaderMap, sent: &str) -> bool {
    !sent.is_empty() && cookie(headers, LOGIN_CSRF_COOKIE) == Some(sent)
}

fn form_expired(lang: Lang) -> PageError {
    PageError(
        lang,
        AppError::Forbidden {
            en: "the form expired; reload the page and try again".into(),
            zh: "表单已失效，请刷新页面后重试".into(),
        },
    )
}

fn code_form(lang: Lang, csrf: &str, phone: &str, message: Option<(&str, bool)>) -> Markup {
    html! {
        @if let Some((m, ok)) = message { p class=(if ok { "ok" } else { "error-box" }) { (m) } }
        form.import method="post" action="/login/verify" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="phone" value=(phone);
            label { (lang.pick("验证码（6 位）", "Code (6 digits)")) " " input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required autofocus; }
            button type="submit" { (lang.pick("登录", "Sign in")) }
        }
        form method="post" action="/login/code" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="phone" value=(phone);
            button.link type="submit" { (lang.pick("重新发送验证码", "Send a new code")) }
        }
    }
}

async fn code_request(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    PForm(f): PForm<PhoneForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    if !login_csrf_ok(&headers, &f.csrf) {
        return Err(form_expired(lang));
    }
    let outcome = crate::otp::request_code(&st.db, &st.sender, &f.phone, &ctx.actor.ip, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    use crate::otp::Requested;
    let (status, message, ok) = match outcome {
        Requested::Sent => (
            StatusCode::OK,
            lang.pick(
                "验证码已发送，5 分钟内有效。",
                "A code is on its way; it is valid for 5 minutes.",
            ),
            true,
        ),
        Requested::InvalidPhone => (
            StatusCode::BAD_REQUEST,
            lang.pick("请输入 11 位手机号码。", "Enter an 11-digit mobile number."),
            false,
        ),
        Requested::TooSoon => (
            StatusCode::TOO_MANY_REQUESTS,
            lang.pick(
                "发送太频繁，请 1 分钟后再试。",
                "Please wait a minute before asking for another code.",
            ),
            false,
        ),
        Requested::TooMany => (
            StatusCode::TOO_MANY_REQUESTS,
            lang.pick(
                "本小时发送次数已达上限，请稍后再试。",
                "Too many codes this hour; try again later.",
            ),
            false,
        ),
    };
    if outcome == Requested::InvalidPhone {
        let demo = demo_accounts(&st, lang).await;
        let page = layout(
            &ctx,
            lang.pick("登录", "Sign in"),
            "/login",
            login_form(
                lang,
                &f.csrf,
                "/account",
                Some(message),
                st.demo.then_some(&demo[..]),
            ),
        );
        return Ok((status, page).into_response());
    }
    // Demo mode only: show the code that the outbox holds, so a newcomer can try it alone.
    let demo_code = if st.demo && outcome == Requested::Sent {
        crate::otp::outbox(&st.db, 20)
            .await
            .or_page(lang)?
            .into_iter()
            .find(|m| m.recipient == f.phone.trim())
            .map(|m| m.body)
    } else {
        None
    };
    let page = layout(
        &ctx,
        lang.pick("输入验证码", "Enter your code"),
        "/login",
        html! {
            (code_form(lang, &f.csrf, f.phone.trim(), Some((message, ok))))
            @if let Some(body) = demo_code { p.notice { (lang.pick("演示模式（正式部署经短信发送）：", "Demo mode (a real deployment sends this by SMS): ")) (body) } }
        },
    );
    Ok((status, page).into_response())
}

async fn code_verify(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    PForm(f): PForm<PhoneForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    if !login_csrf_ok(&headers, &f.csrf) {
        return Err(form_expired(lang));
    }
    let outcome = crate::otp::verify_code(&st.db, &f.phone, &f.code, &ctx.actor.ip, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    use crate::otp::Verified;
    let message = match outcome {
        Verified::Ok { token, .. } => {
            let mut resp = Redirect::to("/account").into_response();
            if let Some(v) = cookie_header(
                SESSION_COOKIE,
                &token,
                auth::SESSION_TTL.whole_seconds(),
                is_tls(&headers),
            ) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            return Ok(resp);
        }
        Verified::Wrong => lang.pick("验证码错误，请重新输入。", "Wrong code; try again."),
        Verified::Expired => lang.pick(
            "验证码已过期，请重新获取。",
            "The code has expired; ask for a new one.",
        ),
        Verified::Reused => lang.pick(
            "验证码已使用过，请重新获取。",
            "That code was used already; ask for a new one.",
        ),
        Verified::TooManyAttempts => lang.pick(
            "输错次数过多，请重新获取验证码。",
            "Too many wrong tries; ask for a new code.",
        ),
        Verified::NoCode => lang.pick("请先获取验证码。", "Ask for a code first."),
        Verified::Throttled => lang.pick(
            "尝试次数过多，请稍后再试。",
            "Too many attempts from here; try again later.",
        ),
    };
    let page = layout(
        &ctx,
        lang.pick("输入验证码", "Enter your code"),
        "/login",
        code_form(lang, &f.csrf, f.phone.trim(), Some((message, false))),
    );
    Ok((StatusCode::UNAUTHORIZED, page).into_response())
}

async fn claim_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let mut fields = std::collections::HashMap::new();
    let mut document: Option<Vec<u8>> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| {
            AppError::bad(
                "invalid_form",
                format!("unreadable upload: {e}"),
                "上传内容无法读取",
            )
        })
        .or_page(lang)?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "document" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::bad("invalid_form", format!("unreadable file: {e}"), "文件无法读取"))
                .or_page(lang)?;
            if !bytes.is_empty() {
                document = Some(bytes.to_vec());
            }
        } else {
            fields.insert(name, field.text().await.unwrap_or_default());
        }
    }
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    ctx.check_csrf(get("csrf"))?;
    let compound_id: i64 = get("compound")
        .parse()
        .map_err(|_| AppError::invalid("compound", "choose a compound / 请选择小区"))
        .or_page(lang)?;
    let file_id = match document {
        Some(bytes) if bytes.len() > 10 * 1024 * 1024 => {
            return Err(PageError(
                lang,
                AppError::invalid("document", "the photo is larger than 10 MB / 照片不能超过 10 MB"),
            ));
        }
        Some(bytes) => {
            let (ct, bytes) = crate::media::clean_photo(&bytes)
                .map_err(|e| AppError::invalid("document", &e.to_string()))
                .or_page(lang)?;
            Some(
                st.files
                    .put(&bytes, ct, st.clock.now())
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))
                    .or_page(lang)?,
            )
        }
        None => None,
    };
    crate::claims::claim(
        &st.db,
        &ctx.actor,
        crate::claims::RoomRef {
            compound_id,
            building: get("building"),
            entrance: get("entrance"),
            number: get("number"),
        },
        file_id,
        st.clock.now(),
    )
    .await
    .map_err(claim_error)
    .or_page(lang)?;
    Ok(Redirect::to("/account").into_response())
}

async fn claims_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    let pending = crate::claims::pending(&st.db, &ctx.actor)
        .await
        .map_err(claim_error)
        .or_page(lang)?;
    let mut owners = Vec::with_capacity(pending.len());
    for c in &pending {
        owners.push(
            crate::claims::room_owners(&st.db, c.room_id)
                .await
                .or_page(lang)?,
        );
    }
    Ok(layout(
        &ctx,
        lang.pick("房屋认领核验", "Ownership claims"),
        "/claims",
        html! {
            p.muted { (lang.pick("核验通过后，该手机号即可代表登记业主参与表决和评价。", "Once confirmed, the phone number speaks for the registered owner in votes and ratings.")) }
            @if pending.is_empty() { p.muted { (lang.pick("没有待核验的认领。", "No claims waiting.")) } }
            @for (c, os) in pending.iter().zip(&owners) {
                section.endpoint.claim {
                    h3 { (c.compound_name) " " (c.building) " " (c.entrance) "-" (c.number) }
                    p { (lang.pick("申请人手机：", "Claimant: ")) (auth::mask(&c.claimant)) }
                    @if let Some(f) = &c.document_file_id { p.muted { (lang.pick("已上传证件照片 ", "Document photo ")) code { (&f[..12]) } } }
                    form method="post" action={ "/claims/" (c.id) "/decide" } {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="decision" value="confirm";
                        select name="owner_id" { @for (id, name, phone) in os { option value=(id) { (name) " " (auth::mask(phone)) } } }
                        button type="submit" { (lang.pick("确认是该业主", "Confirm as this owner")) }
                    }
                    form method="post" action={ "/claims/" (c.id) "/decide" } {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="decision" value="reject";
                        input type="text" name="reason" placeholder=(lang.pick("驳回理由", "Reason for rejecting")) required;
                        button type="submit" { (lang.pick("驳回", "Reject")) }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    decision: String,
    #[serde(default, deserialize_with = "registry::empty_as_none")]
    owner_id: Option<i64>,
    #[serde(default)]
    reason: String,
}

async fn claim_decide(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<DecideForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    let decision = match (f.decision.as_str(), f.owner_id) {
        ("confirm", Some(owner_id)) => crate::claims::Decision::Confirm { owner_id },
        ("reject", _) => crate::claims::Decision::Reject { reason: f.reason },
        _ => {
            return Err(PageError(
                lang,
                AppError::invalid(
                    "decision",
                    "confirm with an owner, or reject with a reason / 请选择业主确认或填写理由驳回",
                ),
            ));
        }
    };
    crate::claims::decide(&st.db, &ctx.actor, id, decision, st.clock.now())
        .await
        .map_err(claim_error)
        .or_page(lang)?;
    Ok(Redirect::to("/claims").into_response())
}

async fn outbox_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_admin(false)
        .map_err(AppError::from)
        .or_page(lang)?;
    let messages = crate::otp::outbox(&st.db, 100).await.or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("短信发件箱", "Outbox"),
        "/outbox",
        html! {
            p.muted { (lang.pick("未接入短信网关时，验证码和通知在此投递；接入网关后此处同时留存发送记录。", "Without an SMS gateway, codes and notices are delivered here; with one, this is the record of what was sent.")) }
            table.list.outbox {
                thead { tr { th { (lang.pick("时间", "When")) } th { (lang.pick("收件人", "To")) } th { (lang.pick("内容", "Message")) } th { (lang.pick("状态", "Status")) } } }
                tbody { @for m in &messages {
                    tr {
                        td { (m.created_at.to_offset(crate::clock::CST).format(&time::macros::format_description!("[month]-[day] [hour]:[minute]:[second]")).unwrap_or_default()) }
                        td.recipient { (m.recipient) }
                        td.body { (m.body) }
                        td { @if m.delivered_at.is_some() { (lang.pick("已发送", "sent")) } @else if let Some(e) = &m.error { (lang.pick("失败：", "failed: ")) (e) } @else { (lang.pick("发件箱", "outbox")) } }
                    }
                } }
            }
        },
    ))
}

async fn audit_page(State(st): State<AppState>, ctx: Ctx, PQ(page): PQ<Page>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_admin(false)
        .map_err(AppError::from)
        .or_page(lang)?;
    let entries = auth::audit_entries(&st.db, i64::from(page.size()) + 1, page.offset())
        .await
        .or_page(lang)?;
    let has_more = entries.len() > page.size() as usize;
    Ok(layout(
        &ctx,
        lang.pick("审计日志", "Audit log"),
        "/audit",
        html! {
            p.muted { (lang.pick("记录每一次写操作：谁、何时、从哪里、改了什么；至少保存六个月。", "Every write: who, when, from where, what changed; kept at least six months.")) }
        p { a href="/api/v1/audit/export" { (lang.pick("导出 CSV", "Export CSV")) } }
            table.list {
                thead { tr { th { (lang.pick("时间", "When")) } th { (lang.pick("操作人", "Who")) } th { (lang.pick("操作", "Action")) } th { (lang.pick("对象", "Object")) } th { (lang.pick("变更", "Change")) } } }
                tbody { @for e in entries.iter().take(page.size() as usize) {
                    tr {
                        td { (e.at.to_offset(crate::clock::CST).format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).unwrap_or_default()) }
                        td { (auth::display_login(&e.actor)) br; small.muted { (e.ip) } }
                        td { code { (e.action) } }
                        td { (e.entity) " " (e.entity_id) }
                        td { small { @if let Some(b) = &e.before { (lang.pick("原：", "before: ")) (b) br; } @if let Some(a) = &e.after { (lang.pick("新：", "after: ")) (a) } } }
                    }
                } }
            }
            (pager(lang, "/audit", page.number(), has_more, None, page.size()))
        },
    ))
}

fn users_markup(ctx: &Ctx, users: &[auth::UserSummary], message: Option<(&str, bool)>) -> Markup {
    let lang = ctx.lang;
    let roles: Vec<wuye_model::Role> = wuye_model::Role::ALL
        .iter()
        .copied()
        .filter(|r| *r != wuye_model::Role::Owner)
        .collect();
    html! {
        @if let Some((m, ok)) = message { p class=(if ok { "ok" } else { "error-box" }) { (m) } }
        table.list.users {
            thead { tr { th { (lang.pick("登录名", "Login")) } th { (lang.pick("姓名", "Name")) } th { (lang.pick("角色", "Role")) } th { (lang.pick("范围", "Scope")) } th { (lang.pick("手机", "Phone")) } } }
            tbody { @for u in users {
                tr {
                    td { code { (u.login) } }
                    td { (u.display_name) }
                    td { (wuye_model::Role::parse(&u.role).map(|r| r.label(lang)).unwrap_or(&u.role)) }
                    td { @if let Some(r) = u.scope_region { (format!("{r:012}")) } @else if let Some(c) = u.scope_company { (lang.pick("企业 #", "company #")) (c) } @else if let Some(c) = u.scope_compound { (lang.pick("小区 #", "compound #")) (c) } }
                    td { (u.phone) }
                }
            } }
        }
        h2 { (lang.pick("新建账号", "New account")) }
        form.import method="post" action="/users" {
            input type="hidden" name="csrf" value=(ctx.csrf());
            label { (lang.pick("登录名", "Login")) " " input type="text" name="login" required; }
            label { (lang.pick("姓名", "Name")) " " input type="text" name="display_name" required; }
            label { (lang.pick("角色", "Role")) " " select name="role" { @for r in &roles { option value=(r.as_str()) { (r.label(lang)) } } } }
            label { (lang.pick("范围（区划代码 / 企业信用代码 / 小区编码）", "Scope (division code / company credit code / compound code)")) " " input type="text" name="scope" required; }
            label { (lang.pick("初始密码（至少 10 位）", "Initial password (10 characters or more)")) " " input type="password" name="password" autocomplete="new-password" required; }
            label { (lang.pick("手机", "Phone")) " " input type="tel" name="phone"; }
            button type="submit" { (lang.pick("创建", "Create")) }
        }
    }
}

async fn users_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let users = auth::list_users(&st.db, &ctx.actor)
        .await
        .map_err(|_| AppError::from(auth::Denied::Role))
        .or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("账号管理", "Accounts"),
        "/users",
        users_markup(&ctx, &users, None),
    ))
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    login: String,
    display_name: String,
    role: String,
    scope: String,
    password: String,
    #[serde(default)]
    phone: String,
}

async fn users_create(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<UserForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    if !ctx.actor.role.is_some_and(wuye_model::Role::administers_users) {
        return Err(PageError(lang, auth::Denied::Role.into()));
    }
    let role = wuye_model::Role::parse(&f.role)
        .map_err(|e| AppError::invalid("role", &e.to_string()))
        .or_page(lang)?;
    let new = auth::NewUser {
        login: f.login,
        display_name: f.display_name,
        role,
        scope: f.scope,
        password: f.password,
        phone: f.phone,
    };
    let outcome = auth::create_user(&st.db, &new, &ctx.actor, st.clock.now()).await;
    let users = auth::list_users(&st.db, &ctx.actor)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let (status, msg) = match &outcome {
        Ok(_) => (
            StatusCode::OK,
            (lang.pick("账号已创建。", "Account created.").to_owned(), true),
        ),
        Err(auth::AuthError::Invalid(m)) => {
            let (en, zh) = m.rsplit_once(" / ").unwrap_or((m.as_str(), m.as_str()));
            (StatusCode::BAD_REQUEST, (lang.pick(zh, en).to_owned(), false))
        }
        Err(e) => return Err(PageError(lang, AppError::Internal(e.to_string()))),
    };
    let page = layout(
        &ctx,
        lang.pick("账号管理", "Accounts"),
        "/users",
        users_markup(&ctx, &users, Some((msg.0.as_str(), msg.1))),
    );
    Ok((status, page).into_response())
}

// ---------------------------------------------------------------------------------------------
// Work orders

fn order_state_label(lang: Lang, s: &str) -> String {
    wuye_model::OrderState::parse(s)
        .map(|x| lang.pick(x.label_zh(), x.label_en()).to_owned())
        .unwrap_or_else(|_| s.to_owned())
}

fn satisfaction_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "satisfied" => lang.pick("满意", "Satisfied"),
        "basic" => lang.pick("基本满意", "Basically satisfied"),
        "dissatisfied" => lang.pick("不满意", "Dissatisfied"),
        _ => lang.pick("超时未评价", "Not rated"),
    }
}

fn category_label(lang: Lang, id: &str) -> String {
    crate::orders::CATEGORIES
        .iter()
        .find(|c| c.0 == id)
        .map(|c| lang.pick(c.1, c.2).to_owned())
        .unwrap_or_else(|| id.to_owned())
}

/// "2 working days left" / "overdue by 1 working day", from the calendar.
fn countdown(
    st: &AppState,
    calendar: &wuye_model::WorkCalendar,
    lang: Lang,
    o: &crate::orders::Order,
) -> Markup {
    let state = wuye_model::OrderState::parse(&o.state).unwrap_or(wuye_model::OrderState::Closed);
    if !state.is_open() {
        return html! {};
    }
    let left = calendar.working_days_left(st.clock.now(), o.handle_due);
    html! {
        @if left > 0 {
            span.tag { (lang.pick("剩余 ", "")) (left) (lang.pick(" 个工作日", " working days left")) }
        } @else {
            span.tag.old { (lang.pick("超期 ", "overdue by ")) (-left) (lang.pick(" 个工作日", " working days")) }
        }
    }
}

fn level_tag(lang: Lang, level: i64) -> Markup {
    let (zh, en) = match level {
        1 => ("日常督办", "Daily supervision"),
        2 => ("挂牌督办", "Listed supervision"),
        3 => ("约谈督办", "Interview"),
        _ => return html! {},
    };
    html! { span.tag.old { (lang.pick(zh, en)) } }
}

async fn orders_page(
    State(st): State<AppState>,
    ctx: Ctx,
    PQ(f): PQ<crate::orders::OrderFilter>,
    PQ(page): PQ<Page>,
) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let list = crate::orders::list(&st.db, &ctx.actor, &f, &page)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let settings = st.settings().await;
    let base = if f.escalated == Some(true) {
        "/orders?escalated=true"
    } else if f.mine == Some(true) {
        "/orders?mine=true"
    } else {
        "/orders"
    };
    let company = matches!(ctx.actor.scope, auth::Scope::Company { .. });
    Ok(layout(
        &ctx,
        lang.pick("工单", "Work orders"),
        "/orders",
        html! {
            p {
                a href="/orders" { (lang.pick("全部", "All")) } " · "
                a href="/orders?escalated=true" { (lang.pick("督办中", "Under supervision")) }
                @if company { " · " a href="/orders?mine=true" { (lang.pick("指派给我", "Assigned to me")) } }
            }
            p.muted.count { (lang.pick("共 ", "")) (list.total.unwrap_or(0)) (lang.pick(" 件", " orders")) }
            @if matches!(ctx.actor.scope, auth::Scope::Region { .. } | auth::Scope::All) {
                details.hotline {
                    summary { (lang.pick("导入 12345 热线工单（Excel/CSV）", "Import 12345 hotline tickets (Excel/CSV)")) }
                    form.import method="post" action="/orders/import" enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="file" name="file" accept=".xlsx,.csv" required;
                        button type="submit" { (lang.pick("导入", "Import")) }
                    }
                }
            }
            ul.cards.orders { @for o in &list.items {
                li.card {
                    a.title href={ "/orders/" (o.id) } { "#" (o.id) " " (category_label(lang, &o.category)) }
                    div.meta {
                        span.tag.alt { (order_state_label(lang, &o.state)) }
                        @if o.emergency { span.tag.old { (lang.pick("紧急", "Urgent")) } }
                        (level_tag(lang, o.supervision_level))
                        (countdown(&st, &settings.calendar, lang, o))
                    }
                    div.sub { (o.compound_name) " · " (o.description.chars().take(40).collect::<String>()) }
                }
            } }
            (pager(lang, base, list.page, list.has_more, list.total, list.per_page))
        },
    ))
}

#[derive(Deserialize)]
pub struct NewOrderQuery {
    #[serde(default, deserialize_with = "registry::empty_as_none")]
    compound: Option<i64>,
    /// The building whose rooms the room picker lists.
    #[serde(default, deserialize_with = "registry::empty_as_none")]
    building: Option<i64>,
}

/// The new-order form: owners on their phones, and staff taking a phone call or a walk-in
/// (channel and the caller's name and number). A room picker narrows by building first, so a
/// compound of thousands of rooms never loads them all; photos go with the form.
async fn order_form(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<NewOrderQuery>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let compound = match q.compound {
        Some(id) => registry::get_compound(&st.db, id).await.or_page(lang)?,
        None => None,
    };
    let Some(d) = compound else {
        return Err(PageError(
            lang,
            AppError::invalid(
                "compound",
                "open your compound's page and choose “报修/投诉” / 请从小区页面进入“报修/投诉”",
            ),
        ));
    };
    let staff = ctx.actor.role != Some(wuye_model::Role::Owner);
    let rooms = match q.building.filter(|b| d.buildings.iter().any(|x| x.id == *b)) {
        Some(b) => {
            let rf = registry::RoomFilter {
                compound: Some(d.compound.id),
                building: Some(b),
            };
            registry::list_rooms(&st.db, &Default::default(), &rf, &Page::new(1, 500))
                .await
                .or_page(lang)?
                .items
        }
        None => Vec::new(),
    };
    // A fresh key per form: pressing "submit" twice files one order.
    let key = auth::random_token().map_err(AppError::from).or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("报修 / 投诉", "Report a problem"),
        "/orders",
        html! {
            p.muted { (d.compound.name) }
            @if !d.buildings.is_empty() {
                form.inline.rooms method="get" action="/orders/new" {
                    input type="hidden" name="compound" value=(d.compound.id);
                    label { (lang.pick("楼栋", "Building")) " "
                        select name="building" {
                            option value="" { (lang.pick("公共区域 / 不选房屋", "Common area / no room")) }
                            @for b in &d.buildings { option value=(b.id) selected[Some(b.id) == q.building] { (b.name) } }
                        }
                    }
                    button type="submit" { (lang.pick("列出房屋", "List rooms")) }
                }
            }
            form.import.order method="post" action="/orders" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                input type="hidden" name="key" value=(key);
                input type="hidden" name="compound_id" value=(d.compound.id);
                @if !rooms.is_empty() {
                    label { (lang.pick("房屋", "Room")) " "
                        select name="room_id" {
                            option value="" { (lang.pick("不选房屋", "No room")) }
                            @for r in &rooms { option value=(r.id) { (r.building) "-" (r.entrance) "-" (r.number) } }
                        }
                    }
                }
                label { (lang.pick("类别", "Category")) " "
                    select name="category" { @for c in crate::orders::CATEGORIES { option value=(c.0) { (lang.pick(c.1, c.2)) } } }
                }
                label { (lang.pick("位置（楼栋、单元或公共区域）", "Where (building, entrance or common area)")) " " input type="text" name="place" maxlength="100"; }
                label { (lang.pick("问题描述", "What is wrong")) " " textarea name="description" rows="4" maxlength="2000" required {} }
                label { (lang.pick("照片（可选，最多 9 张，每张不超过 10 MB）", "Photos (optional, nine at most, 10 MB each)")) " "
                    input type="file" name="photo" accept="image/jpeg,image/png,image/webp" multiple; }
                @if staff {
                    fieldset.staff {
                        legend { (lang.pick("代为登记（电话或来访）", "Taken on behalf of a caller")) }
                        label { (lang.pick("渠道", "Channel")) " "
                            select name="channel" {
                                option value="phone" { (lang.pick("电话", "Phone")) }
                                option value="walk_in" { (lang.pick("来访", "Walk-in")) }
                            }
                        }
                        label { (lang.pick("来电/来访人", "Caller's name")) " " input type="text" name="reporter_name" maxlength="50"; }
                        label { (lang.pick("联系电话", "Caller's phone")) " " input type="tel" name="reporter_phone" maxlength="20"; }
                    }
                }
                label { input type="checkbox" name="emergency" value="true"; " " (lang.pick("紧急（如困人、漏水、火情请先拨打 110/119/120）", "Urgent (for entrapment, flooding or fire call 110/119/120 first)")) }
                button type="submit" { (lang.pick("提交", "Submit")) }
            }
        },
    ))
}

/// A multipart form checked for the session's CSRF token before anything else (a form that
/// is not multipart at all is refused the same way): its fields and its files.
pub(super) async fn csrf_multipart(
    ctx: &Ctx,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(std::collections::HashMap<String, String>, Vec<Vec<u8>>), PageError> {
    let Ok(form) = form else {
        ctx.check_csrf("")?;
        return Err(AppError::bad(
            "invalid_form",
            "the form is incomplete",
            "表单内容不完整",
        ))
        .or_page(ctx.lang);
    };
    let (f, files) = read_multipart(ctx.lang, form).await?;
    ctx.check_csrf(f.get("csrf").map(String::as_str).unwrap_or("").trim())?;
    Ok((f, files))
}

/// Reads a multipart form into its text fields and its files named `photo` (the new-order
/// form, the photo upload and the claim form share it).
pub(super) async fn read_multipart(
    lang: Lang,
    mut form: Multipart,
) -> Result<(std::collections::HashMap<String, String>, Vec<Vec<u8>>), PageError> {
    let mut fields = std::collections::HashMap::new();
    let mut files = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| {
            AppError::bad(
                "invalid_form",
                format!("unreadable upload: {e}"),
                "上传内容无法读取",
            )
        })
        .or_page(lang)?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() || name == "photo" {
            let b = field
                .bytes()
                .await
                .map_err(|e| AppError::bad("invalid_form", format!("unreadable file: {e}"), "文件无法读取"))
                .or_page(lang)?;
            if !b.is_empty() {
                files.push(b.to_vec());
            }
        } else {
            let text = field.text().await.unwrap_or_default();
            fields.insert(name, text);
        }
    }
    Ok((fields, files))
}

async fn order_submit(State(st): State<AppState>, ctx: Ctx, form: Multipart) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let (f, photos) = read_multipart(lang, form).await?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    if photos.len() as i64 > crate::orders::MAX_PHOTOS {
        return Err(PageError(
            lang,
            AppError::invalid("photo", "nine photos at most / 最多 9 张照片"),
        ));
    }
    let staff = ctx.actor.role != Some(wuye_model::Role::Owner);
    let compound_id = get("compound_id")
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("compound_id", "choose a compound / 请选择小区"))
        .or_page(lang)?;
    let room_id = match get("room_id").trim() {
        "" => None,
        r => Some(
            r.parse()
                .map_err(|_| AppError::invalid("room_id", "choose a room from the list / 请从列表中选择房屋"))
                .or_page(lang)?,
        ),
    };
    let new = crate::orders::NewOrder {
        compound_id,
        room_id,
        place: get("place"),
        category: get("category"),
        description: get("description"),
        channel: staff.then(|| get("channel")).filter(|c| !c.is_empty()),
        emergency: f.contains_key("emergency"),
        reporter_name: get("reporter_name"),
        reporter_phone: get("reporter_phone"),
    };
    // Photos are checked before the order is filed, so a bad file files nothing.
    for p in &photos {
        crate::media::clean_photo(p)
            .map_err(|e| AppError::invalid("photo", &e.to_string()))
            .or_page(lang)?;
    }
    let key = get("key");
    let key = (!key.is_empty()).then_some(key.as_str());
    let settings = st.settings().await;
    let (id, created) = crate::orders::submit_grouped(
        &st.db,
        &st.orders,
        &ctx.actor,
        &new,
        key,
        &settings,
        st.clock.now(),
    )
    .await
    .map_err(AppError::from)
    .or_page(lang)?;
    if created {
        for p in &photos {
            crate::orders::add_photo(&st.db, &st.files, &ctx.actor, id, p, st.clock.now())
                .await
                .map_err(AppError::from)
                .or_page(lang)?;
        }
    }
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

/// The steps offered on an order page: those the caller may take and the state allows.
fn offered(actor: &Actor, o: &crate::orders::Order) -> Vec<&'static str> {
    use wuye_model::{Action, OrderFacts, OrderState, Satisfaction, SlaPolicy, step};
    let Ok(state) = OrderState::parse(&o.state) else {
        return Vec::new();
    };
    let facts = OrderFacts {
        state,
        extensions_used: o.extensions_used as u32,
        rehandles: o.rehandles as u32,
    };
    let r = "x".to_owned();
    [
        ("sign", Action::Sign),
        ("dispatch", Action::Dispatch),
        ("start", Action::Start),
        ("reply", Action::Reply),
        (
            "extend",
            Action::Extend {
                days: 1,
                reason: r.clone(),
            },
        ),
        ("return", Action::Return { reason: r.clone() }),
        ("decline", Action::Decline { reason: r.clone() }),
        ("review", Action::Review { approved: true }),
        (
            "rate",
            Action::Rate {
                satisfaction: Satisfaction::Satisfied,
            },
        ),
        (
            "return_visit",
            Action::ReturnVisit {
                outcome: wuye_model::VisitOutcome::Solved,
            },
        ),
        ("merge", Action::Merge { into: 0 }),
        ("close", Action::Close),
        ("cancel", Action::Cancel { reason: r }),
    ]
    .into_iter()
    .filter(|(_, a)| crate::orders::may(actor, o, a) && step(facts, a, &SlaPolicy::default()).is_ok())
    .map(|(n, _)| n)
    .collect()
}

fn action_label(lang: Lang, a: &str) -> &'static str {
    match a {
        "sign" => lang.pick("签收", "Sign for"),
        "dispatch" => lang.pick("派单", "Dispatch"),
        "start" => lang.pick("开始办理", "Start"),
        "reply" => lang.pick("答复", "Reply"),
        "extend" => lang.pick("申请延期", "Extend"),
        "return" => lang.pick("退回（非本单位职责）", "Return (not ours)"),
        "decline" => lang.pick("不予受理", "Decline"),
        "review" => lang.pick("审核通过", "Approve the reply"),
        "rate" => lang.pick("评价", "Rate"),
        "return_visit" => lang.pick("记录回访", "Record a return visit"),
        "merge" => lang.pick("合并为重复工单", "Merge as a duplicate"),
        "assign" => lang.pick("指派", "Assign"),
        "close" => lang.pick("办结", "Close"),
        _ => lang.pick("撤销", "Cancel"),
    }
}

async fn order_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let (o, timeline) = crate::orders::get(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let mut actions = offered(&ctx.actor, &o);
    let settings = st.settings().await;
    let photos = crate::orders::photo_count(&st.db, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    // Only the handling side and regulators need the duplicate hints.
    let dups = if ctx.actor.role == Some(wuye_model::Role::Owner) {
        Vec::new()
    } else {
        crate::orders::duplicates(&st.db, &ctx.actor, id)
            .await
            .map_err(AppError::from)
            .or_page(lang)?
    };
    // Company administrators and regulators assign an open order to the company's staff.
    let may_assign = match ctx.actor.scope {
        auth::Scope::Company { company_id } => {
            ctx.actor.role == Some(wuye_model::Role::CompanyAdmin) && o.handler_company_id == Some(company_id)
        }
        auth::Scope::Region { .. } | auth::Scope::All => true,
        _ => false,
    };
    let open = wuye_model::OrderState::parse(&o.state).is_ok_and(|s| !s.is_final());
    let staff = if may_assign && open {
        crate::orders::assignable(&st.db, &o)
            .await
            .map_err(AppError::from)
            .or_page(lang)?
    } else {
        Vec::new()
    };
    if !staff.is_empty() {
        actions.push("assign");
    }
    let local = |t: time::OffsetDateTime| {
        t.to_offset(crate::clock::CST)
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .unwrap_or_default()
    };
    Ok(layout(
        &ctx,
        &format!("#{} {}", o.id, category_label(lang, &o.category)),
        "/orders",
        html! {
            div.meta {
                span.tag.alt { (order_state_label(lang, &o.state)) }
                @if o.emergency { span.tag.old { (lang.pick("紧急", "Urgent")) } }
                (level_tag(lang, o.supervision_level))
                (countdown(&st, &settings.calendar, lang, &o))
            }
            dl.facts {
                dt { (lang.pick("小区", "Compound")) } dd { a href={ "/compounds/" (o.compound_id) } { (o.compound_name) } }
                dt { (lang.pick("位置", "Where")) } dd { (o.place) }
                dt { (lang.pick("描述", "Description")) } dd { (o.description) }
                dt { (lang.pick("报告人", "Reporter")) } dd { (o.reporter_name) " " (o.reporter_phone) }
                dt { (lang.pick("签收时限", "Sign by")) } dd { (local(o.sign_due)) }
                dt { (lang.pick("办理时限", "Resolve by")) } dd { (local(o.handle_due)) }
                dt { (lang.pick("督办单位", "Supervised by")) } dd { (format!("{:012}", o.supervising_region_code)) }
                @if let Some(s) = &o.satisfaction { dt { (lang.pick("评价", "Rating")) } dd { (satisfaction_label(lang, s)) } }
                @if let Some(v) = o.visit_outcome.as_deref().and_then(wuye_model::VisitOutcome::parse) { dt { (lang.pick("回访", "Return visit")) } dd { (lang.pick(v.label_zh(), v.label_en())) } }
                @if let Some(into) = o.merged_into { dt { (lang.pick("已合并到", "Merged into")) } dd { a href={ "/orders/" (into) } { "#" (into) } } }
                @if let Some(r) = &o.external_ref { dt { (lang.pick("12345 工单号", "12345 ticket")) } dd { (r) } }
            }
            @if !actions.is_empty() {
                h2 { (lang.pick("办理", "Act")) }
                @for a in &actions {
                    form.import.act method="post" action={ "/orders/" (o.id) "/act" } {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="action" value=(a);
                        @match *a {
                            "reply" => { textarea name="note" rows="2" placeholder=(lang.pick("答复内容", "Your reply")) required {} }
                            "extend" => { input type="number" name="days" min="1" max="10" value="5"; input type="text" name="reason" placeholder=(lang.pick("延期理由", "Reason")) required; }
                            "return" | "decline" | "cancel" => { input type="text" name="reason" placeholder=(lang.pick("理由", "Reason")) required; }
                            "rate" => { select name="satisfaction" {
                                option value="satisfied" { (lang.pick("满意", "Satisfied")) }
                                option value="basic" { (lang.pick("基本满意", "Basically satisfied")) }
                                option value="dissatisfied" { (lang.pick("不满意（重新办理）", "Dissatisfied (handle again)")) }
                            } }
                            "return_visit" => {
                                select name="outcome" { @for v in wuye_model::VisitOutcome::ALL { option value=(v.as_str()) { (lang.pick(v.label_zh(), v.label_en())) } } }
                                input type="text" name="note" placeholder=(lang.pick("回访情况", "Notes of the visit"));
                            }
                            "merge" => {
                                input type="number" name="into" min="1" placeholder=(lang.pick("合并到工单号", "Order number to join")) value=[dups.first().map(|d| d.0.id)] required;
                            }
                            "assign" => {
                                select name="assignee" { @for (uid, name) in &staff { option value=(uid) selected[o.assignee_user_id == Some(*uid)] { (name) } } }
                            }
                            _ => {}
                        }
                        button type="submit" { (action_label(lang, a)) }
                    }
                }
            }
            @if photos > 0 {
            h2 { (lang.pick("照片", "Photos")) }
            div.photos { @for n in 1..=photos { a href={ "/api/v1/orders/" (o.id) "/photos/" (n) } { img src={ "/api/v1/orders/" (o.id) "/photos/" (n) } alt={ (lang.pick("照片 ", "Photo ")) (n) } loading="lazy"; } } }
        }
        @if photos < crate::orders::MAX_PHOTOS && !o.state.ends_with("closed") {
            form.import.photos method="post" action={ "/orders/" (o.id) "/photos" } enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                label { (lang.pick("添加照片（JPEG/PNG/WebP，每张不超过 10 MB，最多 9 张）", "Add photos (JPEG/PNG/WebP, 10 MB each, nine at most)")) " " input type="file" name="photo" accept="image/jpeg,image/png,image/webp" multiple; }
                button type="submit" { (lang.pick("上传", "Upload")) }
            }
        }
        @if !dups.is_empty() {
            h2 { (lang.pick("可能重复的工单", "Possible duplicates")) }
            ul.dups { @for (d, sim) in &dups {
                li { a href={ "/orders/" (d.id) } { "#" (d.id) } " " (d.description.chars().take(30).collect::<String>()) " · " small.muted { (lang.pick("相似度 ", "similarity ")) (sim / 10) "%" } }
            } }
        }
        h2 { (lang.pick("办理记录", "Timeline")) }
            ol.timeline { @for e in &timeline {
                li { small.muted { (local(e.at)) " · " (e.actor) } br; b { (e.action) } " → " (order_state_label(lang, &e.to_state)) @if !e.note.is_empty() { br; (e.note) } }
            } }
        },
    ))
}

async fn order_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PForm(f): PForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    let body = crate::orders::ActionBody {
        action: get("action"),
        reason: get("reason"),
        note: get("note"),
        days: get("days").parse().ok(),
        approved: Some(true),
        satisfaction: f.get("satisfaction").cloned(),
        outcome: f.get("outcome").cloned(),
        into: get("into").trim().parse().ok(),
        assignee: get("assignee").trim().parse().ok(),
    };
    let settings = st.settings().await;
    crate::orders::apply(&st.db, &ctx.actor, id, &body, &settings, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct FiguresQuery {
    month: Option<String>,
    region: Option<String>,
}

/// Monthly volume as an SVG bar chart (no script, prints well, readable on a phone).
fn volume_chart(lang: Lang, series: &[crate::orders::MonthVolume]) -> Markup {
    let max = series.iter().map(|m| m.volume).max().unwrap_or(0).max(1);
    let (w, h, gap) = (24i64, 120i64, 6i64);
    let width = series.len() as i64 * (w + gap);
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (h + 34) } role="img" aria-label=(lang.pick("每月工单量", "Orders per month")) {
            @for (i, m) in series.iter().enumerate() {
                @let bh = m.volume * h / max;
                @let x = i as i64 * (w + gap);
                rect x=(x) y=(h - bh + 14) width=(w) height=(bh) fill=(if i + 1 == series.len() { "#9f1d20" } else { "#d1d5db" }) {}
                text x=(x + w / 2) y=(h - bh + 10) font-size="9" text-anchor="middle" fill="#374151" { (m.volume) }
                text x=(x + w / 2) y=(h + 28) font-size="8" text-anchor="middle" fill="#6b7280" { (&m.month[2..]) }
            }
        }
    }
}

async fn figures_page(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<FiguresQuery>) -> PageResult {
    let lang = ctx.lang;
    let (region, month) =
        super::api::figures_scope(&st, &ctx.actor, q.region.as_deref(), q.month.as_deref()).or_page(lang)?;
    let f = crate::orders::figures(&st.db, region, month, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let pct = |v: &Option<String>| {
        v.as_deref()
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "—".into())
    };
    let rows: Vec<(&str, &str, String, &str, &str)> = vec![
        (
            "工单量",
            "Orders filed",
            f.volume.to_string(),
            "本月提交的工单数",
            "orders filed in the month (China time)",
        ),
        (
            "环比",
            "Month on month",
            pct(&f.mom_change_percent),
            "与上月相比的变化",
            "change from the month before",
        ),
        (
            "同比",
            "Year on year",
            pct(&f.yoy_change_percent),
            "与去年同月相比的变化",
            "change from the same month a year before",
        ),
        (
            "按时签收率",
            "Signed for on time",
            pct(&f.signed_on_time_percent),
            "签收时限内签收 ÷ 已签收或已过签收时限",
            "signed by the deadline ÷ signed or past the deadline",
        ),
        (
            "按时办结率",
            "Resolved on time",
            pct(&f.resolved_on_time_percent),
            "办理时限内答复 ÷ 已答复或已过办理时限",
            "replied by the deadline ÷ replied or past the deadline",
        ),
        (
            "平均答复时长（小时）",
            "Mean hours to reply",
            f.mean_hours_to_reply.clone().unwrap_or_else(|| "—".into()),
            "提交到首次答复",
            "from filing to the first reply",
        ),
        (
            "90% 答复时长（小时）",
            "90th percentile hours",
            f.p90_hours_to_reply.clone().unwrap_or_else(|| "—".into()),
            "九成工单在此时长内答复",
            "nine in ten replied within",
        ),
        (
            "满意率",
            "Satisfaction",
            pct(&f.satisfaction_percent),
            "（满意 + 基本满意）÷ 已评价",
            "(satisfied + basically satisfied) ÷ rated",
        ),
        (
            "满意占比",
            "Satisfied only",
            pct(&f.satisfied_only_percent),
            "满意 ÷ 已评价",
            "satisfied ÷ rated",
        ),
        (
            "未评价",
            "Not rated",
            f.not_rated.to_string(),
            "不计入满意率分母",
            "kept out of the satisfaction denominators",
        ),
        (
            "重办率",
            "Reopened",
            pct(&f.reopen_percent),
            "因不满意重办过的 ÷ 已答复",
            "reopened at least once ÷ replied",
        ),
    ];
    Ok(layout(
        &ctx,
        lang.pick("工单统计", "Work-order figures"),
        "/figures",
        html! {
            form.filters method="get" action="/figures" {
                input type="month" name="month" value=(f.month);
                input type="text" name="region" inputmode="numeric" value=[f.region.as_deref()] placeholder=(lang.pick("区划代码", "Division code"));
                button type="submit" { (lang.pick("查看", "Show")) }
            }
            h2 { (lang.pick("近 13 个月工单量", "Orders, last 13 months")) }
            (volume_chart(lang, &f.series))
            table.list.figures {
                thead { tr { th { (lang.pick("指标", "Figure")) } th.num { (f.month) } th { (lang.pick("定义", "Definition")) } } }
                tbody {
                    @for (zh, en, v, dzh, den) in &rows { tr { td { (lang.pick(zh, en)) } td.num { (v) } td { small.muted { (lang.pick(dzh, den)) } } } }
                    tr { td { (lang.pick("督办（一/二/三级）", "Escalated (levels 1/2/3)")) } td.num { (f.escalated_by_level[0]) " / " (f.escalated_by_level[1]) " / " (f.escalated_by_level[2]) } td { small.muted { (lang.pick("督办等级达到该级的工单", "orders whose supervision reached the level")) } } }
                }
            }
        },
    ))
}

async fn order_photos_upload(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let (fields, photos) = read_multipart(lang, form).await?;
    let csrf = fields.get("csrf").cloned().unwrap_or_default();
    ctx.check_csrf(&csrf)?;
    crate::orders::get(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    for p in &photos {
        crate::orders::add_photo(&st.db, &st.files, &ctx.actor, id, p, st.clock.now())
            .await
            .map_err(AppError::from)
            .or_page(lang)?;
    }
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// 12345 import, notifications, city settings

async fn orders_import(State(st): State<AppState>, ctx: Ctx, mut form: Multipart) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| {
            AppError::bad(
                "invalid_form",
                format!("unreadable upload: {e}"),
                "上传内容无法读取",
            )
        })
        .or_page(lang)?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let b = field
                    .bytes()
                    .await
                    .map_err(|e| {
                        AppError::bad("invalid_form", format!("unreadable file: {e}"), "文件无法读取")
                    })
                    .or_page(lang)?;
                file = Some((name, b.to_vec()));
            }
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let Some((name, bytes)) = file else {
        return Err(PageError(
            lang,
            AppError::invalid("file", "choose a file / 请选择文件"),
        ));
    };
    let settings = st.settings().await;
    let r = crate::io::hotline::import(&st.db, &ctx.actor, &name, &bytes, &settings, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(layout(
        &ctx,
        lang.pick("导入 12345 热线工单", "12345 hotline import"),
        "/orders",
        html! {
            @if r.status == "applied" {
                p.ok { (lang.pick("已导入：新建 ", "Imported: ")) (r.created) (lang.pick(" 件，此前已导入 ", " new, ")) (r.already) (lang.pick(" 件。", " imported before.")) }
            } @else {
                p.error { (lang.pick("文件未导入，请修改以下问题后重试：", "Nothing was imported; fix these and try again:")) }
                table.errors {
                    tr { th { (lang.pick("行", "Row")) } th { (lang.pick("列", "Column")) } th { (lang.pick("值", "Value")) } th { (lang.pick("问题", "Problem")) } }
                    @for e in &r.errors { tr { td { (e.row) } td { (e.column) } td { (e.value) } td { (lang.pick(&e.reason_zh, &e.reason_en)) } } }
                }
            }
            p { a href="/orders" { (lang.pick("返回工单", "Back to orders")) } }
        },
    ))
}

async fn notifications_page(State(st): State<AppState>, ctx: Ctx, PQ(page): PQ<Page>) -> PageResult {
    let lang = ctx.lang;
    let list = crate::notify::list(&st.db, &ctx.actor, &page)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let unread = list.items.iter().filter(|n| !n.read).count();
    Ok(layout(
        &ctx,
        lang.pick("通知", "Notifications"),
        "/notifications",
        html! {
            @if unread > 0 {
                form.inline method="post" action="/notifications/read" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    button type="submit" { (lang.pick("全部标为已读", "Mark all read")) }
                }
            }
            @if list.items.is_empty() { p.muted { (lang.pick("暂无通知", "Nothing yet")) } }
            ul.cards.notices { @for n in &list.items {
                li.card.unread[!n.read] {
                    @if let Some(o) = n.order_id { a.title href={ "/orders/" (o) } { (lang.pick(&n.text_zh, &n.text_en)) } }
                    @else { span.title { (lang.pick(&n.text_zh, &n.text_en)) } }
                    div.sub { small.muted { (n.created_at.to_offset(crate::clock::CST).format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]")).unwrap_or_default()) } }
                }
            } }
            (pager(lang, "/notifications", list.page, list.has_more, list.total, list.per_page))
        },
    ))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

async fn notifications_read(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<CsrfOnly>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    crate::notify::mark_read(&st.db, &ctx.actor, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn settings_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_admin(false)
        .map_err(AppError::from)
        .or_page(lang)?;
    st.settings
        .reload(&st.db)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let s = st.settings().await;
    let rows = super::api::sla_rows(&s);
    let this_year = st.clock.now().to_offset(crate::clock::CST).year();
    let years: Vec<i32> = s.calendar.known_years().collect();
    let label = |c: &str| {
        if c == crate::settings::CITY_DEFAULT {
            lang.pick("全市默认", "City default").to_owned()
        } else {
            category_label(lang, c)
        }
    };
    Ok(layout(
        &ctx,
        lang.pick("城市设置", "City settings"),
        "/settings",
        html! {
            h2 { (lang.pick("工单时限（工作日）", "Work-order time limits (working days)")) }
            p.muted { (lang.pick("默认值依据 DOMAIN.md R4.2：签收 1 日、办理 5 日、延期一次不超过 10 日、退回 2 日；超时未评价 7 日后自动办结（记为未评价）。修改后本机立即生效，其他实例一分钟内生效。",
                "Defaults per DOMAIN.md R4.2: sign 1, handle 5, one extension of at most 10, return 2; unrated orders close after 7 (as not rated). Takes effect here at once and on other instances within a minute.")) }
            div.scroll { table.sla {
                tr { th { (lang.pick("类别", "Category")) } th { (lang.pick("签收", "Sign")) } th { (lang.pick("办理", "Handle")) } th { (lang.pick("延期上限", "Max ext.")) } th { (lang.pick("延期次数", "Ext.")) } th { (lang.pick("退回", "Return")) } th { (lang.pick("评价", "Rate")) } th { (lang.pick("紧急", "Urgent")) } th {} }
                @for r in &rows {
                    tr.overridden[r.overridden] {
                        form method="post" action="/settings/sla" {
                            td { (label(&r.category)) input type="hidden" name="category" value=(r.category); input type="hidden" name="csrf" value=(ctx.csrf()); }
                            td { input type="number" name="sign_days" min="1" max="60" value=(r.policy.sign_days); }
                            td { input type="number" name="handle_days" min="1" max="60" value=(r.policy.handle_days); }
                            td { input type="number" name="max_extension_days" min="0" max="60" value=(r.policy.max_extension_days); }
                            td { input type="number" name="max_extensions" min="0" max="5" value=(r.policy.max_extensions); }
                            td { input type="number" name="return_days" min="1" max="60" value=(r.policy.return_days); }
                            td { input type="number" name="rate_days" min="1" max="60" value=(r.policy.rate_days); }
                            td { input type="checkbox" name="emergency" value="true" checked[r.policy.emergency]; }
                            td { button type="submit" { (lang.pick("保存", "Save")) } }
                        }
                    }
                }
            } }
            h2 { (lang.pick("业主共同决定的期限（日）", "Owners' decisions: durations (days)")) }
            form.import.decision-days method="post" action="/settings/decisions" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                label { (lang.pick("名册公示", "Roll check")) " " input type="number" name="roll_check" min="1" max="90" value=(s.decision_days.roll_check); }
                label { (lang.pick("结果异议期", "Objections to the result")) " " input type="number" name="objection" min="1" max="90" value=(s.decision_days.objection); }
                label { (lang.pick("结果公告展示", "Result notice shown")) " " input type="number" name="result_shown" min="1" max="90" value=(s.decision_days.result_shown); }
                label { (lang.pick("参与不足时投票期最多延长", "A vote short of turnout may be extended by up to")) " " input type="number" name="extension" min="0" max="366" value=(s.decision_days.extension); }
                button type="submit" { (lang.pick("保存", "Save")) }
            }
            h2 { (lang.pick("考核与督查", "Assessment and inspections")) }
            form.import.assessment-settings method="post" action="/settings/assessment" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                label { (lang.pick("每月末位数", "Bottom places each month")) " " input type="number" name="bottom_n" min="0" max="50" value=(s.assessment.bottom_n); br;
                    small.muted { (lang.pick("每个范围内每月排名末位、予以处理的项目数（0 至 50；0 为不处理末位）。", "Projects per pool taking a bottom place each month and acted on (0 to 50; 0: none).")) } }
                label { (lang.pick("末位排名范围", "Pool of bottom places")) " "
                    select name="bottom_scope" {
                        option value="district" selected[!s.assessment.bottom_scope_street] { (lang.pick("区（县）", "District")) }
                        option value="street" selected[s.assessment.bottom_scope_street] { (lang.pick("街道（乡镇）", "Street")) }
                    } br;
                    small.muted { (lang.pick("末位在全区内还是在每个街道内确定。", "Whether bottom places are taken across a district or within each street.")) } }
                label { (lang.pick("末位最短在管比例（%）", "Minimum tenure for a bottom place (%)")) " " input type="number" name="bottom_min_tenure_percent" min="0" max="100" value=(s.assessment.bottom_min_tenure_percent); br;
                    small.muted { (lang.pick("合同覆盖当月不足此比例的项目参与排名，但不列为末位（0 至 100）。", "A project whose contract covered less of the month is ranked but never takes a bottom place (0 to 100).")) } }
                label { (lang.pick("结算等待（日）", "Days before a period closes")) " " input type="number" name="settle_days" min="0" max="60" value=(s.assessment.settle_days); br;
                    small.muted { (lang.pick("考核期结束后满此天数方可正式结算，不得少于评价宽限（0 至 60）。", "Days after a period's end before it may be closed; at least the rating grace (0 to 60).")) } }
                label { (lang.pick("评价宽限（日）", "Rating grace (days)")) " " input type="number" name="rating_grace_days" min="0" max="31" value=(s.assessment.rating_grace_days); br;
                    small.muted { (lang.pick("评价期结束后仍可提交或修改评价的天数（0 至 31）。", "Days after a rating period's end during which ratings may still be given or changed (0 to 31).")) } }
                label { (lang.pick("整改期限（工作日）", "Rectification notice (working days)")) " " input type="number" name="notice_days" min="1" max="60" value=(s.assessment.notice_days); br;
                    small.muted { (lang.pick("整改通知默认给予的工作日数（1 至 60）。", "Working days a rectification notice gives by default (1 to 60).")) } }
                label { (lang.pick("逐级督办间隔（工作日）", "Escalation interval (working days)")) " " input type="number" name="escalate_days" min="1" max="30" value=(s.assessment.escalate_days); br;
                    small.muted { (lang.pick("整改逾期后，每过此工作日数升级一级督办：街道、区、市（1 至 30）。", "Working days between the supervision levels of an overdue notice: street, district, city (1 to 30).")) } }
                button type="submit" { (lang.pick("保存", "Save")) }
            }
            h2 { (lang.pick("工作日历", "Working-day calendar")) }
            p { (lang.pick("已有节假日安排的年份：", "Years with a holiday arrangement: ")) @for y in &years { span.tag { (y) } " " } }
            @if !years.contains(&(this_year + 1)) {
                p.warn { (lang.pick("尚无 ", "No arrangement for ")) (this_year + 1) (lang.pick(" 年的节假日安排：该年按周一至周五计算工作日。国务院办公厅通知发布后请在下方添加。",
                    " yet: that year counts Monday to Friday as working days. Add it below when the State Council notice comes out.")) }
            }
            form.import method="post" action="/settings/calendar" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                label { (lang.pick("每行一天：日期,off（放假）或 work（调休上班）,名称", "One day per line: date,off (holiday) or work (make-up working day),name")) " "
                    textarea name="days" rows="6" placeholder="2027-01-01,off,元旦" required {} }
                button type="submit" { (lang.pick("添加", "Add")) }
            }
            details { summary { (this_year) (lang.pick(" 年已列出的日期", ": listed days")) }
                ul { @for (d, k, n) in s.calendar.listed().filter(|(d, _, _)| d.year() == this_year) {
                    li { (d) " " (if k == wuye_model::DayKind::Off { lang.pick("放假", "off") } else { lang.pick("调休上班", "working") }) " " (n) }
                } }
            }
        },
    ))
}

/// A whole number of days from a settings form, or an error naming the field.
fn form_days(f: &std::collections::HashMap<String, String>, k: &str, lang: Lang) -> Result<u32, PageError> {
    f.get(k)
        .map(|v| v.trim())
        .unwrap_or("")
        .parse()
        .map_err(|_| AppError::invalid(k, "enter a whole number of days / 请填写整数天数"))
        .or_page(lang)
}

async fn settings_sla(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    let num = |k: &str| form_days(&f, k, lang);
    let p = crate::settings::CategoryPolicy {
        sign_days: num("sign_days")?,
        handle_days: num("handle_days")?,
        max_extension_days: num("max_extension_days")?,
        max_extensions: num("max_extensions")?,
        return_days: num("return_days")?,
        rate_days: num("rate_days")?,
        emergency: f.contains_key("emergency"),
    };
    crate::settings::set_policy(&st.db, &ctx.actor, &get("category"), &p, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    st.settings
        .reload(&st.db)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Deserialize)]
pub struct CalendarForm {
    csrf: String,
    days: String,
}

async fn settings_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<CalendarForm>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.check_csrf(&f.csrf)?;
    crate::settings::add_calendar_days(&st.db, &ctx.actor, &f.days, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    st.settings
        .reload(&st.db)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to("/settings").into_response())
}

// ---------------------------------------------------------------------------------------------
// Owners' decisions

fn decision_state_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "notice" => lang.pick("公告中", "Notice"),
        "voting" => lang.pick("投票中", "Voting"),
        "closed" => lang.pick(
            "已结束（初步结果，异议期）",
            "Closed (preliminary, objections open)",
        ),
        "published" => lang.pick("结果已公告", "Result published"),
        _ => lang.pick("已取消", "Cancelled"),
    }
}

fn matters_label(lang: Lang, matters: &str) -> String {
    matters
        .split(',')
        .filter_map(|m| wuye_model::Matter::parse(m).ok())
        .map(|m| m.label(lang).to_owned())
        .collect::<Vec<_>>()
        .join("；")
}

#[derive(Deserialize)]
pub struct DecisionsQuery {
    #[serde(default, deserialize_with = "registry::empty_as_none")]
    compound: Option<i64>,
}

async fn decisions_page(
    State(st): State<AppState>,
    ctx: Ctx,
    PQ(q): PQ<DecisionsQuery>,
    PQ(page): PQ<Page>,
) -> PageResult {
    let lang = ctx.lang;
    let f = crate::decisions::DecisionFilter { compound: q.compound };
    let list = crate::decisions::list(&st.db, &ctx.actor, &f, &page)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let figures = if ctx.actor.require_regulator().is_ok() {
        crate::decisions::figures(&st.db, &ctx.actor).await.ok()
    } else {
        None
    };
    let organiser = match q.compound {
        Some(c) => crate::decisions::organises(&st.db, &ctx.actor, c)
            .await
            .then_some(c),
        None => match ctx.actor.scope {
            auth::Scope::Compound { compound_id }
                if ctx.actor.role == Some(wuye_model::Role::CommitteeMember) =>
            {
                Some(compound_id)
            }
            _ => None,
        },
    };
    Ok(layout(
        &ctx,
        lang.pick("业主共同决定", "Owners' decisions"),
        "/decisions",
        html! {
            @if let Some(f) = &figures {
                p.figure { (f.compounds) (lang.pick(" 个小区在线作出 ", " compounds made ")) (f.decisions) (lang.pick(" 项业主共同决定", " owners' decisions online")) }
                @if !f.by_outcome.is_empty() {
                    table.list { tr { th { (lang.pick("类别", "Class")) } th { (lang.pick("结果", "Outcome")) } th { (lang.pick("数量", "Count")) } }
                        @for (c, o, n) in &f.by_outcome { tr { td { (c) } td { (o) } td.num { (n) } } } }
                }
            }
            @if let Some(c) = organiser { p { a.button href={ "/decisions/new?compound=" (c) } { (lang.pick("发起表决", "Give notice of a vote")) } } }
            @if list.items.is_empty() { p.muted { (lang.pick("暂无表决", "No decisions yet")) } }
            ul.cards.decisions { @for d in &list.items {
                li.card {
                    a.title href={ "/decisions/" (d.id) } { (d.title) }
                    div.meta { span.tag.alt { (decision_state_label(lang, &d.state)) } " " (d.compound_name) " · " (d.voting_opens) " — " (d.voting_closes) }
                }
            } }
            (pager(lang, "/decisions", list.page, list.has_more, list.total, list.per_page))
        },
    ))
}

async fn decision_form(State(st): State<AppState>, ctx: Ctx, PQ(q): PQ<DecisionsQuery>) -> PageResult {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let Some(compound) = q.compound else {
        return Err(PageError(
            lang,
            AppError::invalid("compound", "choose a compound / 请选择小区"),
        ));
    };
    if !crate::decisions::organises(&st.db, &ctx.actor, compound).await {
        return Err(PageError(lang, AppError::from(auth::Denied::Role)));
    }
    let today = st.clock.now().to_offset(crate::clock::CST).date();
    let opens = wuye_model::earliest_voting_day(today).unwrap_or(today);
    let closes = opens.checked_add(time::Duration::days(14)).unwrap_or(opens);
    Ok(layout(
        &ctx,
        lang.pick("发起表决", "Give notice of a vote"),
        "/decisions",
        html! {
            p.muted { (lang.pick("公告之日起满 15 日后方可开始投票（最早 ", "Voting can open 15 full days after the notice (from ")) (opens) (lang.pick("）。", ").")) }
            form.import.decision method="post" action="/decisions" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                input type="hidden" name="compound_id" value=(compound);
                label { (lang.pick("标题", "Title")) " " input type="text" name="title" maxlength="200" required; }
                label { (lang.pick("议案全文", "Full text")) " " textarea name="body" rows="4" {} }
                fieldset { legend { (lang.pick("表决事项（同一议案不得混合一般事项与特别事项）", "Matters (do not mix ordinary and special)")) }
                    @for m in wuye_model::Matter::ALL {
                        label.check { input type="checkbox" name="matters" value=(m.as_str()); " " (m.label(lang)) }
                    }
                }
                label { (lang.pick("表决议题（每行一个；空则以标题为议题）", "Questions (one per line; the title when empty)")) " " textarea name="questions" rows="3" {} }
                fieldset.item { legend { (lang.pick("选举（可选，须勾选“选举业主委员会”事项）", "Election (optional; needs the matter “elect the committee”)")) }
                    label { (lang.pick("选举名称", "Title")) " " input type="text" name="election_title" maxlength="200"; }
                    label { (lang.pick("席位数", "Seats")) " " input type="number" name="election_seats" min="1" max="40"; }
                    label { (lang.pick("候选人（每行一人）", "Candidates (one per line)")) " " textarea name="election_candidates" rows="3" {} }
                }
                fieldset.item { legend { (lang.pick("选聘物业服务企业（可选，须勾选“选聘和解聘物业服务企业”事项）", "Firm selection (optional; needs the matter “select or dismiss the company”)")) }
                    label { (lang.pick("选聘名称", "Title")) " " input type="text" name="selection_title" maxlength="200"; }
                    label { (lang.pick("投标企业（每行一家）", "Bidders (one per line)")) " " textarea name="selection_bidders" rows="3" {} }
                }
                label { (lang.pick("形式", "Form")) " " select name="form" {
                    option value="meeting" { (lang.pick("线上会议", "Online meeting")) }
                    option value="written" { (lang.pick("书面征求意见", "Written solicitation")) }
                } }
                label.check { input type="checkbox" name="secret" value="true"; " " (lang.pick("不记名投票", "Secret ballot")) }
                label.check { input type="checkbox" name="silent_clause" value="true"; " " (lang.pick("管理规约约定：已送达未表决视为同意多数意见（另行计算，仅供参考）", "Our rules count delivered-but-silent owners with the majority (computed separately)")) }
                label { (lang.pick("投票截止日", "Last day of voting")) " " input type="date" name="voting_closes" value=(closes) required; }
                button type="submit" { (lang.pick("发布公告", "Publish the notice")) }
            }
        },
    ))
}

async fn decision_create(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    ctx.check_csrf(&get("csrf"))?;
    let closes = crate::io::table::parse_date(&get("voting_closes"))
        .ok_or_else(|| {
            AppError::invalid(
                "voting_closes",
                "choose the last day of voting / 请选择投票截止日",
            )
        })
        .or_page(lang)?;
    let new = crate::decisions::NewDecision {
        compound_id: get("compound_id")
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("compound_id", "choose a compound / 请选择小区"))
            .or_page(lang)?,
        title: get("title"),
        body: get("body"),
        matters: f
            .iter()
            .filter(|(n, _)| n == "matters")
            .map(|(_, v)| v.clone())
            .collect(),
        questions: get("questions").lines().map(str::to_owned).collect(),
        elections: if get("election_title").trim().is_empty() {
            Vec::new()
        } else {
            vec![crate::decisions::NewElection {
                title: get("election_title"),
                seats: get("election_seats")
                    .trim()
                    .parse()
                    .map_err(|_| {
                        AppError::invalid("election_seats", "give the number of seats / 请填写席位数")
                    })
                    .or_page(lang)?,
                candidates: get("election_candidates").lines().map(str::to_owned).collect(),
            }]
        },
        selections: if get("selection_title").trim().is_empty() {
            Vec::new()
        } else {
            vec![crate::decisions::NewSelection {
                title: get("selection_title"),
                bidders: get("selection_bidders").lines().map(str::to_owned).collect(),
            }]
        },
        form: get("form"),
        secret: !get("secret").is_empty(),
        silent_clause: !get("silent_clause").is_empty(),
        voting_closes: closes,
    };
    let id = crate::decisions::create(&st.db, &ctx.actor, &new, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/decisions/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct DecisionQuery {
    #[serde(default)]
    receipt: Option<String>,
    #[serde(default)]
    check: Option<String>,
}

fn tally_rows(lang: Lang, t: &serde_json::Value) -> Markup {
    let g = |k: &str| {
        t.get(k)
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            .unwrap_or_default()
    };
    let pct = |part: &str, whole: &str| {
        let p = |x: &str| wuye_model::Area::parse(x).map(|a| a.hundredths()).ok();
        match (p(part), p(whole)) {
            (Some(a), Some(b)) => wuye_model::percent(a, b)
                .map(|v| format!("{v}%"))
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    let hp = |part: &str, whole: &str| match (part.parse::<i64>(), whole.parse::<i64>()) {
        (Ok(a), Ok(b)) => wuye_model::percent(a, b)
            .map(|v| format!("{v}%"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let (pa, ph) = (g("participating_area"), g("participating_heads"));
    html! {
        table.list.tally {
            tr { th {} th { (lang.pick("专有面积（㎡）", "Area (m²)")) } th { (lang.pick("人数", "Heads")) } }
            tr { td { (lang.pick("总计", "Total")) } td.num { (g("total_area")) } td.num { (g("total_heads")) } }
            tr { td { (lang.pick("参与表决", "Took part")) } td.num { (pa) " " small.muted { (pct(&pa, &g("total_area"))) } } td.num { (ph) " " small.muted { (hp(&ph, &g("total_heads"))) } } }
            @for (k, zh, en) in [("yes", "同意", "Yes"), ("no", "反对", "No"), ("abstain", "弃权", "Abstain")] {
                @let (a, h) = (g(&format!("{k}_area")), g(&format!("{k}_heads")));
                tr { td { (lang.pick(zh, en)) } td.num { (a) " " small.muted { (pct(&a, &pa)) } } td.num { (h) " " small.muted { (hp(&h, &ph)) } } }
            }
        }
        p.reason { b { (match g("outcome").as_str() { "passed" => lang.pick("通过", "Passed"), "rejected" => lang.pick("未通过", "Rejected"), _ => lang.pick("参与表决未达法定比例", "Quorum not met") }) } "：" (lang.pick(&g("reason"), &g("reason_en"))) }
    }
}

async fn decision_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    PQ(q): PQ<DecisionQuery>,
) -> PageResult {
    let lang = ctx.lang;
    let d = crate::decisions::find(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let columns = crate::decisions::ballot(&st.db, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let documents = crate::decisions::documents(&st.db, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let organiser = crate::decisions::organises(&st.db, &ctx.actor, d.compound_id).await;
    let turnout = if d.state == "notice" {
        None
    } else {
        Some(
            crate::decisions::turnout(&st.db, id)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
        )
    };
    let voting = d.state == "voting";
    let (rooms, pending) = if organiser && voting {
        (
            crate::decisions::roll_rooms(&st.db, id)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
            crate::decisions::pending_paper(&st.db, id)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let checked = match q.check.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(
            crate::decisions::check_receipt(&st.db, &ctx.actor, id, c)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
        ),
        None => None,
    };
    let result = crate::decisions::result(&d);
    let owner = matches!(ctx.actor.scope, auth::Scope::Owner { .. });
    let days = st.settings().await.decision_days;
    let check_until = (d.notice_at + time::Duration::days(i64::from(days.roll_check)))
        .to_offset(crate::clock::CST)
        .date();
    let (preview, objections) = if d.state == "notice" {
        (
            crate::decisions::roll_preview(&st.db, id)
                .await
                .map_err(AppError::from)
                .or_page(lang)?,
            if organiser {
                crate::decisions::objections(&st.db, id)
                    .await
                    .map_err(AppError::from)
                    .or_page(lang)?
            } else {
                Vec::new()
            },
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let act = |action: &'static str, label: &'static str| {
        html! {
            form.inline.act method="post" action={ "/decisions/" (id) "/act" } enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(ctx.csrf());
                input type="hidden" name="action" value=(action);
                button type="submit" { (label) }
            }
        }
    };
    // The ballot, item by item: a proposal and each candidate take yes / no / abstain
    // (`q<position>`); a selection is one pick among its bidders (`s<item>`).
    let items: Vec<Vec<&crate::decisions::BallotColumn>> = columns
        .chunk_by(|a, b| a.item == b.item)
        .map(|c| c.iter().collect())
        .collect();
    let three = |c: &crate::decisions::BallotColumn| {
        html! {
            @for (v, zh, en) in [("yes", "同意", "Yes"), ("no", "反对", "No"), ("abstain", "弃权", "Abstain")] {
                label.check { input type="radio" name={ "q" (c.position) } value=(v) required; " " (lang.pick(zh, en)) }
            }
        }
    };
    let answers = || {
        html! {
            @for cols in &items {
                @if let Some(first) = cols.first() {
                    @match first.kind.as_str() {
                        "candidate" => {
                            fieldset.question.election { legend { (first.item) ". " (first.item_title) " " small.muted { (lang.pick(&format!("（{} 席，最多同意 {} 人）", first.seats, first.seats), &format!("({} seats; yes to {} at most)", first.seats, first.seats))) } }
                                @for c in cols { div.candidate { span.name { (c.text) } " " (three(c)) } }
                            }
                        }
                        "bidder" => {
                            fieldset.question.selection { legend { (first.item) ". " (first.item_title) " " small.muted { (lang.pick("（选择一家）", "(pick one)")) } }
                                @for c in cols { label.check { input type="radio" name={ "s" (c.item) } value=(c.position) required; " " (c.text) } }
                                label.check { input type="radio" name={ "s" (first.item) } value=""; " " (lang.pick("弃权", "Abstain")) }
                            }
                        }
                        _ => {
                            fieldset.question { legend { (first.item) ". " (first.text) } (three(first)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(
        &ctx,
        &d.title,
        "/decisions",
        html! {
            div.meta { span.tag.alt { (decision_state_label(lang, &d.state)) } " " (d.compound_name) }
            dl.facts {
                dt { (lang.pick("表决事项", "Matters")) } dd { (matters_label(lang, &d.matters)) " · " (if d.class == "special" { lang.pick("特别事项（双四分之三）", "special (¾ and ¾)") } else { lang.pick("一般事项（双过半）", "ordinary (majority of both)") }) }
                dt { (lang.pick("投票期", "Voting")) } dd { (d.voting_opens) " — " (d.voting_closes) }
                dt { (lang.pick("方式", "Ballot")) } dd { (if d.mode == "secret" { lang.pick("不记名", "secret") } else { lang.pick("记名", "open") }) " · " (if d.form == "written" { lang.pick("书面征求意见", "written solicitation") } else { lang.pick("线上会议", "online meeting") }) }
            }
            @if !d.body.is_empty() { p.body { (d.body) } }
            @if !documents.is_empty() || (organiser && d.state == "notice") {
                h2 { (lang.pick("表决文件", "Documents")) }
                ul.documents { @for doc in &documents { li { a href=(doc.url) { (doc.name) } " " small.muted { (if doc.content_type == "application/pdf" { "PDF" } else { lang.pick("图片", "image") }) } } } }
                @if organiser && d.state == "notice" {
                    form.import.document method="post" action={ "/decisions/" (id) "/documents" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        label { (lang.pick("文件名称", "Name")) " " input type="text" name="name" required maxlength="200"; }
                        label { (lang.pick("文件（PDF 或图片，20 MB 以内）", "File (PDF or image, up to 20 MB)")) " " input type="file" name="file" required accept="application/pdf,image/jpeg,image/png,image/webp"; }
                        button type="submit" { (lang.pick("上传", "Upload")) }
                    }
                }
            }
            @if let Some(r) = &q.receipt { p.ok.receipt { (lang.pick("已投票。您的回执：", "Your ballot is in. Receipt: ")) code { (r) } } }
            @if let Some(t) = &turnout {
                h2 { (lang.pick("参与情况", "Turnout")) }
                p.turnout { (lang.pick("已投票 ", "Voted: ")) (t.voted_heads) " / " (t.total_heads) (lang.pick(" 人，", " heads, ")) (t.voted_area) " / " (t.total_area) " ㎡"
                    @if let (Some(h), Some(a)) = (&t.heads_percent, &t.area_percent) { " (" (h) "%, " (a) "%)" } }
                @if organiser && !t.by_building.is_empty() {
                    table.list { tr { th { (lang.pick("楼栋", "Building")) } th { (lang.pick("已投票/应投票", "Voted / on roll")) } }
                        @for (b, v, n) in &t.by_building { tr { td { (b) } td.num { (v) " / " (n) } } } }
                }
                @if voting { p.muted { (lang.pick("投票结束前，任何人（包括监管部门）都看不到赞成与反对的分布。", "Until the close nobody, regulators included, can see how the vote splits.")) } }
            }
            h2 { (lang.pick("议题", "Questions")) }
            ol.items { @for cols in &items { @if let Some(first) = cols.first() {
                @if first.kind == "proposal" { li { (first.text) } } @else {
                    li { (first.item_title) " " small.muted { (if first.kind == "bidder" { lang.pick("选聘：", "selection: ").to_owned() } else { lang.pick(&format!("选举 {} 席：", first.seats), &format!("election of {}: ", first.seats)).to_owned() }) }
                        (cols.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("、")) }
                }
            } } }
            @if !preview.is_empty() {
                h2 { (lang.pick("名册公示（至 ", "Voter roll, open for checking (until ")) (check_until) (lang.pick("）", ")")) }
                details.roll { summary { (preview.len()) (lang.pick(" 套房屋", " rooms")) }
                    table.list { tr { th { (lang.pick("房屋", "Room")) } th { (lang.pick("专有面积", "Area")) } th { (lang.pick("登记业主", "Owners")) } }
                        @for (room, area, who) in &preview { tr { td { (room) } td.num { (area) } td { (if who == "developer" { lang.pick("开发建设单位", "developer").to_owned() } else { who.clone() }) } } } }
                }
                @if owner {
                    form.import.object method="post" action={ "/decisions/" (id) "/act" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="action" value="object";
                        label { (lang.pick("对名册有异议（房屋、面积或业主有误）", "Object to the roll (a room, area or owner is wrong)")) " " textarea name="text" rows="2" maxlength="1000" required {} }
                        button type="submit" { (lang.pick("提交异议", "Object")) }
                    }
                }
                @if !objections.is_empty() {
                    h3 { (lang.pick("名册异议", "Objections to the roll")) }
                    ul.objections { @for (at, who, text) in &objections { li { small.muted { (at.to_offset(crate::clock::CST).date()) " " (who) } " " (text) } } }
                }
            }
            @if owner && voting {
                h2 { (lang.pick("投票", "Vote")) }
                form.import.vote method="post" action={ "/decisions/" (id) "/act" } enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(ctx.csrf());
                    input type="hidden" name="action" value="vote";
                    (answers())
                    button type="submit" { (lang.pick("提交选票（截止前可修改，以最后一次为准）", "Cast (you may change it until the close; the last counts)")) }
                }
            }
            @if organiser {
                h2 { (lang.pick("组织", "Organise")) }
                @if d.state == "notice" { (act("open", lang.pick("开始投票（冻结名册）", "Open voting (freeze the roll)"))) }
                @if voting {
                    form.import.paper method="post" action={ "/decisions/" (id) "/act" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="action" value="paper";
                        label { (lang.pick("纸质选票：房屋", "Paper ballot: room")) " " select name="room_id" { @for (rid, label) in &rooms { option value=(rid) { (label) } } } }
                        (answers())
                        label { (lang.pick("选票扫描件", "Scan of the ballot")) " " input type="file" name="scan" accept="image/jpeg,image/png,image/webp"; }
                        button type="submit" { (lang.pick("录入（需另一人复核）", "Enter (a second person confirms)")) }
                    }
                    @if !pending.is_empty() {
                        h3 { (lang.pick("待复核的纸质选票", "Paper ballots to confirm")) }
                        ul.pending { @for (key, by) in &pending {
                            li { (lang.pick("表决主体 ", "Subject ")) code { (key) } " · " (lang.pick("录入人 ", "entered by ")) (by) " "
                                form.inline.confirm method="post" action={ "/decisions/" (id) "/act" } enctype="multipart/form-data" {
                                    input type="hidden" name="csrf" value=(ctx.csrf());
                                    input type="hidden" name="action" value="confirm";
                                    input type="hidden" name="subject" value=(key);
                                    button type="submit" { (lang.pick("复核无误", "Confirm")) }
                                }
                            }
                        } }
                    }
                    form.inline.act.extend method="post" action={ "/decisions/" (id) "/act" } enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(ctx.csrf());
                        input type="hidden" name="action" value="extend";
                        label { (lang.pick("参与不足时延长投票期至", "Short of turnout: extend voting to")) " " input type="date" name="voting_closes" required; }
                        button type="submit" { (lang.pick("延长", "Extend")) }
                    }
                    (act("close", lang.pick("结束投票并计票", "Close voting and count")))
                }
                @if d.state == "closed" { (act("publish", lang.pick("异议期满，公告最终结果", "Publish the final result"))) }
            }
            @if let Some(r) = &result {
                h2 { (if r.status == "final" { lang.pick("表决结果公告", "Result") } else { lang.pick("初步结果（异议期内）", "Preliminary result (objections open)") }) }
                @for it in &r.items {
                    section.item-result {
                        h3 { (it.item) ". " (it.title) }
                        p.outcome { strong { (if it.chosen.is_empty() { lang.pick("无人当选 / 未选定", "None chosen").to_owned() } else { it.chosen.join("、") }) } }
                        p.reason { (it.reason) }
                    }
                }
                @for (i, qr) in r.questions.iter().enumerate() {
                    @let col = columns.get(i);
                    h3 { @if let Some(c) = col.filter(|c| c.kind != "proposal") { (c.item) ". " (c.item_title) " · " } (qr.question) }
                    section.statutory { h4 { (lang.pick("法定结果（仅计实际参与表决者，民法典第二百七十八条）", "Statutory result (actual participants only, Civil Code Art. 278)")) } (tally_rows(lang, &qr.statutory)) }
                    @if let Some(rb) = &qr.rules_based {
                        section.rules-based { h4 { (lang.pick("按管理规约“未表决视为同意多数”计算（另列，不替代法定结果）", "Under the rules' silent-owner clause (shown beside, never instead)")) } (tally_rows(lang, rb)) }
                    }
                }
                p.head { (lang.pick("投票记录链头哈希：", "Ballot log head: ")) code { (r.head_hash) } }
                p { a href={ "/decisions/" (id) "/export" } { (lang.pick("下载公开投票记录（可用 wuye verify 校验）", "Download the public ballot log (check it with wuye verify)")) } }
            }
            h2 { (lang.pick("核对回执", "Check a receipt")) }
            form.inline.check method="get" action={ "/decisions/" (id) } {
                input type="text" name="check" placeholder=(lang.pick("回执（64 位）", "Receipt (64 hex)")) maxlength="64";
                button type="submit" { (lang.pick("核对", "Check")) }
            }
            @if let Some(c) = &checked {
                @match c { Some(found) => { p.ok.found { (found) } } None => { p.error { (lang.pick("未找到该回执", "Receipt not found")) } } }
            }
        },
    ))
}

async fn decision_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let (f, files) = read_multipart(lang, form).await?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    let now = st.clock.now();
    let columns = crate::decisions::ballot(&st.db, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let answers = crate::decisions::answers_from_form(&columns, get);
    let mut to = format!("/decisions/{id}");
    let r: Result<(), crate::decisions::DecisionError> = match get("action").as_str() {
        "open" => crate::decisions::open(&st.db, &ctx.actor, id, now).await,
        "vote" => crate::decisions::cast(&st.db, &ctx.actor, id, &answers, now)
            .await
            .map(|r| {
                if let Some((_, h)) = r.first() {
                    to = format!("/decisions/{id}?receipt={h}");
                }
            }),
        "paper" => {
            let scan = match files.first() {
                Some(b) => {
                    let (ct, clean) = crate::media::clean_photo(b)
                        .map_err(|e| AppError::invalid("scan", &e.to_string()))
                        .or_page(lang)?;
                    Some(
                        st.files
                            .put(&clean, ct, now)
                            .await
                            .map_err(|e| AppError::Internal(e.to_string()))
                            .or_page(lang)?,
                    )
                }
                None => None,
            };
            let room = get("room_id")
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("room_id", "choose a room / 请选择房屋"))
                .or_page(lang)?;
            crate::decisions::enter_paper(&st.db, &ctx.actor, id, room, &answers, scan.as_deref(), now)
                .await
                .map(|_| ())
        }
        "confirm" => crate::decisions::confirm_paper(&st.db, &ctx.actor, id, &get("subject"), now).await,
        "object" => {
            let days = st.settings().await.decision_days;
            crate::decisions::object(&st.db, &ctx.actor, id, &get("text"), &days, now).await
        }
        "extend" => match crate::io::table::parse_date(&get("voting_closes")) {
            Some(closes) => {
                let days = st.settings().await.decision_days;
                crate::decisions::extend(&st.db, &ctx.actor, id, closes, &days, now).await
            }
            None => Err(crate::decisions::DecisionError::Invalid(
                "choose the new last day of voting / 请选择新的投票截止日".into(),
            )),
        },
        "close" => crate::decisions::close(&st.db, &ctx.actor, id, &st.settings().await.decision_days, now)
            .await
            .map(|_| ()),
        "publish" => {
            crate::decisions::publish(&st.db, &ctx.actor, id, &st.settings().await.decision_days, now).await
        }
        _ => Err(crate::decisions::DecisionError::Invalid(
            "unknown action / 未知操作".into(),
        )),
    };
    r.map_err(AppError::from).or_page(lang)?;
    Ok(Redirect::to(&to).into_response())
}

async fn decision_document_upload(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    ctx.actor
        .require_signed_in()
        .map_err(AppError::from)
        .or_page(lang)?;
    let (fields, files) = read_multipart(lang, form).await?;
    ctx.check_csrf(&fields.get("csrf").cloned().unwrap_or_default())?;
    let Some(bytes) = files.first() else {
        return Err(AppError::invalid("file", "choose a file / 请选择文件")).or_page(lang);
    };
    let name = fields.get("name").cloned().unwrap_or_default();
    crate::decisions::add_document(&st.db, &st.files, &ctx.actor, id, &name, bytes, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/decisions/{id}")).into_response())
}

async fn decision_export_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let text = crate::decisions::export(&st.db, &ctx.actor, id)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(resp)
}

async fn settings_decisions(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    let num = |k: &str| form_days(&f, k, lang);
    let d = crate::settings::DecisionDays {
        roll_check: num("roll_check")?,
        objection: num("objection")?,
        result_shown: num("result_shown")?,
        extension: num("extension")?,
    };
    crate::settings::set_decision_days(&st.db, &ctx.actor, &d, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    st.settings
        .reload(&st.db)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to("/settings").into_response())
}

async fn settings_assessment(
    State(st): State<AppState>,
    ctx: Ctx,
    PForm(f): PForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    ctx.check_csrf(&get("csrf"))?;
    let num = |k: &str| form_days(&f, k, lang);
    let bottom_scope_street = match get("bottom_scope").as_str() {
        "district" => false,
        "street" => true,
        _ => {
            return Err(PageError(
                lang,
                AppError::invalid(
                    "bottom_scope",
                    "choose the district or the street / 请选择区或街道",
                ),
            ));
        }
    };
    let a = crate::settings::AssessmentSettings {
        bottom_n: num("bottom_n")?,
        bottom_scope_street,
        bottom_min_tenure_percent: num("bottom_min_tenure_percent")?,
        settle_days: num("settle_days")?,
        rating_grace_days: num("rating_grace_days")?,
        notice_days: num("notice_days")?,
        escalate_days: num("escalate_days")?,
    };
    crate::settings::set_assessment(&st.db, &ctx.actor, &a, st.clock.now())
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    st.settings
        .reload(&st.db)
        .await
        .map_err(AppError::from)
        .or_page(lang)?;
    Ok(Redirect::to("/settings").into_response())
}
