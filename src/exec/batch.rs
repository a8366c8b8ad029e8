//! Consecutive statements sent as ONE simple-protocol query, so PostgreSQL answers them with one flush instead of
//! one per statement.
//!
//! tokio-postgres ends every extended-protocol request with its own `Sync`, and PostgreSQL answers and flushes each
//! one separately (rust-postgres issue 1213). For 50 INSERTs that is most of the database's time: measured through
//! the same TLS connection, 4.5 ms per statement-with-its-own-`Sync` against 1.7 ms with one flush for all
//! (BENCHMARKS.md). A simple query carries many statements and is answered once.
//!
//! What makes it safe: the extended protocol refuses a text holding two statements, so a statement hidden from our
//! checks could never run. A simple query runs every statement PostgreSQL finds in its text. So only **lexically
//! plain** texts are joined ([`plain`]): no `;`, no backslash, no `$`, no comments. In such a text every token that
//! could hide a `;` (a quoted string or identifier) ends at the same place for any reader — ours, sqlparser,
//! PostgreSQL with either `standard_conforming_strings` — and there is no `;` to hide anyway. Joined with a newline
//! before each `;`, PostgreSQL reads exactly the statements we checked, one each. Anything else (bound parameters,
//! a literal holding `;`, a comment) is sent as its own extended-protocol statement, as before.
//!
//! `BEGIN` is always a request of its own before any batch: a batch that PostgreSQL cannot parse fails as a whole
//! before running anything, and must fail inside the transaction so the statements pipelined after it answer
//! `25P02` instead of running on their own.

use std::ops::Range;

use futures::StreamExt;
use tokio_postgres::{Client, Error, SimpleQueryMessage};

/// The most text one batch carries. PostgreSQL takes far more; DSQL answers no message over 10 MiB (catalog C12,
/// `exec::message_size`) and publishes nothing about long queries below that, so a large call goes as several
/// small batches rather than one that might meet a limit nobody wrote down.
pub(super) const MAX_BYTES: usize = 64 * 1024;

/// The separator between joined statements: the newline first, so it would end a line comment (there is none:
/// plain texts have no `--`).
const SEPARATOR: &str = "\n;\n";

/// Which statements go together: runs of two or more consecutive statements that `joinable` accepts, each run's
/// joined text at most `max_bytes` long (a single statement longer than that goes on its own). `lens`: each
/// statement's length in bytes.
pub(super) fn runs(lens: &[usize], joinable: impl Fn(usize) -> bool, max_bytes: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let close = |out: &mut Vec<Range<usize>>, run: Range<usize>| {
        if run.len() >= 2 {
            out.push(run);
        }
    };
    let (mut start, mut bytes) = (0, 0);
    for (i, &len) in lens.iter().enumerate() {
        if !joinable(i) {
            close(&mut out, start..i);
            (start, bytes) = (i + 1, 0);
        } else if i > start && bytes + SEPARATOR.len() + len > max_bytes {
            close(&mut out, start..i);
            (start, bytes) = (i, len);
        } else {
            bytes += if i > start { SEPARATOR.len() + len } else { len };
        }
    }
    close(&mut out, start..lens.len());
    out
}

/// True when `text` can be joined with others into one simple query without changing what PostgreSQL reads.
pub(super) fn plain(text: &str) -> bool {
    !text.is_empty()
        && !text.bytes().any(|b| matches!(b, b';' | b'\\' | b'$' | 0))
        && !text.contains("--")
        && !text.contains("/*")
}

/// Statements `range` of a call, joined into one simple query.
pub(super) struct Batch {
    pub range: Range<usize>,
    pub text: String,
    /// Where each statement starts in `text`, in characters (PostgreSQL's error positions count characters).
    starts: Vec<usize>,
}

impl Batch {
    /// Join `texts` (statements `first..`); each must be [`plain`].
    pub fn new(first: usize, texts: &[&str]) -> Batch {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(texts.len());
        let mut chars = 0;
        for (i, t) in texts.iter().enumerate() {
            debug_assert!(plain(t), "joined a statement that is not plain: {t}");
            if i > 0 {
                text.push_str(SEPARATOR);
                chars += SEPARATOR.len();
            }
            starts.push(chars);
            text.push_str(t);
            chars += t.chars().count();
        }
        Batch { range: first..first + texts.len(), text, starts }
    }

    /// Which statement of the call failed, and the error's position within it (1-based characters) when the error
    /// has one inside that statement. `completed`: statements of this batch the database finished before failing.
    pub fn failed_at(&self, completed: usize, e: &Error) -> (usize, Option<u32>) {
        let position = super::errors::position(e).map(|p| p as usize);
        // Statement k owns the characters from its start up to the next one's (its separator included).
        let within = |k: usize| {
            let start = self.starts[k];
            let end = self.starts.get(k + 1).copied().unwrap_or(usize::MAX);
            position.filter(|p| *p > start && *p <= end).map(|p| (p - start) as u32)
        };
        // A batch PostgreSQL could not parse ran nothing: the position says which statement it stopped at.
        let k = if completed == 0 {
            (0..self.starts.len()).find(|&k| within(k).is_some()).unwrap_or(0)
        } else {
            completed.min(self.starts.len() - 1)
        };
        (self.range.start + k, within(k))
    }
}

/// What the database answered to a batch: the rows each finished statement affected (its command tag's count),
/// and the error that stopped it, if any.
pub(super) struct BatchDone {
    pub counts: Vec<u64>,
    pub error: Option<Error>,
}

/// Send the batch (one request) and read its answers.
pub(super) async fn run(client: &Client, batch: &Batch) -> BatchDone {
    let mut counts = Vec::with_capacity(batch.range.len());
    let stream = match client.simple_query_raw(&batch.text).await {
        Ok(stream) => stream,
        Err(e) => return BatchDone { counts, error: Some(e) },
    };
    futures::pin_mut!(stream);
    while let Some(message) = stream.next().await {
        match message {
            Ok(SimpleQueryMessage::CommandComplete(rows)) => counts.push(rows),
            // Rows of a statement before the last are not returned (only the last statement's are).
            Ok(_) => {}
            Err(e) => return BatchDone { counts, error: Some(e) },
        }
    }
    BatchDone { counts, error: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_texts_have_nothing_that_could_hide_or_make_a_statement_boundary() {
        assert!(plain("INSERT INTO t (id, name) VALUES (1, 'it''s a \"name\"')"));
        assert!(plain("UPDATE \"T\" SET n = n - 1 WHERE id IN (1, 2) AND s <> 'a/b'"));
        assert!(plain("CREATE INDEX ASYNC t_n ON t (n)"));
        for not_plain in [
            "",
            "INSERT INTO t VALUES ('a;b')",
            "INSERT INTO t VALUES (E'it\\'s')",
            "INSERT INTO t VALUES ($1)",
            "INSERT INTO t VALUES ($$x$$)",
            "DELETE FROM t -- all of it",
            "DELETE FROM t /* note */ WHERE id = 1",
            "SELECT 1\0",
        ] {
            assert!(!plain(not_plain), "{not_plain:?} was taken as plain");
        }
    }

    #[test]
    fn runs_join_two_or_more_neighbours_and_stay_under_the_size_limit() {
        let all = |_: usize| true;
        assert_eq!(runs(&[10, 10, 10, 10], |i| i < 3, 100), vec![0..3]);
        // A statement that cannot join cuts the run; a run of one is not a batch.
        assert_eq!(runs(&[10; 7], |i| i != 2 && i != 4 && i < 6, 100), vec![0..2]);
        assert_eq!(runs(&[10; 5], |i| i != 1 && i != 3, 100), Vec::<Range<usize>>::new());
        // 10 + 3 + 10 + 3 + 10 = 36 fits in 36, one more does not.
        assert_eq!(runs(&[10; 6], all, 36), vec![0..3, 3..6]);
        assert_eq!(runs(&[10; 6], all, 35), vec![0..2, 2..4, 4..6]);
        // Longer than the limit alone: on its own; its neighbours still join.
        assert_eq!(runs(&[10, 50, 10, 10], all, 36), vec![2..4]);
    }

    #[test]
    fn a_batch_keeps_each_statement_whole_and_knows_where_it_starts() {
        let b = Batch::new(3, &["INSERT INTO t VALUES (1)", "INSERT INTO té VALUES (2)", "SELECT 3"]);
        assert_eq!(b.text, "INSERT INTO t VALUES (1)\n;\nINSERT INTO té VALUES (2)\n;\nSELECT 3");
        assert_eq!(b.range, 3..6);
        assert_eq!(b.starts, vec![0, 27, 55]);
    }
}
