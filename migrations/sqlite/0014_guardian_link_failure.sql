-- Failed attempts to use an invitation code, per guardian login (pseudonym),
-- kept an hour: after five in an hour the portal stops trying codes for
-- that login until the hour has passed. Rows older than an hour are deleted
-- at the next attempt of that login.
-- Same version stamps as migrations/postgres.

CREATE TABLE guardian_link_failure (
    guardian        TEXT NOT NULL,
    at_ms           INTEGER NOT NULL
);
CREATE INDEX guardian_link_failure_guardian ON guardian_link_failure (guardian, at_ms);
