//! What an HTTP request must pass besides authentication: which Host and Origin headers are allowed (DNS-rebinding
//! protection; rmcp's transport applies the lists, this decides them), how many requests run at once, and how long
//! a client may take to send its body. The body's size limit is rmcp's (`max_request_body_bytes`, 413 beyond).

use std::convert::Infallible;
use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a client has to send a request's whole body once its headers arrived.
pub const BODY_DEADLINE: Duration = Duration::from_secs(30);
/// How long a client has to send a request's headers.
pub const HEADER_DEADLINE: Duration = Duration::from_secs(10);

/// Host names a loopback listener answers to by default.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// Browser origins a loopback listener accepts by default (any port: local tools such as the Inspector's UI).
const LOOPBACK_ORIGINS: [&str; 3] = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// Whether `addr` is reachable only from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// The Host values accepted, or `None` for any (`*`). On a loopback address the loopback names are always
/// accepted; on any other the user must name the hosts clients use: without them every request would be refused.
pub fn allowed_hosts(addr: &SocketAddr, given: &[String]) -> Result<Option<Vec<String>>, String> {
    let given: Vec<String> = given.iter().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect();
    if given.iter().any(|h| h == "*") {
        return Ok(None);
    }
    if let Some(bad) = given.iter().find(|h| h.contains('/') || h.contains(' ')) {
        return Err(format!(
            "--http-allowed-hosts: `{bad}` is not a host name; give names like mcp.example.com or mcp.example.com:8443"
        ));
    }
    let mut hosts: Vec<String> = Vec::new();
    if is_loopback(addr) {
        hosts.extend(LOOPBACK_HOSTS.iter().map(|h| h.to_string()));
    } else if given.is_empty() {
        return Err(format!(
            "--http {addr} is not a loopback address, so the Host names clients use must be listed (DNS-rebinding \
             protection): add --http-allowed-hosts with them, e.g. --http-allowed-hosts mcp.example.com,{}",
            addr.ip()
        ));
    }
    hosts.extend(given);
    Ok(Some(hosts))
}

/// The browser origins accepted: loopback ones on a loopback address, plus those given. Requests without an
/// Origin header (every non-browser client) are not affected.
pub fn allowed_origins(addr: &SocketAddr, given: &[String]) -> Result<Vec<String>, String> {
    let mut origins: Vec<String> = Vec::new();
    if is_loopback(addr) {
        origins.extend(LOOPBACK_ORIGINS.iter().map(|o| o.to_string()));
    }
    for o in given.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        if o != "null" && !(o.starts_with("http://") || o.starts_with("https://")) {
            return Err(format!(
                "--http-allowed-origins: `{o}` is not an origin; give scheme://host[:port], e.g. https://app.example.com"
            ));
        }
        origins.push(o.to_string());
    }
    Ok(origins)
}

/// A response with a plain-text body.
pub fn plain(status: StatusCode, text: &str) -> Response<BoxBody<Bytes, Infallible>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(text.to_string())).boxed())
        .expect("a valid response")
}

/// At most this many requests served at once; the others are told to come back (503 with Retry-After).
pub struct Limiter {
    slots: Arc<Semaphore>,
    max: usize,
}

impl Limiter {
    /// A limiter of `max` slots.
    pub fn new(max: usize) -> Limiter {
        Limiter { slots: Arc::new(Semaphore::new(max)), max }
    }

    /// A slot, held until the response's body has been sent (or dropped); or the 503 to send instead.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, Box<Response<BoxBody<Bytes, Infallible>>>> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            let mut r = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("Service Unavailable: {} requests are being served already; retry shortly", self.max),
            );
            r.headers_mut().insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
            Box::new(r)
        })
    }
}

/// A response body that keeps a concurrency slot until it is finished or dropped (an SSE stream holds its slot
/// while its call runs).
pub struct Holding {
    inner: BoxBody<Bytes, Infallible>,
    _slot: OwnedSemaphorePermit,
}

impl Holding {
    /// `inner`, keeping `slot` until it is done.
    pub fn new(inner: BoxBody<Bytes, Infallible>, slot: OwnedSemaphorePermit) -> Holding {
        Holding { inner, _slot: slot }
    }
}

impl Body for Holding {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that fails once [`BODY_DEADLINE`] has passed before its end: a client trickling its body cannot
/// keep a slot forever.
pub struct Deadlined<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<B> Deadlined<B> {
    /// `inner`, due by [`BODY_DEADLINE`] from now.
    pub fn new(inner: B) -> Deadlined<B> {
        Deadlined::within(inner, BODY_DEADLINE)
    }

    /// `inner`, due within `limit` from now.
    pub fn within(inner: B, limit: Duration) -> Deadlined<B> {
        Deadlined { inner, deadline: Box::pin(tokio::time::sleep(limit)) }
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The deadline passed first.
    TooSlow,
    /// The connection failed.
    Read(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooSlow => write!(f, "the request body did not arrive within {} s", BODY_DEADLINE.as_secs()),
            BodyError::Read(e) => write!(f, "reading the request body: {e}"),
        }
    }
}

impl<B> Body for Deadlined<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyError::TooSlow)));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Read(e.to_string())))),
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_loopback_listener_answers_to_loopback_names_and_others_only_to_names_given() {
        let hosts = allowed_hosts(&addr("127.0.0.1:0"), &[]).unwrap().unwrap();
        assert_eq!(hosts, ["localhost", "127.0.0.1", "::1"]);
        let err = allowed_hosts(&addr("0.0.0.0:8080"), &[]).unwrap_err();
        assert!(err.contains("--http-allowed-hosts"), "{err}");
        let hosts = allowed_hosts(&addr("0.0.0.0:8080"), &["mcp.example.com".into()]).unwrap().unwrap();
        assert_eq!(hosts, ["mcp.example.com"]);
        assert_eq!(allowed_hosts(&addr("0.0.0.0:8080"), &["*".into()]).unwrap(), None);
        assert!(allowed_hosts(&addr("127.0.0.1:1"), &["https://x".into()]).is_err());
    }

    #[test]
    fn origins_need_a_scheme_and_loopback_ones_are_allowed_only_on_loopback() {
        assert_eq!(allowed_origins(&addr("127.0.0.1:0"), &[]).unwrap().len(), 3);
        assert!(allowed_origins(&addr("10.0.0.1:80"), &[]).unwrap().is_empty());
        let o = allowed_origins(&addr("10.0.0.1:80"), &["https://app.example.com".into()]).unwrap();
        assert_eq!(o, ["https://app.example.com"]);
        assert!(allowed_origins(&addr("10.0.0.1:80"), &["app.example.com".into()]).is_err());
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_in_time_fails() {
        let never = http_body_util::StreamBody::new(futures::stream::pending::<Result<Frame<Bytes>, Infallible>>());
        let mut body = Deadlined::within(never, Duration::from_millis(10));
        let got = body.frame().await.map(|f| f.map(|_| ()));
        assert!(matches!(got, Some(Err(BodyError::TooSlow))), "{got:?}");
        let whole = Deadlined::new(Full::new(Bytes::from_static(b"{}"))).collect().await.unwrap();
        assert_eq!(whole.to_bytes(), Bytes::from_static(b"{}"));
    }

    #[tokio::test]
    async fn slots_run_out_and_come_back_when_a_response_is_dropped() {
        let limiter = Limiter::new(1);
        let first = limiter.enter().expect("a slot");
        let refused = limiter.enter().expect_err("no slot");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        let held = Holding::new(Full::new(Bytes::new()).boxed(), first);
        assert!(limiter.enter().is_err(), "the body holds the slot");
        drop(held);
        assert!(limiter.enter().is_ok());
    }
}
