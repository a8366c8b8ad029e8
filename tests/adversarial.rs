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
