//! When a whole transaction may run again, and how long to wait first. DSQL is optimistic: a transaction that
//! collides with another fails with `40001` (OC000 for rows, OC001 for schema) at a statement or at COMMIT, and
//! the client is expected to run it again. Only failures that prove nothing was committed are retried.

use std::time::Duration;

use rand::Rng;

/// First backoff before the second attempt; doubles each time up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(20);
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// Is this SQLSTATE a conflict that DSQL (or its emulation) expects the client to retry? `OC000`/`OC001` are
/// accepted as codes too, as AWS's connectors do.
pub fn is_conflict(sqlstate: &str) -> bool {
    matches!(sqlstate, "40001" | "OC000" | "OC001")
}

/// Does this SQLSTATE say the server ended the session before the transaction could commit (an administrator
/// terminated the backend, the server is shutting down or crashed)? The transaction was not committed.
pub fn is_session_ended(sqlstate: &str) -> bool {
    matches!(sqlstate, "57P01" | "57P02" | "57P03" | "08006" | "08003")
}

/// Is this SQLSTATE DSQL's transient failure (`XX000 server unavailable`, catalog T13)? Retried automatically
/// only for read-only transactions (project decision of 2026-12-07, where AWS's guidance conflicts): a transaction
/// that wrote is reported, and an `XX000` on its COMMIT leaves the outcome unknown.
pub fn is_transient_for_reads(sqlstate: &str) -> bool {
    sqlstate == "XX000"
}

/// "Full jitter" exponential backoff before attempt `next` (2, 3, …): a random wait in [base·2^(next-2) / 2,
/// base·2^(next-2)], capped. Half of it is kept fixed so that retries of colliding callers still spread out.
pub fn backoff(next: u32) -> Duration {
    let exp = next.saturating_sub(2).min(16);
    let ceiling = BACKOFF_BASE.saturating_mul(1 << exp).min(BACKOFF_CAP);
    let half = ceiling / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        for _ in 0..100 {
            let first = backoff(2);
            assert!(first >= Duration::from_millis(10) && first <= Duration::from_millis(20), "{first:?}");
            let fourth = backoff(4);
            assert!(fourth >= Duration::from_millis(40) && fourth <= Duration::from_millis(80), "{fourth:?}");
            assert!(backoff(30) <= BACKOFF_CAP);
        }
    }

    #[test]
    fn conflicts_and_ended_sessions_are_recognised() {
        assert!(is_conflict("40001") && is_conflict("OC000") && !is_conflict("23505"));
        assert!(is_session_ended("57P01") && !is_session_ended("57014"));
        assert!(is_transient_for_reads("XX000") && !is_transient_for_reads("40001") && !is_conflict("XX000"));
    }
}
