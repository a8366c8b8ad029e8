//! A call's deadline (`--statement-timeout`) as ONE tokio timer for the whole call: the wait for a pooled
//! connection, every attempt and every backoff between attempts. After the call the timer is kept registered
//! ([`keep`]) until it would have fired.
//!
//! Why keep it: tokio wakes its event loop through an eventfd whenever a timer is registered that is earlier than
//! every timer it had when it last went to sleep. With nothing left from the previous call, that was every call:
//! one `write` to the eventfd per timer plus an extra turn of the event loop (perf on localhost `SELECT 1`: 1.33
//! eventfd writes and ~1 extra `epoll_wait` per call). With the last call's timer still registered, the next
//! call's deadline is later than it, so registering costs no system call. The price: one wake-up, `timeout` after
//! the last call, when the kept timer fires with nobody waiting on it.

use std::cell::RefCell;
use std::pin::Pin;

use tokio::time::{Instant, Sleep};

/// The deadline of one call.
pub struct Deadline {
    at: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Deadline {
    /// A deadline at `at`, its timer registered now.
    pub fn new(at: Instant) -> Deadline {
        Deadline { at, sleep: Box::pin(tokio::time::sleep_until(at)) }
    }

    /// When the call's time is up.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Resolves when the deadline is reached. Polled by several `select!`s in turn: the same timer each time.
    pub async fn reached(&mut self) {
        self.sleep.as_mut().await
    }
}

thread_local! {
    /// The timer of the last finished call on this thread (the server runs on one), until it fires or the next
    /// call finishes. Dropping a timer after its runtime has shut down is allowed (tokio fires every timer at
    /// shutdown, after which dropping one touches nothing).
    static KEPT: RefCell<Option<Pin<Box<Sleep>>>> = const { RefCell::new(None) };
}

/// Keep `deadline`'s timer registered after its call; the one kept before is dropped (deregistering a timer costs
/// no system call). An elapsed timer is not kept.
pub fn keep(deadline: Deadline) {
    if deadline.sleep.is_elapsed() {
        return;
    }
    KEPT.with(|kept| *kept.borrow_mut() = Some(deadline.sleep));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn kept_one() -> bool {
        KEPT.with(|kept| kept.borrow().is_some())
    }

    #[tokio::test]
    async fn one_timer_serves_several_waits_and_only_a_pending_one_is_kept() {
        let mut far = Deadline::new(Instant::now() + Duration::from_secs(3600));
        for _ in 0..2 {
            // Not reached: the select takes the ready branch, and the next wait polls the same timer again.
            let reached = tokio::select! {
                biased;
                _ = far.reached() => true,
                _ = std::future::ready(()) => false,
            };
            assert!(!reached);
        }
        assert!(!kept_one());
        keep(far);
        assert!(kept_one(), "a pending timer is kept");
        KEPT.with(|kept| kept.borrow_mut().take());
        let mut due = Deadline::new(Instant::now());
        due.reached().await;
        keep(due);
        assert!(!kept_one(), "an elapsed timer is not kept");
    }
}
