//! The declarations that go to the other three agencies (domain.md §4–5). The CEB standard has
//! no import message for them, so their shape is ours; field names follow the CEB ones where
//! the same fact is meant (e.g. the tax lines follow CEB816 `TaxListRd`).

use super::codes::{CountryCode, CurrencyCode, EntCode, HsCode, IdNumber, UnitCode};
use super::decimal::Decimal;
use super::enums::IdType;
use super::record::Text;
use super::time::Timestamp;

/// The agencies a shipment is routed to (domain.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agency {
    /// China Customs.
    Customs,
    /// Inspection and quarantine.
    Inspection,
    /// Foreign exchange (bank / FX bureau).
    Fx,
    /// Tax.
    Tax,
}

impl Agency {
    /// The agency's name, a bounded label.
    pub fn name(self) -> &'static str {
        match self {
            Agency::Customs => "customs",
            Agency::Inspection => "inspection",
            Agency::Fx => "fx",
            Agency::Tax => "tax",
        }
    }

    /// The four, in a fixed order.
    pub const ALL: [Agency; 4] = [Agency::Customs, Agency::Inspection, Agency::Fx, Agency::Tax];

    /// The agency called `name` ("customs", "inspection", "fx", "tax").
    pub fn named(name: &str) -> Option<Agency> {
        Agency::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// The shipment a declaration belongs to: platform code + order number (domain.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShipmentKey<'a> {
    /// `ebpCode` of the platform.
    pub ebp_code: EntCode<'a>,
    /// `orderNo`, unique per platform.
    pub order_no: Text<'a>,
}

impl ShipmentKey<'_> {
    /// Detaches the key from the input it borrows from.
    pub fn into_owned(self) -> ShipmentKey<'static> {
        use super::record::Value;
        ShipmentKey {
            ebp_code: self.ebp_code.into_owned(),
            order_no: self.order_no.into_owned(),
        }
    }
}

/// Inspection & quarantine declaration: the goods of a shipment with what the quarantine
/// officer needs (origin, quantity, unit). A line whose HS code is flagged for inspection must
/// be declared with `inspection` set.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionDeclaration<'a> {
    /// The shipment.
    pub shipment: ShipmentKey<'a>,
    /// Who declares (the e-commerce enterprise or its agent).
    pub declarant: EntCode<'a>,
    /// When.
    pub app_time: Timestamp,
    /// The goods, one line per inventory line (`gnum` as in the inventory).
    pub lines: Vec<InspectionLine<'a>>,
}

/// One goods line of an inspection declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionLine<'a> {
    /// Line number, as in the inventory.
    pub gnum: i32,
    /// Commodity code.
    pub gcode: HsCode,
    /// Goods name.
    pub gname: Text<'a>,
    /// Country of origin.
    pub origin: CountryCode,
    /// Quantity.
    pub qty: Decimal,
    /// Unit of `qty`.
    pub unit: UnitCode,
    /// Declared for inspection and quarantine.
    pub inspection: bool,
}

/// FX settlement declaration by the payment enterprise: what was collected from the buyer in
/// CNY and what was settled abroad in foreign currency.
#[derive(Debug, Clone, PartialEq)]
pub struct FxSettlement<'a> {
    /// The shipment.
    pub shipment: ShipmentKey<'a>,
    /// Payment enterprise.
    pub pay_code: EntCode<'a>,
    /// Its payment transaction id (as in the CEB411 payment voucher).
    pub pay_transaction_id: Text<'a>,
    /// Payer identity.
    pub payer_id_type: IdType,
    /// Payer identity number.
    pub payer_id_number: IdNumber<'a>,
    /// Payer name.
    pub payer_name: Text<'a>,
    /// Amount collected, CNY.
    pub amount_cny: Decimal,
    /// Currency of settlement.
    pub settle_currency: CurrencyCode,
    /// Amount settled in that currency.
    pub settle_amount: Decimal,
    /// CNY per unit of the settlement currency.
    pub rate: Decimal,
    /// When it was settled.
    pub settle_time: Timestamp,
}

/// Tax (withholding) declaration for one inventory: the tax the guarantor withholds, per line
/// and in total (CEB816-like).
#[derive(Debug, Clone, PartialEq)]
pub struct TaxDeclaration<'a> {
    /// The shipment.
    pub shipment: ShipmentKey<'a>,
    /// Who withholds (`assureCode` of the inventory).
    pub assure_code: EntCode<'a>,
    /// The buyer's identity number (the annual limit is counted per buyer).
    pub buyer_id_number: IdNumber<'a>,
    /// Freight of the shipment (part of the dutiable price).
    pub freight: Decimal,
    /// Insurance of the shipment (part of the dutiable price).
    pub insured_fee: Decimal,
    /// Lines.
    pub lines: Vec<TaxLine>,
    /// Total customs duty withheld.
    pub customs_tax: Decimal,
    /// Total VAT withheld.
    pub value_added_tax: Decimal,
    /// Total consumption tax withheld.
    pub consumption_tax: Decimal,
}

/// One line of a tax declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxLine {
    /// Line number, as in the inventory.
    pub gnum: i32,
    /// Commodity code (its rates come from the HS table).
    pub gcode: HsCode,
    /// Goods value of the line (`totalPrice` of the inventory line).
    pub goods_value: Decimal,
    /// Whether the line is one indivisible item (taxed in full above the transaction limit).
    pub indivisible: bool,
    /// Customs duty withheld for the line.
    pub customs_tax: Decimal,
    /// VAT withheld for the line.
    pub value_added_tax: Decimal,
    /// Consumption tax withheld for the line.
    pub consumption_tax: Decimal,
}

impl InspectionDeclaration<'_> {
    /// Detaches the declaration from the input it borrows from.
    pub fn into_owned(self) -> InspectionDeclaration<'static> {
        use super::record::Value;
        InspectionDeclaration {
            shipment: self.shipment.into_owned(),
            declarant: self.declarant.into_owned(),
            app_time: self.app_time,
            lines: self
                .lines
                .into_iter()
                .map(|l| InspectionLine {
                    gnum: l.gnum,
                    gcode: l.gcode,
                    gname: l.gname.into_owned(),
                    origin: l.origin,
                    qty: l.qty,
                    unit: l.unit,
                    inspection: l.inspection,
                })
                .collect(),
        }
    }
}

impl FxSettlement<'_> {
    /// Detaches the declaration from the input it borrows from.
    pub fn into_owned(self) -> FxSettlement<'static> {
        use super::record::Value;
        FxSettlement {
            shipment: self.shipment.into_owned(),
            pay_code: self.pay_code.into_owned(),
            pay_transaction_id: self.pay_transaction_id.into_owned(),
            payer_id_type: self.payer_id_type,
            payer_id_number: self.payer_id_number.into_owned(),
            payer_name: self.payer_name.into_owned(),
            amount_cny: self.amount_cny,
            settle_currency: self.settle_currency,
            settle_amount: self.settle_amount,
            rate: self.rate,
            settle_time: self.settle_time,
        }
    }
}

impl TaxDeclaration<'_> {
    /// Detaches the declaration from the input it borrows from.
    pub fn into_owned(self) -> TaxDeclaration<'static> {
        use super::record::Value;
        TaxDeclaration {
            shipment: self.shipment.into_owned(),
            assure_code: self.assure_code.into_owned(),
            buyer_id_number: self.buyer_id_number.into_owned(),
            freight: self.freight,
            insured_fee: self.insured_fee,
            lines: self.lines,
            customs_tax: self.customs_tax,
            value_added_tax: self.value_added_tax,
            consumption_tax: self.consumption_tax,
        }
    }
}
