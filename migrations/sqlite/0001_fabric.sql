-- Fabric: outbox, inbox and the hash-chained audit log of one party node.
-- Times are Unix milliseconds. Same version stamps as migrations/postgres.

CREATE TABLE outbox (
    message_id          TEXT PRIMARY KEY,
    document_id         TEXT NOT NULL,
    version             INTEGER NOT NULL,
    recipient           TEXT NOT NULL,
    document_type       TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    legal_basis         BLOB NOT NULL,
    payload             BLOB NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'notified', 'delivered', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    last_error          TEXT,
    released_sha256     BLOB,
    delivered_at_ms     INTEGER,
    receipt             BLOB
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);

CREATE TABLE inbox (
    message_id          TEXT PRIMARY KEY,
    sender              TEXT NOT NULL,
    document_type       TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('notified', 'stored', 'acked', 'refused', 'rejected', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    last_error          TEXT,
    notified_at_ms      INTEGER NOT NULL,
    received_at_ms      INTEGER,
    header              BLOB,
    payload             BLOB,
    signature           BLOB,
    receipt             BLOB
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at_ms);

CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,
    last_hash   BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY,
    at_ms           INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    payload_sha256  BLOB NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL
);
CREATE INDEX audit_counterparty ON audit (counterparty, seq);
