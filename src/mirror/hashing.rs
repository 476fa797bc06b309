//! Content ids exactly as the Hub computes them: git blob sha1 for regular files, sha256 for LFS
//! files, the LFS pointer text, and the ids the mirror derives for directories, commits and repos.
//!
//! Files are hashed by streaming them through a fixed buffer, never by reading them whole.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::SystemTime;

use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Read buffer used while hashing (256 KiB).
const BUF_SIZE: usize = 256 * 1024;

/// How often hashing is retried when a file changes under the hasher.
const ATTEMPTS: usize = 3;

/// What the Hub needs to know about one file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentIds {
    /// Git blob sha1 of the content (regular file) or of the LFS pointer text (LFS file).
    pub oid: String,
    /// Present for LFS files.
    pub lfs: Option<LfsIds>,
}

/// The LFS side of a file stored as LFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LfsIds {
    /// sha256 of the content, 64 lowercase hex.
    pub sha256: String,
    /// Length in bytes of the LFS pointer text.
    pub pointer_size: u64,
}

/// A file's content ids together with the size and mtime they were computed for.
#[derive(Debug, Clone)]
pub(crate) struct HashedFile {
    /// Size of the content that was hashed.
    pub size: u64,
    /// Modification time of the file when it was opened.
    pub mtime: SystemTime,
    /// The ids.
    pub ids: ContentIds,
}

/// Git blob sha1 of `bytes`: `sha1("blob {len}\0" + bytes)`, 40 lowercase hex.
pub(crate) fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

/// The text of a Git LFS pointer file for content with `sha256` and `size`.
pub(crate) fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// sha1 over `parts`, each followed by a newline, as 40 lowercase hex.
pub(crate) fn sha1_lines<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Hashes the file at `path`: git blob sha1 when it is smaller than `lfs_threshold`, else sha256
/// plus the LFS pointer's git sha1. Retries when the file changes while it is read.
pub(crate) fn hash_file(path: &Path, lfs_threshold: u64) -> io::Result<HashedFile> {
    let mut last_err = None;
    for _ in 0..ATTEMPTS {
        match hash_once(path, lfs_threshold) {
            Ok(h) => return Ok(h),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("hashing failed")))
}

fn hash_once(path: &Path, lfs_threshold: u64) -> io::Result<HashedFile> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let size = meta.len();
    let mtime = meta.modified()?;
    let mut buf = vec![0u8; BUF_SIZE];
    let ids = if size >= lfs_threshold {
        let mut h = Sha256::new();
        let read = pump(&mut file, &mut buf, |chunk| h.update(chunk))?;
        check_len(path, size, read)?;
        let sha256 = hex::encode(h.finalize());
        let pointer = lfs_pointer(&sha256, size);
        ContentIds {
            oid: git_blob_sha1(pointer.as_bytes()),
            lfs: Some(LfsIds {
                sha256,
                pointer_size: pointer.len() as u64,
            }),
        }
    } else {
        let mut h = Sha1::new();
        h.update(format!("blob {size}\0").as_bytes());
        let read = pump(&mut file, &mut buf, |chunk| h.update(chunk))?;
        check_len(path, size, read)?;
        ContentIds {
            oid: hex::encode(h.finalize()),
            lfs: None,
        }
    };
    Ok(HashedFile { size, mtime, ids })
}

/// Feeds the whole reader to `sink`, returning the number of bytes read.
fn pump(file: &mut File, buf: &mut [u8], mut sink: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                sink(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A length mismatch means the file changed while it was read: reported as `Interrupted` so the
/// caller tries again.
fn check_len(path: &Path, expected: u64, read: u64) -> io::Result<()> {
    if expected == read {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::Interrupted,
            format!(
                "{} changed while it was hashed ({expected} bytes expected, {read} read)",
                path.display()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_sha1_matches_git() {
        assert_eq!(
            git_blob_sha1(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            git_blob_sha1(b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn streamed_hashes_match_in_memory_ones() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"hello\n").unwrap();
        let h = hash_file(&small, 1024).unwrap();
        assert_eq!(h.size, 6);
        assert_eq!(h.ids.oid, "ce013625030ba8dba906f756967f9e9ca394464a");
        assert!(h.ids.lfs.is_none());

        let big = dir.path().join("big");
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&big, &data).unwrap();
        let h = hash_file(&big, 1024).unwrap();
        let lfs = h.ids.lfs.unwrap();
        assert_eq!(lfs.sha256, hex::encode(Sha256::digest(&data)));
        let pointer = lfs_pointer(&lfs.sha256, data.len() as u64);
        assert_eq!(lfs.pointer_size, pointer.len() as u64);
        assert_eq!(h.ids.oid, git_blob_sha1(pointer.as_bytes()));
        // Below the threshold the same file is a regular git blob.
        let h = hash_file(&big, u64::MAX).unwrap();
        assert_eq!(h.ids.oid, git_blob_sha1(&data));
    }
}
