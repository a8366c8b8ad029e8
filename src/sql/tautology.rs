//! The one injection-shape heuristic we keep, as a warning only: in write mode, an UPDATE or DELETE whose WHERE
//! has an `OR` branch that is always true (`OR 1=1`, `OR 'a'='a'`, `OR TRUE`, `OR x = x`) changes every row.
//! Other injection shapes are not refusals: bound parameters are the defence, and the agent writes the SQL.

use sqlparser::ast::{BinaryOperator, Expr, Statement, Value};

use super::finding::Finding;

pub(crate) fn warning(stmt: &Statement) -> Option<Finding> {
    let (verb, selection) = match stmt {
        Statement::Update(u) => ("UPDATE", u.selection.as_ref()?),
        Statement::Delete(d) => ("DELETE", d.selection.as_ref()?),
        _ => return None,
    };
    if !has_true_or_branch(selection, 0) {
        return None;
    }
    Some(Finding::warning(
        "write.tautology_predicate",
        format!("the {verb}'s WHERE has an OR branch that is always true, so it affects every row"),
        "Check the predicate; pass values as parameters instead of splicing them into the SQL",
    ))
}

fn has_true_or_branch(e: &Expr, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::Or, right } => {
            always_true(left)
                || always_true(right)
                || has_true_or_branch(left, depth + 1)
                || has_true_or_branch(right, depth + 1)
        }
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            has_true_or_branch(left, depth + 1) || has_true_or_branch(right, depth + 1)
        }
        Expr::Nested(inner) => has_true_or_branch(inner, depth + 1),
        _ => false,
    }
}

fn always_true(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => always_true(inner),
        Expr::Value(v) => matches!(v.value, Value::Boolean(true)),
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => match (left.as_ref(), right.as_ref()) {
            (Expr::Value(a), Expr::Value(b)) => {
                a.value == b.value && !matches!(a.value, Value::Null | Value::Placeholder(_))
            }
            (Expr::Identifier(a), Expr::Identifier(b)) => a.value == b.value,
            _ => false,
        },
        _ => false,
    }
}
