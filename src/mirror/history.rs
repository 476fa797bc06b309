//! Repositories written through the Hub's write API, stored under `ROOT/.hfkit-mirror/`:
//!
//! ```text
//! objects/{aa}/{sha256}                      content, addressed by sha256 (regular and LFS files)
//! tmp/                                       files being written (renamed into place when complete)
//! uploads/{upload id}/{part}                 multipart parts not yet completed
//! repos/{models|datasets|spaces}/{ns}/{name}/
//!     repo.json                              visibility, gating, SDK
//!     refs.json                              branches, tags, pull requests → commit ids
//!     commits/{commit id}.json               one immutable manifest per commit
//! ```
//!
//! A commit writes its objects first, then its manifest (temp file + rename), then the refs
//! (temp file + rename): a failure at any point leaves the previous revision as it was.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::hashing::{LfsIds, git_blob_sha1, lfs_pointer};
use super::objects::git_oid_of_object;
use super::revision::{FileEntry, Revision};
use crate::error::{Error, Result};
use crate::repo::{RepoId, RepoType};

/// Name of the hidden folder under the root.
pub(crate) const STATE_DIR: &str = ".hfkit-mirror";

/// The `.gitattributes` of a new repository's first commit.
const INITIAL_GITATTRIBUTES: &str = "*.bin filter=lfs diff=lfs merge=lfs -text\n\
*.safetensors filter=lfs diff=lfs merge=lfs -text\n\
*.pt filter=lfs diff=lfs merge=lfs -text\n\
*.onnx filter=lfs diff=lfs merge=lfs -text\n\
*.zip filter=lfs diff=lfs merge=lfs -text\n";

/// Settings of a written repository.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RepoMeta {
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub gated: Option<serde_json::Value>,
    #[serde(default)]
    pub sdk: Option<String>,
}

/// Branches, tags and pull requests of a written repository.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Refs {
    #[serde(default)]
    pub branches: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub prs: BTreeMap<u64, String>,
}

/// One file of a commit manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ManifestFile {
    pub path: String,
    pub size: u64,
    /// The object holding the content.
    pub sha256: String,
    /// Stored as an LFS file (else a regular git blob).
    pub lfs: bool,
}

/// One commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub id: String,
    pub parents: Vec<String>,
    pub title: String,
    #[serde(default)]
    pub message: String,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    pub fn date(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.time_ms)
    }
}

/// One change of a commit, as received.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A regular file whose content is already stored as object `sha256`.
    File {
        path: String,
        sha256: String,
        size: u64,
    },
    /// An LFS file (object must be stored).
    LfsFile {
        path: String,
        sha256: String,
        size: Option<u64>,
    },
    DeleteFile(String),
    DeleteFolder(String),
}

/// Why a commit was refused.
#[derive(Debug)]
pub(crate) enum CommitRefusal {
    NoRevision(String),
    ParentMismatch { head: String },
    MissingEntry(String),
    MissingObject(String),
    BadRequest(String),
    Io(Error),
}

impl From<Error> for CommitRefusal {
    fn from(e: Error) -> Self {
        CommitRefusal::Io(e)
    }
}

/// The result of a commit.
#[derive(Debug)]
pub(crate) struct Committed {
    pub id: String,
    pub pr_num: Option<u64>,
}

/// The store of written repositories.
#[derive(Debug)]
pub(crate) struct History {
    pub(super) base: PathBuf,
    /// Serialises every change of refs and repositories.
    pub(super) writes: tokio::sync::Mutex<()>,
    /// Revisions already built, by `type/id@commit`.
    pub(super) revisions: Mutex<HashMap<String, Arc<Revision>>>,
    /// Distinguishes commits made in the same millisecond.
    pub(super) counter: std::sync::atomic::AtomicU64,
}

pub(super) fn io_err(ctx: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let ctx = ctx.into();
    move |e| Error::io(ctx, e)
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("mirror file-system task", io::Error::other(e.to_string())))?
}

/// Writes `bytes` to `path` through a temp file in the same folder and a rename.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::InvalidInput(format!("{} has no parent", path.display())))?;
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, bytes).map_err(io_err(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("renaming into {}", path.display()), e)
    })
}

pub(super) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::json(format!("reading {}", path.display()), e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

pub(super) fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::json("encoding mirror state", e))
}

/// Whether `s` is a 64-hex sha256.
pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl History {
    /// The store under `root/.hfkit-mirror`.
    pub fn new(root: &Path) -> Self {
        History {
            base: root.join(STATE_DIR),
            writes: tokio::sync::Mutex::new(()),
            revisions: Mutex::new(HashMap::new()),
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub(super) fn repo_dir(&self, t: RepoType, id: &RepoId) -> PathBuf {
        self.base
            .join("repos")
            .join(t.plural())
            .join(id.namespace().unwrap_or("_"))
            .join(id.name())
    }

    /// Whether the repository was created through the API.
    pub async fn exists(&self, t: RepoType, id: &RepoId) -> bool {
        tokio::fs::metadata(self.repo_dir(t, id).join("refs.json"))
            .await
            .is_ok()
    }

    /// The settings of a written repository.
    pub async fn meta(&self, t: RepoType, id: &RepoId) -> Result<Option<RepoMeta>> {
        let path = self.repo_dir(t, id).join("repo.json");
        blocking(move || read_json(&path)).await
    }

    /// The refs of a written repository (`None` when it is not one).
    pub async fn refs(&self, t: RepoType, id: &RepoId) -> Result<Option<Refs>> {
        let path = self.repo_dir(t, id).join("refs.json");
        blocking(move || read_json(&path)).await
    }

    /// A commit manifest.
    pub async fn manifest(
        &self,
        t: RepoType,
        id: &RepoId,
        commit: &str,
    ) -> Result<Option<Manifest>> {
        if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let path = self
            .repo_dir(t, id)
            .join("commits")
            .join(format!("{commit}.json"));
        blocking(move || read_json(&path)).await
    }

    /// The commit a revision name points at: a branch, a tag, `refs/pr/N` or a commit id.
    pub fn resolve(refs: &Refs, rev: &str) -> Option<String> {
        if let Some(c) = refs.branches.get(rev) {
            return Some(c.clone());
        }
        if let Some(c) = refs.tags.get(rev) {
            return Some(c.clone());
        }
        if let Some(n) = rev
            .strip_prefix("refs/pr/")
            .and_then(|n| n.parse::<u64>().ok())
        {
            return refs.prs.get(&n).cloned();
        }
        if let Some(b) = rev.strip_prefix("refs/heads/") {
            return refs.branches.get(b).cloned();
        }
        None
    }

    /// The revision `rev` of a written repository: `Ok(None)` when the repository is not a
    /// written one, `Err(None)`-like `Ok(Some(None))` when the revision does not exist.
    pub async fn revision(
        &self,
        t: RepoType,
        id: &RepoId,
        rev: &str,
    ) -> Result<Option<Option<Arc<Revision>>>> {
        let Some(refs) = self.refs(t, id).await? else {
            return Ok(None);
        };
        let commit = match Self::resolve(&refs, rev) {
            Some(c) => c,
            None => rev.to_ascii_lowercase(),
        };
        let key = format!("{}/{}@{commit}", t.plural(), id.as_str());
        if let Some(r) = self
            .revisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Some(Some(r.clone())));
        }
        let Some(manifest) = self.manifest(t, id, &commit).await? else {
            return Ok(Some(None));
        };
        let rev = Arc::new(self.build_revision(manifest).await?);
        self.revisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, rev.clone());
        Ok(Some(Some(rev)))
    }

    async fn build_revision(&self, m: Manifest) -> Result<Revision> {
        let paths: Vec<(ManifestFile, PathBuf)> = m
            .files
            .iter()
            .map(|f| (f.clone(), self.object_path(&f.sha256)))
            .collect();
        let entries = blocking(move || {
            let mut out = Vec::with_capacity(paths.len());
            for (f, source) in paths {
                let meta = std::fs::metadata(&source)
                    .map_err(io_err(format!("reading object {}", source.display())))?;
                let mtime = meta
                    .modified()
                    .map_err(io_err(format!("reading object {}", source.display())))?;
                let (oid, lfs) = if f.lfs {
                    let pointer = lfs_pointer(&f.sha256, f.size);
                    (
                        git_blob_sha1(pointer.as_bytes()),
                        Some(LfsIds {
                            sha256: f.sha256.clone(),
                            pointer_size: pointer.len() as u64,
                        }),
                    )
                } else {
                    (git_oid_of_object(&source, f.size)?, None)
                };
                out.push(FileEntry {
                    path: f.path,
                    size: f.size,
                    mtime,
                    oid,
                    lfs,
                    source,
                });
            }
            Ok(out)
        })
        .await?;
        Ok(Revision::committed(
            entries,
            m.id.clone(),
            m.date(),
            m.title,
        ))
    }

    /// Every written repository of type `t`, with the date of its `main` head.
    pub async fn list(&self, t: RepoType) -> Result<Vec<(RepoId, SystemTime)>> {
        let dir = self.base.join("repos").join(t.plural());
        let ids = blocking(move || {
            let mut ids = Vec::new();
            let Ok(nss) = std::fs::read_dir(&dir) else {
                return Ok(ids);
            };
            for ns in nss.flatten() {
                let Ok(names) = std::fs::read_dir(ns.path()) else {
                    continue;
                };
                for name in names.flatten() {
                    if name.path().join("refs.json").is_file()
                        && let (Some(a), Some(b)) = (
                            ns.file_name().to_str().map(str::to_owned),
                            name.file_name().to_str().map(str::to_owned),
                        )
                        && let Ok(id) = RepoId::new(format!("{a}/{b}"))
                    {
                        ids.push(id);
                    }
                }
            }
            Ok(ids)
        })
        .await?;
        let mut out = Vec::new();
        for id in ids {
            let date = match self.revision(t, &id, "main").await {
                Ok(Some(Some(r))) => r.last_modified(),
                _ => UNIX_EPOCH,
            };
            out.push((id, date));
        }
        Ok(out)
    }

    /// Creates a repository with a first commit holding `.gitattributes`. `Ok(false)` when it
    /// already exists.
    pub async fn create(&self, t: RepoType, id: &RepoId, meta: RepoMeta) -> Result<bool> {
        let _guard = self.writes.lock().await;
        if self.exists(t, id).await {
            return Ok(false);
        }
        let sha = self
            .put_bytes(bytes::Bytes::from_static(INITIAL_GITATTRIBUTES.as_bytes()))
            .await?;
        let files = vec![ManifestFile {
            path: ".gitattributes".into(),
            size: INITIAL_GITATTRIBUTES.len() as u64,
            sha256: sha,
            lfs: false,
        }];
        let (cid, time_ms) = self.new_commit_id("", "initial commit", &files);
        let manifest = Manifest {
            id: cid.clone(),
            parents: Vec::new(),
            title: "initial commit".into(),
            message: String::new(),
            time_ms,
            files,
        };
        let mut refs = Refs::default();
        refs.branches.insert("main".into(), cid.clone());
        let dir = self.repo_dir(t, id);
        let (m, r, md) = (to_json(&manifest)?, to_json(&refs)?, to_json(&meta)?);
        blocking(move || {
            write_atomic(&dir.join("repo.json"), &md)?;
            write_atomic(&dir.join("commits").join(format!("{cid}.json")), &m)?;
            write_atomic(&dir.join("refs.json"), &r)
        })
        .await?;
        Ok(true)
    }

    /// Deletes a written repository. `Ok(false)` when there is none.
    pub async fn delete(&self, t: RepoType, id: &RepoId) -> Result<bool> {
        let _guard = self.writes.lock().await;
        if !self.exists(t, id).await {
            return Ok(false);
        }
        let dir = self.repo_dir(t, id);
        let trash = self.tmp_path();
        self.forget(t, id);
        blocking(move || {
            if let Some(d) = trash.parent() {
                std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
            }
            // Renamed away first, so the repository vanishes at once.
            std::fs::rename(&dir, &trash).map_err(io_err(format!("deleting {}", dir.display())))?;
            std::fs::remove_dir_all(&trash).map_err(io_err(format!("deleting {}", trash.display())))
        })
        .await?;
        Ok(true)
    }

    /// Renames a written repository. `Ok(Err(msg))` when refused.
    pub async fn rename(
        &self,
        t: RepoType,
        from: &RepoId,
        to: &RepoId,
    ) -> Result<std::result::Result<(), String>> {
        let _guard = self.writes.lock().await;
        if !self.exists(t, from).await {
            return Ok(Err(format!("Repository {} not found", from.as_str())));
        }
        if self.exists(t, to).await {
            return Ok(Err(format!("Repository {} already exists", to.as_str())));
        }
        let (a, b) = (self.repo_dir(t, from), self.repo_dir(t, to));
        self.forget(t, from);
        blocking(move || {
            if let Some(d) = b.parent() {
                std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
            }
            std::fs::rename(&a, &b).map_err(io_err(format!("moving {}", a.display())))
        })
        .await?;
        Ok(Ok(()))
    }

    pub(super) fn forget(&self, t: RepoType, id: &RepoId) {
        let prefix = format!("{}/{}@", t.plural(), id.as_str());
        self.revisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| !k.starts_with(&prefix));
    }

    /// Updates the settings of a written repository.
    pub async fn update_meta(
        &self,
        t: RepoType,
        id: &RepoId,
        f: impl FnOnce(&mut RepoMeta),
    ) -> Result<bool> {
        let _guard = self.writes.lock().await;
        if !self.exists(t, id).await {
            return Ok(false);
        }
        let mut meta = self.meta(t, id).await?.unwrap_or_default();
        f(&mut meta);
        let path = self.repo_dir(t, id).join("repo.json");
        let bytes = to_json(&meta)?;
        blocking(move || write_atomic(&path, &bytes)).await?;
        Ok(true)
    }

    /// Changes the refs under the write lock: `f` gets the current refs and returns the new ones
    /// (or a refusal message with its status).
    pub async fn update_refs(
        &self,
        t: RepoType,
        id: &RepoId,
        f: impl FnOnce(&mut Refs) -> std::result::Result<(), (u16, String)>,
    ) -> Result<Option<std::result::Result<(), (u16, String)>>> {
        let _guard = self.writes.lock().await;
        let Some(mut refs) = self.refs(t, id).await? else {
            return Ok(None);
        };
        if let Err(e) = f(&mut refs) {
            return Ok(Some(Err(e)));
        }
        let path = self.repo_dir(t, id).join("refs.json");
        let bytes = to_json(&refs)?;
        blocking(move || write_atomic(&path, &bytes)).await?;
        Ok(Some(Ok(())))
    }
}
