//! How deep the syntax tree of a statement will be, measured on its tokens before anything parses it, so a
//! statement too deep for the recursive code that reads a tree is refused with a clear error instead of
//! overflowing the stack (which aborts the process: Rust cannot catch it).
//!
//! Why before parsing: sqlparser limits its own recursion (50 levels of parentheses, subqueries, prefix
//! operators), but it builds a left-associative chain (`1+1+…+1`, `a OR b OR …`, `x::int::int…`,
//! `SELECT … UNION SELECT …`) in a loop, so 33,000 `+` make a tree 33,000 levels deep without the parser ever
//! recursing. Everything after the parser is recursive over that tree: our visitors, dsql-lint's rules,
//! `Display`, `Clone`, and dropping the `Box`es. One iterative pass over the tokens bounds all of them at once.
//!
//! The measure is an over-estimate of the tree's depth, per nesting group (parentheses, brackets, CASE … END):
//! the longest run of set operations, plus the longest run of AND/OR/NOT between two list or clause boundaries,
//! plus the longest run of other operators between two boundaries, plus the deepest group inside, plus one.
//! A list (`IN (1, 2, …)`, `VALUES (…), (…)`, select items) is wide, not deep, and costs nothing.

use super::finding::Finding;
use super::lexer::{Kind, Token, lex};
use crate::sqlstate;

/// Deepest tree accepted. Honest SQL stays far below it: generated filters with a few thousand ORs measure a
/// few thousand; hand-written statements a few dozen. Measured in a debug build on a 512 KiB stack: `sql::check`
/// of `+`, `OR`, `::`, `UNION` and nested-`CASE` chains 3,990 deep, and dsql_lint of them, all pass; tokio's
/// threads default to 2 MiB, the main thread to 8 MiB, and ours get [`STACK_BYTES`].
pub const MAX_DEPTH: usize = 4000;

/// Stack size of the threads that check and lint SQL, as defence in depth should the estimate ever be short.
/// (Virtual memory: only the pages a walk touches are ever used.)
pub const STACK_BYTES: usize = 16 * 1024 * 1024;

/// Words that end one clause or list item and start the next: a chain of operators does not continue across them.
const CLAUSE_WORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "when",
    "then",
    "else",
    "on",
    "using",
    "group",
    "order",
    "having",
    "limit",
    "offset",
    "values",
    "set",
    "returning",
    "as",
    "join",
    "by",
    "window",
    "with",
    "into",
    "do",
    "fetch",
    "for",
];
/// Left-associative chains of whole queries.
const SET_OPS: &[&str] = &["union", "intersect", "except"];
/// Boolean chains.
const BOOL_OPS: &[&str] = &["and", "or", "not"];
/// Operator words that build a node over the expression before them.
const OTHER_OPS: &[&str] =
    &["is", "isnull", "notnull", "like", "ilike", "similar", "between", "in", "collate", "at", "overlaps", "escape"];

#[derive(Default, Clone, Copy)]
struct Group {
    /// Runs so far (current) and their maxima, per kind of chain.
    set_run: usize,
    bool_run: usize,
    bool_max: usize,
    other_run: usize,
    other_max: usize,
    /// Deepest group closed inside this one.
    child: usize,
}

impl Group {
    fn depth(&self) -> usize {
        self.set_run + self.bool_max.max(self.bool_run) + self.other_max.max(self.other_run) + self.child + 1
    }
    fn end_other(&mut self) {
        self.other_max = self.other_max.max(self.other_run);
        self.other_run = 0;
    }
    fn end_bool(&mut self) {
        self.end_other();
        self.bool_max = self.bool_max.max(self.bool_run);
        self.bool_run = 0;
    }
}

/// The estimated depth of the deepest statement in `tokens`, and the byte offset where that statement starts.
pub(crate) fn estimate(src: &str, tokens: &[Token]) -> (usize, usize) {
    let mut stack: Vec<Group> = vec![Group::default()];
    let mut deepest = (0usize, 0usize);
    let mut statement_start: Option<usize> = None;
    let mut previous_op_end = usize::MAX;
    let finish = |stack: &mut Vec<Group>, deepest: &mut (usize, usize), start: usize| {
        // Unclosed groups count as closed here (the parser will say what is wrong with the text).
        while let Some(g) = stack.pop() {
            let d = g.depth();
            match stack.last_mut() {
                Some(parent) => parent.child = parent.child.max(d),
                None if d > deepest.0 => *deepest = (d, start),
                None => {}
            }
        }
        stack.push(Group::default());
    };
    for t in tokens {
        if t.is_trivia() {
            continue;
        }
        let top = stack.len() - 1;
        match t.kind {
            Kind::Semicolon => {
                finish(&mut stack, &mut deepest, statement_start.take().unwrap_or(t.start));
            }
            _ if statement_start.is_none() => statement_start = Some(t.start),
            _ => {}
        }
        match t.kind {
            Kind::Semicolon => {}
            Kind::Op => {
                let text = t.text(src);
                match text {
                    "(" | "[" => stack.push(Group::default()),
                    ")" | "]" if stack.len() > 1 => {
                        let closed = stack.pop().map_or(0, |g| g.depth());
                        let parent = stack.last_mut().expect("the statement's own group is never popped here");
                        parent.child = parent.child.max(closed);
                    }
                    ")" | "]" | "." => {}
                    "," => stack[top].end_bool(),
                    // Adjacent operator characters are one operator (`||`, `<=`, `->>`, `::`).
                    _ if previous_op_end == t.start => {}
                    _ => stack[top].other_run += 1,
                }
                previous_op_end = t.end;
                continue;
            }
            Kind::Word => {
                let w = t.text(src);
                let is = |list: &[&str]| list.iter().any(|k| w.eq_ignore_ascii_case(k));
                if w.eq_ignore_ascii_case("case") {
                    stack.push(Group::default());
                } else if w.eq_ignore_ascii_case("end") && stack.len() > 1 {
                    let closed = stack.pop().map_or(0, |g| g.depth());
                    let parent = stack.last_mut().expect("the statement's own group is never popped here");
                    parent.child = parent.child.max(closed);
                } else if is(SET_OPS) {
                    stack[top].end_bool();
                    stack[top].set_run += 1;
                } else if is(BOOL_OPS) {
                    stack[top].end_other();
                    stack[top].bool_run += 1;
                } else if is(OTHER_OPS) {
                    stack[top].other_run += 1;
                } else if is(CLAUSE_WORDS) {
                    stack[top].end_bool();
                }
            }
            _ => {}
        }
        previous_op_end = usize::MAX;
    }
    finish(&mut stack, &mut deepest, statement_start.unwrap_or(0));
    deepest
}

/// Refuses a statement whose tree would be deeper than [`MAX_DEPTH`].
pub(crate) fn check(src: &str, tokens: &[Token]) -> Result<(), Finding> {
    measured(src, tokens).map(|_| ())
}

/// [`check`], giving the estimated depth of the deepest statement when it passes.
fn measured(src: &str, tokens: &[Token]) -> Result<usize, Finding> {
    let (depth, at) = estimate(src, tokens);
    if depth <= MAX_DEPTH {
        return Ok(depth);
    }
    let (line, _) = super::lexer::line_col(src, at);
    Err(too_deep(depth, line))
}

/// [`check`] over a whole script (for dsql_lint, whose parser sees every statement). Text our lexer cannot read
/// (an unterminated quote, `""`) is measured as far as it can be read, and past every `""`: what follows an
/// unterminated quote is one string to sqlparser's tokenizer too.
pub(crate) fn check_script(src: &str) -> Result<usize, Finding> {
    measured(src, &lenient_tokens(src))
}

/// Tokens of `src`, past lexing errors where that is possible. Linear: each piece is lexed at most twice.
fn lenient_tokens(src: &str) -> Vec<Token> {
    let shifted = |tokens: Vec<Token>, by: usize| {
        tokens.into_iter().map(move |t| Token { start: t.start + by, end: t.end + by, ..t })
    };
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        match lex(&src[from..]) {
            Ok(tokens) => {
                out.extend(shifted(tokens, from));
                return out;
            }
            Err(e) => {
                let at = from + e.offset;
                out.extend(shifted(lex(&src[from..at]).unwrap_or_default(), from));
                if !src[at..].starts_with("\"\"") {
                    return out;
                }
                out.push(Token { kind: Kind::QuotedIdent, start: at, end: at + 2 });
                from = at + 2;
            }
        }
    }
}

/// A scoped thread with [`STACK_BYTES`] of stack, for code that walks parsed SQL.
pub(crate) fn spawn_scoped<'scope, 'env, F, T>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    f: F,
) -> std::thread::ScopedJoinHandle<'scope, T>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    // As `Scope::spawn`, which panics when the system cannot start a thread.
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn_scoped(scope, f)
        .unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
}

fn too_deep(depth: usize, line: usize) -> Finding {
    Finding::error(
        "input.too_deep",
        format!(
            "the statement starting at line {line} nests about {depth} levels deep (chained operators, AND/OR, \
             UNION, parentheses or CASE); the limit is {MAX_DEPTH} levels"
        ),
        "Split it: put long OR/AND chains of equalities into `col IN (…)` or `col = ANY($1)` with an array \
         parameter, long UNION chains into several statements or a VALUES list, and long sums into smaller \
         parts (a CTE, or several statements)",
    )
    .with_sqlstate(sqlstate::STATEMENT_TOO_COMPLEX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(sql: &str) -> usize {
        estimate(sql, &lex(sql).unwrap()).0
    }

    #[test]
    fn chains_are_deep_and_lists_are_wide() {
        assert!(depth(&format!("SELECT 1{}", "+1".repeat(5000))) >= 5000);
        assert!(depth(&format!("SELECT 1{}", "::int".repeat(5000))) >= 5000);
        assert!(depth(&format!("SELECT 1{}", " UNION SELECT 1".repeat(5000))) >= 5000);
        let ors: Vec<String> = (0..5000).map(|i| format!("a = {i}")).collect();
        assert!(depth(&format!("SELECT * FROM t WHERE {}", ors.join(" OR "))) >= 5000);
        let ins: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
        assert!(depth(&format!("SELECT * FROM t WHERE a IN ({})", ins.join(", "))) < 10);
        let rows: Vec<String> = (0..3000).map(|i| format!("({i}, 'x' || 'y', {i} + 1)")).collect();
        assert!(depth(&format!("INSERT INTO t VALUES {}", rows.join(", "))) < 10);
        let cols: Vec<String> = (0..1000).map(|i| format!("a{i} + b{i} AS c{i}")).collect();
        assert!(depth(&format!("SELECT {} FROM t", cols.join(", "))) < 10);
        let whens: Vec<String> = (0..1000).map(|i| format!("WHEN a = {i} THEN {i}")).collect();
        assert!(depth(&format!("SELECT CASE {} END FROM t", whens.join(" "))) < 10);
    }

    #[test]
    fn nesting_adds_up_and_statements_are_measured_apart() {
        assert!(depth(&format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000))) >= 5000);
        assert!(depth(&format!("SELECT {}1{}", "CASE WHEN true THEN ".repeat(5000), " END".repeat(5000))) >= 5000);
        let half = format!("SELECT 1{};", "+1".repeat(3000));
        assert!(depth(&half.repeat(3)) < 3100, "each statement is measured on its own");
        assert!(depth(")))) SELECT (((( 1 end end") < 10, "unbalanced text does not underflow");
    }

    #[test]
    fn the_error_names_the_limit_and_the_line() {
        let sql = format!("SELECT 1;\nSELECT 1{}", "+1".repeat(MAX_DEPTH + 10));
        let f = check(&sql, &lex(&sql).unwrap()).unwrap_err();
        assert_eq!(f.rule, "input.too_deep");
        assert!(f.message.contains("line 2") && f.message.contains(&MAX_DEPTH.to_string()), "{}", f.message);
    }

    #[test]
    fn a_script_is_measured_past_what_our_lexer_refuses() {
        let deep = format!("SELECT 1{}", "+1".repeat(MAX_DEPTH + 10));
        assert!(check_script(&format!("SELECT \"\" FROM t; {deep}")).is_err());
        assert!(check_script(&format!("SELECT \"\"\"\"; {deep}")).is_err());
        assert!(check_script(&format!("{deep}; SELECT 'open")).is_err());
        assert!(check_script("SELECT 'open").is_ok());
    }
}
