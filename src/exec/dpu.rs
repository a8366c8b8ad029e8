//! The lines Aurora DSQL adds to `EXPLAIN ANALYZE VERBOSE` output (catalog V14, revision 2026-12-07; format of the
//! "Understanding DPUs in EXPLAIN ANALYZE" page, since 2025-11-20): a `Query Identifier: <id>` row after the plan
//! nodes, and a closing `Statement DPU Estimate:` block with two-space-indented rows `Compute: <n> DPU`, `Read: <n>
//! DPU`, `Write: <n> DPU`, `Total: <n> DPU`, where Read and Write may add ` (Transaction minimum: <n>)`.
//!
//! Read leniently, as the catalog advises: the identifier is an opaque string (DSQL's are 13 lowercase letters and
//! digits, PostgreSQL's `compute_query_id` prints a signed integer), component names that are not documented
//! (a multi-Region `MultiRegionWrite`, presumably) are kept rather than refused, and a row that does not match ends
//! the block. Whitespace is not part of the format: the documented rows use two spaces of indent and one space
//! between words, but copies that re-align the columns with extra spaces (as a sample of AWS's DSQL skill does),
//! trim the indent or use tabs mean the same rows and are read the same way. The estimate is
//! statement-level and directional, not billing: callers must say so.

use serde::Serialize;

/// What DSQL added to one `EXPLAIN ANALYZE VERBOSE` output; both parts are absent on PostgreSQL.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DsqlExplainLines {
    /// The `Query Identifier:` value, as printed.
    pub query_identifier: Option<String>,
    /// The `Statement DPU Estimate:` block, when the output has one.
    pub dpu: Option<DpuEstimate>,
}

/// The rows of a `Statement DPU Estimate:` block, in output order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DpuEstimate {
    /// One entry per line of the block.
    pub components: Vec<DpuComponent>,
}

/// One row of the block: `Read: 0.00307 DPU (Transaction minimum: 0.00375)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DpuComponent {
    /// `Compute`, `Read`, `Write`, `Total`, or a name DSQL adds later.
    pub name: String,
    /// The estimate, in DPUs.
    pub dpu: f64,
    /// The per-transaction minimum DSQL applies when the transaction reads or writes (not included in Total).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_minimum: Option<f64>,
}

impl DpuEstimate {
    /// The row named `name` (exact, as DSQL prints it).
    pub fn component(&self, name: &str) -> Option<&DpuComponent> {
        self.components.iter().find(|c| c.name == name)
    }

    /// The `Total` row's value.
    pub fn total(&self) -> Option<f64> {
        self.component("Total").map(|c| c.dpu)
    }
}

/// The exact row that opens the block.
const BLOCK_HEADER: &str = "Statement DPU Estimate:";
const QUERY_IDENTIFIER: &str = "Query Identifier:";

/// Read DSQL's lines from the output's rows (one `QUERY PLAN` row each; a row holding several lines is split).
pub fn parse<'a>(rows: impl IntoIterator<Item = &'a str>) -> DsqlExplainLines {
    let mut out = DsqlExplainLines::default();
    let mut in_block = false;
    for line in rows.into_iter().flat_map(str::lines) {
        if in_block {
            match component(line) {
                Some(c) => {
                    out.dpu.get_or_insert_with(DpuEstimate::default).components.push(c);
                    continue;
                }
                None => in_block = false,
            }
        }
        if line.split_whitespace().eq(BLOCK_HEADER.split_whitespace()) {
            in_block = true;
            out.dpu = Some(DpuEstimate::default());
        } else if let Some(id) = line.trim_start().strip_prefix(QUERY_IDENTIFIER) {
            let id = id.trim();
            if !id.is_empty() {
                out.query_identifier = Some(id.to_string());
            }
        }
    }
    out
}

/// `<Name>: <n.n> DPU[ (Transaction minimum: <n.n>)]`, with any whitespace (or none) before the name and around
/// the words: the row's words, not its layout, are the format.
fn component(line: &str) -> Option<DpuComponent> {
    let (name, rest) = line.trim().split_once(':')?;
    let name = name.trim_end();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut words = rest.split_whitespace();
    let dpu = decimal(words.next()?)?;
    if words.next()? != "DPU" {
        return None;
    }
    let transaction_minimum = match words.next() {
        None => None,
        // `(Transaction minimum: <n.n>)`: the words between the brackets, however spaced.
        Some(_) => {
            let (_, bracket) = rest.split_once("DPU")?;
            let inner = bracket.trim().strip_prefix('(')?.strip_suffix(')')?;
            let (label, value) = inner.split_once(':')?;
            if !label.split_whitespace().eq(["Transaction", "minimum"]) {
                return None;
            }
            Some(decimal(value.trim())?)
        }
    };
    Some(DpuComponent { name: name.to_string(), dpu, transaction_minimum })
}

/// `[0-9]+\.[0-9]+`, as DSQL prints DPU values.
fn decimal(s: &str) -> Option<f64> {
    let (whole, fraction) = s.split_once('.')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) && digits(fraction)) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog's §1.9 copy of the documented example 1 (plan rows elided).
    const SELECT_EXAMPLE: &str =
        "Seq Scan on public.orders  (cost=0.00..1.05 rows=5 width=40) (actual time=0.012..0.015 rows=5 loops=1)
  Output: id, total
Query Identifier: qymgw1m77maoe
Planning Time: 11.415 ms
Execution Time: 4.528 ms
Statement DPU Estimate:
  Compute: 0.01607 DPU
  Read: 0.04312 DPU
  Write: 0.00000 DPU
  Total: 0.05919 DPU";

    /// Documented example 2: an INSERT, with per-transaction minimums.
    const INSERT_EXAMPLE: [&str; 9] = [
        "Insert on public.orders  (cost=0.00..0.01 rows=0 width=0) (actual time=0.101..0.102 rows=0 loops=1)",
        "Query Identifier: jtkjkexhjotbo",
        "Planning Time: 0.068 ms",
        "Execution Time: 0.543 ms",
        "Statement DPU Estimate:",
        "  Compute: 0.01550 DPU",
        "  Read: 0.00307 DPU (Transaction minimum: 0.00375)",
        "  Write: 0.01875 DPU (Transaction minimum: 0.05000)",
        "  Total: 0.03732 DPU",
    ];

    fn c(name: &str, dpu: f64, transaction_minimum: Option<f64>) -> DpuComponent {
        DpuComponent { name: name.into(), dpu, transaction_minimum }
    }

    #[test]
    fn documented_select_example_one_text() {
        let p = parse([SELECT_EXAMPLE]);
        assert_eq!(p.query_identifier.as_deref(), Some("qymgw1m77maoe"));
        let dpu = p.dpu.expect("a DPU block");
        assert_eq!(
            dpu.components,
            vec![
                c("Compute", 0.01607, None),
                c("Read", 0.04312, None),
                c("Write", 0.0, None),
                c("Total", 0.05919, None)
            ]
        );
        assert_eq!(dpu.total(), Some(0.05919));
    }

    #[test]
    fn documented_insert_example_one_row_per_line_with_transaction_minimums() {
        let p = parse(INSERT_EXAMPLE);
        assert_eq!(p.query_identifier.as_deref(), Some("jtkjkexhjotbo"));
        let dpu = p.dpu.expect("a DPU block");
        assert_eq!(dpu.component("Read"), Some(&c("Read", 0.00307, Some(0.00375))));
        assert_eq!(dpu.component("Write"), Some(&c("Write", 0.01875, Some(0.05))));
        // Total leaves the minimums out: Compute + Read + Write.
        let sum: f64 = ["Compute", "Read", "Write"].iter().map(|n| dpu.component(n).unwrap().dpu).sum();
        assert!((sum - dpu.total().unwrap()).abs() < 1e-9, "{sum}");
        let json = serde_json::to_value(&dpu).unwrap();
        assert_eq!(json["components"][0], serde_json::json!({"name": "Compute", "dpu": 0.0155}));
        assert_eq!(json["components"][1]["transaction_minimum"], serde_json::json!(0.00375));
    }

    #[test]
    fn unknown_components_are_kept_and_a_foreign_row_ends_the_block() {
        let p = parse([
            "Statement DPU Estimate:",
            "  Compute: 0.10000 DPU",
            "  MultiRegionWrite: 0.02000 DPU",
            "  Total: 0.12000 DPU",
            "Some later row",
            "  Read: 9.00000 DPU",
        ]);
        let dpu = p.dpu.unwrap();
        assert_eq!(dpu.components.len(), 3, "{dpu:?}");
        assert_eq!(dpu.component("MultiRegionWrite").unwrap().dpu, 0.02);
        assert!(dpu.component("Read").is_none());
    }

    #[test]
    fn postgresql_output_has_no_block_and_a_numeric_identifier() {
        // PostgreSQL with compute_query_id = on (the emulation's backing database).
        let p = parse([
            "Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=1)",
            "  Output: 1",
            "Query Identifier: -5376946911454069154",
            "Planning Time: 0.020 ms",
            "Execution Time: 0.010 ms",
        ]);
        assert_eq!(p.query_identifier.as_deref(), Some("-5376946911454069154"));
        assert_eq!(p.dpu, None);
        assert_eq!(parse(["Seq Scan on t"]), DsqlExplainLines::default());
    }

    /// Example 2 as a sample re-aligned for reading prints it: deeper indent, values in one column, a tab.
    const ALIGNED_INSERT_EXAMPLE: &str = "Query Identifier:   jtkjkexhjotbo
Statement DPU Estimate:
    Compute:   0.01550 DPU
    Read:      0.00307 DPU   (Transaction minimum:  0.00375)
    Write:     0.01875 DPU (Transaction minimum: 0.05000)
\tTotal:\t   0.03732  DPU  ";

    #[test]
    fn aligned_rows_read_the_same_as_the_documented_ones() {
        let documented = parse(INSERT_EXAMPLE);
        let aligned = parse([ALIGNED_INSERT_EXAMPLE]);
        assert_eq!(aligned, documented);
        assert_eq!(aligned.dpu.as_ref().map(|d| d.components.len()), Some(4), "{aligned:?}");
        assert_eq!(aligned.dpu.unwrap().total(), Some(0.03732));
        // The SELECT example, aligned one way and its rows trimmed the other: same block.
        let select_aligned = SELECT_EXAMPLE
            .replace("  Compute: ", "      Compute:  ")
            .replace("  Read: ", "      Read:     ")
            .replace("  Write: ", " Write:\t")
            .replace("  Total: ", "Total: ");
        assert_eq!(parse([select_aligned.as_str()]), parse([SELECT_EXAMPLE]));
    }

    #[test]
    fn malformed_rows_are_not_components() {
        for row in [
            "  Compute: 1 DPU",
            "  Compute: .5 DPU",
            "  Compute: 0.5 DPUs",
            "  Compute: 0.5DPU",
            "  Compute: 0.5 DPU extra",
            "  Com pute: 0.5 DPU",
            "  Compute 0.5 DPU",
            "  Read: 0.5 DPU Transaction minimum: 0.1",
            "  Read: 0.5 DPU (Transaction maximum: 0.1)",
            "  Read: 0.5 DPU (Transaction minimum: x)",
            "  Read: 0.5 DPU (Transaction minimum: 0.1",
            "  : 0.5 DPU",
        ] {
            assert_eq!(component(row), None, "{row}");
        }
        assert_eq!(component("  Write: 0.5 DPU  "), Some(c("Write", 0.5, None)));
        assert_eq!(component("Write: 0.5 DPU"), Some(c("Write", 0.5, None)), "no indent");
        // An empty block is still a block: DSQL said it, with no rows.
        assert_eq!(parse(["Statement DPU Estimate:"]).dpu, Some(DpuEstimate::default()));
    }
}
