//! DSQL's statement-level rules: our own checks for what dsql-lint 0.2.22 misses or gets wrong against the
//! dated catalog (CREATE INDEX without ASYNC with the wait hint, CACHE 1 or ≥ 65536, MERGE, FOR SHARE,
//! TABLESAMPLE, SELECT INTO, SHOW lc_collate, `SELECT sys.wait_for_job`, unsupported column types), then
//! dsql-lint in-process, mapped to the catalog's SQLSTATE and message.

use core::ops::ControlFlow;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AlterTypeOperation, ArrayElemTypeDef, ColumnOption, DataType, Expr,
    Function, FunctionArg, FunctionArgExpr, FunctionArguments, GeneratedAs, JoinOperator, LockType, OrderBySort, Query,
    Select, SelectItem, SequenceOptions, Set, SetExpr, Statement, TableConstraint, TableFactor,
    TransactionIsolationLevel, TransactionMode, UserDefinedTypeRepresentation, Value, Visit, Visitor,
};

use super::finding::Finding;
use super::guard;
use super::names;
use super::rules::{self, Rule};
use crate::sqlstate;

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

/// Serial pseudo-types; DSQL answers as for an unknown type (42704).
const SERIAL_TYPES: &[&str] = &["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"];

/// Functions taking a text-search configuration as their first argument (DSQL has no configurations, R26).
const TEXT_SEARCH_FUNCTIONS: &[&str] =
    &["to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "ts_headline"];

/// Geometric type constructors (R27): DSQL refuses them, naming the type.
const GEOMETRIC_CONSTRUCTORS: &[&str] = &["point", "line", "lseg", "box", "path", "polygon", "circle"];

/// DSQL's limit on key columns per index (catalog X07).
const MAX_KEY_COLUMNS: usize = 8;

/// The text of a string literal, also through a cast (`'english'::regconfig`).
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        Expr::Cast { expr, .. } => string_literal(expr),
        _ => None,
    }
}

/// The names a FROM item is referred to by in the query: its alias, else its table's name.
fn relation_names(t: &TableFactor) -> Vec<String> {
    match t {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            vec![a.name.value.to_ascii_lowercase()]
        }
        TableFactor::Table { name, .. } => vec![names::basename(name).to_ascii_lowercase()],
        _ => Vec::new(),
    }
}

/// When the LATERAL subquery's target list names a column of `outer` (as `alias.column`), the relation in its
/// FROM, which DSQL's error names (catalog V08).
fn projects_outer_column(q: &Query, outer: &[String]) -> Option<String> {
    let SetExpr::Select(sel) = q.body.as_ref() else { return None };
    let first = sel.from.first()?;
    let TableFactor::Table { name, .. } = &first.relation else { return None };
    let mut inner: Vec<String> = Vec::new();
    for twj in &sel.from {
        inner.extend(relation_names(&twj.relation));
        inner.extend(twj.joins.iter().flat_map(|j| relation_names(&j.relation)));
    }
    let names_outer = |e: &Expr| {
        sqlparser::ast::visit_expressions(e, |x| match x {
            Expr::CompoundIdentifier(parts)
                if parts.len() == 2
                    && outer.contains(&parts[0].value.to_ascii_lowercase())
                    && !inner.contains(&parts[0].value.to_ascii_lowercase()) =>
            {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    };
    sel.projection
        .iter()
        .any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => names_outer(e),
            _ => false,
        })
        .then(|| names::basename(name))
}

/// R10's refusal of a type statement, in DSQL's words for its form.
fn user_type(message: &str) -> Finding {
    let mut f = rule("R10").finding("");
    f.message = message.to_string();
    f
}

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
            .with_sqlstate(sqlstate::SYNTAX_ERROR),
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
    let mut reported: Vec<String> = findings.iter().map(|f| f.rule.clone()).collect();
    // ADD COLUMN … GENERATED AS IDENTITY is refused for the constraint (Q05), whatever dsql-lint says of its type.
    if reported.contains(&rule("Q05").rule_id()) {
        reported.extend(["Q03", "Q04"].map(|id| rule(id).rule_id()));
    }
    // Our parse of `parse_text` is the one dsql-lint would make: it lints that tree instead of parsing again.
    #[cfg(dsql_lint_parse_once)]
    let diagnostics = dsql_lint::lint_statement(parse_text, stmt).unwrap_or_else(|| dsql_lint::lint_sql(parse_text));
    // crates.io's dsql-lint (the published crate's build, see build.rs) parses the text itself.
    #[cfg(not(dsql_lint_parse_once))]
    let diagnostics = {
        let _ = stmt;
        dsql_lint::lint_sql(parse_text)
    };
    for d in diagnostics {
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
/// costs a tokenization, a copy of the tree and its passes per call: run it for DDL and utility statements only.
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
                finding.sqlstate = Some(sqlstate::FEATURE_NOT_SUPPORTED.into());
                finding.message = "cannot use subquery in CALL argument".into();
                self.push(finding);
            }
            Statement::LISTEN { .. } => self.push(rule("R13").finding_with("Listen")),
            Statement::UNLISTEN { .. } => self.push(rule("R13").finding_with("Unlisten")),
            Statement::NOTIFY { .. } => self.push(rule("R13").finding_with("Notify")),
            Statement::CreateProcedure { .. } => self.push(procedure_refusal()),
            // dsql-lint refuses `ALTER ROLE … SET` (R25); `RESET` is the same statement in PostgreSQL's grammar
            // (AlterRoleSetStmt), which DSQL refuses with it. DSQL's text for it is not recorded.
            Statement::AlterRole { operation: sqlparser::ast::AlterRoleOperation::Reset { .. }, .. } => self.push(
                rule("R25").finding("ALTER ROLE ... RESET <config> is not supported in DSQL (as ALTER ROLE ... SET)."),
            ),
            Statement::CreateFunction(cf) => {
                if let Some(lang) = &cf.language
                    && !lang.value.eq_ignore_ascii_case("sql")
                {
                    self.push(rule("R15").finding_with(&lang.value.to_ascii_lowercase()));
                }
            }
            // `SET SESSION CHARACTERISTICS AS TRANSACTION …` is DSQL's way to set the session's defaults: accepted
            // with REPEATABLE READ (T03, 2026-11-28; the access-mode forms are refused by the guard, our rule).
            Statement::Set(Set::SetTransaction { session: true, modes, .. }) => {
                if let Some(level) = modes.iter().find_map(|m| match m {
                    TransactionMode::IsolationLevel(l) if *l != TransactionIsolationLevel::RepeatableRead => Some(l),
                    _ => None,
                }) {
                    self.push(rule("T03").finding_with(&level.to_string().to_ascii_uppercase()));
                }
            }
            // DSQL checks the isolation level first (catalog T03, 2026-12-07): `SET TRANSACTION ISOLATION LEVEL
            // SERIALIZABLE` gets T03's words, every other form T04's.
            Statement::Set(Set::SetTransaction { modes, .. }) => {
                if let Some(level) = modes.iter().find_map(|m| match m {
                    TransactionMode::IsolationLevel(l) if *l != TransactionIsolationLevel::RepeatableRead => Some(l),
                    _ => None,
                }) {
                    self.push(rule("T03").finding_with(&level.to_string().to_ascii_uppercase()));
                } else {
                    let mut f = rule("T04").finding_with("TRANSACTION");
                    f.fix = rule("T04").fix.to_string();
                    self.push(f);
                }
            }
            // R10 (2026-12-07): DSQL refuses the type statements by their form, before it looks the type up, each
            // in its own words.
            Statement::CreateType { representation, .. } => self.push(user_type(match representation {
                Some(UserDefinedTypeRepresentation::Composite { .. }) => "unsupported statement: CompositeType",
                Some(UserDefinedTypeRepresentation::Range { .. }) => "unsupported statement: CreateRange",
                _ => "CREATE TYPE not supported",
            })),
            Statement::AlterType(at) => self.push(user_type(match at.operation {
                AlterTypeOperation::Rename(_) => "unsupported object in RENAME statement",
                _ => "ALTER TYPE not supported",
            })),
            Statement::Drop { object_type: sqlparser::ast::ObjectType::Type, .. } => {
                self.push(user_type("unsupported object in DROP statement"));
            }
            Statement::Set(Set::SingleAssignment { variable, .. }) => {
                let name = variable.to_string().to_ascii_lowercase();
                if matches!(name.as_str(), "default_transaction_isolation" | "transaction_isolation") {
                    self.push(rule("T04").finding_with(&name));
                }
            }
            Statement::CreateTable(ct) => {
                if ct.columns.len() > rules::MAX_COLUMNS_PER_TABLE {
                    let mut f = rule("CT04").finding("");
                    if primary_key(ct).is_some() {
                        f.message = rules::COLUMN_COUNT_PRIMARY_KEY_MESSAGE.into();
                    }
                    self.push(f);
                }
                if declared_key_bytes(ct).into_iter().any(|bytes| bytes > rules::MAX_DECLARED_KEY_BYTES) {
                    self.push(rule("X08").finding(""));
                }
                let key_columns = |c: &TableConstraint| match c {
                    TableConstraint::PrimaryKey(pk) => pk.columns.len(),
                    TableConstraint::Unique(u) => u.columns.len(),
                    _ => 0,
                };
                if ct.constraints.iter().any(|c| key_columns(c) > MAX_KEY_COLUMNS) {
                    self.push(rule("X07").finding(""));
                }
                for col in &ct.columns {
                    self.column_type(&col.data_type);
                    for opt in &col.options {
                        if let ColumnOption::Generated { generated_as, sequence_options, generation_expr: None, .. } =
                            &opt.option
                            && matches!(generated_as, GeneratedAs::Always | GeneratedAs::ByDefault)
                        {
                            self.cache(sequence_options.as_deref().unwrap_or(&[]), "Q03");
                            // Q04: DSQL names the declared type (2026-12-07: smallint as well as integer).
                            let declared = type_name(&col.data_type);
                            if declared != "bigint" {
                                self.push(rule("Q04").finding_with(&declared));
                            }
                        }
                    }
                }
            }
            Statement::AlterTable(at) => {
                for op in &at.operations {
                    match op {
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            self.column_type(&column_def.data_type);
                            // Identity, DEFAULT, NOT NULL, CHECK, UNIQUE, REFERENCES… (Q05); NULL is no constraint,
                            // and neither is STORAGE (§1.8, 2026-12-07: DSQL accepts `ADD COLUMN d text STORAGE PLAIN`).
                            if column_def
                                .options
                                .iter()
                                .any(|o| !matches!(o.option, ColumnOption::Null | ColumnOption::Storage(_)))
                            {
                                self.push(rule("Q05").finding(""));
                            }
                        }
                        // Supported on a BIGINT NOT NULL column with CACHE 1 or ≥ 65536 (Q06, resolved 2026-11-28);
                        // the column's type is checked against the database before it runs (QuotaCheck::AddIdentity).
                        AlterTableOperation::AlterColumn {
                            op: AlterColumnOperation::AddGenerated { sequence_options, .. },
                            ..
                        } => self.cache(sequence_options.as_deref().unwrap_or(&[]), "Q03"),
                        _ => {}
                    }
                }
            }
            Statement::CreateSequence { sequence_options, data_type, .. } => {
                self.cache(sequence_options, "Q01");
                self.sequence_type(data_type.as_ref());
            }
            Statement::AlterSequence(a) => {
                if let sqlparser::ast::AlterSequenceOperation::Options { sequence_options, data_type, .. } =
                    &a.operation
                {
                    if sequence_options.iter().any(|o| matches!(o, SequenceOptions::Cache(_))) {
                        self.alter_sequence_cache(sequence_options);
                    }
                    self.sequence_type(data_type.as_ref());
                }
            }
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::Drop { object_type: sqlparser::ast::ObjectType::Database, .. } => {
                self.push(rule("R04").finding(""));
            }
            _ => {}
        }
    }

    fn create_index(&mut self, ci: &sqlparser::ast::CreateIndex) {
        if !ci.r#async {
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
        if ci.columns.len() > MAX_KEY_COLUMNS {
            self.push(rule("X07").finding(""));
        }
        // X04 (2026-11-28): no USING clause at all, not even btree; DSQL's own words for ASC/DESC.
        if let Some(method) = &ci.using {
            self.push(rule("X04").finding(&format!(
                "USING {method} is not supported in CREATE INDEX: DSQL has no USING clause, not even USING btree"
            )));
        } else if ci.columns.iter().any(|c| matches!(c.column.options.sort, Some(OrderBySort::Asc | OrderBySort::Desc)))
        {
            self.push(rule("X04").finding(rules::INDEX_SORT_ORDER_MESSAGE));
        }
    }

    /// Q02: sequences are bigint (`AS bigint` or no AS).
    fn sequence_type(&mut self, data_type: Option<&DataType>) {
        if let Some(t) = data_type
            && type_name(t) != "bigint"
        {
            self.push(rule("Q02").finding(rules::SEQUENCE_TYPE_MESSAGE));
        }
    }

    /// Q01 for `ALTER SEQUENCE … CACHE n`, in the words DSQL's refusal contains.
    fn alter_sequence_cache(&mut self, options: &[SequenceOptions]) {
        let value = options.iter().rev().find_map(|o| match o {
            SequenceOptions::Cache(Expr::Value(v)) => Some(v.value.to_string()),
            SequenceOptions::Cache(e) => Some(e.to_string()),
            _ => None,
        });
        let before = self.out.len();
        self.cache(options, "Q01");
        if self.out.len() > before
            && let Some(f) = self.out.last_mut()
        {
            f.message = rules::ALTER_SEQUENCE_CACHE_MESSAGE.replace("{}", &value.unwrap_or_default());
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
        if let DataType::Array(elem) = t {
            let elem = match elem {
                ArrayElemTypeDef::AngleBracket(e)
                | ArrayElemTypeDef::SquareBracket(e, _)
                | ArrayElemTypeDef::Parenthesis(e) => type_name(e),
                ArrayElemTypeDef::None => "anyarray".to_string(),
            };
            self.push(rule("Y03").finding_with(&format!("{elem}[]")));
            return;
        }
        let name = type_name(t);
        if SERIAL_TYPES.contains(&name.as_str()) {
            self.push(rule("Y04").finding_with(&name));
        } else if UNSUPPORTED_TYPES.contains(&name.as_str()) {
            self.push(rule("Y02").finding_with(&name));
        }
    }
}

/// DSQL's refusal of `CREATE [OR REPLACE] PROCEDURE` (catalog R15, message of 2026-12-07), whatever its language.
pub(crate) fn procedure_refusal() -> Finding {
    let mut f = rule("R15").finding(rules::PROCEDURE_MESSAGE);
    f.message = rules::PROCEDURE_MESSAGE.into();
    f.fix = "DSQL has no procedures: write a function in LANGUAGE sql (CREATE FUNCTION … LANGUAGE sql AS $$ … $$), \
             or run the statements from the application in one transaction"
        .into();
    f
}

/// The primary key's columns of a `CREATE TABLE` (table constraint or column option), names as written.
fn primary_key(ct: &sqlparser::ast::CreateTable) -> Option<Vec<String>> {
    let from_constraint = ct.constraints.iter().find_map(|c| match c {
        TableConstraint::PrimaryKey(pk) => Some(pk.columns.iter().map(|c| c.column.expr.to_string()).collect()),
        _ => None,
    });
    from_constraint.or_else(|| {
        ct.columns
            .iter()
            .find(|col| col.options.iter().any(|o| matches!(o.option, ColumnOption::PrimaryKey(_))))
            .map(|col| vec![col.name.to_string()])
    })
}

/// The declared size in bytes of each key (primary key, UNIQUE) of a `CREATE TABLE`, as DSQL's DDL check sums it
/// (catalog X08, 2026-12-07): the declared sizes of the key's own columns (a unique key leaves the primary key's
/// columns out). Columns without a declared size (text, bytea, numeric…) count 0: DSQL checks those at write time.
fn declared_key_bytes(ct: &sqlparser::ast::CreateTable) -> Vec<u64> {
    let size_of = |name: &str| {
        ct.columns
            .iter()
            .find(|c| c.name.to_string().eq_ignore_ascii_case(name) || c.name.value == name)
            .map_or(0, |c| declared_bytes(&c.data_type))
    };
    let mut keys: Vec<Vec<String>> = ct
        .constraints
        .iter()
        .filter_map(|c| match c {
            TableConstraint::PrimaryKey(pk) => Some(pk.columns.iter().map(|c| c.column.expr.to_string()).collect()),
            TableConstraint::Unique(u) => Some(u.columns.iter().map(|c| c.column.expr.to_string()).collect()),
            _ => None,
        })
        .collect();
    for col in &ct.columns {
        if col.options.iter().any(|o| matches!(o.option, ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_))) {
            keys.push(vec![col.name.to_string()]);
        }
    }
    keys.iter().map(|key| key.iter().map(|c| size_of(c)).sum()).collect()
}

/// The bytes a column type declares: `n` for varchar(n)/char(n) (DSQL counts the declared length, a varchar(2000)
/// key passes), the width of fixed-size types, 0 for types without a declared size.
fn declared_bytes(t: &DataType) -> u64 {
    use sqlparser::ast::CharacterLength;
    match t {
        DataType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
        | DataType::CharacterVarying(Some(CharacterLength::IntegerLength { length, .. }))
        | DataType::Char(Some(CharacterLength::IntegerLength { length, .. }))
        | DataType::Character(Some(CharacterLength::IntegerLength { length, .. })) => *length,
        DataType::Char(None) | DataType::Character(None) => 1,
        _ => match type_name(t).as_str() {
            "boolean" => 1,
            "smallint" => 2,
            "integer" | "real" | "date" => 4,
            "bigint" | "double precision" | "timestamp" | "timestamp with time zone" | "time" => 8,
            "uuid" | "interval" => 16,
            _ => 0,
        },
    }
}

/// PostgreSQL's name for a type as DSQL's messages print it (`int` → `integer`, `varbit` → `bit varying`), without
/// its modifiers.
fn type_name(t: &DataType) -> String {
    let printed = t.to_string().to_ascii_lowercase();
    let base = printed.split('(').next().unwrap_or("").trim();
    let canonical = match base {
        "int" | "int4" => "integer",
        "int2" => "smallint",
        "int8" => "bigint",
        "float4" => "real",
        "float8" | "float" => "double precision",
        "bool" => "boolean",
        "varchar" => "character varying",
        "char" | "bpchar" => "character",
        "varbit" => "bit varying",
        "decimal" | "dec" => "numeric",
        "timestamptz" => "timestamp with time zone",
        "timetz" => "time with time zone",
        other => other,
    };
    canonical.to_string()
}

/// The safety guard's refusal in DSQL's words, where the catalog records what DSQL answers (transaction control,
/// advisory locks): DSQL's SQLSTATE and message, the guard's rule id and advice. `None` when no rule covers it.
pub(crate) fn dsql_refusal(stmt: &Statement, guard: &Finding) -> Option<Finding> {
    let mut f = match stmt {
        Statement::StartTransaction { modes, .. } => {
            let level = modes.iter().find_map(|m| match m {
                TransactionMode::IsolationLevel(l) if *l != TransactionIsolationLevel::RepeatableRead => Some(l),
                _ => None,
            })?;
            rule("T03").finding_with(&level.to_string().to_ascii_uppercase())
        }
        Statement::Savepoint { .. } => rule("R20").finding_with("SAVEPOINT"),
        Statement::ReleaseSavepoint { .. } => rule("R20").finding_with("RELEASE"),
        Statement::Rollback { savepoint: Some(_), .. } => rule("R20").finding_with("ROLLBACK TO"),
        _ if guard.rule == "safety.dangerous_function" => {
            let mut name = None;
            let _ = stmt.visit(&mut FirstFunction(&mut name, |n: &str| n.contains("advisory")));
            rule("R18").finding_with(&name?)
        }
        _ => return None,
    };
    // The guard's id stays: the refusal does not depend on `--rules`; only the words are DSQL's.
    f.rule = guard.rule.clone();
    f.fix = guard.fix.clone();
    Some(f)
}

/// Finds the first function call whose lower-cased base name passes the predicate.
struct FirstFunction<'a, P: Fn(&str) -> bool>(&'a mut Option<String>, P);

impl<P: Fn(&str) -> bool> Visitor for FirstFunction<'_, P> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = names::basename(&f.name);
            if (self.1)(&name) {
                *self.0 = Some(name);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
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
        // V08 (2026-12-07): DSQL fails a LEFT JOIN LATERAL subquery that projects a column of the outer query.
        for twj in &s.from {
            let mut outer = relation_names(&twj.relation);
            for join in &twj.joins {
                if matches!(join.join_operator, JoinOperator::Left(_) | JoinOperator::LeftOuter(_))
                    && let TableFactor::Derived { lateral: true, subquery, .. } = &join.relation
                    && let Some(child) = projects_outer_column(subquery, &outer)
                {
                    self.push(rule("V08").finding_with(&child));
                }
                outer.extend(relation_names(&join.relation));
            }
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
        if let Expr::Function(f) = e {
            if guard::is_wait_for_job(f) {
                self.push(rule("X10").finding(""));
            }
            let name = names::basename(&f.name);
            if TEXT_SEARCH_FUNCTIONS.contains(&name.as_str())
                && call_args(f).len() >= 2
                && let Some(Some(config)) = call_args(f).first()
                && let Some(config) = string_literal(config)
            {
                self.push(rule("R26").finding_with(&config.to_ascii_lowercase()));
            }
            if GEOMETRIC_CONSTRUCTORS.contains(&name.as_str()) && names::parts(&f.name).len() == 1 {
                self.push(rule("R27").finding_with(&name));
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod december_revision_tests {
    //! Rules of the catalog's 2026-12-07 revision that need no database (R15 procedures, CT04, X08).
    use super::*;

    fn findings(sql: &str) -> Vec<Finding> {
        let stmt = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .expect("parses")
            .pop()
            .expect("one statement");
        own_findings(&stmt)
    }

    fn columns(n: usize) -> String {
        (1..=n).map(|i| format!("c{i} int")).collect::<Vec<_>>().join(", ")
    }

    #[test]
    fn create_procedure_gets_dsqls_words() {
        // PostgreSQL's form does not parse with sqlparser (refused by `parse`, tested there); this one does.
        let f = findings("CREATE PROCEDURE p AS BEGIN SELECT 1; END");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "dsql.R15.procedural_code");
        assert_eq!((f[0].sqlstate.as_deref(), f[0].message.as_str()), (Some("0A000"), "PROCEDURE is not supported"));
        assert!(f[0].fix.contains("LANGUAGE sql"), "{}", f[0].fix);
    }

    #[test]
    fn two_hundred_fifty_six_columns_pass_and_the_257th_is_refused_in_dsqls_words() {
        assert!(findings(&format!("CREATE TABLE t ({})", columns(256))).is_empty());
        let f = findings(&format!("CREATE TABLE t ({})", columns(257)));
        assert_eq!(
            (f[0].rule.as_str(), f[0].message.as_str()),
            ("dsql.CT04.column_count", "tables can have at most 255 columns")
        );
        assert_eq!(f[0].sqlstate.as_deref(), Some("54011"));
        let f = findings(&format!("CREATE TABLE t (id int PRIMARY KEY, {})", columns(256)));
        assert_eq!(f[0].message, "cannot use more than 256 columns in an index");
        let f = findings(&format!("CREATE TABLE t ({}, PRIMARY KEY (c1))", columns(257)));
        assert_eq!(f[0].message, "cannot use more than 256 columns in an index");
    }

    #[test]
    fn declared_key_sizes_over_two_thousand_bytes_are_refused() {
        let x08 = |sql: &str| findings(sql).iter().any(|f| f.rule == "dsql.X08.key_size");
        // A varchar(2000) key passes CREATE (DSQL checks the ≈ 1,981-byte budget at write time).
        assert!(!x08("CREATE TABLE t (k varchar(2000) PRIMARY KEY)"));
        assert!(!x08("CREATE TABLE t (a varchar(1992), b bigint, PRIMARY KEY (a, b))"));
        assert!(x08("CREATE TABLE t (a varchar(1993), b bigint, PRIMARY KEY (a, b))"));
        assert!(x08("CREATE TABLE t (k character varying(2001) PRIMARY KEY)"));
        assert!(x08("CREATE TABLE t (id uuid PRIMARY KEY, a char(1500), b varchar(600), UNIQUE (a, b))"));
        // A unique key's sum leaves the primary key out; undeclared sizes (text) count nothing.
        assert!(!x08("CREATE TABLE t (id varchar(1500) PRIMARY KEY, a varchar(1500) UNIQUE)"));
        assert!(!x08("CREATE TABLE t (k text PRIMARY KEY, v varchar(5000))"));
        let f = findings("CREATE TABLE t (k varchar(3000) PRIMARY KEY)");
        assert_eq!(f[0].sqlstate.as_deref(), Some("54000"));
        assert_eq!(f[0].message, "key size greater than 2000 bytes not supported");
    }
}

#[cfg(all(test, dsql_lint_parse_once))]
mod parse_once_tests {
    //! `check` hands our parse to dsql-lint instead of letting it parse the text again: the diagnostics must be
    //! those of dsql-lint's own parse.

    /// DDL and utility statements dsql-lint has rules for (its whole-list passes see one statement here), with
    /// comments, a trailing semicolon, several lines and Unicode around them.
    const STATEMENTS: &[&str] = &[
        "CREATE TABLE t (id serial PRIMARY KEY, v json, m money, tags text[])",
        "-- leading comment\nCREATE TABLE public.t (\n  id integer NOT NULL,\n  x text REFERENCES o (id)\n);",
        "CREATE TABLE u (id bigint GENERATED ALWAYS AS IDENTITY, code varchar(10) UNIQUE) /* trailing */",
        "CREATE SEQUENCE s AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;",
        "CREATE SEQUENCE s2",
        "ALTER SEQUENCE s OWNED BY public.t.id",
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass)",
        "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
        "ALTER TABLE t ADD CONSTRAINT t_x UNIQUE (x);",
        "ALTER TABLE t DROP CONSTRAINT t_pkey",
        "ALTER TABLE t ADD COLUMN c int REFERENCES o (id)",
        "ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY",
        "ALTER TABLE ONLY public.x ALTER COLUMN blob SET COMPRESSION lz4",
        "ALTER TABLE t ALTER COLUMN v SET STATISTICS 100",
        "CREATE INDEX i ON t (x)",
        "CREATE UNIQUE INDEX CONCURRENTLY i2 ON t USING gin (x)",
        "CREATE INDEX ASYNC i3 ON t (x, \"Ünïcode\")",
        "TRUNCATE t",
        "CREATE VIEW v AS SELECT * FROM t",
        "CREATE TEMPORARY TABLE tt (a int)",
        "CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "CREATE EXTENSION hstore",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "BEGIN",
        "COMMIT",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2 $$",
    ];

    #[test]
    fn linting_our_parse_reports_what_linting_the_text_reports() {
        let (mut compared, mut with_findings) = (0, 0);
        for sql in STATEMENTS {
            // Forms sqlparser cannot parse (SET COMPRESSION) are linted from their text, as before.
            let Ok(mut stmts) = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            else {
                continue;
            };
            let stmt = stmts.pop().expect("one statement");
            compared += 1;
            let shared = dsql_lint::lint_statement(sql, &stmt).unwrap_or_else(|| panic!("one statement: {sql}"));
            assert_eq!(format!("{shared:#?}"), format!("{:#?}", dsql_lint::lint_sql(sql)), "{sql}");
            with_findings += usize::from(!shared.is_empty());
        }
        // The comparison means something only if dsql-lint has something to say about most of them.
        assert!(compared >= STATEMENTS.len() - 3, "{compared}");
        assert!(with_findings >= compared / 2, "{with_findings} of {compared}");
    }

    #[test]
    fn text_that_is_not_exactly_one_statement_is_left_to_dsql_lint() {
        let stmt = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, "SELECT 1")
            .expect("parses")
            .remove(0);
        assert!(dsql_lint::lint_statement("SELECT 1; SELECT 2", &stmt).is_none());
        assert!(dsql_lint::lint_statement("-- nothing", &stmt).is_none());
    }
}
