//! Holes found by the adversarial pass of 2026-12-07 (an agent talked into harm, trying to get past the safety
//! checks through the real binary on the local sandbox), each with the database's state checked on a connection of
//! its own. What the pass tried and what held is listed in docs/security.md.

mod common;

use common::{Server, count, table};
use serde_json::json;

/// A write-mode server on the shared sandbox whose client cannot answer questions.
fn server(extra: &[&str]) -> Server {
    let dir = format!("--local={}", common::sandbox_dir().display());
    let mut args = vec![dir.as_str(), "--allow-writes"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A call of a function that is not a built-in, stored in a view, a column default or a check, runs later
/// inside statements that are proven harmless by their own text (`SELECT * FROM v`, a plain INSERT), which are never
/// measured. Storing it must be asked about, as a function body calling one is; with `refuse`, it is refused.
#[test]
fn storing_a_call_of_a_user_function_for_later_is_asked_about() {
    // Set up outside the agent's reach: a table with rows, and a function that deletes them.
    let mut admin = server(&["--confirm-destructive", "allow", "--rules", "off"]);
    let victim = table("adv_victim");
    let wipe = table("adv_wipe");
    let empty = table("adv_empty");
    admin.ok("transact", json!({"sql_list": [format!("CREATE TABLE {victim} (id int PRIMARY KEY)")]}));
    admin.ok("transact", json!({"sql_list": [format!("INSERT INTO {victim} VALUES (1), (2), (3), (4)")]}));
    admin.ok(
        "transact",
        json!({"sql_list": [format!(
            "CREATE FUNCTION {wipe}() RETURNS int LANGUAGE sql AS $$ DELETE FROM {victim} RETURNING 1 $$")]}),
    );
    admin.ok("transact", json!({"sql_list": [format!("CREATE TABLE {empty} (id int PRIMARY KEY)")]}));

    let mut agent = server(&["--confirm-destructive", "refuse", "--rules", "off"]);
    let view = table("adv_view");
    let with_default = table("adv_default");
    for (sql, object) in [
        (format!("CREATE VIEW {view} AS SELECT {wipe}() AS n"), view.clone()),
        (format!("CREATE TABLE {with_default} (id int PRIMARY KEY, n int DEFAULT {wipe}())"), with_default.clone()),
        (format!("ALTER TABLE {empty} ADD CONSTRAINT {empty}_c CHECK ({wipe}() > 0)"), format!("{empty}_c")),
    ] {
        let e = agent.err("transact", json!({"sql_list": [sql.clone()]}));
        assert!(e.contains("Refused") && e.contains("stores"), "{sql}: {e}");
        let found = format!(
            "SELECT (SELECT count(*) FROM pg_class WHERE relname = '{object}') \
             + (SELECT count(*) FROM pg_constraint WHERE conname = '{object}') AS n"
        );
        assert_eq!(count(&mut admin, &found), 0, "{sql}");
    }
    let e =
        agent.err("transact", json!({"sql_list": [format!("ALTER TABLE {empty} ADD COLUMN n int DEFAULT {wipe}()")]}));
    assert!(e.contains("Refused") && e.contains("stores"), "{e}");
    assert_eq!(
        count(
            &mut admin,
            &format!(
                "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = '{empty}' AND column_name = 'n'"
            )
        ),
        0
    );
    // What those would have made possible: the later read or INSERT deletes rows without a question.
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM {victim}")), 4);
    // Built-ins stored for later are harmless and not asked about.
    agent.ok(
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {with_default} (id int PRIMARY KEY, at timestamptz DEFAULT now())")]}),
    );
}

/// PostgreSQL reads `EXPLAIN (ANALYSE)` as `EXPLAIN (ANALYZE)`: it runs the statement. The read-only guard took it
/// for a plan only; the READ ONLY transaction still stopped the write, but the refusal must be the guard's own
/// (before anything is sent), and the confirmation classifier must see a write.
#[test]
fn explain_with_the_british_analyse_is_an_analyze() {
    let mut s = server(&["--rules", "off"]);
    let t = table("adv_analyse");
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
    for sql in [
        format!("EXPLAIN (ANALYSE) INSERT INTO {t} VALUES (1)"),
        format!("EXPLAIN (analyse true, costs off) DELETE FROM {t}"),
    ] {
        let e = s.err("readonly_query", json!({"sql": sql.clone()}));
        assert!(e.contains("EXPLAIN ANALYZE runs the statement"), "{sql}: {e}");
    }
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 0);
    // Planned only, it stays allowed.
    s.ok("readonly_query", json!({"sql": format!("EXPLAIN (ANALYSE false) INSERT INTO {t} VALUES (1)")}));
}

/// `SELECT count(*) AS n` of the per-role settings stored for `role`.
fn role_settings(s: &mut Server, role: &str) -> i64 {
    count(
        s,
        &format!(
            "SELECT count(*) AS n FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
             WHERE r.rolname = '{role}'"
        ),
    )
}

/// `ALTER ROLE … SET` changes every later session of the role (`statement_timeout = '1ms'` breaks them all), and
/// no measurement of rows or catalog objects shows it. DSQL refuses it (catalog R25): the rule checker refuses it
/// with DSQL's SQLSTATE; with the rules off it is asked about whatever the run shows. `ALTER DATABASE … SET` never
/// parses and is refused in every mode (R04).
#[test]
fn role_and_database_settings_are_refused_or_asked_about() {
    let mut admin = server(&["--confirm-destructive", "allow", "--rules", "off"]);
    let role = table("adv_role");
    admin.ok("transact", json!({"sql_list": [format!("CREATE ROLE {role}")]}));
    let statements = [
        format!("ALTER ROLE {role} SET statement_timeout = '1ms'"),
        format!("ALTER ROLE {role} IN DATABASE postgres SET work_mem = '64kB'"),
        format!("ALTER USER {role} SET search_path = nowhere"),
        format!("ALTER ROLE {role} RESET statement_timeout"),
        format!("ALTER ROLE {role} RESET ALL"),
    ];
    let mut enforcing = server(&["--confirm-destructive", "allow"]);
    for sql in &statements {
        let e = enforcing.err("transact", json!({"sql_list": [sql]}));
        assert!(e.contains("0A000") && e.contains("R25"), "{sql}: {e}");
    }
    let mut refusing = server(&["--confirm-destructive", "refuse", "--rules", "off"]);
    for sql in &statements {
        let e = refusing.err("transact", json!({"sql_list": [sql]}));
        assert!(e.contains("Refused") && e.contains("every later session"), "{sql}: {e}");
    }
    assert_eq!(role_settings(&mut admin, &role), 0);
    for mut s in [enforcing, refusing] {
        let e = s.err("transact", json!({"sql_list": ["ALTER DATABASE postgres SET statement_timeout = '1ms'"]}));
        assert!(e.contains("0A000") && e.contains("R04"), "{e}");
    }
    assert_eq!(count(&mut admin, "SELECT count(*) AS n FROM pg_db_role_setting WHERE setrole = 0"), 0);
}

/// `GRANT` and `REVOKE` change who may do what; no measurement of rows or catalog objects shows that, so they are
/// asked about whatever the run shows (refused under `refuse`), and DSQL allows them (catalog R25), so the rule
/// checker lets them through.
#[test]
fn grants_and_revokes_are_asked_about() {
    let mut admin = server(&["--confirm-destructive", "allow", "--rules", "off"]);
    let role = table("adv_grantee");
    let t = table("adv_granted");
    admin.ok("transact", json!({"sql_list": [format!("CREATE ROLE {role}")]}));
    admin.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
    admin.ok("transact", json!({"sql_list": [format!("GRANT UPDATE ON {t} TO {role}")]}));
    let privileges = format!(
        "SELECT (has_table_privilege('{role}', '{t}', 'SELECT'))::int + 2 * (has_table_privilege('{role}', '{t}', 'UPDATE'))::int AS n"
    );
    assert_eq!(count(&mut admin, &privileges), 2);
    let mut agent = server(&["--confirm-destructive", "refuse"]);
    for sql in [
        format!("GRANT SELECT ON {t} TO {role}"),
        format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE ON {t} FROM {role}"),
    ] {
        let e = agent.err("transact", json!({"sql_list": [sql.clone()]}));
        assert!(e.contains("Refused") && e.contains("who may do what"), "{sql}: {e}");
    }
    // Granting a role is not read by the parser: refused before anything is sent, in every mode.
    agent.err("transact", json!({"sql_list": [format!("GRANT admin TO {role}")]}));
    // A role created as a member of another gets its privileges.
    let member = table("adv_member");
    let e = agent.err("transact", json!({"sql_list": [format!("CREATE ROLE {member} IN ROLE admin")]}));
    assert!(e.contains("Refused") && e.contains("who may do what"), "{e}");
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM pg_roles WHERE rolname = '{member}'")), 0);
    agent.ok("transact", json!({"sql_list": [format!("CREATE ROLE {member}")]}));
    assert_eq!(count(&mut admin, &privileges), 2, "nothing was granted or revoked");
    assert_eq!(count(&mut admin, &format!("SELECT pg_has_role('{role}', 'admin', 'MEMBER')::int AS n")), 0);
}

/// `CREATE OR REPLACE FUNCTION` / `VIEW` can replace code that already runs inside harmless-looking statements
/// (a view that hid rows, a function a default calls) with code that does something else; the catalog snapshot
/// compares objects, not their code. Any OR REPLACE is asked about (refused under `refuse`), whatever it replaces.
#[test]
fn replacing_code_is_asked_about() {
    let mut admin = server(&["--confirm-destructive", "allow", "--rules", "off"]);
    let f = table("adv_replaced_f");
    let v = table("adv_replaced_v");
    admin.ok(
        "transact",
        json!({"sql_list": [format!("CREATE FUNCTION {f}() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")]}),
    );
    admin.ok("transact", json!({"sql_list": [format!("CREATE VIEW {v} AS SELECT 1 AS n")]}));
    let mut agent = server(&["--confirm-destructive", "refuse", "--rules", "off"]);
    for sql in [
        format!("CREATE OR REPLACE FUNCTION {f}() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$"),
        format!("CREATE OR REPLACE VIEW {v} AS SELECT 2 AS n"),
    ] {
        let e = agent.err("transact", json!({"sql_list": [sql.clone()]}));
        assert!(e.contains("Refused") && e.contains("replaces"), "{sql}: {e}");
    }
    assert_eq!(count(&mut admin, &format!("SELECT {f}() AS n")), 1);
    assert_eq!(count(&mut admin, &format!("SELECT n FROM {v}")), 1);
    // Creating code without OR REPLACE stays harmless.
    agent.ok(
        "transact",
        json!({"sql_list": [format!("CREATE FUNCTION {f}_new() RETURNS int LANGUAGE sql AS $$ SELECT 3 $$")]}),
    );
}

/// Owners, row-level security, policies and a function's settings also decide who may do what, and the catalog
/// snapshot does not compare them: each is asked about whatever the run shows (here refused under `refuse`, with
/// the rules off, as DSQL itself refuses policies and function properties).
#[test]
fn owners_row_security_policies_and_function_settings_are_asked_about() {
    let mut admin = server(&["--confirm-destructive", "allow", "--rules", "off"]);
    let t = table("adv_rls");
    let f = table("adv_fn_settings");
    admin.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
    admin.ok("transact", json!({"sql_list": [format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")]}));
    admin.ok("transact", json!({"sql_list": [format!("CREATE POLICY {t}_p ON {t} USING (id > 0)")]}));
    admin.ok(
        "transact",
        json!({"sql_list": [format!("CREATE FUNCTION {f}() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")]}),
    );
    let mut agent = server(&["--confirm-destructive", "refuse", "--rules", "off"]);
    for sql in [
        format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"),
        format!("DROP POLICY {t}_p ON {t}"),
        format!("ALTER POLICY {t}_p ON {t} USING (true)"),
        format!("ALTER FUNCTION {f}() SET search_path = pg_temp"),
        format!("ALTER FUNCTION {f}() SECURITY DEFINER"),
    ] {
        let e = agent.err("transact", json!({"sql_list": [sql.clone()]}));
        assert!(e.contains("Refused") && (e.contains("who may") || e.contains("every later call")), "{sql}: {e}");
    }
    let state = format!(
        "SELECT (SELECT relrowsecurity::int FROM pg_class WHERE relname = '{t}') \
         + 2 * (SELECT count(*) FROM pg_policy WHERE polname = '{t}_p' AND pg_get_expr(polqual, polrelid) = '(id > 0)') \
         + 4 * (SELECT count(*) FROM pg_proc WHERE proname = '{f}' AND proconfig IS NULL AND NOT prosecdef) AS n"
    );
    assert_eq!(count(&mut admin, &state), 7, "nothing changed");
}
