//! High-throughput mode (hub.md §3.3): a large file is fetched as 16 MiB ranges, at most 8 in
//! flight, into a pre-sized temporary file.
//!
//! Parts arrive out of order; a writer thread puts each chunk at its offset and tracks how far the
//! file is complete from the start, and a hasher thread reads that complete prefix back (from the
//! page cache) as it grows, so the checksum is ready when the last part lands instead of costing a
//! second pass. A part whose connection drops is resumed from where it stopped.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use super::progress::ProgressHandle;
use super::transfer::{Expected, Hasher, content_range_start, verify};
use crate::error::{Error, Result};
use crate::http::{HttpClient, Redirects, body_error, response::redact_url};

/// Files from this size on use ranges in high-throughput mode.
pub(crate) const RANGED_MIN_SIZE: u64 = 64 << 20;
/// Size of one range.
const PART_SIZE: u64 = 16 << 20;
/// Ranges in flight at once.
const IN_FLIGHT: usize = 8;
/// Resumptions of one part after a dropped connection.
const PART_RETRIES: u32 = 5;

enum WriteMsg {
    Data(u64, Bytes),
}

/// Downloads `url` (of `exp.size` bytes) into `temp` by ranges and verifies it. Returns
/// `Ok(false)` without writing anything when the server does not serve ranges.
pub(crate) async fn fetch_ranged(
    http: &HttpClient,
    url: &str,
    temp: &Path,
    exp: &Expected,
    label: &str,
    progress: Option<&ProgressHandle>,
) -> Result<bool> {
    let Some(size) = exp.size else {
        return Ok(false);
    };
    let shown = redact_url(url);
    // The first part doubles as the probe: a 200 means ranges are not served.
    let first_end = PART_SIZE.min(size) - 1;
    let first = http
        .get(url)?
        .header_static("accept-encoding", "identity")
        .header("range", format!("bytes=0-{first_end}"))?
        .redirects(Redirects::All)
        .retry()
        .send()
        .await?;
    if first.status().as_u16() != 206 || content_range_start(&first) != Some(0) {
        return Ok(false);
    }

    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .map_err(|e| Error::io(format!("creating {}", temp.display()), e))?;
    file.set_len(size)
        .map_err(|e| Error::io(format!("allocating {}", temp.display()), e))?;

    let (tx, rx) = mpsc::channel::<WriteMsg>(64);
    let writer = spawn_writer(file, temp.to_owned(), size, exp.clone(), rx);

    let parts: Vec<(u64, u64)> = (0..size.div_ceil(PART_SIZE))
        .map(|i| (i * PART_SIZE, ((i + 1) * PART_SIZE).min(size) - 1))
        .collect();
    let mut first = Some(first);
    let result =
        stream::iter(
            parts.into_iter().map(|(start, end)| {
                let resp = if start == 0 { first.take() } else { None };
                let tx = tx.clone();
                let shown = shown.clone();
                async move {
                    fetch_part(http, url, &shown, start, end, resp, &tx, label, progress).await
                }
            }),
        )
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await;
    drop(tx);
    let joined = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| Error::io("joining the writer", std::io::Error::other(e.to_string())))?;
    let written = match joined {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::other("the writer thread failed")),
    };
    let outcome = match (result, written) {
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(Error::io(format!("writing {}", temp.display()), e)),
        (Ok(_), Ok((len, digest))) => verify(&shown, exp, len, digest.as_deref()),
    };
    match outcome {
        Ok(()) => Ok(true),
        Err(e) => {
            let _ = tokio::fs::remove_file(temp).await;
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn fetch_part(
    http: &HttpClient,
    url: &str,
    shown: &str,
    start: u64,
    end: u64,
    mut resp: Option<reqwest::Response>,
    tx: &mpsc::Sender<WriteMsg>,
    label: &str,
    progress: Option<&ProgressHandle>,
) -> Result<()> {
    let mut offset = start;
    let mut retries = PART_RETRIES;
    while offset <= end {
        let mut r = match resp.take() {
            Some(r) => r,
            None => {
                let r = http
                    .get(url)?
                    .header_static("accept-encoding", "identity")
                    .header("range", format!("bytes={offset}-{end}"))?
                    .redirects(Redirects::All)
                    .retry()
                    .send()
                    .await?;
                if r.status().as_u16() != 206 || content_range_start(&r) != Some(offset) {
                    return Err(Error::MalformedResponse {
                        url: shown.to_owned(),
                        message: format!(
                            "asked for bytes {offset}-{end}, got status {} without that range",
                            r.status().as_u16()
                        ),
                    });
                }
                r
            }
        };
        let mut got = false;
        let failure = loop {
            match r.chunk().await {
                Ok(Some(chunk)) => {
                    got = true;
                    let n = chunk.len() as u64;
                    if offset + n > end + 1 {
                        return Err(Error::SizeMismatch {
                            url: shown.to_owned(),
                            expected: end + 1 - start,
                            actual: offset + n - start,
                        });
                    }
                    if tx.send(WriteMsg::Data(offset, chunk)).await.is_err() {
                        return Err(Error::io(
                            "writing a downloaded range",
                            std::io::Error::other("the writer stopped"),
                        ));
                    }
                    offset += n;
                    if let Some(p) = progress {
                        p.advance(label, n);
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(body_error(&e, "GET", shown)),
            }
        };
        if offset > end {
            return Ok(());
        }
        if got {
            retries = PART_RETRIES;
        }
        if retries == 0 {
            return Err(failure.unwrap_or(Error::SizeMismatch {
                url: shown.to_owned(),
                expected: end + 1 - start,
                actual: offset - start,
            }));
        }
        retries -= 1;
        tracing::warn!("range {start}-{end} of {label} stopped at {offset}; resuming in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}

/// Writes chunks at their offsets; feeds the hasher the complete prefix as it grows. Returns the
/// length written and the digest.
fn spawn_writer(
    file: File,
    path: PathBuf,
    size: u64,
    exp: Expected,
    mut rx: mpsc::Receiver<WriteMsg>,
) -> std::thread::JoinHandle<std::io::Result<(u64, Option<String>)>> {
    std::thread::spawn(move || {
        let (htx, hrx) = std::sync::mpsc::sync_channel::<(u64, u64)>(256);
        let reader = File::open(&path)?;
        let hasher = std::thread::spawn(move || -> std::io::Result<Option<String>> {
            let mut h = Hasher::new(&exp);
            let mut buf = vec![0u8; 1 << 20];
            for (from, to) in hrx {
                let mut at = from;
                while at < to {
                    let n = ((to - at) as usize).min(buf.len());
                    read_exact_at(&reader, &mut buf[..n], at)?;
                    h.update(&buf[..n]);
                    at += n as u64;
                }
            }
            h.finish_digest()
        });
        // Completed intervals beyond the contiguous prefix: start -> end (exclusive).
        let mut pieces: BTreeMap<u64, u64> = BTreeMap::new();
        let mut prefix = 0u64;
        let mut written = 0u64;
        while let Some(WriteMsg::Data(offset, data)) = rx.blocking_recv() {
            write_all_at(&file, &data, offset)?;
            written += data.len() as u64;
            let end = offset + data.len() as u64;
            // Merge with a piece that ends where this one starts.
            pieces.insert(offset, end);
            let before = prefix;
            while let Some(e) = pieces.remove(&prefix) {
                prefix = e;
            }
            if prefix > before {
                let _ = htx.send((before, prefix));
            }
        }
        drop(htx);
        let digest = hasher
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the hashing thread failed")))?;
        if prefix != size {
            return Ok((prefix.min(written), None));
        }
        Ok((written, digest))
    })
}

#[cfg(unix)]
fn write_all_at(file: &File, data: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !data.is_empty() {
        let n = file.seek_write(data, offset)?;
        data = &data[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_read(buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}
