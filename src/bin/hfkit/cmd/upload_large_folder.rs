//! `hfkit upload-large-folder`: a resumable folder upload (progress recorded under
//! `LOCAL_PATH/.cache/huggingface/upload/`); re-run the same command after an interruption.

use std::path::PathBuf;

use hfkit::hub::large_folder::LargeFolderOptions;
use hfkit::{Error, RepoType, Result};

use crate::progress;

/// `hfkit upload-large-folder REPO_ID LOCAL_PATH`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The repository, e.g. `me/my-dataset` (created if missing).
    pub repo_id: String,
    /// The local folder.
    pub local_path: PathBuf,
    /// Repository type.
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Branch to commit to (created from `main` if missing).
    #[arg(long)]
    pub revision: Option<String>,
    /// Create the repository as private (when it does not exist yet).
    #[arg(long)]
    pub private: bool,
    /// Only upload files matching these patterns (repeatable).
    #[arg(long = "include")]
    pub include: Vec<String>,
    /// Skip files matching these patterns (repeatable).
    #[arg(long = "exclude")]
    pub exclude: Vec<String>,
    /// Files hashed and uploaded at the same time.
    #[arg(long)]
    pub num_workers: Option<usize>,
    /// Operations per commit.
    #[arg(long)]
    pub max_operations_per_commit: Option<usize>,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command; the final commit URL is the last line on stdout.
pub fn run(a: Args) -> Result<()> {
    let repo_type: RepoType = a.repo_type.parse()?;
    if !a.local_path.is_dir() {
        return Err(Error::InvalidInput(format!(
            "cannot upload {}: not a folder",
            a.local_path.display()
        )));
    }
    let hub = super::client(a.token.as_deref(), None)?;
    let repo = super::upload_target(
        &hub,
        &a.repo_id,
        repo_type,
        a.private,
        a.revision.as_deref(),
        true,
    )?;
    let mut opts = LargeFolderOptions {
        allow_patterns: (!a.include.is_empty()).then_some(a.include),
        ignore_patterns: a.exclude,
        num_workers: a.num_workers,
        max_operations_per_commit: a.max_operations_per_commit,
        ..LargeFolderOptions::default()
    };
    if let Some(b) = progress::bars(a.quiet, hub.settings().progress_bars()) {
        opts = opts.progress(b);
    }
    let info = repo.upload_large_folder(a.local_path.clone(), opts)?;
    outln!("{}", info.commit_url);
    Ok(())
}
