//! Validation against the official import schema with `xmllint --schema` (Debian's
//! libxml2-utils, which .ci/run installs).

use std::process::Command;

/// The official CEB import schema, beside the checkout.
pub const SCHEMA: &str = "../shared/ceb/xsd/海关跨境进口业务节点报文定义202205.xsd";

/// `Ok` when `xml` validates; xmllint's complaint otherwise.
pub fn xmllint(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipt.xml");
    std::fs::write(&path, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", SCHEMA])
        .arg(&path)
        .output()
        .expect("xmllint (Debian package libxml2-utils) must be installed");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
