//! The document library: embedded files split into heading sections, their ids/urls, url resolution
//! (with "did you mean" suggestions) and the BM25 index over sections.

use std::ops::Range;
use std::sync::OnceLock;

use super::corpus::FILES;
use super::index::{Bm25, HEADING_WEIGHT, PAGE_TITLE_WEIGHT};
use super::markdown;

/// One embedded page (a steering guide or POWER.md); also an MCP resource.
#[derive(Debug, Clone)]
pub struct Document {
    /// `dsql://steering/<name>` or `dsql://power`.
    pub uri: String,
    /// Short name: `troubleshooting`, `power`.
    pub name: String,
    /// The front matter's `displayName`, else the first `#` heading, else the name.
    pub title: String,
    /// The front matter's `description`, else the first paragraph.
    pub description: String,
    /// The whole file as compiled in, front matter included; section ranges index into it.
    pub text: &'static str,
    /// Path in the repository: `steering/troubleshooting.md`, `POWER.md`.
    pub path: &'static str,
}

/// A heading and the text under it. `chunk` stops at the next heading (what search ranks); `full` also
/// covers the subsections (what `read` returns for the section url).
#[derive(Debug, Clone)]
pub struct Section {
    /// Index of its page in [`Library::documents`].
    pub doc: usize,
    /// Heading level (1 for `#`); 0 for the text before a page's first heading.
    pub level: u8,
    /// The heading text (the page title for level 0).
    pub title: String,
    /// The heading's anchor (GitHub style); empty for level 0.
    pub slug: String,
    /// `dsql://steering/<name>#<slug>`; the page url for a page's top heading.
    pub url: String,
    /// Byte range in the page's text from the heading to the next heading of any level.
    pub chunk: Range<usize>,
    /// Byte range in the page's text from the heading to the next heading of the same or a higher level.
    pub full: Range<usize>,
}

/// What a url/id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Page(usize),
    Section(usize),
}

/// Every embedded page, its sections and the search index over them; built once, read-only after.
pub struct Library {
    documents: Vec<Document>,
    sections: Vec<Section>,
    index: Bm25,
}

impl Library {
    /// The library built from the files compiled into this binary (built once).
    pub fn embedded() -> &'static Library {
        static LIB: OnceLock<Library> = OnceLock::new();
        LIB.get_or_init(|| Library::from_files(FILES.iter().map(|f| (f.name, f.path, f.text))))
    }

    pub(crate) fn from_files(files: impl IntoIterator<Item = (&'static str, &'static str, &'static str)>) -> Library {
        let mut documents = Vec::new();
        let mut sections = Vec::new();
        for (doc, (name, path, text)) in files.into_iter().enumerate() {
            let (fields, body) = markdown::front_matter(text);
            let field = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            let heads = markdown::headings(text, body);
            let uri = if name == "power" { "dsql://power".to_string() } else { format!("dsql://steering/{name}") };
            let title = field("displayName")
                .or_else(|| heads.iter().find(|h| h.level == 1).map(|h| h.title.clone()))
                .unwrap_or_else(|| name.to_string());
            let description = field("description").unwrap_or_else(|| first_paragraph(&text[body..]));
            let first_heading = heads.first().map_or(text.len(), |h| h.start);
            if !text[body..first_heading].trim().is_empty() {
                sections.push(Section {
                    doc,
                    level: 0,
                    title: title.clone(),
                    slug: String::new(),
                    url: uri.clone(),
                    chunk: body..first_heading,
                    full: body..first_heading,
                });
            }
            for (i, h) in heads.iter().enumerate() {
                let chunk_end = heads.get(i + 1).map_or(text.len(), |n| n.start);
                let full_end = heads[i + 1..].iter().find(|n| n.level <= h.level).map_or(text.len(), |n| n.start);
                let url = if h.level == 1 { uri.clone() } else { format!("{uri}#{}", h.slug) };
                sections.push(Section {
                    doc,
                    level: h.level,
                    title: h.title.clone(),
                    slug: h.slug.clone(),
                    url,
                    chunk: h.start..chunk_end,
                    full: h.start..full_end,
                });
            }
            documents.push(Document { uri, name: name.to_string(), title, description, text, path });
        }
        let index = Bm25::build(sections.iter().map(|s| {
            let text = documents[s.doc].text;
            let heading_line_end = text[s.chunk.clone()].find('\n').map_or(s.chunk.end, |n| s.chunk.start + n);
            let body = if s.level == 0 { &text[s.chunk.clone()] } else { &text[heading_line_end..s.chunk.end] };
            vec![(s.title.as_str(), HEADING_WEIGHT), (documents[s.doc].title.as_str(), PAGE_TITLE_WEIGHT), (body, 1.0)]
        }));
        Library { documents, sections, index }
    }

    /// The pages, in the order they are compiled in ([`Section::doc`] indexes this).
    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    /// Every section of every page, page by page in text order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The page named by any accepted form of its id (`dsql://steering/x`, `steering/x.md`, `x.md`, `x`), ignoring any `#anchor`.
    pub fn document(&self, url: &str) -> Option<&Document> {
        let (page, _) = split_url(url);
        self.find_page(&page).map(|i| &self.documents[i])
    }

    pub(crate) fn index(&self) -> &Bm25 {
        &self.index
    }

    /// Text of a page or section.
    pub(crate) fn target_text(&self, t: Target) -> &'static str {
        match t {
            Target::Page(d) => self.documents[d].text,
            Target::Section(s) => {
                let s = &self.sections[s];
                &self.documents[s.doc].text[s.full.clone()]
            }
        }
    }

    /// Canonical url and title of a target.
    pub(crate) fn target_meta(&self, t: Target) -> (String, String) {
        match t {
            Target::Page(d) => (self.documents[d].uri.clone(), self.documents[d].title.clone()),
            Target::Section(s) => {
                let s = &self.sections[s];
                let doc = &self.documents[s.doc];
                (s.url.clone(), format!("{} › {}", doc.title, s.title))
            }
        }
    }

    pub(crate) fn target_doc(&self, t: Target) -> usize {
        match t {
            Target::Page(d) => d,
            Target::Section(s) => self.sections[s].doc,
        }
    }

    /// Resolves a url/id to a page or section, or explains what exists instead.
    pub(crate) fn resolve(&self, url: &str) -> Result<Target, String> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(format!("url is empty; pass a documentation id such as {}", self.examples()));
        }
        if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
            return Err(format!(
                "`{trimmed}` is a web address, and the offline library only holds the built-in guides ({}). \
                 Search them with dsql_search_documentation, or start the server with --knowledge-server URL to read remote pages",
                self.examples()
            ));
        }
        let (page, anchor) = split_url(trimmed);
        let Some(doc) = self.find_page(&page) else {
            return Err(format!(
                "unknown documentation url `{trimmed}`; closest ids: {}",
                self.closest_pages(&page).join(", ")
            ));
        };
        let Some(anchor) = anchor else {
            return Ok(Target::Page(doc));
        };
        let anchor = anchor.to_lowercase();
        let mut in_doc = self.sections.iter().enumerate().filter(|(_, s)| s.doc == doc);
        if let Some((i, s)) = in_doc.clone().find(|(_, s)| s.slug == anchor) {
            return Ok(if s.level <= 1 { Target::Page(doc) } else { Target::Section(i) });
        }
        let mut candidates: Vec<(usize, &Section)> = in_doc.by_ref().filter(|(_, s)| s.level > 1).collect();
        candidates.sort_by_key(|(_, s)| distance(&anchor, &s.slug));
        let names: Vec<String> = candidates.iter().take(5).map(|(_, s)| s.url.clone()).collect();
        Err(format!(
            "`{trimmed}`: page {} has no section `#{anchor}`; closest sections: {}",
            self.documents[doc].uri,
            names.join(", ")
        ))
    }

    fn find_page(&self, key: &str) -> Option<usize> {
        self.documents.iter().position(|d| d.name == key)
    }

    fn closest_pages(&self, key: &str) -> Vec<String> {
        let mut ranked: Vec<(usize, &Document)> = self
            .documents
            .iter()
            .map(|d| {
                let contains = !key.is_empty() && (d.name.contains(key) || key.contains(d.name.as_str()));
                (if contains { 0 } else { 1 + distance(key, &d.name) }, d)
            })
            .collect();
        ranked.sort_by_key(|(score, _)| *score);
        ranked.iter().take(5).map(|(_, d)| d.uri.clone()).collect()
    }

    fn examples(&self) -> String {
        let uris: Vec<&str> = self.documents.iter().take(3).map(|d| d.uri.as_str()).collect();
        format!("{}, ...", uris.join(", "))
    }
}

/// Normalises every accepted spelling to (page name, optional anchor): `dsql://steering/x#a`, `steering/x.md`, `x.md`, `x`, `POWER.md`.
fn split_url(url: &str) -> (String, Option<String>) {
    let url = url.trim();
    let (path, anchor) = match url.split_once('#') {
        Some((p, a)) => (p, Some(a.to_string())),
        None => (url, None),
    };
    let mut p = path.trim().to_lowercase();
    for prefix in ["dsql://", "./", "/", "steering/"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            p = rest.to_string();
        }
    }
    if let Some(rest) = p.strip_suffix(".md") {
        p = rest.to_string();
    }
    (p, anchor.filter(|a| !a.is_empty()))
}

/// The first prose paragraph after the title, used as a description when the file has no front matter.
fn first_paragraph(body: &str) -> String {
    let mut lines = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        if t.starts_with('#') && lines.is_empty() {
            continue;
        }
        if t.is_empty() {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(t);
    }
    markdown::plain(&lines.join(" "))
}

/// Levenshtein distance over characters.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms_normalise() {
        assert_eq!(split_url("dsql://steering/troubleshooting#x").0, "troubleshooting");
        assert_eq!(split_url("steering/troubleshooting.md"), ("troubleshooting".into(), None));
        assert_eq!(split_url("POWER.md").0, "power");
        assert_eq!(split_url("dsql://power#best-practices").1.as_deref(), Some("best-practices"));
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
