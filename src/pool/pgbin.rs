//! Finding PostgreSQL's server binaries (`initdb`, `pg_ctl`, `postgres`) on this machine, newest version first.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory holding PostgreSQL's server programs, and the major version they report.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    pub bindir: PathBuf,
    pub major: u32,
}

impl PgBinaries {
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// Search, in order: `AURORA_DSQL_PG_BINDIR`, `PATH`, `pg_config --bindir`, `/usr/lib/postgresql/*/bin`,
    /// `/usr/pgsql-*/bin`, Homebrew and Postgres.app locations. The newest major version wins among the
    /// well-known locations; an explicit directory or PATH wins over them.
    pub fn find() -> Result<PgBinaries, String> {
        let mut tried = Vec::new();
        if let Ok(dir) = std::env::var("AURORA_DSQL_PG_BINDIR") {
            return probe(Path::new(&dir))
                .ok_or_else(|| format!("AURORA_DSQL_PG_BINDIR={dir} does not contain initdb, pg_ctl and postgres"));
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
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found (looked in: {}). \
                 Install PostgreSQL 15 or newer: `sudo apt-get install postgresql` (Debian/Ubuntu), \
                 `sudo dnf install postgresql-server` (Fedora/RHEL), `brew install postgresql@16` (macOS); \
                 or point AURORA_DSQL_PG_BINDIR at the directory holding them.",
                tried.join("; ")
            )
        })
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
    fn a_directory_without_the_programs_is_not_a_match() {
        let dir = std::env::temp_dir();
        assert!(probe(&dir).is_none());
    }
}
