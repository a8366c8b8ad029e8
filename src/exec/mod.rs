//! Running checked statements: one transaction per call, run again as a whole when DSQL reports an optimistic
//! conflict, bounded by the call's time budget, stoppable by the client, with lossless JSON for the rows.
//!
//! Against a cluster a call costs its network round trips, so a call is ONE round trip on a warm connection:
//! `BEGIN`, every statement and the end (`COMMIT`, or `ROLLBACK` after reads) are written together
//! (`exec::pipeline`); runs of lexically plain statements go as one simple query, answered with one flush
//! (`exec::batch`).
//! A database made to answer like DSQL (`crate::emulation`) is asked through [`hooks`] wherever its answer differs:
//! it adapts each statement once per call, chooses how a write is sent (its answers looked at before COMMIT, or
//! one statement at a time, `exec::stepwise`, when it needs the catalog between statements; its socket costs
//! microseconds), and maps errors.

mod batch;
pub mod cancel;
pub mod deadline;
pub mod dpu;
pub mod encode;
pub mod errors;
pub mod hooks;
pub mod message_size;
pub mod params;
mod pipeline;
mod plans;
mod pristine;
pub mod retry;
pub mod rows;
mod stepwise;
pub mod untrusted;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;

use crate::pool::Database;
use crate::sqlstate;
use deadline::Deadline;
pub use errors::{ErrorContext, ExecError};
use hooks::{Emulation, Emulator, Sending};
use params::BinaryParam;
pub use rows::{Limit, type_name};

/// One statement to run, after the checks: the text to send, its command tag verb and its bound values.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The SQL sent to the database (before emulation adapts it).
    pub text: String,
    /// The command tag's verb, upper case (`SELECT`, `INSERT`, `COPY`, …): decides how it is sent.
    pub command: String,
    /// Values for `$1`, `$2`, …, in order; bound as text.
    pub params: Vec<Value>,
    /// DSQL limits to check against the catalog first (local sandbox only).
    pub quota: Vec<crate::sql::QuotaCheck>,
}

/// The bounds on one call, from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows returned per call (`--max-rows`).
    pub max_rows: usize,
    /// Bytes of rows returned per call, as the answer carries them (`--max-result-bytes`).
    pub max_bytes: usize,
    /// The call's whole time budget, retries included (`--statement-timeout`).
    pub timeout: Duration,
    /// Extra attempts after a conflict (`--max-retries`).
    pub max_retries: u32,
}

impl Limits {
    /// Limits for the server's own catalog reads: every row (they are small), same budget and retries.
    pub fn unbounded_rows(self) -> Limits {
        Limits { max_rows: usize::MAX, max_bytes: usize::MAX, ..self }
    }
}

/// How the transaction is opened and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// `BEGIN READ ONLY` … `ROLLBACK`.
    ReadOnly,
    /// `BEGIN` … `COMMIT` (any error: `ROLLBACK`).
    ReadWrite,
}

impl TxMode {
    fn begin(self) -> &'static str {
        match self {
            TxMode::ReadOnly => "BEGIN READ ONLY",
            TxMode::ReadWrite => "BEGIN",
        }
    }

    fn end(self) -> &'static str {
        match self {
            TxMode::ReadOnly => "ROLLBACK",
            TxMode::ReadWrite => "COMMIT",
        }
    }
}

/// A result column as the answer lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// The column's name as the statement produced it.
    pub name: String,
    /// PostgreSQL's name for its type ([`type_name`]), e.g. `int8` or `text[]`.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// What one statement of a call did.
#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    /// The statement's command verb, as in [`Statement::command`].
    pub command: String,
    /// Rows the command tag reports (inserted, updated, returned, …); `None` when it reports none.
    pub rows_affected: Option<u64>,
}

/// What a call produced: the last statement's rows, and a report per statement.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The last statement's columns (those returned, see `columns_cut`).
    pub columns: Vec<Column>,
    /// The last statement's rows that fit the limits, one JSON object per row.
    pub rows: Vec<Map<String, Value>>,
    /// Rows or values were left out to fit the limits.
    pub truncated: bool,
    /// Which limit cut the rows, if one did.
    pub stopped_by: Option<Limit>,
    /// Rows the last statement produced (returned or not).
    pub rows_seen: u64,
    /// A single row was larger than the byte limit and its longest values were cut.
    pub values_cut: bool,
    /// The columns list did not fit in --max-result-bytes: (columns returned, columns the statement has).
    pub columns_cut: Option<(usize, usize)>,
    /// One report per statement, in order.
    pub statements: Vec<StatementReport>,
    /// Every statement's rows, when asked for with [`run_all_rows`]; otherwise empty.
    pub all_rows: Vec<Vec<Map<String, Value>>>,
    /// How many times the transaction ran (1 unless a conflict made it run again).
    pub attempts: u32,
    /// A looked-at call ([`run_looked`]) whose judge did not let it commit: it was rolled back, and the rest of
    /// the outcome is empty.
    pub held: bool,
}

/// A write run up to just before COMMIT so the server can see what it really did: reads of its own before and
/// after the caller's statements, in the same transaction and the same flight, and a judge that decides from their
/// rows whether the transaction commits or is rolled back.
pub struct Look<'a> {
    /// Reads sent after BEGIN, before the caller's statements (the server's own texts; every row is kept).
    pub before: Vec<Statement>,
    /// Reads sent after the caller's statements, before the end (every row is kept).
    pub after: Vec<Statement>,
    /// Gets the rows of `before` then `after` (one list per statement, in order) and the reports of the caller's
    /// statements; true commits, false rolls back. Called once per attempt.
    #[allow(clippy::type_complexity)]
    pub judge: &'a (dyn Fn(&[Vec<Map<String, Value>>], &[StatementReport]) -> bool + Sync),
}

/// Where a look's reads sit among an attempt's statements.
#[derive(Clone, Copy)]
struct LookAt<'a> {
    at: usize,
    before: usize,
    after: usize,
    look: &'a Look<'a>,
}

/// How an attempt failed: run the whole transaction again, or report.
#[derive(Debug)]
enum Failure {
    /// Nothing was committed and running it again may succeed (a conflict, a session lost before COMMIT).
    Retry(ExecError),
    Final(ExecError),
    /// A looked-at call its judge did not let commit: rolled back, nothing to report but that.
    Held,
}

impl Failure {
    /// An attempt of a transaction in `mode` that failed with `err`, run again when the error says it may
    /// ([`ExecError::retry`]) or the connection closed under it before it could commit.
    fn of(err: ExecError, mode: TxMode, connection_closed: bool) -> Failure {
        if connection_closed || err.retry(mode).is_some() { Failure::Retry(err) } else { Failure::Final(err) }
    }
}

/// End the transaction with ROLLBACK after `failure` (a looked-at call its judge held, a refused statement, an
/// emulated limit); a connection that was `lost`, or that cannot even roll back, is not reused.
async fn roll_back(client: &tokio_postgres::Client, a: &Attempt<'_>, lost: bool, failure: Failure) -> Failure {
    if lost || pristine::rollback(client, a).await.is_err() {
        a.poisoned.store(true, Ordering::Relaxed);
    }
    failure
}

/// A write whose statements all answered and whose end is not sent yet: the emulation's checks before COMMIT, the
/// look's judge, then COMMIT, or ROLLBACK when one of them says no. `started`: when the transaction began.
async fn commit(
    client: &tokio_postgres::Client,
    a: &Attempt<'_>,
    done: Vec<pipeline::StatementDone>,
    started: Instant,
) -> Result<Outcome, Failure> {
    if let Some(emulation) = &a.emulation {
        let reports: Vec<StatementReport> = done.iter().map(|(report, _)| report.clone()).collect();
        if let Err(refused) = emulation.before_commit(&reports, started.elapsed()) {
            return Err(roll_back(client, a, false, Failure::Final(refused)).await);
        }
    }
    if !a.judged(&done) {
        return Err(roll_back(client, a, false, Failure::Held).await);
    }
    if let Err(e) = pristine::end(client, a).await {
        if e.as_db_error().is_none() {
            a.poisoned.store(true, Ordering::Relaxed);
            return Err(Failure::Final(ExecError::CommitUnknown { detail: crate::error_chain::text(&e) }));
        }
        return Err(end_failure(&e, a));
    }
    Ok(outcome_from(client, done, a).await)
}

/// What one attempt needs.
struct Attempt<'a> {
    statements: &'a [Statement],
    mode: TxMode,
    limits: Limits,
    ctx: &'a ErrorContext<'a>,
    on_statement_done: &'a (dyn Fn(usize, usize) + Sync),
    /// The emulation's view of this call, when the database is made to answer like DSQL ([`hooks`]).
    emulation: Option<Box<dyn Emulation + 'a>>,
    /// Return every statement's rows, not only the last one's.
    all_rows: bool,
    /// Set when the connection saw something other than a database's answer: it is not reused.
    poisoned: AtomicBool,
    /// The statements are this server's own fixed catalog reads: keep them prepared on the connection
    /// ([`plans`]).
    keep_prepared: bool,
    /// The largest protocol message a statement becomes (catalog C12), measured before sending.
    largest_message: std::sync::atomic::AtomicUsize,
    /// A looked-at call: where the look's first reads start among `statements` (after the caller's leading `SET`s,
    /// which must come first in a transaction), how many there are, how many reads end the list, and the judge.
    look: Option<LookAt<'a>>,
    /// The database has session state a call can leave behind (PostgreSQL, not DSQL): the end of the
    /// transaction resets it ([`pristine`]).
    reset_session: bool,
}

impl<'a> Attempt<'a> {
    /// An attempt that returns the last statement's rows and keeps nothing prepared.
    fn new(
        db: &'a Database,
        statements: &'a [Statement],
        mode: TxMode,
        limits: Limits,
        ctx: &'a ErrorContext<'a>,
        on_statement_done: &'a (dyn Fn(usize, usize) + Sync),
    ) -> Attempt<'a> {
        Attempt {
            statements,
            mode,
            limits,
            ctx,
            on_statement_done,
            emulation: db.emulation().map(|e| e.call(statements)),
            all_rows: false,
            poisoned: AtomicBool::new(false),
            keep_prepared: false,
            largest_message: Default::default(),
            look: None,
            reset_session: db.kind != crate::pool::BackendKind::Dsql,
        }
    }

    /// The text sent for statement `i`: as the emulation adapted it, or as written.
    fn text(&self, i: usize) -> &str {
        self.emulation.as_ref().and_then(|e| e.text(i)).unwrap_or(&self.statements[i].text)
    }

    /// How this attempt's statements are sent: as the emulation says; otherwise in one flight, or, for a looked-at
    /// write, with COMMIT held back until the judge has seen the answers.
    fn sending(&self) -> Sending {
        match &self.emulation {
            Some(emulation) => emulation.sending(self.mode),
            None if self.look.is_some() => Sending::ThenCommit,
            None => Sending::Pipelined,
        }
    }

    /// Whether statement `i` is one of the look's reads (not the caller's).
    fn is_probe(&self, i: usize) -> bool {
        self.look.is_some_and(|l| (l.at..l.at + l.before).contains(&i) || i >= self.statements.len() - l.after)
    }

    /// The caller's position of statement `i` and the caller's statement count.
    fn callers_position(&self, i: usize) -> (usize, usize) {
        let Some(l) = self.look else { return (i, self.statements.len()) };
        let n = self.statements.len() - l.before - l.after;
        let i = if i >= l.at + l.before { i - l.before } else { i.min(l.at) };
        (i.min(n.saturating_sub(1)), n)
    }

    /// The collector of statement `i`'s rows: every row of a look's read; the caller's last statement's rows (or
    /// every statement's, with `all_rows`) under the call's limits; none otherwise.
    fn collector(&self, i: usize) -> rows::Collector {
        if self.is_probe(i) {
            return rows::Collector::new(true, usize::MAX, usize::MAX);
        }
        let last = self.statements.len() - self.look.map_or(0, |l| l.after) - 1;
        rows::Collector::new(self.all_rows || i == last, self.limits.max_rows, self.limits.max_bytes)
    }

    /// The statements after every answer came back and before the end: true to send COMMIT. Without a look, or for
    /// a read-only transaction, always true.
    fn judged(&self, done: &[pipeline::StatementDone]) -> bool {
        let Some(l) = self.look else { return true };
        let n = done.len();
        let rows: Vec<Vec<Map<String, Value>>> =
            done[l.at..l.at + l.before].iter().chain(&done[n - l.after..]).map(|(_, c)| c.rows.clone()).collect();
        let reports: Vec<StatementReport> =
            done[..l.at].iter().chain(&done[l.at + l.before..n - l.after]).map(|(r, _)| r.clone()).collect();
        (l.look.judge)(&rows, &reports)
    }

    /// The caller's statements' answers, without the look's reads.
    fn callers(&self, mut done: Vec<pipeline::StatementDone>) -> Vec<pipeline::StatementDone> {
        if let Some(l) = self.look {
            done.truncate(done.len() - l.after);
            done.drain(l.at..l.at + l.before);
        }
        done
    }
}

/// Run `statements` in one transaction on a pooled connection, retrying the whole transaction on DSQL's
/// optimistic conflicts (`40001`) within the call's budget.
pub async fn run(
    db: &Database,
    statements: &[Statement],
    mode: TxMode,
    limits: Limits,
    ctx: &ErrorContext<'_>,
    on_statement_done: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome, ExecError> {
    if let Some(i) = statements.iter().position(|s| s.command == "COPY") {
        return Err(ExecError::Input(copy_has_no_stream(i, statements.len())));
    }
    run_attempts(db, &Attempt::new(db, statements, mode, limits, ctx, on_statement_done)).await
}

/// [`run`] for a write the server must see before it commits ([`Look`]): BEGIN, the look's reads, the statements,
/// its reads again, all in one flight; the judge decides from the answers whether COMMIT (a second round trip) or
/// ROLLBACK follows. A rolled-back call returns an outcome with `held` set.
pub async fn run_looked(
    db: &Database,
    statements: &[Statement],
    look: &Look<'_>,
    limits: Limits,
    ctx: &ErrorContext<'_>,
    on_statement_done: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome, ExecError> {
    if let Some(i) = statements.iter().position(|s| s.command == "COPY") {
        return Err(ExecError::Input(copy_has_no_stream(i, statements.len())));
    }
    let (before, after, n) = (look.before.len(), look.after.len(), statements.len());
    // `SET TRANSACTION …` must come before any read of the transaction: the caller's leading SETs go first.
    let at = statements.iter().take_while(|s| s.command == "SET").count();
    let all: Vec<Statement> =
        statements[..at].iter().chain(&look.before).chain(&statements[at..]).chain(&look.after).cloned().collect();
    // Progress counts the caller's statements only.
    let progress = |done: usize, _total: usize| {
        let i = done - 1;
        if i < at {
            on_statement_done(done, n);
        } else if i >= at + before && i < before + n {
            on_statement_done(done - before, n);
        }
    };
    let attempt = Attempt {
        look: Some(LookAt { at, before, after, look }),
        ..Attempt::new(db, &all, TxMode::ReadWrite, limits, ctx, &progress)
    };
    run_attempts(db, &attempt).await
}

/// [`run`] for reads whose every statement's rows are wanted (in `all_rows`), in one read-only transaction and
/// one round trip.
pub async fn run_all_rows(
    db: &Database,
    statements: &[Statement],
    limits: Limits,
    ctx: &ErrorContext<'_>,
) -> Result<Outcome, ExecError> {
    run_reads(db, statements, limits, ctx, false).await
}

/// [`run_all_rows`] for the server's own catalog reads, whose texts are fixed in this crate (values go as
/// parameters): they are kept prepared on each connection (`exec::plans`), so PostgreSQL plans them once per
/// connection, not once per call. Never pass a text built from user input: the cache would grow with it.
pub async fn run_catalog_reads(
    db: &Database,
    statements: &[Statement],
    limits: Limits,
    ctx: &ErrorContext<'_>,
) -> Result<Outcome, ExecError> {
    run_reads(db, statements, limits, ctx, true).await
}

async fn run_reads(
    db: &Database,
    statements: &[Statement],
    limits: Limits,
    ctx: &ErrorContext<'_>,
    keep_prepared: bool,
) -> Result<Outcome, ExecError> {
    let attempt = Attempt {
        all_rows: true,
        keep_prepared,
        ..Attempt::new(db, statements, TxMode::ReadOnly, limits, ctx, &|_, _| {})
    };
    run_attempts(db, &attempt).await
}

/// Why a `COPY` that passed the checks is not sent. The checks let `COPY … FROM STDIN` / `TO STDOUT` through (the
/// Python server's do too; the others, PROGRAM and server files, are refused there), but its data travels in a
/// stream of its own on the connection that neither MCP nor this server carries. Sent, it would leave the
/// connection waiting for data that never comes, and a write would end as "outcome unknown"; refused here,
/// nothing is sent and the agent learns what works instead.
fn copy_has_no_stream(i: usize, n: usize) -> String {
    let which = if n == 1 { "the statement".to_string() } else { format!("statement {} of {n}", i + 1) };
    format!(
        "{which} is a COPY … FROM STDIN / TO STDOUT, which streams its rows over a data channel that a tool call \
         does not have; nothing was sent. Read rows with SELECT (readonly_query); write them with INSERT … VALUES \
         (transact, values bound with params_list; at most {} rows per transaction in DSQL), or run COPY from psql \
         (\\copy) outside the agent.",
        crate::sql::txn::ROW_LIMIT
    )
}

async fn run_attempts(db: &Database, attempt: &Attempt<'_>) -> Result<Outcome, ExecError> {
    // DSQL drops the connection without a word on a message over 10 MiB (C12): refuse it before anything is sent.
    // The emulation's rewrites at most double a text, so only a long one is rewritten to be measured.
    // The text measured is the one sent (as the emulation adapted it, once per call).
    let largest = message_size::check(attempt.statements, |i| attempt.text(i)).map_err(ExecError::Input)?;
    attempt.largest_message.store(largest, Ordering::Relaxed);
    let started = Instant::now();
    let mut deadline = Deadline::new(tokio::time::Instant::now() + attempt.limits.timeout);
    let stop = cancel::current();
    let result = attempts(db, attempt, &mut deadline, stop.as_ref(), started).await;
    deadline::keep(deadline);
    result
}

async fn attempts(
    db: &Database,
    attempt: &Attempt<'_>,
    deadline: &mut Deadline,
    stop: Option<&cancel::CancellationToken>,
    started: Instant,
) -> Result<Outcome, ExecError> {
    let mut tries = 1u32;
    loop {
        let once = attempt_once(db, attempt, deadline, stop).await;
        let once = once.map_err(|f| after_large_message(f, attempt.largest_message.load(Ordering::Relaxed)));
        let failure = match once {
            Ok(mut outcome) => {
                outcome.attempts = tries;
                if tries > 1 {
                    tracing::info!("transaction committed on attempt {tries}");
                }
                return Ok(outcome);
            }
            Err(Failure::Final(e)) => return Err(e),
            Err(Failure::Held) => return Ok(Outcome { held: true, attempts: tries, ..Outcome::default() }),
            Err(Failure::Retry(e)) => e,
        };
        let exhausted = |reason| ExecError::Exhausted {
            attempts: tries,
            elapsed_ms: started.elapsed().as_millis() as u64,
            reason,
            last: Box::new(failure.clone()),
        };
        if tries > attempt.limits.max_retries {
            return Err(exhausted("--max-retries reached"));
        }
        let wait = retry::backoff(tries + 1);
        if tokio::time::Instant::now() + wait >= deadline.at() {
            return Err(exhausted("the call's --statement-timeout budget ran out"));
        }
        tracing::info!(
            "attempt {tries} failed ({}); running the whole transaction again in {} ms",
            failure.sqlstate().unwrap_or("connection lost"),
            wait.as_millis()
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel::stopped(stop) => return Err(ExecError::Cancelled),
        }
        tries += 1;
    }
}

/// One attempt on one pooled connection, stopped by the deadline or the client. A stopped attempt gets a cancel
/// request and is then driven to its end, so the connection's state is known: back to the pool clean, or
/// dropped.
async fn attempt_once(
    db: &Database,
    attempt: &Attempt<'_>,
    deadline: &mut Deadline,
    stop: Option<&cancel::CancellationToken>,
) -> Result<Outcome, Failure> {
    let timeout = || ExecError::Timeout { secs: attempt.limits.timeout.as_secs() };
    let client = tokio::select! {
        // An idle pooled connection is ready at once: take it without registering the timer.
        biased;
        got = db.get() => got.map_err(|e| Failure::Final(ExecError::Connect(e)))?,
        _ = deadline.reached() => return Err(Failure::Final(timeout())),
        _ = cancel::stopped(stop) => return Err(Failure::Final(ExecError::Cancelled)),
    };
    if let Some(emulation) = &attempt.emulation
        && !emulation.before_attempt(&client).await
    {
        attempt.poisoned.store(true, Ordering::Relaxed);
    }
    let cancel_token = client.cancel_token();
    let sending = attempt.sending();
    let (result, unanswered, stopped) = {
        let work = async {
            match (sending, &attempt.emulation) {
                (Sending::Stepwise, Some(emulation)) => stepwise::attempt(&client, attempt, emulation.as_ref()).await,
                (Sending::ThenCommit | Sending::Stepwise, _) => pipeline::attempt_then_commit(&client, attempt).await,
                (Sending::Pipelined, _) => pipeline::attempt(&client, attempt).await,
            }
        };
        tokio::pin!(work);
        let interrupted = tokio::select! {
            result = &mut work => Ok(result),
            _ = deadline.reached() => Err(timeout()),
            _ = cancel::stopped(stop) => Err(ExecError::Cancelled),
        };
        match interrupted {
            Ok(result) => (result, false, false),
            Err(interrupted) => {
                tracing::warn!("{}: cancelling it in the database", first_line(&interrupted.to_string()));
                // The cancel request travels on its own connection while this one keeps reading, so the statement
                // ends with 57014 and the transaction with ROLLBACK; a server that does not answer loses the
                // connection instead.
                let ended = cancel_until_done(db, &cancel_token, &mut work).await;
                match ended {
                    // It finished before the cancel reached it: the result is complete and true.
                    Ok(Ok(outcome)) => (Ok(outcome), false, false),
                    Ok(Err(_)) => (Err(Failure::Final(interrupted)), false, true),
                    Err(_) if attempt.mode == TxMode::ReadWrite && sending != Sending::Stepwise => {
                        let detail = "the database did not answer after the call was stopped".to_string();
                        (Err(Failure::Final(ExecError::CommitUnknown { detail })), true, false)
                    }
                    Err(_) => (Err(Failure::Final(interrupted)), true, false),
                }
            }
        }
    };
    if unanswered {
        attempt.poisoned.store(true, Ordering::Relaxed);
    }
    // A cancel can also land on the transaction's own ROLLBACK and leave it aborted: end it for certain before the
    // connection is reused (all cancel requests have been answered by now).
    if stopped && !client.is_closed() && pristine::rollback(&client, attempt).await.is_err() {
        attempt.poisoned.store(true, Ordering::Relaxed);
    }
    finish(client, attempt, result)
}

/// Send cancel requests until the attempt ends, for at most 5 s. PostgreSQL ignores a cancel that arrives while
/// the backend reads its next message (between the pipelined requests), so one request is not enough. Each cancel
/// request is awaited to its end before the attempt's connection can be reused: a late one must not reach the next
/// call's statement.
async fn cancel_until_done<F: std::future::Future + Unpin>(
    db: &Database,
    token: &tokio_postgres::CancelToken,
    work: &mut F,
) -> Result<F::Output, ()> {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, ended) =
            futures::join!(db.cancel(token.clone()), tokio::time::timeout(Duration::from_millis(250), &mut *work));
        if let Ok(output) = ended {
            return Ok(output);
        }
        if tokio::time::Instant::now() >= give_up {
            return Err(());
        }
    }
}

/// Return the connection to the pool only when its state is known to be clean: a connection that was closed, or
/// that saw anything but a database's answer (a broken stream, a protocol surprise), is dropped.
fn finish(
    client: deadpool_postgres::Object,
    attempt: &Attempt<'_>,
    result: Result<Outcome, Failure>,
) -> Result<Outcome, Failure> {
    if client.is_closed() || attempt.poisoned.load(Ordering::Relaxed) {
        attempt.poisoned.store(false, Ordering::Relaxed);
        let _ = deadpool_postgres::Object::take(client);
    }
    result
}

/// Ask the server for the text form of values this crate does not decode, all in one round trip, after the
/// transaction (so a failure here cannot affect it). Any value the server cannot convert is kept as text or hex.
async fn convert_pending(
    client: &tokio_postgres::Client,
    rows: &mut [Map<String, Value>],
    pending: Vec<rows::Pending>,
) {
    if pending.is_empty() {
        return;
    }
    let requests = pending.iter().map(|p| async move {
        let stream = client
            .query_typed_raw("SELECT $1::text", [(&BinaryParam(&p.bytes) as &(dyn ToSql + Sync), p.ty.clone())])
            .await
            .ok()?;
        futures::pin_mut!(stream);
        let row = futures::StreamExt::next(&mut stream).await?.ok()?;
        while futures::StreamExt::next(&mut stream).await.is_some() {}
        row.try_get::<_, Option<String>>(0).ok().flatten()
    });
    let texts = pipeline::in_order(requests.map(Box::pin).collect()).await;
    for (p, text) in pending.into_iter().zip(texts) {
        let text = text.unwrap_or_else(|| rows::fallback_text(&p.bytes));
        if let Some(row) = rows.get_mut(p.row) {
            row.insert(p.key, Value::String(text));
        }
    }
}

/// A statement's database error as the caller sees it, and whether running the transaction again may succeed.
fn statement_failure(e: &tokio_postgres::Error, st: &Statement, index: usize, attempt: &Attempt<'_>) -> Failure {
    statement_failure_at(e, st, index, attempt, errors::position(e))
}

/// [`statement_failure`] with the error's position within the statement given (a batch counts positions from the
/// start of the batch, see [`batch`]).
fn statement_failure_at(
    e: &tokio_postgres::Error,
    st: &Statement,
    index: usize,
    attempt: &Attempt<'_>,
    position: Option<u32>,
) -> Failure {
    // A looked-at call numbers the caller's statements, not the server's reads around them (an error in one of
    // those is put on the nearest statement of the caller's).
    let (index, n) = attempt.callers_position(index);
    let ctx = ErrorContext { statement: Some((index, n, &st.text)), ..*attempt.ctx };
    let err = match attempt.emulation.as_ref().and_then(|emulation| emulation.map_error(e, &st.command)) {
        Some(mapped) => mapped,
        None => errors::from_pg_at(e, &ctx, position),
    };
    classify(err, e, attempt.mode)
}

/// A lost connection as an error: `08006`, so it is recognised as a session that ended.
fn connection_lost(what: String) -> ExecError {
    ExecError::Db { sqlstate: Some(sqlstate::CONNECTION_FAILURE.into()), text: what }
}

/// An attempt whose connection was lost before anything could commit: run again ([`retry::Retry::SessionEnded`]).
fn lost_before_commit(what: String, mode: TxMode) -> Failure {
    Failure::of(connection_lost(what), mode, true)
}

/// A statement's or the end's database error as a failed attempt: retried as the error says ([`Failure::of`]).
fn classify(err: ExecError, e: &tokio_postgres::Error, mode: TxMode) -> Failure {
    Failure::of(err, mode, e.as_db_error().is_none() && e.is_closed())
}

/// The database refused the end of the transaction (COMMIT, or the final ROLLBACK): nothing was committed. DSQL
/// reports most conflicts here.
fn end_failure(e: &tokio_postgres::Error, a: &Attempt<'_>) -> Failure {
    let ctx = ErrorContext { statement: None, ..*a.ctx };
    let mapped = a.emulation.as_ref().and_then(|emulation| emulation.map_error(e, "COMMIT"));
    end_failure_of(mapped.unwrap_or_else(|| errors::from_pg(e, &ctx)), e, a.mode)
}

/// For a write, `XX000` on COMMIT leaves the outcome unknown (catalog T13: DSQL's "server unavailable" can come
/// after the commit took effect), so it is reported as such and never run again; anything else is classified as a
/// statement's error.
fn end_failure_of(err: ExecError, e: &tokio_postgres::Error, mode: TxMode) -> Failure {
    if mode == TxMode::ReadWrite && err.sqlstate() == Some(sqlstate::INTERNAL_ERROR) {
        let said = e.as_db_error().map_or_else(|| e.to_string(), |db| db.message().to_string());
        return Failure::Final(ExecError::CommitUnknown {
            detail: format!("COMMIT was answered with XX000 {said}, which on DSQL does not say whether it committed"),
        });
    }
    classify(err, e, mode)
}

/// A connection lost after the attempt sent a large message (catalog C12): DSQL closes the connection without an
/// answer when a message is over 10 MiB, so sending the same message again would fail the same way. Not retried;
/// a write that may have committed stays "outcome unknown", with the size said.
fn after_large_message(failure: Failure, largest: usize) -> Failure {
    if largest < message_size::LARGE_WRITE_BYTES {
        return failure;
    }
    let note = format!(
        "the call sent a message of {:.1} MiB just before; DSQL closes the connection without an error when one \
         message is over 10 MiB (catalog C12), so it was not sent again",
        largest as f64 / (1024.0 * 1024.0)
    );
    match failure {
        Failure::Retry(err)
            if matches!(
                err.sqlstate(),
                None | Some(sqlstate::CONNECTION_FAILURE | sqlstate::CONNECTION_DOES_NOT_EXIST)
            ) =>
        {
            Failure::Final(ExecError::Db {
                sqlstate: err.sqlstate().map(str::to_string),
                text: format!("{err}\nNOTE: {note}."),
            })
        }
        Failure::Final(ExecError::CommitUnknown { detail }) => {
            Failure::Final(ExecError::CommitUnknown { detail: format!("{detail}; {note}") })
        }
        other => other,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The call's result from each statement's report and rows (the last statement's are returned; with `all_rows`
/// every statement's), after converting the values the server must convert.
async fn outcome_from(client: &tokio_postgres::Client, done: Vec<pipeline::StatementDone>, a: &Attempt<'_>) -> Outcome {
    let all_rows = a.all_rows;
    let done = a.callers(done);
    let mut outcome = Outcome::default();
    let n = done.len();
    for (i, (report, mut collected)) in done.into_iter().enumerate() {
        outcome.statements.push(report);
        let last = i + 1 == n;
        if !(last || all_rows) {
            continue;
        }
        let pending = std::mem::take(&mut collected.pending);
        if !pending.is_empty() {
            convert_pending(client, &mut collected.rows, pending).await;
            // Counted by an estimate until now: counted exactly, and rows that no longer fit are dropped.
            rows::settle(&mut collected);
        }
        if all_rows {
            outcome.all_rows.push(collected.rows.clone());
        }
        if last {
            outcome.columns = collected.columns;
            outcome.rows = collected.rows;
            outcome.truncated =
                collected.stopped_by.is_some() || collected.columns_cut.is_some() || collected.values_cut;
            outcome.columns_cut = collected.columns_cut;
            outcome.stopped_by = collected.stopped_by;
            outcome.rows_seen = collected.seen;
            outcome.values_cut = collected.values_cut;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client of a "server" that accepts the connection (trust, ready for a query) and then goes away, so every
    /// request after that fails: a ROLLBACK that cannot reach the database.
    async fn client_of_a_server_that_went_away() -> tokio_postgres::Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut len = [0u8; 4];
            socket.read_exact(&mut len).await.unwrap();
            let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
            socket.read_exact(&mut startup).await.unwrap();
            // AuthenticationOk, then ReadyForQuery (idle); then the socket closes.
            socket.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 0, b'Z', 0, 0, 0, 5, b'I']).await.unwrap();
        });
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(port)
            .user("u")
            .connect(tokio_postgres::NoTls)
            .await
            .expect("the handshake");
        server.await.unwrap();
        tokio::spawn(connection);
        client
    }

    fn attempt<'a>(
        statements: &'a [Statement],
        ctx: &'a ErrorContext<'a>,
        reset_session: bool,
        on_done: &'a (dyn Fn(usize, usize) + Sync),
    ) -> Attempt<'a> {
        let limits = Limits { max_rows: 10, max_bytes: 1000, timeout: Duration::from_secs(5), max_retries: 0 };
        Attempt {
            statements,
            mode: TxMode::ReadWrite,
            limits,
            ctx,
            on_statement_done: on_done,
            emulation: None,
            all_rows: false,
            poisoned: AtomicBool::new(false),
            keep_prepared: false,
            largest_message: Default::default(),
            look: None,
            reset_session,
        }
    }

    #[tokio::test]
    async fn a_connection_whose_rollback_failed_is_not_reused() {
        let statements =
            [Statement { text: "SELECT 1".into(), command: "SELECT".into(), params: vec![], quota: vec![] }];
        let ctx = ErrorContext::default();
        // Both ends: a bare ROLLBACK (DSQL) and the ROLLBACK with the session reset (PostgreSQL).
        for reset_session in [false, true] {
            let client = client_of_a_server_that_went_away().await;
            let a = attempt(&statements, &ctx, reset_session, &|_, _| {});
            let refused = ExecError::Input("refused".into());
            let failure = roll_back(&client, &a, false, Failure::Final(refused)).await;
            assert!(matches!(failure, Failure::Final(ExecError::Input(_))), "{failure:?}");
            assert!(
                a.poisoned.load(Ordering::Relaxed),
                "reset_session {reset_session}: the connection would be reused"
            );
        }
    }
}
