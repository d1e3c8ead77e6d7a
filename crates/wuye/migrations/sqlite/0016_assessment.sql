-- Assessment (issue 6, docs/assessment.md): rubrics as versioned data, ratings of the
-- companies, and each run's stored scores with the inputs that produced them.

-- A rubric version of a region (the city, or a district overriding it). Published versions
-- are never edited: a change is the next version.
CREATE TABLE rubrics (
    id INTEGER PRIMARY KEY,
    region_code INTEGER NOT NULL REFERENCES regions (code),
    version INTEGER NOT NULL CHECK (version >= 1),
    rubric_key TEXT NOT NULL,
    name TEXT NOT NULL,
    effective_from TEXT NOT NULL,            -- a China date: periods starting on or after it
    state TEXT NOT NULL CHECK (state IN ('draft', 'published')),
    csv TEXT NOT NULL,                        -- the canonical CSV (wuye_model::assessment::Rubric::to_csv)
    body TEXT NOT NULL,                       -- the parsed rubric, JSON
    sha256 TEXT NOT NULL,                     -- of csv
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    published_by INTEGER REFERENCES users (id),
    published_at TEXT,
    UNIQUE (region_code, version)
) STRICT;
CREATE INDEX rubrics_effective ON rubrics (region_code, state, effective_from);

-- One rating of a compound's company in a rating period by one rater. A changed rating
-- supersedes the earlier row (same transaction); only the current row counts.
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    rating_period TEXT NOT NULL,              -- a month, 2026-10
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),  -- the company in force when rated
    rater_kind TEXT NOT NULL CHECK (rater_kind IN ('owner', 'committee', 'community', 'street')),
    rater_key INTEGER NOT NULL,               -- the owner's user id, the compound (committee) or the region code
    user_id INTEGER REFERENCES users (id),    -- who entered it
    level TEXT CHECK (level IN ('satisfied', 'basic', 'dissatisfied')),  -- owners
    score INTEGER CHECK (score BETWEEN 0 AND 10000),                     -- others: hundredths of a point
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    superseded_at TEXT,
    CHECK ((rater_kind = 'owner') = (level IS NOT NULL)),
    CHECK ((rater_kind = 'owner') = (score IS NULL))
) STRICT;
CREATE UNIQUE INDEX ratings_current ON ratings (rating_period, compound_id, rater_kind, rater_key) WHERE superseded_at IS NULL;
CREATE INDEX ratings_agg ON ratings (rating_period, compound_id, company_id, rater_kind, level, score) WHERE superseded_at IS NULL;

-- A run of the assessment of a period: provisional (replaced by the next) or final (one per
-- period; the period is closed).
CREATE TABLE assessment_runs (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,                     -- canonical: 2026-10, 2026-Q4, 2026-W47 …
    kind TEXT NOT NULL CHECK (kind IN ('provisional', 'final')),
    as_of TEXT NOT NULL,
    settings TEXT NOT NULL,                   -- JSON: the settings the run used
    rubric_ids TEXT NOT NULL,                 -- JSON: the rubric versions it used
    projects INTEGER NOT NULL,
    rated INTEGER NOT NULL,
    inputs_sha256 TEXT NOT NULL,
    scores_sha256 TEXT NOT NULL,
    started_by INTEGER REFERENCES users (id),
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX assessment_runs_final ON assessment_runs (period) WHERE kind = 'final';
CREATE INDEX assessment_runs_period ON assessment_runs (period, id);

-- The score of one project (a compound and its company) in a run, with its inputs and its
-- items as JSON: the explanation page reads them back, and a closed period is re-checked
-- from them.
CREATE TABLE scores (
    run_id INTEGER NOT NULL REFERENCES assessment_runs (id) ON DELETE CASCADE,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    rubric_id INTEGER NOT NULL REFERENCES rubrics (id),
    region_code INTEGER NOT NULL,             -- the community
    street_code INTEGER NOT NULL,
    district_code INTEGER NOT NULL,
    households INTEGER,
    tenure_days INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('rated', 'not_rated')),
    reason TEXT NOT NULL,
    coverage INTEGER NOT NULL,                -- basis points
    weighted INTEGER,                         -- hundredths
    deducted INTEGER NOT NULL,
    score INTEGER,                            -- hundredths; NULL unless rated
    stars INTEGER,
    rank_street INTEGER,
    pool_street INTEGER,
    rank_district INTEGER,
    pool_district INTEGER,
    bottom INTEGER NOT NULL DEFAULT 0,
    bottom_streak INTEGER NOT NULL DEFAULT 0,
    inputs TEXT NOT NULL,                     -- wuye_model::assessment::ProjectInput, JSON
    items TEXT NOT NULL,                      -- items and deductions, JSON
    PRIMARY KEY (run_id, compound_id, company_id)
) STRICT;
CREATE INDEX scores_district ON scores (run_id, district_code, score);
CREATE INDEX scores_compound ON scores (compound_id, run_id);
CREATE INDEX scores_company ON scores (company_id, run_id);

CREATE TABLE company_scores (
    run_id INTEGER NOT NULL REFERENCES assessment_runs (id) ON DELETE CASCADE,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    projects INTEGER NOT NULL,
    rated INTEGER NOT NULL,
    households INTEGER NOT NULL,
    score INTEGER,
    rank INTEGER,
    pool INTEGER,
    PRIMARY KEY (run_id, company_id)
) STRICT;

-- A regulator's deduction from a project (rubric deduction source `manual`). Revoked, never deleted.
CREATE TABLE assessment_deductions (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    dated_on TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),   -- hundredths
    reason TEXT NOT NULL,
    issued_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by INTEGER REFERENCES users (id),
    revoke_reason TEXT
) STRICT;
CREATE INDEX assessment_deductions_dated ON assessment_deductions (dated_on, compound_id);

-- What a final month's bottom places set in motion (the rubric's action rows).
CREATE TABLE assessment_actions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES assessment_runs (id),
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    streak INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('public_notice', 'interview', 'credit', 'rectification', 'exit')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'cancelled')),
    detail TEXT NOT NULL DEFAULT '',          -- e.g. the credit points or the rectification days
    note TEXT NOT NULL DEFAULT '',
    done_by INTEGER REFERENCES users (id),
    done_at TEXT,
    UNIQUE (run_id, compound_id, company_id, kind)
) STRICT;
CREATE INDEX assessment_actions_company ON assessment_actions (company_id, id);
CREATE INDEX assessment_actions_state ON assessment_actions (state, id);
