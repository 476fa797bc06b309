//! The quickstart's language model: a tiny character-level next-character predictor.
//!
//! The last `context` characters are looked up in an embedding table, the embeddings are
//! concatenated, passed through one hidden layer with `tanh`, and projected onto the alphabet.
//! Small enough to learn the shape of words from a few kilobytes of text in a few seconds.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{Embedding, Linear, Module, VarBuilder, VarMap};
use hfkit::mixin::{HubModel, LoadContext, MixinInfo, ModelFiles, ModelHubMixin, WeightsWriter};
use serde::{Deserialize, Serialize};

/// Everything needed to rebuild the model; saved as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharLmConfig {
    /// The characters the model knows; a character's token id is its position here.
    pub alphabet: String,
    /// How many previous characters the model sees.
    pub context: usize,
    /// Width of each character embedding.
    pub embed_dim: usize,
    /// Width of the hidden layer.
    pub hidden_dim: usize,
}

impl CharLmConfig {
    /// A configuration over the characters of `text`, sorted by code point.
    pub fn for_text(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        CharLmConfig {
            alphabet: chars.into_iter().collect(),
            context: 12,
            embed_dim: 16,
            hidden_dim: 160,
        }
    }

    /// The alphabet as a list of characters (index = token id).
    pub fn chars(&self) -> Vec<char> {
        self.alphabet.chars().collect()
    }
}

/// Turns text into token ids and back.
#[derive(Debug, Clone)]
pub struct Vocab {
    chars: Vec<char>,
    pad: u32,
}

impl Vocab {
    /// The vocabulary of a configuration; unknown characters and the padding before the start
    /// of a text map to the space (or the first character when the alphabet has no space).
    pub fn new(cfg: &CharLmConfig) -> Self {
        let chars = cfg.chars();
        let pad = chars.iter().position(|&c| c == ' ').unwrap_or(0) as u32;
        Vocab { chars, pad }
    }

    /// The token id of `c`.
    pub fn id(&self, c: char) -> u32 {
        self.chars
            .binary_search(&c)
            .map(|i| i as u32)
            .unwrap_or(self.pad)
    }

    /// Token ids of `text`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        text.chars().map(|c| self.id(c)).collect()
    }

    /// The character of token `id`.
    pub fn char(&self, id: u32) -> char {
        self.chars.get(id as usize).copied().unwrap_or(' ')
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// The padding token id.
    pub fn pad(&self) -> u32 {
        self.pad
    }
}

/// The model: an embedding table, one hidden layer and an output layer.
pub struct CharLm {
    config: CharLmConfig,
    vocab: Vocab,
    embed: Embedding,
    hidden: Linear,
    out: Linear,
    /// The same weights by name (handles sharing storage with the layers), in
    /// [`TENSOR_NAMES`] order.
    tensors: Vec<(String, Tensor)>,
    /// The trainable variables when the model was built for training (`None` after a load).
    varmap: Option<VarMap>,
}

/// Tensor names, as they appear in `model.safetensors`.
pub const TENSOR_NAMES: [&str; 5] = [
    "embed.weight",
    "hidden.bias",
    "hidden.weight",
    "out.bias",
    "out.weight",
];

impl CharLm {
    /// Builds the layers from `vb` (fresh random variables when `vb` is backed by a `VarMap`,
    /// stored tensors when it reads a checkpoint).
    pub fn build(cfg: &CharLmConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let vocab = Vocab::new(cfg);
        let n = vocab.len();
        if n == 0 || cfg.context == 0 || cfg.embed_dim == 0 || cfg.hidden_dim == 0 {
            return Err(candle_core::Error::Msg(
                "config.json: alphabet, context, embed_dim and hidden_dim must be non-empty".into(),
            ));
        }
        let embed = candle_nn::embedding(n, cfg.embed_dim, vb.pp("embed"))?;
        let hidden =
            candle_nn::linear(cfg.context * cfg.embed_dim, cfg.hidden_dim, vb.pp("hidden"))?;
        let out = candle_nn::linear(cfg.hidden_dim, n, vb.pp("out"))?;
        let bias = |l: &Linear, name: &str| {
            l.bias()
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("{name} has no bias")))
        };
        let tensors = vec![
            ("embed.weight".into(), embed.embeddings().clone()),
            ("hidden.bias".into(), bias(&hidden, "hidden")?),
            ("hidden.weight".into(), hidden.weight().clone()),
            ("out.bias".into(), bias(&out, "out")?),
            ("out.weight".into(), out.weight().clone()),
        ];
        Ok(CharLm {
            config: cfg.clone(),
            vocab,
            embed,
            hidden,
            out,
            tensors,
            varmap: None,
        })
    }

    /// A freshly initialised model, ready to train, on the CPU.
    pub fn new_trainable(cfg: &CharLmConfig) -> candle_core::Result<Self> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let mut model = Self::build(cfg, vb)?;
        model.varmap = Some(varmap);
        Ok(model)
    }

    /// The configuration.
    pub fn config(&self) -> &CharLmConfig {
        &self.config
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The trainable variables (only for a model made by [`new_trainable`](Self::new_trainable)).
    pub fn varmap(&self) -> Option<&VarMap> {
        self.varmap.as_ref()
    }

    /// The weights by name, in [`TENSOR_NAMES`] order.
    pub fn named_tensors(&self) -> &[(String, Tensor)] {
        &self.tensors
    }

    /// Logits over the alphabet for each row of `ids` (`[batch, context]` u32 token ids).
    pub fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let x = self.embed.forward(ids)?.flatten_from(1)?;
        let x = self.hidden.forward(&x)?.tanh()?;
        self.out.forward(&x)
    }

    /// The last `context` token ids of `history`, padded on the left.
    pub fn window(&self, history: &[u32]) -> Vec<u32> {
        let n = self.config.context;
        let mut w = vec![self.vocab.pad(); n.saturating_sub(history.len())];
        w.extend_from_slice(&history[history.len().saturating_sub(n)..]);
        w
    }

    /// Samples the next token after `history` at `temperature` (0 = most likely token).
    pub fn sample_next(
        &self,
        history: &[u32],
        temperature: f32,
        rng: &mut fastrand::Rng,
    ) -> candle_core::Result<u32> {
        let window = self.window(history);
        let ids = Tensor::from_vec(window, (1, self.config.context), &Device::Cpu)?;
        let logits = self.forward(&ids)?.squeeze(0)?;
        if temperature <= 0.0 {
            return logits.argmax(D::Minus1)?.to_scalar::<u32>();
        }
        let probs = candle_nn::ops::softmax_last_dim(&(logits / f64::from(temperature))?)?;
        let probs = probs.to_vec1::<f32>()?;
        let mut x = rng.f32();
        for (i, p) in probs.iter().enumerate() {
            x -= p;
            if x <= 0.0 {
                return Ok(i as u32);
            }
        }
        Ok(probs.len().saturating_sub(1) as u32)
    }
}

/// `ModelHubMixin` implemented directly on top of candle: the weights go into `model.safetensors`
/// through hfkit's `WeightsWriter` (candle tensors are safetensors views), and `load` builds the
/// layers from the tensors of the resolved files. (With hfkit's `candle` feature, the
/// `hfkit::mixin::candle::CandleModel` adapter does this for any candle model: memory-mapped
/// loading, dtypes, devices, strict mode; see `examples/candle_mixin.rs`.)
impl HubModel for CharLm {
    type Config = CharLmConfig;

    const HUB_INFO: MixinInfo = MixinInfo {
        library_name: Some("candle"),
        tags: &["candle", "char-lm", "text-generation"],
        pipeline_tag: Some("text-generation"),
        license: Some("apache-2.0"),
        ..MixinInfo::EMPTY
    };

    fn load(cfg: CharLmConfig, files: &ModelFiles, _ctx: &LoadContext) -> hfkit::Result<Self> {
        let mut tensors = HashMap::new();
        for file in files.weight_files() {
            let loaded = candle_core::safetensors::load(file, &Device::Cpu).map_err(|e| {
                hfkit::Error::Safetensors {
                    file: file.display().to_string(),
                    tensor: None,
                    message: e.to_string(),
                }
            })?;
            tensors.extend(loaded);
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        CharLm::build(&cfg, vb).map_err(|e| hfkit::Error::Safetensors {
            file: "model.safetensors".into(),
            tensor: None,
            message: format!("the checkpoint does not fit the model: {e}"),
        })
    }
}

impl ModelHubMixin for CharLm {
    fn config(&self) -> &CharLmConfig {
        &self.config
    }

    fn save_weights(&self, _dir: &Path, writer: &mut WeightsWriter) -> hfkit::Result<()> {
        // The layers hold the same storage as the trained variables, so these are current.
        writer.write_safetensors(self.tensors.iter().map(|(name, t)| (name.clone(), t)))?;
        Ok(())
    }
}
