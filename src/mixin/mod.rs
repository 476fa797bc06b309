//! `ModelHubMixin`: `save_pretrained`, `from_pretrained` and `push_to_hub` for any model
//! (spec `cards-and-mixin.md` §4–5), in the layout Python's `huggingface_hub` and transformers
//! use: `config.json` (Python's `json.dumps(sort_keys=True, indent=2)` bytes),
//! `model.safetensors` (header metadata `{"format": "pt"}`) or `model-0000K-of-0000N.safetensors`
//! shards with `model.safetensors.index.json`, and a `README.md` model card.
//!
//! An implementor writes two things: how to put its weights into a folder
//! ([`ModelHubMixin::save_weights`], through a [`WeightsWriter`]) and how to build itself from its
//! config and resolved files ([`HubModel::load`]). Everything else is provided.
//!
//! API names (stable for the candle adapter and the examples):
//!
//! - traits [`HubModel`] (load side: `type Config`, `const HUB_INFO: MixinInfo`,
//!   `weight_format(&cfg) -> WeightFormat`, `extra_files(&cfg) -> Vec<String>`,
//!   `load(cfg, &ModelFiles, &LoadContext) -> Result<Self>`; provided async
//!   `from_pretrained(source)`, `from_pretrained_with(source, LoadOptions)`) and
//!   [`ModelHubMixin`] (save side: `config(&self) -> &Config`,
//!   `save_weights(&self, dir, &mut WeightsWriter) -> Result<()>`; provided `card_data(&CardOptions)
//!   -> Result<ModelCardData>`, `model_card(&CardOptions) -> Result<ModelCard>`, async
//!   `save_pretrained(dir)`, `save_pretrained_with(dir, SaveOptions) -> Result<SavedModel>`,
//!   `push_to_hub(repo_id)`, `push_to_hub_with(repo_id, PushOptions) -> Result<CommitInfo>`);
//! - [`MixinInfo`] (+ [`MixinInfo::EMPTY`]), [`CardOptions`], [`default_card_data`]`(info, opts,
//!   extra_tags)`, [`render_model_card`]`(info, data, opts, type_name)`;
//! - [`WeightFormat`] (`Safetensors`, `Files(Vec<String>)`, `None`), [`ModelFiles`]
//!   (`weight_files()`, `index_file()`, `weight_map()`, `config_file()`, `get(name)`,
//!   `checkpoint()`, `checkpoint_buffered()`), [`ModelSource`], [`LoadContext`] (`strict()`,
//!   `framework::<T>()`, `source()`);
//! - [`WeightsWriter`] (`write_safetensors(iter of (name, impl View))`,
//!   `write_safetensors_lazy(Vec<TensorSpec>, fetch)`, `write_file(name, bytes)`, `dir()`,
//!   `max_shard_size()`, `metadata()`), [`TensorRef`], [`TensorSpec`], [`Dtype`];
//! - [`Checkpoint`] / [`SafetensorsFile`] (mapped reading: `names()`, `tensor(name)`,
//!   `tensor_f32(name)`, `metadata()`);
//! - [`SaveOptions`], [`LoadOptions`], [`PushOptions`], [`CardMode`], [`parse_size`];
//! - [`load_pretrained`]`(source, LoadOptions, |cfg: C, &ModelFiles, &LoadContext| -> Result<T>)`
//!   for types you cannot implement [`HubModel`] for;
//! - blocking twins: `hfkit::blocking::mixin::{from_pretrained, from_pretrained_with,
//!   save_pretrained, save_pretrained_with, push_to_hub, push_to_hub_with, load_pretrained}`.
//!
//! ```no_run
//! use hfkit::mixin::{HubModel, LoadContext, ModelFiles, ModelHubMixin, MixinInfo, TensorRef,
//!     WeightsWriter};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Config { size: usize }
//! struct Toy { config: Config, weights: Vec<f32> }
//!
//! impl HubModel for Toy {
//!     type Config = Config;
//!     const HUB_INFO: MixinInfo = MixinInfo { library_name: Some("toy"), ..MixinInfo::EMPTY };
//!     fn load(config: Config, files: &ModelFiles, _: &LoadContext) -> hfkit::Result<Self> {
//!         let (_, weights) = files.checkpoint()?.tensor_f32("weights")?;
//!         Ok(Toy { config, weights })
//!     }
//! }
//! impl ModelHubMixin for Toy {
//!     fn config(&self) -> &Config { &self.config }
//!     fn save_weights(&self, _dir: &std::path::Path, w: &mut WeightsWriter) -> hfkit::Result<()> {
//!         let t = TensorRef::from_f32(vec![self.weights.len()], &self.weights)?;
//!         w.write_safetensors([("weights", t)])?;
//!         Ok(())
//!     }
//! }
//!
//! # async fn demo() -> hfkit::Result<()> {
//! let toy = Toy { config: Config { size: 2 }, weights: vec![1.0, 2.0] };
//! toy.save_pretrained("out/toy").await?;
//! let again = Toy::from_pretrained("./out/toy").await?;
//! assert_eq!(again.weights, toy.weights);
//! # Ok(()) }
//! ```

#[cfg(feature = "candle")]
pub mod candle;
mod card;
mod checkpoint;
mod files;
mod load;
mod options;
mod paths;
mod push;
mod pyjson;
mod save;
mod weights;

use std::future::Future;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use card::{
    CardOptions, HFKIT_TAG, MIXIN_TAG, MixinInfo, default_card_data, render_model_card,
    short_type_name,
};
pub use checkpoint::{Checkpoint, SafetensorsFile};
pub use files::{LoadContext, MAX_CONCURRENT_SHARDS, ModelFiles, ModelSource, WeightFormat};
pub use load::{decode_config, detect_source, load_pretrained};
pub use options::{
    CardMode, DEFAULT_MAX_SHARD_SIZE, LoadOptions, PushOptions, SaveOptions, parse_size,
};
pub use paths::{looks_like_path, validate_relative_name, validate_shard_name};
pub use push::DEFAULT_PUSH_MESSAGE;
pub use pyjson::{python_float_repr, to_python_json};
pub use safetensors::{Dtype, View};
pub use save::{SavedModel, config_json_bytes, config_to_json, is_managed_weight_file};
pub use weights::{
    CONFIG_NAME, PYTORCH_BIN, README_NAME, SAFETENSORS_INDEX, SAFETENSORS_SINGLE, TensorRef,
    TensorSpec, WeightsWriter, shard_file_name,
};

pub(crate) use load::load_with;
#[cfg(feature = "blocking")]
pub(crate) use push::{TempFolder, prepare, push_client, save_folder, save_for_push, upload};
pub(crate) use save::{CardWrite, save_sync};

use crate::card::{ModelCard, ModelCardData};
use crate::error::Result;
use crate::hub::commit::CommitInfo;

/// The load side of a Hub model: its config type, declared identity, which files it reads and
/// how it is built from them. [`from_pretrained`](Self::from_pretrained) is provided.
pub trait HubModel: Sized + Send + 'static {
    /// The configuration, stored as `config.json` (serde's derive maps top-level keys to fields;
    /// keep unknown keys with `#[serde(flatten)] extra: serde_json::Map<String, Value>`).
    type Config: DeserializeOwned + Send + Sync + 'static;

    /// Library identity written into the card (spec §2.4).
    const HUB_INFO: MixinInfo = MixinInfo::EMPTY;

    /// Which weight files to resolve (default: safetensors, single or sharded).
    fn weight_format(_config: &Self::Config) -> WeightFormat {
        WeightFormat::Safetensors
    }

    /// Other files the model needs (e.g. `tokenizer.json`), resolved after the weights.
    fn extra_files(_config: &Self::Config) -> Vec<String> {
        Vec::new()
    }

    /// Builds the model from its config and local files. Runs on a blocking thread; never does
    /// network I/O.
    fn load(config: Self::Config, files: &ModelFiles, ctx: &LoadContext) -> Result<Self>;

    /// Loads from a local folder or a Hub repo id (through the cache), with default options.
    fn from_pretrained(source: impl Into<String>) -> impl Future<Output = Result<Self>> + Send {
        Self::from_pretrained_with(source, LoadOptions::default())
    }

    /// Loads with options (spec §4.3).
    fn from_pretrained_with(
        source: impl Into<String>,
        opts: LoadOptions,
    ) -> impl Future<Output = Result<Self>> + Send {
        let source = source.into();
        load_with(
            source,
            opts,
            Self::weight_format,
            Self::extra_files,
            Self::load,
        )
    }
}

/// The save side: a model that can write itself. `save_pretrained` and `push_to_hub` are
/// provided; async methods do their file work off the executor.
pub trait ModelHubMixin: HubModel<Config: Serialize> + Sync {
    /// The current configuration.
    fn config(&self) -> &Self::Config;

    /// Writes the weights into `dir` through `writer` (files are renamed into place only when
    /// the whole save succeeds).
    fn save_weights(&self, dir: &Path, writer: &mut WeightsWriter) -> Result<()>;

    /// The card metadata (spec §2.4): declared [`HubModel::HUB_INFO`] with the per-call values.
    fn card_data(&self, opts: &CardOptions) -> Result<ModelCardData> {
        default_card_data(&Self::HUB_INFO, opts, &[])
    }

    /// The rendered model card.
    fn model_card(&self, opts: &CardOptions) -> Result<ModelCard> {
        let data = self.card_data(opts)?;
        render_model_card(&Self::HUB_INFO, data, opts, &short_type_name::<Self>())
    }

    /// Saves into `dir` with default options.
    fn save_pretrained(
        &self,
        dir: impl AsRef<Path> + Send,
    ) -> impl Future<Output = Result<SavedModel>> + Send {
        self.save_pretrained_with(dir, SaveOptions::default())
    }

    /// Saves with options (spec §4.1); with [`SaveOptions::push_to_hub`], pushes afterwards.
    fn save_pretrained_with(
        &self,
        dir: impl AsRef<Path> + Send,
        opts: SaveOptions,
    ) -> impl Future<Output = Result<SavedModel>> + Send {
        async move {
            let dir = dir.as_ref().to_path_buf();
            let files = save::blocking_section(|| {
                save_sync(self, &dir, &opts, &opts.card, CardWrite::Generate)
            })?;
            let commit = match &opts.push_to_hub {
                Some(push) => {
                    let repo_id = match &opts.push_repo_id {
                        Some(id) => id.clone(),
                        None => dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    };
                    Some(push::push(self, &repo_id, push).await?)
                }
                None => None,
            };
            Ok(SavedModel { files, commit })
        }
    }

    /// Pushes to `repo_id` with default options (the token from the environment).
    fn push_to_hub(
        &self,
        repo_id: impl Into<String> + Send,
    ) -> impl Future<Output = Result<CommitInfo>> + Send {
        self.push_to_hub_with(repo_id, PushOptions::default())
    }

    /// Pushes with options (spec §4.4): one commit.
    fn push_to_hub_with(
        &self,
        repo_id: impl Into<String> + Send,
        opts: PushOptions,
    ) -> impl Future<Output = Result<CommitInfo>> + Send {
        let repo_id = repo_id.into();
        async move { push::push(self, &repo_id, &opts).await }
    }
}
