//! The register of identities (pure): a TOML file of `[[identity]]` entries.
//!
//! ```toml
//! [[identity]]
//! name = "Hangzhou platform"
//! fingerprint = "5f:1c:…"            # SHA-256 of the certificate (DER), hex, colons allowed
//! enterprise = "1105910159"
//!
//! [[identity]]
//! name = "customs"
//! subject = "CN=customs, O=GACC"     # or the certificate's subject
//! agency = "customs"
//!
//! [[identity]]
//! name = "old platform key"
//! fingerprint = "9a:…"
//! enterprise = "1105910159"
//! revoked = true
//! ```
//!
//! A certificate is looked up by fingerprint first, then by subject. A revoked entry refuses
//! its certificate even when another entry names the same subject, so one key can be revoked
//! while the enterprise's new certificate (same subject, new fingerprint) is listed by
//! fingerprint.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Identity, Role};
use crate::domain::Agency;

/// The register, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct Register {
    by_fingerprint: HashMap<[u8; 32], Entry>,
    by_subject: HashMap<String, Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    identity: Identity,
    revoked: bool,
}

/// What the register says of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Listed and not revoked.
    Known(Identity),
    /// Listed as revoked (the entry's name).
    Revoked(String),
    /// Not listed.
    Unknown,
}

/// Why a register file is refused: the entry (1-based) and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Not TOML, or a key no entry takes.
    #[error("{0}")]
    Toml(String),
    /// An entry breaks a rule.
    #[error("identity #{entry}: {rule}")]
    Entry {
        /// 1-based.
        entry: usize,
        /// The rule.
        rule: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    identity: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    name: String,
    fingerprint: Option<String>,
    subject: Option<String>,
    enterprise: Option<String>,
    agency: Option<String>,
    #[serde(default)]
    operator: bool,
    #[serde(default)]
    revoked: bool,
}

impl Register {
    /// Parses the register's TOML text.
    pub fn parse(text: &str) -> Result<Register, RegisterError> {
        let file: File = toml::from_str(text).map_err(|e| RegisterError::Toml(e.to_string()))?;
        let mut register = Register::default();
        for (i, raw) in file.identity.into_iter().enumerate() {
            let entry = i + 1;
            let fail = |rule: String| RegisterError::Entry { entry, rule };
            let role = match (&raw.enterprise, &raw.agency, raw.operator) {
                (Some(code), None, false) if !code.trim().is_empty() => {
                    Role::Enterprise(code.trim().to_owned())
                }
                (None, Some(name), false) => {
                    Role::Agency(Agency::named(name).ok_or_else(|| {
                        fail(format!(
                            "agency {name:?} is not customs, inspection, fx or tax"
                        ))
                    })?)
                }
                (None, None, true) => Role::Operator,
                _ => {
                    return Err(fail(
                        "give exactly one of enterprise = \"<code>\", agency = \"<name>\" or \
                         operator = true"
                            .to_owned(),
                    ))
                }
            };
            let value = Entry {
                identity: Identity {
                    name: raw.name.clone(),
                    role,
                },
                revoked: raw.revoked,
            };
            match (raw.fingerprint, raw.subject) {
                (Some(hex), None) => {
                    let fingerprint = parse_fingerprint(&hex).ok_or_else(|| {
                        fail(format!(
                            "fingerprint {hex:?} is not a SHA-256 in hex (64 digits, colons \
                             allowed)"
                        ))
                    })?;
                    if register.by_fingerprint.insert(fingerprint, value).is_some() {
                        return Err(fail(format!("fingerprint {hex} is listed twice")));
                    }
                }
                (None, Some(_)) if !matches!(value.identity.role, Role::Enterprise(_)) => {
                    return Err(fail(
                        "an agency or an operator is named by fingerprint, not by subject (a \
                         subject can be asked of the CA by anyone)"
                            .to_owned(),
                    ))
                }
                (None, Some(subject)) if !subject.trim().is_empty() => {
                    let subject = normalize_subject(&subject);
                    if register.by_subject.insert(subject.clone(), value).is_some() {
                        return Err(fail(format!("subject {subject:?} is listed twice")));
                    }
                }
                _ => {
                    return Err(fail(
                        "give exactly one of fingerprint = \"<sha-256 hex>\" or subject = \
                         \"CN=…\""
                            .to_owned(),
                    ))
                }
            }
        }
        Ok(register)
    }

    /// What the register says of the certificate with this fingerprint and subject.
    pub fn lookup(&self, fingerprint: &[u8; 32], subject: Option<&str>) -> Lookup {
        let by_subject = subject
            .map(normalize_subject)
            .and_then(|s| self.by_subject.get(&s));
        let revoked_subject = by_subject.filter(|e| e.revoked);
        match self.by_fingerprint.get(fingerprint).or(by_subject) {
            Some(entry) if entry.revoked => Lookup::Revoked(entry.identity.name.clone()),
            // A revoked subject entry is not undone by a fingerprint entry: revocation wins.
            Some(_) if revoked_subject.is_some() => Lookup::Revoked(
                revoked_subject
                    .map(|e| e.identity.name.clone())
                    .unwrap_or_default(),
            ),
            Some(entry) => Lookup::Known(entry.identity.clone()),
            None => Lookup::Unknown,
        }
    }

    /// Whether some entry names a certificate by subject (else a subject is never looked at).
    pub fn has_subjects(&self) -> bool {
        !self.by_subject.is_empty()
    }

    /// How many entries it has.
    pub fn len(&self) -> usize {
        self.by_fingerprint.len() + self.by_subject.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A SHA-256 fingerprint from hex, with or without colons, any case.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
    crate::hex::decode32(&digits)
}

/// A subject as the register compares it: split on the commas that are not escaped, each part
/// trimmed, joined by ", ". An escaped comma (`\,`) stays inside its value.
fn normalize_subject(subject: &str) -> String {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in subject.chars() {
        let last = parts.last_mut().expect("one part at least");
        match c {
            ',' if !escaped => parts.push(String::new()),
            _ => {
                escaped = c == '\\' && !escaped;
                last.push(c);
            }
        }
    }
    parts
        .iter()
        .map(|p| p.trim())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An attribute value as a subject shows it (RFC 4514): `\` before `,` `+` `"` `\` `<` `>`
/// `;` `=`.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn fp(hex: &str) -> [u8; 32] {
        parse_fingerprint(hex).unwrap()
    }

    #[test]
    fn lookups_by_fingerprint_then_subject_and_revocation_wins() {
        let text = format!(
            r#"
            [[identity]]
            name = "platform"
            fingerprint = "{FP_A}"
            enterprise = "1105910159"

            [[identity]]
            name = "customs"
            fingerprint = "{}"
            agency = "customs"

            [[identity]]
            name = "a shop"
            subject = "CN=shop,O=Shop Ltd"
            enterprise = "3301960005"

            [[identity]]
            name = "ops"
            fingerprint = "{}"
            operator = true

            [[identity]]
            name = "stolen"
            subject = "CN=stolen"
            enterprise = "3301960000"
            revoked = true

            [[identity]]
            name = "stolen, new key"
            fingerprint = "{}"
            enterprise = "3301960000"
            "#,
            "33".repeat(32),
            "11".repeat(32),
            "22".repeat(32)
        );
        let register = Register::parse(&text).unwrap();
        assert_eq!(register.len(), 6);
        let platform = register.lookup(&fp(FP_A), Some("CN=anything"));
        assert_eq!(
            platform,
            Lookup::Known(Identity {
                name: "platform".into(),
                role: Role::Enterprise("1105910159".into())
            })
        );
        let customs = register.lookup(&[0x33; 32], None);
        assert!(matches!(
            customs,
            Lookup::Known(Identity {
                role: Role::Agency(Agency::Customs),
                ..
            })
        ));
        assert!(matches!(
            register.lookup(&[0x11; 32], None),
            Lookup::Known(Identity {
                role: Role::Operator,
                ..
            })
        ));
        assert_eq!(
            register.lookup(&[9; 32], Some("CN=stolen")),
            Lookup::Revoked("stolen".into())
        );
        assert_eq!(
            register.lookup(&[0x22; 32], Some("CN=stolen")),
            Lookup::Revoked("stolen".into()),
            "a revoked subject is not undone by a fingerprint entry"
        );
        assert_eq!(
            register.lookup(&[9; 32], Some("CN=nobody")),
            Lookup::Unknown
        );
        assert_eq!(register.lookup(&[9; 32], None), Lookup::Unknown);
    }

    #[test]
    fn the_example_register_parses() {
        let text = include_str!("../../config/identities.example.toml");
        let register = Register::parse(text).unwrap();
        assert_eq!(register.len(), 5);
        assert_eq!(
            register.lookup(&[0x11; 32], None),
            Lookup::Revoked("Demo platform, key lost 2026-10-01".into())
        );
    }

    #[test]
    fn colons_and_case_do_not_matter_in_fingerprints() {
        let colons = FP_A
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(parse_fingerprint(&colons), parse_fingerprint(FP_A));
        assert_eq!(parse_fingerprint("abcd"), None);
    }

    #[test]
    fn bad_entries_are_named_with_their_rule() {
        let cases = [
            ("[[identity]]\nfingerprint = \"xx\"\nenterprise = \"1\"\n", "identity #1: fingerprint \"xx\""),
            ("[[identity]]\nsubject = \"CN=a\"\n", "identity #1: give exactly one of enterprise"),
            (
                "[[identity]]\nsubject = \"CN=a\"\nenterprise = \"1\"\noperator = true\n",
                "identity #1: give exactly one of enterprise",
            ),
            ("[[identity]]\nenterprise = \"1\"\n", "identity #1: give exactly one of fingerprint"),
            ("[[identity]]\nsubject = \"CN=a\"\nagency = \"police\"\n", "identity #1: agency \"police\""),
            (
                "[[identity]]\nsubject = \"CN=a\"\noperator = true\n",
                "identity #1: an agency or an operator is named by fingerprint",
            ),
            (
                "[[identity]]\nsubject = \"CN=a\"\nenterprise = \"1\"\n[[identity]]\nsubject = \"CN=a\"\nenterprise = \"2\"\n",
                "identity #2: subject \"CN=a\" is listed twice",
            ),
            ("[[identity]]\nsubjekt = \"CN=a\"\n", "unknown field `subjekt`"),
        ];
        for (text, expected) in cases {
            let error = Register::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}\n→ {error}");
        }
    }
}
