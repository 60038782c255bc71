-- A primary school sends a dossier to another primary school (a pupil moving
-- school, OSO overstap POPO): the route the code had since the OSO routes
-- work but the table's CHECK did not accept, so storing one failed. SQLite
-- cannot change a CHECK in place: the table is rebuilt with its rows and
-- index. Same version stamps as migrations/postgres.

CREATE TABLE handover_dossier_0018 (
    id              TEXT PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    route           TEXT NOT NULL CHECK (route IN ('po_vo', 'po_po', 'vo_vo', 'vo_vervolg', 'internal')),
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('draft', 'awaiting_inspection', 'ready', 'published')),
    document        BLOB NOT NULL,
    inspection_id   TEXT,
    created_by      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    pupil_name      TEXT
);
INSERT INTO handover_dossier_0018 (id, child_ref, route, version, state, document, inspection_id,
                                   created_by, created_at_ms, updated_at_ms, pupil_name)
    SELECT id, child_ref, route, version, state, document, inspection_id,
           created_by, created_at_ms, updated_at_ms, pupil_name
      FROM handover_dossier;
DROP TABLE handover_dossier;
ALTER TABLE handover_dossier_0018 RENAME TO handover_dossier;
CREATE INDEX handover_dossier_child ON handover_dossier (child_ref);
