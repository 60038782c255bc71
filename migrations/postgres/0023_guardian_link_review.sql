-- Guardian links end: the school names the guardian an invitation is for
-- and the child's birth date as its records have it (the portal's age rules
-- count from it), may withdraw an unused invitation, revoke a link with a
-- reason the guardian reads on the portal, and reviews every link yearly
-- (a link not renewed by its review date gives no access). Each link and
-- invitation gets a random id, so staff pages address them without a pupil
-- reference. Existing links are due for review a year after they were made,
-- but not within 30 days of this migration. Same version stamps as
-- migrations/sqlite.

ALTER TABLE guardian_invitation ADD COLUMN id TEXT;
ALTER TABLE guardian_invitation ADD COLUMN guardian_name TEXT;
ALTER TABLE guardian_invitation ADD COLUMN child_birth_date TEXT;
ALTER TABLE guardian_invitation ADD COLUMN withdrawn_at_ms BIGINT;
ALTER TABLE guardian_invitation ADD COLUMN withdrawn_by TEXT;
UPDATE guardian_invitation SET id = md5(random()::text || clock_timestamp()::text || child_ref);
CREATE UNIQUE INDEX guardian_invitation_id ON guardian_invitation (id);
CREATE INDEX guardian_invitation_child ON guardian_invitation (child_ref);

ALTER TABLE guardian_link ADD COLUMN id TEXT;
ALTER TABLE guardian_link ADD COLUMN guardian_name TEXT;
ALTER TABLE guardian_link ADD COLUMN invited_as TEXT;
ALTER TABLE guardian_link ADD COLUMN child_birth_date TEXT;
ALTER TABLE guardian_link ADD COLUMN review_by_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE guardian_link ADD COLUMN ended_at_ms BIGINT;
ALTER TABLE guardian_link ADD COLUMN ended_by TEXT;
ALTER TABLE guardian_link ADD COLUMN end_reason TEXT;
UPDATE guardian_link SET id = md5(random()::text || clock_timestamp()::text || guardian || child_ref),
    review_by_ms = GREATEST(linked_at_ms + 31536000000,
        (extract(epoch FROM now()) * 1000)::bigint + 2592000000);
CREATE UNIQUE INDEX guardian_link_id ON guardian_link (id);
CREATE INDEX guardian_link_child ON guardian_link (child_ref);
