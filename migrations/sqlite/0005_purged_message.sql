-- Messages whose content the retention job deleted. The audit chain holds the
-- proof of deletion. Same version stamps as migrations/postgres.

CREATE TABLE purged_message (
    message_id  TEXT NOT NULL,
    side        TEXT NOT NULL CHECK (side IN ('inbox', 'outbox')),
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (message_id, side)
);
