//! What one event does to the ledger, decided on the writer thread on the state on file: find
//! the shipment (a waybill, which names no platform, by its order number or its waybill
//! number), run the pure state machine, check what only the store can see (U1 uniqueness
//! across shipments, the buyer's annual total for Q1), and turn the outcome into writes:
//! shipment record, indexes, quota totals, outbox rows and status events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys;
use super::outbound;
use super::record::{DocRef, Record};
use super::status::StatusEvent;
use crate::correlate::{
    self, rule, Agency, AgencyReceipt, DocKind, Effect, Event, Meta, Route, Shipment, Verdict,
};
use crate::domain::records::{Logistics, Payment};
use crate::domain::{AppType, Body, Decimal, Declaration, Document, ShipmentKey};
use crate::report::{At, Violation};
use crate::rules::Rules;
use crate::store::{Folded, Read, Refusal, StoreError, Tree, Writes};

/// A declaration to fold in: the state machine's event (the document with its sender and
/// time) and where the declaration is stored.
#[derive(Debug)]
pub struct Arrival {
    /// `Event::Document`.
    pub event: Event,
    /// Its declaration record.
    pub at: DocRef,
}

/// Folds a declaration into its shipment. Declarations that are not one of the shipment's
/// documents (agency declarations, waybill statuses, …) are stored without correlation.
pub fn document(view: &dyn Read, arrival: &Arrival, rules: &Rules) -> Result<Folded, StoreError> {
    let Event::Document(
        Declaration {
            body: Body::Ceb(doc),
            ..
        },
        _,
    ) = &arrival.event
    else {
        return Ok(Folded::default());
    };
    match doc {
        Document::Logistics(waybill) => self::waybill(view, arrival, waybill, rules),
        Document::Order(_)
        | Document::Payment(_)
        | Document::Inventory(_)
        | Document::InvtCancel(_)
        | Document::InvtRefund(_) => match correlate::key_of(doc) {
            Some(key) => keyed(view, arrival, &key, rules),
            None => Ok(Folded::default()),
        },
        _ => Ok(Folded::default()),
    }
}

/// Files the seller's agency declaration (stored under `at`) in shipment `key`, routing it
/// when the shipment is already routed.
pub fn agency_declaration(
    view: &dyn Read,
    agency: Agency,
    key: &ShipmentKey<'static>,
    at: &DocRef,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let mut ledger = Ledger::load_or_new(view, key, rules)?;
    let event = Event::AgencyDeclaration {
        agency,
        key: at.declaration_key(),
        meta: Meta {
            sender: at.sender.clone(),
            received_at: at.received_at,
        },
    };
    match ledger.take(correlate::apply(&ledger.shipment, &event, rules)) {
        Ok(()) => {
            ledger.docs.insert(agency.name().to_owned(), at.clone());
            ledger.finish(view)
        }
        Err(refusal) => Ok(Folded::Refuse(refusal)),
    }
}

/// Applies an agency's receipt to shipment `key`.
pub fn receipt(
    view: &dyn Read,
    key: &ShipmentKey<'static>,
    receipt: &AgencyReceipt,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let Some(mut ledger) = Ledger::load(view, key, rules)? else {
        return Ok(refuse(Violation::new(
            rule::RECEIPT,
            "orderNo",
            key.order_no.as_str(),
            format!("no shipment {} / {} is on file", key.ebp_code, key.order_no),
        )));
    };
    let outcome = correlate::apply(
        &ledger.shipment,
        &Event::AgencyReceipt(receipt.clone()),
        rules,
    );
    match ledger.take(outcome) {
        Ok(()) => ledger.finish(view),
        Err(refusal) => Ok(Folded::Refuse(refusal)),
    }
}

/// One shipment being changed: as it was, as it becomes, and the writes gathered.
struct Ledger<'r> {
    rules: &'r Rules,
    before: Option<Record>,
    history_before: usize,
    shipment: Shipment,
    docs: BTreeMap<String, DocRef>,
    effects: Vec<Effect>,
    writes: Writes,
}

impl<'r> Ledger<'r> {
    fn load(
        view: &dyn Read,
        key: &ShipmentKey<'static>,
        rules: &'r Rules,
    ) -> Result<Option<Ledger<'r>>, StoreError> {
        let Some(bytes) = view.read(Tree::Shipments, &keys::shipment(key))? else {
            return Ok(None);
        };
        let record = Record::from_bytes(&bytes)?;
        let shipment = record.load(view, &rules.limits)?;
        Ok(Some(Ledger {
            rules,
            history_before: shipment.history.len(),
            docs: record.docs.clone(),
            before: Some(record),
            shipment,
            effects: Vec::new(),
            writes: Writes::default(),
        }))
    }

    fn load_or_new(
        view: &dyn Read,
        key: &ShipmentKey<'static>,
        rules: &'r Rules,
    ) -> Result<Ledger<'r>, StoreError> {
        Ok(match Ledger::load(view, key, rules)? {
            Some(ledger) => ledger,
            None => Ledger {
                rules,
                before: None,
                history_before: 0,
                shipment: Shipment::new(key.clone()),
                docs: BTreeMap::new(),
                effects: Vec::new(),
                writes: Writes::default(),
            },
        })
    }

    /// Applies a document; `Err` is the refusal.
    fn apply(&mut self, arrival: &Arrival) -> Result<(), Refusal> {
        self.take(correlate::apply(&self.shipment, &arrival.event, self.rules))?;
        self.refile(arrival);
        Ok(())
    }

    /// Takes the state machine's outcome: the next state and its effects, or the refusal.
    fn take(&mut self, outcome: correlate::Outcome) -> Result<(), Refusal> {
        match outcome.verdict {
            Verdict::Accepted => {
                self.shipment = outcome.shipment;
                self.effects.extend(outcome.effects);
                Ok(())
            }
            Verdict::Rejected(violations) => Err(Refusal {
                ignored: false,
                violations,
            }),
            Verdict::Ignored(violation) => Err(Refusal {
                ignored: true,
                violations: vec![violation],
            }),
        }
    }

    /// Points the document's slot at the arrival when the state machine filed it there, or
    /// drops the reference when it removed the document.
    fn refile(&mut self, arrival: &Arrival) {
        let s = &self.shipment;
        let slots = [
            ("order", s.order.as_ref().and_then(|f| f.guid.as_ref())),
            ("payment", s.payment.as_ref().and_then(|f| f.guid.as_ref())),
            ("waybill", s.waybill.as_ref().and_then(|f| f.guid.as_ref())),
            (
                "inventory",
                s.inventory.as_ref().and_then(|f| f.guid.as_ref()),
            ),
            ("cancel", s.cancel.as_ref().and_then(|f| f.guid.as_ref())),
            ("return", s.refund.as_ref().and_then(|f| f.guid.as_ref())),
        ];
        for (kind, guid) in slots {
            match guid {
                None => {
                    self.docs.remove(kind);
                }
                Some(guid) if guid.as_str() == arrival.at.key => {
                    self.docs.insert(kind.to_owned(), arrival.at.clone());
                }
                Some(_) => {}
            }
        }
    }

    /// The writes of the change: quota totals, outbox rows, status events, indexes and the
    /// record itself.
    fn finish(mut self, view: &dyn Read) -> Result<Folded, StoreError> {
        let key = self.shipment.key.clone();
        for effect in std::mem::take(&mut self.effects) {
            match effect {
                Effect::CountQuota {
                    buyer,
                    amount,
                    year,
                } => self.add_quota(view, keys::quota(&buyer, year), amount, true)?,
                Effect::ReleaseQuota {
                    buyer,
                    amount,
                    year,
                } => self.add_quota(view, keys::quota(&buyer, year), amount, false)?,
                Effect::Route(route) => self.route(view, &route)?,
                Effect::EmitStatus(_) => {}
            }
        }
        let enterprises = super::enterprises(&self.shipment);
        if self.before.is_none() {
            self.register_order_no(view)?;
            self.event(StatusEvent::created(&self.shipment, &enterprises));
        }
        let steps: Vec<StatusEvent> = self.shipment.history[self.history_before..]
            .iter()
            .map(|step| StatusEvent::step(&self.shipment, step, &enterprises))
            .collect();
        for step in steps {
            self.event(step);
        }
        let (old_state, old_enterprises) = match &self.before {
            Some(r) => (super::record::state_named(&r.state), r.enterprises.clone()),
            None => (None, Vec::new()),
        };
        if let Some(old) = old_state {
            for e in &old_enterprises {
                if old != self.shipment.state || !enterprises.contains(e) {
                    self.writes
                        .removes
                        .push((Tree::Index, keys::by_enterprise(e, old, &key)));
                }
            }
        }
        for e in &enterprises {
            let listed = old_state == Some(self.shipment.state) && old_enterprises.contains(e);
            if !listed {
                self.writes.puts.push((
                    Tree::Index,
                    keys::by_enterprise(e, self.shipment.state, &key),
                    Vec::new(),
                ));
            }
        }
        self.unique_numbers();
        let record = Record::of(&self.shipment, self.docs.clone(), enterprises);
        self.writes
            .puts
            .push((Tree::Shipments, keys::shipment(&key), record.to_bytes()));
        Ok(Folded::Write(self.writes))
    }

    fn add_quota(
        &mut self,
        view: &dyn Read,
        key: Vec<u8>,
        amount: Decimal,
        add: bool,
    ) -> Result<(), StoreError> {
        let used = quota_total(view, &key)?;
        let next = if add {
            used.checked_add(amount)
        } else {
            used.checked_sub(amount).map(|d| d.max(Decimal::ZERO))
        }
        .unwrap_or(used);
        self.writes
            .puts
            .push((Tree::Quotas, key, next.to_string().into_bytes()));
        Ok(())
    }

    /// An outbox row for the agency with the delivery, and the message's index entry (how a
    /// receipt finds its shipment).
    fn route(&mut self, view: &dyn Read, route: &Route) -> Result<(), StoreError> {
        let delivery = outbound::delivery(view, &self.shipment, &self.docs, route, self.rules)?;
        let message = Routing {
            agency: route.agency.name().to_owned(),
            ebp: self.shipment.key.ebp_code.as_str().to_owned(),
            order_no: self.shipment.key.order_no.as_str().to_owned(),
        };
        self.writes.puts.push((
            Tree::Index,
            keys::message(&delivery.message_id),
            serde_json::to_vec(&message).unwrap_or_default(),
        ));
        self.writes
            .outbox
            .push((route.agency.name().to_owned(), outbound::row(&delivery)));
        Ok(())
    }

    fn event(&mut self, event: StatusEvent) {
        self.writes.events.push(event.to_bytes());
    }

    /// Adds the platform to the platforms with a shipment of this order number (K4).
    fn register_order_no(&mut self, view: &dyn Read) -> Result<(), StoreError> {
        let k = keys::order_no(self.shipment.key.order_no.as_str());
        let mut platforms = platforms(view, &k)?;
        let ebp = self.shipment.key.ebp_code.as_str().to_owned();
        if !platforms.contains(&ebp) {
            platforms.push(ebp);
        }
        self.writes.puts.push((
            Tree::Index,
            k,
            serde_json::to_vec(&platforms).unwrap_or_default(),
        ));
        Ok(())
    }

    /// Keeps the U1 indexes pointing at this shipment for its waybill and payment numbers
    /// (written when the document on file changed).
    fn unique_numbers(&mut self) {
        let s = &self.shipment;
        let numbered = [
            (
                "waybill",
                s.waybill
                    .as_ref()
                    .and_then(|f| Some((waybill_number(&f.doc)?, f.guid.as_ref()?))),
            ),
            (
                "payment",
                s.payment
                    .as_ref()
                    .and_then(|f| Some((payment_number(&f.doc)?, f.guid.as_ref()?))),
            ),
        ];
        let order_no = s.key.order_no.as_str().to_owned();
        let key = (s.key.ebp_code.as_str().to_owned(), order_no.clone());
        for (kind, number) in numbered {
            let unchanged =
                self.before.as_ref().and_then(|r| r.docs.get(kind)) == self.docs.get(kind);
            let Some((k, guid)) = number.filter(|_| !unchanged) else {
                continue;
            };
            let entry = Numbered {
                shipment: Some(key.clone()),
                guid: guid.as_str().to_owned(),
                order_no: order_no.clone(),
            };
            self.writes.puts.push((Tree::Index, k, entry.to_bytes()));
        }
    }
}

/// A routed message's index entry: to which agency, for which shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Agency name.
    pub agency: String,
    /// Shipment `ebpCode`.
    pub ebp: String,
    /// Shipment `orderNo`.
    pub order_no: String,
}

/// A U1 index entry: the document holding a number, and its shipment (none while a waybill
/// waits for its order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Numbered {
    shipment: Option<(String, String)>,
    guid: String,
    /// The waybill's own orderNo (where it waits, while it has no shipment).
    #[serde(default)]
    order_no: String,
}

impl Numbered {
    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn read(view: &dyn Read, key: &[u8]) -> Result<Option<Numbered>, StoreError> {
        view.read(Tree::Index, key)?
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| StoreError::Corrupt(format!("U1 index: {e}")))
            })
            .transpose()
    }
}

/// A waybill waiting for a shipment to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    at: DocRef,
    logistics_code: String,
    logistics_no: String,
}

fn waybill_number(w: &Logistics<'_>) -> Option<Vec<u8>> {
    Some(keys::logistics_no(
        w.head.logistics_code.as_ref()?.as_str(),
        w.head.logistics_no.as_ref()?.as_str(),
    ))
}

fn payment_number(p: &Payment<'_>) -> Option<Vec<u8>> {
    Some(keys::pay_transaction(
        p.head.pay_code.as_ref()?.as_str(),
        p.head.pay_transaction_id.as_ref()?.as_str(),
    ))
}

fn platforms(view: &dyn Read, key: &[u8]) -> Result<Vec<String>, StoreError> {
    view.read(Tree::Index, key)?
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(format!("orderNo index: {e}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

fn pending(view: &dyn Read, key: &[u8]) -> Result<Vec<Pending>, StoreError> {
    view.read(Tree::Index, key)?
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(format!("pending waybills: {e}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The buyer's counted total for a quota key.
pub(super) fn quota_total(view: &dyn Read, key: &[u8]) -> Result<Decimal, StoreError> {
    let Some(bytes) = view.read(Tree::Quotas, key)? else {
        return Ok(Decimal::ZERO);
    };
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt("quota total".into()))
}

fn refuse(violation: Violation) -> Folded {
    Folded::Refuse(Refusal {
        ignored: false,
        violations: vec![violation],
    })
}

/// An order, payment, inventory, cancellation or return, into the shipment it names.
fn keyed(
    view: &dyn Read,
    arrival: &Arrival,
    key: &ShipmentKey<'static>,
    rules: &Rules,
) -> Result<Folded, StoreError> {
    let Event::Document(
        Declaration {
            body: Body::Ceb(doc),
            ..
        },
        _,
    ) = &arrival.event
    else {
        return Ok(Folded::default());
    };
    if let Document::Payment(p) = doc {
        if let Some(v) = payment_taken(view, p, key)? {
            return Ok(refuse(v));
        }
    }
    let mut ledger = Ledger::load_or_new(view, key, rules)?;
    if ledger.shipment.waybill.is_none() {
        if let Err(refusal) = join_pending_waybill(view, &mut ledger, doc)? {
            return Ok(Folded::Refuse(refusal));
        }
    }
    let inventory_before = ledger.docs.get("inventory").map(|r| r.key.clone());
    if let Err(refusal) = ledger.apply(arrival) {
        return Ok(Folded::Refuse(refusal));
    }
    let newly_declared = matches!(doc, Document::Inventory(_))
        && ledger.shipment.inventory_declared()
        && ledger.docs.get("inventory").map(|r| &r.key) != inventory_before.as_ref();
    if newly_declared {
        if let Some(q) = correlate::quota_of(&ledger.shipment) {
            let used = quota_total(view, &keys::quota(&q.buyer, q.year))?;
            if let Some(v) = correlate::quota_check(used, q.amount, rules) {
                return Ok(refuse(v));
            }
        }
    }
    ledger.finish(view)
}

/// U1 for payments: a new payment whose transaction id another shipment's payment holds.
fn payment_taken(
    view: &dyn Read,
    p: &Payment<'_>,
    key: &ShipmentKey<'_>,
) -> Result<Option<Violation>, StoreError> {
    if p.head.app_type.unwrap_or(AppType::New) != AppType::New {
        return Ok(None);
    }
    let Some(number) = payment_number(p) else {
        return Ok(None);
    };
    let Some(held) = Numbered::read(view, &number)? else {
        return Ok(None);
    };
    let this = (key.ebp_code.as_str(), key.order_no.as_str());
    let theirs = held
        .shipment
        .as_ref()
        .map(|(e, o)| (e.as_str(), o.as_str()));
    if theirs == Some(this) {
        return Ok(None);
    }
    let id = p
        .head
        .pay_transaction_id
        .as_ref()
        .map_or("", |t| t.as_str());
    let (_, other_order) = theirs.unwrap_or(("", ""));
    Ok(Some(
        Violation::new(
            rule::U1,
            At::head("PaymentHead").field("payTransactionId"),
            id,
            format!(
                "payTransactionId {id} of payment enterprise {} is already used by payment {} of order {other_order}",
                p.head.pay_code.as_ref().map_or("", |c| c.as_str()),
                held.guid
            ),
        )
        .with_code(DocKind::Payment.codes().duplicate.unwrap_or(-1)),
    ))
}

/// Joins a waybill that arrived before the shipment could be told from its order number: the
/// one whose number the inventory names (K3), else the only one when this platform is the only
/// one with this order number (K4). It is filed before the arriving document, so a mismatch
/// refuses the document that arrives last.
fn join_pending_waybill(
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
    let doc = super::record::document(view, &waiting.at, &ledger.rules.limits)?;
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

/// A waybill: into the shipment its number or order number points to, else kept waiting.
fn waybill(
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
