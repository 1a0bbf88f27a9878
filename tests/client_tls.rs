//! TLS and mutual TLS between this binary's clients and servers, over real loopback ports, with
//! certificates made here (rcgen): a CA, a server leaf for 127.0.0.1 and localhost, a client
//! leaf, and a client leaf of another CA. The simulator serves mutual TLS; a dispatcher-like
//! client (`ClientTls::endpoint`) delivers to it with the client certificate and is refused
//! without one; the simulator reports its receipts to an https:// gateway stand-in; a real
//! gateway node dispatches to it over mutual TLS; the command line names `--tls-ca` when an
//! https:// URL comes without it.

#[path = "support/pki.rs"]
mod pki;
#[path = "support/recorder.rs"]
#[allow(dead_code)]
mod recorder;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recorder::Recorder;
use single_window::api::State;
use single_window::cli::{self, GatewayArgs, StatusArgs, SubmitArgs};
use single_window::client::ClientTls;
use single_window::config::{Agencies, Config};
use single_window::dispatch::AgencyStats;
use single_window::node::{embedded_sim, Node};
use single_window::pb::v1::{
    self, agency_endpoint_client::AgencyEndpointClient, gateway_client::GatewayClient,
};
use single_window::rules::Rules;
use single_window::sim::{self, read_ledger, LedgerLine, Mix, SimConfig};
use single_window::store::{Store, StoreConfig};
use single_window::synth;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Channel, Identity, ServerTlsConfig};
use tonic::{Code, Status};

/// How long receipts and releases may take.
const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Certificates.

/// PEM files in a temporary folder (`support/pki.rs`): a CA, a server and a client signed by
/// it (`client`), and a client signed by another CA (`rogue`).
struct Pki {
    inner: pki::Pki,
    client: pki::Client,
    rogue: pki::Client,
}

impl Pki {
    fn new() -> Pki {
        let inner = pki::Pki::new();
        let client = inner.client("client", pki::Made::default());
        let rogue = inner.client(
            "rogue",
            pki::Made {
                foreign: true,
                ..pki::Made::default()
            },
        );
        Pki {
            inner,
            client,
            rogue,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.inner.path(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// The client with the CA and `who`'s certificate (`client`, `rogue`), or none.
    fn client(&self, who: Option<&str>) -> ClientTls {
        match who {
            None => self.inner.anonymous(),
            Some("rogue") => self.rogue.tls.clone(),
            Some(_) => self.client.tls.clone(),
        }
    }

    /// The simulator's settings serving mutual TLS with the server certificate.
    fn serving(&self, config: SimConfig) -> SimConfig {
        SimConfig {
            tls_cert: Some(self.path("server.pem")),
            tls_key: Some(self.path("server.key")),
            tls_client_ca: Some(self.path("ca.pem")),
            ..config
        }
    }

    /// The server side of mutual TLS with the server certificate, for the stand-in gateway.
    fn server_tls(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(
                self.read("server.pem"),
                self.read("server.key"),
            ))
            .client_ca_root(Certificate::from_pem(self.read("ca.pem")))
    }
}

// ---------------------------------------------------------------------------------------------
// Deliveries.

fn inventory(message_id: &str, order_no: &str) -> v1::Delivery {
    v1::Delivery {
        message_id: message_id.to_owned(),
        agency: "customs".to_owned(),
        shipment: Some(v1::ShipmentKey {
            ebp_code: "3301960001".to_owned(),
            order_no: order_no.to_owned(),
        }),
        kind: "inventory".to_owned(),
        attempt: 1,
        ..v1::Delivery::default()
    }
}

/// A client of the agencies at `url`, as the dispatcher makes it (lazy, connect timeout).
fn agency_client(tls: &ClientTls, url: &str) -> AgencyEndpointClient<Channel> {
    let channel = tls
        .endpoint(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy();
    AgencyEndpointClient::new(channel)
}

/// The message ids of the deliveries in a ledger (none when it was never written).
fn delivered(ledger: &Path) -> Vec<String> {
    if !ledger.exists() {
        return Vec::new();
    }
    read_ledger(ledger)
        .unwrap()
        .into_iter()
        .filter_map(|line| match line {
            LedgerLine::Delivery(d) => Some(d.message_id),
            LedgerLine::Reported(_) => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The simulator over mutual TLS.

#[tokio::test(flavor = "multi_thread")]
async fn a_client_with_the_ca_and_its_certificate_delivers_and_receipts_go_back_over_tls() {
    let pki = Pki::new();
    let ledger = pki.path("ledger.jsonl");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (recorder, gateway) = Recorder::serve_with(listener, Some(pki.server_tls()));
    let embedded = sim::spawn(pki.serving(SimConfig {
        gateway: Some(gateway),
        gateway_tls: pki.client(Some("client")),
        mix: Mix::RELEASE_ONLY,
        hold_ms: 0,
        ledger: Some(ledger.clone()),
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    assert_eq!(embedded.url, format!("https://{}", embedded.addr));

    let mut agency = agency_client(&pki.client(Some("client")), &embedded.url);
    let ack = agency.deliver(inventory("tls-1", "SO-1")).await.unwrap();
    assert!(!ack.into_inner().duplicate);
    // The receipts went to the https:// gateway with the simulator's client certificate.
    let receipts = recorder.wait("tls-1", 2).await;
    assert_eq!(
        receipts,
        [("tls-1#1".to_owned(), 120), ("tls-1#2".to_owned(), 800)]
    );
    let again = agency.deliver(inventory("tls-1", "SO-1")).await.unwrap();
    assert!(again.into_inner().duplicate);
    embedded.stop().await.unwrap();
    assert_eq!(delivered(&ledger), ["tls-1", "tls-1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_without_an_accepted_certificate_is_refused_at_the_handshake() {
    let pki = Pki::new();
    let ledger = pki.path("ledger.jsonl");
    let embedded = sim::spawn(pki.serving(SimConfig {
        gateway: None,
        ledger: Some(ledger.clone()),
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    // No client certificate, one of another CA, no TLS at all: each refused, nothing taken.
    let cases = [
        ("no certificate", pki.client(None), embedded.url.clone()),
        (
            "another CA",
            pki.client(Some("rogue")),
            embedded.url.clone(),
        ),
        (
            "plaintext",
            ClientTls::default(),
            format!("http://{}", embedded.addr),
        ),
    ];
    for (what, tls, url) in cases {
        let mut agency = agency_client(&tls, &url);
        let status = agency
            .deliver(inventory(&format!("refused-{what}"), "SO-2"))
            .await
            .expect_err(what);
        assert_refused_by_transport(what, &status);
        // Connecting eagerly fails, or the handshake is refused on the first call.
        if let Ok(channel) = tls.endpoint(&url).unwrap().connect().await {
            let status = AgencyEndpointClient::new(channel)
                .deliver(inventory(&format!("refused-{what}"), "SO-2"))
                .await
                .expect_err(what);
            assert_refused_by_transport(what, &status);
        }
    }
    // The same server takes the client with the right certificate.
    let mut agency = agency_client(&pki.client(Some("client")), &embedded.url);
    agency
        .deliver(inventory("taken", "SO-2"))
        .await
        .expect("the client with the right certificate is taken");
    embedded.stop().await.unwrap();
    assert_eq!(delivered(&ledger), ["taken"]);
}

/// A call that failed in the transport (the handshake), not in the service: UNAVAILABLE, or
/// another code with the transport error beneath (tonic reports an alert on a connection it
/// took for established as UNKNOWN or CANCELLED, depending on timing).
fn assert_refused_by_transport(what: &str, status: &Status) {
    use std::error::Error as _;
    let transport = status
        .source()
        .is_some_and(|source| source.downcast_ref::<tonic::transport::Error>().is_some());
    assert!(
        status.code() == Code::Unavailable || transport,
        "{what}: not refused by the transport: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_refuses_bad_tls_settings_naming_the_flag() {
    let pki = Pki::new();
    let missing = pki.path("missing.pem");
    type Change = fn(&Pki, &Path) -> SimConfig;
    let cases: [(Change, &str); 6] = [
        (
            |p, _| SimConfig {
                tls_cert: Some(p.path("server.pem")),
                ..SimConfig::default()
            },
            "--tls-key",
        ),
        (
            |p, _| SimConfig {
                tls_client_ca: Some(p.path("ca.pem")),
                ..SimConfig::default()
            },
            "--tls-client-ca",
        ),
        (
            |p, m| SimConfig {
                tls_cert: Some(m.to_owned()),
                ..p.serving(SimConfig::default())
            },
            "--tls-cert",
        ),
        (
            |p, m| SimConfig {
                tls_client_ca: Some(m.to_owned()),
                ..p.serving(SimConfig::default())
            },
            "--tls-client-ca",
        ),
        (
            |_, _| SimConfig {
                gateway: Some("https://127.0.0.1:1".into()),
                ..SimConfig::default()
            },
            "--gateway-tls-ca",
        ),
        (
            |p, m| SimConfig {
                gateway_tls: ClientTls {
                    ca: Some(m.to_owned()),
                    ..p.client(None)
                },
                ..SimConfig::default()
            },
            "--gateway-tls-ca",
        ),
    ];
    for (make, flag) in cases {
        let config = make(&pki, &missing);
        let err = sim::spawn(config.clone()).await.expect_err(flag);
        assert!(err.to_string().starts_with(flag), "{flag}: {err}");
        let err = sim::check(&config).expect_err(flag);
        assert!(err.to_string().starts_with(flag), "{flag}: {err}");
    }
    // A certificate that is not one.
    std::fs::write(pki.path("junk.pem"), "not a certificate").unwrap();
    let err = sim::spawn(SimConfig {
        tls_cert: Some(pki.path("junk.pem")),
        ..pki.serving(SimConfig::default())
    })
    .await
    .expect_err("junk");
    assert!(err.to_string().starts_with("--tls-cert"), "{err}");
}

#[test]
fn the_agency_sim_process_names_a_missing_file_and_lists_the_tls_flags() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--tls-cert", missing, "--tls-key", missing], "--tls-cert"),
        (&["--tls-cert", missing], "--tls-key"),
        (&["--gateway", "https://127.0.0.1:1"], "--gateway-tls-ca"),
    ];
    for (args, flag) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_single-window"))
            .arg("agency-sim")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("serving"), "{args:?}: {stderr}");
    }
    // agency-sim's own TLS flags are among those tests/agency_sim.rs finds in its --help.
    for command in ["submit", "status", "watch", "dead-letters", "load"] {
        let help = Command::new(env!("CARGO_BIN_EXE_single-window"))
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout);
        for flag in ["--tls-ca", "--tls-cert", "--tls-key"] {
            assert!(help.contains(flag), "{flag} in {command} --help");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway's dispatcher over mutual TLS.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_dispatches_to_agencies_over_mutual_tls_and_the_shipment_is_released() {
    let pki = Pki::new();
    let sims = sim::spawn(pki.serving(SimConfig {
        gateway: None,
        mix: Mix::RELEASE_ONLY,
        hold_ms: 0,
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    let path = |name: &str| pki.path(name).to_str().unwrap().to_owned();
    let agencies = Agencies {
        customs: sims.url.clone(),
        inspection: sims.url.clone(),
        fx: sims.url.clone(),
        tax: sims.url.clone(),
        ca: path("ca.pem"),
        cert: path("client.pem"),
        key: path("client.key"),
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = Rules::embedded().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = Arc::new(State::new(Arc::new(rules.clone()), store));
    let config = Config::default();
    let node = Node::start(
        listener,
        state,
        &agencies,
        config.dispatch(),
        embedded_sim(),
    )
    .await
    .unwrap();
    sims.set_gateway(&node.url).unwrap();

    let channel = Channel::from_shared(node.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut gateway = GatewayClient::new(channel.clone());
    for message in shipments::shipment_messages(91, 0, &rules) {
        let reply = gateway
            .submit(shipments::request(message.xml))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            shipments::outcome(&reply.blocks[0]),
            v1::Outcome::Accepted,
            "{reply:?}"
        );
    }
    let key = v1::ShipmentKey {
        ebp_code: synth::PLATFORM.to_owned(),
        order_no: format!("SW{:04}{:012}", 91, 0),
    };
    let view = shipments::released(channel.clone(), &key, PATIENCE).await;
    assert_eq!(view.agencies.len(), 4, "{view:#?}");
    node.stop().await.unwrap();
    sims.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_without_its_client_certificate_delivers_nothing() {
    let pki = Pki::new();
    let ledger = pki.path("ledger.jsonl");
    let sims = sim::spawn(pki.serving(SimConfig {
        gateway: None,
        ledger: Some(ledger.clone()),
        ..SimConfig::default()
    }))
    .await
    .unwrap();
    // The CA but no certificate of its own.
    let agencies = Agencies {
        customs: sims.url.clone(),
        inspection: sims.url.clone(),
        fx: sims.url.clone(),
        tax: sims.url.clone(),
        ca: pki.path("ca.pem").to_str().unwrap().to_owned(),
        ..Agencies::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = Rules::embedded().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = Arc::new(State::new(Arc::new(rules.clone()), store));
    let node = Node::start(
        listener,
        state,
        &agencies,
        Config::default().dispatch(),
        embedded_sim(),
    )
    .await
    .unwrap();
    let mut gateway = GatewayClient::connect(node.url.clone()).await.unwrap();
    for message in shipments::shipment_messages(92, 0, &rules) {
        gateway
            .submit(shipments::request(message.xml))
            .await
            .unwrap();
    }
    // The dispatcher tries and is refused: retries, never a delivery.
    let stats = node.dispatcher.stats().clone();
    let count = |f: fn(&AgencyStats) -> &AtomicU64| -> u64 {
        stats.values().map(|s| f(s).load(Ordering::Relaxed)).sum()
    };
    let started = Instant::now();
    while count(|s| &s.retried) < 2 {
        assert!(started.elapsed() < PATIENCE, "no attempt was made");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count(|s| &s.delivered), 0);
    node.stop().await.unwrap();
    sims.stop().await.unwrap();
    assert_eq!(delivered(&ledger), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// An https:// URL without a CA.

#[tokio::test]
async fn an_https_url_without_a_ca_names_tls_ca() {
    let err = ClientTls::default()
        .endpoint("https://127.0.0.1:1")
        .expect_err("no CA");
    assert!(format!("{err:#}").contains("--tls-ca"), "{err:#}");
    // Plaintext needs none; a certificate needs its key.
    assert!(ClientTls::default().endpoint("http://127.0.0.1:1").is_ok());
    let pki = Pki::new();
    let half = ClientTls {
        key: None,
        ..pki.client(Some("client"))
    };
    let err = half.endpoint("https://127.0.0.1:1").expect_err("no key");
    assert!(format!("{err:#}").contains("--tls-key"), "{err:#}");

    // The command line says it too, with its exit code for an unreachable gateway.
    let dir = tempfile::tempdir().unwrap();
    let server = "https://127.0.0.1:1".to_owned();
    let status = StatusArgs {
        gateway: GatewayArgs {
            server: server.clone(),
            tls: ClientTls::default(),
        },
        shipment: Some("E1/O1".to_owned()),
        ebp: None,
        order_no: None,
        json: false,
    };
    let mut out = Vec::new();
    let code = cli::status::run(&status, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, cli::status::EXIT_UNREACHABLE, "{out}");
    assert!(out.contains("--tls-ca"), "{out}");
    let file = dir.path().join("m.xml");
    std::fs::write(&file, "<x/>").unwrap();
    let submit = SubmitArgs {
        gateway: GatewayArgs {
            server,
            tls: ClientTls::default(),
        },
        sender: String::new(),
        journal: dir.path().join("journal"),
        no_journal: true,
        quiet: true,
        files: vec![file],
    };
    let mut out = Vec::new();
    let code = cli::submit::run(&submit, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, cli::submit::EXIT_UNREADABLE, "{out}");
    assert!(out.starts_with("error: --server \"https://"), "{out}");
    assert!(out.contains("--tls-ca"), "{out}");
}
