//! `backfill(table, set?, where?, delete?, batch_size?)`: an UPDATE or DELETE in batches under DSQL's row limit
//! (see `crate::migrate::backfill`). Only with --allow-writes.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, parse_args};
use crate::migrate::backfill::{BackfillSpec, DEFAULT_BATCH, MAX_BATCH};
use crate::migrate::{self, Ctx};

/// The MCP tool name clients call.
pub const NAME: &str = "backfill";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(description = "table or schema.table (must have a primary key)")]
    table: String,
    #[serde(default)]
    #[schemars(with = "String", description = "Assignments, as after SET: \"status = 'open', n = n + 1\"")]
    set: Option<String>,
    #[serde(default, rename = "where")]
    #[schemars(with = "String", description = "Condition selecting the rows to change; omit for all rows")]
    filter: Option<String>,
    #[serde(default)]
    #[schemars(description = "Delete the matching rows instead of updating them")]
    delete: bool,
    #[serde(default)]
    #[schemars(with = "usize", range(min = 1, max = MAX_BATCH), extend("default" = DEFAULT_BATCH))]
    batch_size: Option<usize>,
}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Update (or delete, with delete=true) many rows in batches that respect Aurora DSQL's limit of \
    3,000 changed rows per transaction: `UPDATE table SET <set> WHERE <where>` runs batch_size rows at a time (default \
    1000, at most 3000), each batch its own transaction retried on conflicts (40001), walking the primary key until no \
    row matches. Sends progress notifications with the rows done when the request has a progressToken. Safe to run \
    again after an interruption when `where` selects only rows still to do (e.g. `status IS NULL`). Returns rows \
    changed, batches run and conflict retries. Example: backfill(table=\"orders\", set=\"status = 'open'\", where=\"status IS NULL\").",
        "inputSchema": super::input_schema::input_schema::<Args>("backfillArguments"),
        "annotations": {"title": "Batched UPDATE/DELETE", "readOnlyHint": false, "destructiveHint": true,
                        "idempotentHint": false, "openWorldHint": false}
    })
}

/// The backfill as one line, for the confirmation question; `None` when the arguments do not parse (the call
/// explains).
pub fn describe(args: Option<&Map<String, Value>>) -> Option<String> {
    spec(super::parse_args_ref::<Args>(NAME, args, "").ok()?).map(|s| s.describe()).ok()
}

fn spec(args: Args) -> Result<BackfillSpec, ToolError> {
    let spec = BackfillSpec {
        table: args.table.trim().to_string(),
        set: args.set.filter(|s| !s.trim().is_empty()),
        filter: args.filter.filter(|s| !s.trim().is_empty()),
        delete: args.delete,
        batch_size: args.batch_size.unwrap_or(DEFAULT_BATCH),
    };
    spec.validate()?;
    Ok(spec)
}

/// What the backfill would do, counted before it starts: it destroys when it deletes or overwrites every row of
/// the table or more than the threshold (see `server::effects`). The batches commit one by one, so this is
/// counted, not run and rolled back; on "yes" it is counted again and runs only if the count is the same.
pub async fn measure(
    env: &Env,
    args: Option<&Map<String, Value>>,
) -> Result<crate::server::effects::Effects, ToolError> {
    use crate::server::effects::{COUNT_CAP, Effects, ROW_THRESHOLD};
    let args: Args = super::parse_args_ref(NAME, args, SHAPE)?;
    let spec = spec(args)?;
    let db = env.database().await?;
    let ctx = Ctx { db: &db, policy: env.settings.policy().clone(), limits: env.settings.limits, tool: NAME };
    let tenant = super::tenant_tables(env, &db).await?;
    let (matched, total) = spec.count(&ctx, COUNT_CAP + 1, tenant.as_ref()).await?;
    // Under tenant scoping the table's total is not counted: only the threshold applies.
    let total = total.unwrap_or(u64::MAX);
    let (verb, table) = (if spec.delete { "deletes" } else { "overwrites" }, &spec.table);
    let rows = |n: u64| {
        if n > COUNT_CAP {
            format!("more than {COUNT_CAP} rows")
        } else if n == 1 {
            "1 row".into()
        } else {
            format!("{n} rows")
        }
    };
    let mut effects = Effects::default();
    if matched > 0 && (matched >= total || matched > ROW_THRESHOLD) {
        let every = if matched >= total { "every row" } else { "" };
        effects.destroys.push(if every.is_empty() {
            format!("{verb} {} of {table} (counted before it starts: {})", rows(matched), spec.describe())
        } else {
            format!("{verb} every row of {table} ({}; counted before it starts: {})", rows(matched), spec.describe())
        });
    } else {
        effects.other.push(format!("{verb} {} of {table}", rows(matched)));
    }
    Ok(effects)
}

const SHAPE: &str =
    "{\"table\": string, \"set\": string, \"where\": string (optional), \"delete\": bool, \"batch_size\": int}";

/// Runs the UPDATE or DELETE in batches, reporting the rows done through `progress` after each batch.
pub async fn call(
    env: &Env,
    args: Option<Map<String, Value>>,
    progress: migrate::Progress<'_>,
) -> Result<Value, ToolError> {
    let args: Args = parse_args(NAME, args, SHAPE)?;
    let spec = spec(args)?;
    let db = env.database().await?;
    let ctx = Ctx { db: &db, policy: env.settings.policy().clone(), limits: env.settings.limits, tool: NAME };
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
