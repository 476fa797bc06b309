//! The candle adapter (feature `candle`, spec `cards-and-mixin.md` §5.3): a candle model that
//! implements [`CandleModel`] gets [`HubModel`] and [`ModelHubMixin`] for free, so
//! `save_pretrained`, `from_pretrained` and `push_to_hub` work on it.
//!
//! - **Saving** writes every tensor of [`CandleModel::weights`] (a [`VarMap`] or named tensors)
//!   as safetensors with header metadata `{"format": "pt"}`, single or sharded, through the
//!   mixin's [`WeightsWriter`]. The `Var` handles are cloned out of the `VarMap` and its lock is
//!   released before any I/O; each tensor is copied to host bytes only while its shard is written,
//!   and a tensor that cannot be read back (device error) is an error, never a panic.
//! - **Loading** memory-maps every shard (or reads them, with [`CandleLoadOptions::mmap`] off) and
//!   hands [`CandleModel::load`] a [`VarBuilder`] on the requested device and dtype. Only the
//!   dtypes of [`LOADABLE_DTYPES`] are accepted; a tensor of another dtype, a missing tensor or a
//!   shape mismatch is an [`Error::Safetensors`] naming the tensor. With
//!   [`LoadOptions::strict`](super::LoadOptions::strict), every tensor the model asked for and the
//!   file lacks *and* every tensor in the files the model never asked for are reported together.
//! - A name missing from the files but mapped in the header's `__metadata__` to a present name
//!   (how PyTorch tooling records a shared tensor it dropped) is served from that tensor.
//!
//! ```no_run
//! use candle_core::{DType, Device};
//! use candle_nn::{Linear, VarBuilder, VarMap};
//! use hfkit::mixin::candle::{CandleLoadOptions, CandleModel, CandleWeights};
//! use hfkit::mixin::{HubModel, LoadOptions, ModelHubMixin};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Config { input: usize, output: usize }
//!
//! struct Probe { config: Config, layer: Linear }
//!
//! impl CandleModel for Probe {
//!     type Config = Config;
//!     fn config(&self) -> &Config { &self.config }
//!     fn load(cfg: &Config, vb: VarBuilder) -> candle_core::Result<Self> {
//!         let layer = candle_nn::linear(cfg.input, cfg.output, vb.pp("layer"))?;
//!         Ok(Probe { config: Config { input: cfg.input, output: cfg.output }, layer })
//!     }
//!     fn weights(&self) -> CandleWeights<'_> {
//!         let mut named = vec![("layer.weight".to_string(), self.layer.weight().clone())];
//!         if let Some(b) = self.layer.bias() {
//!             named.push(("layer.bias".to_string(), b.clone()));
//!         }
//!         CandleWeights::Tensors(named)
//!     }
//! }
//!
//! # async fn demo() -> hfkit::Result<()> {
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
//! let probe = <Probe as CandleModel>::load(&Config { input: 4, output: 2 }, vb)
//!     .map_err(|e| hfkit::Error::InvalidInput(e.to_string()))?;
//! probe.save_pretrained("out/probe").await?;
//! let opts = LoadOptions::default()
//!     .strict(true)
//!     .framework(CandleLoadOptions::default().dtype(DType::F16));
//! let again = Probe::from_pretrained_with("./out/probe", opts).await?;
//! # let _ = again; Ok(()) }
//! ```

#[path = "candle_load.rs"]
mod load;
#[path = "candle_save.rs"]
mod save;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    CardOptions, HubModel, LoadContext, MixinInfo, ModelFiles, ModelHubMixin, WeightsWriter,
    default_card_data,
};
use crate::card::ModelCardData;
use crate::error::{Error, Result};

pub use load::{LOADABLE_DTYPES, load_with_var_builder};
pub use save::{collect_tensors, tensor_to_le_bytes, write_tensors};

/// The tag every candle model's card carries (with `model_hub_mixin` and `hfkit`).
pub const CANDLE_TAG: &str = "candle";

/// The default identity of a candle model: `library_name: candle` (which also makes the default
/// card template show the `features = ["candle"]` dependency line). Override
/// [`CandleModel::HUB_INFO`] to declare more, e.g.
/// `MixinInfo { license: Some("mit"), ..CANDLE_HUB_INFO }`.
pub const CANDLE_HUB_INFO: MixinInfo = MixinInfo {
    library_name: Some("candle"),
    ..MixinInfo::EMPTY
};

/// The tensors a candle model saves.
pub enum CandleWeights<'a> {
    /// Every variable of a [`VarMap`] (the usual case for a model built with
    /// `VarBuilder::from_varmap`).
    VarMap(&'a VarMap),
    /// Named tensors (names are dot-separated, as PyTorch state dicts).
    Tensors(Vec<(String, Tensor)>),
}

impl std::fmt::Debug for CandleWeights<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CandleWeights::VarMap(_) => f.write_str("CandleWeights::VarMap(..)"),
            CandleWeights::Tensors(named) => f
                .debug_tuple("CandleWeights::Tensors")
                .field(&named.iter().map(|(n, _)| n).collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// How a candle model is loaded (spec §5.3 `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandleLoadMode {
    /// Read-only tensors straight from the (mapped) files.
    #[default]
    Inference,
    /// A fresh [`VarMap`] whose variables receive every stored value, so the model can be
    /// trained and saved again; the model is built by [`CandleModel::load_trainable`].
    Trainable,
}

/// candle-specific load options, passed as
/// `LoadOptions::default().framework(CandleLoadOptions::default().device(..))`.
#[derive(Debug, Clone)]
pub struct CandleLoadOptions {
    /// Where the tensors go (default: CPU; `Device::new_cuda(0)?` with the `cuda` feature).
    pub device: Device,
    /// The dtype the model's `VarBuilder` serves (default `F32`; tensors are cast on access).
    pub dtype: DType,
    /// Map the files (default) instead of reading them into memory. Reading avoids the (small)
    /// risk of a mapped local file being changed by someone else while the model loads.
    pub mmap: bool,
    /// Inference (default) or trainable.
    pub mode: CandleLoadMode,
}

impl Default for CandleLoadOptions {
    fn default() -> Self {
        CandleLoadOptions {
            device: Device::Cpu,
            dtype: DType::F32,
            mmap: true,
            mode: CandleLoadMode::Inference,
        }
    }
}

impl CandleLoadOptions {
    /// Sets the device.
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Sets the dtype the `VarBuilder` serves.
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// Maps the files (`true`, default) or reads them (`false`).
    pub fn mmap(mut self, yes: bool) -> Self {
        self.mmap = yes;
        self
    }

    /// Sets the load mode.
    pub fn mode(mut self, mode: CandleLoadMode) -> Self {
        self.mode = mode;
        self
    }
}

/// A candle model that can be saved to and loaded from a folder or the Hub. Implementing it gives
/// the type [`HubModel`] and [`ModelHubMixin`] (blanket impls), hence `from_pretrained`,
/// `save_pretrained` and `push_to_hub`; see the [module docs](self) for an example.
pub trait CandleModel: Sized + Send + Sync + 'static {
    /// The configuration, stored as `config.json`.
    type Config: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Library identity written into the card (default: [`CANDLE_HUB_INFO`]).
    const HUB_INFO: MixinInfo = CANDLE_HUB_INFO;

    /// The current configuration.
    fn config(&self) -> &Self::Config;

    /// Builds the model from its config, taking every tensor from `vb`.
    fn load(cfg: &Self::Config, vb: VarBuilder) -> candle_core::Result<Self>;

    /// Builds the model for training: `vb` creates variables in `varmap`, which are then filled
    /// with the stored values. The default calls [`load`](Self::load); override it to keep the
    /// `VarMap` (for an optimizer, and to return it from [`weights`](Self::weights)).
    fn load_trainable(
        cfg: &Self::Config,
        varmap: &VarMap,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let _ = varmap;
        Self::load(cfg, vb)
    }

    /// The tensors to save.
    fn weights(&self) -> CandleWeights<'_>;
}

impl<T: CandleModel> HubModel for T {
    type Config = <T as CandleModel>::Config;

    const HUB_INFO: MixinInfo = <T as CandleModel>::HUB_INFO;

    fn load(config: Self::Config, files: &ModelFiles, ctx: &LoadContext) -> Result<Self> {
        let opts = ctx
            .framework::<CandleLoadOptions>()
            .cloned()
            .unwrap_or_default();
        load::load_model(&config, files, ctx, &opts, T::load, T::load_trainable)
    }
}

impl<T: CandleModel> ModelHubMixin for T {
    fn config(&self) -> &Self::Config {
        CandleModel::config(self)
    }

    fn save_weights(&self, _dir: &Path, writer: &mut WeightsWriter) -> Result<()> {
        let tensors = collect_tensors(self.weights())?;
        write_tensors(&tensors, writer)?;
        Ok(())
    }

    fn card_data(&self, opts: &CardOptions) -> Result<ModelCardData> {
        default_card_data(&<T as HubModel>::HUB_INFO, opts, &[CANDLE_TAG])
    }
}

/// A candle error as an hfkit error about the model `what` (its folder or repo).
pub(crate) fn model_error(what: &str, e: &candle_core::Error) -> Error {
    Error::Safetensors {
        file: what.to_owned(),
        tensor: None,
        message: format!("building the candle model failed: {e}"),
    }
}
