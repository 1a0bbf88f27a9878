//! Admission at the edge, over real gRPC to a real server on a loopback port with small
//! `[limits]`: calls beyond a connection's or the server's limit are refused at once with
//! RESOURCE_EXHAUSTED (health checks never are), an enterprise beyond its burst is refused
//! while another gets through, and a unary deadline cuts a slow call but not a stream.
//!
//! Open `WatchShipments` streams hold their slots, so "in flight" is exact here: a watch whose
//! headers came back was admitted, and keeps its slot until it is dropped.

#[path = "support/shipments.rs"]
#[allow(dead_code)]
mod shipments;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use single_window::api::{self, State};
use single_window::config::Limits;
use single_window::pb::v1::gateway_client::GatewayClient;
use single_window::pb::v1::{self, submit_request::Payload};
use single_window::rules::Rules;
use single_window::store::{Store, StoreConfig};
use single_window::synth;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

/// What "at once" means for a refusal: far less than any queued call would wait.
const AT_ONCE: Duration = Duration::from_secs(1);

struct Server {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(limits: Limits) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let rules = Rules::embedded().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            limits,
            ..State::new(Arc::new(rules), store)
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            api::run(listener, state, Default::default(), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server {
            url,
            stop: Some(stop),
            done,
            _dir: dir,
        }
    }

    /// A new connection.
    async fn connect(&self) -> Channel {
        Endpoint::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.done.await.unwrap();
    }
}

fn n(v: usize) -> NonZeroUsize {
    NonZeroUsize::new(v).unwrap()
}

fn limits(per_connection: usize, server: usize) -> Limits {
    Limits {
        max_concurrent_per_connection: n(per_connection),
        max_concurrent: n(server),
        ..Limits::default()
    }
}

/// How `count` watches opened at once on `channel` were answered: the open ones, and the
/// codes and times of the refused ones.
async fn open_watches(
    channel: &Channel,
    count: usize,
) -> (
    Vec<tonic::Streaming<v1::StatusEvent>>,
    Vec<(Code, Duration)>,
) {
    let calls = (0..count).map(|_| {
        let mut client = GatewayClient::new(channel.clone());
        async move {
            let started = Instant::now();
            let answer = client
                .watch_shipments(v1::WatchShipmentsRequest::default())
                .await;
            (answer, started.elapsed())
        }
    });
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for (answer, took) in futures_util::future::join_all(calls).await {
        match answer {
            Ok(stream) => open.push(stream.into_inner()),
            Err(status) => refused.push((status.code(), took)),
        }
    }
    (open, refused)
}

async fn echo(channel: &Channel) -> Result<(), tonic::Status> {
    GatewayClient::new(channel.clone())
        .echo(v1::EchoRequest::default())
        .await
        .map(drop)
}

/// Echoes on `channel` until one is answered OK (slots are given back once the server has
/// seen the streams that held them end).
async fn echo_until_admitted(channel: &Channel) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match echo(channel).await {
            Ok(()) => return,
            Err(status) if status.code() == Code::ResourceExhausted => {}
            Err(status) => panic!("{status:?}"),
        }
        assert!(Instant::now() < deadline, "the slots were never given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn health_check(channel: &Channel) -> Result<(), tonic::Status> {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_beyond_a_connections_limit_are_refused_at_once() {
    let server = Server::start(limits(4, 100)).await;
    let crowded = server.connect().await;
    let (open, refused) = open_watches(&crowded, 40).await;
    assert_eq!(open.len(), 4, "the connection's limit, admitted");
    assert_eq!(refused.len(), 36);
    for (code, took) in &refused {
        assert_eq!(*code, Code::ResourceExhausted);
        assert!(*took < AT_ONCE, "refused after {took:?}");
    }
    // A unary call on the full connection is refused too, with the reason; health checks and
    // other connections are not affected.
    let status = echo(&crowded).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("this connection"), "{status:?}");
    health_check(&crowded).await.unwrap();
    let other = server.connect().await;
    echo(&other).await.unwrap();
    // Closing the streams gives their slots back.
    drop(open);
    echo_until_admitted(&crowded).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_wide_limit_spans_connections() {
    let server = Server::start(limits(4, 6)).await;
    let mut channels = Vec::new();
    for _ in 0..3 {
        channels.push(server.connect().await);
    }
    let crowds = channels.iter().map(|channel| open_watches(channel, 8));
    let answers = futures_util::future::join_all(crowds).await;
    let admitted: Vec<usize> = answers.iter().map(|(open, _)| open.len()).collect();
    assert_eq!(admitted.iter().sum::<usize>(), 6, "{admitted:?}");
    assert!(admitted.iter().all(|&a| a <= 4), "{admitted:?}");
    for (code, took) in answers.iter().flat_map(|(_, refused)| refused) {
        assert_eq!(*code, Code::ResourceExhausted);
        assert!(*took < AT_ONCE, "refused after {took:?}");
    }
    let fresh = server.connect().await;
    let status = echo(&fresh).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("the gateway"), "{status:?}");
    health_check(&fresh).await.unwrap();
    drop(answers);
    echo_until_admitted(&fresh).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_enterprise_beyond_its_burst_is_refused_while_another_gets_through() {
    let server = Server::start(Limits {
        rate_per_enterprise: n(1),
        burst_per_enterprise: n(3),
        ..Limits::default()
    })
    .await;
    let mut client = GatewayClient::new(server.connect().await);
    let rules = Rules::embedded().unwrap();
    // The sender is the messages' copCode: known once the message is decoded.
    for order in 0..3 {
        let xml = shipments::order_message(7, order, &rules);
        let reply = client.submit(shipments::request(xml)).await.unwrap();
        let block = &reply.get_ref().blocks[0];
        assert_eq!(
            shipments::outcome(block),
            v1::Outcome::Accepted,
            "{block:?}"
        );
    }
    let xml = shipments::order_message(7, 3, &rules);
    let status = client.submit(shipments::request(xml)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        format!(
            "rate limit of 1 submissions/s for enterprise {} exceeded",
            synth::PLATFORM
        )
    );
    // Named as the sender, the same enterprise is refused before its message is read.
    let named = v1::SubmitRequest {
        sender: synth::PLATFORM.to_owned(),
        idempotency_key: String::new(),
        payload: Some(Payload::CebXml(b"not xml".to_vec())),
    };
    let status = client.submit(named.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    // Another enterprise still gets through (to the decoder, which refuses this message).
    let other = v1::SubmitRequest {
        sender: "3301960002".to_owned(),
        ..named
    };
    let status = client.submit(other).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unary_deadline_cuts_a_slow_call_but_not_a_stream() {
    let deadline = Duration::from_millis(300);
    let server = Server::start(Limits {
        request_timeout_ms: n(300),
        ..Limits::default()
    })
    .await;
    let channel = server.connect().await;
    let mut watch = GatewayClient::new(channel.clone())
        .watch_shipments(v1::WatchShipmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    // A slow caller: an Echo whose request message never comes.
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let started = Instant::now();
    let slow = grpc
        .client_streaming(
            tonic::Request::new(tokio_stream::pending::<v1::EchoRequest>()),
            http::uri::PathAndQuery::from_static("/singlewindow.v1.Gateway/Echo"),
            tonic_prost::ProstCodec::<v1::EchoRequest, v1::EchoReply>::default(),
        )
        .await;
    let took = started.elapsed();
    let code = slow.unwrap_err().code();
    assert!(
        matches!(code, Code::Cancelled | Code::DeadlineExceeded),
        "{code:?}"
    );
    assert!(took >= deadline && took < deadline + AT_ONCE, "{took:?}");
    // The watch opened before outlives the deadline: an event submitted now arrives on it.
    tokio::time::sleep(deadline * 2).await;
    let rules = Rules::embedded().unwrap();
    let xml = shipments::order_message(11, 0, &rules);
    GatewayClient::new(channel.clone())
        .submit(shipments::request(xml))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("an event within 10 s")
        .expect("the stream is still open")
        .expect("an event, not the end");
    assert!(event.sequence > 0, "{event:?}");
    drop(watch);
    server.stop().await;
}
