//! One attempt as ONE network round trip: `BEGIN`, every statement and the end (`COMMIT`, or `ROLLBACK` after
//! reads) are written to the connection together, and their answers read in order.
//!
//! tokio-postgres sends a request when its future is first polled, and answers requests in the order they were
//! sent; [`in_order`] polls the futures in order, so the requests leave in order, and keeps polling all of them so
//! each drains its own answers. Statements run as unnamed statements (`query_typed`): no separate prepare round
//! trip, parameter types inferred by the server from text values, as a prepared statement would.
//!
//! Runs of two or more lexically plain statements without bound values (all but the last) go as ONE simple query
//! ([`batch`]): PostgreSQL answers it with one flush instead of one per statement, which for 50 INSERTs is most of
//! the database's time.
//!
//! Atomicity does not depend on reading the answers first: when a statement fails, PostgreSQL answers the
//! following ones with `25P02` (or, inside a batch, skips them) and the `COMMIT` with `ROLLBACK`, so nothing is
//! committed.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::task::Poll;

use deadpool_postgres::{ClientWrapper, StatementCache};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Kind, ToSql, Type};
use tokio_postgres::{Client, Error};

use super::batch::{self, Batch, BatchDone};
use super::params::{self, TextParam};
use super::plans::{self, Kept};
use super::rows::{Collected, Collector};
use super::{Attempt, ExecError, Failure, Outcome, Statement, StatementReport, TxMode};

/// Poll `futures` in order until all are done; their outputs in the same order.
pub(super) async fn in_order<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    futures::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match std::pin::Pin::new(f).poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future completed")).collect()
}

/// The parameter type "unspecified" (OID 0): the server infers it, as when preparing.
pub(super) fn unspecified() -> Type {
    Type::new("unknown".into(), 0, Kind::Pseudo, "pg_catalog".into())
}

pub(super) type StatementDone = (StatementReport, Collected);

/// Run one statement and read all of its answer. `prepared` is given when the parameter types had to be known
/// first (a JSON array bound to an array parameter becomes an array literal, to anything else JSON text, and the
/// statement's text did not say which: [`params::unprepared`]). Without it, such a statement is described here
/// first (the statement-by-statement path; the pipelined one describes before its flight, [`describe_arrays`]).
pub(super) async fn run_one(
    client: &Client,
    text: &str,
    st: &Statement,
    prepared: Option<&tokio_postgres::Statement>,
    collector: Collector,
) -> Result<StatementDone, Error> {
    let unprepared = match prepared {
        Some(_) => None,
        None => params::unprepared(text, &st.params),
    };
    let described;
    let stream = match (prepared, unprepared) {
        (None, Some(values)) => {
            let ty = unspecified();
            client.query_typed_raw(text, values.into_iter().map(|v| (v, ty.clone()))).await?
        }
        (prepared, _) => {
            let p = match prepared {
                Some(p) => p,
                None => {
                    described = client.prepare(text).await?;
                    &described
                }
            };
            let values: Vec<TextParam> =
                p.params().iter().zip(&st.params).map(|(ty, v)| TextParam::from_json(v, ty)).collect();
            client.query_raw(p, values.iter().map(|v| v as &dyn ToSql)).await?
        }
    };
    futures::pin_mut!(stream);
    let mut collector = collector;
    while let Some(row) = stream.next().await {
        collector.push(&row?);
    }
    let report = StatementReport { command: st.command.clone(), rows_affected: stream.rows_affected() };
    Ok((report, collector.finish()))
}

enum Step<'b> {
    Begin(Result<(), Error>),
    Statement(usize, Result<StatementDone, Error>),
    Batch(&'b Batch, BatchDone),
    End(Result<(), Error>),
    /// A catalog read's statement being kept on the connection ([`plans`]); not part of the transaction.
    Kept(Result<tokio_postgres::Statement, Error>),
}

/// A statement's answer: what it did, or the error it stopped at with the position in its text.
enum Answer {
    Done(StatementDone),
    Failed(Error, Option<u32>),
}

pub(super) async fn attempt(client: &ClientWrapper, a: &Attempt<'_>) -> Result<Outcome, Failure> {
    let done = send(client, Some(&client.statement_cache), a, true).await?;
    Ok(super::outcome_from(client, done, a).await)
}

/// A write whose answers must be seen before it ends (a look's judge, the emulation's limits): BEGIN and every
/// statement in one round trip; then COMMIT (or ROLLBACK) is the second ([`super::commit`]).
pub(super) async fn attempt_then_commit(client: &Client, a: &Attempt<'_>) -> Result<Outcome, Failure> {
    let started = std::time::Instant::now();
    match send(client, None, a, false).await {
        Ok(done) => super::commit(client, a, done, started).await,
        // No end was sent with the statements: end the (aborted) transaction before the connection is reused.
        Err(failure) => Err(super::roll_back(client, a, false, failure).await),
    }
}

/// Write BEGIN, the statements (runs of plain ones as batches) and (with `end`) the end of the transaction together;
/// read every answer. With `cache`, the attempt's catalog reads ([`Attempt::keep_prepared`]) bind the statements
/// kept on this connection, or start keeping them.
async fn send(
    client: &Client,
    cache: Option<&StatementCache>,
    a: &Attempt<'_>,
    end_too: bool,
) -> Result<Vec<StatementDone>, Failure> {
    if client.is_closed() {
        return Err(super::lost_before_commit(
            "the pooled connection had closed before anything was sent; nothing was committed".into(),
            a.mode,
        ));
    }
    let n = a.statements.len();
    let texts: Vec<&str> = (0..n).map(|i| a.text(i)).collect();
    let mut prepared = describe_arrays(client, a, &texts).await?;
    let (kept, keeping) = match cache.filter(|_| a.keep_prepared) {
        Some(cache) => keep_prepared(cache, client, &texts, &mut prepared),
        None => (vec![false; n], Vec::new()),
    };
    let batches = batches(a, &texts, &prepared);
    let mut steps = flight(client, a, &texts, &prepared, &batches, end_too);
    for future in keeping {
        steps.push(Box::pin(async move { Step::Kept(future.await) }));
    }
    let answers = Answers::read(in_order(steps).await, a);
    answers.settle(a, cache, &kept, end_too)
}

/// Rare: a JSON array value needs its parameter's type to be encoded and the statement's text does not say it
/// ([`params::unprepared`]); only then is the statement described first (one more round trip). Per statement: its
/// description, when it needed one.
async fn describe_arrays(
    client: &Client,
    a: &Attempt<'_>,
    texts: &[&str],
) -> Result<Vec<Option<tokio_postgres::Statement>>, Failure> {
    let n = a.statements.len();
    let mut prepared: Vec<Option<tokio_postgres::Statement>> = Vec::with_capacity(n);
    for (i, st) in a.statements.iter().enumerate() {
        prepared.push(if st.params.iter().any(Value::is_array) && params::unprepared(texts[i], &st.params).is_none() {
            Some(client.prepare(texts[i]).await.map_err(|e| super::statement_failure(&e, st, i, a))?)
        } else {
            None
        });
    }
    Ok(prepared)
}

/// The attempt's catalog reads bound to the statements kept on this connection ([`plans`]): per statement, whether
/// it is one (its description put in `prepared`), and the futures that start keeping the others.
#[allow(clippy::type_complexity)]
fn keep_prepared<'b>(
    cache: &'b StatementCache,
    client: &'b Client,
    texts: &[&'b str],
    prepared: &mut [Option<tokio_postgres::Statement>],
) -> (Vec<bool>, Vec<BoxFuture<'b, Result<tokio_postgres::Statement, Error>>>) {
    let mut keeping: Vec<BoxFuture<'b, Result<tokio_postgres::Statement, Error>>> = Vec::new();
    let mut kept = vec![false; texts.len()];
    for (i, text) in texts.iter().enumerate() {
        if prepared[i].is_some() {
            continue;
        }
        match plans::keep(cache, client, text) {
            Kept::Ready(statement) => {
                prepared[i] = Some(statement);
                kept[i] = true;
            }
            Kept::Preparing(future) => keeping.push(future),
        }
    }
    (kept, keeping)
}

/// The requests of one flight, in the order they are written: BEGIN (and what the emulation sends after it), each
/// statement or batch, and (with `end_too`) the end.
fn flight<'a: 'b, 'b>(
    client: &'b Client,
    a: &'b Attempt<'a>,
    texts: &'b [&'b str],
    prepared: &'b [Option<tokio_postgres::Statement>],
    batches: &'b [Batch],
    end_too: bool,
) -> Vec<BoxFuture<'b, Step<'b>>> {
    let n = a.statements.len();
    let mut steps: Vec<BoxFuture<'b, Step<'b>>> = Vec::with_capacity(n + 2);
    steps.push(Box::pin(async move { Step::Begin(client.batch_execute(a.mode.begin()).await) }));
    if let Some(after_begin) = a.emulation.as_ref().and_then(|e| e.after_begin(a.mode)) {
        steps.push(Box::pin(async move { Step::Begin(client.batch_execute(after_begin).await) }));
    }
    // Batches come in statement order: walk them alongside the statements.
    let mut next_batch = batches.iter().peekable();
    let mut i = 0;
    while i < n {
        if let Some(batch) = next_batch.next_if(|b| b.range.start == i) {
            i = batch.range.end;
            steps.push(Box::pin(async move {
                let done = batch::run(client, batch).await;
                for k in 0..done.counts.len().min(batch.range.len()) {
                    (a.on_statement_done)(batch.range.start + k + 1, n);
                }
                Step::Batch(batch, done)
            }));
            continue;
        }
        let st = &a.statements[i];
        let collector = a.collector(i);
        let (text, prepared) = (texts[i], prepared[i].as_ref());
        let index = i;
        steps.push(Box::pin(async move {
            let done = run_one(client, text, st, prepared, collector).await;
            if done.is_ok() {
                (a.on_statement_done)(index + 1, n);
            }
            Step::Statement(index, done)
        }));
        i += 1;
    }
    if end_too {
        steps.push(Box::pin(async move { Step::End(super::pristine::end(client, a).await) }));
    }
    steps
}

/// What the database answered to one flight.
struct Answers {
    begin: Result<(), Error>,
    end: Result<(), Error>,
    /// Per statement: its answer; a statement after a failure in its batch never ran and has none.
    statements: Vec<Option<Answer>>,
    /// A batch answered with a different number of statements than it held: (sent, answered).
    miscounted: Option<(usize, usize)>,
}

impl Answers {
    fn read(steps: Vec<Step<'_>>, a: &Attempt<'_>) -> Answers {
        let n = a.statements.len();
        let mut begin = Ok(());
        let mut end = Ok(());
        let mut answers: Vec<Option<Answer>> = (0..n).map(|_| None).collect();
        let mut miscounted = None;
        for step in steps {
            match step {
                Step::Begin(r) => begin = begin.and(r),
                Step::Statement(i, Ok(done)) => answers[i] = Some(Answer::Done(done)),
                Step::Statement(i, Err(e)) => {
                    let position = super::errors::position(&e);
                    answers[i] = Some(Answer::Failed(e, position));
                }
                Step::Batch(batch, done) => {
                    for (k, rows) in done.counts.iter().take(batch.range.len()).enumerate() {
                        let i = batch.range.start + k;
                        let report =
                            StatementReport { command: a.statements[i].command.clone(), rows_affected: Some(*rows) };
                        answers[i] = Some(Answer::Done((report, Collected::default())));
                    }
                    match done.error {
                        Some(e) => {
                            let (i, position) = batch.failed_at(done.counts.len(), &e);
                            answers[i] = Some(Answer::Failed(e, position));
                        }
                        // Never expected: plain texts cannot hold more or fewer statements than were joined.
                        None if done.counts.len() != batch.range.len() => {
                            miscounted = Some((batch.range.len(), done.counts.len()));
                        }
                        None => {}
                    }
                }
                Step::End(r) => end = r,
                // Kept for the next call when it succeeded; a failure only means the next call tries again.
                Step::Kept(Err(e)) => tracing::debug!("could not keep a catalog read prepared: {e}"),
                Step::Kept(Ok(_)) => {}
            }
        }
        Answers { begin, end, statements: answers, miscounted }
    }

    /// The statements' answers, or how the attempt failed: the first thing the database refused, a lost
    /// connection, or an end that was refused.
    fn settle(
        self,
        a: &Attempt<'_>,
        cache: Option<&StatementCache>,
        kept: &[bool],
        end_too: bool,
    ) -> Result<Vec<StatementDone>, Failure> {
        let Answers { begin, end, statements: answers, miscounted } = self;
        let failed = || {
            answers.iter().enumerate().filter_map(|(i, a)| match a {
                Some(Answer::Failed(e, position)) => Some((i, e, *position)),
                _ => None,
            })
        };
        let lost = |e: &Error| e.as_db_error().is_none();
        if [&begin, &end].into_iter().any(|r| r.as_ref().is_err_and(lost)) || failed().any(|(_, e, _)| lost(e)) {
            a.poisoned.store(true, Ordering::Relaxed);
        }
        if let Some((sent, answered)) = miscounted {
            a.poisoned.store(true, Ordering::Relaxed);
            let detail = format!("PostgreSQL answered {answered} statements to a batch of {sent}");
            return Err(Failure::Final(match a.mode {
                TxMode::ReadWrite if end_too && end.is_ok() => ExecError::CommitUnknown { detail },
                _ => ExecError::Db { sqlstate: None, text: format!("internal error: {detail}; nothing was committed") },
            }));
        }

        if let Err(e) = &begin
            && !lost(e)
        {
            // BEGIN itself was refused (it should never be): the statements may have run outside a transaction.
            let ran = answers.iter().any(|a| matches!(a, Some(Answer::Done(_))));
            if a.mode == TxMode::ReadWrite && ran {
                return Err(Failure::Final(ExecError::CommitUnknown {
                    detail: format!("BEGIN failed ({e}), so the statements may have run without a transaction"),
                }));
            }
            return Err(Failure::Final(super::errors::from_pg(e, a.ctx)));
        }
        // The first statement the database refused; the rest answered 25P02 (or, in its batch, never ran) and COMMIT
        // answered ROLLBACK.
        if let Some((i, e, position)) = failed().find(|(_, e, _)| !lost(e)) {
            if kept[i]
                && e.code() == Some(&SqlState::INVALID_SQL_STATEMENT_NAME)
                && let Some(cache) = cache
            {
                // Something deallocated the kept statements (nothing we send does): forget them and read again,
                // unnamed. Only catalog reads are kept, so nothing was changed.
                cache.clear();
                return Err(super::lost_before_commit(
                    format!("a kept catalog read was gone from the session ({e}); reading again"),
                    a.mode,
                ));
            }
            return Err(super::statement_failure_at(e, &a.statements[i], i, a, position));
        }
        let lost_error = [&begin, &end]
            .into_iter()
            .filter_map(|r| r.as_ref().err())
            .chain(failed().map(|(_, e, _)| e))
            .find(|e| lost(e));
        if let Some(e) = lost_error {
            let detail = crate::error_chain::text(e);
            return Err(match a.mode {
                TxMode::ReadWrite if !end_too => super::lost_before_commit(
                    format!(
                        "the database connection was lost before COMMIT was sent ({detail}); nothing was committed"
                    ),
                    a.mode,
                ),
                TxMode::ReadOnly => super::lost_before_commit(
                    format!(
                        "the database connection was lost ({detail}); this was a read-only transaction, so nothing \
                         was changed"
                    ),
                    a.mode,
                ),
                TxMode::ReadWrite => match &end {
                    Err(commit) if !lost(commit) => super::end_failure(commit, a),
                    _ => Failure::Final(ExecError::CommitUnknown { detail }),
                },
            });
        }
        if let Err(commit) = &end {
            return Err(super::end_failure(commit, a));
        }

        Ok(answers
            .into_iter()
            .map(|a| match a {
                Some(Answer::Done(done)) => done,
                _ => unreachable!("every statement answered, or an error was returned above"),
            })
            .collect())
    }
}

/// Runs of two or more consecutive statements that can go as one simple query: plain text, no bound values, and
/// not the last statement (its rows are returned, typed, so it goes by the extended protocol). Catalog reads that
/// return every statement's rows are never batched.
fn batches(a: &Attempt<'_>, texts: &[&str], prepared: &[Option<tokio_postgres::Statement>]) -> Vec<Batch> {
    if a.all_rows {
        return Vec::new();
    }
    let n = a.statements.len();
    // Not the caller's last statement either (its rows are returned), nor a look's read (its rows are read).
    let last = n - a.look.map_or(0, |l| l.after) - 1;
    let joinable = |i: usize| {
        i < last
            && !a.is_probe(i)
            && a.statements[i].params.is_empty()
            && prepared[i].is_none()
            && batch::plain(texts[i])
    };
    let lens: Vec<usize> = texts.iter().map(|t| t.len()).collect();
    batch::runs(&lens, joinable, batch::MAX_BYTES)
        .into_iter()
        .map(|run| Batch::new(run.start, &texts[run.clone()]))
        .collect()
}
