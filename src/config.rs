//! Command-line flags and environment variables, and the one decision made from them: which database (if any) the
//! server talks to. Flags keep the Python server's spellings (`--cluster_endpoint`, `--database_user`) and accept the
//! hyphenated forms too.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// What the server is connected to, decided once at startup.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A private PostgreSQL started by this server in `dir`, made to answer like DSQL.
    Local { dir: PathBuf },
    /// Any PostgreSQL reachable with a connection URL.
    Url { url: String },
    /// An Aurora DSQL cluster, reached with IAM tokens over verified TLS.
    Dsql(DsqlTarget),
    /// No database: the documentation and lint tools work, the database tools explain what is missing.
    Unconfigured { missing: Vec<Missing> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DsqlTarget {
    pub endpoint: String,
    pub region: String,
    pub user: String,
}

/// One missing setting and how a user supplies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub setting: &'static str,
    pub how: &'static str,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.setting, self.how)
    }
}

const LONG_ABOUT: &str = "MCP server (stdio) for Amazon Aurora DSQL.\n\n\
Pick a database with one of:\n  \
--local                     a private PostgreSQL sandbox that behaves like DSQL (no AWS account needed)\n  \
--cluster_endpoint + --region + --database_user   an Aurora DSQL cluster (IAM auth, verified TLS)\n  \
--database-url URL          any PostgreSQL, made to answer like DSQL as --local does (creates schema sys on first\n                              use); with --rules off, plain PostgreSQL and nothing created\n\
With none, the documentation and dsql_lint tools still work.\n\
DSQL's rules follow its 2026-09-15 release (rule catalog revision 2026-11-28); --dsql-version replays older ones.\n\n\
The server speaks MCP on stdin/stdout; logs go to stderr. Configure it as a stdio server in your MCP client.";

#[derive(Debug, Parser)]
#[command(name = "aurora-dsql-mcp-rs", version, about = "MCP server for Amazon Aurora DSQL", long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an IAM authentication token (like `aws dsql generate-db-connect-auth-token`), e.g. to open psql with the
    /// credentials this server uses: PGPASSWORD=$(aurora-dsql-mcp-rs token ...) psql ...
    Token(TokenArgs),
    /// Run one tool and print its result, through the same MCP request path a client uses, e.g.
    /// `aurora-dsql-mcp-rs call readonly_query '{"sql":"SELECT 1"}' --local`. Exit status 1 on a tool error
    Call(Box<crate::cli::call::CallArgs>),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Cluster endpoint, e.g. abc123.dsql.us-east-1.on.aws [env: CLUSTER_ENDPOINT, or CLUSTER (id or endpoint)]
    #[arg(long = "cluster-endpoint", visible_alias = "cluster_endpoint", env = "CLUSTER_ENDPOINT")]
    pub cluster_endpoint: Option<String>,
    /// AWS region of the cluster [env: REGION, AWS_REGION]; inferred from the endpoint when omitted
    #[arg(long, env = "REGION")]
    pub region: Option<String>,
    /// Database role the token is for; `admin` gets a DbConnectAdmin token
    #[arg(long = "database-user", visible_alias = "database_user", env = "DATABASE_USER")]
    pub database_user: Option<String>,
    /// Shorthand for --database-user admin
    #[arg(long, conflicts_with = "database_user")]
    pub admin: bool,
    /// Token lifetime in seconds
    #[arg(long = "expires-in", default_value_t = 900)]
    pub expires_in: u64,
    /// AWS shared-config profile for credentials
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ServerArgs {
    /// Aurora DSQL cluster endpoint, e.g. abc123.dsql.us-east-1.on.aws
    /// [env: CLUSTER_ENDPOINT, or CLUSTER with a cluster id or endpoint]
    #[arg(long = "cluster_endpoint", visible_alias = "cluster-endpoint", env = "CLUSTER_ENDPOINT")]
    pub cluster_endpoint: Option<String>,

    /// AWS region of the cluster [env: REGION, then AWS_REGION]; inferred from a *.dsql.<region>.on.aws endpoint
    #[arg(long, env = "REGION")]
    pub region: Option<String>,

    /// Database role to connect as; `admin` uses a DbConnectAdmin token, others DbConnect
    #[arg(long = "database_user", visible_alias = "database-user", env = "DATABASE_USER")]
    pub database_user: Option<String>,

    /// AWS shared-config profile used for credentials
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Allow writes (DML and DDL through `transact`). Without it every statement runs in a READ ONLY transaction
    #[arg(long = "allow-writes", visible_alias = "allow_writes")]
    pub allow_writes: bool,

    /// Run against a private local PostgreSQL sandbox that behaves like DSQL, kept in DIR
    /// (default: $XDG_DATA_HOME or ~/.local/share, under aurora-dsql-mcp-server/local) [env: AURORA_DSQL_LOCAL_DIR]
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "", require_equals = true)]
    pub local: Option<String>,

    /// Connect to any PostgreSQL with a URL (postgres://user:pass@host:port/db?sslmode=require), made to answer like
    /// DSQL as --local does: schema sys is created there on first use; with --rules off it is plain PostgreSQL and
    /// nothing is created [env: AURORA_DSQL_DATABASE_URL]
    #[arg(long = "database-url", env = "AURORA_DSQL_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Maximum rows a tool returns; more rows set `truncated: true`
    #[arg(long = "max-rows", default_value_t = 1000, env = "AURORA_DSQL_MAX_ROWS")]
    pub max_rows: usize,

    /// Maximum bytes of rows a tool returns, counted as the answer carries them (JSON, twice: structured and
    /// text); rows stop at the first one that would pass it, with `truncated: true`
    #[arg(long = "max-result-bytes", default_value_t = 1 << 20, env = "AURORA_DSQL_MAX_RESULT_BYTES")]
    pub max_result_bytes: usize,

    /// Seconds a tool call may run in the database, retries included, before it is cancelled (a cancel request is
    /// sent)
    #[arg(long = "statement-timeout", default_value_t = 30, env = "AURORA_DSQL_STATEMENT_TIMEOUT")]
    pub statement_timeout: u64,

    /// How many times a transaction that hit an optimistic-concurrency conflict (40001, OC000/OC001) is run again,
    /// with jittered exponential backoff (20 ms doubling, capped at 2 s), within the call's time budget
    #[arg(long = "max-retries", default_value_t = 5, env = "AURORA_DSQL_MAX_RETRIES")]
    pub max_retries: u32,

    /// Lifetime of IAM auth tokens in seconds (DSQL mode)
    #[arg(long = "token-expiry", default_value_t = 900)]
    pub token_expiry: u64,

    /// PEM file of root certificates to verify the cluster with (default: the Amazon roots built in)
    #[arg(long = "ssl-root-cert", value_name = "FILE")]
    pub ssl_root_cert: Option<PathBuf>,

    /// Connect to this address instead of resolving the endpoint, still verifying TLS and signing for the endpoint
    /// name (VPC endpoints, tunnels)
    #[arg(long)]
    pub hostaddr: Option<String>,

    /// Maximum number of pooled database connections
    #[arg(long = "pool-size", default_value_t = 4)]
    pub pool_size: usize,

    /// How DSQL rule violations are handled before a statement is sent: enforce (refuse), warn, off (with
    /// --database-url, off also means plain PostgreSQL: no DSQL emulation, nothing created)
    #[arg(long, default_value = "enforce", value_parser = ["enforce", "warn", "off"])]
    pub rules: String,

    /// In write mode, before a statement that destroys data or schema (DROP TABLE/INDEX/VIEW/SCHEMA/SEQUENCE, DROP
    /// COLUMN/CONSTRAINT, RENAME of a table, TRUNCATE, DELETE or UPDATE with no WHERE): ask = ask the user through
    /// the client (form elicitation) and run only if they agree, and run with a warning when the client cannot ask;
    /// refuse = like ask, but refuse what cannot be confirmed; allow = never ask
    #[arg(long = "confirm-destructive", default_value = "ask", value_parser = ["ask", "refuse", "allow"],
          env = "AURORA_DSQL_CONFIRM_DESTRUCTIVE")]
    pub confirm_destructive: String,

    /// Require statements on tables having this column to constrain it (multi-tenant isolation)
    #[arg(long = "tenant-column", value_name = "NAME")]
    pub tenant_column: Option<String>,

    /// Apply DSQL's rules as of this date (YYYY-MM-DD): features DSQL added later are refused as it refused them
    /// then. Default: the newest behaviour known
    #[arg(long = "dsql-version", value_name = "YYYY-MM-DD", env = "AURORA_DSQL_VERSION", default_value = crate::sql::NEWEST_KNOWN)]
    pub dsql_version: crate::sql::DsqlVersion,

    /// Remote documentation server (the Python server's knowledge endpoint); off by default: docs are served offline
    #[arg(long = "knowledge-server", value_name = "URL")]
    pub knowledge_server: Option<String>,

    /// Timeout in seconds for the knowledge server
    #[arg(long = "knowledge-timeout", default_value_t = 30.0)]
    pub knowledge_timeout: f64,
}

impl ServerArgs {
    pub fn statement_timeout(&self) -> Duration {
        Duration::from_secs(self.statement_timeout.max(1))
    }

    /// Decide the database target from flags and environment. Never fails: what cannot be decided is reported as
    /// missing settings, so the server still starts and the database tools can say what to fix.
    pub fn target(&self) -> Target {
        self.target_with_env(&|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Where migration rehearsals find the local sandbox: the `--local` directory in local mode, otherwise
    /// `AURORA_DSQL_LOCAL_DIR` or the default local directory (a scratch database is made there per rehearsal).
    pub fn rehearsal_dir(&self) -> PathBuf {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        match self.target_with_env(&env) {
            Target::Local { dir } => dir,
            _ => env("AURORA_DSQL_LOCAL_DIR").map(PathBuf::from).unwrap_or_else(|| default_local_dir(&env)),
        }
    }

    pub fn target_with_env(&self, env: &dyn Fn(&str) -> Option<String>) -> Target {
        if let Some(dir) = &self.local {
            let dir = if dir.is_empty() {
                env("AURORA_DSQL_LOCAL_DIR").map(PathBuf::from).unwrap_or_else(|| default_local_dir(env))
            } else {
                PathBuf::from(dir)
            };
            return Target::Local { dir };
        }
        if let Some(url) = &self.database_url {
            return Target::Url { url: url.clone() };
        }
        let region = self.region.clone().or_else(|| env("AWS_REGION"));
        let endpoint = self.cluster_endpoint.clone().or_else(|| {
            env("CLUSTER").map(|c| {
                if c.contains('.') {
                    c
                } else {
                    // A bare cluster id: expand with the region, if we have one.
                    match &region {
                        Some(r) => format!("{c}.dsql.{r}.on.aws"),
                        None => c,
                    }
                }
            })
        });
        let region = region.or_else(|| endpoint.as_deref().and_then(region_from_endpoint));
        let mut missing = Vec::new();
        match &endpoint {
            None => missing.push(Missing {
                setting: "cluster endpoint",
                how: "--cluster_endpoint <id>.dsql.<region>.on.aws, or env CLUSTER_ENDPOINT / CLUSTER",
            }),
            Some(e) if !e.contains('.') => missing.push(Missing {
                setting: "region (needed to expand the cluster id in CLUSTER)",
                how: "--region us-east-1, or env REGION / AWS_REGION",
            }),
            Some(_) => {}
        }
        if region.is_none() && endpoint.as_deref().is_some_and(|e| e.contains('.')) {
            missing.push(Missing { setting: "region", how: "--region us-east-1, or env REGION / AWS_REGION" });
        }
        if self.database_user.is_none() {
            missing.push(Missing { setting: "database user", how: "--database_user admin, or env DATABASE_USER" });
        }
        if missing.is_empty()
            && let (Some(endpoint), Some(region), Some(user)) = (endpoint, region, self.database_user.clone())
        {
            return Target::Dsql(DsqlTarget { endpoint, region, user });
        }
        if endpoint_is_absent(&missing) && self.database_user.is_none() && self.region.is_none() {
            // Nothing at all was configured: say so plainly, and offer local mode first.
            missing = vec![Missing {
                setting: "a database",
                how: "--local for a private DSQL-like sandbox, or --cluster_endpoint + --region + --database_user for \
                      Aurora DSQL, or --database-url for any PostgreSQL",
            }];
        }
        Target::Unconfigured { missing }
    }
}

fn endpoint_is_absent(missing: &[Missing]) -> bool {
    missing.iter().any(|m| m.setting == "cluster endpoint")
}

/// `abc.dsql.us-east-1.on.aws` → `us-east-1`.
pub fn region_from_endpoint(endpoint: &str) -> Option<String> {
    let host = endpoint.split(':').next()?;
    let parts: Vec<&str> = host.split('.').collect();
    let i = parts.iter().position(|p| *p == "dsql")?;
    let region = parts.get(i + 1)?;
    (!region.is_empty() && parts.get(i + 2) == Some(&"on")).then(|| region.to_string())
}

/// The user's data directory, as XDG says; root gets a system directory the `postgres` user can reach
/// (PostgreSQL refuses to run as root, and /root is private).
fn default_local_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if crate::emulation::sandbox::running_as_root() {
        return PathBuf::from("/var/lib/aurora-dsql-mcp-server/local");
    }
    let base = env("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| {
        let home = env("HOME").unwrap_or_else(|| ".".into());
        if cfg!(target_os = "macos") {
            PathBuf::from(home).join("Library/Application Support")
        } else {
            PathBuf::from(home).join(".local/share")
        }
    });
    base.join("aurora-dsql-mcp-server").join("local")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> ServerArgs {
        let mut v = vec!["aurora-dsql-mcp-server"];
        v.extend_from_slice(list);
        Cli::try_parse_from(v).expect("parse").server
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn python_spellings_and_hyphenated_aliases_both_parse() {
        let a = args(&["--cluster_endpoint", "abc.dsql.us-east-1.on.aws", "--database_user", "admin"]);
        let b = args(&["--cluster-endpoint", "abc.dsql.us-east-1.on.aws", "--database-user", "admin"]);
        assert_eq!(a.target_with_env(&no_env), b.target_with_env(&no_env));
        match a.target_with_env(&no_env) {
            Target::Dsql(t) => assert_eq!(t.region, "us-east-1", "region inferred from the endpoint"),
            other => panic!("expected DSQL target, got {other:?}"),
        }
    }

    #[test]
    fn cluster_id_in_env_expands_with_region() {
        let a = args(&["--database_user", "app"]);
        let env = |k: &str| match k {
            "CLUSTER" => Some("abcdef".to_string()),
            "AWS_REGION" => Some("eu-west-1".to_string()),
            _ => None,
        };
        match a.target_with_env(&env) {
            Target::Dsql(t) => assert_eq!(t.endpoint, "abcdef.dsql.eu-west-1.on.aws"),
            other => panic!("expected DSQL target, got {other:?}"),
        }
    }

    #[test]
    fn partial_configuration_names_each_missing_setting() {
        let a = args(&["--cluster_endpoint", "10.0.0.1"]);
        match a.target_with_env(&no_env) {
            Target::Unconfigured { missing } => {
                let names: Vec<_> = missing.iter().map(|m| m.setting).collect();
                assert_eq!(names, vec!["region", "database user"]);
            }
            other => panic!("expected unconfigured, got {other:?}"),
        }
    }

    #[test]
    fn nothing_configured_suggests_local_mode() {
        match args(&[]).target_with_env(&no_env) {
            Target::Unconfigured { missing } => assert!(missing[0].how.contains("--local")),
            other => panic!("expected unconfigured, got {other:?}"),
        }
    }

    #[test]
    fn local_flag_with_and_without_dir() {
        assert_eq!(args(&["--local=/tmp/x"]).target_with_env(&no_env), Target::Local { dir: "/tmp/x".into() });
        assert!(matches!(args(&["--local"]).target_with_env(&no_env), Target::Local { .. }));
    }

    #[test]
    fn region_inference() {
        assert_eq!(region_from_endpoint("x.dsql.ap-northeast-1.on.aws").as_deref(), Some("ap-northeast-1"));
        assert_eq!(region_from_endpoint("localhost"), None);
    }
}
