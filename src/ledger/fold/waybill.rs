//! Waybills, which name no platform: a waybill goes into the shipment its number (U1 index)
//! or its order number (K4: the only platform with that order number) points to, else it
//! waits for its order under its order number; a document that arrives later joins the
//! waiting waybill its inventory names (K3), or the only one waiting (K4).

use super::change::Ledger;
use super::index::{pending, platforms, waybill_number, Numbered, Pending};
use super::{refuse, Arrival};
use crate::correlate::{rule, DocKind, Event, Meta};
use crate::domain::records::Logistics;
use crate::domain::{AppType, Body, Declaration, Document, ShipmentKey};
use crate::ledger::keys;
use crate::report::{At, Violation};
use crate::rules::Rules;
use crate::store::{Folded, Read, Refusal, StoreError, Tree, Writes};

/// A waybill: into the shipment its number or order number points to, else kept waiting.
pub(super) fn waybill(
    view: &dyn Read,
    arrival: &Arrival,
    w: &Logistics<'static>,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let app_type = w.head.app_type.unwrap_or(AppType::New);
    let number = waybill_number(w);
    let held = match &number {
        Some(k) => Numbered::read(view, k)?,
        None => None,
    };
    if let (AppType::New, Some(held)) = (app_type, &held) {
        if held.guid != arrival.at.key {
            let no = w.head.logistics_no.as_ref().map_or("", |t| t.as_str());
            let code = w.head.logistics_code.as_ref().map_or("", |c| c.as_str());
            let whose = held.shipment.as_ref().map_or_else(
                || "a waybill waiting for its order".to_owned(),
                |(_, o)| format!("order {o}"),
            );
            return Ok(refuse(
                Violation::new(
                    rule::U1,
                    At::head("LogisticsHead").field("logisticsNo"),
                    no,
                    format!(
                        "logisticsNo {no} of logistics enterprise {code} is already used by waybill {} of {whose}",
                        held.guid
                    ),
                )
                .with_code(DocKind::Waybill.codes().duplicate.unwrap_or(-1)),
            ));
        }
    }
    let order_no = w
        .head
        .order_no
        .as_ref()
        .map_or("", |t| t.as_str())
        .to_owned();
    let target = match held {
        Some(Numbered {
            shipment: Some((ebp, order)),
            ..
        }) => Some((ebp, order)),
        // A change or delete of a waybill still waiting for its order.
        Some(Numbered {
            shipment: None,
            order_no: waits_under,
            ..
        }) if app_type != AppType::New => {
            return wait(view, arrival, w, app_type, number, &waits_under);
        }
        _ => {
            let candidates = platforms(view, &keys::order_no(&order_no))?;
            match candidates.as_slice() {
                [only] => Some((only.clone(), order_no.clone())),
                _ => None,
            }
        }
    };
    if let Some((ebp, order)) = target {
        let key = ShipmentKey {
            ebp_code: crate::domain::EntCode::parse_str(ebp)
                .map_err(|e| StoreError::Corrupt(format!("index ebpCode: {e}")))?,
            order_no: crate::domain::Text(std::borrow::Cow::Owned(order)),
        };
        let mut ledger = Ledger::load_or_new(view, &key, rules)?;
        if let Err(refusal) = ledger.apply(arrival) {
            return Ok(Folded::Refuse(refusal));
        }
        return ledger.finish(view);
    }
    wait(view, arrival, w, app_type, number, &order_no)
}

/// Joins a waybill that arrived before the shipment could be told from its order number: the
/// one whose number the inventory names (K3), else the only one when this platform is the only
/// one with this order number (K4). It is filed before the arriving document, so a mismatch
/// refuses the document that arrives last.
pub(super) fn join_pending_waybill(
    view: &dyn Read,
    ledger: &mut Ledger<'_>,
    arriving: &Document<'_>,
) -> Result<Result<(), Refusal>, StoreError> {
    let order_no = ledger.shipment.key.order_no.as_str().to_owned();
    let named = match arriving {
        Document::Inventory(i) => i
            .head
            .logistics_code
            .as_ref()
            .zip(i.head.logistics_no.as_ref())
            .map(|(c, n)| (c.as_str().to_owned(), n.as_str().to_owned())),
        _ => None,
    }
    .or_else(|| {
        let i = &ledger.shipment.inventory.as_ref()?.doc.head;
        Some((
            i.logistics_code.as_ref()?.as_str().to_owned(),
            i.logistics_no.as_ref()?.as_str().to_owned(),
        ))
    });
    // K3: the waybill the inventory names, wherever it waits (under a wrong orderNo, joining
    // it is refused with the K4 mismatch); else K4: the one waiting under this orderNo when
    // this platform is the only one with this orderNo.
    let by_number = match &named {
        Some((code, no)) => Numbered::read(view, &keys::logistics_no(code, no))?
            .filter(|held| held.shipment.is_none())
            .map(|held| held.order_no),
        None => None,
    };
    let list_key = keys::pending_waybills(by_number.as_deref().unwrap_or(&order_no));
    let mut list = pending(view, &list_key)?;
    if list.is_empty() {
        return Ok(Ok(()));
    }
    let mut platforms = platforms(view, &keys::order_no(&order_no))?;
    let ebp = ledger.shipment.key.ebp_code.as_str().to_owned();
    if !platforms.contains(&ebp) {
        platforms.push(ebp);
    }
    let pick = match &named {
        Some((code, no)) => list
            .iter()
            .position(|p| &p.logistics_code == code && &p.logistics_no == no),
        None if platforms.len() == 1 => Some(0),
        None => None,
    };
    let Some(index) = pick else {
        return Ok(Ok(()));
    };
    let waiting = list[index].clone();
    let doc = crate::ledger::record::document(view, &waiting.at, &ledger.rules.limits)?;
    let arrival = Arrival {
        event: Event::Document(
            Declaration::new(Body::Ceb(doc)),
            Meta {
                sender: waiting.at.sender.clone(),
                received_at: waiting.at.received_at,
            },
        ),
        at: waiting.at.clone(),
    };
    // The waybill on file does not fit: the arriving document, which joins it, is refused.
    if let Err(refusal) = ledger.apply(&arrival) {
        return Ok(Err(refusal));
    }
    list.remove(index);
    if list.is_empty() {
        ledger.writes.removes.push((Tree::Index, list_key));
    } else {
        ledger.writes.puts.push((
            Tree::Index,
            list_key,
            serde_json::to_vec(&list).unwrap_or_default(),
        ));
    }
    Ok(Ok(()))
}

/// Keeps a waybill (or its change or delete) waiting for its order.
fn wait(
    view: &dyn Read,
    arrival: &Arrival,
    w: &Logistics<'static>,
    app_type: AppType,
    number: Option<Vec<u8>>,
    order_no: &str,
) -> Result<Folded, StoreError> {
    let list_key = keys::pending_waybills(order_no);
    let mut list = pending(view, &list_key)?;
    let code = w
        .head
        .logistics_code
        .as_ref()
        .map_or("", |c| c.as_str())
        .to_owned();
    let no = w
        .head
        .logistics_no
        .as_ref()
        .map_or("", |t| t.as_str())
        .to_owned();
    let at = list
        .iter()
        .position(|p| p.logistics_code == code && p.logistics_no == no);
    let mut writes = Writes::default();
    match (app_type, at) {
        (AppType::New, _) => list.push(Pending {
            at: arrival.at.clone(),
            logistics_code: code,
            logistics_no: no,
        }),
        (AppType::Change, Some(i)) => list[i].at = arrival.at.clone(),
        (AppType::Delete, Some(i)) => {
            list.remove(i);
            if let Some(k) = &number {
                writes.removes.push((Tree::Index, k.clone()));
            }
        }
        (_, None) => {
            return Ok(refuse(
                Violation::new(
                    rule::UNKNOWN,
                    At::head("LogisticsHead").field("appType"),
                    app_type.code(),
                    format!("change or delete of waybill {no}, which is not on file"),
                )
                .with_code(DocKind::Waybill.codes().unknown.unwrap_or(-1)),
            ));
        }
    }
    if app_type != AppType::Delete {
        if let Some(k) = number {
            let entry = Numbered {
                shipment: None,
                guid: arrival.at.key.clone(),
                order_no: order_no.to_owned(),
            };
            writes.puts.push((Tree::Index, k, entry.to_bytes()));
        }
    }
    if list.is_empty() {
        writes.removes.push((Tree::Index, list_key));
    } else {
        writes.puts.push((
            Tree::Index,
            list_key,
            serde_json::to_vec(&list).unwrap_or_default(),
        ));
    }
    Ok(Folded::Write(writes))
}
