//! The state of one shipment: its key, the documents on file, the shipment state machine with
//! its history, the agencies' last receipts and the quota it counted. Plain data: `apply`
//! takes one and returns the next.

use std::collections::BTreeMap;
use std::fmt;

use crate::domain::records::{Inventory, InvtCancel, InvtRefund, Logistics, Order, Payment};
pub use crate::domain::Agency;
use crate::domain::{AppStatus, Decimal, Guid, IdNumber, ReturnStatus, ShipmentKey, Timestamp};

/// One shipment (one order): everything correlation knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    /// `ebpCode` + `orderNo`.
    pub key: ShipmentKey<'static>,
    /// The CEB311 order on file.
    pub order: Option<Filed<Order<'static>>>,
    /// The CEB411 payment voucher on file.
    pub payment: Option<Filed<Payment<'static>>>,
    /// The CEB511 waybill on file.
    pub waybill: Option<Filed<Logistics<'static>>>,
    /// The CEB621 inventory on file.
    pub inventory: Option<Filed<Inventory<'static>>>,
    /// The CEB623 cancellation that cancelled the shipment.
    pub cancel: Option<Filed<InvtCancel<'static>>>,
    /// The CEB625 return that returned the goods.
    pub refund: Option<Filed<InvtRefund<'static>>>,
    /// Where the shipment is.
    pub state: State,
    /// Each agency the shipment was routed to (or found not to need): where its part stands
    /// and its last receipt.
    pub agencies: BTreeMap<Agency, AgencyState>,
    /// The agency declarations the seller filed for the shipment (inspection, FX settlement,
    /// tax), by their declaration key (`sender/key`); routed instead of what the gateway would
    /// derive.
    pub declared: BTreeMap<Agency, String>,
    /// Every transition of `state`, oldest first.
    pub history: Vec<Transition>,
    /// The buyer's identity number (order, else inventory), the key of the annual quota.
    pub buyer: Option<IdNumber<'static>>,
    /// What this shipment counted toward the buyer's annual quota, once released.
    pub quota: Option<Quota>,
}

/// A document on file with the facts correlation needs about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Filed<T> {
    /// The document as accepted.
    pub doc: T,
    /// Its head `guid`.
    pub guid: Option<Guid<'static>>,
    /// Its head `appTime` (orders changes: an older one is stale).
    pub app_time: Option<Timestamp>,
    /// Draft (1) or declared (2); absent counts as declared, the CEB default.
    pub app_status: AppStatus,
    /// The enterprise that sent it (`BaseTransfer/copCode`).
    pub sender: String,
    /// When the gateway received it (Unix milliseconds, from the event).
    pub received_at: u64,
}

/// The shipment state machine: collecting → complete → routed → released / rejected, held
/// (and back to routed) while an agency holds the goods, cancelled (from any state before
/// release) and returned (after release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum State {
    /// Documents are arriving; T1 does not hold yet.
    #[default]
    Collecting,
    /// Order, payment, waybill and a declared inventory are on file and agree (T1).
    Complete,
    /// Routed to the agencies; waiting for their decisions.
    Routed,
    /// An agency whose decision the release needs holds the goods (inspection, detention).
    Held,
    /// Customs released the goods (800).
    Released,
    /// An agency rejected the shipment (100).
    Rejected,
    /// The inventory was cancelled (CEB623).
    Cancelled,
    /// The goods were returned after release (CEB625).
    Returned,
}

impl State {
    /// The state's name as shown to operators.
    pub fn name(self) -> &'static str {
        match self {
            State::Collecting => "collecting",
            State::Complete => "complete",
            State::Routed => "routed",
            State::Held => "held",
            State::Released => "released",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Returned => "returned",
        }
    }

    /// Whether a shipment in this state is still open to decisions and changes (not
    /// released, rejected, cancelled or returned).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            State::Collecting | State::Complete | State::Routed | State::Held
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One change of state, kept forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// When (Unix milliseconds, the time carried by the event).
    pub at: u64,
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// Why, in words (rule, receipt or document that caused it).
    pub cause: String,
}

/// Where one agency's part of a shipment stands, with its last receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyState {
    /// Its phase.
    pub phase: Phase,
    /// The last receipt's `returnStatus` (none before the first receipt).
    pub status: Option<ReturnStatus>,
    /// The last receipt's `returnInfo` (or why the phase changed).
    pub text: String,
    /// When the phase last changed (Unix milliseconds).
    pub at: u64,
    /// Messages routed to the agency for this shipment.
    pub routed: u32,
    /// The id of the agency's current message: only receipts for it decide its part.
    pub message: String,
}

/// An agency's part of a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Nothing to decide (inspection of a shipment with no flagged goods line).
    NotRequired,
    /// Routed; no decision yet (progress receipts such as customs 120 keep it here).
    Routed,
    /// Its part is done (customs 800, inspection passed, tax bill issued, FX settled).
    Passed,
    /// It holds the goods.
    Held,
    /// It refused.
    Rejected,
}

impl Phase {
    /// The phase's name as shown to operators.
    pub fn name(self) -> &'static str {
        match self {
            Phase::NotRequired => "not-required",
            Phase::Routed => "routed",
            Phase::Passed => "passed",
            Phase::Held => "held",
            Phase::Rejected => "rejected",
        }
    }

    /// Parses a name of [`Phase::name`].
    pub fn named(name: &str) -> Option<Phase> {
        [
            Phase::NotRequired,
            Phase::Routed,
            Phase::Passed,
            Phase::Held,
            Phase::Rejected,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }

    /// Whether the release waits for nothing more from this agency.
    pub fn clears(self) -> bool {
        matches!(self, Phase::NotRequired | Phase::Passed)
    }
}

impl AgencyState {
    /// Message `message` routed at `at`, no receipt yet.
    pub fn routed(at: u64, message: String, text: impl Into<String>) -> AgencyState {
        AgencyState {
            phase: Phase::Routed,
            status: None,
            text: text.into(),
            at,
            routed: 1,
            message,
        }
    }
}

/// What a released shipment counted toward its buyer's annual quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// The buyer's identity number.
    pub buyer: IdNumber<'static>,
    /// Amount counted (dutiable value of the inventory), CNY.
    pub amount: Decimal,
    /// Calendar year of the inventory's `appTime`.
    pub year: u32,
}

impl Shipment {
    /// An empty shipment under `key`: nothing on file, collecting.
    pub fn new(key: ShipmentKey<'static>) -> Shipment {
        Shipment {
            key,
            order: None,
            payment: None,
            waybill: None,
            inventory: None,
            cancel: None,
            refund: None,
            state: State::Collecting,
            agencies: BTreeMap::new(),
            declared: BTreeMap::new(),
            history: Vec::new(),
            buyer: None,
            quota: None,
        }
    }

    /// Whether a declared (appStatus 2) inventory is on file.
    pub fn inventory_declared(&self) -> bool {
        self.inventory
            .as_ref()
            .is_some_and(|f| f.app_status == AppStatus::Declare)
    }

    /// Whether the shipment is still open to decisions and changes (not released, rejected,
    /// cancelled or returned).
    pub fn open(&self) -> bool {
        self.state.is_open()
    }

    /// Moves to `to`, recording the transition (no-op when already there).
    pub(super) fn transition(&mut self, to: State, at: u64, cause: impl Into<String>) {
        if self.state == to {
            return;
        }
        self.history.push(Transition {
            at,
            from: self.state,
            to,
            cause: cause.into(),
        });
        self.state = to;
    }

    /// Recomputes the buyer from the order (else the inventory).
    pub fn refresh_buyer(&mut self) {
        let from_order = self
            .order
            .as_ref()
            .and_then(|f| f.doc.head.buyer_id_number.clone());
        let from_inventory = self
            .inventory
            .as_ref()
            .and_then(|f| f.doc.head.buyer_id_number.clone());
        self.buyer = from_order.or(from_inventory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntCode, Text};
    use std::borrow::Cow;

    fn empty() -> Shipment {
        Shipment::new(ShipmentKey {
            ebp_code: EntCode::parse_str("3301960001").unwrap(),
            order_no: Text(Cow::Borrowed("SW1")),
        })
    }

    #[test]
    fn transitions_are_recorded_once() {
        let mut s = empty();
        s.transition(State::Complete, 5, "t1");
        s.transition(State::Complete, 6, "again");
        s.transition(State::Routed, 7, "route");
        assert_eq!(s.state, State::Routed);
        let steps: Vec<_> = s.history.iter().map(|t| (t.at, t.from, t.to)).collect();
        assert_eq!(
            steps,
            [
                (5, State::Collecting, State::Complete),
                (7, State::Complete, State::Routed)
            ]
        );
    }

    #[test]
    fn state_names_are_lowercase() {
        assert_eq!(State::Collecting.to_string(), "collecting");
        assert_eq!(State::Returned.name(), "returned");
        assert_eq!(Agency::Fx.name(), "fx");
    }
}
