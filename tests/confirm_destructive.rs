//! Confirmation before destroying data (`--confirm-destructive`), through the real binary on the local sandbox:
//! a 2025 client that answers `elicitation/create` (accepts, declines), one that cannot be asked, the `refuse` and
//! `allow` policies, and a 2026-07-28 client answering an `input_required` result.

mod common;

use common::modern_transact as modern;
use common::{Server, count, table, text};
use serde_json::{Value, json};

/// A write-mode server on the shared sandbox whose client can (or cannot) answer form elicitations.
fn server(elicits: bool, extra: &[&str]) -> Server {
    let dir = format!("--local={}", common::sandbox_dir().display());
    let mut args = vec![dir.as_str(), "--allow-writes"];
    args.extend_from_slice(extra);
    let mut s = Server::spawn(&args, &[]);
    let capabilities = if elicits { json!({"elicitation": {"form": {}}}) } else { json!({}) };
    let init = s.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": capabilities,
               "clientInfo": {"name": "confirm-test", "version": "0"}}),
    );
    s.init = init["result"].clone();
    s.notify("notifications/initialized", json!({}));
    s
}

/// A table with `rows` rows.
fn filled(s: &mut Server, rows: usize) -> String {
    let t = table("confirm");
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, v text)")]}));
    if rows == 0 {
        return t;
    }
    let values: Vec<String> = (1..=rows).map(|i| format!("({i}, 'v{i}')")).collect();
    s.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES {}", values.join(", "))]}));
    t
}

fn rows_in(s: &mut Server, t: &str) -> i64 {
    count(s, &format!("SELECT count(*) AS n FROM {t}"))
}

fn exists(s: &mut Server, t: &str) -> bool {
    count(s, &format!("SELECT count(*) AS n FROM pg_class WHERE relname = '{t}'")) == 1
}

/// Starts a call, answers the elicitation it raises with `reply`, and returns (the question, the call's result).
fn call_answering(s: &mut Server, tool: &str, args: Value, reply: Value) -> (Value, Value) {
    let id = s.start_call(tool, args);
    let question = s.wait_for(|m| m["method"] == "elicitation/create");
    s.send_raw(&json!({"jsonrpc": "2.0", "id": question["id"], "result": reply}).to_string());
    let response = s.response(&id);
    (question["params"].clone(), response["result"].clone())
}

#[test]
fn the_user_is_asked_and_a_yes_runs_the_drop() {
    let mut s = server(true, &[]);
    let t = filled(&mut s, 3);
    let (question, result) = call_answering(
        &mut s,
        "transact",
        json!({"sql_list": [format!("DROP TABLE {t}")]}),
        json!({"action": "accept", "content": {"confirm_destructive": true}}),
    );
    let message = question["message"].as_str().unwrap();
    assert!(message.contains(&format!("1. DROP TABLE {t}")), "{message}");
    assert!(message.contains(&format!("drops table public.{t}")), "{message}");
    assert!(
        message.contains(&format!("public.{t} holds 3 rows now")),
        "the question counts the rows at stake: {message}"
    );
    assert_eq!(question["requestedSchema"]["properties"]["confirm_destructive"]["type"], "boolean");
    assert_eq!(result["isError"], false, "{result}");
    assert!(result["structuredContent"].get("confirmation").is_none());
    assert!(!exists(&mut s, &t));
}

#[test]
fn a_no_runs_nothing_and_says_the_user_declined() {
    let mut s = server(true, &[]);
    let t = filled(&mut s, 2);
    for reply in [
        json!({"action": "decline"}),
        json!({"action": "accept", "content": {"confirm_destructive": false}}),
        json!({"action": "cancel"}),
    ] {
        let (question, result) = call_answering(
            &mut s,
            "transact",
            json!({"sql_list": [format!("INSERT INTO {t} VALUES (100, 'x')"), format!("DELETE FROM {t}")]}),
            reply.clone(),
        );
        let message = question["message"].as_str().unwrap();
        assert!(message.contains(&format!("deletes every row of public.{t} (3 rows)")), "{message}");
        // Every statement of the call is shown, not only the one that destroys.
        assert!(message.contains("1. INSERT INTO") && message.contains(&format!("2. DELETE FROM {t}")), "{message}");
        assert_eq!(result["isError"], true, "{reply}: {result}");
        assert!(text(&result).contains("nothing ran"), "{}", text(&result));
        // Neither the DELETE nor the INSERT before it ran.
        assert_eq!(rows_in(&mut s, &t), 2, "{reply}");
    }
}

#[test]
fn statements_that_destroy_nothing_are_not_asked_about() {
    let mut s = server(true, &[]);
    let t = filled(&mut s, 2);
    s.notifications.clear();
    s.ok(
        "transact",
        json!({"sql_list": [format!("DELETE FROM {t} WHERE id = $1"), format!("UPDATE {t} SET v = 'y' WHERE id = 2")],
               "params_list": [[1], null]}),
    );
    assert!(s.notifications.iter().all(|m| m["method"] != "elicitation/create"), "{:?}", s.notifications);
    assert_eq!(rows_in(&mut s, &t), 1);
}

#[test]
fn a_client_that_cannot_ask_gets_the_old_behaviour_with_a_warning() {
    let mut s = server(false, &[]);
    let t = filled(&mut s, 2);
    let r = s.call("transact", json!({"sql_list": [format!("UPDATE {t} SET v = 'same'")]}));
    assert_eq!(r["isError"], false, "{r}");
    let warning = r["structuredContent"]["confirmation"].as_str().expect("a confirmation warning");
    assert!(warning.contains("without the user's confirmation"), "{warning}");
    assert!(warning.contains(&format!("overwrites every row of public.{t} (2 rows)")), "{warning}");
    let notes = r["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect::<Vec<_>>();
    assert!(notes.iter().any(|n| n.starts_with("Warning: this call destroyed data")), "{notes:?}");
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE v = 'same'")), 2);
}

#[test]
fn refuse_stops_what_cannot_be_confirmed_and_allow_never_asks() {
    let mut refusing = server(false, &["--confirm-destructive", "refuse"]);
    let t = filled(&mut refusing, 1);
    let e = refusing.err("transact", json!({"sql_list": [format!("DROP TABLE {t}")]}));
    assert!(e.contains("Refused") && e.contains("--confirm-destructive"), "{e}");
    assert!(exists(&mut refusing, &t));

    let mut allowing = server(true, &["--confirm-destructive", "allow"]);
    allowing.notifications.clear();
    let r = allowing.ok("transact", json!({"sql_list": [format!("DROP TABLE {t}")]}));
    assert!(r.get("confirmation").is_none(), "{r}");
    assert!(allowing.notifications.iter().all(|m| m["method"] != "elicitation/create"));
    assert!(!exists(&mut allowing, &t));
}

/// The per-request `_meta` of a 2026-07-28 client that can (or cannot) answer form elicitations.

#[test]
fn a_2026_client_is_asked_with_an_input_required_result_bound_to_the_arguments() {
    let mut s = server(true, &[]);
    let t = filled(&mut s, 4);
    let other = filled(&mut s, 1);
    let drop_t = json!({"sql_list": [format!("DROP TABLE {t}")]});

    let asked = modern(&mut s, true, drop_t.clone(), None);
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let request = &asked["inputRequests"]["confirm_destructive"];
    assert_eq!(request["method"], "elicitation/create", "{asked}");
    assert!(request["params"]["message"].as_str().unwrap().contains(&format!("public.{t} holds 4 rows")), "{asked}");
    let state = asked["requestState"].clone();
    assert!(state.is_string());
    assert!(exists(&mut s, &t), "asking runs nothing");

    // A "yes" given for one call does not carry over to other statements: they are asked about anew.
    let yes = json!({"action": "accept", "content": {"confirm_destructive": true}});
    let swapped =
        modern(&mut s, true, json!({"sql_list": [format!("DROP TABLE {other}")]}), Some((&state, yes.clone())));
    assert_eq!(swapped["resultType"], "input_required", "{swapped}");
    assert!(exists(&mut s, &other));

    // A "no" runs nothing, and the declined state answers nothing afterwards: not even a "yes".
    let no = modern(&mut s, true, drop_t.clone(), Some((&state, json!({"action": "decline"}))));
    assert_eq!(no["isError"], true, "{no}");
    assert!(exists(&mut s, &t));
    let replayed = modern(&mut s, true, drop_t.clone(), Some((&state, yes.clone())));
    assert_eq!(replayed["isError"], true, "{replayed}");
    assert!(text(&replayed).contains("already used or declined"), "{}", text(&replayed));
    assert!(exists(&mut s, &t));

    // Asked again, the "yes" for these arguments runs them.
    let asked = modern(&mut s, true, drop_t.clone(), None);
    let state = asked["requestState"].clone();
    let done = modern(&mut s, true, drop_t.clone(), Some((&state, yes.clone())));
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(done["resultType"], "complete");
    assert!(!exists(&mut s, &t));
    // A used state answers nothing either.
    let again = modern(&mut s, true, drop_t, Some((&state, yes)));
    assert_eq!(again["isError"], true, "{again}");

    // A 2026 client that cannot be asked: run, with the warning.
    let unasked = modern(&mut s, false, json!({"sql_list": [format!("DELETE FROM {other}")]}), None);
    assert_eq!(unasked["isError"], false, "{unasked}");
    assert!(unasked["structuredContent"]["confirmation"].is_string(), "{unasked}");
    assert_eq!(rows_in(&mut s, &other), 0);
}

#[test]
fn migrations_and_backfills_that_destroy_data_are_asked_about_too() {
    let mut s = server(true, &[]);
    let t = filled(&mut s, 2);
    // A dry run touches nothing, so nobody is asked.
    s.notifications.clear();
    s.ok("apply_migration", json!({"name": table("m_dry"), "sql": format!("DROP TABLE {t};"), "dry_run": true}));
    assert!(s.notifications.iter().all(|m| m["method"] != "elicitation/create"));
    // Applying it is asked about, and a "no" applies nothing.
    let (question, result) = call_answering(
        &mut s,
        "apply_migration",
        json!({"name": table("m_drop"), "sql": format!("CREATE INDEX ASYNC ON {t} (v);\nDROP TABLE {t};")}),
        json!({"action": "decline"}),
    );
    assert!(question["message"].as_str().unwrap().contains("statement 2 (line 2): DROP TABLE"), "{question}");
    assert_eq!(result["isError"], true, "{result}");
    assert!(exists(&mut s, &t));
    // A backfill with no `where` deletes every row: asked, and a "yes" runs it.
    let (question, result) = call_answering(
        &mut s,
        "backfill",
        json!({"table": t, "delete": true}),
        json!({"action": "accept", "content": {"confirm_destructive": true}}),
    );
    assert!(question["message"].as_str().unwrap().contains(&format!("deletes every row of {t} (2 rows")), "{question}");
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(rows_in(&mut s, &t), 0);
    // With a `where`, nobody is asked.
    s.notifications.clear();
    s.ok("backfill", json!({"table": t, "set": "v = 'z'", "where": "id > 0"}));
    assert!(s.notifications.iter().all(|m| m["method"] != "elicitation/create"));
}

/// Runs `args` on `s` (a client that can be asked) and declines; returns the question's text.
fn declined(s: &mut Server, tool: &str, args: Value) -> String {
    let (question, result) = call_answering(s, tool, args, json!({"action": "decline"}));
    assert_eq!(result["isError"], true, "{result}");
    question["message"].as_str().unwrap().to_string()
}

/// A write-mode server that never asks, to set things up (functions, foreign keys) without questions.
fn setup() -> Server {
    server(false, &["--confirm-destructive", "allow", "--rules", "off"])
}

#[test]
fn the_reported_bypasses_are_refused_when_nobody_can_be_asked() {
    let mut admin = setup();
    let mut refusing = server(false, &["--confirm-destructive", "refuse", "--rules", "off"]);
    let t = filled(&mut admin, 5);
    let f = table("f_drop");
    admin.ok(
        "transact",
        json!({"sql_list": [
        format!("CREATE FUNCTION {f}() RETURNS void LANGUAGE sql AS $$ DROP TABLE {t} $$")]}),
    );
    let d = table("dom");
    let with_domain = table("with_domain");
    admin.ok("transact", json!({"sql_list": [format!("CREATE DOMAIN {d} AS int")]}));
    admin.ok("transact", json!({"sql_list": [format!("CREATE TABLE {with_domain} (id int PRIMARY KEY, c {d})")]}));
    admin.ok("transact", json!({"sql_list": [format!("INSERT INTO {with_domain} VALUES (1, 7)")]}));
    for (sql, effect) in [
        (format!("DELETE FROM {t} WHERE true"), format!("deletes every row of public.{t} (5 rows)")),
        (format!("WITH x AS (SELECT 1) DELETE FROM {t}"), format!("deletes every row of public.{t} (5 rows)")),
        (format!("UPDATE {t} SET v = 'gone' WHERE 1=1"), format!("overwrites every row of public.{t} (5 rows)")),
        (
            format!("DELETE FROM {t} USING (SELECT 1 AS one) AS u WHERE u.one = 1"),
            format!("deletes every row of public.{t}"),
        ),
        (format!("SELECT {f}()"), format!("drops table public.{t}")),
        (format!("DROP DOMAIN {d} CASCADE"), format!("drops column c of table public.{with_domain}")),
        (
            format!("ALTER TABLE {t} ALTER COLUMN id TYPE bigint"),
            format!("changes column id of table public.{t} from integer to bigint"),
        ),
        (format!("ALTER TABLE {t} RENAME TO {t}_x"), format!("renames table public.{t} to public.{t}_x")),
        (format!("TRUNCATE {t}"), format!("empties or rewrites table public.{t} (TRUNCATE)")),
        (
            format!("MERGE INTO {t} USING {t} AS s ON {t}.id = s.id WHEN MATCHED THEN DELETE"),
            format!("deletes every row of public.{t} (5 rows)"),
        ),
    ] {
        let e = refusing.err("transact", json!({"sql_list": [sql]}));
        assert!(e.starts_with("Refused") && e.contains(&effect), "{sql}: {e}");
        assert_eq!(rows_in(&mut admin, &t), 5, "{sql}");
        assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM {t} WHERE v LIKE 'v%'")), 5, "{sql}");
    }
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM {with_domain} WHERE c = 7")), 1);
    // A MERGE that deletes one row of five is under the threshold: it runs.
    refusing.ok(
        "transact",
        json!({"sql_list": [format!(
        "MERGE INTO {t} USING (SELECT 1 AS id) AS s ON {t}.id = s.id WHEN MATCHED THEN DELETE")]}),
    );
    assert_eq!(rows_in(&mut admin, &t), 4);
    // A backfill that changes every row, whatever its `where` says.
    let e = refusing.err("backfill", json!({"table": t, "set": "v = 'z'", "where": "1=1"}));
    assert!(e.contains(&format!("overwrites every row of {t} (4 rows")), "{e}");
    let e = refusing.err("backfill", json!({"table": t, "delete": true, "where": "id > 0 OR true"}));
    assert!(e.contains(&format!("deletes every row of {t}")), "{e}");
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM {t} WHERE v LIKE 'v%'")), 4);
    // Creating code that destroys when it runs later is asked about when it is created.
    let g = table("g_delete");
    let e = refusing.err(
        "transact",
        json!({"sql_list": [
        format!("CREATE FUNCTION {g}() RETURNS void LANGUAGE sql AS $$ DELETE FROM {t} WHERE id = 2 $$")]}),
    );
    assert!(e.contains("stores code that changes data or schema when it runs later"), "{e}");
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM pg_proc WHERE proname = '{g}'")), 0);
}

#[test]
fn the_question_tells_the_whole_truth_and_a_yes_runs_exactly_that() {
    let mut s = server(true, &[]);
    let a = filled(&mut s, 0);
    let b = filled(&mut s, 50);
    let args = json!({"sql_list": [format!("DELETE FROM {a}"), format!("DELETE FROM {b} WHERE true")]});
    let message = declined(&mut s, "transact", args.clone());
    assert!(message.contains(&format!("deletes every row of public.{b} (50 rows)")), "{message}");
    assert!(
        message.contains(&format!("1. DELETE FROM {a}")) && message.contains(&format!("2. DELETE FROM {b} WHERE true")),
        "{message}"
    );
    assert_eq!(rows_in(&mut s, &b), 50);
    let (_, result) =
        call_answering(&mut s, "transact", args, json!({"action": "accept", "content": {"confirm_destructive": true}}));
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(rows_in(&mut s, &b), 0);
}

#[test]
fn effects_the_statements_do_not_name_are_shown_cascades_functions_and_triggers() {
    let mut admin = setup();
    let mut s = server(true, &["--rules", "off"]);
    let parent = table("parent");
    let child = table("child");
    admin.ok(
        "transact",
        json!({"sql_list": [
        format!("CREATE TABLE {parent} (id int PRIMARY KEY)"),
        format!("CREATE TABLE {child} (id int PRIMARY KEY, p int REFERENCES {parent} (id) ON DELETE CASCADE)"),
        format!("INSERT INTO {parent} VALUES (1), (2)"),
        format!("INSERT INTO {child} VALUES (1, 1), (2, 1), (3, 1), (4, 2)")]}),
    );
    // One parent row: under the threshold for the parent, but its children go with it.
    let message = declined(&mut s, "transact", json!({"sql_list": [format!("DELETE FROM {parent} WHERE id = 1")]}));
    assert!(
        message.contains(&format!("deletes 3 rows of public.{child}, a table the statements do not name")),
        "{message}"
    );
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM {child}")), 4);

    // A function with a DELETE inside, created without asking by an admin.
    let f = table("f_del");
    admin.ok(
        "transact",
        json!({"sql_list": [
        format!("CREATE FUNCTION {f}() RETURNS int LANGUAGE sql AS $$ DELETE FROM {child} RETURNING 1 $$")]}),
    );
    let message = declined(&mut s, "transact", json!({"sql_list": [format!("SELECT {f}()")]}));
    assert!(message.contains(&format!("deletes 4 rows of public.{child}")), "{message}");
    // A TRUNCATE through a function.
    let tr = table("f_trunc");
    admin.ok(
        "transact",
        json!({"sql_list": [
        format!("CREATE FUNCTION {tr}() RETURNS void LANGUAGE sql AS $$ TRUNCATE {child} $$")]}),
    );
    let message = declined(&mut s, "transact", json!({"sql_list": [format!("SELECT {tr}()")]}));
    assert!(message.contains(&format!("empties or rewrites table public.{child} (TRUNCATE)")), "{message}");
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM {child}")), 4);

    // A trigger is asked about when it is created.
    let message = declined(
        &mut s,
        "transact",
        json!({"sql_list": [format!(
        "CREATE TRIGGER {f}_t AFTER INSERT ON {parent} FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()")]}),
    );
    assert!(message.contains("stores code that changes data or schema"), "{message}");
    assert_eq!(count(&mut admin, &format!("SELECT count(*) AS n FROM pg_trigger WHERE tgname = '{f}_t'")), 0);

    // Dropping a view, a schema with CASCADE: every dependent is listed.
    let schema = table("sch");
    admin.ok("transact", json!({"sql_list": [format!("CREATE SCHEMA {schema}")]}));
    admin.ok("transact", json!({"sql_list": [format!("CREATE TABLE {schema}.inner_t (id int PRIMARY KEY)")]}));
    admin.ok(
        "transact",
        json!({"sql_list": [format!("CREATE VIEW {schema}.inner_v AS SELECT id FROM {schema}.inner_t")]}),
    );
    let message = declined(&mut s, "transact", json!({"sql_list": [format!("DROP SCHEMA {schema} CASCADE")]}));
    for what in [
        format!("drops schema {schema}"),
        format!("drops table {schema}.inner_t"),
        format!("drops view {schema}.inner_v"),
    ] {
        assert!(message.contains(&what), "{what}: {message}");
    }
    let message = declined(&mut s, "transact", json!({"sql_list": [format!("DROP TABLE {schema}.inner_t CASCADE")]}));
    assert!(message.contains(&format!("drops view {schema}.inner_v")), "{message}");
    assert_eq!(
        count(
            &mut admin,
            &format!(
                "SELECT count(*) AS n FROM pg_class WHERE relname = 'inner_v' AND relnamespace = '{schema}'::regnamespace"
            )
        ),
        1
    );
}

#[test]
fn a_yes_commits_only_the_effect_it_was_given_for() {
    let mut s = server(true, &[]);
    let mut other = setup();
    let t = filled(&mut s, 3);
    let args = json!({"sql_list": [format!("DELETE FROM {t}")]});

    // 2025: rows arrive between the question and the answer; the server asks again with the new count.
    let id = s.start_call("transact", args.clone());
    let first = s.wait_for(|m| m["method"] == "elicitation/create");
    assert!(first["params"]["message"].as_str().unwrap().contains("(3 rows)"), "{first}");
    other.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES (10, 'late')")]}));
    let yes = json!({"action": "accept", "content": {"confirm_destructive": true}});
    s.send_raw(&json!({"jsonrpc": "2.0", "id": first["id"], "result": yes}).to_string());
    let second = s.wait_for(|m| m["method"] == "elicitation/create");
    let message = second["params"]["message"].as_str().unwrap();
    assert!(message.starts_with("What the call does changed") && message.contains("(4 rows)"), "{message}");
    assert_eq!(rows_in(&mut other, &t), 4, "nothing ran on the old yes");
    s.send_raw(&json!({"jsonrpc": "2.0", "id": second["id"], "result": {"action": "decline"}}).to_string());
    assert_eq!(s.response(&id)["result"]["isError"], true);
    assert_eq!(rows_in(&mut other, &t), 4);

    // 2026-07-28: an old yes replayed after rows were inserted is a new question, not a delete.
    let asked = modern(&mut s, true, args.clone(), None);
    let state = asked["requestState"].clone();
    other.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES (11, 'later')")]}));
    let replay = modern(&mut s, true, args.clone(), Some((&state, yes.clone())));
    assert_eq!(replay["resultType"], "input_required", "{replay}");
    let message = replay["inputRequests"]["confirm_destructive"]["params"]["message"].as_str().unwrap();
    assert!(message.contains("(5 rows)"), "{message}");
    assert_eq!(rows_in(&mut other, &t), 5);
    let done = modern(&mut s, true, args, Some((&replay["requestState"], yes)));
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(rows_in(&mut other, &t), 0);
}
