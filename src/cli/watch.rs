//! `single-window watch`: the gateway's status events as they are written (`WatchShipments`),
//! one line each, from after `--after`, then live; until Ctrl-C, `--limit` events or the end of
//! the stream. When it stops early, stderr says the sequence to resume after.

use std::io::Write;

use serde::Serialize;

use super::status::{beijing_time, connect, state_name, JsonKey};
use super::WatchArgs;
use crate::pb::v1;

/// Exit code: stopped by Ctrl-C or `--limit`, or the gateway closed the stream.
pub const EXIT_OK: i32 = 0;
/// Exit code: the gateway could not be reached, or the stream broke.
pub const EXIT_UNREACHABLE: i32 = 2;

/// Prints events until told to stop; the exit code.
pub async fn run(args: &WatchArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    if args.limit == Some(0) {
        return Ok(EXIT_OK);
    }
    let mut client = match connect(&args.gateway).await {
        Ok(client) => client,
        Err(err) => {
            eprintln!(
                "watch: gateway {} unreachable: {err:#}",
                args.gateway.server
            );
            return Ok(EXIT_UNREACHABLE);
        }
    };
    let request = v1::WatchShipmentsRequest {
        after_sequence: args.after,
        enterprise: args.enterprise.clone(),
    };
    let mut stream = match client.watch_shipments(request).await {
        Ok(stream) => stream.into_inner(),
        Err(status) => {
            eprintln!("watch: {:?}: {}", status.code(), status.message());
            return Ok(EXIT_UNREACHABLE);
        }
    };
    let mut last = args.after;
    let mut printed = 0u64;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let event = tokio::select! {
            _ = &mut interrupted => {
                eprintln!("watch: interrupted after sequence {last} (resume with --after {last})");
                return Ok(EXIT_OK);
            }
            event = stream.message() => event,
        };
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => {
                eprintln!("watch: the gateway ended the stream after sequence {last}");
                return Ok(EXIT_OK);
            }
            Err(status) => {
                eprintln!(
                    "watch: {:?}: {} (resume with --after {last})",
                    status.code(),
                    status.message()
                );
                return Ok(EXIT_UNREACHABLE);
            }
        };
        last = event.sequence;
        match print(&event, args.json, out) {
            Ok(()) => {}
            // The reader went away (`watch | head`): done.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => return Ok(EXIT_OK),
            Err(err) => return Err(err.into()),
        }
        printed += 1;
        if args.limit.is_some_and(|limit| printed >= limit) {
            return Ok(EXIT_OK);
        }
    }
}

/// One event, as text or JSON, flushed.
fn print(event: &v1::StatusEvent, json: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &JsonEvent::from(event))?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", line(event))?;
    }
    out.flush()
}

/// `sequence  time  EBP/ORDER  from → to  cause`.
fn line(event: &v1::StatusEvent) -> String {
    let key = event.shipment.clone().unwrap_or_default();
    format!(
        "{}  {}  {}/{}  {} → {}  {}",
        event.sequence,
        beijing_time(event.at_unix_ms),
        key.ebp_code,
        key.order_no,
        state_name(&event.from),
        event.state,
        event.cause
    )
}

/// A `StatusEvent` with the proto's field names.
#[derive(Serialize)]
struct JsonEvent<'a> {
    sequence: u64,
    at_unix_ms: u64,
    shipment: JsonKey<'a>,
    from: &'a str,
    state: &'a str,
    cause: &'a str,
}

impl<'a> From<&'a v1::StatusEvent> for JsonEvent<'a> {
    fn from(e: &'a v1::StatusEvent) -> Self {
        JsonEvent {
            sequence: e.sequence,
            at_unix_ms: e.at_unix_ms,
            shipment: JsonKey::of(e.shipment.as_ref()),
            from: &e.from,
            state: &e.state,
            cause: &e.cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_sequence_time_shipment_transition_and_cause() {
        let event = v1::StatusEvent {
            sequence: 7,
            shipment: Some(v1::ShipmentKey {
                ebp_code: "E1".into(),
                order_no: "O1".into(),
            }),
            from: String::new(),
            state: "collecting".into(),
            at_unix_ms: 1_704_067_200_000,
            cause: "order received".into(),
        };
        assert_eq!(
            line(&event),
            "7  2024-01-01 08:00:00.000+08:00  E1/O1  (new) → collecting  order received"
        );
        let json = serde_json::to_value(JsonEvent::from(&event)).unwrap();
        assert_eq!(json["shipment"]["order_no"], "O1");
        assert_eq!(json["sequence"], 7);
    }
}
