-- Who may have a child's transfer dossier on request (issue 18, ADR 0003):
-- the school the pupil goes to, recorded by the IB; a request from any other
-- school waits on the IB's work list. Same version stamps as migrations/postgres.

-- The lookup key of a dossier's pupil: a keyed hash (HMAC-SHA256 under this
-- node's own key, handover_secret) of the BSN and date of birth, so a request
-- finds its dossier without decoding every dossier and no BSN is stored in a
-- column of its own. Empty when the dossier names no pupil number.
ALTER TABLE handover_dossier ADD COLUMN pupil_tag TEXT;
-- The party the pupil goes to (a school of the route's receiving kind), set
-- and changed by the IB or care coordinator.
ALTER TABLE handover_dossier ADD COLUMN destination TEXT;
CREATE INDEX handover_dossier_pupil_tag ON handover_dossier (pupil_tag);

-- This node's keys of its own (never sent anywhere): the pupil lookup key.
CREATE TABLE handover_secret (
    name            TEXT PRIMARY KEY,
    secret          BLOB NOT NULL,
    created_at_ms   INTEGER NOT NULL
);

-- A school other than the destination asked for a dossier: an item on the
-- IB's work list until confirmed (the dossier is released to it and it
-- becomes the destination) or declined.
CREATE TABLE handover_request (
    id              TEXT PRIMARY KEY,
    dossier_id      TEXT NOT NULL REFERENCES handover_dossier (id),
    requester       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'declined')),
    requested_at_ms INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at_ms   INTEGER,
    UNIQUE (dossier_id, requester)
);
CREATE INDEX handover_request_state ON handover_request (state, requested_at_ms);

-- Requests per calling party in the current window (the rate limit): how
-- many were answered and how many refused.
CREATE TABLE handover_request_quota (
    peer            TEXT PRIMARY KEY,
    window_start_ms INTEGER NOT NULL,
    answered        INTEGER NOT NULL,
    refused         INTEGER NOT NULL
);
