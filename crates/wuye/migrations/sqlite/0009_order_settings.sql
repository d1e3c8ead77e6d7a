-- Work orders, second part (issue 4): the city's SLA policies per category and its calendar
-- additions (both edited by an administrator), assignment to company staff, merged duplicates,
-- return-visit outcomes, the unrated-close deadline, 12345 ticket numbers, and notifications.

-- One row per category that differs from the defaults of DOMAIN.md R4.2; '*' is the city default.
CREATE TABLE sla_policies (
    category TEXT PRIMARY KEY,
    sign_days INTEGER NOT NULL,
    handle_days INTEGER NOT NULL,
    max_extension_days INTEGER NOT NULL,
    max_extensions INTEGER NOT NULL,
    return_days INTEGER NOT NULL,
    rate_days INTEGER NOT NULL,
    emergency INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;

-- Days an administrator adds over the shipped calendar (a new year's State Council notice).
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('off', 'work')),
    name TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL
) STRICT;

ALTER TABLE work_orders ADD COLUMN assignee_user_id INTEGER REFERENCES users (id);
ALTER TABLE work_orders ADD COLUMN merged_into INTEGER REFERENCES work_orders (id);
ALTER TABLE work_orders ADD COLUMN rate_due TEXT;           -- a reviewed order closes itself unrated then
ALTER TABLE work_orders ADD COLUMN visit_outcome TEXT;      -- solved, not_solved, unreachable
ALTER TABLE work_orders ADD COLUMN external_ref TEXT;       -- the 12345 hotline's ticket number
CREATE INDEX work_orders_rate_due ON work_orders (rate_due);
CREATE INDEX work_orders_merged ON work_orders (merged_into);
CREATE INDEX work_orders_assignee ON work_orders (assignee_user_id, id);

-- In-app notifications: to one person, or to the staff of one authority (scope = that region).
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id),
    region_code INTEGER,
    kind TEXT NOT NULL,
    order_id INTEGER REFERENCES work_orders (id),
    text_zh TEXT NOT NULL,
    text_en TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT,
    CHECK ((user_id IS NULL) <> (region_code IS NULL))
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_region ON notifications (region_code, id);
