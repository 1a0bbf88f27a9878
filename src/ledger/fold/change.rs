//! One shipment being changed by a fold: the record and shipment as they were, the shipment as
//! the state machine makes it, the document references, and the writes gathered; finishing
//! turns the change into the writes of quota totals, outbox rows, status events, indexes
//! (by enterprise and state, K4 order numbers, U1 numbers) and the record itself.

use std::collections::BTreeMap;

use super::index::{payment_number, platforms, quota_total, waybill_number, Numbered, Routing};
use super::Arrival;
use crate::correlate::{self, Effect, Route, Shipment, Verdict};
use crate::domain::{Decimal, ShipmentKey};
use crate::ledger::record::{DocRef, Record};
use crate::ledger::status::StatusEvent;
use crate::ledger::{keys, outbound};
use crate::rules::Rules;
use crate::store::{Folded, Read, Refusal, StoreError, Tree, Writes};

/// One shipment being changed: as it was, as it becomes, and the writes gathered.
pub(super) struct Ledger<'r> {
    pub(super) rules: &'r Rules,
    before: Option<Record>,
    history_before: usize,
    pub(super) shipment: Shipment,
    pub(super) docs: BTreeMap<String, DocRef>,
    effects: Vec<Effect>,
    pub(super) writes: Writes,
}

impl<'r> Ledger<'r> {
    pub(super) fn load(
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

    pub(super) fn load_or_new(
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
    pub(super) fn apply(&mut self, arrival: &Arrival) -> Result<(), Refusal> {
        self.take(correlate::apply(&self.shipment, &arrival.event, self.rules))?;
        self.refile(arrival);
        Ok(())
    }

    /// Takes the state machine's outcome: the next state and its effects, or the refusal.
    pub(super) fn take(&mut self, outcome: correlate::Outcome) -> Result<(), Refusal> {
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
    pub(super) fn finish(mut self, view: &dyn Read) -> Result<Folded, StoreError> {
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
        let enterprises = crate::ledger::enterprises(&self.shipment);
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
            Some(r) => (
                crate::ledger::record::state_named(&r.state),
                r.enterprises.clone(),
            ),
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
