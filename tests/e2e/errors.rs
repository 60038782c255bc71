//! Bad input gets a clear error naming the field, never a panic and never a
//! half-written row.

use carenet_e2e::{TestRegion, Tuning, document};
use carenet_fabric::credentials::Credentials;
use carenet_fabric::envelope::sign_receipt;
use carenet_proto::v1;
use prost::Message;
use tonic::Code;

use crate::three_parties;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_clear_errors() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let mut client = region.exchange_client("vo-1", "po-1")?;

    let item = |id: &str, t: &str| v1::NotifyItem {
        message_id: id.into(),
        document_type: t.into(),
        resends: 0,
    };
    let cases: Vec<(v1::NotifyRequest, &str)> = vec![
        (v1::NotifyRequest { items: vec![] }, "items"),
        (
            v1::NotifyRequest {
                items: vec![item("not-a-uuid", "test.note")],
            },
            "items[0].message_id",
        ),
        (
            v1::NotifyRequest {
                items: vec![item(&uuid::Uuid::new_v4().to_string(), "Bad Type!")],
            },
            "items[0].document_type",
        ),
        (
            v1::NotifyRequest {
                items: (0..1001)
                    .map(|_| item(&uuid::Uuid::new_v4().to_string(), "test.note"))
                    .collect(),
            },
            "items",
        ),
    ];
    for (request, field) in cases {
        let err = client.notify(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with(field),
            "{} does not name {field}",
            err.message()
        );
    }

    // An unknown id fails only itself: refused, not the whole call.
    let unknown = uuid::Uuid::new_v4().to_string();
    let got = client
        .fetch(v1::FetchRequest {
            message_ids: vec![unknown.clone()],
        })
        .await?
        .into_inner();
    assert!(got.envelopes.is_empty());
    assert_eq!(got.refused.len(), 1);
    assert_eq!(
        (got.refused[0].message_id.as_str(), got.refused[0].retry),
        (unknown.as_str(), false)
    );

    let vo = Credentials::load(&region.config("vo-1").credentials_dir())?;
    let body = v1::ReceiptBody {
        message_id: uuid::Uuid::new_v4().to_string(),
        sender: "po-1".into(),
        receiver: "vo-1".into(),
        payload_sha256: vec![0; 32],
        received_at_ms: 1,
    };
    let mut truncated = sign_receipt(&vo.signing, &body);
    truncated.body.truncate(truncated.body.len() / 2);
    let err = client
        .acknowledge(v1::AcknowledgeRequest {
            receipts: vec![truncated],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().starts_with("receipts[0].body"),
        "{}",
        err.message()
    );

    let mut forged = sign_receipt(&vo.signing, &body);
    forged.signature[0] ^= 0xff;
    let err = client
        .acknowledge(v1::AcknowledgeRequest {
            receipts: vec![forged],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    let err = client
        .acknowledge(v1::AcknowledgeRequest {
            receipts: vec![sign_receipt(&vo.signing, &body)],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // Raw bytes that are not a protobuf message at all.
    let garbage = v1::EchoMessage {
        payload: vec![0xff; 64],
    }
    .encode_to_vec();
    let mut raw = garbage.clone();
    raw.truncate(3);
    let err = client
        .acknowledge(v1::AcknowledgeRequest {
            receipts: vec![v1::SignedReceipt {
                body: raw,
                signature: vec![1, 2, 3],
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    // The node is still serving.
    region
        .exchange_client("swv", "po-1")?
        .notify(v1::NotifyRequest {
            items: vec![item(&uuid::Uuid::new_v4().to_string(), "test.note")],
        })
        .await?;
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_receipt_rolls_back_the_whole_batch() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    // vo-1's node is down; the test acts as vo-1 by hand.
    let ids = region
        .handle("po-1")
        .send(&[document("vo-1", 1, b"one"), document("vo-1", 2, b"two")])
        .await?;
    let mut client = region.exchange_client("vo-1", "po-1")?;
    let fetched = client
        .fetch(v1::FetchRequest {
            message_ids: ids.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(fetched.envelopes.len(), 2);
    let vo = Credentials::load(&region.config("vo-1").credentials_dir())?;
    let receipt = |env: &v1::SignedEnvelope, tamper: bool| {
        let header = v1::EnvelopeHeader::decode(env.header.as_slice()).unwrap();
        let mut hash = header.payload_sha256.clone();
        if tamper {
            hash[0] ^= 1;
        }
        sign_receipt(
            &vo.signing,
            &v1::ReceiptBody {
                message_id: header.message_id,
                sender: "po-1".into(),
                receiver: "vo-1".into(),
                payload_sha256: hash,
                received_at_ms: 1,
            },
        )
    };
    let good = receipt(&fetched.envelopes[0], false);
    let bad = receipt(&fetched.envelopes[1], true);
    let err = client
        .acknowledge(v1::AcknowledgeRequest {
            receipts: vec![good.clone(), bad],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("receipts[1].payload_sha256"),
        "{}",
        err.message()
    );
    let store = region.handle("po-1").store;
    assert_eq!(
        store.outbox_count("delivered").await?,
        0,
        "no receipt of the batch was kept"
    );

    let accepted = client
        .acknowledge(v1::AcknowledgeRequest {
            receipts: vec![good],
        })
        .await?
        .into_inner();
    assert_eq!(accepted.accepted, 1);
    assert_eq!(store.outbox_count("delivered").await?, 1);
    assert!(carenet_fabric::audit::verify(&store.db).await?.is_ok());
    region.shutdown().await
}
