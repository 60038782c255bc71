//! Consent records on both backends: versioned, hash-linked, audited, and
//! granted only by the people the age rules name.

use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Error, Purpose};
use carenet_e2e::fresh_store;
use carenet_fabric::{Actor, Role, audit};
use carenet_proto::v1::{
    self, ConsentStatus, EvidenceKind, GrantorRole, consent_recipient::Target,
};
use time::macros::date;

fn request(birth: time::Date) -> ConsentRequest {
    ConsentRequest {
        child_ref: "pupil-0042".into(),
        child_birth_date: birth,
        purpose: Purpose::ShareWithPartner,
        recipients: vec![v1::ConsentRecipient {
            target: Some(Target::PartyId("jgz-regio".into())),
        }],
        categories: vec![Category::EducationalSupport, Category::Absence],
        valid_from: date!(2026 - 01 - 01),
        valid_until: Some(date!(2026 - 06 - 30)),
    }
}

/// The school's care coordinator: works for every pupil of the school, and
/// their first request about a pupil records the pupil's birth date.
fn coordinator(store: &carenet_fabric::store::Store) -> Actor {
    Actor::new(store.party.clone(), "staff-17", [Role::CareCoordinator]).unwrap()
}

/// A request about another pupil (the school records each pupil's birth
/// date once: one pupil per age).
fn aged(child: &str, birth: time::Date) -> ConsentRequest {
    ConsentRequest {
        child_ref: child.into(),
        ..request(birth)
    }
}

fn grantor(role: GrantorRole, name: &str) -> v1::Grantor {
    v1::Grantor {
        role: role as i32,
        name: name.into(),
    }
}

fn form() -> v1::Evidence {
    v1::Evidence {
        kind: EvidenceKind::SignedForm as i32,
        recorded_by: String::new(),
        document_sha256: vec![7; 32],
    }
}

fn decision(grantors: Vec<v1::Grantor>) -> Decision {
    Decision {
        grantors,
        evidence: form(),
        today: date!(2026 - 01 - 10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_lifecycle_is_versioned_hash_linked_and_audited() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let by = coordinator(&store);
    let asked = consents
        .request(&by, &request(date!(2014 - 03 - 01)))
        .await?;
    let id = asked.version.record_id.clone();
    consents
        .grant(
            &by,
            &id,
            &decision(vec![grantor(GrantorRole::Guardian, "ouder A")]),
        )
        .await?;
    consents
        .withdraw(
            &by,
            &id,
            vec![grantor(GrantorRole::Guardian, "ouder A")],
            v1::Evidence {
                kind: EvidenceKind::RecordedConversation as i32,
                recorded_by: "ignored: the actor records it".into(),
                document_sha256: vec![],
            },
        )
        .await?;
    let history = consents.show(&by, &id).await?;
    let statuses: Vec<ConsentStatus> = history.iter().map(|s| s.status()).collect();
    assert_eq!(
        statuses,
        [
            ConsentStatus::Requested,
            ConsentStatus::Granted,
            ConsentStatus::Withdrawn
        ]
    );
    assert!(history[0].version.previous_sha256.is_empty());
    for pair in history.windows(2) {
        assert_eq!(pair[1].version.previous_sha256, pair[0].sha256.to_vec());
        assert_eq!(pair[1].version.version, pair[0].version.version + 1);
    }
    assert_eq!(consents.list(&by, "pupil-0042").await?.len(), 1);
    let records = audit::list(&store.db, 0, 100).await?;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "pupil_recorded",
            "consent_requested",
            "consent_grant",
            "consent_withdraw"
        ]
    );
    assert!(
        records.iter().all(|r| !r.actor.contains("ouder")),
        "no names in the audit log"
    );
    assert!(
        records
            .iter()
            .all(|r| r.actor == "staff-17[care_coordinator]"),
        "the actor and role recorded each change"
    );
    assert!(history.iter().skip(1).all(|s| {
        s.version.evidence.as_ref().map(|e| e.recorded_by.as_str())
            == Some("staff-17[care_coordinator]")
    }));
    assert!(audit::verify(&store.db).await?.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_requires_the_grantors_the_age_rules_name() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let by = coordinator(&store);
    let consents = ConsentStore::new(store);
    let guardian = grantor(GrantorRole::Guardian, "ouder A");
    let pupil = grantor(GrantorRole::Pupil, "leerling");

    // 14 on the day of the decision, youth care: guardians and pupil.
    let id = consents
        .request(&by, &aged("pupil-14", date!(2011 - 06 - 01)))
        .await?
        .version
        .record_id;
    let err = consents
        .grant(&by, &id, &decision(vec![guardian.clone()]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { field, .. } if field == "grantors"),
        "{err}"
    );
    consents
        .grant(&by, &id, &decision(vec![guardian.clone(), pupil.clone()]))
        .await?;

    // 17, education: the pupil, not the guardian.
    let id = consents
        .request(&by, &aged("pupil-17", date!(2008 - 06 - 01)))
        .await?
        .version
        .record_id;
    assert!(
        consents
            .grant(&by, &id, &decision(vec![guardian.clone()]))
            .await
            .is_err()
    );
    consents
        .grant(&by, &id, &decision(vec![pupil.clone()]))
        .await?;

    // 10: the pupil alone cannot.
    let id = consents
        .request(&by, &aged("pupil-10", date!(2015 - 06 - 01)))
        .await?
        .version
        .record_id;
    assert!(
        consents
            .grant(&by, &id, &decision(vec![pupil]))
            .await
            .is_err()
    );
    // Nothing of the failed attempts was stored.
    assert_eq!(consents.show(&by, &id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_transitions_are_refused_and_expiry_follows_the_date() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let by = coordinator(&store);
    let consents = ConsentStore::new(store);
    let guardian = vec![grantor(GrantorRole::Guardian, "ouder A")];

    let mut bad = request(date!(2014 - 03 - 01));
    bad.categories.clear();
    assert!(
        matches!(consents.request(&by, &bad).await, Err(Error::InvalidArgument { field, .. }) if field == "categories")
    );
    let mut bad = request(date!(2014 - 03 - 01));
    bad.recipients = vec![v1::ConsentRecipient {
        target: Some(Target::PartyId("Not A Party".into())),
    }];
    assert!(
        matches!(consents.request(&by, &bad).await, Err(Error::InvalidArgument { field, .. }) if field == "recipients[0]")
    );

    let id = consents
        .request(&by, &request(date!(2014 - 03 - 01)))
        .await?
        .version
        .record_id;
    let mut no_hash = decision(guardian.clone());
    no_hash.evidence.document_sha256.clear();
    assert!(
        matches!(consents.grant(&by, &id, &no_hash).await, Err(Error::InvalidArgument { field, .. }) if field == "evidence.document_sha256")
    );
    let err = consents
        .withdraw(&by, &id, guardian.clone(), form())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transition { .. }), "{err}");
    assert!(matches!(
        consents
            .grant(&by, "no-such-record", &decision(guardian.clone()))
            .await,
        Err(Error::NotFound(_))
    ));

    consents.grant(&by, &id, &decision(guardian)).await?;
    assert!(
        consents.expire_due(date!(2026 - 06 - 30)).await?.is_empty(),
        "valid through its last day"
    );
    assert_eq!(
        consents.expire_due(date!(2026 - 07 - 01)).await?,
        vec![id.clone()]
    );
    assert_eq!(
        consents.latest(&id).await?.unwrap().status(),
        ConsentStatus::Expired
    );
    Ok(())
}

/// The request form names its record: sent twice (a double click, a page
/// sent again) it asks the guardians once; changed and sent again under the
/// same id it is a request of its own; an id that is no UUID is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_form_sent_twice_asks_once() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let by = coordinator(&store);
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let r = request(date!(2014 - 03 - 01));
    let first = consents.request_named(&by, &id, &r).await?;
    let again = consents.request_named(&by, &id, &r).await?;
    assert_eq!(first.version.record_id, id);
    assert_eq!(again.version, first.version);
    assert_eq!(consents.list(&by, "pupil-0042").await?.len(), 1);
    let other = ConsentRequest {
        child_ref: "pupil-0043".into(),
        ..request(date!(2014 - 03 - 01))
    };
    // The same id with another child (a form kept open and changed): a
    // request of its own, the first unchanged.
    let theirs = consents.request_named(&by, &id, &other).await?;
    assert_ne!(theirs.version.record_id, id);
    assert_eq!(theirs.version.child_ref, "pupil-0043");
    assert_eq!(consents.list(&by, "pupil-0042").await?.len(), 1);
    match consents.request_named(&by, "not-a-uuid", &r).await {
        Err(Error::Fabric(carenet_fabric::Error::InvalidArgument { field, .. })) => {
            assert_eq!(field, "id")
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}
