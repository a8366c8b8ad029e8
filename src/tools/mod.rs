//! The MCP tools, one file each, and helpers that check, connect and shape arguments and results the same way for
//! every tool. Every call reaches its tool through the registry ([`registry`]: the table of tools and the one
//! dispatch); a new tool is an entry there. The environment they run in (settings, the database) is `config`'s.

pub mod apply_migration;
pub mod backfill;
pub mod docs;
pub mod dsql_lint;
pub mod error;
pub mod explain_query;
pub mod get_schema;
pub mod input_schema;
pub mod list_migrations;
pub mod readonly_query;
pub mod registry;
pub mod transact;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The environment every tool runs in, made by `config` (re-exported so each tool names it as `super::Env`).
pub use crate::config::{Env, Settings};
use crate::exec::Outcome;
use crate::pool::Database;
pub use error::ToolError;

/// Largest `sql` accepted by any tool, in characters (the Python server's dsql_lint limit, applied everywhere).
pub const MAX_SQL_CHARS: usize = 1_000_000;

/// The schema of one bound value. Any JSON value binds (scalars as text, arrays as PostgreSQL arrays, objects as
/// json text, arrays up to two dimensions); each branch names one type so strict schema linters and single-type
/// dialects accept it.
pub fn param_value_schema() -> Value {
    json!({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"},
            {"type": "null"}, {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"},
            {"type": "boolean"}, {"type": "null"}]}}]}, "description": "binds to a PostgreSQL array"},
        {"type": "object", "additionalProperties": true, "description": "binds as json text"}]})
}

/// Check a call's statements, then get the database. The checks run before any connection is opened (a refused
/// statement needs no database), except that tenant scoping must read the catalog first.
pub async fn check_then_connect(
    env: &Env,
    tool: crate::sql::Tool,
    inputs: &[crate::sql::StatementInput<'_>],
) -> Result<(Arc<Database>, crate::sql::Checked), ToolError> {
    let early_db = match env.settings.tenant_column {
        Some(_) => Some(env.database().await?),
        None => None,
    };
    let tenant = match &early_db {
        Some(db) => tenant_tables(env, db).await?,
        None => None,
    };
    let checked = check_statements(env.check_cache(), tool, inputs, env.settings.policy().clone(), tenant).await?;
    let db = match early_db {
        Some(db) => db,
        None => env.database().await?,
    };
    Ok((db, checked))
}

/// Calls with more SQL than this are checked on a blocking thread. The server runs on one thread (a current-thread
/// runtime: fewer thread wake-ups per call, see `main`); parsing a megabyte of SQL takes long enough (~15 ms per
/// 64 KiB of short statements) that other calls, pings and cancellations would wait behind it.
const CHECK_OFF_THREAD_BYTES: usize = 64 * 1024;

async fn check_statements(
    cache: &crate::sql::CheckCache,
    tool: crate::sql::Tool,
    inputs: &[crate::sql::StatementInput<'_>],
    policy: crate::sql::Policy,
    tenant: Option<crate::sql::TenantCatalog>,
) -> Result<crate::sql::Checked, ToolError> {
    let size: usize = inputs.iter().map(|i| i.sql.len()).sum();
    if size < CHECK_OFF_THREAD_BYTES {
        // With tenant scoping the verdict also depends on the database's tables: never reused.
        let reusable = tenant.is_none();
        if reusable && let Some(checked) = cache.get(tool, inputs) {
            return Ok(checked);
        }
        let checked = crate::sql::check(tool, inputs, &policy, tenant.as_ref())?;
        if reusable {
            cache.put(tool, inputs, &checked);
        }
        return Ok(checked);
    }
    let owned: Vec<(String, Option<usize>)> = inputs.iter().map(|i| (i.sql.to_string(), i.param_count)).collect();
    tokio::task::spawn_blocking(move || {
        let inputs: Vec<crate::sql::StatementInput<'_>> = owned
            .iter()
            .map(|(sql, param_count)| crate::sql::StatementInput { sql, param_count: *param_count })
            .collect();
        crate::sql::check(tool, &inputs, &policy, tenant.as_ref()).map_err(ToolError::from)
    })
    .await
    .map_err(|e| ToolError::Failed(format!("checking the statements failed: {e}")))?
}

/// With --tenant-column, what tenant scoping needs from the catalog, in one query (the round trip this call
/// already made for the table list): tables having that column, views and materialized views, and user-defined
/// functions and procedures, outside `pg_catalog`, `information_schema` and `sys` (DSQL's own schema, emulated by
/// the server; `sys.wait_for_job` and `sys.jobs` stay usable). Read for each call so new objects are covered at
/// once. `None` when tenant scoping is off.
pub async fn tenant_tables(env: &Env, db: &Database) -> Result<Option<crate::sql::TenantCatalog>, ToolError> {
    let Some(column) = &env.settings.tenant_column else { return Ok(None) };
    const CATALOG: &str = "SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'v' ELSE 't' END AS k, n.nspname AS s, \
         c.relname AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE (c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sys')) \
         OR (c.relkind IN ('r', 'p', 'f') AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = c.oid AND a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped)) \
         UNION ALL SELECT 'f', n.nspname, p.proname FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'sys')";
    let st = [crate::exec::Statement {
        text: CATALOG.into(),
        command: "SELECT".into(),
        params: vec![Value::String(column.clone())],
        quota: Vec::new(),
    }];
    let ctx = crate::exec::ErrorContext::default();
    let limits = env.settings.limits.unbounded_rows();
    let outcome = crate::exec::run(db, &st, crate::exec::TxMode::ReadOnly, limits, &ctx, &|_, _| {})
        .await
        .map_err(|e| format!("cannot read which tables have the tenant column {column}: {e}"))?;
    let mut catalog = crate::sql::TenantCatalog::default();
    for row in outcome.rows {
        let field = |k: &str| row.get(k).and_then(Value::as_str);
        if let (Some(kind), Some(schema), Some(name)) = (field("k"), field("s"), field("n")) {
            catalog.add(kind, schema, name);
        }
    }
    Ok(Some(catalog))
}

/// With --tenant-column, every statement of a migration file as written is scoped like a `transact` statement
/// (data statements pin the tenant, the tenant column is not dropped, renamed or retyped, no views or
/// user-defined functions in data statements). The rewrites `fix` makes from DDL (the backfill that gives a new
/// column its default) belong to that DDL and touch every tenant's rows, as the DDL itself would.
pub async fn tenant_check_script(env: &Env, sql: &str) -> Result<(), ToolError> {
    let Some(column) = &env.settings.tenant_column else { return Ok(()) };
    let db = env.database().await?;
    let Some(mut catalog) = tenant_tables(env, &db).await? else { return Ok(()) };
    for s in crate::sql::split_script(sql)? {
        crate::sql::tenant_scoped(&s.text, column, &mut catalog)
            .map_err(|f| format!("migration statement at line {} was not applied, nor any other: {f}", s.line))?;
    }
    Ok(())
}

/// Parse a tool's arguments, turning serde's complaint into a sentence that names the tool and the expected shape.
pub fn parse_args<T: DeserializeOwned>(
    tool: &str,
    args: Option<Map<String, Value>>,
    shape: &str,
) -> Result<T, ToolError> {
    parse_args_ref(tool, args.as_ref(), shape)
}

/// [`parse_args`] without taking the arguments: for callers that still need them afterwards (no copy).
pub fn parse_args_ref<T: DeserializeOwned>(
    tool: &str,
    args: Option<&Map<String, Value>>,
    shape: &str,
) -> Result<T, ToolError> {
    let empty = Map::new();
    T::deserialize(args.unwrap_or(&empty)).map_err(|e| ToolError::InvalidArguments {
        tool: tool.to_string(),
        detail: e.to_string(),
        expected: shape.to_string(),
    })
}

/// Reject empty or oversized SQL before anything else happens.
pub fn check_sql_text(tool: &str, field: &str, sql: &str) -> Result<(), ToolError> {
    if sql.trim().is_empty() {
        return Err(ToolError::EmptySql { tool: tool.to_string(), field: field.to_string() });
    }
    let chars = sql.chars().count();
    if chars > MAX_SQL_CHARS {
        return Err(ToolError::SqlTooLong { field: field.to_string(), chars });
    }
    Ok(())
}

/// The structured result shared by the database tools.
pub fn rows_result(outcome: Outcome, warnings: Vec<String>, with_statements: bool) -> Value {
    let row_count = outcome.rows.len();
    let note = truncation_note(&outcome);
    // The rows are moved in, not written out through `json!` (which copies every value by serializing it).
    let rows = Value::Array(outcome.rows.into_iter().map(Value::Object).collect());
    let mut v = json!({
        "columns": outcome.columns,
        "row_count": row_count,
        "truncated": outcome.truncated,
    });
    v["result"] = rows;
    if with_statements {
        v["statements"] = json!(outcome.statements);
    }
    v["attempts"] = json!(outcome.attempts);
    if let Some(note) = note {
        v["truncation"] = json!(note);
    }
    if !warnings.is_empty() {
        v["warnings"] = json!(warnings);
    }
    v
}

/// What an agent needs to know when not every row (or column, or value) came back: how many did, why, and how
/// to get the rest.
fn truncation_note(outcome: &Outcome) -> Option<String> {
    let returned = outcome.rows.len();
    let total = outcome.rows_seen;
    let mut notes = Vec::new();
    match outcome.stopped_by {
        Some(crate::exec::Limit::Rows(max)) => notes.push(format!(
            "Returned {returned} of {total} rows (the server's --max-rows is {max}). Get the rest page by page with \
             ORDER BY … LIMIT {max} OFFSET {returned}, or aggregate in SQL."
        )),
        Some(crate::exec::Limit::Bytes(max)) => notes.push(format!(
            "Returned {returned} of {total} rows: the answer stopped at the server's --max-result-bytes ({max} \
             bytes). Get the rest with ORDER BY … LIMIT {returned} OFFSET {returned}, or select fewer or shorter \
             columns."
        )),
        None => {}
    }
    if let Some((shown, all)) = outcome.columns_cut {
        notes.push(format!(
            "Returned the first {shown} of {all} columns: their names and types alone would pass the server's \
             --max-result-bytes. Select the columns you need by name."
        ));
    }
    if outcome.values_cut {
        notes.push(
            "A single row was larger than that limit: its longest values were cut and end with \"…[cut: N of M \
             bytes shown]\"; select parts of them (substr(col, 1, N)) instead."
                .to_string(),
        );
    }
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// Output schema of the database tools: upstream's `{"result": [objects]}` plus our fields.
pub fn rows_output_schema(title: &str, with_statements: bool) -> Value {
    let mut props = json!({
        "result": {"type": "array", "items": {"type": "object", "additionalProperties": true}, "title": "Result",
                   "description": "Rows of the (last) statement, one object per row keyed by column name"},
        "columns": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "type": {"type": "string"}}},
                    "description": "Column names and PostgreSQL types, in order"},
        "row_count": {"type": "integer", "description": "Number of rows in result"},
        "truncated": {"type": "boolean", "description": "True when not everything came back: rows (--max-rows or --max-result-bytes), columns or values (--max-result-bytes)"},
        "truncation": {"type": "string", "description": "When truncated: how many rows came back, which limit stopped them, and how to get the rest"},
        "attempts": {"type": "integer", "description": "How many times the transaction ran (more than 1 after optimistic-concurrency conflicts, retried automatically)"},
        "warnings": {"type": "array", "items": {"type": "string"}, "description": "DSQL rule warnings"},
    });
    if with_statements {
        props["statements"] = json!({"type": "array", "items": {"type": "object", "properties": {
            "command": {"type": "string"}, "rows_affected": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}},
            "description": "Per statement: command tag and affected-row count"});
    }
    json!({"type": "object", "properties": props, "required": ["result"], "title": title})
}
