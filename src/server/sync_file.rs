//! The file a replica receives its master's RDB into (`repl-diskless-load disabled`): the
//! engine's [`SyncFile`] outputs, done as Redis's `syncWithMaster` and `readSyncBulkPayload`
//! do them. The file stays open while the payload arrives, so each chunk costs one write,
//! not an open. A failure is told to the engine ([`Input::SyncFileFailed`]), which logs it
//! as Redis does and cancels the sync; later operations on that file are skipped (the
//! engine may have queued them before it heard of the failure), so a partial file is never
//! renamed over `dbfilename`.
//!
//! [`Input::SyncFileFailed`]: crate::engine::node::Input::SyncFileFailed

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::node::{SyncFile, SyncFileStep};

/// `syncWithMaster` tries to open the temporary file this many times, a second apart.
const OPEN_TRIES: u32 = 5;

/// The open temporary file, if a transfer to disk is in progress.
#[derive(Default)]
pub(crate) struct SyncFiles {
    open: Option<(String, File)>,
    /// The file whose last operation failed: the rest of its operations are skipped.
    failed: Option<String>,
}

/// An operation that failed: the step and `strerror(errno)`.
pub(crate) type Failure = (String, SyncFileStep, String);

impl SyncFiles {
    /// Does `op` in `dir`; what failed, for [`Input::SyncFileFailed`].
    ///
    /// [`Input::SyncFileFailed`]: crate::engine::node::Input::SyncFileFailed
    pub(crate) fn apply(&mut self, dir: &str, op: SyncFile) -> Result<(), Failure> {
        let dir = Path::new(dir);
        match op {
            SyncFile::Create { name } => {
                self.failed = None;
                // `while(maxtries--) { open; sleep(1); }`: Redis blocks meanwhile, and so
                // does this (the node is handed nothing until it returns).
                let mut tries = OPEN_TRIES;
                let file = loop {
                    match create_new(&dir.join(&name)) {
                        Ok(file) => break file,
                        Err(e) => {
                            std::thread::sleep(Duration::from_secs(1));
                            tries -= 1;
                            if tries == 0 {
                                return Err(self.fail(name, SyncFileStep::Open, &e));
                            }
                        }
                    }
                };
                self.open = Some((name, file));
            }
            SyncFile::Append { name, bytes } => {
                if self.failed.as_deref() == Some(name.as_str()) {
                    return Ok(());
                }
                let written = match self.open.as_mut() {
                    Some((n, f)) if *n == name => f.write_all(&bytes),
                    _ => Err(std::io::Error::from_raw_os_error(EBADF)),
                };
                if let Err(e) = written {
                    return Err(self.fail(name, SyncFileStep::Write, &e));
                }
            }
            SyncFile::Install { name, to } => {
                if self.failed.as_deref() == Some(name.as_str()) {
                    return Ok(());
                }
                if let Some((_, file)) = self.open.take().filter(|(n, _)| *n == name) {
                    if let Err(e) = file.sync_all() {
                        return Err(self.fail(name, SyncFileStep::Fsync, &e));
                    }
                }
                if let Err(e) = std::fs::rename(dir.join(&name), dir.join(&to)) {
                    return Err(self.fail(name, SyncFileStep::Rename, &e));
                }
                // fsyncFileDir: the rename is made durable (a directory that cannot be
                // opened or synced at all is no error, as there).
                if let Ok(d) = File::open(dir) {
                    if let Err(e) = d.sync_all() {
                        if !matches!(e.raw_os_error(), Some(EBADF | EINVAL)) {
                            return Err(self.fail(name, SyncFileStep::FsyncDir, &e));
                        }
                    }
                }
            }
            SyncFile::Remove { name } => {
                if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
                    self.open = None;
                }
                // bg_unlink: a file already gone is no error.
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
        Ok(())
    }

    /// Remembers that `name` failed (its file is closed) and says how.
    fn fail(&mut self, name: String, step: SyncFileStep, e: &std::io::Error) -> Failure {
        if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
            self.open = None;
        }
        self.failed = Some(name.clone());
        (name, step, strerror(e))
    }
}

/// `EBADF`: a write to a file that is not open.
const EBADF: i32 = 9;

/// `EINVAL`: a directory that cannot be synced (`fsyncFileDir` ignores it, as `EBADF`).
const EINVAL: i32 = 22;

/// `strerror(errno)`: the C library's text for an error, without the " (os error N)" Rust
/// appends ("No space left on device").
pub(crate) fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map(str::to_string)
            .unwrap_or(text),
        None => text,
    }
}

/// `open(O_CREAT|O_WRONLY|O_EXCL, 0644)`.
fn create_new(path: &PathBuf) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_is_the_c_text() {
        assert_eq!(
            strerror(&std::io::Error::from_raw_os_error(28)),
            "No space left on device"
        );
        assert_eq!(
            strerror(&std::io::Error::from_raw_os_error(2)),
            "No such file or directory"
        );
    }

    #[test]
    fn a_failed_write_is_reported_once_and_nothing_is_installed() {
        let dir = std::env::temp_dir().join(format!("replscope-syncfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dump.rdb"), b"good").unwrap();
        let d = dir.to_str().unwrap();
        let mut files = SyncFiles::default();
        let name = "temp-1.2.rdb".to_string();
        files
            .apply(d, SyncFile::Create { name: name.clone() })
            .unwrap();
        // The file is no longer open (as after a failed write): the write fails once...
        files.open = None;
        let append = || SyncFile::Append {
            name: name.clone(),
            bytes: b"part".to_vec(),
        };
        let err = files.apply(d, append()).unwrap_err();
        assert_eq!(err.1, SyncFileStep::Write);
        assert_eq!(err.2, "Bad file descriptor");
        // ...and what follows for that file is skipped: dump.rdb is not replaced.
        assert!(files.apply(d, append()).is_ok());
        let install = SyncFile::Install {
            name: name.clone(),
            to: "dump.rdb".into(),
        };
        assert!(files.apply(d, install).is_ok());
        assert_eq!(std::fs::read(dir.join("dump.rdb")).unwrap(), b"good");
        files.apply(d, SyncFile::Remove { name }).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
