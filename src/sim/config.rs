//! The simulator's configuration as plain data (its textual forms are parsed in
//! [`parse`](super::parse)). Pure: no I/O. A [`SimConfig`] is checked
//! with [`SimConfig::check`] before anything binds; `serve` and `spawn` refuse a bad one.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::ClientTls;
use crate::domain::Agency;

use super::decide::Decision;

/// The gateway the simulator reports receipts to when nothing else is said.
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:50051";

/// Everything the simulator does, as data. `SimConfig::default()` holds the defaults of the
/// `agency-sim` flags.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The agencies simulated (deliveries for the others are FAILED_PRECONDITION).
    pub agencies: Vec<Agency>,
    /// Where `Receipts.Report` is (`http://127.0.0.1:50051`). `None`: not known yet; the
    /// reporter holds the receipts until [`Embedded::set_gateway`](super::Embedded::set_gateway)
    /// names it.
    pub gateway: Option<String>,
    /// Seed of the decisions (hashed with the message id) and of the injected faults.
    pub seed: u64,
    /// Time a delivery takes before it is answered.
    pub latency: Latency,
    /// Injected faults, drawn per attempt.
    pub faults: Faults,
    /// Relative weights of the decisions.
    pub mix: Mix,
    /// Time between an inspection or quarantine hold and its release, ms.
    pub hold_ms: u64,
    /// Factors on the customs inspect weight per credit class of the enterprise.
    pub credit: CreditFactors,
    /// Overrides per order-number prefix; the longest matching prefix wins.
    pub rules: Vec<Rule>,
    /// The ledger file (JSON lines); in memory only when absent.
    pub ledger: Option<PathBuf>,
    /// Receipt reports in flight at once.
    pub report_in_flight: usize,
    /// Receipt batches (one message's receipts) waiting for the reporter before a delivery
    /// waits for room.
    pub queue: usize,
    /// TLS to the gateway, for an `https://` gateway: its CA and, for mutual TLS, the
    /// simulator's certificate and key (`--gateway-tls-ca`, `--gateway-tls-cert`,
    /// `--gateway-tls-key`). Empty: plaintext only.
    pub gateway_tls: ClientTls,
    /// A secret sent with every report (the gateway's token for its in-process agencies on
    /// its internal port); none for a simulator of its own.
    pub gateway_token: Option<String>,
    /// PEM certificate the simulator serves TLS with (`--tls-cert`, with `tls_key`); plaintext
    /// when absent.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (`--tls-key`).
    pub tls_key: Option<PathBuf>,
    /// PEM CA the gateway's client certificate must be signed by (`--tls-client-ca`): mutual
    /// TLS. Needs `tls_cert` and `tls_key`.
    pub tls_client_ca: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            agencies: Agency::ALL.to_vec(),
            gateway: Some(DEFAULT_GATEWAY.to_owned()),
            seed: 1,
            latency: Latency::None,
            faults: Faults::default(),
            mix: Mix::default(),
            hold_ms: 200,
            credit: CreditFactors::default(),
            rules: Vec::new(),
            ledger: None,
            report_in_flight: 32,
            queue: 4096,
            gateway_tls: ClientTls::default(),
            gateway_token: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
        }
    }
}

/// Time a delivery takes, drawn per delivery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Answer at once, without sleeping or yielding (`0`, `fixed:0`).
    None,
    /// Always this long (`fixed:MS`).
    Fixed(Duration),
    /// Uniform between the two (`uniform:MIN..MAX`, ms).
    Uniform(Duration, Duration),
    /// Exponential with this mean (`exp:MEAN`, ms).
    Exp(Duration),
}

/// Injected fault rates, each in 0..=1, drawn independently per attempt in this order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Answer UNAVAILABLE.
    pub unavailable: f64,
    /// Answer only after the caller's deadline (30 s, or at shutdown), then UNAVAILABLE.
    pub timeout: f64,
    /// Answer FAILED_PRECONDITION (a permanent refusal).
    pub refuse: f64,
}

/// Relative weights of the four decisions (they need not add up to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    /// Released (or passed, settled, bill issued).
    pub release: f64,
    /// Inspected, released after the hold.
    pub inspect: f64,
    /// Detained for good.
    pub detain: f64,
    /// Rejected.
    pub reject: f64,
}

impl Mix {
    /// Every decision a release (a pass): for benchmarks of the fan-out itself.
    pub const RELEASE_ONLY: Mix = Mix {
        release: 1.0,
        inspect: 0.0,
        detain: 0.0,
        reject: 0.0,
    };
}

impl Default for Mix {
    fn default() -> Mix {
        Mix {
            release: 0.90,
            inspect: 0.05,
            detain: 0.0,
            reject: 0.05,
        }
    }
}

/// Factors on the customs inspect weight per credit class (`Delivery.credit`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreditFactors {
    /// `advanced`.
    pub advanced: f64,
    /// `general`.
    pub general: f64,
    /// `untrusted`.
    pub untrusted: f64,
}

impl Default for CreditFactors {
    fn default() -> CreditFactors {
        CreditFactors {
            advanced: 0.5,
            general: 1.0,
            untrusted: 3.0,
        }
    }
}

impl CreditFactors {
    /// The factor of credit class `credit`; 1 for "" and for a class it does not know.
    pub fn factor(&self, credit: &str) -> f64 {
        match credit {
            "advanced" => self.advanced,
            "general" => self.general,
            "untrusted" => self.untrusted,
            _ => 1.0,
        }
    }
}

/// An override for the shipments whose order number starts with `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Order-number prefix (not empty).
    pub prefix: String,
    /// What happens to their deliveries.
    pub action: RuleAction,
}

/// What a [`Rule`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// This decision, whatever the weights say.
    Decide(Decision),
    /// Every delivery is refused (FAILED_PRECONDITION), so the gateway dead-letters it.
    Refuse,
}

/// A value the simulator cannot run with, named by its flag.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is out of range or does not parse.
    #[error("{flag}: {reason}")]
    Invalid {
        /// The flag (`--latency`); the config file key has the same name in snake case.
        flag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The config file cannot be read or is not valid TOML for `[agency_sim]`.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

pub(super) fn invalid(flag: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        reason: reason.into(),
    }
}

impl SimConfig {
    /// Checks every value; the error names the flag.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.agencies.is_empty() {
            return Err(invalid("--agency", "no agency to simulate"));
        }
        if let Some(url) = &self.gateway {
            check_gateway(url)?;
        }
        for (flag, rate) in [
            ("--unavailable", self.faults.unavailable),
            ("--timeout", self.faults.timeout),
            ("--refuse", self.faults.refuse),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(invalid(flag, format!("a rate is 0..1, got {rate}")));
            }
        }
        let weights = [
            ("--release", self.mix.release),
            ("--inspect", self.mix.inspect),
            ("--detain", self.mix.detain),
            ("--reject", self.mix.reject),
        ];
        for (flag, weight) in weights {
            check_weight(flag, weight)?;
        }
        if weights.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            return Err(invalid("--release", "the decision weights add up to 0"));
        }
        let credit = self.credit;
        for weight in [credit.advanced, credit.general, credit.untrusted] {
            check_weight("--credit-factor", weight)?;
        }
        if let Some(rule) = self.rules.iter().find(|r| r.prefix.is_empty()) {
            return Err(invalid("--rule", format!("empty prefix in {rule:?}")));
        }
        if self.report_in_flight == 0 {
            return Err(invalid("--report-in-flight", "must be at least 1"));
        }
        if self.queue == 0 {
            return Err(invalid("--queue", "must be at least 1"));
        }
        self.check_tls()?;
        check_latency(self.latency)
    }

    /// Serves TLS (`--tls-cert` and `--tls-key` given).
    pub fn serves_tls(&self) -> bool {
        self.tls_cert.is_some()
    }

    /// The TLS flags go together: cert with key, a client CA only with both, the gateway's
    /// cert with its key, and an `https://` gateway needs its CA. Files are read at start.
    fn check_tls(&self) -> Result<(), ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err(invalid("--tls-key", "--tls-cert needs --tls-key")),
            (None, Some(_)) => return Err(invalid("--tls-cert", "--tls-key needs --tls-cert")),
            _ => {}
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            return Err(invalid(
                "--tls-client-ca",
                "mutual TLS needs --tls-cert and --tls-key",
            ));
        }
        let tls = &self.gateway_tls;
        match (&tls.cert, &tls.key) {
            (Some(_), None) => {
                return Err(invalid(
                    "--gateway-tls-key",
                    "--gateway-tls-cert needs --gateway-tls-key",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "--gateway-tls-cert",
                    "--gateway-tls-key needs --gateway-tls-cert",
                ))
            }
            _ => {}
        }
        match &self.gateway {
            Some(url) if url.starts_with("https://") && tls.ca.is_none() => Err(invalid(
                "--gateway-tls-ca",
                format!("the https:// gateway {url:?} needs the CA of its certificate"),
            )),
            _ => Ok(()),
        }
    }
}

/// Checks that `url` is an `http://` or `https://` address the reporter can call.
pub fn check_gateway(url: &str) -> Result<(), ConfigError> {
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(invalid(
            "--gateway",
            format!("{url:?} is not an http:// or https:// URL"),
        ));
    }
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .map(drop)
        .map_err(|err| invalid("--gateway", format!("{url:?}: {err}")))
}

pub(super) fn check_weight(flag: &'static str, weight: f64) -> Result<(), ConfigError> {
    if weight.is_finite() && weight >= 0.0 {
        return Ok(());
    }
    Err(invalid(
        flag,
        format!("a weight is a finite number ≥ 0, got {weight}"),
    ))
}

pub(super) fn check_latency(latency: Latency) -> Result<(), ConfigError> {
    match latency {
        Latency::Uniform(min, max) if min > max => Err(invalid(
            "--latency",
            format!("uniform: {min:?} is above {max:?}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_flag() {
        type Change = fn(&mut SimConfig);
        let cases: [(Change, &str); 11] = [
            (|c| c.tls_cert = Some("c.pem".into()), "--tls-key"),
            (|c| c.tls_key = Some("k.pem".into()), "--tls-cert"),
            (
                |c| c.tls_client_ca = Some("ca.pem".into()),
                "--tls-client-ca",
            ),
            (
                |c| c.gateway_tls.cert = Some("c.pem".into()),
                "--gateway-tls-key",
            ),
            (
                |c| c.gateway = Some("https://127.0.0.1:1".into()),
                "--gateway-tls-ca",
            ),
            (|c| c.faults.unavailable = 2.0, "--unavailable"),
            (|c| c.faults.timeout = -0.1, "--timeout"),
            (|c| c.mix.detain = f64::NAN, "--detain"),
            (|c| c.gateway = Some("127.0.0.1:1".into()), "--gateway"),
            (|c| c.agencies.clear(), "--agency"),
            (
                |c| {
                    c.mix = Mix {
                        release: 0.0,
                        inspect: 0.0,
                        detain: 0.0,
                        reject: 0.0,
                    }
                },
                "--release",
            ),
        ];
        assert!(SimConfig::default().check().is_ok());
        for (change, flag) in cases {
            let mut config = SimConfig::default();
            change(&mut config);
            let err = config.check().expect_err(flag).to_string();
            assert!(err.starts_with(flag), "{flag}: {err}");
        }
    }
}
