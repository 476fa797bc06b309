//! Sending the lines of a commit (hub.md §6.5, §6.8): one commit, or a chain of commits each
//! within [`Limits`] (operations and inline base64 bytes), each later one naming the previous one
//! as its `parentCommit`; with `create_pr` the first opens the pull request and the others extend
//! `refs/pr/N`. Regular files are read (and checked against their hash) only when their commit
//! is sent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::ApiRepo;
use super::commit::{AddSource, CommitInfo};
use super::commit_flow::{Addition, ChainSpec, Limits, Line, Mode};
use super::commit_wire::CommitRequest;
use super::digest::{self, Want};
use super::lfs;
use crate::error::{Error, Result};
use crate::repo::Repo;

impl ApiRepo {
    /// Commits `lines` in as many chained commits as `limits` requires; `on_committed` is told
    /// which additions each successful commit held. `None` when there is no line.
    pub(crate) async fn commit_chain(
        &self,
        repo: &Repo,
        additions: &[Addition],
        lines: Vec<Line>,
        spec: &ChainSpec<'_>,
        limits: Limits,
        on_committed: &mut (dyn FnMut(&[usize]) -> Result<()> + Send),
    ) -> Result<Option<CommitInfo>> {
        if lines.is_empty() {
            return Ok(None);
        }
        // Before anything is committed: LFS files must be what was hashed and uploaded.
        for a in additions
            .iter()
            .filter(|a| !a.ignore && a.mode == Mode::Lfs)
        {
            if let (AddSource::Path(p), Some(stamp)) = (&a.source, &a.stamp) {
                stamp.check(p)?;
            }
        }
        if let Some(p) = spec.progress {
            p.stage("committing");
        }
        let batches = split(lines, additions, limits);
        let n = batches.len();
        let mut first: Option<CommitInfo> = None;
        let mut last: Option<CommitInfo> = None;
        for (i, batch) in batches.into_iter().enumerate() {
            let mut values = Vec::with_capacity(batch.len());
            let mut held = Vec::new();
            for line in batch {
                match line {
                    Line::Ready(v) => values.push(v),
                    Line::Add(j) => {
                        let Some(a) = additions.get(j) else { continue };
                        values.push(add_line(a).await?);
                        held.push(j);
                    }
                }
            }
            let message = if n > 1 {
                format!("{} (part {}/{n})", spec.message, i + 1)
            } else {
                spec.message.to_owned()
            };
            let pr_ref = first
                .as_ref()
                .and_then(|f| f.pr_num)
                .map(|n| format!("refs/pr/{n}"));
            let (revision, create_pr, parent) = match &last {
                None => (repo.revision(), spec.create_pr, spec.parent_commit),
                Some(prev) => (
                    pr_ref.as_deref().unwrap_or(repo.revision()),
                    false,
                    Some(prev.oid.as_str()),
                ),
            };
            let info = self
                .post_commit(
                    repo,
                    CommitRequest {
                        revision,
                        create_pr,
                        message: &message,
                        description: spec.description,
                        parent_commit: parent,
                        lines: values,
                    },
                )
                .await?;
            on_committed(&held)?;
            if first.is_none() {
                first = Some(info.clone());
            }
            last = Some(info);
        }
        Ok(last.map(|mut info| {
            if let Some(f) = first {
                info.pr_url = f.pr_url;
                info.pr_num = f.pr_num;
            }
            info
        }))
    }
}

/// Reads a regular addition whole, checking it is still what was hashed.
pub(crate) async fn read_checked(a: &Addition) -> Result<bytes::Bytes> {
    let content = lfs::read_all(&a.source, a.size, a.stamp.as_ref()).await?;
    if let (Some(sha1), AddSource::Path(p)) = (&a.sha1, &a.source) {
        let now = digest::hash_bytes(
            &content,
            Want {
                sha1: true,
                sha256: false,
            },
        );
        if now.sha1.as_ref() != Some(sha1) {
            return Err(Error::InvalidInput(format!(
                "{} changed during the upload (its content is not what was hashed); nothing was committed",
                p.display()
            )));
        }
    }
    Ok(content)
}

/// The commit line of a non-ignored addition.
async fn add_line(a: &Addition) -> Result<Value> {
    match a.mode {
        Mode::Lfs => Ok(json!({"key": "lfsFile", "value": {
            "path": a.path, "algo": "sha256", "oid": a.sha256, "size": a.size}})),
        Mode::Regular => {
            let content = read_checked(a).await?;
            Ok(json!({"key": "file", "value": {
                "content": B64.encode(&content), "path": a.path, "encoding": "base64"}}))
        }
    }
}

/// Inline base64 bytes a line adds to a commit.
fn inline_weight(line: &Line, additions: &[Addition]) -> u64 {
    match line {
        Line::Add(i) => additions
            .get(*i)
            .filter(|a| a.mode == Mode::Regular)
            .map_or(0, |a| a.size.div_ceil(3) * 4),
        Line::Ready(v) => v["value"]["content"].as_str().map_or(0, |c| c.len() as u64),
    }
}

/// Splits `lines` into commits within `limits` (a line heavier than the byte limit goes alone).
fn split(lines: Vec<Line>, additions: &[Addition], limits: Limits) -> Vec<Vec<Line>> {
    let mut out: Vec<Vec<Line>> = Vec::new();
    let mut cur: Vec<Line> = Vec::new();
    let mut bytes = 0u64;
    for line in lines {
        let w = inline_weight(&line, additions);
        if !cur.is_empty()
            && (cur.len() >= limits.max_operations
                || bytes.saturating_add(w) > limits.max_inline_bytes)
        {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes = bytes.saturating_add(w);
        cur.push(line);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regular(size: u64) -> Addition {
        Addition::new(
            "f".into(),
            AddSource::Bytes(bytes::Bytes::new()),
            size,
            vec![],
        )
    }

    #[test]
    fn chains_respect_both_limits() {
        let adds: Vec<Addition> = vec![regular(30), regular(30), regular(300), regular(3)];
        let lines = || (0..4).map(Line::Add).collect::<Vec<_>>();
        let sizes = |b: Vec<Vec<Line>>| b.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(split(lines(), &adds, Limits::single())), [4]);
        assert_eq!(sizes(split(lines(), &adds, Limits::chained(3))), [3, 1]);
        let bytes = Limits {
            max_operations: 10,
            max_inline_bytes: 100,
        };
        // 40 + 40 fit, 400 goes alone, 4 follows it.
        assert_eq!(sizes(split(lines(), &adds, bytes)), [2, 1, 1]);
        assert!(split(Vec::new(), &adds, bytes).is_empty());
    }
}
