//! Why a migration, a backfill or a rehearsal did not go through: [`MigrateError`]. Callers match the variants
//! they act on (a table without a primary key runs as one transaction instead; a changed file is refused); the
//! agent reads the `Display` text, which names the problem and the way on.

use crate::exec::ExecError;

/// A migration-seam failure. The text of each variant is the sentence the agent reads.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A migration name already applied, given again with a different file.
    #[error(
        "migration `{name}` was already applied (at {applied_at}) from a different file: recorded checksum \
         {recorded}, this file's checksum {checksum}. Applied migrations are not changed in place. Put the new \
         changes in a migration with a new name (e.g. `{name}_2`), or restore the original file to see it as \
         applied."
    )]
    ChangedFile {
        /// The migration's name.
        name: String,
        /// When it was applied, as recorded (`?` when the history has no time).
        applied_at: String,
        /// The checksum the history holds.
        recorded: String,
        /// The checksum of the file given now.
        checksum: String,
    },
    /// A partial run resumed with a file that changes a step already applied.
    #[error(
        "migration `{}` stopped after {} applied steps (checksum {}); this file (checksum {}) changes step {} which \
         is already applied:\n  applied: {}\n  now:     {}\nDSQL keeps applied steps, so they must stay as they \
         were. Restore steps 1–{} and change only later ones, or use a new migration name for the new changes.",
        .0.name, .0.done, .0.recorded, .0.checksum, .0.step, .0.applied, .0.now, .0.done
    )]
    ChangedAppliedStep(Box<ChangedStep>),
    /// A backfill's table has no primary key to walk.
    #[error(
        "table {table} has no primary key; a backfill walks the table by its primary key. Batch it by hand with \
         transact: UPDATE … WHERE <key> IN (SELECT <key> FROM {table} WHERE … LIMIT 1000), repeated until it \
         changes 0 rows"
    )]
    NoPrimaryKey {
        /// The table the backfill names.
        table: String,
    },
    /// A backfill batch failed; the batches before it are committed and stay.
    #[error(
        "batch {batch} failed: {cause}\n{rows} rows were changed by the {committed} batches committed before it; \
         they stay. Fix the cause and run the same backfill again: it starts from the lowest key and, with a WHERE \
         that selects only rows still to do, changes only those."
    )]
    BatchFailed {
        /// The failed batch (1-based).
        batch: u64,
        /// Rows changed by the committed batches.
        rows: u64,
        /// Batches committed before the failed one.
        committed: u64,
        /// Why the batch failed.
        cause: ExecError,
    },
    /// A run stopped at a step: the text says which steps stay applied and how to go on.
    #[error("{0}")]
    Stopped(String),
    /// The rehearsal failed or could not run; nothing ran on the target.
    #[error("{0}")]
    Rehearsal(String),
    /// The arguments or the file are refused before any database work.
    #[error("{0}")]
    Invalid(String),
    /// An async job failed, is gone from `sys.jobs`, or was not waited for to its end (time limit, cancel).
    #[error("{0}")]
    Job(String),
    /// A read or write the migration needed failed (the history table, the catalog, a job's status).
    #[error("{0}")]
    Database(String),
}

/// What [`MigrateError::ChangedAppliedStep`] reports (boxed: the error stays small on every other path).
#[derive(Debug)]
pub struct ChangedStep {
    /// The migration's name.
    pub name: String,
    /// Steps the history records as applied.
    pub done: usize,
    /// The checksum the history holds.
    pub recorded: String,
    /// The checksum of the file given now.
    pub checksum: String,
    /// The first changed step (1-based).
    pub step: usize,
    /// That step's statements as applied.
    pub applied: String,
    /// That step's statements as in this file.
    pub now: String,
}
