//! What goes into the state machine (events, each carrying its own time) and what comes out
//! (the next state, effects for the store to carry out, and a verdict for the sender).

use super::shipment::{Agency, Shipment, State};
use crate::domain::{Decimal, Declaration, IdNumber, ReturnStatus};
use crate::report::Violation;

/// Something that happened to a shipment.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A validated declaration arrived: an order, payment, waybill or inventory (new, change or
    /// delete by its `appType`), a CEB623 cancellation or a CEB625 return.
    Document(Declaration<'static>, Meta),
    /// An agency reported a decision.
    AgencyReceipt(AgencyReceipt),
    /// The seller filed an agency declaration (inspection, FX settlement, tax) for the
    /// shipment, stored under `key` (`sender/key`).
    AgencyDeclaration {
        /// The agency it is for.
        agency: Agency,
        /// Its declaration key.
        key: String,
        /// Sender and time.
        meta: Meta,
    },
}

/// Facts about a declaration that are not in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The authenticated sending enterprise (`BaseTransfer/copCode`).
    pub sender: String,
    /// When the gateway received it (Unix milliseconds).
    pub received_at: u64,
}

/// An agency's decision on the shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyReceipt {
    /// Which agency.
    pub agency: Agency,
    /// The routed message it decides on ("" when not known: then it is taken for the
    /// agency's current message).
    pub message_id: String,
    /// Its `returnStatus` (800 released, 100 rejected, others recorded only).
    pub status: ReturnStatus,
    /// Its `returnInfo`.
    pub text: String,
    /// When it arrived (Unix milliseconds).
    pub at: u64,
}

/// Work for the shell to do after it has stored the new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Deliver something to an agency (the shell writes the outbox row).
    Route(Route),
    /// Tell watchers the shipment entered this state.
    EmitStatus(State),
    /// Add `amount` to the buyer's total for `year` (the store keeps the running totals).
    CountQuota {
        /// The buyer's identity number.
        buyer: IdNumber<'static>,
        /// CNY to add.
        amount: Decimal,
        /// Calendar year.
        year: u32,
    },
    /// Take `amount` back off the buyer's total for `year` (cancellation, return).
    ReleaseQuota {
        /// The buyer's identity number.
        buyer: IdNumber<'static>,
        /// CNY to subtract.
        amount: Decimal,
        /// Calendar year the amount was counted in.
        year: u32,
    },
}

/// One message for an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// To whom.
    pub agency: Agency,
    /// What.
    pub what: Routed,
    /// It replaces or withdraws an earlier message to the same agency.
    pub change: bool,
}

impl Route {
    /// A first message.
    pub fn new(agency: Agency, what: Routed) -> Route {
        Route {
            agency,
            what,
            change: false,
        }
    }

    /// Its stable message id, `agency:ebpCode/orderNo:what:reference`: the same on every
    /// delivery attempt, the id the agency's receipts name, and unique across shipments (a
    /// guid is unique only per sender).
    pub fn message_id(&self, s: &Shipment) -> String {
        let guid =
            |g: Option<&crate::domain::Guid<'static>>| g.map_or("", |g| g.as_str()).to_owned();
        let inventory = || guid(s.inventory.as_ref().and_then(|f| f.guid.as_ref()));
        let reference = match &self.what {
            Routed::Inventory | Routed::Inspection | Routed::Tax => {
                format!("inventory:{}", inventory())
            }
            Routed::Payment => format!(
                "payment:{}",
                guid(s.payment.as_ref().and_then(|f| f.guid.as_ref()))
            ),
            Routed::Declared(key) => format!("declared:{key}"),
            Routed::Cancel(g) => format!("cancel:{g}"),
        };
        format!(
            "{}:{}/{}:{reference}",
            self.agency.name(),
            s.key.ebp_code,
            s.key.order_no
        )
    }
}

/// What a routed message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// The CEB621 inventory on file (customs).
    Inventory,
    /// The inventory's goods lines on the inspection list (inspection).
    Inspection,
    /// A tax declaration derived from the inventory and the HS rates (tax).
    Tax,
    /// The CEB411 payment voucher on file (FX).
    Payment,
    /// The seller's agency declaration stored under this key.
    Declared(String),
    /// The CEB623 cancellation with this guid.
    Cancel(String),
}

impl Routed {
    /// In words, for the agency's state.
    pub fn describe(&self) -> String {
        match self {
            Routed::Inventory => "inventory routed".to_owned(),
            Routed::Inspection => "flagged goods lines routed".to_owned(),
            Routed::Tax => "derived tax declaration routed".to_owned(),
            Routed::Payment => "payment voucher routed".to_owned(),
            Routed::Declared(key) => format!("declaration {key} routed"),
            Routed::Cancel(guid) => format!("cancellation {guid} routed"),
        }
    }
}

/// What became of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Applied (or an identical repeat, applied before: then without effects).
    Accepted,
    /// Refused: the state is unchanged. Every violation found is listed.
    Rejected(Vec<Violation>),
    /// Dropped without harm (older than what is on file, or out of place): state unchanged.
    Ignored(Violation),
}

/// The result of one `apply`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The new state (equal to the old one unless accepted).
    pub shipment: Shipment,
    /// What the shell must do, in order.
    pub effects: Vec<Effect>,
    /// Accepted, rejected or ignored.
    pub verdict: Verdict,
}

impl Outcome {
    /// Accepted with a new state and effects.
    pub(super) fn accepted(shipment: Shipment, effects: Vec<Effect>) -> Outcome {
        Outcome {
            shipment,
            effects,
            verdict: Verdict::Accepted,
        }
    }

    /// Accepted with nothing to do (a repeat).
    pub(super) fn repeat(shipment: &Shipment) -> Outcome {
        Outcome::accepted(shipment.clone(), Vec::new())
    }

    /// Refused; the state stays as it was.
    pub(super) fn rejected(shipment: &Shipment, violations: Vec<Violation>) -> Outcome {
        Outcome {
            shipment: shipment.clone(),
            effects: Vec::new(),
            verdict: Verdict::Rejected(violations),
        }
    }

    /// Ignored; the state stays as it was.
    pub(super) fn ignored(shipment: &Shipment, violation: Violation) -> Outcome {
        Outcome {
            shipment: shipment.clone(),
            effects: Vec::new(),
            verdict: Verdict::Ignored(violation),
        }
    }

    /// The violations of a rejected or ignored event (empty when accepted).
    pub fn violations(&self) -> &[Violation] {
        match &self.verdict {
            Verdict::Accepted => &[],
            Verdict::Rejected(v) => v,
            Verdict::Ignored(v) => std::slice::from_ref(v),
        }
    }
}
