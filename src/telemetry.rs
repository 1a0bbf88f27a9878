//! What operators see: every metric name in one place ([`names`]), with its help text, unit
//! and histogram buckets; the Prometheus recorder (installed once per process); label values
//! kept to small, fixed sets (no ids, no personal data in labels).

pub mod count;
pub mod log;
pub mod mask;
pub mod names;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::ReturnStatus;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder: installed on first use, then shared. `None` when another
/// recorder was installed first.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Some(handle);
    }
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in names::BUCKETS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
            .ok()?;
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        return HANDLE.get();
    }
    names::describe();
    names::zeroes();
    metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let _ = HANDLE.set(handle);
    HANDLE.get()
}

/// The text a scrape of `/metrics` returns.
pub fn render() -> String {
    prometheus().map_or_else(String::new, PrometheusHandle::render)
}

/// A `returnStatus` as a label: the CEB codes by name of number, anything else "other" (an
/// agency may send any number; the label set must stay small).
pub fn status_label(status: ReturnStatus) -> &'static str {
    const KNOWN: [(i32, &str); 15] = [
        (2, "2"),
        (3, "3"),
        (4, "4"),
        (100, "100"),
        (120, "120"),
        (300, "300"),
        (399, "399"),
        (500, "500"),
        (501, "501"),
        (502, "502"),
        (503, "503"),
        (599, "599"),
        (700, "700"),
        (800, "800"),
        (899, "899"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status.0) {
        Some((_, label)) => label,
        None if status.0 < 0 => "negative",
        None => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_are_a_small_fixed_set() {
        assert_eq!(status_label(ReturnStatus(800)), "800");
        assert_eq!(status_label(ReturnStatus(-301010)), "negative");
        assert_eq!(status_label(ReturnStatus(12345)), "other");
    }
}
