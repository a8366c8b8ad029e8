//! `explain_query` end to end: the real binary over stdio in local mode, on tables made large enough in each test
//! for the planner to care. Each finding appears for a query that deserves it and disappears once its own fix
//! (the SQL the finding gives) is applied; try_indexes lowers the cost and leaves no index behind; analyze is
//! refused for writes and for an EXPLAIN smuggled into `sql`; the time budget and cancellation hold.

mod common;

use common::{Server, count, table};
use serde_json::{Value, json};

/// A server that creates test data: writes allowed, DSQL's statement rules off (one call may insert many rows).
fn seeder() -> Server {
    Server::local(&["--allow-writes", "--rules", "off"])
}

fn run(s: &mut Server, sql: &[String]) {
    s.ok("transact", json!({ "sql_list": sql }));
}

/// Inserts `rows(from, to)` for g in 1..=n, in batches under the sandbox's 3,000-row transaction limit.
fn fill(s: &mut Server, n: u32, rows: impl Fn(u32, u32) -> String) {
    for start in (1..=n).step_by(2500) {
        run(s, &[rows(start, (start + 2499).min(n))]);
    }
}

/// `t`: 50,000 rows, primary key only. customer_id has 1,000 values, a 100, status 'open' on 1% of the rows.
fn big_table(s: &mut Server, t: &str) {
    run(
        s,
        &[format!(
            "CREATE TABLE {t} (id bigint PRIMARY KEY, customer_id int, a int, b int, status text, email text, \
             created_at timestamp, note text)"
        )],
    );
    fill(s, 50_000, |from, to| {
        format!(
            "INSERT INTO {t} SELECT g, g % 1000, g % 100, (g / 100) % 100, \
             CASE WHEN g % 100 = 0 THEN 'open' ELSE 'done' END, 'user' || g || '@example.org', \
             timestamp '2026-01-01' + g * interval '1 minute', 'note ' || g FROM generate_series({from}, {to}) g"
        )
    });
    run(s, &[format!("ANALYZE {t}")]);
}

fn explain(s: &mut Server, args: Value) -> Value {
    s.ok("explain_query", args)
}

fn codes(r: &Value) -> Vec<String> {
    r["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

fn finding<'a>(r: &'a Value, code: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {}", r["text"].as_str().unwrap_or_default()))
}

/// Applies a finding's fix as given (DSQL's ASYNC form), waiting for the index job when it makes one.
fn apply(s: &mut Server, fix: &str) {
    let r = s.ok("transact", json!({ "sql_list": [fix] }));
    if let Some(job) = r["result"][0]["job_id"].as_str() {
        s.ok("transact", json!({ "sql_list": [format!("CALL sys.wait_for_job('{job}')")] }));
    }
}

fn indexes_of(s: &mut Server, t: &str) -> i64 {
    count(s, &format!("SELECT count(*) AS n FROM pg_indexes WHERE tablename = '{t}'"))
}

#[test]
fn full_scan_of_a_large_table_gets_an_index_and_not_once_it_exists() {
    let t = table("ex_full");
    let mut w = seeder();
    big_table(&mut w, &t);
    let mut s = Server::local(&[]);
    let q = json!({"sql": format!("SELECT id FROM {t} WHERE customer_id = 42")});
    let r = explain(&mut s, q.clone());
    assert_eq!(r["analyzed"], json!(false));
    assert_eq!(r["plan"]["node_type"], json!("Seq Scan"), "{}", r["text"]);
    let f = finding(&r, "full_scan_filtered");
    let fix = f["fix"].as_str().unwrap().to_string();
    assert_eq!(fix, format!("CREATE INDEX ASYNC {t}_customer_id_idx ON public.{t} (customer_id);"));
    assert!(f["message"].as_str().unwrap().contains("50,000 rows"), "{f}");
    assert!(r["text"].as_str().unwrap().contains("⚠ [full_scan_filtered]"), "{}", r["text"]);
    apply(&mut w, &fix);
    let r = explain(&mut s, q);
    assert!(!codes(&r).contains(&"full_scan_filtered".to_string()), "{}", r["text"]);
    assert_ne!(r["plan"]["node_type"], json!("Seq Scan"));
}

#[test]
fn try_indexes_lowers_the_cost_and_leaves_no_index_behind() {
    let t = table("ex_try");
    let mut w = seeder();
    big_table(&mut w, &t);
    // Read-only server: the trial is rolled back, so it needs no --allow-writes in local mode.
    let mut s = Server::local(&[]);
    let before_indexes = indexes_of(&mut s, &t);
    let r = explain(
        &mut s,
        json!({"sql": format!("SELECT id FROM {t} WHERE customer_id = 42"),
               "try_indexes": [format!("CREATE INDEX ASYNC {t}_trial ON {t} (customer_id)")]}),
    );
    let trial = &r["index_trial"];
    assert_eq!(trial["tried"], json!(true), "{trial}");
    assert_eq!(trial["helps"], json!(true), "{trial}");
    assert!(trial["cost_after"].as_f64().unwrap() < trial["cost_before"].as_f64().unwrap() / 2.0, "{trial}");
    assert_eq!(trial["indexes_used"], json!([format!("{t}_trial")]));
    assert_eq!(trial["indexes"], json!([format!("CREATE INDEX {t}_trial ON {t}(customer_id)")]));
    assert!(trial["nodes_before"].to_string().contains("Seq Scan"), "{trial}");
    assert!(!trial["nodes_after"].to_string().contains("Seq Scan"), "{trial}");
    // The plan itself is the one before the trial, with its finding.
    assert!(codes(&r).contains(&"full_scan_filtered".to_string()));
    assert_eq!(indexes_of(&mut s, &t), before_indexes, "an index was left behind");
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM sys.jobs WHERE object_name LIKE '{t}%'")), 0);
    // With analyze: the analyzed plan (READ ONLY) and the trial; still nothing left.
    let r = explain(
        &mut s,
        json!({"sql": format!("SELECT id FROM {t} WHERE customer_id = 42"), "analyze": true,
               "try_indexes": [format!("CREATE INDEX {t}_trial2 ON {t} (customer_id)")]}),
    );
    assert_eq!(r["index_trial"]["helps"], json!(true));
    assert_eq!(r["summary"]["actual_rows"], json!(50.0));
    assert_eq!(indexes_of(&mut s, &t), before_indexes, "an index was left behind");
}

#[test]
fn try_indexes_accepts_create_index_and_nothing_else() {
    let t = table("ex_tryref");
    let mut w = seeder();
    run(&mut w, &[format!("CREATE TABLE {t} (id int PRIMARY KEY, a int)")]);
    let mut s = Server::local(&[]);
    let q = format!("SELECT id FROM {t} WHERE a = 1");
    for bad in [
        format!("DROP TABLE {t}"),
        format!("CREATE INDEX ON {t} (a); DROP TABLE {t}"),
        format!("CREATE TABLE {t}_x (a int)"),
        format!("CREATE INDEX ON {t} ((pg_terminate_backend(a)))"),
    ] {
        let e = s.err("explain_query", json!({"sql": q, "try_indexes": [bad]}));
        assert!(e.contains("try_indexes entry 1"), "{bad}: {e}");
    }
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 0, "the table is still there");
    assert_eq!(indexes_of(&mut s, &t), 1);
}

#[test]
fn a_function_on_the_column_is_not_pushed_down_until_an_expression_index_serves_it() {
    let t = table("ex_fn");
    let mut w = seeder();
    big_table(&mut w, &t);
    let mut s = Server::local(&[]);
    let q = json!({"sql": format!("SELECT id FROM {t} WHERE lower(email) = 'user5@example.org'")});
    let r = explain(&mut s, q.clone());
    let f = finding(&r, "filter_not_pushed_down");
    assert!(f["message"].as_str().unwrap().contains("wrapped in lower"), "{f}");
    assert!(!codes(&r).contains(&"full_scan_filtered".to_string()), "{}", r["text"]);
    apply(&mut w, f["fix"].as_str().unwrap());
    let r = explain(&mut s, q);
    assert!(!codes(&r).contains(&"filter_not_pushed_down".to_string()), "{}", r["text"]);

    // A cast on the column (a type mismatch): said why, fixed by comparing with the column's own type.
    let r = explain(&mut s, json!({"sql": format!("SELECT id FROM {t} WHERE customer_id::numeric = 42.0")}));
    assert!(finding(&r, "filter_not_pushed_down")["message"].as_str().unwrap().contains("cast to numeric"));
    let r = explain(&mut s, json!({"sql": format!("SELECT id FROM {t} WHERE customer_id = 42")}));
    assert!(!codes(&r).contains(&"filter_not_pushed_down".to_string()), "{}", r["text"]);

    // A LIKE that starts with a wildcard; its prefix form is not this finding.
    let r = explain(&mut s, json!({"sql": format!("SELECT id FROM {t} WHERE note LIKE '%99'")}));
    assert!(finding(&r, "filter_not_pushed_down")["message"].as_str().unwrap().contains("wildcard"));
    let r = explain(&mut s, json!({"sql": format!("SELECT id FROM {t} WHERE note LIKE 'note 99%'")}));
    assert!(!codes(&r).contains(&"filter_not_pushed_down".to_string()), "{}", r["text"]);
}

#[test]
fn order_by_limit_over_a_big_sort_gets_an_index_in_filter_then_sort_order() {
    let t = table("ex_sort");
    let mut w = seeder();
    big_table(&mut w, &t);
    let mut s = Server::local(&[]);
    let q = json!({"sql": format!("SELECT id FROM {t} WHERE status = 'done' ORDER BY created_at DESC LIMIT 5")});
    let r = explain(&mut s, q.clone());
    let f = finding(&r, "sort_for_limit");
    let fix = f["fix"].as_str().unwrap().to_string();
    assert_eq!(fix, format!("CREATE INDEX ASYNC {t}_status_created_at_idx ON public.{t} (status, created_at);"));
    apply(&mut w, &fix);
    let r = explain(&mut s, q);
    assert!(!codes(&r).contains(&"sort_for_limit".to_string()), "{}", r["text"]);
}

#[test]
fn stale_statistics_are_found_with_analyze_and_gone_after_analyze() {
    let t = table("ex_stale");
    let mut w = seeder();
    run(&mut w, &[format!("CREATE TABLE {t} (id bigint PRIMARY KEY, status text)")]);
    // No background ANALYZE for this table: the test decides when statistics are taken.
    run(&mut w, &[format!("ALTER TABLE {t} SET (autovacuum_enabled = false)")]);
    run(&mut w, &[format!("INSERT INTO {t} SELECT g, 'a' FROM generate_series(1, 1000) g")]);
    run(&mut w, &[format!("ANALYZE {t}")]);
    fill(&mut w, 50_000, |from, to| {
        format!("INSERT INTO {t} SELECT g + 1000, 'b' FROM generate_series({from}, {to}) g")
    });
    let mut s = Server::local(&[]);
    let q = json!({"sql": format!("SELECT count(*) FROM {t} WHERE status = 'b'"), "analyze": true});
    // Without analyze there are no actual rows to compare.
    let plain = explain(&mut s, json!({"sql": q["sql"]}));
    assert!(!codes(&plain).contains(&"estimate_off".to_string()), "{}", plain["text"]);
    let r = explain(&mut s, q.clone());
    assert_eq!(r["analyzed"], json!(true));
    assert!(r["summary"]["execution_ms"].as_f64().is_some(), "{}", r["summary"]);
    let f = finding(&r, "estimate_off");
    assert_eq!(f["fix"], json!(format!("ANALYZE public.{t};")));
    apply(&mut w, f["fix"].as_str().unwrap());
    let r = explain(&mut s, q);
    assert!(!codes(&r).contains(&"estimate_off".to_string()), "{}", r["text"]);
}

#[test]
fn an_index_scan_that_reads_far_more_than_it_returns_gets_a_wider_index() {
    let t = table("ex_reads");
    let mut w = seeder();
    big_table(&mut w, &t);
    run(&mut w, &[format!("CREATE INDEX {t}_a ON {t} (a)")]);
    run(&mut w, &[format!("ANALYZE {t}")]);
    let mut s = Server::local(&[]);
    let q = json!({"sql": format!("SELECT id FROM {t} WHERE a = 5 AND b = 3"), "analyze": true});
    let r = explain(&mut s, q.clone());
    let f = finding(&r, "reads_far_more_than_returned");
    let fix = f["fix"].as_str().unwrap().to_string();
    assert_eq!(fix, format!("CREATE INDEX ASYNC {t}_a_b_idx ON public.{t} (a, b);"));
    apply(&mut w, &fix);
    let r = explain(&mut s, q);
    assert!(!codes(&r).contains(&"reads_far_more_than_returned".to_string()), "{}", r["text"]);
}

#[test]
fn a_nested_loop_scanning_its_inner_table_per_row_gets_an_index_on_the_join_column() {
    let big = table("ex_nl_big");
    let small = table("ex_nl_small");
    let mut w = seeder();
    big_table(&mut w, &big);
    run(&mut w, &[format!("CREATE TABLE {small} (id int PRIMARY KEY, lo int, hi int)")]);
    run(&mut w, &[format!("INSERT INTO {small} SELECT g, g * 10, g * 10 + 5 FROM generate_series(1, 50) g")]);
    run(&mut w, &[format!("ANALYZE {small}")]);
    let mut s = Server::local(&[]);
    // A LATERAL subquery runs once per outer row: without an index each run scans the big table.
    let q = json!({"sql": format!(
        "SELECT s.id, x.n FROM {small} s CROSS JOIN LATERAL \
         (SELECT count(*) AS n FROM {big} b WHERE b.customer_id = s.lo) x")});
    let r = explain(&mut s, q.clone());
    let f = finding(&r, "nested_loop_inner_scan");
    let fix = f["fix"].as_str().unwrap().to_string();
    assert_eq!(fix, format!("CREATE INDEX ASYNC {big}_customer_id_idx ON public.{big} (customer_id);"));
    apply(&mut w, &fix);
    let r = explain(&mut s, q);
    assert!(!codes(&r).contains(&"nested_loop_inner_scan".to_string()), "{}", r["text"]);
}

#[test]
fn analyze_is_refused_for_writes_with_the_equivalent_select_and_for_smuggled_explain() {
    let t = table("ex_guard");
    let mut w = seeder();
    run(&mut w, &[format!("CREATE TABLE {t} (id int PRIMARY KEY, status text, customer_id int)")]);
    run(&mut w, &[format!("INSERT INTO {t} SELECT g, 'new', g % 10 FROM generate_series(1, 100) g")]);
    for mut s in [Server::local(&[]), Server::local(&["--allow-writes"])] {
        let e = s.err(
            "explain_query",
            json!({"sql": format!("UPDATE {t} SET status = 'paid' WHERE customer_id = 7"), "analyze": true}),
        );
        assert!(e.contains("never analyzed"), "{e}");
        assert!(e.contains(&format!("SELECT 'paid' AS status FROM {t} WHERE customer_id = 7")), "{e}");
        let e = s.err("explain_query", json!({"sql": format!("DELETE FROM {t} WHERE id < 50"), "analyze": true}));
        assert!(e.contains(&format!("SELECT * FROM {t} WHERE id < 50")), "{e}");
        for smuggled in [
            format!("EXPLAIN ANALYZE DELETE FROM {t}"),
            format!("EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM {t}"),
            format!("explain (analyse) delete from {t}"),
            format!("/* x */ EXPLAIN ANALYZE UPDATE {t} SET status = 'x'"),
            format!("SELECT 1; DELETE FROM {t}"),
            format!("SELECT 1) DELETE FROM {t} --"),
        ] {
            for analyze in [false, true] {
                s.err("explain_query", json!({"sql": smuggled, "analyze": analyze}));
            }
        }
        // A data-modifying WITH is a write too.
        s.err(
            "explain_query",
            json!({"sql": format!("WITH d AS (DELETE FROM {t} RETURNING id) SELECT count(*) FROM d"), "analyze": true}),
        );
        // Without analyze a write is planned, never run.
        let r = explain(&mut s, json!({"sql": format!("DELETE FROM {t} WHERE id < 50")}));
        assert_eq!(r["plan"]["node_type"], json!("ModifyTable"), "{}", r["text"]);
        assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 100);
        assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE status <> 'new'")), 0);
    }
}

#[test]
fn explain_query_is_listed_in_read_only_mode_and_binds_params() {
    let mut s = Server::local(&[]);
    let list = s.request("tools/list", json!({}));
    let names: Vec<&str> =
        list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"explain_query"), "{names:?}");
    let r = explain(&mut s, json!({"sql": "SELECT $1::int + 1 AS x", "params": ["41"], "analyze": true}));
    assert_eq!(r["summary"]["actual_rows"], json!(1.0));
    assert_eq!(r["plan"]["node_type"], json!("Result"));
}

#[test]
fn the_time_budget_stops_an_analyze() {
    let mut s = Server::local(&["--statement-timeout", "1"]);
    let e = s.err(
        "explain_query",
        json!({"sql": "SELECT count(*) FROM generate_series(1, 20000000000) g", "analyze": true}),
    );
    assert!(e.to_lowercase().contains("time"), "{e}");
    // The connection is clean for the next call.
    assert_eq!(s.rows("SELECT 1 AS n"), vec![json!({"n": 1})]);
}

#[test]
fn a_cancelled_analyze_stops_its_query_at_once() {
    let tag = table("ex_cancel");
    let mut s = Server::local(&["--pool-size", "1", "--statement-timeout", "600"]);
    let mut watcher = Server::local(&[]);
    let id = s.start_call(
        "explain_query",
        json!({"sql": format!("SELECT count(*), '{tag}' FROM generate_series(1, 20000000000) g"), "analyze": true}),
    );
    let running = |w: &mut Server| {
        count(
            w,
            &format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() \
                 AND query LIKE '%' || '{tag}' || '%'"
            ),
        )
    };
    let mut seen = false;
    for _ in 0..6000 {
        if running(&mut watcher) == 1 {
            seen = true;
            break;
        }
    }
    assert!(seen, "the analyze never ran");
    s.notify("notifications/cancelled", json!({"requestId": id}));
    // Pool size 1: this call runs only once the cancelled one gave its connection back.
    assert_eq!(s.rows("SELECT 1 AS n"), vec![json!({"n": 1})]);
    assert_eq!(running(&mut watcher), 0);
}

#[test]
fn on_a_database_url_try_indexes_needs_allow_writes_and_leaves_nothing_behind() {
    let mut local = Server::local(&[]);
    local.rows("SELECT 1 AS n");
    let url = common::url_database("ex_url");
    let t = table("ex_url_t");
    let mut w = common::url(&url, &["--allow-writes", "--rules", "off"]);
    big_table(&mut w, &t);
    let args = json!({"sql": format!("SELECT id FROM {t} WHERE customer_id = 42"),
                      "try_indexes": [format!("CREATE INDEX ASYNC {t}_trial ON {t} (customer_id)")]});
    // Read-only server on a database others may share: the build's lock would block their writes.
    let mut ro = common::url(&url, &[]);
    let e = ro.err("explain_query", args.clone());
    assert!(e.contains("--allow-writes"), "{e}");
    // The plan alone needs nothing.
    assert!(codes(&explain(&mut ro, json!({"sql": args["sql"]}))).contains(&"full_scan_filtered".to_string()));
    let r = explain(&mut w, args);
    assert_eq!(r["index_trial"]["helps"], json!(true), "{}", r["index_trial"]);
    assert_eq!(indexes_of(&mut ro, &t), 1, "an index was left behind");
}
