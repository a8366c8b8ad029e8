//! DSQL's 10 MiB protocol-message limit (catalog C12, revision 2026-12-07), through the real binary against a real
//! PostgreSQL behind a counting proxy: a statement (or its bound values) over 10 MiB is refused before anything
//! is sent, one under it still runs, and a connection lost right after a large message is never sent again — a
//! write is reported as "outcome unknown", a read as failed, not retried.

mod common;
mod dsql_support;

use std::time::Duration;

use common::proxy::Proxy;
use common::{Server, text};
use dsql_support::PgCluster;
use serde_json::json;

const MIB: usize = 1024 * 1024;

/// A server on `port` as plain PostgreSQL, the execution path a DSQL cluster gets.
fn url_server(port: u16, extra: &[&str]) -> Server {
    let url = PgCluster::plain_url(port);
    let mut args = vec!["--database-url", url.as_str(), "--rules", "off"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn a_message_over_ten_mib_is_refused_before_anything_is_sent_and_one_under_it_runs() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE blobs (id int PRIMARY KEY, body text)");
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let mut s = url_server(proxy.port, &["--allow-writes", "--pool-size", "1"]);
    s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm"}));
    let before = proxy.counters();

    // A statement's text is capped at 1,000,000 characters by the tools (at most 4 MB of UTF-8), so over the tools
    // it is the bound values that can pass 10 MiB.
    // Bound values: three of 4 MiB in one statement (12 MiB in one Bind), second statement of the call.
    let four = "v".repeat(4 * MIB);
    let msg = s.err(
        "transact",
        json!({"sql_list": ["SELECT 1", "INSERT INTO blobs VALUES (2, $1 || $2 || $3)"],
               "params_list": [[], [four, four, four]]}),
    );
    assert!(msg.starts_with("statement 2 of 2 would be sent as one protocol message of 12.0 MiB"), "{msg}");
    assert!(msg.contains("its 3 bound values together: 12,582,9"), "{msg}");
    // A read too (readonly_query): DSQL drops the connection whatever the statement does.
    let msg = s.err("readonly_query", json!({"sql": "SELECT length($1) AS n", "params": ["r".repeat(10 * MIB + 1)]}));
    assert!(msg.contains("its bound value: 10,485,7") && msg.contains("over 10 MiB"), "{msg}");

    let after = proxy.counters();
    assert_eq!(after, before, "nothing reached the server: not a byte, not a request");
    assert_eq!(pg.psql("SELECT count(*) FROM blobs").trim(), "0");

    // 9 MiB still goes through, in one statement.
    let nine = "y".repeat(9 * MIB);
    s.ok("transact", json!({"sql_list": ["INSERT INTO blobs VALUES (3, $1)"], "params_list": [[nine]]}));
    assert_eq!(pg.psql("SELECT length(body) FROM blobs WHERE id = 3").trim(), (9 * MIB).to_string());
    let sent = proxy.counters().bytes_to_server - after.bytes_to_server;
    assert!(sent > 9 * MIB as u64 && sent < 10 * MIB as u64, "{sent} bytes sent for the 9 MiB row");
}

#[test]
fn a_connection_lost_after_a_large_write_is_outcome_unknown_and_never_sent_again() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE blobs (id int PRIMARY KEY, body text)");
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let mut s = url_server(proxy.port, &["--allow-writes", "--pool-size", "1"]);
    s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm"}));
    let before = proxy.counters();
    proxy.hold();
    let two = "z".repeat(2 * MIB);
    let id =
        s.start_call("transact", json!({"sql_list": ["INSERT INTO blobs VALUES (1, $1)"], "params_list": [[two]]}));
    // BEGIN, INSERT and COMMIT answered by the database; the server never hears back (as after DSQL's silent close).
    proxy.wait_until("the transaction committed in the database", |c| c.ready >= before.ready + 3);
    proxy.cut();
    let result = s.response(&id)["result"].clone();
    let msg = text(&result);
    assert_eq!(result["isError"], json!(true));
    assert!(msg.contains("OUTCOME UNKNOWN") && msg.contains("was NOT run again"), "{msg}");
    assert!(msg.contains("a message of 2.0 MiB") && msg.contains("over 10 MiB"), "{msg}");
    assert_eq!(pg.psql("SELECT count(*) FROM blobs").trim(), "1", "committed once, not re-run");
    assert_eq!(proxy.counters().connections, before.connections, "no new connection: nothing was sent again");
}

#[test]
fn a_connection_lost_after_a_large_read_is_reported_not_retried() {
    let pg = PgCluster::start_trusting();
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let mut s = url_server(proxy.port, &["--pool-size", "1"]);
    s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm"}));
    let before = proxy.counters();
    proxy.hold();
    let id = s.start_call("readonly_query", json!({"sql": "SELECT length($1) AS n", "params": ["q".repeat(2 * MIB)]}));
    proxy.wait_until("the read answered in the database", |c| c.ready >= before.ready + 3);
    proxy.cut();
    let result = s.response(&id)["result"].clone();
    let msg = text(&result);
    assert_eq!(result["isError"], json!(true), "{msg}");
    assert!(msg.contains("a message of 2.0 MiB") && msg.contains("not sent again"), "{msg}");
    assert_eq!(proxy.counters().connections, before.connections, "not retried on a new connection");
    // A small read lost the same way is retried, as before (a network fault, not the size limit).
    s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm_again"}));
    let before = proxy.counters();
    proxy.hold();
    let id = s.start_call("readonly_query", json!({"sql": "SELECT 2 AS n"}));
    proxy.wait_until("the small read answered in the database", |c| c.ready >= before.ready + 3);
    proxy.cut();
    let result = s.response(&id)["result"].clone();
    assert_eq!(result["isError"], json!(false), "{}", text(&result));
    assert_eq!(result["structuredContent"]["attempts"], json!(2));
    assert_eq!(proxy.counters().connections, before.connections + 1, "retried on a new connection");
}
