//! Closed vocabularies of the registry, named as in GLOSSARY.md.
//!
//! Each enum has a stable snake_case identifier (stored in the database and used in the API),
//! a zh-CN label and an English label. Parsing accepts the identifier, either label, and
//! (for imports typed by people) the Chinese label.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The user interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// Picks the language from a `lang` value or an Accept-Language header: English when it
    /// names English before any Chinese, zh-CN otherwise.
    pub fn negotiate(value: &str) -> Self {
        for part in value.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Self::Zh;
            }
            if tag.starts_with("en") {
                return Self::En;
            }
        }
        Self::Zh
    }

    /// Chooses between the two forms of a text.
    pub const fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}; expected one of: {expected} / {what_zh}取值无效")]
pub struct EnumError {
    pub what: &'static str,
    pub what_zh: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! vocabulary {
    (
        $(#[$doc:meta])*
        $name:ident ($what:literal, $what_zh:literal) {
            $($variant:ident = $id:literal, $zh:literal, $en:literal;)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $id,)+
                }
            }

            pub const fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $zh,)+
                }
            }

            pub const fn label_en(self) -> &'static str {
                match self {
                    $($name::$variant => $en,)+
                }
            }

            pub const fn label(self, lang: Lang) -> &'static str {
                match lang {
                    Lang::Zh => self.label_zh(),
                    Lang::En => self.label_en(),
                }
            }

            /// Accepts the identifier or either label (case-insensitive for English).
            pub fn parse(text: &str) -> Result<Self, EnumError> {
                let t = text.trim();
                for v in Self::ALL {
                    if t == v.as_str() || t == v.label_zh() || t.eq_ignore_ascii_case(v.label_en()) {
                        return Ok(*v);
                    }
                }
                Err(EnumError {
                    what: $what,
                    what_zh: $what_zh,
                    value: t.to_owned(),
                    expected: Self::ALL.iter().map(|v| format!("{}|{}", v.as_str(), v.label_zh())).collect::<Vec<_>>().join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = EnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// 管理模式 — who manages a compound.
    ManagementMode ("management mode", "管理模式") {
        Market = "market", "市场化物业", "Market";
        PublicWelfare = "public_welfare", "公益托管", "Public-welfare custody";
        SelfManaged = "self_managed", "业主自管", "Owner self-managed";
        CommunityCustody = "community_custody", "社区代管", "Community custody";
        None = "none", "无物业", "None";
    }
}

impl ManagementMode {
    /// Professional management for the coverage figure (专业化物业覆盖率): a company runs it
    /// under contract, on market terms or as public-welfare custody.
    pub const fn is_professional(self) -> bool {
        matches!(self, Self::Market | Self::PublicWelfare)
    }
}

vocabulary! {
    /// 小区分类 — service class of a compound.
    CompoundClass ("compound class", "小区分类") {
        Basic = "basic", "基础类", "Basic";
        Improved = "improved", "完善类", "Improved";
        Upgraded = "upgraded", "提升类", "Upgraded";
        Premium = "premium", "品质类", "Premium";
    }
}

vocabulary! {
    /// 物业服务合同 kind.
    ContractKind ("contract kind", "合同类型") {
        Preliminary = "preliminary", "前期物业服务合同", "Preliminary";
        Ordinary = "ordinary", "物业服务合同", "Ordinary";
        Custody = "custody", "托管协议", "Custody agreement";
    }
}

vocabulary! {
    /// 包干制 / 酬金制.
    FeeModel ("fee model", "计费方式") {
        LumpSum = "lump_sum", "包干制", "Lump-sum";
        CostPlus = "cost_plus", "酬金制", "Cost-plus";
    }
}

vocabulary! {
    /// Use of an exclusive part.
    RoomKind ("room kind", "房屋用途") {
        Residential = "residential", "住宅", "Residential";
        Commercial = "commercial", "商业", "Commercial";
        Parking = "parking", "车位", "Parking space";
        Other = "other", "其他", "Other";
    }
}

vocabulary! {
    /// A natural person or an organisation.
    OwnerKind ("owner kind", "业主类型") {
        Person = "person", "个人", "Person";
        Organisation = "organisation", "单位", "Organisation";
        Developer = "developer", "建设单位", "Developer";
    }
}

vocabulary! {
    /// Seat on an owners' committee.
    CommitteeRole ("committee role", "委员职务") {
        Chair = "chair", "主任", "Chair";
        ViceChair = "vice_chair", "副主任", "Vice chair";
        Member = "member", "委员", "Member";
        Alternate = "alternate", "候补委员", "Alternate";
    }
}

vocabulary! {
    /// Volunteer heads (楼长, 单元长).
    VolunteerRole ("volunteer role", "志愿者职务") {
        BuildingHead = "building_head", "楼长", "Building head";
        EntranceHead = "entrance_head", "单元长", "Entrance head";
    }
}

vocabulary! {
    /// Who a signed-in person is to the platform. Each role is scoped (DOMAIN: regulators to
    /// a region subtree, company roles to their company, committee members to their compound,
    /// owners to their own rooms).
    Role ("role", "角色") {
        CityAdmin = "city_admin", "市级管理员", "City administrator";
        DistrictOfficer = "district_officer", "区县监管人员", "District officer";
        StreetOfficer = "street_officer", "街道工作人员", "Street officer";
        CommunityOfficer = "community_officer", "社区工作人员", "Community officer";
        CompanyAdmin = "company_admin", "物业企业管理员", "Company administrator";
        CompanyStaff = "company_staff", "物业企业员工", "Company staff";
        CommitteeMember = "committee_member", "业委会成员", "Owners' committee member";
        Owner = "owner", "业主", "Owner";
    }
}

impl Role {
    /// Regulators: scoped to a region subtree.
    pub const fn is_regulator(self) -> bool {
        matches!(
            self,
            Self::CityAdmin | Self::DistrictOfficer | Self::StreetOfficer | Self::CommunityOfficer
        )
    }

    /// The region level a regulator's scope must be at.
    pub const fn region_level(self) -> Option<crate::RegionLevel> {
        match self {
            Self::CityAdmin => Some(crate::RegionLevel::City),
            Self::DistrictOfficer => Some(crate::RegionLevel::District),
            Self::StreetOfficer => Some(crate::RegionLevel::Street),
            Self::CommunityOfficer => Some(crate::RegionLevel::Community),
            _ => None,
        }
    }

    /// Roles that manage people's accounts within their scope.
    pub const fn administers_users(self) -> bool {
        matches!(self, Self::CityAdmin | Self::DistrictOfficer | Self::CompanyAdmin)
    }
}

macro_rules! try_from_string {
    ($($t:ty),+) => {$(
        impl TryFrom<String> for $t {
            type Error = EnumError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
    )+};
}
try_from_string!(
    ManagementMode,
    CompoundClass,
    ContractKind,
    FeeModel,
    RoomKind,
    OwnerKind,
    CommitteeRole,
    VolunteerRole
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identifiers_and_labels() {
        assert_eq!(ManagementMode::parse("market"), Ok(ManagementMode::Market));
        assert_eq!(
            ManagementMode::parse("社区代管"),
            Ok(ManagementMode::CommunityCustody)
        );
        assert_eq!(CompoundClass::parse("premium"), Ok(CompoundClass::Premium));
        assert_eq!(CompoundClass::parse(" 品质类 "), Ok(CompoundClass::Premium));
        let err = ManagementMode::parse("whatever").unwrap_err();
        assert!(err.to_string().contains("market|市场化物业"), "{err}");
    }

    #[test]
    fn negotiates_language() {
        assert_eq!(Lang::negotiate("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::negotiate("fr-FR"), Lang::Zh);
        assert_eq!(Lang::negotiate(""), Lang::Zh);
    }
}
