//! The hfkit quickstart, fully offline: a small model repository is written to a temporary
//! folder, served over the Hub protocol by hfkit's own mirror on 127.0.0.1, downloaded with
//! `snapshot_download` into a fresh cache (the same layout Python `huggingface_hub` uses), and
//! fetched again in offline mode, which answers from the cache without a single request.
//!
//! Run it with `cargo run --release --example quickstart`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use hfkit::HubClient;
use hfkit::hub::snapshot::SnapshotOptions;
use hfkit::mirror::Mirror;

fn write_repo(root: &Path) -> std::io::Result<()> {
    let repo = root.join("models").join("acme").join("tiny-model");
    std::fs::create_dir_all(repo.join("onnx"))?;
    std::fs::write(
        repo.join("config.json"),
        br#"{"architectures": ["TinyModel"], "hidden_size": 64, "vocab_size": 256}"#,
    )?;
    std::fs::write(
        repo.join("README.md"),
        "---\nlicense: apache-2.0\nlibrary_name: hfkit\n---\n# tiny-model\nA demo repository.\n",
    )?;
    // A 12 MiB "weights" file: above the 10 MiB threshold, so it is served as an LFS file
    // (sha256 etag) like real checkpoints.
    let weights: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(repo.join("model.safetensors"), weights)?;
    std::fs::write(repo.join("onnx").join("model.onnx"), b"onnx-bytes")?;
    Ok(())
}

fn print_tree(dir: &Path, prefix: &str) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let name = e.file_name().to_string_lossy().into_owned();
        if meta.is_dir() {
            println!("{prefix}{name}/");
            print_tree(&path, &format!("{prefix}    "))?;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)?;
            let size = std::fs::metadata(&path)?.len();
            println!("{prefix}{name} -> {} ({size} bytes)", target.display());
        } else {
            println!("{prefix}{name} ({} bytes)", meta.len());
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path().join("hub-root");
    let cache = work.path().join("cache");

    println!("1. Writing a model repository under {}", root.display());
    write_repo(&root)?;

    println!("2. Serving it with hfkit's Hub mirror on 127.0.0.1");
    let mirror = Mirror::new(&root)
        .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    println!("   HF_ENDPOINT={}", mirror.url());

    println!("3. snapshot_download of acme/tiny-model into a fresh cache");
    let hub = HubClient::builder()
        .endpoint(mirror.url())
        .cache_dir(&cache)
        .settings(|s| s.no_token())
        .build()?;
    let started = Instant::now();
    let snapshot = hub
        .model("acme/tiny-model")
        .snapshot_with(SnapshotOptions::default().max_workers(8))
        .await?;
    println!(
        "   done in {:.0} ms: {}",
        started.elapsed().as_secs_f64() * 1000.0,
        snapshot.display()
    );

    println!("4. The cache, laid out exactly as Python huggingface_hub lays it out:");
    print_tree(&cache, "   ")?;

    println!("5. The same call in offline mode (HF_HUB_OFFLINE=1), with the mirror stopped:");
    mirror.shutdown().await;
    let offline = HubClient::builder()
        .endpoint("http://127.0.0.1:9")
        .cache_dir(&cache)
        .offline(true)
        .build()?;
    let again = offline.model("acme/tiny-model").snapshot().await?;
    println!("   {}", again.display());
    println!("   same folder: {}", again == snapshot);
    let config = offline
        .model("acme/tiny-model")
        .download("config.json")
        .await?;
    println!("   config.json: {}", std::fs::read_to_string(config)?);
    match offline.model("acme/other").download("config.json").await {
        Err(e) => println!("   a file that was never downloaded: {e}"),
        Ok(p) => println!("   unexpected: {}", p.display()),
    }
    Ok(())
}
