-- Kept on the order at filing, for figures by jurisdiction and month without a join and
-- without date arithmetic: the compound's division code and the month filed (YYYYMM, China time).
ALTER TABLE work_orders ADD COLUMN region_code BIGINT;
ALTER TABLE work_orders ADD COLUMN created_month BIGINT;
UPDATE work_orders SET region_code = (SELECT c.region_code FROM compounds c WHERE c.id = work_orders.compound_id),
    created_month = CAST(to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') AS BIGINT);
CREATE INDEX work_orders_month_region ON work_orders (created_month, region_code);
