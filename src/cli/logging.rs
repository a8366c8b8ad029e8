//! The log on stderr, and what it must never carry: tool arguments and bound values, IAM tokens, AWS secrets.
//!
//! - Which crates speak (`AURORA_DSQL_MCP_LOG`): a bare level (`debug`, `trace`, …) sets our crate's level only;
//!   other crates stay at `info` (rmcp at `warn`) unless named (`rmcp=debug`, `tokio_postgres=trace`). A level
//!   below `info` (`warn`, `error`, `off`) quietens everything.
//! - What they may say: rmcp's debug/trace events print whole MCP messages (tool arguments, results) in their
//!   `request`/`result`/`evt`/`notification` fields; those fields are elided. tokio-postgres prints every bound
//!   value at debug (`executing statement … with parameters`); its `query` module is held at `info`.
//! - A last line of defence over every line written: the signature, security token and credential of a presigned
//!   IAM token (`X-Amz-Signature=…`, `X-Amz-Security-Token=…`, `X-Amz-Credential=…`), an `Authorization`
//!   header's `Signature=`, and the exact values of `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (and their
//!   percent-encoded forms) are replaced by `[redacted]`, whichever crate wrote them.
//! - Messages we log from database errors go through [`redact_message`]: quoted text and key tuples
//!   (`invalid input syntax for type integer: "…"`, `Key (email)=(…)`) are elided; the agent still gets the
//!   whole message in the tool result.

use std::io::{self, Write};
use std::str::FromStr;
use std::sync::OnceLock;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::filter::{FilterExt, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// The environment variable holding the filter.
pub const ENV: &str = "AURORA_DSQL_MCP_LOG";
/// Our crates' targets (the library and the binary).
const OURS: [&str; 2] = ["aurora_dsql_mcp_server", "aurora_dsql_mcp_rs"];
/// rmcp fields that hold whole MCP messages.
const PAYLOAD_FIELDS: &[&str] = &["request", "result", "evt", "notification", "response", "params", "arguments"];
/// Query-string keys and header parameters whose values are credentials.
const SECRET_KEYS: &[&str] =
    &["x-amz-signature", "x-amz-security-token", "x-amz-credential", "signature", "aws_secret_access_key"];

/// Installs the stderr log. `default`: the filter when `AURORA_DSQL_MCP_LOG` is unset.
pub fn init(default: &str) {
    let directives = directives(std::env::var(ENV).ok().as_deref(), default);
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("{ENV}={directives:?} is not a valid log filter ({e}); using {default:?}");
        EnvFilter::new(default)
    });
    // tokio-postgres logs every bound value at debug in this module: never above info, whatever is named.
    let no_bound_values =
        filter_fn(|meta| !(meta.target().starts_with("tokio_postgres::query") && *meta.level() > Level::INFO));
    let fields = fmt::format::debug_fn(|w, field, value| match field.name() {
        "message" => write!(w, "{value:?}"),
        name if PAYLOAD_FIELDS.contains(&name) => write!(w, "{name}=<elided>"),
        name => write!(w, "{name}={value:?}"),
    })
    .delimited(" ");
    let layer = fmt::layer()
        .with_writer(|| RedactingStderr)
        .with_ansi(false)
        .with_target(false)
        .fmt_fields(fields)
        .with_filter(filter.and(no_bound_values));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The filter directives for `env` (the variable's value, if set): see the module's documentation.
pub fn directives(env: Option<&str>, default: &str) -> String {
    let Some(env) = env.map(str::trim).filter(|e| !e.is_empty()) else { return default.to_string() };
    let mut ours: Option<LevelFilter> = None;
    let mut named = Vec::new();
    for part in env.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match LevelFilter::from_str(part) {
            Ok(level) => ours = Some(level),
            Err(_) => named.push(part.to_string()),
        }
    }
    let names = |target: &str| named.iter().any(|d| d.split(['=', '[']).next() == Some(target));
    // Others: `info`, or quieter when a quieter bare level was asked for.
    let others = match ours {
        Some(level) if level < LevelFilter::INFO => level,
        _ => LevelFilter::INFO,
    };
    let mut out = vec![others.to_string().to_ascii_lowercase()];
    if !names("rmcp") && others >= LevelFilter::WARN {
        out.push("rmcp=warn".into());
    }
    if let Some(level) = ours {
        for target in OURS.iter().filter(|t| !names(t)) {
            out.push(format!("{target}={}", level.to_string().to_ascii_lowercase()));
        }
    }
    out.extend(named);
    out.join(",")
}

/// stderr, with credentials scrubbed from every write (each log line is written whole, in one call).
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().lock().write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Secret values known to this process (from its environment), and their percent-encoded forms.
fn known_secrets() -> &'static [String] {
    static SECRETS: OnceLock<Vec<String>> = OnceLock::new();
    SECRETS.get_or_init(|| {
        let mut out = Vec::new();
        for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AURORA_DSQL_MCP_HTTP_TOKEN"] {
            if let Ok(v) = std::env::var(var)
                && v.len() >= 8
            {
                let encoded: String = v
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                out.push(v);
                out.push(encoded);
            }
        }
        out
    })
}

/// `text` with credentials replaced by `[redacted]` (see the module's documentation).
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for secret in known_secrets() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    scrub_bearer(&scrub_keys(&out))
}

/// `Bearer <credential>` (an HTTP `Authorization` header, `--http`'s token or a JWT) with the credential redacted.
fn scrub_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(at) = lower[from..].find("bearer ") {
        let start = from + at + "bearer ".len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | ')' | ']' | '}' | '\\'))
            .map_or(text.len(), |n| start + n);
        if end > start {
            out.push_str(&text[copied..start]);
            out.push_str("[redacted]");
            copied = end;
        }
        from = end.max(start);
    }
    out.push_str(&text[copied..]);
    out
}

fn scrub_keys(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let Some(key) = SECRET_KEYS.iter().find(|k| lower.as_bytes()[i..].starts_with(k.as_bytes())) else {
            i += 1;
            continue;
        };
        // A key is a whole word: not the end of a longer one (`x-amz-signature` contains `signature`).
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-');
        let mut j = i + key.len();
        if !word_start {
            i = j;
            continue;
        }
        // Separator: `=`, `: `, `": "`, `=\"`…
        let sep_start = j;
        while j < bytes.len() && j - sep_start < 4 && matches!(bytes[j], b'=' | b':' | b'"' | b'\'' | b' ' | b'\\') {
            j += 1;
        }
        if j == sep_start || !bytes[sep_start..j].iter().any(|b| matches!(b, b'=' | b':')) {
            i = j.max(i + 1);
            continue;
        }
        let value_start = j;
        while j < bytes.len()
            && !matches!(bytes[j], b'&' | b'"' | b'\'' | b',' | b';' | b')' | b']' | b'}' | b'\\')
            && !bytes[j].is_ascii_whitespace()
        {
            j += 1;
        }
        if j > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str("[redacted]");
            copied = j;
        }
        i = j.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// A database (or tool) error message fit for the log: the text inside quotes and the tuples of a key or a
/// failing row are elided, since they can quote bound values (`invalid input syntax for type integer: "…"`,
/// `Key (email)=(…) already exists`, `Failing row contains (…)`). Identifiers in quotes go too: the agent gets
/// the whole message; the log only needs to say what kind of error happened.
pub fn redact_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.char_indices().peekable();
    let mut after_equals_or_contains = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                let close = message[i + 1..].find(c).map(|p| i + 1 + p);
                out.push(c);
                out.push('…');
                match close {
                    Some(end) => {
                        out.push(c);
                        while chars.peek().is_some_and(|&(k, _)| k <= end) {
                            chars.next();
                        }
                    }
                    None => return out,
                }
            }
            '(' if after_equals_or_contains => {
                let mut depth = 1;
                for (_, d) in chars.by_ref() {
                    match d {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
                out.push_str("(…)");
            }
            _ => out.push(c),
        }
        after_equals_or_contains = c == '=' || message[..i + c.len_utf8()].ends_with("contains ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_raises_only_our_crates() {
        let d = directives(Some("debug"), "info,rmcp=warn");
        assert_eq!(d, "info,rmcp=warn,aurora_dsql_mcp_server=debug,aurora_dsql_mcp_rs=debug");
        assert_eq!(
            directives(Some("trace,rmcp=trace"), "x"),
            "info,aurora_dsql_mcp_server=trace,aurora_dsql_mcp_rs=trace,rmcp=trace"
        );
        assert_eq!(directives(Some("rmcp=debug"), "x"), "info,rmcp=debug");
        assert_eq!(directives(Some("error"), "x"), "error,aurora_dsql_mcp_server=error,aurora_dsql_mcp_rs=error");
        assert_eq!(directives(None, "info,rmcp=warn"), "info,rmcp=warn");
        assert_eq!(directives(Some(" "), "error"), "error");
        assert!(EnvFilter::try_new(directives(Some("trace,tokio_postgres=trace,aws_sigv4=trace"), "info")).is_ok());
    }

    #[test]
    fn bearer_credentials_are_scrubbed() {
        let line = r#"headers: {"authorization": "Bearer abc.def-ghi", "x": "bearer  "} Authorization: BEARER xyz"#;
        let out = scrub(line);
        assert!(!out.contains("abc.def-ghi") && !out.contains("xyz"), "{out}");
        assert_eq!(out.matches("[redacted]").count(), 2, "{out}");
    }

    #[test]
    fn presigned_token_parts_and_signatures_are_scrubbed() {
        let token = "c.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256\
                     &X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20260101T000000Z\
                     &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoGZXIvYXdzEKL%2F%2B\
                     &X-Amz-Signature=0123456789abcdef";
        let s = scrub(&format!("password: \"{token}\""));
        for secret in ["AKIDEXAMPLE", "FwoGZXIvYXdzEKL", "0123456789abcdef"] {
            assert!(!s.contains(secret), "{s}");
        }
        assert!(s.contains("X-Amz-Expires=900") && s.contains("Action=DbConnectAdmin"), "{s}");
        let header = scrub(
            r#"{"authorization": "AWS4-HMAC-SHA256 Credential=AKID/x, Signature=abcdef0123", "x-amz-security-token": "tok+en/=="}"#,
        );
        assert!(!header.contains("abcdef0123") && !header.contains("tok+en"), "{header}");
        assert_eq!(scrub("no secrets: signatures of functions"), "no secrets: signatures of functions");
    }

    #[test]
    fn quoted_values_and_key_tuples_leave_error_messages_for_the_log() {
        assert_eq!(
            redact_message("invalid input syntax for type integer: \"secret-value\""),
            "invalid input syntax for type integer: \"…\""
        );
        assert_eq!(
            redact_message(
                "duplicate key value violates unique constraint \"u\" DETAIL: Key (email)=(a@b.c) already exists."
            ),
            "duplicate key value violates unique constraint \"…\" DETAIL: Key (email)=(…) already exists."
        );
        assert_eq!(redact_message("Failing row contains (1, secret, (x))."), "Failing row contains (…).");
        assert_eq!(redact_message("unterminated 'sec"), "unterminated '…");
        assert_eq!(redact_message("count(*) is fine"), "count(*) is fine");
    }
}
