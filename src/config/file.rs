//! `--config FILE`: the TOML file that names several clusters (`[clusters.NAME]`), each with exactly one database
//! (`endpoint` + `region`/`user`/`profile`, `database_url`, or `local = "DIR"`) and its own per-database settings,
//! plus the top-level `default` and `audit_log`. Read and checked here, completely, before anything is served: an
//! unknown key, a missing or doubled target, a duplicate table or a bad value is an error naming the file, the
//! line and the fix. What the clusters become (settings, environments) is `clusters`' job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ValueEnum;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::args::ConfirmDestructive;
use crate::auth::endpoint::region_in_endpoint;
use crate::sql::{DsqlVersion, RulesMode};

/// Longest cluster name accepted (it appears in resource URIs and the tools' `cluster` enum).
const MAX_NAME_CHARS: usize = 63;

/// The whole file, as TOML gives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    default: Option<Spanned<String>>,
    audit_log: Option<PathBuf>,
    #[serde(default)]
    clusters: BTreeMap<String, Spanned<Table>>,
}

/// One `[clusters.NAME]` table, every key optional as written; [`read`] checks which combinations make sense.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// An Aurora DSQL cluster endpoint (`<id>.dsql.<region>.on.aws`).
    pub endpoint: Option<String>,
    /// The endpoint's AWS Region (read from a standard endpoint name when omitted).
    pub region: Option<String>,
    /// The database role to connect as (required with `endpoint`).
    pub user: Option<String>,
    /// The AWS shared-config profile credentials come from, used strictly.
    pub profile: Option<String>,
    /// Any PostgreSQL, by URL.
    pub database_url: Option<String>,
    /// A local DSQL-like sandbox kept in this directory (relative to the file's directory).
    pub local: Option<String>,
    /// `--allow-writes` for this cluster (default false).
    pub allow_writes: Option<bool>,
    /// `--confirm-destructive` for this cluster.
    #[serde(default, deserialize_with = "choice")]
    pub confirm_destructive: Option<ConfirmDestructive>,
    /// `--tenant-column` for this cluster.
    pub tenant_column: Option<String>,
    /// `--max-rows` for this cluster.
    pub max_rows: Option<usize>,
    /// `--max-result-bytes` for this cluster.
    pub max_result_bytes: Option<usize>,
    /// `--statement-timeout` (seconds) for this cluster.
    pub statement_timeout: Option<u64>,
    /// `--max-retries` for this cluster.
    pub max_retries: Option<u32>,
    /// `--pool-size` for this cluster.
    pub pool_size: Option<usize>,
    /// `--token-expiry` (seconds) for this cluster (DSQL only).
    pub token_expiry: Option<u64>,
    /// `--hostaddr` for this cluster (DSQL only).
    pub hostaddr: Option<String>,
    /// `--ssl-root-cert` for this cluster (relative to the file's directory).
    pub ssl_root_cert: Option<PathBuf>,
    /// `--rules` for this cluster.
    #[serde(default, deserialize_with = "choice")]
    pub rules: Option<RulesMode>,
    /// `--dsql-version` for this cluster.
    #[serde(default, deserialize_with = "parsed")]
    pub dsql_version: Option<DsqlVersion>,
}

/// The database one cluster names.
#[derive(Debug, Clone, PartialEq)]
pub enum Database {
    /// `endpoint` (+ `region`, `user`, `profile`).
    Dsql {
        /// The cluster's endpoint.
        endpoint: String,
        /// Its Region, as given or read from the endpoint.
        region: String,
        /// The database role.
        user: String,
    },
    /// `database_url`.
    Url(String),
    /// `local`, resolved against the file's directory.
    Local(PathBuf),
}

/// One named cluster of the file, checked.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Its name (`[clusters.NAME]`).
    pub name: String,
    /// The line its table starts on, for messages about it.
    pub line: usize,
    /// The database it names.
    pub database: Database,
    /// Its settings as written (paths already resolved against the file's directory).
    pub table: Table,
}

/// The file, checked: clusters in the order the file lists them.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The file, as given (for messages).
    pub path: PathBuf,
    /// `default = "NAME"` and its line.
    pub default: Option<(String, usize)>,
    /// `audit_log = "FILE"`, resolved against the file's directory.
    pub audit_log: Option<PathBuf>,
    /// `[clusters.NAME]` tables, in file order.
    pub clusters: Vec<Cluster>,
}

impl ConfigFile {
    /// An error about this file at `line`, with the fix.
    pub fn error_at(&self, line: usize, message: impl std::fmt::Display) -> String {
        format!("{} line {line}: {message}", self.path.display())
    }
}

/// Read and check `path`.
pub fn load(path: &Path) -> Result<ConfigFile, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read the --config file: {e}", path.display()))?;
    read(path, &text)
}

/// Check the text of a config file (`path` names it in messages and anchors its relative paths).
pub fn read(path: &Path, text: &str) -> Result<ConfigFile, String> {
    let doc: Document = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    let mut file = ConfigFile {
        path: path.to_path_buf(),
        default: doc.default.map(|d| (d.get_ref().clone(), line_of(text, d.span().start))),
        audit_log: doc.audit_log.as_deref().map(resolve),
        clusters: Vec::new(),
    };
    let mut clusters: Vec<(String, Spanned<Table>)> = doc.clusters.into_iter().collect();
    // File order (TOML tables come back sorted by name).
    clusters.sort_by_key(|(_, t)| t.span().start);
    for (name, table) in clusters {
        let line = line_of(text, table.span().start);
        let mut table = table.into_inner();
        check_name(&name).map_err(|e| file.error_at(line, e))?;
        let database = database(&name, &table, &resolve).map_err(|e| file.error_at(line, e))?;
        table.ssl_root_cert = table.ssl_root_cert.as_deref().map(resolve);
        file.clusters.push(Cluster { name, line, database, table });
    }
    for (i, a) in file.clusters.iter().enumerate() {
        let same = file.clusters[..i]
            .iter()
            .find(|b| matches!((&a.database, &b.database), (Database::Local(x), Database::Local(y)) if x == y));
        if let Some(b) = same {
            return Err(file.error_at(
                a.line,
                format!(
                    "clusters `{}` and `{}` (line {}) use the same local sandbox directory; one sandbox serves one \
                     cluster: give each its own `local` directory",
                    a.name, b.name, b.line
                ),
            ));
        }
    }
    if let Some((name, line)) = &file.default
        && !file.clusters.iter().any(|c| &c.name == name)
        && name != super::settings::DEFAULT_CLUSTER
    {
        let names: Vec<&str> = file.clusters.iter().map(|c| c.name.as_str()).collect();
        return Err(file
            .error_at(*line, format!("default = {name:?} names no cluster; the clusters are: {}", names.join(", "))));
    }
    Ok(file)
}

/// TOML's own message (it names the line and column and shows it), then what the file may hold.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|s| line_of(text, s.start));
    // The line itself, so the message shows the key even where TOML's words do not name it; never a URL's line
    // (it may hold a password).
    let at = line
        .map(|l| match text.lines().nth(l - 1).map(str::trim).filter(|t| !t.is_empty() && !t.contains("://")) {
            Some(source) => format!(" line {l} (`{source}`)"),
            None => format!(" line {l}"),
        })
        .unwrap_or_default();
    // Rust's integer widths mean nothing to the file's reader.
    let message = ["usize", "u64", "u32"]
        .iter()
        .fold(e.message().to_string(), |m, w| m.replace(&format!("expected {w}"), "expected a non-negative integer"));
    let hint = if message.contains("duplicate key") {
        "each [clusters.NAME] table may appear once: rename or merge the second one"
    } else if message.contains("unknown field") {
        "top-level keys are default, audit_log and [clusters.NAME] tables; a cluster's keys are endpoint, region, \
         user, profile, database_url, local, allow_writes, confirm_destructive, tenant_column, max_rows, \
         max_result_bytes, statement_timeout, max_retries, pool_size, token_expiry, hostaddr, ssl_root_cert, rules, \
         dsql_version (see README, Teams)"
    } else {
        "see README, Teams, for the file's keys and their types"
    };
    format!("{}{at}: {message}\n{hint}", path.display())
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

fn check_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(format!(
            "the cluster name {name:?} is not usable: use 1 to {MAX_NAME_CHARS} letters, digits, `-` or `_` (it \
             appears in resource URIs and the tools' `cluster` argument)"
        ))
    }
}

/// The one database a table names, or why it does not name exactly one usable database.
fn database(name: &str, t: &Table, resolve: &dyn Fn(&Path) -> PathBuf) -> Result<Database, String> {
    let given: Vec<&str> =
        [("endpoint", t.endpoint.is_some()), ("database_url", t.database_url.is_some()), ("local", t.local.is_some())]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
    match given.as_slice() {
        [] => {
            return Err(format!(
                "cluster `{name}` names no database: give exactly one of endpoint = \"<id>.dsql.<region>.on.aws\" \
                 (with user = \"admin\"), database_url = \"postgres://…\", or local = \"DIR\""
            ));
        }
        [_] => {}
        _ => {
            return Err(format!(
                "cluster `{name}` names its database {} ways ({}): keep exactly one, or make a cluster for each",
                given.len(),
                given.join(" and ")
            ));
        }
    }
    let dsql_only = [
        ("region", t.region.is_some()),
        ("user", t.user.is_some()),
        ("profile", t.profile.is_some()),
        ("hostaddr", t.hostaddr.is_some()),
        ("token_expiry", t.token_expiry.is_some()),
    ];
    if t.endpoint.is_none()
        && let Some((key, _)) = dsql_only.iter().find(|(_, set)| *set)
    {
        return Err(format!(
            "cluster `{name}`: `{key}` applies to an Aurora DSQL `endpoint` only, and this cluster uses `{}`: \
             remove `{key}`",
            given[0]
        ));
    }
    if let Some(endpoint) = &t.endpoint {
        let endpoint = endpoint.trim();
        if endpoint.is_empty() || !endpoint.contains('.') {
            return Err(format!(
                "cluster `{name}`: endpoint = {endpoint:?} is not a host name; give the cluster's endpoint, e.g. \
                 \"abc123.dsql.us-east-1.on.aws\""
            ));
        }
        let region = t.region.clone().or_else(|| region_in_endpoint(endpoint)).ok_or_else(|| {
            format!(
                "cluster `{name}`: the Region cannot be read from the endpoint {endpoint:?}: add region = \
                 \"us-east-1\" (the cluster's Region)"
            )
        })?;
        let user = t.user.clone().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            format!(
                "cluster `{name}`: missing `user`, the database role to connect as: add user = \"admin\" (or a role)"
            )
        })?;
        return Ok(Database::Dsql { endpoint: endpoint.to_string(), region, user });
    }
    if let Some(url) = &t.database_url {
        if url.parse::<tokio_postgres::Config>().is_err() {
            return Err(format!(
                "cluster `{name}`: database_url is not a PostgreSQL connection URL; give \
                 \"postgres://user:password@host:port/database\""
            ));
        }
        return Ok(Database::Url(url.clone()));
    }
    let dir = t.local.as_deref().unwrap_or_default();
    if dir.trim().is_empty() {
        return Err(format!(
            "cluster `{name}`: local = \"\" names no directory; give the sandbox's directory, e.g. local = \
             \"sandbox/{name}\" (relative to this file)"
        ));
    }
    Ok(Database::Local(resolve(Path::new(dir))))
}

/// A closed choice (`rules`, `confirm_destructive`) spelled as its flag spells it.
fn choice<'de, D: Deserializer<'de>, T: ValueEnum>(d: D) -> Result<Option<T>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
    T::from_str(&text, true).map(Some).map_err(|_| {
        let accepted: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        serde::de::Error::custom(format!("{text:?} is not one of {}", accepted.join(", ")))
    })
}

/// A value read from its text as the flag reads it (`dsql_version`).
fn parsed<'de, D: Deserializer<'de>, T: FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
    text.parse().map(Some).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, String> {
        read(Path::new("/etc/team/dsql.toml"), text)
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("refused")
    }

    #[test]
    fn clusters_keep_file_order_and_their_settings() {
        let f = parse(
            "default = \"prod\"\naudit_log = \"audit.jsonl\"\n\n[clusters.staging]\nendpoint = \
             \"abc.dsql.us-east-1.on.aws\"\nuser = \"admin\"\nallow_writes = true\nmax_rows = 50\n\n\
             [clusters.prod]\nendpoint = \"xyz.example.com\"\nregion = \"eu-west-1\"\nuser = \"reader\"\nprofile = \
             \"prod\"\nrules = \"warn\"\nconfirm_destructive = \"refuse\"\ndsql_version = \"2026-08-25\"\n\n\
             [clusters.sandbox]\nlocal = \"sandbox\"\n\n[clusters.pg]\ndatabase_url = \"postgres://u@h/db\"\n",
        )
        .expect("parses");
        let names: Vec<&str> = f.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["staging", "prod", "sandbox", "pg"]);
        assert_eq!(f.default, Some(("prod".into(), 1)));
        assert_eq!(f.audit_log.as_deref(), Some(Path::new("/etc/team/audit.jsonl")));
        assert_eq!(f.clusters[0].line, 4);
        assert_eq!(
            f.clusters[0].database,
            Database::Dsql {
                endpoint: "abc.dsql.us-east-1.on.aws".into(),
                region: "us-east-1".into(),
                user: "admin".into()
            }
        );
        assert_eq!((f.clusters[0].table.allow_writes, f.clusters[0].table.max_rows), (Some(true), Some(50)));
        let prod = &f.clusters[1];
        assert_eq!(prod.table.profile.as_deref(), Some("prod"));
        assert_eq!(
            (prod.table.rules, prod.table.confirm_destructive),
            (Some(RulesMode::Warn), Some(ConfirmDestructive::Refuse))
        );
        assert!(prod.table.dsql_version.is_some_and(|v| v.is_pinned()));
        assert_eq!(f.clusters[2].database, Database::Local("/etc/team/sandbox".into()));
        assert_eq!(f.clusters[3].database, Database::Url("postgres://u@h/db".into()));
    }

    /// README's Teams example is a valid file, and builds the clusters it describes.
    #[test]
    fn the_readme_example_is_a_valid_file() {
        let readme = include_str!("../../README.md");
        let section = readme.split("## Teams").nth(1).expect("README has a Teams section");
        let example = section.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
        let f = parse(example).unwrap_or_else(|e| panic!("README's example: {e}"));
        let names: Vec<&str> = f.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["staging", "production", "reporting", "scratch"]);
        assert_eq!(f.default.as_ref().map(|d| d.0.as_str()), Some("staging"));
        let args = <crate::config::Cli as clap::Parser>::try_parse_from(["x"]).unwrap().server;
        let clusters = super::super::Clusters::from_file(&args, &f, &|_| None).expect("builds");
        assert_eq!(clusters.writable(), ["staging", "scratch"]);
        assert_eq!(clusters.select(None).unwrap().settings.cluster, "staging");
    }

    #[test]
    fn mistakes_are_refused_with_their_line_and_the_fix() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "unknown key",
                "[clusters.a]\nlocal = \"x\"\nallow_write = true\n",
                &["line 3", "allow_write", "allow_writes"],
            ),
            ("unknown top-level key", "allow_writes = true\n", &["line 1", "allow_writes", "[clusters.NAME]"]),
            (
                "no target",
                "[clusters.a]\nlocal = \"x\"\n\n[clusters.b]\nmax_rows = 5\n",
                &["line 4", "names no database", "database_url"],
            ),
            (
                "two targets",
                "[clusters.a]\nlocal = \"x\"\ndatabase_url = \"postgres://h/db\"\n",
                &["line 1", "2 ways", "keep exactly one"],
            ),
            (
                "duplicate name",
                "[clusters.a]\nlocal = \"x\"\n\n[clusters.a]\nlocal = \"y\"\n",
                &["line 4", "duplicate", "appear once"],
            ),
            ("wrong type", "[clusters.a]\nlocal = \"x\"\nmax_rows = \"many\"\n", &["line 3", "max_rows", "integer"]),
            ("negative", "[clusters.a]\nlocal = \"x\"\npool_size = -1\n", &["line 3"]),
            ("bad choice", "[clusters.a]\nlocal = \"x\"\nrules = \"strict\"\n", &["line 3", "enforce, warn, off"]),
            ("bad version", "[clusters.a]\nlocal = \"x\"\ndsql_version = \"soon\"\n", &["line 3", "soon"]),
            ("missing user", "[clusters.a]\nendpoint = \"abc.dsql.us-east-1.on.aws\"\n", &["line 1", "missing `user`"]),
            ("no region", "[clusters.a]\nendpoint = \"db.example.com\"\nuser = \"admin\"\n", &["line 1", "region = "]),
            ("dsql key elsewhere", "[clusters.a]\nlocal = \"x\"\nprofile = \"p\"\n", &["line 1", "`profile` applies"]),
            ("bad name", "[clusters.\"a b\"]\nlocal = \"x\"\n", &["line 1", "not usable"]),
            ("shared sandbox", "[clusters.a]\nlocal = \"x\"\n[clusters.b]\nlocal = \"x\"\n", &["line 3", "same local"]),
            ("unknown default", "default = \"c\"\n[clusters.a]\nlocal = \"x\"\n", &["line 1", "names no cluster", "a"]),
            ("bad url", "[clusters.a]\ndatabase_url = \"postgres://h:notaport/db\"\n", &["line 1", "database_url"]),
        ];
        for (what, text, needles) in cases {
            let e = error(text);
            assert!(e.starts_with("/etc/team/dsql.toml"), "{what}: {e}");
            for needle in *needles {
                assert!(e.contains(needle), "{what}: {needle:?} missing from:\n{e}");
            }
        }
    }
}
