//! The engine's hooks for a database made to answer like another (the DSQL emulation, `crate::emulation`). The
//! engine runs statements, pipelines, retries and cancels; wherever the emulation's answer differs, it asks here,
//! and a database without an emulation (Aurora DSQL itself, `--rules off`) has none of these calls.
//!
//! An [`Emulator`] lives as long as the database; [`Emulator::call`] adapts a call's statements once and returns
//! the [`Emulation`] of that call, which the engine asks at each step of every attempt.

use std::time::Duration;

use futures::future::BoxFuture;
use tokio_postgres::{Client, Error};

use super::{ExecError, Statement, StatementReport, TxMode};

/// Makes a database answer like another, for one call at a time.
pub trait Emulator: Send + Sync {
    /// Adapt `statements` once (the texts to send, what each needs) for every attempt of one call.
    fn call<'s>(&'s self, statements: &'s [Statement]) -> Box<dyn Emulation + 's>;
}

/// How an attempt's statements are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// `BEGIN`, every statement and the end in one flight: one round trip.
    Pipelined,
    /// `BEGIN` and every statement in one flight; the answers are looked at before `COMMIT` (or `ROLLBACK`) is
    /// sent: two round trips.
    ThenCommit,
    /// One statement at a time, with [`Emulation::before_statement`] and [`Emulation::answer_instead`] around
    /// each: a round trip per statement.
    Stepwise,
}

/// One call under emulation: the hooks the engine calls, in the order it calls them.
pub trait Emulation: Send + Sync {
    /// The text sent for statement `i`, when it is not the statement as written.
    fn text(&self, i: usize) -> Option<&str>;
    /// How a transaction in `mode` is sent.
    fn sending(&self, mode: TxMode) -> Sending;
    /// On the attempt's connection, before `BEGIN`. False: the connection's state is unknown; it is not reused.
    fn before_attempt<'c>(&'c self, client: &'c Client) -> BoxFuture<'c, bool>;
    /// Sent right after `BEGIN` in a transaction in `mode`, in the same flight.
    fn after_begin(&self, mode: TxMode) -> Option<&'static str>;
    /// Before statement `i` runs ([`Sending::Stepwise`]): the error it would get, if it must not run.
    fn before_statement<'c>(&'c self, client: &'c Client, i: usize) -> BoxFuture<'c, Result<Option<ExecError>, Error>>;
    /// After statement `i` ran ([`Sending::Stepwise`]): a statement whose rows are statement `i`'s answer instead.
    fn answer_instead(&self, i: usize) -> Option<Statement>;
    /// After each statement ([`Sending::Stepwise`]), with the reports so far: the error that stops the
    /// transaction there, if any.
    fn after_statement(&self, reports: &[StatementReport]) -> Result<(), ExecError>;
    /// Before `COMMIT` of a write, with every statement's report and the transaction's age: the error that rolls it
    /// back instead, if any.
    fn before_commit(&self, reports: &[StatementReport], age: Duration) -> Result<(), ExecError>;
    /// A database error as the emulated database gives it (`command`: the failed statement's verb, or `COMMIT`);
    /// `None` describes it as it is.
    fn map_error(&self, e: &Error, command: &str) -> Option<ExecError>;
}
