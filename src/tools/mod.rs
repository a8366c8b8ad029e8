//! The MCP tools, one file each, and the environment they run in: settings, the database (opened on first use and
//! shared), and helpers that shape arguments and results the same way for every tool. Every call reaches its tool
//! through the registry ([`registry`]: the table of tools and the one dispatch); a new tool is an entry there.

pub mod apply_migration;
pub mod backfill;
pub mod docs;
pub mod dsql_lint;
pub mod get_schema;
pub mod list_migrations;
pub mod readonly_query;
pub mod registry;
pub mod transact;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::config::{ServerArgs, Target};
use crate::exec::{Limits, Outcome};
use crate::pool::Database;

/// Largest `sql` accepted by any tool, in characters (the Python server's dsql_lint limit, applied everywhere).
pub const MAX_SQL_CHARS: usize = 1_000_000;

/// The schema of one bound value. Any JSON value binds (scalars as text, arrays as PostgreSQL arrays, objects as
/// json text, arrays up to two dimensions); each branch names one type so strict schema linters and single-type
/// dialects accept it.
pub fn param_value_schema() -> Value {
    json!({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"},
            {"type": "null"}, {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"},
            {"type": "boolean"}, {"type": "null"}]}}]}, "description": "binds to a PostgreSQL array"},
        {"type": "object", "additionalProperties": true, "description": "binds as json text"}]})
}

/// `--confirm-destructive`: what happens before a statement that destroys data or schema runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmDestructive {
    /// Ask the user through the client; run with a warning when the client cannot ask.
    Ask,
    /// Ask the user through the client; refuse when the client cannot ask.
    Refuse,
    /// Never ask.
    Allow,
}

/// What the tools need to know about how the server was started.
#[derive(Debug, Clone)]
pub struct Settings {
    pub allow_writes: bool,
    pub limits: Limits,
    pub rules: String,
    pub tenant_column: Option<String>,
    /// `--confirm-destructive`: ask, refuse or allow.
    pub confirm_destructive: ConfirmDestructive,
    pub dsql_version: crate::sql::DsqlVersion,
    pub pool_size: usize,
    pub target: Target,
    pub token_expiry: u64,
    pub profile: Option<String>,
    pub hostaddr: Option<String>,
    pub ssl_root_cert: Option<std::path::PathBuf>,
    /// The local sandbox directory migration rehearsals use.
    pub rehearsal_dir: std::path::PathBuf,
}

impl Settings {
    pub fn from_args(args: &ServerArgs) -> Settings {
        Settings {
            allow_writes: args.allow_writes,
            limits: Limits {
                max_rows: args.max_rows.max(1),
                max_bytes: args.max_result_bytes.max(1024),
                timeout: args.statement_timeout(),
                max_retries: args.max_retries,
            },
            rules: args.rules.clone(),
            tenant_column: args.tenant_column.clone(),
            confirm_destructive: match args.confirm_destructive.as_str() {
                "allow" => ConfirmDestructive::Allow,
                "refuse" => ConfirmDestructive::Refuse,
                _ => ConfirmDestructive::Ask,
            },
            dsql_version: args.dsql_version,
            pool_size: args.pool_size,
            target: args.target(),
            token_expiry: args.token_expiry,
            profile: args.profile.clone(),
            hostaddr: args.hostaddr.clone(),
            ssl_root_cert: args.ssl_root_cert.clone(),
            rehearsal_dir: args.rehearsal_dir(),
        }
    }

    pub fn mode_label(&self) -> &'static str {
        if self.allow_writes { "read-write" } else { "read-only" }
    }
}

/// The tools' shared environment.
pub struct Env {
    pub settings: Settings,
    /// The remote documentation server, when --knowledge-server asks for one.
    pub knowledge: Option<crate::docs::remote::KnowledgeServer>,
    /// Cancelled when the client goes away (EOF on stdin): every running call stops its statement.
    pub stopping: crate::exec::cancel::CancellationToken,
    db: tokio::sync::Mutex<Option<Arc<Database>>>,
    /// Statements checked before (the policy is this server's, fixed for the process).
    checked: crate::sql::CheckCache,
}

impl Env {
    pub fn new(settings: Settings, knowledge: Option<crate::docs::remote::KnowledgeServer>) -> Env {
        Env {
            settings,
            knowledge,
            stopping: Default::default(),
            db: tokio::sync::Mutex::new(None),
            checked: Default::default(),
        }
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
                let emulate = self.settings.rules != "off";
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

fn unconfigured_message(missing: &[crate::config::Missing]) -> String {
    let list: Vec<String> = missing.iter().map(|m| format!("- {m}")).collect();
    format!(
        "no database is configured, so this tool cannot run. Missing:\n{}\nSet these in the MCP client's \
         configuration for this server and restart it. The documentation tools and dsql_lint work without a \
         database.",
        list.join("\n")
    )
}

/// Check a call's statements, then get the database. The checks run before any connection is opened (a refused
/// statement needs no database), except that tenant scoping must read the catalog first.
pub async fn check_then_connect(
    env: &Env,
    tool: crate::sql::Tool,
    inputs: &[crate::sql::StatementInput<'_>],
) -> Result<(Arc<Database>, crate::sql::Checked), String> {
    let early_db = match env.settings.tenant_column {
        Some(_) => Some(env.database().await?),
        None => None,
    };
    let tenant = match &early_db {
        Some(db) => tenant_tables(env, db).await?,
        None => None,
    };
    let checked = check_statements(&env.checked, tool, inputs, transact::policy(env), tenant).await?;
    let db = match early_db {
        Some(db) => db,
        None => env.database().await?,
    };
    Ok((db, checked))
}

/// Calls with more SQL than this are checked on a blocking thread. The server runs on one thread (a current-thread
/// runtime: fewer thread wake-ups per call, see `main`); parsing a megabyte of SQL takes long enough (~15 ms per
/// 64 KiB of short statements) that other calls, pings and cancellations would wait behind it.
const CHECK_OFF_THREAD_BYTES: usize = 64 * 1024;

async fn check_statements(
    cache: &crate::sql::CheckCache,
    tool: crate::sql::Tool,
    inputs: &[crate::sql::StatementInput<'_>],
    policy: crate::sql::Policy,
    tenant: Option<crate::sql::TenantCatalog>,
) -> Result<crate::sql::Checked, String> {
    let size: usize = inputs.iter().map(|i| i.sql.len()).sum();
    if size < CHECK_OFF_THREAD_BYTES {
        // With tenant scoping the verdict also depends on the database's tables: never reused.
        let reusable = tenant.is_none();
        if reusable && let Some(checked) = cache.get(tool, inputs) {
            return Ok(checked);
        }
        let checked = crate::sql::check(tool, inputs, &policy, tenant.as_ref()).map_err(|f| f.to_string())?;
        if reusable {
            cache.put(tool, inputs, &checked);
        }
        return Ok(checked);
    }
    let owned: Vec<(String, Option<usize>)> = inputs.iter().map(|i| (i.sql.to_string(), i.param_count)).collect();
    tokio::task::spawn_blocking(move || {
        let inputs: Vec<crate::sql::StatementInput<'_>> = owned
            .iter()
            .map(|(sql, param_count)| crate::sql::StatementInput { sql, param_count: *param_count })
            .collect();
        crate::sql::check(tool, &inputs, &policy, tenant.as_ref()).map_err(|f| f.to_string())
    })
    .await
    .map_err(|e| format!("checking the statements failed: {e}"))?
}

/// With --tenant-column, what tenant scoping needs from the catalog, in one query (the round trip this call
/// already made for the table list): tables having that column, views and materialized views, and user-defined
/// functions and procedures, outside `pg_catalog`, `information_schema` and `sys` (DSQL's own schema, emulated by
/// the server; `sys.wait_for_job` and `sys.jobs` stay usable). Read for each call so new objects are covered at
/// once. `None` when tenant scoping is off.
pub async fn tenant_tables(env: &Env, db: &Database) -> Result<Option<crate::sql::TenantCatalog>, String> {
    let Some(column) = &env.settings.tenant_column else { return Ok(None) };
    const CATALOG: &str = "SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'v' ELSE 't' END AS k, n.nspname AS s, \
         c.relname AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE (c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sys')) \
         OR (c.relkind IN ('r', 'p', 'f') AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = c.oid AND a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped)) \
         UNION ALL SELECT 'f', n.nspname, p.proname FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'sys')";
    let st = [crate::exec::Statement {
        text: CATALOG.into(),
        command: "SELECT".into(),
        params: vec![Value::String(column.clone())],
        quota: Vec::new(),
    }];
    let ctx = crate::exec::ErrorContext::default();
    let limits = env.settings.limits.unbounded_rows();
    let outcome = crate::exec::run(db, &st, crate::exec::TxMode::ReadOnly, limits, &ctx, &|_, _| {})
        .await
        .map_err(|e| format!("cannot read which tables have the tenant column {column}: {e}"))?;
    let mut catalog = crate::sql::TenantCatalog::default();
    for row in outcome.rows {
        let field = |k: &str| row.get(k).and_then(Value::as_str);
        if let (Some(kind), Some(schema), Some(name)) = (field("k"), field("s"), field("n")) {
            catalog.add(kind, schema, name);
        }
    }
    Ok(Some(catalog))
}

/// With --tenant-column, every statement of a migration file as written is scoped like a `transact` statement
/// (data statements pin the tenant, the tenant column is not dropped, renamed or retyped, no views or
/// user-defined functions in data statements). The rewrites `fix` makes from DDL (the backfill that gives a new
/// column its default) belong to that DDL and touch every tenant's rows, as the DDL itself would.
pub async fn tenant_check_script(env: &Env, sql: &str) -> Result<(), String> {
    let Some(column) = &env.settings.tenant_column else { return Ok(()) };
    let db = env.database().await?;
    let Some(mut catalog) = tenant_tables(env, &db).await? else { return Ok(()) };
    for s in crate::sql::split_script(sql)? {
        crate::sql::tenant_scoped(&s.text, column, &mut catalog)
            .map_err(|f| format!("migration statement at line {} was not applied, nor any other: {f}", s.line))?;
    }
    Ok(())
}

/// Parse a tool's arguments, turning serde's complaint into a sentence that names the tool and the expected shape.
pub fn parse_args<T: DeserializeOwned>(tool: &str, args: Option<Map<String, Value>>, shape: &str) -> Result<T, String> {
    parse_args_ref(tool, args.as_ref(), shape)
}

/// [`parse_args`] without taking the arguments: for callers that still need them afterwards (no copy).
pub fn parse_args_ref<T: DeserializeOwned>(
    tool: &str,
    args: Option<&Map<String, Value>>,
    shape: &str,
) -> Result<T, String> {
    let empty = Map::new();
    T::deserialize(args.unwrap_or(&empty)).map_err(|e| format!("invalid arguments for {tool}: {e}. Expected {shape}."))
}

/// Reject empty or oversized SQL before anything else happens.
pub fn check_sql_text(tool: &str, field: &str, sql: &str) -> Result<(), String> {
    if sql.trim().is_empty() {
        return Err(format!("{tool} needs a SQL statement in `{field}`, but it is empty"));
    }
    let chars = sql.chars().count();
    if chars > MAX_SQL_CHARS {
        return Err(format!(
            "`{field}` is {chars} characters long; the limit is {MAX_SQL_CHARS}. Split the work into several calls."
        ));
    }
    Ok(())
}

/// The structured result shared by the database tools.
pub fn rows_result(outcome: Outcome, warnings: Vec<String>, with_statements: bool) -> Value {
    let row_count = outcome.rows.len();
    let note = truncation_note(&outcome);
    // The rows are moved in, not written out through `json!` (which copies every value by serializing it).
    let rows = Value::Array(outcome.rows.into_iter().map(Value::Object).collect());
    let mut v = json!({
        "columns": outcome.columns,
        "row_count": row_count,
        "truncated": outcome.truncated,
    });
    v["result"] = rows;
    if with_statements {
        v["statements"] = json!(outcome.statements);
    }
    v["attempts"] = json!(outcome.attempts);
    if let Some(note) = note {
        v["truncation"] = json!(note);
    }
    if !warnings.is_empty() {
        v["warnings"] = json!(warnings);
    }
    v
}

/// What an agent needs to know when not every row (or column, or value) came back: how many did, why, and how
/// to get the rest.
fn truncation_note(outcome: &Outcome) -> Option<String> {
    let returned = outcome.rows.len();
    let total = outcome.rows_seen;
    let mut notes = Vec::new();
    match outcome.stopped_by {
        Some(crate::exec::Limit::Rows(max)) => notes.push(format!(
            "Returned {returned} of {total} rows (the server's --max-rows is {max}). Get the rest page by page with \
             ORDER BY … LIMIT {max} OFFSET {returned}, or aggregate in SQL."
        )),
        Some(crate::exec::Limit::Bytes(max)) => notes.push(format!(
            "Returned {returned} of {total} rows: the answer stopped at the server's --max-result-bytes ({max} \
             bytes). Get the rest with ORDER BY … LIMIT {returned} OFFSET {returned}, or select fewer or shorter \
             columns."
        )),
        None => {}
    }
    if let Some((shown, all)) = outcome.columns_cut {
        notes.push(format!(
            "Returned the first {shown} of {all} columns: their names and types alone would pass the server's \
             --max-result-bytes. Select the columns you need by name."
        ));
    }
    if outcome.values_cut {
        notes.push(
            "A single row was larger than that limit: its longest values were cut and end with \"…[cut: N of M \
             bytes shown]\"; select parts of them (substr(col, 1, N)) instead."
                .to_string(),
        );
    }
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// Output schema of the database tools: upstream's `{"result": [objects]}` plus our fields.
pub fn rows_output_schema(title: &str, with_statements: bool) -> Value {
    let mut props = json!({
        "result": {"type": "array", "items": {"type": "object", "additionalProperties": true}, "title": "Result",
                   "description": "Rows of the (last) statement, one object per row keyed by column name"},
        "columns": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "type": {"type": "string"}}},
                    "description": "Column names and PostgreSQL types, in order"},
        "row_count": {"type": "integer", "description": "Number of rows in result"},
        "truncated": {"type": "boolean", "description": "True when not everything came back: rows (--max-rows or --max-result-bytes), columns or values (--max-result-bytes)"},
        "truncation": {"type": "string", "description": "When truncated: how many rows came back, which limit stopped them, and how to get the rest"},
        "attempts": {"type": "integer", "description": "How many times the transaction ran (more than 1 after optimistic-concurrency conflicts, retried automatically)"},
        "warnings": {"type": "array", "items": {"type": "string"}, "description": "DSQL rule warnings"},
    });
    if with_statements {
        props["statements"] = json!({"type": "array", "items": {"type": "object", "properties": {
            "command": {"type": "string"}, "rows_affected": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}},
            "description": "Per statement: command tag and affected-row count"});
    }
    json!({"type": "object", "properties": props, "required": ["result"], "title": title})
}
