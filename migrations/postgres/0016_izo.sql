-- The internal care team (IZO) of a school: a registration (the handbook's
-- appendix 20, as carenet.v1.IzoRegistration) and the care coordinator's
-- triage (carenet.v1.IzoTriage). The state says where it stands:
-- registered, accepted, returned (a question back), data_requested, or
-- bilateral (a talk instead of the IZO). Same version stamps as
-- migrations/sqlite.

CREATE TABLE izo_case (
    id              TEXT PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('registered', 'accepted', 'returned', 'data_requested', 'bilateral')),
    registration    BYTEA NOT NULL,
    triage          BYTEA,
    registered_by   TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);
CREATE INDEX izo_case_child ON izo_case (child_ref);
CREATE INDEX izo_case_state ON izo_case (state, updated_at_ms);
