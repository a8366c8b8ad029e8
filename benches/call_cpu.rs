//! The server's own CPU work per tool call, counted in instructions: the server runs under valgrind's callgrind
//! against a private PostgreSQL (plain TCP, so TLS is not counted), answers N calls of one kind, and the count of
//! a short run is taken from that of a long one, so start-up and the first calls cancel out. Unlike wall-clock time
//! on a shared machine (±30% between runs here), the count repeats to within ~0.5%, so a change of a few percent
//! in the server's CPU per call is visible. It counts user-space instructions only: not the kernel's work, not
//! waiting, not PostgreSQL.
//!
//! Run: `cargo bench --bench call_cpu` (needs valgrind, e.g. `apt-get install valgrind`, and PostgreSQL's server
//! binaries). `BENCH_SERVER=path` counts another build of the server (to compare two builds); `BENCH_CASES=text`
//! only the cases whose name contains it.

#[path = "../tests/dsql_support/mod.rs"]
#[allow(unused_imports)]
mod dsql_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use dsql_support::PgCluster;

const BIN: &str = env!("CARGO_BIN_EXE_aurora-dsql-mcp-rs");

struct Case {
    name: &'static str,
    /// The request for call number `i` (its id and, for some cases, its text depend on `i`).
    request: fn(u64) -> Value,
    /// Calls in the short and the long run.
    short: u64,
    long: u64,
}

fn tool(id: u64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

const CASES: &[Case] = &[
    Case {
        name: "ping (the MCP hop alone)",
        request: |i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}),
        short: 200,
        long: 1200,
    },
    Case {
        name: "readonly_query SELECT 1 (same text every call)",
        request: |i| tool(i, "readonly_query", json!({"sql": "SELECT 1"})),
        short: 200,
        long: 1200,
    },
    Case {
        name: "readonly_query SELECT n (a new text every call)",
        request: |i| tool(i, "readonly_query", json!({"sql": format!("SELECT {}", i + 2)})),
        short: 200,
        long: 1200,
    },
    Case {
        name: "readonly_query with params",
        request: |i| tool(i, "readonly_query", json!({"sql": "SELECT $1::int + 1 AS n", "params": [i]})),
        short: 200,
        long: 1200,
    },
    Case {
        name: "readonly_query, 500 rows of two columns",
        request: |i| {
            tool(i, "readonly_query", json!({"sql": "SELECT g, 'row ' || g AS label FROM generate_series(1, 500) g"}))
        },
        short: 50,
        long: 250,
    },
    Case {
        name: "transact, 5 INSERTs",
        request: |i| {
            let statements: Vec<String> =
                (0..5).map(|k| format!("INSERT INTO bench_cpu (id, v) VALUES ({}, 'x')", i * 5 + k)).collect();
            tool(i, "transact", json!({"sql_list": statements}))
        },
        short: 100,
        long: 500,
    },
    Case {
        name: "transact, 50 INSERTs",
        request: |i| {
            let statements: Vec<String> = (0..50)
                .map(|k| {
                    format!(
                        "INSERT INTO bench_cpu (id, v) VALUES ({}, 'row {k} of a fifty-row batch')",
                        100_000_000 + i * 50 + k
                    )
                })
                .collect();
            tool(i, "transact", json!({"sql_list": statements}))
        },
        short: 20,
        long: 100,
    },
    Case {
        name: "transact, 1 CREATE TABLE (dsql-lint runs on DDL)",
        request: |i| {
            let ddl = format!(
                "CREATE TABLE bench_ddl_{i} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id text NOT NULL, \
                 name varchar(200), total numeric(12,2), created_at timestamptz DEFAULT now())"
            );
            tool(i, "transact", json!({"sql_list": [ddl]}))
        },
        short: 20,
        long: 100,
    },
];

/// Instructions the server executed (callgrind's total) for `calls` calls of `case`.
fn instructions(url: &str, case: &Case, calls: u64, offset: u64) -> u64 {
    let server = std::env::var("BENCH_SERVER").unwrap_or_else(|_| BIN.to_string());
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(format!("--log-file={}", log.path().display()))
        .arg(&server)
        .args(["--database-url", url, "--pool-size", "1", "--allow-writes"])
        .env("AURORA_DSQL_MCP_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("valgrind");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Writes `message`; reads the answer when one is due (a notification has none).
    let mut send = |message: Value| -> Value {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
        if message.get("id").is_none() {
            return Value::Null;
        }
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
        "capabilities": {}, "clientInfo": {"name": "call_cpu", "version": "1"}}}));
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    for i in 0..calls {
        let answer = send((case.request)(offset + i + 1));
        let failed = answer.get("error").is_some() || answer["result"]["isError"] == json!(true);
        assert!(!failed, "{}: {answer}", case.name);
    }
    drop(stdin);
    child.wait().unwrap();
    let text = std::fs::read_to_string(log.path()).unwrap();
    let collected = text.lines().find_map(|l| l.split("Collected : ").nth(1)).unwrap_or_else(|| panic!("{text}"));
    collected.trim().parse().unwrap()
}

fn main() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("valgrind is not installed (apt-get install valgrind); nothing measured");
        return;
    }
    let only = std::env::var("BENCH_CASES").unwrap_or_default();
    let pg = PgCluster::start_trusting();
    let url = PgCluster::plain_url(pg.port);
    pg.psql("CREATE TABLE bench_cpu (id bigint PRIMARY KEY, v text)");
    println!("| call | instructions per call |\n|---|---|");
    for case in CASES.iter().filter(|c| c.name.contains(&only)) {
        // Each run inserts different keys (the offset), so the INSERTs never collide.
        let short = instructions(&url, case, case.short, 0);
        let long = instructions(&url, case, case.long, 1_000_000);
        let per_call = (long.saturating_sub(short)) / (case.long - case.short);
        println!("| {} | {per_call} |", case.name);
    }
}
