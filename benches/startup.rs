//! Startup figures: the local sandbox on an existing cluster (PostgreSQL not running → ready), joining a running
//! sandbox, and the whole server from spawn to the `initialize` answer; then warm calls that need no database
//! (`ping`, `dsql_lint` on a small input).
//! Run: `cargo bench --bench startup` (release build; needs PostgreSQL's server binaries).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_dsql_mcp_server::emulation::sandbox::Sandbox;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("adsql-bench-{}", std::process::id()));
    let quiet = |_: &str| {};
    let t = Instant::now();
    let mut first = Sandbox::start(&dir, &quiet).expect("sandbox");
    println!("first run (initdb + start): {}", ms(t.elapsed()));
    first.release().expect("release");
    drop(first);

    let runs = 10;
    let mut cold = Vec::new();
    let mut join = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut a = Sandbox::start(&dir, &quiet).expect("start");
        cold.push(t.elapsed());
        let t = Instant::now();
        let mut b = Sandbox::start(&dir, &quiet).expect("join");
        join.push(t.elapsed());
        b.release().expect("release b");
        a.release().expect("release a");
    }
    println!(
        "start on an existing cluster, median of {runs}: {} (min {}, max {})",
        ms(median(cold.clone())),
        ms(*cold.iter().min().unwrap()),
        ms(*cold.iter().max().unwrap())
    );
    println!("join a running sandbox, median of {runs}: {}", ms(median(join)));

    let bin = env!("CARGO_BIN_EXE_aurora-dsql-mcp-rs");
    let mut init = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut child = spawn(bin);
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"bench","version":"0"}}}}}}"#).unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        init.push(t.elapsed());
        drop(stdin);
        child.wait().unwrap();
    }
    println!("server spawn → initialize answer (no database), median of {runs}: {}", ms(median(init)));
    calls_without_a_database(bin);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server with no database, its stdin and stdout piped, logging errors only.
fn spawn(bin: &str) -> std::process::Child {
    Command::new(bin)
        .env("AURORA_DSQL_MCP_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Warm calls that need no database, back to back on one server: a JSON-RPC `ping` (the MCP hop alone) and
/// `dsql_lint` on `SELECT 1` (a small input, linted on the server's own thread), interleaved.
fn calls_without_a_database(bin: &str) {
    let mut child = spawn(bin);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut exchange = |msg: String| {
        let t = Instant::now();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
        line.clear();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("\"result\"") && !line.contains("\"isError\":true"), "{msg}: {line}");
        t.elapsed()
    };
    // `initialize`, then the `initialized` notification (which has no answer) in the same write.
    exchange(
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}"#
            .to_string(),
    );
    let (runs, mut ping, mut lint) = (3000, Vec::new(), Vec::new());
    for i in 0..runs {
        ping.push(exchange(format!(r#"{{"jsonrpc":"2.0","id":{},"method":"ping"}}"#, 2 * i + 1)));
        lint.push(exchange(format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"dsql_lint","arguments":{{"sql":"SELECT 1"}}}}}}"#,
            2 * i + 2
        )));
    }
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    println!(
        "warm calls without a database, interleaved, median of {runs}: ping {}; dsql_lint `SELECT 1` {}",
        us(median(ping)),
        us(median(lint))
    );
    drop(stdin);
    child.wait().unwrap();
}
