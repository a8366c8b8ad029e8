//! Logs carry no secret at any level, through the real binary with its stderr captured: at every
//! `AURORA_DSQL_MCP_LOG` level (and at `trace` with rmcp, aws_sigv4, tokio_postgres, rustls and hyper named), a
//! session whose bound values fail with 22P02 and 23505 and succeed once, and IAM token generation with fake
//! deterministic AWS credentials (the `token` subcommand, and a cluster-mode connection to a local TLS PostgreSQL
//! that signs a token and sends it as the password). Neither a bound value, the secret key, the session token nor
//! any `X-Amz-Signature` / `X-Amz-Security-Token` value appears on stderr; stdout carries only MCP and no
//! credential.

mod dsql_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use dsql_support::{DSQL_NAME, PgCluster};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aurora-dsql-mcp-rs");
const SECRET_KEY: &str = "logtest/Secret+Key/EXAMPLEKEY0123456789ab";
const SESSION_TOKEN: &str = "logtestSessionToken/+=EXAMPLE0123456789abcdefXYZ";
const BOUND_22P02: &str = "secret-22p02-bound-value";
const BOUND_23505: &str = "secret-23505-bound-value";
const BOUND_OK: &str = "secret-ok-bound-value";

const LEVELS: &[&str] = &[
    "error",
    "warn",
    "info",
    "debug",
    "trace",
    "trace,rmcp=trace,aws_sigv4=trace,aws_config=trace,tokio_postgres=trace,rustls=trace,hyper=trace,aws_smithy_runtime=trace",
];

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    next_id: i64,
}

impl Session {
    fn start(args: &[&str], level: &str) -> Session {
        let mut child = Command::new(BIN)
            .args(args)
            .env("AURORA_DSQL_MCP_LOG", level)
            .env("AWS_ACCESS_KEY_ID", "AKIDLOGTESTEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("CLUSTER_ENDPOINT")
            .env_remove("AURORA_DSQL_DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Session { child, stdin, lines: rx, stdout: Vec::new(), next_id: 0 };
        s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        );
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, msg: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{msg}").expect("write");
        stdin.flush().expect("flush");
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(120)).expect("an answer (safety limit)");
            self.stdout.push(line.clone());
            let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not MCP ({e}): {line}"));
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    fn call(&mut self, tool: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": args}))["result"].clone()
    }

    /// Ends the session; returns (stdout lines, stderr).
    fn finish(mut self) -> (Vec<String>, String) {
        self.stdin.take();
        let mut stderr = String::new();
        self.child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
        self.child.wait().expect("exit");
        self.stdout.extend(self.lines.try_iter());
        (self.stdout, stderr)
    }
}

fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

/// No credential anywhere in `out`: the secret key, the session token (as is and percent-encoded), and no
/// signature or security-token value after its key.
fn assert_no_credentials(out: &str, what: &str) {
    let encoded: String = SESSION_TOKEN.replace('/', "%2F").replace('+', "%2B").replace('=', "%3D");
    for secret in [SECRET_KEY, SESSION_TOKEN, &encoded] {
        assert!(!out.contains(secret), "{what} carries a credential ({secret}):\n{out}");
    }
    let lower = out.to_ascii_lowercase();
    for key in ["x-amz-signature=", "x-amz-security-token=", "signature="] {
        for (at, _) in lower.match_indices(key) {
            let value = &out[at + key.len()..];
            assert!(
                value.starts_with("[redacted]") || value.is_empty() || value.starts_with(['&', ' ', '"', '\n']),
                "{what} carries a {key} value: …{}",
                &out[at..(at + 80).min(out.len())]
            );
        }
    }
}

fn assert_no_bound_values(out: &str, what: &str) {
    for value in [BOUND_22P02, BOUND_23505, BOUND_OK] {
        assert!(!out.contains(value), "{what} carries the bound value {value}:\n{out}");
    }
}

#[test]
fn no_bound_value_or_credential_reaches_the_log_at_any_level() {
    let pg = PgCluster::start_trusting();
    let url = PgCluster::plain_url(pg.port);
    for (i, level) in LEVELS.iter().enumerate() {
        let mut s = Session::start(&["--database-url", &url, "--allow-writes", "--rules", "off"], level);
        let table = format!("log_secrets_{i}");
        let created = s.call("transact", json!({"sql_list": [format!("CREATE TABLE {table} (k text PRIMARY KEY)")]}));
        assert_eq!(created["isError"], json!(false), "{created}");
        let cast = s.call("readonly_query", json!({"sql": "SELECT $1::int AS n", "params": [BOUND_22P02]}));
        assert!(text(&cast).contains("22P02"), "{cast}");
        let insert =
            json!({"sql_list": [format!("INSERT INTO {table} (k) VALUES ($1)")], "params_list": [[BOUND_23505]]});
        assert_eq!(s.call("transact", insert.clone())["isError"], json!(false));
        let duplicate = s.call("transact", insert);
        assert!(text(&duplicate).contains("23505"), "{duplicate}");
        let ok = s.call("readonly_query", json!({"sql": "SELECT $1::text AS v", "params": [BOUND_OK]}));
        assert_eq!(ok["structuredContent"]["result"][0]["v"], json!(BOUND_OK), "{ok}");
        let (stdout, stderr) = s.finish();
        assert_no_bound_values(&stderr, &format!("stderr at {level}"));
        assert_no_credentials(&stderr, &format!("stderr at {level}"));
        assert_no_credentials(&stdout.join("\n"), &format!("stdout at {level}"));
        if level.contains("rmcp=trace") {
            // The named crates really spoke at trace (the assertions above are not vacuous): rmcp's events about
            // each message were written, with the message itself elided.
            assert!(stderr.contains("TRACE") && stderr.contains("request=<elided>"), "{stderr}");
        }
    }
}

#[test]
fn tokens_signed_with_fake_credentials_never_reach_the_log() {
    let pg = PgCluster::start();
    let endpoint = format!("{DSQL_NAME}:{}", pg.port);
    let ca = pg.ca_file.display().to_string();
    for level in LEVELS {
        // The token subcommand: its stdout is the token (the intended answer), stderr carries nothing of it.
        let out = Command::new(BIN)
            .args(["token", "--cluster-endpoint", DSQL_NAME, "--region", "us-east-1", "--admin"])
            .env("AURORA_DSQL_MCP_LOG", level)
            .env("AWS_ACCESS_KEY_ID", "AKIDLOGTESTEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run token");
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(out.status.success() && token.contains("X-Amz-Signature="), "{token} {out:?}");
        let signature = token.split("X-Amz-Signature=").nth(1).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains(signature), "token's signature on stderr at {level}:\n{stderr}");
        assert_no_credentials(&stderr, &format!("token's stderr at {level}"));

        // A cluster-mode connection: the server signs a token and sends it as the password (refused here: the
        // role's password is not that token), with TLS verified against the test CA.
        let mut s = Session::start(
            &[
                "--cluster-endpoint",
                &endpoint,
                "--region",
                "us-east-1",
                "--database-user",
                "admin",
                "--hostaddr",
                "127.0.0.1",
                "--ssl-root-cert",
                &ca,
            ],
            level,
        );
        let r = s.call("readonly_query", json!({"sql": "SELECT $1::text AS v", "params": [BOUND_OK]}));
        assert_eq!(r["isError"], json!(true), "{r}");
        // Refused for the password, i.e. a signed token went over TLS (not a TLS or a connection failure).
        assert!(text(&r).contains("28P01") || text(&r).contains("password"), "{}", text(&r));
        let (stdout, stderr) = s.finish();
        assert_no_credentials(&stderr, &format!("cluster-mode stderr at {level}"));
        assert_no_bound_values(&stderr, &format!("cluster-mode stderr at {level}"));
        assert_no_credentials(&stdout.join("\n"), &format!("cluster-mode stdout at {level}"));
    }
}
