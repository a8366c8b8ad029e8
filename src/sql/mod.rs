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

pub mod async_ddl;
mod cache;
mod classify;
mod depth;
mod destructive;
mod dsql;
mod finding;
mod functions;
mod guard;
mod history;
mod lexer;
pub mod lint;
pub(crate) mod names;
mod parse;
pub mod quota;
mod redact;
pub mod rules;
mod script;
mod tautology;
mod tenant;
mod text;
pub mod txn;
mod unicode;
mod version;

use std::fmt;
use std::str::FromStr;

pub use cache::CheckCache;
pub use classify::StatementClass;
pub use depth::{MAX_DEPTH, STACK_BYTES};
pub use destructive::{Look, look};
pub use finding::{Finding, Severity};
pub use quota::QuotaCheck;
pub use redact::{REDACTED, redact_values};
pub use script::{ScriptStatement, describe, insert_rows, parse_statement, split_script};
pub use tenant::TenantCatalog;
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
    /// `--rules`: whether DSQL rule violations refuse, warn or are not checked.
    pub rules: RulesMode,
    /// `--tenant-column NAME`.
    pub tenant_column: Option<String>,
    /// `--dsql-version YYYY-MM-DD`: rules DSQL lifted after this date still apply.
    pub dsql_version: DsqlVersion,
}

/// Which MCP tool is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// `readonly_query` (and every other single read): one statement, the read-only guard.
    ReadonlyQuery,
    /// `transact`: a statement list as one transaction, writes allowed only with `--allow-writes`.
    Transact,
}

/// One statement as the caller gave it.
#[derive(Debug, Clone, Copy)]
pub struct StatementInput<'a> {
    /// The statement's text as the caller wrote it.
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
    /// Read, DML, DDL or other, with DSQL's notion of DDL (one per transaction).
    pub class: StatementClass,
    /// Relations it reads/writes (lowercased, as written, schema-qualified when written so).
    pub tables: Vec<String>,
    /// Number of parameters the text expects.
    pub param_count: usize,
    /// DSQL limits that depend on the database's contents (checked by the local sandbox before running it);
    /// empty unless `--rules enforce`.
    pub quota: Vec<QuotaCheck>,
    /// `None` when it is provably harmless; otherwise why it needs a look before it commits
    /// (`--confirm-destructive`). Always `None` in read-only mode, where nothing that writes gets this far.
    pub look: Option<Look>,
}

/// Result of [`check`]: the statements to send, and warnings to return with the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The statements to send, in order, as they will be sent.
    pub statements: Vec<PreparedStatement>,
    /// Findings that did not refuse the call (`--rules warn`, advisories), returned with its result.
    pub warnings: Vec<Finding>,
}

/// Checks every statement of one tool call. `tenant_tables`: when `policy.tenant_column` is set, what the
/// catalog says about the tables having that column, views and user-defined functions.
pub fn check(
    tool: Tool,
    inputs: &[StatementInput<'_>],
    policy: &Policy,
    tenant_tables: Option<&TenantCatalog>,
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
    let mut warnings = Vec::new();
    let mut parsed = Vec::with_capacity(inputs.len());
    // With tenant scoping: the catalog as DDL earlier in this call changes it.
    let mut learned: Option<TenantCatalog> = None;
    for (i, input) in inputs.iter().enumerate() {
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
        if !read_only && let Some(w) = tautology::warning(&p.stmt) {
            warnings.push(w.at(i));
        }
        if let Some((col, tables)) = tenant {
            let catalog = learned.as_ref().unwrap_or(tables);
            tenant::check(&p.stmt, col, catalog).map_err(|f| f.at(i))?;
            if classify::class(&p.stmt) == StatementClass::Ddl {
                learned.get_or_insert_with(|| tables.clone()).learn(&p.stmt);
            }
        }
        parsed.push((norm, p));
    }

    let mut statements = Vec::with_capacity(parsed.len());
    let mut tx = Vec::with_capacity(parsed.len());
    for (i, (norm, p)) in parsed.into_iter().enumerate() {
        if policy.rules != RulesMode::Off {
            let lifted = history::check(&p.stmt, policy.dsql_version);
            for f in lifted.into_iter().chain(dsql::check(&p.stmt, &p.parse_text)) {
                apply_rules_mode(policy.rules, f.at(i), &mut warnings)?;
            }
        }
        let class = classify::class(&p.stmt);
        let command = classify::command(&p.stmt);
        // A read holds no INSERT (a data-modifying WITH makes it DML): skip that walk.
        let insert_rows = if class == StatementClass::Read { 0 } else { dsql::insert_rows(&p.stmt) };
        tx.push(txn::TxStatement { class, command: command.clone(), insert_rows });
        statements.push(PreparedStatement {
            text: norm.text,
            command,
            class,
            tables: classify::tables(&p.stmt),
            param_count: norm.placeholders,
            quota: if policy.rules == RulesMode::Enforce { quota::checks(&p.stmt) } else { Vec::new() },
            look: if read_only { None } else { destructive::look(&p.stmt) },
        });
    }
    if policy.rules != RulesMode::Off && !read_only {
        for f in txn::check(&tx) {
            apply_rules_mode(policy.rules, f, &mut warnings)?;
        }
    }
    Ok(Checked { statements, warnings })
}

/// Tenant scoping alone for one statement of a script (apply_migration checks the file as written this way; the
/// other checks run on its planned steps), then what its DDL adds to `catalog` for the statements after it. A
/// statement that does not parse is refused: nothing unchecked runs.
pub fn tenant_scoped(sql: &str, column: &str, catalog: &mut TenantCatalog) -> Result<(), Finding> {
    let norm = text::normalize_body(sql)?;
    let p = parse::parse_one(&norm)?;
    tenant::check(&p.stmt, column, catalog)?;
    if classify::class(&p.stmt) == StatementClass::Ddl {
        catalog.learn(&p.stmt);
    }
    Ok(())
}

fn apply_rules_mode(mode: RulesMode, f: Finding, warnings: &mut Vec<Finding>) -> Result<(), Finding> {
    if f.is_error() && mode == RulesMode::Enforce {
        return Err(f);
    }
    warnings.push(Finding { severity: Severity::Warning, ..f });
    Ok(())
}
