-- How often an operator sent a message again (`outbox resend`). The notice
-- carries it, so the receiver fetches afresh what it had given up on, but
-- only after a resend: the sender's routine re-notifications do not undo a
-- dead-letter at the receiver.

ALTER TABLE outbox ADD COLUMN resends BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN resends BIGINT NOT NULL DEFAULT 0;
-- A resend starts a new retry period (the queueing time stays as it was).
ALTER TABLE outbox ADD COLUMN retry_since_ms BIGINT;
