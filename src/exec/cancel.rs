//! Who may stop a running call: the MCP client (`notifications/cancelled`), or the server itself when its client
//! went away (EOF on stdin). The server puts a token in scope around each tool call; `exec::run` and everything it
//! waits on (a pooled connection, a retry backoff, the statements) watch it, so every tool that runs SQL can be
//! stopped without threading a parameter through each of them.

use std::future::Future;

pub use tokio_util::sync::CancellationToken;

tokio::task_local! {
    static CURRENT: CancellationToken;
}

/// Run `work` with `token` as the call's stop signal.
pub async fn scope<F: Future>(token: CancellationToken, work: F) -> F::Output {
    CURRENT.scope(token, work).await
}

/// The stop signal of the call being run, if the caller set one.
pub fn current() -> Option<CancellationToken> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Resolves when `token` is cancelled; never when there is none.
pub async fn stopped(token: Option<&CancellationToken>) {
    match token {
        Some(t) => t.cancelled().await,
        None => std::future::pending().await,
    }
}
