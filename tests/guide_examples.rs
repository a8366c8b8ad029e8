//! Every SQL example in our guides (`steering/*.md`, `POWER.md`) runs as the guide says, in local mode, through
//! the real binary's MCP tools: each guide in a new local sandbox, its ```sql blocks in order, one statement per
//! `transact` call (statements between `BEGIN` and `COMMIT`/`ROLLBACK` in one call, without those two), as a
//! reader would run them. Markers on the block's info string:
//! - ```` ```sql ````: every statement must succeed;
//! - ```` ```sql refused=SQLSTATE ````: every statement must be refused with that SQLSTATE;
//! - ```` ```sql no-run ````: not meant to run (pseudo-SQL such as `SELECT ...`, another engine's SQL).
//!
//! `$n` parameters get example values of the types PostgreSQL infers for them (asked directly of the sandbox);
//! a job id written as a placeholder (`'xyz...'`, `'<job_id>'`) is the job id the guide's previous statement
//! returned. What a guide assumes exists without creating it (its context) is created first, in [`GIVEN`].

mod common;

use std::path::{Path, PathBuf};

use common::{Server, sandbox_dir, text};
use serde_json::{Value, json};

/// Objects a guide uses without creating them: (guide, index of the ```sql block before which they are created,
/// statements run with `--rules off`).
const GIVEN: &[(&str, usize, &[&str])] = &[
    (
        "access-control.md",
        1,
        &[
            "CREATE ROLE app_ro",
            "CREATE TABLE app.customers (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL, display_name text)",
        ],
    ),
    ("dsql-examples.md", 0, &["CREATE SCHEMA app"]),
    (
        "dsql-examples.md",
        6,
        &[
            "CREATE TABLE app.events (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT now())",
        ],
    ),
    (
        "dsql-examples.md",
        10,
        &[
            "CREATE TABLE app.orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL, total numeric(12,2))",
        ],
    ),
    ("migrations.md", 0, &["CREATE TABLE orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid())"]),
    (
        "migrations.md",
        1,
        &[
            "ALTER TABLE orders ADD COLUMN region text",
            "CREATE TABLE events (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT now())",
        ],
    ),
    ("multi-tenant.md", 0, &["CREATE SCHEMA app"]),
    (
        "multi-tenant.md",
        2,
        &[
            "CREATE TABLE app.customers (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), name text NOT NULL, PRIMARY KEY (tenant_id, id))",
        ],
    ),
    // The guide creates app.customers itself in its next block.
    ("multi-tenant.md", 3, &["DROP TABLE app.customers"]),
];

/// One ```sql block: its marker and its text.
struct Block {
    line: usize,
    marker: String,
    sql: String,
}

fn sql_blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut current {
            Some(block) if trimmed.starts_with("```") => {
                out.push(std::mem::replace(block, Block { line: 0, marker: String::new(), sql: String::new() }));
                current = None;
            }
            Some(block) => {
                block.sql.push_str(line);
                block.sql.push('\n');
            }
            None => {
                if let Some(info) = trimmed.strip_prefix("```sql") {
                    current = Some(Block { line: n + 1, marker: info.trim().to_string(), sql: String::new() });
                }
            }
        }
    }
    out
}

/// Splits SQL text into statements at `;` outside quotes, dollar quotes and comments; drops comment-only pieces.
fn statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let (mut out, mut start, mut i, mut code) = (Vec::new(), 0, 0, false);
    let mut push = |piece: &str, code: bool| {
        if code {
            out.push(piece.trim().to_string());
        }
    };
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += sql[i..].find("*/").map_or(b.len() - i, |e| e + 2);
                continue;
            }
            q @ (b'\'' | b'"') => {
                code = true;
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'$' => {
                code = true;
                let tag_end = sql[i + 1..].find('$').map(|e| i + 1 + e);
                if let Some(e) = tag_end.filter(|&e| sql[i + 1..e].chars().all(|c| c.is_alphanumeric() || c == '_')) {
                    let tag = &sql[i..=e];
                    if !tag[1..tag.len() - 1].chars().all(|c| c.is_ascii_digit()) || tag.len() == 2 {
                        let close = sql[e + 1..].find(tag).map_or(b.len(), |c| e + 1 + c + tag.len());
                        i = close;
                        continue;
                    }
                }
            }
            b';' => {
                push(&sql[start..i], code);
                start = i + 1;
                code = false;
            }
            c if !c.is_ascii_whitespace() => code = true,
            _ => {}
        }
        i += 1;
    }
    push(&sql[start..], code);
    out
}

/// An example value, as text, for a parameter of PostgreSQL type `ty` (texts and uuids are new each time, as a
/// reader's values would be, so unique keys hold).
fn example_value(ty: &tokio_postgres::types::Type) -> Value {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let v = match ty.name() {
        "uuid" => uuid::Uuid::new_v4().to_string(),
        "_uuid" => "{}".to_string(),
        "text" | "varchar" | "bpchar" | "name" => format!("example-{}", N.fetch_add(1, Ordering::Relaxed)),
        "json" | "jsonb" => "[\"sale\"]".to_string(),
        "timestamptz" | "timestamp" | "date" => "2026-01-01".to_string(),
        "bool" => "true".to_string(),
        _ => "1".to_string(),
    };
    Value::String(v)
}

/// A direct connection to a guide's sandbox, to ask PostgreSQL which types a statement's parameters have.
struct Types {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Types {
    fn connect(dir: &Path) -> Types {
        use aurora_dsql_mcp_server::emulation::sandbox;
        let socket = sandbox::socket_dir_for(&dir.canonicalize().expect("sandbox dir"));
        let conninfo = format!(
            "host={} port={} user={} dbname=postgres",
            socket.display(),
            sandbox::SANDBOX_PORT,
            sandbox::SANDBOX_USER
        );
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(conn);
            client
        });
        Types { rt, client }
    }

    fn params(&self, sql: &str) -> Result<Vec<Value>, String> {
        let st = self.rt.block_on(self.client.prepare(sql)).map_err(|e| format!("cannot prepare it: {e}"))?;
        Ok(st.params().iter().map(example_value).collect())
    }
}

/// Replaces a job-id placeholder literal with the last job id a statement returned.
fn with_job_id(sql: &str, job: Option<&str>) -> String {
    let Some(job) = job else { return sql.to_string() };
    ["'xyz...'", "'<job_id>'"].iter().fold(sql.to_string(), |s, p| s.replace(p, &format!("'{job}'")))
}

/// Runs one guide in its own sandbox; returns what did not behave as the guide says.
fn run_guide(path: &Path) -> (usize, Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let markdown = std::fs::read_to_string(path).expect("read guide");
    let blocks = sql_blocks(&markdown);
    let mut failures = Vec::new();
    if blocks.is_empty() {
        return (0, failures);
    }
    let dir: PathBuf = sandbox_dir().join(name.trim_end_matches(".md"));
    let local = format!("--local={}", dir.display());
    let mut s = Server::start(&[&local, "--allow-writes"]);
    let mut given = Server::start(&[&local, "--allow-writes", "--rules", "off"]);
    s.rows("SELECT 1 AS up");
    let types = Types::connect(&dir);
    let mut job: Option<String> = None;
    let mut ran = 0;
    for (k, block) in blocks.iter().enumerate() {
        for (_, _, sqls) in GIVEN.iter().filter(|(f, b, _)| *f == name && *b == k) {
            for sql in *sqls {
                given.ok("transact", json!({ "sql_list": [sql] }));
            }
        }
        if block.marker == "no-run" {
            continue;
        }
        let refused = block.marker.strip_prefix("refused=").map(str::to_string);
        assert!(
            refused.is_some() || block.marker.is_empty(),
            "{name}:{}: unknown marker ```sql {} (use no-run or refused=SQLSTATE)",
            block.line,
            block.marker
        );
        // Group BEGIN … COMMIT/ROLLBACK into one call.
        let mut calls: Vec<Vec<String>> = Vec::new();
        let mut open = false;
        for st in statements(&block.sql) {
            let code = st.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            let head = code.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            match head.as_str() {
                "BEGIN" | "START" => {
                    open = true;
                    calls.push(Vec::new());
                }
                "COMMIT" | "ROLLBACK" | "END" if open => open = false,
                _ if open => calls.last_mut().expect("a group").push(st),
                _ => calls.push(vec![st]),
            }
        }
        for call in calls {
            ran += call.len();
            let call: Vec<String> = call.iter().map(|st| with_job_id(st, job.as_deref())).collect();
            let params: Result<Vec<Value>, String> = call
                .iter()
                .map(|st| if st.contains('$') { types.params(st).map(Value::Array) } else { Ok(Value::Null) })
                .collect();
            let where_ = format!("{name}:{} `{}`", block.line, call.join("; "));
            let r = match (&refused, params) {
                (None, Err(e)) => {
                    failures.push(format!("{where_}: {e}"));
                    continue;
                }
                (_, Ok(p)) if p.iter().any(|v| !v.is_null()) => {
                    s.call("transact", json!({"sql_list": call, "params_list": p}))
                }
                _ => s.call("transact", json!({ "sql_list": call })),
            };
            let failed = r["isError"] == json!(true);
            match &refused {
                None if failed => failures.push(format!("{where_}: failed: {}", text(&r))),
                None => {
                    if let Some(id) = r["structuredContent"]["result"][0]["job_id"].as_str() {
                        job = Some(id.to_string());
                    }
                }
                Some(code) if !failed || !text(&r).contains(code.as_str()) => {
                    failures.push(format!("{where_}: the guide says it is refused with {code}; got {}", text(&r)))
                }
                Some(_) => {}
            }
        }
    }
    (ran, failures)
}

#[test]
fn every_sql_example_in_the_guides_runs_as_the_guide_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root.join("steering"))
        .expect("steering/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    guides.push(root.join("POWER.md"));
    let (mut ran, mut failures) = (0, Vec::new());
    for guide in &guides {
        let (n, f) = run_guide(guide);
        ran += n;
        failures.extend(f);
    }
    assert!(ran > 50, "only {ran} example statements found: is the extraction broken?");
    assert!(
        failures.is_empty(),
        "{} of {ran} guide examples do not run as written:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn statements_split_outside_quotes_and_comments() {
    assert_eq!(
        statements(
            "SELECT ';'; -- a; b\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n-- only a comment\n"
        ),
        vec!["SELECT ';'", "-- a; b\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$"]
    );
    assert_eq!(statements("SELECT $1, $2;"), vec!["SELECT $1, $2"]);
}
