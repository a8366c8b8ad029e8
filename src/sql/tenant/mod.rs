//! Multi-tenant scoping (`--tenant-column NAME`), failing closed: a statement runs only when the checker can
//! prove that every reference to a table having that column, in every scope of the statement (subqueries,
//! CTEs, set operations, LATERAL, EXISTS/IN, DML targets, UPDATE … FROM, DELETE … USING), is limited to one
//! value of it (see [`scope`] for what counts as a pin). Also:
//! - INSERT into a tenant table lists the column and gives it a literal or parameter in every row; ON CONFLICT DO
//!   UPDATE must pin the existing row (the conflict target includes the column, or the DO UPDATE's WHERE pins it).
//! - The tenant column cannot be assigned (UPDATE, DO UPDATE), dropped, renamed or retyped.
//! - Views and materialized views read by any statement are refused (their definition is not read, so what they
//!   expose proves nothing); functions and procedures outside `pg_catalog` are refused (their bodies may read
//!   any table), as are built-ins that read tables named in text (`query_to_xml`, `table_to_xml`, `ts_stat`, …) and
//!   the planner statistics views (they hold sample values of every tenant).
//! - MERGE, TRUNCATE and COPY of tenant tables are refused (no per-tenant form to check).
//! - DDL earlier in the same call or file counts for the statements after it ([`TenantCatalog::learn`]).
//! - In a query or DML statement, any reference to a tenant table that no rule above accounted for refuses the
//!   statement: a construct the checker does not know cannot slip through.

mod scope;

use core::cell::RefCell;
use core::ops::ControlFlow;
use std::collections::HashSet;

use sqlparser::ast::{
    AlterTableOperation, AssignmentTarget, ConflictTarget, Expr, FromTable, Insert, ObjectName, OnConflictAction,
    OnInsert, RenameTableNameKind, Select, SelectItem, SetExpr, Statement, TableFactor, TableObject, TableWithJoins,
    UpdateTableFromKind, Visit, Visitor,
};

use super::classify::{self, StatementClass};
use super::finding::Finding;
use super::names;
use scope::{Scope, is_value, value_key};

/// What tenant scoping needs to know about the database, read from its catalog once per call
/// (`tools::tenant_tables`). Names are lower-cased, both `name` and `schema.name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantCatalog {
    /// Tables (ordinary, partitioned, foreign) having the tenant column.
    pub tables: HashSet<String>,
    /// Views and materialized views outside PostgreSQL's own schemas.
    pub views: HashSet<String>,
    /// Functions and procedures outside PostgreSQL's own schemas (bare names).
    pub routines: HashSet<String>,
}

impl From<HashSet<String>> for TenantCatalog {
    /// Only the tenant tables (no views, no user-defined functions): for callers that know nothing else.
    fn from(tables: HashSet<String>) -> Self {
        TenantCatalog { tables, ..Default::default() }
    }
}

impl TenantCatalog {
    /// Adds one catalog row: `kind` is `t` (tenant table), `v` (view) or `f` (routine).
    pub fn add(&mut self, kind: &str, schema: &str, name: &str) {
        let (schema, name) = (schema.to_lowercase(), name.to_lowercase());
        let set = match kind {
            "t" => &mut self.tables,
            "v" => &mut self.views,
            _ => {
                self.routines.insert(name);
                return;
            }
        };
        set.insert(format!("{schema}.{name}"));
        set.insert(name);
    }
}

impl TenantCatalog {
    /// What a DDL statement earlier in the same call (or migration file) adds: the catalog was read before the
    /// call, so a table created, altered or renamed in it, a view or a function created in it, is taken to be a
    /// tenant table, a view, a routine for the statements after it (more than it may be: never less).
    pub(crate) fn learn(&mut self, stmt: &Statement) {
        let add = |set: &mut HashSet<String>, name: &ObjectName| {
            set.insert(key(name));
            set.insert(names::basename(name).to_lowercase());
        };
        match stmt {
            Statement::CreateTable(ct) => add(&mut self.tables, &ct.name),
            Statement::CreateView(v) => add(&mut self.views, &v.name),
            Statement::CreateFunction(f) => add(&mut self.routines, &f.name),
            Statement::CreateProcedure { name, .. } => add(&mut self.routines, name),
            Statement::AlterTable(a) => {
                let was_view = self.views.contains(&key(&a.name));
                add(&mut self.tables, &a.name);
                for op in &a.operations {
                    if let AlterTableOperation::RenameTable {
                        table_name: RenameTableNameKind::To(n) | RenameTableNameKind::As(n),
                    } = op
                    {
                        add(if was_view { &mut self.views } else { &mut self.tables }, n);
                        add(&mut self.tables, n);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Built-ins that run SQL given as text or read a table given by name: they reach tables no FROM names.
const READS_BY_TEXT: &[&str] = &[
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "table_to_xml",
    "table_to_xmlschema",
    "table_to_xml_and_xmlschema",
    "schema_to_xml",
    "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema",
    "database_to_xml",
    "database_to_xmlschema",
    "database_to_xml_and_xmlschema",
    "ts_stat",
    "ts_rewrite",
];

/// PostgreSQL's planner statistics: most common values and histograms of every column, every tenant's.
const STATISTICS_VIEWS: &[&str] =
    &["pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext_data"];

pub(crate) fn check(stmt: &Statement, column: &str, catalog: &TenantCatalog) -> Result<(), Finding> {
    let class = classify::class(stmt);
    let mut t = Tenant {
        column,
        catalog,
        schema_work: matches!(class, StatementClass::Ddl | StatementClass::Other),
        seen: Vec::new(),
        accounted: RefCell::new(HashSet::new()),
    };
    if let ControlFlow::Break(f) = stmt.visit(&mut t) {
        return Err(f);
    }
    if !t.schema_work {
        let accounted = t.accounted.borrow();
        if let Some((_, name)) = t.seen.iter().find(|(a, _)| !accounted.contains(a)) {
            return Err(t.refuse(
                name,
                "it is used where the checker cannot prove it is limited to one tenant",
                "Read and change tenant tables only through SELECT/INSERT/UPDATE/DELETE with the tenant column pinned",
            ));
        }
    }
    Ok(())
}

fn addr(n: &ObjectName) -> usize {
    core::ptr::from_ref(n) as usize
}

pub(crate) struct Tenant<'a> {
    pub(crate) column: &'a str,
    catalog: &'a TenantCatalog,
    /// DDL and other statements that do not read rows: table references in them are not data access (a
    /// query inside, as in CREATE TABLE … AS, is still checked).
    schema_work: bool,
    /// Every reference to a tenant table the walk met, and those a rule proved scoped (by address).
    seen: Vec<(usize, ObjectName)>,
    accounted: RefCell<HashSet<usize>>,
}

/// The catalog key for a name: `schema.table` for a qualified name (a database prefix is dropped), else `table`.
fn key(name: &ObjectName) -> String {
    let parts = names::parts(name);
    let n = parts.len();
    let k = if n >= 2 { format!("{}.{}", parts[n - 2], parts[n - 1]) } else { parts.concat() };
    k.to_lowercase()
}

impl<'a> Tenant<'a> {
    /// A name with the basename of a tenant table in any schema counts (a schema renamed or missing from the
    /// search path cannot make a tenant table look like another).
    pub(crate) fn is_tenant(&self, name: &ObjectName) -> bool {
        let t = &self.catalog.tables;
        t.contains(&key(name)) || t.contains(&names::basename(name).to_lowercase())
    }

    pub(crate) fn is_view(&self, name: &ObjectName) -> bool {
        let v = &self.catalog.views;
        v.contains(&key(name)) || v.contains(&names::basename(name).to_lowercase())
    }

    pub(crate) fn accounted_extend<'n>(&self, names: impl Iterator<Item = &'n ObjectName>) {
        self.accounted.borrow_mut().extend(names.map(addr));
    }

    pub(crate) fn refuse(&self, table: &ObjectName, what: &str, fix: &str) -> Finding {
        Finding::error(
            "tenant.unscoped",
            format!(
                "table {} has the tenant column {} but {what} (--tenant-column refuses what it cannot prove scoped)",
                names::dotted_lower(table),
                self.column
            ),
            fix.to_string(),
        )
    }

    pub(crate) fn refuse_view(&self, name: &ObjectName) -> Finding {
        self.refuse_text(
            format!(
                "{} is a view: tenant scoping (--tenant-column {}) does not read view definitions, so it cannot prove \
                 a view limited to one tenant",
                names::dotted_lower(name),
                self.column
            ),
            "Query the tables the view reads, with the tenant column pinned",
        )
    }

    fn refuse_text(&self, message: String, fix: &str) -> Finding {
        Finding::error("tenant.unscoped", message, fix.to_string())
    }

    fn function(&self, name: &ObjectName) -> Result<(), Finding> {
        let base = names::basename(name).to_lowercase();
        if READS_BY_TEXT.contains(&base.as_str()) {
            return Err(self.refuse_text(
                format!(
                    "{base}() reads tables named in its text, which tenant scoping (--tenant-column {}) cannot check",
                    self.column
                ),
                "Write the query itself, with the tenant column pinned",
            ));
        }
        if self.catalog.routines.contains(&base) {
            return Err(self.refuse_text(
                format!(
                    "{base}() is a user-defined function or procedure: its body may read tables without the tenant \
                     column {} pinned, and tenant scoping does not read function bodies",
                    self.column
                ),
                "Write the query it runs inline, with the tenant column pinned",
            ));
        }
        Ok(())
    }

    fn from_list(twj: &[TableWithJoins]) -> Vec<&TableWithJoins> {
        twj.iter().collect()
    }

    fn select(&self, s: &Select) -> Result<(), Finding> {
        Scope::new(self, &Self::from_list(&s.from), s.selection.as_ref())?.prove(self)
    }

    fn assigns_column(&self, target: &AssignmentTarget) -> bool {
        let names: &[ObjectName] = match target {
            AssignmentTarget::ColumnName(n) => std::slice::from_ref(n),
            AssignmentTarget::Tuple(v) => v,
        };
        names.iter().any(|n| names::basename(n) == self.column)
    }

    fn no_column_assignment<'x>(
        &self,
        table: &ObjectName,
        mut targets: impl Iterator<Item = &'x AssignmentTarget>,
    ) -> Result<(), Finding> {
        if targets.any(|a| self.assigns_column(a)) {
            return Err(self.refuse(
                table,
                "the statement assigns that column (moving rows between tenants)",
                "Leave the tenant column out of SET; copy rows to another tenant with INSERT … SELECT instead",
            ));
        }
        Ok(())
    }

    fn insert(&self, ins: &Insert) -> Result<(), Finding> {
        let TableObject::TableName(name) = &ins.table else { return Ok(()) };
        if !self.is_tenant(name) {
            return Ok(());
        }
        let col = self.column;
        let Some(idx) = ins.columns.iter().position(|c| names::basename(c) == col) else {
            return Err(self.refuse(
                name,
                "the INSERT does not list that column",
                &format!(
                    "List the columns explicitly, {col} among them, and give {col} a literal or parameter in every row"
                ),
            ));
        };
        let valued = match ins.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(v)) => v.rows.iter().all(|r| r.get(idx).is_some_and(is_value)),
            Some(SetExpr::Select(s)) => match s.projection.get(idx) {
                Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => is_value(e),
                _ => false,
            },
            _ => false,
        };
        if !valued || !ins.assignments.is_empty() {
            return Err(self.refuse(
                name,
                "the INSERT does not give it a literal or parameter value in every row",
                &format!("Give {col} a literal or parameter (VALUES, or the matching item of INSERT … SELECT)"),
            ));
        }
        match &ins.on {
            None => {}
            Some(OnInsert::OnConflict(oc)) => {
                if let OnConflictAction::DoUpdate(du) = &oc.action {
                    self.no_column_assignment(name, du.assignments.iter().map(|a| &a.target))?;
                    let target_has_column = matches!(&oc.conflict_target,
                        Some(ConflictTarget::Columns(c)) if c.iter().any(|i| names::ident(i) == col));
                    let qualifier =
                        ins.table_alias.as_ref().map_or_else(|| names::basename(name), |a| names::ident(&a.alias));
                    let where_pins = du.selection.as_ref().is_some_and(|w| self.existing_pin(w, &qualifier).is_some());
                    if !target_has_column && !where_pins {
                        return Err(self.refuse(
                            name,
                            "ON CONFLICT DO UPDATE may update an existing row of another tenant (the conflicting row's \
                             tenant is not pinned)",
                            &format!(
                                "Put {col} in the conflict target (ON CONFLICT ({col}, id), matching a unique index that \
                                 includes it) or add WHERE {qualifier}.{col} = $1 (or = EXCLUDED.{col}) to the DO UPDATE"
                            ),
                        ));
                    }
                }
            }
            Some(_) => {
                return Err(self.refuse(
                    name,
                    "the INSERT has an ON … UPDATE form the checker does not know",
                    "Use ON CONFLICT",
                ));
            }
        }
        self.accounted_extend(std::iter::once(name));
        Ok(())
    }

    /// When the DO UPDATE's WHERE forces the existing row's tenant column to one value (a literal, a parameter,
    /// or the inserted row's `EXCLUDED` value, which the INSERT was made to give as a value): that value as text,
    /// to compare OR branches by.
    fn existing_pin(&self, e: &Expr, qualifier: &str) -> Option<String> {
        let col = self.column;
        let is_existing = |x: &Expr| match x {
            Expr::Identifier(id) => names::ident(id) == col,
            Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                names::ident(&p[p.len() - 1]) == col && names::ident(&p[p.len() - 2]) == qualifier
            }
            _ => false,
        };
        let value = |x: &Expr| match x {
            Expr::CompoundIdentifier(p)
                if p.len() == 2 && names::ident(&p[0]) == "excluded" && names::ident(&p[1]) == col =>
            {
                Some("EXCLUDED".to_string())
            }
            other => value_key(other),
        };
        match e {
            Expr::Nested(inner) => self.existing_pin(inner, qualifier),
            Expr::BinaryOp { left, op: sqlparser::ast::BinaryOperator::And, right } => {
                self.existing_pin(left, qualifier).or_else(|| self.existing_pin(right, qualifier))
            }
            Expr::BinaryOp { left, op: sqlparser::ast::BinaryOperator::Or, right } => {
                let (l, r) = (self.existing_pin(left, qualifier)?, self.existing_pin(right, qualifier)?);
                (l == r).then_some(l)
            }
            Expr::BinaryOp { left, op: sqlparser::ast::BinaryOperator::Eq, right } => {
                if is_existing(left) {
                    value(right)
                } else if is_existing(right) {
                    value(left)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn statement(&self, s: &Statement) -> Result<(), Finding> {
        match s {
            Statement::Update(u) => {
                let mut from: Vec<&TableWithJoins> = vec![&u.table];
                if let Some(UpdateTableFromKind::BeforeSet(f) | UpdateTableFromKind::AfterSet(f)) = &u.from {
                    from.extend(f.iter());
                }
                if let TableFactor::Table { name, .. } = &u.table.relation
                    && self.is_tenant(name)
                {
                    self.no_column_assignment(name, u.assignments.iter().map(|a| &a.target))?;
                }
                Scope::new(self, &from, u.selection.as_ref())?.prove(self)
            }
            Statement::Delete(d) => {
                let (FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f)) = &d.from;
                let mut from = Self::from_list(f);
                if let Some(using) = &d.using {
                    from.extend(using.iter());
                }
                Scope::new(self, &from, d.selection.as_ref())?.prove(self)
            }
            Statement::Insert(ins) => self.insert(ins),
            Statement::Merge(m) => {
                for f in [&m.table, &m.source] {
                    if let TableFactor::Table { name, .. } = f
                        && (self.is_tenant(name) || self.is_view(name))
                    {
                        return Err(self.refuse(
                            name,
                            "MERGE is not checked for tenant scoping",
                            "Use INSERT … ON CONFLICT, UPDATE or DELETE with the tenant column pinned",
                        ));
                    }
                }
                Ok(())
            }
            Statement::Truncate(tr) => match tr.table_names.iter().find(|n| self.is_tenant(&n.name)) {
                Some(n) => Err(self.refuse(
                    &n.name,
                    "TRUNCATE removes every tenant's rows",
                    "DELETE … WHERE with the tenant column pinned",
                )),
                None => Ok(()),
            },
            Statement::AlterTable(a) if self.is_tenant(&a.name) => {
                let col = self.column;
                let touches = a.operations.iter().any(|op| match op {
                    AlterTableOperation::DropColumn { column_names, .. } => {
                        column_names.iter().any(|c| names::ident(c) == col)
                    }
                    AlterTableOperation::RenameColumn { old_column_name, .. } => names::ident(old_column_name) == col,
                    AlterTableOperation::AlterColumn { column_name, .. } => names::ident(column_name) == col,
                    _ => false,
                });
                if touches {
                    return Err(self.refuse(
                        &a.name,
                        "the statement drops, renames or alters that column, which would end the table's tenant \
                         scoping (or rewrite every tenant's values)",
                        "Change the tenant column outside the agent, with the server started without --tenant-column",
                    ));
                }
                Ok(())
            }
            Statement::Call(f) => self.function(&f.name),
            Statement::Copy { source: sqlparser::ast::CopySource::Table { table_name, .. }, .. }
                if self.is_tenant(table_name) || self.is_view(table_name) =>
            {
                Err(self.refuse(
                    table_name,
                    "COPY of a whole table cannot be limited to one tenant",
                    "SELECT … WHERE with the tenant column pinned",
                ))
            }
            _ => Ok(()),
        }
    }
}

impl<'a> Visitor for Tenant<'a> {
    type Break = Finding;

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<Finding> {
        to_flow(self.select(s))
    }

    fn pre_visit_query(&mut self, q: &sqlparser::ast::Query) -> ControlFlow<Finding> {
        // `TABLE orders` names a table without a FROM item (and so without a relation the walk would meet).
        if let SetExpr::Table(t) = q.body.as_ref()
            && let Some(name) = &t.table_name
        {
            let n = ObjectName::from(
                t.schema_name
                    .iter()
                    .chain(std::iter::once(name))
                    .map(|s| sqlparser::ast::Ident::new(s.as_str()))
                    .collect::<Vec<_>>(),
            );
            if self.is_tenant(&n) || self.is_view(&n) {
                return ControlFlow::Break(self.refuse(
                    &n,
                    "TABLE reads all its rows",
                    "SELECT … WHERE with the tenant column pinned",
                ));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<Finding> {
        to_flow(self.statement(s))
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<Finding> {
        // The parser reads `FROM ONLY orders` as a table named ONLY with the alias `orders`, while PostgreSQL
        // reads `orders`: the name checked would not be the table read.
        if let [sqlparser::ast::ObjectNamePart::Identifier(id)] = name.0.as_slice()
            && id.quote_style.is_none()
            && id.value.eq_ignore_ascii_case("only")
        {
            return ControlFlow::Break(self.refuse_text(
                format!("ONLY is not checked by tenant scoping (--tenant-column {})", self.column),
                "Leave out ONLY (or quote a table really named \"only\")",
            ));
        }
        let base = names::basename(name);
        if STATISTICS_VIEWS.contains(&base.as_str()) {
            return ControlFlow::Break(self.refuse_text(
                format!(
                    "{base} holds sample values of every tenant's rows; tenant scoping (--tenant-column {}) refuses it",
                    self.column
                ),
                "Ask for statistics outside the agent",
            ));
        }
        // Views read in a FROM are refused there whatever the statement; here the rest of a query or data
        // statement (INSERT INTO a view, …), while DDL may name them (DROP VIEW, ALTER VIEW).
        if !self.schema_work && self.is_view(name) {
            return ControlFlow::Break(self.refuse_view(name));
        }
        if self.is_tenant(name) {
            self.seen.push((addr(name), name.clone()));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<Finding> {
        match f {
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => {
                to_flow(self.function(name))
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<Finding> {
        match e {
            Expr::Function(f) => to_flow(self.function(&f.name)),
            _ => ControlFlow::Continue(()),
        }
    }
}

fn to_flow(r: Result<(), Finding>) -> ControlFlow<Finding> {
    match r {
        Ok(()) => ControlFlow::Continue(()),
        Err(f) => ControlFlow::Break(f),
    }
}
