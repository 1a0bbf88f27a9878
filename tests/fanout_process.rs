//! The fan-out to the agencies with every part a real process on loopback: the gateway
//! (`single-window serve`, sled on disk in a temporary folder) and the agencies
//! (`single-window agency-sim`, each with its ledger file). What the agencies' ledgers say was
//! delivered, and what the gateway says of each shipment, must agree:
//! 1. SIGKILLs of the gateway during the fan-out lose nothing and apply nothing twice;
//! 2. the release policy end to end (declared agency messages, hold, reject, cancellation);
//! 3. an agency that is down delays only itself, and gets everything once it is back;
//! 4. a permanent refusal goes to the dead letters and is replayed; orphan and repeated
//!    receipts are recognised.

#[path = "support/agencies.rs"]
mod agencies;
#[path = "cases/mod.rs"]
mod cases;
#[path = "support/serial.rs"]
mod serial;
// Shared with `gateway_process.rs`, which uses the helpers this file does not (`rss_kib`).
#[allow(dead_code)]
#[path = "support/gateway.rs"]
mod gateway;
// Shared with `gateway_process.rs`, which uses the helpers this file does not.
#[allow(dead_code)]
#[path = "support/shipments.rs"]
mod shipments;

use serial::{runtime, serial};
use std::collections::{BTreeMap, BTreeSet};
use std::future::{ready, Future};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agencies::{by_message, free_addr, releasing, url, AgencySim};
use futures_util::StreamExt as _;
use gateway::Gateway;
use shipments::{outcome, request, XorShift};
use single_window::ceb::encode::encode;
use single_window::domain::{Agency, Document, Guid, MessageKind};
use single_window::pb::v1::{
    self, admin_client::AdminClient, gateway_client::GatewayClient,
    receipts_client::ReceiptsClient, submit_request::Payload, Outcome, ReceiptOutcome,
};
use single_window::rules::Rules;
use single_window::sim::decide::receipts;
use single_window::sim::Decision;
use single_window::synth::{self, PAYER, PLATFORM};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

/// How long a shipment may take to reach the state a test waits for.
const WAIT: Duration = Duration::from_secs(60);
/// How long the crash test waits for every shipment to be released after the last restart.
const SETTLE: Duration = Duration::from_secs(90);
/// Between two polls.
const POLL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// 1. Crash during fan-out.

/// Shipments of the crash test.
const CRASH_SHIPMENTS: u64 = 300;
/// Concurrent submitters.
const CRASH_WORKERS: usize = 8;
/// SIGKILLs of the gateway.
const KILLS: usize = 6;
/// Delay before each kill, ms (counted from the previous restart).
const KILL_AFTER_MS: (u64, u64) = (300, 1500);
/// Seed of the crash test's shipments.
const CRASH_SEED: u64 = 101;

/// What the submitters share.
struct Load {
    rules: Arc<Rules>,
    next: AtomicU64,
    /// Messages acknowledged (ACCEPTED or REPEAT).
    acked: AtomicUsize,
    /// Of those, REPEATs: stored before a kill that lost the reply, and sent again.
    repeats: AtomicUsize,
    /// Calls that failed (the gateway was down) and were sent again.
    resent: AtomicUsize,
    /// Replies other than ACCEPTED / REPEAT, or a message never acknowledged.
    unexpected: Mutex<Vec<String>>,
}

#[test]
fn a_gateway_killed_during_fan_out_loses_nothing_and_applies_nothing_twice() {
    let _serial = serial();
    let started = Instant::now();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let rules = Arc::new(Rules::embedded().unwrap());
        let gateway_addr = free_addr();
        let mut args = releasing(&url(gateway_addr), 0);
        args.extend(["--agency", "all", "--seed", "11"].map(str::to_owned));
        let sim = AgencySim::start(None, &dir.path().join("agencies.jsonl"), &args).await;
        let mut env = endpoints(&sim.url(), &sim.url(), &sim.url(), &sim.url());
        env.push(("SINGLE_WINDOW_DISPATCH_BACKOFF_CAP_MS", "1000".to_owned()));
        let (mut gateway, _) = Gateway::start_with(&data, Some(gateway_addr), &env).await;

        // A lazy channel reconnects by itself to the same port after each restart.
        let channel = Endpoint::from_shared(url(gateway_addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        let load = Arc::new(Load {
            rules: rules.clone(),
            next: AtomicU64::new(0),
            acked: AtomicUsize::new(0),
            repeats: AtomicUsize::new(0),
            resent: AtomicUsize::new(0),
            unexpected: Mutex::new(Vec::new()),
        });
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..CRASH_WORKERS {
            workers.spawn(crash_submitter(
                GatewayClient::new(channel.clone()),
                load.clone(),
            ));
        }

        let mut rng = XorShift::new(0x00C0_FFEE);
        let mut kills = 0;
        for k in 0..KILLS {
            let delay = rng.between(KILL_AFTER_MS.0, KILL_AFTER_MS.1);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let taken = sim.summary();
            gateway.kill();
            kills += 1;
            eprintln!(
                "kill {}: after {delay} ms; {} messages acknowledged, the agencies took {} \
                 deliveries ({} redeliveries) and had {} receipts taken",
                k + 1,
                load.acked.load(Ordering::SeqCst),
                taken.taken,
                taken.duplicates,
                taken.reported
            );
            gateway = Gateway::start_with(&data, Some(gateway_addr), &env).await.0;
        }
        let deadline = tokio::time::Instant::now() + SETTLE;
        while let Some(done) = tokio::time::timeout_at(deadline, workers.join_next())
            .await
            .expect("the submitters finish")
        {
            done.unwrap();
        }
        let unexpected = load.unexpected.lock().unwrap().clone();
        assert!(unexpected.is_empty(), "{unexpected:#?}");
        assert_eq!(
            load.acked.load(Ordering::SeqCst),
            4 * CRASH_SHIPMENTS as usize,
            "every message acknowledged"
        );

        // Every shipment released.
        let shipments: Vec<synth::Shipment> = (0..CRASH_SHIPMENTS)
            .map(|n| synth::shipment(CRASH_SEED, n, &rules))
            .collect();
        let orders: Vec<String> = shipments.iter().map(order_no).collect();
        let client = GatewayClient::new(channel.clone());
        // Released, and FX (tracked, not required) settled too.
        let settled = |v: &v1::ShipmentView| {
            v.state == "released"
                && v.agencies
                    .iter()
                    .all(|a| a.routed == 0 || a.phase == "passed")
        };
        let views = match wait_all(&client, &orders, SETTLE, settled).await {
            Ok(views) => views,
            Err(stuck) => panic!(
                "{} shipments not released and settled within {SETTLE:?}, e.g. {:#?}\n\
                 dead letters: {:#?}\ngateway stderr:\n{}\nagencies stderr:\n{}",
                stuck.len(),
                stuck.iter().take(3).collect::<Vec<_>>(),
                dead_letters(gateway_addr).await,
                tail(&gateway.log()),
                tail(&sim.log())
            ),
        };

        // What the gateway says of each shipment: released once, each agency passed once.
        let mut problems = Vec::new();
        let mut inspected = 0;
        for (s, order) in shipments.iter().zip(&orders) {
            let view = &views[order];
            let releases = view.history.iter().filter(|t| t.to == "released").count();
            if releases != 1 {
                problems.push(format!("{order}: {releases} transitions into released"));
            }
            let flagged = flagged(s);
            inspected += usize::from(flagged);
            for (name, status) in [("customs", 800), ("tax", 120), ("fx", 800)] {
                check_passed(view, name, status, &mut problems);
            }
            if flagged {
                check_passed(view, "inspection", 800, &mut problems);
            } else {
                match agency(view, "inspection") {
                    Some(a) if a.phase == "not-required" && a.routed == 0 => {}
                    other => problems.push(format!("{order}: inspection {other:?}")),
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(
            dead_letters(gateway_addr).await.is_empty(),
            "no dead letter expected"
        );

        // What the agencies' ledger says: every routed message taken once with effect.
        let lines = sim.lines();
        let summary = single_window::sim::summarize(&lines);
        let taken = agencies::deliveries(&lines);
        let mut effective: BTreeMap<(String, String), usize> = BTreeMap::new();
        for d in taken.iter().filter(|d| !d.duplicate) {
            *effective
                .entry((d.order_no.clone(), d.agency.clone()))
                .or_default() += 1;
        }
        for (order, view) in &views {
            for a in view.agencies.iter().filter(|a| a.routed > 0) {
                let n = effective
                    .get(&(order.clone(), a.agency.clone()))
                    .copied()
                    .unwrap_or(0);
                if n != 1 {
                    problems.push(format!(
                        "{order}: {} took {n} messages with effect",
                        a.agency
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        let routed: usize = views
            .values()
            .map(|v| v.agencies.iter().filter(|a| a.routed > 0).count())
            .sum();
        assert_eq!(summary.messages, routed, "one message per routed agency");
        assert_eq!(summary.effective_duplicates, 0, "effective duplicates");
        assert_eq!(kills, KILLS);

        eprintln!(
            "raw redeliveries={} effective duplicates={} kills={kills} shipments={} \
             ({inspected} inspected; {} agency messages taken {} times; {} submissions \
             failed and were sent again, {} of them answered REPEAT; {:.1} s)",
            summary.duplicates,
            summary.effective_duplicates,
            CRASH_SHIPMENTS,
            summary.messages,
            summary.taken,
            load.resent.load(Ordering::SeqCst),
            load.repeats.load(Ordering::SeqCst),
            started.elapsed().as_secs_f64()
        );
        gateway.kill();
    });
}

/// Submits the messages of shipments `next, next+1, …` in order, each until the gateway
/// acknowledges it (through kills and restarts: a message whose reply was lost is sent again,
/// and is then a REPEAT).
async fn crash_submitter(mut client: GatewayClient<Channel>, load: Arc<Load>) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let n = load.next.fetch_add(1, Ordering::SeqCst);
        if n >= CRASH_SHIPMENTS {
            return;
        }
        for sent in shipments::shipment_messages(CRASH_SEED, n, &load.rules) {
            loop {
                match client.submit(request(sent.xml.clone())).await {
                    Ok(reply) => {
                        let reply = reply.into_inner();
                        match reply.blocks.first().map(outcome) {
                            Some(Outcome::Accepted) => {
                                load.acked.fetch_add(1, Ordering::SeqCst);
                            }
                            Some(Outcome::Repeat) => {
                                load.acked.fetch_add(1, Ordering::SeqCst);
                                load.repeats.fetch_add(1, Ordering::SeqCst);
                            }
                            other => load.unexpected.lock().unwrap().push(format!(
                                "shipment {n} ({}): {other:?} {reply:?}",
                                sent.sender
                            )),
                        }
                        break;
                    }
                    Err(status) if Instant::now() > deadline => {
                        load.unexpected.lock().unwrap().push(format!(
                            "shipment {n} ({}): never acknowledged: {status}",
                            sent.sender
                        ));
                        return;
                    }
                    Err(_) => {
                        load.resent.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. End to end with the agencies as separate processes.

#[test]
fn the_release_policy_holds_end_to_end_with_four_agency_processes() {
    let _serial = serial();
    let started = Instant::now();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let rules = Rules::embedded().unwrap();
        let seed = 202;
        // D with goods for inspection, so that inspection is told of the cancellation too.
        let d_n = (3..)
            .find(|n| flagged(&synth::shipment(seed, *n, &rules)))
            .unwrap();
        let [a, b, c, d] = [0, 1, 2, d_n].map(|n| synth::shipment(seed, n, &rules));
        let gateway_addr = free_addr();
        let gateway_url = url(gateway_addr);
        let mut customs_args = releasing(&gateway_url, 300);
        customs_args.extend([
            "--agency".to_owned(),
            "customs".to_owned(),
            "--rule".to_owned(),
            format!("{}=inspect", order_no(&b)),
            "--rule".to_owned(),
            format!("{}=reject", order_no(&c)),
            "--rule".to_owned(),
            format!("{}=detain", order_no(&d)),
        ]);
        let sims = Sims::start(dir.path(), &gateway_url, customs_args, None).await;
        let env = endpoints(
            &sims.customs.url(),
            &sims.inspection().url(),
            &sims.fx.url(),
            &sims.tax.url(),
        );
        let data = dir.path().join("data");
        let (mut gateway, mut client) = Gateway::start_with(&data, Some(gateway_addr), &env).await;

        // A: order, payment, waybill, the seller's tax, inspection and FX declarations, and
        // only then the inventory.
        let messages = synth::shipment_messages(seed, 0, &rules);
        for (_, message) in &messages[..3] {
            assert_accepted(submit_xml(&mut client, encode(message).into_bytes()).await);
        }
        let typed = [
            (PLATFORM, "A-tax", Payload::Tax(tax_pb(&a.tax))),
            (
                PLATFORM,
                "A-inspection",
                Payload::Inspection(inspection_pb(&a.inspection)),
            ),
            (PAYER, "A-fx", Payload::FxSettlement(fx_pb(&a.fx))),
        ];
        for (sender, key, payload) in typed {
            let reply = client
                .submit(v1::SubmitRequest {
                    sender: sender.to_owned(),
                    idempotency_key: key.to_owned(),
                    payload: Some(payload),
                })
                .await
                .unwrap_or_else(|status| panic!("{key}: {status}"))
                .into_inner();
            assert_accepted(reply.blocks[0].clone());
        }
        let before = get(&mut client, &order_no(&a)).await.unwrap();
        assert_eq!(before.state, "collecting", "{before:#?}");
        assert_accepted(submit_xml(&mut client, encode(&messages[3].1).into_bytes()).await);

        // B, C, D: the four messages each.
        for n in [1, 2, d_n] {
            for (_, message) in synth::shipment_messages(seed, n, &rules) {
                assert_accepted(submit_xml(&mut client, encode(&message).into_bytes()).await);
            }
        }

        // A: released on the declared messages (and FX, which does not hold release, settled).
        let view = wait_view(&mut client, &order_no(&a), "released and settled", |v| {
            v.state == "released" && agency(v, "fx").is_some_and(|fx| fx.phase == "passed")
        })
        .await;
        assert_eq!(
            states(&view),
            ["collecting", "complete", "routed", "released"],
            "{view:#?}"
        );
        for (name, status) in [
            ("customs", 800),
            ("inspection", 800),
            ("tax", 120),
            ("fx", 800),
        ] {
            let mut problems = Vec::new();
            check_passed(&view, name, status, &mut problems);
            assert!(problems.is_empty(), "{problems:?}: {view:#?}");
        }
        for (sim, kind) in [
            (sims.inspection(), "inspection"),
            (&sims.tax, "tax"),
            (&sims.fx, "fx"),
        ] {
            let taken: Vec<_> = wait_taken(sim, &order_no(&a), 1).await;
            assert_eq!(taken.len(), 1, "{kind}: {taken:?}");
            assert_eq!(taken[0].kind, kind);
            assert!(
                taken[0].message_id.contains("declared"),
                "{kind} got the seller's declaration: {}",
                taken[0].message_id
            );
        }

        // B: held by customs for inspection, then released.
        let view = wait_state(&mut client, &order_no(&b), "released").await;
        let held = view.history.iter().position(|t| t.to == "held");
        let released = view.history.iter().position(|t| t.to == "released");
        assert!(
            matches!((held, released), (Some(h), Some(r)) if h < r),
            "held, then released: {view:#?}"
        );
        let cause = &view.history[held.unwrap_or_default()].cause;
        assert!(cause.contains("customs 500"), "{cause}");
        let customs = agency(&view, "customs").unwrap();
        assert_eq!(
            (customs.return_status, customs.phase.as_str()),
            (800, "passed")
        );

        // C: rejected by customs.
        let view = wait_state(&mut client, &order_no(&c), "rejected").await;
        let customs = agency(&view, "customs").unwrap();
        assert_eq!(
            (customs.return_status, customs.phase.as_str()),
            (100, "rejected"),
            "{view:#?}"
        );

        // D: detained (held), then cancelled by a CEB623; every agency that had it is told.
        let view = wait_state(&mut client, &order_no(&d), "held").await;
        let had: Vec<String> = view
            .agencies
            .iter()
            .filter(|a| a.routed > 0)
            .map(|a| a.agency.clone())
            .collect();
        assert_eq!(had, ["customs", "fx", "inspection", "tax"], "{view:#?}");
        let cancel = cancellation(&d, seed, d_n);
        assert_accepted(submit_xml(&mut client, cancel).await);
        let view = wait_state(&mut client, &order_no(&d), "cancelled").await;
        assert_eq!(
            states(&view),
            ["collecting", "complete", "routed", "held", "cancelled"],
            "{view:#?}"
        );
        for name in &had {
            let sim = sims.of(name);
            let cancels = wait_until(WAIT, || {
                let got: Vec<_> = sim
                    .deliveries()
                    .into_iter()
                    .filter(|l| l.order_no == order_no(&d) && l.kind == "cancel")
                    .collect();
                ready((!got.is_empty()).then_some(got))
            })
            .await
            .unwrap_or_else(|| panic!("{name} got no cancel for D: {:#?}", sim.deliveries()));
            assert_eq!(cancels.len(), 1, "{name}: {cancels:?}");
            assert_eq!(cancels[0].decision, Some(Decision::Cancel));
        }
        for sim in sims.all() {
            assert_eq!(sim.summary().effective_duplicates, 0, "{}", sim.log());
        }
        assert!(dead_letters(gateway_addr).await.is_empty());
        eprintln!(
            "end to end: A released on declared messages, B held then released, C rejected, \
             D cancelled and its cancellation delivered to {} ({:.1} s)",
            had.join(", "),
            started.elapsed().as_secs_f64()
        );
        gateway.kill();
    });
}

// ---------------------------------------------------------------------------------------------
// 3. An agency down, then back.

/// Shipments of the down-agency test (each with goods for inspection).
const DOWN_SHIPMENTS: usize = 60;

#[test]
fn an_agency_that_is_down_delays_only_itself_and_gets_everything_once_back() {
    let _serial = serial();
    let started = Instant::now();
    runtime().block_on(async {
        let rules = Rules::embedded().unwrap();
        let knobs = [
            ("SINGLE_WINDOW_DISPATCH_BREAKER_OPEN_MS", "300"),
            ("SINGLE_WINDOW_DISPATCH_BACKOFF_CAP_MS", "500"),
            ("SINGLE_WINDOW_DISPATCH_MAX_ATTEMPTS", "1000"),
            ("SINGLE_WINDOW_DISPATCH_TIMEOUT_MS", "2000"),
        ];

        // The same load with every agency up, for comparison: (submitted, delivered) times.
        let baseline = {
            let dir = tempfile::tempdir().unwrap();
            let gateway_addr = free_addr();
            let sims = Sims::start(dir.path(), &url(gateway_addr), Vec::new(), None).await;
            let mut env = endpoints(
                &sims.customs.url(),
                &sims.inspection().url(),
                &sims.fx.url(),
                &sims.tax.url(),
            );
            env.extend(knobs.map(|(k, v)| (k, v.to_owned())));
            let data = dir.path().join("data");
            let (mut gateway, client) = Gateway::start_with(&data, Some(gateway_addr), &env).await;
            let orders = flagged_shipments(301, DOWN_SHIPMENTS, &rules);
            let sent = Instant::now();
            submit_shipments(&client, 301, &orders).await;
            let submitted = sent.elapsed();
            wait_delivered(&[&sims.customs, &sims.tax, &sims.fx], &orders).await;
            let delivered = sent.elapsed();
            wait_delivered(&[sims.inspection()], &orders).await;
            wait_all(&client, &orders, WAIT, |v| v.state == "released")
                .await
                .unwrap_or_else(|stuck| panic!("not released: {stuck:#?}"));
            gateway.kill();
            (submitted, delivered)
        };

        // Inspection down from the start: its address is known, nobody listens on it.
        let dir = tempfile::tempdir().unwrap();
        let gateway_addr = free_addr();
        let inspection_addr = free_addr();
        let mut sims = Sims::start(
            dir.path(),
            &url(gateway_addr),
            Vec::new(),
            Some(inspection_addr),
        )
        .await;
        let mut env = endpoints(
            &sims.customs.url(),
            &url(inspection_addr),
            &sims.fx.url(),
            &sims.tax.url(),
        );
        env.extend(knobs.map(|(k, v)| (k, v.to_owned())));
        let data = dir.path().join("data");
        let (mut gateway, client) = Gateway::start_with(&data, Some(gateway_addr), &env).await;
        let orders = flagged_shipments(302, DOWN_SHIPMENTS, &rules);
        let sent = Instant::now();
        submit_shipments(&client, 302, &orders).await;
        let submitted = sent.elapsed();
        wait_delivered(&[&sims.customs, &sims.tax, &sims.fx], &orders).await;
        let delivered = sent.elapsed();
        // Still down: nothing can be released (inspection is required), nothing is dead.
        let views = wait_all(&client, &orders, WAIT, |v| {
            agency(v, "customs").is_some_and(|a| a.phase == "passed")
                && agency(v, "tax").is_some_and(|a| a.phase == "passed")
        })
        .await
        .unwrap_or_else(|stuck| panic!("customs and tax did not pass: {stuck:#?}"));
        for (order, view) in &views {
            let inspection = agency(view, "inspection").unwrap();
            assert_eq!(
                (
                    view.state.as_str(),
                    inspection.phase.as_str(),
                    inspection.routed
                ),
                ("routed", "routed", 1),
                "{order}: {view:#?}"
            );
        }
        assert!(dead_letters(gateway_addr).await.is_empty());
        eprintln!(
            "inspection down: {} shipments submitted in {:.2} s, customs, tax and fx had them \
             all after {:.2} s (all agencies up: submitted in {:.2} s, delivered after {:.2} s)",
            orders.len(),
            submitted.as_secs_f64(),
            delivered.as_secs_f64(),
            baseline.0.as_secs_f64(),
            baseline.1.as_secs_f64()
        );

        // Inspection comes up on its address: everything is delivered to it, once.
        let back = Instant::now();
        sims.start_inspection(inspection_addr).await;
        wait_all(&client, &orders, WAIT, |v| v.state == "released")
            .await
            .unwrap_or_else(|stuck| panic!("not released after inspection came back: {stuck:#?}"));
        let taken = sims.inspection().deliveries();
        let messages = by_message(&taken);
        assert_eq!(messages.len(), orders.len(), "{taken:#?}");
        for (id, lines) in &messages {
            assert_eq!(lines.len(), 1, "{id}: {lines:#?}");
            assert!(!lines[0].duplicate, "{id}: {lines:#?}");
        }
        let covered: BTreeSet<&str> = taken.iter().map(|d| d.order_no.as_str()).collect();
        assert_eq!(covered.len(), orders.len());
        for sim in sims.all() {
            let summary = sim.summary();
            assert_eq!(summary.effective_duplicates, 0, "{summary:?}");
            assert_eq!(summary.messages, orders.len(), "{summary:?}");
        }
        eprintln!(
            "inspection back: all {} shipments released {:.2} s later ({:.1} s in all)",
            orders.len(),
            back.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        gateway.kill();
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Permanent refusal, dead letter, replay; orphan and repeated receipts.

#[test]
fn a_refused_message_is_a_dead_letter_until_replayed_and_stray_receipts_are_recognised() {
    let _serial = serial();
    let started = Instant::now();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let rules = Rules::embedded().unwrap();
        let seed = 404;
        let refused = synth::shipment(seed, 0, &rules);
        let fine = synth::shipment(seed, 1, &rules);
        let gateway_addr = free_addr();
        let gateway_url = url(gateway_addr);
        let mut args = releasing(&gateway_url, 0);
        args.extend(["--agency".to_owned(), "customs".to_owned()]);
        let plain = args.clone();
        args.extend([
            "--rule".to_owned(),
            format!("{}=refuse", order_no(&refused)),
        ]);
        let mut customs = AgencySim::start(None, &dir.path().join("customs.jsonl"), &args).await;
        let mut rest_args = releasing(&gateway_url, 0);
        rest_args.extend(["--agency", "inspection,tax,fx"].map(str::to_owned));
        let rest = AgencySim::start(None, &dir.path().join("rest.jsonl"), &rest_args).await;
        let mut env = endpoints(&customs.url(), &rest.url(), &rest.url(), &rest.url());
        env.push(("SINGLE_WINDOW_DISPATCH_BACKOFF_CAP_MS", "500".to_owned()));
        let data = dir.path().join("data");
        let (mut gateway, mut client) = Gateway::start_with(&data, Some(gateway_addr), &env).await;
        let mut admin = AdminClient::new(gateway.endpoint().connect().await.unwrap());

        for n in 0..2 {
            for (_, message) in synth::shipment_messages(seed, n, &rules) {
                assert_accepted(submit_xml(&mut client, encode(&message).into_bytes()).await);
            }
        }
        wait_state(&mut client, &order_no(&fine), "released").await;

        // The refusal: a dead letter at once, with the reason and the attempt.
        let refused_no = order_no(&refused);
        let letter = wait_until(WAIT, || {
            let (mut admin, refused_no) = (admin.clone(), refused_no.clone());
            async move {
                let letters = list_dead_letters(&mut admin).await;
                letters.into_iter().find(|l| {
                    l.shipment
                        .as_ref()
                        .is_some_and(|s| s.order_no == refused_no)
                })
            }
        })
        .await
        .expect("a dead letter for the refused shipment");
        assert_eq!(
            (letter.agency.as_str(), letter.kind.as_str()),
            ("customs", "delivery"),
            "{letter:#?}"
        );
        assert!(letter.reason.contains("refuse"), "{letter:#?}");
        assert!(!letter.attempts.is_empty(), "{letter:#?}");
        assert!(
            letter.attempts.iter().all(|a| a.error.contains("refuse")),
            "{letter:#?}"
        );
        let got = admin
            .get_dead_letter(v1::DeadLetterRequest {
                id: letter.id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got, letter);
        let view = get(&mut client, &order_no(&refused)).await.unwrap();
        assert_eq!(view.state, "routed", "{view:#?}");
        assert_eq!(agency(&view, "customs").unwrap().phase, "routed");
        assert!(
            customs
                .deliveries()
                .iter()
                .all(|d| d.order_no != order_no(&refused)),
            "a refused delivery records nothing"
        );

        // Customs takes it after a restart without the rule, once replayed.
        customs.restart(Some(&plain)).await;
        let replayed = admin
            .replay_dead_letter(v1::DeadLetterRequest {
                id: letter.id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replayed.message_id, letter.message_id);
        let view = wait_state(&mut client, &order_no(&refused), "released").await;
        let customs_status = agency(&view, "customs").unwrap();
        assert_eq!(
            (customs_status.return_status, customs_status.phase.as_str()),
            (800, "passed")
        );
        let status = admin
            .get_dead_letter(v1::DeadLetterRequest {
                id: letter.id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{status}");
        assert!(list_dead_letters(&mut admin).await.is_empty());
        let taken: Vec<_> = customs
            .deliveries()
            .into_iter()
            .filter(|d| d.message_id == letter.message_id)
            .collect();
        assert_eq!(taken.len(), 1, "{taken:#?}");
        assert!(!taken[0].duplicate);

        // A receipt for a message never routed: an orphan, kept as a dead letter.
        let mut receipts_client = ReceiptsClient::new(gateway.endpoint().connect().await.unwrap());
        let stray = v1::AgencyReceipt {
            receipt_id: "customs:inventory:never-routed#1".to_owned(),
            message_id: "customs:inventory:never-routed".to_owned(),
            agency: "customs".to_owned(),
            return_status: 800,
            return_info: "released".to_owned(),
            at_unix_ms: now_ms(),
        };
        let ack = receipts_client
            .report(stray.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ack.outcome(), ReceiptOutcome::Orphan, "{ack:?}");
        let letters = list_dead_letters(&mut admin).await;
        let orphan = letters
            .iter()
            .find(|l| l.message_id == stray.message_id)
            .unwrap_or_else(|| panic!("the orphan in {letters:#?}"));
        assert_eq!(orphan.kind, "orphan-receipt", "{orphan:#?}");
        assert_eq!(orphan.receipt.as_ref(), Some(&stray));
        // Its message is still unknown: it cannot be replayed, and stays.
        let status = admin
            .replay_dead_letter(v1::DeadLetterRequest {
                id: orphan.id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status}");
        let kept = list_dead_letters(&mut admin).await;
        assert_eq!(kept.len(), 1, "{kept:#?}");
        assert_eq!(kept[0].id, orphan.id);

        // The receipts customs sent for the replayed message, reported again: repeats.
        for receipt in receipts(
            &letter.message_id,
            Agency::Customs,
            Decision::Release,
            now_ms(),
            0,
        ) {
            let again = v1::AgencyReceipt {
                receipt_id: receipt.receipt_id.clone(),
                message_id: receipt.message_id.clone(),
                agency: "customs".to_owned(),
                return_status: receipt.return_status,
                return_info: receipt.return_info.to_owned(),
                at_unix_ms: receipt.at_unix_ms,
            };
            let ack = receipts_client.report(again).await.unwrap().into_inner();
            assert_eq!(
                (ack.outcome(), ack.shipment_state.as_str()),
                (ReceiptOutcome::Repeat, "released"),
                "{}: {ack:?}",
                receipt.receipt_id
            );
        }
        let view = get(&mut client, &order_no(&refused)).await.unwrap();
        let releases = view.history.iter().filter(|t| t.to == "released").count();
        assert_eq!(releases, 1, "{view:#?}");
        eprintln!(
            "dead letter {} ({}) replayed and released; orphan and repeat recognised ({:.1} s)",
            letter.id,
            letter.reason,
            started.elapsed().as_secs_f64()
        );
        gateway.kill();
        drop(rest);
    });
}

// ---------------------------------------------------------------------------------------------
// Agencies.

/// One simulator process per agency, each with its ledger in `dir`.
struct Sims {
    customs: AgencySim,
    inspection: Option<AgencySim>,
    fx: AgencySim,
    tax: AgencySim,
    dir: std::path::PathBuf,
    gateway: String,
}

impl Sims {
    /// Starts them, reporting to `gateway`, every decision `release` (hold 0) but for customs,
    /// which gets `customs_args` instead when not empty. With `inspection_down`, inspection is
    /// not started (see [`Sims::start_inspection`]).
    async fn start(
        dir: &Path,
        gateway: &str,
        customs_args: Vec<String>,
        inspection_down: Option<SocketAddr>,
    ) -> Sims {
        let args = |name: &str| {
            let mut args = releasing(gateway, 0);
            args.extend(["--agency".to_owned(), name.to_owned()]);
            args
        };
        let customs_args = if customs_args.is_empty() {
            args("customs")
        } else {
            customs_args
        };
        let ledger = |name: &str| dir.join(format!("{name}.jsonl"));
        let customs = AgencySim::start(None, &ledger("customs"), &customs_args).await;
        let fx = AgencySim::start(None, &ledger("fx"), &args("fx")).await;
        let tax = AgencySim::start(None, &ledger("tax"), &args("tax")).await;
        let mut sims = Sims {
            customs,
            inspection: None,
            fx,
            tax,
            dir: dir.to_owned(),
            gateway: gateway.to_owned(),
        };
        if inspection_down.is_none() {
            sims.start_inspection(free_addr()).await;
        }
        sims
    }

    /// Starts the inspection simulator on `addr`.
    async fn start_inspection(&mut self, addr: SocketAddr) {
        let mut args = releasing(&self.gateway, 0);
        args.extend(["--agency".to_owned(), "inspection".to_owned()]);
        let ledger = self.dir.join("inspection.jsonl");
        self.inspection = Some(AgencySim::start(Some(addr), &ledger, &args).await);
    }

    fn inspection(&self) -> &AgencySim {
        self.inspection
            .as_ref()
            .expect("the inspection simulator runs")
    }

    fn of(&self, name: &str) -> &AgencySim {
        match name {
            "customs" => &self.customs,
            "inspection" => self.inspection(),
            "fx" => &self.fx,
            "tax" => &self.tax,
            other => panic!("no agency {other}"),
        }
    }

    fn all(&self) -> Vec<&AgencySim> {
        let mut all = vec![&self.customs, &self.fx, &self.tax];
        all.extend(self.inspection.as_ref());
        all
    }
}

/// The gateway's agency endpoints.
fn endpoints(customs: &str, inspection: &str, fx: &str, tax: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SINGLE_WINDOW_AGENCIES_CUSTOMS", customs.to_owned()),
        ("SINGLE_WINDOW_AGENCIES_INSPECTION", inspection.to_owned()),
        ("SINGLE_WINDOW_AGENCIES_FX", fx.to_owned()),
        ("SINGLE_WINDOW_AGENCIES_TAX", tax.to_owned()),
    ]
}

/// The deliveries `sim` took for shipment `order`, once it took at least `n`.
async fn wait_taken(
    sim: &AgencySim,
    order: &str,
    n: usize,
) -> Vec<single_window::sim::DeliveryLine> {
    wait_until(WAIT, || {
        let got: Vec<_> = sim
            .deliveries()
            .into_iter()
            .filter(|d| d.order_no == order)
            .collect();
        ready((got.len() >= n).then_some(got))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{order}: fewer than {n} deliveries: {:#?}",
            sim.deliveries()
        )
    })
}

/// Waits until each of `sims` took a message of every shipment in `orders`; how long it took.
async fn wait_delivered(sims: &[&AgencySim], orders: &[String]) -> Duration {
    let started = Instant::now();
    let all = wait_until(WAIT, || {
        let missing: usize = sims
            .iter()
            .map(|sim| {
                let taken: BTreeSet<String> =
                    sim.deliveries().into_iter().map(|d| d.order_no).collect();
                orders.iter().filter(|o| !taken.contains(*o)).count()
            })
            .sum();
        ready((missing == 0).then_some(()))
    })
    .await;
    assert!(
        all.is_some(),
        "not every shipment delivered within {WAIT:?}: {:?}",
        sims.iter().map(|s| s.summary()).collect::<Vec<_>>()
    );
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// Shipments and the gateway.

fn order_no(s: &synth::Shipment) -> String {
    s.order
        .head
        .order_no
        .as_ref()
        .expect("an order number")
        .to_string()
}

/// Whether shipment `s` has goods on the inspection list.
fn flagged(s: &synth::Shipment) -> bool {
    s.inspection.lines.iter().any(|l| l.inspection)
}

/// The order numbers of the first `count` shipments of `seed` with goods for inspection.
fn flagged_shipments(seed: u64, count: usize, rules: &Rules) -> Vec<String> {
    (0..)
        .map(|n| synth::shipment(seed, n, rules))
        .filter(flagged)
        .take(count)
        .map(|s| order_no(&s))
        .collect()
}

/// Submits the four messages of each shipment of `seed` in `orders` (8 shipments at a time).
async fn submit_shipments(client: &GatewayClient<Channel>, seed: u64, orders: &[String]) {
    let rules = Rules::embedded().unwrap();
    let wanted: BTreeSet<&str> = orders.iter().map(String::as_str).collect();
    let mut batches = Vec::new();
    for n in 0.. {
        if batches.len() == orders.len() {
            break;
        }
        if wanted.contains(order_no(&synth::shipment(seed, n, &rules)).as_str()) {
            let xml: Vec<Vec<u8>> = synth::shipment_messages(seed, n, &rules)
                .iter()
                .map(|(_, m)| encode(m).into_bytes())
                .collect();
            batches.push(xml);
        }
    }
    futures_util::stream::iter(batches)
        .for_each_concurrent(8, |messages| {
            let mut client = client.clone();
            async move {
                for xml in messages {
                    assert_accepted(submit_xml(&mut client, xml).await);
                }
            }
        })
        .await;
}

/// Submits one CEB message; its (first) block's outcome.
async fn submit_xml(client: &mut GatewayClient<Channel>, xml: Vec<u8>) -> v1::BlockOutcome {
    let reply = client
        .submit(request(xml))
        .await
        .unwrap_or_else(|status| panic!("submit: {status}"))
        .into_inner();
    reply.blocks.into_iter().next().expect("a block outcome")
}

fn assert_accepted(block: v1::BlockOutcome) {
    assert_eq!(outcome(&block), Outcome::Accepted, "{block:#?}");
}

/// A CEB623 cancelling shipment `s` (its guids distinct per `seed` and `n`).
fn cancellation(s: &synth::Shipment, seed: u64, n: u64) -> Vec<u8> {
    let mut document = cases::cancel(s);
    if let Document::InvtCancel(c) = &mut document {
        c.guid = Guid::parse_str(format!("CA{seed:06}-0000-0000-0000-{n:012X}")).ok();
    }
    let guid = synth::message_guid(seed, n, MessageKind::Ceb623);
    encode(&synth::message(
        MessageKind::Ceb623,
        &guid,
        PLATFORM,
        vec![document],
    ))
    .into_bytes()
}

fn key(order_no: &str) -> v1::ShipmentKey {
    v1::ShipmentKey {
        ebp_code: PLATFORM.to_owned(),
        order_no: order_no.to_owned(),
    }
}

async fn get(
    client: &mut GatewayClient<Channel>,
    order_no: &str,
) -> Result<v1::ShipmentView, tonic::Status> {
    client
        .get_shipment(v1::GetShipmentRequest {
            shipment: Some(key(order_no)),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Waits until shipment `order` is in `state`; its view.
async fn wait_state(
    client: &mut GatewayClient<Channel>,
    order: &str,
    state: &str,
) -> v1::ShipmentView {
    wait_view(client, order, state, |v| v.state == state).await
}

/// Waits until the view of shipment `order` satisfies `done` (described by `what`); the view.
async fn wait_view(
    client: &mut GatewayClient<Channel>,
    order: &str,
    what: &str,
    done: impl Fn(&v1::ShipmentView) -> bool,
) -> v1::ShipmentView {
    let started = Instant::now();
    loop {
        let view = get(client, order).await;
        if let Ok(view) = &view {
            if done(view) {
                return view.clone();
            }
        }
        assert!(
            started.elapsed() < WAIT,
            "{order} not {what} within {WAIT:?}: {view:#?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until every shipment of `orders` satisfies `done`: their views, or the views (or
/// errors) of those that did not in time.
async fn wait_all(
    client: &GatewayClient<Channel>,
    orders: &[String],
    timeout: Duration,
    done: impl Fn(&v1::ShipmentView) -> bool,
) -> Result<BTreeMap<String, v1::ShipmentView>, Vec<String>> {
    let started = Instant::now();
    let mut views = BTreeMap::new();
    let mut pending: Vec<String> = orders.to_vec();
    loop {
        let got: Vec<(String, Result<v1::ShipmentView, tonic::Status>)> =
            futures_util::stream::iter(pending.clone())
                .map(|order| {
                    let mut client = client.clone();
                    async move {
                        let view = get(&mut client, &order).await;
                        (order, view)
                    }
                })
                .buffer_unordered(16)
                .collect()
                .await;
        pending.clear();
        let mut stuck = Vec::new();
        for (order, view) in got {
            match view {
                Ok(view) if done(&view) => {
                    views.insert(order, view);
                }
                other => {
                    stuck.push(format!("{order}: {other:?}"));
                    pending.push(order);
                }
            }
        }
        if pending.is_empty() {
            return Ok(views);
        }
        if started.elapsed() > timeout {
            return Err(stuck);
        }
        tokio::time::sleep(POLL * 2).await;
    }
}

/// Polls `probe` until it gives a value, for at most `timeout`.
async fn wait_until<T, F, P>(timeout: Duration, mut probe: P) -> Option<T>
where
    P: FnMut() -> F,
    F: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if started.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Every dead letter of the gateway at `addr`.
async fn dead_letters(addr: SocketAddr) -> Vec<v1::DeadLetter> {
    let channel = Endpoint::from_shared(url(addr))
        .unwrap()
        .connect()
        .await
        .expect("the gateway answers");
    list_dead_letters(&mut AdminClient::new(channel)).await
}

async fn list_dead_letters(admin: &mut AdminClient<Channel>) -> Vec<v1::DeadLetter> {
    let mut letters = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = admin
            .list_dead_letters(v1::ListDeadLettersRequest {
                agency: String::new(),
                page_size: 1000,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        letters.extend(page.dead_letters);
        if page.next_page_token.is_empty() {
            return letters;
        }
        page_token = page.next_page_token;
    }
}

fn agency<'v>(view: &'v v1::ShipmentView, name: &str) -> Option<&'v v1::AgencyStatus> {
    view.agencies.iter().find(|a| a.agency == name)
}

/// The states of a view's history: the first `from`, then each `to`.
fn states(view: &v1::ShipmentView) -> Vec<&str> {
    let first = view.history.first().map(|t| t.from.as_str());
    first
        .into_iter()
        .chain(view.history.iter().map(|t| t.to.as_str()))
        .collect()
}

/// Agency `name` of `view` passed with `status`, routed one message.
fn check_passed(view: &v1::ShipmentView, name: &str, status: i32, problems: &mut Vec<String>) {
    let order = view.shipment.as_ref().map_or("", |k| k.order_no.as_str());
    match agency(view, name) {
        Some(a) if a.phase == "passed" && a.return_status == status && a.routed == 1 => {}
        other => problems.push(format!(
            "{order}: {name} should have passed with {status} on one message: {other:?}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Typed declarations as protobuf.

fn key_pb(key: &single_window::domain::ShipmentKey<'_>) -> v1::ShipmentKey {
    v1::ShipmentKey {
        ebp_code: key.ebp_code.to_string(),
        order_no: key.order_no.to_string(),
    }
}

fn tax_pb(t: &single_window::domain::TaxDeclaration<'_>) -> v1::TaxDeclaration {
    v1::TaxDeclaration {
        shipment: Some(key_pb(&t.shipment)),
        assure_code: t.assure_code.to_string(),
        buyer_id_number: t.buyer_id_number.to_string(),
        freight: t.freight.to_string(),
        insured_fee: t.insured_fee.to_string(),
        lines: t
            .lines
            .iter()
            .map(|l| v1::TaxLine {
                gnum: l.gnum,
                gcode: l.gcode.to_string(),
                goods_value: l.goods_value.to_string(),
                indivisible: l.indivisible,
                customs_tax: l.customs_tax.to_string(),
                value_added_tax: l.value_added_tax.to_string(),
                consumption_tax: l.consumption_tax.to_string(),
            })
            .collect(),
        customs_tax: t.customs_tax.to_string(),
        value_added_tax: t.value_added_tax.to_string(),
        consumption_tax: t.consumption_tax.to_string(),
    }
}

fn inspection_pb(
    d: &single_window::domain::InspectionDeclaration<'_>,
) -> v1::InspectionDeclaration {
    v1::InspectionDeclaration {
        shipment: Some(key_pb(&d.shipment)),
        declarant: d.declarant.to_string(),
        app_time: d.app_time.to_string(),
        lines: d
            .lines
            .iter()
            .map(|l| v1::InspectionLine {
                gnum: l.gnum,
                gcode: l.gcode.to_string(),
                gname: l.gname.to_string(),
                origin: l.origin.to_string(),
                qty: l.qty.to_string(),
                unit: l.unit.to_string(),
                inspection: l.inspection,
            })
            .collect(),
    }
}

fn fx_pb(f: &single_window::domain::FxSettlement<'_>) -> v1::FxSettlement {
    v1::FxSettlement {
        shipment: Some(key_pb(&f.shipment)),
        pay_code: f.pay_code.to_string(),
        pay_transaction_id: f.pay_transaction_id.to_string(),
        payer_id_type: f.payer_id_type.to_string(),
        payer_id_number: f.payer_id_number.to_string(),
        payer_name: f.payer_name.to_string(),
        amount_cny: f.amount_cny.to_string(),
        settle_currency: f.settle_currency.to_string(),
        settle_amount: f.settle_amount.to_string(),
        rate: f.rate.to_string(),
        settle_time: f.settle_time.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Plumbing.

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The last lines of a child's stderr.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
