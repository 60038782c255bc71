-- Safety exceptions (meldcode / risk to the child): data may leave without
-- consent only with a written reason, a named staff member, and the care
-- coordinator it was reported to. Same version stamps as migrations/postgres.

CREATE TABLE safety_exception (
    id              TEXT PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    staff           TEXT NOT NULL,
    reported_to     TEXT NOT NULL,
    recorded_at_ms  INTEGER NOT NULL
);
