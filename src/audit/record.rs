//! One line of the audit log: its fields, in the order they are written, and how a statement is recorded (a
//! SHA-256 of its text as given, and that text with every literal and comment taken out, `sql::redact_values`).
//! Bound values (`params`, `params_list`) are never read here: only how many there were.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Confirmation, Ending, FORMAT_VERSION, Outcome};

/// A statement as a call carries it: its text as given and how many values were bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// The statement (or migration file, or lint input) exactly as the agent sent it.
    pub sql: String,
    /// How many bound values came with it (their values are never recorded).
    pub params: usize,
}

/// One statement of a line.
#[derive(Debug, Clone, Serialize)]
pub struct StatementRecord {
    /// SHA-256 of the text as given (UTF-8), lowercase hex.
    pub sha256: String,
    /// The text with literals replaced by `?` and comments removed; null when it cannot be tokenized.
    pub sql: Option<String>,
    /// How many values were bound to it.
    pub params: usize,
    /// Rows its command tag reports (inserted, updated, deleted, returned…), when the tool reports them.
    pub rows: Option<u64>,
}

impl StatementRecord {
    fn of(given: &Given) -> StatementRecord {
        StatementRecord {
            sha256: sha256_hex(&given.sql),
            sql: crate::sql::redact_values(&given.sql),
            params: given.params,
            rows: None,
        }
    }
}

fn sha256_hex(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest tool name written: an unknown name is the client's text, and one line must not grow with it.
const MAX_TOOL_NAME_CHARS: usize = 128;

fn bounded_name(name: &str) -> String {
    match name.char_indices().nth(MAX_TOOL_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// One line of the audit log (format version [`FORMAT_VERSION`]), one per tool call.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// The format version.
    pub v: u32,
    /// When the call arrived, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The tool called, as the client named it (an unknown name too).
    pub tool: String,
    /// The cluster's name (`default` for the one the flags define).
    pub cluster: String,
    /// The database role the server connects as; null without a database.
    pub role: Option<String>,
    /// Who called: `stdio` for the client that started the server; over HTTP the authenticated caller (`token` for
    /// the bearer token's holder, `anonymous` without authentication, `jwt:["ISSUER","SUBJECT"]` for a JWT).
    /// Added in format 1 after its first release; readers treat a missing field as unknown.
    pub caller: Option<String>,
    /// The statements the call carried, in order.
    pub statements: Vec<StatementRecord>,
    /// How the call ended.
    pub outcome: Outcome,
    /// What refused it, or what kind of error it was.
    pub check: Option<String>,
    /// The SQLSTATE of the refusal or failure, when it has one.
    pub sqlstate: Option<String>,
    /// How many times the transaction ran, when known.
    pub attempts: Option<u32>,
    /// Rows returned to the agent, when the tool returns rows.
    pub rows: Option<u64>,
    /// Milliseconds from the call's arrival to its answer.
    pub duration_ms: u64,
    /// What was decided about destroying data or schema.
    pub confirmation: Confirmation,
}

impl Line {
    /// A call that just arrived: who, where and what, the rest to be filled when it ends.
    pub fn new(tool: &str, cluster: &str, role: Option<String>, statements: &[Given]) -> Line {
        Line {
            v: FORMAT_VERSION,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            tool: bounded_name(tool),
            cluster: cluster.to_string(),
            role,
            caller: None,
            statements: statements.iter().map(StatementRecord::of).collect(),
            outcome: Outcome::Error,
            check: None,
            sqlstate: None,
            attempts: None,
            rows: None,
            duration_ms: 0,
            confirmation: Confirmation::NotAsked,
        }
    }

    /// The end of the call: how it ended, what was decided, and what its result reports.
    pub(super) fn fill(
        &mut self,
        ending: Ending,
        confirmation: Confirmation,
        result: Option<&Value>,
        elapsed: Duration,
    ) {
        let reported = |key: &str| result.and_then(|r| r.get(key));
        self.outcome = ending.outcome;
        self.check = ending.check;
        self.sqlstate = ending.sqlstate;
        self.attempts =
            ending.attempts.or_else(|| reported("attempts").and_then(Value::as_u64).and_then(|a| a.try_into().ok()));
        self.rows = reported("row_count").and_then(Value::as_u64);
        if let Some(reports) = reported("statements").and_then(Value::as_array)
            && reports.len() == self.statements.len()
        {
            for (statement, report) in self.statements.iter_mut().zip(reports) {
                statement.rows = report.get("rows_affected").and_then(Value::as_u64);
            }
        }
        self.duration_ms = elapsed.as_millis().try_into().unwrap_or(u64::MAX);
        self.confirmation = confirmation;
    }
}

/// The statements a call's arguments carry, generically: `sql` (with `params`/`parameters`), `sql_list` (with
/// `params_list`, or `parameters` for a one-statement list) and `try_indexes`. Only the count of bound values is
/// taken. Tools whose SQL is built from other arguments describe it themselves (the registry's
/// `audited_statements`).
pub fn statements_in(args: Option<&serde_json::Map<String, Value>>) -> Vec<Given> {
    let Some(args) = args else { return Vec::new() };
    let count = |v: Option<&Value>| v.and_then(Value::as_array).map_or(0, Vec::len);
    let mut out = Vec::new();
    if let Some(sql) = args.get("sql").and_then(Value::as_str) {
        let params = count(args.get("params").or_else(|| args.get("parameters")));
        out.push(Given { sql: sql.to_string(), params });
    }
    if let Some(list) = args.get("sql_list").and_then(Value::as_array) {
        let lists = args.get("params_list").and_then(Value::as_array);
        for (i, sql) in list.iter().enumerate() {
            let Some(sql) = sql.as_str() else { continue };
            let params = match lists {
                Some(lists) => count(lists.get(i)),
                None if list.len() == 1 => count(args.get("parameters")),
                None => 0,
            };
            out.push(Given { sql: sql.to_string(), params });
        }
    }
    if let Some(list) = args.get("try_indexes").and_then(Value::as_array) {
        out.extend(list.iter().filter_map(Value::as_str).map(|sql| Given { sql: sql.to_string(), params: 0 }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statements_keep_their_text_hashed_and_redacted_and_only_count_their_values() {
        let args = json!({"sql_list": ["INSERT INTO t VALUES ($1, 'inline')", "SELECT 1"],
                          "params_list": [["bound-secret"], null]});
        let given = statements_in(args.as_object());
        assert_eq!(given[0], Given { sql: "INSERT INTO t VALUES ($1, 'inline')".into(), params: 1 });
        assert_eq!(given[1].params, 0);
        let mut line = Line::new("transact", "default", Some("admin".into()), &given);
        let result = json!({"attempts": 2, "row_count": 1, "statements": [{"rows_affected": 1}, {"rows_affected": 1}]});
        line.fill(Ending::success(true, None), Confirmation::NotAsked, Some(&result), Duration::from_millis(7));
        let text = serde_json::to_string(&line).unwrap();
        assert!(!text.contains("bound-secret") && !text.contains("inline"), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["statements"][0]["sql"], "INSERT INTO t VALUES ($1, ?)");
        // echo -n "SELECT 1" | sha256sum
        assert_eq!(back["statements"][1]["sha256"], "e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5");
        assert_eq!((back["attempts"].clone(), back["rows"].clone()), (json!(2), json!(1)));
        assert_eq!(back["statements"][0]["rows"], 1);
        assert_eq!((back["v"].clone(), back["outcome"].clone()), (json!(FORMAT_VERSION), json!("committed")));
        assert_eq!(back["confirmation"], "not_asked");
    }

    #[test]
    fn an_unknown_tool_name_is_cut_to_a_bounded_length() {
        let long = "x".repeat(10_000);
        let line = Line::new(&long, "default", None, &[]);
        assert_eq!(line.tool.chars().count(), MAX_TOOL_NAME_CHARS + 1);
        assert_eq!(Line::new("transact", "default", None, &[]).tool, "transact");
    }

    #[test]
    fn a_single_statement_takes_the_flat_parameters_spelling() {
        let given = statements_in(json!({"sql": "SELECT $1", "parameters": ["x", "y"]}).as_object());
        assert_eq!(given, [Given { sql: "SELECT $1".into(), params: 2 }]);
        let given = statements_in(json!({"sql_list": ["SELECT $1"], "parameters": ["x"]}).as_object());
        assert_eq!(given[0].params, 1);
    }
}
