//! The clusters one process serves ([`Clusters`]): an ordered set of name → [`Env`] built once at startup from the
//! flags (which define the cluster `default`, as they always did) and the `--config` file (its `[clusters.NAME]`
//! tables), and the rule that picks the cluster a call runs on ([`Clusters::select`]). Each cluster has its own
//! settings, pool, credentials, check cache and read-only flag; they share only the stop token (the client going
//! away stops every running call).
//!
//! How the flags and the file combine (README, Teams, says the same):
//! - flags that name a database (`--local`, `--database-url`, `--cluster_endpoint`/`CLUSTER`) define the cluster
//!   `default` with all the flags' settings, beside the file's clusters; a file table of that name is refused;
//! - without such flags, the flags' limits and policy (`--max-rows`, `--max-result-bytes`, `--statement-timeout`,
//!   `--max-retries`, `--pool-size`, `--token-expiry`, `--rules`, `--dsql-version`, `--confirm-destructive`) are
//!   the defaults every file cluster starts from; the settings that belong to one database (`--allow-writes`,
//!   `--tenant-column`, `--hostaddr`, `--ssl-root-cert`, `--profile`, `--region`, `--database_user`) given on the
//!   command line are refused: the file says them per cluster.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use super::args::ServerArgs;
use super::file::{self, ConfigFile, Database};
use super::settings::{DEFAULT_CLUSTER, Settings};
use super::state::Env;
use super::target::{self, Target};
use crate::exec::cancel::CancellationToken;

/// Every cluster this process serves, in order, and which one a call without `cluster` goes to.
pub struct Clusters {
    list: Vec<Arc<Env>>,
    default: Option<usize>,
    /// `audit_log = "FILE"` from the config file (the `--audit-log` setting's value when the flag is not given).
    pub audit_log: Option<PathBuf>,
    /// Cancelled when the client goes away or a signal arrives: every cluster's running calls stop.
    pub stopping: CancellationToken,
}

impl Clusters {
    /// One cluster: the flags' (the default), as before `--config` existed.
    pub fn single(env: Arc<Env>) -> Clusters {
        Clusters { stopping: env.stopping.clone(), list: vec![env], default: Some(0), audit_log: None }
    }

    /// The clusters the flags and the `--config` file define, with the process's environment.
    pub fn from_args(args: &ServerArgs) -> Result<Clusters, String> {
        let Some(path) = &args.config else {
            return Ok(Clusters::single(Arc::new(Env::new(Settings::from_args(args))?)));
        };
        let file = file::load(path)?;
        Clusters::from_file(args, &file, &target::process_env)
    }

    /// The clusters of a checked file and the flags, with an environment (tests give their own).
    pub fn from_file(args: &ServerArgs, file: &ConfigFile, env: target::EnvVars) -> Result<Clusters, String> {
        let stopping = CancellationToken::new();
        let mut list = Vec::new();
        let flags = Settings::from_args_and_env(args, env);
        let flags_name_a_database = !matches!(flags.target, Target::Unconfigured { .. });
        if flags_name_a_database {
            if let Some(c) = file.clusters.iter().find(|c| c.name == DEFAULT_CLUSTER) {
                return Err(file.error_at(
                    c.line,
                    format!(
                        "the flags ({}) already define the cluster `{DEFAULT_CLUSTER}`: rename this table, or drop \
                         the database flags and describe that cluster here",
                        database_flags(args)
                    ),
                ));
            }
            if let Target::Local { dir } = &flags.target
                && let Some(c) = file.clusters.iter().find(|c| c.database == Database::Local(dir.clone()))
            {
                return Err(file.error_at(
                    c.line,
                    format!(
                        "cluster `{}` uses the sandbox directory --local already gives the cluster \
                         `{DEFAULT_CLUSTER}`; one sandbox serves one cluster: give it its own `local` directory",
                        c.name
                    ),
                ));
            }
            list.push(flags);
        } else {
            refuse_per_cluster_flags(args, env)?;
            if file.clusters.is_empty() {
                return Err(format!(
                    "{}: the file defines no [clusters.NAME] table and no database flag was given: add a table, e.g.\n\
                     [clusters.dev]\nlocal = \"sandbox\"\nallow_writes = true",
                    file.path.display()
                ));
            }
        }
        for c in &file.clusters {
            list.push(settings_for(args, c, env));
        }
        // The file's `audit_log` records every cluster's calls (the same path shares one writer); `--audit-log`
        // wins over it.
        if args.audit_log.is_none() && file.audit_log.is_some() {
            for settings in &mut list {
                settings.audit_log = file.audit_log.clone();
            }
        }
        let default = match &file.default {
            Some((name, line)) => Some(list.iter().position(|s| &s.cluster == name).ok_or_else(|| {
                file.error_at(
                    *line,
                    format!(
                        "default = {name:?}: no cluster has that name (no database flag defines `{DEFAULT_CLUSTER}`)"
                    ),
                )
            })?),
            None if flags_name_a_database || list.len() == 1 => Some(0),
            None => None,
        };
        let list = list
            .into_iter()
            .map(|settings| {
                let mut env = Env::new(settings)?;
                env.stopping = stopping.clone();
                Ok(Arc::new(env))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Clusters { list, default, audit_log: file.audit_log.clone(), stopping })
    }

    /// Every cluster, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Env>> {
        self.list.iter()
    }

    /// How many clusters there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Never true: there is always at least one cluster (kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|e| e.settings.cluster.as_str()).collect()
    }

    /// Whether this cluster is made writable by its `--config` table rather than by `--allow-writes`: any cluster
    /// when the file defines more than one, or one not named `default`.
    pub fn configured_in_file(&self, settings: &Settings) -> bool {
        self.len() > 1 || settings.cluster != DEFAULT_CLUSTER
    }

    /// The names of the clusters that allow writes.
    pub fn writable(&self) -> Vec<&str> {
        self.list.iter().filter(|e| e.settings.allow_writes).map(|e| e.settings.cluster.as_str()).collect()
    }

    /// Whether any cluster allows writes (the write tools are listed then).
    pub fn any_writes(&self) -> bool {
        self.list.iter().any(|e| e.settings.allow_writes)
    }

    /// The cluster a call without `cluster` goes to, if there is one.
    pub fn default_env(&self) -> Option<&Arc<Env>> {
        self.default.map(|i| &self.list[i])
    }

    /// The cluster whose settings answer for the process where no cluster is named (documentation, dsql_lint):
    /// the default, else the first.
    pub fn primary(&self) -> &Arc<Env> {
        self.default_env().unwrap_or(&self.list[0])
    }

    /// Whether a call must name its cluster: several clusters and no default.
    pub fn requires_name(&self) -> bool {
        self.default.is_none()
    }

    /// The cluster `name` (or the default when `None`); an unknown name, or none where one is required, is refused
    /// with the names to choose from.
    pub fn select(&self, name: Option<&str>) -> Result<&Arc<Env>, String> {
        let names = || self.names().iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        match name {
            Some(name) => self.list.iter().find(|e| e.settings.cluster == name).ok_or_else(|| {
                format!("there is no cluster {name:?}; this server's clusters are {}: pass one as `cluster`", names())
            }),
            None => self.default_env().ok_or_else(|| {
                format!(
                    "this server has several clusters and no default: say which one with the `cluster` argument, one \
                     of {}",
                    names()
                )
            }),
        }
    }

    /// Open one connection per configured cluster in the background (see [`Env::warm_up`]).
    pub fn warm_up(&self) {
        for env in &self.list {
            env.warm_up();
        }
    }

    /// Close every cluster's pool and leave every local sandbox.
    pub async fn shutdown(&self) {
        futures::future::join_all(self.list.iter().map(|e| e.shutdown())).await;
    }
}

/// Which cluster answered, for a result's `structuredContent`: its name, its AWS Region (null off DSQL) and the
/// role calls run as (null when the URL names none).
pub fn identity(settings: &Settings) -> Value {
    json!({"name": settings.cluster, "region": settings.target.region(), "role": settings.target.role()})
}

/// The same as one short line of text: "Cluster: staging (region us-east-1, role admin)".
pub fn identity_line(settings: &Settings) -> String {
    let mut parts = Vec::new();
    if let Some(region) = settings.target.region() {
        parts.push(format!("region {region}"));
    }
    if let Some(role) = settings.target.role() {
        parts.push(format!("role {role}"));
    }
    parts.push(settings.mode_label().to_string());
    format!("Cluster: {} ({})", settings.cluster, parts.join(", "))
}

/// The flags that named the database, for messages.
fn database_flags(args: &ServerArgs) -> &'static str {
    if args.local.is_some() {
        "--local"
    } else if args.database_url.is_some() {
        "--database-url or AURORA_DSQL_DATABASE_URL"
    } else {
        "--cluster_endpoint, CLUSTER_ENDPOINT or CLUSTER"
    }
}

/// With `--config` and no database flag, the settings of one database cannot come from the command line: which
/// cluster would they be for? Values from environment variables are not refused (a shell's AWS_PROFILE or REGION
/// is not a choice made for this server); the file's clusters do not read them.
fn refuse_per_cluster_flags(args: &ServerArgs, env: target::EnvVars) -> Result<(), String> {
    let from_command_line = |value: &Option<String>, var: &str| value.is_some() && *value != env(var);
    let given = [
        ("--allow-writes", "allow_writes = true", args.allow_writes),
        ("--tenant-column", "tenant_column = \"…\"", args.tenant_column.is_some()),
        ("--hostaddr", "hostaddr = \"…\"", args.hostaddr.is_some()),
        ("--ssl-root-cert", "ssl_root_cert = \"…\"", args.ssl_root_cert.is_some()),
        ("--profile", "profile = \"…\"", from_command_line(&args.profile, "AWS_PROFILE")),
        ("--region", "region = \"…\"", from_command_line(&args.region, "REGION")),
        ("--database_user", "user = \"…\"", from_command_line(&args.database_user, "DATABASE_USER")),
    ];
    match given.iter().find(|(_, _, set)| *set) {
        Some((flag, key, _)) => Err(format!(
            "{flag} belongs to one cluster, and with --config and no database flag the command line names none: set \
             {key} in the [clusters.NAME] table it is for (or add --local/--database-url/--cluster_endpoint to \
             define the cluster `{DEFAULT_CLUSTER}` from flags)"
        )),
        None => Ok(()),
    }
}

/// A file cluster's settings: the flags' limits and policy as defaults, its table's values over them, its
/// database and profile from the table only (`CLUSTER`, `AWS_REGION` and `--profile` are the flags' cluster's; without
/// a `profile`, the standard AWS chain applies).
fn settings_for(args: &ServerArgs, c: &file::Cluster, env: target::EnvVars) -> Settings {
    let t = &c.table;
    let mut a = args.clone();
    a.config = None;
    (a.local, a.database_url, a.cluster_endpoint, a.region, a.database_user) = (None, None, None, None, None);
    match &c.database {
        Database::Dsql { endpoint, region, user } => {
            a.cluster_endpoint = Some(endpoint.clone());
            a.region = Some(region.clone());
            a.database_user = Some(user.clone());
        }
        Database::Url(url) => a.database_url = Some(url.clone()),
        Database::Local(dir) => a.local = Some(dir.to_string_lossy().into_owned()),
    }
    a.profile = t.profile.clone();
    a.hostaddr = t.hostaddr.clone();
    a.ssl_root_cert = t.ssl_root_cert.clone();
    a.tenant_column = t.tenant_column.clone();
    a.allow_writes = t.allow_writes.unwrap_or(false);
    a.confirm_destructive = t.confirm_destructive.unwrap_or(a.confirm_destructive);
    a.max_rows = t.max_rows.unwrap_or(a.max_rows);
    a.max_result_bytes = t.max_result_bytes.unwrap_or(a.max_result_bytes);
    a.statement_timeout = t.statement_timeout.unwrap_or(a.statement_timeout);
    a.max_retries = t.max_retries.unwrap_or(a.max_retries);
    a.pool_size = t.pool_size.unwrap_or(a.pool_size);
    a.token_expiry = t.token_expiry.unwrap_or(a.token_expiry);
    a.rules = t.rules.unwrap_or(a.rules);
    a.dsql_version = t.dsql_version.unwrap_or(a.dsql_version);
    let own_env = |name: &str| match name {
        "CLUSTER" | "AWS_REGION" => None,
        other => env(other),
    };
    let mut settings = Settings::from_args_and_env(&a, &own_env);
    settings.cluster = c.name.clone();
    settings
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::Cli;

    fn args(list: &[&str]) -> ServerArgs {
        let mut v = vec!["aurora-dsql-mcp-rs"];
        v.extend_from_slice(list);
        Cli::try_parse_from(v).expect("parse").server
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const TWO: &str = "[clusters.staging]\nendpoint = \"abc.dsql.us-east-1.on.aws\"\nuser = \"admin\"\n\
                       allow_writes = true\nmax_rows = 50\n\n[clusters.prod]\nendpoint = \"xyz.dsql.eu-west-1.on.aws\"\n\
                       user = \"reader\"\nprofile = \"prod\"\n";

    fn build(flags: &[&str], text: &str, env: target::EnvVars) -> Result<Clusters, String> {
        let file = file::read(std::path::Path::new("/t/dsql.toml"), text)?;
        Clusters::from_file(&args(flags), &file, env)
    }

    #[tokio::test]
    async fn each_file_cluster_has_its_own_settings_and_flags_give_the_defaults() {
        let c = build(&["--max-rows=7", "--rules=warn"], TWO, &no_env).expect("built");
        assert_eq!(c.names(), ["staging", "prod"]);
        assert!(c.requires_name() && c.default_env().is_none());
        assert_eq!(c.writable(), ["staging"]);
        let staging = c.select(Some("staging")).unwrap();
        let prod = c.select(Some("prod")).unwrap();
        assert_eq!((staging.settings.limits.max_rows, prod.settings.limits.max_rows), (50, 7));
        assert_eq!(prod.settings.rules, crate::sql::RulesMode::Warn);
        assert_eq!(prod.settings.profile.as_deref(), Some("prod"));
        assert_eq!(staging.settings.profile, None);
        assert!(!prod.settings.policy().allow_writes && staging.settings.policy().allow_writes);
        assert_eq!(identity(&prod.settings), json!({"name": "prod", "region": "eu-west-1", "role": "reader"}));
        assert_eq!(identity_line(&staging.settings), "Cluster: staging (region us-east-1, role admin, read-write)");
        // Nothing is shared but the stop token.
        assert!(!Arc::ptr_eq(staging, prod));
        c.stopping.cancel();
        assert!(staging.stopping.is_cancelled() && prod.stopping.is_cancelled());
    }

    #[test]
    fn a_call_without_cluster_is_refused_naming_the_clusters_when_there_is_no_default() {
        let c = build(&[], TWO, &no_env).unwrap();
        let e = c.select(None).err().unwrap();
        assert!(e.contains("`staging`, `prod`") && e.contains("`cluster`"), "{e}");
        let e = c.select(Some("qa")).err().unwrap();
        assert!(e.contains("\"qa\"") && e.contains("`staging`, `prod`"), "{e}");
        let with_default = build(&[], &format!("default = \"prod\"\n{TWO}"), &no_env).unwrap();
        assert_eq!(with_default.select(None).unwrap().settings.cluster, "prod");
    }

    #[test]
    fn database_flags_define_the_default_cluster_beside_the_file() {
        let c = build(&["--local=/tmp/sb", "--allow-writes"], TWO, &no_env).unwrap();
        assert_eq!(c.names(), ["default", "staging", "prod"]);
        assert_eq!(c.select(None).unwrap().settings.cluster, "default");
        assert!(c.select(None).unwrap().settings.allow_writes);
        let e = build(&["--local=/tmp/sb"], "[clusters.x]\nlocal = \"/tmp/sb\"\n", &no_env).err().unwrap();
        assert!(e.contains("line 1") && e.contains("one sandbox serves one cluster"), "{e}");
        let e = build(&["--local=/tmp/sb"], "[clusters.default]\nlocal = \"x\"\n", &no_env).err().unwrap();
        assert!(e.contains("line 1") && e.contains("--local") && e.contains("already define"), "{e}");
    }

    #[test]
    fn per_cluster_flags_without_a_database_flag_are_refused() {
        for (flags, named) in [
            (&["--allow-writes"][..], "--allow-writes"),
            (&["--profile=p"][..], "--profile"),
            (&["--tenant-column=t"][..], "--tenant-column"),
        ] {
            let e = build(flags, TWO, &no_env).err().unwrap();
            assert!(e.contains(named) && e.contains("[clusters.NAME]"), "{e}");
        }
        // The same value from the environment is not a choice made for this server.
        let env = |k: &str| (k == "AWS_PROFILE").then(|| "p".to_string());
        let c = build(&["--profile=p"], TWO, &env).expect("AWS_PROFILE from the shell is fine");
        assert_eq!(c.select(Some("staging")).unwrap().settings.profile, None);
    }

    #[test]
    fn the_environment_does_not_leak_into_file_clusters() {
        let env = |k: &str| match k {
            "AWS_REGION" => Some("ap-south-1".to_string()),
            "CLUSTER" => Some("zzz".to_string()),
            _ => None,
        };
        let c = build(&[], TWO, &env).unwrap();
        assert_eq!(c.select(Some("staging")).unwrap().settings.target.region(), Some("us-east-1"));
        assert_eq!(c.names(), ["staging", "prod"], "CLUSTER alone defines no flags' cluster here");
    }

    #[test]
    fn a_file_without_clusters_needs_database_flags() {
        let e = build(&[], "audit_log = \"a.jsonl\"\n", &no_env).err().unwrap();
        assert!(e.contains("defines no [clusters.NAME]"), "{e}");
        // The log is opened as the clusters are built: a real directory.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.jsonl");
        let file = format!("audit_log = {:?}\n", log.display().to_string());
        let c = build(&["--database-url=postgres://u@h/db"], &file, &no_env).unwrap();
        assert_eq!((c.names(), c.audit_log.clone()), (vec!["default"], Some(log.clone())));
        assert_eq!(c.primary().settings.audit_log.as_ref(), Some(&log), "the file's audit_log is every cluster's");
        assert!(c.primary().audit.is_some() && log.exists(), "opened (and created) at startup");
    }
}
