//! The three documentation tools over the offline library, returning the JSON the MCP tool result carries:
//! `search` ranks sections, `read` pages through a page or section by characters, `recommend` lists related
//! pages and the best practices (from POWER.md) that apply.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::index::terms;
use super::library::{Library, Target};
use super::markdown;

/// Results `dsql_search_documentation` returns when the call gives no `limit`.
pub const DEFAULT_SEARCH_LIMIT: usize = 10;
/// The largest `limit` a search honours (larger values are clamped to it).
pub const MAX_SEARCH_LIMIT: usize = 50;
/// Characters `dsql_read_documentation` returns per page when the call gives no `max_length`.
pub const DEFAULT_READ_LENGTH: usize = 10_000;
const SNIPPET_CHARS: usize = 240;

/// `dsql_search_documentation`: the best-matching sections, `{results: [{title, url, snippet, score, document}]}`.
pub fn search(lib: &Library, search_phrase: &str, limit: Option<usize>) -> Result<Value, String> {
    let limit = match limit {
        None => DEFAULT_SEARCH_LIMIT,
        Some(0) => return Err("limit must be at least 1".into()),
        Some(n) => n.min(MAX_SEARCH_LIMIT),
    };
    let query_terms = terms(search_phrase);
    if query_terms.is_empty() {
        return Err(format!(
            "search_phrase `{}` has no searchable words; describe what you need, e.g. \"add a column with a default value\"",
            search_phrase.trim()
        ));
    }
    let results: Vec<Value> = lib
        .index()
        .search(search_phrase)
        .into_iter()
        .take(limit)
        .map(|(i, score)| {
            let s = &lib.sections()[i];
            let doc = &lib.documents()[s.doc];
            let title = if s.level <= 1 { doc.title.clone() } else { format!("{} › {}", doc.title, s.title) };
            json!({
                "title": title,
                "url": s.url,
                "snippet": snippet(&doc.text[s.chunk.clone()], &query_terms),
                "score": (score * 1000.0).round() / 1000.0,
                "document": doc.uri,
            })
        })
        .collect();
    Ok(json!({ "results": results }))
}

/// The most query-dense window of a section's plain text, with `…` where it was cut.
fn snippet(markdown_text: &str, query_terms: &[String]) -> String {
    let text = markdown::plain(markdown_text);
    let words: Vec<&str> = text.split(' ').collect();
    let wanted: HashSet<&str> = query_terms.iter().map(String::as_str).collect();
    let hits: Vec<bool> = words.iter().map(|w| terms(w).iter().any(|t| wanted.contains(t.as_str()))).collect();
    const WINDOW: usize = 36;
    let best_start = (0..words.len().saturating_sub(WINDOW).max(1))
        .max_by_key(|&s| (hits[s..(s + WINDOW).min(words.len())].iter().filter(|h| **h).count(), usize::MAX - s))
        .unwrap_or(0);
    let start = best_start.saturating_sub(4);
    let mut out = words[start..].join(" ");
    if out.chars().count() > SNIPPET_CHARS {
        out = out.chars().take(SNIPPET_CHARS).collect::<String>();
        if let Some(cut) = out.rfind(' ') {
            out.truncate(cut);
        }
        out.push('…');
    }
    if start > 0 { format!("…{out}") } else { out }
}

/// `dsql_read_documentation`: a page or section, paged exactly by characters (Unicode scalar values).
/// Concatenating the `content` of successive pages (following `next_start_index`) yields the whole text.
pub fn read(lib: &Library, url: &str, start_index: Option<usize>, max_length: Option<usize>) -> Result<Value, String> {
    let target = lib.resolve(url)?;
    let (canonical, title) = lib.target_meta(target);
    let text = lib.target_text(target);
    let total = text.chars().count();
    let start = start_index.unwrap_or(0);
    let max = max_length.unwrap_or(DEFAULT_READ_LENGTH);
    if max == 0 {
        return Err("max_length must be at least 1".into());
    }
    if start > 0 && start >= total {
        return Err(format!(
            "start_index {start} is beyond the end of {canonical} ({total} characters); valid start_index values are 0..{}",
            total.saturating_sub(1)
        ));
    }
    let end = start.saturating_add(max).min(total);
    let content: String = text.chars().skip(start).take(end - start).collect();
    let truncated = end < total;
    Ok(json!({
        "url": canonical,
        "title": title,
        "content": content,
        "start_index": start,
        "next_start_index": if truncated { Value::from(end) } else { Value::Null },
        "total_length": total,
        "truncated": truncated,
    }))
}

/// `dsql_recommend`: related pages (linked from the target, then similar by content) and the POWER.md best
/// practices whose vocabulary the target shares, `{url, title, related: [...], best_practices: [...]}`.
pub fn recommend(lib: &Library, url: &str) -> Result<Value, String> {
    let target = lib.resolve(url)?;
    let (canonical, title) = lib.target_meta(target);
    let text = lib.target_text(target);
    let own_doc = lib.target_doc(target);

    let mut related: Vec<Value> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::from([own_doc]);
    let own_path = lib.documents()[own_doc].path;
    for link in markdown::links(text) {
        let path = link.target.split('#').next().unwrap_or_default();
        let name = path.rsplit('/').next().unwrap_or_default();
        if path.is_empty() || path.contains("://") {
            continue;
        }
        if let Some(d) = lib.documents().iter().position(|x| lib.document(name).is_some_and(|found| found.uri == x.uri))
            && d != own_doc
            && seen.insert(d)
        {
            related.push(related_entry(lib, d, &format!("linked from {own_path}")));
        }
    }
    let headings: Vec<&str> = lib
        .sections()
        .iter()
        .filter(|s| s.doc == own_doc && (matches!(target, Target::Page(_)) || text.contains(&s.title)))
        .map(|s| s.title.as_str())
        .collect();
    for (i, _) in lib.index().search(&headings.join(" ")) {
        let d = lib.sections()[i].doc;
        if related.len() >= 8 {
            break;
        }
        if seen.insert(d) {
            related.push(related_entry(lib, d, "covers related topics"));
        }
    }

    Ok(json!({
        "url": canonical,
        "title": title,
        "related": related,
        "best_practices": best_practices(lib, text, own_path),
    }))
}

fn related_entry(lib: &Library, d: usize, reason: &str) -> Value {
    let doc = &lib.documents()[d];
    json!({ "url": doc.uri, "title": doc.title, "description": doc.description, "reason": reason })
}

/// Bullets of POWER.md's "Best practices" section that apply to `text`: a bullet applies when it links to the
/// page, or when its rarer words (by idf) also appear in the text. At most 6; the 3 most general ones otherwise.
fn best_practices(lib: &Library, text: &str, page_path: &str) -> Vec<Value> {
    let Some(section) =
        lib.sections().iter().find(|s| s.slug == "best-practices" && lib.documents()[s.doc].name == "power")
    else {
        return Vec::new();
    };
    let power = &lib.documents()[section.doc];
    let source = section.url.clone();
    let bullets: Vec<&str> = power.text[section.full.clone()].lines().filter_map(|l| l.strip_prefix("- ")).collect();
    let page_terms: HashSet<String> = terms(text).into_iter().collect();
    let page_file = page_path.rsplit('/').next().unwrap_or(page_path);
    let mut scored: Vec<(f64, usize)> = bullets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let links_here = markdown::links(b).iter().any(|l| {
                let path = l.target.split('#').next().unwrap_or_default();
                path.rsplit('/').next() == Some(page_file)
            });
            let mut bullet_terms = terms(&markdown::plain(b));
            bullet_terms.sort();
            bullet_terms.dedup();
            let total: f64 = bullet_terms.iter().map(|t| lib.index().idf(t)).sum();
            let shared: f64 = bullet_terms.iter().filter(|t| page_terms.contains(*t)).map(|t| lib.index().idf(t)).sum();
            let score = if total > 0.0 { shared / total } else { 0.0 } + if links_here { 1.0 } else { 0.0 };
            (score, i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = scored.iter().filter(|(s, _)| *s >= 0.35).take(6).map(|(_, i)| *i).collect();
    if chosen.is_empty() {
        chosen = (0..bullets.len().min(3)).collect();
    }
    chosen.into_iter().map(|i| json!({ "practice": markdown::plain(bullets[i]), "source": source })).collect()
}
