//! Settings: every endpoint, directory, timeout and flag hfkit uses, resolved once per client as
//! builder value > environment variable > default (hub.md §1.1).
//!
//! ```
//! use hfkit::Settings;
//! let settings = Settings::builder()
//!     .endpoint("http://127.0.0.1:8080")
//!     .cache_dir("/tmp/hf-cache")
//!     .offline(false)
//!     .build()?;
//! assert_eq!(settings.endpoint(), "http://127.0.0.1:8080");
//! # Ok::<(), hfkit::Error>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Token;
use crate::error::{Error, Result};

/// Default Hub endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// Default legacy serverless inference endpoint.
pub const DEFAULT_INFERENCE_ENDPOINT: &str = "https://api-inference.huggingface.co";
/// Default inference router.
pub const DEFAULT_ROUTER_URL: &str = "https://router.huggingface.co";

/// A source of environment variables (the process environment, or a map in tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Resolved settings of a client. Cheap to clone.
#[derive(Clone)]
pub struct Settings {
    pub(crate) endpoint: String,
    pub(crate) inference_endpoint: String,
    pub(crate) router_url: String,
    pub(crate) hf_home: PathBuf,
    pub(crate) cache_dir: PathBuf,
    pub(crate) assets_cache: PathBuf,
    pub(crate) token_path: PathBuf,
    pub(crate) token: Option<Token>,
    pub(crate) env_token: Option<Token>,
    pub(crate) disable_implicit_token: bool,
    pub(crate) offline: bool,
    pub(crate) etag_timeout: Duration,
    pub(crate) download_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) progress_bars: Option<bool>,
    pub(crate) disable_symlinks: bool,
    pub(crate) disable_symlinks_warning: bool,
    pub(crate) disable_telemetry: bool,
    pub(crate) user_agent_origin: Option<String>,
    pub(crate) user_agent_prefix: Option<String>,
    pub(crate) high_throughput: bool,
    pub(crate) debug: bool,
    pub(crate) max_retries: u32,
    pub(crate) max_retry_time: Duration,
    pub(crate) retry_base_delay: Duration,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) max_workers: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("inference_endpoint", &self.inference_endpoint)
            .field("router_url", &self.router_url)
            .field("hf_home", &self.hf_home)
            .field("cache_dir", &self.cache_dir)
            .field("token_path", &self.token_path)
            .field("token", &self.token)
            .field("env_token", &self.env_token)
            .field("offline", &self.offline)
            .field("etag_timeout", &self.etag_timeout)
            .field("download_timeout", &self.download_timeout)
            .field("disable_symlinks", &self.disable_symlinks)
            .field("high_throughput", &self.high_throughput)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings from the process environment and defaults.
    pub fn from_env() -> Result<Self> {
        SettingsBuilder::default().build()
    }

    /// A builder; unset values come from the environment, then defaults.
    pub fn builder() -> SettingsBuilder {
        SettingsBuilder::default()
    }

    /// The Hub endpoint, without trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    /// The legacy serverless inference endpoint (`HF_INFERENCE_ENDPOINT`).
    pub fn inference_endpoint(&self) -> &str {
        &self.inference_endpoint
    }
    /// The inference router (`HF_ROUTER_URL`).
    pub fn router_url(&self) -> &str {
        &self.router_url
    }
    /// `HF_HOME`.
    pub fn hf_home(&self) -> &Path {
        &self.hf_home
    }
    /// The hub cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }
    /// The assets cache directory.
    pub fn assets_cache(&self) -> &Path {
        &self.assets_cache
    }
    /// The token file path.
    pub fn token_path(&self) -> &Path {
        &self.token_path
    }
    /// Whether offline mode is on.
    pub fn offline(&self) -> bool {
        self.offline
    }
    /// Timeout of the metadata `HEAD`.
    pub fn etag_timeout(&self) -> Duration {
        self.etag_timeout
    }
    /// Per connect/read timeout of downloads and other calls.
    pub fn download_timeout(&self) -> Duration {
        self.download_timeout
    }
    /// Whether snapshots use copies instead of symlinks.
    pub fn disable_symlinks(&self) -> bool {
        self.disable_symlinks
    }
    /// Whether the warning about copies replacing symlinks is silenced.
    pub fn disable_symlinks_warning(&self) -> bool {
        self.disable_symlinks_warning
    }
    /// How long to wait for another process's download lock (`None`: unbounded).
    pub fn lock_timeout(&self) -> Option<Duration> {
        self.lock_timeout
    }
    /// Whether progress bars are forced on (`Some(true)`), off (`Some(false)`) or left to the caller.
    pub fn progress_bars(&self) -> Option<bool> {
        self.progress_bars
    }
    /// Whether large files are fetched as parallel ranges.
    pub fn high_throughput(&self) -> bool {
        self.high_throughput
    }
    /// How many retries transient failures get.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// Default number of concurrent file downloads in snapshots.
    pub fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// The token to use when the caller gave none: the explicit one, else (unless implicit tokens
    /// are disabled) `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the token file (hub.md §1.2).
    pub fn resolve_token(&self) -> Option<Token> {
        self.resolve_token_with(crate::auth::read_token_file)
    }

    /// [`resolve_token`](Self::resolve_token) with the token file read by `read_file` (the HTTP
    /// client reads it through a cache that re-reads only a changed file).
    pub(crate) fn resolve_token_with(
        &self,
        read_file: impl FnOnce(&std::path::Path) -> Option<Token>,
    ) -> Option<Token> {
        if let Some(t) = &self.token {
            return Some(t.clone());
        }
        if self.disable_implicit_token {
            return None;
        }
        if let Some(t) = &self.env_token {
            return Some(t.clone());
        }
        read_file(&self.token_path)
    }

    /// The token from the environment or the token file, ignoring `HF_HUB_DISABLE_IMPLICIT_TOKEN`.
    pub fn stored_or_env_token(&self) -> Option<Token> {
        if let Some(t) = &self.env_token {
            return Some(t.clone());
        }
        crate::auth::read_token_file(&self.token_path)
    }
}

/// Builder of [`Settings`].
#[derive(Default, Clone)]
pub struct SettingsBuilder {
    env: Option<EnvLookup>,
    endpoint: Option<String>,
    inference_endpoint: Option<String>,
    router_url: Option<String>,
    hf_home: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    token: Option<Token>,
    no_token: bool,
    offline: Option<bool>,
    etag_timeout: Option<Duration>,
    download_timeout: Option<Duration>,
    disable_symlinks: Option<bool>,
    progress_bars: Option<bool>,
    high_throughput: Option<bool>,
    user_agent_prefix: Option<String>,
    max_retries: Option<u32>,
    max_retry_time: Option<Duration>,
    retry_base_delay: Option<Duration>,
    lock_timeout: Option<Duration>,
    max_workers: Option<usize>,
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $ty:ty) => {
        $(#[$m])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        }
    };
}

impl SettingsBuilder {
    /// Reads variables from `map` instead of the process environment (for tests and embedding).
    pub fn env_map(mut self, map: HashMap<String, String>) -> Self {
        self.env = Some(Arc::new(move |k| map.get(k).cloned()));
        self
    }

    /// Reads variables through `lookup` instead of the process environment.
    pub fn env_lookup(mut self, lookup: EnvLookup) -> Self {
        self.env = Some(lookup);
        self
    }

    /// The Hub endpoint (`HF_ENDPOINT`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }
    /// The legacy inference endpoint (`HF_INFERENCE_ENDPOINT`).
    pub fn inference_endpoint(mut self, url: impl Into<String>) -> Self {
        self.inference_endpoint = Some(url.into());
        self
    }
    /// The inference router (`HF_ROUTER_URL`).
    pub fn router_url(mut self, url: impl Into<String>) -> Self {
        self.router_url = Some(url.into());
        self
    }
    /// `HF_HOME`.
    pub fn hf_home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.hf_home = Some(dir.into());
        self
    }
    /// The hub cache directory (`HF_HUB_CACHE`).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    /// An explicit token (beats every other source).
    pub fn token(mut self, token: impl Into<Token>) -> Self {
        self.token = Some(token.into());
        self.no_token = false;
        self
    }
    /// Sends no token at all, whatever the environment holds.
    pub fn no_token(mut self) -> Self {
        self.token = None;
        self.no_token = true;
        self
    }
    setter!(
        /// Offline mode (`HF_HUB_OFFLINE`).
        offline: bool
    );
    setter!(
        /// Timeout of the metadata `HEAD` (`HF_HUB_ETAG_TIMEOUT`).
        etag_timeout: Duration
    );
    setter!(
        /// Per connect/read timeout (`HF_HUB_DOWNLOAD_TIMEOUT`).
        download_timeout: Duration
    );
    setter!(
        /// Copies instead of symlinks in snapshots (`HF_HUB_DISABLE_SYMLINKS`).
        disable_symlinks: bool
    );
    setter!(
        /// Progress bars on/off (`HF_HUB_DISABLE_PROGRESS_BARS`).
        progress_bars: bool
    );
    setter!(
        /// Parallel range downloads of large files (`HF_HUB_ENABLE_HF_TRANSFER`).
        high_throughput: bool
    );
    setter!(
        /// Retries of transient failures (default 5).
        max_retries: u32
    );
    setter!(
        /// Upper bound of the time spent retrying one request (default 120 s).
        max_retry_time: Duration
    );
    setter!(
        /// First backoff delay (default 1 s; doubles up to 8 s).
        retry_base_delay: Duration
    );
    setter!(
        /// How long to wait for another process's download lock (default: unbounded).
        lock_timeout: Duration
    );
    setter!(
        /// Concurrent downloads in a snapshot (default 8).
        max_workers: usize
    );
    /// A `name/version` of an integrating library, put first in the user-agent.
    pub fn user_agent_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.user_agent_prefix = Some(prefix.into());
        self
    }

    /// Resolves everything.
    pub fn build(self) -> Result<Settings> {
        let lookup: EnvLookup = self
            .env
            .clone()
            .unwrap_or_else(|| Arc::new(|k: &str| std::env::var(k).ok()));
        // Empty values count as unset (hfkit departs from Python here on purpose).
        let env = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let truthy = |k: &str| env(k).map(|v| is_truthy(&v));

        let home = home_dir(&env);
        let expand = |v: String| expand_path(&v, &env, home.as_deref());

        let hf_home = match self.hf_home {
            Some(p) => p,
            None => match env("HF_HOME") {
                Some(v) => expand(v),
                None => match env("XDG_CACHE_HOME") {
                    Some(x) => expand(x).join("huggingface"),
                    None => home
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("."))
                        .join(".cache")
                        .join("huggingface"),
                },
            },
        };
        let cache_dir = match self.cache_dir {
            Some(p) => p,
            None => env("HF_HUB_CACHE")
                .or_else(|| env("HUGGINGFACE_HUB_CACHE"))
                .map(&expand)
                .unwrap_or_else(|| hf_home.join("hub")),
        };
        let assets_cache = env("HF_ASSETS_CACHE")
            .or_else(|| env("HUGGINGFACE_ASSETS_CACHE"))
            .map(&expand)
            .unwrap_or_else(|| hf_home.join("assets"));
        let token_path = env("HF_TOKEN_PATH")
            .map(&expand)
            .unwrap_or_else(|| hf_home.join("token"));

        let endpoint = normalize_url(
            "HF_ENDPOINT",
            self.endpoint
                .or_else(|| env("HF_ENDPOINT"))
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        )?;
        let inference_endpoint = normalize_url(
            "HF_INFERENCE_ENDPOINT",
            self.inference_endpoint
                .or_else(|| env("HF_INFERENCE_ENDPOINT"))
                .unwrap_or_else(|| DEFAULT_INFERENCE_ENDPOINT.to_owned()),
        )?;
        let router_url = normalize_url(
            "HF_ROUTER_URL",
            self.router_url
                .or_else(|| env("HF_ROUTER_URL"))
                .unwrap_or_else(|| DEFAULT_ROUTER_URL.to_owned()),
        )?;

        let env_token = if self.no_token {
            None
        } else {
            env("HF_TOKEN")
                .or_else(|| env("HUGGING_FACE_HUB_TOKEN"))
                .and_then(|t| Token::clean(&t))
        };

        let offline = self.offline.unwrap_or_else(|| {
            truthy("HF_HUB_OFFLINE")
                .or_else(|| truthy("TRANSFORMERS_OFFLINE"))
                .unwrap_or(false)
        });

        let secs = |name: &str, default: u64| -> Result<Duration> {
            match env(name) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => {
                    let n: u64 = v.trim().parse().map_err(|_| {
                        Error::Config(format!("{name}={v:?} is not a whole number of seconds"))
                    })?;
                    Ok(Duration::from_secs(if n == 0 { default } else { n }))
                }
            }
        };
        let etag_timeout = match self.etag_timeout {
            Some(d) => d,
            None => secs("HF_HUB_ETAG_TIMEOUT", 10)?,
        };
        let download_timeout = match self.download_timeout {
            Some(d) => d,
            None => secs("HF_HUB_DOWNLOAD_TIMEOUT", 10)?,
        };

        let progress_bars = self.progress_bars.or_else(|| {
            // Truthy: off for good; set-but-false: forced on; unset: the caller decides.
            truthy("HF_HUB_DISABLE_PROGRESS_BARS").map(|off| !off)
        });

        let disable_telemetry = truthy("HF_HUB_DISABLE_TELEMETRY").unwrap_or(false)
            || truthy("DISABLE_TELEMETRY").unwrap_or(false)
            || truthy("DO_NOT_TRACK").unwrap_or(false);

        let high_throughput = self.high_throughput.unwrap_or_else(|| {
            truthy("HF_HUB_ENABLE_HF_TRANSFER").unwrap_or(false)
                || truthy("HF_XET_HIGH_PERFORMANCE").unwrap_or(false)
        });

        Ok(Settings {
            endpoint,
            inference_endpoint,
            router_url,
            hf_home,
            cache_dir,
            assets_cache,
            token_path,
            token: if self.no_token { None } else { self.token },
            env_token,
            disable_implicit_token: self.no_token
                || truthy("HF_HUB_DISABLE_IMPLICIT_TOKEN").unwrap_or(false),
            offline,
            etag_timeout,
            download_timeout,
            connect_timeout: download_timeout,
            progress_bars,
            disable_symlinks: self
                .disable_symlinks
                .unwrap_or_else(|| truthy("HF_HUB_DISABLE_SYMLINKS").unwrap_or(false)),
            disable_symlinks_warning: truthy("HF_HUB_DISABLE_SYMLINKS_WARNING").unwrap_or(false),
            disable_telemetry,
            user_agent_origin: env("HF_HUB_USER_AGENT_ORIGIN"),
            user_agent_prefix: self.user_agent_prefix,
            high_throughput,
            debug: truthy("HF_DEBUG").unwrap_or(false),
            max_retries: self.max_retries.unwrap_or(5),
            max_retry_time: self.max_retry_time.unwrap_or(Duration::from_secs(120)),
            retry_base_delay: self.retry_base_delay.unwrap_or(Duration::from_secs(1)),
            lock_timeout: self.lock_timeout,
            max_workers: self.max_workers.unwrap_or(8).max(1),
        })
    }
}

/// `1`, `ON`, `YES`, `TRUE` in any case.
pub fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

fn normalize_url(name: &str, value: String) -> Result<String> {
    let trimmed = value.trim().trim_end_matches('/').to_owned();
    let parsed = url::Url::parse(&trimmed)
        .map_err(|e| Error::Config(format!("{name}={value:?} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "{name}={value:?} must be an http:// or https:// URL"
        )));
    }
    Ok(trimmed)
}

fn home_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME")
        .or_else(|| env("USERPROFILE"))
        .map(PathBuf::from)
        .or_else(std::env::home_dir)
}

/// Expands a leading `~` and `$VAR` / `${VAR}` references.
fn expand_path(value: &str, env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> PathBuf {
    let mut out = String::with_capacity(value.len());
    let rest = if let (Some(stripped), Some(h)) = (value.strip_prefix('~'), home) {
        if stripped.is_empty() || stripped.starts_with('/') {
            out.push_str(&h.to_string_lossy());
            stripped
        } else {
            value
        }
    } else {
        value
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            let (name, next) = if chars.get(i + 1) == Some(&'{') {
                match chars[i + 2..].iter().position(|&c| c == '}') {
                    Some(end) => (
                        chars[i + 2..i + 2 + end].iter().collect::<String>(),
                        i + 3 + end,
                    ),
                    None => (String::new(), i),
                }
            } else {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                (
                    chars[i + 1..i + 1 + len].iter().collect::<String>(),
                    i + 1 + len,
                )
            };
            if !name.is_empty()
                && let Some(v) = env(&name)
            {
                out.push_str(&v);
                i = next;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    PathBuf::from(out)
}

#[cfg(test)]
mod tests;
