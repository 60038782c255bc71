-- The parent portal: a school invites a guardian with a one-time code (only
-- its hash is kept), which expires and is bound to the guardian's login at
-- first use; the link then lets that login act for that child only. The
-- guardian is named by a pseudonym of their login, never by BSN or name.
-- Same version stamps as migrations/postgres.

CREATE TABLE guardian_invitation (
    code_sha256     BLOB PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    guardian        TEXT,
    redeemed_at_ms  INTEGER
);

CREATE TABLE guardian_link (
    guardian        TEXT NOT NULL,
    child_ref       TEXT NOT NULL,
    linked_at_ms    INTEGER NOT NULL,
    PRIMARY KEY (guardian, child_ref)
);
