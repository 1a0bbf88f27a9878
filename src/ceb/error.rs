//! Why a message could not be decoded at all (the CEB900 cases), with where.

use std::fmt;

/// A message-level decoding failure: the path of the element, and line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// Element path, e.g. `CEB303Message/BaseTransfer[2]`.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        write!(
            f,
            "{path} (line {}, column {}): {}",
            self.line, self.column, self.kind
        )
    }
}

/// The kinds of decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// More bytes than `max_message_bytes`.
    #[error("message is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// Nested deeper than `max_depth`.
    #[error("elements nested deeper than the limit of {limit}")]
    TooDeep { limit: usize },
    /// Element text longer than `max_text_bytes`.
    #[error("element text is longer than the limit of {limit} bytes")]
    TextTooLong { limit: usize },
    /// A DOCTYPE declaration (refused: entity expansion and external entities).
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// An entity reference other than the five predefined ones and character references.
    #[error("undefined entity &{0};")]
    UndefinedEntity(String),
    /// Bytes not in the declared encoding, or an encoding we do not read.
    #[error("{0}")]
    Encoding(String),
    /// Not well-formed XML.
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// The document ended early.
    #[error("unexpected end of document")]
    UnexpectedEof,
    /// The root is not a CEB message.
    #[error("root element {0} is not a CEB message")]
    NotCeb(String),
    /// A CEB message this gateway does not take (e.g. export messages).
    #[error("{0} is not an import message this gateway takes")]
    Unsupported(String),
    /// An element in the wrong namespace.
    #[error("element {name} is in namespace {namespace:?}, expected {expected}")]
    Namespace {
        name: String,
        namespace: String,
        expected: &'static str,
    },
    /// An element the schema does not have here.
    #[error("unexpected element {0}")]
    UnexpectedElement(String),
    /// An element that comes earlier in the schema sequence.
    #[error("element {name} is out of schema order (it must come before {after})")]
    OutOfOrder { name: String, after: String },
    /// More occurrences than the schema allows.
    #[error("{name} may occur at most {max} time(s)")]
    TooMany { name: String, max: usize },
    /// A required element is absent.
    #[error("required element {0} is missing")]
    Missing(String),
    /// A required attribute is absent or malformed.
    #[error("attribute {name}: {problem}")]
    Attribute { name: &'static str, problem: String },
    /// Non-whitespace text where only elements may stand.
    #[error("unexpected text {0:?}")]
    UnexpectedText(String),
    /// An element that must hold only text has children.
    #[error("element {0} must hold text, not elements")]
    ChildInLeaf(String),
}
