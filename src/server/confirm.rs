//! Asking the user before a statement that destroys data or schema runs (`--confirm-destructive`). The question
//! goes through the client as a form elicitation: `elicitation/create` for clients of the 2025 protocol versions,
//! an `input_required` result (multi round-trip request) for 2026-07-28 clients, which call again with the answer
//! and the request state we gave them. The request state binds the answer to the exact arguments (an HMAC under a
//! key made at start), so a "yes" cannot be replayed onto other statements.

use std::sync::OnceLock;

use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitationAction, InputRequest, InputRequests, InputRequiredResult,
    InputResponses, ProtocolVersion,
};
use rmcp::service::{ElicitationMode, RequestContext};
use serde_json::{Map, Value, json};

use crate::exec::{self, ErrorContext, Statement};
use crate::pool::Database;
use crate::sql::Destruction;
use crate::tools::{ConfirmDestructive, Env};

/// The key of the answer in the form and in `inputResponses`.
const ANSWER: &str = "confirm_destructive";
/// Rows counted per table for the question, at most (a bounded count, exact below it).
const COUNT_CAP: u64 = 10_000;

/// What to do with a call that holds destructive statements.
pub enum Verdict {
    /// Run it; with a line to add to the result when nobody could be asked.
    Run { warning: Option<String> },
    /// Do not run it: the user said no, or it cannot be confirmed and the policy refuses. The text says which.
    Stop(String),
    /// 2026-07-28: ask through the client, which calls again with the answer.
    Ask(InputRequiredResult),
}

/// Decides whether a call whose statements include `destroys` (position, SQL text, what it destroys) may run,
/// asking the user when the client can be asked.
pub async fn decide(
    env: &Env,
    db: &Database,
    destroys: &[(usize, String, Destruction)],
    arguments: &Map<String, Value>,
    state: Option<&str>,
    responses: Option<&InputResponses>,
    context: &RequestContext<RoleServer>,
) -> Verdict {
    let policy = env.settings.confirm_destructive;
    if destroys.is_empty() || policy == ConfirmDestructive::Allow {
        return Verdict::Run { warning: None };
    }
    let modern = context.protocol_version().is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    if modern && let Some(state) = state {
        // A retry carrying the user's answer: it counts only for exactly these arguments.
        if state == request_state(arguments) {
            return answer(responses.and_then(|r| r.get(ANSWER)));
        }
    }
    if !can_elicit(context, modern) {
        let what = summary_lines(destroys, &[]);
        return match policy {
            ConfirmDestructive::Refuse => Verdict::Stop(format!(
                "Refused: these statements destroy data or schema and need the user's confirmation, but this MCP \
                 client cannot ask the user (it does not support form elicitation), and the server runs with \
                 --confirm-destructive refuse. Nothing ran.\n{what}\nAsk the user to run them another way, or to \
                 restart the server with --confirm-destructive ask or allow."
            )),
            _ => Verdict::Run {
                warning: Some(format!(
                    "Warning: this call destroyed data or schema without the user's confirmation, because the MCP \
                     client cannot ask the user (no form elicitation):\n{what}"
                )),
            },
        };
    }
    let rows = count_rows(env, db, destroys).await;
    let message = format!(
        "The agent wants to run {} that destroy{} data or schema in {}:\n{}\nNothing runs unless you confirm.",
        if destroys.len() == 1 { "a statement" } else { "statements" },
        if destroys.len() == 1 { "s" } else { "" },
        target_label(env),
        summary_lines(destroys, &rows)
    );
    let params: ElicitRequestParams = match serde_json::from_value(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {"type": "object", "properties": {ANSWER: {"type": "boolean", "title": "Run it",
            "description": "Yes: run the statements listed above. No: nothing runs.", "default": false}},
            "required": [ANSWER]}
    })) {
        Ok(p) => p,
        Err(e) => return Verdict::Stop(format!("could not build the confirmation question: {e}. Nothing ran.")),
    };
    if modern {
        let mut requests = InputRequests::new();
        requests.insert(ANSWER.to_string(), InputRequest::Elicitation(ElicitRequest::new(params)));
        return Verdict::Ask(InputRequiredResult::new(Some(requests), Some(request_state(arguments))));
    }
    let stop = crate::exec::cancel::current().unwrap_or_default();
    tokio::select! {
        reply = context.peer.create_elicitation(params) => match reply {
            Ok(result) => answer(serde_json::to_value(result).ok().as_ref()),
            Err(e) => Verdict::Stop(format!(
                "Could not ask the user to confirm the destructive statements ({e}), so nothing ran."
            )),
        },
        _ = stop.cancelled() => Verdict::Stop("The call was cancelled while waiting for the user; nothing ran.".into()),
    }
}

/// The user's answer (an elicitation result: action and content) as a verdict.
fn answer(reply: Option<&Value>) -> Verdict {
    let action =
        reply.and_then(|r| r.get("action")).and_then(|a| serde_json::from_value::<ElicitationAction>(a.clone()).ok());
    let yes = reply.and_then(|r| r.get("content")).and_then(|c| c.get(ANSWER)).and_then(Value::as_bool);
    match (action, yes) {
        (Some(ElicitationAction::Accept), Some(true)) => Verdict::Run { warning: None },
        (Some(ElicitationAction::Cancel), _) => Verdict::Stop(
            "The user dismissed the confirmation without answering, so nothing ran. Ask them before trying again."
                .into(),
        ),
        (Some(_), _) => Verdict::Stop(
            "The user said no: they did not confirm the statements that destroy data or schema, so nothing ran. \
             Do not run them again unless the user asks for it."
                .into(),
        ),
        (None, _) => Verdict::Stop("The confirmation came back without an answer, so nothing ran.".into()),
    }
}

fn can_elicit(context: &RequestContext<RoleServer>, modern: bool) -> bool {
    if !modern {
        return context.peer.supported_elicitation_modes().contains(&ElicitationMode::Form);
    }
    // No mode named means form (2025-06-18 wording); otherwise form must be listed.
    context.meta.client_capabilities().and_then(|c| c.elicitation).is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// One line per destructive statement: its position, what it destroys, and rows at stake when counted.
fn summary_lines(destroys: &[(usize, String, Destruction)], rows: &[Option<u64>]) -> String {
    let mut counted = rows.iter();
    destroys
        .iter()
        .map(|(i, sql, d)| {
            let counts: Vec<String> = d
                .rows_of
                .iter()
                .filter_map(|table| {
                    counted.next().copied().flatten().map(|n| match n {
                        n if n > COUNT_CAP => format!("{table}: more than {COUNT_CAP} rows"),
                        1 => format!("{table}: 1 row"),
                        n => format!("{table}: {n} rows"),
                    })
                })
                .collect();
            let counts = if counts.is_empty() { String::new() } else { format!(" ({})", counts.join("; ")) };
            let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let sql = if sql.chars().count() > 200 {
                format!("{}…", sql.chars().take(200).collect::<String>())
            } else {
                sql
            };
            format!("- statement {}: {}{counts}\n  {sql}", i + 1, d.summary)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rows now in each table the statements empty or rewrite, in order (None when it could not be counted: the table
/// does not exist yet, or the read failed). One read-only transaction, one round trip; counts stop past the cap.
async fn count_rows(env: &Env, db: &Database, destroys: &[(usize, String, Destruction)]) -> Vec<Option<u64>> {
    let tables: Vec<&String> = destroys.iter().flat_map(|(_, _, d)| &d.rows_of).collect();
    if tables.is_empty() {
        return Vec::new();
    }
    let statements: Vec<Statement> = tables
        .iter()
        .map(|t| Statement {
            // The name comes from the parsed statement, printed back as SQL (quoted where it was quoted).
            text: format!("SELECT count(*) AS n FROM (SELECT 1 FROM {t} LIMIT {}) AS s", COUNT_CAP + 1),
            command: "SELECT".into(),
            params: Vec::new(),
            quota: Vec::new(),
        })
        .collect();
    let ctx = ErrorContext { statement: None, allow_writes: false, tool: "confirm" };
    match exec::run_all_rows(db, &statements, env.settings.limits.unbounded_rows(), &ctx).await {
        Ok(outcome) => outcome
            .all_rows
            .iter()
            .map(|rows| {
                rows.first().and_then(|r| r.get("n")).and_then(|n| n.as_u64().or_else(|| n.as_str()?.parse().ok()))
            })
            .collect(),
        Err(e) => {
            tracing::debug!("could not count the rows at stake: {e}");
            vec![None; tables.len()]
        }
    }
}

fn target_label(env: &Env) -> String {
    match &env.settings.target {
        crate::config::Target::Dsql(t) => format!("the Aurora DSQL cluster {}", t.endpoint),
        crate::config::Target::Local { .. } => "the local sandbox database".into(),
        _ => "the database".into(),
    }
}

/// The request state that carries a confirmation for exactly these arguments: an HMAC of their JSON.
fn request_state(arguments: &Map<String, Value>) -> String {
    static KEY: OnceLock<ring::hmac::Key> = OnceLock::new();
    let key = KEY.get_or_init(|| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rand::random::<[u8; 32]>()));
    let tag = ring::hmac::sign(key, &serde_json::to_vec(arguments).unwrap_or_default());
    format!("confirm-v1.{}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}
