//! The tool registry: one table of every tool ([`TOOLS`]: its name, whether it needs `--allow-writes`, whether its
//! result carries database text, its `tools/list` definition, how it plans) and ONE dispatch ([`dispatch`]) that
//! takes every call through the same steps: find the tool → the write gate → parse and plan (the statements and
//! what the user would be asked about) → confirm (`server::confirm`, when the plan needs a look) → run. The server
//! renders what comes back (`server::render`, which reads [`carries_database_text`] from here).
//!
//! Adding a tool: write its file (name, definition, call), add one [`Tool`] entry here, in `tools/list` order, with
//! either [`Planner::Direct`] (nothing it does needs a look) or [`Planner::Planned`] and a [`Plan`] implementation.
//! The write gate, confirmation and the renderer come with the entry; a tool cannot skip them. With several
//! clusters, [`route`] picks the cluster a call runs on (its `cluster` argument) before the dispatch, and
//! [`definition`] adds that argument to every database tool's schema.

use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::RoleServer;
use rmcp::model::{CallToolRequestParams, ProgressNotificationParam};
use rmcp::service::RequestContext;
use serde_json::{Map, Value};

use super::{
    Env, apply_migration, backfill, docs as doc_tools, dsql_lint, explain_query, get_schema, list_migrations,
    readonly_query, transact,
};
use crate::config::Clusters;
use crate::pool::Database;
use crate::server::confirm::{self, Answer, Gate, Ran};
use crate::server::effects;
use crate::tools::ToolError;

type Args = Option<Map<String, Value>>;

/// Progress a tool reports while it runs: (progress, total, message).
pub type Progress<'a> = dyn Fn(u64, Option<u64>, String) + Send + Sync + 'a;

/// A tool that runs as it is: nothing it does needs a look (reads, this server's own text).
pub type DirectCall = for<'a> fn(&'a Env, &'static str, Args) -> BoxFuture<'a, Result<Value, ToolError>>;

/// A tool that plans: parses its arguments and checks its statements, touching nothing.
pub type PlanCall = for<'a> fn(&'a Env, Args) -> BoxFuture<'a, Result<Box<dyn Plan + 'a>, ToolError>>;

/// How a tool gets from its arguments to a run.
pub enum Planner {
    /// Runs as called: nothing it does needs a look before COMMIT.
    Direct(DirectCall),
    /// Plans first; the plan says whether the run needs a look and what the user would be asked.
    Planned(PlanCall),
}

/// One tool of the registry.
pub struct Tool {
    /// The MCP tool name (`readonly_query`, `transact`…), unique in the registry.
    pub name: &'static str,
    /// Refused (with how to enable it) and left out of `tools/list` without `--allow-writes`.
    pub needs_writes: bool,
    /// Whether its result may hold database text: then the renderer puts it between untrusted-data markers.
    pub database_text: bool,
    /// Whether it runs on one cluster's database: then it takes the optional `cluster` argument and its result
    /// names the cluster that answered.
    pub on_cluster: bool,
    /// Its `tools/list` entry.
    pub definition: fn(&Env) -> Value,
    /// How a call gets from its arguments to a run.
    pub planner: Planner,
}

/// A planned call: what it runs and what the user would be asked about.
pub trait Plan: Send + Sync {
    /// The arguments the call was made with (bound into a confirmation's request state).
    fn arguments(&self) -> Option<&Map<String, Value>>;
    /// The statements the user would be asked about, when the call needs a look; None: it runs straight through.
    fn needs_look(&self) -> Option<Vec<String>>;
    /// Gets ready to be looked at (what to measure); the database the call runs on.
    fn look<'a>(&'a mut self, env: &'a Env) -> BoxFuture<'a, Result<Arc<Database>, ToolError>>;
    /// Runs up to the gate: held (rolled back, with what it did) or done.
    fn run_looked<'a>(
        &'a self,
        env: &'a Env,
        gate: Gate,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<Ran, ToolError>>;
    /// Runs straight through.
    fn run<'a>(self: Box<Self>, env: &'a Env, progress: &'a Progress<'a>) -> BoxFuture<'a, Result<Value, ToolError>>
    where
        Self: 'a;
}

/// Every tool, in `tools/list` order (the Python server's: database tools, documentation tools, dsql_lint; then
/// ours, which need writes).
pub static TOOLS: [Tool; 11] = [
    Tool {
        name: readonly_query::NAME,
        needs_writes: false,
        database_text: true,
        on_cluster: true,
        definition: |_| readonly_query::definition(),
        planner: Planner::Direct(|env, _, args| Box::pin(readonly_query::call(env, args))),
    },
    Tool {
        name: transact::NAME,
        needs_writes: false,
        database_text: true,
        on_cluster: true,
        definition: |env| transact::definition(&env.settings),
        planner: Planner::Planned(plan_transact),
    },
    Tool {
        name: get_schema::NAME,
        needs_writes: false,
        database_text: true,
        on_cluster: true,
        definition: |_| get_schema::definition(),
        planner: Planner::Direct(|env, _, args| Box::pin(get_schema::call(env, args))),
    },
    Tool {
        name: doc_tools::SEARCH,
        needs_writes: false,
        database_text: false,
        on_cluster: false,
        definition: |env| doc_definition(env, doc_tools::SEARCH),
        planner: Planner::Direct(|env, name, args| Box::pin(doc_tools::call(env, name, args))),
    },
    Tool {
        name: doc_tools::READ,
        needs_writes: false,
        database_text: false,
        on_cluster: false,
        definition: |env| doc_definition(env, doc_tools::READ),
        planner: Planner::Direct(|env, name, args| Box::pin(doc_tools::call(env, name, args))),
    },
    Tool {
        name: doc_tools::RECOMMEND,
        needs_writes: false,
        database_text: false,
        on_cluster: false,
        definition: |env| doc_definition(env, doc_tools::RECOMMEND),
        planner: Planner::Direct(|env, name, args| Box::pin(doc_tools::call(env, name, args))),
    },
    Tool {
        name: dsql_lint::NAME,
        needs_writes: false,
        database_text: false,
        on_cluster: false,
        definition: |_| dsql_lint::definition(),
        planner: Planner::Direct(|env, _, args| Box::pin(dsql_lint::call(args, env.settings.dsql_version))),
    },
    Tool {
        name: explain_query::NAME,
        needs_writes: false,
        database_text: true,
        on_cluster: true,
        definition: |_| explain_query::definition(),
        planner: Planner::Direct(|env, _, args| Box::pin(explain_query::call(env, args))),
    },
    Tool {
        name: apply_migration::NAME,
        needs_writes: true,
        database_text: true,
        on_cluster: true,
        definition: |_| apply_migration::definition(),
        planner: Planner::Planned(plan_apply_migration),
    },
    Tool {
        name: list_migrations::NAME,
        needs_writes: true,
        database_text: true,
        on_cluster: true,
        definition: |_| list_migrations::definition(),
        planner: Planner::Direct(|env, _, args| Box::pin(list_migrations::call(env, args))),
    },
    Tool {
        name: backfill::NAME,
        needs_writes: true,
        database_text: true,
        on_cluster: true,
        definition: |_| backfill::definition(),
        planner: Planner::Planned(plan_backfill),
    },
];

fn doc_definition(env: &Env, name: &str) -> Value {
    doc_tools::definitions(env.knowledge.is_some()).into_iter().find(|d| d["name"] == name).unwrap_or(Value::Null)
}

/// The tools offered in this mode, in `tools/list` order.
pub fn listed(env: &Env) -> impl Iterator<Item = &'static Tool> + '_ {
    TOOLS.iter().filter(|t| !t.needs_writes || env.settings.allow_writes)
}

/// The argument every database tool takes to pick its cluster.
pub const CLUSTER_ARG: &str = "cluster";

/// The tools these clusters offer, in `tools/list` order: the write tools when any cluster allows writes.
pub fn listed_for(clusters: &Clusters) -> impl Iterator<Item = &'static Tool> + '_ {
    TOOLS.iter().filter(|t| !t.needs_writes || clusters.any_writes())
}

/// A tool's `tools/list` entry for these clusters: its definition as a cluster that allows writes sees it (when one
/// does: the write tools and their annotations are for it), and, for a database tool, the `cluster` argument
/// (the names as an enum; required when there are several and no default) and the `cluster` of its result.
pub fn definition(tool: &Tool, clusters: &Clusters) -> Value {
    let env = clusters.iter().find(|e| e.settings.allow_writes).unwrap_or(clusters.primary());
    let mut definition = (tool.definition)(env);
    if tool.on_cluster {
        let names = clusters.names();
        super::input_schema::add_cluster(&mut definition["inputSchema"], &names, clusters.requires_name());
        if let Some(Value::Object(properties)) = definition.pointer_mut("/outputSchema/properties") {
            properties.insert(CLUSTER_ARG.into(), super::input_schema::cluster_output_schema());
        }
    }
    definition
}

/// The cluster a call runs on: its `cluster` argument (taken out of the arguments, so the tool reads only its
/// own), else the default. Refused, naming the clusters: an unknown name, no name where one is required, and a
/// write tool on a cluster that does not allow writes. Tools that do not run on a cluster get the primary one
/// (its settings: the dsql_lint rules version, the knowledge server).
pub fn route<'c>(
    clusters: &'c Clusters,
    name: &str,
    request: &mut CallToolRequestParams,
) -> Result<&'c Arc<Env>, ToolError> {
    let Some(tool) = TOOLS.iter().find(|t| t.name == name).filter(|t| t.on_cluster) else {
        return Ok(clusters.primary());
    };
    let chosen = match request.arguments.as_mut().and_then(|a| a.remove(CLUSTER_ARG)) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(ToolError::Cluster(format!(
                "`cluster` must be a cluster's name (a string), not {other}; the clusters are {}",
                clusters.names().join(", ")
            )));
        }
    };
    let env = clusters.select(chosen.as_deref()).map_err(ToolError::Cluster)?;
    // A cluster from --config is made writable in its table, not with --allow-writes (the dispatch's own gate
    // says that for the flags' cluster alone).
    if tool.needs_writes && !env.settings.allow_writes && clusters.configured_in_file(&env.settings) {
        let writable = clusters.writable();
        let others = if writable.is_empty() {
            format!(
                "No cluster allows writes: set allow_writes = true in the [clusters.{}] table of the config file \
                 (after the user agrees) and restart the server",
                env.settings.cluster
            )
        } else {
            format!("Clusters that allow writes: {}", writable.join(", "))
        };
        return Err(ToolError::Cluster(format!(
            "{name} changes the database, and the cluster `{}` is read-only (its allow_writes is false). {others}. \
             Nothing ran.",
            env.settings.cluster
        )));
    }
    Ok(env)
}

/// Whether a tool runs on one cluster's database (takes `cluster`, and its result names the cluster).
pub fn runs_on_cluster(name: &str) -> bool {
    TOOLS.iter().any(|t| t.name == name && t.on_cluster)
}

/// Whether a tool's result may hold database text. Default deny: a name not in the registry counts as one.
pub fn carries_database_text(name: &str) -> bool {
    TOOLS.iter().find(|t| t.name == name).is_none_or(|t| t.database_text)
}

/// The statements a call carries, for the audit log: the SQL arguments as given, or what a backfill runs (built
/// from its `table`, `set` and `where`). Bound values are only counted.
pub fn audited_statements(name: &str, args: Option<&Map<String, Value>>) -> Vec<crate::audit::Given> {
    match name {
        backfill::NAME => {
            backfill::describe(args).map(|sql| crate::audit::Given { sql, params: 0 }).into_iter().collect()
        }
        _ => crate::audit::statements_in(args),
    }
}

/// Whether a call of this tool that succeeded committed writes (the audit log's `committed`; otherwise `ok`).
pub fn committed_writes(env: &Env, name: &str, args: Option<&Map<String, Value>>) -> bool {
    let dry_run = args.and_then(|a| a.get("dry_run")).and_then(Value::as_bool).unwrap_or(false);
    env.settings.allow_writes
        && match name {
            transact::NAME | backfill::NAME => true,
            apply_migration::NAME => !dry_run,
            _ => false,
        }
}

/// Whether calls that need a look are looked at: in write mode, unless `--confirm-destructive allow`.
fn confirms(env: &Env) -> bool {
    env.settings.confirms_destructive()
}

/// The one dispatch: every tool call goes through here.
pub async fn dispatch(
    env: &Env,
    name: &str,
    mut request: CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Result<Answer, ToolError> {
    let Some(tool) = TOOLS.iter().find(|t| t.name == name) else {
        let available: Vec<&str> = listed(env).map(|t| t.name).collect();
        return Err(ToolError::UnknownTool { name: name.to_string(), available: available.join(", ") });
    };
    if tool.needs_writes && !env.settings.allow_writes {
        return Err(ToolError::NeedsWrites { tool: name.to_string() });
    }
    let args = request.arguments.take();
    let mut plan = match tool.planner {
        Planner::Direct(call) => return call(env, tool.name, args).await.map(Answer::Value),
        Planner::Planned(plan) => plan(env, args).await?,
    };
    // Progress goes out in order and before the response (`finish` waits for the last one).
    let sink = ProgressSink::new(context);
    let progress = |p, t, m| sink.send(p, t, m);
    let statements = if confirms(env) { plan.needs_look() } else { None };
    let Some(statements) = statements else {
        let result = plan.run(env, &progress).await;
        sink.finish().await;
        return result.map(Answer::Value);
    };
    let answer = match plan.look(env).await {
        Ok(db) => {
            let plan = &*plan;
            let progress: &Progress<'_> = &progress;
            let run = move |gate: Gate| plan.run_looked(env, gate, progress);
            let call = confirm::Call {
                tool: tool.name,
                arguments: plan.arguments(),
                state: request.request_state.as_deref(),
                responses: request.input_responses.as_ref(),
                context,
                statements,
            };
            confirm::run_confirmed(env, &db, call, &run).await
        }
        Err(e) => Err(e),
    };
    sink.finish().await;
    answer
}

/// `transact`: its statements checked and connected; looked at when one is not provably harmless.
struct TransactPlan {
    args: Args,
    prepared: transact::Prepared,
    probe: Option<effects::Probe>,
}

fn plan_transact(env: &Env, args: Args) -> BoxFuture<'_, Result<Box<dyn Plan + '_>, ToolError>> {
    Box::pin(async move {
        let prepared = transact::prepare(env, args.as_ref()).await?;
        Ok(Box::new(TransactPlan { args, prepared, probe: None }) as Box<dyn Plan>)
    })
}

fn statement_progress(progress: &Progress<'_>) -> impl Fn(usize, usize) + Sync {
    move |done: usize, total: usize| {
        progress(done as u64, Some(total as u64), format!("statement {done} of {total} done"))
    }
}

impl Plan for TransactPlan {
    fn arguments(&self) -> Option<&Map<String, Value>> {
        self.args.as_ref()
    }

    fn needs_look(&self) -> Option<Vec<String>> {
        (!self.prepared.looks.is_empty()).then(|| self.prepared.sql_list.clone())
    }

    fn look<'a>(&'a mut self, env: &'a Env) -> BoxFuture<'a, Result<Arc<Database>, ToolError>> {
        Box::pin(async move {
            let looks = &self.prepared.looks;
            self.probe = Some(effects::Probe {
                catalog: looks.iter().any(|(_, l)| l.catalog),
                stats: confirm::stats_available(env, self.prepared.database()).await,
                targets: unique(looks.iter().flat_map(|(_, l)| l.targets.iter().cloned())),
                always: looks
                    .iter()
                    .filter(|(_, l)| l.always)
                    .map(|(i, l)| format!("statement {}: {}", i + 1, l.why))
                    .collect(),
            });
            Ok(self.prepared.database_arc())
        })
    }

    fn run_looked<'a>(
        &'a self,
        env: &'a Env,
        gate: Gate,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<Ran, ToolError>> {
        Box::pin(async move {
            let probe = self.probe.as_ref().ok_or("internal error: transact was run looked at before look")?;
            transact::execute_looked(env, &self.prepared, probe, &gate, &statement_progress(progress)).await
        })
    }

    fn run<'a>(self: Box<Self>, env: &'a Env, progress: &'a Progress<'a>) -> BoxFuture<'a, Result<Value, ToolError>>
    where
        Self: 'a,
    {
        Box::pin(async move { transact::execute(env, self.prepared, &statement_progress(progress)).await })
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

/// `backfill` and `apply_migration`: their steps commit one by one, so a look is not a run rolled back but a
/// measure before it starts (a backfill's counted rows) or the statements as written (a migration's statements
/// that are not provably harmless). The tool itself parses and checks when it runs.
struct StepsPlan {
    name: &'static str,
    args: Args,
    statements: Vec<String>,
    /// A migration's statements that are not provably harmless (what it would destroy, unmeasured).
    unmeasured: Vec<String>,
}

fn plan_backfill(_env: &Env, args: Args) -> BoxFuture<'_, Result<Box<dyn Plan + '_>, ToolError>> {
    let statements = backfill::describe(args.as_ref()).into_iter().collect();
    let plan = StepsPlan { name: backfill::NAME, args, statements, unmeasured: Vec::new() };
    Box::pin(std::future::ready(Ok(Box::new(plan) as Box<dyn Plan>)))
}

fn plan_apply_migration(_env: &Env, args: Args) -> BoxFuture<'_, Result<Box<dyn Plan + '_>, ToolError>> {
    let (statements, unmeasured) = apply_migration::looks(args.as_ref());
    let plan = StepsPlan { name: apply_migration::NAME, args, statements, unmeasured };
    Box::pin(std::future::ready(Ok(Box::new(plan) as Box<dyn Plan>)))
}

impl StepsPlan {
    async fn call(&self, env: &Env, args: Args, progress: &Progress<'_>) -> Result<Value, ToolError> {
        if self.name == backfill::NAME {
            backfill::call(env, args, progress).await
        } else {
            apply_migration::call(env, args, progress).await
        }
    }
}

impl Plan for StepsPlan {
    fn arguments(&self) -> Option<&Map<String, Value>> {
        self.args.as_ref()
    }

    fn needs_look(&self) -> Option<Vec<String>> {
        let looked = self.name == backfill::NAME || !self.unmeasured.is_empty();
        (looked && !self.statements.is_empty()).then(|| self.statements.clone())
    }

    fn look<'a>(&'a mut self, env: &'a Env) -> BoxFuture<'a, Result<Arc<Database>, ToolError>> {
        Box::pin(async move { Ok(env.database().await?) })
    }

    fn run_looked<'a>(
        &'a self,
        env: &'a Env,
        gate: Gate,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<Ran, ToolError>> {
        Box::pin(async move {
            let effects = if self.name == backfill::NAME {
                backfill::measure(env, self.args.as_ref()).await?
            } else {
                effects::Effects { destroys: self.unmeasured.clone(), ..Default::default() }
            };
            if !gate.lets(&effects) {
                return Ok(Ran::Held(effects));
            }
            Ok(Ran::Done(self.call(env, self.args.clone(), progress).await?, effects))
        })
    }

    fn run<'a>(self: Box<Self>, env: &'a Env, progress: &'a Progress<'a>) -> BoxFuture<'a, Result<Value, ToolError>>
    where
        Self: 'a,
    {
        Box::pin(async move {
            let args = self.args.clone();
            self.call(env, args, progress).await
        })
    }
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
                let mut param = ProgressNotificationParam::new(token.clone(), progress as f64).with_message(message);
                param.total = total.map(|t| t as f64);
                let _ = peer.notify_progress(param).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_is_registered_once_and_writes_are_gated() {
        let mut names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TOOLS.len(), "a tool name appears twice in the registry");
        let gated: Vec<&str> = TOOLS.iter().filter(|t| t.needs_writes).map(|t| t.name).collect();
        assert_eq!(gated, [apply_migration::NAME, list_migrations::NAME, backfill::NAME]);
        // tools/list keeps the Python server's tools first: the write tools come after every other.
        let first_gated = TOOLS.iter().position(|t| t.needs_writes).expect("write tools");
        assert!(TOOLS[first_gated..].iter().all(|t| t.needs_writes));
    }

    #[test]
    fn only_our_own_text_tools_skip_the_envelope_and_unknown_names_do_not() {
        let own: Vec<&str> = TOOLS.iter().filter(|t| !carries_database_text(t.name)).map(|t| t.name).collect();
        assert_eq!(own, [doc_tools::SEARCH, doc_tools::READ, doc_tools::RECOMMEND, dsql_lint::NAME]);
        assert!(carries_database_text("a_tool_added_later"));
        assert!(carries_database_text(transact::NAME));
    }
}
