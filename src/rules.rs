//! The rules the validation core applies: code tables, HS rates and inspection flags, the
//! negative list, the register of enterprises, limits and tax policy. Loaded once from
//! `config/rules/*.toml` (or the copy built into the binary) and checked before use; after
//! that, read-only and shared.

mod files;
mod policy;
mod tables;

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

pub use policy::{Decision, Policy};
pub use tables::{CodeSet, Credit, EntStatus, Enterprise, HsEntry, NegativeList, Role};

use crate::ceb::Limits;
use crate::domain::{CurrencyCode, Decimal};

/// Everything validation needs to know besides the declaration.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Decoder limits.
    pub limits: Limits,
    /// Tax limits and factors (domain.md §4).
    pub tax: TaxPolicy,
    /// Switches of single-document rules.
    pub checks: Checks,
    /// Country / region codes.
    pub countries: CodeSet,
    /// Currency codes.
    pub currencies: CodeSet,
    /// Units of measure.
    pub units: CodeSet,
    /// Customs district and port codes.
    pub customs: CodeSet,
    /// The HS table, by code number.
    pub hs: HashMap<u64, HsEntry>,
    /// Goods refused on this channel.
    pub negative: NegativeList,
    /// Register of enterprises, by code.
    pub enterprises: HashMap<String, Enterprise>,
    /// Routing and release policy.
    pub policy: Policy,
}

/// Retail import tax policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxPolicy {
    /// Most value of one inventory, CNY.
    pub single_transaction_limit: Decimal,
    /// Most value per buyer per calendar year, CNY.
    pub annual_limit: Decimal,
    /// Share of VAT and consumption tax charged within limits (0.7).
    pub retail_factor: Decimal,
    /// Allowed difference between declared and computed tax, CNY.
    pub tolerance: Decimal,
}

/// Switches of single-document rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// The only currency of import declarations.
    pub import_currency: CurrencyCode,
    /// The fixed `packNo`.
    pub pack_no: i32,
    /// Buyer and payer must identify with a resident identity card (type 1).
    pub require_buyer_id_card: bool,
}

/// Why the rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A file could not be read.
    #[error("reading {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// A file is not valid TOML or has unknown keys.
    #[error("{file}: {source}")]
    Parse {
        file: String,
        source: Box<toml::de::Error>,
    },
    /// A value is wrong.
    #[error("{file}: {key}: {problem}")]
    Invalid {
        file: &'static str,
        key: String,
        problem: String,
    },
}

impl Rules {
    /// The rules shipped in `config/rules/`, built into the binary.
    pub fn embedded() -> Result<Rules, RulesError> {
        files::load(&files::EMBEDDED, |name| {
            files::EMBEDDED_TEXT
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| RulesError::Read {
                    file: name.to_owned(),
                    source: std::io::ErrorKind::NotFound.into(),
                })
        })
    }

    /// The rules in folder `dir` (the files of `config/rules/`).
    pub fn load_dir(dir: &Path) -> Result<Rules, RulesError> {
        files::load(&files::EMBEDDED, |name| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| RulesError::Read {
                file: path.display().to_string(),
                source,
            })
        })
    }

    /// The enterprise registered under `code`.
    pub fn enterprise(&self, code: &str) -> Option<&Enterprise> {
        self.enterprises.get(code)
    }
}
