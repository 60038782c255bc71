-- Peer limits (issue 18, item 9; ADR 0007). Same version stamps as
-- migrations/postgres.

-- Refused calls from other parties, counted per party, kind and subject
-- until their interval ends; then one audit record each takes the count
-- into the hash chain (audit.occurrences) and the row is deleted in the same
-- transaction, so no refusal is ever only in memory.
CREATE TABLE refusal_tally (
    counterparty    TEXT NOT NULL,
    action          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    occurrences     INTEGER NOT NULL,
    first_at_ms     INTEGER NOT NULL,
    last_at_ms      INTEGER NOT NULL,
    -- When the record is due: the first refusal plus the interval.
    due_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (counterparty, action, subject)
);
CREATE INDEX refusal_tally_due ON refusal_tally (due_at_ms);

-- An aggregated record: how many refusals it stands for, the first and the
-- last. NULL on every other record (whose hash is computed as before).
ALTER TABLE audit ADD COLUMN occurrences INTEGER;
ALTER TABLE audit ADD COLUMN first_at_ms INTEGER;
ALTER TABLE audit ADD COLUMN last_at_ms INTEGER;

-- A sender's pending inbox rows, counted at every notification (the quota).
CREATE INDEX inbox_sender_state ON inbox (sender, state);
