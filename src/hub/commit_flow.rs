//! The commit pipeline (hub.md §6.2, §6.8): validate, sample, preupload, hash what the server's
//! upload mode needs (sha256 for LFS, the git blob id for regular files), drop no-ops, upload LFS
//! objects, then one NDJSON commit — or, with [`Limits`], a chain of commits each of at most
//! `max_operations` lines and `max_inline_bytes` of inline base64, each later one naming the
//! previous as its `parentCommit`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::ApiRepo;
use super::commit::{
    AddSource, CommitInfo, CommitOperation, CommitOptions, normalize_path_in_repo,
};
use super::commit_chain::read_checked;
use super::commit_wire::PREUPLOAD_BATCH;
use super::digest::{self, Hashed, Spool, Stamp, Want};
use super::lfs::{self, LfsObject, UploadControl};
use super::progress::ProgressHandle;
use crate::error::{Error, Result};
use crate::repo::{Repo, validate_revision};

/// A `README.md` larger than this is not sent to `validate-yaml`.
const MAX_README_CHECK: u64 = 1 << 20;
/// Operations per commit of a chained upload (hub.md §6.8).
pub(crate) const DEFAULT_MAX_OPERATIONS: usize = 200;
/// Inline base64 bytes per commit of a chained upload (hub.md §6.8).
pub(crate) const DEFAULT_MAX_INLINE_BYTES: u64 = 64 << 20;

/// How large one commit may be; larger uploads become a chain of commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub max_operations: usize,
    pub max_inline_bytes: u64,
}

impl Limits {
    /// Always one commit.
    pub(crate) fn single() -> Limits {
        Limits {
            max_operations: usize::MAX,
            max_inline_bytes: u64::MAX,
        }
    }

    /// At most `max_operations` (≥ 1) lines and 64 MiB of inline base64 per commit.
    pub(crate) fn chained(max_operations: usize) -> Limits {
        Limits {
            max_operations: max_operations.max(1),
            max_inline_bytes: DEFAULT_MAX_INLINE_BYTES,
        }
    }
}

/// The upload mode the server chose for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Regular,
    Lfs,
}

/// An addition after sampling, preupload and hashing.
#[derive(Debug, Clone)]
pub(crate) struct Addition {
    pub path: String,
    /// Bytes or a local file (readers are spooled to a file first).
    pub source: AddSource,
    pub size: u64,
    pub sample: Vec<u8>,
    /// The stamp of a local source when it was sampled.
    pub stamp: Option<Stamp>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub mode: Mode,
    pub ignore: bool,
    pub remote_oid: Option<String>,
}

impl Addition {
    /// The oid the preupload answer is compared with: sha256 for LFS, the git blob id else.
    pub(crate) fn local_oid(&self) -> Option<&str> {
        match self.mode {
            Mode::Regular => self.sha1.as_deref(),
            Mode::Lfs => self.sha256.as_deref(),
        }
    }

    /// An addition of `size` bytes whose digests are not known yet.
    pub(crate) fn new(path: String, source: AddSource, size: u64, sample: Vec<u8>) -> Self {
        Addition {
            path,
            source,
            size,
            sample,
            stamp: None,
            sha1: None,
            sha256: None,
            mode: Mode::Regular,
            ignore: false,
            remote_oid: None,
        }
    }
}

/// A validated operation, in commit order (`Add` indexes the additions).
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

/// One line of a commit: an addition (its line built when sent) or a finished line.
pub(crate) enum Line {
    Add(usize),
    Ready(Value),
}

/// What a commit chain is made of besides its lines.
pub(crate) struct ChainSpec<'a> {
    pub message: &'a str,
    pub description: &'a str,
    pub parent_commit: Option<&'a str>,
    pub create_pr: bool,
    pub progress: Option<&'a ProgressHandle>,
}

fn check_message_and_parent(opts: &CommitOptions) -> Result<()> {
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
    Ok(())
}

/// Validates the operations (no request): the steps and the additions that survive (the last
/// addition of a path wins).
/// Additions as (path in repo, source).
type Adds = Vec<(String, AddSource)>;

fn plan(repo: &Repo, ops: &[CommitOperation]) -> Result<(Vec<Step>, Adds)> {
    let mut steps = Vec::new();
    let mut adds: Adds = Vec::new();
    let mut added: HashSet<String> = HashSet::new();
    for op in ops {
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
                let bare = path.trim_end_matches('/');
                if added
                    .iter()
                    .any(|a| a == bare || (*is_folder && a.starts_with(&format!("{bare}/"))))
                {
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
    let mut last_add: HashMap<&str, usize> = HashMap::new();
    for (i, (p, _)) in adds.iter().enumerate() {
        last_add.insert(p.as_str(), i);
    }
    let mut renumber: HashMap<usize, usize> = HashMap::new();
    let mut live = Vec::new();
    for (i, add) in adds.iter().enumerate() {
        if last_add.get(add.0.as_str()) == Some(&i) {
            renumber.insert(i, live.len());
            live.push(add.clone());
        }
    }
    let steps = steps
        .into_iter()
        .filter_map(|s| match s {
            Step::Add(i) => renumber.get(&i).map(|j| Step::Add(*j)),
            other => Some(other),
        })
        .collect();
    Ok((steps, live))
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::io("hashing task", std::io::Error::other(e.to_string()))
}

impl ApiRepo {
    /// Where readers are spooled while hashed.
    fn spool_dir(&self) -> std::path::PathBuf {
        self.hub().settings().hf_home().join("spool")
    }

    /// Sizes, samples and stamps of the sources (readers spooled to disk and fully hashed).
    pub(crate) async fn sample_all(
        &self,
        items: Vec<(String, AddSource)>,
        progress: Option<&ProgressHandle>,
    ) -> Result<(Vec<Addition>, Vec<Spool>)> {
        let workers = self.hub().settings().max_workers().max(1);
        let spool_dir = self.spool_dir();
        let jobs: Vec<_> = items
            .into_iter()
            .map(|(path, source)| {
                let spool_dir = spool_dir.clone();
                async move { sample_one(path, source, &spool_dir, progress).await }
            })
            .collect();
        let done: Vec<(Addition, Option<Spool>)> = futures::stream::iter(jobs)
            .buffered(workers)
            .try_collect()
            .await?;
        let mut spools = Vec::new();
        let mut additions = Vec::with_capacity(done.len());
        for (a, s) in done {
            additions.push(a);
            spools.extend(s);
        }
        Ok((additions, spools))
    }

    /// `validate-yaml` for an added `README.md`, then preupload of `idx` in batches of 256.
    pub(crate) async fn preupload_all(
        &self,
        repo: &Repo,
        additions: &mut [Addition],
        idx: &[usize],
        create_pr: bool,
    ) -> Result<()> {
        let find = |name: &str| {
            idx.iter()
                .filter_map(|i| additions.get(*i))
                .find(|a| a.path == name)
        };
        if let Some(readme) = find("README.md")
            && readme.size <= MAX_README_CHECK
        {
            let content = read_checked(readme).await?;
            self.validate_yaml(repo, &String::from_utf8_lossy(&content))
                .await?;
        }
        let git_ignore = match find(".gitignore") {
            Some(a) => Some(String::from_utf8_lossy(&read_checked(a).await?).into_owned()),
            None => None,
        };
        for chunk in idx.chunks(PREUPLOAD_BATCH) {
            self.preupload(repo, chunk, additions, git_ignore.as_deref(), create_pr)
                .await?;
        }
        Ok(())
    }

    /// Computes the digest each non-ignored addition of `idx` needs for its mode.
    pub(crate) async fn hash_needed(
        &self,
        additions: &mut [Addition],
        idx: &[usize],
        workers: usize,
        progress: Option<&ProgressHandle>,
    ) -> Result<()> {
        let jobs: Vec<_> = idx
            .iter()
            .filter_map(|i| additions.get(*i).map(|a| (*i, a)))
            .filter(|(_, a)| !a.ignore && a.local_oid().is_none())
            .map(|(i, a)| {
                let want = Want {
                    sha1: a.mode == Mode::Regular,
                    sha256: a.mode == Mode::Lfs,
                };
                let (source, stamp, label) = (a.source.clone(), a.stamp, a.path.clone());
                let progress = progress.cloned();
                async move {
                    let h = match source {
                        AddSource::Path(p) => {
                            let stamp = match stamp {
                                Some(s) => s,
                                None => Stamp::of(&p)?,
                            };
                            tokio::task::spawn_blocking(move || {
                                digest::hash_path(&p, &stamp, want, progress.as_ref(), &label)
                            })
                            .await
                            .map_err(join_error)??
                        }
                        AddSource::Bytes(b) => digest::hash_bytes(&b, want),
                        AddSource::Reader(_) => return Err(unspooled(&label)),
                    };
                    Ok::<(usize, Hashed), Error>((i, h))
                }
            })
            .collect();
        let hashed: Vec<(usize, Hashed)> = futures::stream::iter(jobs)
            .buffer_unordered(workers.max(1))
            .try_collect()
            .await?;
        for (i, h) in hashed {
            if let Some(a) = additions.get_mut(i) {
                a.sha1 = a.sha1.take().or(h.sha1);
                a.sha256 = a.sha256.take().or(h.sha256);
            }
        }
        Ok(())
    }

    /// The pipeline of [`ApiRepo::create_commit`], split into a chain of commits by `limits`.
    pub(crate) async fn run_commit(
        &self,
        opts: CommitOptions,
        limits: Limits,
    ) -> Result<CommitInfo> {
        let repo = self.repo()?;
        check_message_and_parent(&opts)?;
        let (steps, items) = plan(&repo, &opts.operations)?;
        let progress = opts.progress.as_ref();
        if let Some(p) = progress {
            p.stage("hashing");
        }
        // Spools live until the commit is done.
        let (mut additions, _spools) = self.sample_all(items, progress).await?;
        let all: Vec<usize> = (0..additions.len()).collect();
        self.preupload_all(&repo, &mut additions, &all, opts.create_pr)
            .await?;
        let workers = self.hub().settings().max_workers();
        self.hash_needed(&mut additions, &all, workers, progress)
            .await?;

        // Drop no-ops (unless their path or a parent is deleted in this commit).
        let deleted: Vec<String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Delete { path, .. } => Some(path.trim_end_matches('/').to_owned()),
                _ => None,
            })
            .collect();
        for a in additions.iter_mut().filter(|a| !a.ignore) {
            let touched = deleted
                .iter()
                .any(|d| a.path == *d || a.path.starts_with(&format!("{d}/")));
            if a.remote_oid.is_some() && a.remote_oid.as_deref() == a.local_oid() && !touched {
                tracing::debug!("{} is unchanged; skipped", a.path);
                a.ignore = true;
            }
        }

        let objects = lfs_objects(&additions, &all);
        if !objects.is_empty() {
            if let Some(p) = progress {
                p.stage("uploading");
            }
            let ref_name = (!opts.create_pr).then(|| repo.revision());
            let ctl = UploadControl {
                progress,
                ..UploadControl::default()
            };
            lfs::upload_objects(self.hub().http(), &repo, objects, ref_name, &ctl).await?;
        }

        let mut lines = Vec::new();
        for step in &steps {
            match step {
                Step::Add(i) => {
                    if additions.get(*i).is_some_and(|a| !a.ignore) {
                        lines.push(Line::Add(*i));
                    }
                }
                Step::Delete { path, folder } => {
                    let key = if *folder {
                        "deletedFolder"
                    } else {
                        "deletedFile"
                    };
                    lines.push(Line::Ready(json!({"key": key, "value": {"path": path}})));
                }
                Step::Copy { src, dst, rev } => {
                    lines.push(Line::Ready(self.copy_line(&repo, src, dst, rev).await?));
                }
            }
        }
        let spec = ChainSpec {
            message: &opts.message,
            description: &opts.description,
            parent_commit: opts.parent_commit.as_deref(),
            create_pr: opts.create_pr,
            progress,
        };
        match self
            .commit_chain(&repo, &additions, lines, &spec, limits, &mut |_| Ok(()))
            .await?
        {
            Some(info) => Ok(info),
            None => {
                tracing::info!("nothing to commit: every file is unchanged");
                self.head_info(&repo).await
            }
        }
    }
}

/// Samples one source; a reader is spooled and hashed completely.
async fn sample_one(
    path: String,
    source: AddSource,
    spool_dir: &Path,
    progress: Option<&ProgressHandle>,
) -> Result<(Addition, Option<Spool>)> {
    match source {
        AddSource::Bytes(b) => {
            let h = digest::hash_bytes(
                &b[..b.len().min(digest::SAMPLE_SIZE)],
                Want {
                    sha1: false,
                    sha256: false,
                },
            );
            let size = b.len() as u64;
            Ok((
                Addition::new(path, AddSource::Bytes(b), size, h.sample),
                None,
            ))
        }
        AddSource::Path(p) => {
            let p2 = p.clone();
            let (sample, stamp) = tokio::task::spawn_blocking(move || digest::sample_path(&p2))
                .await
                .map_err(join_error)??;
            let mut a = Addition::new(path, AddSource::Path(p), stamp.size, sample);
            a.stamp = Some(stamp);
            Ok((a, None))
        }
        AddSource::Reader(r) => {
            let size = r.size();
            let Some(mut reader) = r.take().await else {
                return Err(Error::InvalidInput(format!(
                    "the reader for {path} was already consumed"
                )));
            };
            let (h, spool) =
                digest::spool_reader(reader.as_mut(), size, spool_dir, progress, &path).await?;
            let stamp = Stamp::of(spool.path())?;
            let mut a = Addition::new(
                path,
                AddSource::Path(spool.path().to_path_buf()),
                size,
                h.sample,
            );
            a.stamp = Some(stamp);
            a.sha1 = h.sha1;
            a.sha256 = h.sha256;
            Ok((a, Some(spool)))
        }
    }
}

fn unspooled(label: &str) -> Error {
    Error::InvalidInput(format!(
        "the reader for {label} was not read before its upload"
    ))
}

/// The LFS objects to upload among `idx` (non-ignored, deduplicated by sha256).
pub(crate) fn lfs_objects(additions: &[Addition], idx: &[usize]) -> Vec<LfsObject> {
    let mut seen = HashSet::new();
    idx.iter()
        .filter_map(|i| additions.get(*i))
        .filter(|a| !a.ignore && a.mode == Mode::Lfs)
        .filter_map(|a| {
            let oid = a.sha256.clone()?;
            seen.insert(oid.clone()).then(|| LfsObject {
                oid,
                size: a.size,
                source: a.source.clone(),
                path: a.path.clone(),
                stamp: a.stamp,
            })
        })
        .collect()
}
