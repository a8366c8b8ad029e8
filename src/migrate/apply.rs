//! Running a plan: the history decides where to start (nothing for an applied migration, the step after the
//! last applied one for a partial run, a refusal for a changed file under an applied name), then each step runs
//! as its own transaction (retried on conflicts), async jobs are waited for before a later step on the same
//! table, and progress goes out between steps. On failure: stop, record the partial state, and say which steps
//! stay applied and how to go on.

use std::time::Instant;

use serde_json::{Value, json};

use super::backfill;
use super::error::ChangedStep;
use super::history::{self, APPLIED};
use super::jobs;
use super::plan::{Plan, Step, StepKind};
use super::{Ctx, MigrateError, Reporter};
use crate::exec::{ExecError, Statement};
use crate::sql;
use crate::sqlstate;

/// SQLSTATEs that say "this object is already there": on the first step of a resumed run, the step was applied
/// but not recorded (the run stopped in between), and counts as applied.
const ALREADY_THERE: &[&str] =
    &[sqlstate::DUPLICATE_TABLE, sqlstate::DUPLICATE_COLUMN, sqlstate::DUPLICATE_OBJECT, sqlstate::DUPLICATE_SCHEMA];

/// A failed step: its SQLSTATE (when the database gave one) and the full explanation.
pub struct StepError {
    /// The database's SQLSTATE, if it gave one (decides whether a resumed step counts as already applied).
    pub sqlstate: Option<String>,
    /// The whole explanation for the agent.
    pub text: String,
}

impl From<String> for StepError {
    fn from(text: String) -> Self {
        StepError { sqlstate: None, text }
    }
}

impl From<MigrateError> for StepError {
    fn from(e: MigrateError) -> Self {
        StepError { sqlstate: None, text: e.to_string() }
    }
}

impl From<ExecError> for StepError {
    fn from(e: ExecError) -> Self {
        StepError { sqlstate: e.sqlstate().map(str::to_string), text: e.to_string() }
    }
}

/// Apply `plan` as migration `name`.
pub async fn apply(ctx: &Ctx<'_>, name: &str, plan: &Plan, reporter: &Reporter<'_>) -> Result<Value, MigrateError> {
    let started = Instant::now();
    history::ensure(ctx).await?;
    let prior = history::get(ctx, name).await?;
    let total = plan.steps.len();
    let resume_at = match start(name, prior.as_ref(), plan)? {
        Start::At(step) => step,
        Start::AlreadyApplied(r) => {
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
            return Err(MigrateError::Stopped(stop(ctx, name, plan, e.0 - 1, &e.1, &results).await));
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
            Err(e) => return Err(MigrateError::Stopped(stop(ctx, name, plan, i, &e.text, &results).await)),
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
        return Err(MigrateError::Stopped(stop(ctx, name, plan, e.0 - 1, &e.1, &results).await));
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

/// Where a run of `plan` starts, from the history of `name`.
enum Start<'a> {
    /// The same file was applied: nothing to run.
    AlreadyApplied(&'a history::Record),
    /// Run from this step index (0-based): 0 for a new migration, the first step not applied after a partial run.
    At(usize),
}

/// Decides where a run starts: a changed file under an applied name is refused ([`MigrateError::ChangedFile`]),
/// and a partial run resumes only if the file keeps its applied steps ([`MigrateError::ChangedAppliedStep`]).
fn start<'a>(name: &str, prior: Option<&'a history::Record>, plan: &Plan) -> Result<Start<'a>, MigrateError> {
    match prior {
        None => Ok(Start::At(0)),
        Some(r) if r.status == APPLIED && r.checksum == plan.checksum => Ok(Start::AlreadyApplied(r)),
        Some(r) if r.status == APPLIED => Err(MigrateError::ChangedFile {
            name: name.to_string(),
            applied_at: r.applied_at.as_deref().unwrap_or("?").to_string(),
            recorded: r.checksum.clone(),
            checksum: plan.checksum.clone(),
        }),
        Some(r) => {
            let done = r.steps_done as usize;
            if r.checksum != plan.checksum {
                same_applied_steps(name, r, plan, done)?;
            }
            Ok(Start::At(done.min(plan.steps.len())))
        }
    }
}

fn is_already_there(e: &StepError) -> bool {
    e.sqlstate.as_deref().is_some_and(|s| ALREADY_THERE.contains(&s))
}

/// A corrected file may resume a partial run only if the steps already applied are the same.
fn same_applied_steps(name: &str, r: &history::Record, plan: &Plan, done: usize) -> Result<(), MigrateError> {
    let recorded: Vec<Step> = serde_json::from_value(r.steps.clone()).unwrap_or_default();
    for n in 0..done {
        let before = recorded.get(n).map(|s| &s.sql);
        let now = plan.steps.get(n).map(|s| &s.sql);
        if before != now {
            return Err(MigrateError::ChangedAppliedStep(Box::new(ChangedStep {
                name: name.to_string(),
                done,
                recorded: r.checksum.clone(),
                checksum: plan.checksum.clone(),
                step: n + 1,
                applied: before.map_or("(none)".into(), |s| s.join("; ")),
                now: now.map_or("(none)".into(), |s| s.join("; ")),
            })));
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
                Err(e @ MigrateError::NoPrimaryKey { .. }) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::history::PARTIAL;
    use crate::migrate::plan::plan;

    fn migration(sql: &str) -> Plan {
        plan(sql, false, &sql::Policy { allow_writes: true, ..Default::default() }).unwrap()
    }

    fn record(p: &Plan, status: &str, done: u64) -> history::Record {
        history::Record {
            name: "m1".into(),
            checksum: p.checksum.clone(),
            status: status.into(),
            steps_total: p.steps.len() as u64,
            steps_done: done,
            steps: serde_json::to_value(&p.steps).unwrap(),
            error: None,
            started_at: None,
            applied_at: Some("2026-12-07 10:00:00+00".into()),
            duration_ms: 0,
        }
    }

    const FIRST: &str = "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int PRIMARY KEY);";

    #[test]
    fn a_changed_file_under_an_applied_name_is_refused_with_both_checksums() {
        let applied = migration(FIRST);
        let changed = migration("CREATE TABLE a (id int PRIMARY KEY, v text);\nCREATE TABLE b (id int PRIMARY KEY);");
        let prior = record(&applied, APPLIED, 2);
        let Err(e) = start("m1", Some(&prior), &changed) else { panic!("a changed file must be refused") };
        let MigrateError::ChangedFile { name, applied_at, recorded, checksum } = &e else { panic!("{e:?}") };
        assert_eq!((name.as_str(), applied_at.as_str()), ("m1", "2026-12-07 10:00:00+00"));
        assert_eq!((recorded, checksum), (&applied.checksum, &changed.checksum));
        assert_ne!(recorded, checksum);
        // The sentence the agent reads, word for word as before the error became a type.
        assert_eq!(
            e.to_string(),
            format!(
                "migration `m1` was already applied (at 2026-12-07 10:00:00+00) from a different file: recorded \
                 checksum {}, this file's checksum {}. Applied migrations are not changed in place. Put the new \
                 changes in a migration with a new name (e.g. `m1_2`), or restore the original file to see it as \
                 applied.",
                applied.checksum, changed.checksum
            )
        );
        // The same file: nothing to run; no history: from the start.
        assert!(matches!(start("m1", Some(&prior), &applied), Ok(Start::AlreadyApplied(_))));
        assert!(matches!(start("m1", None, &changed), Ok(Start::At(0))));
    }

    #[test]
    fn a_partial_run_resumes_only_when_its_applied_steps_are_unchanged() {
        let first = migration(FIRST);
        let prior = record(&first, PARTIAL, 1);
        // Step 2 corrected: resumes at step 2 (index 1).
        let fixed = migration("CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int PRIMARY KEY, v text);");
        assert!(matches!(start("m1", Some(&prior), &fixed), Ok(Start::At(1))));
        // Step 1, already applied, changed: refused, naming the step and both versions.
        let rewritten = migration("CREATE TABLE a2 (id int PRIMARY KEY);\nCREATE TABLE b (id int PRIMARY KEY);");
        let Err(e) = start("m1", Some(&prior), &rewritten) else { panic!("an applied step changed") };
        let MigrateError::ChangedAppliedStep(changed) = &e else { panic!("{e:?}") };
        assert_eq!((changed.step, changed.done), (1, 1));
        assert_eq!(changed.applied, "CREATE TABLE a (id int PRIMARY KEY)");
        assert_eq!(changed.now, "CREATE TABLE a2 (id int PRIMARY KEY)");
        assert!(e.to_string().contains("changes step 1 which is already applied:\n  applied: CREATE TABLE a"), "{e}");
    }

    #[test]
    fn a_table_without_a_primary_key_is_a_variant_the_step_runner_matches() {
        let e = MigrateError::NoPrimaryKey { table: "public.t".into() };
        assert_eq!(
            e.to_string(),
            "table public.t has no primary key; a backfill walks the table by its primary key. Batch it by hand \
             with transact: UPDATE … WHERE <key> IN (SELECT <key> FROM public.t WHERE … LIMIT 1000), repeated \
             until it changes 0 rows"
        );
        let step: StepError = e.into();
        assert_eq!(step.sqlstate, None);
        assert!(step.text.starts_with("table public.t has no primary key"));
    }
}
