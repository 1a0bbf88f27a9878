//! Valid, consistent shipments as CEB XML messages, built as `single-window load` builds them
//! (with `single_window::synth`), and a tiny seeded random generator.

use single_window::ceb::encode::encode;
use single_window::domain::{Document, MessageKind};
use single_window::pb::v1;
use single_window::rules::Rules;
use single_window::synth;

/// One CEB message of one block, as sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The sender the gateway scopes the block's key to (the message's `copCode`).
    pub sender: &'static str,
    /// The message, as sent.
    pub xml: Vec<u8>,
}

/// The four messages of shipment `n` of run `seed`: order, payment, waybill, inventory.
pub fn shipment_messages(seed: u64, n: u64, rules: &Rules) -> [Sent; 4] {
    synth::shipment_messages(seed, n, rules).map(|(sender, message)| Sent {
        sender,
        xml: encode(&message).into_bytes(),
    })
}

/// The order message (CEB311) of shipment `n` of run `seed`.
pub fn order_message(seed: u64, n: u64, rules: &Rules) -> Vec<u8> {
    let order = synth::shipment(seed, n, rules).order;
    let guid = message_guid(seed, n, MessageKind::Ceb311);
    encode(&synth::message(
        MessageKind::Ceb311,
        &guid,
        synth::PLATFORM,
        vec![Document::Order(order)],
    ))
    .into_bytes()
}

pub use single_window::synth::message_guid;

/// A CEB XML submission; the sender is the message's `copCode`.
pub fn request(xml: Vec<u8>) -> v1::SubmitRequest {
    v1::SubmitRequest {
        sender: String::new(),
        idempotency_key: String::new(),
        payload: Some(v1::submit_request::Payload::CebXml(xml)),
    }
}

/// The outcome of a reply's block.
pub fn outcome(block: &v1::BlockOutcome) -> v1::Outcome {
    v1::Outcome::try_from(block.outcome).unwrap_or(v1::Outcome::Unspecified)
}

/// xorshift64: small and reproducible.
pub struct XorShift(u64);

impl XorShift {
    /// A generator; `seed` must not be 0 (it is replaced).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            seed
        })
    }

    /// The next word.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// The shipment `key` once it is released (read through `channel` every 50 ms); panics with
/// its last view after `patience`.
pub async fn released(
    channel: tonic::transport::Channel,
    key: &v1::ShipmentKey,
    patience: std::time::Duration,
) -> v1::ShipmentView {
    let mut gateway = v1::gateway_client::GatewayClient::new(channel);
    let started = std::time::Instant::now();
    loop {
        let view = gateway
            .get_shipment(v1::GetShipmentRequest {
                shipment: Some(key.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        if view.state == "released" {
            return view;
        }
        assert!(started.elapsed() < patience, "never released: {view:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
