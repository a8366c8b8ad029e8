//! Which DSQL statements start an asynchronous job: `CREATE [UNIQUE] INDEX ASYNC …` and `ALTER TABLE ASYNC …
//! VALIDATE CONSTRAINT …`, which DSQL answers with a job id and finishes later. A fact of DSQL's language, asked by
//! the migration planner (a later step on the same table waits for the job) and by the DSQL emulation
//! (`emulation::adapt`, which drops the keyword for PostgreSQL and records the job). Found by the leading words'
//! positions, so a table named `"async"`, `ALTER TABLE async ADD COLUMN …` or the word in a string is not one.

use std::ops::Range;

/// An asynchronous DDL statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncDdl {
    /// The job's `sys.jobs.job_type`: `INDEX_BUILD` or `VALIDATE_CONSTRAINT`.
    pub job_type: &'static str,
    /// Where the `ASYNC` keyword is in the text.
    pub keyword: Range<usize>,
}

/// The asynchronous DDL `sql` is, if it is one.
pub fn async_ddl(sql: &str) -> Option<AsyncDdl> {
    let tokens = leading_words(sql, 10);
    // Quoted words never match a keyword: `"async"` is a name.
    let unquoted = |(w, r): &(String, Range<usize>)| !sql[r.clone()].starts_with('"') && !w.is_empty();
    let word = |i: usize| tokens.get(i).filter(|t| unquoted(t)).map(|(w, _)| w.as_str());
    let validates = tokens.iter().skip(3).any(|t| t.0 == "validate" && unquoted(t));
    let (at, job_type) = match (word(0), word(1), word(2), word(3)) {
        (Some("create"), Some("index"), Some("async"), _) => (2, "INDEX_BUILD"),
        (Some("create"), Some("unique"), Some("index"), Some("async")) => (3, "INDEX_BUILD"),
        // `ALTER TABLE async ADD COLUMN …` alters a table named async; only the VALIDATE form is asynchronous.
        (Some("alter"), Some("table"), Some("async"), _) if validates => (2, "VALIDATE_CONSTRAINT"),
        _ => return None,
    };
    Some(AsyncDdl { job_type, keyword: tokens[at].1.clone() })
}

/// Whether DSQL answers `sql` with an async job id.
pub fn starts_async_job(sql: &str) -> bool {
    async_ddl(sql).is_some()
}

/// The first `n` words (identifiers and keywords, lower-cased unless quoted) of `sql`, with their byte ranges,
/// skipping whitespace and comments; stops at anything else.
pub(crate) fn leading_words(sql: &str, n: usize) -> Vec<(String, std::ops::Range<usize>)> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while out.len() < n && i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut word = String::new();
                while i < b.len() {
                    if b[i] == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            word.push('"');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    let ch = sql[i..].chars().next().unwrap_or('"');
                    word.push(ch);
                    i += ch.len_utf8();
                }
                out.push((word, start..i));
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] == b'.') {
                    i += 1;
                }
                out.push((sql[start..i].to_ascii_lowercase(), start..i));
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_ddl_is_found_by_position_only() {
        assert_eq!(async_ddl("CREATE INDEX ASYNC i ON t (a)").map(|a| a.keyword), Some(13..18));
        assert_eq!(async_ddl("/* c */ create unique index async u on t (b)").unwrap().job_type, "INDEX_BUILD");
        assert_eq!(async_ddl("ALTER TABLE ASYNC t VALIDATE CONSTRAINT c").unwrap().job_type, "VALIDATE_CONSTRAINT");
        for not_async in [
            "ALTER TABLE async ADD COLUMN v int",
            "ALTER TABLE \"async\" ADD COLUMN v int",
            "CREATE INDEX \"async\" ON t (a)",
            "SELECT 'CREATE INDEX ASYNC'",
            "CREATE INDEX i ON t (a)",
        ] {
            assert!(!starts_async_job(not_async), "{not_async}");
        }
    }
}
