//! The banner: one log line saying what this process serves (a line per cluster when it serves several); and, when a person started it at a terminal (stdin is
//! a terminal, so no MCP client is attached), how to connect a client and how to try a tool at once with `call`.

use std::io::IsTerminal;

use crate::config::{Clusters, Settings, Target};

/// Log the one-line banner; add the how-to lines when stdin is a terminal.
pub fn announce(s: &Settings) {
    tracing::info!("{}", summary(s));
    if std::io::stdin().is_terminal() {
        eprintln!("{}", terminal_help(s));
    }
}

/// The banner for every cluster: one line as before for one cluster; with several, a line saying how many and
/// which is the default, then one line per cluster.
pub fn announce_all(clusters: &Clusters) {
    if clusters.len() == 1 {
        return announce(&clusters.primary().settings);
    }
    for line in cluster_lines(clusters) {
        tracing::info!("{line}");
    }
    if std::io::stdin().is_terminal() {
        eprintln!("{}", terminal_help(&clusters.primary().settings));
    }
}

/// The banner's lines without the terminal help: the one-cluster summary, or the several-cluster lines.
pub fn lines(clusters: &Clusters) -> Vec<String> {
    if clusters.len() == 1 { vec![summary(&clusters.primary().settings)] } else { cluster_lines(clusters) }
}

/// The several-cluster banner's lines.
pub fn cluster_lines(clusters: &Clusters) -> Vec<String> {
    let default = match clusters.default_env() {
        Some(d) => format!("default `{}`", d.settings.cluster),
        None => "no default: every database call names its cluster".to_string(),
    };
    let mut lines = vec![format!(
        "{} {} serving MCP on stdin/stdout: {} clusters ({default})",
        super::EXE,
        env!("CARGO_PKG_VERSION"),
        clusters.len()
    )];
    lines.extend(clusters.iter().map(|e| format!("cluster `{}`: {}", e.settings.cluster, describe(&e.settings))));
    lines
}

/// `aurora-dsql-mcp-rs 0.1.0 serving MCP on stdin/stdout: <target>; <mode>; <rules>`.
pub fn summary(s: &Settings) -> String {
    format!("{} {} serving MCP on stdin/stdout: {}", super::EXE, env!("CARGO_PKG_VERSION"), describe(s))
}

/// `<target>; <mode>; <rules>` of one cluster.
fn describe(s: &Settings) -> String {
    let target = match &s.target {
        Target::Local { dir } => format!("local DSQL-like sandbox in {}", dir.display()),
        Target::Url { .. } if !s.emulates_dsql() => "plain PostgreSQL from --database-url (--rules off)".to_string(),
        Target::Url { .. } => "PostgreSQL from --database-url, made to answer like DSQL".to_string(),
        Target::Dsql(t) => format!("Aurora DSQL cluster {} (region {}, user {})", t.endpoint, t.region, t.user),
        Target::Unconfigured { missing } => format!(
            "no database (documentation and dsql_lint only); missing: {}",
            missing.iter().map(|m| m.setting).collect::<Vec<_>>().join(", ")
        ),
    };
    let rules = if s.dsql_version.is_pinned() {
        format!("DSQL rules as of {} (--dsql-version; newest known {})", s.dsql_version, crate::sql::NEWEST_KNOWN)
    } else {
        format!("DSQL rules as of {}", s.dsql_version)
    };
    format!("{target}; {}; {rules}", s.mode_label())
}

/// What a person who started the server by hand needs: it waits for an MCP client, how to configure one, and the
/// one-shot form to see it work now.
pub fn terminal_help(s: &Settings) -> String {
    let exe = super::EXE;
    let flags = match &s.target {
        Target::Local { dir } => format!(" --local={}", dir.display()),
        Target::Unconfigured { .. } => " --local".to_string(),
        Target::Url { .. } | Target::Dsql(_) => " <the same flags as now>".to_string(),
    };
    format!(
        "This is an MCP server: it now waits for an MCP client's JSON-RPC on stdin (Ctrl-C quits).\n\
         Connect a client (Kiro, Claude Code, Claude Desktop, VS Code, Cursor) with the command \
         `uvx {exe} --local --allow-writes`, e.g.\n  \
         claude mcp add aurora-dsql -- uvx {exe} --local --allow-writes\n\
         Or try one tool now, without a client:\n  \
         {exe} call readonly_query '{{\"sql\":\"SELECT 1\"}}'{flags}\n\
         Help: {exe} --help; {exe} call --help."
    )
}
