//! Trust that goes stale and servers that hold on (issue 9, items 9, 10 and 12).

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_delivered, wait_until};
use carenet_fabric::ca::RegionCa;
use carenet_proto::v1;
use tonic::Code;

use crate::three_parties;

const T: Duration = Duration::from_secs(30);

/// Sets po-1's directory maximum age before it starts.
fn max_age(region: &TestRegion, party: &str, secs: u64) -> anyhow::Result<()> {
    let mut config = region.config(party);
    config.directory.max_age_secs = secs;
    std::fs::write(region.config_path(party), toml::to_string_pretty(&config)?)?;
    Ok(())
}

fn notify_request() -> v1::NotifyRequest {
    v1::NotifyRequest {
        items: vec![v1::NotifyItem {
            message_id: uuid::Uuid::new_v4().to_string(),
            document_type: "test.note".into(),
            resends: 0,
        }],
    }
}

/// A node whose directory is older than its maximum age (cut off from the
/// SWV, or a CA that stopped publishing) refuses new exchanges both ways with
/// an error that says why; a freshly signed directory ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_older_than_its_maximum_age_stops_exchanges_until_refreshed()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    max_age(&region, "po-1", 3)?;
    region.start_all().await?;
    let po = region.handle("po-1");
    // Wait until the directory the CA signed at creation is over 3 s old.
    wait_until(T, || async {
        let snapshot = po.directory.snapshot();
        (carenet_fabric::clock::now_ms() - snapshot.issued_at_ms > 3500).then_some(())
    })
    .await?;
    let err = region
        .exchange_client("vo-1", "po-1")?
        .notify(notify_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("maximum age"), "{}", err.message());
    let sent = po
        .send(&[document("vo-1", 1, b"while the directory is stale")])
        .await?;
    wait_until(T, || async {
        let items = po.store.list_outbox(Some("pending"), 10).await.ok()?;
        items
            .iter()
            .any(|i| {
                i.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("maximum age"))
            })
            .then_some(())
    })
    .await?;
    assert_eq!(po.store.outbox_count("delivered").await?, 0);
    // The CA re-signs; the SWV serves it, po-1 fetches it, and it is delivered.
    RegionCa::open(&region.dir.path().join("ca"))?.publish_now(None)?;
    wait_delivered(&po.store, 1, T).await?;
    assert!(
        region
            .handle("vo-1")
            .store
            .received(&sent[0])
            .await?
            .is_some()
    );
    region.shutdown().await
}

/// A revocation list past its next update is not trusted: exchanges stop
/// until a fresh one comes with the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_past_its_next_update_stops_exchanges_until_refreshed() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let mut ca = RegionCa::open(&region.dir.path().join("ca"))?;
    ca.publish_now(Some(2))?;
    let version = wait_until(T, || async {
        let s = po.directory.snapshot();
        (s.crl_next_update_ms
            .is_some_and(|n| n - carenet_fabric::clock::now_ms() < 5000))
        .then_some(s.version)
    })
    .await?;
    wait_until(T, || async {
        let s = po.directory.snapshot();
        (s.crl_next_update_ms
            .is_some_and(|n| n < carenet_fabric::clock::now_ms()))
        .then_some(())
    })
    .await?;
    let err = region
        .exchange_client("vo-1", "po-1")?
        .notify(notify_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("next update"), "{}", err.message());
    ca.publish_now(Some(30 * 24 * 3600))?;
    wait_until(T, || async {
        (po.directory.snapshot().version > version).then_some(())
    })
    .await?;
    po.send(&[document("vo-1", 1, b"after the fresh list")])
        .await?;
    wait_delivered(&po.store, 1, T).await?;
    region.shutdown().await
}

fn cli(args: &[&str]) -> anyhow::Result<std::process::Output> {
    Ok(std::process::Command::new(carenet_e2e::carenet_bin())
        .args(args)
        .output()?)
}

/// Issue 9.12: a party makes its own keys and sends the CA a request; the CA
/// signs it without ever holding the party's private keys, and refuses a
/// request whose signing key the requester cannot prove it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_makes_its_own_keys_and_the_ca_signs_only_its_request() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let region = TestRegion::create(three_parties(), Tuning::default()).await?;
    let ca_dir = region.dir.path().join("ca");
    let own = region.dir.path().join("po-2-credentials");
    let out = cli(&[
        "keys",
        "init",
        "--party",
        "po-2",
        "--out",
        own.to_str().unwrap(),
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in ["key.pem", "signing.pk8"] {
        let mode = std::fs::metadata(own.join(file))?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    assert_eq!(std::fs::metadata(&own)?.permissions().mode() & 0o777, 0o700);
    let tls_key = std::fs::read_to_string(own.join("key.pem"))?;
    let request = own.join("join-request.toml");
    let sign = |request: &std::path::Path, out_dir: &std::path::Path| {
        cli(&[
            "ca",
            "sign",
            "--ca-dir",
            ca_dir.to_str().unwrap(),
            "--request",
            request.to_str().unwrap(),
            "--kind",
            "po_school",
            "--name",
            "PO 2",
            "--endpoint",
            "127.0.0.1:9",
            "--out",
            out_dir.to_str().unwrap(),
        ])
    };

    // A request with a signing key its sender cannot prove it holds: refused.
    let mut forged = carenet_fabric::keys::JoinRequest::load(&request)?;
    let other = carenet_fabric::crypto::SigningKey::from_pkcs8(
        &carenet_fabric::crypto::SigningKey::generate_pkcs8()?,
    )?;
    forged.signing_public_key = hex::encode(other.public_key());
    let forged_path = region.dir.path().join("forged.toml");
    std::fs::write(&forged_path, toml::to_string(&forged)?)?;
    let refused = sign(&forged_path, &region.dir.path().join("forged-out"))?;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("request.proof"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let signed = sign(&request, &own)?;
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(own.join("key.pem"))?,
        tls_key,
        "the party's key is its own, untouched"
    );
    let creds = carenet_fabric::credentials::Credentials::load(&own)?;
    assert_eq!(creds.party.as_str(), "po-2");
    // The directory names the party's own keys.
    let snapshot = carenet_fabric::directory::Snapshot::verify(
        &creds.ca_public_key,
        &std::fs::read(ca_dir.join("directory.signed"))?,
    )?;
    let entry = snapshot.get("po-2").expect("entered");
    assert_eq!(entry.signing_key, creds.signing.public_key());
    assert_eq!(
        entry.spki_sha256,
        carenet_fabric::tls::spki_sha256_of_cert(&creds.cert_chain[0])?
    );
    // Nothing the CA keeps holds the party's private keys.
    let key_body: String = tls_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let signing_pk8 = std::fs::read(own.join("signing.pk8"))?;
    for file in std::fs::read_dir(&ca_dir)? {
        let bytes = std::fs::read(file?.path())?;
        let text = String::from_utf8_lossy(&bytes).replace(['\n', '\r'], "");
        assert!(!text.contains(&key_body));
        assert!(
            !bytes
                .windows(signing_pk8.len())
                .any(|w| w == signing_pk8.as_slice())
        );
    }
    region.shutdown().await
}
