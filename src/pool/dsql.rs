//! The Aurora DSQL connection pool: deadpool-postgres with a custom `Connect` that signs a fresh IAM token for every
//! new connection, always speaks verified TLS, retries a waking cluster within a budget, retires connections before
//! DSQL's one-hour limit, and turns connect failures into text an agent (or its user) can act on.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use deadpool_postgres::{
    ClientWrapper, Connect, Hook, HookError, Manager, ManagerConfig, Metrics, Pool, PoolError, RecyclingMethod,
    Runtime, TimeoutType,
};
use futures::future::BoxFuture;
use rand::Rng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::auth::endpoint::{Endpoint, parse_endpoint};
use crate::auth::{AuthError, TokenSettings, TokenSource};
use crate::pool::tls::{TlsFailure, client_config, find_tls_error};

/// DSQL closes connections at 60 minutes; retire ours well before, so a checkout never gets a doomed one.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(55 * 60);
/// Connections the pool keeps open at most (`--pool-size`).
pub const DEFAULT_POOL_SIZE: usize = 4;
/// Time allowed for one connect attempt (TCP, TLS and authentication together).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Total time spent retrying a waking or unreachable cluster before a checkout fails.
pub const DEFAULT_WAKE_RETRY_BUDGET: Duration = Duration::from_secs(30);
/// DSQL's hard limit; a longer `max_lifetime` would hand out connections the server is about to close.
const DSQL_CONNECTION_LIMIT: Duration = Duration::from_secs(60 * 60);
/// A connection idle longer than this is pinged before reuse; a recently used one is trusted (cheap checkouts).
pub const DEFAULT_PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How to reach, authenticate to and size the pool for one DSQL cluster; [`DsqlPoolSettings::new`] fills defaults.
#[derive(Debug, Clone)]
pub struct DsqlPoolSettings {
    /// Endpoint, region, user and credentials profile used to sign each connection's IAM token.
    pub token: TokenSettings,
    /// Connect to this IP or DNS name instead of the endpoint, while TLS and the token still use the endpoint's
    /// name (VPC endpoints, SSH tunnels, tests).
    pub hostaddr: Option<String>,
    /// PEM CA bundle instead of the bundled Amazon roots.
    pub ssl_root_cert: Option<PathBuf>,
    /// Connections open at most; at least 1.
    pub pool_size: usize,
    /// A connection older than this is retired at checkout; must stay under DSQL's 60-minute limit.
    pub max_lifetime: Duration,
    /// Per attempt: TCP connect, TLS handshake and authentication together.
    pub connect_timeout: Duration,
    /// Total time spent retrying "waking up cluster", refused connections and timeouts before giving up.
    pub wake_retry_budget: Duration,
    /// Sent at startup so the connections can be told apart on the server side.
    pub application_name: String,
    /// Reuse without a round trip if the connection was used more recently than this; otherwise `SELECT 1` first
    /// (a dropped idle connection then costs a reconnect instead of a failed tool call).
    pub ping_if_idle_for: Duration,
}

impl DsqlPoolSettings {
    /// Settings with the defaults above and `application_name` = `<package name>/<version>`, as in every mode.
    pub fn new(token: TokenSettings) -> Self {
        Self {
            token,
            hostaddr: None,
            ssl_root_cert: None,
            pool_size: DEFAULT_POOL_SIZE,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            wake_retry_budget: DEFAULT_WAKE_RETRY_BUDGET,
            application_name: crate::pool::application_name(),
            ping_if_idle_for: DEFAULT_PING_IF_IDLE_FOR,
        }
    }
}

/// A DSQL connection pool together with what cancelling a query and reporting credentials need.
pub struct DsqlPool {
    /// The deadpool pool; every checkout of a new connection signs a fresh token.
    pub pool: Pool,
    /// The same TLS connector, for `Client::cancel_token().cancel_query(tls)`.
    pub tls: MakeRustlsConnect,
    /// Signs the IAM tokens for new connections (and says which credentials it used).
    pub source: TokenSource,
}

impl fmt::Debug for DsqlPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DsqlPool")
            .field("status", &self.pool.status())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Builds the pool without connecting (the first checkout connects), with credentials from the standard AWS chain.
pub fn build_pool(settings: DsqlPoolSettings) -> Result<DsqlPool, String> {
    let source = TokenSource::new(settings.token.clone());
    build_pool_with_source(settings, source)
}

/// As [`build_pool`], with a given token source (fixed credentials and clock in tests).
pub fn build_pool_with_source(settings: DsqlPoolSettings, source: TokenSource) -> Result<DsqlPool, String> {
    settings.token.validate().map_err(|e| e.to_string())?;
    let endpoint = parse_endpoint(&settings.token.endpoint)?;
    if settings.pool_size == 0 {
        return Err("--pool-size must be at least 1".to_string());
    }
    if settings.max_lifetime >= DSQL_CONNECTION_LIMIT {
        return Err(format!(
            "the connection max lifetime ({} s) must stay under DSQL's 60-minute connection limit",
            settings.max_lifetime.as_secs()
        ));
    }
    if settings.connect_timeout.is_zero() {
        return Err("the connect timeout must be greater than zero".to_string());
    }
    let hostaddr = settings.hostaddr.as_deref().map(parse_hostaddr).transpose()?;
    let tls = MakeRustlsConnect::new(client_config(settings.ssl_root_cert.as_deref())?);

    // No `options` and no read-only startup parameter: DSQL refuses `default_transaction_read_only` at connect
    // time (catalog C13); read-only calls open `BEGIN READ ONLY` transactions instead (`exec::TxMode`).
    let mut pg = Config::new();
    pg.host(&endpoint.host)
        .port(endpoint.port)
        .user(settings.token.user.trim())
        .dbname("postgres")
        .application_name(&settings.application_name)
        // Require + rustls = always encrypted and always verified; tokio-postgres never falls back to plaintext here.
        .ssl_mode(SslMode::Require)
        .connect_timeout(settings.connect_timeout);
    if let Some(HostAddr::Ip(ip)) = hostaddr {
        pg.hostaddr(ip);
    }

    let connect = DsqlConnect {
        source: source.clone(),
        tls: tls.clone(),
        endpoint,
        hostaddr,
        connect_timeout: settings.connect_timeout,
        budget: settings.wake_retry_budget,
    };
    let manager = Manager::from_connect(
        pg,
        connect,
        ManagerConfig {
            // `Fast` checks `is_closed`; DSQL has no DISCARD ALL, so the statement-based methods are out.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let checks = ReuseChecks {
        max_lifetime: settings.max_lifetime,
        ping_if_idle_for: settings.ping_if_idle_for,
        ping_timeout: settings.connect_timeout,
    };
    let pool = Pool::builder(manager)
        .max_size(settings.pool_size)
        // The connection used last is used next: calls made one at a time keep one connection warm, and the others
        // age out (checked with a ping after being idle, retired at their max lifetime).
        .queue_mode(deadpool_postgres::QueueMode::Lifo)
        .runtime(Runtime::Tokio1)
        .pre_recycle(Hook::async_fn(move |client: &mut ClientWrapper, metrics: &Metrics| {
            Box::pin(checks.run(client, *metrics))
        }))
        .build()
        .map_err(|e| format!("cannot build the DSQL connection pool: {e}"))?;
    Ok(DsqlPool { pool, tls, source })
}

#[derive(Clone, Copy)]
struct ReuseChecks {
    max_lifetime: Duration,
    ping_if_idle_for: Duration,
    ping_timeout: Duration,
}

impl ReuseChecks {
    async fn run(self, client: &mut ClientWrapper, metrics: Metrics) -> Result<(), HookError> {
        if metrics.age() >= self.max_lifetime {
            return Err(HookError::message("connection reached its max lifetime"));
        }
        if client.is_closed() {
            return Err(HookError::message("connection closed"));
        }
        if metrics.last_used() >= self.ping_if_idle_for {
            match tokio::time::timeout(self.ping_timeout, client.simple_query("SELECT 1")).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(HookError::Backend(e)),
                Err(_) => return Err(HookError::message("health check timed out")),
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum HostAddr {
    Ip(IpAddr),
    /// Resolved at each connect, so a VPC endpoint's changing addresses are followed.
    Name(String),
}

fn parse_hostaddr(raw: &str) -> Result<HostAddr, String> {
    let s = raw.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(HostAddr::Ip(ip));
    }
    match parse_endpoint(s) {
        Ok(e) if e.host == s => Ok(HostAddr::Name(e.host)),
        _ => Err(format!(
            "--hostaddr {s:?} must be an IP address or a host name without a port (the port comes from the endpoint)"
        )),
    }
}

struct DsqlConnect {
    source: TokenSource,
    tls: MakeRustlsConnect,
    endpoint: Endpoint,
    hostaddr: Option<HostAddr>,
    connect_timeout: Duration,
    budget: Duration,
}

impl Connect for DsqlConnect {
    fn connect(&self, pg: &Config) -> BoxFuture<'_, Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let pg = pg.clone();
        Box::pin(async move {
            let started = Instant::now();
            let mut attempts = 0u32;
            loop {
                attempts += 1;
                let outcome = self.attempt(&pg).await;
                let err = match outcome {
                    Ok(pair) => return Ok(pair),
                    Err(err) => err,
                };
                let delay = backoff(attempts);
                if !err.retryable() || started.elapsed() + delay > self.budget {
                    if attempts > 1 {
                        tracing::warn!(
                            attempts,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "DSQL connect gave up"
                        );
                    }
                    return Err(self.final_error(err, attempts, started.elapsed()).await);
                }
                tracing::info!(
                    attempts,
                    delay_ms = delay.as_millis() as u64,
                    "DSQL connect failed, retrying: {}",
                    err.summary()
                );
                tokio::time::sleep(delay).await;
            }
        })
    }
}

enum AttemptError {
    Credentials(AuthError),
    Resolve(io::Error),
    Pg(tokio_postgres::Error),
    TimedOut,
}

impl AttemptError {
    fn retryable(&self) -> bool {
        match self {
            Self::Credentials(_) | Self::Resolve(_) => false,
            Self::TimedOut => true,
            Self::Pg(e) => is_transient(e),
        }
    }

    fn summary(&self) -> String {
        match self {
            Self::Credentials(e) => e.to_string(),
            Self::Resolve(e) => e.to_string(),
            Self::Pg(e) => error_chain(e),
            Self::TimedOut => "timed out".to_string(),
        }
    }
}

impl DsqlConnect {
    async fn attempt(&self, base: &Config) -> Result<(Client, JoinHandle<()>), AttemptError> {
        let token = self.source.token().await.map_err(AttemptError::Credentials)?;
        let mut pg = base.clone();
        pg.password(token);
        if let Some(HostAddr::Name(name)) = &self.hostaddr {
            let ip = tokio::net::lookup_host((name.as_str(), self.endpoint.port))
                .await
                .map_err(AttemptError::Resolve)?
                .next()
                .ok_or_else(|| AttemptError::Resolve(io::Error::other(format!("{name} has no address"))))?;
            pg.hostaddr(ip.ip());
        }
        let (client, connection) = tokio::time::timeout(self.connect_timeout, pg.connect(self.tls.clone()))
            .await
            .map_err(|_| AttemptError::TimedOut)?
            .map_err(AttemptError::Pg)?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("DSQL connection ended: {e}");
            }
        });
        Ok((client, task))
    }

    fn target(&self) -> String {
        let ep = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        match &self.hostaddr {
            Some(HostAddr::Ip(ip)) => format!("{ep} (via --hostaddr {ip})"),
            Some(HostAddr::Name(n)) => format!("{ep} (via --hostaddr {n})"),
            None => ep,
        }
    }

    /// Server (SQLSTATE) and TLS errors are returned unchanged; the rest gets its context attached.
    async fn final_error(&self, err: AttemptError, attempts: u32, elapsed: Duration) -> tokio_postgres::Error {
        let failure = match err {
            AttemptError::Pg(e) if e.as_db_error().is_some() || find_tls_error(&e).is_some() || !is_network(&e) => {
                return e;
            }
            AttemptError::Credentials(e) => ConnectFailure::Credentials(e),
            AttemptError::Resolve(e) => ConnectFailure::Unreachable {
                target: self.target(),
                attempts,
                elapsed,
                cause: format!("cannot resolve --hostaddr: {e}"),
            },
            AttemptError::Pg(e) => {
                ConnectFailure::Unreachable { target: self.target(), attempts, elapsed, cause: error_chain(&e) }
            }
            AttemptError::TimedOut => {
                ConnectFailure::TimedOut { target: self.target(), each: self.connect_timeout, attempts, elapsed }
            }
        };
        failure.into_pg_error().await
    }
}

/// Full jitter over an exponential step (200 ms, 400 ms, ... capped at 5 s), so clients waking the same cluster spread out.
fn backoff(attempt: u32) -> Duration {
    let step = FIRST_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(MAX_BACKOFF);
    let ms = step.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

/// "waking up cluster, please retry later", rate limiting, refused and reset connections, timeouts.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    if let Some(db) = e.as_db_error() {
        let msg = db.message().to_ascii_lowercase();
        return msg.contains("waking up")
            || msg.contains("please retry later")
            || *db.code() == SqlState::CANNOT_CONNECT_NOW
            || *db.code() == SqlState::CONFIGURATION_LIMIT_EXCEEDED;
    }
    if find_tls_error(e).is_some() {
        return false;
    }
    io_kind(e).is_some_and(|k| {
        matches!(
            k,
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::TimedOut
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
        )
    })
}

/// tokio-postgres' `Display` omits the cause ("error connecting to server"), so messages walk the chain. The
/// walk is `crate::error_chain::text`; this name stays for the engine's callers.
pub use crate::error_chain::text as error_chain;

fn is_network(e: &tokio_postgres::Error) -> bool {
    io_kind(e).is_some()
}

fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    crate::error_chain::find::<io::Error>(e).map(io::Error::kind)
}

/// A connect failure that has no server error to carry it; it travels inside a `tokio_postgres::Error` (the type
/// `Connect` must return) as the payload of an I/O error, and [`explain_connect_error`] finds it there.
#[derive(Debug)]
pub enum ConnectFailure {
    /// No IAM token could be signed (missing or invalid AWS credentials).
    Credentials(AuthError),
    /// Every attempt failed on the network (or on resolving `--hostaddr`) within the wake retry budget.
    Unreachable {
        /// `host:port`, with the `--hostaddr` used if any.
        target: String,
        /// Connect attempts made.
        attempts: u32,
        /// Time spent over all attempts.
        elapsed: Duration,
        /// The last attempt's error chain.
        cause: String,
    },
    /// Every attempt ran into the per-attempt connect timeout within the wake retry budget.
    TimedOut {
        /// `host:port`, with the `--hostaddr` used if any.
        target: String,
        /// The per-attempt connect timeout.
        each: Duration,
        /// Connect attempts made.
        attempts: u32,
        /// Time spent over all attempts.
        elapsed: Duration,
    },
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials(e) => write!(f, "cannot create a DSQL auth token: {e}"),
            Self::Unreachable { target, attempts, elapsed, cause } => {
                write!(f, "cannot reach {target} ({attempts} attempt(s) over {:.1} s): {cause}", elapsed.as_secs_f64())
            }
            Self::TimedOut { target, each, attempts, elapsed } => write!(
                f,
                "connecting to {target} timed out ({attempts} attempt(s) of {} s each, {:.1} s in total)",
                each.as_secs(),
                elapsed.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for ConnectFailure {}

impl ConnectFailure {
    /// Wraps `self` in a `tokio_postgres::Error`: a startup on an in-memory stream whose first write fails with it.
    /// Nothing is sent anywhere, so the plain `NoTls` connector here carries no risk.
    async fn into_pg_error(self) -> tokio_postgres::Error {
        let kind = match &self {
            Self::TimedOut { .. } => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::Other,
        };
        let stream = FailingStream(Some(io::Error::new(kind, self)));
        let mut cfg = Config::new();
        cfg.user("failed").ssl_mode(SslMode::Disable);
        match cfg.connect_raw(stream, tokio_postgres::NoTls).await {
            Err(e) => e,
            Ok(_) => unreachable!("a startup cannot complete on a stream whose writes all fail"),
        }
    }
}

struct FailingStream(Option<io::Error>);

impl FailingStream {
    fn take(&mut self) -> io::Error {
        self.0.take().unwrap_or_else(|| io::Error::other("connection attempt failed"))
    }
}

impl AsyncRead for FailingStream {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.get_mut().take()))
    }
}

impl AsyncWrite for FailingStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(self.get_mut().take()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn find_connect_failure(e: &tokio_postgres::Error) -> Option<&ConnectFailure> {
    crate::error_chain::find::<ConnectFailure>(e)
}

/// The credential-source failure behind a pool error, if that is what it was.
pub fn auth_error(err: &PoolError) -> Option<&AuthError> {
    match err {
        PoolError::Backend(e) => match find_connect_failure(e) {
            Some(ConnectFailure::Credentials(a)) => Some(a),
            _ => None,
        },
        _ => None,
    }
}

/// A message for a failed checkout that says what happened and what to change. Never contains the token.
pub fn explain_connect_error(err: &PoolError) -> String {
    match err {
        PoolError::Backend(e) => explain_pg_connect_error(e),
        PoolError::Timeout(TimeoutType::Wait) => {
            "all pooled DSQL connections are busy; retry when a running statement finishes (or raise --pool-size)"
                .to_string()
        }
        PoolError::Timeout(TimeoutType::Create) => {
            "connecting to DSQL timed out; check network access to the cluster endpoint on port 5432".to_string()
        }
        PoolError::Timeout(TimeoutType::Recycle) => "checking a pooled DSQL connection timed out; retry".to_string(),
        PoolError::Closed => "the DSQL connection pool is closed (the server is shutting down)".to_string(),
        PoolError::NoRuntimeSpecified => "internal error: the DSQL pool has no async runtime".to_string(),
        PoolError::PostCreateHook(e) => format!("preparing a new DSQL connection failed: {e}"),
    }
}

const AUTH_HINT: &str = "Check: (1) the IAM identity signing the token is allowed `dsql:DbConnectAdmin` on this cluster \
(for the `admin` role) or `dsql:DbConnect` (for any other role); (2) a custom role is mapped to that IAM identity \
with `AWS IAM GRANT <role> TO '<iam-role-arn>'` (run as admin); (3) the token has not expired: it is only checked at \
connect time, so raise --token-expiry if connections are slow to open, and make sure this machine's clock is correct \
(signatures fail with clock skew); (4) --region is the cluster's region and the credentials are not expired \
(`aws sts get-caller-identity`). Reproduce with `aurora-dsql-mcp-rs token ...` and psql.";

/// As [`explain_connect_error`], for the underlying tokio-postgres error.
pub fn explain_pg_connect_error(e: &tokio_postgres::Error) -> String {
    if let Some(failure) = find_connect_failure(e) {
        return match failure {
            ConnectFailure::Credentials(_) => failure.to_string(),
            ConnectFailure::Unreachable { .. } => format!(
                "{failure}. Check the endpoint spelling and that the cluster exists and is ACTIVE \
                 (`aws dsql get-cluster --identifier <id>`), and that this machine can reach it on that port \
                 (firewall, VPC endpoint, proxy; --hostaddr for tunnels)."
            ),
            ConnectFailure::TimedOut { .. } => format!(
                "{failure}. Check that this machine can reach the cluster on that port (outbound firewall, VPC \
                 endpoint routing, proxy); an idle cluster wakes up within seconds, so a persistent timeout is a \
                 network problem."
            ),
        };
    }
    if let Some(tls) = find_tls_error(e) {
        return explain_tls(tls);
    }
    let text = error_chain(e);
    if text.contains("server does not support TLS") {
        return "the server refused TLS. DSQL always offers TLS, so this address is not a DSQL endpoint (check \
                --hostaddr or the tunnel). There is no plaintext fallback."
            .to_string();
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let head = format!("DSQL refused the connection: SQLSTATE {code}: {}", db.message());
        return match db.code() {
            c if *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION || *c == SqlState::INVALID_PASSWORD => {
                format!("authentication failed (SQLSTATE {code}: {}). {AUTH_HINT}", db.message())
            }
            c if *c == SqlState::TOO_MANY_CONNECTIONS => {
                format!("{head}. The cluster's connection limit is reached; close other clients or lower --pool-size.")
            }
            c if *c == SqlState::CONFIGURATION_LIMIT_EXCEEDED => {
                format!("{head}. DSQL rate-limits new connections; retry in a few seconds.")
            }
            _ if db.message().to_ascii_lowercase().contains("waking up") => {
                format!("{head}. The cluster is still waking up after the retry budget; retry the call shortly.")
            }
            _ => head,
        };
    }
    format!("connecting to DSQL failed: {text}")
}

fn explain_tls(tls: TlsFailure<'_>) -> String {
    const NO_FALLBACK: &str = "There is no plaintext fallback.";
    match tls {
        TlsFailure::Certificate(c) => {
            let why = match &c.cause {
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
                ) => format!(
                    "its certificate is not issued for {} ({}). The endpoint name is verified even with --hostaddr; \
                     pass the cluster's real endpoint name as --cluster_endpoint, or check that --hostaddr/the tunnel \
                     leads to that cluster.",
                    c.server_name, c.cause
                ),
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                    "its certificate is not signed by any of those roots. If a proxy or a private endpoint presents \
                     another CA, pass that CA with --ssl-root-cert FILE; otherwise something is intercepting the \
                     connection."
                        .to_string()
                }
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. },
                ) => format!("its certificate has expired ({}); check this machine's clock.", c.cause),
                other => format!("{other}"),
            };
            format!("TLS verification of {} failed (checked against {}): {why} {NO_FALLBACK}", c.server_name, c.roots)
        }
        TlsFailure::Other(e) => format!("the TLS handshake with the DSQL endpoint failed: {e}. {NO_FALLBACK}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            let step = FIRST_BACKOFF.saturating_mul(1 << (attempt - 1).min(16)).min(MAX_BACKOFF);
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(30) <= MAX_BACKOFF);
    }

    #[test]
    fn hostaddr_accepts_ips_and_names_only() {
        assert!(matches!(parse_hostaddr("127.0.0.1"), Ok(HostAddr::Ip(_))));
        assert!(matches!(parse_hostaddr("::1"), Ok(HostAddr::Ip(_))));
        assert!(matches!(parse_hostaddr("vpce-1.dsql.us-east-1.vpce.amazonaws.com"), Ok(HostAddr::Name(_))));
        assert!(parse_hostaddr("10.0.0.1:5432").is_err());
        assert!(parse_hostaddr("host:5432").is_err());
        assert!(parse_hostaddr("a b").is_err());
    }

    #[tokio::test]
    async fn connect_failures_survive_the_trip_through_tokio_postgres() {
        let f = ConnectFailure::TimedOut {
            target: "abc.dsql.us-east-1.on.aws:5432".into(),
            each: Duration::from_secs(3),
            attempts: 4,
            elapsed: Duration::from_secs(12),
        };
        let e = f.into_pg_error().await;
        assert!(matches!(find_connect_failure(&e), Some(ConnectFailure::TimedOut { attempts: 4, .. })));
        let text = explain_pg_connect_error(&e);
        assert!(text.contains("connecting to abc.dsql.us-east-1.on.aws:5432 timed out (4 attempt(s)"), "{text}");
        assert!(is_transient(&e), "a timeout is worth retrying");
    }

    #[test]
    fn settings_are_checked_without_connecting() {
        let token = TokenSettings {
            endpoint: "abc.dsql.us-east-1.on.aws".into(),
            region: "us-east-1".into(),
            user: "admin".into(),
            expires_in: Duration::from_secs(900),
            profile: None,
        };
        let mut s = DsqlPoolSettings::new(token);
        assert!(s.application_name.starts_with("aurora-dsql-mcp-rs/"));
        s.max_lifetime = Duration::from_secs(3600);
        assert!(build_pool(s.clone()).unwrap_err().contains("60-minute"));
        s.max_lifetime = DEFAULT_MAX_LIFETIME;
        s.pool_size = 0;
        assert!(build_pool(s.clone()).unwrap_err().contains("--pool-size"));
        s.pool_size = 4;
        s.hostaddr = Some("10.0.0.1:5432".into());
        assert!(build_pool(s.clone()).unwrap_err().contains("--hostaddr"));
        s.hostaddr = None;
        s.ssl_root_cert = Some("/nonexistent.pem".into());
        assert!(build_pool(s.clone()).unwrap_err().contains("/nonexistent.pem"));
        s.ssl_root_cert = None;
        let pool = build_pool(s).unwrap();
        assert_eq!(pool.pool.status().size, 0, "lazy: nothing connected at build time");
        assert_eq!(pool.source.tokens_issued(), 0);
    }
}
