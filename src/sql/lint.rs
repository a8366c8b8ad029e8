//! The `dsql_lint` MCP tool body: dsql-lint in-process (no subprocess), output shaped as the Python server's
//! (`{diagnostics, fixed_sql, summary}`), plus diagnostics for rules dsql-lint misses (from our catalog checks)
//! and `transaction_diagnostics`: what DSQL's transaction rules say if the input's statements run as one
//! transaction (one `transact` call, or one multi-statement simple query such as `psql -c`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::classify;
use super::dsql;
use super::finding::Finding;
use super::history;
use super::lexer::{self, Kind};
use super::parse;
use super::rules;
use super::text;
use super::txn;
use super::version::DsqlVersion;

mod chunks;

/// Largest input accepted, in characters (as upstream's `maxLength`).
pub const MAX_INPUT_CHARS: usize = 1_000_000;
const PREVIEW_MAX_CHARS: usize = 80;

/// Lints `sql` for DSQL compatibility. `dialect` is `postgres` or `mysql` (mysqldump DDL, always converted).
pub fn run(sql: &str, fix: bool, dialect: &str) -> Result<Value, String> {
    run_at(sql, fix, dialect, DsqlVersion::newest())
}

/// Inputs shorter than this are linted on the calling thread, both passes in turn: for them each pass takes less
/// than starting a thread does (~50 µs), and a `SELECT 1` took ~0.5 ms with the threads.
pub const INLINE_BYTES: usize = 1024;

/// The deepest statement (as `depth` estimates it) whose parse is shared with dsql-lint on the caller's thread;
/// deeper ones (up to `depth::MAX_DEPTH`) are linted the way that fits the stack the depth limit was measured on
/// (`tests/no_crash.rs` holds every path to a 2 MiB stack).
const REUSE_MAX_DEPTH: usize = 64;

/// [`run`] with DSQL's rules as of `version` (`--dsql-version`): rules DSQL lifted later are reported too.
pub fn run_at(sql: &str, fix: bool, dialect: &str, version: DsqlVersion) -> Result<Value, String> {
    // Read once: `available_parallelism` reads cgroup files on every call (~57 µs here).
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    let threads = if sql.len() < INLINE_BYTES { 1 } else { cores };
    run_on(sql, fix, dialect, threads, version)
}

fn run_on(sql: &str, fix: bool, dialect: &str, threads: usize, version: DsqlVersion) -> Result<Value, String> {
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
    // dsql-lint parses and walks every statement recursively: measure first (see `depth`).
    let depth = super::depth::check_script(sql).map_err(|f| format!("{}. {}", f.message, f.fix))?;
    let (diags, fixed_sql, stmts) = if mysql {
        // Our checks run on the converted SQL.
        let out = dsql_lint::fix_sql_mysql(sql);
        let stmts = split(&out.sql, 1).statements;
        (out.diagnostics, Some(out.sql), stmts)
    } else if threads < 2 && !fix && depth <= REUSE_MAX_DEPTH {
        // Our pass first: dsql-lint then lints our parses instead of parsing the statements again. This runs on
        // the caller's thread, and handing our trees to dsql-lint walks them more deeply than its own parse does:
        // only shallow statements (every real one) take it, so a caller's ordinary stack is enough.
        let stmts = split_keeping_trees(sql).statements;
        let out = chunks::whole_reusing(sql, &stmts);
        (out.diagnostics, out.fixed_sql, stmts)
    } else if threads < 2 {
        let out = chunks::whole(sql, fix);
        (out.diagnostics, out.fixed_sql, split(sql, 1).statements)
    } else if sql.len() < 2 * chunks::MIN_CHUNK_BYTES {
        // dsql-lint and our own pass are independent: two threads.
        std::thread::scope(|scope| {
            let ours = super::depth::spawn_scoped(scope, || split(sql, 1).statements);
            let out = chunks::whole(sql, fix);
            (out.diagnostics, out.fixed_sql, ours.join().unwrap_or_default())
        })
    } else {
        // A large input: our pass first (on all cores), as it tells where dsql-lint's input may be cut; then
        // dsql-lint on the pieces, on all cores.
        let s = split(sql, threads);
        let cuts = chunks::cuts(sql.len(), &s.statements, threads);
        let out = chunks::lint(sql, fix, &cuts, &s.semicolons, threads);
        (out.diagnostics, out.fixed_sql, s.statements)
    };
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
        let lifted = if version.is_pinned() { lifted_rules(&s.text, version) } else { Vec::new() };
        for f in lifted.iter().chain(&s.own) {
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
    /// Byte offset just past the `;` that ends it (`None` for a last statement without one).
    end: Option<usize>,
    own: Vec<Finding>,
    /// Set for statements that count in a transaction (not BEGIN/COMMIT or unparsable ones).
    tx: Option<TxInfo>,
    /// What dsql-lint's cross-statement passes may relate it to (where the input may be cut).
    link: chunks::Link,
    /// Our parse, when it is the parse of `text` as written and the caller asked to keep it (for dsql-lint).
    tree: Option<sqlparser::ast::Statement>,
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

struct Splits {
    statements: Vec<Split>,
    /// End offsets of every top-level `;`.
    semicolons: Vec<usize>,
}

/// A statement's place in the input: bytes `from..to` (first to last significant token), its tokens, the
/// offset past its `;`, and its first line.
struct Span {
    from: usize,
    to: usize,
    tokens: std::ops::Range<usize>,
    end: Option<usize>,
    line: usize,
}

/// Splits on top-level semicolons and analyses each statement that parses (others are dsql-lint's to report),
/// on up to `threads` threads. Line numbers are tracked incrementally so the whole pass stays linear.
fn split(sql: &str, threads: usize) -> Splits {
    split_with(sql, threads, false)
}

/// [`split`] on one thread, keeping each statement's parse when it is the parse of its text as written.
fn split_keeping_trees(sql: &str) -> Splits {
    split_with(sql, 1, true)
}

fn split_with(sql: &str, threads: usize, keep_trees: bool) -> Splits {
    let Ok(tokens) = lexer::lex(sql) else { return Splits { statements: Vec::new(), semicolons: Vec::new() } };
    let mut spans = Vec::new();
    let mut semicolons = Vec::new();
    let mut first: Option<usize> = None;
    let mut last = 0usize;
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut flush = |first: Option<usize>, last: usize, end: Option<usize>, spans: &mut Vec<Span>| {
        if let Some(first) = first {
            let from = tokens[first].start;
            line += sql.as_bytes()[counted_to..from].iter().filter(|&&b| b == b'\n').count();
            counted_to = from;
            spans.push(Span { from, to: tokens[last].end, tokens: first..last + 1, end, line });
        }
    };
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Semicolon => {
                semicolons.push(t.end);
                flush(first.take(), last, Some(t.end), &mut spans);
            }
            _ if t.is_trivia() => {}
            _ => {
                first.get_or_insert(i);
                last = i;
            }
        }
    }
    flush(first, last, None, &mut spans);
    let statements = if threads < 2 || spans.len() < 2 {
        spans.iter().map(|s| analyse(sql, &tokens, s, keep_trees)).collect()
    } else {
        // Contiguous runs of about equal bytes, one per thread.
        let per = sql.len() / threads + 1;
        let mut runs: Vec<&[Span]> = Vec::new();
        let mut rest = spans.as_slice();
        while !rest.is_empty() {
            let limit = rest[0].from + per;
            let n = rest.iter().position(|s| s.from >= limit).unwrap_or(rest.len()).max(1);
            runs.push(&rest[..n]);
            rest = &rest[n..];
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = runs[1..]
                .iter()
                .map(|run| {
                    super::depth::spawn_scoped(scope, || {
                        run.iter().map(|s| analyse(sql, &tokens, s, keep_trees)).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut out: Vec<Split> = runs[0].iter().map(|s| analyse(sql, &tokens, s, keep_trees)).collect();
            for (h, run) in handles.into_iter().zip(&runs[1..]) {
                // A panic in our own analysis must not lose the statements: analyse them here instead.
                out.extend(
                    h.join().unwrap_or_else(|_| run.iter().map(|s| analyse(sql, &tokens, s, keep_trees)).collect()),
                );
            }
            out
        })
    };
    Splits { statements, semicolons }
}

/// Findings of rules DSQL lifted after `version` (a second parse, paid only with a pinned `--dsql-version`).
fn lifted_rules(statement: &str, version: DsqlVersion) -> Vec<Finding> {
    text::normalize_body(statement)
        .ok()
        .and_then(|norm| parse::parse_one(&norm).ok())
        .map(|p| history::check(&p.stmt, version))
        .unwrap_or_default()
}

fn analyse(sql: &str, tokens: &[lexer::Token], span: &Span, keep_tree: bool) -> Split {
    let text = &sql[span.from..span.to];
    let toks = &tokens[span.tokens.clone()];
    let last_line = span.line + text.matches('\n').count();
    let mut split = Split {
        text: text.to_string(),
        line: span.line,
        last_line,
        end: span.end,
        own: Vec::new(),
        tx: None,
        link: chunks::Link::default(),
        tree: None,
    };
    let parsed = text::normalize_body(text).ok().and_then(|norm| parse::parse_one(&norm).ok().map(|p| (norm, p)));
    let Some((norm, p)) = parsed else {
        split.link = chunks::link(sql, toks, None);
        return split;
    };
    // dsql-lint parses the text as written: our parse stands for its parse only when nothing was rewritten.
    let unchanged = norm.text == text && p.parse_text == text;
    split.link = chunks::link(sql, toks, unchanged.then_some(&p.stmt));
    split.own = dsql::own_findings(&p.stmt);
    if !matches!(
        p.stmt,
        sqlparser::ast::Statement::StartTransaction { .. }
            | sqlparser::ast::Statement::Commit { .. }
            | sqlparser::ast::Statement::Rollback { .. }
    ) {
        let class = classify::class(&p.stmt);
        // A read holds no INSERT (a data-modifying WITH makes it DML): no need to walk it for rows.
        let insert_rows = if class == classify::StatementClass::Read { 0 } else { dsql::insert_rows(&p.stmt) };
        split.tx = Some(TxInfo { class, command: classify::command(&p.stmt), insert_rows });
    }
    if keep_tree && unchanged {
        split.tree = Some(p.stmt);
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The caller's-thread path that hands our parses to dsql-lint fits the 2 MiB budget `tests/no_crash.rs` holds
    /// every path to, up to the depth that takes it, in each shape that nests (a shape over it would abort the
    /// whole test binary with a stack overflow, so this cannot pass by accident).
    #[test]
    fn shared_parses_lint_within_an_ordinary_stack_up_to_their_depth() {
        let d = REUSE_MAX_DEPTH - 2;
        let shapes = [
            format!("SELECT {}1{}", "(".repeat(d), ")".repeat(d)),
            format!("SELECT 1 FROM t WHERE {}", vec!["a = 1"; d].join(" AND ")),
            vec!["SELECT 1"; d].join(" UNION "),
            format!("SELECT {}1{}", "CASE WHEN true THEN ".repeat(d / 2), " END".repeat(d / 2)),
            format!("SELECT {}", vec!["1"; d].join(" + ")),
        ];
        for s in &shapes {
            assert!(s.len() < INLINE_BYTES, "{} bytes would not take the inline path", s.len());
            let depth = crate::sql::depth::check_script(s).unwrap();
            assert!(depth <= REUSE_MAX_DEPTH && depth >= d / 2, "{depth} for {s}");
        }
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                for s in &shapes {
                    let v = run(s, false, "postgres").unwrap();
                    assert!(v["diagnostics"].is_array(), "{v}");
                }
            })
            .unwrap()
            .join()
            .expect("no panic");
    }

    /// The generated migration of the benchmark, `n` table groups.
    fn migration(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "CREATE TABLE t{i} (\n  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n  tenant_id text NOT NULL,\n  \
                     name varchar(200),\n  total numeric(12,2),\n  created_at timestamptz DEFAULT now()\n);\n\
                     CREATE INDEX ASYNC t{i}_tenant ON t{i} (tenant_id);\nCREATE INDEX t{i}_name ON t{i} (name);\n\
                     INSERT INTO t{i} (tenant_id, name, total) VALUES ('acme', 'it''s; a -- name', 1.50), ('acme', 'b', 2);\n\
                     ALTER TABLE t{i} ADD COLUMN note text;\n-- comment {i}\n"
                )
            })
            .collect()
    }

    /// dsql-lint cut at every allowed place gives what one call gives: same diagnostics in the same order with
    /// the same lines, same fixed SQL. Returns the number of pieces.
    fn same_as_whole(sql: &str) -> usize {
        let s = split(sql, 2);
        let cuts = chunks::allowed_cuts(&s.statements);
        let mut pieces = 0;
        for fix in [false, true] {
            let whole = chunks::whole(sql, fix);
            let cut = chunks::lint(sql, fix, &cuts, &s.semicolons, 2);
            assert_eq!(format!("{:#?}", cut.diagnostics), format!("{:#?}", whole.diagnostics), "fix={fix}\n{sql}");
            assert_eq!(cut.fixed_sql, whole.fixed_sql, "fix={fix}\n{sql}");
            pieces = cut.pieces;
        }
        pieces
    }

    #[test]
    fn pieces_lint_like_the_whole_migration() {
        let sql = migration(40);
        let pieces = same_as_whole(&sql);
        // Every group is its own run of statements tied only by its own table name.
        assert_eq!(pieces, 40);
        assert!(!chunks::whole(&sql, false).diagnostics.is_empty());
    }

    #[test]
    fn pieces_lint_like_the_whole_on_tricky_inputs() {
        let idioms = "CREATE TABLE public.t (id integer NOT NULL, x text);\n\
            CREATE TABLE other (a int);\n\
            CREATE SEQUENCE public.t_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;\n\
            SELECT 1;\n\
            ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;\n\
            CREATE TABLE serial_inline (id serial PRIMARY KEY);\n\
            ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);\n\
            INSERT INTO other VALUES (1);\n\
            ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n\
            CREATE TABLE u (id bigint NOT NULL, code text);\n\
            ALTER TABLE u ADD CONSTRAINT u_code UNIQUE (code);\n\
            CREATE TABLE x (id integer NOT NULL, blob text);\n\
            SELECT 2;\n\
            ALTER TABLE public.x ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (\n    SEQUENCE NAME public.x_id_seq\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n);\n\
            ALTER TABLE ONLY public.x ALTER COLUMN blob SET COMPRESSION lz4;\n\
            CREATE TABLE q (id int);\n\
            SELECT 3;\n\
            ALTER TABLE q ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;\n\
            CREATE TABLE p (id int PRIMARY KEY, v text);\n\
            UPDATE other SET a = 2;\n\
            ALTER TABLE p DROP CONSTRAINT p_pkey;\n\
            CREATE TABLE arr (tags text[]);\n\
            TRUNCATE other;\n";
        let blocks = "CREATE TABLE a1 (id int);\nBEGIN;\nCREATE TABLE b1 (id int);\nCREATE TABLE b2 (id int);\nCOMMIT;\n\
            BEGIN;\nCREATE TABLE c1 (id int);\nINSERT INTO c1 VALUES (1);\nEND;\n\
            SELECT 1;\nSTART TRANSACTION;\nCREATE INDEX ASYNC i1 ON a1 (id);\nROLLBACK;\n\
            BEGIN;\nCREATE TABLE d1 (id int);\nTHIS IS NOT SQL;\nCREATE TABLE d2 (id int);\nCOMMIT;\n\
            CREATE TABLE e1 (id serial);\nBEGIN;\nCREATE TABLE open1 (id int);\nCREATE TABLE open2 (id int);\n";
        let quoting = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;\n\
            CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT ';'; $body$;\n\
            -- a comment; with a semicolon\n/* block; /* nested; */ still; */\n\
            INSERT INTO t VALUES ('a;b', E'c\\';d', 'e''f;');\n\
            CREATE TABLE \"Quoted;Name\" (id int, \"col;x\" serial);\n\
            ALTER TABLE \"Quoted;Name\" ADD CONSTRAINT qpk PRIMARY KEY (id);\n\
            SELECT a$$b FROM t;\n\
            SELECT U&'d\\0061t;a';\n\
            CREATE TABLE money_t (m money);\n\
            ;;\n\
            CREATE INDEX nope ON t (a)";
        for sql in [idioms, blocks, quoting] {
            assert!(same_as_whole(sql) > 1, "{sql}");
            let crlf = sql.replace('\n', "\r\n");
            assert!(same_as_whole(&crlf) > 1);
            let cr = sql.replace('\n', "\r");
            same_as_whole(&cr);
        }
    }

    #[test]
    fn cuts_stay_out_of_blocks_and_related_statements() {
        let sql = "CREATE TABLE t (id integer NOT NULL);\nSELECT 1;\nALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n\
                   SELECT 2;\nBEGIN;\nCREATE TABLE a (id int);\nSELECT 3;\nCOMMIT;\nSELECT 4;\n\
                   ALTER TABLE weird garbage here;\nSELECT 5;\nCREATE TABLE here (id int);\nSELECT 6;";
        let s = split(sql, 1);
        let cut_after: Vec<&str> = chunks::allowed_cuts(&s.statements)
            .iter()
            .map(|&c| s.statements.iter().find(|st| st.end == Some(c)).map_or("?", |st| st.text.as_str()))
            .collect();
        assert_eq!(
            cut_after,
            [
                "ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
                "SELECT 2",
                "COMMIT",
                "SELECT 4",
                // The unparsable ALTER names `here`, which a later CREATE TABLE uses: no cut between them.
                "CREATE TABLE here (id int)"
            ]
        );
    }

    #[test]
    fn a_piece_that_splits_differently_falls_back_to_one_call() {
        let sql = "SELECT 'a;b';\nCREATE TABLE t (id serial);\n";
        let s = split(sql, 1);
        // A cut inside the string literal: sqlparser sees no `;` there.
        let bad = sql.find(';').map(|i| i + 1).unwrap_or(0);
        let out = chunks::lint(sql, false, &[bad], &s.semicolons, 2);
        assert_eq!(out.pieces, 1);
        assert_eq!(format!("{:?}", out.diagnostics), format!("{:?}", chunks::whole(sql, false).diagnostics));
    }

    #[test]
    fn a_small_input_linted_inline_reports_as_on_two_threads() {
        let newest = DsqlVersion::newest();
        for sql in [
            "SELECT 1",
            "CREATE TABLE t (id serial PRIMARY KEY, v json);\nTRUNCATE t;\nCREATE INDEX i ON t (id);",
            "INSERT INTO t VALUES (1); -- a comment\nSELECT * FROM t FOR SHARE;",
        ] {
            assert!(sql.len() < INLINE_BYTES);
            for fix in [false, true] {
                let inline = run_at(sql, fix, "postgres", newest).unwrap();
                assert_eq!(inline, run_on(sql, fix, "postgres", 2, newest).unwrap(), "{sql}");
                assert!(fix || sql == "SELECT 1" || !inline["diagnostics"].as_array().unwrap().is_empty(), "{sql}");
            }
        }
    }

    #[test]
    fn dsql_lint_on_our_parses_reports_what_it_reports_on_its_own() {
        let inputs = [
            migration(5),
            "CREATE TABLE public.t (id integer NOT NULL, x text);\nCREATE SEQUENCE public.t_id_seq AS integer START WITH 1;\n\
             ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;\n\
             ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);\n\
             ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\nALTER TABLE t DROP CONSTRAINT t_pkey;\n\
             BEGIN;\nCREATE TABLE b1 (id int);\nINSERT INTO b1 VALUES (1);\nCOMMIT;\nTHIS IS NOT SQL;\n\
             TABLE t;\nINSERT INTO t (x) OVERRIDING SYSTEM VALUE VALUES ('a;b');\n\
             CREATE TABLE \"Quoted;Name\" (id int, \"col;x\" serial); -- trailing; comment\n\
             /* block */ CREATE INDEX nope ON t (x)"
                .to_string(),
        ];
        for sql in &inputs {
            let s = split_keeping_trees(sql);
            let kept = s.statements.iter().filter(|st| st.tree.is_some()).count();
            assert!(kept >= 5, "{kept} of {}", s.statements.len());
            let reused = chunks::whole_reusing(sql, &s.statements);
            assert_eq!(
                format!("{:#?}", reused.diagnostics),
                format!("{:#?}", chunks::whole(sql, false).diagnostics),
                "{sql}"
            );
        }
    }

    #[test]
    fn large_input_is_cut_and_reports_like_one_call() {
        let sql = migration(400);
        assert!(sql.len() > 4 * chunks::MIN_CHUNK_BYTES);
        let s = split(&sql, 2);
        assert!(chunks::cuts(sql.len(), &s.statements, 2).len() >= 2);
        for fix in [false, true] {
            let one = run_on(&sql, fix, "postgres", 1, DsqlVersion::newest()).unwrap();
            assert!(one["diagnostics"].as_array().is_some_and(|d| d.len() >= 400));
            assert_eq!(run_on(&sql, fix, "postgres", 2, DsqlVersion::newest()).unwrap(), one);
            assert_eq!(run_on(&sql, fix, "postgres", 3, DsqlVersion::newest()).unwrap(), one);
        }
    }
}
