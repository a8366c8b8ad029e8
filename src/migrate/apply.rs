//! Running a plan: the history decides where to start (nothing for an applied migration, the step after the
//! last applied one for a partial run, a refusal for a changed file under an applied name), then each step runs
//! as its own transaction (retried on conflicts), async jobs are waited for before a later step on the same
//! table, and progress goes out between steps. On failure: stop, record the partial state, and say which steps
//! stay applied and how to go on.

use std::time::Instant;

use serde_json::{Value, json};

use super::backfill;
use super::history::{self, APPLIED};
use super::jobs;
use super::plan::{Plan, Step, StepKind};
use super::{Ctx, Reporter};
use crate::exec::{ExecError, Statement};
use crate::sql;
use crate::sqlstate;

/// SQLSTATEs that say "this object is already there": on the first step of a resumed run, the step was applied
/// but not recorded (the run stopped in between), and counts as applied.
const ALREADY_THERE: &[&str] =
    &[sqlstate::DUPLICATE_TABLE, sqlstate::DUPLICATE_COLUMN, sqlstate::DUPLICATE_OBJECT, sqlstate::DUPLICATE_SCHEMA];

/// A failed step: its SQLSTATE (when the database gave one) and the full explanation.
pub struct StepError {
    pub sqlstate: Option<String>,
    pub text: String,
}

impl From<String> for StepError {
    fn from(text: String) -> Self {
        StepError { sqlstate: None, text }
    }
}

impl From<ExecError> for StepError {
    fn from(e: ExecError) -> Self {
        StepError { sqlstate: e.sqlstate().map(str::to_string), text: e.to_string() }
    }
}

/// Apply `plan` as migration `name`.
pub async fn apply(ctx: &Ctx<'_>, name: &str, plan: &Plan, reporter: &Reporter<'_>) -> Result<Value, String> {
    let started = Instant::now();
    history::ensure(ctx).await?;
    let prior = history::get(ctx, name).await?;
    let total = plan.steps.len();
    let resume_at = match &prior {
        None => 0,
        Some(r) if r.status == APPLIED && r.checksum == plan.checksum => {
            return Ok(json!({
                "status": "already_applied",
                "name": name,
                "checksum": r.checksum,
                "applied_at": r.applied_at,
                "steps_total": r.steps_total,
                "message": format!("migration `{name}` was already applied at {} with the same checksum; nothing was run",
                                   r.applied_at.as_deref().unwrap_or("?")),
            }));
        }
        Some(r) if r.status == APPLIED => {
            return Err(format!(
                "migration `{name}` was already applied (at {}) from a different file: recorded checksum {}, this file's \
                 checksum {}. Applied migrations are not changed in place. Put the new changes in a migration with a \
                 new name (e.g. `{name}_2`), or restore the original file to see it as applied.",
                r.applied_at.as_deref().unwrap_or("?"),
                r.checksum,
                plan.checksum
            ));
        }
        Some(r) => {
            let done = r.steps_done as usize;
            if r.checksum != plan.checksum {
                same_applied_steps(name, r, plan, done)?;
            }
            done.min(total)
        }
    };
    let steps_json = serde_json::to_value(&plan.steps).unwrap_or(Value::Null);
    history::start(ctx, name, &plan.checksum, &steps_json, resume_at).await?;
    if resume_at > 0 {
        reporter
            .note(format!("migration {name}: steps 1–{resume_at} already applied; resuming at step {}", resume_at + 1));
    }
    let mut results = Vec::new();
    let mut pending: Vec<(String, usize, Vec<String>)> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate().skip(resume_at) {
        if let Err(e) = wait_for_jobs(ctx, &mut pending, Some(&step.tables), reporter).await {
            return Err(stop(ctx, name, plan, e.0 - 1, &e.1, &results).await);
        }
        let t0 = Instant::now();
        let outcome = match run_step(ctx, Some(name), step, total, reporter).await {
            Ok(v) => v,
            Err(e) if i == resume_at && resume_at > 0 && step.kind == StepKind::Ddl && is_already_there(&e) => {
                let note = format!(
                    "this step's object already exists ({}): the step was applied before the last run stopped, and \
                     is counted as applied",
                    e.text.lines().next().unwrap_or("")
                );
                history::record_step(ctx, name, step.number, 0).await?;
                json!({"status": "already_there", "note": note})
            }
            Err(e) => return Err(stop(ctx, name, plan, i, &e.text, &results).await),
        };
        let ms = t0.elapsed().as_millis() as u64;
        if step.kind != StepKind::Dml && outcome["status"] != "already_there" {
            history::record_step(ctx, name, step.number, ms).await?;
        }
        if let Some(job) = outcome["job_id"].as_str() {
            pending.push((job.to_string(), step.number, step.tables.clone()));
        }
        let mut r = json!({"number": step.number, "kind": step.kind, "description": step.description, "ms": ms});
        if let (Value::Object(r), Value::Object(o)) = (&mut r, outcome) {
            r.extend(o);
        }
        results.push(r);
        reporter.note(format!("migration {name}: step {} of {total} done ({})", step.number, step.description));
    }
    if let Err(e) = wait_for_jobs(ctx, &mut pending, None, reporter).await {
        return Err(stop(ctx, name, plan, e.0 - 1, &e.1, &results).await);
    }
    history::finish(ctx, name, None, total).await?;
    Ok(json!({
        "status": "applied",
        "name": name,
        "checksum": plan.checksum,
        "steps_total": total,
        "resumed_from_step": (resume_at > 0).then_some(resume_at + 1),
        "steps": results,
        "duration_ms": started.elapsed().as_millis() as u64,
    }))
}

fn is_already_there(e: &StepError) -> bool {
    e.sqlstate.as_deref().is_some_and(|s| ALREADY_THERE.contains(&s))
}

/// A corrected file may resume a partial run only if the steps already applied are the same.
fn same_applied_steps(name: &str, r: &history::Record, plan: &Plan, done: usize) -> Result<(), String> {
    let recorded: Vec<Step> = serde_json::from_value(r.steps.clone()).unwrap_or_default();
    for n in 0..done {
        let before = recorded.get(n).map(|s| &s.sql);
        let now = plan.steps.get(n).map(|s| &s.sql);
        if before != now {
            return Err(format!(
                "migration `{name}` stopped after {done} applied steps (checksum {}); this file (checksum {}) changes \
                 step {} which is already applied:\n  applied: {}\n  now:     {}\nDSQL keeps applied steps, so they \
                 must stay as they were. Restore steps 1–{done} and change only later ones, or use a new migration \
                 name for the new changes.",
                r.checksum,
                plan.checksum,
                n + 1,
                before.map_or("(none)".into(), |s| s.join("; ")),
                now.map_or("(none)".into(), |s| s.join("; "))
            ));
        }
    }
    Ok(())
}

/// Wait for the pending jobs on `tables` (all of them with `None`). Error: (step number, text).
async fn wait_for_jobs(
    ctx: &Ctx<'_>,
    pending: &mut Vec<(String, usize, Vec<String>)>,
    tables: Option<&[String]>,
    reporter: &Reporter<'_>,
) -> Result<(), (usize, String)> {
    let bare = |t: &str| t.rsplit('.').next().unwrap_or(t).trim_matches('"').to_lowercase();
    let mut keep = Vec::new();
    for (job, number, job_tables) in pending.drain(..) {
        let due = tables.is_none_or(|ts| ts.iter().any(|t| job_tables.iter().any(|j| bare(j) == bare(t))));
        if !due {
            keep.push((job, number, job_tables));
            continue;
        }
        let look = |status: &str| reporter.note(format!("step {number}: job {job} is {status}"));
        jobs::wait(ctx, &job, &look).await.map_err(|e| {
            (
                number,
                format!(
                    "{e}\nThe step's statement ran, but its job did not complete: the object it builds is not \
                     usable (an index stays invalid). Drop it (DROP INDEX …) or fix the data, then run the migration \
                     again: it resumes at this step."
                ),
            )
        })?;
    }
    *pending = keep;
    Ok(())
}

/// Record the partial state and explain the stop at step index `at` (0-based).
async fn stop(ctx: &Ctx<'_>, name: &str, plan: &Plan, at: usize, error: &str, results: &[Value]) -> String {
    let total = plan.steps.len();
    let step = &plan.steps[at];
    let recorded = history::finish(ctx, name, Some(error), at).await.err();
    let applied = if at == 0 {
        "none".to_string()
    } else {
        plan.steps[..at].iter().map(|s| format!("{}. {}", s.number, s.description)).collect::<Vec<_>>().join("; ")
    };
    let this_run = results.len();
    let not_run = if at + 1 < total { format!("steps {}–{total}", at + 2) } else { "none".into() };
    let mut text = format!(
        "migration `{name}` stopped at step {} of {total} ({}; line {} of the file):\n{error}\n\n\
         Applied and kept (DSQL DDL is not transactional across steps): {applied}{}.\nNot run: {not_run}.\n\
         WHAT TO DO: fix step {} in the file and call apply_migration again with the same name. The history \
         records {at} step(s) as applied, so the run resumes at step {}; steps 1–{at} must stay unchanged.",
        step.number,
        step.description,
        step.line,
        if this_run > 0 { format!(" ({this_run} of them in this run)") } else { String::new() },
        step.number,
        step.number,
    );
    if let Some(e) = recorded {
        text.push_str(&format!("\nWARNING: {e}"));
    }
    text
}

/// Run one step. `history`: the migration name, whose progress a data step records in its own transaction.
pub async fn run_step(
    ctx: &Ctx<'_>,
    history_name: Option<&str>,
    step: &Step,
    total: usize,
    reporter: &Reporter<'_>,
) -> Result<Value, StepError> {
    match step.kind {
        StepKind::Ddl | StepKind::Dml => {
            let mut statements = checked(ctx, &step.sql)?;
            if step.kind == StepKind::Dml
                && let Some(name) = history_name
            {
                statements.push(history::step_done(name, step.number, 0));
            }
            let (outcome, attempts) = ctx.write(&statements).await?;
            let mut v = json!({"status": "applied", "attempts": attempts});
            if step.starts_async_job
                && let Some(job) = jobs::job_id(&outcome.rows)
            {
                v["job_id"] = json!(job);
            }
            if step.kind == StepKind::Dml {
                let rows: u64 = outcome.statements.iter().take(step.sql.len()).filter_map(|s| s.rows_affected).sum();
                v["rows"] = json!(rows);
            }
            Ok(v)
        }
        StepKind::Backfill => {
            let spec = step.backfill.as_ref().ok_or_else(|| "backfill step without its spec".to_string())?;
            let prepared = match spec.prepare(ctx, None).await {
                Ok(p) => p,
                Err(e) if e.contains("has no primary key") => {
                    // Cannot walk it: one transaction, which DSQL refuses beyond 3,000 rows.
                    let statements = checked(ctx, &step.sql)?;
                    let (outcome, attempts) = ctx.write(&statements).await?;
                    let rows: u64 = outcome.statements.iter().filter_map(|s| s.rows_affected).sum();
                    return Ok(json!({"status": "applied", "attempts": attempts, "rows": rows,
                        "note": format!("{e}; ran as one transaction instead")}));
                }
                Err(e) => return Err(e.into()),
            };
            let number = step.number;
            let on_batch = |rows: u64, batches: u64| {
                reporter.note(format!("step {number} of {total}: {rows} rows in {batches} batches so far"))
            };
            let report = backfill::run(ctx, &prepared, &on_batch).await?;
            Ok(json!({"status": "applied", "rows": report.rows, "batches": report.batches,
                      "retries": report.retries, "key": report.key}))
        }
    }
}

/// The step's statements after the `transact` checks (the plan checked them too; this also yields the quota
/// checks the local sandbox applies).
fn checked(ctx: &Ctx<'_>, sql_list: &[String]) -> Result<Vec<Statement>, StepError> {
    let inputs: Vec<sql::StatementInput<'_>> =
        sql_list.iter().map(|s| sql::StatementInput { sql: s, param_count: None }).collect();
    let c = sql::check(sql::Tool::Transact, &inputs, &ctx.policy, None).map_err(|f| f.to_string())?;
    Ok(c.statements
        .into_iter()
        .map(|p| Statement { text: p.text, command: p.command, params: Vec::new(), quota: p.quota })
        .collect())
}
