-- Wrong invitation codes per guardian login (pseudonym): after five within
-- an hour the portal stops trying codes for that login until the hour has
-- passed. One row per login, taken first in every attempt's transaction,
-- so concurrent attempts of one login are counted one after another.
-- Same version stamps as migrations/postgres.

CREATE TABLE guardian_link_failure (
    guardian        TEXT PRIMARY KEY,
    window_start_ms INTEGER NOT NULL,
    failures        INTEGER NOT NULL
);
