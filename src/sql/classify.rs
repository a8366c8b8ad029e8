//! What a parsed statement is: the PostgreSQL command tag it will produce, its class (read / DML / DDL /
//! other, with DSQL's notion of DDL for the one-DDL-per-transaction rule), and the relations it touches.

use core::ops::ControlFlow;

use sqlparser::ast::{ObjectName, Query, Select, SetExpr, Statement, TableFactor, Visit, Visitor};

use super::names;

/// Kind of statement, for the transaction rules and for the caller's result handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementClass {
    /// Changes nothing: queries, `SHOW`, plain `EXPLAIN`, `COPY … TO`.
    Read,
    /// Changes rows: INSERT, UPDATE, DELETE, MERGE, `COPY … FROM`, a data-modifying WITH or EXPLAIN ANALYZE of one.
    Dml,
    /// What DSQL counts as DDL (one per transaction, no DML beside it), `SELECT … INTO` included.
    Ddl,
    /// Anything else (transaction control, `SET`, utility commands).
    Other,
}

/// PostgreSQL command tag verb(s) for the statement (`WITH … INSERT` → `INSERT`, `EXPLAIN …` → `EXPLAIN`).
pub(crate) fn command(s: &Statement) -> String {
    let tag = match s {
        Statement::Query(q) => return query_command(q).to_string(),
        Statement::Insert(_) => "INSERT",
        Statement::Update(_) => "UPDATE",
        Statement::Delete(_) => "DELETE",
        Statement::Merge(_) => "MERGE",
        Statement::CreateTable(t) if t.query.is_some() => "SELECT",
        Statement::CreateTable(_) => "CREATE TABLE",
        Statement::CreateIndex(_) => "CREATE INDEX",
        Statement::CreateView(v) if v.materialized => "CREATE MATERIALIZED VIEW",
        Statement::CreateView(_) => "CREATE VIEW",
        Statement::CreateSequence { .. } => "CREATE SEQUENCE",
        Statement::CreateSchema { .. } => "CREATE SCHEMA",
        Statement::CreateFunction(_) => "CREATE FUNCTION",
        Statement::CreateProcedure { .. } => "CREATE PROCEDURE",
        Statement::CreateRole(_) | Statement::CreateUser(_) => "CREATE ROLE",
        Statement::CreateDomain(_) => "CREATE DOMAIN",
        Statement::CreateType { .. } => "CREATE TYPE",
        Statement::CreateExtension(_) => "CREATE EXTENSION",
        Statement::CreateTrigger(_) => "CREATE TRIGGER",
        Statement::CreateDatabase { .. } => "CREATE DATABASE",
        Statement::CreatePolicy(_) => "CREATE POLICY",
        Statement::CreateServer(_) => "CREATE SERVER",
        Statement::CreateStatistics(_) => "CREATE STATISTICS",
        Statement::AlterTable(_) => "ALTER TABLE",
        Statement::AlterIndex { .. } => "ALTER INDEX",
        Statement::AlterView { .. } | Statement::AlterViewOperation { .. } => "ALTER VIEW",
        Statement::AlterSequence(_) => "ALTER SEQUENCE",
        Statement::AlterRole { .. } | Statement::AlterUser(_) => "ALTER ROLE",
        Statement::AlterSchema(_) => "ALTER SCHEMA",
        Statement::AlterFunction(_) => "ALTER FUNCTION",
        Statement::AlterType(_) => "ALTER TYPE",
        Statement::AlterPolicy(_) => "ALTER POLICY",
        Statement::AlterStatistics(_) => "ALTER STATISTICS",
        Statement::AlterDefaultPrivileges { .. } => "ALTER DEFAULT PRIVILEGES",
        Statement::Drop { object_type, .. } => return format!("DROP {object_type}"),
        Statement::DropFunction(_) => "DROP FUNCTION",
        Statement::DropDomain(_) => "DROP DOMAIN",
        Statement::DropTrigger(_) => "DROP TRIGGER",
        Statement::DropPolicy(_) => "DROP POLICY",
        Statement::DropExtension(_) => "DROP EXTENSION",
        Statement::DropProcedure { .. } => "DROP PROCEDURE",
        Statement::Truncate(_) => "TRUNCATE TABLE",
        Statement::Grant(_) => "GRANT",
        Statement::Revoke(_) => "REVOKE",
        Statement::AwsIamGrant { .. } => "AWS IAM GRANT",
        Statement::AwsIamRevoke { .. } => "AWS IAM REVOKE",
        Statement::Comment { .. } | Statement::CommentRoutine { .. } => "COMMENT",
        Statement::Analyze(_) => "ANALYZE",
        Statement::Vacuum(_) => "VACUUM",
        Statement::Explain { .. } | Statement::ExplainTable { .. } => "EXPLAIN",
        Statement::ShowVariable { .. } | Statement::ShowVariables { .. } => "SHOW",
        Statement::Set(_) => "SET",
        Statement::Reset(_) => "RESET",
        Statement::Discard { object_type } => return format!("DISCARD {object_type}"),
        Statement::Call(_) => "CALL",
        Statement::Copy { .. } => "COPY",
        Statement::Lock(_) => "LOCK TABLE",
        Statement::LISTEN { .. } => "LISTEN",
        Statement::UNLISTEN { .. } => "UNLISTEN",
        Statement::NOTIFY { .. } => "NOTIFY",
        Statement::Prepare { .. } => "PREPARE",
        Statement::Execute { .. } => "EXECUTE",
        Statement::Deallocate { .. } => "DEALLOCATE",
        Statement::Declare { .. } => "DECLARE CURSOR",
        Statement::StartTransaction { begin: true, .. } => "BEGIN",
        Statement::StartTransaction { .. } => "START TRANSACTION",
        Statement::Commit { .. } => "COMMIT",
        Statement::Rollback { .. } => "ROLLBACK",
        Statement::Savepoint { .. } => "SAVEPOINT",
        Statement::ReleaseSavepoint { .. } => "RELEASE",
        Statement::Load { .. } | Statement::LoadData { .. } => "LOAD",
        _ => return first_words(s),
    };
    tag.to_string()
}

/// Fallback: the leading keywords of the re-printed statement.
fn first_words(s: &Statement) -> String {
    let printed = s.to_string();
    let words: Vec<&str> =
        printed.split_whitespace().take_while(|w| w.chars().all(|c| c.is_ascii_alphabetic())).take(2).collect();
    if words.is_empty() { "UNKNOWN".to_string() } else { words.join(" ").to_ascii_uppercase() }
}

fn query_command(q: &Query) -> &'static str {
    fn body(e: &SetExpr) -> &'static str {
        match e {
            SetExpr::Insert(_) => "INSERT",
            SetExpr::Update(_) => "UPDATE",
            SetExpr::Delete(_) => "DELETE",
            SetExpr::Merge(_) => "MERGE",
            SetExpr::Query(q) => body(&q.body),
            _ => "SELECT",
        }
    }
    body(&q.body)
}

/// DSQL's DDL for the transaction rules (the list dsql-lint 0.2.22 uses, plus SELECT … INTO and CTAS).
pub(crate) fn is_ddl(s: &Statement) -> bool {
    matches!(
        s,
        Statement::CreateTable(_)
            | Statement::CreateIndex(_)
            | Statement::CreateView(_)
            | Statement::CreateSequence { .. }
            | Statement::CreateType { .. }
            | Statement::CreateFunction(_)
            | Statement::CreateRole(_)
            | Statement::CreateUser(_)
            | Statement::CreateDomain(_)
            | Statement::CreateProcedure { .. }
            | Statement::CreateTrigger(_)
            | Statement::CreateExtension(_)
            | Statement::CreateSchema { .. }
            | Statement::CreateDatabase { .. }
            | Statement::CreatePolicy(_)
            | Statement::CreateServer(_)
            | Statement::AlterTable(_)
            | Statement::AlterIndex { .. }
            | Statement::AlterFunction(_)
            | Statement::AlterPolicy(_)
            | Statement::AlterType(_)
            | Statement::AlterView { .. }
            | Statement::AlterViewOperation { .. }
            | Statement::AlterSequence(_)
            | Statement::CreateStatistics(_)
            | Statement::AlterStatistics(_)
            | Statement::AlterRole { .. }
            | Statement::AlterSchema(_)
            | Statement::AlterUser(_)
            | Statement::AlterDefaultPrivileges { .. }
            | Statement::Drop { .. }
            | Statement::DropRoutine { .. }
            | Statement::DropFunction(_)
            | Statement::DropDomain(_)
            | Statement::DropTrigger(_)
            | Statement::DropPolicy(_)
            | Statement::DropExtension(_)
            | Statement::DropProcedure { .. }
            | Statement::Truncate(_)
            | Statement::Comment { .. }
            | Statement::CommentRoutine { .. }
            | Statement::Grant(_)
            | Statement::Revoke(_)
            | Statement::AwsIamGrant { .. }
            | Statement::AwsIamRevoke { .. }
    )
}

fn is_dml(s: &Statement) -> bool {
    matches!(s, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Merge(_))
}

pub(crate) fn class(s: &Statement) -> StatementClass {
    if is_ddl(s) {
        return StatementClass::Ddl;
    }
    // One walk finds both what makes a statement DDL (SELECT … INTO) and what makes a query DML (a
    // data-modifying WITH); the answer is the same whichever is found first, except that INTO wins.
    let nested = Nested::of(s);
    if nested.select_into {
        return StatementClass::Ddl;
    }
    match s {
        Statement::Query(_) if nested.dml => StatementClass::Dml,
        Statement::Query(_) | Statement::ShowVariable { .. } | Statement::ShowVariables { .. } => StatementClass::Read,
        Statement::Explain { analyze, options, .. }
            if nested.dml && super::guard::explain_analyzes(*analyze, options.as_deref()) =>
        {
            StatementClass::Dml
        }
        Statement::Explain { .. } => StatementClass::Read,
        Statement::Copy { to: false, .. } => StatementClass::Dml,
        Statement::Copy { to: true, .. } => StatementClass::Read,
        _ if is_dml(s) => StatementClass::Dml,
        _ => StatementClass::Other,
    }
}

/// What a statement holds anywhere inside it (itself included).
#[derive(Default)]
struct Nested {
    dml: bool,
    select_into: bool,
}

impl Nested {
    fn of(s: &Statement) -> Nested {
        let mut v = Nested::default();
        let _ = s.visit(&mut v);
        v
    }
}

impl Visitor for Nested {
    type Break = ();

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        self.dml |= is_dml(s);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        if s.into.is_some() {
            self.select_into = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Relations read or written, lowercased as written, without CTE names and table functions.
pub(crate) fn tables(s: &Statement) -> Vec<String> {
    struct V {
        ctes: Vec<String>,
        out: Vec<String>,
        skip_next: bool,
    }
    impl Visitor for V {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                self.ctes.extend(with.cte_tables.iter().map(|c| names::ident(&c.alias.name).to_lowercase()));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
            self.skip_next = matches!(t, TableFactor::Table { args: Some(_), .. });
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
            if std::mem::take(&mut self.skip_next) {
                return ControlFlow::Continue(());
            }
            let name = names::dotted_lower(r);
            let is_cte = r.0.len() == 1 && self.ctes.contains(&name);
            if !is_cte && !self.out.contains(&name) {
                self.out.push(name);
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = V { ctes: Vec::new(), out: Vec::new(), skip_next: false };
    let _ = s.visit(&mut v);
    v.out
}
