//! Identifier resolution as PostgreSQL does it: unquoted names fold to ASCII lowercase, quoted names keep their
//! case. (`U&"…"` names were already decoded into plain quoted names before parsing.)

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};

pub(crate) fn ident(id: &Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_ascii_lowercase() }
}

/// Resolved parts of a dotted name; non-identifier parts (dialect functions) resolve to an empty string.
pub(crate) fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(id) => ident(id),
            ObjectNamePart::Function(_) => String::new(),
        })
        .collect()
}

/// Last part of a dotted name (the function or table basename).
pub(crate) fn basename(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(id)) => ident(id),
        _ => String::new(),
    }
}

/// Lowercased dotted form as written (`schema.table` when qualified), for reporting and tenant lookups.
pub(crate) fn dotted_lower(name: &ObjectName) -> String {
    parts(name).join(".").to_lowercase()
}
