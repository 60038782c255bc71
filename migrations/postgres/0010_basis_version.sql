-- The current version of each revocable legal basis (a consent record), as
-- one row per basis that a change of the basis and a release under it both
-- take in their transactions: a release commits only under the version it
-- was decided on, and a withdrawal sees every release that committed before
-- it (issue 9.6). References are 'consent:<record id>'.

CREATE TABLE basis_version (
    reference  TEXT PRIMARY KEY,
    version    BIGINT NOT NULL
);

INSERT INTO basis_version (reference, version)
SELECT 'consent:' || record_id, MAX(version) FROM consent_version GROUP BY record_id;
