//! `get_schema(table_name)`: columns in order (type, nullability, default, identity, generated), primary key,
//! constraints and indexes (with validity, as async indexes build) of one table or view. Accepts `table`,
//! `schema.table` and quoted names; an unknown name is an error that lists close matches. [`describe`] is shared
//! with the `dsql://schema/{table}` resource (`server::resources`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ToolError;
use super::{Env, parse_args};
use crate::exec::untrusted::DbText;
use crate::exec::{self, ErrorContext, Statement};

/// The MCP tool name clients call.
pub const NAME: &str = "get_schema";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    #[schemars(description = "name of the table: table, schema.table, or quoted \"Name\"")]
    table_name: String,
}

/// The `tools/list` entry: description, input schema and annotations.
pub fn definition() -> Value {
    json!({
        "name": NAME,
        "description": "Get the schema of a table or view: columns in order with type, nullability, default, \
    identity and generated expression; the primary key; unique, check and foreign-key constraints; indexes with their \
    definitions and whether they are valid/ready (async indexes build in the background). Accepts `table`, \
    `schema.table` and quoted names (\"MyTable\"). An unknown table is an error that lists the closest names.",
        "inputSchema": super::input_schema::input_schema::<Args>("get_schemaArguments"),
        "outputSchema": {
            "type": "object",
            "title": "get_schemaOutput",
            "properties": {
                "result": {"type": "array", "items": {"type": "object", "additionalProperties": true}, "title": "Result",
                           "description": "One object per column: column_name, data_type, ordinal_position, is_nullable, column_default, identity, generated"},
                "table": {"type": "object", "description": "schema, name and kind of the relation"},
                "primary_key": {"type": "array", "items": {"type": "string"}},
                "constraints": {"type": "array", "items": {"type": "object"}},
                "indexes": {"type": "array", "items": {"type": "object"}}
            },
            "required": ["result"]
        },
        "annotations": {"title": "Describe a table", "readOnlyHint": true, "destructiveHint": false,
                        "idempotentHint": true, "openWorldHint": false}
    })
}

/// One part of a possibly qualified name; quoted parts are exact, unquoted ones fold to lower case.
#[derive(Debug, PartialEq)]
struct Part {
    text: String,
    quoted: bool,
}

fn split_name(name: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut chars = name.trim().chars().peekable();
    loop {
        let mut text = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        text.push('"');
                    }
                    Some('"') => break,
                    Some(c) => text.push(c),
                    None => return Err(format!("table_name {name:?} has an unterminated quoted identifier")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                text.push(c);
                chars.next();
            }
            text = text.trim().to_string();
        }
        if text.is_empty() {
            return Err(format!("table_name {name:?} has an empty name part; use table or schema.table"));
        }
        parts.push(Part { text, quoted });
        match chars.next() {
            None => break,
            Some('.') => continue,
            Some(c) => return Err(format!("table_name {name:?}: unexpected {c:?} after a quoted name")),
        }
    }
    if parts.len() == 3 && parts[0].text.eq_ignore_ascii_case("postgres") {
        parts.remove(0);
    }
    if parts.len() > 2 {
        return Err(format!("table_name {name:?} has too many parts; use table or schema.table"));
    }
    Ok(parts)
}

fn part_matches(part: &Part, actual: &str, exact: bool) -> bool {
    if exact {
        if part.quoted { part.text == actual } else { part.text.to_lowercase() == actual }
    } else {
        part.text.eq_ignore_ascii_case(actual)
    }
}

/// The kind of relation `c` (a `pg_class` row) as a word; shared with the `dsql://schema` listing.
macro_rules! relation_kind_sql {
    () => {
        "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' \
         WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE c.relkind::text END"
    };
}
pub(crate) use relation_kind_sql;

/// User schemas only: the system catalogs are not described.
macro_rules! user_schemas {
    () => {
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
    };
}

/// Every table and view: read only when the name matched none, to suggest close names.
const RELATIONS: &str = concat!(
    "SELECT n.nspname AS schema, c.relname AS name \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')",
    user_schemas!(),
    " ORDER BY n.nspname, c.relname"
);

/// The candidates: every relation `c` (in schema `n`) whose name matches case-insensitively ($1 the table, $2 the
/// schema or NULL), so one round trip carries what the exact choice (made afterwards, in [`choose`]) needs.
macro_rules! candidate_filter {
    () => {
        " WHERE lower(c.relname) = lower($1::text) AND ($2::text IS NULL OR lower(n.nspname) = lower($2::text)) \
         AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    };
}

/// The candidates' details: joined to each candidate `c`.
macro_rules! candidates {
    () => {
        concat!(" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace", candidate_filter!())
    };
}

/// The relations the name can mean (case-insensitively), for the exact choice made in [`choose`], each with its
/// columns: one row per column, and one row with no column for a relation that has none. Reading only these, not
/// every relation, keeps the answer small in a database with thousands of tables; one read instead of two (relations,
/// then columns) saves PostgreSQL a statement's planning on every call.
const RELATION_COLUMNS: &str = concat!(
    "SELECT c.oid::int8 AS rel, n.nspname AS schema, c.relname AS name, ",
    relation_kind_sql!(),
    " AS kind, pg_catalog.pg_table_is_visible(c.oid) AS visible, a.attname AS column_name, \
     pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type, a.attnum AS ordinal_position, \
     NOT a.attnotnull AS is_nullable, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expr, \
     CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END AS identity, \
     a.attgenerated::text AS generated_kind \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum",
    candidate_filter!(),
    user_schemas!(),
    " ORDER BY n.nspname, c.relname, a.attnum"
);

const CONSTRAINTS: &str = concat!(
    "SELECT c.oid::int8 AS rel, k.conname AS name, CASE k.contype WHEN 'p' THEN 'PRIMARY KEY' \
     WHEN 'u' THEN 'UNIQUE' WHEN 'c' THEN 'CHECK' WHEN 'f' THEN 'FOREIGN KEY' WHEN 'x' THEN 'EXCLUDE' \
     ELSE k.contype::text END AS type, pg_catalog.pg_get_constraintdef(k.oid, true) AS definition, \
     k.convalidated AS validated, \
     ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = k.conrelid \
     AND a.attnum = ANY(k.conkey) ORDER BY array_position(k.conkey, a.attnum)) AS columns \
     FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid",
    candidates!(),
    " ORDER BY c.oid, k.contype, k.conname"
);

const INDEXES: &str = concat!(
    "SELECT c.oid::int8 AS rel, x.relname AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS definition, \
     i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid, \
     i.indisready AS is_ready \
     FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class x ON x.oid = i.indexrelid \
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid",
    candidates!(),
    " ORDER BY c.oid, x.relname"
);

/// Describes the table or view `table_name` (see [`describe`]).
pub async fn call(env: &Env, args: Option<Map<String, Value>>) -> Result<Value, ToolError> {
    let args: Args = parse_args(NAME, args, "{\"table_name\": string}")?;
    Ok(describe(env, &args.table_name).await?)
}

/// Why [`describe`] gave no description.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// The name cannot be a table name (empty part, unterminated quote, too many parts) or is ambiguous.
    #[error("{0}")]
    BadName(String),
    /// No table or view has that name; the message names the closest ones.
    #[error("{0}")]
    NotFound(String),
    /// No database, or the catalog read failed.
    #[error("{0}")]
    Failed(String),
}

/// The description of one table or view (`table`, `schema.table` or quoted names), as `get_schema` returns it:
/// shared by the tool and the `dsql://schema/{table}` resource.
pub async fn describe(env: &Env, table_name: &str) -> Result<Value, DescribeError> {
    let parts = split_name(table_name).map_err(DescribeError::BadName)?;
    let db = env.database().await.map_err(DescribeError::Failed)?;
    let (schema, table) = match parts.as_slice() {
        [t] => (Value::Null, Value::String(t.text.clone())),
        [s, t] => (Value::String(s.text.clone()), Value::String(t.text.clone())),
        _ => unreachable!("split_name returns one or two parts"),
    };
    let by_name = vec![table, schema];
    let statement =
        |text: String, params: Vec<Value>| Statement { text, command: "SELECT".into(), params, quota: Vec::new() };
    // One transaction, one round trip: the relations the name can mean with their columns, constraints and
    // indexes. A name that matches none costs a second round trip, for the suggestions.
    let statements = [
        statement(RELATION_COLUMNS.to_string(), by_name.clone()),
        statement(CONSTRAINTS.to_string(), by_name.clone()),
        statement(INDEXES.to_string(), by_name),
    ];
    let ctx = ErrorContext::default();
    let outcome = exec::run_catalog_reads(&db, &statements, env.settings.limits.unbounded_rows(), &ctx)
        .await
        .map_err(|e| DescribeError::Failed(e.to_string()))?;
    let mut sets = outcome.all_rows.into_iter();
    let mut next = || sets.next().unwrap_or_default();
    let (relation_columns, constraints, indexes) = (next(), next(), next());
    let (candidates, columns) = split_relations(relation_columns);
    let Some(relation) = choose(&parts, &candidates, table_name)? else {
        let all = [statement(RELATIONS.to_string(), vec![])];
        let outcome = exec::run_catalog_reads(&db, &all, env.settings.limits.unbounded_rows(), &ctx)
            .await
            .map_err(|e| DescribeError::Failed(e.to_string()))?;
        let relations = outcome.all_rows.into_iter().next().unwrap_or_default();
        return Err(not_found(&parts, &relations, table_name));
    };
    let oid = relation.get("oid").cloned().unwrap_or(Value::Null);
    let of_relation = |rows: Vec<Map<String, Value>>| -> Vec<Map<String, Value>> {
        rows.into_iter()
            .filter(|r| r.get("rel") == Some(&oid))
            .map(|mut r| {
                r.remove("rel");
                r
            })
            .collect()
    };
    let (columns, constraints, indexes) = (of_relation(columns), of_relation(constraints), of_relation(indexes));
    let result: Vec<Value> = columns.into_iter().map(column_entry).collect();
    let primary_key = constraints
        .iter()
        .find(|c| c.get("type") == Some(&json!("PRIMARY KEY")))
        .and_then(|c| c.get("columns").cloned())
        .unwrap_or(json!([]));
    Ok(json!({
        "result": result,
        "table": {"schema": relation.get("schema"), "name": relation.get("name"), "kind": relation.get("kind")},
        "primary_key": primary_key,
        "constraints": constraints,
        "indexes": indexes,
    }))
}

type Rows = Vec<Map<String, Value>>;

/// The rows of [`RELATION_COLUMNS`] as the candidate relations (`oid`, `schema`, `name`, `kind`, `visible`) and
/// their columns (`rel` and the column's fields).
fn split_relations(rows: Rows) -> (Rows, Rows) {
    let mut candidates: Rows = Vec::new();
    let mut columns = Vec::with_capacity(rows.len());
    for mut row in rows {
        let rel = row.get("rel").cloned().unwrap_or(Value::Null);
        let mut relation: Map<String, Value> =
            ["schema", "name", "kind", "visible"].iter().filter_map(|k| row.remove_entry(*k)).collect();
        // Rows come ordered by relation, so a new relation starts where the oid changes.
        if candidates.last().and_then(|c| c.get("oid")) != Some(&rel) {
            relation.insert("oid".into(), rel);
            candidates.push(relation);
        }
        if row.get("column_name").is_some_and(|name| !name.is_null()) {
            columns.push(row);
        }
    }
    (candidates, columns)
}

/// Split the stored expression into `column_default` or `generated` (a stored generated column's expression).
fn column_entry(mut row: Map<String, Value>) -> Value {
    let expr = row.remove("expr").unwrap_or(Value::Null);
    let generated = row.remove("generated_kind").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    if generated == "s" {
        row.insert("column_default".into(), Value::Null);
        row.insert("generated".into(), json!(format!("GENERATED ALWAYS AS ({}) STORED", expr.as_str().unwrap_or(""))));
    } else {
        row.insert("column_default".into(), expr);
        row.insert("generated".into(), Value::Null);
    }
    Value::Object(row)
}

fn field<'a>(r: &'a Map<String, Value>, k: &str) -> &'a str {
    r.get(k).and_then(Value::as_str).unwrap_or("")
}

fn schema_and_table(parts: &[Part]) -> (Option<&Part>, &Part) {
    match parts {
        [t] => (None, t),
        [s, t] => (Some(s), t),
        _ => unreachable!("split_name returns one or two parts"),
    }
}

/// The relation the name means among `candidates`: an exact match (quoted parts exact, unquoted ones folded to
/// lower case, as PostgreSQL resolves them) before a case-insensitive one, and the one on the search_path when
/// several match. `None` when nothing matches; an error when several match and none is on the search_path.
fn choose<'a>(
    parts: &[Part],
    candidates: &'a [Map<String, Value>],
    asked: &str,
) -> Result<Option<&'a Map<String, Value>>, DescribeError> {
    let (schema, table) = schema_and_table(parts);
    for exact in [true, false] {
        let found: Vec<&Map<String, Value>> = candidates
            .iter()
            .filter(|r| part_matches(table, field(r, "name"), exact))
            .filter(|r| schema.is_none_or(|s| part_matches(s, field(r, "schema"), exact)))
            .collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(Some(one)),
            many => {
                // Prefer what an unqualified name resolves to in PostgreSQL (the search_path).
                if let Some(visible) = many.iter().find(|r| r.get("visible") == Some(&Value::Bool(true))) {
                    return Ok(Some(visible));
                }
                let names: Vec<String> =
                    many.iter().map(|r| format!("{}.{}", field(r, "schema"), field(r, "name"))).collect();
                return Err(DescribeError::BadName(format!(
                    "table_name {asked:?} is ambiguous: it exists as {}. Pass a schema-qualified name.",
                    DbText(&names.join(", "))
                )));
            }
        }
    }
    Ok(None)
}

/// "Not found", with up to five close names from every relation of the database (sealed: they are database text).
fn not_found(parts: &[Part], relations: &[Map<String, Value>], asked: &str) -> DescribeError {
    let (_, table) = schema_and_table(parts);
    let wanted = table.text.to_lowercase();
    let mut scored: Vec<(usize, String)> = relations
        .iter()
        .map(|r| {
            let name = field(r, "name");
            let d = if name.to_lowercase().contains(&wanted) || wanted.contains(&name.to_lowercase()) {
                0
            } else {
                edit_distance(&wanted, &name.to_lowercase())
            };
            (d, format!("{}.{}", field(r, "schema"), name))
        })
        .filter(|(d, _)| *d <= (wanted.chars().count() / 2).max(3))
        .collect();
    scored.sort();
    let close: Vec<String> = scored.into_iter().take(5).map(|(_, n)| n).collect();
    let hint = if close.is_empty() {
        if relations.is_empty() {
            " The database has no tables yet.".to_string()
        } else {
            format!(" No similar names; the database has {} tables and views.", relations.len())
        }
    } else {
        format!(" Did you mean: {}?", DbText(&close.join(", ")))
    };
    DescribeError::NotFound(format!("table {asked:?} was not found.{hint}"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_with_quotes_and_schemas() {
        let p = split_name("\"My.Table\"").unwrap();
        assert_eq!(p, vec![Part { text: "My.Table".into(), quoted: true }]);
        let p = split_name("app.Orders").unwrap();
        assert_eq!(p.len(), 2);
        assert!(split_name("a..b").is_err());
        assert!(split_name("\"open").is_err());
        assert_eq!(split_name("postgres.public.t").unwrap().len(), 2);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("orders", "order"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
