//! One attempt statement by statement, for DSQL-emulated writes that need the catalog or a job record: catalog quotas are counted
//! before a statement runs, modified rows after each one (DSQL's 3,000-row limit), async DDL is answered with a
//! job id recorded in `sys.jobs` as `submitted`, and the 5-minute age limit is checked before COMMIT. Each statement is one round
//! trip over a unix socket (no separate prepare).

use std::sync::atomic::Ordering;

use serde_json::Value;
use tokio_postgres::{Client, Error};

use super::pipeline::{StatementDone, run_one, text_to_send};
use super::rows::Collector;
use super::{Attempt, ExecError, Failure, Outcome, Statement};
use crate::emulation::{adapt as local_dsql, quota_counts as local_quota};

pub(super) async fn attempt(client: &Client, a: &Attempt<'_>) -> Result<Outcome, Failure> {
    let started = std::time::Instant::now();
    let lost_before_commit = |e: &Error| {
        Failure::Retry(super::connection_lost(format!(
            "the database connection was lost before COMMIT was sent ({}); nothing was committed",
            crate::pool::dsql::error_chain(e)
        )))
    };
    let setup = async {
        client.batch_execute(a.mode.begin()).await?;
        // DSQL never waits for a row lock: a conflicting writer fails fast (reported as OC000).
        client.batch_execute(local_dsql::LOCK_TIMEOUT).await
    };
    if let Err(e) = setup.await {
        return Err(rollback(client, a, e.as_db_error().is_none(), lost_before_commit(&e)).await);
    }
    let n = a.statements.len();
    let mut rows_modified: u64 = 0;
    let mut done: Vec<StatementDone> = Vec::with_capacity(n);
    for (i, st) in a.statements.iter().enumerate() {
        if !st.quota.is_empty() {
            match local_quota::exceeded(client, &st.quota).await {
                Ok(None) => {}
                Ok(Some(e)) => {
                    let (sqlstate, text) = local_quota::error_text(&e, i, n);
                    return Err(rollback(client, a, false, Failure::Final(ExecError::Db { sqlstate, text })).await);
                }
                Err(e) => {
                    let lost = e.as_db_error().is_none();
                    let failure = if lost { lost_before_commit(&e) } else { super::statement_failure(&e, st, i, a) };
                    return Err(rollback(client, a, lost, failure).await);
                }
            }
        }
        let adapted = local_dsql::adapt(&st.text);
        let keep = a.all_rows || i + 1 == n;
        let collector = a.collector(i);
        let mut result = run_one(client, &text_to_send(st, true), st, None, collector).await;
        if let (Ok(statement), Some(job)) = (&mut result, &adapted.job) {
            // DSQL answers an async DDL statement with one row: the job id.
            let id = local_dsql::new_job_id();
            match record_job(client, &id, job, keep, a).await {
                Ok((_, rows)) => {
                    statement.1 = rows;
                    if let Some(jobs) = a.jobs {
                        jobs.submitted(&id);
                    }
                }
                Err(e) => result = Err(e),
            }
        }
        let statement = match result {
            Ok(statement) => statement,
            Err(e) => {
                let lost = e.as_db_error().is_none();
                let failure = if lost { lost_before_commit(&e) } else { super::statement_failure(&e, st, i, a) };
                return Err(rollback(client, a, lost, failure).await);
            }
        };
        if local_dsql::counts_rows(&statement.0.command) {
            rows_modified += statement.0.rows_affected.unwrap_or(0);
            if rows_modified > local_dsql::ROW_LIMIT {
                let failure = Failure::Final(local_dsql::row_limit_error(i, n, rows_modified));
                return Err(rollback(client, a, false, failure).await);
            }
        }
        (a.on_statement_done)(i + 1, n);
        done.push(statement);
    }
    if started.elapsed() > local_dsql::AGE_LIMIT {
        return Err(rollback(client, a, false, Failure::Final(local_dsql::age_limit_error())).await);
    }
    if !a.judged(&done) {
        return Err(super::held(client, a).await);
    }
    if let Err(e) = super::pristine::end(client, a).await {
        if e.as_db_error().is_none() {
            a.poisoned.store(true, Ordering::Relaxed);
            return Err(Failure::Final(ExecError::CommitUnknown { detail: crate::pool::dsql::error_chain(&e) }));
        }
        let ctx = super::ErrorContext { statement: None, allow_writes: a.ctx.allow_writes, tool: a.ctx.tool };
        let err = match super::local_conflict(&e, "COMMIT") {
            Some(conflict) => conflict,
            None => super::errors::from_pg(&e, &ctx),
        };
        return Err(super::end_failure(err, &e, a.mode));
    }
    Ok(super::outcome_from(client, done, a).await)
}

/// End the transaction after a failure; a connection that cannot even do that is not reused.
async fn rollback(client: &Client, a: &Attempt<'_>, lost: bool, failure: Failure) -> Failure {
    if lost || super::pristine::rollback(client, a).await.is_err() {
        a.poisoned.store(true, Ordering::Relaxed);
    }
    failure
}

/// Record a submitted async job in `sys.jobs` and return its `job_id` row (the statement's answer on DSQL). It
/// completes when waited on or after a delay (`emulation::async_jobs`); until then its index is not valid (X12).
async fn record_job(
    client: &Client,
    id: &str,
    job: &local_dsql::AsyncJob,
    keep: bool,
    a: &Attempt<'_>,
) -> Result<StatementDone, Error> {
    let insert = Statement {
        // The index is the one this transaction created (DSQL allows one DDL statement per transaction): its oid
        // ties the job to it (a job of an index dropped later names nothing), and an unnamed index gets its name.
        text: "WITH idx AS (SELECT c.oid, c.relname::text AS name FROM pg_catalog.pg_class c \
               WHERE $2::text = 'INDEX_BUILD' AND c.relkind IN ('i', 'I') \
               AND c.xmin = pg_catalog.pg_current_xact_id()::xid AND ($3::text IS NULL OR c.relname = $3::text) \
               ORDER BY c.oid DESC LIMIT 1) \
               INSERT INTO sys.jobs (job_id, status, job_type, class_id, object_id, object_name) \
               VALUES ($1, 'submitted', $2, (SELECT 'pg_catalog.pg_class'::regclass::oid FROM idx), \
               (SELECT oid FROM idx), coalesce((SELECT name FROM idx), $3)) RETURNING job_id"
            .into(),
        command: "INSERT".into(),
        params: vec![
            Value::String(id.to_string()),
            Value::String(job.job_type.into()),
            job.object_name.clone().map(Value::String).unwrap_or(Value::Null),
        ],
        quota: Vec::new(),
    };
    let collector = Collector::new(keep, a.limits.max_rows, a.limits.max_bytes);
    run_one(client, &insert.text, &insert, None, collector).await
}
