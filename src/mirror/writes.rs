//! The write routes (hub.md §6): repository creation, deletion, move and settings, branches,
//! tags, preupload and the NDJSON commit. Every change is stored by [`History`] as a new
//! immutable revision.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dispatch::Shared;
use super::history::{Change, CommitRefusal, History, RepoMeta};
use super::respond::{ApiError, Query, json, origin};
use super::routes::RepoRef;
use crate::repo::{RepoId, RepoType, validate_repo_path};

/// The namespace of repositories created without an `organization`.
const DEFAULT_NAMESPACE: &str = "mirror-user";

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

fn repo_type_of(v: Option<&str>) -> Result<RepoType, ApiError> {
    match v {
        None | Some("model") => Ok(RepoType::Model),
        Some("dataset") => Ok(RepoType::Dataset),
        Some("space") => Ok(RepoType::Space),
        Some(other) => Err(ApiError::bad_request(format!("Invalid repo type: {other}"))),
    }
}

fn repo_id(v: &str) -> Result<RepoId, ApiError> {
    let id = RepoId::new(v).map_err(|e| ApiError::bad_request(format!("Invalid repo id: {e}")))?;
    if id.namespace().is_none() {
        return Err(ApiError::bad_request(
            "The mirror needs namespaced repository ids",
        ));
    }
    Ok(id)
}

fn web_url(headers: &HeaderMap, t: RepoType, id: &RepoId) -> String {
    format!("{}/{}{}", origin(headers), t.url_prefix(), id.as_str())
}

/// Whether a read-only folder repository of that name exists.
async fn is_folder_repo(shared: &Shared, t: RepoType, id: &RepoId) -> Result<bool, ApiError> {
    Ok(shared.store.revision(t, id).await?.is_some())
}

/// The written repository of a route, or the matching error.
async fn written(shared: &Shared, repo: &RepoRef) -> Result<RepoId, ApiError> {
    let id = repo_id(&repo.id)?;
    if shared.history.exists(repo.repo_type, &id).await {
        return Ok(id);
    }
    if is_folder_repo(shared, repo.repo_type, &id).await? {
        return Err(ApiError::forbidden(
            "This repository is a read-only folder of the mirror; create repositories through the API to write to them",
        ));
    }
    Err(ApiError::repo_not_found())
}

#[derive(Deserialize)]
struct NameBody {
    name: String,
    #[serde(default)]
    organization: Option<String>,
    #[serde(rename = "type", default)]
    repo_type: Option<String>,
    #[serde(default)]
    private: Option<bool>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    sdk: Option<String>,
}

impl NameBody {
    fn target(&self) -> Result<(RepoType, RepoId), ApiError> {
        let t = repo_type_of(self.repo_type.as_deref())?;
        let ns = self.organization.as_deref().unwrap_or(DEFAULT_NAMESPACE);
        Ok((t, repo_id(&format!("{ns}/{}", self.name))?))
    }
}

/// `POST /api/repos/create`.
pub(crate) async fn create_repo(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let b: NameBody = parse(body)?;
    let (t, id) = b.target()?;
    let url = web_url(headers, t, &id);
    let private = b.private.unwrap_or(matches!(
        b.visibility.as_deref(),
        Some("private" | "protected")
    ));
    let exists = is_folder_repo(shared, t, &id).await?
        || !shared
            .history
            .create(
                t,
                &id,
                RepoMeta {
                    private,
                    gated: None,
                    sdk: b.sdk.clone(),
                },
            )
            .await?;
    if exists {
        let body =
            json!({"error": format!("You already created this {} repo", t.as_str()), "url": url});
        return Ok((
            StatusCode::CONFLICT,
            [(CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response());
    }
    let object_id = &super::hashing::sha1_lines([url.as_str()])[..24];
    json(&json!({"url": url, "name": id.as_str(), "id": object_id}))
}

/// `DELETE /api/repos/delete`.
pub(crate) async fn delete_repo(shared: &Shared, body: &[u8]) -> Result<Response, ApiError> {
    let b: NameBody = parse(body)?;
    let (t, id) = b.target()?;
    if shared.history.delete(t, &id).await? {
        return Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], "OK").into_response());
    }
    written(
        shared,
        &RepoRef {
            repo_type: t,
            id: id.as_str().to_owned(),
        },
    )
    .await?;
    Err(ApiError::repo_not_found())
}

/// `POST /api/repos/move`.
pub(crate) async fn move_repo(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct MoveBody {
        #[serde(rename = "fromRepo")]
        from: String,
        #[serde(rename = "toRepo")]
        to: String,
        #[serde(rename = "type", default)]
        repo_type: Option<String>,
    }
    let b: MoveBody = parse(body)?;
    let t = repo_type_of(b.repo_type.as_deref())?;
    let from = repo_id(&b.from)?;
    let to = repo_id(&b.to)?;
    if is_folder_repo(shared, t, &to).await? {
        return Err(ApiError::conflict(format!(
            "Repository {} already exists",
            to.as_str()
        )));
    }
    match shared.history.rename(t, &from, &to).await? {
        Ok(()) => json(&json!({"url": web_url(headers, t, &to)})),
        Err(msg) if msg.contains("already exists") => Err(ApiError::conflict(msg)),
        Err(_) => Err(ApiError::repo_not_found()),
    }
}

/// `POST /api/validate-yaml`: the mirror checks nothing.
pub(crate) fn validate_yaml() -> Result<Response, ApiError> {
    json(&json!({"errors": [], "warnings": []}))
}

/// `PUT /api/{Ts}/{repo}/settings`.
pub(crate) async fn settings(
    shared: &Shared,
    repo: &RepoRef,
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = written(shared, repo).await?;
    let v: Value = parse(body)?;
    let private = match (
        v.get("private"),
        v.get("visibility").and_then(Value::as_str),
    ) {
        (Some(Value::Bool(p)), _) => Some(*p),
        (_, Some("private" | "protected")) => Some(true),
        (_, Some("public")) => Some(false),
        (_, Some(other)) => {
            return Err(ApiError::bad_request(format!(
                "Invalid visibility: {other}"
            )));
        }
        _ => None,
    };
    let gated = v.get("gated").cloned();
    shared
        .history
        .update_meta(repo.repo_type, &id, |m| {
            if let Some(p) = private {
                m.private = p;
            }
            if let Some(g) = gated {
                m.gated = Some(g);
            }
        })
        .await?;
    json(&json!({}))
}

/// The commit `rev` names in a written repository.
async fn commit_of(
    shared: &Shared,
    t: RepoType,
    id: &RepoId,
    rev: &str,
) -> Result<String, ApiError> {
    let refs = shared
        .history
        .refs(t, id)
        .await?
        .ok_or_else(ApiError::repo_not_found)?;
    let commit = History::resolve(&refs, rev).unwrap_or_else(|| rev.to_ascii_lowercase());
    if shared.history.manifest(t, id, &commit).await?.is_none() {
        return Err(ApiError::revision_not_found(rev));
    }
    Ok(commit)
}

fn refs_outcome(r: Option<Result<(), (u16, String)>>) -> Result<Response, ApiError> {
    match r {
        None => Err(ApiError::repo_not_found()),
        Some(Ok(())) => json(&json!({})),
        Some(Err((status, msg))) => Err(ApiError::status(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            None,
            msg,
        )),
    }
}

/// `POST`/`DELETE /api/{Ts}/{repo}/branch/{name}`.
pub(crate) async fn branch(
    shared: &Shared,
    method: &Method,
    repo: &RepoRef,
    name: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = written(shared, repo).await?;
    let t = repo.repo_type;
    if *method == Method::DELETE {
        let name = name.to_owned();
        let r = shared
            .history
            .update_refs(t, &id, move |refs| {
                if name == "main" {
                    return Err((403, "Cannot delete the default branch".into()));
                }
                refs.branches
                    .remove(&name)
                    .map(|_| ())
                    .ok_or((404, format!("Invalid rev id: {name}")))
            })
            .await?;
        return refs_outcome(r);
    }
    if name.starts_with("refs/") || crate::repo::is_commit_id(name) {
        return Err(ApiError::bad_request(format!(
            "Invalid branch name: {name}"
        )));
    }
    let v: Value = if body.trim_ascii().is_empty() {
        json!({})
    } else {
        parse(body)?
    };
    let start = v
        .get("startingPoint")
        .and_then(Value::as_str)
        .unwrap_or("main");
    let commit = commit_of(shared, t, &id, start).await?;
    let name = name.to_owned();
    let r = shared
        .history
        .update_refs(t, &id, move |refs| {
            if refs.branches.contains_key(&name) {
                return Err((409, format!("Reference refs/heads/{name} already exists")));
            }
            refs.branches.insert(name, commit);
            Ok(())
        })
        .await?;
    refs_outcome(r)
}

/// `POST /api/{Ts}/{repo}/tag/{rev}` (`{"tag","message"?}`), `DELETE …/tag/{tag}`.
pub(crate) async fn tag(
    shared: &Shared,
    method: &Method,
    repo: &RepoRef,
    name: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = written(shared, repo).await?;
    let t = repo.repo_type;
    if *method == Method::DELETE {
        let name = name.to_owned();
        let r = shared
            .history
            .update_refs(t, &id, move |refs| {
                refs.tags
                    .remove(&name)
                    .map(|_| ())
                    .ok_or((404, format!("Invalid rev id: {name}")))
            })
            .await?;
        return refs_outcome(r);
    }
    #[derive(Deserialize)]
    struct TagBody {
        tag: String,
    }
    let b: TagBody = parse(body)?;
    if b.tag.is_empty() || b.tag.starts_with("refs/") || b.tag.contains("..") {
        return Err(ApiError::bad_request(format!(
            "Invalid tag name: {}",
            b.tag
        )));
    }
    let commit = commit_of(shared, t, &id, name).await?;
    let r = shared
        .history
        .update_refs(t, &id, move |refs| {
            if refs.tags.contains_key(&b.tag) {
                return Err((409, format!("Tag {} already exists", b.tag)));
            }
            refs.tags.insert(b.tag, commit);
            Ok(())
        })
        .await?;
    refs_outcome(r)
}

/// `POST /api/{Ts}/{repo}/preupload/{rev}`: files of at least the LFS threshold (and not empty)
/// are `lfs`, others `regular`; `oid` is what the revision holds at that path (sha256 for LFS
/// files, git blob id otherwise).
pub(crate) async fn preupload(
    shared: &Shared,
    repo: &RepoRef,
    rev: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct File {
        path: String,
        size: u64,
    }
    #[derive(Deserialize)]
    struct Body {
        files: Vec<File>,
    }
    written(shared, repo).await?;
    let b: Body = parse(body)?;
    let (_, revision) = shared.revision_at(repo, rev).await?;
    let files: Vec<Value> = b
        .files
        .iter()
        .map(|f| {
            let mode = if f.size >= shared.lfs_threshold && f.size > 0 {
                "lfs"
            } else {
                "regular"
            };
            let mut v = json!({"path": f.path, "uploadMode": mode, "shouldIgnore": false});
            if let Some(cur) = revision.file(&f.path) {
                v["oid"] = json!(
                    cur.lfs
                        .as_ref()
                        .map_or(cur.oid.as_str(), |l| l.sha256.as_str())
                );
            }
            v
        })
        .collect();
    json(&json!({"files": files, "commitOid": revision.commit()}))
}

fn path_of(v: &Value, key: &str, folder: bool) -> Result<String, ApiError> {
    let p = v
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("{key}: missing path")))?;
    let check = if folder { p.trim_end_matches('/') } else { p };
    validate_repo_path(check)
        .map_err(|e| ApiError::bad_request(format!("{key}: invalid path {p:?}: {e}")))?;
    if check.is_empty()
        || check
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".git")
    {
        return Err(ApiError::bad_request(format!("{key}: invalid path {p:?}")));
    }
    Ok(check.to_owned())
}

/// `POST /api/{Ts}/{repo}/commit/{rev}[?create_pr=1]` with an NDJSON body.
pub(crate) async fn commit(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    repo: &RepoRef,
    rev: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = written(shared, repo).await?;
    let create_pr = Query::of(uri).flag("create_pr");
    let mut header: Option<Value> = None;
    let mut changes = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let v: Value = parse(line)?;
        let key = v.get("key").and_then(Value::as_str).unwrap_or_default();
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        match key {
            "header" if header.is_none() && changes.is_empty() => header = Some(value),
            "header" => return Err(ApiError::bad_request("The header must come first, once")),
            _ if header.is_none() => {
                return Err(ApiError::bad_request("The first line must be the header"));
            }
            "file" => {
                let path = path_of(&value, key, false)?;
                if value.get("encoding").and_then(Value::as_str) != Some("base64") {
                    return Err(ApiError::bad_request(
                        "file: only base64 encoding is supported",
                    ));
                }
                let content = value
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::bad_request("file: missing content"))?;
                let bytes = B64
                    .decode(content)
                    .map_err(|e| ApiError::bad_request(format!("file {path}: bad base64: {e}")))?;
                let size = bytes.len() as u64;
                let sha256 = shared.history.put_bytes(bytes.into()).await?;
                changes.push(Change::File { path, sha256, size });
            }
            "lfsFile" => {
                let path = path_of(&value, key, false)?;
                if value
                    .get("algo")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a != "sha256")
                {
                    return Err(ApiError::bad_request("lfsFile: only sha256 is supported"));
                }
                let sha256 = value
                    .get("oid")
                    .and_then(Value::as_str)
                    .filter(|o| super::history::is_sha256(o))
                    .ok_or_else(|| ApiError::bad_request("lfsFile: invalid oid"))?
                    .to_owned();
                let size = value.get("size").and_then(Value::as_u64);
                changes.push(Change::LfsFile { path, sha256, size });
            }
            "deletedFile" => changes.push(Change::DeleteFile(path_of(&value, key, false)?)),
            "deletedFolder" => changes.push(Change::DeleteFolder(path_of(&value, key, true)?)),
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unsupported commit operation: {other}"
                )));
            }
        }
    }
    let header = header.ok_or_else(|| ApiError::bad_request("Empty commit body"))?;
    let title = header
        .get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("The commit summary is empty"))?;
    let message = header
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let parent = header.get("parentCommit").and_then(Value::as_str);
    let t = repo.repo_type;
    let done = shared
        .history
        .commit(t, &id, rev, create_pr, parent, title, message, changes)
        .await
        .map_err(|r| match r {
            CommitRefusal::NoRevision(rev) => ApiError::revision_not_found(&rev),
            CommitRefusal::ParentMismatch { head } => ApiError::status(
                StatusCode::PRECONDITION_FAILED,
                None,
                format!(
                    "A commit has happened since. Please refresh and try again. (head is {head})"
                ),
            ),
            CommitRefusal::MissingEntry(p) => ApiError::status(
                StatusCode::NOT_FOUND,
                Some("EntryNotFound"),
                format!("{p} does not exist in the repository"),
            ),
            CommitRefusal::MissingObject(oid) => ApiError::status(
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                format!("LFS object {oid} was not uploaded"),
            ),
            CommitRefusal::BadRequest(m) => ApiError::bad_request(m),
            CommitRefusal::Io(e) => ApiError::internal(&e),
        })?;
    let base = web_url(headers, t, &id);
    let mut answer = json!({
        "success": true,
        "commitOid": done.id,
        "commitUrl": format!("{base}/commit/{}", done.id),
        "hookOutput": "",
    });
    if let Some(n) = done.pr_num {
        answer["pullRequestUrl"] = json!(format!("{base}/discussions/{n}"));
    }
    json(&answer)
}
