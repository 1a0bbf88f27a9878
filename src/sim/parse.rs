//! The textual forms of the simulator's settings (`fixed:5`, `advanced=0.5,…`, `PREFIX=reject`,
//! `customs,tax`) parsed into [`config`](super::config) values (pure). Errors name the flag.

use std::time::Duration;

use crate::domain::Agency;

use super::config::{
    check_latency, check_weight, invalid, ConfigError, CreditFactors, Latency, Rule, RuleAction,
};
use super::decide::Decision;

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
pub fn parse_credit_factors(text: &str, base: CreditFactors) -> Result<CreditFactors, ConfigError> {
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
                    format!("{text:?}: {name:?} is not release, inspect, detain, reject or refuse"),
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
            (
                "fixed:0.5",
                Some(Latency::Fixed(Duration::from_micros(500))),
            ),
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
}
