//! Every receipt the gateway encodes validates against the official import schema
//! (`xmllint --schema`, from Debian's libxml2-utils, which .ci/run installs).

use single_window::ceb::encode::{
    encode, message_return, receipt_for, receipt_kind, receipt_message, Outcome,
};
use single_window::ceb::{decode, decode_str};
use single_window::domain::{MessageKind, ReceiptTime, ReturnStatus};
use single_window::rules::Rules;
use single_window::synth;

#[path = "support/xsd.rs"]
mod xsd;
use xsd::xmllint;

fn outcome(status: i32, info: &str) -> Outcome<'_> {
    Outcome {
        status: ReturnStatus(status),
        info,
        time: ReceiptTime::from_unix_millis(1_795_478_400_123),
        pre_no: "SW2026112400000001",
    }
}

#[test]
fn receipts_for_every_official_sample_validate_against_the_schema() {
    let rules = Rules::embedded().unwrap();
    let mut checked = Vec::new();
    for kind in ["311", "411", "511", "513", "621", "623", "625"] {
        let bytes = std::fs::read(format!("../shared/ceb/import/CEB{kind}Message.xml")).unwrap();
        let message = decode(&bytes, &rules.limits).unwrap();
        let receipt_kind = receipt_kind(message.kind).unwrap();
        for (status, info) in [
            (120, "入库成功 accepted"),
            (-301010, "订单重复 <duplicate> & refused"),
        ] {
            let blocks = message
                .blocks
                .iter()
                .map(|b| receipt_for(b, outcome(status, info)).unwrap())
                .collect();
            let receipt = receipt_message(receipt_kind, &message.guid, blocks);
            let xml = encode(&receipt);
            xmllint(&xml).unwrap_or_else(|e| panic!("{:?}: {e}\n{xml}", receipt_kind));
            // And it reads back as what was written.
            let back = decode_str(&xml, &rules.limits).unwrap();
            assert_eq!(back.blocks, receipt.blocks);
        }
        checked.push(receipt_kind);
    }
    assert_eq!(
        checked,
        [
            MessageKind::Ceb312,
            MessageKind::Ceb412,
            MessageKind::Ceb512,
            MessageKind::Ceb514,
            MessageKind::Ceb622,
            MessageKind::Ceb624,
            MessageKind::Ceb626
        ]
    );
}

#[test]
fn the_release_receipt_of_a_synthetic_inventory_validates() {
    let rules = Rules::embedded().unwrap();
    let message = synth::inventory_message(7, 0, 3, &rules);
    let blocks = message
        .blocks
        .iter()
        .map(|b| receipt_for(b, outcome(800, "放行 released")).unwrap())
        .collect();
    let xml = encode(&receipt_message(MessageKind::Ceb622, &message.guid, blocks));
    assert!(xml.contains("<ceb:returnStatus>800</ceb:returnStatus>"));
    xmllint(&xml).unwrap();
}

#[test]
fn format_error_receipt_ceb900_validates() {
    let rules = Rules::embedded().unwrap();
    let original = std::fs::read_to_string("../shared/ceb/export/CEB303Message.xml").unwrap();
    let err = decode(original.as_bytes(), &rules.limits).unwrap_err();
    let receipt = message_return(
        "4CDE1CFD-EDED-46B1-946C-B8022E42FC94",
        &err,
        "CEB303Message",
        &original,
        ReceiptTime::from_unix_millis(1_795_478_400_123),
    );
    let xml = encode(&receipt);
    assert!(
        xml.contains("BaseTransfer[2]"),
        "the receipt names the error"
    );
    xmllint(&xml).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_schema_check_does_fail_on_a_broken_receipt() {
    // Guards the guard: a receipt without its required returnInfo must not pass xmllint.
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ceb:CEB312Message guid=\"4CDE1CFD-EDED-46B1-946C-B8022E42FC94\" version=\"1.0\" xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"><ceb:OrderReturn><ceb:guid>4CDE1CFD-EDED-46B1-946C-B8022E42FC94</ceb:guid></ceb:OrderReturn></ceb:CEB312Message>";
    assert!(xmllint(xml).is_err());
}
