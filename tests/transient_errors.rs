//! DSQL's transient `XX000 server unavailable` (catalog T13; project decision of 2026-12-07), through the real
//! binary against a real PostgreSQL that raises it on cue: a read-only transaction is run again, a write is
//! reported and never replayed, and an `XX000` on COMMIT is reported as "outcome unknown".

mod common;
mod dsql_support;

use common::{Server, text, unseal};
use dsql_support::PgCluster;
use serde_json::json;

/// A server on `port` as plain PostgreSQL, the execution path a DSQL cluster gets.
fn url_server(port: u16, extra: &[&str]) -> Server {
    let url = PgCluster::plain_url(port);
    let mut args = vec!["--database-url", url.as_str(), "--rules", "off"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// PL/pgSQL (plain PostgreSQL only) raising DSQL's transient error. `flaky_read` fails its first two calls and
/// counts them in a file in the data directory (COPY TO a file is allowed in a read-only transaction, and survives
/// its rollback; session state such as advisory locks does not survive a call any more); `failing_write` always
/// fails and counts its calls in a sequence; `ledger` fails at COMMIT through a deferred constraint trigger.
const SETUP: &str = r#"
CREATE FUNCTION flaky_read() RETURNS int LANGUAGE plpgsql AS $$
DECLARE failed int := coalesce(nullif(trim(pg_read_file('flaky_read_failures', 0, 16, true)), ''), '0')::int;
BEGIN
  IF failed < 2 THEN
    EXECUTE format('COPY (SELECT %s) TO %L', failed + 1,
                   current_setting('data_directory') || '/flaky_read_failures');
    RAISE EXCEPTION 'server unavailable' USING ERRCODE = 'XX000';
  END IF;
  RETURN failed;
END $$;
CREATE SEQUENCE write_calls;
CREATE TABLE notes (n int);
CREATE FUNCTION failing_write() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('write_calls');
  RAISE EXCEPTION 'server unavailable' USING ERRCODE = 'XX000';
END $$;
CREATE TABLE ledger (n int);
CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'server unavailable' USING ERRCODE = 'XX000';
END $$;
CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON ledger DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION fail_at_commit();
"#;

#[test]
fn xx000_is_retried_for_reads_reported_for_writes_and_unknown_on_commit() {
    let pg = PgCluster::start_trusting();
    pg.psql(SETUP);
    let mut s = url_server(pg.port, &["--allow-writes", "--pool-size", "1", "--max-retries", "5"]);

    // A read-only transaction: run again until it succeeds (third attempt).
    let r = s.call("readonly_query", json!({"sql": "SELECT flaky_read() AS n"}));
    assert_eq!(r["isError"], json!(false), "{}", text(&r));
    assert_eq!(r["structuredContent"]["attempts"], json!(3));
    assert_eq!(r["structuredContent"]["result"][0]["n"], json!(2));

    // A write transaction: reported at once, not replayed (the function ran once).
    let msg = unseal(&s.err("transact", json!({"sql_list": ["INSERT INTO notes VALUES (failing_write())"]})));
    assert!(msg.contains("ERROR XX000: server unavailable"), "{msg}");
    assert!(!msg.contains("RETRIES"), "{msg}");
    assert_eq!(pg.psql("SELECT last_value FROM write_calls").trim(), "1", "the write ran once");
    assert_eq!(pg.psql("SELECT count(*) FROM notes").trim(), "0");

    // XX000 on COMMIT: DSQL does not say whether it committed.
    let msg = unseal(&s.err("transact", json!({"sql_list": ["INSERT INTO ledger VALUES (1)"]})));
    assert!(msg.contains("OUTCOME UNKNOWN") && msg.contains("was NOT run again"), "{msg}");
    assert!(msg.contains("COMMIT was answered with XX000 server unavailable"), "{msg}");
    // (PostgreSQL rolled it back; on DSQL the check the message asks for is what tells.)
    assert_eq!(pg.psql("SELECT count(*) FROM ledger").trim(), "0");
}
