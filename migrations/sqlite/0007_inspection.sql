-- Parental inzage: the guardians saw a document (the PO->VO transfer report)
-- before it left, and their view (zienswijze) may be attached. A release on
-- the inspection basis names one of these. Same version stamps as migrations/postgres.

CREATE TABLE inspection (
    id              TEXT PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    document_id     TEXT NOT NULL,
    seen_on         TEXT NOT NULL,
    guardian_view   TEXT,
    recorded_by     TEXT NOT NULL,
    recorded_at_ms  INTEGER NOT NULL
);
CREATE INDEX inspection_document ON inspection (document_id);
