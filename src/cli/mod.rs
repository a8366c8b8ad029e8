//! What the executable does besides serving MCP on stdio: the one-shot `call` subcommand, the banner a person at a
//! terminal sees, and the log on stderr (what it must never carry). Flags and the state built from them are
//! `config`'s; this room only uses them.

pub mod banner;
pub mod call;
pub mod logging;

/// The executable's name on every registry (crates.io, PyPI, npm) and on PATH.
pub const EXE: &str = env!("CARGO_PKG_NAME");
