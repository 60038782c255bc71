-- A safety exception names what it allows: one recipient, one purpose, until
-- an end date (as well as the child). Exceptions recorded before this had no
-- scope; their empty columns match no release, so they allow nothing more.

ALTER TABLE safety_exception ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE safety_exception ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE safety_exception ADD COLUMN valid_until TEXT NOT NULL DEFAULT '';
