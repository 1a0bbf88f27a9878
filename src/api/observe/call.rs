//! The bookkeeping of one call: counted in `IN_FLIGHT` from its arrival to its end, timed to
//! its response headers (`REQUEST_SECONDS{method}`), and ended exactly once (`REQUESTS{method,
//! code}`, its audit record, an "answered" log in its span): by the layer or the response body
//! with the call's code, or, dropped unended, as CANCELLED (the client went away).

use std::time::Instant;

use metrics::{counter, gauge, histogram};
use tonic::Code;
use tracing::Span;

use super::names::{code_name, server_fault};
use crate::api::calls::CallAudit;
use crate::telemetry::names;

/// One call being answered: counted in flight from its arrival to its end (dropped unended:
/// the client went away).
#[derive(Debug)]
pub(super) struct Call {
    method: &'static str,
    started: Instant,
    span: Span,
    ended: bool,
    /// Its audit record, written when it ends.
    pub(super) audit: Option<CallAudit>,
}

impl Call {
    pub(super) fn begin(method: &'static str, span: Span) -> Call {
        gauge!(names::IN_FLIGHT).increment(1.0);
        Call {
            method,
            started: Instant::now(),
            span,
            ended: false,
            audit: None,
        }
    }

    /// The response headers are out.
    pub(super) fn answered(&self) {
        let took = self.started.elapsed().as_secs_f64();
        histogram!(names::REQUEST_SECONDS, "method" => self.method).record(took);
    }

    pub(super) fn end(mut self, code: Code) {
        self.finish(code);
    }

    /// Whether it has ended.
    #[cfg(test)]
    pub(super) fn ended(&self) -> bool {
        self.ended
    }

    fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        gauge!(names::IN_FLIGHT).decrement(1.0);
        if let Some(audit) = self.audit.take() {
            audit.end(code);
        }
        let name = code_name(code);
        counter!(names::REQUESTS, "method" => self.method, "code" => name).increment(1);
        let elapsed_ms = self.started.elapsed().as_millis();
        let _entered = self.span.enter();
        if server_fault(code) {
            tracing::warn!(code = name, elapsed_ms, "answered");
        } else {
            tracing::debug!(code = name, elapsed_ms, "answered");
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}
