//! `local_dir` mode: files as real files under a folder of the caller's, with Python-compatible
//! metadata in `local_dir/.cache/huggingface/` (hub.md §3.5).
//!
//! `download/{path}.metadata` holds three `\n`-terminated lines: the commit, the etag and the time
//! the file was written (seconds since the epoch, a float). A file whose mtime is more than one
//! second newer than that time was edited by someone else and is fetched again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use sha1::{Digest, Sha1};

use super::ApiRepo;
use super::cache::{CACHEDIR_TAG, CacheRepo};
use super::download::{DownloadOptions, FileMetadata, hf_hub_url, rename_into_place, scope_for};
use super::lock::BlobLock;
use super::transfer::{Expected, fetch_to_file};
use crate::error::{Error, Result};
use crate::repo::{Repo, is_commit_id, validate_repo_path};

/// Metadata of a file downloaded into a local dir.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFileMetadata {
    /// The commit the file came from.
    pub commit: String,
    /// Its etag.
    pub etag: String,
    /// When it was written (seconds since the epoch).
    pub timestamp: f64,
}

/// The paths of one file in a local dir.
#[derive(Debug, Clone)]
pub struct LocalPaths {
    /// The file itself.
    pub file: PathBuf,
    /// `…/.cache/huggingface/download/{path}.metadata`.
    pub metadata: PathBuf,
    /// `…/.cache/huggingface/download/{path}.lock`.
    pub lock: PathBuf,
}

impl LocalPaths {
    /// Paths for repository file `path` under `local_dir` (validated: no traversal).
    pub fn new(local_dir: &Path, path: &str) -> Result<Self> {
        validate_repo_path(path)?;
        let download = huggingface_dir(local_dir).join("download");
        Ok(LocalPaths {
            file: local_dir.join(path),
            metadata: download.join(format!("{path}.metadata")),
            lock: download.join(format!("{path}.lock")),
        })
    }

    /// Where the file is written before it gets its name: beside the metadata, named after the
    /// URL-safe base64 of the sha1 of the metadata file's name, as Python does.
    pub fn incomplete(&self, etag: &str) -> PathBuf {
        let name = self
            .metadata
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let short = base64::engine::general_purpose::URL_SAFE.encode(Sha1::digest(name.as_bytes()));
        self.metadata
            .with_file_name(format!("{short}.{etag}.incomplete"))
    }
}

/// `local_dir/.cache/huggingface`.
pub fn huggingface_dir(local_dir: &Path) -> PathBuf {
    local_dir.join(".cache").join("huggingface")
}

/// Creates `.cache/huggingface/` with its `.gitignore` (`*`) and `CACHEDIR.TAG`.
pub(crate) fn prepare(local_dir: &Path) -> Result<()> {
    let dir = huggingface_dir(local_dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        std::fs::write(&gitignore, b"*")
            .map_err(|e| Error::io(format!("writing {}", gitignore.display()), e))?;
    }
    let tag = dir.join("CACHEDIR.TAG");
    if !tag.exists() {
        let _ = std::fs::write(&tag, CACHEDIR_TAG);
    }
    Ok(())
}

/// Reads the metadata of `path`; `None` when absent, unparsable (then deleted) or stale.
pub fn read_metadata(local_dir: &Path, path: &str) -> Result<Option<LocalFileMetadata>> {
    let paths = LocalPaths::new(local_dir, path)?;
    let Ok(text) = std::fs::read_to_string(&paths.metadata) else {
        return Ok(None);
    };
    let mut lines = text.lines();
    let parsed = (|| {
        let commit = lines.next()?.trim().to_owned();
        let etag = lines.next()?.trim().to_owned();
        let timestamp: f64 = lines.next()?.trim().parse().ok()?;
        (!commit.is_empty() && !etag.is_empty()).then_some(LocalFileMetadata {
            commit,
            etag,
            timestamp,
        })
    })();
    let Some(meta) = parsed else {
        let _ = std::fs::remove_file(&paths.metadata);
        return Ok(None);
    };
    // Stale when the file changed after the metadata was written.
    match std::fs::metadata(&paths.file) {
        Ok(md) => {
            let mtime = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            if mtime > meta.timestamp + 1.0 {
                return Ok(None);
            }
            Ok(Some(meta))
        }
        Err(_) => Ok(None),
    }
}

/// Writes the three-line metadata of `path`.
pub fn write_metadata(local_dir: &Path, path: &str, commit: &str, etag: &str) -> Result<()> {
    let paths = LocalPaths::new(local_dir, path)?;
    if let Some(dir) = paths.metadata.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    std::fs::write(&paths.metadata, format!("{commit}\n{etag}\n{now}\n"))
        .map_err(|e| Error::io(format!("writing {}", paths.metadata.display()), e))
}

fn sha256_of(path: &Path) -> Option<String> {
    use sha2::Sha256;
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(hex::encode(h.finalize()))
}

/// The `local_dir` algorithm for one file.
pub(crate) async fn download_to_local_dir(
    api: &ApiRepo,
    repo: &Repo,
    path: &str,
    local_dir: &Path,
    opts: &DownloadOptions,
) -> Result<PathBuf> {
    download_to_local_dir_known(api, repo, path, local_dir, opts, None).await
}

/// Same, with metadata already known from a listing (snapshot downloads).
pub(crate) async fn download_to_local_dir_known(
    api: &ApiRepo,
    repo: &Repo,
    path: &str,
    local_dir: &Path,
    opts: &DownloadOptions,
    known: Option<&FileMetadata>,
) -> Result<PathBuf> {
    let http = api.hub().http();
    let settings = http.settings();
    let paths = LocalPaths::new(local_dir, path)?;
    let revision = repo.revision();

    if !opts.force_download
        && is_commit_id(revision)
        && let Some(m) = read_metadata(local_dir, path)?
        && m.commit == revision
    {
        return Ok(paths.file);
    }

    let offline = settings.offline() || opts.local_files_only;
    let meta = if let Some(k) = known {
        k.clone()
    } else if offline {
        if paths.file.exists() && !opts.force_download {
            return Ok(paths.file);
        }
        return Err(Error::Offline {
            what: format!(
                "{}@{}: {} (local dir {})",
                repo.display_name(),
                revision,
                path,
                local_dir.display()
            ),
        });
    } else {
        let url = hf_hub_url(settings.endpoint(), repo, path);
        let scope = scope_for(repo, path);
        match api.file_metadata(path).await {
            Ok(m) => m,
            Err(e @ (Error::EntryNotFound { .. } | Error::RevisionNotFound { .. })) => {
                return Err(e);
            }
            Err(e) => {
                if paths.file.exists() && !opts.force_download {
                    tracing::warn!(
                        "could not check {url} ({e}); using the existing {}",
                        paths.file.display()
                    );
                    return Ok(paths.file);
                }
                let _ = scope;
                return Err(e);
            }
        }
    };

    prepare(local_dir)?;
    if !opts.force_download && paths.file.exists() {
        match read_metadata(local_dir, path)? {
            Some(m) if m.etag == meta.etag => {
                write_metadata(local_dir, path, &meta.commit, &meta.etag)?;
                return Ok(paths.file);
            }
            None if meta.etag.len() == 64
                && sha256_of(&paths.file).as_deref() == Some(meta.etag.as_str()) =>
            {
                write_metadata(local_dir, path, &meta.commit, &meta.etag)?;
                return Ok(paths.file);
            }
            _ => {}
        }
    }

    let lock = BlobLock::acquire(&paths.lock, settings.lock_timeout).await?;
    // Already in the cache at this commit: copy it instead of fetching.
    let cache = CacheRepo::new(settings.cache_dir(), repo);
    let cached = cache.pointer_path(&meta.commit, path)?;
    let temp = paths.incomplete(&meta.etag);
    if !opts.force_download && cached.exists() {
        let from = cached.clone();
        let to = temp.clone();
        tokio::task::spawn_blocking(move || std::fs::copy(from, to))
            .await
            .map_err(|e| {
                Error::io(
                    "copying from the cache",
                    std::io::Error::other(e.to_string()),
                )
            })?
            .map_err(|e| Error::io(format!("copying {}", cached.display()), e))?;
    } else {
        let expected = Expected {
            etag: meta.etag.clone(),
            size: meta.size,
        };
        let location = if meta.location.is_empty() {
            hf_hub_url(
                settings.endpoint(),
                &repo.clone().with_revision(meta.commit.clone())?,
                path,
            )
        } else {
            meta.location.clone()
        };
        fetch_to_file(
            http,
            &location,
            &temp,
            &expected,
            path,
            opts.progress.as_ref(),
            lock.is_exclusive() && !opts.force_download,
        )
        .await?;
    }
    rename_into_place(&temp, &paths.file).await?;
    write_metadata(local_dir, path, &meta.commit, &meta.etag)?;
    drop(lock);
    Ok(paths.file)
}
