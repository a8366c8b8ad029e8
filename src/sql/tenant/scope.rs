//! One query scope's FROM tree and filters, and the proof that every tenant table in it is pinned.
//!
//! A *fact* is a condition known to hold on an output row whenever a given relation's row in it is real (not
//! the NULLs an outer join adds): the WHERE holds for every output row; an inner join's ON for every relation on
//! either side; a LEFT JOIN's ON only for the right (nullable) side, a RIGHT JOIN's only for the left; a FULL
//! JOIN's for neither. Outer joins higher up only add NULL-extended rows, so a fact stays true for the real rows.
//!
//! A tenant relation `r` is pinned when a fact valid for `r` says `r.col = value` (every branch of an OR
//! saying so counts), or says `r.col = s.col` for a pinned tenant relation `s`: that equality is true only when
//! `s`'s row is real, and then `s`'s own facts hold. Anything else (IS NOT NULL, `col = col`, casts of the
//! column, IN lists, facts from other scopes) proves nothing, and the statement is refused.

use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, ObjectName, TableFactor, TableWithJoins, Value,
};

use super::Tenant;
use crate::sql::finding::Finding;
use crate::sql::names;

/// A tenant table referenced in this scope.
pub(super) struct Rel<'a> {
    pub name: &'a ObjectName,
    /// What columns are qualified with: the alias, else the table's basename.
    pub qualifier: String,
}

/// Which relations a fact is known to hold for.
enum Valid {
    All,
    Only(Vec<usize>),
}

impl Valid {
    fn covers(&self, r: usize) -> bool {
        match self {
            Valid::All => true,
            Valid::Only(v) => v.contains(&r),
        }
    }
}

pub(super) struct Scope<'a> {
    pub rels: Vec<Rel<'a>>,
    facts: Vec<(&'a Expr, Valid)>,
}

impl<'a> Scope<'a> {
    /// Reads a FROM list (comma-separated items are cross joins) and the WHERE. Aliased parenthesized joins
    /// (`(a JOIN b ON …) AS j`) are proved on their own (their tables are not visible by name outside).
    pub fn new(t: &Tenant<'_>, from: &[&'a TableWithJoins], selection: Option<&'a Expr>) -> Result<Self, Finding> {
        let mut s = Scope { rels: Vec::new(), facts: Vec::new() };
        if let Some(w) = selection {
            s.facts.push((w, Valid::All));
        }
        for twj in from {
            s.join_tree(t, twj)?;
        }
        Ok(s)
    }

    /// Adds a join tree's relations and ON facts; returns the indexes of the relations it holds.
    fn join_tree(&mut self, t: &Tenant<'_>, twj: &'a TableWithJoins) -> Result<Vec<usize>, Finding> {
        let mut left = self.factor(t, &twj.relation)?;
        for j in &twj.joins {
            let right = self.factor(t, &j.relation)?;
            let (on, valid) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => {
                    (on(c), Valid::Only(left.iter().chain(&right).copied().collect()))
                }
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (on(c), Valid::Only(right.clone())),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (on(c), Valid::Only(left.clone())),
                // FULL JOIN keeps unmatched rows of both sides; other joins are not PostgreSQL's.
                _ => (None, Valid::Only(Vec::new())),
            };
            if let Some(e) = on {
                self.facts.push((e, valid));
            }
            left.extend(right);
        }
        Ok(left)
    }

    fn factor(&mut self, t: &Tenant<'_>, f: &'a TableFactor) -> Result<Vec<usize>, Finding> {
        match f {
            TableFactor::Table { name, alias, args: None, .. } if t.is_tenant(name) => {
                if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
                    // `orders AS o(a, tenant_id)` renames columns by position: the name no longer says which.
                    return Err(t.refuse(
                        name,
                        "its alias renames columns, so the tenant column cannot be told by name",
                        "Drop the column list from the alias and use the columns' own names",
                    ));
                }
                let qualifier = alias.as_ref().map_or_else(|| names::basename(name), |a| names::ident(&a.name));
                self.rels.push(Rel { name, qualifier });
                Ok(vec![self.rels.len() - 1])
            }
            TableFactor::NestedJoin { table_with_joins, alias: None } => self.join_tree(t, table_with_joins),
            TableFactor::NestedJoin { table_with_joins, alias: Some(_) } => {
                let inner = Scope::new(t, &[table_with_joins.as_ref()], None)?;
                inner.prove(t)?;
                t.accounted_extend(inner.rels.iter().map(|r| r.name));
                Ok(Vec::new())
            }
            // Subqueries and function calls are their own scopes (checked where the walk reaches them);
            // anything else holding a tenant table is caught as a reference nothing accounted for.
            _ => Ok(Vec::new()),
        }
    }

    /// Refuses the first tenant relation that is not pinned; on success marks them all accounted for.
    pub fn prove(&self, t: &Tenant<'_>) -> Result<(), Finding> {
        let mut pinned = vec![false; self.rels.len()];
        // Least fixed point: each round pins at least one more relation or stops.
        loop {
            let mut changed = false;
            for r in 0..self.rels.len() {
                if !pinned[r] && self.pinned_by_facts(t, r, &pinned) {
                    pinned[r] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if let Some(r) = pinned.iter().position(|p| !p) {
            let rel = &self.rels[r];
            return Err(t.refuse(
                rel.name,
                &format!("nothing in the statement limits {}.{} to one value where it filters those rows", rel.qualifier, t.column),
                &format!(
                    "Add {q}.{c} = $1 (or a literal) to the WHERE as an AND condition (or to the ON of an inner join; a LEFT \
                     JOIN's ON limits only its right side, so pin the left side in the WHERE)",
                    q = rel.qualifier,
                    c = t.column
                ),
            ));
        }
        t.accounted_extend(self.rels.iter().map(|r| r.name));
        Ok(())
    }

    fn pinned_by_facts(&self, t: &Tenant<'_>, r: usize, pinned: &[bool]) -> bool {
        self.facts.iter().filter(|(_, v)| v.covers(r)).any(|(e, _)| self.pins(t, e, r, pinned))
    }

    /// Does `e`, holding as a whole, force relation `r`'s tenant column to one value?
    fn pins(&self, t: &Tenant<'_>, e: &Expr, r: usize, pinned: &[bool]) -> bool {
        match e {
            Expr::Nested(inner) => self.pins(t, inner, r, pinned),
            Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                self.pins(t, left, r, pinned) || self.pins(t, right, r, pinned)
            }
            Expr::BinaryOp { left, op: BinaryOperator::Or, right } => {
                self.pins(t, left, r, pinned) && self.pins(t, right, r, pinned)
            }
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                let (l, rr) = (self.column_of(t, left), self.column_of(t, right));
                match (l, rr) {
                    (Some(a), None) => a == r && is_value(right),
                    (None, Some(b)) => b == r && is_value(left),
                    (Some(a), Some(b)) => (a == r && b != r && pinned[b]) || (b == r && a != r && pinned[a]),
                    (None, None) => false,
                }
            }
            _ => false,
        }
    }

    /// The relation whose tenant column `e` names, if it names exactly one.
    fn column_of(&self, t: &Tenant<'_>, e: &Expr) -> Option<usize> {
        match e {
            Expr::Nested(inner) => self.column_of(t, inner),
            // Unqualified: PostgreSQL resolves it only when one relation in scope has that column.
            Expr::Identifier(id) if names::ident(id) == t.column && self.rels.len() == 1 => Some(0),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                if names::ident(&parts[parts.len() - 1]) != t.column {
                    return None;
                }
                let q = names::ident(&parts[parts.len() - 2]);
                let mut hits = self.rels.iter().enumerate().filter(|(_, rel)| rel.qualifier == q);
                match (hits.next(), hits.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn on(c: &JoinConstraint) -> Option<&Expr> {
    match c {
        JoinConstraint::On(e) => Some(e),
        _ => None,
    }
}

/// A literal (not NULL) or a parameter, possibly cast: one value for the whole statement.
pub(super) fn is_value(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => !matches!(v.value, Value::Null),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => is_value(expr),
        Expr::TypedString(_) => true,
        _ => false,
    }
}
