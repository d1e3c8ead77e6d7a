-- The credit ledger (issue 6, docs/assessment.md §6): versioned credit schemes per region, the
-- ledger of records (never edited: triggers refuse UPDATE and DELETE), appeals with their
-- decision, the red and black list (revoked with a reason, never deleted), and the evidence
-- files of records, appeals and list entries. Scores and grades are derived from the ledger
-- on demand (wuye_model::assessment::credit) and never stored as editable values.

-- A credit scheme (grade bands, caps, item points) as versioned data per region (a city or a
-- district); the newest published version with effective_from <= the day applies, the
-- district's before the city's, the shipped default when none is published.
CREATE TABLE credit_schemes (
    id INTEGER PRIMARY KEY,
    region_code INTEGER NOT NULL REFERENCES regions (code),
    version INTEGER NOT NULL CHECK (version >= 1),
    scheme_key TEXT NOT NULL,                -- the scheme row's key (shandong_2019)
    name TEXT NOT NULL,
    effective_from TEXT NOT NULL,            -- a date
    state TEXT NOT NULL CHECK (state IN ('draft', 'published')),
    file_id TEXT NOT NULL REFERENCES files (id),   -- the canonical CSV
    body TEXT NOT NULL,                      -- JSON, the parsed scheme
    sha256 TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    published_by INTEGER REFERENCES users (id),
    published_at TEXT,
    UNIQUE (region_code, version)
) STRICT;
CREATE INDEX credit_schemes_region ON credit_schemes (region_code, state, effective_from);

-- The ledger: every basic, good and bad record of a company with its reason, issuer, date and
-- validity [valid_from, valid_to). Points in hundredths (3.00 -> 300).
CREATE TABLE credit_records (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    compound_id INTEGER REFERENCES compounds (id),          -- NULL: the whole company
    kind TEXT NOT NULL CHECK (kind IN ('basic', 'good', 'bad')),
    item_key TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),
    severity TEXT NOT NULL CHECK (severity IN ('ordinary', 'serious', 'veto')),
    reason TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'bottom_n', 'rectification', 'penalty')),
    source_ref TEXT,                                         -- run:812
    scheme_id INTEGER REFERENCES credit_schemes (id),       -- NULL: the shipped default
    replaces_record_id INTEGER REFERENCES credit_records (id),  -- a partly upheld appeal's replacement
    issuer_user_id INTEGER REFERENCES users (id),
    issuer_region_code INTEGER NOT NULL REFERENCES regions (code),
    issued_on TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,                                  -- exclusive
    created_at TEXT NOT NULL,
    CHECK (valid_to > valid_from)
) STRICT;
CREATE INDEX credit_records_company ON credit_records (company_id, valid_to);
CREATE INDEX credit_records_issued ON credit_records (issued_on);

CREATE TRIGGER credit_records_no_update BEFORE UPDATE ON credit_records
BEGIN
    SELECT RAISE(ABORT, 'credit records are never edited / 信用记录不可修改');
END;
CREATE TRIGGER credit_records_no_delete BEFORE DELETE ON credit_records
BEGIN
    SELECT RAISE(ABORT, 'credit records are never deleted / 信用记录不可删除');
END;

-- One appeal per record, by the company; decided by a regulator of the issuing region or
-- above who is not the issuer.
CREATE TABLE credit_appeals (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL UNIQUE REFERENCES credit_records (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    filed_by INTEGER REFERENCES users (id),
    filed_at TEXT NOT NULL,
    grounds TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'upheld', 'partly_upheld', 'rejected')),
    decided_by INTEGER REFERENCES users (id),
    decided_at TEXT,
    decision_reason TEXT,
    replacement_record_id INTEGER REFERENCES credit_records (id),
    CHECK ((state = 'pending') = (decided_at IS NULL)),
    CHECK ((state = 'partly_upheld') = (replacement_record_id IS NOT NULL))
) STRICT;
CREATE INDEX credit_appeals_state ON credit_appeals (state, filed_at);
CREATE INDEX credit_appeals_company ON credit_appeals (company_id, id);

-- 红黑榜 (R5.6): entries with reason, basis and expiry [starts_on, ends_on); revoked, never deleted.
CREATE TABLE red_black_list (
    id INTEGER PRIMARY KEY,
    list TEXT NOT NULL CHECK (list IN ('red', 'black')),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    compound_id INTEGER REFERENCES compounds (id),          -- NULL: the company
    region_code INTEGER NOT NULL REFERENCES regions (code), -- the authority that published it
    reason TEXT NOT NULL,
    basis TEXT NOT NULL,                                     -- the rule that made it a candidate
    credit_record_id INTEGER REFERENCES credit_records (id),
    run_id INTEGER,                                          -- an assessment run, when one led to it
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,                                   -- exclusive
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by INTEGER REFERENCES users (id),
    revoke_reason TEXT,
    CHECK (ends_on > starts_on)
) STRICT;
CREATE INDEX red_black_list_active ON red_black_list (list, ends_on);
CREATE INDEX red_black_list_company ON red_black_list (company_id);

-- Evidence files of the ledger's entities (the bytes are in `files`, content-addressed).
CREATE TABLE credit_evidence (
    entity TEXT NOT NULL CHECK (entity IN ('credit_record', 'credit_appeal', 'list_entry')),
    entity_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    content_type TEXT NOT NULL,
    added_by INTEGER REFERENCES users (id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, position)
) STRICT;
