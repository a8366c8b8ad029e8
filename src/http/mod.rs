//! MCP over streamable HTTP (`--http ADDR:PORT`), opt-in, instead of stdio: rmcp's streamable HTTP transport at
//! `/mcp` (sessions for clients of the 2025 protocol versions, stateless for 2026-07-28 clients), behind this
//! room's own gates, in this order: the route (`/mcp`, or the protected resource metadata), authentication
//! ([`auth`]), the body (bounded in size and time, [`guard::read_body`]), a slot among `--http-max-concurrent` for
//! a call ([`guard::Limiter`]), then rmcp's Host/Origin checks with the lists [`guard`] decides. Each session (or stateless request) gets its own server object from
//! the factory; a request whose client goes away is cancelled, and the call's cancellation reaches the database
//! as over stdio (`server::DsqlServer::call_tool`).

pub mod auth;
pub mod guard;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::config::ServerArgs;
use tokio_util::sync::CancellationToken;

/// The path MCP is served at.
pub const MCP_PATH: &str = "/mcp";
/// How long open connections get to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(5);

/// The HTTP settings, checked: everything that can be refused before listening is refused here.
pub struct Options {
    addr: SocketAddr,
    token: Option<String>,
    issuer: Option<String>,
    resource_url: Option<String>,
    audience: Option<String>,
    allowed_hosts: Option<Vec<String>>,
    allowed_origins: Vec<String>,
    max_body_bytes: usize,
    max_concurrent: usize,
}

impl Options {
    /// The settings `--http` and its companions ask for; `None` without `--http`.
    pub fn from_args(args: &ServerArgs) -> Result<Option<Options>, String> {
        let Some(addr) = args.http.as_deref() else {
            return Ok(None);
        };
        let addr = parse_addr(addr)?;
        let token = auth::read_token(args.http_token_file.as_deref())?;
        let issuer = args.http_oauth_issuer.clone().filter(|s| !s.trim().is_empty());
        if !guard::is_loopback(&addr) && token.is_none() && issuer.is_none() {
            return Err(format!(
                "--http {addr} is reachable from other machines, and no authentication is configured: refusing to \
                 serve the database to anyone who can connect. Give a token with --http-token-file FILE (or {}), \
                 or an authorization server with --http-oauth-issuer URL; or listen on 127.0.0.1",
                auth::TOKEN_ENV
            ));
        }
        if args.http_max_body_bytes == 0 || args.http_max_concurrent == 0 {
            return Err("--http-max-body-bytes and --http-max-concurrent must be greater than 0".into());
        }
        Ok(Some(Options {
            addr,
            token,
            issuer,
            resource_url: args.http_resource_url.clone(),
            audience: args.http_oauth_audience.clone(),
            allowed_hosts: guard::allowed_hosts(&addr, &args.http_allowed_hosts)?,
            allowed_origins: guard::allowed_origins(&addr, &args.http_allowed_origins)?,
            max_body_bytes: args.http_max_body_bytes,
            max_concurrent: args.http_max_concurrent,
        }))
    }
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    let text = match text.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.to_string(),
    };
    text.parse().map_err(|_| {
        format!("--http `{text}` is not ADDRESS:PORT; give e.g. 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080")
    })
}

/// Everything a request is checked against, shared by all connections.
struct App<S: ServerHandler + Send + 'static> {
    mcp: StreamableHttpService<S, LocalSessionManager>,
    auth: auth::Auth,
    limiter: guard::Limiter,
    max_body_bytes: usize,
}

impl<S: ServerHandler + Send + 'static> App<S> {
    async fn handle(&self, request: Request<hyper::body::Incoming>) -> Response<BoxBody<Bytes, Infallible>> {
        let path = request.uri().path();
        if path == auth::METADATA_PATH || path.starts_with(&format!("{}/", auth::METADATA_PATH)) {
            return self.metadata(request.method());
        }
        if path != MCP_PATH {
            return guard::plain(StatusCode::NOT_FOUND, &format!("Not Found: MCP is served at {MCP_PATH}"));
        }
        let principal = match self.auth.check(request.headers()).await {
            Ok(principal) => principal,
            Err(refused) => return *refused,
        };
        if request.method() != Method::POST {
            // A session's event stream (GET) or its end (DELETE): no body, no call of their own.
            return self.mcp.handle(request).await;
        }
        let (mut parts, body) = request.into_parts();
        // rmcp hands the request's parts to the server in each message's extensions: a confirmation is bound to
        // the caller who was asked (`server::confirm`).
        parts.extensions.insert(principal);
        let body = match guard::read_body(body, self.max_body_bytes).await {
            Ok(body) => body,
            Err(refused) => return *refused,
        };
        // Only a request (a call) takes a slot: a notification (a cancel) or a response (the user's answer to a
        // confirmation) must get through when every slot is taken by calls waiting for them.
        let slot = if guard::is_request(&body) {
            match self.limiter.enter() {
                Ok(slot) => Some(slot),
                Err(busy) => return *busy,
            }
        } else {
            None
        };
        let response = self.mcp.handle(Request::from_parts(parts, Full::new(body))).await;
        match slot {
            Some(slot) => response.map(|body| guard::Holding::new(body, slot).boxed()),
            None => response,
        }
    }

    /// RFC 9728's document: public, so clients can find where to get a token.
    fn metadata(&self, method: &Method) -> Response<BoxBody<Bytes, Infallible>> {
        if method != Method::GET {
            let mut r = guard::plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            r.headers_mut().insert(header::ALLOW, http::HeaderValue::from_static("GET"));
            return r;
        }
        match self.auth.metadata() {
            Some(doc) => Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(doc.to_string())).boxed())
                .expect("a valid response"),
            None => guard::plain(
                StatusCode::NOT_FOUND,
                "Not Found: no authorization server is configured (--http-oauth-issuer)",
            ),
        }
    }
}

/// Serve MCP over HTTP until a stop signal or `stopping` is cancelled; each session (or stateless request) gets a
/// server from `make_server`. Cancels `stopping` on the way out, so running calls stop in the database.
/// `describe` is the banner's account of the database and mode.
pub async fn serve<S, F>(options: Options, make_server: F, stopping: CancellationToken, describe: &str) -> ExitCode
where
    S: ServerHandler + Send + 'static,
    F: Fn() -> S + Send + Sync + 'static,
{
    let exe = crate::cli::EXE;
    let listener = match tokio::net::TcpListener::bind(options.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{exe}: cannot listen on {}: {e}", options.addr);
            return ExitCode::from(2);
        }
    };
    let bound = listener.local_addr().unwrap_or(options.addr);
    let resource = options.resource_url.clone().unwrap_or_else(|| format!("http://{bound}{MCP_PATH}"));
    let auth = match auth::Auth::new(options.token, options.issuer.as_deref(), resource, options.audience) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{exe}: {e}");
            return ExitCode::from(2);
        }
    };
    let transport_stop = CancellationToken::new();
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_origins(options.allowed_origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(transport_stop.clone());
    config = match options.allowed_hosts {
        Some(hosts) => config.with_allowed_hosts(hosts),
        None => config.disable_allowed_hosts(),
    };
    let mcp = StreamableHttpService::new(move || Ok(make_server()), Arc::new(LocalSessionManager::default()), config);
    let limiter = guard::Limiter::new(options.max_concurrent);
    let app = Arc::new(App { mcp, auth, limiter, max_body_bytes: options.max_body_bytes });

    // The line tests and people read the address from (the token is never printed).
    eprintln!("{exe}: serving MCP over streamable HTTP at http://{bound}{MCP_PATH} ({})", app.auth.describe());
    // The shared banner names the stdio transport; here the same account of the database and mode is served over HTTP.
    tracing::info!("{}", describe.replacen("on stdin/stdout", "over streamable HTTP", 1));

    let prefetching = app.clone();
    tokio::spawn(async move { prefetching.auth.prefetch().await });

    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = crate::platform::wait_for_stop_signal() => {
                tracing::info!("signal received: shutting down");
                break;
            }
            _ = stopping.cancelled() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: say so, and do not spin.
                tracing::warn!("accepting an HTTP connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Responses go out as several small writes (head, then SSE events): without this, Nagle's algorithm and
        // the client's delayed ACK hold each call's answer ~40 ms (measured).
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(request).await) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(guard::HEADER_DEADLINE)
            .serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("HTTP connection ended: {e}");
            }
        });
    }
    // Running calls stop in the database; sessions and their streams end; connections get a moment to drain.
    stopping.cancel();
    transport_stop.cancel();
    let _ = tokio::time::timeout(DRAIN, connections.shutdown()).await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_ip_and_port_and_localhost_means_loopback() {
        assert_eq!(parse_addr("127.0.0.1:8080").unwrap().port(), 8080);
        assert_eq!(parse_addr("localhost:0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(parse_addr("[::1]:9").unwrap().port(), 9);
        let err = parse_addr("8080").unwrap_err();
        assert!(err.contains("127.0.0.1:8080"), "{err}");
    }
}
