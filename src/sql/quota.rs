//! DSQL limits that depend on what the database already holds (catalog X06, CT04, CT06, CT07, V01, A04, Q06; since
//! the 2026-12-07 revision also V05 statistics per table, Q10 sequences, X08 declared index key size): which
//! one a statement can hit, as data, so the local sandbox can count objects in its catalog before running it.
//! Object names are kept as written (quotes included) for PostgreSQL's own name resolution (`to_regclass`).

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Expr, SchemaName, Statement, TableConstraint};

use crate::sql::names;

/// A limit to check against the database before running a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaCheck {
    /// `CREATE INDEX` on `table`: at most 24 indexes per table (X06).
    NewIndex {
        /// The indexed table, as written.
        table: String,
    },
    /// `CREATE TABLE name` (no-op when it exists and `IF NOT EXISTS`): at most 1,000 tables (CT06).
    NewTable {
        /// The new table, as written.
        name: String,
    },
    /// `CREATE SCHEMA name`: at most 10 schemas (CT07).
    NewSchema {
        /// The new schema, as written.
        name: String,
    },
    /// `CREATE VIEW name`: at most 5,000 views (V01).
    NewView {
        /// The new view, as written.
        name: String,
    },
    /// `ALTER TABLE table ADD COLUMN` × `count`: at most 256 columns (CT04; documented 255, measured 256).
    AddColumns {
        /// The altered table, as written.
        table: String,
        /// How many columns the statement adds.
        count: usize,
    },
    /// `ALTER TABLE table DROP COLUMN …`: primary-key columns cannot be dropped (A04). Names as PostgreSQL
    /// stores them (unquoted names folded to lower case).
    DropColumns {
        /// The altered table, as written.
        table: String,
        /// The columns dropped.
        columns: Vec<String>,
    },
    /// `ALTER TABLE table DROP CONSTRAINT name`: the primary-key constraint cannot be dropped (A04, 2026-11-28;
    /// other constraints can). Name as PostgreSQL stores it.
    DropConstraint {
        /// The altered table, as written.
        table: String,
        /// The constraint dropped.
        name: String,
    },
    /// `ALTER TABLE table ALTER COLUMN column ADD GENERATED … AS IDENTITY`: only on a bigint column (Q06, Q04).
    AddIdentity {
        /// The altered table, as written.
        table: String,
        /// The column made an identity column.
        column: String,
    },
    /// `CREATE STATISTICS … FROM table`: at most 5 extended-statistics objects per table (V05, 2026-12-07).
    NewStatistics {
        /// The table the statistics are on, as written.
        table: String,
    },
    /// `CREATE SEQUENCE name`: at most 5,000 sequences per database (Q10, 2026-12-07).
    NewSequence {
        /// The new sequence, as written.
        name: String,
    },
    /// `CREATE INDEX … ON table (columns)`: the declared sizes of the key columns at most 2,000 bytes (X08,
    /// 2026-12-07). Plain column keys only, names as PostgreSQL stores them; expressions are not counted.
    IndexKeySize {
        /// The indexed table, as written.
        table: String,
        /// The plain key columns.
        columns: Vec<String>,
    },
    /// `ALTER TABLE … ADD CONSTRAINT … {UNIQUE | PRIMARY KEY} USING INDEX index`: the index must be valid, i.e. its
    /// async build job completed (X12, 2026-12-07). Index name as PostgreSQL stores it.
    IndexReady {
        /// The altered table, as written.
        table: String,
        /// The index the constraint would use.
        index: String,
    },
}

/// The database-dependent limits `stmt` can hit.
pub(crate) fn checks(stmt: &Statement) -> Vec<QuotaCheck> {
    match stmt {
        Statement::CreateIndex(ci) => {
            let table = ci.table_name.to_string();
            let columns: Vec<String> = ci
                .columns
                .iter()
                .filter_map(|c| match &c.column.expr {
                    Expr::Identifier(id) => Some(names::ident(id)),
                    _ => None,
                })
                .collect();
            vec![QuotaCheck::NewIndex { table: table.clone() }, QuotaCheck::IndexKeySize { table, columns }]
        }
        Statement::CreateStatistics(cs) => vec![QuotaCheck::NewStatistics { table: cs.table.to_string() }],
        Statement::CreateSequence { name, .. } => vec![QuotaCheck::NewSequence { name: name.to_string() }],
        Statement::CreateTable(ct) => vec![QuotaCheck::NewTable { name: ct.name.to_string() }],
        Statement::CreateView(cv) if !cv.materialized => vec![QuotaCheck::NewView { name: cv.name.to_string() }],
        Statement::CreateSchema {
            schema_name: SchemaName::Simple(n) | SchemaName::NamedAuthorization(n, _), ..
        } => {
            vec![QuotaCheck::NewSchema { name: names::parts(n).join(".") }]
        }
        Statement::CreateSchema { schema_name: SchemaName::UnnamedAuthorization(role), .. } => {
            vec![QuotaCheck::NewSchema { name: names::ident(role) }]
        }
        Statement::AlterTable(at) => {
            let table = at.name.to_string();
            let added = at.operations.iter().filter(|op| matches!(op, AlterTableOperation::AddColumn { .. })).count();
            let dropped: Vec<String> = at
                .operations
                .iter()
                .flat_map(|op| match op {
                    AlterTableOperation::DropColumn { column_names, .. } => {
                        column_names.iter().map(names::ident).collect()
                    }
                    _ => Vec::new(),
                })
                .collect();
            let mut out = Vec::new();
            for op in &at.operations {
                match op {
                    AlterTableOperation::DropConstraint { name, .. } => {
                        out.push(QuotaCheck::DropConstraint { table: table.clone(), name: names::ident(name) });
                    }
                    AlterTableOperation::AddConstraint {
                        constraint:
                            TableConstraint::UniqueUsingIndex(using) | TableConstraint::PrimaryKeyUsingIndex(using),
                        ..
                    } => {
                        out.push(QuotaCheck::IndexReady {
                            table: table.clone(),
                            index: names::ident(&using.index_name),
                        });
                    }
                    AlterTableOperation::AlterColumn { column_name, op: AlterColumnOperation::AddGenerated { .. } } => {
                        out.push(QuotaCheck::AddIdentity { table: table.clone(), column: names::ident(column_name) });
                    }
                    _ => {}
                }
            }
            if added > 0 {
                out.push(QuotaCheck::AddColumns { table: table.clone(), count: added });
            }
            if !dropped.is_empty() {
                out.push(QuotaCheck::DropColumns { table, columns: dropped });
            }
            out
        }
        _ => Vec::new(),
    }
}
