//! Round trips per tool call, counted on the wire without any timing: a proxy between the real server binary and
//! PostgreSQL holds the database's answers, and the test checks that every request of a call reached the database
//! before any answer reached the server (one round trip), then lets the answers through and checks that nothing
//! more was sent. A call that needed an answer before sending its next request would never get there.

mod common;
mod dsql_support;

use std::time::Duration;

use common::proxy::Proxy;
use common::{Server, text};
use dsql_support::PgCluster;
use serde_json::{Value, json};

/// A server on the proxy as plain PostgreSQL (`--rules off`): the execution path a DSQL cluster gets. By default
/// `--database-url` emulates DSQL, whose writes run statement by statement (quotas and row counts are checked
/// between statements) and are not what these tests count.
fn url_server(proxy: &Proxy, extra: &[&str]) -> Server {
    let url = PgCluster::plain_url(proxy.port);
    let mut args = vec!["--database-url", url.as_str(), "--pool-size", "1"];
    // The plain path unless a test asks for the DSQL emulation.
    if !extra.contains(&"--rules") {
        args.extend_from_slice(&["--rules", "off"]);
    }
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A proxy in front of `pg` and a [`url_server`] on it whose connection is already open and warm.
fn warm_server(pg: &PgCluster, extra: &[&str]) -> (Proxy, Server) {
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let mut s = url_server(&proxy, extra);
    s.ok("readonly_query", json!({"sql": "SELECT 1 AS warm"}));
    (proxy, s)
}

/// Run one call with the database's answers held until `requests` requests (each a Sync or a simple Query) have
/// been answered; returns the call's result.
fn one_round_trip(s: &mut Server, proxy: &Proxy, tool: &str, args: Value, requests: u64) -> Value {
    let before = proxy.counters();
    proxy.hold();
    let id = s.start_call(tool, args.clone());
    proxy.wait_until(&format!("{tool}: {requests} requests sent and answered with no answer delivered"), |c| {
        c.requests >= before.requests + requests && c.ready >= before.requests + requests
    });
    proxy.release();
    let response = s.response(&id);
    let after = proxy.counters();
    assert_eq!(
        after.requests - before.requests,
        requests,
        "{tool}({args}): requests sent after the first answers arrived (more than one round trip)"
    );
    assert_eq!(after.connections, before.connections, "{tool}: the warm connection was not reused");
    assert_eq!(response["result"]["isError"], json!(false), "{tool}({args}) failed: {}", text(&response["result"]));
    response["result"]["structuredContent"].clone()
}

#[test]
fn every_database_tool_costs_one_round_trip_on_a_warm_connection() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);

    // BEGIN READ ONLY, the statement, ROLLBACK.
    let r = one_round_trip(&mut s, &proxy, "readonly_query", json!({"sql": "SELECT 1 AS one"}), 3);
    assert_eq!(r["result"], json!([{"one": 1}]));
    let r = one_round_trip(
        &mut s,
        &proxy,
        "readonly_query",
        json!({"sql": "SELECT $1::int + 1 AS n, $2 AS s", "params": ["41", "text"]}),
        3,
    );
    assert_eq!(r["result"], json!([{"n": 42, "s": "text"}]));
    assert_eq!(r["columns"], json!([{"name": "n", "type": "int4"}, {"name": "s", "type": "text"}]));

    // BEGIN, one DDL, COMMIT.
    let r = one_round_trip(
        &mut s,
        &proxy,
        "transact",
        json!({"sql_list": ["CREATE TABLE rt_more (id int PRIMARY KEY)"]}),
        3,
    );
    assert_eq!(r["statements"], json!([{"command": "CREATE TABLE", "rows_affected": 0}]));

    // BEGIN, N INSERTs, COMMIT: one round trip for any N.
    for n in [5u64, 50] {
        let base = if n == 5 { 0 } else { 100 };
        let sql_list: Vec<&str> =
            (0..n).map(|_| "INSERT INTO rt_items (id, name, price) VALUES ($1, $2, $3)").collect();
        let params: Vec<Value> = (0..n).map(|i| json!([(base + i).to_string(), format!("item {i}"), "9.99"])).collect();
        let r = one_round_trip(&mut s, &proxy, "transact", json!({"sql_list": sql_list, "params_list": params}), n + 2);
        let statements = r["statements"].as_array().unwrap();
        assert_eq!(statements.len() as u64, n);
        assert!(statements.iter().all(|st| st == &json!({"command": "INSERT", "rows_affected": 1})), "{r}");
        assert_eq!(r["attempts"], json!(1));
    }
    assert_eq!(pg.psql("SELECT count(*) FROM rt_items").trim(), "55");

    // Plain statements without bound values: BEGIN, all but the last as ONE simple query (one answer, one flush
    // for all of them), the last, COMMIT.
    let sql_list: Vec<String> =
        (0..50).map(|i| format!("INSERT INTO rt_items (id, name) VALUES ({}, 'it''s item {i}')", 1000 + i)).collect();
    let r = one_round_trip(&mut s, &proxy, "transact", json!({"sql_list": sql_list}), 4);
    let statements = r["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 50);
    assert!(statements.iter().all(|st| st == &json!({"command": "INSERT", "rows_affected": 1})), "{r}");
    assert_eq!(pg.psql("SELECT count(*), min(name) FROM rt_items WHERE id >= 1000").trim(), "50|it's item 0");

    // The relations the name can mean with their columns, their constraints, their indexes: BEGIN READ ONLY,
    // 3 reads, ROLLBACK. The first time on a connection the 3 reads also go as named statements to keep (a
    // prepare each, in the same round trip); from then on they are only bound: PostgreSQL parses nothing.
    let before = proxy.counters();
    let r = one_round_trip(&mut s, &proxy, "get_schema", json!({"table_name": "RT_ITEMS"}), 5 + 3);
    assert_eq!(proxy.counters().parses - before.parses, 3 + 3, "3 reads unnamed, 3 kept");
    let cols: Vec<&str> = r["result"].as_array().unwrap().iter().map(|c| c["column_name"].as_str().unwrap()).collect();
    assert_eq!(cols, vec!["id", "name", "price"]);
    assert_eq!(r["primary_key"], json!(["id"]));
    assert_eq!(r["indexes"].as_array().unwrap().len(), 1, "{r}");
    for _ in 0..2 {
        let before = proxy.counters();
        let again = one_round_trip(&mut s, &proxy, "get_schema", json!({"table_name": "rt_items"}), 5);
        assert_eq!(proxy.counters().parses - before.parses, 0, "the kept reads are bound, not parsed again");
        assert_eq!(again, r);
    }

    // A name that means no table: that round trip, then a second one (BEGIN READ ONLY, every relation's name,
    // ROLLBACK) for the close names to suggest; that read is kept too (one more request, the first time).
    for requests in [5 + 3 + 1, 5 + 3] {
        let before = proxy.counters();
        let msg = s.err("get_schema", json!({"table_name": "rt_itemz"}));
        assert!(msg.contains("was not found. Did you mean: <untrusted-data id="), "{msg}");
        assert!(msg.contains("\">public.rt_items</untrusted-data id="), "{msg}");
        assert_eq!(proxy.counters().requests - before.requests, requests, "{msg}");
    }

    // A table with no columns is found (its one row carries no column), in one round trip. A table created since
    // the reads were kept is found by them: the plans read the catalog at each call.
    pg.psql("CREATE TABLE rt_no_columns ()");
    let r = one_round_trip(&mut s, &proxy, "get_schema", json!({"table_name": "rt_no_columns"}), 5);
    assert_eq!(r["result"], json!([]), "{r}");
    assert_eq!(r["table"], json!({"schema": "public", "name": "rt_no_columns", "kind": "table"}), "{r}");
}

#[test]
fn a_failing_statement_in_a_pipelined_transaction_commits_nothing() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_atomic (id int PRIMARY KEY)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);
    let before = proxy.counters();
    let msg = s.err(
        "transact",
        json!({"sql_list": [
            "INSERT INTO rt_atomic VALUES (1)",
            "INSERT INTO rt_atomic VALUES (1)",
            "INSERT INTO rt_atomic VALUES (2)",
        ]}),
    );
    assert!(msg.contains("ERROR 23505") && msg.contains("statement 2 of 3"), "{msg}");
    assert!(msg.contains("nothing from this call was committed"), "{msg}");
    // The first two went as one batch that stopped at the second; the third answered 25P02 and COMMIT answered
    // ROLLBACK: nothing is there.
    assert_eq!(pg.psql("SELECT count(*) FROM rt_atomic").trim(), "0");
    // An integrity error is never retried: one attempt, four requests (BEGIN, the batch, the last, COMMIT).
    assert_eq!(proxy.counters().requests - before.requests, 4);
    // The connection is clean for the next call.
    s.ok("transact", json!({"sql_list": ["INSERT INTO rt_atomic VALUES (3)"]}));
    assert_eq!(pg.psql("SELECT count(*) FROM rt_atomic").trim(), "1");
}

/// A batch reports its failures like single statements do: which statement, and where in it.
#[test]
fn a_statement_failing_inside_a_batch_is_named_with_its_own_position() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_batch (id int PRIMARY KEY, note text)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);

    // Found while running the batch (after two statements completed): 23 characters precede "nosuch".
    let msg = s.err(
        "transact",
        json!({"sql_list": [
            "INSERT INTO rt_batch VALUES (1)",
            "INSERT INTO rt_batch VALUES (2)",
            "INSERT INTO rt_batch (nosuch) VALUES (3)",
            "INSERT INTO rt_batch VALUES (4)",
        ]}),
    );
    assert!(msg.contains("ERROR 42703") && msg.contains("statement 3 of 4 near character 23: "), "{msg}");
    assert_eq!(pg.psql("SELECT count(*) FROM rt_batch").trim(), "0");

    // Found when PostgreSQL parses the batch (our checks accept MySQL's table options; PostgreSQL does not), so
    // nothing in it ran: still the right statement, and the statement after the batch did not run on its own.
    let msg = s.err(
        "transact",
        json!({"sql_list": [
            "INSERT INTO rt_batch VALUES (5)",
            "CREATE TABLE rt_engine (id int) ENGINE = InnoDB",
            "INSERT INTO rt_batch VALUES (6)",
        ]}),
    );
    assert!(msg.contains("ERROR 42601") && msg.contains("statement 2 of 3"), "{msg}");
    assert_eq!(pg.psql("SELECT count(*) FROM rt_batch").trim(), "0");
    assert_eq!(pg.psql("SELECT count(*) FROM pg_class WHERE relname = 'rt_engine'").trim(), "0");

    // A literal holding `;` is not plain: that statement goes on its own, and the value arrives whole.
    let before = proxy.counters();
    s.ok(
        "transact",
        json!({"sql_list": [
            "INSERT INTO rt_batch VALUES (7, 'a')",
            "INSERT INTO rt_batch VALUES (8, 'b;c')",
            "INSERT INTO rt_batch VALUES (9, 'd')",
        ]}),
    );
    // BEGIN, three statements (no two plain ones in a row before the last), COMMIT.
    assert_eq!(proxy.counters().requests - before.requests, 5);
    assert_eq!(pg.psql("SELECT string_agg(note, ',' ORDER BY id) FROM rt_batch").trim(), "a,b;c,d");
}

#[test]
fn placeholder_counts_are_checked_before_anything_is_sent() {
    let pg = PgCluster::start_trusting();
    let (proxy, mut s) = warm_server(&pg, &[]);
    let before = proxy.counters();
    let msg = s.err("readonly_query", json!({"sql": "SELECT $1::int + $2::int", "params": ["1"]}));
    assert!(msg.contains("2 placeholder(s) but 1 parameter(s)"), "{msg}");
    assert_eq!(proxy.counters(), before, "a refused call sent something");
}

/// More than 64 KiB of SQL is checked on a blocking thread (the server's own thread stays free): the same checks,
/// the same one round trip, the same refusals before anything is sent.
#[test]
fn large_calls_are_checked_off_the_server_thread_with_the_same_outcome() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_large (id int PRIMARY KEY, note text)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes", "--rules", "off"]);
    let note = "n".repeat(100);
    let inserts: Vec<String> =
        (0..1000).map(|i| format!("INSERT INTO rt_large (id, note) VALUES ({i}, '{note}')")).collect();
    assert!(inserts.iter().map(String::len).sum::<usize>() > 100 * 1024);
    // BEGIN, the first 999 INSERTs joined into batches of at most 64 KiB of text (`\n;\n` between statements),
    // the last INSERT, COMMIT.
    let (mut batches, mut bytes) = (1, 0);
    for sql in &inserts[..999] {
        if bytes > 0 && bytes + 3 + sql.len() > 64 * 1024 {
            (batches, bytes) = (batches + 1, 0);
        }
        bytes += if bytes == 0 { sql.len() } else { 3 + sql.len() };
    }
    assert_eq!(batches, 3);
    let r = one_round_trip(&mut s, &proxy, "transact", json!({"sql_list": inserts}), 1 + batches + 2);
    assert_eq!(r["statements"].as_array().map(Vec::len), Some(1000), "{r}");
    assert_eq!(pg.psql("SELECT count(*) FROM rt_large").trim(), "1000");

    let mut refused = inserts.clone();
    refused[700] = "DO $$ BEGIN END $$".to_string();
    let before = proxy.counters();
    let msg = s.err("transact", json!({"sql_list": refused}));
    assert!(msg.contains("DO blocks") && msg.contains("sql_list[700]"), "{}", &msg[..msg.len().min(300)]);
    assert_eq!(proxy.counters(), before, "a refused call sent something");
}

/// The connection the server opens right after `initialize` serves the first call, even when that call arrives
/// before the connection is ready: one connection, not two (the second would cost the same handshakes, started
/// later). Without the gate, the call's checkout finds no idle connection and opens its own.
#[test]
fn a_call_during_the_warm_up_waits_for_that_connection_instead_of_opening_another() {
    let pg = PgCluster::start_trusting();
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let url = PgCluster::plain_url(proxy.port);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = aurora_dsql_mcp_server::pool::Database::url(&url, 4, None, false).await.expect("pool");
        assert_eq!(proxy.counters().connections, 0, "the pool connects on first use");
        // Both start before either connection could be ready: the warm-up first, as the server spawns it at once.
        let (warmed, got) = tokio::join!(db.warm_up(), db.get());
        warmed.expect("warm-up");
        let client = got.expect("checkout");
        assert_eq!(client.query_one("SELECT 1", &[]).await.expect("query").get::<_, i32>(0), 1);
    });
    assert_eq!(proxy.counters().connections, 1, "the call opened a second connection during the warm-up");
}

/// Calls made one at a time keep using the connection used last (the pool is LIFO), so after a burst of parallel
/// calls opened several connections, one stays warm instead of the calls rotating through all of them.
#[test]
fn calls_made_one_at_a_time_reuse_the_connection_used_last() {
    let pg = PgCluster::start_trusting();
    let url = PgCluster::plain_url(pg.port);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = aurora_dsql_mcp_server::pool::Database::url(&url, 4, None, false).await.expect("pool");
        async fn pid(c: &tokio_postgres::Client) -> i32 {
            c.query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0)
        }
        let (first, second) = tokio::join!(db.get(), db.get());
        let (first, second) = (first.expect("checkout"), second.expect("checkout"));
        let (p1, p2) = (pid(&first).await, pid(&second).await);
        assert_ne!(p1, p2, "two connections");
        drop(first);
        drop(second);
        for _ in 0..3 {
            let c = db.get().await.expect("checkout");
            assert_eq!(pid(&c).await, p2, "not the connection returned last");
        }
    });
}

#[test]
fn json_array_parameters_still_bind_to_arrays_and_to_json() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_arrays (tags text[], doc jsonb)");
    let proxy = Proxy::start(pg.port, Duration::ZERO);
    let mut s = url_server(&proxy, &["--allow-writes"]);
    s.ok(
        "transact",
        json!({"sql_list": ["INSERT INTO rt_arrays (tags, doc) VALUES ($1, $2)"],
               "params_list": [[["a", "b c"], {"k": [1, 2]}]]}),
    );
    let rows = s.rows("SELECT tags, doc FROM rt_arrays");
    assert_eq!(rows, vec![json!({"tags": ["a", "b c"], "doc": {"k": [1, 2]}})]);
}

/// A JSON array bound where the statement's text says the parameter's type (a cast, `= ANY(…)`) costs what a
/// scalar does: the same one flight, with no description of the statement first. Only a text that does not say
/// (`VALUES ($1)` into an array column) is described first, one flight more.
#[test]
fn json_array_parameters_whose_type_the_text_says_cost_no_extra_round_trip() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_tagged (id int PRIMARY KEY, tags text[], doc jsonb)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);

    // BEGIN READ ONLY, the statement, ROLLBACK: as with `SELECT $1::int + 1` above.
    let r = one_round_trip(
        &mut s,
        &proxy,
        "readonly_query",
        json!({"sql": "SELECT $1::text[] AS tags, CAST($2 AS int[]) AS ns, 3 = ANY($3) AS has_3, $4::jsonb AS doc",
               "params": [["a", "b c", null, "\"q\""], [1, 2], [3, 4], [{"k": 1}, 2]]}),
        3,
    );
    assert_eq!(
        r["result"],
        json!([{"tags": ["a", "b c", null, "\"q\""], "ns": [1, 2], "has_3": true, "doc": [{"k": 1}, 2]}])
    );
    assert_eq!(r["columns"][0], json!({"name": "tags", "type": "text[]"}), "{r}");

    // BEGIN, the INSERT, COMMIT.
    let r = one_round_trip(
        &mut s,
        &proxy,
        "transact",
        json!({"sql_list": ["INSERT INTO rt_tagged VALUES ($1, $2::text[], $3::jsonb)"],
               "params_list": [[1, ["x", "y"], ["j"]]]}),
        3,
    );
    assert_eq!(r["statements"], json!([{"command": "INSERT", "rows_affected": 1}]));
    assert_eq!(pg.psql("SELECT tags, doc FROM rt_tagged WHERE id = 1").trim(), r#"{x,y}|["j"]"#);

    // Without a cast the column's type decides, which only the database knows: described first (one request in a
    // flight of its own), then BEGIN, the INSERT and COMMIT (and the description's Close, sent when it is dropped).
    let before = proxy.counters();
    s.ok(
        "transact",
        json!({"sql_list": ["INSERT INTO rt_tagged VALUES ($1, $2, $3)"], "params_list": [[2, ["z"], ["k"]]]}),
    );
    let requests = proxy.counters().requests - before.requests;
    assert!(requests >= 4, "described first, then BEGIN, INSERT, COMMIT: {requests} requests");
    assert_eq!(pg.psql("SELECT tags, doc FROM rt_tagged WHERE id = 2").trim(), r#"{z}|["k"]"#);
}

#[test]
fn writes_under_the_dsql_emulation_take_two_round_trips_for_any_number_of_statements() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_emulated (id int PRIMARY KEY)");
    // --database-url emulates DSQL by default: the row limit is checked on the answers before COMMIT.
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes", "--rules", "enforce"]);
    for n in [5u64, 50] {
        let before = proxy.counters();
        proxy.hold();
        let sql_list: Vec<String> =
            (0..n).map(|i| format!("INSERT INTO rt_emulated VALUES ({})", n * 100 + i)).collect();
        let id = s.start_call("transact", json!({"sql_list": sql_list}));
        // BEGIN, the lock timeout, all INSERTs but the last as one batch, and the last go out before any answer
        // arrives...
        proxy.wait_until("the statements sent and answered", |c| {
            c.requests >= before.requests + 4 && c.ready >= before.requests + 4
        });
        proxy.release();
        let response = s.response(&id);
        assert_eq!(response["result"]["isError"], json!(false), "{}", text(&response["result"]));
        // ...and COMMIT follows the answers: the second round trip.
        assert_eq!(proxy.counters().requests - before.requests, 5);
    }
    assert_eq!(pg.psql("SELECT count(*) FROM rt_emulated").trim(), "55");
}

/// `DEALLOCATE ALL` (DSQL accepts it) drops the statements `get_schema` keeps on the connection: the next
/// `get_schema` finds its kept read gone, forgets them and reads again, unnamed, instead of failing; then keeps them
/// again.
#[test]
fn get_schema_reads_again_when_its_kept_statements_were_deallocated() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_kept (id int PRIMARY KEY)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);
    let first = s.ok("get_schema", json!({"table_name": "rt_kept"}));
    s.ok("transact", json!({"sql_list": ["DEALLOCATE ALL"]}));

    let before = proxy.counters();
    let again = s.ok("get_schema", json!({"table_name": "rt_kept"}));
    assert_eq!(again, first);
    assert_eq!(again["primary_key"], json!(["id"]));
    assert_eq!(proxy.counters().connections, before.connections, "read again on the same connection");
    // The failed attempt bound the missing statements (no parse); the second parsed the 3 reads unnamed and 3 to
    // keep.
    assert_eq!(proxy.counters().parses - before.parses, 3 + 3);
    let before = proxy.counters();
    let r = one_round_trip(&mut s, &proxy, "get_schema", json!({"table_name": "rt_kept"}), 5);
    assert_eq!(proxy.counters().parses - before.parses, 0, "kept again");
    assert_eq!(r["primary_key"], json!(["id"]));
}

/// `COPY … FROM STDIN` / `TO STDOUT` pass the checks (as in the Python server) but need a data stream a tool call
/// does not have: refused before anything is sent, naming the statement and what to use instead. Sent, a COPY
/// would wait for data that never comes and a write would end as "outcome unknown".
#[test]
fn copy_with_a_client_stream_is_refused_before_anything_is_sent() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_copy (id int PRIMARY KEY)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);
    let before = proxy.counters();
    let msg = s.err("transact", json!({"sql_list": ["INSERT INTO rt_copy VALUES (1)", "COPY rt_copy FROM STDIN"]}));
    assert!(msg.contains("statement 2 of 2 is a COPY"), "{msg}");
    assert!(msg.contains("nothing was sent") && msg.contains("INSERT"), "{msg}");
    assert!(!msg.contains("OUTCOME UNKNOWN"), "{msg}");
    let msg = s.err("transact", json!({"sql_list": ["COPY (SELECT id FROM rt_copy) TO STDOUT"]}));
    assert!(msg.contains("the statement is a COPY") && msg.contains("SELECT"), "{msg}");
    assert_eq!(proxy.counters().requests, before.requests, "nothing reached the database");
    assert_eq!(pg.psql("SELECT count(*) FROM rt_copy").trim(), "0");
    // The connection is fine afterwards.
    s.ok("transact", json!({"sql_list": ["INSERT INTO rt_copy VALUES (1)"]}));
    assert_eq!(pg.psql("SELECT count(*) FROM rt_copy").trim(), "1");
}

/// The schema resources' catalog reads (the table list, and the names completion offers on every keystroke) are
/// kept prepared too: parsed once per connection, then only bound, one round trip each.
#[test]
fn schema_resource_reads_are_parsed_once_per_connection() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_listed (id int PRIMARY KEY)");
    let (proxy, mut s) = warm_server(&pg, &[]);
    let complete = json!({"ref": {"type": "ref/resource", "uri": "dsql://schema/{table}"},
                          "argument": {"name": "table", "value": "rt_l"}});
    for (method, params, contains) in [
        ("resources/read", json!({"uri": "dsql://schema"}), "rt_listed"),
        ("completion/complete", complete, "rt_listed"),
    ] {
        for (round, parses, requests) in [(1, 2, 3 + 1), (2, 0, 3), (3, 0, 3)] {
            let before = proxy.counters();
            let r = s.request(method, params.clone());
            assert!(r["result"].to_string().contains(contains), "{method} round {round}: {r}");
            let after = proxy.counters();
            assert_eq!(after.parses - before.parses, parses, "{method} round {round}: Parse messages");
            assert_eq!(after.requests - before.requests, requests, "{method} round {round}: requests");
            assert_eq!(after.turns - before.turns, 1, "{method} round {round}: one round trip");
        }
    }
}

/// A write that needs a look (`--confirm-destructive`, here `ask` with a client that cannot be asked) costs two
/// round trips: BEGIN, the statistics before, the DELETE, the statistics after and the count of its table's
/// remaining rows go in one flight; COMMIT, decided from their answers, is the second. A plain INSERT stays one.
#[test]
fn a_write_that_needs_a_look_costs_two_round_trips() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_look (id int PRIMARY KEY)");
    pg.psql("INSERT INTO rt_look SELECT generate_series(1, 10)");
    let (proxy, mut s) = warm_server(&pg, &["--allow-writes"]);
    // The first look also asks once whether the database has per-transaction statistics.
    s.ok("transact", json!({"sql_list": ["DELETE FROM rt_look WHERE id = 1"]}));
    let before = proxy.counters();
    proxy.hold();
    let id = s.start_call("transact", json!({"sql_list": ["DELETE FROM rt_look WHERE id = 2"]}));
    proxy.wait_until("the first flight of a looked-at DELETE", |c| {
        c.requests >= before.requests + 5 && c.ready >= before.requests + 5
    });
    proxy.release();
    let response = s.response(&id);
    assert_eq!(response["result"]["isError"], json!(false), "{response}");
    assert_eq!(proxy.counters().requests - before.requests, 6, "BEGIN, 2 statistics reads, DELETE, count; COMMIT");
    assert_eq!(pg.psql("SELECT count(*) FROM rt_look").trim(), "8");
    let r = one_round_trip(&mut s, &proxy, "transact", json!({"sql_list": ["INSERT INTO rt_look VALUES (100)"]}), 3);
    assert_eq!(r["statements"], json!([{"command": "INSERT", "rows_affected": 1}]));
}

#[test]
fn explain_query_costs_one_round_trip_with_or_without_analyze() {
    let pg = PgCluster::start_trusting();
    pg.psql("CREATE TABLE rt_explain (id int PRIMARY KEY, k int)");
    let (proxy, mut s) = warm_server(&pg, &[]);
    // BEGIN READ ONLY, the EXPLAIN, the tables' row counts (one text parameter: an array would cost a type
    // look-up), ROLLBACK: one flight.
    for args in [
        json!({"sql": "SELECT id FROM rt_explain WHERE k = 7"}),
        json!({"sql": "SELECT id FROM rt_explain WHERE k = $1", "params": ["7"]}),
        json!({"sql": "SELECT id FROM rt_explain WHERE k = $1", "params": ["7"], "analyze": true}),
    ] {
        let r = one_round_trip(&mut s, &proxy, "explain_query", args.clone(), 4);
        assert_eq!(r["analyzed"], args["analyze"].as_bool().map_or(json!(false), |a| json!(a)));
        assert_eq!(r["plan"]["relation"], json!("public.rt_explain"), "{r}");
    }
}
