//! Turning database errors into text an agent can act on: SQLSTATE, the server's message, detail, hint, where in
//! the statement, and — for the codes that matter on DSQL — what to do next. What the database wrote (message,
//! DETAIL, HINT: they quote values and names) is sealed as database text (`untrusted::DbText`), so the renderer
//! shows it between untrusted-data markers; our own sentences stay plain.

use tokio_postgres::error::{DbError, ErrorPosition};

use super::TxMode;
use super::retry::Retry;
use super::untrusted::DbText;
use crate::sqlstate;

/// Why a call failed.
#[derive(Debug, Clone)]
pub enum ExecError {
    /// The database refused or failed a statement.
    Db {
        /// The SQLSTATE, when the database gave one.
        sqlstate: Option<String>,
        /// The whole explanation for the agent, ready to show.
        text: String,
    },
    /// No connection could be had.
    Connect(String),
    /// The call ran longer than --statement-timeout and was cancelled.
    Timeout {
        /// The budget that ran out, in seconds.
        secs: u64,
    },
    /// The request itself was wrong (parameter count, …).
    Input(String),
    /// The client cancelled the call (or went away); the transaction was stopped in the database.
    Cancelled,
    /// The connection was lost after COMMIT was sent: the transaction may or may not have committed, so it is
    /// never run again by itself.
    CommitUnknown {
        /// What happened to the connection.
        detail: String,
    },
    /// The transaction was retried after conflicts (or lost connections) and the last attempt failed too.
    Exhausted {
        /// How many times the transaction ran.
        attempts: u32,
        /// Milliseconds from the first attempt to the last failure.
        elapsed_ms: u64,
        /// Why it was run again, in words for the agent (e.g. conflicts).
        reason: &'static str,
        /// The last attempt's error.
        last: Box<ExecError>,
    },
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Db { text, .. } => f.write_str(text),
            ExecError::Connect(m) => write!(f, "could not connect to the database: {m}"),
            ExecError::Timeout { secs } => write!(
                f,
                "the call ran longer than {secs} s and was cancelled in the database (SQLSTATE 57014); nothing was \
                 committed. Narrow the query (WHERE, LIMIT, an index), or raise --statement-timeout."
            ),
            ExecError::Input(m) => f.write_str(m),
            ExecError::Cancelled => f.write_str(
                "the call was cancelled; its statement was stopped in the database and its transaction rolled back \
                 (nothing was committed).",
            ),
            ExecError::CommitUnknown { detail } => write!(
                f,
                "OUTCOME UNKNOWN: the connection was lost after COMMIT was sent ({detail}), so the transaction may or \
                 may not have committed. It was NOT run again, because running it twice could apply it twice.\n\
                 WHAT TO DO: check with a read whether the changes are there (e.g. SELECT the rows this transaction \
                 inserted or updated) before deciding to run it again."
            ),
            ExecError::Exhausted { attempts, elapsed_ms, reason, last } => write!(
                f,
                "{last}\nRETRIES: the whole transaction was tried {attempts} times over {elapsed_ms} ms and failed \
                 every time ({reason}); nothing was committed. Retry later, make the transaction smaller, or raise \
                 --max-retries."
            ),
        }
    }
}

impl ExecError {
    /// The SQLSTATE the agent is shown: the database's, 57014 for a timeout or cancel, the last attempt's after
    /// retries; `None` when no database answered.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            ExecError::Db { sqlstate, .. } => sqlstate.as_deref(),
            ExecError::Timeout { .. } | ExecError::Cancelled => Some(sqlstate::QUERY_CANCELED),
            ExecError::Exhausted { last, .. } => last.sqlstate(),
            _ => None,
        }
    }

    /// Whether the transaction (in `mode`) that failed with this error may run again, and why
    /// ([`Retry::of`]). Only a database's answer can say so: a timeout, a cancel, an unknown outcome never.
    pub fn retry(&self, mode: TxMode) -> Option<Retry> {
        match self {
            ExecError::Db { sqlstate: Some(code), .. } => Retry::of(code, mode),
            _ => None,
        }
    }
}

/// Context for error text, given by the caller: which statement failed, and what the agent should be told
/// besides the database's answer. The default says nothing more.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorContext<'a> {
    /// (index, count, text) of the statement that failed.
    pub statement: Option<(usize, usize, &'a str)>,
    /// The caller's write was rolled back: say that nothing from the call was committed.
    pub says_rolled_back: bool,
    /// The call came through a tool that only reads (a write it refused with 25006 is pointed to `transact`),
    /// not through a server started read-only.
    pub read_only_tool: bool,
}

/// A driver error as the agent should see it: the database's answer explained, with `ctx` and its position.
pub fn from_pg(err: &tokio_postgres::Error, ctx: &ErrorContext<'_>) -> ExecError {
    from_pg_at(err, ctx, position(err))
}

/// Where in the statement text the database put the error (1-based characters), when it said.
pub(super) fn position(err: &tokio_postgres::Error) -> Option<u32> {
    match err.as_db_error().and_then(DbError::position) {
        Some(ErrorPosition::Original(p)) => Some(*p),
        _ => None,
    }
}

/// [`from_pg`] with the error's position in the failed statement (1-based characters) given: a statement that ran
/// in a batch (`exec::batch`) has its position counted from the start of the batch.
pub(super) fn from_pg_at(err: &tokio_postgres::Error, ctx: &ErrorContext<'_>, position: Option<u32>) -> ExecError {
    let Some(db) = err.as_db_error() else {
        let text = if err.is_closed() {
            format!("the database connection was closed ({err}); nothing was committed. Retry the call.")
        } else {
            format!("database error: {}", crate::error_chain::text(err))
        };
        return ExecError::Db { sqlstate: err.code().map(|c| c.code().to_string()), text };
    };
    ExecError::Db { sqlstate: Some(db.code().code().to_string()), text: describe(db, ctx, position) }
}

fn describe(db: &DbError, ctx: &ErrorContext<'_>, position: Option<u32>) -> String {
    let code = db.code().code();
    let mut s = format!("ERROR {code}: {}", DbText(db.message()));
    if let Some(d) = db.detail() {
        s.push_str(&format!("\nDETAIL: {}", DbText(d)));
    }
    if let Some(h) = db.hint() {
        s.push_str(&format!("\nHINT: {}", DbText(h)));
    }
    if let Some((i, n, sql)) = ctx.statement {
        let where_ = match position {
            Some(p) => format!(" near character {p}: …{}…", around(sql, p as usize)),
            None => String::new(),
        };
        if n > 1 {
            s.push_str(&format!("\nIN: statement {} of {n}{where_}", i + 1));
        } else if !where_.is_empty() {
            s.push_str(&format!("\nIN: the statement{where_}"));
        }
    }
    if let Some(advice) = advice(code, db.message(), ctx) {
        s.push_str(&format!("\nWHAT TO DO: {advice}"));
    }
    if ctx.says_rolled_back {
        s.push_str("\nThe transaction was rolled back: nothing from this call was committed.");
    }
    s
}

/// About 40 characters of the statement around a 1-based character position.
fn around(sql: &str, pos: usize) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let at = pos.saturating_sub(1).min(chars.len());
    let start = at.saturating_sub(20);
    let end = (at + 20).min(chars.len());
    chars[start..end].iter().collect::<String>().replace('\n', " ")
}

fn advice(code: &str, message: &str, ctx: &ErrorContext<'_>) -> Option<String> {
    Some(match code {
        sqlstate::SERIALIZATION_FAILURE if message.contains("OC000") => {
            "an optimistic-concurrency conflict (OC000): another transaction \
            changed the same rows and committed first. Retry the WHOLE transaction, with exponential backoff and \
            jitter (e.g. 5 attempts from 50 ms). Do not retry 23xxx constraint errors."
                .into()
        }
        sqlstate::SERIALIZATION_FAILURE if message.contains("OC001") => {
            "a schema conflict (OC001): the tables this transaction used were \
            changed by concurrent DDL (or an async index finished). Retry the whole transaction."
                .into()
        }
        sqlstate::SERIALIZATION_FAILURE => {
            "a serialization conflict with a concurrent transaction. Retry the whole transaction.".into()
        }
        sqlstate::READ_ONLY_SQL_TRANSACTION if ctx.read_only_tool => {
            "readonly_query only runs reads. Use `transact` for writes (the server must be started with \
             --allow-writes)."
                .into()
        }
        sqlstate::READ_ONLY_SQL_TRANSACTION => {
            "this server is read-only: every call runs in a READ ONLY transaction. Restart it with \
            --allow-writes to change data or schema."
                .into()
        }
        sqlstate::PROGRAM_LIMIT_EXCEEDED if message.contains("row limit") => {
            "DSQL allows at most 3,000 modified rows per transaction. Split \
            the work into batches of at most 3,000 rows (e.g. 1,000), one transact call per batch."
                .into()
        }
        sqlstate::PROGRAM_LIMIT_EXCEEDED if message.contains("age limit") => {
            "DSQL transactions may last at most 5 minutes. Use smaller \
            transactions."
                .into()
        }
        sqlstate::QUERY_CANCELED => "the statement was cancelled (statement timeout). Narrow the query or raise \
            --statement-timeout."
            .into(),
        sqlstate::UNDEFINED_TABLE => "check the table name: list tables with `SELECT table_schema, table_name FROM \
            information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema')`, or use \
            get_schema."
            .into(),
        sqlstate::UNDEFINED_COLUMN => "check the column name with get_schema(table_name).".into(),
        sqlstate::FEATURE_NOT_SUPPORTED => {
            "DSQL (or its local emulation) does not support this. Run dsql_lint on the SQL for a \
            DSQL-compatible form, or search the documentation with dsql_search_documentation."
                .into()
        }
        sqlstate::UNIQUE_VIOLATION => {
            "a row with the same key already exists. Use INSERT … ON CONFLICT, or a different key.".into()
        }
        sqlstate::FOREIGN_KEY_VIOLATION => {
            "a foreign-key check failed: the referenced parent row does not exist, or dependent rows still \
            reference it. Insert the parent first, or delete the dependents first."
                .into()
        }
        sqlstate::INVALID_AUTHORIZATION_SPECIFICATION | sqlstate::INVALID_PASSWORD => {
            "authentication failed. On DSQL: the IAM identity needs dsql:DbConnectAdmin (user \
            admin) or dsql:DbConnect (other roles, which must be mapped with AWS IAM GRANT), and the token must not \
            have expired."
                .into()
        }
        sqlstate::INTERNAL_ERROR if message.contains("server unavailable") => {
            "DSQL was briefly unavailable; retry the whole transaction.".into()
        }
        _ => return None,
    })
}
