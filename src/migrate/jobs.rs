//! Waiting for DSQL's asynchronous jobs (CREATE INDEX ASYNC, ALTER TABLE ASYNC … VALIDATE CONSTRAINT) by watching
//! `sys.jobs`, with a progress message per look, instead of one long `CALL sys.wait_for_job` that would hold a
//! statement (and the time budget) open.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Ctx, MigrateError};

/// How long a migration waits for one job before it stops and says how to go on.
pub const WAIT_LIMIT: Duration = Duration::from_secs(3600);

/// Wait until job `id` is completed. `on_look(status)` after every look at `sys.jobs`.
pub async fn wait(ctx: &Ctx<'_>, id: &str, on_look: &(dyn Fn(&str) + Sync)) -> Result<(), MigrateError> {
    let started = Instant::now();
    // The DSQL emulation finishes a job when it is waited for (`emulation::async_jobs`): the next look completes it.
    if let Some(dsql) = ctx.db.emulation() {
        dsql.jobs.waited_on(id);
    }
    let mut pause = Duration::from_millis(100);
    loop {
        let out = ctx
            .read("SELECT status, details FROM sys.jobs WHERE job_id = $1", vec![json!(id)])
            .await
            .map_err(|e| MigrateError::Database(format!("cannot read job {id} from sys.jobs: {e}")))?;
        let Some(row) = out.rows.first() else {
            return Err(MigrateError::Job(format!(
                "job {id} is not in sys.jobs (it may have been purged); check the object it built"
            )));
        };
        let status = row.get("status").and_then(Value::as_str).unwrap_or("unknown").to_string();
        on_look(&status);
        match status.as_str() {
            "completed" => return Ok(()),
            "failed" | "cancelled" => {
                let details = row.get("details").and_then(Value::as_str).unwrap_or("no details");
                return Err(MigrateError::Job(format!("job {id} {status}: {details}")));
            }
            _ => {}
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(MigrateError::Job(format!(
                "job {id} is still {status} after {} s; it goes on in the background. Watch it with SELECT status \
                 FROM sys.jobs WHERE job_id = '{id}', then run the migration again: it resumes after this step",
                WAIT_LIMIT.as_secs()
            )));
        }
        let stop = crate::exec::cancel::current();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = crate::exec::cancel::stopped(stop.as_ref()) => {
                return Err(MigrateError::Job(format!("stopped while waiting for job {id} (the call was cancelled); the job goes on in \
                                    the background, and a re-run of the migration resumes after this step")));
            }
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The job id an async statement returned (its one row, column `job_id`).
pub fn job_id(rows: &[serde_json::Map<String, Value>]) -> Option<String> {
    rows.first()?.get("job_id")?.as_str().map(str::to_string)
}
