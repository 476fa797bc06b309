//! `hfkit card show` and `hfkit card validate`.

use std::path::{Path, PathBuf};

use hfkit::card::{CardData, DatasetCardData, ModelCardData, RepoCard, SpaceCardData};
use hfkit::{Error, RepoType, Result};

/// `hfkit card …`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print the metadata of a card (a local file or folder, else a repository's README.md).
    Show(ShowArgs),
    /// Check a local card: YAML front matter and known keys (with --remote, also the Hub).
    Validate(ValidateArgs),
}

/// `hfkit card show REPO_ID|PATH`
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// A local card file or folder (if it exists), else a repository id.
    pub target: String,
    /// Repository type (selects the card kind).
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Branch, tag or commit, for a repository.
    #[arg(long, default_value = "main")]
    pub revision: String,
    /// Print one JSON object: the metadata as Python's `ModelCard.load(...).data.to_dict()`.
    #[arg(long)]
    pub json: bool,
    /// Load even if `model-index` is invalid (it is then left out).
    #[arg(long)]
    pub ignore_metadata_errors: bool,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
}

/// `hfkit card validate PATH`
#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// The card file (or a folder holding README.md).
    pub path: PathBuf,
    /// Repository type (selects the card kind and the Hub's rules).
    #[arg(long, default_value = "model", value_parser = ["model", "dataset", "space"])]
    pub repo_type: String,
    /// Also ask the Hub's validation endpoint (`POST {endpoint}/api/validate-yaml`).
    #[arg(long)]
    pub remote: bool,
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
}

/// Runs `hfkit card …`.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Show(a) => match a.repo_type.parse::<RepoType>()? {
            RepoType::Model => show::<ModelCardData>(a),
            RepoType::Dataset => show::<DatasetCardData>(a),
            RepoType::Space => show::<SpaceCardData>(a),
        },
        Command::Validate(a) => match a.repo_type.parse::<RepoType>()? {
            RepoType::Model => validate::<ModelCardData>(a),
            RepoType::Dataset => validate::<DatasetCardData>(a),
            RepoType::Space => validate::<SpaceCardData>(a),
        },
    }
}

fn show<D: CardData>(a: ShowArgs) -> Result<()> {
    let opts = hfkit::card::LoadOptions {
        ignore_metadata_errors: a.ignore_metadata_errors,
    };
    let path = if Path::new(&a.target).exists() {
        PathBuf::from(&a.target)
    } else {
        let hub = super::client(a.token.as_deref(), None)?;
        hub.typed(a.target.clone(), D::REPO_TYPE)
            .revision(a.revision.clone())
            .download("README.md")?
    };
    let card = RepoCard::<D>::load_with(&path, opts)?;
    if a.json {
        let dict = serde_json::Value::Object(card.to_python_dict());
        outln!("{dict}");
    } else if card.data().map().is_empty() {
        outln!("(no metadata)");
    } else {
        outln!("{}", card.metadata_yaml());
    }
    Ok(())
}

fn validate<D: CardData>(a: ValidateArgs) -> Result<()> {
    let card = RepoCard::<D>::load(&a.path)?;
    if card.data().map().is_empty() {
        eprintln!("warning: the card has no metadata");
    }
    outln!(
        "{}: valid {} card (local checks)",
        a.path.display(),
        D::REPO_TYPE.as_str()
    );
    if a.remote {
        let hub = super::client(a.token.as_deref(), None)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the async runtime", e))?;
        let report = rt.block_on(card.validate(hub.as_async()))?;
        for w in &report.warnings {
            eprintln!("warning (Hub): {w}");
        }
        outln!("{}: accepted by the Hub", a.path.display());
    }
    Ok(())
}
