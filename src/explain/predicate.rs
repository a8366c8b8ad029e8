//! Reading the conditions a plan prints (`Filter: ((a = 1) AND (lower(email) = 'x'::text))`): which columns an
//! index could serve and how (equality, range, sort), and why a condition cannot be served by a plain index on its
//! column (a function or a cast on the column, a `LIKE` that starts with a wildcard). Plans print conditions in a
//! regular, deparsed form; what this reader does not recognise is left out, never guessed.

/// How a condition uses its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// `col = value` (or `= ANY (…)`, `IS NULL`): leads an index.
    Equality(String),
    /// `col < value` and the like: follows the equality columns.
    Range(String),
    /// Not servable by a plain index on a column, and why; `expression` is what an expression index would key on.
    Opaque {
        /// Why a plain index cannot serve it (a function on the column, a leading wildcard…).
        why: String,
        /// The expression an expression index would key on, when one could serve it.
        expression: Option<String>,
    },
    /// Compares columns of two relations (a join condition): `(left, right)`.
    Join(String, String),
}

const OPERATORS: [&str; 11] =
    [" = ", " <> ", " <= ", " >= ", " < ", " > ", " ~~ ", " ~~* ", " !~~ ", " IS NULL", " IS NOT NULL"];

/// The top-level conjuncts of a condition and how each uses its column.
pub fn uses(condition: &str) -> Vec<Use> {
    conjuncts(condition).into_iter().filter_map(one).collect()
}

/// `((a) AND (b))` → `a`, `b` (nested ANDs flattened; anything else is one conjunct).
fn conjuncts(s: &str) -> Vec<&str> {
    let s = strip_parens(s.trim());
    let parts = split_top(s, " AND ");
    if parts.len() == 1 {
        return parts;
    }
    parts.into_iter().flat_map(conjuncts).collect()
}

/// Splits at `sep` outside parentheses and quotes.
fn split_top<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && s[i..].starts_with(sep) => {
                out.push(s[start..i].trim());
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s[start..].trim());
    out
}

/// Removes parentheses that enclose the whole text.
fn strip_parens(mut s: &str) -> &str {
    while s.starts_with('(') && s.ends_with(')') && encloses(s) {
        s = s[1..s.len() - 1].trim();
    }
    s
}

fn encloses(s: &str) -> bool {
    let (mut depth, mut quoted) = (0i32, false);
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 && i + 1 < s.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

fn one(conjunct: &str) -> Option<Use> {
    let c = strip_parens(conjunct);
    let (left, op, right) = OPERATORS
        .iter()
        .find_map(|op| {
            let parts = split_top(c, op);
            (parts.len() == 2).then(|| (parts[0], op.trim(), parts[1]))
        })
        .or_else(|| {
            // `IS NULL` has no right side: split_top leaves the text before it and an empty rest.
            [" IS NULL", " IS NOT NULL"].iter().find_map(|op| c.strip_suffix(op).map(|l| (l, op.trim(), "")))
        })?;
    let left = strip_parens(left);
    let right = strip_parens(right);
    if let Some(col) = column(left) {
        if let Some(other) = column(right) {
            return Some(Use::Join(col, other));
        }
        if matches!(op, "~~" | "~~*") && right.starts_with("'%") {
            return Some(Use::Opaque {
                why: format!(
                    "`{col} LIKE` a pattern that starts with a wildcard matches anywhere in the value, so no index order helps"
                ),
                expression: None,
            });
        }
        if op == "~~*" {
            return Some(Use::Opaque {
                why: format!("ILIKE on {col} is not served by a plain index"),
                expression: None,
            });
        }
        return match op {
            "=" | "IS NULL" => Some(Use::Equality(col)),
            "<" | ">" | "<=" | ">=" => Some(Use::Range(col)),
            "~~" => Some(Use::Range(col)),
            _ => None,
        };
    }
    if !constant(right) {
        return None;
    }
    if let Some((inner, ty)) = cast_of_column(left) {
        return Some(Use::Opaque {
            why: format!(
                "the column {inner} is cast to {ty} before the comparison (a type mismatch between the column \
                          and the value), so an index on {inner} cannot be used: compare with a value of the column's own type"
            ),
            expression: None,
        });
    }
    if let Some((func, col)) = function_of_column(left) {
        return Some(Use::Opaque {
            why: format!(
                "the column {col} is wrapped in {func}(…), so an index on {col} alone cannot serve the condition"
            ),
            expression: Some(left.to_string()),
        });
    }
    None
}

/// A column reference as plans print it: `a`, `t.a`, `"Mixed"`, optionally parenthesised, optionally cast to text
/// (varchar columns compared with text values print `(status)::text`, which an index on the column serves).
fn column(s: &str) -> Option<String> {
    let s = strip_parens(s.trim());
    let s = s.strip_suffix("::text").map(|x| strip_parens(x.trim())).unwrap_or(s);
    let ok = !s.is_empty()
        && s.split('.').all(|part| {
            let p = part.trim_matches('"');
            !p.is_empty()
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
        && !s.starts_with('$')
        && !matches!(s.to_ascii_lowercase().as_str(), "true" | "false" | "null");
    ok.then(|| s.to_string())
}

/// A literal, a bound parameter, or either cast: `'x'::text`, `42`, `$1`, `'{1,2}'::integer[]`, `ANY ('{…}')`.
fn constant(s: &str) -> bool {
    let s = strip_parens(s.trim());
    let base = s.split("::").next().unwrap_or(s).trim();
    base.starts_with('\'')
        || base.starts_with('$')
        || base.parse::<f64>().is_ok()
        || base.starts_with("ANY (")
        || base.eq_ignore_ascii_case("null")
}

/// `(col)::type` where type is not text: `(id)::numeric`.
fn cast_of_column(s: &str) -> Option<(String, String)> {
    let (inner, ty) = s.rsplit_once("::")?;
    let col = column(inner)?;
    (!ty.trim().is_empty()).then(|| (col, ty.trim().to_string()))
}

/// `lower(email)`, `date_trunc('day'::text, created_at)`: the function's name and the one column it reads.
fn function_of_column(s: &str) -> Option<(String, String)> {
    let open = s.find('(')?;
    let name = &s[..open];
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') || !s.ends_with(')') {
        return None;
    }
    let args = &s[open + 1..s.len() - 1];
    let columns: Vec<String> = split_top(args, ",").into_iter().filter_map(column).collect();
    (columns.len() == 1).then(|| (name.to_string(), columns[0].clone()))
}

/// The column's own name, without its relation qualifier.
pub fn bare(column: &str) -> &str {
    column.rsplit('.').next().unwrap_or(column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(c: &str) -> Use {
        Use::Equality(c.into())
    }

    #[test]
    fn reads_postgresql_and_dsql_conditions() {
        assert_eq!(uses("((a = 1) AND (b > 2))"), vec![eq("a"), Use::Range("b".into())]);
        assert_eq!(uses("((status)::text = 'pending'::text)"), vec![eq("status")]);
        assert_eq!(uses("(customer_id = '4b18a761-5870-4d7c-95ce-0a48eca3fceb'::uuid)"), vec![eq("customer_id")]);
        assert_eq!(uses("(t.k = $1)"), vec![eq("t.k")]);
        assert_eq!(uses("(o.customer_id = c.id)"), vec![Use::Join("o.customer_id".into(), "c.id".into())]);
        assert_eq!(uses("(a = ANY ('{1,2}'::integer[]))"), vec![eq("a")]);
        assert_eq!(uses("(a IS NULL)"), vec![eq("a")]);
    }

    #[test]
    fn says_why_a_condition_is_opaque() {
        let like = uses("(description ~~ '%external%'::text)");
        assert!(matches!(&like[..], [Use::Opaque { why, expression: None }] if why.contains("wildcard")), "{like:?}");
        let f = uses("(lower(email) = 'a@b.c'::text)");
        assert!(
            matches!(&f[..], [Use::Opaque { why, expression: Some(e) }] if why.contains("lower") && e == "lower(email)"),
            "{f:?}"
        );
        let cast = uses("((id)::numeric = 42.5)");
        assert!(matches!(&cast[..], [Use::Opaque { why, .. }] if why.contains("numeric")), "{cast:?}");
        // 'a AND b' inside a literal is not a conjunction.
        assert_eq!(uses("(note = 'x AND y'::text)"), vec![eq("note")]);
    }
}
