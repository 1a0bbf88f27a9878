//! The routing and release policy (`routing.toml`, domain.md §5): what each agency gets at T1
//! and which of its receipts pass, hold or reject a shipment.

use serde::Deserialize;

use crate::domain::{Agency, ReturnStatus};

/// Routing and release, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// At T1 the gateway derives the tax declaration when none is declared.
    pub derive_tax: bool,
    /// At T1 FX gets the payment voucher when no FX settlement is declared.
    pub fx_payment_voucher: bool,
    /// Agencies whose decision must pass before release.
    pub require: Vec<Agency>,
    /// Codes that hold a shipment.
    pub hold: Vec<i32>,
    /// Codes that reject it (negative codes reject too).
    pub reject: Vec<i32>,
    /// Codes that pass, per agency (indexed by [`Agency::ALL`] order).
    pass: [Vec<i32>; 4],
}

/// What one receipt means for its agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The agency's part is done.
    Passed,
    /// The agency holds the goods.
    Held,
    /// The agency refused.
    Rejected,
    /// Anything else: recorded as progress (e.g. customs 120 accepted).
    Progress,
}

impl Policy {
    /// What `status` from `agency` means.
    pub fn decide(&self, agency: Agency, status: ReturnStatus) -> Decision {
        let code = status.0;
        if code < 0 || self.reject.contains(&code) {
            Decision::Rejected
        } else if self.pass[index(agency)].contains(&code) {
            Decision::Passed
        } else if self.hold.contains(&code) {
            Decision::Held
        } else {
            Decision::Progress
        }
    }

    /// Whether `agency` must pass before release.
    pub fn requires(&self, agency: Agency) -> bool {
        self.require.contains(&agency)
    }

    /// The codes that pass for `agency`.
    pub fn passing(&self, agency: Agency) -> &[i32] {
        &self.pass[index(agency)]
    }
}

fn index(agency: Agency) -> usize {
    Agency::ALL.iter().position(|a| *a == agency).unwrap_or(0)
}

/// `routing.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    routing: RoutingFile,
    release: ReleaseFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingFile {
    tax: String,
    fx: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFile {
    require: Vec<String>,
    hold: Vec<i32>,
    reject: Vec<i32>,
    pass: PassFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PassFile {
    customs: Vec<i32>,
    inspection: Vec<i32>,
    fx: Vec<i32>,
    tax: Vec<i32>,
}

impl PolicyFile {
    /// Checks the file: `Err((key, problem))`.
    pub(super) fn check(self) -> Result<Policy, (String, String)> {
        let derive_tax = match self.routing.tax.as_str() {
            "derive" => true,
            "declared" => false,
            other => return Err(bad("routing.tax", other, "derive or declared")),
        };
        let fx_payment_voucher = match self.routing.fx.as_str() {
            "payment" => true,
            "declared" => false,
            other => return Err(bad("routing.fx", other, "payment or declared")),
        };
        let mut require = Vec::new();
        for name in &self.release.require {
            let agency = Agency::named(name)
                .ok_or_else(|| bad("release.require", name, "customs, inspection, fx or tax"))?;
            if !require.contains(&agency) {
                require.push(agency);
            }
        }
        if !require.contains(&Agency::Customs) {
            return Err((
                "release.require".into(),
                "customs must be required: it is customs that releases the goods".into(),
            ));
        }
        let p = self.release.pass;
        let pass = [p.customs, p.inspection, p.fx, p.tax];
        for (agency, codes) in Agency::ALL.iter().zip(&pass) {
            let key = format!("release.pass.{}", agency.name());
            if codes.is_empty() {
                return Err((key, "at least one code must pass".into()));
            }
            if let Some(code) = codes.iter().find(|c| {
                **c < 0 || self.release.hold.contains(c) || self.release.reject.contains(c)
            }) {
                return Err((key, format!("{code} also holds or rejects")));
            }
        }
        if let Some(code) = self
            .release
            .hold
            .iter()
            .find(|c| self.release.reject.contains(c))
        {
            return Err((
                "release.hold".into(),
                format!("{code} is also in release.reject"),
            ));
        }
        Ok(Policy {
            derive_tax,
            fx_payment_voucher,
            require,
            hold: self.release.hold,
            reject: self.release.reject,
            pass,
        })
    }
}

fn bad(key: &str, value: &str, allowed: &str) -> (String, String) {
    (key.to_owned(), format!("{value:?} is not one of {allowed}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Policy {
        let text = include_str!("../../config/rules/routing.toml");
        toml::from_str::<PolicyFile>(text).unwrap().check().unwrap()
    }

    #[test]
    fn the_shipped_policy_releases_on_customs_800_and_tracks_fx() {
        let p = shipped();
        assert_eq!(
            p.decide(Agency::Customs, ReturnStatus(800)),
            Decision::Passed
        );
        assert_eq!(
            p.decide(Agency::Customs, ReturnStatus(120)),
            Decision::Progress
        );
        assert_eq!(p.decide(Agency::Tax, ReturnStatus(120)), Decision::Passed);
        assert_eq!(p.decide(Agency::Customs, ReturnStatus(500)), Decision::Held);
        assert_eq!(
            p.decide(Agency::Inspection, ReturnStatus(100)),
            Decision::Rejected
        );
        assert_eq!(p.decide(Agency::Fx, ReturnStatus(-1)), Decision::Rejected);
        assert!(p.requires(Agency::Inspection) && !p.requires(Agency::Fx));
        assert!(p.derive_tax && p.fx_payment_voucher);
    }

    #[test]
    fn a_bad_policy_is_refused_naming_the_key() {
        let text = include_str!("../../config/rules/routing.toml");
        let cases = [
            ("tax = \"derive\"", "tax = \"guess\"", "routing.tax"),
            ("require = [\"customs\", ", "require = [", "release.require"),
            ("customs = [800]", "customs = [100]", "release.pass.customs"),
            (
                "require = [\"customs\",",
                "require = [\"customz\",",
                "release.require",
            ),
        ];
        for (from, to, key) in cases {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{from}");
            let err = toml::from_str::<PolicyFile>(&bad)
                .unwrap()
                .check()
                .unwrap_err();
            assert_eq!(err.0, key, "{to}: {err:?}");
        }
    }
}
