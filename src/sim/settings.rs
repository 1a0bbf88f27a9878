//! The simulator's settings as given: every value optional, from the `[agency_sim]` section of
//! a TOML file or from the `agency-sim` flags (same names, snake case in the file). Layers are
//! overlaid (flags over file) and then resolved into a checked [`SimConfig`] (pure but for
//! reading the one file).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::client::ClientTls;

use super::config::{self, ConfigError, SimConfig};
use super::parse::{parse_agencies, parse_credit_factors, parse_latency, parse_rule};

/// Where `agency-sim` listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50061";

/// Settings of `agency-sim`; `None` leaves the value to the layer below (in the end, the
/// default).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `--listen`: address to listen on (loopback only).
    pub listen: Option<SocketAddr>,
    /// `--agency`: customs, inspection, fx, tax or all (each may be a comma list).
    pub agency: Option<OneOrMany>,
    /// `--gateway`: URL of the gateway's `Receipts` service.
    pub gateway: Option<String>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--latency`: `0`, `fixed:MS`, `uniform:MIN..MAX`, `exp:MEAN`.
    pub latency: Option<String>,
    /// `--unavailable`: rate of UNAVAILABLE answers.
    pub unavailable: Option<f64>,
    /// `--timeout`: rate of answers after the caller's deadline.
    pub timeout: Option<f64>,
    /// `--refuse`: rate of FAILED_PRECONDITION answers.
    pub refuse: Option<f64>,
    /// `--release`: weight.
    pub release: Option<f64>,
    /// `--inspect`: weight.
    pub inspect: Option<f64>,
    /// `--detain`: weight.
    pub detain: Option<f64>,
    /// `--reject`: weight.
    pub reject: Option<f64>,
    /// `--hold-ms`.
    pub hold_ms: Option<u64>,
    /// `--credit-factor`: `advanced=0.5,general=1,untrusted=3`.
    pub credit_factor: Option<String>,
    /// `--rule`: `PREFIX=DECISION` items.
    pub rule: Option<OneOrMany>,
    /// `--ledger`: the ledger file.
    pub ledger: Option<PathBuf>,
    /// `--report-in-flight`: receipt reports at once.
    pub report_in_flight: Option<usize>,
    /// `--queue`: receipt batches waiting for the reporter.
    pub queue: Option<usize>,
    /// `--gateway-tls-ca`: PEM CA of the gateway's certificate (an `https://` gateway).
    pub gateway_tls_ca: Option<PathBuf>,
    /// `--gateway-tls-cert`: PEM certificate the simulator presents to the gateway.
    pub gateway_tls_cert: Option<PathBuf>,
    /// `--gateway-tls-key`: PEM key of `gateway_tls_cert`.
    pub gateway_tls_key: Option<PathBuf>,
    /// `--tls-cert`: PEM certificate the simulator serves TLS with.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`: PEM key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-client-ca`: PEM CA the gateway's client certificate must be signed by.
    pub tls_client_ca: Option<PathBuf>,
}

/// A string or a list of strings (`agency = "customs,tax"` or `agency = ["customs", "tax"]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
    pub fn items(&self) -> &[String] {
        match self {
            OneOrMany::One(one) => std::slice::from_ref(one),
            OneOrMany::Many(many) => many,
        }
    }
}

/// The resolved settings: where to listen and what to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The listening address (loopback).
    pub listen: SocketAddr,
    /// The simulator's configuration, checked.
    pub config: SimConfig,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    agency_sim: Settings,
}

impl Settings {
    /// The `[agency_sim]` section of TOML `text` (other sections are ignored); `path` only
    /// names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        let file: File = toml::from_str(text).map_err(|err| ConfigError::File {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        Ok(file.agency_sim)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::File {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        Settings::parse(&text, path)
    }

    /// `top` over `self`: each value `top` has wins.
    pub fn overlay(self, top: Settings) -> Settings {
        Settings {
            listen: top.listen.or(self.listen),
            agency: top.agency.or(self.agency),
            gateway: top.gateway.or(self.gateway),
            seed: top.seed.or(self.seed),
            latency: top.latency.or(self.latency),
            unavailable: top.unavailable.or(self.unavailable),
            timeout: top.timeout.or(self.timeout),
            refuse: top.refuse.or(self.refuse),
            release: top.release.or(self.release),
            inspect: top.inspect.or(self.inspect),
            detain: top.detain.or(self.detain),
            reject: top.reject.or(self.reject),
            hold_ms: top.hold_ms.or(self.hold_ms),
            credit_factor: top.credit_factor.or(self.credit_factor),
            rule: top.rule.or(self.rule),
            ledger: top.ledger.or(self.ledger),
            report_in_flight: top.report_in_flight.or(self.report_in_flight),
            queue: top.queue.or(self.queue),
            gateway_tls_ca: top.gateway_tls_ca.or(self.gateway_tls_ca),
            gateway_tls_cert: top.gateway_tls_cert.or(self.gateway_tls_cert),
            gateway_tls_key: top.gateway_tls_key.or(self.gateway_tls_key),
            tls_cert: top.tls_cert.or(self.tls_cert),
            tls_key: top.tls_key.or(self.tls_key),
            tls_client_ca: top.tls_client_ca.or(self.tls_client_ca),
        }
    }

    /// The defaults with these settings applied, checked; errors name the flag.
    pub fn resolve(self) -> Result<Resolved, ConfigError> {
        let listen = match self.listen {
            Some(listen) => listen,
            None => DEFAULT_LISTEN.parse().map_err(|_| ConfigError::Invalid {
                flag: "--listen",
                reason: format!("bad default {DEFAULT_LISTEN}"),
            })?,
        };
        if !listen.ip().is_loopback() {
            return Err(ConfigError::Invalid {
                flag: "--listen",
                reason: format!(
                    "{listen} is not a loopback address (plaintext is for loopback only)"
                ),
            });
        }
        let mut config = SimConfig::default();
        if let Some(agency) = &self.agency {
            config.agencies = parse_agencies(agency.items())?;
        }
        if let Some(gateway) = self.gateway {
            config::check_gateway(&gateway)?;
            config.gateway = Some(gateway);
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(latency) = &self.latency {
            config.latency = parse_latency(latency)?;
        }
        let faults = &mut config.faults;
        set(&mut faults.unavailable, self.unavailable);
        set(&mut faults.timeout, self.timeout);
        set(&mut faults.refuse, self.refuse);
        let mix = &mut config.mix;
        set(&mut mix.release, self.release);
        set(&mut mix.inspect, self.inspect);
        set(&mut mix.detain, self.detain);
        set(&mut mix.reject, self.reject);
        set(&mut config.hold_ms, self.hold_ms);
        if let Some(text) = &self.credit_factor {
            config.credit = parse_credit_factors(text, config.credit)?;
        }
        if let Some(rules) = &self.rule {
            config.rules = rules
                .items()
                .iter()
                .map(|r| parse_rule(r))
                .collect::<Result<_, _>>()?;
        }
        config.ledger = self.ledger;
        set(&mut config.report_in_flight, self.report_in_flight);
        set(&mut config.queue, self.queue);
        config.gateway_tls = ClientTls {
            ca: self.gateway_tls_ca,
            cert: self.gateway_tls_cert,
            key: self.gateway_tls_key,
        };
        config.tls_cert = self.tls_cert;
        config.tls_key = self.tls_key;
        config.tls_client_ca = self.tls_client_ca;
        config.check()?;
        Ok(Resolved { listen, config })
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Agency;
    use crate::sim::config::{Latency, RuleAction};
    use crate::sim::decide::Decision;

    const FILE: &str = r#"
[server]
listen = "127.0.0.1:1"

[agency_sim]
agency = ["customs", "tax"]
seed = 9
latency = "fixed:3"
reject = 0.5
rule = "SO-X=refuse"
credit_factor = "untrusted=10"
"#;

    #[test]
    fn a_file_section_resolves_and_flags_win() {
        let file = Settings::parse(FILE, Path::new("sim.toml")).unwrap();
        let flags = Settings {
            seed: Some(4),
            agency: Some(OneOrMany::One("fx".into())),
            ..Settings::default()
        };
        let Resolved { listen, config } = file.clone().overlay(flags).resolve().unwrap();
        assert_eq!(listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(config.seed, 4);
        assert_eq!(config.agencies, [Agency::Fx]);
        assert_eq!(
            config.latency,
            Latency::Fixed(std::time::Duration::from_millis(3))
        );
        assert_eq!(config.mix.reject, 0.5);
        assert_eq!(config.mix.release, 0.9);
        assert_eq!(config.credit.untrusted, 10.0);
        assert_eq!(config.rules[0].action, RuleAction::Refuse);
        let config = file.resolve().unwrap().config;
        assert_eq!(config.agencies, [Agency::Customs, Agency::Tax]);
        assert_eq!(Decision::named("reject"), Some(Decision::Reject));
    }

    #[test]
    fn tls_keys_resolve_and_flags_win() {
        let text = "[agency_sim]\ngateway = \"https://localhost:1\"\ngateway_tls_ca = \"ca.pem\"\n\
                    tls_cert = \"sim.pem\"\ntls_key = \"sim.key\"\n";
        let file = Settings::parse(text, Path::new("f.toml")).unwrap();
        let flags = Settings {
            gateway_tls_cert: Some("me.pem".into()),
            gateway_tls_key: Some("me.key".into()),
            tls_client_ca: Some("gw-ca.pem".into()),
            ..Settings::default()
        };
        let config = file.overlay(flags).resolve().unwrap().config;
        assert_eq!(
            config.gateway_tls,
            ClientTls {
                ca: Some("ca.pem".into()),
                cert: Some("me.pem".into()),
                key: Some("me.key".into()),
            }
        );
        assert_eq!(config.tls_cert, Some(PathBuf::from("sim.pem")));
        assert_eq!(config.tls_key, Some(PathBuf::from("sim.key")));
        assert_eq!(config.tls_client_ca, Some(PathBuf::from("gw-ca.pem")));
        assert!(config.serves_tls());
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases = [
            ("listen = \"0.0.0.0:1\"", "--listen"),
            ("agency = \"police\"", "--agency"),
            ("gateway = \"localhost:1\"", "--gateway"),
            ("latency = \"slow\"", "--latency"),
            ("unavailable = 1.5", "--unavailable"),
            ("inspect = -1.0", "--inspect"),
            ("rule = [\"X=maybe\"]", "--rule"),
            ("credit_factor = \"vip=2\"", "--credit-factor"),
            ("queue = 0", "--queue"),
            ("tls_cert = \"c.pem\"", "--tls-key"),
            ("tls_client_ca = \"ca.pem\"", "--tls-client-ca"),
            ("gateway_tls_key = \"k.pem\"", "--gateway-tls-cert"),
            ("gateway = \"https://127.0.0.1:1\"", "--gateway-tls-ca"),
        ];
        for (line, flag) in cases {
            let text = format!("[agency_sim]\n{line}\n");
            let settings = Settings::parse(&text, Path::new("f.toml")).unwrap();
            let err = settings.resolve().expect_err(line).to_string();
            assert!(err.starts_with(flag), "{line}: {err}");
        }
        let err = Settings::parse("[agency_sim]\nsede = 1\n", Path::new("f.toml")).unwrap_err();
        assert!(err.to_string().contains("sede"), "{err}");
    }
}
