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
//!
//! Here: the layer and its service. Beside it: `draining` (the switch), `call` (one call's
//! bookkeeping, ended once), `body` (the response body that ends it) and `names` (method and
//! status code names).

mod body;
mod call;
mod draining;
mod names;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::Status;
use tracing::{field, Instrument as _};

pub use draining::Draining;
pub(super) use names::code_name;

use super::calls::{CallAudit, CallNote};
use super::identify::{Credential, Peer, Registry};
use crate::auth;
use crate::store::Store;
use body::Observed;
use call::Call;
use names::{header_code, is_health, method_name};

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

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

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
}
