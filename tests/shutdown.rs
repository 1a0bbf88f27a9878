//! Graceful shutdown of a real gateway process (`single-window serve`):
//! 1. SIGTERM under load: the process exits 0 within the deadline; every submission answered
//!    ACCEPTED before the exit is on file (restarted on the same folder, each is a REPEAT);
//!    health checks during the drain say NOT_SERVING or find the port closed, and never say
//!    SERVING again once they have not; a health `Watch` stream open at the signal hears
//!    NOT_SERVING, then ends OK (it does not hold the drain);
//! 2. a drain that cannot finish (a client keeps a stream open) is cut at the deadline: exit
//!    code 1;
//! 3. a second SIGTERM during the drain exits at once, with code 143 (128 + SIGTERM).

// Shared with the process tests, which use the helpers this file does not.
#[allow(dead_code)]
#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/serial.rs"]
mod serial;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gateway::Gateway;
use serial::{runtime, serial};
use shipments::{order_message, outcome, request, shipment_messages, Sent};
use single_window::pb::v1::{gateway_client::GatewayClient, Outcome, SubmitRequest};
use single_window::rules::Rules;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

/// The gateway's shutdown deadline (`cli::serve::SHUTDOWN_DEADLINE`).
const DEADLINE: Duration = Duration::from_secs(10);
/// Slack for a loaded test machine on top of the deadline.
const SLACK: Duration = Duration::from_secs(5);
/// Concurrent submitters.
const SUBMITTERS: u64 = 6;
/// Load before the signal: at least this many submissions acknowledged ACCEPTED …
const LOAD: usize = 20;
/// … within this time (generous, for a busy machine).
const LOAD_PATIENCE: Duration = Duration::from_secs(30);

/// A submission answered ACCEPTED.
struct Accepted {
    n: u64,
    message: Sent,
}

/// What a health check said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Serving,
    NotServing,
    /// No answer: the port is closed, the connection was told to go away.
    Refused,
}

#[test]
fn sigterm_under_load_drains_keeps_what_was_acknowledged_and_exits_0() {
    let _serial = serial();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let rules = Arc::new(Rules::embedded().unwrap());
        let (mut gateway, client) = Gateway::start_with(dir.path(), None, &envs()).await;
        let seed = 0x5D0_0001;

        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(0));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let mut submitters = Vec::new();
        for _ in 0..SUBMITTERS {
            let (client, rules) = (client.clone(), rules.clone());
            let (stop, next, accepted) = (stop.clone(), next.clone(), accepted.clone());
            submitters.push(tokio::spawn(async move {
                submit_until_refused(client, &rules, seed, &next, &stop, &accepted).await
            }));
        }
        let health = check_health(gateway.endpoint().connect().await.unwrap(), stop.clone());
        let watched = watch_health(gateway.endpoint().connect().await.unwrap()).await;

        let loading = Instant::now();
        loop {
            let acknowledged = accepted.lock().unwrap().len();
            if acknowledged >= LOAD {
                break;
            }
            assert!(
                loading.elapsed() < LOAD_PATIENCE,
                "{acknowledged} acknowledged after {LOAD_PATIENCE:?}\n{}",
                gateway.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let signalled = Instant::now();
        gateway.signal("TERM");
        let status = gateway.wait_exit(DEADLINE + SLACK).await;
        let took = signalled.elapsed();
        stop.store(true, Ordering::SeqCst);
        let mut unexpected = Vec::new();
        for submitter in submitters {
            unexpected.extend(submitter.await.unwrap());
        }
        let seen = health.await.unwrap();
        let watched = tokio::time::timeout(Duration::from_secs(1), watched)
            .await
            .expect("the health watch ended")
            .unwrap();
        let log = gateway.log();
        assert!(
            status.is_some_and(|s| s.code() == Some(0)),
            "exit after SIGTERM: {status:?} after {took:?}\n{log}"
        );
        assert!(took < DEADLINE / 2, "took {took:?}");
        assert_eq!(
            watched.as_ref().ok(),
            Some(&vec![ServingStatus::Serving, ServingStatus::NotServing]),
            "what the health watch heard, and how it ended: {watched:?}"
        );
        assert!(unexpected.is_empty(), "{unexpected:#?}");
        for step in [
            "shutdown: begins",
            "shutdown: health NOT_SERVING, new calls refused",
            "shutdown: calls in flight answered, server stopped",
            "shutdown: deliveries in flight finished, dispatcher stopped",
            "shutdown: store flushed and closed",
            "shutdown: done",
        ] {
            assert!(log.contains(step), "no {step:?} in the log:\n{log}");
        }
        let first_not_serving = seen.iter().position(|h| *h != Health::Serving);
        let serving_again =
            first_not_serving.is_some_and(|at| seen[at..].contains(&Health::Serving));
        assert!(
            first_not_serving.is_some() && !serving_again,
            "health checks: SERVING, then only NOT_SERVING or refused: {seen:?}"
        );
        drop(gateway);

        // Restarted on the same folder: every acknowledged submission is a repeat.
        let accepted = std::mem::take(&mut *accepted.lock().unwrap());
        assert!(accepted.len() >= LOAD, "{} acknowledged", accepted.len());
        let (mut gateway, mut client) = Gateway::start_with(dir.path(), None, &envs()).await;
        let mut lost = Vec::new();
        for ack in &accepted {
            let reply = client
                .submit(request(ack.message.xml.clone()))
                .await
                .unwrap()
                .into_inner();
            if outcome(&reply.blocks[0]) != Outcome::Repeat {
                lost.push(format!(
                    "shipment {} from {}: {reply:?}",
                    ack.n, ack.message.sender
                ));
            }
        }
        assert!(lost.is_empty(), "acknowledged but not on file: {lost:#?}");
        eprintln!(
            "{} submissions acknowledged before SIGTERM, all on file; exit 0 after {took:?}; \
             health during the drain: {} NOT_SERVING, {} refused",
            accepted.len(),
            seen.iter().filter(|h| **h == Health::NotServing).count(),
            seen.iter().filter(|h| **h == Health::Refused).count(),
        );
        gateway.signal("TERM");
        let status = gateway.wait_exit(DEADLINE + SLACK).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    });
}

#[test]
fn a_drain_that_cannot_finish_is_cut_at_the_deadline() {
    let _serial = serial();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (mut gateway, client) = Gateway::start_with(dir.path(), None, &envs()).await;
        let _held = hold_a_stream_open(client).await;
        let signalled = Instant::now();
        gateway.signal("TERM");
        let status = gateway.wait_exit(DEADLINE + SLACK).await;
        let took = signalled.elapsed();
        let log = gateway.log();
        assert_eq!(status.and_then(|s| s.code()), Some(1), "{status:?}\n{log}");
        assert!(
            took >= DEADLINE - Duration::from_millis(500) && took < DEADLINE + SLACK,
            "exited after {took:?}"
        );
        assert!(log.contains("shutdown: deadline passed"), "{log}");
    });
}

#[test]
fn a_second_sigterm_exits_at_once_with_143() {
    let _serial = serial();
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (mut gateway, client) = Gateway::start_with(dir.path(), None, &envs()).await;
        let _held = hold_a_stream_open(client).await;
        gateway.signal("TERM");
        assert!(
            gateway
                .wait_for_log("shutdown: begins", Duration::from_secs(5))
                .await,
            "{}",
            gateway.log()
        );
        let again = Instant::now();
        gateway.signal("TERM");
        let status = gateway.wait_exit(Duration::from_secs(3)).await;
        let took = again.elapsed();
        let log = gateway.log();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(143),
            "{status:?}\n{log}"
        );
        assert!(
            took < Duration::from_secs(2),
            "exited {took:?} after the second signal"
        );
        assert!(log.contains("second signal, exiting at once"), "{log}");
    });
}

/// A free port for the admin HTTP server, which tests do not use.
fn envs() -> [(&'static str, String); 1] {
    [("SINGLE_WINDOW_ADMIN_LISTEN", "127.0.0.1:0".to_owned())]
}

/// Submits whole shipments (order, payment, waybill, inventory) until `stop`, or until a
/// call fails (the gateway shuts down). Returns what was unexpected: a fresh block not
/// accepted, or a failure other than UNAVAILABLE or a closed connection.
async fn submit_until_refused(
    mut client: GatewayClient<Channel>,
    rules: &Rules,
    seed: u64,
    next: &AtomicU64,
    stop: &AtomicBool,
    accepted: &Mutex<Vec<Accepted>>,
) -> Vec<String> {
    while !stop.load(Ordering::SeqCst) {
        let n = next.fetch_add(1, Ordering::SeqCst);
        for message in shipment_messages(seed, n, rules) {
            match client.submit(request(message.xml.clone())).await {
                Ok(reply) => {
                    let reply = reply.into_inner();
                    if outcome(&reply.blocks[0]) != Outcome::Accepted {
                        return vec![format!("shipment {n}: {reply:?}")];
                    }
                    let ack = Accepted { n, message };
                    accepted.lock().unwrap().push(ack);
                }
                // Refused by the gateway, or not sent: the connection closed under it (the
                // gateway told it to go away) or the port was closed.
                Err(status) if refused(status.code()) => return Vec::new(),
                Err(status) => return vec![format!("shipment {n}: {status:?}")],
            }
        }
    }
    Vec::new()
}

fn refused(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(code, Code::Unavailable | Code::Unknown | Code::Cancelled)
}

/// Checks health every few milliseconds on `channel` (opened before the signal) until `stop`.
fn check_health(channel: Channel, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Health>> {
    tokio::spawn(async move {
        let mut health = HealthClient::new(channel);
        let mut seen = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let check = health.check(HealthCheckRequest {
                service: String::new(),
            });
            let said = match tokio::time::timeout(Duration::from_secs(1), check).await {
                Ok(Ok(reply)) if reply.get_ref().status == ServingStatus::Serving as i32 => {
                    Health::Serving
                }
                Ok(Ok(_)) => Health::NotServing,
                Ok(Err(_)) | Err(_) => Health::Refused,
            };
            if seen.last() != Some(&said) || said != Health::Serving {
                seen.push(said);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen
    })
}

/// Opens a health `Watch` stream on `channel`; the task yields what it heard once the stream
/// ends, or the error that ended it.
async fn watch_health(
    channel: Channel,
) -> tokio::task::JoinHandle<Result<Vec<ServingStatus>, tonic::Status>> {
    let request = HealthCheckRequest {
        service: String::new(),
    };
    let mut stream = HealthClient::new(channel)
        .watch(request)
        .await
        .unwrap()
        .into_inner();
    tokio::spawn(async move {
        let mut heard = Vec::new();
        while let Some(reply) = stream.message().await? {
            heard.push(reply.status());
        }
        Ok(heard)
    })
}

/// Opens a `SubmitStream`, has one request answered, and keeps the stream open: the drain
/// waits for it. Dropping the result ends the stream.
async fn hold_a_stream_open(
    mut client: GatewayClient<Channel>,
) -> (
    tokio::sync::mpsc::Sender<SubmitRequest>,
    tonic::Streaming<single_window::pb::v1::SubmitReply>,
) {
    let rules = Rules::embedded().unwrap();
    let (requests, pending) = tokio::sync::mpsc::channel(4);
    let stream = tokio_stream::wrappers::ReceiverStream::new(pending);
    requests
        .send(request(order_message(0x5D0_0002, 0, &rules)))
        .await
        .unwrap();
    let mut replies = client.submit_stream(stream).await.unwrap().into_inner();
    let first = replies.message().await.unwrap().expect("a reply");
    assert_eq!(outcome(&first.blocks[0]), Outcome::Accepted, "{first:?}");
    (requests, replies)
}
