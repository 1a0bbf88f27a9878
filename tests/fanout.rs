//! The fan-out inside one process: a real gateway node on a loopback port (server, dispatcher,
//! the simulated agencies over loopback gRPC), a real sled store on disk. Shipments go from
//! submission to release; the CEB622 receipt says 800; an agency declaration after routing is
//! routed again as a change and refused after release; receipts are applied once and an orphan
//! lands in the dead letters.

#[path = "support/node.rs"]
mod node;
#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;
#[path = "support/xsd.rs"]
mod xsd;

use node::start;
use std::time::Duration;

use single_window::pb::v1;
use single_window::pb::v1::admin_client::AdminClient;
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::pb::v1::receipts_client::ReceiptsClient;
use single_window::rules::Rules;
use single_window::synth;
use tonic::transport::Channel;

fn key(seed: u64, n: u64) -> v1::ShipmentKey {
    v1::ShipmentKey {
        ebp_code: synth::PLATFORM.to_owned(),
        order_no: format!("SW{seed:04}{n:012}"),
    }
}

async fn submit_shipment(client: &mut GatewayClient<Channel>, seed: u64, n: u64) {
    let rules = Rules::embedded().unwrap();
    for message in shipments::shipment_messages(seed, n, &rules) {
        let reply = client
            .submit(v1::SubmitRequest {
                sender: String::new(),
                idempotency_key: String::new(),
                payload: Some(v1::submit_request::Payload::CebXml(message.xml)),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.blocks[0].outcome,
            v1::Outcome::Accepted as i32,
            "{reply:?}"
        );
    }
}

async fn wait_for(
    client: &mut GatewayClient<Channel>,
    key: &v1::ShipmentKey,
    state: &str,
) -> v1::ShipmentView {
    let mut last = None;
    for _ in 0..600 {
        let view = client
            .get_shipment(v1::GetShipmentRequest {
                shipment: Some(key.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        if view.state == state {
            return view;
        }
        last = Some(view);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{key:?} never {state}: {last:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_releases_with_every_agency_passed_and_a_ceb622_of_800() {
    let mut run = start().await;
    for n in 0..12 {
        submit_shipment(&mut run.gateway, 71, n).await;
    }
    for n in 0..12 {
        let view = wait_for(&mut run.gateway, &key(71, n), "released").await;
        let phases: Vec<(String, String, u32)> = view
            .agencies
            .iter()
            .map(|a| (a.agency.clone(), a.phase.clone(), a.routed))
            .collect();
        for (agency, phase, routed) in &phases {
            match agency.as_str() {
                "inspection" if *routed == 0 => assert_eq!(phase, "not-required"),
                _ => assert_eq!(
                    (phase.as_str(), *routed),
                    ("passed", 1),
                    "{agency}: {phases:?}"
                ),
            }
        }
        assert_eq!(phases.len(), 4, "{phases:?}");
        let steps: Vec<&str> = view.history.iter().map(|t| t.to.as_str()).collect();
        assert_eq!(steps, ["complete", "routed", "released"], "{n}");
        let customs = view
            .agencies
            .iter()
            .find(|a| a.agency == "customs")
            .unwrap();
        assert_eq!(customs.return_status, 800);
        let receipt = String::from_utf8(view.inventory_receipt_xml.clone()).unwrap();
        assert!(receipt.contains("CEB622Message"), "{receipt}");
        assert!(receipt.contains("returnStatus>800</"), "{receipt}");
        let decoded =
            single_window::ceb::decode(receipt.as_bytes(), &Rules::embedded().unwrap().limits)
                .unwrap();
        assert_eq!(decoded.kind, single_window::domain::MessageKind::Ceb622);
        if n == 0 {
            xsd::xmllint(&receipt).unwrap_or_else(|e| panic!("{e}\n{receipt}"));
        }
    }
    // Everything delivered: the outbox is empty once the deliveries are recorded.
    for _ in 0..100 {
        let left: usize = ["customs", "inspection", "fx", "tax"]
            .iter()
            .map(|a| run.node.state.store.outbox_len(a))
            .sum();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = run.node.dispatcher.stats();
    let delivered: u64 = stats
        .values()
        .map(|s| s.delivered.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    assert!(delivered >= 12 * 3, "{delivered}");
    run.node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_applied_once_and_an_orphan_goes_to_the_dead_letters() {
    let mut run = start().await;
    submit_shipment(&mut run.gateway, 72, 0).await;
    let k = key(72, 0);
    wait_for(&mut run.gateway, &k, "released").await;
    let mut receipts = ReceiptsClient::new(run.channel.clone());
    // The simulator's first customs receipt again: recognised, nothing changes.
    let message_id = format!(
        "customs:{}/{}:inventory:{}",
        k.ebp_code,
        k.order_no,
        synth::shipment(72, 0, &Rules::embedded().unwrap())
            .inventory
            .head
            .guid
            .unwrap()
    );
    let again = receipts
        .report(v1::AgencyReceipt {
            receipt_id: format!("{message_id}#1"),
            message_id: message_id.clone(),
            agency: "customs".into(),
            return_status: 120,
            return_info: "accepted into the customs system".into(),
            at_unix_ms: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again.outcome,
        v1::ReceiptOutcome::Repeat as i32,
        "{again:?}"
    );
    assert_eq!(again.shipment_state, "released");
    // Another agency may not decide on customs' message.
    let wrong = receipts
        .report(v1::AgencyReceipt {
            receipt_id: "x-1".into(),
            message_id: message_id.clone(),
            agency: "fx".into(),
            return_status: 100,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::PermissionDenied, "{wrong:?}");
    assert_eq!(
        wrong.message(),
        format!("message {message_id} was not routed to fx"),
        "the refusal does not say which agency has it"
    );
    // A receipt for a message never routed is an orphan, kept in the dead letters.
    let orphan = receipts
        .report(v1::AgencyReceipt {
            receipt_id: "r-orphan".into(),
            message_id: "customs:inventory:never-routed".into(),
            agency: "customs".into(),
            return_status: 800,
            return_info: "released".into(),
            at_unix_ms: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(orphan.outcome, v1::ReceiptOutcome::Orphan as i32);
    let mut admin = AdminClient::new(run.channel.clone());
    let letters = admin
        .list_dead_letters(v1::ListDeadLettersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .dead_letters;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].kind, "orphan-receipt");
    assert_eq!(letters[0].message_id, "customs:inventory:never-routed");
    assert_eq!(letters[0].receipt.as_ref().unwrap().receipt_id, "r-orphan");
    // Replaying it while its message is still unknown is refused, and it stays.
    let replay = admin
        .replay_dead_letter(v1::DeadLetterRequest {
            id: letters[0].id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(replay.code(), tonic::Code::FailedPrecondition);
    // The same through the command line.
    let cli = |command| single_window::cli::DeadLettersArgs {
        gateway: single_window::cli::GatewayArgs {
            server: run.node.url.clone(),
            tls: Default::default(),
        },
        command,
    };
    let mut out = Vec::new();
    let code = single_window::cli::dead_letters::run(
        &cli(single_window::cli::DeadLettersCommand::List {
            agency: "customs".into(),
        }),
        &mut out,
    )
    .await
    .unwrap();
    let listed = String::from_utf8(out).unwrap();
    assert_eq!(code, 0);
    assert!(
        listed.contains(&letters[0].id) && listed.contains("orphan-receipt"),
        "{listed}"
    );
    assert!(listed.ends_with("1 dead letters\n"), "{listed}");
    let mut out = Vec::new();
    let code = single_window::cli::dead_letters::run(
        &cli(single_window::cli::DeadLettersCommand::Replay {
            id: letters[0].id.clone(),
        }),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(code, 1, "{}", String::from_utf8_lossy(&out));
    // An inspection declaration after release is refused: the shipment is decided.
    let late = run
        .gateway
        .submit(v1::SubmitRequest {
            sender: synth::PLATFORM.to_owned(),
            idempotency_key: "inspection-late-1".into(),
            payload: Some(v1::submit_request::Payload::Inspection(inspection(&k))),
        })
        .await
        .unwrap()
        .into_inner();
    let block = &late.blocks[0];
    assert_eq!(block.outcome, v1::Outcome::Rejected as i32, "{late:?}");
    assert_eq!(block.violations[0].rule, "AMEND");
    run.node.stop().await.unwrap();
}

fn inspection(k: &v1::ShipmentKey) -> v1::InspectionDeclaration {
    let rules = Rules::embedded().unwrap();
    let s = synth::shipment(72, 0, &rules);
    let inv = &s.inventory;
    v1::InspectionDeclaration {
        shipment: Some(k.clone()),
        declarant: inv.head.agent_code.as_ref().unwrap().to_string(),
        app_time: inv.head.app_time.unwrap().to_string(),
        lines: inv
            .items
            .iter()
            .map(|l| v1::InspectionLine {
                gnum: l.gnum.unwrap(),
                gcode: l.gcode.unwrap().to_string(),
                gname: l.gname.as_ref().unwrap().to_string(),
                origin: l.country.unwrap().to_string(),
                qty: l.qty.unwrap().to_string(),
                unit: l.unit.unwrap().to_string(),
                inspection: rules.hs[&l.gcode.unwrap().number()].inspection,
            })
            .collect(),
    }
}
