//! The banner: one log line saying what this process serves; and, when a person started it at a terminal (stdin is
//! a terminal, so no MCP client is attached), how to connect a client and how to try a tool at once with `call`.

use std::io::IsTerminal;

use crate::config::{Settings, Target};

/// Log the one-line banner; add the how-to lines when stdin is a terminal.
pub fn announce(s: &Settings) {
    tracing::info!("{}", summary(s));
    if std::io::stdin().is_terminal() {
        eprintln!("{}", terminal_help(s));
    }
}

/// "aurora-dsql-mcp-rs 0.1.0 serving MCP on stdin/stdout: <target>; <mode>; <rules>".
pub fn summary(s: &Settings) -> String {
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
    format!(
        "{} {} serving MCP on stdin/stdout: {target}; {}; {rules}",
        super::EXE,
        env!("CARGO_PKG_VERSION"),
        s.mode_label()
    )
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
