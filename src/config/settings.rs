//! `Settings`: every decision the flags and the environment make, taken once at startup. Each derived decision has
//! one constructor here (the database target, the result limits, the check policy, whether `--database-url` is
//! made to answer like DSQL, whether writes are looked at before COMMIT), so a flag's meaning is read in one place
//! and the rest of the crate reads the decision.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{ConfirmDestructive, ServerArgs};
use super::target::{self, EnvVars, Target};
use crate::exec::Limits;
use crate::sql::{self, DsqlVersion, RulesMode};

/// The name of the cluster today's flags define.
pub const DEFAULT_CLUSTER: &str = "default";

/// What the tools need to know about how the server was started.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The cluster's name: `default` for the one the flags define (named clusters come from `--config`).
    pub cluster: String,
    /// `--allow-writes`.
    pub allow_writes: bool,
    /// Result and time bounds of every call (`--max-rows`, `--max-result-bytes`, `--statement-timeout`,
    /// `--max-retries`), clamped to workable minimums.
    pub limits: Limits,
    /// `--rules`.
    pub rules: RulesMode,
    /// `--tenant-column`.
    pub tenant_column: Option<String>,
    /// `--confirm-destructive`: ask, refuse or allow.
    pub confirm_destructive: ConfirmDestructive,
    /// `--dsql-version`.
    pub dsql_version: DsqlVersion,
    /// `--pool-size`: database connections kept open at most.
    pub pool_size: usize,
    /// The database this process talks to, or what is missing to reach one.
    pub target: Target,
    /// IAM token lifetime in seconds (`--token-expiry`).
    pub token_expiry: u64,
    /// `--profile`: the AWS shared-config profile credentials come from (default chain when `None`).
    pub profile: Option<String>,
    /// `--hostaddr`: the address connected to instead of the endpoint (TLS and token still use the endpoint).
    pub hostaddr: Option<String>,
    /// `--ssl-root-cert`: a PEM bundle to verify the cluster with instead of the built-in Amazon roots.
    pub ssl_root_cert: Option<PathBuf>,
    /// The local sandbox directory migration rehearsals use.
    pub rehearsal_dir: PathBuf,
    /// `--knowledge-server` and `--knowledge-timeout`, when a remote documentation server is asked for.
    pub knowledge: Option<Knowledge>,
    /// `--audit-log`: the file every tool call is recorded in (one JSON line each), when one is asked for. The
    /// config file's `audit_log` key sets the same.
    pub audit_log: Option<PathBuf>,
    /// `--audit-required`: refuse tool calls while the audit log cannot be written.
    pub audit_required: bool,
    /// The checks' policy, made from the fields above once (see [`Settings::policy`]).
    policy: sql::Policy,
}

/// Where the remote documentation server is and how long to wait for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Knowledge {
    /// The remote server's URL (`--knowledge-server`).
    pub url: String,
    /// How long one request may take (`--knowledge-timeout`); `Duration::MAX` for no limit.
    pub timeout: Duration,
}

impl Settings {
    /// The settings for these flags and the process's environment.
    pub fn from_args(args: &ServerArgs) -> Settings {
        Settings::from_args_and_env(args, &target::process_env)
    }

    /// The settings for these flags and an environment (tests give their own).
    pub fn from_args_and_env(args: &ServerArgs, env: EnvVars) -> Settings {
        let target = target::target(args, env);
        let rehearsal_dir = target::rehearsal_dir(&target, env);
        let policy = sql::Policy {
            allow_writes: args.allow_writes,
            rules: args.rules,
            tenant_column: args.tenant_column.clone(),
            dsql_version: args.dsql_version,
        };
        Settings {
            cluster: DEFAULT_CLUSTER.to_string(),
            allow_writes: args.allow_writes,
            limits: Limits {
                max_rows: args.max_rows.max(1),
                max_bytes: args.max_result_bytes.max(1024),
                timeout: Duration::from_secs(args.statement_timeout.max(1)),
                max_retries: args.max_retries,
            },
            rules: args.rules,
            tenant_column: args.tenant_column.clone(),
            confirm_destructive: args.confirm_destructive,
            dsql_version: args.dsql_version,
            pool_size: args.pool_size,
            target,
            token_expiry: args.token_expiry,
            profile: args.profile.clone(),
            hostaddr: args.hostaddr.clone(),
            ssl_root_cert: args.ssl_root_cert.clone(),
            rehearsal_dir,
            knowledge: args.knowledge_server.clone().map(|url| Knowledge {
                url,
                // Negative counts as 0 (refused by the knowledge client with its own message); too large or
                // infinite as no limit.
                timeout: Duration::try_from_secs_f64(args.knowledge_timeout.max(0.0)).unwrap_or(Duration::MAX),
            }),
            audit_log: args.audit_log.clone(),
            audit_required: args.audit_required,
            policy,
        }
    }

    /// The policy every tool's statements are checked with: the server's, fixed for the process.
    pub fn policy(&self) -> &sql::Policy {
        &self.policy
    }

    /// Whether a `--database-url` database is made to answer like DSQL (schema `sys`, async jobs, DSQL's errors):
    /// always, except with `--rules off`, which means plain PostgreSQL.
    pub fn emulates_dsql(&self) -> bool {
        self.rules != RulesMode::Off
    }

    /// Whether calls that need a look are looked at before COMMIT: in write mode, unless
    /// `--confirm-destructive allow`.
    pub fn confirms_destructive(&self) -> bool {
        self.allow_writes && self.confirm_destructive != ConfirmDestructive::Allow
    }

    /// `read-write` or `read-only`, as the server reports its mode to users.
    pub fn mode_label(&self) -> &'static str {
        if self.allow_writes { "read-write" } else { "read-only" }
    }
}

#[cfg(test)]
mod tests {
    use clap::{Parser, ValueEnum};

    use super::super::args::Cli;
    use super::*;

    fn settings(list: &[&str]) -> Settings {
        let mut v = vec!["aurora-dsql-mcp-rs"];
        v.extend_from_slice(list);
        Settings::from_args_and_env(&Cli::try_parse_from(v).expect("parse").server, &|_| None)
    }

    #[test]
    fn the_policy_follows_every_rules_mode_and_writes_flag() {
        for writes in [None, Some("--allow-writes"), Some("--allow-writes=true"), Some("--allow-writes=false")] {
            for mode in RulesMode::value_variants() {
                let rules = format!("--rules={mode}");
                let mut flags = vec![rules.as_str()];
                flags.extend(writes);
                let s = settings(&flags);
                let allow_writes = matches!(writes, Some("--allow-writes" | "--allow-writes=true"));
                let expected = sql::Policy {
                    allow_writes,
                    rules: *mode,
                    tenant_column: None,
                    dsql_version: DsqlVersion::default(),
                };
                assert_eq!(s.policy(), &expected, "{flags:?}");
                assert_eq!((s.allow_writes, s.rules), (allow_writes, *mode), "{flags:?}");
                assert_eq!(s.mode_label(), if allow_writes { "read-write" } else { "read-only" });
                assert_eq!(s.emulates_dsql(), *mode != RulesMode::Off, "{flags:?}");
            }
        }
    }

    #[test]
    fn the_policy_carries_the_tenant_column_and_the_dsql_version() {
        let s = settings(&["--tenant-column", "tenant_id", "--dsql-version", "2026-08-25"]);
        let expected = sql::Policy {
            allow_writes: false,
            rules: RulesMode::Enforce,
            tenant_column: Some("tenant_id".into()),
            dsql_version: "2026-08-25".parse().unwrap(),
        };
        assert_eq!(s.policy(), &expected);
        assert!(s.dsql_version.is_pinned());
    }

    #[test]
    fn destructive_statements_are_looked_at_in_write_mode_unless_allowed() {
        for (flags, confirms) in [
            (&[][..], false),
            (&["--confirm-destructive=refuse"][..], false),
            (&["--allow-writes"][..], true),
            (&["--allow-writes", "--confirm-destructive=ask"][..], true),
            (&["--allow-writes", "--confirm-destructive=refuse"][..], true),
            (&["--allow-writes", "--confirm-destructive=allow"][..], false),
        ] {
            assert_eq!(settings(flags).confirms_destructive(), confirms, "{flags:?}");
        }
    }

    #[test]
    fn limits_have_floors() {
        let s = settings(&["--max-rows=0", "--max-result-bytes=10", "--statement-timeout=0", "--max-retries=2"]);
        assert_eq!(s.limits.max_rows, 1);
        assert_eq!(s.limits.max_bytes, 1024);
        assert_eq!(s.limits.timeout, Duration::from_secs(1));
        assert_eq!(s.limits.max_retries, 2);
        let d = settings(&[]);
        assert_eq!((d.limits.max_rows, d.limits.max_bytes, d.limits.timeout), (1000, 1 << 20, Duration::from_secs(30)));
    }

    #[test]
    fn knowledge_server_only_when_asked_and_its_timeout_never_panics() {
        assert_eq!(settings(&[]).knowledge, None);
        let k = settings(&["--knowledge-server", "https://example.com/mcp", "--knowledge-timeout", "2.5"]).knowledge;
        assert_eq!(k, Some(Knowledge { url: "https://example.com/mcp".into(), timeout: Duration::from_millis(2500) }));
        for (given, expected) in [("inf", Duration::MAX), ("-3", Duration::ZERO), ("NaN", Duration::ZERO)] {
            let timeout = format!("--knowledge-timeout={given}");
            let k = settings(&["--knowledge-server", "https://example.com/mcp", &timeout]).knowledge;
            assert_eq!(k.map(|k| k.timeout), Some(expected), "{given}");
        }
    }
}
