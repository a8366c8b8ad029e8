//! Library-level tests of the offline documentation: links and tool names in the guides, search quality on real
//! questions, exact read paging, recommend, prompts, and the knowledge-server client against a local HTTP server.

use std::time::Duration;

use aurora_dsql_mcp_server::docs::remote::KnowledgeServer;
use aurora_dsql_mcp_server::docs::{Library, check_links, prompts, tools};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const TOOLS: [&str; 8] = [
    "readonly_query",
    "explain_query",
    "transact",
    "get_schema",
    "dsql_lint",
    "dsql_search_documentation",
    "dsql_read_documentation",
    "dsql_recommend",
];

fn lib() -> &'static Library {
    Library::embedded()
}

#[test]
fn library_holds_power_and_every_steering_guide() {
    let names: Vec<&str> = lib().documents().iter().map(|d| d.name.as_str()).collect();
    for want in [
        "power",
        "development-guide",
        "language",
        "dsql-examples",
        "troubleshooting",
        "onboarding",
        "mcp-setup",
        "migrations",
        "identity-and-sequences",
        "access-control",
        "occ-retry",
        "multi-tenant",
        "query-plans",
    ] {
        assert!(names.contains(&want), "missing {want} in {names:?}");
    }
    for d in lib().documents() {
        assert!(!d.title.is_empty() && !d.description.is_empty(), "{} lacks title/description", d.uri);
        assert!(d.text.lines().count() >= 60, "{} is too short", d.path);
    }
    let power = lib().document("dsql://power").unwrap();
    assert_eq!(power.title, "Build with Amazon Aurora DSQL");
    assert!(lib().document("steering/troubleshooting.md").is_some());
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let problems = check_links(lib());
    assert!(problems.is_empty(), "broken links: {problems:#?}");
}

/// Backticked names that look like tools (`dsql_*`, `*_query`, `*_schema`, `transact...`) must be real tools.
#[test]
fn tool_names_in_power_and_guides_exist() {
    for doc in lib().documents() {
        // odd-numbered pieces of a split on backticks are the code spans
        for part in doc.text.split('`').skip(1).step_by(2) {
            let ident: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if ident.len() != part.len() && !part[ident.len()..].starts_with('(') {
                continue;
            }
            let looks_like_tool = ident.starts_with("dsql_")
                || ["_query", "_schema", "_documentation", "_recommend", "_lint"].iter().any(|s| ident.ends_with(s))
                || ident == "transact";
            if looks_like_tool {
                assert!(TOOLS.contains(&ident.as_str()), "{}: `{part}` is not one of the 8 tools", doc.path);
            }
        }
    }
    let power = lib().document("power").unwrap().text;
    for t in TOOLS {
        assert!(power.contains(&format!("`{t}`")), "POWER.md does not describe {t}");
    }
}

fn top_documents(query: &str, n: usize) -> Vec<String> {
    let v = tools::search(lib(), query, Some(n)).unwrap();
    v["results"].as_array().unwrap().iter().map(|r| r["document"].as_str().unwrap().to_string()).collect()
}

#[test]
fn search_finds_the_right_page_in_the_top_three() {
    let cases = [
        ("add a column with a default value", "migrations"),
        ("why does CREATE INDEX fail", "troubleshooting"),
        ("token expired", "troubleshooting"),
        ("OC000 conflict", "occ-retry"),
        ("store an array", "development-guide"),
        ("auto-increment id", "identity-and-sequences"),
        ("transaction row limit exceeded", "troubleshooting"),
        ("configure Claude Desktop", "mcp-setup"),
        ("grant a role access with AWS IAM GRANT", "access-control"),
        ("tenant isolation", "multi-tenant"),
        ("slow query EXPLAIN ANALYZE", "query-plans"),
        ("connect from Python with psycopg", "language"),
        ("get started without an AWS account", "onboarding"),
        ("CACHE 1 vs 65536", "identity-and-sequences"),
        ("table recreation verify and swap", "migrations"),
        ("retry with exponential backoff and jitter", "occ-retry"),
        ("sqlx connector", "language"),
    ];
    let mut failures = Vec::new();
    for (q, page) in cases {
        let want = format!("dsql://steering/{page}");
        let top = top_documents(q, 3);
        if !top.contains(&want) {
            failures.push(format!("{q:?}: wanted {want}, got {top:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn search_results_are_sections_with_snippets_and_scores() {
    let v = tools::search(lib(), "OC001 schema conflict", Some(5)).unwrap();
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 5);
    let scores: Vec<f64> = results.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "not sorted: {scores:?}");
    for r in results {
        let url = r["url"].as_str().unwrap();
        assert!(url.starts_with(r["document"].as_str().unwrap()));
        assert!(!r["snippet"].as_str().unwrap().is_empty() && !r["title"].as_str().unwrap().is_empty());
        // every result url is readable
        tools::read(lib(), url, None, Some(10)).unwrap();
    }
    assert!(results.iter().any(|r| r["url"].as_str().unwrap().contains('#')), "sections, not only pages");
    assert!(tools::search(lib(), "  the of ", None).unwrap_err().contains("no searchable words"));
    assert!(tools::search(lib(), "index", Some(0)).is_err());
    assert_eq!(tools::search(lib(), "zzqxv", None).unwrap()["results"], json!([]));
}

/// Follows next_start_index to the end and returns the concatenation of all pages.
fn read_all(url: &str, page: usize) -> (String, Value) {
    let mut out = String::new();
    let mut start = 0;
    let mut pages = 0;
    loop {
        let v = tools::read(lib(), url, Some(start), Some(page)).unwrap();
        let content = v["content"].as_str().unwrap();
        assert!(content.chars().count() <= page);
        out.push_str(content);
        pages += 1;
        assert!(pages < 100_000);
        match v["next_start_index"].as_u64() {
            Some(n) => {
                assert!(v["truncated"].as_bool().unwrap());
                assert_eq!(n as usize, start + content.chars().count());
                start = n as usize;
            }
            None => {
                assert!(!v["truncated"].as_bool().unwrap());
                return (out, v);
            }
        }
    }
}

#[test]
fn read_paging_is_exact_including_multibyte_characters() {
    for doc in lib().documents() {
        let (all, last) = read_all(&doc.uri, 997);
        assert_eq!(all, doc.text, "{}", doc.uri);
        assert_eq!(last["total_length"].as_u64().unwrap() as usize, doc.text.chars().count());
    }
    // A page with non-ASCII characters (≤, →, ›, é-style text) paged one character at a time stays exact.
    let doc = lib().documents().iter().find(|d| d.text.chars().any(|c| c.len_utf8() > 1)).unwrap();
    let (all, _) = read_all(&doc.uri, 1);
    assert_eq!(all, doc.text);
    let first = tools::read(lib(), &doc.uri, None, None).unwrap();
    assert_eq!(first["start_index"], 0);
}

#[test]
fn read_accepts_every_id_form_and_sections() {
    let full = tools::read(lib(), "dsql://steering/troubleshooting", None, Some(1_000_000)).unwrap();
    for form in
        ["troubleshooting", "troubleshooting.md", "steering/troubleshooting.md", "dsql://steering/troubleshooting.md"]
    {
        let v = tools::read(lib(), form, None, Some(1_000_000)).unwrap();
        assert_eq!(v["content"], full["content"], "{form}");
        assert_eq!(v["url"], "dsql://steering/troubleshooting");
    }
    let s = tools::read(lib(), "dsql://steering/troubleshooting#token-expired-or-invalid", None, None).unwrap();
    let content = s["content"].as_str().unwrap();
    assert!(content.starts_with("### Token expired or invalid"));
    assert!(!content.contains("### Connection closed after an hour"));
    assert!(full["content"].as_str().unwrap().contains(content));
    let p = tools::read(lib(), "POWER.md", None, Some(50)).unwrap();
    assert_eq!(p["url"], "dsql://power");
}

#[test]
fn read_errors_are_clear() {
    let e = tools::read(lib(), "dsql://steering/troubleshooting", Some(10_000_000), None).unwrap_err();
    assert!(e.contains("beyond the end"), "{e}");
    let e = tools::read(lib(), "dsql://steering/migration", None, None).unwrap_err();
    assert!(e.contains("dsql://steering/migrations"), "{e}");
    let e = tools::read(lib(), "troubleshootin", None, None).unwrap_err();
    assert!(e.contains("dsql://steering/troubleshooting"), "{e}");
    let e = tools::read(lib(), "migrations#add-a-colum", None, None).unwrap_err();
    assert!(e.contains("dsql://steering/migrations#add-a-column-with-a-default-value"), "{e}");
    let e = tools::read(lib(), "https://docs.aws.amazon.com/aurora-dsql/latest/userguide/", None, None).unwrap_err();
    assert!(e.contains("--knowledge-server"), "{e}");
    assert!(tools::read(lib(), "migrations", None, Some(0)).unwrap_err().contains("max_length"));
}

#[test]
fn recommend_lists_related_pages_and_practices() {
    let v = tools::recommend(lib(), "dsql://steering/migrations").unwrap();
    let related: Vec<&str> = v["related"].as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert!(related.contains(&"dsql://steering/troubleshooting"), "{related:?}");
    assert!(!related.contains(&"dsql://steering/migrations"));
    let practices: Vec<&str> =
        v["best_practices"].as_array().unwrap().iter().map(|p| p["practice"].as_str().unwrap()).collect();
    assert!(practices.iter().any(|p| p.contains("One DDL statement per transaction")), "{practices:?}");
    assert!(practices.len() <= 6);

    let v = tools::recommend(lib(), "occ-retry").unwrap();
    let practices = v["best_practices"].to_string();
    assert!(practices.contains("40001"), "{practices}");
    let v = tools::recommend(lib(), "dsql://steering/multi-tenant#referential-integrity-in-the-application").unwrap();
    assert_eq!(v["url"], "dsql://steering/multi-tenant#referential-integrity-in-the-application");
    assert!(tools::recommend(lib(), "nope").is_err());
}

#[test]
fn prompts_are_listed_and_render() {
    let names: Vec<&str> = prompts::list().iter().map(|p| p.name).collect();
    assert_eq!(names, ["onboarding", "create-multi-tenant-table", "safe-migration", "diagnose-slow-query"]);
    let mut args = serde_json::Map::new();
    args.insert("table_name".into(), json!("orders"));
    args.insert("change".into(), json!("add a status column"));
    let text = prompts::get("safe-migration", &args).unwrap();
    assert!(text.contains("orders") && text.contains("dsql://steering/migrations"));
    // every guide a prompt points to exists
    for p in prompts::list() {
        let mut a = serde_json::Map::new();
        for (name, _, _) in &p.arguments {
            a.insert((*name).into(), json!("x"));
        }
        let text = prompts::get(p.name, &a).unwrap();
        for id in text.split_whitespace().filter(|w| w.starts_with("dsql://")) {
            let id = id.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            assert!(lib().document(id).is_some(), "prompt {} names unknown {id}", p.name);
        }
    }
}

// ---------- knowledge server ----------

/// What the fake server does with a request.
enum Reply {
    Respond(&'static str, String),
    Hang,
}

/// Starts a one-connection HTTP/1.1 server on 127.0.0.1; returns its URL and a receiver for the request body.
async fn fake_server(reply: Reply) -> (String, oneshot::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head, body) = loop {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client closed early");
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break (head, String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string());
            }
        };
        let _ = tx.send((head, body));
        match reply {
            Reply::Respond(status, body) => {
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.ok();
            }
            Reply::Hang => {
                // keep the socket open and never answer
                std::future::pending::<()>().await;
            }
        }
    });
    (format!("http://{addr}/"), rx)
}

#[tokio::test]
async fn knowledge_server_success_sends_upstream_request() {
    let answer = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "remote hit"}]}});
    let (url, rx) = fake_server(Reply::Respond("200 OK", answer.to_string())).await;
    let ks = KnowledgeServer::new(&url, Duration::from_secs(10)).unwrap();
    let got = ks.call("dsql_search_documentation", json!({"search_phrase": "jsonb", "limit": null})).await.unwrap();
    assert_eq!(got, answer["result"]);
    let (head, body) = rx.await.unwrap();
    assert!(head.starts_with("POST / HTTP/1.1"), "{head}");
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        sent,
        json!({"jsonrpc": "2.0", "method": "tools/call", "id": 1,
               "params": {"name": "dsql_search_documentation", "arguments": {"search_phrase": "jsonb"}}})
    );
}

#[tokio::test]
async fn knowledge_server_timeout_is_reported() {
    let (url, _rx) = fake_server(Reply::Hang).await;
    let ks = KnowledgeServer::new(&url, Duration::from_millis(200)).unwrap();
    let err = ks.call("dsql_recommend", json!({"url": "x"})).await.unwrap_err();
    assert!(err.contains("timed out"), "{err}");
}

#[tokio::test]
async fn knowledge_server_http_error_is_reported() {
    let (url, _rx) = fake_server(Reply::Respond("500 Internal Server Error", "{}".into())).await;
    let ks = KnowledgeServer::new(&url, Duration::from_secs(10)).unwrap();
    let err = ks.call("dsql_read_documentation", json!({"url": "x"})).await.unwrap_err();
    assert!(err.contains("HTTP 500"), "{err}");
}

#[tokio::test]
async fn knowledge_server_garbage_body_is_reported() {
    let (url, _rx) = fake_server(Reply::Respond("200 OK", "<html>not json".into())).await;
    let ks = KnowledgeServer::new(&url, Duration::from_secs(10)).unwrap();
    let err = ks.call("dsql_read_documentation", json!({"url": "x"})).await.unwrap_err();
    assert!(err.contains("invalid JSON"), "{err}");
}

#[tokio::test]
async fn knowledge_server_json_rpc_error_and_unreachable_host() {
    let (url, _rx) =
        fake_server(Reply::Respond("200 OK", json!({"error": {"message": "no such page"}}).to_string())).await;
    let ks = KnowledgeServer::new(&url, Duration::from_secs(10)).unwrap();
    let err = ks.call("dsql_read_documentation", json!({"url": "x"})).await.unwrap_err();
    assert!(err.contains("no such page"), "{err}");

    // A port nobody listens on: bind, take the address, drop the listener.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let ks = KnowledgeServer::new(&format!("http://{addr}/"), Duration::from_secs(10)).unwrap();
    let err = ks.call("dsql_recommend", json!({"url": "x"})).await.unwrap_err();
    assert!(err.contains("cannot reach"), "{err}");
}
