-- Consent: every version of every consent record held by this node.
-- `encoded` is the protobuf ConsentVersion; `sha256` its hash, which receipts
-- name. Same version stamps as migrations/postgres.

CREATE TABLE consent_version (
    record_id       TEXT NOT NULL,
    version         BIGINT NOT NULL,
    child_ref       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('requested', 'granted', 'refused', 'withdrawn', 'expired')),
    valid_until     TEXT,
    encoded         BYTEA NOT NULL,
    sha256          BYTEA NOT NULL,
    recorded_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (record_id, version)
);
CREATE INDEX consent_version_child ON consent_version (child_ref, record_id);
CREATE INDEX consent_version_status ON consent_version (status, valid_until);
