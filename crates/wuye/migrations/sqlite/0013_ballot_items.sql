-- Ballot items beyond yes/no proposals (issue 5 §3): an election of N seats among candidates
-- and the selection of one firm among bidders. Each candidate or bidder is a column of the
-- ballot (answered yes / no / abstain, so the ballot log and its public export keep one shape);
-- columns of one election or selection share an item number, its title and its seats.
ALTER TABLE decision_questions ADD COLUMN kind TEXT NOT NULL DEFAULT 'proposal' CHECK (kind IN ('proposal', 'candidate', 'bidder'));
ALTER TABLE decision_questions ADD COLUMN item INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decision_questions ADD COLUMN item_title TEXT NOT NULL DEFAULT '';
ALTER TABLE decision_questions ADD COLUMN seats INTEGER NOT NULL DEFAULT 0;
UPDATE decision_questions SET item = position;
