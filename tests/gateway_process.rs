//! The real gateway binary as a child process on a loopback port with a store folder on disk:
//! no block it acknowledged as ACCEPTED is lost when it is killed with SIGKILL under load, and
//! a `SubmitStream` client that stops reading replies stops the server's reading too (HTTP/2
//! flow control) instead of growing its memory.

#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/serial.rs"]
mod serial;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;
#[path = "support/stored.rs"]
mod stored;

use serial::{runtime, serial};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use gateway::Gateway;
use shipments::{message_guid, order_message, outcome, request, shipment_messages, XorShift};
use single_window::domain::MessageKind;
use single_window::pb::v1::{gateway_client::GatewayClient, Outcome};
use single_window::rules::Rules;
use single_window::store::{Store, StoreConfig};
use tonic::transport::Channel;

/// Rounds of load ended by a SIGKILL of the gateway.
const KILLS: usize = 12;
/// Concurrent submitters during a round.
const WORKERS: usize = 16;
/// Random delay before the kill, ms.
const KILL_AFTER_MS: (u64, u64) = (20, 300);
/// Seed of round 0's shipments; round `r` uses `ROUND_SEED + r`, so keys never collide.
const ROUND_SEED: u64 = 0x5157_0000;
/// How long collecting the submitters after a kill, or re-submitting, may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Order messages the request stream could produce.
const STREAM_MESSAGES: u64 = 20_000;
/// How long the reply stream is left unread.
const HOLD: Duration = Duration::from_secs(5);
/// Replies read back after the hold.
const READ_BACK: usize = 500;
/// The streaming client's HTTP/2 receive window (its replies), bytes.
const CLIENT_WINDOW: u32 = 64 * 1024;
/// Most requests the transport may take while the replies are not read, a tenth of
/// `STREAM_MESSAGES`: what the server's HTTP/2 receive window (1 MiB by default), the client's
/// send buffer (1 MiB), the server's reply window (16) and the client's receive window hold,
/// in order messages of ~3 kB, with room to spare.
const MAX_PULLED: usize = (STREAM_MESSAGES / 10) as usize;
/// Most growth of the server's resident memory while the replies are not read.
const MAX_RSS_GROWTH_KIB: u64 = 64 * 1024;
/// Seed of the streamed shipments.
const STREAM_SEED: u64 = 0x5157_1000;

/// A block the gateway acknowledged as ACCEPTED, and what was sent for it.
#[derive(Debug, Clone)]
struct Ack {
    round: usize,
    sender: &'static str,
    key: String,
    xml: Arc<Vec<u8>>,
}

/// What the submitters of one round saw.
#[derive(Debug, Default)]
struct Seen {
    acks: Vec<Ack>,
    /// Replies other than ACCEPTED for fresh blocks, and failures before the kill (none
    /// expected).
    unexpected: Vec<String>,
    /// Calls that failed (the kill).
    failed: usize,
}

#[test]
fn acknowledged_declarations_survive_sigkill_of_the_gateway() {
    let _serial = serial();
    let started = Instant::now();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let rules = Arc::new(Rules::embedded().unwrap());
        let mut rng = XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut acks: Vec<Ack> = Vec::new();
        let mut lost: Vec<String> = Vec::new();
        let mut unexpected: Vec<String> = Vec::new();
        let mut kills = 0usize;
        let mut checked = 0usize;
        // Round KILLS only restarts the gateway and checks what the last kill left.
        for round in 0..=KILLS {
            let (mut gateway, client) = Gateway::start(dir.path()).await;
            // Everything acknowledged before the last kill must be on file: a repeat.
            lost.extend(resubmit(&client, &acks[checked..]).await);
            checked = acks.len();
            if round == KILLS {
                gateway.kill();
                break;
            }
            let delay = Duration::from_millis(rng.between(KILL_AFTER_MS.0, KILL_AFTER_MS.1));
            let load = Load {
                seed: ROUND_SEED + round as u64,
                round,
                rules: rules.clone(),
                next: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                killed: AtomicBool::new(false),
            };
            let (seen, in_flight) = load_then_kill(&mut gateway, &client, load, delay).await;
            kills += 1;
            eprintln!(
                "round {round}: killed after {} ms with {in_flight} submissions in flight: \
                 {} acknowledged, {} calls failed",
                delay.as_millis(),
                seen.acks.len(),
                seen.failed
            );
            acks.extend(seen.acks);
            unexpected.extend(seen.unexpected);
        }

        // The folder itself, with the gateway gone: every acknowledged block complete.
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let mut enveloped = 0usize;
        for ack in &acks {
            match stored::complete(&store, ack.sender, &ack.key, &ack.xml, &rules) {
                Ok(stored::Form::AsStored) => {}
                Ok(stored::Form::WithSentEnvelope) => enveloped += 1,
                Err(problem) => lost.push(format!(
                    "round {} {}/{}: {problem}",
                    ack.round, ack.sender, ack.key
                )),
            }
        }
        let audit = store.audit().unwrap().len();
        store.close().unwrap();

        eprintln!(
            "acknowledged={} lost={} kills={kills} (audit entries {audit}; {enveloped} stored \
             declarations decode only inside the envelope they came in; {:.1} s)",
            acks.len(),
            lost.len(),
            started.elapsed().as_secs_f64()
        );
        assert!(
            unexpected.is_empty(),
            "fresh blocks not accepted, or calls failed before a kill: {unexpected:#?}"
        );
        assert!(lost.is_empty(), "acknowledged but lost: {lost:#?}");
        assert!(!acks.is_empty(), "nothing was acknowledged");
        assert!(kills >= 10, "{kills} kills");
        assert!(
            audit >= acks.len(),
            "{audit} audit entries for {} acknowledged blocks",
            acks.len()
        );
    });
}

#[test]
fn a_slow_submit_stream_consumer_does_not_grow_server_memory() {
    let _serial = serial();
    let started = Instant::now();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let rules = Arc::new(Rules::embedded().unwrap());
        let (mut gateway, mut client) = Gateway::start(dir.path()).await;
        // Warm up the store and the allocator, so that "before" is a working server.
        for n in STREAM_MESSAGES..STREAM_MESSAGES + 50 {
            let reply = client
                .submit(request(order_message(STREAM_SEED, n, &rules)))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(outcome(&reply.blocks[0]), Outcome::Accepted, "{reply:?}");
        }
        let rss_before = gateway.rss_kib();

        let pulled = Arc::new(AtomicUsize::new(0));
        let requests = {
            let (pulled, rules) = (pulled.clone(), rules.clone());
            tokio_stream::iter(0..STREAM_MESSAGES).map(move |n| {
                pulled.fetch_add(1, Ordering::SeqCst);
                request(order_message(STREAM_SEED, n, &rules))
            })
        };
        // A client with a small receive window, so that what it buffers itself does not hide
        // what the server does.
        let mut streaming = GatewayClient::new(
            gateway
                .endpoint()
                .initial_stream_window_size(CLIENT_WINDOW)
                .connect()
                .await
                .unwrap(),
        );
        let mut replies = tokio::time::timeout(PHASE_TIMEOUT, streaming.submit_stream(requests))
            .await
            .expect("the stream opens")
            .unwrap()
            .into_inner();
        // Hold the reply stream without reading it.
        let request_bytes = order_message(STREAM_SEED, 0, &rules).len();
        let mut samples = Vec::new();
        let hold_end = Instant::now() + HOLD;
        while Instant::now() < hold_end {
            tokio::time::sleep(Duration::from_millis(500)).await;
            samples.push(pulled.load(Ordering::SeqCst));
        }
        let held = pulled.load(Ordering::SeqCst);
        let rss_after = gateway.rss_kib();
        eprintln!(
            "slow consumer: {held} of {STREAM_MESSAGES} requests (~{request_bytes} bytes each) \
             pulled while the replies were not read (every 0.5 s: {samples:?}); \
             server RSS {} KiB before, {} KiB after ({:+} KiB)",
            rss_before,
            rss_after,
            rss_after as i64 - rss_before as i64
        );
        assert!(
            held < MAX_PULLED,
            "{held} requests pulled with no reply read (bound {MAX_PULLED})"
        );
        assert!(
            rss_after < rss_before + MAX_RSS_GROWTH_KIB,
            "server RSS grew from {rss_before} KiB to {rss_after} KiB"
        );

        // Read back: the replies come, in order, and the producer resumes.
        for i in 0..READ_BACK {
            let reply = tokio::time::timeout(PHASE_TIMEOUT, replies.message())
                .await
                .unwrap_or_else(|_| panic!("reply {i} within {PHASE_TIMEOUT:?}"))
                .unwrap_or_else(|status| panic!("reply {i}: {status}"))
                .unwrap_or_else(|| panic!("the stream ended after {i} replies"));
            let guid = message_guid(STREAM_SEED, i as u64, MessageKind::Ceb311);
            assert_eq!(reply.id, guid, "reply {i} out of order");
            assert!(
                matches!(
                    reply.blocks.first().map(outcome),
                    Some(Outcome::Accepted | Outcome::Repeat)
                ),
                "reply {i}: {reply:?}"
            );
        }
        let deadline = Instant::now() + PHASE_TIMEOUT;
        while pulled.load(Ordering::SeqCst) <= held {
            assert!(
                Instant::now() < deadline,
                "the producer did not resume after {READ_BACK} replies were read"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "slow consumer: {READ_BACK} replies read in order, then {} requests pulled \
             ({:.1} s)",
            pulled.load(Ordering::SeqCst),
            started.elapsed().as_secs_f64()
        );
        drop(replies);
        gateway.kill();
    });
}

/// What the submitters of a round share.
struct Load {
    seed: u64,
    round: usize,
    rules: Arc<Rules>,
    /// The next shipment to submit.
    next: AtomicU64,
    /// Calls sent and not yet answered.
    in_flight: AtomicUsize,
    /// Set just before the kill: a call failing after it failed because of it.
    killed: AtomicBool,
}

/// Runs `WORKERS` submitters against the gateway and SIGKILLs it after `delay`; what they saw
/// and how many calls were in flight at the kill.
async fn load_then_kill(
    gateway: &mut Gateway,
    client: &GatewayClient<Channel>,
    load: Load,
    delay: Duration,
) -> (Seen, usize) {
    let load = Arc::new(load);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        workers.spawn(submitter(client.clone(), load.clone()));
    }
    tokio::time::sleep(delay).await;
    load.killed.store(true, Ordering::SeqCst);
    let at_kill = load.in_flight.load(Ordering::SeqCst);
    gateway.kill();
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    while let Some(done) = tokio::time::timeout_at(deadline, workers.join_next())
        .await
        .expect("the submitters stop once the gateway is killed")
    {
        let done = done.unwrap();
        seen.acks.extend(done.acks);
        seen.unexpected.extend(done.unexpected);
        seen.failed += done.failed;
    }
    (seen, at_kill)
}

/// Submits the messages of shipments `next, next+1, …` until a call fails.
async fn submitter(mut client: GatewayClient<Channel>, load: Arc<Load>) -> Seen {
    let mut seen = Seen::default();
    let round = load.round;
    loop {
        let n = load.next.fetch_add(1, Ordering::SeqCst);
        for sent in shipment_messages(load.seed, n, &load.rules) {
            let xml = Arc::new(sent.xml);
            load.in_flight.fetch_add(1, Ordering::SeqCst);
            let reply = client.submit(request(xml.as_ref().clone())).await;
            load.in_flight.fetch_sub(1, Ordering::SeqCst);
            let reply = match reply {
                Ok(reply) => reply.into_inner(),
                Err(status) => {
                    if !load.killed.load(Ordering::SeqCst) {
                        seen.unexpected.push(format!(
                            "round {round}, shipment {n}: failed before the kill: {:?} {}",
                            status.code(),
                            status.message()
                        ));
                    }
                    seen.failed += 1;
                    return seen;
                }
            };
            for block in reply.blocks {
                match outcome(&block) {
                    Outcome::Accepted => seen.acks.push(Ack {
                        round,
                        sender: sent.sender,
                        key: block.key,
                        xml: xml.clone(),
                    }),
                    other => seen.unexpected.push(format!(
                        "round {round}, shipment {n}: {other:?} {:?}",
                        block.violations
                    )),
                }
            }
        }
    }
}

/// Submits each acknowledged message again: each of its blocks must be a REPEAT (its key and
/// content are on file). Returns what was not.
async fn resubmit(client: &GatewayClient<Channel>, acks: &[Ack]) -> Vec<String> {
    let checks = futures_util::stream::iter(acks.iter().map(|ack| {
        let mut client = client.clone();
        async move {
            let reply = match client.submit(request(ack.xml.as_ref().clone())).await {
                Ok(reply) => reply.into_inner(),
                Err(status) => return Some(format!("{ack:?}: re-submitted: {status}")),
            };
            match reply.blocks.iter().find(|b| b.key == ack.key).map(outcome) {
                Some(Outcome::Repeat) => None,
                Some(Outcome::Accepted) => Some(format!(
                    "round {} {}/{}: accepted again after the restart (it was lost)",
                    ack.round, ack.sender, ack.key
                )),
                other => Some(format!(
                    "round {} {}/{}: {other:?} after the restart: {reply:?}",
                    ack.round, ack.sender, ack.key
                )),
            }
        }
    }))
    .buffer_unordered(WORKERS)
    .filter_map(|problem| async move { problem })
    .collect::<Vec<_>>();
    tokio::time::timeout(PHASE_TIMEOUT, checks)
        .await
        .expect("re-submitting the acknowledged blocks")
}
