//! Request bodies on their way through a sidecar: the caller's payload, capped at
//! `--max-body-size`, handed on as a stream with or without a known length.

use bytes::Bytes;
use futures_util::stream::{LocalBoxStream, Stream, StreamExt};
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A body stream error.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body passed `--max-body-size` (dapr/kit's `streams.ErrStreamTooLarge`).
    #[error("stream too large")]
    TooLarge,
    /// The caller's connection failed mid-body.
    #[error("{0}")]
    Payload(String),
}

impl BodyError {
    /// True for [`BodyError::TooLarge`].
    pub fn is_too_large(&self) -> bool {
        matches!(self, BodyError::TooLarge)
    }
}

/// A request body as a stream of chunks.
pub type BodyStream = LocalBoxStream<'static, Result<Bytes, BodyError>>;

/// A request body and what is known of its length.
pub enum RequestBody {
    /// No body (no `Content-Length`, or 0, and not chunked).
    Empty,
    /// `Content-Length: n` (n > 0).
    Sized(u64, BodyStream),
    /// Chunked / unknown length: a "streaming" request in daprd's terms.
    Chunked(BodyStream),
}

impl RequestBody {
    /// True for a chunked body: daprd streams even error responses back for these.
    pub fn is_streaming(&self) -> bool {
        matches!(self, RequestBody::Chunked(_))
    }

    /// The chunks, whatever the length is known to be (none for [`RequestBody::Empty`]).
    pub fn into_stream(self) -> BodyStream {
        match self {
            RequestBody::Empty => futures_util::stream::empty().boxed_local(),
            RequestBody::Sized(_, s) | RequestBody::Chunked(s) => s,
        }
    }
}

/// Caps a stream at `max` bytes: reading past the cap yields [`BodyError::TooLarge`], like
/// dapr/kit's `LimitReadCloser` (no up-front check of `Content-Length`).
pub struct Limited<S> {
    inner: S,
    remaining: u64,
    failed: bool,
}

impl<S> Limited<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, max: u64) -> Self {
        Limited { inner, remaining: max, failed: false }
    }
}

impl<S, E> Stream for Limited<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let n = chunk.len() as u64;
                if n > self.remaining {
                    self.failed = true;
                    return Poll::Ready(Some(Err(BodyError::TooLarge)));
                }
                self.remaining -= n;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.failed = true;
                Poll::Ready(Some(Err(BodyError::Payload(e.to_string()))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A body that can be taken back if the request never started reading it, so a call whose
/// connection failed can be retried with the same body without buffering it.
#[derive(Clone)]
pub struct Reclaimable {
    slot: Rc<RefCell<Option<BodyStream>>>,
    touched: Rc<std::cell::Cell<bool>>,
}

impl Reclaimable {
    /// Puts `stream` in the slot.
    pub fn new(stream: BodyStream) -> Self {
        Reclaimable {
            slot: Rc::new(RefCell::new(Some(stream))),
            touched: Rc::new(std::cell::Cell::new(false)),
        }
    }

    /// A stream reading from the slot; polling it marks the body as touched.
    pub fn stream(&self) -> BodyStream {
        let slot = self.slot.clone();
        let touched = self.touched.clone();
        futures_util::stream::poll_fn(move |cx| {
            touched.set(true);
            match slot.borrow_mut().as_mut() {
                Some(s) => s.poll_next_unpin(cx),
                None => Poll::Ready(None),
            }
        })
        .boxed_local()
    }

    /// True once the body has been polled (a retry would lose data).
    pub fn touched(&self) -> bool {
        self.touched.get()
    }
}

// === impl RequestBody ===

impl RequestBody {
    /// Classifies a request body from its headers and caps it at `max` bytes: chunked →
    /// streaming, `Content-Length: n > 0` → sized, otherwise no body.
    pub fn from_request<S, E>(headers: &actix_web::http::header::HeaderMap, payload: S, max: u64) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + 'static,
        E: std::fmt::Display + 'static,
    {
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let chunked = headers
            .get_all(TRANSFER_ENCODING)
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let limited = Limited::new(payload, max).boxed_local();
        if chunked {
            return RequestBody::Chunked(limited);
        }
        match headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(n) if n > 0 => RequestBody::Sized(n, limited),
            _ => RequestBody::Empty,
        }
    }
}

/// Reads a whole (capped) body into memory: only for the state and metadata APIs, whose bodies
/// daprd decodes whole too and which `--max-body-size` bounds.
pub async fn read_all(body: RequestBody) -> Result<Bytes, BodyError> {
    let mut stream = body.into_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk?);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    #[tokio::test]
    async fn limited_fails_past_the_cap_and_passes_below_it() {
        let chunks =
            || vec![Ok::<_, std::io::Error>(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"de"))];
        let mut ok = Limited::new(stream::iter(chunks()), 5);
        assert_eq!(ok.next().await.unwrap().unwrap(), "abc");
        assert_eq!(ok.next().await.unwrap().unwrap(), "de");
        assert!(ok.next().await.is_none());
        let mut too_big = Limited::new(stream::iter(chunks()), 4);
        assert!(too_big.next().await.unwrap().is_ok());
        assert!(too_big.next().await.unwrap().unwrap_err().is_too_large());
        assert!(too_big.next().await.is_none());
    }

    #[tokio::test]
    async fn reclaimable_reports_whether_it_was_read() {
        let body = Reclaimable::new(stream::iter(vec![Ok(Bytes::from_static(b"x"))]).boxed_local());
        let s = body.stream();
        drop(s);
        assert!(!body.touched());
        let mut s = body.stream();
        assert_eq!(s.next().await.unwrap().unwrap(), "x");
        assert!(body.touched());
    }
}
