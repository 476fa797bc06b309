//! `hfkit env`.

use hfkit::{Result, Settings};

/// `hfkit env`
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the resolved settings (never the token).
pub fn run(_a: Args) -> Result<()> {
    let s = Settings::from_env()?;
    println!("hfkit version: {}", env!("CARGO_PKG_VERSION"));
    println!("rustc version: {}", hfkit::http::RUSTC_VERSION);
    println!(
        "platform: {}-{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    println!("HF_ENDPOINT: {}", s.endpoint());
    println!("HF_INFERENCE_ENDPOINT: {}", s.inference_endpoint());
    println!("HF_ROUTER_URL: {}", s.router_url());
    println!("HF_HOME: {}", s.hf_home().display());
    println!("HF_HUB_CACHE: {}", s.cache_dir().display());
    println!("HF_ASSETS_CACHE: {}", s.assets_cache().display());
    println!("HF_TOKEN_PATH: {}", s.token_path().display());
    println!(
        "token: {}",
        if s.resolve_token().is_some() {
            "set (hidden)"
        } else {
            "not set"
        }
    );
    println!("HF_HUB_OFFLINE: {}", s.offline());
    println!("HF_HUB_ETAG_TIMEOUT: {}", s.etag_timeout().as_secs());
    println!(
        "HF_HUB_DOWNLOAD_TIMEOUT: {}",
        s.download_timeout().as_secs()
    );
    println!("HF_HUB_DISABLE_SYMLINKS: {}", s.disable_symlinks());
    println!(
        "HF_HUB_DISABLE_PROGRESS_BARS: {}",
        match s.progress_bars() {
            Some(true) => "false (forced on)",
            Some(false) => "true",
            None => "unset",
        }
    );
    println!("high-throughput downloads: {}", s.high_throughput());
    Ok(())
}
