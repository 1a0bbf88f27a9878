//! Identity and authorization over real mutual TLS: a gateway node on a loopback port with
//! certificates made in the test (a CA, enterprises, an agency, an operator, a revoked one, an
//! expired one, one from another CA), its register of identities in a file, and the audit
//! records the calls leave.

#[path = "support/pki.rs"]
mod pki;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pki::{Client, Made, Pki};
use single_window::api::State;
use single_window::audit::{Facts, Record};
use single_window::ceb::encode::encode;
use single_window::client::ClientTls;
use single_window::config::Config;
use single_window::domain::{Document, Message, MessageKind};
use single_window::node::{embedded_sim, Node, SIM_LEDGER};
use single_window::pb::v1;
use single_window::pb::v1::admin_client::AdminClient;
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::pb::v1::receipts_client::ReceiptsClient;
use single_window::rules::Rules;
use single_window::sim::{read_ledger, LedgerLine, Mix, SimConfig};
use single_window::store::{Store, StoreConfig};
use single_window::synth::{self, CARRIER, PAYER, PLATFORM};
use tonic::transport::Channel;
use tonic::Code;

/// A logistics enterprise of the register that takes no part in the matrix's shipments.
const STRANGER: &str = "1101081122";
const USER_AGENT: &str = "matrix-test/1.0";
const PATIENCE: Duration = Duration::from_secs(20);

/// A TLS gateway node over a store in a temporary folder.
struct Gateway {
    node: Node,
    dir: tempfile::TempDir,
}

async fn start(pki: &Pki) -> anyhow::Result<Gateway> {
    start_with(pki, Config::default().limits).await
}

async fn start_with(pki: &Pki, limits: single_window::config::Limits) -> anyhow::Result<Gateway> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let state = Arc::new(State {
        tls: pki.server(),
        limits,
        ..State::new(Arc::new(Rules::embedded().unwrap()), store)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = Config::default();
    let sim = SimConfig {
        mix: Mix::RELEASE_ONLY,
        hold_ms: 0,
        ..embedded_sim()
    };
    let node = Node::start(listener, state, &config.agencies, config.dispatch(), sim).await?;
    Ok(Gateway { node, dir })
}

fn channel(tls: &ClientTls, url: &str) -> Channel {
    tls.endpoint(url)
        .unwrap()
        .user_agent(USER_AGENT)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy()
}

async fn echo(tls: &ClientTls, url: &str) -> Result<(), tonic::Status> {
    let mut client = GatewayClient::new(channel(tls, url));
    let reply = client
        .echo(v1::EchoRequest {
            payload: b"ping".to_vec(),
        })
        .await?;
    assert_eq!(reply.into_inner().payload, b"ping");
    Ok(())
}

fn entry(who: &Client, by_subject: bool, what: &str, revoked: bool) -> String {
    let named = if by_subject {
        format!("subject = {:?}", who.subject)
    } else {
        format!("fingerprint = {:?}", who.fingerprint)
    };
    format!("[[identity]]\nname = \"test\"\n{named}\n{what}\nrevoked = {revoked}\n\n")
}

/// Audit records of the node's store.
fn audit_facts(store: &Store) -> Vec<Facts> {
    store
        .audit_entries()
        .map(|entry| Record::from_bytes(&entry.unwrap().1).unwrap().facts)
        .collect()
}

/// Waits until `want` holds of the audit records (they are queued, not awaited, by the calls).
async fn audited(store: &Store, want: impl Fn(&[Facts]) -> bool) -> Vec<Facts> {
    let started = Instant::now();
    loop {
        let facts = audit_facts(store);
        if want(&facts) || started.elapsed() > PATIENCE {
            return facts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_admits_registered_certificates_and_refuses_the_rest() {
    let pki = Pki::new();
    let platform = pki.client("platform", Made::default());
    let payer = pki.client("payer", Made::default());
    let customs = pki.client("customs", Made::default());
    let revoked = pki.client("revoked", Made::default());
    let expired = pki.client(
        "expired",
        Made {
            expired: true,
            ..Made::default()
        },
    );
    let foreign = pki.client(
        "foreign",
        Made {
            foreign: true,
            ..Made::default()
        },
    );
    let unknown = pki.client("unknown", Made::default());
    pki.write_register(
        &[
            entry(
                &platform,
                false,
                &format!("enterprise = {PLATFORM:?}"),
                false,
            ),
            entry(&payer, true, &format!("enterprise = {PAYER:?}"), false),
            entry(&customs, false, "agency = \"customs\"", false),
            entry(&revoked, false, &format!("enterprise = {PLATFORM:?}"), true),
            entry(
                &expired,
                false,
                &format!("enterprise = {PLATFORM:?}"),
                false,
            ),
            entry(
                &foreign,
                false,
                &format!("enterprise = {PLATFORM:?}"),
                false,
            ),
        ]
        .concat(),
    );
    let gateway = start(&pki).await.unwrap();
    let url = gateway.node.url.clone();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // Registered: by fingerprint, by subject, an agency.
    echo(&platform.tls, &url).await.unwrap();
    echo(&payer.tls, &url).await.unwrap();
    echo(&customs.tls, &url).await.unwrap();

    // The simulated agencies' internal port is not a way around TLS: it serves receipts only,
    // and only to a caller with the node's secret.
    let internal = gateway
        .node
        .internal_url
        .clone()
        .expect("the simulated agencies' port");
    assert!(internal.starts_with("http://127.0.0.1:"), "{internal}");
    let status = echo(&ClientTls::default(), &internal).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = ReceiptsClient::new(channel(&ClientTls::default(), &internal))
        .report(v1::AgencyReceipt {
            receipt_id: "forged".into(),
            message_id: "customs:forged".into(),
            agency: "customs".into(),
            return_status: 800,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Signed by the CA, but revoked or not in the register: refused with the reason.
    let status = echo(&revoked.tls, &url).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("is revoked in the register"),
        "{status:?}"
    );
    assert!(
        status.message().contains(&revoked.fingerprint),
        "{status:?}"
    );
    let status = echo(&unknown.tls, &url).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("is not in the register"),
        "{status:?}"
    );

    // Refused at the handshake: expired, another CA, no certificate, plaintext. No call
    // reaches the gateway, so none of them is audited as a call.
    for (what, tls) in [
        ("expired", expired.tls.clone()),
        ("foreign", foreign.tls.clone()),
        ("anonymous", pki.anonymous()),
    ] {
        let status = echo(&tls, &url).await.unwrap_err();
        assert!(
            matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled
            ),
            "{what}: {status:?}"
        );
    }
    let plain = url.replacen("https://", "http://", 1);
    let status = echo(&ClientTls::default(), &plain).await.unwrap_err();
    assert_ne!(
        status.code(),
        Code::Ok,
        "plaintext to the TLS port: {status:?}"
    );

    let store = &gateway.node.state.store;
    // The calls over TLS (the internal port's refusal above has no certificate).
    let tls_echo = |f: &&Facts| f.method.as_deref() == Some("Echo") && f.cert_fingerprint.is_some();
    let facts = audited(store, |f| f.iter().filter(tls_echo).count() >= 5).await;
    let echoes: Vec<&Facts> = facts.iter().filter(tls_echo).collect();
    assert_eq!(echoes.len(), 5, "{echoes:#?}");
    for f in &echoes {
        assert_eq!(f.source_ip.as_deref(), Some("127.0.0.1"), "{f:?}");
        assert!(f.source_port.is_some_and(|p| p > 0), "{f:?}");
        assert!(
            f.user_agent
                .as_deref()
                .is_some_and(|ua| ua.contains(USER_AGENT)),
            "{f:?}"
        );
    }
    let by_fp = |c: &Client| {
        echoes
            .iter()
            .find(|f| f.cert_fingerprint.as_deref() == Some(c.fingerprint.as_str()))
            .unwrap_or_else(|| panic!("no record of {}", c.subject))
    };
    assert_eq!(by_fp(&platform).outcome.as_deref(), Some("OK"));
    assert_eq!(by_fp(&platform).enterprise.as_deref(), Some(PLATFORM));
    assert_eq!(
        by_fp(&payer).caller.as_deref(),
        Some(format!("enterprise {PAYER}").as_str())
    );
    assert_eq!(by_fp(&customs).caller.as_deref(), Some("agency customs"));
    let refused = by_fp(&revoked);
    assert_eq!(refused.outcome.as_deref(), Some("UNAUTHENTICATED"));
    assert!(refused.note.contains("revoked"), "{refused:?}");
    assert_eq!(by_fp(&unknown).outcome.as_deref(), Some("UNAUTHENTICATED"));
    for c in [&expired, &foreign] {
        assert!(
            facts
                .iter()
                .all(|f| f.cert_fingerprint.as_deref() != Some(c.fingerprint.as_str())),
            "{} reached a handler",
            c.subject
        );
    }

    // Revocation in the register takes effect without a restart, on open streams too: a
    // SubmitStream opened before it takes nothing after it.
    let rules = Rules::embedded().unwrap();
    let (sending, requests) = tokio::sync::mpsc::channel(4);
    let mut replies = GatewayClient::new(channel(&platform.tls, &url))
        .submit_stream(tokio_stream::wrappers::ReceiverStream::new(requests))
        .await
        .unwrap()
        .into_inner();
    sending
        .send(submit(&message(40, MessageKind::Ceb311, PLATFORM, &rules)))
        .await
        .unwrap();
    let first = replies.message().await.unwrap().expect("a reply");
    assert_eq!(
        first.blocks[0].outcome,
        v1::Outcome::Accepted as i32,
        "{first:?}"
    );
    pki.write_register(
        &[
            entry(
                &platform,
                false,
                &format!("enterprise = {PLATFORM:?}"),
                true,
            ),
            entry(&payer, true, &format!("enterprise = {PAYER:?}"), false),
        ]
        .concat(),
    );
    let started = Instant::now();
    let status = loop {
        match echo(&platform.tls, &url).await {
            Err(status) => break status,
            Ok(()) if started.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(()) => panic!("the platform's certificate was not revoked by the new register"),
        }
    };
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    echo(&payer.tls, &url).await.unwrap();
    sending
        .send(submit(&message(41, MessageKind::Ceb311, PLATFORM, &rules)))
        .await
        .unwrap();
    let status = replies.message().await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("is revoked"), "{status:?}");
    let s41 = synth::shipment(77, 41, &rules);
    let key41 = single_window::domain::ShipmentKey {
        ebp_code: single_window::domain::EntCode::parse_str(PLATFORM).unwrap(),
        order_no: s41.order.head.order_no.clone().unwrap(),
    };
    assert!(
        single_window::ledger::record(&gateway.node.state.store, &key41)
            .unwrap()
            .is_none(),
        "nothing sent after the revocation is on file"
    );
    gateway.node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_connection_has_its_own_limit_of_calls_in_flight() {
    let pki = Pki::new();
    let platform = pki.client("platform", Made::default());
    pki.write_register(&entry(
        &platform,
        false,
        &format!("enterprise = {PLATFORM:?}"),
        false,
    ));
    let limits = single_window::config::Limits {
        max_concurrent_per_connection: std::num::NonZeroUsize::new(2).unwrap(),
        ..Config::default().limits
    };
    let gateway = start_with(&pki, limits).await.unwrap();
    // Open watches hold their slots; on one connection the third is shed at once.
    let mut client = GatewayClient::new(channel(&platform.tls, &gateway.node.url));
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(
            client
                .watch_shipments(v1::WatchShipmentsRequest::default())
                .await
                .unwrap(),
        );
    }
    let status = client
        .watch_shipments(v1::WatchShipmentsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("on this connection"),
        "{status:?}"
    );
    // Another connection of the same enterprise has its own slots.
    let mut other = GatewayClient::new(channel(&platform.tls, &gateway.node.url));
    other.echo(v1::EchoRequest::default()).await.unwrap();
    drop(open);
    gateway.node.stop().await.unwrap();
}

#[tokio::test]
async fn plaintext_is_refused_off_loopback_and_a_bad_register_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let state = Arc::new(State::new(
        Arc::new(Rules::embedded().unwrap()),
        store.clone(),
    ));
    let config = Config::default();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let error = Node::start(
        listener,
        state,
        &config.agencies,
        config.dispatch(),
        embedded_sim(),
    )
    .await
    .err()
    .expect("plaintext on 0.0.0.0 is refused");
    assert!(
        error
            .to_string()
            .contains("plaintext is allowed on loopback only"),
        "{error}"
    );

    let pki = Pki::new();
    pki.write_register("[[identity]]\nsubject = \"CN=x\"\nagency = \"police\"\n");
    let error = start(&pki).await.err().expect("a bad register is refused");
    let text = format!("{error:#}");
    assert!(
        text.contains("tls.register") && text.contains("identity #1: agency \"police\""),
        "{text}"
    );
}

// -------------------------------------------------------------------------------------------
// The authorization matrix.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Platform,
    Payer,
    Carrier,
    Stranger,
    Customs,
    Operator,
}

const EVERYONE: [Who; 6] = [
    Who::Platform,
    Who::Payer,
    Who::Carrier,
    Who::Stranger,
    Who::Customs,
    Who::Operator,
];

impl Who {
    /// The copCode its messages carry (agencies and operators "send" as the platform).
    fn code(self) -> &'static str {
        match self {
            Who::Platform | Who::Customs | Who::Operator => PLATFORM,
            Who::Payer => PAYER,
            Who::Carrier => CARRIER,
            Who::Stranger => STRANGER,
        }
    }

    fn register_entry(self) -> String {
        match self {
            Who::Customs => "agency = \"customs\"".into(),
            Who::Operator => "operator = true".into(),
            _ => format!("enterprise = {:?}", self.code()),
        }
    }
}

/// A CEB message of `kind` for shipment `n` of the matrix's run, sent with `cop` as copCode.
fn message(n: u64, kind: MessageKind, cop: &str, rules: &Rules) -> Message<'static> {
    let s = synth::shipment(77, n, rules);
    let doc = match kind {
        MessageKind::Ceb311 => Document::Order(s.order),
        MessageKind::Ceb411 => Document::Payment(s.payment),
        MessageKind::Ceb511 => Document::Logistics(s.logistics),
        _ => Document::Inventory(s.inventory),
    };
    let guid = synth::message_guid(77, n, kind);
    synth::message(kind, &guid, cop, vec![doc])
}

fn submit(message: &Message<'_>) -> v1::SubmitRequest {
    v1::SubmitRequest {
        payload: Some(v1::submit_request::Payload::CebXml(
            encode(message).into_bytes(),
        )),
        ..Default::default()
    }
}

/// What one call came to: allowed (any answer but a refusal) or refused (PERMISSION_DENIED).
fn allowed(result: Result<(), tonic::Status>) -> Result<bool, tonic::Status> {
    match result {
        Ok(()) => Ok(true),
        Err(s) if s.code() == Code::PermissionDenied => Ok(false),
        Err(s) if matches!(s.code(), Code::NotFound | Code::FailedPrecondition) => Ok(true),
        Err(s) => Err(s),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_may_make_exactly_its_own_calls() {
    let pki = Pki::new();
    let rules = Rules::embedded().unwrap();
    let clients: BTreeMap<Who, Client> = EVERYONE
        .iter()
        .map(|w| {
            (
                *w,
                pki.client(&format!("{w:?}").to_lowercase(), Made::default()),
            )
        })
        .collect();
    pki.write_register(
        &clients
            .iter()
            .map(|(w, c)| entry(c, false, &w.register_entry(), false))
            .collect::<String>(),
    );
    let gateway = start(&pki).await.unwrap();
    let url = gateway.node.url.clone();
    let store = gateway.node.state.store.clone();
    let chan = |w: Who| channel(&clients[&w].tls, &url);

    // Shipment 1, declared by its parties in their roles, is released.
    for (kind, who) in [
        (MessageKind::Ceb311, Who::Platform),
        (MessageKind::Ceb411, Who::Payer),
        (MessageKind::Ceb511, Who::Carrier),
        (MessageKind::Ceb621, Who::Platform),
    ] {
        let reply = GatewayClient::new(chan(who))
            .submit(submit(&message(1, kind, who.code(), &rules)))
            .await
            .unwrap_or_else(|s| panic!("{kind:?} by {who:?}: {s:?}"))
            .into_inner();
        assert_eq!(
            reply.blocks[0].outcome,
            v1::Outcome::Accepted as i32,
            "{kind:?}: {reply:?}"
        );
    }
    let s1 = synth::shipment(77, 1, &rules);
    let key = v1::ShipmentKey {
        ebp_code: PLATFORM.into(),
        order_no: s1.order.head.order_no.as_ref().unwrap().as_str().to_owned(),
    };
    // The customs message of shipment 1, as the customs simulator took it.
    let ledger = gateway.dir.path().join(SIM_LEDGER);
    let started = Instant::now();
    let customs_message = loop {
        let found = read_ledger(&ledger)
            .unwrap_or_default()
            .into_iter()
            .find_map(|l| match l {
                LedgerLine::Delivery(d) if d.agency == "customs" && d.order_no == key.order_no => {
                    Some(d.message_id)
                }
                _ => None,
            });
        match found {
            Some(id) => break id,
            None if started.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            None => panic!("customs never took shipment 1"),
        }
    };

    // The simulated agencies (reporting on the node's internal port) release it.
    shipments::released(chan(Who::Operator), &key, PATIENCE).await;

    // A watch sees the caller's own shipments only: the payer (named by every order here)
    // sees events, the stranger (named by none) sees none.
    const QUIET: &str = "quiet for 500 ms";
    let events_within = |who: Who| {
        let channel = chan(who);
        async move {
            let mut stream = GatewayClient::new(channel)
                .watch_shipments(v1::WatchShipmentsRequest::default())
                .await
                .unwrap()
                .into_inner();
            // Events until 500 ms pass without one, and how the stream ended: quiet (still
            // open), with an error, or at its end.
            let mut seen = 0;
            let ended = loop {
                match tokio::time::timeout(Duration::from_millis(500), stream.message()).await {
                    Ok(Ok(Some(_))) => seen += 1,
                    Ok(Ok(None)) => break "the end of the stream".to_owned(),
                    Ok(Err(status)) => break format!("an error: {status:?}"),
                    Err(_) => break QUIET.to_owned(),
                }
            };
            (seen, ended)
        }
    };
    let (seen, ended) = events_within(Who::Payer).await;
    assert!(seen > 0, "the payer saw no event ({ended})");
    assert_eq!(ended, QUIET, "the payer's watch after {seen} events");
    let (seen, ended) = events_within(Who::Stranger).await;
    assert_eq!((seen, ended.as_str()), (0, QUIET), "the stranger's watch");

    // Each call, by each caller.
    type Call = Box<
        dyn Fn(
            Channel,
            Who,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), tonic::Status>> + Send>,
        >,
    >;
    let submitting = |kind: MessageKind, as_platform: bool| -> Call {
        let rules = Rules::embedded().unwrap();
        Box::new(move |channel, who| {
            let cop = if as_platform { PLATFORM } else { who.code() };
            let request = submit(&message(
                who as u64 + if as_platform { 100 } else { 10 },
                kind,
                cop,
                &rules,
            ));
            Box::pin(async move { GatewayClient::new(channel).submit(request).await.map(drop) })
        })
    };
    let key_get = key.clone();
    let key_list = key.clone();
    let message_id = customs_message.clone();
    // Never routed anywhere: only the policy can refuse customs reporting it as tax.
    let message_tax = format!("{customs_message}:never-routed");
    let calls: Vec<(&str, Call, &[Who])> = vec![
        (
            "Submit order (own copCode)",
            submitting(MessageKind::Ceb311, false),
            &[Who::Platform],
        ),
        (
            "Submit payment (own copCode)",
            submitting(MessageKind::Ceb411, false),
            &[Who::Payer],
        ),
        (
            "Submit waybill (own copCode)",
            submitting(MessageKind::Ceb511, false),
            &[Who::Carrier],
        ),
        (
            "Submit inventory (own copCode)",
            submitting(MessageKind::Ceb621, false),
            &[Who::Platform],
        ),
        (
            "Submit order (the platform's copCode)",
            submitting(MessageKind::Ceb311, true),
            &[Who::Platform],
        ),
        (
            "GetShipment 1",
            Box::new(move |channel, _| {
                let request = v1::GetShipmentRequest {
                    shipment: Some(key_get.clone()),
                };
                Box::pin(async move {
                    GatewayClient::new(channel)
                        .get_shipment(request)
                        .await
                        .map(drop)
                })
            }),
            &[Who::Platform, Who::Payer, Who::Carrier, Who::Operator],
        ),
        (
            "ListShipments of the platform",
            Box::new(move |channel, _| {
                let request = v1::ListShipmentsRequest {
                    enterprise: key_list.ebp_code.clone(),
                    ..Default::default()
                };
                Box::pin(async move {
                    GatewayClient::new(channel)
                        .list_shipments(request)
                        .await
                        .map(drop)
                })
            }),
            &[Who::Platform, Who::Operator],
        ),
        (
            "WatchShipments (own)",
            Box::new(|channel, who| {
                let enterprise = if who == Who::Operator {
                    PLATFORM.to_owned()
                } else {
                    String::new()
                };
                let request = v1::WatchShipmentsRequest {
                    enterprise,
                    ..Default::default()
                };
                Box::pin(async move {
                    GatewayClient::new(channel)
                        .watch_shipments(request)
                        .await
                        .map(drop)
                })
            }),
            &[
                Who::Platform,
                Who::Payer,
                Who::Carrier,
                Who::Stranger,
                Who::Operator,
            ],
        ),
        (
            "Report a customs receipt",
            Box::new(move |channel, who| {
                let request = v1::AgencyReceipt {
                    receipt_id: format!("matrix-{who:?}"),
                    message_id: message_id.clone(),
                    agency: "customs".into(),
                    return_status: 800,
                    return_info: "released".into(),
                    at_unix_ms: 1,
                };
                Box::pin(
                    async move { ReceiptsClient::new(channel).report(request).await.map(drop) },
                )
            }),
            &[Who::Customs],
        ),
        (
            "Report as another agency",
            Box::new(move |channel, who| {
                let request = v1::AgencyReceipt {
                    receipt_id: format!("matrix-tax-{who:?}"),
                    message_id: message_tax.clone(),
                    agency: "tax".into(),
                    return_status: 800,
                    ..Default::default()
                };
                Box::pin(
                    async move { ReceiptsClient::new(channel).report(request).await.map(drop) },
                )
            }),
            &[],
        ),
        (
            "ListDeadLetters",
            Box::new(|channel, _| {
                Box::pin(async move {
                    AdminClient::new(channel)
                        .list_dead_letters(v1::ListDeadLettersRequest::default())
                        .await
                        .map(drop)
                })
            }),
            &[Who::Operator],
        ),
        (
            "ReplayDeadLetter",
            Box::new(|channel, _| {
                let request = v1::DeadLetterRequest { id: "none".into() };
                Box::pin(async move {
                    AdminClient::new(channel)
                        .replay_dead_letter(request)
                        .await
                        .map(drop)
                })
            }),
            &[Who::Operator],
        ),
        (
            "Echo",
            Box::new(|channel, _| {
                Box::pin(async move {
                    GatewayClient::new(channel)
                        .echo(v1::EchoRequest::default())
                        .await
                        .map(drop)
                })
            }),
            &EVERYONE,
        ),
    ];
    let mut failures = Vec::new();
    let mut denied = 0;
    for (name, call, may) in &calls {
        for who in EVERYONE {
            let expected = may.contains(&who);
            match allowed(call(chan(who), who).await) {
                Ok(got) if got == expected => denied += usize::from(!got),
                Ok(got) => failures.push(format!(
                    "{name} by {who:?}: allowed {got}, expected {expected}"
                )),
                Err(status) => failures.push(format!("{name} by {who:?}: {status:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(denied >= 50, "{denied} refusals");

    // Every refusal is audited with the caller, its certificate, address and reason.
    let facts = audited(&store, |f| {
        f.iter()
            .filter(|f| f.outcome.as_deref() == Some("PERMISSION_DENIED"))
            .count()
            >= denied
    })
    .await;
    let refusals: Vec<&Facts> = facts
        .iter()
        .filter(|f| f.outcome.as_deref() == Some("PERMISSION_DENIED"))
        .collect();
    assert_eq!(refusals.len(), denied);
    let fingerprints: Vec<&str> = clients.values().map(|c| c.fingerprint.as_str()).collect();
    for f in &refusals {
        assert!(!f.note.is_empty(), "no reason: {f:?}");
        assert!(f.caller.is_some() && f.method.is_some(), "{f:?}");
        assert_eq!(f.source_ip.as_deref(), Some("127.0.0.1"));
        assert!(
            fingerprints.contains(&f.cert_fingerprint.as_deref().unwrap_or_default()),
            "{f:?}"
        );
    }
    for f in &refusals {
        if f.caller
            .as_deref()
            .is_some_and(|c| c.starts_with("enterprise "))
        {
            let code = f
                .caller
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("enterprise ");
            assert_eq!(f.enterprise.as_deref(), Some(code), "{f:?}");
        }
    }
    // A submission's record names its message, and one refused in its role says which field.
    let payer_order = refusals
        .iter()
        .find(|f| {
            f.caller.as_deref() == Some(format!("enterprise {PAYER}").as_str())
                && f.note.contains("CEB311 order")
        })
        .expect("the payer's order refusal");
    assert!(
        payer_order.note.contains("ebpCode or ebcCode"),
        "{payer_order:?}"
    );
    assert!(payer_order.message_id.is_some(), "{payer_order:?}");

    // A waybill that joins the platform's shipment by its order number does not make its
    // sender a party: the stranger may send it, in its own role, and still not read the
    // shipment.
    let order = message(3, MessageKind::Ceb311, PLATFORM, &rules);
    let reply = GatewayClient::new(chan(Who::Platform))
        .submit(submit(&order))
        .await
        .unwrap();
    assert_eq!(
        reply.get_ref().blocks[0].outcome,
        v1::Outcome::Accepted as i32,
        "{reply:?}"
    );
    let mut s3 = synth::shipment(77, 3, &rules);
    s3.logistics.head.logistics_code =
        Some(single_window::domain::EntCode::parse_str(STRANGER).unwrap());
    let guid = "0000004D-0000-0000-0000-000000000BAD";
    let waybill = synth::message(
        MessageKind::Ceb511,
        guid,
        STRANGER,
        vec![Document::Logistics(s3.logistics)],
    );
    let reply = GatewayClient::new(chan(Who::Stranger))
        .submit(submit(&waybill))
        .await
        .unwrap();
    assert_eq!(
        reply.get_ref().blocks[0].outcome,
        v1::Outcome::Accepted as i32,
        "{reply:?}"
    );
    let key3 = v1::ShipmentKey {
        ebp_code: PLATFORM.into(),
        order_no: s3.order.head.order_no.as_ref().unwrap().as_str().to_owned(),
    };
    let view = GatewayClient::new(chan(Who::Platform))
        .get_shipment(v1::GetShipmentRequest {
            shipment: Some(key3.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        view.documents
            .iter()
            .any(|d| d.kind.contains("waybill") || d.kind.contains("511")),
        "the waybill joined: {view:?}"
    );
    let status = GatewayClient::new(chan(Who::Stranger))
        .get_shipment(v1::GetShipmentRequest {
            shipment: Some(key3),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    gateway.node.stop().await.unwrap();
}

// -------------------------------------------------------------------------------------------
// The gateway as a process, the command line as its client.

/// `single-window ARGS` with the client certificate of `who` (none: the CA only).
fn cli(args: &[&str], who: Option<&Client>, pki: &Pki) -> (i32, String) {
    let tls = who.map_or_else(|| pki.anonymous(), |c| c.tls.clone());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_single-window"));
    command.args(args).env_remove("SINGLE_WINDOW_SERVER");
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    for (flag, value) in [
        ("--tls-ca", path(&tls.ca)),
        ("--tls-cert", path(&tls.cert)),
        ("--tls-key", path(&tls.key)),
    ] {
        if let Some(value) = value {
            command.args([flag, &value]);
        }
    }
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

/// A child process that is SIGKILLed (`Child::kill` on Unix) and reaped when dropped: a failed
/// assert leaves nothing running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// How long the gateway process may take to start serving, and to exit after SIGTERM.
const PROCESS_PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_process_serves_mutual_tls_to_the_command_line() {
    use std::io::BufRead as _;
    let pki = Pki::new();
    let rules = Rules::embedded().unwrap();
    let platform = pki.client("platform", Made::default());
    let stranger = pki.client("stranger", Made::default());
    pki.write_register(
        &[
            entry(
                &platform,
                false,
                &format!("enterprise = {PLATFORM:?}"),
                false,
            ),
            entry(
                &stranger,
                true,
                &format!("enterprise = {STRANGER:?}"),
                false,
            ),
        ]
        .concat(),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let tls = pki.server();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_single-window"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data.path())
        .env("SINGLE_WINDOW_TLS_CERT", &tls.cert)
        .env("SINGLE_WINDOW_TLS_KEY", &tls.key)
        .env("SINGLE_WINDOW_TLS_CLIENT_CA", &tls.client_ca)
        .env("SINGLE_WINDOW_TLS_REGISTER", &tls.register)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    // Its stderr, line by line, read on a thread to the end (once the "serving on" line has
    // come, nobody receives them: they are dropped).
    let stderr = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let started = Instant::now();
    let mut before = Vec::new();
    let line = loop {
        let left = PROCESS_PATIENCE.saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("serving on") => break line,
            Ok(line) => before.push(line),
            Err(e) => {
                panic!("no \"serving on\" line within {PROCESS_PATIENCE:?} ({e}): {before:?}")
            }
        }
    };
    assert!(line.contains("TLS"), "{line}");
    let server = format!("https://127.0.0.1:{port}");

    // The platform submits its order with its certificate and reads the shipment back.
    let folder = tempfile::tempdir().unwrap();
    let order = message(1, MessageKind::Ceb311, PLATFORM, &rules);
    std::fs::write(folder.path().join("order.xml"), encode(&order)).unwrap();
    let folder_arg = folder.path().to_str().unwrap();
    let (code, out) = cli(
        &["submit", folder_arg, "--no-journal", "--server", &server],
        Some(&platform),
        &pki,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("accepted"), "{out}");
    let s1 = synth::shipment(77, 1, &rules);
    let shipment = format!(
        "{PLATFORM}/{}",
        s1.order.head.order_no.as_ref().unwrap().as_str()
    );
    let (code, out) = cli(
        &["status", &shipment, "--server", &server],
        Some(&platform),
        &pki,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(s1.order.head.order_no.as_ref().unwrap().as_str()),
        "{out}"
    );

    // Another enterprise is refused, with the reason; a client without a certificate does not
    // get through the handshake.
    let (code, out) = cli(
        &["status", &shipment, "--server", &server],
        Some(&stranger),
        &pki,
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("PermissionDenied") && out.contains("not a shipment of enterprise"),
        "{out}"
    );
    let (code, out) = cli(&["status", &shipment, "--server", &server], None, &pki);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.starts_with("error: "),
        "nothing of the shipment is shown: {out}"
    );

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM: {sent}");
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < PROCESS_PATIENCE,
            "still running {PROCESS_PATIENCE:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
