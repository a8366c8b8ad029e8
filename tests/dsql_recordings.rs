//! The real-DSQL recordings as a test: every case recorded against a live Aurora DSQL cluster (vendored under
//! tests/dsql_recordings/, see its NOTICE) is replayed through the real binary's MCP tools, as a user would send
//! it, in local mode (`--local`) and on a plain PostgreSQL with DSQL emulation (`--database-url`), and its outcome,
//! SQLSTATE and message are compared with DSQL's. The per-case table is published as docs/dsql_recordings.md (the
//! README's fidelity figure and the summary at the top of docs/conformance.md come from it); this test fails when
//! the file is out of date, when a case differs without being listed in [`KNOWN_DIFFERENCES`], or when a listed
//! case now matches. Regenerate with `AURORA_DSQL_UPDATE_DOCS=1 cargo test --test dsql_recordings`.
//!
//! How a case maps onto the tools: a step outside an explicit transaction is one call (`readonly_query` for a
//! read, `transact` otherwise); `BEGIN` … `COMMIT`/`ROLLBACK` becomes one `transact` call holding the statements in
//! between (the tool is the transaction), and a multi-statement simple query is one `transact` call too. After the
//! first failed statement of a transaction DSQL answers `25P02` until it ends: those steps are the same failure and
//! are not compared again. Rows are not compared (the recordings hold driver-formatted values and generated ids).

mod common;

use common::{Server, text, url_database};
use serde_json::{Value, json};

const FILES: &[(&str, &str)] = &[
    ("unsupported", include_str!("dsql_recordings/unsupported.json")),
    ("supported", include_str!("dsql_recordings/supported.json")),
    ("types", include_str!("dsql_recordings/types.json")),
    ("transaction", include_str!("dsql_recordings/transaction.json")),
    ("isolation", include_str!("dsql_recordings/isolation.json")),
    ("index", include_str!("dsql_recordings/index.json")),
    ("alters", include_str!("dsql_recordings/alters.json")),
    ("backlog", include_str!("dsql_recordings/backlog.json")),
    ("enum", include_str!("dsql_recordings/enum.json")),
    ("queries", include_str!("dsql_recordings/queries.json")),
    ("occ", include_str!("dsql_recordings/occ.json")),
    ("occ_conflict", include_str!("dsql_recordings/occ_conflict.json")),
    ("multi_statement", include_str!("dsql_recordings/multi_statement.json")),
    ("environment", include_str!("dsql_recordings/environment.json")),
];

const BASELINE: &str = include_str!("dsql_recordings/baseline.sql");

/// Cases that are deliberately not replayed, and why (besides every case with `sessions`, see [`TWO_SESSIONS`]).
const NOT_REPRODUCED: &[(&str, &str)] = &[(
    "rollback",
    "ends in a deliberate ROLLBACK after statements that succeeded; transact commits a transaction that succeeds, \
     and no tool rolls back on purpose",
)];

/// Why the cases with `sessions` are not replayed.
const TWO_SESSIONS: &str = "needs two sessions holding transactions open at once (an OCC race); each tool call is \
    one whole transaction, so the tools cannot express it";

/// State an earlier case committed that a case relies on: the recording suite ran its cases in order on one
/// database, and this test resets the baseline after every case that committed, so the state is made first.
const NEEDS: &[(&str, &[&str])] = &[
    ("types_roundtrip", &[TYPES_OK]),
    ("enum_domain_violation", &["CREATE DOMAIN baseline_mood_domain AS text CHECK (VALUE IN ('sad', 'ok'))"]),
    (
        "alter_validate_constraint_async",
        &[
            "ALTER TABLE baseline_alter_fk ADD CONSTRAINT alter_fk FOREIGN KEY (parent_id) REFERENCES baseline_parent (id) NOT VALID",
        ],
    ),
    (
        "alter_validate_constraint_sync",
        &[
            "ALTER TABLE baseline_alter_fk ADD CONSTRAINT alter_fk FOREIGN KEY (parent_id) REFERENCES baseline_parent (id) NOT VALID",
        ],
    ),
];

/// The table `types_supported_columns` creates, as recorded.
const TYPES_OK: &str = "CREATE TABLE baseline_types_ok (c_smallint smallint, c_integer integer, c_bigint bigint, \
    c_real real, c_double double precision, c_numeric numeric, c_numeric_ps numeric(18,6), c_decimal decimal(10,2), \
    c_char character(10), c_varchar character varying(20), c_bpchar bpchar(5), c_text text, c_date date, c_time time, \
    c_timetz time with time zone, c_timestamp timestamp, c_timestamptz timestamp with time zone, c_interval interval, \
    c_boolean boolean, c_bytea bytea, c_uuid uuid, c_json json, c_jsonb jsonb)";

/// Cases where the server's answer is known to differ from DSQL's: name, what differs (`"sqlstate"`: outcome or
/// SQLSTATE; `"message"`: only the message), and why.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[];

/// One comparable unit: a tool call and DSQL's answer to it.
struct Call {
    tool: &'static str,
    sql: Vec<String>,
    /// `None`: DSQL accepted it; `Some((sqlstate, message))`: DSQL refused it.
    dsql: Option<(String, String)>,
}

enum Mapped {
    Calls(Vec<Call>),
    NotReproduced(&'static str),
}

fn first_word(sql: &str) -> String {
    sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase()
}

/// Whether a user would send `sql` through readonly_query.
fn is_read(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let locks = [" FOR UPDATE", " FOR SHARE", " FOR NO KEY UPDATE", " FOR KEY SHARE"].iter().any(|l| upper.contains(l));
    matches!(first_word(sql).as_str(), "SELECT" | "SHOW" | "WITH" | "EXPLAIN" | "VALUES" | "TABLE") && !locks
}

fn observation(o: &Value) -> Option<(String, String)> {
    (o["outcome"] == "error")
        .then(|| (o["sqlstate"].as_str().unwrap_or("").to_string(), o["message"].as_str().unwrap_or("").to_string()))
}

/// Maps a recorded case onto tool calls (see the module documentation).
fn map_case(case: &Value) -> Mapped {
    let name = case["name"].as_str().unwrap_or("");
    if case.get("sessions").is_some_and(|s| !s.is_null()) {
        return Mapped::NotReproduced(TWO_SESSIONS);
    }
    if let Some((_, why)) = NOT_REPRODUCED.iter().find(|(n, _)| *n == name) {
        return Mapped::NotReproduced(why);
    }
    let steps: Vec<&str> = case["steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let obs = case["observations"].as_array().unwrap();
    // Each step's statements with the step's observation.
    let mut flat: Vec<(String, Option<(String, String)>)> = Vec::new();
    let simple_protocol = case["simple_protocol"] == json!(true);
    for (step, o) in steps.iter().zip(obs) {
        // Only a simple-protocol step can hold several statements (none of those has a ';' inside a literal).
        let parts: Vec<&str> = if simple_protocol {
            step.split(';').map(str::trim).filter(|p| !p.is_empty()).collect()
        } else {
            vec![step]
        };
        if parts.len() > 1 {
            // One implicit transaction (or an explicit one inside the query): mark its bounds.
            let explicit = first_word(parts[0]) == "BEGIN";
            if !explicit {
                flat.push(("BEGIN".into(), None));
            }
            // The query's one answer belongs to the statement that ended it: the last one.
            for (i, p) in parts.iter().enumerate() {
                flat.push((p.to_string(), if i + 1 == parts.len() { observation(o) } else { None }));
            }
            if !explicit {
                flat.push(("COMMIT".into(), None));
            }
        } else {
            flat.push((step.to_string(), observation(o)));
        }
    }
    let mut calls = Vec::new();
    let mut txn: Option<Call> = None;
    for (sql, dsql) in flat {
        let word = first_word(&sql);
        let framing_begin = word == "BEGIN" && dsql.is_none() || word == "START";
        if framing_begin && txn.is_none() {
            txn = Some(Call { tool: "transact", sql: Vec::new(), dsql: None });
            continue;
        }
        if matches!(word.as_str(), "COMMIT" | "ROLLBACK" | "END") && txn.is_some() {
            calls.extend(txn.take());
            continue;
        }
        match txn.as_mut() {
            Some(t) => {
                if t.dsql.is_some() {
                    continue; // 25P02 (or the same failure) until the transaction ends
                }
                t.sql.push(sql);
                t.dsql = dsql;
            }
            None => {
                let tool = if is_read(&sql) { "readonly_query" } else { "transact" };
                calls.push(Call { tool, sql: vec![sql], dsql });
            }
        }
    }
    calls.extend(txn.take());
    calls.retain(|c| !c.sql.is_empty());
    Mapped::Calls(calls)
}

/// SQLSTATE and message of a failed call, from the first line of the tool's error text (`ERROR 0A000: …` for the
/// database's own errors, `[rule] 0A000: …. Fix: …` for the server's refusals). A trailing period is not part of
/// the comparison (the refusal layout ends every message with one).
fn our_error(first: &str) -> (String, String) {
    let unsealed = common::unseal(first);
    let first = unsealed.as_str();
    if let Some(rest) = first.strip_prefix("ERROR ")
        && let Some((state, msg)) = rest.split_once(": ")
    {
        return (state.to_string(), msg.trim_end_matches('.').to_string());
    }
    if first.starts_with('[')
        && let Some((_, after)) = first.split_once("] ")
    {
        let (state, msg) = match after.split_once(": ") {
            Some((s, m)) if s.len() == 5 && s.chars().all(|c| c.is_ascii_alphanumeric()) => (s.to_string(), m),
            _ => (String::new(), after),
        };
        let msg = msg.split(". Fix: ").next().unwrap_or(msg);
        let msg = msg.split(" (statement sql_list[").next().unwrap_or(msg);
        let msg = msg.split(" [DSQL rule since").next().unwrap_or(msg);
        return (state, msg.trim_end_matches('.').to_string());
    }
    (String::new(), first.to_string())
}

/// How one mode answered a case.
#[derive(Clone, PartialEq)]
struct Outcome {
    sqlstate_ok: bool,
    message_ok: bool,
    answer: String,
}

struct Mode {
    server: Server,
    seeder: Server,
}

impl Mode {
    fn start(url_conn: Option<&str>) -> Mode {
        let (server, seeder) = match url_conn {
            // Async jobs complete only when waited on during the replay (as the recorded cluster's were still
            // running when the next step came), whatever the machine's speed.
            None => (
                common::local_with_job_delay(3600, &["--allow-writes"]),
                common::local_with_job_delay(3600, &["--allow-writes", "--rules", "off"]),
            ),
            Some(u) => (
                common::url_with_job_delay(u, 3600, &["--allow-writes"]),
                common::url_with_job_delay(u, 3600, &["--allow-writes", "--rules", "off"]),
            ),
        };
        let mut m = Mode { server, seeder };
        m.reset(None);
        m
    }

    /// Brings the database back to the baseline after a case that committed `touched` (the statements it ran):
    /// drops every object named baseline* that the baseline does not have, and drops and creates again the
    /// baseline tables those statements name (with the tables whose baseline statements name them: a foreign key's
    /// parent takes its children along). `None`: everything.
    fn reset(&mut self, touched: Option<&[String]>) {
        let baseline = baseline_lines();
        let baseline_tables: std::collections::BTreeSet<String> =
            baseline.iter().filter(|(l, _)| l.starts_with("CREATE TABLE")).map(|(_, names)| names[0].clone()).collect();
        let mut redo: std::collections::BTreeSet<String> = match touched {
            None => baseline_tables.clone(),
            Some(sql) => sql.iter().flat_map(|s| names_in(s)).filter(|n| baseline_tables.contains(n)).collect(),
        };
        loop {
            let before = redo.len();
            for (_, names) in &baseline {
                if names.iter().any(|n| redo.contains(n)) {
                    redo.extend(names.iter().filter(|n| baseline_tables.contains(*n)).cloned());
                }
            }
            if redo.len() == before {
                break;
            }
        }
        let found = self.seeder.ok(
            "readonly_query",
            json!({"sql": "SELECT CASE relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, \
                   relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                   AND relkind IN ('r', 'p', 'v', 'S') AND relname LIKE 'baseline%' \
                   UNION ALL SELECT 'FUNCTION', proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace \
                   AND proname LIKE 'baseline%' \
                   UNION ALL SELECT 'DOMAIN', typname FROM pg_type WHERE typnamespace = 'public'::regnamespace \
                   AND typtype = 'd' AND typname LIKE 'baseline%' \
                   UNION ALL SELECT 'SCHEMA', nspname FROM pg_namespace WHERE nspname LIKE 'baseline%' \
                   ORDER BY 1 DESC"}),
        );
        let mut sql: Vec<String> = Vec::new();
        for r in found["result"].as_array().unwrap() {
            let (kind, name) = (r["kind"].as_str().unwrap(), r["name"].as_str().unwrap());
            if kind == "TABLE" && baseline_tables.contains(name) && !redo.contains(name) {
                continue;
            }
            if kind == "SEQUENCE" && name.ends_with("_seq") {
                continue; // an identity column's own sequence goes with its table
            }
            sql.push(format!("DROP {kind} IF EXISTS \"{name}\" CASCADE"));
        }
        sql.extend(baseline.iter().filter(|(_, names)| names.iter().any(|n| redo.contains(n))).map(|(l, _)| l.clone()));
        if !sql.is_empty() {
            self.seeder.ok("transact", json!({ "sql_list": sql }));
        }
    }

    /// Runs a mapped case; returns how it compares and whether anything committed.
    fn run(&mut self, name: &str, calls: &[Call]) -> Outcome {
        if let Some((_, setup)) = NEEDS.iter().find(|(n, _)| *n == name) {
            for s in *setup {
                self.seeder.ok("transact", json!({ "sql_list": [s] }));
            }
        }
        let mut committed = NEEDS.iter().any(|(n, _)| *n == name);
        let (mut sqlstate_ok, mut message_ok) = (true, true);
        let mut answers = Vec::new();
        for call in calls {
            let r = if call.tool == "readonly_query" {
                self.server.call("readonly_query", json!({ "sql": call.sql[0] }))
            } else {
                self.server.call("transact", json!({ "sql_list": call.sql }))
            };
            let failed = r["isError"] == json!(true);
            let ours = failed.then(|| our_error(text(&r).lines().next().unwrap_or("")));
            committed |= !failed && call.tool == "transact";
            match (&call.dsql, &ours) {
                (None, None) => answers.push("ok".to_string()),
                (Some((ds, dm)), Some((os, om))) => {
                    sqlstate_ok &= ds == os;
                    message_ok &= ds == os && dm.trim_end_matches('.') == om;
                    answers.push(format!("{os} {om}"));
                }
                (_, Some((os, om))) => {
                    (sqlstate_ok, message_ok) = (false, false);
                    answers.push(format!("{os} {om}"));
                }
                (_, None) => {
                    (sqlstate_ok, message_ok) = (false, false);
                    answers.push("ok".to_string());
                }
            }
        }
        if committed {
            let mut touched: Vec<String> = calls.iter().flat_map(|c| c.sql.iter().cloned()).collect();
            touched.extend(NEEDS.iter().filter(|(n, _)| *n == name).flat_map(|(_, s)| s.iter().map(|s| s.to_string())));
            self.reset(Some(&touched));
        }
        Outcome { sqlstate_ok, message_ok, answer: answers.join(" → ") }
    }

    /// Every mapped case of the recordings, in order, through this mode.
    fn run_all(&mut self) -> Vec<Outcome> {
        let mut out = Vec::new();
        for (_, json_text) in FILES {
            let doc: Value = serde_json::from_str(json_text).expect("a recording file is JSON");
            for case in doc["cases"].as_array().unwrap() {
                if let Mapped::Calls(calls) = map_case(case) {
                    out.push(self.run(case["name"].as_str().unwrap(), &calls));
                }
            }
        }
        out
    }
}

/// The baseline's statements, each with the baseline* names it mentions (for a CREATE TABLE, its table first).
fn baseline_lines() -> Vec<(String, Vec<String>)> {
    BASELINE
        .lines()
        .filter(|l| !l.starts_with("--") && !l.trim().is_empty())
        .map(|l| (l.trim_end_matches(';').to_string(), names_in(l)))
        .collect()
}

/// The baseline* identifiers in `sql`, in order.
fn names_in(sql: &str) -> Vec<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.to_ascii_lowercase().starts_with("baseline"))
        .map(str::to_ascii_lowercase)
        .collect()
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\t'], " ")
}

fn dsql_answer(calls: &[Call]) -> String {
    calls
        .iter()
        .map(|c| match &c.dsql {
            None => "ok".to_string(),
            Some((s, m)) => format!("{s} {m}"),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The lines of docs/dsql_recordings.md that tests/conformance.rs copies into docs/conformance.md's summary.
const FIGURES_PREFIX: &str = "**Figures:**";
const NOT_REPRODUCED_PREFIX: &str = "**Not reproduced:**";
const DIFFERS_PREFIX: &str = "**Known differences:**";

#[test]
fn recordings_replay_as_on_dsql() {
    let mut local = Mode::start(None);
    let url_conn = {
        local.server.rows("SELECT 1 AS up");
        url_database("rec")
    };
    let mut remote = Mode::start(Some(&url_conn));
    // The two modes use separate databases: they run side by side. Local mode's servers keep the shared sandbox
    // running, so they stay until the other mode has finished.
    let remote = std::thread::spawn(move || remote.run_all());
    let local_results = local.run_all();
    let remote = remote.join().expect("the --database-url replay finished");
    drop(local);
    let mut results = local_results.into_iter().zip(remote);

    let mut rows = String::new();
    let (mut total, mut mapped, mut state_both, mut msg_both) = (0, 0, 0, 0);
    let (mut state_local, mut msg_local, mut state_url, mut msg_url) = (0, 0, 0, 0);
    let mut not_reproduced: Vec<(String, &'static str)> = Vec::new();
    let mut unexpected = Vec::new();
    let mut dates = std::collections::BTreeSet::new();
    for (file, json_text) in FILES {
        let doc: Value = serde_json::from_str(json_text).expect("a recording file is JSON");
        dates.insert(doc["recorded_at"].as_str().unwrap_or("")[..10].to_string());
        for case in doc["cases"].as_array().unwrap() {
            total += 1;
            let name = case["name"].as_str().unwrap();
            let calls = match map_case(case) {
                Mapped::NotReproduced(why) => {
                    not_reproduced.push((format!("{file}/{name}"), why));
                    continue;
                }
                Mapped::Calls(c) => c,
            };
            mapped += 1;
            let (l, u) = results.next().expect("one result per mapped case");
            state_local += l.sqlstate_ok as usize;
            msg_local += l.message_ok as usize;
            state_url += u.sqlstate_ok as usize;
            msg_url += u.message_ok as usize;
            let state = l.sqlstate_ok && u.sqlstate_ok;
            let message = l.message_ok && u.message_ok;
            state_both += state as usize;
            msg_both += message as usize;
            let result = match (state, message) {
                (true, true) => "match",
                (true, false) => "SQLSTATE only",
                _ => "differs",
            };
            let known = KNOWN_DIFFERENCES.iter().find(|(n, _, _)| *n == name);
            match (result, known) {
                ("match", Some(_)) => unexpected.push(format!("{name} now matches: remove it from KNOWN_DIFFERENCES")),
                ("SQLSTATE only", Some((_, "message", _)))
                | ("differs", Some((_, "sqlstate", _)))
                | ("match", None) => {}
                (r, _) => unexpected.push(format!("{name}: {r} (local: {}; --database-url: {})", l.answer, u.answer)),
            }
            let ours = if l.answer == u.answer {
                cell(&l.answer)
            } else {
                format!("{} — **--database-url:** {}", cell(&l.answer), cell(&u.answer))
            };
            let why = known.map(|(_, _, why)| format!(" ({why})")).unwrap_or_default();
            let sql: Vec<String> = calls.iter().map(|c| c.sql.join("; ")).collect();
            rows.push_str(&format!(
                "| {file}/{name} | `{}` | {} | {ours} | {result}{} |\n",
                cell(&sql.join("` → `")),
                cell(&dsql_answer(&calls)),
                cell(&why)
            ));
        }
    }
    let dates: Vec<String> = dates.into_iter().collect();
    let recorded = format!(
        "recorded {} to {}",
        dates.first().cloned().unwrap_or_default(),
        dates.last().cloned().unwrap_or_default()
    );
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for (_, why) in &not_reproduced {
        match reasons.iter_mut().find(|(w, _)| w == why) {
            Some((_, n)) => *n += 1,
            None => reasons.push((why, 1)),
        }
    }
    let reasons: Vec<String> = reasons.iter().map(|(why, n)| format!("{n}: {why}")).collect();
    let known: Vec<String> =
        KNOWN_DIFFERENCES.iter().map(|(name, what, why)| format!("{name} ({what}: {why})")).collect();
    let mut out = format!(
        "# Replaying the real-DSQL recordings\n\n\
         Generated by `tests/dsql_recordings.rs` (`AURORA_DSQL_UPDATE_DOCS=1 cargo test --test dsql_recordings`); do \
         not edit. The {total} cases of the live Aurora DSQL recordings of Dreamescaper/dsql-emulator ({recorded}; \
         vendored with their licence in `tests/dsql_recordings/`) replayed through the MCP tools with \
         `--allow-writes`, in local mode and with `--database-url` on a plain PostgreSQL. Each step is sent as a user \
         would: reads through `readonly_query`, everything else through `transact`, an explicit transaction as one \
         `transact` call. **match**: same outcome, SQLSTATE and message in both modes; **SQLSTATE only**: the message \
         differs; **differs**: the outcome or SQLSTATE differs. A call's answers are separated by →.\n\n\
         {FIGURES_PREFIX} {recorded}: {mapped} of {total} cases map onto the tools; **{state_both} match DSQL's \
         SQLSTATE and {msg_both} its message** in both modes (local: {state_local} / {msg_local}; --database-url: \
         {state_url} / {msg_url}).\n\n\
         {NOT_REPRODUCED_PREFIX} {}.\n\n\
         {DIFFERS_PREFIX} {}.\n\n\
         | Case | Calls | DSQL | Local (and --database-url) | Result |\n|---|---|---|---|---|\n",
        reasons.join("; "),
        if known.is_empty() { "none".to_string() } else { known.join("; ") },
    );
    out.push_str(&rows);
    out.push_str("\n## Not reproduced\n\n| Case | Why |\n|---|---|\n");
    for (name, why) in &not_reproduced {
        out.push_str(&format!("| {name} | {} |\n", cell(why)));
    }
    // The README's fidelity figure is this test's (compared with its line breaks taken as spaces).
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let figure =
        format!("{mapped} map onto the tools, and {state_both} get DSQL's SQLSTATE and {msg_both} its exact message");
    assert!(readme.contains(&figure), "README's fidelity figure is out of date: it must say \"{figure}\"");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/dsql_recordings.md");
    if std::env::var("AURORA_DSQL_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &out).unwrap();
    }
    assert!(unexpected.is_empty(), "cases that changed against KNOWN_DIFFERENCES:\n{}", unexpected.join("\n"));
    let published = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        published == out,
        "docs/dsql_recordings.md is out of date; regenerate it with AURORA_DSQL_UPDATE_DOCS=1 cargo test --test \
         dsql_recordings"
    );
}

#[test]
fn every_recorded_case_maps_or_says_why_not() {
    let mut names = std::collections::HashSet::new();
    let mut n = 0;
    for (_, json_text) in FILES {
        let doc: Value = serde_json::from_str(json_text).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            n += 1;
            names.insert(case["name"].as_str().unwrap().to_string());
            if let Mapped::Calls(calls) = map_case(case) {
                assert!(!calls.is_empty(), "{case} maps onto no call");
            }
        }
    }
    assert_eq!(n, 242, "the vendored recordings hold 242 cases");
    for (name, _) in NOT_REPRODUCED {
        assert!(names.contains(*name), "NOT_REPRODUCED names an unknown case {name}");
    }
    for (name, _) in NEEDS {
        assert!(names.contains(*name), "NEEDS names an unknown case {name}");
    }
    // The transaction shapes: the failing statement is the last one sent, and 25P02 steps are not compared again.
    let doc: Value = serde_json::from_str(FILES[3].1).unwrap();
    let row_cap = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "row_cap").unwrap();
    let Mapped::Calls(calls) = map_case(row_cap) else { panic!("row_cap maps") };
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].sql, vec!["INSERT INTO baseline_bulk SELECT generate_series(1, 3001)".to_string()]);
    assert_eq!(calls[0].dsql.as_ref().unwrap().0, "54000");
    assert_eq!(
        our_error("ERROR 54000: transaction row limit exceeded"),
        ("54000".into(), "transaction row limit exceeded".into())
    );
    assert_eq!(
        our_error(
            "[dsql.R01.truncate] 0A000: unsupported statement: Truncate. Fix: Use DELETE. (statement sql_list[0])"
        ),
        ("0A000".into(), "unsupported statement: Truncate".into())
    );
    // Database text comes sealed as data; the words inside are compared.
    assert_eq!(
        our_error(
            "ERROR 42601: <untrusted-data id=\"a45e3312668d96b9\">syntax error at or near \".\"</untrusted-data \
             id=\"a45e3312668d96b9\">"
        ),
        ("42601".into(), "syntax error at or near \".\"".into())
    );
    assert_eq!(
        common::unseal(
            "a <untrusted-data id=\"1\">x</untrusted-data id=\"1\"> b <untrusted-data id=\"2\">y</untrusted-data id=\"2\">"
        ),
        "a x b y"
    );
}
