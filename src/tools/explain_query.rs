//! `explain_query(sql, params?, analyze = false, try_indexes?)`: the plan of one statement, read
//! (`explain::plan`), judged (`explain::findings`) and rendered (`explain::render`); optionally indexes tried in a
//! transaction that is rolled back. Safe by construction: plain EXPLAIN unless `analyze`; `analyze` only for a
//! statement the read-only guard accepts, in a READ ONLY transaction; any EXPLAIN in `sql` is refused; every
//! statement this tool sends went through the same checks as `readonly_query`.

use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlparser::ast::Statement as Ast;

use super::{Env, ToolError, check_sql_text, parse_args};
use crate::config::Target;
use crate::exec::{self, ErrorContext, Look, Statement};
use crate::explain::{dml, findings, plan, render};
use crate::sql;

/// The MCP tool name clients call.
pub const NAME: &str = "explain_query";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(
        description = "The statement to explain (exactly one; SELECT, or INSERT/UPDATE/DELETE without analyze). Not an EXPLAIN."
    )]
    sql: String,
    // `parameters` is the Kiro power's spelling, as for readonly_query; not advertised.
    #[serde(default, alias = "parameters")]
    #[schemars(
        schema_with = "super::input_schema::params_schema",
        description = "Values for $1, $2… placeholders (plans depend on them: use the slow case's values)."
    )]
    params: Option<Vec<Value>>,
    #[serde(default)]
    #[schemars(
        description = "Run the statement (EXPLAIN ANALYZE, READ ONLY, within the time limit) for actual rows, times and, on DSQL, DPUs. Reads only."
    )]
    analyze: bool,
    #[serde(default)]
    #[schemars(
        description = "CREATE INDEX [ASYNC] statements to try: built in a rolled-back transaction (local and --database-url mode) and the plans compared."
    )]
    try_indexes: Option<Vec<String>>,
}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Explain why one SQL statement is slow and what it costs, without running it: the plan \
    (EXPLAIN, nothing executes), a summary (estimated rows and cost; with analyze, actual rows and times), and \
    `findings` that know Aurora DSQL's plans (full scans of a large table an index would serve, filters not pushed \
    down to storage and why, nested loops scanning their inner table per row, sorts for ORDER BY … LIMIT, stale \
    statistics, reads far larger than the result, expensive statements by DPU), each with the fix as runnable SQL \
    (CREATE INDEX ASYNC …, ANALYZE t). `analyze: true` runs the statement (EXPLAIN ANALYZE) inside a READ ONLY \
    transaction within the time limit, only for a read; for UPDATE/DELETE/INSERT … SELECT it is refused and the \
    equivalent SELECT is suggested. On DSQL with analyze, the answer carries the Query Identifier and the Statement \
    DPU Estimate (compute, read, write, total; directional, not billing). `try_indexes: [\"CREATE INDEX ASYNC …\"]` \
    answers 'would this index help' in local and --database-url mode: the indexes are built in a transaction that \
    is always rolled back and the plans before and after are compared (cost, node types); nothing is left behind. \
    On a DSQL cluster indexes cannot be tried that way (they build asynchronously, outside any transaction), and \
    the answer says so. Pass the statement itself in `sql`, not an EXPLAIN of it.",
        "inputSchema": super::input_schema::input_schema::<Args>("explain_queryArguments"),
        "annotations": {"title": "Explain a query", "readOnlyHint": true, "destructiveHint": false,
                        "idempotentHint": true, "openWorldHint": false}
    })
}

const SHAPE: &str = "{\"sql\": string, \"params\": [values] (optional), \"analyze\": bool (optional), \"try_indexes\": [\"CREATE INDEX …\"] (optional)}";

/// Rows per table for the findings, read in the same transaction and flight as the plan (local and URL mode;
/// DSQL's plans carry what its B-Tree Scan read). The names go as one text, one per line: an array parameter would
/// cost the driver a round trip to look its type up.
const TABLE_ROWS: &str = "SELECT n.nspname || '.' || c.relname AS rel, c.relname::text AS name, c.reltuples::float8 AS n \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'm') AND c.relname = ANY (string_to_array($1, E'\\n'))";

/// Returns the plan of `sql` with a summary and findings; with `analyze`, runs it read-only for actual rows and
/// times; with `try_indexes`, plans it again with those indexes created in a transaction that is rolled back.
pub async fn call(env: &Env, args: Option<Map<String, Value>>) -> Result<Value, ToolError> {
    let args: Args = parse_args(NAME, args, SHAPE)?;
    check_sql_text(NAME, "sql", &args.sql)?;
    refuse_what_cannot_be_explained(&args.sql, args.analyze)?;
    let on_dsql = matches!(env.settings.target, Target::Dsql(_));
    let indexes = match &args.try_indexes {
        Some(list) if !list.is_empty() => trial_indexes(env, list)?,
        _ => Vec::new(),
    };
    if !indexes.is_empty() && matches!(env.settings.target, Target::Url { .. }) && !env.settings.allow_writes {
        return Err(format!(
            "{NAME}: try_indexes builds each index inside a transaction that is rolled back, which holds a lock that \
             blocks writes to the table while it builds; on a --database-url database (shared with others) that \
             needs a server started with --allow-writes. Without try_indexes the plan and findings need nothing."
        )
        .into());
    }
    // With analyze and a trial, the trial plans without ANALYZE: that text is checked too (what runs is what was
    // checked), in the same check.
    let trial_here = !indexes.is_empty() && !on_dsql;
    let param_count = args.params.as_ref().map(Vec::len);
    let explain = explain_text(&args.sql, args.analyze, on_dsql);
    let plain = explain_text(&args.sql, false, on_dsql);
    let mut inputs = vec![sql::StatementInput { sql: &explain, param_count }];
    if trial_here && args.analyze {
        inputs.push(sql::StatementInput { sql: &plain, param_count });
    }
    let (db, checked) = super::check_then_connect(env, sql::Tool::ReadonlyQuery, &inputs).await?;
    let mut checked_statements = checked.statements.into_iter();
    let prepared = checked_statements.next().ok_or("internal error: no statement was checked")?;
    confirm_explain_is_as_asked(&prepared.text, args.analyze)?;
    let params = args.params.clone().unwrap_or_default();
    let plain_st = match checked_statements.next() {
        Some(p) => {
            confirm_explain_is_as_asked(&p.text, false)?;
            Some(Statement { text: p.text, command: p.command, params: params.clone(), quota: p.quota })
        }
        None => None,
    };
    let explain_st = Statement { text: prepared.text, command: prepared.command, params, quota: prepared.quota };
    let names: Vec<&str> =
        prepared.tables.iter().map(|t| crate::explain::predicate::bare(t).trim_matches('"')).collect();
    let names = names.join("\n");
    let table_rows_st = Statement {
        text: TABLE_ROWS.into(),
        command: "SELECT".into(),
        params: vec![Value::String(names)],
        quota: Vec::new(),
    };
    let ctx = ErrorContext::default();
    let limits = env.settings.limits.unbounded_rows();
    let mut warnings: Vec<String> = checked.warnings.iter().map(ToString::to_string).collect();

    // One flight: the plan and, off DSQL, the table sizes, in one READ ONLY transaction; with try_indexes (and
    // without analyze) the trial's "before" plan is the plan, so the trial's flight is the only one.
    let (rows, trial) = if trial_here && !args.analyze {
        let (before, after) =
            try_in_rolled_back_transaction(&db, &explain_st, &table_rows_st, &indexes, limits, &ctx).await?;
        let trial = Some((before.clone(), after));
        (before, trial)
    } else {
        let reads = if on_dsql { vec![explain_st.clone()] } else { vec![explain_st.clone(), table_rows_st.clone()] };
        let outcome = exec::run_all_rows(&db, &reads, limits, &ctx).await.map_err(ToolError::Exec)?;
        let trial = match &plain_st {
            Some(plain) => {
                Some(try_in_rolled_back_transaction(&db, plain, &table_rows_st, &indexes, limits, &ctx).await?)
            }
            None => None,
        };
        (outcome.all_rows, trial)
    };

    let plan = read_plan(&rows, on_dsql)?;
    let context = findings::Context { dsql: on_dsql, table_rows: table_rows(rows.get(1)) };
    let found = findings::evaluate(&context, &plan);
    let mut out = json!({
        "engine": if on_dsql { "Aurora DSQL" } else { "PostgreSQL (local sandbox or --database-url)" },
        "analyzed": args.analyze,
        "summary": summary(&plan),
        "findings": found,
        "plan": plan.root,
        "text": render::text(&plan, &found),
    });
    if let Some(id) = &plan.query_identifier {
        out["query_identifier"] = json!(id);
    }
    if let Some(dpu) = &plan.dpu {
        out["dpu"] = dpu_json(dpu);
    }
    if !indexes.is_empty() {
        out["index_trial"] = match trial {
            Some((before, after)) => compare(&context, &before, &after, &indexes, on_dsql)?,
            None => json!({
                "tried": false,
                "why": "On Aurora DSQL an index cannot be tried without building it: CREATE INDEX ASYNC runs as a \
                        background job that commits on its own, never inside a transaction that could be rolled back. \
                        Copying the tables' definitions into a local PostgreSQL would plan over empty tables without the \
                        cluster's statistics and with another engine's cost model, so its answer would look like \
                        evidence and not be. Build the index with CREATE INDEX ASYNC, wait for its job \
                        (CALL sys.wait_for_job(job_id)), then call explain_query again with analyze: true and compare \
                        the plan and the DPU estimate; DROP INDEX if it does not help.",
            }),
        };
    }
    if args.analyze && on_dsql && plan.dpu.is_none() {
        warnings.push("DSQL printed no Statement DPU Estimate for this statement".into());
    }
    if !warnings.is_empty() {
        out["warnings"] = json!(warnings);
    }
    Ok(out)
}

/// `sql` must be one statement that has a plan, not an EXPLAIN; with `analyze`, a read (a write's read part is
/// suggested instead). What does not parse is left to the checks, which say why.
fn refuse_what_cannot_be_explained(text: &str, analyze: bool) -> Result<(), String> {
    let Some(stmt) = sql::parse_statement(text) else { return Ok(()) };
    if matches!(stmt, Ast::Explain { .. } | Ast::ExplainTable { .. }) {
        return Err(format!(
            "{NAME} takes the statement itself, not an EXPLAIN of it: pass the statement in `sql` and set \
             `analyze: true` to run it (reads only). EXPLAIN options in `sql` are refused so that nothing runs \
             unless `analyze` says so."
        ));
    }
    let (class, command, _) = sql::describe(&stmt);
    if !matches!(stmt, Ast::Query(_) | Ast::Insert(_) | Ast::Update(_) | Ast::Delete(_)) {
        return Err(format!(
            "{NAME} explains SELECT, VALUES, TABLE, WITH … and INSERT/UPDATE/DELETE; {command} has no plan."
        ));
    }
    if analyze && class != sql::StatementClass::Read {
        let hint = match dml::equivalent_select(&stmt) {
            Some(select) => format!(
                " The SELECT that reads the same rows is: {select}\nExplain that with analyze: true (or this \
                 {command} without analyze to see its plan)."
            ),
            None => format!(" Explain this {command} without analyze to see its plan."),
        };
        return Err(format!(
            "{NAME}: analyze runs the statement, and {command} writes, so it is never analyzed.{hint}"
        ));
    }
    Ok(())
}

/// `EXPLAIN (…) sql`: FORMAT JSON on PostgreSQL; on DSQL the documented text form (its DPU estimate is documented
/// for `EXPLAIN ANALYZE VERBOSE` only).
fn explain_text(sql: &str, analyze: bool, on_dsql: bool) -> String {
    let options = match (on_dsql, analyze) {
        (true, true) => "ANALYZE, VERBOSE",
        (true, false) => "VERBOSE",
        (false, true) => "FORMAT JSON, VERBOSE, ANALYZE",
        (false, false) => "FORMAT JSON, VERBOSE",
    };
    format!("EXPLAIN ({options}) {sql}")
}

/// The checked text is one EXPLAIN, with ANALYZE exactly when asked, wrapping no other EXPLAIN: decided from the
/// parse, whatever `sql` held.
fn confirm_explain_is_as_asked(checked: &str, analyze: bool) -> Result<(), String> {
    let refuse = || format!("{NAME}: `sql` must be a single statement (no EXPLAIN options, no second statement)");
    match sql::parse_statement(checked) {
        Some(Ast::Explain { statement, options, analyze: bare_analyze, .. }) => {
            let says_analyze =
                bare_analyze || options.iter().flatten().any(|o| o.name.value.eq_ignore_ascii_case("analyze"));
            if says_analyze != analyze || matches!(*statement, Ast::Explain { .. } | Ast::ExplainTable { .. }) {
                return Err(refuse());
            }
            Ok(())
        }
        _ => Err(refuse()),
    }
}

/// Each `try_indexes` entry: one CREATE INDEX and nothing else, through the safety guard, sent without ASYNC
/// (the sandbox would otherwise leave it not valid until its job completes) and without CONCURRENTLY (it cannot
/// run in a transaction), re-printed from the parse so what runs is what was checked.
fn trial_indexes(env: &Env, list: &[String]) -> Result<Vec<Statement>, String> {
    const MAX: usize = 8;
    if list.len() > MAX {
        return Err(format!("try_indexes has {} entries; try at most {MAX} at a time", list.len()));
    }
    let policy = sql::Policy {
        allow_writes: true,
        rules: sql::RulesMode::Off,
        tenant_column: None,
        dsql_version: env.settings.dsql_version,
    };
    list.iter()
        .enumerate()
        .map(|(i, text)| {
            let n = i + 1;
            check_sql_text(NAME, "try_indexes", text).map_err(|e| e.to_string())?;
            let Some(Ast::CreateIndex(mut ci)) = sql::parse_statement(text) else {
                return Err(format!(
                    "try_indexes entry {n} must be one CREATE INDEX statement and nothing else (e.g. \"CREATE INDEX \
                     ASYNC orders_customer_idx ON orders (customer_id)\")"
                ));
            };
            ci.r#async = false;
            ci.concurrently = false;
            let plain = Ast::CreateIndex(ci).to_string();
            let input = [sql::StatementInput { sql: &plain, param_count: None }];
            sql::check(sql::Tool::Transact, &input, &policy, None)
                .map_err(|f| format!("try_indexes entry {n} was refused: {f}"))?;
            Ok(Statement { text: plain, command: "CREATE INDEX".into(), params: Vec::new(), quota: Vec::new() })
        })
        .collect()
}

type Rows = Vec<Vec<Map<String, Value>>>;

/// BEGIN; table sizes; the plan; the indexes; the plan again; ROLLBACK, in one flight (the judge never lets it
/// commit). Returns the rows before (sizes, plan) and after (plan).
async fn try_in_rolled_back_transaction(
    db: &crate::pool::Database,
    explain: &Statement,
    table_rows: &Statement,
    indexes: &[Statement],
    limits: exec::Limits,
    ctx: &ErrorContext<'_>,
) -> Result<(Rows, Rows), String> {
    let seen: Mutex<Option<Rows>> = Mutex::new(None);
    let judge = |reads: &[Vec<Map<String, Value>>], _: &[exec::StatementReport]| {
        if let Ok(mut s) = seen.lock() {
            *s = Some(reads.to_vec());
        }
        false
    };
    let look = Look { before: vec![explain.clone(), table_rows.clone()], after: vec![explain.clone()], judge: &judge };
    let outcome = exec::run_looked(db, indexes, &look, limits, ctx, &|_, _| {}).await.map_err(|e| e.to_string())?;
    if !outcome.held {
        return Err("internal error: the index trial was not rolled back".into());
    }
    let reads = seen.lock().ok().and_then(|mut s| s.take()).ok_or("internal error: the index trial saw no plans")?;
    let [plan_before, sizes, plan_after]: [Vec<Map<String, Value>>; 3] =
        reads.try_into().map_err(|_| "internal error: the index trial's reads are not three")?;
    Ok((vec![plan_before, sizes], vec![plan_after]))
}

fn read_plan(rows: &Rows, on_dsql: bool) -> Result<plan::Plan, String> {
    let plan_rows = rows.first().ok_or("the database returned no plan")?;
    let values: Vec<&Value> = plan_rows.iter().filter_map(|r| r.values().next()).collect();
    if on_dsql {
        plan::from_text(values.iter().filter_map(|v| v.as_str()))
    } else {
        plan::from_json(values.first().ok_or("the database returned no plan")?)
    }
    .map_err(|e| format!("{NAME} could not read the plan: {e}"))
}

fn table_rows(rows: Option<&Vec<Map<String, Value>>>) -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    for r in rows.into_iter().flatten() {
        let n = r.get("n").and_then(Value::as_f64).filter(|n| *n >= 0.0);
        if let Some(n) = n {
            for k in ["rel", "name"] {
                if let Some(name) = r.get(k).and_then(Value::as_str) {
                    out.insert(name.to_string(), n);
                }
            }
        }
    }
    out
}

fn summary(plan: &plan::Plan) -> Value {
    let r = &plan.root;
    let mut s = json!({
        "top_node": findings::label(r),
        "estimated_rows": r.plan_rows,
        "estimated_cost": r.total_cost,
    });
    if r.actual_rows.is_some() {
        s["actual_rows"] = json!(r.actual_rows);
        s["actual_time_ms"] = json!(r.actual_total_ms);
    }
    if let Some(ms) = plan.planning_ms {
        s["planning_ms"] = json!(ms);
    }
    if let Some(ms) = plan.execution_ms {
        s["execution_ms"] = json!(ms);
    }
    s
}

fn dpu_json(dpu: &exec::dpu::DpuEstimate) -> Value {
    let get = |n: &str| dpu.component(n).map(|c| c.dpu);
    let parts = ["Compute", "Read", "Write", "MultiRegionWrite"];
    let sum: f64 = parts.iter().filter_map(|n| get(n)).sum();
    json!({
        "compute": get("Compute"),
        "read": get("Read"),
        "write": get("Write"),
        "multi_region_write": get("MultiRegionWrite"),
        "total": get("Total").unwrap_or(sum),
        "components": dpu.components,
        "note": "DSQL's statement-level estimate: directional, not billing (CloudWatch and the bill are authoritative)",
    })
}

/// The plans before and after the trial indexes: cost, node types, and which trial index the plan uses.
fn compare(
    ctx: &findings::Context,
    before: &Rows,
    after: &Rows,
    indexes: &[Statement],
    on_dsql: bool,
) -> Result<Value, String> {
    let b = read_plan(before, on_dsql)?;
    let a = read_plan(after, on_dsql)?;
    let nodes = |p: &plan::Plan| -> Vec<String> { p.root.walk().into_iter().map(findings::label).collect() };
    let known: Vec<String> = b.root.walk().iter().filter_map(|n| n.index.clone()).collect();
    let used: Vec<String> =
        a.root.walk().iter().filter_map(|n| n.index.clone()).filter(|i| !known.contains(i)).collect();
    let (cb, ca) = (b.root.total_cost.unwrap_or(0.0), a.root.total_cost.unwrap_or(0.0));
    let after_findings = findings::evaluate(ctx, &a);
    Ok(json!({
        "tried": true,
        "how": "built in a transaction that was rolled back: no index was left behind",
        "indexes": indexes.iter().map(|s| s.text.clone()).collect::<Vec<_>>(),
        "cost_before": cb,
        "cost_after": ca,
        "cost_change_percent": if cb > 0.0 { ((ca - cb) / cb * 100.0 * 10.0).round() / 10.0 } else { 0.0 },
        "helps": ca < cb && !used.is_empty(),
        "indexes_used": used,
        "nodes_before": nodes(&b),
        "nodes_after": nodes(&a),
        "findings_after": after_findings,
        "text_after": render::text(&a, &after_findings),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DSQL's answer as rows of its one `QUERY PLAN` column (the documented example 1, tests/explain_plans).
    fn dsql_rows() -> Rows {
        let text = include_str!("../../tests/explain_plans/dpu_select.txt");
        let rows = text
            .lines()
            .filter(|l| !l.starts_with('#') && l.trim() != "QUERY PLAN" && !l.starts_with("---"))
            .map(|l| {
                let mut m = Map::new();
                m.insert("QUERY PLAN".into(), Value::String(l.into()));
                m
            })
            .collect();
        vec![rows]
    }

    #[test]
    fn on_dsql_the_documented_text_form_is_asked_for_and_its_dpu_split_is_answered() {
        assert_eq!(explain_text("SELECT 1", true, true), "EXPLAIN (ANALYZE, VERBOSE) SELECT 1");
        assert_eq!(explain_text("SELECT 1", false, true), "EXPLAIN (VERBOSE) SELECT 1");
        assert_eq!(explain_text("SELECT 1", false, false), "EXPLAIN (FORMAT JSON, VERBOSE) SELECT 1");
        let plan = read_plan(&dsql_rows(), true).unwrap();
        assert_eq!(plan.query_identifier.as_deref(), Some("qymgw1m77maoe"));
        let dpu = dpu_json(plan.dpu.as_ref().unwrap());
        assert_eq!(
            (dpu["compute"].clone(), dpu["read"].clone(), dpu["write"].clone(), dpu["total"].clone()),
            (json!(0.01607), json!(0.04312), json!(0.0), json!(0.05919))
        );
        assert_eq!(dpu["multi_region_write"], Value::Null);
        let s = summary(&plan);
        assert_eq!((s["actual_rows"].clone(), s["execution_ms"].clone()), (json!(120.0), json!(4.528)));
    }

    #[test]
    fn any_explain_in_sql_and_any_analyzed_write_are_refused_before_anything_is_sent() {
        for sql in ["EXPLAIN ANALYZE DELETE FROM t", "explain (analyse) select 1", "EXPLAIN SELECT 1"] {
            for analyze in [false, true] {
                let e = refuse_what_cannot_be_explained(sql, analyze).unwrap_err();
                assert!(e.contains("not an EXPLAIN of it"), "{sql}: {e}");
            }
        }
        assert!(refuse_what_cannot_be_explained("SHOW work_mem", false).unwrap_err().contains("has no plan"));
        assert!(
            refuse_what_cannot_be_explained("INSERT INTO t VALUES (1)", true).unwrap_err().contains("without analyze")
        );
        assert!(refuse_what_cannot_be_explained("UPDATE t SET a = 1", false).is_ok());
        assert!(refuse_what_cannot_be_explained("SELECT 1", true).is_ok());
        // The checked text says ANALYZE exactly when asked, and wraps no EXPLAIN.
        assert!(confirm_explain_is_as_asked("EXPLAIN (FORMAT JSON, VERBOSE) SELECT 1", false).is_ok());
        assert!(confirm_explain_is_as_asked("EXPLAIN (FORMAT JSON, VERBOSE, ANALYZE) SELECT 1", true).is_ok());
        assert!(confirm_explain_is_as_asked("EXPLAIN (FORMAT JSON, VERBOSE, ANALYZE) SELECT 1", false).is_err());
        assert!(confirm_explain_is_as_asked("EXPLAIN (VERBOSE) EXPLAIN ANALYZE SELECT 1", false).is_err());
        assert!(confirm_explain_is_as_asked("SELECT 1", false).is_err());
    }
}
