//! Just enough Markdown structure for the library: front matter, ATX headings outside code fences,
//! GitHub-style heading anchors, and link targets.

/// `key: value` pairs of a leading `---` front-matter block, and the byte offset where the body starts.
pub(crate) fn front_matter(text: &str) -> (Vec<(String, String)>, usize) {
    let Some(rest) = text.strip_prefix("---\n") else {
        return (Vec::new(), 0);
    };
    let mut fields = Vec::new();
    let mut offset = 4;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        let line = line.trim_end();
        if line == "---" {
            return (fields, offset);
        }
        if let Some((key, value)) = line.split_once(':') {
            let value = value.trim().trim_matches('"').to_string();
            fields.push((key.trim().to_string(), value));
        }
    }
    // An unterminated block is not front matter: treat the whole file as body.
    (Vec::new(), 0)
}

/// An ATX heading: its level, display title (inline code marks removed), anchor slug and byte offsets.
#[derive(Debug, Clone)]
pub(crate) struct Heading {
    pub level: u8,
    pub title: String,
    pub slug: String,
    /// Offset of the first byte of the heading line.
    pub start: usize,
}

/// Headings of `text` starting at byte `from`, skipping fenced code blocks; slugs are de-duplicated like GitHub (`x`, `x-1`, ...).
pub(crate) fn headings(text: &str, from: usize) -> Vec<Heading> {
    let mut out: Vec<Heading> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut fence: Option<&str> = None;
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start_matches(' ');
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let marker = if trimmed.starts_with("```") {
            Some("```")
        } else if trimmed.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        if let Some(m) = marker {
            match fence {
                None => fence = Some(m),
                Some(open) if open == m => fence = None,
                Some(_) => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let after = &trimmed[hashes..];
        if !(after.starts_with(' ') || after.trim().is_empty()) {
            continue;
        }
        let raw = after.trim().trim_end_matches('#').trim();
        let title = raw.replace('`', "");
        let base = slugify(raw);
        let mut slug = base.clone();
        let mut n = 0;
        while seen.contains(&slug) {
            n += 1;
            slug = format!("{base}-{n}");
        }
        seen.push(slug.clone());
        out.push(Heading { level: hashes as u8, title, slug, start });
    }
    out
}

/// GitHub's anchor rule: lower-case, keep letters, digits, `-` and `_`, turn spaces into `-`, drop the rest.
pub(crate) fn slugify(heading: &str) -> String {
    heading
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// A link found in Markdown text: 1-based line number and the raw target (without title or angle brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub line: usize,
    pub target: String,
}

/// Inline link targets `[text](target)` outside code fences and inline code spans.
pub(crate) fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let visible = blank_code_spans(line);
        let mut rest = visible.as_str();
        while let Some(pos) = rest.find("](") {
            let after = &rest[pos + 2..];
            let Some(end) = after.find(')') else { break };
            let mut target = after[..end].trim();
            if let Some((path, _title)) = target.split_once(" \"") {
                target = path.trim();
            }
            let target = target.trim_start_matches('<').trim_end_matches('>');
            if !target.is_empty() {
                out.push(Link { line: i + 1, target: target.to_string() });
            }
            rest = &after[end..];
        }
    }
    out
}

/// Replaces the inside of `code spans` with spaces so link-looking text in code is ignored.
fn blank_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
        } else if in_code {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Markdown reduced to readable plain text for snippets: no fences, heading marks, emphasis or link targets.
pub(crate) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") || t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
            continue;
        }
        let t = t.trim_start_matches('#').trim_start_matches("- ").trim();
        out.push_str(&strip_inline(t));
        out.push(' ');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Inline markup removed: `[text](target)` → `text`, code marks, emphasis, table bars. Brackets that are not links
/// (`text[]`, JSON arrays) stay.
fn strip_inline(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if c == '['
            && let Some(close) = rest.find("](")
            && !rest[1..close].contains('[')
            && let Some(end) = rest[close..].find(')')
        {
            out.push_str(&strip_inline(&rest[1..close]));
            rest = &rest[close + end + 1..];
            continue;
        }
        match c {
            '`' | '*' => {}
            '|' => out.push(' '),
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keeps_non_link_brackets() {
        assert_eq!(
            plain("See [the guide](a.md#x) for `text[]` and '[\"a\"]'."),
            "See the guide for text[] and '[\"a\"]'."
        );
        assert_eq!(plain("| a | b |\n|---|---|\n**bold**"), "a b bold");
    }

    #[test]
    fn headings_skip_fences_and_dedupe_slugs() {
        let text = "# Title\n```sql\n# not a heading\n```\n## Fix `40001` / OC000\n## Fix `40001` / OC000\n#nospace\n";
        let h = headings(text, 0);
        let slugs: Vec<_> = h.iter().map(|h| h.slug.as_str()).collect();
        assert_eq!(slugs, ["title", "fix-40001--oc000", "fix-40001--oc000-1"]);
        assert_eq!(h[1].title, "Fix 40001 / OC000");
        assert_eq!(h[1].level, 2);
    }

    #[test]
    fn front_matter_is_parsed_and_skipped() {
        let text = "---\nname: \"x\"\ndisplayName: \"X y\"\n---\n# Body\n";
        let (fields, off) = front_matter(text);
        assert_eq!(fields[1], ("displayName".to_string(), "X y".to_string()));
        assert!(text[off..].starts_with("# Body"));
        assert_eq!(front_matter("---\nno end\n").1, 0);
    }

    #[test]
    fn links_ignore_code() {
        let text = "See [a](a.md#x) and `[b](b.md)`.\n```\n[c](c.md)\n```\n[d](<d.md> \"t\")";
        let l: Vec<_> = links(text).into_iter().map(|l| l.target).collect();
        assert_eq!(l, ["a.md#x", "d.md"]);
    }
}
