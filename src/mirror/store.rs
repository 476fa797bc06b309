//! The repository store: finds repositories under the mirror root, walks their files, hashes them
//! (once per size/mtime, off the async runtime) and builds the current [`Revision`] of each.
//!
//! Layout: `ROOT/{models,datasets,spaces}/ORG/NAME/` is the repository `ORG/NAME`; every file
//! below it is a repository file, except those under `.git/` and other dot-directories. Symbolic
//! links to files are followed when their target lies inside the root; links to directories are
//! not followed.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::repo::{RepoId, RepoType, validate_repo_path};

use super::hashing::{HashedFile, hash_file};
use super::revision::{FileEntry, Revision};

/// The three repository kinds, in listing order.
pub(crate) const REPO_TYPES: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

/// A file found on disk, before hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DiskFile {
    path: String,
    source: PathBuf,
    size: u64,
    mtime: SystemTime,
}

/// The result of walking one repository directory.
#[derive(Debug)]
struct Walk {
    files: Vec<DiskFile>,
    dir_mtime: SystemTime,
}

/// What the store remembers about one repository between requests.
#[derive(Debug, Default)]
struct RepoCache {
    /// Hashes by repository path, for the files seen by the last scan.
    hashes: HashMap<String, HashedFile>,
    /// The last walk and the revision built from it.
    last: Option<(Vec<DiskFile>, Arc<Revision>)>,
}

type RepoKey = (RepoType, String);

/// A repository as listed by [`Store::list`] (no hashing involved).
#[derive(Debug, Clone)]
pub(crate) struct RepoSummary {
    /// The repository id.
    pub id: RepoId,
    /// Newest modification time of its files (the directory's when it has none).
    pub last_modified: SystemTime,
}

/// The store of mirrored repositories.
#[derive(Debug)]
pub(crate) struct Store {
    root: PathBuf,
    lfs_threshold: u64,
    repos: Mutex<HashMap<RepoKey, Arc<tokio::sync::Mutex<RepoCache>>>>,
}

impl Store {
    /// The mirror root as configured.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// A store over `root`; files of at least `lfs_threshold` bytes are LFS files.
    pub fn new(root: PathBuf, lfs_threshold: u64) -> Self {
        Store {
            root,
            lfs_threshold,
            repos: Mutex::new(HashMap::new()),
        }
    }

    /// The current revision of a repository, `None` when it does not exist.
    pub async fn revision(
        &self,
        repo_type: RepoType,
        id: &RepoId,
    ) -> Result<Option<Arc<Revision>>> {
        let root = self.root.clone();
        let rel = repo_rel_dir(repo_type, id);
        let walk = blocking(move || -> Result<Option<Walk>> {
            let Some(root) = canonical_root(&root)? else {
                return Ok(None);
            };
            let Some(rel) = rel else { return Ok(None) };
            match repo_dir(&root, &rel)? {
                Some(dir) => Ok(Some(walk_repo(&dir, &root)?)),
                None => Ok(None),
            }
        })
        .await?;
        let Some(walk) = walk else { return Ok(None) };

        let cell = {
            let mut repos = self.repos.lock().unwrap_or_else(PoisonError::into_inner);
            repos
                .entry((repo_type, id.as_str().to_owned()))
                .or_default()
                .clone()
        };
        let mut cache = cell.lock().await;
        if let Some((files, rev)) = &cache.last
            && *files == walk.files
        {
            return Ok(Some(rev.clone()));
        }
        let old = std::mem::take(&mut cache.hashes);
        let threshold = self.lfs_threshold;
        let files = walk.files.clone();
        let (hashes, entries) = blocking(move || hash_all(&files, old, threshold)).await?;
        let rev = Arc::new(Revision::new(entries, walk.dir_mtime));
        cache.hashes = hashes;
        cache.last = Some((walk.files, rev.clone()));
        Ok(Some(rev))
    }

    /// All repositories of `repo_type`, sorted by id, found by a stat-only walk.
    pub async fn list(&self, repo_type: RepoType) -> Result<Vec<RepoSummary>> {
        let root = self.root.clone();
        blocking(move || list_repos(&root, repo_type)).await
    }

    /// Opens the content of `entry` for reading, after checking that it still lies inside the
    /// root. `Ok(None)` when the file changed, vanished or now leads outside the root since the
    /// revision was built (the caller scans again).
    pub async fn open(&self, entry: &FileEntry) -> Result<Option<tokio::fs::File>> {
        let root = self.root.clone();
        let source = entry.source.clone();
        let checked = blocking(move || -> Result<Option<PathBuf>> {
            let Some(root) = canonical_root(&root)? else {
                return Ok(None);
            };
            match std::fs::canonicalize(&source) {
                Ok(p) if p.starts_with(&root) => Ok(Some(p)),
                Ok(p) => {
                    // Swapped for a link since the scan: the next scan leaves it out.
                    tracing::warn!("mirror: not serving {}: outside the root", p.display());
                    Ok(None)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(format!("resolving {}", source.display()), e)),
            }
        })
        .await?;
        let Some(path) = checked else { return Ok(None) };
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        let meta = file
            .metadata()
            .await
            .map_err(|e| Error::io(format!("reading metadata of {}", path.display()), e))?;
        let unchanged =
            meta.is_file() && meta.len() == entry.size && meta.modified().ok() == Some(entry.mtime);
        Ok(unchanged.then_some(file))
    }
}

/// Runs blocking file-system work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("mirror file-system task", io::Error::other(e.to_string())))?
}

/// `{plural}/{ns}/{name}` of a repository, `None` for ids without a namespace (never mirrored).
fn repo_rel_dir(repo_type: RepoType, id: &RepoId) -> Option<PathBuf> {
    let ns = id.namespace()?;
    Some(Path::new(repo_type.plural()).join(ns).join(id.name()))
}

/// The canonical root, `None` when it does not exist.
fn canonical_root(root: &Path) -> Result<Option<PathBuf>> {
    match std::fs::canonicalize(root) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("resolving the mirror root {}", root.display()),
            e,
        )),
    }
}

/// The canonical directory of a repository when it exists and lies inside `root`.
fn repo_dir(root: &Path, rel: &Path) -> Result<Option<PathBuf>> {
    let dir = root.join(rel);
    match std::fs::canonicalize(&dir) {
        Ok(p) if p.starts_with(root) && p.is_dir() => Ok(Some(p)),
        Ok(_) => Ok(None),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::io(format!("resolving {}", dir.display()), e)),
    }
}

/// Walks a repository directory (stat only). Dot-directories (`.git/`, `.cache/`, …) are skipped,
/// as are names that are not valid repository paths and links leading outside `root`.
fn walk_repo(dir: &Path, root: &Path) -> Result<Walk> {
    let dir_mtime = std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .map_err(|e| Error::io(format!("reading metadata of {}", dir.display()), e))?;
    let mut files = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((abs, prefix)) = stack.pop() {
        let entries = match std::fs::read_dir(&abs) {
            Ok(e) => e,
            Err(e) if abs != dir => {
                tracing::warn!(
                    "mirror: skipping unreadable directory {}: {e}",
                    abs.display()
                );
                continue;
            }
            Err(e) => return Err(Error::io(format!("listing {}", abs.display()), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", abs.display()), e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let path = format!("{prefix}{name}");
            if name == ".git" || validate_repo_path(&path).is_err() {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let source = entry.path();
            if kind.is_dir() {
                if !name.starts_with('.') {
                    stack.push((source, format!("{path}/")));
                }
                continue;
            }
            let (source, meta) = if kind.is_symlink() {
                match std::fs::canonicalize(&source) {
                    Ok(target) if target.starts_with(root) => match std::fs::metadata(&target) {
                        Ok(m) => (target, m),
                        Err(_) => continue,
                    },
                    _ => continue,
                }
            } else {
                match entry.metadata() {
                    Ok(m) => (source, m),
                    Err(_) => continue,
                }
            };
            if !meta.is_file() {
                continue;
            }
            let Ok(mtime) = meta.modified() else { continue };
            files.push(DiskFile {
                path,
                source,
                size: meta.len(),
                mtime,
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Walk { files, dir_mtime })
}

/// Hashes the files not already in `old` (same source, size and mtime) and returns the new hash
/// table (only the current files) with the revision entries.
fn hash_all(
    files: &[DiskFile],
    mut old: HashMap<String, HashedFile>,
    threshold: u64,
) -> Result<(HashMap<String, HashedFile>, Vec<FileEntry>)> {
    let mut hashes = HashMap::with_capacity(files.len());
    let mut entries = Vec::with_capacity(files.len());
    for f in files {
        let cached = old
            .remove(&f.path)
            .filter(|h| h.size == f.size && h.mtime == f.mtime);
        let hashed = match cached {
            Some(h) => h,
            None => match hash_file(&f.source, threshold) {
                Ok(h) => h,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                    ) =>
                {
                    tracing::warn!("mirror: skipping {}: {e}", f.source.display());
                    continue;
                }
                Err(e) => return Err(Error::io(format!("hashing {}", f.source.display()), e)),
            },
        };
        entries.push(FileEntry {
            path: f.path.clone(),
            size: hashed.size,
            mtime: hashed.mtime,
            oid: hashed.ids.oid.clone(),
            lfs: hashed.ids.lfs.clone(),
            source: f.source.clone(),
        });
        // Keyed by the walk's size/mtime: if the file changed between walk and hash, the next
        // request sees a different stat and hashes again.
        let key = HashedFile {
            size: f.size,
            mtime: f.mtime,
            ids: hashed.ids,
        };
        hashes.insert(f.path.clone(), key);
    }
    Ok((hashes, entries))
}

/// Lists the repositories of one type with a stat-only walk of each.
fn list_repos(root: &Path, repo_type: RepoType) -> Result<Vec<RepoSummary>> {
    let Some(root) = canonical_root(root)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for ns in subdirs(&root.join(repo_type.plural()))? {
        for name in subdirs(&root.join(repo_type.plural()).join(&ns))? {
            let Ok(id) = RepoId::new(format!("{ns}/{name}")) else {
                continue;
            };
            let Some(rel) = repo_rel_dir(repo_type, &id) else {
                continue;
            };
            let Some(dir) = repo_dir(&root, &rel)? else {
                continue;
            };
            let walk = walk_repo(&dir, &root)?;
            let last_modified = walk
                .files
                .iter()
                .map(|f| f.mtime)
                .max()
                .unwrap_or(walk.dir_mtime);
            out.push(RepoSummary { id, last_modified });
        }
    }
    out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(out)
}

/// Names of the directories (links to directories included) in `dir`, skipping dot-names.
fn subdirs(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !name.starts_with('.') && entry.path().is_dir() {
            out.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rehashes_only_changed_files_and_skips_dot_dirs() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("models/acme/x");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join(".cache/huggingface")).unwrap();
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        std::fs::write(repo.join(".git/HEAD"), "ref").unwrap();
        std::fs::write(repo.join(".cache/huggingface/x"), "x").unwrap();
        std::fs::write(repo.join(".gitattributes"), "*.bin lfs\n").unwrap();
        std::fs::write(repo.join("sub/a.txt"), "hello\n").unwrap();
        let store = Store::new(root.path().to_path_buf(), 1024);
        let id = RepoId::new("acme/x").unwrap();
        let rev = store.revision(RepoType::Model, &id).await.unwrap().unwrap();
        let paths: Vec<_> = rev.files().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, [".gitattributes", "sub/a.txt"]);
        let again = store.revision(RepoType::Model, &id).await.unwrap().unwrap();
        assert!(
            Arc::ptr_eq(&rev, &again),
            "an unchanged repo is not rebuilt"
        );
        assert!(
            store
                .revision(RepoType::Dataset, &id)
                .await
                .unwrap()
                .is_none()
        );
        let list = store.list(RepoType::Model).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id.as_str(), "acme/x");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn links_outside_the_root_are_ignored() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("models/acme/x");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(root.path().join("shared.bin"), "shared").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), repo.join("leak")).unwrap();
        std::os::unix::fs::symlink(outside.path(), repo.join("leakdir")).unwrap();
        std::os::unix::fs::symlink(root.path().join("shared.bin"), repo.join("inside")).unwrap();
        let store = Store::new(root.path().to_path_buf(), 1024);
        let id = RepoId::new("acme/x").unwrap();
        let rev = store.revision(RepoType::Model, &id).await.unwrap().unwrap();
        let paths: Vec<_> = rev.files().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["inside"]);
    }
}
