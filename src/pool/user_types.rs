//! Teaching a new connection the database's own types (enums, composites, ranges, extension types) before it is
//! used. tokio-postgres looks up a result column's type in the middle of reading a response when the type is not
//! built in; with pipelined requests that lookup queues behind them while the rows fill the connection's buffer, and
//! the call stalls until its timeout. Once a type is known to the connection, nothing is looked up mid-response.
//! Aurora DSQL has no user-defined types, so its connections skip this; the local sandbox and `--database-url`
//! (which may point at an application's database) learn them, one prepare per connection.

/// Types learned at most, per connection (each costs a small catalog query when the connection opens).
const MOST: i64 = 200;

/// The database's non-built-in types that can appear as result columns: user types and their arrays, not the row
/// types of tables (those need `SELECT t FROM t`) nor domains (results carry the base type).
const USER_TYPES: &str = "SELECT format('%I.%I', n.nspname, t.typname) AS name \
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' \
     WHERE t.oid >= 16384 AND t.typtype IN ('b', 'c', 'e', 'r', 'm') \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = coalesce(e.typrelid, t.typrelid) \
                     AND c.relkind <> 'c') \
     ORDER BY t.oid LIMIT $1";

/// Prepares `SELECT NULL::type, …` over every such type, which makes tokio-postgres look each one up now and keep
/// it. A failure only means the types are looked up later, as before: it is logged, not returned.
pub async fn learn(client: &tokio_postgres::Client) {
    let names: Vec<String> = match client.query(USER_TYPES, &[&MOST]).await {
        Ok(rows) => rows.iter().filter_map(|r| r.try_get::<_, String>(0).ok()).collect(),
        Err(e) => {
            tracing::debug!("could not list the database's types: {e}");
            return;
        }
    };
    if names.is_empty() {
        return;
    }
    let select = names.iter().map(|n| format!("NULL::{n}")).collect::<Vec<_>>().join(", ");
    match client.prepare(&format!("SELECT {select}")).await {
        Ok(_) => tracing::debug!("the connection learned {} database type(s)", names.len()),
        Err(e) => tracing::debug!("could not learn the database's types: {e}"),
    }
}
