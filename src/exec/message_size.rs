//! DSQL's limit on one protocol message (catalog C12, revision 2026-12-07): a frontend message over 10 MiB — a
//! statement's text, or a Bind carrying all of its parameter values — is not answered; DSQL closes the connection
//! without an error (the documented `08P01 invalid message length` is not delivered), which a client cannot tell
//! from a network fault. So every statement is measured before anything is sent, in every mode (the local sandbox
//! and `--database-url` refuse it too, so an agent learns it before production), and one that would not fit is
//! refused with what to do instead. A connection lost after a large write is never retried (see `exec::classify`).

use serde_json::Value;
use tokio_postgres::types::Type;

use super::Statement;
use super::params::TextParam;

/// The largest protocol message DSQL answers: 10 MiB (catalog C12; A D-QUOTA later copy, A' observed).
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// Writes at least this large are "large" for C12: a connection lost after one is reported as such.
pub const LARGE_WRITE_BYTES: usize = 1024 * 1024;

/// The largest message `st` becomes on the wire: its text in a `Parse` (or a simple `Query`), or its values in a
/// `Bind`, with the framing PostgreSQL counts (type byte, length, names, counts, format codes).
pub fn largest_message(text: &str, st: &Statement) -> usize {
    let n = st.params.len();
    // Parse: type, length, unnamed statement "\0", text "\0", parameter count, one OID per parameter.
    let parse = 1 + 4 + 1 + text.len() + 1 + 2 + 4 * n;
    // Bind: type, length, portal "\0", statement "\0", format codes (count + one each), values (count + length and
    // bytes each), result formats (count + one).
    let values: usize = st.params.iter().map(|v| 4 + value_bytes(v)).sum();
    let bind = 1 + 4 + 1 + 1 + 2 + 2 * n + 2 + values + 2 + 2;
    parse.max(bind)
}

/// The bytes of a bound value as sent (text format); JSON arrays may go as an array literal or as JSON text,
/// whichever is longer counts.
fn value_bytes(v: &Value) -> usize {
    let len = |ty: &Type| TextParam::from_json(v, ty).0.map_or(0, |s| s.len());
    match v {
        // The common case costs no copy.
        Value::String(s) => s.len(),
        Value::Null => 0,
        Value::Array(_) => len(&Type::TEXT_ARRAY).max(len(&Type::JSONB)),
        _ => len(&Type::TEXT),
    }
}

/// The largest message of `statements`, or the refusal for the first one whose message would be over
/// [`MAX_MESSAGE_BYTES`], before anything is sent. `text_of`: a statement's text as it will be sent.
pub fn check<'s>(statements: &'s [Statement], text_of: impl Fn(usize) -> &'s str) -> Result<usize, String> {
    let n = statements.len();
    let mut largest = 0;
    for (i, st) in statements.iter().enumerate() {
        let text = text_of(i);
        let bytes = largest_message(text, st);
        largest = largest.max(bytes);
        if bytes <= MAX_MESSAGE_BYTES {
            continue;
        }
        let which = if n == 1 { "the statement".to_string() } else { format!("statement {} of {n}", i + 1) };
        let what = if text.len() + 64 >= bytes {
            format!("its text is {} bytes", thousands(text.len()))
        } else {
            let values = match st.params.len() {
                1 => "its bound value".to_string(),
                n => format!("its {n} bound values together"),
            };
            format!("{values}: {} bytes", thousands(bytes))
        };
        return Err(format!(
            "{which} would be sent as one protocol message of {:.1} MiB ({what}); Aurora DSQL closes the connection \
             without an answer when one message is over 10 MiB (catalog C12), so nothing was sent and nothing was \
             changed.\nWHAT TO DO: split it: insert the rows in several statements with fewer rows each (keep each \
             statement and its params under a few MiB), spread over several transact calls when the transaction \
             would pass DSQL's 3,000 rows or 10 MiB of changes. A single value this large cannot be stored in DSQL \
             anyway (1 MiB per non-key column, 2 MiB per row): store it elsewhere (e.g. S3) and keep its key.",
            bytes as f64 / (1024.0 * 1024.0)
        ));
    }
    Ok(largest)
}

/// `12345678` → `12,345,678`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_as_given(statements: &[Statement]) -> Result<usize, String> {
        check(statements, |i| &statements[i].text)
    }

    fn statement(text: &str, params: Vec<Value>) -> Statement {
        Statement { text: text.into(), command: "INSERT".into(), params, quota: Vec::new() }
    }

    #[test]
    fn a_statement_just_under_the_limit_passes_and_one_byte_more_is_refused() {
        // Parse framing around the text: 1 + 4 + 1 + 1 + 2 = 9 bytes with no parameters.
        let fits = "x".repeat(MAX_MESSAGE_BYTES - 9);
        let st = statement(&fits, vec![]);
        assert_eq!(largest_message(&fits, &st), MAX_MESSAGE_BYTES);
        assert!(check_as_given(&[st]).is_ok());
        let over = format!("{fits}x");
        let err = check_as_given(&[statement(&over, vec![])]).unwrap_err();
        assert!(err.starts_with("the statement would be sent as one protocol message of 10.0 MiB"), "{err}");
        assert!(err.contains("its text is 10,485,752 bytes") && err.contains("nothing was sent"), "{err}");
        assert!(err.contains("WHAT TO DO: split it"), "{err}");
    }

    #[test]
    fn bound_values_count_together_and_name_the_statement() {
        let big = json!("v".repeat(4 * 1024 * 1024));
        let small = statement("SELECT 1", vec![]);
        let three = statement("INSERT INTO t VALUES ($1), ($2), ($3)", vec![big.clone(), big.clone(), big]);
        let err = check_as_given(&[small, three]).unwrap_err();
        assert!(err.starts_with("statement 2 of 2 would be sent as one protocol message of 12.0 MiB"), "{err}");
        assert!(err.contains("its 3 bound values together: 12,582,9"), "{err}");
    }

    #[test]
    fn arrays_count_in_their_longer_form() {
        // As an array literal an object element is quoted and escaped: {"{\"k\":1}"} (13 bytes) > [{"k":1}] (9).
        assert_eq!(value_bytes(&json!([{"k": 1}])), r#"{"{\"k\":1}"}"#.len());
        assert_eq!(value_bytes(&json!([1, 2])), "[1,2]".len());
        assert_eq!(value_bytes(&json!(null)), 0);
        assert_eq!(value_bytes(&json!(12)), 2);
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10_485_761), "10,485,761");
    }
}
