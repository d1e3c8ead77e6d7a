-- SQLite rebuilds roll_subjects and ballot_events as WITHOUT ROWID tables here (their rows
-- kept in primary-key order for the close's bulk reads). PostgreSQL reads them through its
-- primary-key indexes already; nothing changes. The file keeps both engines' numbering level.
SELECT 1;
