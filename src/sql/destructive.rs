//! Which statements are provably harmless, and which need a look before they commit (`--confirm-destructive`).
//!
//! A spelling cannot tell what a statement destroys (`WHERE true`, a CTE, a function whose body drops a table, a
//! CASCADE), so this module does not try: it walks the whole statement tree (CTEs, sub-statements, `ON CONFLICT`,
//! `MERGE`, expressions, and the bodies of functions and procedures being created) and proves a statement harmless
//! only when every part of it only reads or adds: queries, plain INSERTs, creating tables, indexes, views,
//! sequences, schemas and domains, adding columns and constraints, session and transaction commands, and calls of
//! PostgreSQL's own non-volatile functions (the list in `builtins.txt`, read from PostgreSQL 15's `pg_proc`).
//! Everything else needs a look: the server runs it up to just before COMMIT and decides from what it really did
//! (`exec::Look`, `server::confirm`). Code stored for later (a function or procedure whose body is not harmless,
//! a trigger, a call of a function that is not a built-in stored in a view, a default, a check, an
//! index, a domain or a policy) is asked about when it is created: what it does when it runs later cannot be seen
//! by name, and the statements that run it later look harmless. Changes no count of rows or objects shows (role
//! settings, privileges, owners, row-level security, a function's properties, code replaced with `OR REPLACE`) are
//! asked about whatever the run shows: the table [`ALWAYS_ASKED`], checked in one place.

use core::ops::ControlFlow;

use sqlparser::ast::{
    AlterTableOperation, CreateFunctionBody, Expr, FromTable, Function, ObjectName, OnConflictAction, OnInsert,
    Statement, TableFactor, Visit, Visitor,
};

/// Bodies of functions created inside function bodies are not opened past this depth: deeper is "needs a look".
const MAX_BODY_DEPTH: usize = 2;

/// Why a statement needs a look, and what kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Look {
    /// In words, the first thing that could not be proved harmless.
    pub why: String,
    /// It may change the schema (DDL that is not only creating, a call of a function that is not a built-in, a
    /// CALL): the catalog is compared before and after.
    pub catalog: bool,
    /// It stores code that changes data or schema when it runs later: the user is asked whatever the run shows.
    pub always: bool,
    /// Tables whose rows it deletes or overwrites by name (targets of DELETE, UPDATE, MERGE, ON CONFLICT DO
    /// UPDATE), as written: their remaining rows are counted to tell "every row" apart.
    pub targets: Vec<String>,
}

/// `None` when `stmt` is provably harmless; otherwise what kind of look it needs.
pub fn look(stmt: &Statement) -> Option<Look> {
    look_at(stmt, 0)
}

fn look_at(stmt: &Statement, depth: usize) -> Option<Look> {
    let mut walk = Walk { depth, look: None, storing: 0 };
    let _ = stmt.visit(&mut walk);
    walk.look
}

struct Walk {
    depth: usize,
    look: Option<Look>,
    /// Inside how many statements that store their expressions for later ([`stores_expressions`]).
    storing: usize,
}

/// Statements that store expressions PostgreSQL evaluates later, inside other statements: a view's query, a
/// column's DEFAULT or GENERATED expression, a CHECK, an index's expression or predicate, a domain's DEFAULT or
/// CHECK, a policy, a function's `RETURN` body or argument defaults. Those later statements (`SELECT * FROM v`, a
/// plain `INSERT`) are proven harmless by their own text, so a call of a function that is not a built-in stored
/// here is code that runs later unseen: it is asked about when stored, as a function body calling one is.
fn stores_expressions(s: &Statement) -> bool {
    matches!(
        s,
        Statement::CreateView(_)
            | Statement::AlterView { .. }
            | Statement::CreateTable(_)
            | Statement::AlterTable(_)
            | Statement::CreateIndex(_)
            | Statement::CreateDomain(_)
            | Statement::CreateFunction(_)
            | Statement::CreatePolicy(_)
            | Statement::AlterPolicy(_)
    )
}

/// Statements no measurement of rows or catalog objects shows the harm of, and that are never provably harmless:
/// asked about whatever the run shows (on DSQL, where effects cannot be measured, every look is asked about anyway).
/// Keyed by the command tag ([`asked_as`]); what DSQL refuses outright among them (`ALTER ROLE … SET/RESET`, role
/// properties, catalog R25) the rule checker refuses first, with DSQL's SQLSTATE. `ALTER DATABASE` never parses
/// and is refused in every mode (R04).
pub const ALWAYS_ASKED: &[(&str, &str)] = &[
    (
        "ALTER ROLE",
        "changes a role's settings or attributes for every later session of it (a statement_timeout of 1ms breaks \
         them all); the change is not seen in rows or objects",
    ),
    ("GRANT", "changes who may do what; the change is not seen in rows or objects"),
    ("REVOKE", "changes who may do what; the change is not seen in rows or objects"),
    ("AWS IAM GRANT", "changes who may do what (which IAM identities log in as a role)"),
    ("AWS IAM REVOKE", "changes who may do what (which IAM identities log in as a role)"),
    ("ALTER DEFAULT PRIVILEGES", "changes who may do what on objects created later"),
    ("CREATE ROLE … IN ROLE", "gives role memberships: changes who may do what"),
    (
        "ALTER TABLE … OWNER TO / ROW LEVEL SECURITY",
        "changes who may do what with the table's rows; the change is not seen in rows or objects",
    ),
    ("CREATE POLICY", "changes which rows who may see or change"),
    ("ALTER POLICY", "changes which rows who may see or change"),
    ("DROP POLICY", "changes which rows who may see or change"),
    (
        "ALTER FUNCTION",
        "changes how a function runs for every later call (its settings such as search_path, its security, its \
         owner); the change is not seen in rows or objects",
    ),
    (
        "CREATE OR REPLACE FUNCTION",
        "replaces the code of a function that may exist already: statements that call it, which look harmless, \
         then do something else",
    ),
    (
        "CREATE OR REPLACE VIEW",
        "replaces the query of a view that may exist already: statements that read it, which look harmless, then \
         see something else",
    ),
];

/// The key of `s` in [`ALWAYS_ASKED`]: its command tag, with `OR REPLACE` where it replaces code.
fn asked_as(s: &Statement) -> String {
    match s {
        Statement::CreateFunction(f) if f.or_replace => "CREATE OR REPLACE FUNCTION".into(),
        Statement::CreateView(v) if v.or_replace => "CREATE OR REPLACE VIEW".into(),
        Statement::AlterTable(a)
            if a.operations.iter().any(|op| {
                matches!(
                    op,
                    AlterTableOperation::OwnerTo { .. }
                        | AlterTableOperation::EnableRowLevelSecurity
                        | AlterTableOperation::DisableRowLevelSecurity
                        | AlterTableOperation::ForceRowLevelSecurity
                        | AlterTableOperation::NoForceRowLevelSecurity
                )
            }) =>
        {
            "ALTER TABLE … OWNER TO / ROW LEVEL SECURITY".into()
        }
        // A plain CREATE ROLE adds a role with no privileges; IN ROLE, ROLE, USER and ADMIN grant memberships.
        Statement::CreateRole(r)
            if [&r.in_role, &r.in_group, &r.role, &r.user, &r.admin].iter().any(|m| !m.is_empty()) =>
        {
            "CREATE ROLE … IN ROLE".into()
        }
        other => super::classify::command(other),
    }
}

impl Walk {
    fn needs(&mut self, why: impl FnOnce() -> String, catalog: bool, always: bool) {
        let look = self.look.get_or_insert_with(|| Look { why: why(), ..Look::default() });
        look.catalog |= catalog;
        if always && !look.always && !look.why.starts_with("stores code") {
            // The reason the user is asked whatever the run shows comes first.
            look.why = format!("stores code that changes data or schema when it runs later ({})", look.why);
        }
        look.always |= always;
    }

    /// A statement of [`ALWAYS_ASKED`]: asked about whatever the run shows, for the reason the table gives.
    fn always_asked(&mut self, command: &str, why: &str) {
        let look = self.look.get_or_insert_with(Look::default);
        look.catalog = true;
        if !look.always {
            look.why = format!("{command} {why}");
            look.always = true;
        }
    }

    fn rows_of(&mut self, why: &str, table: &ObjectName) {
        self.needs(|| format!("{why} {table}"), false, false);
        let name = table.to_string();
        if let Some(look) = &mut self.look
            && !look.targets.contains(&name)
        {
            look.targets.push(name);
        }
    }

    fn function(&mut self, name: &ObjectName) {
        if is_builtin(name) {
            return;
        }
        if self.storing > 0 {
            self.needs(
                || format!("stores a call of {name}, which is not a PostgreSQL built-in, for later"),
                true,
                true,
            );
        } else {
            self.needs(|| format!("calls {name}, which is not a PostgreSQL built-in"), true, false);
        }
    }

    /// A function or procedure being created: harmless only when every statement of its body is.
    fn body(&mut self, kind: &str, name: &ObjectName, body: Option<&str>) {
        let stores =
            |why: String| format!("stores code that changes data or schema when it runs later: {kind} {name} {why}");
        let Some(body) = body else {
            self.needs(|| stores("has a body that could not be read".into()), true, true);
            return;
        };
        if self.depth >= MAX_BODY_DEPTH {
            self.needs(|| stores("is nested too deep to be read".into()), true, true);
            return;
        }
        let statements = match super::split_script(body) {
            Ok(s) => s,
            Err(_) => return self.needs(|| stores("has a body that does not parse".into()), true, true),
        };
        for s in statements {
            let Some(stmt) = super::parse_statement(&s.text) else {
                return self.needs(|| stores("has a body that does not parse".into()), true, true);
            };
            if let Some(inner) = look_at(&stmt, self.depth + 1) {
                return self.needs(|| stores(inner.why), true, true);
            }
        }
    }
}

impl Visitor for Walk {
    type Break = ();

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if stores_expressions(s) {
            self.storing += 1;
        }
        let command = asked_as(s);
        if let Some((_, why)) = ALWAYS_ASKED.iter().find(|(c, _)| *c == command) {
            self.always_asked(&command, why);
        }
        match s {
            // Reads; the walk goes on into their parts.
            Statement::Query(_) | Statement::ShowVariable { .. } | Statement::ShowVariables { .. } => {}
            Statement::Explain { .. } | Statement::ExplainTable { .. } => {}
            // Adds rows (FROM STDIN) or reads them (TO STDOUT); the other forms are refused by the guard.
            Statement::Copy { .. } => {}
            Statement::Insert(i) => match &i.on {
                Some(OnInsert::OnConflict(c)) if matches!(c.action, OnConflictAction::DoUpdate(_)) => {
                    if let sqlparser::ast::TableObject::TableName(t) = &i.table {
                        self.rows_of("INSERT … ON CONFLICT DO UPDATE overwrites rows of", t);
                    } else {
                        self.needs(|| "INSERT … ON CONFLICT DO UPDATE into a table function".into(), true, false);
                    }
                }
                Some(OnInsert::DuplicateKeyUpdate(_)) => self.needs(|| "ON DUPLICATE KEY UPDATE".into(), true, false),
                _ => {}
            },
            Statement::Delete(d) => {
                let tables = match &d.from {
                    FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                };
                if !d.tables.is_empty() {
                    // MySQL's multi-table form: which rows go is not read here.
                    self.needs(|| "DELETE of several tables".into(), true, false);
                }
                for t in tables {
                    match &t.relation {
                        TableFactor::Table { name, args: None, .. } => self.rows_of("DELETE removes rows of", name),
                        _ => self.needs(|| "DELETE from something that is not a table".into(), true, false),
                    }
                }
            }
            Statement::Update(u) => match &u.table.relation {
                TableFactor::Table { name, args: None, .. } => self.rows_of("UPDATE overwrites rows of", name),
                _ => self.needs(|| "UPDATE of something that is not a table".into(), true, false),
            },
            Statement::Merge(m) => match &m.table {
                TableFactor::Table { name, args: None, .. } => self.rows_of("MERGE can change rows of", name),
                _ => self.needs(|| "MERGE into something that is not a table".into(), true, false),
            },
            // Creating adds; its parts (a query, defaults, checks) are walked for function calls.
            Statement::CreateTable(_)
            | Statement::CreateIndex(_)
            | Statement::CreateView(_)
            | Statement::CreateSequence { .. }
            | Statement::CreateSchema { .. }
            | Statement::CreateDomain(_)
            | Statement::Comment { .. }
            | Statement::Analyze(_)
            | Statement::Set(_)
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. } => {}
            Statement::AlterTable(a) => {
                let adds = a.operations.iter().all(|op| {
                    matches!(op, AlterTableOperation::AddColumn { .. } | AlterTableOperation::AddConstraint { .. })
                });
                if !adds {
                    self.needs(|| format!("ALTER TABLE {} changes the table", a.name), true, false);
                }
            }
            Statement::CreateFunction(f) => {
                let body = match &f.function_body {
                    Some(
                        CreateFunctionBody::AsBeforeOptions { body, .. } | CreateFunctionBody::AsAfterOptions(body),
                    ) => string_of(body),
                    Some(CreateFunctionBody::Return(_)) => {
                        // `RETURN expr`: the expression is walked like any other.
                        return ControlFlow::Continue(());
                    }
                    _ => None,
                };
                self.body("function", &f.name, body.as_deref());
                // The body is the statements read above; the walk must not take its text for an expression.
                return ControlFlow::Continue(());
            }
            Statement::CreateProcedure { name, .. } => {
                // sqlparser reads a procedure's body as statements of another dialect; it is not trusted here.
                self.body("procedure", name, None);
            }
            Statement::CreateTrigger(t) => {
                self.needs(|| format!("CREATE TRIGGER {}: it runs code on later writes", t.name), true, true);
            }

            other => {
                let command = super::classify::command(other);
                self.needs(|| format!("{command} can change or remove objects"), true, false);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if stores_expressions(s) {
            self.storing -= 1;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(Function { name, .. }) = e {
            self.function(name);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        match t {
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => self.function(name),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The text of a string literal (a function body), in any of its quotings.
fn string_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => v.value.clone().into_string(),
        _ => None,
    }
}

/// PostgreSQL's own function names that do not change anything (non-volatile, plus a few volatile ones that only
/// generate values), unqualified or in `pg_catalog`. A function of the same name in another schema can still be
/// picked for other argument types: one created through this server is asked about when created (its body is
/// read); the README says what is not covered.
fn is_builtin(name: &ObjectName) -> bool {
    static NAMES: &str = include_str!("builtins.txt");
    let parts: Vec<String> = name.0.iter().map(|p| p.to_string()).collect();
    let bare = match parts.as_slice() {
        [f] => f,
        [schema, f] if schema.eq_ignore_ascii_case("pg_catalog") => f,
        _ => return false,
    };
    // An unquoted name is folded to lower case; a quoted one must match as written.
    let bare = match bare.strip_prefix('"').and_then(|b| b.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => bare.to_ascii_lowercase(),
    };
    static SORTED: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    SORTED.get_or_init(|| NAMES.lines().collect()).binary_search(&bare.as_str()).is_ok()
        || matches!(parts.as_slice(), [f] if !f.starts_with('"') && SQL_FORMS.contains(&bare.as_str()))
}

/// Forms of PostgreSQL's grammar that sqlparser reads as function calls but that are not functions in `pg_proc`
/// (so not in `builtins.txt`): they change nothing, and, written unquoted and unqualified, cannot be a schema's
/// function (`"coalesce"(…)` quoted is a function call like any other).
const SQL_FORMS: &[&str] = &[
    "coalesce",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "greatest",
    "least",
    "localtime",
    "localtimestamp",
    "nullif",
    "user",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn of(sql: &str) -> Option<Look> {
        look(&crate::sql::parse_statement(sql).unwrap_or_else(|| panic!("{sql} parses")))
    }

    #[test]
    fn reads_inserts_and_creating_are_harmless() {
        for sql in [
            "SELECT count(*), lower(name), now() FROM t WHERE id = 1",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SELECT * FROM generate_series(1, 3)",
            "INSERT INTO t (id) VALUES (1)",
            "INSERT INTO t (id) SELECT id FROM u ON CONFLICT DO NOTHING",
            "INSERT INTO t (id) VALUES (gen_random_uuid())",
            "CREATE TABLE t2 (id int PRIMARY KEY, v text DEFAULT 'x')",
            "CREATE INDEX ASYNC ON t (v)",
            "CREATE VIEW v AS SELECT id FROM t",
            "ALTER TABLE t ADD COLUMN c text",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
            "CREATE FUNCTION f2() RETURNS void LANGUAGE sql AS 'INSERT INTO t VALUES (1)'",
            // Built-ins stored for later are still harmless.
            "CREATE TABLE t3 (id bigint DEFAULT nextval('s'), at timestamptz DEFAULT now(), u uuid DEFAULT gen_random_uuid())",
            "CREATE VIEW v2 AS SELECT lower(v) AS l FROM t",
            "CREATE INDEX ON t (lower(v))",
            "CREATE TABLE t4 (at timestamptz DEFAULT CURRENT_TIMESTAMP, d date DEFAULT current_date, \
             t time DEFAULT LOCALTIME, ts timestamp DEFAULT localtimestamp(3), who text DEFAULT CURRENT_USER, \
             u text DEFAULT USER, n int DEFAULT COALESCE(NULL, 1) CHECK (NULLIF(n, 0) IS NOT NULL), \
             g int DEFAULT GREATEST(1, 2) CHECK (LEAST(g, 5) > 0))",
            "INSERT INTO t (id, at) VALUES (1, CURRENT_TIMESTAMP)",
        ] {
            assert_eq!(of(sql), None, "{sql}");
        }
    }

    #[test]
    fn anything_that_removes_or_overwrites_needs_a_look() {
        for (sql, target) in [
            ("DELETE FROM t WHERE true", Some("t")),
            ("DELETE FROM t WHERE id = 1", Some("t")),
            ("WITH x AS (SELECT 1) DELETE FROM t", Some("t")),
            ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", Some("t")),
            ("UPDATE s.t SET v = 1 WHERE 1=1", Some("s.t")),
            ("DELETE FROM t USING u WHERE t.id = u.id", Some("t")),
            ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 'x'", Some("t")),
            ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", Some("t")),
            ("SELECT f()", None),
            ("SELECT public.lower('x')", None),
            ("SELECT * FROM my_function(1)", None),
            ("SELECT set_config('a.b', 'c', false)", None),
            ("SELECT query_to_xml('DELETE FROM t', true, false, '')", None),
            ("DROP TABLE t", None),
            ("DROP DOMAIN d CASCADE", None),
            ("TRUNCATE t", None),
            ("ALTER TABLE t ALTER COLUMN v TYPE int", None),
            ("ALTER TABLE t RENAME TO u", None),
            ("CALL p()", None),
        ] {
            let look = of(sql).unwrap_or_else(|| panic!("{sql} needs a look"));
            assert!(!look.always, "{sql}: {look:?}");
            if let Some(t) = target {
                assert_eq!(look.targets, vec![t.to_string()], "{sql}");
            } else {
                assert!(look.catalog, "{sql}: {look:?}");
            }
        }
    }

    #[test]
    fn stored_code_that_changes_data_is_asked_about_when_created() {
        for sql in [
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DROP TABLE t $$",
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT 1; DELETE FROM t $$",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT other() $$",
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ CREATE FUNCTION g() RETURNS void LANGUAGE sql AS 'DELETE FROM t' $$",
            // A call of a function that is not a built-in, stored where later harmless-looking statements run it.
            "CREATE VIEW v AS SELECT wipe() AS n",
            "CREATE VIEW v AS SELECT * FROM t WHERE id = (SELECT s.wipe())",
            "CREATE VIEW v AS SELECT * FROM wipe_rows()",
            "CREATE VIEW v AS SELECT 1 AS n FROM t WHERE wipe() > 0",
            "CREATE TABLE t2 (id int, n int DEFAULT wipe())",
            "CREATE TABLE t2 (id int, n int GENERATED ALWAYS AS (wipe()) STORED)",
            "CREATE TABLE t2 (id int CHECK (wipe() > 0))",
            "ALTER TABLE t ADD COLUMN n int DEFAULT wipe()",
            "ALTER TABLE t ALTER COLUMN n SET DEFAULT wipe()",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (wipe() > 0)",
            "CREATE INDEX ON t ((wipe()))",
            "CREATE INDEX ON t (id) WHERE wipe() > 0",
            "CREATE DOMAIN d AS int DEFAULT wipe()",
            "CREATE FUNCTION g() RETURNS int LANGUAGE sql RETURN wipe()",
        ] {
            let look = of(sql).unwrap_or_else(|| panic!("{sql} needs a look"));
            assert!(look.always, "{sql}: {look:?}");
            assert!(look.why.starts_with("stores code"), "{sql}: {}", look.why);
        }
    }

    #[test]
    fn settings_privileges_and_replaced_code_are_always_asked_about() {
        for (sql, why) in [
            ("ALTER ROLE r SET statement_timeout = '1ms'", "every later session"),
            ("ALTER ROLE r IN DATABASE postgres RESET ALL", "every later session"),
            ("ALTER ROLE r RENAME TO s", "every later session"),
            ("GRANT SELECT ON t TO r", "who may do what"),
            ("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM r", "who may do what"),
            ("AWS IAM GRANT r TO 'arn:aws:iam::111122223333:role/x'", "who may do what"),
            ("ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r", "who may do what"),
            ("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", "replaces the code"),
            ("CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM t $$", "replaces the code"),
            ("CREATE OR REPLACE VIEW v AS SELECT 1 AS n", "replaces the query"),
            ("CREATE ROLE r IN ROLE admin", "who may do what"),
            ("CREATE ROLE r WITH ADMIN admin", "who may do what"),
            ("CREATE ROLE r ROLE admin", "who may do what"),
            ("ALTER TABLE t OWNER TO r", "who may do what"),
            ("ALTER TABLE t DISABLE ROW LEVEL SECURITY", "who may do what"),
            ("ALTER TABLE t ADD COLUMN c int, ENABLE ROW LEVEL SECURITY", "who may do what"),
            ("CREATE POLICY p ON t USING (true)", "which rows who may see"),
            ("CREATE POLICY p ON t USING (wipe() > 0)", "which rows who may see"),
            ("DROP POLICY p ON t", "which rows who may see"),
            ("ALTER FUNCTION f() SET search_path = evil", "every later call"),
            ("ALTER FUNCTION f() SECURITY DEFINER", "every later call"),
        ] {
            let look = of(sql).unwrap_or_else(|| panic!("{sql} needs a look"));
            assert!(look.always && look.catalog, "{sql}: {look:?}");
            assert!(look.why.contains(why), "{sql}: {}", look.why);
        }
        // The same code created without OR REPLACE is judged by what it does.
        assert_eq!(of("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$"), None);
        assert_eq!(of("CREATE VIEW v AS SELECT 1 AS n"), None);
        assert!(of("CREATE ROLE r").is_some_and(|l| !l.always), "a plain CREATE ROLE is measured like other DDL");
        // A function body that grants is code stored for later.
        let look = of("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ GRANT SELECT ON t TO r $$").unwrap();
        assert!(look.always && look.why.starts_with("stores code"), "{look:?}");
    }

    #[test]
    fn builtins_are_known_by_name_only_unqualified_or_in_pg_catalog() {
        let name = |s: &str| crate::sql::parse_statement(&format!("SELECT {s}()")).map(|_| ());
        assert!(name("count").is_some());
        for (f, builtin) in [
            ("count", true),
            ("LOWER", true),
            ("pg_catalog.upper", true),
            ("\"LOWER\"", false),
            ("COALESCE", true),
            ("\"coalesce\"", false),
            ("public.coalesce", false),
        ] {
            let stmt = crate::sql::parse_statement(&format!("SELECT {f}('x')")).unwrap();
            assert_eq!(look(&stmt).is_none(), builtin, "{f}");
        }
    }
}
