//! The gateway over real gRPC on a loopback port, with a real sled store on disk.

#[path = "support/typed.rs"]
#[allow(dead_code)]
mod typed_pb;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use prost::Message as _;
use sha2::{Digest, Sha256};
use single_window::api::{self, State};
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::pb::v1::{self, submit_request::Payload, Outcome};
use single_window::rules::Rules;
use single_window::signing::{self, Signer, KEY_FILE};
use single_window::store::{Store, StoreConfig};
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic_types::StatusExt;

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
    store: Store,
}

async fn start(dir: &Path) -> Server {
    let rules = Rules::embedded().unwrap();
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::new(Arc::new(rules), store.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        api::run(listener, state, Default::default(), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Server {
        addr,
        stop,
        done,
        store,
    }
}

impl Server {
    async fn client(&self) -> GatewayClient<Channel> {
        GatewayClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap();
        self.store.close().unwrap();
    }
}

fn xml(path: &str) -> v1::SubmitRequest {
    v1::SubmitRequest {
        sender: String::new(),
        idempotency_key: String::new(),
        payload: Some(Payload::CebXml(
            std::fs::read(format!("../shared/ceb/{path}")).unwrap(),
        )),
    }
}

fn outcomes(reply: &v1::SubmitReply) -> Vec<Outcome> {
    reply
        .blocks
        .iter()
        .map(|b| Outcome::try_from(b.outcome).unwrap())
        .collect()
}

#[tokio::test]
async fn samples_are_accepted_or_rejected_block_by_block_with_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut client = server.client().await;

    let reply = client
        .submit(xml("import/CEB513Message.xml"))
        .await
        .unwrap()
        .into_inner();
    let o = outcomes(&reply);
    assert_eq!(o.len(), 10);
    // The sample repeats one guid: the first block is stored, the nine others are repeats.
    assert_eq!(o[0], Outcome::Accepted);
    assert!(o[1..].iter().all(|o| *o == Outcome::Repeat), "{o:?}");
    let receipt = String::from_utf8(reply.receipt_xml).unwrap();
    assert!(
        receipt.contains("CEB514Message")
            && receipt.contains("<ceb:returnStatus>2</ceb:returnStatus>")
    );

    // The sample return passes validation but is sent by an enterprise the return does not
    // name (P1, checked with the shipment): refused after validation, with a negative receipt.
    let reply = client
        .submit(xml("import/CEB625Message.xml"))
        .await
        .unwrap()
        .into_inner();
    assert!(outcomes(&reply).iter().all(|o| *o == Outcome::Rejected));
    assert_eq!(reply.blocks[0].violations[0].rule, "P1");
    let receipt = String::from_utf8(reply.receipt_xml).unwrap();
    assert!(
        receipt.contains("CEB626Message")
            && receipt.contains("<ceb:returnStatus>-1</ceb:returnStatus>")
            && receipt.contains("agentCode 1105910158"),
        "{receipt}"
    );

    let reply = client
        .submit(xml("import/CEB621Message.xml"))
        .await
        .unwrap()
        .into_inner();
    assert!(outcomes(&reply).iter().all(|o| *o == Outcome::Rejected));
    let rules: Vec<&str> = reply.blocks[0]
        .violations
        .iter()
        .map(|v| v.rule.as_str())
        .collect();
    assert_eq!(rules, ["P1", "ID-CHECK", "PACK-NO", "A3", "A3"]);
    let receipt = String::from_utf8(reply.receipt_xml).unwrap();
    assert!(
        receipt.contains("CEB622Message")
            && receipt.contains("<ceb:returnStatus>-1</ceb:returnStatus>")
    );
    // Nothing of a rejected block is stored.
    assert_eq!(server.store.stats().commits, 1);
    server.stop().await;
}

#[tokio::test]
async fn an_undecodable_message_is_invalid_argument_naming_the_element() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut client = server.client().await;
    let status = client
        .submit(xml("export/CEB303Message.xml"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("CEB303Message/BaseTransfer[2]"),
        "{}",
        status.message()
    );
    let details = status.get_error_details();
    let bad = details.bad_request().expect("field violations");
    assert_eq!(
        bad.field_violations[0].field,
        "CEB303Message/BaseTransfer[2]"
    );
    let ceb900 = &details.debug_info().expect("the CEB900 receipt").detail;
    assert!(
        ceb900.contains("CEB900Message") && ceb900.contains("BaseTransfer"),
        "{ceb900}"
    );
    // The server is still up.
    assert!(client.submit(xml("import/CEB513Message.xml")).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn idempotency_holds_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut client = server.client().await;
    let first = client
        .submit(xml("import/CEB513Message.xml"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcomes(&first)[0], Outcome::Accepted);
    server.stop().await;

    let server = start(dir.path()).await;
    let mut client = server.client().await;
    let again = client
        .submit(xml("import/CEB513Message.xml"))
        .await
        .unwrap()
        .into_inner();
    assert!(outcomes(&again).iter().all(|o| *o == Outcome::Repeat));
    // Same guid, other content: a conflict, and the stored block is unchanged.
    let text = std::fs::read_to_string("../shared/ceb/import/CEB513Message.xml").unwrap();
    let changed = text.replacen("<ceb:note>", "<ceb:note>changed ", 1);
    let request = v1::SubmitRequest {
        payload: Some(Payload::CebXml(changed.into_bytes())),
        ..xml("import/CEB513Message.xml")
    };
    let reply = client.submit(request).await.unwrap().into_inner();
    assert_eq!(outcomes(&reply)[0], Outcome::Conflict, "{reply:?}");
    assert_eq!(
        server.store.stats().commits,
        0,
        "nothing new stored after the restart"
    );
    server.stop().await;
}

#[tokio::test]
async fn typed_declarations_are_validated_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut client = server.client().await;
    let tax = typed_pb::tax_pb();
    let request = |tax: v1::TaxDeclaration, key: &str| v1::SubmitRequest {
        sender: "3301960001".into(),
        idempotency_key: key.into(),
        payload: Some(Payload::Tax(tax)),
    };
    let reply = client
        .submit(request(tax.clone(), "tax-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcomes(&reply), [Outcome::Accepted]);
    // Its signed receipt names the declaration as the gateway re-encoded it, twice.
    let key = Signer::open(&dir.path().join(KEY_FILE))
        .unwrap()
        .public_key_hex();
    let receipt = signing::verify(
        &reply.signed_receipts[0],
        &signing::public_key(&key).unwrap(),
    )
    .unwrap();
    let encoded: [u8; 32] = Sha256::digest(tax.encode_to_vec()).into();
    assert_eq!(receipt.received_sha256, Some(encoded));
    assert_eq!(receipt.content_sha256, encoded);

    let mut wrong = tax.clone();
    wrong.lines[0].value_added_tax = "22.37".into();
    let reply = client
        .submit(request(wrong, "tax-2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcomes(&reply), [Outcome::Rejected]);
    assert_eq!(reply.blocks[0].violations[0].rule, "TAX");

    let mut garbled = tax;
    garbled.freight = "ten".into();
    let status = client.submit(request(garbled, "tax-3")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = status.get_error_details();
    assert_eq!(
        details.bad_request().unwrap().field_violations[0].field,
        "Tax/freight"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_stream_gets_one_reply_per_message_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut client = server.client().await;
    let files = [
        "import/CEB513Message.xml",
        "import/CEB311Message.xml",
        "import/CEB625Message.xml",
    ];
    let requests: Vec<_> = files.iter().map(|f| xml(f)).collect();
    let mut replies = client
        .submit_stream(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(reply) = replies.message().await.unwrap() {
        got.push((reply.blocks.len(), outcomes(&reply)[0]));
    }
    assert_eq!(
        got,
        [
            (10, Outcome::Accepted),
            (6, Outcome::Rejected),
            (10, Outcome::Rejected)
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_echo_share_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "singlewindow.v1.Gateway".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut client = server.client().await;
    let echo = client
        .echo(v1::EchoRequest {
            payload: b"ping".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(echo.payload, b"ping");
    server.stop().await;
}
