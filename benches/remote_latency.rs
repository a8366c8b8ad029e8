//! What a tool call costs against a cluster that is far away: the server in DSQL mode (TLS, IAM token, verified
//! certificate through `--hostaddr`) and, when installed, AWS's Python server, both behind the same delay proxy in
//! front of a TLS PostgreSQL. Prints the median latency of warm calls in round trips (latency / RTT), and the
//! localhost figures (ours and raw tokio-postgres connected directly; the Python server, whose port is fixed, through
//! a pass-through proxy, and ours that way too), each next to raw tokio-postgres doing the same database work (the
//! floor), and the same work hand-encoded with one `Sync` for the whole batch (what tokio-postgres cannot send).
//!
//! Run: `cargo bench --bench remote_latency`. Needs PostgreSQL's server binaries and port 5432 free (the Python
//! server hard-codes it). Python server: `python3 -m venv /tmp/venv-dsql && /tmp/venv-dsql/bin/pip install
//! awslabs.aurora-dsql-mcp-server==1.1.4`, then `AURORA_DSQL_PYTHON_SERVER=/tmp/venv-dsql/bin/awslabs.aurora-dsql-mcp-server`.
//! `BENCH_RTT_MS` (default 20) sets the simulated round trip, `BENCH_RUNS` (default 15) the calls per case,
//! `BENCH_SERVER` the server binary (default: this build's), `BENCH_CASES=text` only the cases whose name contains
//! it (e.g. `"50 INSERTs"`, for profiling).

// Both files allow dead_code themselves (an outer allow too is a clippy error: duplicated attribute).
#[path = "../tests/dsql_support/mod.rs"]
#[allow(unused_imports)]
mod dsql_support;
#[path = "../tests/common/proxy.rs"]
mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use dsql_support::{DSQL_NAME, PgCluster};
use proxy::Proxy;

const BIN: &str = env!("CARGO_BIN_EXE_aurora-dsql-mcp-rs");

/// A minimal MCP client over a child's stdio.
struct Client {
    child: Child,
    stdin: ChildStdin,
    /// Read on the calling thread: a reader thread handing lines over a channel would add a thread wake-up to every
    /// measured call.
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Client {
    fn start(cmd: &mut Command) -> Client {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut c = Client { child, stdin, stdout, next_id: 0 };
        c.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}),
        );
        c.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        c
    }

    fn send(&mut self, msg: Value) {
        writeln!(self.stdin, "{msg}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).expect("read the server's stdout") > 0,
                "the server closed stdout"
            );
            let msg: Value = serde_json::from_str(&line).expect("json");
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    /// A tools/call; returns its latency, and panics if it failed.
    fn call(&mut self, tool: &str, args: &Value) -> Duration {
        let t = Instant::now();
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        let took = t.elapsed();
        let result = &r["result"];
        assert!(result["isError"] != json!(true) && r.get("error").is_none(), "{tool}({args}) failed: {r}");
        took
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Case {
    name: &'static str,
    tool: &'static str,
    args: Box<dyn Fn(usize) -> Value>,
}

fn inserts(n: usize, params: bool) -> Box<dyn Fn(usize) -> Value> {
    Box::new(move |run| {
        let sql: Vec<String> = (0..n)
            .map(|i| {
                // Distinct per case (n) and per run, so no two calls insert the same key.
                let id = n * 10_000_000 + run * 1000 + i + if params { 500 } else { 0 };
                if params {
                    "INSERT INTO bench_items (id, name) VALUES (%s, %s)".to_string()
                } else {
                    format!("INSERT INTO bench_items (id, name) VALUES ({id}, 'item {id}')")
                }
            })
            .collect();
        if params {
            let p: Vec<Value> =
                (0..n).map(|i| json!([(n * 10_000_000 + run * 1000 + i + 500).to_string(), "item"])).collect();
            json!({"sql_list": sql, "params_list": p})
        } else {
            json!({"sql_list": sql})
        }
    })
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "readonly_query SELECT 1",
            tool: "readonly_query",
            args: Box::new(|_| json!({"sql": "SELECT 1"})),
        },
        Case {
            name: "readonly_query with params",
            tool: "readonly_query",
            args: Box::new(|_| json!({"sql": "SELECT name FROM bench_items WHERE id = %s", "params": ["1"]})),
        },
        Case {
            name: "transact, 1 DDL",
            tool: "transact",
            args: Box::new(
                |run| json!({"sql_list": [format!("CREATE TABLE bench_ddl_{run}_{} (id int PRIMARY KEY)", std::process::id())]}),
            ),
        },
        Case { name: "transact, 5 INSERTs", tool: "transact", args: inserts(5, false) },
        Case { name: "transact, 50 INSERTs", tool: "transact", args: inserts(50, false) },
        Case { name: "get_schema", tool: "get_schema", args: Box::new(|_| json!({"table_name": "bench_items"})) },
    ]
}

/// Median latency of each case, plus the first call after start, for one server command.
fn measure(label: &str, mut command: impl FnMut() -> Command, runs: usize, offset: usize) -> Vec<(String, Duration)> {
    let mut out = Vec::new();
    // The first call: spawn, initialize, then at once a query (connection set-up included, unless warmed).
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let mut c = Client::start(&mut command());
        firsts.push(c.call("readonly_query", &json!({"sql": "SELECT 1"})));
    }
    out.push(("first call after start".to_string(), median(firsts)));
    let mut c = Client::start(&mut command());
    c.call("readonly_query", &json!({"sql": "SELECT 1"}));
    // BENCH_CASES=text: only the cases whose name contains it (profiling one kind of call).
    let only = std::env::var("BENCH_CASES").unwrap_or_default();
    for case in cases().into_iter().filter(|c| c.name.contains(only.as_str())) {
        let mut times = Vec::new();
        for run in 0..runs {
            let args = (case.args)(offset + run);
            times.push(c.call(case.tool, &args));
        }
        out.push((case.name.to_string(), median(times)));
    }
    eprintln!("{label}: done");
    out
}

/// A raw tokio-postgres connection of the kind the server opens in DSQL mode (TLS verified against the test CA,
/// `--hostaddr`), driven by a task on the current runtime.
async fn raw_connect(pg: &PgCluster, port: u16) -> tokio_postgres::Client {
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(pg));
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(DSQL_NAME).hostaddr("127.0.0.1".parse().unwrap()).port(port).user("postgres").dbname("postgres");
    cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
    let (client, conn) = cfg.connect(tls).await.expect("raw connect");
    tokio::spawn(conn);
    client
}

/// What the database and the network cost without our server: medians of raw tokio-postgres calls (a current-thread
/// runtime, requests pipelined the way the server sends them) on the same kind of connection. Returns, in order:
/// `SELECT 1` alone; `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK`; `BEGIN`, 50 INSERTs, `COMMIT`; the second after
/// 0.3 ms of idle connection.
fn raw_floors(pg: &PgCluster, port: u16, runs: usize, offset: usize) -> [Duration; 4] {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = raw_connect(pg, port).await;
        let client = &client;
        let mut single = Vec::new();
        let mut wrapped = Vec::new();
        let mut paused = Vec::new();
        let mut fifty = Vec::new();
        for run in 0..runs {
            // The same three requests after the connection sat idle for 0.3 ms, as it does between an MCP client's
            // calls (the JSON-RPC exchange, our checks): the proxy's threads and PostgreSQL's backend are asleep when
            // the requests arrive, and waking them costs what it costs any server that is not kept busy.
            std::thread::sleep(Duration::from_micros(300));
            paused.push(read_only_select_1(client).await);

            let t = Instant::now();
            client.query_typed("SELECT 1", &[]).await.unwrap();
            single.push(t.elapsed());

            wrapped.push(read_only_select_1(client).await);

            let inserts: Vec<String> = (0..50)
                .map(|i| {
                    let id = 900_000_000 + (offset + run) * 1000 + i;
                    format!("INSERT INTO bench_items (id, name) VALUES ({id}, 'item {id}')")
                })
                .collect();
            let t = Instant::now();
            let statements = inserts.iter().map(|sql| {
                client.query_typed_raw(sql.as_str(), Vec::<(Option<i32>, tokio_postgres::types::Type)>::new())
            });
            let (begin, results, commit) = tokio::join!(
                client.batch_execute("BEGIN"),
                futures::future::try_join_all(statements),
                client.batch_execute("COMMIT")
            );
            begin.unwrap();
            for stream in results.unwrap() {
                futures::pin_mut!(stream);
                while let Some(row) = futures::StreamExt::next(&mut stream).await {
                    row.unwrap();
                }
            }
            commit.unwrap();
            fifty.push(t.elapsed());
        }
        [median(single), median(wrapped), median(fifty), median(paused)]
    })
}

/// What the same work would cost with **one `Sync` for the whole batch**, which tokio-postgres cannot send: it ends
/// every request with its own `Sync`, so PostgreSQL answers and flushes each statement separately (rust-postgres
/// issue 1213). Hand-encoded extended-protocol messages on a TLS connection of the same kind through the same proxy.
/// Returns the medians of: `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK`; `BEGIN`, 50 INSERTs, `COMMIT`.
fn one_sync_floors(pg: &PgCluster, port: u16, runs: usize, offset: usize) -> [Duration; 2] {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        // SSLRequest, then TLS verified against the test CA under the cluster's name.
        tcp.write_all(&[0, 0, 0, 8, 4, 210, 22, 47]).await.unwrap();
        assert_eq!(tcp.read_u8().await.unwrap(), b'S', "the server refused TLS");
        let name = rustls::pki_types::ServerName::try_from(DSQL_NAME).unwrap();
        let mut conn =
            tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls_config(pg))).connect(name, tcp).await.unwrap();
        let mut startup = Vec::new();
        startup.extend_from_slice(&196_608u32.to_be_bytes());
        for part in ["user", "postgres", "database", "postgres", ""] {
            startup.extend_from_slice(part.as_bytes());
            startup.push(0);
        }
        let mut first = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
        first.extend_from_slice(&startup);
        conn.write_all(&first).await.unwrap();
        let mut backend = Backend::default();
        backend.until_ready(&mut conn).await;

        let mut read_only = Vec::new();
        let mut fifty = Vec::new();
        for run in 0..runs {
            let batch = one_sync_batch(&["BEGIN READ ONLY", "SELECT 1", "ROLLBACK"]);
            let t = Instant::now();
            conn.write_all(&batch).await.unwrap();
            assert_eq!(backend.until_ready(&mut conn).await, 3);
            read_only.push(t.elapsed());

            let mut statements = vec!["BEGIN".to_string()];
            statements.extend((0..50).map(|i| {
                let id = 800_000_000 + (offset + run) * 1000 + i;
                format!("INSERT INTO bench_items (id, name) VALUES ({id}, 'item {id}')")
            }));
            statements.push("COMMIT".into());
            let batch = one_sync_batch(&statements.iter().map(String::as_str).collect::<Vec<_>>());
            let t = Instant::now();
            conn.write_all(&batch).await.unwrap();
            assert_eq!(backend.until_ready(&mut conn).await, 52);
            fifty.push(t.elapsed());
        }
        [median(read_only), median(fifty)]
    })
}

/// Parse, Bind, Describe and Execute of each unnamed statement, then a single Sync.
fn one_sync_batch(statements: &[&str]) -> Vec<u8> {
    fn message(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
        out.push(kind);
        out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(body);
    }
    let mut out = Vec::new();
    for sql in statements {
        let mut parse = vec![0u8];
        parse.extend_from_slice(sql.as_bytes());
        parse.extend_from_slice(&[0, 0, 0]);
        message(&mut out, b'P', &parse);
        message(&mut out, b'B', &[0, 0, 0, 0, 0, 0, 0, 0]);
        message(&mut out, b'D', &[b'P', 0]);
        message(&mut out, b'E', &[0, 0, 0, 0, 0]);
    }
    message(&mut out, b'S', &[]);
    out
}

/// Reads the server's messages; counts completed commands up to the next ReadyForQuery, panicking on an error.
#[derive(Default)]
struct Backend {
    buf: Vec<u8>,
}

impl Backend {
    async fn until_ready(&mut self, conn: &mut (impl tokio::io::AsyncRead + Unpin)) -> usize {
        use tokio::io::AsyncReadExt;
        let mut completed = 0;
        loop {
            while self.buf.len() >= 5 {
                let len = u32::from_be_bytes(self.buf[1..5].try_into().unwrap()) as usize;
                if self.buf.len() < 1 + len {
                    break;
                }
                let kind = self.buf[0];
                assert_ne!(kind, b'E', "one-Sync batch failed: {}", String::from_utf8_lossy(&self.buf[5..1 + len]));
                self.buf.drain(..1 + len);
                match kind {
                    b'C' => completed += 1,
                    b'Z' => return completed,
                    _ => {}
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `readonly_query SELECT 1` against raw tokio-postgres, **interleaved**: each of our calls is followed at once by a
/// raw `SELECT 1` and a raw `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK` on a connection of the same kind (TLS, direct),
/// so all three see the same machine from moment to moment (measured one after the other, the medians of this 2-core
/// machine drift by ±50% between runs). Returns the medians of: ours; raw `SELECT 1`; raw three requests; and of the
/// paired differences ours − raw `SELECT 1` and ours − raw three requests.
fn interleaved_select_1(pg: &PgCluster, port: u16, runs: usize) -> Interleaved {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = rt.block_on(raw_connect(pg, port));
    let mut ours_client = Client::start(&mut ours(pg, port)());
    let select_1 = json!({"sql": "SELECT 1"});
    ours_client.call("readonly_query", &select_1);
    let mut rounds: Vec<[Duration; 4]> = Vec::with_capacity(runs);
    for round in 0..runs {
        let o = ours_client.call("readonly_query", &select_1);
        // A text the server has never seen: its checks cannot be reused (`sql::cache`).
        let new_text = ours_client.call("readonly_query", &json!({"sql": format!("SELECT {}", round + 2)}));
        let s = rt.block_on(async {
            let t = Instant::now();
            client.query_typed("SELECT 1", &[]).await.unwrap();
            t.elapsed()
        });
        let w = rt.block_on(read_only_select_1(&client));
        rounds.push([o, new_text, s, w]);
    }
    let column = |f: &dyn Fn(&[Duration; 4]) -> Duration| median(rounds.iter().map(f).collect());
    Interleaved {
        ours: column(&|r| r[0]),
        ours_new_text: column(&|r| r[1]),
        single: column(&|r| r[2]),
        three: column(&|r| r[3]),
        gap_single: column(&|r| r[0].saturating_sub(r[2])),
        gap_three: column(&|r| r[0].saturating_sub(r[3])),
        gap_new_text: column(&|r| r[1].saturating_sub(r[2])),
    }
}

/// Medians of [`interleaved_select_1`]: each call, and the paired differences.
struct Interleaved {
    ours: Duration,
    ours_new_text: Duration,
    single: Duration,
    three: Duration,
    gap_single: Duration,
    gap_three: Duration,
    gap_new_text: Duration,
}

/// `BEGIN READ ONLY`, `SELECT 1` and `ROLLBACK` pipelined, as the server sends `readonly_query`; how long it took.
async fn read_only_select_1(client: &tokio_postgres::Client) -> Duration {
    let t = Instant::now();
    let (a, b, c) = tokio::join!(
        client.batch_execute("BEGIN READ ONLY"),
        client.query_typed("SELECT 1", &[]),
        client.batch_execute("ROLLBACK")
    );
    a.and(b.map(drop)).and(c).unwrap();
    t.elapsed()
}

/// TLS trusting only the test cluster's CA.
fn tls_config(pg: &PgCluster) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types_certs(&std::fs::read(&pg.ca_file).unwrap()) {
        roots.add(cert).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn rustls_pki_types_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem).map(|c| c.unwrap()).collect()
}

fn ours(pg: &PgCluster, port: u16) -> impl FnMut() -> Command {
    let ca = pg.ca_file.clone();
    move || {
        // BENCH_SERVER: another build of the server, to compare two builds with the same bench.
        let mut cmd = Command::new(std::env::var("BENCH_SERVER").unwrap_or_else(|_| BIN.to_string()));
        cmd.args(["--cluster_endpoint", &format!("{DSQL_NAME}:{port}"), "--region", "us-east-1"])
            .args(["--database_user", "postgres", "--hostaddr", "127.0.0.1", "--allow-writes"])
            .arg("--ssl-root-cert")
            .arg(&ca)
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCHEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "bench/secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AURORA_DSQL_MCP_LOG", "error");
        cmd
    }
}

fn python(exe: String) -> impl FnMut() -> Command {
    move || {
        let mut cmd = Command::new(&exe);
        cmd.args(["--cluster_endpoint", "127.0.0.1", "--region", "us-east-1", "--database_user", "postgres"])
            .arg("--allow-writes")
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCHEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "bench/secret")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if let Some(dir) = std::path::Path::new(&exe).parent() {
            let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
            cmd.env("PATH", path);
        }
        cmd
    }
}

fn main() {
    let rtt_ms: u64 = std::env::var("BENCH_RTT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let py = std::env::var("AURORA_DSQL_PYTHON_SERVER").ok();
    let pg = PgCluster::start_trusting();
    pg.psql(
        "CREATE TABLE bench_items (id int PRIMARY KEY, name text NOT NULL); INSERT INTO bench_items VALUES (1, 'one')",
    );
    let rtt = Duration::from_millis(rtt_ms);

    // Far away: every byte waits rtt/2 each way.
    let far = Proxy::start_on(5432, pg.port, rtt / 2);
    let ours_far = measure("ours, remote", ours(&pg, far.port), runs, 10_000);
    // How many times our client started sending again after the server had answered, per warm SELECT 1.
    {
        let mut c = Client::start(&mut ours(&pg, far.port)());
        c.call("readonly_query", &json!({"sql": "SELECT 1"}));
        let before = far.counters();
        for _ in 0..runs {
            c.call("readonly_query", &json!({"sql": "SELECT 1"}));
        }
        let turns = far.counters().turns - before.turns;
        eprintln!("client send flights per warm readonly_query (TLS): {:.2}", turns as f64 / runs as f64);
    }
    let python_far = py.clone().map(|exe| measure("python, remote", python(exe), runs, 20_000));
    let raw_far = raw_floors(&pg, far.port, runs, 50_000);
    let one_sync_far = one_sync_floors(&pg, far.port, runs, 50_000);
    drop(far);

    println!(
        "\n## Against a cluster {rtt_ms} ms away (RTT {rtt_ms} ms; median of {runs} warm calls; round trips = latency / RTT)\n"
    );
    println!("| call | ours | Python server 1.1.4 |");
    println!("|---|---|---|");
    for (i, (name, d)) in ours_far.iter().enumerate() {
        let rt =
            |d: &Duration| format!("{:.2} RTT ({:.1} ms)", d.as_secs_f64() / rtt.as_secs_f64(), d.as_secs_f64() * 1e3);
        let theirs = python_far.as_ref().map(|p| rt(&p[i].1)).unwrap_or_else(|| "not run".into());
        println!("| {name} | {} | {theirs} |", rt(d));
    }
    let rt = |d: &Duration| format!("{:.2} RTT ({:.1} ms)", d.as_secs_f64() / rtt.as_secs_f64(), d.as_secs_f64() * 1e3);
    println!(
        "\nThe floor without our server (raw tokio-postgres, current-thread runtime, same proxy and TLS): `SELECT 1` {}; \
         `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK` pipelined {}; `BEGIN`, 50 INSERTs, `COMMIT` pipelined {}",
        rt(&raw_far[0]),
        rt(&raw_far[1]),
        rt(&raw_far[2])
    );
    println!(
        "\nWith one `Sync` for the whole batch (hand-encoded; tokio-postgres cannot send it), same proxy and TLS: \
         `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK` {}; `BEGIN`, 50 INSERTs, `COMMIT` {}",
        rt(&one_sync_far[0]),
        rt(&one_sync_far[1])
    );

    // Localhost, no delay. Ours and raw tokio-postgres connect to PostgreSQL directly, with the same TLS (the issue's
    // measure: no proxy). The Python server hard-codes port 5432, so it is reached through a pass-through proxy on
    // that port; ours is measured through it too, for a like-for-like comparison with it.
    let ours_direct = measure("ours, localhost", ours(&pg, pg.port), runs * 4, 30_000);
    let raw = raw_floors(&pg, pg.port, runs * 4, 60_000);
    let one_sync = one_sync_floors(&pg, pg.port, runs * 4, 60_000);
    let near = Proxy::start_on(5432, pg.port, Duration::ZERO);
    let ours_near = measure("ours, localhost through the proxy", ours(&pg, near.port), runs * 4, 35_000);
    let python_near = py.map(|exe| measure("python, localhost through the proxy", python(exe), runs, 40_000));
    drop(near);
    println!("\n## Localhost (TLS, no delay; median)\n");
    println!("| call | ours, direct | ours, through a pass-through proxy | Python server 1.1.4, through the proxy |");
    println!("|---|---|---|---|");
    let ms = |d: &Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    for (i, (name, d)) in ours_direct.iter().enumerate() {
        let theirs = python_near
            .as_ref()
            .map(|p| format!("{:.2} ms", p[i].1.as_secs_f64() * 1e3))
            .unwrap_or_else(|| "not run".into());
        println!("| {name} | {} | {} | {theirs} |", ms(d), ms(&ours_near[i].1));
    }
    println!(
        "\nraw tokio-postgres on the same kind of connection (TLS, direct): `SELECT 1` (query_typed) {}; \
         `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK` pipelined {} (after 0.3 ms idle: {}); `BEGIN`, 50 INSERTs, `COMMIT` \
         pipelined {}",
        ms(&raw[0]),
        ms(&raw[1]),
        ms(&raw[3]),
        ms(&raw[2])
    );
    println!(
        "\nWith one `Sync` for the whole batch (hand-encoded): `BEGIN READ ONLY`, `SELECT 1`, `ROLLBACK` {}; `BEGIN`, \
         50 INSERTs, `COMMIT` {}",
        ms(&one_sync[0]),
        ms(&one_sync[1])
    );
    let i = interleaved_select_1(&pg, pg.port, runs * 10);
    println!(
        "\nInterleaved, {} rounds (ours, then raw at once, same kind of connection, direct): `readonly_query SELECT 1` \
         {}; `readonly_query` of a text never sent before (`SELECT n`) {}; raw `SELECT 1` {}; raw `BEGIN READ ONLY`, \
         `SELECT 1`, `ROLLBACK` {}. Median of the paired differences: ours − raw `SELECT 1` {}; ours − raw three \
         requests {}; ours with a new text − raw `SELECT 1` {}",
        runs * 10,
        ms(&i.ours),
        ms(&i.ours_new_text),
        ms(&i.single),
        ms(&i.three),
        ms(&i.gap_single),
        ms(&i.gap_three),
        ms(&i.gap_new_text)
    );
}
