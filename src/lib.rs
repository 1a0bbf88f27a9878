//! single-window: a gateway for cross-border e-commerce declarations (China Customs CEB).
//!
//! Map of the crate:
//! - [`admin`]: the operators' HTTP port: /metrics and the live dashboard;
//! - [`api`]: the gRPC shell (gateway, health, reflection on one port);
//! - [`domain`]: CEB records and agency declarations as typed values (pure);
//! - [`ceb`]: CEB XML in (decode) and receipts out (encode) (pure);
//! - [`ingest`]: a submission → per-block verdicts and the store events of the clean blocks (pure);
//! - [`pb`]: protobuf (`singlewindow.v1`) at the edge, converted into the domain model;
//! - [`report`]: violations and reports;
//! - [`store`]: the durable state on sled: one transaction per accepted event, group commit with a real fsync;
//! - [`audit`]: the hash-chained audit log: records, verification, retention purge;
//! - [`signing`]: the gateway's Ed25519 key and the signed acceptance receipts;
//! - [`rules`]: code tables, limits, rates and registers loaded from `config/rules/`;
//! - [`validate`]: `validate(&Declaration, &Rules) -> Report`, the hot pure core;
//! - [`correlate`]: the shipment state machine `apply(&Shipment, &Event, &Rules) -> Outcome`, cross-document rules (pure);
//! - [`dispatch`]: the outbox delivered to the agencies: per-agency workers, retries, circuit breaker, dead letters;
//! - [`sim`]: the agency simulator (`single-window agency-sim`): the four agencies' endpoint, seeded decisions, ledger, receipts;
//! - [`node`]: one gateway process: server, dispatcher and the in-process simulated agencies;
//! - [`telemetry`]: metric names, the Prometheus recorder;
//! - [`text`]: cutting text to a size (log fields, error texts, audit notes);
//! - [`clock`]: the wall clock in Unix milliseconds;
//! - [`config`]: the gateway's configuration: defaults (`config/default.toml`), file, environment;
//! - [`cli`]: the command-line front end (`single-window validate …`);
//! - [`client`]: how this binary connects to a gRPC server (plaintext or TLS, mutual TLS);
//! - [`auth`]: who a caller is (certificate → register) and what each role may do (pure).

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod ceb;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod correlate;
pub mod dispatch;
pub mod domain;
pub mod hex;
pub mod ingest;
pub mod ledger;
pub mod node;
pub mod pb;
pub mod report;
pub mod rules;
pub mod signing;
pub mod sim;
pub mod store;
pub mod synth;
pub mod telemetry;
pub mod text;
pub mod validate;
