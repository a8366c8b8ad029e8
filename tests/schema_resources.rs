//! The schema as MCP resources, end to end over stdio against the local sandbox: `dsql://schema` (tables and views
//! with column counts), the template `dsql://schema/{table}` (the same JSON as get_schema), completion of its
//! `table` argument, and what an unconfigured server offers (none of it).

mod common;

use common::Server;
use serde_json::{Value, json};

const TEMPLATE: &str = "dsql://schema/{table}";

/// A request that must succeed; returns its `result`.
fn ok(s: &mut Server, method: &str, params: Value) -> Value {
    let r = s.request(method, params.clone());
    assert!(r.get("error").is_none(), "{method}({params}) failed: {r}");
    r["result"].clone()
}

/// A request that must fail; returns its `error`.
fn error(s: &mut Server, method: &str, params: Value) -> Value {
    let r = s.request(method, params.clone());
    assert!(r["error"].is_object(), "{method}({params}) should have failed: {r}");
    r["error"].clone()
}

/// The JSON of a resource, after checking its uri and mimeType: database content comes between untrusted-data
/// markers, so the text is `text/plain`.
fn read_json(s: &mut Server, uri: &str) -> Value {
    let r = ok(s, "resources/read", json!({"uri": uri}));
    let contents = r["contents"].as_array().expect("contents");
    assert_eq!(contents.len(), 1, "{r}");
    assert_eq!(contents[0]["uri"], json!(uri));
    assert_eq!(contents[0]["mimeType"], json!("text/plain"));
    let text = contents[0]["text"].as_str().expect("text");
    assert!(text.starts_with("The database's answer is between the two untrusted-data markers"), "{text}");
    let start = text.find("\">\n").map(|i| i + 3).expect("an opening marker");
    let end = text.rfind("\n</untrusted-data id=").expect("a closing marker");
    serde_json::from_str(&text[start..end]).expect("the text between the markers is JSON")
}

fn complete(s: &mut Server, typed: &str) -> Value {
    ok(
        s,
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": TEMPLATE}, "argument": {"name": "table", "value": typed}}),
    )["completion"]
        .clone()
}

fn resource_uris(s: &mut Server) -> Vec<String> {
    let r = ok(s, "resources/list", json!({}));
    r["resources"].as_array().unwrap().iter().map(|x| x["uri"].as_str().unwrap().to_string()).collect()
}

#[test]
fn tables_are_listed_read_like_get_schema_and_completed() {
    let pid = std::process::id();
    let orders = format!("sres{pid}_orders");
    let items = format!("sres{pid}_order_items");
    let mixed = format!("Sres{pid}_Mixed");
    let view = format!("vres{pid}_open_orders");
    let mut s = Server::local(&["--allow-writes"]);
    assert!(s.init["capabilities"]["completions"].is_object(), "{}", s.init);
    for sql in [
        format!("CREATE TABLE {orders} (id int PRIMARY KEY, status text NOT NULL DEFAULT 'open', total numeric(10,2))"),
        format!("CREATE TABLE {items} (order_id int, sku text)"),
        format!("CREATE TABLE \"{mixed}\" (id int PRIMARY KEY)"),
        format!("CREATE VIEW {view} AS SELECT id, status FROM {orders} WHERE status = 'open'"),
    ] {
        s.ok("transact", json!({"sql_list": [sql]}));
    }

    // The template and the list resource are offered.
    let templates = ok(&mut s, "resources/templates/list", json!({}));
    let t = templates["resourceTemplates"].as_array().unwrap();
    assert_eq!(t.len(), 1, "{templates}");
    assert_eq!(t[0]["uriTemplate"], json!(TEMPLATE));
    assert_eq!(t[0]["mimeType"], json!("text/plain"));
    for key in ["name", "title", "description"] {
        assert!(t[0][key].as_str().is_some_and(|v| !v.is_empty()), "{key}: {templates}");
    }
    let uris = resource_uris(&mut s);
    assert!(uris.contains(&"dsql://schema".to_string()), "{uris:?}");
    assert!(uris.iter().any(|u| u.starts_with("dsql://steering/")), "documentation still listed: {uris:?}");

    // dsql://schema: every user relation with its column count, none of the system schemas.
    let listing = read_json(&mut s, "dsql://schema");
    let tables = listing["tables"].as_array().expect("tables");
    let find = |name: &str| {
        tables
            .iter()
            .find(|t| t["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name} not in dsql://schema: {listing}"))
            .clone()
    };
    let o = find(&orders);
    assert_eq!((&o["schema"], &o["kind"], &o["column_count"]), (&json!("public"), &json!("table"), &json!(3)), "{o}");
    let i = find(&items);
    assert_eq!((&i["kind"], &i["column_count"]), (&json!("table"), &json!(2)), "{i}");
    assert_eq!(find(&mixed)["column_count"], json!(1));
    let v = find(&view);
    assert_eq!((&v["kind"], &v["column_count"], &v["estimated_rows"]), (&json!("view"), &json!(2), &Value::Null));
    for t in tables {
        let rows = &t["estimated_rows"];
        assert!(rows.is_null() || rows.as_i64().is_some_and(|n| n >= 0), "estimated_rows: {t}");
        let schema = t["schema"].as_str().unwrap();
        assert!(!["sys", "pg_catalog", "information_schema"].contains(&schema), "system relation listed: {t}");
    }
    // The sandbox does have a sys schema with relations (DSQL's sys.jobs), so leaving it out is a real filter.
    let sys = s.rows(
        "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                      WHERE n.nspname = 'sys' AND c.relkind IN ('r', 'v')",
    );
    assert!(sys[0]["n"].as_i64().unwrap() > 0, "{sys:?}");

    // dsql://schema/{table} is get_schema's structuredContent, for every spelling get_schema accepts.
    let described = s.ok("get_schema", json!({"table_name": orders}));
    assert_eq!(described["table"]["name"], json!(orders));
    for uri in [
        format!("dsql://schema/{orders}"),
        format!("dsql://schema/public.{orders}"),
        format!("dsql://schema/public%2E{}", orders.to_uppercase()),
        format!("dsql://schema/%22public%22.%22{orders}%22"),
    ] {
        assert_eq!(read_json(&mut s, &uri), described, "{uri}");
    }
    let mixed_described = s.ok("get_schema", json!({"table_name": format!("\"{mixed}\"")}));
    assert_eq!(read_json(&mut s, &format!("dsql://schema/public.%22{mixed}%22")), mixed_described);
    assert_eq!(mixed_described["primary_key"], json!(["id"]));

    // An unknown table: resource not found, naming the close match.
    let e = error(&mut s, "resources/read", json!({"uri": format!("dsql://schema/sres{pid}_ordrs")}));
    assert_eq!(e["code"], json!(-32002), "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(&format!("public.{orders}")), "{message}");
    // Names that cannot be table names are invalid params.
    for bad in ["dsql://schema/a.b.c.d", "dsql://schema/bad%zz", "dsql://schema/"] {
        let e = error(&mut s, "resources/read", json!({"uri": bad}));
        assert_eq!(e["code"], json!(-32602), "{bad}: {e}");
    }

    // Completion: case-insensitive prefixes, matching tables only.
    let c = complete(&mut s, &format!("SRES{pid}_ORDERS"));
    assert_eq!(c["values"], json!([orders]), "{c}");
    assert_eq!((&c["total"], &c["hasMore"]), (&json!(1), &json!(false)), "{c}");
    let c = complete(&mut s, &format!("sres{pid}_"));
    assert_eq!(c["values"], json!([mixed, items, orders]), "{c}");
    assert_eq!(c["total"], json!(3));
    let c = complete(&mut s, &format!("public.vres{pid}"));
    assert_eq!(c["values"], json!([format!("public.{view}")]), "{c}");
    let c = complete(&mut s, &format!("zzres{pid}"));
    assert_eq!((&c["values"], &c["total"], &c["hasMore"]), (&json!([]), &json!(0), &json!(false)), "{c}");
}

#[test]
fn completion_stops_at_one_hundred_values_and_says_how_many_there_are() {
    let pid = std::process::id();
    // Many objects in one call need the DSQL rules off (one DDL per transaction otherwise).
    let mut seeder = Server::local(&["--allow-writes", "--rules", "off"]);
    let creates: Vec<String> = (0..105).map(|i| format!("CREATE VIEW cres{pid}_v{i:03} AS SELECT {i} AS x")).collect();
    common::seed(&mut seeder, creates, 105);
    let mut s = Server::local(&[]);
    let c = complete(&mut s, &format!("cres{pid}_"));
    let values = c["values"].as_array().unwrap();
    assert_eq!(values.len(), 100, "{c}");
    assert_eq!((&c["total"], &c["hasMore"]), (&json!(105), &json!(true)), "{c}");
    assert_eq!(values[0], json!(format!("cres{pid}_v000")));
    assert_eq!(values[99], json!(format!("cres{pid}_v099")));
    let c = complete(&mut s, &format!("CRES{pid}_V10"));
    let expected: Vec<String> = (100..105).map(|i| format!("cres{pid}_v{i}")).collect();
    assert_eq!(c["values"], json!(expected), "{c}");
    assert_eq!((&c["total"], &c["hasMore"]), (&json!(5), &json!(false)), "{c}");
    // Another reference (a prompt) gets no values rather than an error.
    let other = ok(
        &mut s,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "anything"}, "argument": {"name": "x", "value": "c"}}),
    );
    assert_eq!(other["completion"]["values"], json!([]), "{other}");
}

#[test]
fn an_unconfigured_server_offers_no_schema_resources() {
    let mut s = Server::start(&[]);
    assert!(s.init["capabilities"]["completions"].is_object(), "{}", s.init);
    let uris = resource_uris(&mut s);
    assert!(uris.iter().any(|u| u.starts_with("dsql://steering/")), "documentation is listed: {uris:?}");
    assert!(!uris.iter().any(|u| u.starts_with("dsql://schema")), "{uris:?}");
    let templates = ok(&mut s, "resources/templates/list", json!({}));
    assert_eq!(templates["resourceTemplates"], json!([]), "{templates}");
    for uri in ["dsql://schema", "dsql://schema/orders"] {
        let e = error(&mut s, "resources/read", json!({"uri": uri}));
        assert_eq!(e["code"], json!(-32002), "{e}");
        assert!(e["message"].as_str().unwrap().contains("no database is configured"), "{e}");
    }
    let c = complete(&mut s, "o");
    assert_eq!((&c["values"], &c["total"]), (&json!([]), &json!(0)), "{c}");
}
