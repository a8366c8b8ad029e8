//! When the DSQL emulation's async jobs (`CREATE INDEX ASYNC`, `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`) finish.
//! On DSQL a job is `submitted` when its statement returns and completes later; until then its index is not valid
//! (catalog X12: `ADD CONSTRAINT … USING INDEX` answers `55000`). Here a job stays `submitted` until it is waited
//! on (`CALL sys.wait_for_job('<id>')`, which completes it, or a migration waiting for it) or, "in the
//! background", until the first call of this server that starts [`AsyncJobs::delay`] or more after the job was
//! submitted: that call completes it before it runs. No timer task: a job never changes state in the middle of a
//! call, and a test observes the rule by the calls it makes, never by sleeping.
//!
//! Jobs submitted by another server (or before a restart) complete when waited on, or at the next start of a
//! server on the database once they are older than the delay ([`sweep_sql`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable that sets [`AsyncJobs::delay`], in whole seconds.
pub const DELAY_VAR: &str = "AURORA_DSQL_LOCAL_JOB_SECONDS";
/// The default delay: DSQL's builds of small tables take a few seconds; the recorded `ADD CONSTRAINT` issued right
/// after the `CREATE` was refused.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(10);

/// The jobs this server submitted and has not completed yet.
#[derive(Debug)]
pub struct AsyncJobs {
    delay: Duration,
    /// (job id, when it is due).
    pending: Mutex<Vec<(String, Instant)>>,
}

impl Default for AsyncJobs {
    fn default() -> Self {
        AsyncJobs::new(DEFAULT_DELAY)
    }
}

impl AsyncJobs {
    /// No pending jobs; each job submitted later completes `delay` after its submission.
    pub fn new(delay: Duration) -> AsyncJobs {
        AsyncJobs { delay, pending: Mutex::new(Vec::new()) }
    }

    /// The delay from [`DELAY_VAR`], or the default. Error: the value and what it must be.
    pub fn from_env() -> Result<AsyncJobs, String> {
        match std::env::var(DELAY_VAR) {
            Err(_) => Ok(AsyncJobs::default()),
            Ok(v) => v.trim().parse::<u64>().map(|s| AsyncJobs::new(Duration::from_secs(s))).map_err(|_| {
                format!("{DELAY_VAR}={v:?} is not a number of seconds; set it to a whole number such as 10 (0: jobs complete at the next call)")
            }),
        }
    }

    /// How long after submission a job completes, unless someone waits for it first.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Job `id` was just submitted.
    pub fn submitted(&self, id: &str) {
        self.lock().push((id.to_string(), Instant::now() + self.delay));
    }

    /// Someone waits for job `id`: it is due now.
    pub fn waited_on(&self, id: &str) {
        let now = Instant::now();
        let mut pending = self.lock();
        match pending.iter_mut().find(|(j, _)| j == id) {
            Some((_, due)) => *due = now,
            None => pending.push((id.to_string(), now)),
        }
    }

    /// Take the jobs due before a call whose statements are `texts`: those past their delay, and those the
    /// statements wait for (`CALL sys.wait_for_job('<id>')`, so it also works in a read-only transaction).
    pub fn take_due<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        for text in texts {
            for id in waited_ids(text) {
                self.waited_on(&id);
            }
        }
        let now = Instant::now();
        let mut pending = self.lock();
        let (due, later): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(_, at)| *at <= now);
        *pending = later;
        due.into_iter().map(|(id, _)| id).collect()
    }

    /// Put back jobs whose completion failed (tried again at the next call).
    pub fn retry(&self, ids: Vec<String>) {
        let now = Instant::now();
        self.lock().extend(ids.into_iter().map(|id| (id, now)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Instant)>> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether `id` has the shape of a job id (26 lowercase base32 characters), so it can be written into SQL.
pub fn is_job_id(id: &str) -> bool {
    id.len() == 26 && id.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

/// The job ids of `sys.wait_for_job('<id>')` calls in `text` (any spelling case; ids of another shape are left to
/// the procedure, which refuses them).
fn waited_ids(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("wait_for_job") {
        rest = &rest[at + "wait_for_job".len()..];
        let args = rest.trim_start().strip_prefix('(').map(str::trim_start).and_then(|a| a.strip_prefix('\''));
        if let Some(id) = args.and_then(|a| a.get(..26)).filter(|id| is_job_id(id)) {
            out.push(id.to_string());
        }
    }
    out
}

/// One simple-query batch that completes `ids` (shapes checked by [`is_job_id`]) and any job older than `delay`,
/// without waiting long for a row another session holds.
pub fn complete_sql(ids: &[String], delay: Duration) -> String {
    let list: Vec<String> = ids.iter().filter(|id| is_job_id(id)).map(|id| format!("'{id}'")).collect();
    format!(
        "BEGIN; SET LOCAL lock_timeout = '100ms'; CALL sys.complete_jobs(ARRAY[{}]::text[], {}); COMMIT;",
        list.join(", "),
        delay.as_secs()
    )
}

/// SQL run at every start of a server on the database: completes the jobs older than `delay` (left by a server
/// that stopped, or submitted long ago by another one).
pub fn sweep_sql(delay: Duration) -> String {
    format!("CALL sys.complete_jobs(ARRAY[]::text[], {});", delay.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "abcdefghijklmnopqrstuvwxyz";
    const B: &str = "bbcdefghijklmnopqrstuvwx23";

    #[test]
    fn a_job_is_due_after_its_delay_or_when_waited_on() {
        let later = AsyncJobs::new(Duration::from_secs(3600));
        later.submitted(A);
        later.submitted(B);
        assert!(later.take_due(["SELECT 1"]).is_empty());
        assert_eq!(later.take_due([format!("CALL sys.WAIT_FOR_JOB( '{B}' )").as_str()]), vec![B.to_string()]);
        assert!(later.take_due([]).is_empty(), "taken once");
        later.waited_on(A);
        assert_eq!(later.take_due([]), vec![A.to_string()]);
        let now = AsyncJobs::new(Duration::ZERO);
        now.submitted(A);
        assert_eq!(now.take_due([]), vec![A.to_string()]);
    }

    #[test]
    fn only_job_id_shapes_reach_the_sql() {
        assert_eq!(waited_ids("CALL sys.wait_for_job('no-such-job')"), Vec::<String>::new());
        assert_eq!(waited_ids(&format!("call sys.wait_for_job('{A}'); call sys.wait_for_job('{B}')")), [A, B]);
        let sql = complete_sql(&[A.to_string(), "x'); DROP TABLE t; --".to_string()], Duration::from_secs(10));
        assert_eq!(
            sql,
            format!(
                "BEGIN; SET LOCAL lock_timeout = '100ms'; CALL sys.complete_jobs(ARRAY['{A}']::text[], 10); COMMIT;"
            )
        );
    }
}
