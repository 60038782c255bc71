//! Issue 18.4: consent is decided per pupil, not per role, on both backends.
//! Staff see and record consents only of pupils they have a relation with in
//! carenet (the coordinators: every pupil of their school); a refusal the
//! guardians gave on the portal is reversed only there or with their signed
//! form, by a coordinator, audited with both; the birth date that decides the
//! age rules is the school's record of the pupil, not what a request types.

use carenet_consent::portal::{self, Guardian};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Error, Purpose, pupil};
use carenet_e2e::fresh_store;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Role, audit};
use carenet_proto::v1::{
    self, ConsentStatus, EvidenceKind, GrantorRole, consent_recipient::Target,
};

fn actor(store: &Store, staff: &str, role: Role) -> Actor {
    Actor::new(store.party.clone(), staff, [role]).unwrap()
}

fn today() -> time::Date {
    carenet_fabric::clock::today()
}

fn years_ago(n: i32) -> time::Date {
    let t = today();
    t.replace_year(t.year() - n).unwrap()
}

fn request(child: &str, birth: time::Date) -> ConsentRequest {
    ConsentRequest {
        child_ref: child.into(),
        child_birth_date: birth,
        purpose: Purpose::ReferToZat,
        recipients: vec![v1::ConsentRecipient {
            target: Some(Target::PartyId("swv".into())),
        }],
        categories: vec![Category::EducationalSupport],
        valid_from: today(),
        valid_until: None,
    }
}

fn decision(kind: EvidenceKind, form: &[u8]) -> Decision {
    Decision {
        grantors: vec![v1::Grantor {
            role: GrantorRole::Guardian as i32,
            name: "Ouder Getypt".into(),
        }],
        evidence: v1::Evidence {
            kind: kind as i32,
            recorded_by: String::new(),
            document_sha256: form.to_vec(),
        },
        today: today(),
    }
}

fn denied(e: &Error) -> bool {
    matches!(e, Error::Fabric(carenet_fabric::Error::PermissionDenied(_)))
}

fn field_of(e: &Error) -> &str {
    match e {
        Error::InvalidArgument { field, .. } => field,
        other => panic!("not an invalid argument: {other:?}"),
    }
}

async fn refusals(store: &Store, action: &str, subject: &str) -> anyhow::Result<usize> {
    Ok(audit::list(&store.db, 0, 10_000)
        .await?
        .iter()
        .filter(|r| r.action == format!("refused:{action}") && r.message_id == subject)
        .count())
}

pub(crate) fn registration(child: &str) -> v1::IzoRegistration {
    v1::IzoRegistration {
        child_ref: child.into(),
        child_birth_date: "2013-04-02".into(),
        mentor: "m-1".into(),
        guardians_informed: true,
        problem: "Trekt zich terug in de klas.".into(),
        pupil_question: "Ik wil meer rust.".into(),
        guardians_question: "Wat kan de school doen?".into(),
        support_question: "Welke begeleiding past?".into(),
        support_requested: vec![v1::IzoSupportKind::Pupil as i32],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_and_record_consents_only_of_their_own_pupils() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let zc = actor(&store, "zc-1", Role::CareCoordinator);
    let mentor = actor(&store, "m-1", Role::Mentor);
    let zat = actor(&store, "zat-1", Role::ZatMember);
    let swv = actor(&store, "swv-1", Role::SwvStaff);
    // The care coordinator works for every pupil of the school; their first
    // request records each pupil's birth date.
    let a = consents
        .request(&zc, &request("pupil-a", years_ago(12)))
        .await?;
    consents
        .request(&zc, &request("pupil-b", years_ago(13)))
        .await?;

    // No relation: a mentor, a ZAT member and SWV staff learn nothing of
    // pupil-a, and a pupil with no records at all is refused the same way.
    for who in [&mentor, &zat, &swv] {
        for child in ["pupil-a", "pupil-unknown"] {
            let e = consents.list(who, child).await.expect_err("no relation");
            assert!(denied(&e), "{e}");
        }
        assert!(denied(
            &consents
                .show(who, &a.version.record_id)
                .await
                .expect_err("show")
        ));
        let e = consents
            .request(who, &request("pupil-a", years_ago(12)))
            .await
            .expect_err("request");
        assert!(denied(&e), "{e}");
    }
    assert_eq!(refusals(&store, "consent_list", "pupil-a").await?, 3);
    assert_eq!(refusals(&store, "consent_list", "pupil-unknown").await?, 3);

    // The mentor registers pupil-a for the IZO: now a relation, for pupil-a only.
    carenet_referral::izo::register(&store, &mentor, registration("pupil-a")).await?;
    assert_eq!(consents.list(&mentor, "pupil-a").await?.len(), 1);
    assert_eq!(consents.show(&mentor, &a.version.record_id).await?.len(), 1);
    assert!(denied(
        &consents
            .list(&mentor, "pupil-b")
            .await
            .expect_err("pupil-b")
    ));
    // The care coordinator sees every pupil of the school.
    assert_eq!(consents.list(&zc, "pupil-b").await?.len(), 1);

    // The birth date is the school's record: a request typing another is
    // refused naming the field (a coordinator's too), the record's is taken.
    for who in [&mentor, &zc] {
        let e = consents
            .request(who, &request("pupil-a", years_ago(17)))
            .await
            .expect_err("another birth date");
        assert_eq!(field_of(&e), "child_birth_date");
    }
    consents
        .request(&mentor, &request("pupil-a", years_ago(12)))
        .await?;
    // A pupil the school has not recorded: a mentor's request cannot record it.
    carenet_referral::izo::register(&store, &mentor, registration("pupil-c")).await?;
    let e = consents
        .request(&mentor, &request("pupil-c", years_ago(12)))
        .await
        .expect_err("no record");
    assert_eq!(field_of(&e), "child_birth_date");
    // The coordinator corrects the record; the age rules follow it: at 17
    // the pupil decides, the guardians' grant no longer suffices.
    assert!(denied(
        &pupil::record(&store, &mentor, "pupil-a", years_ago(17))
            .await
            .expect_err("mentor")
    ));
    pupil::record(&store, &zc, "pupil-a", years_ago(17)).await?;
    let e = consents
        .grant(
            &zc,
            &a.version.record_id,
            &decision(EvidenceKind::RecordedConversation, &[]),
        )
        .await
        .expect_err("the pupil decides at 17");
    assert_eq!(field_of(&e), "grantors");
    assert!(audit::verify(&store.db).await?.is_ok());
    Ok(())
}

fn guardian(store: &Store, subject: &str) -> Guardian {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_on_the_portal_is_not_overruled_by_typing() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let zc = actor(&store, "zc-1", Role::CareCoordinator);
    let mentor = actor(&store, "m-1", Role::Mentor);
    carenet_referral::izo::register(&store, &mentor, registration("pupil-a")).await?;
    let asked = consents
        .request(&zc, &request("pupil-a", years_ago(12)))
        .await?;
    let record = asked.version.record_id;
    // Staff never claim a portal decision.
    let e = consents
        .grant(&zc, &record, &decision(EvidenceKind::PortalLogin, &[]))
        .await
        .expect_err("claimed portal login");
    assert_eq!(field_of(&e), "evidence.kind");

    // The guardian refuses on the portal.
    let invitation = carenet_consent::links::invite(
        &store,
        &zc,
        &carenet_consent::links::NewInvitation {
            child_ref: "pupil-a".into(),
            guardian_name: "Ouder".into(),
            child_birth_date: years_ago(12),
            days: 14,
        },
        false,
    )
    .await?;
    let g = guardian(&store, "s-1");
    portal::redeem(&store, &g, &invitation.code).await?;
    let link = portal::linked(&store, &g, "pupil-a").await?;
    let refused = portal::decide(&store, &link, &record, false, today()).await?;
    assert_eq!(refused.status(), ConsentStatus::Refused);

    // "Given in a conversation", with a typed grantor: refused, naming the evidence.
    for who in [&zc, &mentor] {
        let e = consents
            .grant(
                who,
                &record,
                &decision(EvidenceKind::RecordedConversation, &[]),
            )
            .await
            .expect_err("typed over a portal refusal");
        assert_eq!(field_of(&e), "evidence.kind");
    }
    // A signed form, but recorded by a mentor: refused and audited.
    let form = carenet_fabric::crypto::sha256(b"ondertekend toestemmingsformulier");
    let e = consents
        .grant(&mentor, &record, &decision(EvidenceKind::SignedForm, &form))
        .await
        .expect_err("a mentor");
    assert!(denied(&e), "{e}");
    assert_eq!(
        refusals(&store, "consent_reverse_portal_refusal", &record).await?,
        1
    );
    assert_eq!(
        consents.latest(&record).await?.unwrap().status(),
        ConsentStatus::Refused,
        "nothing changed"
    );
    // The coordinator with the guardians' signed form: granted, audited with both.
    let granted = consents
        .grant(&zc, &record, &decision(EvidenceKind::SignedForm, &form))
        .await?;
    assert_eq!(granted.status(), ConsentStatus::Granted);
    let records = audit::list(&store.db, 0, 10_000).await?;
    let reversal = records
        .iter()
        .find(|r| r.action == "consent_portal_refusal_reversed")
        .expect("the reversal is audited");
    assert_eq!(reversal.message_id, record);
    assert_eq!(reversal.actor, "zc-1[care_coordinator]");
    assert_eq!(reversal.payload_sha256, form.to_vec());
    assert!(
        reversal.legal_basis.ends_with(&format!(
            "reverses portal refusal v{}",
            refused.version.version
        )),
        "{}",
        reversal.legal_basis
    );
    assert!(audit::verify(&store.db).await?.is_ok());
    Ok(())
}
