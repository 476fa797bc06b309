//! The cache directory shared with Python `huggingface_hub`, byte for byte (hub.md §4).
//!
//! ```text
//! C/
//! |-- CACHEDIR.TAG
//! |-- .locks/models--org--name/{etag}.lock
//! `-- models--org--name/
//!     |-- blobs/{etag}                               one file per content
//!     |-- refs/main                                  40-hex commit, no newline
//!     |-- snapshots/{commit}/onnx/model.onnx         -> ../../../blobs/{etag}
//!     |-- .no_exist/{commit}/missing.txt             empty: "absent at this commit"
//!     `-- trees/{commit}.json
//! ```
//!
//! [`CacheRepo`] computes the paths of one repository and writes refs, pointers and `.no_exist`
//! markers; [`try_to_load_from_cache`] answers from the cache alone; [`scan_cache_dir`] reports
//! what the cache holds and [`CacheInfo::delete_revisions`] plans deletions.
//!
//! ```
//! use hfkit::Repo;
//! use hfkit::hub::cache::{CacheRepo, CachedFile, try_to_load_from_cache};
//! let dir = std::env::temp_dir().join(format!("hfkit-doc-cache-{}", std::process::id()));
//! let repo = Repo::model("org/name")?;
//! let cache = CacheRepo::new(&dir, &repo);
//! let commit = "2439f60ef33a0d46d85da5001d52aeda5b00ce9f";
//! cache.write_ref("main", commit)?;
//! cache.mark_missing(commit, "tokenizer.json")?;
//! assert_eq!(cache.resolve_commit("main").as_deref(), Some(commit));
//! assert!(matches!(
//!     try_to_load_from_cache(&dir, &repo, "tokenizer.json")?,
//!     CachedFile::KnownMissing
//! ));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), hfkit::Error>(())
//! ```

mod delete;
mod scan;
mod table;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::repo::{Repo, is_commit_id, validate_repo_path, validate_revision};

pub use delete::DeleteStrategy;
pub use scan::{CacheInfo, CachedFileInfo, CachedRepo, CachedRevision, scan_cache_dir};
pub use table::{format_size, format_timesince};

/// The content of `CACHEDIR.TAG` (the Cache Directory Tagging Standard), as Python writes it.
pub const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by huggingface_hub.\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n";

/// File names that operating systems drop into folders; never repos, refs or revisions.
pub(crate) const FILES_TO_IGNORE: [&str; 3] = [".DS_Store", "Thumbs.db", "desktop.ini"];

/// The paths of one repository in a cache directory, and the small writes the cache needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRepo {
    cache_dir: PathBuf,
    folder: String,
}

impl CacheRepo {
    /// The repository `repo` in the cache directory `cache_dir` (its revision is not used).
    pub fn new(cache_dir: impl Into<PathBuf>, repo: &Repo) -> Self {
        CacheRepo {
            cache_dir: cache_dir.into(),
            folder: repo.folder_name(),
        }
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// `C/models--org--name`.
    pub fn repo_dir(&self) -> PathBuf {
        self.cache_dir.join(&self.folder)
    }

    /// `C/R/blobs/{etag}`. The etag must have passed [`validate_etag`].
    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.repo_dir().join("blobs").join(etag)
    }

    /// `C/R/blobs/{etag}.incomplete`, the resumable temporary download of a blob.
    pub fn incomplete_path(&self, etag: &str) -> PathBuf {
        self.repo_dir()
            .join("blobs")
            .join(format!("{etag}.incomplete"))
    }

    /// `C/R/snapshots/{commit}`.
    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.repo_dir().join("snapshots").join(commit)
    }

    /// `C/R/snapshots/{commit}/{path}`, after checking `commit` is one path segment and `path` a
    /// safe repo-relative path ([`validate_repo_path`]).
    pub fn pointer_path(&self, commit: &str, path: &str) -> Result<PathBuf> {
        validate_segment("commit", commit)?;
        validate_repo_path(path)?;
        Ok(join_repo_path(self.snapshot_dir(commit), path))
    }

    /// `C/R/refs/{revision}`; a `/` in the revision makes directories (`refs/refs/pr/1`).
    pub fn ref_path(&self, revision: &str) -> PathBuf {
        join_repo_path(self.repo_dir().join("refs"), revision)
    }

    /// `C/R/.no_exist/{commit}/{path}`, checked like [`CacheRepo::pointer_path`].
    pub fn no_exist_path(&self, commit: &str, path: &str) -> Result<PathBuf> {
        validate_segment("commit", commit)?;
        validate_repo_path(path)?;
        Ok(join_repo_path(
            self.repo_dir().join(".no_exist").join(commit),
            path,
        ))
    }

    /// `C/.locks/R/{etag}.lock`.
    pub fn lock_path(&self, etag: &str) -> PathBuf {
        self.cache_dir
            .join(".locks")
            .join(&self.folder)
            .join(format!("{etag}.lock"))
    }

    /// `C/R/trees/{commit}.json`, Python's cached listing of a commit.
    pub fn tree_cache_path(&self, commit: &str) -> PathBuf {
        self.repo_dir().join("trees").join(format!("{commit}.json"))
    }

    /// The commit `refs/{revision}` names, if that file exists and holds exactly a 40-hex commit
    /// id (anything else, a trailing newline included, is not a ref Python would have written).
    pub fn read_ref(&self, revision: &str) -> Option<String> {
        validate_revision(revision).ok()?;
        let content = fs::read(self.ref_path(revision)).ok()?;
        let content = String::from_utf8(content).ok()?;
        is_commit_id(&content).then_some(content)
    }

    /// Records that `revision` points at `commit`: writes `refs/{revision}` (exactly the 40
    /// characters, no newline) through `refs/{name}.{8hex}.tmp` + rename, and only when the ref
    /// is absent or different. Nothing is written for a revision that is itself a commit id.
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<()> {
        if is_commit_id(revision) {
            return Ok(());
        }
        validate_revision(revision)?;
        if !is_commit_id(commit) {
            return Err(Error::InvalidInput(format!(
                "refusing to write ref {revision:?}: {commit:?} is not a 40-character commit id"
            )));
        }
        let path = self.ref_path(revision);
        if fs::read(&path).is_ok_and(|c| c == commit.as_bytes()) {
            return Ok(());
        }
        write_atomically(&path, commit.as_bytes(), "ref")
    }

    /// The commit a revision stands for in this cache: the revision itself when it is a commit
    /// id, else the content of its ref.
    pub fn resolve_commit(&self, revision: &str) -> Option<String> {
        if is_commit_id(revision) {
            Some(revision.to_owned())
        } else {
            self.read_ref(revision)
        }
    }

    /// Makes `snapshots/{commit}/{path}` point at `blobs/{etag}` and returns the pointer path.
    ///
    /// The pointer is a relative symlink (`../../blobs/{etag}`, one more `../` per directory
    /// level of `path`), created under a temporary name and renamed over any existing pointer,
    /// so readers never see a missing file; an identical existing link is left alone. With
    /// `no_symlinks`, or when the file system cannot make symlinks (one warning per process),
    /// the blob is copied to the pointer path instead (temporary file + rename).
    pub fn link_pointer(
        &self,
        commit: &str,
        path: &str,
        etag: &str,
        no_symlinks: bool,
    ) -> Result<PathBuf> {
        validate_etag(etag)?;
        let pointer = self.pointer_path(commit, path)?;
        let blob = self.blob_path(etag);
        let parent = parent_of(&pointer)?;
        fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("creating snapshot folder {}", parent.display()), e))?;
        if !no_symlinks {
            let mut target = PathBuf::new();
            for _ in 0..path.matches('/').count() + 2 {
                target.push("..");
            }
            target.push("blobs");
            target.push(etag);
            if fs::read_link(&pointer).is_ok_and(|t| t == target) {
                return Ok(pointer);
            }
            let tmp = temp_sibling(&pointer);
            match make_symlink(&target, &tmp) {
                Ok(()) => {
                    return match fs::rename(&tmp, &pointer) {
                        Ok(()) => Ok(pointer),
                        Err(e) => {
                            let _ = fs::remove_file(&tmp);
                            Err(Error::io(
                                format!("replacing pointer {}", pointer.display()),
                                e,
                            ))
                        }
                    };
                }
                Err(e) if symlinks_unsupported(&e) => {
                    if !SYMLINK_WARNING.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "symlinks are not supported in {}: cached files are copied into \
                             snapshots instead, which uses more disk space ({e})",
                            parent.display()
                        );
                    }
                }
                Err(e) => {
                    return Err(Error::io(
                        format!(
                            "creating pointer {} -> {}",
                            pointer.display(),
                            target.display()
                        ),
                        e,
                    ));
                }
            }
        }
        let tmp = temp_sibling(&pointer);
        fs::copy(&blob, &tmp).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(
                format!("copying blob {} to {}", blob.display(), tmp.display()),
                e,
            )
        })?;
        fs::rename(&tmp, &pointer).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(format!("replacing pointer {}", pointer.display()), e)
        })?;
        Ok(pointer)
    }

    /// Records that `path` does not exist at `commit`: an empty `.no_exist/{commit}/{path}`.
    pub fn mark_missing(&self, commit: &str, path: &str) -> Result<()> {
        let marker = self.no_exist_path(commit, path)?;
        let parent = parent_of(&marker)?;
        fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("creating folder {}", parent.display()), e))?;
        fs::File::create(&marker)
            .map(drop)
            .map_err(|e| Error::io(format!("creating marker {}", marker.display()), e))
    }
}

/// Set once the "no symlinks here" warning has been logged.
static SYMLINK_WARNING: AtomicBool = AtomicBool::new(false);

/// Creates `dir/CACHEDIR.TAG` (and `dir`) when missing, with the exact bytes of
/// [`CACHEDIR_TAG`]. Python ignores failures here; callers may too.
pub fn ensure_cachedir_tag(dir: &Path) -> Result<()> {
    let tag = dir.join("CACHEDIR.TAG");
    if tag.exists() {
        return Ok(());
    }
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating cache directory {}", dir.display()), e))?;
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tag)
    {
        Ok(mut f) => io::Write::write_all(&mut f, CACHEDIR_TAG.as_bytes())
            .map_err(|e| Error::io(format!("writing {}", tag.display()), e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(format!("creating {}", tag.display()), e)),
    }
}

/// What the cache alone knows about one file of one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedFile {
    /// The file is cached at this path (`C/R/snapshots/{commit}/{path}`).
    Found(PathBuf),
    /// The cache recorded that the file does not exist at this revision (`.no_exist`).
    KnownMissing,
    /// The cache does not know.
    Unknown,
}

/// Looks `path` up at `repo.revision()` in the cache without any network access (hub.md §3.6):
/// no repo folder → `Unknown`; a `refs/{revision}` file → its content is the revision;
/// `.no_exist/{revision}/{path}` → `KnownMissing`; a file at `snapshots/{revision}/{path}` →
/// `Found`; else `Unknown`. An invalid `path` is an [`Error::InvalidInput`].
pub fn try_to_load_from_cache(cache_dir: &Path, repo: &Repo, path: &str) -> Result<CachedFile> {
    validate_repo_path(path)?;
    let cache = CacheRepo::new(cache_dir, repo);
    let repo_dir = cache.repo_dir();
    if !repo_dir.is_dir() {
        return Ok(CachedFile::Unknown);
    }
    let mut revision = repo.revision().to_owned();
    let ref_file = cache.ref_path(&revision);
    if repo_dir.join("refs").is_dir() && ref_file.is_file() {
        let content = fs::read(&ref_file)
            .map_err(|e| Error::io(format!("reading ref {}", ref_file.display()), e))?;
        revision = String::from_utf8_lossy(&content).into_owned();
    }
    // Python uses the ref content verbatim; one that is not a single path segment names no
    // snapshot (and must not lead outside the repo folder).
    if validate_segment("commit", &revision).is_err() {
        return Ok(CachedFile::Unknown);
    }
    if cache.no_exist_path(&revision, path)?.is_file() {
        return Ok(CachedFile::KnownMissing);
    }
    let pointer = cache.pointer_path(&revision, path)?;
    if pointer.is_file() {
        return Ok(CachedFile::Found(pointer));
    }
    Ok(CachedFile::Unknown)
}

/// Checks that an etag (from a server's headers) is usable as a blob file name: not empty, no
/// separators, not `.`/`..`, no control characters, at most 255 bytes.
pub fn validate_etag(etag: &str) -> Result<()> {
    validate_segment("etag", etag)
}

fn validate_segment(what: &str, s: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::InvalidInput(format!("invalid {what} {s:?}: {why}")));
    if s.is_empty() {
        return bad("it is empty");
    }
    if s.len() > 255 {
        return bad("longer than 255 bytes");
    }
    if s == "." || s == ".." {
        return bad("it is `.` or `..`");
    }
    if s.contains(['/', '\\']) {
        return bad("it contains a path separator");
    }
    if s.chars().any(|c| c.is_control()) {
        return bad("it contains control characters");
    }
    if s.contains(':') && cfg!(windows) {
        return bad("it contains `:`");
    }
    Ok(())
}

/// `base` joined with each `/`-separated part of `rel` (native separators on every platform).
fn join_repo_path(base: PathBuf, rel: &str) -> PathBuf {
    rel.split('/').fold(base, |p, part| p.join(part))
}

fn parent_of(path: &Path) -> Result<&Path> {
    path.parent()
        .ok_or_else(|| Error::InvalidInput(format!("{} has no parent directory", path.display())))
}

/// `dir/.{name}.{8hex}.tmp` beside `path`.
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{:08x}.tmp", fastrand::u32(..)))
}

/// Writes `bytes` to `path` through `{path}.{8hex}.tmp` + rename (parents created).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    let parent = parent_of(path)?;
    fs::create_dir_all(parent)
        .map_err(|e| Error::io(format!("creating folder {}", parent.display()), e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.{:08x}.tmp", fastrand::u32(..)));
    let result = fs::write(&tmp, bytes)
        .map_err(|e| Error::io(format!("writing {what} {}", tmp.display()), e))
        .and_then(|()| {
            fs::rename(&tmp, path)
                .map_err(|e| Error::io(format!("replacing {what} {}", path.display()), e))
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

#[cfg(not(any(unix, windows)))]
fn make_symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlinks are not supported on this platform",
    ))
}

/// Whether a failed symlink creation means "this file system or user cannot make symlinks".
fn symlinks_unsupported(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Unsupported {
        return true;
    }
    // EPERM (FAT, exFAT and some network file systems).
    #[cfg(unix)]
    if e.raw_os_error() == Some(1) {
        return true;
    }
    // ERROR_PRIVILEGE_NOT_HELD: no developer mode or admin rights.
    #[cfg(windows)]
    if e.raw_os_error() == Some(1314) {
        return true;
    }
    false
}

#[cfg(test)]
mod tests;
