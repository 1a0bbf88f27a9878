//! A stand-in for the gateway's `Receipts` service: records every receipt it is reported,
//! answers APPLIED (REPEAT for a receipt id it has seen).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use single_window::pb::v1::{self, receipts_server, ReceiptOutcome};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// How long receipts may take to arrive.
const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Clone, Default)]
pub struct Recorder {
    got: Arc<Mutex<Vec<v1::AgencyReceipt>>>,
}

#[tonic::async_trait]
impl receipts_server::Receipts for Recorder {
    async fn report(
        &self,
        request: Request<v1::AgencyReceipt>,
    ) -> Result<Response<v1::ReceiptAck>, Status> {
        let receipt = request.into_inner();
        let mut got = self.got.lock().unwrap();
        let repeat = got.iter().any(|r| r.receipt_id == receipt.receipt_id);
        got.push(receipt);
        let outcome = if repeat {
            ReceiptOutcome::Repeat
        } else {
            ReceiptOutcome::Applied
        };
        Ok(Response::new(v1::ReceiptAck {
            outcome: outcome as i32,
            ..v1::ReceiptAck::default()
        }))
    }
}

impl Recorder {
    /// Serves on `listener` until the test ends, TLS with `tls` if given; returns the
    /// recorder and its URL (`http://` or `https://`).
    pub fn serve_with(listener: TcpListener, tls: Option<ServerTlsConfig>) -> (Recorder, String) {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let recorder = Recorder::default();
        let service = receipts_server::ReceiptsServer::new(recorder.clone());
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).unwrap();
        }
        tokio::spawn(
            builder
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        (recorder, url)
    }

    /// Serves plaintext on `listener`.
    pub fn serve(listener: TcpListener) -> (Recorder, String) {
        Recorder::serve_with(listener, None)
    }

    /// Serves plaintext on a free loopback port.
    pub async fn start() -> (Recorder, String) {
        Recorder::serve(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// Every receipt taken, in arrival order.
    pub fn all(&self) -> Vec<v1::AgencyReceipt> {
        self.got.lock().unwrap().clone()
    }

    /// (receipt id, status) of `message_id`'s receipts, in arrival order.
    pub fn of(&self, message_id: &str) -> Vec<(String, i32)> {
        self.all()
            .into_iter()
            .filter(|r| r.message_id == message_id)
            .map(|r| (r.receipt_id, r.return_status))
            .collect()
    }

    /// Waits until `message_id` has `n` receipts; returns them.
    pub async fn wait(&self, message_id: &str, n: usize) -> Vec<(String, i32)> {
        let started = Instant::now();
        loop {
            let got = self.of(message_id);
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{message_id}: {} of {n} receipts: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
