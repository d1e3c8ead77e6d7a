-- Inspections and rectification (issue 6, docs/assessment.md §1 and §7): campaigns, visits to
-- compounds with their findings and photos, and rectification notices with their timeline.

-- A campaign: a region's inspections of some categories between two dates.
CREATE TABLE inspection_campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region_code INTEGER NOT NULL REFERENCES regions (code),   -- its scope
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    categories TEXT NOT NULL DEFAULT '',                        -- comma-separated finding categories
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    CHECK (ends_on >= starts_on)
) STRICT;
CREATE INDEX inspection_campaigns_region ON inspection_campaigns (region_code, starts_on);

-- One visit to a compound. Its findings are frozen once it is submitted.
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER REFERENCES inspection_campaigns (id),
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    company_id INTEGER REFERENCES companies (id),              -- the company in force that day
    region_code INTEGER NOT NULL,                               -- the community
    inspected_on TEXT NOT NULL,
    inspector_user_id INTEGER REFERENCES users (id),
    co_inspectors TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('draft', 'submitted')),
    submitted_at TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX inspections_day ON inspections (inspected_on, region_code);
CREATE INDEX inspections_compound ON inspections (compound_id, inspected_on);
CREATE INDEX inspections_campaign ON inspections (campaign_id);

-- A rectification notice to the company of a compound.
CREATE TABLE rectifications (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,                                -- ZG-370705-2026-0042
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    company_id INTEGER NOT NULL REFERENCES companies (id),
    inspection_id INTEGER REFERENCES inspections (id),          -- NULL when an assessment action issued it
    issued_by INTEGER REFERENCES users (id),
    issuing_region_code INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    deadline TEXT NOT NULL,                                     -- a China date, ending 24:00 China time
    state TEXT NOT NULL CHECK (state IN ('issued', 'responded', 'verified', 'withdrawn')),
    rounds INTEGER NOT NULL DEFAULT 1 CHECK (rounds >= 1),
    requirement TEXT NOT NULL DEFAULT '',
    first_response_at TEXT,
    verified_at TEXT,
    verified_by INTEGER REFERENCES users (id),
    supervision_level INTEGER NOT NULL DEFAULT 0 CHECK (supervision_level BETWEEN 0 AND 3),
    supervising_region_code INTEGER,
    next_escalation_at TEXT
) STRICT;
CREATE INDEX rectifications_state ON rectifications (state, deadline);
CREATE INDEX rectifications_escalation ON rectifications (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX rectifications_company ON rectifications (company_id, id);
CREATE INDEX rectifications_compound ON rectifications (compound_id, id);

-- A problem found in an inspection. Withdrawn with a reason, never deleted.
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    inspection_id INTEGER NOT NULL REFERENCES inspections (id),
    category TEXT NOT NULL CHECK (category IN ('cleaning', 'greening', 'security', 'facilities', 'building',
        'fire_safety', 'elevator', 'disclosure', 'fees', 'other')),
    severity TEXT NOT NULL CHECK (severity IN ('minor', 'major', 'serious')),
    description TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    fixed_on_site INTEGER NOT NULL DEFAULT 0 CHECK (fixed_on_site IN (0, 1)),
    rectification_id INTEGER REFERENCES rectifications (id),
    created_at TEXT NOT NULL,
    withdrawn_at TEXT,
    withdrawn_by INTEGER REFERENCES users (id),
    withdraw_reason TEXT
) STRICT;
CREATE INDEX findings_inspection ON findings (inspection_id);
CREATE INDEX findings_rectification ON findings (rectification_id);

-- Photos of a finding (up to nine), stored in the file store without their metadata.
CREATE TABLE finding_photos (
    finding_id INTEGER NOT NULL REFERENCES findings (id),
    position INTEGER NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    added_by INTEGER REFERENCES users (id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (finding_id, position)
) STRICT;

-- The timeline of a notice: every step, including the sweep's escalations.
CREATE TABLE rectification_events (
    id INTEGER PRIMARY KEY,
    rectification_id INTEGER NOT NULL REFERENCES rectifications (id),
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('issue', 'respond', 'verify', 'reject', 'withdraw', 'escalate')),
    from_state TEXT,
    to_state TEXT NOT NULL,
    deadline TEXT,                                              -- a new one, if set
    note TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX rectification_events_notice ON rectification_events (rectification_id, id);
