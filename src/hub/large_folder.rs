//! Resumable upload of a large folder (hub.md §6.8): every step of every file — sampled and
//! preuploaded, hashed, its LFS object uploaded, committed — is recorded under
//! `FOLDER/.cache/huggingface/upload/{path}.metadata` (Python's eight-line layout: timestamp,
//! size, should-ignore, sha256, upload mode, remote oid, uploaded, committed), so that an upload
//! killed at any point continues where it stopped: finished files are neither hashed, sent nor
//! committed again. LFS objects are all uploaded first, then the files are committed in a chain
//! of commits of at most `max_operations_per_commit` operations and 64 MiB of inline content,
//! each naming the previous one as its parent.
//!
//! ```no_run
//! # async fn demo() -> hfkit::Result<()> {
//! use hfkit::hub::large_folder::LargeFolderOptions;
//! let hub = hfkit::HubClient::new()?;
//! let info = hub
//!     .dataset("me/big-data")
//!     .upload_large_folder("./shards", LargeFolderOptions::default().num_workers(8))
//!     .await?;
//! println!("{}", info.commit_url);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};

use super::ApiRepo;
use super::commit::{AddSource, CommitInfo, normalize_path_in_repo};
use super::commit_flow::{
    Addition, ChainSpec, DEFAULT_MAX_OPERATIONS, Limits, Line, Mode, lfs_objects,
};
use super::digest::{self, Stamp};
use super::lfs::{self, UploadControl};
use super::patterns::PatternFilter;
use super::progress::ProgressHandle;
use super::upload::{DEFAULT_IGNORE_PATTERNS, list_local_files};
use super::upload_state::{self, UploadState};
use crate::error::{Error, Result};

/// Options of [`ApiRepo::upload_large_folder`].
#[derive(Clone, Default)]
pub struct LargeFolderOptions {
    /// Only files matching one of these (folder-relative) are uploaded.
    pub allow_patterns: Option<Vec<String>>,
    /// Files matching one of these are not uploaded (`.git` and `.cache/huggingface` never are).
    pub ignore_patterns: Vec<String>,
    /// Files hashed and uploaded at the same time (default: the `max_workers` setting).
    pub num_workers: Option<usize>,
    /// Commit title (default `Upload large folder using hfkit`; ` (part i/n)` is appended when
    /// there are several commits).
    pub message: Option<String>,
    /// Operations per commit (default 200).
    pub max_operations_per_commit: Option<usize>,
    /// Receives hashing and transfer progress events.
    pub progress: Option<ProgressHandle>,
}

impl std::fmt::Debug for LargeFolderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LargeFolderOptions")
            .field("allow_patterns", &self.allow_patterns)
            .field("ignore_patterns", &self.ignore_patterns)
            .field("num_workers", &self.num_workers)
            .field("message", &self.message)
            .field("max_operations_per_commit", &self.max_operations_per_commit)
            .finish_non_exhaustive()
    }
}

impl LargeFolderOptions {
    /// Allow patterns.
    pub fn allow_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.allow_patterns = Some(super::upload::strings(p));
        self
    }
    /// Ignore patterns.
    pub fn ignore_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.ignore_patterns = super::upload::strings(p);
        self
    }
    /// Files hashed and uploaded at the same time.
    pub fn num_workers(mut self, n: usize) -> Self {
        self.num_workers = Some(n);
        self
    }
    /// Commit title.
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
    /// Operations per commit.
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

/// The recorded states of the files being uploaded, written through on every change.
struct Ledger<'a> {
    folder: &'a Path,
    rels: Vec<String>,
    states: Mutex<Vec<UploadState>>,
}

impl Ledger<'_> {
    fn update(&self, i: usize, f: impl FnOnce(&mut UploadState)) -> Result<()> {
        let mut states = self
            .states
            .lock()
            .map_err(|_| Error::InvalidInput("upload state lock poisoned".into()))?;
        let (Some(st), Some(rel)) = (states.get_mut(i), self.rels.get(i)) else {
            return Ok(());
        };
        f(st);
        upload_state::write(self.folder, rel, st)
    }
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::io("upload task", std::io::Error::other(e.to_string()))
}

impl ApiRepo {
    /// Uploads the files of `folder` to the root of this branch, resumably (see the module
    /// docs): re-running after a crash or a kill continues without re-hashing, re-sending or
    /// re-committing finished files. Returns the last commit (or the head when every file was
    /// already there).
    pub async fn upload_large_folder(
        &self,
        folder: impl AsRef<Path>,
        opts: LargeFolderOptions,
    ) -> Result<CommitInfo> {
        let repo = self.repo()?;
        let folder = folder.as_ref().to_path_buf();
        if !folder.is_dir() {
            return Err(Error::InvalidInput(format!(
                "cannot upload {}: not a folder",
                folder.display()
            )));
        }
        let workers = opts
            .num_workers
            .unwrap_or_else(|| self.hub().settings().max_workers())
            .max(1);
        let progress = opts.progress.as_ref();
        let mut ignore = opts.ignore_patterns.clone();
        ignore.extend(DEFAULT_IGNORE_PATTERNS.iter().map(|s| (*s).to_owned()));
        let filter = PatternFilter::new(opts.allow_patterns.as_deref(), &ignore)?;
        let listed = {
            let f = folder.clone();
            tokio::task::spawn_blocking(move || list_local_files(&f))
                .await
                .map_err(join_error)??
        };
        // 1. What is already known of each file.
        let mut rels = Vec::new();
        let mut states = Vec::new();
        let mut additions = Vec::new();
        for (rel, path) in listed {
            if !filter.is_match(&rel) {
                continue;
            }
            let dest = normalize_path_in_repo(&rel, false)?;
            let stamp = Stamp::of(&path)?;
            let st = upload_state::read(&folder, &rel, &stamp);
            let mut a = Addition::new(dest, AddSource::Path(path), stamp.size, Vec::new());
            a.stamp = Some(stamp);
            a.mode = st.upload_mode.unwrap_or(Mode::Regular);
            a.ignore = st.should_ignore.unwrap_or(false) || st.is_committed;
            a.sha256 = st.sha256.clone();
            a.remote_oid = st.remote_oid.clone();
            rels.push(rel);
            states.push(st);
            additions.push(a);
        }
        let pending: Vec<usize> = (0..additions.len())
            .filter(|i| !states[*i].is_committed)
            .collect();
        tracing::info!(
            "{} files, {} already committed",
            additions.len(),
            additions.len() - pending.len()
        );
        let ledger = Ledger {
            folder: &folder,
            rels,
            states: Mutex::new(states),
        };

        // 2. Preupload the files whose upload mode is not known yet.
        if let Some(p) = progress {
            p.stage("hashing");
        }
        let unknown: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|i| {
                ledger
                    .states
                    .lock()
                    .is_ok_and(|s| s[*i].upload_mode.is_none())
            })
            .collect();
        let jobs: Vec<(usize, PathBuf, Stamp)> = unknown
            .iter()
            .filter_map(|&i| match (&additions[i].source, additions[i].stamp) {
                (AddSource::Path(p), Some(s)) => Some((i, p.clone(), s)),
                _ => None,
            })
            .collect();
        let samples: Vec<(usize, Vec<u8>)> =
            futures::stream::iter(jobs.into_iter().map(|(i, path, stamp)| async move {
                let p2 = path.clone();
                let (sample, now) = tokio::task::spawn_blocking(move || digest::sample_path(&p2))
                    .await
                    .map_err(join_error)??;
                if now != stamp {
                    stamp.check(&path)?;
                }
                Ok::<_, Error>((i, sample))
            }))
            .buffer_unordered(workers)
            .try_collect()
            .await?;
        for (i, sample) in samples {
            additions[i].sample = sample;
        }
        self.preupload_all(&repo, &mut additions, &unknown, false)
            .await?;
        for &i in &unknown {
            let a = &additions[i];
            let (mode, ignore, oid) = (a.mode, a.ignore, a.remote_oid.clone());
            ledger.update(i, |st| {
                st.upload_mode = Some(mode);
                st.should_ignore = Some(ignore);
                st.remote_oid = oid;
            })?;
        }

        // 3. Hash (sha256 of LFS files is recorded; regular files are small).
        self.hash_needed(&mut additions, &pending, workers, progress)
            .await?;
        for &i in &pending {
            let a = &mut additions[i];
            if a.ignore {
                continue;
            }
            if a.mode == Mode::Lfs {
                let sha = a.sha256.clone();
                ledger.update(i, |st| {
                    if st.sha256.is_none() {
                        st.sha256 = sha;
                    }
                })?;
            }
            if a.remote_oid.is_some() && a.remote_oid.as_deref() == a.local_oid() {
                a.ignore = true;
                ledger.update(i, |st| st.is_committed = true)?;
            }
        }

        // 4. LFS objects not uploaded yet.
        let to_send: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|i| ledger.states.lock().is_ok_and(|s| !s[*i].is_uploaded))
            .collect();
        let objects = lfs_objects(&additions, &to_send);
        if !objects.is_empty() {
            if let Some(p) = progress {
                p.stage("uploading");
            }
            let mut by_oid: HashMap<String, Vec<usize>> = HashMap::new();
            for &i in &to_send {
                if let Some(oid) = additions[i].sha256.clone() {
                    by_oid.entry(oid).or_default().push(i);
                }
            }
            let failed: Mutex<Option<Error>> = Mutex::new(None);
            let on_done = |oid: &str| {
                for &i in by_oid.get(oid).map(Vec::as_slice).unwrap_or_default() {
                    if let Err(e) = ledger.update(i, |st| st.is_uploaded = true)
                        && let Ok(mut f) = failed.lock()
                    {
                        f.get_or_insert(e);
                    }
                }
            };
            let ctl = UploadControl {
                progress,
                files_in_flight: workers,
                on_done: Some(&on_done),
            };
            lfs::upload_objects(
                self.hub().http(),
                &repo,
                objects,
                Some(repo.revision()),
                &ctl,
            )
            .await?;
            if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
                return Err(e);
            }
        }

        // 5. Commit what is left, in a chain.
        let lines: Vec<Line> = pending
            .iter()
            .copied()
            .filter(|i| !additions[*i].ignore)
            .map(Line::Add)
            .collect();
        let message = opts
            .message
            .clone()
            .unwrap_or_else(|| "Upload large folder using hfkit".to_owned());
        let spec = ChainSpec {
            message: &message,
            description: "",
            parent_commit: None,
            create_pr: false,
            progress,
        };
        let limits = Limits::chained(
            opts.max_operations_per_commit
                .unwrap_or(DEFAULT_MAX_OPERATIONS),
        );
        let mut on_committed = |held: &[usize]| {
            for &i in held {
                ledger.update(i, |st| {
                    st.is_uploaded = true;
                    st.is_committed = true;
                })?;
            }
            Ok(())
        };
        match self
            .commit_chain(&repo, &additions, lines, &spec, limits, &mut on_committed)
            .await?
        {
            Some(info) => Ok(info),
            None => self.head_info(&repo).await,
        }
    }
}
