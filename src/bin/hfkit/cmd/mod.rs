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

use hfkit::blocking::{ApiRepo, HubClient};
use hfkit::hub::repos::CreateRepo;
use hfkit::{RepoType, Result, Settings};

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

/// The repository an upload command writes to: created when missing (`private` then; a Space
/// as a Gradio one), at `revision` unless that is `main`, the branch created from `main` first
/// when `create_branch`.
pub fn upload_target(
    hub: &HubClient,
    repo_id: &str,
    repo_type: RepoType,
    private: bool,
    revision: Option<&str>,
    create_branch: bool,
) -> Result<ApiRepo> {
    let mut create = CreateRepo::new(repo_id).repo_type(repo_type).exist_ok(true);
    if private {
        create = create.private(true);
    }
    if repo_type == RepoType::Space {
        create = create.space_sdk("gradio");
    }
    hub.create_repo(create)?;
    let mut repo = hub.typed(repo_id, repo_type);
    if let Some(rev) = revision.filter(|r| *r != "main") {
        if create_branch {
            repo.create_branch(rev, None, true)?;
        }
        repo = repo.revision(rev);
    }
    Ok(repo)
}
