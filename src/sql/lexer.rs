//! A PostgreSQL-faithful tokenizer for the few jobs sqlparser cannot do for us: finding placeholders and `U&`
//! escapes outside literals and comments, spotting the first keywords of statements sqlparser cannot parse (`DO`,
//! `TABLE t`, a table named `async`), and rejecting characters PostgreSQL and sqlparser would read differently.
//! It follows PostgreSQL 16's scanner rules (standard_conforming_strings on, nested block comments, `$tag$`
//! quoting, identifiers that may contain `$` and any non-ASCII character). It never panics and is linear.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Space,
    LineComment,
    BlockComment,
    Word,
    QuotedIdent,
    /// `U&"…"` (the UESCAPE clause, if any, is separate tokens).
    UnicodeIdent,
    /// `'…'`, `E'…'`, `N'…'`, `B'…'`, `X'…'`.
    String,
    /// `U&'…'`.
    UnicodeString,
    DollarString,
    /// `$1`.
    Param,
    Number,
    Semicolon,
    /// `%s`, `%b`, `%t` or `%%` (psycopg placeholders; only meaningful when the caller passed params).
    Percent,
    /// Any other single character (operators, punctuation).
    Op,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, Kind::Space | Kind::LineComment | Kind::BlockComment)
    }
    /// True for an unquoted word equal (ASCII case-insensitively) to `kw`.
    pub fn is_word(&self, src: &str, kw: &str) -> bool {
        self.kind == Kind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub message: String,
    pub offset: usize,
}

/// 1-based line and column (in characters) of a byte offset, for messages.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_tag_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Tokenizes `src`. Errors only on unterminated quotes/comments.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let b = src.as_bytes();
    let n = b.len();
    let mut out = Vec::with_capacity(n / 4 + 4);
    let mut i = 0;
    while i < n {
        let start = i;
        let c = b[i];
        let kind = if is_space(c) {
            while i < n && is_space(b[i]) {
                i += 1;
            }
            Kind::Space
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < n && b[i] != b'\n' && b[i] != b'\r' {
                i += 1;
            }
            Kind::LineComment
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = block_comment_end(b, i)?;
            Kind::BlockComment
        } else if c == b'\'' {
            i = quoted_end(b, i, b'\'', false)?;
            Kind::String
        } else if c == b'"' {
            i = quoted_end(b, i, b'"', false)?;
            if i == start + 2 {
                return Err(LexError { message: "zero-length quoted identifier \"\"".into(), offset: start });
            }
            Kind::QuotedIdent
        } else if c == b'$' {
            if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Param
            } else if let Some(end) = dollar_quote_end(src, i)? {
                i = end;
                Kind::DollarString
            } else {
                i += 1;
                Kind::Op
            }
        } else if is_ident_start(c) {
            // Prefixed literals: the word must be exactly the prefix (PostgreSQL's longest-match rule).
            if (c == b'u' || c == b'U')
                && b.get(i + 1) == Some(&b'&')
                && matches!(b.get(i + 2), Some(b'\'') | Some(b'"'))
            {
                let q = b[i + 2];
                i = quoted_end(b, i + 2, q, false)?;
                if q == b'"' { Kind::UnicodeIdent } else { Kind::UnicodeString }
            } else if matches!(c, b'e' | b'E') && b.get(i + 1) == Some(&b'\'') {
                i = quoted_end(b, i + 1, b'\'', true)?;
                Kind::String
            } else if matches!(c, b'n' | b'N' | b'b' | b'B' | b'x' | b'X') && b.get(i + 1) == Some(&b'\'') {
                i = quoted_end(b, i + 1, b'\'', false)?;
                Kind::String
            } else {
                while i < n && is_ident_cont(b[i]) {
                    i += 1;
                }
                Kind::Word
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                if b[i] == b'.' && b.get(i + 1) == Some(&b'.') {
                    break;
                }
                i += 1;
            }
            Kind::Number
        } else if c == b'%' && matches!(b.get(i + 1), Some(b's' | b'b' | b't' | b'%')) {
            i += 2;
            Kind::Percent
        } else if c == b';' {
            i += 1;
            Kind::Semicolon
        } else {
            // One character (may be multi-byte only if is_ident_start missed it, which it cannot).
            i += 1;
            Kind::Op
        };
        out.push(Token { kind, start, end: i });
    }
    Ok(out)
}

fn block_comment_end(b: &[u8], start: usize) -> Result<usize, LexError> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Err(LexError { message: "unterminated /* comment".into(), offset: start })
}

/// `start` points at the opening quote; returns the offset just past the closing quote.
fn quoted_end(b: &[u8], start: usize, q: u8, backslash: bool) -> Result<usize, LexError> {
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if backslash && c == b'\\' {
            i += 2;
            continue;
        }
        if c == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        i += 1;
    }
    let what = if q == b'"' { "quoted identifier" } else { "quoted string" };
    Err(LexError { message: format!("unterminated {what}"), offset: start })
}

/// At a `$` that is not a parameter: a `$tag$…$tag$` string if the opening delimiter is valid.
fn dollar_quote_end(src: &str, start: usize) -> Result<Option<usize>, LexError> {
    let b = src.as_bytes();
    let mut j = start + 1;
    if j < b.len() && b[j] != b'$' {
        if !is_ident_start(b[j]) {
            return Ok(None);
        }
        while j < b.len() && is_tag_cont(b[j]) {
            j += 1;
        }
    }
    if b.get(j) != Some(&b'$') {
        return Ok(None);
    }
    let delim = &src[start..=j];
    match src[j + 1..].find(delim) {
        Some(pos) => Ok(Some(j + 1 + pos + delim.len())),
        None => Err(LexError { message: format!("unterminated dollar-quoted string {delim}"), offset: start }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, &str)> {
        lex(s).unwrap().into_iter().filter(|t| t.kind != Kind::Space).map(|t| (t.kind, t.text(s))).collect()
    }

    #[test]
    fn strings_and_prefixes() {
        assert_eq!(kinds("E'\\''"), vec![(Kind::String, "E'\\''")]);
        assert_eq!(kinds("'a\\'"), vec![(Kind::String, "'a\\'")]);
        assert_eq!(kinds("valuee'x'"), vec![(Kind::Word, "valuee"), (Kind::String, "'x'")]);
        assert_eq!(kinds("U&\"a\"\"b\""), vec![(Kind::UnicodeIdent, "U&\"a\"\"b\"")]);
        assert_eq!(kinds("u&'x'"), vec![(Kind::UnicodeString, "u&'x'")]);
        assert_eq!(kinds("U & 'x'")[0], (Kind::Word, "U"));
    }

    #[test]
    fn dollar_quotes_params_and_identifiers() {
        assert_eq!(kinds("$$a'b$$"), vec![(Kind::DollarString, "$$a'b$$")]);
        assert_eq!(kinds("$t$x$$y$t$"), vec![(Kind::DollarString, "$t$x$$y$t$")]);
        assert_eq!(kinds("$12"), vec![(Kind::Param, "$12")]);
        assert_eq!(kinds("a$$b$$"), vec![(Kind::Word, "a$$b$$")]);
        assert!(lex("$$open").is_err());
    }

    #[test]
    fn comments_nest_and_line_comments_end_at_cr() {
        assert_eq!(kinds("/* a /* b */ c */x"), vec![(Kind::BlockComment, "/* a /* b */ c */"), (Kind::Word, "x")]);
        assert_eq!(kinds("--a\rx"), vec![(Kind::LineComment, "--a"), (Kind::Word, "x")]);
        assert!(lex("/* /* */").is_err());
        assert!(lex("'open").is_err());
        assert!(lex("\"open").is_err());
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
    }
}
