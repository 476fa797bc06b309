//! The Git-LFS side of the write API (hub.md §6.4): the batch endpoint, basic uploads, multipart
//! parts and their completion, and `verify`. Upload URLs carry an unguessable id (they are called
//! without a token, like the Hub's signed storage URLs); bodies are streamed to disk and hashed on
//! the way, and only a verified object is moved into the store.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::dispatch::Shared;
use super::history::is_sha256;
use super::respond::{ApiError, header_text, origin};
use super::routes::RepoRef;
use crate::error::Error;
use crate::repo::RepoId;

/// The LFS media type.
const LFS_MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

/// An upload announced by the batch endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    oid: String,
    size: u64,
    /// Set for multipart uploads.
    chunk_size: Option<u64>,
    /// ETags of the parts received, by part number.
    etags: BTreeMap<u64, String>,
}

/// Uploads in progress, by upload id.
#[derive(Debug, Default)]
pub(crate) struct Uploads(Mutex<HashMap<String, Pending>>);

impl Uploads {
    fn get(&self, id: &str) -> Option<Pending> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Pending>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn lfs_json(v: &Value) -> Response {
    ([(CONTENT_TYPE, LFS_MEDIA_TYPE)], v.to_string()).into_response()
}

/// `POST {P}{repo}.git/info/lfs/objects/batch`.
pub(crate) async fn batch(
    shared: &Shared,
    headers: &HeaderMap,
    repo: &RepoRef,
    body: &[u8],
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct Obj {
        oid: String,
        size: u64,
    }
    #[derive(Deserialize)]
    struct Batch {
        operation: String,
        objects: Vec<Obj>,
    }
    let id = RepoId::new(repo.id.as_str())
        .map_err(|e| ApiError::bad_request(format!("Invalid repo id: {e}")))?;
    if !shared.history.exists(repo.repo_type, &id).await {
        return Err(ApiError::repo_not_found());
    }
    let b: Batch = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid batch request: {e}")))?;
    if b.operation != "upload" {
        return Err(ApiError::bad_request(
            "The mirror's batch endpoint only handles uploads; download through resolve URLs",
        ));
    }
    let base = origin(headers);
    let verify = format!(
        "{base}/{}{}.git/info/lfs/objects/verify",
        repo.repo_type.url_prefix(),
        id.as_str()
    );
    let chunk = shared.multipart_chunk_size.max(1);
    let mut multipart = false;
    let mut out = Vec::with_capacity(b.objects.len());
    for o in b.objects {
        if !is_sha256(&o.oid) {
            out.push(json!({"oid": o.oid, "size": o.size,
                "error": {"code": 422, "message": "oid is not a sha256"}}));
            continue;
        }
        let oid = o.oid.to_ascii_lowercase();
        if shared.history.object_size(&oid).await == Some(o.size) {
            out.push(json!({"oid": oid, "size": o.size}));
            continue;
        }
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let is_multi = o.size > chunk;
        shared.uploads.with(|u| {
            u.insert(
                upload_id.clone(),
                Pending {
                    oid: oid.clone(),
                    size: o.size,
                    chunk_size: is_multi.then_some(chunk),
                    etags: BTreeMap::new(),
                },
            )
        });
        let upload = if is_multi {
            multipart = true;
            let mut header = serde_json::Map::new();
            header.insert("chunk_size".into(), json!(chunk.to_string()));
            for n in 1..=o.size.div_ceil(chunk) {
                header.insert(
                    format!("{n:05}"),
                    json!(format!("{base}/lfs-upload/{upload_id}/part/{n}")),
                );
            }
            json!({"href": format!("{base}/lfs-upload/{upload_id}/complete"), "header": header})
        } else {
            json!({"href": format!("{base}/lfs-upload/{upload_id}")})
        };
        out.push(json!({"oid": oid, "size": o.size, "authenticated": true,
            "actions": {"upload": upload, "verify": {"href": verify}}}));
    }
    let transfer = if multipart { "multipart" } else { "basic" };
    Ok(lfs_json(&json!({"transfer": transfer, "objects": out})))
}

/// Streams `body` into a new temp file, returning its path, sha256 and length. At most `limit`
/// bytes are accepted.
async fn receive(
    shared: &Shared,
    body: Body,
    limit: u64,
) -> Result<(PathBuf, String, u64), ApiError> {
    let tmp = shared.history.tmp_path();
    if let Some(d) = tmp.parent() {
        tokio::fs::create_dir_all(d)
            .await
            .map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
    }
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut stream = body.into_data_stream();
    let result: Result<(), ApiError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(format!("Upload interrupted: {e}")))?;
            len += chunk.len() as u64;
            if len > limit {
                return Err(ApiError::bad_request(format!(
                    "Upload larger than the announced {limit} bytes"
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        }
        file.flush()
            .await
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        Ok(())
    }
    .await;
    drop(file);
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    Ok((tmp, hex::encode(hasher.finalize()), len))
}

/// `PUT /lfs-upload/{id}`: a whole object.
pub(crate) async fn upload(shared: &Shared, id: &str, body: Body) -> Result<Response, ApiError> {
    let p = shared
        .uploads
        .get(id)
        .filter(|p| p.chunk_size.is_none())
        .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, None, "Unknown upload"))?;
    let (tmp, sha, len) = receive(shared, body, p.size).await?;
    if sha != p.oid || len != p.size {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ApiError::bad_request(format!(
            "Uploaded content ({len} bytes, sha256 {sha}) does not match the announced object ({} bytes, {})",
            p.size, p.oid
        )));
    }
    shared.history.adopt(&tmp, &sha).await?;
    Ok(StatusCode::OK.into_response())
}

/// `PUT /lfs-upload/{id}/part/{n}`: one part, answered with its ETag.
pub(crate) async fn part(
    shared: &Shared,
    id: &str,
    n: u64,
    body: Body,
) -> Result<Response, ApiError> {
    let p = shared
        .uploads
        .get(id)
        .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, None, "Unknown upload"))?;
    let chunk = p
        .chunk_size
        .ok_or_else(|| ApiError::bad_request("Not a multipart upload"))?;
    let count = p.size.div_ceil(chunk);
    if n == 0 || n > count {
        return Err(ApiError::bad_request(format!("No part {n} in this upload")));
    }
    let expected = chunk.min(p.size - (n - 1) * chunk);
    let (tmp, sha, len) = receive(shared, body, expected).await?;
    if len != expected {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ApiError::bad_request(format!(
            "Part {n} has {len} bytes, expected {expected}"
        )));
    }
    let dir = shared.history.upload_dir(id);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let dest = dir.join(n.to_string());
    tokio::fs::rename(&tmp, &dest)
        .await
        .map_err(|e| Error::io(format!("storing {}", dest.display()), e))?;
    let etag = format!("\"{}\"", &sha[..32]);
    shared.uploads.with(|u| {
        if let Some(p) = u.get_mut(id) {
            p.etags.insert(n, etag.clone());
        }
    });
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(ETAG, header_text(&etag));
    Ok(resp)
}

/// `POST /lfs-upload/{id}/complete`: assembles the parts named in the body, in order, and stores
/// the object when its sha256 and size match.
pub(crate) async fn complete(shared: &Shared, id: &str, body: &[u8]) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct PartRef {
        #[serde(rename = "partNumber")]
        part_number: u64,
        etag: String,
    }
    #[derive(Deserialize)]
    struct Completion {
        oid: String,
        parts: Vec<PartRef>,
    }
    let p = shared
        .uploads
        .get(id)
        .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, None, "Unknown upload"))?;
    let c: Completion = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid completion body: {e}")))?;
    let chunk = p
        .chunk_size
        .ok_or_else(|| ApiError::bad_request("Not a multipart upload"))?;
    let count = p.size.div_ceil(chunk);
    if c.oid.to_ascii_lowercase() != p.oid {
        return Err(ApiError::bad_request("The completion names another object"));
    }
    let in_order = c
        .parts
        .iter()
        .enumerate()
        .all(|(i, r)| r.part_number == i as u64 + 1);
    if c.parts.len() as u64 != count || !in_order {
        return Err(ApiError::bad_request(format!(
            "The completion must list parts 1 to {count} in order"
        )));
    }
    for r in &c.parts {
        if p.etags.get(&r.part_number) != Some(&r.etag) {
            return Err(ApiError::bad_request(format!(
                "Part {} was not received with ETag {}",
                r.part_number, r.etag
            )));
        }
    }
    let dir = shared.history.upload_dir(id);
    let tmp = shared.history.tmp_path();
    let (dir2, tmp2) = (dir.clone(), tmp.clone());
    let sha = tokio::task::spawn_blocking(move || concat(&dir2, count, &tmp2))
        .await
        .map_err(|e| Error::io("assembling task", std::io::Error::other(e.to_string())))??;
    if sha != p.oid {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ApiError::bad_request(format!(
            "The assembled object has sha256 {sha}, not {}",
            p.oid
        )));
    }
    shared.history.adopt(&tmp, &sha).await?;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    shared.uploads.with(|u| u.remove(id));
    Ok(lfs_json(&json!({})))
}

/// Concatenates parts `1..=count` of `dir` into `dest` (streamed), returning the sha256.
fn concat(dir: &Path, count: u64, dest: &Path) -> crate::error::Result<String> {
    use std::io::{Read, Write};
    if let Some(d) = dest.parent() {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
    }
    let mut out = std::fs::File::create(dest)
        .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    for n in 1..=count {
        let path = dir.join(n.to_string());
        let mut f = std::fs::File::open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        loop {
            let k = f
                .read(&mut buf)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            out.write_all(&buf[..k])
                .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    Ok(hex::encode(h.finalize()))
}

/// `POST {P}{repo}.git/info/lfs/objects/verify`: `200` when the object is stored with that size.
pub(crate) async fn verify(
    shared: &Shared,
    repo: &RepoRef,
    body: &[u8],
) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    struct V {
        oid: String,
        size: u64,
    }
    let id = RepoId::new(repo.id.as_str())
        .map_err(|e| ApiError::bad_request(format!("Invalid repo id: {e}")))?;
    if !shared.history.exists(repo.repo_type, &id).await {
        return Err(ApiError::repo_not_found());
    }
    let v: V = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid verify body: {e}")))?;
    match shared
        .history
        .object_size(&v.oid.to_ascii_lowercase())
        .await
    {
        Some(s) if s == v.size => Ok(lfs_json(&json!({}))),
        _ => Err(ApiError::status(
            StatusCode::NOT_FOUND,
            None,
            format!("Object {} of {} bytes not found", v.oid, v.size),
        )),
    }
}
