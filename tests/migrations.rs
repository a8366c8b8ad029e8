//! Migrations through the MCP tools on the real binary: apply_migration (plan, fix, dry run, history, resume,
//! async jobs, rehearsal), list_migrations and backfill, in local mode and with --database-url.

mod common;

use common::{Server, count, sandbox_dir, table, text};
use serde_json::{Value, json};

fn writer() -> Server {
    Server::local(&["--allow-writes"])
}

/// tools/call with a progress token; returns the `result` object.
fn call_with_progress(s: &mut Server, tool: &str, args: Value, token: &str) -> Value {
    let resp = s.request("tools/call", json!({"name": tool, "arguments": args, "_meta": {"progressToken": token}}));
    assert!(resp.get("error").is_none(), "JSON-RPC error for {tool}: {resp}");
    resp["result"].clone()
}

/// The progress notifications seen so far for `token`.
fn progress(s: &Server, token: &str) -> Vec<Value> {
    s.notifications
        .iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == token)
        .map(|m| m["params"].clone())
        .collect()
}

/// A table `t` with an integer primary key and `rows` rows, seeded in transactions under the row limit.
fn seed_rows(s: &mut Server, t: &str, rows: i64, columns: &str) {
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id integer PRIMARY KEY{columns})")]}));
    let mut from = 1;
    while from <= rows {
        let to = (from + 2499).min(rows);
        s.ok(
            "transact",
            json!({"sql_list": [format!("INSERT INTO {t} (id) SELECT g FROM generate_series({from}, {to}) g")]}),
        );
        from = to + 1;
    }
}

fn assert_increasing(notes: &[Value]) {
    let values: Vec<f64> = notes.iter().map(|n| n["progress"].as_f64().unwrap()).collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "progress must increase: {values:?}");
}

#[test]
fn migration_tools_are_listed_only_with_writes() {
    let mut ro = Server::local(&[]);
    let names: Vec<String> = ro.request("tools/list", json!({}))["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.iter().any(|n| n == "apply_migration" || n == "backfill" || n == "list_migrations"));
    let e = ro.err("apply_migration", json!({"name": "x", "sql": "SELECT 1"}));
    assert!(e.contains("--allow-writes"), "{e}");
    let mut w = writer();
    let names: Vec<String> = w.request("tools/list", json!({}))["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    // The Python server's tools keep their places; ours come after.
    assert_eq!(names[..3], ["readonly_query", "transact", "get_schema"]);
    assert_eq!(names[names.len() - 3..], ["apply_migration", "list_migrations", "backfill"]);
}

/// The power's "safe data migration" workflow with these tools: add a column, backfill 10,000 rows in batches,
/// verify with COUNT, add an async index.
#[test]
fn safe_data_migration_workflow() {
    let mut s = writer();
    let t = table("orders");
    seed_rows(&mut s, &t, 10_000, "");
    let m = s.ok(
        "apply_migration",
        json!({"name": format!("{t}_add_status"), "sql": format!("ALTER TABLE {t} ADD COLUMN status text")}),
    );
    assert_eq!(m["result"]["status"], "applied", "{m}");
    let r = call_with_progress(
        &mut s,
        "backfill",
        json!({"table": t, "set": "status = 'open'", "where": "status IS NULL", "batch_size": 1000}),
        "fill",
    );
    assert_eq!(r["isError"], json!(false), "{}", text(&r));
    let out = &r["structuredContent"];
    assert_eq!(out["rows"], 10_000);
    assert_eq!(out["batches"], 10);
    assert_eq!(out["key"], json!(["id"]));
    let notes = progress(&s, "fill");
    assert_eq!(notes.len(), 10, "one notification per batch: {notes:?}");
    assert_eq!(notes.last().unwrap()["progress"], 10_000.0);
    assert_increasing(&notes);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE status IS NULL")), 0);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE status = 'open'")), 10_000);
    // Running it again finds nothing to do.
    let again = s.ok("backfill", json!({"table": t, "set": "status = 'open'", "where": "status IS NULL"}));
    assert_eq!((again["rows"].as_u64(), again["batches"].as_u64()), (Some(0), Some(0)));
    let idx = format!("{t}_status_idx");
    let r = call_with_progress(
        &mut s,
        "apply_migration",
        json!({"name": format!("{t}_index"), "sql": format!("CREATE INDEX ASYNC {idx} ON {t} (status)")}),
        "index",
    );
    assert_eq!(r["isError"], json!(false), "{}", text(&r));
    let step = &r["structuredContent"]["result"]["steps"][0];
    let job = step["job_id"].as_str().expect("the async step's job id").to_string();
    let status = s.rows(&format!("SELECT status FROM sys.jobs WHERE job_id = '{job}'"));
    assert_eq!(status[0]["status"], "completed");
    let notes = progress(&s, "index");
    assert!(
        notes.iter().any(|n| n["message"].as_str().unwrap().contains(&format!("job {job} is completed"))),
        "{notes:?}"
    );
    assert_increasing(&notes);
    let schema = s.ok("get_schema", json!({"table_name": t}));
    assert!(schema["indexes"].as_array().unwrap().iter().any(|i| i["name"] == json!(idx)));
}

/// An ORM-style file: the dry run shows the plan; with `fix` it applies; re-applying is a no-op; a changed file
/// under the same name is refused.
#[test]
fn orm_file_dry_run_fix_apply_noop_and_changed_file() {
    let mut s = writer();
    let (users, posts) = (table("users"), table("posts"));
    let name = format!("{users}_init");
    let file = format!(
        "BEGIN;\n\
         CREATE TABLE {users} (id serial PRIMARY KEY, email varchar(200) NOT NULL);\n\
         CREATE TABLE {posts} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id bigint NOT NULL, title text);\n\
         CREATE INDEX {posts}_user_idx ON {posts} (user_id);\n\
         INSERT INTO {users} (email) VALUES ('a@example.com'), ('b@example.com');\n\
         ALTER TABLE {users} ADD COLUMN status text NOT NULL DEFAULT 'active';\n\
         INSERT INTO {posts} (user_id, title) VALUES (1, 'hello');\n\
         COMMIT;\n"
    );
    // Without fix: the plan names what DSQL refuses, and applying runs nothing.
    let dry = s.ok("apply_migration", json!({"name": name, "sql": file, "dry_run": true}));
    assert_eq!(dry["would_apply"], false);
    let refused: Vec<&Value> =
        dry["plan"]["steps"].as_array().unwrap().iter().filter(|st| st.get("refused").is_some()).collect();
    assert_eq!(refused.len(), 3, "serial, synchronous index, ADD COLUMN with DEFAULT: {dry:#}");
    let e = s.err("apply_migration", json!({"name": name, "sql": file}));
    assert!(e.contains("nothing was run") && e.contains("fix=true"), "{e}");
    assert!(s.rows(&format!("SELECT to_regclass('{users}') AS r"))[0]["r"].is_null());
    // With fix: the dry run shows a DSQL-legal plan with the rewrites.
    let dry = s.ok("apply_migration", json!({"name": name, "sql": file, "dry_run": true, "fix": true}));
    assert_eq!(dry["would_apply"], true, "{dry:#}");
    let steps = dry["plan"]["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|st| st["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ddl", "ddl", "ddl", "dml", "ddl", "ddl", "backfill", "ddl", "ddl", "dml"]);
    assert!(steps[2]["starts_async_job"].as_bool().unwrap() && steps[2]["sql"][0].as_str().unwrap().contains("ASYNC"));
    let rules: Vec<&str> =
        dry["plan"]["rewrites"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    for rule in ["serial_type", "index_async", "add_column_split"] {
        assert!(rules.contains(&rule), "{rules:?}");
    }
    assert_eq!(dry["plan"]["skipped"].as_array().unwrap().len(), 2, "BEGIN and COMMIT");
    assert!(dry["history"].is_null());
    // Apply, with progress.
    let r = call_with_progress(&mut s, "apply_migration", json!({"name": name, "sql": file, "fix": true}), "orm");
    assert_eq!(r["isError"], json!(false), "{}", text(&r));
    let result = &r["structuredContent"]["result"];
    assert_eq!(result["status"], "applied");
    assert_eq!(result["steps"].as_array().unwrap().len(), 10);
    let notes = progress(&s, "orm");
    assert!(notes.len() >= 10, "{notes:?}");
    assert_increasing(&notes);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {users} WHERE status = 'active'")), 2);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {posts}")), 1);
    let schema = s.ok("get_schema", json!({"table_name": users}));
    let check = schema["constraints"].as_array().unwrap().iter().find(|c| c["type"] == "CHECK").cloned().unwrap();
    assert_eq!(check["validated"], true, "{check}");
    // Re-applying: a no-op that says so.
    let again = s.ok("apply_migration", json!({"name": name, "sql": file, "fix": true}));
    assert_eq!(again["result"]["status"], "already_applied", "{again}");
    assert!(again["result"]["message"].as_str().unwrap().contains("nothing was run"));
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {users}")), 2);
    // A changed file under the same name: refused, with both checksums.
    let changed = file.replace("'hello'", "'changed'");
    let e = s.err("apply_migration", json!({"name": name, "sql": changed, "fix": true}));
    assert!(e.contains("different file") && e.contains("new name"), "{e}");
    let listed = s.ok("list_migrations", json!({}));
    let entry = listed["migrations"].as_array().unwrap().iter().find(|m| m["name"] == json!(name)).cloned().unwrap();
    assert!(e.contains(entry["checksum"].as_str().unwrap()), "{e}");
    assert_eq!(entry["status"], "applied");
    assert_eq!((entry["steps_done"].as_u64(), entry["steps_total"].as_u64()), (Some(10), Some(10)));
    assert!(entry["applied_at"].is_string());
}

/// A migration whose third step fails: steps 1–2 recorded as applied, nothing after runs, and the corrected
/// re-run resumes at step 3.
#[test]
fn failing_third_step_stops_and_corrected_rerun_resumes() {
    let mut s = writer();
    let t = table("items");
    let name = format!("{t}_three");
    let broken = format!(
        "CREATE TABLE {t} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), sku text);\n\
         ALTER TABLE {t} ADD COLUMN price numeric(10,2);\n\
         ALTER TABLE {t} RENAME COLUMN no_such_column TO label;\n\
         INSERT INTO {t} (sku, price) VALUES ('a', 1.50);\n"
    );
    let e = s.err("apply_migration", json!({"name": name, "sql": broken}));
    assert!(e.contains("stopped at step 3 of 4"), "{e}");
    assert!(e.contains("42703") && e.contains("no_such_column"), "the database's error is named: {e}");
    assert!(e.contains("1. CREATE TABLE") && e.contains("2. ALTER TABLE"), "applied steps are listed: {e}");
    assert!(e.contains("Not run: steps 4–4") && e.contains("resumes at step 3"), "{e}");
    let listed = s.ok("list_migrations", json!({}));
    let entry = listed["migrations"].as_array().unwrap().iter().find(|m| m["name"] == json!(name)).cloned().unwrap();
    assert_eq!(entry["status"], "partial");
    assert_eq!(entry["steps_done"], 2);
    assert!(entry["error"].as_str().unwrap().contains("no_such_column"));
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 0, "step 4 did not run");
    // A changed applied step is refused.
    let e = s.err("apply_migration", json!({"name": name, "sql": broken.replace("numeric(10,2)", "numeric(12,2)")}));
    assert!(e.contains("changes step 2 which is already applied"), "{e}");
    // The corrected file resumes at step 3.
    let fixed = broken.replace("no_such_column", "sku");
    let r = s.ok("apply_migration", json!({"name": name, "sql": fixed.replace("(sku, price)", "(label, price)")}));
    assert_eq!(r["result"]["status"], "applied", "{r}");
    assert_eq!(r["result"]["resumed_from_step"], 3);
    let numbers: Vec<u64> =
        r["result"]["steps"].as_array().unwrap().iter().map(|st| st["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [3, 4]);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE label = 'a'")), 1);
}

/// A backfill interrupted by killing the server and run again: it completes, every row updated exactly once.
#[test]
fn interrupted_backfill_rerun_updates_every_row_once() {
    let t = table("events");
    {
        let mut s = writer();
        seed_rows(&mut s, &t, 10_000, ", n integer NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false");
    }
    let mut s = writer();
    let args = json!({"table": t, "set": "done = true, n = n + 1", "where": "NOT done", "batch_size": 100});
    s.send_raw(
        &json!({"jsonrpc": "2.0", "id": 999, "method": "tools/call",
                "params": {"name": "backfill", "arguments": args, "_meta": {"progressToken": "kill"}}})
        .to_string(),
    );
    s.wait_for(|m| m["method"] == "notifications/progress");
    let killed = std::process::Command::new("kill").args(["-9", &s.pid().to_string()]).status().unwrap();
    assert!(killed.success());
    drop(s);
    let mut s = writer();
    let left = count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE NOT done"));
    assert!(left < 10_000, "at least one batch was committed before the kill");
    let r = s.ok("backfill", args);
    assert_eq!(r["rows"].as_i64(), Some(left), "the re-run changes exactly the rows still to do");
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE done AND n = 1")), 10_000);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE n <> 1")), 0);
}

#[test]
fn backfill_refuses_bad_input_clearly() {
    let mut s = writer();
    let t = table("bf");
    seed_rows(&mut s, &t, 10, ", v text");
    let e = s.err("backfill", json!({"table": t, "set": "v = 'x'", "batch_size": 5000}));
    assert!(e.contains("batch_size 5000") && e.contains("3000"), "{e}");
    let e = s.err("backfill", json!({"table": t, "set": "v = 'x'; DROP TABLE bf"}));
    assert!(e.contains("one simple statement"), "{e}");
    let e = s.err("backfill", json!({"table": t}));
    assert!(e.contains("needs `set`"), "{e}");
    let e = s.err("backfill", json!({"table": t, "set": "id = id + 1"}));
    assert!(e.contains("primary-key column"), "{e}");
    let nokey = table("nokey");
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {nokey} (v text)")]}));
    let e = s.err("backfill", json!({"table": nokey, "set": "v = 'x'"}));
    assert!(e.contains("has no primary key"), "{e}");
    let e = s.err("backfill", json!({"table": "no_such_table_at_all", "set": "v = 'x'"}));
    assert!(e.contains("no_such_table_at_all"), "{e}");
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE v IS NOT NULL")), 0);
    // Deleting in batches.
    let r = s.ok("backfill", json!({"table": t, "delete": true, "where": "id > 4", "batch_size": 2}));
    assert_eq!((r["rows"].as_u64(), r["batches"].as_u64()), (Some(6), Some(3)));
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t}")), 4);
}

/// Rehearsal with --database-url: a failing step is caught in a scratch database of the local sandbox, and the
/// target is not touched; a passing rehearsal goes on to apply.
#[test]
fn rehearsal_catches_a_failing_step_without_touching_the_target() {
    let dir = sandbox_dir();
    // A local server keeps the sandbox running; the "cluster" is its postgres database, reached by URL.
    let mut local = writer();
    let t = table("accounts");
    seed_rows(&mut local, &t, 20, ", code text");
    local.ok("transact", json!({"sql_list": [format!("UPDATE {t} SET code = 'dup' WHERE id <= 2")]}));
    let url = format!("host={}/run user=admin dbname=postgres sslmode=disable", dir.display());
    let dir_text = dir.display().to_string();
    let mut s = Server::start_with_env(
        &["--allow-writes", "--database-url", &url],
        &[("AURORA_DSQL_LOCAL_DIR", dir_text.as_str())],
    );
    let name = format!("{t}_rehearsed");
    let failing =
        format!("ALTER TABLE {t} ADD COLUMN note text;\nALTER TABLE {t} RENAME COLUMN no_such_column TO label;\n");
    let e = s.err("apply_migration", json!({"name": name, "sql": failing, "rehearse": true}));
    assert!(e.contains("rehearsal failed at step 2 of 2") && e.contains("no_such_column"), "{e}");
    assert!(e.contains("Nothing was run on the target"), "{e}");
    let cols = local.rows(&format!(
        "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = '{t}' AND column_name = 'note'"
    ));
    assert_eq!(cols[0]["n"], 0, "the target is untouched");
    assert!(
        s.ok("list_migrations", json!({}))["migrations"].as_array().unwrap().iter().all(|m| m["name"] != json!(name))
    );
    // Schema only: a unique index over duplicate data passes; with sample rows the rehearsal catches it.
    let unique = format!("CREATE UNIQUE INDEX ASYNC {t}_code_key ON {t} (code);\n");
    let dry = s.ok("apply_migration", json!({"name": name, "sql": unique, "rehearse": true, "dry_run": true}));
    assert_eq!(dry["rehearsal"]["status"], "passed", "{dry}");
    assert_eq!(dry["rehearsal"]["copied_tables"], json!([format!("\"public\".\"{t}\"")]));
    let e = s.err("apply_migration", json!({"name": name, "sql": unique, "rehearse": true, "sample_rows": 100}));
    assert!(e.contains("rehearsal failed at step 1") && e.contains("23505"), "{e}");
    assert_eq!(
        local.rows(&format!("SELECT count(*) AS n FROM pg_indexes WHERE indexname = '{t}_code_key'"))[0]["n"],
        0
    );
    // A passing rehearsal applies to the target.
    let good = format!("ALTER TABLE {t} ADD COLUMN note text;\nUPDATE {t} SET note = 'n' WHERE note IS NULL;\n");
    let r = s.ok("apply_migration", json!({"name": name, "sql": good, "rehearse": true, "sample_rows": 5}));
    assert_eq!(r["rehearsal"]["status"], "passed", "{r}");
    assert_eq!(r["rehearsal"]["sample_rows"], 5);
    assert_eq!(r["result"]["status"], "applied");
    assert_eq!(count(&mut local, &format!("SELECT count(*) AS n FROM {t} WHERE note = 'n'")), 20);
    // No scratch database is left behind.
    assert_eq!(count(&mut local, "SELECT count(*) AS n FROM pg_database WHERE datname LIKE 'rehearsal\\_%'"), 0);
}

/// The power, the migrations guide, the safe-migration prompt and the README describe the migration tools.
#[test]
fn guides_and_prompt_describe_the_migration_tools() {
    let lib = aurora_dsql_mcp_server::docs::Library::embedded();
    let power = &lib.document("power").unwrap().text;
    let guide = &lib.document("dsql://steering/migrations").unwrap().text;
    for tool in ["apply_migration", "list_migrations", "backfill"] {
        assert!(power.contains(&format!("`{tool}`")), "POWER.md does not describe {tool}");
        assert!(guide.contains(&format!("`{tool}`")) || tool == "list_migrations", "the migrations guide lacks {tool}");
    }
    let readme = include_str!("../README.md");
    for tool in ["apply_migration", "list_migrations", "backfill"] {
        assert!(readme.contains(&format!("| `{tool}` |")), "README's tool table lacks {tool}");
    }
    let args = json!({"table_name": "orders", "change": "add a status column"});
    let prompt = aurora_dsql_mcp_server::docs::prompts::get("safe-migration", args.as_object().unwrap()).unwrap();
    assert!(prompt.contains("apply_migration") && prompt.contains("rehearse=true") && prompt.contains("backfill"));
}

/// A run that stopped after a DDL step committed but before the history recorded it: the re-run counts the step
/// as applied (its object exists) and goes on.
#[test]
fn a_run_stopped_before_recording_a_ddl_step_resumes() {
    let mut s = writer();
    let t = table("crash");
    let name = format!("{t}_m");
    let file = format!(
        "CREATE TABLE {t} (id integer PRIMARY KEY);\nALTER TABLE {t} ADD COLUMN note text;\n\
         INSERT INTO {t} (id, note) VALUES (1, 'x');\n"
    );
    assert_eq!(s.ok("apply_migration", json!({"name": name, "sql": file}))["result"]["status"], "applied");
    // As if the server had died right after step 2's ALTER committed, before step 2 and 3 were recorded.
    s.ok(
        "transact",
        json!({"sql_list": [
            "UPDATE public.mcp_migrations SET status = 'running', steps_done = 1, applied_at = NULL WHERE name = $1",
            format!("DELETE FROM {t}")
        ], "params_list": [[name], null]}),
    );
    let r = s.ok("apply_migration", json!({"name": name, "sql": file}));
    let result = &r["result"];
    assert_eq!(result["status"], "applied", "{r}");
    assert_eq!(result["resumed_from_step"], 2);
    assert_eq!(result["steps"][0]["status"], "already_there", "{r}");
    assert!(result["steps"][0]["note"].as_str().unwrap().contains("42701"), "{r}");
    assert_eq!(result["steps"][1]["number"], 3);
    assert_eq!(count(&mut s, &format!("SELECT count(*) AS n FROM {t} WHERE note = 'x'")), 1);
    let again = s.ok("apply_migration", json!({"name": name, "sql": file}));
    assert_eq!(again["result"]["status"], "already_applied");
}

/// With --tenant-column, a backfill is scoped like any statement: its WHERE must constrain the tenant.
#[test]
fn backfill_respects_tenant_scoping() {
    let t = table("tenants");
    {
        let mut s = writer();
        seed_rows(&mut s, &t, 10, ", tenant_id text, v text");
        s.ok(
            "transact",
            json!({"sql_list": [format!("UPDATE {t} SET tenant_id = CASE WHEN id <= 4 THEN 'a' ELSE 'b' END")]}),
        );
    }
    let mut s = Server::local(&["--allow-writes", "--tenant-column", "tenant_id"]);
    let e = s.err("backfill", json!({"table": t, "set": "v = 'x'", "where": "v IS NULL"}));
    assert!(e.contains("tenant_id"), "{e}");
    let r = s.ok("backfill", json!({"table": t, "set": "v = 'x'", "where": "tenant_id = 'a' AND v IS NULL"}));
    assert_eq!(r["rows"], 4);
}
