//! Names for metrics and logs, pure: the `method` label of a request path (from a fixed
//! table of the RPCs served here, anything else is "other", so labels stay a small set), the
//! gRPC status name of a code, and the code a response's headers or trailers carry.

use tonic::Code;

/// The RPCs this server answers, by path, and their names.
const METHODS: &[(&str, &str)] = &[
    ("/singlewindow.v1.Gateway/Submit", "Submit"),
    ("/singlewindow.v1.Gateway/SubmitStream", "SubmitStream"),
    ("/singlewindow.v1.Gateway/GetShipment", "GetShipment"),
    ("/singlewindow.v1.Gateway/ListShipments", "ListShipments"),
    ("/singlewindow.v1.Gateway/WatchShipments", "WatchShipments"),
    ("/singlewindow.v1.Gateway/Echo", "Echo"),
    ("/singlewindow.v1.Receipts/Report", "Report"),
    ("/singlewindow.v1.Admin/ListDeadLetters", "ListDeadLetters"),
    ("/singlewindow.v1.Admin/GetDeadLetter", "GetDeadLetter"),
    (
        "/singlewindow.v1.Admin/ReplayDeadLetter",
        "ReplayDeadLetter",
    ),
    ("/grpc.health.v1.Health/Check", "Check"),
    ("/grpc.health.v1.Health/Watch", "Watch"),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "ServerReflectionInfo",
    ),
];

/// The `method` label of a request path: the RPC's name, or "other".
pub fn method_name(path: &str) -> &'static str {
    METHODS
        .iter()
        .find(|(known, _)| *known == path)
        .map_or("other", |(_, name)| name)
}

pub(super) fn is_health(method: &str) -> bool {
    matches!(method, "Check" | "Watch")
}

pub(super) fn header_code(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// Codes that say the gateway failed, rather than the caller or the store being busy.
pub(super) fn server_fault(code: Code) -> bool {
    matches!(code, Code::Internal | Code::Unknown | Code::DataLoss)
}

/// The status name, as the gRPC specification spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_protos_has_its_name_and_the_rest_is_other() {
        let protos = [
            include_str!("../../../proto/singlewindow/v1/gateway.proto"),
            include_str!("../../../proto/singlewindow/v1/agency.proto"),
        ];
        let mut found = 0;
        for proto in protos {
            let mut service = "";
            for line in proto.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.trim_end_matches('{').trim();
                }
                let Some(rest) = line.strip_prefix("rpc ") else {
                    continue;
                };
                let rpc = rest.split('(').next().unwrap_or_default().trim();
                if service == "AgencyEndpoint" {
                    continue; // served by the agencies, not here
                }
                let path = format!("/singlewindow.v1.{service}/{rpc}");
                assert_eq!(method_name(&path), rpc, "{path}");
                found += 1;
            }
        }
        assert_eq!(found, 10);
        assert_eq!(method_name("/grpc.health.v1.Health/Check"), "Check");
        assert_eq!(method_name("/singlewindow.v1.Gateway/Nope"), "other");
        assert_eq!(method_name("/"), "other");
    }

    #[test]
    fn codes_are_named_as_the_specification_says() {
        assert_eq!(code_name(Code::from_bytes(b"0")), "OK");
        assert_eq!(code_name(Code::from_bytes(b"14")), "UNAVAILABLE");
        assert_eq!(code_name(Code::from_bytes(b"3")), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::from_bytes(b"99")), "UNKNOWN");
    }
}
