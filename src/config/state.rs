//! `Env`, the application state built from [`Settings`]: the database (opened on first use and shared), the
//! remote documentation server, the statements already checked, and the token that stops every running call when
//! the client goes away. The server, `call` and the tools share one per process.

use std::sync::Arc;
use std::time::Duration;

use super::settings::Settings;
use super::target::{Missing, Target};
use crate::pool::Database;

/// The tools' shared environment.
pub struct Env {
    /// The decisions made from the flags and environment at startup.
    pub settings: Settings,
    /// The remote documentation server, when --knowledge-server asks for one.
    pub knowledge: Option<crate::docs::remote::KnowledgeServer>,
    /// The audit log every tool call is recorded in (`--audit-log`), opened at startup.
    pub audit: Option<Arc<crate::audit::Log>>,
    /// Cancelled when the client goes away (EOF on stdin): every running call stops its statement.
    pub stopping: crate::exec::cancel::CancellationToken,
    db: tokio::sync::Mutex<Option<Arc<Database>>>,
    /// Statements checked before (the policy is this server's, fixed for the process).
    checked: crate::sql::CheckCache,
}

impl Env {
    /// The state for these settings; fails on a `--knowledge-server` that cannot be used (bad URL or timeout) and
    /// on an `--audit-log` that cannot be opened or is not private. Nothing is connected yet.
    pub fn new(settings: Settings) -> Result<Env, String> {
        let knowledge = match &settings.knowledge {
            None => None,
            Some(k) => Some(
                crate::docs::remote::KnowledgeServer::new(&k.url, k.timeout)
                    .map_err(|e| format!("--knowledge-server: {e}"))?,
            ),
        };
        let audit = match &settings.audit_log {
            Some(path) => Some(crate::audit::Log::open(path, settings.audit_required)?),
            None => None,
        };
        Ok(Env {
            settings,
            knowledge,
            audit,
            stopping: Default::default(),
            db: tokio::sync::Mutex::new(None),
            checked: Default::default(),
        })
    }

    /// Statements checked before under this process's policy, for reuse.
    pub fn check_cache(&self) -> &crate::sql::CheckCache {
        &self.checked
    }

    /// The database, connected on first use. A failure is not remembered: the next call tries again (the user may
    /// have fixed the cause meanwhile).
    pub async fn database(&self) -> Result<Arc<Database>, String> {
        let mut slot = self.db.lock().await;
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        // Boxed: opening (a sandbox, a TLS pool) is a large state machine that every call would otherwise carry.
        let db = Arc::new(Box::pin(self.open()).await?);
        *slot = Some(db.clone());
        Ok(db)
    }

    async fn open(&self) -> Result<Database, String> {
        let pool_size = self.settings.pool_size;
        match &self.settings.target {
            Target::Local { dir } => {
                let db = Database::local(dir, pool_size, |msg| tracing::info!("{msg}")).await?;
                tracing::info!("local sandbox ready: {}", db.label);
                Ok(db)
            }
            Target::Url { url } => {
                let emulate = self.settings.emulates_dsql();
                Database::url(url, pool_size, self.settings.ssl_root_cert.as_deref(), emulate).await
            }
            Target::Dsql(t) => {
                let token = crate::auth::TokenSettings {
                    endpoint: t.endpoint.clone(),
                    region: t.region.clone(),
                    user: t.user.clone(),
                    expires_in: Duration::from_secs(self.settings.token_expiry),
                    profile: self.settings.profile.clone(),
                };
                let mut pool = crate::pool::dsql::DsqlPoolSettings::new(token);
                pool.hostaddr = self.settings.hostaddr.clone();
                pool.ssl_root_cert = self.settings.ssl_root_cert.clone();
                pool.pool_size = pool_size.max(1);
                Database::dsql(pool)
            }
            Target::Unconfigured { missing } => Err(unconfigured_message(missing)),
        }
    }

    /// Open one connection in the background so the first call does not pay for TCP, TLS and authentication. A
    /// failure is only reported (on stderr); the first call tries again and says why if it fails too.
    pub fn warm_up(self: &Arc<Self>) {
        if matches!(self.settings.target, Target::Unconfigured { .. }) {
            return;
        }
        let env = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let result = match env.database().await {
                Ok(db) => db.warm_up().await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => tracing::info!("database connection ready in {} ms", started.elapsed().as_millis()),
                Err(e) => tracing::warn!("could not open a database connection in the background: {e}"),
            }
        });
    }

    /// Close the pool and leave the local sandbox, if one was started.
    pub async fn shutdown(&self) {
        let db = self.db.lock().await.take();
        if let Some(db) = db {
            db.shutdown().await;
        }
    }
}

fn unconfigured_message(missing: &[Missing]) -> String {
    let list: Vec<String> = missing.iter().map(|m| format!("- {m}")).collect();
    format!(
        "no database is configured, so this tool cannot run. Missing:\n{}\nSet these in the MCP client's \
         configuration for this server and restart it. The documentation tools and dsql_lint work without a \
         database.",
        list.join("\n")
    )
}
