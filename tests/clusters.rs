//! Named clusters (`--config`), through the real binary over stdio: three clusters in one server on three
//! PostgreSQL servers (two reached by URL, and a local sandbox the server starts itself). A write on one never reaches another (checked by separate server processes on each database), a
//! read-only cluster refuses what its neighbour allows, every result names its cluster, a call without `cluster`
//! is refused naming the clusters when there is no default, and bad files are refused with their line before
//! anything is served.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{BIN, Server, sandbox_dir, table, text, url, url_database, url_database_in};
use serde_json::{Value, json};

/// A second sandbox directory (another PostgreSQL server), removed with the others of this run.
fn second_sandbox() -> PathBuf {
    sandbox_named("gamma")
}

/// A sandbox directory of its own (another PostgreSQL server), removed with the others of this run.
fn sandbox_named(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adsql-test-{}-clusters-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a sandbox dir");
    dir
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("dsql.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

#[test]
fn three_clusters_in_one_server_stay_apart_and_say_who_answered() {
    // Three PostgreSQL servers: alpha is a database of the shared test sandbox and beta one of a second sandbox
    // (both reached by URL, each kept up by a server of its own), gamma a sandbox the server under test starts.
    let mut seeder = Server::local(&[]);
    seeder.rows("SELECT 1");
    let beta_dir = sandbox_named("beta");
    let beta_flag = format!("--local={}", beta_dir.display());
    let mut beta_keeper = Server::start(&[beta_flag.as_str()]);
    beta_keeper.rows("SELECT 1");
    let (alpha_url, beta_url) = (url_database("alpha"), url_database_in(&beta_dir, "beta"));
    assert!(!beta_url.contains(&sandbox_dir().display().to_string()), "beta is another PostgreSQL server");
    let gamma_dir = second_sandbox();
    let conf_dir = tempfile::tempdir().unwrap();
    let config = write_config(
        conf_dir.path(),
        &format!(
            "[clusters.alpha]\ndatabase_url = {}\nallow_writes = true\n\n[clusters.beta]\ndatabase_url = {}\n\n\
             [clusters.gamma]\nlocal = {}\nallow_writes = true\nmax_rows = 1\n",
            toml_string(&alpha_url),
            toml_string(&beta_url),
            toml_string(&gamma_dir.display().to_string())
        ),
    );
    let mut s = Server::start(&["--config", config.to_str().unwrap()]);

    // The instructions list every cluster with what it is and whether it allows writes.
    let instructions = s.init["instructions"].as_str().unwrap().to_string();
    for line in ["cluster `alpha`: a PostgreSQL database", "cluster `gamma`: a LOCAL sandbox", "no default"] {
        assert!(instructions.contains(line), "{line:?} missing from:\n{instructions}");
    }
    let line_of = |name: &str| instructions.lines().find(|l| l.contains(&format!("`{name}`:"))).unwrap().to_string();
    assert!(line_of("alpha").ends_with("READ-WRITE") && line_of("beta").ends_with("READ-ONLY"), "{instructions}");

    // Every database tool takes `cluster`, the names as an enum, required (no default); write tools are listed
    // because alpha and gamma allow writes; the documentation tools do not take it.
    let list = s.request("tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().unwrap().clone();
    for name in
        ["readonly_query", "transact", "get_schema", "explain_query", "apply_migration", "list_migrations", "backfill"]
    {
        let tool = tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} listed"));
        let schema = &tool["inputSchema"];
        assert_eq!(names(&schema["properties"]["cluster"]["enum"]), ["alpha", "beta", "gamma"], "{name}: {schema}");
        assert!(names(&schema["required"]).contains(&"cluster".to_string()), "{name}: {schema}");
    }
    let lint = tools.iter().find(|t| t["name"] == "dsql_lint").unwrap();
    assert!(lint["inputSchema"]["properties"].get("cluster").is_none());

    // Without `cluster`, and with an unknown one: refused, naming the clusters; nothing ran.
    let e = s.err("readonly_query", json!({"sql": "SELECT 1"}));
    assert!(e.contains("`alpha`, `beta`, `gamma`") && e.contains("`cluster`"), "{e}");
    let e = s.err("readonly_query", json!({"sql": "SELECT 1", "cluster": "production"}));
    assert!(e.contains("\"production\"") && e.contains("`alpha`, `beta`, `gamma`"), "{e}");

    // The same table name written on alpha and on gamma: each gets only its own rows.
    let t = table("clusters");
    for (cluster, rows) in [("alpha", "(1)"), ("gamma", "(1), (2)")] {
        s.ok("transact", json!({"cluster": cluster, "sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
        let r = s.call("transact", json!({"cluster": cluster, "sql_list": [format!("INSERT INTO {t} VALUES {rows}")]}));
        assert_eq!(r["isError"], json!(false), "{}", text(&r));
        // Who answered: in structuredContent and as a line of text.
        assert_eq!(r["structuredContent"]["cluster"], json!({"name": cluster, "region": null, "role": "admin"}));
        let all_text: Vec<&str> = r["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect();
        let line = format!("Cluster: {cluster} (role admin, read-write)");
        assert!(all_text.iter().any(|t| t.contains(&line)), "{line:?} missing from {all_text:?}");
    }

    // beta is read-only: what alpha allowed is refused there, naming the cluster and those that allow writes.
    let e = s.err("transact", json!({"cluster": "beta", "sql_list": [format!("CREATE TABLE {t} (id int)")]}));
    let (refusal, named) = e.rsplit_once('\n').unwrap_or((&e, ""));
    assert!(refusal.contains("read-only mode"), "{e}");
    assert!(refusal.contains("allow_writes = true in its [clusters.beta] table"), "the fix for a file cluster: {e}");
    assert_eq!(named, "Cluster: beta (role admin, read-only)", "the error names its cluster: {e}");
    let e = s.err("backfill", json!({"cluster": "beta", "table": t, "set": "id = id"}));
    assert!(e.contains("`beta` is read-only") && e.contains("alpha, gamma") && e.contains("Nothing ran"), "{e}");
    let r = s.ok(
        "readonly_query",
        json!({"cluster": "beta", "sql": "SELECT count(*)::int AS n FROM pg_class WHERE relname = $1", "params": [t]}),
    );
    assert_eq!(r["result"], json!([{"n": 0}]), "beta never saw alpha's table");
    assert_eq!(r["cluster"], json!({"name": "beta", "region": null, "role": "admin"}));

    // Per-cluster settings: gamma's max_rows is 1, alpha's is the default.
    let r = s.ok("readonly_query", json!({"cluster": "gamma", "sql": format!("SELECT id FROM {t} ORDER BY id")}));
    assert_eq!((r["row_count"].as_u64(), r["truncated"].as_bool()), (Some(1), Some(true)), "{r}");

    // Schema resources: one per cluster, none for a default (there is none).
    let listed = s.request("resources/list", json!({}));
    let uris: Vec<String> = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str().map(str::to_string))
        .filter(|u| u.contains("schema"))
        .collect();
    assert_eq!(uris, ["dsql://clusters/alpha/schema", "dsql://clusters/beta/schema", "dsql://clusters/gamma/schema"]);
    let read = s.request("resources/read", json!({"uri": format!("dsql://clusters/gamma/schema/{t}")}));
    let body = read["result"]["contents"][0]["text"].as_str().unwrap_or_default().to_string();
    assert!(body.contains("\"name\":\"gamma\"") && body.contains(&t), "{read}");
    let read = s.request("resources/read", json!({"uri": "dsql://schema"}));
    let message = read["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no default") && message.contains("dsql://clusters/beta/schema"), "{read}");
    drop(s);

    // Checked independently, by separate servers on each database.
    let mut alpha = url(&alpha_url, &[]);
    assert_eq!(alpha.rows(&format!("SELECT count(*)::int AS n FROM {t}")), vec![json!({"n": 1})]);
    let mut beta = url(&beta_url, &[]);
    let absent = beta.rows(&format!("SELECT count(*)::int AS n FROM pg_class WHERE relname = '{t}'"));
    assert_eq!(absent, vec![json!({"n": 0})]);
    let gamma_flag = format!("--local={}", gamma_dir.display());
    let mut gamma = Server::start(&[gamma_flag.as_str()]);
    assert_eq!(gamma.rows(&format!("SELECT count(*)::int AS n FROM {t}")), vec![json!({"n": 2})]);
    drop(beta_keeper);
    drop(seeder);
}

#[test]
fn a_default_cluster_answers_calls_without_cluster_and_flags_define_default() {
    let mut seeder = Server::local(&[]);
    seeder.rows("SELECT 1");
    let other = url_database("other");
    let conf_dir = tempfile::tempdir().unwrap();
    let config = write_config(
        conf_dir.path(),
        &format!("[clusters.other]\ndatabase_url = {}\nmax_rows = 3\n", toml_string(&other)),
    );
    // The flags name a database: they define `default`, which calls without `cluster` go to.
    let flags_db = url_database("flags");
    let mut s = Server::start(&["--database-url", &flags_db, "--allow-writes", "--config", config.to_str().unwrap()]);
    let r = s.ok("readonly_query", json!({"sql": "SELECT current_database() AS db"}));
    assert_eq!(r["cluster"]["name"], "default");
    assert_eq!(r["result"][0]["db"].as_str(), flags_db.split("dbname=").nth(1).and_then(|d| d.split(' ').next()));
    let r = s.ok("readonly_query", json!({"sql": "SELECT current_database() AS db", "cluster": "other"}));
    assert_eq!(r["cluster"]["name"], "other");
    let list = s.request("tools/list", json!({}));
    let query = list["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "readonly_query").unwrap();
    let schema = &query["inputSchema"];
    assert!(!names(&schema["required"]).contains(&"cluster".to_string()), "optional with a default: {schema}");
    assert_eq!(names(&schema["properties"]["cluster"]["anyOf"][0]["enum"]), ["default", "other"]);
    // A write tool on the read-only `other` is refused naming the clusters that allow writes.
    let e = s.err("list_migrations", json!({"cluster": "other"}));
    assert!(e.contains("`other` is read-only") && e.contains("writes: default"), "{e}");
    // The default keeps today's resource URIs; the other cluster has its own.
    let listed = s.request("resources/list", json!({}));
    let uris: Vec<&str> =
        listed["result"]["resources"].as_array().unwrap().iter().filter_map(|r| r["uri"].as_str()).collect();
    assert!(uris.contains(&"dsql://schema") && uris.contains(&"dsql://clusters/other/schema"), "{uris:?}");
    drop(s);

    // `call` takes --config too.
    let out = Command::new(BIN)
        .args(["call", "readonly_query", r#"{"sql":"SELECT 41 + 1 AS n","cluster":"other"}"#, "--json"])
        .args(["--config", config.to_str().unwrap()])
        .env("AURORA_DSQL_MCP_LOG", "error")
        .output()
        .unwrap();
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(printed["structuredContent"]["result"], json!([{"n": 42}]));
    assert_eq!(printed["structuredContent"]["cluster"]["name"], "other");
    drop(seeder);
}

/// Runs the server with `--config` on `text`: it must stop before serving (exit status 2, nothing on stdout).
fn refused(text: &str, flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), text);
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(flags)
        .stdin(Stdio::piped())
        .env("AURORA_DSQL_MCP_LOG", "warn")
        .env_remove("AURORA_DSQL_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(out.stdout.is_empty(), "nothing served: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn bad_config_files_are_refused_with_their_line_before_serving() {
    let sandbox = sandbox_dir();
    let local = |name: &str| toml_string(&sandbox.join(name).display().to_string());
    let cases = [
        ("unknown key", format!("[clusters.a]\nlocal = {}\nallow_write = true\n", local("a")), "line 3", "allow_write"),
        ("missing target", "[clusters.a]\nmax_rows = 10\n".to_string(), "line 1", "names no database"),
        (
            "two targets",
            format!("[clusters.a]\nlocal = {}\ndatabase_url = \"postgres://u@h/db\"\n", local("a")),
            "line 1",
            "keep exactly one",
        ),
        (
            "duplicate name",
            format!("[clusters.a]\nlocal = {}\n\n[clusters.a]\nlocal = {}\n", local("a"), local("b")),
            "line 4",
            "duplicate",
        ),
        ("wrong type", format!("[clusters.a]\nlocal = {}\nallow_writes = \"yes\"\n", local("a")), "line 3", "bool"),
    ];
    for (what, text, line, words) in cases {
        let err = refused(&text, &[]);
        assert!(err.contains("dsql.toml") && err.contains(line) && err.contains(words), "{what}:\n{err}");
    }
    // A flag of one database without a database flag: which cluster would it be for?
    let err = refused(&format!("[clusters.a]\nlocal = {}\n", local("a")), &["--allow-writes"]);
    assert!(err.contains("--allow-writes") && err.contains("allow_writes = true"), "{err}");
    // A file that does not exist.
    let out = Command::new(BIN).args(["--config", "/nonexistent/dsql.toml"]).stdin(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dsql.toml"));
}

/// A 2026-07-28 `transact` from a client that can answer form elicitations.
fn modern_call(s: &mut Server, args: Value, answer: Option<(&Value, Value)>) -> Value {
    common::modern_transact(s, true, args, answer)
}

/// A confirmation is bound to its cluster: the user's yes to dropping a table on one cluster never drops the table
/// of the same name on another, even replayed with the very same arguments; and the question names the cluster.
#[test]
fn a_confirmation_for_one_cluster_never_answers_for_another() {
    let mut seeder = Server::local(&[]);
    seeder.rows("SELECT 1");
    let (staging_url, production_url) = (url_database("staging"), url_database("production"));
    let conf_dir = tempfile::tempdir().unwrap();
    let config = write_config(
        conf_dir.path(),
        &format!(
            "[clusters.staging]\ndatabase_url = {}\nallow_writes = true\n\n[clusters.production]\ndatabase_url = {}\n\
             allow_writes = true\n",
            toml_string(&staging_url),
            toml_string(&production_url)
        ),
    );
    let mut s = Server::start(&["--config", config.to_str().unwrap()]);
    let t = table("confirm");
    for cluster in ["staging", "production"] {
        s.ok("transact", json!({"cluster": cluster, "sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
        s.ok("transact", json!({"cluster": cluster, "sql_list": [format!("INSERT INTO {t} VALUES (1), (2)")]}));
    }
    let drop_on = |cluster: &str| json!({"cluster": cluster, "sql_list": [format!("DROP TABLE {t}")]});
    let asked = modern_call(&mut s, drop_on("staging"), None);
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let message = asked["inputRequests"]["confirm_destructive"]["params"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cluster `staging`"), "the question names the cluster: {message}");
    let state = asked["requestState"].clone();
    let yes = json!({"action": "accept", "content": {"confirm_destructive": true}});

    // Replayed on production with the same statements: asked anew, nothing dropped there.
    let replayed = modern_call(&mut s, drop_on("production"), Some((&state, yes.clone())));
    assert_eq!(replayed["resultType"], "input_required", "{replayed}");
    let exists = |s: &mut Server, cluster: &str| {
        let r = s.ok(
            "readonly_query",
            json!({"cluster": cluster, "sql": "SELECT count(*)::int AS n FROM pg_class WHERE relname = $1", "params": [t]}),
        );
        r["result"][0]["n"] == json!(1)
    };
    assert!(exists(&mut s, "production") && exists(&mut s, "staging"));

    // The yes answers the call it was given for.
    let done = modern_call(&mut s, drop_on("staging"), Some((&state, yes)));
    assert_eq!(done["isError"], false, "{done}");
    assert_eq!(done["structuredContent"]["cluster"]["name"], "staging");
    assert!(!exists(&mut s, "staging") && exists(&mut s, "production"));
    drop(s);
    drop(seeder);
}

#[test]
fn the_config_files_audit_log_records_every_cluster_and_calls_refused_before_one_answered() {
    let mut seeder = Server::local(&[]);
    seeder.rows("SELECT 1");
    let (alpha_url, beta_url) = (url_database("auditalpha"), url_database("auditbeta"));
    let conf_dir = tempfile::tempdir().unwrap();
    let config = write_config(
        conf_dir.path(),
        &format!(
            "audit_log = \"calls.jsonl\"\n\n[clusters.alpha]\ndatabase_url = {}\nallow_writes = true\n\n\
             [clusters.beta]\ndatabase_url = {}\n",
            toml_string(&alpha_url),
            toml_string(&beta_url)
        ),
    );
    let mut s = Server::start(&["--config", config.to_str().unwrap()]);
    s.ok("readonly_query", json!({"cluster": "alpha", "sql": "SELECT 1 AS one"}));
    s.err("backfill", json!({"cluster": "beta", "table": "t", "set": "id = id"}));
    s.err("readonly_query", json!({"cluster": "production", "sql": "SELECT 1"}));
    s.ok("readonly_query", json!({"cluster": "beta", "sql": "SELECT 2 AS two"}));
    s.finish();

    // The file's relative path is the config file's directory's; one line per call, each under its cluster.
    let log = std::fs::read_to_string(conf_dir.path().join("calls.jsonl")).expect("the audit log was written");
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let seen: Vec<(&str, &str, &str, Option<&str>)> = lines
        .iter()
        .map(|l| {
            (
                l["tool"].as_str().unwrap(),
                l["cluster"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
                l["check"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("readonly_query", "alpha", "ok", None),
            ("backfill", "beta", "refused", Some("cluster")),
            ("readonly_query", "production", "refused", Some("cluster")),
            ("readonly_query", "beta", "ok", None),
        ],
        "{log}"
    );
    // No cluster answered the call naming an unknown one: no role is claimed for it.
    assert_eq!(lines[2]["role"], Value::Null, "{log}");
    assert!(lines[0]["role"].is_string(), "{log}");
}

/// `token` for a named cluster, through the binary with fixed (published example) credentials.
fn token(config: &Path, args: &[&str], creds: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .arg("token")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        // Keys in the environment too: a cluster's profile must win over them (used strictly).
        .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY00")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", creds)
        .env("AWS_CONFIG_FILE", creds.with_file_name("aws-config"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DATABASE_USER", "ignored-for-file-clusters")
        .env_remove("AWS_PROFILE")
        .env_remove("CLUSTER_ENDPOINT")
        .env_remove("REGION")
        .output()
        .expect("run token");
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn token_signs_for_a_named_cluster_with_its_endpoint_region_user_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("aws-credentials");
    std::fs::write(
        &creds,
        "[staging]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = \
         wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("aws-config"), "").unwrap();
    let config = write_config(
        dir.path(),
        "default = \"staging\"\n\
         [clusters.staging]\nendpoint = \"abc123.dsql.us-east-1.on.aws\"\nuser = \"admin\"\nprofile = \"staging\"\n\n\
         [clusters.production]\nendpoint = \"xyz789.dsql.eu-west-1.on.aws\"\nuser = \"reader\"\ntoken_expiry = 300\n\n\
         [clusters.reporting]\ndatabase_url = \"postgres://report@127.0.0.1:1/app\"\n",
    );

    // The default (staging): its endpoint and Region, DbConnectAdmin for `admin`, the profile's key (not the
    // environment's), 900 s unless asked.
    let (code, out, err) = token(&config, &[], &creds);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("abc123.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&"), "{out}");
    assert!(out.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F") && out.contains("us-east-1%2Fdsql"), "{out}");
    assert!(out.contains("X-Amz-Expires=900") && out.contains("X-Amz-Signature="), "{out}");
    assert_eq!(out.lines().count(), 1, "only the token on stdout: {out}");

    // production by name: another Region, DbConnect for a non-admin role, its token_expiry; without a profile the
    // standard chain (here the environment's keys).
    let (code, out, err) = token(&config, &["--cluster", "production"], &creds);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("xyz789.dsql.eu-west-1.on.aws/?Action=DbConnect&"), "{out}");
    assert!(out.contains("X-Amz-Credential=AKIAENVIRONMENTKEY00%2F") && out.contains("eu-west-1%2Fdsql"), "{out}");
    assert!(out.contains("X-Amz-Expires=300"), "{out}");
    let (code, out, err) = token(&config, &["--cluster", "production", "--expires-in", "60"], &creds);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("X-Amz-Expires=60"), "--expires-in wins over the table: {out}");

    // Refusals, exit 2, nothing on stdout: a cluster that is not DSQL, an unknown name, flags the table says.
    for (args, says) in [
        (
            &["--cluster", "reporting"][..],
            vec!["`reporting` is a PostgreSQL URL", "not an Aurora DSQL endpoint", "staging, production"],
        ),
        (&["--cluster", "nope"][..], vec!["no cluster is named `nope`", "staging, production, reporting"]),
        (&["--cluster", "staging", "--region", "us-west-2"][..], vec!["--region cannot be combined with --config"]),
        (&["--admin"][..], vec!["--admin cannot be combined with --config"]),
    ] {
        let (code, out, err) = token(&config, args, &creds);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        for s in says {
            assert!(err.contains(s), "{args:?}: {s:?} missing from {err}");
        }
    }
    // --cluster without --config says what is missing.
    let out = Command::new(BIN).args(["token", "--cluster", "staging"]).output().expect("run token");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give the file with --config FILE"));
}

#[test]
fn completion_of_a_table_name_offers_only_the_named_clusters_tables() {
    // Two databases as two clusters, each holding a table the other does not; `left` is the default.
    let mut seeder = Server::local(&[]);
    seeder.rows("SELECT 1");
    let (left_url, right_url) = (url_database("compleft"), url_database("compright"));
    let conf_dir = tempfile::tempdir().unwrap();
    let config = write_config(
        conf_dir.path(),
        &format!(
            "default = \"left\"\n[clusters.left]\ndatabase_url = {}\nallow_writes = true\n\n\
             [clusters.right]\ndatabase_url = {}\nallow_writes = true\n",
            toml_string(&left_url),
            toml_string(&right_url)
        ),
    );
    let mut s = Server::start(&["--config", config.to_str().unwrap()]);
    let stem = table("compl");
    let (apples, avocados) = (format!("{stem}_apples"), format!("{stem}_avocados"));
    for (cluster, t) in [("left", &apples), ("right", &avocados)] {
        s.ok("transact", json!({"cluster": cluster, "sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY)")]}));
    }

    // Each cluster's template is listed: the default's in the short form (its long form works too, below).
    let templates = s.request("resources/templates/list", json!({}));
    let uris: Vec<String> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap_or_else(|| panic!("{templates}"))
        .iter()
        .filter_map(|t| t["uriTemplate"].as_str().map(str::to_string))
        .collect();
    assert_eq!(uris, ["dsql://schema/{table}", "dsql://clusters/right/schema/{table}"]);

    let mut complete = |uri: &str, typed: &str| -> Vec<String> {
        let r = s.request(
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": uri}, "argument": {"name": "table", "value": typed}}),
        );
        assert!(r.get("error").is_none(), "{uri}: {r}");
        names(&r["result"]["completion"]["values"])
    };
    // The same prefix, completed per cluster: only that cluster's table. The short template is the default's.
    for (uri, want) in [
        ("dsql://clusters/left/schema/{table}", &apples),
        ("dsql://schema/{table}", &apples),
        ("dsql://clusters/right/schema/{table}", &avocados),
    ] {
        assert_eq!(complete(uri, &stem), vec![want.clone()], "{uri}");
    }
    // A prefix only the other cluster's table has: nothing here.
    assert!(complete("dsql://clusters/left/schema/{table}", &avocados).is_empty());
    assert_eq!(complete("dsql://clusters/right/schema/{table}", &avocados), vec![avocados.clone()]);
    // An unknown cluster's template completes nothing (and is no error).
    assert!(complete("dsql://clusters/nowhere/schema/{table}", &stem).is_empty());
    drop(seeder);
}
