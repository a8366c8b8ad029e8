//! Bound parameters, sent in PostgreSQL's text format so the server infers and parses their types: a JSON string
//! bound to an integer column works, as it does with psql. JSON arrays bound to array-typed parameters become
//! PostgreSQL array literals; JSON objects and arrays bound to anything else are sent as JSON text (json/jsonb).
//!
//! Which of the two a JSON array needs depends on the parameter's type. The statement's own text usually says it
//! ([`unprepared`]: `$1::text[]`, `CAST($1 AS int[])`, `= ANY($1)`, `$1::jsonb`), and then the value is sent with
//! its type left for the server to infer, as a scalar is: no round trip more. Only when the text does not (`VALUES
//! ($1)` into an array column) is the statement described first, which costs one.

use std::ops::ControlFlow;

use bytes::{BufMut, BytesMut};
use serde_json::Value;
use sqlparser::ast::{DataType, Expr};
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type, to_sql_checked};

/// One parameter value in text form; `None` is SQL NULL.
#[derive(Debug)]
pub struct TextParam(pub Option<String>);

impl TextParam {
    /// The text PostgreSQL parses `value` from for a parameter of type `ty`.
    pub fn from_json(value: &Value, ty: &Type) -> TextParam {
        TextParam::encode(value, matches!(ty.kind(), Kind::Array(_)))
    }

    /// The text of `value` for a parameter that is (`array_typed`) or is not of an array type.
    fn encode(value: &Value, array_typed: bool) -> TextParam {
        TextParam(match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) if array_typed => Some(array_literal(items)),
            other => Some(other.to_string()),
        })
    }
}

/// The texts of `values` for `text`'s parameters, to be sent with their types unspecified (the server infers
/// them), when that needs no description of the statement: always without JSON arrays, and with them when the
/// text says, for every use of each parameter holding one, whether it is of an array type (`array_typed`).
/// `None`: describe the statement first and use [`TextParam::from_json`] with the described types.
pub fn unprepared(text: &str, values: &[Value]) -> Option<Vec<TextParam>> {
    let forms = if values.iter().any(Value::is_array) { array_typed(text, values.len()) } else { Vec::new() };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Array(_) => Some(TextParam::encode(v, forms.get(i).copied().flatten()?)),
            _ => Some(TextParam::encode(v, false)),
        })
        .collect()
}

/// Per parameter (`$1` first): whether the statement's text makes it an array (`Some(true)`: cast to an array type,
/// or the array side of `= ANY(…)`/`ALL(…)`), something else (`Some(false)`: cast to a built-in type that is not an
/// array, `json`/`jsonb`/`text` among them), or does not say (`None`: a use without a cast, a cast to a type named
/// by the schema, which may be an array or a domain over one, uses that disagree, or a text that does not parse).
fn array_typed(text: &str, n: usize) -> Vec<Option<bool>> {
    let mut uses = vec![0usize; n];
    let mut typed = vec![0usize; n];
    let mut said: Vec<Option<bool>> = vec![None; n];
    let mut unsure = vec![false; n];
    let Some(statement) = crate::sql::parse_statement(text) else {
        return said;
    };
    let index = |e: &Expr| -> Option<usize> {
        let mut e = e;
        while let Expr::Nested(inner) = e {
            e = inner;
        }
        match e {
            Expr::Value(v) => match &v.value {
                sqlparser::ast::Value::Placeholder(p) => {
                    p.strip_prefix('$')?.parse::<usize>().ok().and_then(|k| k.checked_sub(1)).filter(|&k| k < n)
                }
                _ => None,
            },
            _ => None,
        }
    };
    let _ = sqlparser::ast::visit_expressions(&statement, |e: &Expr| {
        let context = match e {
            Expr::Value(_) => {
                if let Some(k) = index(e) {
                    uses[k] += 1;
                }
                None
            }
            Expr::Cast { expr, data_type, array: false, .. } => index(expr).map(|k| (k, is_array_type(data_type))),
            Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } => index(right).map(|k| (k, Some(true))),
            _ => None,
        };
        if let Some((k, form)) = context {
            typed[k] += 1;
            match (form, said[k]) {
                (None, _) => unsure[k] = true,
                (Some(f), Some(before)) if f != before => unsure[k] = true,
                (Some(f), _) => said[k] = Some(f),
            }
        }
        ControlFlow::<()>::Continue(())
    });
    (0..n).map(|k| if unsure[k] || uses[k] == 0 || typed[k] != uses[k] { None } else { said[k] }).collect()
}

/// Whether a cast's target is an array type: `Some(true)` for `T[]`/`ARRAY`, `Some(false)` for the other built-in
/// types, `None` for a name the schema defines (`_int4`, a domain), which only the database can resolve.
fn is_array_type(ty: &DataType) -> Option<bool> {
    match ty {
        DataType::Array(_) => Some(true),
        DataType::Custom(..) => None,
        _ => Some(false),
    }
}

/// `{1,"a b",NULL,{2,3}}` from a JSON array.
fn array_literal(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|v| match v {
            Value::Null => "NULL".to_string(),
            Value::Array(inner) => array_literal(inner),
            Value::String(s) => quote_element(s),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Object(_) => quote_element(&v.to_string()),
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn quote_element(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl ToSql for TextParam {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(s) => {
                out.put_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A value already in the binary format of its type, sent back to the server unchanged (used to ask the server for
/// the text form of types this crate does not decode).
#[derive(Debug)]
pub struct BinaryParam<'a>(pub &'a [u8]);

impl ToSql for BinaryParam<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Raw bytes of a result column, whatever its type.
pub struct RawCell<'a>(pub Option<&'a [u8]>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawCell<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawCell(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_become_text() {
        assert_eq!(TextParam::from_json(&json!(42), &Type::INT4).0.as_deref(), Some("42"));
        assert_eq!(TextParam::from_json(&json!(null), &Type::INT4).0, None);
        assert_eq!(TextParam::from_json(&json!({"a": 1}), &Type::JSONB).0.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(
            TextParam::from_json(&json!([1, "x\"y", null, [2]]), &Type::TEXT_ARRAY).0.as_deref(),
            Some(r#"{1,"x\"y",NULL,{2}}"#)
        );
    }

    fn texts(sql: &str, values: Value) -> Option<Vec<Option<String>>> {
        unprepared(sql, values.as_array().unwrap()).map(|v| v.into_iter().map(|p| p.0).collect())
    }

    #[test]
    fn the_text_says_how_a_json_array_is_written() {
        let arr = json!(["a", "b c"]);
        let literal = Some(r#"{"a","b c"}"#.to_string());
        let json_text = Some(r#"["a","b c"]"#.to_string());
        for sql in [
            "SELECT $1::text[]",
            "SELECT CAST($1 AS int[])",
            "SELECT ($1)::varchar(3)[]",
            "SELECT 1 WHERE 'a' = ANY($1)",
            "SELECT 1 WHERE 'a' <> ALL (($1))",
            "SELECT $1::text[] WHERE 'a' = ANY($1::text[])",
            "SELECT unnest($1::bigint[][])",
        ] {
            assert_eq!(texts(sql, json!([arr])), Some(vec![literal.clone()]), "{sql}");
        }
        for sql in ["SELECT $1::jsonb", "SELECT CAST($1 AS json)", "SELECT $1::text"] {
            assert_eq!(texts(sql, json!([arr])), Some(vec![json_text.clone()]), "{sql}");
        }
        // Scalars next to an array keep their text; the array's form comes from its own parameter.
        assert_eq!(texts("SELECT $2::text[], $1::int", json!([7, arr])), Some(vec![Some("7".into()), literal.clone()]));
    }

    #[test]
    fn a_text_that_does_not_say_asks_for_a_description() {
        let arr = json!(["a"]);
        for sql in [
            "INSERT INTO t (tags) VALUES ($1)",
            "SELECT unnest($1)",
            // One use says, the other does not: the database decides from the first it meets.
            "SELECT $1::text[], $1",
            "SELECT $1::text[], $1::jsonb",
            // Named by the schema: an array type's internal name, or a domain.
            "SELECT $1::_int4",
            "SELECT $1::tag_list",
            "SELECT $1::text[",
        ] {
            assert_eq!(texts(sql, json!([arr])), None, "{sql}");
        }
        // Without a JSON array nothing is parsed or asked: scalars are always sent as they are.
        assert_eq!(
            texts("INSERT INTO t VALUES ($1, $2)", json!(["x", {"k": 1}])),
            Some(vec![Some("x".into()), Some(r#"{"k":1}"#.into())])
        );
    }
}
