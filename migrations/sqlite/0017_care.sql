-- Care coordination (issue 11, ADR 0006): the IZO's meetings and
-- conversations, the ZAT the school hosts, and one child, one plan.
-- Same version stamps as migrations/postgres.

-- IZO meetings about a registration (appendices 21-22, carenet.v1.IzoMinutes)
-- and the conversations with the pupil and guardians around them.
CREATE TABLE izo_meeting (
    id              TEXT PRIMARY KEY,
    izo_id          TEXT NOT NULL REFERENCES izo_case (id),
    held_on         TEXT NOT NULL,
    minutes         BLOB NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX izo_meeting_case ON izo_meeting (izo_id, held_on);

CREATE TABLE izo_conversation (
    id              TEXT PRIMARY KEY,
    izo_id          TEXT NOT NULL REFERENCES izo_case (id),
    conversation    BLOB NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX izo_conversation_case ON izo_conversation (izo_id);

-- A ZAT case the school hosts (carenet.v1.ZatReferral): referred, its case
-- file distributed to the members, planned (the first meeting set the plan
-- of action), closed.
CREATE TABLE zat_case (
    id              TEXT PRIMARY KEY,
    child_ref       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('referred', 'distributed', 'planned', 'closed')),
    referral        BLOB NOT NULL,
    plan_id         TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX zat_case_child ON zat_case (child_ref);
CREATE INDEX zat_case_state ON zat_case (state, updated_at_ms);

-- To which member the case file went (the message, for its delivery state).
CREATE TABLE zat_member (
    case_id         TEXT NOT NULL REFERENCES zat_case (id),
    party           TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    sent_at_ms      INTEGER NOT NULL,
    PRIMARY KEY (case_id, party)
);

CREATE TABLE zat_meeting (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES zat_case (id),
    held_on         TEXT NOT NULL,
    meeting         BLOB NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX zat_meeting_case ON zat_meeting (case_id, held_on);

-- One child, one plan, at the case coordinator's party. `version` counts
-- every change (the members' views carry it).
CREATE TABLE case_plan (
    id                  TEXT PRIMARY KEY,
    child_ref           TEXT NOT NULL,
    child_name          TEXT NOT NULL,
    child_birth_date    TEXT NOT NULL,
    origin              TEXT NOT NULL,
    origin_id           TEXT NOT NULL,
    coordinator         TEXT NOT NULL,
    reports_back        TEXT NOT NULL,
    evaluation_on       TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    version             INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
CREATE INDEX case_plan_child ON case_plan (child_ref);
-- One child, one plan: at most one open plan per child at a holder.
CREATE UNIQUE INDEX case_plan_open_child ON case_plan (child_ref) WHERE status = 'open';
CREATE INDEX case_plan_status ON case_plan (status, updated_at_ms);
-- What opened or added to a plan (e.g. a ZAT meeting): each source adds
-- once, however often its request is sent.
CREATE TABLE case_plan_source (
    source          TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES case_plan (id)
);

CREATE TABLE case_member (
    plan_id         TEXT NOT NULL REFERENCES case_plan (id),
    party           TEXT NOT NULL,
    role            TEXT NOT NULL,
    person          TEXT NOT NULL,
    valid_from      TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    consent_record  TEXT NOT NULL,
    ended_at_ms     INTEGER,
    end_reason      TEXT,
    PRIMARY KEY (plan_id, party)
);
CREATE INDEX case_member_party ON case_member (party, plan_id);

CREATE TABLE case_goal (
    plan_id         TEXT NOT NULL REFERENCES case_plan (id),
    id              TEXT NOT NULL,
    text            TEXT NOT NULL,
    measure         TEXT NOT NULL,
    target_on       TEXT NOT NULL,
    category        TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (plan_id, id)
);

CREATE TABLE case_task (
    plan_id         TEXT NOT NULL REFERENCES case_plan (id),
    id              TEXT NOT NULL,
    owner           TEXT NOT NULL,
    what            TEXT NOT NULL,
    goal            TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    category        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('requested', 'accepted', 'rejected', 'in_progress', 'on_hold', 'completed', 'failed', 'cancelled')),
    version         INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (plan_id, id)
);
CREATE INDEX case_task_owner ON case_task (owner, plan_id);

CREATE TABLE case_evaluation (
    plan_id         TEXT NOT NULL REFERENCES case_plan (id),
    id              TEXT NOT NULL,
    held_on         TEXT NOT NULL,
    text            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    by_staff        TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (plan_id, id)
);

CREATE TABLE case_note (
    plan_id         TEXT NOT NULL REFERENCES case_plan (id),
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    text            TEXT NOT NULL,
    category        TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (plan_id, id)
);

-- The timeline: everything that happened to a plan, across parties.
CREATE TABLE case_event (
    id              TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES case_plan (id),
    at_ms           INTEGER NOT NULL,
    party           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    text            TEXT NOT NULL,
    category        TEXT NOT NULL
);
CREATE INDEX case_event_plan ON case_event (plan_id, at_ms);

-- At the holder: each member's progress message, applied or refused once.
CREATE TABLE case_progress_in (
    message_id      TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    at_ms           INTEGER NOT NULL
);

-- At a member: the latest view of each plan it received (ids only; the
-- content stays in the inbox, where a withdrawal erases it).
CREATE TABLE case_view_in (
    holder          TEXT NOT NULL,
    plan_id         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    plan_version    INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (holder, plan_id)
);
CREATE TABLE case_view_seen (
    message_id      TEXT PRIMARY KEY
);
