//! A small candle MLP end to end with hfkit's `ModelHubMixin`: build it, train it for a few
//! steps, `save_pretrained` into a folder, `from_pretrained` it back (memory-mapped, strict) and
//! check that both give bit-identical outputs. Fully offline.
//!
//! ```text
//! cargo run --example candle_mixin --features candle
//! ```

use std::error::Error as StdError;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, Optimizer, VarBuilder, VarMap};
use hfkit::mixin::candle::{CandleLoadOptions, CandleModel, CandleWeights};
use hfkit::mixin::{HubModel, LoadOptions, MixinInfo, ModelHubMixin};
use serde::{Deserialize, Serialize};

/// The model's configuration, saved as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MlpConfig {
    input: usize,
    hidden: usize,
    output: usize,
}

/// Two linear layers with a ReLU between them.
struct Mlp {
    config: MlpConfig,
    fc1: Linear,
    fc2: Linear,
    /// The variables, when the model was built for training.
    varmap: Option<VarMap>,
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(x)?.relu()?)
    }
}

impl CandleModel for Mlp {
    type Config = MlpConfig;

    const HUB_INFO: MixinInfo = MixinInfo {
        library_name: Some("candle"),
        tags: &["example", "mlp"],
        license: Some("mit"),
        ..MixinInfo::EMPTY
    };

    fn config(&self) -> &MlpConfig {
        &self.config
    }

    fn load(cfg: &MlpConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Mlp {
            config: cfg.clone(),
            fc1: candle_nn::linear(cfg.input, cfg.hidden, vb.pp("fc1"))?,
            fc2: candle_nn::linear(cfg.hidden, cfg.output, vb.pp("fc2"))?,
            varmap: None,
        })
    }

    fn load_trainable(
        cfg: &MlpConfig,
        varmap: &VarMap,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let mut model = <Self as CandleModel>::load(cfg, vb)?;
        model.varmap = Some(varmap.clone());
        Ok(model)
    }

    fn weights(&self) -> CandleWeights<'_> {
        match &self.varmap {
            Some(varmap) => CandleWeights::VarMap(varmap),
            None => {
                let mut named = Vec::new();
                for (prefix, layer) in [("fc1", &self.fc1), ("fc2", &self.fc2)] {
                    named.push((format!("{prefix}.weight"), layer.weight().clone()));
                    if let Some(bias) = layer.bias() {
                        named.push((format!("{prefix}.bias"), bias.clone()));
                    }
                }
                CandleWeights::Tensors(named)
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn StdError>> {
    let device = Device::Cpu;
    let config = MlpConfig {
        input: 4,
        hidden: 32,
        output: 1,
    };

    // 1. Build and train: learn y = x0 - x1 + 0.5 x2 * x3 on a fixed batch.
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let model = <Mlp as CandleModel>::load_trainable(&config, &varmap, vb)?;
    let xs = Tensor::rand(-1f32, 1f32, (256, 4), &device)?;
    let cols = |i: usize| xs.narrow(1, i, 1);
    let ys = ((cols(0)? - cols(1)?)? + ((cols(2)? * cols(3)?)? * 0.5)?)?;
    let mut opt = candle_nn::AdamW::new_lr(varmap.all_vars(), 0.01)?;
    for step in 0..=200 {
        let loss = candle_nn::loss::mse(&model.forward(&xs)?, &ys)?;
        opt.backward_step(&loss)?;
        if step % 50 == 0 {
            println!("step {step:>3}: loss {:.5}", loss.to_scalar::<f32>()?);
        }
    }

    // 2. Save: config.json, model.safetensors ({"format": "pt"}), README.md.
    let out = std::env::temp_dir().join(format!("hfkit-candle-mixin-{}", std::process::id()));
    let saved = model.save_pretrained(&out).await?;
    println!("saved into {}:", out.display());
    for file in &saved.files {
        let size = std::fs::metadata(file)?.len();
        println!("  {} ({size} bytes)", file.display());
    }

    // 3. Load it back: memory-mapped, strict (every stored tensor must be used).
    let opts = LoadOptions::default()
        .strict(true)
        .framework(CandleLoadOptions::default().device(device.clone()));
    let loaded = Mlp::from_pretrained_with(out.to_string_lossy(), opts).await?;
    assert_eq!(loaded.config, model.config);

    // 4. Same outputs, bit for bit.
    let probe = Tensor::new(&[[0.5f32, -0.25, 1.0, 0.75]], &device)?;
    let a = model.forward(&probe)?.flatten_all()?.to_vec1::<f32>()?;
    let b = loaded.forward(&probe)?.flatten_all()?.to_vec1::<f32>()?;
    println!("trained model: {a:?}");
    println!("loaded model:  {b:?}");
    let same = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
    println!("outputs identical: {same}");
    std::fs::remove_dir_all(&out)?;
    if !same {
        return Err("the loaded model's outputs differ".into());
    }
    Ok(())
}
