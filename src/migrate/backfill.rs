//! Batched backfills: an UPDATE (or DELETE) run in batches of at most `batch_size` rows, each its own
//! transaction (run again on conflicts by `exec::run`), walking the primary key upwards so every matching row is visited once per
//! run and the walk always ends. A re-run after an interruption starts again from the lowest key: with a WHERE that
//! selects only rows still to do (`col IS NULL`), it changes each remaining row exactly once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ctx, MigrateError, quote_ident};
use crate::exec::Statement;
use crate::sql;

/// Rows per batch when the caller gives no `batch_size`.
pub const DEFAULT_BATCH: usize = 1000;
/// DSQL's per-transaction row limit.
pub const MAX_BATCH: usize = 3000;

/// What to change: `UPDATE table SET set WHERE filter`, or `DELETE FROM table WHERE filter` with `delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillSpec {
    /// The table, as SQL text (optionally schema-qualified); it must have a primary key.
    pub table: String,
    /// The SET list as SQL text (`a = b * 2, c = NULL`); `None` for a DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// The WHERE condition as SQL text; `None` for every row.
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Delete the matching rows instead of updating them.
    pub delete: bool,
    /// Rows per batch (one transaction each), at most [`MAX_BATCH`].
    pub batch_size: usize,
}

/// What a backfill run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackfillReport {
    /// Rows changed (or deleted) by this run.
    pub rows: u64,
    /// Batches that changed at least one row (each one committed transaction).
    pub batches: u64,
    /// Batches run again after an optimistic conflict (40001; `exec::run` retries them).
    pub retries: u64,
    /// The primary-key columns the walk followed.
    pub key: Vec<String>,
}

/// The two statements of a backfill: the first batch, and the batches after a key (`$1…$n`).
#[derive(Debug, Clone)]
pub struct Prepared {
    first: Statement,
    next: Statement,
    key: Vec<String>,
}

impl BackfillSpec {
    /// What the spec does, in one line.
    pub fn describe(&self) -> String {
        let filter = self.filter.as_deref().map(|f| format!(" WHERE {f}")).unwrap_or_default();
        match (&self.set, self.delete) {
            (_, true) => format!("DELETE FROM {}{filter}", self.table),
            (Some(set), false) => format!("UPDATE {} SET {set}{filter}", self.table),
            (None, false) => format!("UPDATE {} (no SET){filter}", self.table),
        }
    }

    /// Argument errors, before any database work.
    pub fn validate(&self) -> Result<(), MigrateError> {
        if self.table.trim().is_empty() {
            return Err(MigrateError::Invalid("backfill needs a `table` (table or schema.table)".into()));
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH {
            return Err(MigrateError::Invalid(format!(
                "batch_size {} is out of range: use 1 to {MAX_BATCH} (DSQL allows at most {MAX_BATCH} changed rows per \
                 transaction); {DEFAULT_BATCH} is a good default",
                self.batch_size
            )));
        }
        match (&self.set, self.delete) {
            (Some(s), false) if !s.trim().is_empty() => {}
            (None | Some(_), false) => {
                return Err(MigrateError::Invalid(
                    "backfill needs `set` (e.g. \"status = 'active'\"), or `delete: true` to delete the matching rows"
                        .into(),
                ));
            }
            (Some(_), true) => {
                return Err(MigrateError::Invalid(
                    "`set` and `delete: true` exclude each other: give one of them".into(),
                ));
            }
            (None, true) => {}
        }
        // The pieces must make exactly one statement of the expected shape (no `;`, no smuggled clauses).
        let text = self.describe();
        let one = sql::split_script(&text).map_err(|e| MigrateError::Invalid(format!("backfill arguments: {e}")))?;
        let parsed = (one.len() == 1).then(|| sql::parse_statement(&text)).flatten();
        let shape = parsed.as_ref().and_then(super::rewrite::as_backfill);
        if shape.is_none() {
            return Err(MigrateError::Invalid(format!(
                "the backfill arguments do not make one simple statement: `{text}`. Give `table` as a plain name, \
                 `set` as assignments (a = 1, b = b * 2) and `where` as a condition, without `;`, RETURNING, FROM or \
                 aliases"
            )));
        }
        Ok(())
    }

    /// Look up the primary key and build the batch statements, checked like any `transact` statement.
    /// `tenant`: with --tenant-column, the tables that have it (the batch statement is scoped like any other).
    pub async fn prepare(
        &self,
        ctx: &Ctx<'_>,
        tenant: Option<&crate::sql::TenantCatalog>,
    ) -> Result<Prepared, MigrateError> {
        self.validate()?;
        let key = primary_key(ctx, &self.table).await?;
        if !self.delete
            && let Some(stmt) = sql::parse_statement(&self.describe())
        {
            let assigned = super::rewrite::assigned_columns(&stmt);
            if let Some(k) = key.iter().find(|k| assigned.contains(&k.to_lowercase())) {
                return Err(MigrateError::Invalid(format!(
                    "`set` changes the primary-key column {k}; a backfill walks the table by its primary key, so it \
                     cannot change it. Copy the rows to a new table instead (see the migrations guide)"
                )));
            }
        }
        let first = self.batch_sql(&key, false);
        let next = self.batch_sql(&key, true);
        let checked = |text: String, params: usize| -> Result<Statement, MigrateError> {
            let input = [sql::StatementInput { sql: &text, param_count: (params > 0).then_some(params) }];
            let c = sql::check(sql::Tool::Transact, &input, &ctx.policy, tenant).map_err(|f| {
                MigrateError::Invalid(format!("the backfill statement is refused: {f}\nStatement: {text}"))
            })?;
            let p = c.statements.into_iter().next().ok_or_else(|| MigrateError::Invalid("no statement".into()))?;
            Ok(Statement { text: p.text, command: p.command, params: Vec::new(), quota: Vec::new() })
        };
        Ok(Prepared { first: checked(first, 0)?, next: checked(next, key.len())?, key })
    }

    /// Rows the backfill would change and rows in the table, each counted up to `cap` (a bounded read), in one
    /// read-only transaction: what `--confirm-destructive` decides from. The count is checked like a
    /// `readonly_query` statement, so the `where` text cannot change anything while it is counted.
    /// With --tenant-column (`tenant`: the tables that have it) the `where` must pin the tenant like any statement,
    /// and the table's total is not counted (it would count other tenants' rows): `None`.
    pub async fn count(
        &self,
        ctx: &Ctx<'_>,
        cap: u64,
        tenant: Option<&crate::sql::TenantCatalog>,
    ) -> Result<(u64, Option<u64>), MigrateError> {
        self.validate()?;
        let table = &self.table;
        let filter = self.filter.as_deref().map_or_else(|| "true".to_string(), |f| format!("({f})"));
        let matched =
            format!("(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {filter} LIMIT {cap}) AS m) AS matched");
        let text = match tenant {
            Some(_) => format!("SELECT {matched}"),
            None => {
                format!("SELECT {matched}, (SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {cap}) AS a) AS total")
            }
        };
        let input = [sql::StatementInput { sql: &text, param_count: None }];
        let read_only = sql::Policy { allow_writes: false, ..ctx.policy.clone() };
        let c = sql::check(sql::Tool::ReadonlyQuery, &input, &read_only, tenant).map_err(|f| {
            MigrateError::Invalid(format!("the backfill's rows cannot be counted: {f}\nStatement: {text}"))
        })?;
        let p = c.statements.into_iter().next().ok_or_else(|| MigrateError::Invalid("no statement".into()))?;
        let st = [Statement { text: p.text, command: p.command, params: Vec::new(), quota: Vec::new() }];
        let ectx = crate::exec::ErrorContext::default();
        let out = crate::exec::run_all_rows(ctx.db, &st, ctx.limits.unbounded_rows(), &ectx)
            .await
            .map_err(|e| MigrateError::Database(format!("the backfill's rows cannot be counted: {e}")))?;
        let row = out
            .rows
            .first()
            .ok_or_else(|| MigrateError::Database("the backfill's rows cannot be counted: no answer".into()))?;
        let n = |k: &str| match row.get(k) {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        };
        Ok((n("matched"), tenant.is_none().then(|| n("total"))))
    }

    fn batch_sql(&self, key: &[String], after_key: bool) -> String {
        let cols = key.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ");
        let filter = self.filter.as_deref().map_or_else(|| "true".to_string(), |f| format!("({f})"));
        let after = if after_key {
            let params = (1..=key.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            format!(" AND ({cols}) > ({params})")
        } else {
            String::new()
        };
        let table = &self.table;
        let pick =
            format!("SELECT {cols} FROM {table} WHERE {filter}{after} ORDER BY {cols} LIMIT {}", self.batch_size);
        let change = match (&self.set, self.delete) {
            (_, true) => format!("DELETE FROM {table} WHERE {filter} AND ({cols}) IN ({pick}) RETURNING {cols}"),
            (set, false) => {
                format!(
                    "UPDATE {table} SET {} WHERE {filter} AND ({cols}) IN ({pick}) RETURNING {cols}",
                    set.as_deref().unwrap_or("")
                )
            }
        };
        let keys = key.iter().enumerate().map(|(i, k)| format!("{} AS k{i}", quote_ident(k))).collect::<Vec<_>>();
        let desc = key.iter().map(|k| format!("{} DESC", quote_ident(k))).collect::<Vec<_>>();
        format!(
            "WITH batch AS ({change}) SELECT (SELECT count(*) FROM batch) AS n, {} FROM batch ORDER BY {} LIMIT 1",
            keys.join(", "),
            desc.join(", ")
        )
    }
}

/// The primary-key columns of `table`, in key order. A table without one cannot be walked.
pub async fn primary_key(ctx: &Ctx<'_>, table: &str) -> Result<Vec<String>, MigrateError> {
    const KEY: &str = "SELECT a.attname::text AS col FROM pg_catalog.pg_constraint c \
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) \
        WHERE c.conrelid = $1::text::regclass AND c.contype = 'p' ORDER BY array_position(c.conkey, a.attnum)";
    let out = ctx
        .read(KEY, vec![Value::String(table.to_string())])
        .await
        .map_err(|e| MigrateError::Database(format!("cannot read the primary key of {table}: {e}")))?;
    let key: Vec<String> =
        out.rows.iter().filter_map(|r| r.get("col").and_then(Value::as_str).map(str::to_string)).collect();
    if key.is_empty() {
        return Err(MigrateError::NoPrimaryKey { table: table.to_string() });
    }
    Ok(key)
}

/// Run the batches until one changes nothing. `on_batch(rows so far, batches so far)` after each committed batch.
pub async fn run(
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    on_batch: &(dyn Fn(u64, u64) + Sync),
) -> Result<BackfillReport, MigrateError> {
    let mut report = BackfillReport { key: prepared.key.clone(), ..Default::default() };
    let mut last: Option<Vec<Value>> = None;
    loop {
        let st = match &last {
            None => prepared.first.clone(),
            Some(k) => Statement { params: k.clone(), ..prepared.next.clone() },
        };
        let (outcome, attempts) = ctx.write(std::slice::from_ref(&st)).await.map_err(|cause| {
            MigrateError::BatchFailed { batch: report.batches + 1, rows: report.rows, committed: report.batches, cause }
        })?;
        report.retries += u64::from(attempts.saturating_sub(1));
        let Some(row) = outcome.rows.first() else { break };
        let n = match row.get("n") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        };
        if n == 0 {
            break;
        }
        report.rows += n;
        report.batches += 1;
        on_batch(report.rows, report.batches);
        last =
            Some((0..prepared.key.len()).map(|i| row.get(&format!("k{i}")).cloned().unwrap_or(Value::Null)).collect());
    }
    Ok(report)
}
