//! A connection goes back to the pool as it came out: nothing a call does survives it.
//!
//! On PostgreSQL (the local sandbox, `--database-url`) the end of the transaction carries, in the same message and
//! so in the same round trip, what resets the session and a check of what cannot be reset:
//! - after a read (`BEGIN READ ONLY` … `ROLLBACK`), settings, role, cursors, `LISTEN` and temporary objects are
//!   undone by the rollback itself (a read-only transaction cannot create or write anything), so only
//!   session-level advisory locks (released) and SQL-level prepared statements (checked) can remain;
//! - after a write, the session is reset as `DISCARD ALL` would, minus `DEALLOCATE ALL` (it would drop the
//!   statements this server keeps prepared on the connection): session authorization and role, every setting,
//!   cursors, `LISTEN`, temporary objects, sequence state and advisory locks; SQL-level prepared statements are
//!   checked.
//!
//! A session whose reset did not run or did not answer as expected (a prepared statement left behind, an end
//! that failed) is not reused: the connection is dropped. Measured on one call's answer, never a round trip more.
//!
//! On DSQL a read leaves nothing behind (no advisory locks, no `PREPARE`, no temporary tables, no `LISTEN`; a
//! rollback undoes settings), so reads end with a bare `ROLLBACK` and cost nothing more; a write that contains a
//! `SET` or `RESET` does not return its connection to the pool.

use std::sync::atomic::Ordering;

use futures::StreamExt;
use tokio_postgres::{Client, Error, SimpleQueryMessage};

use super::{Attempt, TxMode};

/// The query that checks what cannot be reset; its second column is `t` when the session is not clean. Every
/// name is qualified, so nothing the agent created can stand in for it. The function, not the view
/// `pg_prepared_statements` over it: measured as PostgreSQL's CPU per call (pgbench, 20,000 calls), a read costs
/// 14–16 µs bare, 21–27 µs with the advisory-lock release, 37–45 µs with this check through the function and
/// 42–54 µs through the view; a write 13–15 µs bare and 37–43 µs with the whole reset.
macro_rules! check {
    () => {
        "SELECT pg_catalog.pg_advisory_unlock_all(), \
         EXISTS (SELECT FROM pg_catalog.pg_prepared_statement() p WHERE p.from_sql) AS dirty"
    };
}

/// After a read: the rollback undoes the rest.
const READ_END: &str = concat!("ROLLBACK; ", check!());
/// After a write's end: `DISCARD ALL` without `DEALLOCATE ALL`, then the check.
const WRITE_RESET: &str = concat!(
    "SET SESSION AUTHORIZATION DEFAULT; RESET ALL; RESET ROLE; CLOSE ALL; UNLISTEN *; DISCARD TEMP; \
     DISCARD SEQUENCES; ",
    check!()
);

/// End the transaction (`COMMIT`, or `ROLLBACK` after reads) with the reset. The result is the end's own: a
/// failure of the reset after a successful end marks the connection as not reusable and is not the call's.
pub(super) async fn end(client: &Client, a: &Attempt<'_>) -> Result<(), Error> {
    finish(client, a, a.mode, a.mode == TxMode::ReadWrite).await
}

/// End the transaction with `ROLLBACK` after a failure, with the reset a write needs (statements before the
/// failure may have changed the session in ways a rollback does not undo).
pub(super) async fn rollback(client: &Client, a: &Attempt<'_>) -> Result<(), Error> {
    finish(client, a, TxMode::ReadOnly, a.mode == TxMode::ReadWrite).await
}

async fn finish(client: &Client, a: &Attempt<'_>, end: TxMode, wrote: bool) -> Result<(), Error> {
    if !a.reset_session {
        if wrote && a.statements.iter().any(|s| matches!(s.command.as_str(), "SET" | "RESET")) {
            // DSQL: a session-level setting would outlive the call; this connection is not reused.
            a.poisoned.store(true, Ordering::Relaxed);
        }
        return client.batch_execute(end.end()).await;
    }
    let text = match (end, wrote) {
        (TxMode::ReadOnly, false) => READ_END.to_string(),
        (end, _) => format!("{}; {WRITE_RESET}", end.end()),
    };
    let (ended, clean) = run(client, &text).await;
    if !clean {
        a.poisoned.store(true, Ordering::Relaxed);
    }
    ended
}

/// Send `text` (the end, then the reset and the `check!()` query) and read its answers: the end's result, and
/// whether the session was shown clean.
async fn run(client: &Client, text: &str) -> (Result<(), Error>, bool) {
    let stream = match client.simple_query_raw(text).await {
        Ok(stream) => stream,
        Err(e) => return (Err(e), false),
    };
    futures::pin_mut!(stream);
    let mut completed = 0usize;
    let mut clean = false;
    while let Some(message) = stream.next().await {
        match message {
            Ok(SimpleQueryMessage::CommandComplete(_)) => completed += 1,
            Ok(SimpleQueryMessage::Row(row)) => clean = row.get(1) == Some("f"),
            Ok(_) => {}
            // The first command is the end: an error before it completed is the end's; after, the reset's.
            Err(e) if completed == 0 => return (Err(e), false),
            Err(e) => {
                tracing::warn!("the session reset after the call failed ({e}); the connection is not reused");
                return (Ok(()), false);
            }
        }
    }
    (Ok(()), clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_text_ends_with_the_check() {
        assert!(READ_END.starts_with("ROLLBACK; SELECT pg_catalog.pg_advisory_unlock_all()"));
        assert!(
            WRITE_RESET.ends_with("WHERE p.from_sql) AS dirty") && WRITE_RESET.contains("DISCARD SEQUENCES; SELECT")
        );
    }
}
