-- Owners' decisions (issue 5): a decision and its questions; the roll frozen when voting
-- opens (rooms → voting subjects → the owners who may vote for them); the ballot log (every
-- event chained by SHA-256, wuye_model::BallotLog) and, per subject, whether a ballot is in
-- force (for turnout, without the choice: nobody sees the split before the close).
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    matters TEXT NOT NULL,                   -- matter identifiers, comma-separated (one class, R1.9)
    class TEXT NOT NULL CHECK (class IN ('ordinary', 'special')),
    form TEXT NOT NULL CHECK (form IN ('meeting', 'written')),
    mode TEXT NOT NULL CHECK (mode IN ('open', 'secret')),
    silent_clause INTEGER NOT NULL DEFAULT 0, -- the adopted rules count delivered-but-silent owners (§1.4)
    parking_counts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('notice', 'voting', 'closed', 'published', 'cancelled')),
    notice_at TEXT NOT NULL,
    voting_opens TEXT NOT NULL,               -- the first day voting may open (R2.3), a date
    voting_closes TEXT NOT NULL,              -- the last day of voting, a date
    opened_at TEXT,
    closed_at TEXT,
    objection_until TEXT,
    published_at TEXT,
    shown_until TEXT,
    salt TEXT NOT NULL,                       -- pseudonyms of the public export
    head_hash TEXT,                           -- the log's head at the close
    result TEXT,                              -- JSON, written at the close (R1.10)
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX decisions_compound ON decisions (compound_id, id);

CREATE TABLE decision_questions (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (decision_id, position)
) STRICT;

CREATE TABLE roll_subjects (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    subject_key TEXT NOT NULL,                -- sorted owner ids joined by ';', or 'developer'
    sid TEXT NOT NULL,                        -- its pseudonym in the public export
    area INTEGER NOT NULL,                    -- hundredths of m²
    PRIMARY KEY (decision_id, subject_key)
) STRICT;

CREATE TABLE roll_rooms (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    subject_key TEXT NOT NULL,
    area INTEGER NOT NULL,
    counted INTEGER NOT NULL,                 -- 0: a parking space the rules leave out
    PRIMARY KEY (decision_id, room_id)
) STRICT;

CREATE TABLE roll_voters (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    owner_id INTEGER NOT NULL REFERENCES owners (id),
    subject_key TEXT NOT NULL,
    PRIMARY KEY (decision_id, owner_id, subject_key)
) STRICT;

CREATE TABLE ballot_events (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    seq INTEGER NOT NULL,                     -- after the enrolment events
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,                      -- Unix seconds
    sid TEXT NOT NULL,
    answers TEXT,
    by_sid TEXT,
    hash TEXT NOT NULL,
    PRIMARY KEY (decision_id, seq)
) STRICT;

CREATE TABLE ballots (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    subject_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('counted', 'pending')),
    channel TEXT NOT NULL CHECK (channel IN ('online', 'paper')),
    receipt TEXT NOT NULL,
    entered_by INTEGER REFERENCES users (id),
    scan_file_id TEXT REFERENCES files (id),
    at TEXT NOT NULL,
    PRIMARY KEY (decision_id, subject_key)
) STRICT;
