//! Rule ids and CEB codes of correlation: the cross-document rules of domain.md §3 and the
//! lifecycle rules (appType, cancellation, return, receipts) this module enforces.

pub use crate::validate::rule::{P1, Q1, Q1_ANNUAL_CODE};

/// K1: payment ↔ order on `orderNo` + `ebpCode` (+ `payCode`, `payTransactionId`).
pub const K1: &str = "K1";
/// K2: inventory ↔ order on `orderNo` + `ebpCode` + `ebcCode`.
pub const K2: &str = "K2";
/// K3: inventory ↔ waybill on `logisticsCode` + `logisticsNo`.
pub const K3: &str = "K3";
/// K4: waybill ↔ order on `orderNo`.
pub const K4: &str = "K4";
/// A2: order `acturalPaid` = payment `amountPaid`.
pub const A2: &str = "A2";
/// C1: consignee name, telephone and address equal on order and waybill.
pub const C1: &str = "C1";
/// L1: inventory lines map 1:1 to order lines by `gnum`, `gname` = order `itemName`.
pub const L1: &str = "L1";
/// B1: inventory buyer = order buyer; payer = buyer.
pub const B1: &str = "B1";
/// T1: the inventory goes to customs only once the four documents agree.
pub const T1: &str = "T1";
/// An order whose `ebpCode` + `orderNo` is not the shipment's key (a routing fault).
pub const KEY: &str = "KEY";
/// A second new record with the same number.
pub const DUPLICATE: &str = "DUPLICATE";
/// Change or delete of a record that is not on file.
pub const UNKNOWN: &str = "UNKNOWN";
/// A message older than (or as old as) the record on file: ignored.
pub const STALE: &str = "STALE";
/// Change or delete of a record a declared inventory uses.
pub const IN_USE: &str = "IN-USE";
/// The inventory is already declared.
pub const DECLARED: &str = "DECLARED";
/// CEB code: inventory already declared.
pub const DECLARED_CODE: i32 = -621_004;
/// Cancellation (CEB623) not allowed in the shipment's state.
pub const CANCEL: &str = "CANCEL";
/// CEB code: the inventory's state does not allow cancellation.
pub const CANCEL_STATE_CODE: i32 = -623_005;
/// Return (CEB625) not allowed, or a return line not in the inventory.
pub const RETURN: &str = "RETURN";
/// CEB code: a return line not found in the original inventory.
pub const RETURN_GNUM_CODE: i32 = -625_209;
/// An agency receipt that does not fit the shipment's state (or is older than the last one).
pub const RECEIPT: &str = "RECEIPT";
/// An agency declaration after the shipment was decided (released, rejected, cancelled,
/// returned).
pub const AMEND: &str = "AMEND";
/// A declaration this core does not correlate (agency declarations, receipts).
pub const KIND: &str = "KIND";
/// U1: `logisticsNo` unique per logistics enterprise, `payTransactionId` unique per payment
/// enterprise (across shipments; checked by the store, which sees them all).
pub const U1: &str = "U1";
