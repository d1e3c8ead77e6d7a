-- What an escalation brings (an interview at level 2, a credit record at level 3) is made
-- after the escalation's own transaction; one that failed is retried by the sweep until it is
-- made (inspections::sweep). `followed_up_level`: the highest level whose follow-up is made
-- (every level below it too); `followup_claimed_at`: when an escalation or a retry last took
-- the follow-up on (another retry waits until that claim is old). The follow-ups of notices
-- escalated before this migration count as made: their failures are on their timelines.
ALTER TABLE rectifications ADD COLUMN followed_up_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rectifications ADD COLUMN followup_claimed_at TEXT;
UPDATE rectifications SET followed_up_level = supervision_level;
CREATE INDEX rectifications_followup_due ON rectifications (id) WHERE followed_up_level < supervision_level;
