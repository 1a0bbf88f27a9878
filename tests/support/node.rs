//! A real gateway node in the test's own process: server on a loopback port, dispatcher, the
//! simulated agencies passing everything at once, a sled store in a temporary folder.

use std::sync::Arc;

use single_window::api::State;
use single_window::config::Config;
use single_window::node::{embedded_sim, Node};
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::rules::Rules;
use single_window::sim::{Mix, SimConfig};
use single_window::store::{Store, StoreConfig};
use tonic::transport::Channel;

/// A running node and a client of it; the store's folder lives as long as it does.
pub struct Running {
    pub node: Node,
    pub gateway: GatewayClient<Channel>,
    pub channel: Channel,
    _dir: tempfile::TempDir,
}

/// Starts a node whose agencies release everything.
pub async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let rules = Rules::embedded().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = Arc::new(State::new(Arc::new(rules), store));
    let config = Config::default();
    let sim = SimConfig {
        mix: Mix::RELEASE_ONLY,
        hold_ms: 0,
        ..embedded_sim()
    };
    let node = Node::start(listener, state, &config.agencies, config.dispatch(), sim)
        .await
        .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(node.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    Running {
        node,
        gateway: GatewayClient::new(channel.clone()),
        channel,
        _dir: dir,
    }
}
