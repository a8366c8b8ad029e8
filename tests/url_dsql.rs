//! `--database-url` on a plain PostgreSQL behaves like Aurora DSQL by default, as local mode does (async index
//! jobs in `sys.jobs`, `sys.wait_for_job`, the row limit, REPEATABLE READ, `AWS IAM GRANT/REVOKE`), with the `sys`
//! schema created on first use; `--rules off` gives plain PostgreSQL and creates nothing. The databases are new,
//! empty databases in the shared test sandbox, reached through a connection string as any PostgreSQL would be.

mod common;

use common::{Server, table, url, url_database};
use serde_json::json;

fn started_sandbox() -> Server {
    let mut local = Server::local(&[]);
    local.rows("SELECT 1 AS up");
    local
}

#[test]
fn database_url_answers_like_dsql_and_creates_sys_on_first_use() {
    let _sandbox = started_sandbox();
    let db = url_database("urlemu");
    let mut s = common::url_with_job_delay(&db, 3600, &["--allow-writes"]);
    let t = table("u");
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, a int)")]}));
    // Plain CREATE INDEX is refused as DSQL refuses it; the ASYNC form (a syntax error on PostgreSQL) works.
    let msg = s.err("transact", json!({"sql_list": [format!("CREATE INDEX {t}_i ON {t} (a)")]}));
    assert!(msg.contains("0A000") && msg.contains("unsupported mode. please use CREATE INDEX ASYNC."), "{msg}");
    let r = s.ok("transact", json!({"sql_list": [format!("CREATE INDEX ASYNC {t}_a ON {t} (a)")]}));
    let job = r["result"][0]["job_id"].as_str().expect("a job_id row").to_string();
    assert_eq!(job.len(), 26);
    let jobs = s.ok(
        "readonly_query",
        json!({"sql": "SELECT status, job_type FROM sys.jobs WHERE job_id = $1", "params": [job.clone()]}),
    );
    assert_eq!(jobs["result"], json!([{"status": "submitted", "job_type": "INDEX_BUILD"}]));
    s.ok("transact", json!({"sql_list": [format!("CALL sys.wait_for_job('{job}')")]}));
    assert_eq!(common::job_row(&mut s, &job)["status"], "completed");
    // DSQL's isolation level and row limit.
    assert_eq!(s.rows("SHOW transaction_isolation"), vec![json!({"transaction_isolation": "repeatable read"})]);
    let msg = s
        .err("transact", json!({"sql_list": [format!("INSERT INTO {t} SELECT g, g FROM generate_series(1, 3001) g")]}));
    assert!(msg.contains("54000") && msg.contains("transaction row limit exceeded"), "{msg}");
    // A second server on the same database finds sys in place (created once, idempotently).
    let mut again = url(&db, &[]);
    assert_eq!(again.rows("SELECT count(*)::int AS n FROM sys.jobs"), vec![json!({"n": 1})]);
}

#[test]
fn database_url_keeps_an_async_index_not_valid_until_its_job_is_waited_for() {
    let _sandbox = started_sandbox();
    let db = url_database("urlx12");
    let mut s = common::url_with_job_delay(&db, 3600, &["--allow-writes"]);
    common::async_index_is_not_valid_until_waited_for(&mut s, &table("x12"));
}

/// The background rule, in a database of its own: a server whose delay is 0 completes at its start every job
/// still submitted in its database, which would race the other tests' jobs in a shared one.
#[test]
fn database_url_completes_an_async_job_at_the_next_call_after_the_delay() {
    let _sandbox = started_sandbox();
    let db = url_database("urlbg");
    let mut s = common::url_with_job_delay(&db, 0, &["--allow-writes"]);
    common::async_job_completes_at_the_next_call_after_its_delay(&mut s, &table("bg"));
    // A job left submitted by a server that stopped completes when a server starts after the delay.
    let mut slow = common::url_with_job_delay(&db, 3600, &["--allow-writes"]);
    let t = table("left");
    slow.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, a int)")]}));
    let r = slow.ok("transact", json!({"sql_list": [format!("CREATE INDEX ASYNC {t}_a ON {t} (a)")]}));
    let job = r["result"][0]["job_id"].as_str().expect("a job_id row").to_string();
    assert_eq!(common::job_row(&mut slow, &job)["status"], "submitted");
    drop(slow);
    let mut next = common::url_with_job_delay(&db, 0, &[]);
    assert_eq!(common::job_row(&mut next, &job)["status"], "completed");
}

#[test]
fn aws_iam_grant_and_revoke_keep_mappings_in_sys_as_on_dsql() {
    let _sandbox = started_sandbox();
    let db = url_database("urliam");
    let role = table("app_rw");
    let arn = "arn:aws:iam::111122223333:role/orders-service";
    for mut s in [url(&db, &["--allow-writes"]), Server::local(&["--allow-writes"])] {
        let role = format!("{role}_{}", s.pid());
        s.ok("transact", json!({"sql_list": [format!("CREATE ROLE {role} WITH LOGIN")]}));
        s.ok("transact", json!({"sql_list": [format!("AWS IAM GRANT {role} TO '{arn}'")]}));
        let mapped = format!("SELECT pg_role_name, arn FROM sys.iam_pg_role_mappings WHERE pg_role_name = '{role}'");
        assert_eq!(s.rows(&mapped), vec![json!({"pg_role_name": role, "arn": arn})]);
        // It is the transaction's one DDL, and the role must exist.
        let msg = s.err(
            "transact",
            json!({"sql_list": [format!("AWS IAM GRANT {role} TO '{arn}'"), "CREATE TABLE iam_t (id int PRIMARY KEY)"]}),
        );
        assert!(msg.contains("multiple ddl statements not supported in a transaction"), "{msg}");
        let msg = s.err("transact", json!({"sql_list": [format!("AWS IAM GRANT no_such_{role} TO '{arn}'")]}));
        assert!(msg.contains("42704") && msg.contains("does not exist"), "{msg}");
        s.ok("transact", json!({"sql_list": [format!("AWS IAM REVOKE {role} FROM '{arn}'")]}));
        assert!(s.rows(&mapped).is_empty());
    }
    // Read-only mode refuses it as a write.
    let mut ro = url(&db, &[]);
    let msg = ro.err("transact", json!({"sql_list": [format!("AWS IAM GRANT {role} TO '{arn}'")]}));
    assert!(msg.contains("25006") && msg.contains("read-only"), "{msg}");
}

#[test]
fn rules_off_gives_plain_postgresql_and_creates_nothing() {
    let _sandbox = started_sandbox();
    let db = url_database("urlplain");
    let mut s = url(&db, &["--allow-writes", "--rules", "off"]);
    let t = table("p");
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, a int)")]}));
    s.ok("transact", json!({"sql_list": [format!("CREATE INDEX {t}_a ON {t} (a)")]}));
    let r =
        s.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} SELECT g, g FROM generate_series(1, 3001) g")]}));
    assert_eq!(r["statements"][0]["rows_affected"], json!(3001));
    assert_eq!(s.rows("SELECT to_regnamespace('sys') IS NULL AS absent"), vec![json!({"absent": true})]);
}

#[test]
fn a_large_result_of_an_application_enum_type_comes_back_whole() {
    // tokio-postgres looks up a non-built-in result type mid-response; with pipelined requests that lookup waited
    // behind the rows filling the connection's buffer and the call stalled until its timeout. Connections now
    // learn the database's types when they open.
    let _sandbox = started_sandbox();
    let db = url_database("urlenum");
    let t = table("moods");
    let mut seeder = url(&db, &["--rules", "off", "--allow-writes", "--confirm-destructive", "allow"]);
    seeder.ok("transact", json!({"sql_list": ["CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')"]}));
    seeder.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, m mood, pad text)")]}));
    seeder.ok(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {t} SELECT g, (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, \
                                     repeat('x', 200) FROM generate_series(1, 20000) g")]}),
    );
    drop(seeder);
    let mut s = url(&db, &["--rules", "off", "--statement-timeout", "20", "--max-rows", "100000", "--allow-writes"]);
    let r = s.ok("readonly_query", json!({"sql": format!("SELECT id, m, pad FROM {t} ORDER BY id")}));
    assert_eq!(r["truncated"], true, "stopped by --max-result-bytes, not by the timeout: {}", r["truncation"]);
    assert_eq!(r["result"][0], json!({"id": 1, "m": "ok", "pad": "x".repeat(200)}));
    let r =
        s.ok("readonly_query", json!({"sql": format!("SELECT array_agg(m ORDER BY id) AS ms FROM {t} WHERE id <= 3")}));
    assert_eq!(r["result"], json!([{"ms": ["ok", "happy", "sad"]}]));
    // A type created through this server, after its connections opened: they are replaced and learn it.
    s.ok("transact", json!({"sql_list": ["CREATE TYPE size AS ENUM ('s', 'm', 'l')"]}));
    s.ok("transact", json!({"sql_list": [format!("ALTER TABLE {t} ADD COLUMN sz size DEFAULT 'm'")]}));
    let r = s.ok("readonly_query", json!({"sql": format!("SELECT id, sz, pad FROM {t} ORDER BY id")}));
    assert_eq!(r["truncated"], true, "stopped by --max-result-bytes, not by the timeout: {}", r["truncation"]);
    assert_eq!(r["result"][1]["sz"], "m");
}

/// Catalog C13 (2026-12-07): DSQL refuses `default_transaction_read_only` as a startup parameter, so the emulation
/// refuses a connection string that sets it; plain PostgreSQL (`--rules off`) accepts it.
#[test]
fn a_read_only_startup_parameter_is_refused_as_dsql_refuses_it() {
    let _sandbox = started_sandbox();
    let db = format!("{} options='-c default_transaction_read_only=on'", url_database("urlro"));
    let mut s = url(&db, &[]);
    let msg = s.err("readonly_query", json!({"sql": "SELECT 1 AS one"}));
    assert!(msg.contains("default_transaction_read_only") && msg.contains("catalog C13"), "{msg}");
    assert!(msg.contains("BEGIN READ ONLY") && msg.contains("--rules off"), "{msg}");
    let mut plain = url(&db, &["--rules", "off"]);
    assert_eq!(plain.rows("SHOW default_transaction_read_only"), vec![json!({"default_transaction_read_only": "on"})]);
}
