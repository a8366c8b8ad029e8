//! Checks already made. The verdict of [`super::check`] on one statement depends only on its text, its number of
//! params, the tool and the server's policy (fixed for the process), so when an agent sends the same statement
//! again (the same SELECT with new values, the next page, a re-run after reading the answer) the checked statement
//! is reused instead of parsed again. On localhost that was ~40 µs of a ~300 µs `readonly_query SELECT 1`.
//!
//! Bounded: at most [`CAPACITY`] statements of at most [`MAX_TEXT_BYTES`] each (under 2.5 MB in all); when it is
//! full, the least recently used eighth is dropped. Only single-statement calls that passed are kept: a refusal is
//! recomputed (it is usually followed by a different text), and a list of statements is checked as a whole
//! (transaction rules).
//! Calls with tenant scoping are never kept: their verdict also depends on the database's tables.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Checked, StatementInput, Tool};

/// How many checked statements are kept.
pub const CAPACITY: usize = 256;
/// How many of the least recently used statements are dropped when the cache is full.
const EVICTED: usize = CAPACITY / 8;
/// Longer statements are checked every time (they are rarely sent twice, and they would dominate the memory).
pub const MAX_TEXT_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tool: Tool,
    param_count: Option<usize>,
    sql: String,
}

struct Entry {
    checked: Checked,
    last_used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    clock: u64,
}

/// Checked statements of one server (one policy).
#[derive(Default)]
pub struct CheckCache(Mutex<Inner>);

impl CheckCache {
    /// The checked statement kept for this call, if it is one statement checked before.
    pub fn get(&self, tool: Tool, inputs: &[StatementInput<'_>]) -> Option<Checked> {
        let [input] = inputs else { return None };
        if input.sql.len() > MAX_TEXT_BYTES {
            return None;
        }
        let mut inner = self.0.lock().ok()?;
        inner.clock += 1;
        let now = inner.clock;
        // The key is built only to look up (a borrowed lookup would need a second key type for one String).
        let key = Key { tool, param_count: input.param_count, sql: input.sql.to_string() };
        let entry = inner.entries.get_mut(&key)?;
        entry.last_used = now;
        Some(entry.checked.clone())
    }

    /// Keep `checked`, the verdict on this call, for the next time the same statement comes.
    pub fn put(&self, tool: Tool, inputs: &[StatementInput<'_>], checked: &Checked) {
        let [input] = inputs else { return };
        if input.sql.len() > MAX_TEXT_BYTES {
            return;
        }
        let Ok(mut inner) = self.0.lock() else { return };
        if inner.entries.len() >= CAPACITY {
            // The least recently used eighth goes at once: one pass over the entries per EVICTED new statements,
            // not one per statement (a client sending a new text every call would pay the scan every call).
            let mut stamps: Vec<u64> = inner.entries.values().map(|e| e.last_used).collect();
            let (_, newest_evicted, _) = stamps.select_nth_unstable(EVICTED - 1);
            let newest_evicted = *newest_evicted;
            inner.entries.retain(|_, e| e.last_used > newest_evicted);
        }
        inner.clock += 1;
        let last_used = inner.clock;
        let key = Key { tool, param_count: input.param_count, sql: input.sql.to_string() };
        inner.entries.insert(key, Entry { checked: checked.clone(), last_used });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|i| i.entries.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Policy, check};

    fn input(sql: &str) -> [StatementInput<'_>; 1] {
        [StatementInput { sql, param_count: None }]
    }

    fn writes() -> Policy {
        Policy { allow_writes: true, ..Policy::default() }
    }

    #[test]
    fn a_statement_checked_once_is_found_again_for_the_same_tool_and_param_count_only() {
        let cache = CheckCache::default();
        let sql = "SELECT * FROM orders WHERE id = $1";
        let with_param = [StatementInput { sql, param_count: Some(1) }];
        assert!(cache.get(Tool::ReadonlyQuery, &with_param).is_none());
        let checked = check(Tool::ReadonlyQuery, &with_param, &writes(), None).unwrap();
        cache.put(Tool::ReadonlyQuery, &with_param, &checked);
        assert_eq!(cache.get(Tool::ReadonlyQuery, &with_param), Some(checked));
        assert!(cache.get(Tool::Transact, &with_param).is_none(), "another tool has other rules");
        assert!(cache.get(Tool::ReadonlyQuery, &input(sql)).is_none(), "no params: another verdict");
    }

    #[test]
    fn a_write_kept_for_transact_is_still_refused_by_readonly_query() {
        let cache = CheckCache::default();
        let sql = "INSERT INTO t (id) VALUES (1)";
        let checked = check(Tool::Transact, &input(sql), &writes(), None).unwrap();
        cache.put(Tool::Transact, &input(sql), &checked);
        assert!(cache.get(Tool::ReadonlyQuery, &input(sql)).is_none());
        assert!(check(Tool::ReadonlyQuery, &input(sql), &writes(), None).is_err());
    }

    #[test]
    fn lists_and_long_statements_are_not_kept() {
        let cache = CheckCache::default();
        let list = [StatementInput { sql: "SELECT 1", param_count: None }; 2];
        let checked = check(Tool::Transact, &list, &writes(), None).unwrap();
        cache.put(Tool::Transact, &list, &checked);
        let long = format!("SELECT 1 /* {} */", "x".repeat(MAX_TEXT_BYTES));
        let checked = check(Tool::ReadonlyQuery, &input(&long), &writes(), None).unwrap();
        cache.put(Tool::ReadonlyQuery, &input(&long), &checked);
        assert_eq!(cache.len(), 0);
        assert!(cache.get(Tool::ReadonlyQuery, &input(&long)).is_none());
    }

    #[test]
    fn the_least_recently_used_statements_go_first_when_full() {
        let cache = CheckCache::default();
        let texts: Vec<String> = (0..=CAPACITY).map(|i| format!("SELECT {i}")).collect();
        let checked = check(Tool::ReadonlyQuery, &input("SELECT 0"), &writes(), None).unwrap();
        for text in &texts[..CAPACITY] {
            cache.put(Tool::ReadonlyQuery, &input(text), &checked);
        }
        // "SELECT 0" is used again, so "SELECT 1" … "SELECT {EVICTED}" are now the oldest.
        assert!(cache.get(Tool::ReadonlyQuery, &input(&texts[0])).is_some());
        cache.put(Tool::ReadonlyQuery, &input(&texts[CAPACITY]), &checked);
        assert_eq!(cache.len(), CAPACITY - EVICTED + 1);
        assert!(cache.get(Tool::ReadonlyQuery, &input(&texts[0])).is_some());
        for gone in &texts[1..=EVICTED] {
            assert!(cache.get(Tool::ReadonlyQuery, &input(gone)).is_none(), "{gone}");
        }
        assert!(cache.get(Tool::ReadonlyQuery, &input(&texts[EVICTED + 1])).is_some());
        assert!(cache.get(Tool::ReadonlyQuery, &input(&texts[CAPACITY])).is_some());
    }
}
