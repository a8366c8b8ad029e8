//! The MCP surface of the real binary, without a database: handshake, protocol versions, ids, bad input lines,
//! the tool list, configuration errors and clean exit.

mod common;

use common::{Server, text};
use serde_json::{Value, json};

#[test]
fn initialize_names_the_server_and_its_mode() {
    let s = Server::start(&[]);
    assert_eq!(s.init["serverInfo"]["name"], "aurora-dsql-mcp-server");
    assert_eq!(s.init["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(s.init["capabilities"]["tools"].is_object());
    assert!(s.init["capabilities"]["logging"].is_object());
    let instructions = s.init["instructions"].as_str().unwrap();
    assert!(instructions.contains("READ-ONLY"), "{instructions}");
    assert!(instructions.contains("NO database"), "{instructions}");
    let w = Server::start(&["--allow-writes", "--database-url", "postgres://nobody@127.0.0.1:1/x"]);
    assert!(w.init["instructions"].as_str().unwrap().contains("READ-WRITE"));
}

#[test]
fn protocol_versions_are_negotiated() {
    for (asked, answered) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let mut s = Server::spawn(&[], &[]);
        let r = s.request(
            "initialize",
            json!({"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        );
        assert_eq!(r["result"]["protocolVersion"], answered, "asked {asked}");
    }
}

#[test]
fn request_id_zero_and_string_ids_work() {
    let mut s = Server::spawn(&[], &[]);
    let r = s.request_with_id(
        json!(0),
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
    );
    assert_eq!(r["id"], json!(0));
    s.notify("notifications/initialized", json!({}));
    let r = s.request_with_id(json!("abc-1"), "ping", json!({}));
    assert_eq!(r["id"], json!("abc-1"));
    assert!(r["result"].is_object());
}

#[test]
fn a_line_that_is_not_json_gets_a_parse_error_and_the_server_keeps_serving() {
    let mut s = Server::start(&[]);
    s.send_raw("this is not json {");
    let err = s.wait_for(|m| m.get("error").is_some());
    assert_eq!(err["error"]["code"], json!(-32700));
    assert_eq!(err["id"], Value::Null);
    let r = s.request("ping", json!({}));
    assert!(r["result"].is_object(), "{r}");
}

#[test]
fn tools_list_has_every_tool_and_parameter_of_the_contract() {
    let mut s = Server::start(&[]);
    let r = s.request("tools/list", json!({}));
    let tools = r["result"]["tools"].as_array().unwrap();
    let find = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("missing tool {name}"));
    let params = |name: &str| -> Vec<String> {
        find(name)["inputSchema"]["properties"].as_object().unwrap().keys().cloned().collect()
    };
    for (tool, expected) in [
        ("readonly_query", vec!["sql", "params"]),
        ("transact", vec!["sql_list", "params_list"]),
        ("get_schema", vec!["table_name"]),
        ("dsql_lint", vec!["sql", "fix"]),
    ] {
        let have = params(tool);
        for p in expected {
            assert!(have.contains(&p.to_string()), "{tool} lacks parameter {p}: {have:?}");
        }
    }
    // The database tools declare the result shape they return.
    for tool in ["readonly_query", "transact", "get_schema"] {
        assert_eq!(find(tool)["outputSchema"]["required"], json!(["result"]));
    }
    // Annotations tell the truth about the mode: read-only server, so transact is read-only too.
    assert_eq!(find("transact")["annotations"]["readOnlyHint"], json!(true));
    assert_eq!(find("readonly_query")["annotations"]["readOnlyHint"], json!(true));
    let mut w = Server::start(&["--allow-writes"]);
    let r = w.request("tools/list", json!({}));
    let t = r["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "transact").unwrap().clone();
    assert_eq!(t["annotations"]["readOnlyHint"], json!(false));
    assert_eq!(t["annotations"]["destructiveHint"], json!(true));
}

#[test]
fn database_tools_without_configuration_say_what_is_missing() {
    let mut s = Server::start(&[]);
    let msg = s.err("readonly_query", json!({"sql": "SELECT 1"}));
    assert!(msg.contains("no database is configured"), "{msg}");
    assert!(msg.contains("--local"), "{msg}");
    // Partial configuration: an endpoint without a user or region names both.
    let mut p = Server::start(&["--cluster_endpoint", "10.1.2.3"]);
    let msg = p.err("transact", json!({"sql_list": ["SELECT 1"]}));
    assert!(msg.contains("region") && msg.contains("database user"), "{msg}");
    assert!(msg.contains("--database_user"), "{msg}");
    // And the server still serves other tools afterwards.
    let lint = p.ok("dsql_lint", json!({"sql": "CREATE INDEX i ON t (a);"}));
    assert!(lint["diagnostics"].is_array());
}

#[test]
fn bad_arguments_get_clear_errors_and_the_server_keeps_serving() {
    let mut s = Server::start(&[]);
    let cases = [
        ("readonly_query", json!({"sql": "   "}), "empty"),
        ("readonly_query", json!({"sql": 5}), "invalid arguments for readonly_query"),
        ("readonly_query", json!({}), "missing field `sql`"),
        ("readonly_query", json!({"sql": "SELECT 1", "bogus": 1}), "unknown field `bogus`"),
        ("transact", json!({"sql_list": []}), "at least one statement"),
        (
            "transact",
            json!({"sql_list": ["SELECT 1"], "params_list": [null, null]}),
            "params_list length (2) must equal sql_list length (1)",
        ),
        ("get_schema", json!({"table_name": "a..b"}), "empty name part"),
        ("no_such_tool", json!({}), "Unknown tool: no_such_tool"),
    ];
    for (tool, args, expected) in cases {
        let msg = s.err(tool, args.clone());
        assert!(msg.contains(expected), "{tool}({args}): expected {expected:?} in {msg:?}");
    }
    let huge = "SELECT 1 -- ".to_string() + &"x".repeat(10 * 1024 * 1024);
    let msg = s.err("readonly_query", json!({"sql": huge}));
    assert!(msg.contains("limit is 1000000"), "{}", &msg[..msg.len().min(200)]);
    let r = s.request("ping", json!({}));
    assert!(r["result"].is_object());
}

#[test]
fn errors_are_also_sent_to_the_client_as_log_messages() {
    let mut s = Server::start(&[]);
    let r = s.call("readonly_query", json!({"sql": "SELECT 1"}));
    assert_eq!(r["isError"], json!(true));
    let logged = s.notifications.iter().any(|n| {
        n["method"] == "notifications/message"
            && n["params"]["level"] == "error"
            && n["params"]["data"].as_str().is_some_and(|d| d.contains("no database"))
    });
    assert!(logged, "no error log notification among {:?}", s.notifications);
    // The client can raise the threshold; then errors still arrive but nothing below them.
    let r = s.request("logging/setLevel", json!({"level": "critical"}));
    assert!(r["result"].is_object(), "{r}");
    let before = s.notifications.len();
    let r = s.call("readonly_query", json!({"sql": "SELECT 1"}));
    assert!(text(&r).contains("no database"));
    assert_eq!(s.notifications.len(), before, "an error below the client's level was sent");
}

#[test]
fn eof_on_stdin_exits_cleanly() {
    let s = Server::start(&[]);
    assert!(s.finish().success());
    // Also before any initialize.
    let s = Server::spawn(&[], &[]);
    assert!(s.finish().success());
}

#[test]
fn help_documents_every_flag_and_its_environment_variable() {
    let out = std::process::Command::new(common::BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--cluster_endpoint",
        "--region",
        "--database_user",
        "--profile",
        "--allow-writes",
        "--local",
        "--database-url",
        "--max-rows",
        "--statement-timeout",
        "CLUSTER_ENDPOINT",
        "CLUSTER",
        "REGION",
        "AWS_REGION",
        "DATABASE_USER",
        "AWS_PROFILE",
        "--dsql-version",
        "AURORA_DSQL_VERSION",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}:\n{help}");
    }
}

#[test]
fn dsql_version_is_validated_and_a_pinned_version_is_announced_and_applied() {
    for bad in ["2026-13-01", "yesterday", "2024-12-03"] {
        let out = std::process::Command::new(common::BIN).args(["--dsql-version", bad]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--dsql-version") && stderr.contains(bad), "{bad}: {stderr}");
        assert!(stderr.contains("YYYY-MM-DD") || stderr.contains("general availability"), "{bad}: {stderr}");
        assert!(out.stdout.is_empty(), "stdout carries only MCP");
    }
    // No database needed: dsql_lint applies the pinned rules, and the instructions say which date is in force.
    let mut s = Server::start_with_env(&[], &[("AURORA_DSQL_VERSION", "2026-08-25")]);
    assert!(s.init["instructions"].as_str().unwrap().contains("as of 2026-08-25"), "{}", s.init);
    let r = s.ok("dsql_lint", json!({"sql": "CREATE TABLE c (id uuid PRIMARY KEY, p uuid REFERENCES p (id));"}));
    let rules: Vec<&str> = r["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["rule"].as_str()).collect();
    assert!(rules.iter().any(|r| r.starts_with("dsql.L08.")), "{r}");
    let mut newest = Server::start(&[]);
    assert!(!newest.init["instructions"].as_str().unwrap().contains("pinned"));
    let r = newest.ok("dsql_lint", json!({"sql": "CREATE TABLE c (id uuid PRIMARY KEY, p uuid REFERENCES p (id));"}));
    assert_eq!(r["summary"]["errors"], json!(0), "{r}");
}

#[test]
fn documentation_tools_resources_and_prompts_work_offline() {
    let mut s = Server::start(&[]);
    // Tool list has the Python server's seven tools, in its order, then ours that need no writes.
    let r = s.request("tools/list", json!({}));
    let names: Vec<String> =
        r["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        names,
        vec![
            "readonly_query",
            "transact",
            "get_schema",
            "dsql_search_documentation",
            "dsql_read_documentation",
            "dsql_recommend",
            "dsql_lint",
            "explain_query"
        ]
    );
    // Every tool POWER.md names in backticks exists.
    let power = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/POWER.md")).unwrap();
    for part in power.split('`').skip(1).step_by(2) {
        let looks_like_tool = part.starts_with("dsql_") || ["readonly_query", "transact", "get_schema"].contains(&part);
        if looks_like_tool && !part.contains(' ') && !part.contains('(') && !part.contains('.') {
            assert!(names.contains(&part.to_string()), "POWER.md names `{part}`, which is not a tool");
        }
    }
    let hits = s.ok("dsql_search_documentation", json!({"search_phrase": "OC000 conflict", "limit": 3}));
    let top: Vec<String> =
        hits["results"].as_array().unwrap().iter().map(|h| h["url"].as_str().unwrap().to_string()).collect();
    assert!(top.iter().any(|u| u.contains("occ-retry") || u.contains("troubleshooting")), "{top:?}");
    let page = s.ok("dsql_read_documentation", json!({"url": "troubleshooting", "max_length": 100}));
    assert_eq!(page["content"].as_str().unwrap().chars().count(), 100);
    let rec = s.ok("dsql_recommend", json!({"url": "migrations"}));
    assert!(rec.is_object());
    let msg = s.err("dsql_read_documentation", json!({"url": "no-such-page"}));
    assert!(!msg.is_empty());
    // Resources: every guide and POWER.md, readable.
    let r = s.request("resources/list", json!({}));
    let uris: Vec<String> =
        r["result"]["resources"].as_array().unwrap().iter().map(|x| x["uri"].as_str().unwrap().to_string()).collect();
    assert!(uris.len() >= 12, "{uris:?}");
    let r = s.request("resources/read", json!({"uri": uris[0]}));
    assert!(r["result"]["contents"][0]["text"].as_str().unwrap().len() > 100);
    let r = s.request("resources/read", json!({"uri": "dsql://nope"}));
    assert!(r["error"].is_object());
    // Prompts for the workflows.
    let r = s.request("prompts/list", json!({}));
    let prompts = r["result"]["prompts"].as_array().unwrap();
    assert!(prompts.len() >= 4);
    let name = prompts[0]["name"].as_str().unwrap().to_string();
    let r = s.request("prompts/get", json!({"name": name, "arguments": {}}));
    assert!(r["result"]["messages"][0]["content"]["text"].as_str().unwrap().len() > 50, "{r}");
}

#[test]
fn token_subcommand_prints_a_signed_token_or_says_which_credentials_are_missing() {
    for (admin, action) in
        [("--admin", "DbConnectAdmin"), ("--admin=true", "DbConnectAdmin"), ("--admin=false", "DbConnect")]
    {
        let out = std::process::Command::new(common::BIN)
            .args(["token", "--cluster-endpoint", "abc.dsql.us-east-1.on.aws", admin, "--expires-in", "300"])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("DATABASE_USER")
            .output()
            .unwrap();
        let token = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(token.starts_with(&format!("abc.dsql.us-east-1.on.aws/?Action={action}&")), "{admin}: {token}");
        assert!(token.contains("X-Amz-Expires=300") && token.contains("X-Amz-Signature="), "{token}");
    }
    // The cluster is resolved as the server resolves it: a CLUSTER id expands with AWS_REGION.
    let out = std::process::Command::new(common::BIN)
        .args(["token"])
        .env("CLUSTER", "abcdef")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("CLUSTER_ENDPOINT")
        .env_remove("REGION")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&out.stdout);
    assert!(token.starts_with("abcdef.dsql.eu-west-1.on.aws/?Action=DbConnect&"), "{token}");
    let out = std::process::Command::new(common::BIN)
        .args(["token"])
        .env_remove("CLUSTER")
        .env_remove("CLUSTER_ENDPOINT")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cluster endpoint") && err.contains("CLUSTER_ENDPOINT"), "{err}");
    let out = std::process::Command::new(common::BIN)
        .args(["token", "--cluster-endpoint", "abc.dsql.us-east-1.on.aws"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no AWS credentials found") && err.contains("Fix:"), "{err}");
    assert!(out.stdout.is_empty(), "nothing but a token may go to stdout");
}

/// The instructions name tools with their arguments (`backfill(table, set?, where?, …)`): every one named is a
/// parameter of that tool's schema, and `?` marks exactly the optional ones. Write mode, where every tool is listed.
#[test]
fn tool_arguments_in_the_instructions_match_the_tool_schemas() {
    let mut s = Server::start(&["--allow-writes=true", "--database-url", "postgres://nobody@127.0.0.1:1/x"]);
    let instructions = s.init["instructions"].as_str().unwrap().to_string();
    let r = s.request("tools/list", json!({}));
    let tools = r["result"]["tools"].as_array().unwrap();
    let mut described = Vec::new();
    for line in instructions.lines().filter_map(|l| l.strip_prefix("- ")) {
        let Some((name, rest)) = line.split_once('(') else { continue };
        let Some((list, _)) = rest.split_once(')') else { continue };
        let tool = tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("instructions name {name}"));
        let schema = &tool["inputSchema"];
        let required: Vec<&str> =
            schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        for arg in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let (param, optional) = arg.strip_suffix('?').map_or((arg, false), |p| (p, true));
            assert!(schema["properties"].get(param).is_some(), "{name}({list}): {param} is not in {schema}");
            assert_eq!(optional, !required.contains(&param), "{name}({list}): is {param} optional? {schema}");
        }
        described.push(name.to_string());
    }
    // The check saw the tools it is about (a change of format would otherwise pass silently).
    for tool in ["readonly_query", "transact", "get_schema", "dsql_lint", "apply_migration", "backfill"] {
        assert!(described.iter().any(|d| d == tool), "{tool} not described with its arguments:\n{instructions}");
    }
}

/// Registries' clients write switches as `--flag=true` (and `=false`); the bare form and these mean the same, and
/// anything else is refused naming the flag and the values it takes.
#[test]
fn switches_take_true_and_false_as_registries_write_them() {
    for (flags, mode) in [
        (&["--allow-writes"][..], "READ-WRITE"),
        (&["--allow-writes=true"][..], "READ-WRITE"),
        (&["--allow_writes=true"][..], "READ-WRITE"),
        (&["--allow-writes=false"][..], "READ-ONLY"),
        (&[][..], "READ-ONLY"),
    ] {
        let mut s = Server::start(flags);
        assert!(s.init["instructions"].as_str().unwrap().contains(mode), "{flags:?}: {}", s.init);
        let r = s.request("tools/list", json!({}));
        let listed = r["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "backfill");
        assert_eq!(listed, mode == "READ-WRITE", "{flags:?}: write tools listed only in write mode");
    }
    for (flag, values) in [
        ("--allow-writes=yes", "[possible values: true, false]"),
        ("--rules=strict", "[possible values: enforce, warn, off]"),
        ("--confirm-destructive=maybe", "[possible values: ask, refuse, allow]"),
    ] {
        let out = std::process::Command::new(common::BIN).arg(flag).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = flag.split('=').next().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains(values), "{flag}: {stderr}");
        assert!(out.stdout.is_empty(), "stdout carries only MCP");
    }
}

/// The input schemas are derived from the argument structs (schemars); this is what they must come out as: the
/// Python server's parameter names, titles and descriptions (`tests/fixtures/tool_input_schemas.json`, taken
/// from the hand-written schemas the derivation replaced).
#[test]
fn tool_input_schemas_are_exactly_the_published_ones() {
    let expected: Value = serde_json::from_str(include_str!("fixtures/tool_input_schemas.json")).unwrap();
    // Eleven tools with a database; eight without one (no migrations, no backfill, no list_migrations).
    for (args, tools_listed) in
        [(&["--allow-writes", "--database-url", "postgres://nobody@127.0.0.1:1/x"][..], 11), (&[][..], 8)]
    {
        let mut s = Server::start(args);
        let r = s.request("tools/list", json!({}));
        let tools = r["result"]["tools"].as_array().unwrap();
        let mut compared = 0;
        let mut differ = Vec::new();
        for t in tools {
            let name = t["name"].as_str().unwrap();
            if let Some(want) = expected.get(name) {
                if &t["inputSchema"] != want {
                    differ.push(format!("{name}:\n  have {}\n  want {want}", t["inputSchema"]));
                }
                compared += 1;
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
        assert_eq!(compared, tools_listed, "{r}");
    }
}
