//! The SQLSTATE codes this crate names: one constant per code, so a reader sees what a comparison means and a typo is a
//! compile error. Standard PostgreSQL codes keep PostgreSQL's condition names (Appendix A of its manual); the two
//! DSQL-only codes are named after what DSQL says they mean.
//!
//! `tokio_postgres::error::SqlState` has the standard ones too, but as values of a type: our rules catalog, recordings
//! and messages carry codes as text, so the text constants live here and compare against `SqlState::code()`.

/// 08003 connection_does_not_exist.
pub const CONNECTION_DOES_NOT_EXIST: &str = "08003";
/// 08006 connection_failure.
pub const CONNECTION_FAILURE: &str = "08006";
/// 0A000 feature_not_supported: most of DSQL's "not supported" answers.
pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
/// 23503 foreign_key_violation.
pub const FOREIGN_KEY_VIOLATION: &str = "23503";
/// 23505 unique_violation.
pub const UNIQUE_VIOLATION: &str = "23505";
/// 25006 read_only_sql_transaction.
pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
/// 28000 invalid_authorization_specification.
pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
/// 28P01 invalid_password (an expired or wrongly signed IAM token on DSQL).
pub const INVALID_PASSWORD: &str = "28P01";
/// 40001 serialization_failure: DSQL's optimistic-concurrency conflict; the whole transaction may run again.
pub const SERIALIZATION_FAILURE: &str = "40001";
/// 40P01 deadlock_detected.
pub const DEADLOCK_DETECTED: &str = "40P01";
/// 42501 insufficient_privilege.
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// 42601 syntax_error.
pub const SYNTAX_ERROR: &str = "42601";
/// 42701 duplicate_column.
pub const DUPLICATE_COLUMN: &str = "42701";
/// 42703 undefined_column.
pub const UNDEFINED_COLUMN: &str = "42703";
/// 42704 undefined_object.
pub const UNDEFINED_OBJECT: &str = "42704";
/// 42710 duplicate_object.
pub const DUPLICATE_OBJECT: &str = "42710";
/// 42804 datatype_mismatch.
pub const DATATYPE_MISMATCH: &str = "42804";
/// 42809 wrong_object_type.
pub const WRONG_OBJECT_TYPE: &str = "42809";
/// 42P01 undefined_table.
pub const UNDEFINED_TABLE: &str = "42P01";
/// 42P06 duplicate_schema.
pub const DUPLICATE_SCHEMA: &str = "42P06";
/// 42P07 duplicate_table.
pub const DUPLICATE_TABLE: &str = "42P07";
/// 54000 program_limit_exceeded: DSQL's transaction and size quotas.
pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
/// 54001 statement_too_complex.
pub const STATEMENT_TOO_COMPLEX: &str = "54001";
/// 54011 too_many_columns.
pub const TOO_MANY_COLUMNS: &str = "54011";
/// 55000 object_not_in_prerequisite_state.
pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
/// 55P03 lock_not_available.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";
/// 57014 query_canceled.
pub const QUERY_CANCELED: &str = "57014";
/// 57P01 admin_shutdown.
pub const ADMIN_SHUTDOWN: &str = "57P01";
/// 57P02 crash_shutdown.
pub const CRASH_SHUTDOWN: &str = "57P02";
/// 57P03 cannot_connect_now.
pub const CANNOT_CONNECT_NOW: &str = "57P03";
/// XX000 internal_error (on DSQL also some transient read failures; see `exec::retry`).
pub const INTERNAL_ERROR: &str = "XX000";
/// OC000 DSQL: "change conflicts with another transaction" (optimistic-concurrency conflict on data).
pub const DSQL_DATA_CONFLICT: &str = "OC000";
/// OC001 DSQL: "schema has been updated by another transaction" (conflict on the catalog).
pub const DSQL_SCHEMA_CONFLICT: &str = "OC001";

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_is_five_characters_of_the_sqlstate_alphabet() {
        let src = include_str!("sqlstate.rs");
        let codes: Vec<&str> =
            src.lines().filter_map(|l| l.strip_prefix("pub const ")).filter_map(|l| l.split('"').nth(1)).collect();
        assert!(codes.len() > 30, "{codes:?}");
        for c in &codes {
            assert!(c.len() == 5 && c.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()), "{c}");
        }
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len(), "a code is named twice");
    }
}
