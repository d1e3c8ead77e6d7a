-- Supervision actions (issue 6, docs/assessment.md §5–§7): interviews (约谈) and exit cases
-- (清退) opened by a month's bottom places or by an overdue rectification notice, and the link
-- from a notice back to the assessment action that issued it.

-- An interview of a company's responsible people by a regulator, recorded when held.
CREATE TABLE interviews (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    compound_id INTEGER REFERENCES compounds (id),
    region_code INTEGER NOT NULL,                                   -- the authority that holds it (a district)
    origin TEXT NOT NULL CHECK (origin IN ('assessment', 'rectification', 'manual')),
    action_id INTEGER UNIQUE REFERENCES assessment_actions (id),
    rectification_id INTEGER UNIQUE REFERENCES rectifications (id),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'held', 'cancelled')),
    held_on TEXT,                                                   -- a China date
    place TEXT NOT NULL DEFAULT '',
    attendees TEXT NOT NULL DEFAULT '',
    minutes TEXT NOT NULL DEFAULT '',
    minutes_file_id TEXT REFERENCES files (id),
    minutes_file_name TEXT,
    closed_by INTEGER REFERENCES users (id),
    closed_at TEXT,
    cancel_reason TEXT,
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    CHECK (state <> 'held' OR (held_on IS NOT NULL AND closed_at IS NOT NULL))
) STRICT;
CREATE INDEX interviews_company ON interviews (company_id, id);
CREATE INDEX interviews_region ON interviews (region_code, state);

-- The exit procedure of a company from a compound (R5.5): a regulator decides whether to
-- proceed; only the owners' Art. 278 vote (a linked decision) can dismiss the company.
CREATE TABLE exit_cases (
    id INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    region_code INTEGER NOT NULL,                                   -- the deciding authority (a district)
    origin TEXT NOT NULL CHECK (origin IN ('assessment', 'manual')),
    action_id INTEGER UNIQUE REFERENCES assessment_actions (id),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('proposed', 'decided', 'voting', 'closed')),
    decision TEXT CHECK (decision IN ('proceed', 'no_action')),
    decision_reason TEXT,
    decided_by INTEGER REFERENCES users (id),
    decided_at TEXT,
    decision_id INTEGER REFERENCES decisions (id),                  -- the owners' vote
    question_position INTEGER,                                         -- its dismissal proposal
    outcome TEXT CHECK (outcome IN ('dismissed', 'retained', 'no_action')),
    closed_at TEXT,
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    CHECK ((state = 'closed') = (outcome IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX exit_cases_open ON exit_cases (compound_id, company_id) WHERE state <> 'closed';
CREATE INDEX exit_cases_company ON exit_cases (company_id, id);
CREATE INDEX exit_cases_decision ON exit_cases (decision_id) WHERE decision_id IS NOT NULL;

-- The timeline of an exit case.
CREATE TABLE exit_case_events (
    id INTEGER PRIMARY KEY,
    exit_case_id INTEGER NOT NULL REFERENCES exit_cases (id),
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('propose', 'decide', 'vote', 'close')),
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX exit_case_events_case ON exit_case_events (exit_case_id, id);

-- A notice issued by a bottom place's `rectification` action (no inspection), at most one each.
ALTER TABLE rectifications ADD COLUMN action_id INTEGER REFERENCES assessment_actions (id);
CREATE UNIQUE INDEX rectifications_action ON rectifications (action_id) WHERE action_id IS NOT NULL;

-- What a `rectification` action plans, written at the close so that a failed issue can be retried.
ALTER TABLE assessment_actions ADD COLUMN rectification_days INTEGER;
ALTER TABLE assessment_actions ADD COLUMN requirement TEXT;

-- The findings each notice covers, kept when a finding moves on to a later notice after a
-- withdrawal (`findings.rectification_id` is the notice in force).
CREATE TABLE rectification_findings (
    rectification_id INTEGER NOT NULL REFERENCES rectifications (id),
    finding_id INTEGER NOT NULL REFERENCES findings (id),
    PRIMARY KEY (rectification_id, finding_id)
) STRICT;
CREATE INDEX rectification_findings_finding ON rectification_findings (finding_id);
INSERT INTO rectification_findings (rectification_id, finding_id)
    SELECT rectification_id, id FROM findings WHERE rectification_id IS NOT NULL;
