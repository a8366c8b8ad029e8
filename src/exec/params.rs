//! Bound parameters, sent in PostgreSQL's text format so the server infers and parses their types: a JSON string
//! bound to an integer column works, as it does with psql. JSON arrays bound to array-typed parameters become
//! PostgreSQL array literals; JSON objects and arrays bound to anything else are sent as JSON text (json/jsonb).

use bytes::{BufMut, BytesMut};
use serde_json::Value;
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type, to_sql_checked};

/// One parameter value in text form; `None` is SQL NULL.
#[derive(Debug)]
pub struct TextParam(pub Option<String>);

impl TextParam {
    /// The text PostgreSQL parses `value` from for a parameter of type `ty`.
    pub fn from_json(value: &Value, ty: &Type) -> TextParam {
        TextParam(match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) if matches!(ty.kind(), Kind::Array(_)) => Some(array_literal(items)),
            other => Some(other.to_string()),
        })
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
}
