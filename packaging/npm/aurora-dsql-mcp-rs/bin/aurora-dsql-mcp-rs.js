#!/usr/bin/env node
// Launcher for `npx -y aurora-dsql-mcp-rs`: runs the compiled server from the per-platform package that npm installed
// as an optional dependency (no install script, no download). stdin/stdout/stderr are the server's own, so MCP flows
// straight through; signals are passed on and the server's exit status becomes ours.
"use strict";

const { spawn } = require("node:child_process");

const key = `${process.platform}-${process.arch}`;
const supported = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"];
const pkg = `aurora-dsql-mcp-rs-${key}`;
const exe = process.platform === "win32" ? "aurora-dsql-mcp-rs.exe" : "aurora-dsql-mcp-rs";

let binary;
try {
  binary = require.resolve(`${pkg}/bin/${exe}`);
} catch {
  const why = supported.includes(key)
    ? `the package ${pkg} is not installed (was it installed with --omit=optional or --no-optional? reinstall without it)`
    : `there is no prebuilt server for ${key} (prebuilt: ${supported.join(", ")})` +
      (process.platform === "win32" ? "; on Windows, run it inside WSL" : "");
  process.stderr.write(
    `aurora-dsql-mcp-rs: ${why}.\n` +
      "Other ways to run it: `uvx aurora-dsql-mcp-rs` (Python wheel) or `cargo install aurora-dsql-mcp-rs` (builds from source).\n",
  );
  process.exit(1);
}

const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });
const forward = (signal) => () => child.kill(signal);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, forward(signal));
}
child.on("error", (err) => {
  process.stderr.write(`aurora-dsql-mcp-rs: cannot start ${binary}: ${err.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
