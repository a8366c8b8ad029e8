//! Test harness for the DSQL connection path: a throwaway PostgreSQL per test with TLS on (certificate from a CA the
//! test generates, for a DSQL-style name), reachable only over `hostssl` + SCRAM on 127.0.0.1, stopped on drop.

#![allow(dead_code)] // each test binary uses a different subset

pub mod certs;
pub mod waking;

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aurora_dsql_mcp_server::auth::{TokenSettings, TokenSource};
use aurora_dsql_mcp_server::pool::dsql::DsqlPoolSettings;
use aws_credential_types::Credentials;

use certs::TestCa;

/// The name the server certificate is issued for; tests reach it through hostaddr 127.0.0.1.
pub const DSQL_NAME: &str = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
pub const REGION: &str = "us-east-1";
/// The fixed signing time and keys: the role passwords are the tokens computed under exactly these.
pub const FIXED_UNIX: u64 = 1_735_689_600;
pub const AKID: &str = "AKIDHARNESSEXAMPLE";
pub const SECRET: &str = "harness/secret+key";

pub fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(FIXED_UNIX)
}

pub fn token_settings(endpoint: &str, user: &str) -> TokenSettings {
    TokenSettings {
        endpoint: endpoint.to_string(),
        region: REGION.to_string(),
        user: user.to_string(),
        expires_in: Duration::from_secs(900),
        profile: None,
    }
}

/// A token source with the harness keys and the given clock.
pub fn source_at(endpoint: &str, user: &str, secret: &str, at: SystemTime) -> TokenSource {
    let creds = Credentials::new(AKID, secret, None, None, "harness");
    TokenSource::with_static(token_settings(endpoint, user), creds, Some(at))
}

/// The exact token the server under test will send for `user` (fixed keys and clock).
pub async fn expected_token(user: &str) -> String {
    source_at(DSQL_NAME, user, SECRET, fixed_time()).token().await.expect("token")
}

pub fn pool_settings(cluster: &PgCluster, endpoint_name: &str, user: &str) -> DsqlPoolSettings {
    let mut s = DsqlPoolSettings::new(token_settings(&format!("{endpoint_name}:{}", cluster.port), user));
    s.hostaddr = Some("127.0.0.1".to_string());
    s.ssl_root_cert = Some(cluster.ca_file.clone());
    s.pool_size = 2;
    s.connect_timeout = Duration::from_secs(10);
    s.wake_retry_budget = Duration::from_secs(2);
    s
}

/// A port nobody listens on right now (the listener is closed again before use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct PgCluster {
    pub port: u16,
    /// The CA that signed the server certificate.
    pub ca_file: PathBuf,
    /// A CA that did not.
    pub other_ca_file: PathBuf,
    pub server_cert: certs::ServerCert,
    bindir: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    as_root: bool,
    dir: tempfile::TempDir,
}

impl PgCluster {
    /// initdb + TLS + hostssl/SCRAM-only pg_hba, started on a free port. Panics with the server log on failure.
    pub fn start() -> Self {
        Self::start_with_hba(
            "local all postgres trust\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostnossl all all 0.0.0.0/0 reject\n",
        )
    }

    /// The same server, reachable over plain TCP and TLS from 127.0.0.1 without a password (tests that count or
    /// cut what crosses the network, and benchmarks).
    pub fn start_trusting() -> Self {
        Self::start_with_hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable` for a [`PgCluster::start_trusting`] server
    /// reached on `port` (its own, or a proxy's).
    pub fn plain_url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable")
    }

    /// A psql session kept open: each line written to its stdin runs when written (to hold locks across steps).
    pub fn session(&self) -> std::process::Child {
        let exe = self.bindir.join("psql");
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let sock = self.sock.display().to_string();
        let port = self.port.to_string();
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &sock, "-p", &port, "-U", "postgres", "-d", "postgres"])
            .current_dir("/tmp")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start psql")
    }

    fn start_with_hba(hba: &str) -> Self {
        let bindir = pg_bindir();
        let as_root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let dir = tempfile::Builder::new().prefix("dsql-pg-").tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let (data, sock) = (root.join("data"), root.join("sock"));
        std::fs::create_dir(&sock).unwrap();

        let ca = TestCa::new("dsql-test-ca");
        let other = TestCa::new("unrelated-test-ca");
        let server_cert = ca.issue_server(DSQL_NAME);
        let (ca_file, other_ca_file) = (root.join("ca.pem"), root.join("other-ca.pem"));
        std::fs::write(&ca_file, &ca.cert_pem).unwrap();
        std::fs::write(&other_ca_file, &other.cert_pem).unwrap();
        std::fs::write(root.join("server.crt"), &server_cert.cert_pem).unwrap();
        std::fs::write(root.join("server.key"), &server_cert.key_pem).unwrap();
        std::fs::set_permissions(root.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();

        let mut cluster = Self { port: 0, ca_file, other_ca_file, server_cert, bindir, data, sock, as_root, dir };
        cluster.chown_to_postgres();
        cluster.run_pg(
            "initdb",
            &["-D", &cluster.data_str(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"],
        );
        std::fs::write(cluster.data.join("pg_hba.conf"), hba).unwrap();
        cluster.start_on_free_port();
        cluster
    }

    fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    fn chown_to_postgres(&self) {
        if self.as_root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(self.dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown -R postgres {} failed", self.dir.path().display());
        }
    }

    /// Another test may grab the port between probing and binding, so a failed start retries on a new port.
    fn start_on_free_port(&mut self) {
        let root = self.dir.path().to_path_buf();
        for _ in 0..5 {
            self.port = free_port();
            let conf = format!(
                "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nfsync = off\n\
                 ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\npassword_encryption = 'scram-sha-256'\n\
                 log_connections = on\n",
                self.port,
                self.sock.display(),
                root.join("server.crt").display(),
                root.join("server.key").display(),
            );
            let base = std::fs::read_to_string(self.data.join("postgresql.conf")).unwrap();
            let base = base.split("\n# dsql-test\n").next().unwrap().to_string();
            std::fs::write(self.data.join("postgresql.conf"), format!("{base}\n# dsql-test\n{conf}")).unwrap();
            let log = root.join("pg.log").display().to_string();
            let out = self.pg_cmd("pg_ctl", &["-D", &self.data_str(), "-l", &log, "-w", "-t", "30", "-s", "start"]);
            if out.status.success() {
                return;
            }
        }
        panic!("PostgreSQL did not start:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pg.log")).unwrap_or_default()
    }

    fn pg_cmd(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bindir.join(tool);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir("/tmp").output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
    }

    fn run_pg(&self, tool: &str, args: &[&str]) -> String {
        let out = self.pg_cmd(tool, args);
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs SQL as the superuser over the unix socket (never over TCP, which only allows SCRAM over TLS).
    pub fn psql(&self, sql: &str) -> String {
        let port = self.port.to_string();
        let sock = self.sock.display().to_string();
        self.run_pg(
            "psql",
            &[
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &sock,
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ],
        )
    }

    /// Creates a login role whose password is exactly `password` (a token; tokens contain no quotes).
    pub fn create_role(&self, role: &str, password: &str) {
        assert!(!password.contains('\''), "tokens never contain quotes");
        self.psql(&format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.pg_cmd("pg_ctl", &["-D", &self.data_str(), "-m", "immediate", "-w", "-s", "stop"]);
    }
}

/// PostgreSQL's bindir: `pg_config --bindir`, then `initdb` on PATH, then the newest /usr/lib/postgresql/*/bin.
pub fn pg_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return dir;
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL binaries not found (pg_config, PATH, /usr/lib/postgresql/*/bin): apt-get install postgresql-15"
        )
    })
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
