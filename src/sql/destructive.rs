//! Which statements destroy data or schema, and what they destroy, so the server can ask the user before sending
//! them (`--confirm-destructive`): DROP of a table, view, index, schema or sequence; ALTER TABLE … DROP COLUMN,
//! DROP CONSTRAINT or RENAME TO (others may use the old name); TRUNCATE; DELETE or UPDATE with no WHERE, or with a
//! WHERE that is always true.

use sqlparser::ast::{AlterTableOperation, FromTable, ObjectType, Statement, TableFactor, TableWithJoins};

/// What one statement destroys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destruction {
    /// In words, naming the objects: "DROP TABLE orders", "DELETE with no WHERE: every row of orders".
    pub summary: String,
    /// Tables whose rows it removes or rewrites wholesale, to tell the user how many rows are at stake.
    pub rows_of: Vec<String>,
}

/// What `stmt` destroys, or `None` for a statement that destroys nothing by itself.
pub fn destruction(stmt: &Statement) -> Option<Destruction> {
    match stmt {
        Statement::Drop { object_type, names, .. } => {
            let kind = match object_type {
                ObjectType::Table => "TABLE",
                ObjectType::View => "VIEW",
                ObjectType::MaterializedView => "MATERIALIZED VIEW",
                ObjectType::Index => "INDEX",
                ObjectType::Schema => "SCHEMA",
                ObjectType::Sequence => "SEQUENCE",
                ObjectType::Database => "DATABASE",
                ObjectType::Type => "TYPE",
                _ => return None,
            };
            let list = names.iter().map(ToString::to_string).collect::<Vec<_>>();
            let rows_of = if *object_type == ObjectType::Table { list.clone() } else { Vec::new() };
            Some(Destruction { summary: format!("DROP {kind} {}", list.join(", ")), rows_of })
        }
        Statement::Truncate(t) => {
            let list = t.table_names.iter().map(|n| n.name.to_string()).collect::<Vec<_>>();
            Some(Destruction { summary: format!("TRUNCATE {}: every row", list.join(", ")), rows_of: list })
        }
        Statement::AlterTable(a) => {
            let table = a.name.to_string();
            let parts: Vec<String> = a
                .operations
                .iter()
                .filter_map(|op| match op {
                    AlterTableOperation::DropColumn { column_names, .. } => Some(format!(
                        "DROP COLUMN {}",
                        column_names.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    )),
                    AlterTableOperation::DropConstraint { name, .. } => Some(format!("DROP CONSTRAINT {name}")),
                    AlterTableOperation::DropPrimaryKey { .. } => Some("DROP PRIMARY KEY".into()),
                    AlterTableOperation::DropForeignKey { name, .. } => Some(format!("DROP FOREIGN KEY {name}")),
                    AlterTableOperation::RenameTable { table_name } => {
                        Some(format!("RENAME {table_name} (queries using the old name stop working)"))
                    }
                    _ => None,
                })
                .collect();
            (!parts.is_empty())
                .then(|| Destruction { summary: format!("ALTER TABLE {table} {}", parts.join(", ")), rows_of: vec![] })
        }
        Statement::Delete(d) => {
            let tables = match &d.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => relation_names(t),
            };
            whole_table("DELETE", d.selection.is_none(), stmt, tables)
        }
        Statement::Update(u) => {
            whole_table("UPDATE", u.selection.is_none(), stmt, relation_names(std::slice::from_ref(&u.table)))
        }
        _ => None,
    }
}

/// A DELETE or UPDATE that reaches every row: no WHERE, or a WHERE with an always-true OR branch.
fn whole_table(verb: &str, no_where: bool, stmt: &Statement, tables: Vec<String>) -> Option<Destruction> {
    let why = if no_where {
        "with no WHERE"
    } else if super::tautology::warning(stmt).is_some() {
        "with a WHERE that is always true"
    } else {
        return None;
    };
    Some(Destruction { summary: format!("{verb} {why}: every row of {}", tables.join(", ")), rows_of: tables })
}

fn relation_names(tables: &[TableWithJoins]) -> Vec<String> {
    tables
        .iter()
        .filter_map(|t| match &t.relation {
            TableFactor::Table { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(sql: &str) -> Option<Destruction> {
        destruction(&super::super::parse_statement(sql).expect("parses"))
    }

    #[test]
    fn names_what_each_destructive_statement_destroys() {
        let d = of("DROP TABLE IF EXISTS app.orders, items").unwrap();
        assert_eq!(d.summary, "DROP TABLE app.orders, items");
        assert_eq!(d.rows_of, ["app.orders", "items"]);
        assert_eq!(of("DROP INDEX idx_a").unwrap().summary, "DROP INDEX idx_a");
        assert!(of("DROP VIEW v").unwrap().rows_of.is_empty());
        assert_eq!(of("DROP SCHEMA s").unwrap().summary, "DROP SCHEMA s");
        assert_eq!(of("DELETE FROM t").unwrap().rows_of, ["t"]);
        assert!(of("DELETE FROM t WHERE id = 1 OR 1 = 1").unwrap().summary.contains("always true"));
        assert_eq!(of("UPDATE t SET a = 1").unwrap().summary, "UPDATE with no WHERE: every row of t");
        assert!(of("ALTER TABLE t DROP COLUMN c").unwrap().summary.contains("DROP COLUMN c"));
        assert!(of("ALTER TABLE t DROP CONSTRAINT t_ck").unwrap().summary.contains("DROP CONSTRAINT t_ck"));
        assert!(of("ALTER TABLE t RENAME TO u").unwrap().summary.contains("RENAME TO u"));
    }

    #[test]
    fn leaves_targeted_and_additive_statements_alone() {
        for sql in [
            "DELETE FROM t WHERE id = $1",
            "UPDATE t SET a = 1 WHERE id = 2",
            "INSERT INTO t VALUES (1)",
            "CREATE TABLE t (id int)",
            "ALTER TABLE t ADD COLUMN c int",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "SELECT * FROM t",
        ] {
            assert_eq!(of(sql), None, "{sql}");
        }
    }
}
