-- E-mail notifications (ADR 0009). A person the gateway may tell that
-- something waits for them: staff by their staff id, a guardian by their
-- portal pseudonym; the address from their login's `email` claim, the roles
-- of their last login (what waits for them follows from those) and how they
-- want to be told: `per_bericht` (one mail per item) or `dagelijks` (one
-- overview a day). Same version stamps on both backends.
CREATE TABLE notify_person (
    person          TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('staff', 'guardian')),
    subject         TEXT NOT NULL,
    roles           TEXT NOT NULL,
    email           TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('per_bericht', 'dagelijks')),
    last_digest_on  TEXT,
    updated_at_ms   INTEGER NOT NULL
);

-- The notification outbox: one row per (person, event, item), so the same
-- event never mails twice; sent with retries until `sent` or `given_up`.
-- It holds ids and page paths only: no names, no pupil references.
CREATE TABLE notify_outbox (
    event_key           TEXT PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    person              TEXT NOT NULL,
    event               TEXT NOT NULL,
    path                TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'given_up')),
    attempts            INTEGER NOT NULL,
    next_attempt_at_ms  INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    done_at_ms          INTEGER
);
CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at_ms);
CREATE INDEX notify_outbox_person ON notify_outbox (person, state);
