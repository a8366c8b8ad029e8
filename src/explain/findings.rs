//! What a plan says is wrong, as data: each [`Rule`] has a code, the condition it looks for (in words, for the
//! docs and the agent), and a check that finds the nodes it applies to and writes the message and the fix as
//! runnable SQL where there is one (`CREATE INDEX ASYNC …` in DSQL's form and within DSQL's index limits, or
//! `ANALYZE t`). The vocabulary is DSQL's (full scans of the btree table, storage-level `Filters` versus a
//! `Filter` applied in the query processor after the rows crossed from storage, `Storage Lookup`s) and
//! PostgreSQL's for the local sandbox; see `working-with-explain-plans` and `understanding-dpus-explain-analyze`
//! in DSQL's user guide.

use std::collections::HashMap;

use serde::Serialize;

use super::plan::{Node, Plan};
use super::predicate::{self, Use};

/// A table with at least this many rows is worth an index for a selective condition.
pub const LARGE_TABLE_ROWS: f64 = 10_000.0;
/// A sort of at least this many rows under a LIMIT is worth an index that returns them in order.
pub const MANY_SORTED_ROWS: f64 = 10_000.0;
/// Estimated and actual rows this many times apart mean the statistics are off.
pub const ESTIMATE_FACTOR: f64 = 10.0;
/// ... when one of them is at least this many rows (a 1-versus-12 miss changes no plan).
pub const ESTIMATE_MIN_ROWS: f64 = 100.0;
/// A scan that reads this many times the rows it returns, and at least READ_MIN_ROWS rows, reads too much.
pub const READ_FACTOR: f64 = 10.0;
/// Fewest rows a scan must read before [`READ_FACTOR`] counts (small tables are cheap to read whole).
pub const READ_MIN_ROWS: f64 = 500.0;
/// A statement DSQL estimates at this many DPUs or more is expensive (the documented examples are ~0.06).
pub const EXPENSIVE_DPU: f64 = 1.0;
/// DSQL accepts at most 8 key columns in an index (catalog X07).
pub const MAX_INDEX_KEYS: usize = 8;

/// What the rules need besides the plan.
#[derive(Debug, Default)]
pub struct Context {
    /// The plan is DSQL's (storage-layer nodes, query-processor filters).
    pub dsql: bool,
    /// Rows per table from the catalog (`schema.table` and bare `table`), when it could be read.
    pub table_rows: HashMap<String, f64>,
}

/// One finding about one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The [`Rule::code`] of the rule that found it (`full_scan_filtered`…).
    pub code: &'static str,
    /// The node it is about, as the text plan prints it (`Seq Scan on public.orders`).
    pub node: String,
    /// The node's position in depth-first order (the root is 0): the text answer puts the finding beside it.
    pub node_index: usize,
    /// What it means.
    pub message: String,
    /// Runnable SQL that fixes it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// What a rule says about a node: the message, and the fix as SQL when there is one.
type Verdict = Option<(String, Option<String>)>;

/// One rule of the catalog.
pub struct Rule {
    /// Stable snake_case id, carried by every finding of this rule.
    pub code: &'static str,
    /// When it applies, in words.
    pub condition: &'static str,
    check: fn(&Context, &Plan, &Node) -> Verdict,
}

/// Every rule, in the order findings are listed for a node.
pub static RULES: [Rule; 7] = [
    Rule {
        code: "full_scan_filtered",
        condition: "a full scan (Seq Scan, or DSQL's Full Scan (btree-table)) of a table of 10,000 rows or more, \
                    filtered on columns an index could serve",
        check: full_scan_filtered,
    },
    Rule {
        code: "filter_not_pushed_down",
        condition: "a condition applied after the rows were read (DSQL: a Filter above storage, in the query \
                    processor) because of a function or cast on the column, a type mismatch or a LIKE that starts \
                    with a wildcard (on a table of 10,000 rows or more)",
        check: filter_not_pushed_down,
    },
    Rule {
        code: "nested_loop_inner_scan",
        condition: "a nested loop whose inner side fully scans a table of 10,000 rows or more once per outer row",
        check: nested_loop_inner_scan,
    },
    Rule {
        code: "sort_for_limit",
        condition: "ORDER BY … LIMIT that sorts 10,000 rows or more to return a few, where an index could return \
                    them in order",
        check: sort_for_limit,
    },
    Rule {
        code: "estimate_off",
        condition: "with analyze: estimated and actual rows of a scan 10× or more apart (stale statistics)",
        check: estimate_off,
    },
    Rule {
        code: "reads_far_more_than_returned",
        condition: "with analyze: an index scan that reads 10× or more the rows it returns (500 rows or more)",
        check: reads_far_more_than_returned,
    },
    Rule {
        code: "expensive_statement",
        condition: "on DSQL with analyze: the Statement DPU Estimate's total is 1 DPU or more",
        check: expensive_statement,
    },
];

/// Every finding for the plan, node by node in depth-first order.
pub fn evaluate(ctx: &Context, plan: &Plan) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, node) in plan.root.walk().into_iter().enumerate() {
        for rule in &RULES {
            if let Some((message, fix)) = (rule.check)(ctx, plan, node) {
                out.push(Finding { code: rule.code, node: label(node), node_index: i, message, fix });
            }
        }
    }
    out
}

/// A node as the text plan prints it: `Index Scan using idx on public.t`.
pub fn label(n: &Node) -> String {
    let mut s = n.node_type.clone();
    if let Some(i) = &n.index {
        s.push_str(&format!(" using {i}"));
    }
    if let Some(r) = &n.relation {
        s.push_str(&format!(" on {r}"));
    }
    s
}

fn is_scan(n: &Node) -> bool {
    n.relation.is_some() && !n.is_storage_layer()
}

/// Rows of the node's table: the catalog's count, else what DSQL's B-Tree Scan under it read, else None.
fn table_rows(ctx: &Context, n: &Node) -> Option<f64> {
    let rel = n.relation.as_deref()?;
    if let Some(r) = ctx.table_rows.get(rel).or_else(|| ctx.table_rows.get(predicate::bare(rel))) {
        return Some(*r);
    }
    n.walk().into_iter().filter(|c| c.node_type == "B-Tree Scan").find_map(|c| c.actual_rows.or(c.plan_rows))
}

fn large(ctx: &Context, n: &Node) -> Option<f64> {
    table_rows(ctx, n).filter(|r| *r >= LARGE_TABLE_ROWS)
}

/// Every condition the scan applies: its own Filter and, on DSQL, the storage-level Filters under it.
fn conditions(n: &Node) -> Vec<Use> {
    let mut out: Vec<Use> = n.detail("Filter").map(predicate::uses).unwrap_or_default();
    for c in n.children.iter().flat_map(Node::walk).filter(|c| c.is_storage_layer()) {
        if let Some(f) = c.detail("Filters") {
            out.extend(predicate::uses(f));
        }
    }
    out
}

/// Key columns for an index: equality columns first, then at most one range or sort column, bare and unique.
fn index_columns(uses: &[Use], tail: &[String]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    let mut push = |c: &str| {
        let c = predicate::bare(c).to_string();
        if !cols.contains(&c) && cols.len() < MAX_INDEX_KEYS {
            cols.push(c);
        }
    };
    for u in uses {
        if let Use::Equality(c) = u {
            push(c);
        }
    }
    if tail.is_empty()
        && let Some(Use::Range(c)) = uses.iter().find(|u| matches!(u, Use::Range(_)))
    {
        push(c);
    }
    for c in tail {
        push(c);
    }
    cols
}

/// `CREATE INDEX ASYNC orders_customer_id_idx ON public.orders (customer_id);`
pub fn create_index(relation: &str, keys: &[String]) -> String {
    let table = predicate::bare(relation).trim_matches('"');
    let mut name = format!("{table}_{}_idx", keys.iter().map(|k| sanitize(k)).collect::<Vec<_>>().join("_"));
    if name.len() > 63 {
        name.truncate(59);
        name.push_str("_idx");
    }
    format!("CREATE INDEX ASYNC {name} ON {relation} ({});", keys.join(", "))
}

fn sanitize(k: &str) -> String {
    k.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

fn rows(n: f64) -> String {
    let n = n.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn full_scan_filtered(ctx: &Context, _: &Plan, n: &Node) -> Verdict {
    if !n.is_full_scan() {
        return None;
    }
    let total = large(ctx, n)?;
    let uses = conditions(n);
    let keys = index_columns(&uses, &[]);
    if keys.is_empty() {
        return None;
    }
    let rel = n.relation.as_deref()?;
    let message = format!(
        "{} reads all ~{} rows of {rel} and keeps those matching its condition on {}; an index on ({}) would read \
         only the matching rows{}",
        n.node_type,
        rows(total),
        keys.join(", "),
        keys.join(", "),
        if ctx.dsql { " (on DSQL: an Index Cond instead of a full scan and storage Filters)" } else { "" }
    );
    Some((message, Some(create_index(rel, &keys))))
}

fn filter_not_pushed_down(ctx: &Context, _: &Plan, n: &Node) -> Verdict {
    if !is_scan(n) {
        return None;
    }
    let filter = n.detail("Filter")?;
    let uses = predicate::uses(filter);
    let opaque = uses.iter().find_map(|u| match u {
        Use::Opaque { why, expression } => Some((why.clone(), expression.clone())),
        _ => None,
    });
    let rel = n.relation.as_deref()?;
    let where_ = if ctx.dsql {
        "DSQL applies it in the query processor, after the rows crossed from storage"
    } else {
        "it is applied to every row the scan reads"
    };
    match opaque {
        Some((why, expression)) => {
            large(ctx, n)?;
            let fix = expression.map(|e| create_index(rel, &[e]));
            let advice = if fix.is_some() {
                "an expression index on exactly that expression serves it"
            } else {
                "rewrite the condition so it compares the bare column with a value of its type (a prefix LIKE 'abc%' can use an index)"
            };
            Some((format!("Filter {filter} on {rel} is not pushed down: {why}; {where_}. Fix: {advice}."), fix))
        }
        // On DSQL a plain condition left in the query processor is also worth moving down to storage.
        None if ctx.dsql && !uses.is_empty() => {
            let keys = index_columns(&uses, &[]);
            let include = keys.join(", ");
            Some((
                format!(
                    "Filter {filter} on {rel} is applied in the query processor, after the rows crossed from \
                     storage; an index whose key or INCLUDE columns hold {include} lets DSQL filter in storage \
                     (Index Cond or storage Filters)"
                ),
                None,
            ))
        }
        None => None,
    }
}

/// The full scan a join's inner side runs, if it runs one: the input itself or the first full scan under it (through
/// Materialize, an aggregate of a LATERAL subquery, …).
fn inner_full_scan(n: &Node) -> Option<&Node> {
    n.walk().into_iter().find(|c| c.is_full_scan())
}

fn nested_loop_inner_scan(ctx: &Context, _: &Plan, n: &Node) -> Verdict {
    if !n.node_type.starts_with("Nested Loop") || n.children.len() != 2 {
        return None;
    }
    let inner = inner_full_scan(&n.children[1])?;
    let total = large(ctx, inner)?;
    let outer = &n.children[0];
    let outer_rows =
        outer.actual_rows.map(|r| r * outer.actual_loops.unwrap_or(1.0)).or(outer.plan_rows).unwrap_or(1.0);
    let rel = inner.relation.as_deref()?;
    let names: Vec<&str> =
        [inner.alias.as_deref(), Some(predicate::bare(rel)), Some(rel)].into_iter().flatten().collect();
    let on_inner = |c: &str| c.rsplit_once('.').is_some_and(|(q, _)| names.contains(&q));
    let join_cols: Vec<String> = [n.detail("Join Filter"), inner.detail("Filter")]
        .into_iter()
        .flatten()
        .flat_map(predicate::uses)
        .filter_map(|u| match u {
            Use::Join(a, _) if on_inner(&a) => Some(a),
            Use::Join(_, b) if on_inner(&b) => Some(b),
            _ => None,
        })
        .map(|c| predicate::bare(&c).to_string())
        .collect();
    let keys = index_columns(&join_cols.iter().map(|c| Use::Equality(c.clone())).collect::<Vec<_>>(), &[]);
    let message = format!(
        "{} fully scans {rel} (~{} rows) once per outer row (~{} outer rows){}",
        n.node_type,
        rows(total),
        rows(outer_rows),
        if keys.is_empty() {
            String::from("; index the inner table's join column")
        } else {
            format!("; an index on {rel} ({}) turns each scan into a lookup", keys.join(", "))
        }
    );
    let fix = (!keys.is_empty()).then(|| create_index(rel, &keys));
    Some((message, fix))
}

/// `created_at DESC`, `t.created_at` → the column; an expression (`(to_char(…))`) → None.
fn sort_column(key: &str) -> Option<String> {
    let mut k = key.trim();
    for suffix in [" NULLS FIRST", " NULLS LAST", " DESC", " ASC"] {
        k = k.strip_suffix(suffix).unwrap_or(k).trim();
    }
    let only = predicate::uses(&format!("({k} = 1)"));
    match &only[..] {
        [Use::Equality(c)] => Some(predicate::bare(c).to_string()),
        _ => None,
    }
}

fn sort_for_limit(_: &Context, _: &Plan, n: &Node) -> Verdict {
    if n.node_type != "Limit" {
        return None;
    }
    let sort = n.children.first().filter(|s| s.node_type == "Sort")?;
    let input = sort.children.first()?;
    let sorted = input.actual_rows.map(|r| r * input.actual_loops.unwrap_or(1.0)).or(input.plan_rows)?;
    if sorted < MANY_SORTED_ROWS {
        return None;
    }
    let key = sort.detail("Sort Key")?;
    let scans: Vec<&Node> = input.walk().into_iter().filter(|c| is_scan(c)).collect();
    let sort_cols: Option<Vec<String>> = sort_keys(key).iter().map(|k| sort_column(k)).collect();
    let (fix, how) = match (scans.as_slice(), sort_cols) {
        ([scan], Some(cols)) => {
            let uses: Vec<Use> = conditions(scan).into_iter().chain(scan.detail("Index Cond").map(predicate::uses).unwrap_or_default()).collect();
            let keys = index_columns(&uses, &cols);
            let rel = scan.relation.as_deref()?;
            (Some(create_index(rel, &keys)), format!("an index on {rel} ({}) returns the rows already in order, so the LIMIT stops after a few", keys.join(", ")))
        }
        (_, None) => (None, "the sort key is an expression: order by the column itself (not an alias of an expression) so an index can return rows in order".to_string()),
        _ => (None, "an index that matches the filter and the sort key on the driving table returns rows in order".to_string()),
    };
    Some((
        format!(
            "Sort by {key} orders ~{} rows to return {} ; {how}",
            rows(sorted),
            n.actual_rows.or(n.plan_rows).map_or("a few".into(), rows)
        ),
        fix,
    ))
}

/// `a, b DESC` → [`a`, `b DESC`].
fn sort_keys(key: &str) -> Vec<String> {
    key.split(", ").map(str::to_string).collect()
}

fn estimate_off(_: &Context, _: &Plan, n: &Node) -> Verdict {
    if !is_scan(n) || n.actual_loops == Some(0.0) {
        return None;
    }
    let (est, act) = (n.plan_rows?, n.actual_rows?);
    let (hi, lo) = if est > act { (est, act) } else { (act, est) };
    if hi < ESTIMATE_MIN_ROWS || hi < ESTIMATE_FACTOR * lo.max(1.0) {
        return None;
    }
    let rel = n.relation.as_deref()?;
    Some((
        format!(
            "the planner expected {} rows from {rel} and got {} ({:.0}× off): its statistics are stale or the \
             condition's columns are correlated; refresh them with ANALYZE (DSQL also runs it in the background)",
            rows(est),
            rows(act),
            hi / lo.max(1.0)
        ),
        Some(format!("ANALYZE {rel};")),
    ))
}

fn reads_far_more_than_returned(_: &Context, _: &Plan, n: &Node) -> Verdict {
    if !is_scan(n) || n.is_full_scan() {
        return None;
    }
    let loops = n.actual_loops.unwrap_or(1.0);
    let returned = n.actual_rows? * loops;
    let storage_filtered: f64 =
        n.walk().iter().filter(|c| c.is_storage_layer()).filter_map(|c| c.number("Rows Filtered")).sum();
    let read = n.rows_read()? + storage_filtered * loops;
    if read < READ_MIN_ROWS || read < READ_FACTOR * returned.max(1.0) {
        return None;
    }
    let rel = n.relation.as_deref()?;
    // The index's own condition (on a bitmap scan, under it) first, then what was filtered after reading.
    let mut uses: Vec<Use> = n
        .walk()
        .into_iter()
        .filter(|c| std::ptr::eq(*c, n) || c.node_type.starts_with("Bitmap Index Scan"))
        .filter_map(|c| c.detail("Index Cond"))
        .flat_map(predicate::uses)
        .collect();
    uses.extend(conditions(n));
    let keys = index_columns(&uses, &[]);
    let fix = (keys.len() > 1).then(|| create_index(rel, &keys));
    Some((
        format!(
            "{} read {} rows of {rel} to return {}: its index condition is not selective and the rest is filtered \
             after reading{}",
            n.node_type,
            rows(read),
            rows(returned),
            if fix.is_some() {
                format!("; an index on ({}) reads only the rows returned", keys.join(", "))
            } else {
                String::new()
            }
        ),
        fix,
    ))
}

fn expensive_statement(_: &Context, plan: &Plan, n: &Node) -> Verdict {
    if !std::ptr::eq(n, &plan.root) {
        return None;
    }
    let dpu = plan.dpu.as_ref()?;
    let total = dpu.total()?;
    if total < EXPENSIVE_DPU {
        return None;
    }
    let largest = dpu
        .components
        .iter()
        .filter(|c| c.name != "Total")
        .max_by(|a, b| a.dpu.total_cmp(&b.dpu))
        .map(|c| format!("; most of it is {} ({:.5} DPU)", c.name, c.dpu))
        .unwrap_or_default();
    Some((
        format!(
            "DSQL estimates {total:.5} DPU for this statement{largest}. A read that costs this much usually scans \
             more than it returns: see the other findings. The estimate is statement-level and directional, not \
             billing"
        ),
        None,
    ))
}
