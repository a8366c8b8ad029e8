//! ARCHITECTURE.md stays true: every file it links and every `src/…` path it names exists, every `room::item` it
//! names is declared where the path says, every room of `src/lib.rs` has a row in its room table, the table's "uses"
//! column is exactly the rooms each room's code names, and none of the edges it forbids exists. The document is the
//! specification: when code moves, the failure says which line of ARCHITECTURE.md to change.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn doc() -> String {
    fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md at the repository root")
}

/// The text between `<!-- NAME:begin` and `<!-- NAME:end -->`.
fn block<'a>(doc: &'a str, name: &str) -> &'a str {
    let begin = doc
        .find(&format!("<!-- {name}:begin"))
        .unwrap_or_else(|| panic!("ARCHITECTURE.md lacks <!-- {name}:begin -->"));
    let end = doc
        .find(&format!("<!-- {name}:end -->"))
        .unwrap_or_else(|| panic!("ARCHITECTURE.md lacks <!-- {name}:end -->"));
    assert!(begin < end, "ARCHITECTURE.md: {name}:begin comes after {name}:end");
    &doc[begin..end]
}

/// The top-level modules `src/lib.rs` declares.
fn lib_rooms() -> BTreeSet<String> {
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|rest| rest.trim_end_matches(';').trim().to_string())
        .collect()
}

/// Every backticked span of `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A row of the room table: the room, and the rooms its "uses" column lists.
fn room_table(doc: &str) -> Vec<(String, BTreeSet<String>)> {
    block(doc, "rooms")
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').map(str::trim).collect();
            let room = cells[0].trim_matches('`').to_string();
            let uses = code_spans(cells[cells.len() - 1]).into_iter().map(str::to_string).collect();
            (room, uses)
        })
        .collect()
}

/// The rooms the document says any room may use unlisted (the line starting "Shared leaves").
fn shared_leaves(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .find(|l| l.starts_with("Shared leaves"))
        .map(|l| code_spans(l).into_iter().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The `.rs` files of a room: `src/ROOM.rs`, or every file under `src/ROOM/`; `main` is `src/main.rs`.
fn room_files(room: &str) -> Vec<PathBuf> {
    let file = root().join(format!("src/{room}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut dirs = vec![root().join(format!("src/{room}"))];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("room {room}: cannot read {}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The rooms a room's code names through `prefix` (`crate::`, or the library's name from `main`): paths and
/// `use prefix{a, b::c}` groups, outside `//` comments.
fn rooms_used(room: &str, prefix: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for file in room_files(room) {
        let text = fs::read_to_string(&file).expect("source file");
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            let code = line.split(" //").next().unwrap_or(line);
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                let before = rest[..at].chars().next_back();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                if let Some(group) = rest.strip_prefix('{') {
                    // The first segment of every entry at the group's top level.
                    for entry in split_top_level(group) {
                        let name: String =
                            entry.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        if !name.is_empty() && name != "self" {
                            used.insert(name);
                        }
                    }
                } else {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() {
                        used.insert(name);
                    }
                }
            }
        }
    }
    used.remove(room);
    used
}

/// The entries of a `{…}` group (its text after `{`), split at top-level commas, up to the closing brace.
fn split_top_level(group: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut from = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(&group[from..i]);
                return out;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&group[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&group[from..]);
    out
}

#[test]
fn every_room_of_the_library_has_a_row() {
    let doc = doc();
    let rows: BTreeSet<String> = room_table(&doc).into_iter().map(|(room, _)| room).collect();
    for room in lib_rooms() {
        assert!(rows.contains(&room), "src/lib.rs declares `{room}`: give it a row in ARCHITECTURE.md's room table");
    }
    assert!(rows.contains("main"), "ARCHITECTURE.md's room table lacks `main` (src/main.rs)");
    for room in &rows {
        assert!(
            room == "main" || lib_rooms().contains(room),
            "ARCHITECTURE.md's room table has `{room}`, which src/lib.rs does not declare: remove or rename the row"
        );
    }
}

#[test]
fn the_room_table_lists_exactly_the_edges_the_code_has() {
    let doc = doc();
    let leaves = shared_leaves(&doc);
    assert!(!leaves.is_empty(), "ARCHITECTURE.md lacks its \"Shared leaves\" line");
    let rooms = lib_rooms();
    let mut problems = Vec::new();
    for (room, listed) in room_table(&doc) {
        let prefix = if room == "main" { "aurora_dsql_mcp_server::" } else { "crate::" };
        let used: BTreeSet<String> =
            rooms_used(&room, prefix).into_iter().filter(|r| rooms.contains(r) && !leaves.contains(r)).collect();
        for r in used.difference(&listed) {
            problems.push(format!("src/{room} uses {prefix}{r}, which the `{room}` row does not list"));
        }
        for r in listed.difference(&used) {
            problems.push(format!("the `{room}` row lists `{r}`, which no file of src/{room} uses any more"));
        }
    }
    assert!(problems.is_empty(), "ARCHITECTURE.md's room table is out of date:\n{}", problems.join("\n"));
}

#[test]
fn no_forbidden_edge_exists() {
    let doc = doc();
    let table = room_table(&doc);
    let mut forbidden = 0;
    let mut problems = Vec::new();
    for line in block(&doc, "forbidden").lines().filter(|l| l.starts_with("- `")) {
        let (head, tail) = line.split_once('✗').unwrap_or_else(|| panic!("forbidden line without ✗: {line}"));
        let room = code_spans(head)[0];
        let reason_at = tail.find(':').unwrap_or_else(|| panic!("forbidden line without a reason: {line}"));
        for never in code_spans(&tail[..reason_at]) {
            forbidden += 1;
            let listed = table.iter().find(|(r, _)| r == room).map(|(_, uses)| uses.contains(never));
            assert!(listed.is_some(), "the forbidden line for `{room}` names a room without a row");
            if listed == Some(true) {
                problems.push(format!("the room table lets `{room}` use `{never}`, which is forbidden"));
            }
            let prefix = if room == "main" { "aurora_dsql_mcp_server::" } else { "crate::" };
            if rooms_used(room, prefix).contains(never) {
                problems.push(format!("src/{room} uses crate::{never}, which ARCHITECTURE.md forbids"));
            }
        }
    }
    assert!(forbidden > 20, "ARCHITECTURE.md's forbidden list was not read ({forbidden} edges)");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_linked_file_and_named_path_exists() {
    let doc = doc();
    let mut targets: Vec<String> = Vec::new();
    // Markdown links: ](target)
    for piece in doc.split("](").skip(1) {
        let target = piece.split(')').next().unwrap_or("");
        if !target.contains("://") && !target.starts_with('#') {
            targets.push(target.split('#').next().unwrap_or(target).to_string());
        }
    }
    // Bare and backticked paths under src/.
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("src/") {
        let before = rest[..at].chars().next_back();
        let path: String =
            rest[at..].chars().take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-')).collect();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '/' || c == '_') {
            continue;
        }
        targets.push(path.trim_end_matches('.').to_string());
    }
    assert!(targets.len() > 50, "only {} paths found in ARCHITECTURE.md", targets.len());
    let missing: Vec<&String> = targets.iter().filter(|t| !root().join(t).exists()).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}

/// The file a module path names: `src/a/b.rs` or `src/a/b/mod.rs` (or `src/a.rs` for a room).
fn module_file(segments: &[&str]) -> Option<PathBuf> {
    let base = segments.join("/");
    [format!("src/{base}.rs"), format!("src/{base}/mod.rs")].into_iter().map(|p| root().join(p)).find(|p| p.is_file())
}

/// Whether `text` declares `name` (a fn, type, trait, const, static, module or macro), or re-exports it.
fn declares(text: &str, name: &str) -> bool {
    let kinds = ["fn", "struct", "enum", "trait", "type", "const", "static", "mod", "macro_rules!"];
    text.lines().any(|line| {
        let words: Vec<&str> =
            line.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '!')).filter(|w| !w.is_empty()).collect();
        words.windows(2).any(|w| kinds.contains(&w[0]) && w[1] == name)
            || (line.trim_start().starts_with("pub use") && words.contains(&name))
    })
}

/// Whether `name` occurs in `text` as a whole word (a variant, a field, a method).
fn mentions(text: &str, name: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == name)
}

#[test]
fn every_named_item_is_declared_where_its_path_says() {
    let doc = doc();
    let rooms = lib_rooms();
    let mut checked = 0;
    let mut problems = Vec::new();
    for span in code_spans(&doc) {
        let span = span.trim_end_matches("()").trim_start_matches("crate::");
        if !span.contains("::") || span.contains(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            continue;
        }
        let segments: Vec<&str> = span.split("::").collect();
        if !rooms.contains(segments[0]) {
            continue;
        }
        checked += 1;
        // The longest prefix that is a module file; the rest are items in it.
        let Some((split, file)) = (1..=segments.len()).rev().find_map(|k| module_file(&segments[..k]).map(|f| (k, f)))
        else {
            problems.push(format!("`{span}`: no file for its module"));
            continue;
        };
        let text = fs::read_to_string(&file).expect("module file");
        let items = &segments[split..];
        if let Some((first, later)) = items.split_first() {
            if !declares(&text, first) {
                problems.push(format!("`{span}`: {} declares no `{first}`", file.display()));
            } else if let Some(missing) = later.iter().find(|name| !declares(&text, name) && !mentions(&text, name)) {
                problems.push(format!("`{span}`: {} has no `{missing}`", file.display()));
            }
        }
    }
    assert!(checked > 50, "only {checked} module paths found in ARCHITECTURE.md");
    assert!(problems.is_empty(), "ARCHITECTURE.md names items that are not where it says:\n{}", problems.join("\n"));
}

#[test]
fn the_map_is_linked_where_contributors_look() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(readme.contains("](ARCHITECTURE.md)"), "README.md must link ARCHITECTURE.md");
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    let header: String = lib.lines().filter(|l| l.starts_with("//!")).collect::<Vec<_>>().join("\n");
    assert!(header.contains("ARCHITECTURE.md"), "src/lib.rs's //! header must point at ARCHITECTURE.md");
}
