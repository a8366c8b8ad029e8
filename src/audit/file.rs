//! The audit log's file: opened once at startup, append-only, created private (0600), refused when others may
//! read or write it; each line written whole, under a lock, in one `write` to the kernel, so a crash of the server
//! loses at most the call in flight and two calls' lines never interleave. One `Log` per file in the process (two
//! clusters naming the same file share it).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::{Call, Given, Line};

/// An open audit log.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: Mutex<File>,
    /// The last write failed (cleared by the next one that succeeds).
    broken: AtomicBool,
    /// `--audit-required`: refuse calls while the last write failed.
    required: AtomicBool,
}

impl Log {
    /// Opens (creating it, mode 0600) the audit log at `path` for appending, or the one this process already has
    /// open there. Refused, with what to do, when it cannot be opened, is not a regular file, or others than its
    /// owner may read or write it.
    pub fn open(path: &Path, required: bool) -> Result<Arc<Log>, String> {
        let fail = |why: String| format!("--audit-log {}: {why}", path.display());
        let file = crate::platform::open_private_append(path).map_err(|e| {
            fail(format!("cannot open it for appending ({e}); create its directory or choose another file"))
        })?;
        let meta = file.metadata().map_err(|e| fail(format!("cannot read what it is ({e})")))?;
        if !meta.is_file() {
            return Err(fail("is not a regular file; choose a file path".into()));
        }
        if let Some(mode) = crate::platform::open_to_others(&meta) {
            return Err(fail(format!(
                "others than its owner may read or write it (mode {mode:04o}); an audit log shows what ran where, so \
                 it must be private: run `chmod 600 {}` or choose another file",
                path.display()
            )));
        }
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut open = opened().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = open.get(&key).and_then(Weak::upgrade) {
            log.required.fetch_or(required, Ordering::Relaxed);
            return Ok(log);
        }
        let log = Arc::new(Log {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            broken: AtomicBool::new(false),
            required: AtomicBool::new(required),
        });
        open.insert(key, Arc::downgrade(&log));
        Ok(log)
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts recording a call of `tool` on `cluster` as `role`, carrying `statements`.
    pub fn begin(self: &Arc<Self>, tool: &str, cluster: &str, role: Option<String>, statements: &[Given]) -> Call {
        Call {
            log: self.clone(),
            started: std::time::Instant::now(),
            line: Line::new(tool, cluster, role, statements),
            note: Default::default(),
        }
    }

    /// Whether calls are refused now: `--audit-required` and the last line could not be written.
    pub(super) fn refuses_calls(&self) -> bool {
        self.required.load(Ordering::Relaxed) && self.broken.load(Ordering::Relaxed)
    }

    /// Appends `line`. A failure is said on stderr (never on stdout, never failing the call that already ran).
    pub(super) fn write(&self, line: &Line) {
        let mut text = match serde_json::to_string(line) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!("audit log {}: cannot encode a line ({e})", self.path.display());
                self.broken.store(true, Ordering::Relaxed);
                return;
            }
        };
        text.push('\n');
        // One write_all of the whole line under the lock: lines never interleave, and a File has no buffer of its
        // own, so once it returns the line is the kernel's (it survives a crash of this process). No fsync: see
        // docs/audit-log.md.
        let written = self.file.lock().unwrap_or_else(|e| e.into_inner()).write_all(text.as_bytes());
        match written {
            Ok(()) => {
                if self.broken.swap(false, Ordering::Relaxed) {
                    tracing::warn!("audit log {}: writable again", self.path.display());
                }
            }
            Err(e) => {
                self.broken.store(true, Ordering::Relaxed);
                tracing::error!(
                    tool = %line.tool,
                    "audit log {}: could not write this call's line ({e}){}",
                    self.path.display(),
                    if self.required.load(Ordering::Relaxed) {
                        "; --audit-required: tool calls are refused until a line can be written"
                    } else {
                        ""
                    }
                );
            }
        }
    }
}

fn opened() -> &'static Mutex<HashMap<PathBuf, Weak<Log>>> {
    static OPENED: OnceLock<Mutex<HashMap<PathBuf, Weak<Log>>>> = OnceLock::new();
    OPENED.get_or_init(Default::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_is_one_log_and_lines_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let a = Log::open(&path, false).unwrap();
        let b = Log::open(&path, true).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same file is opened once per process");
        for tool in ["one", "two"] {
            a.begin(tool, "default", None, &[]).end(super::super::Ending::success(false, None), None);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let tools: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["tool"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(tools, ["one", "two"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_private_and_a_shared_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.jsonl");
        drop(Log::open(&path, false).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let shared = dir.path().join("shared.jsonl");
        std::fs::write(&shared, "").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Log::open(&shared, false).unwrap_err();
        assert!(err.contains("mode 0644") && err.contains("chmod 600"), "{err}");
        assert!(Log::open(dir.path(), false).is_err(), "a directory is refused");
    }

    #[test]
    fn required_refuses_calls_while_the_last_line_was_lost_and_heals_on_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(&dir.path().join("required.jsonl"), true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let run = |log: &Arc<Log>| {
            let call = log.begin("readonly_query", "default", None, &[]);
            let ran = std::cell::Cell::new(false);
            let result: Result<(), String> = rt.block_on(super::super::scope(Some(call.scope()), async {
                ran.set(true);
                Ok(())
            }));
            let ending = match &result {
                Ok(()) => super::super::Ending::success(false, None),
                Err(_) => super::super::Ending::error("failed"),
            };
            call.end(ending, None);
            (ran.get(), result)
        };
        assert!(run(&log).0, "a writable log lets calls run");
        log.broken.store(true, Ordering::Relaxed);
        let (ran, result) = run(&log);
        assert!(!ran, "a call does not run while the log cannot be written");
        assert!(result.unwrap_err().contains("--audit-required"));
        assert!(run(&log).0, "the refused call's own line was written, so calls run again");
        let text = std::fs::read_to_string(log.path()).unwrap();
        let checks: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["check"].clone()).collect();
        assert_eq!(checks, [serde_json::Value::Null, "audit_log".into(), serde_json::Value::Null]);
    }
}
