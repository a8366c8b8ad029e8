//! Rows as they arrive: decoded to JSON one by one and kept only while they fit `--max-rows` and
//! `--max-result-bytes`, so nothing unbounded is built in memory. Rows past a limit are read off the connection
//! (the statement must complete for its command tag and for the transaction to go on) and dropped undecoded.
//!
//! What counts is what the answer really carries: tool results hold the rows and the `columns` list twice, once as
//! structured JSON and once inside a text block, where quotes and backslashes are escaped again; keys are counted
//! in every row. A fixed allowance of the limit is kept for the rest of the answer (its other fields, the
//! untrusted-data envelope, the truncation note). So that the whole answer fits:
//! - the `columns` list (with one row's keys) may take at most half of the budget: columns past that are left
//!   out of the list and of every row, and the answer says so;
//! - a row that does not fit ends the rows; a first row that does not fit alone has its longest values cut (each
//!   ends with `…[cut: N of M bytes shown]`); a value too large to come back whole is decoded straight into its
//!   cut form ([`encode::decode_cut`]), so memory holds the stored row and the part shown, not its whole JSON;
//! - values the server converts to text (types without a native decoding) are counted by an estimate while rows
//!   arrive and exactly once converted ([`settle`]), when rows that no longer fit are dropped from the end.

use serde_json::{Map, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{Kind, Type};

use super::Column;
use super::encode;
use super::params::RawCell;

/// Bytes of `--max-result-bytes` kept for the rest of the answer: the other fields, the untrusted-data envelope,
/// the truncation note (a field and a text block), JSON-RPC's framing. At most half of a small limit.
pub const ANSWER_ALLOWANCE: usize = 2048;
/// Room a column keeps in a row that must be cut: a short start of its value and the cut marker.
const VALUE_ROOM: usize = 64;

/// Which limit stopped the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `--max-rows`, with its value.
    Rows(usize),
    /// `--max-result-bytes`, with its value.
    Bytes(usize),
}

/// A value whose type has no native decoding, converted by the server after the transaction.
#[derive(Debug)]
pub struct Pending {
    /// Index of the row in [`Collected::rows`].
    pub row: usize,
    /// The row's key for the column.
    pub key: String,
    /// The column's type, for the conversion.
    pub ty: Type,
    /// The value as received, in binary format.
    pub bytes: Vec<u8>,
}

/// Rows of one statement, as collected.
#[derive(Debug, Default)]
pub struct Collected {
    /// The columns returned (all, unless `columns_cut`).
    pub columns: Vec<Column>,
    /// The rows kept, decoded to JSON (pending values null until converted).
    pub rows: Vec<Map<String, Value>>,
    /// Rows the statement produced, kept or not.
    pub seen: u64,
    /// Which limit ended the rows kept, if one did.
    pub stopped_by: Option<Limit>,
    /// A single row was larger than the byte limit: its longest values were cut (and marked).
    pub values_cut: bool,
    /// The columns list did not fit: (columns returned, columns the statement has).
    pub columns_cut: Option<(usize, usize)>,
    /// Values left for the server to convert to text ([`settle`]).
    pub pending: Vec<Pending>,
    /// What the columns and rows kept cost in the answer so far (pending values estimated).
    pub bytes: usize,
    /// `--max-result-bytes`.
    pub max_bytes: usize,
    /// The part of `max_bytes` the columns and rows may take (the rest is [`ANSWER_ALLOWANCE`]).
    pub budget: usize,
    /// What the columns list costs (counted in `bytes`).
    pub columns_bytes: usize,
}

/// Decodes and keeps a statement's rows as they arrive, within `--max-rows` and `--max-result-bytes`.
pub struct Collector {
    keep: bool,
    max_rows: usize,
    keys: Vec<String>,
    /// Columns returned: all of them, unless their list does not fit.
    shown: usize,
    out: Collected,
}

impl Collector {
    /// `keep`: whether this statement's rows are returned at all (only the last statement's are).
    pub fn new(keep: bool, max_rows: usize, max_bytes: usize) -> Collector {
        let budget = max_bytes.saturating_sub(ANSWER_ALLOWANCE.min(max_bytes / 2));
        let out = Collected { max_bytes, budget, ..Collected::default() };
        Collector { keep, max_rows, keys: Vec::new(), shown: 0, out }
    }

    /// The columns and keys, from the first row: as many as fit in half the budget.
    fn start(&mut self, row: &Row) {
        let keys = unique_keys(row.columns().iter().map(|c| c.name()));
        let mut used = 0usize;
        for (c, key) in row.columns().iter().zip(&keys) {
            let column = Column { name: c.name().to_string(), type_name: type_name(c.type_()) };
            let cost = json_cost(&column) + json_cost(key) + VALUE_ROOM;
            if used + cost > self.out.budget / 2 {
                self.out.columns_cut = Some((self.out.columns.len(), keys.len()));
                break;
            }
            used += cost;
            self.out.columns.push(column);
        }
        self.shown = self.out.columns.len();
        self.keys = keys;
        self.keys.truncate(self.shown);
        self.out.columns_bytes = json_cost(&self.out.columns);
        self.out.bytes = self.out.columns_bytes;
    }

    /// One more row from the statement: counted, and kept if the rows are kept and it fits.
    pub fn push(&mut self, row: &Row) {
        self.out.seen += 1;
        if !self.keep || self.out.stopped_by.is_some() {
            return;
        }
        if self.out.rows.len() >= self.max_rows {
            self.out.stopped_by = Some(Limit::Rows(self.max_rows));
            return;
        }
        if self.out.columns.is_empty() && self.keys.is_empty() && self.out.columns_cut.is_none() {
            self.start(row);
        }
        let first = self.out.rows.is_empty();
        let left = self.out.budget.saturating_sub(self.out.bytes);
        let raw = |c: usize| -> Option<&[u8]> { row.get::<_, RawCell<'_>>(c).0 };
        // Every type's JSON, counted twice, is at least about half its stored size: a row stored larger than twice
        // what is left cannot fit, and is not decoded.
        if !first && (0..self.shown).map(|c| raw(c).map_or(0, <[u8]>::len)).sum::<usize>() > left.saturating_mul(2) {
            self.out.stopped_by = Some(Limit::Bytes(self.out.max_bytes));
            return;
        }
        // In a first row, a value too large to come back whole is decoded straight into its cut form.
        let mut share = None;
        let index = self.out.rows.len();
        let mut obj = Map::with_capacity(self.shown);
        let mut pending = Vec::new();
        let mut pending_bytes = 0usize;
        for (c, col) in row.columns().iter().take(self.shown).enumerate() {
            let raw = raw(c);
            let huge = first && raw.is_some_and(|r| r.len() > self.out.budget / 2);
            let decoded = match raw {
                Some(r) if huge => {
                    let keep = *share.get_or_insert_with(|| self.value_share());
                    encode::decode_cut(col.type_(), r, keep).inspect(|_| self.out.values_cut = true)
                }
                _ => encode::decode(col.type_(), raw),
            };
            let value = match decoded {
                Some(v) => v,
                None => {
                    let bytes = raw.unwrap_or_default().to_vec();
                    // Most text forms are at most four times the stored form; counted exactly once converted.
                    pending_bytes += 2 * (4 * bytes.len() + 8) + 4;
                    pending.push(Pending { row: index, key: self.keys[c].clone(), ty: col.type_().clone(), bytes });
                    Value::Null
                }
            };
            obj.insert(self.keys[c].clone(), value);
        }
        let mut cost = row_cost(&obj) + pending_bytes;
        if cost > left {
            if !first {
                self.out.stopped_by = Some(Limit::Bytes(self.out.max_bytes));
                return;
            }
            // The first row alone is too large: return it with its longest values cut, and say so (values the
            // server converts are cut once converted, in `settle`).
            cut_values(&mut obj, left.saturating_sub(pending_bytes));
            cost = row_cost(&obj) + pending_bytes;
            self.out.values_cut = true;
            self.out.stopped_by = Some(Limit::Bytes(self.out.max_bytes));
        }
        self.out.bytes += cost;
        self.out.pending.extend(pending);
        self.out.rows.push(obj);
    }

    /// The part of the rows' budget one value of a first row may take when it must be cut (counted twice).
    fn value_share(&self) -> usize {
        let keys: usize = self.keys.iter().map(json_cost).sum();
        (self.out.budget.saturating_sub(self.out.bytes + keys) / 2 / self.shown.max(1)).saturating_sub(48).max(16)
    }

    /// The rows collected.
    pub fn finish(self) -> Collected {
        self.out
    }
}

/// After the server converted the pending values: count the rows exactly, and drop rows from the end (or cut the
/// one row's values) until they fit. Only needed when values were converted (the others were counted exactly).
pub fn settle(collected: &mut Collected) {
    let mut bytes = collected.columns_bytes + collected.rows.iter().map(row_cost).sum::<usize>();
    while bytes > collected.budget && collected.rows.len() > 1 {
        if let Some(row) = collected.rows.pop() {
            bytes -= row_cost(&row);
        }
        collected.stopped_by = Some(Limit::Bytes(collected.max_bytes));
    }
    if bytes > collected.budget
        && let Some(row) = collected.rows.first_mut()
    {
        cut_values(row, collected.budget.saturating_sub(collected.columns_bytes));
        collected.values_cut = true;
        collected.stopped_by = Some(Limit::Bytes(collected.max_bytes));
        bytes = collected.columns_bytes + row_cost(row);
    }
    collected.bytes = bytes;
}

/// Bytes a value adds to a tool result: its JSON twice, the second time with quotes and backslashes escaped.
fn json_cost<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    let mut count = Count { bytes: 0, escapes: 0 };
    let _ = serde_json::to_writer(&mut count, value);
    2 * count.bytes + count.escapes
}

/// Counts JSON as it is written, without keeping the text.
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

/// Bytes a row adds to a tool result: its JSON, plus that JSON again as an escaped string in the text block.
pub fn row_cost(row: &Map<String, Value>) -> usize {
    json_cost(row) + 2
}

/// Shorten the row's values until it fits in `max_bytes` (as counted by [`row_cost`]); each cut value ends with
/// a marker giving its full length.
fn cut_values(row: &mut Map<String, Value>, max_bytes: usize) {
    let count = row.len().max(1);
    let keys: usize = row.keys().map(|k| json_cost(k.as_str()) + 2).sum();
    // What is left after the keys, shared by the values (counted twice), less room for the marker and escaping.
    let share = (max_bytes.saturating_sub(keys) * 4 / 5 / 2 / count).saturating_sub(40).max(8);
    for value in row.values_mut() {
        let text = match value {
            Value::String(s) => std::mem::take(s),
            Value::Array(_) | Value::Object(_) => value.to_string(),
            _ => continue,
        };
        if text.len() <= share + 40 {
            *value = match value {
                Value::String(_) => Value::String(text),
                _ => value.take(),
            };
            continue;
        }
        let mut end = share;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        *value = Value::String(format!("{}{}", &text[..end], encode::cut_marker(end, text.len())));
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
