//! Commits (hub.md §6.2–§6.6): operations, preupload, LFS uploads and the NDJSON commit.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::hub::commit::{CommitOperation, CommitOptions};
//! let hub = hfkit::HubClient::new()?;
//! let info = hub
//!     .model("me/my-model")
//!     .create_commit(CommitOptions::new(
//!         "Add weights, drop the old ones",
//!         vec![
//!             CommitOperation::add_file("model.safetensors", "./out/model.safetensors"),
//!             CommitOperation::add_bytes("notes.txt", b"trained on friday\n".to_vec()),
//!             CommitOperation::delete("old/"),
//!         ],
//!     ))
//!     .await?;
//! println!("{}", info.commit_url);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncRead;

use super::ApiRepo;
use super::commit_flow::Limits;
use super::progress::ProgressHandle;
use crate::error::{Error, Result};

/// Where the bytes of an addition come from.
#[derive(Debug, Clone)]
pub enum AddSource {
    /// A local file, read (streamed) when needed.
    Path(PathBuf),
    /// Bytes in memory.
    Bytes(Bytes),
    /// A reader of a known size, read once.
    Reader(SizedReader),
}

impl AddSource {
    /// A reader of exactly `size` bytes. It is read once, while it is hashed: its bytes go to
    /// a temporary file under `HF_HOME/spool` (removed when the commit ends), never all into
    /// memory. A reader that ends early or has more bytes fails the commit before any upload.
    pub fn reader(reader: impl AsyncRead + Send + Unpin + 'static, size: u64) -> Self {
        AddSource::Reader(SizedReader {
            size,
            inner: Arc::new(tokio::sync::Mutex::new(Some(Box::new(reader)))),
        })
    }
}

/// The boxed reader of [`AddSource::Reader`].
pub(crate) type BoxedReader = Box<dyn AsyncRead + Send + Unpin>;

/// A reader with a declared size (see [`AddSource::reader`]). Clones share the reader, which can
/// be consumed once.
#[derive(Clone)]
pub struct SizedReader {
    size: u64,
    inner: Arc<tokio::sync::Mutex<Option<BoxedReader>>>,
}

impl SizedReader {
    /// The declared size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes the reader; `None` once it was consumed.
    pub(crate) async fn take(&self) -> Option<BoxedReader> {
        self.inner.lock().await.take()
    }
}

impl std::fmt::Debug for SizedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SizedReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl From<PathBuf> for AddSource {
    fn from(p: PathBuf) -> Self {
        AddSource::Path(p)
    }
}

impl From<&Path> for AddSource {
    fn from(p: &Path) -> Self {
        AddSource::Path(p.to_path_buf())
    }
}

impl From<Vec<u8>> for AddSource {
    fn from(b: Vec<u8>) -> Self {
        AddSource::Bytes(Bytes::from(b))
    }
}

impl From<Bytes> for AddSource {
    fn from(b: Bytes) -> Self {
        AddSource::Bytes(b)
    }
}

/// One change of a commit.
#[derive(Debug, Clone)]
pub enum CommitOperation {
    /// Adds or replaces a file.
    Add {
        /// Destination in the repository.
        path_in_repo: String,
        /// The content.
        source: AddSource,
    },
    /// Deletes a file, or a folder and everything below it.
    Delete {
        /// The path (a folder may end with `/`).
        path_in_repo: String,
        /// Whether `path_in_repo` is a folder.
        is_folder: bool,
    },
    /// Copies a file of the same repository (at `src_revision`, default: the commit's revision).
    Copy {
        /// Source path.
        src: String,
        /// Destination path.
        dst: String,
        /// Revision of the source.
        src_revision: Option<String>,
    },
}

impl CommitOperation {
    /// Adds the local file `local` as `path_in_repo`.
    pub fn add_file(path_in_repo: impl Into<String>, local: impl Into<PathBuf>) -> Self {
        CommitOperation::Add {
            path_in_repo: path_in_repo.into(),
            source: AddSource::Path(local.into()),
        }
    }

    /// Adds `bytes` as `path_in_repo`.
    pub fn add_bytes(path_in_repo: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        CommitOperation::Add {
            path_in_repo: path_in_repo.into(),
            source: AddSource::Bytes(bytes.into()),
        }
    }

    /// Adds `size` bytes read from `reader` as `path_in_repo` (see [`AddSource::reader`]).
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::hub::commit::{CommitOperation, CommitOptions};
    /// let file = tokio::fs::File::open("big.bin").await.map_err(|e| hfkit::Error::io("open", e))?;
    /// let size = file.metadata().await.map_err(|e| hfkit::Error::io("stat", e))?.len();
    /// let hub = hfkit::HubClient::new()?;
    /// hub.model("me/my-model")
    ///     .create_commit(CommitOptions::new(
    ///         "Add big.bin",
    ///         vec![CommitOperation::add_reader("big.bin", file, size)],
    ///     ))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn add_reader(
        path_in_repo: impl Into<String>,
        reader: impl AsyncRead + Send + Unpin + 'static,
        size: u64,
    ) -> Self {
        CommitOperation::Add {
            path_in_repo: path_in_repo.into(),
            source: AddSource::reader(reader, size),
        }
    }

    /// Deletes `path_in_repo`: a folder when it ends with `/`, else a file.
    pub fn delete(path_in_repo: impl Into<String>) -> Self {
        let path_in_repo = path_in_repo.into();
        let is_folder = path_in_repo.ends_with('/');
        CommitOperation::Delete {
            path_in_repo,
            is_folder,
        }
    }

    /// Copies `src` to `dst` within the repository.
    pub fn copy(src: impl Into<String>, dst: impl Into<String>) -> Self {
        CommitOperation::Copy {
            src: src.into(),
            dst: dst.into(),
            src_revision: None,
        }
    }
}

/// What to commit: see [`ApiRepo::create_commit`].
#[derive(Clone, Default)]
pub struct CommitOptions {
    /// The operations, applied in order.
    pub operations: Vec<CommitOperation>,
    /// The commit title (required).
    pub message: String,
    /// The commit description (may be empty).
    pub description: String,
    /// The commit the branch head must be (5–40 hex); a moved head is a `CommitConflict`.
    pub parent_commit: Option<String>,
    /// Open a pull request from the revision instead of committing to it.
    pub create_pr: bool,
    /// Receives hashing and transfer progress events (stages `hashing`, `uploading`,
    /// `committing`).
    pub progress: Option<ProgressHandle>,
}

impl std::fmt::Debug for CommitOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitOptions")
            .field("operations", &self.operations)
            .field("message", &self.message)
            .field("description", &self.description)
            .field("parent_commit", &self.parent_commit)
            .field("create_pr", &self.create_pr)
            .finish_non_exhaustive()
    }
}

impl CommitOptions {
    /// A commit titled `message` of `operations`.
    pub fn new(message: impl Into<String>, operations: Vec<CommitOperation>) -> Self {
        CommitOptions {
            operations,
            message: message.into(),
            ..Default::default()
        }
    }

    /// The description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// The expected parent commit.
    pub fn parent_commit(mut self, c: impl Into<String>) -> Self {
        self.parent_commit = Some(c.into());
        self
    }

    /// Open a pull request.
    pub fn create_pr(mut self, yes: bool) -> Self {
        self.create_pr = yes;
        self
    }

    /// Reports progress to `p`.
    pub fn progress(mut self, p: ProgressHandle) -> Self {
        self.progress = Some(p);
        self
    }
}

/// The result of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// `{E}/{P}{repo}/commit/{oid}`.
    pub commit_url: String,
    /// The commit id.
    pub oid: String,
    /// The pull request's URL (with `create_pr`).
    pub pr_url: Option<String>,
    /// The pull request's number (with `create_pr`): its ref is `refs/pr/{n}`.
    pub pr_num: Option<u64>,
}

impl CommitInfo {
    /// The revision to read the commit's files at: `refs/pr/{n}` for a pull request, else the
    /// commit id.
    pub fn revision(&self) -> String {
        match self.pr_num {
            Some(n) => format!("refs/pr/{n}"),
            None => self.oid.clone(),
        }
    }
}

/// Normalises a path in the repository (hub.md §6.2): one leading `/` then `./` stripped; `.`,
/// `..`, `.git` and `.cache` segments and empty paths refused. `folder` allows one trailing `/`.
pub fn normalize_path_in_repo(path: &str, folder: bool) -> Result<String> {
    let mut p = path.strip_prefix('/').unwrap_or(path);
    p = p.strip_prefix("./").unwrap_or(p);
    let bad = |why: &str| Error::InvalidInput(format!("invalid path in repo {path:?}: {why}"));
    let body = if folder {
        p.strip_suffix('/').unwrap_or(p)
    } else {
        p
    };
    if body.is_empty() {
        return Err(bad("empty"));
    }
    if body.contains('\\') || body.contains('\0') {
        return Err(bad("backslashes and NUL are not allowed"));
    }
    for seg in body.split('/') {
        match seg {
            "" => return Err(bad("empty segment")),
            "." | ".." => return Err(bad("`.` and `..` segments are not allowed")),
            ".git" | ".cache" => {
                return Err(bad("`.git` and `.cache` folders cannot be committed"));
            }
            _ => {}
        }
    }
    Ok(p.to_owned())
}

/// The sha256 of a local file as lowercase hex (its LFS oid), streamed in bounded reads by the
/// code uploads hash with. A file that changes while it is read is refused (`InvalidInput`).
///
/// ```no_run
/// let oid = hfkit::hub::commit::sha256_file("model.safetensors")?;
/// println!("{oid}");
/// # Ok::<(), hfkit::Error>(())
/// ```
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let stamp = super::digest::Stamp::of(path)?;
    let want = super::digest::Want {
        sha1: false,
        sha256: true,
    };
    let hashed = super::digest::hash_path(path, &stamp, want, None, &path.display().to_string())?;
    hashed
        .sha256
        .ok_or_else(|| Error::InvalidInput("no sha256 was computed".into()))
}

impl ApiRepo {
    /// Commits `opts.operations` to this handle's revision (a branch, or `refs/pr/N`): preupload,
    /// LFS uploads of the new large files, then one NDJSON commit (hub.md §6.2). Input is checked
    /// before any request. Additions whose content is already at their path are left out; when
    /// nothing is left, no commit is made and the current head is returned. A local file that
    /// changes (size or modification time) between hashing and the commit is refused with
    /// `InvalidInput` and nothing is committed.
    pub async fn create_commit(&self, opts: CommitOptions) -> Result<CommitInfo> {
        self.run_commit(opts, Limits::single()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert_eq!(
            normalize_path_in_repo("/a/b.txt", false).unwrap(),
            "a/b.txt"
        );
        assert_eq!(normalize_path_in_repo("./a.txt", false).unwrap(), "a.txt");
        assert_eq!(normalize_path_in_repo("/./a.txt", false).unwrap(), "a.txt");
        assert_eq!(normalize_path_in_repo("logs/", true).unwrap(), "logs/");
        for bad in [
            "",
            "/",
            "../a",
            "a/../b",
            "a/./b",
            ".",
            ".git/config",
            "x/.cache/y",
            "a//b",
            "a/",
        ] {
            assert!(
                matches!(
                    normalize_path_in_repo(bad, false),
                    Err(Error::InvalidInput(_))
                ),
                "{bad:?}"
            );
        }
    }
}
