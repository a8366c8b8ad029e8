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

use std::collections::{HashMap, HashSet};
use std::ops::Range;

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

/// The relations a fact is known to hold for. A join subtree's relations are pushed in order, so they are one
/// contiguous range of indexes (no per-join copies: a call of 60,000 joins stays linear).
type Valid = Range<usize>;

pub(super) struct Scope<'a> {
    pub rels: Vec<Rel<'a>>,
    facts: Vec<(&'a Expr, Valid)>,
}

impl<'a> Scope<'a> {
    /// Reads a FROM list (comma-separated items are cross joins) and the WHERE. Aliased parenthesized joins
    /// (`(a JOIN b ON …) AS j`) are proved on their own (their tables are not visible by name outside).
    pub fn new(t: &Tenant<'_>, from: &[&'a TableWithJoins], selection: Option<&'a Expr>) -> Result<Self, Finding> {
        let mut s = Scope { rels: Vec::new(), facts: Vec::new() };
        for twj in from {
            s.join_tree(t, twj)?;
        }
        if let Some(w) = selection {
            s.facts.push((w, 0..s.rels.len()));
        }
        Ok(s)
    }

    /// Adds a join tree's relations and ON facts; returns the range of the relations it holds.
    fn join_tree(&mut self, t: &Tenant<'_>, twj: &'a TableWithJoins) -> Result<Valid, Finding> {
        let mut left = self.factor(t, &twj.relation)?;
        for j in &twj.joins {
            let right = self.factor(t, &j.relation)?;
            let (on, valid) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (on(c), left.start..right.end),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (on(c), right.clone()),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (on(c), left.clone()),
                // FULL JOIN keeps unmatched rows of both sides; other joins are not PostgreSQL's.
                _ => (None, 0..0),
            };
            if let Some(e) = on {
                self.facts.push((e, valid));
            }
            left = left.start..right.end;
        }
        Ok(left)
    }

    fn factor(&mut self, t: &Tenant<'_>, f: &'a TableFactor) -> Result<Valid, Finding> {
        let here = self.rels.len();
        match f {
            // Also in DDL (CREATE TABLE … AS SELECT … FROM a view would copy every tenant's rows).
            TableFactor::Table { name, args: None, .. } if t.is_view(name) => Err(t.refuse_view(name)),
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
                Ok(here..here + 1)
            }
            TableFactor::NestedJoin { table_with_joins, alias: None } => self.join_tree(t, table_with_joins),
            TableFactor::NestedJoin { table_with_joins, alias: Some(_) } => {
                Scope::new(t, &[table_with_joins.as_ref()], None)?.prove(t)?;
                Ok(here..here)
            }
            // Subqueries and function calls are their own scopes (checked where the walk reaches them);
            // anything else holding a tenant table is caught as a reference nothing accounted for.
            _ => Ok(here..here),
        }
    }

    /// Refuses the first tenant relation that is not pinned; on success marks them all accounted for.
    pub fn prove(&self, t: &Tenant<'_>) -> Result<(), Finding> {
        let n = self.rels.len();
        if n == 0 {
            return Ok(());
        }
        // Qualifier → relation; `None` when two relations share it (then it pins neither).
        let mut by_qualifier: HashMap<&str, Option<usize>> = HashMap::new();
        for (i, r) in self.rels.iter().enumerate() {
            by_qualifier.entry(r.qualifier.as_str()).and_modify(|e| *e = None).or_insert(Some(i));
        }
        let cols = Columns { column: t.column, by_qualifier, only: (n == 1).then_some(0) };
        let mut pinned = vec![false; n];
        // `equal_to[b]`: relations whose column a fact valid for them makes equal to b's.
        let mut equal_to: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (e, valid) in &self.facts {
            let mut stack = vec![*e];
            while let Some(c) = stack.pop() {
                match c {
                    Expr::Nested(inner) => stack.push(inner),
                    Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                        stack.push(left);
                        stack.push(right);
                    }
                    Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => match (cols.of(left), cols.of(right)) {
                        (Some(a), None) if valid.contains(&a) && is_value(right) => pinned[a] = true,
                        (None, Some(b)) if valid.contains(&b) && is_value(left) => pinned[b] = true,
                        (Some(a), Some(b)) if a != b => {
                            if valid.contains(&a) {
                                equal_to[b].push(a);
                            }
                            if valid.contains(&b) {
                                equal_to[a].push(b);
                            }
                        }
                        _ => {}
                    },
                    Expr::BinaryOp { op: BinaryOperator::Or, .. } => {
                        for r in cols.pinned_by_or(c) {
                            if valid.contains(&r) {
                                pinned[r] = true;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // A relation equal to a pinned one is pinned (the equality holds only when the other's row is real).
        let mut work: Vec<usize> = (0..n).filter(|&r| pinned[r]).collect();
        while let Some(b) = work.pop() {
            for &a in &equal_to[b] {
                if !pinned[a] {
                    pinned[a] = true;
                    work.push(a);
                }
            }
        }
        if let Some(r) = pinned.iter().position(|p| !p) {
            let rel = &self.rels[r];
            return Err(t.refuse(
                rel.name,
                &format!(
                    "nothing in the statement limits {}.{} to one value where it filters those rows",
                    rel.qualifier, t.column
                ),
                &format!(
                    "Add {q}.{c} = $1 (or a literal) to the WHERE as an AND condition (or to the ON of an inner join; a \
                     LEFT JOIN's ON limits only its right side, so pin the left side in the WHERE)",
                    q = rel.qualifier,
                    c = t.column
                ),
            ));
        }
        t.accounted_extend(self.rels.iter().map(|r| r.name));
        Ok(())
    }
}

/// Resolves references to the tenant column to the relation they name.
struct Columns<'q> {
    column: &'q str,
    by_qualifier: HashMap<&'q str, Option<usize>>,
    /// The relation an unqualified reference names: PostgreSQL resolves it only when one relation in scope has
    /// that column.
    only: Option<usize>,
}

impl Columns<'_> {
    fn of(&self, e: &Expr) -> Option<usize> {
        match e {
            Expr::Nested(inner) => self.of(inner),
            Expr::Identifier(id) if names::ident(id) == self.column => self.only,
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                if names::ident(&parts[parts.len() - 1]) != self.column {
                    return None;
                }
                let q = names::ident(&parts[parts.len() - 2]);
                self.by_qualifier.get(q.as_str()).copied().flatten()
            }
            _ => None,
        }
    }

    /// Relations that every branch of an OR pins to the same value (each branch an AND of conditions):
    /// `t = 'a' OR t = 'b'` is two tenants, as `IN ('a', 'b')` is. Chains are walked with a stack; it recurses
    /// only for an OR inside an AND branch, which takes parentheses (bounded by the parser's nesting limit).
    fn pinned_by_or(&self, e: &Expr) -> HashSet<usize> {
        self.or_pins(e).into_iter().map(|(r, _)| r).collect()
    }

    fn or_pins(&self, e: &Expr) -> HashSet<(usize, String)> {
        let mut branches = Vec::new();
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            match x {
                Expr::Nested(inner) => stack.push(inner),
                Expr::BinaryOp { left, op: BinaryOperator::Or, right } => {
                    stack.push(left);
                    stack.push(right);
                }
                other => branches.push(other),
            }
        }
        let mut common: Option<HashSet<(usize, String)>> = None;
        for b in branches {
            let mut here = HashSet::new();
            let mut stack = vec![b];
            while let Some(x) = stack.pop() {
                match x {
                    Expr::Nested(inner) => stack.push(inner),
                    Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                        stack.push(left);
                        stack.push(right);
                    }
                    Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                        let pin = match (self.of(left), self.of(right)) {
                            (Some(a), None) => value_key(right).map(|k| (a, k)),
                            (None, Some(a)) => value_key(left).map(|k| (a, k)),
                            _ => None,
                        };
                        here.extend(pin);
                    }
                    // A nested OR inside an AND branch.
                    Expr::BinaryOp { op: BinaryOperator::Or, .. } => here.extend(self.or_pins(x)),
                    _ => {}
                }
            }
            common = Some(match common {
                None => here,
                Some(c) => c.intersection(&here).cloned().collect(),
            });
            if common.as_ref().is_some_and(HashSet::is_empty) {
                return HashSet::new();
            }
        }
        common.unwrap_or_default()
    }
}

fn on(c: &JoinConstraint) -> Option<&Expr> {
    match c {
        JoinConstraint::On(e) => Some(e),
        _ => None,
    }
}

/// The value a pin names, as text to compare pins by (`'a'`, `$1`; casts left out), when `e` is one.
pub(super) fn value_key(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) if !matches!(v.value, Value::Null) => Some(v.value.to_string()),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => value_key(expr),
        Expr::TypedString(t) => Some(t.value.to_string()),
        _ => None,
    }
}

/// A literal (not NULL) or a parameter, possibly cast: one value for the whole statement.
pub(super) fn is_value(e: &Expr) -> bool {
    value_key(e).is_some()
}
