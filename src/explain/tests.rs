//! The DSQL vocabulary on plans from DSQL's documentation (tests/explain_plans, sources in its README).

use super::findings::{self, Context, Finding};
use super::plan::{self, Plan};

/// A plan file as psql printed it: without the source notes (`#`), the header and the separator.
fn dsql_plan(text: &str) -> Plan {
    let rows =
        text.lines().filter(|l| !l.starts_with('#') && l.trim() != "QUERY PLAN" && !l.trim_start().starts_with("---"));
    plan::from_text(rows).expect("the documented plan reads")
}

fn found(text: &str) -> Vec<Finding> {
    findings::evaluate(&Context { dsql: true, ..Default::default() }, &dsql_plan(text))
}

fn codes(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.code).collect()
}

#[test]
fn documented_full_scan_is_read_as_dsql_layers() {
    let p = dsql_plan(include_str!("../../tests/explain_plans/full_scan_transaction.txt"));
    assert_eq!(p.root.node_type, "Full Scan (btree-table)");
    assert!(p.root.is_full_scan());
    let storage = &p.root.children[0];
    assert_eq!(storage.node_type, "Storage Scan");
    assert_eq!(storage.detail("Projections"), Some("account_id, description"));
    assert_eq!(storage.children[0].node_type, "B-Tree Scan");
    assert_eq!(storage.children[0].plan_rows, Some(100000.0));
}

#[test]
fn documented_full_scan_gets_an_index_on_the_storage_filter_and_says_the_like_is_not_pushed_down() {
    let f = found(include_str!("../../tests/explain_plans/full_scan_transaction.txt"));
    assert_eq!(codes(&f), ["full_scan_filtered", "filter_not_pushed_down"], "{f:#?}");
    assert_eq!(
        f[0].fix.as_deref(),
        Some("CREATE INDEX ASYNC transaction_transaction_date_idx ON transaction (transaction_date);")
    );
    assert!(f[0].message.contains("100,000 rows"), "{}", f[0].message);
    assert!(f[1].message.contains("wildcard") && f[1].message.contains("query processor"), "{}", f[1].message);
    assert_eq!(f[1].fix, None);
    assert_eq!((f[0].node_index, f[0].node.as_str()), (0, "Full Scan (btree-table) on transaction"));
}

#[test]
fn documented_index_only_scan_names_the_query_processor_filter_only() {
    let p = dsql_plan(include_str!("../../tests/explain_plans/index_only_scan_account.txt"));
    assert_eq!((p.root.node_type.as_str(), p.root.index.as_deref()), ("Index Only Scan", Some("idx1")));
    let f = found(include_str!("../../tests/explain_plans/index_only_scan_account.txt"));
    assert_eq!(codes(&f), ["filter_not_pushed_down"], "{f:#?}");
    assert!(f[0].message.contains("balance > '100'::numeric") && f[0].message.contains("INCLUDE"), "{}", f[0].message);
}

#[test]
fn documented_index_scan_has_a_storage_lookup_branch_beside_the_storage_scan() {
    let p = dsql_plan(include_str!("../../tests/explain_plans/index_scan_account.txt"));
    let kinds: Vec<&str> = p.root.children.iter().map(|c| c.node_type.as_str()).collect();
    assert_eq!(kinds, ["Storage Scan", "Storage Lookup"]);
    assert_eq!(p.root.children[1].children[0].node_type, "B-Tree Lookup");
    assert_eq!(p.root.detail("Index Cond"), Some("(customer_id = '4b18a761-5870-4d7c-95ce-0a48eca3fceb'::uuid)"));
    // Ten rows read by key: no full scan, no sort; the balance filter is above storage.
    assert_eq!(
        codes(&found(include_str!("../../tests/explain_plans/index_scan_account.txt"))),
        ["filter_not_pushed_down"]
    );
}

#[test]
fn documented_dpu_example_reads_identifier_and_cost_and_flags_the_estimate_miss_only() {
    let p = dsql_plan(include_str!("../../tests/explain_plans/dpu_select.txt"));
    assert_eq!(p.query_identifier.as_deref(), Some("qymgw1m77maoe"));
    assert_eq!(p.dpu.as_ref().and_then(|d| d.total()), Some(0.05919));
    assert_eq!((p.planning_ms, p.execution_ms), (Some(11.415), Some(4.528)));
    assert_eq!(p.root.actual_rows, Some(120.0));
    assert_eq!(p.root.detail("Output"), None, "output lists are left out, as from JSON");
    assert_eq!(p.root.children[0].detail("Projections"), Some("id, context"));
    // 1,000,000 rows expected, 120 read: stale statistics; 0.06 DPU is not expensive.
    let f = found(include_str!("../../tests/explain_plans/dpu_select.txt"));
    assert_eq!(codes(&f), ["estimate_off"], "{f:#?}");
    assert_eq!(f[0].fix.as_deref(), Some("ANALYZE public.test_table;"));
}

#[test]
fn an_expensive_statement_by_dpu_is_said_with_its_largest_part() {
    let f = found(include_str!("../../tests/explain_plans/expensive_full_scan.txt"));
    assert_eq!(codes(&f), ["full_scan_filtered", "estimate_off", "expensive_statement"], "{f:#?}");
    let dpu = f.iter().find(|f| f.code == "expensive_statement").unwrap();
    assert!(dpu.message.contains("65.40100 DPU") && dpu.message.contains("Read (64.98900 DPU)"), "{}", dpu.message);
    assert_eq!(
        f[0].fix.as_deref(),
        Some("CREATE INDEX ASYNC transaction_transaction_date_idx ON public.transaction (transaction_date);")
    );
}

#[test]
fn index_suggestions_keep_dsql_limits() {
    let keys: Vec<String> = (1..=12).map(|i| format!("c{i}")).collect();
    let sql = findings::create_index("public.wide", &keys[..findings::MAX_INDEX_KEYS]);
    assert_eq!(sql.matches(", ").count(), 7, "{sql}");
    assert!(sql.starts_with("CREATE INDEX ASYNC wide_c1_c2") && !sql.contains("DESC") && !sql.contains("USING"));
    let long =
        findings::create_index("t", &["a_very_long_column_name_that_goes_on_and_on_and_on_and_on".into(), "b".into()]);
    let name = long.split_whitespace().nth(3).unwrap();
    assert!(name.len() <= 63, "{name}");
}
