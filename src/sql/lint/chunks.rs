//! Running dsql-lint on a large input in parallel: where the input may be cut, linting the pieces on the
//! available cores, and putting the results back together exactly as one whole-input call gives them.
//!
//! dsql-lint is single-threaded (~1 µs per byte) and mostly per statement, but some of its passes look across
//! statements: the pg_dump idioms (SERIAL expansion, `ALTER TABLE … ADD PRIMARY KEY/UNIQUE`, `ADD GENERATED …
//! AS IDENTITY`, primary-key removal) tie statements together by table or sequence name, and its transaction
//! rules look inside `BEGIN … COMMIT` blocks. A cut is therefore only made after a statement's `;` that is
//! outside every such block and outside the span of every name those passes could match on; names are
//! over-approximated (ASCII-lowercased basenames, every identifier of a statement we could not analyse), so a
//! cut never separates statements dsql-lint would relate. Each piece's semicolons must also be exactly the ones
//! sqlparser's tokenizer (dsql-lint's splitter) sees, and the diagnostics must come out in dsql-lint's phase
//! order; if either check fails, the whole input is linted in one call instead.

use std::sync::atomic::{AtomicUsize, Ordering};

use dsql_lint::{Diagnostic, FixResult, LintRule};
use sqlparser::ast::{
    AlterSequenceOperation, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, ObjectNamePart,
    Statement, Value, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token as SpToken, Tokenizer};

use super::super::lexer::{Kind, Token};
use super::super::names;
use super::Split;

/// Below this many bytes per piece, a cut costs more than it saves (and small inputs stay one call).
pub(super) const MIN_CHUNK_BYTES: usize = 32 * 1024;
/// Pieces per worker thread: more, smaller pieces balance the threads when allowed cuts are unevenly spread,
/// and shrink dsql-lint's whole-list passes, which compare every ALTER with every CREATE TABLE.
const CHUNKS_PER_THREAD: usize = 8;

/// What dsql-lint's whole-input passes may relate a statement to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Link {
    /// Table/sequence basenames (ASCII-lowercased) the cross-statement passes could match this statement on.
    /// `None`: unknown, so no cut anywhere.
    pub names: Option<Vec<String>>,
    /// Starts with BEGIN or START: may open a transaction block.
    pub opens_block: bool,
    /// Parsed (from unchanged text) as COMMIT or ROLLBACK: closes a block in dsql-lint too.
    pub closes_block: bool,
}

/// `tokens`: the statement's tokens (offsets into `sql`); `parsed`: our parse of it, when it parsed from the
/// statement's text unchanged (so dsql-lint's parse of the same text is the same statement).
pub(super) fn link(sql: &str, tokens: &[Token], parsed: Option<&Statement>) -> Link {
    let mut words = tokens.iter().filter(|t| !t.is_trivia());
    let first = words.next().filter(|t| t.kind == Kind::Word).map(|t| t.text(sql).to_ascii_lowercase());
    let first = first.as_deref().unwrap_or("");
    let mut link = Link { opens_block: matches!(first, "begin" | "start"), ..Link::default() };
    link.closes_block = matches!(parsed, Some(Statement::Commit { .. } | Statement::Rollback { .. }));
    // Every statement the cross-statement passes look at (CREATE/ALTER TABLE, CREATE/ALTER SEQUENCE, text-level
    // ALTER TABLE … ALTER COLUMN) starts with CREATE or ALTER.
    if !matches!(first, "create" | "alter") {
        link.names = Some(Vec::new());
        return link;
    }
    link.names = match parsed {
        Some(stmt) => Some(parsed_names(stmt)),
        None => token_names(sql, tokens),
    };
    link
}

fn parsed_names(stmt: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    match stmt {
        Statement::CreateTable(ct) => out.extend(basename(&ct.name)),
        Statement::CreateSequence { name, .. } => out.extend(basename(name)),
        Statement::AlterSequence(a) => {
            out.extend(basename(&a.name));
            if let AlterSequenceOperation::Options { owned_by: Some(owner), .. } = &a.operation {
                // `OWNED BY [schema.]table.column`: the table part.
                let parts: Vec<String> = names::parts(owner);
                if parts.len() >= 2 {
                    out.push(parts[parts.len() - 2].to_ascii_lowercase());
                }
            }
        }
        Statement::AlterTable(at) => {
            out.extend(basename(&at.name));
            // `SET DEFAULT nextval('seq'::regclass)` ties the table to a sequence.
            let mut v = NextvalNames(Vec::new());
            let _ = stmt.visit(&mut v);
            out.extend(v.0);
        }
        _ => {}
    }
    out
}

fn basename(name: &ObjectName) -> Option<String> {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(id)) => Some(id.value.to_ascii_lowercase()),
        _ => None,
    }
}

struct NextvalNames(Vec<String>);

impl Visitor for NextvalNames {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &Expr) -> core::ops::ControlFlow<()> {
        if let Expr::Function(f) = e
            && f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value.eq_ignore_ascii_case("nextval"))
            && let FunctionArguments::List(list) = &f.args
        {
            for arg in &list.args {
                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) = arg {
                    let inner = match a {
                        Expr::Cast { expr, .. } => expr.as_ref(),
                        other => other,
                    };
                    if let Expr::Value(v) = inner
                        && let Value::SingleQuotedString(s) = &v.value
                    {
                        self.0.push(dotted_basename(s));
                    }
                }
            }
        }
        core::ops::ControlFlow::Continue(())
    }
}

/// Last part of a dotted name written as text (`public."My.Seq"` → `my.seq`), quotes removed, lowercased.
fn dotted_basename(s: &str) -> String {
    let mut in_quotes = false;
    let mut last_dot = None;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'.' if !in_quotes => last_dot = Some(i),
            _ => {}
        }
    }
    let part = last_dot.map_or(s, |i| &s[i + 1..]).trim();
    let unquoted = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')).map(|p| p.replace("\"\"", "\""));
    unquoted.unwrap_or_else(|| part.to_string()).to_ascii_lowercase()
}

/// A statement we could not analyse: every word, quoted identifier and string of it (a superset of any name
/// dsql-lint's text-level scanners could extract); unknown when it holds `U&` forms we would have to decode.
fn token_names(sql: &str, tokens: &[Token]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for t in tokens {
        let text = t.text(sql);
        match t.kind {
            Kind::Word => out.push(text.to_ascii_lowercase()),
            Kind::QuotedIdent => out.push(dotted_basename(text)),
            Kind::String => {
                let body = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                let body = body.strip_prefix('\'').and_then(|b| b.strip_suffix('\'')).unwrap_or(body);
                out.push(dotted_basename(&body.replace("''", "'")));
            }
            Kind::UnicodeIdent | Kind::UnicodeString => return None,
            _ => {}
        }
    }
    Some(out)
}

/// Where to cut an input of `len` bytes for `threads` threads (empty: one call).
pub(super) fn cuts(len: usize, stmts: &[Split], threads: usize) -> Vec<usize> {
    choose_cuts(len, &allowed_cuts(stmts), threads * CHUNKS_PER_THREAD)
}

/// Byte offsets (just past a `;`) where the input may be cut, in order.
pub(super) fn allowed_cuts(stmts: &[Split]) -> Vec<usize> {
    let n = stmts.len();
    if n < 2 {
        return Vec::new();
    }
    // blocked[i]: no cut right after statement i. Marked through a difference array over name spans.
    let mut depth = vec![0i64; n + 1];
    let mut first_seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut last_seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, s) in stmts.iter().enumerate() {
        let Some(names) = &s.link.names else { return Vec::new() };
        for name in names {
            first_seen.entry(name.as_str()).or_insert(i);
            last_seen.insert(name.as_str(), i);
        }
    }
    for (name, &first) in &first_seen {
        let last = last_seen[name];
        if last > first {
            depth[first] += 1;
            depth[last] -= 1;
        }
    }
    let mut cuts = Vec::new();
    let (mut running, mut in_block) = (0i64, false);
    for (i, s) in stmts.iter().enumerate() {
        running += depth[i];
        if s.link.opens_block {
            in_block = true;
        } else if s.link.closes_block {
            in_block = false;
        }
        if running == 0
            && !in_block
            && i + 1 < n
            && let Some(end) = s.end
        {
            cuts.push(end);
        }
    }
    cuts
}

/// Picks up to `pieces - 1` of the allowed cuts so the pieces are about equal in bytes and none is smaller than
/// [`MIN_CHUNK_BYTES`].
pub(super) fn choose_cuts(len: usize, allowed: &[usize], pieces: usize) -> Vec<usize> {
    let target = (len / pieces.max(1)).max(MIN_CHUNK_BYTES);
    let mut cuts = Vec::new();
    let mut start = 0usize;
    for &c in allowed {
        if c - start >= target && len - c >= MIN_CHUNK_BYTES {
            cuts.push(c);
            start = c;
        }
    }
    cuts
}

/// dsql-lint's result for one input.
pub(super) struct Output {
    pub diagnostics: Vec<Diagnostic>,
    pub fixed_sql: Option<String>,
    /// Number of pieces linted separately (1: one whole-input call); tests check that a cut really happened.
    #[cfg_attr(not(test), allow(dead_code))]
    pub pieces: usize,
}

/// One call of dsql-lint on the whole input.
pub(super) fn whole(sql: &str, fix: bool) -> Output {
    if fix {
        let out = dsql_lint::fix_sql(sql);
        Output { diagnostics: out.diagnostics, fixed_sql: Some(out.sql), pieces: 1 }
    } else {
        Output { diagnostics: dsql_lint::lint_sql(sql), fixed_sql: None, pieces: 1 }
    }
}

/// [`whole`] without fixes, on the parses our pass kept (`stmts`, from `split_keeping_trees`): dsql-lint parses
/// only the statements we could not give it (a text no statement of ours has, or one we parsed after rewriting).
pub(super) fn whole_reusing(sql: &str, stmts: &[Split]) -> Output {
    #[cfg(dsql_lint_parse_once)]
    let diagnostics = {
        let trees: std::collections::HashMap<&str, &Statement> =
            stmts.iter().filter_map(|s| Some((s.text.as_str(), s.tree.as_ref()?))).collect();
        dsql_lint::lint_sql_reusing(sql, &|text| trees.get(text).map(|&stmt| stmt.clone()))
    };
    // crates.io's dsql-lint (the published crate's build, see build.rs) parses the text itself.
    #[cfg(not(dsql_lint_parse_once))]
    let diagnostics = {
        let _ = stmts;
        dsql_lint::lint_sql(sql)
    };
    Output { diagnostics, fixed_sql: None, pieces: 1 }
}

/// dsql-lint over `sql` cut at `cuts` (each just past a `;`), the pieces linted on `threads` threads;
/// `semicolons`: end offsets of every `;` our lexer found. Falls back to [`whole`] when a piece does not split
/// as we expect.
pub(super) fn lint(sql: &str, fix: bool, cuts: &[usize], semicolons: &[usize], threads: usize) -> Output {
    if cuts.is_empty() {
        return whole(sql, fix);
    }
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(cuts);
    bounds.push(sql.len());
    let pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(from, to)) = pieces.get(k) else { break };
            let text = &sql[from..to];
            let ours = semicolons.partition_point(|&e| e <= to) - semicolons.partition_point(|&e| e <= from);
            let ok = splits_like_us(text, ours, k + 1 < pieces.len());
            done.push((k, ok.then(|| whole(text, fix))));
        }
        done
    };
    let mut results: Vec<Option<Output>> = (0..pieces.len()).map(|_| None).collect();
    let mut all_ok = true;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (1..threads.min(pieces.len())).map(|_| super::super::depth::spawn_scoped(scope, work)).collect();
        let mut done = work();
        for h in handles {
            match h.join() {
                Ok(d) => done.extend(d),
                Err(_) => all_ok = false,
            }
        }
        for (k, out) in done {
            all_ok &= out.is_some();
            results[k] = out;
        }
    });
    let outputs: Option<Vec<Output>> = results.into_iter().collect();
    match outputs.filter(|_| all_ok).and_then(|o| merge(sql, &pieces, o)) {
        Some(out) => out,
        None => whole(sql, fix),
    }
}

/// True when sqlparser's tokenizer (dsql-lint's statement splitter) reads `text` without error, sees exactly
/// `ours` semicolons, and (unless it is the last piece) ends on one.
fn splits_like_us(text: &str, ours: usize, must_end_with_semicolon: bool) -> bool {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, text).tokenize() else { return false };
    let theirs = tokens.iter().filter(|t| matches!(t, SpToken::SemiColon)).count();
    let ends = tokens.iter().rev().find(|t| !matches!(t, SpToken::Whitespace(_)));
    theirs == ours && (!must_end_with_semicolon || matches!(ends, Some(SpToken::SemiColon)))
}

/// dsql-lint reports its whole-list idiom passes first (in pass order), then each statement's findings, then
/// the transaction-block findings. Returns the pass a diagnostic comes from.
fn phase(d: &Diagnostic) -> u8 {
    match d.rule {
        LintRule::SerialSequenceIdiom => 1,
        LintRule::AlterAddUniqueCollapse => 2,
        LintRule::AlterAddPrimaryKeyCollapse => 3,
        LintRule::IdentityNotNull => 4,
        LintRule::IdentityType
            if d.suggestion.starts_with("Change the target column to BIGINT")
                && d.fix_result == FixResult::Unfixable =>
        {
            4
        }
        LintRule::IdentityAddGeneratedCollapse => 5,
        LintRule::AlterColumnSetCompressionStrip => 6,
        LintRule::PrimaryKeyRemoval => 7,
        LintRule::MultiDdlTransaction | LintRule::MixedDdlDmlTransaction => 9,
        LintRule::ParseError if d.message.starts_with("Cannot parse statement inside transaction") => 9,
        _ => 8,
    }
}

/// Shifts each piece's line numbers, orders the diagnostics as one call would, and joins the fixed SQL as
/// `fix_sql` joins statements. `None` when a piece's diagnostics are not in phase order (then something about
/// dsql-lint's output is not as this module assumes) or a piece could not be tokenized.
fn merge(sql: &str, pieces: &[(usize, usize)], outputs: Vec<Output>) -> Option<Output> {
    let mut tagged = Vec::new();
    let mut fixed: Option<String> = None;
    let (mut line_offset, mut counted_to) = (0usize, 0usize);
    for (k, (out, &(from, _))) in outputs.into_iter().zip(pieces).enumerate() {
        line_offset += sql.as_bytes()[counted_to..from].iter().filter(|&&b| b == b'\n').count();
        counted_to = from;
        let mut last_phase = 0u8;
        for mut d in out.diagnostics {
            if d.rule == LintRule::ParseError && d.message.starts_with("Failed to tokenize SQL") {
                return None;
            }
            let p = phase(&d);
            if p < last_phase {
                return None;
            }
            last_phase = p;
            d.line += line_offset;
            tagged.push((p, k, d));
        }
        if let Some(piece) = out.fixed_sql {
            let all = fixed.get_or_insert_with(String::new);
            // fix_sql joins statements with ";\n\n" and ends with ";\n": each non-empty piece ends with ";\n".
            if !piece.is_empty() {
                if !all.is_empty() {
                    all.push('\n');
                }
                all.push_str(&piece);
            }
        }
    }
    tagged.sort_by_key(|(p, k, _)| (*p, *k));
    Some(Output {
        diagnostics: tagged.into_iter().map(|(_, _, d)| d).collect(),
        fixed_sql: fixed,
        pieces: pieces.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::split;
    use super::*;

    /// Statements that dsql-lint relates across the input (pg_dump idioms, transaction blocks) mixed with
    /// unrelated ones, some repeated, some unparsable.
    const STATEMENTS: &[&str] = &[
        "CREATE TABLE public.t (id integer NOT NULL, x text)",
        "CREATE SEQUENCE public.t_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1",
        "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id",
        "ALTER SEQUENCE public.t_id_seq OWNER TO admin",
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass)",
        "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
        "ALTER TABLE t ADD CONSTRAINT t_x UNIQUE (x)",
        "ALTER TABLE t DROP CONSTRAINT t_pkey",
        "CREATE TABLE \"T\" (id int)",
        "ALTER TABLE \"T\" ADD PRIMARY KEY (id)",
        "CREATE TABLE x (id integer NOT NULL, blob text)",
        "ALTER TABLE public.x ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (\n    SEQUENCE NAME public.x_id_seq\n    CACHE 1\n)",
        "ALTER TABLE ONLY public.x ALTER COLUMN blob SET COMPRESSION lz4",
        "ALTER TABLE x ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY",
        "CREATE TABLE u (id serial PRIMARY KEY, tags text[])",
        "INSERT INTO t (x) VALUES ('a;b')",
        "SELECT 1",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "CREATE INDEX i ON t (x)",
        "TRUNCATE t",
        "NOT SQL AT ALL",
        "ALTER TABLE broken garbage t",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2 $$",
    ];

    fn shuffled(seed: &mut u64, n: usize) -> String {
        let mut out = String::new();
        for _ in 0..n {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = STATEMENTS[(*seed >> 33) as usize % STATEMENTS.len()];
            let sep = ["\n", "\n\n", " ", "\r\n", "\n-- note; here\n"][(*seed >> 20) as usize % 5];
            out.push_str(pick);
            out.push(';');
            out.push_str(sep);
        }
        out
    }

    #[test]
    fn shuffled_inputs_lint_the_same_cut_or_whole() {
        let mut seed = 42u64;
        let mut cut_somewhere = 0;
        for _ in 0..60 {
            let sql = shuffled(&mut seed, 24);
            let s = split(&sql, 2);
            let cuts = allowed_cuts(&s.statements);
            for fix in [false, true] {
                let whole = whole(&sql, fix);
                let cut = lint(&sql, fix, &cuts, &s.semicolons, 2);
                assert_eq!(format!("{:#?}", cut.diagnostics), format!("{:#?}", whole.diagnostics), "fix={fix}\n{sql}");
                assert_eq!(cut.fixed_sql, whole.fixed_sql, "fix={fix}\n{sql}");
                cut_somewhere += usize::from(cut.pieces > 1);
            }
        }
        assert!(cut_somewhere > 20, "{cut_somewhere}");
    }

    #[test]
    fn names_are_those_the_whole_list_passes_match_on() {
        let names = |sql: &str| {
            let s = split(sql, 1);
            s.statements[0].link.names.clone()
        };
        assert_eq!(names("CREATE TABLE public.\"My.T\" (a int)"), Some(vec!["my.t".to_string()]));
        assert_eq!(
            names("ALTER TABLE ONLY s.t ALTER COLUMN id SET DEFAULT nextval('s.\"Seq\"'::regclass)"),
            Some(vec!["t".to_string(), "seq".to_string()])
        );
        assert_eq!(names("ALTER SEQUENCE s.q OWNED BY s.t.id"), Some(vec!["q".to_string(), "t".to_string()]));
        assert_eq!(names("INSERT INTO t VALUES (1)"), Some(Vec::new()));
        assert_eq!(names("CREATE INDEX i ON t (a)"), Some(Vec::new()));
        // Not analysable: every word counts; a U& name could hide anything.
        assert!(names("ALTER TABLE t garbage").is_some_and(|n| n.contains(&"t".to_string())));
        assert_eq!(names("ALTER TABLE U&\"t\" garbage"), None);
        let s = split("BEGIN; COMMIT; END; START TRANSACTION", 1);
        let flags: Vec<(bool, bool)> = s.statements.iter().map(|s| (s.link.opens_block, s.link.closes_block)).collect();
        assert_eq!(flags, [(true, false), (false, true), (false, true), (true, false)]);
    }
}
