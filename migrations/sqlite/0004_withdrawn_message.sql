-- Messages whose sender withdrew them: their content is deleted from the
-- inbox and they are no longer shown. Same version stamps as migrations/postgres.

CREATE TABLE withdrawn_message (
    message_id      TEXT PRIMARY KEY,
    sender          TEXT NOT NULL,
    withdrawal_id   TEXT NOT NULL,
    reason          TEXT NOT NULL,
    at_ms           INTEGER NOT NULL
);
