-- What lists show without reading whole documents (a season's dossiers are
-- 100-200 KB each): a received message's label, set by its slice from the
-- content and cleared in the same statement that clears the content
-- (withdrawal, retention purge); and the pupil's name of a school's own
-- dossier, written with the document. Same version stamps as migrations/sqlite.

ALTER TABLE inbox ADD COLUMN label TEXT;
ALTER TABLE handover_dossier ADD COLUMN pupil_name TEXT;
