//! `backfill(table, set?, where?, delete?, batch_size?)`: an UPDATE or DELETE in batches under DSQL's row limit
//! (see `crate::migrate::backfill`). Only with --allow-writes.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Env, parse_args};
use crate::migrate::backfill::{BackfillSpec, DEFAULT_BATCH, MAX_BATCH};
use crate::migrate::{self, Ctx};

pub const NAME: &str = "backfill";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    table: String,
    #[serde(default)]
    set: Option<String>,
    #[serde(default, rename = "where")]
    filter: Option<String>,
    #[serde(default)]
    delete: bool,
    #[serde(default)]
    batch_size: Option<usize>,
}

pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Update (or delete, with delete=true) many rows in batches that respect Aurora DSQL's limit of \
    3,000 changed rows per transaction: `UPDATE table SET <set> WHERE <where>` runs batch_size rows at a time (default \
    1000, at most 3000), each batch its own transaction retried on conflicts (40001), walking the primary key until no \
    row matches. Sends progress notifications with the rows done when the request has a progressToken. Safe to run \
    again after an interruption when `where` selects only rows still to do (e.g. `status IS NULL`). Returns rows \
    changed, batches run and conflict retries. Example: backfill(table=\"orders\", set=\"status = 'open'\", where=\"status IS NULL\").",
        "inputSchema": {
            "type": "object",
            "title": "backfillArguments",
            "properties": {
                "table": {"type": "string", "title": "Table", "description": "table or schema.table (must have a primary key)"},
                "set": {"type": "string", "title": "Set", "description": "Assignments, as after SET: \"status = 'open', n = n + 1\""},
                "where": {"type": "string", "title": "Where", "description": "Condition selecting the rows to change; omit for all rows"},
                "delete": {"type": "boolean", "default": false, "title": "Delete", "description": "Delete the matching rows instead of updating them"},
                "batch_size": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH, "default": DEFAULT_BATCH, "title": "Batch Size"}
            },
            "required": ["table"]
        },
        "annotations": {"title": "Batched UPDATE/DELETE", "readOnlyHint": false, "destructiveHint": true,
                        "idempotentHint": false, "openWorldHint": false}
    })
}

/// What a backfill with no `where` destroys: every row of the table (rewritten, or deleted with delete=true). The
/// server asks the user first. The table name is read by the SQL parser, so only a real name is ever counted.
pub fn destroys(args: Option<&Map<String, Value>>) -> Vec<(usize, String, crate::sql::Destruction)> {
    let Ok(args) = super::parse_args_ref::<Args>(NAME, args, "") else { return Vec::new() };
    if args.filter.as_deref().is_some_and(|f| !f.trim().is_empty()) {
        return Vec::new();
    }
    let sql = if args.delete {
        format!("DELETE FROM {}", args.table.trim())
    } else {
        format!("UPDATE {} SET {}", args.table.trim(), args.set.as_deref().unwrap_or_default())
    };
    crate::sql::parse_statement(&sql)
        .and_then(|stmt| crate::sql::destruction(&stmt))
        .map(|d| vec![(0, sql, d)])
        .unwrap_or_default()
}

pub async fn call(
    env: &Env,
    args: Option<Map<String, Value>>,
    progress: migrate::Progress<'_>,
) -> Result<Value, String> {
    let args: Args = parse_args(
        NAME,
        args,
        "{\"table\": string, \"set\": string, \"where\": string (optional), \"delete\": bool, \"batch_size\": int}",
    )?;
    let spec = BackfillSpec {
        table: args.table.trim().to_string(),
        set: args.set.filter(|s| !s.trim().is_empty()),
        filter: args.filter.filter(|s| !s.trim().is_empty()),
        delete: args.delete,
        batch_size: args.batch_size.unwrap_or(DEFAULT_BATCH),
    };
    spec.validate()?;
    let db = env.database().await?;
    let ctx = Ctx { db: &db, policy: super::transact::policy(env), limits: env.settings.limits, tool: NAME };
    let tenant = super::tenant_tables(env, &db).await?;
    let prepared = spec.prepare(&ctx, tenant.as_ref()).await?;
    let started = std::time::Instant::now();
    let on_batch = |rows: u64, batches: u64| progress(rows, None, format!("{rows} rows in {batches} batches"));
    let report = migrate::backfill::run(&ctx, &prepared, &on_batch).await?;
    Ok(json!({
        "rows": report.rows,
        "batches": report.batches,
        "retries": report.retries,
        "key": report.key,
        "statement": spec.describe(),
        "batch_size": spec.batch_size,
        "duration_ms": started.elapsed().as_millis() as u64,
    }))
}
