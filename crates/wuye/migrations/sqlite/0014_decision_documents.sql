-- The documents a decision's notice carries (issue 5 §1): the proposal in full, contracts,
-- budgets, candidates' statements. Added by the organisers during the notice, read by
-- everyone who can read the decision; the bytes are in `files` (content-addressed).
CREATE TABLE decision_documents (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    content_type TEXT NOT NULL,
    added_by INTEGER REFERENCES users (id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (decision_id, position)
) STRICT;
