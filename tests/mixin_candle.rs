//! The candle adapter (`hfkit::mixin::candle`): round trips of f32/f16/bf16 tensors, single and
//! sharded, through a local folder and a loopback writable mirror (then offline), strict-mode
//! reports, dtype and shape refusals, dropped shared-tensor aliases, trainable loading, and
//! interop with Python `safetensors` both ways.
#![cfg(feature = "candle")]

mod support;

use std::path::Path;
use std::str::FromStr;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Init, Linear, VarBuilder, VarMap};
use hfkit::Error;
use hfkit::mixin::candle::{
    CandleLoadMode, CandleLoadOptions, CandleModel, CandleWeights, tensor_to_le_bytes,
};
use hfkit::mixin::{
    HubModel, LoadOptions, ModelHubMixin, PushOptions, SafetensorsFile, SaveOptions,
};
use serde::{Deserialize, Serialize};
use support::python::run_python;
use support::writable::WritableHub;

// ---------------------------------------------------------------------------------------------
// A model that is a bag of named tensors of any dtype (its config lists names, shapes, dtypes).

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Spec {
    name: String,
    shape: Vec<usize>,
    dtype: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BagConfig {
    tensors: Vec<Spec>,
}

struct Bag {
    config: BagConfig,
    tensors: Vec<(String, Tensor)>,
}

impl CandleModel for Bag {
    type Config = BagConfig;

    fn config(&self) -> &BagConfig {
        &self.config
    }

    fn load(cfg: &BagConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let mut tensors = Vec::new();
        for s in &cfg.tensors {
            let dtype = DType::from_str(&s.dtype).map_err(candle_core::Error::wrap)?;
            let t = vb.get_with_hints_dtype(s.shape.clone(), &s.name, Init::Const(0.0), dtype)?;
            tensors.push((s.name.clone(), t));
        }
        Ok(Bag {
            config: cfg.clone(),
            tensors,
        })
    }

    fn weights(&self) -> CandleWeights<'_> {
        CandleWeights::Tensors(self.tensors.clone())
    }
}

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32) * 0.37 + seed).sin() * 3.0)
        .collect()
}

fn bag(specs: &[(&str, &[usize], DType)]) -> Bag {
    let mut tensors = Vec::new();
    let mut config = BagConfig { tensors: vec![] };
    for (k, (name, shape, dtype)) in specs.iter().enumerate() {
        let n: usize = shape.iter().product();
        let t = Tensor::from_vec(values(n, k as f32), shape.to_vec(), &Device::Cpu)
            .unwrap()
            .to_dtype(*dtype)
            .unwrap();
        tensors.push((name.to_string(), t));
        config.tensors.push(Spec {
            name: name.to_string(),
            shape: shape.to_vec(),
            dtype: dtype.as_str().to_string(),
        });
    }
    Bag { config, tensors }
}

fn bytes(t: &Tensor) -> Vec<u8> {
    tensor_to_le_bytes("t", t).unwrap()
}

/// Every tensor of `b` equals the one of `a` with the same name: dtype, shape and bits.
fn assert_same(a: &Bag, b: &Bag) {
    assert_eq!(a.config, b.config);
    assert_eq!(a.tensors.len(), b.tensors.len());
    for ((na, ta), (nb, tb)) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!(na, nb);
        assert_eq!(ta.dtype(), tb.dtype(), "{na}");
        assert_eq!(ta.dims(), tb.dims(), "{na}");
        assert_eq!(bytes(ta), bytes(tb), "{na}: bits differ");
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn candle(opts: CandleLoadOptions) -> LoadOptions {
    LoadOptions::default().framework(opts)
}

// ---------------------------------------------------------------------------------------------
// Local round trips

#[tokio::test]
async fn f32_f16_bf16_round_trip_single_file() {
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        let model = bag(&[
            ("embed.weight", &[7, 5], dtype),
            ("head.bias", &[5], dtype),
            ("head.weight", &[5, 3], dtype),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bag");
        model.save_pretrained(&out).await.unwrap();
        assert_eq!(
            files_in(&out),
            ["README.md", "config.json", "model.safetensors"],
            "{dtype:?}"
        );
        // The header carries {"format": "pt"} and the tensors keep their dtype and shape.
        let file = SafetensorsFile::open(out.join("model.safetensors")).unwrap();
        assert_eq!(
            file.metadata().get("format").map(String::as_str),
            Some("pt")
        );
        assert_eq!(file.names(), ["embed.weight", "head.bias", "head.weight"]);
        let back = Bag::from_pretrained_with(
            out.to_str().unwrap(),
            candle(CandleLoadOptions::default().dtype(dtype)),
        )
        .await
        .unwrap();
        assert_same(&model, &back);
        // The buffered (no map) path reads the same bits.
        let back = Bag::from_pretrained_with(
            out.to_str().unwrap(),
            candle(CandleLoadOptions::default().mmap(false)),
        )
        .await
        .unwrap();
        assert_same(&model, &back);
    }
}

#[tokio::test]
async fn sharded_round_trip_and_index() {
    let model = bag(&[
        ("a.weight", &[64, 16], DType::F32), // 4096 bytes
        ("b.weight", &[64, 16], DType::F16), // 2048 bytes
        ("c.weight", &[64, 16], DType::BF16),
        ("d.bias", &[16], DType::F32),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sharded");
    let opts = SaveOptions::default().max_shard_size(4096);
    model.save_pretrained_with(&out, opts).await.unwrap();
    let names = files_in(&out);
    assert!(
        names.contains(&"model.safetensors.index.json".to_string()),
        "{names:?}"
    );
    let shards: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("model-") && n.ends_with(".safetensors"))
        .collect();
    assert_eq!(shards.len(), 3, "{names:?}");
    for s in &shards {
        let f = SafetensorsFile::open(out.join(s)).unwrap();
        assert_eq!(f.metadata().get("format").map(String::as_str), Some("pt"));
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.safetensors.index.json")).unwrap())
            .unwrap();
    assert_eq!(index["metadata"]["total_size"], 4096 + 2048 + 2048 + 64);
    let map = index["weight_map"].as_object().unwrap();
    assert_eq!(
        map.keys().collect::<Vec<_>>(),
        ["a.weight", "b.weight", "c.weight", "d.bias"]
    );
    for mmap in [true, false] {
        let back = Bag::from_pretrained_with(
            out.to_str().unwrap(),
            candle(CandleLoadOptions::default().mmap(mmap)),
        )
        .await
        .unwrap();
        assert_same(&model, &back);
    }
    // Saving again unsharded removes the old shards.
    model.save_pretrained(&out).await.unwrap();
    assert_eq!(
        files_in(&out),
        ["README.md", "config.json", "model.safetensors"]
    );
}

#[tokio::test]
async fn dtype_option_casts_on_access() {
    let model = bag(&[("w", &[4, 4], DType::F32)]);
    let dir = tempfile::tempdir().unwrap();
    model.save_pretrained(dir.path()).await.unwrap();
    // A config asking for F16 gets an F16 tensor equal to the cast of the stored F32 one.
    let opts = candle(CandleLoadOptions::default()).config_override(
        "tensors",
        serde_json::json!([{"name": "w", "shape": [4, 4], "dtype": "f16"}]),
    );
    let back = Bag::from_pretrained_with(dir.path().to_str().unwrap(), opts)
        .await
        .unwrap();
    let want = model.tensors[0].1.to_dtype(DType::F16).unwrap();
    assert_eq!(back.tensors[0].1.dtype(), DType::F16);
    assert_eq!(bytes(&back.tensors[0].1), bytes(&want));
}

// ---------------------------------------------------------------------------------------------
// A small MLP: equal outputs after a round trip; trainable loading.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MlpConfig {
    input: usize,
    hidden: usize,
    output: usize,
}

struct Mlp {
    config: MlpConfig,
    fc1: Linear,
    fc2: Linear,
    varmap: Option<VarMap>,
}

impl Mlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.fc1.forward(x).unwrap().relu().unwrap();
        self.fc2.forward(&h).unwrap()
    }
}

impl CandleModel for Mlp {
    type Config = MlpConfig;

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
        let mut m = <Self as CandleModel>::load(cfg, vb)?;
        m.varmap = Some(varmap.clone());
        Ok(m)
    }

    fn weights(&self) -> CandleWeights<'_> {
        match &self.varmap {
            Some(vm) => CandleWeights::VarMap(vm),
            None => {
                let mut v = Vec::new();
                for (p, l) in [("fc1", &self.fc1), ("fc2", &self.fc2)] {
                    v.push((format!("{p}.weight"), l.weight().clone()));
                    if let Some(b) = l.bias() {
                        v.push((format!("{p}.bias"), b.clone()));
                    }
                }
                CandleWeights::Tensors(v)
            }
        }
    }
}

fn fresh_mlp() -> Mlp {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let cfg = MlpConfig {
        input: 6,
        hidden: 16,
        output: 3,
    };
    <Mlp as CandleModel>::load_trainable(&cfg, &varmap, vb).unwrap()
}

fn input() -> Tensor {
    Tensor::from_vec(values(12, 0.5), (2, 6), &Device::Cpu).unwrap()
}

#[tokio::test]
async fn mlp_outputs_equal_and_trainable_reload() {
    let model = fresh_mlp();
    let dir = tempfile::tempdir().unwrap();
    model.save_pretrained(dir.path()).await.unwrap();
    let card = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(
        card.starts_with(
            "---\nlibrary_name: candle\ntags:\n- candle\n- hfkit\n- model_hub_mixin\n---\n"
        ),
        "{card}"
    );
    assert!(card.contains("features = [\"candle\"]"), "{card}");
    let src = dir.path().to_str().unwrap();
    let back = Mlp::from_pretrained(src).await.unwrap();
    assert!(back.varmap.is_none());
    assert_eq!(
        bytes(&model.forward(&input())),
        bytes(&back.forward(&input()))
    );

    // Trainable: a fresh VarMap filled with the stored values; changing a variable changes the
    // model, and the change survives a save and reload.
    let opts = LoadOptions::default()
        .strict(true)
        .framework(CandleLoadOptions::default().mode(CandleLoadMode::Trainable));
    let trainable = Mlp::from_pretrained_with(src, opts).await.unwrap();
    let vm = trainable
        .varmap
        .clone()
        .expect("trainable keeps its VarMap");
    assert_eq!(vm.all_vars().len(), 4);
    assert_eq!(
        bytes(&model.forward(&input())),
        bytes(&trainable.forward(&input()))
    );
    let bias = vm.data().lock().unwrap().get("fc2.bias").unwrap().clone();
    bias.set(&Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap())
        .unwrap();
    let changed = trainable.forward(&input());
    assert_ne!(bytes(&changed), bytes(&model.forward(&input())));
    let dir2 = tempfile::tempdir().unwrap();
    trainable.save_pretrained(dir2.path()).await.unwrap();
    let again = Mlp::from_pretrained(dir2.path().to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(bytes(&again.forward(&input())), bytes(&changed));
}

// ---------------------------------------------------------------------------------------------
// Strict mode, refusals, aliases

#[tokio::test]
async fn strict_mode_reports_missing_and_unexpected_names() {
    let model = bag(&[
        ("a", &[2], DType::F32),
        ("b", &[2], DType::F32),
        ("extra", &[3], DType::F32),
    ]);
    let dir = tempfile::tempdir().unwrap();
    model.save_pretrained(dir.path()).await.unwrap();
    let src = dir.path().to_str().unwrap();
    let wants = serde_json::json!([
        {"name": "a", "shape": [2], "dtype": "f32"},
        {"name": "c", "shape": [2], "dtype": "f32"},
        {"name": "d", "shape": [1], "dtype": "f32"},
    ]);
    let strict = LoadOptions::default()
        .strict(true)
        .config_override("tensors", wants.clone());
    match Bag::from_pretrained_with(src, strict).await {
        Err(Error::Safetensors { message, .. }) => {
            assert!(message.contains("missing tensors: c, d"), "{message}");
            assert!(
                message.contains("unexpected tensors: b, extra"),
                "{message}"
            );
        }
        other => panic!("expected a strict report, got {:?}", other.err()),
    }
    // Not strict: the first missing tensor fails, named.
    let lenient = LoadOptions::default().config_override("tensors", wants);
    match Bag::from_pretrained_with(src, lenient).await {
        Err(Error::Safetensors { tensor, .. }) => assert_eq!(tensor.as_deref(), Some("c")),
        other => panic!("expected a missing tensor, got {:?}", other.err()),
    }
    // Not strict: unused tensors are fine; strict: they are reported.
    let subset = serde_json::json!([{"name": "a", "shape": [2], "dtype": "f32"}]);
    let ok = Bag::from_pretrained_with(
        src,
        LoadOptions::default().config_override("tensors", subset.clone()),
    )
    .await
    .unwrap();
    assert_eq!(bytes(&ok.tensors[0].1), bytes(&model.tensors[0].1));
    let err = Bag::from_pretrained_with(
        src,
        LoadOptions::default()
            .strict(true)
            .config_override("tensors", subset),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("missing tensors: none; unexpected tensors: b, extra"),
        "{err}"
    );
}

#[tokio::test]
async fn shape_mismatch_and_unloadable_dtype_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // A file with a BOOL tensor and an F32 one, written with the safetensors crate.
    let f32_bytes: Vec<u8> = [1f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensors = vec![
        (
            "flags",
            safetensors::tensor::TensorView::new(safetensors::Dtype::BOOL, vec![3], &[1u8, 0, 1])
                .unwrap(),
        ),
        (
            "w",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &f32_bytes)
                .unwrap(),
        ),
    ];
    safetensors::serialize_to_file(tensors, None, &dir.path().join("model.safetensors")).unwrap();
    let src = dir.path().to_str().unwrap();
    let cfg = |name: &str, shape: &[usize]| {
        LoadOptions::default().config(serde_json::json!({
            "tensors": [{"name": name, "shape": shape, "dtype": "f32"}]
        }))
    };
    match Bag::from_pretrained_with(src, cfg("flags", &[3])).await {
        Err(Error::Safetensors {
            tensor, message, ..
        }) => {
            assert_eq!(tensor.as_deref(), Some("flags"));
            assert!(message.contains("BOOL"), "{message}");
        }
        other => panic!("expected a dtype refusal, got {:?}", other.err()),
    }
    match Bag::from_pretrained_with(src, cfg("w", &[3])).await {
        Err(Error::Safetensors {
            tensor, message, ..
        }) => {
            assert_eq!(tensor.as_deref(), Some("w"));
            assert!(
                message.contains("[2]") && message.contains("[3]"),
                "{message}"
            );
        }
        other => panic!("expected a shape refusal, got {:?}", other.err()),
    }
    // A truncated file is refused before the model is built.
    let good = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        &good[..good.len() - 3],
    )
    .unwrap();
    assert!(matches!(
        Bag::from_pretrained_with(src, cfg("w", &[2])).await,
        Err(Error::Safetensors { .. })
    ));
}

#[tokio::test]
async fn dropped_shared_tensor_is_served_from_the_kept_one() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = [1f32, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3], &data).unwrap();
    let meta = std::collections::HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("lm_head.weight".to_string(), "embed.weight".to_string()),
    ]);
    safetensors::serialize_to_file(
        vec![("embed.weight", view)],
        Some(meta),
        &dir.path().join("model.safetensors"),
    )
    .unwrap();
    let opts = LoadOptions::default()
        .strict(true)
        .config(serde_json::json!({
            "tensors": [
                {"name": "embed.weight", "shape": [3], "dtype": "f32"},
                {"name": "lm_head.weight", "shape": [3], "dtype": "f32"},
            ]
        }));
    let back = Bag::from_pretrained_with(dir.path().to_str().unwrap(), opts)
        .await
        .unwrap();
    assert_eq!(bytes(&back.tensors[0].1), data);
    assert_eq!(bytes(&back.tensors[1].1), data);
}

// ---------------------------------------------------------------------------------------------
// Through a loopback Hub, then offline

#[tokio::test]
async fn hub_round_trip_sharded_then_offline() {
    let hub = WritableHub::start(1000, 1 << 20).await;
    let model = bag(&[
        ("x.weight", &[32, 32], DType::F32),
        ("y.weight", &[32, 32], DType::F16),
        ("z.weight", &[32, 32], DType::BF16),
    ]);
    let push_cache = tempfile::tempdir().unwrap();
    let push = PushOptions::default()
        .hub(hub.client(push_cache.path()))
        .save(SaveOptions::default().max_shard_size(4096));
    let info = model.push_to_hub_with("acme/bag", push).await.unwrap();
    assert_eq!(info.oid.len(), 40);

    let cache = tempfile::tempdir().unwrap();
    let client = hub.client_with(cache.path(), None);
    let opts = LoadOptions::default().hub(client.clone());
    let back = Bag::from_pretrained_with("acme/bag", opts.clone())
        .await
        .unwrap();
    assert_same(&model, &back);
    // Only the needed files were fetched: config, index, shards (no README).
    assert_eq!(hub.count("GET", "/README.md"), 0);

    // Offline after the first load: no request at all.
    hub.clear_log();
    let back = Bag::from_pretrained_with("acme/bag", opts.local_files_only(true))
        .await
        .unwrap();
    assert_same(&model, &back);
    assert!(hub.log().is_empty(), "{:?}", hub.log());
}

// ---------------------------------------------------------------------------------------------
// Python interop

const INTEROP_PY: &str = r#"
import hashlib, json, os, sys
from safetensors import safe_open
from safetensors.numpy import load_file, save_file
import numpy as np
mode = os.environ["MODE"]
path = os.environ["FILE"]
if mode == "read":
    out = {}
    for name, arr in load_file(path).items():
        out[name] = [str(arr.dtype), list(arr.shape), hashlib.sha256(arr.tobytes()).hexdigest()]
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    print(json.dumps({"tensors": out, "metadata": meta}))
else:
    rng = np.arange(24, dtype=np.float64)
    save_file({
        "w32": (np.sin(rng) * 3).astype(np.float32).reshape(4, 6),
        "w16": (np.cos(rng) * 2).astype(np.float16).reshape(2, 12),
        "ids": np.arange(5, dtype=np.int64) * 1000003,
        "u": np.arange(7, dtype=np.uint8),
    }, path, metadata={"format": "pt", "writer": "python"})
"#;

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn python_reads_hfkit_candle_checkpoint() {
    let model = bag(&[
        ("layer.0.weight", &[4, 6], DType::F32),
        ("layer.0.half", &[3, 2], DType::F16),
        ("layer.1.ids", &[5], DType::I64),
        ("layer.1.u8", &[7], DType::U8),
    ]);
    let dir = tempfile::tempdir().unwrap();
    model
        .save_pretrained_with(
            dir.path(),
            SaveOptions::default().metadata("source", "hfkit"),
        )
        .await
        .unwrap();
    let file = dir.path().join("model.safetensors");
    let out = run_python(
        INTEROP_PY,
        &[("MODE", "read"), ("FILE", file.to_str().unwrap())],
    );
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        got["metadata"],
        serde_json::json!({"format": "pt", "source": "hfkit"})
    );
    let numpy = |d: DType| match d {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::I64 => "int64",
        DType::U8 => "uint8",
        _ => unreachable!(),
    };
    for (name, t) in &model.tensors {
        let entry = &got["tensors"][name];
        assert_eq!(entry[0], numpy(t.dtype()), "{name}");
        assert_eq!(entry[1], serde_json::json!(t.dims()), "{name}");
        assert_eq!(entry[2], sha256(&bytes(t)), "{name}: bytes differ");
    }
    assert_eq!(got["tensors"].as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn hfkit_loads_python_written_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.safetensors");
    run_python(
        INTEROP_PY,
        &[("MODE", "write"), ("FILE", file.to_str().unwrap())],
    );
    let read = run_python(
        INTEROP_PY,
        &[("MODE", "read"), ("FILE", file.to_str().unwrap())],
    );
    let py: serde_json::Value = serde_json::from_str(read.trim()).unwrap();
    let opts = LoadOptions::default()
        .strict(true)
        .config(serde_json::json!({
            "tensors": [
                {"name": "ids", "shape": [5], "dtype": "i64"},
                {"name": "u", "shape": [7], "dtype": "u8"},
                {"name": "w16", "shape": [2, 12], "dtype": "f16"},
                {"name": "w32", "shape": [4, 6], "dtype": "f32"},
            ]
        }));
    let back = Bag::from_pretrained_with(dir.path().to_str().unwrap(), opts)
        .await
        .unwrap();
    for (name, t) in &back.tensors {
        assert_eq!(py["tensors"][name][2], sha256(&bytes(t)), "{name}");
    }
    let ids: Vec<i64> = back.tensors[0].1.to_vec1().unwrap();
    assert_eq!(ids, [0, 1000003, 2000006, 3000009, 4000012]);
}

// ---------------------------------------------------------------------------------------------
// CUDA (built only with `--features cuda`; needs a GPU)

#[cfg(feature = "cuda")]
#[tokio::test]
async fn loads_onto_cuda_through_from_pretrained() {
    let model = fresh_mlp();
    let dir = tempfile::tempdir().unwrap();
    model.save_pretrained(dir.path()).await.unwrap();
    let device = Device::new_cuda(0).expect("a CUDA device");
    let opts = candle(CandleLoadOptions::default().device(device.clone()));
    let gpu = Mlp::from_pretrained_with(dir.path().to_str().unwrap(), opts)
        .await
        .unwrap();
    assert!(gpu.fc1.weight().device().is_cuda());
    let x = input().to_device(&device).unwrap();
    let y = gpu.forward(&x).to_device(&Device::Cpu).unwrap();
    let want = model.forward(&input());
    let diff = (y - want).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-4);
    // Saving from the GPU copies back to host bytes equal to the originals.
    let dir2 = tempfile::tempdir().unwrap();
    gpu.save_pretrained(dir2.path()).await.unwrap();
    let again = Mlp::from_pretrained(dir2.path().to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(bytes(again.fc1.weight()), bytes(model.fc1.weight()));
}
