//! One immutable revision of a mirrored repository: its commit id and the files it holds, with the
//! tree queries the routes need (single files, directory listings, paths-info).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use super::hashing::{LfsIds, sha1_lines};
use super::wire::{TreeEntry, TreeLfs};

/// One file of a revision.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    /// Repository-relative path, `/`-separated, validated.
    pub path: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// Modification time of the content on disk.
    pub mtime: SystemTime,
    /// Git blob sha1 of the content, or of the LFS pointer text for LFS files.
    pub oid: String,
    /// LFS ids, for files at or above the LFS threshold.
    pub lfs: Option<LfsIds>,
    /// Where the content lies on disk.
    pub source: PathBuf,
}

impl FileEntry {
    /// The tree / paths-info entry of this file.
    pub fn tree_entry(&self) -> TreeEntry {
        TreeEntry::File {
            oid: self.oid.clone(),
            size: self.size,
            path: self.path.clone(),
            lfs: self.lfs.as_ref().map(|l| TreeLfs {
                oid: l.sha256.clone(),
                size: self.size,
                pointer_size: l.pointer_size,
            }),
            last_commit: None,
        }
    }
}

/// A revision: commit id, newest modification time and the files, sorted by path.
#[derive(Debug)]
pub(crate) struct Revision {
    commit: String,
    last_modified: SystemTime,
    files: Vec<FileEntry>,
    /// Every directory that holds at least one file (at any depth) → its oid.
    dirs: BTreeMap<String, String>,
    /// The commit title, for revisions written through the commit API.
    title: Option<String>,
}

impl Revision {
    /// Builds a revision from its files. The commit id is the sha1 over the sorted
    /// `path NUL oid` lines, so it changes exactly when a path or a content changes.
    /// `empty_mtime` is the modification time reported when there are no files.
    pub fn new(mut files: Vec<FileEntry>, empty_mtime: SystemTime) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        let lines: Vec<String> = files
            .iter()
            .map(|f| format!("{}\0{}", f.path, f.oid))
            .collect();
        let commit = sha1_lines(lines.iter().map(String::as_str));
        Self::build(files, lines, commit, empty_mtime, None)
    }

    /// A revision stored by the commit API: its own commit id, date and title.
    pub fn committed(
        mut files: Vec<FileEntry>,
        commit: String,
        date: SystemTime,
        title: String,
    ) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        let lines: Vec<String> = files
            .iter()
            .map(|f| format!("{}\0{}", f.path, f.oid))
            .collect();
        let mut rev = Self::build(files, lines, commit, date, Some(title));
        rev.last_modified = date;
        rev
    }

    fn build(
        files: Vec<FileEntry>,
        lines: Vec<String>,
        commit: String,
        empty_mtime: SystemTime,
        title: Option<String>,
    ) -> Self {
        let mut dir_lines: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (f, line) in files.iter().zip(&lines) {
            let mut dir = parent(&f.path);
            while !dir.is_empty() {
                dir_lines.entry(dir.to_owned()).or_default().push(line);
                dir = parent(dir);
            }
        }
        let dirs = dir_lines
            .into_iter()
            .map(|(dir, lines)| {
                let header = format!("tree {dir}");
                let oid = sha1_lines(std::iter::once(header.as_str()).chain(lines));
                (dir, oid)
            })
            .collect();
        let last_modified = files.iter().map(|f| f.mtime).max().unwrap_or(empty_mtime);
        Revision {
            commit,
            last_modified,
            files,
            dirs,
            title,
        }
    }

    /// The commit id (40 lowercase hex).
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The commit title, when the revision was committed through the API.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Newest modification time of the revision's files.
    pub fn last_modified(&self) -> SystemTime {
        self.last_modified
    }

    /// All files, sorted by path.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Whether `rev` names this revision: `main` or its commit id.
    pub fn is_named(&self, rev: &str) -> bool {
        rev == "main" || rev == self.commit
    }

    /// The file at `path`, if any.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// Whether `path` is a directory of this revision.
    pub fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains_key(path)
    }

    /// The entry (file or directory) at `path`, if any.
    pub fn path_info(&self, path: &str) -> Option<TreeEntry> {
        if let Some(f) = self.file(path) {
            return Some(f.tree_entry());
        }
        self.dir_entry(path)
    }

    fn dir_entry(&self, path: &str) -> Option<TreeEntry> {
        self.dirs.get(path).map(|oid| TreeEntry::Directory {
            oid: oid.clone(),
            size: 0,
            path: path.to_owned(),
            last_commit: None,
        })
    }

    /// The entries below directory `dir` (`""` = the root): its direct children, or with
    /// `recursive` everything below it, directories included, sorted by path. `None` when `dir` is
    /// not a directory of this revision.
    pub fn tree(&self, dir: &str, recursive: bool) -> Option<Vec<TreeEntry>> {
        if !dir.is_empty() && !self.is_dir(dir) {
            return None;
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let wanted = |path: &str| {
            path.starts_with(&prefix) && (recursive || parent(path) == dir) && path != dir
        };
        let mut out: Vec<TreeEntry> = self
            .files
            .iter()
            .filter(|f| wanted(&f.path))
            .map(FileEntry::tree_entry)
            .collect();
        out.extend(
            self.dirs
                .keys()
                .filter(|d| wanted(d))
                .filter_map(|d| self.dir_entry(d)),
        );
        out.sort_by(|a, b| a.path().cmp(b.path()));
        Some(out)
    }
}

/// The parent directory of a repository path (`""` for top-level entries).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn file(path: &str, oid: &str, secs: u64) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            size: 1,
            mtime: UNIX_EPOCH + Duration::from_secs(secs),
            oid: oid.to_owned(),
            lfs: None,
            source: PathBuf::from(path),
        }
    }

    fn paths(v: &[TreeEntry]) -> Vec<&str> {
        v.iter().map(TreeEntry::path).collect()
    }

    #[test]
    fn lists_children_and_descendants() {
        let rev = Revision::new(
            vec![
                file("b/c/d.txt", "1", 5),
                file("a.txt", "2", 9),
                file("b/e.txt", "3", 1),
            ],
            UNIX_EPOCH,
        );
        assert_eq!(rev.last_modified(), UNIX_EPOCH + Duration::from_secs(9));
        assert_eq!(paths(&rev.tree("", false).unwrap()), ["a.txt", "b"]);
        assert_eq!(
            paths(&rev.tree("", true).unwrap()),
            ["a.txt", "b", "b/c", "b/c/d.txt", "b/e.txt"]
        );
        assert_eq!(paths(&rev.tree("b", false).unwrap()), ["b/c", "b/e.txt"]);
        assert_eq!(
            paths(&rev.tree("b", true).unwrap()),
            ["b/c", "b/c/d.txt", "b/e.txt"]
        );
        assert!(rev.tree("a.txt", false).is_none());
        assert!(rev.tree("nope", true).is_none());
        assert!(matches!(
            rev.path_info("b/c"),
            Some(TreeEntry::Directory { .. })
        ));
        assert!(rev.path_info("b/c/").is_none());
        assert!(rev.file("b/e.txt").is_some());
    }

    #[test]
    fn commit_depends_on_paths_and_oids_only() {
        let a = Revision::new(vec![file("x", "1", 1), file("y", "2", 2)], UNIX_EPOCH);
        let b = Revision::new(vec![file("y", "2", 7), file("x", "1", 3)], UNIX_EPOCH);
        let c = Revision::new(vec![file("x", "1", 1), file("y", "3", 2)], UNIX_EPOCH);
        assert_eq!(a.commit(), b.commit());
        assert_ne!(a.commit(), c.commit());
        assert_eq!(a.commit().len(), 40);
        assert!(a.is_named("main") && a.is_named(a.commit()) && !a.is_named("dev"));
    }
}
