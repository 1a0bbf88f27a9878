//! The one place where errors become `tonic::Status`.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ceb::DecodeError;
use crate::report::Report;
use crate::store::StoreError;

/// Most bytes of error text in a status (its message and details travel in HTTP/2 trailers,
/// which a client takes only up to its header-list limit, 16 KiB by default): an element name
/// or value echoed from the input is clipped, never sent whole.
const MAX_TEXT: usize = 1024;
/// Most bytes of the CEB900 receipt carried in the details; a larger one is left out.
const MAX_CEB900: usize = 8 * 1024;

/// A message that could not be decoded: INVALID_ARGUMENT naming the element, line and column,
/// with the CEB900 receipt in the details' debug info.
pub fn undecodable(err: &DecodeError, ceb900: String) -> Status {
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(
        if err.path.is_empty() {
            "(document)".to_owned()
        } else {
            clip(&err.path, MAX_TEXT / 4)
        },
        clip(
            &format!("line {}, column {}: {}", err.line, err.column, err.kind),
            MAX_TEXT,
        ),
    );
    if ceb900.len() <= MAX_CEB900 {
        details.set_debug_info(Vec::new(), ceb900);
    }
    Status::with_error_details(
        Code::InvalidArgument,
        clip(&err.to_string(), MAX_TEXT),
        details,
    )
}

/// `text` cut to at most `max` bytes on a character boundary, with "…" when cut.
fn clip(text: &str, max: usize) -> String {
    match crate::text::cut(text, max) {
        whole if whole.len() == text.len() => whole.to_owned(),
        cut => format!("{cut}…"),
    }
}

/// A typed declaration whose fields do not parse: INVALID_ARGUMENT with every field named.
pub fn invalid_fields(report: &Report) -> Status {
    let mut details = ErrorDetails::new();
    for v in &report.violations {
        details.add_bad_request_violation(v.path.clone(), format!("[{}] {}", v.rule, v.message));
    }
    Status::with_error_details(Code::InvalidArgument, "invalid declaration fields", details)
}

/// The request carries nothing to submit.
pub fn empty() -> Status {
    Status::invalid_argument("payload: one of ceb_xml, inspection, fx_settlement, tax is required")
}

/// The store failed: nothing was acknowledged.
pub fn store(err: &StoreError) -> Status {
    match err {
        // A record that does not read back will not read back on a retry either.
        StoreError::Corrupt(_) => Status::internal(format!("not stored: {err}")),
        _ => Status::unavailable(format!("not stored, try again: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("商品名称", 4), "商…");
    }
}
