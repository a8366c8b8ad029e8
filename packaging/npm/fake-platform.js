// Preloaded by launcher.test.js (node --require): makes this Node process look like another platform to the launcher.
// FAKE_PLATFORM replaces process.platform; FAKE_LIBC=musl makes Node's report look like a musl Linux's.
"use strict";
if (process.env.FAKE_PLATFORM) Object.defineProperty(process, "platform", { value: process.env.FAKE_PLATFORM });
if (process.env.FAKE_LIBC === "musl") {
  process.report.getReport = () => ({ header: {}, sharedObjects: [`/lib/ld-musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`] });
}
