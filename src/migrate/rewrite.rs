//! Rewrites the planner applies with `fix`, beyond dsql-lint's: `ALTER TABLE … ADD COLUMN c type DEFAULT x
//! NOT NULL` (refused by DSQL) becomes the bare column, `SET DEFAULT`, a batched backfill of existing rows, and a
//! `CHECK (c IS NOT NULL) NOT VALID` constraint validated asynchronously. Also reads an UPDATE or DELETE as a
//! backfill when it has the simple single-table shape a keyset walk can batch.

use sqlparser::ast::{
    AlterTableOperation, AssignmentTarget, ColumnOption, FromTable, Statement, TableFactor, TableWithJoins,
};

use super::backfill::BackfillSpec;

/// One piece of a rewritten statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// A statement to run as written.
    Sql(String),
    /// An UPDATE or DELETE to run as a batched backfill.
    Backfill(BackfillSpec),
}

/// The DSQL-legal pieces of an `ADD COLUMN` carrying `DEFAULT` and/or `NOT NULL`, and a sentence saying what
/// changed; `None` when the statement is not that (or carries other constraints, which have no safe rewrite).
pub fn split_add_column(stmt: &Statement) -> Option<(Vec<Piece>, String)> {
    let Statement::AlterTable(at) = stmt else { return None };
    if at.r#async || at.operations.len() != 1 {
        return None;
    }
    let AlterTableOperation::AddColumn { if_not_exists, column_def, .. } = &at.operations[0] else { return None };
    let mut default = None;
    let mut not_null = false;
    for opt in &column_def.options {
        match &opt.option {
            ColumnOption::Default(e) => default = Some(e.to_string()),
            ColumnOption::NotNull => not_null = true,
            ColumnOption::Null => {}
            _ => return None,
        }
    }
    if default.is_none() && !not_null {
        return None;
    }
    let table = at.name.to_string();
    let col = column_def.name.to_string();
    let if_exists = if at.if_exists { "IF EXISTS " } else { "" };
    let if_not_exists = if *if_not_exists { "IF NOT EXISTS " } else { "" };
    let mut pieces = vec![Piece::Sql(format!(
        "ALTER TABLE {if_exists}{table} ADD COLUMN {if_not_exists}{col} {}",
        column_def.data_type
    ))];
    let mut said = vec![format!("ADD COLUMN {col} without constraints")];
    if let Some(d) = &default {
        pieces.push(Piece::Sql(format!("ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {d}")));
        pieces.push(Piece::Backfill(BackfillSpec {
            table: table.clone(),
            set: Some(format!("{col} = {d}")),
            filter: Some(format!("{col} IS NULL")),
            delete: false,
            batch_size: super::backfill::DEFAULT_BATCH,
        }));
        said.push(format!("SET DEFAULT {d} for new rows"));
        said.push(format!("a batched backfill of existing rows ({col} = {d} WHERE {col} IS NULL)"));
    }
    if not_null {
        let bare_table = at.name.0.last().map(|p| p.to_string()).unwrap_or_default();
        let name = constraint_name(&bare_table, &column_def.name.value);
        pieces
            .push(Piece::Sql(format!("ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({col} IS NOT NULL) NOT VALID")));
        pieces.push(Piece::Sql(format!("ALTER TABLE ASYNC {table} VALIDATE CONSTRAINT {name}")));
        said.push(format!(
            "NOT NULL as CHECK ({col} IS NOT NULL) NOT VALID, then ALTER TABLE ASYNC … VALIDATE CONSTRAINT {name} (an \
             async job; it fails if existing rows are still NULL)"
        ));
    }
    Some((pieces, format!("ADD COLUMN with DEFAULT/NOT NULL split into: {}", said.join("; "))))
}

/// `<table>_<column>_not_null`, quoted when it needs to be, at most 63 bytes.
fn constraint_name(table: &str, column: &str) -> String {
    let table = table.trim_matches('"');
    let mut name = format!("{table}_{column}_not_null");
    while name.len() > 63 {
        name.remove(0);
    }
    if name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        name
    } else {
        super::quote_ident(&name)
    }
}

/// An UPDATE or DELETE of one table, without FROM/USING, RETURNING, joins or an alias, as a backfill spec.
pub fn as_backfill(stmt: &Statement) -> Option<BackfillSpec> {
    let simple = |t: &TableWithJoins| match &t.relation {
        TableFactor::Table { name, alias: None, args: None, .. } if t.joins.is_empty() => Some(name.to_string()),
        _ => None,
    };
    match stmt {
        Statement::Update(u) => {
            if u.from.is_some() || u.returning.is_some() || u.limit.is_some() || !u.order_by.is_empty() {
                return None;
            }
            let table = simple(&u.table)?;
            let set: Vec<String> = u.assignments.iter().map(ToString::to_string).collect();
            Some(BackfillSpec {
                table,
                set: Some(set.join(", ")),
                filter: u.selection.as_ref().map(ToString::to_string),
                delete: false,
                batch_size: super::backfill::DEFAULT_BATCH,
            })
        }
        Statement::Delete(d) => {
            if d.using.is_some() || d.returning.is_some() || d.limit.is_some() || !d.tables.is_empty() {
                return None;
            }
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
            let [only] = from.as_slice() else { return None };
            Some(BackfillSpec {
                table: simple(only)?,
                set: None,
                filter: d.selection.as_ref().map(ToString::to_string),
                delete: true,
                batch_size: super::backfill::DEFAULT_BATCH,
            })
        }
        _ => None,
    }
}

/// The columns an UPDATE's SET assigns (lower-cased unless quoted), for the re-run safety note.
pub fn assigned_columns(stmt: &Statement) -> Vec<String> {
    let Statement::Update(u) = stmt else { return Vec::new() };
    u.assignments
        .iter()
        .flat_map(|a| match &a.target {
            AssignmentTarget::ColumnName(n) => vec![n.clone()],
            AssignmentTarget::Tuple(v) => v.clone(),
        })
        .filter_map(|n| n.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Statement {
        crate::sql::parse_statement(sql).expect("parses")
    }

    #[test]
    fn add_column_with_default_and_not_null_is_split() {
        let (pieces, said) =
            split_add_column(&parse("ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active'")).unwrap();
        assert_eq!(pieces[0], Piece::Sql("ALTER TABLE users ADD COLUMN status TEXT".into()));
        assert_eq!(pieces[1], Piece::Sql("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active'".into()));
        let Piece::Backfill(b) = &pieces[2] else { panic!("{pieces:?}") };
        assert_eq!(b.set.as_deref(), Some("status = 'active'"));
        assert_eq!(b.filter.as_deref(), Some("status IS NULL"));
        assert_eq!(
            pieces[3],
            Piece::Sql(
                "ALTER TABLE users ADD CONSTRAINT users_status_not_null CHECK (status IS NOT NULL) NOT VALID".into()
            )
        );
        assert_eq!(pieces[4], Piece::Sql("ALTER TABLE ASYNC users VALIDATE CONSTRAINT users_status_not_null".into()));
        assert!(said.contains("SET DEFAULT"), "{said}");
        assert!(split_add_column(&parse("ALTER TABLE users ADD COLUMN note text")).is_none());
        assert!(split_add_column(&parse("ALTER TABLE users ADD COLUMN e text UNIQUE DEFAULT 'x'")).is_none());
    }

    #[test]
    fn simple_updates_and_deletes_are_backfills() {
        let b = as_backfill(&parse("UPDATE t SET a = 1, b = b + 1 WHERE a IS NULL")).unwrap();
        assert_eq!(
            (b.table.as_str(), b.set.as_deref(), b.filter.as_deref()),
            ("t", Some("a = 1, b = b + 1"), Some("a IS NULL"))
        );
        let b = as_backfill(&parse("DELETE FROM app.t WHERE created < '2020-01-01'")).unwrap();
        assert!(b.delete && b.table == "app.t");
        assert!(as_backfill(&parse("UPDATE t SET a = 1 RETURNING id")).is_none());
        assert!(as_backfill(&parse("UPDATE t AS x SET a = 1")).is_none());
        assert!(as_backfill(&parse("DELETE FROM t USING u WHERE t.id = u.id")).is_none());
        assert_eq!(assigned_columns(&parse("UPDATE t SET A = 1, (b, c) = (1, 2)")), ["a", "b", "c"]);
    }
}
