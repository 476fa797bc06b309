//! ModelHubMixin interop with Python: `safetensors.numpy` reads hfkit's checkpoints (single and
//! sharded) and writes ones hfkit loads, `json.dumps(sort_keys=True, indent=2)` gives the bytes
//! of hfkit's `config.json`, `snapshot_download` of an hfkit push gets the same files, and
//! `ModelCard.load` reads hfkit's card.

#[allow(dead_code)]
#[path = "support/python.rs"]
mod python;
#[allow(dead_code)]
#[path = "support/toy.rs"]
mod toy;
#[allow(dead_code)]
#[path = "support/writable.rs"]
mod writable;

use std::collections::BTreeMap;
use std::path::Path;

use hfkit::mixin::{
    CardOptions, Checkpoint, Dtype, HubModel, ModelHubMixin, PushOptions, SaveOptions,
    config_json_bytes,
};
use python::run_python;
use serde_json::{Value, json};
use toy::{Toy, ToyConfig};
use writable::WritableHub;

/// Loads every `*.safetensors` of a folder with `safetensors.numpy` and prints, per tensor, its
/// dtype, shape and values, plus each file's header metadata.
const READ_WITH_NUMPY: &str = r#"
import json, os, glob
from safetensors import safe_open
from safetensors.numpy import load_file
out = {"tensors": {}, "metadata": {}}
for path in sorted(glob.glob(os.path.join(os.environ["DIR"], "*.safetensors"))):
    for name, a in load_file(path).items():
        out["tensors"][name] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.flatten().tolist()}
    with safe_open(path, "np") as f:
        out["metadata"][os.path.basename(path)] = f.metadata()
print(json.dumps(out))
"#;

fn python_view(dir: &Path) -> Value {
    let out = run_python(READ_WITH_NUMPY, &[("DIR", dir.to_str().unwrap())]);
    serde_json::from_str(&out).unwrap()
}

fn assert_same_tensors(view: &Value, model: &Toy) {
    let tensors = view["tensors"].as_object().unwrap();
    assert_eq!(tensors.len(), model.tensors.len());
    for (name, (shape, values)) in &model.tensors {
        let t = &tensors[name];
        assert_eq!(t["dtype"], "float32", "{name}");
        assert_eq!(t["shape"], json!(shape), "{name}");
        let got: Vec<f64> = t["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let want: Vec<f64> = values.iter().map(|v| f64::from(*v)).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn python_reads_hfkit_checkpoints_single_and_sharded() {
    let tmp = tempfile::tempdir().unwrap();
    let model = Toy::new(ToyConfig::small(), 21);
    let single = tmp.path().join("single");
    model
        .save_pretrained_with(&single, SaveOptions::default().metadata("k", "v"))
        .await
        .unwrap();
    let view = python_view(&single);
    assert_same_tensors(&view, &model);
    assert_eq!(
        view["metadata"]["model.safetensors"],
        json!({"format": "pt", "k": "v"})
    );
    let sharded = tmp.path().join("sharded");
    model
        .save_pretrained_with(&sharded, SaveOptions::default().max_shard_size(100))
        .await
        .unwrap();
    let view = python_view(&sharded);
    assert_same_tensors(&view, &model);
    let meta = view["metadata"].as_object().unwrap();
    assert_eq!(meta.len(), 3, "{meta:?}");
    assert!(meta.values().all(|m| *m == json!({"format": "pt"})));
    // Python's json reads hfkit's config.json and index.
    let script = r#"
import json, os
d = os.environ["DIR"]
print(json.dumps([json.load(open(os.path.join(d, "config.json"))),
                  json.load(open(os.path.join(d, "model.safetensors.index.json")))]))
"#;
    let out: Value =
        serde_json::from_str(&run_python(script, &[("DIR", sharded.to_str().unwrap())])).unwrap();
    assert_eq!(out[0], serde_json::to_value(ToyConfig::small()).unwrap());
    assert_eq!(out[1]["metadata"]["total_size"], 288);
}

#[tokio::test]
async fn hfkit_reads_python_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("py");
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"
import json, os
import numpy as np
from safetensors.numpy import save_file
d = os.environ["DIR"]
cfg = {"hidden": 8, "layers": [3, 2], "name": "py", "scale": 0.5}
open(os.path.join(d, "config.json"), "w").write(json.dumps(cfg, sort_keys=True, indent=2))
t = {"embed.weight": (np.arange(32, dtype=np.float32) * 0.25).reshape(8, 4),
     "layers.0.weight": (np.arange(24, dtype=np.float32) - 7.5).reshape(3, 8),
     "layers.1.weight": np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)}
save_file(t, os.path.join(d, "model.safetensors"))
save_file({"h": np.array([1.5, -2.0], dtype=np.float16), "i": np.array([[1, 2, 3]], dtype=np.int64)},
          os.path.join(d, "other.safetensors"), metadata={"who": "python"})
print(json.dumps({k: v.flatten().tolist() for k, v in t.items()}))
"#;
    let want: BTreeMap<String, Vec<f64>> =
        serde_json::from_str(&run_python(script, &[("DIR", dir.to_str().unwrap())])).unwrap();
    let model = Toy::from_pretrained(dir.to_str().unwrap()).await.unwrap();
    assert_eq!(model.config.name, "py");
    for (name, values) in want {
        let got: Vec<f64> = model.tensors[&name]
            .1
            .iter()
            .map(|v| f64::from(*v))
            .collect();
        assert_eq!(got, values, "{name}");
    }
    let other = Checkpoint::open(&[dir.join("other.safetensors")]).unwrap();
    assert_eq!(
        other.metadata().get("who").map(String::as_str),
        Some("python")
    );
    let h = other.tensor("h").unwrap();
    assert_eq!(h.dtype(), Dtype::F16);
    assert_eq!(h.data(), [0x00, 0x3e, 0x00, 0xc0]); // 1.5 and -2.0 in IEEE half, little endian
    let i = other.tensor("i").unwrap();
    assert_eq!((i.dtype(), i.shape()), (Dtype::I64, &[1usize, 3][..]));
}

#[test]
fn config_json_bytes_match_python_json_dumps() {
    let tricky = json!({
        "zeta": 1, "Alpha": {"b": [], "a": {}, "c": [1.0, 0.1, 1e-05, 1e16, 2.5e-7, 123456.789, -0.0]},
        "name": "h\u{e9}llo \"q\" back\\slash\nnew\ttab \u{1} \u{7f} \u{2028} 😀",
        "big": 12345678901234567890u64, "neg": -42, "flag": true, "nothing": null,
        "eps": 1e-12, "ratio": 0.3333333333333333, "huge": 1.7976931348623157e308,
        "list": [{"y": 2, "x": 1}, [true, false, null], "s"], "": "empty key", "ü": 1
    });
    let ours = config_json_bytes(&tricky).unwrap().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("in.json");
    std::fs::write(&path, serde_json::to_vec(&tricky).unwrap()).unwrap();
    let script = r#"
import json, os, sys
v = json.load(open(os.environ["IN"], encoding="utf-8"))
sys.stdout.buffer.write(json.dumps(v, sort_keys=True, indent=2, ensure_ascii=False).encode("utf-8"))
"#;
    let python = run_python(script, &[("IN", path.to_str().unwrap())]);
    assert_eq!(ours, python);
    // Python's own spelling (ensure_ascii=True) reads back to the same value as ours.
    let ours_path = tmp.path().join("ours.json");
    std::fs::write(&ours_path, &ours).unwrap();
    let script = r#"
import json, os
v = json.load(open(os.environ["IN"], encoding="utf-8"))
o = json.loads(open(os.environ["OURS"], encoding="utf-8").read())
print(json.dumps(v, sort_keys=True, indent=2) == json.dumps(o, sort_keys=True, indent=2))
"#;
    let ascii = run_python(
        script,
        &[
            ("IN", path.to_str().unwrap()),
            ("OURS", ours_path.to_str().unwrap()),
        ],
    );
    assert_eq!(ascii.trim(), "True");
    // The spec's verified example, through a real save.
    let cfg = ToyConfig {
        hidden: 8,
        layers: vec![3, 2],
        name: "h\u{e9}llo".into(),
        scale: 1e-05,
    };
    assert_eq!(
        config_json_bytes(&cfg).unwrap().unwrap(),
        "{\n  \"hidden\": 8,\n  \"layers\": [\n    3,\n    2\n  ],\n  \"name\": \"h\u{e9}llo\",\n  \"scale\": 1e-05\n}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_snapshot_download_gets_the_pushed_files_and_reads_the_card() {
    let hub = WritableHub::start(1000, 1 << 20).await;
    let up_cache = tempfile::tempdir().unwrap();
    let client = hub.client(up_cache.path());
    let model = Toy::new(
        ToyConfig {
            hidden: 64,
            ..ToyConfig::small()
        },
        31,
    );
    model
        .push_to_hub_with("acme/interop", PushOptions::default().hub(client.clone()))
        .await
        .unwrap();
    // The same save locally (the push names the repo in the card).
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("interop");
    let card = CardOptions::default()
        .var("repo_id", "acme/interop")
        .var("model_id", "acme/interop");
    model
        .save_pretrained_with(&local, SaveOptions::default().card(card))
        .await
        .unwrap();
    let py_cache = tmp.path().join("py-cache");
    let script = r#"
import json, os
from huggingface_hub import snapshot_download, ModelCard
p = snapshot_download("acme/interop")
files = {}
for root, _, names in os.walk(p):
    for n in names:
        full = os.path.join(root, n)
        files[os.path.relpath(full, p)] = open(full, "rb").read().hex()
card = ModelCard.load(os.path.join(p, "README.md"))
print(json.dumps({"files": files, "data": card.data.to_dict(), "text": card.text}))
"#;
    let env = [
        ("HF_ENDPOINT", hub.url.clone()),
        (
            "HF_HOME",
            py_cache.join("home").to_str().unwrap().to_owned(),
        ),
        ("HF_HUB_CACHE", py_cache.to_str().unwrap().to_owned()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_python(script, &env)
    })
    .await
    .unwrap();
    let out: Value = serde_json::from_str(&out).unwrap();
    let files = out["files"].as_object().unwrap();
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".gitattributes",
            "README.md",
            "config.json",
            "model.safetensors"
        ]
    );
    for name in ["README.md", "config.json", "model.safetensors"] {
        let ours = hex::encode(std::fs::read(local.join(name)).unwrap());
        assert_eq!(files[name], Value::String(ours), "{name}");
    }
    let card = hfkit::card::ModelCard::load(local.join("README.md")).unwrap();
    assert_eq!(
        out["data"],
        json!({"library_name": "my-lib", "license": "apache-2.0",
               "pipeline_tag": "image-classification",
               "tags": ["Zeta", "hfkit", "model_hub_mixin", "vision"]})
    );
    assert_eq!(out["text"], Value::String(card.body().to_owned()));
}
