//! Every metric the gateway exports: name (base units: seconds, bytes, counts), help text,
//! and the buckets of each histogram. Labels are listed in the help; their values come from
//! small fixed sets.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, Unit};

use crate::domain::Agency;

/// gRPC calls answered, by `method` (the RPC's name) and `code` (the gRPC status name).
pub const REQUESTS: &str = "sw_requests_total";
/// Time from a call's arrival to its answer, by `method`.
pub const REQUEST_SECONDS: &str = "sw_request_duration_seconds";
/// Calls being answered now.
pub const IN_FLIGHT: &str = "sw_requests_in_flight";
/// Calls refused at once because the gateway was at its limit (RESOURCE_EXHAUSTED).
pub const SHED: &str = "sw_requests_shed_total";
/// Declarations (CEB blocks and typed declarations) by `kind` and `outcome` (accepted,
/// rejected, repeat, conflict, ignored).
pub const DECLARATIONS: &str = "sw_declarations_total";
/// Violations that refused a declaration, by `rule` id.
pub const REJECTIONS: &str = "sw_rejections_total";
/// Repeats recognised and not applied again, by `source` (submission, receipt, delivery).
pub const DUPLICATES: &str = "sw_duplicates_total";
/// Time a commit waited for its group's write and fsync.
pub const COMMIT_SECONDS: &str = "sw_store_commit_duration_seconds";
/// Time of one group's sled flush and fsync.
pub const FLUSH_SECONDS: &str = "sw_store_flush_duration_seconds";
/// Events written per flush (group commit).
pub const COMMITS_PER_FLUSH: &str = "sw_store_commits_per_flush";
/// Rows waiting in each `agency`'s outbox.
pub const OUTBOX_BACKLOG: &str = "sw_outbox_backlog";
/// Dead letters written, by `agency` and `kind` (delivery, orphan-receipt).
pub const DEAD_LETTERS: &str = "sw_dead_letters_total";
/// Delivery attempts by `agency` and `outcome` (taken, duplicate, retry, refused).
pub const DELIVERIES: &str = "sw_deliveries_total";
/// Time of one delivery attempt, by `agency`.
pub const DELIVERY_SECONDS: &str = "sw_delivery_duration_seconds";
/// Agency receipts by `agency`, `status` (CEB returnStatus, "other" or "negative") and
/// `outcome` (applied, repeat, orphan, ignored).
pub const RECEIPTS: &str = "sw_receipts_total";
/// Shipments by `state`.
pub const SHIPMENTS: &str = "sw_shipments";
/// Time from a shipment's first document to its release.
pub const TIME_TO_RELEASE_SECONDS: &str = "sw_time_to_release_seconds";
/// Always 1, with the `version` label.
pub const BUILD_INFO: &str = "sw_build_info";

const LATENCY: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const RELEASE: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0,
];
const GROUP: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Each histogram's buckets.
pub const BUCKETS: &[(&str, &[f64])] = &[
    (REQUEST_SECONDS, LATENCY),
    (COMMIT_SECONDS, LATENCY),
    (FLUSH_SECONDS, LATENCY),
    (COMMITS_PER_FLUSH, GROUP),
    (DELIVERY_SECONDS, LATENCY),
    (TIME_TO_RELEASE_SECONDS, RELEASE),
];

/// Registers the help text and unit of every metric.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "gRPC calls answered, by method and code."
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time to answer a gRPC call, by method."
    );
    describe_gauge!(IN_FLIGHT, Unit::Count, "gRPC calls being answered now.");
    describe_counter!(
        SHED,
        Unit::Count,
        "Calls refused at once because the gateway was at its limit."
    );
    describe_counter!(
        DECLARATIONS,
        Unit::Count,
        "Declarations by kind and outcome."
    );
    describe_counter!(
        REJECTIONS,
        Unit::Count,
        "Violations that refused a declaration, by rule."
    );
    describe_counter!(
        DUPLICATES,
        Unit::Count,
        "Repeats recognised and not applied again, by source."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time a commit waited for its write and fsync."
    );
    describe_histogram!(
        FLUSH_SECONDS,
        Unit::Seconds,
        "Time of one group's flush and fsync."
    );
    describe_histogram!(COMMITS_PER_FLUSH, Unit::Count, "Events written per flush.");
    describe_gauge!(
        OUTBOX_BACKLOG,
        Unit::Count,
        "Rows waiting in an agency's outbox."
    );
    describe_counter!(
        DEAD_LETTERS,
        Unit::Count,
        "Dead letters written, by agency and kind."
    );
    describe_counter!(
        DELIVERIES,
        Unit::Count,
        "Delivery attempts by agency and outcome."
    );
    describe_histogram!(
        DELIVERY_SECONDS,
        Unit::Seconds,
        "Time of one delivery attempt, by agency."
    );
    describe_counter!(
        RECEIPTS,
        Unit::Count,
        "Agency receipts by agency, status and outcome."
    );
    describe_gauge!(SHIPMENTS, Unit::Count, "Shipments by state.");
    describe_histogram!(
        TIME_TO_RELEASE_SECONDS,
        Unit::Seconds,
        "Time from a shipment's first document to its release."
    );
    describe_gauge!(
        BUILD_INFO,
        Unit::Count,
        "Always 1; the version label names the build."
    );
}

/// Counters whose label sets are known in advance start at 0, so that a scrape (and a
/// dashboard's `rate()`) sees them before the first event.
pub fn zeroes() {
    counter!(SHED).absolute(0);
    for source in ["submission", "receipt", "delivery"] {
        counter!(DUPLICATES, "source" => source).absolute(0);
    }
    for agency in Agency::ALL.map(Agency::name) {
        for kind in ["delivery", "orphan-receipt"] {
            counter!(DEAD_LETTERS, "agency" => agency, "kind" => kind).absolute(0);
        }
        for outcome in ["taken", "duplicate", "retry", "refused"] {
            counter!(DELIVERIES, "agency" => agency, "outcome" => outcome).absolute(0);
        }
    }
}
