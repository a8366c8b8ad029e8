// Added by aurora-dsql-mcp-rs (see PATCHED.md): tells a dependent's build script that this copy has the parse-once
// entry points (`lint_statement`, `lint_sql_reusing`), which crates.io's dsql-lint 0.2.22 lacks. `cargo package`
// drops `[patch.crates-io]`, so the published aurora-dsql-mcp-rs builds against crates.io's copy and must not call them.
fn main() {
    println!("cargo:parse_once=1");
}
