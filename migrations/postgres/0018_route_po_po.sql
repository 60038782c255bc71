-- A primary school sends a dossier to another primary school (a pupil moving
-- school, OSO overstap POPO): the route the code had since the OSO routes
-- work but the table's CHECK did not accept, so storing one failed. Same
-- version stamps as migrations/sqlite.

ALTER TABLE handover_dossier DROP CONSTRAINT handover_dossier_route_check;
ALTER TABLE handover_dossier ADD CONSTRAINT handover_dossier_route_check
    CHECK (route IN ('po_vo', 'po_po', 'vo_vo', 'vo_vervolg', 'internal'));
