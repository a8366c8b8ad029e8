//! The public SQL corpus through the MCP tools of the real binary, in both modes, against the local sandbox, with
//! the database checked afterwards: every refused write left nothing behind.

mod common;
#[allow(dead_code)]
mod corpus;

use common::Server;
use corpus::*;
use serde_json::{Value, json};

/// Tables and row counts of every user table: the database's state as far as a refused write could change it.
/// (One count per table: `query_to_xml`, which could count them all in one statement, runs SQL given as text and is
/// refused.)
fn fingerprint(s: &mut Server) -> Vec<Value> {
    let tables = s.rows(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    tables
        .iter()
        .map(|t| {
            let t = t["t"].as_str().unwrap_or_default();
            let n = s.rows(&format!("SELECT count(*)::text AS n FROM {t}"));
            json!({"t": t, "n": n.first().map(|r| r["n"].clone())})
        })
        .collect()
}

/// A refusal by the checks (not a database error): nothing was sent.
fn is_check_refusal(text: &str) -> bool {
    text.starts_with('[')
}

#[test]
fn corpus_through_mcp_in_both_modes_leaves_the_database_unchanged() {
    let mut admin = Server::local(&["--allow-writes"]);
    for t in ["users", "orders", "t", "entities", "staging", "old_data", "sensitive_data", "logs"] {
        let _ = admin.call("transact", json!({"sql_list": [format!("CREATE TABLE IF NOT EXISTS {t} (id int PRIMARY KEY, name text, status text)")]}));
        let _ = admin.call(
            "transact",
            json!({"sql_list": [format!("INSERT INTO {t} (id, name) VALUES (1, 'x') ON CONFLICT DO NOTHING")]}),
        );
    }
    let before = fingerprint(&mut admin);

    let mut ro = Server::local(&[]);
    let refused_ro: Vec<&str> =
        [RO_REJECT_WRITES, RO_REJECT_SESSION, RO_REJECT_STATEMENTS, TXN_CONTROL, STACKED, DANGEROUS, BYPASS].concat();
    for sql in &refused_ro {
        let r = ro.call("readonly_query", json!({"sql": sql}));
        assert_eq!(r["isError"], json!(true), "read-only mode let through: {sql}");
        let r = ro.call("transact", json!({"sql_list": [sql]}));
        assert_eq!(r["isError"], json!(true), "read-only transact let through: {sql}");
    }
    for sql in RO_ALLOW {
        let r = ro.call("readonly_query", json!({"sql": sql}));
        let text = common::text(&r);
        // DSQL itself refuses some must-allow items (SET TRANSACTION, rule T04): the catalog wins over the corpus.
        let guard_refusal = is_check_refusal(&text) && !text.starts_with("[dsql.");
        assert!(!(r["isError"] == json!(true) && guard_refusal), "false positive on {sql}: {text}");
    }

    let mut rw = Server::local(&["--allow-writes"]);
    for sql in [TXN_CONTROL, STACKED, DANGEROUS].concat() {
        let r = rw.call("transact", json!({"sql_list": [sql]}));
        assert_eq!(r["isError"], json!(true), "write mode let through: {sql}");
        assert!(is_check_refusal(&common::text(&r)), "not refused before sending: {sql}: {}", common::text(&r));
    }
    // An injected second statement inside one item never runs.
    let r = rw.call("transact", json!({"sql_list": ["INSERT INTO t VALUES (2, 'a'); DROP TABLE t"]}));
    assert_eq!(r["isError"], json!(true));

    assert_eq!(fingerprint(&mut admin), before, "a refused statement changed the database");
}
