//! Delivery over real nodes when parties are away, messages are poison and a
//! party runs replicas (issue 9, items 4, 5 and 11).

use std::process::{Command, Stdio};
use std::time::Duration;

use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{
    KillOnDrop, TestRegion, Tuning, carenet_bin, document, postgres_url, status_document,
    wait_delivered, wait_until,
};
use carenet_fabric::audit;
use carenet_fabric::store::Db;
use carenet_proto::v1::{self, EvidenceKind, GrantorRole, LegalBasisKind};
use prost::Message;

use crate::three_parties;

const T: Duration = Duration::from_secs(30);

/// The period a message is retried before it is dead-lettered, short for tests.
fn tuning(give_up_after_ms: i64) -> Tuning {
    Tuning {
        give_up_after_ms,
        retry_base_ms: 50,
        retry_max_ms: 200,
        ack_timeout_ms: 1000,
    }
}

/// A school's node is off for longer than the old fixed number of attempts
/// lasted (12 attempts at most 200 ms apart: under 2.5 s), but within the
/// retry period: everything arrives when it returns, nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_off_over_a_holiday_gets_everything_when_it_returns() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), tuning(60_000)).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let sender = region.handle("po-1");
    let messages: Vec<_> = (0..10)
        .map(|n| document("vo-1", n, b"sent while the school is closed"))
        .collect();
    sender.send(&messages).await?;
    // The holiday: every attempt fails, for well over 12 attempts.
    wait_until(T, || async {
        let items = sender.store.list_outbox(Some("pending"), 100).await.ok()?;
        (items.len() == 10 && items.iter().all(|i| i.attempts >= 20)).then_some(())
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sender.store.outbox_count("dead").await?,
        0,
        "still retrying"
    );
    region.start("vo-1").await?;
    wait_delivered(&sender.store, 10, T).await?;
    assert_eq!(sender.store.counters().outbox_dead_lettered(), 0);
    region.shutdown().await
}

/// After the retry period both sides give up with a count, and one operator
/// resend recovers both: the sender's dead-lettered message and the
/// receiver's dead-lettered notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_retry_period_a_resend_recovers_both_sides() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), tuning(1500)).await?;
    region.start("swv").await?;
    region.start("vo-1").await?;
    // The receiver is told of a message while the sender's node is down (it
    // queued it and notified just before it went): every fetch fails.
    let po_store = region.open_store("po-1").await?;
    let ids = po_store
        .enqueue(&[document("vo-1", 1, b"the sender went away")])
        .await?;
    po_store.db.close().await;
    region
        .exchange_client("po-1", "vo-1")?
        .notify(v1::NotifyRequest {
            items: vec![v1::NotifyItem {
                message_id: ids[0].clone(),
                document_type: "test.note".into(),
                resends: 0,
            }],
        })
        .await?;
    let vo = region.handle("vo-1").store;
    wait_until(T, || async {
        (vo.inbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    assert_eq!(vo.counters().inbox_dead_lettered(), 1, "counted");
    // The sender comes back after its own period: its routine notification
    // does not undo the receiver's dead-letter, and the receipt never comes.
    region.stop("vo-1").await?;
    let po = region.start("po-1").await?;
    wait_until(T, || async {
        (po.store.outbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    assert_eq!(po.store.counters().outbox_dead_lettered(), 1, "counted");
    let vo = region.start("vo-1").await?.store;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(vo.inbox_count("dead").await?, 1, "nothing moves by itself");
    // One resend, and both sides deliver.
    assert_eq!(po.store.resend(None, "operator").await?, 1);
    wait_delivered(&po.store, 1, T).await?;
    assert!(vo.received(&ids[0]).await?.is_some());
    region.shutdown().await
}

/// A release whose cause can change (consent asked, not yet granted) is not
/// final: the receiver asks again, and the document arrives once granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_not_yet_granted_is_asked_again_not_refused() -> anyhow::Result<()> {
    let plans = vec![
        carenet_node::region::PartyPlan::new("swv", carenet_fabric::PartyKind::Swv, "SWV"),
        carenet_node::region::PartyPlan::new("vo-1", carenet_fabric::PartyKind::VoSchool, "VO 1"),
        carenet_node::region::PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, tuning(60_000)).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1");
    let consents = ConsentStore::new(vo.store.clone());
    let by = carenet_fabric::Actor::new(
        vo.store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    let today = carenet_fabric::clock::today();
    let id = consents
        .request(
            &by,
            &ConsentRequest {
                child_ref: "pupil-1".into(),
                child_birth_date: today - time::Duration::days(10 * 365),
                purpose: Purpose::ShareWithPartner,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(v1::consent_recipient::Target::PartyId("jgz-1".into())),
                }],
                categories: vec![Category::EducationalSupport],
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    let mut m = document(
        "jgz-1",
        1,
        &v1::CategorizedDocument {
            sections: vec![v1::Section {
                category: "educational_support".into(),
                name: "needs".into(),
                content: b"extra instructie".to_vec(),
            }],
        }
        .encode_to_vec(),
    );
    m.child_ref = Some("pupil-1".into());
    m.legal_basis = v1::LegalBasis {
        kind: LegalBasisKind::Consent as i32,
        reference: id.clone(),
        consent_receipt: vec![],
    };
    let sent = vo.send(&[m]).await?;
    let jgz = region.handle("jgz-1").store;
    // Asked and answered "not yet": waiting, not refused, at both ends.
    wait_until(T, || async {
        let items = jgz.list_inbox_errors().await.ok()?;
        items
            .iter()
            .any(|(_, e)| e.contains("consent requested, not yet granted"))
            .then_some(())
    })
    .await?;
    assert_eq!(jgz.inbox_count("refused").await?, 0);
    assert_eq!(vo.store.outbox_count("dead").await?, 0);
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
                    recorded_by: String::new(),
                    document_sha256: vec![],
                },
                today,
            },
        )
        .await?;
    wait_delivered(&vo.store, 1, T).await?;
    assert!(jgz.received(&sent[0]).await?.is_some());
    region.shutdown().await
}

/// Makes storing a payload of `poison` fail in the receiver's database, as a
/// corrupt row or a broken disk would: a real failure inside the store's
/// transaction.
async fn poison_storing(db: &Db) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(pool) => {
            sqlx::query(
                "CREATE TRIGGER poison BEFORE UPDATE OF payload ON inbox \
                 WHEN NEW.payload = X'706f69736f6e' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
            )
            .execute(pool)
            .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
                 IF NEW.payload = '\\x706f69736f6e'::bytea THEN RAISE EXCEPTION 'poisoned'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
            )
            .execute(pool)
            .await?;
            sqlx::query(
                "CREATE TRIGGER poison BEFORE UPDATE ON inbox FOR EACH ROW EXECUTE FUNCTION poison()",
            )
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// One message that cannot be stored fails only itself: the rest of its
/// batch arrives, it backs off and is dead-lettered after the period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_fails_only_itself_and_backs_off() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), tuning(3000)).await?;
    region.start_all().await?;
    let receiver = region.handle("vo-1").store;
    poison_storing(&receiver.db).await?;
    let sender = region.handle("po-1");
    let mut batch: Vec<_> = (0..5)
        .map(|n| document("vo-1", n, b"an ordinary note"))
        .collect();
    batch.push(document("vo-1", 9, b"poison"));
    let ids = sender.send(&batch).await?;
    wait_delivered(&sender.store, 5, T).await?;
    for id in &ids[..5] {
        assert!(receiver.received(id).await?.is_some());
    }
    wait_until(T, || async {
        (receiver.inbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    assert_eq!(receiver.inbox_ids("dead").await?, vec![ids[5].clone()]);
    // Backed off: over 3 s of failures with waits of up to 200 ms, a few
    // dozen fetches at most (one every 50 ms poll without backoff would be 60).
    let released = audit::list(&sender.store.db, 0, 100_000)
        .await?
        .into_iter()
        .filter(|r| r.action == "released" && r.message_id == ids[5])
        .count();
    assert!(
        (2..=40).contains(&released),
        "{released} releases of the poison message"
    );
    region.shutdown().await
}

/// Starts `carenet node` for `party`, listening on `listen` (a replica gets
/// its own address; peers call the one in the directory).
fn replica(region: &TestRegion, party: &str, listen: &str, n: usize) -> anyhow::Result<KillOnDrop> {
    let mut config = region.config(party);
    config.listen = listen.to_owned();
    let path = config.data_dir.join(format!("replica-{n}.toml"));
    carenet_fabric::private_fs::write_private(&path, toml::to_string_pretty(&config)?.as_bytes())?;
    Ok(KillOnDrop(
        Command::new(carenet_bin())
            .args(["node", "--config"])
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(
                region.dir.path().join(format!("{party}-replica-{n}.log")),
            )?)
            .spawn()?,
    ))
}

fn free_address() -> anyhow::Result<String> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .to_string())
}

/// Two node processes of one party over one PostgreSQL database, on both
/// ends, deliver 1,000 messages exactly once: each released once, received
/// once, with no duplicate release records (issue 9.11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_each_party_deliver_a_thousand_messages_exactly_once() -> anyhow::Result<()>
{
    const N: usize = 1000;
    if postgres_url().is_none() {
        eprintln!("replicas share a PostgreSQL database: this test runs in the PostgreSQL pass");
        return Ok(());
    }
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    // The receiving school's two processes, then the sending school's.
    let _po = [
        replica(&region, "po-1", &region.address("po-1"), 1)?,
        replica(&region, "po-1", &free_address()?, 2)?,
    ];
    let vo_store = region.open_store("vo-1").await?;
    let messages: Vec<_> = (0..N)
        .map(|n| status_document("po-1", n, format!("status {n}").as_bytes()))
        .collect();
    let ids = vo_store.enqueue(&messages).await?;
    let _vo = [
        replica(&region, "vo-1", &region.address("vo-1"), 1)?,
        replica(&region, "vo-1", &free_address()?, 2)?,
    ];
    wait_delivered(&vo_store, N as i64, Duration::from_secs(120)).await?;
    let po_store = region.open_store("po-1").await?;
    assert_eq!(po_store.inbox_received_count().await?, N as i64);
    let count = |records: &[v1::AuditRecord], action: &str| {
        let of: Vec<&str> = records
            .iter()
            .filter(|r| r.action == action)
            .map(|r| r.message_id.as_str())
            .collect();
        let distinct: std::collections::BTreeSet<&str> = of.iter().copied().collect();
        (of.len(), distinct.len())
    };
    let sent = audit::list(&vo_store.db, 0, 100_000).await?;
    let got = audit::list(&po_store.db, 0, 100_000).await?;
    if count(&sent, "released").0 != N {
        let mut seen = std::collections::BTreeMap::new();
        for r in sent.iter().filter(|r| r.action == "released") {
            *seen.entry(r.message_id.clone()).or_insert(0) += 1;
        }
        for (id, n) in seen.iter().filter(|(_, n)| **n > 1).take(3) {
            eprintln!("released {n} times: {id}");
            for r in sent
                .iter()
                .chain(got.iter())
                .filter(|r| &r.message_id == id)
            {
                eprintln!("  {} {} {} {}", r.at_ms, r.actor, r.action, r.counterparty);
            }
        }
    }
    assert_eq!(count(&sent, "released"), (N, N), "each released once");
    assert_eq!(count(&sent, "delivered"), (N, N));
    assert_eq!(count(&got, "received"), (N, N), "each received once");
    assert!(
        ids.iter()
            .all(|id| sent.iter().any(|r| &r.message_id == id))
    );
    vo_store.db.close().await;
    po_store.db.close().await;
    region.shutdown().await
}

/// Makes every update of `table` where `condition` holds (an SQL
/// expression over `NEW` and `OLD`, the same on both backends) fail in `db`:
/// a real error inside the database, as a full disk or a lost connection
/// gives. Returns the statement that lifts it.
async fn fail_updates(db: &Db, table: &str, condition: &str) -> anyhow::Result<String> {
    let name = format!("fail_{table}");
    Ok(match db {
        Db::Sqlite(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TRIGGER {name} BEFORE UPDATE ON {table} \
                 WHEN {condition} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )))
            .execute(pool)
            .await?;
            format!("DROP TRIGGER {name}")
        }
        Db::Postgres(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN \
                 IF {condition} THEN RAISE EXCEPTION 'disk full'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            )))
            .execute(pool)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )))
            .execute(pool)
            .await?;
            format!("DROP TRIGGER {name} ON {table}")
        }
    })
}

async fn lift(db: &Db, statement: String) -> anyhow::Result<()> {
    carenet_fabric::with_db!(db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(pool).await?;
    });
    Ok(())
}

const LOCAL_ERROR: &str = "a local error interrupted this attempt";

/// A local database error in the middle of a delivery step releases the
/// messages the worker claimed, to be tried again after the usual backoff;
/// they do not wait out the two-minute claim (meant for a worker that
/// stopped), so the step completes soon after the database recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_error_mid_step_is_retried_without_waiting_out_the_claim() -> anyhow::Result<()>
{
    let mut region = TestRegion::create(three_parties(), tuning(60_000)).await?;
    region.start_all().await?;
    let receiver = region.handle("vo-1").store;
    let failing = fail_updates(&receiver.db, "inbox", "NEW.state = 'acked'").await?;
    let sender = region.handle("po-1");
    let ids = sender
        .send(&[document("vo-1", 1, b"arrives while the disk is full")])
        .await?;
    // The receipt reaches the sender; recording that it left fails.
    wait_delivered(&sender.store, 1, T).await?;
    // It is released and tried again (its error recorded without the
    // database's own text), not held for the claim.
    wait_until(T, || async {
        let errors = receiver.list_inbox_errors().await.ok()?;
        errors
            .contains(&(ids[0].clone(), LOCAL_ERROR.to_owned()))
            .then_some(())
    })
    .await?;
    lift(&receiver.db, failing).await?;
    wait_until(T, || async {
        (receiver.inbox_count("acked").await.ok()? == 1).then_some(())
    })
    .await?;

    // The sender's side: the notification went out, recording it fails
    // (and so does every release, so that nothing is delivered meanwhile).
    let failing = fail_updates(
        &sender.store.db,
        "outbox",
        "NEW.state = 'notified' OR (NEW.released_sha256 IS NOT NULL AND OLD.released_sha256 IS NULL)",
    )
    .await?;
    let second = sender
        .send(&[document("vo-1", 2, b"sent while the disk is full")])
        .await?;
    wait_until(T, || async {
        let pending = sender.store.list_outbox(Some("pending"), 10).await.ok()?;
        pending
            .iter()
            .any(|i| i.message_id == second[0] && i.last_error.as_deref() == Some(LOCAL_ERROR))
            .then_some(())
    })
    .await?;
    lift(&sender.store.db, failing).await?;
    wait_delivered(&sender.store, 2, T).await?;
    assert!(receiver.received(&second[0]).await?.is_some());
    region.shutdown().await
}
