//! `dsql_lint(sql, fix?, dialect?)`: DSQL compatibility diagnostics (and optional fixes) for SQL that has not been
//! run, e.g. ORM migrations or pg_dump output. Runs in-process; needs no database.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{MAX_SQL_CHARS, parse_args};
use crate::sql;

/// The MCP tool name clients call.
pub const NAME: &str = "dsql_lint";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(length(max = MAX_SQL_CHARS), description = "SQL string to validate for DSQL compatibility")]
    sql: String,
    #[serde(default)]
    #[schemars(description = "When true, returns DSQL-compatible fixed SQL in addition to diagnostics")]
    fix: bool,
    #[serde(default)]
    #[schemars(
        with = "String",
        extend("enum" = ["postgres", "mysql"], "default" = "postgres"),
        description = "Source dialect of the SQL: postgres (default) or mysql"
    )]
    dialect: Option<String>,
}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Validate SQL for Aurora DSQL compatibility before running it. Use it on externally-sourced \
    SQL (ORM migrations, pg_dump output, hand-written DDL, MySQL schemas). Returns `diagnostics` (rule, line, message, \
    suggestion, statement_preview, fix_result), `summary` {errors, warnings, fixed}, `transaction_diagnostics` (rules that \
    span statements: one DDL per transaction, no DDL+DML mix, 3,000-row limit) and, with fix=true, `fixed_sql`: a \
    DSQL-compatible rewrite (SERIAL to IDENTITY, CREATE INDEX to CREATE INDEX ASYNC, multi-DDL transactions split…). \
    fix_result.status is `fixed`, `fixed_with_warning` (review the detail) or `unfixable` (change the SQL by hand). \
    dialect=\"mysql\" converts MySQL DDL (requires fix=true).",
        "inputSchema": super::input_schema::input_schema::<Args>("dsql_lintArguments"),
        "annotations": {"title": "Check SQL for DSQL compatibility", "readOnlyHint": true, "destructiveHint": false,
                        "idempotentHint": true, "openWorldHint": false}
    })
}

/// `version`: `--dsql-version`, the DSQL release whose rules apply.
pub async fn call(args: Option<Map<String, Value>>, version: sql::DsqlVersion) -> Result<Value, ToolError> {
    let args: Args = parse_args(
        NAME,
        args,
        "{\"sql\": string, \"fix\": bool (optional), \"dialect\": \"postgres\"|\"mysql\" (optional)}",
    )?;
    let chars = args.sql.chars().count();
    if chars > MAX_SQL_CHARS {
        return Err(ToolError::Invalid(format!(
            "`sql` is {chars} characters long; dsql_lint accepts at most {MAX_SQL_CHARS}. Lint the file in parts."
        )));
    }
    let dialect = args.dialect.unwrap_or_else(|| "postgres".into());
    if args.sql.len() < sql::lint::INLINE_BYTES {
        // Under a millisecond of work: a hand-off to a blocking thread would cost more than it saves.
        return sql::lint::run_at(&args.sql, args.fix, &dialect, version).map_err(ToolError::Invalid);
    }
    // Linting a large migration is CPU work: keep it off the server's one thread.
    tokio::task::spawn_blocking(move || sql::lint::run_at(&args.sql, args.fix, &dialect, version))
        .await
        .map_err(|e| ToolError::Failed(format!("dsql_lint failed internally: {e}")))?
        .map_err(ToolError::Invalid)
}
