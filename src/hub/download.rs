//! Downloading one file into the shared cache (hub.md §3).
//!
//! The algorithm follows Python `huggingface_hub` step by step so both can share a cache: a `HEAD`
//! for the metadata (commit, etag, size), blobs named by etag, relative symlinks from
//! `snapshots/{commit}/{path}` to `blobs/{etag}`, `refs/{revision}`, `.no_exist` markers and a lock
//! per blob. On top of Python, hfkit resumes interrupted transfers with `Range` and verifies the
//! content against the etag (sha256 for LFS files, git blob sha1 for regular ones) before a file
//! gets its final name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, LOCATION};

use super::ApiRepo;
use super::cache::{CacheRepo, ensure_cachedir_tag};
use super::progress::ProgressHandle;
use super::transfer::{Expected, fetch_to_file};
use crate::error::{Error, Result};
use crate::http::{ErrorScope, HttpClient, Redirects, RetryPolicy};
use crate::repo::{Repo, encode_path, encode_revision, is_commit_id, validate_repo_path};

/// Options of a single-file download.
#[derive(Clone, Default)]
pub struct DownloadOptions {
    /// Fetch again even if the file is cached.
    pub force_download: bool,
    /// Use only the cache; fail if the file is not there (as offline mode, for one call).
    pub local_files_only: bool,
    /// Put the file at `local_dir/{path}` instead of the cache (hub.md §3.5).
    pub local_dir: Option<PathBuf>,
    /// A folder inside the repository that `path` is relative to.
    pub subfolder: Option<String>,
    /// Receives progress events.
    pub progress: Option<ProgressHandle>,
}

impl std::fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("force_download", &self.force_download)
            .field("local_files_only", &self.local_files_only)
            .field("local_dir", &self.local_dir)
            .field("subfolder", &self.subfolder)
            .finish_non_exhaustive()
    }
}

impl DownloadOptions {
    /// Sets `force_download`.
    pub fn force_download(mut self, yes: bool) -> Self {
        self.force_download = yes;
        self
    }
    /// Sets `local_files_only`.
    pub fn local_files_only(mut self, yes: bool) -> Self {
        self.local_files_only = yes;
        self
    }
    /// Downloads into `dir` instead of the cache.
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_dir = Some(dir.into());
        self
    }
    /// Sets the subfolder.
    pub fn subfolder(mut self, folder: impl Into<String>) -> Self {
        self.subfolder = Some(folder.into());
        self
    }
    /// Reports progress to `p`.
    pub fn progress(mut self, p: ProgressHandle) -> Self {
        self.progress = Some(p);
        self
    }
}

/// What the Hub says about a file (hub.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetadata {
    /// The commit the revision resolved to.
    pub commit: String,
    /// The normalised etag: sha256 for LFS files, git blob sha1 for regular ones.
    pub etag: String,
    /// The size in bytes, when known.
    pub size: Option<u64>,
    /// Where to fetch the bytes from (a CDN URL for LFS files).
    pub location: String,
    /// The Xet hash, if the server announced one (ignored by hfkit's transfers).
    pub xet_hash: Option<String>,
}

/// The URL of a file: `{endpoint}/{prefix}{repo}/resolve/{revision}/{path}`.
pub fn hf_hub_url(endpoint: &str, repo: &Repo, path: &str) -> String {
    format!(
        "{}/{}{}/resolve/{}/{}",
        endpoint.trim_end_matches('/'),
        repo.repo_type().url_prefix(),
        repo.id(),
        encode_revision(repo.revision()),
        encode_path(path)
    )
}

fn normalize_etag(v: &str) -> String {
    v.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_owned()
}

/// Reads metadata from a `HEAD` answer (after the redirect walk).
fn metadata_from(resp: &reqwest::Response) -> Result<FileMetadata> {
    let url = resp.url().to_string();
    let h = resp.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    let commit = get("x-repo-commit")
        .map(str::to_owned)
        .ok_or_else(|| Error::FileMetadata {
            url: url.clone(),
            missing: "the X-Repo-Commit header".into(),
        })?;
    let etag = get("x-linked-etag")
        .or_else(|| get("etag"))
        .map(normalize_etag)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Error::FileMetadata {
            url: url.clone(),
            missing: "an ETag header".into(),
        })?;
    let is_redirect = resp.status().is_redirection();
    let size = get("x-linked-size")
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| {
            (!is_redirect)
                .then(|| h.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok())
                .flatten()
        });
    let location = if is_redirect {
        let loc = get(LOCATION.as_str()).unwrap_or_default();
        resp.url()
            .join(loc)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| url.clone())
    } else {
        url.clone()
    };
    if etag.contains('/') || etag.contains('\\') || etag.contains("..") || etag.is_empty() {
        return Err(Error::MalformedResponse {
            url,
            message: format!("unusable etag {etag:?}"),
        });
    }
    Ok(FileMetadata {
        commit,
        etag,
        size,
        location,
        xet_hash: get("x-xet-hash").map(str::to_owned),
    })
}

/// Outcome of the metadata request of the algorithm.
enum Head {
    Ok(FileMetadata),
    /// 404 EntryNotFound with a commit: the file is known to be absent.
    Missing(Error, Option<String>),
    /// Errors that must be returned as they are.
    Fatal(Error),
    /// Anything else: fall back to the cache, remembering why.
    Failed(Error),
}

pub(crate) async fn head_metadata(
    http: &HttpClient,
    url: &str,
    scope: &ErrorScope,
    timeout: Duration,
    retry: Option<RetryPolicy>,
) -> Result<(reqwest::Response, u16)> {
    let mut rb = http
        .head(url)?
        .header_static("accept-encoding", "identity")
        .redirects(Redirects::Trusted)
        .timeout(timeout)
        .scope(scope.clone());
    if let Some(p) = retry {
        rb = rb.retry_with(p);
    }
    let resp = rb.send_unchecked().await?;
    let status = resp.status().as_u16();
    Ok((resp, status))
}

async fn fetch_metadata(
    http: &HttpClient,
    url: &str,
    scope: &ErrorScope,
    timeout: Duration,
    retry: Option<RetryPolicy>,
) -> Head {
    let (resp, status) = match head_metadata(http, url, scope, timeout, retry).await {
        Ok(r) => r,
        Err(e) => return Head::Failed(e),
    };
    if status >= 400 {
        let commit = resp
            .headers()
            .get("x-repo-commit")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let err = crate::http::response::error_from_response(resp, "HEAD", scope).await;
        return match err {
            Error::EntryNotFound { .. } => Head::Missing(err, commit),
            Error::RevisionNotFound { .. } => Head::Fatal(err),
            other => Head::Failed(other),
        };
    }
    match metadata_from(&resp) {
        Ok(m) => Head::Ok(m),
        Err(e) => Head::Failed(e),
    }
}

impl ApiRepo {
    /// Downloads `path` at this revision into the cache and returns its path in the snapshot
    /// folder (`…/snapshots/{commit}/{path}`). A cached file is returned without transfer.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let hub = hfkit::HubClient::new()?;
    /// let path = hub.model("openai-community/gpt2").download("config.json").await?;
    /// let text = std::fs::read_to_string(path).unwrap();
    /// # Ok(()) }
    /// ```
    pub async fn download(&self, path: &str) -> Result<PathBuf> {
        self.download_with(path, DownloadOptions::default()).await
    }

    /// [`download`](Self::download) with options (force, cache only, local dir, subfolder,
    /// progress).
    pub async fn download_with(&self, path: &str, opts: DownloadOptions) -> Result<PathBuf> {
        let repo = self.repo()?;
        let full_path = match opts.subfolder.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => format!("{}/{}", sub.trim_end_matches('/'), path),
            None => path.to_owned(),
        };
        validate_repo_path(&full_path)?;
        if let Some(dir) = opts.local_dir.clone() {
            return super::local_dir::download_to_local_dir(self, &repo, &full_path, &dir, &opts)
                .await;
        }
        download_to_cache(self.hub().http(), &repo, &full_path, &opts, None).await
    }

    /// The metadata of `path` at this revision, from a `HEAD` request.
    pub async fn file_metadata(&self, path: &str) -> Result<FileMetadata> {
        let repo = self.repo()?;
        validate_repo_path(path)?;
        let http = self.hub().http();
        let url = hf_hub_url(http.settings().endpoint(), &repo, path);
        let scope = scope_for(&repo, path);
        let (resp, status) =
            head_metadata(http, &url, &scope, http.settings().etag_timeout(), None).await?;
        if status >= 400 {
            return Err(crate::http::response::error_from_response(resp, "HEAD", &scope).await);
        }
        metadata_from(&resp)
    }
}

pub(crate) fn scope_for(repo: &Repo, path: &str) -> ErrorScope {
    ErrorScope {
        repo: Some(repo.display_name()),
        revision: Some(repo.revision().to_owned()),
        path: Some(path.to_owned()),
        ..Default::default()
    }
}

fn what(repo: &Repo, path: &str) -> String {
    format!("{}@{}: {}", repo.display_name(), repo.revision(), path)
}

/// The cache-mode algorithm (hub.md §3.2). `known` is metadata already obtained from a listing
/// (snapshot downloads), which spares the `HEAD` when the blob is present.
pub(crate) async fn download_to_cache(
    http: &HttpClient,
    repo: &Repo,
    path: &str,
    opts: &DownloadOptions,
    known: Option<&FileMetadata>,
) -> Result<PathBuf> {
    let settings = http.settings();
    let cache = CacheRepo::new(settings.cache_dir(), repo);
    let revision = repo.revision();

    // 2. A commit-id revision whose pointer exists: no I/O at all.
    if is_commit_id(revision) && !opts.force_download {
        let pointer = cache.pointer_path(revision, path)?;
        if pointer.exists() {
            return Ok(pointer);
        }
    }
    // A listing told us the etag and the blob is already here: just link it.
    if let Some(meta) = known
        && !opts.force_download
    {
        let pointer = cache.pointer_path(&meta.commit, path)?;
        if pointer.exists() {
            return Ok(pointer);
        }
        if cache.blob_path(&meta.etag).exists() {
            return cache.link_pointer(&meta.commit, path, &meta.etag, settings.disable_symlinks());
        }
    }

    // 3. Offline: only the cache.
    let offline = settings.offline() || opts.local_files_only;
    let remembered = if offline {
        None
    } else {
        let url = hf_hub_url(settings.endpoint(), repo, path);
        let scope = scope_for(repo, path);
        match fetch_metadata(http, &url, &scope, settings.etag_timeout(), None).await {
            Head::Ok(meta) => {
                return fetch_with_metadata(http, &cache, repo, path, opts, &meta).await;
            }
            Head::Missing(err, commit) => {
                if let Some(commit) = commit.filter(|c| is_commit_id(c)) {
                    if let Err(e) = cache.mark_missing(&commit, path) {
                        tracing::warn!("could not record that {path} is missing: {e}");
                    }
                    if let Err(e) = cache.write_ref(revision, &commit) {
                        tracing::warn!("could not write ref {revision}: {e}");
                    }
                }
                return Err(err);
            }
            Head::Fatal(err) => return Err(err),
            Head::Failed(err) => Some(err),
        }
    };

    // 8. Fallback to the cache.
    if let Some(commit) = cache.resolve_commit(revision) {
        let pointer = cache.pointer_path(&commit, path)?;
        if pointer.exists() && !opts.force_download {
            if let Some(e) = &remembered {
                tracing::warn!("using the cached {path}: the Hub could not be reached ({e})");
            }
            return Ok(pointer);
        }
    }
    if opts.force_download && offline {
        return Err(Error::Config(format!(
            "force_download and offline mode (HF_HUB_OFFLINE or local_files_only) cannot be combined for {}",
            what(repo, path)
        )));
    }
    let Some(err) = remembered else {
        return Err(Error::Offline {
            what: what(repo, path),
        });
    };
    match err {
        Error::RepoNotFound { .. }
        | Error::GatedRepo { .. }
        | Error::Unauthorized(_)
        | Error::DisabledRepo { .. } => Err(err),
        e if e.is_transient() => {
            // One more try, patient this time.
            let url = hf_hub_url(settings.endpoint(), repo, path);
            let scope = scope_for(repo, path);
            let policy = http.retry_policy();
            match fetch_metadata(http, &url, &scope, Duration::from_secs(60), Some(policy)).await {
                Head::Ok(meta) => fetch_with_metadata(http, &cache, repo, path, opts, &meta).await,
                Head::Missing(err, _) | Head::Fatal(err) => Err(err),
                Head::Failed(err) => Err(Error::LocalEntryNotFound {
                    what: what(repo, path),
                    reason: err.to_string(),
                }),
            }
        }
        e => Err(Error::LocalEntryNotFound {
            what: what(repo, path),
            reason: e.to_string(),
        }),
    }
}

/// Steps 5–7 of the algorithm: link an existing blob or fetch it under the lock.
pub(crate) async fn fetch_with_metadata(
    http: &HttpClient,
    cache: &CacheRepo,
    repo: &Repo,
    path: &str,
    opts: &DownloadOptions,
    meta: &FileMetadata,
) -> Result<PathBuf> {
    let settings = http.settings();
    let revision = repo.revision();
    if !is_commit_id(&meta.commit) {
        return Err(Error::MalformedResponse {
            url: meta.location.clone(),
            message: format!("X-Repo-Commit {:?} is not a commit id", meta.commit),
        });
    }
    let pointer = cache.pointer_path(&meta.commit, path)?;
    if pointer.exists() && !opts.force_download {
        if let Err(e) = cache.write_ref(revision, &meta.commit) {
            tracing::debug!("could not refresh ref {revision}: {e}");
        }
        return Ok(pointer);
    }
    ensure_cachedir_tag(settings.cache_dir())?;
    cache.write_ref(revision, &meta.commit)?;

    let blob = cache.blob_path(&meta.etag);
    let lock =
        super::lock::BlobLock::acquire(&cache.lock_path(&meta.etag), settings.lock_timeout).await?;
    if blob.exists() && !opts.force_download {
        drop(lock);
        return cache.link_pointer(&meta.commit, path, &meta.etag, settings.disable_symlinks());
    }
    let temp = if lock.is_exclusive() {
        cache.incomplete_path(&meta.etag)
    } else {
        blob.with_file_name(format!(
            "{}.{:08x}.incomplete",
            meta.etag,
            fastrand::u32(..)
        ))
    };
    let expected = Expected {
        etag: meta.etag.clone(),
        size: meta.size,
    };
    let result = fetch_to_file(
        http,
        &meta.location,
        &temp,
        &expected,
        path,
        opts.progress.as_ref(),
        lock.is_exclusive() && !opts.force_download,
    )
    .await;
    if let Err(e) = result {
        drop(lock);
        return Err(e);
    }
    rename_into_place(&temp, &blob).await?;
    drop(lock);
    cache.link_pointer(&meta.commit, path, &meta.etag, settings.disable_symlinks())
}

pub(crate) async fn rename_into_place(temp: &Path, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    // A link left by Python's shared store is replaced, never written through.
    if let Ok(md) = tokio::fs::symlink_metadata(dest).await
        && md.file_type().is_symlink()
    {
        let _ = tokio::fs::remove_file(dest).await;
    }
    tokio::fs::rename(temp, dest).await.map_err(|e| {
        Error::io(
            format!("moving {} to {}", temp.display(), dest.display()),
            e,
        )
    })
}
