//! CEB `appType` semantics for the four filed documents: 1 new, 2 change, 3 delete, with the
//! duplicate, unknown-record, stale-`appTime` and in-use rules and their CEB codes
//! (domain.md §2). Decides whether and how a document is filed; cross-document agreement is
//! checked afterwards, on the state it would produce.

use super::event::Meta;
use super::kind::DocKind;
use super::rule;
use super::shipment::{Filed, Shipment};
use crate::domain::records::{Inventory, Logistics, Order, Payment};
use crate::domain::{AppStatus, AppType, Guid, Timestamp};
use crate::report::{At, Violation};

/// A document kind that has a slot in [`Shipment`].
pub(super) trait Slot: Clone + Sized {
    /// Which document.
    const KIND: DocKind;
    /// The head fields the lifecycle rules read.
    fn head(&self) -> Head<'_>;
    /// Its slot.
    fn slot(shipment: &Shipment) -> Option<&Filed<Self>>;
    /// Its slot, for filing.
    fn slot_mut(shipment: &mut Shipment) -> &mut Option<Filed<Self>>;
}

/// The lifecycle fields of a head.
pub(super) struct Head<'s> {
    guid: Option<&'s Guid<'static>>,
    app_type: Option<AppType>,
    app_time: Option<Timestamp>,
    app_status: Option<AppStatus>,
}

macro_rules! slot {
    ($ty:ident, $kind:expr, $field:ident) => {
        impl Slot for $ty<'static> {
            const KIND: DocKind = $kind;
            fn head(&self) -> Head<'_> {
                Head {
                    guid: self.head.guid.as_ref(),
                    app_type: self.head.app_type,
                    app_time: self.head.app_time,
                    app_status: self.head.app_status,
                }
            }
            fn slot(shipment: &Shipment) -> Option<&Filed<Self>> {
                shipment.$field.as_ref()
            }
            fn slot_mut(shipment: &mut Shipment) -> &mut Option<Filed<Self>> {
                &mut shipment.$field
            }
        }
    };
}

slot!(Order, DocKind::Order, order);
slot!(Payment, DocKind::Payment, payment);
slot!(Logistics, DocKind::Waybill, waybill);
slot!(Inventory, DocKind::Inventory, inventory);

/// What filing a document would do.
#[derive(Debug)]
pub(super) enum Filing {
    /// The state with the document filed (or, for a delete, removed).
    Filed(Box<Shipment>),
    /// The very document on file again (same guid): nothing to do.
    Repeat,
    /// Older than the one on file.
    Ignored(Violation),
    /// Not allowed.
    Rejected(Violation),
}

/// Files `doc` into a copy of `shipment` under the appType rules.
pub(super) fn file<T: Slot>(shipment: &Shipment, doc: T, meta: &Meta) -> Filing {
    let kind = T::KIND;
    let codes = kind.codes();
    let head = doc.head();
    let guid = head.guid.cloned();
    let app_type = head.app_type.unwrap_or(AppType::New);
    let app_time = head.app_time;
    let app_status = head.app_status.unwrap_or(AppStatus::Declare);
    let at = At::head(kind.head());
    let on_file = T::slot(shipment);

    if let (Some(filed), Some(guid)) = (on_file, guid.as_ref()) {
        if filed.guid.as_ref() == Some(guid) {
            return Filing::Repeat;
        }
    }
    match (app_type, on_file) {
        (AppType::New, None) => {}
        (AppType::New, Some(filed)) => {
            if kind == DocKind::Inventory && filed.app_status == AppStatus::Declare {
                return Filing::Rejected(declared(at, app_type));
            }
            return Filing::Rejected(with_code(
                Violation::new(
                    rule::DUPLICATE,
                    at.field("appType"),
                    app_type.code(),
                    format!("new {kind} but a {kind} with the same number is on file"),
                ),
                codes.duplicate,
            ));
        }
        (AppType::Change | AppType::Delete, None) => {
            return Filing::Rejected(with_code(
                Violation::new(
                    rule::UNKNOWN,
                    at.field("appType"),
                    app_type.code(),
                    format!("{} of a {kind} that is not on file", verb(app_type)),
                ),
                codes.unknown,
            ));
        }
        (AppType::Change | AppType::Delete, Some(filed)) => {
            if !newer(app_time, filed.app_time) {
                return Filing::Ignored(with_code(
                    Violation::new(
                        rule::STALE,
                        at.field("appTime"),
                        show_time(app_time),
                        format!(
                            "{kind} appTime {} is not newer than the {kind} on file ({})",
                            show_time(app_time),
                            show_time(filed.app_time)
                        ),
                    ),
                    codes.stale,
                ));
            }
            if kind == DocKind::Inventory && filed.app_status == AppStatus::Declare {
                return Filing::Rejected(declared(at, app_type));
            }
            if kind != DocKind::Inventory && shipment.inventory_declared() {
                return Filing::Rejected(with_code(
                    Violation::new(
                        rule::IN_USE,
                        at.field("appType"),
                        app_type.code(),
                        format!(
                            "{} of the {kind} not allowed: a declared inventory uses it",
                            verb(app_type)
                        ),
                    ),
                    codes.in_use,
                ));
            }
        }
    }

    let mut next = shipment.clone();
    *T::slot_mut(&mut next) = if app_type == AppType::Delete {
        None
    } else {
        Some(Filed {
            doc,
            guid,
            app_time,
            app_status,
            sender: meta.sender.clone(),
            received_at: meta.received_at,
        })
    };
    next.refresh_buyer();
    Filing::Filed(Box::new(next))
}

/// Whether `arriving` is strictly newer than `on_file` (an absent time is the oldest).
fn newer(arriving: Option<Timestamp>, on_file: Option<Timestamp>) -> bool {
    match (arriving, on_file) {
        (Some(a), Some(f)) => a > f,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn declared(at: At, app_type: AppType) -> Violation {
    Violation::new(
        rule::DECLARED,
        at.field("appType"),
        app_type.code(),
        "the inventory is already declared",
    )
    .with_code(rule::DECLARED_CODE)
}

fn with_code(violation: Violation, code: Option<i32>) -> Violation {
    match code {
        Some(code) => violation.with_code(code),
        None => violation,
    }
}

fn verb(app_type: AppType) -> &'static str {
    match app_type {
        AppType::New => "new",
        AppType::Change => "change",
        AppType::Delete => "delete",
    }
}

fn show_time(time: Option<Timestamp>) -> String {
    time.map_or_else(|| "(none)".to_owned(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_strictly_newer_time_is_newer() {
        let t = |n| Some(Timestamp::from_number(n));
        let table = [
            (t(20_261_124_080_001), t(20_261_124_080_000), true),
            (t(20_261_124_080_000), t(20_261_124_080_000), false),
            (t(20_261_124_075_959), t(20_261_124_080_000), false),
            (t(20_261_124_080_000), None, true),
            (None, t(20_261_124_080_000), false),
            (None, None, false),
        ];
        for (arriving, on_file, expected) in table {
            assert_eq!(
                newer(arriving, on_file),
                expected,
                "{arriving:?} {on_file:?}"
            );
        }
    }

    #[test]
    fn times_show_as_written() {
        assert_eq!(
            show_time(Some(Timestamp::from_number(20_261_124_080_000))),
            "20261124080000"
        );
        assert_eq!(show_time(None), "(none)");
    }
}
