//! The read inside a write, for `analyze`: EXPLAIN ANALYZE runs its statement, so a write is never analyzed;
//! the SELECT that reads the same rows is suggested instead, derived from the parsed statement:
//! `UPDATE t SET c = e [FROM f] WHERE p` → `SELECT e AS c FROM t[, f] WHERE p`;
//! `DELETE FROM t [USING u] WHERE p` → `SELECT * FROM t[, u] WHERE p`;
//! `INSERT INTO t … SELECT q` → `q` (the query that produces the rows). `INSERT … VALUES` reads nothing.

use sqlparser::ast::{AssignmentTarget, FromTable, Insert, SetExpr, Statement, UpdateTableFromKind};

/// The SELECT that reads what `stmt` would write, when there is one.
pub fn equivalent_select(stmt: &Statement) -> Option<String> {
    match stmt {
        Statement::Update(u) => {
            let items: Vec<String> = u
                .assignments
                .iter()
                .map(|a| match &a.target {
                    AssignmentTarget::ColumnName(c) => format!("{} AS {}", a.value, c),
                    AssignmentTarget::Tuple(cs) => format!(
                        "{} AS ({})",
                        a.value,
                        cs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    ),
                })
                .collect();
            let mut from = vec![u.table.to_string()];
            if let Some(UpdateTableFromKind::AfterSet(f) | UpdateTableFromKind::BeforeSet(f)) = &u.from {
                from.extend(f.iter().map(ToString::to_string));
            }
            Some(format!("SELECT {} FROM {}{}", items.join(", "), from.join(", "), where_(&u.selection)))
        }
        Statement::Delete(d) => {
            let (FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t)) = &d.from;
            let mut from: Vec<String> = t.iter().map(ToString::to_string).collect();
            from.extend(d.using.iter().flatten().map(ToString::to_string));
            Some(format!("SELECT * FROM {}{}", from.join(", "), where_(&d.selection)))
        }
        Statement::Insert(Insert { source: Some(q), .. }) if !matches!(q.body.as_ref(), SetExpr::Values(_)) => {
            Some(q.to_string())
        }
        _ => None,
    }
}

fn where_(p: &Option<sqlparser::ast::Expr>) -> String {
    p.as_ref().map(|p| format!(" WHERE {p}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select_for(sql: &str) -> Option<String> {
        equivalent_select(&crate::sql::parse_statement(sql).expect("parses"))
    }

    #[test]
    fn writes_become_the_reads_of_the_same_rows() {
        assert_eq!(
            select_for("UPDATE orders SET status = 'paid', n = n + 1 WHERE customer_id = 7").as_deref(),
            Some("SELECT 'paid' AS status, n + 1 AS n FROM orders WHERE customer_id = 7")
        );
        assert_eq!(
            select_for("UPDATE o SET v = x.v FROM x WHERE o.id = x.id").as_deref(),
            Some("SELECT x.v AS v FROM o, x WHERE o.id = x.id")
        );
        assert_eq!(
            select_for("DELETE FROM t USING u WHERE t.k = u.k AND u.z > 1").as_deref(),
            Some("SELECT * FROM t, u WHERE t.k = u.k AND u.z > 1")
        );
        assert_eq!(select_for("DELETE FROM t").as_deref(), Some("SELECT * FROM t"));
        assert_eq!(
            select_for("INSERT INTO t (a) SELECT b FROM u WHERE c = 1").as_deref(),
            Some("SELECT b FROM u WHERE c = 1")
        );
        assert_eq!(select_for("INSERT INTO t VALUES (1)"), None);
    }
}
