//! Test harness: drives the real server binary over stdio with MCP JSON-RPC, against a throwaway PostgreSQL
//! started by the product's own sandbox code (`--local=DIR`). All servers of one test binary share one sandbox
//! directory under the system temp dir; the last server to exit stops its PostgreSQL.

#![allow(dead_code)]

pub mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_aurora-dsql-mcp-rs");
/// A safety net against a hung server, not a synchronisation device: every read waits for a specific message.
const READ_LIMIT: Duration = Duration::from_secs(120);

/// The sandbox directory shared by this test process. Directories left by earlier, finished runs are removed.
pub fn sandbox_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir();
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if let Some(pid) = name.strip_prefix("adsql-test-").and_then(|p| p.split('-').next())
                    && !PathBuf::from(format!("/proc/{pid}")).exists()
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let exe = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()));
        let dir = base.join(format!("adsql-test-{}-{}", std::process::id(), exe.unwrap_or_default()));
        std::fs::create_dir_all(&dir).expect("create sandbox dir");
        dir
    })
    .clone()
}

pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: i64,
    /// Notifications and other messages seen while waiting for responses.
    pub notifications: Vec<Value>,
    pub init: Value,
}

impl Server {
    /// Start the server with `args` and complete the MCP handshake.
    pub fn start(args: &[&str]) -> Server {
        Self::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut s = Self::spawn(args, env);
        let init = s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "0"}}),
        );
        s.init = init["result"].clone();
        s.notify("notifications/initialized", json!({}));
        s
    }

    /// Start without the handshake (for protocol tests).
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AURORA_DSQL_MCP_LOG", "warn");
        for var in ["CLUSTER", "CLUSTER_ENDPOINT", "REGION", "AWS_REGION", "DATABASE_USER", "AURORA_DSQL_DATABASE_URL"]
        {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start server binary");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, stdin, lines: rx, next_id: 0, notifications: Vec::new(), init: Value::Null }
    }

    /// A server on the shared local sandbox.
    pub fn local(extra: &[&str]) -> Server {
        let dir = format!("--local={}", sandbox_dir().display());
        let mut args = vec![dir.as_str()];
        args.extend_from_slice(extra);
        Server::start(&args)
    }

    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send_raw(&json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string());
    }

    /// Send a request and wait for the response with the same id.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.request_with_id(json!(id), method, params)
    }

    pub fn request_with_id(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send_raw(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string());
        self.wait_for(|m| m.get("id") == Some(&id) && (m.get("result").is_some() || m.get("error").is_some()))
    }

    /// Read messages until one satisfies `pred`; keep the others as notifications.
    pub fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = match self.lines.recv_timeout(READ_LIMIT) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => panic!("server sent nothing for {READ_LIMIT:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("server closed stdout"),
            };
            let msg: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            if pred(&msg) {
                return msg;
            }
            self.notifications.push(msg);
        }
    }

    /// Send a tools/call without waiting for its answer; returns its id (see [`Server::response`]).
    pub fn start_call(&mut self, tool: &str, args: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        let msg =
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
        self.send_raw(&msg.to_string());
        id
    }

    /// The response to request `id` (one sent with [`Server::start_call`]), whole.
    pub fn response(&mut self, id: &Value) -> Value {
        self.wait_for(|m| m.get("id") == Some(id) && (m.get("result").is_some() || m.get("error").is_some()))
    }

    /// Close stdin without waiting for the exit.
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Wait for the process to exit (after [`Server::close_stdin`]).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        wait_with_limit(&mut self.child)
    }

    /// tools/call; returns the `result` object.
    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        let resp = self.request("tools/call", json!({"name": tool, "arguments": args}));
        assert!(resp.get("error").is_none(), "JSON-RPC error for {tool}: {resp}");
        resp["result"].clone()
    }

    /// A tool call that must succeed; returns structuredContent.
    pub fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone());
        assert_eq!(r["isError"], json!(false), "{tool}({args}) failed: {}", text(&r));
        r["structuredContent"].clone()
    }

    /// A tool call that must fail; returns its error text.
    pub fn err(&mut self, tool: &str, args: Value) -> String {
        let r = self.call(tool, args.clone());
        assert_eq!(r["isError"], json!(true), "{tool}({args}) should have failed but returned {r}");
        text(&r)
    }

    /// Rows of a read.
    pub fn rows(&mut self, sql: &str) -> Vec<Value> {
        self.ok("readonly_query", json!({"sql": sql}))["result"].as_array().cloned().unwrap_or_default()
    }

    /// Close stdin and wait for a clean exit; returns the exit status.
    pub fn finish(mut self) -> std::process::ExitStatus {
        self.stdin.take();
        wait_with_limit(&mut self.child)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = wait_with_limit(&mut self.child);
    }
}

fn wait_with_limit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not exit within 60 s after stdin closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

/// A unique, valid table name for a test.
pub fn table(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// The number in column `n` of the first row of a read.
pub fn count(s: &mut Server, sql: &str) -> i64 {
    s.rows(sql)[0]["n"].as_i64().unwrap_or_else(|| panic!("no count in column n: {sql}"))
}

/// Runs `statements` through `seeder` (a server started with `--rules off`, so one call may create many
/// objects), `batch` statements per call.
pub fn seed(seeder: &mut Server, statements: impl IntoIterator<Item = String>, batch: usize) {
    let all: Vec<String> = statements.into_iter().collect();
    for chunk in all.chunks(batch) {
        seeder.ok("transact", json!({ "sql_list": chunk }));
    }
}

/// A connection string for a new, empty database in the shared sandbox (as a plain PostgreSQL reached with
/// `--database-url`). Needs a running sandbox: call it while a `Server::local` that has run a query is alive.
pub fn url_database(prefix: &str) -> String {
    url_database_in(&sandbox_dir(), prefix)
}

/// A new database on the sandbox PostgreSQL of `dir` (a server on `--local dir` must be running), as
/// [`url_database`] makes one on the shared sandbox.
pub fn url_database_in(dir: &std::path::Path, prefix: &str) -> String {
    use aurora_dsql_mcp_server::emulation::sandbox;
    let name = table(prefix);
    let dir = dir.canonicalize().expect("sandbox dir");
    let socket = sandbox::socket_dir_for(&dir);
    let conninfo = |db: &str, user: &str| {
        format!("host={} port={} user={user} dbname={db} sslmode=disable", socket.display(), sandbox::SANDBOX_PORT)
    };
    // The sandbox's own superuser creates the database and gives it to `admin`, the role the server logs in as.
    let admin = conninfo("postgres", sandbox::SANDBOX_SYS_USER);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("connect to the sandbox");
        let conn = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {}", sandbox::SANDBOX_USER))
            .await
            .expect("create database");
        drop(client);
        let _ = conn.await;
    });
    conninfo(&name, sandbox::SANDBOX_USER)
}

/// A server on `url` (see [`url_database`]) with `extra` flags.
pub fn url(url: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--database-url", url];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// The environment variable that sets after how many seconds an emulated async job completes on its own.
pub const JOB_DELAY_VAR: &str = "AURORA_DSQL_LOCAL_JOB_SECONDS";

/// A server on the shared local sandbox whose async jobs complete on their own only after `secs` seconds.
pub fn local_with_job_delay(secs: u64, extra: &[&str]) -> Server {
    let dir = format!("--local={}", sandbox_dir().display());
    let mut args = vec![dir.as_str()];
    args.extend_from_slice(extra);
    Server::start_with_env(&args, &[(JOB_DELAY_VAR, &secs.to_string())])
}

/// A server on `url` whose async jobs complete on their own only after `secs` seconds.
pub fn url_with_job_delay(url: &str, secs: u64, extra: &[&str]) -> Server {
    let mut args = vec!["--database-url", url];
    args.extend_from_slice(extra);
    Server::start_with_env(&args, &[(JOB_DELAY_VAR, &secs.to_string())])
}

/// The job `id`'s row in `sys.jobs`: status, object name, and whether it was updated after it started.
pub fn job_row(s: &mut Server, id: &str) -> Value {
    let r = s.ok(
        "readonly_query",
        json!({"sql": "SELECT status, job_type, object_name, update_time > start_time AS updated_later \
                       FROM sys.jobs WHERE job_id = $1", "params": [id]}),
    );
    r["result"][0].clone()
}

/// DSQL's async-index life cycle (catalog X12) on a server whose jobs do not complete on their own during the
/// test: right after `CREATE UNIQUE INDEX ASYNC` the job is `submitted`, the index is not valid (`ADD CONSTRAINT …
/// USING INDEX` gets `55000 index "<name>" is not valid`, nothing committed) and queries still run; `CALL
/// sys.wait_for_job` completes it, from `transact` or from `readonly_query`, and then the constraint is added.
pub fn async_index_is_not_valid_until_waited_for(s: &mut Server, t: &str) {
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, code text, alt text)")]}));
    s.ok("transact", json!({"sql_list": [format!("INSERT INTO {t} VALUES (1, 'a', 'x'), (2, 'b', 'y')")]}));
    let r = s.ok("transact", json!({"sql_list": [format!("CREATE UNIQUE INDEX ASYNC {t}_code ON {t} (code)")]}));
    let job = r["result"][0]["job_id"].as_str().expect("a job_id row").to_string();
    assert_eq!(
        job_row(s, &job),
        json!({"status": "submitted", "job_type": "INDEX_BUILD", "object_name": format!("{t}_code"), "updated_later": false})
    );
    let add = format!("ALTER TABLE {t} ADD CONSTRAINT {t}_code UNIQUE USING INDEX {t}_code");
    let msg = s.err("transact", json!({"sql_list": [add.clone()]}));
    assert!(msg.starts_with("ERROR 55000: ") && msg.contains(&format!("index \"{t}_code\" is not valid")), "{msg}");
    assert!(msg.contains(&job) && msg.contains("sys.wait_for_job"), "names the job and how to wait: {msg}");
    // The refusal did not complete the job, and queries run meanwhile.
    assert_eq!(job_row(s, &job)["status"], "submitted");
    assert_eq!(s.rows(&format!("SELECT id FROM {t} WHERE code = 'b'")), vec![json!({"id": 2})]);
    let constraints = format!("SELECT conname FROM pg_constraint WHERE conrelid = '{t}'::regclass AND contype = 'u'");
    assert_eq!(s.rows(&constraints), Vec::<Value>::new());
    // Waiting completes the job; then the constraint can use the index.
    s.ok("transact", json!({"sql_list": [format!("CALL sys.wait_for_job('{job}')")]}));
    assert_eq!(
        job_row(s, &job),
        json!({"status": "completed", "job_type": "INDEX_BUILD", "object_name": format!("{t}_code"), "updated_later": true})
    );
    s.ok("transact", json!({"sql_list": [add]}));
    assert_eq!(s.rows(&constraints), vec![json!({"conname": format!("{t}_code")})]);
    // The same through a read-only call: waiting there completes the job too (before the call's transaction).
    let r = s.ok("transact", json!({"sql_list": [format!("CREATE UNIQUE INDEX ASYNC ON {t} (alt)")]}));
    let job = r["result"][0]["job_id"].as_str().expect("a job_id row").to_string();
    // An unnamed index's job names the index PostgreSQL chose.
    assert_eq!(job_row(s, &job)["object_name"], json!(format!("{t}_alt_idx")));
    let add = format!("ALTER TABLE {t} ADD CONSTRAINT {t}_alt UNIQUE USING INDEX {t}_alt_idx");
    let msg = s.err("transact", json!({"sql_list": [add.clone()]}));
    assert!(msg.contains("55000") && msg.contains(&format!("index \"{t}_alt_idx\" is not valid")), "{msg}");
    s.ok("readonly_query", json!({"sql": format!("CALL sys.wait_for_job('{job}')")}));
    assert_eq!(job_row(s, &job)["status"], "completed");
    s.ok("transact", json!({"sql_list": [add]}));
}

/// The background rule on a server whose jobs complete at the first call that starts after 0 seconds: the call
/// that submits a job does not complete it (its own transaction records it `submitted`), the next call does,
/// before it runs, so that call already finds the index valid.
pub fn async_job_completes_at_the_next_call_after_its_delay(s: &mut Server, t: &str) {
    s.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, code text)")]}));
    let r = s.ok("transact", json!({"sql_list": [format!("CREATE UNIQUE INDEX ASYNC {t}_code ON {t} (code)")]}));
    let job = r["result"][0]["job_id"].as_str().expect("a job_id row").to_string();
    // Completed by a later transaction than the one that submitted it (update_time after start_time).
    assert_eq!(
        job_row(s, &job),
        json!({"status": "completed", "job_type": "INDEX_BUILD", "object_name": format!("{t}_code"), "updated_later": true})
    );
    s.ok(
        "transact",
        json!({"sql_list": [format!("ALTER TABLE {t} ADD CONSTRAINT {t}_code UNIQUE USING INDEX {t}_code")]}),
    );
}

/// `text` without the untrusted-data seals the server puts around database text (`<untrusted-data id="…">` …
/// `</untrusted-data id="…">`): the words inside, for comparing with DSQL's
/// (the seal's id is random per answer).
pub fn unseal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let next_seal =
        |r: &str| [r.find("<untrusted-data id=\""), r.find("</untrusted-data id=\"")].into_iter().flatten().min();
    while let Some(at) = next_seal(rest) {
        out.push_str(&rest[..at]);
        match rest[at..].find("\">") {
            Some(end) => rest = &rest[at + end + 2..],
            None => {
                rest = &rest[at..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The per-request `_meta` of a stateless 2026-07-28 client, able to answer form elicitations when `elicits`.
pub fn modern_meta(elicits: bool) -> Value {
    let capabilities = if elicits { json!({"elicitation": {"form": {}}}) } else { json!({}) };
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
           "io.modelcontextprotocol/clientInfo": {"name": "aurora-dsql-mcp-tests", "version": "0"},
           "io.modelcontextprotocol/clientCapabilities": capabilities})
}

/// A 2026-07-28 `transact` call; with `answer`, the `requestState` of an earlier `input_required` result and the
/// user's reply to its `confirm_destructive` question. Returns the result.
pub fn modern_transact(s: &mut Server, elicits: bool, args: Value, answer: Option<(&Value, Value)>) -> Value {
    let mut params = json!({"_meta": modern_meta(elicits), "name": "transact", "arguments": args});
    if let Some((state, reply)) = answer {
        params["requestState"] = state.clone();
        params["inputResponses"] = json!({"confirm_destructive": reply});
    }
    let r = s.request("tools/call", params);
    assert!(r.get("error").is_none(), "{r}");
    r["result"].clone()
}
