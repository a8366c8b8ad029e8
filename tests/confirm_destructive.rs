//! Confirmation before destroying data (`--confirm-destructive`), through the real binary on the local sandbox:
//! a 2025 client that answers `elicitation/create` (accepts, declines), one that cannot be asked, the `refuse` and
//! `allow` policies, and a 2026-07-28 client answering an `input_required` result.

mod common;

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
    assert!(message.contains(&format!("DROP TABLE {t}")), "{message}");
    assert!(message.contains(&format!("{t}: 3 rows")), "the question counts the rows at stake: {message}");
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
        assert!(question["message"].as_str().unwrap().contains("DELETE with no WHERE"), "{question}");
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
    assert!(warning.contains("without the user's confirmation") && warning.contains("UPDATE with no WHERE"));
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
fn modern_meta(elicits: bool) -> Value {
    let capabilities = if elicits { json!({"elicitation": {"form": {}}}) } else { json!({}) };
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
           "io.modelcontextprotocol/clientInfo": {"name": "confirm-test", "version": "0"},
           "io.modelcontextprotocol/clientCapabilities": capabilities})
}

fn modern(s: &mut Server, elicits: bool, args: Value, answer: Option<(&Value, Value)>) -> Value {
    let mut params = json!({"_meta": modern_meta(elicits), "name": "transact", "arguments": args});
    if let Some((state, reply)) = answer {
        params["requestState"] = state.clone();
        params["inputResponses"] = json!({"confirm_destructive": reply});
    }
    let r = s.request("tools/call", params);
    assert!(r.get("error").is_none(), "{r}");
    r["result"].clone()
}

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
    assert!(request["params"]["message"].as_str().unwrap().contains(&format!("{t}: 4 rows")), "{asked}");
    let state = asked["requestState"].clone();
    assert!(state.is_string());
    assert!(exists(&mut s, &t), "asking runs nothing");

    // A "yes" given for one call does not carry over to other statements: they are asked about anew.
    let yes = json!({"action": "accept", "content": {"confirm_destructive": true}});
    let swapped =
        modern(&mut s, true, json!({"sql_list": [format!("DROP TABLE {other}")]}), Some((&state, yes.clone())));
    assert_eq!(swapped["resultType"], "input_required", "{swapped}");
    assert!(exists(&mut s, &other));

    // A "no" runs nothing.
    let no = modern(&mut s, true, drop_t.clone(), Some((&state, json!({"action": "decline"}))));
    assert_eq!(no["isError"], true, "{no}");
    assert!(exists(&mut s, &t));

    // The "yes" for these arguments runs them.
    let done = modern(&mut s, true, drop_t, Some((&state, yes)));
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(done["resultType"], "complete");
    assert!(!exists(&mut s, &t));

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
    assert!(question["message"].as_str().unwrap().contains("statement 2: DROP TABLE"), "{question}");
    assert_eq!(result["isError"], true, "{result}");
    assert!(exists(&mut s, &t));
    // A backfill with no `where` deletes every row: asked, and a "yes" runs it.
    let (question, result) = call_answering(
        &mut s,
        "backfill",
        json!({"table": t, "delete": true}),
        json!({"action": "accept", "content": {"confirm_destructive": true}}),
    );
    assert!(question["message"].as_str().unwrap().contains(&format!("{t}: 2 rows")), "{question}");
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(rows_in(&mut s, &t), 0);
    // With a `where`, nobody is asked.
    s.notifications.clear();
    s.ok("backfill", json!({"table": t, "set": "v = 'z'", "where": "id > 0"}));
    assert!(s.notifications.iter().all(|m| m["method"] != "elicitation/create"));
}
