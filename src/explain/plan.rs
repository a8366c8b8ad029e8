//! One shape for a query plan, whichever engine printed it: PostgreSQL's `EXPLAIN (FORMAT JSON)` (local and
//! `--database-url` mode) and the text form Aurora DSQL documents (DSQL's JSON output is not documented, and its
//! `Statement DPU Estimate` is documented for the text form only, so on a cluster the text is what is read).
//!
//! A node keeps its type as printed (`Seq Scan`, `Full Scan (btree-table)`, `Storage Scan`, `B-Tree Scan`,
//! `Storage Lookup`, `B-Tree Lookup`, `Index Only Scan`…), the relation and index it reads, the planner's cost
//! and rows, the actual rows, loops and time when the statement ran, and its detail lines (`Filter`, `Index
//! Cond`, DSQL's storage-level `Filters` and `Projections`, `Sort Key`, `Rows Removed by Filter`…) as text.

use serde::Serialize;
use serde_json::Value;

use crate::exec::dpu::{self, DpuEstimate};

/// One plan node.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Node {
    /// The node type as the engine printed it (`Seq Scan`, `Full Scan (btree-table)`, `B-Tree Lookup`…).
    pub node_type: String,
    /// The table the node reads, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// The name the query gives that table, when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The index the node reads, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Planner cost units before the first row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_cost: Option<f64>,
    /// Planner cost units until the last row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<f64>,
    /// Rows the planner expects per loop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_rows: Option<f64>,
    /// Rows per loop when the statement ran (analyze).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_rows: Option<f64>,
    /// How many times the node ran (analyze); per-loop figures multiply by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_loops: Option<f64>,
    /// Milliseconds per loop until the last row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_total_ms: Option<f64>,
    /// Detail lines, in order: (`Filter`, `(a = 1)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<(String, String)>,
    /// The nodes that feed this one, in printed order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

impl Node {
    /// The first detail line named `key`.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A detail line read as a number (`Rows Removed by Filter: 9900`).
    pub fn number(&self, key: &str) -> Option<f64> {
        self.detail(key).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok())
    }

    /// Every node of the tree, this one first (depth first).
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }

    /// Reads every row of its table: PostgreSQL's sequential scan or DSQL's full scan of the btree table.
    pub fn is_full_scan(&self) -> bool {
        self.node_type.ends_with("Seq Scan") || self.node_type.starts_with("Full Scan")
    }

    /// DSQL's storage-layer nodes under a scan (`Storage Scan`, `B-Tree Scan`, `Storage Lookup`, `B-Tree Lookup`).
    pub fn is_storage_layer(&self) -> bool {
        self.node_type.starts_with("Storage ") || self.node_type.starts_with("B-Tree ")
    }

    /// Rows this node read when it ran: what it returned plus what its filter removed, over every loop.
    pub fn rows_read(&self) -> Option<f64> {
        let rows = self.actual_rows?;
        let loops = self.actual_loops.unwrap_or(1.0);
        let removed = self.number("Rows Removed by Filter").unwrap_or(0.0);
        Some((rows + removed) * loops)
    }
}

/// A whole plan with what the engine printed after it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The top node of the tree.
    pub root: Node,
    /// `Planning Time`, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planning_ms: Option<f64>,
    /// `Execution Time`, in milliseconds (analyze).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_ms: Option<f64>,
    /// `Query Identifier` as printed (PostgreSQL with `compute_query_id`, or DSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_identifier: Option<String>,

    /// DSQL's statement-level estimate (analyze, on a cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpu: Option<DpuEstimate>,
}

/// Detail keys of PostgreSQL's JSON that are kept (the rest are the node's own fields or too long to be useful to
/// an agent, as `Output`).
const JSON_DETAILS: [&str; 14] = [
    "Filter",
    "Index Cond",
    "Recheck Cond",
    "Join Filter",
    "Hash Cond",
    "Merge Cond",
    "Sort Key",
    "Join Type",
    "Strategy",
    "Scan Direction",
    "Rows Removed by Filter",
    "Rows Removed by Join Filter",
    "Rows Removed by Index Recheck",
    "Parent Relationship",
];

/// PostgreSQL's `EXPLAIN (FORMAT JSON …)`: the single row's value, `[{"Plan": {…}, "Planning Time": …}]`.
pub fn from_json(value: &Value) -> Result<Plan, String> {
    // The value arrives as JSON, or as its text when the driver handed the column over as text.
    let parsed;
    let value = match value {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|e| format!("the plan is not JSON: {e}"))?;
            &parsed
        }
        v => v,
    };
    let top = value.as_array().and_then(|a| a.first()).unwrap_or(value);
    let root = top.get("Plan").ok_or("the plan has no \"Plan\" object")?;
    Ok(Plan {
        root: json_node(root, 0)?,
        planning_ms: top.get("Planning Time").and_then(Value::as_f64),
        execution_ms: top.get("Execution Time").and_then(Value::as_f64),
        query_identifier: top.get("Query Identifier").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        dpu: None,
    })
}

/// Plans nest as deep as the query does; the query passed the parser's depth bound, and this one bounds the walk.
const MAX_PLAN_DEPTH: usize = 1000;

fn json_node(v: &Value, depth: usize) -> Result<Node, String> {
    if depth > MAX_PLAN_DEPTH {
        return Err(format!("the plan is nested more than {MAX_PLAN_DEPTH} levels deep"));
    }
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    let relation = s("Relation Name").map(|r| match s("Schema") {
        Some(schema) => format!("{schema}.{r}"),
        None => r,
    });
    let details = JSON_DETAILS
        .iter()
        .filter_map(|k| {
            let text = match v.get(*k)? {
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            Some((k.to_string(), text))
        })
        .collect();
    let children = match v.get("Plans").and_then(Value::as_array) {
        Some(plans) => plans.iter().map(|p| json_node(p, depth + 1)).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Node {
        node_type: s("Node Type").unwrap_or_default(),
        relation,
        alias: s("Alias"),
        index: s("Index Name"),
        startup_cost: f("Startup Cost"),
        total_cost: f("Total Cost"),
        plan_rows: f("Plan Rows"),
        actual_rows: f("Actual Rows"),
        actual_loops: f("Actual Loops"),
        actual_total_ms: f("Actual Total Time"),
        details,
        children,
    })
}

/// The text form, one `QUERY PLAN` row per line (a row holding several lines is split), with or without the
/// leading space psql adds when it prints them.
pub fn from_text<'a>(rows: impl IntoIterator<Item = &'a str>) -> Result<Plan, String> {
    let lines: Vec<&str> = rows.into_iter().flat_map(str::lines).collect();
    let mut plan = Plan::default();
    let tail = dpu::parse(lines.iter().copied());
    plan.query_identifier = tail.query_identifier;
    plan.dpu = tail.dpu;
    // (indent of the node's arrow or first character, path of child indexes from the root)
    let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut root: Option<Node> = None;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("Statement DPU Estimate:") {
            break;
        }
        if let Some(ms) = trimmed.strip_prefix("Planning Time:") {
            plan.planning_ms = milliseconds(ms);
            continue;
        }
        if let Some(ms) = trimmed.strip_prefix("Execution Time:") {
            plan.execution_ms = milliseconds(ms);
            continue;
        }
        if trimmed.starts_with("Query Identifier:") {
            continue;
        }
        let arrow = trimmed.strip_prefix("->");
        if arrow.is_some() || root.is_none() {
            let node = text_node(arrow.unwrap_or(trimmed).trim());
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            match (&mut root, stack.last()) {
                (None, _) => {
                    root = Some(node);
                    stack.push((indent, Vec::new()));
                }
                (Some(r), Some((_, path))) => {
                    let parent = at(r, path);
                    parent.children.push(node);
                    let mut child = path.clone();
                    child.push(parent.children.len() - 1);
                    if stack.len() > MAX_PLAN_DEPTH {
                        return Err(format!("the plan is nested more than {MAX_PLAN_DEPTH} levels deep"));
                    }
                    stack.push((indent, child));
                }
                // A second top-level node: not a plan this reader knows.
                (Some(_), None) => return Err(format!("unexpected second top-level plan line: {trimmed}")),
            }
            continue;
        }
        // A detail line belongs to the innermost node indented less than it.
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let (Some(r), Some((_, path))) = (&mut root, stack.last()) else { continue };
        let owner = at(r, path);
        let (key, value) = match trimmed.split_once(": ") {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (trimmed.trim_end_matches(':').to_string(), String::new()),
        };
        // VERBOSE's output column lists are left out, as from the JSON form (DSQL's storage Projections stay).
        if key != "Output" {
            owner.details.push((key, value));
        }
    }
    plan.root = root.ok_or("the plan has no nodes")?;
    Ok(plan)
}

fn at<'a>(root: &'a mut Node, path: &[usize]) -> &'a mut Node {
    let mut n = root;
    for &i in path {
        n = &mut n.children[i];
    }
    n
}

fn milliseconds(s: &str) -> Option<f64> {
    s.trim().trim_end_matches("ms").trim().parse().ok()
}

/// `Index Scan using idx1 on public.account a  (cost=1.0..2.0 rows=8 width=18) (actual time=0.1..0.2 rows=3 loops=1)`
fn text_node(line: &str) -> Node {
    let (head, numbers) =
        match line.find("(cost=").or_else(|| line.find("(actual ")).or_else(|| line.find("(never executed)")) {
            Some(i) => (line[..i].trim(), &line[i..]),
            None => (line.trim(), ""),
        };
    let mut node = Node::default();
    let (kind, on) = match head.split_once(" on ") {
        Some((k, on)) => (k, Some(on)),
        None => (head, None),
    };
    match kind.split_once(" using ") {
        Some((k, index)) => {
            node.node_type = k.trim().to_string();
            node.index = Some(index.trim().to_string());
        }
        None => node.node_type = kind.trim().to_string(),
    }
    if let Some(on) = on {
        let mut words = on.split_whitespace();
        node.relation = words.next().map(str::to_string);
        node.alias = words.next().map(str::to_string);
    }
    if let Some(cost) = group(numbers, "(cost=") {
        for part in cost.split_whitespace() {
            if let Some((a, b)) = part.strip_prefix("cost=").unwrap_or(part).split_once("..") {
                node.startup_cost = a.parse().ok();
                node.total_cost = b.parse().ok();
            } else if let Some(r) = part.strip_prefix("rows=") {
                node.plan_rows = r.parse().ok();
            }
        }
    }
    if let Some(actual) = group(numbers, "(actual ") {
        for part in actual.split_whitespace() {
            if let Some((_, b)) = part.strip_prefix("time=").and_then(|t| t.split_once("..")) {
                node.actual_total_ms = b.parse().ok();
            } else if let Some(r) = part.strip_prefix("rows=") {
                node.actual_rows = r.parse().ok();
            } else if let Some(l) = part.strip_prefix("loops=") {
                node.actual_loops = l.parse().ok();
            }
        }
    }
    if numbers.contains("(never executed)") {
        node.actual_rows = Some(0.0);
        node.actual_loops = Some(0.0);
    }
    node
}

/// The text inside `(prefix…)`, prefix included.
fn group<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let start = s.find(prefix)?;
    let end = s[start..].find(')')?;
    Some(&s[start + 1..start + end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_nodes_nest_by_arrow_and_details_go_to_the_innermost_node() {
        let plan = from_text([
            " Limit  (cost=1.00..2.00 rows=5 width=36) (actual time=0.6..0.7 rows=5 loops=1)",
            "   ->  Sort  (cost=1.00..1.50 rows=6 width=36) (actual time=0.6..0.6 rows=5 loops=1)",
            "         Sort Key: created_at DESC",
            "         ->  Seq Scan on public.t x  (cost=0.00..1.00 rows=6 width=36) (never executed)",
            "               Filter: (a = 1)",
            " Planning Time: 0.121 ms",
            " Execution Time: 0.679 ms",
        ])
        .unwrap();
        assert_eq!(plan.root.node_type, "Limit");
        let sort = &plan.root.children[0];
        assert_eq!(sort.detail("Sort Key"), Some("created_at DESC"));
        let scan = &sort.children[0];
        assert_eq!((scan.relation.as_deref(), scan.alias.as_deref()), (Some("public.t"), Some("x")));
        assert_eq!(scan.detail("Filter"), Some("(a = 1)"));
        assert_eq!(scan.actual_loops, Some(0.0));
        assert_eq!(plan.execution_ms, Some(0.679));
    }

    #[test]
    fn json_plans_keep_relation_schema_and_details() {
        let v = serde_json::json!([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Schema": "public",
            "Alias": "t", "Startup Cost": 0.0, "Total Cost": 10.5, "Plan Rows": 3, "Filter": "(a = 1)",
            "Output": ["a"], "Rows Removed by Filter": 97, "Actual Rows": 3, "Actual Loops": 1},
            "Planning Time": 0.1, "Execution Time": 0.2, "Query Identifier": -42}]);
        let plan = from_json(&v).unwrap();
        assert_eq!(plan.root.relation.as_deref(), Some("public.t"));
        assert_eq!(plan.root.detail("Filter"), Some("(a = 1)"));
        assert_eq!(plan.root.detail("Output"), None);
        assert_eq!(plan.root.rows_read(), Some(100.0));
        assert_eq!(plan.query_identifier.as_deref(), Some("-42"));
        assert!(from_json(&serde_json::json!([{}])).is_err());
        assert!(from_json(&serde_json::json!("not json")).is_err());
    }
}
