//! The embedded files: every steering guide and POWER.md, compiled in with `include_str!`.

/// One embedded Markdown file: its short name (`troubleshooting`, `power`), its path in the repository and its text.
pub(crate) struct EmbeddedFile {
    pub name: &'static str,
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! steering {
    ($($name:literal),* $(,)?) => {
        &[
            EmbeddedFile { name: "power", path: "POWER.md", text: include_str!("../../POWER.md") },
            $(EmbeddedFile {
                name: $name,
                path: concat!("steering/", $name, ".md"),
                text: include_str!(concat!("../../steering/", $name, ".md")),
            },)*
        ]
    };
}

/// POWER.md first, then the steering guides in the order a newcomer would read them.
pub(crate) const FILES: &[EmbeddedFile] = steering![
    "onboarding",
    "mcp-setup",
    "development-guide",
    "language",
    "dsql-examples",
    "migrations",
    "identity-and-sequences",
    "access-control",
    "occ-retry",
    "multi-tenant",
    "query-plans",
    "troubleshooting",
];
