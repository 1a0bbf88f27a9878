//! The one place where errors become `tonic::Status`.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ceb::DecodeError;
use crate::report::Report;
use crate::store::StoreError;

/// A message that could not be decoded: INVALID_ARGUMENT naming the element, line and column,
/// with the CEB900 receipt in the details' debug info.
pub fn undecodable(err: &DecodeError, ceb900: String) -> Status {
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(
        if err.path.is_empty() {
            "(document)".to_owned()
        } else {
            err.path.clone()
        },
        format!("line {}, column {}: {}", err.line, err.column, err.kind),
    );
    details.set_debug_info(Vec::new(), ceb900);
    Status::with_error_details(Code::InvalidArgument, err.to_string(), details)
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
