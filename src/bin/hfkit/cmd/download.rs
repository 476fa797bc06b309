//! `hfkit download`.

use std::path::PathBuf;

use hfkit::hub::download::DownloadOptions;
use hfkit::hub::snapshot::SnapshotOptions;
use hfkit::{RepoType, Result};

use crate::progress;

/// `hfkit download REPO_ID [FILES]...`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The repository, e.g. `openai-community/gpt2`.
    pub repo_id: String,
    /// Files to download (default: the whole repository, filtered by --include/--exclude).
    pub files: Vec<String>,
    /// Repository type.
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Branch, tag, commit id or `refs/pr/N`.
    #[arg(long, default_value = "main")]
    pub revision: String,
    /// Cache directory (default: HF_HUB_CACHE, then HF_HOME/hub).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Put the files in this folder as real files instead of the cache.
    #[arg(long)]
    pub local_dir: Option<PathBuf>,
    /// Only files matching these patterns (fnmatch; repeatable).
    #[arg(long = "include")]
    pub include: Vec<String>,
    /// Skip files matching these patterns (repeatable).
    #[arg(long = "exclude")]
    pub exclude: Vec<String>,
    /// Download again even if cached.
    #[arg(long)]
    pub force_download: bool,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
    /// No progress bars, only the resulting path.
    #[arg(long, short)]
    pub quiet: bool,
    /// Concurrent downloads for a whole repository.
    #[arg(long, default_value_t = 8)]
    pub max_workers: usize,
}

/// Runs the command.
pub fn run(a: Args) -> Result<()> {
    let repo_type: RepoType = a.repo_type.parse()?;
    let hub = super::client(a.token.as_deref(), a.cache_dir.as_deref())?;
    let repo = hub
        .typed(a.repo_id.clone(), repo_type)
        .revision(a.revision.clone());
    let bars = progress::bars(a.quiet, hub.settings().progress_bars());
    let path = if a.files.len() == 1 && a.include.is_empty() && a.exclude.is_empty() {
        let mut opts = DownloadOptions::default().force_download(a.force_download);
        if let Some(d) = &a.local_dir {
            opts = opts.local_dir(d.clone());
        }
        if let Some(b) = bars {
            opts = opts.progress(b);
        }
        repo.download_with(&a.files[0], opts)?
    } else {
        let mut opts = SnapshotOptions::default()
            .force_download(a.force_download)
            .max_workers(a.max_workers);
        let mut allow: Vec<String> = a.files.clone();
        allow.extend(a.include.iter().cloned());
        if !a.files.is_empty() || !a.include.is_empty() {
            opts = opts.allow(allow);
        }
        if !a.exclude.is_empty() {
            opts = opts.ignore(a.exclude.clone());
        }
        if let Some(d) = &a.local_dir {
            opts = opts.local_dir(d.clone());
        }
        if let Some(b) = bars {
            opts = opts.progress(b);
        }
        repo.snapshot_with(opts)?
    };
    outln!("{}", path.display());
    Ok(())
}
