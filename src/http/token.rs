//! The implicit token of a client, read from the token file only when the file changed.
//!
//! Python reads the token file on every request (`get_token()`), so logging in or out while a
//! program runs takes effect at its next request. hfkit keeps that behaviour without opening and
//! reading the file each time: the token read last is reused while the file's metadata (size,
//! modification and change times, inode) stays the same — one `stat` per request instead of
//! `open` + `read` + `close`.

use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::auth::{Token, read_token_file};
use crate::config::Settings;

/// What identifies one version of the token file (`None`: the file does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    ctime: (i64, i64),
    #[cfg(unix)]
    ino: (u64, u64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Some(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        ctime: (m.ctime(), m.ctime_nsec()),
        #[cfg(unix)]
        ino: (m.dev(), m.ino()),
    })
}

/// The token file's content, cached by the file's [`Stamp`].
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    last: Mutex<Option<(Option<Stamp>, Option<Token>)>>,
}

impl TokenCache {
    /// What [`Settings::resolve_token`] answers, with the token file read only when it changed.
    pub(crate) fn resolve(&self, settings: &Settings) -> Option<Token> {
        settings.resolve_token_with(|path| self.file(path))
    }

    fn file(&self, path: &Path) -> Option<Token> {
        let now = stamp(path);
        if let Ok(guard) = self.last.lock()
            && let Some((seen, token)) = guard.as_ref()
            && *seen == now
        {
            return token.clone();
        }
        let token = if now.is_some() {
            read_token_file(path)
        } else {
            None
        };
        // The stamp is taken again after the read: a file replaced during it is read again next
        // time rather than cached under the new stamp with the old content.
        if let Ok(mut guard) = self.last.lock()
            && stamp(path) == now
        {
            *guard = Some((now, token.clone()));
        }
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_file_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::builder()
            .env_map(HashMap::new())
            .hf_home(dir.path())
            .build()
            .unwrap();
        let path = s.token_path.clone();
        let cache = TokenCache::default();
        assert!(cache.resolve(&s).is_none());
        std::fs::write(&path, "hf_first\n").unwrap();
        assert_eq!(cache.resolve(&s).unwrap().expose(), "hf_first");
        assert_eq!(cache.resolve(&s).unwrap().expose(), "hf_first");
        // Same length, new content (a new inode through rename, as `hf auth login` writes).
        let tmp = dir.path().join("token.tmp");
        std::fs::write(&tmp, "hf_secnd\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(cache.resolve(&s).unwrap().expose(), "hf_secnd");
        // Rewritten in place with another length.
        std::fs::write(&path, "hf_third_longer").unwrap();
        assert_eq!(cache.resolve(&s).unwrap().expose(), "hf_third_longer");
        std::fs::remove_file(&path).unwrap();
        assert!(cache.resolve(&s).is_none(), "logout takes effect");
        // The explicit token and the environment win without touching the file.
        let explicit = Settings::builder()
            .env_map(HashMap::new())
            .hf_home(dir.path())
            .token("hf_explicit")
            .build()
            .unwrap();
        assert_eq!(cache.resolve(&explicit).unwrap().expose(), "hf_explicit");
    }
}
