//! Scanning the cache (hub.md §4.4), with the results Python's `scan_cache_dir` gives.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::FILES_TO_IGNORE;
use crate::error::{Error, Result};
use crate::repo::RepoType;

/// What a cache directory holds.
#[derive(Debug, Clone)]
pub struct CacheInfo {
    /// The scanned directory (made absolute and canonical, as Python resolves it).
    pub cache_dir: PathBuf,
    /// Bytes on disk: each repo blob once (a blob shared by paths counts once), plus each payload
    /// of Python's shared blob store once.
    pub size_on_disk: u64,
    /// The valid repositories, sorted by path.
    pub repos: Vec<CachedRepo>,
    /// One line per entry that was skipped because it is not a valid cached repository.
    pub warnings: Vec<String>,
    /// Interrupted downloads (`*/blobs/*.incomplete`), sorted.
    pub incomplete: Vec<PathBuf>,
    /// Total size of the files in `incomplete`.
    pub incomplete_size_on_disk: u64,
}

/// One cached repository (`C/{type}s--{id}`).
#[derive(Debug, Clone)]
pub struct CachedRepo {
    /// The repository id (`org/name`).
    pub repo_id: String,
    /// The repository type (`Model` for Python's `kernels--` folders too; see `repo_type_name`).
    pub repo_type: RepoType,
    /// The type as Python names it: `model`, `dataset`, `space` or `kernel`.
    pub repo_type_name: &'static str,
    /// The repository folder.
    pub repo_path: PathBuf,
    /// Sum of the sizes of the distinct blobs its snapshots point at.
    pub size_on_disk: u64,
    /// Number of distinct blobs its snapshots point at.
    pub nb_files: usize,
    /// Its revisions (snapshot folders), sorted by commit.
    pub revisions: Vec<CachedRevision>,
    /// Latest access time of its blobs (of the folder when it has none).
    pub last_accessed: SystemTime,
    /// Latest modification time of its blobs (of the folder when it has none).
    pub last_modified: SystemTime,
    /// Ref name (`main`, `refs/pr/1`) → commit.
    pub refs: BTreeMap<String, String>,
}

/// One revision of a cached repository (`snapshots/{commit}`).
#[derive(Debug, Clone)]
pub struct CachedRevision {
    /// The commit id (the snapshot folder's name).
    pub commit_hash: String,
    /// The snapshot folder.
    pub snapshot_path: PathBuf,
    /// Sum of the sizes of the distinct blobs its files point at.
    pub size_on_disk: u64,
    /// Its files, sorted by path.
    pub files: Vec<CachedFileInfo>,
    /// The refs naming this commit.
    pub refs: BTreeSet<String>,
    /// Latest modification time of its blobs (of the folder when it has none).
    pub last_modified: SystemTime,
}

/// One file of a cached revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFileInfo {
    /// The file's base name (`model.onnx`).
    pub file_name: String,
    /// Its path in the snapshot folder (the pointer).
    pub file_path: PathBuf,
    /// The repo-local blob it points at (the first link hop, made absolute), or the file itself
    /// when the pointer is a regular file (no-symlink mode).
    pub blob_path: PathBuf,
    /// Size of the content, following every link.
    pub size_on_disk: u64,
    /// Last access time of the content.
    pub blob_last_accessed: SystemTime,
    /// Last modification time of the content.
    pub blob_last_modified: SystemTime,
}

/// Scans a cache directory the way Python's `scan_cache_dir` does. Entries that are not valid
/// repositories are skipped with a warning; a missing directory is an [`Error::Io`] of kind
/// `NotFound`, a file an [`Error::InvalidInput`].
///
/// ```no_run
/// let info = hfkit::hub::cache::scan_cache_dir(std::path::Path::new("/data/hf/hub"))?;
/// println!("{}", info.export_as_table(false));
/// # Ok::<(), hfkit::Error>(())
/// ```
pub fn scan_cache_dir(cache_dir: &Path) -> Result<CacheInfo> {
    let meta = fs::metadata(cache_dir).map_err(|e| {
        Error::io(
            format!("scanning cache directory {}", cache_dir.display()),
            e,
        )
    })?;
    if !meta.is_dir() {
        return Err(Error::InvalidInput(format!(
            "cannot scan {}: it is a file, not a cache directory",
            cache_dir.display()
        )));
    }
    let root = resolve(cache_dir)?;
    let mut repos = Vec::new();
    let mut warnings = Vec::new();
    for path in sorted_entries(&root)
        .map_err(|e| Error::io(format!("listing cache directory {}", root.display()), e))?
    {
        let name = file_name(&path);
        if FILES_TO_IGNORE.contains(&name.as_str()) || name == ".locks" || name == "CACHEDIR.TAG" {
            continue;
        }
        if name == "blobs" && is_shared_store(&path) {
            continue;
        }
        match scan_repo(&path) {
            Ok(repo) => repos.push(repo),
            Err(warning) => warnings.push(warning),
        }
    }
    for w in &warnings {
        tracing::debug!("cache scan: {w}");
    }

    let store_marked = is_shared_store(&root.join("blobs"));
    let mut physical: HashSet<PathBuf> = repos
        .iter()
        .flat_map(|r| &r.revisions)
        .flat_map(|rev| &rev.files)
        .filter(|f| !store_marked || shared_blob_target(&f.blob_path, &root).is_none())
        .map(|f| f.blob_path.clone())
        .collect();
    physical.extend(shared_store_payloads(&root));
    let size_on_disk = physical
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();

    let (incomplete, incomplete_size_on_disk) = scan_incomplete(&root);
    Ok(CacheInfo {
        cache_dir: root,
        size_on_disk,
        repos,
        warnings,
        incomplete,
        incomplete_size_on_disk,
    })
}

/// The absolute, canonical form of the cache directory (Python's `Path.resolve()`).
fn resolve(dir: &Path) -> Result<PathBuf> {
    #[cfg(windows)]
    let resolved = std::path::absolute(dir); // `canonicalize` would add a `\\?\` prefix
    #[cfg(not(windows))]
    let resolved = fs::canonicalize(dir);
    resolved.map_err(|e| Error::io(format!("resolving cache directory {}", dir.display()), e))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

/// Every non-directory below `dir` (symlinks to directories excluded, not descended into), as
/// Python's `Path.glob("**/*")` filtered by `is_dir()` yields them; sorted.
fn walk_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for path in sorted_entries(dir)? {
        let lmeta = fs::symlink_metadata(&path)?;
        if lmeta.is_dir() {
            walk_files(&path, out)?;
        } else if lmeta.file_type().is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `os.path.abspath`-style normalisation of an absolute path: `.` dropped, `..` pops.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Size and times of a blob, following links.
#[derive(Clone, Copy)]
struct BlobStat {
    size: u64,
    accessed: SystemTime,
    modified: SystemTime,
}

impl BlobStat {
    fn of(meta: &fs::Metadata) -> Self {
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        BlobStat {
            size: meta.len(),
            accessed: meta.accessed().unwrap_or(modified),
            modified,
        }
    }
}

fn repo_type_of(prefix: &str) -> Option<(RepoType, &'static str)> {
    match prefix {
        "models" => Some((RepoType::Model, "model")),
        "datasets" => Some((RepoType::Dataset, "dataset")),
        "spaces" => Some((RepoType::Space, "space")),
        "kernels" => Some((RepoType::Model, "kernel")),
        _ => None,
    }
}

/// Scans one repository folder; `Err` is the warning saying why it is skipped.
fn scan_repo(repo_path: &Path) -> std::result::Result<CachedRepo, String> {
    let shown = repo_path.display();
    if !repo_path.is_dir() {
        return Err(format!("repo path is not a directory: {shown}"));
    }
    let name = file_name(repo_path);
    let Some((prefix, id)) = name.split_once("--") else {
        return Err(format!(
            "not a cached repository (no `--` in its name): {shown}"
        ));
    };
    let Some((repo_type, repo_type_name)) = repo_type_of(prefix) else {
        return Err(format!(
            "unknown repo type `{prefix}` (expected datasets, kernels, models or spaces): {shown}"
        ));
    };
    let repo_id = id.replace("--", "/");
    let snapshots_path = repo_path.join("snapshots");
    let refs_path = repo_path.join("refs");
    if !snapshots_path.is_dir() {
        return Err(format!(
            "snapshots folder missing in cached repo: {}",
            snapshots_path.display()
        ));
    }
    let io_warning = |what: &str, p: &Path, e: std::io::Error| {
        format!("cannot read {what} {}: {e} (repo {shown})", p.display())
    };

    // Refs: every file below `refs/`, named by its relative path.
    let mut refs_by_hash: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if refs_path.exists() {
        if refs_path.is_file() {
            return Err(format!(
                "refs folder cannot be a file: {}",
                refs_path.display()
            ));
        }
        let mut ref_files = Vec::new();
        walk_files(&refs_path, &mut ref_files).map_err(|e| io_warning("refs", &refs_path, e))?;
        for ref_file in ref_files {
            if FILES_TO_IGNORE.contains(&file_name(&ref_file).as_str()) {
                continue;
            }
            let Ok(rel) = ref_file.strip_prefix(&refs_path) else {
                continue;
            };
            let ref_name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let content = fs::read(&ref_file).map_err(|e| io_warning("ref", &ref_file, e))?;
            refs_by_hash
                .entry(String::from_utf8_lossy(&content).into_owned())
                .or_default()
                .insert(ref_name);
        }
    }

    // Snapshots.
    let mut blob_stats: HashMap<PathBuf, BlobStat> = HashMap::new();
    let mut revisions = Vec::new();
    let revision_paths =
        sorted_entries(&snapshots_path).map_err(|e| io_warning("snapshots", &snapshots_path, e))?;
    for revision_path in revision_paths {
        let commit_hash = file_name(&revision_path);
        if FILES_TO_IGNORE.contains(&commit_hash.as_str()) {
            continue;
        }
        if revision_path.is_file() {
            return Err(format!(
                "snapshots folder corrupted, found a file: {}",
                revision_path.display()
            ));
        }
        let mut file_paths = Vec::new();
        walk_files(&revision_path, &mut file_paths)
            .map_err(|e| io_warning("snapshot", &revision_path, e))?;
        let mut files = Vec::with_capacity(file_paths.len());
        for file_path in file_paths {
            let is_link =
                fs::symlink_metadata(&file_path).is_ok_and(|m| m.file_type().is_symlink());
            let blob_path = if is_link {
                let target =
                    fs::read_link(&file_path).map_err(|e| io_warning("pointer", &file_path, e))?;
                let parent = file_path.parent().unwrap_or(Path::new(""));
                normalize_lexically(&parent.join(target))
            } else {
                file_path.clone()
            };
            let stat = match blob_stats.get(&blob_path) {
                Some(s) => *s,
                None => {
                    let Ok(meta) = fs::metadata(&blob_path) else {
                        return Err(format!(
                            "blob missing (broken symlink): {} (pointer {})",
                            blob_path.display(),
                            file_path.display()
                        ));
                    };
                    let s = BlobStat::of(&meta);
                    blob_stats.insert(blob_path.clone(), s);
                    s
                }
            };
            files.push(CachedFileInfo {
                file_name: file_name(&file_path),
                file_path,
                blob_path,
                size_on_disk: stat.size,
                blob_last_accessed: stat.accessed,
                blob_last_modified: stat.modified,
            });
        }
        let last_modified = match files.iter().map(|f| f.blob_last_modified).max() {
            Some(t) => t,
            None => fs::metadata(&revision_path)
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH),
        };
        let mut seen = HashSet::new();
        let size_on_disk = files
            .iter()
            .filter(|f| seen.insert(&f.blob_path))
            .map(|f| f.size_on_disk)
            .sum();
        revisions.push(CachedRevision {
            refs: refs_by_hash.remove(&commit_hash).unwrap_or_default(),
            commit_hash,
            snapshot_path: revision_path,
            size_on_disk,
            files,
            last_modified,
        });
    }
    if !refs_by_hash.is_empty() {
        return Err(format!(
            "refs point to commits with no snapshot: {refs_by_hash:?} ({shown})"
        ));
    }

    let (last_accessed, last_modified) = if blob_stats.is_empty() {
        let meta = fs::metadata(repo_path).ok();
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .unwrap_or(UNIX_EPOCH);
        let accessed = meta
            .as_ref()
            .and_then(|m| m.accessed().ok())
            .unwrap_or(modified);
        (accessed, modified)
    } else {
        (
            blob_stats
                .values()
                .map(|s| s.accessed)
                .max()
                .unwrap_or(UNIX_EPOCH),
            blob_stats
                .values()
                .map(|s| s.modified)
                .max()
                .unwrap_or(UNIX_EPOCH),
        )
    };
    let refs = revisions
        .iter()
        .flat_map(|rev| {
            rev.refs
                .iter()
                .map(|r| (r.clone(), rev.commit_hash.clone()))
        })
        .collect();
    Ok(CachedRepo {
        repo_id,
        repo_type,
        repo_type_name,
        repo_path: repo_path.to_path_buf(),
        size_on_disk: blob_stats.values().map(|s| s.size).sum(),
        nb_files: blob_stats.len(),
        revisions,
        last_accessed,
        last_modified,
        refs,
    })
}

/// `*/blobs/*.incomplete` below the cache root, sorted, with their total size.
fn scan_incomplete(root: &Path) -> (Vec<PathBuf>, u64) {
    let mut found = Vec::new();
    let mut total = 0;
    for dir in sorted_entries(root).unwrap_or_default() {
        let blobs = dir.join("blobs");
        if !blobs.is_dir() {
            continue;
        }
        for path in sorted_entries(&blobs).unwrap_or_default() {
            if !file_name(&path).ends_with(".incomplete") {
                continue;
            }
            if let Ok(meta) = fs::metadata(&path) {
                total += meta.len();
                found.push(path);
            }
        }
    }
    (found, total)
}

// --- Python's shared blob store (hub.md §4.5): read-only support ---------------------------

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_real_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

fn is_real_file(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
}

/// Whether `dir` is a marked shared store: a real folder holding `.huggingface-shared-blobs`
/// (a regular file) whose content is `1\n`.
pub(crate) fn is_shared_store(dir: &Path) -> bool {
    let marker = dir.join(".huggingface-shared-blobs");
    is_real_dir(dir) && is_real_file(&marker) && fs::read(&marker).is_ok_and(|c| c == b"1\n")
}

/// The store payload `blob_path` (a repo-local `C/{type}s--…/blobs/{etag}`) links to, when it is
/// a valid shared-store link (`C/blobs/{hh}/{xet_hash}`, a regular file).
pub(crate) fn shared_blob_target(blob_path: &Path, cache_dir: &Path) -> Option<PathBuf> {
    let rel = blob_path.strip_prefix(cache_dir).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let [repo, blobs, name] = parts.as_slice() else {
        return None;
    };
    let (prefix, rest) = repo.split_once("--")?;
    if repo_type_of(prefix).is_none() || rest.is_empty() || blobs != "blobs" || name.is_empty() {
        return None;
    }
    if !fs::symlink_metadata(blob_path)
        .ok()?
        .file_type()
        .is_symlink()
    {
        return None;
    }
    let link = fs::read_link(blob_path).ok()?;
    let target = normalize_lexically(&blob_path.parent()?.join(link));
    let store = cache_dir.join("blobs");
    let rel = target.strip_prefix(&store).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let [hh, hash] = parts.as_slice() else {
        return None;
    };
    if !is_hex(hash, 64) || !hash.starts_with(hh.as_str()) || hh.len() != 2 {
        return None;
    }
    let payload = store.join(hh).join(hash);
    is_real_file(&payload).then_some(payload)
}

/// Every payload file of a marked shared store.
fn shared_store_payloads(cache_dir: &Path) -> Vec<PathBuf> {
    let store = cache_dir.join("blobs");
    if !is_shared_store(&store) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for prefix in sorted_entries(&store).unwrap_or_default() {
        let hh = file_name(&prefix);
        if !is_hex(&hh, 2) || !is_real_dir(&prefix) {
            continue;
        }
        for entry in sorted_entries(&prefix).unwrap_or_default() {
            let name = file_name(&entry);
            if is_hex(&name, 64) && name.starts_with(&hh) && is_real_file(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

// --- Reports --------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_file_cache_dir() {
        let dir = tempfile::tempdir().unwrap();
        let err = scan_cache_dir(&dir.path().join("nope")).unwrap_err();
        match err {
            Error::Io { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::NotFound),
            other => panic!("unexpected {other}"),
        }
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(scan_cache_dir(&file), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn empty_cache_and_skipped_entries() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path();
        fs::create_dir_all(c.join(".locks").join("models--a--b")).unwrap();
        fs::write(c.join("CACHEDIR.TAG"), super::super::CACHEDIR_TAG).unwrap();
        fs::write(c.join("Thumbs.db"), b"").unwrap();
        fs::write(c.join("desktop.ini"), b"").unwrap();
        let info = scan_cache_dir(c).unwrap();
        assert!(
            info.repos.is_empty() && info.warnings.is_empty(),
            "{:?}",
            info.warnings
        );
        assert_eq!(info.size_on_disk, 0);
        // A root `blobs/` is skipped only when it carries the shared-store marker `1\n`.
        fs::create_dir_all(c.join("blobs")).unwrap();
        fs::write(c.join("blobs").join(".huggingface-shared-blobs"), b"2\n").unwrap();
        assert_eq!(scan_cache_dir(c).unwrap().warnings.len(), 1);
        fs::write(c.join("blobs").join(".huggingface-shared-blobs"), b"1\n").unwrap();
        assert!(scan_cache_dir(c).unwrap().warnings.is_empty());
        let table = scan_cache_dir(c).unwrap().export_as_table(false);
        assert_eq!(
            table,
            "REPO ID REPO TYPE SIZE ON DISK NB FILES LAST_ACCESSED LAST_MODIFIED REFS LOCAL PATH\n\
             ------- --------- ------------ -------- ------------- ------------- ---- ----------"
        );
    }

    #[test]
    fn lexical_normalisation() {
        let p = Path::new("/c/models--a--b/snapshots/x/onnx/../../../blobs/e");
        assert_eq!(normalize_lexically(p), Path::new("/c/models--a--b/blobs/e"));
        assert_eq!(
            normalize_lexically(Path::new("/../a/./b")),
            Path::new("/a/b")
        );
    }
}
