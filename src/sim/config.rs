//! The simulator's configuration as plain data, and the parsers of its textual forms
//! (`fixed:5`, `advanced=0.5,…`, `PREFIX=reject`). Pure: no I/O. A [`SimConfig`] is checked
//! with [`SimConfig::check`] before anything binds; `serve` and `spawn` refuse a bad one.

use std::path::PathBuf;
use std::time::Duration;

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

fn invalid(flag: &'static str, reason: impl Into<String>) -> ConfigError {
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
        check_latency(self.latency)
    }
}

/// Checks that `url` is an `http://` address the reporter can call.
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

fn check_weight(flag: &'static str, weight: f64) -> Result<(), ConfigError> {
    if weight.is_finite() && weight >= 0.0 {
        return Ok(());
    }
    Err(invalid(
        flag,
        format!("a weight is a finite number ≥ 0, got {weight}"),
    ))
}

fn check_latency(latency: Latency) -> Result<(), ConfigError> {
    match latency {
        Latency::Uniform(min, max) if min > max => Err(invalid(
            "--latency",
            format!("uniform: {min:?} is above {max:?}"),
        )),
        _ => Ok(()),
    }
}

/// Parses `0`, `fixed:MS`, `uniform:MIN..MAX` or `exp:MEAN` (milliseconds, decimals allowed).
/// Zero latencies are [`Latency::None`].
pub fn parse_latency(text: &str) -> Result<Latency, ConfigError> {
    let text = text.trim();
    let latency = match text.split_once(':') {
        None if text == "0" => Latency::None,
        Some(("fixed", ms)) => Latency::Fixed(parse_ms(ms)?),
        Some(("exp", ms)) => Latency::Exp(parse_ms(ms)?),
        Some(("uniform", range)) => {
            let Some((min, max)) = range.split_once("..") else {
                return Err(invalid(
                    "--latency",
                    format!("{text:?}: uniform takes MIN..MAX"),
                ));
            };
            Latency::Uniform(parse_ms(min)?, parse_ms(max)?)
        }
        _ => {
            return Err(invalid(
                "--latency",
                format!("{text:?}: expected 0, fixed:MS, uniform:MIN..MAX or exp:MEAN"),
            ))
        }
    };
    check_latency(latency)?;
    Ok(match latency {
        Latency::Fixed(d) | Latency::Exp(d) if d.is_zero() => Latency::None,
        Latency::Uniform(min, max) if max.is_zero() && min.is_zero() => Latency::None,
        other => other,
    })
}

fn parse_ms(text: &str) -> Result<Duration, ConfigError> {
    let ms: f64 = text
        .trim()
        .parse()
        .map_err(|_| invalid("--latency", format!("{text:?} is not a number of ms")))?;
    if !ms.is_finite() || !(0.0..=3_600_000.0).contains(&ms) {
        return Err(invalid(
            "--latency",
            format!("{text:?}: expected 0..3600000 ms"),
        ));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// Parses `advanced=0.5,general=1,untrusted=3` (any subset; the others keep `base`'s).
pub fn parse_credit_factors(
    text: &str,
    base: CreditFactors,
) -> Result<CreditFactors, ConfigError> {
    let mut factors = base;
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((class, value)) = item.split_once('=') else {
            return Err(invalid(
                "--credit-factor",
                format!("{item:?}: expected CLASS=FACTOR"),
            ));
        };
        let factor: f64 = value.trim().parse().map_err(|_| {
            invalid(
                "--credit-factor",
                format!("{item:?}: {value:?} is not a number"),
            )
        })?;
        check_weight("--credit-factor", factor)?;
        match class.trim() {
            "advanced" => factors.advanced = factor,
            "general" => factors.general = factor,
            "untrusted" => factors.untrusted = factor,
            other => {
                return Err(invalid(
                    "--credit-factor",
                    format!("unknown credit class {other:?} (advanced, general or untrusted)"),
                ))
            }
        }
    }
    Ok(factors)
}

/// Parses `PREFIX=DECISION`, DECISION one of release, inspect, detain, reject, refuse.
pub fn parse_rule(text: &str) -> Result<Rule, ConfigError> {
    let Some((prefix, action)) = text.rsplit_once('=') else {
        return Err(invalid(
            "--rule",
            format!("{text:?}: expected PREFIX=DECISION"),
        ));
    };
    let prefix = prefix.trim();
    if prefix.is_empty() {
        return Err(invalid("--rule", format!("{text:?}: empty prefix")));
    }
    let action = match action.trim() {
        "refuse" => RuleAction::Refuse,
        name => match Decision::named(name) {
            Some(decision) if decision != Decision::Cancel => RuleAction::Decide(decision),
            _ => {
                return Err(invalid(
                    "--rule",
                    format!(
                        "{text:?}: {name:?} is not release, inspect, detain, reject or refuse"
                    ),
                ))
            }
        },
    };
    Ok(Rule {
        prefix: prefix.to_owned(),
        action,
    })
}

/// Parses agency names (`customs`, `inspection`, `fx`, `tax`, `all`; each item may be a
/// comma list) into a set in the fixed order of [`Agency::ALL`].
pub fn parse_agencies<S: AsRef<str>>(names: &[S]) -> Result<Vec<Agency>, ConfigError> {
    let mut chosen = [false; 4];
    let items = names.iter().flat_map(|n| n.as_ref().split(','));
    for name in items.map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            chosen = [true; 4];
            continue;
        }
        let Some(agency) = Agency::named(name) else {
            return Err(invalid(
                "--agency",
                format!("unknown agency {name:?} (customs, inspection, fx, tax or all)"),
            ));
        };
        if let Some(i) = Agency::ALL.iter().position(|a| *a == agency) {
            chosen[i] = true;
        }
    }
    let agencies: Vec<Agency> = Agency::ALL
        .into_iter()
        .zip(chosen)
        .filter_map(|(agency, on)| on.then_some(agency))
        .collect();
    if agencies.is_empty() {
        return Err(invalid("--agency", "no agency named"));
    }
    Ok(agencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn latencies_parse() {
        let cases = [
            ("0", Some(Latency::None)),
            ("fixed:0", Some(Latency::None)),
            ("exp:0", Some(Latency::None)),
            ("uniform:0..0", Some(Latency::None)),
            ("fixed:5", Some(Latency::Fixed(ms(5)))),
            ("fixed:0.5", Some(Latency::Fixed(Duration::from_micros(500)))),
            ("uniform:1..10", Some(Latency::Uniform(ms(1), ms(10)))),
            ("exp:20", Some(Latency::Exp(ms(20)))),
            ("uniform:10..1", None),
            ("uniform:10", None),
            ("fixed:-1", None),
            ("fixed:NaN", None),
            ("fixed:inf", None),
            ("fixed", None),
            ("gauss:3", None),
            ("", None),
            ("5", None),
        ];
        for (text, want) in cases {
            let got = parse_latency(text);
            match want {
                Some(want) => assert_eq!(got.ok(), Some(want), "{text}"),
                None => {
                    let err = got.expect_err(text).to_string();
                    assert!(err.starts_with("--latency: "), "{text}: {err}");
                }
            }
        }
    }

    #[test]
    fn rules_parse() {
        let rule = parse_rule("SO-9=reject").unwrap();
        assert_eq!(rule.prefix, "SO-9");
        assert_eq!(rule.action, RuleAction::Decide(Decision::Reject));
        assert_eq!(parse_rule("X=refuse").unwrap().action, RuleAction::Refuse);
        assert_eq!(
            parse_rule("A=B=inspect").unwrap(),
            Rule {
                prefix: "A=B".into(),
                action: RuleAction::Decide(Decision::Inspect)
            }
        );
        for bad in ["X", "=release", "X=cancel", "X=maybe", "X="] {
            let err = parse_rule(bad).expect_err(bad).to_string();
            assert!(err.starts_with("--rule: "), "{bad}: {err}");
        }
    }

    #[test]
    fn credit_factors_parse() {
        let base = CreditFactors::default();
        let got = parse_credit_factors("untrusted=5, advanced=0", base).unwrap();
        assert_eq!(got.untrusted, 5.0);
        assert_eq!(got.advanced, 0.0);
        assert_eq!(got.general, 1.0);
        for bad in ["trusted=1", "advanced", "advanced=x", "general=-1"] {
            let err = parse_credit_factors(bad, base).expect_err(bad).to_string();
            assert!(err.starts_with("--credit-factor: "), "{bad}: {err}");
        }
    }

    #[test]
    fn agencies_parse() {
        assert_eq!(parse_agencies(&["all"]).unwrap(), Agency::ALL.to_vec());
        assert_eq!(
            parse_agencies(&["tax,customs", "tax"]).unwrap(),
            vec![Agency::Customs, Agency::Tax]
        );
        assert!(parse_agencies(&["police"]).is_err());
        assert!(parse_agencies::<&str>(&[]).is_err());
    }

    #[test]
    fn checks_name_the_flag() {
        let cases: [(fn(&mut SimConfig), &str); 6] = [
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
