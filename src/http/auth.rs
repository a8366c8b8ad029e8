//! Who may call the HTTP endpoint: a static bearer token (`--http-token-file` or `AURORA_DSQL_MCP_HTTP_TOKEN`,
//! compared in constant time), and/or JWT access tokens from one OAuth 2.0 authorization server
//! (`--http-oauth-issuer`), published as OAuth 2.0 Protected Resource Metadata (RFC 9728). A JWT is accepted when
//! its signature verifies against a key of the issuer's JWKS (found through the issuer's metadata, cached), its
//! `iss` is the issuer, its `aud` names this resource, and `exp`/`nbf` hold (60 s leeway). Nothing else is checked:
//! no scopes, no token introspection, no revocation. A refusal is a 401 with `WWW-Authenticate: Bearer …`; the
//! token itself is never logged or echoed.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::config::Principal;

/// The environment variable that may hold the bearer token instead of a file.
pub const TOKEN_ENV: &str = "AURORA_DSQL_MCP_HTTP_TOKEN";
/// The shortest token accepted: guessing must be hopeless (`openssl rand -hex 32` gives 64 characters).
pub const MIN_TOKEN_CHARS: usize = 32;
/// Where the protected resource metadata is served (RFC 9728 §3), also with the resource's path appended.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";
/// How long fetched keys are used before they are fetched again.
const KEYS_FRESH_FOR: Duration = Duration::from_secs(10 * 60);
/// A token naming an unknown key makes the keys be fetched again, at most this often.
const REFETCH_FLOOR: Duration = Duration::from_secs(30);
/// Each fetch from the authorization server, whole.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Metadata and key sets larger than this are refused.
const MAX_FETCH_BYTES: usize = 1 << 20;
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

/// The bearer token from the file or the environment (the file wins; both set is an error).
pub fn read_token(file: Option<&Path>) -> Result<Option<String>, String> {
    let from_env = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
    let (token, source) = match (file, from_env) {
        (Some(_), Some(_)) => {
            return Err(format!("both --http-token-file and {TOKEN_ENV} are set; give the token one way"));
        }
        (None, None) => return Ok(None),
        (None, Some(t)) => (t, TOKEN_ENV.to_string()),
        (Some(path), None) => {
            let meta = std::fs::metadata(path)
                .map_err(|e| format!("--http-token-file {}: cannot read it ({e})", path.display()))?;
            // Like ssh with a private key: a secret others can read is not a secret.
            if crate::platform::readable_by_others(&meta) {
                return Err(format!(
                    "--http-token-file {}: the file is readable by other users; make it private with chmod 600 {}",
                    path.display(),
                    path.display()
                ));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--http-token-file {}: cannot read it ({e})", path.display()))?;
            (text, format!("--http-token-file {}", path.display()))
        }
    };
    // One trailing newline (echo, editors) is not part of the token.
    let token = token.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&token);
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "{source}: the token is shorter than {MIN_TOKEN_CHARS} characters; make one with `openssl rand -hex 32`"
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{source}: the token must be printable ASCII without spaces (it travels in an HTTP header); make one \
             with `openssl rand -hex 32`"
        ));
    }
    Ok(Some(token.to_string()))
}

/// What an HTTP request must show, and the answer when it does not.
pub struct Auth {
    /// SHA-256 of the static token: compared digest to digest, so neither its bytes nor its length leak by timing.
    token: Option<[u8; 32]>,
    oauth: Option<OAuth>,
    /// The resource's public URL (RFC 9728 `resource`).
    resource: String,
}

impl Auth {
    /// `issuer` is checked here (https, or http on a loopback host; no query or fragment).
    pub fn new(
        token: Option<String>,
        issuer: Option<&str>,
        resource: String,
        audience: Option<String>,
    ) -> Result<Auth, String> {
        let oauth = match issuer {
            None => None,
            Some(issuer) => Some(OAuth::new(issuer, &resource, audience)?),
        };
        Ok(Auth { token: token.map(|t| digest(t.as_bytes())), oauth, resource })
    }

    /// Whether any credential is required.
    pub fn required(&self) -> bool {
        self.token.is_some() || self.oauth.is_some()
    }

    /// One line for the banner: what is required (never the token).
    pub fn describe(&self) -> String {
        match (&self.token, &self.oauth) {
            (None, None) => "authentication OFF (loopback only)".into(),
            (Some(_), None) => "authentication: bearer token required".into(),
            (None, Some(o)) => format!("authentication: JWT from {} required", o.issuer),
            (Some(_), Some(o)) => format!("authentication: bearer token or JWT from {} required", o.issuer),
        }
    }

    /// Fetch the authorization server's keys now, so a wrong issuer shows in the log at start, not at the first
    /// request.
    pub async fn prefetch(&self) {
        if let Some(oauth) = &self.oauth {
            match oauth.keys(None).await {
                Ok(set) => tracing::info!("authorization server {}: {} key(s) fetched", oauth.issuer, set.keys.len()),
                Err(e) => tracing::warn!("authorization server {}: {e}", oauth.issuer),
            }
        }
    }

    /// The metadata's URL, as put in `WWW-Authenticate` (RFC 9728 §3.1: the well-known path before the resource's).
    fn metadata_url(&self) -> Option<String> {
        self.oauth.as_ref()?;
        let uri: Uri = self.resource.parse().ok()?;
        let path = uri.path().trim_end_matches('/');
        Some(format!("{}://{}{METADATA_PATH}{path}", uri.scheme_str()?, uri.authority()?))
    }

    /// The protected resource metadata document, when an authorization server is configured.
    pub fn metadata(&self) -> Option<Value> {
        let oauth = self.oauth.as_ref()?;
        Some(json!({
            "resource": self.resource,
            "authorization_servers": [oauth.issuer],
            "bearer_methods_supported": ["header"],
            "resource_name": "Aurora DSQL MCP server",
        }))
    }

    /// Who the request speaks for when it may go on; else the 401 to send.
    pub async fn check(&self, headers: &HeaderMap) -> Result<Principal, Box<Response<BoxBody<Bytes, Infallible>>>> {
        if !self.required() {
            return Ok(Principal::anonymous());
        }
        let Some(presented) = bearer(headers) else {
            return Err(Box::new(self.unauthorized(None)));
        };
        if let Some(expected) = &self.token
            && bool::from(digest(presented.as_bytes()).ct_eq(expected))
        {
            return Ok(Principal::token());
        }
        let why = match &self.oauth {
            Some(oauth) if presented.matches('.').count() == 2 => match oauth.validate(presented).await {
                Ok(principal) => return Ok(principal),
                Err(why) => why,
            },
            _ => "the token is not valid".to_string(),
        };
        tracing::warn!("HTTP request refused: {why}");
        Err(Box::new(self.unauthorized(Some(&why))))
    }

    fn unauthorized(&self, invalid: Option<&str>) -> Response<BoxBody<Bytes, Infallible>> {
        let mut challenge = String::from("Bearer realm=\"aurora-dsql-mcp\"");
        if let Some(url) = self.metadata_url() {
            challenge.push_str(&format!(", resource_metadata=\"{url}\""));
        }
        if let Some(why) = invalid {
            let why: String = why.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
            challenge.push_str(&format!(", error=\"invalid_token\", error_description=\"{why}\""));
        }
        let body = match invalid {
            None => "Unauthorized: send Authorization: Bearer <token>".to_string(),
            Some(why) => format!("Unauthorized: {why}"),
        };
        let mut r = super::guard::plain(StatusCode::UNAUTHORIZED, &body);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case), if there is exactly one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a URL's host is this machine (http is allowed only there).
fn loopback_host(uri: &Uri) -> bool {
    match uri.host().map(|h| h.trim_start_matches('[').trim_end_matches(']')) {
        Some("localhost") => true,
        Some(h) => h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn check_url(what: &str, url: &str) -> Result<Uri, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{what} `{url}` is not a URL ({e})"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => loopback_host(&uri),
        _ => false,
    };
    if !secure || uri.host().is_none() {
        return Err(format!("{what} `{url}` must be an https:// URL (http:// only on a loopback host)"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(format!("{what} `{url}` must not have a query or fragment"));
    }
    Ok(uri)
}

/// One authorization server whose JWTs are accepted.
struct OAuth {
    issuer: String,
    audiences: Vec<String>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    keys: tokio::sync::Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    jwks_uri: Option<Uri>,
    set: Option<Arc<JwkSet>>,
    fetched: Option<Instant>,
}

impl OAuth {
    fn new(issuer: &str, resource: &str, audience: Option<String>) -> Result<OAuth, String> {
        check_url("--http-oauth-issuer", issuer)?;
        check_url("--http-resource-url", resource).map_err(|e| format!("{e} (it is the JWT audience)"))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|e| format!("cannot set up TLS for the authorization server: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let mut audiences = vec![resource.to_string()];
        audiences.extend(audience);
        Ok(OAuth {
            issuer: issuer.to_string(),
            audiences,
            client: Client::builder(TokioExecutor::new()).build(connector),
            keys: Default::default(),
        })
    }

    /// The JWT's principal (`iss` and `sub`) when it is valid.
    async fn validate(&self, token: &str) -> Result<Principal, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is not a valid JWT".to_string())?;
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(
                "the JWT is signed with a shared secret (HS*); only the issuer's public keys are trusted".into()
            );
        }
        let set = self.keys(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let alg_name = format!("{:?}", header.alg);
        let candidates = set.keys.iter().filter(|k| match (&header.kid, &k.common.key_id) {
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
            (None, _) => true,
        });
        let mut tried = 0;
        for jwk in candidates {
            // A key bound to another algorithm is not used for this one.
            if jwk.common.key_algorithm.is_some_and(|a| format!("{a:?}") != alg_name) {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(jwk) else { continue };
            tried += 1;
            match jsonwebtoken::decode::<Value>(token, &key, &validation) {
                // `iss` was checked to be the issuer. A token without `sub` (a client-credentials grant may omit
                // it) is its client's (`client_id`, `azp`); with none of them, every such token is one principal.
                Ok(data) => {
                    let claim = |name: &str| data.claims.get(name).and_then(Value::as_str);
                    let subject = claim("sub").or_else(|| claim("client_id")).or_else(|| claim("azp"));
                    return Ok(Principal::jwt(&self.issuer, subject.unwrap_or("")));
                }
                Err(e) => match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature
                    | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
                    | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat => continue,
                    kind => return Err(describe(kind, &self.audiences)),
                },
            }
        }
        Err(if tried == 0 {
            format!("no key of the issuer's JWKS fits the JWT (kid {:?}, alg {alg_name})", header.kid)
        } else {
            "the JWT's signature does not verify with the issuer's keys".into()
        })
    }

    /// The issuer's keys; fetched again when stale, or when `kid` is unknown (at most every [`REFETCH_FLOOR`]).
    async fn keys(&self, kid: Option<&str>) -> Result<Arc<JwkSet>, String> {
        let mut keys = self.keys.lock().await;
        let age = keys.fetched.map(|t| t.elapsed());
        let known = |set: &JwkSet| kid.is_none_or(|k| set.find(k).is_some());
        match (&keys.set, age) {
            (Some(set), Some(age)) if age < REFETCH_FLOOR || (age < KEYS_FRESH_FOR && known(set)) => {
                return Ok(set.clone());
            }
            // The last attempt failed moments ago: do not make every request wait on a server that is down.
            (None, Some(age)) if age < REFETCH_FLOOR => {
                return Err(format!(
                    "the authorization server's keys could not be fetched (last attempt {} s ago; see the log)",
                    age.as_secs()
                ));
            }
            _ => {}
        }
        let jwks_uri = match &keys.jwks_uri {
            Some(u) => u.clone(),
            None => match self.discover().await {
                Ok(u) => {
                    keys.jwks_uri = Some(u.clone());
                    u
                }
                Err(e) => {
                    keys.fetched = Some(Instant::now());
                    tracing::warn!("authorization server metadata: {e}");
                    return Err(e);
                }
            },
        };
        let fetched = self.get_json(&jwks_uri).await;
        // A failed fetch is not retried at once: every request would wait on a down server.
        keys.fetched = Some(Instant::now());
        match fetched.and_then(|v| {
            serde_json::from_value::<JwkSet>(v).map_err(|e| format!("the issuer's JWKS is not a key set ({e})"))
        }) {
            Ok(set) => {
                let set = Arc::new(set);
                keys.set = Some(set.clone());
                Ok(set)
            }
            Err(e) => {
                tracing::warn!("authorization server keys: {e}");
                keys.set.clone().ok_or(e)
            }
        }
    }

    /// The JWKS URL from the issuer's metadata: RFC 8414's location first, then OpenID Connect's.
    async fn discover(&self) -> Result<Uri, String> {
        let issuer: Uri = self.issuer.parse().map_err(|e| format!("issuer: {e}"))?;
        let scheme = issuer.scheme_str().unwrap_or("https");
        let authority = issuer.authority().map(|a| a.as_str()).unwrap_or_default();
        let path = issuer.path().trim_end_matches('/');
        let candidates = [
            format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}"),
            format!("{scheme}://{authority}{path}/.well-known/openid-configuration"),
        ];
        let mut errors = Vec::new();
        for url in candidates {
            let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
            match self.get_json(&uri).await {
                Ok(meta) => {
                    let named = meta.get("issuer").and_then(Value::as_str).unwrap_or_default();
                    if named.trim_end_matches('/') != self.issuer.trim_end_matches('/') {
                        return Err(format!(
                            "the metadata at {url} names issuer `{named}`, not `{}` (RFC 8414 §3.3)",
                            self.issuer
                        ));
                    }
                    let jwks = meta
                        .get("jwks_uri")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("the metadata at {url} has no jwks_uri"))?;
                    return check_url("the issuer's jwks_uri", jwks);
                }
                Err(e) => errors.push(e),
            }
        }
        Err(format!("cannot read the authorization server's metadata: {}", errors.join("; ")))
    }

    async fn get_json(&self, uri: &Uri) -> Result<Value, String> {
        let request = http::Request::get(uri.clone())
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| format!("{uri}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("{uri}: HTTP {}", response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_FETCH_BYTES)
                .collect()
                .await
                .map_err(|e| format!("{uri}: {e}"))?
                .to_bytes();
            serde_json::from_slice(&body).map_err(|e| format!("{uri}: not JSON ({e})"))
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{uri}: no answer within {} s", FETCH_TIMEOUT.as_secs()))?
    }
}

/// A validation failure in words (safe to send back: it names a claim, never its value or the token).
fn describe(kind: &jsonwebtoken::errors::ErrorKind, audiences: &[String]) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "the JWT has expired".into(),
        K::ImmatureSignature => "the JWT is not valid yet (nbf)".into(),
        K::InvalidAudience => format!("the JWT's audience is not this resource ({})", audiences.join(" or ")),
        K::InvalidIssuer => "the JWT's issuer is not the configured authorization server".into(),
        K::MissingRequiredClaim(c) => format!("the JWT lacks the `{c}` claim"),
        _ => "the JWT is not valid".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_one_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer(&h), None, "two headers: refused, not guessed");
    }

    #[tokio::test]
    async fn the_static_token_is_required_and_compared_whole() {
        let token = "x".repeat(40);
        let auth = Auth::new(Some(token.clone()), None, "http://127.0.0.1:1/mcp".into(), None).unwrap();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(auth.check(&with(&format!("Bearer {token}"))).await.is_ok());
        for wrong in [format!("Bearer {token}x"), format!("Bearer {}", &token[1..]), "Bearer y".into()] {
            let r = auth.check(&with(&wrong)).await.expect_err(&wrong);
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
            assert!(challenge.starts_with("Bearer ") && challenge.contains("invalid_token"), "{challenge}");
            assert!(!challenge.contains(&token[..10]));
        }
        let r = auth.check(&HeaderMap::new()).await.expect_err("no header");
        assert!(!r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().contains("error="));
    }

    #[test]
    fn the_metadata_url_puts_the_well_known_path_before_the_resource_path() {
        let auth = Auth::new(
            None,
            Some("https://as.example.com"),
            "https://mcp.example.com/team/mcp".into(),
            Some("api://dsql".into()),
        )
        .unwrap();
        assert_eq!(
            auth.metadata_url().unwrap(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/team/mcp"
        );
        let m = auth.metadata().unwrap();
        assert_eq!(m["resource"], "https://mcp.example.com/team/mcp");
        assert_eq!(m["authorization_servers"], json!(["https://as.example.com"]));
    }

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert!(Auth::new(None, Some("http://as.example.com"), "https://r/mcp".into(), None).is_err());
        assert!(Auth::new(None, Some("http://127.0.0.1:9/"), "http://127.0.0.1:1/mcp".into(), None).is_ok());
        assert!(Auth::new(None, Some("https://as.example.com?x=1"), "https://r/mcp".into(), None).is_err());
    }
}
