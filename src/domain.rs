//! The domain model: CEB records and the agency declarations, with codes, ids, times and money
//! as newtypes built by parsing. Pure: no I/O, no async, no XML events.

pub mod agency;
pub mod codes;
pub mod decimal;
pub mod enums;
pub mod message;
pub mod record;
pub mod records;
pub mod time;

pub use agency::{
    Agency, FxSettlement, InspectionDeclaration, InspectionLine, ShipmentKey, TaxDeclaration,
    TaxLine,
};
pub use codes::{
    CountryCode, CurrencyCode, CustomsCode, EntCode, Guid, HsCode, IdNumber, UnitCode,
};
pub use decimal::Decimal;
pub use enums::{AppStatus, AppType, IdType, IeFlag, ReturnStatus, TradeMode};
pub use message::{Body, Declaration, Message};
pub use record::{Composite, Facet, FieldError, FieldSpec, Record, Text, Value};
pub use records::{Document, MessageKind};
pub use time::{Date, ReceiptTime, Timestamp};
