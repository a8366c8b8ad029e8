//! The server's own catalog reads (`get_schema`'s), kept prepared on each connection, so PostgreSQL parses and
//! plans them once per connection instead of on every call: about half of their time in the database.
//!
//! Only fixed texts written in this crate are kept ([`super::run_catalog_reads`]); a user's statements always run
//! unnamed, so the cache cannot grow with what agents send and a user's DDL can never meet a stale plan.
//!
//! Keeping a statement costs no round trip. The first call on a connection runs it unnamed as before and sends
//! the named `Parse` in the same write; its answer comes back with the others. Later calls bind the kept
//! statement. The cache is deadpool's, per connection, so it goes away with the connection. PostgreSQL keeps
//! protocol-level prepared statements outside transactions, so a rolled-back call does not lose them (DSQL: R21,
//! protocol-level prepared statements work).

use std::task::{Context, Poll, Waker};

use deadpool_postgres::StatementCache;
use futures::future::BoxFuture;
use tokio_postgres::{Client, Error, Statement};

/// A catalog read's kept statement, or the prepare that will keep it.
pub(super) enum Kept<'c> {
    /// Prepared on this connection by an earlier call: bind it.
    Ready(Statement),
    /// Not yet: the named `Parse` has been handed to the connection; drive this future with the call's other
    /// requests (its answer arrives in the same round trip) and run the statement unnamed this time.
    Preparing(BoxFuture<'c, Result<Statement, Error>>),
}

/// The kept statement for `text` on this connection, or start keeping it.
pub(super) fn keep<'c>(cache: &'c StatementCache, client: &'c Client, text: &'c str) -> Kept<'c> {
    // No parameter types given: PostgreSQL infers them, as for the unnamed statement (the texts cast them).
    let mut preparing: BoxFuture<'c, Result<Statement, Error>> = Box::pin(cache.prepare_typed(client, text, &[]));
    // Polled once here so a cached statement is known before the call's requests are written: on a hit the cache
    // answers at once; on a miss this poll hands the `Parse` to the connection and returns Pending. Later polls
    // (with the call's real waker) read its answer.
    match preparing.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(statement)) => Kept::Ready(statement),
        // Not cached (the cache keeps only successes); the statement runs unnamed and reports its own error.
        Poll::Ready(Err(e)) => Kept::Preparing(Box::pin(async move { Err(e) })),
        Poll::Pending => Kept::Preparing(preparing),
    }
}
