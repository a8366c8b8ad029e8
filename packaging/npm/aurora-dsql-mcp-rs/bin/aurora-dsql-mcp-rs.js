#!/usr/bin/env node
// Launcher for `npx -y aurora-dsql-mcp-rs`: runs the compiled server from the per-platform package that npm installed
// as an optional dependency (no install script, no download). stdin/stdout/stderr are the server's own, so MCP flows
// straight through; signals are passed on and the server's exit status becomes ours.
// On Linux the C library decides the package: `-musl` (a static binary) on Alpine and other musl systems, the glibc
// one elsewhere, with the static musl binary as the fallback (it runs on glibc systems too).
"use strict";

const fs = require("node:fs");
const { spawn } = require("node:child_process");

const NAME = "aurora-dsql-mcp-rs";
// The platforms with a prebuilt server are exactly the platform packages this package depends on.
const PLATFORMS = Object.keys(require("../package.json").optionalDependencies || {}).map((dep) =>
  dep.slice(NAME.length + 1),
);

/** "glibc", "musl" or null (not Linux, or not known). `report` and `exists` are for tests. */
function detectLibc(report = process.report && process.report.getReport(), exists = fs.existsSync) {
  if (process.platform !== "linux") return null;
  const header = (report && report.header) || {};
  if (header.glibcVersionRuntime) return "glibc";
  const shared = (report && report.sharedObjects) || [];
  if (shared.some((so) => /(^|\/)(ld-musl-|libc\.musl-)/.test(so))) return "musl";
  if (["/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"].some((f) => exists(f))) return "musl";
  return null;
}

/** Platform package names to try, best first, for this platform/arch/libc. */
function candidates(platform = process.platform, arch = process.arch, libc = detectLibc()) {
  const key = `${platform}-${arch}`;
  if (platform !== "linux") return [`${NAME}-${key}`];
  if (libc === "musl") return [`${NAME}-${key}-musl`];
  return [`${NAME}-${key}`, `${NAME}-${key}-musl`];
}

function noBuildMessage(platform = process.platform, arch = process.arch, libc = detectLibc()) {
  const want = candidates(platform, arch, libc);
  const known = want.filter((pkg) => PLATFORMS.includes(pkg.slice(NAME.length + 1)));
  const here = `${platform}-${arch}${libc === "musl" ? " (musl)" : ""}`;
  const why = known.length
    ? `the package ${known.join(" or ")} is not installed (installed with --omit=optional, --no-optional, or ` +
      `for another platform? reinstall on this machine without those)`
    : `there is no prebuilt server for ${here}`;
  return (
    `${NAME}: ${why}.\n` +
    `Prebuilt: ${PLATFORMS.join(", ")}.\n` +
    "Other ways to run it: `uvx aurora-dsql-mcp-rs` (Python; builds from source where no wheel fits, with Rust), " +
    "or build it from source with Rust 1.94+ (https://rustup.rs): `cargo install --locked aurora-dsql-mcp-rs`, " +
    "then run `aurora-dsql-mcp-rs`.\n"
  );
}

function resolveBinary() {
  const exe = process.platform === "win32" ? `${NAME}.exe` : NAME;
  for (const pkg of candidates()) {
    try {
      return require.resolve(`${pkg}/bin/${exe}`);
    } catch {
      // try the next candidate
    }
  }
  return null;
}

function main() {
  const binary = resolveBinary();
  if (!binary) {
    process.stderr.write(noBuildMessage());
    process.exit(1);
  }
  const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });
  const forward = (signal) => () => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, forward(signal));
  }
  child.on("error", (err) => {
    process.stderr.write(`${NAME}: cannot start ${binary}: ${err.message}\n`);
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
}

if (require.main === module) {
  main();
} else {
  module.exports = { PLATFORMS, detectLibc, candidates, noBuildMessage, resolveBinary };
}
