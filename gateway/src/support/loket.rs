//! The SWV's steps on a request it received, from the request's page: the
//! loket asks the school a completeness question, names the
//! trajectbegeleider and decides; the trajectbegeleider plans and records
//! the MDO and records the two expert advices of a TLV. Every step is the
//! slice's function with the signed-in actor, so its roles and its legal
//! guards (each broken rule its own Dutch sentence, [`crate::reasons`])
//! are the slice's; a refused form comes back on the request's page with
//! what was typed.

use axum::response::Response;
use carenet_fabric::Role;
use carenet_support::check::{Advice, Decision, Qualification};
use carenet_support::intake;
use carenet_support::model::{Category, Outcome, ParticipantRole, SchoolType};
use carenet_support::request::Participant;

use super::school::{Posted, StepForm, seen, step};
use crate::Error;
use crate::form::{Pairs, field};

fn text(pairs: &Pairs, name: &str) -> String {
    field(pairs, name).trim().to_owned()
}

/// `POST /ondersteuning/{id}/vraag`: the loket returns the request to the
/// school with a completeness question.
pub(crate) async fn question(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "vraag",
            inputs: &[("question", "question")],
            done: "De vraag is naar de school gestuurd.",
        },
        |state, staff, pairs, rid| async move {
            intake::return_question(
                &state.inner.store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                &text(&pairs, "question"),
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ondersteuning/{id}/trajectbegeleider`: the loket names the
/// trajectbegeleider, picked by name from the staff directory.
pub(crate) async fn assign(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "trajectbegeleider",
            inputs: &[("trajectory_guide", "trajectory_guide")],
            done: "De trajectbegeleider is aangewezen.",
        },
        |state, staff, pairs, rid| async move {
            let guide = match crate::staff_directory::resolve(
                &state,
                "trajectory_guide",
                &text(&pairs, "trajectory_guide"),
                &[Role::TrajectoryGuide],
            )
            .await?
            {
                Ok(staff_id) => staff_id,
                Err(unknown) => return Err(unknown.error()),
            };
            let name = crate::staff_directory::name_of(&state, &guide).await?;
            intake::assign(
                &state.inner.store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                &guide,
                &name,
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// How many participant rows the MDO form has.
pub(crate) const MDO_ROWS: usize = 6;

/// `POST /ondersteuning/{id}/mdo`: the trajectbegeleider plans the MDO
/// with its participants (the school and the guardians always).
pub(crate) async fn plan_mdo(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "mdo",
            inputs: &[
                ("planned_on", "planned_on"),
                ("participants", "participant-0-name"),
            ],
            done: "Het MDO is gepland.",
        },
        |state, staff, pairs, rid| async move {
            let mut participants = Vec::new();
            for i in 0..MDO_ROWS {
                let role = text(&pairs, &format!("participant-{i}-role"));
                let name = text(&pairs, &format!("participant-{i}-name"));
                if role.is_empty() || name.is_empty() {
                    continue;
                }
                participants.push(Participant {
                    role: ParticipantRole::choose(&format!("participants[{i}].role"), &role)?,
                    name,
                    party: String::new(),
                });
            }
            intake::plan_mdo(
                &state.inner.store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                &text(&pairs, "planned_on"),
                participants,
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ondersteuning/{id}/mdo-verslag`: the MDO held, with its outcome.
pub(crate) async fn hold_mdo(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "mdo-verslag",
            inputs: &[("held_on", "held_on"), ("outcome", "mdo_outcome")],
            done: "Het MDO is vastgelegd.",
        },
        |state, staff, pairs, rid| async move {
            intake::hold_mdo(
                &state.inner.store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                &text(&pairs, "held_on"),
                &text(&pairs, "mdo_outcome"),
            )
            .await?;
            Ok(())
        },
    )
    .await
}

const ADVICE_INPUTS: &[(&str, &str)] = &[
    ("position", "position"),
    ("advisor_name", "advisor_name"),
    ("advisor_registration", "advisor_registration"),
    ("qualification", "qualification"),
    ("employer_party", "employer_party"),
    ("employer_name", "employer_name"),
    ("document_ref", "document_ref"),
    ("signatories", "signatories"),
    ("by_committee", "by_committee"),
    ("support_plan_test", "support_plan_test"),
    ("why_not_regular", "why_not_regular"),
    ("written_on", "written_on"),
];

/// `POST /ondersteuning/{id}/advies`: one written expert advice on a TLV.
pub(crate) async fn advice(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "advies",
            inputs: ADVICE_INPUTS,
            done: "Het advies is vastgelegd.",
        },
        |state, staff, pairs, rid| async move {
            let signatories = match text(&pairs, "signatories").as_str() {
                "" => 1,
                n => n
                    .parse()
                    .map_err(|_| Error::invalid("signatories", "a number of persons"))?,
            };
            let a = Advice {
                advisor_name: text(&pairs, "advisor_name"),
                advisor_registration: text(&pairs, "advisor_registration"),
                qualification: Qualification::choose(
                    "qualification",
                    &text(&pairs, "qualification"),
                )?,
                employer_party: text(&pairs, "employer_party"),
                employer_name: text(&pairs, "employer_name"),
                document_ref: text(&pairs, "document_ref"),
                signatories,
                by_committee: text(&pairs, "by_committee") == "ja",
                support_plan_test: text(&pairs, "support_plan_test"),
                why_not_regular: text(&pairs, "why_not_regular"),
                written_on: text(&pairs, "written_on"),
            };
            let position = match text(&pairs, "position").as_str() {
                "1" => 1,
                _ => 0,
            };
            intake::record_advice(
                &state.inner.store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                position,
                a,
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ondersteuning/{id}/adviezen`: concludes a TLV's advices (the
/// legal guards run).
pub(crate) async fn advise(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "adviezen",
            inputs: ADVICE_INPUTS,
            done: "De adviezen zijn afgerond; de aanvraag gaat naar het besluit.",
        },
        |state, staff, pairs, rid| async move {
            intake::advise(&state.inner.store, &staff.actor, &rid, seen(&pairs)?).await?;
            Ok(())
        },
    )
    .await
}

const DECISION_INPUTS: &[(&str, &str)] = &[
    ("outcome", "outcome"),
    ("reasons", "reasons"),
    ("starts_on", "starts_on"),
    ("ends_on", "ends_on"),
    ("school_type", "decision_school_type"),
    ("category", "decision_category"),
    ("hearing", "hearing"),
    ("advices", "reasons"),
];

/// `POST /ondersteuning/{id}/besluit`: the loket's written, reasoned
/// decision.
pub(crate) async fn decide(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "besluit",
            inputs: DECISION_INPUTS,
            done: "Het besluit is vastgelegd en gaat naar de school en de ouders.",
        },
        |state, staff, pairs, rid| async move {
            let opt = |name: &str| {
                let v = text(&pairs, name);
                (!v.is_empty()).then_some(v)
            };
            let d = Decision {
                outcome: Outcome::choose("outcome", &text(&pairs, "outcome"))?,
                reasons: text(&pairs, "reasons"),
                starts_on: text(&pairs, "starts_on"),
                ends_on: text(&pairs, "ends_on"),
                school_type: opt("decision_school_type")
                    .map(|v| SchoolType::choose("school_type", &v))
                    .transpose()?,
                category: opt("decision_category")
                    .map(|v| Category::choose("category", &v))
                    .transpose()?,
                guardians_agree: text(&pairs, "guardians_agree") != "nee",
                hearing: text(&pairs, "hearing"),
            };
            intake::decide(
                &state.inner.store,
                &staff.actor,
                state.inner.clock.as_ref(),
                &state.inner.support,
                &rid,
                seen(&pairs)?,
                d,
            )
            .await?;
            Ok(())
        },
    )
    .await
}
