//! Who gets a dossier on request (issue 18), over real nodes and mTLS: only
//! the school the IB recorded as the pupil's destination is answered at
//! once; every other school gets one answer whatever the school holds, and
//! its request waits on the IB's work list until the IB confirms it; the
//! lookup is an index, and a party's requests are rate-limited and audited.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::{PartyId, PartyKind, Role, tls};
use carenet_handover::destination::{self, Confirmed};
use carenet_handover::dossier::{self, DOSSIER_TYPE, GuardiansView, Route};
use carenet_handover::model::Extras;
use carenet_handover::{Error, incoming};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{self, DossierRequestOutcome as Outcome};
use tonic::Code;

use crate::handover::{staff, unseen_povo, wait_incoming};

const BSN: &str = "269326728";
const BORN: &str = "2003-03-17";

fn plans() -> Vec<PartyPlan> {
    vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"),
        PartyPlan::new("vo-3", PartyKind::VoSchool, "VO 3"),
    ]
}

/// `from`'s client of po-1's Handover service, over mTLS as `from`.
fn client(
    region: &TestRegion,
    from: &str,
) -> anyhow::Result<v1::handover_client::HandoverClient<tonic::transport::Channel>> {
    let tls = region.client_tls(from)?;
    let ch = tls::channel(
        &tls,
        &PartyId::parse("to", "po-1")?,
        &region.address("po-1"),
        None,
        Duration::from_secs(5),
    )?;
    Ok(v1::handover_client::HandoverClient::new(ch))
}

pub(crate) async fn ask(
    region: &TestRegion,
    from: &str,
    number: &str,
    born: &str,
) -> anyhow::Result<v1::DossierRequestReply> {
    Ok(client(region, from)?
        .request_dossier(v1::DossierRequest {
            pupil_number: number.into(),
            birth_date: born.into(),
        })
        .await?
        .into_inner())
}

/// What a school that is not the destination is told, whatever po-1 holds.
pub(crate) fn recorded() -> v1::DossierRequestReply {
    v1::DossierRequestReply {
        outcome: Outcome::Recorded as i32,
        message_ids: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_pupils_school_is_answered_and_another_waits_for_the_ib() -> anyhow::Result<()> {
    let mut region = TestRegion::create(plans(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo1 = region.handle("vo-1");
    let vo2 = region.handle("vo-2");
    let vo3 = region.handle("vo-3");
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    let school = |id: &str| PartyId::parse("school", id);

    // Another pupil's dossier whose stored document cannot be read: a
    // request that decoded every dossier of the node would fail on it.
    let other = dossier::create(
        &po.store,
        &ib,
        "pupil-2",
        Route::PoVo,
        &unseen_povo(Extras::default()),
    )
    .await?;
    carenet_fabric::with_db!(&po.store.db, pool => {
        sqlx::query("UPDATE handover_dossier SET document = $1, pupil_tag = 'another pupil' WHERE id = $2")
            .bind(vec![0xffu8; 16])
            .bind(&other)
            .execute(pool)
            .await?;
    });

    // The pupil's dossier, not yet seen by the guardians; the IB records
    // the school the pupil enrolled at.
    let id = dossier::create(
        &po.store,
        &ib,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
    )
    .await?;
    dossier::submit_for_inspection(&po.store, &ib, &id).await?;
    destination::set(&po.store, &po.directory, &ib, &id, &school("vo-1")?).await?;
    // The lookup key is a keyed hash, not the BSN.
    let (tag,): (Option<String>,) = carenet_fabric::with_db!(&po.store.db, pool => {
        sqlx::query_as("SELECT pupil_tag FROM handover_dossier WHERE id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await?
    });
    let tag = tag.unwrap_or_default();
    assert_eq!(tag.len(), 64, "{tag}");
    assert!(!tag.contains(BSN) && !tag.contains("20030317"));

    // A child the school never had (answered without reading any dossier).
    assert_eq!(ask(&region, "vo-2", "111222333", BORN).await?, recorded());
    // Not ready: the pupil's school is told so; another school hears what
    // it would hear of a child the school never had.
    assert_eq!(
        ask(&region, "vo-1", BSN, BORN).await?.outcome,
        Outcome::Pending as i32
    );
    assert_eq!(ask(&region, "vo-2", BSN, BORN).await?, recorded());

    // Ready: the pupil's school gets it at once, and only once.
    dossier::record_inspection(
        &po.store,
        &ib,
        &id,
        carenet_fabric::clock::today(),
        GuardiansView::none(),
    )
    .await?;
    assert_eq!(ask(&region, "vo-2", BSN, BORN).await?, recorded());
    let reply = ask(&region, "vo-1", BSN, BORN).await?;
    assert_eq!(reply.outcome, Outcome::Queued as i32);
    assert_eq!(reply.message_ids.len(), 1);
    let got = wait_incoming(&vo1.store, 1).await?;
    assert_eq!(got.document_id, id);
    assert_eq!(
        ask(&region, "vo-1", BSN, BORN).await?.outcome,
        Outcome::AlreadySent as i32
    );
    // Already sent (to the pupil's school): still the same to another one.
    assert_eq!(ask(&region, "vo-2", BSN, BORN).await?, recorded());

    // vo-2's request waits on the IB's work list, once however often it asked.
    let waiting = destination::waiting(&po.store, &ib).await?;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(
        (
            waiting[0].requester.as_str(),
            waiting[0].dossier_id.as_str()
        ),
        ("vo-2", id.as_str())
    );
    assert_eq!(waiting[0].destination.as_deref(), Some("vo-1"));
    let sent_to = |store: carenet_fabric::store::Store, id: String| async move {
        let mut to: Vec<String> = store
            .sent_versions(DOSSIER_TYPE, &id)
            .await?
            .into_iter()
            .map(|s| s.recipient)
            .collect();
        to.sort();
        anyhow::Ok(to)
    };
    assert_eq!(sent_to(po.store.clone(), id.clone()).await?, ["vo-1"]);
    // A mentor may not answer it.
    let mentor = staff(&po.store, "mentor-1", &[Role::Mentor]);
    let denied =
        destination::confirm(&po.store, &po.directory, &mentor, &waiting[0].id, None).await;
    assert!(
        denied.as_ref().is_err_and(Error::is_permission_denied),
        "{denied:?}"
    );
    assert!(incoming::list(&vo2.store).await?.is_empty());

    // The IB confirms vo-2: it is released to vo-2, which is now the
    // pupil's school; vo-1, which had it, is no longer told anything.
    let confirmed =
        destination::confirm(&po.store, &po.directory, &ib, &waiting[0].id, None).await?;
    assert!(
        matches!(&confirmed, Confirmed::Released(ids) if ids.len() == 1),
        "{confirmed:?}"
    );
    let got = wait_incoming(&vo2.store, 1).await?;
    assert_eq!(got.document_id, id);
    assert_eq!(
        sent_to(po.store.clone(), id.clone()).await?,
        ["vo-1", "vo-2"]
    );
    assert_eq!(
        dossier::get(&po.store, &id).await?.destination.as_deref(),
        Some("vo-2")
    );
    assert!(destination::waiting(&po.store, &ib).await?.is_empty());
    assert_eq!(
        ask(&region, "vo-2", BSN, BORN).await?.outcome,
        Outcome::AlreadySent as i32
    );
    assert_eq!(ask(&region, "vo-1", BSN, BORN).await?, recorded());
    assert!(destination::waiting(&po.store, &ib).await?.is_empty());

    // The push side follows the destination: not to another school.
    let err = dossier::publish(&po.store, &po.directory, &ib, &id, &[school("vo-3")?], None)
        .await
        .expect_err("not the destination");
    assert!(err.to_string().starts_with("recipient:"), "{err}");

    // vo-3 asks; the IB declines: nothing goes, asking again reopens nothing.
    assert_eq!(ask(&region, "vo-3", BSN, BORN).await?, recorded());
    let waiting = destination::waiting(&po.store, &ib).await?;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].requester, "vo-3");
    destination::decline(&po.store, &ib, &waiting[0].id).await?;
    assert_eq!(ask(&region, "vo-3", BSN, BORN).await?, recorded());
    assert!(destination::waiting(&po.store, &ib).await?.is_empty());
    assert_eq!(
        sent_to(po.store.clone(), id.clone()).await?,
        ["vo-1", "vo-2"]
    );
    assert!(incoming::list(&vo3.store).await?.is_empty());

    // Every request is in po-1's audit log with the school that asked, and
    // every answer of the IB with the school.
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    let count = |action: &str, by: &str| {
        audit
            .iter()
            .filter(|r| r.action == action && r.counterparty == by)
            .count()
    };
    assert_eq!(count("dossier_requested:waiting_for_ib", "vo-2"), 3);
    assert_eq!(count("dossier_requested:unmatched", "vo-2"), 1);
    assert_eq!(count("dossier_requested:queued", "vo-1"), 1);
    assert_eq!(count("dossier_request_confirmed", "vo-2"), 1);
    assert_eq!(count("dossier_request_declined", "vo-3"), 1);
    assert_eq!(count("dossier_destination_set", "vo-2"), 1);
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partys_dossier_requests_are_rate_limited_and_the_flood_is_audited() -> anyhow::Result<()>
{
    let mut region = TestRegion::create(plans(), Tuning::default()).await?;
    let mut config = region.config("po-1");
    config.handover.request_limit_per_hour = 3;
    std::fs::write(region.config_path("po-1"), toml::to_string_pretty(&config)?)?;
    region.start_all().await?;
    let po = region.handle("po-1");
    // Within the limit, every request is answered (what it says is the
    // other test's matter).
    for n in 0..3 {
        ask(&region, "vo-1", &format!("11122233{n}"), BORN).await?;
    }
    // Past the limit: refused, however many more guesses come.
    for _ in 0..4 {
        let err = client(&region, "vo-1")?
            .request_dossier(v1::DossierRequest {
                pupil_number: BSN.into(),
                birth_date: BORN.into(),
            })
            .await
            .expect_err("over the limit");
        assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
        assert!(!err.message().contains(BSN), "{}", err.message());
    }
    // Per party: another school is still answered.
    ask(&region, "vo-2", BSN, BORN).await?;
    // The operator sees it: one audit record for the flood, and the count.
    let audit = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    let limited: Vec<_> = audit
        .iter()
        .filter(|r| r.action == "dossier_requests_limited")
        .collect();
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0].counterparty, "vo-1");
    let answered = audit
        .iter()
        .filter(|r| r.action.starts_with("dossier_requested:") && r.counterparty == "vo-1")
        .count();
    assert_eq!(answered, 3);
    let (refused,): (i64,) = carenet_fabric::with_db!(&po.store.db, pool => {
        sqlx::query_as("SELECT refused FROM handover_request_quota WHERE peer = 'vo-1'")
            .fetch_one(pool)
            .await?
    });
    assert_eq!(refused, 4);
    // A limit of zero is a configuration error naming the key.
    config.handover.request_limit_per_hour = 0;
    let err = config.handover.validate().expect_err("zero");
    assert!(
        err.to_string().contains("handover.request_limit_per_hour"),
        "{err}"
    );
    region.shutdown().await
}

/// A client nobody here wrote (Python's grpcio) calls po-1's Handover
/// service over mTLS as vo-1: the answer, a refusal's field and code as
/// google.rpc details, and no call without a client certificate
/// (tests/grpc/request_dossier.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_grpc_client_reads_the_answer_and_the_refusal_codes_over_mtls()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(plans(), Tuning::default()).await?;
    region.start_all().await?;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = tokio::process::Command::new("python3")
        .arg(repo.join("tests/grpc/request_dossier.py"))
        .env("PROTO_ROOT", repo.join("proto"))
        .env("CREDS", region.config("vo-1").credentials_dir())
        .env("ADDRESS", region.address("po-1"))
        .env("SERVER_NAME", PartyId::parse("to", "po-1")?.dns_name())
        .kill_on_drop(true)
        .output()
        .await?;
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.contains("all grpc checks passed"),
        "{said}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    region.shutdown().await
}
