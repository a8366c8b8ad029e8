//! The audit log (`--audit-log FILE`): one JSON line per tool call, whatever became of it (run, refused by a
//! check, failed, declined, an unknown tool), saying who ran what where and how it ended, without the values.
//!
//! The server opens a [`Call`] when a `tools/call` arrives ([`Log::begin`]: the tool, the cluster, the role, each
//! statement's hash and redacted text), runs the call inside [`scope`] so the confirmation gate can say what the
//! user decided ([`confirmed`]) without a parameter threaded through every tool, and ends it with how the call
//! ended ([`Ending`], made by the tools' error type or from the result). The line is written then, in one write,
//! by [`Log`]. Nothing here touches the database: the audit log adds no round trip.
//!
//! The format is documented in docs/audit-log.md; [`FORMAT_VERSION`] changes when a field changes meaning or goes.

mod file;
mod record;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use file::Log;
pub use record::{Given, Line, StatementRecord, statements_in};

/// The `v` field of every line. New fields may be added within a version; a field that changes meaning or is
/// removed bumps it.
pub const FORMAT_VERSION: u32 = 1;

/// How a call ended, as the log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It succeeded and committed nothing: reads (their transaction always ends with ROLLBACK), documentation,
    /// dsql_lint, get_schema, a dry run, `transact` on a read-only server.
    Ok,
    /// It succeeded and its writes were committed.
    Committed,
    /// It reached the database and was rolled back: a statement failed, conflicts ran out of retries, the time
    /// budget ran out, the client cancelled it, or the user declined what it would destroy.
    RolledBack,
    /// COMMIT was sent and its answer was lost: it may or may not have committed.
    Unknown,
    /// A check refused it before anything was sent (a guard, a DSQL rule, the write gate, an unknown tool), or the
    /// confirmation policy refused it; `check` says which.
    Refused,
    /// Anything else: bad arguments, no database, a failed connection, a migration step that failed.
    Error,
}

/// What the user (or the policy) decided about a call that would destroy data or schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// Nobody was asked: nothing in the call needed a look, or confirmations are off (read-only server,
    /// `--confirm-destructive allow`).
    #[default]
    NotAsked,
    /// It was looked at (run up to COMMIT) and destroyed nothing, so nobody had to be asked.
    NotNeeded,
    /// The user was asked and said yes.
    Accepted,
    /// The user was asked and said no (or dismissed the question).
    Declined,
    /// The question went back to the client (`input_required`); its answer comes as another call.
    Asked,
    /// `--confirm-destructive refuse` and the client cannot ask the user: refused.
    RefusedByPolicy,
    /// `--confirm-destructive ask` and the client cannot ask the user: run, with a warning in the result.
    AllowedByPolicy,
}

/// How a call ended, before the confirmation decision is added: made from the tool's result or its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// How it ended.
    pub outcome: Outcome,
    /// What refused it or what kind of failure it was: a finding's rule id (`dsql.…`, `safety.…`), `needs_writes`,
    /// `unknown_tool`, `confirmation`, `invalid_arguments`, `connect`, ….
    pub check: Option<String>,
    /// The SQLSTATE, when the failure has one.
    pub sqlstate: Option<String>,
    /// How many times the transaction ran, when known.
    pub attempts: Option<u32>,
}

impl Ending {
    /// A success: committed or not, with the attempts the engine reported.
    pub fn success(committed: bool, attempts: Option<u32>) -> Ending {
        let outcome = if committed { Outcome::Committed } else { Outcome::Ok };
        Ending { outcome, check: None, sqlstate: None, attempts }
    }

    /// Refused by `check` before anything ran.
    pub fn refused(check: &str, sqlstate: Option<String>) -> Ending {
        Ending { outcome: Outcome::Refused, check: Some(check.to_string()), sqlstate, attempts: None }
    }

    /// Failed in a way that is not a refusal; `kind` names it.
    pub fn error(kind: &str) -> Ending {
        Ending { outcome: Outcome::Error, check: Some(kind.to_string()), sqlstate: None, attempts: None }
    }

    /// Rolled back (or, `unknown`, possibly committed) with this SQLSTATE after `attempts`.
    pub fn ended(outcome: Outcome, sqlstate: Option<String>, attempts: Option<u32>) -> Ending {
        Ending { outcome, check: None, sqlstate, attempts }
    }
}

/// What the call itself fills in as it goes.
#[derive(Debug, Default)]
struct Note {
    /// What was decided about destroying data or schema.
    confirmation: Confirmation,
    /// Refused before it ran because the log could not be written (`--audit-required`).
    unwritable: bool,
}

tokio::task_local! {
    static NOTE: Arc<Mutex<Note>>;
}

/// Record what was decided about the current call's confirmation. Does nothing outside [`scope`] (no audit log).
pub fn confirmed(decision: Confirmation) {
    let _ = NOTE.try_with(|note| note.lock().unwrap_or_else(|e| e.into_inner()).confirmation = decision);
}

/// Runs `work` as the call `scope` belongs to ([`Call::scope`]; none without an audit log), so what it decides is
/// noted on the call. With `--audit-required` and a log whose last line could not be written, `work` does not run:
/// the call is refused with why (and its own line, if it can be written, makes the log usable again).
pub async fn scope<T, E, F>(scope: Option<Scope>, work: F) -> Result<T, E>
where
    E: From<String>,
    F: Future<Output = Result<T, E>>,
{
    let Some(Scope { log, note }) = scope else { return work.await };
    if log.refuses_calls() {
        note.lock().unwrap_or_else(|e| e.into_inner()).unwritable = true;
        return Err(E::from(format!(
            "Refused: the audit log {} could not be written, and the server runs with --audit-required, so no tool \
             runs until it can be written again (see the server's log on stderr; free space or fix the file's \
             permissions). Nothing ran.",
            log.path().display()
        )));
    }
    NOTE.scope(note, work).await
}

/// What a running call needs of its [`Call`]: where to note decisions, and whether the log refuses calls.
pub struct Scope {
    log: Arc<Log>,
    note: Arc<Mutex<Note>>,
}

/// One call being recorded: written when it [`Call::end`]s.
pub struct Call {
    log: Arc<Log>,
    started: Instant,
    line: Line,
    note: Arc<Mutex<Note>>,
}

impl Call {
    /// Who made the call (see `Line::caller`).
    pub fn by(mut self, caller: &str) -> Call {
        self.line.caller = Some(caller.to_string());
        self
    }

    /// The handle [`scope`] runs the call with.
    pub fn scope(&self) -> Scope {
        Scope { log: self.log.clone(), note: self.note.clone() }
    }

    /// Writes the call's line: how it ended, the confirmation decision, the rows and attempts `result` reports
    /// (a tool's structured result: `attempts`, `row_count`, `statements[].rows_affected`), and its duration.
    pub fn end(mut self, ending: Ending, result: Option<&serde_json::Value>) {
        let (confirmation, unwritable) = {
            let note = self.note.lock().unwrap_or_else(|e| e.into_inner());
            (note.confirmation, note.unwritable)
        };
        let mut ending = ending;
        if unwritable {
            ending = Ending::refused("audit_log", None);
        } else if confirmation == Confirmation::Declined {
            // Measured in a transaction that was rolled back, then declined: nothing the user refused ran.
            ending.outcome = Outcome::RolledBack;
            ending.check = None;
        } else if confirmation == Confirmation::RefusedByPolicy {
            ending.check = Some("confirm_destructive".into());
        } else if confirmation == Confirmation::Asked {
            ending.outcome = Outcome::RolledBack;
        }
        self.line.fill(ending, confirmation, result, self.started.elapsed());
        self.log.write(&self.line);
    }
}
