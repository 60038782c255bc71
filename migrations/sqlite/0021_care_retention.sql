-- Care records (issue 18): the retention clock of a school's own IZO, ZAT
-- and case-plan records starts when the case ends, so the end is recorded
-- when it happens (a later change to a closed record does not move it);
-- and the holder counts each member's progress messages (its rate limit),
-- so the sender of each is kept beside its outcome.
-- Same version stamps as migrations/postgres.

ALTER TABLE case_plan ADD COLUMN closed_at_ms INTEGER;
UPDATE case_plan SET closed_at_ms = updated_at_ms WHERE status = 'closed';
CREATE INDEX case_plan_closed ON case_plan (closed_at_ms);

ALTER TABLE zat_case ADD COLUMN closed_at_ms INTEGER;
UPDATE zat_case SET closed_at_ms = updated_at_ms WHERE state = 'closed';

ALTER TABLE case_progress_in ADD COLUMN sender TEXT NOT NULL DEFAULT '';
CREATE INDEX case_progress_in_sender ON case_progress_in (sender, at_ms);
