-- The guardians' inzage bound to what they saw: the version of the document,
-- a SHA-256 of its content (hex; see carenet_handover::inzage) and their
-- answer to it (OSO akkoord, codelijst 37). NULL for a record about a
-- document carenet does not hold (and for records made before this).
-- Publishing a transfer dossier whose content hash is not the one recorded
-- here is refused. Same version stamps as migrations/sqlite.

ALTER TABLE inspection ADD COLUMN document_version BIGINT;
ALTER TABLE inspection ADD COLUMN content_sha256 TEXT;
ALTER TABLE inspection ADD COLUMN akkoord TEXT CHECK (akkoord IN ('Ja', 'Nee', 'Onbekend'));
