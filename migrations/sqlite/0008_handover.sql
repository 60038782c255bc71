-- Transfer dossiers (issue "handover"). Times are Unix milliseconds. Same
-- version stamps as migrations/postgres.

-- The dossiers this school composes or imports (the sender's side). The
-- current version's categorised document is kept; every released version is
-- in the outbox with its message.
CREATE TABLE handover_dossier (
    id              TEXT PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    route           TEXT NOT NULL CHECK (route IN ('po_vo', 'vo_vo', 'vo_vervolg', 'internal')),
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('draft', 'awaiting_inspection', 'ready', 'published')),
    document        BLOB NOT NULL,
    inspection_id   TEXT,
    created_by      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX handover_dossier_child ON handover_dossier (child_ref);

-- What was released to whom is the outbox (document type, document id,
-- version, recipient); the handover looks its dossiers up there.
CREATE INDEX outbox_document ON outbox (document_id, version);

-- Dossiers this school received (the receiver's side): the last mile.
CREATE TABLE handover_incoming (
    message_id      TEXT PRIMARY KEY,
    sender          TEXT NOT NULL,
    document_id     TEXT NOT NULL,
    version         INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    mentor          TEXT,
    teachers        TEXT,
    assigned_by     TEXT,
    assigned_at_ms  INTEGER,
    opened_at_ms    INTEGER,
    reminded_at_ms  INTEGER,
    feedback_at_ms  INTEGER,
    izo_at_ms       INTEGER
);
CREATE INDEX handover_incoming_document ON handover_incoming (sender, document_id, version);

-- What came back to the sender about its dossiers: read by the mentor,
-- feedback, warm-handover records of the other side.
CREATE TABLE handover_status (
    message_id      TEXT PRIMARY KEY,
    document_id     TEXT NOT NULL,
    version         INTEGER NOT NULL,
    from_party      TEXT NOT NULL,
    status          TEXT NOT NULL,
    at_ms           INTEGER NOT NULL
);
CREATE INDEX handover_status_document ON handover_status (document_id);

-- Warm handovers (handover conversations) this school plans or holds.
CREATE TABLE warm_handover (
    id              TEXT PRIMARY KEY,
    dossier_id      TEXT NOT NULL,
    record          BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('planned', 'held')),
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX warm_handover_dossier ON warm_handover (dossier_id);

-- IZO registrations made straight from a received dossier; the referral
-- service (next issue) takes them over.
CREATE TABLE izo_registration (
    id               TEXT PRIMARY KEY,
    message_id       TEXT NOT NULL,
    question         TEXT NOT NULL,
    guardians_informed INTEGER NOT NULL,
    not_informed_reason TEXT,
    registered_by    TEXT NOT NULL,
    at_ms            INTEGER NOT NULL
);
