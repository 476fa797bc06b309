//! Options of `save_pretrained`, `from_pretrained` and `push_to_hub` (spec §4.1–4.4).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::card::CardOptions;
use crate::auth::Token;
use crate::card::ModelCard;
use crate::error::{Error, Result};
use crate::hub::HubClient;

/// The default largest shard: 5 GB (5·10⁹ bytes), as Python.
pub const DEFAULT_MAX_SHARD_SIZE: u64 = 5_000_000_000;

/// Parses a shard size as Python's `parse_size_to_int` does, plus binary units: a number (`1.5`
/// allowed) followed by `KB`, `MB`, `GB`, `TB` (powers of 1000) or **\[hfkit\]** `KiB`, `MiB`,
/// `GiB`, `TiB` (powers of 1024), any case, spaces around ignored; a bare integer is bytes.
///
/// ```
/// use hfkit::mixin::parse_size;
/// assert_eq!(parse_size("5GB")?, 5_000_000_000);
/// assert_eq!(parse_size("1.5gb")?, 1_500_000_000);
/// assert_eq!(parse_size("2 MiB")?, 2 * 1024 * 1024);
/// assert_eq!(parse_size("4096")?, 4096);
/// # Ok::<(), hfkit::Error>(())
/// ```
pub fn parse_size(text: &str) -> Result<u64> {
    let s = text.trim();
    let bad = || {
        Error::InvalidInput(format!(
            "invalid size {text:?}: expected a number followed by KB, MB, GB, TB, KiB, MiB, GiB or TiB (e.g. \"5GB\")"
        ))
    };
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|_| bad());
    }
    let lower = s.to_ascii_lowercase();
    let units: [(&str, f64); 8] = [
        ("kib", 1024.0),
        ("mib", 1024.0 * 1024.0),
        ("gib", 1024.0 * 1024.0 * 1024.0),
        ("tib", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("kb", 1e3),
        ("mb", 1e6),
        ("gb", 1e9),
        ("tb", 1e12),
    ];
    for (unit, mult) in units {
        if let Some(number) = lower.strip_suffix(unit) {
            let number = number.trim();
            let valid = !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && number.bytes().filter(|b| *b == b'.').count() <= 1
                && number != ".";
            if !valid {
                return Err(bad());
            }
            let value: f64 = number.parse().map_err(|_| bad())?;
            let bytes = value * mult;
            if !bytes.is_finite() || bytes >= u64::MAX as f64 {
                return Err(bad());
            }
            // Python truncates with `int(value * multiplier)`.
            return Ok(bytes as u64);
        }
    }
    Err(bad())
}

/// Options of [`save_pretrained_with`](super::ModelHubMixin::save_pretrained_with).
#[derive(Debug, Clone)]
pub struct SaveOptions {
    /// The largest shard in bytes (default 5 GB); see [`parse_size`] for text sizes.
    pub max_shard_size: u64,
    /// Extra safetensors metadata: in the single file's header, or the index's `metadata`.
    pub metadata: BTreeMap<String, String>,
    /// What goes into the generated `README.md`.
    pub card: CardOptions,
    /// Replace an existing `README.md` (by default an existing card is kept).
    pub overwrite_card: bool,
    /// Push the saved folder to the Hub afterwards (spec §4.1 step 7), to `push_repo_id` or the
    /// folder's name.
    pub push_to_hub: Option<Box<PushOptions>>,
    /// The repository to push to (default: the folder's name).
    pub push_repo_id: Option<String>,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            max_shard_size: DEFAULT_MAX_SHARD_SIZE,
            metadata: BTreeMap::new(),
            card: CardOptions::default(),
            overwrite_card: false,
            push_to_hub: None,
            push_repo_id: None,
        }
    }
}

impl SaveOptions {
    /// The largest shard, in bytes.
    pub fn max_shard_size(mut self, bytes: u64) -> Self {
        self.max_shard_size = bytes;
        self
    }
    /// The largest shard as text (`"5GB"`, `"500MiB"`); see [`parse_size`].
    pub fn max_shard_size_str(mut self, size: &str) -> Result<Self> {
        self.max_shard_size = parse_size(size)?;
        Ok(self)
    }
    /// Adds a safetensors metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
    /// The card options.
    pub fn card(mut self, card: CardOptions) -> Self {
        self.card = card;
        self
    }
    /// Replace an existing `README.md`.
    pub fn overwrite_card(mut self, yes: bool) -> Self {
        self.overwrite_card = yes;
        self
    }
    /// Pushes to `repo_id` (default: the folder's name) after saving.
    pub fn push_to_hub(mut self, repo_id: Option<String>, opts: PushOptions) -> Self {
        self.push_repo_id = repo_id;
        self.push_to_hub = Some(Box::new(opts));
        self
    }
}

/// Options of [`from_pretrained_with`](super::HubModel::from_pretrained_with) and
/// [`load_pretrained`](super::load_pretrained).
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// The client for Hub sources (default: [`HubClient::new`], configured from the environment).
    pub hub: Option<HubClient>,
    /// Branch, tag or commit id (default `main`).
    pub revision: Option<String>,
    /// Another cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Download the files again even if cached.
    pub force_download: bool,
    /// An explicit token (else the client's token chain).
    pub token: Option<Token>,
    /// Use only the cache (implies offline for this call).
    pub local_files_only: bool,
    /// Top-level keys merged over `config.json` before deserialising (the caller wins).
    pub config_overrides: Map<String, Value>,
    /// The config to use instead of reading `config.json` (the file is not fetched).
    pub config: Option<Value>,
    /// Fall back to a legacy `pytorch_model.bin` when no safetensors weights exist (opt-in; the
    /// file is only resolved, never parsed by hfkit).
    pub allow_pytorch_bin: bool,
    /// Ask the loader to refuse weights it does not use (frameworks report missing and unexpected
    /// tensor names).
    pub strict: bool,
    /// Extra files to resolve besides the config and weights (e.g. `tokenizer.json`).
    pub extra_files: Vec<String>,
    /// Framework options (e.g. the candle adapter's device and dtype), read by the loader
    /// through [`LoadContext::framework`](super::LoadContext::framework).
    pub framework: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("revision", &self.revision)
            .field("cache_dir", &self.cache_dir)
            .field("force_download", &self.force_download)
            .field("token", &self.token)
            .field("local_files_only", &self.local_files_only)
            .field("config_overrides", &self.config_overrides)
            .field("config", &self.config)
            .field("allow_pytorch_bin", &self.allow_pytorch_bin)
            .field("strict", &self.strict)
            .field("extra_files", &self.extra_files)
            .field("framework", &self.framework.is_some())
            .finish_non_exhaustive()
    }
}

impl LoadOptions {
    /// Uses this client for Hub sources.
    pub fn hub(mut self, hub: HubClient) -> Self {
        self.hub = Some(hub);
        self
    }
    /// The revision.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }
    /// The cache directory.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    /// Download again.
    pub fn force_download(mut self, yes: bool) -> Self {
        self.force_download = yes;
        self
    }
    /// An explicit token.
    pub fn token(mut self, token: impl Into<Token>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Cache only.
    pub fn local_files_only(mut self, yes: bool) -> Self {
        self.local_files_only = yes;
        self
    }
    /// Overrides one top-level config key.
    pub fn config_override(mut self, key: impl Into<String>, value: Value) -> Self {
        self.config_overrides.insert(key.into(), value);
        self
    }
    /// Uses this config instead of `config.json`.
    pub fn config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }
    /// Allows the legacy `pytorch_model.bin` fallback.
    pub fn allow_pytorch_bin(mut self, yes: bool) -> Self {
        self.allow_pytorch_bin = yes;
        self
    }
    /// Strict weight checking.
    pub fn strict(mut self, yes: bool) -> Self {
        self.strict = yes;
        self
    }
    /// Adds an extra file to resolve.
    pub fn extra_file(mut self, name: impl Into<String>) -> Self {
        self.extra_files.push(name.into());
        self
    }
    /// Framework options for the loader (see [`LoadContext::framework`](super::LoadContext::framework)).
    pub fn framework<T: Any + Send + Sync>(mut self, options: T) -> Self {
        self.framework = Some(Arc::new(options));
        self
    }
}

/// What `push_to_hub` does with the repository's `README.md` (spec §4.4).
#[derive(Debug, Clone, Default)]
pub enum CardMode {
    /// Generate the card and replace the remote one (as Python).
    #[default]
    Generate,
    /// Keep the remote `README.md` when there is one (generate it otherwise).
    KeepRemote,
    /// Upload this card.
    Provided(Box<ModelCard>),
}

/// Options of [`push_to_hub_with`](super::ModelHubMixin::push_to_hub_with).
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The client (default: [`HubClient::new`], configured from the environment).
    pub hub: Option<HubClient>,
    /// An explicit token (else the client's token chain); a push without any token fails
    /// before any request.
    pub token: Option<Token>,
    /// Create the repository private (`None`: the namespace default).
    pub private: Option<bool>,
    /// Commit title (default `Push model using hfkit.`).
    pub commit_message: Option<String>,
    /// Commit description.
    pub commit_description: Option<String>,
    /// The branch to commit to (must exist; default `main`).
    pub branch: Option<String>,
    /// Open a pull request instead of committing to the branch.
    pub create_pr: bool,
    /// Only files matching one of these are uploaded.
    pub allow_patterns: Option<Vec<String>>,
    /// Files matching one of these are not uploaded.
    pub ignore_patterns: Vec<String>,
    /// Remote files matching one of these are deleted in the same commit.
    pub delete_patterns: Vec<String>,
    /// What happens to the card.
    pub card: CardMode,
    /// How the folder is saved before the upload.
    pub save: SaveOptions,
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(it: I) -> Vec<String> {
    it.into_iter().map(Into::into).collect()
}

impl PushOptions {
    /// Uses this client.
    pub fn hub(mut self, hub: HubClient) -> Self {
        self.hub = Some(hub);
        self
    }
    /// An explicit token.
    pub fn token(mut self, token: impl Into<Token>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Visibility of a created repository.
    pub fn private(mut self, yes: bool) -> Self {
        self.private = Some(yes);
        self
    }
    /// Commit title.
    pub fn commit_message(mut self, m: impl Into<String>) -> Self {
        self.commit_message = Some(m.into());
        self
    }
    /// Commit description.
    pub fn commit_description(mut self, d: impl Into<String>) -> Self {
        self.commit_description = Some(d.into());
        self
    }
    /// Target branch.
    pub fn branch(mut self, b: impl Into<String>) -> Self {
        self.branch = Some(b.into());
        self
    }
    /// Open a pull request.
    pub fn create_pr(mut self, yes: bool) -> Self {
        self.create_pr = yes;
        self
    }
    /// Allow patterns.
    pub fn allow_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.allow_patterns = Some(strings(p));
        self
    }
    /// Ignore patterns.
    pub fn ignore_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.ignore_patterns = strings(p);
        self
    }
    /// Delete patterns.
    pub fn delete_patterns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.delete_patterns = strings(p);
        self
    }
    /// The card mode.
    pub fn card(mut self, mode: CardMode) -> Self {
        self.card = mode;
        self
    }
    /// Save options.
    pub fn save(mut self, save: SaveOptions) -> Self {
        self.save = save;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_python_plus_binary_units() {
        assert_eq!(parse_size("5GB").unwrap(), 5_000_000_000);
        assert_eq!(parse_size(" 5 gb ").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("1.5GB").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("10KB").unwrap(), 10_000);
        assert_eq!(parse_size("1TB").unwrap(), 1_000_000_000_000);
        assert_eq!(parse_size("3MB").unwrap(), 3_000_000);
        assert_eq!(parse_size("1KiB").unwrap(), 1024);
        assert_eq!(parse_size("1.5MiB").unwrap(), 1_572_864);
        assert_eq!(parse_size("2gib").unwrap(), 2 << 30);
        assert_eq!(parse_size("123").unwrap(), 123);
        for bad in ["", "GB", "x5GB", "5XB", "-1GB", "1..2GB", ".GB", "5 B"] {
            assert!(
                matches!(parse_size(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }
}
