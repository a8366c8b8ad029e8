//! DSQL's transaction-level rules over a whole `sql_list` (one transaction): at most one DDL (T01), no DDL
//! mixed with DML (T02), at most 3,000 rows inserted by `INSERT … VALUES` (T06). A per-statement linter cannot
//! see these.

use super::classify::StatementClass;
use super::finding::Finding;
use super::rules;

/// What the transaction rules need to know about one statement.
pub(crate) struct TxStatement {
    pub class: StatementClass,
    pub command: String,
    pub insert_rows: usize,
}

/// Row limit per transaction (catalog T06).
pub const ROW_LIMIT: usize = 3000;

pub(crate) fn check(list: &[TxStatement]) -> Vec<Finding> {
    let mut out = Vec::new();
    let rule = |id: &str| rules::by_id(id).unwrap_or_else(|| unreachable!("catalog rule {id} exists (tested)"));
    let ddl: Vec<usize> = (0..list.len()).filter(|&i| list[i].class == StatementClass::Ddl).collect();
    let dml: Vec<usize> = (0..list.len()).filter(|&i| list[i].class == StatementClass::Dml).collect();
    if ddl.len() > 1 {
        let mut f = rule("T01").finding("");
        f.fix = format!(
            "Send each DDL statement in its own transact call: sql_list[{}] ({}) and sql_list[{}] ({}) are both DDL",
            ddl[0], list[ddl[0]].command, ddl[1], list[ddl[1]].command
        );
        out.push(f.at(ddl[1]));
    }
    if let (Some(&d), Some(&m)) = (ddl.first(), dml.first()) {
        let mut f = rule("T02").finding("");
        f.fix = format!(
            "Run the DDL (sql_list[{d}], {}) and the data change (sql_list[{m}], {}) in separate transact calls",
            list[d].command, list[m].command
        );
        out.push(f.at(d.max(m)));
    }
    let mut rows = 0usize;
    for (i, s) in list.iter().enumerate() {
        rows += s.insert_rows;
        if rows > ROW_LIMIT {
            let mut f = rule("T06").finding("");
            f.fix = format!(
                "This transaction inserts {rows} rows by sql_list[{i}]; DSQL allows at most {ROW_LIMIT} rows per transaction. \
                 Split the VALUES into batches of at most {ROW_LIMIT} rows, one transact call each"
            );
            out.push(f.at(i));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(class: StatementClass, rows: usize) -> TxStatement {
        TxStatement { class, command: format!("{class:?}"), insert_rows: rows }
    }

    #[test]
    fn flags_second_ddl_mix_and_rows() {
        let f = check(&[st(StatementClass::Ddl, 0), st(StatementClass::Ddl, 0)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].statement_index, Some(1));
        assert_eq!(f[0].message, "multiple ddl statements not supported in a transaction");
        let f = check(&[st(StatementClass::Dml, 1), st(StatementClass::Ddl, 0)]);
        assert_eq!(f[0].message, "ddl and dml are not supported in the same transaction");
        let f = check(&[st(StatementClass::Dml, 2000), st(StatementClass::Dml, 1001)]);
        assert_eq!(f[0].sqlstate.as_deref(), Some("54000"));
        assert!(
            check(&[st(StatementClass::Dml, 3000), st(StatementClass::Read, 0), st(StatementClass::Other, 0)])
                .is_empty()
        );
    }
}
