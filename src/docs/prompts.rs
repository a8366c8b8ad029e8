//! MCP prompts for the four workflows: onboarding, create a multi-tenant table, safe migration, diagnose a
//! slow query. Each renders a task for the agent that points at the right tools and guides.

use serde_json::{Map, Value};

/// A prompt as listed by `prompts/list`; `arguments` are (name, description, required).
#[derive(Debug, Clone)]
pub struct PromptDef {
    /// The id a client passes to `prompts/get` (`onboarding`, `safe-migration`…).
    pub name: &'static str,
    /// The title a client shows.
    pub title: &'static str,
    /// One sentence on what the prompt does.
    pub description: &'static str,
    /// Each argument's name, description and whether it is required.
    pub arguments: Vec<(&'static str, &'static str, bool)>,
}

/// Every prompt, in `prompts/list` order.
pub fn list() -> Vec<PromptDef> {
    vec![
        PromptDef {
            name: "onboarding",
            title: "Get started with Aurora DSQL",
            description: "Step-by-step start: local mode first (no AWS account), then a real cluster, a first table and a connection from your language.",
            arguments: vec![
                (
                    "language",
                    "Programming language of the application (rust, python, typescript, java, go, dotnet)",
                    false,
                ),
                ("cluster", "Cluster id or endpoint, if you already have a cluster", false),
            ],
        },
        PromptDef {
            name: "create-multi-tenant-table",
            title: "Create a multi-tenant table",
            description: "Design and create a tenant-scoped table with a UUID key and async indexes, then verify it with get_schema.",
            arguments: vec![
                ("table_name", "Name of the table to create", true),
                ("columns", "The business columns you need, in plain words or SQL", false),
                ("tenant_column", "Tenant column name (default tenant_id)", false),
            ],
        },
        PromptDef {
            name: "safe-migration",
            title: "Plan and run a safe schema migration",
            description: "Turn a schema change into DSQL-safe steps with apply_migration (dry run, rehearsal, history) and backfill: one DDL per transaction, batched backfills under 3,000 rows, verification.",
            arguments: vec![
                ("table_name", "Table to change", true),
                ("change", "The change in plain words, e.g. 'add a status column defaulting to active'", true),
            ],
        },
        PromptDef {
            name: "diagnose-slow-query",
            title: "Diagnose a slow query",
            description: "Read the plan of a slow query with explain_query, find the cause and propose an index or rewrite.",
            arguments: vec![("sql", "The slow SQL statement", true)],
        },
    ]
}

/// Renders prompt `name` with `args` (string values; numbers and booleans are accepted as text).
pub fn get(name: &str, args: &Map<String, Value>) -> Result<String, String> {
    let Some(def) = list().into_iter().find(|p| p.name == name) else {
        let names: Vec<&str> = list().iter().map(|p| p.name).collect();
        return Err(format!("unknown prompt `{name}`; available prompts: {}", names.join(", ")));
    };
    for key in args.keys() {
        if !def.arguments.iter().any(|(n, _, _)| n == key) {
            let known: Vec<&str> = def.arguments.iter().map(|(n, _, _)| *n).collect();
            return Err(format!("prompt `{name}` has no argument `{key}`; its arguments are: {}", known.join(", ")));
        }
    }
    let arg = |key: &str| -> Result<Option<String>, String> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(format!("argument `{key}` of prompt `{name}` must be a string")),
        }
    };
    let required = |key: &str| -> Result<String, String> {
        arg(key)?.ok_or_else(|| format!("prompt `{name}` needs the argument `{key}`"))
    };
    Ok(match name {
        "onboarding" => onboarding(arg("language")?, arg("cluster")?),
        "create-multi-tenant-table" => multi_tenant(
            &required("table_name")?,
            arg("columns")?,
            arg("tenant_column")?.unwrap_or_else(|| "tenant_id".into()),
        ),
        "safe-migration" => safe_migration(&required("table_name")?, &required("change")?),
        _ => diagnose(&required("sql")?),
    })
}

fn onboarding(language: Option<String>, cluster: Option<String>) -> String {
    let start = match &cluster {
        Some(c) => format!(
            "The user already has a cluster (`{c}`). Check that the server was started with it (`--cluster-endpoint` or the `CLUSTER` \
             environment variable, plus `--region`); if not, show the matching client configuration from dsql://steering/mcp-setup."
        ),
        None => "Start in local mode: the server started with `aurora-dsql-mcp-rs --local` runs a private PostgreSQL that answers \
                 like DSQL, so no AWS account is needed. Then explain how to create a real cluster when the user is ready."
            .to_string(),
    };
    let lang = language.map_or_else(
        || "Ask which language the application uses, then follow that part of dsql://steering/language.".to_string(),
        |l| format!("The application is written in {l}: follow that part of dsql://steering/language for the driver, token and pool settings."),
    );
    format!(
        "Help me get started with Amazon Aurora DSQL, one step at a time, confirming each step before the next.\n\n\
         1. Read dsql://steering/onboarding with dsql_read_documentation and follow it.\n\
         2. {start}\n\
         3. Run `SELECT version()` with readonly_query to prove the connection works.\n\
         4. Create a first table the DSQL way (UUID primary key from gen_random_uuid(), one DDL per transact call), add an index with \
         CREATE INDEX ASYNC, and check the result with get_schema.\n\
         5. Insert and read back a few rows with parameterized SQL.\n\
         6. {lang}\n\
         7. Summarise the DSQL rules that will matter next (dsql://steering/development-guide): one DDL per transaction, no DDL and DML \
         together, at most 3,000 changed rows per transaction, retry SQLSTATE 40001.\n\
         Write operations need the server to run with --allow-writes (or --local); if a write is refused, say so and show the setting."
    )
}

fn multi_tenant(table: &str, columns: Option<String>, tenant: String) -> String {
    let columns = columns.map_or_else(
        || "Ask me which business columns the table needs before writing DDL.".to_string(),
        |c| format!("Business columns wanted: {c}."),
    );
    format!(
        "Create the multi-tenant table `{table}` in Aurora DSQL.\n\n\
         Read dsql://steering/multi-tenant first. {columns}\n\n\
         Steps:\n\
         1. Draft the DDL: `id uuid PRIMARY KEY DEFAULT gen_random_uuid()`, `{tenant} uuid NOT NULL` (or text), storage types only \
         (no arrays, no SERIAL; jsonb is fine), explicit numeric(p,s).\n\
         2. Check it with dsql_lint, fix what it reports.\n\
         3. Run CREATE TABLE alone in one transact call.\n\
         4. In separate transact calls, create the tenant-leading indexes with CREATE INDEX ASYNC, e.g. \
         `CREATE INDEX ASYNC {table}_{tenant}_idx ON {table} ({tenant}, ...)`; keep each returned job_id.\n\
         5. Wait for each job (`CALL sys.wait_for_job('<job_id>')`, or poll `SELECT status FROM sys.jobs WHERE job_id = '<job_id>'`).\n\
         6. Verify with get_schema(\"{table}\") that the columns, key and indexes are as designed, and show me the result.\n\
         Every query against this table must filter on `{tenant}` with a bound parameter."
    )
}

fn safe_migration(table: &str, change: &str) -> String {
    format!(
        "Plan and run this schema change safely on Aurora DSQL: {change} (table `{table}`).\n\n\
         Read dsql://steering/migrations first, then:\n\
         1. Inspect the table with get_schema(\"{table}\") and count its rows with readonly_query.\n\
         2. Write the change as a migration file (SQL statements separated by semicolons). DSQL's rules: one DDL statement per \
         transaction; never DDL and DML together; ADD COLUMN without DEFAULT/NOT NULL/constraints, then backfill, then \
         ALTER COLUMN ... SET DEFAULT; indexes with CREATE INDEX ASYNC; constraints as NOT VALID + ALTER TABLE ASYNC ... VALIDATE \
         CONSTRAINT; a type change or a new primary key needs the table-recreation (verify-and-swap) pattern.\n\
         3. Call apply_migration with a descriptive name, the file as sql and dry_run=true (add fix=true to apply the safe \
         rewrites). Show me the numbered plan, the rewrites and any refused step before running anything.\n\
         4. On a cluster, rehearse first: apply_migration with rehearse=true and dry_run=true (sample_rows=100 when a step depends \
         on the data, such as a unique index). Report what failed there; nothing reaches the cluster.\n\
         5. After I agree, call apply_migration without dry_run. It runs each step in its own transaction, waits for async jobs \
         and records the history; if a step fails, fix that step and call it again with the same name: it resumes there.\n\
         6. Backfill existing rows with the backfill tool (table, set, where selecting only rows still to do, batch_size 1000); \
         it batches under the 3,000-row limit and retries conflicts.\n\
         7. Verify: no rows left to backfill, row counts unchanged, get_schema shows the new shape, list_migrations shows the \
         migration as applied.\n\
         These tools need the server to run with --allow-writes. Without it, check the file with dsql_lint and run the steps \
         one transact call each."
    )
}

fn diagnose(sql: &str) -> String {
    format!(
        "This query is slow on Aurora DSQL. Find out why and propose a fix.\n\n```sql\n{sql}\n```\n\n\
         Read dsql://steering/query-plans first, then:\n\
         1. Call explain_query with the query in `sql` (bound values in `params`, not literals pasted from user input); add \
         `analyze: true` for actual rows, times and, on DSQL, the DPU estimate (reads only: for an UPDATE or DELETE it suggests \
         the SELECT that reads the same rows).\n\
         2. Read its findings (full scans of large tables, filters not pushed down and why, row-estimate errors, nested loops \
         scanning per row, sorts for ORDER BY … LIMIT, reads far larger than the result); each names its plan node and a fix.\n\
         3. Check the tables with get_schema and list existing indexes from pg_indexes; check statistics freshness (`ANALYZE <table>` \
         if estimates are far off).\n\
         4. Propose a fix: an index created with CREATE INDEX ASYNC (leading with the equality columns, tenant column first in \
         multi-tenant tables, INCLUDE for covering), a rewrite, or a LIMIT with keyset pagination.\n\
         5. In local or --database-url mode, pass the proposed index in explain_query's `try_indexes` to compare the plans \
         before and after without keeping it.\n\
         6. Report: the cause, the evidence from the plan, the fix, and how to verify it (plan before and after)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn required_and_unknown_arguments_are_reported() {
        let err = get("safe-migration", &map(json!({"table_name": "orders"}))).unwrap_err();
        assert!(err.contains("`change`"), "{err}");
        let err = get("safe-migration", &map(json!({"table_name": "o", "change": "x", "bogus": 1}))).unwrap_err();
        assert!(err.contains("`bogus`"), "{err}");
        let err = get("nope", &Map::new()).unwrap_err();
        assert!(err.contains("onboarding"), "{err}");
        let err = get("diagnose-slow-query", &map(json!({"sql": ["x"]}))).unwrap_err();
        assert!(err.contains("must be a string"), "{err}");
    }

    #[test]
    fn prompts_render_arguments() {
        let p = get("create-multi-tenant-table", &map(json!({"table_name": "invoices", "tenant_column": "org_id"})))
            .unwrap();
        assert!(p.contains("invoices_org_id_idx") && p.contains("get_schema(\"invoices\")"));
        assert!(get("onboarding", &Map::new()).unwrap().contains("--local"));
        assert!(get("diagnose-slow-query", &map(json!({"sql": "SELECT 1"}))).unwrap().contains("SELECT 1"));
        assert_eq!(list().len(), 4);
        let m = get("safe-migration", &map(json!({"table_name": "orders", "change": "add status"}))).unwrap();
        assert!(m.contains("apply_migration") && m.contains("dry_run=true") && m.contains("backfill"), "{m}");
    }
}
