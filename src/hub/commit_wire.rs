//! The requests of a commit (hub.md §6.3, §6.5): `validate-yaml`, preupload, the copy lookups
//! and the NDJSON commit `POST` (never retried).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiRepo;
use super::commit::CommitInfo;
use super::commit_flow::{Addition, Mode};
use crate::error::{Error, Result};
use crate::http::response::ErrorScope;
use crate::repo::{Repo, encode_path, encode_revision};

/// Files per preupload request.
pub(crate) const PREUPLOAD_BATCH: usize = 256;

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

/// One NDJSON commit request.
pub(crate) struct CommitRequest<'a> {
    pub revision: &'a str,
    pub create_pr: bool,
    pub message: &'a str,
    pub description: &'a str,
    pub parent_commit: Option<&'a str>,
    pub lines: Vec<Value>,
}

impl ApiRepo {
    pub(crate) fn commit_url(&self, repo: &Repo, oid: &str) -> String {
        format!(
            "{}/{}{}/commit/{oid}",
            self.hub().settings().endpoint(),
            repo.repo_type().url_prefix(),
            repo.id()
        )
    }

    pub(crate) async fn validate_yaml(&self, repo: &Repo, content: &str) -> Result<()> {
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

    /// Preuploads `chunk` (indexes into `additions`, ≤ [`PREUPLOAD_BATCH`]), recording each
    /// file's upload mode, `shouldIgnore` and remote oid.
    pub(crate) async fn preupload(
        &self,
        repo: &Repo,
        chunk: &[usize],
        additions: &mut [Addition],
        git_ignore: Option<&str>,
        create_pr: bool,
    ) -> Result<()> {
        let files: Vec<Value> = chunk
            .iter()
            .filter_map(|i| additions.get(*i))
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
            let Some(a) = additions.get_mut(*i) else {
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
    pub(crate) async fn copy_line(
        &self,
        repo: &Repo,
        src: &str,
        dst: &str,
        rev: &str,
    ) -> Result<Value> {
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

    /// Sends one NDJSON commit (never retried: a lost answer would duplicate it).
    pub(crate) async fn post_commit(
        &self,
        repo: &Repo,
        req: CommitRequest<'_>,
    ) -> Result<CommitInfo> {
        let mut header = json!({"summary": req.message, "description": req.description});
        if let Some(p) = req.parent_commit {
            header["parentCommit"] = json!(p);
        }
        let mut body = Vec::new();
        for v in std::iter::once(json!({"key": "header", "value": header})).chain(req.lines) {
            serde_json::to_writer(&mut body, &v).map_err(|e| Error::json("commit body", e))?;
            body.push(b'\n');
        }
        let url = format!(
            "{}/commit/{}",
            self.api_url(repo),
            encode_revision(req.revision)
        );
        let query: Vec<(&str, &str)> = if req.create_pr {
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
                revision: Some(req.revision.to_owned()),
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
                .unwrap_or_else(|| self.commit_url(repo, &answer.commit_oid)),
            oid: answer.commit_oid,
            pr_url: answer.pull_request_url,
            pr_num,
        })
    }

    /// The head of this handle's revision, as a commit result (when nothing was committed).
    pub(crate) async fn head_info(&self, repo: &Repo) -> Result<CommitInfo> {
        let head = self.info().await?;
        let oid = head.sha.unwrap_or_default();
        Ok(CommitInfo {
            commit_url: self.commit_url(repo, &oid),
            oid,
            pr_url: None,
            pr_num: None,
        })
    }
}
