//! Planning and executing the deletion of cached revisions (hub.md §4.5).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::scan::{CacheInfo, is_shared_store, shared_blob_target};
use super::table::format_size;

/// What deleting some revisions removes; nothing happens until [`DeleteStrategy::execute`], so
/// the plan doubles as a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteStrategy {
    /// Bytes the deletion frees: the blobs it removes, plus files stored directly in deleted
    /// snapshots. Payloads of Python's shared blob store are not counted: hfkit removes only
    /// the repo-local links to them and leaves the payloads to Python's `hf cache prune`.
    pub expected_freed_size: u64,
    /// Blob files to delete (no remaining revision uses them).
    pub blobs: BTreeSet<PathBuf>,
    /// Ref files to delete (they name a deleted revision).
    pub refs: BTreeSet<PathBuf>,
    /// Whole repository folders to delete (all their revisions go).
    pub repos: BTreeSet<PathBuf>,
    /// Snapshot folders to delete.
    pub snapshots: BTreeSet<PathBuf>,
    /// Problems found while planning (unknown revisions).
    pub warnings: Vec<String>,
}

impl CacheInfo {
    /// Plans the deletion of the revisions with these commit hashes, in whatever repositories
    /// hold them. A repository losing all its revisions is deleted whole; otherwise each
    /// revision's snapshot folder, the refs naming it and the blobs no remaining revision uses
    /// go. Unknown hashes are reported in `warnings`.
    ///
    /// ```no_run
    /// let info = hfkit::hub::cache::scan_cache_dir(std::path::Path::new("/data/hf/hub"))?;
    /// let plan = info.delete_revisions(&["2439f60ef33a0d46d85da5001d52aeda5b00ce9f"]);
    /// println!("will free {}", plan.expected_freed_size_str());
    /// for warning in plan.execute() {
    ///     eprintln!("{warning}");
    /// }
    /// # Ok::<(), hfkit::Error>(())
    /// ```
    pub fn delete_revisions(&self, hashes: &[&str]) -> DeleteStrategy {
        let wanted: BTreeSet<&str> = hashes.iter().copied().collect();
        let mut found: HashSet<&str> = HashSet::new();
        let mut plan = DeleteStrategy::default();
        let shared_store = is_shared_store(&self.cache_dir.join("blobs"));
        // Blob entries unlinked (path -> size), directly or with their folder.
        let mut unlinked: BTreeMap<PathBuf, u64> = BTreeMap::new();

        for repo in &self.repos {
            let (doomed, kept): (Vec<_>, Vec<_>) = repo
                .revisions
                .iter()
                .partition(|rev| wanted.contains(rev.commit_hash.as_str()));
            if doomed.is_empty() {
                continue;
            }
            found.extend(doomed.iter().map(|rev| rev.commit_hash.as_str()));
            if kept.is_empty() {
                plan.repos.insert(repo.repo_path.clone());
                for file in repo.revisions.iter().flat_map(|rev| &rev.files) {
                    unlinked.insert(file.blob_path.clone(), file.size_on_disk);
                }
                continue;
            }
            let kept_blobs: HashSet<&PathBuf> = kept
                .iter()
                .flat_map(|rev| &rev.files)
                .map(|f| &f.blob_path)
                .collect();
            for rev in doomed {
                plan.snapshots.insert(rev.snapshot_path.clone());
                for r in &rev.refs {
                    plan.refs.insert(
                        r.split('/')
                            .fold(repo.repo_path.join("refs"), |p, s| p.join(s)),
                    );
                }
                for file in &rev.files {
                    if file.blob_path.starts_with(&rev.snapshot_path) {
                        // A regular file in the snapshot (no-symlink mode): goes with the folder.
                        unlinked.insert(file.blob_path.clone(), file.size_on_disk);
                    } else if !kept_blobs.contains(&file.blob_path) {
                        plan.blobs.insert(file.blob_path.clone());
                        unlinked.insert(file.blob_path.clone(), file.size_on_disk);
                    }
                }
            }
        }

        plan.expected_freed_size = unlinked
            .iter()
            .filter(|(path, _)| {
                !shared_store || shared_blob_target(path, &self.cache_dir).is_none()
            })
            .map(|(_, size)| size)
            .sum();
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|h| !found.contains(h))
            .collect();
        if !missing.is_empty() {
            let warning = format!(
                "revision(s) not found in the cache, cannot delete them: {}",
                missing.join(", ")
            );
            tracing::warn!("{warning}");
            plan.warnings.push(warning);
        }
        plan
    }
}

impl DeleteStrategy {
    /// [`DeleteStrategy::expected_freed_size`] as Python prints it (`7.9K`).
    pub fn expected_freed_size_str(&self) -> String {
        format_size(self.expected_freed_size)
    }

    /// Deletes the planned paths: repositories, then snapshots, then refs, then blobs (so no
    /// ref or pointer is ever left naming something already gone). A path that cannot be
    /// deleted (already missing, permissions, …) is a warning, never an abort; the warnings are
    /// returned (and logged).
    pub fn execute(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let groups = [
            ("repo", &self.repos),
            ("snapshot", &self.snapshots),
            ("ref", &self.refs),
            ("blob", &self.blobs),
        ];
        for (kind, paths) in groups {
            for path in paths {
                if let Err(e) = delete_path(path) {
                    let warning = if e.kind() == io::ErrorKind::NotFound {
                        format!(
                            "couldn't delete {kind}: file not found ({})",
                            path.display()
                        )
                    } else {
                        format!("couldn't delete {kind} {}: {e}", path.display())
                    };
                    tracing::warn!("{warning}");
                    warnings.push(warning);
                }
            }
        }
        warnings
    }
}

/// Removes a file or link (never what it points at) or a whole folder.
fn delete_path(path: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}
