//! Database connections: one pool per server, whichever the target (local sandbox, a PostgreSQL URL, or Aurora DSQL),
//! plus what is needed to cancel a running query on it.

pub mod dsql;
pub mod tls;
mod user_types;

use std::path::Path;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{CancelToken, NoTls};

use crate::emulation::sandbox::Sandbox;
use crate::emulation::{Dsql, async_jobs, roles, sys_schema};

/// `application_name` this server sets on every connection.
pub fn application_name() -> String {
    format!("{}/{}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}

/// Which kind of database a [`Database`] is; decides how it is reached and whether tokens and TLS are involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The sandbox PostgreSQL this server started (`--local`).
    Local,
    /// A PostgreSQL given by `--database-url`.
    Url,
    /// An Aurora DSQL cluster (IAM tokens, verified TLS).
    Dsql,
}

/// How to open the side connection that carries a cancel request.
enum CancelTls {
    Plain,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

/// A connected (lazily: connections open on first use) database.
pub struct Database {
    /// The connection pool every call checks out from.
    pub pool: Pool,
    /// What kind of database this is.
    pub kind: BackendKind,
    /// Human description for logs and instructions, never containing secrets.
    pub label: String,
    cancel_tls: CancelTls,
    sandbox: std::sync::Arc<std::sync::Mutex<Option<Sandbox>>>,
    /// The database is made to answer like DSQL (see [`Database::emulation`]).
    emulation: Option<Dsql>,
    /// Held while [`Database::warm_up`] opens the first connection: a call arriving meanwhile waits for that
    /// connection instead of opening a second one (which would cost the same handshakes, started later).
    warming: tokio::sync::Mutex<()>,
}

impl Database {
    /// A database with no sandbox (the local one attaches its own) and no warm-up running.
    fn new(pool: Pool, kind: BackendKind, label: String, cancel_tls: CancelTls, emulation: Option<Dsql>) -> Database {
        Database { pool, kind, label, cancel_tls, sandbox: Default::default(), emulation, warming: Default::default() }
    }

    /// Start (or join) the local sandbox in `dir` and pool connections to it.
    pub async fn local(
        dir: &Path,
        pool_size: usize,
        report: impl Fn(&str) + Send + 'static,
    ) -> Result<Database, String> {
        let job_delay = async_jobs::AsyncJobs::from_env()?.delay();
        let dir = dir.to_path_buf();
        let sandbox = tokio::task::spawn_blocking(move || Sandbox::start(&dir, &report))
            .await
            .map_err(|e| format!("sandbox start-up task failed: {e}"))??;
        tracing::info!("local sandbox {} in {} ms", sandbox.how, sandbox.startup.as_millis());
        let cfg = sandbox.pg_config(&application_name());
        let sys_cfg = sandbox.sys_config(&application_name());
        let label = format!("local sandbox in {} (PostgreSQL {})", sandbox.dir().display(), sandbox.major_version());
        if let Err(e) = housekeeping(&sys_cfg, true, job_delay).await {
            return Err(if roles::is_missing_sys_role(&e) {
                roles::old_sandbox_message(sandbox.dir(), sandbox.socket_dir())
            } else {
                format!("cannot set up {label}: {}", crate::error_chain::text(&e))
            });
        }
        let mut db = Database::local_database(cfg, None, pool_size, label).await?;
        db.sandbox = std::sync::Arc::new(std::sync::Mutex::new(Some(sandbox)));
        Ok(db)
    }

    /// Pool connections to one database of a running local sandbox (a migration rehearsal's scratch database),
    /// answering like DSQL as the sandbox does. `cfg` connects as the tool role; with `sys_cfg` (the housekeeping
    /// role, same database) the `sys` objects and the roles' privileges are set up first. The caller owns the
    /// sandbox registration.
    pub async fn local_database(
        cfg: tokio_postgres::Config,
        sys_cfg: Option<tokio_postgres::Config>,
        pool_size: usize,
        label: String,
    ) -> Result<Database, String> {
        let jobs = async_jobs::AsyncJobs::from_env()?;
        if let Some(sys_cfg) = sys_cfg {
            housekeeping(&sys_cfg, false, jobs.delay())
                .await
                .map_err(|e| format!("cannot set up {label}: {}", crate::error_chain::text(&e)))?;
        }
        let pool = plain_pool(cfg, pool_size)?;
        let client = pool.get().await.map_err(|e| format!("cannot connect to {label}: {e}"))?;
        drop(client);
        Ok(Database::new(pool, BackendKind::Local, label, CancelTls::Plain, Some(Dsql { jobs })))
    }

    /// Pool connections to an Aurora DSQL cluster: a fresh IAM token per connection, verified TLS, connections
    /// retired before DSQL's one-hour limit. Nothing connects until the first tool call.
    pub fn dsql(settings: dsql::DsqlPoolSettings) -> Result<Database, String> {
        let label = format!("Aurora DSQL {} as {}", settings.token.endpoint, settings.token.user);
        let built = dsql::build_pool(settings)?;
        Ok(Database::new(built.pool, BackendKind::Dsql, label, CancelTls::Rustls(built.tls), None))
    }

    /// A pooled connection. The pool never hands out a connection that was closed underneath it. When the local
    /// sandbox's PostgreSQL has stopped (a crash, a kill, a laptop that slept), it is started again under the
    /// sandbox's locks and the connection retried once.
    pub async fn get(&self) -> Result<deadpool_postgres::Object, String> {
        drop(self.warming.lock().await);
        self.get_now().await
    }

    /// Open a connection ahead of the first call (the server does it right after `initialize`) and keep it in the
    /// pool; calls that start meanwhile wait for it and use it.
    pub async fn warm_up(&self) -> Result<(), String> {
        let _gate = self.warming.lock().await;
        self.get_now().await.map(drop)
    }

    async fn get_now(&self) -> Result<deadpool_postgres::Object, String> {
        let err = match self.pool.get().await {
            Ok(client) => return Ok(client),
            Err(e) => e,
        };
        if self.kind != BackendKind::Local || matches!(err, deadpool_postgres::PoolError::Closed) {
            return Err(self.explain_pool_error(&err));
        }
        let sandbox = self.sandbox.clone();
        let revived = tokio::task::spawn_blocking(move || match sandbox.lock() {
            Ok(guard) => guard.as_ref().map(Sandbox::revive).transpose(),
            Err(_) => Err("the sandbox state is unavailable".to_string()),
        })
        .await
        .map_err(|e| format!("sandbox restart task failed: {e}"))?;
        match revived {
            Ok(Some(true)) => tracing::warn!("the local sandbox's PostgreSQL had stopped; started it again"),
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "{}. The local sandbox's PostgreSQL is not running and could not be started again: {e}. Look at \
                     postgres.log in the sandbox directory, or restart the MCP server.",
                    self.explain_pool_error(&err)
                ));
            }
        }
        self.pool.get().await.map_err(|e| self.explain_pool_error(&e))
    }

    /// After statements that create or change types (`CREATE TYPE`, `ALTER TYPE`, `CREATE EXTENSION`): idle
    /// connections are closed, so the next ones open knowing the new types (see `user_types`).
    pub fn types_changed(&self) {
        if self.kind != BackendKind::Dsql {
            self.pool.retain(|_, _| false);
        }
    }

    /// Whether this database is made to answer like Aurora DSQL: async index jobs in `sys.jobs`, the 3,000-row and
    /// 5-minute limits, OCC answers, quotas, `AWS IAM GRANT`. True for the local sandbox, and for `--database-url`
    /// unless `--rules off` asked for plain PostgreSQL; never for a real cluster (DSQL answers for itself).
    pub fn emulation(&self) -> Option<&Dsql> {
        self.emulation.as_ref()
    }

    /// An agent-actionable explanation of a failure to get a connection.
    pub fn explain_pool_error(&self, e: &deadpool_postgres::PoolError) -> String {
        match self.kind {
            BackendKind::Dsql => dsql::explain_connect_error(e),
            _ => match e {
                deadpool_postgres::PoolError::Backend(pg) => match pg.as_db_error() {
                    Some(db) => {
                        format!("the database refused the connection: ERROR {}: {}", db.code().code(), db.message())
                    }
                    None => crate::error_chain::text(pg),
                },
                deadpool_postgres::PoolError::Timeout(t) => {
                    format!("timed out waiting for a connection ({t:?}); the database may be unreachable or overloaded")
                }
                deadpool_postgres::PoolError::Closed => {
                    "the connection pool is closed (the server is shutting down)".into()
                }
                other => other.to_string(),
            },
        }
    }

    /// Pool connections to any PostgreSQL named by a URL or a key=value connection string. TLS follows the URL's
    /// sslmode: `disable` is plaintext; `prefer` (the default) and `require` use TLS verified against the built-in
    /// roots or --ssl-root-cert. With `emulate` (every `--rules` but `off`) the database is made to answer like
    /// DSQL, and the `sys` objects that needs are created in it now (idempotently; said once on stderr).
    pub async fn url(url: &str, pool_size: usize, root_cert: Option<&Path>, emulate: bool) -> Result<Database, String> {
        let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| {
            format!("--database-url is not a valid PostgreSQL connection string ({e}); expected e.g. postgres://user:password@localhost:5432/postgres")
        })?;
        if cfg.get_application_name().is_none() {
            cfg.application_name(application_name());
        }
        if emulate && let Some(options) = cfg.get_options().filter(|o| sets_read_only_at_startup(o)) {
            return Err(read_only_startup_refusal(options));
        }
        if emulate {
            // DSQL's session environment (catalog T03, C07), as the local sandbox has it in its settings.
            let dsql_env = "-c default_transaction_isolation=repeatable\\ read -c TimeZone=UTC";
            let options = match cfg.get_options() {
                Some(o) if !o.trim().is_empty() => format!("{o} {dsql_env}"),
                _ => dsql_env.to_string(),
            };
            cfg.options(&options);
        }
        let label = describe_config(&cfg);
        let emulation = if emulate { Some(Dsql { jobs: async_jobs::AsyncJobs::from_env()? }) } else { None };
        let db = if cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
            let pool = finish_pool(plain_builder(cfg), pool_size, Some(&label))?;
            Database::new(pool, BackendKind::Url, label, CancelTls::Plain, emulation)
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(root_cert)?);
            let mgr = Manager::from_config(cfg, tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
            let pool = finish_pool(Pool::builder(mgr), pool_size, Some(&label))?;
            Database::new(pool, BackendKind::Url, label, CancelTls::Rustls(tls), emulation)
        };
        if let Some(dsql) = db.emulation() {
            let client = db.get().await?;
            sys_schema::install_for_url(&client, &db.label).await?;
            if let Err(e) = client.batch_execute(&async_jobs::sweep_sql(dsql.jobs.delay())).await {
                tracing::warn!("DSQL emulation on {}: cannot complete old async jobs: {e}", db.label);
            }
        }
        Ok(db)
    }

    /// Ask the server to cancel whatever the connection behind `token` is running. Best effort.
    pub async fn cancel(&self, token: CancelToken) {
        let result = match &self.cancel_tls {
            CancelTls::Plain => token.cancel_query(NoTls).await,
            CancelTls::Rustls(tls) => token.cancel_query(tls.clone()).await,
        };
        if let Err(e) = result {
            tracing::warn!("cancel request failed: {e}");
        }
    }

    /// Close connections and leave the sandbox (stopping it if this was its last user).
    pub async fn shutdown(&self) {
        self.pool.close();
        let sandbox = self.sandbox.lock().ok().and_then(|mut s| s.take());
        if let Some(mut sandbox) = sandbox {
            match tokio::task::spawn_blocking(move || sandbox.release()).await {
                Ok(Ok(true)) => tracing::info!("local sandbox stopped (this was its last user)"),
                Ok(Ok(false)) => {
                    tracing::info!("left the local sandbox running for the other server instances using it")
                }
                Ok(Err(e)) => tracing::error!("could not stop the local sandbox: {e}"),
                Err(e) => tracing::error!("sandbox shutdown task failed: {e}"),
            }
        }
    }
}

/// Do these startup options set `default_transaction_read_only` (`-c default_transaction_read_only=on`,
/// `--default-transaction-read-only=on`, any case)? Aurora DSQL refuses that startup parameter at connect time
/// (catalog C13, 2026-12-07), so the DSQL emulation does too. Read-only work uses `BEGIN READ ONLY`, as every call
/// of this server does; no connection this server opens sets it.
fn sets_read_only_at_startup(options: &str) -> bool {
    options.to_ascii_lowercase().replace('-', "_").contains("default_transaction_read_only")
}

fn read_only_startup_refusal(options: &str) -> String {
    format!(
        "--database-url sets default_transaction_read_only as a startup parameter (options={options}); Aurora DSQL \
         refuses that parameter when connecting (catalog C13; probably as `setting configuration parameter \
         \"default_transaction_read_only\" not supported`), so the DSQL emulation refuses it too. Remove it from \
         the connection string: this server makes every call read-only itself (BEGIN READ ONLY) unless it is \
         started with --allow-writes. To use the database as plain PostgreSQL, start with --rules off."
    )
}

/// The housekeeping role's work in one database of the sandbox: the `sys` objects, then the roles and what they
/// may do ([`roles::setup`]; `cluster`: the roles themselves too, from the `postgres` database only). Its own
/// connection, closed when done: no tool session ever runs as this role.
async fn housekeeping(
    sys_cfg: &tokio_postgres::Config,
    cluster: bool,
    job_delay: std::time::Duration,
) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = sys_cfg.connect(NoTls).await?;
    let connection = tokio::spawn(connection);
    let mut result = roles::setup(&client, cluster).await;
    if result.is_ok() {
        // Jobs a stopped server left `submitted` complete "in the background" once past the delay.
        result = client.batch_execute(&async_jobs::sweep_sql(job_delay)).await;
    }
    drop(client);
    let _ = connection.await;
    result
}

fn plain_pool(cfg: tokio_postgres::Config, pool_size: usize) -> Result<Pool, String> {
    finish_pool(plain_builder(cfg), pool_size, None)
}

fn plain_builder(cfg: tokio_postgres::Config) -> deadpool_postgres::PoolBuilder {
    Pool::builder(Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast }))
}

/// The pool, with what every new connection does first: learn the database's types and, for a `--database-url`
/// (`url_label` names it), say once on stderr if the login role is a superuser (in the same flight as the types'
/// query: no round trip more).
fn finish_pool(
    builder: deadpool_postgres::PoolBuilder,
    pool_size: usize,
    url_label: Option<&str>,
) -> Result<Pool, String> {
    // The database's label, and whether a connection has checked the login role yet.
    let url_label = url_label.map(|l| std::sync::Arc::new((l.to_string(), std::sync::atomic::AtomicBool::new(false))));
    builder
        .post_create(deadpool_postgres::Hook::async_fn(move |client: &mut deadpool_postgres::ClientWrapper, _| {
            let url_label = url_label.clone();
            Box::pin(async move {
                match url_label.as_deref() {
                    Some((label, warned)) if !warned.load(std::sync::atomic::Ordering::Relaxed) => {
                        let (_, warning) =
                            futures::join!(user_types::learn(client), roles::superuser_warning(client, label));
                        // Once per pool: the login role is the same for every connection.
                        if !warned.swap(true, std::sync::atomic::Ordering::Relaxed)
                            && let Some(warning) = warning
                        {
                            tracing::warn!("{warning}");
                        }
                    }
                    _ => user_types::learn(client).await,
                }
                Ok(())
            })
        }))
        .max_size(pool_size.max(1))
        // The connection used last is used next: one warm connection serves calls made one at a time.
        .queue_mode(deadpool_postgres::QueueMode::Lifo)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(15)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|e| format!("cannot build the connection pool: {e}"))
}

/// `user@host:port/db` without the password.
fn describe_config(cfg: &tokio_postgres::Config) -> String {
    let host = cfg.get_hosts().first().map(crate::platform::describe_host).unwrap_or_else(|| "localhost".into());
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {}@{}:{}/{}",
        cfg.get_user().unwrap_or("?"),
        host,
        port,
        cfg.get_dbname().unwrap_or(cfg.get_user().unwrap_or("postgres"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_startup_parameter_is_recognised_in_any_spelling() {
        for options in [
            "-c default_transaction_read_only=on",
            "-cdefault_transaction_read_only=true",
            "--default-transaction-read-only=on",
            "-c statement_timeout=5s -c DEFAULT_TRANSACTION_READ_ONLY=1",
        ] {
            assert!(sets_read_only_at_startup(options), "{options}");
        }
        assert!(!sets_read_only_at_startup("-c default_transaction_isolation=repeatable\\ read -c TimeZone=UTC"));
        assert!(!sets_read_only_at_startup("-c transaction_isolation=serializable"));
        let msg = read_only_startup_refusal("-c default_transaction_read_only=on");
        assert!(msg.contains("catalog C13") && msg.contains("BEGIN READ ONLY") && msg.contains("--rules off"), "{msg}");
    }
}
