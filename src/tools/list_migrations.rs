//! `list_migrations()`: the migration history recorded by apply_migration (public.mcp_migrations).

use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, parse_args};
use crate::migrate::{Ctx, history};

/// The MCP tool name clients call.
pub const NAME: &str = "list_migrations";

/// The tool takes no arguments.
#[derive(schemars::JsonSchema)]
struct NoArgs {}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "List the migrations applied with apply_migration, oldest first: name, checksum, status \
    (applied, partial after a failure, running), steps_done of steps_total, the planned steps, the last error, \
    started_at, applied_at and duration_ms. Empty when no migration was applied yet.",
        "inputSchema": super::input_schema::input_schema::<NoArgs>("list_migrationsArguments"),
        "annotations": {"title": "List applied migrations", "readOnlyHint": true, "destructiveHint": false,
                        "idempotentHint": true, "openWorldHint": false}
    })
}

/// Returns every recorded migration (oldest first), their count and the history table's name.
pub async fn call(env: &Env, args: Option<Map<String, Value>>) -> Result<Value, ToolError> {
    let _: Map<String, Value> = parse_args(NAME, args, "{} (no arguments)")?;
    let db = env.database().await?;
    let ctx = Ctx { db: &db, policy: env.settings.policy().clone(), limits: env.settings.limits, tool: NAME };
    let list = history::list(&ctx).await?;
    Ok(json!({"migrations": list, "count": list.len(), "table": history::TABLE}))
}
