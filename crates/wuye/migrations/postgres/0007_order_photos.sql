-- Photos on a work order (up to nine), stored in the file store without their metadata.
CREATE TABLE order_photos (
    order_id BIGINT NOT NULL REFERENCES work_orders (id),
    position BIGINT NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    added_by BIGINT REFERENCES users (id),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, position)
);
