//! Every value the code writes to a constrained column is one the schema
//! accepts, on the backend of this run (SQLite, or PostgreSQL with
//! `TEST_DATABASE_URL`): each variant of each stored enum is written to its
//! table and read back as the same variant. The values come from the code's
//! own lists, so a variant added without its migration fails here (PO→PO was
//! such a route: the code had it, the table refused it). And a value a
//! constraint refuses reaches a person as the field it names, never as the
//! database's text.

use carenet_consent::record::status_name;
use carenet_e2e::fresh_store;
use carenet_fabric::store::Db;
use carenet_fabric::store::read::{InboxState, OutboxState};
use carenet_handover::dossier::{Akkoord, DossierState, Route};
use carenet_proto::v1::ConsentStatus;
use sqlx::Row;
use tonic::Code;
use tonic_types::StatusExt;

/// A value the code writes, with the code's reading of its text back
/// (`None`: the text itself is the value).
type Value = (String, Option<fn(&str) -> String>);

/// One constrained column: the insert of a row with its value (`$1` a fresh
/// key, `$2` the value, `$3` bytes where a BLOB/BYTEA column needs them), and
/// the query of it back by key.
struct Probe {
    column: &'static str,
    insert: &'static str,
    select: &'static str,
    blob: bool,
    /// Every value the code writes.
    values: Vec<Value>,
}

fn texts(values: impl IntoIterator<Item = &'static str>) -> Vec<Value> {
    values.into_iter().map(|v| (v.to_owned(), None)).collect()
}

fn parsed(values: impl IntoIterator<Item = &'static str>, parse: fn(&str) -> String) -> Vec<Value> {
    values
        .into_iter()
        .map(|v| (v.to_owned(), Some(parse)))
        .collect()
}

fn consent_statuses() -> Vec<&'static str> {
    (1..)
        .map_while(|n| ConsentStatus::try_from(n).ok())
        .map(status_name)
        .collect()
}

fn probes() -> Vec<Probe> {
    vec![
        Probe {
            column: "outbox.state",
            insert: "INSERT INTO outbox (message_id, document_id, version, recipient, document_type, purpose, \
                     legal_basis, payload, created_at_ms, state, next_attempt_at_ms) \
                     VALUES ($1, 'doc', 1, 'party', 'type', 'purpose', $3, $3, 0, $2, 0)",
            select: "SELECT state FROM outbox WHERE message_id = $1",
            blob: true,
            values: parsed(OutboxState::ALL.iter().map(|s| s.as_str()), |t| {
                OutboxState::parse("state", t)
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "inbox.state",
            insert: "INSERT INTO inbox (message_id, sender, document_type, state, next_attempt_at_ms, notified_at_ms) \
                     VALUES ($1, 'party', 'type', $2, 0, 0)",
            select: "SELECT state FROM inbox WHERE message_id = $1",
            blob: false,
            values: parsed(InboxState::ALL.iter().map(|s| s.as_str()), |t| {
                InboxState::parse("state", t)
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "purged_message.side",
            insert: "INSERT INTO purged_message (message_id, side, at_ms) VALUES ($1, $2, 0)",
            select: "SELECT side FROM purged_message WHERE message_id = $1",
            blob: false,
            // The retention job's two sides (fabric store::retention).
            values: texts(["inbox", "outbox"]),
        },
        Probe {
            column: "consent_version.status",
            insert: "INSERT INTO consent_version (record_id, version, child_ref, purpose, status, encoded, sha256, recorded_at_ms) \
                     VALUES ($1, 1, 'child', 'purpose', $2, $3, $3, 0)",
            select: "SELECT status FROM consent_version WHERE record_id = $1",
            blob: true,
            values: texts(consent_statuses()),
        },
        Probe {
            column: "handover_dossier.route",
            insert: "INSERT INTO handover_dossier (id, child_ref, route, version, state, document, created_by, created_at_ms, updated_at_ms) \
                     VALUES ($1, 'child', $2, 1, 'draft', $3, 'staff', 0, 0)",
            select: "SELECT route FROM handover_dossier WHERE id = $1",
            blob: true,
            values: parsed(Route::ALL.iter().map(|r| r.as_str()), |t| {
                Route::parse("route", t)
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "handover_dossier.state",
            insert: "INSERT INTO handover_dossier (id, child_ref, route, version, state, document, created_by, created_at_ms, updated_at_ms) \
                     VALUES ($1, 'child', 'po_vo', 1, $2, $3, 'staff', 0, 0)",
            select: "SELECT state FROM handover_dossier WHERE id = $1",
            blob: true,
            values: parsed(DossierState::ALL.iter().map(|s| s.as_str()), |t| {
                DossierState::parse("state", t)
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "inspection.akkoord",
            insert: "INSERT INTO inspection (id, child_ref, document_id, seen_on, recorded_by, recorded_at_ms, \
                     document_version, content_sha256, akkoord) \
                     VALUES ($1, 'child', 'doc', '2026-03-02', 'staff', 0, 1, 'hash', $2)",
            select: "SELECT akkoord FROM inspection WHERE id = $1",
            blob: false,
            // What handover::dossier records with an inzage (OSO codelijst 37).
            values: parsed(Akkoord::ALL.iter().map(|a| a.code()), |t| {
                Akkoord::parse("akkoord", t)
                    .map(|a| a.code().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "warm_handover.state",
            insert: "INSERT INTO warm_handover (id, dossier_id, record, state, updated_at_ms) VALUES ($1, 'doc', $3, $2, 0)",
            select: "SELECT state FROM warm_handover WHERE id = $1",
            blob: true,
            // What handover::warm writes when it plans and holds one.
            values: texts(["planned", "held"]),
        },
        Probe {
            column: "izo_case.state",
            insert: "INSERT INTO izo_case (id, child_ref, state, registration, registered_by, created_at_ms, updated_at_ms) \
                     VALUES ($1, 'child', $2, $3, 'staff', 0, 0)",
            select: "SELECT state FROM izo_case WHERE id = $1",
            blob: true,
            values: parsed(
                carenet_referral::izo::State::all().map(|s| s.as_str()),
                |t| {
                    carenet_referral::izo::State::stored("probe", t)
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default()
                },
            ),
        },
        Probe {
            column: "zat_case.state",
            insert: "INSERT INTO zat_case (id, child_ref, state, referral, created_at_ms, updated_at_ms) \
                     VALUES ($1, 'child', $2, $3, 0, 0)",
            select: "SELECT state FROM zat_case WHERE id = $1",
            blob: true,
            values: parsed(
                carenet_referral::zat::State::all().map(|s| s.as_str()),
                |t| {
                    carenet_referral::zat::State::stored("probe", t)
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default()
                },
            ),
        },
        Probe {
            column: "case_plan.status",
            // child_ref is the key too: at most one open plan per child.
            insert: "INSERT INTO case_plan (id, child_ref, child_name, child_birth_date, origin, origin_id, coordinator, \
                     reports_back, evaluation_on, status, version, created_at_ms, updated_at_ms) \
                     VALUES ($1, $1, 'name', '2012-01-01', 'zat', 'case', 'coordinator', 'coordinator', '2027-01-01', $2, 0, 0, 0)",
            select: "SELECT status FROM case_plan WHERE id = $1",
            blob: false,
            // What caseplan::plan writes when it opens and closes a plan.
            values: texts(["open", "closed"]),
        },
        Probe {
            column: "case_goal.status",
            insert: "INSERT INTO case_goal (plan_id, id, text, measure, target_on, category, created_at_ms, status) \
                     VALUES ('probe-plan', $1, 'text', 'measure', '2027-01-01', 'action_plans', 0, $2)",
            select: "SELECT status FROM case_goal WHERE id = $1",
            blob: false,
            // What caseplan::change writes when a goal ends.
            values: texts(carenet_caseplan::change::GOAL_STATES.iter().copied()),
        },
        Probe {
            column: "case_task.state",
            insert: "INSERT INTO case_task (plan_id, id, owner, what, goal, due_on, category, state, version, reason, \
                     created_at_ms, updated_at_ms) \
                     VALUES ('probe-plan', $1, 'owner', 'what', 'goal', '2027-01-01', 'category', $2, 0, '', 0, 0)",
            select: "SELECT state FROM case_task WHERE id = $1",
            blob: false,
            values: parsed(
                carenet_caseplan::task::State::all().map(|s| s.as_str()),
                |t| {
                    carenet_caseplan::task::State::parse("state", t)
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default()
                },
            ),
        },
    ]
    .into_iter()
    .chain(notification_probes())
    .chain(support_probes())
    .chain(staff_directory_probes())
    .collect()
}

/// The support slice's columns (issue 21), each with every variant of its
/// enum; the rows hang off one probe request (their foreign key).
fn support_probes() -> Vec<Probe> {
    use carenet_support::check::Qualification;
    use carenet_support::deadline::DeadlineKind;
    use carenet_support::model::{
        ArrangementLevel, Category, HistorySource, Kind, Line, ObjectionOutcome, Outcome,
        ParticipantRole, SchoolType, State,
    };
    fn all<T: Copy + 'static>(
        values: &'static [T],
        text: fn(T) -> &'static str,
        parse: fn(&str) -> String,
    ) -> Vec<Value> {
        parsed(values.iter().map(|v| text(*v)), parse)
    }
    /// A request row with `$values` (`$1` its id).
    macro_rules! request {
        ($values:literal) => {
            concat!(
                "INSERT INTO support_request (id, school, swv, child_ref, child_name, child_birth_date, kind, level, \
                 support_asked, cost_cents, school_type, category, previous_decision, question, opp_text, opp_ref, \
                 guardian_view, pupil_voice, voice_reason, consent_record, applied_on, state, version, created_by, \
                 submitted_on, trajectory_guide, completeness_question, completeness_answer, exit_report, aftercare, \
                 created_at_ms, updated_at_ms) VALUES ",
                $values
            )
        };
    }
    vec![
        Probe {
            column: "support_request.kind",
            insert: request!(
                "($1, 'po-1', 'swv', 'c', 'n', '2016-01-01', $2, NULL, '', NULL, NULL, NULL, '', '', '', '', '', '', '', '', '', 'draft', 1, 's', '', '', '', '', '', '', 0, 0)"
            ),
            select: "SELECT kind FROM support_request WHERE id = $1",
            blob: false,
            values: all(Kind::ALL, Kind::as_str, |t| {
                Kind::parse("kind", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_request.state",
            insert: request!(
                "($1, 'po-1', 'swv', 'c', 'n', '2016-01-01', 'pro', NULL, '', NULL, NULL, NULL, '', '', '', '', '', '', '', '', '', $2, 1, 's', '', '', '', '', '', '', 0, 0)"
            ),
            select: "SELECT state FROM support_request WHERE id = $1",
            blob: false,
            values: all(State::ALL, State::as_str, |t| {
                State::parse("state", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_request.level",
            insert: request!(
                "($1, 'po-1', 'swv', 'c', 'n', '2016-01-01', 'arrangement', $2, 'x', 100, NULL, NULL, '', '', '', '', '', '', '', '', '', 'draft', 1, 's', '', '', '', '', '', '', 0, 0)"
            ),
            select: "SELECT level FROM support_request WHERE id = $1",
            blob: false,
            values: all(ArrangementLevel::ALL, ArrangementLevel::as_str, |t| {
                ArrangementLevel::parse("level", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_request.school_type",
            insert: request!(
                "($1, 'po-1', 'swv', 'c', 'n', '2016-01-01', 'admission_statement', NULL, '', NULL, $2, 'low', '', '', '', '', '', '', '', '', '', 'draft', 1, 's', '', '', '', '', '', '', 0, 0)"
            ),
            select: "SELECT school_type FROM support_request WHERE id = $1",
            blob: false,
            values: all(SchoolType::ALL, SchoolType::as_str, |t| {
                SchoolType::parse("school_type", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_request.category",
            insert: request!(
                "($1, 'po-1', 'swv', 'c', 'n', '2016-01-01', 'admission_statement', NULL, '', NULL, 'so', $2, '', '', '', '', '', '', '', '', '', 'draft', 1, 's', '', '', '', '', '', '', 0, 0)"
            ),
            select: "SELECT category FROM support_request WHERE id = $1",
            blob: false,
            values: all(Category::ALL, Category::as_str, |t| {
                Category::parse("category", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_history.source",
            insert: "INSERT INTO support_history (request_id, position, source, line, source_ref, snapshot, added_by, created_at_ms) \
                     VALUES ('probe-support', 100 + CAST(substr($1, length($1)) AS INTEGER), $2, 'first', '', $1, 's', 0)",
            select: "SELECT source FROM support_history WHERE snapshot = $1",
            blob: false,
            values: all(HistorySource::ALL, HistorySource::as_str, |t| {
                HistorySource::parse("source", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_history.line",
            insert: "INSERT INTO support_history (request_id, position, source, line, source_ref, snapshot, added_by, created_at_ms) \
                     VALUES ('probe-support', 200 + CAST(substr($1, length($1)) AS INTEGER), 'school', $2, '', $1, 's', 0)",
            select: "SELECT line FROM support_history WHERE snapshot = $1",
            blob: false,
            values: all(Line::ALL, Line::as_str, |t| {
                Line::parse("line", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_advice.qualification",
            insert: "INSERT INTO support_advice (request_id, position, advisor_name, advisor_registration, qualification, \
                     employer_party, employer_name, document_ref, signatories, by_committee, support_plan_test, why_not_regular, \
                     written_on, recorded_by, created_at_ms) \
                     VALUES ('probe-support', CAST(substr($1, length($1)) AS INTEGER), $1, '', $2, '', 'e', 'd', 1, false, 't', 'w', '2026-01-01', 's', 0)",
            select: "SELECT qualification FROM support_advice WHERE advisor_name = $1",
            blob: false,
            values: all(Qualification::ALL, Qualification::as_str, |t| {
                Qualification::parse("qualification", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_mdo_participant.role",
            insert: "INSERT INTO support_mdo_participant (request_id, position, role, name, party) \
                     VALUES ('probe-support', CAST(substr($1, length($1)) AS INTEGER), $2, $1, '')",
            select: "SELECT role FROM support_mdo_participant WHERE name = $1",
            blob: false,
            values: all(ParticipantRole::ALL, ParticipantRole::as_str, |t| {
                ParticipantRole::parse("role", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_decision.outcome",
            insert: "INSERT INTO support_decision (id, request_id, outcome, reasons, starts_on, ends_on, school_type, category, \
                     guardians_agree, hearing, decided_on, decided_by, created_at_ms) \
                     VALUES ($1, $1, $2, 'r', '', '', NULL, NULL, true, '', '2026-01-01', 's', 0)",
            select: "SELECT outcome FROM support_decision WHERE id = $1",
            blob: false,
            values: all(Outcome::ALL, Outcome::as_str, |t| {
                Outcome::parse("outcome", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_objection.outcome",
            insert: "INSERT INTO support_objection (request_id, lodged_on, grounds, defence_sent_on, committee_advice, \
                     committee_advised_on, outcome, reasons, decided_on, recorded_by, updated_at_ms) \
                     VALUES ($1, '2026-01-01', 'g', '', '', '', $2, '', '', 's', 0)",
            select: "SELECT outcome FROM support_objection WHERE request_id = $1",
            blob: false,
            values: all(ObjectionOutcome::ALL, ObjectionOutcome::as_str, |t| {
                ObjectionOutcome::parse("outcome", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
        Probe {
            column: "support_deadline.kind",
            insert: "INSERT INTO support_deadline (request_id, kind, starts_on, due_on, extended, met_at_ms, created_at_ms) \
                     VALUES ('probe-support', $2, '2026-01-01', $1, false, NULL, 0)",
            select: "SELECT kind FROM support_deadline WHERE due_on = $1",
            blob: false,
            values: all(DeadlineKind::ALL, DeadlineKind::as_str, |t| {
                DeadlineKind::parse("kind", t)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            }),
        },
    ]
}

/// The gateway's staff directory, with the sources it writes.
fn staff_directory_probes() -> Vec<Probe> {
    let values = carenet_gateway::staff_directory_stored_values()
        .into_iter()
        .find(|(c, _)| *c == "staff_directory.source")
        .map(|(_, v)| v)
        .unwrap_or_default();
    vec![Probe {
        column: "staff_directory.source",
        insert: "INSERT INTO staff_directory (staff, display_name, roles, groups, source, updated_at_ms) \
                 VALUES ($1, 'naam', 'mentor', '', $2, 0)",
        select: "SELECT source FROM staff_directory WHERE staff = $1",
        blob: false,
        values: parsed(values, |t| {
            carenet_gateway::staff_directory::Source::parse("source", t)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default()
        }),
    }]
}

/// The notifier's columns (ADR 0009), with the values the gateway writes.
fn notification_probes() -> Vec<Probe> {
    let values = |column: &str| {
        texts(
            carenet_gateway::notification_stored_values()
                .into_iter()
                .find(|(c, _)| *c == column)
                .map(|(_, v)| v)
                .unwrap_or_default(),
        )
    };
    vec![
        Probe {
            column: "notify_person.mode",
            insert: "INSERT INTO notify_person (person, kind, subject, roles, email, mode, updated_at_ms) \
                     VALUES ($1, 'staff', $1, '', 'a@b.example', $2, 0)",
            select: "SELECT mode FROM notify_person WHERE person = $1",
            blob: false,
            values: values("notify_person.mode"),
        },
        Probe {
            column: "notify_person.kind",
            insert: "INSERT INTO notify_person (person, kind, subject, roles, email, mode, updated_at_ms) \
                     VALUES ($1, $2, $1, '', 'a@b.example', 'per_bericht', 0)",
            select: "SELECT kind FROM notify_person WHERE person = $1",
            blob: false,
            values: values("notify_person.kind"),
        },
        Probe {
            column: "notify_outbox.state",
            insert: "INSERT INTO notify_outbox (event_key, id, person, event, path, state, attempts, \
                     next_attempt_at_ms, created_at_ms) VALUES ($1, $1, 'p', 'e', '/', $2, 0, 0, 0)",
            select: "SELECT state FROM notify_outbox WHERE event_key = $1",
            blob: false,
            values: values("notify_outbox.state"),
        },
    ]
}

async fn execute(
    db: &Db,
    sql: &'static str,
    key: &str,
    value: &str,
    blob: bool,
) -> Result<(), sqlx::Error> {
    carenet_fabric::with_db!(db, pool => {
        let mut q = sqlx::query(sql).bind(key).bind(value);
        if blob {
            q = q.bind(vec![1u8, 2, 3]);
        }
        q.execute(pool).await.map(|_| ())
    })
}

async fn read_back(db: &Db, sql: &'static str, key: &str) -> anyhow::Result<String> {
    Ok(carenet_fabric::with_db!(db, pool => {
        sqlx::query(sql).bind(key).fetch_one(pool).await?.try_get::<String, _>(0)?
    }))
}

#[tokio::test]
async fn every_stored_enum_value_is_accepted_and_reads_back_the_same() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    // The tasks' plan (their foreign key).
    execute(
        &store.db,
        "INSERT INTO case_plan (id, child_ref, child_name, child_birth_date, origin, origin_id, coordinator, \
         reports_back, evaluation_on, status, version, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, 'name', '2012-01-01', 'zat', 'case', 'c', 'c', '2027-01-01', 'closed', 0, 0, 0)",
        "probe-plan",
        "probe-child",
        false,
    )
    .await?;
    // The support rows' request (their foreign key), and one request per
    // decision and objection probe (one of each per request).
    let support_request = "INSERT INTO support_request (id, school, swv, child_ref, child_name, child_birth_date, kind, level, \
         support_asked, cost_cents, school_type, category, previous_decision, question, opp_text, opp_ref, guardian_view, \
         pupil_voice, voice_reason, consent_record, applied_on, state, version, created_by, submitted_on, trajectory_guide, \
         completeness_question, completeness_answer, exit_report, aftercare, created_at_ms, updated_at_ms) \
         VALUES ($1, 'po-1', 'swv', 'c', 'n', '2016-01-01', 'pro', NULL, '', NULL, NULL, NULL, '', '', '', '', '', '', '', '', $2, \
         'draft', 1, 's', '', '', '', '', '', '', 0, 0)";
    let mut keys = vec!["probe-support".to_owned()];
    for column in ["support_decision-outcome", "support_objection-outcome"] {
        keys.extend((0..2).map(|n| format!("{column}-{n}")));
    }
    for key in &keys {
        execute(&store.db, support_request, key, "", false).await?;
    }
    let mut refused = Vec::new();
    let mut checked = 0;
    for probe in probes() {
        assert!(!probe.values.is_empty(), "{}: no values", probe.column);
        for (n, (value, parse)) in probe.values.iter().enumerate() {
            let key = format!("{}-{n}", probe.column.replace('.', "-"));
            if let Err(e) = execute(&store.db, probe.insert, &key, value, probe.blob).await {
                refused.push(format!("{} = {value:?}: {e}", probe.column));
                continue;
            }
            let text = read_back(&store.db, probe.select, &key).await?;
            assert_eq!(&text, value, "{} read back", probe.column);
            if let Some(parse) = parse {
                assert_eq!(&parse(&text), value, "{} parsed back", probe.column);
            }
            checked += 1;
        }
    }
    assert!(
        refused.is_empty(),
        "the schema refuses values the code writes:\n{}",
        refused.join("\n")
    );
    assert!(checked >= 40, "only {checked} values checked");
    Ok(())
}

/// What a constraint error of this backend says at each boundary.
async fn refused(
    store: &carenet_fabric::store::Store,
    sql: &'static str,
    key: &str,
    value: &str,
) -> carenet_fabric::Error {
    let e = execute(&store.db, sql, key, value, true)
        .await
        .expect_err("the schema refuses it");
    carenet_fabric::Error::from(e)
}

#[tokio::test]
async fn a_value_the_schema_refuses_is_named_by_its_field_never_by_database_text()
-> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let insert = "INSERT INTO handover_dossier (id, child_ref, route, version, state, document, created_by, created_at_ms, updated_at_ms) \
                  VALUES ($1, 'child', $2, 1, 'draft', $3, 'staff', 0, 0)";
    // A CHECK: a route no code writes.
    let check = refused(&store, insert, "d-1", "po_mars").await;
    assert_eq!(
        check.to_string(),
        "route: is not a value this field accepts"
    );
    let status = tonic::Status::from(check);
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = status
        .get_details_bad_request()
        .expect("bad request details");
    assert_eq!(violations.field_violations[0].field, "route");
    assert!(!status.message().contains("CHECK") && !status.message().contains("constraint"));

    // A key taken twice.
    execute(&store.db, insert, "d-2", "po_vo", true).await?;
    let unique = refused(&store, insert, "d-2", "po_vo").await;
    assert_eq!(unique.to_string(), "id: already exists");

    // A value left out.
    let not_null = refused(
        &store,
        "INSERT INTO handover_dossier (id, child_ref, route, version, state, document, created_by, created_at_ms, updated_at_ms) \
         VALUES ($1, NULL, $2, 1, 'draft', $3, 'staff', 0, 0)",
        "d-3",
        "po_vo",
    )
    .await;
    assert_eq!(not_null.to_string(), "child_ref: is required");

    // Any other database error says nothing of the database's text.
    let other = carenet_fabric::Error::from(sqlx::Error::RowNotFound);
    assert_eq!(other.to_string(), "database error (details in the log)");
    assert_eq!(tonic::Status::from(other).code(), Code::Internal);
    Ok(())
}

/// Whom a portal invitation and its link are for (ADR 0008): each value
/// the consent slice writes is accepted by `guardian_invitation.invitee`
/// and `guardian_link.linked_as` and reads back as itself; another is
/// refused. (Their own test: the invitation's key is a hash column, one
/// value per row.)
#[tokio::test]
async fn portal_invitees_are_accepted_and_read_back() -> anyhow::Result<()> {
    use carenet_consent::links::Invitee;
    let (_dir, store) = fresh_store("vo-1").await?;
    let insert = |key: String, value: &'static str| {
        let db = store.db.clone();
        async move {
            carenet_fabric::with_db!(&db, pool => {
                sqlx::query(
                    "INSERT INTO guardian_invitation (code_sha256, id, child_ref, created_by, created_at_ms, \
                     expires_at_ms, invitee) VALUES ($1, $2, 'child', 'staff', 0, 0, $3)",
                )
                .bind(key.as_bytes().to_vec())
                .bind(&key)
                .bind(value)
                .execute(pool)
                .await?;
                sqlx::query(
                    "INSERT INTO guardian_link (guardian, child_ref, linked_at_ms, id, linked_as) \
                     VALUES ($1, 'child', 0, $1, $2)",
                )
                .bind(&key)
                .bind(value)
                .execute(pool)
                .await
                .map(|_| ())
            })
        }
    };
    for (n, invitee) in Invitee::ALL.iter().enumerate() {
        let key = format!("invitee-{n}");
        insert(key.clone(), invitee.as_str()).await?;
        let invited = read_back(
            &store.db,
            "SELECT invitee FROM guardian_invitation WHERE id = $1",
            &key,
        )
        .await?;
        let linked = read_back(
            &store.db,
            "SELECT linked_as FROM guardian_link WHERE id = $1",
            &key,
        )
        .await?;
        assert_eq!(invited, invitee.as_str());
        assert_eq!(linked, invitee.as_str());
        assert_eq!(Invitee::parse("invitee", &linked)?, *invitee);
    }
    assert!(
        insert("invitee-other".into(), "teacher").await.is_err(),
        "a value no code writes is refused"
    );
    Ok(())
}
