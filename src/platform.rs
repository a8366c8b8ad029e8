//! What differs between operating systems, in one place: who we run as, file ownership and privacy, running a child
//! as another user, the signals that stop the server, and whether local mode (the sandbox) exists on this platform.
//! Everything else in the crate is portable; a `cfg(unix)` outside this file is a bug to move here.
//!
//! Local mode needs a unix socket (the sandbox listens on no TCP port, so no other local user can reach it) and
//! unix ownership (PostgreSQL refuses to run as root, so root hands the directory to `postgres`). On Windows neither
//! exists, so local mode is refused with a message naming what to use instead (see [`LOCAL_MODE_UNAVAILABLE`]).

use std::path::Path;
use std::process::Command;

/// Why local mode cannot run on this platform, with what to use instead; `None` where it can.
#[cfg(unix)]
pub const LOCAL_MODE_UNAVAILABLE: Option<&str> = None;
/// Why local mode cannot run on this platform, with what to use instead.
#[cfg(not(unix))]
pub const LOCAL_MODE_UNAVAILABLE: Option<&str> = Some(
    "local mode (--local) is not available on Windows yet: its private PostgreSQL listens only on a unix socket, \
     which Windows' PostgreSQL does not offer. Use --database-url=postgres://USER:PASSWORD@127.0.0.1:5432/DB to point \
     the server at a PostgreSQL you run yourself (DSQL's rules are emulated there too), or --cluster-endpoint for \
     Aurora DSQL. Local mode works on Linux and macOS, and under WSL.",
);

/// Refuse local mode, with [`LOCAL_MODE_UNAVAILABLE`]'s message, where the platform cannot run it.
pub fn local_mode_available() -> Result<(), String> {
    match LOCAL_MODE_UNAVAILABLE {
        None => Ok(()),
        Some(why) => Err(why.to_string()),
    }
}

/// Whether this process runs as root (PostgreSQL refuses to). Never on Windows.
pub fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// uid and gid of the `postgres` system user, which runs PostgreSQL when we are root.
#[cfg(unix)]
pub fn postgres_user() -> Result<(u32, u32), String> {
    let name = std::ffi::CString::new("postgres").expect("static name");
    // SAFETY: getpwnam reads a NUL-terminated name and returns a pointer to static storage or null; we copy the two
    // integers out immediately, before any other call could overwrite that storage.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("running as root, PostgreSQL must run as another user, but there is no `postgres` user. \
                    Create it (`useradd --system postgres`), install PostgreSQL from your distribution (it creates \
                    the user), or run the server as a normal user."
            .into());
    }
    // SAFETY: pw was checked for null above.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// There is no `postgres` system user to run PostgreSQL as on this platform.
#[cfg(not(unix))]
pub fn postgres_user() -> Result<(u32, u32), String> {
    Err("there are no unix users on this platform".into())
}

/// Make a directory readable by its owner only (mode 0700).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "unix permissions do not exist on this platform"))
    }
}

/// Open `path` for appending, creating it readable and writable by its owner only (mode 0600 on unix, whatever
/// the umask; on Windows a new file takes its directory's access rules). An existing file keeps its mode.
pub fn open_private_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The mode of a file others than its owner may read or write (unix: any group or other bit); `None` when they
/// may not, or where there are no such bits (Windows: access is the directory's ACLs, not checked here).
pub fn open_to_others(meta: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Give a file or directory to the user and group `owner` (uid, gid).
pub fn give_to(path: &Path, owner: (u32, u32)) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, owner);
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "unix ownership does not exist on this platform"))
    }
}

/// Make `cmd` run as the user and group `owner` (uid, gid).
pub fn run_as(cmd: &mut Command, owner: (u32, u32)) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.uid(owner.0).gid(owner.1);
    }
    #[cfg(not(unix))]
    {
        // Unreachable: `owner` comes from `postgres_user`, which fails here, and local mode is refused first.
        let _ = (cmd, owner);
    }
}

/// Point `cfg` at the unix socket directory `dir`.
pub fn connect_via_socket_dir(cfg: &mut tokio_postgres::Config, dir: &Path) {
    #[cfg(unix)]
    {
        cfg.host_path(dir);
    }
    #[cfg(not(unix))]
    {
        // Unreachable: local mode is refused before a sandbox exists (see LOCAL_MODE_UNAVAILABLE).
        let _ = (cfg, dir);
    }
}

/// A connection's host as a person reads it: the name or address, or the socket directory (unix only).
pub fn describe_host(host: &tokio_postgres::config::Host) -> String {
    match host {
        tokio_postgres::config::Host::Tcp(name) => name.clone(),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(dir) => dir.display().to_string(),
    }
}

/// Resolve when the user or the system asks the server to stop: Ctrl-C everywhere, SIGTERM on unix; on Windows also
/// closing the console, logging off and shutting down (the server then has a few seconds to leave cleanly).
pub async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_close, ctrl_shutdown};
        let (Ok(mut close), Ok(mut shutdown)) = (ctrl_close(), ctrl_shutdown()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = close.recv() => {}
            _ = shutdown.recv() => {}
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether a file's permissions let users other than its owner read it (a secret file should not). Always false
/// where permissions are not Unix modes.
pub fn readable_by_others(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o044 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn local_mode_is_available_on_unix() {
        assert_eq!(local_mode_available(), Ok(()));
    }

    #[cfg(not(unix))]
    #[test]
    fn local_mode_refusal_names_what_to_use_instead() {
        let why = local_mode_available().expect_err("refused");
        assert!(why.contains("--database-url") && why.contains("--cluster-endpoint"), "{why}");
    }
}
