//! One parse per statement with sqlparser-dsql, after the statement-level pre-handling sqlparser needs:
//! `DO` and `LOAD` are refused before parsing (sqlparser cannot parse `DO`, and `LOAD DATA` variants), `TABLE t`
//! is parsed as `SELECT * FROM t`, and a table literally named `async` after `ALTER TABLE` is quoted for the
//! parser. Exactly one statement is accepted.

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use super::finding::Finding;
use super::lexer::{Kind, Token};
use super::rules;
use super::text::Normalized;
use crate::sqlstate;

pub(crate) struct Parsed {
    pub stmt: Statement,
    /// The text sqlparser (and dsql-lint) accepted; differs from the sent text only by the rewrites above.
    pub parse_text: String,
}

/// ALTER TABLE actions that can follow a table name; `async` followed by one of these is a table name.
const ALTER_ACTIONS: &[&str] = &[
    "add", "drop", "alter", "rename", "set", "owner", "enable", "disable", "attach", "detach", "inherit", "no",
    "replica", "cluster", "reset", "force", "of", "not",
];

pub(crate) fn empty_statement() -> Finding {
    Finding::error(
        "input.empty",
        "the statement is empty (only whitespace, comments or semicolons)",
        "Send one SQL statement per sql / sql_list item",
    )
}

pub(crate) fn parse_one(norm: &Normalized) -> Result<Parsed, Finding> {
    let src = norm.text.as_str();
    let toks = &norm.tokens;
    // Before anything builds a tree: a too-deep one would overflow the stack of whatever walks or drops it.
    super::depth::check(src, toks)?;
    let sig: Vec<usize> =
        (0..toks.len()).filter(|&i| !toks[i].is_trivia() && toks[i].kind != Kind::Semicolon).take(7).collect();
    let Some(&first) = sig.first() else {
        return Err(empty_statement());
    };
    let word = |k: usize| {
        sig.get(k).map(|&i| toks[i]).filter(|t| t.kind == Kind::Word).map(|t| t.text(src).to_ascii_lowercase())
    };
    match word(0).as_deref() {
        Some("do") => {
            return Err(Finding::error(
                "safety.do_block",
                "DO blocks (anonymous procedural code) are refused; DSQL has no PL/pgSQL either",
                "Write the logic as plain SQL statements (one per sql_list item), or as a LANGUAGE sql function created with --allow-writes",
            ));
        }
        Some("load") => {
            return Err(Finding::error(
                "safety.load",
                "LOAD (loading a server library or data file) is refused",
                "DSQL has no loadable libraries; load data with INSERT statements in batches of at most 3,000 rows, or with the aurora-dsql-loader tool",
            ));
        }
        _ => {}
    }
    let mut parse_text: Option<String> = None;
    if word(0).as_deref() == Some("table") {
        parse_text = Some(replace(src, toks[first], "SELECT * FROM"));
    } else if word(0).as_deref() == Some("alter") && word(1).as_deref() == Some("table") {
        let mut k = 2;
        if word(k).as_deref() == Some("if") && word(k + 1).as_deref() == Some("exists") {
            k += 2;
        }
        if word(k).as_deref() == Some("only") {
            k += 1;
        }
        let next_is_action = word(k + 1).is_some_and(|w| ALTER_ACTIONS.contains(&w.as_str()));
        if word(k).as_deref() == Some("async") && next_is_action {
            parse_text = Some(replace(src, toks[sig[k]], "\"async\""));
        } else {
            parse_text = identity_alteration(src, toks);
        }
    } else if word(0).as_deref() == Some("insert") {
        parse_text = without_overriding(src, toks);
    }
    let parse_text = parse_text.unwrap_or_else(|| src.to_string());
    let mut stmts = match parse_unchecked(&parse_text) {
        Ok(stmts) => stmts,
        // Statements DSQL refuses that sqlparser cannot parse: answer as DSQL does rather than with a syntax error.
        Err(e) => return Err(unparseable_refusal(src, toks).unwrap_or(e)),
    };
    match stmts.len() {
        0 => Err(empty_statement()),
        1 => Ok(Parsed { stmt: stmts.remove(0), parse_text }),
        n => Err(Finding::error(
            "input.multiple_statements",
            format!("found {n} statements where exactly one is allowed"),
            "Send exactly one statement per sql / sql_list item (a trailing semicolon and comments are fine); \
             transaction control (BEGIN/COMMIT/ROLLBACK) is done by the tool itself",
        )),
    }
}

/// Parses `text` after measuring how deep its tree would be ([`super::depth`]).
pub(crate) fn parse_sql(text: &str) -> Result<Vec<Statement>, Finding> {
    let tokens = super::lexer::lex(text).map_err(|e| super::text::syntax_error(text, e.offset, &e.message))?;
    super::depth::check(text, &tokens)?;
    parse_unchecked(text)
}

/// The parse itself; the caller has measured the depth of `text` (or of the text it was rewritten from, with the
/// same nesting).
fn parse_unchecked(text: &str) -> Result<Vec<Statement>, Finding> {
    Parser::new(&PostgreSqlDialect {}).try_with_sql(text).and_then(|mut p| p.parse_statements()).map_err(parse_error)
}

fn parse_error(e: ParserError) -> Finding {
    let (message, fix) = match &e {
        ParserError::RecursionLimitExceeded => (
            "the statement nests too deeply to check (parser recursion limit reached)".to_string(),
            "Flatten the expression or subqueries (for example use a CTE) and send it again",
        ),
        _ => (
            format!("the statement could not be parsed: {}", e.to_string().trim_start_matches("sql parser error: ")),
            "Fix the syntax. Statements are checked with a PostgreSQL/DSQL parser; if this is valid PostgreSQL that DSQL \
             supports, rewrite it in a more common form",
        ),
    };
    Finding::error("input.parse_error", message, fix).with_sqlstate(sqlstate::SYNTAX_ERROR)
}

/// Identity alterations DSQL supports (catalog Q07) that sqlparser cannot parse:
/// `ALTER TABLE t ALTER [COLUMN] c {RESTART [WITH n] | SET GENERATED … | SET {INCREMENT|START|CACHE|…} …}`.
/// For parsing only, the action is replaced by `SET DEFAULT 0`, which has the same shape (one column alteration
/// of one table); the statement sent is the original.
fn identity_alteration(src: &str, toks: &[Token]) -> Option<String> {
    let words: Vec<(usize, String)> = toks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == Kind::Word)
        .map(|(i, t)| (i, t.text(src).to_ascii_lowercase()))
        .collect();
    let w = |k: usize| words.get(k).map(|(_, s)| s.as_str());
    let alter_col = (2..words.len()).find(|&k| w(k) == Some("alter"))?;
    let col = if w(alter_col + 1) == Some("column") { alter_col + 2 } else { alter_col + 1 };
    let action = col + 1;
    let is_identity_action = matches!(
        (w(action), w(action + 1)),
        (Some("restart"), _)
            | (
                Some("set"),
                Some("generated" | "increment" | "start" | "cache" | "minvalue" | "maxvalue" | "no" | "cycle")
            )
    );
    if !is_identity_action {
        return None;
    }
    let start = toks[words[action].0].start;
    let end = toks.iter().rposition(|t| !t.is_trivia() && t.kind != Kind::Semicolon).map(|i| toks[i].end)?;
    Some(format!("{}SET DEFAULT 0{}", &src[..start], &src[end..]))
}

/// `INSERT INTO t (…) OVERRIDING {SYSTEM|USER} VALUE …` (copying rows into a GENERATED ALWAYS identity table):
/// sqlparser does not know the clause; it is dropped for parsing only.
fn without_overriding(src: &str, toks: &[Token]) -> Option<String> {
    let sig: Vec<usize> = (0..toks.len()).filter(|&i| toks[i].kind == Kind::Word).collect();
    let lower = |i: usize| toks[i].text(src).to_ascii_lowercase();
    let k = sig.iter().position(|&i| lower(i) == "overriding")?;
    let (kind, value) = (sig.get(k + 1)?, sig.get(k + 2)?);
    if !matches!(lower(*kind).as_str(), "system" | "user") || lower(*value) != "value" {
        return None;
    }
    Some(format!("{}{}", &src[..toks[sig[k]].start], &src[toks[*value].end..]))
}

/// DSQL's refusal for a statement sqlparser cannot parse, recognised by its leading words with our lexer (and, for
/// exclusion constraints, an `EXCLUDE USING` / `EXCLUDE (` anywhere in CREATE/ALTER TABLE; for `FOR NO KEY UPDATE`
/// and pg_dump's identity `SEQUENCE NAME`, those words anywhere outside literals). `None`: the parse error stands.
fn unparseable_refusal(src: &str, toks: &[Token]) -> Option<Finding> {
    let words: Vec<String> =
        toks.iter().filter(|t| t.kind == Kind::Word).map(|t| t.text(src).to_ascii_lowercase()).collect();
    let w = |k: usize| words.get(k).map(String::as_str).unwrap_or("");
    let rule = |id: &str| rules::by_id(id).unwrap_or_else(|| unreachable!("catalog rule {id} exists (tested)"));
    let with_message = |id: &str, message: String| Finding { message, ..rule(id).finding("") };
    let table_ddl = matches!((w(0), w(1)), ("create" | "alter", "table"));
    let sig: Vec<&Token> = toks.iter().filter(|t| !t.is_trivia()).collect();
    let excludes = sig
        .windows(2)
        .any(|pair| pair[0].is_word(src, "exclude") && (pair[1].is_word(src, "using") || pair[1].text(src) == "("));
    let locks_no_key_update = sig.windows(4).any(|q| {
        q[0].is_word(src, "for") && q[1].is_word(src, "no") && q[2].is_word(src, "key") && q[3].is_word(src, "update")
    });
    let sequence_name = sig.windows(2).any(|p| p[0].is_word(src, "sequence") && p[1].is_word(src, "name"));
    let finding = match (w(0), w(1), w(2)) {
        ("vacuum", _, _) => rule("R12").finding(""),
        _ if locks_no_key_update => rule("T12").finding(""),
        ("alter", "table", _) if sequence_name && words.iter().any(|w| w == "generated") => rule("Q06").finding(
            "pg_dump's SEQUENCE NAME identity option is not accepted by DSQL in ALTER COLUMN … ADD GENERATED … AS IDENTITY",
        ),
        ("refresh", "materialized", _) => rule("R08").finding(""),
        ("alter", "database", _) => rule("R04").finding(""),
        _ if (table_ddl || w(0) == "create" && w(1) == "unlogged") && excludes => {
            rule("R29").finding("exclusion constraints (EXCLUDE USING …) are not supported in DSQL")
        }
        ("create", "unlogged", "table") => rule("R06").finding(""),
        ("create", "tablespace", _) => rule("R07").finding(""),
        ("create", "foreign", "table") => rule("R11").finding(""),
        ("create", "server", _) => with_message("R11", "unsupported statement: CreateForeignServer".into()),
        ("import", "foreign", "schema") => with_message("R11", "unsupported statement: ImportForeignSchema".into()),
        ("create", "foreign", "data") => with_message("R11", "unsupported statement: CreateFdw".into()),
        ("alter", "system", _) => rule("R14").finding(""),
        ("create", "procedure", _) => super::dsql::procedure_refusal(),
        ("create", "or", "replace") if w(3) == "procedure" => super::dsql::procedure_refusal(),
        ("merge", _, _) => rule("R17").finding(""),
        ("reindex", _, _) | ("cluster", _, _) => {
            rule("R24").finding(&format!("{} is not supported in DSQL", w(0).to_ascii_uppercase()))
        }
        ("alter", "table", _) => rule("A05").finding("this ALTER TABLE form is not supported in DSQL"),
        ("create", object @ ("publication" | "subscription" | "conversion" | "cast" | "operator" | "aggregate"), _) => {
            unsupported_create(&object.to_ascii_uppercase())
        }
        ("create", "event", "trigger") => unsupported_create("EVENT TRIGGER"),
        ("create", "access", "method") => unsupported_create("ACCESS METHOD"),
        ("create", object @ ("collation" | "language" | "rule" | "transform"), _) => {
            unsupported_create(&object.to_ascii_uppercase())
        }
        ("security", "label", _) | ("checkpoint", _, _) => Finding::error(
            "dsql.unsupported_statement",
            format!("{} is not supported in DSQL", w(0).to_ascii_uppercase()),
            "DSQL's grammar has no such statement; remove it",
        )
        .with_sqlstate(sqlstate::FEATURE_NOT_SUPPORTED),
        ("create", "text", "search") => unsupported_create("TEXT SEARCH …"),
        _ => return None,
    };
    Some(finding)
}

/// Statements absent from DSQL's grammar that the catalog does not list with a recorded answer.
fn unsupported_create(object: &str) -> Finding {
    Finding::error(
        "dsql.unsupported_statement",
        format!("CREATE {object} is not supported in DSQL"),
        "DSQL's grammar has no such statement; remove it",
    )
    .with_sqlstate(sqlstate::FEATURE_NOT_SUPPORTED)
}

fn replace(src: &str, t: Token, with: &str) -> String {
    let mut s = String::with_capacity(src.len() + with.len());
    s.push_str(&src[..t.start]);
    s.push_str(with);
    s.push_str(&src[t.end..]);
    s
}
