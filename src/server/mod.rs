//! The MCP wiring: server identity and instructions, capabilities, the tool list (in the Python server's order,
//! with annotations true for the current mode), dispatch of tool calls, progress and log notifications.

// rmcp marks MCP logging deprecated (SEP-2577, a future protocol revision); every protocol version served here
// (2024-11-05 … 2026-07-28) has it, and clients rely on it to see errors.
#![allow(deprecated)]

pub mod confirm;
pub mod effects;
pub mod render;
pub mod resources;
pub mod stdio;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse, GetPromptResult,
    Implementation, ListPromptsResult, ListResourcesResult, ListToolsResult, LoggingLevel, PaginatedRequestParams,
    ProgressNotificationParam, Prompt, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, Resource,
    ServerCapabilities, ServerConfig, SetLevelRequestParams, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};

use crate::config::Target;
use crate::docs;
use crate::tools::{
    Env, apply_migration, backfill, docs as doc_tools, dsql_lint, get_schema, list_migrations, readonly_query, transact,
};
use confirm::Answer;

pub const SERVER_NAME: &str = "aurora-dsql-mcp-server";

#[derive(Clone)]
pub struct DsqlServer {
    env: Arc<Env>,
    tools: Arc<Vec<Tool>>,
    /// Lowest level sent to the client as notifications/message (index into LEVELS).
    log_level: Arc<AtomicU8>,
}

const LEVELS: [&str; 8] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

fn level_index(level: &LoggingLevel) -> u8 {
    let name = serde_json::to_value(level).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    LEVELS.iter().position(|l| *l == name).unwrap_or(4) as u8
}

impl DsqlServer {
    pub fn new(env: Arc<Env>) -> DsqlServer {
        // The Python server's order: database tools, documentation tools, then dsql_lint.
        let mut definitions =
            vec![readonly_query::definition(), transact::definition(&env.settings), get_schema::definition()];
        definitions.extend(doc_tools::definitions(env.knowledge.is_some()));
        definitions.push(dsql_lint::definition());
        if env.settings.allow_writes {
            // Ours, after the Python server's tools: migrations need writes.
            definitions.extend([apply_migration::definition(), list_migrations::definition(), backfill::definition()]);
        }
        let tools = definitions
            .into_iter()
            .map(|d| serde_json::from_value::<Tool>(d).expect("tool definitions are valid MCP tools"))
            .collect();
        DsqlServer { env, tools: Arc::new(tools), log_level: Arc::new(AtomicU8::new(2)) }
    }

    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.to_string()).collect()
    }

    pub fn instructions(&self) -> String {
        let s = &self.env.settings;
        let target = match &s.target {
            Target::Local { dir } => format!(
                "a LOCAL sandbox (a private PostgreSQL in {} that answers like Aurora DSQL: same refusals and \
                 SQLSTATEs). Nothing here touches AWS",
                dir.display()
            ),
            Target::Url { .. } => "a PostgreSQL database given by --database-url (DSQL's rules are still checked \
                                   before each statement)"
                .into(),
            Target::Dsql(t) => format!("the Aurora DSQL cluster {} as role {}", t.endpoint, t.user),
            Target::Unconfigured { .. } => "NO database (documentation and dsql_lint only; the database tools \
                                            explain how to configure one)"
                .into(),
        };
        let mode = if s.allow_writes {
            "READ-WRITE: transact may change data and schema, within DSQL's rules (one DDL per transaction, no DDL \
             mixed with DML, CREATE INDEX ASYNC, at most 3,000 modified rows per transaction)"
        } else {
            "READ-ONLY: every statement runs in a READ ONLY transaction; writes are refused (restart with \
             --allow-writes to change data)"
        };
        let rules = if s.dsql_version.is_pinned() {
            format!(
                " DSQL rules: as of {} (pinned with --dsql-version: features DSQL shipped later are refused).",
                s.dsql_version
            )
        } else {
            String::new()
        };
        let migrations = if s.allow_writes {
            "- apply_migration(name, sql, dry_run?, fix?, rehearse?): plan a migration file into DSQL-legal steps, rehearse \
             it in the local sandbox, apply it step by step with a history (re-runs are no-ops or resume).\n\
             - list_migrations(): the migration history.\n\
             - backfill(table, set, where?, batch_size?): a large UPDATE/DELETE in batches under the 3,000-row limit.\n\
             Statements that destroy data or schema (DROP, TRUNCATE, DELETE/UPDATE without WHERE…) are shown to the user \
             for confirmation first; if the user says no, nothing ran: do not retry unless they ask.\n"
        } else {
            ""
        };
        format!(
            "# Aurora DSQL MCP server\nConnected to {target}. Mode: {mode}.{rules}\n\n## Tools\n\
             - readonly_query(sql, params?): one read-only statement; rows come back as JSON objects.\n\
             - transact(sql_list, params_list?): several statements in one transaction (BEGIN/COMMIT added for you).\n\
             - get_schema(table_name): columns, keys, constraints and indexes of a table.\n\
             - dsql_lint(sql, fix?): DSQL compatibility check and auto-fix for SQL you have not run yet.\n\
             - dsql_search_documentation / dsql_read_documentation / dsql_recommend: DSQL guides, offline.\n{migrations}\n\
             Every statement is parsed and checked against DSQL's rules before it is sent; a refusal says what DSQL \
             would say and how to fix it. Use $1, $2… placeholders with params instead of putting values in SQL. \
             On SQLSTATE 40001 (OC000/OC001) retry the whole transaction."
        )
    }

    /// The lowest level this request may be sent log notifications at, or None for none at all. A 2026-07-28
    /// request names its own level in `_meta` (no level: no log notifications); older clients set one for the
    /// session with logging/setLevel (default: notice).
    fn log_floor(&self, context: &RequestContext<RoleServer>) -> Option<u8> {
        match context.protocol_version() {
            Some(version) if version >= ProtocolVersion::V_2026_07_28 => {
                context.meta.log_level().map(|level| level_index(&level))
            }
            _ => Some(self.log_level.load(Ordering::Relaxed)),
        }
    }

    async fn notify(&self, context: &RequestContext<RoleServer>, level: &str, message: &str) {
        let index = LEVELS.iter().position(|l| *l == level).unwrap_or(4) as u8;
        if self.log_floor(context).is_none_or(|floor| index < floor) {
            return;
        }
        let peer = &context.peer;
        if let Some(param) = render::log_message(level, SERVER_NAME, message)
            && let Err(e) = peer.notify_logging_message(param).await
        {
            tracing::debug!("could not send a log notification: {e}");
        }
    }
}

impl ServerHandler for DsqlServer {
    fn get_info(&self) -> ServerConfig {
        let caps: ServerCapabilities = serde_json::from_value(json!({"tools": {"listChanged": false}, "logging": {},
                "resources": {"listChanged": false, "subscribe": false}, "prompts": {"listChanged": false},
                "completions": {}}))
        .expect("valid capabilities");
        ServerConfig::new(caps)
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(self.instructions())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut resources = docs::Library::embedded()
            .documents()
            .iter()
            .map(|d| {
                serde_json::from_value::<Resource>(json!({"uri": d.uri, "name": d.name, "title": d.title,
                    "description": d.description, "mimeType": "text/markdown", "size": d.text.len()}))
                .map_err(|e| McpError::internal_error(e.to_string(), None))
            })
            .collect::<Result<Vec<_>, _>>()?;
        resources.extend(self::resources::listed(&self.env)?);
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, McpError> {
        Ok(rmcp::model::ListResourceTemplatesResult::with_all_items(resources::templates(&self.env)?))
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, McpError> {
        resources::complete(&self.env, &request, &context.ct).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if resources::owns(&request.uri) {
            return resources::read(&self.env, &request.uri, &context.ct).await;
        }
        let lib = docs::Library::embedded();
        let Some(doc) = lib.document(&request.uri) else {
            let known: Vec<&str> = lib.documents().iter().map(|d| d.uri.as_str()).collect();
            return Err(McpError::resource_not_found(
                format!("no documentation resource {:?}; known: {}", request.uri, known.join(", ")),
                None,
            ));
        };
        Ok(render::own_document(&doc.uri, "text/markdown", doc.text)?.into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = docs::prompts::list()
            .into_iter()
            .map(|p| {
                let args: Vec<Value> = p
                    .arguments
                    .iter()
                    .map(|(name, description, required)| json!({"name": name, "description": description, "required": required}))
                    .collect();
                serde_json::from_value::<Prompt>(json!({"name": p.name, "title": p.title, "description": p.description,
                    "arguments": args}))
                .map_err(|e| McpError::internal_error(e.to_string(), None))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        let text = docs::prompts::get(&request.name, &args).map_err(|e| McpError::invalid_params(e, None))?;
        let description = docs::prompts::list().into_iter().find(|p| p.name == request.name).map(|p| p.description);
        let result: GetPromptResult = serde_json::from_value(json!({"description": description,
            "messages": [{"role": "user", "content": {"type": "text", "text": text}}]}))
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(result.into())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.log_level.store(level_index(&request.level), Ordering::Relaxed);
        Ok(())
    }

    async fn on_initialized(&self, _context: rmcp::service::NotificationContext<RoleServer>) {
        // Connect now, while the agent reads the tool list, so its first call costs one round trip.
        self.env.warm_up();
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let started = std::time::Instant::now();
        // The call stops when the client cancels it (notifications/cancelled) or goes away (EOF on stdin).
        let stop = self.env.stopping.child_token();
        // The client's cancel is passed on to `stop` while the call runs on; the call itself decides how to end
        // (a statement is cancelled in the database and its transaction driven to its end). Watched here, in the
        // call's own task: no task spawned per call. Boxed: the call's state machine is large (~9 KB) and rmcp
        // moves this future when it spawns the request's task.
        let work = crate::exec::cancel::scope(stop.clone(), Box::pin(self.dispatch(&name, request, &context)));
        tokio::pin!(work);
        let result = tokio::select! {
            biased;
            result = &mut work => result,
            _ = context.ct.cancelled() => {
                stop.cancel();
                work.await
            }
        };
        if stop.is_cancelled() && !self.env.stopping.is_cancelled() {
            // MCP: no response to a cancelled request (rmcp drops it); say on stderr what became of it.
            tracing::info!(tool = %name, ok = result.is_ok(), "call cancelled by the client");
        }
        tracing::info!(tool = %name, ok = result.is_ok(), ms = started.elapsed().as_millis() as u64, "tool call");
        Ok(match result {
            Ok(Answer::Ask(question)) => {
                tracing::info!(tool = %name, "asking the user to confirm destructive statements");
                return Ok(question.into());
            }
            Ok(Answer::Value(value)) => {
                let notes = result_notes(&value);
                render::tool_result(&name, value, &notes)
            }
            Err(message) => {
                tracing::warn!(tool = %name, "{}", crate::cli::logging::redact_message(first_line(&render::plain(&message))));
                // Rendered once: the answer and its log notification carry the same markers.
                let message = render::marked(&message);
                // A stopped call gets no response, and a client that went away cannot be told: notifying it would
                // wait on a session that has ended.
                if !stop.is_cancelled() {
                    self.notify(&context, "error", &format!("{name}: {message}")).await;
                }
                render::tool_error(&message)
            }
        }
        .into())
    }
}

impl DsqlServer {
    async fn dispatch(
        &self,
        name: &str,
        mut request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<Answer, String> {
        let env = &self.env;
        let args = request.arguments.take();
        let value = match name {
            readonly_query::NAME => readonly_query::call(env, args).await,
            transact::NAME => {
                let prepared = transact::prepare(env, args.as_ref()).await?;
                // Progress goes out in order and before the response (`finish` waits for the last one).
                let sink = ProgressSink::new(context);
                let progress = |done: usize, total: usize| {
                    sink.send(done as u64, Some(total as u64), format!("statement {done} of {total} done"))
                };
                if prepared.looks.is_empty() || !confirms(env) {
                    let result = transact::execute(env, prepared, &progress).await;
                    sink.finish().await;
                    result
                } else {
                    let db = prepared.database();
                    let probe = effects::Probe {
                        catalog: prepared.looks.iter().any(|(_, l)| l.catalog),
                        stats: confirm::stats_available(env, db).await,
                        targets: unique(prepared.looks.iter().flat_map(|(_, l)| l.targets.iter().cloned())),
                        always: prepared
                            .looks
                            .iter()
                            .filter(|(_, l)| l.always)
                            .map(|(i, l)| format!("statement {}: {}", i + 1, l.why))
                            .collect(),
                    };
                    let (prepared, probe, progress) = (&prepared, &probe, &progress);
                    let run =
                        move |gate: confirm::Gate| -> futures::future::BoxFuture<'_, Result<confirm::Ran, String>> {
                            Box::pin(
                                async move { transact::execute_looked(env, prepared, probe, &gate, progress).await },
                            )
                        };
                    let call = confirm_call(name, args.as_ref(), &request, context, prepared.sql_list.clone());
                    let answer = confirm::run_confirmed(env, db, call, &run).await;
                    sink.finish().await;
                    return answer;
                }
            }
            get_schema::NAME => get_schema::call(env, args).await,
            dsql_lint::NAME => dsql_lint::call(args, env.settings.dsql_version).await,
            apply_migration::NAME | list_migrations::NAME | backfill::NAME if !env.settings.allow_writes => {
                Err(format!(
                    "{name} needs writes: restart the server with --allow-writes (after the user agrees). In read-only \
                 mode, dsql_lint checks a migration file without running it."
                ))
            }
            apply_migration::NAME | backfill::NAME => {
                let sink = ProgressSink::new(context);
                let progress = |p, t, m| sink.send(p, t, m);
                let run_tool = || async {
                    if name == backfill::NAME {
                        backfill::call(env, args.clone(), &progress).await
                    } else {
                        apply_migration::call(env, args.clone(), &progress).await
                    }
                };
                // What the user would be asked about: a backfill's counted rows, a migration's statements that
                // are not provably harmless.
                let (statements, unmeasured) = if name == backfill::NAME {
                    (backfill::describe(args.as_ref()).into_iter().collect(), Vec::new())
                } else {
                    apply_migration::looks(args.as_ref())
                };
                let looked = confirms(env) && (name == backfill::NAME || !unmeasured.is_empty());
                if !looked || statements.is_empty() {
                    let result = run_tool().await;
                    sink.finish().await;
                    result
                } else {
                    let db = env.database().await?;
                    let (unmeasured, run_tool, arguments) = (&unmeasured, &run_tool, args.as_ref());
                    let run =
                        move |gate: confirm::Gate| -> futures::future::BoxFuture<'_, Result<confirm::Ran, String>> {
                            Box::pin(async move {
                                let effects = if name == backfill::NAME {
                                    backfill::measure(env, arguments).await?
                                } else {
                                    effects::Effects { destroys: unmeasured.clone(), ..Default::default() }
                                };
                                if !gate.lets(&effects) {
                                    return Ok(confirm::Ran::Held(effects));
                                }
                                Ok(confirm::Ran::Done(run_tool().await?, effects))
                            })
                        };
                    let call = confirm_call(name, args.as_ref(), &request, context, statements);
                    let answer = confirm::run_confirmed(env, &db, call, &run).await;
                    sink.finish().await;
                    return answer;
                }
            }
            list_migrations::NAME => list_migrations::call(env, args).await,
            doc_tools::SEARCH | doc_tools::READ | doc_tools::RECOMMEND => doc_tools::call(env, name, args).await,
            other => Err(format!("Unknown tool: {other}. Available tools: {}.", self.tool_names().join(", "))),
        };
        value.map(Answer::Value)
    }
}

/// Whether calls that need a look are looked at: in write mode, unless `--confirm-destructive allow`.
fn confirms(env: &crate::tools::Env) -> bool {
    env.settings.allow_writes && env.settings.confirm_destructive != crate::tools::ConfirmDestructive::Allow
}

fn confirm_call<'a>(
    tool: &'a str,
    arguments: Option<&'a serde_json::Map<String, Value>>,
    request: &'a CallToolRequestParams,
    context: &'a RequestContext<RoleServer>,
    statements: Vec<String>,
) -> confirm::Call<'a> {
    confirm::Call {
        tool,
        arguments,
        state: request.request_state.as_deref(),
        responses: request.input_responses.as_ref(),
        context,
        statements,
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Lines put before a database tool's JSON: retries that happened, rows that did not come back.
fn result_notes(value: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(attempts) = value.get("attempts").and_then(Value::as_u64).filter(|a| *a > 1) {
        notes.push(format!(
            "Note: the transaction hit {} optimistic-concurrency conflict(s) and was run again automatically; it \
             succeeded on attempt {attempts}.",
            attempts - 1
        ));
    }
    if let Some(truncation) = value.get("truncation").and_then(Value::as_str) {
        notes.push(format!("Note: {truncation}"));
    }
    if let Some(confirmation) = value.get("confirmation").and_then(Value::as_str) {
        notes.push(confirmation.to_string());
    }
    notes
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Progress notifications for callers that say what happened: (progress, total, message), sent in order, and
/// all of them before the tool's response (`finish` waits until the last one is written).
struct ProgressSink {
    tx: Option<tokio::sync::mpsc::UnboundedSender<(u64, Option<u64>, String)>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ProgressSink {
    fn new(context: &RequestContext<RoleServer>) -> ProgressSink {
        let Some(token) = context.meta.get_progress_token() else { return ProgressSink { tx: None, task: None } };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Option<u64>, String)>();
        let peer = context.peer.clone();
        let task = tokio::spawn(async move {
            while let Some((progress, total, message)) = rx.recv().await {
                let param: Result<ProgressNotificationParam, _> = serde_json::from_value(json!({
                    "progressToken": token, "progress": progress, "total": total, "message": message,
                }));
                if let Ok(p) = param {
                    let _ = peer.notify_progress(p).await;
                }
            }
        });
        ProgressSink { tx: Some(tx), task: Some(task) }
    }

    fn send(&self, progress: u64, total: Option<u64>, message: String) {
        if let Some(tx) = &self.tx {
            let _ = tx.send((progress, total, message));
        }
    }

    async fn finish(mut self) {
        self.tx.take();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The JSON of `tools/list`, for documentation checks.
pub fn tools_json(server: &DsqlServer) -> Value {
    serde_json::to_value(server.tools.as_ref()).unwrap_or(Value::Null)
}
