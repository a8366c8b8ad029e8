//! What the executable does besides serving MCP on stdio: building the tools' environment from the flags (shared
//! with `serve`), the one-shot `call` subcommand, the banner a person at a terminal sees, and the log on stderr (what it must never carry).

pub mod banner;
pub mod call;
pub mod logging;

use std::sync::Arc;

use crate::config::ServerArgs;
use crate::tools::{Env, Settings};

/// The executable's name on every registry (crates.io, PyPI, npm) and on PATH.
pub const EXE: &str = env!("CARGO_PKG_NAME");

/// The tools' environment for these flags: settings plus the optional remote documentation server.
pub fn env_from_args(args: &ServerArgs) -> Result<Arc<Env>, String> {
    let settings = Settings::from_args(args);
    let knowledge = match &args.knowledge_server {
        None => None,
        Some(url) => {
            let timeout = std::time::Duration::from_secs_f64(args.knowledge_timeout.max(0.0));
            let server = crate::docs::remote::KnowledgeServer::new(url, timeout)
                .map_err(|e| format!("--knowledge-server: {e}"))?;
            Some(server)
        }
    };
    Ok(Arc::new(Env::new(settings, knowledge)))
}
