//! Ranking: a small English analyzer (tokens, stop words, suffix stemming) and a BM25 index over
//! weighted fields (section heading counts more than body text).

use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Field weights: a word in a section heading says more about the section than a word in its body.
pub(crate) const HEADING_WEIGHT: f64 = 3.0;
pub(crate) const PAGE_TITLE_WEIGHT: f64 = 1.5;

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "be", "been", "it", "its",
    "this", "that", "these", "those", "as", "by", "at", "from", "how", "what", "why", "do", "does", "did", "i", "my",
    "me", "we", "our", "you", "your", "can", "could", "should", "would", "will", "when", "which", "if", "into",
    "there", "their", "than", "then", "so", "but", "was", "were", "has", "have", "had", "about", "also", "any", "some",
    "such", "via", "per", "one's", "s",
];

/// Lower-cased, stemmed terms of `text`. Keeps SQLSTATE-like codes (`40001`, `0a000`, `oc000`), joins digit groups
/// (`3,000` → `3000`) and indexes snake_case identifiers both whole and by part.
pub(crate) fn terms(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() || c == '_' {
            cur.extend(c.to_lowercase());
            continue;
        }
        let digit_group =
            c == ',' && i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if digit_group {
            continue;
        }
        flush(&mut cur, &mut out);
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if cur.is_empty() {
        return;
    }
    let word = std::mem::take(cur);
    let parts: Vec<&str> = word.split('_').filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 {
        out.push(word.clone());
        for p in parts {
            push_term(p, out);
        }
    } else {
        push_term(word.trim_matches('_'), out);
    }
}

fn push_term(word: &str, out: &mut Vec<String>) {
    if word.is_empty() || STOP_WORDS.contains(&word) {
        return;
    }
    out.push(stem(word));
}

/// Light suffix stripping; the same function runs on documents and queries, so it only has to be consistent.
pub(crate) fn stem(word: &str) -> String {
    if word.chars().count() <= 3 || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    if let Some(base) = w.strip_suffix("ies") {
        w = format!("{base}y");
    } else if w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes") {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.pop();
    }
    for suffix in ["ing", "ed"] {
        if w.len() >= suffix.len() + 4
            && let Some(base) = w.strip_suffix(suffix)
        {
            w = base.to_string();
            break;
        }
    }
    if w.len() > 4 && w.ends_with('e') {
        w.pop();
    }
    w
}

/// One indexed unit: the weighted term frequencies of a section.
struct Entry {
    tf: HashMap<String, f64>,
    len: f64,
}

/// BM25 over weighted fields (BM25F-style: weights scale term frequency and length).
pub(crate) struct Bm25 {
    entries: Vec<Entry>,
    df: HashMap<String, usize>,
    avg_len: f64,
}

impl Bm25 {
    /// `fields` of each entry: (text, weight).
    pub(crate) fn build<'a>(items: impl IntoIterator<Item = Vec<(&'a str, f64)>>) -> Self {
        let mut entries = Vec::new();
        let mut df: HashMap<String, usize> = HashMap::new();
        for fields in items {
            let mut tf: HashMap<String, f64> = HashMap::new();
            let mut len = 0.0;
            for (text, weight) in fields {
                for t in terms(text) {
                    *tf.entry(t).or_default() += weight;
                    len += weight;
                }
            }
            for t in tf.keys() {
                *df.entry(t.clone()).or_default() += 1;
            }
            entries.push(Entry { tf, len });
        }
        let avg_len = entries.iter().map(|e| e.len).sum::<f64>() / entries.len().max(1) as f64;
        Bm25 { entries, df, avg_len }
    }

    /// Inverse document frequency (BM25's non-negative form); 0 for unknown terms.
    pub(crate) fn idf(&self, term: &str) -> f64 {
        let n = self.entries.len() as f64;
        match self.df.get(term) {
            Some(&df) => (1.0 + (n - df as f64 + 0.5) / (df as f64 + 0.5)).ln(),
            None => 0.0,
        }
    }

    /// Scores of every entry with a positive score, best first (ties: lower index first, i.e. document order).
    pub(crate) fn search(&self, query: &str) -> Vec<(usize, f64)> {
        let mut q = terms(query);
        q.sort();
        q.dedup();
        let mut scored: Vec<(usize, f64)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let norm = K1 * (1.0 - B + B * e.len / self.avg_len.max(1e-9));
                let s: f64 =
                    q.iter().filter_map(|t| e.tf.get(t).map(|&f| self.idf(t) * f * (K1 + 1.0) / (f + norm))).sum();
                (s > 0.0).then_some((i, s))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_keeps_codes_and_stems_consistently() {
        assert_eq!(terms("OC000 conflicts, 3,000 rows"), ["oc000", "conflict", "3000", "row"]);
        assert_eq!(terms("sys.wait_for_job"), ["sys", "wait_for_job", "wait", "job"]);
        assert_eq!(stem("indexes"), stem("index"));
        assert_eq!(stem("expired"), stem("expires"));
        assert_eq!(stem("retries"), "retry");
    }

    #[test]
    fn bm25_prefers_heading_and_rare_terms() {
        let idx = Bm25::build(vec![
            vec![("Tokens", HEADING_WEIGHT), ("the token expired; regenerate it", 1.0)],
            vec![("Rows", HEADING_WEIGHT), ("rows rows rows and a token mention", 1.0)],
            vec![("Other", HEADING_WEIGHT), ("nothing relevant here at all", 1.0)],
        ]);
        let r = idx.search("token expired");
        assert_eq!(r[0].0, 0);
        assert_eq!(r.len(), 2);
        assert!(idx.idf("token") > 0.0 && idx.idf("missing") == 0.0);
    }
}
