-- Work orders (issue 4): the closed loop from a request to a rated, verified resolution.
-- Every deadline is a column, so escalation survives restarts and runs on any instance.

CREATE TABLE work_orders (
    id INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    room_id INTEGER REFERENCES rooms (id),
    place TEXT NOT NULL DEFAULT '',          -- a place in the common area when no room
    category TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('web', 'phone', 'walk_in', 'api', 'open311', 'hotline')),
    description TEXT NOT NULL,
    reporter_user_id INTEGER REFERENCES users (id),
    reporter_name TEXT NOT NULL DEFAULT '',
    reporter_phone TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    emergency INTEGER NOT NULL DEFAULT 0,
    handler_company_id INTEGER REFERENCES companies (id),   -- NULL: the community handles it
    supervising_region_code INTEGER NOT NULL REFERENCES regions (code),
    supervision_level INTEGER NOT NULL DEFAULT 0,           -- 0 none, 1 daily, 2 listed (挂牌), 3 interview (约谈)
    sign_due TEXT NOT NULL,
    handle_due TEXT NOT NULL,
    next_escalation_at TEXT,                                 -- NULL once resolved or at the top level
    extensions_used INTEGER NOT NULL DEFAULT 0,
    rehandles INTEGER NOT NULL DEFAULT 0,
    satisfaction TEXT,
    idempotency_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
) STRICT;
CREATE INDEX work_orders_compound ON work_orders (compound_id, id);
CREATE INDEX work_orders_escalation ON work_orders (next_escalation_at);
CREATE INDEX work_orders_created ON work_orders (created_at);

-- The timeline: every step, who took it, and what it said.
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES work_orders (id),
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX order_events_order ON order_events (order_id, id);
