-- Fabric: outbox, inbox and the hash-chained audit log of one party node.
-- Times are Unix milliseconds. Same version stamps as migrations/postgres.

CREATE TABLE outbox (
    message_id          TEXT PRIMARY KEY,
    document_id         TEXT NOT NULL,
    version             BIGINT NOT NULL,
    recipient           TEXT NOT NULL,
    document_type       TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    legal_basis         BYTEA NOT NULL,
    payload             BYTEA NOT NULL,
    created_at_ms       BIGINT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'notified', 'delivered', 'dead')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms  BIGINT NOT NULL,
    last_error          TEXT,
    released_sha256     BYTEA,
    delivered_at_ms     BIGINT,
    receipt             BYTEA
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);

CREATE TABLE inbox (
    message_id          TEXT PRIMARY KEY,
    sender              TEXT NOT NULL,
    document_type       TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('notified', 'stored', 'acked', 'refused', 'rejected', 'dead')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms  BIGINT NOT NULL,
    last_error          TEXT,
    notified_at_ms      BIGINT NOT NULL,
    received_at_ms      BIGINT,
    header              BYTEA,
    payload             BYTEA,
    signature           BYTEA,
    receipt             BYTEA
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at_ms);

CREATE TABLE audit_head (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    last_hash   BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit (
    seq             BIGINT PRIMARY KEY,
    at_ms           BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    payload_sha256  BYTEA NOT NULL,
    prev_hash       BYTEA NOT NULL,
    hash            BYTEA NOT NULL
);
CREATE INDEX audit_counterparty ON audit (counterparty, seq);
