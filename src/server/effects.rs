//! What a call really did, read from the database inside its own transaction before COMMIT, and whether that
//! destroys data or schema (the threshold `--confirm-destructive` asks about).
//!
//! Rows: `pg_stat_xact_user_tables` counts the rows deleted, updated and inserted per table by the current
//! transaction, whatever did it (CTEs, functions, foreign-key actions). Schema: the user relations, columns,
//! types, schemas and functions are read before and after the statements (one row per object, compared by OID),
//! so dropped, renamed and retyped objects show up with every CASCADE dependent. Tables the statements name as
//! targets get their remaining rows counted, which tells "every row" apart.
//!
//! It destroys (the user is asked) when it drops, renames or retypes an object or a column, empties or rewrites a
//! table (TRUNCATE), deletes or overwrites every row of a table or more than [`ROW_THRESHOLD`] rows of one, or
//! changes rows of a table the statements do not name (through a function, a trigger or a foreign key's action).
//! What cannot be measured (no statistics on the database, counts that do not add up) destroys too: fail closed.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::exec::{Statement, StatementReport};

/// Deleting or overwriting more rows than this in one table is asked about, whatever the table holds.
pub const ROW_THRESHOLD: u64 = 100;
/// Remaining rows are counted up to this many (a bounded read; enough to tell "every row" apart).
pub const COUNT_CAP: u64 = 10_000;

/// What one looked-at call did that matters to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// What destroys, one line each, in a fixed order: two runs did the same when these are equal.
    pub destroys: Vec<String>,
    /// Tables dropped or emptied whole, as (schema, name): their rows are counted for the question.
    pub whole_tables: Vec<(String, String)>,
    /// Other changes under the threshold, for the question's context ("deletes 2 rows of public.t").
    pub other: Vec<String>,
}

/// The reads around a call's statements.
pub struct Probe {
    /// Compare the catalog before and after.
    pub catalog: bool,
    /// `pg_stat_xact_user_tables` can be read on this database.
    pub stats: bool,
    /// Target tables, as written, whose remaining rows are counted after the statements.
    pub targets: Vec<String>,
    /// Lines that destroy whatever is measured (code stored for later).
    pub always: Vec<String>,
}

const STATS: &str = "SELECT relid::int8 AS id, schemaname AS s, relname AS t, n_tup_ins AS ins, n_tup_upd AS upd, \
    n_tup_del AS del FROM pg_catalog.pg_stat_xact_user_tables \
    WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 AND schemaname <> 'sys' ORDER BY 2, 3";

/// One row per user object: relations with their columns (and storage, which TRUNCATE replaces), types, schemas,
/// functions. The separators are control characters no name holds.
const CATALOG: &str = "\
SELECT 'r' || c.oid AS id, c.relkind::text AS kind, n.nspname AS s, c.relname AS name, c.relfilenode::int8 AS node, \
  coalesce((SELECT string_agg(a.attnum || chr(30) || a.attname || chr(30) || \
    pg_catalog.format_type(a.atttypid, a.atttypmod), chr(31) ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS cols \
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND n.nspname NOT IN ('information_schema', 'sys') \
  AND n.nspname !~ '^pg_' \
UNION ALL SELECT 't' || t.oid, 'y', n.nspname, t.typname, 0, \
  coalesce(pg_catalog.format_type(t.typbasetype, t.typtypmod), '') \
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
WHERE t.typtype IN ('d', 'e', 'r', 'm') AND n.nspname NOT IN ('information_schema', 'sys') AND n.nspname !~ '^pg_' \
UNION ALL SELECT 'n' || n.oid, 'n', n.nspname, n.nspname, 0, '' FROM pg_catalog.pg_namespace n \
WHERE n.nspname NOT IN ('information_schema', 'sys') AND n.nspname !~ '^pg_' \
UNION ALL SELECT 'f' || p.oid, 'f', n.nspname, p.proname, 0, p.proargtypes::text \
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
WHERE n.nspname NOT IN ('information_schema', 'sys') AND n.nspname !~ '^pg_'";

fn read(text: String, params: Vec<Value>) -> Statement {
    Statement { text, command: "SELECT".into(), params, quota: Vec::new() }
}

impl Probe {
    /// Reads after BEGIN, before the statements.
    pub fn before(&self) -> Vec<Statement> {
        let mut out = Vec::new();
        if self.stats {
            // PostgreSQL 15 adds counts of earlier transactions of the session not yet reported to these views;
            // what this transaction did is the difference.
            out.push(read(STATS.into(), Vec::new()));
        }
        if self.catalog {
            out.push(read(CATALOG.into(), Vec::new()));
        }
        out
    }

    /// Reads after the statements, before the end.
    pub fn after(&self) -> Vec<Statement> {
        let mut out = Vec::new();
        if self.stats {
            out.push(read(STATS.into(), Vec::new()));
        }
        if self.catalog {
            out.push(read(CATALOG.into(), Vec::new()));
        }
        for t in &self.targets {
            // The name goes to regclass as a value; the count reads the table as the statement named it (printed
            // back by the parser, quoted where it was quoted).
            out.push(read(
                format!(
                    "SELECT $1::regclass::oid::int8 AS id, (SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT {}) AS s) AS n",
                    COUNT_CAP + 1
                ),
                vec![Value::String(t.clone())],
            ));
        }
        out
    }

    /// What the statements did, from the rows of [`Probe::before`] then [`Probe::after`] and their own reports.
    pub fn measure(&self, rows: &[Vec<Map<String, Value>>], reports: &[StatementReport]) -> Effects {
        let mut effects = Effects { destroys: self.always.clone(), ..Effects::default() };
        let mut rows = rows.iter();
        let stats_before = if self.stats { rows.next() } else { None };
        let before = if self.catalog { rows.next() } else { None };
        let stats = if self.stats { rows.next() } else { None };
        let after = if self.catalog { rows.next() } else { None };
        if let (Some(before), Some(after)) = (before, after) {
            compare_catalog(before, after, &mut effects);
        }
        let counted: HashMap<i64, u64> = rows
            .filter_map(|r| r.first())
            .filter_map(|r| Some((int(r.get("id")?)?, int(r.get("n")?)? as u64)))
            .collect();
        match stats {
            Some(stats) => {
                rows_changed(stats_before.map_or(&[][..], Vec::as_slice), stats, &counted, reports, &mut effects)
            }
            None => effects.destroys.push(
                "what it changes could not be measured on this database (it has no per-transaction statistics), \
                 so it is asked about whatever it does"
                    .into(),
            ),
        }
        effects
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> &'a str {
    r.get(key).and_then(Value::as_str).unwrap_or("")
}

fn rows_changed(
    earlier: &[Map<String, Value>],
    stats: &[Map<String, Value>],
    counted: &HashMap<i64, u64>,
    reports: &[StatementReport],
    effects: &mut Effects,
) {
    let mut measured = 0u64;
    for r in stats {
        let (Some(id), table) = (r.get("id").and_then(int), format!("{}.{}", text(r, "s"), text(r, "t"))) else {
            continue;
        };
        let earlier = earlier.iter().find(|e| e.get("id").and_then(int) == Some(id));
        let count =
            |r: Option<&Map<String, Value>>, k: &str| r.and_then(|r| r.get(k)).and_then(int).unwrap_or(0).max(0) as u64;
        let n = |k: &str| count(Some(r), k).saturating_sub(count(earlier, k));
        let (ins, upd, del) = (n("ins"), n("upd"), n("del"));
        measured += upd + del;
        let rows = |n: u64| if n == 1 { "1 row".to_string() } else { format!("{n} rows") };
        if ins > 0 {
            effects.other.push(format!("adds {} to {table}", rows(ins)));
        }
        if upd == 0 && del == 0 {
            continue;
        }
        let Some(&now) = counted.get(&id) else {
            let what = [(del, "deletes"), (upd, "overwrites")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, verb)| format!("{verb} {}", rows(*n)))
                .collect::<Vec<_>>()
                .join(" and ");
            effects.destroys.push(format!(
                "{what} of {table}, a table the statements do not name (through a function, a trigger or a foreign \
                 key's ON DELETE/ON UPDATE action)"
            ));
            continue;
        };
        // Rows when the transaction began: those left, plus those deleted, minus those it added.
        let at_start = (now + del).saturating_sub(ins);
        if del > 0 && now == 0 {
            effects.destroys.push(format!("deletes every row of {table} ({})", rows(del)));
        } else if del > ROW_THRESHOLD {
            effects.destroys.push(format!("deletes {} of {table}", rows(del)));
        } else if del > 0 {
            effects.other.push(format!("deletes {} of {table}", rows(del)));
        }
        if upd > 0 && now <= COUNT_CAP && upd >= at_start {
            effects.destroys.push(format!("overwrites every row of {table} ({})", rows(upd)));
        } else if upd > ROW_THRESHOLD {
            effects.destroys.push(format!("overwrites {} of {table}", rows(upd)));
        } else if upd > 0 {
            effects.other.push(format!("overwrites {} of {table}", rows(upd)));
        }
    }
    // The statements' own counts are a floor for what the statistics must show; less means they cannot be trusted.
    let reported: u64 =
        reports.iter().filter(|r| r.command == "DELETE" || r.command == "UPDATE").filter_map(|r| r.rows_affected).sum();
    if reported > measured {
        effects.destroys.push(format!(
            "what it changes could not be measured: the statements report {reported} rows deleted or updated, the \
             database's statistics {measured}"
        ));
    }
}

/// One catalog object as read by [`CATALOG`].
struct Object<'a> {
    kind: &'a str,
    schema: &'a str,
    name: &'a str,
    node: i64,
    cols: &'a str,
}

fn kind_word(kind: &str) -> &'static str {
    match kind {
        "r" | "p" => "table",
        "v" => "view",
        "m" => "materialized view",
        "S" => "sequence",
        "f" => "function",
        "c" => "composite type",
        "y" => "type",
        "n" => "schema",
        _ => "object",
    }
}

fn compare_catalog(before: &[Map<String, Value>], after: &[Map<String, Value>], effects: &mut Effects) {
    let objects = |rows: &'_ [Map<String, Value>]| -> BTreeMap<String, Vec<String>> {
        rows.iter()
            .map(|r| {
                let node = r.get("node").and_then(int).unwrap_or(0);
                (
                    text(r, "id").to_string(),
                    vec![
                        text(r, "kind").to_string(),
                        text(r, "s").to_string(),
                        text(r, "name").to_string(),
                        node.to_string(),
                        text(r, "cols").to_string(),
                    ],
                )
            })
            .collect()
    };
    let (was, now) = (objects(before), objects(after));
    fn view(v: &[String]) -> Object<'_> {
        Object { kind: &v[0], schema: &v[1], name: &v[2], node: v[3].parse().unwrap_or(0), cols: &v[4] }
    }
    // Functions are told apart by their argument types, not columns.
    for (id, old) in &was {
        let old = view(old);
        let word = kind_word(old.kind);
        let full = if old.kind == "n" { old.name.to_string() } else { format!("{}.{}", old.schema, old.name) };
        let Some(new) = now.get(id).map(|v| view(v)) else {
            effects.destroys.push(format!("drops {word} {full}"));
            if matches!(old.kind, "r" | "p" | "m") {
                effects.whole_tables.push((old.schema.to_string(), old.name.to_string()));
            }
            continue;
        };
        if (old.schema, old.name) != (new.schema, new.name) {
            let to = if new.kind == "n" { new.name.to_string() } else { format!("{}.{}", new.schema, new.name) };
            effects.destroys.push(format!("renames {word} {full} to {to} (what uses the old name stops working)"));
        }
        if old.kind == "f" || old.kind == "n" {
            continue;
        }
        if old.kind == "y" {
            if old.cols != new.cols {
                effects.destroys.push(format!("changes type {full} from {} to {}", old.cols, new.cols));
            }
            continue;
        }
        let columns = |cols: &'_ str| -> BTreeMap<u32, (String, String)> {
            cols.split('\u{1f}')
                .filter(|c| !c.is_empty())
                .filter_map(|c| {
                    let mut parts = c.splitn(3, '\u{1e}');
                    let num = parts.next()?.parse().ok()?;
                    Some((num, (parts.next()?.to_string(), parts.next()?.to_string())))
                })
                .collect()
        };
        let (old_cols, new_cols) = (columns(old.cols), columns(new.cols));
        let mut retyped = false;
        for (num, (name, ty)) in &old_cols {
            match new_cols.get(num) {
                None => effects.destroys.push(format!("drops column {name} of {word} {full}")),
                Some((new_name, new_ty)) => {
                    if new_name != name {
                        effects.destroys.push(format!("renames column {name} of {word} {full} to {new_name}"));
                    }
                    if new_ty != ty {
                        retyped = true;
                        effects.destroys.push(format!("changes column {name} of {word} {full} from {ty} to {new_ty}"));
                    }
                }
            }
        }
        if matches!(old.kind, "r" | "p" | "m") && old.node != 0 && new.node != 0 && old.node != new.node && !retyped {
            effects.destroys.push(format!("empties or rewrites {word} {full} (TRUNCATE)"));
            effects.whole_tables.push((old.schema.to_string(), old.name.to_string()));
        }
    }
}

/// `name` as a quoted identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(v: Value) -> Vec<Map<String, Value>> {
        v.as_array().unwrap().iter().map(|r| r.as_object().unwrap().clone()).collect()
    }

    fn probe(catalog: bool) -> Probe {
        Probe { catalog, stats: true, targets: vec!["t".into()], always: Vec::new() }
    }

    #[test]
    fn every_row_or_more_than_the_threshold_destroys_and_a_few_rows_do_not() {
        let stats =
            |del: u64, upd: u64| rows(json!([{"id": 7, "s": "public", "t": "t", "ins": 0, "upd": upd, "del": del}]));
        let count = |n: u64| rows(json!([{"id": 7, "n": n}]));
        let report = |n| vec![StatementReport { command: "DELETE".into(), rows_affected: Some(n) }];
        let none = Vec::new;
        let e = probe(false).measure(&[none(), stats(50, 0), count(0)], &report(50));
        assert_eq!(e.destroys, vec!["deletes every row of public.t (50 rows)"]);
        let e = probe(false).measure(&[stats(2, 0), stats(3, 0), count(1)], &report(1));
        assert!(e.destroys.is_empty(), "{e:?}");
        assert_eq!(e.other, vec!["deletes 1 row of public.t"]);
        let e = probe(false).measure(&[none(), stats(101, 0), count(900)], &report(101));
        assert_eq!(e.destroys, vec!["deletes 101 rows of public.t"]);
        let e = probe(false).measure(&[none(), stats(0, 2), count(2)], &[]);
        assert_eq!(e.destroys, vec!["overwrites every row of public.t (2 rows)"]);
        // Statistics that show less than the statements say are not trusted.
        let e = probe(false).measure(&[none(), stats(0, 0), count(5)], &report(3));
        assert!(e.destroys[0].contains("could not be measured"), "{e:?}");
    }

    #[test]
    fn rows_changed_in_a_table_not_named_destroy() {
        let stats = rows(json!([{"id": 9, "s": "public", "t": "child", "ins": 0, "upd": 0, "del": 3}]));
        let e = probe(false).measure(&[Vec::new(), stats, rows(json!([{"id": 7, "n": 4}]))], &[]);
        assert_eq!(e.destroys.len(), 1);
        assert!(e.destroys[0].starts_with("deletes 3 rows of public.child, a table the statements do not name"));
    }

    #[test]
    fn the_catalog_comparison_finds_drops_renames_retypes_and_truncates() {
        let obj = |id: &str, kind: &str, name: &str, node: i64, cols: &str| json!({"id": id, "kind": kind, "s": "public", "name": name, "node": node, "cols": cols});
        let cols = |c: &[(&str, &str)]| {
            c.iter()
                .enumerate()
                .map(|(i, (n, t))| format!("{}\u{1e}{n}\u{1e}{t}", i + 1))
                .collect::<Vec<_>>()
                .join("\u{1f}")
        };
        let before = rows(json!([
            obj("r1", "r", "gone", 11, &cols(&[("id", "integer")])),
            obj("r2", "r", "old", 12, &cols(&[("id", "integer"), ("v", "d")])),
            obj("r3", "r", "emptied", 13, ""),
            obj("r4", "r", "same", 14, &cols(&[("id", "integer")])),
        ]));
        let after = rows(json!([
            obj("r2", "r", "new", 12, &cols(&[("id", "bigint")])),
            obj("r3", "r", "emptied", 99, ""),
            obj("r4", "r", "same", 14, &cols(&[("id", "integer")])),
        ]));
        let p = Probe { catalog: true, stats: true, targets: Vec::new(), always: Vec::new() };
        let e = p.measure(&[Vec::new(), before, Vec::new(), after], &[]);
        assert_eq!(
            e.destroys,
            vec![
                "drops table public.gone",
                "renames table public.old to public.new (what uses the old name stops working)",
                "changes column id of table public.old from integer to bigint",
                "drops column v of table public.old",
                "empties or rewrites table public.emptied (TRUNCATE)",
            ]
        );
        assert_eq!(e.whole_tables, vec![("public".into(), "gone".into()), ("public".into(), "emptied".into())]);
    }
}
