-- The compound list filtered by management mode and jurisdiction, ordered by id, reads this
-- index alone (measured in docs/benchmarks.md: the city-wide page 100 went from 5 ms to 2 ms).
DROP INDEX compounds_mode;
CREATE INDEX compounds_mode ON compounds (management_mode, id, region_code);
