//! What every gRPC call goes through before its service: a `request` span (method; the
//! handler records the shipment key when the request names one), the request metrics
//! (`REQUESTS{method, code}`, `REQUEST_SECONDS{method}`, `IN_FLIGHT`), and the drain gate: once
//! shutdown has begun, a call that still arrives (on a connection opened before) is answered
//! UNAVAILABLE at once, except health checks, which answer NOT_SERVING; and a health `Watch`
//! stream, which would otherwise hold the drain until its deadline, ends (OK) once it has sent
//! what the health service had for it (NOT_SERVING).
//!
//! Identity, when the layer is built [`ObserveLayer::identifying`]: the caller is found from
//! the connection ([`Peer::caller`]) and checked against the call ([`auth::policy::gate`]); a
//! caller refused here is answered UNAUTHENTICATED or PERMISSION_DENIED with the reason, and
//! an admitted one goes on with its [`Caller`] and a [`CallNote`] in the request's extensions.
//! Every call but a health check leaves an audit record ([`CallAudit`]) when it ends.
//!
//! `method` is the RPC's name from a fixed table (anything else is "other"); `code` is the
//! gRPC status name, read from the response headers (a handler's error) or from the trailers
//! at the end of the body (streams, and every successful call); a call whose client went away
//! first counts as CANCELLED. `REQUEST_SECONDS` runs to the response headers: the whole
//! handler for a unary call, the opening for a stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body as HttpBody, Frame, SizeHint};
use metrics::{counter, gauge, histogram};
use tokio::sync::watch;
use tonic::{Code, Status};
use tracing::{field, Instrument as _, Span};

use super::calls::{CallAudit, CallNote};
use super::identify::{Credential, Peer, Registry};
use crate::auth;
use crate::store::Store;
use crate::telemetry::names;

/// Turns on when shutdown begins; shared by the gate and the shutdown sequence.
#[derive(Debug, Clone)]
pub struct Draining {
    on: Arc<AtomicBool>,
    wake: Arc<watch::Sender<bool>>,
}

impl Default for Draining {
    fn default() -> Draining {
        Draining {
            on: Arc::default(),
            wake: Arc::new(watch::channel(false).0),
        }
    }
}

impl Draining {
    /// From now on, new calls are refused and health `Watch` streams end.
    pub fn begin(&self) {
        self.on.store(true, Ordering::Relaxed);
        self.wake.send_replace(true);
    }

    fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Completes when draining begins.
    fn begun(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut on = self.wake.subscribe();
        Box::pin(async move {
            let _ = on.wait_for(|on| *on).await;
        })
    }
}

/// The layer over the server's routes.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    draining: Draining,
    identity: Option<Identity>,
}

/// Who the callers are, and where their calls are audited.
#[derive(Clone)]
struct Identity {
    registry: Registry,
    store: Store,
    /// On the internal port: the secret that makes a caller trusted.
    internal_token: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("registry", &self.registry)
            .finish()
    }
}

impl ObserveLayer {
    /// Observes every call; refuses new ones once `draining` is on.
    pub fn new(draining: Draining) -> ObserveLayer {
        ObserveLayer {
            draining,
            identity: None,
        }
    }

    /// Also identifies each caller by `registry` (or, on an internal port, by the secret
    /// `internal_token`), admits it only to the calls its role may make, and audits every call
    /// in `store`.
    pub fn identifying(
        self,
        registry: Registry,
        store: Store,
        internal_token: Option<String>,
    ) -> ObserveLayer {
        ObserveLayer {
            identity: Some(Identity {
                registry,
                store,
                internal_token,
            }),
            ..self
        }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            draining: self.draining.clone(),
            identity: self.identity.clone(),
        }
    }
}

/// The service of [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    draining: Draining,
    identity: Option<Identity>,
}

type Answer<B, E> = Pin<Box<dyn Future<Output = Result<http::Response<Observed<B>>, E>> + Send>>;

impl<S, R, B> tower::Service<http::Request<R>> for Observe<S>
where
    S: tower::Service<http::Request<R>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Default + Send + 'static,
{
    type Response = http::Response<Observed<B>>;
    type Error = S::Error;
    type Future = Answer<B, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<R>) -> Self::Future {
        let method = method_name(request.uri().path());
        let span = tracing::info_span!(
            "request",
            method,
            ebp_code = field::Empty,
            order_no = field::Empty
        );
        let mut call = Call::begin(method, span.clone());
        let refuse = |call: Call, status: Status| {
            call.answered();
            call.end(status.code());
            let refused = status
                .into_http::<B>()
                .map(|body| Observed::new(body, None, None));
            Box::pin(std::future::ready(Ok(refused))) as Self::Future
        };
        if let Some(identity) = &self.identity {
            let peer = Peer::of(&request);
            let mut audit = (!is_health(method))
                .then(|| CallAudit::begin(identity.store.clone(), method, &peer, &request));
            let identified = match &identity.internal_token {
                Some(token) => Ok(internal_caller(&request, token)),
                None => peer.caller(&identity.registry.current()),
            };
            // Recorded before the gate, so that a refused call names its caller too.
            if let (Some(audit), Ok(caller)) = (&mut audit, &identified) {
                audit.caller(caller);
            }
            let admitted =
                identified.and_then(|caller| auth::policy::gate(&caller, method).map(|()| caller));
            let note = audit
                .as_ref()
                .map_or_else(CallNote::default, CallAudit::note);
            call.audit = audit;
            match admitted {
                Ok(caller) => {
                    // Streams check their caller again as they go (revocation).
                    let stream = matches!(method, "SubmitStream" | "WatchShipments");
                    if stream && peer.fingerprint.is_some() {
                        let registry = identity.registry.clone();
                        let credential = Credential::new(peer, caller.clone(), registry);
                        request.extensions_mut().insert(credential);
                    }
                    request.extensions_mut().insert(caller);
                    request.extensions_mut().insert(note);
                }
                Err(denied) => {
                    let status = span.in_scope(|| super::identify::refuse(&note, &denied));
                    return refuse(call, status);
                }
            }
        }
        if self.draining.is_on() && !is_health(method) {
            return refuse(
                call,
                Status::unavailable("the gateway is shutting down; try again later"),
            );
        }
        // The clone answers this call; `self.inner` stays the one that was made ready.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let answer = inner.call(request).instrument(span);
        let until = (method == "Watch").then(|| self.draining.begun());
        Box::pin(async move {
            let response = answer.await?;
            call.answered();
            let (parts, body) = response.into_parts();
            let call = match header_code(&parts.headers) {
                Some(code) => {
                    call.end(code);
                    None
                }
                None => Some(call),
            };
            Ok(http::Response::from_parts(
                parts,
                Observed::new(body, call, until),
            ))
        })
    }
}

/// On the internal port: trusted with the secret, anonymous without it. The comparison takes
/// the same time wherever the first difference is.
fn internal_caller<R>(request: &http::Request<R>, token: &str) -> crate::auth::Caller {
    let sent = request
        .headers()
        .get(super::INTERNAL_TOKEN)
        .map_or(&[][..], http::HeaderValue::as_bytes);
    let same = sent.len() == token.len()
        && sent
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    if same {
        crate::auth::Caller::Local
    } else {
        crate::auth::Caller::Anonymous
    }
}

/// A response body that ends its call's bookkeeping when the trailers (or the end) go out.
pub struct Observed<B> {
    body: B,
    call: Option<Call>,
    /// For a stream that never ends by itself: ends it (OK) once this completes and the
    /// service has nothing more ready.
    until: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// Ended early (by `until`).
    cut: bool,
}

impl<B> Observed<B> {
    fn new(
        body: B,
        call: Option<Call>,
        until: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    ) -> Observed<B> {
        Observed {
            body,
            call,
            until,
            cut: false,
        }
    }
}

impl<B> HttpBody for Observed<B>
where
    B: HttpBody + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.cut {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        let over = polled.is_pending()
            && (this.until.as_mut()).is_some_and(|until| until.as_mut().poll(cx).is_ready());
        if over {
            this.cut = true;
            if let Some(call) = this.call.take() {
                call.end(Code::Ok);
            }
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame
                .trailers_ref()
                .map(|t| header_code(t).unwrap_or(Code::Unknown)),
            Poll::Ready(Some(Err(_))) => Some(Code::Internal),
            // Ended without trailers: not a gRPC answer.
            Poll::Ready(None) => Some(Code::Unknown),
            Poll::Pending => None,
        };
        if let Some(code) = code {
            if let Some(call) = this.call.take() {
                call.end(code);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.cut || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// One call being answered: counted in flight from its arrival to its end (dropped unended:
/// the client went away).
#[derive(Debug)]
struct Call {
    method: &'static str,
    started: Instant,
    span: Span,
    ended: bool,
    /// Its audit record, written when it ends.
    audit: Option<CallAudit>,
}

impl Call {
    fn begin(method: &'static str, span: Span) -> Call {
        gauge!(names::IN_FLIGHT).increment(1.0);
        Call {
            method,
            started: Instant::now(),
            span,
            ended: false,
            audit: None,
        }
    }

    /// The response headers are out.
    fn answered(&self) {
        let took = self.started.elapsed().as_secs_f64();
        histogram!(names::REQUEST_SECONDS, "method" => self.method).record(took);
    }

    fn end(mut self, code: Code) {
        self.finish(code);
    }

    fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        gauge!(names::IN_FLIGHT).decrement(1.0);
        if let Some(audit) = self.audit.take() {
            audit.end(code);
        }
        let name = code_name(code);
        counter!(names::REQUESTS, "method" => self.method, "code" => name).increment(1);
        let elapsed_ms = self.started.elapsed().as_millis();
        let _entered = self.span.enter();
        if server_fault(code) {
            tracing::warn!(code = name, elapsed_ms, "answered");
        } else {
            tracing::debug!(code = name, elapsed_ms, "answered");
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

/// The RPCs this server answers, by path, and their names.
const METHODS: &[(&str, &str)] = &[
    ("/singlewindow.v1.Gateway/Submit", "Submit"),
    ("/singlewindow.v1.Gateway/SubmitStream", "SubmitStream"),
    ("/singlewindow.v1.Gateway/GetShipment", "GetShipment"),
    ("/singlewindow.v1.Gateway/ListShipments", "ListShipments"),
    ("/singlewindow.v1.Gateway/WatchShipments", "WatchShipments"),
    ("/singlewindow.v1.Gateway/Echo", "Echo"),
    ("/singlewindow.v1.Receipts/Report", "Report"),
    ("/singlewindow.v1.Admin/ListDeadLetters", "ListDeadLetters"),
    ("/singlewindow.v1.Admin/GetDeadLetter", "GetDeadLetter"),
    (
        "/singlewindow.v1.Admin/ReplayDeadLetter",
        "ReplayDeadLetter",
    ),
    ("/grpc.health.v1.Health/Check", "Check"),
    ("/grpc.health.v1.Health/Watch", "Watch"),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "ServerReflectionInfo",
    ),
];

/// The `method` label of a request path: the RPC's name, or "other".
pub fn method_name(path: &str) -> &'static str {
    METHODS
        .iter()
        .find(|(known, _)| *known == path)
        .map_or("other", |(_, name)| name)
}

fn is_health(method: &str) -> bool {
    matches!(method, "Check" | "Watch")
}

fn header_code(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// Codes that say the gateway failed, rather than the caller or the store being busy.
fn server_fault(code: Code) -> bool {
    matches!(code, Code::Internal | Code::Unknown | Code::DataLoss)
}

/// The status name, as the gRPC specification spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_protos_has_its_name_and_the_rest_is_other() {
        let protos = [
            include_str!("../../proto/singlewindow/v1/gateway.proto"),
            include_str!("../../proto/singlewindow/v1/agency.proto"),
        ];
        let mut found = 0;
        for proto in protos {
            let mut service = "";
            for line in proto.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.trim_end_matches('{').trim();
                }
                let Some(rest) = line.strip_prefix("rpc ") else {
                    continue;
                };
                let rpc = rest.split('(').next().unwrap_or_default().trim();
                if service == "AgencyEndpoint" {
                    continue; // served by the agencies, not here
                }
                let path = format!("/singlewindow.v1.{service}/{rpc}");
                assert_eq!(method_name(&path), rpc, "{path}");
                found += 1;
            }
        }
        assert_eq!(found, 10);
        assert_eq!(method_name("/grpc.health.v1.Health/Check"), "Check");
        assert_eq!(method_name("/singlewindow.v1.Gateway/Nope"), "other");
        assert_eq!(method_name("/"), "other");
    }

    /// Answers every call OK, trailers-only.
    #[derive(Clone)]
    struct AnswersOk;

    impl tower::Service<http::Request<()>> for AnswersOk {
        type Response = http::Response<tonic::body::Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            std::future::ready(Ok(Status::ok("").into_http()))
        }
    }

    async fn code_of(service: &mut Observe<AnswersOk>, path: &str) -> Option<Code> {
        use tower::Service as _;
        let request = http::Request::builder().uri(path).body(()).unwrap();
        let response = service.call(request).await.unwrap();
        header_code(response.headers())
    }

    #[tokio::test]
    async fn once_draining_calls_are_refused_but_health_checks_answer() {
        use tower::Layer as _;
        let draining = Draining::default();
        let mut service = ObserveLayer::new(draining.clone()).layer(AnswersOk);
        let submit = "/singlewindow.v1.Gateway/Submit";
        let check = "/grpc.health.v1.Health/Check";
        assert_eq!(code_of(&mut service, submit).await, Some(Code::Ok));
        draining.begin();
        assert_eq!(code_of(&mut service, submit).await, Some(Code::Unavailable));
        assert_eq!(
            code_of(&mut service, "/x.Y/Z").await,
            Some(Code::Unavailable)
        );
        assert_eq!(code_of(&mut service, check).await, Some(Code::Ok));
    }

    /// A body of ready frames, then nothing ever.
    struct Frames(std::collections::VecDeque<Frame<tonic::codegen::Bytes>>);

    impl HttpBody for Frames {
        type Data = tonic::codegen::Bytes;
        type Error = Status;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<tonic::codegen::Bytes>, Status>>> {
            match self.0.pop_front() {
                Some(frame) => Poll::Ready(Some(Ok(frame))),
                None => Poll::Pending,
            }
        }
    }

    #[test]
    fn a_call_ends_with_the_trailers_and_only_then() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let frames = [
            Frame::data(tonic::codegen::Bytes::from_static(b"reply")),
            Frame::trailers(trailers),
        ];
        let call = Call::begin("Echo", Span::none());
        let mut body = Observed::new(Frames(frames.into()), Some(call), None);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut next = || {
            Pin::new(&mut body)
                .poll_frame(&mut cx)
                .map(|f| f.map(|f| f.is_ok()))
        };
        assert_eq!(next(), Poll::Ready(Some(true)), "data");
        assert!(
            body.call.as_ref().is_some_and(|c| !c.ended),
            "still in flight after data"
        );
        let mut next = || {
            Pin::new(&mut body)
                .poll_frame(&mut cx)
                .map(|f| f.map(|f| f.is_ok()))
        };
        assert_eq!(next(), Poll::Ready(Some(true)), "trailers");
        assert!(body.call.is_none(), "ended by the trailers");
    }

    #[test]
    fn a_watch_ends_after_what_was_ready_once_draining() {
        let data = Frame::data(tonic::codegen::Bytes::from_static(b"NOT_SERVING"));
        let call = Call::begin("Watch", Span::none());
        let until: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(std::future::ready(()));
        let mut body = Observed::new(Frames([data].into()), Some(call), Some(until));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut poll = |body: &mut Observed<Frames>| match Pin::new(body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) if frame.is_data() => "data",
            Poll::Ready(Some(Ok(frame))) => match frame.trailers_ref().map(header_code) {
                Some(Some(Code::Ok)) => "trailers OK",
                _ => "other trailers",
            },
            Poll::Ready(Some(Err(_))) => "error",
            Poll::Ready(None) => "end",
            Poll::Pending => "pending",
        };
        assert_eq!(
            poll(&mut body),
            "data",
            "what the service had ready goes first"
        );
        assert_eq!(poll(&mut body), "trailers OK");
        assert!(body.call.is_none() && body.is_end_stream());
        assert_eq!(poll(&mut body), "end");
    }

    #[test]
    fn codes_are_named_as_the_specification_says() {
        assert_eq!(code_name(Code::from_bytes(b"0")), "OK");
        assert_eq!(code_name(Code::from_bytes(b"14")), "UNAVAILABLE");
        assert_eq!(code_name(Code::from_bytes(b"3")), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::from_bytes(b"99")), "UNKNOWN");
    }
}
