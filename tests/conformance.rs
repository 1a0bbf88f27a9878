//! Conformance with the official China Customs samples (../shared/ceb): every import sample
//! decodes, and the business findings are exactly those that ../shared/ceb/README.md lists,
//! block by block; the export samples with two BaseTransfer elements are refused naming the
//! second one.

use std::collections::BTreeSet;

use single_window::ceb::{decode, DecodeErrorKind};
use single_window::rules::Rules;
use single_window::validate::validate;

const SAMPLES: &str = "../shared/ceb";

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A finding: (rule id, element path).
type Finding = (&'static str, &'static str);

/// (sample, blocks, findings in every block).
const EXPECTED: &[(&str, usize, &[Finding])] = &[
    (
        "CEB311Message.xml",
        6,
        &[
            ("A3", "OrderList[2]/totalPrice"),
            ("ID-CHECK", "OrderHead/buyerIdNumber"),
        ],
    ),
    ("CEB312Message.xml", 10, &[]),
    (
        "CEB411Message.xml",
        10,
        &[("ID-CHECK", "PaymentHead/payerIdNumber")],
    ),
    ("CEB412Message.xml", 10, &[]),
    (
        "CEB511Message.xml",
        6,
        &[("PACK-NO", "LogisticsHead/packNo")],
    ),
    ("CEB512Message.xml", 10, &[]),
    ("CEB513Message.xml", 10, &[]),
    ("CEB514Message.xml", 10, &[]),
    (
        "CEB621Message.xml",
        10,
        &[
            ("PACK-NO", "InventoryHead/packNo"),
            ("A3", "InventoryList[1]/totalPrice"),
            ("A3", "InventoryList[2]/totalPrice"),
            ("P1", "InventoryHead/assureCode"),
            ("ID-CHECK", "InventoryHead/buyerIdNumber"),
        ],
    ),
    ("CEB622Message.xml", 10, &[]),
    (
        "CEB623Message.xml",
        10,
        &[("ID-CHECK", "InvtCancel/buyerIdNumber")],
    ),
    ("CEB624Message.xml", 10, &[]),
    ("CEB625Message.xml", 10, &[]),
    ("CEB626Message.xml", 10, &[]),
    ("CEB711Message.xml", 1, &[]),
    ("CEB712Message.xml", 10, &[]),
];

#[test]
fn every_import_sample_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(format!("{SAMPLES}/import"))
        .expect("../shared/ceb/import beside the checkout")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let listed: Vec<String> = EXPECTED.iter().map(|(f, ..)| (*f).to_owned()).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn import_samples_report_exactly_the_documented_findings() {
    let rules = Rules::embedded().unwrap();
    for (file, blocks, findings) in EXPECTED {
        let message = decode(&read(&format!("import/{file}")), &rules.limits)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(message.blocks.len(), *blocks, "{file}: block count");
        assert!(message.envelope_defects.is_empty(), "{file}: envelope");
        let expected: BTreeSet<(&str, &str)> = findings.iter().copied().collect();
        for (i, block) in message.blocks.iter().enumerate() {
            let report = validate(block, &rules);
            let found: BTreeSet<(&str, &str)> = report
                .violations
                .iter()
                .map(|v| (v.rule, v.path.as_str()))
                .collect();
            assert_eq!(
                found,
                expected,
                "{file} block {}: {:#?}",
                i + 1,
                report.violations
            );
            assert_eq!(
                report.violations.len(),
                expected.len(),
                "{file} block {}: one violation per finding",
                i + 1
            );
        }
    }
}

#[test]
fn findings_carry_the_offending_values() {
    let rules = Rules::embedded().unwrap();
    let message = decode(&read("import/CEB621Message.xml"), &rules.limits).unwrap();
    let report = validate(&message.blocks[0], &rules);
    let value = |rule: &str, path: &str| {
        report
            .violations
            .iter()
            .find(|v| v.rule == rule && v.path == path)
            .map(|v| v.value.clone())
            .unwrap()
    };
    assert_eq!(value("PACK-NO", "InventoryHead/packNo"), "6000");
    assert_eq!(value("A3", "InventoryList[2]/totalPrice"), "12");
    assert_eq!(value("P1", "InventoryHead/assureCode"), "ass201603081155");
    // Identity numbers are personal data: masked even in reports.
    assert_eq!(
        value("ID-CHECK", "InventoryHead/buyerIdNumber"),
        "130*************32"
    );
}

#[test]
fn export_samples_with_two_base_transfers_are_refused_naming_the_second() {
    let rules = Rules::embedded().unwrap();
    for file in [
        "CEB303Message.xml",
        "CEB603Message.xml",
        "CEB605Message.xml",
    ] {
        let err = decode(&read(&format!("export/{file}")), &rules.limits).unwrap_err();
        assert!(
            matches!(&err.kind, DecodeErrorKind::TooMany { name, max: 1 } if name == "BaseTransfer"),
            "{file}: {err}"
        );
        let root = file.trim_end_matches(".xml");
        assert_eq!(err.path, format!("{root}/BaseTransfer[2]"), "{file}");
        assert!(err.line > 1 && err.column >= 1, "{file}: {err}");
    }
}

#[test]
fn well_formed_export_receipts_are_refused_as_not_import() {
    let rules = Rules::embedded().unwrap();
    for file in [
        "CEB304Message.xml",
        "CEB604Message.xml",
        "CEB606Message.xml",
    ] {
        let err = decode(&read(&format!("export/{file}")), &rules.limits).unwrap_err();
        assert!(
            matches!(&err.kind, DecodeErrorKind::Unsupported(root) if file.starts_with(root.as_str())),
            "{file}: {err}"
        );
    }
}
