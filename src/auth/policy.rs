//! What each caller may do (pure). Every refusal says why, in words an integrator can act on.
//!
//! | call | local | enterprise | agency | operator | anonymous |
//! |---|---|---|---|---|---|
//! | health | yes | yes | yes | yes | yes |
//! | Echo, reflection | yes | yes | yes | yes | no |
//! | Submit, SubmitStream | yes | in its own role | no | no | no |
//! | GetShipment, ListShipments, WatchShipments | yes | its own shipments | no | yes | no |
//! | Receipts.Report | yes | no | for itself | no | no |
//! | Admin (dead letters) | yes | no | no | yes | no |
//!
//! "In its own role": the message's `copCode` is the enterprise, and each block names it in
//! the field of the party that sends that document ([`holders`]).

use super::{Caller, Identity, Role};
use crate::domain::{Agency, Body, Document, EntCode};

/// A refusal: PERMISSION_DENIED with the reason, or UNAUTHENTICATED when the caller has no
/// identity at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The caller is not identified (no certificate, or one the register does not accept).
    pub unauthenticated: bool,
    /// Why.
    pub reason: String,
}

impl Denied {
    /// PERMISSION_DENIED because of `reason`.
    pub fn because(reason: impl Into<String>) -> Denied {
        Denied {
            unauthenticated: false,
            reason: reason.into(),
        }
    }

    /// The gRPC status.
    pub fn status(&self) -> tonic::Status {
        if self.unauthenticated {
            tonic::Status::unauthenticated(self.reason.clone())
        } else {
            tonic::Status::permission_denied(self.reason.clone())
        }
    }
}

/// Longest piece of a client's value echoed in a reason, characters.
const ECHO_CHARS: usize = 64;

/// A client's value as a reason shows it: its first [`ECHO_CHARS`] characters.
fn echo(value: &str) -> &str {
    crate::text::first_chars(value, ECHO_CHARS)
}

/// What a call is, for the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Health,
    Open,
    Submit,
    Read,
    Report,
    Admin,
    Unknown,
}

fn kind(method: &str) -> Kind {
    match method {
        "Check" | "Watch" => Kind::Health,
        "Echo" | "ServerReflectionInfo" => Kind::Open,
        "Submit" | "SubmitStream" => Kind::Submit,
        "GetShipment" | "ListShipments" | "WatchShipments" => Kind::Read,
        "Report" => Kind::Report,
        "ListDeadLetters" | "GetDeadLetter" | "ReplayDeadLetter" => Kind::Admin,
        _ => Kind::Unknown,
    }
}

/// Whether `caller` may make the call named `method` (the RPC's name, as in the metrics) at
/// all; the handlers then check what the request asks.
pub fn gate(caller: &Caller, method: &str) -> Result<(), Denied> {
    let kind = kind(method);
    let role = match caller {
        _ if kind == Kind::Health => return Ok(()),
        Caller::Local => return Ok(()),
        Caller::Anonymous => {
            return Err(Denied {
                unauthenticated: true,
                reason: format!(
                    "{method}: a caller without a client certificate may only check health"
                ),
            })
        }
        Caller::Known(Identity { role, .. }) => role,
    };
    let allowed = match kind {
        Kind::Health | Kind::Open => true,
        Kind::Submit => matches!(role, Role::Enterprise(_)),
        Kind::Read => matches!(role, Role::Enterprise(_) | Role::Operator),
        Kind::Report => matches!(role, Role::Agency(_)),
        Kind::Admin => matches!(role, Role::Operator),
        Kind::Unknown => false,
    };
    if allowed {
        return Ok(());
    }
    let who = caller.describe();
    Err(Denied::because(match kind {
        Kind::Submit => format!("{method}: only enterprises submit declarations, not {who}"),
        Kind::Read => {
            format!("{method}: shipments are read by their enterprises and operators, not {who}")
        }
        Kind::Report => format!("{method}: only agencies report decisions, not {who}"),
        Kind::Admin => format!("{method}: an operator identity is needed, not {who}"),
        _ => format!("{method}: not a call {who} may make"),
    }))
}

/// The sender a submission is made as: an enterprise always sends as itself (a `sender` that
/// names another is refused); a local caller sends as the request says; no one else sends.
pub fn sender(caller: &Caller, requested: &str) -> Result<String, Denied> {
    match (caller, caller.enterprise()) {
        (Caller::Local, _) => Ok(requested.to_owned()),
        (_, Some(own)) if requested.is_empty() || requested == own => Ok(own.to_owned()),
        (_, Some(own)) => Err(Denied::because(format!(
            "sender: {} is not the authenticated enterprise {own}",
            echo(requested)
        ))),
        (_, None) => Err(Denied::because(format!(
            "only enterprises submit declarations, not {}",
            caller.describe()
        ))),
    }
}

/// Who may send one block: the fields that must name the sender (any one of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holders {
    /// The document, for the reason: `CEB311 order`.
    pub what: &'static str,
    /// (element, value) of each field that may name the sender.
    pub fields: Vec<(&'static str, Option<String>)>,
}

/// Who may send `body` (empty `fields`: only an agency, as for a receipt). Orders come from
/// the platform or the e-commerce enterprise, payments from the payment enterprise, waybills
/// and their statuses from the logistics enterprise, inventories, cancellations and returns
/// from the declaring agent, warehouse entries from the site operator; the typed
/// declarations from their declarant, payment enterprise, or platform and guarantor.
pub fn holders(body: &Body<'_>) -> Holders {
    let code = |c: &Option<EntCode<'_>>| c.as_ref().map(|c| c.as_str().to_owned());
    let one = |c: &EntCode<'_>| Some(c.as_str().to_owned());
    let (what, fields) = match body {
        Body::Ceb(doc) => match doc {
            Document::Order(o) => (
                "CEB311 order",
                vec![
                    ("ebpCode", code(&o.head.ebp_code)),
                    ("ebcCode", code(&o.head.ebc_code)),
                ],
            ),
            Document::Payment(p) => ("CEB411 payment", vec![("payCode", code(&p.head.pay_code))]),
            Document::Logistics(l) => (
                "CEB511 waybill",
                vec![("logisticsCode", code(&l.head.logistics_code))],
            ),
            Document::LogisticsStatus(s) => (
                "CEB513 waybill status",
                vec![("logisticsCode", code(&s.logistics_code))],
            ),
            Document::Inventory(i) => (
                "CEB621 inventory",
                vec![("agentCode", code(&i.head.agent_code))],
            ),
            Document::InvtCancel(c) => (
                "CEB623 cancellation",
                vec![("agentCode", code(&c.agent_code))],
            ),
            Document::InvtRefund(r) => (
                "CEB625 return",
                vec![("agentCode", code(&r.head.agent_code))],
            ),
            Document::Delivery(d) => (
                "CEB711 warehouse entry",
                vec![("operatorCode", code(&d.head.operator_code))],
            ),
            Document::OrderReturn(_)
            | Document::PaymentReturn(_)
            | Document::LogisticsReturn(_)
            | Document::LogisticsStatusReturn(_)
            | Document::InventoryReturn(_)
            | Document::InvtCancelReturn(_)
            | Document::InvtRefundReturn(_)
            | Document::DeliveryReturn(_)
            | Document::MessageReturn(_) => ("a receipt", Vec::new()),
        },
        Body::Inspection(d) => (
            "inspection declaration",
            vec![("declarant", one(&d.declarant))],
        ),
        Body::FxSettlement(d) => ("FX settlement", vec![("payCode", one(&d.pay_code))]),
        Body::Tax(d) => (
            "tax declaration",
            vec![
                ("ebpCode", one(&d.shipment.ebp_code)),
                ("assureCode", one(&d.assure_code)),
            ],
        ),
    };
    Holders { what, fields }
}

/// Whether `caller` may send a message whose `copCode` is `cop` (None for a typed
/// declaration) and whose blocks have these holders (in order; block numbers are 1-based).
pub fn submission<'a>(
    caller: &Caller,
    cop: Option<&str>,
    blocks: impl IntoIterator<Item = &'a Holders>,
) -> Result<(), Denied> {
    let own = match (caller, caller.enterprise()) {
        (Caller::Local, _) => return Ok(()),
        (_, Some(own)) => own,
        (_, None) => {
            return Err(Denied::because(format!(
                "only enterprises submit declarations, not {}",
                caller.describe()
            )))
        }
    };
    if let Some(cop) = cop {
        if cop != own {
            return Err(Denied::because(format!(
                "BaseTransfer.copCode: {} is not the authenticated enterprise {own}",
                echo(cop)
            )));
        }
    }
    for (i, block) in blocks.into_iter().enumerate() {
        let n = i + 1;
        if block.fields.is_empty() {
            return Err(Denied::because(format!(
                "block {n}: {} is sent by an agency, not by enterprise {own}",
                block.what
            )));
        }
        if !block.fields.iter().any(|(_, v)| v.as_deref() == Some(own)) {
            let named: Vec<String> = block
                .fields
                .iter()
                .map(|(field, v)| format!("{field} {}", v.as_deref().map_or("(absent)", echo)))
                .collect();
            return Err(Denied::because(format!(
                "block {n}: a {} is sent by the party it names in {}; {} is not the \
                 authenticated enterprise {own}",
                block.what,
                block
                    .fields
                    .iter()
                    .map(|(f, _)| *f)
                    .collect::<Vec<_>>()
                    .join(" or "),
                named.join(", "),
            )));
        }
    }
    Ok(())
}

/// Whether `caller` may read a shipment whose parties are `enterprises`: a local caller or an
/// operator any, an enterprise its own, no one else any.
pub fn may_read(caller: &Caller, enterprises: &[String]) -> bool {
    match (caller, caller.enterprise()) {
        (_, Some(own)) => enterprises.iter().any(|e| e == own),
        (Caller::Local, _) => true,
        (Caller::Known(id), _) => id.role == Role::Operator,
        (Caller::Anonymous, _) => false,
    }
}

/// The enterprise whose shipments a list or watch covers: an enterprise's own (asking for
/// another's is refused); whichever was asked for by a local caller or an operator; no one
/// else's.
pub fn listing(caller: &Caller, requested: &str) -> Result<String, Denied> {
    match caller.enterprise() {
        Some(own) if requested.is_empty() || requested == own => Ok(own.to_owned()),
        Some(own) => Err(Denied::because(format!(
            "enterprise: {} is not the authenticated enterprise {own}; an enterprise \
             lists and watches its own shipments",
            echo(requested)
        ))),
        None if may_read(caller, &[]) => Ok(requested.to_owned()),
        None => Err(Denied::because(format!(
            "shipments are read by their enterprises and operators, not {}",
            caller.describe()
        ))),
    }
}

/// Whether `caller` may report a receipt as `agency`: an agency as itself; a local caller
/// (the simulated agencies) or an operator (replaying a receipt an agency reported before) as
/// any; no one else.
pub fn report(caller: &Caller, agency: Agency) -> Result<(), Denied> {
    match caller {
        Caller::Local => Ok(()),
        Caller::Known(Identity {
            role: Role::Agency(own),
            ..
        }) if *own == agency => Ok(()),
        Caller::Known(Identity {
            role: Role::Agency(own),
            ..
        }) => Err(Denied::because(format!(
            "agency: {} is not the authenticated agency {}",
            agency.name(),
            own.name()
        ))),
        Caller::Known(Identity {
            role: Role::Operator,
            ..
        }) => Ok(()),
        _ => Err(Denied::because(format!(
            "only agencies report decisions, not {}",
            caller.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(role: Role) -> Caller {
        Caller::Known(Identity {
            name: "x".into(),
            role,
        })
    }

    #[test]
    fn the_gate_follows_the_table() {
        let enterprise = known(Role::Enterprise("E1".into()));
        let agency = known(Role::Agency(Agency::Customs));
        let operator = known(Role::Operator);
        let callers = [
            (&Caller::Local, "yyyyyyyy"),
            (&enterprise, "yyyyy---"),
            (&agency, "yy---y--"),
            (&operator, "yy--y--y"),
            (&Caller::Anonymous, "yUUUUUUU"),
        ];
        // y: allowed; -: PERMISSION_DENIED; U: UNAUTHENTICATED. "Nope" is no call of this
        // server: only a local caller gets past the gate (the router answers UNIMPLEMENTED).
        let methods = [
            "Check",
            "Echo",
            "Submit",
            "SubmitStream",
            "GetShipment",
            "Report",
            "Nope",
            "ReplayDeadLetter",
        ];
        for (caller, expected) in callers {
            for (method, want) in methods.iter().zip(expected.chars()) {
                let got = gate(caller, method);
                let ok = match want {
                    'y' => got.is_ok(),
                    'U' => got.as_ref().is_err_and(|d| d.unauthenticated),
                    _ => got.as_ref().is_err_and(|d| !d.unauthenticated),
                };
                assert!(ok, "{} {method}: {got:?}", caller.describe());
            }
        }
    }

    #[test]
    fn an_enterprise_sends_only_as_itself_and_in_its_role() {
        let e1 = known(Role::Enterprise("E1".into()));
        assert_eq!(sender(&e1, "").unwrap(), "E1");
        assert!(sender(&e1, "E2").unwrap_err().reason.contains("sender: E2"));
        assert_eq!(sender(&Caller::Local, "E2").unwrap(), "E2");
        let order = Holders {
            what: "CEB311 order",
            fields: vec![
                ("ebpCode", Some("P".into())),
                ("ebcCode", Some("E1".into())),
            ],
        };
        assert!(submission(&e1, Some("E1"), std::slice::from_ref(&order)).is_ok());
        let denied = submission(&e1, Some("E2"), std::slice::from_ref(&order)).unwrap_err();
        assert!(denied.reason.contains("copCode: E2"), "{}", denied.reason);
        let other = Holders {
            what: "CEB411 payment",
            fields: vec![("payCode", Some("PAY".into()))],
        };
        let denied = submission(&e1, Some("E1"), &[order, other]).unwrap_err();
        assert!(
            denied.reason.starts_with("block 2: a CEB411 payment"),
            "{}",
            denied.reason
        );
        assert!(denied.reason.contains("payCode PAY"), "{}", denied.reason);
        let receipt = Holders {
            what: "a receipt",
            fields: Vec::new(),
        };
        assert!(submission(&e1, None, std::slice::from_ref(&receipt)).is_err());
        assert!(submission(&Caller::Local, None, &[receipt]).is_ok());
    }

    #[test]
    fn reads_lists_and_reports_are_limited_to_the_callers_own() {
        let e1 = known(Role::Enterprise("E1".into()));
        let parties = vec!["P".to_owned(), "E1".to_owned()];
        assert!(may_read(&e1, &parties));
        assert!(!may_read(&e1, &["P".to_owned()]));
        assert!(may_read(&known(Role::Operator), &["P".to_owned()]));
        assert_eq!(listing(&e1, "").unwrap(), "E1");
        assert!(listing(&e1, "P").is_err());
        assert_eq!(listing(&known(Role::Operator), "P").unwrap(), "P");
        // Each check holds by itself, whatever the gate let through.
        let anonymous = Caller::Anonymous;
        assert!(sender(&anonymous, "E1").is_err());
        assert!(submission(&anonymous, None, &[]).is_err());
        assert!(!may_read(&anonymous, &parties));
        assert!(listing(&anonymous, "E1").is_err());
        assert!(report(&anonymous, Agency::Customs).is_err());
        assert!(report(&e1, Agency::Customs).is_err());
        assert!(!may_read(&known(Role::Agency(Agency::Customs)), &parties));
        let customs = known(Role::Agency(Agency::Customs));
        assert!(report(&customs, Agency::Customs).is_ok());
        assert!(report(&customs, Agency::Tax)
            .unwrap_err()
            .reason
            .contains("tax is not"));
    }
}
