//! When a whole transaction may run again, and how long to wait first. DSQL is optimistic: a transaction that
//! collides with another fails with `40001` (OC000 for rows, OC001 for schema) at a statement or at COMMIT, and
//! the client is expected to run it again. Only failures that prove nothing was committed are retried.

use std::time::Duration;

use rand::Rng;

use super::TxMode;
use crate::sqlstate;

/// First backoff before the second attempt; doubles each time up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(20);
/// The longest backoff between two attempts.
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// Why a failed transaction may run again: every case proves that nothing was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// An optimistic-concurrency conflict (`40001`; `OC000`/`OC001` accepted as codes too, as AWS's connectors do):
    /// DSQL expects the client to run the transaction again.
    Conflict,
    /// The server ended the session before the transaction could commit (an administrator terminated the
    /// backend, the server is shutting down or crashed, the connection was lost before COMMIT was sent).
    SessionEnded,
    /// DSQL's transient `XX000 server unavailable` (catalog T13) in a read-only transaction. Retried for reads only
    /// (project decision of 2026-12-07, where AWS's guidance conflicts): a transaction that wrote is reported, and
    /// an `XX000` on its COMMIT leaves the outcome unknown.
    TransientRead,
}

impl Retry {
    /// The one decision: whether a transaction in `mode` that failed with `sqlstate` may run again, and why.
    pub fn of(sqlstate: &str, mode: TxMode) -> Option<Retry> {
        match sqlstate {
            sqlstate::SERIALIZATION_FAILURE | sqlstate::DSQL_DATA_CONFLICT | sqlstate::DSQL_SCHEMA_CONFLICT => {
                Some(Retry::Conflict)
            }
            sqlstate::ADMIN_SHUTDOWN
            | sqlstate::CRASH_SHUTDOWN
            | sqlstate::CANNOT_CONNECT_NOW
            | sqlstate::CONNECTION_FAILURE
            | sqlstate::CONNECTION_DOES_NOT_EXIST => Some(Retry::SessionEnded),
            sqlstate::INTERNAL_ERROR if mode == TxMode::ReadOnly => Some(Retry::TransientRead),
            _ => None,
        }
    }
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
    fn conflicts_and_ended_sessions_are_retried_in_any_transaction() {
        for mode in [TxMode::ReadOnly, TxMode::ReadWrite] {
            for code in ["40001", "OC000", "OC001"] {
                assert_eq!(Retry::of(code, mode), Some(Retry::Conflict), "{code}");
            }
            for code in ["57P01", "57P02", "57P03", "08006", "08003"] {
                assert_eq!(Retry::of(code, mode), Some(Retry::SessionEnded), "{code}");
            }
        }
    }

    #[test]
    fn a_transient_internal_error_is_retried_for_reads_only() {
        assert_eq!(Retry::of("XX000", TxMode::ReadOnly), Some(Retry::TransientRead));
        assert_eq!(Retry::of("XX000", TxMode::ReadWrite), None);
    }

    #[test]
    fn everything_else_is_reported() {
        for code in ["23505", "57014", "25006", "54000", "40P01", "55P03", "42601", "0A000", ""] {
            assert_eq!(Retry::of(code, TxMode::ReadOnly), None, "{code}");
            assert_eq!(Retry::of(code, TxMode::ReadWrite), None, "{code}");
        }
    }
}
