//! A framework-free toy model for the ModelHubMixin tests: a config struct and named `f32`
//! weights held as plain `Vec<f32>`.

use std::collections::BTreeMap;
use std::path::Path;

use hfkit::mixin::{
    HubModel, LoadContext, MixinInfo, ModelFiles, ModelHubMixin, TensorRef, WeightsWriter,
};
use serde::{Deserialize, Serialize};

/// The toy's config (`config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyConfig {
    pub hidden: usize,
    pub layers: Vec<usize>,
    pub name: String,
    pub scale: f64,
}

impl ToyConfig {
    pub fn small() -> Self {
        ToyConfig {
            hidden: 8,
            layers: vec![3, 2],
            name: "h\u{e9}llo".into(),
            scale: 1e-05,
        }
    }
}

/// The toy model: tensors `embed.weight` (hidden × 4) and `layers.{i}.weight` (layers[i] × hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct Toy {
    pub config: ToyConfig,
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

pub const TOY_INFO: MixinInfo = MixinInfo {
    library_name: Some("my-lib"),
    tags: &["vision", "Zeta"],
    repo_url: Some("https://github.com/o/r"),
    license: Some("apache-2.0"),
    pipeline_tag: Some("image-classification"),
    ..MixinInfo::EMPTY
};

fn shapes(config: &ToyConfig) -> BTreeMap<String, Vec<usize>> {
    let mut out = BTreeMap::new();
    out.insert("embed.weight".to_owned(), vec![config.hidden, 4]);
    for (i, n) in config.layers.iter().enumerate() {
        out.insert(format!("layers.{i}.weight"), vec![*n, config.hidden]);
    }
    out
}

impl Toy {
    /// Deterministic values from `seed`.
    pub fn new(config: ToyConfig, seed: u32) -> Self {
        let mut tensors = BTreeMap::new();
        let mut x = seed as f32;
        for (name, shape) in shapes(&config) {
            let n: usize = shape.iter().product();
            let values = (0..n)
                .map(|_| {
                    x = (x * 1.7 + 0.31) % 97.0;
                    x / 13.0 - 3.5
                })
                .collect();
            tensors.insert(name, (shape, values));
        }
        Toy { config, tensors }
    }
}

impl HubModel for Toy {
    type Config = ToyConfig;
    const HUB_INFO: MixinInfo = TOY_INFO;

    fn load(config: ToyConfig, files: &ModelFiles, ctx: &LoadContext) -> hfkit::Result<Self> {
        let ckpt = files.checkpoint()?;
        let expected = shapes(&config);
        let mut tensors = BTreeMap::new();
        for (name, shape) in &expected {
            let (got_shape, values) = ckpt.tensor_f32(name)?;
            if &got_shape != shape {
                return Err(hfkit::Error::InvalidInput(format!(
                    "{name}: shape {got_shape:?}, expected {shape:?}"
                )));
            }
            tensors.insert(name.clone(), (got_shape, values));
        }
        if ctx.strict() {
            let unexpected: Vec<String> = ckpt
                .names()
                .into_iter()
                .filter(|n| !expected.contains_key(n))
                .collect();
            if !unexpected.is_empty() {
                return Err(hfkit::Error::InvalidInput(format!(
                    "unexpected tensors: {unexpected:?}"
                )));
            }
        }
        Ok(Toy { config, tensors })
    }
}

impl ModelHubMixin for Toy {
    fn config(&self) -> &ToyConfig {
        &self.config
    }

    fn save_weights(&self, _dir: &Path, writer: &mut WeightsWriter) -> hfkit::Result<()> {
        let tensors = self
            .tensors
            .iter()
            .map(|(n, (shape, v))| Ok((n.clone(), TensorRef::from_f32(shape.clone(), v)?)))
            .collect::<hfkit::Result<Vec<_>>>()?;
        writer.write_safetensors(tensors)?;
        Ok(())
    }
}

/// A model whose weight writer writes a file and then fails (for "no partial files" tests).
pub struct Failing(pub ToyConfig);

impl HubModel for Failing {
    type Config = ToyConfig;
    fn load(config: ToyConfig, _: &ModelFiles, _: &LoadContext) -> hfkit::Result<Self> {
        Ok(Failing(config))
    }
}

impl ModelHubMixin for Failing {
    fn config(&self) -> &ToyConfig {
        &self.0
    }
    fn save_weights(&self, _dir: &Path, writer: &mut WeightsWriter) -> hfkit::Result<()> {
        writer.write_safetensors([("a", TensorRef::from_f32(vec![2], &[1.0, 2.0])?)])?;
        writer.write_file("extra.bin", b"partial")?;
        Err(hfkit::Error::InvalidInput("the device went away".into()))
    }
}

/// Every file name under `dir` (recursive, relative, sorted).
pub fn list(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out.sort();
    out
}
