//! The parent portal's links end, and what a guardian sees follows the
//! child's age, on real nodes and both backends (issue 18, items 2 and 3):
//! staff list a pupil's links, revoke one with a reason the guardian reads,
//! withdraw an invitation before use and renew a link at its yearly review,
//! and the guardian's next request is refused; a guardian of a 17-year-old
//! sees none of the pupil's own consents, dossiers, disclosures or plan, and
//! a plan shows only the categories the guardian may see, uncounted.

use carenet_caseplan::plan::{self, NewPlan};
use carenet_consent::links::{self, LinkState, NewInvitation};
use carenet_consent::portal::{self, Guardian};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision, format_date};
use carenet_consent::{Category, Error, Purpose};
use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyKind, Role, audit, with_db};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{self, consent_recipient::Target};
use time::Date;

use crate::three_parties;

const DAY_MS: i64 = 86_400_000;

fn guardian(store: &Store, subject: &str, name: &str) -> Guardian {
    use carenet_fabric::crypto::SigningKey;
    static KEY: std::sync::LazyLock<SigningKey> = std::sync::LazyLock::new(|| {
        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
    });
    Guardian::from_login(
        store.party.clone(),
        &KEY,
        "https://broker.example",
        subject,
        name,
    )
}

fn invitation(child: &str, name: &str, born: Date) -> NewInvitation {
    NewInvitation {
        child_ref: child.into(),
        guardian_name: name.into(),
        child_birth_date: born,
        days: 30,
    }
}

fn years_ago(years: i32) -> anyhow::Result<Date> {
    let today = carenet_fabric::clock::today();
    Ok(today.replace_year(today.year() - years)?)
}

/// A consent of `purpose` to `to`, asked by `by`; granted by `grantor` when given.
async fn consent(
    store: &Store,
    by: &Actor,
    child: &str,
    born: Date,
    purpose: Purpose,
    to: &str,
    grantor: Option<v1::GrantorRole>,
) -> anyhow::Result<String> {
    let consents = ConsentStore::new(store.clone());
    let today = carenet_fabric::clock::today();
    let asked = consents
        .request(
            by,
            &ConsentRequest {
                child_ref: child.into(),
                child_birth_date: born,
                purpose,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId(to.into())),
                }],
                categories: vec![Category::Pupil, Category::CareHistory],
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    if let Some(role) = grantor {
        let decision = Decision {
            grantors: vec![v1::Grantor {
                role: role as i32,
                name: "in gesprek op school".into(),
            }],
            evidence: v1::Evidence {
                kind: v1::EvidenceKind::RecordedConversation as i32,
                ..Default::default()
            },
            today,
        };
        consents.grant(by, &asked, &decision).await?;
    }
    Ok(asked)
}

async fn actions(store: &Store) -> anyhow::Result<Vec<v1::AuditRecord>> {
    Ok(audit::list(&store.db, 0, 10_000).await?)
}

fn denied(e: &Error) -> bool {
    matches!(e, Error::Fabric(carenet_fabric::Error::PermissionDenied(_)))
}

fn precondition(e: &Error) -> bool {
    matches!(
        e,
        Error::Fabric(carenet_fabric::Error::FailedPrecondition(_))
    )
}

/// Item 2: a link between a login and a child ends. The school lists a
/// pupil's links (the name the login gave, the name it invited, since and
/// until when), withdraws an unused invitation, revokes a link with a reason
/// the guardian reads (the guardian's next request is refused, audited, and
/// the reason stays out of the audit log), and a link not renewed by its
/// yearly review date gives no access until the school renews it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_ends_a_guardian_link_and_the_next_request_is_refused() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    let store = po.store.clone();
    let ib = Actor::new(store.party.clone(), "ib-1", [Role::SupportCoordinatorPo])?;
    let mentor = Actor::new(store.party.clone(), "m-1", [Role::Mentor])?;
    let born = Date::from_calendar_date(2014, time::Month::May, 1)?;
    let record = consent(
        &store,
        &ib,
        "pupil-1",
        born,
        Purpose::TransferDossier,
        "vo-1",
        None,
    )
    .await?;

    // An invitation names its guardian and the birth date the school holds.
    let wrong = links::invite(
        &store,
        &ib,
        &invitation("pupil-1", "J. de Vries", born.previous_day().unwrap()),
        false,
    )
    .await
    .expect_err("another birth date");
    assert!(
        wrong.to_string().starts_with("child_birth_date:"),
        "{wrong}"
    );
    let nameless = links::invite(&store, &ib, &invitation("pupil-1", " ", born), false)
        .await
        .expect_err("no name");
    assert!(
        nameless.to_string().starts_with("guardian_name:"),
        "{nameless}"
    );
    let for_father = links::invite(
        &store,
        &ib,
        &invitation("pupil-1", "J. de Vries", born),
        false,
    )
    .await?;
    let mislaid = links::invite(
        &store,
        &ib,
        &invitation("pupil-1", "A. de Vries", born),
        false,
    )
    .await?;
    let listed = links::for_child(&store, &ib, "pupil-1").await?;
    let open: Vec<&str> = listed
        .invitations
        .iter()
        .map(|i| i.guardian_name.as_str())
        .collect();
    assert_eq!(open, ["J. de Vries", "A. de Vries"]);
    assert!(listed.links.is_empty());

    // A mislaid letter: withdrawn before use, its code links no one.
    links::withdraw_invitation(&store, &ib, &mislaid.id).await?;
    let finder = guardian(&store, "s-finder", "Iemand anders");
    let e = portal::redeem(&store, &finder, &mislaid.code)
        .await
        .expect_err("withdrawn");
    assert!(e.to_string().starts_with("code:"), "{e}");
    assert!(portal::children(&store, &finder).await?.is_empty());

    // The father links; the school sees the login's name, since and until when.
    let father = guardian(&store, "s-father", "Jan de Vries");
    portal::redeem(&store, &father, &for_father.code).await?;
    let e = links::withdraw_invitation(&store, &ib, &for_father.id)
        .await
        .expect_err("used");
    assert!(precondition(&e), "{e}");
    let listed = links::for_child(&store, &ib, "pupil-1").await?;
    assert!(
        listed.invitations.is_empty(),
        "used and withdrawn are not open"
    );
    let [link] = listed.links.as_slice() else {
        panic!("one link: {:?}", listed.links)
    };
    assert_eq!(link.guardian_name, "Jan de Vries");
    assert_eq!(link.invited_as.as_deref(), Some("J. de Vries"));
    assert_eq!(link.state, LinkState::Active);
    let year = link.review_by_ms - link.linked_at_ms;
    assert!((364 * DAY_MS..=366 * DAY_MS).contains(&year), "{year}");
    let linked = portal::linked(&store, &father, "pupil-1").await?;
    assert_eq!(portal::consents(&store, &linked).await?.len(), 1);

    // Only the coordinators list, revoke and renew (refusals audited).
    for e in [
        links::for_child(&store, &mentor, "pupil-1")
            .await
            .map(|_| ())
            .expect_err("mentor"),
        links::revoke(&store, &mentor, &link.id, "Geen gezag")
            .await
            .map(|_| ())
            .expect_err("mentor"),
    ] {
        assert!(denied(&e), "{e}");
    }
    let e = links::revoke(&store, &ib, &link.id, "  ")
        .await
        .expect_err("no reason");
    assert!(e.to_string().starts_with("reason:"), "{e}");

    // Revoked: the very next request is refused, and the guardian sees why.
    let reason = "Volgens de rechtbank heeft u geen gezag over dit kind.";
    assert_eq!(
        links::revoke(&store, &ib, &link.id, reason).await?,
        "pupil-1"
    );
    let e = portal::linked(&store, &father, "pupil-1")
        .await
        .expect_err("revoked");
    assert!(denied(&e), "{e}");
    let e = portal::linked_by_record(&store, &father, &record)
        .await
        .expect_err("revoked");
    assert!(denied(&e), "{e}");
    assert!(portal::children(&store, &father).await?.is_empty());
    let seen = portal::links(&store, &father).await?;
    assert!(
        matches!(&seen[0].state, LinkState::Revoked { reason: r, .. } if r == reason),
        "{seen:?}"
    );
    for e in [
        links::revoke(&store, &ib, &link.id, reason)
            .await
            .map(|_| ())
            .expect_err("twice"),
        links::renew(&store, &ib, &link.id, None)
            .await
            .map(|_| ())
            .expect_err("revoked"),
    ] {
        assert!(precondition(&e), "{e}");
    }

    // The mother's link lapses at its review date, and the review renews it.
    let for_mother = links::invite(
        &store,
        &ib,
        &invitation("pupil-1", "M. de Vries", born),
        false,
    )
    .await?;
    let mother = guardian(&store, "s-mother", "Marieke de Vries");
    portal::redeem(&store, &mother, &for_mother.code).await?;
    portal::linked(&store, &mother, "pupil-1").await?;
    with_db!(&store.db, pool => {
        sqlx::query("UPDATE guardian_link SET review_by_ms = $1 WHERE guardian = $2")
            .bind(carenet_fabric::clock::now_ms() - 1)
            .bind(&mother.id)
            .execute(pool)
            .await?;
    });
    let e = portal::linked(&store, &mother, "pupil-1")
        .await
        .expect_err("lapsed");
    assert!(denied(&e), "{e}");
    let listed = links::for_child(&store, &ib, "pupil-1").await?;
    let lapsed = listed
        .links
        .iter()
        .find(|l| l.guardian_name == "Marieke de Vries")
        .expect("the mother's link");
    assert!(
        matches!(lapsed.state, LinkState::Lapsed { .. }),
        "{lapsed:?}"
    );
    links::renew(&store, &ib, &lapsed.id, None).await?;
    portal::linked(&store, &mother, "pupil-1").await?;

    // A new invitation links the father again, deliberately.
    let again = links::invite(
        &store,
        &ib,
        &invitation("pupil-1", "J. de Vries", born),
        false,
    )
    .await?;
    portal::redeem(&store, &father, &again.code).await?;
    portal::linked(&store, &father, "pupil-1").await?;

    // Audited, and the reason (it may name people) is not in the log.
    let log = actions(&store).await?;
    let names: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    for a in [
        "guardian_invitation_withdrawn",
        "guardian_links_listed",
        "guardian_link_revoked",
        "guardian_link_renewed",
        "refused:portal_child",
        "refused:guardian_links",
    ] {
        assert!(names.contains(&a), "{a} in {names:?}");
    }
    assert!(
        log.iter()
            .all(|r| !format!("{r:?}").contains("rechtbank") && !format!("{r:?}").contains("Vries")),
        "no reason or name in the audit log"
    );
    region.shutdown().await
}

/// Item 3: one answer of what a guardian may see and do, on every portal
/// path. A 17-year-old's own consent to a GGZ party, their disclosures,
/// their VO→vervolg dossier (read and inzage) and their plan are not the
/// guardian's; a 13-year-old's youth-care consent is (the guardians decide
/// with the pupil), and their plan shows neither the home situation nor
/// diagnoses; an 11-year-old's plan shows diagnoses but not the home
/// situation. What is not shown is not counted either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_of_a_17_year_old_does_not_see_the_pupils_own_consents() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("ggz-1", "ggz", "GGZ Regio"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let store = region.handle("vo-1").store;
    let zc = Actor::new(store.party.clone(), "zc-1", [Role::CareCoordinator])?;
    let (older, young, kid) = (years_ago(17)?, years_ago(13)?, years_ago(11)?);
    // The 17-year-old consented alone to the GGZ; the 13-year-old's
    // guardians are asked (with the pupil) for the same.
    let own = consent(
        &store,
        &zc,
        "older-1",
        older,
        Purpose::ShareWithPartner,
        "ggz-1",
        Some(v1::GrantorRole::Pupil),
    )
    .await?;
    let asked = consent(
        &store,
        &zc,
        "young-1",
        young,
        Purpose::ShareWithPartner,
        "ggz-1",
        None,
    )
    .await?;
    // The 17-year-old's dossier to follow-up education, put before them.
    let dossier = carenet_handover::dossier::create(
        &store,
        &zc,
        "older-1",
        carenet_handover::dossier::Route::VoVervolg,
        &crate::handover::unseen_vombo(),
    )
    .await?;
    carenet_handover::dossier::submit_for_inspection(&store, &zc, &dossier).await?;
    for (child, born) in [("older-1", older), ("young-1", young), ("kid-1", kid)] {
        plan::open(&store, &zc, new_plan(child, born)).await?;
    }
    let g = guardian(&store, "s-parent", "Ouder");
    for (child, born) in [("older-1", older), ("young-1", young), ("kid-1", kid)] {
        let code = links::invite(&store, &zc, &invitation(child, "Ouder", born), true)
            .await?
            .code;
        portal::redeem(&store, &g, &code).await?;
    }

    // 17: the pupil decides; nothing of theirs on any path.
    let link = portal::linked(&store, &g, "older-1").await?;
    assert!(link.access().pupil_decides());
    assert!(portal::consents(&store, &link).await?.is_empty());
    let today = carenet_fabric::clock::today();
    for e in [
        portal::decide(&store, &link, &own, false, today)
            .await
            .map(|_| ())
            .expect_err("not theirs"),
        portal::withdraw(&store, &link, &own)
            .await
            .map(|_| ())
            .expect_err("not theirs"),
        portal::disclosures(&store, &link)
            .await
            .map(|_| ())
            .expect_err("not theirs"),
    ] {
        assert!(denied(&e), "{e}");
    }
    assert!(
        carenet_handover::dossier::for_guardian(&store, &link)
            .await?
            .is_empty()
    );
    carenet_handover::dossier::read_by_guardian(&store, &link, &dossier)
        .await
        .expect_err("not theirs to read");
    // The content exactly as it stands: refused for the age, not the hash.
    let shown = carenet_handover::inzage::ContentHash::of(
        &carenet_handover::dossier::get(&store, &dossier)
            .await?
            .dossier,
    )
    .hex();
    carenet_handover::dossier::record_inspection_by_guardian(
        &store,
        &link,
        &dossier,
        carenet_handover::dossier::GuardiansView::new(
            Some("Akkoord".into()),
            carenet_handover::dossier::Akkoord::Yes,
        ),
        &shown,
    )
    .await
    .expect_err("not theirs to inspect");
    assert!(!plan::has_plan(&store, &link).await?);
    plan::for_guardian(&store, &link)
        .await
        .expect_err("not theirs");
    let stored = ConsentStore::new(store.clone())
        .latest(&own)
        .await?
        .expect("record");
    assert_eq!(stored.status(), v1::ConsentStatus::Granted, "untouched");
    let d = carenet_handover::dossier::get(&store, &dossier).await?;
    assert_eq!(
        d.state,
        carenet_handover::dossier::DossierState::AwaitingInspection,
        "no inzage recorded"
    );

    // 13: the youth-care consent is the guardians' to decide, with the pupil;
    // the plan without the home situation and diagnoses, uncounted.
    let link = portal::linked(&store, &g, "young-1").await?;
    let shown: Vec<String> = portal::consents(&store, &link)
        .await?
        .into_iter()
        .map(|c| c.version.record_id)
        .collect();
    assert_eq!(shown, [asked]);
    let seen = portal::disclosures(&store, &link).await?;
    assert!(seen.iter().all(|d| d.subject_id != own), "{seen:?}");
    let p = plan::for_guardian(&store, &link).await?.expect("a plan");
    assert_eq!(categories(&p), ["action_plans", "external_care"]);
    // 11: diagnoses too, never the home situation.
    let link = portal::linked(&store, &g, "kid-1").await?;
    let p = plan::for_guardian(&store, &link).await?.expect("a plan");
    assert_eq!(
        categories(&p),
        ["action_plans", "diagnosis", "external_care"]
    );

    let names: Vec<String> = actions(&store)
        .await?
        .into_iter()
        .map(|r| r.action)
        .collect();
    for a in [
        "refused:portal_refuse",
        "refused:portal_withdraw",
        "refused:portal_disclosures",
        "refused:portal_dossier",
        "refused:portal_inspection",
        "refused:portal_plan",
    ] {
        assert!(names.iter().any(|n| n == a), "{a} in {names:?}");
    }
    region.shutdown().await
}

/// A plan with one action in each of four categories, owned by the school.
fn new_plan(child: &str, born: Date) -> NewPlan {
    let action = |what: &str, category: &str| v1::CaseAction {
        owner: "vo-1".into(),
        what: what.into(),
        goal: "Weer naar school".into(),
        due_on: "2030-01-01".into(),
        category: category.into(),
        person: String::new(),
    };
    NewPlan {
        child_ref: child.into(),
        child_name: format!("Leerling {child}"),
        child_birth_date: format_date(born),
        origin: "zat".into(),
        origin_id: format!("zat-{child}"),
        coordinator: "zc-1".into(),
        reports_back: "zc-1".into(),
        evaluation_on: "2030-01-01".into(),
        actions: vec![
            action("Dagelijkse check-in", ""),
            action("Gesprek over thuis", "home_situation"),
            action("Onderzoek naar dyslexie", "diagnosis"),
            action("Slaaponderzoek", "external_care"),
        ],
        ..Default::default()
    }
}

fn categories(p: &carenet_caseplan::model::Plan) -> Vec<String> {
    let mut c: Vec<String> = p.tasks.iter().map(|t| t.category.clone()).collect();
    c.sort();
    c
}
