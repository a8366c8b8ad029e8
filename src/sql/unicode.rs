//! Decoding of PostgreSQL `U&"…"` identifiers and `U&'…'` strings (with an optional `UESCAPE 'c'`), which
//! sqlparser-dsql does not understand: it reads `U&"pg_sl\0065ep"(1)` as `U & "pg_sl\0065ep"(1)`, so a function
//! denylist built on its AST would miss `pg_sleep`. We decode them ourselves and hand sqlparser (and PostgreSQL)
//! the equivalent plain quoted form.

/// Decodes the body of a `U&` literal. `body` is the text between the quotes with doubled quotes already
/// collapsed; `esc` is the escape character (`\` unless UESCAPE says otherwise).
pub(crate) fn decode(body: &str, esc: char) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    let mut pending_high: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != esc {
            if pending_high.is_some() {
                return Err("invalid Unicode surrogate pair".into());
            }
            out.push(c);
            continue;
        }
        let digits = match chars.peek() {
            Some(&n) if n == esc => {
                chars.next();
                if pending_high.is_some() {
                    return Err("invalid Unicode surrogate pair".into());
                }
                out.push(esc);
                continue;
            }
            Some('+') => {
                chars.next();
                6
            }
            _ => 4,
        };
        let mut value = 0u32;
        for _ in 0..digits {
            match chars.next().and_then(|d| d.to_digit(16)) {
                Some(d) => value = value * 16 + d,
                None => {
                    return Err(format!("invalid Unicode escape: {esc} must be followed by {esc}, XXXX or +XXXXXX"));
                }
            }
        }
        let code = match (pending_high.take(), value) {
            (Some(high), low @ 0xDC00..=0xDFFF) => 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
            (Some(_), _) => return Err("invalid Unicode surrogate pair".into()),
            (None, 0xD800..=0xDBFF) => {
                pending_high = Some(value);
                continue;
            }
            (None, 0xDC00..=0xDFFF) => return Err("invalid Unicode surrogate pair".into()),
            (None, v) => v,
        };
        if code == 0 {
            return Err("invalid Unicode escape value 0 (NUL is not allowed)".into());
        }
        match char::from_u32(code) {
            Some(ch) => out.push(ch),
            None => return Err(format!("invalid Unicode escape value {code:#x}")),
        }
    }
    if pending_high.is_some() {
        return Err("invalid Unicode surrogate pair".into());
    }
    Ok(out)
}

/// PostgreSQL's rule for a UESCAPE character: one byte, not a hex digit, `+`, quote or whitespace.
pub(crate) fn valid_escape(s: &str) -> Option<char> {
    let mut it = s.chars();
    let c = it.next()?;
    if it.next().is_some() || !c.is_ascii() || c.is_ascii_hexdigit() || c.is_ascii_whitespace() {
        return None;
    }
    if matches!(c, '+' | '\'' | '"') {
        return None;
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_long_and_surrogates() {
        assert_eq!(decode("pg_sl\\0065ep", '\\').unwrap(), "pg_sleep");
        assert_eq!(decode("d\\0061t\\+000061", '\\').unwrap(), "data");
        assert_eq!(decode("d!0061t", '!').unwrap(), "dat");
        assert_eq!(decode("a\\\\b", '\\').unwrap(), "a\\b");
        assert_eq!(decode("\\D83D\\DE00", '\\').unwrap(), "\u{1F600}");
    }

    #[test]
    fn rejects_bad_escapes() {
        for bad in ["\\00", "\\zzzz", "\\0000", "\\D83D", "\\DE00", "\\+110000", "x\\"] {
            assert!(decode(bad, '\\').is_err(), "{bad}");
        }
        assert_eq!(valid_escape("!"), Some('!'));
        for bad in ["a", "+", "'", " ", "!!", ""] {
            assert_eq!(valid_escape(bad), None, "{bad}");
        }
    }
}
