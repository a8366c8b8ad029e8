//! Multi-tenant scoping (`--tenant-column NAME`): every statement that reads or changes a table having that
//! column must pin it to one value — `NAME = $n` or `NAME = <literal>` as a top-level AND condition of the WHERE
//! (or a JOIN … ON) for SELECT/UPDATE/DELETE, and a literal or parameter value for INSERT.

use core::ops::ControlFlow;
use std::collections::HashSet;

use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, JoinConstraint, JoinOperator, ObjectName, Select, SelectItem, SetExpr, Statement,
    TableFactor, TableObject, TableWithJoins, Value, Visit, Visitor,
};

use super::finding::Finding;
use super::names;

pub(crate) fn check(stmt: &Statement, column: &str, tenant_tables: &HashSet<String>) -> Result<(), Finding> {
    let mut v = Tenant { column, tables: tenant_tables };
    match stmt.visit(&mut v) {
        ControlFlow::Break(f) => Err(f),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Tenant<'a> {
    column: &'a str,
    tables: &'a HashSet<String>,
}

/// A tenant table referenced in a FROM list: its name as written and the qualifier columns use for it.
struct Scoped {
    name: String,
    qualifier: String,
}

impl Tenant<'_> {
    fn is_tenant(&self, name: &ObjectName) -> bool {
        let dotted = names::dotted_lower(name);
        self.tables.contains(&dotted)
    }

    fn refuse(&self, table: &str, what: &str) -> Finding {
        Finding::error(
            "tenant.unscoped",
            format!("table {table} has the tenant column {} but {what}", self.column),
            format!(
                "Constrain every use of {table} to one tenant: WHERE {table}.{col} = $1 (or a literal) as a top-level AND \
                 condition, and give {col} a value in every INSERT",
                col = self.column
            ),
        )
    }

    fn collect(&self, twj: &[TableWithJoins], scoped: &mut Vec<Scoped>, conds: &mut Vec<Expr>) {
        for t in twj {
            self.factor(&t.relation, scoped);
            for j in &t.joins {
                self.factor(&j.relation, scoped);
                if let Some(JoinConstraint::On(e)) = join_constraint(&j.join_operator) {
                    conds.push(e.clone());
                }
            }
        }
    }

    fn factor(&self, f: &TableFactor, scoped: &mut Vec<Scoped>) {
        if let TableFactor::Table { name, alias, args: None, .. } = f
            && self.is_tenant(name)
        {
            let qualifier = alias.as_ref().map_or_else(|| names::basename(name), |a| names::ident(&a.name));
            scoped.push(Scoped { name: names::dotted_lower(name), qualifier });
        }
    }

    fn require(&self, scoped: &[Scoped], conds: &[Expr]) -> Result<(), Finding> {
        let mut conjuncts = Vec::new();
        for c in conds {
            split_and(c, &mut conjuncts);
        }
        for s in scoped {
            let unqualified_ok = scoped.len() == 1;
            let pinned = conjuncts.iter().any(|c| self.pins(c, &s.qualifier, unqualified_ok));
            if !pinned {
                return Err(self.refuse(
                    &s.name,
                    &format!("the statement does not constrain {}.{} to one value", s.qualifier, self.column),
                ));
            }
        }
        Ok(())
    }

    fn pins(&self, e: &Expr, qualifier: &str, unqualified_ok: bool) -> bool {
        let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = e else {
            return matches!(e, Expr::Nested(inner) if self.pins(inner, qualifier, unqualified_ok));
        };
        let is_col = |x: &Expr| match x {
            Expr::Identifier(id) => unqualified_ok && names::ident(id).eq_ignore_ascii_case(self.column),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                names::ident(&parts[parts.len() - 1]).eq_ignore_ascii_case(self.column)
                    && names::ident(&parts[parts.len() - 2]).eq_ignore_ascii_case(qualifier)
            }
            _ => false,
        };
        (is_col(left) && is_value(right)) || (is_col(right) && is_value(left))
    }

    fn insert(&self, ins: &sqlparser::ast::Insert) -> Result<(), Finding> {
        let TableObject::TableName(name) = &ins.table else { return Ok(()) };
        if !self.is_tenant(name) {
            return Ok(());
        }
        let table = names::dotted_lower(name);
        let Some(idx) = ins.columns.iter().position(|c| names::basename(c).eq_ignore_ascii_case(self.column)) else {
            return Err(self.refuse(
                &table,
                "the INSERT does not list that column (list the columns explicitly and give it a value)",
            ));
        };
        let ok = match ins.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(v)) => v.rows.iter().all(|r| r.get(idx).is_some_and(is_value)),
            Some(SetExpr::Select(s)) => match s.projection.get(idx) {
                Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => is_value(e),
                _ => false,
            },
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.refuse(&table, "the INSERT does not give it a literal or parameter value in every row"))
        }
    }
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c) => Some(c),
        _ => None,
    }
}

fn split_and(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) => split_and(inner, out),
        other => out.push(other.clone()),
    }
}

/// A literal (not NULL) or a parameter, possibly cast.
fn is_value(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => !matches!(v.value, Value::Null),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => is_value(expr),
        Expr::TypedString(_) => true,
        _ => false,
    }
}

impl Visitor for Tenant<'_> {
    type Break = Finding;

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<Finding> {
        let mut scoped = Vec::new();
        let mut conds: Vec<Expr> = s.selection.iter().cloned().collect();
        self.collect(&s.from, &mut scoped, &mut conds);
        match self.require(&scoped, &conds) {
            Ok(()) => ControlFlow::Continue(()),
            Err(f) => ControlFlow::Break(f),
        }
    }

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<Finding> {
        let result = match s {
            Statement::Update(u) => {
                let mut scoped = Vec::new();
                let mut conds: Vec<Expr> = u.selection.iter().cloned().collect();
                self.collect(std::slice::from_ref(&u.table), &mut scoped, &mut conds);
                if let Some(
                    sqlparser::ast::UpdateTableFromKind::BeforeSet(f)
                    | sqlparser::ast::UpdateTableFromKind::AfterSet(f),
                ) = &u.from
                {
                    self.collect(f, &mut scoped, &mut conds);
                }
                self.require(&scoped, &conds)
            }
            Statement::Delete(d) => {
                let mut scoped = Vec::new();
                let mut conds: Vec<Expr> = d.selection.iter().cloned().collect();
                let (FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f)) = &d.from;
                self.collect(f, &mut scoped, &mut conds);
                if let Some(using) = &d.using {
                    self.collect(using, &mut scoped, &mut conds);
                }
                self.require(&scoped, &conds)
            }
            Statement::Insert(ins) => self.insert(ins),
            Statement::Copy { source: sqlparser::ast::CopySource::Table { table_name, .. }, .. }
                if self.is_tenant(table_name) =>
            {
                Err(self.refuse(
                    &names::dotted_lower(table_name),
                    "COPY cannot be limited to one tenant (use SELECT … WHERE instead)",
                ))
            }
            Statement::Merge(m) => match &m.table {
                TableFactor::Table { name, .. } if self.is_tenant(name) => {
                    Err(self.refuse(&names::dotted_lower(name), "MERGE cannot be checked for tenant scoping"))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(f) => ControlFlow::Break(f),
        }
    }
}
