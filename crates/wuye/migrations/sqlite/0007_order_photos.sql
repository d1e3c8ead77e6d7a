-- Photos on a work order (up to nine), stored in the file store without their metadata.
CREATE TABLE order_photos (
    order_id INTEGER NOT NULL REFERENCES work_orders (id),
    position INTEGER NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    added_by INTEGER REFERENCES users (id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
) STRICT;
