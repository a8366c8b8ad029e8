//! Planning a migration file: lint it (with `fix`, apply dsql-lint's safe rewrites and our ADD COLUMN split),
//! split it into statements, and group them into DSQL-legal steps: each DDL statement alone, consecutive data
//! statements together while DSQL's transaction rules allow, and each simple UPDATE/DELETE as a batched
//! backfill. Every step is checked like a `transact` call, so a plan shows what DSQL would refuse before anything
//! runs. Pure: no database.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlparser::ast::Statement as Ast;

use super::MigrateError;
use super::backfill::BackfillSpec;
use super::rewrite::{self, Piece};
use crate::sql::{self, StatementClass};

/// How a step runs, which decides what it may contain and how its progress is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// One DDL statement in its own transaction.
    Ddl,
    /// Data statements in one transaction.
    Dml,
    /// An UPDATE/DELETE run in batches, each its own transaction.
    Backfill,
}

/// One step of a plan: what runs in one transaction (or, for a backfill, in one series of batches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Position in the plan, from 1; the history's `steps_done` counts these.
    pub number: usize,
    /// How the step runs.
    pub kind: StepKind,
    /// The statements of the step's transaction (a backfill: the statement it batches).
    pub sql: Vec<String>,
    /// One line for the user: the command and its tables, or how the data statements or batches run.
    pub description: String,
    /// Starts an asynchronous job (CREATE INDEX ASYNC, ALTER TABLE ASYNC … VALIDATE CONSTRAINT).
    pub starts_async_job: bool,
    /// Relations the step names (lower-cased).
    pub tables: Vec<String>,
    /// Line in the (fixed) file where the step's first statement starts.
    pub line: usize,
    /// How a [`StepKind::Backfill`] step batches its statement; `None` for the other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillSpec>,
    /// Warnings for the user, such as a backfill that would change finished rows again if re-run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What DSQL's rules say against this step; a plan with a refused step is not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// A planned migration file: its steps in order, with what linting and fixing found and changed.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// sha256 of the file as given.
    pub checksum: String,
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
    /// What `fix` changed: rule, line and detail for every rewrite.
    pub rewrites: Vec<Value>,
    /// dsql-lint's findings on the file as given (summary and one line per diagnostic).
    pub lint: Value,
    /// Statements left out (transaction control: each step gets its own transaction).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl Plan {
    /// The steps DSQL's rules refuse; the plan is applied only when this is empty.
    pub fn refused(&self) -> Vec<&Step> {
        self.steps.iter().filter(|s| s.refused.is_some()).collect()
    }
}

/// sha256 of `sql`, hex.
pub fn checksum(sql: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, sql.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Most statements in one data step: a long run of INSERTs becomes several transactions, each well inside DSQL's
/// five-minute and 10 MiB limits.
const MAX_GROUP: usize = 100;

enum Item {
    Sql { text: String, ast: Option<Box<Ast>> },
    Backfill { spec: BackfillSpec, notes: Vec<String> },
}

/// Plan `sql`. `policy` is the server's (with writes allowed: the plan is for a writing tool).
pub fn plan(sql: &str, fix: bool, policy: &sql::Policy) -> Result<Plan, MigrateError> {
    let lint = sql::lint::run_at(sql, fix, "postgres", policy.dsql_version).map_err(MigrateError::Invalid)?;
    let mut rewrites = Vec::new();
    let mut diagnostics = Vec::new();
    for d in lint["diagnostics"].as_array().into_iter().flatten() {
        let status = d["fix_result"]["status"].as_str().unwrap_or("unfixable");
        if fix && status != "unfixable" {
            rewrites.push(json!({"line": d["line"], "rule": d["rule"],
                "detail": d["fix_result"]["detail"].as_str().or(d["suggestion"].as_str())}));
        }
        diagnostics.push(json!({"line": d["line"], "rule": d["rule"], "message": d["message"], "fix": status}));
    }
    let source = match lint["fixed_sql"].as_str() {
        Some(fixed) if fix => fixed.to_string(),
        _ => sql.to_string(),
    };
    let statements = sql::split_script(&source).map_err(MigrateError::Invalid)?;
    if statements.is_empty() {
        return Err(MigrateError::Invalid("the migration has no SQL statements".into()));
    }
    let mut items: Vec<(Item, usize)> = Vec::new();
    let skipped: Vec<String> = sql::split_script(sql)
        .unwrap_or_default()
        .into_iter()
        .filter(|st| is_transaction_control(sql::parse_statement(&st.text).as_ref()))
        .map(|st| format!("line {}: {} (each step runs in its own transaction)", st.line, st.text))
        .collect();
    for st in statements {
        let ast = sql::parse_statement(&st.text);
        if is_transaction_control(ast.as_ref()) {
            // Reported from the file as given below (dsql-lint's fix adds its own BEGIN/COMMIT pairs).
            continue;
        }
        if let Some(ast) = &ast {
            if fix && let Some((pieces, said)) = rewrite::split_add_column(ast) {
                rewrites.push(json!({"line": st.line, "rule": "add_column_split", "detail": said}));
                for p in pieces {
                    items.push((
                        match p {
                            Piece::Sql(text) => Item::Sql { ast: sql::parse_statement(&text).map(Box::new), text },
                            Piece::Backfill(spec) => Item::Backfill { spec, notes: Vec::new() },
                        },
                        st.line,
                    ));
                }
                continue;
            }
            if let Some(spec) = rewrite::as_backfill(ast) {
                let notes = rerun_notes(ast, &spec);
                items.push((Item::Backfill { spec, notes }, st.line));
                continue;
            }
        }
        items.push((Item::Sql { text: st.text, ast: ast.map(Box::new) }, st.line));
    }
    let mut steps: Vec<Step> = Vec::new();
    // Rows the current data step inserts with VALUES (DSQL counts at most 3,000 per transaction).
    let mut group_rows = 0usize;
    for (item, line) in items {
        match item {
            Item::Backfill { spec, notes } => {
                let text = spec.describe();
                let tables = sql::parse_statement(&text).map(|a| sql::describe(&a).2).unwrap_or_default();
                steps.push(Step {
                    number: 0,
                    kind: StepKind::Backfill,
                    description: format!(
                        "{} in batches of at most {} rows, each its own transaction, keyed by the primary key",
                        if spec.delete { "delete" } else { "update" },
                        spec.batch_size
                    ),
                    sql: vec![text],
                    starts_async_job: false,
                    tables,
                    line,
                    backfill: Some(spec),
                    notes,
                    refused: None,
                });
            }
            Item::Sql { text, ast } => {
                let (class, command, tables) = ast
                    .as_deref()
                    .map_or_else(|| (StatementClass::Other, String::from("statement"), Vec::new()), sql::describe);
                let is_data = matches!(class, StatementClass::Dml | StatementClass::Read);
                let rows = ast.as_deref().map_or(0, sql::insert_rows);
                if is_data
                    && let Some(last) = steps.last_mut().filter(|s| s.kind == StepKind::Dml)
                    && last.sql.len() < MAX_GROUP
                    && group_rows + rows <= crate::migrate::backfill::MAX_BATCH
                {
                    group_rows += rows;
                    last.sql.push(text);
                    for t in tables {
                        if !last.tables.contains(&t) {
                            last.tables.push(t);
                        }
                    }
                    continue;
                }
                group_rows = rows;
                let starts_async_job = crate::sql::async_ddl::starts_async_job(&text);
                let kind = if is_data { StepKind::Dml } else { StepKind::Ddl };
                let on = if tables.is_empty() { String::new() } else { format!(" on {}", tables.join(", ")) };
                let description = if starts_async_job {
                    format!("{command}{on}: starts an async job; a later step on the same table waits for it")
                } else {
                    format!("{command}{on}")
                };
                steps.push(Step {
                    number: 0,
                    kind,
                    sql: vec![text],
                    description,
                    starts_async_job,
                    tables,
                    line,
                    backfill: None,
                    notes: Vec::new(),
                    refused: None,
                });
            }
        }
    }
    for (i, step) in steps.iter_mut().enumerate() {
        step.number = i + 1;
        if step.kind == StepKind::Dml && step.sql.len() > 1 {
            step.description = format!("{} data statements in one transaction", step.sql.len());
        }
        step.refused = check(&step.sql, policy);
    }
    let lint = json!({"summary": lint["summary"], "diagnostics": diagnostics,
                      "transaction_diagnostics_resolved_by_steps": lint["transaction_diagnostics"].as_array().map_or(0, Vec::len)});
    Ok(Plan { checksum: checksum(sql), steps, rewrites, lint, skipped })
}

fn is_transaction_control(ast: Option<&Ast>) -> bool {
    matches!(ast, Some(Ast::StartTransaction { .. } | Ast::Commit { .. } | Ast::Rollback { .. }))
}

/// What DSQL's rules (the `transact` checks) say against running `statements` as one transaction.
fn check(statements: &[String], policy: &sql::Policy) -> Option<String> {
    let inputs: Vec<sql::StatementInput<'_>> =
        statements.iter().map(|s| sql::StatementInput { sql: s, param_count: None }).collect();
    sql::check(sql::Tool::Transact, &inputs, policy, None).err().map(|f| f.to_string())
}

/// A note when re-running an interrupted backfill would change rows twice: its WHERE does not mention a column
/// the SET assigns, so finished rows still match.
fn rerun_notes(ast: &Ast, spec: &BackfillSpec) -> Vec<String> {
    if spec.delete {
        return Vec::new();
    }
    let assigned = rewrite::assigned_columns(ast);
    let filter = spec.filter.as_deref().unwrap_or("").to_lowercase();
    if assigned.iter().any(|c| filter.contains(c.as_str())) {
        return Vec::new();
    }
    vec![format!(
        "its WHERE does not exclude rows already done (it names none of {}): if the step is interrupted, a re-run \
         updates the finished rows again. Add a condition such as `AND {} IS NULL` when that matters",
        assigned.join(", "),
        assigned.first().map_or("col", String::as_str)
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> sql::Policy {
        sql::Policy { allow_writes: true, ..Default::default() }
    }

    const ORM: &str = "BEGIN;\nCREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL);\n\
        CREATE TABLE posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid NOT NULL, title text);\n\
        CREATE INDEX posts_user_idx ON posts (user_id);\n\
        ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';\n\
        INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');\n\
        INSERT INTO users (email) VALUES ('c@example.com');\nCOMMIT;\n";

    #[test]
    fn orm_file_without_fix_shows_what_dsql_refuses() {
        let p = plan(ORM, false, &policy()).unwrap();
        let refused: Vec<usize> = p.refused().iter().map(|s| s.number).collect();
        assert_eq!(refused, [3, 4], "{:#?}", p.steps);
        assert_eq!(p.skipped.len(), 2);
        // The two INSERTs share one transaction.
        assert_eq!(p.steps[4].kind, StepKind::Dml);
        assert_eq!(p.steps[4].sql.len(), 2);
    }

    #[test]
    fn orm_file_with_fix_is_dsql_legal() {
        let p = plan(ORM, true, &policy()).unwrap();
        assert!(p.refused().is_empty(), "{:#?}", p.steps);
        let kinds: Vec<StepKind> = p.steps.iter().map(|s| s.kind).collect();
        use StepKind::*;
        assert_eq!(kinds, [Ddl, Ddl, Ddl, Ddl, Ddl, Backfill, Ddl, Ddl, Dml]);
        assert!(p.steps[2].starts_async_job && p.steps[2].sql[0].contains("ASYNC"));
        assert!(p.steps[7].starts_async_job);
        assert!(p.rewrites.iter().any(|r| r["rule"] == "add_column_split"));
        assert!(p.rewrites.iter().any(|r| r["rule"] == "index_async"), "{:?}", p.rewrites);
        assert_eq!(p.checksum, checksum(ORM));
    }

    #[test]
    fn long_runs_of_inserts_are_grouped_under_the_row_limit() {
        let values = |n: usize| (0..n).map(|i| format!("({i})")).collect::<Vec<_>>().join(", ");
        let file = format!(
            "INSERT INTO t (a) VALUES {};\nINSERT INTO t (a) VALUES {};\nINSERT INTO t (a) VALUES {};\n{}",
            values(2000),
            values(1000),
            values(1),
            "INSERT INTO t (a) VALUES (1);\n".repeat(250)
        );
        let p = plan(&file, false, &policy()).unwrap();
        let sizes: Vec<usize> = p.steps.iter().map(|s| s.sql.len()).collect();
        assert_eq!(sizes, [2, 100, 100, 51], "2,000 + 1,000 rows, then groups of at most 100 statements");
        assert!(p.refused().is_empty());
    }

    #[test]
    fn update_without_a_done_filter_gets_a_note() {
        let p = plan("UPDATE t SET n = n + 1;\nUPDATE t SET v = 1 WHERE v IS NULL;", false, &policy()).unwrap();
        assert_eq!(p.steps.len(), 2);
        assert!(p.steps[0].notes[0].contains("updates the finished rows again"));
        assert!(p.steps[1].notes.is_empty());
    }
}
