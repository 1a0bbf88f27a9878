//! Key layouts of the ledger's records. Every part is joined with a 0 byte, which no CEB code,
//! number or guid contains, so prefixes never run into each other.

use sha2::{Digest, Sha256};

use crate::correlate::State;
use crate::domain::{IdNumber, ShipmentKey};

/// `ebpCode \0 orderNo`: a shipment record in `Tree::Shipments`.
pub fn shipment(key: &ShipmentKey<'_>) -> Vec<u8> {
    join(b"", &[key.ebp_code.as_str(), key.order_no.as_str()])
}

/// `e enterprise \0 state \0 ebpCode \0 orderNo`: "this enterprise takes part in this
/// shipment, which is in this state" (`Tree::Index`), for listing by enterprise and state.
pub fn by_enterprise(enterprise: &str, state: State, key: &ShipmentKey<'_>) -> Vec<u8> {
    join(
        b"e",
        &[
            enterprise,
            state.name(),
            key.ebp_code.as_str(),
            key.order_no.as_str(),
        ],
    )
}

/// The prefix of [`by_enterprise`] for one enterprise, and one state when given.
pub fn by_enterprise_prefix(enterprise: &str, state: Option<State>) -> Vec<u8> {
    let mut k = join(b"e", &[enterprise]);
    k.push(0);
    if let Some(state) = state {
        k.extend_from_slice(state.name().as_bytes());
        k.push(0);
    }
    k
}

/// The shipment key at the end of a [`by_enterprise`] key.
pub fn shipment_of_index(index: &[u8]) -> Option<(String, String)> {
    let mut parts = index.get(1..)?.split(|b| *b == 0);
    let (_, _, ebp, order_no) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((
        String::from_utf8(ebp.to_vec()).ok()?,
        String::from_utf8(order_no.to_vec()).ok()?,
    ))
}

/// `o orderNo`: the platforms (ebpCode list) with a shipment of this order number (K4).
pub fn order_no(order_no: &str) -> Vec<u8> {
    join(b"o", &[order_no])
}

/// `w orderNo`: waybills not yet joined to a shipment.
pub fn pending_waybills(order_no: &str) -> Vec<u8> {
    join(b"w", &[order_no])
}

/// `l logisticsCode \0 logisticsNo`: the waybill with this number (U1, K3).
pub fn logistics_no(logistics_code: &str, logistics_no: &str) -> Vec<u8> {
    join(b"l", &[logistics_code, logistics_no])
}

/// `p payCode \0 payTransactionId`: the payment with this transaction id (U1).
pub fn pay_transaction(pay_code: &str, transaction: &str) -> Vec<u8> {
    join(b"p", &[pay_code, transaction])
}

/// `m messageId`: a routed message → its agency and shipment (`Tree::Index`), how a receipt
/// finds what it decides on.
pub fn message(message_id: &str) -> Vec<u8> {
    join(b"m", &[message_id])
}

/// `Tree::Quotas`: SHA-256 of the buyer's ID number (no raw ID number in any key), then the
/// year.
pub fn quota(buyer: &IdNumber<'_>, year: u32) -> Vec<u8> {
    let mut k: Vec<u8> = Sha256::digest(buyer.as_str().as_bytes()).to_vec();
    k.extend_from_slice(&year.to_be_bytes());
    k
}

fn join(tag: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut k = Vec::with_capacity(tag.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    k.extend_from_slice(tag);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(part.as_bytes());
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntCode, Text};
    use std::borrow::Cow;

    #[test]
    fn index_keys_give_back_the_shipment_and_prefixes_match() {
        let key = ShipmentKey {
            ebp_code: EntCode::parse_str("3301960001").unwrap(),
            order_no: Text(Cow::Borrowed("SW-1")),
        };
        let index = by_enterprise("3301960002", State::Routed, &key);
        assert!(index.starts_with(&by_enterprise_prefix("3301960002", None)));
        assert!(index.starts_with(&by_enterprise_prefix("3301960002", Some(State::Routed))));
        assert!(!index.starts_with(&by_enterprise_prefix("330196000", None)));
        assert!(!index.starts_with(&by_enterprise_prefix("3301960002", Some(State::Released))));
        assert_eq!(
            shipment_of_index(&index),
            Some(("3301960001".to_owned(), "SW-1".to_owned()))
        );
    }
}
