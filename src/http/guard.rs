//! What an HTTP request must pass besides authentication: which Host and Origin headers are allowed (DNS-rebinding
//! protection; rmcp's transport applies the lists, this decides them), how many requests run at once, and how long
//! a client may take to send its body. The body's size limit is rmcp's (`max_request_body_bytes`, 413 beyond).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
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

/// The whole request body: at most `max` bytes (413 beyond, before anything is parsed) and within
/// [`BODY_DEADLINE`] (408 after: a client trickling its body cannot hold a connection forever).
pub async fn read_body<B>(body: B, max: usize) -> Result<Bytes, Box<Response<BoxBody<Bytes, Infallible>>>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(BODY_DEADLINE, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Box::new(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Payload Too Large: request body exceeds {max} bytes"),
        ))),
        Ok(Err(e)) => Err(Box::new(plain(StatusCode::BAD_REQUEST, &format!("Bad Request: reading the body: {e}")))),
        Err(_) => Err(Box::new(plain(
            StatusCode::REQUEST_TIMEOUT,
            &format!("Request Timeout: the body did not arrive within {} s", BODY_DEADLINE.as_secs()),
        ))),
    }
}

/// Whether a body holds a JSON-RPC request (a method and an id), alone or in a batch; what cannot be read counts
/// as one (rmcp refuses it anyway).
pub fn is_request(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        id: Option<serde::de::IgnoredAny>,
        method: Option<serde::de::IgnoredAny>,
    }
    let one = |p: &Probe| p.id.is_some() && p.method.is_some();
    if let Ok(p) = serde_json::from_slice::<Probe>(body) {
        return one(&p);
    }
    match serde_json::from_slice::<Vec<Probe>>(body) {
        Ok(batch) => batch.iter().any(one),
        Err(_) => true,
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
    async fn bodies_are_bounded_in_size_and_only_requests_count_as_calls() {
        assert_eq!(read_body(Full::new(Bytes::from_static(b"{}")), 2).await.unwrap(), Bytes::from_static(b"{}"));
        let over = read_body(Full::new(Bytes::from_static(b"{}x")), 2).await.unwrap_err();
        assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(is_request(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#));
        assert!(!is_request(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}"#));
        assert!(!is_request(br#"{"jsonrpc":"2.0","id":0,"result":{"action":"accept"}}"#));
        assert!(is_request(br#"[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#));
        assert!(is_request(b"not json"));
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
