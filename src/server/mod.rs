//! The MCP wiring: server identity and instructions, capabilities, the tool list (from the tool registry,
//! `tools::registry`, with annotations true for the current mode), log notifications, and `tools/call`: every call
//! goes to the registry's one dispatch (write gate, plan, confirm, run) and its answer to the one renderer
//! ([`render`]). No per-tool code lives here.

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
    Prompt, PromptArgument, PromptMessage, PromptsCapability, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, Resource, ResourcesCapability, Role, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    Tool, ToolsCapability,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use crate::config::{Clusters, Env, Target, clusters};
use crate::docs;
use crate::tools::{ToolError, registry};
use confirm::Answer;

/// The name reported in `initialize` and as the logger of log notifications (the Python server's name).
pub const SERVER_NAME: &str = "aurora-dsql-mcp-server";

/// The MCP server: answers every request of one client session over the shared environment (cheap to clone).
#[derive(Clone)]
pub struct DsqlServer {
    /// Every cluster served; a database tool's call runs on the one its `cluster` argument picks.
    clusters: Arc<Clusters>,
    /// The primary cluster (the default, else the first): what answers where no cluster is named.
    env: Arc<Env>,
    tools: Arc<Vec<Tool>>,
    /// Lowest level sent to the client as notifications/message ([`level_index`]).
    log_level: Arc<AtomicU8>,
}

/// The audit log's record of a call that just arrived (None without `--audit-log`), and whether the call
/// commits writes when it succeeds. `routed` is the cluster the call runs on; a call refused before it had one
/// (an unknown or missing `cluster`, a write tool on a read-only cluster) is recorded in the primary cluster's log
/// under the name it asked for, with no role.
fn audit_begin(
    routed: Result<&Env, (&Env, Option<&str>)>,
    name: &str,
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Option<(crate::audit::Call, bool)> {
    let args = request.arguments.as_ref();
    let (env, cluster, role) = match routed {
        Ok(env) => (env, env.settings.cluster.as_str(), env.settings.target.role()),
        Err((primary, asked)) => (primary, asked.unwrap_or(primary.settings.cluster.as_str()), None),
    };
    let log = env.audit.as_ref()?;
    let statements = registry::audited_statements(name, args);
    let call = log.begin(name, cluster, role, &statements).by(confirm::caller(context).as_str());
    Some((call, routed.is_ok() && registry::committed_writes(env, name, args)))
}

/// A write refused on a read-only cluster of the `--config` file: the refusal's own advice names `--allow-writes`,
/// which does not make that cluster writable; say what does.
fn file_cluster_write_note(
    clusters: &Clusters,
    settings: &crate::config::Settings,
    error: &ToolError,
) -> Option<String> {
    let refused_write = matches!(error, ToolError::Refused(f) if f.rule == "read_only.write_statement");
    (refused_write && !settings.allow_writes && clusters.configured_in_file(settings)).then(|| {
        format!(
            "The cluster `{0}` is read-only: writes on it are enabled by allow_writes = true in its [clusters.{0}] \
             table of the config file (after the user agrees), not by --allow-writes.",
            settings.cluster
        )
    })
}

/// A level's rank, lowest (debug) first: MCP's levels are syslog's, in this order.
fn level_index(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// What this server offers, each capability saying "no list changes, no subscriptions" explicitly.
fn capabilities() -> ServerCapabilities {
    let mut tools = ToolsCapability::default();
    tools.list_changed = Some(false);
    let mut resources = ResourcesCapability::default();
    resources.list_changed = Some(false);
    resources.subscribe = Some(false);
    let mut prompts = PromptsCapability::default();
    prompts.list_changed = Some(false);
    ServerCapabilities::builder()
        .enable_tools_with(tools)
        .enable_logging()
        .enable_resources_with(resources)
        .enable_prompts_with(prompts)
        .enable_completions()
        .build()
}

impl DsqlServer {
    /// A server for one cluster (the flags' `default`), offering the tools the registry lists for it (write tools
    /// only in write mode).
    pub fn new(env: Arc<Env>) -> DsqlServer {
        DsqlServer::serving(Arc::new(Clusters::single(env)))
    }

    /// A server for every cluster of the set: the write tools when any cluster allows writes, and every database
    /// tool with the `cluster` argument.
    pub fn serving(clusters: Arc<Clusters>) -> DsqlServer {
        // The registry's order (the Python server's, then ours).
        let tools = registry::listed_for(&clusters)
            .map(|t| {
                serde_json::from_value::<Tool>(registry::definition(t, &clusters))
                    .expect("tool definitions are valid MCP tools")
            })
            .collect();
        let env = clusters.primary().clone();
        DsqlServer { clusters, env, tools: Arc::new(tools), log_level: Arc::new(AtomicU8::new(2)) }
    }

    /// The clusters this server serves.
    pub fn clusters(&self) -> &Arc<Clusters> {
        &self.clusters
    }

    /// The names of the tools offered, in `tools/list` order.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.to_string()).collect()
    }

    /// The `instructions` text sent at `initialize`: the target, the mode and how to use the tools.
    pub fn instructions(&self) -> String {
        if self.clusters.len() > 1 {
            return self.instructions_for_clusters();
        }
        let s = &self.env.settings;
        let target = target_words(s);
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
        format!(
            "# Aurora DSQL MCP server\nConnected to {target}. Mode: {mode}.{rules}\n\n{}",
            tool_guide(s.allow_writes)
        )
    }

    /// The instructions with several clusters: each with what it is and whether it allows writes, which one a call
    /// without `cluster` goes to, then the tools.
    fn instructions_for_clusters(&self) -> String {
        let mut text = String::from(
            "# Aurora DSQL MCP server\nThis server serves several clusters. Every database \
            tool takes `cluster` (one of the names below), and every result names the cluster, Region and role that \
            answered: check it before you act on a result.\n",
        );
        // The default first, then the file's order; past MAX_LISTED only a count, so many clusters cannot make the
        // instructions (read into every agent's context) grow without end.
        let default = self.clusters.default_env().map(|d| d.settings.cluster.as_str());
        let mut order: Vec<&Arc<Env>> = self.clusters.iter().collect();
        order.sort_by_key(|e| Some(e.settings.cluster.as_str()) != default);
        for env in order.iter().take(MAX_LISTED) {
            let s = &env.settings;
            let mode = if s.allow_writes { "READ-WRITE" } else { "READ-ONLY" };
            let pinned = if s.dsql_version.is_pinned() {
                format!("; DSQL rules as of {}", s.dsql_version)
            } else {
                String::new()
            };
            let line = format!("cluster `{}`: {}; {mode}{pinned}", s.cluster, target_words(s));
            text.push_str(&format!("- {}\n", clipped(&line, MAX_LINE_CHARS)));
        }
        let rest = &order[order.len().min(MAX_LISTED)..];
        if !rest.is_empty() {
            let writable = rest.iter().filter(|e| e.settings.allow_writes).count();
            text.push_str(&format!(
                "- and {} more clusters ({writable} of them READ-WRITE), not listed here: every name is in the \
                 `cluster` argument's enum of each database tool (tools/list) and in resources/list \
                 (dsql://clusters/NAME/schema); every result says whether its cluster is read-only.\n",
                rest.len()
            ));
        }
        match self.clusters.default_env() {
            Some(d) => text.push_str(&format!("Calls without `cluster` go to `{}`.\n", d.settings.cluster)),
            None => text.push_str("There is no default: every database tool call must name its `cluster`.\n"),
        }
        text.push('\n');
        text.push_str(&tool_guide(self.clusters.any_writes()));
        text
    }
}

/// Clusters described one by one in the instructions, at most; the others are counted and pointed to.
const MAX_LISTED: usize = 10;
/// A cluster's line in the instructions, at most (a long sandbox path or endpoint is cut).
const MAX_LINE_CHARS: usize = 300;

fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The target of one cluster, in words, for the instructions.
fn target_words(s: &crate::config::Settings) -> String {
    match &s.target {
        Target::Local { dir } => format!(
            "a LOCAL sandbox (a private PostgreSQL in {} that answers like Aurora DSQL: same refusals and \
                 SQLSTATEs). Nothing here touches AWS",
            dir.display()
        ),
        Target::Url { .. } if s.cluster == crate::config::settings::DEFAULT_CLUSTER => "a PostgreSQL \
                database given by --database-url (DSQL's rules are still checked before each statement)"
            .into(),
        Target::Url { .. } => "a PostgreSQL database given by its URL (DSQL's rules are still checked before \
                                   each statement)"
            .into(),
        Target::Dsql(t) => format!("the Aurora DSQL cluster {} as role {}", t.endpoint, t.user),
        Target::Unconfigured { .. } => "NO database (documentation and dsql_lint only; the database tools \
                                            explain how to configure one)"
            .into(),
    }
}

/// How to use the tools; the write tools when writes are allowed somewhere.
fn tool_guide(writes: bool) -> String {
    let migrations = if writes {
        "- apply_migration(name, sql, dry_run?, fix?, rehearse?): plan a migration file into DSQL-legal steps, rehearse \
             it in the local sandbox, apply it step by step with a history (re-runs are no-ops or resume).\n\
             - list_migrations(): the migration history.\n\
             - backfill(table, set?, where?, delete?, batch_size?): a large UPDATE (set) or DELETE (delete=true) in batches \
             under the 3,000-row limit.\n\
             Statements that destroy data or schema (DROP, TRUNCATE, DELETE/UPDATE without WHERE…) are shown to the user \
             for confirmation first; if the user says no, nothing ran: do not retry unless they ask.\n"
    } else {
        ""
    };
    format!(
        "## Tools\n\
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

impl DsqlServer {
    /// The lowest level this request may be sent log notifications at, or None for none at all. A 2026-07-28
    /// request names its own level in `_meta` (no level: no log notifications); older clients set one for the
    /// session with logging/setLevel (default: notice).
    fn log_floor(&self, context: &RequestContext<RoleServer>) -> Option<u8> {
        match context.protocol_version() {
            Some(version) if version >= ProtocolVersion::V_2026_07_28 => context.meta.log_level().map(level_index),
            _ => Some(self.log_level.load(Ordering::Relaxed)),
        }
    }

    async fn notify(&self, context: &RequestContext<RoleServer>, level: LoggingLevel, message: &str) {
        if self.log_floor(context).is_none_or(|floor| level_index(level) < floor) {
            return;
        }
        let param = render::log_message(level, SERVER_NAME, message);
        if let Err(e) = context.peer.notify_logging_message(param).await {
            tracing::debug!("could not send a log notification: {e}");
        }
    }
}

impl ServerHandler for DsqlServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(capabilities())
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
        let mut resources: Vec<Resource> = docs::Library::embedded()
            .documents()
            .iter()
            .map(|d| {
                Resource::new(&d.uri, &d.name)
                    .with_title(&d.title)
                    .with_description(&d.description)
                    .with_mime_type("text/markdown")
                    .with_size(d.text.len() as u64)
            })
            .collect();
        resources.extend(self::resources::listed(&self.clusters));
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, McpError> {
        Ok(rmcp::model::ListResourceTemplatesResult::with_all_items(resources::templates(&self.clusters)))
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, McpError> {
        resources::complete(&self.clusters, &request, &context.ct).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if resources::owns(&request.uri) {
            return resources::read(&self.clusters, &request.uri, &context.ct).await;
        }
        let lib = docs::Library::embedded();
        let Some(doc) = lib.document(&request.uri) else {
            let known: Vec<&str> = lib.documents().iter().map(|d| d.uri.as_str()).collect();
            return Err(McpError::resource_not_found(
                format!("no documentation resource {:?}; known: {}", request.uri, known.join(", ")),
                None,
            ));
        };
        Ok(render::own_document(&doc.uri, "text/markdown", doc.text).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = docs::prompts::list()
            .into_iter()
            .map(|p| {
                let args = p
                    .arguments
                    .iter()
                    .map(|(name, description, required)| {
                        PromptArgument::new(*name).with_description(*description).with_required(*required)
                    })
                    .collect();
                Prompt::new(p.name, Some(p.description), Some(args)).with_title(p.title)
            })
            .collect();
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
        let mut result = GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]);
        if let Some(description) = description {
            result = result.with_description(description);
        }
        Ok(result.into())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.log_level.store(level_index(request.level), Ordering::Relaxed);
        Ok(())
    }

    async fn on_initialized(&self, _context: rmcp::service::NotificationContext<RoleServer>) {
        // Connect now, while the agent reads the tool list, so its first call costs one round trip.
        self.clusters.warm_up();
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let started = std::time::Instant::now();
        // The cluster the call runs on (its `cluster` argument, else the default); refused before anything runs.
        // A refusal is recorded in the primary cluster's audit log (no cluster answered it).
        // The name a call asked for, kept only for the audit line of a call refused before it had a cluster.
        let asked =
            self.env.audit.as_ref().and_then(|_| request.arguments.as_ref()?.get(registry::CLUSTER_ARG)?.as_str());
        let asked = asked.map(str::to_string);
        let routed = registry::route(&self.clusters, &name, &mut request).map(Arc::clone);
        let audit = match &routed {
            Ok(env) => audit_begin(Ok(env), &name, &request, &context),
            Err(_) => audit_begin(Err((&self.env, asked.as_deref())), &name, &request, &context),
        };
        let env = match routed {
            Ok(env) => env,
            Err(error) => {
                if let Some((call, _)) = audit {
                    call.end(error.audit_ending(), None);
                }
                let message = error.to_string();
                tracing::warn!(tool = %name, "{}", first_line(&message));
                self.notify(&context, LoggingLevel::Error, &format!("{name}: {message}")).await;
                return Ok(render::tool_error(&message).into());
            }
        };
        let answered_by = registry::runs_on_cluster(&name).then_some(&env.settings);
        // The call stops when the client cancels it (notifications/cancelled) or goes away (EOF on stdin).
        let stop = env.stopping.child_token();
        // The client's cancel is passed on to `stop` while the call runs on; the call itself decides how to end
        // (a statement is cancelled in the database and its transaction driven to its end). Watched here, in the
        // call's own task: no task spawned per call. Boxed: the call's state machine is large (~9 KB) and rmcp
        // moves this future when it spawns the request's task.
        let work = crate::exec::cancel::scope(
            stop.clone(),
            Box::pin(crate::audit::scope(
                audit.as_ref().map(|(call, _)| call.scope()),
                registry::dispatch(&env, &name, request, &context),
            )),
        );
        tokio::pin!(work);
        let result = tokio::select! {
            biased;
            result = &mut work => result,
            _ = context.ct.cancelled() => {
                stop.cancel();
                work.await
            }
        };
        if stop.is_cancelled() && !env.stopping.is_cancelled() {
            // MCP: no response to a cancelled request (rmcp drops it); say on stderr what became of it.
            tracing::info!(tool = %name, ok = result.is_ok(), "call cancelled by the client");
        }
        tracing::info!(tool = %name, ok = result.is_ok(), ms = started.elapsed().as_millis() as u64, "tool call");
        if let Some((call, commits)) = audit {
            match &result {
                Ok(Answer::Value(value)) => call.end(crate::audit::Ending::success(commits, None), Some(value)),
                Ok(Answer::Ask(_)) => call.end(crate::audit::Ending::success(false, None), None),
                Err(error) => call.end(error.audit_ending(), None),
            }
        }
        Ok(match result {
            Ok(Answer::Ask(question)) => {
                tracing::info!(tool = %name, "asking the user to confirm destructive statements");
                return Ok(question.into());
            }
            Ok(Answer::Value(mut value)) => {
                let mut notes = result_notes(&value);
                if let (Some(settings), Value::Object(fields)) = (answered_by, &mut value) {
                    fields.insert(registry::CLUSTER_ARG.into(), clusters::identity(settings));
                    notes.push(clusters::identity_line(settings));
                }
                render::tool_result(&name, value, &notes)
            }
            Err(error) => {
                let mut message = error.to_string();
                if let Some(note) = answered_by.and_then(|settings| file_cluster_write_note(&self.clusters, settings, &error)) {
                    message = format!("{message}\n{note}");
                }
                if let Some(settings) = answered_by.filter(|_| self.clusters.len() > 1) {
                    message = format!("{message}\n{}", clusters::identity_line(settings));
                }
                tracing::warn!(tool = %name, "{}", crate::cli::logging::redact_message(first_line(&render::plain(&message))));
                // Rendered once: the answer and its log notification carry the same markers.
                let message = render::marked(&message);
                // A stopped call gets no response, and a client that went away cannot be told: notifying it would
                // wait on a session that has ended.
                if !stop.is_cancelled() {
                    self.notify(&context, LoggingLevel::Error, &format!("{name}: {message}")).await;
                }
                render::tool_error(&message)
            }
        }
        .into())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capabilities_say_no_list_changes_and_no_subscriptions() {
        assert_eq!(
            serde_json::to_value(capabilities()).unwrap(),
            json!({"tools": {"listChanged": false}, "logging": {}, "completions": {},
                "resources": {"listChanged": false, "subscribe": false}, "prompts": {"listChanged": false}})
        );
    }

    fn server_of(config: &str) -> DsqlServer {
        use clap::Parser;
        let args = crate::config::Cli::try_parse_from(["aurora-dsql-mcp-rs"]).expect("parse").server;
        let file = crate::config::file::read(std::path::Path::new("/t/dsql.toml"), config).expect("a valid file");
        let clusters = Clusters::from_file(&args, &file, &|_| None).expect("clusters");
        DsqlServer::serving(Arc::new(clusters))
    }

    fn cluster_tables(n: usize, default: Option<usize>) -> String {
        let mut text = default.map(|d| format!("default = \"c{d:03}\"\n")).unwrap_or_default();
        for i in 0..n {
            let writes = if i % 3 == 0 { "allow_writes = true\n" } else { "" };
            text.push_str(&format!(
                "[clusters.c{i:03}]\nendpoint = \"cluster{i:03}{}.dsql.us-east-1.on.aws\"\nuser = \"admin\"\n{writes}\n",
                "x".repeat(40)
            ));
        }
        text
    }

    #[tokio::test]
    async fn the_instructions_stay_bounded_however_many_clusters_there_are() {
        let few = server_of(&cluster_tables(3, None)).instructions();
        for i in 0..3 {
            assert!(few.contains(&format!("- cluster `c{i:03}`")), "{few}");
        }
        assert!(!few.contains("more clusters"), "{few}");

        let sizes: Vec<usize> = [MAX_LISTED + 1, 50, 500]
            .iter()
            .map(|n| server_of(&cluster_tables(*n, None)).instructions().len())
            .collect();
        let bound = few.len() + MAX_LISTED * (MAX_LINE_CHARS + 10) + 400;
        assert!(sizes.iter().all(|n| *n < bound), "{sizes:?} vs {bound}");
        // Growing the file past the listed ones only changes the count.
        assert!(sizes[2] - sizes[1] < 4, "{sizes:?}");

        // The default is listed even when it comes last; the rest are counted, with how many allow writes, and
        // the agent is told where every name is.
        let many = server_of(&cluster_tables(50, Some(49))).instructions();
        assert!(many.contains("- cluster `c049`"), "{many}");
        assert!(many.contains("Calls without `cluster` go to `c049`"), "{many}");
        assert_eq!(many.matches("\n- cluster `").count(), MAX_LISTED, "{many}");
        let unlisted = 50 - MAX_LISTED;
        let writable = (0..49).skip(MAX_LISTED - 1).filter(|i| i % 3 == 0).count();
        assert!(many.contains(&format!("- and {unlisted} more clusters ({writable} of them READ-WRITE)")), "{many}");
        assert!(many.contains("tools/list") && many.contains("dsql://clusters/NAME/schema"), "{many}");
    }

    #[test]
    fn a_long_line_is_clipped_at_a_character_boundary() {
        assert_eq!(clipped("ééé", 2), "éé…");
        assert_eq!(clipped("abc", 3), "abc");
    }

    #[test]
    fn levels_rank_from_debug_to_emergency() {
        let all = [
            LoggingLevel::Debug,
            LoggingLevel::Info,
            LoggingLevel::Notice,
            LoggingLevel::Warning,
            LoggingLevel::Error,
            LoggingLevel::Critical,
            LoggingLevel::Alert,
            LoggingLevel::Emergency,
        ];
        let ranks: Vec<u8> = all.into_iter().map(level_index).collect();
        assert_eq!(ranks, [0, 1, 2, 3, 4, 5, 6, 7]);
    }
}
