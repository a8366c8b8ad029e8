//! The engine's hooks (`exec::hooks`) answered for Aurora DSQL: [`Dsql`] adapts each statement of a call once
//! ([`super::adapt`]), chooses how the call is sent, completes due async jobs before an attempt, counts quotas
//! before a statement and answers async DDL with its job id after it, checks the transaction limits and turns lock
//! waits into optimistic-concurrency conflicts.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio_postgres::{Client, Error};

use super::adapt::{self, Adapted};
use super::async_jobs::{self, AsyncJobs};
use super::{quota_counts, transactions};
use crate::exec::hooks::{Emulation, Emulator, Sending};
use crate::exec::{ExecError, Statement, StatementReport, TxMode};
use crate::sqlstate;

/// The DSQL emulation of one database: the async jobs this server submitted there and has not completed yet.
#[derive(Debug, Default)]
pub struct Dsql {
    /// Jobs submitted through this server and not completed yet, with when each is due.
    pub jobs: AsyncJobs,
}

impl Emulator for Dsql {
    fn call<'s>(&'s self, statements: &'s [Statement]) -> Box<dyn Emulation + 's> {
        let (texts, jobs) = statements
            .iter()
            .map(|st| {
                let Adapted { text, job } = adapt::adapt(&st.text);
                ((text != st.text).then_some(text), job)
            })
            .unzip();
        Box::new(Call { dsql: self, statements, texts, jobs })
    }
}

/// One call's statements as the emulation runs them.
struct Call<'s> {
    dsql: &'s Dsql,
    statements: &'s [Statement],
    /// Per statement: the text sent, when it is not the statement as written.
    texts: Vec<Option<String>>,
    /// Per statement: the async job it starts.
    jobs: Vec<Option<adapt::AsyncJob>>,
}

impl Emulation for Call<'_> {
    fn text(&self, i: usize) -> Option<&str> {
        self.texts[i].as_deref()
    }

    /// Reads go in one flight. A write's answers are looked at before COMMIT (two round trips); a write that needs
    /// the catalog (quotas) or a job record between statements goes one statement at a time.
    fn sending(&self, mode: TxMode) -> Sending {
        let needs_catalog = |(st, job): (&Statement, &Option<adapt::AsyncJob>)| !st.quota.is_empty() || job.is_some();
        match mode {
            TxMode::ReadOnly => Sending::Pipelined,
            TxMode::ReadWrite if self.statements.iter().zip(&self.jobs).any(needs_catalog) => Sending::Stepwise,
            TxMode::ReadWrite => Sending::ThenCommit,
        }
    }

    fn before_attempt<'c>(&'c self, client: &'c Client) -> BoxFuture<'c, bool> {
        complete_due_jobs(&self.dsql.jobs, client, self.statements).boxed()
    }

    fn after_begin(&self, mode: TxMode) -> Option<&'static str> {
        // DSQL never waits for a row lock: a conflicting writer fails fast (reported as OC000).
        (mode == TxMode::ReadWrite).then_some(transactions::LOCK_TIMEOUT)
    }

    fn before_statement<'c>(&'c self, client: &'c Client, i: usize) -> BoxFuture<'c, Result<Option<ExecError>, Error>> {
        async move {
            let checks = &self.statements[i].quota;
            if checks.is_empty() {
                return Ok(None);
            }
            let exceeded = quota_counts::exceeded(client, checks).await?;
            Ok(exceeded.map(|e| {
                let (sqlstate, text) = quota_counts::error_text(&e, i, self.statements.len());
                ExecError::Db { sqlstate, text }
            }))
        }
        .boxed()
    }

    /// DSQL answers an async DDL statement with one row: the job id, recorded in `sys.jobs` as `submitted`.
    fn answer_instead(&self, i: usize) -> Option<Statement> {
        let job = self.jobs[i].as_ref()?;
        let id = adapt::new_job_id();
        // Due from now on; a job whose record is rolled back is not found when completed, which is harmless.
        self.dsql.jobs.submitted(&id);
        Some(record_job(&id, job))
    }

    fn after_statement(&self, reports: &[StatementReport]) -> Result<(), ExecError> {
        transactions::rows_over_limit(reports, self.statements.len())
    }

    fn before_commit(&self, reports: &[StatementReport], age: Duration) -> Result<(), ExecError> {
        transactions::rows_over_limit(reports, self.statements.len())?;
        if age > transactions::AGE_LIMIT {
            return Err(transactions::age_limit_error());
        }
        Ok(())
    }

    fn map_error(&self, e: &Error, command: &str) -> Option<ExecError> {
        transactions::conflict(e, command)
    }
}

/// The statement that records a submitted async job in `sys.jobs` and returns its `job_id` row (the statement's
/// answer on DSQL). It completes when waited on or after a delay ([`async_jobs`]); until then its index is not
/// valid (X12).
fn record_job(id: &str, job: &adapt::AsyncJob) -> Statement {
    Statement {
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
    }
}

/// Complete the emulated async jobs that are due before a call of `statements` runs ([`async_jobs`]): one round
/// trip, only when there are any. A failure (a row another session holds) leaves them for the next call. False
/// when the connection could not even end that transaction.
async fn complete_due_jobs(jobs: &AsyncJobs, client: &Client, statements: &[Statement]) -> bool {
    let due = jobs.take_due(statements.iter().map(|st| st.text.as_str()));
    if due.is_empty() {
        return true;
    }
    let Err(e) = client.batch_execute(&async_jobs::complete_sql(&due, jobs.delay())).await else { return true };
    let clean = client.batch_execute("ROLLBACK").await.is_ok();
    // A row another session holds: the next call tries again. Anything else (a `sys` made by an older version,
    // without the procedure) would fail at every call: those jobs complete when waited for instead.
    let busy = e.code().is_some_and(|c| {
        matches!(c.code(), sqlstate::LOCK_NOT_AVAILABLE | sqlstate::SERIALIZATION_FAILURE | sqlstate::DEADLOCK_DETECTED)
    });
    if busy {
        tracing::debug!("completing async jobs waits for another session; left for the next call: {e}");
        jobs.retry(due);
    } else {
        tracing::warn!(
            "cannot complete async jobs in the background ({}); they complete when waited for with CALL \
             sys.wait_for_job",
            crate::error_chain::text(&e)
        );
    }
    clean
}
