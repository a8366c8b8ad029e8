//! One attempt statement by statement, for emulated writes that need the database between statements
//! ([`Sending::Stepwise`](super::hooks::Sending)): the emulation's hooks run before each statement (DSQL's catalog
//! quotas), after it (an async DDL answered with its job id, the row limit as soon as it is crossed) and before
//! COMMIT ([`super::commit`]). Each statement is one round trip over a unix socket (no separate prepare).

use tokio_postgres::{Client, Error};

use super::hooks::Emulation;
use super::pipeline::{StatementDone, run_one};
use super::rows::Collector;
use super::{Attempt, Failure, Outcome, StatementReport};

pub(super) async fn attempt(client: &Client, a: &Attempt<'_>, emulation: &dyn Emulation) -> Result<Outcome, Failure> {
    let started = std::time::Instant::now();
    let lost_before_commit = |e: &Error| {
        super::lost_before_commit(
            format!(
                "the database connection was lost before COMMIT was sent ({}); nothing was committed",
                crate::error_chain::text(e)
            ),
            a.mode,
        )
    };
    let setup = async {
        client.batch_execute(a.mode.begin()).await?;
        match emulation.after_begin(a.mode) {
            Some(after_begin) => client.batch_execute(after_begin).await,
            None => Ok(()),
        }
    };
    if let Err(e) = setup.await {
        return Err(super::roll_back(client, a, e.as_db_error().is_none(), lost_before_commit(&e)).await);
    }
    let n = a.statements.len();
    let mut done: Vec<StatementDone> = Vec::with_capacity(n);
    let mut reports: Vec<StatementReport> = Vec::with_capacity(n);
    for (i, st) in a.statements.iter().enumerate() {
        let failed = |e: Error| {
            let lost = e.as_db_error().is_none();
            (lost, if lost { lost_before_commit(&e) } else { super::statement_failure(&e, st, i, a) })
        };
        match emulation.before_statement(client, i).await {
            Ok(None) => {}
            Ok(Some(refused)) => return Err(super::roll_back(client, a, false, Failure::Final(refused)).await),
            Err(e) => {
                let (lost, failure) = failed(e);
                return Err(super::roll_back(client, a, lost, failure).await);
            }
        }
        let mut result = run_one(client, a.text(i), st, None, a.collector(i)).await;
        if let Ok(statement) = &mut result
            && let Some(answer) = emulation.answer_instead(i)
        {
            let keep = a.all_rows || i + 1 == n;
            let collector = Collector::new(keep, a.limits.max_rows, a.limits.max_bytes);
            match run_one(client, &answer.text, &answer, None, collector).await {
                Ok((_, rows)) => statement.1 = rows,
                Err(e) => result = Err(e),
            }
        }
        let statement = match result {
            Ok(statement) => statement,
            Err(e) => {
                let (lost, failure) = failed(e);
                return Err(super::roll_back(client, a, lost, failure).await);
            }
        };
        reports.push(statement.0.clone());
        if let Err(refused) = emulation.after_statement(&reports) {
            return Err(super::roll_back(client, a, false, Failure::Final(refused)).await);
        }
        (a.on_statement_done)(i + 1, n);
        done.push(statement);
    }
    super::commit(client, a, done, started).await
}
