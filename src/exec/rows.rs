//! Rows as they arrive: decoded to JSON one by one and kept only while they fit `--max-rows` and
//! `--max-result-bytes`, so nothing unbounded is built in memory. Rows past a limit are read off the connection
//! (the statement must complete for its command tag and for the transaction to go on) and dropped undecoded.
//!
//! A row's cost is what the answer really carries: tool results hold the rows twice, once as structured JSON and
//! once inside a text block, where quotes and backslashes are escaped again.

use serde_json::{Map, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{Kind, Type};

use super::Column;
use super::encode;
use super::params::RawCell;

/// Which limit stopped the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Rows(usize),
    Bytes(usize),
}

/// A value whose type has no native decoding, converted by the server after the transaction.
#[derive(Debug)]
pub struct Pending {
    pub row: usize,
    pub key: String,
    pub ty: Type,
    pub bytes: Vec<u8>,
}

/// Rows of one statement, as collected.
#[derive(Debug, Default)]
pub struct Collected {
    pub columns: Vec<Column>,
    pub rows: Vec<Map<String, Value>>,
    /// Rows the statement produced, kept or not.
    pub seen: u64,
    pub stopped_by: Option<Limit>,
    /// A single row was larger than the byte limit: its longest values were cut (and marked).
    pub values_cut: bool,
    pub pending: Vec<Pending>,
    pub bytes: usize,
}

pub struct Collector {
    keep: bool,
    max_rows: usize,
    max_bytes: usize,
    keys: Vec<String>,
    out: Collected,
}

impl Collector {
    /// `keep`: whether this statement's rows are returned at all (only the last statement's are).
    pub fn new(keep: bool, max_rows: usize, max_bytes: usize) -> Collector {
        Collector { keep, max_rows, max_bytes, keys: Vec::new(), out: Collected::default() }
    }

    pub fn push(&mut self, row: &Row) {
        self.out.seen += 1;
        if !self.keep || self.out.stopped_by.is_some() {
            return;
        }
        if self.out.rows.len() >= self.max_rows {
            self.out.stopped_by = Some(Limit::Rows(self.max_rows));
            return;
        }
        if self.out.columns.is_empty() && self.keys.is_empty() {
            self.out.columns = row
                .columns()
                .iter()
                .map(|c| Column { name: c.name().to_string(), type_name: type_name(c.type_()) })
                .collect();
            self.keys = unique_keys(row.columns().iter().map(|c| c.name()));
        }
        let index = self.out.rows.len();
        let mut obj = Map::with_capacity(self.keys.len());
        let mut pending = Vec::new();
        let mut pending_bytes = 0usize;
        for (c, col) in row.columns().iter().enumerate() {
            let raw: RawCell<'_> = row.get(c);
            let value = match encode::decode(col.type_(), raw.0) {
                Some(v) => v,
                None => {
                    let bytes = raw.0.unwrap_or_default().to_vec();
                    // The server's text form is about as long as the binary one; counted now, converted later.
                    pending_bytes += 2 * bytes.len() + 4;
                    pending.push(Pending { row: index, key: self.keys[c].clone(), ty: col.type_().clone(), bytes });
                    Value::Null
                }
            };
            obj.insert(self.keys[c].clone(), value);
        }
        let mut cost = row_cost(&obj) + pending_bytes;
        if self.out.bytes + cost > self.max_bytes {
            if !self.out.rows.is_empty() {
                self.out.stopped_by = Some(Limit::Bytes(self.max_bytes));
                return;
            }
            // The first row alone is too large: return it with its longest values cut, and say so.
            pending.clear();
            cut_values(&mut obj, self.max_bytes);
            cost = row_cost(&obj);
            self.out.values_cut = true;
            self.out.stopped_by = Some(Limit::Bytes(self.max_bytes));
        }
        self.out.bytes += cost;
        self.out.pending.extend(pending);
        self.out.rows.push(obj);
    }

    pub fn finish(self) -> Collected {
        self.out
    }
}

/// Bytes a row adds to a tool result: its JSON, plus that JSON again as an escaped string in the text block.
pub fn row_cost(row: &Map<String, Value>) -> usize {
    // Counted as it is written, without keeping the text.
    struct Count {
        bytes: usize,
        escapes: usize,
    }
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes += buf.len();
            self.escapes += buf.iter().filter(|b| matches!(b, b'"' | b'\\')).count();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count { bytes: 0, escapes: 0 };
    let _ = serde_json::to_writer(&mut count, row);
    2 * count.bytes + count.escapes + 2
}

/// Shorten the row's values until it fits in `max_bytes` (as counted by [`row_cost`]); each cut value ends with
/// a marker giving its full length.
fn cut_values(row: &mut Map<String, Value>, max_bytes: usize) {
    let count = row.len().max(1);
    // A fifth of the budget for keys, markers and escaping; the rest shared by the values.
    let share = (max_bytes * 4 / 5 / 2 / count).max(16);
    for value in row.values_mut() {
        let text = match value {
            Value::String(s) => std::mem::take(s),
            Value::Array(_) | Value::Object(_) => value.to_string(),
            _ => continue,
        };
        if text.len() <= share {
            *value = match value {
                Value::String(_) => Value::String(text),
                _ => value.take(),
            };
            continue;
        }
        let mut end = share.saturating_sub(48);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        *value = Value::String(format!("{}…[cut: {} of {} bytes shown]", &text[..end], end, text.len()));
    }
}

/// `int4`, `text[]`, `numeric`… — PostgreSQL's type names, arrays written with `[]`.
pub fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(elem) => format!("{}[]", elem.name()),
        _ => ty.name().to_string(),
    }
}

/// Duplicate column names (`SELECT 1 AS a, 2 AS a`) get a `_2`, `_3`… suffix so no value is lost.
pub fn unique_keys<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .map(|name| {
            let mut key = name.to_string();
            let mut n = 2;
            while !seen.insert(key.clone()) {
                key = format!("{name}_{n}");
                n += 1;
            }
            key
        })
        .collect()
}

/// Text for a value the server could not convert: UTF-8 as is, anything else as `\x` hex.
pub fn fallback_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => format!("\\x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_column_names_keep_every_value() {
        assert_eq!(unique_keys(["a", "a", "b", "a"].into_iter()), vec!["a", "a_2", "b", "a_3"]);
    }

    #[test]
    fn cost_counts_both_copies_and_escapes() {
        let row: Map<String, Value> = serde_json::from_value(json!({"a": "x\"y"})).unwrap();
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(row_cost(&row), 2 * json.len() + 6 + 2);
    }

    #[test]
    fn oversized_values_are_cut_to_fit_and_marked() {
        let mut row: Map<String, Value> =
            serde_json::from_value(json!({"id": 1, "big": "é".repeat(100_000), "doc": {"k": "v".repeat(50_000)}}))
                .unwrap();
        cut_values(&mut row, 10_000);
        assert!(row_cost(&row) <= 10_000, "{}", row_cost(&row));
        assert_eq!(row["id"], json!(1));
        assert!(row["big"].as_str().unwrap().contains("of 200000 bytes shown]"));
        assert!(row["doc"].as_str().unwrap().contains("…[cut: "));
    }
}
