//! Signed acceptance receipts from a real gateway in this process: an accepted block's reply
//! carries a receipt signed with the key the gateway created in its store folder (mode
//! 0600); it checks with the public key, through the library and through
//! `single-window receipt verify`; one byte changed makes it invalid; a repeat gets a
//! receipt too. The audit log of the live store verifies after it all.

#[path = "support/node.rs"]
#[allow(dead_code)]
mod node;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use sha2::{Digest, Sha256};
use single_window::audit;
use single_window::cli;
use single_window::pb::v1;
use single_window::rules::Rules;
use single_window::signing::{self, Invalid, Signer, KEY_FILE, RECEIPT_KIND};

fn cli_verify(file: &std::path::Path, key: &str) -> (i32, String) {
    cli_verify_sent(file, key, None)
}

/// `receipt verify FILE --public-key KEY [--content SENT]`.
fn cli_verify_sent(
    file: &std::path::Path,
    key: &str,
    sent: Option<&std::path::Path>,
) -> (i32, String) {
    let mut out = Vec::new();
    let code = cli::receipt::verify(file, key, sent, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn accepted_and_repeated_blocks_get_receipts_that_check() {
    let mut run = node::start().await;
    let rules = Rules::embedded().unwrap();
    let xml = shipments::order_message(61, 1, &rules);
    let reply = run
        .gateway
        .submit(shipments::request(xml.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shipments::outcome(&reply.blocks[0]), v1::Outcome::Accepted);
    assert_eq!(reply.signed_receipts.len(), 1);

    let key_file = run.node.state.store.path().join(KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let signer = Signer::open(&key_file).unwrap();
    let public_hex = signer.public_key_hex();
    let public = signing::public_key(&public_hex).unwrap();

    let signed = &reply.signed_receipts[0];
    let receipt = signing::verify(signed, &public).unwrap();
    assert_eq!(receipt.kind, RECEIPT_KIND);
    assert_eq!(receipt.message_id, reply.blocks[0].key);
    assert_eq!(receipt.outcome, "accepted");
    assert!(!receipt.sender.is_empty());
    assert!(receipt.at_unix_ms > 0);
    // It names the submission as sent: a sender proves what it submitted with its own file.
    let sent: [u8; 32] = Sha256::digest(&xml).into();
    assert_eq!(receipt.received_sha256, Some(sent));
    assert_ne!(
        receipt.content_sha256, sent,
        "the block is kept in canonical form"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, signed).unwrap();
    let (code, out) = cli_verify(&file, &public_hex);
    assert_eq!(code, cli::receipt::EXIT_VALID, "{out}");
    assert!(
        out.starts_with(&format!("valid: {} of ", receipt.message_id)),
        "{out}"
    );

    // With the file that was sent, the receipt proves its submission; another file does not.
    let sent_file = dir.path().join("sent.xml");
    std::fs::write(&sent_file, &xml).unwrap();
    let (code, out) = cli_verify_sent(&file, &public_hex, Some(&sent_file));
    assert_eq!(code, cli::receipt::EXIT_VALID, "{out}");
    assert!(out.contains("sent.xml is the submission it names"), "{out}");
    let other_file = dir.path().join("other.xml");
    std::fs::write(&other_file, shipments::order_message(63, 1, &rules)).unwrap();
    let (code, out) = cli_verify_sent(&file, &public_hex, Some(&other_file));
    assert_eq!(code, cli::receipt::EXIT_INVALID, "{out}");
    assert!(
        out.contains("other.xml (sha256 ")
            && out.contains("is not the submission the receipt names"),
        "{out}"
    );
    let missing = dir.path().join("missing.xml");
    let (code, out) = cli_verify_sent(&file, &public_hex, Some(&missing));
    assert_eq!(code, cli::receipt::EXIT_UNUSABLE, "{out}");
    assert!(out.starts_with("--content "), "{out}");

    // One byte changed inside the signed receipt: the time's last digit.
    let text = String::from_utf8(signed.clone()).unwrap();
    let at = text.find(&receipt.at_unix_ms.to_string()).unwrap()
        + receipt.at_unix_ms.to_string().len()
        - 1;
    let mut tampered = signed.clone();
    tampered[at] = if tampered[at] == b'9' {
        b'8'
    } else {
        tampered[at] + 1
    };
    assert_eq!(signing::verify(&tampered, &public), Err(Invalid::Signature));
    std::fs::write(&file, &tampered).unwrap();
    let (code, out) = cli_verify(&file, &public_hex);
    assert_eq!(code, cli::receipt::EXIT_INVALID, "{out}");
    assert!(out.contains("the signature does not match"), "{out}");

    // Another key: refused, naming both keys (by their ids, hex).
    let other = Signer::from_seed([3; 32]);
    assert_ne!(other.key_id(), signer.key_id());
    std::fs::write(&file, signed).unwrap();
    let (code, out) = cli_verify(&file, &other.public_key_hex());
    assert_eq!(code, cli::receipt::EXIT_INVALID, "{out}");
    assert!(
        out.contains(&format!(
            "signed with key {}, not with the key given ({})",
            signer.key_id(),
            other.key_id()
        )),
        "{out}"
    );
    let (code, _) = cli_verify(&file, "not hex");
    assert_eq!(code, cli::receipt::EXIT_UNUSABLE);

    // The same message again: a repeat, with a receipt saying so.
    let again = run
        .gateway
        .submit(shipments::request(xml))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shipments::outcome(&again.blocks[0]), v1::Outcome::Repeat);
    assert_eq!(again.signed_receipts.len(), 1);
    let repeat = signing::verify(&again.signed_receipts[0], &public).unwrap();
    assert_eq!(repeat.outcome, "repeat");
    assert_eq!(repeat.message_id, receipt.message_id);
    assert_eq!(repeat.content_sha256, receipt.content_sha256);
    assert_eq!(repeat.received_sha256, receipt.received_sha256);

    // Everything the gateway wrote (submissions, its own bookkeeping) is on a sound chain.
    let verified = audit::verify_store(&run.node.state.store).unwrap();
    assert_eq!(verified.broken, None);
    assert!(verified.entries >= 1);
    run.node.stop().await.unwrap();
}

#[tokio::test]
async fn a_rejected_block_gets_no_receipt() {
    let mut run = node::start().await;
    let rules = Rules::embedded().unwrap();
    let xml = String::from_utf8(shipments::order_message(62, 1, &rules)).unwrap();
    assert!(xml.contains("<ceb:currency>142</ceb:currency>"));
    // A currency the code tables do not know.
    let bad = xml.replacen(
        "<ceb:currency>142</ceb:currency>",
        "<ceb:currency>999</ceb:currency>",
        1,
    );
    let reply = run
        .gateway
        .submit(shipments::request(bad.into_bytes()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shipments::outcome(&reply.blocks[0]), v1::Outcome::Rejected);
    assert!(reply.signed_receipts.is_empty());
    run.node.stop().await.unwrap();
}
