//! Rules DSQL has lifted (catalog §0.1, rules `L01`–`L10` in [`super::rules`]): with `--dsql-version` earlier
//! than the date a feature shipped, statements using it are refused as that release refused them. With the
//! default (newest) version this module finds nothing.

use core::ops::ControlFlow;

use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, DataType, ExactNumberInfo, Expr, GeneratedAs, LockType, ObjectType,
    Query, Statement, TableConstraint, Visit, Visitor,
};

use super::finding::Finding;
use super::rules;
use super::version::DsqlVersion;

/// Findings for features `stmt` uses that DSQL did not support as of `version`.
pub(crate) fn check(stmt: &Statement, version: DsqlVersion) -> Vec<Finding> {
    if !version.is_pinned() {
        return Vec::new();
    }
    let mut h = History { version, out: Vec::new() };
    h.statement(stmt);
    let _ = stmt.visit(&mut h);
    h.out
}

struct History {
    version: DsqlVersion,
    out: Vec<Finding>,
}

impl History {
    /// Reports lifted rule `id` if it still applied at the pinned version; `detail` describes the statement when
    /// DSQL's wording was not recorded (or fills the recorded template).
    fn report(&mut self, id: &str, detail: &str) {
        let Some(rule) = rules::by_id(id) else { return };
        if !rule.applies_at(self.version) || self.out.iter().any(|f| f.rule == rule.rule_id()) {
            return;
        }
        let mut f = if rule.message.is_some_and(|m| m.contains("{}")) {
            rule.finding_with(detail)
        } else {
            rule.finding(&format!("{detail} is not supported in DSQL before {}", rule.until.unwrap_or("")))
        };
        f.fix = format!("{} (--dsql-version is {})", f.fix, self.version);
        self.out.push(f);
    }

    fn statement(&mut self, stmt: &Statement) {
        match stmt {
            Statement::CreateSequence { .. } => self.report("L01", "CREATE SEQUENCE"),
            Statement::AlterSequence(_) => self.report("L01", "ALTER SEQUENCE"),
            Statement::Drop { object_type: ObjectType::Sequence, .. } => self.report("L01", "DROP SEQUENCE"),
            Statement::Drop { object_type: ObjectType::Statistics, .. } => self.report("L09", "DROP STATISTICS"),
            Statement::CreateStatistics(_) => self.report("L09", "CREATE STATISTICS"),
            Statement::AlterStatistics(_) => self.report("L09", "ALTER STATISTICS"),
            Statement::CreateTable(ct) => {
                for col in &ct.columns {
                    self.column(col);
                }
                for c in &ct.constraints {
                    if matches!(c, TableConstraint::ForeignKey(_)) {
                        self.report("L08", "FOREIGN KEY");
                    }
                }
            }
            Statement::AlterTable(at) => {
                if at.r#async {
                    self.report("L04", "ALTER TABLE ASYNC … VALIDATE CONSTRAINT");
                }
                for op in &at.operations {
                    match op {
                        AlterTableOperation::AddColumn { column_def, .. } => self.column(column_def),
                        AlterTableOperation::DropColumn { .. } => self.report("L03", "ALTER TABLE … DROP COLUMN"),
                        AlterTableOperation::AddConstraint { constraint, not_valid } => {
                            if matches!(constraint, TableConstraint::ForeignKey(_)) {
                                self.report("L08", "FOREIGN KEY");
                            } else if *not_valid {
                                self.report("L04", "ADD CONSTRAINT … NOT VALID");
                            }
                        }
                        _ => {}
                    }
                }
            }
            Statement::CreateIndex(ci) => {
                let is_column = |e: &Expr| matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
                if ci.columns.iter().any(|c| !is_column(&c.column.expr)) {
                    self.report("L05", "an index on an expression");
                }
                if ci.predicate.is_some() {
                    self.report("L10", "a partial index (CREATE INDEX … WHERE)");
                }
            }
            _ => {}
        }
    }

    fn column(&mut self, col: &ColumnDef) {
        match &col.data_type {
            DataType::JSONB => self.report("L02", "jsonb"),
            DataType::Numeric(info) | DataType::Decimal(info) | DataType::Dec(info) => {
                let (p, s) = match info {
                    ExactNumberInfo::None => (0, 0),
                    ExactNumberInfo::Precision(p) => (*p, 0),
                    ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
                };
                if p > 38 || s > 37 {
                    self.report("L07", &format!("NUMERIC({p},{s}) (precision above 38 or scale above 37)"));
                }
            }
            _ => {}
        }
        for opt in &col.options {
            match &opt.option {
                ColumnOption::Generated {
                    generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                    generation_expr: None,
                    ..
                } => self.report("L01", "an identity column (GENERATED … AS IDENTITY)"),
                ColumnOption::ForeignKey(_) => self.report("L08", "REFERENCES (a foreign key)"),
                _ => {}
            }
        }
    }
}

impl Visitor for History {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if q.locks.iter().any(|l| matches!(l.lock_type, LockType::KeyShare)) {
            self.report("L06", "FOR KEY SHARE");
        }
        ControlFlow::Continue(())
    }
}
