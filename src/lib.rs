//! aurora-dsql-mcp-server: an MCP server (stdio) for Amazon Aurora DSQL.
//!
//! The modules follow a request's path: `config` (flags and env → settings → the shared state) → `auth` (IAM tokens, credentials) → `pool` (connections, the local sandbox) →
//! `sql` (checks before anything is sent) → `exec` (transactions, timeouts, JSON rows) → `migrate` (migration plans,
//! history, backfills, rehearsals) → `tools` (one file per MCP
//! tool; `docs` holds the embedded guides) → `server` (rmcp wiring) → `main`.
//!
//! Which room may use which, one `tools/call` traced end to end, and where to change what: `ARCHITECTURE.md` at the
//! repository root (checked against this source by `tests/architecture.rs`).

#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod docs;
pub mod emulation;
pub mod error_chain;
pub mod exec;
pub mod explain;
pub mod http;
pub mod migrate;
pub mod platform;
pub mod pool;
pub mod server;
pub mod sql;
pub mod sqlstate;
pub mod tools;
