//! The agency simulator alone, over real gRPC on loopback: in-process (`sim::spawn`) and as the
//! `single-window agency-sim` child process, reporting to a small in-test `Receipts` server that
//! records what it gets (the stand-in for the gateway).

#[path = "support/recorder.rs"]
mod recorder;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use recorder::Recorder;
use single_window::pb::v1::{self, agency_endpoint_client::AgencyEndpointClient};
use single_window::sim::{
    self, parse::parse_rule, read_ledger, summarize, Decision, LedgerLine, LedgerSummary, Mix,
    SimConfig,
};
use tokio::net::TcpListener;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// How long receipts may take to arrive.
const PATIENCE: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Deliveries.

fn delivery(message_id: &str, agency: &str, kind: &str, order_no: &str) -> v1::Delivery {
    v1::Delivery {
        message_id: message_id.to_owned(),
        agency: agency.to_owned(),
        shipment: Some(v1::ShipmentKey {
            ebp_code: "3301960001".to_owned(),
            order_no: order_no.to_owned(),
        }),
        kind: kind.to_owned(),
        attempt: 1,
        ..v1::Delivery::default()
    }
}

fn inventory(message_id: &str, order_no: &str) -> v1::Delivery {
    delivery(message_id, "customs", "inventory", order_no)
}

async fn client(url: &str) -> AgencyEndpointClient<Channel> {
    AgencyEndpointClient::connect(url.to_owned()).await.unwrap()
}

/// Delivers; the ack's `duplicate`, or the refusal's code.
async fn deliver(
    client: &mut AgencyEndpointClient<Channel>,
    d: v1::Delivery,
) -> Result<bool, Code> {
    client
        .deliver(d)
        .await
        .map(|ack| ack.into_inner().duplicate)
        .map_err(|status| status.code())
}

fn rules(items: &[&str]) -> Vec<sim::Rule> {
    items.iter().map(|r| parse_rule(r).unwrap()).collect()
}

/// The decisions in a ledger, by message id, in order.
fn decisions(path: &Path) -> Vec<(String, Decision)> {
    read_ledger(path)
        .unwrap()
        .into_iter()
        .filter_map(|line| match line {
            LedgerLine::Delivery(d) => Some((d.message_id, d.decision?)),
            LedgerLine::Reported(_) => None,
        })
        .collect()
}

fn statuses(receipts: &[(String, i32)]) -> Vec<i32> {
    receipts.iter().map(|(_, status)| *status).collect()
}

// ---------------------------------------------------------------------------------------------
// In-process.

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_is_recorded_decided_and_reported_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let (recorder, gateway) = Recorder::start().await;
    let embedded = sim::spawn(SimConfig {
        gateway: Some(gateway),
        hold_ms: 150,
        rules: rules(&["R-=release", "I-=inspect"]),
        ledger: Some(ledger.clone()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;

    assert_eq!(
        deliver(&mut agency, inventory("m-r", "R-1")).await,
        Ok(false)
    );
    let released = recorder.wait("m-r", 2).await;
    assert_eq!(
        released,
        [("m-r#1".to_owned(), 120), ("m-r#2".to_owned(), 800)]
    );

    let started = Instant::now();
    assert_eq!(
        deliver(&mut agency, inventory("m-i", "I-1")).await,
        Ok(false)
    );
    let inspected = recorder.wait("m-i", 3).await;
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the hold was kept"
    );
    assert_eq!(statuses(&inspected), [120, 500, 800]);
    let times: Vec<u64> = recorder
        .all()
        .iter()
        .filter(|r| r.message_id == "m-i")
        .map(|r| r.at_unix_ms)
        .collect();
    assert_eq!(times[0], times[1]);
    assert_eq!(times[2], times[1] + 150);
    let receipt = &recorder.all()[0];
    assert_eq!(receipt.agency, "customs");
    assert_eq!(receipt.return_info, "accepted into the customs system");

    embedded.stop().await.unwrap();
    assert_eq!(
        decisions(&ledger),
        [
            ("m-r".to_owned(), Decision::Release),
            ("m-i".to_owned(), Decision::Inspect)
        ]
    );
    let summary = summarize(&read_ledger(&ledger).unwrap());
    assert_eq!(
        summary,
        LedgerSummary {
            taken: 2,
            messages: 2,
            duplicates: 0,
            effective_duplicates: 0,
            reported: 5,
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeat_is_a_duplicate_and_resends_the_same_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let (recorder, gateway) = Recorder::start().await;
    let embedded = sim::spawn(SimConfig {
        gateway: Some(gateway),
        ledger: Some(ledger.clone()),
        rules: rules(&["D-=detain"]),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;
    assert_eq!(
        deliver(&mut agency, inventory("m-1", "D-1")).await,
        Ok(false)
    );
    let first = recorder.wait("m-1", 2).await;
    assert_eq!(statuses(&first), [120, 501]);

    let again = v1::Delivery {
        attempt: 2,
        ..inventory("m-1", "D-1")
    };
    assert_eq!(deliver(&mut agency, again).await, Ok(true));
    let both = recorder.wait("m-1", 4).await;
    assert_eq!(both[2..], first[..], "the same receipt ids, in order");

    embedded.stop().await.unwrap();
    let lines = read_ledger(&ledger).unwrap();
    let summary = summarize(&lines);
    assert_eq!((summary.taken, summary.messages), (2, 1));
    assert_eq!((summary.duplicates, summary.effective_duplicates), (1, 0));
    assert_eq!(decisions(&ledger).len(), 1, "no second decision");
    let LedgerLine::Delivery(repeat) = &lines
        .iter()
        .filter(|l| matches!(l, LedgerLine::Delivery(_)))
        .nth(1)
        .unwrap()
    else {
        unreachable!()
    };
    assert!(repeat.duplicate);
    assert_eq!(repeat.attempt, 2);
    assert_eq!(repeat.decision, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_force_each_decision_for_each_agency() {
    let (recorder, gateway) = Recorder::start().await;
    let embedded = sim::spawn(SimConfig {
        gateway: Some(gateway),
        hold_ms: 20,
        // Without the rules everything would be rejected.
        mix: Mix {
            release: 0.0,
            inspect: 0.0,
            detain: 0.0,
            reject: 1.0,
        },
        rules: rules(&[
            "REL=release",
            "INS=inspect",
            "DET=detain",
            "REJ=reject",
            "REL-INS=inspect",
            "NO=refuse",
        ]),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;
    let cases: &[(&str, &str, &str, &[i32])] = &[
        ("customs", "inventory", "REL-1", &[120, 800]),
        ("customs", "inventory", "INS-1", &[120, 500, 800]),
        ("customs", "inventory", "DET-1", &[120, 501]),
        ("customs", "inventory", "REJ-1", &[120, 100]),
        ("customs", "inventory", "REL-INS-1", &[120, 500, 800]),
        ("customs", "inventory", "OTHER-1", &[120, 100]),
        ("inspection", "inspection", "REL-1", &[800]),
        ("inspection", "inspection", "INS-1", &[501, 800]),
        ("inspection", "inspection", "DET-1", &[501]),
        ("inspection", "inspection", "REJ-1", &[100]),
        ("tax", "tax", "REL-1", &[120]),
        ("tax", "tax", "INS-1", &[120]),
        ("tax", "tax", "REJ-1", &[100]),
        ("fx", "fx", "DET-1", &[800]),
        ("fx", "fx", "REJ-1", &[100]),
    ];
    for (agency_name, kind, order_no, _) in cases {
        let id = format!("{agency_name}:{order_no}");
        let d = delivery(&id, agency_name, kind, order_no);
        assert_eq!(deliver(&mut agency, d).await, Ok(false), "{id}");
    }
    for (agency_name, _, order_no, want) in cases {
        let id = format!("{agency_name}:{order_no}");
        let got = recorder.wait(&id, want.len()).await;
        assert_eq!(statuses(&got), *want, "{id}");
    }
    // A cancellation is taken and decides nothing.
    let cancel = delivery("customs:cancel", "customs", "cancel", "REL-2");
    assert_eq!(deliver(&mut agency, cancel).await, Ok(false));
    // A refused shipment is refused on every attempt, of every agency.
    for name in ["customs", "tax"] {
        let d = delivery(&format!("{name}:NO-1"), name, name, "NO-1");
        assert_eq!(deliver(&mut agency, d).await, Err(Code::FailedPrecondition));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(recorder.of("customs:cancel").is_empty());
    assert!(recorder.of("customs:NO-1").is_empty());
    embedded.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_and_bad_deliveries_give_their_codes_and_record_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (recorder, gateway) = Recorder::start().await;
    type Fault = fn(&mut SimConfig);
    let cases: [(&str, Fault, Code); 3] = [
        (
            "unavailable",
            |c| c.faults.unavailable = 1.0,
            Code::Unavailable,
        ),
        (
            "refuse",
            |c| c.faults.refuse = 1.0,
            Code::FailedPrecondition,
        ),
        (
            "timeout",
            |c| c.faults.timeout = 1.0,
            Code::DeadlineExceeded,
        ),
    ];
    for (name, fault, code) in cases {
        let ledger = dir.path().join(format!("{name}.jsonl"));
        let mut config = SimConfig {
            gateway: Some(gateway.clone()),
            ledger: Some(ledger.clone()),
            ..SimConfig::default()
        };
        fault(&mut config);
        let embedded = sim::spawn(config).await.unwrap();
        let mut agency = client(&embedded.url).await;
        for attempt in 1..=3 {
            let mut request = Request::new(v1::Delivery {
                attempt,
                ..inventory(&format!("{name}-1"), "SO-1")
            });
            request.set_timeout(Duration::from_millis(300));
            let got = agency.deliver(request).await.map_err(|s| s.code()).err();
            // tonic answers a request past its grpc-timeout with CANCELLED ("Timeout expired").
            let got = got.map(|c| match c {
                Code::Cancelled => Code::DeadlineExceeded,
                other => other,
            });
            assert_eq!(got, Some(code), "{name} attempt {attempt}");
        }
        let started = Instant::now();
        embedded.stop().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: stop is quick"
        );
        assert_eq!(
            read_ledger(&ledger).unwrap(),
            [],
            "{name}: nothing recorded"
        );
    }

    let ledger = dir.path().join("bad.jsonl");
    let embedded = sim::spawn(SimConfig {
        agencies: vec![single_window::domain::Agency::Customs],
        gateway: Some(gateway),
        ledger: Some(ledger.clone()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;
    let bad = [
        (
            delivery("b-1", "police", "inventory", "SO-1"),
            Code::FailedPrecondition,
        ),
        (
            delivery("b-2", "tax", "tax", "SO-1"),
            Code::FailedPrecondition,
        ),
        (
            delivery("", "customs", "inventory", "SO-1"),
            Code::InvalidArgument,
        ),
        (
            delivery("b-3", "", "inventory", "SO-1"),
            Code::InvalidArgument,
        ),
    ];
    for (d, code) in bad {
        let id = d.message_id.clone();
        assert_eq!(deliver(&mut agency, d).await, Err(code), "{id:?}");
    }
    // No shipment at all is still a delivery.
    let bare = v1::Delivery {
        shipment: None,
        ..inventory("b-4", "")
    };
    assert_eq!(deliver(&mut agency, bare).await, Ok(false));
    embedded.stop().await.unwrap();
    assert_eq!(summarize(&read_ledger(&ledger).unwrap()).taken, 1);
    assert!(recorder.of("b-1").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_are_retried_until_the_gateway_comes_up() {
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let embedded = sim::spawn(SimConfig {
        gateway: Some(format!("http://{port}")),
        rules: rules(&["SO=release"]),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;
    for i in 0..5 {
        let id = format!("late-{i}");
        assert_eq!(
            deliver(&mut agency, inventory(&id, "SO-1")).await,
            Ok(false)
        );
    }
    // Several tries fail meanwhile (100, 200, 400 ms …).
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (recorder, _) = Recorder::serve(TcpListener::bind(port).await.unwrap());
    for i in 0..5 {
        let got = recorder.wait(&format!("late-{i}"), 2).await;
        assert_eq!(statuses(&got), [120, 800]);
    }
    embedded.stop().await.unwrap();

    // A gateway named only after the start (how the gateway embeds its agencies).
    let embedded = sim::spawn(SimConfig {
        gateway: None,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;
    let d = delivery("named-later", "fx", "fx", "SO-1");
    assert_eq!(deliver(&mut agency, d).await, Ok(false));
    let (recorder, gateway) = Recorder::start().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(embedded.set_gateway("not a url").is_err());
    embedded.set_gateway(&gateway).unwrap();
    assert_eq!(recorder.wait("named-later", 1).await.len(), 1);
    embedded.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// The child process.

/// `single-window agency-sim` as a child process; killed (SIGKILL) on drop.
struct SimProcess {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl SimProcess {
    fn start(args: &[&str]) -> SimProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_single-window"))
            .arg("agency-sim")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("SINGLE_WINDOW_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let addr = listening_address(&line);
                lines
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(line);
                if let Some(addr) = addr {
                    let _ = found.send(addr);
                }
            }
        });
        let addr = address
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening line: {:?}", log.lock().unwrap()));
        SimProcess {
            child,
            url: format!("http://{addr}"),
            log,
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in `single-window agency-sim: serving … on ADDR (gateway …)`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("single-window agency-sim: serving ")?;
    let (_, after) = rest.split_once(" on ")?;
    after.split_whitespace().next()?.parse().ok()
}

/// A spread of decisions, so that a changed decision would show.
const MIX: [&str; 8] = [
    "--release",
    "0.4",
    "--inspect",
    "0.2",
    "--detain",
    "0.2",
    "--reject",
    "0.2",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_process_decides_the_same_after_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let ledger_arg = ledger.to_str().unwrap();
    let (recorder, gateway) = Recorder::start().await;
    let mut args = vec!["--seed", "7", "--hold-ms", "0", "--ledger", ledger_arg];
    args.extend(MIX);
    args.extend(["--gateway", &gateway]);
    let agencies = ["customs", "inspection", "fx", "tax"];
    let message = |i: usize| {
        let name = agencies[i % 4];
        delivery(&format!("p-{i}"), name, name, &format!("SO-{i}"))
    };

    let first = SimProcess::start(&args);
    assert!(
        first.log.lock().unwrap()[0].contains("serving customs,inspection,fx,tax on 127.0.0.1:")
    );
    let mut agency = client(&first.url).await;
    for i in 0..40 {
        assert_eq!(deliver(&mut agency, message(i)).await, Ok(false));
    }
    let before = decisions(&ledger);
    assert_eq!(before.len(), 40);
    let kinds: std::collections::HashSet<Decision> = before.iter().map(|(_, d)| *d).collect();
    assert!(kinds.len() >= 3, "a spread of decisions: {kinds:?}");
    drop(first); // SIGKILL

    let second = SimProcess::start(&args);
    let mut agency = client(&second.url).await;
    for i in 0..40 {
        let again = v1::Delivery {
            attempt: 2,
            ..message(i)
        };
        assert_eq!(deliver(&mut agency, again).await, Ok(true), "p-{i}");
    }
    for i in 40..60 {
        assert_eq!(deliver(&mut agency, message(i)).await, Ok(false));
    }
    let after = decisions(&ledger);
    assert_eq!(
        after[..40],
        before[..],
        "no new decision for the old messages"
    );
    let summary = summarize(&read_ledger(&ledger).unwrap());
    assert_eq!((summary.messages, summary.duplicates), (60, 40));
    assert_eq!(summary.effective_duplicates, 0);
    drop(second);

    // The same seed decides the same without any ledger, in-process.
    let embedded = sim::spawn(SimConfig {
        seed: 7,
        mix: Mix {
            release: 0.4,
            inspect: 0.2,
            detain: 0.2,
            reject: 0.2,
        },
        gateway: Some(gateway),
        ledger: Some(dir.path().join("fresh.jsonl")),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut agency = client(&embedded.url).await;
    for i in 0..60 {
        assert_eq!(deliver(&mut agency, message(i)).await, Ok(false));
    }
    embedded.stop().await.unwrap();
    assert_eq!(decisions(&dir.path().join("fresh.jsonl")), after);
    assert!(!recorder.all().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_left_unreported_by_a_killed_process_are_sent_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let ledger_arg = ledger.to_str().unwrap();
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = format!("http://{nobody}");
    let rule = ["--rule", "SO=inspect", "--hold-ms", "50"];

    let first =
        SimProcess::start(&[&["--ledger", ledger_arg, "--gateway", &dead][..], &rule].concat());
    let mut agency = client(&first.url).await;
    for i in 0..3 {
        let d = inventory(&format!("k-{i}"), &format!("SO-{i}"));
        assert_eq!(deliver(&mut agency, d).await, Ok(false));
    }
    drop(first); // SIGKILL, nothing reported

    let (recorder, gateway) = Recorder::start().await;
    let second =
        SimProcess::start(&[&["--ledger", ledger_arg, "--gateway", &gateway][..], &rule].concat());
    for i in 0..3 {
        let id = format!("k-{i}");
        let got = recorder.wait(&id, 3).await;
        let want: Vec<(String, i32)> = [120, 500, 800]
            .iter()
            .zip(1..)
            .map(|(status, seq)| (format!("{id}#{seq}"), *status))
            .collect();
        assert_eq!(got, want);
    }
    // Once reported, a third start sends nothing again.
    let wait_reported = Instant::now();
    while summarize(&read_ledger(&ledger).unwrap()).reported < 9 {
        assert!(wait_reported.elapsed() < PATIENCE, "reported lines");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(second);
    let count = recorder.all().len();
    let third =
        SimProcess::start(&[&["--ledger", ledger_arg, "--gateway", &gateway][..], &rule].concat());
    let _agency = client(&third.url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(recorder.all().len(), count);
}

#[test]
fn bad_flags_are_refused_naming_the_flag() {
    let cases: [(&[&str], &str); 6] = [
        (&["--unavailable", "2"], "--unavailable"),
        (&["--latency", "gauss:3"], "--latency"),
        (&["--listen", "0.0.0.0:0"], "--listen"),
        (&["--agency", "customs,police"], "--agency"),
        (&["--rule", "SO=maybe"], "--rule"),
        (&["--seed", "x"], "--seed"),
    ];
    for (args, flag) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_single-window"))
            .arg("agency-sim")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_single-window"))
        .args(["agency-sim", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--agency",
        "--gateway",
        "--seed",
        "--latency",
        "--unavailable",
        "--timeout",
        "--refuse",
        "--release",
        "--inspect",
        "--detain",
        "--reject",
        "--hold-ms",
        "--credit-factor",
        "--rule",
        "--ledger",
        "--config",
        "--tls-cert",
        "--tls-key",
        "--tls-client-ca",
        "--gateway-tls-ca",
        "--gateway-tls-cert",
        "--gateway-tls-key",
    ] {
        assert!(help.contains(flag), "{flag} in --help");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_file_is_read_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(
        &config,
        "[agency_sim]\nagency = [\"tax\", \"fx\"]\nrule = [\"SO=reject\"]\nseed = 3\n",
    )
    .unwrap();
    let (recorder, gateway) = Recorder::start().await;
    let process = SimProcess::start(&[
        "--config",
        config.to_str().unwrap(),
        "--agency",
        "tax",
        "--gateway",
        &gateway,
    ]);
    assert!(process.log.lock().unwrap()[0].contains("serving tax on"));
    let mut agency = client(&process.url).await;
    let fx = delivery("c-fx", "fx", "fx", "SO-1");
    assert_eq!(
        deliver(&mut agency, fx).await,
        Err(Code::FailedPrecondition)
    );
    let tax = delivery("c-tax", "tax", "tax", "SO-1");
    assert_eq!(deliver(&mut agency, tax).await, Ok(false));
    assert_eq!(statuses(&recorder.wait("c-tax", 1).await), [100]);
}
