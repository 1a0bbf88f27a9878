//! Overload: far more concurrent callers than the gateway admits. A real server on a loopback
//! port with a small server-wide limit; each round, `CALLERS` submissions (distinct CEB
//! orders, each committed with an fsync when admitted) start at once over a few connections.
//! Prints, per round and as the median of the rounds, how many were admitted and refused
//! (RESOURCE_EXHAUSTED) and the p50/p99 latency of each: a refusal should take about a
//! round trip, not the time of a queued call. Then the same rounds against a gateway with no
//! effective limit, for the latency every caller sees when nothing is shed.
//!
//! `cargo bench --bench overload`

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use single_window::api::{self, State};
use single_window::ceb::encode::encode;
use single_window::config::Limits;
use single_window::domain::{Document, MessageKind};
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::pb::v1::{self, submit_request::Payload};
use single_window::rules::Rules;
use single_window::store::{Store, StoreConfig};
use single_window::synth;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

/// Calls the server takes at once.
const LIMIT: usize = 16;
/// Callers per round: 20 times the limit.
const CALLERS: usize = 20 * LIMIT;
/// Connections the callers share.
const CONNECTIONS: usize = 4;
const ROUNDS: u64 = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench(LIMIT, 1));
    runtime.block_on(bench(1_000_000, ROUNDS + 1));
}

/// `ROUNDS` rounds against a gateway that takes `limit` calls at once; the orders' seeds start
/// at `first_seed`.
async fn bench(limit: usize, first_seed: u64) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(dir.path(), StoreConfig::default()).expect("the store opens");
    let rules = Arc::new(Rules::embedded().expect("the shipped rules load"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let many = NonZeroUsize::new(1_000_000).unwrap_or(NonZeroUsize::MIN);
    let limit = NonZeroUsize::new(limit).unwrap_or(NonZeroUsize::MIN);
    let limits = Limits {
        max_concurrent_per_connection: limit,
        max_concurrent: limit,
        h2_max_concurrent_streams: many,
        rate_per_enterprise: many,
        burst_per_enterprise: many,
        ..Limits::default()
    };
    let state = Arc::new(State {
        limits,
        ..State::new(rules.clone(), store)
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::run(listener, state, Default::default(), async {
        let _ = stopped.await;
    }));
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        let channel = Endpoint::from_shared(url.clone())
            .expect("a valid url")
            .connect()
            .await
            .expect("the server answers");
        channels.push(channel);
    }
    println!(
        "overload: {CALLERS} concurrent Submit callers over {CONNECTIONS} connections, \
         limit {limit} (per connection and server-wide), {ROUNDS} rounds"
    );
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let requests: Vec<v1::SubmitRequest> = (0..CALLERS)
            .map(|n| order(&rules, first_seed + round, n as u64))
            .collect();
        let figures = run_round(&channels, requests).await;
        println!("round {round}: {figures}");
        rounds.push(figures);
    }
    println!("median: {}", Figures::median(&rounds));
    drop(channels);
    let _ = stop.send(());
    let _ = server.await;
}

/// A new CEB311 order message from the platform.
fn order(rules: &Rules, seed: u64, n: u64) -> v1::SubmitRequest {
    let order = synth::shipment(seed, n, rules).order;
    let guid = synth::message_guid(seed, n, MessageKind::Ceb311);
    let message = synth::message(
        MessageKind::Ceb311,
        &guid,
        synth::PLATFORM,
        vec![Document::Order(order)],
    );
    v1::SubmitRequest {
        sender: String::new(),
        idempotency_key: String::new(),
        payload: Some(Payload::CebXml(encode(&message).into_bytes())),
    }
}

async fn run_round(channels: &[Channel], requests: Vec<v1::SubmitRequest>) -> Figures {
    let calls = requests.into_iter().enumerate().map(|(i, request)| {
        let mut client = GatewayClient::new(channels[i % channels.len()].clone());
        async move {
            let started = Instant::now();
            let answer = client.submit(request).await;
            (answer.map_err(|s| s.code()), started.elapsed())
        }
    });
    let mut admitted = Vec::new();
    let mut refused = Vec::new();
    let mut other = 0;
    for (answer, took) in futures_util::future::join_all(calls).await {
        match answer {
            Ok(_) => admitted.push(took),
            Err(Code::ResourceExhausted) => refused.push(took),
            Err(_) => other += 1,
        }
    }
    Figures {
        admitted: Latencies::of(admitted),
        refused: Latencies::of(refused),
        other,
    }
}

#[derive(Debug, Clone, Copy)]
struct Figures {
    admitted: Latencies,
    refused: Latencies,
    /// Answered neither OK nor RESOURCE_EXHAUSTED.
    other: usize,
}

impl Figures {
    /// Each figure's median over the rounds.
    fn median(rounds: &[Figures]) -> Figures {
        let pick = |f: fn(&Figures) -> Latencies| {
            let all: Vec<Latencies> = rounds.iter().map(f).collect();
            Latencies::median(&all)
        };
        let mut others: Vec<usize> = rounds.iter().map(|r| r.other).collect();
        others.sort_unstable();
        Figures {
            admitted: pick(|r| r.admitted),
            refused: pick(|r| r.refused),
            other: others.get(others.len() / 2).copied().unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "admitted {} | RESOURCE_EXHAUSTED {} | other {}",
            self.admitted, self.refused, self.other
        )
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Latencies {
    count: usize,
    p50: Duration,
    p99: Duration,
}

impl Latencies {
    fn of(mut took: Vec<Duration>) -> Latencies {
        took.sort_unstable();
        let at = |q: usize| {
            let index = (took.len() * q / 100).min(took.len().saturating_sub(1));
            took.get(index).copied().unwrap_or_default()
        };
        Latencies {
            count: took.len(),
            p50: at(50),
            p99: at(99),
        }
    }

    fn median(all: &[Latencies]) -> Latencies {
        let middle = |mut values: Vec<Duration>| {
            values.sort_unstable();
            values.get(values.len() / 2).copied().unwrap_or_default()
        };
        let mut counts: Vec<usize> = all.iter().map(|l| l.count).collect();
        counts.sort_unstable();
        Latencies {
            count: counts.get(counts.len() / 2).copied().unwrap_or(0),
            p50: middle(all.iter().map(|l| l.p50).collect()),
            p99: middle(all.iter().map(|l| l.p99).collect()),
        }
    }
}

impl std::fmt::Display for Latencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>4} calls, p50 {:>8.2?}, p99 {:>8.2?}",
            self.count, self.p50, self.p99
        )
    }
}
