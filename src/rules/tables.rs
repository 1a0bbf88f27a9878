//! The lookup structures behind [`super::Rules`]: digit-code sets as bitmaps, the HS table,
//! the negative list (one automaton over all keywords) and the register.

use aho_corasick::AhoCorasick;

use crate::domain::{Decimal, HsCode};

/// A set of numeric codes of a fixed digit count, as a bitmap (3 digits: 1000 bits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSet {
    bits: Vec<u64>,
    size: usize,
    len: usize,
}

impl CodeSet {
    /// An empty set for codes of `digits` digits.
    pub fn new(digits: u32) -> CodeSet {
        let size = 10usize.pow(digits);
        CodeSet {
            bits: vec![0; size.div_ceil(64)],
            size,
            len: 0,
        }
    }

    /// Adds a code; false when it was already there.
    pub fn insert(&mut self, number: u16) -> bool {
        if usize::from(number) >= self.size {
            return false;
        }
        let (word, bit) = (usize::from(number) / 64, number % 64);
        let Some(slot) = self.bits.get_mut(word) else {
            return false;
        };
        let fresh = *slot & (1 << bit) == 0;
        *slot |= 1 << bit;
        self.len += usize::from(fresh);
        fresh
    }

    /// Whether the code is in the set.
    pub fn contains(&self, number: u16) -> bool {
        self.bits
            .get(usize::from(number) / 64)
            .is_some_and(|w| w & (1 << (number % 64)) != 0)
    }

    /// How many codes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One line of the HS table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsEntry {
    /// The code.
    pub code: HsCode,
    /// Goods description.
    pub name: String,
    /// Category (cosmetics, infant_formula, electronics, …).
    pub category: String,
    /// VAT rate.
    pub vat: Decimal,
    /// Ad-valorem consumption-tax rate.
    pub consumption: Decimal,
    /// MFN tariff rate, where configured (needed only for the full-tax path).
    pub tariff: Option<Decimal>,
    /// Subject to inspection and quarantine.
    pub inspection: bool,
}

/// Goods refused on this channel.
#[derive(Debug, Clone, Default)]
pub struct NegativeList {
    /// Exact HS codes refused.
    pub codes: Vec<u64>,
    /// HS prefixes (chapters, headings) refused.
    pub prefixes: Vec<String>,
    /// The same prefixes as (number, digit count), for matching without formatting.
    pub(super) prefix_numbers: Vec<(u64, u32)>,
    /// Goods-name keywords refused.
    pub keywords: Vec<String>,
    pub(super) matcher: Option<AhoCorasick>,
}

impl NegativeList {
    /// The entry that refuses HS code `code`, if any.
    pub fn refuses_code(&self, code: HsCode) -> Option<String> {
        let number = code.number();
        if self.codes.contains(&number) {
            return Some(code.to_string());
        }
        let digits = HsCode::DIGITS as u32;
        self.prefix_numbers
            .iter()
            .position(|&(prefix, len)| number / 10u64.pow(digits - len) == prefix)
            .map(|i| self.prefixes[i].clone())
    }

    /// The keyword that refuses goods name `name`, if any.
    pub fn refuses_name(&self, name: &str) -> Option<&str> {
        let matcher = self.matcher.as_ref()?;
        matcher
            .find(name)
            .map(|m| self.keywords[m.pattern().as_usize()].as_str())
    }
}

/// A role an enterprise is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// E-commerce platform (`ebpCode`).
    Ebp,
    /// E-commerce enterprise (`ebcCode`).
    Ebc,
    /// Payment enterprise (`payCode`).
    Pay,
    /// Logistics enterprise (`logisticsCode`).
    Logistics,
    /// Declaring agent (`agentCode`).
    Agent,
    /// Supervised-site operator (`operatorCode`).
    Warehouse,
    /// Tax guarantor (`assureCode`).
    Guarantor,
}

impl Role {
    /// The CEB element that names an enterprise in this role.
    pub fn element(self) -> &'static str {
        match self {
            Role::Ebp => "ebpCode",
            Role::Ebc => "ebcCode",
            Role::Pay => "payCode",
            Role::Logistics => "logisticsCode",
            Role::Agent => "agentCode",
            Role::Warehouse => "operatorCode",
            Role::Guarantor => "assureCode",
        }
    }
}

/// Registration status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntStatus {
    /// May declare.
    Active,
    /// May not declare.
    Suspended,
}

/// Customs credit class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Credit {
    /// Advanced certified enterprise: lower inspection rate.
    Advanced,
    /// General.
    General,
    /// Untrusted: higher inspection rate.
    Untrusted,
}

/// A registered enterprise.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    /// Customs code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Roles it is registered for.
    pub roles: Vec<Role>,
    /// Whether it may declare.
    pub status: EntStatus,
    /// Credit class.
    pub credit: Credit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_sets_hold_exactly_what_was_inserted() {
        let mut set = CodeSet::new(3);
        assert!(set.insert(142));
        assert!(!set.insert(142));
        assert!(set.insert(0));
        assert!(set.insert(999));
        assert!(set.contains(142) && set.contains(0) && set.contains(999));
        assert!(!set.contains(141) && !set.contains(143) && !set.contains(1000));
        assert_eq!(set.len(), 3);
        assert!(!set.insert(1000), "out of range codes are refused");
    }
}
