//! Reading query plans and saying what is wrong with them: one plan shape for PostgreSQL's JSON and DSQL's text
//! ([`plan`]), the conditions a plan prints ([`predicate`]), the findings catalog as data ([`findings`]), the read
//! inside a write for `analyze` ([`dml`]) and the answer a person reads ([`render`]). Used by the `explain_query`
//! tool; nothing here touches a database.

pub mod dml;
pub mod findings;
pub mod plan;
pub mod predicate;
pub mod render;

#[cfg(test)]
mod tests;
