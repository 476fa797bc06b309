//! The object store of written repositories: content addressed by sha256 under
//! `.hfkit-mirror/objects/`, with the temp and multipart folders it is filled from.

use std::path::{Path, PathBuf};

use sha1::Digest;
use sha2::Sha256;

use super::history::{History, blocking, io_err, is_sha256};
use crate::error::{Error, Result};

impl History {
    /// The object file of `sha256`.
    pub fn object_path(&self, sha256: &str) -> PathBuf {
        let lower = sha256.to_ascii_lowercase();
        self.base.join("objects").join(&lower[..2]).join(lower)
    }

    /// A new temp file path.
    pub fn tmp_path(&self) -> PathBuf {
        self.base.join("tmp").join(uuid::Uuid::new_v4().to_string())
    }

    /// The folder of a multipart upload's parts.
    pub fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.base.join("uploads").join(upload_id)
    }

    /// The size of object `sha256`, if stored.
    pub async fn object_size(&self, sha256: &str) -> Option<u64> {
        if !is_sha256(sha256) {
            return None;
        }
        tokio::fs::metadata(self.object_path(sha256))
            .await
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Stores `bytes` as an object; returns its sha256.
    pub async fn put_bytes(&self, bytes: bytes::Bytes) -> Result<String> {
        let sha = hex::encode(Sha256::digest(&bytes));
        let path = self.object_path(&sha);
        if tokio::fs::metadata(&path).await.is_ok() {
            return Ok(sha);
        }
        let tmp = self.tmp_path();
        let t2 = tmp.clone();
        blocking(move || {
            if let Some(d) = t2.parent() {
                std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
            }
            std::fs::write(&t2, &bytes).map_err(io_err(format!("writing {}", t2.display())))
        })
        .await?;
        self.adopt(&tmp, &sha).await?;
        Ok(sha)
    }

    /// Moves a verified temp file into the object store as `sha256`.
    pub async fn adopt(&self, tmp: &Path, sha256: &str) -> Result<()> {
        let dest = self.object_path(sha256);
        let tmp = tmp.to_path_buf();
        blocking(move || {
            if let Some(d) = dest.parent() {
                std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
            }
            std::fs::rename(&tmp, &dest).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::io(format!("storing {}", dest.display()), e)
            })
        })
        .await
    }
}

/// The git blob sha1 of an object file of `size` bytes (streamed).
pub(super) fn git_oid_of_object(path: &Path, size: u64) -> Result<String> {
    use sha1::Sha1;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(io_err(format!("reading {}", path.display())))?;
    let mut h = Sha1::new();
    h.update(format!("blob {size}\0").as_bytes());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(io_err(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
