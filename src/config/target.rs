//! Which database the process talks to, decided from the flags and the environment: a local sandbox, a PostgreSQL
//! URL, an Aurora DSQL cluster, or none (with what is missing). The cluster's endpoint and region are resolved here
//! once, for the server and the `token` subcommand alike (`CLUSTER` ids expand with the region; the region is read
//! from a standard endpoint name as `auth::endpoint` reads it).

use std::path::PathBuf;

use super::args::{ServerArgs, TokenArgs};
use crate::auth::endpoint::region_in_endpoint;

/// The environment variables read here, besides those clap reads for flags (`--help` lists those): README names
/// every one.
pub const ENV_READ: &[&str] = &["CLUSTER", "AWS_REGION", "AURORA_DSQL_LOCAL_DIR", "XDG_DATA_HOME"];

/// Reads one environment variable; blank values count as unset.
pub type EnvVars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process's environment, blank values counting as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What the server is connected to, decided once at startup.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A private PostgreSQL started by this server in `dir`, made to answer like DSQL.
    Local {
        /// The sandbox's data directory (`--local DIR`, or the default under the user's data directory).
        dir: PathBuf,
    },
    /// Any PostgreSQL reachable with a connection URL.
    Url {
        /// `--database-url`, as given.
        url: String,
    },
    /// An Aurora DSQL cluster, reached with IAM tokens over verified TLS.
    Dsql(DsqlTarget),
    /// No database: the documentation and lint tools work, the database tools explain what is missing.
    Unconfigured {
        /// Each setting still needed, with how to supply it.
        missing: Vec<Missing>,
    },
}

impl Target {
    /// The database role calls run as, as far as the settings say: the DSQL user, the user of a `--database-url`
    /// (`None` when the URL names none and the driver's default applies), `admin` in the local sandbox.
    pub fn role(&self) -> Option<String> {
        match self {
            Target::Local { .. } => Some("admin".into()),
            Target::Url { url } => {
                url.parse::<tokio_postgres::Config>().ok().and_then(|c| c.get_user().map(str::to_string))
            }
            Target::Dsql(t) => Some(t.user.clone()),
            Target::Unconfigured { .. } => None,
        }
    }

    /// The AWS Region of a DSQL cluster; `None` for every other target.
    pub fn region(&self) -> Option<&str> {
        match self {
            Target::Dsql(t) => Some(&t.region),
            _ => None,
        }
    }
}

/// A fully resolved cluster: everything needed to sign a token and connect.
#[derive(Debug, Clone, PartialEq)]
pub struct DsqlTarget {
    /// The cluster's host name (`<id>.dsql.<region>.on.aws`, or a custom name).
    pub endpoint: String,
    /// The AWS region tokens are signed for.
    pub region: String,
    /// The database role to connect as (`--database_user`), e.g. `admin`.
    pub user: String,
}

/// One missing setting and how a user supplies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// What is missing, in words (`region`, `database user`).
    pub setting: &'static str,
    /// The flags or environment variables that supply it.
    pub how: &'static str,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.setting, self.how)
    }
}

const MISSING_ENDPOINT: Missing = Missing {
    setting: "cluster endpoint",
    how: "--cluster_endpoint <id>.dsql.<region>.on.aws, or env CLUSTER_ENDPOINT / CLUSTER",
};
const MISSING_REGION_FOR_ID: Missing = Missing {
    setting: "region (needed to expand the cluster id in CLUSTER)",
    how: "--region us-east-1, or env REGION / AWS_REGION",
};
const MISSING_REGION: Missing = Missing { setting: "region", how: "--region us-east-1, or env REGION / AWS_REGION" };
const MISSING_USER: Missing = Missing { setting: "database user", how: "--database_user admin, or env DATABASE_USER" };

/// A cluster's endpoint and region as far as flags and environment give them.
#[derive(Debug, Clone, PartialEq)]
struct Cluster {
    endpoint: Option<String>,
    region: Option<String>,
}

impl Cluster {
    /// `--cluster_endpoint` (or `CLUSTER_ENDPOINT`, read by clap), else `CLUSTER` (an id, expanded with the region,
    /// or an endpoint); `--region` (or `REGION`), else `AWS_REGION`, else the region in a standard endpoint name.
    fn resolve(endpoint: Option<&str>, region: Option<&str>, env: EnvVars) -> Cluster {
        let region = region.map(str::to_string).or_else(|| env("AWS_REGION"));
        let endpoint = endpoint.map(str::to_string).or_else(|| {
            env("CLUSTER").map(|c| match (&region, c.contains('.')) {
                // A bare cluster id: expand with the region, if we have one.
                (Some(r), false) => format!("{c}.dsql.{r}.on.aws"),
                _ => c,
            })
        });
        let region = region.or_else(|| endpoint.as_deref().and_then(region_in_endpoint));
        Cluster { endpoint, region }
    }

    /// What is missing to reach the cluster, user aside; empty when endpoint and region are known.
    fn missing(&self) -> Vec<Missing> {
        match (&self.endpoint, &self.region) {
            (None, _) => vec![MISSING_ENDPOINT],
            (Some(e), _) if !e.contains('.') => vec![MISSING_REGION_FOR_ID],
            (Some(_), None) => vec![MISSING_REGION],
            (Some(_), Some(_)) => Vec::new(),
        }
    }
}

/// Decide the database target. Never fails: what cannot be decided is reported as missing settings, so the server
/// still starts and the database tools can say what to fix.
pub fn target(args: &ServerArgs, env: EnvVars) -> Target {
    if let Some(dir) = &args.local {
        let dir = if dir.is_empty() { local_dir(env) } else { PathBuf::from(dir) };
        return Target::Local { dir };
    }
    if let Some(url) = &args.database_url {
        return Target::Url { url: url.clone() };
    }
    let cluster = Cluster::resolve(args.cluster_endpoint.as_deref(), args.region.as_deref(), env);
    let mut missing = cluster.missing();
    if args.database_user.is_none() {
        missing.push(MISSING_USER);
    }
    if let (true, Cluster { endpoint: Some(endpoint), region: Some(region) }, Some(user)) =
        (missing.is_empty(), cluster.clone(), args.database_user.clone())
    {
        return Target::Dsql(DsqlTarget { endpoint, region, user });
    }
    if cluster.endpoint.is_none() && args.database_user.is_none() && args.region.is_none() {
        // Nothing at all was configured: say so plainly, and offer local mode first.
        missing = vec![Missing {
            setting: "a database",
            how: "--local for a private DSQL-like sandbox, or --cluster_endpoint + --region + --database_user for \
                  Aurora DSQL, or --database-url for any PostgreSQL",
        }];
    }
    Target::Unconfigured { missing }
}

/// What `token` signs for: the same endpoint and region the server would use with these flags.
pub fn token_command(args: &TokenArgs, env: EnvVars) -> Result<crate::auth::TokenCommand, Vec<Missing>> {
    let cluster = Cluster::resolve(args.cluster_endpoint.as_deref(), args.region.as_deref(), env);
    let missing = cluster.missing();
    match cluster {
        Cluster { endpoint: Some(endpoint), region: Some(region) } if missing.is_empty() => {
            Ok(crate::auth::TokenCommand {
                endpoint,
                region,
                user: args.database_user.clone(),
                admin: args.admin,
                expires_in: args.expires_in,
                profile: args.profile.clone(),
            })
        }
        _ => Err(missing),
    }
}

/// What `token --config FILE [--cluster NAME]` signs for: that cluster's endpoint, Region, `user` and `profile` from
/// its table (the profile strictly, as the server uses it; without one, the standard chain). `--expires-in` given on
/// the command line wins over the table's `token_expiry`. The flags that name another cluster or identity, given on
/// the command line, are refused: the table says them (their environment variables are not read, as for the
/// server's file clusters).
pub fn token_command_from_file(args: &TokenArgs) -> Result<crate::auth::TokenCommand, String> {
    use clap::Parser;
    let Some(path) = &args.config else {
        return Err(format!(
            "--cluster {} names a cluster of a config file: give the file with --config FILE",
            args.cluster.as_deref().unwrap_or_default()
        ));
    };
    let bare =
        super::args::Cli::try_parse_from(["aurora-dsql-mcp-rs", "token"]).ok().and_then(|cli| match cli.command {
            Some(super::args::Command::Token(bare)) => Some(bare),
            _ => None,
        });
    let given = |differs: fn(&TokenArgs, &TokenArgs) -> bool| bare.as_ref().is_some_and(|b| differs(args, b));
    let conflicting: Vec<&str> = [
        ("--cluster-endpoint", given(|a, b| a.cluster_endpoint != b.cluster_endpoint)),
        ("--region", given(|a, b| a.region != b.region)),
        ("--database-user", given(|a, b| a.database_user != b.database_user)),
        ("--admin", given(|a, b| a.admin != b.admin)),
        ("--profile", given(|a, b| a.profile != b.profile)),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    if !conflicting.is_empty() {
        return Err(format!(
            "{} cannot be combined with --config: the cluster's table in {} gives its endpoint, region, user and \
             profile. Drop {}, or drop --config and name the cluster with the flags",
            conflicting.join(", "),
            path.display(),
            if conflicting.len() == 1 { "it" } else { "them" }
        ));
    }
    let file = super::file::load(path)?;
    let names = || file.clusters.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
    let wanted = match (&args.cluster, &file.default) {
        (Some(name), _) => name.clone(),
        (None, Some((name, _))) => name.clone(),
        (None, None) if file.clusters.len() == 1 => file.clusters[0].name.clone(),
        (None, None) => {
            return Err(format!(
                "{} names several clusters and no default: say which with --cluster NAME (one of {})",
                path.display(),
                names()
            ));
        }
    };
    let Some(cluster) = file.clusters.iter().find(|c| c.name == wanted) else {
        return Err(format!("{}: no cluster is named `{wanted}`; the clusters are: {}", path.display(), names()));
    };
    let super::file::Database::Dsql { endpoint, region, user } = &cluster.database else {
        let (what, key) = match &cluster.database {
            super::file::Database::Url(_) => ("a PostgreSQL URL", "database_url"),
            _ => ("a local sandbox", "local"),
        };
        let dsql: Vec<&str> = file
            .clusters
            .iter()
            .filter(|c| matches!(c.database, super::file::Database::Dsql { .. }))
            .map(|c| c.name.as_str())
            .collect();
        return Err(file.error_at(
            cluster.line,
            format!(
                "cluster `{wanted}` is {what} (`{key}`), not an Aurora DSQL endpoint; IAM auth tokens are only for \
                 DSQL clusters. {}",
                if dsql.is_empty() {
                    "The file has no cluster with an `endpoint`.".to_string()
                } else {
                    format!("Its DSQL clusters: {}", dsql.join(", "))
                }
            ),
        ));
    };
    let expires_in = match given(|a, b| a.expires_in != b.expires_in) {
        true => args.expires_in,
        false => cluster.table.token_expiry.unwrap_or(args.expires_in),
    };
    Ok(crate::auth::TokenCommand {
        endpoint: endpoint.clone(),
        region: region.clone(),
        user: Some(user.clone()),
        admin: false,
        expires_in,
        profile: cluster.table.profile.clone(),
    })
}

/// Where migration rehearsals find the local sandbox: the `--local` directory in local mode, otherwise
/// `AURORA_DSQL_LOCAL_DIR` or the default local directory (a scratch database is made there per rehearsal).
pub fn rehearsal_dir(target: &Target, env: EnvVars) -> PathBuf {
    match target {
        Target::Local { dir } => dir.clone(),
        _ => local_dir(env),
    }
}

/// `AURORA_DSQL_LOCAL_DIR`, else the user's data directory.
fn local_dir(env: EnvVars) -> PathBuf {
    env("AURORA_DSQL_LOCAL_DIR").map(PathBuf::from).unwrap_or_else(|| default_local_dir(env))
}

/// The user's data directory, as XDG says; root gets a system directory the `postgres` user can reach
/// (PostgreSQL refuses to run as root, and /root is private).
fn default_local_dir(env: EnvVars) -> PathBuf {
    if crate::platform::running_as_root() {
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
    use clap::Parser;

    use super::super::args::{Cli, Command};
    use super::*;

    fn cli(list: &[&str]) -> Cli {
        let mut v = vec!["aurora-dsql-mcp-rs"];
        v.extend_from_slice(list);
        Cli::try_parse_from(v).expect("parse")
    }

    fn args(list: &[&str]) -> ServerArgs {
        cli(list).server
    }

    #[test]
    fn role_and_region_come_from_the_target() {
        let url = |u: &str| Target::Url { url: u.into() };
        assert_eq!(url("postgres://alice:pw@db.example.com/app").role().as_deref(), Some("alice"));
        assert_eq!(url("host=db user=bob dbname=app").role().as_deref(), Some("bob"));
        assert_eq!(url("postgres://db.example.com/app").role(), None);
        assert_eq!(Target::Local { dir: "/tmp/x".into() }.role().as_deref(), Some("admin"));
        let dsql = Target::Dsql(DsqlTarget {
            endpoint: "abc.dsql.eu-west-1.on.aws".into(),
            region: "eu-west-1".into(),
            user: "reader".into(),
        });
        assert_eq!((dsql.role().as_deref(), dsql.region()), (Some("reader"), Some("eu-west-1")));
        assert_eq!(url("postgres://a@b/c").region(), None);
        assert_eq!(Target::Unconfigured { missing: vec![] }.role(), None);
    }

    fn token_args(list: &[&str]) -> TokenArgs {
        let mut v = vec!["token"];
        v.extend_from_slice(list);
        match cli(&v).command {
            Some(Command::Token(t)) => t,
            other => panic!("expected token, got {other:?}"),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn python_spellings_and_hyphenated_aliases_both_parse() {
        let a = args(&["--cluster_endpoint", "abc.dsql.us-east-1.on.aws", "--database_user", "admin"]);
        let b = args(&["--cluster-endpoint", "abc.dsql.us-east-1.on.aws", "--database-user", "admin"]);
        assert_eq!(target(&a, &no_env), target(&b, &no_env));
        match target(&a, &no_env) {
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
        match target(&a, &env) {
            Target::Dsql(t) => assert_eq!(t.endpoint, "abcdef.dsql.eu-west-1.on.aws"),
            other => panic!("expected DSQL target, got {other:?}"),
        }
    }

    #[test]
    fn partial_configuration_names_each_missing_setting() {
        let a = args(&["--cluster_endpoint", "10.0.0.1"]);
        match target(&a, &no_env) {
            Target::Unconfigured { missing } => {
                let names: Vec<_> = missing.iter().map(|m| m.setting).collect();
                assert_eq!(names, vec!["region", "database user"]);
            }
            other => panic!("expected unconfigured, got {other:?}"),
        }
        let env = |k: &str| (k == "CLUSTER").then(|| "abcdef".to_string());
        match target(&args(&["--database_user", "app"]), &env) {
            Target::Unconfigured { missing } => assert_eq!(missing, vec![MISSING_REGION_FOR_ID]),
            other => panic!("expected unconfigured, got {other:?}"),
        }
    }

    #[test]
    fn nothing_configured_suggests_local_mode() {
        match target(&args(&[]), &no_env) {
            Target::Unconfigured { missing } => assert!(missing[0].how.contains("--local")),
            other => panic!("expected unconfigured, got {other:?}"),
        }
    }

    #[test]
    fn local_flag_with_and_without_dir() {
        assert_eq!(target(&args(&["--local=/tmp/x"]), &no_env), Target::Local { dir: "/tmp/x".into() });
        assert!(matches!(target(&args(&["--local"]), &no_env), Target::Local { .. }));
        let env = |k: &str| (k == "AURORA_DSQL_LOCAL_DIR").then(|| "/srv/sandbox".to_string());
        assert_eq!(target(&args(&["--local"]), &env), Target::Local { dir: "/srv/sandbox".into() });
        // Rehearsals use the same directory in local mode, and the environment's otherwise.
        assert_eq!(rehearsal_dir(&target(&args(&["--local=/tmp/x"]), &env), &env), PathBuf::from("/tmp/x"));
        assert_eq!(rehearsal_dir(&target(&args(&[]), &env), &env), PathBuf::from("/srv/sandbox"));
    }

    #[test]
    fn token_resolves_the_cluster_as_the_server_does() {
        let env = |k: &str| match k {
            "CLUSTER" => Some("abcdef".to_string()),
            "AWS_REGION" => Some("eu-west-1".to_string()),
            _ => None,
        };
        let cmd = token_command(&token_args(&["--admin"]), &env).expect("resolved");
        let server = target(&args(&["--database_user", "admin"]), &env);
        match server {
            Target::Dsql(t) => assert_eq!((cmd.endpoint, cmd.region), (t.endpoint, t.region)),
            other => panic!("expected DSQL target, got {other:?}"),
        }
        let cmd = token_command(&token_args(&["--cluster-endpoint", "x.dsql.ap-northeast-1.on.aws"]), &no_env)
            .expect("region inferred from the endpoint");
        assert_eq!(cmd.region, "ap-northeast-1");
        assert_eq!(token_command(&token_args(&[]), &no_env).unwrap_err(), vec![MISSING_ENDPOINT]);
        let no_region = token_command(&token_args(&["--cluster-endpoint", "10.0.0.1"]), &no_env);
        assert_eq!(no_region.unwrap_err(), vec![MISSING_REGION]);
    }
}
