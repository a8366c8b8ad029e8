//! `apply_migration(name, sql, dry_run?, fix?, rehearse?, sample_rows?)`: plan a migration file into DSQL-legal
//! steps and run them with history (see `crate::migrate`). Only with --allow-writes.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, check_sql_text, parse_args};
use crate::migrate::{self, Ctx, Reporter, apply, history, plan, rehearse};

/// The MCP tool name clients call.
pub const NAME: &str = "apply_migration";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(description = "Migration name, unique per migration (e.g. 20261128_add_status)")]
    name: String,
    #[schemars(description = "The migration file: SQL statements separated by semicolons")]
    sql: String,
    #[serde(default)]
    #[schemars(description = "Return the plan only; run nothing")]
    dry_run: bool,
    #[serde(default)]
    #[schemars(description = "Apply safe DSQL rewrites (reported in `rewrites`)")]
    fix: bool,
    #[serde(default)]
    #[schemars(
        description = "Run the plan in a scratch database of the local sandbox first (with dry_run: only there)"
    )]
    rehearse: bool,
    #[serde(default)]
    #[schemars(
        range(max = rehearse::MAX_SAMPLE),
        description = "Rows per table copied into the rehearsal (default 0: schema only)"
    )]
    sample_rows: usize,
}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Apply a schema migration (a SQL file, e.g. from an ORM) the Aurora DSQL way. The file is linted, \
    then split into DSQL-legal steps: each DDL statement in its own transaction, data statements grouped under the \
    3,000-row limit, each simple UPDATE/DELETE as a batched backfill keyed by the primary key. With fix=true, safe \
    rewrites are applied and reported (CREATE INDEX → CREATE INDEX ASYNC, SERIAL → IDENTITY, ADD COLUMN … DEFAULT/NOT \
    NULL → add, set default, backfill, CHECK NOT VALID + async validate). dry_run=true returns the numbered plan and \
    touches nothing. Steps run in order; async jobs are waited for before a later step on the same table; progress \
    notifications are sent when the request has a progressToken. The history table public.mcp_migrations records \
    each migration by name and checksum: re-applying is a no-op, a changed file under an applied name is refused, and \
    after a failure a corrected re-run resumes after the last applied step. rehearse=true first runs the whole plan \
    in a scratch database of the local sandbox on a copy of the touched tables' schema (sample_rows rows each) and \
    stops before the target if a step fails there.",
        "inputSchema": super::input_schema::input_schema::<Args>("apply_migrationArguments"),
        "annotations": {"title": "Apply a migration (plan, rehearse, history)", "readOnlyHint": false,
                        "destructiveHint": true, "idempotentHint": true, "openWorldHint": false}
    })
}

/// The statements of the migration (empty for a dry run, which touches nothing), and what the user must confirm:
/// one line per statement that is not provably harmless (`sql::look`). A migration's steps commit one by one
/// and its DDL cannot be rolled back, so these are not run to be measured: each is shown as written, with why.
/// Arguments that do not parse give nothing (the call explains).
pub fn looks(args: Option<&Map<String, Value>>) -> (Vec<String>, Vec<String>) {
    let Ok(args) = super::parse_args_ref::<Args>(NAME, args, "") else { return (Vec::new(), Vec::new()) };
    if args.dry_run {
        return (Vec::new(), Vec::new());
    }
    let statements = match crate::sql::split_script(&args.sql) {
        Ok(s) => s,
        Err(_) => return (Vec::new(), Vec::new()),
    };
    let lines = statements
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let why = match crate::sql::parse_statement(&s.text) {
                Some(stmt) => crate::sql::look(&stmt)?.why,
                None => "could not be read, so it cannot be shown harmless".into(),
            };
            Some(format!(
                "statement {} (line {}): {why} (not measured: migration steps commit one by one)",
                i + 1,
                s.line
            ))
        })
        .collect();
    (statements.into_iter().map(|s| s.text).collect(), lines)
}

/// Plans the migration file; then, as the arguments ask, returns the plan (`dry_run`), rehearses it in a sandbox
/// (`rehearse`) and applies its steps with history, reporting through `progress`. A refused step runs nothing.
pub async fn call(
    env: &Env,
    args: Option<Map<String, Value>>,
    progress: migrate::Progress<'_>,
) -> Result<Value, ToolError> {
    let args: Args = parse_args(
        NAME,
        args,
        "{\"name\": string, \"sql\": string, \"dry_run\": bool, \"fix\": bool, \"rehearse\": bool, \"sample_rows\": int}",
    )?;
    let name = args.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("apply_migration needs a `name` of 1 to 200 characters, e.g. \"20261128_add_status\"".into());
    }
    check_sql_text(NAME, "sql", &args.sql)?;
    if args.sample_rows > rehearse::MAX_SAMPLE {
        return Err(ToolError::Invalid(format!("sample_rows is at most {}; use fewer rows", rehearse::MAX_SAMPLE)));
    }
    // With --tenant-column the file as written is scoped first; its planned steps are then checked without it
    // (their rewrites of DDL, such as a new column's backfill, touch every tenant as the DDL itself does).
    super::tenant_check_script(env, &args.sql).await?;
    let policy = crate::sql::Policy { tenant_column: None, ..env.settings.policy().clone() };
    let (sql, fix) = (args.sql.clone(), args.fix);
    let policy_for_plan = policy.clone();
    let plan = tokio::task::spawn_blocking(move || plan::plan(&sql, fix, &policy_for_plan))
        .await
        .map_err(|e| format!("planning failed internally: {e}"))??;
    let mut out = json!({"name": name, "plan": plan});
    let refused = plan.refused();
    if args.dry_run && !args.rehearse {
        out["would_apply"] = json!(refused.is_empty());
        if let Ok(db) = env.database().await {
            let ctx = Ctx { db: &db, policy, limits: env.settings.limits, tool: NAME };
            out["history"] = match history::get(&ctx, &name).await {
                Ok(Some(r)) => json!(r),
                Ok(None) => json!(null),
                Err(e) => json!(e.to_string()),
            };
        }
        return Ok(out);
    }
    if !refused.is_empty() {
        let lines: Vec<String> = refused
            .iter()
            .map(|s| format!("step {} (line {}): {}", s.number, s.line, s.refused.as_deref().unwrap_or("")))
            .collect();
        return Err(ToolError::Invalid(format!(
            "migration `{name}` was not applied: DSQL would refuse {} of its {} steps, so nothing was run.\n{}\n\nWHAT TO \
             DO: change those statements{}; see the plan with dry_run=true.",
            refused.len(),
            plan.steps.len(),
            lines.join("\n"),
            if args.fix { "" } else { ", or pass fix=true to apply the safe rewrites" }
        )));
    }
    let db = env.database().await?;
    let ctx = Ctx { db: &db, policy, limits: env.settings.limits, tool: NAME };
    let reporter = Reporter::new(progress);
    if args.rehearse {
        let report = rehearse::rehearse(&ctx, &plan, &env.settings.rehearsal_dir, args.sample_rows, &reporter).await?;
        out["rehearsal"] = report;
        if args.dry_run {
            return Ok(out);
        }
    }
    out["result"] = apply::apply(&ctx, &name, &plan, &reporter).await?;
    Ok(out)
}
