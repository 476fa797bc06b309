//! The per-blob download lock, `C/.locks/{repo folder}/{etag}.lock` (hub.md §4.3).
//!
//! It is an exclusive advisory OS lock (`flock` on Unix, `LockFileEx` on Windows), the primitive
//! Python's `filelock` uses, so hfkit and Python processes exclude each other. The lock file stays
//! after release, empty, mode `0664`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A held blob lock; released on drop.
#[derive(Debug)]
pub(crate) struct BlobLock {
    file: Option<File>,
    path: PathBuf,
}

impl BlobLock {
    /// Waits for the lock (forever, or up to `timeout`), logging every 10 s while waiting. On a file
    /// system without working locks, returns a lock that is not exclusive (callers then write to a
    /// unique temporary file).
    pub(crate) async fn acquire(path: &Path, timeout: Option<Duration>) -> Result<Self> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let file = open_lock_file(path)?;
        let start = Instant::now();
        let mut last_log = start;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(BlobLock {
                        file: Some(file),
                        path: path.to_owned(),
                    });
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                    tracing::warn!(
                        "file locks are not supported at {}; downloading without a lock",
                        path.display()
                    );
                    return Ok(BlobLock {
                        file: None,
                        path: path.to_owned(),
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(format!("locking {}", path.display()), e));
                }
            }
            let waited = start.elapsed();
            if let Some(t) = timeout
                && waited >= t
            {
                return Err(Error::CacheLockTimeout {
                    path: path.to_owned(),
                    waited,
                });
            }
            if last_log.elapsed() >= Duration::from_secs(10) {
                tracing::info!(
                    "still waiting for {} ({:.0} s): another process is downloading the same file",
                    path.display(),
                    waited.as_secs_f64()
                );
                last_log = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether this process holds the lock exclusively.
    pub(crate) fn is_exclusive(&self) -> bool {
        self.file.is_some()
    }
}

impl Drop for BlobLock {
    fn drop(&mut self) {
        if let Some(f) = self.file.take()
            && let Err(e) = f.unlock()
        {
            tracing::debug!("unlocking {}: {e}", self.path.display());
        }
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    let existed = path.exists();
    let file = opts
        .open(path)
        .map_err(|e| Error::io(format!("opening the lock file {}", path.display()), e))?;
    #[cfg(unix)]
    if !existed {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o664));
    }
    #[cfg(not(unix))]
    let _ = existed;
    Ok(file)
}
