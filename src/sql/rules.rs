//! The DSQL rule catalog as data (from dsql-rules.md §1): one entry per rule we enforce or map, with DSQL's
//! SQLSTATE and exact message where recorded, the fix, the date DSQL changed the rule, whether plain PostgreSQL
//! already refuses it, and the dsql-lint rule ids that report it. Public so the local DSQL emulation can reuse it.

use super::finding::{Finding, Severity};
use super::version::DsqlVersion;
use crate::sqlstate;

/// One DSQL difference from PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Catalog id (R01, T01, X01, Y04, Q01, CT03, A01…).
    pub id: &'static str,
    /// Short snake_case name; the finding's rule id is `dsql.<id>.<slug>`.
    pub slug: &'static str,
    /// What the rule is, in one line.
    pub title: &'static str,
    /// DSQL's SQLSTATE for this refusal, when recorded (a constant of `crate::sqlstate`).
    pub sqlstate: Option<&'static str>,
    /// DSQL's exact error message, when recorded; `{}` stands for the part DSQL fills in (a type, a function…).
    pub message: Option<&'static str>,
    /// What to do instead, as an agent can act on it (often runnable SQL).
    pub fix: &'static str,
    /// Date DSQL last changed this rule (YYYY-MM-DD), when known.
    pub since: Option<&'static str>,
    /// Date DSQL lifted this rule (YYYY-MM-DD): it applies only when `--dsql-version` is earlier. `None`: current.
    pub until: Option<&'static str>,
    /// Date of the evidence this entry rests on (YYYY-MM-DD, the catalog revision that recorded it), where the
    /// date DSQL made the change is not known: a rule to re-check first when DSQL changes.
    pub evidence: Option<&'static str>,
    /// Plain PostgreSQL 15/16 already refuses the statement the same way.
    pub postgres_refuses: bool,
    /// dsql-lint 0.2.22 rule ids (snake_case) that report this rule.
    pub lint_rules: &'static [&'static str],
    /// `Warning` where the evidence conflicts (the statement may work on current DSQL).
    pub severity: Severity,
}

impl Rule {
    /// The finding rule id: `dsql.<id>.<slug>`.
    pub fn rule_id(&self) -> String {
        format!("dsql.{}.{}", self.id, self.slug)
    }

    /// A finding for this rule; `detail` replaces the message when DSQL's own text is not recorded (or is a
    /// template, see [`Rule::finding_with`]).
    pub fn finding(&self, detail: &str) -> Finding {
        let message = match self.message {
            Some(m) if !m.contains("{}") => m.to_string(),
            _ => detail.to_string(),
        };
        self.finding_message(message)
    }

    /// A finding with DSQL's message template filled in with `arg` (the type, function or statement DSQL names).
    pub fn finding_with(&self, arg: &str) -> Finding {
        let message = self.message.map_or_else(|| arg.to_string(), |m| m.replace("{}", arg));
        self.finding_message(message)
    }

    /// Whether the rule is in force for DSQL as of `version` (rules lifted on or before that date are not).
    pub fn applies_at(&self, version: DsqlVersion) -> bool {
        self.until.is_none_or(|until| version.date() < until)
    }

    fn finding_message(&self, message: String) -> Finding {
        let mut f = match self.severity {
            Severity::Error => Finding::error(self.rule_id(), message, self.fix),
            Severity::Warning => Finding::warning(self.rule_id(), message, self.fix),
        };
        f.sqlstate = self.sqlstate.map(str::to_string);
        f.since_date(self.since)
    }
}

/// Looks a rule up by catalog id (`"T01"`), case-insensitively.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    CATALOG.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// The catalog rule a dsql-lint rule id maps to.
pub fn for_lint_rule(lint_rule: &str) -> Option<&'static Rule> {
    CATALOG.iter().find(|r| r.lint_rules.contains(&lint_rule))
}

/// Every rule in the catalog.
pub fn all() -> &'static [Rule] {
    CATALOG
}

// A row constructor for the table below: positional arguments keep each row on a few lines.
#[allow(clippy::too_many_arguments)]
const fn rule(
    id: &'static str,
    slug: &'static str,
    title: &'static str,
    sqlstate: Option<&'static str>,
    message: Option<&'static str>,
    fix: &'static str,
    since: Option<&'static str>,
    lint_rules: &'static [&'static str],
) -> Rule {
    Rule {
        id,
        slug,
        title,
        sqlstate,
        message,
        fix,
        since,
        until: None,
        evidence: None,
        postgres_refuses: false,
        lint_rules,
        severity: Severity::Error,
    }
}

const S0A: Option<&str> = Some(sqlstate::FEATURE_NOT_SUPPORTED);

/// A rule DSQL lifted on `until`: refused (0A000) before that date.
const fn lifted(
    id: &'static str,
    slug: &'static str,
    title: &'static str,
    message: Option<&'static str>,
    fix: &'static str,
    until: &'static str,
) -> Rule {
    Rule { until: Some(until), ..rule(id, slug, title, S0A, message, fix, None, &[]) }
}

pub(crate) const TRUNCATE_FIX: &str = "DSQL has no TRUNCATE: delete in batches of at most 3,000 rows per transaction, e.g. \
    DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 3000), repeated until it affects 0 rows (or DROP TABLE and CREATE it again)";

/// DSQL's words for an explicit ASC/DESC on an index key (catalog X04; SQLSTATE not recorded, 0A000 assumed).
pub(crate) const INDEX_SORT_ORDER_MESSAGE: &str = "specifying sort order not supported for index keys";

/// What DSQL's refusal of `ALTER SEQUENCE … CACHE n` (2 ≤ n < 65536) contains (catalog Q01, 2026-11-28).
pub(crate) const ALTER_SEQUENCE_CACHE_MESSAGE: &str =
    "ALTER SEQUENCE CACHE {}: cache size must be greater than or equal to 65536 or equal to 1";

/// What DSQL's refusal of a non-bigint sequence type contains (catalog Q02, 2026-11-28).
pub(crate) const SEQUENCE_TYPE_MESSAGE: &str = "sequence type must be bigint";

/// DSQL's refusal of `CREATE PROCEDURE` (catalog R15, message recorded 2026-12-07).
pub(crate) const PROCEDURE_MESSAGE: &str = "PROCEDURE is not supported";

/// DSQL's limit on columns per table as measured on a live cluster (catalog CT04, 2026-12-07): 256 columns are
/// accepted and the 257th is refused, although the documentation and the message without a primary key say 255.
pub const MAX_COLUMNS_PER_TABLE: usize = 256;

/// DSQL's refusal of the 257th column when the table has a primary key (catalog CT04, observed 2026-12-07): the
/// key's index carries every column.
pub(crate) const COLUMN_COUNT_PRIMARY_KEY_MESSAGE: &str = "cannot use more than 256 columns in an index";

/// DSQL's limit on extended-statistics objects per table and its refusal of one more (catalog V05, 2026-12-07).
pub const MAX_STATISTICS_PER_TABLE: i64 = 5;
pub(crate) const STATISTICS_COUNT_MESSAGE: &str = "more than 5 extended statistics per table are not allowed";

/// The most bytes the declared sizes of a key's columns may sum to in DDL (catalog X08, observed 2026-12-07).
pub const MAX_DECLARED_KEY_BYTES: u64 = 2000;

pub(crate) const INDEX_ASYNC_FIX: &str = "Use CREATE INDEX ASYNC (for example CREATE INDEX ASYNC idx ON t (col)); it returns a job_id \
    at once, then wait for the build with CALL sys.wait_for_job('<job_id>') or check SELECT * FROM sys.jobs";

static CATALOG: &[Rule] = &[
    rule(
        "R01",
        "truncate",
        "No TRUNCATE",
        S0A,
        Some("unsupported statement: Truncate"),
        TRUNCATE_FIX,
        None,
        &["truncate"],
    ),
    rule(
        "R02",
        "create_extension",
        "No extensions",
        S0A,
        Some("unsupported statement: CreateExtension"),
        "DSQL has no extensions; gen_random_uuid() is built in",
        None,
        &["unsupported_create_extension"],
    ),
    rule(
        "R03",
        "trigger",
        "No triggers",
        S0A,
        Some("CREATE TRIGGER not supported"),
        "Move the trigger logic into the application or into the statements themselves",
        None,
        &["unsupported_create_trigger", "unsupported_drop_trigger"],
    ),
    rule(
        "R04",
        "database",
        "One built-in database `postgres`",
        S0A,
        Some("unsupported statement: Createdb"),
        "Use schemas (CREATE SCHEMA) inside the postgres database",
        None,
        &["unsupported_create_database"],
    ),
    rule(
        "R05",
        "temporary",
        "No temporary tables or views",
        S0A,
        Some("TEMPORARY or TEMP table not supported for CREATE TABLE"),
        "Create a regular table (and drop it afterwards) or use a CTE",
        None,
        &["temp_table", "unsupported_temp_view"],
    ),
    rule(
        "R06",
        "unlogged",
        "No UNLOGGED tables",
        S0A,
        Some("UNLOGGED table not supported for CREATE TABLE"),
        "Remove UNLOGGED",
        None,
        &[],
    ),
    rule(
        "R07",
        "tablespace",
        "No tablespaces",
        S0A,
        Some("unsupported statement: CreateTableSpace"),
        "Remove the TABLESPACE clause; DSQL manages storage",
        None,
        &["tablespace"],
    ),
    rule(
        "R08",
        "materialized_view",
        "No materialized views",
        S0A,
        Some("unsupported statement: CreateTableAs"),
        "Use a regular view, or a table refreshed by your application",
        None,
        &["unsupported_materialized_view", "unsupported_drop_materialized_view"],
    ),
    rule(
        "R09",
        "create_table_as",
        "No CREATE TABLE AS / SELECT INTO",
        S0A,
        Some("unsupported statement: CreateTableAs"),
        "CREATE TABLE with explicit columns in one transaction, then INSERT … SELECT in batches of at most 3,000 rows",
        None,
        &["create_table_as"],
    ),
    rule(
        "R10",
        "user_defined_type",
        "No user-defined types (CREATE DOMAIN is supported)",
        S0A,
        Some("CREATE TYPE not supported"),
        "Use a CHECK constraint or CREATE DOMAIN instead of an enum; JSONB instead of a composite type. DSQL refuses \
        CREATE/ALTER/DROP TYPE by their form, even DROP TYPE IF EXISTS of a type that does not exist",
        None,
        &["unsupported_create_type", "unsupported_alter_type", "unsupported_drop_type"],
    ),
    rule(
        "R11",
        "foreign_table",
        "No foreign tables or servers",
        S0A,
        Some("unsupported statement: CreateForeignTable"),
        "Load the data into DSQL tables instead",
        None,
        &["unsupported_create_server"],
    ),
    rule(
        "R12",
        "vacuum",
        "No VACUUM (ANALYZE <table> is supported)",
        S0A,
        Some("unsupported VACUUM statement"),
        "Remove it; DSQL maintains storage automatically (ANALYZE t is supported)",
        None,
        &["unsupported_vacuum"],
    ),
    rule(
        "R13",
        "listen_notify",
        "No LISTEN/NOTIFY",
        S0A,
        Some("unsupported statement: {}"),
        "Use polling or an external queue",
        None,
        &["unsupported_listen", "unsupported_unlisten", "unsupported_notify"],
    ),
    rule(
        "R14",
        "alter_system",
        "No ALTER SYSTEM",
        S0A,
        Some("unsupported statement: AlterSystem"),
        "Remove it",
        None,
        &[],
    ),
    rule(
        "R15",
        "procedural_code",
        "Functions only in LANGUAGE sql; no procedures (PROCEDURE is not supported)",
        S0A,
        Some("CREATE FUNCTION with language {} not supported"),
        "Rewrite the function in LANGUAGE sql (CREATE FUNCTION … LANGUAGE sql AS $$ … $$), or move the logic to the application",
        None,
        &["unsupported_create_function_non_sql", "unsupported_create_procedure", "unsupported_alter_function_property"],
    ),
    rule(
        "R16",
        "row_level_security",
        "No row-level security",
        S0A,
        None,
        "Filter rows in queries (for example with the server's --tenant-column) or use separate schemas and GRANTs",
        None,
        &[
            "unsupported_create_policy",
            "unsupported_alter_policy",
            "unsupported_drop_policy",
            "at_unsupported_row_level_security",
        ],
    ),
    rule(
        "R17",
        "merge",
        "No MERGE",
        S0A,
        Some("unsupported statement type: MERGE"),
        "Use INSERT … ON CONFLICT DO UPDATE, or separate UPDATE and INSERT statements",
        None,
        &[],
    ),
    rule(
        "R18",
        "advisory_lock",
        "No advisory locks",
        S0A,
        Some("function {} not supported"),
        "DSQL uses optimistic concurrency: retry the transaction on SQLSTATE 40001 instead of locking",
        None,
        &[],
    ),
    rule(
        "R19",
        "lock_table",
        "No LOCK TABLE",
        S0A,
        None,
        "Remove it; DSQL uses optimistic concurrency (SELECT … FOR UPDATE adds rows to the write set)",
        None,
        &["unsupported_lock_table"],
    ),
    rule(
        "R20",
        "savepoint",
        "No savepoints",
        S0A,
        Some("unsupported transaction statement: {}"),
        "Remove savepoints; split the work into separate transactions",
        None,
        &["unsupported_savepoint", "unsupported_release_savepoint", "unsupported_rollback_to_savepoint"],
    ),
    rule(
        "R21",
        "prepare_discard",
        "No SQL-level PREPARE/EXECUTE/DEALLOCATE name/DISCARD",
        S0A,
        None,
        "Use parameters ($1 or %s with params) instead of PREPARE; remove DISCARD",
        None,
        &["unsupported_prepare", "unsupported_deallocate", "unsupported_discard"],
    ),
    rule(
        "R22",
        "cursor",
        "No SQL-level cursors",
        S0A,
        None,
        "Page with LIMIT and a WHERE on the key instead of a cursor",
        None,
        &["unsupported_declare_cursor"],
    ),
    rule(
        "R23",
        "copy_file",
        "COPY only to/from STDIN/STDOUT",
        S0A,
        None,
        "Use COPY … FROM STDIN / TO STDOUT from a client",
        None,
        &["unsupported_copy_from_file"],
    ),
    rule(
        "R24",
        "alter_index",
        "No ALTER INDEX / REINDEX / CLUSTER",
        S0A,
        None,
        "Drop the index and create it again with CREATE INDEX ASYNC",
        None,
        &["unsupported_alter_index"],
    ),
    rule(
        "R25",
        "role_properties",
        "No role passwords or role properties (IAM authentication only)",
        S0A,
        None,
        "Use CREATE ROLE, GRANT/REVOKE and AWS IAM GRANT; DSQL authenticates with IAM tokens",
        None,
        &["unsupported_alter_role_property", "unsupported_alter_role_set", "unsupported_alter_user"],
    ),
    rule(
        "R28",
        "tablesample",
        "No TABLESAMPLE",
        S0A,
        Some("TABLESAMPLE clause not supported"),
        "Sample with ORDER BY random() LIMIT n or a WHERE on the key",
        None,
        &[],
    ),
    rule(
        "R30",
        "lc_collate",
        "SHOW lc_collate / lc_ctype are unknown (collation is always C)",
        Some(sqlstate::UNDEFINED_OBJECT),
        Some("unrecognized configuration parameter \"lc_collate\""),
        "DSQL always uses the C collation; no need to ask",
        None,
        &[],
    ),
    rule(
        "T01",
        "multiple_ddl",
        "At most one DDL statement per transaction",
        S0A,
        Some("multiple ddl statements not supported in a transaction"),
        "Send each DDL statement in its own transact call (its own transaction)",
        None,
        &["multi_ddl_transaction"],
    ),
    rule(
        "T02",
        "ddl_dml_mix",
        "No DDL and DML in the same transaction",
        S0A,
        Some("ddl and dml are not supported in the same transaction"),
        "Run the DDL in one transact call and the data changes in another",
        None,
        &["mixed_ddl_dml_transaction"],
    ),
    rule(
        "T03",
        "isolation_level",
        "Only REPEATABLE READ isolation",
        S0A,
        Some("Unsupported isolation level: {}"),
        "Remove the isolation level; DSQL always runs REPEATABLE READ (snapshot isolation)",
        None,
        &["transaction_isolation"],
    ),
    rule(
        "T04",
        "set_transaction",
        "SET TRANSACTION is refused entirely",
        S0A,
        Some("setting configuration parameter \"{}\" not supported"),
        "Remove it: the server opens read-only transactions itself (BEGIN READ ONLY) and DSQL always uses REPEATABLE READ",
        None,
        &["set_transaction"],
    ),
    rule(
        "T06",
        "row_limit",
        "At most 3,000 rows mutated per transaction",
        Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
        Some("transaction row limit exceeded"),
        "Split the rows into batches of at most 3,000 per transaction (one transact call each)",
        None,
        &[],
    ),
    Rule {
        since: Some("2026-08-25"),
        ..rule(
            "T12",
            "locking_clause",
            "Only FOR UPDATE and FOR KEY SHARE locking clauses",
            S0A,
            Some("locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"),
            "Use FOR UPDATE (or FOR KEY SHARE); DSQL does not block but checks conflicts at commit",
            None,
            &[],
        )
    },
    rule(
        "Y02",
        "unsupported_type",
        "Only the storage types DSQL lists",
        S0A,
        Some("datatype {} not supported"),
        "Use a supported type (text, varchar, numeric, integer types, boolean, date/time types, uuid, bytea, json, jsonb)",
        Some("2026-06-05"),
        &[],
    ),
    rule(
        "Y03",
        "array_type",
        "Arrays cannot be stored",
        S0A,
        Some("datatype {} not supported"),
        "Store the values in a child table, or as json/jsonb",
        None,
        &["array_type"],
    ),
    rule(
        "Y04",
        "serial",
        "No SERIAL types",
        Some(sqlstate::UNDEFINED_OBJECT),
        Some("type \"{}\" does not exist"),
        "Use bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1) (or CACHE 65536 for throughput), or a uuid DEFAULT gen_random_uuid()",
        Some("2026-02-13"),
        &["serial_type", "serial_sequence_idiom"],
    ),
    rule(
        "Y06",
        "numeric_bounds",
        "numeric precision ≤ 1000, scale −1000..1000",
        None,
        None,
        "Use numeric(p,s) with p ≤ 1000",
        Some("2026-08-25"),
        &["numeric_bounds"],
    ),
    rule(
        "Q01",
        "sequence_cache",
        "CREATE SEQUENCE needs an explicit CACHE of 1 or ≥ 65536",
        S0A,
        Some(
            "CREATE SEQUENCE is not supported without an explicit cache size. please define CACHE greater than or equal to 65536 or equal to 1",
        ),
        "Add CACHE 1 (ordered, slower) or CACHE 65536 (fast, gaps and no cross-session order)",
        Some("2026-02-13"),
        &["sequence_cache", "sequence_cache_missing"],
    ),
    rule(
        "Q02",
        "sequence_type",
        "Sequences are bigint",
        S0A,
        None,
        "Use AS bigint (or omit AS)",
        Some("2026-02-13"),
        &["sequence_type"],
    ),
    rule(
        "Q03",
        "identity_cache",
        "Identity columns need an explicit CACHE of 1 or ≥ 65536",
        S0A,
        Some(
            "identity column is not supported without an explicit cache size. please define CACHE greater than or equal to 65536 or equal to 1",
        ),
        "Write GENERATED BY DEFAULT AS IDENTITY (CACHE 1) or (CACHE 65536)",
        Some("2026-02-13"),
        &["identity_cache", "identity_cache_missing", "identity_not_null"],
    ),
    rule(
        "Q04",
        "identity_type",
        "Identity columns are bigint",
        S0A,
        Some("datatype {} not supported, identity column type must be bigint"),
        "Declare the identity column as bigint",
        Some("2026-02-13"),
        &["identity_type"],
    ),
    rule(
        "Q05",
        "add_column_constraint",
        "ALTER TABLE ADD COLUMN takes no constraint, default or identity",
        S0A,
        Some("ALTER TABLE ADD COLUMN with constraint not supported"),
        "ADD COLUMN without constraints, backfill with batched UPDATEs, then ALTER COLUMN … SET DEFAULT",
        None,
        &["add_column_constraint"],
    ),
    Rule {
        since: Some("2026-09-08"),
        ..rule(
            "Q06",
            "add_identity",
            "Identity added to an existing column: BIGINT NOT NULL, explicit CACHE 1 or ≥ 65536, no SEQUENCE NAME",
            S0A,
            None,
            "ALTER TABLE t ALTER COLUMN c ADD GENERATED BY DEFAULT AS IDENTITY (CACHE 1) (or CACHE 65536) works on a \
             bigint NOT NULL column; drop pg_dump's SEQUENCE NAME option, and for another column type create a new \
             bigint column or a new table",
            None,
            &["at_unsupported_alter_column_add_generated", "identity_add_generated_collapse"],
        )
    },
    rule(
        "X01",
        "index_async",
        "CREATE INDEX must be ASYNC",
        S0A,
        Some("unsupported mode. please use CREATE INDEX ASYNC."),
        INDEX_ASYNC_FIX,
        None,
        &["index_async"],
    ),
    Rule {
        since: Some("2026-08-13"),
        ..rule(
            "X03",
            "index_expression",
            "Index expressions must be immutable",
            None,
            None,
            "Index only immutable expressions",
            None,
            &["index_volatile_function"],
        )
    },
    rule(
        "X04",
        "index_options",
        "No CONCURRENTLY, USING, ASC/DESC, opclass or WITH in CREATE INDEX ASYNC",
        S0A,
        None,
        "Use CREATE INDEX ASYNC name ON t (col [NULLS FIRST|LAST], …) [INCLUDE (…)] [WHERE …]",
        None,
        &["index_concurrently", "index_using", "index_sort_direction"],
    ),
    rule(
        "X10",
        "wait_for_job",
        "sys.wait_for_job is a procedure taking a literal job id",
        Some(sqlstate::WRONG_OBJECT_TYPE),
        Some("sys.wait_for_job(text) is a procedure"),
        "Use CALL sys.wait_for_job('<job_id>') with the job id as a string literal",
        Some("2026-09-15"),
        &[],
    ),
    // Recorded on a live cluster 2026-09-18 (alter_unique_using_index); in the catalog since its 2026-12-07 revision.
    Rule {
        evidence: Some("2026-12-07"),
        ..rule(
            "X12",
            "index_not_valid",
            "An async index is not valid (not usable by a constraint) until its job has completed",
            Some(sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE),
            Some("index \"{}\" is not valid"),
            "Wait for the index's build first: CALL sys.wait_for_job('<job_id>') (the job_id CREATE INDEX ASYNC \
             returned; or SELECT job_id, status FROM sys.jobs WHERE object_name = '<index>'), then add the \
             constraint",
            None,
            &[],
        )
    },
    rule(
        "CT02",
        "create_table_clause",
        "No COLLATE, INHERITS, PARTITION, WITH (…), ON COMMIT in CREATE TABLE",
        S0A,
        None,
        "Remove the clause; DSQL distributes and stores tables itself and uses the C collation",
        None,
        &[
            "partition_by",
            "inherits",
            "unsupported_partition_of",
            "unsupported_on_commit",
            "unsupported_create_table_with_storage_parameters",
            "collation",
        ],
    ),
    Rule {
        since: Some("2026-08-26"),
        ..rule(
            "CT03",
            "add_constraint",
            "Primary keys only in CREATE TABLE; added CHECK/FOREIGN KEY need NOT VALID",
            S0A,
            Some("unsupported ALTER TABLE ADD CONSTRAINT statement"),
            "Declare the primary key in CREATE TABLE; add CHECK and FOREIGN KEY constraints with NOT VALID, then ALTER TABLE ASYNC t VALIDATE CONSTRAINT c",
            None,
            &[
                "at_unsupported_add_primary_key",
                "at_unsupported_add_unique",
                "at_unsupported_primary_key_using_index",
                "foreign_key_not_valid",
                "check_not_valid",
                "alter_add_unique_collapse",
                "alter_add_primary_key_collapse",
            ],
        )
    },
    Rule {
        since: Some("2026-08-26"),
        ..rule(
            "CT05",
            "foreign_key",
            "Foreign keys are supported (MATCH SIMPLE/FULL, always enforced)",
            None,
            None,
            "Use MATCH SIMPLE or MATCH FULL and drop ENFORCED/NOT ENFORCED",
            None,
            &["foreign_key_match_partial", "foreign_key_enforced"],
        )
    },
    rule(
        "A01",
        "alter_column_type",
        "No ALTER COLUMN … TYPE",
        S0A,
        Some("unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement"),
        "Add a new column, backfill it in batches, and switch readers to it (or recreate the table)",
        None,
        &["at_unsupported_alter_column_set_type"],
    ),
    rule(
        "A02",
        "set_not_null",
        "No ALTER COLUMN … SET NOT NULL",
        S0A,
        None,
        "Add a CHECK (col IS NOT NULL) NOT VALID constraint and validate it with ALTER TABLE ASYNC … VALIDATE CONSTRAINT",
        None,
        &["at_unsupported_alter_column_set_not_null"],
    ),
    Rule {
        since: Some("2026-08-03"),
        ..rule(
            "A03",
            "validate_constraint",
            "VALIDATE CONSTRAINT only with ALTER TABLE ASYNC",
            S0A,
            Some("unsupported ALTER TABLE VALIDATE CONSTRAINT statement"),
            "Use ALTER TABLE ASYNC t VALIDATE CONSTRAINT c and wait for the job",
            None,
            &["validate_constraint_async"],
        )
    },
    Rule {
        since: Some("2026-08-03"),
        ..rule(
            "A04",
            "drop_primary_key",
            "Primary keys cannot be dropped (their columns or the primary-key constraint)",
            S0A,
            Some("cannot drop primary key column {}"),
            "Keep the primary key; recreate the table to change it",
            None,
            &["primary_key_removal"],
        )
    },
    rule(
        "A05",
        "alter_table_form",
        "Unsupported ALTER TABLE forms (REPLICA IDENTITY, rules, SET COMPRESSION)",
        S0A,
        None,
        "Remove the clause",
        None,
        &["at_unsupported_replica_identity", "at_unsupported_rewrite_rule", "alter_column_set_compression_strip"],
    ),
    Rule {
        since: Some("2026-08-27"),
        ..rule(
            "V05",
            "statistics",
            "CREATE/ALTER STATISTICS supported within limits",
            None,
            None,
            "Keep the statistics target within DSQL's limits",
            None,
            &["statistics_target"],
        )
    },
    rule(
        "V08",
        "left_join_lateral_outer_column",
        "A LEFT JOIN LATERAL subquery cannot project a column of the outer query (a DSQL defect)",
        Some(sqlstate::DATATYPE_MISMATCH),
        Some("attribute 1 of type {} has wrong type"),
        "DSQL refuses a LEFT JOIN LATERAL subquery whose select list names a column of the outer query (a DSQL \
             defect, recorded 2026-09-18; PostgreSQL runs it). Select the outer column in the outer query instead \
             (SELECT p.id, x.… FROM p LEFT JOIN LATERAL (SELECT … FROM c WHERE c.parent_id = p.id) x ON TRUE), or use \
             CROSS JOIN LATERAL / INNER JOIN LATERAL when every outer row has a match",
        Some("2026-09-18"),
        &[],
    ),
    rule(
        "R26",
        "text_search_config",
        "No text-search configurations",
        Some(sqlstate::UNDEFINED_OBJECT),
        Some("text search configuration \"{}\" does not exist"),
        "DSQL has no full-text search: match with ILIKE/LIKE or position(), or search in an external index",
        None,
        &[],
    ),
    rule(
        "R27",
        "geometric",
        "Geometric constructors refused",
        S0A,
        Some("datatype {} not supported"),
        "Store coordinates as numeric/double precision columns and compute in SQL or in the application",
        None,
        &[],
    ),
    rule(
        "R29",
        "exclusion_constraint",
        "No exclusion constraints",
        S0A,
        None,
        "Enforce the rule in the application (check for overlaps in the same transaction; DSQL's OCC makes the check safe)",
        None,
        &[],
    ),
    rule(
        "X06",
        "index_count",
        "At most 24 indexes per table",
        Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
        Some("more than 24 indexes per table are not allowed"),
        "Drop an index you no longer need (DROP INDEX), or combine indexes (one composite index serves queries on its leading columns)",
        None,
        &[],
    ),
    rule(
        "X07",
        "index_key_columns",
        "At most 8 key columns per index or primary key",
        Some(sqlstate::TOO_MANY_COLUMNS),
        Some("more than 8 column keys in an index are not supported"),
        "Use at most 8 key columns; move extra columns to INCLUDE (…) for covering indexes",
        None,
        &[],
    ),
    Rule {
        evidence: Some("2026-12-07"),
        ..rule(
            "CT04",
            "column_count",
            "At most 256 columns per table (documented: 255; with a primary key the refusal names an index)",
            Some(sqlstate::TOO_MANY_COLUMNS),
            Some("tables can have at most 255 columns"),
            "Split the table (a 1:1 child table sharing the primary key) or store sparse attributes in a jsonb column; \
             a table churned by ADD/DROP COLUMN also meets a cumulative cap of 1,600 columns: recreate it instead",
            None,
            &[],
        )
    },
    rule(
        "CT06",
        "table_count",
        "At most 1,000 tables per database",
        Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
        Some("creating more than 1000 tables not allowed"),
        "Drop tables you no longer need, or consolidate per-tenant tables into one table with a tenant column",
        None,
        &[],
    ),
    rule(
        "CT07",
        "schema_count",
        "At most 10 schemas per database",
        Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
        Some("more than 10 schemas not allowed"),
        "Drop schemas you no longer need, or put tables in existing schemas",
        None,
        &[],
    ),
    rule(
        "V01",
        "view_count",
        "At most 5,000 views per database",
        Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
        Some("creating more than 5000 views not allowed"),
        "Drop views you no longer need",
        None,
        &[],
    ),
    // Entries of the catalog's 2026-12-07 revision (limits AWS measured on a live cluster, or a later quota page).
    Rule {
        evidence: Some("2026-12-07"),
        ..rule(
            "X08",
            "key_size",
            "Declared key size at most 2,000 bytes in DDL (documented: 1 KiB per key; observed write budget ≈ 1,981 bytes)",
            Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
            Some("key size greater than 2000 bytes not supported"),
            "Shorten the key: declare smaller varchar(n)/char(n) key columns (their declared sizes count, in bytes), \
             or key the table on a uuid or bigint and index a hash of the long value; for a secondary index, the \
             primary key's columns are not counted in this sum",
            None,
            &[],
        )
    },
    Rule {
        evidence: Some("2026-12-07"),
        ..rule(
            "Q10",
            "sequence_count",
            "At most 5,000 sequences per database",
            Some(sqlstate::PROGRAM_LIMIT_EXCEEDED),
            Some("creating more than 5000 sequences is not allowed"),
            "Drop sequences you no longer need, share one sequence between tables, or use uuid keys \
             (DEFAULT gen_random_uuid())",
            None,
            &[],
        )
    },
    // Rules DSQL has since lifted: they apply only with `--dsql-version` earlier than `until` (catalog §0.1).
    // DSQL's wording for most of them was never recorded; the finding says what the feature was refused as.
    lifted(
        "L01",
        "sequences_identity",
        "Sequences and identity columns (supported since 2026-02-13)",
        None,
        "Use a uuid primary key with DEFAULT gen_random_uuid(), or set --dsql-version to 2026-02-13 or later",
        "2026-02-13",
    ),
    lifted(
        "L02",
        "jsonb_type",
        "jsonb as a storage type (supported since 2026-06-05)",
        Some("datatype {} not supported"),
        "Store JSON in a json or text column and cast with ::jsonb in queries, or set --dsql-version to 2026-06-05 or later",
        "2026-06-05",
    ),
    lifted(
        "L03",
        "drop_column",
        "ALTER TABLE … DROP COLUMN (supported since 2026-08-03)",
        None,
        "Leave the column unused, or recreate the table without it; or set --dsql-version to 2026-08-03 or later",
        "2026-08-03",
    ),
    lifted(
        "L04",
        "constraint_not_valid",
        "ADD CONSTRAINT … NOT VALID and ALTER TABLE ASYNC … VALIDATE CONSTRAINT (supported since 2026-08-03)",
        Some("unsupported ALTER TABLE ADD CONSTRAINT statement"),
        "Declare CHECK constraints in CREATE TABLE, or set --dsql-version to 2026-08-03 or later",
        "2026-08-03",
    ),
    lifted(
        "L05",
        "expression_index",
        "Expression indexes (supported since 2026-08-13)",
        None,
        "Index a column instead (store the computed value in its own column, kept up to date by the application), or set --dsql-version to 2026-08-13 or later",
        "2026-08-13",
    ),
    lifted(
        "L06",
        "for_key_share",
        "SELECT … FOR KEY SHARE (supported since 2026-08-25)",
        Some("locking clauses other than FOR UPDATE are not supported"),
        "Use FOR UPDATE, or set --dsql-version to 2026-08-25 or later",
        "2026-08-25",
    ),
    lifted(
        "L07",
        "numeric_bounds_38",
        "numeric precision above 38 or scale above 37 (supported since 2026-08-25)",
        None,
        "Use numeric(p,s) with p ≤ 38 and s ≤ 37, or set --dsql-version to 2026-08-25 or later",
        "2026-08-25",
    ),
    lifted(
        "L08",
        "foreign_key",
        "Foreign keys (supported since 2026-08-26)",
        None,
        "Check referential integrity in the application (read the parent in the same transaction), or set --dsql-version to 2026-08-26 or later",
        "2026-08-26",
    ),
    lifted(
        "L09",
        "statistics",
        "CREATE/ALTER/DROP STATISTICS (supported since 2026-08-27)",
        None,
        "Remove the statement (ANALYZE t collects per-column statistics), or set --dsql-version to 2026-08-27 or later",
        "2026-08-27",
    ),
    lifted(
        "L10",
        "partial_index",
        "Partial indexes, CREATE INDEX ASYNC … WHERE (supported since 2026-09-15)",
        None,
        "Index the whole table (drop the WHERE clause), or set --dsql-version to 2026-09-15 or later",
        "2026-09-15",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_lint_rules_map_once() {
        let mut ids: Vec<&str> = all().iter().map(|r| r.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        let mut lints: Vec<&str> = all().iter().flat_map(|r| r.lint_rules.iter().copied()).collect();
        lints.sort();
        let n = lints.len();
        lints.dedup();
        assert_eq!(lints.len(), n);
    }

    #[test]
    fn lookup_by_id_and_lint_rule() {
        assert_eq!(by_id("t01").unwrap().message, Some("multiple ddl statements not supported in a transaction"));
        assert_eq!(for_lint_rule("index_async").unwrap().id, "X01");
        assert_eq!(by_id("X01").unwrap().rule_id(), "dsql.X01.index_async");
        assert!(by_id("nope").is_none());
    }
}
