//! `single-window load`: a load generator of valid, consistent shipments (order, payment,
//! waybill, inventory as CEB XML, one message each), submitted with a fixed number in flight;
//! prints durable accepts per second, latency percentiles and commits per fsync, and, from the
//! gateway's status events, shipments released per second and the time from a shipment's
//! first submission to its release.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::LoadArgs;
use crate::api::State;
use crate::ceb::encode::encode;
use crate::node::Node;
use crate::pb::v1;
use crate::pb::v1::gateway_client::GatewayClient;
use crate::rules::Rules;
use crate::sim::{Mix, SimConfig};
use crate::store::{Store, StoreConfig};
use crate::synth;

mod release;

/// Runs the load and prints the report.
pub async fn run(args: &LoadArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let rules = Rules::embedded()?;
    let (server, embedded) = match &args.server {
        Some(url) => (url.clone(), None),
        None => {
            let (url, embedded) = start_embedded(&rules).await?;
            (url, Some(embedded))
        }
    };
    let messages = Arc::new(build_messages(args.shipments, args.seed, &rules));
    // The embedded gateway is plaintext (http://): the TLS flags only matter for --server.
    let channel = args.tls.endpoint(&server)?.connect().await?;
    writeln!(
        out,
        "load: {} messages ({} shipments × 4 documents), {} in flight, against {}",
        messages.len(),
        args.shipments,
        args.in_flight,
        if embedded.is_some() {
            "an embedded gateway (temporary store)"
        } else {
            &server
        }
    )?;
    let started = Instant::now();
    let releases =
        release::Watch::start(channel.clone(), args.seed, args.shipments, started).await?;
    let backlog = release::Backlog::sample(embedded.as_ref().map(|(store, ..)| store.clone()));
    let first_sent = releases.first_sent();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.in_flight.max(1) {
        let (messages, next) = (messages.clone(), next.clone());
        let first_sent = first_sent.clone();
        let mut client = GatewayClient::new(channel.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let (mut accepted, mut failed) = (0u64, 0u64);
            let mut first_error: Option<tonic::Status> = None;
            let mut other: Vec<v1::BlockOutcome> = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(xml) = messages.get(i) else { break };
                let request = v1::SubmitRequest {
                    sender: String::new(),
                    idempotency_key: String::new(),
                    payload: Some(v1::submit_request::Payload::CebXml(xml.clone())),
                };
                let t = Instant::now();
                first_sent.sent(i / 4, t);
                match client.submit(request).await {
                    Ok(reply) => {
                        latencies.push(t.elapsed());
                        for block in reply.into_inner().blocks {
                            if block.outcome == v1::Outcome::Accepted as i32 {
                                accepted += 1;
                            } else {
                                other.push(block);
                            }
                        }
                    }
                    Err(status) => {
                        failed += 1;
                        first_error.get_or_insert(status);
                    }
                }
            }
            (latencies, accepted, failed, other, first_error)
        });
    }
    let (mut latencies, mut accepted, mut failed, mut other) = (Vec::new(), 0, 0, Vec::new());
    let mut first_error = None;
    while let Some(done) = workers.join_next().await {
        let (l, a, f, o, e) = done?;
        latencies.extend(l);
        accepted += a;
        failed += f;
        other.extend(o);
        first_error = first_error.or(e);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| -> Duration {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    writeln!(
        out,
        "accepted {accepted} declarations in {:.2} s: {:.0} durable accepts/s; {failed} failed",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64()
    )?;
    writeln!(
        out,
        "latency per message: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3
    )?;
    let released = releases.finish(args.release_wait).await;
    released.report(out, accepted, elapsed)?;
    if let Some((store, node, dir)) = embedded {
        let stats = store.stats();
        writeln!(
            out,
            "store: {} commits, {} fsyncs, {:.1} commits per fsync",
            stats.commits,
            stats.fsyncs,
            stats.commits as f64 / stats.fsyncs.max(1) as f64
        )?;
        writeln!(
            out,
            "outbox backlog: max {} rows during the run, {} left at the end",
            backlog.max(),
            backlog.now(&store)
        )?;
        node.stop().await?;
        store.close()?;
        drop(dir);
    }
    if let Some(status) = &first_error {
        writeln!(
            out,
            "the first failed call: {:?}: {}",
            status.code(),
            status.message()
        )?;
    }
    if let Some(first) = other.first() {
        writeln!(
            out,
            "{} blocks not accepted (outcomes {:?}); the first: {:?}",
            other.len(),
            other
                .iter()
                .map(|b| b.outcome)
                .collect::<std::collections::BTreeSet<_>>(),
            first
        )?;
    }
    Ok(if failed == 0 && other.is_empty() {
        0
    } else {
        1
    })
}

/// An embedded gateway: the store and the running node (server, dispatcher, simulated
/// agencies at zero latency), and the temporary folder they live in.
type Embedded = (Store, Node, TempDir);

/// A folder removed when dropped: the embedded store is thrown away after the run.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start_embedded(rules: &Rules) -> anyhow::Result<(String, Embedded)> {
    let dir =
        TempDir(std::env::temp_dir().join(format!("single-window-load-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0)?;
    let store = Store::open(&dir.0, StoreConfig::default())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let state = Arc::new(State::new(Arc::new(rules.clone()), store.clone()));
    let config = crate::config::Config::default();
    // Every agency passes everything: the figure is the fan-out's speed, not the mix.
    let sim = SimConfig {
        mix: Mix::RELEASE_ONLY,
        ..crate::node::embedded_sim()
    };
    let node = Node::start(listener, state, &config.agencies, config.dispatch(), sim).await?;
    Ok((node.url.clone(), (store, node, dir)))
}

/// Four CEB messages per shipment (order, payment, waybill, inventory), in that order.
fn build_messages(shipments: usize, seed: u64, rules: &Rules) -> Vec<Vec<u8>> {
    (0..shipments as u64)
        .flat_map(|n| synth::shipment_messages(seed, n, rules))
        .map(|(_, message)| encode(&message).into_bytes())
        .collect()
}
