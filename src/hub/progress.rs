//! Progress reporting. The library prints nothing; callers that want progress (the CLI renders it
//! with indicatif) implement [`Progress`] and pass it in the download options.

use std::sync::Arc;

/// Receives progress events of downloads and uploads. Implementations must be cheap and
/// thread-safe; the methods are called from the tasks doing the transfers.
pub trait Progress: Send + Sync {
    /// A file transfer starts: `path` in the repository, `total` bytes if known, `resumed_from`
    /// bytes already present from an earlier attempt.
    fn start(&self, path: &str, total: Option<u64>, resumed_from: u64) {
        let _ = (path, total, resumed_from);
    }
    /// `bytes` more bytes of `path` arrived.
    fn advance(&self, path: &str, bytes: u64) {
        let _ = (path, bytes);
    }
    /// The transfer of `path` ended (successfully or not).
    fn finish(&self, path: &str) {
        let _ = path;
    }
    /// A snapshot will fetch `files` files (called once, before the first `start`).
    fn files(&self, files: usize) {
        let _ = files;
    }
    /// An upload enters a stage: `hashing` (events name the file being read), `uploading` (LFS
    /// transfers), then `committing`.
    fn stage(&self, stage: &str) {
        let _ = stage;
    }
}

/// A progress sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Shared handle to a progress sink.
pub type ProgressHandle = Arc<dyn Progress>;
