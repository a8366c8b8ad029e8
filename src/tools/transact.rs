//! `transact(sql_list, params_list?)`: several statements in ONE transaction, BEGIN … COMMIT, all checked before any
//! is sent; any error rolls everything back. Without --allow-writes it is a READ ONLY transaction (consistent
//! multi-statement reads) that ends with ROLLBACK.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, Settings, check_sql_text, parse_args_ref, rows_output_schema, rows_result};
use crate::exec::{self, ErrorContext, Statement, TxMode};
use crate::sql;

/// The MCP tool name clients call.
pub const NAME: &str = "transact";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(description = "List of one or more SQL statements to execute in a transaction, one statement per item")]
    sql_list: Vec<String>,
    #[serde(default)]
    #[schemars(
        schema_with = "super::input_schema::params_list_schema",
        description = "Optional list of parameter lists, one per SQL statement (same length as sql_list); null for a \
statement without parameters. Example: sql_list=[\"INSERT INTO t (id, name) VALUES ($1, $2)\"], \
params_list=[[\"uuid-1\", \"Widget\"]]"
    )]
    params_list: Option<Vec<Option<Vec<Value>>>>,
    // The Kiro power's spelling: a flat list for a one-statement `sql_list`. Not advertised.
    #[serde(default)]
    #[schemars(skip)]
    parameters: Option<Vec<Value>>,
}

/// The `tools/list` entry; its description states the mode (read-only or read-write) the server runs in.
pub fn definition(settings: &Settings) -> Value {
    let mode = if settings.allow_writes {
        "This server is in READ-WRITE mode: DML (INSERT, UPDATE, DELETE) and DDL are allowed, subject to DSQL's rules, \
which are checked before anything is sent: at most one DDL statement per transaction, no DDL mixed with DML, \
CREATE INDEX must be ASYNC (it returns a job_id; wait with CALL sys.wait_for_job('<job_id>')), at most 3,000 \
modified rows per transaction (batch larger changes)."
    } else {
        "This server is in READ-ONLY mode: statements run in a READ ONLY transaction that is rolled back; use it for \
consistent multi-statement reads (all statements see the same snapshot). Writes are refused; the server must be \
restarted with --allow-writes to change data."
    };
    json!({
        "name": NAME,
        "description": format!("Execute SQL statements in ONE transaction against the configured Aurora DSQL cluster \
    (or the local DSQL-like sandbox). BEGIN and COMMIT are added for you: do not include BEGIN/COMMIT/ROLLBACK/SAVEPOINT. \
    Any error rolls the whole transaction back; nothing is ever partially committed.\n\n{mode}\n\nReturns the LAST \
    statement's rows (`result`, `columns`, `row_count`, `truncated`) and, per statement, its command tag and \
    affected-row count (`statements`). Bind values per statement with `params_list` ($1… or %s placeholders).\n\n\
    Examples: transact([\"SELECT count(*) FROM orders\", \"SELECT sum(total) FROM orders\"]); with writes: \
    transact([\"CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text)\"]) then, in a separate \
    call, transact([\"INSERT INTO users (name) VALUES ($1)\"], [[\"Alice\"]])."),
        "inputSchema": super::input_schema::input_schema::<Args>("transactArguments"),
        "outputSchema": rows_output_schema("transactOutput", true),
        "annotations": {
            "title": if settings.allow_writes { "SQL transaction (writes allowed)" } else { "SQL transaction (read-only)" },
            "readOnlyHint": !settings.allow_writes,
            "destructiveHint": settings.allow_writes,
            "idempotentHint": !settings.allow_writes,
            "openWorldHint": false
        }
    })
}

/// A checked call, connected and ready to run: what `prepare` decided, before anything is sent.
pub struct Prepared {
    db: std::sync::Arc<crate::pool::Database>,
    statements: Vec<Statement>,
    warnings: Vec<String>,
    /// The statements as given, for the confirmation question.
    pub sql_list: Vec<String>,
    /// Why each statement that is not provably harmless needs a look (`--confirm-destructive`), by position.
    pub looks: Vec<(usize, sql::Look)>,
}

impl Prepared {
    /// The database the call will run on (connected).
    pub fn database(&self) -> &crate::pool::Database {
        &self.db
    }

    /// The same database, shared (confirmation keeps it for the question's round trips).
    pub fn database_arc(&self) -> std::sync::Arc<crate::pool::Database> {
        self.db.clone()
    }
}

/// Checks every statement (arguments, placeholders, the guards and DSQL's rules) and connects; nothing is sent.
pub async fn prepare(env: &Env, args: Option<&Map<String, Value>>) -> Result<Prepared, ToolError> {
    let args: Args = parse_args_ref(
        NAME,
        args,
        "{\"sql_list\": [string, ...], \"params_list\": [[values] or null, ...] (optional)}",
    )?;
    if args.sql_list.is_empty() {
        return Err(ToolError::Invalid("transact needs at least one statement in `sql_list`, but it is empty".into()));
    }
    for (i, s) in args.sql_list.iter().enumerate() {
        check_sql_text(NAME, &format!("sql_list[{i}]"), s)?;
    }
    let params_list = match (args.params_list, args.parameters) {
        (None, Some(flat)) if args.sql_list.len() == 1 => Some(vec![Some(flat)]),
        (None, Some(_)) => {
            return Err(ToolError::Invalid(format!(
                "`parameters` binds the single statement of a one-statement sql_list, but sql_list has {} \
                 statements: pass params_list instead, one list per statement (null for a statement without \
                 parameters)",
                args.sql_list.len()
            )));
        }
        (Some(_), Some(_)) => {
            return Err(ToolError::Invalid(
                "give either params_list (one list per statement) or parameters (for a one-statement sql_list), \
                 not both"
                    .into(),
            ));
        }
        (list, None) => list,
    };
    let params_list = match params_list {
        None => vec![None; args.sql_list.len()],
        Some(list) if list.len() == args.sql_list.len() => list,
        Some(list) => {
            return Err(ToolError::Invalid(format!(
                "params_list length ({}) must equal sql_list length ({}): give one entry per statement, null for a \
                 statement without parameters",
                list.len(),
                args.sql_list.len()
            )));
        }
    };
    let inputs: Vec<sql::StatementInput<'_>> = args
        .sql_list
        .iter()
        .zip(&params_list)
        .map(|(s, p)| sql::StatementInput { sql: s, param_count: p.as_ref().map(Vec::len) })
        .collect();
    let (db, checked) = super::check_then_connect(env, sql::Tool::Transact, &inputs).await?;
    let warnings: Vec<String> = checked.warnings.iter().map(ToString::to_string).collect();
    let looks = checked.statements.iter().enumerate().filter_map(|(i, p)| p.look.clone().map(|l| (i, l))).collect();
    let statements: Vec<Statement> = checked
        .statements
        .into_iter()
        .zip(params_list)
        .map(|(p, params)| Statement {
            text: p.text,
            command: p.command,
            params: params.unwrap_or_default(),
            quota: p.quota,
        })
        .collect();
    Ok(Prepared { db, statements, warnings, sql_list: args.sql_list, looks })
}

/// Runs a prepared call in one transaction.
pub async fn execute(
    env: &Env,
    prepared: Prepared,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Value, ToolError> {
    let Prepared { db, statements, warnings, .. } = prepared;
    let mode = if env.settings.allow_writes { TxMode::ReadWrite } else { TxMode::ReadOnly };
    let ctx = ErrorContext { says_rolled_back: env.settings.allow_writes, ..ErrorContext::default() };
    let outcome =
        exec::run(&db, &statements, mode, env.settings.limits, &ctx, progress).await.map_err(ToolError::Exec)?;
    types_changed(&db, &statements);
    Ok(rows_result(outcome, warnings, true))
}

/// Runs a prepared call that needs a look up to just before COMMIT, reads what it did (`probe`), and commits only
/// when `gate` lets it.
pub async fn execute_looked(
    env: &Env,
    prepared: &Prepared,
    probe: &crate::server::effects::Probe,
    gate: &crate::server::confirm::Gate,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<crate::server::confirm::Ran, ToolError> {
    use crate::server::confirm::Ran;
    let seen = std::sync::Mutex::new(None);
    let judge = |rows: &[Vec<Map<String, Value>>], reports: &[exec::StatementReport]| {
        let effects = probe.measure(rows, reports);
        let commit = gate.lets(&effects);
        *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(effects);
        commit
    };
    let look = exec::Look { before: probe.before(), after: probe.after(), judge: &judge };
    let ctx = ErrorContext { says_rolled_back: true, ..ErrorContext::default() };
    let outcome = exec::run_looked(&prepared.db, &prepared.statements, &look, env.settings.limits, &ctx, progress)
        .await
        .map_err(ToolError::Exec)?;
    let effects = seen.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
    if outcome.held {
        return Ok(Ran::Held(effects));
    }
    types_changed(&prepared.db, &prepared.statements);
    Ok(Ran::Done(rows_result(outcome, prepared.warnings.clone(), true), effects))
}

fn types_changed(db: &crate::pool::Database, statements: &[Statement]) {
    let changes_types = ["CREATE TYPE", "ALTER TYPE", "CREATE EXTENSION", "ALTER EXTENSION"];
    if statements.iter().any(|s| changes_types.iter().any(|c| s.command.starts_with(c))) {
        db.types_changed();
    }
}
