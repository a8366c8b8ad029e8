//! `readonly_query(sql, params?)`: one statement, checked by the read-only guard, run in a READ ONLY transaction
//! that always ends with ROLLBACK.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, check_sql_text, parse_args, rows_output_schema, rows_result};
use crate::exec::{self, ErrorContext, Statement, TxMode};
use crate::sql;

/// The MCP tool name clients call.
pub const NAME: &str = "readonly_query";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(description = "The SQL query to run (exactly one statement)")]
    sql: String,
    // `parameters` is the Kiro power's spelling (its examples taught agents to use it); not advertised.
    #[serde(default, alias = "parameters")]
    #[schemars(
        schema_with = "super::input_schema::params_schema",
        description = "Optional list of parameter values to bind, one per placeholder. Use $1, $2… (or the Python \
server's %s) placeholders in the SQL string, e.g. \"SELECT * FROM t WHERE id = $1\", params=[\"abc\"]. Values are \
sent as text and PostgreSQL infers their types, so \"42\" binds to an integer column."
    )]
    params: Option<Vec<Value>>,
}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Run one read-only SQL statement against the configured Aurora DSQL cluster (or the local \
    DSQL-like sandbox) and return its rows.\n\nSupported: SELECT with FROM, JOIN (INNER/LEFT/RIGHT/FULL/CROSS, LATERAL), \
    WHERE, GROUP BY (ALL, DISTINCT, ROLLUP/CUBE), HAVING, ORDER BY (ASC, DESC, NULLS), LIMIT/OFFSET, DISTINCT [ON], \
    WITH (CTEs, RECURSIVE), UNION/INTERSECT/EXCEPT [ALL], window functions (OVER, PARTITION BY), FOR UPDATE / FOR KEY \
    SHARE, VALUES, TABLE, SHOW, EXPLAIN [ANALYZE] of a read.\n\nThe statement runs inside a READ ONLY transaction that \
    is always rolled back, with a time limit. Bind values with $1, $2… (or %s) placeholders and `params`; values are \
    never interpolated. Results: `result` (rows as objects), `columns` (name, type), `row_count`, `truncated` (more \
    rows than the server's --max-rows). Types are lossless: numeric as exact strings, int8 beyond 2^53 as strings, \
    bytea as \\x hex, timestamps as ISO 8601, json/jsonb as JSON.",
        "inputSchema": super::input_schema::input_schema::<Args>("readonly_queryArguments"),
        "outputSchema": rows_output_schema("readonly_queryOutput", false),
        "annotations": {"title": "Read-only SQL query", "readOnlyHint": true, "destructiveHint": false,
                        "idempotentHint": true, "openWorldHint": false}
    })
}

/// Checks `sql` with the read-only guard, runs it in a READ ONLY transaction that ends with ROLLBACK, and returns
/// its rows within the server's limits.
pub async fn call(env: &Env, args: Option<Map<String, Value>>) -> Result<Value, ToolError> {
    let args: Args = parse_args(NAME, args, "{\"sql\": string, \"params\": [values] (optional)}")?;
    check_sql_text(NAME, "sql", &args.sql)?;
    let input = [sql::StatementInput { sql: &args.sql, param_count: args.params.as_ref().map(Vec::len) }];
    let (db, checked) = super::check_then_connect(env, sql::Tool::ReadonlyQuery, &input).await?;
    let warnings: Vec<String> = checked.warnings.iter().map(ToString::to_string).collect();
    let statements: Vec<Statement> = checked
        .statements
        .into_iter()
        .map(|p| Statement {
            text: p.text,
            command: p.command,
            params: args.params.clone().unwrap_or_default(),
            quota: p.quota,
        })
        .collect();
    let ctx = ErrorContext { read_only_tool: true, ..ErrorContext::default() };
    let outcome = exec::run(&db, &statements, TxMode::ReadOnly, env.settings.limits, &ctx, &|_, _| {})
        .await
        .map_err(ToolError::Exec)?;
    Ok(rows_result(outcome, warnings, false))
}
