//! `single-window status EBPCODE/ORDERNO`: one shipment as the gateway sees it (`GetShipment`),
//! for people or as one JSON object.

use std::io::Write;

use serde::Serialize;

use super::{GatewayArgs, StatusArgs};
use crate::domain::ReceiptTime;
use crate::pb::v1;
use crate::pb::v1::gateway_client::GatewayClient;

/// Exit code: the shipment was found.
pub const EXIT_FOUND: i32 = 0;
/// Exit code: the gateway could not be reached, or refused the request.
pub const EXIT_UNREACHABLE: i32 = 2;
/// Exit code: no document of the shipment is on file.
pub const EXIT_NOT_FOUND: i32 = 3;

/// Prints the shipment; the exit code.
pub async fn run(args: &StatusArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let Some(key) = key(args) else {
        writeln!(
            out,
            "error: {:?}: expected EBPCODE/ORDERNO",
            args.shipment.as_deref().unwrap_or_default()
        )?;
        return Ok(EXIT_UNREACHABLE);
    };
    let mut client = match connect(&args.gateway).await {
        Ok(client) => client,
        Err(err) => {
            writeln!(
                out,
                "error: gateway {} unreachable: {err:#}",
                args.gateway.server
            )?;
            return Ok(EXIT_UNREACHABLE);
        }
    };
    let request = v1::GetShipmentRequest {
        shipment: Some(key.clone()),
    };
    let view = match client.get_shipment(request).await {
        Ok(view) => view.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => {
            writeln!(out, "{}/{}: not found", key.ebp_code, key.order_no)?;
            return Ok(EXIT_NOT_FOUND);
        }
        Err(status) => {
            writeln!(
                out,
                "error: {}/{}: {:?}: {}",
                key.ebp_code,
                key.order_no,
                status.code(),
                status.message()
            )?;
            return Ok(EXIT_UNREACHABLE);
        }
    };
    if args.json {
        serde_json::to_writer(&mut *out, &JsonView::from(&view))?;
        writeln!(out)?;
    } else {
        print_text(&view, out)?;
    }
    Ok(EXIT_FOUND)
}

/// A client of the gateway at `--server`, connected now: plaintext for `http://`, TLS with the
/// `--tls-*` files for `https://`.
pub(crate) async fn connect(
    gateway: &GatewayArgs,
) -> anyhow::Result<GatewayClient<tonic::transport::Channel>> {
    let channel = gateway.endpoint()?.connect().await?;
    Ok(GatewayClient::new(channel))
}

/// A time for people: Unix ms in the standard's time zone (UTC+8), to the millisecond.
pub(crate) fn beijing_time(unix_ms: u64) -> String {
    if unix_ms == 0 {
        return "-".to_owned();
    }
    let digits = ReceiptTime::from_unix_millis(unix_ms).to_string();
    let part = |from: usize, to: usize| digits.get(from..to).unwrap_or("??");
    format!(
        "{}-{}-{} {}:{}:{}.{}+08:00",
        part(0, 4),
        part(4, 6),
        part(6, 8),
        part(8, 10),
        part(10, 12),
        part(12, 14),
        part(14, 17)
    )
}

/// A state for people: "" (not yet seen) as "(new)".
pub(crate) fn state_name(state: &str) -> &str {
    if state.is_empty() {
        "(new)"
    } else {
        state
    }
}

/// The key from `EBPCODE/ORDERNO` or `--ebp` and `--order-no`.
fn key(args: &StatusArgs) -> Option<v1::ShipmentKey> {
    let (ebp, order_no) = match (&args.shipment, &args.ebp, &args.order_no) {
        (Some(both), _, _) => both.split_once('/')?,
        (None, Some(ebp), Some(order_no)) => (ebp.as_str(), order_no.as_str()),
        _ => return None,
    };
    (!ebp.is_empty() && !order_no.is_empty()).then(|| v1::ShipmentKey {
        ebp_code: ebp.to_owned(),
        order_no: order_no.to_owned(),
    })
}

fn print_text(view: &v1::ShipmentView, out: &mut dyn Write) -> std::io::Result<()> {
    let key = view.shipment.clone().unwrap_or_default();
    writeln!(out, "shipment     {}/{}", key.ebp_code, key.order_no)?;
    writeln!(out, "state        {}", state_name(&view.state))?;
    writeln!(out, "enterprises  {}", view.enterprises.join(", "))?;
    if !view.quota_counted.is_empty() {
        writeln!(out, "quota        {} CNY counted", view.quota_counted)?;
    }
    writeln!(out, "agencies")?;
    for a in &view.agencies {
        let receipt = if a.return_status == 0 {
            format!("no receipt yet ({})", a.return_info)
        } else {
            format!(
                "{} {} at {}",
                a.return_status,
                a.return_info,
                beijing_time(a.at_unix_ms)
            )
        };
        writeln!(
            out,
            "  {:<11} {:<13} {} routed  {receipt}",
            a.agency, a.phase, a.routed
        )?;
    }
    writeln!(out, "history")?;
    for t in &view.history {
        writeln!(
            out,
            "  {}  {} → {}  {}",
            beijing_time(t.at_unix_ms),
            state_name(&t.from),
            t.to,
            t.cause
        )?;
    }
    writeln!(out, "documents")?;
    for d in &view.documents {
        writeln!(
            out,
            "  {:<10} {}  from {}  received {}",
            d.kind,
            d.guid,
            d.sender,
            beijing_time(d.received_at_unix_ms)
        )?;
    }
    if !view.inventory_receipt_xml.is_empty() {
        writeln!(
            out,
            "inventory receipt (CEB622): {} bytes; --json shows it",
            view.inventory_receipt_xml.len()
        )?;
    }
    Ok(())
}

/// The `ShipmentView` with the proto's field names (times stay Unix ms).
#[derive(Serialize)]
struct JsonView<'a> {
    shipment: JsonKey<'a>,
    state: &'a str,
    history: Vec<JsonTransition<'a>>,
    documents: Vec<JsonDocument<'a>>,
    agencies: Vec<JsonAgency<'a>>,
    enterprises: &'a [String],
    quota_counted: &'a str,
    /// The CEB622 XML as text ("" until customs decides).
    inventory_receipt_xml: String,
}

/// A shipment key.
#[derive(Serialize)]
pub(crate) struct JsonKey<'a> {
    pub(crate) ebp_code: &'a str,
    pub(crate) order_no: &'a str,
}

impl<'a> JsonKey<'a> {
    /// The key of `key` ("" for both when absent).
    pub(crate) fn of(key: Option<&'a v1::ShipmentKey>) -> JsonKey<'a> {
        key.map_or(
            JsonKey {
                ebp_code: "",
                order_no: "",
            },
            |k| JsonKey {
                ebp_code: &k.ebp_code,
                order_no: &k.order_no,
            },
        )
    }
}

#[derive(Serialize)]
struct JsonTransition<'a> {
    at_unix_ms: u64,
    from: &'a str,
    to: &'a str,
    cause: &'a str,
}

#[derive(Serialize)]
struct JsonDocument<'a> {
    kind: &'a str,
    guid: &'a str,
    sender: &'a str,
    received_at_unix_ms: u64,
}

#[derive(Serialize)]
struct JsonAgency<'a> {
    agency: &'a str,
    return_status: i32,
    return_info: &'a str,
    at_unix_ms: u64,
    phase: &'a str,
    routed: u32,
}

impl<'a> From<&'a v1::ShipmentView> for JsonView<'a> {
    fn from(v: &'a v1::ShipmentView) -> Self {
        JsonView {
            shipment: JsonKey::of(v.shipment.as_ref()),
            state: &v.state,
            history: v
                .history
                .iter()
                .map(|t| JsonTransition {
                    at_unix_ms: t.at_unix_ms,
                    from: &t.from,
                    to: &t.to,
                    cause: &t.cause,
                })
                .collect(),
            documents: v
                .documents
                .iter()
                .map(|d| JsonDocument {
                    kind: &d.kind,
                    guid: &d.guid,
                    sender: &d.sender,
                    received_at_unix_ms: d.received_at_unix_ms,
                })
                .collect(),
            agencies: v
                .agencies
                .iter()
                .map(|a| JsonAgency {
                    agency: &a.agency,
                    return_status: a.return_status,
                    return_info: &a.return_info,
                    at_unix_ms: a.at_unix_ms,
                    phase: &a.phase,
                    routed: a.routed,
                })
                .collect(),
            enterprises: &v.enterprises,
            quota_counted: &v.quota_counted,
            inventory_receipt_xml: String::from_utf8_lossy(&v.inventory_receipt_xml).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc_plus_8() {
        assert_eq!(beijing_time(0), "-");
        // 2024-01-01T00:00:00.123Z
        assert_eq!(
            beijing_time(1_704_067_200_123),
            "2024-01-01 08:00:00.123+08:00"
        );
    }

    #[test]
    fn the_key_comes_from_the_slash_form_or_the_flags() {
        let args = |shipment: Option<&str>, ebp: Option<&str>, order_no: Option<&str>| StatusArgs {
            gateway: GatewayArgs {
                server: String::new(),
                tls: crate::client::ClientTls::default(),
            },
            shipment: shipment.map(str::to_owned),
            ebp: ebp.map(str::to_owned),
            order_no: order_no.map(str::to_owned),
            json: false,
        };
        let key_of = |a: &StatusArgs| key(a).map(|k| (k.ebp_code, k.order_no));
        let cases = [
            (args(Some("E1/O/2"), None, None), Some(("E1", "O/2"))),
            (args(Some("E1"), None, None), None),
            (args(Some("/O"), None, None), None),
            (args(None, Some("E1"), Some("O")), Some(("E1", "O"))),
        ];
        for (a, expected) in cases {
            let expected = expected.map(|(e, o)| (e.to_owned(), o.to_owned()));
            assert_eq!(key_of(&a), expected, "{a:?}");
        }
    }
}
