-- The SWV's support requests (issue 21, ADR 0010): a school's request for
-- outreach support, an arrangement, a rebound placement, a TLV (or its
-- re-indication), LWOO or PrO, and its procedure at the SWV: the
-- completeness question, the trajectbegeleider, the MDO, the two expert
-- advices of a TLV, the decision, an objection, and the legal deadlines.
-- A school's node holds its own requests (school = this party); an SWV's
-- node the requests it received. Same version stamps as migrations/sqlite.

CREATE TABLE support_request (
    id                  TEXT PRIMARY KEY,
    school              TEXT NOT NULL,
    swv                 TEXT NOT NULL,
    child_ref           TEXT NOT NULL,
    child_name          TEXT NOT NULL,
    child_birth_date    TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('outreach_support', 'arrangement', 'rebound', 'admission_statement', 'reindication', 'lwoo', 'pro')),
    level               TEXT CHECK (level IN ('light', 'medium', 'heavy')),
    support_asked       TEXT NOT NULL,
    cost_cents          BIGINT,
    school_type         TEXT CHECK (school_type IN ('sbo', 'so', 'vso')),
    category            TEXT CHECK (category IN ('low', 'medium', 'high')),
    previous_decision   TEXT NOT NULL,
    question            TEXT NOT NULL,
    opp_text            TEXT NOT NULL,
    opp_ref             TEXT NOT NULL,
    guardian_view       TEXT NOT NULL,
    pupil_voice         TEXT NOT NULL,
    voice_reason        TEXT NOT NULL,
    consent_record      TEXT NOT NULL,
    applied_on          TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'returned', 'answered', 'in_intake', 'mdo_planned', 'mdo_held', 'advised', 'decided', 'objected', 'objection_decided', 'withdrawn')),
    version             BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    submitted_on        TEXT NOT NULL,
    trajectory_guide    TEXT NOT NULL,
    completeness_question TEXT NOT NULL,
    completeness_answer TEXT NOT NULL,
    exit_report         TEXT NOT NULL,
    aftercare           TEXT NOT NULL,
    -- At the SWV: the legal basis the request arrived under (the
    -- guardians' consent record and its receipt), for the statuses back.
    -- At the school: the version of the last status the SWV sent that
    -- was applied (an older one arriving late changes nothing).
    status_version      BIGINT NOT NULL DEFAULT 0,
    legal_basis         BYTEA,
    created_at_ms       BIGINT NOT NULL,
    updated_at_ms       BIGINT NOT NULL
);
CREATE INDEX support_request_state ON support_request (state, updated_at_ms);
CREATE INDEX support_request_child ON support_request (child_ref);
-- The region's overview: per school, kind and month.
CREATE INDEX support_request_school_kind ON support_request (school, kind, created_at_ms);

-- The documented history of the first and second line: a reference to the
-- school's own record (IZO minutes, a ZAT meeting, a plan's goal or
-- evaluation) with its text as it was, or what the school adds.
CREATE TABLE support_history (
    request_id      TEXT NOT NULL REFERENCES support_request (id),
    position        BIGINT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('izo_minutes', 'zat_meeting', 'plan_goal', 'plan_evaluation', 'school')),
    line            TEXT NOT NULL CHECK (line IN ('first', 'second')),
    source_ref      TEXT NOT NULL,
    snapshot        TEXT NOT NULL,
    added_by        TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (request_id, position)
);

-- A TLV's written expert advices, in the order recorded (0: the first).
CREATE TABLE support_advice (
    request_id          TEXT NOT NULL REFERENCES support_request (id),
    position            BIGINT NOT NULL,
    advisor_name        TEXT NOT NULL,
    advisor_registration TEXT NOT NULL,
    qualification       TEXT NOT NULL CHECK (qualification IN ('orthopedagogue', 'psychologist', 'child_psychologist', 'pedagogue', 'child_psychiatrist', 'social_worker', 'doctor', 'other')),
    employer_party      TEXT NOT NULL,
    employer_name       TEXT NOT NULL,
    document_ref        TEXT NOT NULL,
    signatories         BIGINT NOT NULL,
    by_committee        BOOLEAN NOT NULL,
    support_plan_test   TEXT NOT NULL,
    why_not_regular     TEXT NOT NULL,
    written_on          TEXT NOT NULL,
    recorded_by         TEXT NOT NULL,
    created_at_ms       BIGINT NOT NULL,
    PRIMARY KEY (request_id, position)
);

-- The request's MDO: planned (and re-planned), then held with its outcome.
CREATE TABLE support_mdo (
    request_id      TEXT PRIMARY KEY REFERENCES support_request (id),
    planned_on      TEXT NOT NULL,
    held_on         TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);
CREATE TABLE support_mdo_participant (
    request_id      TEXT NOT NULL REFERENCES support_request (id),
    position        BIGINT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('school', 'guardians', 'pupil', 'partner', 'swv')),
    name            TEXT NOT NULL,
    party           TEXT NOT NULL,
    PRIMARY KEY (request_id, position)
);

-- The SWV's written, reasoned decision; its id is what a re-indication names.
CREATE TABLE support_decision (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL UNIQUE REFERENCES support_request (id),
    outcome         TEXT NOT NULL CHECK (outcome IN ('granted', 'refused')),
    reasons         TEXT NOT NULL,
    starts_on       TEXT NOT NULL,
    ends_on         TEXT NOT NULL,
    school_type     TEXT CHECK (school_type IN ('sbo', 'so', 'vso')),
    category        TEXT CHECK (category IN ('low', 'medium', 'high')),
    guardians_agree BOOLEAN NOT NULL,
    hearing         TEXT NOT NULL,
    decided_on      TEXT NOT NULL,
    decided_by      TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);

-- An objection (bezwaar) against the decision, the SWV's defence to the
-- committee, the committee's advice and the decision on the objection.
CREATE TABLE support_objection (
    request_id          TEXT PRIMARY KEY REFERENCES support_request (id),
    lodged_on           TEXT NOT NULL,
    grounds             TEXT NOT NULL,
    defence_sent_on     TEXT NOT NULL,
    committee_advice    TEXT NOT NULL,
    committee_advised_on TEXT NOT NULL,
    outcome             TEXT CHECK (outcome IN ('upheld', 'dismissed')),
    reasons             TEXT NOT NULL,
    decided_on          TEXT NOT NULL,
    recorded_by         TEXT NOT NULL,
    updated_at_ms       BIGINT NOT NULL
);

-- One row per running legal clock (ADR 0010 §5): written by the step that
-- starts it, closed (met_at_ms) by the step that meets it. The work list
-- and the notification outbox read the open rows; no timer runs.
CREATE TABLE support_deadline (
    request_id      TEXT NOT NULL REFERENCES support_request (id),
    kind            TEXT NOT NULL CHECK (kind IN ('duty_of_care', 'decision', 'objection_window', 'objection_defence', 'committee_advice', 'reindication')),
    starts_on       TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    extended        BOOLEAN NOT NULL,
    met_at_ms       BIGINT,
    created_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (request_id, kind)
);
CREATE INDEX support_deadline_open ON support_deadline (due_on) WHERE met_at_ms IS NULL;

-- The support documents this node received and took in (a request or an
-- answer at the SWV, a status at the school), each once.
CREATE TABLE support_in (
    message_id      TEXT PRIMARY KEY
);
