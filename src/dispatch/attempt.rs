//! One delivery attempt: the call to the agency within its deadline, timed
//! (`DELIVERY_SECONDS{agency}`), and what it came to ([`Attempted`]): taken, worth retrying,
//! or refused for good ([`permanent`] says which gRPC codes refuse a message for good). Logs
//! name the code of a failure, never the agency's text (it may quote the declaration). The
//! attempt runs in its [`delivery_span`]; the worker counts its outcome and acts on it.

use std::time::{Duration, Instant};

use metrics::histogram;
use tonic::transport::Channel;
use tonic::Code;

use super::queues::Job;
use super::{dead, unix_millis};
use crate::pb::v1::agency_endpoint_client::AgencyEndpointClient;
use crate::telemetry::names;

/// Codes by which an agency refuses a message for good (see `agency.proto`). Codes that
/// point at the endpoint rather than the message (UNIMPLEMENTED: not an agency there;
/// UNAUTHENTICATED, PERMISSION_DENIED: credentials; NOT_FOUND) are retried and count
/// against the circuit, so a misconfigured endpoint does not bury its whole queue.
pub fn permanent(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::OutOfRange
    )
}

/// What one attempt came to.
pub(super) enum Attempted {
    /// The agency took it (and said whether it had before).
    Taken { duplicate: bool },
    /// Failed; worth trying again (and a sign the agency may be down).
    Retry(String),
    /// Refused for good.
    Refused(String),
}

/// Delivers `job` once to `agency` through `client`, waiting at most `timeout`; hands back
/// the job and what the attempt came to.
pub(super) async fn deliver(
    mut client: AgencyEndpointClient<Channel>,
    job: Job,
    timeout: Duration,
    agency: &'static str,
) -> (Job, Attempted) {
    let started = Instant::now();
    let mut request = tonic::Request::new(job.delivery.clone());
    request.set_timeout(timeout);
    let answer = tokio::time::timeout(timeout, client.deliver(request)).await;
    histogram!(names::DELIVERY_SECONDS, "agency" => agency).record(started.elapsed().as_secs_f64());
    // The code only: an agency's text may quote the declaration.
    let result = match answer {
        Err(_) => {
            let code = Code::DeadlineExceeded;
            tracing::debug!(outcome = "retry", ?code, "delivery failed, will retry");
            Attempted::Retry(format!("no answer within {} ms", timeout.as_millis()))
        }
        Ok(Ok(ack)) => {
            let duplicate = ack.into_inner().duplicate;
            let outcome = if duplicate { "duplicate" } else { "taken" };
            tracing::debug!(outcome, "delivered");
            Attempted::Taken { duplicate }
        }
        Ok(Err(status)) => {
            let code = status.code();
            let error = format!("{code:?}: {}", status.message());
            if permanent(code) {
                tracing::warn!(outcome = "refused", ?code, "delivery refused");
                Attempted::Refused(error)
            } else {
                tracing::debug!(outcome = "retry", ?code, "delivery failed, will retry");
                Attempted::Retry(error)
            }
        }
    };
    (job, result)
}

/// The span of one attempt (or of burying the row).
pub(super) fn delivery_span(agency: &'static str, job: &Job) -> tracing::Span {
    let (ebp_code, order_no) = job
        .delivery
        .shipment
        .as_ref()
        .map_or(("", ""), |k| (k.ebp_code.as_str(), k.order_no.as_str()));
    tracing::info_span!(
        "delivery",
        agency,
        message_id = job.delivery.message_id.as_str(),
        ebp_code,
        order_no,
        attempt = job.delivery.attempt,
    )
}

/// The job, with a failed attempt (`error`) recorded.
pub(super) fn with_attempt(mut job: Job, error: String) -> Job {
    job.attempts.push(dead::Attempt {
        number: job.attempts.len() as u32 + 1,
        at: unix_millis(),
        error,
    });
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_faults_are_retried_and_refusals_of_the_message_are_final() {
        for code in [
            Code::InvalidArgument,
            Code::FailedPrecondition,
            Code::AlreadyExists,
        ] {
            assert!(permanent(code), "{code:?}");
        }
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Cancelled,
            Code::Unimplemented,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::NotFound,
        ] {
            assert!(!permanent(code), "{code:?}");
        }
    }
}
