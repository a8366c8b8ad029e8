//! Who connects to the local sandbox, and what the database itself refuses them.
//!
//! Tool sessions connect as `admin`, which has what DSQL's `admin` has (create roles, schemas, tables; grant;
//! `AWS IAM GRANT`) and, as on DSQL, is not a PostgreSQL superuser: no server files, no replication, no
//! configuration changes, no terminating sessions. The server's own housekeeping (the `sys` schema, rehearsal
//! databases) connects as [`SYS_ROLE`], the sandbox's bootstrap superuser, which the agent never gets.
//!
//! What a non-superuser may still do by default in PostgreSQL 15, and DSQL does not offer, is taken away here in
//! every database the sandbox serves: advisory locks, signalling other sessions (all tool sessions are `admin`,
//! and a role may signal its own sessions), the built-ins that run SQL given as text (the checks could not see
//! that SQL), temporary tables, and PL/pgSQL (DSQL has only `LANGUAGE sql`; PL/pgSQL's `EXECUTE` would run text
//! no check sees). PostgreSQL 15 lets a `CREATEROLE` role grant itself predefined roles such as
//! `pg_execute_server_program`: memberships of that kind are taken back at every start, and what they would open
//! is closed anyway (COPY to/from files or programs is refused by the guard at every nesting, and nothing here
//! can run SQL from text).

/// The sandbox's bootstrap superuser: housekeeping only, never a tool session.
pub const SYS_ROLE: &str = "aurora_dsql_mcp_sys";
/// The role tool sessions use, as DSQL's administrative role is called.
pub const TOOL_ROLE: &str = "admin";

/// Built-ins that execute SQL given as text (how the list was found: `sql::functions`), or take
/// session-level locks or signal sessions; EXECUTE is revoked from PUBLIC.
pub const REVOKED_FUNCTIONS: &[&str] = &[
    "query_to_xml(text,boolean,boolean,text)",
    "query_to_xmlschema(text,boolean,boolean,text)",
    "query_to_xml_and_xmlschema(text,boolean,boolean,text)",
    "cursor_to_xml(refcursor,integer,boolean,boolean,text)",
    "cursor_to_xmlschema(refcursor,boolean,boolean,text)",
    "ts_stat(text)",
    "ts_stat(text,text)",
    "ts_rewrite(tsquery,text)",
    "pg_advisory_lock(bigint)",
    "pg_advisory_lock(integer,integer)",
    "pg_advisory_lock_shared(bigint)",
    "pg_advisory_lock_shared(integer,integer)",
    "pg_try_advisory_lock(bigint)",
    "pg_try_advisory_lock(integer,integer)",
    "pg_try_advisory_lock_shared(bigint)",
    "pg_try_advisory_lock_shared(integer,integer)",
    "pg_advisory_xact_lock(bigint)",
    "pg_advisory_xact_lock(integer,integer)",
    "pg_advisory_xact_lock_shared(bigint)",
    "pg_advisory_xact_lock_shared(integer,integer)",
    "pg_try_advisory_xact_lock(bigint)",
    "pg_try_advisory_xact_lock(integer,integer)",
    "pg_try_advisory_xact_lock_shared(bigint)",
    "pg_try_advisory_xact_lock_shared(integer,integer)",
    "pg_terminate_backend(integer,bigint)",
    "pg_cancel_backend(integer)",
    "pg_notify(text,text)",
];

/// Predefined roles that reach outside the database; a `CREATEROLE` role can grant them on PostgreSQL 15.
const OUTSIDE_ROLES: &str = "pg_execute_server_program, pg_read_server_files, pg_write_server_files, \
                             pg_signal_backend, pg_checkpoint";

/// The cluster-wide part: the `admin` role exists with DSQL's admin attributes and nothing more.
fn cluster_sql() -> String {
    format!(
        "DO $roles$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{TOOL_ROLE}') THEN
                CREATE ROLE {TOOL_ROLE} LOGIN CREATEROLE;
            END IF;
        END $roles$;
        ALTER ROLE {TOOL_ROLE} WITH LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS;
        REVOKE {OUTSIDE_ROLES} FROM {TOOL_ROLE};"
    )
}

/// The per-database part, run in each database tool sessions use (the sandbox's `postgres`, rehearsal
/// databases): what `admin` may create, and what nobody but the superuser may run.
fn database_sql() -> String {
    let revokes: String =
        REVOKED_FUNCTIONS.iter().map(|f| format!("REVOKE EXECUTE ON FUNCTION pg_catalog.{f} FROM PUBLIC;\n")).collect();
    format!(
        "DO $db$ BEGIN
            EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO {TOOL_ROLE}', current_database());
            EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
        END $db$;
        GRANT USAGE, CREATE ON SCHEMA public TO {TOOL_ROLE};
        REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;
        {revokes}
        GRANT USAGE ON SCHEMA sys TO {TOOL_ROLE};
        GRANT SELECT, INSERT ON sys.jobs TO {TOOL_ROLE};
        GRANT SELECT ON sys.iam_pg_role_mappings TO {TOOL_ROLE};
        GRANT EXECUTE ON PROCEDURE sys.wait_for_job(text), sys.complete_jobs(text[], bigint), sys.aws_iam_grant(text[], text[]),
            sys.aws_iam_revoke(text[], text[]) TO {TOOL_ROLE};
        GRANT EXECUTE ON FUNCTION sys.supported_datatypes() TO {TOOL_ROLE};"
    )
}

/// Create or update the `sys` objects, then set the roles (with `cluster`: the cluster-wide part too) and
/// privileges up; idempotent (run at every start). One transaction under the lock that
/// [`super::sys_schema::install`] takes, so servers starting at once never update the same catalog rows together
/// (the lock is per database: the cluster-wide part runs only from the sandbox's `postgres` database). `client` is
/// connected as [`SYS_ROLE`] to the database to set up.
pub async fn setup(client: &tokio_postgres::Client, cluster: bool) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            // READ COMMITTED: what a server that held the lock before committed must be seen after waiting for
            // it (the sandbox's default, REPEATABLE READ, would take the snapshot before the wait).
            "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_catalog.pg_advisory_xact_lock({}); {} {} {} COMMIT;",
            super::sys_schema::INSTALL_LOCK,
            super::sys_schema::INSTALL_SYS,
            if cluster { cluster_sql() } else { String::new() },
            database_sql()
        ))
        .await
}

/// Whether a failed housekeeping connection says that [`SYS_ROLE`] does not exist: a sandbox made by an earlier
/// version, whose `admin` is the bootstrap superuser.
pub fn is_missing_sys_role(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code().code() == crate::sqlstate::INVALID_AUTHORIZATION_SPECIFICATION && db.message().contains(SYS_ROLE)
    })
}

/// The refusal for a sandbox made by an earlier version, with the commands that keep its data.
pub fn old_sandbox_message(dir: &std::path::Path, socket_dir: &std::path::Path) -> String {
    let d = dir.display();
    let s = socket_dir.display();
    format!(
        "the local sandbox in {d} was made by an earlier version of this server, in which the agent's role `admin` \
         is the PostgreSQL superuser (it can read server files, create replication slots and stop other sessions). \
         This version connects tool sessions as a non-superuser `admin`, as DSQL does, and will not keep using a \
         superuser; PostgreSQL 15 cannot take superuser away from the role that created the cluster. To keep the \
         data: with the old sandbox still running (or started with `pg_ctl -D {d}/data start`), run \
         `pg_dump -h {s} -U admin --no-owner postgres > sandbox.sql`, then `mv {d} {d}.superuser-admin`; start the \
         server again (it makes a new sandbox) and load the dump as the new admin with \
         `psql -h {s} -U admin -d postgres -f sandbox.sql`. Without data to keep: `mv {d} {d}.old` (or remove it) \
         and start again."
    )
}

/// Whether the role a `--database-url` session logs in as is a superuser, and what that leaves open; `None`
/// when it is not.
pub async fn superuser_warning(client: &tokio_postgres::Client, label: &str) -> Option<String> {
    let row =
        client.query_one("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user", &[]).await.ok()?;
    row.get::<_, bool>(0).then(|| {
        format!(
            "--database-url logs in to {label} as a PostgreSQL superuser. The server's own checks still apply \
             (read-only transactions for reads, refused functions and statements, a reset session after every \
             call), but the database no longer backs them up: a superuser can read and write server files, run \
             programs, create replication slots, change server settings and stop other sessions, and anything \
             that slips past the checks can too. Connect as a role without SUPERUSER (on DSQL, admin is not one)"
        )
    })
}
