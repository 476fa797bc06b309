//! `hfkit upload`: a file or a folder in one commit, creating the repository if needed.

use std::path::PathBuf;

use hfkit::hub::upload::{UploadFolderOptions, UploadOptions};
use hfkit::{Error, RepoType, Result};

use crate::progress;

/// `hfkit upload REPO_ID LOCAL_PATH [PATH_IN_REPO]`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The repository, e.g. `me/my-model` (created if missing).
    pub repo_id: String,
    /// A local file or folder.
    pub local_path: PathBuf,
    /// Destination in the repository (default: the file's name, or the root for a folder).
    pub path_in_repo: Option<String>,
    /// Repository type.
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Branch to commit to (created from `main` if missing).
    #[arg(long)]
    pub revision: Option<String>,
    /// Create the repository as private (when it does not exist yet).
    #[arg(long)]
    pub private: bool,
    /// Only upload files matching these patterns (folders; repeatable).
    #[arg(long = "include")]
    pub include: Vec<String>,
    /// Skip files matching these patterns (folders; repeatable).
    #[arg(long = "exclude")]
    pub exclude: Vec<String>,
    /// Delete remote files matching these patterns in the same commit (folders; repeatable).
    #[arg(long = "delete")]
    pub delete: Vec<String>,
    /// Commit title.
    #[arg(long)]
    pub commit_message: Option<String>,
    /// Commit description.
    #[arg(long)]
    pub commit_description: Option<String>,
    /// Open a pull request instead of committing to the branch.
    #[arg(long)]
    pub create_pr: bool,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command; the commit URL is the last line on stdout.
pub fn run(a: Args) -> Result<()> {
    let repo_type: RepoType = a.repo_type.parse()?;
    let meta = std::fs::metadata(&a.local_path).map_err(|e| {
        Error::InvalidInput(format!("cannot upload {}: {e}", a.local_path.display()))
    })?;
    let hub = super::client(a.token.as_deref(), None)?;
    // A pull request starts from the branch as it is: it is not created.
    let repo = super::upload_target(
        &hub,
        &a.repo_id,
        repo_type,
        a.private,
        a.revision.as_deref(),
        !a.create_pr,
    )?;
    let bars = progress::bars(a.quiet, hub.settings().progress_bars());
    let info = if meta.is_file() {
        if !a.include.is_empty() || !a.exclude.is_empty() || !a.delete.is_empty() {
            eprintln!("warning: --include/--exclude/--delete apply to folders only; ignored");
        }
        let name = a
            .local_path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::InvalidInput("the local file has no UTF-8 name".into()))?;
        let dest = a.path_in_repo.clone().unwrap_or_else(|| name.to_owned());
        repo.upload_file(
            a.local_path.as_path(),
            &dest,
            UploadOptions {
                message: a.commit_message,
                description: a.commit_description,
                create_pr: a.create_pr,
                parent_commit: None,
                progress: bars,
            },
        )?
    } else {
        let opts = UploadFolderOptions {
            path_in_repo: a.path_in_repo,
            allow_patterns: (!a.include.is_empty()).then_some(a.include),
            ignore_patterns: a.exclude,
            delete_patterns: a.delete,
            message: a.commit_message,
            description: a.commit_description,
            create_pr: a.create_pr,
            parent_commit: None,
            max_operations_per_commit: None,
            progress: bars,
        };
        repo.upload_folder(a.local_path.clone(), opts)?
    };
    if let Some(pr) = &info.pr_url {
        eprintln!("Pull request: {pr}");
    }
    outln!("{}", info.commit_url);
    Ok(())
}
