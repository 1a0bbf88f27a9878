//! The gateway's logs, read from a real process (`single-window serve`) at debug level: after a
//! full flow (shipments submitted until released, plus rejected and undecodable submissions
//! that carry other personal data, some of it quoted back in the replies), no buyer identity
//! number, phone number, name or address appears anywhere in stderr, in JSON or in text; and
//! the logs do carry the request spans (with the shipment key) and the delivery spans, so an
//! empty log cannot pass.

// Shared with the process tests, which use the helpers this file does not.
#[allow(dead_code)]
#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/serial.rs"]
mod serial;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use gateway::Gateway;
use serial::{runtime, serial};
use shipments::{message_guid, outcome, request, shipment_messages};
use single_window::ceb::encode::encode;
use single_window::domain::{Document, IdNumber, MessageKind, Text};
use single_window::pb::v1::{self, gateway_client::GatewayClient, Outcome};
use single_window::rules::Rules;
use single_window::synth::{self, PLATFORM};
use tonic::transport::Channel;

/// Shipments submitted whole, to be released.
const SHIPMENTS: u64 = 6;
/// How long the shipments may take to reach a final state.
const SETTLE: Duration = Duration::from_secs(60);
/// How long the gateway may take to exit after SIGTERM.
const EXIT: Duration = Duration::from_secs(15);

/// Personal data of the refused submissions (other than the synthetic shipments').
const OTHER_NAME: &str = "李雷";
const OTHER_CONSIGNEE: &str = "韩梅梅";
const OTHER_PHONE: &str = "13700001111";
const OTHER_CONSIGNEE_PHONE: &str = "13600002222";
const OTHER_ADDRESS: &str = "北京市海淀区中关村大街27号";
/// 18 characters, failing the GB 11643 check (the right check character is 8).
const OTHER_ID: &str = "110105199003071235";

#[test]
fn json_logs_carry_spans_and_no_personal_data() {
    let _serial = serial();
    let (log, orders) = runtime().block_on(flow("json", 0x1065_0001));
    no_personal_data(&log, &orders.personal);
    let mut submit = false;
    let mut get = false;
    let mut delivery = false;
    let mut undecodable = false;
    for line in log.lines() {
        if !line.starts_with('{') {
            assert!(
                line.starts_with("single-window"),
                "neither JSON nor a known plain line: {line}"
            );
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let spans = value["spans"].as_array().cloned().unwrap_or_default();
        for span in &spans {
            let order_no = span["order_no"].as_str().unwrap_or_default();
            let ours = orders.numbers.contains(order_no);
            match (span["name"].as_str(), span["method"].as_str()) {
                (Some("request"), Some("Submit")) if ours => submit = true,
                (Some("request"), Some("GetShipment")) if ours => get = true,
                (Some("delivery"), _) if ours => {
                    assert!(span["agency"].is_string(), "{line}");
                    assert!(span["message_id"].is_string(), "{line}");
                    assert!(span["attempt"].is_number(), "{line}");
                    delivery = true;
                }
                _ => {}
            }
        }
        let fields = &value["fields"];
        if fields["message"] == "answered" && fields["code"] == "INVALID_ARGUMENT" {
            undecodable = true;
        }
    }
    assert!(
        submit && get && delivery && undecodable,
        "request spans of Submit ({submit}) and GetShipment ({get}) with the shipment key, \
         delivery spans ({delivery}), the undecodable call answered ({undecodable}):\n{}",
        tail(&log)
    );
    assert!(
        log.contains("shutdown: store flushed and closed"),
        "{}",
        tail(&log)
    );
}

#[test]
fn text_logs_carry_spans_and_no_personal_data() {
    let _serial = serial();
    let (log, orders) = runtime().block_on(flow("text", 0x1065_0002));
    no_personal_data(&log, &orders.personal);
    let with_key = |line: &str| {
        orders
            .numbers
            .iter()
            .any(|n| line.contains(&format!("order_no=\"{n}\"")))
    };
    let submit = log
        .lines()
        .any(|l| l.contains("request{method=\"Submit\"") && with_key(l));
    let delivery = log
        .lines()
        .any(|l| l.contains("delivery{agency=") && l.contains("message_id=") && with_key(l));
    assert!(
        submit && delivery,
        "request spans of Submit ({submit}) and delivery spans ({delivery}) with the \
         shipment key:\n{}",
        tail(&log)
    );
}

/// What was sent: the order numbers, and every personal value in it.
struct Sent {
    numbers: BTreeSet<String>,
    personal: BTreeSet<String>,
}

/// Starts the gateway logging at debug level in `format`, runs the flow, stops it with SIGTERM
/// and returns its whole stderr.
async fn flow(format: &str, seed: u64) -> (String, Sent) {
    let dir = tempfile::tempdir().unwrap();
    let rules = Rules::embedded().unwrap();
    let envs = [
        ("SINGLE_WINDOW_LOG_LEVEL", "debug".to_owned()),
        ("SINGLE_WINDOW_LOG_FORMAT", format.to_owned()),
        ("SINGLE_WINDOW_ADMIN_LISTEN", "127.0.0.1:0".to_owned()),
    ];
    let (mut gateway, mut client) = Gateway::start_with(dir.path(), None, &envs).await;
    let mut sent = Sent {
        numbers: BTreeSet::new(),
        personal: [
            OTHER_NAME,
            OTHER_CONSIGNEE,
            OTHER_PHONE,
            OTHER_CONSIGNEE_PHONE,
            OTHER_ADDRESS,
            OTHER_ID,
        ]
        .map(str::to_owned)
        .into(),
    };

    for n in 0..SHIPMENTS {
        personal_of(&synth::shipment(seed, n, &rules), &mut sent.personal);
        sent.numbers.insert(order_no(seed, n));
        for message in shipment_messages(seed, n, &rules) {
            let reply = client.submit(request(message.xml)).await.unwrap();
            let reply = reply.into_inner();
            assert_eq!(outcome(&reply.blocks[0]), Outcome::Accepted, "{reply:?}");
        }
    }
    refused_submissions(&mut client, seed, &rules, &mut sent).await;

    let finals = settle(&mut client, seed).await;
    assert!(
        finals.iter().any(|s| s == "released"),
        "no shipment released: {finals:?}\n{}",
        tail(&gateway.log())
    );

    gateway.signal("TERM");
    let status = gateway.wait_exit(EXIT).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after SIGTERM: {status:?}\n{}",
        tail(&gateway.log())
    );
    (gateway.log(), sent)
}

/// An order with a broken identity number; a waybill whose consignee differs from its order
/// (the reply quotes both); a message that does not decode around text full of personal data
/// (the status message quotes it).
async fn refused_submissions(
    client: &mut GatewayClient<Channel>,
    seed: u64,
    rules: &Rules,
    sent: &mut Sent,
) {
    let text = |s: &str| Some(Text(Cow::Owned(s.to_owned())));

    let n = SHIPMENTS;
    let mut bad_id = synth::shipment(seed, n, rules).order;
    bad_id.head.buyer_name = text(OTHER_NAME);
    bad_id.head.buyer_telephone = text(OTHER_PHONE);
    bad_id.head.buyer_id_number = Some(IdNumber::parse_str(OTHER_ID.to_owned()).unwrap());
    bad_id.head.consignee = text(OTHER_CONSIGNEE);
    bad_id.head.consignee_address = text(OTHER_ADDRESS);
    let xml = order_xml(seed, n, Document::Order(bad_id), MessageKind::Ceb311);
    let reply = client.submit(request(xml)).await.unwrap().into_inner();
    assert_eq!(outcome(&reply.blocks[0]), Outcome::Rejected, "{reply:?}");

    let n = SHIPMENTS + 1;
    sent.numbers.insert(order_no(seed, n));
    let shipment = synth::shipment(seed, n, rules);
    let order = order_xml(
        seed,
        n,
        Document::Order(shipment.order),
        MessageKind::Ceb311,
    );
    let reply = client.submit(request(order)).await.unwrap().into_inner();
    assert_eq!(outcome(&reply.blocks[0]), Outcome::Accepted, "{reply:?}");
    let mut waybill = shipment.logistics;
    waybill.head.consignee = text(OTHER_CONSIGNEE);
    waybill.head.consignee_address = text(OTHER_ADDRESS);
    waybill.head.consignee_telephone = text(OTHER_CONSIGNEE_PHONE);
    let xml = encode(&synth::message(
        MessageKind::Ceb511,
        &message_guid(seed, n, MessageKind::Ceb511),
        synth::CARRIER,
        vec![Document::Logistics(waybill)],
    ))
    .into_bytes();
    let reply = client.submit(request(xml)).await.unwrap().into_inner();
    assert_eq!(outcome(&reply.blocks[0]), Outcome::Rejected, "{reply:?}");
    // The gateway had the name in hand (it refused C1 on it), and masks it in the reply too.
    let shown = format!("{reply:?}");
    assert!(
        shown.contains("LogisticsHead/consignee"),
        "C1 on the consignee: {reply:?}"
    );
    assert!(
        !shown.contains(OTHER_CONSIGNEE),
        "the reply quotes the raw consignee: {reply:?}"
    );

    let n = SHIPMENTS + 2;
    let shipment = synth::shipment(seed, n, rules);
    let xml = order_xml(
        seed,
        n,
        Document::Order(shipment.order),
        MessageKind::Ceb311,
    );
    let xml = String::from_utf8(xml).unwrap();
    let open = xml.find("<ceb:OrderHead>").expect("an OrderHead");
    let junk = format!("{OTHER_NAME} {OTHER_PHONE} {OTHER_ID} {OTHER_ADDRESS}");
    let broken = format!("{}{junk}{}", &xml[..open], &xml[open..]);
    let status = client
        .submit(request(broken.into_bytes()))
        .await
        .expect_err("does not decode");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}

/// Every shipment's final state, once each has one (or the test fails).
async fn settle(client: &mut GatewayClient<Channel>, seed: u64) -> Vec<String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let mut states = Vec::new();
        for n in 0..SHIPMENTS {
            let view = client
                .get_shipment(v1::GetShipmentRequest {
                    shipment: Some(v1::ShipmentKey {
                        ebp_code: PLATFORM.to_owned(),
                        order_no: order_no(seed, n),
                    }),
                })
                .await
                .unwrap()
                .into_inner();
            states.push(view.state);
        }
        let done = |s: &String| matches!(s.as_str(), "released" | "rejected" | "cancelled");
        if states.iter().all(done) {
            return states;
        }
        assert!(
            Instant::now() < deadline,
            "not settled in {SETTLE:?}: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn order_no(seed: u64, n: u64) -> String {
    format!("SW{seed:04}{n:012}")
}

fn order_xml(seed: u64, n: u64, document: Document<'static>, kind: MessageKind) -> Vec<u8> {
    let guid = message_guid(seed, n, kind);
    encode(&synth::message(kind, &guid, PLATFORM, vec![document])).into_bytes()
}

/// The buyer's, payer's and consignee's data in every document of `s`.
fn personal_of(s: &synth::Shipment, into: &mut BTreeSet<String>) {
    let o = &s.order.head;
    let p = &s.payment.head;
    let w = &s.logistics.head;
    let i = &s.inventory.head;
    let texts = [
        &o.buyer_name,
        &o.buyer_telephone,
        &o.consignee,
        &o.consignee_telephone,
        &o.consignee_address,
        &p.payer_name,
        &p.telephone,
        &w.consignee,
        &w.consignee_address,
        &w.consignee_telephone,
        &i.buyer_name,
        &i.buyer_telephone,
        &i.consignee_address,
    ];
    into.extend(texts.into_iter().flatten().map(|t| t.as_str().to_owned()));
    let ids = [&o.buyer_id_number, &p.payer_id_number, &i.buyer_id_number];
    into.extend(ids.into_iter().flatten().map(|id| id.as_str().to_owned()));
}

fn no_personal_data(log: &str, personal: &BTreeSet<String>) {
    assert!(personal.len() >= 8, "personal values: {personal:?}");
    let found: Vec<(&String, &str)> = personal
        .iter()
        .filter_map(|value| {
            let line = log.lines().find(|line| line.contains(value.as_str()))?;
            Some((value, line))
        })
        .collect();
    assert!(found.is_empty(), "personal data in the log: {found:#?}");
    assert!(log.lines().count() > 50, "a log this short proves nothing");
}

/// The last lines of `log`, for failure messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
