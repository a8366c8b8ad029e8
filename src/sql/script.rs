//! Splitting a SQL script (a migration file) into its statements at top-level semicolons, with PostgreSQL's
//! quoting rules (strings, dollar quotes, quoted names and comments keep their semicolons), and parsing one of
//! them into sqlparser's AST for callers that plan with it (the migration planner).

use super::lexer::{self, Kind};

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    /// The statement's text, from its first to its last significant token (no `;`).
    pub text: String,
    /// 1-based line of its first token in the script.
    pub line: usize,
}

/// The statements of `sql`, in order; empty statements (`;;`) are skipped. An unterminated string, quoted name or
/// comment is an error naming its line.
pub fn split_script(sql: &str) -> Result<Vec<ScriptStatement>, String> {
    let tokens = lexer::lex(sql).map_err(|e| {
        let (line, col) = lexer::line_col(sql, e.offset);
        format!("the SQL cannot be split into statements: {} at line {line}, column {col}", e.message)
    })?;
    let mut out = Vec::new();
    let mut first: Option<usize> = None;
    let mut last = 0usize;
    let flush = |first: Option<usize>, last: usize, out: &mut Vec<ScriptStatement>| {
        if let Some(first) = first {
            let from = tokens[first].start;
            let line = 1 + sql.as_bytes()[..from].iter().filter(|&&b| b == b'\n').count();
            out.push(ScriptStatement { text: sql[from..tokens[last].end].to_string(), line });
        }
    };
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Semicolon => flush(first.take(), last, &mut out),
            _ if t.is_trivia() => {}
            _ => {
                first.get_or_insert(i);
                last = i;
            }
        }
    }
    flush(first, last, &mut out);
    Ok(out)
}

/// sqlparser's reading of one statement, after the same normalisation the checks use; `None` when it does not
/// parse (the checks then explain why).
pub fn parse_statement(sql: &str) -> Option<sqlparser::ast::Statement> {
    let norm = super::text::normalize_body(sql).ok()?;
    super::parse::parse_one(&norm).ok().map(|p| p.stmt)
}

/// A parsed statement's class, command tag and the relations it names (as the checks see them).
pub fn describe(stmt: &sqlparser::ast::Statement) -> (super::StatementClass, String, Vec<String>) {
    (super::classify::class(stmt), super::classify::command(stmt), super::classify::tables(stmt))
}

/// Rows an `INSERT … VALUES` adds (0 for other statements), as DSQL's 3,000-row transaction rule counts them.
pub fn insert_rows(stmt: &sqlparser::ast::Statement) -> usize {
    super::dsql::insert_rows(stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let sql = "CREATE TABLE a (id int);\n-- x; y\nINSERT INTO a VALUES (1), (2);;\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\nSELECT ';' ";
        let s = split_script(sql).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[1].text, "INSERT INTO a VALUES (1), (2)");
        assert_eq!(s[1].line, 3);
        assert!(s[2].text.ends_with("$$ SELECT 1; $$"));
        assert_eq!(s[3].text, "SELECT ';'");
        assert!(split_script("SELECT 'open").is_err());
    }
}
