-- The close of a vote reads its whole roll and ballot log (a million rows each at the stress
-- figure, docs/benchmarks.md). In a rowid table every row found through the primary-key index
-- costs a second search of the table; WITHOUT ROWID keeps the rows in primary-key order, so
-- those reads become one sequential scan. Same columns and keys as 0010.
CREATE TABLE roll_subjects_clustered (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    subject_key TEXT NOT NULL,
    sid TEXT NOT NULL,
    area INTEGER NOT NULL,
    PRIMARY KEY (decision_id, subject_key)
) STRICT, WITHOUT ROWID;
INSERT INTO roll_subjects_clustered (decision_id, subject_key, sid, area)
    SELECT decision_id, subject_key, sid, area FROM roll_subjects;
DROP TABLE roll_subjects;
ALTER TABLE roll_subjects_clustered RENAME TO roll_subjects;

CREATE TABLE ballot_events_clustered (
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    sid TEXT NOT NULL,
    answers TEXT,
    by_sid TEXT,
    hash TEXT NOT NULL,
    PRIMARY KEY (decision_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO ballot_events_clustered (decision_id, seq, kind, at, sid, answers, by_sid, hash)
    SELECT decision_id, seq, kind, at, sid, answers, by_sid, hash FROM ballot_events;
DROP TABLE ballot_events;
ALTER TABLE ballot_events_clustered RENAME TO ballot_events;
