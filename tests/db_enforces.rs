//! Issue 24, section 1: the database enforces what it can. Through the real binary, in local mode and with
//! `--database-url`: tool sessions are DSQL's `admin` (not a superuser), so the database itself refuses server
//! files, replication, signalling sessions, configuration changes and the built-ins that run SQL from text; the
//! server refuses that family by name too; and nothing a call does (settings, role, locks, cursors, LISTEN,
//! temporary tables, prepared statements) survives into the next call on the pooled connection. Every effect is
//! checked independently, on a connection of the test's own (the sandbox's superuser, or `admin` directly).

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use aurora_dsql_mcp_server::emulation::sandbox;
use common::{BIN, Server, sandbox_dir, table, url, url_database};
use serde_json::{Value, json};

/// A connection of the test's own to the shared sandbox, outside the server.
struct Direct {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Direct {
    fn connect(user: &str, dbname: &str) -> Direct {
        let socket = sandbox::socket_dir_for(&sandbox_dir().canonicalize().expect("sandbox dir"));
        let conninfo = format!(
            "host={} port={} user={user} dbname={dbname} application_name=db_enforces_test",
            socket.display(),
            sandbox::SANDBOX_PORT
        );
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(conn);
            client
        });
        Direct { rt, client }
    }

    /// The sandbox's superuser: sees every session, lock and slot.
    fn superuser(dbname: &str) -> Direct {
        Direct::connect(sandbox::SANDBOX_SYS_USER, dbname)
    }

    /// Runs `sql`; the database's error as `CODE: message`.
    fn exec(&self, sql: &str) -> Result<(), String> {
        self.rt.block_on(self.client.batch_execute(sql)).map_err(|e| match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        })
    }

    /// The first column of the first row, as text.
    fn value(&self, sql: &str) -> String {
        let messages = self.rt.block_on(self.client.simple_query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
        messages
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no row: {sql}"))
    }
}

/// A local server on the shared sandbox, its PostgreSQL started.
fn local(extra: &[&str]) -> Server {
    let mut s = Server::local(extra);
    s.rows("SELECT 1 AS up");
    s
}

fn one(s: &mut Server, sql: &str) -> Value {
    let rows = s.rows(sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0].as_object().and_then(|o| o.values().next().cloned()).expect("a column")
}

fn pid(s: &mut Server) -> i64 {
    one(s, "SELECT pg_backend_pid() AS pid").as_i64().expect("pid")
}

fn advisory_locks(su: &Direct, key: i64) -> i64 {
    su.value(&format!("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {key}")).parse().unwrap()
}

#[test]
fn tool_sessions_are_dsql_admin_not_a_superuser() {
    let mut s = local(&[]);
    let rows = s.rows(
        "SELECT current_user AS u, session_user AS s, r.rolsuper AS su, r.rolcreaterole AS cr, r.rolreplication AS rep \
         FROM pg_roles r WHERE r.rolname = current_user",
    );
    assert_eq!(rows, vec![json!({"u": "admin", "s": "admin", "su": false, "cr": true, "rep": false})]);
    // The housekeeping role is another one, and it owns the sys schema the agent can read but not change.
    let su = Direct::superuser("postgres");
    assert_eq!(
        su.value("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'sys'"),
        sandbox::SANDBOX_SYS_USER
    );
    let admin = Direct::connect(sandbox::SANDBOX_USER, "postgres");
    let e = admin.exec("DROP TABLE sys.jobs").unwrap_err();
    assert!(e.starts_with("42501"), "{e}");
    // DSQL's admin abilities stay: roles, schemas, tables, grants, AWS IAM GRANT (see url_dsql.rs, local_dsql.rs).
    let mut w = local(&["--allow-writes"]);
    let schema = table("own_schema");
    w.ok("transact", json!({"sql_list": [format!("CREATE SCHEMA {schema}")]}));
    w.ok("transact", json!({"sql_list": [format!("CREATE TABLE {schema}.t (id int PRIMARY KEY)")]}));
    let role = table("reader");
    w.ok("transact", json!({"sql_list": [format!("CREATE ROLE {role}")]}));
    w.ok("transact", json!({"sql_list": [format!("GRANT SELECT ON {schema}.t TO {role}")]}));
}

/// The reported route and its relatives: every built-in that runs SQL given as text, in every spelling and
/// position, through both tools, refused by the server before anything is sent; no lock is left.
#[test]
fn builtins_that_run_sql_from_text_are_refused_in_every_spelling() {
    let r = local(&[]);
    let w = local(&["--allow-writes", "--rules", "off"]);
    sql_from_text_is_refused(r, w, "postgres");
}

#[test]
fn builtins_that_run_sql_from_text_are_refused_with_a_database_url() {
    let _sandbox = local(&[]);
    let db = url_database("sqltext");
    let r = url(&db, &[]);
    let w = url(&db, &["--allow-writes", "--rules", "off"]);
    sql_from_text_is_refused(r, w, &dbname_of(&db));
}

fn dbname_of(conninfo: &str) -> String {
    conninfo.split("dbname=").nth(1).and_then(|r| r.split_whitespace().next()).expect("dbname").to_string()
}

fn sql_from_text_is_refused(mut r: Server, mut w: Server, dbname: &str) {
    let su = Direct::superuser(dbname);
    let lock = "'SELECT pg_advisory_lock(4242)'";
    let calls = [
        format!("SELECT query_to_xml({lock}, true, false, '')"),
        format!("SELECT pg_catalog.query_to_xml({lock}, true, false, '')"),
        format!("SELECT \"query_to_xml\"({lock}, true, false, '')"),
        format!("SELECT QUERY_TO_XML({lock}, true, false, '')"),
        format!("SELECT query_to_xmlschema({lock}, true, false, '')"),
        format!("SELECT query_to_xml_and_xmlschema({lock}, true, false, '')"),
        "SELECT cursor_to_xml('c', 1, true, false, '')".to_string(),
        "SELECT cursor_to_xmlschema('c', true, false, '')".to_string(),
        "SELECT * FROM ts_stat('SELECT to_tsvector(''a b'')')".to_string(),
        "SELECT * FROM pg_catalog.ts_stat('SELECT to_tsvector(''a'')', 'a')".to_string(),
        "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')".to_string(),
        format!("SELECT (SELECT query_to_xml({lock}, true, false, '')) AS x"),
        format!("WITH q AS (SELECT query_to_xml({lock}, true, false, '') AS x) SELECT * FROM q"),
        format!("SELECT 1 WHERE query_to_xml({lock}, true, false, '') IS NOT NULL"),
        format!("SELECT length(query_to_xml({lock}, true, false, '')::text) AS n"),
    ];
    for sql in &calls {
        let e = r.err("readonly_query", json!({"sql": sql}));
        assert!(e.contains("runs SQL given to it as text"), "readonly_query {sql}: {e}");
        let e = w.err("transact", json!({"sql_list": [sql]}));
        assert!(e.contains("runs SQL given to it as text"), "transact {sql}: {e}");
    }
    // In a function body too (the body is checked when the function is created).
    let f = table("xml_fn");
    let e = w.err(
        "transact",
        json!({"sql_list": [format!("CREATE FUNCTION {f}() RETURNS xml LANGUAGE sql AS $$ SELECT query_to_xml({lock}, true, false, '') $$")]}),
    );
    assert!(e.contains("runs SQL given to it as text"), "{e}");
    // The form of ts_rewrite that runs no SQL is an ordinary function.
    let rows = r.rows("SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)::text AS q");
    assert_eq!(rows, vec![json!({"q": "'b' & 'c'"})]);
    assert_eq!(advisory_locks(&su, 4242), 0, "an advisory lock is held");
}

/// What the checks might miss, the database refuses: functions created outside the server (by `admin` on its own
/// connection, as any client of the cluster could) call what the server would refuse by name, and the server then
/// calls them. Each refusal is the database's (42501), and each effect is checked as the superuser.
#[test]
fn the_database_refuses_admin_what_dsql_refuses_it() {
    let mut r = local(&[]);
    let mut w = local(&["--allow-writes"]);
    let su = Direct::superuser("postgres");
    let admin = Direct::connect(sandbox::SANDBOX_USER, "postgres");
    let victim = Direct::connect(sandbox::SANDBOX_USER, "postgres");
    let victim_pid = victim.value("SELECT pg_backend_pid()");
    let slot = table("slot");
    let p = table("f");
    let bodies = [
        ("xml", "SELECT query_to_xml('SELECT pg_advisory_lock(4244)', true, false, '')::text".to_string()),
        ("lock", "SELECT pg_advisory_lock(4244)::text".to_string()),
        ("xlock", "SELECT pg_advisory_xact_lock(4244)::text".to_string()),
        ("stat", "SELECT count(*)::text FROM ts_stat('SELECT to_tsvector(''a'')')".to_string()),
        ("read", "SELECT pg_read_file('/etc/hostname')".to_string()),
        ("ls", "SELECT count(*)::text FROM pg_ls_dir('.')".to_string()),
        ("slot", format!("SELECT pg_create_physical_replication_slot('{slot}')::text")),
        ("term", format!("SELECT pg_terminate_backend({victim_pid})::text")),
        ("cancel", format!("SELECT pg_cancel_backend({victim_pid})::text")),
        ("srr", "SELECT set_config('session_replication_role', 'replica', false)".to_string()),
        ("logs", "SELECT set_config('log_statement', 'all', false)".to_string()),
        ("reload", "SELECT pg_reload_conf()::text".to_string()),
        ("notify", "SELECT pg_notify('c', 'x')::text".to_string()),
    ];
    for (name, body) in &bodies {
        admin
            .exec(&format!("CREATE FUNCTION {p}_{name}() RETURNS text LANGUAGE sql AS $f$ {body} $f$"))
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        let e = r.err("readonly_query", json!({"sql": format!("SELECT {p}_{name}() AS v")}));
        assert!(e.contains("42501"), "readonly_query {name}: {e}");
        let e = w.err("transact", json!({"sql_list": [format!("SELECT {p}_{name}() AS v")]}));
        assert!(e.contains("42501"), "transact {name}: {e}");
    }
    assert_eq!(advisory_locks(&su, 4244), 0);
    assert_eq!(su.value(&format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'")), "0");
    assert_eq!(victim.value("SELECT 'alive'"), "alive", "the other session was stopped");
    assert_eq!(one(&mut w, "SELECT current_setting('session_replication_role') AS v"), json!("origin"));
    // So foreign keys still hold for the next insert.
    let (parent, child) = (table("parent"), table("child"));
    w.ok("transact", json!({"sql_list": [format!("CREATE TABLE {parent} (id int PRIMARY KEY)")]}));
    w.ok(
        "transact",
        json!({"sql_list": [format!("CREATE TABLE {child} (id int PRIMARY KEY, p int REFERENCES {parent} (id))")]}),
    );
    let e = w.err("transact", json!({"sql_list": [format!("INSERT INTO {child} VALUES (1, 99)")]}));
    assert!(e.contains("23503"), "{e}");

    // Straight from admin's own connection, what no check of the server's sees: configuration, files, languages
    // that run SQL from text, temporary tables.
    for sql in [
        "ALTER SYSTEM SET work_mem = '1MB'".to_string(),
        "SET session_replication_role = replica".to_string(),
        "COPY (SELECT 1) TO '/tmp/db_enforces_copy'".to_string(),
        format!("CREATE TABLE {p}_copy (l text); COPY {p}_copy FROM '/etc/hostname'"),
        format!("CREATE FUNCTION {p}_pl() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN RETURN 1; END $f$"),
        format!("CREATE TEMP TABLE {p}_tmp (a int)"),
        "CREATE DATABASE db_enforces_no".to_string(),
    ] {
        let e = admin.exec(&sql).unwrap_err();
        assert!(e.starts_with("42501"), "{sql}: {e}");
    }
}

/// With `--database-url` the role is the URL's: a non-superuser one gets PostgreSQL's own refusals (server files,
/// replication, superuser settings), through the server, checked as the superuser.
#[test]
fn a_non_superuser_database_url_gets_the_databases_refusals() {
    let _sandbox = local(&[]);
    let db = url_database("urlrefuse");
    let dbname = dbname_of(&db);
    let mut w = url(&db, &["--allow-writes"]);
    let su = Direct::superuser(&dbname);
    let admin = Direct::connect(sandbox::SANDBOX_USER, &dbname);
    let slot = table("urlslot");
    let p = table("uf");
    for (name, body) in [
        ("read", "SELECT pg_read_file('/etc/hostname')".to_string()),
        ("slot", format!("SELECT pg_create_physical_replication_slot('{slot}')::text")),
        ("srr", "SELECT set_config('session_replication_role', 'replica', false)".to_string()),
        ("reload", "SELECT pg_reload_conf()::text".to_string()),
    ] {
        admin.exec(&format!("CREATE FUNCTION {p}_{name}() RETURNS text LANGUAGE sql AS $f$ {body} $f$")).unwrap();
        let e = w.err("transact", json!({"sql_list": [format!("SELECT {p}_{name}() AS v")]}));
        assert!(e.contains("42501"), "{name}: {e}");
    }
    assert_eq!(su.value(&format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'")), "0");
    assert_eq!(one(&mut w, "SELECT current_setting('session_replication_role') AS v"), json!("origin"));
}

/// PostgreSQL 15 lets a CREATEROLE role (DSQL's admin creates roles) grant itself predefined roles. What they would
/// open stays shut, and the next start takes them back.
#[test]
fn predefined_roles_admin_grants_itself_open_nothing_and_are_taken_back() {
    let mut w = local(&["--allow-writes"]);
    let su = Direct::superuser("postgres");
    let admin = Direct::connect(sandbox::SANDBOX_USER, "postgres");
    let f = table("esc");
    admin
        .exec(&format!(
            "CREATE FUNCTION {f}() RETURNS text LANGUAGE sql AS $x$ SELECT pg_read_file('/etc/hostname') $x$"
        ))
        .unwrap();
    admin
        .exec("GRANT pg_read_server_files, pg_signal_backend TO admin")
        .expect("PostgreSQL 15 lets CREATEROLE grant these");
    let e = w.err("transact", json!({"sql_list": [format!("SELECT {f}() AS v")]}));
    assert!(e.contains("42501"), "{e}");
    let members = "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
                   WHERE m.member = 'admin'::regrole AND r.rolname IN ('pg_read_server_files', 'pg_signal_backend')";
    assert_eq!(su.value(members), "2");
    drop(local(&[]));
    assert_eq!(su.value(members), "0", "a new start takes the memberships back");
}

/// Every kind of session state a write can leave, set through the server, and looked for on the next call on the
/// same pooled connection (pool of one). Plain settings cost nothing: the connection is reset and kept. A
/// prepared statement cannot be reset without dropping the server's own: that connection is not reused.
fn nothing_survives_a_call(s: &mut Server, url_mode: bool, dbname: &str) {
    let su = Direct::superuser(dbname);
    let admin = Direct::connect(sandbox::SANDBOX_USER, dbname);
    let first = pid(s);
    let search_path = one(s, "SELECT current_setting('search_path') AS v");
    let app = one(s, "SELECT current_setting('application_name') AS v");
    let write = |s: &mut Server, sql: &str| s.ok("transact", json!({"sql_list": [sql]}));

    write(s, "SET search_path = pg_catalog");
    assert_eq!(one(s, "SELECT current_setting('search_path') AS v"), search_path);
    write(s, "SELECT set_config('search_path', 'pg_catalog', false) AS v");
    assert_eq!(one(s, "SELECT current_setting('search_path') AS v"), search_path);
    write(s, "SET application_name = 'changed'");
    assert_eq!(one(s, "SELECT current_setting('application_name') AS v"), app);
    write(s, "SET default_transaction_read_only = on");
    let t = table("after_ro");
    write(s, &format!("CREATE TABLE {t} (id int)"));
    let role = table("other_role");
    write(s, &format!("CREATE ROLE {role}"));
    admin.exec(&format!("GRANT {role} TO admin")).unwrap();
    write(s, &format!("SET ROLE {role}"));
    assert_eq!(one(s, "SELECT current_user::text AS v"), json!("admin"));
    write(s, "LISTEN db_enforces");
    assert_eq!(one(s, "SELECT count(*)::int AS v FROM pg_listening_channels()"), json!(0));
    s.ok("transact", json!({"sql_list": ["DECLARE db_enforces_c CURSOR WITH HOLD FOR SELECT 1"]}));
    assert_eq!(one(s, "SELECT count(*)::int AS v FROM pg_cursors WHERE name = 'db_enforces_c'"), json!(0));
    let seq = table("seq");
    write(s, &format!("CREATE SEQUENCE {seq}"));
    write(s, &format!("SELECT nextval('{seq}') AS v"));
    let e = s.err("readonly_query", json!({"sql": format!("SELECT currval('{seq}') AS v")}));
    assert!(e.contains("55000"), "the sequence state survived: {e}");
    // A session-level advisory lock taken inside a function (the server refuses the name itself).
    let f = table("locker");
    admin
        .exec(&format!(
            "CREATE FUNCTION {f}() RETURNS text LANGUAGE sql AS $x$ SELECT pg_advisory_lock(4245)::text $x$"
        ))
        .unwrap();
    if url_mode {
        write(s, &format!("SELECT {f}() AS v"));
        assert_eq!(advisory_locks(&su, 4245), 0, "the lock outlived a write");
        s.ok("readonly_query", json!({"sql": format!("SELECT {f}() AS v")}));
        assert_eq!(advisory_locks(&su, 4245), 0, "the lock outlived a read");
        write(s, &format!("CREATE TEMP TABLE {t}_tmp (a int)"));
        assert_eq!(one(s, "SELECT count(*)::int AS v FROM pg_class WHERE relpersistence = 't'"), json!(0));
    } else {
        let e = s.err("transact", json!({"sql_list": [format!("SELECT {f}() AS v")]}));
        assert!(e.contains("42501"), "{e}");
        let e = s.err("transact", json!({"sql_list": [format!("CREATE TEMP TABLE {t}_tmp (a int)")]}));
        assert!(e.contains("42501"), "{e}");
    }
    assert_eq!(pid(s), first, "a connection reset after plain session changes is kept, not reopened");

    write(s, "PREPARE db_enforces_p AS SELECT 1");
    let next = pid(s);
    assert_ne!(next, first, "a connection with an SQL-level prepared statement was reused");
    assert_eq!(one(s, "SELECT count(*)::int AS v FROM pg_prepared_statements WHERE from_sql"), json!(0));
    // The server's own kept statements still work on the new connection.
    s.ok("get_schema", json!({"table_name": t}));
}

#[test]
fn nothing_a_call_does_survives_it_in_local_mode() {
    let mut s = local(&["--allow-writes", "--rules", "off", "--pool-size", "1"]);
    nothing_survives_a_call(&mut s, false, "postgres");
}

#[test]
fn nothing_a_call_does_survives_it_with_a_database_url() {
    let _sandbox = local(&[]);
    let db = url_database("pristine");
    let dbname = dbname_of(&db);
    let mut s = url(&db, &["--allow-writes", "--rules", "off", "--pool-size", "1"]);
    nothing_survives_a_call(&mut s, true, &dbname);
}

/// Runs the binary with `args` for one call, and returns its stderr and the call's answer.
fn stderr_of_one_call(args: &[&str], env: &[(&str, &str)]) -> (String, Value) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AURORA_DSQL_MCP_LOG", "warn")
        .env_remove("AURORA_DSQL_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start");
    let mut stdin = child.stdin.take().expect("stdin");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "readonly_query", "arguments": {"sql": "SELECT 1 AS one"}}});
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    writeln!(stdin, "{init}").unwrap();
    let mut answer = |id: i64| loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0, "the server ended early");
        let message: Value = serde_json::from_str(&line).expect("a JSON message");
        if message["id"] == json!(id) {
            return message;
        }
    };
    answer(1);
    writeln!(stdin, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
    writeln!(stdin, "{call}").unwrap();
    let answer = answer(2);
    drop(stdin);
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).unwrap();
    child.wait().unwrap();
    (err, answer)
}

#[test]
fn a_superuser_database_url_is_named_at_start_and_an_admin_one_is_not() {
    let _sandbox = local(&[]);
    let db = url_database("superurl");
    let as_superuser =
        db.replace(&format!("user={}", sandbox::SANDBOX_USER), &format!("user={}", sandbox::SANDBOX_SYS_USER));
    assert_ne!(as_superuser, db);
    // The admin one first: the superuser's sys schema would then not be admin's to update.
    let (err, answer) = stderr_of_one_call(&["--database-url", &db], &[]);
    assert!(!err.contains("superuser"), "{err}");
    assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
    let (err, answer) = stderr_of_one_call(&["--database-url", &as_superuser], &[]);
    assert!(err.contains("as a PostgreSQL superuser") && err.contains("Connect as a role without SUPERUSER"), "{err}");
    assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
}

/// A sandbox made by an earlier version (initdb's superuser named `admin`) is refused with the commands that
/// keep its data, never used with the superuser.
#[test]
fn a_sandbox_whose_admin_is_the_superuser_is_refused_with_the_fix() {
    let base = sandbox_dir().join(table("old"));
    let data = base.join("data");
    std::fs::create_dir_all(&base).unwrap();
    let as_root = unsafe_euid_is_root();
    let bindir = aurora_dsql_mcp_server::emulation::pgbin::PgBinaries::find().expect("PostgreSQL binaries").bindir;
    if as_root {
        assert!(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&base).status().unwrap().success());
    }
    let mut initdb = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bindir.join("initdb"));
        c
    } else {
        Command::new(bindir.join("initdb"))
    };
    let out = initdb
        .args(["-D"])
        .arg(&data)
        .args(["-U", "admin", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // As earlier versions left it: the settings include the server rewrites at every start.
    let mut conf = std::fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).unwrap();
    writeln!(conf, "\ninclude_if_exists = 'aurora_dsql_mcp.conf'").unwrap();
    let dir = format!("--local={}", base.display());
    let mut s = Server::start(&[dir.as_str()]);
    let e = s.err("readonly_query", json!({"sql": "SELECT 1 AS one"}));
    assert!(e.contains("made by an earlier version") && e.contains("pg_dump") && e.contains(".superuser-admin"), "{e}");
    drop(s);
}

fn unsafe_euid_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The adversarial pass of 2026-12-07: a read-only sort could fill the sandbox's disk with temporary files. The
/// sandbox bounds them per session (`temp_file_limit`, a superuser-only setting `admin` cannot lift in any way),
/// and a query that needs more fails with PostgreSQL's own error. The failing query runs in a database of its own
/// with a 1 MB bound set by the superuser, so the test never writes more than that.
#[test]
fn temporary_files_are_bounded_and_admin_cannot_lift_the_bound() {
    let mut s = local(&[]);
    assert_eq!(one(&mut s, "SHOW temp_file_limit"), sandbox::TEMP_FILE_LIMIT);
    let conninfo = url_database("temp_bound");
    let dbname = dbname_of(&conninfo);
    for db in ["postgres", dbname.as_str()] {
        let admin = Direct::connect(sandbox::SANDBOX_USER, db);
        for sql in [
            "SET temp_file_limit = -1".to_string(),
            "SET LOCAL temp_file_limit = -1".to_string(),
            format!("ALTER ROLE {} SET temp_file_limit = -1", sandbox::SANDBOX_USER),
            format!("ALTER DATABASE {db} SET temp_file_limit = -1"),
            "ALTER SYSTEM SET temp_file_limit = -1".to_string(),
        ] {
            let e = admin.exec(&sql).unwrap_err();
            assert!(e.starts_with("42501"), "{db}: {sql}: {e}");
        }
        assert_eq!(admin.value("SHOW temp_file_limit"), sandbox::TEMP_FILE_LIMIT);
    }
    Direct::superuser("postgres").exec(&format!("ALTER DATABASE {dbname} SET temp_file_limit = '1MB'")).unwrap();
    let mut r = url(&conninfo, &["--rules", "off"]);
    let e = r.err(
        "readonly_query",
        json!({"sql": "SELECT count(*) AS n FROM (SELECT g FROM generate_series(1, 1000000) g ORDER BY g DESC OFFSET 0) s"}),
    );
    assert!(e.contains("53400") && e.contains("temporary file size exceeds temp_file_limit"), "{e}");
    // Under the bound the same kind of query runs.
    assert_eq!(
        one(&mut r, "SELECT count(*) AS n FROM (SELECT g FROM generate_series(1, 1000) g ORDER BY g DESC) s"),
        1000
    );
}
