//! Migrations the DSQL way: a SQL file planned into DSQL-legal steps ([`plan`]), run step by step with a history
//! table so a re-run is a no-op or resumes ([`apply`], [`history`]), async jobs waited for ([`jobs`]), large
//! UPDATE/DELETE statements run as batched backfills keyed by the primary key ([`backfill`]), and the whole plan
//! rehearsed first in a scratch database of the local sandbox ([`rehearse`]).
//!
//! The MCP tools are thin wrappers: `tools/apply_migration.rs`, `tools/list_migrations.rs`, `tools/backfill.rs`.

pub mod apply;
pub mod backfill;
pub mod error;
pub mod history;
pub mod jobs;
pub mod plan;
pub mod rehearse;
pub mod rewrite;

use serde_json::Value;

use crate::exec::{self, ErrorContext, ExecError, Limits, Outcome, Statement, TxMode};
use crate::pool::Database;
pub use error::MigrateError;

/// Progress callback: (progress, total, message). `progress` only grows within one tool call.
pub type Progress<'a> = &'a (dyn Fn(u64, Option<u64>, String) + Sync);

/// What the migration code needs from the server: the database, the checks' policy and the limits.
pub struct Ctx<'a> {
    /// The database the migration runs on.
    pub db: &'a Database,
    /// The checks each step is held to (the server's, as for `transact`).
    pub policy: crate::sql::Policy,
    /// Time and retry bounds; the internal reads and writes lift the row limit.
    pub limits: Limits,
    /// The calling tool's name, for error messages.
    pub tool: &'static str,
}

impl Ctx<'_> {
    /// One internal read (catalog, history), not subject to the statement checks.
    pub async fn read(&self, sql: &str, params: Vec<Value>) -> Result<Outcome, ExecError> {
        let st = [Statement { text: sql.to_string(), command: "SELECT".into(), params, quota: Vec::new() }];
        let ctx = ErrorContext::default();
        exec::run(self.db, &st, TxMode::ReadOnly, self.limits.unbounded_rows(), &ctx, &|_, _| {}).await
    }

    /// One read-write transaction (`exec::run` runs it again on conflicts, 40001); returns the outcome and the
    /// attempts it took.
    pub async fn write(&self, statements: &[Statement]) -> Result<(Outcome, u32), ExecError> {
        let ctx = ErrorContext::default();
        let outcome =
            exec::run(self.db, statements, TxMode::ReadWrite, self.limits.unbounded_rows(), &ctx, &|_, _| {}).await?;
        let attempts = outcome.attempts.max(1);
        Ok((outcome, attempts))
    }
}

/// `name` as a quoted identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A statement that needs no checks (built by this module from catalog names).
pub fn internal(text: impl Into<String>, command: &str, params: Vec<Value>) -> Statement {
    Statement { text: text.into(), command: command.into(), params, quota: Vec::new() }
}

/// Sends progress messages with a counter that only grows (MCP requires increasing progress values).
pub struct Reporter<'a> {
    send: Progress<'a>,
    count: std::sync::atomic::AtomicU64,
}

impl<'a> Reporter<'a> {
    /// A reporter whose first message is numbered 1.
    pub fn new(send: Progress<'a>) -> Reporter<'a> {
        Reporter { send, count: std::sync::atomic::AtomicU64::new(0) }
    }

    /// Sends `message` with the next progress number (no total).
    pub fn note(&self, message: String) {
        let n = self.count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        (self.send)(n, None, message);
    }
}
