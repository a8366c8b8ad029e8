//! Link checking for the embedded Markdown: every relative link must name an embedded file, and every
//! `#anchor` a heading of that file. Web links (`http(s)://`, `mailto:`) and `dsql://` ids are not checked here.

use super::library::Library;
use super::markdown;

/// A link that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProblem {
    /// Repository path of the file holding the link.
    pub file: &'static str,
    /// 1-based line of the link in that file.
    pub line: usize,
    /// The link's target as written.
    pub target: String,
    /// Why it does not resolve (no such file, or no such heading).
    pub problem: String,
}

/// Every broken relative link or anchor in the library's files (empty when all resolve).
pub fn check_links(lib: &Library) -> Vec<LinkProblem> {
    let mut problems = Vec::new();
    for doc in lib.documents() {
        for link in markdown::links(doc.text) {
            let t = link.target.as_str();
            if t.starts_with("http://")
                || t.starts_with("https://")
                || t.starts_with("mailto:")
                || t.starts_with("dsql://")
            {
                continue;
            }
            let (path, anchor) = match t.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (t, None),
            };
            let target_path = if path.is_empty() { Some(doc.path.to_string()) } else { join(doc.path, path) };
            let Some(target_doc) = target_path.and_then(|p| lib.documents().iter().find(|d| d.path == p)) else {
                problems.push(LinkProblem {
                    file: doc.path,
                    line: link.line,
                    target: link.target.clone(),
                    problem: "no such file in the library".into(),
                });
                continue;
            };
            if let Some(anchor) = anchor {
                let doc_index = lib.documents().iter().position(|d| d.path == target_doc.path);
                let found = lib.sections().iter().any(|s| Some(s.doc) == doc_index && s.slug == anchor);
                if !found {
                    problems.push(LinkProblem {
                        file: doc.path,
                        line: link.line,
                        target: link.target.clone(),
                        problem: format!("{} has no heading with anchor #{anchor}", target_doc.path),
                    });
                }
            }
        }
    }
    problems
}

/// Joins a relative link to the directory of `from` and normalises `.`/`..`; None if it climbs above the root.
fn join(from: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_resolves_relative_paths() {
        assert_eq!(join("steering/a.md", "b.md").as_deref(), Some("steering/b.md"));
        assert_eq!(join("steering/a.md", "../POWER.md").as_deref(), Some("POWER.md"));
        assert_eq!(join("POWER.md", "steering/b.md").as_deref(), Some("steering/b.md"));
        assert_eq!(join("POWER.md", "../x.md"), None);
    }

    #[test]
    fn broken_links_and_anchors_are_reported() {
        let lib = Library::from_files([
            (
                "power",
                "POWER.md",
                "# P\n[ok](steering/a.md#sub) [bad](steering/zz.md) [anchor](steering/a.md#nope) [web](https://x.y/z)\n",
            ),
            ("a", "steering/a.md", "# A\n## Sub\n[up](../POWER.md) [self](#sub)\n"),
        ]);
        let p = check_links(&lib);
        let targets: Vec<_> = p.iter().map(|p| p.target.as_str()).collect();
        assert_eq!(targets, ["steering/zz.md", "steering/a.md#nope"]);
    }

    #[test]
    fn embedded_links_all_resolve() {
        let problems = check_links(Library::embedded());
        assert!(problems.is_empty(), "broken links: {problems:#?}");
    }
}
