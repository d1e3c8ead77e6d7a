-- Objections to a decision's voter roll during its public check (issue 5 §1).
CREATE TABLE roll_objections (
    id INTEGER PRIMARY KEY,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX roll_objections_decision ON roll_objections (decision_id, id);
