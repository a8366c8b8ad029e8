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
