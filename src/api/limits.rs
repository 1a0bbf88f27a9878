//! Admission at the edge: load shedding and the per-enterprise rate limit.
//!
//! [`ShedLayer`] admits a call only while its connection (keyed by the peer's socket address)
//! has fewer than `max_concurrent_per_connection` calls in flight and the server fewer than
//! `max_concurrent`; any other call is answered RESOURCE_EXHAUSTED at once (never queued) and
//! counted in `SHED`. A call stays in flight until its response body ends, so an open stream
//! holds its slot. Health checks are never shed and take no slot.
//!
//! [`Rates`] is a token bucket per enterprise (GCRA: one instant per enterprise), in a map of
//! at most [`MAX_ENTERPRISES`] entries: idle buckets (full again) are dropped first when it
//! is full. The decision [`Bucket::take`] is pure.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body::{Body as HttpBody, Frame, SizeHint};
use metrics::counter;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::config::Limits;
use crate::telemetry::names;

/// Most enterprises whose buckets are kept at once.
pub const MAX_ENTERPRISES: usize = 10_000;
/// Longest enterprise code a bucket is keyed by; longer ones share the bucket of their prefix.
const ENTERPRISE_KEY_BYTES: usize = 64;

/// The shedding layer over the server's routes.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    slots: Slots,
}

impl ShedLayer {
    /// Sheds beyond `limits.max_concurrent_per_connection` and `limits.max_concurrent`.
    pub fn new(limits: &Limits) -> ShedLayer {
        ShedLayer {
            slots: Slots {
                server: Arc::new(Semaphore::new(limits.max_concurrent.get())),
                server_limit: limits.max_concurrent.get(),
                per_connection: limits.max_concurrent_per_connection.get(),
                connections: Arc::default(),
            },
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            slots: self.slots.clone(),
        }
    }
}

/// The service of [`ShedLayer`].
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    slots: Slots,
}

type Answer<B, E> = Pin<Box<dyn Future<Output = Result<http::Response<Held<B>>, E>> + Send>>;

impl<S, R, B> tower::Service<http::Request<R>> for Shed<S>
where
    S: tower::Service<http::Request<R>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Default + Send + 'static,
{
    type Response = http::Response<Held<B>>;
    type Error = S::Error;
    type Future = Answer<B, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<R>) -> Self::Future {
        let admission = if request.uri().path().starts_with("/grpc.health.v1.Health/") {
            None
        } else {
            // Over TLS or not: a TLS connection's limit is its own too.
            let peer = super::identify::remote_addr(&request);
            match self.slots.admit(peer) {
                Ok(admission) => Some(admission),
                Err(status) => {
                    counter!(names::SHED).increment(1);
                    let refused = status.into_http::<B>().map(Held::new);
                    return Box::pin(std::future::ready(Ok(refused)));
                }
            }
        };
        // The clone answers this call; `self.inner` stays the one that was made ready.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let answer = inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| Held { body, admission }))
        })
    }
}

/// A response body that keeps its call's slots until it ends.
#[derive(Debug, Default)]
pub struct Held<B> {
    body: B,
    admission: Option<Admission>,
}

impl<B> Held<B> {
    fn new(body: B) -> Held<B> {
        Held {
            body,
            admission: None,
        }
    }
}

impl<B> HttpBody for Held<B>
where
    B: HttpBody + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.is_trailers(),
            Poll::Ready(_) => true,
            Poll::Pending => false,
        };
        if ended {
            self.admission = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The server's slots and each connection's count of calls in flight.
#[derive(Debug, Clone)]
struct Slots {
    server: Arc<Semaphore>,
    server_limit: usize,
    per_connection: usize,
    /// Calls in flight by peer; a peer with none has no entry.
    connections: Arc<Mutex<HashMap<SocketAddr, usize>>>,
}

impl Slots {
    /// A slot of the connection, then one of the server; RESOURCE_EXHAUSTED when either is
    /// taken up. A call with no known peer takes only the server's.
    fn admit(&self, peer: Option<SocketAddr>) -> Result<Admission, Status> {
        let connection = match peer {
            Some(peer) => Some(self.connection_slot(peer).ok_or_else(|| {
                Status::resource_exhausted(format!(
                    "{} calls in flight on this connection, the most it may have; \
                     try again later",
                    self.per_connection
                ))
            })?),
            None => None,
        };
        let server = self.server.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "the gateway has {} calls in flight, the most it takes; try again later",
                self.server_limit
            ))
        })?;
        Ok(Admission {
            _server: server,
            _connection: connection,
        })
    }

    fn connection_slot(&self, peer: SocketAddr) -> Option<ConnectionSlot> {
        let mut connections = lock(&self.connections);
        let in_flight = connections.entry(peer).or_insert(0);
        if *in_flight >= self.per_connection {
            return None;
        }
        *in_flight += 1;
        Some(ConnectionSlot {
            peer,
            connections: self.connections.clone(),
        })
    }
}

/// The slots one admitted call holds; given back when dropped.
#[derive(Debug)]
struct Admission {
    _server: OwnedSemaphorePermit,
    _connection: Option<ConnectionSlot>,
}

#[derive(Debug)]
struct ConnectionSlot {
    peer: SocketAddr,
    connections: Arc<Mutex<HashMap<SocketAddr, usize>>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut connections = lock(&self.connections);
        if let Some(in_flight) = connections.get_mut(&self.peer) {
            *in_flight = in_flight.saturating_sub(1);
            if *in_flight == 0 {
                connections.remove(&self.peer);
            }
        }
    }
}

/// The per-enterprise rate limit of submissions.
#[derive(Debug)]
pub struct Rates {
    bucket: Bucket,
    rate: usize,
    /// When each enterprise's bucket is next full (GCRA's theoretical arrival time).
    full_at: Mutex<HashMap<String, Instant>>,
}

impl Rates {
    /// `limits.rate_per_enterprise` submissions a second, `limits.burst_per_enterprise` at once.
    pub fn new(limits: &Limits) -> Rates {
        Rates {
            bucket: Bucket::new(limits.rate_per_enterprise, limits.burst_per_enterprise),
            rate: limits.rate_per_enterprise.get(),
            full_at: Mutex::default(),
        }
    }

    /// Takes a submission of `enterprise`'s; RESOURCE_EXHAUSTED (counted as shed) when it is
    /// over its rate.
    pub fn admit(&self, enterprise: &str) -> Result<(), Status> {
        if self.take(enterprise, Instant::now()) {
            return Ok(());
        }
        counter!(names::SHED).increment(1);
        Err(Status::resource_exhausted(format!(
            "rate limit of {} submissions/s for enterprise {} exceeded",
            self.rate,
            crate::text::cut(enterprise, ENTERPRISE_KEY_BYTES)
        )))
    }

    fn take(&self, enterprise: &str, now: Instant) -> bool {
        let key = crate::text::cut(enterprise, ENTERPRISE_KEY_BYTES);
        let mut full_at = lock(&self.full_at);
        if !full_at.contains_key(key) && full_at.len() >= MAX_ENTERPRISES {
            make_room(&mut full_at, now);
        }
        let previous = full_at.get(key).copied();
        match self.bucket.take(previous, now) {
            Some(next) => {
                full_at.insert(key.to_owned(), next);
                true
            }
            None => false,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.full_at).len()
    }
}

/// Drops the idle buckets; when none is idle, the one nearest to full.
fn make_room(full_at: &mut HashMap<String, Instant>, now: Instant) {
    full_at.retain(|_, at| *at > now);
    if full_at.len() < MAX_ENTERPRISES {
        return;
    }
    let nearest = full_at
        .iter()
        .min_by_key(|(_, at)| **at)
        .map(|(key, _)| key.clone());
    if let Some(key) = nearest {
        full_at.remove(&key);
    }
}

/// A token bucket as GCRA: each submission moves the instant the bucket is full again one
/// interval later; a submission that would move it more than `burst` intervals past now is
/// refused.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    interval: Duration,
    window: Duration,
}

impl Bucket {
    fn new(rate: std::num::NonZeroUsize, burst: std::num::NonZeroUsize) -> Bucket {
        let rate = u32::try_from(rate.get()).unwrap_or(u32::MAX);
        let interval = Duration::from_secs(1) / rate;
        let burst = u32::try_from(burst.get()).unwrap_or(u32::MAX);
        Bucket {
            interval,
            window: interval.checked_mul(burst).unwrap_or(Duration::MAX),
        }
    }

    /// The bucket's new full instant if a submission at `now` is admitted, given the last
    /// one (`None`: a full bucket).
    fn take(self, full_at: Option<Instant>, now: Instant) -> Option<Instant> {
        let from = full_at.map_or(now, |at| at.max(now));
        let next = from.checked_add(self.interval)?;
        (next.duration_since(now) <= self.window).then_some(next)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;

    fn n(v: usize) -> NonZeroUsize {
        NonZeroUsize::new(v).unwrap()
    }

    fn limits(per_connection: usize, server: usize, rate: usize, burst: usize) -> Limits {
        Limits {
            max_concurrent_per_connection: n(per_connection),
            max_concurrent: n(server),
            rate_per_enterprise: n(rate),
            burst_per_enterprise: n(burst),
            ..Limits::default()
        }
    }

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let bucket = Bucket::new(n(10), n(3));
        let t0 = Instant::now();
        let mut full_at = None;
        for _ in 0..3 {
            full_at = Some(bucket.take(full_at, t0).expect("within the burst"));
        }
        assert_eq!(bucket.take(full_at, t0), None, "beyond the burst");
        let later = t0 + Duration::from_millis(100);
        full_at = Some(bucket.take(full_at, later).expect("one interval later"));
        assert_eq!(bucket.take(full_at, later), None);
        let idle = t0 + Duration::from_secs(10);
        assert!(full_at.is_some_and(|at| at < idle), "idle: full again");
        assert!(bucket.take(full_at, idle).is_some());
    }

    #[test]
    fn enterprises_have_their_own_buckets() {
        let rates = Rates::new(&limits(1, 1, 1, 2));
        let now = Instant::now();
        assert!(rates.take("A", now) && rates.take("A", now));
        assert!(!rates.take("A", now));
        assert!(rates.take("B", now));
        assert!(rates
            .admit("A")
            .is_err_and(|s| s.code() == tonic::Code::ResourceExhausted
                && s.message() == "rate limit of 1 submissions/s for enterprise A exceeded"));
    }

    #[test]
    fn the_map_of_buckets_stays_bounded() {
        let rates = Rates::new(&limits(1, 1, 1, 5));
        let now = Instant::now();
        for i in 0..MAX_ENTERPRISES + 100 {
            assert!(rates.take(&format!("E{i}"), now));
        }
        assert_eq!(rates.len(), MAX_ENTERPRISES);
        // Once idle, the buckets make room for new enterprises all at once.
        let later = now + Duration::from_secs(60);
        assert!(rates.take("new", later));
        assert_eq!(rates.len(), 1);
    }

    #[test]
    fn slots_are_per_connection_and_server_wide() {
        let slots = ShedLayer::new(&limits(2, 3, 1, 1)).slots;
        let a = Some(SocketAddr::from(([127, 0, 0, 1], 1)));
        let b = Some(SocketAddr::from(([127, 0, 0, 1], 2)));
        let a1 = slots.admit(a).unwrap();
        let _a2 = slots.admit(a).unwrap();
        let refused = slots.admit(a).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("this connection"), "{refused:?}");
        let _b1 = slots.admit(b).unwrap();
        let refused = slots.admit(b).unwrap_err();
        assert!(refused.message().contains("the gateway"), "{refused:?}");
        drop(a1);
        assert!(slots.admit(b).is_ok(), "a slot given back is taken again");
        assert_eq!(lock(&slots.connections).len(), 2);
    }

    #[test]
    fn a_refused_call_gives_back_its_connection_slot() {
        let slots = ShedLayer::new(&limits(2, 1, 1, 1)).slots;
        let a = SocketAddr::from(([127, 0, 0, 1], 1));
        let b = SocketAddr::from(([127, 0, 0, 1], 2));
        let held = slots.admit(Some(a)).unwrap();
        assert!(slots.admit(Some(b)).is_err(), "the server is full");
        assert_eq!(lock(&slots.connections).get(&b), None);
        drop(held);
        assert!(lock(&slots.connections).is_empty());
    }
}
