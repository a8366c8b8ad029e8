//! A real third-party MCP client — the official Python SDK — lists the tools and runs a query in local mode.
//! The interpreter comes from AURORA_DSQL_MCP_PYTHON (a venv with `pip install mcp`, as .ci/run makes) or
//! `python3`. Without the SDK the test says how to install it; under CI (CI=true) a missing SDK is a failure.

mod common;

use std::process::Command;

#[test]
fn official_python_sdk_lists_tools_and_queries() {
    let python = std::env::var("AURORA_DSQL_MCP_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_sdk = Command::new(&python).args(["-c", "import mcp"]).output().is_ok_and(|o| o.status.success());
    if !has_sdk {
        let msg = format!(
            "the MCP Python SDK is not importable by {python}; install it with `python3 -m venv /tmp/mcp-venv && \
             /tmp/mcp-venv/bin/pip install mcp` and set AURORA_DSQL_MCP_PYTHON=/tmp/mcp-venv/bin/python"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python_sdk_check.py");
    let out = Command::new(&python)
        .args([script, common::BIN, &common::sandbox_dir().display().to_string()])
        .env("AURORA_DSQL_MCP_LOG", "warn")
        .output()
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python SDK check failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"answer\": 42"), "{stdout}");
}
