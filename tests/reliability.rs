//! Reliability with real faults, through the real binary: optimistic-concurrency conflicts retried, a backend
//! terminated before COMMIT (retried on a fresh connection) and the connection lost after COMMIT (reported as an
//! unknown outcome, never re-run), client cancellation and EOF reaching the database, bounded results, the local
//! sandbox restarted after its PostgreSQL stopped, 10,000 calls with 8 in flight, and random bytes on stdin.
//! Synchronisation is by watching pg_stat_activity and the proxy's counters; nothing sleeps to wait.

mod common;
mod dsql_support;

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use common::proxy::Proxy;
use common::{Server, count, table, text};
use dsql_support::PgCluster;
use serde_json::json;

/// A server on `port` as plain PostgreSQL (`--rules off` unless `extra` sets `--rules`): the execution path a DSQL
/// cluster gets. By default `--database-url` emulates DSQL (a 100 ms lock wait reported as OC000, writes run
/// statement by statement), which is not what these tests exercise.
fn url_server(port: u16, extra: &[&str]) -> Server {
    let url = PgCluster::plain_url(port);
    let mut args = vec!["--database-url", url.as_str()];
    if !extra.contains(&"--rules") {
        args.extend(["--rules", "off"]);
    }
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Poll `pg` until `sql` (a count) returns `want`; a safety limit, not a clock.
fn wait_for_count(pg: &PgCluster, sql: &str, want: &str) {
    for _ in 0..3000 {
        if pg.psql(sql).trim() == want {
            return;
        }
        std::thread::yield_now();
    }
    let activity =
        pg.psql("SELECT pid, application_name, state, wait_event_type, left(query, 80) FROM pg_stat_activity");
    panic!("{sql} never returned {want}; activity:\n{activity}");
}

const HOLDER_IN_TRANSACTION: &str =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql' AND state = 'idle in transaction'";

/// The server's backends waiting for a lock (its connections are named after the package).
fn server_waiting_on_a_lock() -> String {
    format!(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE '{}%'",
        env!("CARGO_PKG_NAME")
    )
}

fn write_line(session: &mut std::process::Child, sql: &str) {
    let stdin = session.stdin.as_mut().unwrap();
    stdin.write_all(sql.as_bytes()).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
}

#[test]
fn a_conflict_is_retried_and_reported_and_retries_can_run_out() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE gate (id int PRIMARY KEY, n int NOT NULL); INSERT INTO gate VALUES (1, 0)");
    // --rules off: REPEATABLE READ makes the blocked UPDATE fail with a real 40001 once the other writer commits.
    let conflicting = json!({"sql_list": [
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SELECT n FROM gate WHERE id = 1",
        "UPDATE gate SET n = n + 1 WHERE id = 1",
    ]});
    for (retries, expect_ok) in [("5", true), ("0", false)] {
        let mut s = url_server(pg.port, &["--allow-writes", "--rules", "off", "--max-retries", retries]);
        let mut other = pg.session();
        write_line(&mut other, "BEGIN; UPDATE gate SET n = n + 100 WHERE id = 1;");
        wait_for_count(&pg, HOLDER_IN_TRANSACTION, "1");
        let id = s.start_call("transact", conflicting.clone());
        wait_for_count(&pg, &server_waiting_on_a_lock(), "1");
        write_line(&mut other, "COMMIT;");
        drop(other.stdin.take());
        other.wait().unwrap();
        let result = s.response(&id)["result"].clone();
        if expect_ok {
            assert_eq!(result["isError"], json!(false), "{}", text(&result));
            assert_eq!(result["structuredContent"]["attempts"], json!(2));
            let notes = result["content"].as_array().unwrap().last().unwrap()["text"].as_str().unwrap().to_string();
            assert!(notes.contains("succeeded on attempt 2"), "{notes}");
            assert_eq!(pg.psql("SELECT n FROM gate").trim(), "101");
        } else {
            let msg = text(&result);
            assert_eq!(result["isError"], json!(true));
            assert!(msg.contains("ERROR 40001") && msg.contains("tried 1 time"), "{msg}");
            assert!(msg.contains("nothing was committed"), "{msg}");
            assert_eq!(pg.psql("SELECT n FROM gate").trim(), "201");
        }
    }
}

#[test]
fn thirty_two_increments_of_one_hot_row_with_eight_in_flight_all_succeed() {
    let t = table("hot");
    let mut s = Server::local(&["--allow-writes", "--pool-size", "8", "--max-retries", "100"]);
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, n int NOT NULL)")]}));
    s.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES (1, 0)")]}));
    let call = json!({"sql_list": [format!("UPDATE {t} SET n = n + 1 WHERE id = 1")]});
    let (mut started, mut done, mut attempts) = (0, 0, 0);
    let mut in_flight: HashSet<String> = HashSet::new();
    while done < 32 {
        while started < 32 && in_flight.len() < 8 {
            in_flight.insert(s.start_call("transact", call.clone()).to_string());
            started += 1;
        }
        let msg = s.wait_for(|m| m.get("result").is_some() && in_flight.contains(&m["id"].to_string()));
        in_flight.remove(&msg["id"].to_string());
        assert_eq!(msg["result"]["isError"], json!(false), "{}", text(&msg["result"]));
        attempts += msg["result"]["structuredContent"]["attempts"].as_u64().unwrap();
        done += 1;
    }
    assert_eq!(count(&mut s, &format!("SELECT n FROM {t} WHERE id = 1")), 32);
    eprintln!("32 increments took {attempts} attempts");
}

#[test]
fn a_backend_terminated_before_commit_is_retried_on_a_fresh_connection() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE gate (id int PRIMARY KEY, n int NOT NULL); INSERT INTO gate VALUES (1, 0); CREATE TABLE journal (note text)");
    let mut s = url_server(pg.port, &["--allow-writes", "--pool-size", "1"]);
    let mut other = pg.session();
    write_line(&mut other, "BEGIN; SELECT n FROM gate WHERE id = 1 FOR UPDATE;");
    wait_for_count(&pg, HOLDER_IN_TRANSACTION, "1");
    let id = s.start_call(
        "transact",
        json!({"sql_list": ["INSERT INTO journal VALUES ('once')", "UPDATE gate SET n = n + 1 WHERE id = 1"]}),
    );
    wait_for_count(&pg, &server_waiting_on_a_lock(), "1");
    let pid_before = pg.psql(&server_waiting_on_a_lock().replace("count(*)", "pid"));
    pg.psql(&server_waiting_on_a_lock().replace("count(*)", "pg_terminate_backend(pid)"));
    // The server runs the transaction again on a new connection, which waits for the same lock.
    wait_for_count(&pg, &format!("{} AND pid <> {}", server_waiting_on_a_lock(), pid_before.trim()), "1");
    write_line(&mut other, "COMMIT;");
    drop(other.stdin.take());
    other.wait().unwrap();
    let result = s.response(&id)["result"].clone();
    assert_eq!(result["isError"], json!(false), "{}", text(&result));
    assert_eq!(result["structuredContent"]["attempts"], json!(2));
    assert_eq!(pg.psql("SELECT count(*) FROM journal WHERE note = 'once'").trim(), "1");
    assert_eq!(pg.psql("SELECT n FROM gate").trim(), "1");
}

#[test]
fn a_connection_lost_after_commit_is_reported_as_unknown_and_never_run_again() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE journal (note text)");
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let mut s = url_server(proxy.port, &["--allow-writes", "--pool-size", "1"]);
    s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm"}));
    let before = proxy.counters();
    proxy.hold();
    let id = s.start_call("transact", json!({"sql_list": ["INSERT INTO journal VALUES ('committed')"]}));
    // BEGIN, INSERT and COMMIT answered by the database; the server never hears back.
    proxy.wait_until("the transaction committed in the database", |c| c.ready >= before.ready + 3);
    proxy.cut();
    let result = s.response(&id)["result"].clone();
    let msg = text(&result);
    assert_eq!(result["isError"], json!(true));
    assert!(msg.contains("OUTCOME UNKNOWN") && msg.contains("was NOT run again"), "{msg}");
    assert_eq!(pg.psql("SELECT count(*) FROM journal").trim(), "1", "committed once, not re-run");
    // The lost connection is not handed out again: the next call opens a new one and works.
    s.ok("transact", json!({"sql_list": ["INSERT INTO journal VALUES ('next')"]}));
    assert_eq!(pg.psql("SELECT count(*) FROM journal").trim(), "2");
    assert_eq!(proxy.counters().connections, before.connections + 1);
}

/// Active queries whose text contains `tag`, not counting the watcher's own.
fn running(watcher: &mut Server, tag: &str) -> i64 {
    count(
        watcher,
        &format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() \
             AND query LIKE '%' || '{tag}' || '%'"
        ),
    )
}

fn wait_running(watcher: &mut Server, tag: &str, want: i64) {
    for _ in 0..6000 {
        if running(watcher, tag) == want {
            return;
        }
    }
    panic!("{want} queries tagged {tag} never ran");
}

#[test]
fn a_cancelled_call_stops_its_query_and_frees_its_connection_at_once() {
    let tag = table("cancel_me");
    let mut s = Server::local(&["--pool-size", "1", "--statement-timeout", "600"]);
    let mut watcher = Server::local(&[]);
    let id = s.start_call(
        "readonly_query",
        json!({"sql": format!("SELECT count(*) AS n, '{tag}' AS tag FROM generate_series(1, 20000000000) g")}),
    );
    wait_running(&mut watcher, &tag, 1);
    s.notify("notifications/cancelled", json!({"requestId": id, "reason": "the user pressed stop"}));
    // Pool size 1: this call can only run once the cancelled one gave its connection back.
    assert_eq!(s.rows("SELECT 1 AS n"), vec![json!({"n": 1})]);
    assert_eq!(running(&mut watcher, &tag), 0);
    s.request("ping", json!({}));
    assert!(
        s.notifications.iter().all(|m| m.get("id") != Some(&id)),
        "a cancelled request got a response: {:?}",
        s.notifications
    );
}

#[test]
fn a_cancelled_transaction_commits_nothing() {
    let t = table("cancelled_tx");
    let mut s = Server::local(&["--allow-writes", "--pool-size", "1", "--statement-timeout", "600"]);
    let mut watcher = Server::local(&[]);
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (n bigint)")]}));
    let id = s.start_call(
        "transact",
        json!({"sql_list": [
            format!("INSERT INTO {t} VALUES (1)"),
            format!("INSERT INTO {t} SELECT count(*) FROM generate_series(1, 20000000000) g"),
        ]}),
    );
    wait_running(&mut watcher, "20000000000", 1);
    s.notify("notifications/cancelled", json!({"requestId": id}));
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 0);
}

#[test]
fn when_the_client_goes_away_running_queries_are_cancelled_before_exit() {
    let tag = table("eof");
    let mut s = Server::local(&["--statement-timeout", "600"]);
    let mut watcher = Server::local(&[]);
    let _id = s.start_call(
        "readonly_query",
        json!({"sql": format!("SELECT count(*) AS n, '{tag}' AS tag FROM generate_series(1, 20000000000) g")}),
    );
    wait_running(&mut watcher, &tag, 1);
    s.close_stdin();
    assert!(s.wait_exit().success());
    assert_eq!(running(&mut watcher, &tag), 0);
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_fifty_megabyte_result_is_cut_to_the_byte_limit_without_being_built_in_memory() {
    let mut s = Server::local(&[]);
    let response = s.request(
        "tools/call",
        json!({"name": "readonly_query", "arguments": {"sql": "SELECT g, repeat('x', 1048576) AS big FROM generate_series(1, 50) g"}}),
    );
    let line = response.to_string();
    assert!(line.len() < 1_100_000, "answer of {} bytes", line.len());
    let r = &response["result"]["structuredContent"];
    assert_eq!(r["truncated"], json!(true));
    assert_eq!(r["row_count"], json!(1));
    let big = r["result"][0]["big"].as_str().unwrap();
    assert!(big.ends_with("of 1048576 bytes shown]"), "{}", &big[big.len() - 60..]);
    let note = r["truncation"].as_str().unwrap();
    assert!(note.contains("Returned 1 of 50 rows") && note.contains("--max-result-bytes"), "{note}");
    assert!(note.contains("substr("), "{note}");
    // 50 MB went through the server; it never held more than a few rows of it.
    let peak = peak_rss_kb(s.pid());
    assert!(peak < 60_000, "peak RSS {peak} kB");

    // Rows stop at the first one that would pass the limit, and the note says how to page.
    let r = s.ok(
        "readonly_query",
        json!({"sql": "SELECT g, repeat('y', 10000) AS pad FROM generate_series(1, 500) g ORDER BY g"}),
    );
    let returned = r["row_count"].as_u64().unwrap();
    assert!((40..60).contains(&returned), "{returned} rows");
    assert_eq!(r["result"].as_array().unwrap().last().unwrap()["g"], json!(returned));
    let note = r["truncation"].as_str().unwrap();
    assert!(note.contains(&format!("Returned {returned} of 500 rows")), "{note}");
    assert!(note.contains(&format!("OFFSET {returned}")), "{note}");
}

#[test]
fn the_sandbox_is_started_again_after_its_postgresql_stopped_and_keeps_its_data() {
    let dir = tempfile::Builder::new().prefix("adsql-revive-").tempdir().unwrap();
    let local = format!("--local={}", dir.path().display());
    let t = table("survivor");
    let mut s = Server::start(&[&local, "--allow-writes"]);
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (v text)")]}));
    s.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES ('kept')")]}));
    // Stop it behind the server's back, as a crash would (no checkpoint).
    let data = dir.path().join("data");
    let pg_ctl = dsql_support::pg_bindir().join("pg_ctl");
    let as_root = unsafe_is_root();
    let mut cmd = if as_root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
        c
    } else {
        std::process::Command::new(&pg_ctl)
    };
    let out = cmd.args(["stop", "-m", "immediate", "-w", "-D"]).arg(&data).current_dir("/tmp").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(s.rows(&format!("SELECT v FROM {t}")), vec![json!({"v": "kept"})]);
    s.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES ('after')")]}));
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 2);
}

fn unsafe_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

#[test]
fn ten_thousand_calls_with_eight_in_flight_leak_nothing() {
    let t = table("many");
    // A sandbox of its own, so the connection count below is this server's alone.
    let dir = tempfile::Builder::new().prefix("adsql-many-").tempdir().unwrap();
    let local = format!("--local={}", dir.path().display());
    let mut s = Server::start(&[&local, "--allow-writes", "--pool-size", "8"]);
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, v text)")]}));
    let run = |s: &mut Server, from: u64, to: u64| {
        let mut in_flight: HashSet<String> = HashSet::new();
        let mut next = from;
        let mut done = from;
        while done < to {
            while next < to && in_flight.len() < 8 {
                let call = if next.is_multiple_of(2) {
                    json!({"name": "transact", "arguments": {"sql_list": [format!("INSERT INTO {t} VALUES ($1, $2)")], "params_list": [[next.to_string(), format!("v{next}")]]}})
                } else {
                    json!({"name": "readonly_query", "arguments": {"sql": format!("SELECT count(*) AS n FROM {t} WHERE id < $1"), "params": [next.to_string()]}})
                };
                let id = s.start_call(call["name"].as_str().unwrap(), call["arguments"].clone());
                in_flight.insert(id.to_string());
                next += 1;
            }
            let msg = s.wait_for(|m| m.get("result").is_some() && in_flight.contains(&m["id"].to_string()));
            in_flight.remove(&msg["id"].to_string());
            assert_eq!(msg["result"]["isError"], json!(false), "{}", text(&msg["result"]));
            done += 1;
        }
        s.notifications.clear();
    };
    run(&mut s, 0, 1000);
    let pid = s.pid();
    let (rss, threads, fds) = (status_field(pid, "VmRSS:"), status_field(pid, "Threads:"), open_fds(pid));
    run(&mut s, 1000, 10_000);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 5000);
    let (rss2, threads2, fds2) = (status_field(pid, "VmRSS:"), status_field(pid, "Threads:"), open_fds(pid));
    eprintln!(
        "after 1,000 calls: {rss} kB, {threads} threads, {fds} fds; after 10,000: {rss2} kB, {threads2} threads, {fds2} fds"
    );
    assert!(rss2 < rss + 8_000, "RSS grew from {rss} to {rss2} kB");
    assert!(threads2 <= threads + 2, "threads grew from {threads} to {threads2}");
    assert!(fds2 <= fds + 2, "file descriptors grew from {fds} to {fds2}");
    let conns = count(
        &mut s,
        &format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE '{}%'",
            env!("CARGO_PKG_NAME")
        ),
    );
    assert!(conns <= 8, "{conns} connections for a pool of 8");
}

#[test]
fn random_bytes_on_stdin_get_parse_errors_and_the_server_keeps_serving() {
    let mut s = Server::local(&[]);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(64 * 1024);
    for _ in 0..64 * 1024 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        bytes.push((seed & 0xff) as u8);
    }
    let garbage = String::from_utf8_lossy(&bytes).replace('\r', " ");
    // Every line that is not blank is answered with a parse error (in its own time: they may follow later answers).
    let lines = garbage.split('\n').filter(|l| !l.trim().is_empty()).count();
    s.send_raw(&garbage);
    let mut parse_errors = 0;
    while parse_errors < lines {
        s.wait_for(|m| m["error"]["code"] == json!(-32700));
        parse_errors += 1;
    }
    let pong = s.request("ping", json!({}));
    assert_eq!(pong["result"], json!({}));
    assert_eq!(s.rows("SELECT 1 AS n"), vec![json!({"n": 1})]);
}
