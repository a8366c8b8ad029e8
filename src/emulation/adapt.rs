//! Each statement rewritten, once per call, for PostgreSQL where DSQL's syntax differs: `CREATE INDEX ASYNC` /
//! `ALTER TABLE ASYNC … VALIDATE CONSTRAINT` without the keyword (the job it starts is recorded in `sys.jobs`, made
//! by `emulation::sys_schema`, and answered with its `job_id` by `emulation::hooks`), `AWS IAM GRANT/REVOKE` as
//! calls that keep the mappings in `sys.iam_pg_role_mappings`, bare `numeric` as numeric(18,6), `STORAGE` in
//! `ADD COLUMN`. DSQL's transaction limits and conflicts are in `emulation::transactions`; rules that need no
//! database are checked before sending by the `sql` module, in every mode.
//!
//! What is approximate: index builds run synchronously inside the transaction (a UNIQUE build that fails fails at
//! the statement, not later in the job), though the job stays `submitted` and the index not valid until the job
//! completes (`emulation::async_jobs`, catalog X12; `pg_index.indisvalid` only where the `sys` owner is a
//! superuser); a write-write conflict fails the second WRITER after a 100 ms lock wait, where DSQL fails the second
//! COMMITTER; OC001 is reported for DDL that waits on a lock held by a running transaction.

use rand::RngCore;

use crate::sql::async_ddl::{self, AsyncDdl, leading_words};

/// An asynchronous DDL statement, rewritten for PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncJob {
    /// The `sys.jobs.job_type` the job is recorded with, e.g. `INDEX_BUILD`.
    pub job_type: &'static str,
    /// The index an `INDEX_BUILD` job builds, when the statement names it; `None` for other jobs.
    pub object_name: Option<String>,
}

/// A statement as the sandbox must run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapted {
    /// The text to send to PostgreSQL (the original when nothing needed rewriting).
    pub text: String,
    /// The async job the statement starts, to be recorded in `sys.jobs` after it runs.
    pub job: Option<AsyncJob>,
}

/// Rewrite DSQL-only syntax to PostgreSQL: drop ASYNC (by token position, so a table named "async" or the word in
/// a string is untouched), turn `AWS IAM GRANT/REVOKE` into calls that keep the mapping in `sys`, and give bare
/// `numeric` columns DSQL's default precision.
pub fn adapt(sql: &str) -> Adapted {
    let tokens = leading_words(sql, 10);
    if let Some(text) = aws_iam(sql, &tokens) {
        return Adapted { text, job: None };
    }
    // Quoted words never match a keyword: `"async"` is a name.
    let word = |i: usize| {
        tokens.get(i).filter(|(w, r)| !sql[r.clone()].starts_with('"') && !w.is_empty()).map(|(w, _)| w.as_str())
    };
    let mut job = None;
    let mut text = sql.to_string();
    if let Some(AsyncDdl { job_type, keyword }) = async_ddl::async_ddl(sql) {
        text = format!("{}{}", &sql[..keyword.start], &sql[keyword.end..]);
        let object_name = if job_type == "INDEX_BUILD" { index_name(&leading_words(&text, 12)) } else { None };
        job = Some(AsyncJob { job_type, object_name });
    }
    let is_table_ddl = matches!((word(0), word(1)), (Some("create"), Some("table")) | (Some("alter"), Some("table")));
    if is_table_ddl {
        text = default_numeric_precision(&text);
    }
    if (word(0), word(1)) == (Some("alter"), Some("table")) && text.to_ascii_lowercase().contains("storage") {
        text = add_column_storage(&text).unwrap_or(text);
    }
    Adapted { text, job }
}

/// `ALTER TABLE t ADD COLUMN c type STORAGE s` → `ALTER TABLE t ADD COLUMN c type, ALTER COLUMN c SET STORAGE s`:
/// DSQL (PostgreSQL 16) takes STORAGE in ADD COLUMN (catalog §1.8), PostgreSQL 15 only as ALTER COLUMN … SET
/// STORAGE, which PostgreSQL 16 takes too. `None` when there is nothing to rewrite (or the text does not parse
/// here: it was checked before, so PostgreSQL gives its own answer).
fn add_column_storage(sql: &str) -> Option<String> {
    use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ColumnOption, Statement};
    let mut parsed = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql).ok()?;
    let [Statement::AlterTable(at)] = parsed.as_mut_slice() else { return None };
    let mut operations = Vec::with_capacity(at.operations.len() + 1);
    let mut rewritten = false;
    for mut op in std::mem::take(&mut at.operations) {
        let mut set_storage = None;
        if let AlterTableOperation::AddColumn { column_def, .. } = &mut op {
            column_def.options.retain(|o| match &o.option {
                ColumnOption::Storage(storage) => {
                    set_storage = Some(AlterTableOperation::AlterColumn {
                        column_name: column_def.name.clone(),
                        op: AlterColumnOperation::SetStorage { storage: *storage },
                    });
                    false
                }
                _ => true,
            });
        }
        operations.push(op);
        if let Some(set) = set_storage {
            operations.push(set);
            rewritten = true;
        }
    }
    at.operations = operations;
    rewritten.then(|| parsed[0].to_string())
}

/// `AWS IAM GRANT r1, r2 TO 'arn1', 'arn2'` → `CALL sys.aws_iam_grant(ARRAY['r1','r2'], ARRAY['arn1','arn2'])` (and
/// REVOKE … FROM likewise); role names as PostgreSQL stores them (unquoted ones lower-cased). `None` for anything
/// else (the statement was checked before, so a statement that does not parse here is left to PostgreSQL).
fn aws_iam(sql: &str, words: &[(String, std::ops::Range<usize>)]) -> Option<String> {
    use sqlparser::ast::{Statement, Value};
    let w = |i: usize| words.get(i).filter(|(_, r)| !sql[r.clone()].starts_with('"')).map(|(w, _)| w.as_str());
    if (w(0), w(1)) != (Some("aws"), Some("iam")) {
        return None;
    }
    let mut parsed = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql).ok()?;
    let (procedure, roles, arns) = match parsed.pop()? {
        Statement::AwsIamGrant { roles, arns } => ("aws_iam_grant", roles, arns),
        Statement::AwsIamRevoke { roles, arns } => ("aws_iam_revoke", roles, arns),
        _ => return None,
    };
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let roles: Vec<String> = roles
        .iter()
        .map(|r| literal(&if r.quote_style.is_some() { r.value.clone() } else { r.value.to_lowercase() }))
        .collect();
    let arns: Vec<String> = arns
        .iter()
        .map(|a| match &a.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(literal(s)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(format!("CALL sys.{procedure}(ARRAY[{}]::text[], ARRAY[{}]::text[])", roles.join(", "), arns.join(", ")))
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON …` → `name` (lower-cased unless quoted).
fn index_name(words: &[(String, std::ops::Range<usize>)]) -> Option<String> {
    let mut i = words.iter().position(|(w, _)| w == "index")? + 1;
    if words.get(i).map(|(w, _)| w.as_str()) == Some("if") {
        i += 3;
    }
    let (w, _) = words.get(i)?;
    (w != "on").then(|| w.clone())
}

/// A new job id: 26 lowercase base32 characters (128 random bits), like DSQL's.
pub fn new_job_id() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let value = u128::from_be_bytes(bytes);
    (0..26).map(|i| ALPHABET[((value >> (125 - 5 * i).max(0)) & 31) as usize] as char).collect()
}

/// `amount numeric` → `amount numeric(18,6)`; leaves `numeric(p,s)`, casts (`::numeric`) and literals alone.
fn default_numeric_precision(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    let mut last_word_end = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let quote = c;
            let start = i;
            i += 1;
            while i < b.len() {
                if b[i] == quote {
                    if b.get(i + 1) == Some(&quote) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            out.push_str(&sql[start..i]);
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            let start = i;
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            out.push_str(&sql[start..i]);
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &sql[start..i];
            out.push_str(word);
            let lower = word.to_ascii_lowercase();
            if matches!(lower.as_str(), "numeric" | "decimal") {
                let before = sql[last_word_end..start].trim_end();
                let after = sql[i..].trim_start();
                let is_cast = before.ends_with("::") || sql[..start].trim_end().to_ascii_lowercase().ends_with(" as");
                if !after.starts_with('(') && !is_cast {
                    out.push_str("(18,6)");
                }
            }
            last_word_end = i;
            continue;
        }
        let ch = sql[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_is_removed_by_position_only() {
        let a = adapt("CREATE INDEX ASYNC idx_t_a ON t (a)");
        assert_eq!(a.text, "CREATE INDEX  idx_t_a ON t (a)");
        assert_eq!(a.job, Some(AsyncJob { job_type: "INDEX_BUILD", object_name: Some("idx_t_a".into()) }));
        let a = adapt("/* c */ create unique index async if not exists u on t (b) where b > 0");
        assert!(a.text.contains("create unique index  if not exists u"), "{}", a.text);
        assert_eq!(a.job.unwrap().object_name.as_deref(), Some("u"));
        let a = adapt("CREATE INDEX ASYNC ON t (c)");
        assert_eq!(a.job.unwrap().object_name, None);
        let a = adapt("ALTER TABLE ASYNC t VALIDATE CONSTRAINT c");
        assert_eq!(a.text, "ALTER TABLE  t VALIDATE CONSTRAINT c");
        // A table named async is not an async statement.
        let a = adapt("ALTER TABLE \"async\" ADD COLUMN v int");
        assert!(a.job.is_none());
        let a = adapt("ALTER TABLE async ADD COLUMN v int");
        assert!(a.job.is_none());
        assert_eq!(a.text, "ALTER TABLE async ADD COLUMN v int");
        assert!(adapt("SELECT 'CREATE INDEX ASYNC'").job.is_none());
    }

    #[test]
    fn aws_iam_statements_become_calls_that_keep_the_mapping() {
        let a = adapt("AWS IAM GRANT app_rw, \"Ops\" TO 'arn:aws:iam::1:role/a', 'arn:aws:iam::1:role/o''k'");
        assert_eq!(
            a.text,
            "CALL sys.aws_iam_grant(ARRAY['app_rw', 'Ops']::text[], ARRAY['arn:aws:iam::1:role/a', 'arn:aws:iam::1:role/o''k']::text[])"
        );
        assert!(a.job.is_none());
        let a = adapt("aws iam revoke App_RW from 'arn:x'");
        assert_eq!(a.text, "CALL sys.aws_iam_revoke(ARRAY['app_rw']::text[], ARRAY['arn:x']::text[])");
        assert_eq!(adapt("SELECT 'AWS IAM GRANT'").text, "SELECT 'AWS IAM GRANT'");
    }

    #[test]
    fn bare_numeric_gets_dsql_default_precision() {
        assert_eq!(
            adapt("CREATE TABLE t (a numeric, b numeric(10,2), c decimal, d text DEFAULT 'numeric', e int DEFAULT 1::numeric)").text,
            "CREATE TABLE t (a numeric(18,6), b numeric(10,2), c decimal(18,6), d text DEFAULT 'numeric', e int DEFAULT 1::numeric)"
        );
        assert_eq!(adapt("ALTER TABLE t ADD COLUMN x NUMERIC").text, "ALTER TABLE t ADD COLUMN x NUMERIC(18,6)");
        assert_eq!(adapt("SELECT 1::numeric").text, "SELECT 1::numeric");
    }

    #[test]
    fn storage_in_add_column_becomes_set_storage_for_postgresql_15() {
        assert_eq!(
            adapt("ALTER TABLE t ADD COLUMN d text STORAGE PLAIN").text,
            "ALTER TABLE t ADD COLUMN d TEXT, ALTER COLUMN d SET STORAGE PLAIN"
        );
        assert_eq!(
            adapt("alter table t add column \"D\" text storage external, add column e int").text,
            "ALTER TABLE t ADD COLUMN \"D\" TEXT, ALTER COLUMN \"D\" SET STORAGE EXTERNAL, ADD COLUMN e INT"
        );
        // Nothing to rewrite: the text is left as written.
        assert_eq!(adapt("ALTER TABLE storage ADD COLUMN x text").text, "ALTER TABLE storage ADD COLUMN x text");
        assert_eq!(
            adapt("ALTER TABLE t ALTER COLUMN a SET STORAGE PLAIN").text,
            "ALTER TABLE t ALTER COLUMN a SET STORAGE PLAIN"
        );
    }

    #[test]
    fn job_ids_look_like_dsql_ones() {
        let id = new_job_id();
        assert_eq!(id.len(), 26);
        assert!(id.chars().all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)), "{id}");
        assert_ne!(id, new_job_id());
    }
}
