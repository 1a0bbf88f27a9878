//! The response body of an observed call: it passes the service's frames through and ends
//! the call's bookkeeping with the code in the trailers (or INTERNAL on an error, UNKNOWN at
//! an end without trailers) the moment they go out. For a stream that never ends by itself
//! (a health `Watch`), once draining begins and the service has nothing more ready, it ends
//! the stream itself with OK trailers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Code;

use super::call::Call;
use super::names::header_code;

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
    pub(super) fn new(
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

#[cfg(test)]
mod tests {
    use tonic::Status;
    use tracing::Span;

    use super::*;

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
            body.call.as_ref().is_some_and(|c| !c.ended()),
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
}
