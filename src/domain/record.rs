//! The shape every CEB record shares: an ordered list of element specs taken from the schema,
//! and typed slots filled by parsing element text. Pure; no XML here.

use std::borrow::Cow;
use std::fmt;

/// One element of a record, in schema order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Local element name, e.g. `acturalPaid`.
    pub name: &'static str,
    /// `minOccurs = 1`.
    pub required: bool,
    /// The lexical facet the schema puts on the element's text.
    pub facet: Facet,
}

/// The schema facet of an element's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    /// `xs:string` with `minLength`/`maxLength` (or `length` when both are equal), in characters.
    Text { min: u32, max: u32 },
    /// `xs:decimal` with `totalDigits = 19` and `fractionDigits = 5`.
    Decimal,
    /// `xs:int` (optionally with `totalDigits`).
    Int { digits: u8 },
    /// Any well-formed content (`ceb:XMLElement`).
    Any,
}

/// Why an element's text was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Length facet broken (lengths in characters).
    #[error("length {actual} is outside {min}..={max} characters")]
    Length { min: u32, max: u32, actual: usize },
    /// The text does not have the lexical form the element needs.
    #[error("not {expected}")]
    Format { expected: &'static str },
    /// The value is not one of the enumerated codes.
    #[error("not one of {allowed}")]
    Enumeration { allowed: &'static str },
    /// A decimal with more than 19 digits or more than 5 after the point.
    #[error("more than {total} digits or more than {fraction} after the point")]
    Precision { total: u8, fraction: u8 },
    /// Index past the end of the record (a bug, never input).
    #[error("no such element")]
    NoSuchField,
}

impl FieldError {
    /// The rule id a violation of this kind is reported under.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length { .. } => "XSD-LENGTH",
            Self::Format { .. } | Self::NoSuchField => "XSD-FORMAT",
            Self::Enumeration { .. } => "XSD-ENUM",
            Self::Precision { .. } => "XSD-DECIMAL",
        }
    }
}

/// A typed element value, parsed from its text and printed back to it.
pub trait Value<'a>: Sized {
    /// The same value detached from the input.
    type Owned: 'static;
    /// Parses element text (already unescaped).
    fn parse(raw: Cow<'a, str>) -> Result<Self, FieldError>;
    /// The canonical text of the value.
    fn text(&self) -> Cow<'_, str>;
    /// Detaches the value from the input it borrows from.
    fn into_owned(self) -> Self::Owned;
}

/// A record (`OrderHead`, `InventoryList`, `LogisticsStatus`, …): typed slots in schema order.
pub trait Record<'a>: Default {
    /// Local element name of the record.
    const NAME: &'static str;
    /// Its elements in schema order.
    const FIELDS: &'static [FieldSpec];
    /// Parses `raw` into slot `index` (an index into [`Record::FIELDS`]).
    fn set(&mut self, index: usize, raw: Cow<'a, str>) -> Result<(), FieldError>;
    /// The text of slot `index`, if it holds a value.
    fn text(&self, index: usize) -> Option<Cow<'_, str>>;
}

/// A business block made of a head record and 0..`MAX_ITEMS` item records.
pub trait Composite<'a>: Default {
    /// The head record type.
    type Head: Record<'a>;
    /// The item record type ([`NoItems`] when the block has none).
    type Item: Record<'a>;
    /// Local element name of the block.
    const NAME: &'static str;
    /// Most items allowed (0: the block has no items).
    const MAX_ITEMS: usize;
    /// The head, for filling.
    fn head_mut(&mut self) -> &mut Self::Head;
    /// The items, for filling.
    fn items_mut(&mut self) -> &mut Vec<Self::Item>;
    /// The head.
    fn head(&self) -> &Self::Head;
    /// The items.
    fn items(&self) -> &[Self::Item];
}

/// Item type of blocks that have no items (`Payment`, `Logistics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoItems;

impl Record<'_> for NoItems {
    const NAME: &'static str = "";
    const FIELDS: &'static [FieldSpec] = &[];
    fn set(&mut self, _: usize, _: Cow<'_, str>) -> Result<(), FieldError> {
        Err(FieldError::NoSuchField)
    }
    fn text(&self, _: usize) -> Option<Cow<'_, str>> {
        None
    }
}

/// Checks the schema facet of `spec` on `text` (the typed parse checks the rest).
pub fn check_facet(spec: &FieldSpec, text: &str) -> Result<(), FieldError> {
    let Facet::Text { min, max } = spec.facet else {
        return Ok(());
    };
    // Bytes bound characters from above, so most texts need no character count.
    let bytes = text.len();
    let (min, max) = (min as usize, max as usize);
    if bytes >= min && bytes <= max && (min <= 1 || text.is_ascii()) {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars < min || chars > max {
        return Err(FieldError::Length {
            min: min as u32,
            max: max as u32,
            actual: chars,
        });
    }
    Ok(())
}

/// Free text (`xs:string` without further meaning to the gateway).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> Value<'a> for Text<'a> {
    type Owned = Text<'static>;
    fn parse(raw: Cow<'a, str>) -> Result<Self, FieldError> {
        Ok(Self(raw))
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
    fn into_owned(self) -> Text<'static> {
        Text(Cow::Owned(self.0.into_owned()))
    }
}

impl Value<'_> for i32 {
    type Owned = i32;
    fn parse(raw: Cow<'_, str>) -> Result<Self, FieldError> {
        raw.trim_matches(|c: char| c.is_ascii_whitespace())
            .parse()
            .map_err(|_| FieldError::Format {
                expected: "an integer (xs:int)",
            })
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn into_owned(self) -> i32 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_facets_count_characters_not_bytes() {
        let spec = FieldSpec {
            name: "buyerName",
            required: true,
            facet: Facet::Text { min: 1, max: 3 },
        };
        assert!(check_facet(&spec, "李小宝").is_ok());
        assert_eq!(
            check_facet(&spec, "李小宝宝"),
            Err(FieldError::Length {
                min: 1,
                max: 3,
                actual: 4
            })
        );
        assert!(check_facet(&spec, "").is_err());
        let exact = FieldSpec {
            facet: Facet::Text { min: 3, max: 3 },
            ..spec
        };
        assert!(check_facet(&exact, "142").is_ok());
        assert!(check_facet(&exact, "14").is_err());
        assert!(check_facet(&exact, "中国人").is_ok());
    }

    #[test]
    fn ints_parse_with_collapsed_whitespace() {
        assert_eq!(<i32 as Value>::parse(Cow::Borrowed(" 12 ")), Ok(12));
        assert!(<i32 as Value>::parse(Cow::Borrowed("1.5")).is_err());
        assert!(<i32 as Value>::parse(Cow::Borrowed("99999999999")).is_err());
    }
}
