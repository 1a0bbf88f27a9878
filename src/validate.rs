//! The validation core: `validate(&Declaration, &Rules) -> Report`, pure and synchronous.
//!
//! Every rule runs and every violation is reported, never only the first. Rule ids, the
//! element path, the offending value and the CEB business error code (where domain.md names
//! one) are in each violation. Single-document rules only: rules across documents of one
//! shipment (K1–K4, A2, C1, L1, B1, T1, U1) belong to correlation. Hot path: nothing here
//! allocates unless it reports a violation.

mod agency;
mod check;
mod idcard;
mod records;
pub mod rule;
pub mod tax;

use crate::domain::{Body, Declaration, Document};
use crate::report::Report;
use crate::rules::Rules;

pub use idcard::id_card_valid;

/// Validates one declaration against the rules.
pub fn validate(declaration: &Declaration<'_>, rules: &Rules) -> Report {
    let mut check = check::Check::new(rules, &declaration.defects);
    match &declaration.body {
        Body::Ceb(document) => match document {
            Document::Order(order) => records::order(&mut check, order),
            Document::Payment(payment) => records::payment(&mut check, payment),
            Document::Logistics(logistics) => records::logistics(&mut check, logistics),
            Document::LogisticsStatus(status) => records::logistics_status(&mut check, status),
            Document::Inventory(inventory) => records::inventory(&mut check, inventory),
            Document::InvtCancel(cancel) => records::cancel(&mut check, cancel),
            Document::InvtRefund(refund) => records::refund(&mut check, refund),
            Document::Delivery(delivery) => records::delivery(&mut check, delivery),
            // Receipts come from agencies: their facets were checked when decoded.
            Document::OrderReturn(_)
            | Document::PaymentReturn(_)
            | Document::LogisticsReturn(_)
            | Document::LogisticsStatusReturn(_)
            | Document::InventoryReturn(_)
            | Document::InvtCancelReturn(_)
            | Document::InvtRefundReturn(_)
            | Document::DeliveryReturn(_)
            | Document::MessageReturn(_) => {}
        },
        Body::Inspection(inspection) => agency::inspection(&mut check, inspection),
        Body::FxSettlement(fx) => agency::fx_settlement(&mut check, fx),
        Body::Tax(tax) => agency::tax(&mut check, tax),
    }
    check.into_report()
}
