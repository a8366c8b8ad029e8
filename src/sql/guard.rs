//! The safety guard: mode-independent refusals (transaction control, COPY PROGRAM / server files, DISCARD ALL,
//! RESET ALL, security GUCs, dangerous functions, CALL other than `sys.wait_for_job`) and the read-only guard
//! (an allow list of reads, walked through nested statements, `SELECT … INTO` and state-changing functions).
//! Every refusal names its rule and says what to do instead.

use core::ops::ControlFlow;

use sqlparser::ast::{
    CopyTarget, CreateFunctionBody, DiscardObject, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    Reset, Select, Set, Statement, TableFactor, TransactionMode, UtilityOption, Value, Visit, Visitor,
};

use super::classify;
use super::finding::Finding;
use super::functions::{SECURITY_GUCS, changes_state, is_dangerous, runs_sql_text};
use super::names;
use super::parse;
use super::text;
use crate::sqlstate;

const TXN_FIX: &str = "Remove it: readonly_query runs in its own read-only transaction, and transact runs its whole sql_list \
                       in one transaction that it commits (or rolls back on error)";

/// Mode-independent refusals, over every nested statement, expression and table function.
pub(crate) fn safety(stmt: &Statement) -> Result<(), Finding> {
    guards(stmt, false).map_err(Refusal::into_finding)
}

/// Which guard refused a statement.
#[derive(Debug)]
pub(crate) enum Refusal {
    Safety(Finding),
    ReadOnly(Finding),
}

impl Refusal {
    pub(crate) fn into_finding(self) -> Finding {
        match self {
            Refusal::Safety(f) | Refusal::ReadOnly(f) => f,
        }
    }
}

/// The safety guard and, when `read_only`, the read-only guard, in one walk over the statement (a walk of the
/// AST costs about as much as each guard's own work). The result is what [`safety`] and then `read_only` (its
/// test-only reference) give: a safety refusal anywhere in the statement wins over a read-only one.
pub(crate) fn guards(stmt: &Statement, read_only: bool) -> Result<(), Refusal> {
    let root = read_only.then(|| read_only_root(stmt));
    let ro = match root {
        Some(Ok(allowed_inner)) => Some(ReadOnly { root: stmt, allowed_inner }),
        _ => None,
    };
    let mut v = Both { ro, ro_refusal: None };
    if let ControlFlow::Break(f) = stmt.visit(&mut v) {
        return Err(Refusal::Safety(f));
    }
    match (root, v.ro_refusal) {
        (Some(Err(f)), _) | (_, Some(f)) => Err(Refusal::ReadOnly(f)),
        _ => Ok(()),
    }
}

/// The read-only guard alone: only reads pass (see module docs). [`guards`] runs it in the same walk as the
/// safety guard; this is the reference it is tested against.
#[cfg(test)]
pub(crate) fn read_only(stmt: &Statement) -> Result<(), Finding> {
    let allowed_inner = read_only_root(stmt)?;
    let mut v = ReadOnly { root: stmt, allowed_inner };
    match stmt.visit(&mut v) {
        ControlFlow::Break(f) => Err(f),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// True for `CALL sys.wait_for_job(…)` (waiting for an async job changes nothing).
pub(crate) fn is_wait_for_job(f: &Function) -> bool {
    matches!(f.name.0.as_slice(), [schema, name] if names::part_is(schema, "sys") && names::part_is(name, "wait_for_job"))
}

/// Both guards' visitors: safety refusals stop the walk; the first read-only refusal is kept and the walk goes
/// on, as a safety refusal later in the statement would still win.
struct Both<'a> {
    ro: Option<ReadOnly<'a>>,
    ro_refusal: Option<Finding>,
}

impl Both<'_> {
    fn read_only(&mut self, check: impl FnOnce(&mut ReadOnly<'_>) -> ControlFlow<Finding>) {
        if self.ro_refusal.is_none()
            && let Some(ro) = &mut self.ro
            && let ControlFlow::Break(f) = check(ro)
        {
            self.ro_refusal = Some(f);
        }
    }
}

impl Visitor for Both<'_> {
    type Break = Finding;

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<Finding> {
        Safety.pre_visit_statement(s)?;
        self.read_only(|ro| ro.pre_visit_statement(s));
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<Finding> {
        Safety.pre_visit_expr(e)?;
        self.read_only(|ro| ro.pre_visit_expr(e));
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<Finding> {
        Safety.pre_visit_table_factor(t)?;
        self.read_only(|ro| ro.pre_visit_table_factor(t));
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<Finding> {
        self.read_only(|ro| ro.pre_visit_select(s));
        ControlFlow::Continue(())
    }
}

struct Safety;

impl Visitor for Safety {
    type Break = Finding;

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<Finding> {
        match check_statement_safety(s) {
            Ok(()) => ControlFlow::Continue(()),
            Err(f) => ControlFlow::Break(f),
        }
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<Finding> {
        if let Expr::Function(f) = e
            && let Err(finding) = check_function_safety(&names::basename_ref(&f.name), Some(f))
        {
            return ControlFlow::Break(finding);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<Finding> {
        if let Some(name) = table_function_name(t)
            && let Err(finding) = check_function_safety(&name, None)
        {
            return ControlFlow::Break(finding);
        }
        ControlFlow::Continue(())
    }
}

/// Name of a function called in FROM (`FROM f(…)`), if this table factor is one.
pub(crate) fn table_function_name(t: &TableFactor) -> Option<String> {
    match t {
        TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => {
            Some(names::basename(name))
        }
        _ => None,
    }
}

fn check_statement_safety(s: &Statement) -> Result<(), Finding> {
    let refuse = |rule: &str, msg: String, fix: &str| Err(Finding::error(rule, msg, fix));
    match s {
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => refuse(
            "safety.transaction_control",
            format!("transaction control ({}) is refused: the tool manages the transaction", classify::command(s)),
            TXN_FIX,
        ),
        Statement::Copy { target: CopyTarget::Program { .. }, .. } => refuse(
            "safety.copy_program",
            "COPY … PROGRAM runs a shell command on the database server and is refused".into(),
            "Read with SELECT, or write rows with INSERT (batches of at most 3,000 rows); DSQL supports COPY only with STDIN/STDOUT",
        ),
        Statement::Copy { target: CopyTarget::File { .. }, .. } => refuse(
            "safety.copy_server_file",
            "COPY to or from a file on the database server is refused (DSQL supports COPY only with STDIN/STDOUT)"
                .into(),
            "Use SELECT to read and INSERT to write, or COPY … FROM STDIN / TO STDOUT from a client such as psql",
        ),
        Statement::Load { .. } | Statement::LoadData { .. } => refuse(
            "safety.load",
            "LOAD is refused".into(),
            "DSQL has no loadable libraries; load data with INSERT statements in batches of at most 3,000 rows",
        ),
        Statement::Discard { object_type: DiscardObject::ALL } => refuse(
            "safety.discard_all",
            "DISCARD ALL would reset the session the server manages and is refused".into(),
            "Remove it; RESET the specific parameter you changed (for example RESET work_mem), or use SET LOCAL inside transact",
        ),
        // DSQL supports RESET ALL (catalog V10); refusing it is this server's rule, not DSQL's.
        Statement::Reset(r) if matches!(r.reset, Reset::ALL) => refuse(
            "safety.reset_all",
            "RESET ALL is refused by this server (DSQL itself supports it): it would reset the settings of the pooled \
             session the server manages for every later call"
                .into(),
            "RESET the specific parameter you changed (for example RESET work_mem), or use SET LOCAL inside transact",
        ),
        // DSQL accepts SESSION CHARACTERISTICS with an access mode (catalog T03); it would outlive the call.
        Statement::Set(Set::SetTransaction { session: true, modes, .. })
            if modes.iter().any(|m| matches!(m, TransactionMode::AccessMode(_))) =>
        {
            refuse(
                "safety.session_characteristics",
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY/READ WRITE is refused by this server (DSQL \
                 itself accepts it): it would change the default of the pooled session for every later call"
                    .into(),
                "Leave the access mode to the server: readonly_query is always read-only, and transact is read-write \
                 only on a server started with --allow-writes",
            )
        }
        Statement::Set(set) => check_set_safety(set),
        Statement::Call(f) if !is_wait_for_job(f) => refuse(
            "safety.call",
            format!("CALL {} is refused: the only procedure DSQL offers is sys.wait_for_job", f.name),
            "To wait for an async index or validation job use CALL sys.wait_for_job('<job_id>'); DSQL has no user-defined \
             procedures, so write the logic as SQL statements or a LANGUAGE sql function",
        ),
        Statement::CreateFunction(cf) => check_function_body(cf),
        _ => Ok(()),
    }
}

fn check_set_safety(set: &Set) -> Result<(), Finding> {
    let names: Vec<String> = match set {
        Set::SingleAssignment { variable, .. } => vec![names::basename(variable)],
        Set::ParenthesizedAssignments { variables, .. } => variables.iter().map(names::basename).collect(),
        Set::MultipleAssignments { assignments } => assignments.iter().map(|a| names::basename(&a.name)).collect(),
        _ => Vec::new(),
    };
    match names.iter().find(|n| SECURITY_GUCS.contains(&n.to_ascii_lowercase().as_str())) {
        Some(n) => Err(security_guc(n)),
        None => Ok(()),
    }
}

fn security_guc(name: &str) -> Finding {
    Finding::error(
        "safety.security_guc",
        format!("changing {name} would switch off a security feature and is refused"),
        "Remove the setting; the server never changes row_security or session_replication_role",
    )
}

/// `LANGUAGE sql` bodies are SQL the function will run later: apply the same mode-independent refusals to them.
fn check_function_body(cf: &sqlparser::ast::CreateFunction) -> Result<(), Finding> {
    let is_sql = cf.language.as_ref().is_none_or(|l| names::ident(l).eq_ignore_ascii_case("sql"));
    let Some(CreateFunctionBody::AsBeforeOptions { body, .. } | CreateFunctionBody::AsAfterOptions(body)) =
        &cf.function_body
    else {
        return Ok(());
    };
    let Some(src) = string_value(body) else { return Ok(()) };
    if !is_sql {
        return Ok(());
    }
    let unchecked = |why: String| {
        Finding::error(
            "safety.function_body",
            format!("the body of function {} could not be checked: {why}", cf.name),
            "Write the function body as plain SQL statements that parse on their own",
        )
    };
    let norm = text::normalize_body(&src).map_err(|f| unchecked(f.message))?;
    let stmts = parse::parse_sql(&norm.text).map_err(|f| unchecked(f.message))?;
    for s in &stmts {
        safety(s)
            .map_err(|f| Finding { message: format!("in the body of function {}: {}", cf.name, f.message), ..f })?;
    }
    Ok(())
}

fn string_value(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) | Value::UnicodeStringLiteral(s) => {
                Some(s.clone())
            }
            Value::DollarQuotedString(d) => Some(d.value.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn check_function_safety(name: &str, call: Option<&Function>) -> Result<(), Finding> {
    if runs_sql_text(name, call.map(arg_count)) {
        return Err(Finding::error(
            "safety.sql_text_function",
            format!(
                "function {name} is refused: it runs SQL given to it as text, which this server's checks cannot \
                 see (read-only, confirmation and tenant checks would all be bypassed)"
            ),
            "Run the query itself (readonly_query, or transact for writes); to build XML from rows use \
             xmlelement/xmlforest/xmlagg over the query, and for word statistics unnest(to_tsvector(...)) over \
             your rows",
        ));
    }
    if is_dangerous(name) {
        let (why, fix) = if name.starts_with("pg_sleep") {
            ("sleeps while holding the connection and transaction", "Remove the sleep; the server has a call timeout")
        } else if name.contains("advisory") {
            (
                "takes or releases advisory locks, which DSQL does not support (0A000)",
                "DSQL uses optimistic concurrency: retry the transaction on SQLSTATE 40001 instead of locking",
            )
        } else {
            (
                "reaches outside the database, reads server files or affects other sessions",
                "Remove the call; use ordinary SQL over your tables",
            )
        };
        return Err(Finding::error("safety.dangerous_function", format!("function {name} is refused: it {why}"), fix));
    }
    if name == "set_config"
        && let Some(f) = call
    {
        match first_arg(f).and_then(string_value) {
            Some(guc) if SECURITY_GUCS.contains(&guc.trim().to_ascii_lowercase().as_str()) => {
                return Err(security_guc(&guc));
            }
            Some(_) => {}
            None => {
                return Err(Finding::error(
                    "safety.set_config_dynamic",
                    "set_config with a parameter name that is not a string literal cannot be checked and is refused",
                    "Name the parameter with a string literal, for example set_config('work_mem', '64MB', true)",
                ));
            }
        }
    }
    Ok(())
}

/// How many arguments a call passes (0 when it has no list, as `current_user`).
fn arg_count(f: &Function) -> usize {
    match &f.args {
        FunctionArguments::List(l) => l.args.len(),
        _ => 0,
    }
}

fn first_arg(f: &Function) -> Option<&Expr> {
    match &f.args {
        FunctionArguments::List(l) => match l.args.first()? {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        },
        _ => None,
    }
}

/// Checks the top-level statement against the read-only allow list; returns the statement an EXPLAIN without
/// ANALYZE may wrap (it is planned, not run).
fn read_only_root(stmt: &Statement) -> Result<Option<*const Statement>, Finding> {
    match stmt {
        Statement::Query(_) | Statement::ShowVariable { .. } | Statement::ShowVariables { .. } => Ok(None),
        Statement::Explain { analyze, statement, options, .. } => {
            let analyze = explain_analyzes(*analyze, options.as_deref());
            match statement.as_ref() {
                Statement::Query(_) => Ok(None),
                Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_)
                | Statement::Merge(_)
                | Statement::Execute { .. }
                    if !analyze =>
                {
                    Ok(Some(statement.as_ref() as *const Statement))
                }
                inner if analyze => Err(Finding::error(
                    "read_only.explain_analyze_write",
                    format!("EXPLAIN ANALYZE runs the statement, and {} is not a read", classify::command(inner)),
                    "Use EXPLAIN without ANALYZE to see the plan, or run it through transact on a server started with --allow-writes",
                )),
                inner => Err(not_a_read(inner)),
            }
        }
        Statement::Set(Set::SetTransaction { modes, snapshot: None, session: false })
            if modes.iter().all(|m| {
                matches!(
                    m,
                    TransactionMode::AccessMode(sqlparser::ast::TransactionAccessMode::ReadOnly)
                        | TransactionMode::IsolationLevel(_)
                )
            }) =>
        {
            Ok(None)
        }
        Statement::Call(f) if is_wait_for_job(f) => Ok(None),
        other => Err(not_a_read(other)),
    }
}

fn not_a_read(s: &Statement) -> Finding {
    let command = classify::command(s);
    let session = matches!(s, Statement::Set(_) | Statement::Reset(_) | Statement::Discard { .. });
    let (rule, what, fix) = if session {
        (
            "read_only.session_change",
            format!("{command} changes session state and is not allowed in read-only mode"),
            "Leave session settings to the server in read-only mode; with --allow-writes, use SET LOCAL inside transact",
        )
    } else {
        (
            "read_only.write_statement",
            format!("{command} is not allowed in read-only mode (readonly_query, or transact without --allow-writes)"),
            "Read-only mode accepts SELECT, VALUES, TABLE, WITH … SELECT, SHOW and EXPLAIN; to change data or schema use \
             transact on a server started with --allow-writes",
        )
    };
    Finding::error(rule, what, fix).with_sqlstate(sqlstate::READ_ONLY_SQL_TRANSACTION)
}

/// Whether an EXPLAIN runs its statement: `EXPLAIN ANALYZE`, or `EXPLAIN (ANALYZE …)` where the last ANALYZE option
/// wins and anything but a recognisable false counts as true. PostgreSQL's grammar takes the British `ANALYSE` for
/// `ANALYZE` in both places (sqlparser reads the parenthesised one as an option of that name; the bare keyword does
/// not parse, so it never gets here).
pub(crate) fn explain_analyzes(analyze_keyword: bool, options: Option<&[UtilityOption]>) -> bool {
    analyze_keyword || options.is_some_and(explain_analyze_option)
}

fn explain_analyze_option(options: &[UtilityOption]) -> bool {
    let is_analyze = |o: &&UtilityOption| {
        o.name.value.eq_ignore_ascii_case("analyze") || o.name.value.eq_ignore_ascii_case("analyse")
    };
    let Some(opt) = options.iter().rev().find(is_analyze) else {
        return false;
    };
    let text = match &opt.arg {
        None => return true,
        Some(Expr::Value(v)) => match &v.value {
            Value::Boolean(b) => return *b,
            Value::Number(n, _) => n.clone(),
            Value::SingleQuotedString(s) => s.clone(),
            _ => return true,
        },
        Some(Expr::Identifier(id)) => id.value.clone(),
        Some(_) => return true,
    };
    !matches!(text.to_ascii_lowercase().as_str(), "false" | "off" | "no" | "0")
}

struct ReadOnly<'a> {
    root: &'a Statement,
    allowed_inner: Option<*const Statement>,
}

impl Visitor for ReadOnly<'_> {
    type Break = Finding;

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<Finding> {
        let is_root = std::ptr::eq(s, self.root);
        let allowed = is_root || matches!(s, Statement::Query(_)) || self.allowed_inner == Some(s as *const Statement);
        if allowed {
            return ControlFlow::Continue(());
        }
        ControlFlow::Break(
            Finding::error(
                "read_only.write_statement",
                format!("{} nested inside the statement (for example a data-modifying WITH) is not allowed in read-only mode", classify::command(s)),
                "Remove the nested write, or run it through transact on a server started with --allow-writes",
            )
            .with_sqlstate(sqlstate::READ_ONLY_SQL_TRANSACTION),
        )
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<Finding> {
        if s.into.is_some() {
            return ControlFlow::Break(
                Finding::error(
                    "read_only.select_into",
                    "SELECT … INTO creates a table and is not allowed in read-only mode",
                    "Remove the INTO clause to read the rows (DSQL has no SELECT INTO; with --allow-writes use CREATE TABLE, then INSERT … SELECT)",
                )
                .with_sqlstate(sqlstate::READ_ONLY_SQL_TRANSACTION),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<Finding> {
        if let Expr::Function(f) = e {
            return state_function(&names::basename_ref(&f.name));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<Finding> {
        match table_function_name(t) {
            Some(name) => state_function(&name),
            None => ControlFlow::Continue(()),
        }
    }
}

fn state_function(name: &str) -> ControlFlow<Finding> {
    if changes_state(name) {
        return ControlFlow::Break(
            Finding::error(
                "read_only.function",
                format!("function {name} changes database or session state and is not allowed in read-only mode"),
                "Remove the call, or run it through transact on a server started with --allow-writes",
            )
            .with_sqlstate(sqlstate::READ_ONLY_SQL_TRANSACTION),
        );
    }
    ControlFlow::Continue(())
}

/// The public corpus (shared with the corpus tests), to check the one-walk guard against the two walks.
#[cfg(test)]
#[path = "../../tests/corpus/mod.rs"]
#[allow(dead_code)]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Option<Statement> {
        let norm = text::normalize(sql, None).ok()?;
        parse::parse_one(&norm).ok().map(|p| p.stmt)
    }

    /// What the two separate walks give: safety first, then (in read-only mode) the read-only guard.
    fn separate(stmt: &Statement, read_only: bool) -> Result<(), (bool, Finding)> {
        let mut safety = Safety;
        if let ControlFlow::Break(f) = stmt.visit(&mut safety) {
            return Err((true, f));
        }
        if read_only {
            return self::read_only(stmt).map_err(|f| (false, f));
        }
        Ok(())
    }

    #[test]
    fn one_walk_refuses_exactly_as_the_two_guards_do() {
        let extra = [
            "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT pg_sleep(1) FROM x",
            "SELECT nextval('s'), pg_sleep(1)",
            "SELECT setval('s', 1) FROM generate_series(1, 2)",
            "EXPLAIN ANALYZE INSERT INTO t SELECT pg_sleep(1)",
            "EXPLAIN INSERT INTO t VALUES (nextval('s'))",
            "SELECT 1 INTO newtab FROM pg_sleep(1)",
            "CALL sys.wait_for_job('j')",
            "CALL \"SYS\".wait_for_job('j')",
            "CALL Sys.Wait_For_Job('j')",
            "SELECT * FROM dblink('x', 'y') AS t(a int)",
        ];
        let lists = [
            corpus::RO_REJECT_WRITES,
            corpus::RO_REJECT_SESSION,
            corpus::RO_REJECT_STATEMENTS,
            corpus::TXN_CONTROL,
            corpus::STACKED,
            corpus::DANGEROUS,
            corpus::BYPASS,
            corpus::RO_ALLOW,
            corpus::RW_ALLOW,
            &extra,
        ];
        let mut checked = 0;
        for sql in lists.iter().flat_map(|l| l.iter()) {
            let Some(stmt) = one(sql) else { continue };
            for read_only in [false, true] {
                let combined = guards(&stmt, read_only).map_err(|r| match r {
                    Refusal::Safety(f) => (true, f),
                    Refusal::ReadOnly(f) => (false, f),
                });
                assert_eq!(combined, separate(&stmt, read_only), "{sql} (read_only={read_only})");
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked}");
    }

    #[test]
    fn the_british_analyse_option_runs_the_statement_as_analyze_does() {
        for sql in [
            "EXPLAIN (ANALYSE) INSERT INTO t VALUES (1)",
            "EXPLAIN (analyse true, costs off) DELETE FROM t",
            "EXPLAIN (ANALYZE false, ANALYSE) UPDATE t SET v = 1",
        ] {
            let stmt = one(sql).unwrap_or_else(|| panic!("{sql} parses"));
            let f = read_only(&stmt).expect_err(sql);
            assert_eq!(f.rule, "read_only.explain_analyze_write", "{sql}");
            assert_eq!(classify::class(&stmt), super::super::StatementClass::Dml, "{sql}");
        }
        // Planned only: the last option says false.
        let stmt = one("EXPLAIN (ANALYSE, ANALYSE off) INSERT INTO t VALUES (1)").unwrap();
        assert!(read_only(&stmt).is_ok());
        assert_eq!(classify::class(&stmt), super::super::StatementClass::Read);
    }

    #[test]
    fn wait_for_job_matches_resolved_names_only() {
        let call = |sql: &str| match one(sql) {
            Some(Statement::Call(f)) => is_wait_for_job(&f),
            other => panic!("{sql}: {other:?}"),
        };
        assert!(call("CALL sys.wait_for_job('j')"));
        assert!(call("CALL SYS.Wait_For_Job('j')"));
        assert!(call("CALL \"sys\".\"wait_for_job\"('j')"));
        assert!(!call("CALL \"SYS\".wait_for_job('j')"));
        assert!(!call("CALL wait_for_job('j')"));
        assert!(!call("CALL x.sys.wait_for_job('j')"));
    }
}
