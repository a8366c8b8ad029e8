//! Startup figures: the local sandbox on an existing cluster (PostgreSQL not running → ready), joining a running
//! sandbox, and the whole server from spawn to the `initialize` answer.
//! Run: `cargo bench --bench startup` (release build; needs PostgreSQL's server binaries).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aurora_dsql_mcp_server::pool::sandbox::Sandbox;

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
        let mut child = Command::new(bin)
            .env("AURORA_DSQL_MCP_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"bench","version":"0"}}}}}}"#).unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        init.push(t.elapsed());
        drop(stdin);
        child.wait().unwrap();
    }
    println!("server spawn → initialize answer (no database), median of {runs}: {}", ms(median(init)));
    let _ = std::fs::remove_dir_all(&dir);
}
