//! The client subcommands against a real gateway in this process (server, dispatcher, the
//! simulated agencies releasing everything, a sled store in a temporary folder), called as the
//! binary calls them: `submit` with its journal (a re-run sends nothing twice; a changed file
//! is sent again), `status` of a released shipment, `watch --limit`, and their exit codes.

#[path = "support/node.rs"]
#[allow(dead_code)]
mod node;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use node::start;
use std::path::Path;
use std::time::Duration;

use single_window::cli::{self, GatewayArgs, StatusArgs, SubmitArgs, WatchArgs};
use single_window::pb::v1;
use single_window::rules::Rules;
use single_window::synth;

/// The official samples: 16 messages, of which some blocks are rejected by the rules.
const SAMPLES: &str = "../shared/ceb/import";

fn submit_args(server: &str, journal: &Path, files: &[&Path]) -> SubmitArgs {
    SubmitArgs {
        gateway: GatewayArgs {
            server: server.to_owned(),
            tls: Default::default(),
        },
        sender: String::new(),
        journal: journal.to_owned(),
        no_journal: false,
        quiet: true,
        files: files.iter().map(|f| f.to_path_buf()).collect(),
    }
}

async fn submit(args: &SubmitArgs) -> (i32, String) {
    let mut out = Vec::new();
    let code = cli::submit::run(args, &mut out).await.unwrap();
    (code, String::from_utf8(out).unwrap())
}

/// A loopback address where nothing listens.
async fn nowhere() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// The per-file lines of `submit`'s output (`path: …`), by file name.
fn file_lines(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|line| {
            let (path, rest) = line.split_once(".xml: ")?;
            let name = Path::new(path).file_name()?.to_str()?.to_owned();
            Some((format!("{name}.xml"), rest.to_owned()))
        })
        .collect()
}

/// The row `name` of the summary table, as numbers: files, accepted, repeat, rejected,
/// conflict, ignored, failed.
fn row(out: &str, name: &str) -> Vec<usize> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} row: {out}"));
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Copies the samples into a new folder.
fn copy_samples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(SAMPLES).unwrap() {
        let path = entry.unwrap().path();
        let copy = dir.path().join(path.file_name().unwrap());
        std::fs::write(&copy, std::fs::read(&path).unwrap()).unwrap();
    }
    dir
}

/// How long a submitted shipment may take to be released.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_prints_each_file_and_a_summary_and_a_rerun_sends_nothing_twice() {
    let run = start().await;
    let work = tempfile::tempdir().unwrap();
    let journal = work.path().join("submit.journal");
    let args = submit_args(&run.node.url, &journal, &[Path::new(SAMPLES)]);
    let (code, out) = submit(&args).await;
    // Some of the official samples break the rules (test identity numbers, packNo 6000…).
    assert_eq!(code, cli::submit::EXIT_REJECTED, "{out}");
    let lines = file_lines(&out);
    assert_eq!(lines.len(), 16, "{out}");
    let outcome = |name: &str| {
        lines
            .iter()
            .find(|(file, _)| file == name)
            .map(|(_, rest)| rest.as_str())
            .unwrap_or_else(|| panic!("{name}: {out}"))
    };
    assert_eq!(outcome("CEB711Message.xml"), "1 block: 1 accepted");
    assert_eq!(outcome("CEB311Message.xml"), "6 blocks: 6 rejected");
    assert!(
        out.contains("  block 1 [PACK-NO] LogisticsHead/packNo: "),
        "violations as before: {out}"
    );
    let submitted = row(&out, "submitted");
    assert_eq!(submitted[0], 16, "{out}");
    let blocks: usize = submitted[1..6].iter().sum();
    assert_eq!(blocks, 143, "every block of the samples: {out}");
    assert!(submitted[1] > 0 && submitted[3] > 0, "{out}");
    assert_eq!(row(&out, "skipped"), [0; 7]);
    assert_eq!(row(&out, "total"), submitted);
    let journal_lines = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert_eq!(journal_lines, 16);

    // Again with the same journal: every file skipped, the outcome as recorded, nothing sent.
    let stored = run.node.state.store.stats().commits;
    let (again_code, again) = submit(&args).await;
    assert_eq!(again_code, code, "a re-run exits as the run did: {again}");
    let again_lines = file_lines(&again);
    assert_eq!(again_lines.len(), 16, "{again}");
    for ((file, first), (same_file, second)) in lines.iter().zip(&again_lines) {
        assert_eq!(file, same_file);
        assert_eq!(
            second,
            &format!("skipped (already submitted): {first}"),
            "{again}"
        );
    }
    assert_eq!(row(&again, "submitted"), [0; 7], "{again}");
    assert_eq!(row(&again, "skipped"), submitted, "{again}");
    assert_eq!(run.node.state.store.stats().commits, stored);
    // Nothing is sent at all: the same run against no gateway gives the same answer.
    let offline = SubmitArgs {
        gateway: GatewayArgs {
            server: nowhere().await,
            ..args.gateway.clone()
        },
        ..args.clone()
    };
    let (offline_code, offline_out) = submit(&offline).await;
    assert_eq!((offline_code, offline_out.as_str()), (code, again.as_str()));

    // A copy of the samples is other paths: sent, and recognised by the gateway.
    let copy = copy_samples();
    let copy_args = submit_args(&run.node.url, &journal, &[copy.path()]);
    let (_, out) = submit(&copy_args).await;
    assert_eq!(outcome_of(&out, "CEB711Message.xml"), "1 block: 1 repeat");
    assert_eq!(row(&out, "submitted")[0], 16, "{out}");
    // One file changed since: only it is sent again.
    let changed = copy.path().join("CEB711Message.xml");
    let text = std::fs::read_to_string(&changed).unwrap();
    let new_guid = "5923DGGB-9940-415B-B666-C09BOO7F40B3";
    std::fs::write(
        &changed,
        text.replace("5923DGGB-9940-415B-B666-C09BOO7F40B2", new_guid),
    )
    .unwrap();
    let (_, out) = submit(&copy_args).await;
    assert_eq!(outcome_of(&out, "CEB711Message.xml"), "1 block: 1 accepted");
    let skipped = file_lines(&out)
        .iter()
        .filter(|(_, rest)| rest.starts_with("skipped (already submitted)"))
        .count();
    assert_eq!(skipped, 15, "{out}");
    assert_eq!(row(&out, "submitted")[..2], [1, 1], "{out}");
    run.node.stop().await.unwrap();
}

fn outcome_of(out: &str, name: &str) -> String {
    file_lines(out)
        .into_iter()
        .find(|(file, _)| file == name)
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{name}: {out}"))
}

fn synthetic_key(seed: u64, n: u64) -> v1::ShipmentKey {
    v1::ShipmentKey {
        ebp_code: synth::PLATFORM.to_owned(),
        order_no: format!("SW{seed:04}{n:012}"),
    }
}

/// Shipment `n` of run `seed` as four files in `dir` (order, payment, waybill, inventory).
fn write_shipment(dir: &Path, seed: u64, n: u64) {
    let rules = Rules::embedded().unwrap();
    for (i, message) in shipments::shipment_messages(seed, n, &rules)
        .into_iter()
        .enumerate()
    {
        let file = dir.join(format!("{n:03}-{i}.xml"));
        std::fs::write(file, message.xml).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_exit_codes_accepted_0_unreachable_and_undecodable_2_and_a_resume() {
    let run = start().await;
    let work = tempfile::tempdir().unwrap();
    let journal = work.path().join("journal");
    let files = work.path().join("shipments");
    std::fs::create_dir(&files).unwrap();
    for n in 0..2 {
        write_shipment(&files, 81, n);
    }
    // The gateway unreachable: every file left for the next run, nothing journaled.
    let offline = submit_args(&nowhere().await, &journal, &[&files]);
    let (code, out) = submit(&offline).await;
    assert_eq!(code, cli::submit::EXIT_UNREADABLE, "{out}");
    assert!(out.contains(": not answered: Unavailable"), "{out}");
    assert!(
        out.contains("7 more file(s) not sent: the gateway is unavailable"),
        "{out}"
    );
    assert_eq!(row(&out, "submitted"), [8, 0, 0, 0, 0, 0, 8], "{out}");
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), "");
    // The next run sends them all: every block accepted, exit 0.
    let args = submit_args(&run.node.url, &journal, &[&files]);
    let (code, out) = submit(&args).await;
    assert_eq!(code, cli::submit::EXIT_CLEAN, "{out}");
    assert_eq!(row(&out, "submitted"), [8, 8, 0, 0, 0, 0, 0], "{out}");
    // A skipped file counts as answered: still 0.
    let (code, out) = submit(&args).await;
    assert_eq!(code, cli::submit::EXIT_CLEAN, "{out}");
    assert_eq!(row(&out, "skipped"), [8, 8, 0, 0, 0, 0, 0], "{out}");

    // Undecodable and unreadable files: 2, beside a clean one.
    let broken = work.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"",
    )
    .unwrap();
    let missing = work.path().join("missing.xml");
    let args = submit_args(
        &run.node.url,
        &journal,
        &[&broken, &missing, &files.join("000-0.xml")],
    );
    let (code, out) = submit(&args).await;
    assert_eq!(code, cli::submit::EXIT_UNREADABLE, "{out}");
    assert!(out.contains("broken.xml: undecodable: "), "{out}");
    assert!(out.contains("missing.xml: unreadable: "), "{out}");
    assert!(
        out.contains("000-0.xml: skipped (already submitted): 1 block: 1 accepted"),
        "{out}"
    );
    // The gateway's refusal of an undecodable file is final: journaled, and still exit 2.
    let (code, out) = submit(&args).await;
    assert_eq!(code, cli::submit::EXIT_UNREADABLE, "{out}");
    assert!(
        out.contains("broken.xml: skipped (already submitted): undecodable: "),
        "{out}"
    );
    assert_eq!(row(&out, "skipped"), [2, 1, 0, 0, 0, 0, 1], "{out}");
    assert_eq!(row(&out, "submitted"), [1, 0, 0, 0, 0, 0, 1], "{out}");
    // Without a journal everything is sent: repeats now.
    let args = SubmitArgs {
        no_journal: true,
        journal: work.path().join("never-written"),
        ..submit_args(&run.node.url, &journal, &[&files])
    };
    let (code, out) = submit(&args).await;
    assert_eq!(code, cli::submit::EXIT_CLEAN, "{out}");
    assert_eq!(row(&out, "submitted"), [8, 0, 8, 0, 0, 0, 0], "{out}");
    assert!(!work.path().join("never-written").exists());
    run.node.stop().await.unwrap();
}

fn status_args(server: &str, shipment: &str, json: bool) -> StatusArgs {
    StatusArgs {
        gateway: GatewayArgs {
            server: server.to_owned(),
            tls: Default::default(),
        },
        shipment: Some(shipment.to_owned()),
        ebp: None,
        order_no: None,
        json,
    }
}

async fn status(args: &StatusArgs) -> (i32, String) {
    let mut out = Vec::new();
    let code = cli::status::run(args, &mut out).await.unwrap();
    (code, String::from_utf8(out).unwrap())
}

async fn watch(args: &WatchArgs) -> (i32, String) {
    let mut out = Vec::new();
    let code = tokio::time::timeout(Duration::from_secs(60), cli::watch::run(args, &mut out))
        .await
        .expect("watch --limit ends")
        .unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_released_shipment_and_watch_streams_its_events_in_order() {
    let run = start().await;
    let work = tempfile::tempdir().unwrap();
    for n in 0..2 {
        write_shipment(work.path(), 82, n);
    }
    let args = SubmitArgs {
        no_journal: true,
        ..submit_args(&run.node.url, &work.path().join("j"), &[work.path()])
    };
    let (code, out) = submit(&args).await;
    assert_eq!(code, 0, "{out}");
    let key = synthetic_key(82, 1);
    let view = shipments::released(run.channel.clone(), &key, PATIENCE).await;
    shipments::released(run.channel.clone(), &synthetic_key(82, 0), PATIENCE).await;
    let name = format!("{}/{}", key.ebp_code, key.order_no);

    let (code, out) = status(&status_args(&run.node.url, &name, false)).await;
    assert_eq!(code, cli::status::EXIT_FOUND, "{out}");
    assert!(out.contains(&format!("shipment     {name}\n")), "{out}");
    assert!(out.contains("state        released\n"), "{out}");
    for agency in ["customs", "inspection", "fx", "tax"] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("  {agency} "))),
            "{agency}: {out}"
        );
    }
    assert!(out.contains("800 "), "customs' release receipt: {out}");
    for step in ["→ complete", "→ routed", "→ released"] {
        assert!(out.contains(step), "{step}: {out}");
    }
    for kind in ["order", "payment", "waybill", "inventory"] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("  {kind} "))),
            "{kind}: {out}"
        );
    }
    // The same as JSON, and with --ebp/--order-no.
    let json_args = StatusArgs {
        shipment: None,
        ebp: Some(key.ebp_code.clone()),
        order_no: Some(key.order_no.clone()),
        ..status_args(&run.node.url, "", true)
    };
    let (code, out) = status(&json_args).await;
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["state"], "released");
    assert_eq!(json["shipment"]["order_no"], key.order_no.as_str());
    assert_eq!(json["agencies"].as_array().unwrap().len(), 4, "{json}");
    assert_eq!(
        json["history"].as_array().unwrap().len(),
        view.history.len()
    );
    assert_eq!(json["documents"].as_array().unwrap().len(), 4, "{json}");
    assert!(json["inventory_receipt_xml"]
        .as_str()
        .unwrap()
        .contains("CEB622Message"));
    // Not found: 3; unreachable: 2.
    let unknown = format!("{}/NO-SUCH-ORDER", key.ebp_code);
    let (code, out) = status(&status_args(&run.node.url, &unknown, false)).await;
    assert_eq!(code, cli::status::EXIT_NOT_FOUND, "{out}");
    assert!(out.contains("not found"), "{out}");
    let (code, _) = status(&status_args(&nowhere().await, &name, false)).await;
    assert_eq!(code, cli::status::EXIT_UNREACHABLE);

    // watch: --limit events, in sequence order, from the first on file.
    let events = run.node.state.store.events_after(0, 10_000).unwrap().len();
    assert!(events >= 6, "two released shipments: {events} events");
    let watch_args = WatchArgs {
        gateway: GatewayArgs {
            server: run.node.url.clone(),
            tls: Default::default(),
        },
        after: 0,
        enterprise: String::new(),
        json: true,
        limit: Some(5),
    };
    let (code, out) = watch(&watch_args).await;
    assert_eq!(code, cli::watch::EXIT_OK, "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    let sequences: Vec<u64> = lines
        .iter()
        .map(|l| l["sequence"].as_u64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    for line in &lines {
        assert_eq!(line["shipment"]["ebp_code"], synth::PLATFORM, "{line}");
        assert!(line["at_unix_ms"].as_u64().unwrap() > 0, "{line}");
    }
    // Resumed after the third: the fourth and fifth again, as text.
    let resumed = WatchArgs {
        after: sequences[2],
        json: false,
        limit: Some(2),
        ..watch_args.clone()
    };
    let (code, out) = watch(&resumed).await;
    assert_eq!(code, 0, "{out}");
    let again: Vec<u64> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(again, sequences[3..5], "{out}");
    assert!(out.lines().all(|l| l.contains(" → ")), "{out}");
    // Every event, through the platform's filter; the last ones are releases.
    let everything = WatchArgs {
        enterprise: synth::PLATFORM.to_owned(),
        limit: Some(u64::try_from(events).unwrap()),
        ..watch_args.clone()
    };
    let (_, out) = watch(&everything).await;
    assert_eq!(out.lines().count(), events, "{out}");
    assert!(out.contains("\"state\":\"released\""), "{out}");
    // A gateway that is not there: 2.
    let (code, _) = watch(&WatchArgs {
        gateway: GatewayArgs {
            server: nowhere().await,
            ..watch_args.gateway.clone()
        },
        ..watch_args
    })
    .await;
    assert_eq!(code, cli::watch::EXIT_UNREACHABLE);
    run.node.stop().await.unwrap();
}
