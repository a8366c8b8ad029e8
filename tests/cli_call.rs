//! The command line a person uses before any MCP client: `call TOOL JSON` (one tool through the same MCP request
//! path, same output as a client gets), the banner when stdin is a terminal, and the message when local mode cannot
//! find PostgreSQL's server programs. All through the real binary; databases come from the product's sandbox.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{BIN, Server, sandbox_dir};
use serde_json::{Value, json};

fn call(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("call").args(args).stdin(Stdio::null()).env("AWS_EC2_METADATA_DISABLED", "true");
    for var in ["CLUSTER", "CLUSTER_ENDPOINT", "REGION", "AWS_REGION", "DATABASE_USER", "AURORA_DSQL_DATABASE_URL"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the binary")
}

fn local_flag() -> String {
    format!("--local={}", sandbox_dir().display())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The text with every untrusted-data marker id (16 hex digits) replaced by `ID`.
fn without_boundary_ids(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("id ").map(|i| (i, 3)).into_iter().chain(rest.find("id=\"").map(|i| (i, 4))).min() {
        let (i, skip) = at;
        out.push_str(&rest[..i + skip]);
        let after = &rest[i + skip..];
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        out.push_str(if hex == 16 { "ID" } else { &after[..hex] });
        rest = &after[hex..];
    }
    out.push_str(rest);
    out
}

/// Every text block of a result, one per line, as `call` prints them (the JSON, then notes such as the line naming
/// the cluster that answered).
fn all_text(result: &Value) -> String {
    let blocks = result["content"].as_array().cloned().unwrap_or_default();
    blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n")
}

/// The JSON between the untrusted-data markers of a database tool's text.
fn between_markers(s: &str) -> &str {
    let start = s.find("\">\n").map(|i| i + 3).unwrap_or(0);
    let end = s.rfind("\n</untrusted-data").unwrap_or(s.len());
    &s[start..end]
}

#[test]
fn call_prints_exactly_what_a_client_receives() {
    let args = json!({"sql": "SELECT 1 AS one, 'x'::text AS two"});
    let out = call(&["readonly_query", &args.to_string(), &local_flag()], &[]);
    assert!(out.status.success(), "exit {:?}; stderr: {}", out.status, stderr(&out));
    let mut client = Server::local(&[]);
    let result = client.call("readonly_query", args.clone());
    assert_eq!(result["isError"], json!(false));
    // The same text, but for the untrusted-data boundary, which is random per answer.
    assert_eq!(
        without_boundary_ids(&stdout(&out)),
        without_boundary_ids(&format!("{}\n", all_text(&result))),
        "call and an MCP client must see the same text"
    );
    let printed: Value = serde_json::from_str(between_markers(&stdout(&out))).expect("the rows are JSON");
    assert_eq!(printed["result"], json!([{"one": 1, "two": "x"}]));

    let whole = call(&["readonly_query", &args.to_string(), &local_flag(), "--json"], &[]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let whole: Value = serde_json::from_str(&stdout(&whole)).expect("--json prints JSON");
    assert_eq!(whole["isError"], json!(false));
    assert_eq!(whole["structuredContent"], result["structuredContent"]);
}

#[test]
fn a_refused_statement_exits_1_with_the_same_error_a_client_gets() {
    let args = json!({"sql": "TRUNCATE some_table"});
    let out = call(&["readonly_query", &args.to_string(), &local_flag()], &[]);
    assert_eq!(out.status.code(), Some(1), "stdout: {}; stderr: {}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out), "", "errors go to stderr");
    let mut client = Server::local(&[]);
    let expected = client.err("readonly_query", args);
    assert!(expected.contains("25006"), "{expected}");
    assert!(stderr(&out).contains(&expected), "call's stderr lacks the client's error text.\n{}", stderr(&out));
}

#[test]
fn unknown_tools_and_bad_json_are_explained() {
    let out = call(&["no_such_tool", "{}"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Unknown tool: no_such_tool") && stderr(&out).contains("readonly_query"),
        "{}",
        stderr(&out)
    );

    let out = call(&["readonly_query", "SELECT 1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not valid JSON") && stderr(&out).contains(r#"'{"sql":"SELECT 1"}'"#),
        "{}",
        stderr(&out)
    );

    let out = Command::new(BIN)
        .args(["--local", "call", "readonly_query", r#"{"sql":"SELECT 1"}"#])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("put the server flags after the tool"), "{}", stderr(&out));

    // `call` listens nowhere: the HTTP flags are refused, not silently ignored. Their environment variable is not
    // a flag given to `call` (a shell that serves HTTP may export it) and is left alone.
    let local = local_flag();
    for flags in
        [&["--http", "127.0.0.1:0"][..], &["--http-oauth-issuer", "https://idp.example", "--http-max-concurrent", "3"]]
    {
        let mut args = vec!["readonly_query", r#"{"sql":"SELECT 1"}"#, local.as_str()];
        args.extend_from_slice(flags);
        let out = call(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{flags:?}: nothing ran: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(flags[0]) && err.contains("`call` does not do"), "{flags:?}: {err}");
    }
    let out =
        call(&["readonly_query", r#"{"sql":"SELECT 1 AS one"}"#, &local], &[("AURORA_DSQL_MCP_HTTP", "127.0.0.1:0")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = call(&["readonly_query", r#"["SELECT 1"]"#], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("must be a JSON object"), "{}", stderr(&out));
}

#[test]
fn tools_that_need_no_database_work_without_one() {
    let out = call(&["dsql_lint", r#"{"sql":"CREATE INDEX i ON t (a)"}"#], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("index_async"), "{}", stdout(&out));
    let out = call(&["readonly_query", r#"{"sql":"SELECT 1"}"#], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--local"), "the error says how to get a database: {}", stderr(&out));
}

#[test]
fn missing_postgres_binaries_name_the_install_command_and_the_variable() {
    let empty = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let local = format!("--local={}", data.path().join("sandbox").display());
    let bindir = empty.path().to_string_lossy().to_string();
    let out = call(&["readonly_query", r#"{"sql":"SELECT 1"}"#, &local], &[("AURORA_DSQL_PG_BINDIR", &bindir)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let hint = aurora_dsql_mcp_server::emulation::pgbin::install_hint();
    assert!(err.contains(&format!("AURORA_DSQL_PG_BINDIR={bindir}")), "{err}");
    assert!(err.contains(&hint), "the message should give this platform's install command ({hint}):\n{err}");
    if std::fs::read_to_string("/etc/os-release").unwrap_or_default().contains("ID=debian") {
        assert!(hint.contains("apt-get install -y postgresql"), "{hint}");
    }
}

/// The real search with PostgreSQL hidden: an empty tmpfs over /usr/lib/postgresql in a private mount namespace and
/// a PATH without the programs. Needs root (CI and the dev machines run as root).
#[test]
fn missing_postgres_binaries_when_nothing_is_installed() {
    if !aurora_dsql_mcp_server::emulation::sandbox::running_as_root() {
        eprintln!("not root: cannot hide /usr/lib/postgresql; the AURORA_DSQL_PG_BINDIR test covers the message");
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let script = format!(
        "mount -t tmpfs tmpfs /usr/lib/postgresql || {{ echo 'cannot hide /usr/lib/postgresql' >&2; exit 99; }}; \
         exec '{BIN}' call readonly_query '{{\"sql\":\"SELECT 1\"}}' --local={}",
        data.path().join("sandbox").display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .env("PATH", "/usr/bin:/bin")
        .env_remove("AURORA_DSQL_PG_BINDIR")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .expect("unshare (util-linux)");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("were not found"), "{err}");
    assert!(err.contains(&aurora_dsql_mcp_server::emulation::pgbin::install_hint()), "{err}");
    assert!(err.contains("AURORA_DSQL_PG_BINDIR"), "{err}");
}

/// Started by hand at a terminal (a pseudo-terminal from util-linux `script`), the server says how to connect a
/// client and how to try `call`; piped (as clients start it), it prints only the one banner line.
#[test]
fn the_banner_helps_a_person_at_a_terminal_only() {
    let mut child = Command::new("script")
        .args(["-qfec", &format!("'{BIN}' --local={}", sandbox_dir().display()), "/dev/null"])
        .env("AURORA_DSQL_MCP_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    // ^D: end of input on the terminal, so the server ends as it does when a client closes stdin.
    child.stdin.take().expect("stdin").write_all(b"\x04").expect("write");
    let out = child.wait_with_output().expect("wait");
    let screen = stdout(&out);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("serving MCP on stdin/stdout"), "{screen}");
    assert!(screen.contains("uvx aurora-dsql-mcp-rs --local --allow-writes"), "{screen}");
    assert!(screen.contains("aurora-dsql-mcp-rs call readonly_query '{\"sql\":\"SELECT 1\"}' --local="), "{screen}");

    let piped = Command::new(BIN)
        .arg(local_flag())
        .env("AURORA_DSQL_MCP_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let log = stderr(&piped);
    assert!(piped.status.success(), "{log}");
    assert!(log.contains("serving MCP on stdin/stdout"), "{log}");
    assert!(!log.contains("call readonly_query"), "no terminal help when stdin is not a terminal:\n{log}");
}

/// `--allow-writes=true` (as registries' clients write it) opens write mode for `call` as bare `--allow-writes`
/// does, and `=false` keeps it read-only; `--json=true` prints the whole result object.
#[test]
fn switches_written_with_true_or_false_mean_what_they_say() {
    let t = common::table("cli_switch");
    let create = json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}).to_string();
    let refused = call(&["transact", &create, &local_flag(), "--allow-writes=false"], &[]);
    assert_eq!(refused.status.code(), Some(1), "read-only refuses: {}", stdout(&refused));
    assert!(stderr(&refused).contains("--allow-writes"), "the refusal names the flag: {}", stderr(&refused));
    let created = call(&["transact", &create, &local_flag(), "--allow-writes=true", "--json=true"], &[]);
    assert!(created.status.success(), "{}", stderr(&created));
    let whole: Value = serde_json::from_str(&stdout(&created)).expect("--json=true prints JSON");
    assert_eq!(whole["isError"], json!(false), "{whole}");
    let count = json!({"sql": format!("SELECT count(*) AS n FROM {t}")}).to_string();
    let read = call(&["readonly_query", &count, &local_flag(), "--json=false"], &[]);
    assert!(read.status.success(), "the table exists: {}", stderr(&read));
    assert!(serde_json::from_str::<Value>(&stdout(&read)).is_err(), "--json=false prints text: {}", stdout(&read));
}
