-- The plan changes over time (issue 20): a goal can be ended (achieved or
-- dropped, with a reason) and the case coordinator sees which of the
-- members' progress notes are new since she last opened the plan.
ALTER TABLE case_goal ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'achieved', 'dropped'));
ALTER TABLE case_goal ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE case_plan ADD COLUMN notes_seen_at_ms BIGINT NOT NULL DEFAULT 0;
