//! Tokens: a [`Token`] type that never shows its value, discovery from the environment and the
//! token file, the `stored_tokens` file shared with Python, and the rule of which hosts may see a
//! token (hub.md §1.2).

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A Hugging Face access token. `Debug` and `Display` print `hf_***`, never the value.
///
/// ```
/// use hfkit::Token;
/// let t = Token::new("hf_secret_value");
/// assert_eq!(format!("{t:?}"), "Token(hf_***)");
/// assert_eq!(t.expose(), "hf_secret_value");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// Wraps a token value as given.
    pub fn new(value: impl AsRef<str>) -> Self {
        Token(Arc::from(value.as_ref()))
    }

    /// Cleans a token as Python does (drops `\r` and `\n`, trims); `None` when empty.
    pub fn clean(value: &str) -> Option<Self> {
        let cleaned: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let cleaned = cleaned.trim();
        (!cleaned.is_empty()).then(|| Token::new(cleaned))
    }

    /// The secret value. Only call this to put it in an `authorization` header or a file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Token {
    fn from(value: &str) -> Self {
        Token::new(value)
    }
}

impl From<String> for Token {
    fn from(value: String) -> Self {
        Token::new(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(hf_***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hf_***")
    }
}

/// Reads the token file (bare token, UTF-8); `None` when absent, unreadable or empty.
pub fn read_token_file(path: &Path) -> Option<Token> {
    fs::read_to_string(path).ok().and_then(|s| Token::clean(&s))
}

/// Writes the token file: the bare token, no newline, mode `0600`, its directory `0700`.
pub fn write_token_file(path: &Path, token: &Token) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    write_private_file(path, token.expose().as_bytes())
}

/// Name of the stored-tokens file next to the token file.
pub const STORED_TOKENS_FILE: &str = "stored_tokens";

fn stored_tokens_path(token_path: &Path) -> std::path::PathBuf {
    token_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(STORED_TOKENS_FILE)
}

/// Lists the stored tokens as `(name, token)` pairs, sorted by name.
pub fn stored_tokens(token_path: &Path) -> Result<Vec<(String, Token)>> {
    let path = stored_tokens_path(token_path);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let ini = load_ini(&path)?;
    let mut out: Vec<(String, Token)> = ini
        .iter()
        .filter_map(|(section, props)| {
            let name = section?;
            let tok = props.get("hf_token").and_then(Token::clean)?;
            Some((name.to_owned(), tok))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Stores `token` under `name` (replacing that section's token, keeping its other keys) and makes
/// it the active token (the token file).
pub fn store_token(token_path: &Path, name: &str, token: &Token) -> Result<()> {
    if name.is_empty() || name.contains(['[', ']', '\n', '\r']) {
        return Err(Error::InvalidInput(format!("invalid token name {name:?}")));
    }
    let path = stored_tokens_path(token_path);
    let mut ini = if path.exists() {
        load_ini(&path)?
    } else {
        ini::Ini::new()
    };
    ini.with_section(Some(name)).set("hf_token", token.expose());
    save_ini_sorted(&path, &ini)?;
    write_token_file(token_path, token)
}

/// Removes the token stored under `name` (and the token file if it held that token). With `None`,
/// removes every stored token and the token file.
pub fn remove_token(token_path: &Path, name: Option<&str>) -> Result<()> {
    let path = stored_tokens_path(token_path);
    let remove = |p: &Path| match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", p.display()), e)),
    };
    let Some(name) = name else {
        remove(&path)?;
        return remove(token_path);
    };
    if !path.exists() {
        return Err(Error::InvalidInput(format!(
            "no stored token named {name:?}"
        )));
    }
    let mut ini = load_ini(&path)?;
    let removed = ini.delete(Some(name));
    let Some(props) = removed else {
        return Err(Error::InvalidInput(format!(
            "no stored token named {name:?}"
        )));
    };
    save_ini_sorted(&path, &ini)?;
    if let (Some(active), Some(stored)) = (
        read_token_file(token_path),
        props.get("hf_token").and_then(Token::clean),
    ) && active == stored
    {
        remove(token_path)?;
    }
    Ok(())
}

fn load_ini(path: &Path) -> Result<ini::Ini> {
    let text = fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let opt = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..Default::default()
    };
    ini::Ini::load_from_str_opt(&text, opt)
        .map_err(|e| Error::Config(format!("{} is not a valid INI file: {e}", path.display())))
}

fn save_ini_sorted(path: &Path, ini: &ini::Ini) -> Result<()> {
    let mut sections: Vec<(&str, &ini::Properties)> =
        ini.iter().filter_map(|(s, p)| s.map(|s| (s, p))).collect();
    sections.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::new();
    for (name, props) in sections {
        text.push_str(&format!("[{name}]\n"));
        for (k, v) in props.iter() {
            text.push_str(&format!("{k} = {v}\n"));
        }
        text.push('\n');
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    write_private_file(path, text.as_bytes())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Best effort: a shared HF_HOME may belong to someone else.
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let ctx = || format!("writing {}", path.display());
    let tmp = path.with_extension(format!("{:08x}.tmp", fastrand::u32(..)));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| Error::io(ctx(), e))?;
    let res = f.write_all(bytes).and_then(|_| f.sync_all());
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(ctx(), e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(ctx(), e)
    })
}

/// The origin (scheme, host, port) of a URL, as a comparable triple.
pub(crate) fn origin_of(url: &url::Url) -> (String, String, u16) {
    (
        url.scheme().to_owned(),
        url.host_str().unwrap_or_default().to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(0),
    )
}

/// Whether a token may be sent to `url`: only to the configured endpoint's origin,
/// `https://huggingface.co` and `https://hf.co`, plus any extra trusted origins the caller added
/// (e.g. an inference router).
pub(crate) fn is_trusted(url: &url::Url, trusted: &[(String, String, u16)]) -> bool {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(0);
    trusted
        .iter()
        .any(|(s, h, p)| *p == port && s == url.scheme() && h.eq_ignore_ascii_case(host))
}

/// Whether two URLs have the same origin (scheme, host case-insensitively, port), as
/// [`origin_of`] compares them, without allocating.
pub(crate) fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.host_str()
            .unwrap_or_default()
            .eq_ignore_ascii_case(b.host_str().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        let t = Token::new("hf_abcdef");
        assert!(!format!("{t:?} {t}").contains("abcdef"));
    }

    #[test]
    fn token_files() {
        let dir = tempfile::tempdir().unwrap();
        let tp = dir.path().join("hf").join("token");
        store_token(&tp, "ci-write", &Token::new("hf_one")).unwrap();
        store_token(&tp, "a-read", &Token::new("hf_two")).unwrap();
        assert_eq!(read_token_file(&tp).unwrap().expose(), "hf_two");
        let text = fs::read_to_string(dir.path().join("hf/stored_tokens")).unwrap();
        assert!(text.starts_with("[a-read]\nhf_token = hf_two\n"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&tp).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            assert_eq!(fs::read(&tp).unwrap(), b"hf_two");
        }
        // Extra keys are kept on rewrite.
        let st = dir.path().join("hf/stored_tokens");
        fs::write(&st, "[x]\nhf_token = hf_x\nrefresh_token = r\n").unwrap();
        store_token(&tp, "x", &Token::new("hf_y")).unwrap();
        let text = fs::read_to_string(&st).unwrap();
        assert!(text.contains("refresh_token = r"), "{text}");
        assert!(text.contains("hf_token = hf_y"), "{text}");
        remove_token(&tp, Some("x")).unwrap();
        assert!(read_token_file(&tp).is_none());
        assert!(stored_tokens(&tp).unwrap().is_empty());
    }
}
