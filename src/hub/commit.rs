//! Commits (hub.md §6.2–§6.6): operations, preupload, LFS uploads and the NDJSON commit.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::hub::commit::{CommitOperation, CommitOptions};
//! let hub = hfkit::HubClient::new()?;
//! let info = hub
//!     .model("me/my-model")
//!     .create_commit(CommitOptions::new(
//!         "Add weights, drop the old ones",
//!         vec![
//!             CommitOperation::add_file("model.safetensors", "./out/model.safetensors"),
//!             CommitOperation::add_bytes("notes.txt", b"trained on friday\n".to_vec()),
//!             CommitOperation::delete("old/"),
//!         ],
//!     ))
//!     .await?;
//! println!("{}", info.commit_url);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::ApiRepo;
use super::lfs::{self, LfsObject};
use crate::error::{Error, Result};
use crate::http::response::ErrorScope;
use crate::repo::{Repo, encode_path, encode_revision, validate_revision};

/// Files per preupload request.
const PREUPLOAD_BATCH: usize = 256;
/// Bytes of each file sent as its sample.
const SAMPLE_SIZE: usize = 512;
/// Read buffer while hashing.
const HASH_BUF: usize = 256 * 1024;
/// A `README.md` larger than this is not sent to `validate-yaml`.
const MAX_README_CHECK: u64 = 1 << 20;

/// Where the bytes of an addition come from.
#[derive(Debug, Clone)]
pub enum AddSource {
    /// A local file, read (streamed) when needed.
    Path(PathBuf),
    /// Bytes in memory.
    Bytes(Bytes),
}

impl From<PathBuf> for AddSource {
    fn from(p: PathBuf) -> Self {
        AddSource::Path(p)
    }
}

impl From<&Path> for AddSource {
    fn from(p: &Path) -> Self {
        AddSource::Path(p.to_path_buf())
    }
}

impl From<Vec<u8>> for AddSource {
    fn from(b: Vec<u8>) -> Self {
        AddSource::Bytes(Bytes::from(b))
    }
}

impl From<Bytes> for AddSource {
    fn from(b: Bytes) -> Self {
        AddSource::Bytes(b)
    }
}

/// One change of a commit.
#[derive(Debug, Clone)]
pub enum CommitOperation {
    /// Adds or replaces a file.
    Add {
        /// Destination in the repository.
        path_in_repo: String,
        /// The content.
        source: AddSource,
    },
    /// Deletes a file, or a folder and everything below it.
    Delete {
        /// The path (a folder may end with `/`).
        path_in_repo: String,
        /// Whether `path_in_repo` is a folder.
        is_folder: bool,
    },
    /// Copies a file of the same repository (at `src_revision`, default: the commit's revision).
    Copy {
        /// Source path.
        src: String,
        /// Destination path.
        dst: String,
        /// Revision of the source.
        src_revision: Option<String>,
    },
}

impl CommitOperation {
    /// Adds the local file `local` as `path_in_repo`.
    pub fn add_file(path_in_repo: impl Into<String>, local: impl Into<PathBuf>) -> Self {
        CommitOperation::Add {
            path_in_repo: path_in_repo.into(),
            source: AddSource::Path(local.into()),
        }
    }

    /// Adds `bytes` as `path_in_repo`.
    pub fn add_bytes(path_in_repo: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        CommitOperation::Add {
            path_in_repo: path_in_repo.into(),
            source: AddSource::Bytes(bytes.into()),
        }
    }

    /// Deletes `path_in_repo`: a folder when it ends with `/`, else a file.
    pub fn delete(path_in_repo: impl Into<String>) -> Self {
        let path_in_repo = path_in_repo.into();
        let is_folder = path_in_repo.ends_with('/');
        CommitOperation::Delete {
            path_in_repo,
            is_folder,
        }
    }

    /// Copies `src` to `dst` within the repository.
    pub fn copy(src: impl Into<String>, dst: impl Into<String>) -> Self {
        CommitOperation::Copy {
            src: src.into(),
            dst: dst.into(),
            src_revision: None,
        }
    }
}

/// What to commit: see [`ApiRepo::create_commit`].
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The operations, applied in order.
    pub operations: Vec<CommitOperation>,
    /// The commit title (required).
    pub message: String,
    /// The commit description (may be empty).
    pub description: String,
    /// The commit the branch head must be (5–40 hex); a moved head is a `CommitConflict`.
    pub parent_commit: Option<String>,
    /// Open a pull request from the revision instead of committing to it.
    pub create_pr: bool,
}

impl CommitOptions {
    /// A commit titled `message` of `operations`.
    pub fn new(message: impl Into<String>, operations: Vec<CommitOperation>) -> Self {
        CommitOptions {
            operations,
            message: message.into(),
            ..Default::default()
        }
    }

    /// The description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// The expected parent commit.
    pub fn parent_commit(mut self, c: impl Into<String>) -> Self {
        self.parent_commit = Some(c.into());
        self
    }

    /// Open a pull request.
    pub fn create_pr(mut self, yes: bool) -> Self {
        self.create_pr = yes;
        self
    }
}

/// The result of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// `{E}/{P}{repo}/commit/{oid}`.
    pub commit_url: String,
    /// The commit id.
    pub oid: String,
    /// The pull request's URL (with `create_pr`).
    pub pr_url: Option<String>,
    /// The pull request's number (with `create_pr`): its ref is `refs/pr/{n}`.
    pub pr_num: Option<u64>,
}

impl CommitInfo {
    /// The revision to read the commit's files at: `refs/pr/{n}` for a pull request, else the
    /// commit id.
    pub fn revision(&self) -> String {
        match self.pr_num {
            Some(n) => format!("refs/pr/{n}"),
            None => self.oid.clone(),
        }
    }
}

/// Normalises a path in the repository (hub.md §6.2): one leading `/` then `./` stripped; `.`,
/// `..`, `.git` and `.cache` segments and empty paths refused. `folder` allows one trailing `/`.
pub fn normalize_path_in_repo(path: &str, folder: bool) -> Result<String> {
    let mut p = path.strip_prefix('/').unwrap_or(path);
    p = p.strip_prefix("./").unwrap_or(p);
    let bad = |why: &str| Error::InvalidInput(format!("invalid path in repo {path:?}: {why}"));
    let body = if folder {
        p.strip_suffix('/').unwrap_or(p)
    } else {
        p
    };
    if body.is_empty() {
        return Err(bad("empty"));
    }
    if body.contains('\\') || body.contains('\0') {
        return Err(bad("backslashes and NUL are not allowed"));
    }
    for seg in body.split('/') {
        match seg {
            "" => return Err(bad("empty segment")),
            "." | ".." => return Err(bad("`.` and `..` segments are not allowed")),
            ".git" | ".cache" => {
                return Err(bad("`.git` and `.cache` folders cannot be committed"));
            }
            _ => {}
        }
    }
    Ok(p.to_owned())
}

/// The upload mode the server chose for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Regular,
    Lfs,
}

/// An addition after hashing and preupload.
#[derive(Debug, Clone)]
struct Addition {
    path: String,
    source: AddSource,
    size: u64,
    sample: Vec<u8>,
    sha1: String,
    sha256: String,
    mode: Mode,
    ignore: bool,
    remote_oid: Option<String>,
}

impl Addition {
    fn local_oid(&self) -> &str {
        match self.mode {
            Mode::Regular => &self.sha1,
            Mode::Lfs => &self.sha256,
        }
    }
}

/// Sizes, samples and hashes of a source in one streamed pass.
struct Hashed {
    size: u64,
    sample: Vec<u8>,
    sha1: String,
    sha256: String,
}

fn hash_bytes(b: &[u8]) -> Hashed {
    let mut s1 = Sha1::new();
    s1.update(format!("blob {}\0", b.len()).as_bytes());
    s1.update(b);
    Hashed {
        size: b.len() as u64,
        sample: b[..b.len().min(SAMPLE_SIZE)].to_vec(),
        sha1: hex::encode(s1.finalize()),
        sha256: hex::encode(Sha256::digest(b)),
    }
}

fn hash_path(path: &Path) -> Result<Hashed> {
    let ctx = || format!("reading {}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
    let size = file.metadata().map_err(|e| Error::io(ctx(), e))?.len();
    let mut s1 = Sha1::new();
    s1.update(format!("blob {size}\0").as_bytes());
    let mut s256 = Sha256::new();
    let mut sample = Vec::with_capacity(SAMPLE_SIZE);
    let mut buf = vec![0u8; HASH_BUF];
    let mut read = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(ctx(), e)),
        };
        let chunk = &buf[..n];
        if sample.len() < SAMPLE_SIZE {
            let take = (SAMPLE_SIZE - sample.len()).min(n);
            sample.extend_from_slice(&chunk[..take]);
        }
        s1.update(chunk);
        s256.update(chunk);
        read += n as u64;
    }
    if read != size {
        return Err(lfs::changed(path, size, read));
    }
    Ok(Hashed {
        size,
        sample,
        sha1: hex::encode(s1.finalize()),
        sha256: hex::encode(s256.finalize()),
    })
}

async fn hash_source(source: &AddSource) -> Result<Hashed> {
    match source {
        AddSource::Bytes(b) => Ok(hash_bytes(b)),
        AddSource::Path(p) => {
            let p = p.clone();
            tokio::task::spawn_blocking(move || hash_path(&p))
                .await
                .map_err(|e| Error::io("hashing task", std::io::Error::other(e.to_string())))?
        }
    }
}

#[derive(Debug, Deserialize)]
struct PreuploadAnswer {
    files: Vec<PreuploadFile>,
}

#[derive(Debug, Deserialize)]
struct PreuploadFile {
    path: String,
    #[serde(rename = "uploadMode")]
    upload_mode: String,
    #[serde(rename = "shouldIgnore", default)]
    should_ignore: bool,
    #[serde(default)]
    oid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CommitAnswer {
    #[serde(rename = "commitOid")]
    commit_oid: String,
    #[serde(rename = "commitUrl", default)]
    commit_url: Option<String>,
    #[serde(rename = "pullRequestUrl", default)]
    pull_request_url: Option<String>,
}

/// A validated operation, in commit order.
enum Step {
    Add(usize),
    Delete {
        path: String,
        folder: bool,
    },
    Copy {
        src: String,
        dst: String,
        rev: String,
    },
}

impl ApiRepo {
    /// Commits `opts.operations` to this handle's revision (a branch, or `refs/pr/N`): preupload,
    /// LFS uploads of the new large files, then one NDJSON commit (hub.md §6.2). Input is checked
    /// before any request. Additions whose content is already at their path are left out; when
    /// nothing is left, no commit is made and the current head is returned.
    pub async fn create_commit(&self, opts: CommitOptions) -> Result<CommitInfo> {
        let repo = self.repo()?;
        if opts.message.trim().is_empty() {
            return Err(Error::InvalidInput("the commit message is empty".into()));
        }
        if let Some(p) = &opts.parent_commit {
            let ok = (5..=40).contains(&p.len())
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !ok {
                return Err(Error::InvalidInput(format!(
                    "parent_commit {p:?} is not 5 to 40 lowercase hex digits"
                )));
            }
        }
        // 1. Validate everything (no request yet).
        let mut steps = Vec::new();
        let mut adds: Vec<(String, AddSource)> = Vec::new();
        let mut added: HashSet<String> = HashSet::new();
        for op in &opts.operations {
            match op {
                CommitOperation::Add {
                    path_in_repo,
                    source,
                } => {
                    let path = normalize_path_in_repo(path_in_repo, false)?;
                    if let AddSource::Path(p) = source {
                        let meta = std::fs::metadata(p).map_err(|e| {
                            Error::InvalidInput(format!("cannot upload {}: {e}", p.display()))
                        })?;
                        if !meta.is_file() {
                            return Err(Error::InvalidInput(format!(
                                "cannot upload {}: not a file",
                                p.display()
                            )));
                        }
                    }
                    if !added.insert(path.clone()) {
                        tracing::warn!("{path} is added twice in the same commit; the last wins");
                    }
                    steps.push(Step::Add(adds.len()));
                    adds.push((path, source.clone()));
                }
                CommitOperation::Delete {
                    path_in_repo,
                    is_folder,
                } => {
                    let path = normalize_path_in_repo(path_in_repo, *is_folder)?;
                    if added.iter().any(|a| {
                        a == path.trim_end_matches('/')
                            || (*is_folder
                                && a.starts_with(&format!("{}/", path.trim_end_matches('/'))))
                    }) {
                        tracing::warn!("{path} is deleted after being added in the same commit");
                    }
                    steps.push(Step::Delete {
                        path,
                        folder: *is_folder,
                    });
                }
                CommitOperation::Copy {
                    src,
                    dst,
                    src_revision,
                } => {
                    let src = normalize_path_in_repo(src, false)?;
                    let dst = normalize_path_in_repo(dst, false)?;
                    let rev = src_revision
                        .clone()
                        .unwrap_or_else(|| repo.revision().to_owned());
                    validate_revision(&rev)?;
                    steps.push(Step::Copy { src, dst, rev });
                }
            }
        }
        // The last addition of a path wins; earlier ones are dropped.
        let mut last_add: HashMap<&str, usize> = HashMap::new();
        for (i, (p, _)) in adds.iter().enumerate() {
            last_add.insert(p.as_str(), i);
        }
        let live: Vec<usize> = (0..adds.len())
            .filter(|i| last_add.get(adds[*i].0.as_str()) == Some(i))
            .collect();

        // 2. Hash (streamed, in parallel).
        let workers = self.hub().settings().max_workers().max(1);
        // Futures collected first: a lazily mapped closure would make the future not `Send`
        // for every lifetime (what the blocking twin needs).
        let jobs: Vec<_> = live
            .iter()
            .map(|&i| {
                let source = adds[i].1.clone();
                async move { hash_source(&source).await.map(|h| (i, h)) }
            })
            .collect();
        let hashed: Vec<(usize, Hashed)> = futures::stream::iter(jobs)
            .buffer_unordered(workers)
            .try_collect()
            .await?;
        let mut additions: HashMap<usize, Addition> = hashed
            .into_iter()
            .map(|(i, h)| {
                (
                    i,
                    Addition {
                        path: adds[i].0.clone(),
                        source: adds[i].1.clone(),
                        size: h.size,
                        sample: h.sample,
                        sha1: h.sha1,
                        sha256: h.sha256,
                        mode: Mode::Regular,
                        ignore: false,
                        remote_oid: None,
                    },
                )
            })
            .collect();

        // 3. README.md metadata check.
        if let Some(readme) = additions.values().find(|a| a.path == "README.md")
            && readme.size <= MAX_README_CHECK
        {
            let content = lfs::read_all(&readme.source, readme.size).await?;
            self.validate_yaml(&repo, &String::from_utf8_lossy(&content))
                .await?;
        }

        // 4. Preupload.
        let mut order: Vec<usize> = additions.keys().copied().collect();
        order.sort_unstable();
        let git_ignore = match additions.values().find(|a| a.path == ".gitignore") {
            Some(a) => {
                Some(String::from_utf8_lossy(&lfs::read_all(&a.source, a.size).await?).into_owned())
            }
            None => None,
        };
        for chunk in order.chunks(PREUPLOAD_BATCH) {
            self.preupload(
                &repo,
                chunk,
                &mut additions,
                git_ignore.as_deref(),
                opts.create_pr,
            )
            .await?;
        }

        // 5. Drop no-ops (unless their path or a parent is deleted in this commit).
        let deleted: Vec<(String, bool)> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Delete { path, folder } => {
                    Some((path.trim_end_matches('/').to_owned(), *folder))
                }
                _ => None,
            })
            .collect();
        let touched_by_delete = |p: &str| {
            deleted
                .iter()
                .any(|(d, _)| p == d || p.starts_with(&format!("{d}/")))
        };
        for a in additions.values_mut() {
            if a.ignore {
                continue;
            }
            if a.remote_oid.as_deref() == Some(a.local_oid()) && !touched_by_delete(&a.path) {
                tracing::debug!("{} is unchanged; skipped", a.path);
                a.ignore = true;
            }
        }

        // 6. LFS uploads.
        let lfs_objects: Vec<LfsObject> = {
            let mut seen = HashSet::new();
            order
                .iter()
                .filter_map(|i| additions.get(i))
                .filter(|a| !a.ignore && a.mode == Mode::Lfs && seen.insert(a.sha256.clone()))
                .map(|a| LfsObject {
                    oid: a.sha256.clone(),
                    size: a.size,
                    source: a.source.clone(),
                })
                .collect()
        };
        if !lfs_objects.is_empty() {
            let ref_name = (!opts.create_pr).then(|| repo.revision());
            lfs::upload_objects(self.hub().http(), &repo, lfs_objects, ref_name).await?;
        }

        // 7. The commit lines.
        let mut lines: Vec<Value> = Vec::new();
        for step in &steps {
            match step {
                Step::Add(i) => {
                    let Some(a) = additions.get(i) else { continue };
                    if a.ignore {
                        continue;
                    }
                    match a.mode {
                        Mode::Lfs => lines.push(json!({"key": "lfsFile", "value": {
                            "path": a.path, "algo": "sha256", "oid": a.sha256, "size": a.size}})),
                        Mode::Regular => {
                            let content = lfs::read_all(&a.source, a.size).await?;
                            lines.push(json!({"key": "file", "value": {
                                "content": B64.encode(&content), "path": a.path, "encoding": "base64"}}));
                        }
                    }
                }
                Step::Delete { path, folder } => {
                    let key = if *folder {
                        "deletedFolder"
                    } else {
                        "deletedFile"
                    };
                    lines.push(json!({"key": key, "value": {"path": path}}));
                }
                Step::Copy { src, dst, rev } => {
                    lines.push(self.copy_line(&repo, src, dst, rev).await?);
                }
            }
        }
        if lines.is_empty() {
            tracing::info!("nothing to commit: every file is unchanged");
            let head = self.info().await?;
            let oid = head.sha.unwrap_or_default();
            return Ok(CommitInfo {
                commit_url: self.commit_url(&repo, &oid),
                oid,
                pr_url: None,
                pr_num: None,
            });
        }
        let mut header = json!({"summary": opts.message, "description": opts.description});
        if let Some(p) = &opts.parent_commit {
            header["parentCommit"] = json!(p);
        }
        let mut body = Vec::new();
        for v in std::iter::once(json!({"key": "header", "value": header})).chain(lines) {
            serde_json::to_writer(&mut body, &v).map_err(|e| Error::json("commit body", e))?;
            body.push(b'\n');
        }
        let url = format!(
            "{}/commit/{}",
            self.api_url(&repo),
            encode_revision(repo.revision())
        );
        let query: Vec<(&str, &str)> = if opts.create_pr {
            vec![("create_pr", "1")]
        } else {
            Vec::new()
        };
        let answer: CommitAnswer = self
            .hub()
            .http()
            .post(&url)?
            .query(query)
            .body(body, Some("application/x-ndjson"))
            .scope(ErrorScope {
                repo: Some(repo.display_name()),
                revision: Some(repo.revision().to_owned()),
                commit: true,
                ..ErrorScope::default()
            })
            .send_json()
            .await?;
        let pr_num = answer
            .pull_request_url
            .as_deref()
            .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
            .and_then(|n| n.parse::<u64>().ok());
        Ok(CommitInfo {
            commit_url: answer
                .commit_url
                .unwrap_or_else(|| self.commit_url(&repo, &answer.commit_oid)),
            oid: answer.commit_oid,
            pr_url: answer.pull_request_url,
            pr_num,
        })
    }

    fn commit_url(&self, repo: &Repo, oid: &str) -> String {
        format!(
            "{}/{}{}/commit/{oid}",
            self.hub().settings().endpoint(),
            repo.repo_type().url_prefix(),
            repo.id()
        )
    }

    async fn validate_yaml(&self, repo: &Repo, content: &str) -> Result<()> {
        let url = format!("{}/api/validate-yaml", self.hub().settings().endpoint());
        self.hub()
            .http()
            .post(&url)?
            .json(&json!({"repoType": repo.repo_type().as_str(), "content": content}))?
            .retry()
            .send()
            .await?;
        Ok(())
    }

    async fn preupload(
        &self,
        repo: &Repo,
        chunk: &[usize],
        additions: &mut HashMap<usize, Addition>,
        git_ignore: Option<&str>,
        create_pr: bool,
    ) -> Result<()> {
        let files: Vec<Value> = chunk
            .iter()
            .filter_map(|i| additions.get(i))
            .map(|a| json!({"path": a.path, "sample": B64.encode(&a.sample), "size": a.size}))
            .collect();
        let mut body = json!({ "files": files });
        if let Some(g) = git_ignore {
            body["gitIgnore"] = json!(g);
        }
        let url = format!(
            "{}/preupload/{}",
            self.api_url(repo),
            encode_revision(repo.revision())
        );
        let query: Vec<(&str, &str)> = if create_pr {
            vec![("create_pr", "1")]
        } else {
            Vec::new()
        };
        let answer: PreuploadAnswer = self
            .hub()
            .http()
            .post(&url)?
            .query(query)
            .json(&body)?
            .retry()
            .scope(ErrorScope {
                repo: Some(repo.display_name()),
                revision: Some(repo.revision().to_owned()),
                ..ErrorScope::default()
            })
            .send_json()
            .await?;
        let by_path: HashMap<&str, &PreuploadFile> =
            answer.files.iter().map(|f| (f.path.as_str(), f)).collect();
        for i in chunk {
            let Some(a) = additions.get_mut(i) else {
                continue;
            };
            let Some(f) = by_path.get(a.path.as_str()) else {
                return Err(Error::MalformedResponse {
                    url,
                    message: format!("the preupload answer does not mention {}", a.path),
                });
            };
            a.mode = match f.upload_mode.as_str() {
                "lfs" => Mode::Lfs,
                "regular" => Mode::Regular,
                other => {
                    return Err(Error::MalformedResponse {
                        url,
                        message: format!(
                            "unsupported upload mode {other:?} for {}; hfkit knows `regular` and `lfs`",
                            a.path
                        ),
                    });
                }
            };
            if a.size == 0 {
                a.mode = Mode::Regular;
            }
            a.ignore = f.should_ignore;
            a.remote_oid = f.oid.clone();
        }
        Ok(())
    }

    /// The commit line copying `src` (at `rev`) to `dst`: `lfsFile` for an LFS source, else the
    /// downloaded content as `file`.
    async fn copy_line(&self, repo: &Repo, src: &str, dst: &str, rev: &str) -> Result<Value> {
        let at = self.clone().revision(rev.to_owned());
        let entries = at.paths_info(&[src], false).await?;
        let Some(entry) = entries.into_iter().find(|e| e.path == src && e.is_file()) else {
            return Err(Error::InvalidInput(format!(
                "cannot copy {src}: no such file at {rev} in {}",
                repo.display_name()
            )));
        };
        if let Some(l) = &entry.lfs {
            return Ok(
                json!({"key": "lfsFile", "value": {"path": dst, "algo": "sha256", "oid": l.oid}}),
            );
        }
        let url = format!(
            "{}/{}{}/resolve/{}/{}",
            self.hub().settings().endpoint(),
            repo.repo_type().url_prefix(),
            repo.id(),
            encode_revision(rev),
            encode_path(src)
        );
        let resp = self
            .hub()
            .http()
            .get(&url)?
            .retry()
            .scope(super::download::scope_for(repo, src))
            .send()
            .await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| crate::http::body_error(&e, "GET", &url))?;
        Ok(
            json!({"key": "file", "value": {"content": B64.encode(&bytes), "path": dst, "encoding": "base64"}}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert_eq!(
            normalize_path_in_repo("/a/b.txt", false).unwrap(),
            "a/b.txt"
        );
        assert_eq!(normalize_path_in_repo("./a.txt", false).unwrap(), "a.txt");
        assert_eq!(normalize_path_in_repo("/./a.txt", false).unwrap(), "a.txt");
        assert_eq!(normalize_path_in_repo("logs/", true).unwrap(), "logs/");
        for bad in [
            "",
            "/",
            "../a",
            "a/../b",
            "a/./b",
            ".",
            ".git/config",
            "x/.cache/y",
            "a//b",
            "a/",
        ] {
            assert!(
                matches!(
                    normalize_path_in_repo(bad, false),
                    Err(Error::InvalidInput(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hashes_match_git_and_sha256() {
        let h = hash_bytes(b"hello\n");
        assert_eq!(h.sha1, "ce013625030ba8dba906f756967f9e9ca394464a");
        assert_eq!(h.sample, b"hello\n");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let a = hash_path(&p).unwrap();
        let b = hash_bytes(&data);
        assert_eq!((a.size, &a.sha1, &a.sha256), (b.size, &b.sha1, &b.sha256));
        assert_eq!(a.sample.len(), 512);
        assert_eq!(
            hash_bytes(b"").sha1,
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }
}
