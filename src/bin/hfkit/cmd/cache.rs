//! `hfkit scan-cache` and `hfkit delete-cache`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use hfkit::hub::cache::{CacheInfo, scan_cache_dir};
use hfkit::{Error, Result, Settings};

/// `hfkit scan-cache`
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Cache directory (default: HF_HUB_CACHE, then HF_HOME/hub).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// One row per revision.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `hfkit delete-cache --repo R --revision H`
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// Repository id whose revisions to delete.
    #[arg(long)]
    pub repo: String,
    /// Repository type.
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Commit id (or a ref name such as `main`) of a revision to delete (repeatable).
    #[arg(long = "revision", required = true)]
    pub revisions: Vec<String>,
    /// Cache directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Delete without asking.
    #[arg(long, short)]
    pub yes: bool,
}

fn cache_dir(dir: Option<PathBuf>) -> Result<PathBuf> {
    match dir {
        Some(d) => Ok(d),
        None => Ok(Settings::from_env()?.cache_dir().to_owned()),
    }
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn to_json(info: &CacheInfo) -> serde_json::Value {
    let repos: Vec<serde_json::Value> = info
        .repos
        .iter()
        .map(|r| {
            serde_json::json!({
                "repo_id": r.repo_id,
                "repo_type": r.repo_type.as_str(),
                "repo_path": r.repo_path,
                "size_on_disk": r.size_on_disk,
                "nb_files": r.nb_files,
                "last_accessed": secs(r.last_accessed),
                "last_modified": secs(r.last_modified),
                "refs": r.refs,
                "revisions": r.revisions.iter().map(|v| serde_json::json!({
                    "commit_hash": v.commit_hash,
                    "snapshot_path": v.snapshot_path,
                    "size_on_disk": v.size_on_disk,
                    "nb_files": v.files.len(),
                    "refs": v.refs,
                    "last_modified": secs(v.last_modified),
                    "files": v.files.iter().map(|f| serde_json::json!({
                        "file_name": f.file_name,
                        "file_path": f.file_path,
                        "blob_path": f.blob_path,
                        "size_on_disk": f.size_on_disk,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "size_on_disk": info.size_on_disk,
        "repos": repos,
        "warnings": info.warnings,
        "incomplete": info.incomplete,
    })
}

/// Runs `scan-cache`.
pub fn scan(a: ScanArgs) -> Result<()> {
    let dir = cache_dir(a.dir)?;
    let info = scan_cache_dir(&dir)?;
    if a.json {
        let text = serde_json::to_string_pretty(&to_json(&info))
            .map_err(|e| Error::json("scan result", e))?;
        outln!("{text}");
        return Ok(());
    }
    out!("{}", info.export_as_table(a.verbose));
    outln!(
        "\nDone in the cache {}: {} repo(s), {} on disk.",
        dir.display(),
        info.repos.len(),
        hfkit::hub::cache::format_size(info.size_on_disk)
    );
    for w in &info.warnings {
        eprintln!("warning: {w}");
    }
    if !info.incomplete.is_empty() {
        eprintln!(
            "{} incomplete download(s) in the cache.",
            info.incomplete.len()
        );
    }
    Ok(())
}

/// Runs `delete-cache`.
pub fn delete(a: DeleteArgs) -> Result<()> {
    let dir = cache_dir(a.dir)?;
    let repo_type: hfkit::RepoType = a.repo_type.parse()?;
    hfkit::RepoId::new(a.repo.clone())?;
    let info = scan_cache_dir(&dir)?;
    let Some(repo) = info
        .repos
        .iter()
        .find(|r| r.repo_id == a.repo && r.repo_type == repo_type)
    else {
        return Err(Error::InvalidInput(format!(
            "{} {} is not in the cache {}",
            repo_type,
            a.repo,
            dir.display()
        )));
    };
    let mut hashes = Vec::new();
    for rev in &a.revisions {
        let hash = if repo.revisions.iter().any(|r| &r.commit_hash == rev) {
            rev.clone()
        } else if let Some(c) = repo.refs.get(rev) {
            c.clone()
        } else {
            return Err(Error::InvalidInput(format!(
                "revision {rev:?} of {} is not in the cache (run `hfkit scan-cache -v` to list them)",
                a.repo
            )));
        };
        hashes.push(hash);
    }
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let plan = info.delete_revisions(&refs);
    eprintln!(
        "Will delete {} revision(s) of {} and free {}.",
        hashes.len(),
        a.repo,
        plan.expected_freed_size_str()
    );
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("Dry run: nothing deleted. Pass --yes to delete.");
            return Ok(());
        }
        eprint!("Proceed? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing deleted.");
            return Ok(());
        }
    }
    for w in plan.execute() {
        eprintln!("warning: {w}");
    }
    outln!("Freed {}.", plan.expected_freed_size_str());
    Ok(())
}
