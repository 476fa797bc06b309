//! Moving the bytes of one file to a temporary file: resume with `Range`, retries after dropped
//! connections, hashing while writing, and verification against the expected size and etag
//! (hub.md §3.3).
//!
//! The network side runs in the async task; writing and hashing run on a blocking thread fed by a
//! bounded channel, so the two overlap and memory stays flat whatever the file size.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::progress::ProgressHandle;
use crate::error::{Error, Result};
use crate::http::{HttpClient, Redirects, body_error, response::redact_url};

/// How many times a dropped body is resumed before giving up (reset when bytes arrive).
const BODY_RETRIES: u32 = 5;
/// Pause between resumptions.
const RESUME_PAUSE: Duration = Duration::from_secs(1);

/// What the downloaded bytes must be.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    /// sha256 (64 hex) or git blob sha1 (40 hex); anything else is only size-checked.
    pub etag: String,
    /// Size, when known.
    pub size: Option<u64>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) enum Hasher {
    Sha256(Sha256),
    GitSha1(Sha1),
    /// Git sha1 with an unknown size: checked after the transfer by reading the file.
    Deferred,
    None,
}

impl Hasher {
    pub(super) fn new(exp: &Expected) -> Self {
        if is_hex(&exp.etag, 64) {
            Hasher::Sha256(Sha256::new())
        } else if is_hex(&exp.etag, 40) {
            match exp.size {
                Some(size) => {
                    let mut h = Sha1::new();
                    h.update(format!("blob {size}\0").as_bytes());
                    Hasher::GitSha1(h)
                }
                None => Hasher::Deferred,
            }
        } else {
            Hasher::None
        }
    }

    pub(super) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::GitSha1(h) => h.update(data),
            Hasher::Deferred | Hasher::None => {}
        }
    }

    /// The digest when it was computed on the fly (`None` for deferred or unchecked etags).
    pub(super) fn finish_digest(self) -> std::io::Result<Option<String>> {
        Ok(match self {
            Hasher::Sha256(h) => Some(hex::encode(h.finalize())),
            Hasher::GitSha1(h) => Some(hex::encode(h.finalize())),
            Hasher::Deferred | Hasher::None => None,
        })
    }

    fn finish(self, file: &Path, len: u64) -> std::io::Result<Option<String>> {
        Ok(match self {
            Hasher::Sha256(h) => Some(hex::encode(h.finalize())),
            Hasher::GitSha1(h) => Some(hex::encode(h.finalize())),
            Hasher::Deferred => {
                let mut h = Sha1::new();
                h.update(format!("blob {len}\0").as_bytes());
                let mut f = File::open(file)?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                Some(hex::encode(h.finalize()))
            }
            Hasher::None => None,
        })
    }
}

enum HashMsg {
    Data(Bytes),
    Reset,
    Finish(PathBuf, u64),
}

/// A thread that hashes the bytes it is sent.
struct HashWorker {
    tx: std::sync::mpsc::SyncSender<HashMsg>,
    handle: std::thread::JoinHandle<std::io::Result<Option<String>>>,
}

impl HashWorker {
    fn start(exp: Expected) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashMsg>(16);
        let handle = std::thread::spawn(move || {
            let mut h = Hasher::new(&exp);
            for msg in rx {
                match msg {
                    HashMsg::Data(b) => h.update(&b),
                    HashMsg::Reset => h = Hasher::new(&exp),
                    HashMsg::Finish(path, len) => return h.finish(&path, len),
                }
            }
            Ok(None)
        });
        HashWorker { tx, handle }
    }

    fn update(&self, b: Bytes) {
        let _ = self.tx.send(HashMsg::Data(b));
    }

    fn reset(&self) {
        let _ = self.tx.send(HashMsg::Reset);
    }

    fn finish(self, path: PathBuf, len: u64) -> std::io::Result<Option<String>> {
        let _ = self.tx.send(HashMsg::Finish(path, len));
        drop(self.tx);
        self.handle
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the hashing thread failed")))
    }
}

enum Msg {
    Data(Bytes),
    /// Start over from an empty file.
    Truncate,
    /// Flush and report `(length, digest)`.
    Finish(oneshot::Sender<std::io::Result<(u64, Option<String>)>>),
}

/// The writing-and-hashing end, on a blocking thread.
struct Sink {
    tx: mpsc::Sender<Msg>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Sink {
    /// Opens `path`, keeping its first `keep` bytes (hashed first), truncating the rest.
    fn open(path: PathBuf, keep: u64, exp: Expected) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(32);
        let task = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            // Truncate only when there is something to cut: on ext4 a truncate to zero marks the
            // file for a forced flush of all its delayed allocations at close (auto_da_alloc),
            // which costs the writer thread a second pass over the data.
            if file.metadata()?.len() != keep {
                file.set_len(keep)?;
            }
            // Hashing runs on its own thread, beside the writes, so a transfer costs the slower
            // of the two rather than their sum.
            let hasher = HashWorker::start(exp.clone());
            let mut len = 0u64;
            if keep > 0 {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(Bytes::copy_from_slice(&buf[..n]));
                    len += n as u64;
                }
            }
            file.seek(SeekFrom::Start(len))?;
            // Chunks from the socket are large enough (tens to hundreds of KiB) to be written as
            // they are; a buffer would only add a copy.
            let mut out = file;
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    Msg::Data(b) => {
                        hasher.update(b.clone());
                        out.write_all(&b)?;
                        len += b.len() as u64;
                    }
                    Msg::Truncate => {
                        out.flush()?;
                        let f = &mut out;
                        f.set_len(0)?;
                        f.seek(SeekFrom::Start(0))?;
                        hasher.reset();
                        len = 0;
                    }
                    Msg::Finish(reply) => {
                        let res = out
                            .flush()
                            .and_then(|_| hasher.finish(path.clone(), len).map(|d| (len, d)));
                        let _ = reply.send(res);
                        return Ok(());
                    }
                }
            }
            out.flush()
        });
        Sink { tx, task }
    }

    async fn send(&self, msg: Msg, path: &Path) -> Result<()> {
        if self.tx.send(msg).await.is_err() {
            return Err(Error::io(
                format!("writing {}", path.display()),
                std::io::Error::other("the writer stopped"),
            ));
        }
        Ok(())
    }

    async fn finish(self, path: &Path) -> Result<(u64, Option<String>)> {
        let ctx = || format!("writing {}", path.display());
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(Msg::Finish(reply)).await.is_ok();
        drop(self.tx);
        let joined = self.task.await;
        match joined {
            Ok(Err(e)) => return Err(Error::io(ctx(), e)),
            Err(e) => return Err(Error::io(ctx(), std::io::Error::other(e.to_string()))),
            Ok(Ok(())) => {}
        }
        if !sent {
            return Err(Error::io(
                ctx(),
                std::io::Error::other("the writer stopped"),
            ));
        }
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::io(ctx(), e)),
            Err(_) => Err(Error::io(
                ctx(),
                std::io::Error::other("the writer stopped"),
            )),
        }
    }

    /// Stops the writer when the transfer failed; the error of the writer, if any, wins.
    async fn abort(self) -> Option<Error> {
        drop(self.tx);
        match self.task.await {
            Ok(Err(e)) => Some(Error::io("writing the download", e)),
            _ => None,
        }
    }
}

/// Downloads `url` into `temp` and verifies it. With `resume`, bytes already in `temp` are kept
/// and the rest is requested with `Range`. On failure the temporary file is deleted unless it can
/// be resumed later (a dropped connection leaves it for the next run).
pub(crate) async fn fetch_to_file(
    http: &HttpClient,
    url: &str,
    temp: &Path,
    exp: &Expected,
    label: &str,
    progress: Option<&ProgressHandle>,
    resume: bool,
) -> Result<()> {
    if let Some(dir) = temp.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let mut offset = if resume {
        tokio::fs::metadata(temp)
            .await
            .map(|m| m.len())
            .unwrap_or(0)
    } else {
        0
    };
    if exp.size.is_some_and(|s| offset > s) {
        offset = 0;
    }
    let shown_url = redact_url(url);
    if let Some(p) = progress {
        p.start(label, exp.size, offset);
    }
    if offset == 0
        && http.settings().high_throughput()
        && exp
            .size
            .is_some_and(|s| s >= super::ranged::RANGED_MIN_SIZE)
    {
        match super::ranged::fetch_ranged(http, url, temp, exp, label, progress).await {
            Ok(true) => {
                if let Some(p) = progress {
                    p.finish(label);
                }
                return Ok(());
            }
            // The server ignores ranges: one stream, as usual.
            Ok(false) => {}
            Err(e) => {
                if let Some(p) = progress {
                    p.finish(label);
                }
                let _ = tokio::fs::remove_file(temp).await;
                return Err(e);
            }
        }
    }
    let result = transfer(http, url, &shown_url, temp, exp, label, progress, offset).await;
    if let Some(p) = progress {
        p.finish(label);
    }
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            // A dropped connection or timeout leaves the partial file to resume next time;
            // anything else (bad bytes, HTTP errors) deletes it.
            let resumable = resume && matches!(e, Error::Network { .. } | Error::Timeout { .. });
            if !resumable {
                let _ = tokio::fs::remove_file(temp).await;
            }
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn transfer(
    http: &HttpClient,
    url: &str,
    shown_url: &str,
    temp: &Path,
    exp: &Expected,
    label: &str,
    progress: Option<&ProgressHandle>,
    mut offset: u64,
) -> Result<()> {
    // A complete leftover from an interrupted run: verify it without a request.
    if offset > 0 && exp.size == Some(offset) {
        let sink = Sink::open(temp.to_owned(), offset, exp.clone());
        let (len, digest) = sink.finish(temp).await?;
        if verify(shown_url, exp, len, digest.as_deref()).is_ok() {
            return Ok(());
        }
        offset = 0;
    }
    let sink = Sink::open(temp.to_owned(), offset, exp.clone());
    let mut retries_left = BODY_RETRIES;
    let mut written = offset;
    // Whether this call received any body bytes (as opposed to a leftover of an earlier run).
    let mut fetched_any = false;
    loop {
        let mut rb = http
            .get(url)?
            .header_static("accept-encoding", "identity")
            .redirects(Redirects::All)
            .retry();
        if written > 0 {
            rb = rb.header("range", format!("bytes={written}-"))?;
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(Error::RangeNotSatisfiable(_)) if written > 0 => {
                // The server says we have everything: check it. Bytes left by an earlier run
                // that fail the check are fetched again from the start; bytes fetched by this
                // call already came from the server, so fetching them again cannot help (an
                // announced size larger than the file would otherwise loop forever).
                let (len, digest) = sink.finish(temp).await?;
                let checked = verify(shown_url, exp, len, digest.as_deref());
                if checked.is_ok() || fetched_any {
                    return checked;
                }
                return Box::pin(restart(http, url, shown_url, temp, exp, label, progress)).await;
            }
            Err(e) => {
                if let Some(w) = sink.abort().await {
                    return Err(w);
                }
                return Err(e);
            }
        };
        if let Some(enc) = resp
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            && !enc.eq_ignore_ascii_case("identity")
        {
            let _ = sink.abort().await;
            return Err(Error::MalformedResponse {
                url: shown_url.to_owned(),
                message: format!(
                    "the server sent Content-Encoding {enc:?} although identity was asked for"
                ),
            });
        }
        let status = resp.status().as_u16();
        if written > 0 {
            let start = content_range_start(&resp);
            if status == 206 && start == Some(written) {
                // Appending.
            } else {
                // 200 (Range ignored) or an unexpected range: start over.
                sink.send(Msg::Truncate, temp).await?;
                if let Some(p) = progress {
                    p.start(label, exp.size, 0);
                }
                written = 0;
            }
        }
        let mut resp = resp;
        let mut got_bytes = false;
        let outcome: Result<()> = loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    got_bytes = true;
                    fetched_any = true;
                    let n = chunk.len() as u64;
                    written += n;
                    if let Some(s) = exp.size
                        && written > s
                    {
                        break Err(Error::SizeMismatch {
                            url: shown_url.to_owned(),
                            expected: s,
                            actual: written,
                        });
                    }
                    sink.send(Msg::Data(chunk), temp).await?;
                    if let Some(p) = progress {
                        p.advance(label, n);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(body_error(&e, "GET", shown_url)),
            }
        };
        match outcome {
            Ok(()) => {
                // A body that ends early without an error is a drop too.
                if exp.size.is_some_and(|s| written < s) {
                    if got_bytes {
                        retries_left = BODY_RETRIES;
                    }
                    if retries_left == 0 {
                        let _ = sink.abort().await;
                        return Err(Error::SizeMismatch {
                            url: shown_url.to_owned(),
                            expected: exp.size.unwrap_or_default(),
                            actual: written,
                        });
                    }
                    retries_left -= 1;
                    tracing::warn!(
                        "the connection for {label} ended after {written} bytes; resuming in 1 s"
                    );
                    tokio::time::sleep(RESUME_PAUSE).await;
                    continue;
                }
                let (len, digest) = sink.finish(temp).await?;
                return verify(shown_url, exp, len, digest.as_deref());
            }
            Err(e @ Error::SizeMismatch { .. }) => {
                let _ = sink.abort().await;
                return Err(e);
            }
            Err(e) => {
                if got_bytes {
                    retries_left = BODY_RETRIES;
                }
                if retries_left == 0 {
                    if let Some(w) = sink.abort().await {
                        return Err(w);
                    }
                    return Err(e);
                }
                retries_left -= 1;
                tracing::warn!("{e}; resuming {label} from byte {written} in 1 s");
                tokio::time::sleep(RESUME_PAUSE).await;
            }
        }
    }
}

async fn restart(
    http: &HttpClient,
    url: &str,
    shown_url: &str,
    temp: &Path,
    exp: &Expected,
    label: &str,
    progress: Option<&ProgressHandle>,
) -> Result<()> {
    transfer(http, url, shown_url, temp, exp, label, progress, 0).await
}

/// The first byte of a `Content-Range: bytes A-B/N` answer.
pub(super) fn content_range_start(resp: &reqwest::Response) -> Option<u64> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    let rest = v.trim().strip_prefix("bytes")?.trim();
    let (range, _) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    start.trim().parse().ok()
}

pub(super) fn verify(url: &str, exp: &Expected, len: u64, digest: Option<&str>) -> Result<()> {
    if let Some(s) = exp.size
        && s != len
    {
        return Err(Error::SizeMismatch {
            url: url.to_owned(),
            expected: s,
            actual: len,
        });
    }
    if let Some(d) = digest
        && !d.eq_ignore_ascii_case(&exp.etag)
    {
        return Err(Error::ChecksumMismatch {
            url: url.to_owned(),
            expected: exp.etag.clone(),
            actual: d.to_owned(),
        });
    }
    Ok(())
}
