//! A statement's text with its values taken out, for records kept outside the database (the audit log): every
//! literal (strings in all their spellings, dollar-quoted bodies, numbers) becomes `?` and every comment goes, so a
//! value an agent wrote inline never lands in a file. Placeholders (`$1`, `%s`) stay: their values are never part
//! of the text. Uses the same tokenizer as the checks, so a literal is found exactly where PostgreSQL finds one.

use super::lexer::{Kind, lex};

/// What replaces each literal.
pub const REDACTED: &str = "?";

/// `sql` with every literal replaced by [`REDACTED`] and every comment dropped (whitespace kept as one space);
/// `None` when the text cannot be tokenized (an unterminated quote or comment), since then nothing in it can be
/// told apart from a value.
pub fn redact_values(sql: &str) -> Option<String> {
    let tokens = lex(sql).ok()?;
    let mut out = String::with_capacity(sql.len());
    for t in &tokens {
        match t.kind {
            Kind::String | Kind::UnicodeString | Kind::DollarString | Kind::Number => out.push_str(REDACTED),
            Kind::LineComment | Kind::BlockComment => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            _ => out.push_str(t.text(sql)),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_value_is_taken_out() {
        let cases = [
            ("SELECT * FROM t WHERE a = 'secret' AND b = 42", "SELECT * FROM t WHERE a = ? AND b = ?"),
            ("INSERT INTO t VALUES (E'sec\\'ret', $$body$$, $x$ $$ $x$)", "INSERT INTO t VALUES (?, ?, ?)"),
            ("SELECT U&'d\\0061t' UESCAPE '!', X'ff', B'01', N'n', 1.5e3", "SELECT ? UESCAPE ?, ?, ?, ?, ?"),
            ("SELECT 'it''s' -- password here\n, 1 /* and /* nested */ here */", "SELECT ? \n, ? "),
            ("SELECT * FROM t1 WHERE id = $1 AND v = %s", "SELECT * FROM t1 WHERE id = $1 AND v = %s"),
            ("SELECT DATE '2026-01-01', -7", "SELECT DATE ?, -?"),
        ];
        for (sql, want) in cases {
            assert_eq!(redact_values(sql).as_deref(), Some(want), "{sql}");
        }
    }

    #[test]
    fn text_that_cannot_be_tokenized_is_not_shown_at_all() {
        assert_eq!(redact_values("SELECT 'unterminated secret"), None);
        assert_eq!(redact_values("SELECT $$ open secret"), None);
    }
}
