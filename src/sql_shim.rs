//! Temporary minimal statement checks (replaced by the `sql` module).
use std::collections::HashSet;

pub enum RulesMode { Enforce, Warn, Off }
impl std::str::FromStr for RulesMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s { "enforce" => Ok(Self::Enforce), "warn" => Ok(Self::Warn), "off" => Ok(Self::Off), o => Err(format!("unknown rules mode {o}")) }
    }
}
pub struct Policy { pub allow_writes: bool, pub rules: RulesMode, pub tenant_column: Option<String> }
pub enum Tool { ReadonlyQuery, Transact }
pub struct StatementInput<'a> { pub sql: &'a str, pub param_count: Option<usize> }
#[derive(Debug, Clone, PartialEq)]
pub enum StatementClass { Read, Dml, Ddl, Other }
pub struct PreparedStatement { pub text: String, pub command: String, pub class: StatementClass, pub tables: Vec<String> }
#[derive(Debug, Clone)]
pub struct Finding { pub rule: String, pub sqlstate: Option<String>, pub message: String, pub fix: String, pub statement_index: Option<usize> }
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "[{}] {} {}", self.rule, self.message, self.fix) }
}
pub struct Checked { pub statements: Vec<PreparedStatement>, pub warnings: Vec<Finding> }
pub fn check(_tool: Tool, inputs: &[StatementInput<'_>], _policy: &Policy, _t: Option<&HashSet<String>>) -> Result<Checked, Finding> {
    let statements = inputs.iter().map(|i| {
        let command = i.sql.split_whitespace().next().unwrap_or("").to_uppercase();
        let text = rewrite(i.sql);
        PreparedStatement { text, command, class: StatementClass::Other, tables: vec![] }
    }).collect();
    Ok(Checked { statements, warnings: vec![] })
}
fn rewrite(sql: &str) -> String {
    let mut out = String::new(); let mut n = 0; let mut it = sql.chars().peekable();
    while let Some(c) = it.next() {
        if c == '%' && it.peek() == Some(&'s') { it.next(); n += 1; out.push_str(&format!("${n}")); } else { out.push(c); }
    }
    out
}
pub mod lint {
    pub fn run(sql: &str, _fix: bool, _dialect: &str) -> Result<serde_json::Value, String> {
        Ok(serde_json::json!({"diagnostics": [], "fixed_sql": null, "summary": {"errors":0,"warnings":0,"fixed":0}, "input_len": sql.len()}))
    }
}
