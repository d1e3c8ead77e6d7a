-- A vote short of turnout may be extended by its organisers (DOMAIN.md §2.1: one city allows
-- up to 3 months; UNVERIFIED, so the limit is the city setting decision.extension_days).
-- The first closing day is kept when the window is first extended; the limit counts from it.
ALTER TABLE decisions ADD COLUMN first_closes TEXT;
