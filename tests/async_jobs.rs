//! The background rule of emulated async jobs in local mode (`emulation::async_jobs`), in a test binary of its own: a
//! server whose job delay is 0 completes, at its start, every job still submitted in the sandbox, which would
//! race the tests that watch a job stay `submitted` (they live in `local_dsql.rs`, with another sandbox).

mod common;

use common::{job_row, local_with_job_delay, table};
use serde_json::json;

#[test]
fn local_mode_completes_an_async_job_at_the_next_call_after_the_delay_and_at_a_later_start() {
    let mut s = local_with_job_delay(0, &["--allow-writes"]);
    common::async_job_completes_at_the_next_call_after_its_delay(&mut s, &table("bg"));
    drop(s);
    // A job left submitted by a server that stopped completes when a server starts after the delay.
    let mut slow = local_with_job_delay(3600, &["--allow-writes"]);
    let t = table("left");
    slow.ok("transact", json!({"sql_list": [format!("CREATE TABLE {t} (id int PRIMARY KEY, a int)")]}));
    let r = slow.ok("transact", json!({"sql_list": [format!("CREATE INDEX ASYNC {t}_a ON {t} (a)")]}));
    let job = r["result"][0]["job_id"].as_str().expect("a job_id row").to_string();
    assert_eq!(job_row(&mut slow, &job)["status"], "submitted");
    let valid = format!("SELECT indisvalid FROM pg_index WHERE indexrelid = '{t}_a'::regclass");
    assert_eq!(slow.rows(&valid), vec![json!({"indisvalid": false})]);
    // Another server with an hour's delay leaves it alone at its start; one with none completes it.
    let mut also_slow = local_with_job_delay(3600, &[]);
    assert_eq!(job_row(&mut also_slow, &job)["status"], "submitted");
    let mut next = local_with_job_delay(0, &[]);
    assert_eq!(job_row(&mut next, &job)["status"], "completed");
    assert_eq!(next.rows(&valid), vec![json!({"indisvalid": true})]);
    drop(slow);
}
