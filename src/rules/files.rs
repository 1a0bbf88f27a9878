//! The TOML files of `config/rules/` and how they become [`Rules`]: parse with unknown keys
//! refused, then check every value, naming file and key on error.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use aho_corasick::AhoCorasick;
use serde::Deserialize;

use super::policy::PolicyFile;
use super::tables::{CodeSet, Enterprise, HsEntry, NegativeList};
use super::{Checks, Rules, RulesError, TaxPolicy};
use crate::ceb::Limits;
use crate::domain::{CountryCode, CurrencyCode, CustomsCode, Decimal, HsCode, UnitCode};

/// The rule files, by name.
pub(super) struct FileNames {
    limits: &'static str,
    countries: &'static str,
    currencies: &'static str,
    units: &'static str,
    customs: &'static str,
    hs: &'static str,
    negative: &'static str,
    enterprises: &'static str,
    routing: &'static str,
}

pub(super) const EMBEDDED: FileNames = FileNames {
    limits: "limits.toml",
    countries: "countries.toml",
    currencies: "currencies.toml",
    units: "units.toml",
    customs: "customs.toml",
    hs: "hs.toml",
    negative: "negative_list.toml",
    enterprises: "enterprises.toml",
    routing: "routing.toml",
};

macro_rules! embed {
    ($($name:literal),*) => {
        &[$(($name, include_str!(concat!("../../config/rules/", $name)))),*]
    };
}

/// The shipped rule files, built into the binary.
pub(super) const EMBEDDED_TEXT: &[(&str, &str)] = embed!(
    "limits.toml",
    "countries.toml",
    "currencies.toml",
    "units.toml",
    "customs.toml",
    "hs.toml",
    "negative_list.toml",
    "enterprises.toml",
    "routing.toml"
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    decode: Limits,
    tax: TaxFile,
    checks: ChecksFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxFile {
    single_transaction_limit: Decimal,
    annual_limit: Decimal,
    retail_factor: Decimal,
    tolerance: Decimal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    import_currency: String,
    pack_no: i32,
    require_buyer_id_card: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodesFile {
    codes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HsFile {
    hs: Vec<HsLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HsLine {
    code: String,
    name: String,
    category: String,
    vat: Decimal,
    consumption: Decimal,
    tariff: Option<Decimal>,
    inspection: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NegativeFile {
    hs_codes: Vec<String>,
    hs_prefixes: Vec<String>,
    keywords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnterprisesFile {
    enterprise: Vec<Enterprise>,
}

fn parse<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, RulesError> {
    toml::from_str(text).map_err(|source| RulesError::Parse {
        file: file.to_owned(),
        source: Box::new(source),
    })
}

fn invalid(file: &'static str, key: impl Into<String>, problem: impl Into<String>) -> RulesError {
    RulesError::Invalid {
        file,
        key: key.into(),
        problem: problem.into(),
    }
}

/// Reads every file through `read` and builds checked rules.
pub(super) fn load(
    names: &FileNames,
    read: impl Fn(&str) -> Result<String, RulesError>,
) -> Result<Rules, RulesError> {
    let limits: LimitsFile = parse(names.limits, &read(names.limits)?)?;
    let (tax, checks) = policy(names.limits, &limits)?;
    let hs = hs_table(names.hs, parse(names.hs, &read(names.hs)?)?)?;
    let negative = negative_list(
        names.negative,
        parse(names.negative, &read(names.negative)?)?,
    )?;
    for entry in hs.values() {
        if let Some(rule) = negative.refuses_code(entry.code) {
            let problem = format!("also refused by the negative list entry {rule}");
            return Err(invalid(names.hs, entry.code.to_string(), problem));
        }
    }
    let enterprises: EnterprisesFile = parse(names.enterprises, &read(names.enterprises)?)?;
    let policy = parse::<PolicyFile>(names.routing, &read(names.routing)?)?
        .check()
        .map_err(|(key, problem)| invalid(names.routing, key, problem))?;
    Ok(Rules {
        policy,
        limits: limits.decode,
        tax,
        checks,
        countries: code_set(names.countries, &read(names.countries)?, |c| {
            CountryCode::parse_str(c).map(CountryCode::number)
        })?,
        currencies: code_set(names.currencies, &read(names.currencies)?, |c| {
            CurrencyCode::parse_str(c).map(CurrencyCode::number)
        })?,
        units: code_set(names.units, &read(names.units)?, |c| {
            UnitCode::parse_str(c).map(UnitCode::number)
        })?,
        customs: code_set(names.customs, &read(names.customs)?, |c| {
            CustomsCode::parse_str(c).map(CustomsCode::number)
        })?,
        hs,
        negative,
        enterprises: register(names.enterprises, enterprises)?,
    })
}

fn policy(file: &'static str, limits: &LimitsFile) -> Result<(TaxPolicy, Checks), RulesError> {
    let d = &limits.decode;
    for (key, value) in [
        ("decode.max_message_bytes", d.max_message_bytes),
        ("decode.max_depth", d.max_depth),
        ("decode.max_text_bytes", d.max_text_bytes),
        ("decode.max_blocks", d.max_blocks),
    ] {
        if value == 0 {
            return Err(invalid(file, key, "must be greater than 0"));
        }
    }
    if d.max_depth < 8 {
        return Err(invalid(
            file,
            "decode.max_depth",
            "CEB messages need at least 8",
        ));
    }
    let t = &limits.tax;
    if t.single_transaction_limit <= Decimal::ZERO || t.annual_limit < t.single_transaction_limit {
        return Err(invalid(
            file,
            "tax.annual_limit",
            "limits must be positive and the annual limit at least the single-transaction limit",
        ));
    }
    if t.retail_factor <= Decimal::ZERO || t.retail_factor > Decimal::from_units(1) {
        return Err(invalid(file, "tax.retail_factor", "must be in (0, 1]"));
    }
    if t.tolerance.is_negative() {
        return Err(invalid(file, "tax.tolerance", "must not be negative"));
    }
    let currency = CurrencyCode::parse_str(&limits.checks.import_currency)
        .map_err(|e| invalid(file, "checks.import_currency", e.to_string()))?;
    Ok((
        TaxPolicy {
            single_transaction_limit: t.single_transaction_limit,
            annual_limit: t.annual_limit,
            retail_factor: t.retail_factor,
            tolerance: t.tolerance,
        },
        Checks {
            import_currency: currency,
            pack_no: limits.checks.pack_no,
            require_buyer_id_card: limits.checks.require_buyer_id_card,
        },
    ))
}

fn code_set<E: std::fmt::Display>(
    file: &'static str,
    text: &str,
    number: impl Fn(&str) -> Result<u16, E>,
) -> Result<CodeSet, RulesError> {
    let parsed: CodesFile = parse(file, text)?;
    let digits = parsed.codes.keys().next().map_or(3, |k| k.len() as u32);
    let mut set = CodeSet::new(digits);
    for code in parsed.codes.keys() {
        let n = number(code).map_err(|e| invalid(file, code, e.to_string()))?;
        set.insert(n);
    }
    if set.is_empty() {
        return Err(invalid(file, "codes", "the table is empty"));
    }
    Ok(set)
}

fn hs_table(file: &'static str, parsed: HsFile) -> Result<HashMap<u64, HsEntry>, RulesError> {
    let mut table = HashMap::with_capacity_and_hasher(parsed.hs.len(), Default::default());
    let one = Decimal::from_units(1);
    for line in parsed.hs {
        let code =
            HsCode::parse_str(&line.code).map_err(|e| invalid(file, &line.code, e.to_string()))?;
        let rate_ok = |r: Decimal| !r.is_negative() && r < one;
        if !rate_ok(line.vat) || !rate_ok(line.consumption) || !line.tariff.is_none_or(rate_ok) {
            return Err(invalid(file, &line.code, "rates must be in [0, 1)"));
        }
        let entry = HsEntry {
            code,
            name: line.name,
            category: line.category,
            vat: line.vat,
            consumption: line.consumption,
            tariff: line.tariff,
            inspection: line.inspection,
        };
        if table.insert(code.number(), entry).is_some() {
            return Err(invalid(file, &line.code, "listed twice"));
        }
    }
    Ok(table)
}

fn negative_list(file: &'static str, parsed: NegativeFile) -> Result<NegativeList, RulesError> {
    let mut codes = Vec::with_capacity(parsed.hs_codes.len());
    for code in &parsed.hs_codes {
        let hs = HsCode::parse_str(code).map_err(|e| invalid(file, code, e.to_string()))?;
        codes.push(hs.number());
    }
    for prefix in &parsed.hs_prefixes {
        if prefix.is_empty() || prefix.len() > 10 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(file, prefix, "an HS prefix is 1 to 10 digits"));
        }
    }
    if parsed.keywords.iter().any(|k| k.trim().is_empty()) {
        return Err(invalid(file, "keywords", "a keyword must not be blank"));
    }
    let prefix_numbers = parsed
        .hs_prefixes
        .iter()
        .map(|p| (p.parse().unwrap_or(0), p.len() as u32))
        .collect();
    let matcher = AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(&parsed.keywords)
        .map_err(|e| invalid(file, "keywords", e.to_string()))?;
    Ok(NegativeList {
        codes,
        prefixes: parsed.hs_prefixes,
        prefix_numbers,
        keywords: parsed.keywords,
        matcher: Some(matcher),
    })
}

fn register(
    file: &'static str,
    parsed: EnterprisesFile,
) -> Result<HashMap<String, Enterprise>, RulesError> {
    let mut register =
        HashMap::with_capacity_and_hasher(parsed.enterprise.len(), Default::default());
    for ent in parsed.enterprise {
        if crate::domain::EntCode::parse_str(ent.code.as_str()).is_err() {
            return Err(invalid(
                file,
                &ent.code,
                "an enterprise code is letters and digits",
            ));
        }
        if ent.roles.is_empty() {
            return Err(invalid(file, &ent.code, "has no roles"));
        }
        let code = ent.code.clone();
        if register.insert(code.clone(), ent).is_some() {
            return Err(invalid(file, code, "listed twice"));
        }
    }
    Ok(register)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, text: &'static str) -> Result<Rules, RulesError> {
        load(&EMBEDDED, |n| {
            if n == name {
                return Ok(text.to_owned());
            }
            Ok(EMBEDDED_TEXT
                .iter()
                .find(|(f, _)| *f == n)
                .unwrap()
                .1
                .to_owned())
        })
    }

    #[test]
    fn the_shipped_rules_load_and_know_the_sample_codes() {
        let rules = Rules::embedded().unwrap();
        assert!(rules.countries.contains(116) && rules.countries.contains(142));
        assert!(rules.currencies.contains(142));
        assert!(rules.units.contains(7) && rules.units.contains(35));
        assert!(rules.customs.contains(3700) && rules.customs.contains(8030));
        assert!(rules.hs.contains_key(&8_541_401_000));
        assert!(rules.enterprise("1105910159").is_some());
        assert!(
            rules.countries.len() > 200,
            "the whole country table is shipped"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_file_and_key() {
        let err = with("limits.toml", "[decode]\nmax_depth = 3\nbogus = 1\n").unwrap_err();
        assert!(
            err.to_string().contains("limits.toml") && err.to_string().contains("bogus"),
            "{err}"
        );
        let err = with("units.toml", "[codes]\n\"07\" = \"piece\"\n").unwrap_err();
        assert!(err.to_string().contains("units.toml: 07"), "{err}");
        let err = with(
            "hs.toml",
            "[[hs]]\ncode = \"9302000000\"\nname = \"pistol\"\ncategory = \"other\"\nvat = \"0.13\"\nconsumption = \"0\"\ninspection = false\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("negative list"), "{err}");
        let err = with(
            "hs.toml",
            "[[hs]]\ncode = \"3304990099\"\nname = \"x\"\ncategory = \"cosmetics\"\nvat = \"1.3\"\nconsumption = \"0\"\ninspection = true\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("rates must be"), "{err}");
    }
}
