//! Identifier resolution as PostgreSQL does it: unquoted names fold to ASCII lowercase, quoted names keep their
//! case. (`U&"…"` names were already decoded into plain quoted names before parsing.)

use std::borrow::Cow;

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
    basename_ref(name).into_owned()
}

/// [`basename`] without a copy when the name is already in resolved form (the usual case: checked on every
/// function call of every statement).
pub(crate) fn basename_ref(name: &ObjectName) -> Cow<'_, str> {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(id))
            if id.quote_style.is_some() || !id.value.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            Cow::Borrowed(id.value.as_str())
        }
        Some(ObjectNamePart::Identifier(id)) => Cow::Owned(id.value.to_ascii_lowercase()),
        _ => Cow::Borrowed(""),
    }
}

/// True when a name part resolves to `resolved` (given in resolved form), without building the string.
pub(crate) fn part_is(part: &ObjectNamePart, resolved: &str) -> bool {
    match part {
        ObjectNamePart::Identifier(id) if id.quote_style.is_some() => id.value == resolved,
        ObjectNamePart::Identifier(id) => {
            id.value.len() == resolved.len()
                && id.value.bytes().zip(resolved.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b)
        }
        ObjectNamePart::Function(_) => resolved.is_empty(),
    }
}

/// Lowercased dotted form as written (`schema.table` when qualified), for reporting and tenant lookups.
pub(crate) fn dotted_lower(name: &ObjectName) -> String {
    parts(name).join(".").to_lowercase()
}
