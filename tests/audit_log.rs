//! The audit log (`--audit-log`), through the real binary on a database in the shared sandbox: after a mixed
//! session (reads, writes with bound values, a refusal, errors, an unknown tool, a conflict that ran out of
//! retries, a destructive statement declined then accepted, documentation), the file holds exactly one line per
//! call, each with the format version, the right outcome, check, attempts and rows, and no bound value, inline
//! literal or comment anywhere; it is private (0600), grows by appending across runs, and a file others may read
//! is refused at startup.

mod common;
mod dsql_support;

use std::path::Path;
use std::time::Duration;

use common::proxy::Proxy;
use dsql_support::PgCluster;

use common::{Server, table, text};
use serde_json::{Value, json};

/// A write-mode server on `url` recording into `log`, whose client answers form elicitations (2025-11-25).
fn audited(url: &str, log: &Path, extra: &[&str]) -> Server {
    let log = format!("--audit-log={}", log.display());
    let mut args = vec!["--database-url", url, "--allow-writes", log.as_str()];
    args.extend_from_slice(extra);
    let mut s = Server::spawn(&args, &[]);
    let init = s.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {"form": {}}},
               "clientInfo": {"name": "audit-test", "version": "0"}}),
    );
    s.init = init["result"].clone();
    s.notify("notifications/initialized", json!({}));
    s
}

/// Starts a call, answers the elicitation it raises with yes or no, and returns the call's result.
fn answering(s: &mut Server, sql: &str, yes: bool) -> Value {
    let id = s.start_call("transact", json!({"sql_list": [sql]}));
    let question = s.wait_for(|m| m["method"] == "elicitation/create");
    let reply = json!({"action": "accept", "content": {"confirm_destructive": yes}});
    s.send_raw(&json!({"jsonrpc": "2.0", "id": question["id"], "result": reply}).to_string());
    s.response(&id)["result"].clone()
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("audit log");
    assert!(text.ends_with('\n'), "every line is complete");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// A connection of the test's own to the same database (to hold a row lock).
fn connect(url: &str) -> (tokio::runtime::Runtime, tokio_postgres::Client) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client
    });
    (rt, client)
}

const MARKERS: [&str; 5] =
    ["bound-marker-7f3a1", "bound-marker-8c2e9", "bound-marker-1d5b4", "bound-marker-6a0f2", "inline-marker-4e9c7"];

#[test]
fn a_mixed_session_leaves_one_private_line_per_call_and_no_value() {
    let mut sandbox = Server::local(&[]);
    sandbox.rows("SELECT 1");
    let url = common::url_database("audit");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let t = table("audited");
    let mut s = audited(&url, &log, &["--max-retries", "2"]);

    // 1-2: writes, the second with bound values that must never reach the file.
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, v text)")]}));
    let insert = format!("INSERT INTO {t} (id, v) VALUES ($1, $2)");
    let inserted =
        s.ok("transact", json!({"sql_list": [insert, insert], "params_list": [[1, MARKERS[0]], [2, MARKERS[1]]]}));
    assert_eq!(inserted["attempts"], 1);
    // 3: a read with a bound value.
    let read =
        s.ok("readonly_query", json!({"sql": format!("SELECT id FROM {t} WHERE v <> $1"), "params": [MARKERS[2]]}));
    assert_eq!(read["row_count"], 2);
    // 4: refused by a DSQL rule before anything is sent.
    let refused = s.err("transact", json!({"sql_list": [format!("CREATE INDEX {t}_v ON {t} (v)")]}));
    assert!(refused.contains("ASYNC"), "{refused}");
    // 5-7: a database error, bad arguments, a tool that does not exist.
    s.err("readonly_query", json!({"sql": "SELECT 1/0"}));
    s.err("readonly_query", json!({"query": "SELECT 1"}));
    let unknown = s.call("drop_everything", json!({}));
    assert_eq!(unknown["isError"], true);
    // 8: a conflict on every attempt (a row lock held by another session; DSQL answers 40001 at once), retried
    // until the retries ran out.
    let (rt, holder) = connect(&url);
    rt.block_on(holder.batch_execute(&format!("BEGIN; UPDATE {t} SET v = v WHERE id = 1"))).unwrap();
    let conflict = s.err(
        "transact",
        json!({"sql_list": [format!("UPDATE {t} SET v = $1 WHERE id = 1")],
                                            "params_list": [[MARKERS[3]]]}),
    );
    assert!(conflict.contains("40001") && conflict.contains("3 times"), "{conflict}");
    rt.block_on(holder.batch_execute("ROLLBACK")).unwrap();
    // 9-10: a DELETE of every row, declined, then accepted.
    let declined = answering(&mut s, &format!("DELETE FROM {t}"), false);
    assert_eq!(declined["isError"], true, "{declined}");
    let accepted = answering(&mut s, &format!("DELETE FROM {t}"), true);
    assert_eq!(accepted["isError"], false, "{}", text(&accepted));
    // 11: documentation; 12: a value written inline, and a comment.
    s.ok("dsql_search_documentation", json!({"search_phrase": "optimistic concurrency"}));
    s.ok(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {t} VALUES (3, '{}') /* {} */", MARKERS[4], MARKERS[4])]}),
    );
    assert!(s.finish().success());

    let got = lines(&log);
    let tools: Vec<&str> = got.iter().map(|l| l["tool"].as_str().unwrap()).collect();
    assert_eq!(
        tools,
        [
            "transact",
            "transact",
            "readonly_query",
            "transact",
            "readonly_query",
            "readonly_query",
            "drop_everything",
            "transact",
            "transact",
            "transact",
            "dsql_search_documentation",
            "transact"
        ],
        "one line per call, in order"
    );
    for l in &got {
        assert_eq!(l["v"], 1, "{l}");
        assert_eq!(l["cluster"], "default", "{l}");
        assert_eq!(l["role"], "admin", "{l}");
        assert_eq!(l["caller"], "stdio", "over stdio the one caller is the client that started the server: {l}");
        assert!(l["time"].as_str().unwrap().ends_with('Z'), "{l}");
        assert!(l["duration_ms"].is_u64(), "{l}");
        for st in l["statements"].as_array().unwrap() {
            assert_eq!(st["sha256"].as_str().unwrap().len(), 64, "{st}");
        }
    }
    let summary: Vec<(Value, Value, Value, Value)> = got
        .iter()
        .map(|l| (l["outcome"].clone(), l["attempts"].clone(), l["rows"].clone(), l["confirmation"].clone()))
        .collect();
    let row = |o: &str, a: Value, r: Value, c: &str| (json!(o), a, r, json!(c));
    assert_eq!(
        summary,
        [
            row("committed", json!(1), json!(0), "not_asked"),
            row("committed", json!(1), json!(0), "not_asked"),
            row("ok", json!(1), json!(2), "not_asked"),
            row("refused", Value::Null, Value::Null, "not_asked"),
            row("rolled_back", Value::Null, Value::Null, "not_asked"),
            row("error", Value::Null, Value::Null, "not_asked"),
            row("refused", Value::Null, Value::Null, "not_asked"),
            row("rolled_back", json!(3), Value::Null, "not_asked"),
            row("rolled_back", Value::Null, Value::Null, "declined"),
            row("committed", json!(1), json!(0), "accepted"),
            row("ok", Value::Null, Value::Null, "not_asked"),
            row("committed", json!(1), json!(0), "not_asked"),
        ]
    );
    // What refused or failed, and with which SQLSTATE.
    assert!(got[3]["check"].as_str().unwrap().starts_with("dsql."), "{}", got[3]);
    assert!(got[3]["sqlstate"].is_string(), "{}", got[3]);
    assert_eq!((got[4]["sqlstate"].clone(), got[4]["check"].clone()), (json!("22012"), Value::Null));
    assert_eq!(got[5]["check"], "invalid_arguments");
    assert_eq!(got[6]["check"], "unknown_tool");
    assert_eq!(got[7]["sqlstate"], "40001");
    // Statements: their count of bound values and the rows their command tags report.
    assert_eq!(got[1]["statements"][0]["sql"], json!(format!("INSERT INTO {t} (id, v) VALUES ($1, $2)")));
    assert_eq!(got[1]["statements"][0]["params"], 2);
    assert_eq!(got[1]["statements"][1]["rows"], 1);
    assert_eq!(got[9]["statements"][0]["rows"], 2, "the accepted DELETE removed both rows");
    assert_eq!(got[10]["statements"], json!([]));
    assert_eq!(got[11]["statements"][0]["sql"], json!(format!("INSERT INTO {t} VALUES (?, ?) ")));
    // The hash is of the text as the agent sent it.
    let create = format!("CREATE TABLE {t} (id int PRIMARY KEY, v text)");
    let digest = ring::digest::digest(&ring::digest::SHA256, create.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got[0]["statements"][0]["sha256"], json!(hex));

    let raw = std::fs::read_to_string(&log).unwrap();
    eprintln!("audit log after the session:\n{raw}");
    for marker in MARKERS {
        assert!(!raw.contains(marker), "{marker} is in the audit log:\n{raw}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // A second run appends: the first run's lines stay as they were.
    let mut again = audited(&url, &log, &[]);
    again.ok("dsql_lint", json!({"sql": "SELECT 1"}));
    assert!(again.finish().success());
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(after.starts_with(&raw), "the first run's lines are kept");
    assert_eq!(after.lines().count(), got.len() + 1);
    let last: Value = serde_json::from_str(after.lines().last().unwrap()).unwrap();
    assert_eq!((last["tool"].clone(), last["outcome"].clone()), (json!("dsql_lint"), json!("ok")));
    drop(sandbox);
}

#[cfg(unix)]
#[test]
fn a_log_others_may_read_is_refused_before_serving() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("shared.jsonl");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = std::process::Command::new(common::BIN)
        .arg(format!("--audit-log={}", log.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the server");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mode 0640") && stderr.contains("chmod 600"), "{stderr}");
}

/// The audit log adds no database round trip: the same calls (a read, writes with bound values, a DELETE of every
/// row that is looked at before COMMIT) send exactly the same requests, on the same connection, with and without it.
#[test]
fn the_audit_log_adds_no_round_trip() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE counted (id int PRIMARY KEY, v text)");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let log_flag = format!("--audit-log={}", log.display());
    let mut seen = Vec::new();
    for audited in [false, true] {
        let proxy = Proxy::start(pg.port, Duration::ZERO);
        let url = PgCluster::plain_url(proxy.port);
        let mut args = vec!["--database-url", url.as_str(), "--pool-size", "1", "--allow-writes", "--rules", "off"];
        if audited {
            args.push(log_flag.as_str());
        }
        let mut s = Server::start(&args);
        s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm"}));
        let before = proxy.counters();
        s.ok("readonly_query", json!({"sql": "SELECT count(*) AS n FROM counted WHERE v <> $1", "params": ["x"]}));
        s.ok(
            "transact",
            json!({"sql_list": ["INSERT INTO counted VALUES ($1, $2)", "UPDATE counted SET v = $1"],
                                "params_list": [[1, "a"], ["b"]]}),
        );
        s.ok("transact", json!({"sql_list": ["DELETE FROM counted"]}));
        let after = proxy.counters();
        seen.push((
            after.requests - before.requests,
            after.turns - before.turns,
            after.connections - before.connections,
        ));
        assert!(s.finish().success());
    }
    eprintln!("(requests, turns, connections) for 3 calls without and with --audit-log: {seen:?}");
    assert_eq!(seen[0], seen[1], "(requests, turns, connections) without and with --audit-log");
    assert_eq!(lines(&log).len(), 4, "the audited run's four calls are in the log");
}

/// What the policy decided when the client cannot ask the user, and a look that found nothing destroyed, are
/// recorded as such.
#[test]
fn policy_decisions_and_harmless_looks_are_recorded() {
    let mut sandbox = Server::local(&[]);
    sandbox.rows("SELECT 1");
    let url = common::url_database("auditpolicy");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let log_flag = format!("--audit-log={}", log.display());
    let t = table("policy");
    let fill = json!({"sql_list": [format!("INSERT INTO {t} VALUES (1), (2), (3)")]});
    // A client without elicitation: `refuse` refuses, `ask` runs with a warning.
    let mut refusing =
        Server::start(&["--database-url", &url, "--allow-writes", "--confirm-destructive=refuse", &log_flag]);
    refusing.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
    refusing.ok("transact", fill.clone());
    refusing.err("transact", json!({"sql_list": [format!("DELETE FROM {t}")]}));
    assert!(refusing.finish().success());
    let mut asking = Server::start(&["--database-url", &url, "--allow-writes", &log_flag]);
    asking.ok("transact", json!({"sql_list": [format!("DELETE FROM {t} WHERE id = 1")]}));
    let ran = asking.ok("transact", json!({"sql_list": [format!("DELETE FROM {t}")]}));
    assert!(ran["confirmation"].is_string(), "{ran}");
    assert!(asking.finish().success());

    let got = lines(&log);
    let decided: Vec<(Value, Value, Value)> =
        got.iter().map(|l| (l["outcome"].clone(), l["check"].clone(), l["confirmation"].clone())).collect();
    assert_eq!(
        decided,
        [
            (json!("committed"), Value::Null, json!("not_asked")),
            (json!("committed"), Value::Null, json!("not_asked")),
            (json!("refused"), json!("confirm_destructive"), json!("refused_by_policy")),
            (json!("committed"), Value::Null, json!("not_needed")),
            (json!("committed"), Value::Null, json!("allowed_by_policy")),
        ]
    );
    assert_eq!(got[4]["statements"][0]["rows"], 2);
    drop(sandbox);
}
