-- The pupil as a user of the parent portal (ADR 0008): the school invites
-- a pupil with the same one-time code as a guardian, through the same
-- login, and the invitation records whom it is for: 'guardian' (as every
-- invitation before) or 'pupil' (the pupil themself). The link the code
-- makes keeps it, so the portal applies the pupil's side of the age rules
-- to that login. Same version stamps as migrations/sqlite.

ALTER TABLE guardian_invitation ADD COLUMN invitee TEXT NOT NULL DEFAULT 'guardian'
    CHECK (invitee IN ('guardian', 'pupil'));
ALTER TABLE guardian_link ADD COLUMN linked_as TEXT NOT NULL DEFAULT 'guardian'
    CHECK (linked_as IN ('guardian', 'pupil'));
