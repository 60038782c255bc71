//! Who may write into a plan, and what from another node reaches a page
//! (issue 18, items 7 and 8), over real nodes on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL: a member's progress is checked against
//! its own active membership before anything is written, a flood of it is
//! rate-limited per member, and a view whose ids have not an id's form is
//! refused at arrival.

use carenet_caseplan::model::view_document_id;
use carenet_caseplan::{PROGRESS_TYPE, Plan, VIEW_TYPE, member, plan};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Actor, PartyId, PartyKind, Role, audit};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;

const T: std::time::Duration = std::time::Duration::from_secs(30);
/// The holder's `[caseplan] progress_per_hour` in these tests.
const PER_HOUR: u32 = 4;

fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

fn day(offset: i64) -> String {
    let d = carenet_fabric::clock::today() + time::Duration::days(offset);
    carenet_consent::record::format_date(d)
}

/// SWV, the school that holds the plans, and two partners.
async fn region() -> anyhow::Result<TestRegion> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
        PartyPlan::zat("smw-1", "smw", "Schoolmaatschappelijk werk"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    let mut config = region.config("vo-1");
    config.caseplan.progress_per_hour = PER_HOUR;
    std::fs::write(region.config_path("vo-1"), toml::to_string_pretty(&config)?)?;
    region.start_all().await?;
    Ok(region)
}

/// Opens a plan for `child` at `holder` with `party` as its member (under
/// a granted consent) and one action of that member; returns (plan id,
/// consent record).
pub(crate) async fn plan_with_member(
    holder: &Store,
    child: &str,
    name: &str,
    party: &str,
) -> anyhow::Result<(String, String)> {
    let zc = staff(holder, "zc-1", &[Role::CareCoordinator]);
    let consent = asked_consent(
        holder,
        child,
        Purpose::CaseMembership,
        &[party],
        vec![
            Category::ActionPlans,
            Category::Pupil,
            Category::ExternalCare,
        ],
    )
    .await?;
    grant_consent(holder, &consent).await?;
    let id = plan::open(
        holder,
        &zc,
        plan::NewPlan {
            child_ref: child.into(),
            child_name: name.into(),
            child_birth_date: "2013-04-02".into(),
            origin: "zat".into(),
            origin_id: uuid::Uuid::new_v4().to_string(),
            coordinator: "zc-1".into(),
            reports_back: "zc-1 belt de ouders".into(),
            evaluation_on: day(42),
            actions: vec![v1::CaseAction {
                owner: party.into(),
                what: "Gesprek met de jeugdarts".into(),
                goal: "Weer naar school".into(),
                due_on: day(21),
                category: "external_care".into(),
                person: String::new(),
            }],
            members: vec![v1::CaseMember {
                party: party.into(),
                role: "lid".into(),
                person: "J. de Vries".into(),
                consent_record: consent.clone(),
                ..Default::default()
            }],
            source: format!("test:{}", uuid::Uuid::new_v4()),
            ..Default::default()
        },
    )
    .await?;
    Ok((id, consent))
}

/// A progress message as a member's node (or a broken one) sends it, under
/// the legal basis (with the holder's receipt) of a view it received.
fn progress(
    basis: &v1::LegalBasis,
    plan_id: &str,
    task_id: &str,
    step: &str,
    n: usize,
) -> NewMessage {
    NewMessage {
        recipient: PartyId::parse("to", "vo-1").unwrap(),
        document_type: PROGRESS_TYPE.into(),
        document_id: format!("progress-guard-{n}-{}", uuid::Uuid::new_v4()),
        version: 1,
        purpose: "case_membership".into(),
        legal_basis: basis.clone(),
        payload: prost::Message::encode_to_vec(&v1::CategorizedDocument {
            sections: vec![v1::Section {
                category: "external_care".into(),
                name: "case_progress".into(),
                content: prost::Message::encode_to_vec(&v1::CaseProgress {
                    plan_id: plan_id.into(),
                    task_id: task_id.into(),
                    step: step.into(),
                    based_on_version: 1,
                    note: String::new(),
                    staff_ref: "jgz-nurse".into(),
                    at_ms: 0,
                }),
            }],
        }),
        actor: "jgz-nurse".into(),
        child_ref: None,
    }
}

async fn records(store: &Store, action: &str) -> anyhow::Result<Vec<v1::AuditRecord>> {
    Ok(audit::list(&store.db, 0, 100_000)
        .await?
        .into_iter()
        .filter(|r| r.action == action)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_naming_another_childs_plan_changes_nothing_there_and_a_flood_is_refused()
-> anyhow::Result<()> {
    let region = region().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let nurse = staff(&jgz, "jgz-nurse", &[Role::ZatMember]);
    // JGZ is a member of Daan's plan; Sanne's plan is SMW's, not JGZ's.
    let (own, _) = plan_with_member(&vo, "LL-2031", "Daan de Boer", "jgz-1").await?;
    let (other, _) = plan_with_member(&vo, "LL-2032", "Sanne Smit", "smw-1").await?;
    let view = wait_until(T, || async {
        member::show(&jgz, &nurse, "vo-1", &own).await.ok()
    })
    .await?;
    let smw_view = view_document_id(&other);
    wait_until(T, || async {
        let sent = vo.sent_versions(VIEW_TYPE, &smw_view).await.ok()?;
        sent.iter()
            .any(|s| s.delivered_at_ms.is_some())
            .then_some(())
    })
    .await?;
    let basis = jgz
        .received_of_types(&[VIEW_TYPE])
        .await?
        .last()
        .and_then(|v| v.header.legal_basis.clone())
        .expect("a view with its basis");
    let before: Plan = plan::load(&vo, &other).await?;
    let views_before = vo.sent_versions(VIEW_TYPE, &smw_view).await?.len();

    // Under its own membership's receipt, JGZ names Sanne's plan and task.
    let target = before.tasks[0].id.clone();
    let ids = jgz
        .enqueue(&[progress(&basis, &other, &target, "accept", 0)])
        .await?;
    let refused = wait_until(T, || async {
        let r = records(&vo, "refused:case_progress").await.ok()?;
        r.into_iter().find(|r| r.message_id == ids[0])
    })
    .await?;
    assert_eq!(refused.message_id, ids[0], "audited at the holder");
    let after = plan::load(&vo, &other).await?;
    assert_eq!(after.version, before.version, "the other plan's version");
    assert_eq!(after.events, before.events, "the other plan's timeline");
    assert_eq!(after.tasks, before.tasks);
    assert_eq!(
        vo.sent_versions(VIEW_TYPE, &smw_view).await?.len(),
        views_before,
        "no view resent to the other plan's members"
    );

    // A flood: the limit's worth is judged on its merits (one applies, the
    // rest are refused on the member's own plan), the rest unread.
    let task = view
        .tasks
        .iter()
        .find(|t| t.owner == "jgz-1")
        .unwrap()
        .id
        .clone();
    let within = (PER_HOUR - 1) as usize;
    let first: Vec<NewMessage> = (0..within)
        .map(|n| progress(&basis, &own, &task, "accept", n + 1))
        .collect();
    jgz.enqueue(&first).await?;
    let judged = |n: usize| {
        let vo = vo.clone();
        async move {
            let c = records(&vo, "case_progress_applied").await.ok()?.len()
                + records(&vo, "refused:case_progress").await.ok()?.len();
            (c >= n).then_some(())
        }
    };
    wait_until(T, || judged(PER_HOUR as usize)).await?;
    let version = plan::load(&vo, &own).await?.version;
    let flood = 6;
    let more: Vec<NewMessage> = (0..flood)
        .map(|n| progress(&basis, &own, &task, "accept", 100 + n))
        .collect();
    let flooded = jgz.enqueue(&more).await?;
    let rate = wait_until(T, || async {
        let r = records(&vo, "refused:case_progress_rate").await.ok()?;
        let total: usize = r
            .iter()
            .map(|r| {
                r.legal_basis
                    .rsplit(':')
                    .next()
                    .and_then(|n| n.strip_suffix("_refused"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
            })
            .sum();
        (total >= flood).then_some((r, total))
    })
    .await?;
    assert_eq!(rate.1, flood, "each flooded message refused once");
    assert!(
        rate.0.len() <= flood && rate.0.iter().all(|r| flooded.contains(&r.message_id)),
        "one record per run and member, naming a flooded message"
    );
    assert!(
        rate.0.iter().all(|r| r
            .legal_basis
            .starts_with(&format!("rate_limit:{PER_HOUR}/h:"))),
        "{:?}",
        rate.0.iter().map(|r| &r.legal_basis).collect::<Vec<_>>()
    );
    assert_eq!(
        plan::load(&vo, &own).await?.version,
        version,
        "nothing flooded reached the plan"
    );
    assert!(audit::verify(&vo.db).await?.is_ok());
    region.shutdown().await
}

/// A case view as a holder's node (or a broken one) could send it: a task
/// whose id climbs out of its route.
fn crafted_view(plan_id: &str, task_id: &str, consent: &str) -> Vec<u8> {
    Plan {
        id: plan_id.into(),
        child_ref: "LL-2031".into(),
        version: 7,
        pupil: v1::CasePupil {
            name: "Daan de Boer".into(),
            birth_date: "2013-04-02".into(),
        },
        header: v1::CasePlanHeader {
            holder: "vo-1".into(),
            coordinator: "zc-1".into(),
            reports_back: "zc-1".into(),
            evaluation_on: day(42),
            status: "open".into(),
            origin: "zat".into(),
            origin_id: String::new(),
            members: vec![v1::CaseMember {
                party: "jgz-1".into(),
                role: "lid".into(),
                person: "J. de Vries".into(),
                consent_record: consent.into(),
                ..Default::default()
            }],
        },
        goals: Vec::new(),
        tasks: vec![v1::CaseTask {
            id: task_id.into(),
            owner: "jgz-1".into(),
            what: "Gesprek".into(),
            goal: "Weer naar school".into(),
            due_on: day(21),
            state: "requested".into(),
            version: 1,
            category: "action_plans".into(),
            ..Default::default()
        }],
        evaluations: Vec::new(),
        notes: Vec::new(),
        events: Vec::new(),
    }
    .view_payload()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_with_ids_that_are_no_ids_is_refused_at_arrival() -> anyhow::Result<()> {
    let region = region().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let nurse = staff(&jgz, "jgz-nurse", &[Role::ZatMember]);
    let (own, consent) = plan_with_member(&vo, "LL-2031", "Daan de Boer", "jgz-1").await?;
    wait_until(T, || async {
        member::show(&jgz, &nurse, "vo-1", &own).await.ok()
    })
    .await?;

    // The holder's node sends views whose ids are paths: a task id that
    // would make the step button post to another route, and a plan id (in
    // the document id) that would make the list link climb.
    let received = uuid::Uuid::new_v4().to_string();
    let hostile_task = format!("x/../../ontvangen/{received}/samenvatting");
    let bad_task_plan = uuid::Uuid::new_v4().to_string();
    let send = |document_id: String, payload: Vec<u8>| NewMessage {
        recipient: PartyId::parse("to", "jgz-1").unwrap(),
        document_type: VIEW_TYPE.into(),
        document_id,
        version: 7,
        purpose: "case_membership".into(),
        legal_basis: v1::LegalBasis {
            kind: v1::LegalBasisKind::Consent as i32,
            reference: consent.clone(),
            consent_receipt: Vec::new(),
        },
        payload,
        actor: "zc-1".into(),
        child_ref: Some("LL-2031".into()),
    };
    let ids = vo
        .enqueue(&[
            send(
                view_document_id(&bad_task_plan),
                crafted_view(&bad_task_plan, &hostile_task, &consent),
            ),
            send(
                "case-../../ontvangen".into(),
                crafted_view(
                    "../../ontvangen",
                    "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                    &consent,
                ),
            ),
        ])
        .await?;
    // Both arrive, and are refused there (audited at the member).
    wait_until(T, || async {
        let _ = member::list(&jgz, &nurse).await.ok()?;
        let r = records(&jgz, "refused:case_view_arrival").await.ok()?;
        (ids.iter().all(|id| r.iter().any(|r| &r.message_id == id))).then_some(())
    })
    .await?;
    // Nothing of them reaches a list, a page or a link.
    let listed = member::list(&jgz, &nurse).await?;
    assert_eq!(
        listed
            .iter()
            .map(|l| l.plan_id.as_str())
            .collect::<Vec<_>>(),
        [own.as_str()],
        "only the plan with well-formed ids"
    );
    assert!(
        member::show(&jgz, &nurse, "vo-1", &bad_task_plan)
            .await
            .is_err()
    );
    assert!(
        member::show(&jgz, &nurse, "vo-1", "../../ontvangen")
            .await
            .is_err()
    );
    let e = member::report(
        &jgz,
        &nurse,
        "vo-1",
        &bad_task_plan,
        &hostile_task,
        "accept",
        1,
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, carenet_fabric::Error::NotFound(_)), "{e}");
    region.shutdown().await
}
