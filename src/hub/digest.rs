//! Streamed hashing of commit sources (hub.md §6.3–§6.4): the 512-byte preupload sample, the
//! git blob id (sha1) of regular files and the sha256 of LFS files, each computed in one bounded
//! read of the source. Readers are spooled to a temporary file while they are hashed, so that
//! their bytes can be sent later without ever being held in memory.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::progress::ProgressHandle;
use crate::error::{Error, Result};

/// Bytes of each file sent as its preupload sample.
pub(crate) const SAMPLE_SIZE: usize = 512;
/// Read buffer while hashing.
const HASH_BUF: usize = 1 << 20;

/// Size and modification time of a local file when it was first read; checked again before its
/// bytes are sent and before the commit, so that a file edited meanwhile is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub size: u64,
    pub mtime: Option<SystemTime>,
}

impl Stamp {
    /// The stamp of `path` now.
    pub(crate) fn of(path: &Path) -> Result<Stamp> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("reading metadata of {}", path.display()), e))?;
        Ok(Stamp::from_meta(&meta))
    }

    pub(crate) fn from_meta(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            mtime: meta.modified().ok(),
        }
    }

    /// `Ok` when `path` still has this size and modification time.
    pub(crate) fn check(&self, path: &Path) -> Result<()> {
        let now = Stamp::of(path)?;
        if now.size != self.size {
            return Err(changed(path, self.size, now.size));
        }
        if now.mtime != self.mtime {
            return Err(Error::InvalidInput(format!(
                "{} changed during the upload (modified after it was hashed); nothing was committed",
                path.display()
            )));
        }
        Ok(())
    }
}

/// The error for a local file whose size changed since it was hashed.
pub(crate) fn changed(path: &Path, expected: u64, now: u64) -> Error {
    Error::InvalidInput(format!(
        "{} changed during the upload ({expected} bytes when hashed, {now} now); nothing was committed",
        path.display()
    ))
}

/// Which digests to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Want {
    pub sha1: bool,
    pub sha256: bool,
}

/// What one streamed pass over a source found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hashed {
    pub sample: Vec<u8>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
}

struct Hasher {
    want: Want,
    s1: Sha1,
    s256: Sha256,
    sample: Vec<u8>,
    read: u64,
}

impl Hasher {
    fn new(size: u64, want: Want) -> Hasher {
        let mut s1 = Sha1::new();
        if want.sha1 {
            s1.update(format!("blob {size}\0").as_bytes());
        }
        Hasher {
            want,
            s1,
            s256: Sha256::new(),
            sample: Vec::with_capacity(SAMPLE_SIZE),
            read: 0,
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        if self.sample.len() < SAMPLE_SIZE {
            let take = (SAMPLE_SIZE - self.sample.len()).min(chunk.len());
            self.sample.extend_from_slice(&chunk[..take]);
        }
        if self.want.sha1 {
            self.s1.update(chunk);
        }
        if self.want.sha256 {
            self.s256.update(chunk);
        }
        self.read += chunk.len() as u64;
    }

    fn finish(self) -> Hashed {
        Hashed {
            sample: self.sample,
            sha1: self.want.sha1.then(|| hex::encode(self.s1.finalize())),
            sha256: self.want.sha256.then(|| hex::encode(self.s256.finalize())),
        }
    }
}

/// Digests of bytes in memory.
pub(crate) fn hash_bytes(b: &[u8], want: Want) -> Hashed {
    let mut h = Hasher::new(b.len() as u64, want);
    h.update(b);
    h.finish()
}

/// The first [`SAMPLE_SIZE`] bytes of `path` and its stamp.
pub(crate) fn sample_path(path: &Path) -> Result<(Vec<u8>, Stamp)> {
    let ctx = || format!("reading {}", path.display());
    let file = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
    let stamp = Stamp::from_meta(&file.metadata().map_err(|e| Error::io(ctx(), e))?);
    let mut sample = Vec::with_capacity(SAMPLE_SIZE);
    file.take(SAMPLE_SIZE as u64)
        .read_to_end(&mut sample)
        .map_err(|e| Error::io(ctx(), e))?;
    Ok((sample, stamp))
}

/// Digests of the file at `path`, which must still match `stamp`; `label` names it in progress
/// events.
pub(crate) fn hash_path(
    path: &Path,
    stamp: &Stamp,
    want: Want,
    progress: Option<&ProgressHandle>,
    label: &str,
) -> Result<Hashed> {
    let ctx = || format!("reading {}", path.display());
    stamp.check(path)?;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
    let mut h = Hasher::new(stamp.size, want);
    let mut buf = vec![0u8; HASH_BUF];
    if let Some(p) = progress {
        p.start(label, Some(stamp.size), 0);
    }
    let result = loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(Error::io(ctx(), e)),
        };
        h.update(&buf[..n]);
        if let Some(p) = progress {
            p.advance(label, n as u64);
        }
    };
    if let Some(p) = progress {
        p.finish(label);
    }
    result?;
    if h.read != stamp.size {
        return Err(changed(path, stamp.size, h.read));
    }
    stamp.check(path)?;
    Ok(h.finish())
}

/// A temporary file holding the bytes of a reader; removed on drop.
#[derive(Debug)]
pub(crate) struct Spool {
    path: PathBuf,
}

impl Spool {
    /// Where the bytes are.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Copies exactly `size` bytes of `reader` to a new temporary file under `dir`, hashing them on
/// the way (both digests, since the upload mode is not known yet). A reader that ends early or
/// has more bytes is refused.
pub(crate) async fn spool_reader(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    size: u64,
    dir: &Path,
    progress: Option<&ProgressHandle>,
    label: &str,
) -> Result<(Hashed, Spool)> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let spool = Spool {
        path: dir.join(format!(
            "hfkit-upload-{}.spool",
            uuid::Uuid::new_v4().simple()
        )),
    };
    let ctx = || format!("spooling {label} to {}", spool.path.display());
    let mut out = tokio::fs::File::create(&spool.path)
        .await
        .map_err(|e| Error::io(ctx(), e))?;
    let mut h = Hasher::new(
        size,
        Want {
            sha1: true,
            sha256: true,
        },
    );
    let mut buf = vec![0u8; HASH_BUF];
    if let Some(p) = progress {
        p.start(label, Some(size), 0);
    }
    let result: Result<()> = async {
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| Error::io(format!("reading the source of {label}"), e))?;
            if n == 0 {
                return Ok(());
            }
            if h.read + n as u64 > size {
                return Err(Error::InvalidInput(format!(
                    "the reader of {label} has more than the {size} bytes it was declared with"
                )));
            }
            h.update(&buf[..n]);
            out.write_all(&buf[..n])
                .await
                .map_err(|e| Error::io(ctx(), e))?;
            if let Some(p) = progress {
                p.advance(label, n as u64);
            }
        }
    }
    .await;
    if let Some(p) = progress {
        p.finish(label);
    }
    result?;
    if h.read != size {
        return Err(Error::InvalidInput(format!(
            "the reader of {label} ended after {} of the {size} bytes it was declared with",
            h.read
        )));
    }
    out.flush().await.map_err(|e| Error::io(ctx(), e))?;
    Ok((h.finish(), spool))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Want = Want {
        sha1: true,
        sha256: true,
    };

    #[test]
    fn digests_match_git_and_sha256() {
        let h = hash_bytes(b"hello\n", BOTH);
        assert_eq!(
            h.sha1.as_deref(),
            Some("ce013625030ba8dba906f756967f9e9ca394464a")
        );
        assert_eq!(h.sample, b"hello\n");
        assert_eq!(
            hash_bytes(b"", BOTH).sha1.as_deref(),
            Some("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let stamp = Stamp::of(&p).unwrap();
        let a = hash_path(&p, &stamp, BOTH, None, "f").unwrap();
        let b = hash_bytes(&data, BOTH);
        assert_eq!((&a.sha1, &a.sha256), (&b.sha1, &b.sha256));
        assert_eq!(a.sample.len(), 512);
        let only = hash_path(
            &p,
            &stamp,
            Want {
                sha1: false,
                sha256: true,
            },
            None,
            "f",
        )
        .unwrap();
        assert_eq!((only.sha1, only.sha256), (None, b.sha256));
    }

    #[test]
    fn a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let stamp = Stamp::of(&p).unwrap();
        std::fs::write(&p, b"abcd").unwrap();
        let err = hash_path(&p, &stamp, BOTH, None, "f").unwrap_err();
        assert!(matches!(err, Error::InvalidInput(m) if m.contains("changed")));
        // Same size, new content and a later modification time.
        std::fs::write(&p, b"xyz").unwrap();
        let stamp = Stamp::of(&p).unwrap();
        std::fs::write(&p, b"XYZ").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        let err = hash_path(&p, &stamp, BOTH, None, "f").unwrap_err();
        assert!(matches!(err, Error::InvalidInput(m) if m.contains("modified")));
    }

    #[tokio::test]
    async fn readers_are_spooled_and_checked_against_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 7) as u8).collect();
        let (h, spool) = spool_reader(
            &mut std::io::Cursor::new(data.clone()),
            data.len() as u64,
            dir.path(),
            None,
            "r",
        )
        .await
        .unwrap();
        assert_eq!(h.sha256, hash_bytes(&data, BOTH).sha256);
        assert_eq!(std::fs::read(spool.path()).unwrap(), data);
        let path = spool.path().to_path_buf();
        drop(spool);
        assert!(!path.exists(), "the spool is removed on drop");
        for declared in [10u64, 3_000_000] {
            let err = spool_reader(
                &mut std::io::Cursor::new(data.clone()),
                declared,
                dir.path(),
                None,
                "r",
            )
            .await
            .unwrap_err();
            assert!(matches!(err, Error::InvalidInput(m) if m.contains("declared")));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
