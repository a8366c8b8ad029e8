//! Whether the dsql-lint being built is our patched copy (`vendor/dsql-lint`, through `[patch.crates-io]`), which
//! can lint a statement we already parsed: its build script announces it (`links = "dsql_lint_parse_once"`). The
//! published crate builds against crates.io's dsql-lint, where cargo drops the patch; it then lints the text as before.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(dsql_lint_parse_once)");
    if std::env::var_os("DEP_DSQL_LINT_PARSE_ONCE_PARSE_ONCE").is_some() {
        println!("cargo::rustc-cfg=dsql_lint_parse_once");
    }
}
