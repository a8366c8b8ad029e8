//! aurora-dsql-mcp-server: an MCP server (stdio) for Amazon Aurora DSQL.
//!
//! The modules follow a request's path: `config` (flags, env) → `auth` (IAM tokens, credentials) → `pool` (connections, the local sandbox) →
//! `sql` (checks before anything is sent) → `exec` (transactions, timeouts, JSON rows) → `migrate` (migration plans,
//! history, backfills, rehearsals) → `tools` (one file per MCP
//! tool; `docs` holds the embedded guides) → `server` (rmcp wiring) → `main`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod docs;
pub mod emulation;
pub mod exec;
pub mod migrate;
pub mod pool;
pub mod server;
pub mod sql;
pub mod sqlstate;
pub mod tools;
