//! Everything that checks a statement before it is sent: one sqlparser-dsql parse per statement, the safety
//! guard (mode-independent refusals), the read-only guard, DSQL's statement rules (our own plus dsql-lint
//! in-process), DSQL's transaction rules over the whole list, and tenant scoping. Also the `dsql_lint` tool body
//! ([`lint::run`]) and the DSQL rule catalog ([`rules`]).
//!
//! Order per call: every statement gets text checks, parse, safety guard, read-only guard and tenant scoping
//! first; only when all pass are DSQL's rules applied (statement rules, then transaction rules). `--rules`
//! affects only DSQL's rules, never the guards.

// The public API returns `Result<_, Finding>` by design (a refusal is the normal, informative outcome);
// a Finding is a handful of Strings, and boxing it would only make every caller dereference.
#![allow(clippy::result_large_err)]

mod classify;
mod destructive;
mod dsql;
mod finding;
mod functions;
mod guard;
mod history;
mod lexer;
pub mod lint;
mod names;
mod parse;
mod quota;
pub mod rules;
mod script;
mod tautology;
mod tenant;
mod text;
mod txn;
mod unicode;
mod version;

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

pub use classify::StatementClass;
pub use destructive::{Destruction, destruction};
pub use finding::{Finding, Severity};
pub use quota::QuotaCheck;
pub use script::{ScriptStatement, describe, insert_rows, parse_statement, split_script};
pub use version::{DsqlVersion, NEWEST_KNOWN};

/// `--rules enforce|warn|off`: what to do with DSQL-rule findings (the guards are not affected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RulesMode {
    /// DSQL-rule errors stop the call (default).
    #[default]
    Enforce,
    /// DSQL-rule errors come back as warnings and the statement is sent.
    Warn,
    /// DSQL rules are not checked.
    Off,
}

impl FromStr for RulesMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "enforce" => Ok(RulesMode::Enforce),
            "warn" => Ok(RulesMode::Warn),
            "off" => Ok(RulesMode::Off),
            other => Err(format!("unknown rules mode '{other}': use enforce, warn or off")),
        }
    }
}

impl fmt::Display for RulesMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RulesMode::Enforce => "enforce",
            RulesMode::Warn => "warn",
            RulesMode::Off => "off",
        })
    }
}

/// Server policy for the checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// `--allow-writes`: transact may change data and schema.
    pub allow_writes: bool,
    pub rules: RulesMode,
    /// `--tenant-column NAME`.
    pub tenant_column: Option<String>,
    /// `--dsql-version YYYY-MM-DD`: rules DSQL lifted after this date still apply.
    pub dsql_version: DsqlVersion,
}

/// Which MCP tool is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    ReadonlyQuery,
    Transact,
}

/// One statement as the caller gave it.
#[derive(Debug, Clone, Copy)]
pub struct StatementInput<'a> {
    pub sql: &'a str,
    /// Number of bound parameters; `None` when the caller gave no params (then `%` keeps its SQL meaning).
    pub param_count: Option<usize>,
}

/// A checked statement, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedStatement {
    /// SQL to send: `%s`/`%b`/`%t` rewritten to `$1..$n` and `%%` to `%` outside literals, quoted identifiers,
    /// dollar quotes and comments (only when params were given), and `U&"…"`/`U&'…'` rewritten to the
    /// equivalent plain quoted form (so what was checked is exactly what runs); otherwise the original text.
    pub text: String,
    /// PostgreSQL command tag verb(s) this statement will produce.
    pub command: String,
    pub class: StatementClass,
    /// Relations it reads/writes (lowercased, as written, schema-qualified when written so).
    pub tables: Vec<String>,
    /// Number of parameters the text expects.
    pub param_count: usize,
    /// DSQL limits that depend on the database's contents (checked by the local sandbox before running it);
    /// empty unless `--rules enforce`.
    pub quota: Vec<QuotaCheck>,
    /// What it destroys (data or schema), when it does: the server asks the user first (`--confirm-destructive`).
    /// Always `None` in read-only mode, where nothing destructive gets this far.
    pub destroys: Option<Destruction>,
}

/// Result of [`check`]: the statements to send, and warnings to return with the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub statements: Vec<PreparedStatement>,
    pub warnings: Vec<Finding>,
}

/// Checks every statement of one tool call. `tenant_tables`: when `policy.tenant_column` is set, the tables
/// (lowercased; `table` and `schema.table` forms) that have that column.
pub fn check(
    tool: Tool,
    inputs: &[StatementInput<'_>],
    policy: &Policy,
    tenant_tables: Option<&HashSet<String>>,
) -> Result<Checked, Finding> {
    let read_only = tool == Tool::ReadonlyQuery || !policy.allow_writes;
    if inputs.is_empty() {
        return Err(parse::empty_statement());
    }
    let tenant = match (&policy.tenant_column, tenant_tables) {
        (Some(col), Some(tables)) => Some((col.as_str(), tables)),
        (Some(col), None) => {
            return Err(Finding::error(
                "tenant.unavailable",
                format!("tenant scoping on {col} is enabled but the list of tenant tables is not available"),
                "Retry; if it persists, check that the server can read information_schema.columns",
            ));
        }
        (None, _) => None,
    };
    let singles = each_statement(inputs, |i, input| check_single(i, input, policy, read_only, tenant));
    // Merged in statement order, so the outcome is the same however the work was shared: the first statement
    // refused by the checks that need no rules mode, then warnings, then the rules, then the transaction's rules.
    let singles = singles.into_iter().collect::<Result<Vec<Single>, Finding>>()?;
    let mut warnings: Vec<Finding> = singles.iter().filter_map(|s| s.warning.clone()).collect();
    let mut statements = Vec::with_capacity(singles.len());
    let mut tx = Vec::with_capacity(singles.len());
    for single in singles {
        for f in single.rule_findings {
            apply_rules_mode(policy.rules, f, &mut warnings)?;
        }
        tx.push(single.tx);
        statements.push(single.statement);
    }
    if policy.rules != RulesMode::Off && !read_only {
        for f in txn::check(&tx) {
            apply_rules_mode(policy.rules, f, &mut warnings)?;
        }
    }
    Ok(Checked { statements, warnings })
}

/// What the checks found in one statement on its own.
struct Single {
    /// A tautological WHERE in a write.
    warning: Option<Finding>,
    /// DSQL rule findings, applied per the rules mode when all statements are known.
    rule_findings: Vec<Finding>,
    statement: PreparedStatement,
    tx: txn::TxStatement,
}

/// The checks of statement `i` that need no other statement; `Err` is a refusal whatever the rules mode.
fn check_single(
    i: usize,
    input: &StatementInput<'_>,
    policy: &Policy,
    read_only: bool,
    tenant: Option<(&str, &HashSet<String>)>,
) -> Result<Single, Finding> {
    let norm = text::normalize(input.sql, input.param_count).map_err(|f| f.at(i))?;
    let p = parse::parse_one(&norm).map_err(|f| f.at(i))?;
    if let Some(f) = dsql::malformed(&p.stmt) {
        return Err(f.at(i));
    }
    // Both guards in one walk of the AST.
    guard::guards(&p.stmt, read_only).map_err(|r| match r {
        guard::Refusal::Safety(f) => dsql::dsql_refusal(&p.stmt, &f).unwrap_or(f).at(i),
        guard::Refusal::ReadOnly(f) => f.at(i),
    })?;
    let warning = if read_only { None } else { tautology::warning(&p.stmt).map(|w| w.at(i)) };
    if let Some((col, tables)) = tenant {
        tenant::check(&p.stmt, col, tables).map_err(|f| f.at(i))?;
    }
    let rule_findings = if policy.rules == RulesMode::Off {
        Vec::new()
    } else {
        let lifted = history::check(&p.stmt, policy.dsql_version);
        lifted.into_iter().chain(dsql::check(&p.stmt, &p.parse_text)).map(|f| f.at(i)).collect()
    };
    let class = classify::class(&p.stmt);
    let command = classify::command(&p.stmt);
    // A read holds no INSERT (a data-modifying WITH makes it DML): skip that walk.
    let insert_rows = if class == StatementClass::Read { 0 } else { dsql::insert_rows(&p.stmt) };
    let statement = PreparedStatement {
        text: norm.text,
        command: command.clone(),
        class,
        tables: classify::tables(&p.stmt),
        param_count: norm.placeholders,
        quota: if policy.rules == RulesMode::Enforce { quota::checks(&p.stmt) } else { Vec::new() },
        destroys: if read_only { None } else { destructive::destruction(&p.stmt) },
    };
    Ok(Single { warning, rule_findings, statement, tx: txn::TxStatement { class, command, insert_rows } })
}

/// Calls with at least this many statements are checked on several threads. Checking is ~10–20 µs per statement
/// (mostly sqlparser) and nothing has been sent yet, so the database and the other cores are idle: for 50 INSERTs
/// two cores take the checks from ~0.85 to ~0.5 ms. Starting a thread costs tens of microseconds, so small calls
/// stay on one.
const PARALLEL_FROM_STATEMENTS: usize = 16;

/// `check(i, input)` for every input, in input order; large calls are cut into contiguous parts of similar byte
/// size, one per core, the first checked on this thread.
fn each_statement<T: Send>(
    inputs: &[StatementInput<'_>],
    check: impl Fn(usize, &StatementInput<'_>) -> T + Sync,
) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = if inputs.len() >= PARALLEL_FROM_STATEMENTS { cores.min(inputs.len() / 8) } else { 1 };
    if parts <= 1 {
        return inputs.iter().enumerate().map(|(i, input)| check(i, input)).collect();
    }
    // Cut where the running byte count crosses each share of the total.
    let total: usize = inputs.iter().map(|i| i.sql.len() + 1).sum();
    let mut cuts = vec![0];
    let mut bytes = 0;
    for (i, input) in inputs.iter().enumerate() {
        bytes += input.sql.len() + 1;
        if cuts.len() < parts && bytes * parts >= total * cuts.len() && i + 1 < inputs.len() {
            cuts.push(i + 1);
        }
    }
    cuts.push(inputs.len());
    let check = &check;
    std::thread::scope(|scope| {
        let others: Vec<_> = cuts
            .windows(2)
            .skip(1)
            .map(|w| {
                let (from, to) = (w[0], w[1]);
                scope.spawn(move || (from..to).map(|i| check(i, &inputs[i])).collect::<Vec<T>>())
            })
            .collect();
        let mut out: Vec<T> = (0..cuts[1]).map(|i| check(i, &inputs[i])).collect();
        for part in others {
            out.extend(part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        out
    })
}

fn apply_rules_mode(mode: RulesMode, f: Finding, warnings: &mut Vec<Finding>) -> Result<(), Finding> {
    if f.is_error() && mode == RulesMode::Enforce {
        return Err(f);
    }
    warnings.push(Finding { severity: Severity::Warning, ..f });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(texts: &[String]) -> Vec<StatementInput<'_>> {
        texts.iter().map(|sql| StatementInput { sql, param_count: None }).collect()
    }

    #[test]
    fn statements_checked_on_several_threads_come_back_in_order_from_contiguous_parts() {
        let texts: Vec<String> = (0..50).map(|i| format!("INSERT INTO t VALUES ({i}, '{}')", "x".repeat(i))).collect();
        let seen = each_statement(&inputs(&texts), |i, input| (i, input.sql.to_string(), std::thread::current().id()));
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
        assert!(seen.iter().zip(&texts).all(|(s, t)| &s.1 == t));
        // Each thread checked one contiguous part; the first part on the calling thread.
        let mut threads: Vec<std::thread::ThreadId> = seen.iter().map(|s| s.2).collect();
        threads.dedup();
        assert_eq!(threads[0], std::thread::current().id());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads.len(), cores.min(50 / 8), "parts: {threads:?}");
        // Small calls stay on this thread.
        let small = each_statement(&inputs(&texts[..15]), |_, _| std::thread::current().id());
        assert!(small.iter().all(|t| *t == std::thread::current().id()));
    }

    #[test]
    fn the_first_refused_statement_is_reported_however_the_work_is_shared() {
        let mut texts: Vec<String> = (0..40).map(|i| format!("INSERT INTO t (id) VALUES ({i})")).collect();
        let policy = Policy { allow_writes: true, ..Policy::default() };
        texts[33] = "DO $$ BEGIN END $$".into();
        texts[25] = "INSERT INTO".into();
        let err = check(Tool::Transact, &inputs(&texts), &policy, None).unwrap_err();
        assert!(err.to_string().contains("sql_list[25]"), "{err}");
        texts[25] = "INSERT INTO t (id) VALUES (25)".into();
        let err = check(Tool::Transact, &inputs(&texts), &policy, None).unwrap_err();
        assert!(err.to_string().contains("sql_list[33]") && err.to_string().contains("DO"), "{err}");
        texts[33] = "INSERT INTO t (id) VALUES (33)".into();
        let checked = check(Tool::Transact, &inputs(&texts), &policy, None).unwrap();
        assert_eq!(checked.statements.len(), 40);
        assert!(checked.statements.iter().zip(&texts).all(|(st, t)| &st.text == t && st.command == "INSERT"));
    }
}
