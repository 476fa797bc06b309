//! `snapshot_download`: every file of a revision (or those the patterns select), fetched
//! concurrently into the cache or a local dir (hub.md §5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::stream::{FuturesUnordered, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::ApiRepo;
use super::cache::{CacheRepo, ensure_cachedir_tag};
use super::download::{DownloadOptions, FileMetadata, fetch_with_metadata, hf_hub_url};
use super::info::TreeOptions;
use super::local_dir;
use super::patterns::PatternFilter;
use super::progress::ProgressHandle;
use crate::error::{Error, Result};
use crate::repo::{Repo, encode_revision, is_commit_id, validate_repo_path};

/// Options of [`ApiRepo::snapshot_with`].
#[derive(Clone, Default)]
pub struct SnapshotOptions {
    /// Keep only paths matching one of these `fnmatch` patterns (`None`: keep all).
    pub allow_patterns: Option<Vec<String>>,
    /// Drop paths matching one of these patterns.
    pub ignore_patterns: Vec<String>,
    /// Concurrent file downloads (default: the client's `max_workers`, 8).
    pub max_workers: Option<usize>,
    /// Download into this folder instead of the cache.
    pub local_dir: Option<PathBuf>,
    /// Fetch every file again.
    pub force_download: bool,
    /// Use only the cache.
    pub local_files_only: bool,
    /// Receives progress events.
    pub progress: Option<ProgressHandle>,
}

impl std::fmt::Debug for SnapshotOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotOptions")
            .field("allow_patterns", &self.allow_patterns)
            .field("ignore_patterns", &self.ignore_patterns)
            .field("max_workers", &self.max_workers)
            .field("local_dir", &self.local_dir)
            .field("force_download", &self.force_download)
            .field("local_files_only", &self.local_files_only)
            .finish_non_exhaustive()
    }
}

impl SnapshotOptions {
    /// Keeps only paths matching these patterns.
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.allow_patterns = Some(patterns.into_iter().map(Into::into).collect());
        self
    }
    /// Drops paths matching these patterns.
    pub fn ignore<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.ignore_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }
    /// Concurrent downloads.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n.max(1));
        self
    }
    /// Downloads into `dir` instead of the cache.
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }
    /// Fetches every file again.
    pub fn force_download(mut self, yes: bool) -> Self {
        self.force_download = yes;
        self
    }
    /// Uses only the cache.
    pub fn local_files_only(mut self, yes: bool) -> Self {
        self.local_files_only = yes;
        self
    }
    /// Reports progress.
    pub fn progress(mut self, p: ProgressHandle) -> Self {
        self.progress = Some(p);
        self
    }
}

/// One file of a cached listing (`trees/{commit}.json`, shared with Python).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeCacheEntry {
    /// Size in bytes.
    pub size: u64,
    /// Git blob id.
    pub blob_id: String,
    /// sha256 of an LFS file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lfs_sha256: Option<String>,
    /// Size of an LFS file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lfs_size: Option<u64>,
    /// Xet hash, if listed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xet_hash: Option<String>,
}

impl TreeCacheEntry {
    fn etag(&self) -> &str {
        self.lfs_sha256.as_deref().unwrap_or(&self.blob_id)
    }
    fn file_size(&self) -> u64 {
        self.lfs_size.unwrap_or(self.size)
    }
}

#[derive(Serialize, Deserialize)]
struct TreeCacheFile {
    format_version: u32,
    files: BTreeMap<String, TreeCacheEntry>,
}

fn valid_xet(h: &Option<String>) -> bool {
    h.as_ref()
        .is_none_or(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads `trees/{commit}.json` under `folder`; `None` when absent, of another version or invalid.
pub fn read_tree_cache(folder: &Path, commit: &str) -> Option<BTreeMap<String, TreeCacheEntry>> {
    let path = folder.join("trees").join(format!("{commit}.json"));
    let text = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<TreeCacheFile>(&text) {
        Ok(f) if f.format_version == 1 && f.files.values().all(|e| valid_xet(&e.xet_hash)) => {
            Some(f.files)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(
                "ignoring the corrupted listing cache {}: {e}",
                path.display()
            );
            None
        }
    }
}

/// Writes `trees/{commit}.json` under `folder` (temp + rename, mode `0600`, `indent=1` like
/// Python). Failures are only logged.
pub fn write_tree_cache(folder: &Path, commit: &str, files: &BTreeMap<String, TreeCacheEntry>) {
    if !files.values().all(|e| valid_xet(&e.xet_hash)) {
        return;
    }
    let dir = folder.join("trees");
    let res = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let doc = TreeCacheFile {
            format_version: 1,
            files: files.clone(),
        };
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        doc.serialize(&mut ser).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!("tmp{:08x}.tmp", fastrand::u32(..)));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        {
            use std::io::Write;
            let mut f = opts.open(&tmp)?;
            f.write_all(&buf)?;
        }
        std::fs::rename(&tmp, dir.join(format!("{commit}.json"))).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    })();
    if let Err(e) = res {
        tracing::warn!(
            "could not write the listing cache in {}: {e}",
            dir.display()
        );
    }
}

impl ApiRepo {
    /// Downloads every file of this revision into the cache and returns the snapshot folder
    /// (`…/snapshots/{commit}`).
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// use hfkit::hub::snapshot::SnapshotOptions;
    /// let hub = hfkit::HubClient::new()?;
    /// let dir = hub
    ///     .model("openai-community/gpt2")
    ///     .snapshot_with(SnapshotOptions::default().allow(["*.json", "*.safetensors"]))
    ///     .await?;
    /// # let _ = dir; Ok(()) }
    /// ```
    pub async fn snapshot(&self) -> Result<PathBuf> {
        self.snapshot_with(SnapshotOptions::default()).await
    }

    /// [`snapshot`](Self::snapshot) with patterns, concurrency, local dir and more.
    pub async fn snapshot_with(&self, opts: SnapshotOptions) -> Result<PathBuf> {
        let repo = self.repo()?;
        let filter = PatternFilter::new(opts.allow_patterns.as_deref(), &opts.ignore_patterns)?;
        let settings = self.hub().settings();
        let cache = CacheRepo::new(settings.cache_dir(), &repo);
        let offline = settings.offline() || opts.local_files_only;

        let listing = if offline {
            Err(None)
        } else {
            match self.resolve_and_list(&repo, &cache, &opts).await {
                Ok(v) => Ok(v),
                Err(e @ Error::RevisionNotFound { .. }) => return Err(e),
                Err(e @ Error::InvalidInput(_)) => return Err(e),
                Err(e) => Err(Some(e)),
            }
        };
        let (commit, files) = match listing {
            Ok(v) => v,
            Err(remembered) => {
                return self.snapshot_from_cache(&repo, &cache, &filter, &opts, remembered);
            }
        };

        let selected: Vec<(String, TreeCacheEntry)> = files
            .into_iter()
            .filter(|(p, _)| filter.is_match(p))
            .collect();
        if selected.is_empty() {
            tracing::warn!(
                "no file of {} at {commit} matches the patterns",
                repo.display_name()
            );
        }
        for (p, _) in &selected {
            validate_repo_path(p)?;
        }
        if opts.local_dir.is_none() {
            ensure_cachedir_tag(settings.cache_dir())?;
            if let Err(e) = cache.write_ref(repo.revision(), &commit) {
                tracing::warn!("could not write ref {}: {e}", repo.revision());
            }
        }
        if let Some(p) = &opts.progress {
            p.files(selected.len());
        }
        let at_commit = repo.clone().with_revision(commit.clone())?;
        let dl_opts = DownloadOptions {
            force_download: opts.force_download,
            local_files_only: false,
            local_dir: None,
            subfolder: None,
            progress: opts.progress.clone(),
        };
        let workers = opts.max_workers.unwrap_or(settings.max_workers()).max(1);
        let endpoint = settings.endpoint().to_owned();
        let mut queue = selected.into_iter();
        let mut running = FuturesUnordered::new();
        let mut first_error: Option<Error> = None;
        loop {
            while first_error.is_none() && running.len() < workers {
                let Some((path, entry)) = queue.next() else {
                    break;
                };
                let meta = FileMetadata {
                    commit: commit.clone(),
                    etag: entry.etag().to_owned(),
                    size: Some(entry.file_size()),
                    location: hf_hub_url(&endpoint, &at_commit, &path),
                    xet_hash: entry.xet_hash.clone(),
                };
                let (api, cache_ref, repo_ref, dl, ld) = (
                    self,
                    &cache,
                    &at_commit,
                    &dl_opts,
                    opts.local_dir.as_deref(),
                );
                running.push(async move {
                    match ld {
                        Some(dir) => {
                            local_dir::download_to_local_dir_known(
                                api,
                                repo_ref,
                                &path,
                                dir,
                                dl,
                                Some(&meta),
                            )
                            .await
                        }
                        None => {
                            let http = api.hub().http();
                            if !dl.force_download {
                                let pointer = cache_ref.pointer_path(&meta.commit, &path)?;
                                if pointer.exists() {
                                    return Ok(pointer);
                                }
                                if cache_ref.blob_path(&meta.etag).exists() {
                                    return cache_ref.link_pointer(
                                        &meta.commit,
                                        &path,
                                        &meta.etag,
                                        http.settings().disable_symlinks(),
                                    );
                                }
                            }
                            fetch_with_metadata(http, cache_ref, repo_ref, &path, dl, &meta).await
                        }
                    }
                });
            }
            match running.next().await {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
                None => break,
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        match &opts.local_dir {
            Some(dir) => Ok(dir.clone()),
            None => {
                let dir = cache.snapshot_dir(&commit);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                Ok(dir)
            }
        }
    }

    /// Resolves the revision to a commit and lists its files (from the listing cache if present).
    async fn resolve_and_list(
        &self,
        repo: &Repo,
        cache: &CacheRepo,
        opts: &SnapshotOptions,
    ) -> Result<(String, BTreeMap<String, TreeCacheEntry>)> {
        let commit = if is_commit_id(repo.revision()) {
            repo.revision().to_owned()
        } else {
            #[derive(Deserialize)]
            struct Sha {
                sha: Option<String>,
            }
            let url = format!(
                "{}/revision/{}",
                self.api_url(repo),
                encode_revision(repo.revision())
            );
            let info: Sha = self
                .hub()
                .http()
                .get(&url)?
                .retry()
                .scope(super::download::scope_for(repo, ""))
                .send_json()
                .await?;
            info.sha
                .filter(|s| is_commit_id(s))
                .ok_or_else(|| Error::MalformedResponse {
                    url: url.clone(),
                    message: "the repository info has no commit id (`sha`)".into(),
                })?
        };
        let tree_folder = match &opts.local_dir {
            Some(d) => local_dir::huggingface_dir(d),
            None => cache.repo_dir(),
        };
        if let Some(files) = read_tree_cache(&tree_folder, &commit) {
            return Ok((commit, files));
        }
        let entries: Vec<_> = self
            .clone()
            .revision(commit.clone())
            .list_tree(TreeOptions {
                path: None,
                recursive: true,
                expand: false,
            })
            .try_collect()
            .await?;
        let mut files = BTreeMap::new();
        for e in entries.into_iter().filter(|e| e.is_file()) {
            let (lfs_sha256, lfs_size) = match &e.lfs {
                Some(l) => (Some(l.oid.clone()), Some(l.size)),
                None => (None, None),
            };
            files.insert(
                e.path.clone(),
                TreeCacheEntry {
                    size: e.size,
                    blob_id: e.oid.clone(),
                    lfs_sha256,
                    lfs_size,
                    xet_hash: e.xet_hash.clone(),
                },
            );
        }
        if opts.local_dir.is_some()
            && let Some(d) = &opts.local_dir
        {
            local_dir::prepare(d)?;
        }
        write_tree_cache(&tree_folder, &commit, &files);
        Ok((commit, files))
    }

    fn snapshot_from_cache(
        &self,
        repo: &Repo,
        cache: &CacheRepo,
        filter: &PatternFilter,
        opts: &SnapshotOptions,
        remembered: Option<Error>,
    ) -> Result<PathBuf> {
        if let Some(dir) = &opts.local_dir {
            let non_empty = std::fs::read_dir(dir)
                .map(|mut it| it.any(|e| e.is_ok_and(|e| e.file_name() != ".cache")))
                .unwrap_or(false);
            if non_empty {
                tracing::warn!(
                    "returning the existing {} without checking the Hub{}",
                    dir.display(),
                    remembered
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
                return Ok(dir.clone());
            }
        } else if let Some(commit) = cache.resolve_commit(repo.revision()) {
            let snap = cache.snapshot_dir(&commit);
            if snap.is_dir() {
                if let Some(listed) = read_tree_cache(&cache.repo_dir(), &commit) {
                    let missing: Vec<String> = listed
                        .keys()
                        .filter(|p| filter.is_match(p))
                        .filter(|p| !snap.join(p).exists())
                        .cloned()
                        .collect();
                    if !missing.is_empty() {
                        return Err(Error::IncompleteSnapshot {
                            path: snap,
                            missing,
                        });
                    }
                }
                return Ok(snap);
            }
        }
        let what = format!("{}@{}", repo.display_name(), repo.revision());
        match remembered {
            None => Err(Error::Offline { what }),
            Some(
                e @ (Error::RepoNotFound { .. }
                | Error::GatedRepo { .. }
                | Error::Unauthorized(_)
                | Error::DisabledRepo { .. }),
            ) => Err(e),
            Some(e) => Err(Error::LocalEntryNotFound {
                what,
                reason: e.to_string(),
            }),
        }
    }
}
