//! Running checked statements: one transaction per call, the extended protocol for every statement (so the server
//! itself refuses a second statement), ROLLBACK after reads so nothing a statement sets can leak into the pooled
//! session, a time budget enforced with a cancel request, and lossless JSON for the rows.

pub mod encode;
pub mod errors;
pub mod local_dsql;
pub mod local_quota;
pub mod params;

use std::time::Duration;

use futures::{StreamExt, pin_mut};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio_postgres::types::{Kind, ToSql, Type};

use crate::pool::{BackendKind, Database};
pub use errors::{ErrorContext, ExecError};
use params::{BinaryParam, RawCell, TextParam};

/// One statement to run, after the checks: the text to send, its command tag verb and its bound values.
#[derive(Debug, Clone)]
pub struct Statement {
    pub text: String,
    pub command: String,
    pub params: Vec<Value>,
    /// DSQL limits to check against the catalog first (local sandbox only).
    pub quota: Vec<crate::sql::QuotaCheck>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: usize,
    pub timeout: Duration,
}

/// How the transaction is opened and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// `BEGIN READ ONLY` … `ROLLBACK`.
    ReadOnly,
    /// `BEGIN` … `COMMIT` (any error: `ROLLBACK`).
    ReadWrite,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    pub command: String,
    pub rows_affected: Option<u64>,
}

/// What a call produced: the last statement's rows, and a report per statement.
#[derive(Debug, Default)]
pub struct Outcome {
    pub columns: Vec<Column>,
    pub rows: Vec<Map<String, Value>>,
    pub truncated: bool,
    pub statements: Vec<StatementReport>,
}

/// Run `statements` in one transaction on a pooled connection.
pub async fn run(
    db: &Database,
    statements: &[Statement],
    mode: TxMode,
    limits: Limits,
    ctx: &ErrorContext<'_>,
    on_statement_done: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome, ExecError> {
    let client = db.pool.get().await.map_err(|e| ExecError::Connect(db.explain_pool_error(&e)))?;
    let cancel = client.cancel_token();
    let local = db.kind == BackendKind::Local;
    let work = run_on(&client, statements, mode, limits, ctx, on_statement_done, local);
    match tokio::time::timeout(limits.timeout, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("call exceeded {} s: cancelling it in the database", limits.timeout.as_secs());
            db.cancel(cancel).await;
            // The cancelled statement ends with 57014; ROLLBACK then leaves the session clean. If the server does
            // not answer, the connection is dropped from the pool instead of being reused in an unknown state.
            let cleaned = tokio::time::timeout(Duration::from_secs(5), client.batch_execute("ROLLBACK")).await;
            if !matches!(cleaned, Ok(Ok(()))) {
                let _ = deadpool_postgres::Object::take(client);
            }
            Err(ExecError::Timeout { secs: limits.timeout.as_secs() })
        }
    }
}

async fn run_on(
    client: &tokio_postgres::Client,
    statements: &[Statement],
    mode: TxMode,
    limits: Limits,
    ctx: &ErrorContext<'_>,
    on_statement_done: &(dyn Fn(usize, usize) + Sync),
    local: bool,
) -> Result<Outcome, ExecError> {
    let started = std::time::Instant::now();
    let begin = match mode {
        TxMode::ReadOnly => "BEGIN READ ONLY",
        TxMode::ReadWrite => "BEGIN",
    };
    client.batch_execute(begin).await.map_err(|e| errors::from_pg(&e, ctx))?;
    if local && mode == TxMode::ReadWrite {
        // DSQL never waits for a row lock: a conflicting writer fails fast (reported as OC000 below).
        client.batch_execute(local_dsql::LOCK_TIMEOUT).await.map_err(|e| errors::from_pg(&e, ctx))?;
    }
    let mut rows_modified: u64 = 0;
    let mut outcome = Outcome::default();
    let mut raw_rows: Vec<tokio_postgres::Row> = Vec::new();
    let mut last_statement: Option<tokio_postgres::Statement> = None;
    let n = statements.len();
    for (i, st) in statements.iter().enumerate() {
        let stmt_ctx =
            ErrorContext { statement: Some((i, n, &st.text)), allow_writes: ctx.allow_writes, tool: ctx.tool };
        if local && !st.quota.is_empty() {
            let exceeded = local_quota::exceeded(client, &st.quota).await.map_err(|e| errors::from_pg(&e, &stmt_ctx));
            let refusal = match exceeded {
                Ok(None) => None,
                Ok(Some(e)) => {
                    let (sqlstate, text) = local_quota::error_text(&e, i, n);
                    Some(ExecError::Db { sqlstate, text })
                }
                Err(e) => Some(e),
            };
            if let Some(err) = refusal {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(err);
            }
        }
        let adapted =
            if local { local_dsql::adapt(&st.text) } else { local_dsql::Adapted { text: st.text.clone(), job: None } };
        let mut result = run_statement(client, st, &adapted.text, i, n, limits.max_rows, i + 1 == n).await;
        if let (Ok(done), Some(job)) = (&mut result, &adapted.job) {
            // DSQL answers an async DDL statement with one row: the job id.
            match record_job(client, job).await {
                Ok((rows, statement)) => {
                    done.1 = rows;
                    done.3 = statement;
                }
                Err(e) => result = Err(e),
            }
        }
        if let Ok((report, ..)) = &result
            && local
            && local_dsql::counts_rows(&report.command)
        {
            rows_modified += report.rows_affected.unwrap_or(0);
            if rows_modified > local_dsql::ROW_LIMIT {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(ExecError::Db {
                    sqlstate: Some("54000".into()),
                    text: format!(
                        "ERROR 54000: transaction row limit exceeded\nIN: statement {} of {n} (this transaction modified {rows_modified} rows; DSQL allows {})\nWHAT TO DO: split the work into batches of at most 3,000 modified rows (e.g. 1,000), one transact call per batch. The transaction was rolled back: nothing from this call was committed.",
                        i + 1,
                        local_dsql::ROW_LIMIT
                    ),
                });
            }
        }
        match result {
            Ok((report, rows, truncated, prepared)) => {
                outcome.statements.push(report);
                if i + 1 == n {
                    raw_rows = rows;
                    outcome.truncated = truncated;
                    last_statement = Some(prepared);
                }
                on_statement_done(i + 1, n);
            }
            Err(e) => {
                let err = match e {
                    StatementError::Pg(e) if local => {
                        local_conflict(&e, &st.command).unwrap_or_else(|| errors::from_pg(&e, &stmt_ctx))
                    }
                    StatementError::Pg(e) => errors::from_pg(&e, &stmt_ctx),
                    StatementError::Input(m) => ExecError::Input(m),
                };
                if let Err(rb) = client.batch_execute("ROLLBACK").await {
                    tracing::warn!("ROLLBACK after a failed statement also failed: {rb}");
                }
                return Err(err);
            }
        }
    }
    if local && started.elapsed() > local_dsql::AGE_LIMIT {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(ExecError::Db {
            sqlstate: Some("54000".into()),
            text: "ERROR 54000: transaction age limit of 300s exceeded\nWHAT TO DO: DSQL transactions may last at most 5 minutes; use smaller transactions. Nothing was committed.".into(),
        });
    }
    let end = match mode {
        TxMode::ReadOnly => "ROLLBACK",
        TxMode::ReadWrite => "COMMIT",
    };
    client.batch_execute(end).await.map_err(|e| {
        let ctx = ErrorContext { statement: None, allow_writes: ctx.allow_writes, tool: ctx.tool };
        errors::from_pg(&e, &ctx)
    })?;
    let last_columns = last_statement.as_ref().map(|s| s.columns()).unwrap_or(&[]);
    outcome.columns =
        last_columns.iter().map(|c| Column { name: c.name().to_string(), type_name: type_name(c.type_()) }).collect();
    outcome.rows = to_json_rows(client, last_columns, &raw_rows).await;
    Ok(outcome)
}

enum StatementError {
    Pg(tokio_postgres::Error),
    Input(String),
}

impl From<tokio_postgres::Error> for StatementError {
    fn from(e: tokio_postgres::Error) -> Self {
        StatementError::Pg(e)
    }
}

type StatementResult = (StatementReport, Vec<tokio_postgres::Row>, bool, tokio_postgres::Statement);

async fn run_statement(
    client: &tokio_postgres::Client,
    st: &Statement,
    text: &str,
    index: usize,
    count: usize,
    max_rows: usize,
    keep_rows: bool,
) -> Result<StatementResult, StatementError> {
    let prepared = client.prepare(text).await?;
    let expected = prepared.params().len();
    if expected != st.params.len() {
        let which = if count > 1 { format!("statement {} has", index + 1) } else { "the statement has".into() };
        return Err(StatementError::Input(format!(
            "{which} {expected} placeholder(s) ($1…${expected}) but {} parameter value(s) were given; pass exactly \
             one value per placeholder",
            st.params.len()
        )));
    }
    let values: Vec<TextParam> =
        prepared.params().iter().zip(&st.params).map(|(ty, v)| TextParam::from_json(v, ty)).collect();
    let stream = client.query_raw(&prepared, values.iter().map(|v| v as &dyn ToSql)).await?;
    pin_mut!(stream);
    let mut rows = Vec::new();
    let mut truncated = false;
    while let Some(row) = stream.next().await {
        let row = row?;
        if !keep_rows {
            continue;
        }
        if rows.len() < max_rows {
            rows.push(row);
        } else {
            // Keep reading so the command completes and its tag arrives; only the first max_rows are kept.
            truncated = true;
        }
    }
    let report = StatementReport { command: st.command.clone(), rows_affected: stream.rows_affected() };
    Ok((report, rows, truncated, prepared))
}

/// Record a completed async job in `sys.jobs` and return its `job_id` row (the statement's answer on DSQL).
async fn record_job(
    client: &tokio_postgres::Client,
    job: &local_dsql::AsyncJob,
) -> Result<(Vec<tokio_postgres::Row>, tokio_postgres::Statement), StatementError> {
    let stmt = client
        .prepare("INSERT INTO sys.jobs (job_id, status, job_type, object_name) VALUES ($1, 'completed', $2, $3) RETURNING job_id")
        .await?;
    let id = local_dsql::new_job_id();
    let rows = client.query(&stmt, &[&id, &job.job_type, &job.object_name]).await?;
    Ok((rows, stmt))
}

/// PostgreSQL's answer to a write conflict (a serialization failure, or a lock wait cut short), as DSQL's.
fn local_conflict(e: &tokio_postgres::Error, command: &str) -> Option<ExecError> {
    let db = e.as_db_error()?;
    let is_ddl = ["CREATE", "ALTER", "DROP"].iter().any(|k| command.starts_with(k));
    let message = local_dsql::occ_message(db.code().code(), is_ddl)?;
    Some(ExecError::Db {
        sqlstate: Some("40001".into()),
        text: format!(
            "ERROR 40001: {message}\nWHAT TO DO: another transaction changed the same {} first. Retry the WHOLE transaction with exponential backoff and jitter. Nothing from this call was committed. (Local emulation: PostgreSQL said {}: {}.)",
            if is_ddl { "objects" } else { "rows" },
            db.code().code(),
            db.message()
        ),
    })
}

/// `int4`, `text[]`, `numeric`… — PostgreSQL's type names, arrays written with `[]`.
pub fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(elem) => format!("{}[]", elem.name()),
        _ => ty.name().to_string(),
    }
}

/// Rows as JSON objects. Duplicate column names (`SELECT 1 AS a, 2 AS a`) get a `_2`, `_3`… suffix so no value is
/// lost. Values of types without a native decoding are converted by the server (`$1::text`), after the
/// transaction, so a failure there cannot affect it.
async fn to_json_rows(
    client: &tokio_postgres::Client,
    columns: &[tokio_postgres::Column],
    rows: &[tokio_postgres::Row],
) -> Vec<Map<String, Value>> {
    let keys = unique_keys(columns.iter().map(|c| c.name()));
    let mut out = Vec::with_capacity(rows.len());
    let mut pending: Vec<(usize, usize)> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let mut obj = Map::with_capacity(columns.len());
        for (c, col) in columns.iter().enumerate() {
            let raw: RawCell<'_> = row.get(c);
            let value = match encode::decode(col.type_(), raw.0) {
                Some(v) => v,
                None => {
                    pending.push((r, c));
                    Value::Null
                }
            };
            obj.insert(keys[c].clone(), value);
        }
        out.push(obj);
    }
    for (r, c) in pending {
        let ty = columns[c].type_();
        let raw: RawCell<'_> = rows[r].get(c);
        let bytes = raw.0.unwrap_or_default();
        let text = server_text(client, ty, bytes).await.unwrap_or_else(|| fallback_text(bytes));
        out[r].insert(keys[c].clone(), Value::String(text));
    }
    out
}

async fn server_text(client: &tokio_postgres::Client, ty: &Type, bytes: &[u8]) -> Option<String> {
    let stmt = client.prepare_typed("SELECT $1::text", std::slice::from_ref(ty)).await.ok()?;
    let row = client.query_one(&stmt, &[&BinaryParam(bytes)]).await.ok()?;
    row.try_get::<_, Option<String>>(0).ok().flatten()
}

fn fallback_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => format!("\\x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

fn unique_keys<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .map(|name| {
            let mut key = name.to_string();
            let mut n = 2;
            while !seen.insert(key.clone()) {
                key = format!("{name}_{n}");
                n += 1;
            }
            key
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_column_names_keep_every_value() {
        assert_eq!(unique_keys(["a", "a", "b", "a"].into_iter()), vec!["a", "a_2", "b", "a_3"]);
    }
}
