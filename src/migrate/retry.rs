//! Conflict retries for migration steps and backfill batches: a transaction that fails with SQLSTATE 40001
//! (DSQL's OC000/OC001) is run again, up to [`MAX_ATTEMPTS`] times, with exponential backoff and jitter.
//!
//! Temporary: once `exec::run` retries conflicts itself, this wrapper only counts attempts and can go.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::exec::ExecError;

pub const MAX_ATTEMPTS: u32 = 6;

/// Run `op` until it succeeds, fails with something other than 40001, or [`MAX_ATTEMPTS`] are used; returns the
/// result and the number of attempts made.
pub async fn on_conflict<T, F, Fut>(mut op: F) -> Result<(T, u32), ExecError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ExecError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok((v, attempt)),
            Err(e) if e.sqlstate() == Some("40001") && attempt < MAX_ATTEMPTS => {
                let base = 20u64 << attempt.min(8);
                let jitter = rand::rng().random_range(0..=base);
                tracing::info!("conflict (40001) on attempt {attempt}; retrying in {} ms", base + jitter);
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn conflict() -> ExecError {
        ExecError::Db { sqlstate: Some("40001".into()), text: "ERROR 40001: change conflicts (OC000)".into() }
    }

    #[tokio::test]
    async fn conflicts_are_retried_and_counted() {
        let calls = Cell::new(0);
        let r = on_conflict(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(conflict()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(r.ok(), Some((3, 3)));
        // Other errors are not retried.
        calls.set(0);
        let r: Result<((), u32), _> = on_conflict(|| {
            calls.set(calls.get() + 1);
            async { Err(ExecError::Db { sqlstate: Some("23505".into()), text: "dup".into() }) }
        })
        .await;
        assert_eq!(r.err().and_then(|e| e.sqlstate().map(str::to_string)).as_deref(), Some("23505"));
        assert_eq!(calls.get(), 1);
        // A conflict that never clears stops after MAX_ATTEMPTS.
        calls.set(0);
        let r: Result<((), u32), _> = on_conflict(|| {
            calls.set(calls.get() + 1);
            async { Err(conflict()) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.get(), MAX_ATTEMPTS);
    }
}
