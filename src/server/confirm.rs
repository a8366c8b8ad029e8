//! Asking the user before a call destroys data or schema (`--confirm-destructive`), decided by what the call really
//! does. A call whose statements are not provably harmless (`sql::look`) runs up to just before COMMIT; what it did
//! is read in the same transaction ([`super::effects`]); if that destroys, it is rolled back and the user is asked
//! with exactly those effects. On "yes" it runs again and commits only if it does the same, else the user is asked
//! again.
//!
//! The question goes through the client as a form elicitation: `elicitation/create` for clients of the 2025
//! protocol versions, an `input_required` result for 2026-07-28 clients, which call again with the answer and the
//! request state we gave them. A request state is a random id the server keeps, bound to the tool, the arguments,
//! the cluster, the effects asked about and the caller it was given to (over HTTP, the authenticated principal:
//! whoever else presents it is refused, and it stays for its owner); it expires after [`STATE_LIFETIME`] and answers
//! once: used or declined, it is gone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rmcp::RoleServer;
use rmcp::model::{
    BooleanSchema, ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema, InputRequest,
    InputRequests, InputRequiredResult, InputResponses, PrimitiveSchemaDefinition, ProtocolVersion,
};
use rmcp::service::{ElicitationMode, RequestContext};
use serde_json::{Map, Value};

use super::effects::{COUNT_CAP, Effects, quote_ident};
use crate::audit::{self, Confirmation};
use crate::config::{ConfirmDestructive, Env, Principal};
use crate::exec::{self, ErrorContext, Statement};
use crate::pool::Database;
use crate::tools::ToolError;

/// The key of the answer in the form and in `inputResponses`.
const ANSWER: &str = "confirm_destructive";
/// How long a 2026-07-28 client has to come back with the user's answer.
pub const STATE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Questions waiting for an answer, at most (the oldest is forgotten first: its answer is then refused).
const MAX_PENDING: usize = 256;
/// A 2025 client is asked again when the effect changed between the question and the run; this many times at most.
const MAX_ASKS: usize = 3;

/// What a tool call produced: a result, or (2026-07-28) a question for the user before it can go on.
pub enum Answer {
    /// The tool's result, to send as is.
    Value(Value),
    /// An `input_required` result carrying the question and the request state to come back with.
    Ask(InputRequiredResult),
}

/// When a run may commit, given what it did.
#[derive(Debug, Clone)]
pub enum Gate {
    /// Whatever it does (nobody can be asked and the policy lets it run): its effects are reported.
    Any,
    /// Only when it destroys nothing.
    Harmless,
    /// When it destroys nothing, or exactly what the user confirmed.
    Confirmed(Effects),
}

impl Gate {
    /// Whether a run that did `effects` may commit under this gate.
    pub fn lets(&self, effects: &Effects) -> bool {
        match self {
            Gate::Any => true,
            Gate::Harmless => effects.destroys.is_empty(),
            Gate::Confirmed(yes) => effects.destroys.is_empty() || yes.destroys == effects.destroys,
        }
    }
}

/// What a gated run did: committed (the tool's result and what it did), or rolled back (what it would have done).
pub enum Ran {
    /// Committed: the tool's result and the effects it had.
    Done(Value, Effects),
    /// Rolled back because the gate refused: the effects it would have had.
    Held(Effects),
}

/// A tool's run under a gate; called again after each "yes".
pub type Run<'a> = dyn Fn(Gate) -> BoxFuture<'a, Result<Ran, ToolError>> + Send + Sync + 'a;

/// The call being confirmed: its tool, arguments and the client's request.
pub struct Call<'a> {
    /// The tool's name; a request state is only redeemed by the same tool.
    pub tool: &'a str,
    /// The call's arguments; a request state is only redeemed with the same ones.
    pub arguments: Option<&'a Map<String, Value>>,
    /// The request state a 2026-07-28 client sent back with its answer, if any.
    pub state: Option<&'a str>,
    /// The client's `inputResponses` (the user's answer), if any.
    pub responses: Option<&'a InputResponses>,
    /// The client's request: its protocol version, capabilities and the peer to elicit through.
    pub context: &'a RequestContext<RoleServer>,

    /// The statements as the user should see them (every one of the call).
    pub statements: Vec<String>,
}

/// Runs a call that needs a look, asking the user when what it does destroys data or schema.
pub async fn run_confirmed(env: &Env, db: &Database, call: Call<'_>, run: &Run<'_>) -> Result<Answer, ToolError> {
    let policy = env.settings.confirm_destructive;
    let modern = call.context.protocol_version().is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    let askable = can_elicit(call.context, modern);
    let mut gate = match (policy, askable) {
        (ConfirmDestructive::Allow, _) => Gate::Any,
        (ConfirmDestructive::Ask, false) => Gate::Any,
        _ => Gate::Harmless,
    };
    // A confirmation is bound to its cluster too (the `cluster` argument was taken out of the arguments when the
    // call was routed): a yes for staging never answers the same call on production.
    let bound_to = format!("{}@{}", call.tool, env.settings.cluster);
    let caller = caller(call.context);
    if modern && let Some(state) = call.state {
        match redeem(state, &caller, &bound_to, call.arguments) {
            Redeemed::OtherCall => {}
            Redeemed::Refused(why) => return Err(ToolError::NotConfirmed(why)),
            Redeemed::Answered(effects) => match answer(call.responses.and_then(|r| r.get(ANSWER))) {
                Reply::Yes => gate = Gate::Confirmed(effects),
                Reply::No(why) => {
                    audit::confirmed(Confirmation::Declined);
                    return Err(ToolError::NotConfirmed(why));
                }
            },
        }
    }
    for _ in 0..MAX_ASKS {
        let effects = match run(gate.clone()).await? {
            Ran::Done(value, effects) => {
                audit::confirmed(decided(&gate, &effects));
                return Ok(Answer::Value(with_warning(value, &gate, &effects)));
            }
            Ran::Held(effects) => effects,
        };
        if !askable {
            audit::confirmed(Confirmation::RefusedByPolicy);
            return Err(ToolError::NotConfirmed(format!(
                "Refused: this call would destroy data or schema and needs the user's confirmation, but this MCP \
                 client cannot ask the user (it does not support form elicitation), and the server runs with \
                 --confirm-destructive refuse. Nothing ran; it was measured in a transaction that was rolled \
                 back:\n{}\nAsk the user to run it another way, or to restart the server with --confirm-destructive \
                 ask or allow.",
                bullet(&effects.destroys)
            )));
        }
        let message = question(env, db, &call, &effects, matches!(gate, Gate::Confirmed(_))).await;
        let params = question_params(message);
        if modern {
            let state = remember(&caller, &bound_to, call.arguments, effects);
            let mut requests = InputRequests::new();
            requests.insert(ANSWER.to_string(), InputRequest::Elicitation(ElicitRequest::new(params)));
            audit::confirmed(Confirmation::Asked);
            return Ok(Answer::Ask(InputRequiredResult::new(Some(requests), Some(state))));
        }
        let stop = crate::exec::cancel::current().unwrap_or_default();
        let reply = tokio::select! {
            reply = call.context.peer.create_elicitation(params) => reply.map_err(|e| format!(
                "Could not ask the user to confirm the destructive statements ({e}), so nothing ran."
            ))?,
            _ = stop.cancelled() => return Err("The call was cancelled while waiting for the user; nothing ran.".into()),
        };
        match answer(serde_json::to_value(reply).ok().as_ref()) {
            Reply::Yes => gate = Gate::Confirmed(effects),
            Reply::No(why) => {
                audit::confirmed(Confirmation::Declined);
                return Err(ToolError::NotConfirmed(why));
            }
        }
    }
    Err(ToolError::NotConfirmed(format!(
        "What the call does changed between the question and the run {MAX_ASKS} times in a row (other sessions are \
         changing the same data), so nothing ran. Try again when the data is quiet."
    )))
}

/// What the audit log says was decided about a run that committed under `gate` having done `effects`.
fn decided(gate: &Gate, effects: &Effects) -> Confirmation {
    match gate {
        Gate::Confirmed(_) => Confirmation::Accepted,
        Gate::Any if !effects.destroys.is_empty() => Confirmation::AllowedByPolicy,
        Gate::Any | Gate::Harmless => Confirmation::NotNeeded,
    }
}

/// Whether this database's per-transaction statistics (`pg_stat_xact_user_tables`) can be read: PostgreSQL has
/// them (the local sandbox, `--database-url`, checked once); Aurora DSQL does not document them, so there every
/// call that needs a look is asked about (fail closed).
pub async fn stats_available(env: &Env, db: &Database) -> bool {
    static KNOWN: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    match db.kind {
        crate::pool::BackendKind::Local => true,
        crate::pool::BackendKind::Dsql => false,
        crate::pool::BackendKind::Url => {
            *KNOWN
                .get_or_init(|| async {
                    let st = [Statement {
                        text: "SELECT to_regclass('pg_catalog.pg_stat_xact_user_tables') IS NOT NULL AS ok".into(),
                        command: "SELECT".into(),
                        params: Vec::new(),
                        quota: Vec::new(),
                    }];
                    let ctx = ErrorContext::default();
                    match exec::run_all_rows(db, &st, env.settings.limits.unbounded_rows(), &ctx).await {
                        Ok(o) => o.rows.first().and_then(|r| r.get("ok")).and_then(Value::as_bool).unwrap_or(false),
                        Err(_) => false,
                    }
                })
                .await
        }
    }
}

/// The result with what it destroyed when nobody was asked (in `confirmation`, shown as a note too).
fn with_warning(mut value: Value, gate: &Gate, effects: &Effects) -> Value {
    if !matches!(gate, Gate::Any) || effects.destroys.is_empty() {
        return value;
    }
    let warning = format!(
        "Warning: this call destroyed data or schema without the user's confirmation, because the MCP client cannot \
         ask the user (no form elicitation):\n{}",
        bullet(&effects.destroys)
    );
    if let Some(object) = value.as_object_mut() {
        object.insert("confirmation".into(), Value::String(warning));
    }
    value
}

fn bullet(lines: &[String]) -> String {
    lines.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n")
}

/// The question: what the call would do (measured), with the rows of whole tables it drops or empties, and every
/// statement of the call.
async fn question(env: &Env, db: &Database, call: &Call<'_>, effects: &Effects, again: bool) -> String {
    let counts = count_rows(env, db, &effects.whole_tables).await;
    let mut lines = effects.destroys.clone();
    for ((schema, table), n) in effects.whole_tables.iter().zip(counts) {
        let rows = match n {
            Some(n) if n > COUNT_CAP => format!("more than {COUNT_CAP} rows"),
            Some(1) => "1 row".into(),
            Some(n) => format!("{n} rows"),
            None => "rows not counted".into(),
        };
        lines.push(format!("{schema}.{table} holds {rows} now, all lost"));
    }
    lines.extend(effects.other.iter().cloned());
    const SHOWN: usize = 20;
    let mut listed: Vec<String> = call
        .statements
        .iter()
        .take(SHOWN)
        .enumerate()
        .map(|(i, sql)| {
            let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let sql = if sql.chars().count() > 300 {
                format!("{}…", sql.chars().take(300).collect::<String>())
            } else {
                sql
            };
            format!("{}. {sql}", i + 1)
        })
        .collect();
    if call.statements.len() > SHOWN {
        listed.push(format!("… and {} more statements, which run too", call.statements.len() - SHOWN));
    }
    format!(
        "{}The agent wants to run {} ({}) in {}. Run in a transaction that was then rolled back, {} would:\n{}\n\n\
         Statements (all run together, or none):\n{}\n\nNothing runs unless you confirm. If what {} do changes \
         before they run, you are asked again.",
        if again { "What the call does changed since you were asked. " } else { "" },
        if call.statements.len() == 1 {
            "a statement".to_string()
        } else {
            format!("{} statements", call.statements.len())
        },
        call.tool,
        target_label(env),
        if call.statements.len() == 1 { "it" } else { "they" },
        bullet(&lines),
        listed.join("\n"),
        if call.statements.len() == 1 { "it would" } else { "they would" },
    )
}

/// Rows now in each table, in order (None when it could not be counted). One read-only transaction; counts stop
/// past the cap.
async fn count_rows(env: &Env, db: &Database, tables: &[(String, String)]) -> Vec<Option<u64>> {
    if tables.is_empty() {
        return Vec::new();
    }
    let statements: Vec<Statement> = tables
        .iter()
        .map(|(s, t)| Statement {
            text: format!(
                "SELECT count(*) AS n FROM (SELECT 1 FROM {}.{} LIMIT {}) AS s",
                quote_ident(s),
                quote_ident(t),
                COUNT_CAP + 1
            ),
            command: "SELECT".into(),
            params: Vec::new(),
            quota: Vec::new(),
        })
        .collect();
    let ctx = ErrorContext::default();
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

enum Reply {
    Yes,
    No(String),
}

/// The user's answer (an elicitation result: action and content).
/// The form the user answers: one yes/no field, [`ANSWER`], "no" unless they change it.
fn question_params(message: String) -> ElicitRequestParams {
    let run_it = BooleanSchema::new()
        .title("Run it")
        .description("Yes: run the statements listed above. No: nothing runs.")
        .with_default(false);
    let properties = [(ANSWER.to_string(), PrimitiveSchemaDefinition::Boolean(run_it))].into();
    let requested_schema = ElicitationSchema::new(properties).with_required(vec![ANSWER.to_string()]);
    ElicitRequestParams::FormElicitationParams { meta: None, message, requested_schema }
}

fn answer(reply: Option<&Value>) -> Reply {
    let action =
        reply.and_then(|r| r.get("action")).and_then(|a| serde_json::from_value::<ElicitationAction>(a.clone()).ok());
    let yes = reply.and_then(|r| r.get("content")).and_then(|c| c.get(ANSWER)).and_then(Value::as_bool);
    match (action, yes) {
        (Some(ElicitationAction::Accept), Some(true)) => Reply::Yes,
        (Some(ElicitationAction::Cancel), _) => Reply::No(
            "The user dismissed the confirmation without answering, so nothing ran. Ask them before trying again."
                .into(),
        ),
        (Some(_), _) => Reply::No(
            "The user said no: they did not confirm the statements that destroy data or schema, so nothing ran. \
             Do not run them again unless the user asks for it."
                .into(),
        ),
        (None, _) => Reply::No("The confirmation came back without an answer, so nothing ran.".into()),
    }
}

fn can_elicit(context: &RequestContext<RoleServer>, modern: bool) -> bool {
    if !modern {
        return context.peer.supported_elicitation_modes().contains(&ElicitationMode::Form);
    }
    // No mode named means form (2025-06-18 wording); otherwise form must be listed.
    context.meta.client_capabilities().and_then(|c| c.elicitation).is_some_and(|e| e.form.is_some() || e.url.is_none())
}

fn target_label(env: &Env) -> String {
    let target = match &env.settings.target {
        crate::config::Target::Dsql(t) => format!("the Aurora DSQL cluster {}", t.endpoint),
        crate::config::Target::Local { .. } => "the local sandbox database".into(),
        _ => "the database".into(),
    };
    // A named cluster (from --config) is named: the user must know which one they are asked about.
    match env.settings.cluster.as_str() {
        crate::config::settings::DEFAULT_CLUSTER => target,
        name => format!("{target} of cluster `{name}`"),
    }
}

/// Who is calling: over HTTP, the principal `http` authenticated and put in the request's parts (rmcp hands the
/// parts over in the context's extensions); over stdio, the one client.
pub fn caller(context: &RequestContext<RoleServer>) -> Principal {
    match context.extensions.get::<::http::request::Parts>() {
        None => Principal::stdio(),
        // `http` puts a principal in every request it passes on; a request without one is nobody's, and answers
        // only questions asked of nobody.
        Some(parts) => parts.extensions.get::<Principal>().cloned().unwrap_or_else(Principal::anonymous),
    }
}

/// A question asked of a 2026-07-28 client, waiting for its answer.
struct Pending {
    /// Who was asked: only they can answer.
    asked_of: Principal,
    binding: [u8; 32],
    effects: Effects,
    asked: Instant,
}

fn pending() -> &'static Mutex<HashMap<String, Pending>> {
    static PENDING: std::sync::OnceLock<Mutex<HashMap<String, Pending>>> = std::sync::OnceLock::new();
    PENDING.get_or_init(Default::default)
}

/// What the tool and the arguments are, as one digest.
fn binding(tool: &str, arguments: Option<&Map<String, Value>>) -> [u8; 32] {
    let mut text = tool.as_bytes().to_vec();
    text.push(0);
    text.extend(serde_json::to_vec(&arguments).unwrap_or_default());
    let digest = ring::digest::digest(&ring::digest::SHA256, &text);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Keeps the question for its answer; returns the request state that names it.
fn remember(caller: &Principal, tool: &str, arguments: Option<&Map<String, Value>>, effects: Effects) -> String {
    let id: String = rand::random::<[u8; 16]>().iter().map(|b| format!("{b:02x}")).collect();
    let mut map = pending().lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, p| p.asked.elapsed() < STATE_LIFETIME);
    while map.len() >= MAX_PENDING {
        let Some(oldest) = map.iter().min_by_key(|(_, p)| p.asked).map(|(k, _)| k.clone()) else { break };
        map.remove(&oldest);
    }
    let pending =
        Pending { asked_of: caller.clone(), binding: binding(tool, arguments), effects, asked: Instant::now() };
    map.insert(id.clone(), pending);
    format!("confirm-v2.{id}")
}

enum Redeemed {
    /// The state is for another tool or other arguments: this call is asked about anew.
    OtherCall,
    Refused(String),
    /// The question this answer is for: the effects the user was shown.
    Answered(Effects),
}

/// The question a request state names, taken out: whatever the answer, it answers only once, and only for the
/// caller it was asked of (another caller is refused and the question stays for its owner, so a stolen state can
/// neither run the call nor spend the owner's answer).
fn redeem(state: &str, caller: &Principal, tool: &str, arguments: Option<&Map<String, Value>>) -> Redeemed {
    let refused = |why: &str| {
        Redeemed::Refused(format!(
            "This confirmation (requestState) {why}, so it answers nothing and nothing ran. A confirmation answers one \
             question, once, within {} minutes. Call the tool again without requestState to ask the user again.",
            STATE_LIFETIME.as_secs() / 60
        ))
    };
    let Some(id) = state.strip_prefix("confirm-v2.") else {
        return refused("was not issued by this server");
    };
    let mut map = pending().lock().unwrap_or_else(|e| e.into_inner());
    match map.get(id) {
        None => refused("is unknown, already used or declined, or from before the server restarted"),
        Some(p) if p.asked_of != *caller => {
            tracing::warn!("a confirmation's requestState was presented by a caller it was not issued to: refused");
            refused("was issued to another caller")
        }
        Some(p) if p.binding != binding(tool, arguments) => Redeemed::OtherCall,
        Some(_) => {
            let Some(p) = map.remove(id) else { return refused("is unknown") };
            if p.asked.elapsed() >= STATE_LIFETIME {
                return refused("has expired");
            }
            Redeemed::Answered(p.effects)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_question_form_is_one_boolean_that_defaults_to_no() {
        let params = serde_json::to_value(question_params("Run it?".into())).unwrap();
        assert_eq!(
            params,
            json!({"mode": "form", "message": "Run it?", "requestedSchema": {"type": "object", "properties": {
                ANSWER: {"type": "boolean", "title": "Run it",
                    "description": "Yes: run the statements listed above. No: nothing runs.", "default": false}},
                "required": [ANSWER]}})
        );
    }

    #[test]
    fn a_state_answers_once_for_its_own_call_only() {
        let args: Map<String, Value> = serde_json::from_value(json!({"sql_list": ["DROP TABLE t"]})).unwrap();
        let other: Map<String, Value> = serde_json::from_value(json!({"sql_list": ["DROP TABLE u"]})).unwrap();
        let effects = Effects { destroys: vec!["drops table public.t".into()], ..Effects::default() };
        let me = Principal::stdio();
        let state = remember(&me, "transact", Some(&args), effects.clone());
        assert!(matches!(redeem(&state, &me, "transact", Some(&other)), Redeemed::OtherCall));
        assert!(matches!(redeem(&state, &me, "backfill", Some(&args)), Redeemed::OtherCall));
        assert!(matches!(redeem(&state, &me, "transact", Some(&args)), Redeemed::Answered(e) if e == effects));
        assert!(matches!(redeem(&state, &me, "transact", Some(&args)), Redeemed::Refused(_)));
        assert!(matches!(redeem("confirm-v1.abc", &me, "transact", Some(&args)), Redeemed::Refused(_)));
    }

    #[test]
    fn a_state_answers_only_the_caller_it_was_asked_of_and_stays_for_them() {
        let args: Map<String, Value> = serde_json::from_value(json!({"sql_list": ["DROP TABLE t"]})).unwrap();
        let (alice, bob) = (Principal::jwt("https://idp", "alice"), Principal::jwt("https://idp", "bob"));
        let state = remember(&alice, "transact", Some(&args), Effects::default());
        for thief in [&bob, &Principal::token(), &Principal::anonymous(), &Principal::stdio()] {
            assert!(
                matches!(redeem(&state, thief, "transact", Some(&args)), Redeemed::Refused(why) if why.contains("another caller"))
            );
        }
        assert!(matches!(redeem(&state, &alice, "transact", Some(&args)), Redeemed::Answered(_)));
    }

    #[test]
    fn an_expired_state_is_refused_and_gone() {
        let args: Map<String, Value> = serde_json::from_value(json!({"sql_list": ["DELETE FROM t"]})).unwrap();
        let me = Principal::stdio();
        let state = remember(&me, "transact", Some(&args), Effects::default());
        let id = state.strip_prefix("confirm-v2.").unwrap().to_string();
        if let Some(p) = pending().lock().unwrap().get_mut(&id) {
            p.asked = Instant::now().checked_sub(STATE_LIFETIME + Duration::from_secs(1)).expect("a past instant");
        }
        assert!(
            matches!(redeem(&state, &me, "transact", Some(&args)), Redeemed::Refused(why) if why.contains("expired"))
        );
        assert!(
            matches!(redeem(&state, &me, "transact", Some(&args)), Redeemed::Refused(why) if why.contains("unknown"))
        );
    }

    #[test]
    fn a_confirmed_gate_lets_only_the_same_effects_commit() {
        let e =
            |lines: &[&str]| Effects { destroys: lines.iter().map(|s| s.to_string()).collect(), ..Effects::default() };
        let yes = Gate::Confirmed(e(&["deletes every row of public.t (50 rows)"]));
        assert!(yes.lets(&e(&["deletes every row of public.t (50 rows)"])));
        assert!(yes.lets(&e(&[])));
        assert!(!yes.lets(&e(&["deletes every row of public.t (51 rows)"])));
        assert!(!Gate::Harmless.lets(&e(&["drops table public.t"])));
        assert!(Gate::Any.lets(&e(&["drops table public.t"])));
    }
}
