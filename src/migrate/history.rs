//! The migration history: one row per migration name in `public.mcp_migrations` (checksum of the file, its
//! planned steps as JSON text (not jsonb, which DSQL clusters before 2026-06-05 lack), how many are applied, status, times). Created on first use, in its own transaction (DDL).
//! A step's progress is recorded in the step's own transaction when the step is data (so it is exactly once), and
//! right after it when the step is DDL (DSQL allows no DML beside DDL).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Ctx, MigrateError, internal};
use crate::exec::Statement;

/// The history table, created in `public` on a migration's first run.
pub const TABLE: &str = "public.mcp_migrations";

const CREATE: &str = "CREATE TABLE IF NOT EXISTS public.mcp_migrations (\
    name text PRIMARY KEY, \
    checksum text NOT NULL, \
    status text NOT NULL, \
    steps_total integer NOT NULL, \
    steps_done integer NOT NULL, \
    steps text NOT NULL, \
    error text, \
    started_at timestamptz NOT NULL DEFAULT now(), \
    applied_at timestamptz, \
    duration_ms bigint NOT NULL DEFAULT 0)";

const EXISTS: &str = "SELECT count(*) AS n FROM information_schema.tables \
    WHERE table_schema = 'public' AND table_name = 'mcp_migrations'";

const COLUMNS: &str = "name, checksum, status, steps_total, steps_done, steps, error, \
    started_at::text AS started_at, applied_at::text AS applied_at, duration_ms";

/// Status value: every step is applied.
pub const APPLIED: &str = "applied";
/// Status value: a run stopped on an error after `steps_done` steps; running the migration again resumes.
pub const PARTIAL: &str = "partial";
/// Status value: a run started and has not recorded its end (in progress, or the process died).
pub const RUNNING: &str = "running";

/// One row of the history table, as `list_migrations` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The migration's name (the primary key).
    pub name: String,
    /// Hex sha256 of the migration's SQL text when it last ran; a different file under the same name is refused.
    pub checksum: String,
    /// [`APPLIED`], [`PARTIAL`] or [`RUNNING`].
    pub status: String,
    /// Steps in the recorded plan.
    pub steps_total: u64,
    /// Steps applied so far; a resumed run starts after them.
    pub steps_done: u64,
    /// The planned steps, as JSON (stored as text).
    pub steps: Value,
    /// Why the last run stopped, when `status` is [`PARTIAL`].
    pub error: Option<String>,
    /// When the first run started, as PostgreSQL's `timestamptz` text.
    pub started_at: Option<String>,
    /// When the last step was applied, as `timestamptz` text; `None` until then.
    pub applied_at: Option<String>,
    /// Milliseconds spent applying steps, summed over runs.
    pub duration_ms: u64,
}

fn record(row: &Map<String, Value>) -> Record {
    let s = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| match row.get(k) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(v)) => v.parse().unwrap_or(0),
        _ => 0,
    };
    let steps = match row.get("steps") {
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    Record {
        name: s("name").unwrap_or_default(),
        checksum: s("checksum").unwrap_or_default(),
        status: s("status").unwrap_or_default(),
        steps_total: n("steps_total"),
        steps_done: n("steps_done"),
        steps,
        error: s("error"),
        started_at: s("started_at"),
        applied_at: s("applied_at"),
        duration_ms: n("duration_ms"),
    }
}

/// Whether the history table exists yet (one catalog read).
pub async fn exists(ctx: &Ctx<'_>) -> Result<bool, MigrateError> {
    let out = ctx
        .read(EXISTS, vec![])
        .await
        .map_err(|e| MigrateError::Database(format!("cannot read the migration history: {e}")))?;
    Ok(out.rows.first().and_then(|r| r.get("n")).is_some_and(|n| n != &json!(0) && n != &json!("0")))
}

/// Create the history table unless it exists.
pub async fn ensure(ctx: &Ctx<'_>) -> Result<(), MigrateError> {
    if exists(ctx).await? {
        return Ok(());
    }
    ctx.write(&[internal(CREATE, "CREATE TABLE", vec![])])
        .await
        .map(|_| ())
        .map_err(|e| MigrateError::Database(format!("cannot create the migration history table {TABLE}: {e}")))
}

/// The record of migration `name`, or `None` if it never ran (or no history table exists).
pub async fn get(ctx: &Ctx<'_>, name: &str) -> Result<Option<Record>, MigrateError> {
    if !exists(ctx).await? {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM {TABLE} WHERE name = $1");
    let out = ctx
        .read(&sql, vec![json!(name)])
        .await
        .map_err(|e| MigrateError::Database(format!("cannot read the migration history: {e}")))?;
    Ok(out.rows.first().map(record))
}

/// Every record, oldest first (empty when no history table exists).
pub async fn list(ctx: &Ctx<'_>) -> Result<Vec<Record>, MigrateError> {
    if !exists(ctx).await? {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLUMNS} FROM {TABLE} ORDER BY started_at, name");
    let out = ctx
        .read(&sql, vec![])
        .await
        .map_err(|e| MigrateError::Database(format!("cannot read the migration history: {e}")))?;
    Ok(out.rows.iter().map(record).collect())
}

/// Record that `name` (with this checksum and plan) is running, keeping `steps_done`.
pub async fn start(ctx: &Ctx<'_>, name: &str, checksum: &str, steps: &Value, done: usize) -> Result<(), MigrateError> {
    let total = steps.as_array().map_or(0, Vec::len);
    let sql = format!(
        "INSERT INTO {TABLE} (name, checksum, status, steps_total, steps_done, steps) \
         VALUES ($1, $2, '{RUNNING}', $3, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, status = EXCLUDED.status, \
         steps_total = EXCLUDED.steps_total, steps_done = EXCLUDED.steps_done, steps = EXCLUDED.steps, error = NULL"
    );
    let params = vec![json!(name), json!(checksum), json!(total), json!(done), json!(steps.to_string())];
    ctx.write(&[internal(sql, "INSERT", params)])
        .await
        .map(|_| ())
        .map_err(|e| MigrateError::Database(format!("cannot record the migration {name} in {TABLE}: {e}")))
}

/// The statement that records `done` steps applied (run inside a data step's transaction, or alone).
pub fn step_done(name: &str, done: usize, ms: u64) -> Statement {
    internal(
        format!("UPDATE {TABLE} SET steps_done = $2, duration_ms = duration_ms + $3 WHERE name = $1"),
        "UPDATE",
        vec![json!(name), json!(done), json!(ms)],
    )
}

/// Records `done` steps applied in a transaction of its own (after a DDL step, which cannot share one with DML).
pub async fn record_step(ctx: &Ctx<'_>, name: &str, done: usize, ms: u64) -> Result<(), MigrateError> {
    ctx.write(&[step_done(name, done, ms)]).await.map(|_| ()).map_err(|e| {
        MigrateError::Database(format!(
            "step {done} was applied, but recording it in {TABLE} failed: {e}. Re-run the migration: it resumes"
        ))
    })
}

/// Record the end of a run: `applied`, or `partial` with the error.
pub async fn finish(ctx: &Ctx<'_>, name: &str, error: Option<&str>, done: usize) -> Result<(), MigrateError> {
    let (sql, params) = match error {
        None => (
            format!("UPDATE {TABLE} SET status = '{APPLIED}', applied_at = now(), error = NULL WHERE name = $1"),
            vec![json!(name)],
        ),
        Some(e) => (
            format!("UPDATE {TABLE} SET status = '{PARTIAL}', steps_done = $2, error = $3 WHERE name = $1"),
            vec![json!(name), json!(done), json!(crate::exec::untrusted::unsealed(e))],
        ),
    };
    ctx.write(&[internal(sql, "UPDATE", params)])
        .await
        .map(|_| ())
        .map_err(|e| MigrateError::Database(format!("cannot record the end of migration {name} in {TABLE}: {e}")))
}
