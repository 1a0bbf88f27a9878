//! The agency simulator (`single-window agency-sim`) as child processes on loopback ports, each
//! with its own ledger file, for the tests that run the gateway against agencies in other
//! processes. A simulator is killed (SIGKILL) when its guard is dropped; it can be killed and
//! started again on the same port and ledger (it then knows what it took before), with the
//! same or other flags.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use single_window::sim::{read_ledger, summarize, DeliveryLine, LedgerLine, LedgerSummary};

/// How long a start may take (the listening line).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Starts tried on a fixed port before giving up (the port may still be held for a moment).
const START_TRIES: usize = 20;

/// A free loopback address (bound, then released: nobody listens on it until it is used).
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// `http://ADDR`.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Flags for a simulator that decides `release` for everything (rules aside), holds for
/// `hold_ms`, answers at once and reports to `gateway`.
pub fn releasing(gateway: &str, hold_ms: u64) -> Vec<String> {
    let mut args: Vec<String> = [
        "--release",
        "1",
        "--inspect",
        "0",
        "--detain",
        "0",
        "--reject",
        "0",
        "--latency",
        "0",
        "--gateway",
        gateway,
        "--hold-ms",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(hold_ms.to_string());
    args
}

/// A running `agency-sim` child process; killed on drop.
pub struct AgencySim {
    child: Option<Child>,
    /// Where it listens (kept across restarts).
    pub addr: SocketAddr,
    /// Its ledger file (kept across restarts).
    pub ledger: PathBuf,
    args: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl AgencySim {
    /// Starts `agency-sim` on `listen` (a free port when `None`) with ledger `ledger` and the
    /// other flags `args`; waits for its listening line.
    pub async fn start(listen: Option<SocketAddr>, ledger: &Path, args: &[String]) -> AgencySim {
        let mut sim = AgencySim {
            child: None,
            addr: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            ledger: ledger.to_owned(),
            args: args.to_vec(),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        sim.spawn().await;
        sim
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        url(self.addr)
    }

    /// SIGKILL, then reaps the child.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and starts it again on the same port and ledger, with `args` instead of the
    /// flags it had (the same flags when `None`).
    pub async fn restart(&mut self, args: Option<&[String]>) {
        self.kill();
        if let Some(args) = args {
            self.args = args.to_vec();
        }
        self.spawn().await;
    }

    /// Every complete line of its ledger.
    pub fn lines(&self) -> Vec<LedgerLine> {
        if !self.ledger.exists() {
            return Vec::new();
        }
        read_ledger(&self.ledger).expect("the simulator's ledger reads")
    }

    /// The deliveries it took, in order.
    pub fn deliveries(&self) -> Vec<DeliveryLine> {
        deliveries(&self.lines())
    }

    /// The counts over its ledger.
    pub fn summary(&self) -> LedgerSummary {
        summarize(&self.lines())
    }

    /// What the child wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    async fn spawn(&mut self) {
        let fixed = self.addr.port() != 0;
        for _ in 0..START_TRIES {
            let mut child = Command::new(env!("CARGO_BIN_EXE_single-window"))
                .arg("agency-sim")
                .arg("--listen")
                .arg(self.addr.to_string())
                .arg("--ledger")
                .arg(&self.ledger)
                .args(&self.args)
                .env_remove("SINGLE_WINDOW_SERVER")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the simulator binary starts");
            let stderr = child.stderr.take().expect("stderr is piped");
            let (found, address) = tokio::sync::oneshot::channel();
            let log = self.log.clone();
            std::thread::spawn(move || {
                let mut found = Some(found);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = listening_address(&line) {
                        if let Some(found) = found.take() {
                            let _ = found.send(addr);
                        }
                    }
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
            match tokio::time::timeout(READY_TIMEOUT, address).await {
                Ok(Ok(addr)) => {
                    self.addr = addr;
                    self.child = Some(child);
                    return;
                }
                // It ended without serving: on a fixed port, most likely not free yet.
                Ok(Err(_)) if fixed => {
                    let _ = child.wait();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(Err(_)) => {
                    let status = child.wait();
                    panic!(
                        "agency-sim ended before it served ({status:?}); stderr:\n{}",
                        self.log()
                    );
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "no listening line from agency-sim within {READY_TIMEOUT:?}; stderr:\n{}",
                        self.log()
                    );
                }
            }
        }
        panic!(
            "agency-sim could not serve on {} after {START_TRIES} tries; stderr:\n{}",
            self.addr,
            self.log()
        );
    }
}

impl Drop for AgencySim {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The delivery lines of a ledger, in order.
pub fn deliveries(lines: &[LedgerLine]) -> Vec<DeliveryLine> {
    lines
        .iter()
        .filter_map(|line| match line {
            LedgerLine::Delivery(d) => Some(d.clone()),
            LedgerLine::Reported(_) => None,
        })
        .collect()
}

/// Delivery lines per message id, in order.
pub fn by_message(deliveries: &[DeliveryLine]) -> BTreeMap<String, Vec<DeliveryLine>> {
    let mut map: BTreeMap<String, Vec<DeliveryLine>> = BTreeMap::new();
    for d in deliveries {
        map.entry(d.message_id.clone()).or_default().push(d.clone());
    }
    map
}

/// The address in `single-window agency-sim: serving … on ADDR (gateway …)`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("single-window agency-sim: serving ")?;
    let (_, after) = rest.split_once(" on ")?;
    after.split_whitespace().next()?.parse().ok()
}
