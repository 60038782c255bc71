//! The parent portal's rules on both backends: a one-time invitation links a
//! guardian to one child; every portal action needs that link and touches
//! only that child; refusals are audited; a guardian passes no staff check.

use carenet_consent::links;
use carenet_consent::portal::{self, Guardian};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Error, Purpose};
use carenet_e2e::fresh_store;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Role, audit, with_db};
use carenet_proto::v1::{self, ConsentStatus, EvidenceKind, consent_recipient::Target};
use time::macros::date;

pub(crate) fn ib(store: &Store) -> Actor {
    Actor::new(store.party.clone(), "ib-1", [Role::SupportCoordinatorPo]).unwrap()
}

pub(crate) fn guardian(store: &Store, subject: &str) -> Guardian {
    use carenet_fabric::crypto::SigningKey;
    static KEY: std::sync::LazyLock<SigningKey> = std::sync::LazyLock::new(|| {
        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
    });
    Guardian::from_login(
        store.party.clone(),
        &KEY,
        "https://broker.example",
        subject,
        "Ouder",
    )
}

/// A coordinator's invitation for a guardian of `child` (born `birth`).
pub(crate) async fn invite(
    store: &Store,
    actor: &Actor,
    child: &str,
    birth: time::Date,
    days: u32,
    held_elsewhere: bool,
) -> Result<links::Invitation, Error> {
    links::invite(
        store,
        actor,
        &links::NewInvitation {
            child_ref: child.into(),
            guardian_name: "J. de Vries".into(),
            child_birth_date: birth,
            days,
        },
        held_elsewhere,
    )
    .await
}

pub(crate) const BORN: time::Date = date!(2014 - 05 - 01);

async fn ask(store: &Store, child: &str, birth: time::Date) -> anyhow::Result<String> {
    let asked = ConsentStore::new(store.clone())
        .request(
            &ib(store),
            &ConsentRequest {
                child_ref: child.into(),
                child_birth_date: birth,
                purpose: Purpose::TransferDossier,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId("vo-1".into())),
                }],
                categories: vec![Category::Pupil, Category::TransferAdvice],
                valid_from: carenet_fabric::clock::today(),
                valid_until: None,
            },
        )
        .await?;
    Ok(asked.version.record_id)
}

async fn actions(store: &Store) -> anyhow::Result<Vec<String>> {
    Ok(audit::list(&store.db, 0, 10_000)
        .await?
        .into_iter()
        .map(|r| r.action)
        .collect())
}

fn denied(e: &Error) -> bool {
    matches!(e, Error::Fabric(carenet_fabric::Error::PermissionDenied(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_links_once_and_expires() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let first = guardian(&store, "s-1");
    let second = guardian(&store, "s-2");
    // Only for a pupil the school holds something about.
    let e = invite(&store, &ib(&store), "pupil-1", BORN, 14, false)
        .await
        .expect_err("an unknown pupil");
    assert!(e.to_string().starts_with("child_ref:"), "{e}");
    let invitation = invite(&store, &ib(&store), "pupil-1", BORN, 14, true).await?;
    // Typed with spaces and in lower case, it still works, once.
    let typed = invitation.code.to_lowercase().replace('-', " ");
    assert_eq!(portal::redeem(&store, &first, &typed).await?, "pupil-1");
    assert_eq!(portal::children(&store, &first).await?, ["pupil-1"]);
    for (who, code) in [
        (&second, invitation.code.as_str()),
        (&first, "AAAA-BBBB-CCCC"),
    ] {
        let e = portal::redeem(&store, who, code)
            .await
            .expect_err("used or unknown");
        assert!(e.to_string().starts_with("code:"), "{e}");
    }
    assert!(portal::children(&store, &second).await?.is_empty());
    // An expired invitation links no one.
    let late = invite(&store, &ib(&store), "pupil-2", BORN, 1, true).await?;
    with_db!(&store.db, pool => {
        sqlx::query("UPDATE guardian_invitation SET expires_at_ms = 0 WHERE child_ref = 'pupil-2'")
            .execute(pool)
            .await?;
    });
    assert!(portal::redeem(&store, &second, &late.code).await.is_err());
    // Bad input names its field; only coordinators and mentors invite.
    let e = invite(&store, &ib(&store), "pupil-3", BORN, 61, true)
        .await
        .expect_err("too long");
    assert!(e.to_string().starts_with("days:"), "{e}");
    // A mentor may not invite: whoever invites sees the code.
    let teacher = Actor::new(store.party.clone(), "m-1", [Role::Mentor, Role::Teacher])?;
    assert!(denied(
        &invite(&store, &teacher, "pupil-3", BORN, 7, true)
            .await
            .expect_err("teacher")
    ));
    let log = actions(&store).await?;
    assert_eq!(
        log.iter().filter(|a| *a == "refused:guardian_link").count(),
        3,
        "{log:?}"
    );
    assert!(
        log.contains(&"refused:guardian_invite".to_owned()),
        "{log:?}"
    );
    // Only the hash of a code is stored.
    let stored: Vec<(Vec<u8>,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT code_sha256 FROM guardian_invitation").fetch_all(pool).await?
    });
    assert!(stored.iter().all(|(h,)| h.len() == 32));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_limited_per_login() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let guesser = guardian(&store, "s-guess");
    let other = guardian(&store, "s-other");
    let right = invite(&store, &ib(&store), "pupil-1", BORN, 14, true).await?;
    let theirs = invite(&store, &ib(&store), "pupil-2", BORN, 14, true).await?;
    for i in 0..portal::MAX_FAILURES {
        let e = portal::redeem(&store, &guesser, &format!("AAAA-BBBB-CCC{i}"))
            .await
            .expect_err("a wrong code");
        assert!(e.to_string().starts_with("code:"), "{e}");
    }
    // Now even the right code is not tried for this login...
    let e = portal::redeem(&store, &guesser, &right.code)
        .await
        .expect_err("limited");
    assert!(
        matches!(
            e,
            Error::Fabric(carenet_fabric::Error::ResourceExhausted(_))
        ),
        "{e}"
    );
    assert!(portal::children(&store, &guesser).await?.is_empty());
    // ...while another login is not held back.
    assert_eq!(
        portal::redeem(&store, &other, &theirs.code).await?,
        "pupil-2"
    );
    // An hour later the login may try again, and the right code still works.
    let hour_ago = || async {
        with_db!(&store.db, pool => {
            sqlx::query("UPDATE guardian_link_failure SET window_start_ms = window_start_ms - $1")
                .bind(portal::FAILURE_WINDOW_MS)
                .execute(pool)
                .await?;
        });
        anyhow::Ok(())
    };
    hour_ago().await?;
    assert_eq!(
        portal::redeem(&store, &guesser, &right.code).await?,
        "pupil-1"
    );
    let log = actions(&store).await?;
    assert_eq!(
        log.iter().filter(|a| *a == "refused:guardian_link").count(),
        6,
        "five wrong codes and one limited attempt: {log:?}"
    );
    // Attempts at once are counted one after another: of ten wrong codes
    // sent together, five are tried and five are held back.
    hour_ago().await?;
    let attempts = (0..10).map(|i| {
        let (store, guesser) = (store.clone(), guesser.clone());
        tokio::spawn(
            async move { portal::redeem(&store, &guesser, &format!("DDDD-EEEE-FFF{i}")).await },
        )
    });
    let mut tried = 0;
    let mut limited = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await?.expect_err("wrong codes") {
            Error::Fabric(carenet_fabric::Error::ResourceExhausted(_)) => limited += 1,
            e => {
                assert!(e.to_string().starts_with("code:"), "{e}");
                tried += 1;
            }
        }
    }
    assert_eq!((tried, limited), (5, 5));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_acts_for_their_own_child_only() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let mine = ask(&store, "pupil-1", date!(2014 - 05 - 01)).await?;
    let theirs = ask(&store, "pupil-2", date!(2014 - 05 - 01)).await?;
    let g = guardian(&store, "s-1");
    let code = invite(&store, &ib(&store), "pupil-1", BORN, 7, false)
        .await?
        .code;
    portal::redeem(&store, &g, &code).await?;

    // Not linked to pupil-2: refused and audited.
    let e = portal::linked(&store, &g, "pupil-2")
        .await
        .expect_err("not linked");
    assert!(denied(&e), "{e}");
    let e = portal::linked_by_record(&store, &g, &theirs)
        .await
        .expect_err("other child");
    assert!(denied(&e), "{e}");
    let link = portal::linked(&store, &g, "pupil-1").await?;
    let today = carenet_fabric::clock::today();
    let e = portal::decide(&store, &link, &theirs, true, today)
        .await
        .expect_err("other record");
    assert!(denied(&e), "{e}");
    let e = portal::withdraw(&store, &link, &theirs)
        .await
        .expect_err("other record");
    assert!(denied(&e), "{e}");
    // The guardian's actor holds no staff role: no staff action lets it in.
    let consents = ConsentStore::new(store.clone());
    let staff_way = Decision {
        grantors: vec![],
        evidence: v1::Evidence {
            kind: EvidenceKind::PortalLogin as i32,
            ..Default::default()
        },
        today,
    };
    assert!(denied(
        &consents
            .grant(&link.actor(), &theirs, &staff_way)
            .await
            .expect_err("staff check")
    ));
    assert_eq!(
        consents.latest(&theirs).await?.expect("record").status(),
        ConsentStatus::Requested,
        "the other child's record is untouched"
    );

    // Their own child: grant, then withdraw, recorded as the portal's.
    let granted = portal::decide(&store, &link, &mine, true, today).await?;
    assert_eq!(granted.status(), ConsentStatus::Granted);
    let evidence = granted.version.evidence.clone().expect("evidence");
    assert_eq!(evidence.kind, EvidenceKind::PortalLogin as i32);
    assert_eq!(evidence.recorded_by, g.audit_name());
    let withdrawn = portal::withdraw(&store, &link, &mine).await?;
    assert_eq!(withdrawn.status(), ConsentStatus::Withdrawn);
    // Refusing a withdrawn record is not a transition there is.
    assert!(matches!(
        portal::decide(&store, &link, &mine, false, today).await,
        Err(Error::Transition { .. })
    ));
    let lines = portal::disclosures(&store, &link).await?;
    assert!(
        lines.iter().any(|d| d.action == "consent_grant"),
        "{lines:?}"
    );

    let log = actions(&store).await?;
    for refused in [
        "refused:portal_child",
        "refused:portal_grant",
        "refused:portal_withdraw",
        "refused:consent_grant",
    ] {
        assert!(log.contains(&refused.to_owned()), "{refused} in {log:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_pupil_decides_for_themselves_not_the_portal_guardian() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    // Sixteen or older: the pupil decides (education regime), not a guardian.
    let record = ask(&store, "pupil-9", date!(2008 - 01 - 01)).await?;
    let g = guardian(&store, "s-9");
    let code = invite(
        &store,
        &ib_vo(&store),
        "pupil-9",
        date!(2008 - 01 - 01),
        7,
        false,
    )
    .await?
    .code;
    portal::redeem(&store, &g, &code).await?;
    let link = portal::linked(&store, &g, "pupil-9").await?;
    let e = portal::decide(&store, &link, &record, true, carenet_fabric::clock::today())
        .await
        .expect_err("the pupil decides");
    assert!(denied(&e), "{e}");
    // Nor can the guardian withdraw what the pupil granted.
    let pupil = v1::Grantor {
        role: v1::GrantorRole::Pupil as i32,
        name: "de leerling".into(),
    };
    ConsentStore::new(store.clone())
        .grant(
            &ib_vo(&store),
            &record,
            &Decision {
                grantors: vec![pupil],
                evidence: v1::Evidence {
                    kind: EvidenceKind::RecordedConversation as i32,
                    ..Default::default()
                },
                today: carenet_fabric::clock::today(),
            },
        )
        .await?;
    let e = portal::withdraw(&store, &link, &record)
        .await
        .expect_err("the pupil decides");
    assert!(denied(&e), "{e}");
    assert_eq!(
        ConsentStore::new(store.clone())
            .latest(&record)
            .await?
            .expect("record")
            .status(),
        ConsentStatus::Granted
    );
    Ok(())
}

fn ib_vo(store: &Store) -> Actor {
    Actor::new(store.party.clone(), "zc-1", [Role::CareCoordinator]).unwrap()
}

/// The plan around a child on the portal: the guardian's own child only,
/// and not once the pupil is 16 (then the pupil decides); each reading and
/// refusal audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_reads_the_plan_of_their_own_child_under_16() -> anyhow::Result<()> {
    use carenet_caseplan::plan::{self, NewPlan};
    let (_dir, store) = fresh_store("vo-1").await?;
    let zc = ib_vo(&store);
    let today = carenet_fabric::clock::today();
    let born = |years: i32| -> anyhow::Result<String> {
        Ok(carenet_consent::record::format_date(
            today.replace_year(today.year() - years)?,
        ))
    };
    for (child, birth) in [("young-1", born(13)?), ("older-1", born(17)?)] {
        plan::open(
            &store,
            &zc,
            NewPlan {
                child_ref: child.into(),
                child_name: format!("Leerling {child}"),
                child_birth_date: birth,
                origin: "zat".into(),
                origin_id: "zat-1".into(),
                coordinator: "zc-1".into(),
                reports_back: "zc-1".into(),
                evaluation_on: "2030-01-01".into(),
                actions: vec![v1::CaseAction {
                    owner: "vo-1".into(),
                    what: "Dagelijkse check-in".into(),
                    goal: "Weer naar school".into(),
                    due_on: "2030-01-01".into(),
                    category: String::new(),
                    person: String::new(),
                }],
                ..Default::default()
            },
        )
        .await?;
    }
    // The school knows the pupils (a consent asked for each).
    for (child, years) in [("young-1", 13), ("older-1", 17), ("no-plan-1", 13)] {
        ask(&store, child, today.replace_year(today.year() - years)?).await?;
    }
    let g = guardian(&store, "s-plan");
    for (child, years) in [("young-1", 13), ("older-1", 17)] {
        let born = today.replace_year(today.year() - years)?;
        let code = invite(&store, &zc, child, born, 7, false).await?.code;
        portal::redeem(&store, &g, &code).await?;
    }
    let young = portal::linked(&store, &g, "young-1").await?;
    let shown = plan::for_guardian(&store, &young).await?.expect("a plan");
    assert_eq!(shown.child_ref, "young-1");
    assert_eq!(shown.tasks[0].what, "Dagelijkse check-in");
    // The portal links the plan only where it may show it.
    assert!(plan::has_plan(&store, &young).await?);
    let older = portal::linked(&store, &g, "older-1").await?;
    assert!(!plan::has_plan(&store, &older).await?);
    let e = plan::for_guardian(&store, &older).await.unwrap_err();
    assert!(e.to_string().contains("from 16"), "{e}");
    // Another guardian's child without a plan: nothing.
    let other = guardian(&store, "s-other");
    let code = invite(
        &store,
        &zc,
        "no-plan-1",
        today.replace_year(today.year() - 13)?,
        7,
        false,
    )
    .await?
    .code;
    portal::redeem(&store, &other, &code).await?;
    let none = portal::linked(&store, &other, "no-plan-1").await?;
    assert!(plan::for_guardian(&store, &none).await?.is_none());
    assert!(!plan::has_plan(&store, &none).await?);
    let log = audit::list(&store.db, 0, 1000).await?;
    for a in ["case_plan_read_by_guardian", "refused:portal_plan"] {
        assert!(log.iter().any(|r| r.action == a), "{a}");
    }
    Ok(())
}

/// ADR 0008 on both backends: a pupil is invited to the portal as themself
/// from 16 (younger is refused, naming `invitee`); through the same login
/// kind as a guardian, the pupil's link gives the pupil's side of the age
/// rules: their own consent to see and decide, recorded with the pupil as
/// grantor, which the guardian of the same pupil does not see.
#[tokio::test]
async fn a_pupil_of_17_links_as_themself_and_decides_their_own_consent() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let today = carenet_fabric::clock::today();
    let born = today.replace_year(today.year() - 17)?;
    let young = today.replace_year(today.year() - 15)?;
    let record = ask(&store, "pupil-17", born).await?;
    ask(&store, "pupil-15", young).await?;
    let new = |child: &str, birth| links::NewInvitation {
        child_ref: child.into(),
        guardian_name: "Sem de Boer".into(),
        child_birth_date: birth,
        days: 30,
    };
    let too_young = links::invite_as(
        &store,
        &ib(&store),
        &new("pupil-15", young),
        false,
        links::Invitee::Pupil,
    )
    .await
    .expect_err("a pupil of 15 is not invited as themself");
    assert!(too_young.to_string().starts_with("invitee:"), "{too_young}");
    let code = links::invite_as(
        &store,
        &ib(&store),
        &new("pupil-17", born),
        false,
        links::Invitee::Pupil,
    )
    .await?
    .code;
    let pupil = guardian(&store, "leerling-17");
    portal::redeem(&store, &pupil, &code).await?;
    let link = portal::linked(&store, &pupil, "pupil-17").await?;
    assert!(link.is_pupil() && link.access().is_pupil());
    let seen: Vec<String> = portal::consents(&store, &link)
        .await?
        .into_iter()
        .map(|c| c.version.record_id)
        .collect();
    assert_eq!(seen, std::slice::from_ref(&record));
    let granted = portal::decide(&store, &link, &record, true, today).await?;
    assert_eq!(granted.status(), ConsentStatus::Granted);
    assert_eq!(
        granted.version.grantors[0].role,
        v1::GrantorRole::Pupil as i32
    );
    assert_eq!(
        granted.version.evidence.as_ref().map(|e| e.kind),
        Some(EvidenceKind::PortalLogin as i32)
    );
    // The staff list says whose login it is.
    let listed = links::for_child(&store, &ib(&store), "pupil-17").await?;
    assert_eq!(listed.links[0].linked_as, links::Invitee::Pupil);
    // A guardian of the same pupil sees none of it.
    let parent_code = invite(&store, &ib(&store), "pupil-17", born, 30, false)
        .await?
        .code;
    let parent = guardian(&store, "ouder-17");
    portal::redeem(&store, &parent, &parent_code).await?;
    let parents = portal::linked(&store, &parent, "pupil-17").await?;
    assert!(!parents.is_pupil());
    assert!(portal::consents(&store, &parents).await?.is_empty());
    let log = actions(&store).await?;
    for a in ["pupil_invited", "pupil_linked", "guardian_linked"] {
        assert!(log.iter().any(|l| l == a), "{a} in {log:?}");
    }
    Ok(())
}

/// A login is one person: a guardian's login linked to a child cannot redeem
/// that child's pupil invitation (a code sent home), and the pupil's own
/// login cannot redeem a guardian invitation for themself. The refusal names
/// `code`, is audited, and leaves the invitation unused for the person it
/// is for.
#[tokio::test]
async fn a_login_linked_to_a_child_cannot_redeem_the_other_roles_invitation() -> anyhow::Result<()>
{
    let (_dir, store) = fresh_store("po-1").await?;
    let today = carenet_fabric::clock::today();
    let born = today.replace_year(today.year() - 17)?;
    let pupil_invitation = || links::NewInvitation {
        child_ref: "pupil-17".into(),
        guardian_name: "Sem de Boer".into(),
        child_birth_date: born,
        days: 30,
    };
    let refused_as_code =
        |e: &Error| matches!(e, Error::InvalidArgument { field, .. } if field == "code");
    // The school holds a consent record about the pupil.
    ask(&store, "pupil-17", born).await?;
    // Mirjam is linked as a guardian; the pupil's code reaches her at home.
    let parent_code = invite(&store, &ib(&store), "pupil-17", born, 30, false)
        .await?
        .code;
    let parent = guardian(&store, "ouder-17");
    portal::redeem(&store, &parent, &parent_code).await?;
    let pupil_code = links::invite_as(
        &store,
        &ib(&store),
        &pupil_invitation(),
        false,
        links::Invitee::Pupil,
    )
    .await?
    .code;
    let e = portal::redeem(&store, &parent, &pupil_code)
        .await
        .expect_err("a guardian's login does not become the pupil's");
    assert!(refused_as_code(&e), "{e}");
    assert!(e.to_string().contains("ouder"), "{e}");
    let still = portal::linked(&store, &parent, "pupil-17").await?;
    assert!(!still.is_pupil() && !still.access().is_pupil());
    // The code still works for the pupil.
    let pupil = guardian(&store, "leerling-17");
    portal::redeem(&store, &pupil, &pupil_code).await?;
    assert!(portal::linked(&store, &pupil, "pupil-17").await?.is_pupil());
    // The pupil's login does not become a guardian's of themself.
    let second_parent_code = invite(&store, &ib(&store), "pupil-17", born, 30, false)
        .await?
        .code;
    let e = portal::redeem(&store, &pupil, &second_parent_code)
        .await
        .expect_err("the pupil's login does not become a guardian's");
    assert!(refused_as_code(&e), "{e}");
    assert!(portal::linked(&store, &pupil, "pupil-17").await?.is_pupil());
    // That code still works for the second guardian.
    let father = guardian(&store, "ouder-17b");
    portal::redeem(&store, &father, &second_parent_code).await?;
    assert!(
        !portal::linked(&store, &father, "pupil-17")
            .await?
            .is_pupil()
    );
    let log = actions(&store).await?;
    assert_eq!(
        log.iter().filter(|a| *a == "refused:guardian_link").count(),
        2,
        "{log:?}"
    );
    Ok(())
}
