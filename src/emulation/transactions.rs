//! DSQL's answers about a whole transaction where PostgreSQL's differ: the 3,000-row and 5-minute limits (checked
//! on the answers, the row limit as soon as it is crossed), no waiting for row locks, and optimistic-concurrency
//! conflicts (`40001 … (OC000)`, `(OC001)` for DDL) instead of lock waits, deadlocks and serialization failures.

use std::time::Duration;

use crate::exec::{ExecError, StatementReport, untrusted};
use crate::sqlstate;

/// Rows a transaction may modify in DSQL (one limit for the whole crate: `sql::txn::ROW_LIMIT`).
pub const ROW_LIMIT: u64 = crate::sql::txn::ROW_LIMIT as u64;
/// How long a DSQL transaction may run, from BEGIN to COMMIT.
pub const AGE_LIMIT: Duration = Duration::from_secs(300);
/// How long a local statement may wait for a row lock before it is reported as an OCC conflict.
pub const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '100ms'";

/// DSQL's answer when a transaction modified more than [`ROW_LIMIT`] rows (statement `index` of `count`).
pub fn row_limit_error(index: usize, count: usize, rows_modified: u64) -> ExecError {
    ExecError::Db {
        sqlstate: Some(sqlstate::PROGRAM_LIMIT_EXCEEDED.into()),
        text: format!(
            "ERROR 54000: transaction row limit exceeded\nIN: statement {} of {count} (this transaction modified \
             {rows_modified} rows; DSQL allows {ROW_LIMIT})\nWHAT TO DO: split the work into batches of at most \
             3,000 modified rows (e.g. 1,000), one transact call per batch. The transaction was rolled back: \
             nothing from this call was committed.",
            index + 1
        ),
    }
}

/// DSQL's answer when a transaction ran longer than [`AGE_LIMIT`].
pub fn age_limit_error() -> ExecError {
    ExecError::Db {
        sqlstate: Some(sqlstate::PROGRAM_LIMIT_EXCEEDED.into()),
        text: "ERROR 54000: transaction age limit of 300s exceeded\nWHAT TO DO: DSQL transactions may last at most \
               5 minutes; use smaller transactions. Nothing was committed."
            .into(),
    }
}

/// Is this command tag one that modifies rows (counted toward DSQL's 3,000-row limit)?
pub fn counts_rows(command: &str) -> bool {
    matches!(command, "INSERT" | "UPDATE" | "DELETE" | "MERGE")
}

/// Rewrite PostgreSQL's answer to a write conflict as DSQL's.
pub fn occ_message(code: &str, is_ddl: bool) -> Option<&'static str> {
    match (code, is_ddl) {
        (sqlstate::SERIALIZATION_FAILURE | sqlstate::LOCK_NOT_AVAILABLE | sqlstate::DEADLOCK_DETECTED, false) => {
            Some("change conflicts with another transaction (OC000)")
        }
        (sqlstate::LOCK_NOT_AVAILABLE | sqlstate::SERIALIZATION_FAILURE, true) => {
            Some("schema has been updated by another transaction, please retry: (OC001)")
        }
        _ => None,
    }
}

/// The row limit for a transaction of `count` statements whose first ones answered `reports`: DSQL's error at the
/// statement where the modified rows first went over [`ROW_LIMIT`].
pub fn rows_over_limit(reports: &[StatementReport], count: usize) -> Result<(), ExecError> {
    let mut rows_modified = 0u64;
    for (i, report) in reports.iter().enumerate() {
        if counts_rows(&report.command) {
            rows_modified += report.rows_affected.unwrap_or(0);
            if rows_modified > ROW_LIMIT {
                return Err(row_limit_error(i, count, rows_modified));
            }
        }
    }
    Ok(())
}

/// PostgreSQL's answer to a write conflict (a serialization failure, a deadlock, or a lock wait cut short), as
/// DSQL's; `command` is the failed statement's verb (or `COMMIT`).
pub fn conflict(e: &tokio_postgres::Error, command: &str) -> Option<ExecError> {
    let db = e.as_db_error()?;
    let is_ddl = ["CREATE", "ALTER", "DROP"].iter().any(|k| command.starts_with(k));
    let message = occ_message(db.code().code(), is_ddl)?;
    Some(ExecError::Db {
        sqlstate: Some(sqlstate::SERIALIZATION_FAILURE.into()),
        text: format!(
            "ERROR 40001: {message}\nWHAT TO DO: another transaction changed the same {} first. Retry the WHOLE transaction with exponential backoff and jitter. Nothing from this call was committed. (Local emulation: PostgreSQL said {}: {}.)",
            if is_ddl { "objects" } else { "rows" },
            db.code().code(),
            untrusted::DbText(db.message())
        ),
    })
}
