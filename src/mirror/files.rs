//! `HEAD`/`GET {P}{repo}/resolve/{rev}/{path}`: file metadata headers and streamed content with
//! byte ranges (hub.md §3.1, §3.3).

use std::io::SeekFrom;

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderValue, LOCATION, RANGE,
};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::dispatch::Shared;
use super::respond::{ApiError, header_text};
use super::revision::FileEntry;
use super::routes::RepoRef;
use crate::error::Error;
use crate::repo::{RepoId, encode_segment, validate_repo_path};

/// Bytes read from disk per chunk of a streamed body. Large chunks keep the per-chunk costs
/// (a channel hand-off, a wake-up, a socket write) small next to the copying itself.
const STREAM_CHUNK: usize = 1024 * 1024;

/// Chunks read ahead of the socket, per response.
const READ_AHEAD: usize = 2;

/// How often a file that changes between listing and opening is looked up again.
const ATTEMPTS: usize = 3;

/// Which bytes of a file a request wants.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// The whole file (no `Range`, or one the mirror ignores as RFC 9110 allows).
    All,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// A range starting past the end.
    Unsatisfiable,
}

/// Answers a `resolve` request.
pub(crate) async fn resolve(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    repo: &RepoRef,
    rev: &str,
    path: &str,
) -> Result<Response, ApiError> {
    validate_repo_path(path).map_err(|e| ApiError::bad_request(format!("Invalid path: {e}")))?;
    for _ in 0..ATTEMPTS {
        let (_, revision) = shared.revision_at(repo, rev).await?;
        let commit = revision.commit();
        let entry = revision
            .file(path)
            .ok_or_else(|| ApiError::entry_not_found(commit))?;
        if let Some(location) = cdn_location(shared, repo, entry).await? {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::FOUND;
            let h = resp.headers_mut();
            file_headers(h, entry, commit);
            h.insert(LOCATION, header_text(&location));
            h.insert(CONTENT_LENGTH, HeaderValue::from(0));
            return Ok(resp);
        }
        let wanted = parse_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), entry.size);
        let (start, end) = match wanted {
            Wanted::All => (0, entry.size),
            Wanted::Part { start, end } => (start, end + 1),
            Wanted::Unsatisfiable => {
                return Err(ApiError::range_not_satisfiable(entry.size, commit));
            }
        };
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            let Some(file) = shared.store.open(entry).await? else {
                continue;
            };
            file_body(file.into_std().await, start, end - start)
        };
        let mut resp = Response::new(body);
        let h = resp.headers_mut();
        file_headers(h, entry, commit);
        h.insert(CONTENT_LENGTH, HeaderValue::from(end - start));
        if let Wanted::Part { start, end } = wanted {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            resp.headers_mut().insert(
                CONTENT_RANGE,
                header_text(&format!("bytes {start}-{end}/{}", entry.size)),
            );
        }
        return Ok(resp);
    }
    Err(ApiError::internal(&Error::stream(format!(
        "{path} kept changing on disk while it was being served"
    ))))
}

/// Where an LFS file is redirected to when the mirror has a CDN and the repository is public.
async fn cdn_location(
    shared: &Shared,
    repo: &RepoRef,
    entry: &FileEntry,
) -> Result<Option<String>, ApiError> {
    let (Some(cdn), Some(_)) = (&shared.cdn, &entry.lfs) else {
        return Ok(None);
    };
    let Ok(rel) = entry.source.strip_prefix(shared.store.root()) else {
        return Ok(None);
    };
    let private = match RepoId::new(repo.id.as_str()) {
        Ok(id) => shared
            .history
            .meta(repo.repo_type, &id)
            .await?
            .is_some_and(|m| m.private),
        Err(_) => true,
    };
    if private {
        return Ok(None);
    }
    let mut segments = Vec::new();
    for part in rel.components() {
        let std::path::Component::Normal(name) = part else {
            return Ok(None);
        };
        let Some(name) = name.to_str() else {
            return Ok(None);
        };
        segments.push(encode_segment(name));
    }
    Ok(Some(format!("{cdn}/{}", segments.join("/"))))
}

/// Streams `len` bytes of `file` from `start`. One blocking thread per response reads large
/// chunks ahead of the socket (a `tokio::fs::File` would hop to the blocking pool for every
/// small read); it stops as soon as the client goes away.
fn file_body(mut file: std::fs::File, start: u64, len: u64) -> Body {
    use std::io::{Read, Seek};
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        if start > 0
            && let Err(e) = file.seek(SeekFrom::Start(start))
        {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let mut left = len;
        while left > 0 {
            let want = left.min(STREAM_CHUNK as u64) as usize;
            // `read_to_end` fills spare capacity without zeroing it first.
            let mut buf = Vec::with_capacity(want);
            let item = match (&mut file).take(want as u64).read_to_end(&mut buf) {
                Ok(0) => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was being served",
                )),
                Ok(n) => {
                    left -= n as u64;
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    let mut rx = rx;
    Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The metadata headers of a file answer.
fn file_headers(h: &mut HeaderMap, entry: &FileEntry, commit: &str) {
    h.insert("x-repo-commit", header_text(commit));
    h.insert(ETAG, header_text(&format!("\"{}\"", entry.oid)));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(lfs) = &entry.lfs {
        h.insert("x-linked-etag", header_text(&format!("\"{}\"", lfs.sha256)));
        h.insert("x-linked-size", HeaderValue::from(entry.size));
    }
}

/// Reads a single `bytes=` range; several ranges or malformed ones are ignored (whole file).
fn parse_range(value: Option<&str>, total: u64) -> Wanted {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Wanted::All;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last `b` bytes.
        return match b.parse::<u64>() {
            Ok(0) => Wanted::Unsatisfiable,
            Ok(_) if total == 0 => Wanted::Unsatisfiable,
            Ok(n) => Wanted::Part {
                start: total - n.min(total),
                end: total - 1,
            },
            Err(_) => Wanted::All,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return Wanted::All;
    };
    let end = if b.is_empty() {
        None
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => Some(e),
            _ => return Wanted::All,
        }
    };
    if start >= total {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part {
        start,
        end: end.map_or(total - 1, |e| e.min(total - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Wanted::All);
        assert_eq!(
            parse_range(Some("bytes=3-"), 10),
            Wanted::Part { start: 3, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=3-4"), 10),
            Wanted::Part { start: 3, end: 4 }
        );
        assert_eq!(
            parse_range(Some("bytes=3-40"), 10),
            Wanted::Part { start: 3, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-4"), 10),
            Wanted::Part { start: 6, end: 9 }
        );
        assert_eq!(parse_range(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Wanted::All);
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Wanted::All);
        assert_eq!(parse_range(Some("items=0-1"), 10), Wanted::All);
    }
}
