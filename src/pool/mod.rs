//! Database connections: one pool per server, whichever the target (local sandbox, a PostgreSQL URL, or Aurora DSQL),
//! plus what is needed to cancel a running query on it.

pub mod pgbin;
pub mod sandbox;

use std::path::Path;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{CancelToken, NoTls};

use sandbox::Sandbox;

/// `application_name` this server sets on every connection.
pub fn application_name() -> String {
    format!("aurora-dsql-mcp-server/{}", env!("CARGO_PKG_VERSION"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Local,
    Url,
    Dsql,
}

/// How to open the side connection that carries a cancel request.
enum CancelTls {
    Plain,
}

/// A connected (lazily: connections open on first use) database.
pub struct Database {
    pub pool: Pool,
    pub kind: BackendKind,
    /// Human description for logs and instructions, never containing secrets.
    pub label: String,
    cancel_tls: CancelTls,
    sandbox: std::sync::Mutex<Option<Sandbox>>,
}

impl Database {
    /// Start (or join) the local sandbox in `dir` and pool connections to it.
    pub async fn local(dir: &Path, pool_size: usize, report: impl Fn(&str) + Send + 'static) -> Result<Database, String> {
        let dir = dir.to_path_buf();
        let sandbox = tokio::task::spawn_blocking(move || Sandbox::start(&dir, &report))
            .await
            .map_err(|e| format!("sandbox start-up task failed: {e}"))??;
        let cfg = sandbox.pg_config(&application_name());
        let label = format!("local sandbox in {} (PostgreSQL {})", sandbox.dir().display(), sandbox.major_version());
        let pool = plain_pool(cfg, pool_size)?;
        Ok(Database {
            pool,
            kind: BackendKind::Local,
            label,
            cancel_tls: CancelTls::Plain,
            sandbox: std::sync::Mutex::new(Some(sandbox)),
        })
    }

    /// Pool connections to any PostgreSQL named by a URL or a key=value connection string.
    pub fn url(url: &str, pool_size: usize) -> Result<Database, String> {
        let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| {
            format!("--database-url is not a valid PostgreSQL connection string ({e}); expected e.g. postgres://user:password@localhost:5432/postgres")
        })?;
        if cfg.get_application_name().is_none() {
            cfg.application_name(application_name());
        }
        let label = describe_config(&cfg);
        let pool = plain_pool(cfg, pool_size)?;
        Ok(Database { pool, kind: BackendKind::Url, label, cancel_tls: CancelTls::Plain, sandbox: Default::default() })
    }

    /// Ask the server to cancel whatever the connection behind `token` is running. Best effort.
    pub async fn cancel(&self, token: CancelToken) {
        let result = match &self.cancel_tls {
            CancelTls::Plain => token.cancel_query(NoTls).await,
        };
        if let Err(e) = result {
            tracing::warn!("cancel request failed: {e}");
        }
    }

    /// The local sandbox's major PostgreSQL version, if this is one.
    pub fn sandbox_dir(&self) -> Option<std::path::PathBuf> {
        self.sandbox.lock().ok()?.as_ref().map(|s| s.dir().to_path_buf())
    }

    /// Close connections and leave the sandbox (stopping it if this was its last user).
    pub async fn shutdown(&self) {
        self.pool.close();
        let sandbox = self.sandbox.lock().ok().and_then(|mut s| s.take());
        if let Some(mut sandbox) = sandbox {
            match tokio::task::spawn_blocking(move || sandbox.release()).await {
                Ok(Ok(true)) => tracing::info!("local sandbox stopped (this was its last user)"),
                Ok(Ok(false)) => tracing::info!("left the local sandbox running for the other server instances using it"),
                Ok(Err(e)) => tracing::error!("could not stop the local sandbox: {e}"),
                Err(e) => tracing::error!("sandbox shutdown task failed: {e}"),
            }
        }
    }
}

fn plain_pool(cfg: tokio_postgres::Config, pool_size: usize) -> Result<Pool, String> {
    let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(mgr)
        .max_size(pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(15)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|e| format!("cannot build the connection pool: {e}"))
}

/// `user@host:port/db` without the password.
fn describe_config(cfg: &tokio_postgres::Config) -> String {
    let host = cfg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {}@{}:{}/{}",
        cfg.get_user().unwrap_or("?"),
        host,
        port,
        cfg.get_dbname().unwrap_or(cfg.get_user().unwrap_or("postgres"))
    )
}
