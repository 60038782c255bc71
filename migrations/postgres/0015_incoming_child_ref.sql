-- This school's own reference of the pupil a received dossier is about,
-- registered by the one who assigns it. What this school later sends about
-- the dossier under its own consent (feedback to the sending school) must
-- name this pupil, not one typed at that moment. Carried to newer versions
-- of the same dossier. Same version stamps in both migration sets.

ALTER TABLE handover_incoming ADD COLUMN child_ref TEXT;
