-- Issue 21: the trajectbegeleider by name, as the school and the guardians
-- read it (the SWV's staff id means nothing at the school's node).
ALTER TABLE support_request ADD COLUMN trajectory_guide_name TEXT NOT NULL DEFAULT '';
