-- When an order was first signed for and first replied to: the inputs of the on-time and
-- time-to-resolve figures, kept on the order so monthly figures read one table.
ALTER TABLE work_orders ADD COLUMN signed_at TEXT;
ALTER TABLE work_orders ADD COLUMN replied_at TEXT;
