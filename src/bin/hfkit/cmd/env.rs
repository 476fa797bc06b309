//! `hfkit env`.

use hfkit::{Result, Settings};

/// `hfkit env`
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the resolved settings (never the token).
pub fn run(_a: Args) -> Result<()> {
    let s = Settings::from_env()?;
    outln!("hfkit version: {}", env!("CARGO_PKG_VERSION"));
    outln!("rustc version: {}", hfkit::http::RUSTC_VERSION);
    outln!(
        "platform: {}-{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    outln!("HF_ENDPOINT: {}", s.endpoint());
    outln!("HF_INFERENCE_ENDPOINT: {}", s.inference_endpoint());
    outln!("HF_ROUTER_URL: {}", s.router_url());
    outln!("HF_HOME: {}", s.hf_home().display());
    outln!("HF_HUB_CACHE: {}", s.cache_dir().display());
    outln!("HF_ASSETS_CACHE: {}", s.assets_cache().display());
    outln!("HF_TOKEN_PATH: {}", s.token_path().display());
    outln!(
        "token: {}",
        if s.resolve_token().is_some() {
            "set (hidden)"
        } else {
            "not set"
        }
    );
    outln!("HF_HUB_OFFLINE: {}", s.offline());
    outln!("HF_HUB_ETAG_TIMEOUT: {}", s.etag_timeout().as_secs());
    outln!(
        "HF_HUB_DOWNLOAD_TIMEOUT: {}",
        s.download_timeout().as_secs()
    );
    outln!("HF_HUB_DISABLE_SYMLINKS: {}", s.disable_symlinks());
    outln!(
        "HF_HUB_DISABLE_PROGRESS_BARS: {}",
        match s.progress_bars() {
            Some(true) => "false (forced on)",
            Some(false) => "true",
            None => "unset",
        }
    );
    outln!("high-throughput downloads: {}", s.high_throughput());
    Ok(())
}
