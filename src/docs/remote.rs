//! The opt-in remote knowledge server (`--knowledge-server URL`): the upstream protocol, one JSON-RPC
//! `tools/call` POST per call to the URL itself, with a timeout over the whole exchange and clear errors.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Uri, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// Responses larger than this are refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A remote documentation endpoint speaking the upstream JSON-RPC-over-POST protocol.
#[derive(Clone)]
pub struct KnowledgeServer {
    url: Uri,
    timeout: Duration,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for KnowledgeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeServer").field("url", &self.url).field("timeout", &self.timeout).finish()
    }
}

impl KnowledgeServer {
    /// Validates the URL (`http://` or `https://` with a host) and the timeout (> 0); TLS uses rustls with ring and the
    /// webpki roots.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let parsed: Uri = url.trim().parse().map_err(|e| {
            format!("--knowledge-server `{url}` is not a valid URL ({e}); expected e.g. https://host/path")
        })?;
        match parsed.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(format!(
                    "--knowledge-server `{url}` must start with https:// (or http:// for a local server)"
                ));
            }
        }
        if parsed.host().is_none_or(str::is_empty) {
            return Err(format!("--knowledge-server `{url}` has no host name"));
        }
        if timeout.is_zero() {
            return Err("--knowledge-timeout must be greater than 0 seconds".into());
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|e| format!("cannot set up TLS for the knowledge server: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(KnowledgeServer { url: parsed, timeout, client })
    }

    /// The server's URL, as parsed (normalised) from `--knowledge-server`.
    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// Calls remote tool `tool` with `arguments` (null members are dropped, as upstream does). Errors name the cause:
    /// timeout, connection failure, HTTP status, invalid JSON, or the server's JSON-RPC error message.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, String> {
        let arguments = match arguments {
            Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
            Value::Null => json!({}),
            other => {
                return Err(format!("arguments for `{tool}` must be a JSON object, got {other}"));
            }
        };
        let body = json!({
            "jsonrpc": "2.0",
            "method": "tools/call",
            "params": { "name": tool, "arguments": arguments },
            "id": 1,
        });
        let secs = self.timeout.as_secs_f64();
        match tokio::time::timeout(self.timeout, self.exchange(body.to_string())).await {
            Ok(result) => interpret(result?),
            Err(_) => Err(format!("knowledge server {} timed out after {secs} s", self.url)),
        }
    }

    /// One POST; returns the parsed JSON body of a 2xx answer.
    async fn exchange(&self, body: String) -> Result<Value, String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, concat!("aurora-dsql-mcp-server/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the knowledge server request: {e}"))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach knowledge server {}: {}", self.url, crate::error_chain::text(&e)))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("knowledge server {}: reading the response failed: {e}", self.url))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("knowledge server {} answered HTTP {status}", self.url));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            let preview: String = String::from_utf8_lossy(&bytes).chars().take(80).collect();
            format!("knowledge server {} returned invalid JSON ({e}); body starts with {preview:?}", self.url)
        })
    }
}

/// Upstream's response handling, in order: JSON-RPC `error` → its message; non-empty `result` → as is; top-level
/// `content[0]` text holding JSON → that JSON; otherwise `{content: [...]}`.
fn interpret(reply: Value) -> Result<Value, String> {
    if let Some(err) = reply.get("error").filter(|e| !e.is_null()) {
        let msg = err.get("message").and_then(Value::as_str).unwrap_or("Unknown error from knowledge server");
        return Err(format!("knowledge server error: {msg}"));
    }
    if let Some(result) = reply.get("result") {
        let empty = match result {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if !empty {
            return Ok(result.clone());
        }
    }
    let content = reply.get("content").cloned().unwrap_or_else(|| json!([]));
    if let Some(first) = content.get(0)
        && first.get("type").and_then(Value::as_str) == Some("text")
        && let Some(parsed) = first.get("text").and_then(Value::as_str).and_then(|t| serde_json::from_str(t).ok())
    {
        return Ok(parsed);
    }
    Ok(json!({ "content": content }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_shapes_follow_upstream_order() {
        assert_eq!(interpret(json!({"result": {"a": 1}})).unwrap(), json!({"a": 1}));
        let err = interpret(json!({"error": {"code": -1, "message": "bad"}})).unwrap_err();
        assert!(err.contains("bad"));
        assert!(interpret(json!({"error": {}})).unwrap_err().contains("Unknown error"));
        let text = json!({"result": {}, "content": [{"type": "text", "text": "{\"x\": 2}"}]});
        assert_eq!(interpret(text).unwrap(), json!({"x": 2}));
        assert_eq!(interpret(json!({})).unwrap(), json!({"content": []}));
    }

    #[test]
    fn bad_configuration_is_refused() {
        let d = Duration::from_secs(1);
        assert!(KnowledgeServer::new("ftp://x", d).unwrap_err().contains("https://"));
        assert!(KnowledgeServer::new("not a url", d).unwrap_err().contains("not a valid URL"));
        assert!(KnowledgeServer::new("http://127.0.0.1:1/", Duration::ZERO).unwrap_err().contains("greater than 0"));
        assert!(KnowledgeServer::new("https://example.com/mcp", d).is_ok());
    }
}
