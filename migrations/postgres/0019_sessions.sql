-- The gateway's login sessions, kept here so that one can be ended: at
-- logout, when the provider no longer accepts the login, or by an admin for
-- every session of a staff id. The browser's cookie holds only a random id;
-- this table holds its SHA-256, so reading the table does not give a way in.
-- kind is 'staff' or 'guardian'; subject is the staff id or the guardian's
-- pseudonym; name is what a guardian's login calls them ('' for staff).
-- The provider's tokens let the gateway check the login again every
-- session_recheck_minutes (checked_at_ms).
-- Same version stamps as migrations/sqlite.

CREATE TABLE gateway_session (
    id_sha256      BYTEA PRIMARY KEY,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    roles          TEXT NOT NULL,
    name           TEXT NOT NULL,
    csrf           TEXT NOT NULL,
    id_token       TEXT NOT NULL,
    access_token   TEXT NOT NULL,
    refresh_token  TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    checked_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);

CREATE INDEX gateway_session_subject ON gateway_session (kind, subject);
CREATE INDEX gateway_session_expiry ON gateway_session (expires_at_ms);
