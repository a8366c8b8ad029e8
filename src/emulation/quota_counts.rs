//! DSQL's database-wide limits in the local sandbox: before a statement that can hit one (see
//! [`crate::sql::QuotaCheck`]), count what the catalog already holds and answer as DSQL would (24 indexes per
//! table, 256 columns per table, 1,000 tables, 10 schemas, 5,000 views, 5,000 sequences, 5 extended statistics per
//! table, 2,000 bytes of declared index key, no dropping a primary-key column or constraint, identity added only
//! to a bigint column). The counts leave out PostgreSQL's own schemas and the emulated `sys` schema, as DSQL's
//! quotas do for its system objects. Figures from the dated catalog, revision 2026-12-07 (where AWS measured a
//! live cluster and the documentation says otherwise, the measured value: 256 columns, not 255).

use crate::sql::{QuotaCheck, rules};
use crate::sqlstate;

/// Indexes per table (catalog X06).
pub const MAX_INDEXES_PER_TABLE: i64 = 24;
/// Columns per table (catalog CT04, measured): the same figure the `sql` rules check before sending.
pub const MAX_COLUMNS_PER_TABLE: i64 = rules::MAX_COLUMNS_PER_TABLE as i64;
/// Tables per database (catalog CT06).
pub const MAX_TABLES: i64 = 1000;
/// Schemas per database (catalog CT07).
pub const MAX_SCHEMAS: i64 = 10;
/// Views per database (catalog V01).
pub const MAX_VIEWS: i64 = 5000;
/// Sequences per database (catalog Q10, 2026-12-07). Whether DSQL counts the sequences behind identity columns is
/// not documented (catalog §5.17); they are counted here, so the sandbox refuses no later than DSQL would.
pub const MAX_SEQUENCES: i64 = 5000;

/// SQL condition on `pg_namespace n` keeping the user's schemas (not PostgreSQL's, not the emulated `sys`).
pub const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'sys') \
                           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// A limit the statement would exceed: catalog rule id and the value DSQL names in its message, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The catalog rule id, e.g. `"X06"`; selects the recorded message and SQLSTATE.
    pub rule: &'static str,
    /// The value DSQL names in its message for this rule (e.g. the column), if it names one.
    pub arg: Option<String>,
    /// What the catalog holds now, for the explanation.
    pub detail: String,
    /// The message, where the rule's recorded one does not fit this case (DSQL's words not recorded for it).
    pub message: Option<String>,
    /// The SQLSTATE, where the rule's does not fit this case.
    pub sqlstate: Option<&'static str>,
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
                sqlstate: None,
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
                sqlstate: None,
            })
        }
        QuotaCheck::AddColumns { table, count: adding } => {
            let sql = "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped";
            let n = count(sql, table).await?.unwrap_or(0);
            if n > 0 && n + *adding as i64 > MAX_COLUMNS_PER_TABLE {
                // DSQL's words depend on the primary key, whose index would carry every column (CT04, 2026-12-07).
                let sql = "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'";
                let keyed = client.query_opt(sql, &[table]).await?.is_some();
                Some(Exceeded {
                    rule: "CT04",
                    arg: None,
                    detail: format!(
                        "{table} has {n} columns and this adds {adding}; DSQL accepts {MAX_COLUMNS_PER_TABLE}"
                    ),
                    message: keyed.then(|| rules::COLUMN_COUNT_PRIMARY_KEY_MESSAGE.to_string()),
                    sqlstate: None,
                })
            } else {
                None
            }
        }
        QuotaCheck::NewStatistics { table } => {
            let sql = "SELECT count(*) FROM pg_statistic_ext WHERE stxrelid = to_regclass($1)";
            let n = count(sql, table).await?;
            n.filter(|&n| n >= rules::MAX_STATISTICS_PER_TABLE).map(|n| Exceeded {
                rule: "V05",
                arg: None,
                detail: format!("{table} already has {n} extended-statistics objects"),
                message: Some(rules::STATISTICS_COUNT_MESSAGE.into()),
                sqlstate: Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
            })
        }
        QuotaCheck::NewSequence { name } => {
            new_relation(client, name, "'S'", MAX_SEQUENCES, "Q10", "sequences").await?
        }
        QuotaCheck::IndexKeySize { table, columns } => {
            // The declared size of each key column: the length of varchar(n)/char(n) (typmod - 4), else a fixed
            // width, else 0 (text, bytea, numeric: checked by DSQL at write time).
            let sql = "SELECT coalesce(sum(CASE WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) \
                       THEN greatest(a.atttypmod - 4, 0) WHEN t.typlen > 0 THEN t.typlen ELSE 0 END), 0)::int8 \
                       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                       WHERE a.attrelid = to_regclass($1) AND a.attname = ANY ($2) AND NOT a.attisdropped";
            let bytes: i64 = client.query_one(sql, &[table, columns]).await?.get(0);
            (bytes > rules::MAX_DECLARED_KEY_BYTES as i64).then(|| Exceeded {
                rule: "X08",
                arg: None,
                detail: format!(
                    "the index key ({}) declares {bytes} bytes; DSQL allows {}",
                    columns.join(", "),
                    rules::MAX_DECLARED_KEY_BYTES
                ),
                message: None,
                sqlstate: None,
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
                sqlstate: None,
            })
        }
        QuotaCheck::IndexReady { table, index } => {
            // The index's async build job (recorded with the index's oid, see `exec::stepwise` and `emulation::adapt`) has not completed
            // yet (`emulation::async_jobs`): the index is not valid. A job of a dropped index names no index any more.
            let sql = "SELECT j.job_id FROM sys.jobs j JOIN pg_catalog.pg_index i ON i.indexrelid = j.object_id \
                       JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
                       WHERE j.job_type = 'INDEX_BUILD' AND j.status = 'submitted' \
                       AND i.indrelid = to_regclass($1) AND c.relname = $2 LIMIT 1";
            client.query_opt(sql, &[table, index]).await?.map(|row| Exceeded {
                rule: "X12",
                arg: Some(index.clone()),
                detail: format!("the build job {} of index {index} has not completed", row.get::<_, String>(0)),
                message: None,
                sqlstate: None,
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
                sqlstate: None,
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
                sqlstate: None,
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
        sqlstate: None,
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
    if let Some(state) = e.sqlstate {
        finding.sqlstate = Some(state.into());
    }
    let state = finding.sqlstate.clone();
    let text = format!(
        "ERROR {}: {}\nIN: statement {} of {count} ({})\nWHAT TO DO: {}. The transaction was rolled back: nothing from this call was committed.",
        state.as_deref().unwrap_or(sqlstate::FEATURE_NOT_SUPPORTED),
        finding.message,
        index + 1,
        e.detail,
        finding.fix.trim_end_matches('.'),
    );
    (state, text)
}
