//! Settings in one place: the command line and environment, typed ([`args`]: clap, closed choices as enums) →
//! the decisions made from them once ([`Settings`]: the database target, limits, the checks' policy…) → the
//! application state built from those ([`Env`]: the lazy database, caches, the stop token); with `--config`, a
//! TOML file ([`file`](mod@file)) names several clusters, each a `Settings` and an `Env` ([`Clusters`]). The server, `call` and
//! `token` all start here; nothing after this room reads a flag or re-derives a decision.

pub mod args;
pub mod clusters;
pub mod file;
pub mod principal;
pub mod settings;
pub mod state;
pub mod target;

use std::sync::Arc;

pub use args::{CallArgs, Cli, Command, ConfirmDestructive, ServerArgs, TokenArgs};
pub use clusters::Clusters;
pub use principal::Principal;
pub use settings::{Knowledge, Settings};
pub use state::Env;
pub use target::{DsqlTarget, Missing, Target};

/// The application state for these flags and the process's environment (serve and `call` alike).
pub fn env(args: &ServerArgs) -> Result<Arc<Env>, String> {
    Ok(Arc::new(Env::new(Settings::from_args(args))?))
}

/// Every cluster the flags and the `--config` file define, each with its own application state.
pub fn clusters(args: &ServerArgs) -> Result<Arc<Clusters>, String> {
    Ok(Arc::new(Clusters::from_args(args)?))
}
