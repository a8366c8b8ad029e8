//! The answer a person reads: the plan as a compact indented tree (one line per node: type, relation, rows
//! estimated and actual, time), its key detail lines, and each finding under the node it concerns.

use super::findings::{Finding, label};
use super::plan::{Node, Plan};

/// Details worth a line in the compact plan.
const SHOWN: [&str; 9] = [
    "Index Cond",
    "Filter",
    "Filters",
    "Join Filter",
    "Hash Cond",
    "Sort Key",
    "Rows Removed by Filter",
    "Rows Filtered",
    "Projections",
];

/// The plan as an indented tree, one line per node with its key details, each finding under its node.
pub fn text(plan: &Plan, findings: &[Finding]) -> String {
    let mut out = String::new();
    let mut i = 0;
    node(&plan.root, 0, findings, &mut i, &mut out);
    if let Some(ms) = plan.planning_ms {
        out.push_str(&format!("Planning: {ms:.3} ms\n"));
    }
    if let Some(ms) = plan.execution_ms {
        out.push_str(&format!("Execution: {ms:.3} ms\n"));
    }
    if let Some(id) = &plan.query_identifier {
        out.push_str(&format!("Query Identifier: {id}\n"));
    }
    if let Some(dpu) = &plan.dpu {
        let parts: Vec<String> = dpu.components.iter().map(|c| format!("{} {:.5}", c.name, c.dpu)).collect();
        out.push_str(&format!("DPU estimate: {} (directional, not billing)\n", parts.join(", ")));
    }
    out
}

fn node(n: &Node, depth: usize, findings: &[Finding], i: &mut usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let mut line = format!("{pad}{}", label(n));
    if let Some(r) = n.plan_rows {
        line.push_str(&format!("  est {r:.0} rows"));
    }
    if let Some(c) = n.total_cost {
        line.push_str(&format!(", cost {c:.2}"));
    }
    if let Some(r) = n.actual_rows {
        line.push_str(&format!("  actual {r:.0} rows × {} loops", n.actual_loops.unwrap_or(1.0)));
    }
    if let Some(t) = n.actual_total_ms {
        line.push_str(&format!(", {t:.3} ms"));
    }
    out.push_str(&line);
    out.push('\n');
    for (k, v) in n.details.iter().filter(|(k, _)| SHOWN.contains(&k.as_str())) {
        out.push_str(&format!("{pad}    {k}: {v}\n"));
    }
    for f in findings.iter().filter(|f| f.node_index == *i) {
        out.push_str(&format!("{pad}    ⚠ [{}] {}\n", f.code, f.message));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("{pad}      fix: {fix}\n"));
        }
    }
    *i += 1;
    for c in &n.children {
        node(c, depth + 1, findings, i, out);
    }
}
