//! The local sandbox: a private PostgreSQL cluster in a directory of the user's, on a unix socket only (no TCP
//! port), started on first use and shared by every server instance that points at the same directory.
//!
//! Sharing works with two advisory locks in the directory: `.control.lock` (exclusive, held only while deciding to
//! start or stop) and `.users.lock` (shared, held by every instance for as long as it runs). The instance that
//! leaves last finds it can take `.users.lock` exclusively and stops PostgreSQL. The kernel drops the locks of a
//! crashed instance, so a crash never leaves the directory "in use" forever.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use super::pgbin::PgBinaries;

/// The role tool sessions connect as: DSQL's administrative role, also called `admin`, and, as there, not a
/// superuser (see [`super::roles`]).
pub const SANDBOX_USER: &str = super::roles::TOOL_ROLE;
/// The role created by initdb (the bootstrap superuser): the server's own housekeeping only.
pub const SANDBOX_SYS_USER: &str = super::roles::SYS_ROLE;
/// The port number only names the socket file (`.s.PGSQL.5432`); nothing listens on TCP.
pub const SANDBOX_PORT: u16 = 5432;
const SETTINGS_FILE: &str = "aurora_dsql_mcp.conf";
/// The most disk one session's temporary files (sorts, hashes, CTEs spilled to disk) may take in the sandbox: a
/// read-only query could otherwise fill the disk. The query that passes it fails with PostgreSQL's `53400`
/// (`temporary file size exceeds temp_file_limit`). `temp_file_limit` is a superuser-only setting: `admin`
/// cannot `SET` it, set it per role or per database, or `ALTER SYSTEM` (tests/db_enforces.rs).
pub const TEMP_FILE_LIMIT: &str = "1GB";

/// A running sandbox that this process is registered as a user of.
#[derive(Debug)]
pub struct Sandbox {
    dir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    bins: PgBinaries,
    run_as: Option<(u32, u32)>,
    users_lock: Option<File>,
    /// How this instance found the sandbox: "initialised", "started" or "already running".
    pub how: &'static str,
    /// How long starting or joining the sandbox took, for the startup log.
    pub startup: std::time::Duration,
}

// Platform differences (root, ownership, sockets) live in crate::platform; re-exported for the callers here.
pub use crate::platform::running_as_root;
use crate::platform::{give_to, make_private, postgres_user};

impl Sandbox {
    /// Start (or join) the sandbox in `dir`. Blocking: call it from `spawn_blocking`.
    pub fn start(dir: &Path, report: &dyn Fn(&str)) -> Result<Sandbox, String> {
        crate::platform::local_mode_available()?;
        let started = Instant::now();
        let bins = PgBinaries::find()?;
        let run_as = if running_as_root() { Some(postgres_user()?) } else { None };
        fs::create_dir_all(dir).map_err(|e| format!("cannot create the sandbox directory {}: {e}", dir.display()))?;
        let dir = dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let data = dir.join("data");
        let socket_dir = socket_dir_for(&dir);

        let mut sandbox = Sandbox {
            dir,
            data,
            socket_dir,
            bins,
            run_as,
            users_lock: None,
            how: "already running",
            startup: Default::default(),
        };
        sandbox.prepare_directories()?;

        let control = sandbox.lock_file(".control.lock")?;
        control.lock().map_err(|e| format!("cannot lock {}: {e}", sandbox.dir.join(".control.lock").display()))?;

        if !sandbox.data.join("PG_VERSION").is_file() {
            report(&format!("initialising a new local cluster in {} (first run)", sandbox.data.display()));
            sandbox.initdb()?;
            sandbox.how = "initialised";
        }
        sandbox.check_version()?;
        if !sandbox.is_running() {
            if sandbox.how != "initialised" {
                sandbox.how = "started";
            }
            sandbox.write_settings()?;
            sandbox.pg_ctl_start()?;
        }
        let users = sandbox.lock_file(".users.lock")?;
        users.lock_shared().map_err(|e| format!("cannot register with the sandbox: {e}"))?;
        sandbox.users_lock = Some(users);
        drop(control);
        sandbox.startup = started.elapsed();
        Ok(sandbox)
    }

    /// The sandbox directory given with `--local`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The major version of the PostgreSQL the sandbox runs.
    pub fn major_version(&self) -> u32 {
        self.bins.major
    }

    /// The directory of the sandbox's socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Connection settings for the sandbox's socket as the server's housekeeping role (the superuser): never for
    /// a tool session. Its `search_path` is pinned at connection start, so nothing an agent sets for the database
    /// or creates in `public` can stand in for what housekeeping calls.
    pub fn sys_config(&self, application_name: &str) -> tokio_postgres::Config {
        let mut cfg = self.pg_config(application_name);
        cfg.user(SANDBOX_SYS_USER).options("-c search_path=pg_catalog");
        cfg
    }

    /// Connection settings for the sandbox's socket as the tool role (`admin`, not a superuser).
    pub fn pg_config(&self, application_name: &str) -> tokio_postgres::Config {
        let mut cfg = tokio_postgres::Config::new();
        crate::platform::connect_via_socket_dir(&mut cfg, &self.socket_dir);
        cfg.port(SANDBOX_PORT).user(SANDBOX_USER).dbname("postgres").application_name(application_name);
        cfg
    }

    /// Start PostgreSQL again if it stopped behind this instance's back (a crash, a kill, the OOM killer). Under
    /// the control lock, so instances sharing the sandbox start it once; the data directory is reused as is, so
    /// nothing is lost. Returns whether this call started it. Blocking.
    pub fn revive(&self) -> Result<bool, String> {
        let control = self.lock_file(".control.lock")?;
        control.lock().map_err(|e| format!("cannot lock the sandbox: {e}"))?;
        if self.is_running() {
            return Ok(false);
        }
        self.write_settings()?;
        self.pg_ctl_start()?;
        Ok(true)
    }

    /// Leave the sandbox; stop PostgreSQL when no other server instance uses it. Blocking.
    pub fn release(&mut self) -> Result<bool, String> {
        let Some(users) = self.users_lock.take() else { return Ok(false) };
        let control = self.lock_file(".control.lock")?;
        control.lock().map_err(|e| format!("cannot lock the sandbox: {e}"))?;
        drop(users);
        let probe = self.lock_file(".users.lock")?;
        let last = probe.try_lock().is_ok();
        if last && self.is_running() {
            let out = self.pg_ctl(&["stop", "-D", &path_str(&self.data), "-m", "fast", "-w", "-s"])?;
            if !out.status.success() {
                return Err(format!("pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        drop(probe);
        drop(control);
        Ok(last)
    }

    fn prepare_directories(&self) -> Result<(), String> {
        for d in [&self.dir, &self.socket_dir] {
            fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
            make_private(d).map_err(|e| format!("cannot make {} private: {e}", d.display()))?;
            if let Some(owner) = self.run_as {
                give_to(d, owner).map_err(|e| format!("cannot give {} to postgres: {e}", d.display()))?;
            }
        }
        if self.run_as.is_some() {
            // The postgres user must be able to reach the directory through every parent.
            let ok = self.command("test").args(["-w", &path_str(&self.dir)]).status().is_ok_and(|s| s.success());
            if !ok {
                return Err(format!(
                    "the sandbox directory {} is not reachable by the `postgres` user (a parent directory is \
                     private, as /root is). Use a directory it can reach, e.g. \
                     --local=/var/lib/aurora-dsql-mcp-server/local",
                    self.dir.display()
                ));
            }
        }
        Ok(())
    }

    fn lock_file(&self, name: &str) -> Result<File, String> {
        let path = self.dir.join(name);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        if let Some(owner) = self.run_as {
            crate::platform::run_as(&mut cmd, owner);
        }
        cmd.stdin(std::process::Stdio::null());
        cmd.env("LC_ALL", "C");
        cmd
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, String> {
        self.command(self.bins.program("pg_ctl")).args(args).output().map_err(|e| format!("cannot run pg_ctl: {e}"))
    }

    /// initdb into a scratch directory renamed into place when complete, so an interrupted first run (the client
    /// gave up, the machine stopped) never leaves a half-made cluster behind.
    fn initdb(&self) -> Result<(), String> {
        let scratch = self.dir.join("data.initdb");
        if scratch.exists() {
            fs::remove_dir_all(&scratch).map_err(|e| format!("cannot remove {}: {e}", scratch.display()))?;
        }
        if self.data.exists() {
            // A directory without PG_VERSION is not a cluster: an older, interrupted attempt.
            fs::remove_dir_all(&self.data)
                .map_err(|e| format!("cannot remove the incomplete {}: {e}", self.data.display()))?;
        }
        let out = self
            .command(self.bins.program("initdb"))
            .args(["-D", &path_str(&scratch), "-U", SANDBOX_SYS_USER, "-A", "trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-instructions")
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed in {}: {}",
                scratch.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let conf = scratch.join("postgresql.conf");
        let mut f =
            OpenOptions::new().append(true).open(&conf).map_err(|e| format!("cannot edit {}: {e}", conf.display()))?;
        writeln!(
            f,
            "\n# aurora-dsql-mcp-server settings, rewritten at every start\ninclude_if_exists = '{SETTINGS_FILE}'"
        )
        .map_err(|e| format!("cannot edit {}: {e}", conf.display()))?;
        fs::rename(&scratch, &self.data).map_err(|e| format!("cannot move the new cluster into place: {e}"))?;
        Ok(())
    }

    fn check_version(&self) -> Result<(), String> {
        let text = fs::read_to_string(self.data.join("PG_VERSION")).unwrap_or_default();
        let data_major: u32 = text.trim().parse().unwrap_or(0);
        if data_major != self.bins.major {
            return Err(format!(
                "the sandbox in {} was created by PostgreSQL {data_major}, but the binaries found ({}) are \
                 PostgreSQL {}. Point AURORA_DSQL_PG_BINDIR at PostgreSQL {data_major}'s bin directory, or use a new \
                 directory with --local=DIR.",
                self.dir.display(),
                self.bins.bindir.display(),
                self.bins.major
            ));
        }
        Ok(())
    }

    /// Settings that make PostgreSQL look like DSQL's environment (UTC, C collation, REPEATABLE READ), keep it
    /// private (no TCP, socket only for its owner) and bound the disk one session's temporary files may take
    /// ([`TEMP_FILE_LIMIT`]).
    fn write_settings(&self) -> Result<(), String> {
        let socket = path_str(&self.socket_dir).replace('\'', "''");
        let text = format!(
            "listen_addresses = ''\nport = {SANDBOX_PORT}\nunix_socket_directories = '{socket}'\n\
             unix_socket_permissions = 0700\ntimezone = 'UTC'\nlog_timezone = 'UTC'\n\
             default_transaction_isolation = 'repeatable read'\nlc_messages = 'C'\nmax_connections = 40\n\
             shared_buffers = '32MB'\ntemp_file_limit = '{TEMP_FILE_LIMIT}'\n"
        );
        let path = self.data.join(SETTINGS_FILE);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if let Some(owner) = self.run_as {
            give_to(&path, owner).map_err(|e| format!("cannot give {} to postgres: {e}", path.display()))?;
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        let status = self.pg_ctl(&["status", "-D", &path_str(&self.data)]);
        status.is_ok_and(|o| o.status.success()) && self.socket_dir.join(format!(".s.PGSQL.{SANDBOX_PORT}")).exists()
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let log = self.dir.join("postgres.log");
        let log_before = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        if let Some(owner) = self.run_as {
            File::options()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
            give_to(&log, owner).map_err(|e| format!("cannot give {} to postgres: {e}", log.display()))?;
        }
        let out =
            self.pg_ctl(&["start", "-D", &path_str(&self.data), "-l", &path_str(&log), "-w", "-t", "60", "-s"])?;
        if out.status.success() {
            return Ok(());
        }
        let tail =
            fs::read(&log).map(|b| String::from_utf8_lossy(&b[(log_before as usize).min(b.len())..]).to_string());
        Err(explain_start_failure(&self.data, &self.socket_dir, &tail.unwrap_or_default(), &out))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.users_lock.is_some()
            && let Err(e) = self.release()
        {
            eprintln!("aurora-dsql-mcp-server: could not stop the local sandbox: {e}");
        }
    }
}

/// Turn PostgreSQL's start-up failure into a message that says what happened and what to do.
fn explain_start_failure(data: &Path, socket_dir: &Path, log: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail = format!("{}\n{}", log.trim(), stderr.trim());
    let hint = if detail.contains("postmaster.pid") && detail.contains("already exists") {
        format!(
            "a lock file {} names a process that is still alive but is not this sandbox's PostgreSQL (a stale lock \
             after a crash, with the PID reused). Stop that process, or delete the file if you are sure no \
             PostgreSQL uses this directory.",
            data.join("postmaster.pid").display()
        )
    } else if detail.contains("Address already in use") || detail.contains(".s.PGSQL") && detail.contains("lock file") {
        format!(
            "another PostgreSQL already uses the socket {}/.s.PGSQL.{SANDBOX_PORT}. Stop it, or start this server \
             with another --local=DIR.",
            socket_dir.display()
        )
    } else if detail.contains("could not create shared memory") || detail.contains("shmget") {
        "the system refused shared memory to PostgreSQL; free some memory or raise the shared-memory limits.".into()
    } else {
        "see the log above; fix it, or remove the directory to start over with an empty sandbox.".into()
    };
    let last_lines: Vec<&str> = detail.lines().filter(|l| !l.trim().is_empty()).rev().take(6).collect();
    let last: Vec<&str> = last_lines.into_iter().rev().collect();
    format!("the local PostgreSQL sandbox did not start: {hint}\nPostgreSQL said:\n{}", last.join("\n"))
}

/// The socket lives in the sandbox directory (`dir` canonical) unless that path is too long for a unix socket (about 107 bytes),
/// in which case a private directory under /tmp named after a hash of the sandbox path is used.
pub fn socket_dir_for(dir: &Path) -> PathBuf {
    let preferred = dir.join("run");
    if path_str(&preferred).len() + ".s.PGSQL.5432.lock".len() + 1 < 100 {
        return preferred;
    }
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in path_str(dir).bytes() {
        hash = (hash ^ b as u64).wrapping_mul(0x100000001b3);
    }
    PathBuf::from(format!("/tmp/aurora-dsql-mcp-{hash:016x}"))
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_directories_get_a_short_socket_directory() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        let s = socket_dir_for(&long);
        assert!(s.to_string_lossy().starts_with("/tmp/aurora-dsql-mcp-"));
        assert_eq!(s, socket_dir_for(&long), "the same directory always maps to the same socket");
        assert_eq!(socket_dir_for(Path::new("/tmp/a")), PathBuf::from("/tmp/a/run"));
    }

    #[test]
    fn start_failures_are_explained() {
        let out = Command::new("false").output().expect("false runs");
        let msg = explain_start_failure(
            Path::new("/d/data"),
            Path::new("/d/run"),
            "FATAL:  lock file \"postmaster.pid\" already exists",
            &out,
        );
        assert!(msg.contains("stale lock"), "{msg}");
        let msg = explain_start_failure(
            Path::new("/d/data"),
            Path::new("/d/run"),
            "could not bind Unix address \"/d/run/.s.PGSQL.5432\": Address already in use",
            &out,
        );
        assert!(msg.contains("another PostgreSQL already uses the socket"), "{msg}");
    }
}
