//! Consent over real nodes: only the consented categories arrive, with a
//! receipt the receiver checked; after withdrawal nothing more is released.

use std::time::Duration;

use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, document, wait_delivered, wait_until};
use carenet_fabric::PartyKind;
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{
    self, EvidenceKind, GrantorRole, LegalBasisKind, consent_recipient::Target,
};
use prost::Message;

const T: Duration = Duration::from_secs(30);

fn categorized() -> Vec<u8> {
    let section = |category: &str, name: &str| v1::Section {
        category: category.into(),
        name: name.into(),
        content: format!("{name} text").into_bytes(),
    };
    v1::CategorizedDocument {
        sections: vec![
            section("educational_support", "needs"),
            section("absence", "absence"),
            section("diagnosis", "diagnosis"),
        ],
    }
    .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consented_categories_arrive_and_withdrawal_stops_later_fetches() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1");
    let consents = ConsentStore::new(vo.store.clone());
    let by = carenet_fabric::Actor::new(
        vo.store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )
    .unwrap();
    let today = carenet_fabric::clock::today();
    let id = consents
        .request(
            &by,
            &ConsentRequest {
                child_ref: "pupil-7".into(),
                child_birth_date: today.replace_year(today.year() - 13)?,
                purpose: Purpose::ShareWithPartner,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId("jgz-1".into())),
                }],
                categories: vec![Category::EducationalSupport, Category::Absence],
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    let evidence = v1::Evidence {
        kind: EvidenceKind::RecordedConversation as i32,
        recorded_by: "portal".into(),
        document_sha256: vec![],
    };
    consents
        .grant(
            &by,
            &id,
            &Decision {
                grantors: vec![v1::Grantor {
                    role: GrantorRole::Guardian as i32,
                    name: "ouder".into(),
                }],
                evidence: evidence.clone(),
                today,
            },
        )
        .await?;

    let under_consent = |n| {
        let mut m = document("jgz-1", n, &categorized());
        m.child_ref = Some("pupil-7".into());
        m.legal_basis = v1::LegalBasis {
            kind: LegalBasisKind::Consent as i32,
            reference: id.clone(),
            consent_receipt: vec![],
        };
        m
    };
    let first = vo.send(&[under_consent(1)]).await?;
    wait_delivered(&vo.store, 1, T).await?;
    let jgz = region.handle("jgz-1").store;
    let got = jgz.received(&first[0]).await?.expect("delivered");
    let doc = v1::CategorizedDocument::decode(got.payload.as_slice())?;
    let categories: Vec<&str> = doc.sections.iter().map(|s| s.category.as_str()).collect();
    assert_eq!(
        categories,
        ["educational_support", "absence"],
        "the diagnosis stayed home"
    );
    assert!(!got.header.legal_basis.unwrap().consent_receipt.is_empty());

    consents
        .withdraw(
            &by,
            &id,
            vec![v1::Grantor {
                role: GrantorRole::Guardian as i32,
                name: "ouder".into(),
            }],
            evidence,
        )
        .await?;
    // The recipient is told, deletes the content and stops showing it ...
    wait_until(T, || async {
        (jgz.withdrawn_count().await.ok()? == 1).then_some(())
    })
    .await?;
    assert!(
        jgz.received(&first[0]).await?.is_none(),
        "withdrawn data is no longer shown"
    );
    let jgz_audit = carenet_fabric::audit::list(&jgz.db, 0, 100).await?;
    assert!(
        jgz_audit
            .iter()
            .any(|r| r.action == "withdrawn" && r.message_id == first[0])
    );
    // ... a later message under the same consent is not released ...
    let second = vo.send(&[under_consent(2)]).await?;
    wait_until(T, || async {
        (jgz.inbox_count("refused").await.ok()? == 1).then_some(())
    })
    .await?;
    assert!(jgz.received(&second[0]).await?.is_none());
    // ... and fetching the first one again is refused too.
    let again = region
        .exchange_client("jgz-1", "vo-1")?
        .fetch(v1::FetchRequest {
            message_ids: first.clone(),
        })
        .await?
        .into_inner();
    assert!(again.envelopes.is_empty());
    assert_eq!(again.refused[0].reason, "consent withdrawn");

    // The parents' view: who saw what, when, and on what basis.
    let seen = carenet_consent::disclosure::who_saw_what(&vo.store, &by, "pupil-7").await?;
    let lines: Vec<(&str, &str)> = seen
        .iter()
        .map(|d| (d.action.as_str(), d.subject_id.as_str()))
        .collect();
    assert!(
        lines.contains(&("consent_requested", id.as_str())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("consent_withdraw", id.as_str())),
        "{lines:?}"
    );
    let delivered = seen
        .iter()
        .find(|d| d.action == "delivered" && d.subject_id == first[0])
        .expect("the delivery is listed");
    assert_eq!(delivered.recipient, "jgz-1");
    assert_eq!(delivered.basis, format!("consent:{id}"));
    assert_eq!(delivered.categories, ["educational_support", "absence"]);
    assert!(
        seen.iter()
            .any(|d| d.action == "release_refused" && d.subject_id == second[0])
    );
    assert!(
        seen.iter().all(|d| d.actor != "ouder"),
        "no guardian names in the view's actors"
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safety_exception_needs_a_recorded_reason_and_is_audited() -> anyhow::Result<()> {
    use carenet_consent::safety::{self, SafetyException};
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1");
    let zc = carenet_fabric::Actor::new(
        vo.store.party.clone(),
        "staff-9",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    let today = carenet_fabric::clock::today();
    let exception = |reason: &str| SafetyException {
        child_ref: "pupil-8".into(),
        reason: reason.into(),
        reported_to: "zorgcoordinator-1".into(),
        recipient: "jgz-1".into(),
        purpose: Purpose::ShareWithPartner,
        valid_until: today + time::Duration::days(14),
    };
    let err = safety::record(&vo.store, &zc, &exception("  "))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, carenet_consent::Error::InvalidArgument { field, .. } if field == "reason"),
        "{err}"
    );
    // An exception is not a standing permission: at most 30 days, not past.
    for until in [
        today - time::Duration::days(1),
        today + time::Duration::days(31),
    ] {
        let err = safety::record(
            &vo.store,
            &zc,
            &SafetyException {
                valid_until: until,
                ..exception("vermoeden van onveilige thuissituatie")
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, carenet_consent::Error::InvalidArgument { field, .. } if field == "valid_until"),
            "{err}"
        );
    }

    let with_basis = |to: &str, n, child: &str, reference: &str| {
        let mut m = document(to, n, b"zorgsignaal");
        m.child_ref = Some(child.into());
        m.legal_basis = v1::LegalBasis {
            kind: LegalBasisKind::SafetyException as i32,
            reference: reference.into(),
            consent_receipt: vec![],
        };
        m
    };
    // No recorded exception: not released.
    let unrecorded = vo
        .send(&[with_basis("jgz-1", 1, "pupil-8", "no-such-exception")])
        .await?;
    let jgz = region.handle("jgz-1").store;
    wait_until(T, || async {
        (jgz.inbox_count("refused").await.ok()? == 1).then_some(())
    })
    .await?;
    assert!(jgz.received(&unrecorded[0]).await?.is_none());

    // A recorded one: released, and the audit says on what basis and who decided.
    let id = safety::record(
        &vo.store,
        &zc,
        &exception("vermoeden van onveilige thuissituatie"),
    )
    .await?;
    // It names its child and its recipient: another pupil's document, or
    // the same document to another party, does not leave on it.
    let other_child = vo.send(&[with_basis("jgz-1", 3, "pupil-9", &id)]).await?;
    let other_party = vo.send(&[with_basis("swv", 4, "pupil-8", &id)]).await?;
    let swv = region.handle("swv").store;
    wait_until(T, || async {
        (jgz.inbox_count("refused").await.ok()? == 2 && swv.inbox_count("refused").await.ok()? == 1)
            .then_some(())
    })
    .await?;
    assert!(jgz.received(&other_child[0]).await?.is_none());
    assert!(swv.received(&other_party[0]).await?.is_none());
    let sent = vo.send(&[with_basis("jgz-1", 2, "pupil-8", &id)]).await?;
    wait_delivered(&vo.store, 1, T).await?;
    assert!(jgz.received(&sent[0]).await?.is_some());
    // After its end date it allows nothing more.
    let later = safety::Release {
        child_ref: Some("pupil-8"),
        recipient: "jgz-1",
        purpose: "share_with_partner",
        today: today + time::Duration::days(15),
    };
    assert_eq!(
        safety::allows(&vo.store, &id, &later).await?,
        Err("the safety exception has expired")
    );
    let records = carenet_fabric::audit::list(&vo.store.db, 0, 100).await?;
    let recorded = records
        .iter()
        .find(|r| r.action == "safety_exception_recorded")
        .expect("recorded");
    assert_eq!(recorded.actor, "staff-9[care_coordinator]");
    let released = records
        .iter()
        .find(|r| r.action == "released" && r.message_id == sent[0])
        .expect("released");
    assert_eq!(released.legal_basis, format!("safety_exception:{id}"));
    assert!(
        records.iter().all(|r| !r.legal_basis.contains("onveilige")),
        "the reason stays out of the audit log"
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_expires_consents_whose_end_date_passed() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let store = region.open_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let by = carenet_fabric::Actor::new(
        store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )
    .unwrap();
    let id = consents
        .request(
            &by,
            &ConsentRequest {
                child_ref: "pupil-4".into(),
                child_birth_date: time::macros::date!(2012 - 01 - 01),
                purpose: Purpose::DiscussInIzo,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::Kind(PartyKind::ZatPartner.to_proto() as i32)),
                }],
                categories: vec![Category::Absence],
                valid_from: time::macros::date!(2025 - 01 - 01),
                valid_until: Some(time::macros::date!(2025 - 12 - 31)),
            },
        )
        .await?
        .version
        .record_id;
    consents
        .grant(
            &by,
            &id,
            &Decision {
                grantors: vec![v1::Grantor {
                    role: GrantorRole::Guardian as i32,
                    name: "ouder".into(),
                }],
                evidence: v1::Evidence {
                    kind: EvidenceKind::RecordedConversation as i32,
                    recorded_by: "portal".into(),
                    document_sha256: vec![],
                },
                today: time::macros::date!(2025 - 06 - 01),
            },
        )
        .await?;
    region.start("vo-1").await?;
    wait_until(T, || async {
        (consents.latest(&id).await.ok()??.status() == v1::ConsentStatus::Expired).then_some(())
    })
    .await?;
    store.db.close().await;
    region.shutdown().await
}

/// Issue 9.2: whose consent is needed follows from the purpose and the
/// recipients (not from a flag staff can leave at "education"), and is
/// checked again at release: a pupil who turned 16 must consent personally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_age_rules_follow_the_recipients_and_are_checked_again_at_release() -> anyhow::Result<()>
{
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jz-1", "jeugdzorg", "Jeugdzorg"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1");
    let consents = ConsentStore::new(vo.store.clone());
    let by = carenet_fabric::Actor::new(
        vo.store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    let today = carenet_fabric::clock::today();
    let ask = |child: &str, birth: time::Date, to: &str| ConsentRequest {
        child_ref: child.into(),
        child_birth_date: birth,
        purpose: Purpose::ShareWithPartner,
        recipients: vec![v1::ConsentRecipient {
            target: Some(Target::PartyId(to.into())),
        }],
        categories: vec![Category::EducationalSupport],
        valid_from: today - time::Duration::days(1),
        valid_until: None,
    };
    let decided = |grantors: Vec<v1::Grantor>, on: time::Date| Decision {
        grantors,
        evidence: v1::Evidence {
            kind: EvidenceKind::RecordedConversation as i32,
            recorded_by: String::new(),
            document_sha256: vec![],
        },
        today: on,
    };
    let guardian = v1::Grantor {
        role: GrantorRole::Guardian as i32,
        name: "ouder".into(),
    };
    let pupil = v1::Grantor {
        role: GrantorRole::Pupil as i32,
        name: "leerling".into(),
    };

    // Thirteen, sharing with youth care: the guardians' word alone is not enough.
    let thirteen = today - time::Duration::days(13 * 365 + 100);
    let id = consents
        .request(&by, &ask("pupil-13", thirteen, "jz-1"))
        .await?
        .version
        .record_id;
    let err = consents
        .grant(&by, &id, &decided(vec![guardian.clone()], today))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, carenet_consent::Error::InvalidArgument { field, .. } if field == "grantors"),
        "{err}"
    );
    consents
        .grant(
            &by,
            &id,
            &decided(vec![guardian.clone(), pupil.clone()], today),
        )
        .await?;
    // The same pupil, sharing with youth health care (education rules): guardians.
    let jgz_id = consents
        .request(&by, &ask("pupil-13", thirteen, "jgz-1"))
        .await?
        .version
        .record_id;
    consents
        .grant(&by, &jgz_id, &decided(vec![guardian.clone()], today))
        .await?;

    // Fifteen yesterday, when the guardians consented; sixteen today.
    let sixteen = time::Date::from_calendar_date(today.year() - 16, today.month(), today.day())
        .unwrap_or(today - time::Duration::days(16 * 365 + 4));
    let yesterday = today - time::Duration::days(1);
    let turned = consents
        .request(&by, &ask("pupil-16", sixteen, "jgz-1"))
        .await?
        .version
        .record_id;
    consents
        .grant(&by, &turned, &decided(vec![guardian.clone()], yesterday))
        .await?;
    let under = |n, child: &str, record: &str| {
        let mut m = document("jgz-1", n, &categorized());
        m.child_ref = Some(child.into());
        m.legal_basis = v1::LegalBasis {
            kind: LegalBasisKind::Consent as i32,
            reference: record.into(),
            consent_receipt: vec![],
        };
        m
    };
    let ok = vo.send(&[under(1, "pupil-13", &jgz_id)]).await?;
    wait_delivered(&vo.store, 1, T).await?;
    let late = vo.send(&[under(2, "pupil-16", &turned)]).await?;
    wait_until(T, || async {
        (vo.store.outbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    let dead = vo.store.list_outbox(Some("dead"), 10).await?;
    assert_eq!(dead[0].message_id, late[0]);
    let reason = dead[0].last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("the pupil must decide at this age"),
        "{reason}"
    );
    let jgz = region.handle("jgz-1").store;
    assert!(jgz.received(&ok[0]).await?.is_some());
    assert!(jgz.received(&late[0]).await?.is_none());
    region.shutdown().await
}
