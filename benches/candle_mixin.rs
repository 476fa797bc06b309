//! Benchmarks of the candle adapter, printed as tables (release build):
//!
//! 1. `from_pretrained` of a candle checkpoint (default 1 GiB of F32) from a warm Hub cache, by
//!    repo id against a loopback mirror (revalidation requests included) and with
//!    `local_files_only`, versus a bare candle load of the same cached file
//!    (`VarBuilder::from_mmaped_safetensors` + the same model construction). Target: hfkit ≤ 1.2×.
//! 2. `save_pretrained` throughput versus Python `safetensors.numpy.save_file` of the same tensors.
//!
//! Runs alternate between the contenders (A, B, C, A, B, C, …) and report medians, so the noise of
//! a shared machine hits every side alike.
//!
//! ```text
//! cargo bench --bench candle_mixin --features full -- [--size-mib 1024] [--runs 5] [--work-dir DIR]
//! ```
//! The Python side needs `HFKIT_TEST_PYTHON` (or `.venv/bin/python`) with `safetensors` and `numpy`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use hfkit::HubClient;
use hfkit::mirror::Mirror;
use hfkit::mixin::candle::{CandleModel, CandleWeights};
use hfkit::mixin::{HubModel, LoadOptions, ModelHubMixin};
use serde::{Deserialize, Serialize};

/// Tensor side: 2048 × 2048 F32 = 16 MiB per tensor.
const SIDE: usize = 2048;
const REPO: &str = "bench/candle-ckpt";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cfg {
    layers: usize,
    side: usize,
}

/// A stack of square F32 matrices named `layers.{i}.weight`.
struct Stack {
    cfg: Cfg,
    tensors: Vec<(String, Tensor)>,
}

fn build(cfg: &Cfg, vb: &VarBuilder) -> candle_core::Result<Vec<(String, Tensor)>> {
    (0..cfg.layers)
        .map(|i| {
            let name = format!("layers.{i}.weight");
            vb.get((cfg.side, cfg.side), &name).map(|t| (name, t))
        })
        .collect()
}

impl CandleModel for Stack {
    type Config = Cfg;
    fn config(&self) -> &Cfg {
        &self.cfg
    }
    fn load(cfg: &Cfg, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Stack {
            cfg: cfg.clone(),
            tensors: build(cfg, &vb)?,
        })
    }
    fn weights(&self) -> CandleWeights<'_> {
        CandleWeights::Tensors(self.tensors.clone())
    }
}

struct Args {
    size_mib: usize,
    runs: usize,
    work: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        size_mib: 1024,
        runs: 5,
        work: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--size-mib" => a.size_mib = it.next().context("--size-mib N")?.parse()?,
            "--runs" => a.runs = it.next().context("--runs N")?.parse()?,
            "--work-dir" => a.work = Some(it.next().context("--work-dir DIR")?.into()),
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s[s.len() / 2]
}

fn secs(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.3}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn python() -> PathBuf {
    std::env::var_os("HFKIT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

const PY_SAVE: &str = r#"
import sys, time
from safetensors.numpy import load_file, save_file
tensors = load_file(sys.argv[1])          # read into memory, not timed
t0 = time.perf_counter()
save_file(tensors, sys.argv[2], metadata={"format": "pt"})
print(time.perf_counter() - t0)
"#;

fn python_save(src: &Path, dst: &Path) -> Result<Duration> {
    let out = Command::new(python())
        .arg("-c")
        .arg(PY_SAVE)
        .arg(src)
        .arg(dst)
        .output()
        .context("running Python")?;
    if !out.status.success() {
        bail!("python failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let s: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    Ok(Duration::from_secs_f64(s))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let layers = (args.size_mib / 16).max(1);
    let bytes = (layers * SIDE * SIDE * 4) as f64;
    let tmp = tempfile::Builder::new()
        .prefix("hfkit-candle-bench")
        .tempdir_in(args.work.clone().unwrap_or_else(std::env::temp_dir))?;
    let root = tmp.path().join("mirror");
    let repo_dir = root.join("models").join(REPO);

    // The checkpoint, saved straight into the mirror's repository folder.
    let cfg = Cfg { layers, side: SIDE };
    let tensors = (0..layers)
        .map(|i| {
            let t = Tensor::rand(-1f32, 1f32, (SIDE, SIDE), &Device::Cpu)?;
            Ok((format!("layers.{i}.weight"), t))
        })
        .collect::<Result<Vec<_>>>()?;
    let model = Stack { cfg, tensors };
    model.save_pretrained(&repo_dir).await?;
    eprintln!("checkpoint: {layers} tensors, {:.0} MiB", bytes / 1048576.0);

    let mirror = Mirror::new(&root).serve("127.0.0.1:0".parse()?).await?;
    let client = HubClient::builder()
        .settings(|b| {
            b.env_map(Default::default())
                .endpoint(mirror.url())
                .cache_dir(tmp.path().join("cache"))
                .hf_home(tmp.path().join("home"))
                .no_token()
        })
        .build()?;
    let online = LoadOptions::default().hub(client.clone());
    let offline = online.clone().local_files_only(true);
    // Warm the cache (downloads once), then find the cached file for the bare candle load.
    drop(Stack::from_pretrained_with(REPO, online.clone()).await?);
    let cached = client.model(REPO).download("model.safetensors").await?;

    let (mut t_online, mut t_offline, mut t_bare) = (vec![], vec![], vec![]);
    for _ in 0..args.runs {
        let t = Instant::now();
        let m = Stack::from_pretrained_with(REPO, online.clone()).await?;
        t_online.push(t.elapsed());
        drop(m);

        let t = Instant::now();
        let m = Stack::from_pretrained_with(REPO, offline.clone()).await?;
        t_offline.push(t.elapsed());
        drop(m);

        let t = Instant::now();
        let path = cached.clone();
        let m = tokio::task::spawn_blocking(move || -> candle_core::Result<_> {
            // SAFETY: the cache blob is never rewritten while the benchmark runs.
            let vb =
                unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &Device::Cpu)? };
            build(&Cfg { layers, side: SIDE }, &vb)
        })
        .await??;
        t_bare.push(t.elapsed());
        drop(m);
    }
    mirror.shutdown().await;

    let bare = median(&t_bare).as_secs_f64();
    println!(
        "\n| load {:.0} MiB F32 checkpoint, warm cache ({} runs) | seconds, median | every run | ratio to bare candle (target <= 1.2) |",
        bytes / 1048576.0,
        args.runs
    );
    println!("|---|---|---|---|");
    println!(
        "| bare candle `from_mmaped_safetensors` + build | {bare:.3} | {} | 1.00 |",
        secs(&t_bare)
    );
    for (name, v) in [
        (
            "hfkit `from_pretrained` by repo id (revalidates over loopback)",
            &t_online,
        ),
        ("hfkit `from_pretrained`, `local_files_only`", &t_offline),
    ] {
        let m = median(v).as_secs_f64();
        println!(
            "| {name} | {m:.3} | {} | {:.2} {} |",
            secs(v),
            m / bare,
            if m / bare <= 1.2 { "✅" } else { "❌" }
        );
    }

    // save_pretrained vs Python save_file, same tensors.
    let loaded = Stack::from_pretrained_with(REPO, offline.clone()).await?;
    let (mut t_rs, mut t_py) = (vec![], vec![]);
    let out_rs = tmp.path().join("save-rs");
    let out_py = tmp.path().join("save-py.safetensors");
    for _ in 0..args.runs {
        let t = Instant::now();
        loaded.save_pretrained(&out_rs).await?;
        t_rs.push(t.elapsed());
        std::fs::remove_dir_all(&out_rs)?;

        t_py.push(python_save(&cached, &out_py)?);
        std::fs::remove_file(&out_py)?;
    }
    let mbps = |d: Duration| bytes / 1e6 / d.as_secs_f64();
    let (rs, py) = (median(&t_rs), median(&t_py));
    println!(
        "\n| save {:.0} MiB of F32 tensors ({} runs) | MB/s, median | seconds, every run | ratio to Python |",
        bytes / 1048576.0,
        args.runs
    );
    println!("|---|---|---|---|");
    println!(
        "| Python `safetensors.numpy.save_file` | {:.0} | {} | 1.00 |",
        mbps(py),
        secs(&t_py)
    );
    println!(
        "| hfkit `save_pretrained` (candle) | {:.0} | {} | {:.2} |",
        mbps(rs),
        secs(&t_rs),
        mbps(rs) / mbps(py)
    );
    Ok(())
}
