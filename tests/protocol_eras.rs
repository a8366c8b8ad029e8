//! Both MCP protocol eras through the real binary, with raw JSON-RPC: the 2025 handshake (`initialize`) and
//! 2026-07-28 (`server/discover`, per-request `_meta`, no handshake), including which notifications each era may
//! get, and the MCP Inspector CLI in its legacy, auto and modern eras when it is installed.

mod common;

use common::Server;
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

/// The per-request `_meta` a 2026-07-28 client sends, plus `extra` keys.
fn meta(extra: Value) -> Value {
    let mut m = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "eras-test", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    m
}

fn modern_call(s: &mut Server, tool: &str, args: Value, extra_meta: Value) -> Value {
    s.request("tools/call", json!({"_meta": meta(extra_meta), "name": tool, "arguments": args}))
}

#[test]
fn discover_answers_before_and_without_initialize() {
    let mut s = Server::spawn(&[], &[]);
    let r = s.request("server/discover", json!({"_meta": meta(json!({}))}));
    let d = &r["result"];
    assert_eq!(d["resultType"], "complete", "{r}");
    let versions: Vec<&str> = d["supportedVersions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", MODERN] {
        assert!(versions.contains(&v), "{v} missing from {versions:?}");
    }
    // The tool list depends on the server's mode: cacheable, but only privately.
    assert_eq!(d["cacheScope"], "private", "{r}");
    assert!(d["ttlMs"].is_u64(), "{r}");
    assert!(d["capabilities"]["tools"].is_object());
    assert_eq!(d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "aurora-dsql-mcp-server");
    assert!(d["instructions"].as_str().unwrap().chars().count() < 2048);

    // A modern client then works without any handshake.
    let list = s.request("tools/list", json!({"_meta": meta(json!({}))}));
    assert_eq!(list["result"]["resultType"], "complete");
    assert_eq!(list["result"]["cacheScope"], "private");
    assert!(list["result"]["ttlMs"].is_u64());
    assert!(list["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "readonly_query"));
    let call = modern_call(&mut s, "dsql_lint", json!({"sql": "CREATE TABLE t (id serial PRIMARY KEY)"}), json!({}));
    assert_eq!(call["result"]["isError"], false, "{call}");
    assert_eq!(call["result"]["resultType"], "complete");
}

#[test]
fn an_unknown_version_gets_32022_with_the_supported_list() {
    let mut s = Server::spawn(&[], &[]);
    let mut m = meta(json!({}));
    m["io.modelcontextprotocol/protocolVersion"] = json!("1999-01-01");
    let r = s.request("tools/list", json!({"_meta": m}));
    assert_eq!(r["error"]["code"], -32022, "{r}");
    let supported = r["error"]["data"]["supported"].as_array().expect("supported list");
    assert!(supported.contains(&json!(MODERN)) && supported.contains(&json!("2025-11-25")), "{r}");
    // Without the required _meta and without a handshake, the error names what is missing.
    let r = s.request("tools/list", json!({}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("protocolVersion"), "{r}");
}

#[test]
fn the_legacy_handshake_still_serves_2025_clients() {
    let mut s = Server::spawn(&[], &[]);
    let init = s.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}),
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    s.notify("notifications/initialized", json!({}));
    assert!(s.request("ping", json!({}))["result"].is_object());
    let list = s.request("tools/list", json!({}));
    assert!(list["result"]["tools"].as_array().unwrap().len() >= 7, "{list}");
    assert!(s.request("logging/setLevel", json!({"level": "error"}))["result"].is_object());
}

/// A read-only refusal: a tool error, which legacy clients also get as a log notification.
fn refused(s: &mut Server, modern_meta: Option<Value>) -> Vec<Value> {
    s.notifications.clear();
    let args = json!({"sql": "DROP TABLE nothing_here"});
    let r = match modern_meta {
        Some(extra) => modern_call(s, "readonly_query", args, extra),
        None => s.request("tools/call", json!({"name": "readonly_query", "arguments": args})),
    };
    assert_eq!(r["result"]["isError"], true, "{r}");
    s.notifications.iter().filter(|n| n["method"] == "notifications/message").cloned().collect()
}

#[test]
fn a_2026_request_gets_log_notifications_only_at_the_level_it_asked_for() {
    let mut s = Server::spawn(&[], &[]);
    // No level in _meta: no notifications/message at all.
    assert_eq!(refused(&mut s, Some(json!({}))), Vec::<Value>::new());
    // A level at or below error: the error is sent, before the response.
    let logs = refused(&mut s, Some(json!({"io.modelcontextprotocol/logLevel": "warning"})));
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["params"]["level"], "error");
    assert!(logs[0]["params"]["data"].as_str().unwrap().contains("readonly_query"));
    // A level above error: nothing.
    assert!(refused(&mut s, Some(json!({"io.modelcontextprotocol/logLevel": "critical"}))).is_empty());
}

#[test]
fn a_legacy_session_keeps_its_set_level() {
    let mut s = Server::start(&[]);
    assert_eq!(refused(&mut s, None).len(), 1, "default level (notice) sends errors");
    s.request("logging/setLevel", json!({"level": "critical"}));
    assert!(refused(&mut s, None).is_empty());
}

#[test]
fn descriptions_and_instructions_fit_what_clients_keep() {
    // Claude Code cuts descriptions and instructions at 2,048 characters.
    for args in [&[][..], &["--allow-writes", "--database-url", "postgres://nobody@127.0.0.1:1/x"][..]] {
        let mut s = Server::start(args);
        let instructions = s.init["instructions"].as_str().unwrap().to_string();
        assert!(instructions.chars().count() < 2048, "instructions: {} chars", instructions.chars().count());
        let list = s.request("tools/list", json!({}));
        for tool in list["result"]["tools"].as_array().unwrap() {
            let n = tool["description"].as_str().unwrap().chars().count();
            assert!(n < 2048, "{} description: {n} chars", tool["name"]);
        }
    }
}

#[test]
fn parameter_schemas_name_a_type_in_every_branch() {
    // Strict schema linters (Inspector --strict) warn on `{}` (accepts anything) and on `type` arrays.
    fn walk(path: &str, v: &Value, problems: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{path}.{k}");
                    if (k == "items" || k == "additionalProperties") && child.as_object().is_some_and(|o| o.is_empty())
                    {
                        problems.push(format!("{here} is an empty schema"));
                    }
                    if k == "type" && child.is_array() {
                        problems.push(format!("{here} is a type array"));
                    }
                    walk(&here, child, problems);
                }
            }
            Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, c)| walk(&format!("{path}[{i}]"), c, problems))
            }
            _ => {}
        }
    }
    let mut s = Server::start(&["--allow-writes", "--database-url", "postgres://nobody@127.0.0.1:1/x"]);
    let list = s.request("tools/list", json!({}));
    let mut problems = Vec::new();
    walk("tools", &list["result"]["tools"], &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The MCP Inspector CLI (Node 22), when `MCP_INSPECTOR` names its binary (the CI installs it): `--strict` in every
/// protocol era finds nothing to warn about, and a call works in each era.
#[test]
fn the_inspector_cli_works_in_every_era_with_strict_schemas() {
    let Ok(inspector) = std::env::var("MCP_INSPECTOR") else {
        eprintln!("skipped: set MCP_INSPECTOR to the mcp-inspector binary (.ci/run installs it)");
        return;
    };
    for era in ["legacy", "auto", "modern"] {
        let out = std::process::Command::new(&inspector)
            .args(["--cli", common::BIN, "--allow-writes", "--protocol-era", era, "--method", "tools/list"])
            .args(["--strict", "--format", "json"])
            .env("AURORA_DSQL_MCP_LOG", "warn")
            .output()
            .expect("run the inspector");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{era}: exit {:?}\n{stderr}", out.status);
        assert!(!stderr.contains("Warning") && !stderr.contains("Error:"), "{era}: {stderr}");
        let list: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let tools = list.get("tools").or_else(|| list["result"].get("tools")).expect("tools");
        assert!(tools.as_array().unwrap().iter().any(|t| t["name"] == "transact"), "{era}: {list}");

        let out = std::process::Command::new(&inspector)
            .args(["--cli", common::BIN, "--protocol-era", era, "--method", "tools/call", "--tool-name", "dsql_lint"])
            .args(["--tool-arg", "sql=CREATE TABLE t (id serial PRIMARY KEY)", "--format", "json"])
            .env("AURORA_DSQL_MCP_LOG", "warn")
            .output()
            .expect("run the inspector");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{era}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("SERIAL"), "{era}: {stdout}");
    }
}

#[test]
fn a_2026_request_gets_progress_only_with_a_progress_token() {
    let dir = format!("--local={}", common::sandbox_dir().display());
    let mut s = Server::spawn(&[&dir], &[]);
    let statements = json!({"sql_list": ["SELECT 1", "SELECT 2", "SELECT 3"]});
    let progress = |s: &Server| s.notifications.iter().filter(|n| n["method"] == "notifications/progress").count();

    let r = modern_call(&mut s, "transact", statements.clone(), json!({}));
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert_eq!(progress(&s), 0, "{:?}", s.notifications);

    let r = modern_call(&mut s, "transact", statements, json!({"progressToken": "p-1"}));
    assert_eq!(r["result"]["isError"], false, "{r}");
    let sent: Vec<&Value> = s.notifications.iter().filter(|n| n["method"] == "notifications/progress").collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|n| n["params"]["progressToken"] == "p-1"));
    assert_eq!(sent[2]["params"]["progress"].as_f64(), Some(3.0));
}

#[test]
fn a_2026_client_browses_the_schema_resources() {
    let dir = format!("--local={}", common::sandbox_dir().display());
    let mut s = Server::spawn(&[&dir, "--allow-writes"], &[]);
    let t = common::table("eras_res");
    let r = modern_call(
        &mut s,
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, v text)")]}),
        json!({}),
    );
    assert_eq!(r["result"]["isError"], false, "{r}");
    let m = json!({"_meta": meta(json!({}))});

    let list = s.request("resources/list", m.clone());
    assert_eq!(list["result"]["cacheScope"], "private", "{list}");
    assert!(list["result"]["resources"].as_array().unwrap().iter().any(|r| r["uri"] == "dsql://schema"), "{list}");
    let templates = s.request("resources/templates/list", m.clone());
    assert_eq!(templates["result"]["resourceTemplates"][0]["uriTemplate"], "dsql://schema/{table}", "{templates}");

    let mut complete = m.clone();
    complete["ref"] = json!({"type": "ref/resource", "uri": "dsql://schema/{table}"});
    complete["argument"] = json!({"name": "table", "value": t.to_uppercase()});
    let c = s.request("completion/complete", complete);
    assert_eq!(c["result"]["completion"]["values"], json!([t]), "{c}");

    let mut read = m;
    read["uri"] = json!(format!("dsql://schema/{t}"));
    let r = s.request("resources/read", read);
    // Database content: the JSON between the untrusted-data markers.
    let text = r["result"]["contents"][0]["text"].as_str().expect("text");
    let (start, end) = (text.find("\">\n").expect("a marker") + 3, text.rfind("\n</untrusted-data").expect("a marker"));
    let body: Value = serde_json::from_str(&text[start..end]).unwrap();
    let columns: Vec<&Value> = body["result"].as_array().unwrap().iter().map(|c| &c["column_name"]).collect();
    assert_eq!(columns, [&json!("id"), &json!("v")], "{body}");
}
