//! The gateway binary (`single-window serve`) as a child process on a loopback port, for the
//! tests that kill it or watch its memory. The child is killed when its guard is dropped, so a
//! failing test leaves no server behind.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use single_window::pb::v1::{self, gateway_client::GatewayClient};
use tonic::transport::{Channel, Endpoint};

/// How long a start (the address line, then a successful `Echo`) may take.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// A running gateway child process; killed on drop.
pub struct Gateway {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// The child's stderr reached its end (everything it wrote is in `log`).
    log_ended: Arc<AtomicBool>,
}

impl Gateway {
    /// Starts the gateway on `data` and waits until it answers `Echo`.
    pub async fn start(data: &Path) -> (Gateway, GatewayClient<Channel>) {
        Gateway::start_with(data, None, &[]).await
    }

    /// Starts the gateway on `data`, listening on `listen` (a free loopback port when `None`:
    /// give the same address again to restart it where its clients and agencies expect it),
    /// with the environment variables `envs` set (agency endpoints, dispatch knobs, …), and
    /// waits until it answers `Echo`.
    pub async fn start_with(
        data: &Path,
        listen: Option<SocketAddr>,
        envs: &[(&str, String)],
    ) -> (Gateway, GatewayClient<Channel>) {
        let listen = listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let mut gateway = Gateway::spawn(data, listen, envs).await;
        if gateway.addr.port() == 0 {
            // The address line did not name the real port: choose a free one ourselves.
            gateway.kill();
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let listen = SocketAddr::from(([127, 0, 0, 1], port));
            gateway = Gateway::spawn(data, listen, envs).await;
        }
        let client = gateway.ready().await;
        (gateway, client)
    }

    async fn spawn(data: &Path, listen: SocketAddr, envs: &[(&str, String)]) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_single-window"))
            .arg("serve")
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--data")
            .arg(data)
            // The operators' port too on a free port: tests run side by side.
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .env_remove("SINGLE_WINDOW_RULES")
            .envs(envs.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gateway binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_ended = Arc::new(AtomicBool::new(false));
        let (found, address) = tokio::sync::oneshot::channel();
        {
            let log = log.clone();
            let log_ended = log_ended.clone();
            std::thread::spawn(move || {
                let mut found = Some(found);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = serving_on(&line) {
                        if let Some(found) = found.take() {
                            let _ = found.send(addr);
                        }
                    }
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
                log_ended.store(true, Ordering::SeqCst);
            });
        }
        let mut gateway = Gateway {
            child,
            addr: listen,
            log,
            log_ended,
        };
        match tokio::time::timeout(READY_TIMEOUT, address).await {
            Ok(Ok(addr)) => gateway.addr = addr,
            Ok(Err(_)) => panic!(
                "the gateway ended before it served ({:?}); stderr:\n{}",
                gateway.child.try_wait(),
                gateway.log()
            ),
            Err(_) => panic!(
                "no 'serving on' line within {READY_TIMEOUT:?}; stderr:\n{}",
                gateway.log()
            ),
        }
        gateway
    }

    /// Connects and calls `Echo` until it answers.
    async fn ready(&mut self) -> GatewayClient<Channel> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the gateway exited ({status}); stderr:\n{}", self.log());
            }
            let last = match self.try_echo().await {
                Ok(client) => return client,
                Err(err) => err,
            };
            if Instant::now() > deadline {
                panic!(
                    "the gateway on {} did not answer Echo within {READY_TIMEOUT:?}: {last}; \
                     stderr:\n{}",
                    self.addr,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn try_echo(&self) -> Result<GatewayClient<Channel>, String> {
        let channel = self
            .endpoint()
            .connect()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut client = GatewayClient::new(channel);
        client
            .echo(v1::EchoRequest {
                payload: b"ready?".to_vec(),
            })
            .await
            .map_err(|e| format!("echo: {e}"))?;
        Ok(client)
    }

    /// An endpoint for the gateway (more channels, other settings).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("a valid url")
            .connect_timeout(Duration::from_secs(5))
    }

    /// SIGKILL (`Child::kill` on Unix), then reaps the child.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// Resident set size of the child, KiB (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/<pid>/status of the gateway");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }

    /// Where the operators' HTTP port listens (`single-window: admin on ADDR …`).
    #[allow(dead_code)]
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains("single-window: admin on "))?;
        line.split_once("admin on ")?
            .1
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// What the child wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }
}

// For the shutdown and log tests; the other users of this file do not signal the child.
#[allow(dead_code)]
impl Gateway {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends signal `name` (`TERM`, `INT`, …) to the child with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "kill -{name} {}: {sent}", self.pid());
    }

    /// Waits up to `timeout` for the child to exit, then for the end of its stderr; `None`
    /// when it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let drained = Instant::now() + Duration::from_secs(5);
        while !self.log_ended.load(Ordering::SeqCst) && Instant::now() < drained {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Some(status)
    }

    /// Waits up to `timeout` for a stderr line containing `text`; whether one came.
    pub async fn wait_for_log(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let seen = self
                .log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|line| line.contains(text));
            if seen {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// `single-window: serving on ADDR (store in DIR)` → ADDR.
fn serving_on(line: &str) -> Option<SocketAddr> {
    let rest = line.split_once("serving on ")?.1;
    rest.split_whitespace().next()?.parse().ok()
}
