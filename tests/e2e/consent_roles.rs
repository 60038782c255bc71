//! Actors and roles in the consent slice, on both backends: for every staff
//! action the right role succeeds, a wrong role is refused with
//! PermissionDenied (gRPC `PERMISSION_DENIED`) and the refusal is in the audit
//! log naming the staff member and role, while nothing else changed.

use std::fmt::Debug;

use carenet_consent::inspection::{self, Inspection};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::safety::{self, SafetyException};
use carenet_consent::{Category, Error, Purpose};
use carenet_e2e::fresh_store;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyId, Role, audit};
use carenet_proto::v1::{
    self, ConsentStatus, EvidenceKind, GrantorRole, consent_recipient::Target,
};
use time::macros::date;

fn actor(store: &Store, staff: &str, role: Role) -> Actor {
    Actor::new(store.party.clone(), staff, [role]).unwrap()
}

fn request() -> ConsentRequest {
    ConsentRequest {
        child_ref: "pupil-7".into(),
        child_birth_date: date!(2014 - 03 - 01),
        purpose: Purpose::ReferToZat,
        recipients: vec![v1::ConsentRecipient {
            target: Some(Target::PartyId("swv".into())),
        }],
        categories: vec![Category::EducationalSupport],
        valid_from: date!(2026 - 01 - 01),
        valid_until: None,
    }
}

fn guardian() -> Vec<v1::Grantor> {
    vec![v1::Grantor {
        role: GrantorRole::Guardian as i32,
        name: "ouder".into(),
    }]
}

fn decision() -> Decision {
    Decision {
        grantors: guardian(),
        evidence: v1::Evidence {
            kind: EvidenceKind::RecordedConversation as i32,
            recorded_by: String::new(),
            document_sha256: vec![],
        },
        today: date!(2026 - 01 - 10),
    }
}

/// `result` is a permission error naming `needs`, gRPC maps it to
/// PERMISSION_DENIED, and the audit log holds `refused:<action>` by `actor`
/// about `subject`.
async fn refused<T: Debug>(
    store: &Store,
    result: Result<T, Error>,
    action: &str,
    actor: &Actor,
    subject: &str,
    needs: &str,
) -> anyhow::Result<()> {
    let err = result.expect_err("refused");
    match &err {
        Error::Fabric(carenet_fabric::Error::PermissionDenied(m)) => {
            assert!(m.contains(needs), "{m} should name {needs}")
        }
        other => panic!("{action}: expected a permission error, got {other}"),
    }
    let status = tonic::Status::from(carenet_fabric::Error::from(err));
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{action}");
    let records = audit::list(&store.db, 0, 10_000).await?;
    let refusal = records
        .iter()
        .rev()
        .find(|r| r.action == format!("refused:{action}"))
        .unwrap_or_else(|| panic!("refused:{action} is not in the audit log"));
    assert_eq!(refusal.actor, actor.audit_name());
    assert!(refusal.actor.contains(&actor.roles_label()));
    assert_eq!(refusal.message_id, subject);
    Ok(())
}

const STAFF_ROLES: &str = "mentor or support_coordinator_po or care_coordinator or case_coordinator or trajectory_guide or zat_member or swv_staff";
const COORDINATOR_ROLES: &str = "support_coordinator_po or care_coordinator";
const NO_RELATION: &str = "needs a relation with this pupil in carenet";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_roles_request_grant_refuse_withdraw_list_show() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let teacher = actor(&store, "t-1", Role::Teacher);
    let admin = actor(&store, "beheer-1", Role::Admin);
    let team_lead = actor(&store, "tl-1", Role::TeamLead);

    // Request: a teacher may not, a mentor may.
    refused(
        &store,
        consents.request(&teacher, &request()).await,
        "consent_request",
        &teacher,
        "pupil-7",
        STAFF_ROLES,
    )
    .await?;
    // A mentor may, for a pupil they have a relation with (they registered
    // the pupil for the IZO) and the school has recorded.
    let mentor = actor(&store, "m-1", Role::Mentor);
    let zc = actor(&store, "zc-1", Role::CareCoordinator);
    carenet_consent::pupil::record(&store, &zc, "pupil-7", request().child_birth_date).await?;
    carenet_referral::izo::register(
        &store,
        &mentor,
        crate::consent_per_pupil::registration("pupil-7"),
    )
    .await?;
    let id = consents
        .request(&mentor, &request())
        .await?
        .version
        .record_id;

    // Grant: an admin may not (role); a ZAT member holds the role but no
    // relation with this pupil; the mentor may.
    refused(
        &store,
        consents.grant(&admin, &id, &decision()).await,
        "consent_grant",
        &admin,
        &id,
        STAFF_ROLES,
    )
    .await?;
    assert_eq!(
        consents.latest(&id).await?.unwrap().status(),
        ConsentStatus::Requested,
        "a refused grant changes nothing"
    );
    let zat = actor(&store, "zat-1", Role::ZatMember);
    refused(
        &store,
        consents.grant(&zat, &id, &decision()).await,
        "consent_grant",
        &zat,
        "pupil-7",
        NO_RELATION,
    )
    .await?;
    let granted = consents.grant(&mentor, &id, &decision()).await?;
    assert_eq!(granted.status(), ConsentStatus::Granted);
    assert_eq!(
        granted.version.evidence.unwrap().recorded_by,
        "m-1[mentor]",
        "the evidence names who recorded it"
    );

    // Withdraw: a teacher may not; SWV staff without a relation may not.
    refused(
        &store,
        consents
            .withdraw(&teacher, &id, guardian(), decision().evidence)
            .await,
        "consent_withdraw",
        &teacher,
        &id,
        STAFF_ROLES,
    )
    .await?;
    let swv = actor(&store, "swv-1", Role::SwvStaff);
    refused(
        &store,
        consents
            .withdraw(&swv, &id, guardian(), decision().evidence)
            .await,
        "consent_withdraw",
        &swv,
        "pupil-7",
        NO_RELATION,
    )
    .await?;
    consents
        .withdraw(&mentor, &id, guardian(), decision().evidence)
        .await?;

    // Refuse: a team lead may not; a case coordinator or trajectory guide
    // without a relation may not ask or refuse; the mentor may.
    let cc = actor(&store, "cc-1", Role::CaseCoordinator);
    refused(
        &store,
        consents.request(&cc, &request()).await,
        "consent_request",
        &cc,
        "pupil-7",
        NO_RELATION,
    )
    .await?;
    let id2 = consents
        .request(&mentor, &request())
        .await?
        .version
        .record_id;
    refused(
        &store,
        consents.refuse(&team_lead, &id2, &decision()).await,
        "consent_refuse",
        &team_lead,
        &id2,
        STAFF_ROLES,
    )
    .await?;
    let guide = actor(&store, "tb-1", Role::TrajectoryGuide);
    refused(
        &store,
        consents.refuse(&guide, &id2, &decision()).await,
        "consent_refuse",
        &guide,
        "pupil-7",
        NO_RELATION,
    )
    .await?;
    assert_eq!(
        consents.refuse(&mentor, &id2, &decision()).await?.status(),
        ConsentStatus::Refused
    );

    // List and show: a teacher and an admin may not, a care coordinator may.
    refused(
        &store,
        consents.list(&teacher, "pupil-7").await,
        "consent_list",
        &teacher,
        "pupil-7",
        STAFF_ROLES,
    )
    .await?;
    refused(
        &store,
        consents.show(&admin, &id).await,
        "consent_show",
        &admin,
        &id,
        STAFF_ROLES,
    )
    .await?;
    assert_eq!(consents.list(&zc, "pupil-7").await?.len(), 2);
    assert_eq!(consents.show(&zc, &id).await?.len(), 3);

    // Staff of another party, and the node itself, are refused too.
    let elsewhere = Actor::new(PartyId::parse("party", "po-1")?, "m-9", [Role::Mentor])?;
    refused(
        &store,
        consents.show(&elsewhere, &id).await,
        "consent_show",
        &elsewhere,
        &id,
        "is for staff of vo-1",
    )
    .await?;
    let system = Actor::system(store.party.clone());
    refused(
        &store,
        consents.request(&system, &request()).await,
        "consent_request",
        &system,
        "pupil-7",
        STAFF_ROLES,
    )
    .await?;

    // The successful changes name actor and role; the chain is intact.
    let records = audit::list(&store.db, 0, 10_000).await?;
    let done: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r.action.starts_with("consent_"))
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        done,
        [
            ("consent_requested", "m-1[mentor]"),
            ("consent_grant", "m-1[mentor]"),
            ("consent_withdraw", "m-1[mentor]"),
            ("consent_requested", "m-1[mentor]"),
            ("consent_refuse", "m-1[mentor]"),
        ]
    );
    assert!(audit::verify(&store.db).await?.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_roles_inspection_and_safety() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let mentor = actor(&store, "m-1", Role::Mentor);
    let ib = actor(&store, "ib-1", Role::SupportCoordinatorPo);
    let inzage = Inspection {
        child_ref: "pupil-7".into(),
        document_id: "okr-7".into(),
        seen_on: date!(2026 - 03 - 02),
        guardian_view: Some("akkoord".into()),
        recorded_by: "not trusted".into(),
        seen: None,
    };

    // Inspection: a mentor may not, the IB may.
    refused(
        &store,
        inspection::record(&store, &mentor, &inzage).await,
        "inspection_record",
        &mentor,
        "okr-7",
        COORDINATOR_ROLES,
    )
    .await?;
    let seen = inspection::record(&store, &ib, &inzage).await?;
    assert!(inspection::covers(&store, &seen, "okr-7").await?);

    // Safety exception: a mentor may not; the deciding coordinator may.
    let exception = SafetyException {
        child_ref: "pupil-7".into(),
        reason: "zorgen over de thuissituatie".into(),
        reported_to: "zc-1".into(),
        recipient: "jgz-1".into(),
        purpose: carenet_consent::Purpose::ShareWithPartner,
        valid_until: carenet_fabric::clock::today(),
    };
    refused(
        &store,
        safety::record(&store, &mentor, &exception).await,
        "safety_exception_record",
        &mentor,
        "pupil-7",
        COORDINATOR_ROLES,
    )
    .await?;
    let exception_id = safety::record(&store, &ib, &exception).await?;
    let release = safety::Release {
        child_ref: Some("pupil-7"),
        recipient: "jgz-1",
        purpose: "share_with_partner",
        today: carenet_fabric::clock::today(),
    };
    assert_eq!(
        safety::allows(&store, &exception_id, &release).await?,
        Ok(())
    );

    // Safety reports: the coordinator's own list; not another's unless team
    // lead; never a mentor's.
    let zc = actor(&store, "zc-1", Role::CareCoordinator);
    let own = safety::reported_to(&store, &zc, "zc-1").await?;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].id, exception_id);
    assert_eq!(
        own[0].staff, "ib-1",
        "the deciding staff member is the actor"
    );
    let other_zc = actor(&store, "zc-2", Role::CareCoordinator);
    refused(
        &store,
        safety::reported_to(&store, &other_zc, "zc-1").await,
        "safety_reports_list",
        &other_zc,
        "zc-1",
        "team_lead",
    )
    .await?;
    refused(
        &store,
        safety::reported_to(&store, &mentor, "m-1").await,
        "safety_reports_list",
        &mentor,
        "m-1",
        "care_coordinator or support_coordinator_po",
    )
    .await?;
    let team_lead = actor(&store, "tl-1", Role::TeamLead);
    assert_eq!(
        safety::reported_to(&store, &team_lead, "zc-1").await?.len(),
        1
    );

    let records = audit::list(&store.db, 0, 10_000).await?;
    let done: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| !r.action.starts_with("refused:"))
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        done,
        [
            ("inspection_recorded", "ib-1[support_coordinator_po]"),
            ("safety_exception_recorded", "ib-1[support_coordinator_po]"),
        ]
    );
    assert!(audit::verify(&store.db).await?.is_ok());
    Ok(())
}

/// Records `i` with [`carenet_consent::inspection_record!`] inside one
/// audited transaction; with `fail_after`, the transaction fails after the
/// record was written (the id goes to `written`).
async fn record_in_tx(
    store: &Store,
    by: &carenet_fabric::Actor,
    i: &Inspection,
    fail_after: bool,
    written: &mut Option<String>,
) -> Result<String, Error> {
    Ok(carenet_fabric::audited!(&store.db, tx => {
        let id = carenet_consent::inspection_record!(tx, by, i);
        *written = Some(id.clone());
        if fail_after {
            return Err(Error::invalid("dossier", "the caller's own step failed"));
        }
        (id, Vec::new())
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_roles_inspection_in_the_callers_transaction() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let ib = actor(&store, "ib-1", Role::SupportCoordinatorPo);
    inspection::authorize(&store, &ib, "okr-8").await?;
    let mut inzage = Inspection {
        child_ref: "pupil-8".into(),
        document_id: "okr-8".into(),
        seen_on: date!(2026 - 03 - 02),
        guardian_view: None,
        recorded_by: ib.audit_name(),
        seen: None,
    };
    let mut written = None;
    let id = record_in_tx(&store, &ib, &inzage, false, &mut written).await?;
    assert!(inspection::covers(&store, &id, "okr-8").await?);

    // The caller's step fails: the inspection and its audit record go too.
    let mut written = None;
    record_in_tx(&store, &ib, &inzage, true, &mut written)
        .await
        .unwrap_err();
    assert!(!inspection::covers(&store, &written.unwrap(), "okr-8").await?);

    // An actor without a coordinator role is refused, whatever the record's
    // recorded_by says, and nothing is written.
    let mentor = actor(&store, "m-1", Role::Mentor);
    let node = carenet_fabric::Actor::system(store.party.clone());
    inzage.recorded_by = ib.audit_name();
    for by in [&mentor, &node] {
        let mut written = None;
        let err = record_in_tx(&store, by, &inzage, false, &mut written)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Fabric(carenet_fabric::Error::PermissionDenied(_))
            ),
            "{err}"
        );
        assert!(written.is_none());
    }
    // authorize audits the refusal the macro cannot.
    refused(
        &store,
        inspection::authorize(&store, &mentor, "okr-8").await,
        "inspection_record",
        &mentor,
        "okr-8",
        COORDINATOR_ROLES,
    )
    .await?;

    let records = audit::list(&store.db, 0, 10_000).await?;
    let recorded: Vec<&str> = records
        .iter()
        .filter(|r| r.action == "inspection_recorded")
        .map(|r| r.message_id.as_str())
        .collect();
    assert_eq!(recorded, [id.as_str()]);
    assert!(audit::verify(&store.db).await?.is_ok());
    Ok(())
}
