-- Which child a sent message is about (the holder's own pupil reference), and
-- the legal basis as it was released (with its consent receipt): the basis of
-- the parents' "who saw what" view. Same version stamps as migrations/postgres.

ALTER TABLE outbox ADD COLUMN child_ref TEXT;
ALTER TABLE outbox ADD COLUMN released_basis BLOB;
CREATE INDEX outbox_child ON outbox (child_ref);
