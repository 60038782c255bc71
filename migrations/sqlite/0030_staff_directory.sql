-- The gateway's staff directory: who works at this party, by name, so that
-- pages show people by name and "pick a person" fields pick from it. A row
-- comes from a staff login's claims (`login`: name, roles, groups) or from
-- the list an admin uploads (`upload`); the newest of either wins. Roles
-- and groups are space-separated. Same version stamps on both backends.
CREATE TABLE staff_directory (
    staff          TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    roles          TEXT NOT NULL,
    groups         TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('login', 'upload')),
    updated_at_ms  INTEGER NOT NULL
);
