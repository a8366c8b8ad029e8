//! DSQL's database-wide quotas in the local sandbox, through the MCP tools of the real binary: 10 schemas,
//! 1,000 tables and 5,000 views. One test on purpose: the counts are database-wide, so nothing else may create
//! objects in this test binary's sandbox while it runs. The objects are seeded by a second server instance on
//! the same sandbox started with `--rules off` (which lets one call create many objects).

mod common;

use common::{Server, count, seed};
use serde_json::json;

const USER_SCHEMAS: &str = aurora_dsql_mcp_server::emulation::quota_counts::USER_SCHEMA;

#[test]
fn schemas_tables_and_views_are_capped_as_on_dsql() {
    let mut s = Server::local(&["--allow-writes"]);
    let mut seeder = Server::local(&["--allow-writes", "--rules", "off"]);

    // 10 schemas (public counts; sys and PostgreSQL's own do not).
    let schemas = count(&mut s, &format!("SELECT count(*) AS n FROM pg_namespace n WHERE {USER_SCHEMAS}"));
    assert!(schemas < 10, "{schemas} schemas before the test");
    let created = 10 - schemas;
    assert!(created >= 2, "the test needs two schemas of its own");
    for i in 0..created {
        s.ok("transact", json!({"sql_list": [format!("CREATE SCHEMA quota_s{i}")]}));
    }
    let msg = s.err("transact", json!({"sql_list": ["CREATE SCHEMA quota_s_extra"]}));
    assert!(msg.contains("54000") && msg.contains("more than 10 schemas not allowed"), "{msg}");
    assert!(msg.contains("already has 10 schemas"), "{msg}");
    // An existing schema is not a new one; after a DROP there is room again.
    s.ok("transact", json!({"sql_list": ["CREATE SCHEMA IF NOT EXISTS public"]}));
    s.ok("transact", json!({"sql_list": [format!("DROP SCHEMA quota_s{}", created - 1)]}));
    s.ok("transact", json!({"sql_list": ["CREATE SCHEMA quota_s_extra"]}));

    // 1,000 tables, counted across schemas.
    let tables = count(
        &mut s,
        &format!(
            "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS}"
        ),
    );
    let missing = (1000 - tables) as usize;
    let creates: Vec<String> =
        (0..missing).map(|i| format!("CREATE TABLE quota_s0.t{i} (id int PRIMARY KEY)")).collect();
    seed(&mut seeder, creates, 250);
    let msg = s.err("transact", json!({"sql_list": ["CREATE TABLE public.one_too_many (id int PRIMARY KEY)"]}));
    assert!(msg.contains("54000") && msg.contains("creating more than 1000 tables not allowed"), "{msg}");
    let none = s.rows("SELECT to_regclass('public.one_too_many') IS NULL AS absent");
    assert_eq!(none[0]["absent"], json!(true), "the refused table was not created");
    s.ok("transact", json!({"sql_list": ["CREATE TABLE IF NOT EXISTS quota_s0.t0 (id int PRIMARY KEY)"]}));
    s.ok("transact", json!({"sql_list": ["DROP TABLE quota_s0.t0"]}));
    s.ok("transact", json!({"sql_list": ["CREATE TABLE public.just_fits (id int PRIMARY KEY)"]}));

    // 5,000 views.
    let views = count(
        &mut s,
        &format!(
            "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'v' AND {USER_SCHEMAS}"
        ),
    );
    let missing = (5000 - views) as usize;
    let creates: Vec<String> = (0..missing).map(|i| format!("CREATE VIEW quota_s1.v{i} AS SELECT {i} AS x")).collect();
    seed(&mut seeder, creates, 500);
    let msg = s.err("transact", json!({"sql_list": ["CREATE VIEW public.one_view_too_many AS SELECT 1 AS x"]}));
    assert!(msg.contains("54000") && msg.contains("creating more than 5000 views not allowed"), "{msg}");
    s.ok("transact", json!({"sql_list": ["CREATE OR REPLACE VIEW quota_s1.v0 AS SELECT 0 AS x"]}));
}
