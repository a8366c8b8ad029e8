//! DSQL's statement-level rules: our own checks for what dsql-lint 0.2.22 misses or gets wrong against the
//! dated catalog (CREATE INDEX without ASYNC with the wait hint, CACHE 1 or ≥ 65536, MERGE, FOR SHARE,
//! TABLESAMPLE, SELECT INTO, SHOW lc_collate, `SELECT sys.wait_for_job`, unsupported column types), then
//! dsql-lint in-process, mapped to the catalog's SQLSTATE and message.

use core::ops::ControlFlow;

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GeneratedAs, LockType, Query, Select, SequenceOptions, SetExpr, Statement, TableFactor, Value, Visit, Visitor,
};

use super::finding::Finding;
use super::guard;
use super::names;
use super::rules::{self, Rule};

/// Column types DSQL refuses as storage types (catalog Y02); unknown names may be domains, so this is a denylist.
const UNSUPPORTED_TYPES: &[&str] = &[
    "money",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "tsvector",
    "tsquery",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "int4multirange",
    "int8multirange",
    "nummultirange",
    "tsmultirange",
    "tstzmultirange",
    "datemultirange",
    "bit",
    "varbit",
    "bit varying",
    "pg_lsn",
    "pg_snapshot",
    "txid_snapshot",
    "hstore",
    "citext",
    "ltree",
];

fn rule(id: &str) -> &'static Rule {
    rules::by_id(id).unwrap_or_else(|| unreachable!("catalog rule {id} exists (tested)"))
}

/// Statements that are not valid in any dialect we know, refused regardless of `--rules`.
pub(crate) fn malformed(stmt: &Statement) -> Option<Finding> {
    if let Statement::AlterTable(at) = stmt
        && at.r#async
        && !at.operations.iter().all(|op| matches!(op, AlterTableOperation::ValidateConstraint { .. }))
    {
        return Some(
            Finding::error(
                "input.syntax_error",
                "ALTER TABLE ASYNC only takes VALIDATE CONSTRAINT",
                "Use ALTER TABLE ASYNC t VALIDATE CONSTRAINT c for validation; other ALTER TABLE forms are written without ASYNC",
            )
            .with_sqlstate("42601"),
        );
    }
    None
}

/// All statement-level DSQL findings (severity per catalog, before `--rules` is applied).
pub(crate) fn check(stmt: &Statement, parse_text: &str) -> Vec<Finding> {
    let mut findings = own_findings(stmt);
    if !needs_lint(stmt) {
        return findings;
    }
    let reported: Vec<String> = findings.iter().map(|f| f.rule.clone()).collect();
    for d in dsql_lint::lint_sql(parse_text) {
        let lint_id = lint_rule_id(&d.rule);
        if lint_id == "parse_error" || lint_id.starts_with("mysql_") {
            continue;
        }
        let finding = match rules::for_lint_rule(&lint_id) {
            Some(r) if reported.contains(&r.rule_id()) => continue,
            Some(r) => {
                let mut f = r.finding(&d.message);
                if !d.suggestion.is_empty() {
                    f.fix = d.suggestion.clone();
                }
                f
            }
            None => Finding::error(lint_id, d.message.clone(), d.suggestion.clone()),
        };
        if !findings.iter().any(|f| f.rule == finding.rule && f.message == finding.message) {
            findings.push(finding);
        }
    }
    findings
}

/// dsql-lint 0.2.22 only checks expression collations in queries and DML (we do that ourselves, below), and it
/// costs about ten parses per call: run it for DDL and utility statements only.
fn needs_lint(stmt: &Statement) -> bool {
    match stmt {
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::ShowVariable { .. }
        | Statement::Call(_) => false,
        Statement::Explain { statement, .. } => needs_lint(statement),
        _ => true,
    }
}

/// Only our own checks (what dsql-lint misses or gets wrong).
pub(crate) fn own_findings(stmt: &Statement) -> Vec<Finding> {
    let mut own = Own { out: Vec::new() };
    own.statement_rules(stmt);
    let _ = stmt.visit(&mut own);
    own.out
}

/// dsql-lint's snake_case id for a rule (its serde form).
pub(crate) fn lint_rule_id(r: &dsql_lint::LintRule) -> String {
    match serde_json::to_value(r) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{r:?}"),
    }
}

/// Rows an `INSERT … VALUES` statement adds (for the 3,000-row transaction limit).
pub(crate) fn insert_rows(stmt: &Statement) -> usize {
    let mut rows = 0usize;
    let _ = sqlparser::ast::visit_statements(stmt, |s| {
        if let Statement::Insert(ins) = s
            && let Some(src) = &ins.source
            && let SetExpr::Values(v) = src.body.as_ref()
        {
            rows += v.rows.len();
        }
        ControlFlow::<()>::Continue(())
    });
    rows
}

struct Own {
    out: Vec<Finding>,
}

impl Own {
    fn push(&mut self, f: Finding) {
        if !self.out.iter().any(|o| o.rule == f.rule) {
            self.out.push(f);
        }
    }

    fn statement_rules(&mut self, stmt: &Statement) {
        match stmt {
            Statement::ShowVariable { variable } => {
                let name: Vec<String> = variable.iter().map(names::ident).collect();
                if matches!(name.join(".").to_ascii_lowercase().as_str(), "lc_collate" | "lc_ctype") {
                    let mut f = rule("R30").finding("");
                    f.message = format!("unrecognized configuration parameter \"{}\"", name.join("."));
                    self.push(f);
                }
            }
            Statement::Call(f)
                if guard::is_wait_for_job(f) && call_args(f).iter().any(|a| !matches!(a, Some(Expr::Value(_)))) =>
            {
                let mut finding = rule("X10").finding("");
                finding.sqlstate = Some("0A000".into());
                finding.message = "cannot use subquery in CALL argument".into();
                self.push(finding);
            }
            Statement::CreateTable(ct) => {
                for col in &ct.columns {
                    self.column_type(&col.data_type);
                    for opt in &col.options {
                        if let ColumnOption::Generated { generated_as, sequence_options, generation_expr: None, .. } =
                            &opt.option
                            && matches!(generated_as, GeneratedAs::Always | GeneratedAs::ByDefault)
                        {
                            self.cache(sequence_options.as_deref().unwrap_or(&[]), "Q03");
                        }
                    }
                }
            }
            Statement::AlterTable(at) => {
                for op in &at.operations {
                    if let AlterTableOperation::AddColumn { column_def, .. } = op {
                        self.column_type(&column_def.data_type);
                    }
                }
            }
            Statement::CreateSequence { sequence_options, .. } => self.cache(sequence_options, "Q01"),
            Statement::AlterSequence(a) => {
                if let sqlparser::ast::AlterSequenceOperation::Options { sequence_options, .. } = &a.operation
                    && sequence_options.iter().any(|o| matches!(o, SequenceOptions::Cache(_)))
                {
                    self.cache(sequence_options, "Q01");
                }
            }
            Statement::CreateIndex(ci) if !ci.r#async => {
                let mut f = rule("X01").finding("");
                let table = ci.table_name.to_string();
                let name = ci.name.as_ref().map(|n| format!("{n} ")).unwrap_or_default();
                f.fix = format!(
                    "Use CREATE {}INDEX ASYNC {name}ON {table} (…); it returns a job_id at once — wait for the build with \
                     CALL sys.wait_for_job('<job_id>') (or watch SELECT * FROM sys.jobs) before relying on the index",
                    if ci.unique { "UNIQUE " } else { "" }
                );
                self.push(f);
            }
            _ => {}
        }
    }

    fn cache(&mut self, options: &[SequenceOptions], id: &str) {
        let cache = options.iter().rev().find_map(|o| match o {
            SequenceOptions::Cache(e) => Some(e),
            _ => None,
        });
        let ok = match cache {
            Some(Expr::Value(v)) => match &v.value {
                Value::Number(n, _) => n.parse::<u64>().is_ok_and(|c| c == 1 || c >= 65536),
                _ => false,
            },
            _ => false,
        };
        if !ok {
            self.push(rule(id).finding(""));
        }
    }

    fn column_type(&mut self, t: &DataType) {
        let printed = t.to_string().to_ascii_lowercase();
        let base = printed.split('(').next().unwrap_or("").trim();
        if UNSUPPORTED_TYPES.contains(&base) {
            self.push(rule("Y02").finding(&format!("datatype {base} not supported")));
        }
    }
}

fn call_args(f: &Function) -> Vec<Option<&Expr>> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        FunctionArguments::Subquery(_) => vec![None],
        FunctionArguments::None => Vec::new(),
    }
}

impl Visitor for Own {
    type Break = ();

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if matches!(s, Statement::Merge(_)) {
            self.push(rule("R17").finding(""));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if q.locks.iter().any(|l| matches!(l.lock_type, LockType::Share)) {
            self.push(rule("T12").finding(""));
        }
        if let SetExpr::Merge(_) = q.body.as_ref() {
            self.push(rule("R17").finding(""));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        if s.into.is_some() {
            self.push(rule("R09").finding(""));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { sample: Some(_), .. } = t {
            self.push(rule("R28").finding(""));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Collate { collation, .. } = e {
            let parts = names::parts(collation);
            let name_ok =
                parts.last().is_some_and(|p| matches!(p.to_ascii_uppercase().as_str(), "C" | "POSIX" | "DEFAULT"));
            let schema_ok = parts.len() == 1 || (parts.len() == 2 && parts[0].eq_ignore_ascii_case("pg_catalog"));
            if !(name_ok && schema_ok) {
                self.push(
                    rule("CT02")
                        .finding(&format!("Expression collation {collation} is not available in DSQL (only C)")),
                );
            }
        }
        if let Expr::Function(f) = e
            && guard::is_wait_for_job(f)
        {
            self.push(rule("X10").finding(""));
        }
        ControlFlow::Continue(())
    }
}
