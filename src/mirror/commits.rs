//! New commits of written repositories: a manifest on top of a branch head (or a new pull
//! request), its refs update, and the history walk.

use std::time::{SystemTime, UNIX_EPOCH};

use super::hashing::sha1_lines;
use std::collections::BTreeMap;

use super::history::{
    Change, CommitRefusal, Committed, History, Manifest, ManifestFile, blocking, to_json,
    write_atomic,
};
use crate::error::Result;
use crate::repo::{RepoId, RepoType};

impl History {
    /// Applies `changes` on top of the head of `target` (a branch or `refs/pr/N`) as one new
    /// commit; with `create_pr` the commit opens a new pull request instead of moving the branch.
    #[allow(clippy::too_many_arguments)]
    pub async fn commit(
        &self,
        t: RepoType,
        id: &RepoId,
        target: &str,
        create_pr: bool,
        parent: Option<&str>,
        title: &str,
        message: &str,
        changes: Vec<Change>,
    ) -> std::result::Result<Committed, CommitRefusal> {
        let _guard = self.writes.lock().await;
        let Some(mut refs) = self.refs(t, id).await? else {
            return Err(CommitRefusal::NoRevision(target.to_owned()));
        };
        let is_pr = target.starts_with("refs/pr/");
        if create_pr && is_pr {
            return Err(CommitRefusal::BadRequest(
                "create_pr needs a branch as revision".into(),
            ));
        }
        let head = if is_pr {
            Self::resolve(&refs, target)
        } else {
            refs.branches.get(target).cloned()
        }
        .ok_or_else(|| CommitRefusal::NoRevision(target.to_owned()))?;
        if let Some(p) = parent
            && !head.starts_with(&p.to_ascii_lowercase())
        {
            return Err(CommitRefusal::ParentMismatch { head });
        }
        let base = self
            .manifest(t, id, &head)
            .await?
            .ok_or_else(|| CommitRefusal::NoRevision(target.to_owned()))?;
        let mut files: BTreeMap<String, ManifestFile> = base
            .files
            .into_iter()
            .map(|f| (f.path.clone(), f))
            .collect();
        for change in changes {
            match change {
                Change::File { path, sha256, size } => {
                    files.insert(
                        path.clone(),
                        ManifestFile {
                            path,
                            size,
                            sha256,
                            lfs: false,
                        },
                    );
                }
                Change::LfsFile { path, sha256, size } => {
                    let sha256 = sha256.to_ascii_lowercase();
                    let stored = self
                        .object_size(&sha256)
                        .await
                        .ok_or_else(|| CommitRefusal::MissingObject(sha256.clone()))?;
                    if size.is_some_and(|s| s != stored) {
                        return Err(CommitRefusal::BadRequest(format!(
                            "LFS object {sha256} has {stored} bytes, not {}",
                            size.unwrap_or_default()
                        )));
                    }
                    files.insert(
                        path.clone(),
                        ManifestFile {
                            path,
                            size: stored,
                            sha256,
                            lfs: true,
                        },
                    );
                }
                Change::DeleteFile(path) => {
                    if files.remove(&path).is_none() {
                        return Err(CommitRefusal::MissingEntry(path));
                    }
                }
                Change::DeleteFolder(path) => {
                    let prefix = format!("{}/", path.trim_end_matches('/'));
                    let before = files.len();
                    files.retain(|p, _| !p.starts_with(&prefix));
                    if files.len() == before {
                        return Err(CommitRefusal::MissingEntry(path));
                    }
                }
            }
        }
        let files: Vec<ManifestFile> = files.into_values().collect();
        let (cid, time_ms) = self.new_commit_id(&head, title, &files);
        let manifest = Manifest {
            id: cid.clone(),
            parents: vec![head],
            title: title.to_owned(),
            message: message.to_owned(),
            time_ms,
            files,
        };
        let pr_num = if create_pr {
            let n = refs.prs.keys().max().copied().unwrap_or(0) + 1;
            refs.prs.insert(n, cid.clone());
            Some(n)
        } else if let Some(n) = target
            .strip_prefix("refs/pr/")
            .and_then(|n| n.parse::<u64>().ok())
        {
            refs.prs.insert(n, cid.clone());
            None
        } else {
            refs.branches.insert(target.to_owned(), cid.clone());
            None
        };
        let dir = self.repo_dir(t, id);
        let (m, r) = (to_json(&manifest)?, to_json(&refs)?);
        let mpath = dir.join("commits").join(format!("{cid}.json"));
        blocking(move || {
            write_atomic(&mpath, &m)?;
            write_atomic(&dir.join("refs.json"), &r)
        })
        .await?;
        Ok(Committed { id: cid, pr_num })
    }

    /// The history of `commit`, newest first.
    pub async fn log(&self, t: RepoType, id: &RepoId, commit: &str) -> Result<Vec<Manifest>> {
        let mut out = Vec::new();
        let mut next = Some(commit.to_owned());
        while let Some(c) = next.take() {
            let Some(m) = self.manifest(t, id, &c).await? else {
                break;
            };
            next = m.parents.first().cloned();
            out.push(m);
            if out.len() > 100_000 {
                break;
            }
        }
        Ok(out)
    }
    pub(super) fn new_commit_id(
        &self,
        parent: &str,
        title: &str,
        files: &[ManifestFile],
    ) -> (String, u64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stamp = format!("{}:{n}:{}", now.as_nanos(), uuid::Uuid::new_v4());
        let lines: Vec<String> = files
            .iter()
            .map(|f| format!("{}\0{}", f.path, f.sha256))
            .collect();
        let id = sha1_lines(
            [parent, title, stamp.as_str()]
                .into_iter()
                .chain(lines.iter().map(String::as_str)),
        );
        (id, now.as_millis() as u64)
    }
}
