//! Tool input schemas, derived with schemars from each tool's argument struct (the struct the call is read
//! into, so the schema cannot drift from what is accepted), in the shape AWS's Python server (pydantic)
//! publishes: the root titled `<tool>Arguments`, each property titled from its name (`sql_list` → `Sql List`),
//! an optional value as `anyOf: [T, {"type": "null"}]` (strict schema linters refuse `type` arrays), no
//! `$schema`, no integer `format`, and no `additionalProperties` (unknown arguments are refused when the call is
//! read, with a message naming them).

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// The `inputSchema` of a tool whose arguments are read into `T`.
pub fn input_schema<T: JsonSchema>(title: &str) -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = true;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(root) = &mut schema {
        root.remove("additionalProperties");
        // A struct's doc comment is for the code's readers; the tool's description says what it does.
        root.remove("description");
        root.insert("title".into(), Value::String(title.into()));
        root.entry("properties").or_insert_with(|| Value::Object(Map::new()));
        if root.get("required").and_then(Value::as_array).is_some_and(Vec::is_empty) {
            root.remove("required");
        }
        if let Some(Value::Object(properties)) = root.get_mut("properties") {
            for (name, property) in properties.iter_mut() {
                if let Value::Object(p) = property {
                    shape_property(name, p);
                }
            }
        }
    }
    schema
}

/// The schema of one bound value (`params`): see [`super::param_value_schema`].
pub fn params_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let value = json!({"type": ["array", "null"], "items": super::param_value_schema()});
    value.try_into().unwrap_or_default()
}

/// `params_list`: one optional list of bound values per statement.
pub fn params_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let value = json!({"type": ["array", "null"],
        "items": {"anyOf": [{"type": "array", "items": super::param_value_schema()}, {"type": "null"}]}});
    value.try_into().unwrap_or_default()
}

/// Add the `cluster` property to a database tool's input schema: the cluster names as an enum, optional (`anyOf`
/// with null, default null, as pydantic writes an optional argument) unless `required` (several clusters, no
/// default).
pub fn add_cluster(schema: &mut Value, names: &[&str], required: bool) {
    let Value::Object(root) = schema else { return };
    let description = if required {
        "The cluster to run on (this server has several and no default): one of the names listed"
    } else {
        "The cluster to run on (default: the server's default cluster); the result names the cluster that answered"
    };
    let choice = json!({"type": "string", "enum": names});
    let property = if required {
        let mut p = choice;
        p["title"] = json!("Cluster");
        p["description"] = json!(description);
        p
    } else {
        json!({"anyOf": [choice, {"type": "null"}], "default": null, "title": "Cluster", "description": description})
    };
    if let Value::Object(properties) = root.entry("properties").or_insert_with(|| json!({})) {
        properties.insert("cluster".into(), property);
    }
    if required {
        let list = root.entry("required").or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(json!("cluster"));
        }
    }
}

/// The `cluster` of a database tool's result: which cluster, Region and role answered.
pub fn cluster_output_schema() -> Value {
    json!({"type": "object", "description": "The cluster that answered: its name, AWS Region (null off DSQL) and \
        database role", "properties": {"name": {"type": "string"}, "region": {"anyOf": [{"type": "string"},
        {"type": "null"}]}, "role": {"anyOf": [{"type": "string"}, {"type": "null"}]}}})
}

/// A property as pydantic writes it.
fn shape_property(name: &str, p: &mut Map<String, Value>) {
    strip_integer_format(p);
    let nullable = match p.get("type") {
        Some(Value::Array(types)) if types.len() == 2 && types.contains(&json!("null")) => {
            types.iter().find(|t| *t != "null").cloned()
        }
        _ => None,
    };
    match nullable {
        Some(inner_type) => {
            // `{type: [T, null], …constraints}` → `{anyOf: [{type: T, …constraints}, {type: null}]}`; the
            // annotations stay outside.
            let mut inner = Map::new();
            inner.insert("type".into(), inner_type);
            let keys: Vec<String> = p.keys().filter(|k| !is_annotation(k) && *k != "type").cloned().collect();
            for k in keys {
                if let Some(v) = p.remove(&k) {
                    inner.insert(k, v);
                }
            }
            p.remove("type");
            p.insert("anyOf".into(), json!([Value::Object(inner), {"type": "null"}]));
        }
        // A default of null on a value that cannot be null (an optional argument advertised by its type).
        None if p.get("default") == Some(&Value::Null) && !p.contains_key("anyOf") => {
            p.remove("default");
        }
        None => {}
    }
    p.entry("title").or_insert_with(|| Value::String(title_case(name)));
}

fn is_annotation(key: &str) -> bool {
    matches!(key, "title" | "description" | "default")
}

/// schemars marks Rust integer widths (`"format": "uint"`); pydantic does not.
fn strip_integer_format(p: &mut Map<String, Value>) {
    if p.get("format").and_then(Value::as_str).is_some_and(|f| f.starts_with("int") || f.starts_with("uint")) {
        p.remove("format");
    }
}

/// pydantic's default title: words split on `_`, each capitalised (`start_index` → `Start Index`).
fn title_case(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_follow_pydantic() {
        assert_eq!(title_case("sql_list"), "Sql List");
        assert_eq!(title_case("where"), "Where");
        assert_eq!(title_case("dry_run"), "Dry Run");
    }
}
