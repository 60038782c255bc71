-- The school's record of a pupil as consent needs it: the birth date that
-- decides who consents (the guardians, the pupil from 16, both from 12 for
-- youth care), recorded once by the school's coordinator instead of typed
-- with every request. Same version stamps as migrations/sqlite.

CREATE TABLE pupil_record (
    child_ref       TEXT PRIMARY KEY,
    birth_date      TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at_ms  BIGINT NOT NULL
);
