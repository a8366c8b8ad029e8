//! Tenant scoping (`--tenant-column`) fails closed. First the checker alone, with the attack variants that got
//! through before (outer joins, ON CONFLICT) and the ones we thought of while trying to break it; then the real
//! binary against a real PostgreSQL with two tenants' rows, each effect checked by an independent server
//! started without tenant scoping.

#![allow(clippy::result_large_err)]

mod common;

use std::collections::HashSet;

use aurora_dsql_mcp_server::sql::{self, Policy, RulesMode, StatementInput, TenantCatalog, Tool};
use common::{Server, table};
use serde_json::{Value, json};

fn catalog() -> TenantCatalog {
    let mut c = TenantCatalog::default();
    for (k, s, n) in [
        ("t", "public", "orders"),
        ("t", "app", "customers"),
        ("t", "public", "items"),
        ("v", "public", "v_orders"),
        ("v", "public", "v_other"),
        ("f", "public", "leak"),
        ("f", "public", "proc_wipe"),
    ] {
        c.add(k, s, n);
    }
    c
}

fn check_with(s: &str, params: Option<usize>) -> Result<(), sql::Finding> {
    let pol = Policy {
        allow_writes: true,
        rules: RulesMode::Off,
        tenant_column: Some("tenant_id".into()),
        ..Policy::default()
    };
    sql::check(Tool::Transact, &[StatementInput { sql: s, param_count: params }], &pol, Some(&catalog())).map(|_| ())
}

/// Checks with as many parameters as the text's highest `$n`.
fn check(s: &str) -> Result<(), sql::Finding> {
    let highest =
        s.split('$').skip(1).filter_map(|t| t.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()).max();
    check_with(s, highest)
}

#[track_caller]
fn accepted(list: &[&str]) {
    for s in list {
        if let Err(e) = check(s) {
            panic!("should pass: {s}\n  refused: {e}");
        }
    }
}

#[track_caller]
fn refused(list: &[&str]) {
    for s in list {
        match check(s) {
            Ok(()) => panic!("should be refused: {s}"),
            Err(e) => assert_eq!(e.rule, "tenant.unscoped", "{s}: {e}"),
        }
    }
}

#[test]
fn outer_joins_count_a_pin_only_where_it_filters_the_rows() {
    refused(&[
        // the reported one: the ON of a LEFT JOIN filters only its right side
        "SELECT o.* FROM orders o LEFT JOIN other x ON o.tenant_id = 'a'",
        "SELECT o.* FROM orders o LEFT OUTER JOIN other x ON o.tenant_id = 'a' AND x.id = o.id",
        "SELECT o.* FROM other x RIGHT JOIN orders o ON o.tenant_id = 'a'",
        "SELECT * FROM orders o FULL JOIN other x ON o.tenant_id = 'a' AND x.id = o.id",
        "SELECT * FROM orders o FULL JOIN app.customers c ON o.tenant_id = 'a' AND c.tenant_id = 'a'",
        // parenthesized joins
        "SELECT o.* FROM (orders o LEFT JOIN other x ON o.tenant_id = 'a')",
        "SELECT o.* FROM ((orders o LEFT JOIN other x ON o.tenant_id = 'a') JOIN other y ON true)",
        "SELECT * FROM other y JOIN (orders o LEFT JOIN other x ON o.tenant_id = 'a') ON true",
        "SELECT * FROM (orders o LEFT JOIN other x ON o.tenant_id = 'a') AS j WHERE j.tenant_id = 'a'",
        // the left side pinned, the right side only equal to an unpinned one
        "SELECT * FROM orders o JOIN app.customers c ON c.tenant_id = o.tenant_id",
        // a pin on the nullable side's column does not pin the preserved side
        "SELECT * FROM orders o LEFT JOIN app.customers c ON c.tenant_id = o.tenant_id AND c.tenant_id = 'a'",
        // the WHERE pins one of two tenant tables
        "SELECT * FROM orders o, app.customers c WHERE o.tenant_id = 'a'",
        "SELECT * FROM orders o CROSS JOIN app.customers c WHERE o.tenant_id = 'a'",
    ]);
    accepted(&[
        "SELECT o.* FROM orders o LEFT JOIN other x ON x.id = o.id WHERE o.tenant_id = 'a'",
        "SELECT o.* FROM orders o JOIN other x ON o.tenant_id = 'a' AND x.id = o.id",
        "SELECT o.* FROM other x LEFT JOIN orders o ON o.tenant_id = 'a' AND o.id = x.id",
        "SELECT o.* FROM orders o RIGHT JOIN other x ON o.tenant_id = 'a'",
        "SELECT * FROM (orders o JOIN other x ON o.tenant_id = 'a')",
        "SELECT * FROM (orders o JOIN other x ON o.tenant_id = 'a') AS j",
        "SELECT * FROM ((orders o LEFT JOIN other x ON x.id = o.id)) WHERE o.tenant_id = 'a'",
        // the guide's join: the nullable side equal to the pinned preserved side
        "SELECT c.id, count(o.id) FROM app.customers c LEFT JOIN orders o ON o.tenant_id = c.tenant_id \
         AND o.customer_id = c.id WHERE c.tenant_id = $1 GROUP BY c.id",
        "SELECT * FROM orders o JOIN app.customers c ON c.tenant_id = o.tenant_id WHERE o.tenant_id = 'a'",
        "SELECT * FROM orders o, app.customers c WHERE c.tenant_id = o.tenant_id AND o.tenant_id = 'a'",
        // a FULL JOIN where each side is pinned in the WHERE
        "SELECT * FROM orders o FULL JOIN app.customers c ON c.id = o.id WHERE o.tenant_id = 'a' AND c.tenant_id = 'a'",
    ]);
}

#[test]
fn a_pin_is_column_equals_one_value_on_the_right_table() {
    refused(&[
        "SELECT * FROM orders WHERE tenant_id = tenant_id",
        "SELECT * FROM orders o WHERE o.tenant_id = o.tenant_id",
        "SELECT * FROM orders WHERE tenant_id IS NOT NULL",
        "SELECT * FROM orders WHERE tenant_id = 'a' OR 1 = 1",
        "SELECT * FROM orders WHERE tenant_id = 'a' OR tenant_id = 'b' OR true",
        "SELECT * FROM orders WHERE (tenant_id = 'a' AND id = 1) OR id = 2",
        "SELECT * FROM orders WHERE NOT (tenant_id <> 'a')",
        "SELECT * FROM orders WHERE tenant_id <> 'a'",
        "SELECT * FROM orders WHERE tenant_id IN ('a', 'b')",
        // OR branches pinning different values are two tenants, as IN is
        "SELECT * FROM orders WHERE tenant_id = 'a' OR tenant_id = 'b'",
        "SELECT * FROM orders WHERE id = 1 AND (tenant_id = $1 OR tenant_id = $2)",
        "SELECT * FROM orders WHERE (tenant_id = 'a' AND id = 1) OR (tenant_id = 'b' AND id = 2)",
        "SELECT * FROM orders WHERE tenant_id = ANY(ARRAY['a','b'])",
        "SELECT * FROM orders WHERE tenant_id = NULL",
        "SELECT * FROM orders WHERE tenant_id = id",
        "SELECT * FROM orders WHERE tenant_id::text = 'a'",
        "SELECT * FROM orders WHERE lower(tenant_id) = 'a'",
        "SELECT * FROM orders WHERE tenant_id = (SELECT max(tenant_id) FROM other)",
        "SELECT * FROM orders WHERE CASE WHEN true THEN tenant_id = 'a' ELSE true END",
        // the pin names another table's column
        "SELECT o.* FROM orders o JOIN app.customers c ON c.id = o.id WHERE c.tenant_id = 'a'",
        "SELECT * FROM orders o JOIN other x ON x.tenant_id = 'a'",
        "SELECT * FROM orders o, other x WHERE x.tenant_id = 'a'",
        // unqualified with two tenant tables in scope: not provable which
        "SELECT * FROM orders o JOIN app.customers c ON c.id = o.id WHERE tenant_id = 'a'",
        // an alias with a column list renames columns by position
        "SELECT * FROM orders AS o(id, tenant_id) WHERE o.tenant_id = 'a'",
        // HAVING is after grouping; a pin there is not a filter on rows of the statement's scope
        "SELECT tenant_id, count(*) FROM orders GROUP BY tenant_id HAVING tenant_id = 'a'",
        // a quoted name of another case is another column
        "SELECT * FROM orders WHERE \"TENANT_ID\" = 'a'",
        // a three-part name still names the tenant table
        "SELECT * FROM postgres.public.orders",
        "SELECT * FROM \"orders\"",
        "SELECT * FROM ONLY orders",
        "SELECT * FROM ONLY orders WHERE tenant_id = 'a' OR true",
        "UPDATE ONLY orders SET v = 1",
        "DELETE FROM ONLY orders",
    ]);
    accepted(&[
        "SELECT * FROM orders WHERE tenant_id = 'a'",
        "SELECT * FROM orders WHERE 'a' = tenant_id",
        "SELECT * FROM orders WHERE (tenant_id = 'a')",
        "SELECT * FROM orders WHERE tenant_id = 'a'::text AND id > 3",
        "SELECT * FROM orders WHERE tenant_id = CAST($1 AS text)",
        "SELECT * FROM orders WHERE (tenant_id = 'a' AND id = 1) OR (tenant_id = 'a' AND id = 2)",
        "SELECT * FROM orders WHERE id = 1 AND ((tenant_id = 'a' AND id = 1) OR tenant_id = 'a'::text)",
        "SELECT * FROM public.orders WHERE orders.tenant_id = 'a'",
        "SELECT * FROM postgres.public.orders WHERE tenant_id = 'a'",
        "SELECT * FROM orders WHERE public.orders.tenant_id = 'a'",
        "SELECT * FROM other",
    ]);
    // a table of a tenant table's name in another schema is taken for one (a renamed schema or the search path
    // cannot make a tenant table look like another)
    refused(&["SELECT * FROM other.orders", "SELECT * FROM renamed_schema.orders"]);
    assert!(check_with("SELECT * FROM orders WHERE tenant_id = %s", Some(1)).is_ok());
    assert!(check_with("SELECT * FROM orders WHERE tenant_id = $1::text", Some(1)).is_ok());
}

#[test]
fn every_scope_is_checked() {
    refused(&[
        "SELECT * FROM other WHERE id IN (SELECT id FROM orders)",
        "SELECT * FROM other WHERE EXISTS (SELECT 1 FROM orders WHERE orders.id = other.id)",
        "SELECT (SELECT count(*) FROM orders) FROM other",
        "SELECT * FROM orders WHERE tenant_id = 'a' UNION ALL SELECT * FROM orders",
        "SELECT * FROM orders WHERE tenant_id = 'a' EXCEPT SELECT * FROM orders WHERE id = 1",
        "WITH x AS (SELECT * FROM orders) SELECT * FROM x WHERE tenant_id = 'a'",
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r, orders WHERE n < 3) SELECT * FROM r",
        "SELECT * FROM (SELECT * FROM orders) d WHERE d.tenant_id = 'a'",
        "SELECT * FROM other x, LATERAL (SELECT * FROM orders o WHERE o.id = x.id) l",
        "SELECT * FROM other x JOIN LATERAL (SELECT * FROM orders o LEFT JOIN other y ON o.tenant_id = 'a') l ON true",
        // a pin in the outer scope does not reach into a subquery
        "SELECT * FROM orders o WHERE o.tenant_id = 'a' AND o.id IN (SELECT id FROM orders)",
        "SELECT * FROM orders o WHERE o.tenant_id = 'a' AND EXISTS (SELECT 1 FROM orders i WHERE i.tenant_id = o.tenant_id)",
        "TABLE orders",
        "SELECT * FROM other WHERE id = ANY(ARRAY(SELECT id FROM orders))",
        "SELECT array_agg(x) FROM (VALUES ((SELECT tenant_id FROM orders LIMIT 1))) v(x)",
        "EXPLAIN ANALYZE SELECT * FROM orders",
        "SELECT * INTO copy_all FROM orders",
        "CREATE TABLE copy_all AS SELECT * FROM orders",
        "DECLARE c CURSOR FOR SELECT * FROM orders",
    ]);
    accepted(&[
        "SELECT * FROM other WHERE id IN (SELECT id FROM orders WHERE tenant_id = 'a')",
        "SELECT * FROM other WHERE EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = 'a' AND o.id = other.id)",
        "WITH x AS (SELECT * FROM orders WHERE tenant_id = $1) SELECT * FROM x",
        "SELECT * FROM orders WHERE tenant_id = 'a' UNION SELECT * FROM orders WHERE tenant_id = 'a'",
        "SELECT * FROM other x, LATERAL (SELECT * FROM orders o WHERE o.tenant_id = 'a' AND o.id = x.id) l",
        "SELECT (SELECT count(*) FROM orders WHERE tenant_id = 'a') AS n",
        "CREATE TABLE copy_a AS SELECT * FROM orders WHERE tenant_id = 'a'",
    ]);
}

#[test]
fn dml_targets_and_their_from_lists_are_pinned() {
    refused(&[
        "UPDATE orders SET total = 1 WHERE id = 2",
        "UPDATE orders SET total = 1 WHERE tenant_id = 'a' OR id = 2",
        "UPDATE orders o SET total = 1 FROM other x WHERE x.tenant_id = 'a' AND x.id = o.id",
        "UPDATE other x SET v = 1 FROM orders o WHERE o.id = x.id",
        "UPDATE orders SET tenant_id = 'b' WHERE tenant_id = 'a'",
        "UPDATE orders SET (tenant_id, total) = ('b', 1) WHERE tenant_id = 'a'",
        "DELETE FROM orders WHERE id = 1",
        "DELETE FROM orders WHERE tenant_id = 'a' OR true",
        "DELETE FROM orders o USING other x WHERE x.tenant_id = 'a' AND x.id = o.id",
        "DELETE FROM other x USING orders o WHERE o.id = x.id",
        "WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d",
        "WITH d AS (UPDATE orders SET total = 0 RETURNING *) SELECT 1",
        "INSERT INTO other (id) SELECT id FROM orders",
        "MERGE INTO orders o USING other x ON o.tenant_id = 'a' AND o.id = x.id WHEN MATCHED THEN DELETE",
        "MERGE INTO other x USING orders o ON o.id = x.id WHEN MATCHED THEN DELETE",
        "TRUNCATE orders",
        "TRUNCATE other, orders",
        "COPY orders TO STDOUT",
        "COPY (SELECT * FROM orders) TO STDOUT",
    ]);
    accepted(&[
        "UPDATE orders SET total = 1 WHERE tenant_id = 'a' AND id = 2",
        "UPDATE orders o SET total = 1 FROM other x WHERE o.tenant_id = 'a' AND x.id = o.id",
        "UPDATE orders o SET total = c.n FROM app.customers c WHERE c.tenant_id = o.tenant_id AND o.tenant_id = $1",
        "DELETE FROM orders WHERE tenant_id = 'a' AND id = 1",
        "DELETE FROM orders o USING other x WHERE o.tenant_id = 'a' AND x.id = o.id",
        "WITH d AS (DELETE FROM orders WHERE tenant_id = 'a' RETURNING *) SELECT count(*) FROM d",
        "INSERT INTO other (id) SELECT id FROM orders WHERE tenant_id = 'a'",
        "MERGE INTO other x USING other y ON x.id = y.id WHEN MATCHED THEN DELETE",
        "TRUNCATE other",
    ]);
}

#[test]
fn inserts_give_the_column_a_value_and_on_conflict_pins_the_existing_row() {
    refused(&[
        "INSERT INTO orders (id) VALUES (1)",
        "INSERT INTO orders VALUES (1, 'a')",
        "INSERT INTO orders (id, tenant_id) VALUES (1, 'a'), (2, NULL)",
        "INSERT INTO orders (id, tenant_id) VALUES (1, DEFAULT)",
        "INSERT INTO orders (id, tenant_id) SELECT id, tenant_id FROM other",
        "INSERT INTO orders (id, tenant_id) SELECT * FROM other",
        "INSERT INTO orders (id, tenant_id) SELECT 1, 'a' UNION SELECT 2, 'b'",
        "INSERT INTO orders DEFAULT VALUES",
        // the reported one: the conflicting row may be another tenant's
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT ON CONSTRAINT orders_pkey DO UPDATE SET v = 'y'",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = 'y' \
         WHERE orders.tenant_id IS NOT NULL",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = 'y' \
         WHERE EXCLUDED.tenant_id = 'a'",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = 'y' \
         WHERE orders.tenant_id = 'a' OR true",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = 'y' \
         WHERE orders.tenant_id = 'a' OR orders.tenant_id = 'b'",
        "INSERT INTO orders AS o (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = 'y' \
         WHERE orders.tenant_id = 'a'",
        "INSERT INTO orders (id, tenant_id) VALUES (1, 'a') ON CONFLICT (tenant_id, id) DO UPDATE SET tenant_id = 'b'",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = \
         (SELECT v FROM orders LIMIT 1) WHERE orders.tenant_id = 'a'",
    ]);
    accepted(&[
        "INSERT INTO orders (id, tenant_id) VALUES (1, 'a'), (2, 'a')",
        "INSERT INTO orders (tenant_id, id) SELECT 'a', id FROM other",
        "INSERT INTO orders (tenant_id, id) SELECT $1, id FROM orders WHERE tenant_id = $1",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT DO NOTHING",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO NOTHING",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (tenant_id, id) DO UPDATE SET v = EXCLUDED.v",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v \
         WHERE orders.tenant_id = 'a'",
        "INSERT INTO orders (id, tenant_id, v) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v \
         WHERE orders.tenant_id = EXCLUDED.tenant_id",
        "INSERT INTO orders AS o (id, tenant_id, v) VALUES (1, $1, 'x') ON CONFLICT (id) DO UPDATE SET v = 'y' \
         WHERE o.tenant_id = $1 AND o.v IS NULL",
        "INSERT INTO other (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 'y'",
    ]);
}

#[test]
fn views_functions_and_statistics_are_refused() {
    refused(&[
        "SELECT * FROM v_orders WHERE tenant_id = 'a'",
        "SELECT * FROM public.v_other",
        "SELECT * FROM other x JOIN v_other v ON v.id = x.id",
        "UPDATE v_orders SET v = 1 WHERE tenant_id = 'a'",
        "INSERT INTO v_orders (id, tenant_id) VALUES (1, 'a')",
        "CREATE TABLE copy_all AS SELECT id FROM v_orders",
        "SELECT id INTO copy_all FROM v_other",
        "CREATE VIEW w AS SELECT * FROM v_orders WHERE tenant_id = 'a'",
        "SELECT leak()",
        "SELECT * FROM leak()",
        "SELECT * FROM public.leak() WHERE tenant_id = 'a'",
        "SELECT * FROM orders WHERE tenant_id = 'a' AND leak() IS NOT NULL",
        "SELECT table_to_xml('orders', true, false, '')",
        "SELECT most_common_vals FROM pg_stats WHERE tablename = 'orders'",
        "SELECT * FROM pg_catalog.pg_statistic",
    ]);
    accepted(&["SELECT lower('A'), now()", "SELECT * FROM generate_series(1, 3)", "DROP VIEW v_orders"]);
    // Built-ins that run SQL given as text are refused in every mode, before tenant scoping looks at them.
    for sql in [
        "SELECT query_to_xml('SELECT * FROM orders', true, false, '')",
        "SELECT * FROM ts_stat('SELECT to_tsvector(v) FROM orders')",
    ] {
        assert_eq!(check(sql).unwrap_err().rule, "safety.sql_text_function", "{sql}");
    }
    // DO blocks run code the checker cannot read: refused (by the safety guard already)
    assert!(check("DO $$ BEGIN PERFORM * FROM orders; END $$").is_err());
    // CALL of anything but sys.wait_for_job is already refused by the safety guard, whatever the scoping
    assert!(check("CALL proc_wipe()").is_err());
}

#[test]
fn the_tenant_column_cannot_be_dropped_renamed_or_retyped() {
    refused(&[
        "ALTER TABLE orders DROP COLUMN tenant_id",
        "ALTER TABLE orders DROP COLUMN v, DROP COLUMN tenant_id",
        "ALTER TABLE orders RENAME COLUMN tenant_id TO t",
        "ALTER TABLE orders RENAME tenant_id TO t",
        "ALTER TABLE orders ALTER COLUMN tenant_id TYPE varchar(3) USING 'a'",
        "ALTER TABLE app.customers ALTER COLUMN tenant_id DROP NOT NULL",
    ]);
    accepted(&[
        "ALTER TABLE orders DROP COLUMN v",
        "ALTER TABLE orders RENAME COLUMN v TO w",
        "ALTER TABLE other DROP COLUMN tenant_id",
        "CREATE INDEX ASYNC orders_t ON orders (tenant_id, id)",
        "ALTER TABLE orders ADD COLUMN note text",
        "DROP TABLE other",
    ]);
}

/// The catalog is read before the call: what DDL earlier in the same call creates or renames is taken into
/// account for the statements after it.
#[test]
fn ddl_earlier_in_the_call_is_taken_into_account() {
    let pol = Policy {
        allow_writes: true,
        rules: RulesMode::Off,
        tenant_column: Some("tenant_id".into()),
        ..Policy::default()
    };
    let run = |list: &[&str]| {
        let inputs: Vec<StatementInput<'_>> =
            list.iter().map(|s| StatementInput { sql: s, param_count: None }).collect();
        sql::check(Tool::Transact, &inputs, &pol, Some(&catalog())).map(|_| ())
    };
    for bad in [
        &["ALTER TABLE orders RENAME TO hidden", "SELECT * FROM hidden"][..],
        &["ALTER TABLE app.customers RENAME TO hidden", "DELETE FROM app.hidden"],
        &["ALTER TABLE v_orders RENAME TO w", "SELECT * FROM w WHERE tenant_id = 'a'"],
        &["CREATE TABLE fresh (id int, tenant_id text)", "INSERT INTO fresh (id) VALUES (1)"],
        &["ALTER TABLE other ADD COLUMN tenant_id text", "SELECT * FROM other"],
        &["CREATE VIEW w2 AS SELECT * FROM orders WHERE tenant_id = 'a'", "SELECT * FROM w2"],
        &["CREATE FUNCTION f2() RETURNS int LANGUAGE sql AS 'SELECT 1'", "SELECT f2()"],
    ] {
        assert!(run(bad).is_err(), "{bad:?}");
    }
    assert!(
        run(&["CREATE TABLE fresh (id int, tenant_id text)", "INSERT INTO fresh (id, tenant_id) VALUES (1, 'a')"])
            .is_ok()
    );
}

#[test]
fn refusals_say_what_to_add() {
    let e = check("SELECT o.* FROM orders o LEFT JOIN other x ON o.tenant_id = 'a'").unwrap_err();
    assert!(e.message.contains("orders") && e.message.contains("o.tenant_id"), "{e}");
    assert!(e.fix.contains("o.tenant_id = $1") && e.fix.contains("LEFT JOIN"), "{e:?}");
    let e =
        check("INSERT INTO orders (id, tenant_id) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET v = 'x'").unwrap_err();
    assert!(e.fix.contains("ON CONFLICT (tenant_id, id)") && e.fix.contains("orders.tenant_id = $1"), "{e:?}");
    let e = check("SELECT * FROM v_orders WHERE tenant_id = 'a'").unwrap_err();
    assert!(e.message.contains("view") && e.fix.contains("tables the view reads"), "{e:?}");
}

#[test]
fn the_plain_hash_set_form_still_checks_tables() {
    let tables: HashSet<String> = ["orders".to_string()].into_iter().collect();
    let pol = Policy { allow_writes: true, tenant_column: Some("tenant_id".into()), ..Policy::default() };
    let c = TenantCatalog::from(tables);
    let run =
        |s: &str| sql::check(Tool::ReadonlyQuery, &[StatementInput { sql: s, param_count: None }], &pol, Some(&c));
    assert!(run("SELECT * FROM orders o LEFT JOIN t x ON o.tenant_id = 'a'").is_err());
    assert!(run("SELECT * FROM orders WHERE tenant_id = 'a'").is_ok());
}

// ---- Through the real binary, against the sandbox's PostgreSQL -------------------------------------------

/// Two tenants' rows: `orders` (ids 1-3 tenant a, 4-6 tenant b, `v` = 'orig'), a plain `other` table, a unique
/// index on (tenant_id, id), a view and a function over `orders`. Made by a server without tenant scoping.
struct Fixture {
    admin: Server,
    orders: String,
    other: String,
    view: String,
    func: String,
}

impl Fixture {
    fn new() -> Fixture {
        let mut admin = Server::local(&["--allow-writes", "--rules", "off", "--confirm-destructive", "allow"]);
        let (orders, other) = (table("orders"), table("other"));
        let (view, func) = (format!("{orders}_v"), format!("{orders}_f"));
        admin.ok(
            "transact",
            json!({"sql_list": [
                format!("CREATE TABLE {orders} (id integer PRIMARY KEY, tenant_id text NOT NULL, v text)"),
                format!("CREATE UNIQUE INDEX {orders}_tid ON {orders} (tenant_id, id)"),
                format!("CREATE TABLE {other} (id integer PRIMARY KEY, v text)"),
                format!("INSERT INTO {orders} SELECT g, CASE WHEN g <= 3 THEN 'a' ELSE 'b' END, 'orig' FROM generate_series(1, 6) g"),
                format!("INSERT INTO {other} SELECT g, 'o' FROM generate_series(1, 6) g"),
                format!("CREATE VIEW {view} AS SELECT * FROM {orders}"),
                format!("CREATE FUNCTION {func}() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM {orders}'"),
            ]}),
        );
        Fixture { admin, orders, other, view, func }
    }

    /// Every row, read by the server without tenant scoping: the independent view of the state.
    fn state(&mut self) -> Vec<Value> {
        self.admin.rows(&format!("SELECT id, tenant_id, v FROM {} ORDER BY id", self.orders))
    }

    fn tenant_server() -> Server {
        Server::local(&["--allow-writes", "--tenant-column", "tenant_id", "--confirm-destructive", "allow"])
    }
}

#[test]
fn through_the_binary_the_reported_left_join_is_refused_and_a_pinned_read_returns_one_tenant() {
    let mut f = Fixture::new();
    let mut s = Fixture::tenant_server();
    let (o, x) = (f.orders.clone(), f.other.clone());
    let e =
        s.err("readonly_query", json!({"sql": format!("SELECT o.* FROM {o} o LEFT JOIN {x} x ON o.tenant_id = 'a'")}));
    assert!(e.contains("tenant.unscoped") || e.contains("o.tenant_id"), "{e}");
    assert!(e.contains("WHERE"), "the refusal says what to add: {e}");
    for sql in [
        format!("SELECT o.* FROM {o} o LEFT JOIN {x} x ON x.id = o.id WHERE o.tenant_id = 'a'"),
        format!("SELECT o.* FROM {x} x JOIN {o} o ON o.tenant_id = 'a' AND o.id = x.id"),
        format!("SELECT o.* FROM {o} o WHERE (o.tenant_id = 'a' AND o.id < 3) OR (o.tenant_id = 'a' AND o.id > 2)"),
    ] {
        let rows = s.ok("readonly_query", json!({"sql": sql}))["result"].as_array().cloned().unwrap();
        assert_eq!(rows.len(), 3, "{sql}: {rows:?}");
        assert!(rows.iter().all(|r| r["tenant_id"] == "a"), "{sql}: {rows:?}");
    }
    let rows =
        s.ok("readonly_query", json!({"sql": format!("SELECT * FROM {o} WHERE tenant_id = $1"), "params": ["b"]}));
    assert_eq!(rows["row_count"], 3);
    let before = f.state();
    assert_eq!(before.len(), 6);
}

#[test]
fn through_the_binary_on_conflict_cannot_overwrite_another_tenants_row() {
    let mut f = Fixture::new();
    let mut s = Fixture::tenant_server();
    let o = f.orders.clone();
    let before = f.state();
    // the reported one: id 4 belongs to tenant b
    let e = s.err(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {o} (id, tenant_id, v) VALUES (4, 'a', 'hacked') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v")]}),
    );
    assert!(e.contains("ON CONFLICT"), "{e}");
    assert_eq!(f.state(), before);
    // the accepted forms, tried against the same row: PostgreSQL leaves tenant b's row alone
    s.ok(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {o} (id, tenant_id, v) VALUES (4, 'a', 'hacked') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v WHERE {o}.tenant_id = 'a'")]}),
    );
    s.ok(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {o} AS t (id, tenant_id, v) VALUES (4, 'a', 'hacked') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v WHERE t.tenant_id = EXCLUDED.tenant_id")]}),
    );
    // unqualified in the DO UPDATE's WHERE: the checker lets it through, PostgreSQL refuses it as ambiguous
    let r = s.call(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {o} (id, tenant_id, v) VALUES (5, 'a', 'hacked') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v WHERE tenant_id = 'a'")]}),
    );
    assert_eq!(r["isError"], true, "{r}");
    assert!(common::text(&r).contains("ambiguous"), "{r}");
    assert_eq!(f.state(), before, "{r}");
    // the conflict target with the tenant column: a clash on another index is an error, never an update
    let e = s.err(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {o} (id, tenant_id, v) VALUES (4, 'a', 'hacked') ON CONFLICT (tenant_id, id) DO UPDATE SET v = EXCLUDED.v")]}),
    );
    assert!(e.contains("23505"), "{e}");
    assert_eq!(f.state(), before, "no row of tenant b changed");
    // and the same forms do update tenant a's own row
    s.ok(
        "transact",
        json!({"sql_list": [format!("INSERT INTO {o} (id, tenant_id, v) VALUES (1, 'a', 'mine') ON CONFLICT (tenant_id, id) DO UPDATE SET v = EXCLUDED.v")]}),
    );
    let after = f.state();
    assert_eq!(after[0]["v"], "mine");
    assert_eq!(after[1..], before[1..]);
}

#[test]
fn through_the_binary_attacks_change_nothing_and_views_and_functions_are_refused() {
    let mut f = Fixture::new();
    let mut s = Fixture::tenant_server();
    let (o, x, v, func) = (f.orders.clone(), f.other.clone(), f.view.clone(), f.func.clone());
    let before = f.state();
    let attacks = [
        format!("UPDATE {o} SET v = 'x' WHERE id > 0"),
        format!("UPDATE {o} SET v = 'x' WHERE tenant_id = 'a' OR true"),
        format!("UPDATE {o} o SET v = 'x' FROM {x} x WHERE x.id = o.id"),
        format!("UPDATE {o} SET tenant_id = 'a' WHERE tenant_id = 'b'"),
        format!("DELETE FROM {o} o USING {x} x WHERE x.id = o.id"),
        format!("DELETE FROM {o} WHERE tenant_id IS NOT NULL"),
        format!("DELETE FROM ONLY {o} WHERE true"),
        format!("WITH d AS (DELETE FROM {o} RETURNING 1) SELECT count(*) FROM d"),
        format!("DELETE FROM {x} WHERE id IN (SELECT id FROM {o})"),
        format!("INSERT INTO {o} (id, tenant_id, v) SELECT id + 100, tenant_id, v FROM {o}"),
        format!("TRUNCATE {o}"),
        format!("ALTER TABLE {o} DROP COLUMN tenant_id"),
        format!("ALTER TABLE {o} RENAME COLUMN tenant_id TO t"),
        format!("ALTER TABLE {o} ALTER COLUMN tenant_id TYPE text USING 'a'"),
        format!("UPDATE {v} SET v = 'x' WHERE tenant_id = 'a'"),
    ];
    for a in &attacks {
        let e = s.err("transact", json!({"sql_list": [a]}));
        assert!(e.contains("tenant"), "{a}: {e}");
    }
    assert_eq!(f.state(), before, "no attack changed a row");
    let cols = f.admin.rows(&format!(
        "SELECT column_name FROM information_schema.columns WHERE table_name = '{o}' AND column_name = 'tenant_id'"
    ));
    assert_eq!(cols.len(), 1, "the tenant column is still there");
    for read in [
        format!("SELECT * FROM {v} WHERE tenant_id = 'a'"),
        format!("SELECT {func}()"),
        format!("SELECT query_to_xml('SELECT * FROM {o}', true, false, '')"),
        format!("SELECT * FROM {x} WHERE EXISTS (SELECT 1 FROM {o} WHERE {o}.id = {x}.id)"),
    ] {
        let e = s.err("readonly_query", json!({"sql": read}));
        assert!(e.contains("tenant"), "{read}: {e}");
    }
    // a pinned write changes only tenant a's rows
    s.ok(
        "transact",
        json!({"sql_list": [format!("UPDATE {o} o SET v = 'new' FROM {x} x WHERE o.tenant_id = 'a' AND x.id = o.id")]}),
    );
    let after = f.state();
    for (b, a) in before.iter().zip(&after) {
        let expected = if b["tenant_id"] == "a" { json!("new") } else { b["v"].clone() };
        assert_eq!(a["v"], expected, "{a}");
    }
}

#[test]
fn through_the_binary_apply_migration_is_scoped() {
    let mut f = Fixture::new();
    let mut s = Fixture::tenant_server();
    let o = f.orders.clone();
    let before = f.state();
    let name = table("mig");
    let e = s.err("apply_migration", json!({"name": name, "sql": format!("UPDATE {o} SET v = 'm' WHERE v = 'orig';")}));
    assert!(e.contains("tenant") && e.contains("line 1"), "{e}");
    let e = s.err("apply_migration", json!({"name": name, "sql": format!("ALTER TABLE {o} DROP COLUMN tenant_id;")}));
    assert!(e.contains("tenant"), "{e}");
    // a rename earlier in the file does not hide the table from the statements after it
    let e = s.err(
        "apply_migration",
        json!({"name": name, "sql": format!("ALTER TABLE {o} RENAME TO {o}_h;\nUPDATE {o}_h SET v = 'm';")}),
    );
    assert!(e.contains("tenant") && e.contains("line 2"), "{e}");
    assert_eq!(f.state(), before);
    let history = f.admin.ok("list_migrations", json!({}));
    assert!(!history.to_string().contains(&name), "nothing was recorded: {history}");
    let r = s.ok(
        "apply_migration",
        json!({"name": name, "sql": format!("ALTER TABLE {o} ADD COLUMN note text;\nUPDATE {o} SET v = 'm' WHERE tenant_id = 'b';")}),
    );
    assert_eq!(r["result"]["status"], "applied", "{r}");
    let after = f.state();
    for (b, a) in before.iter().zip(&after) {
        let expected = if b["tenant_id"] == "b" { json!("m") } else { b["v"].clone() };
        assert_eq!(a["v"], expected, "{a}");
    }
}

/// A pin carried along a chain of 2,000 joins (each `ON` equal to the previous table's column) reaches the last
/// table, and without the first pin none is pinned; the proof is linear in the joins (a fixed point recomputed
/// per table would take minutes here).
#[test]
fn a_long_join_chain_is_proved_in_one_pass() {
    let n = 2000;
    let joins: String = (1..n).map(|i| format!(" JOIN orders o{i} ON o{i}.tenant_id = o{}.tenant_id", i - 1)).collect();
    let pinned = format!("SELECT 1 FROM orders o0{joins} WHERE o0.tenant_id = 'a'");
    check(&pinned).unwrap();
    let e = check(&format!("SELECT 1 FROM orders o0{joins} WHERE o0.id = 1")).unwrap_err();
    assert_eq!(e.rule, "tenant.unscoped");
    // the pin at the far end travels back along the chain as well
    check(&format!("SELECT 1 FROM orders o0{joins} WHERE o{}.tenant_id = $1", n - 1)).unwrap();
}
