// Tests of the npm launcher (aurora-dsql-mcp-rs/bin/aurora-dsql-mcp-rs.js): which platform package it picks on
// glibc and musl Linux, and what it says where no prebuilt server exists. Run: node --test packaging/npm/launcher.test.js
// (.ci/packaging runs it; the end-to-end install is proven there too, with the real packages).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const launcherPath = path.join(__dirname, "aurora-dsql-mcp-rs", "bin", "aurora-dsql-mcp-rs.js");
const launcher = require(launcherPath);
const pkg = require(path.join(__dirname, "aurora-dsql-mcp-rs", "package.json"));
const never = () => false;

test("the prebuilt platforms are the optional dependencies, with a musl package beside each glibc one", () => {
  assert.deepEqual(launcher.PLATFORMS, Object.keys(pkg.optionalDependencies).map((d) => d.replace(/^aurora-dsql-mcp-rs-/, "")));
  for (const p of launcher.PLATFORMS.filter((p) => p.startsWith("linux-") && !p.endsWith("-musl"))) {
    assert.ok(launcher.PLATFORMS.includes(`${p}-musl`), `${p} has no musl twin`);
  }
});

test("libc detection reads Node's own report: glibc, musl by loaded objects, musl by its loader, else unknown", { skip: process.platform !== "linux" && "Linux only" }, () => {
  assert.equal(launcher.detectLibc({ header: { glibcVersionRuntime: "2.36" }, sharedObjects: [] }, never), "glibc");
  assert.equal(launcher.detectLibc({ header: {}, sharedObjects: ["/lib/ld-musl-x86_64.so.1"] }, never), "musl");
  assert.equal(launcher.detectLibc({ header: {}, sharedObjects: ["/usr/lib/libc.musl-aarch64.so.1"] }, never), "musl");
  assert.equal(launcher.detectLibc({ header: {}, sharedObjects: [] }, (f) => f === "/lib/ld-musl-aarch64.so.1"), "musl");
  assert.equal(launcher.detectLibc({ header: {}, sharedObjects: [] }, never), null);
  assert.equal(launcher.detectLibc(), "glibc", "this CI host runs glibc");
});

test("package choice: musl only on musl; glibc first then the static musl build elsewhere on Linux", () => {
  assert.deepEqual(launcher.candidates("linux", "x64", "musl"), ["aurora-dsql-mcp-rs-linux-x64-musl"]);
  assert.deepEqual(launcher.candidates("linux", "arm64", "glibc"), ["aurora-dsql-mcp-rs-linux-arm64", "aurora-dsql-mcp-rs-linux-arm64-musl"]);
  assert.deepEqual(launcher.candidates("linux", "x64", null), ["aurora-dsql-mcp-rs-linux-x64", "aurora-dsql-mcp-rs-linux-x64-musl"]);
  assert.deepEqual(launcher.candidates("darwin", "arm64", null), ["aurora-dsql-mcp-rs-darwin-arm64"]);
});

test("no build for the platform: the message names every prebuilt platform and how to build from source", () => {
  const text = launcher.noBuildMessage("freebsd", "x64", null);
  assert.match(text, /no prebuilt server for freebsd-x64/);
  for (const p of launcher.PLATFORMS) assert.ok(text.includes(p), `${p} missing from: ${text}`);
  assert.match(text, /cargo install --locked aurora-dsql-mcp-rs/);
  assert.match(text, /rustup\.rs/);
  const missing = launcher.noBuildMessage("linux", "x64", "musl");
  assert.match(missing, /aurora-dsql-mcp-rs-linux-x64-musl is not installed/);
});

// The launcher run as a program, as npx runs it, on a pretend platform (fake-platform.js, preloaded, replaces
// process.platform or Node's report): it must exit 1 with the message, never spawn anything or crash.
function runAs(env) {
  return spawnSync(process.execPath, ["--require", path.join(__dirname, "fake-platform.js"), launcherPath, "--help"], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
}

test("run on a platform without a build: exit 1 and the message on stderr, nothing on stdout", () => {
  const run = runAs({ FAKE_PLATFORM: "freebsd" });
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /no prebuilt server for freebsd-/);
  assert.match(run.stderr, /cargo install --locked aurora-dsql-mcp-rs/);
});

test("run on musl Linux without the musl package: it looks for the -musl package, not the glibc one", { skip: process.platform !== "linux" && "Linux only" }, () => {
  const run = runAs({ FAKE_LIBC: "musl" });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`aurora-dsql-mcp-rs-linux-${process.arch}-musl is not installed`));
  assert.doesNotMatch(run.stderr, new RegExp(`aurora-dsql-mcp-rs-linux-${process.arch} or`));
});
