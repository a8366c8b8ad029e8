//! Why a tool call did not give a result: [`ToolError`], what every tool, the registry's dispatch and the
//! confirmation flow return. Callers match the variants they act on; the agent reads the `Display` text (the
//! server renders it once, with database text between untrusted-data markers), which names the problem and the
//! fix.

use crate::audit::{Ending, Outcome};
use crate::exec::ExecError;
use crate::migrate::MigrateError;
use crate::sql::Finding;

/// A tool-seam failure. The text of each variant is the sentence the agent reads.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No tool of that name is registered.
    #[error("Unknown tool: {name}. Available tools: {available}.")]
    UnknownTool {
        /// The name the client asked for.
        name: String,
        /// The tools offered in this mode, comma-separated.
        available: String,
    },
    /// A write tool called on a read-only server.
    #[error(
        "{tool} needs writes: restart the server with --allow-writes (after the user agrees). In read-only mode, \
         dsql_lint checks a migration file without running it."
    )]
    NeedsWrites {
        /// The tool that was called.
        tool: String,
    },
    /// The arguments do not have the tool's shape.
    #[error("invalid arguments for {tool}: {detail}. Expected {expected}.")]
    InvalidArguments {
        /// The tool that was called.
        tool: String,
        /// serde's complaint.
        detail: String,
        /// The shape the tool takes.
        expected: String,
    },
    /// A SQL argument is empty.
    #[error("{tool} needs a SQL statement in `{field}`, but it is empty")]
    EmptySql {
        /// The tool that was called.
        tool: String,
        /// The argument that is empty (`sql`, `sql_list[2]`…).
        field: String,
    },
    /// A SQL argument is longer than any tool accepts (`MAX_SQL_CHARS`).
    #[error(
        "`{field}` is {chars} characters long; the limit is {limit}. Split the work into several calls.",
        limit = super::MAX_SQL_CHARS
    )]
    SqlTooLong {
        /// The argument that is too long.
        field: String,
        /// Its length, in characters.
        chars: usize,
    },
    /// Other arguments that cannot work together (lengths that differ, values out of range).
    #[error("{0}")]
    Invalid(String),
    /// The statement checks refused a statement before anything was sent.
    #[error("{0}")]
    Refused(Box<Finding>),
    /// The database refused or failed a statement (the engine's error: SQLSTATE, what to do).
    #[error("{0}")]
    Exec(ExecError),
    /// `get_schema`: a name that cannot be a table's, no such table, or the catalog could not be read.
    #[error(transparent)]
    Schema(#[from] crate::tools::get_schema::DescribeError),
    /// A migration, backfill or rehearsal failed.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// The user was not asked, declined, or the call changed between question and run: nothing ran.
    #[error("{0}")]
    NotConfirmed(String),
    /// The call named no cluster where one is required, an unknown one, or a read-only one for a write tool:
    /// the text names the clusters to choose from.
    #[error("{0}")]
    Cluster(String),
    /// Anything else (no database configured, a connection that could not be opened, an internal failure),
    /// explained in its text.
    #[error("{0}")]
    Failed(String),
}

impl ToolError {
    /// How the audit log records a call that failed with this error: outcome, what refused it (a finding's rule,
    /// the write gate…) or what kind of failure it was, the SQLSTATE, and the attempts when the error knows them.
    pub fn audit_ending(&self) -> Ending {
        match self {
            ToolError::UnknownTool { .. } => Ending::refused("unknown_tool", None),
            ToolError::NeedsWrites { .. } => Ending::refused("needs_writes", None),
            // An unknown or missing `cluster`, or a write tool on a read-only cluster.
            ToolError::Cluster(_) => Ending::refused("cluster", None),
            ToolError::Refused(finding) => Ending::refused(&finding.rule, finding.sqlstate.clone()),
            ToolError::NotConfirmed(_) => Ending::refused("confirmation", None),
            ToolError::InvalidArguments { .. }
            | ToolError::EmptySql { .. }
            | ToolError::SqlTooLong { .. }
            | ToolError::Invalid(_)
            | ToolError::Migrate(MigrateError::Invalid(_)) => Ending::error("invalid_arguments"),
            ToolError::Exec(e) => exec_ending(e),
            ToolError::Schema(_) => Ending::error("get_schema"),
            // Its committed batches stay: an error, not a rollback of the whole call.
            ToolError::Migrate(MigrateError::BatchFailed { cause, .. }) => {
                Ending { outcome: Outcome::Error, check: Some("backfill_batch".into()), ..exec_ending(cause) }
            }
            ToolError::Migrate(_) => Ending::error("migration"),
            ToolError::Failed(_) => Ending::error("failed"),
        }
    }
}

fn exec_ending(e: &ExecError) -> Ending {
    let sqlstate = e.sqlstate().map(str::to_string);
    match e {
        ExecError::CommitUnknown { .. } => Ending::ended(Outcome::Unknown, sqlstate, None),
        ExecError::Exhausted { attempts, .. } => Ending::ended(Outcome::RolledBack, sqlstate, Some(*attempts)),
        ExecError::Db { .. } | ExecError::Timeout { .. } | ExecError::Cancelled => {
            Ending::ended(Outcome::RolledBack, sqlstate, None)
        }
        ExecError::Connect(_) => Ending::error("connect"),
        ExecError::Input(_) => Ending::error("invalid_arguments"),
    }
}

impl From<ExecError> for ToolError {
    fn from(e: ExecError) -> Self {
        ToolError::Exec(e)
    }
}

impl From<Finding> for ToolError {
    fn from(f: Finding) -> Self {
        ToolError::Refused(Box::new(f))
    }
}

/// The lower layers that still explain themselves as text (opening the database, the documentation library,
/// dsql_lint) arrive as [`ToolError::Failed`].
impl From<String> for ToolError {
    fn from(text: String) -> Self {
        ToolError::Failed(text)
    }
}

impl From<&str> for ToolError {
    fn from(text: &str) -> Self {
        ToolError::Failed(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_are_the_sentences_agents_read() {
        let unknown = ToolError::UnknownTool { name: "drop_all".into(), available: "readonly_query, transact".into() };
        assert_eq!(unknown.to_string(), "Unknown tool: drop_all. Available tools: readonly_query, transact.");
        let long = ToolError::SqlTooLong { field: "sql".into(), chars: 1_000_001 };
        assert_eq!(
            long.to_string(),
            "`sql` is 1000001 characters long; the limit is 1000000. Split the work into several calls."
        );
        let args = ToolError::InvalidArguments {
            tool: "t".into(),
            detail: "missing field `sql`".into(),
            expected: "{}".into(),
        };
        assert_eq!(args.to_string(), "invalid arguments for t: missing field `sql`. Expected {}.");
    }
}
