//! Text-level preparation of one statement before parsing: reject characters PostgreSQL and sqlparser would
//! read differently, decode `U&` escapes into plain quoted forms, and rewrite psycopg-style placeholders
//! (`%s`/`%b`/`%t` → `$1..$n`, `%%` → `%`) outside literals, quoted identifiers, dollar quotes and comments.

use super::finding::Finding;
use super::lexer::{self, Kind, Token};
use super::unicode;
use crate::sqlstate;

/// The statement text after placeholder and `U&` rewriting, with its tokens.
pub(crate) struct Normalized {
    pub text: String,
    pub tokens: Vec<Token>,
    /// Number of parameters the text expects (`%s` count, or the highest `$n`).
    pub placeholders: usize,
}

pub(crate) fn syntax_error(src: &str, offset: usize, what: &str) -> Finding {
    let (line, col) = lexer::line_col(src, offset);
    Finding::error(
        "input.syntax_error",
        format!("{what} at line {line}, column {col}"),
        "Fix the SQL text (close every quote, dollar quote and /* comment) and send it again",
    )
    .with_sqlstate(sqlstate::SYNTAX_ERROR)
}

pub(crate) fn normalize(sql: &str, param_count: Option<usize>) -> Result<Normalized, Finding> {
    normalize_inner(sql, param_count, true)
}

/// For SQL function bodies: `$n` there are the function's arguments, so placeholders are neither rewritten nor
/// counted.
pub(crate) fn normalize_body(sql: &str) -> Result<Normalized, Finding> {
    normalize_inner(sql, None, false)
}

fn normalize_inner(sql: &str, param_count: Option<usize>, count: bool) -> Result<Normalized, Finding> {
    let tokens = lexer::lex(sql).map_err(|e| syntax_error(sql, e.offset, &e.message))?;
    check_characters(sql, &tokens)?;

    let mut out = String::new();
    let mut copied = 0usize;
    let mut rewrote = false;
    let mut percent = 0usize;
    let mut max_dollar = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        match t.kind {
            Kind::UnicodeIdent | Kind::UnicodeString => {
                let (replacement, last) = decode_unicode(sql, &tokens, i)?;
                out.push_str(&sql[copied..t.start]);
                out.push_str(&replacement);
                copied = tokens[last].end;
                rewrote = true;
                i = last;
            }
            Kind::Param => {
                let n: usize = t.text(sql)[1..].parse().unwrap_or(usize::MAX);
                if n == 0 || n > 65535 {
                    return Err(placeholder_error(sql, t.start, &format!("invalid parameter number {}", t.text(sql))));
                }
                max_dollar = max_dollar.max(n);
            }
            Kind::Percent if param_count.is_some() => {
                let text = t.text(sql);
                out.push_str(&sql[copied..t.start]);
                if text == "%%" {
                    out.push('%');
                } else {
                    percent += 1;
                    out.push('$');
                    out.push_str(&percent.to_string());
                }
                copied = t.end;
                rewrote = true;
            }
            Kind::Op if param_count.is_some() && t.text(sql) == "%" => {
                let next = sql.as_bytes().get(t.end);
                if !matches!(next, None | Some(b'\n') | Some(b'\r')) {
                    let shown: String = sql[t.start..].chars().take(2).collect();
                    return Err(placeholder_error(
                        sql,
                        t.start,
                        &format!("invalid placeholder `{shown}` (params were given, so `%` starts a placeholder)"),
                    ));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if percent > 0 && max_dollar > 0 {
        return Err(Finding::error(
            "input.placeholders",
            "the statement mixes %s-style and $n placeholders",
            "Use one style: either %s for every parameter or $1..$n",
        ));
    }
    let placeholders = percent.max(max_dollar);
    let given = param_count.unwrap_or(0);
    if count && placeholders != given {
        let fix = if param_count.is_none() {
            "Pass the parameter values in params (one per placeholder), or write the values into the SQL".to_string()
        } else {
            format!(
                "Pass exactly {placeholders} parameter value(s), or change the placeholders (write %% for a literal % when params are given)"
            )
        };
        return Err(Finding::error(
            "input.placeholders",
            format!("the statement has {placeholders} placeholder(s) but {given} parameter(s) were supplied"),
            fix,
        ));
    }
    if !rewrote {
        return Ok(Normalized { text: sql.to_string(), tokens, placeholders });
    }
    out.push_str(&sql[copied..]);
    let tokens = lexer::lex(&out).map_err(|e| syntax_error(&out, e.offset, &e.message))?;
    Ok(Normalized { text: out, tokens, placeholders })
}

fn placeholder_error(sql: &str, offset: usize, what: &str) -> Finding {
    let (line, col) = lexer::line_col(sql, offset);
    Finding::error(
        "input.placeholders",
        format!("{what} at line {line}, column {col}"),
        "Use %s (or $1..$n) for parameters and %% for a literal % when params are given",
    )
}

/// Characters outside literals and comments that PostgreSQL reads as part of an identifier but sqlparser (or a
/// human) reads as whitespace or punctuation: refusing them keeps what we check identical to what runs.
fn check_characters(sql: &str, tokens: &[Token]) -> Result<(), Finding> {
    for t in tokens {
        let bad = match t.kind {
            Kind::Word => t.text(sql).chars().find(|c| !c.is_ascii() && !c.is_alphanumeric()),
            Kind::Op => t.text(sql).chars().find(|c| c.is_control()),
            _ => None,
        };
        if let Some(c) = bad {
            let offset = t.start + t.text(sql).find(c).unwrap_or(0);
            let (line, col) = lexer::line_col(sql, offset);
            return Err(Finding::error(
                "input.unusual_character",
                format!("unexpected character U+{:04X} outside quotes at line {line}, column {col}", c as u32),
                "Use plain ASCII spaces and punctuation between SQL tokens; put unusual characters inside quoted strings or \"quoted identifiers\"",
            )
            .with_sqlstate(sqlstate::SYNTAX_ERROR));
        }
    }
    Ok(())
}

/// Decodes the `U&` token at `i` (plus an optional `UESCAPE 'c'`) into a plain quoted token; returns it and the
/// index of the last token consumed.
fn decode_unicode(sql: &str, tokens: &[Token], i: usize) -> Result<(String, usize), Finding> {
    let t = tokens[i];
    let quote = if t.kind == Kind::UnicodeIdent { '"' } else { '\'' };
    let raw = &t.text(sql)[3..t.text(sql).len() - 1];
    let doubled = if quote == '"' { "\"\"" } else { "''" };
    let body = raw.replace(doubled, &quote.to_string());
    let mut esc = '\\';
    let mut last = i;
    let next = next_significant(tokens, i + 1);
    if let Some(j) = next.filter(|&j| tokens[j].is_word(sql, "uescape")) {
        let k = next_significant(tokens, j + 1);
        let lit = k.map(|k| tokens[k]).filter(|l| l.kind == Kind::String && l.text(sql).starts_with('\''));
        let c = lit.and_then(|l| {
            let s = l.text(sql);
            unicode::valid_escape(&s[1..s.len() - 1])
        });
        match (c, k) {
            (Some(c), Some(k)) => {
                esc = c;
                last = k;
            }
            _ => {
                return Err(syntax_error(
                    sql,
                    tokens[j].start,
                    "UESCAPE must be followed by a one-character string that is not a hex digit, +, a quote or whitespace",
                ));
            }
        }
    }
    let decoded = unicode::decode(&body, esc).map_err(|e| syntax_error(sql, t.start, &e))?;
    if quote == '"' && decoded.is_empty() {
        return Err(syntax_error(sql, t.start, "zero-length quoted identifier"));
    }
    let escaped = decoded.replace(quote, doubled);
    Ok((format!("{quote}{escaped}{quote}"), last))
}

pub(crate) fn next_significant(tokens: &[Token], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&j| !tokens[j].is_trivia())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str, p: Option<usize>) -> Result<String, Finding> {
        normalize(s, p).map(|n| n.text)
    }

    #[test]
    fn rewrites_placeholders_only_in_code() {
        assert_eq!(
            norm("SELECT * FROM t WHERE a = %s AND b = %b", Some(2)).unwrap(),
            "SELECT * FROM t WHERE a = $1 AND b = $2"
        );
        assert_eq!(norm("SELECT 10 %% 3", Some(0)).unwrap(), "SELECT 10 % 3");
        assert_eq!(norm("SELECT %s -- progress 100%", Some(1)).unwrap(), "SELECT $1 -- progress 100%");
        assert_eq!(
            norm("SELECT '%s', id FROM t WHERE id = %s -- %s", Some(1)).unwrap(),
            "SELECT '%s', id FROM t WHERE id = $1 -- %s"
        );
        assert_eq!(norm("SELECT 10 % sqrt(4)", None).unwrap(), "SELECT 10 % sqrt(4)");
        assert_eq!(norm("SELECT $1 FROM t WHERE id = $2", Some(2)).unwrap(), "SELECT $1 FROM t WHERE id = $2");
    }

    #[test]
    fn placeholder_errors_name_both_numbers() {
        let e = norm("SELECT %s", Some(0)).unwrap_err();
        assert!(e.message.contains("1 placeholder(s) but 0"), "{e}");
        let e = norm("SELECT 1", Some(1)).unwrap_err();
        assert!(e.message.contains("0 placeholder(s) but 1"), "{e}");
        assert!(norm("SELECT 1 % q", Some(0)).unwrap_err().message.contains("invalid placeholder"));
        assert!(norm("SELECT $1", None).is_err());
        assert!(norm("SELECT %s, $1", Some(1)).is_err());
        assert!(norm("SELECT $0", Some(0)).is_err());
    }

    #[test]
    fn decodes_unicode_identifiers_and_strings() {
        assert_eq!(norm("SELECT U&\"pg_sl\\0065ep\"(1)", None).unwrap(), "SELECT \"pg_sleep\"(1)");
        assert_eq!(norm("SELECT U&\"pg_sl!0065ep\" UESCAPE '!'(1)", None).unwrap(), "SELECT \"pg_sleep\"(1)");
        assert_eq!(norm("SELECT u&'it\\0027s'", None).unwrap(), "SELECT 'it''s'");
        assert_eq!(norm("SELECT U&\"a\\0022b\"", None).unwrap(), "SELECT \"a\"\"b\"");
        assert!(norm("SELECT U&\"x\" UESCAPE 'a'", None).is_err());
        assert!(norm("SELECT U&\"\\0000\"", None).is_err());
    }

    #[test]
    fn refuses_lookalike_whitespace() {
        let e = norm("SELECT\u{a0}pg_sleep(1)", None).unwrap_err();
        assert_eq!(e.rule, "input.unusual_character");
        assert!(norm("SELECT 'a\u{a0}b', données FROM t", None).is_ok());
        assert!(norm("SELECT 1\u{0}", None).is_err());
    }
}
