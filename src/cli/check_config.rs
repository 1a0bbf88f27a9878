//! `single-window check-config`: load the configuration as `serve` would (defaults < file <
//! environment), check what `serve` would refuse, load and check the rule tables it names, then
//! print the effective configuration as TOML with its secrets redacted and a summary of the
//! rules. Redaction is by key name (any key containing `password`, `secret`, `key` or `token`,
//! whatever it holds, and everything under a table so named) and by value (the userinfo of a
//! URL, `http://user:pass@host`), so that keys added later are covered too.

use std::io::Write;
use std::path::Path;

use super::CheckConfigArgs;
use crate::config::{Config, ConfigError};
use crate::domain::Agency;
use crate::rules::Rules;

/// Exit code: the configuration and the rules are valid.
pub const EXIT_VALID: i32 = 0;
/// Exit code: they are not.
pub const EXIT_INVALID: i32 = 2;

/// What replaces a secret.
pub const REDACTED: &str = "<redacted>";

/// Words that make a key's value secret.
const SECRET_WORDS: [&str; 4] = ["password", "secret", "key", "token"];

/// Checks and prints; `env` reads the environment (`|name| std::env::var(name).ok()`).
pub fn run(
    args: &CheckConfigArgs,
    env: impl Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> std::io::Result<i32> {
    let file = args.config.as_deref();
    let config = match Config::load(file, &env) {
        Ok(config) => config,
        Err(err) => {
            writeln!(out, "error: {}", describe(&err))?;
            return Ok(EXIT_INVALID);
        }
    };
    if let Err(problem) = check(&config, file, &env) {
        writeln!(out, "error: {problem}")?;
        return Ok(EXIT_INVALID);
    }
    let (rules, origin) = match &config.rules.dir {
        Some(dir) => (Rules::load_dir(dir), format!("folder {}", dir.display())),
        None => (Rules::embedded(), "the built-in copy".to_owned()),
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(err) => {
            writeln!(out, "error: rules: {err}")?;
            return Ok(EXIT_INVALID);
        }
    };
    let layers = match file {
        Some(path) => format!("defaults < {} < environment", path.display()),
        None => "defaults < environment".to_owned(),
    };
    writeln!(
        out,
        "# the effective configuration ({layers}), secrets redacted"
    )?;
    write!(out, "{}", redacted_toml(&config))?;
    writeln!(out)?;
    write!(out, "{}", rules_summary(&rules, &origin))?;
    Ok(EXIT_VALID)
}

/// The configuration as TOML with its secrets replaced by [`REDACTED`].
pub fn redacted_toml(config: &Config) -> String {
    let text = config.to_toml();
    let Ok(mut table) = toml::from_str::<toml::Table>(&text) else {
        return text;
    };
    for (name, value) in table.iter_mut() {
        redact(name, value, false);
    }
    // One section at a time, in the order of `Config` (and of `config/default.toml`).
    let order = text
        .lines()
        .filter_map(|line| line.strip_prefix('[')?.strip_suffix(']'));
    let mut sections = Vec::new();
    for name in order {
        if let Some((name, value)) = table.remove_entry(name) {
            sections.push(toml::Table::from_iter([(name, value)]));
        }
    }
    sections.insert(0, table);
    let shown: Result<Vec<String>, _> = sections
        .iter()
        .filter(|section| !section.is_empty())
        .map(toml::to_string)
        .collect();
    match shown {
        Ok(shown) => shown.join("\n"),
        Err(error) => format!("# the config cannot be shown as TOML: {error}\n"),
    }
}

/// A summary of the rule tables, as TOML comments.
pub fn rules_summary(rules: &Rules, origin: &str) -> String {
    let inspected = rules.hs.values().filter(|h| h.inspection).count();
    let active = rules
        .enterprises
        .values()
        .filter(|e| e.status == crate::rules::EntStatus::Active)
        .count();
    let policy = &rules.policy;
    let names = |agencies: &[Agency]| {
        let names: Vec<&str> = agencies.iter().map(|a| a.name()).collect();
        names.join(", ")
    };
    let codes = |codes: &[i32]| {
        let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
        codes.join(", ")
    };
    let n = &rules.negative;
    [
        format!("# rules: {origin}"),
        format!(
            "#   codes: {} countries, {} currencies, {} units, {} customs districts and ports",
            rules.countries.len(),
            rules.currencies.len(),
            rules.units.len(),
            rules.customs.len()
        ),
        format!(
            "#   HS lines: {} ({inspected} subject to inspection)",
            rules.hs.len()
        ),
        format!(
            "#   negative list: {} HS codes, {} prefixes, {} goods-name keywords",
            n.codes.len(),
            n.prefixes.len(),
            n.keywords.len()
        ),
        format!(
            "#   enterprises: {} registered ({active} active)",
            rules.enterprises.len()
        ),
        format!(
            "#   release policy: requires {}; held on {}; rejected on {} and negative codes",
            names(&policy.require),
            codes(&policy.hold),
            codes(&policy.reject)
        ),
        format!(
            "#   routing: tax {}, fx {}",
            if policy.derive_tax {
                "derived at T1 unless declared"
            } else {
                "declared by the seller"
            },
            if policy.fx_payment_voucher {
                "gets the payment voucher unless a settlement is declared"
            } else {
                "declared by the seller"
            }
        ),
        String::new(),
    ]
    .join("\n")
}

/// What `serve` would refuse in a loaded config, naming where the value came from and its key.
fn check(
    config: &Config,
    file: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let origin = |var: &str| match (env(var), file) {
        (Some(_), _) => var.to_owned(),
        (None, Some(path)) => path.display().to_string(),
        (None, None) => "defaults".to_owned(),
    };
    // TLS files and the register of identities, read and checked as `serve` would.
    let security = crate::api::Security::load(&config.tls).map_err(|error| format!("{error:#}"))?;
    let listen = config.server.listen;
    if let Err(error) = security.check_address("server.listen", listen) {
        return Err(format!(
            "{}: {error}",
            origin("SINGLE_WINDOW_SERVER_LISTEN")
        ));
    }
    let admin = config.admin.listen;
    if !admin.ip().is_loopback() {
        return Err(format!(
            "{}: admin.listen: {admin} is not a loopback address; the admin port is plaintext, \
             so loopback only",
            origin("SINGLE_WINDOW_ADMIN_LISTEN")
        ));
    }
    for agency in Agency::ALL {
        let Some(url) = config.agencies.endpoint(agency) else {
            continue;
        };
        let name = agency.name();
        let var = format!("SINGLE_WINDOW_AGENCIES_{}", name.to_uppercase());
        let shown = redact_userinfo(url).unwrap_or_else(|| url.to_owned());
        // As the dispatcher will connect: an http(s) URL, TLS material read, plaintext to
        // loopback only.
        if let Err(error) = config.agencies.client_tls().endpoint(url) {
            let error = format!("{error:#}").replace(url, &shown);
            return Err(format!("{}: agencies.{name}: {error}", origin(&var)));
        }
    }
    Ok(())
}

/// A load error for people; a value that does not fit its key names the key.
fn describe(err: &ConfigError) -> String {
    let ConfigError::Parse { path, error } = err else {
        return err.to_string();
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let Some(offset) = error.span().map(|span| span.start) else {
        return err.to_string();
    };
    let line = text
        .get(..offset)
        .map_or(0, |before| before.matches('\n').count() + 1);
    match key_at(&text, offset) {
        Some(key) => format!(
            "{}: {key}: {} (line {line})",
            path.display(),
            error.message().trim_end()
        ),
        None => err.to_string(),
    }
}

/// The dotted key whose line holds byte `offset` of TOML `text` (`server.listen`), or the
/// section whose header it is on.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = text.get(line_start..)?.lines().next().unwrap_or_default();
    let header = |line: &str| {
        let line = line.trim();
        line.starts_with('[').then(|| {
            line.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        })
    };
    if let Some(section) = header(line) {
        return Some(section);
    }
    let section = before[..line_start].lines().rev().find_map(header);
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() {
        return section;
    }
    Some(match section {
        Some(section) => format!("{section}.{key}"),
        None => key.to_owned(),
    })
}

/// Redacts `value` of key `name` in place; `secret`: an enclosing key was secret.
fn redact(name: &str, value: &mut toml::Value, secret: bool) {
    let lower = name.to_ascii_lowercase();
    let secret = secret || SECRET_WORDS.iter().any(|word| lower.contains(word));
    match value {
        toml::Value::Table(table) => {
            for (name, value) in table.iter_mut() {
                redact(name, value, secret);
            }
        }
        toml::Value::Array(values) => {
            for value in values {
                redact(name, value, secret);
            }
        }
        // An empty value hides nothing (and shows that none is set).
        toml::Value::String(text) if secret && text.is_empty() => {}
        _ if secret => *value = toml::Value::String(REDACTED.to_owned()),
        toml::Value::String(text) => {
            if let Some(redacted) = redact_userinfo(text) {
                *text = redacted;
            }
        }
        _ => {}
    }
}

/// `scheme://user:pass@host/…` with the userinfo redacted; `None` when there is none.
fn redact_userinfo(url: &str) -> Option<String> {
    let authority_at = url.find("://")? + 3;
    let rest = &url[authority_at..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!("{}{REDACTED}{}", &url[..authority_at], &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted_from_urls() {
        let cases = [
            (
                "http://user:pass@host:1/x",
                Some("http://<redacted>@host:1/x"),
            ),
            ("https://token@host", Some("https://<redacted>@host")),
            ("http://host/a@b", None),
            ("http://127.0.0.1:50061", None),
            ("user:pass@host", None),
            ("", None),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_userinfo(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn secret_keys_are_redacted_at_any_depth_and_other_values_are_kept() {
        let mut table: toml::Table = toml::from_str(
            "[tls]\nkey_file = \"k.pem\"\nport = 1\n[db]\npassword = 7\nurl = \"http://a:b@h\"\n\
             [api_keys]\nlist = [\"x\", \"y\"]\n[s]\nclient_secret = \"z\"\nname = \"n\"\n",
        )
        .unwrap();
        for (name, value) in table.iter_mut() {
            redact(name, value, false);
        }
        let expected: toml::Table = toml::from_str(
            "[tls]\nkey_file = \"<redacted>\"\nport = 1\n[db]\npassword = \"<redacted>\"\n\
             url = \"http://<redacted>@h\"\n[api_keys]\nlist = [\"<redacted>\", \"<redacted>\"]\n\
             [s]\nclient_secret = \"<redacted>\"\nname = \"n\"\n",
        )
        .unwrap();
        assert_eq!(table, expected);
    }

    #[test]
    fn the_key_of_an_offset_is_dotted_with_its_section() {
        let text = "top = 1\n[server]\n# c\nlisten = \"x\"\n[store]\nqueue = 0\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(key_at(text, at("1")).as_deref(), Some("top"));
        assert_eq!(key_at(text, at("\"x\"")).as_deref(), Some("server.listen"));
        assert_eq!(key_at(text, at("0\n")).as_deref(), Some("store.queue"));
        assert_eq!(key_at(text, at("[store]")).as_deref(), Some("store"));
    }
}
