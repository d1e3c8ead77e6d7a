-- Identity and access (issue 3): accounts, sessions, API tokens, one-time codes, the outbox,
-- ownership claims, rate-limit events and the audit log. Everything a second `wuye serve`
-- would need lives here, none of it in process memory.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,          -- staff: a user name; owners: their phone number
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('city_admin', 'district_officer', 'street_officer', 'community_officer',
        'company_admin', 'company_staff', 'committee_member', 'owner')),
    scope_region INTEGER REFERENCES regions (code),
    scope_company INTEGER REFERENCES companies (id),
    scope_compound INTEGER REFERENCES compounds (id),
    password_hash TEXT,                  -- argon2id PHC string; NULL for owners (one-time codes)
    phone TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,                 -- SHA-256 of the cookie value, hex
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,     -- SHA-256 of the bearer token, hex
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),  -- the token acts with this account's role and scope
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,                 -- login or "cli" / "system"
    ip TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,                -- e.g. compound.update, import.rooms, user.create
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL DEFAULT '',
    before TEXT,                         -- JSON, personal numbers masked
    after TEXT
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
