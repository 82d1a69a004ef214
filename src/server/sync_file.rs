//! The file a replica receives its master's RDB into (`repl-diskless-load disabled`): the
//! engine's [`SyncFile`] outputs, done as Redis's `readSyncBulkPayload` does them. The file
//! stays open while the payload arrives, so each chunk costs one write, not an open.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::node::SyncFile;

/// The open temporary file, if a transfer to disk is in progress.
#[derive(Default)]
pub(crate) struct SyncFiles {
    open: Option<(String, File)>,
}

impl SyncFiles {
    /// Does `op` in `dir`; the warning Redis would log if it fails.
    pub(crate) fn apply(&mut self, dir: &str, op: SyncFile) -> Result<(), String> {
        let dir = Path::new(dir);
        match op {
            SyncFile::Create { name } => {
                let file = create_new(&dir.join(&name)).map_err(|e| {
                    format!(
                        "Opening the temp file needed for MASTER <-> REPLICA synchronization: {e}"
                    )
                })?;
                self.open = Some((name, file));
            }
            SyncFile::Append { name, bytes } => {
                let file = self.file(&name);
                file.and_then(|f| f.write_all(&bytes).map_err(|e| e.to_string()))
                    .map_err(|e| format!("Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {e}"))?;
            }
            SyncFile::Install { name, to } => {
                if let Some((_, file)) = self.open.take().filter(|(n, _)| *n == name) {
                    file.sync_all().map_err(|e| format!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {e}"))?;
                }
                let to_path = dir.join(&to);
                std::fs::rename(dir.join(&name), &to_path).map_err(|e| {
                    format!("Failed trying to rename the temp DB into {to} in MASTER <-> REPLICA synchronization: {e}")
                })?;
                // fsyncFileDir: the rename is made durable.
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
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

    fn file(&mut self, name: &str) -> Result<&mut File, String> {
        match self.open.as_mut() {
            Some((n, f)) if n == name => Ok(f),
            _ => Err("Bad file descriptor".into()),
        }
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
