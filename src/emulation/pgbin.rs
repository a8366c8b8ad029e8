//! Finding PostgreSQL's server binaries (`initdb`, `pg_ctl`, `postgres`) on this machine, newest version first.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory holding PostgreSQL's server programs, and the major version they report.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    /// The directory holding `initdb`, `pg_ctl` and `postgres`.
    pub bindir: PathBuf,
    /// The major version the programs report, e.g. 15.
    pub major: u32,
}

impl PgBinaries {
    /// The path of server program `name` (e.g. `"pg_ctl"`) in [`bindir`](Self::bindir); not checked to exist.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// Search, in order: `AURORA_DSQL_PG_BINDIR`, `PATH`, `pg_config --bindir`, `/usr/lib/postgresql/*/bin`,
    /// `/usr/pgsql-*/bin`, Homebrew and Postgres.app locations. The newest major version wins among the
    /// well-known locations; an explicit directory or PATH wins over them.
    pub fn find() -> Result<PgBinaries, String> {
        let mut tried = Vec::new();
        if let Ok(dir) = std::env::var("AURORA_DSQL_PG_BINDIR") {
            return probe(Path::new(&dir)).ok_or_else(|| {
                format!(
                    "AURORA_DSQL_PG_BINDIR={dir} does not contain PostgreSQL's server programs (initdb, pg_ctl, \
                     postgres). Point it at the directory that holds them, or unset it to search the usual places; \
                     to install them on this machine: {}",
                    install_hint()
                )
            });
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                if let Some(found) = probe(&dir) {
                    return Ok(found);
                }
            }
            tried.push("PATH".to_string());
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if let Some(found) = probe(Path::new(&dir)) {
                return Ok(found);
            }
            tried.push(format!("pg_config --bindir ({dir})"));
        }
        let mut candidates: Vec<PgBinaries> = Vec::new();
        for pattern_root in ["/usr/lib/postgresql", "/usr/local/opt", "/opt/homebrew/opt", "/usr"] {
            let Ok(entries) = std::fs::read_dir(pattern_root) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let interesting = pattern_root == "/usr/lib/postgresql"
                    || name.starts_with("postgresql")
                    || name.starts_with("pgsql-");
                if interesting && let Some(found) = probe(&entry.path().join("bin")) {
                    candidates.push(found);
                }
            }
        }
        for app in ["/Applications/Postgres.app/Contents/Versions/latest/bin"] {
            if let Some(found) = probe(Path::new(app)) {
                candidates.push(found);
            }
        }
        tried.push("/usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, Homebrew, Postgres.app".to_string());
        candidates.sort_by_key(|c| std::cmp::Reverse(c.major));
        candidates.into_iter().next().ok_or_else(|| {
            format!(
                "local mode needs PostgreSQL's server programs (initdb, pg_ctl, postgres, version 15 or newer) and \
                 they were not found (looked in: {}). Install them on this machine: {}. If they are installed \
                 somewhere else, set AURORA_DSQL_PG_BINDIR to the directory that holds them.",
                tried.join("; "),
                install_hint()
            )
        })
    }
}

/// The one command that installs PostgreSQL's server programs on the platform this process runs on.
pub fn install_hint() -> String {
    let os_release = std::fs::read_to_string("/etc/os-release").ok();
    install_hint_for(std::env::consts::OS, os_release.as_deref(), super::sandbox::running_as_root())
}

/// [`install_hint`] for a given `std::env::consts::OS`, `/etc/os-release` text and privilege.
pub fn install_hint_for(os: &str, os_release: Option<&str>, root: bool) -> String {
    let sudo = if root { "" } else { "sudo " };
    match os {
        "macos" => {
            "`brew install postgresql@17` (Homebrew; the programs land in $(brew --prefix)/opt/postgresql@17/bin, \
                    which is searched)"
                .to_string()
        }
        "windows" => "run the EDB installer from https://www.enterprisedb.com/downloads/postgres-postgresql-downloads \
                      (or `winget install PostgreSQL.PostgreSQL.17`), then set AURORA_DSQL_PG_BINDIR to \
                      C:\\Program Files\\PostgreSQL\\17\\bin"
            .to_string(),
        "linux" => {
            let field = |key: &str| {
                os_release
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                    .map(|v| v.trim_matches('"').to_ascii_lowercase())
                    .unwrap_or_default()
            };
            let family = format!("{} {}", field("ID"), field("ID_LIKE"));
            let has = |name: &str| family.split_whitespace().any(|w| w == name);
            let (command, distro) = if has("debian") || has("ubuntu") {
                ("apt-get install -y postgresql", "Debian/Ubuntu")
            } else if has("fedora") || has("rhel") || has("centos") {
                ("dnf install -y postgresql-server", "Fedora/RHEL")
            } else if has("suse") || has("opensuse") {
                ("zypper install -y postgresql-server", "SUSE")
            } else if has("arch") {
                ("pacman -S --noconfirm postgresql", "Arch")
            } else if has("alpine") {
                ("apk add postgresql", "Alpine")
            } else {
                return format!(
                    "install your distribution's PostgreSQL server package (`{sudo}apt-get install -y postgresql` on \
                     Debian/Ubuntu, `{sudo}dnf install -y postgresql-server` on Fedora/RHEL)"
                );
            };
            format!("`{sudo}{command}` ({distro})")
        }
        other => format!("install PostgreSQL's server package for {other}"),
    }
}

fn probe(dir: &Path) -> Option<PgBinaries> {
    let all_there = ["initdb", "pg_ctl", "postgres"].iter().all(|p| dir.join(p).is_file());
    if !all_there {
        return None;
    }
    let out = Command::new(dir.join("pg_ctl")).arg("--version").output().ok()?;
    // "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2)?;
    let major = version.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some(PgBinaries { bindir: dir.to_path_buf(), major })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_hint_names_the_platform_command() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n";
        assert_eq!(
            install_hint_for("linux", Some(debian), false),
            "`sudo apt-get install -y postgresql` (Debian/Ubuntu)"
        );
        assert_eq!(install_hint_for("linux", Some(debian), true), "`apt-get install -y postgresql` (Debian/Ubuntu)");
        let ubuntu = "ID=ubuntu\nID_LIKE=debian\n";
        assert!(install_hint_for("linux", Some(ubuntu), false).contains("apt-get install -y postgresql"));
        let rocky = "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n";
        assert!(install_hint_for("linux", Some(rocky), false).contains("sudo dnf install -y postgresql-server"));
        assert!(install_hint_for("linux", Some("ID=fedora\n"), false).contains("dnf install"));
        assert!(install_hint_for("linux", Some("ID=alpine\n"), true).contains("`apk add postgresql`"));
        assert!(install_hint_for("linux", None, false).contains("apt-get"));
        assert!(install_hint_for("macos", None, false).contains("brew install postgresql@17"));
        assert!(install_hint_for("windows", None, false).contains("EDB installer"));
    }

    #[test]
    fn a_directory_without_the_programs_is_not_a_match() {
        let dir = std::env::temp_dir();
        assert!(probe(&dir).is_none());
    }
}
