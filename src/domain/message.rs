//! A decoded CEB message: its envelope and its business blocks, each a [`Declaration`].

use std::borrow::Cow;

use super::agency::{FxSettlement, InspectionDeclaration, TaxDeclaration};
use super::records::{BaseSubscribe, BaseTransfer, Document, MessageKind};
use crate::report::Violation;

/// One CEB message (`CEBnnnMessage`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message<'a> {
    /// Which message, by root element.
    pub kind: MessageKind,
    /// The root `guid` attribute.
    pub guid: Cow<'a, str>,
    /// The root `version` attribute.
    pub version: Cow<'a, str>,
    /// The business blocks, 1..100, in document order.
    pub blocks: Vec<Declaration<'a>>,
    /// `BaseTransfer`: who sends (data messages only; receipts have none).
    pub transfer: Option<BaseTransfer<'a>>,
    /// `BaseSubscribe` entries (0..5).
    pub subscribes: Vec<BaseSubscribe<'a>>,
    /// Whether an `ExtendMessage` was present (its content is not interpreted).
    pub extended: bool,
    /// Whether a `ds:Signature` was present (SM2 signatures are not verified by this gateway;
    /// the sender's identity comes from the transport).
    pub signed: bool,
    /// Facet violations in the envelope (`BaseTransfer`, `BaseSubscribe`).
    pub envelope_defects: Vec<Violation>,
}

impl Message<'_> {
    /// The sending enterprise (`BaseTransfer/copCode`), if any.
    pub fn sender(&self) -> Option<&str> {
        self.transfer
            .as_ref()
            .and_then(|t| t.cop_code.as_ref())
            .map(|c| c.as_str())
    }

    /// Detaches the message from the input it borrows from.
    pub fn into_owned(self) -> Message<'static> {
        Message {
            kind: self.kind,
            guid: Cow::Owned(self.guid.into_owned()),
            version: Cow::Owned(self.version.into_owned()),
            blocks: self
                .blocks
                .into_iter()
                .map(Declaration::into_owned)
                .collect(),
            transfer: self.transfer.map(BaseTransfer::into_owned),
            subscribes: self
                .subscribes
                .into_iter()
                .map(BaseSubscribe::into_owned)
                .collect(),
            extended: self.extended,
            signed: self.signed,
            envelope_defects: self.envelope_defects,
        }
    }
}

/// One declaration: a CEB business block or an agency declaration, with the facet
/// violations the decoder found while typing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration<'a> {
    /// What is declared.
    pub body: Body<'a>,
    /// Elements whose text did not have the form the schema requires (their slots are empty).
    pub defects: Vec<Violation>,
}

impl<'a> Declaration<'a> {
    /// A declaration without decoder defects.
    pub fn new(body: Body<'a>) -> Declaration<'a> {
        Declaration {
            body,
            defects: Vec::new(),
        }
    }

    /// Detaches the declaration from the input it borrows from.
    pub fn into_owned(self) -> Declaration<'static> {
        Declaration {
            body: self.body.into_owned(),
            defects: self.defects,
        }
    }
}

/// The kinds of declaration (unboxed, like [`Document`]).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Body<'a> {
    /// A CEB business block (order, payment, waybill, inventory, … and receipts).
    Ceb(Document<'a>),
    /// Inspection & quarantine declaration.
    Inspection(InspectionDeclaration<'a>),
    /// FX settlement declaration.
    FxSettlement(FxSettlement<'a>),
    /// Tax (withholding) declaration.
    Tax(TaxDeclaration<'a>),
}

impl Body<'_> {
    /// Detaches the body from the input it borrows from.
    pub fn into_owned(self) -> Body<'static> {
        match self {
            Body::Ceb(d) => Body::Ceb(d.into_owned()),
            Body::Inspection(d) => Body::Inspection(d.into_owned()),
            Body::FxSettlement(d) => Body::FxSettlement(d.into_owned()),
            Body::Tax(d) => Body::Tax(d.into_owned()),
        }
    }
}
