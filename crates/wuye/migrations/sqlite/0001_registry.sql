-- The registry (PRODUCT.md capability 1). SQLite dialect; postgres/0001_registry.sql is the same
-- schema in PostgreSQL's dialect. Keep the two files in step: a test compares their columns.
-- Conventions: areas in hundredths of m² (BIGINT), money in fen (BIGINT), region codes as
-- 12-digit integers, timestamps as RFC 3339 UTC text, dates as YYYY-MM-DD text.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE regions (
    code INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'city', 'district', 'street', 'community')),
    parent_code INTEGER REFERENCES regions (code),
    urban_rural TEXT,
    dataset TEXT NOT NULL DEFAULT '',
    retired INTEGER NOT NULL DEFAULT 0,
    successor_code INTEGER REFERENCES regions (code)
) STRICT;
CREATE INDEX regions_parent ON regions (parent_code, code);

CREATE TABLE files (
    id TEXT PRIMARY KEY,               -- SHA-256 of the content, hex
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    backend TEXT NOT NULL CHECK (backend IN ('folder', 'database')),
    data BLOB,                         -- the bytes when backend = 'database'
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    legal_representative TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    region_code INTEGER REFERENCES regions (code),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE compounds (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,         -- the city's registry code for the management area
    name TEXT NOT NULL,
    region_code INTEGER NOT NULL REFERENCES regions (code),  -- a community
    address TEXT NOT NULL DEFAULT '',
    latitude_e6 INTEGER,               -- micro-degrees, GCJ-02 as the city's map uses
    longitude_e6 INTEGER,
    year_built INTEGER,
    land_area INTEGER CHECK (land_area >= 0),
    floor_area INTEGER CHECK (floor_area >= 0),
    households INTEGER CHECK (households >= 0),
    class TEXT NOT NULL CHECK (class IN ('basic', 'improved', 'upgraded', 'premium')),
    management_mode TEXT NOT NULL
        CHECK (management_mode IN ('market', 'public_welfare', 'self_managed', 'community_custody', 'none')),
    is_old INTEGER NOT NULL DEFAULT 0,
    designations TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX compounds_region ON compounds (region_code, management_mode, id);
CREATE INDEX compounds_mode ON compounds (management_mode, id);

CREATE TABLE buildings (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    name TEXT NOT NULL,
    floors INTEGER CHECK (floors >= 0),
    UNIQUE (compound_id, name)
) STRICT;

CREATE TABLE entrances (
    id INTEGER PRIMARY KEY,
    building_id INTEGER NOT NULL REFERENCES buildings (id),
    name TEXT NOT NULL,
    UNIQUE (building_id, name)
) STRICT;

CREATE TABLE rooms (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),  -- = the building's compound
    building_id INTEGER NOT NULL REFERENCES buildings (id),
    entrance_id INTEGER NOT NULL REFERENCES entrances (id),
    number TEXT NOT NULL,
    floor INTEGER,
    kind TEXT NOT NULL CHECK (kind IN ('residential', 'commercial', 'parking', 'other')),
    exclusive_area INTEGER NOT NULL CHECK (exclusive_area >= 0),
    floor_area INTEGER CHECK (floor_area >= 0),
    developer_held INTEGER NOT NULL DEFAULT 0,   -- unsold or undelivered (SPC-BDO Art. 9)
    UNIQUE (entrance_id, number)
) STRICT;
CREATE INDEX rooms_compound ON rooms (compound_id, id);
CREATE INDEX rooms_building ON rooms (building_id, id);

CREATE TABLE owners (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'organisation', 'developer')),
    name TEXT NOT NULL,
    id_number TEXT NOT NULL UNIQUE,    -- ID card or credit code: the import's natural key
    phone TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE room_owners (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    owner_id INTEGER NOT NULL REFERENCES owners (id),
    share_bp INTEGER NOT NULL CHECK (share_bp > 0 AND share_bp <= 10000),  -- basis points
    PRIMARY KEY (room_id, owner_id)
) STRICT;
CREATE INDEX room_owners_owner ON room_owners (owner_id);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    kind TEXT NOT NULL CHECK (kind IN ('preliminary', 'ordinary', 'custody')),
    fee_model TEXT NOT NULL CHECK (fee_model IN ('lump_sum', 'cost_plus')),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    fee_standard INTEGER NOT NULL CHECK (fee_standard >= 0),  -- fen per m² per month
    created_at TEXT NOT NULL,
    UNIQUE (compound_id, company_id, start_date),
    CHECK (end_date >= start_date)
) STRICT;
CREATE INDEX contracts_company ON contracts (company_id);

CREATE TABLE committees (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    term_start TEXT NOT NULL,
    term_end TEXT NOT NULL,
    filed_on TEXT,
    UNIQUE (compound_id, term_start)
) STRICT;

CREATE TABLE committee_members (
    id INTEGER PRIMARY KEY,
    committee_id INTEGER NOT NULL REFERENCES committees (id),
    owner_id INTEGER REFERENCES owners (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('chair', 'vice_chair', 'member', 'alternate')),
    phone TEXT NOT NULL DEFAULT '',
    party_member INTEGER NOT NULL DEFAULT 0,
    veteran INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX committee_members_committee ON committee_members (committee_id);

CREATE TABLE volunteers (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    building_id INTEGER REFERENCES buildings (id),
    entrance_id INTEGER REFERENCES entrances (id),
    owner_id INTEGER REFERENCES owners (id),
    role TEXT NOT NULL CHECK (role IN ('building_head', 'entrance_head')),
    name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    party_member INTEGER NOT NULL DEFAULT 0,
    veteran INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX volunteers_compound ON volunteers (compound_id);

CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_id TEXT REFERENCES files (id),
    status TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    rows_total INTEGER NOT NULL,
    rows_changed INTEGER NOT NULL,
    errors TEXT NOT NULL DEFAULT '[]',   -- JSON array of row errors
    created_at TEXT NOT NULL
) STRICT;
