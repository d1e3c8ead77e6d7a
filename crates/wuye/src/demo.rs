//! The demo city: a deterministic, realistic city generated from a fixed seed.
//!
//! Real province/city/district codes of 潍坊市 (Weifang, Shandong: the city of the Kuiwen
//! scheme); streets and communities get structurally valid 9- and 12-digit codes under them
//! with plausible names. Compounds cover every management mode; rooms carry exclusive areas;
//! owners include multi-room owners, co-owners and the developer's unsold rooms; companies
//! carry valid unified social credit codes; contracts, committees and volunteer heads follow.
//! Same seed, same city: tests and benchmarks can rely on it.

use time::{Date, Month, OffsetDateTime};
use wuye_model::{ManagementMode, Uscc};

use crate::db::{Db, DbResult};
use crate::sql::{Param, insert_rows};

/// How big a city to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub districts: usize,
    pub streets_per_district: usize,
    pub communities_per_street: usize,
    pub compounds: usize,
    /// Average rooms per compound.
    pub rooms_per_compound: usize,
    pub companies: usize,
}

impl Scale {
    /// A district-sized demo: a few hundred compounds, tens of thousands of rooms.
    pub const DISTRICT: Scale = Scale {
        districts: 4,
        streets_per_district: 5,
        communities_per_street: 4,
        compounds: 320,
        rooms_per_compound: 150,
        companies: 40,
    };
    /// PRODUCT.md's large city: 10,000 compounds, about 3,000,000 rooms.
    pub const CITY: Scale = Scale {
        districts: 12,
        streets_per_district: 12,
        communities_per_street: 10,
        compounds: 10_000,
        rooms_per_compound: 300,
        companies: 420,
    };
    /// A tiny city for tests.
    pub const TINY: Scale = Scale {
        districts: 2,
        streets_per_district: 2,
        communities_per_street: 2,
        compounds: 12,
        rooms_per_compound: 40,
        companies: 4,
    };

    pub fn parse(s: &str) -> Option<Scale> {
        match s {
            "district" => Some(Self::DISTRICT),
            "city" => Some(Self::CITY),
            "tiny" => Some(Self::TINY),
            _ => None,
        }
    }
}

/// SplitMix64: tiny, fast, and stable forever (unlike a library RNG whose stream may change
/// between versions), which is what a deterministic demo needs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// Real districts and county-level cities of 潍坊市 (GB/T 2260).
const DISTRICTS: &[(u64, &str)] = &[
    (370705, "奎文区"),
    (370702, "潍城区"),
    (370703, "寒亭区"),
    (370704, "坊子区"),
    (370781, "青州市"),
    (370782, "诸城市"),
    (370783, "寿光市"),
    (370784, "安丘市"),
    (370785, "高密市"),
    (370786, "昌邑市"),
    (370724, "临朐县"),
    (370725, "昌乐县"),
];

const STREET_NAMES: &[&str] = &[
    "东关",
    "大虞",
    "梨园",
    "廿里堡",
    "潍州路",
    "北苑",
    "广文",
    "新城",
    "清池",
    "于河",
    "望留",
    "城关",
    "北关",
    "南关",
    "西关",
    "乐埠山",
    "军埠口",
    "开元",
    "固堤",
    "高里",
    "凤凰",
    "云门山",
    "王府",
    "益都",
    "密州",
    "龙都",
    "舜王",
    "圣城",
    "古城",
    "兴安",
    "朝阳",
    "醴泉",
    "密水",
    "朝阳",
    "奎聚",
    "都昌",
    "围子",
    "宝都",
    "五图",
];

const COMMUNITY_NAMES: &[&str] = &[
    "河坝巷",
    "福寿",
    "胜利",
    "和平",
    "东风",
    "健康",
    "民生",
    "永安",
    "新华",
    "文化",
    "向阳",
    "康乐",
    "友谊",
    "金宝",
    "樱园",
    "鸢飞",
    "南苑",
    "北宫",
    "清平",
    "虞河",
    "白浪河",
    "玉清",
    "钢城",
    "德润",
    "仓南",
    "青年",
    "四平",
    "幸福",
];

const COMPOUND_HEADS: &[&str] = &[
    "福寿", "东方", "金色", "阳光", "和平", "幸福", "翡翠", "锦绣", "恒信", "银座", "鸢都", "盛世", "怡园",
    "华安", "丽景", "御景", "泰华", "凤凰", "青年", "书香", "金宝", "新华", "齐鲁", "世纪", "万象", "春晓",
    "龙城", "观澜",
];
const COMPOUND_TAILS: &[&str] = &[
    "小区", "花园", "家园", "苑", "新村", "公寓", "华府", "雅居", "名城", "嘉园",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何",
    "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓",
    "许", "傅", "沈", "曾",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "霞", "平", "刚", "桂英", "建国", "建华", "玉兰", "志强", "海燕", "文", "晨", "欣", "浩", "宇",
    "佳", "子涵", "思远",
];
const COMPANY_HEADS: &[&str] = &[
    "安居", "宏达", "正和", "鲁丰", "金鸢", "恒安", "康居", "祥和", "瑞城", "中泰", "鸿运", "嘉誉", "诚信",
    "乐居", "和美", "永泰", "华润", "齐家", "宜家", "锦程", "宝通", "新元", "润德", "泰和",
];

fn person_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// An 18-character resident ID number with a valid GB 11643 check character. Unique for
/// each `serial` below 18,000,000: the birth date and the sequence number both come from it.
pub fn id_number(area: u64, serial: u64) -> String {
    let base = time::macros::date!(1950 - 01 - 01);
    let days = (serial / 1000) * 37 % 18_000;
    let birth = base
        .checked_add(time::Duration::days(days as i64))
        .unwrap_or(base);
    let body = format!(
        "{area:06}{:04}{:02}{:02}{:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        serial % 1000
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn phone(rng: &mut Rng) -> String {
    let prefix = rng.pick(&[
        "135", "136", "138", "139", "150", "152", "158", "177", "186", "188", "199",
    ]);
    format!("{prefix}{:08}", rng.range(0, 99_999_999))
}

/// What was generated.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DemoSummary {
    pub regions: usize,
    pub compounds: usize,
    pub buildings: usize,
    pub rooms: usize,
    pub owners: usize,
    pub companies: usize,
    pub contracts: usize,
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap_or(Month::January), d).unwrap_or(Date::MIN)
}

/// Writes and empties a batch of rows.
async fn flush(db: &Db, table: &str, cols: &[&str], rows: &mut Vec<Vec<Param>>) -> DbResult<()> {
    if !rows.is_empty() {
        insert_rows(db, table, cols, rows).await?;
        rows.clear();
    }
    Ok(())
}

const ROOM_COLS: &[&str] = &[
    "id",
    "compound_id",
    "building_id",
    "entrance_id",
    "number",
    "floor",
    "kind",
    "exclusive_area",
    "floor_area",
    "developer_held",
];
const OWNER_COLS: &[&str] = &["id", "kind", "name", "id_number", "phone", "created_at"];
const LINK_COLS: &[&str] = &["room_id", "owner_id", "share_bp"];

/// Generates the city into an empty database. Deterministic for a given scale.
pub async fn generate(db: &Db, scale: Scale, now: OffsetDateTime) -> DbResult<DemoSummary> {
    let now = crate::clock::db_time(now);
    let mut rng = Rng::new(0x57_55_59_45); // "WUYE"
    let mut sum = DemoSummary::default();

    // Regions: province, city, districts, streets, communities.
    let mut regions: Vec<Vec<Param>> = vec![
        vec![
            Param::I64(370_000_000_000),
            Param::Text("山东省".into()),
            Param::Text("province".into()),
            Param::OptI64(None),
        ],
        vec![
            Param::I64(370_700_000_000),
            Param::Text("潍坊市".into()),
            Param::Text("city".into()),
            Param::OptI64(Some(370_000_000_000)),
        ],
    ];
    let mut communities: Vec<(i64, u64)> = Vec::new(); // (code, district code)
    for (di, (dcode, dname)) in DISTRICTS.iter().take(scale.districts).enumerate() {
        let d = (*dcode * 1_000_000) as i64;
        regions.push(vec![
            Param::I64(d),
            Param::Text((*dname).into()),
            Param::Text("district".into()),
            Param::OptI64(Some(370_700_000_000)),
        ]);
        for si in 0..scale.streets_per_district {
            let s = d + (si as i64 + 1) * 1000;
            let sname = STREET_NAMES[(di * 7 + si) % STREET_NAMES.len()];
            let sname = if si >= STREET_NAMES.len() {
                format!("{sname}{si}街道")
            } else {
                format!("{sname}街道")
            };
            regions.push(vec![
                Param::I64(s),
                Param::Text(sname),
                Param::Text("street".into()),
                Param::OptI64(Some(d)),
            ]);
            for ci in 0..scale.communities_per_street {
                let c = s + ci as i64 + 1;
                let cname = format!(
                    "{}社区居委会",
                    COMMUNITY_NAMES[(di * 31 + si * 7 + ci) % COMMUNITY_NAMES.len()]
                );
                regions.push(vec![
                    Param::I64(c),
                    Param::Text(cname),
                    Param::Text("community".into()),
                    Param::OptI64(Some(s)),
                ]);
                communities.push((c, *dcode));
            }
        }
    }
    sum.regions = regions.len();
    for r in &mut regions {
        r.push(Param::Text("demo".into()));
    }
    insert_rows(
        db,
        "regions",
        &["code", "name", "level", "parent_code", "dataset"],
        &regions,
    )
    .await?;

    // Companies with valid credit codes, registered in the city's districts.
    let mut companies = Vec::new();
    for i in 0..scale.companies {
        let (dcode, _) = DISTRICTS[i % scale.districts.max(1)];
        let org: String = (0..9)
            .map(|_| char::from(b"0123456789ABCDEFGHJKLMNPQRTUWXY"[rng.range(0, 30) as usize]))
            .collect();
        let uscc = Uscc::with_check(&format!("91{dcode:06}{org}"))
            .map(|u| u.to_string())
            .unwrap_or_default();
        let head = COMPANY_HEADS[i % COMPANY_HEADS.len()];
        let name = if i < COMPANY_HEADS.len() {
            format!("潍坊{head}物业服务有限公司")
        } else {
            format!("潍坊{head}物业服务有限公司第{}分公司", i / COMPANY_HEADS.len())
        };
        companies.push(vec![
            Param::I64(i as i64 + 1),
            Param::Text(uscc),
            Param::Text(name),
            Param::Text(person_name(&mut rng)),
            Param::Text(format!("0536-{}", rng.range(8_000_000, 8_999_999))),
            Param::Text(format!(
                "{}人民路{}号",
                DISTRICTS[i % scale.districts.max(1)].1,
                rng.range(1, 300)
            )),
            Param::OptI64(Some((dcode * 1_000_000) as i64)),
        ]);
    }
    sum.companies = companies.len();
    let now_p = || Param::Ts(now);
    for c in &mut companies {
        c.push(now_p());
        c.push(now_p());
    }
    insert_rows(
        db,
        "companies",
        &[
            "id",
            "uscc",
            "name",
            "legal_representative",
            "contact_phone",
            "address",
            "region_code",
            "created_at",
            "updated_at",
        ],
        &companies,
    )
    .await?;

    // Compounds, buildings, entrances, rooms, owners, contracts, committees, volunteers.
    let modes = [
        (ManagementMode::Market, 58),
        (ManagementMode::PublicWelfare, 10),
        (ManagementMode::SelfManaged, 8),
        (ManagementMode::CommunityCustody, 16),
        (ManagementMode::None, 8),
    ];
    let classes = ["basic", "basic", "improved", "improved", "upgraded", "premium"];
    let (mut compounds, mut buildings, mut entrances, mut rooms, mut owners, mut links, mut contracts) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut committees, mut members, mut volunteers) = (Vec::new(), Vec::new(), Vec::new());
    let (mut bid, mut eid, mut rid, mut oid, mut ctid, mut cmid) = (0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
    for k in 0..scale.compounds {
        let cid = k as i64 + 1;
        let (community, dcode) = communities[k % communities.len()];
        let roll = rng.range(0, 99);
        let mut acc = 0;
        let mut mode = ManagementMode::Market;
        for (m, p) in modes {
            acc += p;
            if roll < acc {
                mode = m;
                break;
            }
        }
        let year = rng.range(1985, 2022);
        let is_old = year < 2000;
        let name = format!("{}{}", rng.pick(COMPOUND_HEADS), rng.pick(COMPOUND_TAILS));
        let target = rng.range(
            scale.rooms_per_compound as i64 / 2,
            scale.rooms_per_compound as i64 * 3 / 2,
        );
        let floors = if is_old { rng.range(5, 7) } else { rng.range(6, 18) };
        let per_entrance = floors * 2;
        let ents = rng.range(1, 3);
        let nb = ((target + per_entrance * ents - 1) / (per_entrance * ents)).max(1);
        let mut households = 0i64;
        let mut floor_area = 0i64;
        let mut developer_left = if year > 2018 { rng.range(2, 12) } else { 0 };
        let developer_owner = if developer_left > 0 {
            oid += 1;
            owners.push(vec![
                Param::I64(oid),
                Param::Text("developer".into()),
                Param::Text(format!("潍坊{}置业有限公司", rng.pick(COMPANY_HEADS))),
                Param::Text(format!("DEV{cid:08}")),
                Param::Text(String::new()),
                now_p(),
            ]);
            Some(oid)
        } else {
            None
        };
        let mut last_owner: Option<i64> = None;
        for b in 1..=nb {
            bid += 1;
            buildings.push(vec![
                Param::I64(bid),
                Param::I64(cid),
                Param::Text(format!("{b}号楼")),
                Param::OptI64(Some(floors)),
            ]);
            if rng.chance(50) {
                volunteers.push(vec![
                    Param::I64(cid),
                    Param::OptI64(Some(bid)),
                    Param::Text("building_head".into()),
                    Param::Text(person_name(&mut rng)),
                    Param::Text(phone(&mut rng)),
                    Param::Bool(rng.chance(45)),
                    Param::Bool(rng.chance(25)),
                ]);
            }
            for e in 1..=ents {
                eid += 1;
                entrances.push(vec![Param::I64(eid), Param::I64(bid), Param::Text(e.to_string())]);
                for f in 1..=floors {
                    for door in 1..=2 {
                        rid += 1;
                        households += 1;
                        let area = rng.range(4_800, 16_000);
                        floor_area += area * 118 / 100;
                        let dev = developer_left > 0 && f == floors;
                        if dev {
                            developer_left -= 1;
                        }
                        rooms.push(vec![
                            Param::I64(rid),
                            Param::I64(cid),
                            Param::I64(bid),
                            Param::I64(eid),
                            Param::Text(format!("{f}{door:02}")),
                            Param::OptI64(Some(f)),
                            Param::Text("residential".into()),
                            Param::I64(area),
                            Param::OptI64(Some(area * 118 / 100)),
                            Param::Bool(dev),
                        ]);
                        if dev {
                            if let Some(d) = developer_owner {
                                links.push(vec![Param::I64(rid), Param::I64(d), Param::I64(10_000)]);
                            }
                            continue;
                        }
                        // 8% of rooms belong to the owner of the previous room (a second home).
                        if let (Some(prev), true) = (last_owner, rng.chance(8)) {
                            links.push(vec![Param::I64(rid), Param::I64(prev), Param::I64(10_000)]);
                            last_owner = None;
                            continue;
                        }
                        oid += 1;
                        owners.push(vec![
                            Param::I64(oid),
                            Param::Text("person".into()),
                            Param::Text(person_name(&mut rng)),
                            Param::Text(id_number(dcode, oid as u64)),
                            Param::Text(phone(&mut rng)),
                            now_p(),
                        ]);
                        // 20% are co-owned half and half (e.g. spouses).
                        if rng.chance(20) {
                            links.push(vec![Param::I64(rid), Param::I64(oid), Param::I64(5_000)]);
                            oid += 1;
                            owners.push(vec![
                                Param::I64(oid),
                                Param::Text("person".into()),
                                Param::Text(person_name(&mut rng)),
                                Param::Text(id_number(dcode, oid as u64)),
                                Param::Text(phone(&mut rng)),
                                now_p(),
                            ]);
                            links.push(vec![Param::I64(rid), Param::I64(oid), Param::I64(5_000)]);
                        } else {
                            links.push(vec![Param::I64(rid), Param::I64(oid), Param::I64(10_000)]);
                            last_owner = Some(oid);
                        }
                    }
                }
            }
        }
        sum.buildings += nb as usize;
        let lat = 36_700_000 + rng.range(-60_000, 60_000);
        let lng = 119_160_000 + rng.range(-90_000, 90_000);
        compounds.push(vec![
            Param::I64(cid),
            Param::Text(format!("XQ{community:012}{:03}", k / communities.len() + 1)),
            Param::Text(name),
            Param::I64(community),
            Param::Text(format!("{}路{}号", rng.pick(COMMUNITY_NAMES), rng.range(1, 400))),
            Param::OptI64(Some(lat)),
            Param::OptI64(Some(lng)),
            Param::OptI64(Some(year)),
            Param::OptI64(Some(floor_area * 2)),
            Param::OptI64(Some(floor_area)),
            Param::OptI64(Some(households)),
            Param::Text((*rng.pick(&classes)).into()),
            Param::Text(mode.as_str().into()),
            Param::Bool(is_old),
            Param::Text(if rng.chance(5) {
                "红色物业示范小区".into()
            } else {
                String::new()
            }),
            now_p(),
            now_p(),
        ]);
        if mode.is_professional() && !companies.is_empty() {
            let company = rng.range(1, companies.len() as i64);
            let start_year = rng.range(2022, 2025) as i32;
            let kind = if mode == ManagementMode::PublicWelfare {
                "custody"
            } else if year > 2019 {
                "preliminary"
            } else {
                "ordinary"
            };
            // An expired contract with another company for some compounds: history.
            if rng.chance(25) {
                ctid += 1;
                let old_co = (company % companies.len() as i64) + 1;
                contracts.push(vec![
                    Param::I64(ctid),
                    Param::I64(old_co),
                    Param::I64(cid),
                    Param::Text("ordinary".into()),
                    Param::Text("lump_sum".into()),
                    Param::Date(date(start_year - 3, 1, 1)),
                    Param::Date(date(start_year - 1, 12, 31)),
                    Param::I64(rng.range(40, 200)),
                    now_p(),
                ]);
            }
            ctid += 1;
            contracts.push(vec![
                Param::I64(ctid),
                Param::I64(company),
                Param::I64(cid),
                Param::Text(kind.into()),
                Param::Text(if rng.chance(85) { "lump_sum" } else { "cost_plus" }.into()),
                Param::Date(date(start_year, 1, 1)),
                Param::Date(date(start_year + 4, 12, 31)),
                Param::I64(rng.range(50, 280)),
                now_p(),
            ]);
        }
        if rng.chance(40) {
            cmid += 1;
            let start = date(rng.range(2022, 2025) as i32, 6, 1);
            let end = date(start.year() + 5, 5, 31);
            committees.push(vec![
                Param::I64(cmid),
                Param::I64(cid),
                Param::Date(start),
                Param::Date(end),
            ]);
            for role in ["chair", "vice_chair", "member", "member", "member"]
                .iter()
                .take(rng.range(3, 5) as usize)
            {
                members.push(vec![
                    Param::I64(cmid),
                    Param::Text(person_name(&mut rng)),
                    Param::Text((*role).into()),
                    Param::Text(phone(&mut rng)),
                    Param::Bool(rng.chance(47)),
                    Param::Bool(rng.chance(30)),
                ]);
            }
        }
        sum.rooms = rid as usize;
        sum.owners = oid as usize;
        // Flush in parent-before-child order so foreign keys hold at every step.
        if rooms.len() >= 50_000 || k + 1 == scale.compounds {
            flush(
                db,
                "compounds",
                &[
                    "id",
                    "code",
                    "name",
                    "region_code",
                    "address",
                    "latitude_e6",
                    "longitude_e6",
                    "year_built",
                    "land_area",
                    "floor_area",
                    "households",
                    "class",
                    "management_mode",
                    "is_old",
                    "designations",
                    "created_at",
                    "updated_at",
                ],
                &mut compounds,
            )
            .await?;
            flush(
                db,
                "buildings",
                &["id", "compound_id", "name", "floors"],
                &mut buildings,
            )
            .await?;
            flush(db, "entrances", &["id", "building_id", "name"], &mut entrances).await?;
            flush(db, "rooms", ROOM_COLS, &mut rooms).await?;
            flush(db, "owners", OWNER_COLS, &mut owners).await?;
            flush(db, "room_owners", LINK_COLS, &mut links).await?;
        }
    }
    sum.compounds = scale.compounds;
    sum.contracts = contracts.len();
    flush(
        db,
        "contracts",
        &[
            "id",
            "company_id",
            "compound_id",
            "kind",
            "fee_model",
            "start_date",
            "end_date",
            "fee_standard",
            "created_at",
        ],
        &mut contracts,
    )
    .await?;
    flush(
        db,
        "committees",
        &["id", "compound_id", "term_start", "term_end"],
        &mut committees,
    )
    .await?;
    flush(
        db,
        "committee_members",
        &["committee_id", "name", "role", "phone", "party_member", "veteran"],
        &mut members,
    )
    .await?;
    flush(
        db,
        "volunteers",
        &[
            "compound_id",
            "building_id",
            "role",
            "name",
            "phone",
            "party_member",
            "veteran",
        ],
        &mut volunteers,
    )
    .await?;
    db.reset_identity(&[
        "companies",
        "compounds",
        "buildings",
        "entrances",
        "rooms",
        "owners",
        "contracts",
        "committees",
        "committee_members",
        "volunteers",
    ])
    .await?;
    set_setting(db, "demo", "1").await?;
    create_demo_accounts(db, now).await?;
    db.analyze().await?;
    Ok(sum)
}

/// The password of every demo account (demo mode only; shown on the sign-in page).
pub const DEMO_PASSWORD: &str = "wuye-demo-2026";

/// One account per staff role, scoped to the first district, street, community, company and
/// committee of the demo city. Owners sign in by phone code and need no account here.
async fn create_demo_accounts(db: &Db, now: OffsetDateTime) -> DbResult<()> {
    let first = |sql: &'static str| async move {
        let row: Option<(String,)> =
            crate::db_read!(db, pool => sqlx::query_as(sql).fetch_optional(pool).await)?;
        Ok::<_, crate::db::DbError>(row.map(|r| r.0))
    };
    let uscc = first("SELECT uscc FROM companies ORDER BY id LIMIT 1").await?;
    let committee = first(
        "SELECT c.code FROM committees cm JOIN compounds c ON c.id = cm.compound_id ORDER BY cm.id LIMIT 1",
    )
    .await?;
    let street =
        first("SELECT CAST(code AS TEXT) FROM regions WHERE level = 'street' ORDER BY code LIMIT 1").await?;
    let community =
        first("SELECT CAST(code AS TEXT) FROM regions WHERE level = 'community' ORDER BY code LIMIT 1")
            .await?;
    let district =
        first("SELECT CAST(code AS TEXT) FROM regions WHERE level = 'district' ORDER BY code LIMIT 1")
            .await?;
    let city =
        first("SELECT CAST(code AS TEXT) FROM regions WHERE level = 'city' ORDER BY code LIMIT 1").await?;
    use wuye_model::Role::*;
    let accounts = [
        ("admin", "市级管理员（演示）", CityAdmin, city),
        ("district", "区县监管员（演示）", DistrictOfficer, district),
        ("street", "街道工作人员（演示）", StreetOfficer, street),
        ("community", "社区工作人员（演示）", CommunityOfficer, community),
        (
            "company-admin",
            "物业企业管理员（演示）",
            CompanyAdmin,
            uscc.clone(),
        ),
        ("company-staff", "物业企业员工（演示）", CompanyStaff, uscc),
        ("committee", "业委会成员（演示）", CommitteeMember, committee),
    ];
    for (login, name, role, scope) in accounts {
        let Some(scope) = scope else { continue };
        let new = crate::auth::NewUser {
            login: login.into(),
            display_name: name.into(),
            role,
            scope,
            password: DEMO_PASSWORD.into(),
            phone: String::new(),
        };
        crate::auth::create_user(db, &new, &crate::auth::Actor::cli(), now)
            .await
            .map_err(|e| crate::db::DbError::Unsupported(e.to_string()))?;
    }
    // An owner whose sign-in is already verified: the first resident of the first compound.
    let owner: Option<(i64, String)> = crate::db_read!(db, pool => sqlx::query_as(
        "SELECT o.id, o.phone FROM owners o JOIN room_owners ro ON ro.owner_id = o.id WHERE o.kind = 'person' AND o.phone <> '' ORDER BY ro.room_id, o.id LIMIT 1")
        .fetch_optional(pool).await)?;
    if let Some((owner_id, phone)) = owner {
        let sql = "INSERT INTO users (login, display_name, role, phone, created_at) VALUES ($1, $2, 'owner', $1, $3)";
        crate::db_run!(db, pool => sqlx::query(sql).bind(&phone).bind(crate::auth::mask(&phone)).bind(now).execute(pool).await.map(|_| ()))?;
        let (user_id,): (i64,) = crate::db_run!(db, pool => sqlx::query_as("SELECT id FROM users WHERE login = $1").bind(&phone).fetch_one(pool).await)?;
        crate::db_run!(db, pool => sqlx::query("INSERT INTO user_owners (user_id, owner_id, verified_at) VALUES ($1, $2, $3)")
            .bind(user_id).bind(owner_id).bind(now).execute(pool).await.map(|_| ()))?;
    }
    Ok(())
}

/// The demo accounts' logins and roles, for the sign-in page in demo mode (the owner's login
/// is a phone number: they sign in with a one-time code).
pub async fn demo_logins(db: &Db) -> DbResult<Vec<(String, String)>> {
    let sql = "SELECT login, role FROM users WHERE login IN \
        ('admin', 'district', 'street', 'community', 'company-admin', 'company-staff', 'committee') \
        OR (role = 'owner' AND id IN (SELECT user_id FROM user_owners)) ORDER BY id LIMIT 8";
    Ok(crate::db_read!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
}

pub async fn set_setting(db: &Db, key: &str, value: &str) -> DbResult<()> {
    let sql = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    crate::db_run!(db, pool => sqlx::query(sql).bind(key).bind(value).execute(pool).await.map(|_| ()))?;
    Ok(())
}

pub async fn get_setting(db: &Db, key: &str) -> DbResult<Option<String>> {
    let row: Option<(String,)> = crate::db_read!(db, pool => sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

/// The demo's assessment history (only for `wuye serve --demo`, not the benchmarks): ratings
/// of the last two full months for every project — owners (a few compounds with fewer than
/// the minimum sample), committees, communities, streets — then each month closed when its
/// settle days have passed (a provisional run otherwise), so the public rankings have data.
pub async fn assessment_history(db: &Db, now: OffsetDateTime) -> Result<u32, crate::assessment::AssessError> {
    let today = now.to_offset(crate::clock::CST).date();
    let this = wuye_model::Period::containing(wuye_model::PeriodKind::Month, today);
    let months: Vec<wuye_model::Period> = [
        this.and_then(|p| p.previous()),
        this.and_then(|p| p.previous()).and_then(|p| p.previous()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut rng = Rng::new(2026);
    let levels = [
        "satisfied",
        "satisfied",
        "satisfied",
        "satisfied",
        "satisfied",
        "basic",
        "basic",
        "dissatisfied",
    ];
    let cols = [
        "rating_period",
        "compound_id",
        "company_id",
        "rater_kind",
        "rater_key",
        "level",
        "score",
        "created_at",
    ];
    let mut rows: Vec<Vec<Param>> = Vec::new();
    let mut key = 1_000_000i64;
    for month in &months {
        let on = month.ends_on();
        let projects: Vec<(i64, i64, i64, i64)> = crate::db_read!(db, pool => sqlx::query_as(
            "SELECT ct.compound_id, ct.company_id, c.region_code, (SELECT count(*) FROM committees cm WHERE cm.compound_id = c.id) \
             FROM contracts ct JOIN compounds c ON c.id = ct.compound_id WHERE ct.start_date <= $1 AND ct.end_date >= $1 ORDER BY ct.compound_id")
            .bind(on).fetch_all(pool).await)?;
        let at = crate::clock::db_time(month.start_instant() + time::Duration::days(12));
        for (cid, co, region, committees) in projects {
            // Each compound has a character: its share of satisfied owners drifts around it.
            let bias = (cid * 7) % 4;
            let n = if cid % 23 == 0 { 3 } else { rng.range(8, 40) };
            for _ in 0..n {
                key += 1;
                let l = levels[((rng.range(0, 7) + bias) as usize).min(levels.len() - 1)];
                rows.push(vec![
                    Param::Text(month.to_string()),
                    Param::I64(cid),
                    Param::I64(co),
                    Param::Text("owner".into()),
                    Param::I64(key),
                    Param::Text(l.into()),
                    Param::OptI64(None),
                    Param::Ts(at),
                ]);
            }
            let mut other = |kind: &str, rater: i64, score: i64| {
                rows.push(vec![
                    Param::Text(month.to_string()),
                    Param::I64(cid),
                    Param::I64(co),
                    Param::Text(kind.into()),
                    Param::I64(rater),
                    Param::OptText(None),
                    Param::OptI64(Some(score)),
                    Param::Ts(at),
                ]);
            };
            if committees > 0 {
                other("committee", cid, 9500 - bias * 700 - (cid % 5) * 100);
            }
            if cid % 10 != 0 {
                other("community", region, 9000 - bias * 500 - (cid % 7) * 50);
            }
            if cid % 3 == 0 {
                other("street", region / 1000, 8800 - bias * 400);
            }
        }
    }
    if !rows.is_empty() {
        insert_rows(db, "ratings", &cols, &rows).await?;
    }
    let settings = crate::settings::Settings::load(db).await.unwrap_or_default();
    let cli = crate::auth::Actor::cli();
    let mut runs = 0;
    for month in months.iter().rev() {
        let closable =
            today >= month.ends_on() + time::Duration::days(i64::from(settings.assessment.settle_days));
        crate::assessment::run(db, &cli, *month, closable, &settings, now).await?;
        runs += 1;
    }
    Ok(runs)
}
