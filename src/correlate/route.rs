//! Routing (domain.md §5), pure: which agency gets what once the shipment's documents agree
//! (T1), a declaration or cancellation that comes after, and how the agencies' decisions
//! settle the shipment under the release policy.

use super::event::{Effect, Route, Routed};
use super::shipment::{Agency, AgencyState, Phase, Shipment, State};
use crate::rules::Rules;

/// At T1: customs gets the inventory; inspection the flagged goods lines (or the seller's
/// inspection declaration; "not required" when neither); tax the seller's tax declaration
/// or, under `routing.tax = "derive"`, one derived from the inventory; FX the seller's
/// settlement or, under `routing.fx = "payment"`, the payment voucher. Marks each agency
/// routed and returns the routes.
pub(super) fn at_t1(s: &mut Shipment, rules: &Rules, at: u64) -> Vec<Route> {
    let mut routes = vec![Route::new(Agency::Customs, Routed::Inventory)];
    let inspection = match s.declared.get(&Agency::Inspection) {
        Some(key) => Some(Routed::Declared(key.clone())),
        None if flagged_lines(s, rules) > 0 => Some(Routed::Inspection),
        None => None,
    };
    match inspection {
        Some(what) => routes.push(Route::new(Agency::Inspection, what)),
        None => {
            s.agencies.insert(
                Agency::Inspection,
                AgencyState {
                    phase: Phase::NotRequired,
                    status: None,
                    text: "no goods line is on the inspection list".to_owned(),
                    at,
                    routed: 0,
                    message: String::new(),
                },
            );
        }
    }
    let policy = &rules.policy;
    let tax = match s.declared.get(&Agency::Tax) {
        Some(key) => Some(Routed::Declared(key.clone())),
        None => policy.derive_tax.then_some(Routed::Tax),
    };
    let fx = match s.declared.get(&Agency::Fx) {
        Some(key) => Some(Routed::Declared(key.clone())),
        None => policy.fx_payment_voucher.then_some(Routed::Payment),
    };
    routes.extend(tax.map(|w| Route::new(Agency::Tax, w)));
    routes.extend(fx.map(|w| Route::new(Agency::Fx, w)));
    for route in &routes {
        let state = AgencyState::routed(at, route.message_id(s), route.what.describe());
        s.agencies.insert(route.agency, state);
    }
    routes
}

/// The goods lines of the inventory whose HS code is on the inspection list.
pub fn flagged_lines(s: &Shipment, rules: &Rules) -> usize {
    s.inventory.as_ref().map_or(0, |inv| {
        inv.doc
            .items
            .iter()
            .filter(|line| {
                line.gcode
                    .and_then(|code| rules.hs.get(&code.number()))
                    .is_some_and(|entry| entry.inspection)
            })
            .count()
    })
}

/// A declaration of `agency` filed after routing: routed to it as a change (or as its first
/// message when the agency had nothing yet), and its part waits for a new decision.
pub(super) fn declared_after_routing(
    s: &mut Shipment,
    agency: Agency,
    key: &str,
    at: u64,
) -> Route {
    let mut route = Route::new(agency, Routed::Declared(key.to_owned()));
    let before = s.agencies.get(&agency).map_or(0, |a| a.routed);
    route.change = before > 0;
    let mut state = AgencyState::routed(at, route.message_id(s), route.what.describe());
    state.routed = before + 1;
    s.agencies.insert(agency, state);
    route
}

/// A cancellation: every agency that already has the shipment gets it.
pub(super) fn cancel(s: &Shipment, guid: &str) -> Vec<Route> {
    s.agencies
        .iter()
        .filter(|(_, state)| state.routed > 0)
        .map(|(agency, _)| Route {
            agency: *agency,
            what: Routed::Cancel(guid.to_owned()),
            change: true,
        })
        .collect()
}

/// Settles an open, routed shipment from its agencies' phases under the release policy: a
/// required agency that rejected rejects it; one that holds holds it; when every required
/// agency has passed (or is not required) it is released; otherwise it waits, routed.
pub(super) fn settle(s: &mut Shipment, rules: &Rules, at: u64, effects: &mut Vec<Effect>) {
    if !matches!(s.state, State::Routed | State::Held) {
        return;
    }
    let policy = &rules.policy;
    let required = |agency: &Agency| policy.requires(*agency);
    let of = |phase: Phase| {
        s.agencies
            .iter()
            .find(|(agency, state)| required(agency) && state.phase == phase)
            .map(|(agency, state)| format!("{} {}: {}", agency.name(), code(state), state.text))
    };
    let (to, cause) = if let Some(why) = of(Phase::Rejected) {
        (State::Rejected, format!("rejected by {why}"))
    } else if let Some(why) = of(Phase::Held) {
        (State::Held, format!("held by {why}"))
    } else if policy
        .require
        .iter()
        .all(|a| s.agencies.get(a).is_some_and(|st| st.phase.clears()))
    {
        let passed: Vec<String> = policy
            .require
            .iter()
            .map(|a| format!("{} {}", a.name(), s.agencies[a].phase.name()))
            .collect();
        (State::Released, format!("released: {}", passed.join(", ")))
    } else {
        (State::Routed, "waiting for the agencies".to_owned())
    };
    if to == s.state {
        return;
    }
    s.transition(to, at, cause);
    effects.push(Effect::EmitStatus(to));
    if to == State::Released {
        if let Some(q) = super::flow::count(s) {
            effects.push(Effect::CountQuota {
                buyer: q.buyer.clone(),
                amount: q.amount,
                year: q.year,
            });
            s.quota = Some(q);
        }
    }
}

fn code(state: &AgencyState) -> String {
    state.status.map_or_else(String::new, |c| c.to_string())
}
