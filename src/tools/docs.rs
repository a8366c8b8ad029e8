//! The three documentation tools — `dsql_search_documentation`, `dsql_read_documentation`, `dsql_recommend` —
//! answered offline from the guides compiled into the binary. With --knowledge-server the remote answer is tried
//! first; if it fails, the offline answer comes back with a `note` saying why.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, parse_args};
use crate::docs::{self, Library};

/// Tool name: ranked search over the guides' sections.
pub const SEARCH: &str = "dsql_search_documentation";
/// Tool name: a page or section by url, in chunks.
pub const READ: &str = "dsql_read_documentation";
/// Tool name: pages related to a page, and the best practices that apply to it.
pub const RECOMMEND: &str = "dsql_recommend";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    #[schemars(description = "Search phrase to use")]
    search_phrase: String,
    #[serde(default)]
    #[schemars(range(min = 1), description = "Maximum number of results to return (default 10, at most 50)")]
    limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    #[schemars(description = "Specific url to read")]
    url: String,
    #[serde(default)]
    #[schemars(description = "Starting character index")]
    start_index: Option<usize>,
    #[serde(default)]
    #[schemars(range(min = 1), description = "Maximum number of characters to return")]
    max_length: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RecommendArgs {
    #[schemars(description = "URL of the documentation page to get recommendations for")]
    url: String,
}

fn annotations(env_remote: bool, title: &str) -> Value {
    json!({"title": title, "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true,
           "openWorldHint": env_remote})
}

/// The three tools' MCP definitions; `remote` (a knowledge server is configured) sets `openWorldHint`.
pub fn definitions(remote: bool) -> Vec<Value> {
    vec![
        json!({
            "name": SEARCH,
            "description": "Search the Aurora DSQL documentation (guides built into this server; works offline). \
        Ranks sections, not whole pages, and returns title, url, snippet and score. Read a hit with dsql_read_documentation(url).",
            "inputSchema": super::input_schema::input_schema::<SearchArgs>("dsql_search_documentationArguments"),
            "annotations": annotations(remote, "Search DSQL documentation"),
        }),
        json!({
            "name": READ,
            "description": "Read a DSQL documentation page or section by its url/id (dsql://steering/<name>[#section], \
        dsql://power, or a bare name like `troubleshooting`). Long pages come in chunks: pass next_start_index as start_index \
        to continue; chunks concatenate exactly to the page.",
            "inputSchema": super::input_schema::input_schema::<ReadArgs>("dsql_read_documentationArguments"),
            "annotations": annotations(remote, "Read DSQL documentation"),
        }),
        json!({
            "name": RECOMMEND,
            "description": "Get related DSQL documentation pages and the best practices that apply to a page.",
            "inputSchema": super::input_schema::input_schema::<RecommendArgs>("dsql_recommendArguments"),
            "annotations": annotations(remote, "Related DSQL documentation"),
        }),
    ]
}

/// Answers the documentation tool `name`: from the knowledge server when configured, else (or on its failure,
/// with a `note`) from the embedded guides.
pub async fn call(env: &Env, name: &str, args: Option<Map<String, Value>>) -> Result<Value, ToolError> {
    let lib = Library::embedded();
    let (offline, remote_args) = match name {
        SEARCH => {
            let a: SearchArgs = parse_args(name, args, "{\"search_phrase\": string, \"limit\": integer (optional)}")?;
            let remote = json!({"search_phrase": a.search_phrase, "limit": a.limit});
            (docs::tools::search(lib, &a.search_phrase, a.limit), remote)
        }
        READ => {
            let a: ReadArgs = parse_args(
                name,
                args,
                "{\"url\": string, \"start_index\": integer (optional), \"max_length\": integer (optional)}",
            )?;
            let remote = json!({"url": a.url, "start_index": a.start_index, "max_length": a.max_length});
            (docs::tools::read(lib, &a.url, a.start_index, a.max_length), remote)
        }
        RECOMMEND => {
            let a: RecommendArgs = parse_args(name, args, "{\"url\": string}")?;
            let remote = json!({"url": a.url});
            (docs::tools::recommend(lib, &a.url), remote)
        }
        other => return Err(ToolError::Failed(format!("{other} is not a documentation tool"))),
    };
    // What the library says against the arguments (an empty phrase, a limit of 0, an unknown page).
    let offline = offline.map_err(ToolError::Invalid);
    let Some(server) = &env.knowledge else { return offline };
    let remote_args = drop_nulls(remote_args);
    match server.call(name, remote_args).await {
        Ok(v) => Ok(v),
        Err(e) => {
            tracing::warn!("knowledge server failed, answering offline: {e}");
            let mut v = offline?;
            if let Value::Object(m) = &mut v {
                m.insert("note".into(), json!(format!("remote knowledge server failed: {e}; offline answer")));
            }
            Ok(v)
        }
    }
}

fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}
