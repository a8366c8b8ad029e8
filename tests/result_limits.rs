//! `--max-result-bytes` bounds the whole answer, for every type, through the real binary against the local
//! sandbox: the size measured is the JSON-RPC line the client receives (the response re-serialized: serde_json
//! writes the same bytes the server wrote). A varbit of 8 million bits, an array of two million integers, values
//! the server converts to text (inet), and 1,600 columns with 63-byte names all come back under the limit, with
//! `truncated: true` and a note saying what was left out.

mod common;

use common::Server;
use serde_json::{Value, json};

const LIMIT: usize = 65_536;

/// The readonly_query answer's result and the length of its JSON-RPC line.
fn answer(s: &mut Server, sql: &str) -> (Value, usize) {
    let response = s.request("tools/call", json!({"name": "readonly_query", "arguments": {"sql": sql}}));
    let line = serde_json::to_string(&response).unwrap().len();
    eprintln!("{line:>8} bytes: {}", sql.chars().take(90).collect::<String>());
    let result = response["result"].clone();
    let short: String = common::text(&result).chars().take(2000).collect();
    assert_eq!(result["isError"], json!(false), "{sql}: {short}");
    (result, line)
}

fn truncation(result: &Value) -> String {
    let structured = &result["structuredContent"];
    let short: String = structured.to_string().chars().take(2000).collect();
    assert_eq!(structured["truncated"], json!(true), "{short}");
    let note = structured["truncation"].as_str().expect("a truncation note").to_string();
    let notes = result["content"][1]["text"].as_str().expect("the note as a text block");
    assert!(notes.contains(&note), "{notes}");
    note
}

#[test]
fn huge_values_of_every_kind_come_back_under_the_limit_and_say_so() {
    let flag = format!("--max-result-bytes={LIMIT}");
    let mut s = Server::local(&[&flag]);

    // varbit: 8 million bits, a 1 MB stored value whose text is 8 MB.
    let (r, line) = answer(&mut s, "SELECT repeat('1', 8000000)::varbit AS v");
    assert!(line <= LIMIT, "varbit answer is {line} bytes");
    let v = r["structuredContent"]["result"][0]["v"].as_str().unwrap().to_string();
    assert!(v.starts_with("1111") && v.ends_with(" of 8000000 bytes shown]"), "{v:.200}");
    assert!(truncation(&r).contains("its longest values were cut"));

    // Small varbits are whole, and counted exactly: rows stop at the limit.
    let (r, line) = answer(&mut s, "SELECT g, repeat('10', 500)::varbit AS v FROM generate_series(1, 1000) g");
    assert!(line <= LIMIT, "{line}");
    let rows = r["structuredContent"]["result"].as_array().unwrap();
    assert!(rows.len() > 10 && rows.len() < 1000, "{}", rows.len());
    assert_eq!(rows[0]["v"].as_str().unwrap().len(), 1000);
    assert!(truncation(&r).contains(&format!("Returned {} of 1000 rows", rows.len())));

    // An array of two million integers (16 MB stored).
    let (r, line) = answer(&mut s, "SELECT array_agg(g) AS a FROM generate_series(1, 2000000) g");
    assert!(line <= LIMIT, "array answer is {line} bytes");
    let a = r["structuredContent"]["result"][0]["a"].as_str().unwrap().to_string();
    assert!(a.starts_with("[1,2,3,") && a.contains("…[cut: "), "{a:.200}");
    truncation(&r);

    // Values the server converts to text (no native decoding): one huge array, then many rows.
    let (r, line) = answer(
        &mut s,
        "SELECT array_agg(('10.0.' || (g % 250) || '.1')::inet) AS ips FROM generate_series(1, 100000) g",
    );
    assert!(line <= LIMIT, "inet[] answer is {line} bytes");
    assert!(r["structuredContent"]["result"][0]["ips"].as_str().unwrap().contains("…[cut: "));
    truncation(&r);
    let (r, line) = answer(
        &mut s,
        "SELECT ('10.' || (g / 65536) || '.' || (g / 256 % 256) || '.' || (g % 256))::inet AS ip FROM generate_series(1, 100000) g",
    );
    assert!(line <= LIMIT, "{line}");
    let rows = r["structuredContent"]["result"].as_array().unwrap();
    assert!(
        rows.len() > 100 && rows[0]["ip"].as_str().is_some_and(|ip| ip.starts_with("10.0.0.1")),
        "{:?}",
        &rows[..1]
    );
    truncation(&r);

    // 1,600 columns with 63-byte names: the columns list alone would pass the limit.
    let columns: Vec<String> = (0..1600).map(|i| format!("{i} AS \"c{i:04}_{}\"", "x".repeat(57))).collect();
    let (r, line) = answer(&mut s, &format!("SELECT {} FROM generate_series(1, 50)", columns.join(", ")));
    assert!(line <= LIMIT, "1,600-column answer is {line} bytes");
    let structured = &r["structuredContent"];
    let shown = structured["columns"].as_array().unwrap().len();
    assert!(shown > 10 && shown < 1600, "{shown}");
    let first = structured["result"][0].as_object().unwrap();
    assert_eq!(first.len(), shown, "rows carry the columns listed");
    assert!(truncation(&r).contains(&format!("Returned the first {shown} of 1600 columns")));
}

#[test]
fn the_default_limit_holds_for_the_reported_varbit() {
    let mut s = Server::local(&[]);
    let (r, line) = answer(&mut s, "SELECT repeat('1', 8000000)::varbit AS v");
    assert!(line <= 1024 * 1024, "varbit answer is {line} bytes under the 1 MiB default");
    assert!(line > 512 * 1024, "most of the limit is used: {line}");
    truncation(&r);
}
