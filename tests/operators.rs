//! What operators see, on a real gateway process under load: the Prometheus scrape passes
//! `promtool check metrics`; every metric the Grafana dashboard queries is in the scrape; the
//! live dashboard page renders in headless Chromium and its figures appear and change while
//! load runs (a screenshot is saved under target/test-artifacts/).

#[path = "support/gateway.rs"]
#[allow(dead_code)]
mod gateway;
#[path = "support/serial.rs"]
mod serial;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::Gateway;
use serial::{runtime, serial};
use single_window::pb::v1;
use single_window::rules::Rules;

/// A plain HTTP/1.0 GET on the admin port: (status line, body).
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut conn = TcpStream::connect(addr).expect("the admin port answers");
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// Submits shipments of `seed` from `workers` tasks until `stop`.
fn load(
    rt: &tokio::runtime::Runtime,
    gateway: &Gateway,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> (Arc<AtomicU64>, Vec<tokio::task::JoinHandle<()>>) {
    let next = Arc::new(AtomicU64::new(0));
    let rules = Arc::new(Rules::embedded().unwrap());
    let endpoint = gateway.endpoint();
    let tasks = (0..4)
        .map(|_| {
            let (next, rules, stop, endpoint) =
                (next.clone(), rules.clone(), stop.clone(), endpoint.clone());
            rt.spawn(async move {
                let channel = endpoint.connect().await.unwrap();
                let mut client = v1::gateway_client::GatewayClient::new(channel);
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    for m in shipments::shipment_messages(seed, n, &rules) {
                        let _ = client
                            .submit(v1::SubmitRequest {
                                sender: String::new(),
                                idempotency_key: String::new(),
                                payload: Some(v1::submit_request::Payload::CebXml(m.xml)),
                            })
                            .await;
                    }
                    // One bad message in ten shipments, so that rejects by rule show.
                    if n % 10 == 0 {
                        let mut bad = shipments::shipment_messages(seed + 1000, n, &rules)[0]
                            .xml
                            .clone();
                        let text = String::from_utf8_lossy(&bad)
                            .replace("<ceb:currency>142<", "<ceb:currency>999<");
                        bad = text.into_bytes();
                        let _ = client
                            .submit(v1::SubmitRequest {
                                sender: String::new(),
                                idempotency_key: String::new(),
                                payload: Some(v1::submit_request::Payload::CebXml(bad)),
                            })
                            .await;
                    }
                }
            })
        })
        .collect();
    (next, tasks)
}

fn admin_of(gateway: &Gateway) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(addr) = gateway.admin_addr() {
            return addr;
        }
        assert!(
            Instant::now() < deadline,
            "no admin line: {}",
            gateway.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Metric family names in a scrape (`# TYPE name kind` lines).
fn families(scrape: &str) -> Vec<String> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The `sw_…` metric names a PromQL expression uses, without histogram suffixes.
fn metrics_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("sw_") {
        let start = i + at;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = expr[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |e| start + e);
        if boundary {
            let name = &expr[start..end];
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            names.push(base.to_owned());
        }
        i = end;
    }
    names
}

#[test]
fn the_scrape_passes_promtool_and_has_every_metric_the_grafana_dashboard_queries() {
    let _serial = serial();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (gateway, _client) = rt.block_on(Gateway::start(dir.path()));
    let admin = admin_of(&gateway);
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, tasks) = load(&rt, &gateway, 61, stop.clone());
    // Until shipments are released (time-to-release has observations) and rules rejected.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scrape = loop {
        let (status, body) = get(admin, "/metrics");
        assert!(status.contains("200"), "{status}");
        let released = body.contains("sw_time_to_release_seconds_count");
        if released && body.contains("sw_rejections_total") && sent.load(Ordering::Relaxed) > 20 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no releases or rejections within 60 s:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) must be installed: .ci/run installs it");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );

    let found = families(&scrape);
    for name in [
        "sw_requests_total",
        "sw_request_duration_seconds",
        "sw_declarations_total",
        "sw_rejections_total",
        "sw_store_commit_duration_seconds",
        "sw_store_flush_duration_seconds",
        "sw_store_commits_per_flush",
        "sw_outbox_backlog",
        "sw_deliveries_total",
        "sw_delivery_duration_seconds",
        "sw_receipts_total",
        "sw_shipments",
        "sw_time_to_release_seconds",
        "sw_build_info",
    ] {
        assert!(
            found.iter().any(|f| f == name),
            "{name} not in the scrape:\n{scrape}"
        );
    }
    // Histograms have real buckets, not quantiles.
    assert!(scrape.contains("sw_store_commit_duration_seconds_bucket{le=\"0.001\"}"));
    assert!(
        !scrape.contains("quantile="),
        "summaries instead of histograms"
    );
    // No identifiers in labels: every label value is short and from a small set.
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        assert!(!line.contains("SW00"), "an order number in a label: {line}");
    }

    let grafana: serde_json::Value =
        serde_json::from_str(include_str!("../config/grafana/single-window.json")).unwrap();
    assert_eq!(
        grafana["__inputs"][0]["type"], "datasource",
        "datasource as an input"
    );
    let mut queried = Vec::new();
    for panel in grafana["panels"].as_array().unwrap() {
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}");
        for target in panel["targets"].as_array().unwrap() {
            queried.extend(metrics_in(target["expr"].as_str().unwrap()));
        }
    }
    assert!(queried.len() >= 15, "{queried:?}");
    for name in &queried {
        assert!(
            found.contains(name),
            "the dashboard queries {name}, not in the scrape"
        );
    }
}

/// The text of the element with `id` in a DOM dump.
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let Some(at) = dom.find(&marker) else {
        return "";
    };
    let rest = &dom[at..];
    let start = rest.find('>').map_or(0, |i| i + 1);
    let end = rest[start..].find('<').map_or(rest.len(), |i| start + i);
    rest[start..end].trim()
}

fn chromium(args: &[&str], url: &str) -> String {
    let binary = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
        .expect("chromium (Debian package chromium) must be installed: .ci/run installs it");
    let out = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=4000",
            "--window-size=1400,1000",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_live_dashboard_shows_figures_that_change_under_load() {
    let _serial = serial();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (gateway, _client) = rt.block_on(Gateway::start(dir.path()));
    let admin = admin_of(&gateway);
    let (status, page) = get(admin, "/");
    assert!(status.contains("200"), "{status}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN: works offline"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (_sent, tasks) = load(&rt, &gateway, 62, stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    let url = format!("http://{admin}/");
    let first = chromium(&["--dump-dom"], &url);
    std::thread::sleep(Duration::from_secs(2));
    let second = chromium(&["--dump-dom"], &url);
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[&format!("--screenshot={}", shot.display())], &url);
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });

    let number = |dom: &str, id: &str| -> f64 {
        text_of(dom, id)
            .replace(',', "")
            .parse()
            .unwrap_or(f64::NAN)
    };
    for dom in [&first, &second] {
        assert!(dom.contains("single-window gateway"), "{dom}");
        assert!(
            number(dom, "accepted-total") > 0.0,
            "accepted: {:?}",
            text_of(dom, "accepted-total")
        );
        assert!(!text_of(dom, "accepted-rate").is_empty() && text_of(dom, "accepted-rate") != "–");
        assert!(text_of(dom, "version").starts_with(env!("CARGO_PKG_VERSION")));
        assert!(dom.contains("<td>customs</td>"), "per-agency rows");
    }
    assert!(
        number(&second, "accepted-total") > number(&first, "accepted-total"),
        "the figures change while load runs: {} then {}",
        text_of(&first, "accepted-total"),
        text_of(&second, "accepted-total")
    );
    let png = std::fs::read(&shot).expect("chromium saved a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot: {} bytes",
        png.len()
    );
    eprintln!("dashboard screenshot: {}", shot.display());
}
