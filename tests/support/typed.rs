//! Valid typed declarations (tax, FX settlement, inspection) of one shipment, for tests to
//! submit as they are or break one field at a time.

use single_window::pb::v1;

pub fn tax_pb() -> v1::TaxDeclaration {
    v1::TaxDeclaration {
        shipment: Some(v1::ShipmentKey {
            ebp_code: "3301960001".into(),
            order_no: "SW0001".into(),
        }),
        assure_code: "3301960001".into(),
        buyer_id_number: "11010519491231002X".into(),
        freight: "10".into(),
        insured_fee: "0".into(),
        lines: vec![v1::TaxLine {
            gnum: 1,
            gcode: "3304990099".into(),
            goods_value: "199".into(),
            indivisible: false,
            customs_tax: "0".into(),
            value_added_tax: "22.38".into(),
            consumption_tax: "25.82".into(),
        }],
        customs_tax: "0".into(),
        value_added_tax: "22.38".into(),
        consumption_tax: "25.82".into(),
    }
}

pub fn fx_pb() -> v1::FxSettlement {
    v1::FxSettlement {
        shipment: Some(v1::ShipmentKey {
            ebp_code: "3301960001".into(),
            order_no: "SW0001".into(),
        }),
        pay_code: "3301960002".into(),
        pay_transaction_id: "PT1".into(),
        payer_id_type: "1".into(),
        payer_id_number: "11010519491231002X".into(),
        payer_name: "张三".into(),
        amount_cny: "71".into(),
        settle_currency: "502".into(),
        settle_amount: "10".into(),
        rate: "7.1".into(),
        settle_time: "20261124080000".into(),
    }
}

pub fn inspection_pb() -> v1::InspectionDeclaration {
    v1::InspectionDeclaration {
        shipment: Some(v1::ShipmentKey {
            ebp_code: "3301960001".into(),
            order_no: "SW0001".into(),
        }),
        declarant: "3301960001".into(),
        app_time: "20261124080000".into(),
        lines: vec![v1::InspectionLine {
            gnum: 1,
            gcode: "1901101000".into(),
            gname: "婴儿配方奶粉".into(),
            origin: "502".into(),
            qty: "2".into(),
            unit: "007".into(),
            inspection: true,
        }],
    }
}
