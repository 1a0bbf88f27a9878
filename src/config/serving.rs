//! `[server]`, `[rules]`, `[store]` and `[limits]`: where the gateway listens and keeps its
//! store, which rule files it loads, the store's knobs, and what one connection and one
//! enterprise may ask. Plain data with the defaults of `config/default.toml`.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address to listen on (loopback only, unless `[tls]` is set).
    pub listen: SocketAddr,
    /// Folder of the store.
    pub data: PathBuf,
    /// Replies a `SubmitStream` keeps ready before it stops reading requests.
    pub stream_window: NonZeroUsize,
    /// Messages larger than this many bytes are decoded off the async threads.
    pub blocking_above_bytes: usize,
}

/// `[rules]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Folder of rule files (like `config/rules/`); the built-in copy when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// `[store]`: see [`StoreConfig`](crate::store::StoreConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    /// Commits waiting for the writer before `commit` waits (backpressure).
    pub queue: NonZeroUsize,
    /// Most events applied before one fsync.
    pub max_batch: NonZeroUsize,
    /// Size of a payload chunk, bytes.
    pub chunk_bytes: NonZeroUsize,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Calls one connection may have in flight; more are refused at once with
    /// RESOURCE_EXHAUSTED (load shedding, not a queue).
    pub max_concurrent_per_connection: NonZeroUsize,
    /// Calls in flight on the whole server before new ones are shed.
    pub max_concurrent: NonZeroUsize,
    /// Submissions per second one enterprise may make (token bucket).
    pub rate_per_enterprise: NonZeroUsize,
    /// Submissions one enterprise may make at once above its rate (the bucket's size).
    pub burst_per_enterprise: NonZeroUsize,
    /// Deadline of a unary call, ms (a client's shorter grpc-timeout wins).
    pub request_timeout_ms: NonZeroUsize,
    /// HTTP/2 streams one connection may open at once.
    pub h2_max_concurrent_streams: NonZeroUsize,
    /// Largest HTTP/2 header list, bytes.
    pub h2_max_header_list_bytes: NonZeroUsize,
}

impl Default for Limits {
    fn default() -> Self {
        let n = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
        Limits {
            max_concurrent_per_connection: n(256),
            max_concurrent: n(2048),
            rate_per_enterprise: n(2000),
            burst_per_enterprise: n(4000),
            request_timeout_ms: n(30_000),
            h2_max_concurrent_streams: n(256),
            h2_max_header_list_bytes: n(16 * 1024),
        }
    }
}

// Checked at compile time.
const STREAM_WINDOW: NonZeroUsize = NonZeroUsize::new(16).unwrap();
const QUEUE: NonZeroUsize = NonZeroUsize::new(4096).unwrap();
const MAX_BATCH: NonZeroUsize = NonZeroUsize::new(512).unwrap();
const CHUNK_BYTES: NonZeroUsize = NonZeroUsize::new(16 * 1024).unwrap();

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data: PathBuf::from("data"),
            stream_window: STREAM_WINDOW,
            blocking_above_bytes: 64 * 1024,
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store {
            queue: QUEUE,
            max_batch: MAX_BATCH,
            chunk_bytes: CHUNK_BYTES,
        }
    }
}
