//! CEB XML at the edge: bytes → [`Message`] (decode) and receipts → bytes (encode).
//!
//! Decoding is a single pass of quick-xml's namespace-aware event reader over the input,
//! borrowing element text from it wherever no unescaping is needed. The envelope and the
//! record structure are checked as the events arrive (schema order, cardinality); element text
//! is typed on the spot, and text that does not fit its element becomes a violation of the
//! block rather than an error of the message. Pure: no I/O.

mod cursor;
mod decode;
pub mod encode;
mod error;
mod source;

pub use decode::{decode, decode_stored, decode_str};
pub use error::{DecodeError, DecodeErrorKind};
pub use source::to_utf8;

use serde::Deserialize;

pub use crate::domain::Message;

/// The CEB namespace.
pub const CEB_NS: &str = "http://www.chinaport.gov.cn/ceb";
/// The XML-DSig namespace (`ds:Signature`).
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Bounds on what the decoder accepts; from `config/rules/limits.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest message, in bytes as received.
    pub max_message_bytes: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Longest element text, in bytes.
    pub max_text_bytes: usize,
    /// Most business blocks in one message (the schema allows 100).
    pub max_blocks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 8 * 1024 * 1024,
            max_depth: 32,
            max_text_bytes: 64 * 1024,
            max_blocks: 100,
        }
    }
}
