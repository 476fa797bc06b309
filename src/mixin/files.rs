//! Lazy file resolution for `from_pretrained` (spec §5.2): a local folder used in place, or a
//! Hub repository through the shared cache, asking only for the files the model needs.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::checkpoint::Checkpoint;
use super::options::LoadOptions;
use super::paths::{validate_relative_name, validate_shard_name};
use super::weights::{PYTORCH_BIN, SAFETENSORS_INDEX, SAFETENSORS_SINGLE};
use crate::error::{Error, Result};
use crate::hub::cache::{CachedFile, try_to_load_from_cache};
use crate::hub::download::DownloadOptions;
use crate::hub::{ApiRepo, HubClient};

/// At most this many shards are fetched at once.
pub const MAX_CONCURRENT_SHARDS: usize = 8;

/// Which weight files a model reads (spec §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// `model.safetensors`, else `model.safetensors.index.json` and its shards, else (with
    /// [`LoadOptions::allow_pytorch_bin`]) `pytorch_model.bin`.
    #[default]
    Safetensors,
    /// These files (relative names), each required.
    Files(Vec<String>),
    /// No weight files.
    None,
}

/// Where a model is loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local folder, used in place.
    Local(PathBuf),
    /// A Hub repository at a revision (files come through the cache).
    Hub {
        /// `namespace/name`.
        repo_id: String,
        /// The revision asked for.
        revision: String,
    },
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Local(p) => write!(f, "{}", p.display()),
            ModelSource::Hub { repo_id, revision } => write!(f, "{repo_id}@{revision}"),
        }
    }
}

/// The resolved local files of a model, handed to [`HubModel::load`](super::HubModel::load);
/// loading never does network I/O.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub(crate) source: ModelSource,
    pub(crate) config: Option<PathBuf>,
    pub(crate) weights: Vec<PathBuf>,
    pub(crate) index: Option<PathBuf>,
    pub(crate) weight_map: BTreeMap<String, String>,
    pub(crate) pytorch_bin: Option<PathBuf>,
    pub(crate) files: BTreeMap<String, PathBuf>,
}

impl ModelFiles {
    /// Where the model came from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// `config.json`, when there was one.
    pub fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// The safetensors files: `model.safetensors`, or the shards in name order; for
    /// [`WeightFormat::Files`], those files in the order named.
    pub fn weight_files(&self) -> &[PathBuf] {
        &self.weights
    }

    /// The index, for a sharded checkpoint.
    pub fn index_file(&self) -> Option<&Path> {
        self.index.as_deref()
    }

    /// Whether the weights are sharded.
    pub fn is_sharded(&self) -> bool {
        self.index.is_some()
    }

    /// The index's `weight_map` (tensor name → shard name); empty when not sharded.
    pub fn weight_map(&self) -> &BTreeMap<String, String> {
        &self.weight_map
    }

    /// The legacy `pytorch_model.bin`, when it was the only weights and allowed.
    pub fn pytorch_bin(&self) -> Option<&Path> {
        self.pytorch_bin.as_deref()
    }

    /// Any resolved file by its name in the repository or folder (`config.json`, a shard, an
    /// extra file such as `tokenizer.json`).
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.files.get(name).map(PathBuf::as_path)
    }

    /// Every resolved file: name in the repository → local path.
    pub fn all(&self) -> &BTreeMap<String, PathBuf> {
        &self.files
    }

    /// Maps the safetensors weights (every shard) with validated headers.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        self.check_weights()?;
        Checkpoint::open(&self.weights)
    }

    /// Reads the safetensors weights into memory instead of mapping them.
    pub fn checkpoint_buffered(&self) -> Result<Checkpoint> {
        self.check_weights()?;
        Checkpoint::read(&self.weights)
    }

    fn check_weights(&self) -> Result<()> {
        if self.weights.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{} has no safetensors weights to open",
                self.source
            )));
        }
        Ok(())
    }
}

/// What the loader gets besides the config and files.
#[derive(Clone)]
pub struct LoadContext {
    pub(crate) strict: bool,
    pub(crate) framework: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) source: ModelSource,
}

impl std::fmt::Debug for LoadContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadContext")
            .field("strict", &self.strict)
            .field("framework", &self.framework.is_some())
            .field("source", &self.source)
            .finish()
    }
}

impl LoadContext {
    /// A context (for loaders called outside `from_pretrained`, e.g. in tests).
    pub fn new(source: ModelSource, strict: bool) -> Self {
        LoadContext {
            strict,
            framework: None,
            source,
        }
    }

    /// Whether the caller asked for strict loading ([`LoadOptions::strict`]).
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// The framework options of type `T` the caller passed ([`LoadOptions::framework`]).
    pub fn framework<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.framework
            .as_deref()
            .and_then(|a| a.downcast_ref::<T>())
    }

    /// Where the model came from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }
}

/// A file lookup: found, or known to be missing (with the Hub's error when there was one).
pub(crate) enum Lookup {
    Found(PathBuf),
    Missing(Option<Error>),
}

/// Finds files in a local folder or a Hub repository.
pub(crate) enum Resolver {
    Local(PathBuf),
    Hub {
        repo: ApiRepo,
        download: DownloadOptions,
        offline: bool,
    },
}

impl Resolver {
    /// The resolver of `source` (spec §4.3 step 1).
    pub(crate) fn new(source: &str, opts: &LoadOptions) -> Result<(Resolver, ModelSource)> {
        let path = Path::new(source);
        if !source.is_empty() && path.is_dir() {
            return Ok((
                Resolver::Local(path.to_path_buf()),
                ModelSource::Local(path.to_path_buf()),
            ));
        }
        if super::paths::looks_like_path(source) {
            return Err(Error::LocalPathNotFound {
                path: path.to_path_buf(),
            });
        }
        let hub = client_for(opts.hub.clone(), opts.token.clone(), opts.cache_dir.clone())?;
        let revision = opts.revision.clone().unwrap_or_else(|| "main".to_owned());
        let repo = hub.model(source).revision(revision.clone());
        let checked = repo.repo()?;
        let offline = hub.settings().offline() || opts.local_files_only;
        let download = DownloadOptions::default()
            .force_download(opts.force_download)
            .local_files_only(opts.local_files_only);
        Ok((
            Resolver::Hub {
                repo,
                download,
                offline,
            },
            ModelSource::Hub {
                repo_id: checked.id().to_string(),
                revision,
            },
        ))
    }

    /// Looks one (already validated) name up.
    pub(crate) async fn lookup(&self, name: &str) -> Result<Lookup> {
        match self {
            Resolver::Local(dir) => {
                let p = dir.join(name);
                let is_file = tokio::fs::metadata(&p).await.is_ok_and(|m| m.is_file());
                Ok(if is_file {
                    Lookup::Found(p)
                } else {
                    Lookup::Missing(None)
                })
            }
            Resolver::Hub {
                repo,
                download,
                offline,
            } => {
                if *offline && !download.force_download {
                    let cache = repo.hub().settings().cache_dir().to_path_buf();
                    let r = repo.repo()?;
                    let n = name.to_owned();
                    let cached =
                        tokio::task::spawn_blocking(move || try_to_load_from_cache(&cache, &r, &n))
                            .await
                            .map_err(|e| join_error(&e))??;
                    if cached == CachedFile::KnownMissing {
                        return Ok(Lookup::Missing(None));
                    }
                }
                match repo.download_with(name, download.clone()).await {
                    Ok(p) => Ok(Lookup::Found(p)),
                    Err(e @ Error::EntryNotFound { .. }) => Ok(Lookup::Missing(Some(e))),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// A file that must exist.
    pub(crate) async fn require(&self, name: &str, what: &str) -> Result<PathBuf> {
        match self.lookup(name).await? {
            Lookup::Found(p) => Ok(p),
            Lookup::Missing(e) => Err(self.missing(&[name], what, e)),
        }
    }

    /// The error for files that were tried and are all missing.
    pub(crate) fn missing(&self, tried: &[&str], what: &str, last: Option<Error>) -> Error {
        let list = tried.join(", ");
        match (self, last) {
            (Resolver::Hub { .. }, Some(Error::EntryNotFound { ctx, .. })) => {
                Error::EntryNotFound {
                    path: format!("{what} (tried {list})"),
                    ctx,
                }
            }
            (Resolver::Local(dir), _) => Error::LocalEntryNotFound {
                what: format!("{what} in {}", dir.display()),
                reason: format!("none of {list} exists there"),
            },
            (Resolver::Hub { repo, .. }, _) => Error::LocalEntryNotFound {
                what: format!("{what} of {}@{}", repo.id(), repo.revision_str()),
                reason: format!("the cache records that {list} do not exist"),
            },
        }
    }
}

pub(crate) fn join_error(e: &tokio::task::JoinError) -> Error {
    Error::io("a background task", std::io::Error::other(e.to_string()))
}

/// The client of a call: the given one (or one from the environment) with the call's token and
/// cache directory.
pub(crate) fn client_for(
    hub: Option<HubClient>,
    token: Option<crate::Token>,
    cache_dir: Option<PathBuf>,
) -> Result<HubClient> {
    let hub = match hub {
        Some(h) => h,
        None => HubClient::new()?,
    };
    if token.is_none() && cache_dir.is_none() {
        return Ok(hub);
    }
    let mut settings = hub.settings().clone();
    if let Some(t) = token {
        settings.token = Some(t);
    }
    if let Some(d) = cache_dir {
        settings.cache_dir = d;
    }
    HubClient::from_settings(settings)
}

/// Reads an index and returns its `weight_map` and the shard names (sorted, unique), every name
/// validated (spec §5.4.3).
pub(crate) fn parse_index(
    bytes: &[u8],
    index_path: &Path,
) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let context = index_path.display().to_string();
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Safetensors {
        file: context.clone(),
        tensor: None,
        message: format!("the index is not valid JSON: {e}"),
    })?;
    let Some(map) = value.get("weight_map").and_then(Value::as_object) else {
        return Err(Error::Safetensors {
            file: context,
            tensor: None,
            message: "the index has no `weight_map` object".into(),
        });
    };
    let mut weight_map = BTreeMap::new();
    for (tensor, file) in map {
        let Some(file) = file.as_str() else {
            return Err(Error::Safetensors {
                file: context,
                tensor: Some(tensor.clone()),
                message: "its `weight_map` value is not a string".into(),
            });
        };
        validate_shard_name(file, &context)?;
        weight_map.insert(tensor.clone(), file.to_owned());
    }
    let mut shards: Vec<String> = weight_map.values().cloned().collect();
    shards.sort();
    shards.dedup();
    Ok((weight_map, shards))
}

/// Resolves the weights of `format` and the `extra` files.
pub(crate) async fn resolve_weights(
    resolver: &Resolver,
    files: &mut ModelFiles,
    format: WeightFormat,
    extra: &[String],
    allow_pytorch_bin: bool,
) -> Result<()> {
    for name in extra {
        validate_relative_name(name, "extra files")?;
    }
    match format {
        WeightFormat::None => {}
        WeightFormat::Files(names) => {
            for name in &names {
                validate_relative_name(name, "the model's weight files")?;
            }
            for name in names {
                let p = resolver.require(&name, "weight file").await?;
                files.files.insert(name, p.clone());
                files.weights.push(p);
            }
        }
        WeightFormat::Safetensors => {
            let single = resolver.lookup(SAFETENSORS_SINGLE).await?;
            match single {
                Lookup::Found(p) => {
                    files.files.insert(SAFETENSORS_SINGLE.into(), p.clone());
                    files.weights.push(p);
                }
                Lookup::Missing(e) => {
                    let mut last = e;
                    match resolver.lookup(SAFETENSORS_INDEX).await? {
                        Lookup::Found(index) => resolve_shards(resolver, files, index).await?,
                        Lookup::Missing(e) => {
                            last = e.or(last);
                            let mut tried = vec![SAFETENSORS_SINGLE, SAFETENSORS_INDEX];
                            let mut found = false;
                            if allow_pytorch_bin {
                                tried.push(PYTORCH_BIN);
                                match resolver.lookup(PYTORCH_BIN).await? {
                                    Lookup::Found(p) => {
                                        files.files.insert(PYTORCH_BIN.into(), p.clone());
                                        files.pytorch_bin = Some(p);
                                        found = true;
                                    }
                                    Lookup::Missing(e) => last = e.or(last),
                                }
                            }
                            if !found {
                                return Err(resolver.missing(&tried, "model weights", last));
                            }
                        }
                    }
                }
            }
        }
    }
    for name in extra {
        let p = resolver.require(name, "extra file").await?;
        files.files.insert(name.clone(), p);
    }
    Ok(())
}

async fn resolve_shards(resolver: &Resolver, files: &mut ModelFiles, index: PathBuf) -> Result<()> {
    let bytes = tokio::fs::read(&index)
        .await
        .map_err(|e| Error::io(format!("reading {}", index.display()), e))?;
    let (weight_map, shards) = parse_index(&bytes, &index)?;
    // The futures are built before the stream, so the stream holds no closure over borrows
    // (which would not be `Send` for every lifetime).
    let fetches: Vec<_> = shards
        .iter()
        .cloned()
        .map(|name| async move {
            resolver
                .require(&name, "shard of model.safetensors.index.json")
                .await
        })
        .collect();
    let paths: Vec<PathBuf> = futures::stream::iter(fetches)
        .buffered(MAX_CONCURRENT_SHARDS)
        .try_collect()
        .await?;
    files.files.insert(SAFETENSORS_INDEX.into(), index.clone());
    for (name, p) in shards.into_iter().zip(&paths) {
        files.files.insert(name, p.clone());
    }
    files.weights = paths;
    files.index = Some(index);
    files.weight_map = weight_map;
    Ok(())
}
