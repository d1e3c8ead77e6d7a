-- Owners sign in with a phone number and a one-time code, claim their rooms, and a committee
-- member or the company confirms the claim (issue 3).

CREATE TABLE otp_codes (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,             -- SHA-256 of phone and code; the code itself is never stored
    ip TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;
CREATE INDEX otp_codes_phone ON otp_codes (phone, id);

-- Messages for people. The default sender only writes here (an administrator reads them on
-- the outbox page); a webhook sender also posts them to the city's SMS gateway.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    error TEXT
) STRICT;

-- Fixed-window counters: one row per key and window, incremented by a conditional upsert, so
-- a burst of parallel requests on several instances cannot overshoot a limit.
CREATE TABLE rate_counters (
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT;

-- A verified sign-in: this account speaks for this registry owner.
CREATE TABLE user_owners (
    user_id INTEGER NOT NULL REFERENCES users (id),
    owner_id INTEGER NOT NULL REFERENCES owners (id),
    verified_by INTEGER REFERENCES users (id),
    verified_at TEXT NOT NULL,
    PRIMARY KEY (user_id, owner_id)
) STRICT;
CREATE INDEX user_owners_owner ON user_owners (owner_id);

CREATE TABLE ownership_claims (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    document_file_id TEXT REFERENCES files (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
    reason TEXT NOT NULL DEFAULT '',
    decided_by INTEGER REFERENCES users (id),
    decided_at TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX ownership_claims_room ON ownership_claims (room_id);
CREATE INDEX ownership_claims_user ON ownership_claims (user_id);
