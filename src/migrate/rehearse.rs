//! Rehearsal: before a plan touches the target, run it whole in a scratch database of the local sandbox. The
//! schema of every existing table the plan names is copied from the target (columns, defaults, identity,
//! constraints, indexes, the sequences their defaults use; no data, or up to `sample_rows` rows per table), the
//! steps run there with the sandbox's DSQL emulation, and the scratch database is dropped afterwards. Needs
//! PostgreSQL's server binaries, like local mode.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use super::apply::run_step;
use super::plan::Plan;
use super::{Ctx, MigrateError, Reporter, internal, quote_ident};
use crate::emulation::sandbox::Sandbox;
use crate::pool::Database;

/// Most sample rows copied per table.
pub const MAX_SAMPLE: usize = 1000;

const RELATION: &str = "SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name \
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')";
const COLUMNS: &str = "SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, \
    a.attnotnull AS not_null, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity::text AS identity, \
    a.attgenerated::text AS generated FROM pg_catalog.pg_attribute a \
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
const CONSTRAINTS: &str = "SELECT conname AS name, contype::text AS type, pg_catalog.pg_get_constraintdef(oid) AS def, \
    confrelid::int8 AS refs FROM pg_catalog.pg_constraint WHERE conrelid = $1::oid AND contype IN ('p', 'u', 'c', 'f') \
    ORDER BY contype, conname";
const INDEXES: &str = "SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS def FROM pg_catalog.pg_index i \
    WHERE i.indrelid = $1::oid AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid)";

/// The DDL that recreates the target's tables, and the sample rows to load: (table, column list, row JSON).
#[derive(Default)]
struct Copy {
    ddl: Vec<String>,
    rows: Vec<(String, String, String)>,
    tables: Vec<String>,
    notes: Vec<String>,
}

/// Rehearse `plan` in a scratch database of the sandbox in `dir`. Ok: a report; Err: what failed (nothing was
/// run on the target either way).
pub async fn rehearse(
    target: &Ctx<'_>,
    plan: &Plan,
    dir: &Path,
    sample_rows: usize,
    reporter: &Reporter<'_>,
) -> Result<Value, MigrateError> {
    let started = Instant::now();
    let copy = read_schema(target, plan, sample_rows.min(MAX_SAMPLE)).await.map_err(MigrateError::Rehearsal)?;
    let dir_owned = dir.to_path_buf();
    let sandbox = tokio::task::spawn_blocking(move || Sandbox::start(&dir_owned, &|m| tracing::info!("{m}")))
        .await
        .map_err(|e| MigrateError::Rehearsal(format!("rehearsal: the sandbox start-up task failed: {e}")))?
        .map_err(|e| {
            MigrateError::Rehearsal(format!(
                "cannot rehearse: the local sandbox is not available ({e}). Rehearsal needs PostgreSQL's server \
                 binaries on this machine, like local mode. Nothing was run."
            ))
        })?;
    let name = scratch_name();
    let result = in_scratch(target, plan, &sandbox, &name, &copy, reporter).await;
    let cleanup = drop_scratch(&sandbox, &name).await;
    let mut sandbox = sandbox;
    if let Err(e) =
        tokio::task::spawn_blocking(move || sandbox.release()).await.map_err(|e| e.to_string()).and_then(|r| r)
    {
        tracing::warn!("rehearsal: leaving the sandbox failed: {e}");
    }
    let mut report = result.map_err(MigrateError::Rehearsal)?;
    if let Err(e) = cleanup {
        tracing::warn!("rehearsal: could not drop the scratch database {name}: {e}");
    }
    report["copied_tables"] = json!(copy.tables);
    report["sample_rows"] = json!(copy.rows.len());
    if !copy.notes.is_empty() {
        report["notes"] = json!(copy.notes);
    }
    report["duration_ms"] = json!(started.elapsed().as_millis() as u64);
    Ok(report)
}

fn scratch_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("rehearsal_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), rand::random::<u16>())
}

async fn in_scratch(
    target: &Ctx<'_>,
    plan: &Plan,
    sandbox: &Sandbox,
    name: &str,
    copy: &Copy,
    reporter: &Reporter<'_>,
) -> Result<Value, String> {
    let admin = connect(sandbox, "postgres").await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
        .await
        .map_err(|e| format!("rehearsal: cannot create the scratch database: {}", crate::error_chain::text(&e)))?;
    drop(admin);
    let mut cfg = sandbox.pg_config(&crate::pool::application_name());
    cfg.dbname(name);
    let mut sys_cfg = sandbox.sys_config(&crate::pool::application_name());
    sys_cfg.dbname(name);
    let db = Database::local_database(cfg, Some(sys_cfg), 2, format!("scratch database {name}")).await?;
    let scratch = Ctx { db: &db, policy: target.policy.clone(), limits: target.limits, tool: target.tool };
    let outcome = run_in(&scratch, plan, copy, reporter).await;
    db.pool.close();
    outcome
}

async fn run_in(scratch: &Ctx<'_>, plan: &Plan, copy: &Copy, reporter: &Reporter<'_>) -> Result<Value, String> {
    for ddl in &copy.ddl {
        scratch.write(&[internal(ddl.clone(), "CREATE", vec![])]).await.map_err(|e| {
            format!("rehearsal: copying the target's schema into the scratch database failed on `{ddl}`: {e}")
        })?;
    }
    for (table, cols, row) in &copy.rows {
        let sql = format!(
            "INSERT INTO {table} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM json_populate_record(NULL::{table}, $1::json)"
        );
        scratch
            .write(&[internal(sql, "INSERT", vec![json!(row)])])
            .await
            .map_err(|e| format!("rehearsal: copying a sample row of {table} failed: {e}"))?;
    }
    let total = plan.steps.len();
    let mut steps = Vec::new();
    for step in &plan.steps {
        let t0 = Instant::now();
        match run_step(scratch, None, step, total, reporter).await {
            Ok(mut v) => {
                // A job in the sandbox is complete when its statement returns.
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("job_id");
                }
                v["number"] = json!(step.number);
                v["ms"] = json!(t0.elapsed().as_millis() as u64);
                steps.push(v);
                reporter.note(format!("rehearsal: step {} of {total} passed", step.number));
            }
            Err(e) => {
                return Err(format!(
                    "the rehearsal failed at step {} of {total} ({}; line {} of the file):\n{}\n\nNothing was run on the \
                     target. The rehearsal ran on a copy of the target's schema in a scratch database of the local \
                     sandbox{}; steps 1–{} passed there. Fix step {} and apply again.",
                    step.number,
                    step.description,
                    step.line,
                    e.text,
                    if copy.rows.is_empty() { " (no data)" } else { " (with sample rows)" },
                    step.number - 1,
                    step.number
                ));
            }
        }
    }
    reporter.note(format!("rehearsal: all {total} steps passed"));
    Ok(json!({"status": "passed", "steps": steps}))
}

/// A housekeeping connection (creating and dropping scratch databases), as the sandbox's own role.
async fn connect(sandbox: &Sandbox, dbname: &str) -> Result<tokio_postgres::Client, String> {
    let mut cfg = sandbox.sys_config(&crate::pool::application_name());
    cfg.dbname(dbname);
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("rehearsal: cannot connect to the local sandbox: {}", crate::error_chain::text(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("rehearsal connection ended: {e}");
        }
    });
    Ok(client)
}

async fn drop_scratch(sandbox: &Sandbox, name: &str) -> Result<(), String> {
    let admin = connect(sandbox, "postgres").await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name)))
        .await
        .map_err(|e| crate::error_chain::text(&e))
}

/// Read what the scratch database needs from the target.
async fn read_schema(target: &Ctx<'_>, plan: &Plan, sample_rows: usize) -> Result<Copy, String> {
    let mut names: Vec<String> = Vec::new();
    for step in &plan.steps {
        for t in &step.tables {
            if !names.contains(t) {
                names.push(t.clone());
            }
        }
    }
    let field =
        |r: &serde_json::Map<String, Value>, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut found = Vec::new();
    for n in &names {
        let rel = target
            .read(RELATION, vec![json!(n)])
            .await
            .map_err(|e| format!("rehearsal: cannot read the target's catalog for {n}: {e}"))?;
        if let Some(r) = rel.rows.first() {
            let oid = r.get("oid").map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or_default();
            let qualified = format!("{}.{}", quote_ident(&field(r, "schema")), quote_ident(&field(r, "name")));
            if !found.iter().any(|(o, _, _): &(String, String, String)| *o == oid) {
                found.push((oid, qualified, field(r, "schema")));
            }
        }
    }
    let mut copy = Copy::default();
    let mut schemas = Vec::new();
    let mut sequences = Vec::new();
    let mut tables = Vec::new();
    let mut later = Vec::new();
    for (oid, qualified, schema) in &found {
        if schema != "public" && !schemas.contains(schema) {
            schemas.push(schema.clone());
        }
        let cols = target.read(COLUMNS, vec![json!(oid)]).await.map_err(|e| e.to_string())?;
        let cons = target.read(CONSTRAINTS, vec![json!(oid)]).await.map_err(|e| e.to_string())?;
        let idx = target.read(INDEXES, vec![json!(oid)]).await.map_err(|e| e.to_string())?;
        let mut defs = Vec::new();
        let mut insertable = Vec::new();
        for c in &cols.rows {
            let name = quote_ident(&field(c, "name"));
            let mut d = format!("{name} {}", field(c, "type"));
            let def = field(c, "def");
            match (field(c, "generated").as_str(), field(c, "identity").as_str()) {
                ("s", _) => d.push_str(&format!(" GENERATED ALWAYS AS ({def}) STORED")),
                (_, "a") => d.push_str(" GENERATED ALWAYS AS IDENTITY"),
                (_, "d") => d.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
                _ if !def.is_empty() => {
                    if let Some(seq) = def.split("nextval('").nth(1).and_then(|s| s.split('\'').next()) {
                        sequences.push(format!("CREATE SEQUENCE IF NOT EXISTS {seq}"));
                    }
                    d.push_str(&format!(" DEFAULT {def}"));
                }
                _ => {}
            }
            if field(c, "generated") != "s" {
                insertable.push(name);
            }
            if c.get("not_null") == Some(&Value::Bool(true)) {
                d.push_str(" NOT NULL");
            }
            defs.push(d);
        }
        for k in &cons.rows {
            let def = field(k, "def");
            let cname = quote_ident(&field(k, "name"));
            match field(k, "type").as_str() {
                "p" => defs.push(format!("CONSTRAINT {cname} {def}")),
                "f" => {
                    let refs = k.get("refs").map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or_default();
                    if found.iter().any(|(o, _, _)| *o == refs) {
                        later.push(format!("ALTER TABLE {qualified} ADD CONSTRAINT {cname} {def}"));
                    } else {
                        copy.notes.push(format!(
                            "{qualified}: foreign key {cname} not copied (it references a table the migration does not name)"
                        ));
                    }
                }
                _ => later.push(format!("ALTER TABLE {qualified} ADD CONSTRAINT {cname} {def}")),
            }
        }
        for i in &idx.rows {
            later.push(field(i, "def").replace("USING btree_index", "USING btree"));
        }
        tables.push(format!("CREATE TABLE {qualified} ({})", defs.join(", ")));
        copy.tables.push(qualified.clone());
        if sample_rows > 0 {
            let sql =
                format!("SELECT row_to_json(x)::text AS r FROM (SELECT * FROM {qualified} LIMIT {sample_rows}) x");
            let rows = target
                .read(&sql, vec![])
                .await
                .map_err(|e| format!("rehearsal: cannot read sample rows of {qualified}: {e}"))?;
            for r in &rows.rows {
                copy.rows.push((qualified.clone(), insertable.join(", "), field(r, "r")));
            }
        }
    }
    copy.ddl.extend(schemas.iter().map(|s| format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(s))));
    copy.ddl.extend(sequences);
    copy.ddl.extend(tables);
    copy.ddl.extend(later);
    Ok(copy)
}
