//! Per-file progress of a resumable folder upload, kept where Python's `huggingface_hub` keeps it:
//! `LOCAL/.cache/huggingface/upload/{path}.metadata`, eight lines — timestamp (float seconds),
//! size, should-ignore (`0`/`1`/empty), sha256, upload mode (`regular`/`lfs`/empty), remote oid,
//! uploaded (`0`/`1`), committed (`0`/`1`). A record is trusted only while the file is no newer
//! than its timestamp and has the recorded size; an uploaded-but-uncommitted record older than 20
//! hours is treated as not uploaded (the storage may have dropped the object).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::commit_flow::Mode;
use super::digest::Stamp;
use crate::error::{Error, Result};

/// After this long an uploaded, uncommitted object may be gone.
const UPLOAD_EXPIRY: Duration = Duration::from_secs(20 * 3600);

/// What is known of one file's upload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UploadState {
    pub timestamp: Option<f64>,
    pub size: u64,
    pub should_ignore: Option<bool>,
    pub sha256: Option<String>,
    pub upload_mode: Option<Mode>,
    pub remote_oid: Option<String>,
    pub is_uploaded: bool,
    pub is_committed: bool,
}

impl UploadState {
    /// Nothing known but the size.
    pub(crate) fn fresh(size: u64) -> Self {
        UploadState {
            timestamp: None,
            size,
            should_ignore: None,
            sha256: None,
            upload_mode: None,
            remote_oid: None,
            is_uploaded: false,
            is_committed: false,
        }
    }
}

/// `folder/.cache/huggingface/upload/{rel}.metadata`.
pub(crate) fn metadata_path(folder: &Path, rel: &str) -> PathBuf {
    let mut p = folder.join(".cache").join("huggingface").join("upload");
    for seg in rel.split('/') {
        p.push(seg);
    }
    let mut name = p.into_os_string();
    name.push(".metadata");
    PathBuf::from(name)
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn parse(text: &str) -> Option<UploadState> {
    let mut lines = text.split('\n');
    let mut next = || lines.next().map(str::trim);
    let timestamp: f64 = next()?.parse().ok()?;
    let size: u64 = next()?.parse().ok()?;
    let should_ignore = match next()? {
        "" => None,
        "0" => Some(false),
        "1" => Some(true),
        _ => return None,
    };
    let sha256 = Some(next()?).filter(|s| !s.is_empty()).map(str::to_owned);
    let upload_mode = match next()? {
        "" => None,
        "regular" => Some(Mode::Regular),
        "lfs" => Some(Mode::Lfs),
        _ => return None,
    };
    let remote_oid = Some(next()?).filter(|s| !s.is_empty()).map(str::to_owned);
    let flag = |s: &str| match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    };
    let is_uploaded = flag(next()?)?;
    let is_committed = flag(next()?)?;
    Some(UploadState {
        timestamp: Some(timestamp),
        size,
        should_ignore,
        sha256,
        upload_mode,
        remote_oid,
        is_uploaded,
        is_committed,
    })
}

/// The recorded state of `rel` when it still describes the file (see the module docs); else a
/// fresh state. A corrupt record is removed with a warning.
pub(crate) fn read(folder: &Path, rel: &str, stamp: &Stamp) -> UploadState {
    let path = metadata_path(folder, rel);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return UploadState::fresh(stamp.size);
    };
    let Some(mut state) = parse(&text) else {
        tracing::warn!("invalid upload metadata {}; removed", path.display());
        let _ = std::fs::remove_file(&path);
        return UploadState::fresh(stamp.size);
    };
    let mtime = stamp
        .mtime
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64());
    let current = match (mtime, state.timestamp) {
        (Some(m), Some(t)) => m <= t && state.size == stamp.size,
        _ => false,
    };
    if !current {
        tracing::info!("upload metadata of {rel} is outdated; the file is read again");
        return UploadState::fresh(stamp.size);
    }
    if state.is_uploaded
        && !state.is_committed
        && state
            .timestamp
            .is_some_and(|t| now_secs() - t > UPLOAD_EXPIRY.as_secs_f64())
    {
        state.is_uploaded = false;
    }
    state
}

/// Records `state` for `rel` (timestamped now), atomically.
pub(crate) fn write(folder: &Path, rel: &str, state: &mut UploadState) -> Result<()> {
    let path = metadata_path(folder, rel);
    let ctx = || format!("writing upload metadata {}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(ctx(), e))?;
    }
    let ts = now_secs();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let text = format!(
        "{ts}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        state.size,
        state
            .should_ignore
            .map_or(String::new(), |b| u8::from(b).to_string()),
        opt(&state.sha256),
        match state.upload_mode {
            None => "",
            Some(Mode::Regular) => "regular",
            Some(Mode::Lfs) => "lfs",
        },
        opt(&state.remote_oid),
        u8::from(state.is_uploaded),
        u8::from(state.is_committed),
    );
    let mut tmp = path.clone().into_os_string();
    tmp.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(|e| Error::io(ctx(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(ctx(), e)
    })?;
    state.timestamp = Some(ts);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_pythons_layout() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub").join("w.bin");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"12345").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        assert_eq!(read(dir.path(), "sub/w.bin", &stamp), UploadState::fresh(5));
        let mut st = UploadState::fresh(5);
        st.sha256 = Some("ab".repeat(32));
        st.upload_mode = Some(Mode::Lfs);
        st.should_ignore = Some(false);
        st.is_uploaded = true;
        write(dir.path(), "sub/w.bin", &mut st).unwrap();
        let meta = dir
            .path()
            .join(".cache/huggingface/upload/sub/w.bin.metadata");
        let text = std::fs::read_to_string(&meta).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        assert!(lines[0].parse::<f64>().is_ok());
        assert_eq!(
            &lines[1..],
            ["5", "0", &"ab".repeat(32), "lfs", "", "1", "0"]
        );
        assert_eq!(read(dir.path(), "sub/w.bin", &stamp), st);
        // A newer file makes the record stale.
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(60))
            .unwrap();
        let newer = Stamp::of(&file).unwrap();
        assert_eq!(read(dir.path(), "sub/w.bin", &newer), UploadState::fresh(5));
        // A corrupt record is dropped.
        std::fs::write(&meta, "garbage").unwrap();
        assert_eq!(read(dir.path(), "sub/w.bin", &stamp), UploadState::fresh(5));
        assert!(!meta.exists());
    }
}
