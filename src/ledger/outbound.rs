//! What a route becomes: the delivery an agency gets, ready to send (the dispatcher only adds
//! the attempt number). CEB documents go as the canonical XML on file, the seller's agency
//! declarations as they were submitted, and what the gateway derives (the flagged goods lines
//! for inspection, the tax from the inventory and the HS rates) is built here from the
//! shipment's inventory.

use std::collections::BTreeMap;

use prost::Message;

use super::record::DocRef;
use crate::correlate::{Agency, Route, Routed, Shipment};
use crate::domain::Decimal;
use crate::ingest::record_key;
use crate::pb::v1;
use crate::rules::Rules;
use crate::store::{Read, StoreError, Tree};
use crate::validate::tax::{compute, Rates, TaxInput};

/// The delivery of `route`.
pub fn delivery(
    view: &dyn Read,
    s: &Shipment,
    docs: &BTreeMap<String, DocRef>,
    route: &Route,
    rules: &Rules,
) -> Result<v1::Delivery, StoreError> {
    use v1::delivery::Payload;
    let stored = |slot: &str| -> Result<Vec<u8>, StoreError> {
        let r = docs
            .get(slot)
            .ok_or_else(|| StoreError::Corrupt(format!("route: no {slot} on file")))?;
        declaration_bytes(view, &r.sender, &r.key)
    };
    let (kind, payload) = match &route.what {
        Routed::Inventory => ("inventory", Payload::CebXml(stored("inventory")?)),
        Routed::Payment => ("fx", Payload::CebXml(stored("payment")?)),
        Routed::Inspection => ("inspection", Payload::Inspection(inspection(s, rules))),
        Routed::Tax => ("tax", Payload::Tax(tax(s, rules))),
        Routed::Declared(key) => {
            let (sender, key) = key.split_once('/').unwrap_or(("", key));
            let bytes = declaration_bytes(view, sender, key)?;
            declared(route.agency, &bytes)?
        }
        Routed::Cancel(_) if route.agency == Agency::Customs => {
            ("cancel", Payload::CebXml(stored("cancel")?))
        }
        Routed::Cancel(guid) => (
            "cancel",
            Payload::Cancel(v1::Cancellation {
                reason: format!("CEB623 cancellation {guid}"),
                cancelled_message_id: s
                    .agencies
                    .get(&route.agency)
                    .map_or_else(String::new, |a| a.message.clone()),
            }),
        ),
    };
    Ok(v1::Delivery {
        message_id: route.message_id(s),
        agency: route.agency.name().to_owned(),
        shipment: Some(v1::ShipmentKey {
            ebp_code: s.key.ebp_code.as_str().to_owned(),
            order_no: s.key.order_no.as_str().to_owned(),
        }),
        kind: kind.to_owned(),
        attempt: 0,
        credit: credit(s, rules),
        change: route.change,
        payload: Some(payload),
    })
}

fn declaration_bytes(view: &dyn Read, sender: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    view.read(Tree::Declarations, &record_key(sender, key))?
        .ok_or_else(|| StoreError::Corrupt(format!("route: declaration {sender}/{key} missing")))
}

fn declared(
    agency: Agency,
    bytes: &[u8],
) -> Result<(&'static str, v1::delivery::Payload), StoreError> {
    use v1::delivery::Payload;
    let corrupt = |e: prost::DecodeError| StoreError::Corrupt(format!("declaration: {e}"));
    Ok(match agency {
        Agency::Inspection => (
            "inspection",
            Payload::Inspection(v1::InspectionDeclaration::decode(bytes).map_err(corrupt)?),
        ),
        Agency::Tax => (
            "tax",
            Payload::Tax(v1::TaxDeclaration::decode(bytes).map_err(corrupt)?),
        ),
        Agency::Fx => (
            "fx",
            Payload::Fx(v1::FxSettlement::decode(bytes).map_err(corrupt)?),
        ),
        Agency::Customs => {
            return Err(StoreError::Corrupt(
                "route: customs takes no agency declaration".into(),
            ))
        }
    })
}

/// The credit class of the shipment's e-commerce enterprise ("" when not registered).
fn credit(s: &Shipment, rules: &Rules) -> String {
    let ebc = s
        .inventory
        .as_ref()
        .and_then(|i| i.doc.head.ebc_code.as_ref())
        .map(|c| c.as_str().to_owned());
    ebc.and_then(|code| rules.enterprise(&code).map(|e| e.credit))
        .map_or_else(String::new, |c| format!("{c:?}").to_lowercase())
}

fn key_of(s: &Shipment) -> Option<v1::ShipmentKey> {
    Some(v1::ShipmentKey {
        ebp_code: s.key.ebp_code.as_str().to_owned(),
        order_no: s.key.order_no.as_str().to_owned(),
    })
}

fn show<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

/// The inventory's goods lines whose HS code is on the inspection list.
pub fn inspection(s: &Shipment, rules: &Rules) -> v1::InspectionDeclaration {
    let Some(inv) = s.inventory.as_ref().map(|f| &f.doc) else {
        return v1::InspectionDeclaration::default();
    };
    let flagged = |code: Option<crate::domain::HsCode>| {
        code.and_then(|c| rules.hs.get(&c.number()))
            .is_some_and(|e| e.inspection)
    };
    v1::InspectionDeclaration {
        shipment: key_of(s),
        declarant: show(inv.head.agent_code.as_ref().or(inv.head.ebc_code.as_ref())),
        app_time: show(inv.head.app_time),
        lines: inv
            .items
            .iter()
            .filter(|l| flagged(l.gcode))
            .map(|l| v1::InspectionLine {
                gnum: l.gnum.unwrap_or(0),
                gcode: show(l.gcode),
                gname: show(l.gname.as_ref().map(|t| t.as_str())),
                origin: show(l.country),
                qty: show(l.qty),
                unit: show(l.unit),
                inspection: true,
            })
            .collect(),
    }
}

/// The tax of the inventory under the retail-import rules and the HS rates (lines with no
/// rate, or an inventory over the limits, get zero amounts: the tax agency decides).
pub fn tax(s: &Shipment, rules: &Rules) -> v1::TaxDeclaration {
    let Some(inv) = s.inventory.as_ref().map(|f| &f.doc) else {
        return v1::TaxDeclaration::default();
    };
    let inputs: Option<Vec<TaxInput>> = inv.items.iter().map(|l| line_input(l, rules)).collect();
    let freight = inv.head.freight.unwrap_or(Decimal::ZERO);
    let insured = inv.head.insured_fee.unwrap_or(Decimal::ZERO);
    let computed = inputs.and_then(|i| compute(&i, freight, insured, &rules.tax).ok());
    let amount = |f: &dyn Fn(&crate::validate::tax::TaxAmounts) -> Decimal, i: usize| {
        computed
            .as_ref()
            .and_then(|(lines, _)| lines.get(i))
            .map_or_else(|| "0".to_owned(), |t| f(t).to_string())
    };
    let total = |f: &dyn Fn(&crate::validate::tax::TaxAmounts) -> Decimal| {
        computed
            .as_ref()
            .map_or_else(|| "0".to_owned(), |(_, t)| f(t).to_string())
    };
    v1::TaxDeclaration {
        shipment: key_of(s),
        assure_code: show(inv.head.assure_code.as_ref()),
        buyer_id_number: show(inv.head.buyer_id_number.as_ref()),
        freight: freight.to_string(),
        insured_fee: insured.to_string(),
        lines: inv
            .items
            .iter()
            .enumerate()
            .map(|(i, l)| v1::TaxLine {
                gnum: l.gnum.unwrap_or(0),
                gcode: show(l.gcode),
                goods_value: show(l.total_price),
                indivisible: false,
                customs_tax: amount(&|t| t.customs, i),
                value_added_tax: amount(&|t| t.vat, i),
                consumption_tax: amount(&|t| t.consumption, i),
            })
            .collect(),
        customs_tax: total(&|t| t.customs),
        value_added_tax: total(&|t| t.vat),
        consumption_tax: total(&|t| t.consumption),
    }
}

fn line_input(l: &crate::domain::records::InventoryList<'_>, rules: &Rules) -> Option<TaxInput> {
    let entry = rules.hs.get(&l.gcode?.number())?;
    Some(TaxInput {
        goods_value: l.total_price?,
        rates: Rates {
            vat: entry.vat,
            consumption: entry.consumption,
            tariff: entry.tariff,
        },
        indivisible: false,
    })
}

/// An outbox row: the encoded delivery.
pub fn row(delivery: &v1::Delivery) -> Vec<u8> {
    delivery.encode_to_vec()
}
