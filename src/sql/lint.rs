//! The `dsql_lint` MCP tool body: dsql-lint in-process (no subprocess), output shaped as the Python server's
//! (`{diagnostics, fixed_sql, summary}`), plus diagnostics for rules dsql-lint misses (from our catalog checks)
//! and `transaction_diagnostics`: what DSQL's transaction rules say if the input's statements run as one
//! transaction (one `transact` call, or one multi-statement simple query such as `psql -c`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::classify;
use super::dsql;
use super::finding::Finding;
use super::lexer::{self, Kind};
use super::parse;
use super::rules;
use super::text;
use super::txn;

/// Largest input accepted, in characters (as upstream's `maxLength`).
pub const MAX_INPUT_CHARS: usize = 1_000_000;
const PREVIEW_MAX_CHARS: usize = 80;

/// Lints `sql` for DSQL compatibility. `dialect` is `postgres` or `mysql` (mysqldump DDL, always converted).
pub fn run(sql: &str, fix: bool, dialect: &str) -> Result<Value, String> {
    let chars = sql.chars().count();
    if chars > MAX_INPUT_CHARS {
        return Err(format!(
            "sql is {chars} characters long; dsql_lint accepts at most {MAX_INPUT_CHARS}. Split the file and lint the parts separately"
        ));
    }
    let mysql = match dialect.trim().to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "" => false,
        "mysql" => true,
        other => return Err(format!("unknown dialect '{other}': use \"postgres\" (default) or \"mysql\"")),
    };
    if sql.trim().is_empty() {
        return Ok(json!({"diagnostics": [], "fixed_sql": null, "summary": {"errors": 0, "warnings": 0, "fixed": 0}}));
    }
    // dsql-lint and our own pass are independent: run them on two threads (the bulk of a 1 MB lint).
    let (diags, fixed_sql, stmts) = std::thread::scope(|scope| {
        let ours = (!mysql).then(|| scope.spawn(|| split(sql)));
        let (diags, fixed_sql) = if mysql {
            let out = dsql_lint::fix_sql_mysql(sql);
            (out.diagnostics, Some(out.sql))
        } else if fix {
            let out = dsql_lint::fix_sql(sql);
            (out.diagnostics, Some(out.sql))
        } else {
            (dsql_lint::lint_sql(sql), None)
        };
        // For MySQL input our checks run on the converted SQL.
        let stmts = match ours {
            Some(handle) => handle.join().unwrap_or_default(),
            None => split(fixed_sql.as_deref().unwrap_or_default()),
        };
        (diags, fixed_sql, stmts)
    });
    let (mut errors, mut warnings, mut fixed) = (0usize, 0usize, 0usize);
    let mut diagnostics = Vec::with_capacity(diags.len());
    for d in &diags {
        match d.fix_result {
            dsql_lint::FixResult::Unfixable => errors += 1,
            dsql_lint::FixResult::FixedWithWarning(_) => warnings += 1,
            dsql_lint::FixResult::Fixed(_) => fixed += usize::from(fix || mysql),
        }
        let mut v = serde_json::to_value(d).unwrap_or_else(|_| json!({}));
        if let Value::Object(m) = &mut v {
            m.insert("statement_preview".into(), Value::String(preview(&d.statement)));
        }
        diagnostics.push(v);
    }
    // Catalog rule ids dsql-lint already reported, by line, so our own findings do not repeat them.
    let mut lint_lines: HashMap<usize, Vec<String>> = HashMap::new();
    for d in &diags {
        if let Some(r) = rules::for_lint_rule(&dsql::lint_rule_id(&d.rule)) {
            lint_lines.entry(d.line).or_default().push(r.rule_id());
        }
    }
    for s in &stmts {
        for f in &s.own {
            let covered = (s.line..=s.last_line).any(|l| lint_lines.get(&l).is_some_and(|ids| ids.contains(&f.rule)));
            if covered || mysql {
                continue;
            }
            errors += usize::from(f.is_error());
            warnings += usize::from(!f.is_error());
            diagnostics.push(json!({
                "rule": f.rule,
                "line": s.line,
                "message": with_state(f),
                "suggestion": f.fix,
                "statement_preview": preview(&s.text),
                "fix_result": {"status": "unfixable"},
            }));
        }
    }
    let tx: Vec<txn::TxStatement> = stmts.iter().filter_map(|s| s.tx.as_ref()).map(TxInfo::clone_tx).collect();
    let tx_lines: Vec<usize> = stmts.iter().filter(|s| s.tx.is_some()).map(|s| s.line).collect();
    let transaction_diagnostics: Vec<Value> = txn::check(&tx)
        .into_iter()
        .map(|f| {
            let i = f.statement_index.unwrap_or(0);
            json!({
                "rule": f.rule,
                "line": tx_lines.get(i).copied().unwrap_or(1),
                "message": with_state(&f),
                "suggestion": format!("If these statements run in one transaction (one transact call, or one multi-statement query such as psql -c), DSQL refuses them. {}", f.fix.replace("sql_list", "statement")),
            })
        })
        .collect();
    let mut out = json!({
        "diagnostics": diagnostics,
        "fixed_sql": if fix { fixed_sql.map_or(Value::Null, Value::String) } else { Value::Null },
        "summary": {"errors": errors, "warnings": warnings, "fixed": fixed},
    });
    if let Value::Object(m) = &mut out {
        m.insert("transaction_diagnostics".into(), Value::Array(transaction_diagnostics));
    }
    Ok(out)
}

fn with_state(f: &Finding) -> String {
    match &f.sqlstate {
        Some(s) => format!("{s}: {}", f.message),
        None => f.message.clone(),
    }
}

fn preview(statement: &str) -> String {
    let collapsed = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > PREVIEW_MAX_CHARS {
        format!("{}…", collapsed.chars().take(PREVIEW_MAX_CHARS).collect::<String>())
    } else {
        collapsed
    }
}

struct Split {
    text: String,
    line: usize,
    last_line: usize,
    own: Vec<Finding>,
    /// Set for statements that count in a transaction (not BEGIN/COMMIT or unparsable ones).
    tx: Option<TxInfo>,
}

struct TxInfo {
    class: classify::StatementClass,
    command: String,
    insert_rows: usize,
}

impl TxInfo {
    fn clone_tx(&self) -> txn::TxStatement {
        txn::TxStatement { class: self.class, command: self.command.clone(), insert_rows: self.insert_rows }
    }
}

/// Splits on top-level semicolons and analyses each statement that parses (others are dsql-lint's to report).
/// Line numbers are tracked incrementally so the whole pass stays linear.
fn split(sql: &str) -> Vec<Split> {
    let Ok(tokens) = lexer::lex(sql) else { return Vec::new() };
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0usize;
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut flush = |from: Option<usize>, to: usize, out: &mut Vec<Split>| {
        if let Some(from) = from {
            line += sql[counted_to..from].matches('\n').count();
            counted_to = from;
            out.push(analyse(sql, from, to, line));
        }
    };
    for t in &tokens {
        match t.kind {
            Kind::Semicolon => flush(start.take(), end, &mut out),
            _ if t.is_trivia() => {}
            _ => {
                start.get_or_insert(t.start);
                end = t.end;
            }
        }
    }
    flush(start, end, &mut out);
    out
}

fn analyse(sql: &str, from: usize, to: usize, line: usize) -> Split {
    let text = &sql[from..to];
    let last_line = line + text.matches('\n').count();
    let mut split = Split { text: text.to_string(), line, last_line, own: Vec::new(), tx: None };
    let Ok(norm) = text::normalize_body(text) else { return split };
    let Ok(p) = parse::parse_one(&norm) else { return split };
    split.own = dsql::own_findings(&p.stmt);
    if !matches!(
        p.stmt,
        sqlparser::ast::Statement::StartTransaction { .. }
            | sqlparser::ast::Statement::Commit { .. }
            | sqlparser::ast::Statement::Rollback { .. }
    ) {
        split.tx = Some(TxInfo {
            class: classify::class(&p.stmt),
            command: classify::command(&p.stmt),
            insert_rows: dsql::insert_rows(&p.stmt),
        });
    }
    split
}
