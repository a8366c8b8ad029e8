//! Offline documentation: the steering guides and POWER.md compiled into the binary, a BM25 section index,
//! the three documentation tools (search/read/recommend), MCP prompts, and the opt-in remote knowledge server.
//!
//! Wiring (done by the server): `Library::embedded()` once; `tools::{search, read, recommend}` for the
//! `dsql_*_documentation` / `dsql_recommend` tools; `Library::documents()` / `Library::document()` for
//! `resources/list` and `resources/read`; `prompts::{list, get}` for prompts; `remote::KnowledgeServer` when
//! `--knowledge-server` is given (fall back to the offline answer with a `note` when it fails).

mod corpus;
mod index;
mod library;
mod links;
mod markdown;
pub mod prompts;
pub mod remote;
pub mod tools;

pub use library::{Document, Library, Section};
pub use links::{LinkProblem, check_links};
