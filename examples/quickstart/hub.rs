//! The Hub round trip of the quickstart: `save_pretrained` → `push_to_hub` → `from_pretrained`.
//!
//! All ModelHubMixin calls sit in [`round_trip`], so that this is the one place to read (or
//! change) to see how a model travels through the Hub. [`CharLm`] gets them by implementing
//! `hfkit::mixin::ModelHubMixin` (see `model.rs`).

use std::path::{Path, PathBuf};

use hfkit::HubClient;
use hfkit::card::ModelCard;
use hfkit::mixin::{HubModel, LoadOptions, ModelHubMixin, PushOptions};

use super::model::CharLm;

/// Where the round trip happens.
pub struct HubTarget<'a> {
    /// A client of the writable mirror, with the mirror's token (pushes go through it).
    pub writer: &'a HubClient,
    /// A client of the same mirror with a fresh, empty cache (loads go through it).
    pub reader: &'a HubClient,
    /// The repository to push to, `org/name`.
    pub repo_id: &'a str,
}

/// What the round trip produced.
pub struct RoundTrip {
    /// The folder `save_pretrained` wrote.
    pub saved_dir: PathBuf,
    /// The files in it, with their sizes, sorted by name.
    pub saved_files: Vec<(String, u64)>,
    /// The URL of the pushed commit.
    pub commit_url: String,
    /// The snapshot folder in the fresh cache that `from_pretrained` loaded from.
    pub snapshot: PathBuf,
    /// The model loaded back from the Hub.
    pub loaded: CharLm,
    /// The model card as stored on the Hub.
    pub card: ModelCard,
}

/// Saves `model` into `dir`, pushes it to `target.repo_id`, and loads it back by repo id.
pub async fn round_trip(
    model: &CharLm,
    dir: &Path,
    target: &HubTarget<'_>,
) -> anyhow::Result<RoundTrip> {
    // config.json, model.safetensors ({"format": "pt"}) and a rendered README.md.
    model.save_pretrained(dir).await?;

    // One commit to the mirror (the repository is created if needed).
    let commit = model
        .push_to_hub_with(
            target.repo_id,
            PushOptions::default().hub(target.writer.clone()),
        )
        .await?;

    // By repo id, through the reader's empty cache: only config.json and the weights are fetched.
    let loaded = CharLm::from_pretrained_with(
        target.repo_id,
        LoadOptions::default().hub(target.reader.clone()),
    )
    .await?;

    let repo = target.reader.model(target.repo_id);
    let snapshot = target
        .reader
        .settings()
        .cache_dir()
        .join(repo.repo()?.folder_name())
        .join("snapshots")
        .join(&commit.oid);
    anyhow::ensure!(
        snapshot.join("model.safetensors").exists(),
        "from_pretrained left no weights in {}",
        snapshot.display()
    );
    // The card as the Hub has it (README.md, fetched through the same cache).
    let card = ModelCard::load_from_hub(&repo).await?;
    Ok(RoundTrip {
        saved_dir: dir.to_path_buf(),
        saved_files: list_files(dir)?,
        commit_url: commit.commit_url,
        snapshot,
        loaded,
        card,
    })
}
fn list_files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() {
            out.push((entry.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    out.sort();
    Ok(out)
}

/// Compares two models tensor by tensor, bit for bit; returns the number of values compared.
pub fn assert_same_weights(a: &CharLm, b: &CharLm) -> anyhow::Result<usize> {
    let (ta, tb) = (a.named_tensors(), b.named_tensors());
    anyhow::ensure!(ta.len() == tb.len(), "different tensor counts");
    let mut values = 0;
    for ((na, xa), (nb, xb)) in ta.iter().zip(tb) {
        anyhow::ensure!(na == nb, "tensor names differ: {na} vs {nb}");
        anyhow::ensure!(xa.dims() == xb.dims(), "{na}: shapes differ");
        anyhow::ensure!(xa.dtype() == xb.dtype(), "{na}: dtypes differ");
        let va = xa.flatten_all()?.to_vec1::<f32>()?;
        let vb = xb.flatten_all()?.to_vec1::<f32>()?;
        anyhow::ensure!(
            va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{na}: values differ"
        );
        values += va.len();
    }
    Ok(values)
}
