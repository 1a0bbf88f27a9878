//! Correlation end to end: real CEB XML submitted out of order to a real gateway on a loopback
//! port over a real sled store. Every cross-document rule (K1–K4, A2, C1, L1, B1, P1) in
//! several arrival orders, U1 across shipments, T1 routing with the status events watchers
//! see, appType change/delete with their CEB codes, cancellation and return with their state
//! rules, and the buyer's annual quota kept in the store.

mod cases;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use cases::{amended, cancel, cases, clean_from, doc, refund, rules, sender_of};
use single_window::api::{self, State};
use single_window::ceb::encode::encode;
use single_window::correlate::{self, Agency, AgencyReceipt};
use single_window::domain::{AppType, Document, Guid, MessageKind, ReturnStatus};
use single_window::ledger;
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::pb::v1::{self, submit_request::Payload, Outcome};
use single_window::store::{Committed, Store, StoreConfig};
use single_window::synth;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

struct Server {
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
    store: Store,
    client: GatewayClient<Channel>,
}

async fn start(dir: &Path) -> Server {
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let state = Arc::new(State::new(Arc::new(rules().clone()), store.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        api::run(listener, state, Default::default(), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = GatewayClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    Server {
        stop,
        done,
        store,
        client,
    }
}

impl Server {
    async fn stop(self) {
        drop(self.client);
        let _ = self.stop.send(());
        self.done.await.unwrap();
        self.store.close().unwrap();
    }

    /// Submits `document` as a one-block CEB message from `sender`.
    async fn send(&mut self, document: Document<'static>, sender: &str) -> v1::BlockOutcome {
        let kind = match &document {
            Document::Order(_) => MessageKind::Ceb311,
            Document::Payment(_) => MessageKind::Ceb411,
            Document::Logistics(_) => MessageKind::Ceb511,
            Document::Inventory(_) => MessageKind::Ceb621,
            Document::InvtCancel(_) => MessageKind::Ceb623,
            Document::InvtRefund(_) => MessageKind::Ceb625,
            other => panic!("not sent here: {:?}", other.kind()),
        };
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let guid = format!("E2E00000-0000-0000-0000-{n:012X}");
        let xml = encode(&synth::message(kind, &guid, sender, vec![document])).into_bytes();
        let reply = self
            .client
            .submit(v1::SubmitRequest {
                sender: String::new(),
                idempotency_key: String::new(),
                payload: Some(Payload::CebXml(xml)),
            })
            .await
            .unwrap()
            .into_inner();
        reply.blocks.into_iter().next().unwrap()
    }

    /// Sends the documents named by `sequence` ("OPWI" …) of `s`; returns every outcome.
    async fn feed(&mut self, s: &synth::Shipment, sequence: &str) -> Vec<v1::BlockOutcome> {
        let mut outcomes = Vec::new();
        for letter in sequence.chars() {
            let (document, sender) = doc(s, letter);
            outcomes.push(self.send(document, sender).await);
        }
        outcomes
    }

    async fn shipment(&mut self, s: &synth::Shipment) -> v1::ShipmentView {
        self.client
            .get_shipment(v1::GetShipmentRequest {
                shipment: Some(key(s)),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// A customs receipt through the store, the path agency receipts take. Before a customs
    /// 800 the other agencies the release policy waits for pass (tax 120, inspection 800
    /// when it was routed), so that 800 releases.
    async fn receipt(&self, s: &synth::Shipment, id: &str, status: i32) -> Committed {
        if status == 800 {
            self.agency_receipt(s, Agency::Tax, &format!("{id}-tax"), 120)
                .await;
            self.agency_receipt(s, Agency::Inspection, &format!("{id}-inspection"), 800)
                .await;
        }
        self.agency_receipt(s, Agency::Customs, id, status).await
    }

    async fn agency_receipt(
        &self,
        s: &synth::Shipment,
        agency: Agency,
        id: &str,
        status: i32,
    ) -> Committed {
        let k = single_window::correlate::key_of(&Document::Order(s.order.clone())).unwrap();
        let event = ledger::receipt_event(
            id,
            k,
            AgencyReceipt {
                agency,
                message_id: String::new(),
                status: ReturnStatus(status),
                text: format!("{} {status}", agency.name()),
                at: single_window::dispatch::unix_millis(),
            },
            Arc::new(rules().clone()),
        );
        self.store.commit(event).await.unwrap()
    }
}

/// The next status event, within a generous time.
async fn next_event(
    watch: &mut tonic::Streaming<v1::StatusEvent>,
    seen: &[v1::StatusEvent],
) -> v1::StatusEvent {
    tokio::time::timeout(std::time::Duration::from_secs(20), watch.next())
        .await
        .unwrap_or_else(|_| panic!("no status event after {seen:#?}"))
        .unwrap()
        .unwrap()
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn key(s: &synth::Shipment) -> v1::ShipmentKey {
    v1::ShipmentKey {
        ebp_code: s.order.head.ebp_code.as_ref().unwrap().to_string(),
        order_no: s.order.head.order_no.as_ref().unwrap().to_string(),
    }
}

fn outcome(b: &v1::BlockOutcome) -> Outcome {
    Outcome::try_from(b.outcome).unwrap()
}

/// The key of the payment or inventory when it is not the order's.
fn names_another_shipment(s: &synth::Shipment) -> Option<v1::ShipmentKey> {
    let order = correlate::key_of(&Document::Order(s.order.clone()));
    [
        Document::Payment(s.payment.clone()),
        Document::Inventory(s.inventory.clone()),
    ]
    .iter()
    .filter_map(correlate::key_of)
    .find(|k| Some(k) != order.as_ref())
    .map(|k| v1::ShipmentKey {
        ebp_code: k.ebp_code.to_string(),
        order_no: k.order_no.to_string(),
    })
}

/// A clean shipment nobody else in this store uses.
fn fresh(n: &mut u64) -> synth::Shipment {
    let s = clean_from(41, *n);
    *n += 1000;
    s
}

/// `document` with its head guid replaced (a guid unique in the store).
fn with_guid(mut document: Document<'static>, tag: &str, n: u64) -> Document<'static> {
    let g = Some(Guid::parse_str(format!("{tag:0>8}-0000-0000-0000-{n:012X}")).unwrap());
    match &mut document {
        Document::Order(d) => d.head.guid = g,
        Document::Payment(d) => d.head.guid = g,
        Document::Logistics(d) => d.head.guid = g,
        Document::Inventory(d) => d.head.guid = g,
        Document::InvtCancel(d) => d.guid = g,
        Document::InvtRefund(d) => d.head.guid = g,
        _ => {}
    }
    document
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cross_document_rule_refuses_the_last_document_end_to_end() {
    let mut n = 0;
    let (mut checked, mut unjoined, mut by_validation) = (0, 0, 0);
    for case in cases() {
        for (sequence, paths) in case.orders {
            // A store of its own: stray keys of one case must not meet another's.
            let dir = tempfile::tempdir().unwrap();
            let mut server = start(dir.path()).await;
            let mut s = fresh(&mut n);
            (case.breaks)(&mut s);
            let values = (case.values)(&s);
            let what = format!("{} / {sequence}", case.name);
            let outcomes = server.feed(&s, sequence).await;
            if let Some(stray) = names_another_shipment(&s) {
                // A document naming another shipment key (ebpCode + orderNo) is that
                // shipment's: it is filed there, and this one never completes (T1).
                // (An earlier case may have filed a document of the same stray key already:
                // then this one is a duplicate there.)
                assert!(
                    outcomes.iter().all(|b| outcome(b) == Outcome::Accepted
                        || b.violations.first().is_some_and(|v| v.rule == "DUPLICATE")),
                    "{what}: {outcomes:#?}"
                );
                assert_eq!(server.shipment(&s).await.state, "collecting", "{what}");
                let theirs = server
                    .client
                    .get_shipment(v1::GetShipmentRequest {
                        shipment: Some(stray),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(theirs.state, "collecting", "{what}");
                unjoined += 1;
                server.stop().await;
                continue;
            }
            // As in the pure tests, the first refusal is the one that counts (later
            // documents meet a shipment without the refused one).
            let refusing = outcomes
                .iter()
                .position(|b| outcome(b) != Outcome::Accepted)
                .unwrap_or(outcomes.len() - 1);
            let (last, before) = outcomes[..=refusing].split_last().unwrap();
            for b in before {
                assert_eq!(outcome(b), Outcome::Accepted, "{what}: {b:?}");
            }
            assert_eq!(outcome(last), Outcome::Rejected, "{what}: {last:?}");
            if outcome(last) == Outcome::Rejected
                && !last.violations.iter().any(|v| v.rule == case.rule)
            {
                // The break also breaks a rule of the document alone (e.g. gnums must run
                // 1..n): validation refuses it before correlation sees it.
                eprintln!(
                    "{what}: refused by its own validation: {:?}",
                    last.violations.iter().map(|v| &v.rule).collect::<Vec<_>>()
                );
                by_validation += 1;
                server.stop().await;
                continue;
            }
            let mut found: Vec<&str> = last.violations.iter().map(|v| v.path.as_str()).collect();
            found.sort_unstable();
            found.dedup();
            let mut expected = paths.to_vec();
            expected.sort_unstable();
            assert_eq!(found, expected, "{what}: {:#?}", last.violations);
            let messages: String = last.violations.iter().map(|v| v.message.clone()).collect();
            for v in &last.violations {
                assert_eq!((v.rule.as_str(), v.code), (case.rule, case.code), "{what}");
            }
            for value in &values {
                assert!(
                    messages.contains(value.as_str()),
                    "{what}: {value:?} in {messages}"
                );
            }
            let view = server.shipment(&s).await;
            assert_eq!(view.state, "collecting", "{what}");
            checked += 1;
            server.stop().await;
        }
    }
    eprintln!(
        "{checked} rule cases refused by correlation end to end, {unjoined} with a document of \
         another shipment key, {by_validation} refused by the document's own validation"
    );
    assert!(by_validation <= 2);
    assert!(checked >= 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t1_routes_in_every_arrival_order_and_watchers_resume_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let orders = [
        "OPWI", "IWPO", "WIPO", "PWOI", "WOIP", "IOPW", "PIWO", "WPIO",
    ];
    let mut n = 0;
    let mut shipments = Vec::new();
    for sequence in orders {
        let s = fresh(&mut n);
        let outcomes = server.feed(&s, sequence).await;
        assert!(
            outcomes.iter().all(|b| outcome(b) == Outcome::Accepted),
            "{sequence}: {outcomes:#?}"
        );
        let view = server.shipment(&s).await;
        assert_eq!(view.state, "routed", "{sequence}");
        let steps: Vec<(&str, &str)> = view
            .history
            .iter()
            .map(|t| (t.from.as_str(), t.to.as_str()))
            .collect();
        assert_eq!(steps, [("collecting", "complete"), ("complete", "routed")]);
        assert_eq!(view.documents.len(), 4, "{sequence}");
        shipments.push(s);
    }
    // One delivery per shipment and agency in the outbox (no dispatcher runs here): customs,
    // tax and FX each get one per shipment, with a stable id naming the document.
    for agency in ["customs", "tax", "fx"] {
        let rows = server.store.outbox_page(agency, &[], 1000).unwrap();
        assert_eq!(rows.len(), orders.len(), "{agency}");
        let ids: std::collections::BTreeSet<String> = rows
            .iter()
            .map(|(_, row)| {
                use prost::Message;
                v1::Delivery::decode(row.as_slice()).unwrap().message_id
            })
            .collect();
        assert_eq!(ids.len(), orders.len(), "{agency}: {ids:?}");
    }
    // A watcher reads three events, "reconnects" after the third, and gets the rest: in
    // sequence order, no gap, no repeat; 3 events per shipment (seen, complete, routed).
    let mut watch = server
        .client
        .watch_shipments(v1::WatchShipmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next_event(&mut watch, &seen).await);
    }
    drop(watch);
    let mut watch = server
        .client
        .watch_shipments(v1::WatchShipmentsRequest {
            after_sequence: seen.last().unwrap().sequence,
            enterprise: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    while seen.len() < orders.len() * 3 {
        seen.push(next_event(&mut watch, &seen).await);
    }
    assert!(seen.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert!(seen.iter().all(|e| e.at_unix_ms > 0), "{seen:#?}");
    let routed = seen.iter().filter(|e| e.state == "routed").count();
    assert_eq!(routed, orders.len());
    // A live event arrives on the open stream: cancel the first shipment.
    let first = &shipments[0];
    let c = with_guid(cancel(first), "CA", 1);
    let got = server.send(c, synth::PLATFORM).await;
    assert_eq!(outcome(&got), Outcome::Accepted, "{got:#?}");
    let live = next_event(&mut watch, &seen).await;
    assert_eq!(
        (live.from.as_str(), live.state.as_str()),
        ("routed", "cancelled")
    );
    // Listing by enterprise and state, in pages.
    let carrier = synth::CARRIER.to_owned();
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = server
            .client
            .list_shipments(v1::ListShipmentsRequest {
                enterprise: carrier.clone(),
                state: "routed".into(),
                page_size: 3,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.shipments.len() <= 3);
        listed.extend(page.shipments);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        listed.len(),
        orders.len() - 1,
        "the cancelled one is not routed"
    );
    assert!(listed.iter().all(|l| l.state == "routed"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn u1_numbers_are_unique_across_shipments() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let mut n = 0;
    let a = fresh(&mut n);
    let mut b = fresh(&mut n);
    assert!(server
        .feed(&a, "OPWI")
        .await
        .iter()
        .all(|o| outcome(o) == Outcome::Accepted));
    // Shipment b's payment reuses a's payTransactionId; its waybill reuses a's logisticsNo.
    b.payment.head.pay_transaction_id = a.payment.head.pay_transaction_id.clone();
    b.order.head.pay_transaction_id = a.payment.head.pay_transaction_id.clone();
    b.logistics.head.logistics_no = a.logistics.head.logistics_no.clone();
    b.inventory.head.logistics_no = a.logistics.head.logistics_no.clone();
    let outcomes = server.feed(&b, "OPW").await;
    assert_eq!(outcome(&outcomes[0]), Outcome::Accepted);
    for (got, path) in outcomes[1..]
        .iter()
        .zip(["PaymentHead/payTransactionId", "LogisticsHead/logisticsNo"])
    {
        assert_eq!(outcome(got), Outcome::Rejected, "{got:?}");
        let v = &got.violations[0];
        assert_eq!((v.rule.as_str(), v.path.as_str()), ("U1", path));
        let a_order = a.order.head.order_no.as_ref().unwrap().to_string();
        assert!(v.message.contains(&a_order), "{}", v.message);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_type_changes_and_deletes_follow_the_ceb_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let mut n = 0;
    // Unknown record: a change of an order never filed (-301009).
    let s = fresh(&mut n);
    let change = with_guid(amended(&s, 'O', AppType::Change, 20_000), "CH", 1);
    let got = server.send(change, sender_of('O')).await;
    assert_eq!(outcome(&got), Outcome::Rejected);
    assert_eq!(got.violations[0].code, Some(-301_009), "{got:#?}");
    // A newer change before the inventory is declared replaces the order.
    assert!(server
        .feed(&s, "OP")
        .await
        .iter()
        .all(|o| outcome(o) == Outcome::Accepted));
    let change = with_guid(amended(&s, 'O', AppType::Change, 20_000), "CH", 2);
    assert_eq!(
        outcome(&server.send(change, sender_of('O')).await),
        Outcome::Accepted
    );
    let view = server.shipment(&s).await;
    let order = view.documents.iter().find(|d| d.kind == "order").unwrap();
    assert!(order.guid.starts_with("000000CH"), "{order:?}");
    // Stale appTime: older than the change on file, ignored (-301014), nothing changes.
    let stale = with_guid(amended(&s, 'O', AppType::Change, 10_000), "CH", 3);
    let got = server.send(stale, sender_of('O')).await;
    assert_eq!(outcome(&got), Outcome::Ignored);
    assert_eq!(got.violations[0].code, Some(-301_014));
    // Once the inventory is declared, the order it uses cannot change (-301011).
    assert!(server
        .feed(&s, "WI")
        .await
        .iter()
        .all(|o| outcome(o) == Outcome::Accepted));
    let late = with_guid(amended(&s, 'O', AppType::Change, 30_000), "CH", 4);
    let got = server.send(late, sender_of('O')).await;
    assert_eq!(outcome(&got), Outcome::Rejected);
    assert_eq!(got.violations[0].code, Some(-301_011));
    // Delete of a waybill still waiting for its order.
    let w = fresh(&mut n);
    assert_eq!(outcome(&server.feed(&w, "W").await[0]), Outcome::Accepted);
    let delete = with_guid(amended(&w, 'W', AppType::Delete, 10_000), "DE", 5);
    assert_eq!(
        outcome(&server.send(delete, sender_of('W')).await),
        Outcome::Accepted
    );
    let outcomes = server.feed(&w, "OPI").await;
    assert!(outcomes.iter().all(|o| outcome(o) == Outcome::Accepted));
    assert_eq!(
        server.shipment(&w).await.state,
        "collecting",
        "no waybill on file"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_return_and_the_annual_quota_are_kept_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let mut n = 0;
    // Return before release: refused. Cancel before release: cancelled; again: -623005 once
    // another cancellation arrives.
    let s = fresh(&mut n);
    server.feed(&s, "OPWI").await;
    let got = server
        .send(with_guid(refund(&s, &[1]), "RE", 1), synth::PLATFORM)
        .await;
    assert_eq!(
        (outcome(&got), got.violations[0].rule.as_str()),
        (Outcome::Rejected, "RETURN"),
        "{got:#?}"
    );
    let got = server
        .send(with_guid(cancel(&s), "CA", 2), synth::PLATFORM)
        .await;
    assert_eq!(outcome(&got), Outcome::Accepted);
    let got = server
        .send(with_guid(cancel(&s), "CA", 3), synth::PLATFORM)
        .await;
    assert_eq!(got.violations[0].code, Some(-623_005));
    assert_eq!(server.shipment(&s).await.state, "cancelled");

    // Release counts the quota once (a repeated receipt counts nothing); a return of an
    // unknown line is refused (-625209); a whole return gives the amount back.
    let r = fresh(&mut n);
    server.feed(&r, "OPWI").await;
    assert!(matches!(
        server.receipt(&r, "rel-1", 800).await,
        Committed::New { .. }
    ));
    assert!(matches!(
        server.receipt(&r, "rel-1", 800).await,
        Committed::Repeat { .. }
    ));
    let view = server.shipment(&r).await;
    assert_eq!(view.state, "released");
    let buyer = r.inventory.head.buyer_id_number.clone().unwrap();
    let year = r.inventory.head.app_time.unwrap().year();
    let counted = ledger::quota_used(&server.store, &buyer, year).unwrap();
    assert_eq!(counted.to_string(), view.quota_counted);
    assert!(counted > single_window::domain::Decimal::ZERO);
    let got = server
        .send(with_guid(refund(&r, &[7]), "RE", 4), synth::PLATFORM)
        .await;
    assert_eq!(got.violations[0].code, Some(-625_209));
    let lines: Vec<i32> = (1..=r.inventory.items.len() as i32).collect();
    let got = server
        .send(with_guid(refund(&r, &lines), "RE", 5), synth::PLATFORM)
        .await;
    assert_eq!(outcome(&got), Outcome::Accepted, "{got:?}");
    assert_eq!(server.shipment(&r).await.state, "returned");
    let left = ledger::quota_used(&server.store, &buyer, year).unwrap();
    assert_eq!(left, single_window::domain::Decimal::ZERO);

    // The annual limit: shipments of one buyer released until the next would pass it.
    let limit = rules().tax.annual_limit;
    let mut total = single_window::domain::Decimal::ZERO;
    let mut refused = None;
    for _ in 0..400 {
        let mut b = fresh(&mut n);
        b.order.head.buyer_id_number = Some(buyer.clone());
        b.inventory.head.buyer_id_number = Some(buyer.clone());
        b.payment.head.payer_id_number = Some(buyer.clone());
        b.inventory.head.app_time = r.inventory.head.app_time;
        let outcomes = server.feed(&b, "OPWI").await;
        let last = outcomes.last().unwrap();
        if outcome(last) == Outcome::Rejected {
            refused = Some((b, last.clone()));
            break;
        }
        assert!(
            outcomes.iter().all(|o| outcome(o) == Outcome::Accepted),
            "{outcomes:?}"
        );
        assert!(matches!(
            server.receipt(&b, &format!("rel-{n}"), 800).await,
            Committed::New { .. }
        ));
        total = ledger::quota_used(&server.store, &buyer, year).unwrap();
    }
    let (_, got) = refused.expect("the annual limit is reached");
    let v = &got.violations[0];
    assert_eq!((v.rule.as_str(), v.code), ("Q1", Some(-621_018)));
    assert!(total <= limit);
    assert!(
        v.message.contains(&total.to_string()),
        "{} / {total}",
        v.message
    );
    server.stop().await;
}
