//! The public SQL corpus of the Python server (upstream-contract.md §10.2, §9) against `sql::check`, in both
//! modes, plus each DSQL rule (one refusal, one accepted neighbour), transaction rules, tenant scoping, evasion
//! attempts and a deterministic fuzz run.

#![allow(clippy::result_large_err)]

use std::collections::HashSet;

use aurora_dsql_mcp_server::sql::{self, Checked, Finding, Policy, RulesMode, StatementInput, Tool};

mod corpus;
use corpus::*;

fn policy(writes: bool, rules: RulesMode) -> Policy {
    Policy { allow_writes: writes, rules, ..Policy::default() }
}

fn run(tool: Tool, writes: bool, rules: RulesMode, sqls: &[&str], params: Option<usize>) -> Result<Checked, Finding> {
    let inputs: Vec<StatementInput<'_>> = sqls.iter().map(|s| StatementInput { sql: s, param_count: params }).collect();
    sql::check(tool, &inputs, &policy(writes, rules), None)
}

fn ro(s: &str) -> Result<Checked, Finding> {
    run(Tool::ReadonlyQuery, false, RulesMode::Enforce, &[s], None)
}

fn rw(s: &str) -> Result<Checked, Finding> {
    run(Tool::Transact, true, RulesMode::Enforce, &[s], None)
}

fn is_guard_refusal(f: &Finding) -> bool {
    !f.rule.starts_with("dsql.") && !f.rule.contains('_') || f.rule.contains('.') && !f.rule.starts_with("dsql.")
}

/// Refused in read-only mode by the guard or input checks (never merely by a DSQL rule).
fn assert_ro_refused(s: &str) {
    match ro(s) {
        Ok(c) => panic!("read-only mode accepted {s:?}: {c:?}"),
        // Refusals that do not depend on --rules (guard, or a statement the parser cannot read) are not "merely" DSQL's.
        Err(f) => assert!(
            is_guard_refusal(&f) || run(Tool::ReadonlyQuery, false, RulesMode::Off, &[s], None).is_err(),
            "{s:?} refused only by a DSQL rule: {f}"
        ),
    }
    // transact without --allow-writes is the same guard
    assert!(run(Tool::Transact, false, RulesMode::Off, &[s], None).is_err(), "{s:?} accepted by read-only transact");
}

fn assert_both_refused(s: &str) {
    assert_ro_refused(s);
    match run(Tool::Transact, true, RulesMode::Off, &[s], None) {
        Ok(c) => panic!("write mode accepted {s:?}: {c:?}"),
        Err(f) => assert!(is_guard_refusal(&f), "{s:?}: {f}"),
    }
}

fn assert_ro_allowed(s: &str) {
    // The guard allows it; DSQL rules may still refuse what DSQL itself refuses (SET TRANSACTION).
    if let Err(f) = run(Tool::ReadonlyQuery, false, RulesMode::Off, &[s], None) {
        panic!("read-only mode refused {s:?}: {f}");
    }
    if let Err(f) = ro(s) {
        assert!(f.rule.starts_with("dsql."), "{s:?}: {f}");
    }
    if let Err(f) = run(Tool::Transact, true, RulesMode::Off, &[s], None) {
        panic!("write mode refused read {s:?}: {f}");
    }
}

fn assert_rw_allowed(s: &str) {
    if let Err(f) = rw(s) {
        panic!("write mode refused {s:?}: {f}");
    }
}

#[test]
fn corpus_read_only_rejects_writes_sessions_statements() {
    for s in RO_REJECT_WRITES.iter().chain(RO_REJECT_SESSION).chain(RO_REJECT_STATEMENTS) {
        assert_ro_refused(s);
    }
}

#[test]
fn corpus_transaction_control_stacked_dangerous_and_bypass_refused_in_both_modes() {
    // Session changes among the bypass attempts are read-only refusals only (write mode may SET search_path).
    let session = |s: &&&str| s.contains("SET") || s.contains("search_path");
    for s in TXN_CONTROL.iter().chain(STACKED).chain(DANGEROUS).chain(BYPASS.iter().filter(|s| !session(s))) {
        assert_both_refused(s);
    }
    for s in BYPASS {
        assert_ro_refused(s);
    }
    // a second, injected list item
    let e = run(
        Tool::Transact,
        true,
        RulesMode::Enforce,
        &["UPDATE t SET v = 1 WHERE id = 2", "COMMIT", "UPDATE t SET value = 1"],
        None,
    )
    .unwrap_err();
    assert_eq!(e.rule, "safety.transaction_control");
    assert_eq!(e.statement_index, Some(1));
}

#[test]
fn corpus_read_only_allows_reads() {
    for s in RO_ALLOW {
        assert_ro_allowed(s);
    }
}

#[test]
fn corpus_malformed_input_is_a_clear_error_in_both_modes() {
    for s in MALFORMED {
        let e = ro(s).unwrap_err();
        assert!(e.rule.starts_with("input."), "{s:?}: {e}");
        assert!(rw(s).is_err());
    }
    assert_eq!(ro("").unwrap_err().rule, "input.empty");
    assert_eq!(ro("-- c\n").unwrap_err().rule, "input.empty");
}

#[test]
fn corpus_write_mode_allows_and_rejects() {
    for s in RW_ALLOW {
        assert_rw_allowed(s);
    }
    for s in RW_MALFORMED {
        let e = rw(s).unwrap_err();
        assert!(e.rule.starts_with("input."), "{s:?}: {e}");
    }
    // DSQL refuses these; with --rules enforce they stop before anything is sent.
    for s in
        ["CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$", "CREATE PROCEDURE p() AS $$ SELECT 1 $$ LANGUAGE sql"]
    {
        assert!(rw(s).is_err(), "{s}");
    }
    let e = rw("TRUNCATE TABLE staging").unwrap_err();
    assert_eq!(e.message, "unsupported statement: Truncate");
    assert!(e.fix.contains("DELETE"), "{e}");
}

#[test]
fn tautology_in_update_is_a_warning_not_a_refusal() {
    let c = rw("UPDATE entities SET status = 'x' WHERE tenant_id = 'y' OR 1=1").unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].rule, "write.tautology_predicate");
    assert!(rw("DELETE FROM t WHERE a = 1 AND b = 2").unwrap().warnings.is_empty());
}

#[test]
fn placeholders_follow_the_corpus_but_not_inside_literals() {
    let p = |s: &str, n: usize| run(Tool::ReadonlyQuery, false, RulesMode::Enforce, &[s], Some(n));
    assert_eq!(
        p("SELECT * FROM t WHERE tenant_id = %s", 1).unwrap().statements[0].text,
        "SELECT * FROM t WHERE tenant_id = $1"
    );
    assert!(p("SELECT * FROM t WHERE a = %b AND b = %t", 2).is_ok());
    assert_eq!(p("SELECT 10 %% 3", 0).unwrap().statements[0].text, "SELECT 10 % 3");
    assert!(p("SELECT %s -- progress 100%", 1).is_ok());
    assert!(p("SELECT %s", 0).unwrap_err().message.contains("1 placeholder(s) but 0"));
    assert!(p("SELECT 1", 1).unwrap_err().message.contains("0 placeholder(s) but 1"));
    // psycopg would count the markers in the literal and the comment; we do not.
    assert_eq!(
        p("SELECT '%s', id FROM t WHERE id = %s -- %s", 1).unwrap().statements[0].text,
        "SELECT '%s', id FROM t WHERE id = $1 -- %s"
    );
    assert!(p("SELECT 1 % q", 0).unwrap_err().message.contains("invalid placeholder"));
    assert!(ro("SELECT 10 % sqrt(4)").is_ok());
    assert_eq!(ro("SELECT 1%setseed(0.5)").unwrap_err().rule, "read_only.function");
    assert_eq!(ro("SELECT * FROM t WHERE x = %s").unwrap_err().rule, "input.parse_error");
    assert_eq!(p("SELECT $1 FROM t WHERE id = $2", 2).unwrap().statements[0].param_count, 2);
}

#[test]
fn prepared_statement_metadata() {
    let c = rw("WITH d AS (SELECT 1 AS a) INSERT INTO app.t SELECT a FROM d").unwrap();
    let s = &c.statements[0];
    assert_eq!(s.command, "INSERT");
    assert_eq!(s.class, sql::StatementClass::Dml);
    assert_eq!(s.tables, vec!["app.t".to_string()]);
    let c = ro("SELECT * FROM Users u JOIN \"Orders\" o ON o.uid = u.id, generate_series(1, 3)").unwrap();
    assert_eq!(c.statements[0].tables, vec!["users".to_string(), "orders".to_string()]);
    assert_eq!(c.statements[0].class, sql::StatementClass::Read);
    assert_eq!(rw("CREATE INDEX ASYNC i ON t (a)").unwrap().statements[0].command, "CREATE INDEX");
    assert_eq!(rw("CREATE INDEX ASYNC i ON t (a)").unwrap().statements[0].class, sql::StatementClass::Ddl);
    assert_eq!(ro("EXPLAIN SELECT 1").unwrap().statements[0].command, "EXPLAIN");
    assert_eq!(
        rw("ALTER TABLE async ADD COLUMN value int").unwrap().statements[0].text,
        "ALTER TABLE async ADD COLUMN value int"
    );
}

#[test]
fn read_only_guard_walks_nested_statements() {
    for s in [
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "WITH d AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM d",
        "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
        "EXPLAIN ANALYZE EXECUTE p",
        "EXPLAIN (ANALYZE) DELETE FROM t",
        "EXPLAIN (ANALYZE 'on') UPDATE t SET a = 1",
        "SELECT * FROM (SELECT nextval('s')) x",
        "SELECT * FROM lo_import('/etc/passwd')",
        "SELECT a FROM t UNION SELECT b INTO x FROM u",
    ] {
        assert_ro_refused(s);
    }
    assert_ro_allowed("EXPLAIN UPDATE t SET a = 1");
}

#[test]
fn dangerous_function_in_sql_function_body_is_refused() {
    let e = rw("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT pg_sleep(100) $$").unwrap_err();
    assert_eq!(e.rule, "safety.dangerous_function");
    let e = rw("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT U&\"pg_sl\\0065ep\"(1)'").unwrap_err();
    assert_eq!(e.rule, "safety.dangerous_function");
}

fn dsql_refusal(s: &str, id: &str, sqlstate: &str, message: Option<&str>) {
    let e = rw(s).unwrap_err();
    assert!(e.rule.starts_with(&format!("dsql.{id}.")), "{s}: {e}");
    assert_eq!(e.sqlstate.as_deref(), Some(sqlstate), "{s}: {e}");
    if let Some(m) = message {
        assert_eq!(e.message, m, "{s}");
    }
    // --rules warn: the same finding comes back as a warning; --rules off: nothing.
    let w = run(Tool::Transact, true, RulesMode::Warn, &[s], None).unwrap();
    assert!(w.warnings.iter().any(|f| f.rule == e.rule && f.severity == sql::Severity::Warning), "{s}");
    assert!(run(Tool::Transact, true, RulesMode::Off, &[s], None).unwrap().warnings.is_empty(), "{s}");
}

#[test]
fn each_dsql_rule_refuses_and_accepts_its_neighbour() {
    let cases: &[(&str, &str, &str, &str, Option<&str>)] = &[
        (
            "TRUNCATE t",
            "DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 3000)",
            "R01",
            "0A000",
            Some("unsupported statement: Truncate"),
        ),
        (
            "CREATE EXTENSION pgcrypto",
            "SELECT gen_random_uuid()",
            "R02",
            "0A000",
            Some("unsupported statement: CreateExtension"),
        ),
        ("CREATE TEMP TABLE x (id int PRIMARY KEY)", "CREATE TABLE x (id int PRIMARY KEY)", "R05", "0A000", None),
        ("CREATE MATERIALIZED VIEW mv AS SELECT 1", "CREATE VIEW v AS SELECT 1", "R08", "0A000", None),
        ("CREATE TABLE c AS SELECT * FROM t", "CREATE TABLE c (id int PRIMARY KEY)", "R09", "0A000", None),
        (
            "SELECT * INTO newtab FROM t",
            "SELECT * FROM t",
            "R09",
            "0A000",
            Some("unsupported statement: CreateTableAs"),
        ),
        ("CREATE TYPE mood AS ENUM ('a')", "CREATE DOMAIN mood AS text CHECK (VALUE IN ('a'))", "R10", "0A000", None),
        ("VACUUM t", "ANALYZE t", "R12", "0A000", Some("unsupported VACUUM statement")),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
            "R15",
            "0A000",
            None,
        ),
        (
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
            "INSERT INTO t (id, v) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
            "R17",
            "0A000",
            None,
        ),
        ("SELECT * FROM t TABLESAMPLE SYSTEM (1)", "SELECT * FROM t ORDER BY random() LIMIT 10", "R28", "0A000", None),
        (
            "SHOW lc_collate",
            "SHOW search_path",
            "R30",
            "42704",
            Some("unrecognized configuration parameter \"lc_collate\""),
        ),
        (
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SELECT 1",
            "T03",
            "0A000",
            Some("Unsupported isolation level: SERIALIZABLE"),
        ),
        ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SELECT 1", "T04", "0A000", None),
        (
            "SELECT * FROM t FOR SHARE",
            "SELECT * FROM t FOR KEY SHARE",
            "T12",
            "0A000",
            Some("locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"),
        ),
        (
            "CREATE TABLE t (v money)",
            "CREATE TABLE t (v numeric(12,2))",
            "Y02",
            "0A000",
            Some("datatype money not supported"),
        ),
        ("CREATE TABLE t (tags text[])", "CREATE TABLE t (tags jsonb)", "Y03", "0A000", None),
        (
            "CREATE TABLE t (id serial PRIMARY KEY)",
            "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1) PRIMARY KEY)",
            "Y04",
            "42704",
            None,
        ),
        (
            "CREATE SEQUENCE s",
            "CREATE SEQUENCE s CACHE 1",
            "Q01",
            "0A000",
            Some(
                "CREATE SEQUENCE is not supported without an explicit cache size. please define CACHE greater than or equal to 65536 or equal to 1",
            ),
        ),
        ("CREATE SEQUENCE s CACHE 100", "CREATE SEQUENCE s CACHE 65536", "Q01", "0A000", None),
        (
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)",
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 65536) PRIMARY KEY)",
            "Q03",
            "0A000",
            Some(
                "identity column is not supported without an explicit cache size. please define CACHE greater than or equal to 65536 or equal to 1",
            ),
        ),
        (
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 2) PRIMARY KEY)",
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY)",
            "Q03",
            "0A000",
            None,
        ),
        (
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0",
            "ALTER TABLE t ADD COLUMN c int",
            "Q05",
            "0A000",
            Some("ALTER TABLE ADD COLUMN with constraint not supported"),
        ),
        (
            "CREATE INDEX idx ON t (a)",
            "CREATE INDEX ASYNC idx ON t (a)",
            "X01",
            "0A000",
            Some("unsupported mode. please use CREATE INDEX ASYNC."),
        ),
        (
            "SELECT sys.wait_for_job('abc')",
            "CALL sys.wait_for_job('abc')",
            "X10",
            "42809",
            Some("sys.wait_for_job(text) is a procedure"),
        ),
        (
            "CALL sys.wait_for_job((SELECT max(job_id) FROM sys.jobs))",
            "CALL sys.wait_for_job('abc')",
            "X10",
            "0A000",
            Some("cannot use subquery in CALL argument"),
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY (id)",
            "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0) NOT VALID",
            "CT03",
            "0A000",
            None,
        ),
        (
            "ALTER TABLE t ALTER COLUMN c TYPE bigint",
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 0",
            "A01",
            "0A000",
            None,
        ),
        ("ALTER TABLE t VALIDATE CONSTRAINT c", "ALTER TABLE ASYNC t VALIDATE CONSTRAINT c", "A03", "0A000", None),
    ];
    for (bad, good, id, state, msg) in cases {
        dsql_refusal(bad, id, state, *msg);
        assert_rw_allowed(good);
    }
    let e = rw("CREATE INDEX idx ON t (a)").unwrap_err();
    assert!(
        e.fix.contains("CREATE INDEX ASYNC idx ON t") && e.fix.contains("CALL sys.wait_for_job('<job_id>')"),
        "{e}"
    );
    // catalog over dsql-lint: supported since 2026 releases
    for s in [
        "CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES p(id))",
        "CREATE TABLE j (id int PRIMARY KEY, doc jsonb, d json)",
        "ALTER TABLE t DROP COLUMN c",
        "CREATE INDEX ASYNC i ON t ((lower(name)))",
        "CREATE UNIQUE INDEX ASYNC IF NOT EXISTS i ON t (a, (lower(b))) INCLUDE (c) WHERE a > 0",
        "CREATE TABLE n (x numeric(1000, 0))",
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES p(id) NOT VALID",
    ] {
        assert_rw_allowed(s);
    }
    // Q06: evidence conflicts (current docs list it as supported), so never a refusal
    let c = rw("ALTER TABLE t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (CACHE 65536)").unwrap();
    assert!(c.warnings.iter().all(|w| w.rule.starts_with("dsql.Q06.")), "{:?}", c.warnings);
}

#[test]
fn transaction_rules_over_the_list() {
    let t = |l: &[&str]| run(Tool::Transact, true, RulesMode::Enforce, l, None);
    let e = t(&["CREATE TABLE a (id int PRIMARY KEY)", "CREATE INDEX ASYNC i ON a (id)"]).unwrap_err();
    assert_eq!(
        (e.rule.as_str(), e.sqlstate.as_deref(), e.statement_index),
        ("dsql.T01.multiple_ddl", Some("0A000"), Some(1))
    );
    assert_eq!(e.message, "multiple ddl statements not supported in a transaction");
    let e = t(&["CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a VALUES (1)"]).unwrap_err();
    assert_eq!(e.message, "ddl and dml are not supported in the same transaction");
    assert!(t(&["INSERT INTO a VALUES (1)", "UPDATE a SET id = 2", "SELECT 1"]).is_ok());
    assert!(t(&["CREATE TABLE a (id int PRIMARY KEY)", "SELECT 1"]).is_ok());
    let rows = |n: usize| format!("INSERT INTO a VALUES {}", vec!["(1)"; n].join(","));
    let (r3000, r3001, r2000) = (rows(3000), rows(3001), rows(2000));
    assert!(t(&[&r3000]).is_ok());
    let e = t(&[&r3001]).unwrap_err();
    assert_eq!((e.sqlstate.as_deref(), e.message.as_str()), (Some("54000"), "transaction row limit exceeded"));
    assert!(e.fix.contains("3000"), "{e}");
    assert!(t(&[&r2000, &r2000]).is_err());
    // warn mode keeps them as warnings
    let w = run(
        Tool::Transact,
        true,
        RulesMode::Warn,
        &["CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a VALUES (1)"],
        None,
    )
    .unwrap();
    assert!(w.warnings.iter().any(|f| f.rule == "dsql.T02.ddl_dml_mix"));
    // the guard is not affected by --rules
    assert!(run(Tool::Transact, true, RulesMode::Off, &["COMMIT"], None).is_err());
    assert!(run(Tool::ReadonlyQuery, false, RulesMode::Off, &["DELETE FROM t"], None).is_err());
}

#[test]
fn tenant_scoping_on_and_off() {
    let tables: HashSet<String> = ["orders", "app.orders"].iter().map(|s| s.to_string()).collect();
    let tables = sql::TenantCatalog::from(tables);
    let pol = Policy {
        allow_writes: true,
        rules: RulesMode::Enforce,
        tenant_column: Some("tenant_id".into()),
        ..Policy::default()
    };
    let chk =
        |s: &str| sql::check(Tool::Transact, &[StatementInput { sql: s, param_count: None }], &pol, Some(&tables));
    let chkp = |s: &str, n| {
        sql::check(Tool::Transact, &[StatementInput { sql: s, param_count: Some(n) }], &pol, Some(&tables))
    };
    for ok in [
        "SELECT * FROM orders WHERE tenant_id = 'acme'",
        "SELECT * FROM orders o WHERE o.tenant_id = 'acme' AND o.total > 5",
        "SELECT * FROM users",
        "UPDATE orders SET total = 1 WHERE tenant_id = 'a' AND id = 2",
        "DELETE FROM app.orders WHERE 'a' = tenant_id",
        "INSERT INTO orders (id, tenant_id) VALUES (1, 'a'), (2, 'a')",
        "SELECT u.name FROM users u JOIN orders o ON o.user_id = u.id AND o.tenant_id = 'a'",
    ] {
        assert!(chk(ok).is_ok(), "{ok}: {:?}", chk(ok));
    }
    assert!(chkp("SELECT * FROM orders WHERE tenant_id = %s", 1).is_ok());
    assert!(chkp("SELECT * FROM orders WHERE tenant_id = $1::text", 1).is_ok());
    for bad in [
        "SELECT * FROM orders",
        "SELECT * FROM orders WHERE tenant_id = 'a' OR 1 = 1",
        "SELECT * FROM orders WHERE tenant_id IS NOT NULL",
        "SELECT * FROM users WHERE id IN (SELECT user_id FROM orders)",
        "UPDATE orders SET total = 1 WHERE id = 2",
        "DELETE FROM app.orders",
        "INSERT INTO orders (id) VALUES (1)",
        "INSERT INTO orders VALUES (1, 'a')",
        "INSERT INTO orders (id, tenant_id) VALUES (1, 'a'), (2, NULL)",
        "COPY orders TO STDOUT",
    ] {
        let e = chk(bad).unwrap_err();
        assert_eq!(e.rule, "tenant.unscoped", "{bad}");
        assert!(e.message.contains("orders"), "{bad}: {e}");
    }
    // off: no constraint needed
    assert!(rw("SELECT * FROM orders").is_ok());
    // on without the table list: fail closed
    assert_eq!(
        sql::check(Tool::Transact, &[StatementInput { sql: "SELECT 1", param_count: None }], &pol, None)
            .unwrap_err()
            .rule,
        "tenant.unavailable"
    );
}

#[test]
fn evasion_attempts() {
    for s in [
        "SELECT U&\"pg_sl\\0065ep\"(1)",
        "SELECT U&\"\\0070g_sleep\"(1)",
        "SELECT U&\"pg_sleep\" (1)",
        "SELECT U&\"pg_sl#0065ep\" UESCAPE '#' (1)",
        "SELECT U&\"pg_sl#0065ep\" /* c */ UESCAPE /* c */ '#' (1)",
        "SELECT U&\"pg_catalog\".U&\"pg_sl\\+000065ep\"(1)",
        "SELECT/* /* nested */ */pg_sleep(1)",
        "SELECT 1 --\r, pg_sleep(1)",
        "SELECT 'a\\', pg_sleep(1) --'",
        "SELECT E'a\\\\', pg_sleep(1) --'",
        "SELECT $a$ $$ $a$, pg_sleep(1)",
        "SELECT\tpg_sleep(1)",
        "SELECT\x0cpg_sleep(1)",
        "SELECT\x0bpg_sleep(1)",
        "SELECT\u{a0}pg_sleep(1)",
        "SELECT\u{2003}pg_sleep(1)",
        "SELECT PG_SLEEP(1)",
        "SELECT \"pg_catalog\".\"pg_sleep\"(1)",
        "SELECT * FROM pg_sleep(1)",
        "SELECT (SELECT pg_sleep(1))",
        "SELECT 1 WHERE EXISTS (SELECT pg_advisory_lock(1))",
        "SELECT U&'\\0027', pg_sleep(1)",
        "SELECT U&\"x\\0022\" \"(1)",
    ] {
        let e = ro(s).err().unwrap_or_else(|| panic!("accepted {s:?}"));
        assert!(!e.rule.starts_with("dsql."), "{s:?}: {e}");
        assert!(rw(s).is_err(), "write mode accepted {s:?}");
    }
    // decoded U& text is what gets sent
    assert_eq!(ro("SELECT U&\"d\\0061t\\+000061\" FROM t").unwrap().statements[0].text, "SELECT \"data\" FROM t");
    assert!(ro("SELECT U&\"d!0061t!0061\" UESCAPE '!' FROM t").is_ok());
    assert!(ro("SELECT 'données' AS \"naïve\", élan FROM t").is_ok());
}

#[test]
fn findings_display_as_one_actionable_paragraph() {
    let e = run(Tool::Transact, true, RulesMode::Enforce, &["SELECT 1", "CREATE INDEX i ON t (a)"], None).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("[dsql.X01.index_async] 0A000: unsupported mode. please use CREATE INDEX ASYNC. Fix: "),
        "{s}"
    );
    assert!(s.contains("(statement sql_list[1])"), "{s}");
}

#[test]
fn rules_mode_parses_and_prints() {
    for m in ["enforce", "warn", "off"] {
        assert_eq!(m.parse::<RulesMode>().unwrap().to_string(), m);
    }
    assert!("strict".parse::<RulesMode>().is_err());
}

/// Deterministic xorshift generator: no external crates, same inputs every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

#[test]
fn fuzz_never_panics() {
    const FRAGMENTS: &[&str] = &[
        "SELECT",
        " ",
        "*",
        "FROM",
        "t",
        "WHERE",
        "(",
        ")",
        "'",
        "\"",
        "$$",
        "$a$",
        "--",
        "/*",
        "*/",
        "U&",
        "\\0065",
        "UESCAPE",
        "E'",
        ";",
        ",",
        "%s",
        "%%",
        "%",
        "$1",
        "pg_sleep",
        "INSERT INTO",
        "VALUES",
        "WITH",
        "AS",
        "CREATE INDEX",
        "ASYNC",
        "ON",
        "ALTER TABLE",
        "async",
        "ADD COLUMN",
        "DO",
        "TABLE",
        "\n",
        "\r",
        "\u{a0}",
        "é",
        "0",
        "::",
        "OR 1=1",
        "UNION",
        "CALL",
        "sys.wait_for_job",
        "COPY",
        "PROGRAM",
        "SET",
        "row_security",
        "EXPLAIN",
        "ANALYZE",
        "INTO",
        "x",
        "\0",
        "ALL",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let tables = sql::TenantCatalog::from(["t".to_string()].into_iter().collect::<HashSet<String>>());
    for i in 0..4000 {
        let n = 1 + (rng.next() % 24) as usize;
        let mut s = String::new();
        for _ in 0..n {
            if rng.next().is_multiple_of(10) {
                let b = (rng.next() % 128) as u8;
                s.push(b as char);
            } else {
                s.push_str(rng.pick(FRAGMENTS));
            }
        }
        let params = if i % 3 == 0 { Some((rng.next() % 3) as usize) } else { None };
        let writes = i % 2 == 0;
        let pol = Policy {
            allow_writes: writes,
            rules: [RulesMode::Enforce, RulesMode::Warn, RulesMode::Off][i % 3],
            tenant_column: (i % 5 == 0).then(|| "tenant_id".to_string()),
            dsql_version: if i % 4 == 0 { "2026-02-01".parse().unwrap() } else { Default::default() },
        };
        let _ = sql::check(Tool::Transact, &[StatementInput { sql: &s, param_count: params }], &pol, Some(&tables));
        let _ = sql::lint::run(&s, i % 2 == 0, if i % 7 == 0 { "mysql" } else { "postgres" });
    }
}

#[test]
fn pathological_nesting_is_an_error_not_a_stack_overflow() {
    // A normal-sized thread stack, as the server's worker threads have.
    let h = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let deep = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
            let e = ro(&deep).unwrap_err();
            // Measured on the tokens before parsing (src/sql/depth.rs), so the parser's own limit is not reached.
            assert_eq!(e.rule, "input.too_deep");
            let deep_sub = format!("SELECT * FROM {}t{}", "(SELECT * FROM ".repeat(2000), ")".repeat(2000));
            assert!(ro(&deep_sub).is_err());
            let _ = sql::lint::run(&deep, false, "postgres");
            let not = format!("SELECT {} 1", "NOT ".repeat(10_000));
            assert!(ro(&not).is_err());
            let opens = "(".repeat(100_000);
            assert!(ro(&opens).is_err());
        })
        .unwrap();
    h.join().unwrap();
}
