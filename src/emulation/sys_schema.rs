//! The `sys` objects DSQL has and PostgreSQL lacks, created in the local sandbox at every start and in a
//! `--database-url` database on first use (idempotently, so they survive restarts): `sys.jobs` and the procedures
//! `sys.wait_for_job(job_id)` (which completes a `submitted` job, see `emulation::async_jobs`) and
//! `sys.complete_jobs(ids, older_than_seconds)` (the server's background completion), with a trigger that marks a
//! submitted job's index not valid in `pg_index` until then (where the owner may: a superuser), the view `sys.iam_pg_role_mappings` that `AWS IAM GRANT/REVOKE` fill (through the
//! procedures `sys.aws_iam_grant/revoke`, which `emulation::adapt` translates those statements to), and the
//! routine `sys.supported_datatypes()`. As on DSQL, `SELECT sys.wait_for_job(…)` fails with 42809 (it is a
//! procedure) and a malformed id with 22P02. In the local sandbox the housekeeping role owns them: the tool role
//! `admin` may read them and record jobs, and the job and IAM procedures run as their owner (`SECURITY DEFINER`, with a
//! fixed `search_path`), as DSQL's admin uses `AWS IAM GRANT` without writing the mapping table itself.

/// SQL that creates the `sys` objects; idempotent, run every time the sandbox starts.
pub const INSTALL_SYS: &str = r#"
CREATE SCHEMA IF NOT EXISTS sys;
CREATE TABLE IF NOT EXISTS sys.jobs (
    job_id text PRIMARY KEY,
    status text NOT NULL,
    details text,
    job_type text NOT NULL,
    class_id oid,
    object_id oid,
    object_name text,
    start_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE FUNCTION sys.job_submitted() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $submitted$
BEGIN
    -- A job's object can only be an index this transaction built (a row cannot be made to name another index).
    IF NEW.object_id IS NOT NULL AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = NEW.object_id
            AND c.relkind IN ('i', 'I') AND c.xmin = pg_current_xact_id()::xid) THEN
        NEW.object_id := NULL;
        NEW.class_id := NULL;
    END IF;
    -- Not valid until the job completes, as on DSQL (the planner does not use it either). Only where the owner
    -- may change pg_index (a superuser: the local sandbox's housekeeping role); elsewhere the server's own check
    -- before ADD CONSTRAINT … USING INDEX is what answers 55000.
    IF NEW.job_type = 'INDEX_BUILD' AND NEW.status = 'submitted' AND NEW.object_id IS NOT NULL THEN
        BEGIN
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = NEW.object_id AND indisvalid;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END IF;
    RETURN NEW;
END
$submitted$;
CREATE OR REPLACE TRIGGER job_submitted BEFORE INSERT ON sys.jobs FOR EACH ROW EXECUTE FUNCTION sys.job_submitted();
CREATE OR REPLACE PROCEDURE sys.complete_jobs(ids text[], older_than_seconds bigint) LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $complete$
DECLARE
    built oid[];
BEGIN
    WITH done AS (
        UPDATE sys.jobs j SET status = 'completed', update_time = now()
            WHERE j.status = 'submitted'
              AND (j.job_id = ANY (ids) OR j.start_time <= now() - make_interval(secs => older_than_seconds))
            RETURNING j.job_type, j.object_id)
    SELECT array_agg(object_id) INTO built FROM done WHERE job_type = 'INDEX_BUILD' AND object_id IS NOT NULL;
    IF built IS NOT NULL THEN
        BEGIN
            UPDATE pg_index SET indisvalid = true WHERE indexrelid = ANY (built) AND NOT indisvalid;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END IF;
END
$complete$;
CREATE OR REPLACE PROCEDURE sys.wait_for_job(job_id text) LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $wait$
DECLARE
    job_status text;
    job_details text;
BEGIN
    IF job_id IS NULL OR job_id !~ '^[a-z2-7]{26}$' THEN
        RAISE EXCEPTION 'Unable to convert text to UUID' USING ERRCODE = '22P02';
    END IF;
    SELECT j.status, j.details INTO job_status, job_details FROM sys.jobs j WHERE j.job_id = wait_for_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % not found', job_id USING ERRCODE = '42704';
    END IF;
    -- Waiting is what finishes an emulated build (the server completes a job a read-only call waits for before
    -- the call runs, so this write happens only in read-write transactions).
    IF job_status = 'submitted' THEN
        CALL sys.complete_jobs(ARRAY[job_id], NULL);
        job_status := 'completed';
    END IF;
    IF job_status = 'failed' THEN
        RAISE EXCEPTION 'job % failed: %', job_id, coalesce(job_details, 'no details') USING ERRCODE = 'XX000';
    END IF;
END
$wait$;
CREATE TABLE IF NOT EXISTS sys.iam_role_mapping_rows (
    pg_role_name text NOT NULL,
    arn text NOT NULL,
    PRIMARY KEY (pg_role_name, arn)
);
CREATE OR REPLACE VIEW sys.iam_pg_role_mappings AS SELECT pg_role_name, arn FROM sys.iam_role_mapping_rows;
CREATE OR REPLACE PROCEDURE sys.aws_iam_grant(roles text[], arns text[]) LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $grant$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY roles LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            RAISE EXCEPTION 'role "%" does not exist', r USING ERRCODE = '42704';
        END IF;
    END LOOP;
    INSERT INTO sys.iam_role_mapping_rows (pg_role_name, arn)
        SELECT g.r, h.a FROM unnest(roles) AS g(r), unnest(arns) AS h(a) ON CONFLICT DO NOTHING;
END
$grant$;
CREATE OR REPLACE PROCEDURE sys.aws_iam_revoke(roles text[], arns text[]) LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $revoke$
BEGIN
    DELETE FROM sys.iam_role_mapping_rows WHERE pg_role_name = ANY (roles) AND arn = ANY (arns);
END
$revoke$;
CREATE OR REPLACE FUNCTION sys.supported_datatypes() RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $types$
    SELECT unnest(ARRAY['smallint', 'integer', 'bigint', 'real', 'double precision', 'numeric', 'character',
        'character varying', 'bpchar', 'text', 'date', 'time without time zone', 'time with time zone',
        'timestamp without time zone', 'timestamp with time zone', 'interval', 'boolean', 'bytea', 'uuid', 'json',
        'jsonb'])
$types$;
"#;

/// The advisory lock key that serialises servers installing the `sys` objects at once.
pub const INSTALL_LOCK: i64 = 7383551045;

/// Create or update the `sys` objects. Several servers may start at once: an advisory lock serialises them. On
/// failure the transaction is rolled back, so the (pooled) connection is not left in an aborted one.
pub async fn install(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let result = client
        .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({INSTALL_LOCK}); {INSTALL_SYS} COMMIT;"))
        .await;
    if result.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    result
}

/// [`install`] in a `--database-url` database, saying on stderr (once: this runs when the pool is opened) what
/// was created and how to avoid it. `label` names the database, without secrets.
pub async fn install_for_url(client: &tokio_postgres::Client, label: &str) -> Result<(), String> {
    let existed = client
        .query_one(
            "SELECT to_regclass('sys.iam_pg_role_mappings') IS NOT NULL AND to_regclass('sys.jobs') IS NOT NULL",
            &[],
        )
        .await
        .map(|r| r.get::<_, bool>(0))
        .unwrap_or(false);
    match install(client).await {
        // Made by another role (the sandbox's housekeeping role, a DBA): in place, and not ours to update.
        Err(e) if existed && e.code().is_some_and(|c| c.code() == crate::sqlstate::INSUFFICIENT_PRIVILEGE) => {
            tracing::info!("DSQL emulation on {label}: schema sys is in place (owned by another role, left as is)");
            return Ok(());
        }
        other => other,
    }
    .map_err(|e| {
        format!(
            "cannot create the sys schema that DSQL emulation needs in {label}: {}. Give the user CREATE on the \
             database (or create the schema once as its owner), or start with --rules off to use it as plain \
             PostgreSQL (then nothing is created and nothing is emulated)",
            crate::error_chain::text(&e)
        )
    })?;
    if existed {
        tracing::info!(
            "DSQL emulation on {label}: schema sys (sys.jobs, sys.wait_for_job, sys.iam_pg_role_mappings) is in place"
        );
    } else {
        tracing::info!(
            "DSQL emulation on {label}: created schema sys (sys.jobs, sys.wait_for_job, sys.iam_pg_role_mappings, \
             sys.supported_datatypes); start with --rules off to use the database as plain PostgreSQL"
        );
    }
    Ok(())
}
