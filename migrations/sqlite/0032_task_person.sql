-- A plan's action names a person at its owning party (issue 20): the
-- staff id of who carries it out there (a mentor, a teacher), or empty
-- when only the party is named. That person sees the action on their
-- start page and takes its owner's steps.
ALTER TABLE case_task ADD COLUMN person TEXT NOT NULL DEFAULT '';
