//! `upload_file` and `upload_folder` (hub.md §6.7): one commit each, built on
//! [`ApiRepo::create_commit`](super::ApiRepo::create_commit).
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::hub::upload::UploadFolderOptions;
//! let hub = hfkit::HubClient::new()?;
//! let repo = hub.model("me/my-model");
//! let info = repo
//!     .upload_folder(
//!         "./checkpoints",
//!         UploadFolderOptions::default()
//!             .path_in_repo("ckpt")
//!             .ignore_patterns(["*.tmp"])
//!             .delete_patterns(["*.bin"]),
//!     )
//!     .await?;
//! println!("{}", info.commit_url);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use super::ApiRepo;
use super::commit::{
    AddSource, CommitInfo, CommitOperation, CommitOptions, normalize_path_in_repo,
};
use super::commit_flow::{DEFAULT_MAX_OPERATIONS, Limits};
use super::patterns::PatternFilter;
use super::progress::ProgressHandle;
use crate::error::{Error, Result};

/// Folders never uploaded by [`ApiRepo::upload_folder`], each in its four pattern forms.
pub const DEFAULT_IGNORE_PATTERNS: [&str; 8] = [
    ".git",
    ".git/*",
    "*/.git",
    "**/.git/**",
    ".cache/huggingface",
    ".cache/huggingface/*",
    "*/.cache/huggingface",
    "**/.cache/huggingface/**",
];

/// Options of [`ApiRepo::upload_file`].
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// Commit title (default `Upload {path_in_repo} with hfkit`).
    pub message: Option<String>,
    /// Commit description.
    pub description: Option<String>,
    /// Open a pull request instead of committing to the branch.
    pub create_pr: bool,
    /// The expected head of the branch.
    pub parent_commit: Option<String>,
    /// Receives hashing and transfer progress events.
    pub progress: Option<ProgressHandle>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("message", &self.message)
            .field("description", &self.description)
            .field("create_pr", &self.create_pr)
            .field("parent_commit", &self.parent_commit)
            .finish_non_exhaustive()
    }
}

/// Options of [`ApiRepo::upload_folder`].
#[derive(Clone, Default)]
pub struct UploadFolderOptions {
    /// Destination folder in the repository (`None`, `""` or `.` = the root).
    pub path_in_repo: Option<String>,
    /// Only files matching one of these (folder-relative) are uploaded.
    pub allow_patterns: Option<Vec<String>>,
    /// Files matching one of these are not uploaded.
    pub ignore_patterns: Vec<String>,
    /// Remote files under `path_in_repo` matching one of these are deleted in the same commit.
    pub delete_patterns: Vec<String>,
    /// Commit title (default `Upload folder using hfkit`).
    pub message: Option<String>,
    /// Commit description.
    pub description: Option<String>,
    /// Open a pull request instead of committing to the branch.
    pub create_pr: bool,
    /// The expected head of the branch (checked by the first commit of a chain).
    pub parent_commit: Option<String>,
    /// Operations per commit (default 200): a larger upload becomes a chain of commits, each
    /// also under 64 MiB of inline content (hub.md §6.8).
    pub max_operations_per_commit: Option<usize>,
    /// Receives hashing and transfer progress events.
    pub progress: Option<ProgressHandle>,
}

impl std::fmt::Debug for UploadFolderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadFolderOptions")
            .field("path_in_repo", &self.path_in_repo)
            .field("allow_patterns", &self.allow_patterns)
            .field("ignore_patterns", &self.ignore_patterns)
            .field("delete_patterns", &self.delete_patterns)
            .field("message", &self.message)
            .field("create_pr", &self.create_pr)
            .field("parent_commit", &self.parent_commit)
            .field("max_operations_per_commit", &self.max_operations_per_commit)
            .finish_non_exhaustive()
    }
}

/// The items of `it` as owned strings.
pub(crate) fn strings<I: IntoIterator<Item = S>, S: Into<String>>(it: I) -> Vec<String> {
    it.into_iter().map(Into::into).collect()
}

impl UploadFolderOptions {
    /// The destination folder.
    pub fn path_in_repo(mut self, p: impl Into<String>) -> Self {
        self.path_in_repo = Some(p.into());
        self
    }
    /// Allow patterns.
    pub fn allow_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.allow_patterns = Some(strings(p));
        self
    }
    /// Ignore patterns.
    pub fn ignore_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.ignore_patterns = strings(p);
        self
    }
    /// Delete patterns.
    pub fn delete_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.delete_patterns = strings(p);
        self
    }
    /// Commit title.
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
    /// Open a pull request.
    pub fn create_pr(mut self, yes: bool) -> Self {
        self.create_pr = yes;
        self
    }
    /// The expected head of the branch.
    pub fn parent_commit(mut self, c: impl Into<String>) -> Self {
        self.parent_commit = Some(c.into());
        self
    }
    /// Operations per commit of the chain.
    pub fn max_operations_per_commit(mut self, n: usize) -> Self {
        self.max_operations_per_commit = Some(n);
        self
    }
    /// Reports progress to `p`.
    pub fn progress(mut self, p: ProgressHandle) -> Self {
        self.progress = Some(p);
        self
    }
}

/// Every file below `root` as sorted folder-relative POSIX paths (links to files followed).
pub(crate) fn list_local_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
            let name = entry.file_name().into_string().map_err(|n| {
                Error::InvalidInput(format!(
                    "{} is not valid UTF-8 and cannot be a repository path",
                    dir.join(n).display()
                ))
            })?;
            let rel = format!("{prefix}{name}");
            let path = entry.path();
            let meta = std::fs::metadata(&path)
                .map_err(|e| Error::io(format!("reading metadata of {}", path.display()), e))?;
            if meta.is_dir() {
                // A link to a directory is not followed (it could loop).
                if !entry.file_type().is_ok_and(|t| t.is_symlink()) {
                    stack.push((path, format!("{rel}/")));
                }
            } else if meta.is_file() {
                out.push((rel, path));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

impl ApiRepo {
    /// Uploads one file (a local path or bytes) as `path_in_repo` in one commit.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::hub::upload::UploadOptions;
    /// let hub = hfkit::HubClient::new()?;
    /// let info = hub
    ///     .model("me/my-model")
    ///     .upload_file(std::path::Path::new("config.json"), "config.json", UploadOptions::default())
    ///     .await?;
    /// println!("{}", info.commit_url);
    /// # Ok(()) }
    /// ```
    pub async fn upload_file(
        &self,
        source: impl Into<AddSource>,
        path_in_repo: &str,
        opts: UploadOptions,
    ) -> Result<CommitInfo> {
        let path = normalize_path_in_repo(path_in_repo, false)?;
        let message = opts
            .message
            .unwrap_or_else(|| format!("Upload {path} with hfkit"));
        let commit = CommitOptions {
            operations: vec![CommitOperation::Add {
                path_in_repo: path,
                source: source.into(),
            }],
            message,
            description: opts.description.unwrap_or_default(),
            parent_commit: opts.parent_commit,
            create_pr: opts.create_pr,
            progress: opts.progress,
        };
        self.create_commit(commit).await
    }

    /// Uploads the files of a local folder in one commit (a chain of commits when it has more
    /// than `max_operations_per_commit` changes or 64 MiB of inline content, hub.md §6.8), with allow/ignore patterns on the
    /// folder-relative paths and `delete_patterns` on the remote files under `path_in_repo`
    /// (`.gitattributes` and re-uploaded files are never deleted). `.git` and
    /// `.cache/huggingface` are always left out.
    pub async fn upload_folder(
        &self,
        folder: impl AsRef<Path>,
        opts: UploadFolderOptions,
    ) -> Result<CommitInfo> {
        self.repo()?;
        let folder = folder.as_ref();
        if !folder.is_dir() {
            return Err(Error::InvalidInput(format!(
                "cannot upload {}: not a folder",
                folder.display()
            )));
        }
        let prefix = match opts.path_in_repo.as_deref().map(|p| p.trim_matches('/')) {
            None | Some("") | Some(".") => String::new(),
            Some(p) => format!("{}/", normalize_path_in_repo(p, false)?),
        };
        let mut ignore = opts.ignore_patterns.clone();
        ignore.extend(DEFAULT_IGNORE_PATTERNS.iter().map(|s| (*s).to_owned()));
        let filter = PatternFilter::new(opts.allow_patterns.as_deref(), &ignore)?;
        let delete_filter = (!opts.delete_patterns.is_empty())
            .then(|| PatternFilter::new(Some(&opts.delete_patterns), &[]))
            .transpose()?;
        let folder_owned = folder.to_path_buf();
        let files = tokio::task::spawn_blocking(move || list_local_files(&folder_owned))
            .await
            .map_err(|e| Error::io("listing task", std::io::Error::other(e.to_string())))??;
        let mut adds = Vec::new();
        for (rel, path) in files {
            if !filter.is_match(&rel) {
                continue;
            }
            let dest = normalize_path_in_repo(&format!("{prefix}{rel}"), false)?;
            adds.push(CommitOperation::Add {
                path_in_repo: dest,
                source: AddSource::Path(path),
            });
        }
        let mut operations = Vec::new();
        if let Some(del) = delete_filter {
            let base = if opts.create_pr {
                self.clone().revision("main")
            } else {
                self.clone()
            };
            let uploaded: std::collections::HashSet<&str> = adds
                .iter()
                .filter_map(|a| match a {
                    CommitOperation::Add { path_in_repo, .. } => Some(path_in_repo.as_str()),
                    _ => None,
                })
                .collect();
            for remote in base.list_files().await? {
                let Some(rel) = remote.strip_prefix(&prefix) else {
                    continue;
                };
                if remote == ".gitattributes" || uploaded.contains(remote.as_str()) {
                    continue;
                }
                if del.is_match(rel) {
                    operations.push(CommitOperation::Delete {
                        path_in_repo: remote.clone(),
                        is_folder: false,
                    });
                }
            }
        }
        operations.extend(adds);
        let commit = CommitOptions {
            operations,
            message: opts
                .message
                .unwrap_or_else(|| "Upload folder using hfkit".to_owned()),
            description: opts.description.unwrap_or_default(),
            parent_commit: opts.parent_commit,
            create_pr: opts.create_pr,
            progress: opts.progress,
        };
        let limits = Limits::chained(
            opts.max_operations_per_commit
                .unwrap_or(DEFAULT_MAX_OPERATIONS),
        );
        self.run_commit(commit, limits).await
    }
}
