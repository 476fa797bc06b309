//! One module per subcommand.

pub mod auth;
pub mod cache;
pub mod card;
pub mod chat;
pub mod download;
pub mod env;
pub mod infer;
pub mod repo;
pub mod serve;
pub mod upload;
pub mod upload_large_folder;

use hfkit::blocking::HubClient;
use hfkit::{Result, Settings};

/// Options shared by commands that talk to the Hub.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HubArgs {
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// A blocking client from the environment, with optional overrides.
pub fn client(token: Option<&str>, cache_dir: Option<&std::path::Path>) -> Result<HubClient> {
    let mut b = Settings::builder();
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        b = b.token(t);
    }
    if let Some(d) = cache_dir {
        b = b.cache_dir(d);
    }
    HubClient::from_settings(b.build()?)
}
