//! `single-window validate` as a seller runs it: the real binary, real files, exit codes.

use std::process::Command;

fn validate(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_single-window"))
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn clean_files_exit_0() {
    let (code, out) = validate(&[
        "../shared/ceb/import/CEB513Message.xml",
        "../shared/ceb/import/CEB625Message.xml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("CEB625Message") && out.contains("0 rejected"),
        "{out}"
    );
}

#[test]
fn rejected_blocks_exit_1_and_name_rule_path_and_value() {
    let (code, out) = validate(&["../shared/ceb/import/CEB511Message.xml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("6 block(s), 6 rejected"), "{out}");
    assert!(
        out.contains("[PACK-NO] LogisticsHead/packNo = \"6000\""),
        "{out}"
    );
}

#[test]
fn unreadable_input_exits_2_even_beside_rejected_files() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"",
    )
    .unwrap();
    let missing = dir.path().join("missing.xml");
    let (code, out) = validate(&[
        "../shared/ceb/import/CEB511Message.xml",
        broken.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("broken.xml: unreadable"), "{out}");
    assert!(
        out.contains("missing.xml: unreadable: cannot read"),
        "{out}"
    );
}

#[test]
fn json_is_one_object_per_block_with_violation_fields() {
    let (code, out) = validate(&["--format", "json", "../shared/ceb/import/CEB621Message.xml"]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "one object per block");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["block"], i + 1);
        assert_eq!(line["status"], "rejected");
        let violations = line["violations"].as_array().unwrap();
        assert_eq!(violations.len(), 5);
        for v in violations {
            for key in ["rule", "code", "path", "value", "message"] {
                assert!(v.get(key).is_some(), "{key} in {v}");
            }
        }
    }
}

#[test]
fn folders_are_searched_for_xml_files() {
    let (code, out) = validate(&["../shared/ceb/import"]);
    assert_eq!(code, 1);
    assert_eq!(
        out.lines().filter(|l| l.contains("Message.xml:")).count(),
        16,
        "{out}"
    );
}

#[test]
fn a_broken_rules_folder_is_refused_before_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = validate(&[
        "--rules",
        dir.path().to_str().unwrap(),
        "../shared/ceb/import/CEB513Message.xml",
    ]);
    assert_eq!(code, 2);
    assert!(out.contains("error: rules: reading"), "{out}");
}
