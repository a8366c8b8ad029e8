//! `--http`: the real binary serving MCP over streamable HTTP on 127.0.0.1 (port 0; the address is read from the
//! banner on stderr), driven with raw HTTP: authentication (static token, JWTs from a test authorization server
//! with its own JWKS endpoint), Host/Origin, body and startup refusals, sessions (2025) and stateless requests
//! (2026-07-28), elicitation and `input_required` confirmations, a dropped request's query cancelled in the
//! database (seen in pg_stat_activity on a separate connection), the official conformance suite's server scenarios
//! and the Inspector CLI `--strict` against the URL. The two npm tools come from MCP_CONFORMANCE and
//! MCP_INSPECTOR (.ci/run installs both, with Node 22 on PATH); without them those tests say SKIPPED, and fail
//! under CI=true.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef0123456789abcdef-test-token";
const MODERN: &str = "2026-07-28";

/// The server binary serving HTTP; stopped with SIGTERM on drop.
struct HttpServer {
    child: Child,
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl HttpServer {
    fn start(args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        match Self::try_start(args, env) {
            Ok(s) => s,
            Err((code, stderr)) => panic!("server exited ({code:?}) before serving:\n{stderr}"),
        }
    }

    /// The server, or its exit code and stderr when it refuses to start.
    fn try_start(args: &[&str], env: &[(&str, &str)]) -> Result<HttpServer, (Option<i32>, String)> {
        let mut cmd = Command::new(common::BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AURORA_DSQL_MCP_LOG", "info,rmcp=warn")
            .env_remove("AURORA_DSQL_MCP_HTTP_TOKEN")
            .env_remove("AURORA_DSQL_DATABASE_URL");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the server");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = channel();
        let pipe = child.stderr.take().unwrap();
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                kept.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(at) = line.find("streamable HTTP at ") {
                    let url = line[at + 19..].split_whitespace().next().unwrap_or_default().to_string();
                    let _ = tx.send(Some(url));
                }
            }
            let _ = tx.send(None);
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(url)) => Ok(HttpServer { child, url, stderr }),
            _ => {
                let status = child.wait().expect("wait");
                // The reader thread has seen everything once the pipe closed.
                let _ = rx.recv_timeout(Duration::from_secs(10));
                Err((status.code(), stderr.lock().unwrap().clone()))
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        #[cfg(unix)]
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        #[cfg(not(unix))]
        let _ = self.child.kill();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the HTTP server did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One HTTP answer: status, headers, and the JSON-RPC messages of its body (JSON or SSE).
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    text: String,
}

impl Answer {
    fn messages(&self) -> Vec<Value> {
        if self.headers.get("content-type").is_some_and(|c| c.to_str().unwrap().starts_with("application/json")) {
            return vec![serde_json::from_str(&self.text).expect("JSON body")];
        }
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| serde_json::from_str(d).expect("JSON in an SSE event"))
            .collect()
    }

    /// The response to request `id` in the body.
    fn response(&self, id: i64) -> Value {
        self.messages()
            .into_iter()
            .find(|m| m["id"] == json!(id) && (m.get("result").is_some() || m.get("error").is_some()))
            .unwrap_or_else(|| panic!("no response to {id} in HTTP {}: {}", self.status, self.text))
    }

    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// POST `body` to `url` with `headers` (plus the content type and accept headers MCP requires) and read it all.
fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    rt().block_on(async {
        let mut req = http::Request::post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let resp = client().request(req).await.expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = tokio::time::timeout(Duration::from_secs(120), resp.into_body().collect())
            .await
            .expect("the body ends")
            .expect("body")
            .to_bytes();
        Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    })
}

fn get(url: &str) -> Answer {
    rt().block_on(async {
        let req = http::Request::get(url).body(Full::new(Bytes::new())).unwrap();
        let resp = client().request(req).await.expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    })
}

fn rpc(id: i64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn initialize(capabilities: Value) -> String {
    rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": capabilities,
               "clientInfo": {"name": "http-test", "version": "0"}}),
    )
}

/// A 2025 session: initialize (+ initialized); returns the session id.
fn open_session(url: &str, auth: &[(&str, &str)], capabilities: Value) -> String {
    let a = post(url, auth, &initialize(capabilities));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.response(1)["result"]["protocolVersion"], "2025-06-18", "{}", a.text);
    let session = a.header("mcp-session-id");
    assert!(!session.is_empty(), "a session id is given");
    let mut headers = auth.to_vec();
    headers.push(("mcp-session-id", &session));
    headers.push(("mcp-protocol-version", "2025-06-18"));
    let n = post(url, &headers, &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());
    assert_eq!(n.status, 202, "{}", n.text);
    session
}

/// The `_meta` of a 2026-07-28 request.
fn modern_meta(capabilities: Value) -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": MODERN,
           "io.modelcontextprotocol/clientInfo": {"name": "http-test", "version": "0"},
           "io.modelcontextprotocol/clientCapabilities": capabilities})
}

/// A stateless 2026-07-28 tools/call; returns the result.
fn modern_call(url: &str, auth: &[(&str, &str)], tool: &str, args: Value, extra: Value) -> Value {
    let mut params =
        json!({"_meta": modern_meta(json!({"elicitation": {"form": {}}})), "name": tool, "arguments": args});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let mut headers = auth.to_vec();
    // SEP-2243: a 2026-07-28 request names its method and tool in headers too.
    headers.extend([("mcp-protocol-version", MODERN), ("mcp-method", "tools/call"), ("mcp-name", tool)]);
    let a = post(url, &headers, &rpc(7, "tools/call", params));
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.header("mcp-session-id").is_empty(), "2026-07-28 requests are stateless");
    let r = a.response(7);
    assert!(r.get("error").is_none(), "{r}");
    r["result"].clone()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn the_token_is_required_checked_and_never_printed_and_the_guards_refuse_what_they_must() {
    let s = HttpServer::start(
        &["--http", "127.0.0.1:0", "--http-max-body-bytes", "4096"],
        // Every crate at trace: the token must not show even where the whole request is logged.
        &[("AURORA_DSQL_MCP_HTTP_TOKEN", TOKEN), ("AURORA_DSQL_MCP_LOG", "trace,rmcp=trace,hyper=trace,h2=trace")],
    );
    let auth = bearer(TOKEN);
    let good = [("authorization", auth.as_str())];

    // No token, a wrong one, a prefix of the right one: 401 with a Bearer challenge.
    let none = post(&s.url, &[], &initialize(json!({})));
    assert_eq!(none.status, 401, "{}", none.text);
    assert!(none.header("www-authenticate").starts_with("Bearer "), "{}", none.header("www-authenticate"));
    for wrong in [bearer("not-the-token-but-long-enough-to-be-one"), bearer(&TOKEN[..TOKEN.len() - 1])] {
        let a = post(&s.url, &[("authorization", &wrong)], &initialize(json!({})));
        assert_eq!(a.status, 401, "{}", a.text);
        assert!(a.header("www-authenticate").contains("error=\"invalid_token\""), "{}", a.header("www-authenticate"));
    }
    // Every request, not only the first: a session's later requests need it too.
    let session = open_session(&s.url, &good, json!({}));
    let list = rpc(2, "tools/list", json!({}));
    let a = post(&s.url, &[("mcp-session-id", &session), ("mcp-protocol-version", "2025-06-18")], &list);
    assert_eq!(a.status, 401);
    let a = post(&s.url, &[good[0], ("mcp-session-id", &session), ("mcp-protocol-version", "2025-06-18")], &list);
    let tools = a.response(2)["result"]["tools"].as_array().cloned().unwrap_or_default();
    assert!(tools.iter().any(|t| t["name"] == "readonly_query"), "{}", a.text);

    // A stateless 2026-07-28 call with the token.
    let r =
        modern_call(&s.url, &good, "dsql_lint", json!({"sql": "CREATE TABLE t (id serial PRIMARY KEY)"}), json!({}));
    assert_eq!(r["isError"], false, "{r}");

    // A foreign Origin (a web page's request, or DNS rebinding) is refused even with the token; a foreign Host too.
    let a = post(&s.url, &[good[0], ("origin", "https://evil.example")], &initialize(json!({})));
    assert_eq!(a.status, 403, "{}", a.text);
    let a = post(&s.url, &[good[0], ("origin", "http://localhost:6274")], &initialize(json!({})));
    assert_eq!(a.status, 200, "a loopback origin is fine on a loopback address: {}", a.text);
    let a = post(&s.url, &[good[0], ("host", "evil.example:80")], &initialize(json!({})));
    assert_eq!(a.status, 403, "{}", a.text);

    // A JSON body over --http-max-body-bytes: 413, nothing parsed.
    let big = rpc(3, "tools/call", json!({"name": "dsql_lint", "arguments": {"sql": "x".repeat(5000)}}));
    let a = post(&s.url, &[good[0], ("mcp-session-id", &session), ("mcp-protocol-version", "2025-06-18")], &big);
    assert_eq!(a.status, 413, "{}", a.text);

    // Other paths are not served; the metadata is absent without an authorization server.
    assert_eq!(post(&format!("{}x", s.url), &good, "{}").status, 404);
    assert_eq!(get(&s.url.replace("/mcp", "/.well-known/oauth-protected-resource")).status, 404);

    // The banner names the URL and that a token is required; the token is nowhere on stderr.
    let log = s.stderr();
    assert!(log.contains("bearer token required"), "{log}");
    assert!(!log.contains(TOKEN) && !log.contains(&TOKEN[..16]), "the token leaked to stderr:\n{log}");
}

/// Arguments, environment, and a phrase the refusal must contain.
type Refusal = (Vec<String>, Vec<(&'static str, String)>, &'static str);

#[test]
fn the_server_refuses_to_start_when_it_would_be_open_or_the_token_is_weak() {
    let cases: Vec<Refusal> = {
        let dir = tempfile::tempdir().unwrap().keep();
        let weak = dir.join("weak");
        std::fs::write(&weak, "short\n").unwrap();
        let shared = dir.join("shared");
        std::fs::write(&shared, format!("{TOKEN}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&weak, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let mut cases = vec![
            (s(&["--http", "0.0.0.0:0"]), vec![], "--http-token-file"),
            (s(&["--http", "127.0.0.1:0", "--http-token-file", weak.to_str().unwrap()]), vec![], "openssl rand"),
            (s(&["--http", "8080"]), vec![], "127.0.0.1:8080"),
            (
                s(&["--http", "0.0.0.0:0"]),
                vec![("AURORA_DSQL_MCP_HTTP_TOKEN", TOKEN.to_string())],
                "--http-allowed-hosts",
            ),
        ];
        if cfg!(unix) {
            cases.push((
                s(&["--http", "127.0.0.1:0", "--http-token-file", shared.to_str().unwrap()]),
                vec![],
                "chmod 600",
            ));
        }
        cases
    };
    for (args, env, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match HttpServer::try_start(&args, &env) {
            Ok(_) => panic!("{args:?} started"),
            Err((code, stderr)) => {
                assert_eq!(code, Some(2), "{args:?}: {stderr}");
                assert!(stderr.contains(says), "{args:?} should say {says}: {stderr}");
            }
        }
    }
    // With a token and the host names, a non-loopback address is served.
    let s = HttpServer::start(
        &["--http", "0.0.0.0:0", "--http-allowed-hosts", "mcp.example.test"],
        &[("AURORA_DSQL_MCP_HTTP_TOKEN", TOKEN)],
    );
    let url = s.url.replace("0.0.0.0", "127.0.0.1");
    let auth = bearer(TOKEN);
    let a = post(&url, &[("authorization", &auth), ("host", "mcp.example.test")], &initialize(json!({})));
    assert_eq!(a.status, 200, "{}", a.text);
    let a = post(&url, &[("authorization", &auth)], &initialize(json!({})));
    assert_eq!(a.status, 403, "an unlisted Host (127.0.0.1) is refused: {}", a.text);
}

// ---- OAuth: a test authorization server (metadata + JWKS over plain HTTP on 127.0.0.1) ----

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

struct TestIssuer {
    url: String,
    key: rcgen::KeyPair,
    fetches: Arc<AtomicUsize>,
}

impl TestIssuer {
    fn start() -> TestIssuer {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = key.public_key_raw().to_vec();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64url(&raw[1..33]), "y": b64url(&raw[33..65]),
                         "kid": "k1", "alg": "ES256", "use": "sig"});
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let (issuer, counted) = (url.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let body = match path {
                    "/.well-known/oauth-authorization-server" => {
                        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"),
                               "authorization_endpoint": format!("{issuer}/authorize"),
                               "token_endpoint": format!("{issuer}/token")})
                    }
                    "/jwks" => {
                        counted.fetch_add(1, Ordering::SeqCst);
                        json!({"keys": [jwk]})
                    }
                    _ => Value::Null,
                };
                let (status, body) =
                    if body.is_null() { ("404 Not Found", String::new()) } else { ("200 OK", body.to_string()) };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TestIssuer { url, key, fetches }
    }

    fn jwt(&self, claims: Value, key: Option<&rcgen::KeyPair>) -> String {
        let key = key.unwrap_or(&self.key);
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".into());
        let signing = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
        jsonwebtoken::encode(&header, &claims, &signing).unwrap()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn jwts_from_the_configured_issuer_are_validated_and_the_metadata_points_at_it() {
    let issuer = TestIssuer::start();
    let resource = "https://mcp.example.test/mcp";
    let s = HttpServer::start(
        &["--http", "127.0.0.1:0", "--http-oauth-issuer", &issuer.url, "--http-resource-url", resource],
        &[],
    );
    // RFC 9728 metadata at the path-suffixed and the plain well-known location.
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let m = get(&s.url.replace("/mcp", path));
        assert_eq!(m.status, 200, "{path}: {}", m.text);
        let doc: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(doc["resource"], resource);
        assert_eq!(doc["authorization_servers"], json!([issuer.url]));
    }
    let none = post(&s.url, &[], &initialize(json!({})));
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .contains("resource_metadata=\"https://mcp.example.test/.well-known/oauth-protected-resource/mcp\""),
        "{}",
        none.header("www-authenticate")
    );

    let claims =
        |aud: &str, exp: u64| json!({"iss": issuer.url, "aud": aud, "sub": "alice", "exp": exp, "nbf": now() - 5});
    let good = issuer.jwt(claims(resource, now() + 300), None);
    let a = post(&s.url, &[("authorization", &bearer(&good))], &initialize(json!({})));
    assert_eq!(a.status, 200, "a valid JWT: {}", a.text);
    assert_eq!(a.response(1)["result"]["serverInfo"]["name"], "aurora-dsql-mcp-server");

    let other_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let wrong_issuer = json!({"iss": "https://other.example", "aud": resource, "exp": now() + 300});
    for (what, jwt, says) in [
        ("expired", issuer.jwt(claims(resource, now() - 600), None), "expired"),
        ("wrong audience", issuer.jwt(claims("https://elsewhere.example/mcp", now() + 300), None), "audience"),
        ("wrong signature", issuer.jwt(claims(resource, now() + 300), Some(&other_key)), "signature"),
        ("wrong issuer", issuer.jwt(wrong_issuer, None), "issuer"),
        ("no exp", issuer.jwt(json!({"iss": issuer.url, "aud": resource}), None), "exp"),
        (
            "a shared-secret algorithm",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims(resource, now() + 300),
                &jsonwebtoken::EncodingKey::from_secret(b"anyone can sign with a guessed secret"),
            )
            .unwrap(),
            "HS",
        ),
    ] {
        let a = post(&s.url, &[("authorization", &bearer(&jwt))], &initialize(json!({})));
        assert_eq!(a.status, 401, "{what}: {}", a.text);
        let challenge = a.header("www-authenticate");
        assert!(challenge.contains("invalid_token") && challenge.contains(says), "{what}: {challenge}");
    }
    // The keys were fetched once and cached; the unknown-kid refetch is rate-limited (all JWTs here say k1).
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
    assert!(!s.stderr().contains(&good[..40]), "the JWT leaked to stderr");
}

// ---- Confirmation of destructive statements over HTTP ----

/// A POST of `body` on a 2025-06-18 session.
fn session_post(url: &str, session: &str, body: String) -> http::Request<Full<Bytes>> {
    http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// A POST whose SSE body is read as it comes: the server's requests on it are answered with further POSTs.
fn call_answering_elicitations(url: &str, session: &str, call: String, reply: Value) -> (Vec<Value>, Value) {
    rt().block_on(async {
        let c = client();
        let req = session_post(url, session, call);
        let resp = c.request(req).await.expect("HTTP request");
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let (mut buffer, mut asked) = (String::new(), Vec::new());
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(120), body.frame())
                .await
                .expect("the server answers")
                .expect("the stream goes on until the response")
                .expect("a frame");
            let Ok(data) = frame.into_data() else { continue };
            buffer.push_str(&String::from_utf8_lossy(&data));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                for data in event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim) {
                    let Ok(m) = serde_json::from_str::<Value>(data) else { continue };
                    if m["method"] == "elicitation/create" {
                        asked.push(m.clone());
                        let answer = json!({"jsonrpc": "2.0", "id": m["id"], "result": reply}).to_string();
                        let req = session_post(url, session, answer);
                        let r = c.request(req).await.expect("answer the elicitation");
                        assert_eq!(r.status(), 202);
                    } else if m.get("result").is_some() || m.get("error").is_some() {
                        return (asked, m);
                    }
                }
            }
        }
    })
}

fn local_server(extra: &[&str]) -> HttpServer {
    let dir = format!("--local={}", common::sandbox_dir().display());
    let mut args = vec!["--http", "127.0.0.1:0", dir.as_str(), "--allow-writes"];
    args.extend_from_slice(extra);
    HttpServer::start(&args, &[])
}

fn session_call(url: &str, session: &str, id: i64, tool: &str, args: Value) -> Value {
    let a = post(
        url,
        &[("mcp-session-id", session), ("mcp-protocol-version", "2025-06-18")],
        &rpc(id, "tools/call", json!({"name": tool, "arguments": args})),
    );
    a.response(id)["result"].clone()
}

fn table_exists(url: &str, session: &str, t: &str) -> bool {
    let r = session_call(
        url,
        session,
        90,
        "readonly_query",
        json!({"sql": format!("SELECT to_regclass('{t}') IS NOT NULL AS e")}),
    );
    r["structuredContent"]["result"][0]["e"] == json!(true)
}

#[test]
fn destructive_statements_are_confirmed_over_http_as_over_stdio() {
    let s = local_server(&[]);
    // A 2025 client that can answer forms: asked through its session's SSE stream.
    let session = open_session(&s.url, &[], json!({"elicitation": {"form": {}}}));
    let t = common::table("http_confirm");
    let r = session_call(
        &s.url,
        &session,
        2,
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}),
    );
    assert_eq!(r["isError"], false, "{r}");
    let drop =
        rpc(3, "tools/call", json!({"name": "transact", "arguments": {"sql_list": [format!("DROP TABLE {t}")]}}));
    let (asked, answer) = call_answering_elicitations(&s.url, &session, drop.clone(), json!({"action": "decline"}));
    assert_eq!(asked.len(), 1, "asked once: {asked:?}");
    assert!(asked[0]["params"]["message"].as_str().unwrap().contains(&t), "{asked:?}");
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(table_exists(&s.url, &session, &t), "declined: nothing ran");
    let (asked, answer) = call_answering_elicitations(
        &s.url,
        &session,
        drop,
        json!({"action": "accept", "content": {"confirm_destructive": true}}),
    );
    assert_eq!(asked.len(), 1);
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    assert!(!table_exists(&s.url, &session, &t), "confirmed: dropped");

    // A stateless 2026-07-28 client: an input_required result, then the call again with the answer.
    let t = common::table("http_confirm");
    let r = session_call(
        &s.url,
        &session,
        4,
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}),
    );
    assert_eq!(r["isError"], false, "{r}");
    let args = json!({"sql_list": [format!("DROP TABLE {t}")]});
    let asked = modern_call(&s.url, &[], "transact", args.clone(), json!({}));
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    assert!(table_exists(&s.url, &session, &t), "asking runs nothing");
    let yes = json!({"action": "accept", "content": {"confirm_destructive": true}});
    let done = modern_call(
        &s.url,
        &[],
        "transact",
        args,
        json!({"requestState": asked["requestState"], "inputResponses": {"confirm_destructive": yes}}),
    );
    assert_eq!(done["isError"], false, "{done}");
    assert!(!table_exists(&s.url, &session, &t), "confirmed over a second, independent request");
}

#[test]
fn a_confirmation_answers_only_the_caller_it_was_asked_of() {
    // Alice and Bob hold valid JWTs from the same issuer; the static token is valid too. Alice is asked; neither
    // Bob nor the token holder can answer her question with her requestState, and her own answer still works.
    let issuer = TestIssuer::start();
    let resource = "https://mcp.example.test/mcp";
    let sandbox = format!("--local={}", common::sandbox_dir().display());
    let audit_dir = tempfile::tempdir().unwrap();
    let audit = audit_dir.path().join("calls.jsonl");
    let audit_flag = format!("--audit-log={}", audit.display());
    let s = HttpServer::start(
        &[
            "--http",
            "127.0.0.1:0",
            sandbox.as_str(),
            "--allow-writes",
            audit_flag.as_str(),
            "--http-oauth-issuer",
            &issuer.url,
            "--http-resource-url",
            resource,
        ],
        &[("AURORA_DSQL_MCP_HTTP_TOKEN", TOKEN)],
    );
    let jwt_of = |sub: &str| {
        bearer(&issuer.jwt(json!({"iss": issuer.url, "aud": resource, "sub": sub, "exp": now() + 600}), None))
    };
    let (alice, bob, token) = (jwt_of("alice"), jwt_of("bob"), bearer(TOKEN));
    let as_alice = [("authorization", alice.as_str())];
    let t = common::table("http_principal");
    let exists = || {
        let sql = format!("SELECT to_regclass('{t}') IS NOT NULL AS e");
        let r = modern_call(&s.url, &as_alice, "readonly_query", json!({"sql": sql}), json!({}));
        r["structuredContent"]["result"][0]["e"] == json!(true)
    };
    let r = modern_call(
        &s.url,
        &as_alice,
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}),
        json!({}),
    );
    assert_eq!(r["isError"], false, "{r}");
    let args = json!({"sql_list": [format!("DROP TABLE {t}")]});
    let asked = modern_call(&s.url, &as_alice, "transact", args.clone(), json!({}));
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let yes = json!({"action": "accept", "content": {"confirm_destructive": true}});
    let answer = json!({"requestState": asked["requestState"], "inputResponses": {"confirm_destructive": yes}});

    for (who, credential) in [("bob", &bob), ("the token holder", &token)] {
        let r = modern_call(&s.url, &[("authorization", credential)], "transact", args.clone(), answer.clone());
        assert_eq!(r["isError"], true, "{who} answered alice's question: {r}");
        assert!(r.to_string().contains("issued to another caller"), "{who}: {r}");
        assert!(exists(), "{who}'s answer ran nothing");
    }
    let done = modern_call(&s.url, &as_alice, "transact", args, answer);
    assert_eq!(done["isError"], false, "alice's own answer still works after the refusals: {done}");
    assert!(!exists(), "confirmed by alice: dropped");

    // The audit log says who made each call: the JWT's issuer and subject, or the token's holder.
    let log = std::fs::read_to_string(&audit).expect("audit log");
    let transacts: Vec<(String, String, String)> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|l| l["tool"] == "transact")
        .map(|l| {
            let field = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (field("caller"), field("outcome"), field("confirmation"))
        })
        .collect();
    let jwt = |sub: &str| format!("jwt:{}", json!([issuer.url, sub]));
    let callers: Vec<&str> = transacts.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(callers, [jwt("alice"), jwt("alice"), jwt("bob"), "token".into(), jwt("alice")], "{log}");
    assert!(transacts[2..4].iter().all(|(_, outcome, _)| outcome != "committed"), "{log}");
    assert_eq!((transacts[4].1.as_str(), transacts[4].2.as_str()), ("committed", "accepted"), "{log}");
}

#[test]
fn a_client_that_cannot_be_asked_gets_what_confirm_destructive_says() {
    for (policy, runs) in [("refuse", false), ("ask", true)] {
        let s = local_server(&["--confirm-destructive", policy]);
        let session = open_session(&s.url, &[], json!({}));
        let t = common::table("http_noask");
        session_call(
            &s.url,
            &session,
            2,
            "transact",
            json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}),
        );
        let r = session_call(&s.url, &session, 3, "transact", json!({"sql_list": [format!("DROP TABLE {t}")]}));
        assert_eq!(r["isError"], !runs, "{policy}: {r}");
        assert_eq!(table_exists(&s.url, &session, &t), !runs, "{policy}");
    }
}

// ---- Cancellation: a client that goes away does not leave its query running ----

fn sandbox_sleepers(marker: &str) -> i64 {
    use aurora_dsql_mcp_server::emulation::sandbox;
    let dir = common::sandbox_dir().canonicalize().unwrap();
    let conninfo = format!(
        "host={} port={} user={} dbname=postgres sslmode=disable",
        sandbox::socket_dir_for(&dir).display(),
        sandbox::SANDBOX_PORT,
        sandbox::SANDBOX_SYS_USER
    );
    rt().block_on(async {
        let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
        let conn = tokio::spawn(conn);
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() \
                 AND query LIKE $1",
                &[&format!("%{marker}%")],
            )
            .await
            .expect("pg_stat_activity");
        drop(client);
        let _ = conn.await;
        row.get::<_, i64>(0)
    })
}

/// Polls `f` until it is true; the bound is a safety net, the loop waits for the event itself.
fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within 60 s");
}

/// A query that runs for many minutes, tagged with `marker` to find it in pg_stat_activity.
fn long_query(marker: &str) -> String {
    format!("SELECT count(*) AS n, '{marker}' AS tag FROM generate_series(1, 20000000000) g")
}

/// Sends a POST on a raw connection and returns the connection without reading the answer.
fn send_raw(url: &str, extra_headers: &str, body: &str) -> std::net::TcpStream {
    let addr = url.trim_start_matches("http://").trim_end_matches("/mcp").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\n{extra_headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream
}

#[test]
fn a_dropped_request_or_an_ended_session_cancels_its_query_in_the_database() {
    // A time budget far beyond the test: only a cancellation can end the queries early.
    // One slot: the running call holds it, so the bound on concurrent calls is seen too.
    let s = local_server(&["--statement-timeout", "600", "--http-max-concurrent", "1"]);
    let r = modern_call(&s.url, &[], "readonly_query", json!({"sql": "SELECT 1 AS one"}), json!({}));
    assert_eq!(r["isError"], false, "the sandbox is up: {r}");
    let list = rpc(8, "tools/list", json!({"_meta": modern_meta(json!({}))}));
    let modern_list = [("mcp-protocol-version", MODERN), ("mcp-method", "tools/list")];

    // 2026-07-28 (stateless): the request is the call; closing its connection cancels it.
    let marker = "http_cancel_stateless";
    let call = json!({"_meta": modern_meta(json!({})), "name": "readonly_query",
                      "arguments": {"sql": long_query(marker)}});
    let stream = send_raw(
        &s.url,
        &format!("mcp-protocol-version: {MODERN}\r\nmcp-method: tools/call\r\nmcp-name: readonly_query\r\n"),
        &rpc(5, "tools/call", call),
    );
    eventually("the stateless query runs", || sandbox_sleepers(marker) == 1);
    let busy = post(&s.url, &modern_list, &list);
    assert_eq!(busy.status, 503, "the one slot is taken: {}", busy.text);
    assert_eq!(busy.header("retry-after"), "1");
    // A notification (e.g. a cancel) is not a call: it gets through when every slot is taken.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                      "params": {"progressToken": "x", "progress": 1}});
    let accepted =
        post(&s.url, &[("mcp-protocol-version", MODERN), ("mcp-method", "notifications/progress")], &note.to_string());
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    drop(stream);
    eventually("the stateless query is cancelled once its client is gone", || sandbox_sleepers(marker) == 0);
    let free = post(&s.url, &modern_list, &list);
    assert_eq!(free.status, 200, "the slot came back with the dropped request: {}", free.text);

    // 2025 session: MCP says a dropped stream is not a cancel (the client may resume it), so the call lives on
    // within its time budget and its session; ending the session (DELETE, or its idle timeout) cancels it.
    let marker = "http_cancel_session";
    let session = open_session(&s.url, &[], json!({}));
    let call = json!({"name": "readonly_query", "arguments": {"sql": long_query(marker)}});
    let headers = format!("mcp-session-id: {session}\r\nmcp-protocol-version: 2025-06-18\r\n");
    let stream = send_raw(&s.url, &headers, &rpc(5, "tools/call", call));
    eventually("the session's query runs", || sandbox_sleepers(marker) == 1);
    drop(stream);
    let deleted = rt().block_on(async {
        let req = http::Request::delete(&s.url)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .body(Full::new(Bytes::new()))
            .unwrap();
        client().request(req).await.expect("DELETE").status().as_u16()
    });
    assert!(deleted < 300, "DELETE: {deleted}");
    eventually("the session's query is cancelled when the session ends", || sandbox_sleepers(marker) == 0);
}

// ---- Official tools against the URL ----

/// The path of an npm-installed tool named by `var`, or None after saying SKIPPED (a failure under CI=true).
fn npm_tool(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ => {
            let msg = format!("{what} is not installed: set {var} to its binary (.ci/run installs it, with Node 22)");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

#[test]
fn the_official_conformance_suite_passes_the_scenarios_that_apply() {
    let Some(conformance) =
        npm_tool("MCP_CONFORMANCE", "the MCP conformance suite (@modelcontextprotocol/conformance)")
    else {
        return;
    };
    let s = HttpServer::start(&["--http", "127.0.0.1:0"], &[]);
    // The others call the reference "everything" server's test tools, prompts and resources, which this server
    // does not have.
    for scenario in [
        "server-initialize",
        "ping",
        "logging-set-level",
        "completion-complete",
        "tools-list",
        "tools-call-error",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ] {
        let out = Command::new(&conformance)
            .args(["server", "--url", &s.url, "--scenario", scenario])
            .output()
            .expect("run the conformance suite");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("0 failed"),
            "{scenario}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_inspector_cli_lists_strict_schemas_and_calls_a_tool_over_http_with_the_token() {
    let Some(inspector) = npm_tool("MCP_INSPECTOR", "the MCP Inspector CLI (@modelcontextprotocol/inspector)") else {
        return;
    };
    let s = HttpServer::start(&["--http", "127.0.0.1:0", "--allow-writes"], &[("AURORA_DSQL_MCP_HTTP_TOKEN", TOKEN)]);
    let auth = format!("Authorization: Bearer {TOKEN}");
    for era in ["legacy", "modern"] {
        let out = Command::new(&inspector)
            .args(["--cli", &s.url, "--transport", "http", "--header", &auth, "--protocol-era", era])
            .args(["--method", "tools/list", "--strict", "--format", "json"])
            .output()
            .expect("run the inspector");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{era}: exit {:?}\n{stderr}", out.status);
        assert!(!stderr.contains("Warning") && !stderr.contains("Error:"), "{era}: {stderr}");
        let list: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let tools = list.get("tools").or_else(|| list["result"].get("tools")).expect("tools");
        assert!(tools.as_array().unwrap().iter().any(|t| t["name"] == "transact"), "{era}: {list}");

        let out = Command::new(&inspector)
            .args(["--cli", &s.url, "--transport", "http", "--header", &auth, "--protocol-era", era])
            .args(["--method", "tools/call", "--tool-name", "dsql_lint"])
            .args(["--tool-arg", "sql=CREATE TABLE t (id serial PRIMARY KEY)", "--format", "json"])
            .output()
            .expect("run the inspector");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{era}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("SERIAL"), "{era}: {stdout}");
    }
    // Without the token the Inspector is refused.
    let out = Command::new(&inspector)
        .args(["--cli", &s.url, "--transport", "http", "--method", "tools/list", "--format", "json"])
        .output()
        .expect("run the inspector");
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn an_unreachable_authorization_server_refuses_jwts_at_once_with_the_reason() {
    // Nothing listens on this port once the listener is dropped.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let s = HttpServer::start(&["--http", "127.0.0.1:0", "--http-oauth-issuer", &dead], &[]);
    let issuer = TestIssuer::start();
    let jwt = issuer.jwt(json!({"iss": dead, "aud": s.url, "exp": now() + 300}), None);
    for _ in 0..2 {
        let a = post(&s.url, &[("authorization", &bearer(&jwt))], &initialize(json!({})));
        assert_eq!(a.status, 401, "{}", a.text);
        assert!(a.header("www-authenticate").contains("invalid_token"), "{}", a.header("www-authenticate"));
        assert!(a.text.contains("authorization server"), "{}", a.text);
    }
    assert!(s.stderr().contains("authorization server"), "the log says why: {}", s.stderr());
}

#[test]
fn named_clusters_are_served_over_http_each_call_on_the_cluster_it_names() {
    // Two databases of the shared sandbox as two clusters from a config file, one writable, one read-only.
    let mut seeder = common::Server::local(&[]);
    seeder.rows("SELECT 1");
    let (staging, production) = (common::url_database("httpstaging"), common::url_database("httpprod"));
    let conf = tempfile::tempdir().unwrap();
    let config = conf.path().join("team.toml");
    std::fs::write(
        &config,
        format!(
            "default = \"staging\"\n[clusters.staging]\ndatabase_url = {}\nallow_writes = true\n\n\
             [clusters.production]\ndatabase_url = {}\n",
            serde_json::to_string(&staging).unwrap(),
            serde_json::to_string(&production).unwrap()
        ),
    )
    .unwrap();
    let server = HttpServer::start(&["--http", "127.0.0.1:0", "--config", config.to_str().unwrap()], &[]);
    let t = common::table("httpclusters");
    // Stateless 2026-07-28 calls: the default cluster takes a write; production refuses it and never sees it.
    let r = modern_call(
        &server.url,
        &[],
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {t} (id int)")]}),
        json!({}),
    );
    assert_eq!(
        (r["isError"].as_bool(), &r["structuredContent"]["cluster"]["name"]),
        (Some(false), &json!("staging")),
        "{r}"
    );
    let r = modern_call(
        &server.url,
        &[],
        "transact",
        json!({"cluster": "production", "sql_list": [format!("CREATE TABLE {t} (id int)")]}),
        json!({}),
    );
    assert_eq!(r["isError"], json!(true), "production is read-only: {r}");
    let sql = "SELECT count(*)::int AS n FROM pg_class WHERE relname = $1";
    for (cluster, n) in [("staging", 1), ("production", 0)] {
        let r = modern_call(
            &server.url,
            &[],
            "readonly_query",
            json!({"cluster": cluster, "sql": sql, "params": [t]}),
            json!({}),
        );
        assert_eq!(r["structuredContent"]["result"], json!([{"n": n}]), "{cluster}: {r}");
        assert_eq!(r["structuredContent"]["cluster"]["name"], json!(cluster), "{r}");
    }
    // The banner names every cluster on stderr.
    let stderr = server.stderr();
    assert!(stderr.contains("cluster `staging`") && stderr.contains("cluster `production`"), "{stderr}");
}
