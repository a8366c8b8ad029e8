//! DSQL's database-wide limits in the local sandbox: before a statement that can hit one (see
//! [`crate::sql::QuotaCheck`]), count what the catalog already holds and answer as DSQL would (24 indexes per
//! table, 255 columns, 1,000 tables, 10 schemas, 5,000 views, no dropping a primary-key column or constraint, identity
//! added only to a bigint column). The counts
//! leave out PostgreSQL's own schemas and the emulated `sys` schema, as DSQL's quotas do for its system objects.

use crate::sql::{QuotaCheck, rules};

pub const MAX_INDEXES_PER_TABLE: i64 = 24;
pub const MAX_COLUMNS_PER_TABLE: i64 = 255;
pub const MAX_TABLES: i64 = 1000;
pub const MAX_SCHEMAS: i64 = 10;
pub const MAX_VIEWS: i64 = 5000;

/// SQL condition on `pg_namespace n` keeping the user's schemas (not PostgreSQL's, not the emulated `sys`).
pub const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'sys') \
                           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// A limit the statement would exceed: catalog rule id and the value DSQL names in its message, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub rule: &'static str,
    pub arg: Option<String>,
    /// What the catalog holds now, for the explanation.
    pub detail: String,
    /// The message, where the rule's recorded one does not fit this case (DSQL's words not recorded for it).
    pub message: Option<String>,
}

/// The first limit `checks` would exceed, or `None`. Names the database cannot resolve are left to PostgreSQL
/// (it answers "does not exist" itself).
pub async fn exceeded(
    client: &tokio_postgres::Client,
    checks: &[QuotaCheck],
) -> Result<Option<Exceeded>, tokio_postgres::Error> {
    for check in checks {
        if let Some(e) = one(client, check).await? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

async fn one(client: &tokio_postgres::Client, check: &QuotaCheck) -> Result<Option<Exceeded>, tokio_postgres::Error> {
    let count = |sql: &'static str, name: &str| {
        let name = name.to_string();
        async move { client.query_one(sql, &[&name]).await.map(|r| r.get::<_, Option<i64>>(0)) }
    };
    Ok(match check {
        QuotaCheck::NewIndex { table } => {
            let n = count("SELECT count(*) FROM pg_index WHERE indrelid = to_regclass($1)", table).await?;
            n.filter(|&n| n >= MAX_INDEXES_PER_TABLE).map(|n| Exceeded {
                rule: "X06",
                arg: None,
                detail: format!("{table} already has {n} indexes (the primary key and unique constraints count)"),
                message: None,
            })
        }
        QuotaCheck::NewTable { name } => new_relation(client, name, "'r', 'p'", MAX_TABLES, "CT06", "tables").await?,
        QuotaCheck::NewView { name } => new_relation(client, name, "'v'", MAX_VIEWS, "V01", "views").await?,
        QuotaCheck::NewSchema { name } => {
            let sql = "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) \
                       THEN (SELECT count(*) FROM pg_namespace n WHERE ";
            let n = client.query_one(&format!("{sql}{USER_SCHEMA}) END"), &[name]).await?.get::<_, Option<i64>>(0);
            n.filter(|&n| n >= MAX_SCHEMAS).map(|n| Exceeded {
                rule: "CT07",
                arg: None,
                detail: format!(
                    "the database already has {n} schemas (public included; sys and PostgreSQL's own are not counted)"
                ),
                message: None,
            })
        }
        QuotaCheck::AddColumns { table, count: adding } => {
            let sql = "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped";
            let n = count(sql, table).await?.unwrap_or(0);
            (n > 0 && n + *adding as i64 > MAX_COLUMNS_PER_TABLE).then(|| Exceeded {
                rule: "CT04",
                arg: None,
                detail: format!("{table} has {n} columns and this adds {adding}"),
                message: None,
            })
        }
        QuotaCheck::AddIdentity { table, column } => {
            let sql = "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = to_regclass($1) \
                       AND attname = $2 AND NOT attisdropped";
            let found = client.query_opt(sql, &[table, column]).await?.map(|r| r.get::<_, String>(0));
            found.filter(|t| t != "bigint").map(|t| Exceeded {
                rule: "Q04",
                arg: None,
                detail: format!("{table}.{column} is {t}; DSQL adds an identity only to a bigint NOT NULL column"),
                message: Some(format!("datatype {t} not supported, identity column type must be bigint")),
            })
        }
        QuotaCheck::DropConstraint { table, name } => {
            let sql = "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2 AND contype = 'p'";
            let primary = client.query_opt(sql, &[table, name]).await?.is_some();
            primary.then(|| Exceeded {
                rule: "A04",
                arg: None,
                detail: format!("{name} is the primary key of {table}"),
                message: Some(format!(
                    "cannot drop the primary key constraint {name}: DSQL tables keep their primary key"
                )),
            })
        }
        QuotaCheck::DropColumns { table, columns } => {
            let sql = "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid \
                       AND a.attnum = ANY (c.conkey) WHERE c.conrelid = to_regclass($1) AND c.contype = 'p'";
            let key: Vec<String> = client.query(sql, &[table]).await?.iter().map(|r| r.get(0)).collect();
            columns.iter().find(|c| key.contains(c)).map(|c| Exceeded {
                rule: "A04",
                arg: Some(c.clone()),
                detail: format!("{c} is part of the primary key of {table} ({})", key.join(", ")),
                message: None,
            })
        }
    })
}

/// A new relation of `kinds` (pg_class.relkind list) named `name`: exceeded when the user's schemas already hold
/// `max` of them. Creating a relation that already exists adds none.
async fn new_relation(
    client: &tokio_postgres::Client,
    name: &str,
    kinds: &str,
    max: i64,
    rule: &'static str,
    what: &str,
) -> Result<Option<Exceeded>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT CASE WHEN to_regclass($1) IS NULL THEN (SELECT count(*) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ({kinds}) AND {USER_SCHEMA}) END"
    );
    let n = client.query_one(&sql, &[&name]).await?.get::<_, Option<i64>>(0);
    Ok(n.filter(|&n| n >= max).map(|n| Exceeded {
        rule,
        arg: None,
        detail: format!("the database already has {n} {what}"),
        message: None,
    }))
}

/// DSQL's error for an exceeded limit, in the tools' error layout.
pub fn error_text(e: &Exceeded, index: usize, count: usize) -> (Option<String>, String) {
    let rule = rules::by_id(e.rule).unwrap_or_else(|| unreachable!("catalog rule {} exists (tested)", e.rule));
    let mut finding = match &e.arg {
        Some(arg) => rule.finding_with(arg),
        None => rule.finding(""),
    };
    if let Some(message) = &e.message {
        finding.message = message.clone();
    }
    let state = finding.sqlstate.clone();
    let text = format!(
        "ERROR {}: {}\nIN: statement {} of {count} ({})\nWHAT TO DO: {}. The transaction was rolled back: nothing from this call was committed.",
        state.as_deref().unwrap_or("0A000"),
        finding.message,
        index + 1,
        e.detail,
        finding.fix.trim_end_matches('.'),
    );
    (state, text)
}
