//! The command line, typed: every flag and environment variable clap reads, for the server and its `token` and
//! `call` subcommands. Closed choices are enums (clap lists the accepted values in its error); booleans take the
//! forms registries' clients write (`--allow-writes`, `--allow-writes=true`, `--allow-writes=false`). Flags keep
//! the Python server's spellings (`--cluster_endpoint`, `--database_user`) and accept the hyphenated forms too.
//! Nothing here decides anything: [`super::Settings`] does, once.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::sql::RulesMode;

const LONG_ABOUT: &str = "MCP server (stdio) for Amazon Aurora DSQL.\n\n\
Pick a database with one of:\n  \
--local                     a private PostgreSQL sandbox that behaves like DSQL (no AWS account needed)\n  \
--cluster_endpoint + --region + --database_user   an Aurora DSQL cluster (IAM auth, verified TLS)\n  \
--database-url URL          any PostgreSQL, made to answer like DSQL as --local does (creates schema sys on first\n                              use); with --rules off, plain PostgreSQL and nothing created\n\
With none, the documentation and dsql_lint tools still work.\n\
DSQL's rules follow its 2026-09-15 release (rule catalog revision 2026-11-28); --dsql-version replays older ones.\n\
Switches take --flag, --flag=true or --flag=false.\n\n\
The server speaks MCP on stdin/stdout; logs go to stderr. Configure it as a stdio server in your MCP client.\n\
With --http ADDR:PORT it serves MCP over streamable HTTP at /mcp instead (see the --http-* flags).";

/// The whole command line: a subcommand, or none to serve MCP on stdio with the server's flags.
#[derive(Debug, Parser)]
#[command(name = "aurora-dsql-mcp-rs", version, about = "MCP server for Amazon Aurora DSQL", long_about = LONG_ABOUT)]
pub struct Cli {
    /// `token` or `call`; `None` serves MCP.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The server's flags (used when no subcommand is given).
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an IAM authentication token (like `aws dsql generate-db-connect-auth-token`), e.g. to open psql with the
    /// credentials this server uses: PGPASSWORD=$(aurora-dsql-mcp-rs token ...) psql ...
    Token(TokenArgs),
    /// Run one tool and print its result, through the same MCP request path a client uses, e.g.
    /// `aurora-dsql-mcp-rs call readonly_query '{"sql":"SELECT 1"}' --local`. Exit status 1 on a tool error
    Call(Box<CallArgs>),
}

/// A boolean switch as registries' clients write it: bare `--flag` (true), `--flag=true` or `--flag=false` (any
/// case). The `=` is required, so a positional argument after a bare switch is never taken as its value.
fn switch() -> impl TypedValueParser<Value = bool> {
    PossibleValuesParser::new(["true", "false"]).map(|v| v.eq_ignore_ascii_case("true"))
}

/// Flags of `token`.
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
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = switch(), ignore_case = true, value_name = "BOOL")]
    pub admin: bool,
    /// Token lifetime in seconds
    #[arg(long = "expires-in", default_value_t = 900)]
    pub expires_in: u64,
    /// AWS shared-config profile for credentials
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// TOML file of named clusters, as the server's --config: the token is for one of its DSQL clusters (its
    /// endpoint, region, user and profile)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The cluster of --config to sign for (default: the file's `default`, or its only cluster)
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

/// Flags of `call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Tool to run, e.g. readonly_query, get_schema, transact, dsql_lint, dsql_search_documentation
    #[arg(value_name = "TOOL")]
    pub tool: String,

    /// The tool's arguments as one JSON object, e.g. '{"sql":"SELECT 1"}' (default: {})
    #[arg(value_name = "JSON")]
    pub arguments: Option<String>,

    /// Print the whole MCP result object (content, structuredContent, isError) as JSON instead of its text
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_parser = switch(), ignore_case = true, value_name = "BOOL")]
    pub json: bool,

    /// The server flags the tool runs under, as when serving.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `--confirm-destructive`: what happens before a statement that destroys data or schema runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfirmDestructive {
    /// Ask the user through the client; run with a warning when the client cannot ask.
    Ask,
    /// Ask the user through the client; refuse when the client cannot ask.
    Refuse,
    /// Never ask.
    Allow,
}

/// `--rules`: the values are [`RulesMode`]'s own spellings (its `Display`), so the flag and the checks agree.
impl ValueEnum for RulesMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[RulesMode::Enforce, RulesMode::Warn, RulesMode::Off]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            RulesMode::Enforce => "enforce",
            RulesMode::Warn => "warn",
            RulesMode::Off => "off",
        }))
    }
}

/// Flags of the server (and of `call`, which runs a tool as the server would).
#[derive(Debug, Args, Clone)]
pub struct ServerArgs {
    /// Aurora DSQL cluster endpoint, e.g. abc123.dsql.us-east-1.on.aws
    /// [env: CLUSTER_ENDPOINT, or CLUSTER with a cluster id or endpoint]
    #[arg(long = "cluster_endpoint", visible_alias = "cluster-endpoint", env = "CLUSTER_ENDPOINT")]
    pub cluster_endpoint: Option<String>,

    /// AWS region of the cluster [env: REGION, then AWS_REGION]; inferred from a `*.dsql.<region>.on.aws` endpoint
    #[arg(long, env = "REGION")]
    pub region: Option<String>,

    /// Database role to connect as; `admin` uses a DbConnectAdmin token, others DbConnect
    #[arg(long = "database_user", visible_alias = "database-user", env = "DATABASE_USER")]
    pub database_user: Option<String>,

    /// AWS shared-config profile used for credentials
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Allow writes (DML and DDL through `transact`). Without it every statement runs in a READ ONLY transaction
    #[arg(long = "allow-writes", visible_alias = "allow_writes", action = ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true", value_parser = switch(),
          ignore_case = true, value_name = "BOOL")]
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
    #[arg(long, value_enum, default_value_t = RulesMode::Enforce)]
    pub rules: RulesMode,

    /// In write mode, before a statement that destroys data or schema (DROP TABLE/INDEX/VIEW/SCHEMA/SEQUENCE, DROP
    /// COLUMN/CONSTRAINT, RENAME of a table, TRUNCATE, DELETE or UPDATE with no WHERE): ask = ask the user through
    /// the client (form elicitation) and run only if they agree, and run with a warning when the client cannot ask;
    /// refuse = like ask, but refuse what cannot be confirmed; allow = never ask
    #[arg(long = "confirm-destructive", value_enum, default_value_t = ConfirmDestructive::Ask,
          env = "AURORA_DSQL_CONFIRM_DESTRUCTIVE")]
    pub confirm_destructive: ConfirmDestructive,

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

    // --- Audit log (issue 28 §3) ---
    /// Append one JSON line per tool call to this file (created with mode 0600; refused if others may read it):
    /// time, tool, cluster, role, each statement's SHA-256 and text with its values taken out, outcome, attempts,
    /// rows, duration and the confirmation decision. Never bound values or credentials. Format: docs/audit-log.md
    /// [env: AURORA_DSQL_AUDIT_LOG]
    #[arg(long = "audit-log", value_name = "FILE", env = "AURORA_DSQL_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// With --audit-log: after a line could not be written, refuse tool calls until one can be (fail closed)
    #[arg(long = "audit-required", action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = switch(), ignore_case = true,
          value_name = "BOOL")]
    pub audit_required: bool,

    // --- Named clusters (issue 28 §1) ---
    /// TOML file naming several clusters ([clusters.NAME] tables, each with endpoint, database_url or local, and
    /// its own settings); database flags, if given too, define the cluster `default` beside them
    /// [env: AURORA_DSQL_CONFIG]
    #[arg(long, value_name = "FILE", env = "AURORA_DSQL_CONFIG")]
    pub config: Option<PathBuf>,

    // ---- Streamable HTTP (`--http`, issue 28 §2; read by `http::Options`) ----
    /// Serve MCP over streamable HTTP at http://ADDR:PORT/mcp instead of stdin/stdout (e.g. 127.0.0.1:8080; port 0
    /// picks a free one). A non-loopback address needs --http-token-file (or AURORA_DSQL_MCP_HTTP_TOKEN) or
    /// --http-oauth-issuer [env: AURORA_DSQL_MCP_HTTP]
    #[arg(long = "http", value_name = "ADDR:PORT", env = "AURORA_DSQL_MCP_HTTP")]
    pub http: Option<String>,

    /// File holding the bearer token every HTTP request must carry (`Authorization: Bearer <token>`): at least 32
    /// characters, not readable by group or others. Or set AURORA_DSQL_MCP_HTTP_TOKEN
    #[arg(long = "http-token-file", value_name = "FILE")]
    pub http_token_file: Option<PathBuf>,

    /// Host names (or host:port) clients may use in the Host header, comma-separated, besides the loopback names
    /// allowed on a loopback address; `*` allows any (only behind a proxy that checks Host)
    #[arg(long = "http-allowed-hosts", value_name = "HOSTS", value_delimiter = ',')]
    pub http_allowed_hosts: Vec<String>,

    /// Browser origins (scheme://host[:port|:*]) allowed to call the endpoint, comma-separated, besides loopback
    /// origins on a loopback address; requests with another Origin get 403 (requests without one pass)
    #[arg(long = "http-allowed-origins", value_name = "ORIGINS", value_delimiter = ',')]
    pub http_allowed_origins: Vec<String>,

    /// Largest HTTP request body accepted, in bytes (larger: 413)
    #[arg(long = "http-max-body-bytes", value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub http_max_body_bytes: usize,

    /// HTTP requests served at once; more get 503 with Retry-After
    #[arg(long = "http-max-concurrent", value_name = "N", default_value_t = 32)]
    pub http_max_concurrent: usize,

    /// OAuth 2.0 authorization server (its issuer URL) whose JWT access tokens are accepted; published in the
    /// protected resource metadata (RFC 9728) at /.well-known/oauth-protected-resource
    #[arg(long = "http-oauth-issuer", value_name = "URL")]
    pub http_oauth_issuer: Option<String>,

    /// The endpoint's public URL as clients reach it (e.g. `https://mcp.example.com/mcp` behind a proxy): the resource
    /// named in the metadata and the audience JWTs must carry. Default: http://ADDR:PORT/mcp
    #[arg(long = "http-resource-url", value_name = "URL")]
    pub http_resource_url: Option<String>,

    /// Another audience accepted in JWTs besides the resource URL (an authorization server's API identifier)
    #[arg(long = "http-oauth-audience", value_name = "AUD")]
    pub http_oauth_audience: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Cli, clap::Error> {
        let mut v = vec!["aurora-dsql-mcp-rs"];
        v.extend_from_slice(list);
        Cli::try_parse_from(v)
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// README's flag table (and the subcommands' lines) name every flag and every environment variable clap reads.
    #[test]
    fn readme_documents_every_flag_and_environment_variable() {
        use clap::CommandFactory;
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
        let root = Cli::command();
        let commands = std::iter::once(&root).chain(root.get_subcommands());
        for arg in commands.flat_map(|c| c.get_arguments()) {
            if let Some(long) = arg.get_long().filter(|l| !["help", "version"].contains(l)) {
                let spellings: Vec<String> = std::iter::once(long)
                    .chain(arg.get_visible_aliases().into_iter().flatten())
                    .map(|l| format!("`--{l}"))
                    .collect();
                assert!(spellings.iter().any(|s| readme.contains(s.as_str())), "README lacks {spellings:?}");
            }
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy();
                assert!(readme.contains(&format!("`{env}`")), "README lacks the environment variable {env}");
            }
        }
        for env in super::super::target::ENV_READ {
            let named = readme.contains(&format!("`{env}`")) || readme.contains(&format!("`${env}`"));
            assert!(named, "README lacks the environment variable {env}");
        }
    }

    #[test]
    fn switches_take_the_bare_and_the_explicit_forms() {
        for (given, expected) in [
            (&[][..], false),
            (&["--allow-writes"][..], true),
            (&["--allow-writes=true"][..], true),
            (&["--allow-writes=false"][..], false),
            (&["--allow-writes=True"][..], true),
            (&["--allow_writes=FALSE"][..], false),
        ] {
            assert_eq!(parse(given).expect("parse").server.allow_writes, expected, "{given:?}");
        }
        let token = parse(&["token", "--admin=true"]).expect("parse");
        assert!(matches!(token.command, Some(Command::Token(TokenArgs { admin: true, .. }))));
        let call = parse(&["call", "dsql_lint", "--json=false"]).expect("parse");
        assert!(matches!(call.command, Some(Command::Call(c)) if !c.json));
        // A bare switch never takes the next word as its value: `call TOOL --json '{…}'` keeps the JSON.
        let call = parse(&["call", "dsql_lint", "--json", "{}"]).expect("parse");
        assert!(matches!(call.command, Some(Command::Call(c)) if c.json && c.arguments.as_deref() == Some("{}")));
    }

    #[test]
    fn bad_values_name_the_flag_and_the_accepted_values() {
        for (given, flag, values) in [
            ("--allow-writes=yes", "--allow-writes", "true, false"),
            ("--rules=strict", "--rules", "enforce, warn, off"),
            ("--confirm-destructive=maybe", "--confirm-destructive", "ask, refuse, allow"),
        ] {
            let err = parse(&[given]).expect_err(given).to_string();
            assert!(err.contains(flag) && err.contains(values), "{given}: {err}");
        }
    }

    #[test]
    fn closed_choices_parse_to_their_enums() {
        let a = parse(&["--rules", "warn", "--confirm-destructive", "refuse"]).expect("parse").server;
        assert_eq!((a.rules, a.confirm_destructive), (RulesMode::Warn, ConfirmDestructive::Refuse));
        let d = parse(&[]).expect("parse").server;
        assert_eq!((d.rules, d.confirm_destructive), (RulesMode::Enforce, ConfirmDestructive::Ask));
        // The flag's spellings are the checks' own.
        for mode in RulesMode::value_variants() {
            assert_eq!(mode.to_possible_value().unwrap().get_name(), mode.to_string());
        }
    }
}
