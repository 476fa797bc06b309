//! Classic Git-LFS uploads (hub.md §6.4): the batch request, basic `PUT`s, multipart parts with
//! their completion call, and `verify`. File contents are streamed from disk in bounded buffers;
//! no upload URL ever receives the token.

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::path::Path;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::commit::AddSource;
use super::digest::{Stamp, changed};
use super::progress::ProgressHandle;
use crate::error::{Error, Result};
use crate::http::response::{self, ErrorScope};
use crate::http::{HttpClient, TokenMode};
use crate::repo::Repo;

/// The LFS media type of batch and completion requests.
const LFS_MEDIA_TYPE: &str = "application/vnd.git-lfs+json";
/// Objects per batch request.
const BATCH_SIZE: usize = 256;
/// Files uploaded at the same time (hub.md §6.4).
const FILES_IN_FLIGHT: usize = 5;
/// Parts of one file uploaded at the same time.
const PARTS_IN_FLIGHT: usize = 4;
/// Read buffer of streamed bodies.
const STREAM_BUF: usize = 256 * 1024;

/// One object to upload: its sha256, size and where the bytes are.
#[derive(Debug, Clone)]
pub(crate) struct LfsObject {
    pub oid: String,
    pub size: u64,
    pub source: AddSource,
    /// The path in the repository (progress label).
    pub path: String,
    /// The local file's stamp when it was hashed (checked before its bytes are sent).
    pub stamp: Option<Stamp>,
}

/// Progress, concurrency and completion reporting of [`upload_objects`].
#[derive(Default)]
pub(crate) struct UploadControl<'a> {
    pub progress: Option<&'a ProgressHandle>,
    /// Files in flight (0 = the default of 5).
    pub files_in_flight: usize,
    /// Told the oid of each object once the server has it (uploaded, or already stored).
    pub on_done: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

#[derive(Debug, Deserialize)]
struct BatchAnswer {
    #[serde(default)]
    transfer: Option<String>,
    #[serde(default)]
    objects: Vec<BatchObject>,
}

#[derive(Debug, Deserialize)]
struct BatchObject {
    oid: String,
    #[serde(default)]
    actions: Option<Actions>,
    #[serde(default)]
    error: Option<ObjectError>,
}

#[derive(Debug, Deserialize)]
struct ObjectError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Actions {
    #[serde(default)]
    upload: Option<Action>,
    #[serde(default)]
    verify: Option<Action>,
}

#[derive(Debug, Deserialize)]
struct Action {
    href: String,
    #[serde(default)]
    header: Option<BTreeMap<String, Value>>,
}

/// Uploads the objects the server does not have yet. `ref_name` is the branch (`None` with
/// `create_pr`).
pub(crate) async fn upload_objects(
    http: &HttpClient,
    repo: &Repo,
    objects: Vec<LfsObject>,
    ref_name: Option<&str>,
    ctl: &UploadControl<'_>,
) -> Result<()> {
    let in_flight = if ctl.files_in_flight == 0 {
        FILES_IN_FLIGHT
    } else {
        ctl.files_in_flight
    };
    let endpoint = http.settings().endpoint().to_owned();
    let batch_url = format!(
        "{endpoint}/{}{}.git/info/lfs/objects/batch",
        repo.repo_type().url_prefix(),
        repo.id()
    );
    for chunk in objects.chunks(BATCH_SIZE) {
        let mut body = json!({
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": chunk.iter().map(|o| json!({"oid": o.oid, "size": o.size})).collect::<Vec<_>>(),
            "hash_algo": "sha256",
        });
        if let Some(r) = ref_name {
            body["ref"] = json!({"name": r});
        }
        let answer: BatchAnswer = http
            .post(&batch_url)?
            .header("accept", LFS_MEDIA_TYPE)?
            .header("content-type", LFS_MEDIA_TYPE)?
            .json(&body)?
            .retry()
            .scope(ErrorScope {
                repo: Some(repo.display_name()),
                ..ErrorScope::default()
            })
            .send_json()
            .await?;
        let refused: Vec<String> = answer
            .objects
            .iter()
            .filter_map(|o| {
                o.error.as_ref().map(|e| {
                    format!(
                        "{}: {} {}",
                        o.oid,
                        e.code.map(|c| c.to_string()).unwrap_or_default(),
                        e.message.as_deref().unwrap_or("")
                    )
                })
            })
            .collect();
        if !refused.is_empty() {
            return Err(Error::LfsObject {
                oids: answer
                    .objects
                    .iter()
                    .filter(|o| o.error.is_some())
                    .map(|o| o.oid.clone())
                    .collect(),
                message: refused.join("; "),
            });
        }
        if answer.transfer.as_deref() == Some("xet") {
            return Err(Error::XetRequired {
                what: format!(
                    "uploading the LFS objects {} to {}",
                    chunk
                        .iter()
                        .map(|o| o.oid.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    repo.display_name()
                ),
            });
        }
        let mut jobs = Vec::new();
        for obj in &answer.objects {
            let Some(actions) = &obj.actions else {
                if let Some(done) = ctl.on_done {
                    done(&obj.oid); // already stored
                }
                continue;
            };
            let Some(local) = chunk.iter().find(|o| o.oid == obj.oid) else {
                return Err(Error::MalformedResponse {
                    url: batch_url.clone(),
                    message: format!("the answer names an object not asked for: {}", obj.oid),
                });
            };
            jobs.push((local.clone(), actions));
        }
        let uploads: Vec<_> = jobs
            .into_iter()
            .map(|(local, actions)| {
                let endpoint = endpoint.clone();
                async move {
                    if let Some(p) = ctl.progress {
                        p.start(&local.path, Some(local.size), 0);
                    }
                    let r = upload_one(http, &endpoint, &local, actions, ctl.progress).await;
                    if let Some(p) = ctl.progress {
                        p.finish(&local.path);
                    }
                    if r.is_ok()
                        && let Some(done) = ctl.on_done
                    {
                        done(&local.oid);
                    }
                    r
                }
            })
            .collect();
        futures::stream::iter(uploads)
            .buffer_unordered(in_flight)
            .try_collect::<Vec<()>>()
            .await?;
    }
    Ok(())
}

/// `https://huggingface.co…` hrefs go to the configured endpoint instead (as Python does).
fn rewrite(endpoint: &str, href: &str) -> String {
    const HUB: &str = "https://huggingface.co";
    if endpoint != HUB
        && let Some(rest) = href.strip_prefix(HUB)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return format!("{endpoint}{rest}");
    }
    href.to_owned()
}

async fn upload_one(
    http: &HttpClient,
    endpoint: &str,
    obj: &LfsObject,
    actions: &Actions,
    progress: Option<&ProgressHandle>,
) -> Result<()> {
    if let Some(upload) = &actions.upload {
        let header = upload.header.clone().unwrap_or_default();
        match header.get("chunk_size") {
            Some(c) => {
                let chunk_size =
                    as_u64(c)
                        .filter(|c| *c > 0)
                        .ok_or_else(|| Error::MalformedResponse {
                            url: response::redact_url(&upload.href),
                            message: format!("invalid chunk_size {c}"),
                        })?;
                multipart(
                    http,
                    &rewrite(endpoint, &upload.href),
                    obj,
                    &header,
                    chunk_size,
                    progress,
                )
                .await?;
            }
            None => basic(http, &upload.href, obj, progress).await?,
        }
    }
    if let Some(verify) = &actions.verify {
        http.post(&rewrite(endpoint, &verify.href))?
            .json(&json!({"oid": obj.oid, "size": obj.size}))?
            .retry()
            .send()
            .await?;
    }
    Ok(())
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// A `PUT` of bytes `[start, start+len)` of the object, with no token and no extra headers.
/// Progress is reported as the body is read; a retried range reports its bytes again.
async fn put_range(
    http: &HttpClient,
    url: &str,
    obj: &LfsObject,
    start: u64,
    len: u64,
    progress: Option<&ProgressHandle>,
) -> Result<reqwest::Response> {
    let body = match &obj.source {
        AddSource::Bytes(b) => {
            let s = usize::try_from(start).unwrap_or(usize::MAX).min(b.len());
            let e = usize::try_from(start + len)
                .unwrap_or(usize::MAX)
                .min(b.len());
            reqwest::Body::from(b.slice(s..e))
        }
        AddSource::Path(p) => {
            let file = open_region(p, obj.size, obj.stamp.as_ref(), start).await?;
            let stream = ReaderStream::with_capacity(file.take(len), STREAM_BUF);
            match progress {
                Some(pr) => {
                    let (pr, label) = (pr.clone(), obj.path.clone());
                    reqwest::Body::wrap_stream(stream.inspect(move |c| {
                        if let Ok(c) = c {
                            pr.advance(&label, c.len() as u64);
                        }
                    }))
                }
                None => reqwest::Body::wrap_stream(stream),
            }
        }
        AddSource::Reader(_) => {
            return Err(Error::InvalidInput(format!(
                "the reader for {} was not read before its upload",
                obj.path
            )));
        }
    };
    let resp = http
        .raw()
        .put(url)
        .header(CONTENT_LENGTH, len)
        .body(body)
        .send()
        .await
        .map_err(|e| Error::Network {
            method: "PUT".into(),
            url: response::redact_url(url),
            message: innermost(&e),
        })?;
    crate::http::check(resp, "PUT", &ErrorScope::default()).await
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

/// Opens `path` at `start`, after checking it still has `size` bytes (and its stamp).
async fn open_region(
    path: &Path,
    size: u64,
    stamp: Option<&Stamp>,
    start: u64,
) -> Result<tokio::fs::File> {
    if let Some(s) = stamp {
        s.check(path)?;
    }
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| Error::io(format!("reading metadata of {}", path.display()), e))?
        .len();
    if len != size {
        return Err(changed(path, size, len));
    }
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(|e| Error::io(format!("seeking in {}", path.display()), e))?;
    Ok(file)
}

async fn basic(
    http: &HttpClient,
    href: &str,
    obj: &LfsObject,
    progress: Option<&ProgressHandle>,
) -> Result<()> {
    http.retry_policy()
        .run(|| async {
            put_range(http, href, obj, 0, obj.size, progress)
                .await
                .map(|_| ())
        })
        .await
}

async fn multipart(
    http: &HttpClient,
    completion_url: &str,
    obj: &LfsObject,
    header: &BTreeMap<String, Value>,
    chunk_size: u64,
    progress: Option<&ProgressHandle>,
) -> Result<()> {
    let mut parts: Vec<(u64, String)> = header
        .iter()
        .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        .map(|(k, v)| {
            let n = k.parse::<u64>().ok();
            let url = v.as_str().map(str::to_owned);
            n.zip(url).ok_or_else(|| Error::MalformedResponse {
                url: response::redact_url(completion_url),
                message: format!("invalid part URL for part {k}"),
            })
        })
        .collect::<Result<_>>()?;
    parts.sort_by_key(|(n, _)| *n);
    let expected = obj.size.div_ceil(chunk_size);
    let numbered_right = parts
        .iter()
        .enumerate()
        .all(|(i, (n, _))| *n == i as u64 + 1);
    if parts.len() as u64 != expected || !numbered_right {
        return Err(Error::MalformedResponse {
            url: response::redact_url(completion_url),
            message: format!(
                "{} part URLs for {} bytes in chunks of {chunk_size} (expected {expected}, numbered from 1)",
                parts.len(),
                obj.size
            ),
        });
    }
    let policy = http.retry_policy();
    let puts: Vec<_> = parts
        .into_iter()
        .map(|(n, url)| {
            let start = (n - 1) * chunk_size;
            let len = chunk_size.min(obj.size - start);
            async move {
                let etag = policy
                    .run(|| async {
                        let resp = put_range(http, &url, obj, start, len, progress).await?;
                        resp.headers()
                            .get(ETAG)
                            .and_then(|v| v.to_str().ok())
                            .filter(|v| !v.is_empty())
                            .map(str::to_owned)
                            .ok_or_else(|| Error::MalformedResponse {
                                url: response::redact_url(&url),
                                message: format!("part {n} was answered without an ETag"),
                            })
                    })
                    .await?;
                Ok::<_, Error>((n, etag))
            }
        })
        .collect();
    let etags: Vec<(u64, String)> = futures::stream::iter(puts)
        .buffer_unordered(PARTS_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut etags = etags;
    etags.sort_by_key(|(n, _)| *n);
    let body = json!({
        "oid": obj.oid,
        "parts": etags.iter().map(|(n, e)| json!({"partNumber": n, "etag": e})).collect::<Vec<_>>(),
    });
    http.post(completion_url)?
        .header("accept", LFS_MEDIA_TYPE)?
        .header(CONTENT_TYPE.as_str(), LFS_MEDIA_TYPE)?
        .json(&body)?
        .token(TokenMode::Never)
        .retry()
        .send()
        .await?;
    Ok(())
}

/// Reads the whole content of a regular-mode addition (small by the server's choice), checking
/// that a file still has the size (and stamp) it was sampled with.
pub(crate) async fn read_all(
    source: &AddSource,
    size: u64,
    stamp: Option<&Stamp>,
) -> Result<Bytes> {
    match source {
        AddSource::Bytes(b) => Ok(b.clone()),
        AddSource::Reader(_) => Err(Error::InvalidInput(
            "a reader was not read before its upload".into(),
        )),
        AddSource::Path(p) => {
            if let Some(s) = stamp {
                s.check(p)?;
            }
            let data = tokio::fs::read(p)
                .await
                .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
            if data.len() as u64 != size {
                return Err(changed(p, size, data.len() as u64));
            }
            Ok(Bytes::from(data))
        }
    }
}
