//! `call TOOL [JSON]`: run one tool and print its result, for a person at a terminal or a script.
//!
//! It takes exactly the path an MCP client's request takes: the real server (`DsqlServer`) is served by rmcp over
//! the same line transport as stdio (`server::stdio::over`), here connected to in-memory pipes, and this module is a
//! minimal MCP client on the other end (initialize, notifications/initialized, tools/call). The same checks run and
//! the same result comes back; only the printing is ours. Exit status: 0 on success, 1 when the tool reports an
//! error (`isError`) or the request is refused (JSON-RPC error), 2 for a bad command line.

use std::process::ExitCode;
use std::sync::Arc;

use rmcp::ServiceExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

use crate::config::{CallArgs, Clusters, Env, ServerArgs};
use crate::server::DsqlServer;
use crate::server::stdio;

/// Parse the JSON argument: it must be an object, as MCP's `tools/call` requires.
pub fn parse_arguments(text: Option<&str>) -> Result<Value, String> {
    let Some(text) = text else { return Ok(json!({})) };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!("the tool arguments are not valid JSON ({e}); give one JSON object in single quotes, e.g. '{{\"sql\":\"SELECT 1\"}}'")
    })?;
    if !value.is_object() {
        return Err(format!("the tool arguments must be a JSON object, not {value}; e.g. '{{\"sql\":\"SELECT 1\"}}'"));
    }
    Ok(value)
}

/// Server flags given before `call` (`aurora-dsql-mcp-rs --local call …`) belong to the server, not to `call`, and
/// would be silently ignored: true when `top` differs from what no flags at all give (environment variables fill both
/// alike, so they do not count).
pub fn flags_before_call(top: &ServerArgs) -> bool {
    use clap::Parser;
    let bare = crate::config::Cli::try_parse_from([super::EXE]).map(|cli| format!("{:?}", cli.server));
    bare.is_ok_and(|bare| bare != format!("{top:?}"))
}

/// The `--http*` flags given to `call` on its command line (their environment variables fill `call`'s flags and a
/// bare parse's alike, so they do not count): `call` runs one tool in this process and listens nowhere, so these
/// would be silently ignored.
pub fn http_flags_given(args: &ServerArgs) -> Vec<&'static str> {
    use clap::Parser;
    let Ok(bare) = crate::config::Cli::try_parse_from([super::EXE]).map(|cli| cli.server) else {
        return Vec::new();
    };
    let differs = [
        ("--http", args.http != bare.http),
        ("--http-token-file", args.http_token_file != bare.http_token_file),
        ("--http-allowed-hosts", args.http_allowed_hosts != bare.http_allowed_hosts),
        ("--http-allowed-origins", args.http_allowed_origins != bare.http_allowed_origins),
        ("--http-max-body-bytes", args.http_max_body_bytes != bare.http_max_body_bytes),
        ("--http-max-concurrent", args.http_max_concurrent != bare.http_max_concurrent),
        ("--http-oauth-issuer", args.http_oauth_issuer != bare.http_oauth_issuer),
        ("--http-resource-url", args.http_resource_url != bare.http_resource_url),
        ("--http-oauth-audience", args.http_oauth_audience != bare.http_oauth_audience),
    ];
    differs.into_iter().filter(|(_, given)| *given).map(|(flag, _)| flag).collect()
}

/// What the tools/call request came back with.
#[derive(Debug)]
pub enum Outcome {
    /// A `result` object; `isError` tells success from a tool-level error.
    Result(Value),
    /// A JSON-RPC error object (unknown tool, bad parameters…), with the server's tool names for the message.
    Refused {
        /// The JSON-RPC `error` object.
        error: Value,
        /// The tools the server offers, to suggest one when the name was unknown.
        tools: Vec<String>,
    },
}

/// Run `tool` with `arguments` through an in-process MCP session with the real server. The server's log
/// notifications (`notifications/message`) come back beside the outcome.
pub async fn call(env: Arc<Env>, tool: &str, arguments: Value) -> Result<(Outcome, Vec<String>), String> {
    call_on(Arc::new(Clusters::single(env)), tool, arguments).await
}

/// [`call`] with every cluster of a `--config` file (the arguments' `cluster` picks one).
pub async fn call_on(clusters: Arc<Clusters>, tool: &str, arguments: Value) -> Result<(Outcome, Vec<String>), String> {
    let (client_writes, server_reads) = tokio::io::duplex(1 << 16);
    let (server_writes, client_reads) = tokio::io::duplex(1 << 16);
    let server = DsqlServer::serving(clusters);
    let serving = tokio::spawn(async move {
        match server.serve(stdio::over(server_reads, server_writes)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::debug!("in-process MCP session did not start: {e}"),
        }
    });
    let mut client = Client { out: client_writes, lines: BufReader::new(client_reads).lines(), logs: Vec::new() };
    let init = client
        .request(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": concat!(env!("CARGO_PKG_NAME"), " call"), "version": env!("CARGO_PKG_VERSION")}}),
        )
        .await?;
    if let Some(error) = init.get("error") {
        return Err(format!("the server refused to initialise: {error}"));
    }
    client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
    let response = client.request(2, "tools/call", json!({"name": tool, "arguments": arguments})).await?;
    let outcome = if let Some(error) = response.get("error") {
        let listed = client.request(3, "tools/list", json!({})).await?;
        let tools = listed["result"]["tools"]
            .as_array()
            .map(|ts| ts.iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Outcome::Refused { error: error.clone(), tools }
    } else {
        Outcome::Result(response.get("result").cloned().unwrap_or(Value::Null))
    };
    let logs = std::mem::take(&mut client.logs);
    // End of input ends the session, as when a client closes the server's stdin.
    drop(client);
    let _ = serving.await;
    Ok((outcome, logs))
}

/// `call` from the command line: run, print, and map the outcome to an exit status.
pub async fn run(args: CallArgs) -> ExitCode {
    let exe = super::EXE;
    let http = http_flags_given(&args.server);
    if !http.is_empty() {
        eprintln!(
            "{exe} call: {} serve MCP over HTTP, which `call` does not do: it runs one tool in this process and \
             prints the result. Leave {} out of the call, or start the server with them ({exe} --http \
             127.0.0.1:8080 …) and call it from an MCP client",
            http.join(", "),
            if http.len() == 1 { "it" } else { "them" }
        );
        return ExitCode::from(2);
    }
    let arguments = match parse_arguments(args.arguments.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{exe} call: {e}");
            return ExitCode::from(2);
        }
    };
    let clusters = match crate::config::clusters(&args.server) {
        Ok(clusters) => clusters,
        Err(e) => {
            eprintln!("{exe} call: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = tokio::select! {
        outcome = call_on(clusters.clone(), &args.tool, arguments) => outcome,
        _ = tokio::signal::ctrl_c() => {
            // Stop the running statement in the database and the local sandbox, as the server does on a signal.
            clusters.stopping.cancel();
            clusters.shutdown().await;
            eprintln!("{exe} call: interrupted");
            return ExitCode::from(130);
        }
    };
    clusters.shutdown().await;
    match outcome {
        Err(e) => {
            eprintln!("{exe} call: {e}");
            ExitCode::FAILURE
        }
        Ok((Outcome::Refused { error, tools }, logs)) => {
            print_logs(&logs, "");
            let message = error["message"].as_str().unwrap_or("refused");
            let code = &error["code"];
            eprintln!("{exe} call {}: {message} (JSON-RPC error {code})", args.tool);
            if !tools.contains(&args.tool) {
                eprintln!("the tools are: {}", tools.join(", "));
            }
            ExitCode::FAILURE
        }
        Ok((Outcome::Result(result), logs)) => {
            let failed = result["isError"].as_bool().unwrap_or(false);
            let text = if args.json { pretty(&result) } else { content_text(&result) };
            print_logs(&logs, &text);
            if failed {
                eprintln!("{text}");
                ExitCode::FAILURE
            } else {
                println!("{text}");
                ExitCode::SUCCESS
            }
        }
    }
}

/// The server's log notifications on stderr, less those that only repeat the printed result.
fn print_logs(logs: &[String], printed: &str) {
    for line in logs {
        let message = line.split_once("] ").map_or(line.as_str(), |(_, m)| m);
        let repeat = message.split_once(": ").map_or(message, |(_, m)| m);
        if !printed.contains(message) && !printed.contains(repeat) {
            eprintln!("{line}");
        }
    }
}

/// The result's content blocks as a person reads them: text blocks as they are, anything else as JSON.
pub fn content_text(result: &Value) -> String {
    let blocks = result["content"].as_array().cloned().unwrap_or_default();
    if blocks.is_empty() {
        return pretty(result.get("structuredContent").unwrap_or(&Value::Null));
    }
    blocks
        .iter()
        .map(|b| match (b["type"].as_str(), b["text"].as_str()) {
            (Some("text"), Some(text)) => text.to_string(),
            _ => pretty(b),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The client half of the in-process session: writes requests, reads lines until the matching response, and
/// keeps the log notifications seen on the way ("\\[level\\] text").
struct Client {
    out: DuplexStream,
    lines: Lines<BufReader<DuplexStream>>,
    logs: Vec<String>,
}

impl Client {
    async fn send(&mut self, message: &Value) -> Result<(), String> {
        let mut line = message.to_string();
        line.push('\n');
        self.out.write_all(line.as_bytes()).await.map_err(|e| format!("in-process MCP session: {e}"))
    }

    async fn request(&mut self, id: i64, method: &str, params: Value) -> Result<Value, String> {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        loop {
            let line = self
                .lines
                .next_line()
                .await
                .map_err(|e| format!("in-process MCP session: {e}"))?
                .ok_or_else(|| format!("the server ended the session before answering {method}"))?;
            let message: Value = serde_json::from_str(&line)
                .map_err(|e| format!("the server sent a line that is not JSON ({e}): {line}"))?;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return Ok(message);
            }
            if message["method"] == "notifications/message" {
                let level = message["params"]["level"].as_str().unwrap_or("info");
                let data = &message["params"]["data"];
                let text = data.as_str().map(str::to_string).unwrap_or_else(|| data.to_string());
                self.logs.push(format!("[{level}] {text}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_must_be_one_json_object() {
        assert_eq!(parse_arguments(None).unwrap(), json!({}));
        assert_eq!(parse_arguments(Some(r#"{"sql":"SELECT 1"}"#)).unwrap(), json!({"sql": "SELECT 1"}));
        let not_json = parse_arguments(Some("SELECT 1")).unwrap_err();
        assert!(not_json.contains("not valid JSON") && not_json.contains(r#"'{"sql":"SELECT 1"}'"#), "{not_json}");
        let not_object = parse_arguments(Some(r#"["SELECT 1"]"#)).unwrap_err();
        assert!(not_object.contains("must be a JSON object"), "{not_object}");
    }

    #[test]
    fn text_blocks_print_as_they_are() {
        let result = json!({"content": [{"type": "text", "text": "{\"a\":1}"}, {"type": "text", "text": "two"}]});
        assert_eq!(content_text(&result), "{\"a\":1}\ntwo");
    }
}
