-- City settings that are one number each (issue 5: durations DOMAIN.md does not fix).
CREATE TABLE city_settings (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
