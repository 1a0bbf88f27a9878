//! Violations and reports: what validation (and the decoder, for field facets) says about a
//! declaration. A rejected declaration is data, not an `Err`.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::Serialize;

/// One broken rule, with everything a sender needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Rule id, e.g. `A3`, `XSD-LENGTH`, `ID-CHECK` (see `validate::rules_doc`).
    pub rule: &'static str,
    /// CEB business error code where the standard names one (e.g. -621027).
    pub code: Option<i32>,
    /// Element path inside the block, e.g. `OrderList[2]/totalPrice`.
    pub path: String,
    /// The offending value as sent (masked where it is personal data).
    pub value: String,
    /// What is wrong, in words.
    pub message: Cow<'static, str>,
}

impl Violation {
    /// A violation without a CEB code.
    pub fn new(
        rule: &'static str,
        path: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<Cow<'static, str>>,
    ) -> Violation {
        Violation {
            rule,
            code: None,
            path: path.into(),
            value: value.into(),
            message: message.into(),
        }
    }

    /// The same violation carrying a CEB business error code.
    pub fn with_code(mut self, code: i32) -> Violation {
        self.code = Some(code);
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}", self.rule)?;
        if let Some(code) = self.code {
            write!(f, " {code}")?;
        }
        write!(f, "] {}", self.path)?;
        if !self.value.is_empty() {
            write!(f, " = {:?}", self.value)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every violation found in one declaration, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The violations; empty when the declaration is clean.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Adds a violation.
    pub fn push(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    /// Whether a violation of `rule` was found.
    pub fn has(&self, rule: &str) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }

    /// The rule ids found, in order.
    pub fn rules(&self) -> Vec<&'static str> {
        self.violations.iter().map(|v| v.rule).collect()
    }
}

/// Builds element paths like `OrderList[2]/totalPrice` only when a violation needs one.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// Record element name (`OrderHead`, `InventoryList`).
    pub record: &'static str,
    /// 1-based position of an item record, `None` for heads and single records.
    pub item: Option<usize>,
}

impl At {
    /// A head or single record.
    pub fn head(record: &'static str) -> At {
        At { record, item: None }
    }

    /// The `index`-th (1-based) item record.
    pub fn item(record: &'static str, index: usize) -> At {
        At {
            record,
            item: Some(index),
        }
    }

    /// The path of element `field` of this record.
    pub fn field(self, field: &str) -> String {
        let mut path = String::with_capacity(self.record.len() + field.len() + 6);
        path.push_str(self.record);
        if let Some(i) = self.item {
            let _ = write!(path, "[{i}]");
        }
        path.push('/');
        path.push_str(field);
        path
    }
}

/// Masks personal data (identity numbers, phone numbers) for reports and logs: keeps the first
/// three and last two characters.
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count <= 5 {
        return "*".repeat(count);
    }
    let mut masked = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        masked.push(if i < 3 || i >= count - 2 { c } else { '*' });
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_display_name_the_element() {
        let v = Violation::new(
            "A3",
            At::item("OrderList", 2).field("totalPrice"),
            "12000",
            "totalPrice 12000 ≠ price 10 × qty 200 = 2000",
        );
        assert_eq!(v.path, "OrderList[2]/totalPrice");
        assert_eq!(
            v.to_string(),
            "[A3] OrderList[2]/totalPrice = \"12000\": totalPrice 12000 ≠ price 10 × qty 200 = 2000"
        );
        assert_eq!(At::head("OrderHead").field("guid"), "OrderHead/guid");
        assert_eq!(
            At::item("InventoryList", 120).field("gnum"),
            "InventoryList[120]/gnum"
        );
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask("130681136250023332"), "130*************32");
        assert_eq!(mask("1234"), "****");
    }
}
