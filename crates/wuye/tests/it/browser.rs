//! End to end in a real headless Chromium (driven through chromedriver): a person opens the
//! compound list of the demo city, filters it, and opens a compound.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use wuye::clock::Clock;
use wuye::files::{FileBackend, FileStore};

use crate::support::{Engine, TestDb};

fn find_exe(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Chromium and chromedriver, or a loud skip (a failure when WUYE_REQUIRE_BROWSER=1).
pub fn browser() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let found = (
        find_exe(&["chromium", "chromium-browser", "google-chrome"]),
        find_exe(&["chromedriver"]),
    );
    match found {
        (Some(b), Some(d)) => Some((b, d)),
        _ => {
            if std::env::var("WUYE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!(
                    "WUYE_REQUIRE_BROWSER=1 but chromium or chromedriver is not installed (apt-get install -y chromium chromium-driver)"
                );
            }
            eprintln!("\n!!! SKIPPING browser test: install chromium and chromium-driver to run it !!!\n");
            None
        }
    }
}

pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_driver(driver: &std::path::Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, url }
}

pub async fn client(driver: &Driver, binary: &std::path::Path) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": binary.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-quic", "--no-first-run", "--disable-sync", "--window-size=390,900", "--lang=zh-CN"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("connect to chromedriver")
}

pub async fn serve(t: &TestDb, demo: bool) -> String {
    serve_with_clock(t, demo, Clock::System).await
}

pub async fn serve_with_clock(t: &TestDb, demo: bool, clock: Clock) -> String {
    let files = FileStore::new(t.db.clone(), FileBackend::Folder(t.data_dir().join("files")));
    let app = wuye::http::app(t.db.clone(), files, clock, demo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = wuye::http::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// The text of the first element matching `css`, waiting for it to appear.
pub async fn text(c: &fantoccini::Client, css: &str) -> String {
    // A page may be replaced while we read it: retry stale reads for a while.
    for _ in 0..50 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e.text().await.unwrap(),
        Err(e) => {
            let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let source = c.source().await.unwrap_or_default();
            panic!(
                "{css}: {e}\nat {url}\n{}",
                source.chars().take(3000).collect::<String>()
            )
        }
    }
}

/// Waits until the address bar's path and query contain `part` (after a click).
pub async fn wait_url(c: &fantoccini::Client, part: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().as_str().contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached a URL containing {part}");
}

/// Waits until the browser's path is exactly `path`: a form's redirect has landed, not just
/// a page whose query happens to name the target (`/login?next=/orders`).
pub async fn wait_path(c: &fantoccini::Client, path: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = c.current_url().await.unwrap();
    panic!("the browser never reached the path {path}; it is at {now}");
}

fn shot_path(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_browses_the_demo_city() {
    let Some((binary, driver)) = browser() else { return };
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    let summary = wuye::demo::generate(
        &t.db,
        wuye::demo::Scale::DISTRICT,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let base = serve(&t, true).await;
    let driver = start_driver(&driver).await;
    let c = client(&driver, &binary).await;

    // The compound list in Chinese, the default.
    c.goto(&format!("{base}/lang?to=zh-CN")).await.unwrap();
    c.goto(&format!("{base}/compounds")).await.unwrap();
    assert_eq!(text(&c, "main h1").await, "小区");
    assert_eq!(
        text(&c, "p.count").await,
        format!("共 {} 个小区", summary.compounds)
    );
    let cards = c.find_all(Locator::Css("li.card")).await.unwrap();
    assert_eq!(cards.len(), 50, "one page of 50 compounds");
    std::fs::write(shot_path("compounds.png"), c.screenshot().await.unwrap()).unwrap();

    // Filter to market-managed compounds with the form, as a person would.
    let select = c.find(Locator::Css("select[name=mode]")).await.unwrap();
    select.select_by_value("market").await.unwrap();
    c.find(Locator::Css("form.filters button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(&c, "mode=market").await;
    let count = text(&c, "p.count").await;
    let n: usize = count
        .trim_start_matches("共 ")
        .trim_end_matches(" 个小区")
        .parse()
        .unwrap();
    assert!(n > 0 && n < summary.compounds, "{count}");
    for tag in c
        .find_all(Locator::Css("li.card .tag:first-child"))
        .await
        .unwrap()
    {
        assert_eq!(tag.text().await.unwrap(), "市场化物业");
    }

    // Open the first compound.
    let first = c.find(Locator::Css("li.card a.title")).await.unwrap();
    let name = first.text().await.unwrap();
    let href = first.attr("href").await.unwrap().unwrap();
    first.click().await.unwrap();
    wait_url(&c, &href).await;
    assert_eq!(text(&c, "main h1").await, name);
    let facts = text(&c, "dl.facts").await;
    for want in ["小区编码", "市场化物业", "物业服务企业", "房屋", "业主"] {
        assert!(facts.contains(want), "compound facts lack {want}: {facts}");
    }
    assert!(text(&c, "nav.crumbs").await.contains("潍坊市"));
    let buildings = c.find_all(Locator::Css("main table.list")).await.unwrap();
    assert!(!buildings.is_empty());
    std::fs::write(shot_path("compound.png"), c.screenshot().await.unwrap()).unwrap();

    // Switch to English and back on the same page.
    c.find(Locator::Css("a.lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if text(&c, "dl.facts").await.contains("Management mode") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text(&c, "dl.facts").await.contains("Management mode"));
    c.close().await.unwrap();
}

async fn fill(c: &fantoccini::Client, css: &str, value: &str) {
    let e = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.send_keys(value).await.unwrap();
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_street_officer_and_an_owner_sign_in() {
    let Some((binary, driver)) = browser() else { return };
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    crate::support::seed(&t.db).await;
    let now = time::OffsetDateTime::now_utc();
    let new = wuye::auth::NewUser {
        login: "street1".into(),
        display_name: "王街道".into(),
        role: wuye_model::Role::StreetOfficer,
        scope: "370705001".into(),
        password: crate::http::PASSWORD.into(),
        phone: String::new(),
    };
    wuye::auth::create_user(&t.db, &new, &wuye::auth::Actor::cli(), now)
        .await
        .unwrap();
    let base = serve(&t, false).await;
    let driver = start_driver(&driver).await;
    let c = client(&driver, &binary).await;
    c.goto(&format!("{base}/lang?to=zh-CN")).await.unwrap();

    // A street officer with a password.
    c.goto(&format!("{base}/login?next=/account")).await.unwrap();
    fill(&c, "form.import input[name=login]", "street1").await;
    fill(&c, "form.import input[name=password]", crate::http::PASSWORD).await;
    click(&c, "form.import button").await;
    wait_path(&c, "/account").await;
    let facts = text(&c, "dl.facts").await;
    assert!(
        facts.contains("街道工作人员") && facts.contains("370705001000"),
        "{facts}"
    );
    assert!(text(&c, "header.top").await.contains("王街道"));
    std::fs::write(shot_path("account-street.png"), c.screenshot().await.unwrap()).unwrap();
    click(&c, "header.top form button").await;
    wait_path(&c, "/").await;
    assert!(text(&c, "header.top").await.contains("登录"));

    // An owner with a one-time code, read from the outbox.
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(&c, "form.owner input[name=phone]", "13800138000").await;
    click(&c, "form.owner button").await;
    wait_text(&c, "p.ok", "验证码已发送").await;
    let code = crate::owners::last_code(&t.db, "13800138000").await;
    fill(&c, "input[name=code]", &code).await;
    click(&c, "form.import button").await;
    wait_path(&c, "/account").await;
    let facts = text(&c, "dl.facts").await;
    assert!(facts.contains("业主") && facts.contains("138****8000"), "{facts}");
    std::fs::write(shot_path("account-owner.png"), c.screenshot().await.unwrap()).unwrap();
    c.close().await.unwrap();
}

async fn staff_sign_in(c: &fantoccini::Client, base: &str, login: &str) {
    c.goto(&format!("{base}/login?next=/orders")).await.unwrap();
    fill(c, "form.import input[name=login]", login).await;
    fill(c, "form.import input[name=password]", crate::http::PASSWORD).await;
    click(c, "form.import button").await;
    wait_path(c, "/orders").await;
}

async fn sign_out(c: &fantoccini::Client) {
    click(c, "header.top form button").await;
    wait_path(c, "/").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_goes_round_the_loop_and_a_late_one_escalates() {
    let Some((binary, driver)) = browser() else { return };
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    crate::support::seed(&t.db).await;
    let start = time::macros::datetime!(2026-11-16 10:00 +8);
    let clock = Clock::fixed(start);
    for (login, role, scope) in [
        ("anju", wuye_model::Role::CompanyAdmin, "91350100M000100Y43"),
        ("street", wuye_model::Role::StreetOfficer, "370705001"),
    ] {
        let new = wuye::auth::NewUser {
            login: login.into(),
            display_name: login.into(),
            role,
            scope: scope.into(),
            password: crate::http::PASSWORD.into(),
            phone: String::new(),
        };
        wuye::auth::create_user(
            &t.db,
            &new,
            &wuye::auth::Actor::cli(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }
    let base = serve_with_clock(&t, false, clock.clone()).await;
    let driver = start_driver(&driver).await;
    let c = client(&driver, &binary).await;
    c.goto(&format!("{base}/lang?to=zh-CN")).await.unwrap();
    let xq1 = {
        let q = wuye::registry::CompoundFilter {
            q: Some("XQ1".into()),
            ..Default::default()
        }
        .check()
        .unwrap();
        wuye::registry::list_compounds(&t.db, &q, &wuye::registry::Page::new(1, 1))
            .await
            .unwrap()
            .items[0]
            .id
    };

    // A real (1×1) PNG on disk, as a phone's camera roll would hand it to the file input.
    const PNG: [u8; 70] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
        0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50, 0x0f, 0x00, 0x03,
        0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42,
        0x60, 0x82,
    ];
    let photo = t.dir.path().join("lamp.png");
    std::fs::write(&photo, PNG).unwrap();
    let photo = photo.to_string_lossy().into_owned();

    // The owner signs in with a code and files two orders from the compound page, the first
    // with a photo.
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(&c, "form.owner input[name=phone]", "13800138000").await;
    click(&c, "form.owner button").await;
    // Read the outbox only once the new code has been sent (the page says so).
    wait_text(&c, "p.ok", "验证码已发送").await;
    let code = crate::owners::last_code(&t.db, "13800138000").await;
    fill(&c, "input[name=code]", &code).await;
    click(&c, "form.import button").await;
    wait_path(&c, "/account").await;
    for text in ["楼道灯不亮，晚上看不见路", "单元门禁坏了三天"] {
        c.goto(&format!("{base}/compounds/{xq1}")).await.unwrap();
        click(&c, "a.button").await;
        wait_path(&c, "/orders/new").await;
        fill(&c, "textarea[name=description]", text).await;
        if text.starts_with("楼道灯") {
            fill(&c, "form.order input[name=photo]", &photo).await;
        }
        click(&c, "form.order button[type=submit]").await;
        for _ in 0..100 {
            if !c.current_url().await.unwrap().as_str().contains("/new") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(text_of(&c, "dl.facts").await.contains(text));
    }
    let mut orders: Vec<i64> = {
        let list = wuye::orders::list(
            &t.db,
            &wuye::auth::Actor::cli(),
            &Default::default(),
            &wuye::registry::Page::new(1, 10),
        )
        .await
        .unwrap();
        list.items.iter().map(|o| o.id).collect()
    };
    orders.sort();
    let (first, second) = (orders[0], orders[1]);
    sign_out(&c).await;

    // The company signs for the first, dispatches, starts and replies.
    staff_sign_in(&c, &base, "anju").await;
    assert!(
        text_of(&c, "ul.orders").await.contains("剩余 6 个工作日"),
        "the inbox shows the SLA countdown (today and 5 more)"
    );
    c.goto(&format!("{base}/orders/{first}")).await.unwrap();
    for (action, after) in [("sign", "已签收"), ("dispatch", "已派单"), ("start", "办理中")] {
        click(&c, &format!("form.act input[value={action}] ~ button")).await;
        wait_text(&c, "div.meta", after).await;
    }
    // The company's reply carries a photo of the new lamp.
    fill(&c, "form.photos input[name=photo]", &photo).await;
    click(&c, "form.photos button").await;
    for _ in 0..100 {
        if c.find_all(Locator::Css("div.photos img")).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let loaded = c
        .execute(
            "return Array.from(document.querySelectorAll('div.photos img')).filter(i => i.complete && i.naturalWidth > 0).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        loaded,
        serde_json::json!(2),
        "the owner's photo and the company's both show"
    );
    fill(&c, "form.act textarea[name=note]", "已更换灯泡").await;
    click(&c, "form.act input[value=reply] ~ button").await;
    wait_text(&c, "div.meta", "已答复").await;
    assert!(text_of(&c, "ol.timeline").await.contains("已更换灯泡"));
    sign_out(&c).await;

    // The street officer approves the reply; then the owner rates it.
    staff_sign_in(&c, &base, "street").await;
    c.goto(&format!("{base}/orders/{first}")).await.unwrap();
    click(&c, "form.act input[value=review] ~ button").await;
    wait_text(&c, "div.meta", "已审核").await;
    sign_out(&c).await;
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(&c, "form.owner input[name=phone]", "13800138000").await;
    clock.advance(61);
    click(&c, "form.owner button").await;
    // Read the outbox only once the new code has been sent (the page says so).
    wait_text(&c, "p.ok", "验证码已发送").await;
    let code = crate::owners::last_code(&t.db, "13800138000").await;
    fill(&c, "input[name=code]", &code).await;
    click(&c, "form.import button").await;
    wait_path(&c, "/account").await;
    c.goto(&format!("{base}/orders/{first}")).await.unwrap();
    c.find(Locator::Css("form.act select[name=satisfaction]"))
        .await
        .unwrap()
        .select_by_value("satisfied")
        .await
        .unwrap();
    click(&c, "form.act input[value=rate] ~ button").await;
    wait_text(&c, "div.meta", "已评价").await;
    assert!(text_of(&c, "div.meta").await.contains("已评价"));
    std::fs::write(shot_path("order.png"), c.screenshot().await.unwrap()).unwrap();
    sign_out(&c).await;

    // Nobody answers the second: after its deadline the sweep escalates it, and the street
    // officer sees it under supervision.
    clock.advance(9 * 24 * 3600);
    let swept = wuye::orders::sweep(&t.db, &wuye::settings::Settings::shipped(), clock.now())
        .await
        .unwrap();
    assert_eq!(swept, 1);
    staff_sign_in(&c, &base, "street").await;
    c.goto(&format!("{base}/orders?escalated=true")).await.unwrap();
    let list = text_of(&c, "ul.orders").await;
    assert!(
        list.contains(&format!("#{second}")) && list.contains("日常督办") && list.contains("超期"),
        "{list}"
    );
    assert!(!list.contains(&format!("#{first} ")), "{list}");
    std::fs::write(shot_path("escalated.png"), c.screenshot().await.unwrap()).unwrap();
    c.close().await.unwrap();
}

async fn text_of(c: &fantoccini::Client, css: &str) -> String {
    text(c, css).await
}

/// Waits until the element's text contains `want` (after a form posts and the page reloads).
async fn wait_text(c: &fantoccini::Client, css: &str, want: &str) {
    for _ in 0..100 {
        if text(c, css).await.contains(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {want:?}: {}", text(c, css).await);
}

async fn owner_sign_in(c: &fantoccini::Client, t: &TestDb, base: &str, phone: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "form.owner input[name=phone]", phone).await;
    click(c, "form.owner button").await;
    wait_text(c, "p.ok", "验证码已发送").await;
    let code = crate::owners::last_code(&t.db, phone).await;
    fill(c, "input[name=code]", &code).await;
    click(c, "form.import button").await;
    wait_path(c, "/account").await;
}

async fn vote(c: &fantoccini::Client, base: &str, id: i64, choice: &str) -> String {
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    for q in [1, 2] {
        click(c, &format!("form.vote input[name=q{q}][value={choice}]")).await;
    }
    click(c, "form.vote button[type=submit]").await;
    wait_text(c, "p.receipt", "回执").await;
    text(c, "p.receipt code").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_from_notice_to_a_checked_receipt() {
    let Some((binary, driver)) = browser() else { return };
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    crate::support::seed(&t.db).await;
    let clock = Clock::fixed(time::macros::datetime!(2026-11-02 10:00 +8));
    for login in ["committee1", "committee2"] {
        crate::http::token_for(&t, login, wuye_model::Role::CommitteeMember, "XQ1").await;
    }
    let now = clock.now();
    crate::decisions::verified_owner(&t, "13800138000", "370705199001011234", now).await;
    crate::decisions::verified_owner(&t, "13800138001", "370705199102021235", now).await;
    let xq1 = crate::decisions::xq1(&t).await;
    let base = serve_with_clock(&t, false, clock.clone()).await;
    let driver = start_driver(&driver).await;
    let c = client(&driver, &binary).await;
    c.goto(&format!("{base}/lang?to=zh-CN")).await.unwrap();

    // The committee gives notice of a vote from the compound's decisions page.
    staff_sign_in(&c, &base, "committee1").await;
    c.goto(&format!("{base}/decisions?compound={xq1}")).await.unwrap();
    click(&c, "a.button").await;
    wait_path(&c, "/decisions/new").await;
    fill(&c, "input[name=title]", "修改管理规约：增设电动车充电区").await;
    click(&c, "input[name=matters][value=covenant]").await;
    fill(
        &c,
        "textarea[name=questions]",
        "修改管理规约第十二条\n在3号楼北侧增设充电区",
    )
    .await;
    click(&c, "form.decision button[type=submit]").await;
    wait_text(&c, "div.meta", "公告中").await;
    let id: i64 = c
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        text(&c, "dl.facts").await.contains("2026-11-18"),
        "voting opens on the 16th day"
    );
    // Sixteen days later it opens voting (signing in afresh: sessions last less than that).
    sign_out(&c).await;
    clock.advance(16 * 24 * 3600);
    staff_sign_in(&c, &base, "committee1").await;
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    click(&c, "form.act input[value=open] ~ button").await;
    wait_text(&c, "div.meta", "投票中").await;
    sign_out(&c).await;

    // Two owners vote online on their phones and get receipts.
    owner_sign_in(&c, &t, &base, "13800138000").await;
    let receipt = vote(&c, &base, id, "yes").await;
    assert_eq!(receipt.len(), 64, "{receipt}");
    std::fs::write(shot_path("vote.png"), c.screenshot().await.unwrap()).unwrap();
    sign_out(&c).await;
    owner_sign_in(&c, &t, &base, "13800138001").await;
    vote(&c, &base, id, "yes").await;
    sign_out(&c).await;

    // A paper ballot for the developer's room, entered by one member, confirmed by another.
    staff_sign_in(&c, &base, "committee1").await;
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    let turnout = text(&c, "p.turnout").await;
    assert!(
        turnout.contains("2 / 3"),
        "two of three subjects voted: {turnout}"
    );
    c.find(Locator::Css("form.paper select[name=room_id]"))
        .await
        .unwrap()
        .select_by_label("2号楼-3-601")
        .await
        .unwrap();
    for q in [1, 2] {
        click(&c, &format!("form.paper input[name=q{q}][value=no]")).await;
    }
    click(&c, "form.paper button[type=submit]").await;
    wait_text(&c, "ul.pending", "developer").await;
    sign_out(&c).await;
    staff_sign_in(&c, &base, "committee2").await;
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    click(&c, "form.confirm button").await;
    wait_text(&c, "p.turnout", "3 / 3").await;
    click(&c, "form.act input[value=close] ~ button").await;
    wait_text(&c, "div.meta", "已结束").await;
    assert!(text(&c, "section.statutory").await.contains("通过"));
    sign_out(&c).await;
    clock.advance(8 * 24 * 3600);
    staff_sign_in(&c, &base, "committee2").await;
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    click(&c, "form.act input[value=publish] ~ button").await;
    wait_text(&c, "div.meta", "结果已公告").await;
    std::fs::write(shot_path("decision-result.png"), c.screenshot().await.unwrap()).unwrap();
    sign_out(&c).await;

    // An owner checks their receipt against the published log.
    owner_sign_in(&c, &t, &base, "13800138000").await;
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    fill(&c, "form.check input[name=check]", &receipt).await;
    click(&c, "form.check button").await;
    wait_text(&c, "p.found", "line").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_votes_in_an_election_and_a_firm_selection_on_a_phone() {
    let Some((binary, driver)) = browser() else { return };
    let t = TestDb::new(Engine::Sqlite).await.unwrap();
    crate::support::seed(&t.db).await;
    let clock = Clock::fixed(time::macros::datetime!(2026-11-02 10:00 +8));
    let committee = crate::http::staff(&t, "committee1", wuye_model::Role::CommitteeMember, "XQ1").await;
    let now = clock.now();
    crate::decisions::verified_owner(&t, "13800138000", "370705199001011234", now).await;
    let xq1 = crate::decisions::xq1(&t).await;
    let mut new = crate::decisions::new_decision(xq1, &["elect_committee", "select_or_dismiss_company"]);
    new.title = "第二届业主委员会选举及选聘物业".into();
    new.body = "选出两名业主委员会委员，并从两家投标企业中选聘一家。".into();
    new.questions = Vec::new();
    new.elections = vec![wuye::decisions::NewElection {
        title: "第二届业主委员会委员".into(),
        seats: 2,
        candidates: vec!["王建国".into(), "刘芳".into(), "陈立新".into()],
    }];
    new.selections = vec![wuye::decisions::NewSelection {
        title: "选聘物业服务企业".into(),
        bidders: vec!["潍坊安居物业".into(), "潍坊康宁物业".into()],
    }];
    let id = wuye::decisions::create(&t.db, &committee, &new, now)
        .await
        .unwrap();
    clock.advance(16 * 24 * 3600);
    wuye::decisions::open(&t.db, &committee, id, clock.now())
        .await
        .unwrap();
    let base = serve_with_clock(&t, false, clock.clone()).await;
    let driver = start_driver(&driver).await;
    let c = client(&driver, &binary).await;
    c.goto(&format!("{base}/lang?to=zh-CN")).await.unwrap();

    // On a phone-sized window (390 px): the election says how many seats, each candidate
    // has yes / no / abstain, the selection is one pick.
    owner_sign_in(&c, &t, &base, "13800138000").await;
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    assert!(text(&c, "fieldset.election legend").await.contains("2 席"));
    assert_eq!(
        c.find_all(Locator::Css("fieldset.election div.candidate"))
            .await
            .unwrap()
            .len(),
        3
    );
    // Yes to three candidates for two seats is refused, and nothing is recorded.
    for q in [1, 2, 3] {
        click(&c, &format!("form.vote input[name=q{q}][value=yes]")).await;
    }
    click(&c, "form.vote input[name=s2][value=\"4\"]").await;
    click(&c, "form.vote button[type=submit]").await;
    wait_text(&c, "div.error-box", "2").await;
    assert_eq!(wuye::decisions::turnout(&t.db, id).await.unwrap().voted_heads, 0);
    // Two of them, and a firm: a receipt.
    c.goto(&format!("{base}/decisions/{id}")).await.unwrap();
    for (q, v) in [(1, "yes"), (2, "yes"), (3, "no")] {
        click(&c, &format!("form.vote input[name=q{q}][value={v}]")).await;
    }
    click(&c, "form.vote input[name=s2][value=\"4\"]").await;
    std::fs::write(shot_path("election-ballot.png"), c.screenshot().await.unwrap()).unwrap();
    click(&c, "form.vote button[type=submit]").await;
    wait_text(&c, "p.receipt", "回执").await;
    assert_eq!(text(&c, "p.receipt code").await.len(), 64);
    std::fs::write(shot_path("election-receipt.png"), c.screenshot().await.unwrap()).unwrap();
    assert_eq!(wuye::decisions::turnout(&t.db, id).await.unwrap().voted_heads, 2);
    c.close().await.unwrap();
}
