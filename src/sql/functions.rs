//! Function denylists. Matching is on the resolved basename in any schema (so `pg_catalog.pg_sleep`,
//! `"pg_sleep"` and `U&"pg_sl\0065ep"` all match, while `"PG_SLEEP"` is a different function).

/// Refused in both modes: reach outside the database, stop other sessions, sleep, read server files, take
/// advisory locks (DSQL has none), or call AWS integrations.
const DANGEROUS_EXACT: &[&str] = &[
    "pg_cancel_backend",
    "pg_terminate_backend",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_stat_file",
    "lo_import",
    "lo_export",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_notify",
    "pg_promote",
    "autoprewarm_start_worker",
    "pg_log_backend_memory_contexts",
    "invoke",
    "query_export_to_s3",
    "table_import_from_s3",
];

const DANGEROUS_PREFIX: &[&str] = &[
    "pg_sleep",
    "pg_advisory_",
    "pg_try_advisory_",
    "dblink",
    "pg_ls_",
    "pg_file_",
    "pg_wal_replay_",
    "heap_force_",
    "pg_buffercache_evict",
];

/// Refused in read-only mode: functions that change state (sequences, GUCs, statistics, WAL, slots, large
/// objects, scheduled jobs).
const WRITE_EXACT: &[&str] = &[
    "set_config",
    "nextval",
    "setval",
    "setseed",
    "pg_switch_wal",
    "pg_switch_xlog",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_logical_emit_message",
    "pg_import_system_collations",
    "gin_clean_pending_list",
    "postgres_fdw_disconnect",
    "postgres_fdw_disconnect_all",
    "schedule",
    "schedule_in_database",
    "alter_job",
    "unschedule",
    "lowrite",
];

const WRITE_PREFIX: &[&str] = &[
    "pg_stat_reset",
    "pg_create_",
    "pg_drop_replication_slot",
    "pg_copy_",
    "pg_replication_origin_",
    "pg_replication_slot_advance",
    "pg_logical_slot_get_",
    "brin_",
    "lo_",
];

/// Built-ins that execute SQL given to them as text: the checks never see that SQL, so they are refused in both
/// modes, whatever the text. PostgreSQL 15's complete list, found two ways: in the catalog, every function with a
/// `text`, `refcursor` or `cstring` argument whose argument names or C symbol mention a query, SQL, cursor or
/// command (`SELECT oid::regprocedure, prosrc, proargnames FROM pg_proc WHERE proargtypes::oid[] &&
/// ARRAY['text'::regtype, 'refcursor'::regtype, 'cstring'::regtype]::oid[] AND (array_to_string(proargnames, ',')
/// ~* 'query|sql|cursor|stmt|command' OR prosrc ~* 'query|sql|cursor|spi|exec')`, which also lists the tsquery
/// parsers, that run none); and in the sources, the built-ins that hand an argument to SPI (utils/adt/xml.c,
/// tsvector_op.c, tsquery_rewrite.c). `table_to_xml`, `schema_to_xml` and `database_to_xml` run only a `SELECT *`
/// they build from a name, so they stay allowed; `ts_rewrite` runs SQL only in its `(tsquery, text)` form.
const RUNS_SQL_TEXT: &[&str] = &[
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "ts_stat",
];

/// Configuration parameters that switch off security features.
pub(crate) const SECURITY_GUCS: &[&str] = &["row_security", "session_replication_role"];

fn listed(name: &str, exact: &[&str], prefix: &[&str]) -> bool {
    exact.contains(&name) || prefix.iter().any(|p| name.starts_with(p))
}

pub(crate) fn is_dangerous(name: &str) -> bool {
    listed(name, DANGEROUS_EXACT, DANGEROUS_PREFIX)
}

/// Whether calling `name` with `args` arguments (unknown: `None`) runs SQL given as text ([`RUNS_SQL_TEXT`]).
pub(crate) fn runs_sql_text(name: &str, args: Option<usize>) -> bool {
    RUNS_SQL_TEXT.contains(&name) || (name == "ts_rewrite" && args != Some(3))
}

pub(crate) fn changes_state(name: &str) -> bool {
    listed(name, WRITE_EXACT, WRITE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_match_families_not_lookalikes() {
        for f in ["pg_sleep", "pg_sleep_for", "pg_advisory_xact_lock", "dblink_connect_u", "pg_ls_waldir", "invoke"] {
            assert!(is_dangerous(f), "{f}");
        }
        for f in [
            "nextval",
            "lo_unlink",
            "pg_stat_reset_shared",
            "pg_create_logical_replication_slot",
            "brin_summarize_range",
        ] {
            assert!(changes_state(f), "{f}");
        }
        for f in ["query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "ts_stat"] {
            assert!(runs_sql_text(f, Some(4)) && runs_sql_text(f, None), "{f}");
        }
        assert!(runs_sql_text("ts_rewrite", Some(2)) && runs_sql_text("ts_rewrite", None));
        assert!(!runs_sql_text("ts_rewrite", Some(3)), "the (tsquery, tsquery, tsquery) form runs no SQL");
        for f in ["table_to_xml", "xpath", "xmlelement", "to_tsquery", "QUERY_TO_XML"] {
            assert!(!runs_sql_text(f, Some(1)), "{f}");
        }
        for f in ["PG_SLEEP", "sleep", "replace", "txid_current", "currval", "lower", "setting", "log"] {
            assert!(!is_dangerous(f) && !changes_state(f), "{f}");
        }
    }
}
