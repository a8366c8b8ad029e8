//! The one error/warning type every check returns: a `Finding` names the rule, DSQL's SQLSTATE and message when
//! known, and what to do instead, so an agent can act on it without reading our source.

use std::fmt;

/// How a finding affects the call: `Error` stops it before anything is sent, `Warning` travels with the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Refuses the call.
    Error,
    /// Reported alongside the result; the call runs.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One refusal or warning about a statement (or about the list as a transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable id: `read_only.*`, `safety.*`, `input.*`, `tenant.*`, `dsql.<catalog id>.<slug>`, or dsql-lint's snake_case id.
    pub rule: String,
    /// Whether it refuses the call or only warns.
    pub severity: Severity,
    /// SQLSTATE DSQL (or PostgreSQL) answers with, when known.
    pub sqlstate: Option<String>,
    /// What DSQL (or the guard) says.
    pub message: String,
    /// What to do instead.
    pub fix: String,
    /// 0-based position in the caller's `sql_list` (always 0 for a single `sql`).
    pub statement_index: Option<usize>,
    /// Date DSQL changed this rule (YYYY-MM-DD), when known.
    pub since: Option<String>,
}

impl Finding {
    pub(crate) fn error(rule: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            rule: rule.into(),
            severity: Severity::Error,
            sqlstate: None,
            message: message.into(),
            fix: fix.into(),
            statement_index: None,
            since: None,
        }
    }

    pub(crate) fn warning(rule: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding { severity: Severity::Warning, ..Finding::error(rule, message, fix) }
    }

    pub(crate) fn with_sqlstate(mut self, sqlstate: &str) -> Self {
        self.sqlstate = Some(sqlstate.to_string());
        self
    }

    pub(crate) fn at(mut self, index: usize) -> Self {
        self.statement_index = Some(index);
        self
    }

    pub(crate) fn since_date(mut self, since: Option<&str>) -> Self {
        self.since = since.map(str::to_string);
        self
    }

    /// Whether it refuses the call.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.rule)?;
        if let Some(state) = &self.sqlstate {
            write!(f, "{state}: ")?;
        }
        write!(f, "{}", self.message.trim_end_matches('.'))?;
        if !self.fix.is_empty() {
            write!(f, ". Fix: {}", self.fix.trim_end_matches('.'))?;
        }
        f.write_str(".")?;
        if let Some(i) = self.statement_index {
            write!(f, " (statement sql_list[{i}])")?;
        }
        if let Some(since) = &self.since {
            write!(f, " [DSQL rule since {since}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Finding {}
