//! OSO's own rules on the routes (ADR 0005), over real nodes: every OV
//! transfer needs inzage, VO→VO consent as well; the route and the file's
//! profile agree; the guardians' akkoord is recorded in the file; a receiving
//! school can ask the sending school for a pupil's dossier.

use std::time::Duration;

use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::tls;
use carenet_fabric::{PartyId, PartyKind, Role};
use carenet_handover::dossier::{self, Akkoord, GuardiansView, Route};
use carenet_handover::model::{Dossier, Extras};
use carenet_handover::{Error, OsoProblem, incoming, oso};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;
use tonic::Code;

use crate::handover::{example, staff, wait_incoming};
use crate::oso::validate;

/// An example file's parts without its inzage block: not yet seen.
fn unseen(part: &str) -> Dossier {
    Dossier {
        sections: oso::import(&example(part))
            .unwrap()
            .sections
            .into_iter()
            .filter(|s| s.category != Category::GuardianInspection)
            .collect(),
        extras: Extras::default(),
    }
}

fn today() -> time::Date {
    carenet_fabric::clock::today()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vo_to_vo_needs_inzage_and_consent_and_the_route_must_match_the_file() -> anyhow::Result<()>
{
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo1 = region.handle("vo-1");
    let vo2 = region.handle("vo-2");
    let zc = staff(&vo1.store, "zc-1", &[Role::CareCoordinator]);
    let to = [PartyId::parse("to", "vo-2")?];

    // A POVO file cannot be sent as VO->VO: refused at import, naming the element.
    let wrong =
        dossier::import_oso(&vo1.store, &zc, &example("POVO_full"), "p-1", Route::VoVo).await;
    match wrong {
        Err(Error::Xml {
            element,
            line,
            problem,
        }) => {
            assert_eq!(element, "overstap");
            assert!(line > 0);
            assert_eq!(
                problem,
                OsoProblem::WrongTransfer {
                    found: "POVO".into(),
                    expected: vec!["VOVO".into()]
                }
            );
        }
        other => panic!("expected the profile to be refused: {other:?}"),
    }
    // Nor a transfer file as an internal handover.
    assert!(matches!(
        dossier::import_oso(
            &vo1.store,
            &zc,
            &example("VOVO_full"),
            "p-1",
            Route::Internal
        )
        .await,
        Err(Error::Xml { .. })
    ));

    // A VO->VO dossier the guardians have not seen does not leave, even
    // with consent (OVa.IZ02).
    let id = dossier::create(
        &vo1.store,
        &zc,
        "pupil-1",
        Route::VoVo,
        &unseen("VOVO_full"),
    )
    .await?;
    let allowed: Vec<Category> = Category::all()
        .filter(|c| c.oso_element().is_some())
        .collect();
    let record =
        carenet_e2e::granted_consent(&vo1.store, Purpose::TransferDossier, &["vo-2"], allowed)
            .await?;
    dossier::submit_for_inspection(&vo1.store, &zc, &id).await?;
    let unseen = dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, Some(&record)).await;
    match unseen {
        Err(Error::State { .. }) => {}
        other => panic!("not ready before inzage: {other:?}"),
    }
    // Seen, with the guardians' disagreement recorded as OSO's akkoord.
    dossier::record_inspection(
        &vo1.store,
        &zc,
        &id,
        today(),
        GuardiansView::new(
            Some("Het verzuim is te hoog ingeschat.".into()),
            Akkoord::No,
        ),
    )
    .await?;
    // Inzage alone is not enough on this route: consent is a second condition.
    let no_consent = dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, None).await;
    match no_consent {
        Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "consent_record"),
        other => panic!("consent is required: {other:?}"),
    }
    dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, Some(&record)).await?;
    let item = wait_incoming(&vo2.store, 1).await?;
    let got = incoming::dossier(&vo2.store, &item.message_id).await?;
    let out = got.to_oso()?;
    for part in [
        "<inzage>true</inzage>",
        "<akkoord>Nee</akkoord>",
        "<redennietakkoord>Het verzuim is te hoog ingeschat.</redennietakkoord>",
        "<toestemming>Ja</toestemming>",
    ] {
        assert!(out.contains(part), "{part} missing");
    }
    let file = region.dir.path().join("vovo-akkoord.xml");
    std::fs::write(&file, &out)?;
    validate(&file, None)?;
    region.shutdown().await
}

/// Issue 9.1: a consent recorded for one pupil, given to `publish`, must not
/// release another pupil's dossier; the receiver gets nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_for_one_pupil_does_not_release_another_pupils_dossier() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo1 = region.handle("vo-1");
    let vo2 = region.handle("vo-2");
    let zc = staff(&vo1.store, "zc-1", &[Role::CareCoordinator]);
    let to = [PartyId::parse("to", "vo-2")?];
    let allowed: Vec<Category> = Category::all()
        .filter(|c| c.oso_element().is_some())
        .collect();
    // The guardians of pupil-1 consented; the dossier is pupil-2's.
    let record =
        carenet_e2e::granted_consent(&vo1.store, Purpose::TransferDossier, &["vo-2"], allowed)
            .await?;
    let id = dossier::create(
        &vo1.store,
        &zc,
        "pupil-2",
        Route::VoVo,
        &unseen("VOVO_full"),
    )
    .await?;
    dossier::submit_for_inspection(&vo1.store, &zc, &id).await?;
    dossier::record_inspection(
        &vo1.store,
        &zc,
        &id,
        today(),
        GuardiansView::new(None, Akkoord::Yes),
    )
    .await?;
    // The sending school refuses before anything leaves: the consent names
    // another pupil (the receiver's own check stays behind it).
    let refused = dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, Some(&record))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("consent_record"), "{refused}");
    assert!(vo1.store.list_outbox(None, 10).await?.is_empty());
    assert!(incoming::list(&vo2.store).await?.is_empty());
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiving_school_asks_for_a_dossier_and_gets_it() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    // The primary school imports the pupil's file; it states the inzage, so
    // the dossier is ready (klaargezet) without being pushed to anyone.
    let id = dossier::import_oso(
        &po.store,
        &ib,
        &example("POVO_full"),
        "LN094837",
        Route::PoVo,
    )
    .await?;
    assert_eq!(
        dossier::get(&po.store, &id).await?.state,
        dossier::DossierState::Ready
    );
    // The IB records the school the pupil enrolled at.
    carenet_handover::destination::set(
        &po.store,
        &po.directory,
        &ib,
        &id,
        &PartyId::parse("school", "vo-1")?,
    )
    .await?;
    let client = |from: &str| -> anyhow::Result<
        v1::handover_client::HandoverClient<tonic::transport::Channel>,
    > {
        let tls = region.client_tls(from)?;
        let ch = tls::channel(
            &tls,
            &PartyId::parse("to", "po-1")?,
            &region.address("po-1"),
            None,
            Duration::from_secs(5),
        )?;
        Ok(v1::handover_client::HandoverClient::new(ch))
    };
    let ask = |number: &str, born: &str| v1::DossierRequest {
        pupil_number: number.into(),
        birth_date: born.into(),
    };
    // Bad input names the field.
    let err = client("vo-1")?
        .request_dossier(ask("12ab", "2003-03-17"))
        .await
        .expect_err("bad number");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("pupil_number:"),
        "{}",
        err.message()
    );
    // A wrong date of birth matches nothing, and says nothing.
    let reply = client("vo-1")?
        .request_dossier(ask("269326728", "2003-03-18"))
        .await?
        .into_inner();
    assert_eq!(reply.outcome, v1::DossierRequestOutcome::Recorded as i32);
    // The SWV does not receive dossiers: the RPC gate refuses it.
    let err = client("swv")?
        .request_dossier(ask("269326728", "2003-03-17"))
        .await
        .expect_err("swv");
    assert_eq!(err.code(), Code::PermissionDenied);
    // The school the pupil goes to asks with BSN and date of birth: the
    // dossier is released and arrives by the exchange.
    let reply = client("vo-1")?
        .request_dossier(ask("269326728", "2003-03-17"))
        .await?
        .into_inner();
    assert_eq!(reply.outcome, v1::DossierRequestOutcome::Queued as i32);
    assert_eq!(reply.message_ids.len(), 1);
    let item = wait_incoming(&vo.store, 1).await?;
    assert_eq!(
        (item.sender.as_str(), item.document_id.as_str()),
        ("po-1", id.as_str())
    );
    let got = incoming::dossier(&vo.store, &item.message_id).await?;
    assert!(got.to_oso()?.contains("<bsn>269326728</bsn>"));
    // Asking again sends nothing twice.
    let reply = client("vo-1")?
        .request_dossier(ask("269326728", "2003-03-17"))
        .await?
        .into_inner();
    assert_eq!(reply.outcome, v1::DossierRequestOutcome::AlreadySent as i32);
    // Another secondary school that knows the same BSN and date of birth does
    // not get the dossier: it waits for the IB (see dossier_request.rs).
    let reply = client("vo-2")?
        .request_dossier(ask("269326728", "2003-03-17"))
        .await?
        .into_inner();
    assert_eq!(reply.outcome, v1::DossierRequestOutcome::Recorded as i32);
    assert!(reply.message_ids.is_empty());
    // The rules that depend on the party's kind take it from the directory,
    // not from the caller: a primary school is not an SWV.
    let denied = carenet_handover::season::season(
        &po.store,
        PartyKind::Swv,
        &staff(&po.store, "mentor-1", &[Role::Mentor]),
        0,
        &carenet_handover::season::Filter::default(),
    )
    .await;
    assert!(
        matches!(&denied, Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(m))) if m.contains("is a po_school")),
        "{denied:?}"
    );
    // Each request is in the sender's audit log with the requester.
    let requests = carenet_fabric::audit::list(&po.store.db, 0, 10_000)
        .await?
        .into_iter()
        .filter(|r| r.action.starts_with("dossier_requested:"))
        .count();
    assert_eq!(requests, 4);
    region.shutdown().await
}

/// Issue 18.10: a primary school sends a dossier to another primary school
/// (OSO overstap POPO). The code had the route, the table refused it: an
/// import with `--route po_po` failed with the database's CHECK text. Now it
/// is stored, seen by the guardians, released under inzage (WPO art. 42) and
/// read at the receiving primary school, and what arrives is valid OSO.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_school_sends_a_dossier_to_another_primary_school() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::new("po-2", PartyKind::PoSchool, "PO 2"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let po1 = region.handle("po-1");
    let po2 = region.handle("po-2");
    let ib = staff(&po1.store, "ib-1", &[Role::SupportCoordinatorPo]);
    // The official POVO example as a move between primary schools.
    let popo =
        example("POVO_full").replace("<overstap>POVO</overstap>", "<overstap>POPO</overstap>");
    assert!(popo.contains("<overstap>POPO</overstap>"));
    let id = dossier::import_oso(&po1.store, &ib, &popo, "pupil-1", Route::PoPo).await?;
    let stored = dossier::get(&po1.store, &id).await?;
    assert_eq!(stored.route, Route::PoPo);
    // The file states the guardians' inzage: ready to be released.
    assert_eq!(stored.state, dossier::DossierState::Ready);
    let to = [PartyId::parse("to", "po-2")?];
    dossier::publish(&po1.store, &po1.directory, &ib, &id, &to, None).await?;
    let item = wait_incoming(&po2.store, 1).await?;
    let got = incoming::dossier(&po2.store, &item.message_id).await?;
    let out = got.to_oso()?;
    assert!(out.contains("<overstap>POPO</overstap>"));
    let file = region.dir.path().join("popo.xml");
    std::fs::write(&file, &out)?;
    validate(&file, None)?;
    region.shutdown().await
}
